"""torch.optim's update directions as building blocks, where they differ from optax's.

Each block computes the direction one ``torch.optim`` algorithm moves along, written
from the algorithm in PyTorch's documentation and its reference implementation (first
step special cases included); the aliases in `transforms.pytorch.optimizers` chain them
with the sign flip of ``maximize``, L2 weight decay (`transforms.add_decayed_weights`)
and the learning rate (`scale_by_lr`). States keep each parameter's dtype; the step
count is an int32 array, :math:`t = 1` at the first update.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import funcgrad.numpy as fnp
from funcgrad import tree_util
from transforms import tree_utils
from transforms.base import EmptyState, GradientTransformation

__all__ = [
    "ScaleByLrState",
    "scale_by_adadelta",
    "scale_by_adagrad",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_lr",
    "scale_by_momentum",
    "scale_by_nadam",
    "scale_by_radam",
    "scale_by_rms",
    "scale_by_rprop",
    "scale_by_sparse_adam",
]


def _cast(scalar: Any, like: Any) -> Any:
    """``scalar`` in ``like``'s float dtype, so float32 states stay float32."""
    if isinstance(scalar, (int, float)):
        return scalar  # Python scalars promote weakly
    dtype = fnp.asarray(like).dtype
    return fnp.asarray(scalar, dtype=dtype) if dtype.kind in "fc" else scalar


def _check(fn_name: str, updates: Any, reference: Any, name: str) -> None:
    tree_utils.check_same_structure(fn_name, updates, reference, name)


def _next_count(count: Any) -> Any:
    return tree_utils.safe_increment(count)


class ScaleByLrState(NamedTuple):
    """Step count of `scale_by_lr` (used when the learning rate is a schedule)."""

    count: Any


def scale_by_lr(lr: Any) -> GradientTransformation:
    r"""Descend with step size ``lr``: :math:`u \leftarrow -\gamma_t u`.

    Args:
        lr: a number, a 0-d array, or a schedule ``count -> lr`` evaluated at the number
            of updates already made (0 at the first update).

    Returns:
        A ``GradientTransformation``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = scale_by_lr(0.5)
        >>> u, _ = tx.update(fnp.asarray([2.0]), tx.init(None))
        >>> u.tolist()
        [-1.0]
    """
    if callable(lr):

        def init_fn(params):
            del params
            return ScaleByLrState(count=fnp.zeros((), fnp.int32))

        def update_fn(updates, state, params=None):
            del params
            step = lr(state.count)
            out = tree_util.tree_map(lambda u: -_cast(step, u) * u, updates)
            return out, ScaleByLrState(count=_next_count(state.count))

        return GradientTransformation(init_fn, update_fn)

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None):
        del params
        return tree_util.tree_map(lambda u: -_cast(lr, u) * u, updates), state

    return GradientTransformation(init_fn, update_fn)


class MomentumState(NamedTuple):
    """SGD's momentum buffer and the step count (the first step starts the buffer)."""

    count: Any
    momentum_buffer: Any


