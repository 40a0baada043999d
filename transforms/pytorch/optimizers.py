"""torch.optim's optimizers as gradient transformations, with torch's names and defaults.

Each function takes ``torch.optim``'s keyword arguments (``lr``, ``betas``, ``eps``,
``weight_decay``, ``maximize``, ...) with the same defaults, and its trajectory equals
PyTorch's step for step. Each is a `chain` of: a sign flip for ``maximize``, PyTorch's
L2 penalty ``g + weight_decay * p`` (`transforms.add_decayed_weights`), the algorithm's
direction (`transforms.pytorch.blocks`) and the learning rate (`blocks.scale_by_lr`).
``lr`` may be a schedule of the step count (what a PyTorch LR scheduler stepped once per
optimizer step does). Out-of-range hyperparameters raise ``ValueError`` at construction
naming the argument, as PyTorch's constructors do.

PyTorch's ``param_groups`` (different options per group) and frozen parameters are
`transforms.partition` over a pytree of labels; see `transforms.wrappers`.

Examples:
    >>> import funcgrad
    >>> import funcgrad.numpy as fnp
    >>> import transforms
    >>> from transforms import pytorch
    >>> loss = lambda p: fnp.sum((p["w"] - 3.0) ** 2)
    >>> params = {"w": fnp.zeros(2)}
    >>> opt = pytorch.sgd(lr=0.1, momentum=0.5)
    >>> state = opt.init(params)
    >>> for _ in range(100):
    ...     grads = funcgrad.grad(loss)(params)
    ...     updates, state = opt.update(grads, state, params)
    ...     params = transforms.apply_updates(params, updates)
    >>> [round(v, 3) for v in params["w"].tolist()]
    [3.0, 3.0]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import funcgrad.numpy as fnp
from funcgrad import tree_util
from transforms import tree_utils
from transforms._checks import _concrete_float
from transforms.adding import add_decayed_weights
from transforms.base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    chain,
    identity,
)
from transforms.pytorch import blocks

__all__ = [
    "ASGDState",
    "adadelta",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "asgd",
    "nadam",
    "radam",
    "rmsprop",
    "rprop",
    "sgd",
    "sparse_adam",
]


# --- construction-time checks, worded like PyTorch's ----------------------------------


def _require(fn: str, arg: str, value: Any, ok, rule: str) -> None:
    v = _concrete_float(value)
    if v is not None and not ok(v):
        raise ValueError(f"pytorch.{fn}: invalid {arg} {value!r}; {arg} must be {rule}")


def _nonneg(fn: str, **kwargs: Any) -> None:
    for arg, value in kwargs.items():
        _require(fn, arg, value, lambda v: v >= 0, ">= 0")


def _betas(fn: str, betas: Any) -> tuple[float, float]:
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"pytorch.{fn}: betas must be a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        _require(fn, f"betas[{i}]", b, lambda v: 0 <= v < 1, "in [0, 1)")
    return tuple(betas)


def _sign(maximize: bool) -> GradientTransformation:
    """PyTorch's ``maximize``: the gradient is negated before anything else."""
    if not maximize:
        return identity()
    return blocks.scale_by_lr(1.0)  # u -> -u


def _is_zero(value: Any) -> bool:
    """A Python zero: the term is left out of the chain (an array, maybe traced, is kept)."""
    return isinstance(value, (int, float)) and value == 0


def _l2(weight_decay: Any) -> GradientTransformation:
    """PyTorch's coupled weight decay ``g + weight_decay * p`` (a no-op when 0)."""
    if _is_zero(weight_decay):
        return identity()
    return add_decayed_weights(weight_decay)


# --- the optimizers -------------------------------------------------------------------