def scale_by_momentum(
    momentum: float, dampening: float = 0.0, nesterov: bool = False
) -> GradientTransformation:
    r"""``torch.optim.SGD``'s momentum.

    .. math::
        b_1 = g_1,\quad b_t = \mu b_{t-1} + (1 - \tau) g_t;\qquad
        u_t = g_t + \mu b_t \text{ (nesterov) or } b_t

    The first buffer is the gradient itself, not damped (PyTorch's special case).

    Args:
        momentum: :math:`\mu`.
        dampening: :math:`\tau`.
        nesterov: use Nesterov's look-ahead form.

    Returns:
        A ``GradientTransformation`` whose state is ``MomentumState``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = scale_by_momentum(0.9, dampening=0.5)
        >>> s = tx.init(fnp.zeros(1))
        >>> u1, s = tx.update(fnp.asarray([1.0]), s)
        >>> u2, s = tx.update(fnp.asarray([1.0]), s)
        >>> u1.tolist(), u2.tolist()
        ([1.0], [1.4])
    """

    def init_fn(params):
        return MomentumState(fnp.zeros((), fnp.int32), tree_utils.tree_zeros_like(params))

    def update_fn(updates, state, params=None):
        del params
        _check("pytorch.scale_by_momentum", updates, state.momentum_buffer, "momentum_buffer")
        first = state.count == 0

        def buf(g, b):
            damped = _cast(momentum, b) * b + (1 - _cast(dampening, b)) * g
            return fnp.where(first, g, damped)

        new_buf = tree_util.tree_map(buf, updates, state.momentum_buffer)
        if nesterov:
            out = tree_util.tree_map(lambda g, b: g + _cast(momentum, b) * b, updates, new_buf)
        else:
            out = new_buf
        if not isinstance(momentum, (int, float)):
            # An array momentum (inject_hyperparams) may be 0: then PyTorch keeps no buffer.
            out = tree_util.tree_map(lambda g, o: fnp.where(momentum == 0, g, o), updates, out)
        return out, MomentumState(_next_count(state.count), new_buf)

    return GradientTransformation(init_fn, update_fn)


class AdamState(NamedTuple):
    """Adam's moments (``max_exp_avg_sq`` only with ``amsgrad``, else ``()``)."""

    count: Any
    exp_avg: Any
    exp_avg_sq: Any
    max_exp_avg_sq: Any


def scale_by_adam(
    betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, amsgrad: bool = False
) -> GradientTransformation:
    r"""``torch.optim.Adam``'s direction (before the learning rate).

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
        \hat v_t = \max(\hat v_{t-1}, v_t) \text{ (amsgrad) or } v_t

    .. math::
        u_t = \frac{m_t / (1-\beta_1^t)}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    (PyTorch's amsgrad keeps the maximum of the uncorrected :math:`v_t`.)

    Args:
        betas: :math:`(\beta_1, \beta_2)`.
        eps: :math:`\epsilon`, added outside the square root.
        amsgrad: use the running maximum of :math:`v_t`.

    Returns:
        A ``GradientTransformation`` whose state is `AdamState`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = scale_by_adam()
        >>> u, _ = tx.update(fnp.asarray([0.5]), tx.init(fnp.zeros(1)))
        >>> [round(v, 6) for v in u.tolist()]
        [1.0]
    """
    beta1, beta2 = betas

    def init_fn(params):
        zeros = tree_utils.tree_zeros_like(params)
        return AdamState(fnp.zeros((), fnp.int32), zeros, zeros, zeros if amsgrad else ())

    def update_fn(updates, state, params=None):
        del params
        _check("pytorch.scale_by_adam", updates, state.exp_avg, "exp_avg")
        count = _next_count(state.count)
        m = tree_utils.tree_update_moment(updates, state.exp_avg, beta1, 1)
        v = tree_utils.tree_update_moment_per_elem_norm(updates, state.exp_avg_sq, beta2, 2)
        vmax = tree_util.tree_map(fnp.maximum, state.max_exp_avg_sq, v) if amsgrad else ()
        t = fnp.asarray(count, fnp.float64)
        bc1, bc2_sqrt = 1 - beta1**t, fnp.sqrt(1 - beta2**t)

        def direction(m_, v_):
            return (m_ / _cast(bc1, m_)) / (fnp.sqrt(v_) / _cast(bc2_sqrt, v_) + eps)

        out = tree_util.tree_map(direction, m, vmax if amsgrad else v)
        return out, AdamState(count, m, v, vmax)

    return GradientTransformation(init_fn, update_fn)


class AdagradState(NamedTuple):
    """Adagrad's sum of squared gradients and the step count."""

    count: Any
    sum: Any


def scale_by_adagrad(
    lr_decay: float = 0.0, initial_accumulator_value: float = 0.0, eps: float = 1e-10
) -> GradientTransformation:
    r"""``torch.optim.Adagrad``'s direction.

    .. math::
        s_t = s_{t-1} + g_t^2,\ s_0 = \text{initial\_accumulator\_value};\qquad
        u_t = \frac{g_t}{(1 + (t-1)\,\eta_{decay})(\sqrt{s_t} + \epsilon)}

    Args:
        lr_decay: :math:`\eta_{decay}`, the learning rate's decay per step.
        initial_accumulator_value: :math:`s_0`.
        eps: :math:`\epsilon`, added outside the square root.

    Returns:
        A ``GradientTransformation`` whose state is `AdagradState`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = scale_by_adagrad()
        >>> u, _ = tx.update(fnp.asarray([-2.0]), tx.init(fnp.zeros(1)))
        >>> [round(v, 6) for v in u.tolist()]
        [-1.0]
    """

    def init_fn(params):
        return AdagradState(
            fnp.zeros((), fnp.int32),
            tree_utils.tree_full_like(params, initial_accumulator_value),
        )

    def update_fn(updates, state, params=None):
        del params
        _check("pytorch.scale_by_adagrad", updates, state.sum, "sum")
        count = _next_count(state.count)
        s = tree_util.tree_map(lambda g, s_: s_ + g * g, updates, state.sum)
        decay = 1 + (fnp.asarray(count, fnp.float64) - 1) * lr_decay
        out = tree_util.tree_map(
            lambda g, s_: g / _cast(decay, g) / (fnp.sqrt(s_) + eps), updates, s
        )
        return out, AdagradState(count, s)

    return GradientTransformation(init_fn, update_fn)


class RMSState(NamedTuple):
    """RMSprop's averages (``grad_avg`` only when centered) and momentum buffer."""

    square_avg: Any
    grad_avg: Any
    momentum_buffer: Any


def scale_by_rms(
    alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0, centered: bool = False
) -> GradientTransformation:
    r"""``torch.optim.RMSprop``'s direction.

    .. math::
        v_t = \alpha v_{t-1} + (1-\alpha) g_t^2,\quad
        \bar g_t = \alpha \bar g_{t-1} + (1-\alpha) g_t \text{ (centered)}

    .. math::
        d_t = \frac{g_t}{\sqrt{v_t - \bar g_t^2} + \epsilon}
        \ (\text{or } \sqrt{v_t} \text{ uncentered});\qquad
        u_t = b_t = \mu b_{t-1} + d_t \text{ if } \mu > 0 \text{ else } d_t

    Args:
        alpha: smoothing constant :math:`\alpha`.
        eps: :math:`\epsilon`, added outside the square root.
        momentum: :math:`\mu` (its buffer starts at zero).
        centered: normalise by the estimated variance instead of the second moment.

    Returns:
        A ``GradientTransformation`` whose state is `RMSState`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = scale_by_rms(alpha=0.75, eps=0.0)
        >>> u, _ = tx.update(fnp.asarray([1.0]), tx.init(fnp.zeros(1)))
        >>> u.tolist()
        [2.0]
    """

    # An array momentum (inject_hyperparams) keeps a buffer; with mu = 0 it equals d_t.
    has_momentum = not (isinstance(momentum, (int, float)) and momentum == 0)

    def init_fn(params):
        zeros = tree_utils.tree_zeros_like(params)
        return RMSState(zeros, zeros if centered else (), zeros if has_momentum else ())

    def update_fn(updates, state, params=None):
        del params
        _check("pytorch.scale_by_rms", updates, state.square_avg, "square_avg")
        v = tree_utils.tree_update_moment_per_elem_norm(updates, state.square_avg, alpha, 2)
        if centered:
            gavg = tree_utils.tree_update_moment(updates, state.grad_avg, alpha, 1)
            denom = tree_util.tree_map(lambda v_, a: fnp.sqrt(v_ - a * a) + eps, v, gavg)
        else:
            gavg = ()
            denom = tree_util.tree_map(lambda v_: fnp.sqrt(v_) + eps, v)
        out = tree_util.tree_map(lambda g, d: g / d, updates, denom)
        buf = ()
        if has_momentum:
            buf = tree_util.tree_map(
                lambda b, d: _cast(momentum, b) * b + d, state.momentum_buffer, out
            )
            out = buf
        return out, RMSState(v, gavg, buf)

    return GradientTransformation(init_fn, update_fn)