def sgd(
    lr: Any = 1e-3,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    *,
    maximize: bool = False,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.SGD``.

    .. math::
        g_t \leftarrow \pm\nabla f(\theta_{t-1}) + \lambda\theta_{t-1},\quad
        b_1 = g_1,\ b_t = \mu b_{t-1} + (1-\tau) g_t,\quad
        \theta_t = \theta_{t-1} - \gamma\,(g_t + \mu b_t \text{ if nesterov else } b_t)

    (no buffer when :math:`\mu = 0`; the first buffer is the undamped gradient).

    Args:
        lr: :math:`\gamma` (PyTorch's default, 1e-3), or a schedule.
        momentum: :math:`\mu`.
        dampening: :math:`\tau`.
        weight_decay: :math:`\lambda`, the L2 penalty.
        nesterov: Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: ascend instead of descend.

    Returns:
        A ``GradientTransformationExtraArgs``; ``params`` are needed when
        ``weight_decay != 0``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> opt = sgd(lr=0.1, momentum=0.9)
        >>> s = opt.init(fnp.zeros(1))
        >>> u1, s = opt.update(fnp.asarray([1.0]), s)
        >>> u2, s = opt.update(fnp.asarray([1.0]), s)
        >>> [round(u1.item(), 6), round(u2.item(), 6)]
        [-0.1, -0.19]
    """
    _nonneg("sgd", lr=lr, momentum=momentum, weight_decay=weight_decay)
    mom, damp = _concrete_float(momentum), _concrete_float(dampening)
    if nesterov and ((mom is not None and mom <= 0) or (damp is not None and damp != 0)):
        raise ValueError(
            "pytorch.sgd: nesterov=True requires momentum > 0 and dampening == 0, got "
            f"momentum={momentum}, dampening={dampening}"
        )
    direction = (
        identity()
        if _is_zero(momentum)
        else blocks.scale_by_momentum(momentum, dampening, nesterov)
    )
    return chain(_sign(maximize), _l2(weight_decay), direction, blocks.scale_by_lr(lr))


def adam(
    lr: Any = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    *,
    maximize: bool = False,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.Adam`` (L2 weight decay added to the gradient).

    .. math::
        \theta_t = \theta_{t-1} - \gamma\,
        \frac{m_t/(1-\beta_1^t)}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    with :math:`m, v, \hat v` as in `blocks.scale_by_adam`, on
    :math:`g_t = \pm\nabla f + \lambda\theta_{t-1}`.

    Args:
        lr: :math:`\gamma`, or a schedule.
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1).
        eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda`, the L2 penalty.
        amsgrad: use the running maximum of :math:`v_t`.
        maximize: ascend instead of descend.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> opt = adam(lr=0.1)
        >>> u, _ = opt.update(fnp.asarray([5.0, -0.01]), opt.init(fnp.zeros(2)))
        >>> [round(v, 6) for v in u.tolist()]
        [-0.1, 0.1]
    """
    betas = _betas("adam", betas)
    _nonneg("adam", lr=lr, eps=eps, weight_decay=weight_decay)
    return chain(
        _sign(maximize), _l2(weight_decay), blocks.scale_by_adam(betas, eps, amsgrad),
        blocks.scale_by_lr(lr),
    )  # fmt: skip


def adamw(
    lr: Any = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
    *,
    maximize: bool = False,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.AdamW``: Adam with decoupled weight decay (default 1e-2).

    .. math::
        \theta_t = \theta_{t-1}(1 - \gamma\lambda) - \gamma\, \text{adam}_t
        = \theta_{t-1} - \gamma(\text{adam}_t + \lambda\theta_{t-1})

    Args:
        lr: :math:`\gamma`, or a schedule.
        betas: :math:`(\beta_1, \beta_2)`.
        eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda`, multiplied by the learning rate.
        amsgrad: use the running maximum of :math:`v_t`.
        maximize: ascend instead of descend (the decay still shrinks the params).

    Returns:
        A ``GradientTransformationExtraArgs``; it needs ``params``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> opt = adamw(lr=0.1, weight_decay=0.5)
        >>> p = fnp.asarray([2.0])
        >>> u, _ = opt.update(fnp.asarray([1.0]), opt.init(p), p)
        >>> round(u.item(), 6)  # -0.1 * (1 + 0.5 * 2)
        -0.2
    """
    betas = _betas("adamw", betas)
    _nonneg("adamw", lr=lr, eps=eps, weight_decay=weight_decay)
    return chain(
        _sign(maximize), blocks.scale_by_adam(betas, eps, amsgrad), _l2(weight_decay),
        blocks.scale_by_lr(lr),
    )  # fmt: skip


def adagrad(
    lr: Any = 1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
    *,
    maximize: bool = False,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.Adagrad``.

    .. math::
        s_t = s_{t-1} + g_t^2,\quad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1 + (t-1)\eta}\,\frac{g_t}{\sqrt{s_t}+\epsilon}

    Args:
        lr: :math:`\gamma`, or a schedule.
        lr_decay: :math:`\eta`.
        weight_decay: the L2 penalty.
        initial_accumulator_value: :math:`s_0`.
        eps: :math:`\epsilon`.
        maximize: ascend instead of descend.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> opt = adagrad(lr=0.1)
        >>> u, _ = opt.update(fnp.asarray([3.0]), opt.init(fnp.zeros(1)))
        >>> round(u.item(), 6)
        -0.1
    """
    _nonneg("adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps)  # fmt: skip
    return chain(
        _sign(maximize), _l2(weight_decay),
        blocks.scale_by_adagrad(lr_decay, initial_accumulator_value, eps), blocks.scale_by_lr(lr),
    )  # fmt: skip


def rmsprop(
    lr: Any = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    *,
    maximize: bool = False,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.RMSprop``.

    .. math::
        v_t = \alpha v_{t-1} + (1-\alpha) g_t^2,\quad
        d_t = g_t / (\sqrt{v_t - \bar g_t^2 \text{ (centered)}} + \epsilon),\quad
        \theta_t = \theta_{t-1} - \gamma\,(\mu b_{t-1} + d_t \text{ if } \mu>0 \text{ else } d_t)

    Args:
        lr: :math:`\gamma`, or a schedule.
        alpha: :math:`\alpha`, the smoothing constant.
        eps: :math:`\epsilon`.
        weight_decay: the L2 penalty.
        momentum: :math:`\mu`.
        centered: normalise by the variance estimate.
        maximize: ascend instead of descend.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> opt = rmsprop(lr=0.01, alpha=0.99, eps=0.0)
        >>> u, _ = opt.update(fnp.asarray([1.0]), opt.init(fnp.zeros(1)))
        >>> round(u.item(), 6)  # -0.01 / sqrt(0.01)
        -0.1
    """
    _nonneg("rmsprop", lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
    return chain(
        _sign(maximize), _l2(weight_decay),
        blocks.scale_by_rms(alpha, eps, momentum, centered), blocks.scale_by_lr(lr),
    )  # fmt: skip


def adadelta(
    lr: Any = 1.0,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    *,
    maximize: bool = False,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.Adadelta``.

    .. math::
        v_t = \rho v_{t-1} + (1-\rho) g_t^2,\quad
        \Delta_t = \frac{\sqrt{a_{t-1}+\epsilon}}{\sqrt{v_t+\epsilon}}\, g_t,\quad
        a_t = \rho a_{t-1} + (1-\rho)\Delta_t^2,\quad
        \theta_t = \theta_{t-1} - \gamma\Delta_t

    Args:
        lr: :math:`\gamma`, or a schedule.
        rho: :math:`\rho`, in [0, 1].
        eps: :math:`\epsilon`.
        weight_decay: the L2 penalty.
        maximize: ascend instead of descend.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> opt = adadelta(rho=0.0, eps=1.0)
        >>> u, _ = opt.update(fnp.asarray([0.0]), opt.init(fnp.zeros(1)))
        >>> u.tolist()
        [-0.0]
    """
    _nonneg("adadelta", lr=lr)
    _require("adadelta", "rho", rho, lambda v: 0 <= v <= 1, "in [0, 1]")
    _nonneg("adadelta", eps=eps, weight_decay=weight_decay)
    return chain(
        _sign(maximize), _l2(weight_decay), blocks.scale_by_adadelta(rho, eps),
        blocks.scale_by_lr(lr),
    )  # fmt: skip


def adamax(
    lr: Any = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    *,
    maximize: bool = False,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.Adamax`` (Adam with the infinity norm).

    .. math::
        \theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\,\frac{m_t}{u_t},\quad
        u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon)

    Args:
        lr: :math:`\gamma`, or a schedule.
        betas: :math:`(\beta_1, \beta_2)`.
        eps: :math:`\epsilon`.
        weight_decay: the L2 penalty.
        maximize: ascend instead of descend.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> opt = adamax(lr=0.002)
        >>> u, _ = opt.update(fnp.asarray([4.0]), opt.init(fnp.zeros(1)))
        >>> round(u.item(), 6)
        -0.002
    """
    betas = _betas("adamax", betas)
    _nonneg("adamax", lr=lr, eps=eps, weight_decay=weight_decay)
    return chain(
        _sign(maximize), _l2(weight_decay), blocks.scale_by_adamax(betas, eps),
        blocks.scale_by_lr(lr),
    )  # fmt: skip


def nadam(
    lr: Any = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum_decay: float = 4e-3,
    decoupled_weight_decay: bool = False,
    *,
    maximize: bool = False,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.NAdam``: :math:`\theta_t = \theta_{t-1} - \gamma u_t` with
    :math:`u_t` from `blocks.scale_by_nadam`.

    Args:
        lr: :math:`\gamma`, or a schedule.
        betas: :math:`(\beta_1, \beta_2)`.
        eps: :math:`\epsilon`.
        weight_decay: L2 penalty, or decoupled (AdamW-style) decay when
            ``decoupled_weight_decay``.
        momentum_decay: :math:`\psi`.
        decoupled_weight_decay: multiply the params by :math:`1 - \gamma\lambda` instead
            of adding :math:`\lambda\theta` to the gradient.
        maximize: ascend instead of descend.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> opt = nadam(lr=0.1)
        >>> u, _ = opt.update(fnp.asarray([1.0]), opt.init(fnp.zeros(1)))
        >>> round(u.item(), 5)
        -0.10565
    """
    betas = _betas("nadam", betas)
    _nonneg("nadam", lr=lr, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay)
    direction = blocks.scale_by_nadam(betas, eps, momentum_decay)
    if decoupled_weight_decay:
        return chain(_sign(maximize), direction, _l2(weight_decay), blocks.scale_by_lr(lr))
    return chain(_sign(maximize), _l2(weight_decay), direction, blocks.scale_by_lr(lr))


def radam(
    lr: Any = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False,
    *,
    maximize: bool = False,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.RAdam``: :math:`\theta_t = \theta_{t-1} - \gamma u_t` with
    :math:`u_t` from `blocks.scale_by_radam` (plain bias-corrected momentum while the
    variance estimate is not yet tractable, :math:`\rho_t \le 5`).

    Args:
        lr: :math:`\gamma`, or a schedule.
        betas: :math:`(\beta_1, \beta_2)`.
        eps: :math:`\epsilon`.
        weight_decay: L2 penalty, or decoupled decay when ``decoupled_weight_decay``.
        decoupled_weight_decay: AdamW-style decay.
        maximize: ascend instead of descend.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> opt = radam(lr=0.1)
        >>> u, _ = opt.update(fnp.asarray([2.0]), opt.init(fnp.zeros(1)))
        >>> round(u.item(), 6)
        -0.2
    """
    betas = _betas("radam", betas)
    _nonneg("radam", lr=lr, eps=eps, weight_decay=weight_decay)
    direction = blocks.scale_by_radam(betas, eps)
    if decoupled_weight_decay:
        return chain(_sign(maximize), direction, _l2(weight_decay), blocks.scale_by_lr(lr))
    return chain(_sign(maximize), _l2(weight_decay), direction, blocks.scale_by_lr(lr))


def rprop(
    lr: Any = 1e-2,
    etas: tuple[float, float] = (0.5, 1.2),
    step_sizes: tuple[float, float] = (1e-6, 50.0),
    *,
    maximize: bool = False,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.Rprop`` (resilient backpropagation; see `blocks.scale_by_rprop`).

    ``lr`` is only the initial per-element step size, as in PyTorch (a schedule is
    evaluated at step 0; later values have no effect, as a PyTorch scheduler has none).

    Args:
        lr: the initial step size.
        etas: :math:`(\eta_-, \eta_+)` with :math:`0 < \eta_- < 1 < \eta_+`.
        step_sizes: the step sizes' bounds :math:`(\Gamma_{min}, \Gamma_{max})`.
        maximize: ascend instead of descend.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> opt = rprop(lr=0.01)
        >>> u, _ = opt.update(fnp.asarray([5.0, -0.1]), opt.init(fnp.zeros(2)))
        >>> u.tolist()
        [-0.01, 0.01]
    """
    _nonneg("rprop", lr=lr)
    if not (isinstance(etas, (tuple, list)) and len(etas) == 2 and 0 < etas[0] < 1 < etas[1]):
        raise ValueError(
            f"pytorch.rprop: invalid etas {etas!r}; etas must be (etaminus, etaplus) with "
            "0 < etaminus < 1 < etaplus"
        )
    if not (isinstance(step_sizes, (tuple, list)) and len(step_sizes) == 2
            and 0 <= step_sizes[0] <= step_sizes[1]):  # fmt: skip
        raise ValueError(
            f"pytorch.rprop: invalid step_sizes {step_sizes!r}; step_sizes must be "
            "(min, max) with 0 <= min <= max"
        )
    lr0 = lr(0) if callable(lr) else lr
    return chain(_sign(maximize), blocks.scale_by_rprop(lr0, tuple(etas), tuple(step_sizes)))


def sparse_adam(
    lr: Any = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    *,
    maximize: bool = False,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.SparseAdam``: Adam on the rows the gradient touches only.

    A row (index along axis 0) is updated when its gradient has a non-zero entry; the
    other rows keep their parameters and moments (see `blocks.scale_by_sparse_adam`).
    Suited to embedding tables, whose gradient is zero outside the looked-up rows.

    Args:
        lr: the learning rate, or a schedule.
        betas: :math:`(\beta_1, \beta_2)`.
        eps: :math:`\epsilon`.
        maximize: ascend instead of descend.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> opt = sparse_adam(lr=0.1)
        >>> table = fnp.zeros((3, 2))
        >>> grad = fnp.asarray([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
        >>> u, _ = opt.update(grad, opt.init(table))
        >>> [[round(v, 6) + 0.0 for v in row] for row in u.tolist()]
        [[0.0, 0.0], [-0.1, 0.0], [0.0, 0.0]]
    """
    betas = _betas("sparse_adam", betas)
    _nonneg("sparse_adam", lr=lr, eps=eps)
    return chain(_sign(maximize), blocks.scale_by_sparse_adam(betas, eps), blocks.scale_by_lr(lr))


class ASGDState(NamedTuple):
    """State of `asgd`.

    Attributes:
        count: steps taken.
        eta: the current step size :math:`\\eta_t`.
        mu: the current averaging coefficient :math:`\\mu_t`.
        ax: the averaged parameters (read them for evaluation).
    """

    count: Any
    eta: Any
    mu: Any
    ax: Any


def asgd(
    lr: Any = 1e-2,
    lambd: float = 1e-4,
    alpha: float = 0.75,
    t0: float = 1e6,
    weight_decay: float = 0.0,
    *,
    maximize: bool = False,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.ASGD``: averaged SGD; the averaged params are ``state.ax``.

    With :math:`\eta_1 = \gamma`, :math:`\mu_1 = 1` and
    :math:`g_t = \pm\nabla f(\theta_{t-1}) + \lambda_{wd}\theta_{t-1}`:

    .. math::
        \theta_t = \theta_{t-1}(1 - \lambda\eta_t) - \eta_t g_t,\quad
        \bar\theta_t = \bar\theta_{t-1} + \mu_t(\theta_t - \bar\theta_{t-1})

    .. math::
        \eta_{t+1} = \frac{\gamma}{(1 + \lambda\gamma t)^{\alpha}},\quad
        \mu_{t+1} = \frac{1}{\max(1, t - t_0)}

    With a schedule for ``lr``, :math:`\gamma` in the step-size formula is the schedule at
    the step being taken (PyTorch reads the group's current ``lr``).

    Args:
        lr: :math:`\gamma`, or a schedule.
        lambd: :math:`\lambda`, the decay term.
        alpha: :math:`\alpha`, the power of the step-size decay.
        t0: :math:`t_0`, the step at which averaging starts.
        weight_decay: the L2 penalty :math:`\lambda_{wd}`.
        maximize: ascend instead of descend.

    Returns:
        A ``GradientTransformationExtraArgs`` whose state is `ASGDState`; it needs
        ``params``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> opt = asgd(lr=0.1, lambd=0.0)
        >>> p = fnp.asarray([1.0])
        >>> u, state = opt.update(fnp.asarray([2.0]), opt.init(p), p)
        >>> round(u.item(), 6), round(state.ax.item(), 6)
        (-0.2, 0.8)
    """
    _nonneg("asgd", lr=lr, lambd=lambd, alpha=alpha, weight_decay=weight_decay)
    lr_at = lr if callable(lr) else (lambda count: lr)

    def init_fn(params):
        return ASGDState(
            count=fnp.zeros((), fnp.int32),
            eta=fnp.asarray(lr_at(0), dtype=fnp.float64),
            mu=fnp.ones((), fnp.float64),
            ax=tree_utils.tree_zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        tree_utils.check_same_structure("pytorch.asgd.update", updates, state.ax, "ax")

        def step(g, p, ax):
            g = -g if maximize else g
            if not _is_zero(weight_decay):
                g = g + fnp.asarray(weight_decay, p.dtype) * p
            eta = fnp.asarray(state.eta, p.dtype)
            new_p = p * (1 - lambd * eta) - eta * g
            mu = fnp.asarray(state.mu, p.dtype)
            new_ax = fnp.where(mu == 1, new_p, ax + (new_p - ax) * mu)
            return new_p - p, new_ax

        if params is None:
            raise ValueError(
                "pytorch.asgd.update: ASGD needs the current parameters; call "
                "update(updates, state, params)"
            )
        tree_utils.check_same_structure("pytorch.asgd.update", updates, params, "params")
        treedef = tree_util.tree_structure(updates)
        results = [
            step(g, p, ax)
            for g, p, ax in zip(
                tree_util.tree_leaves(updates),
                tree_util.tree_leaves(params),
                tree_util.tree_leaves(state.ax),
            )
        ]
        out = tree_util.tree_unflatten(treedef, [r[0] for r in results])
        ax = tree_util.tree_unflatten(treedef, [r[1] for r in results])
        count = tree_utils.safe_increment(state.count)
        t = fnp.asarray(count, fnp.float64)
        gamma = fnp.asarray(lr_at(state.count), dtype=fnp.float64)
        eta = gamma / (1 + lambd * gamma * t) ** alpha
        mu = 1 / fnp.maximum(1.0, t - t0)
        return out, ASGDState(count, eta, mu, ax)

    return GradientTransformationExtraArgs(init_fn, lambda u, s, p=None, **_: update_fn(u, s, p))