class AdadeltaState(NamedTuple):
    """Adadelta's averages of squared gradients and squared steps."""

    square_avg: Any
    acc_delta: Any


def scale_by_adadelta(rho: float = 0.9, eps: float = 1e-6) -> GradientTransformation:
    r"""``torch.optim.Adadelta``'s direction (the learning rate scales it afterwards).

    .. math::
        v_t = \rho v_{t-1} + (1-\rho) g_t^2,\quad
        \Delta_t = \frac{\sqrt{a_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t,\quad
        a_t = \rho a_{t-1} + (1-\rho) \Delta_t^2;\qquad u_t = \Delta_t

    Args:
        rho: :math:`\rho`, the averages' decay.
        eps: :math:`\epsilon`, inside both square roots.

    Returns:
        A ``GradientTransformation`` whose state is `AdadeltaState`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = scale_by_adadelta(rho=0.0, eps=1.0)
        >>> u, _ = tx.update(fnp.asarray([0.0]), tx.init(fnp.zeros(1)))
        >>> u.tolist()
        [0.0]
    """

    def init_fn(params):
        zeros = tree_utils.tree_zeros_like(params)
        return AdadeltaState(zeros, zeros)

    def update_fn(updates, state, params=None):
        del params
        _check("pytorch.scale_by_adadelta", updates, state.square_avg, "square_avg")
        v = tree_utils.tree_update_moment_per_elem_norm(updates, state.square_avg, rho, 2)
        delta = tree_util.tree_map(
            lambda g, v_, a: fnp.sqrt(a + eps) / fnp.sqrt(v_ + eps) * g,
            updates, v, state.acc_delta,
        )  # fmt: skip
        acc = tree_utils.tree_update_moment_per_elem_norm(delta, state.acc_delta, rho, 2)
        return delta, AdadeltaState(v, acc)

    return GradientTransformation(init_fn, update_fn)


class AdamaxState(NamedTuple):
    """Adamax's first moment and exponentially weighted infinity norm."""

    count: Any
    exp_avg: Any
    exp_inf: Any


def scale_by_adamax(
    betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
) -> GradientTransformation:
    r"""``torch.optim.Adamax``'s direction.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        u_t^{\infty} = \max(\beta_2 u_{t-1}^{\infty}, |g_t| + \epsilon);\qquad
        u_t = \frac{m_t}{(1-\beta_1^t)\, u_t^{\infty}}

    Args:
        betas: :math:`(\beta_1, \beta_2)`.
        eps: :math:`\epsilon`, added to :math:`|g_t|` inside the maximum.

    Returns:
        A ``GradientTransformation`` whose state is `AdamaxState`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = scale_by_adamax(eps=0.0)
        >>> u, _ = tx.update(fnp.asarray([-4.0]), tx.init(fnp.zeros(1)))
        >>> [round(v, 6) for v in u.tolist()]
        [-1.0]
    """
    beta1, beta2 = betas

    def init_fn(params):
        zeros = tree_utils.tree_zeros_like(params)
        return AdamaxState(fnp.zeros((), fnp.int32), zeros, zeros)

    def update_fn(updates, state, params=None):
        del params
        _check("pytorch.scale_by_adamax", updates, state.exp_avg, "exp_avg")
        count = _next_count(state.count)
        m = tree_utils.tree_update_moment(updates, state.exp_avg, beta1, 1)
        inf = tree_utils.tree_update_infinity_moment(updates, state.exp_inf, beta2, eps)
        bc1 = 1 - beta1 ** fnp.asarray(count, fnp.float64)
        out = tree_util.tree_map(lambda m_, i: m_ / _cast(bc1, m_) / i, m, inf)
        return out, AdamaxState(count, m, inf)

    return GradientTransformation(init_fn, update_fn)


class NAdamState(NamedTuple):
    """NAdam's moments, the step count and the running product of the momentum weights."""

    count: Any
    mu_product: Any
    exp_avg: Any
    exp_avg_sq: Any


def scale_by_nadam(
    betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, momentum_decay: float = 4e-3
) -> GradientTransformation:
    r"""``torch.optim.NAdam``'s direction (Dozat's Nesterov Adam with momentum decay).

    .. math::
        \mu_t = \beta_1 (1 - \tfrac12\, 0.96^{t \psi}),\quad
        \Pi_t = \prod_{i \le t} \mu_i,\quad
        m_t, v_t \text{ as in Adam},\quad
        d_t = \sqrt{v_t / (1-\beta_2^t)} + \epsilon

    .. math::
        u_t = \frac{1-\mu_t}{1-\Pi_t}\,\frac{g_t}{d_t}
            + \frac{\mu_{t+1}}{1-\Pi_t \mu_{t+1}}\,\frac{m_t}{d_t}

    Args:
        betas: :math:`(\beta_1, \beta_2)`.
        eps: :math:`\epsilon`, added outside the square root.
        momentum_decay: :math:`\psi`.

    Returns:
        A ``GradientTransformation`` whose state is `NAdamState`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = scale_by_nadam()
        >>> u, _ = tx.update(fnp.asarray([1.0]), tx.init(fnp.zeros(1)))
        >>> round(float(u[0]), 4)  # 1 + mu_2 / (1 - mu_1 mu_2) * 0.1
        1.0565
    """
    beta1, beta2 = betas

    def init_fn(params):
        zeros = tree_utils.tree_zeros_like(params)
        return NAdamState(fnp.zeros((), fnp.int32), fnp.ones((), fnp.float64), zeros, zeros)

    def update_fn(updates, state, params=None):
        del params
        _check("pytorch.scale_by_nadam", updates, state.exp_avg, "exp_avg")
        count = _next_count(state.count)
        t = fnp.asarray(count, fnp.float64)
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_product = state.mu_product * mu
        m = tree_utils.tree_update_moment(updates, state.exp_avg, beta1, 1)
        v = tree_utils.tree_update_moment_per_elem_norm(updates, state.exp_avg_sq, beta2, 2)
        bc2 = 1 - beta2**t
        c_grad = (1 - mu) / (1 - mu_product)
        c_avg = mu_next / (1 - mu_product * mu_next)

        def direction(g, m_, v_):
            d = fnp.sqrt(v_ / _cast(bc2, v_)) + eps
            return _cast(c_grad, g) * g / d + _cast(c_avg, m_) * m_ / d

        out = tree_util.tree_map(direction, updates, m, v)
        return out, NAdamState(count, mu_product, m, v)

    return GradientTransformation(init_fn, update_fn)


class RAdamState(NamedTuple):
    """RAdam's moments and the step count."""

    count: Any
    exp_avg: Any
    exp_avg_sq: Any


def scale_by_radam(
    betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
) -> GradientTransformation:
    r"""``torch.optim.RAdam``'s direction (variance-rectified Adam).

    .. math::
        \rho_\infty = \frac{2}{1-\beta_2} - 1,\quad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t},\quad
        \hat m_t = \frac{m_t}{1-\beta_1^t}

    .. math::
        u_t = \hat m_t\, r_t \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon}
        \text{ if } \rho_t > 5 \text{ else } \hat m_t,\quad
        r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}

    Args:
        betas: :math:`(\beta_1, \beta_2)`.
        eps: :math:`\epsilon`, added outside the square root.

    Returns:
        A ``GradientTransformation`` whose state is `RAdamState`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = scale_by_radam()
        >>> u, _ = tx.update(fnp.asarray([3.0]), tx.init(fnp.zeros(1)))
        >>> [round(v, 6) for v in u.tolist()]  # rho_1 <= 5: the bias-corrected momentum
        [3.0]
    """
    beta1, beta2 = betas
    rho_inf = 2 / (1 - beta2) - 1

    def init_fn(params):
        zeros = tree_utils.tree_zeros_like(params)
        return RAdamState(fnp.zeros((), fnp.int32), zeros, zeros)

    def update_fn(updates, state, params=None):
        del params
        _check("pytorch.scale_by_radam", updates, state.exp_avg, "exp_avg")
        count = _next_count(state.count)
        t = fnp.asarray(count, fnp.float64)
        m = tree_utils.tree_update_moment(updates, state.exp_avg, beta1, 1)
        v = tree_utils.tree_update_moment_per_elem_norm(updates, state.exp_avg_sq, beta2, 2)
        bc1, bc2 = 1 - beta1**t, 1 - beta2**t
        rho_t = rho_inf - 2 * t * beta2**t / bc2
        rectify = rho_t > 5.0
        # Evaluate the rectifier only where it is defined (rho_t > 5), so no NaN leaks.
        safe_rho = fnp.where(rectify, rho_t, 6.0)
        rect = fnp.sqrt(
            (safe_rho - 4) * (safe_rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * safe_rho)
        )
        scale = rect * fnp.sqrt(bc2)

        def direction(m_, v_):
            m_hat = m_ / _cast(bc1, m_)
            adaptive = m_hat * _cast(scale, m_) / (fnp.sqrt(v_) + eps)
            return fnp.where(rectify, adaptive, m_hat)

        out = tree_util.tree_map(direction, m, v)
        return out, RAdamState(count, m, v)

    return GradientTransformation(init_fn, update_fn)


class RpropState(NamedTuple):
    """Rprop's per-element step sizes and the previous (masked) gradient."""

    prev: Any
    step_size: Any


def scale_by_rprop(
    lr: float = 1e-2,
    etas: tuple[float, float] = (0.5, 1.2),
    step_sizes: tuple[float, float] = (1e-6, 50.0),
) -> GradientTransformation:
    r"""``torch.optim.Rprop``'s full step (sign-based; it includes the step sizes).

    With :math:`s = \operatorname{sign}(g_t\, g_{t-1}')`:

    .. math::
        \eta_t = \operatorname{clip}(\eta_{t-1} \cdot
        \{\eta_+ \text{ if } s>0;\ \eta_- \text{ if } s<0;\ 1\},\ \Gamma_{min}, \Gamma_{max}),
        \quad \eta_0 = \text{lr}

    .. math::
        g_t' = 0 \text{ where } s < 0 \text{ else } g_t;\qquad
        u_t = -\operatorname{sign}(g_t')\, \eta_t

    Args:
        lr: the initial step size of every element.
        etas: :math:`(\eta_-, \eta_+)`, the multiplicative decrease and increase.
        step_sizes: :math:`(\Gamma_{min}, \Gamma_{max})`.

    Returns:
        A ``GradientTransformation`` whose state is `RpropState`; its updates are the
        parameter changes themselves (chain no learning rate after it).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = scale_by_rprop(lr=0.1)
        >>> s = tx.init(fnp.zeros(2))
        >>> u, s = tx.update(fnp.asarray([2.0, -1.0]), s)
        >>> u2, s = tx.update(fnp.asarray([1.0, 1.0]), s)
        >>> [round(v, 6) + 0.0 for v in u.tolist()], [round(v, 6) + 0.0 for v in u2.tolist()]
        ([-0.1, 0.1], [-0.12, 0.0])
    """
    eta_minus, eta_plus = etas
    lo, hi = step_sizes

    def init_fn(params):
        return RpropState(tree_utils.tree_zeros_like(params), tree_utils.tree_full_like(params, lr))

    def update_fn(updates, state, params=None):
        del params
        _check("pytorch.scale_by_rprop", updates, state.prev, "prev")

        def one(g, prev, size):
            s = fnp.sign(g * prev)
            factor = fnp.where(s > 0, eta_plus, fnp.where(s < 0, eta_minus, 1.0))
            new_size = fnp.clip(size * fnp.asarray(factor, size.dtype), lo, hi)
            g = fnp.where(s < 0, fnp.zeros_like(g), g)
            return -fnp.sign(g) * new_size, g, new_size

        out, prev, size = _unzip3(
            updates, tree_util.tree_map(one, updates, state.prev, state.step_size)
        )
        return out, RpropState(prev, size)

    return GradientTransformation(init_fn, update_fn)


def _unzip3(like: Any, tree_of_triples: Any) -> tuple[Any, Any, Any]:
    """Three trees shaped like ``like`` from a tree holding an ``(a, b, c)`` per leaf."""
    treedef = tree_util.tree_structure(like)
    flat = tree_util.tree_leaves(tree_of_triples)
    return tuple(tree_util.tree_unflatten(treedef, flat[i::3]) for i in range(3))


class SparseAdamState(NamedTuple):
    """SparseAdam's moments and the step count."""

    count: Any
    exp_avg: Any
    exp_avg_sq: Any


def _present(g: Any) -> Any:
    """Which entries a sparse gradient would hold: rows (axis 0) with any non-zero."""
    nonzero = g != 0
    if g.ndim <= 1:
        return nonzero
    row = fnp.any(fnp.reshape(nonzero, (g.shape[0], -1)), axis=1)
    return fnp.reshape(row, (g.shape[0],) + (1,) * (g.ndim - 1))


def scale_by_sparse_adam(
    betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
) -> GradientTransformation:
    r"""``torch.optim.SparseAdam``'s direction: Adam on the entries the gradient holds.

    PyTorch's SparseAdam takes sparse gradients (e.g. of an embedding lookup) and updates
    the moments and parameters only at the stored indices. funcgrad's gradients are
    dense, so a *row* (index along axis 0; an element for 1-d params) counts as stored
    when any of its entries is non-zero. On stored rows:

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g,\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
        u = \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\,\frac{m}{\sqrt{v}+\epsilon}

    and elsewhere :math:`m, v` are unchanged and :math:`u = 0`. The step :math:`t` counts
    every update (as PyTorch's per-parameter step does).

    Args:
        betas: :math:`(\beta_1, \beta_2)`.
        eps: :math:`\epsilon`, added outside the square root.

    Returns:
        A ``GradientTransformation`` whose state is `SparseAdamState`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = scale_by_sparse_adam()
        >>> u, s = tx.update(fnp.asarray([[1.0, 0.0], [0.0, 0.0]]), tx.init(fnp.zeros((2, 2))))
        >>> [[round(v, 4) for v in row] for row in u.tolist()]
        [[1.0, 0.0], [0.0, 0.0]]
    """
    beta1, beta2 = betas

    def init_fn(params):
        zeros = tree_utils.tree_zeros_like(params)
        return SparseAdamState(fnp.zeros((), fnp.int32), zeros, zeros)

    def update_fn(updates, state, params=None):
        del params
        _check("pytorch.scale_by_sparse_adam", updates, state.exp_avg, "exp_avg")
        count = _next_count(state.count)
        t = fnp.asarray(count, fnp.float64)
        step = fnp.sqrt(1 - beta2**t) / (1 - beta1**t)

        def moments(g, m, v):
            keep = _present(g)
            m_new = fnp.where(keep, m + (1 - beta1) * (g - m), m)
            v_new = fnp.where(keep, v + (1 - beta2) * (g * g - v), v)
            u = fnp.where(keep, _cast(step, m) * m_new / (fnp.sqrt(v_new) + eps), 0.0)
            return fnp.asarray(u, m.dtype), m_new, v_new

        out, m, v = _unzip3(
            updates, tree_util.tree_map(moments, updates, state.exp_avg, state.exp_avg_sq)
        )
        return out, SparseAdamState(count, m, v)

    return GradientTransformation(init_fn, update_fn)
