"""The ``scale*`` building blocks: each rescales the updates, most by statistics of past ones.

Every factory returns a ``GradientTransformation`` whose state (when it has one) is a
NamedTuple of arrays. The optimizer aliases in ``transforms.alias`` are chains of these.
Names, arguments, defaults and results follow optax (``optax/_src/transform.py``).
"""

from __future__ import annotations

import functools
from typing import Any, Literal, NamedTuple

import funcgrad.numpy as fnp
from funcgrad import lax, tree_util
from transforms import base, numerics, tree_utils
from transforms._checks import check_decay, check_learning_rate, check_nonnegative
from transforms.tree_utils import cast_scalar

__all__ = [
    "ScaleByAdaDeltaState",
    "ScaleByAdamState",
    "ScaleByAdanState",
    "ScaleByAmsgradState",
    "ScaleByBeliefState",
    "ScaleByLionState",
    "ScaleByNovogradState",
    "ScaleByRStdDevState",
    "ScaleByRStdDevWithCountState",
    "ScaleByRmsState",
    "ScaleByRmsWithCountState",
    "ScaleByRpropState",
    "ScaleByRssState",
    "ScaleBySM3State",
    "ScaleByScheduleState",
    "centralize",
    "normalize_by_update_norm",
    "scale",
    "scale_by_adadelta",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_adan",
    "scale_by_amsgrad",
    "scale_by_belief",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_novograd",
    "scale_by_param_block_norm",
    "scale_by_param_block_rms",
    "scale_by_polyak",
    "scale_by_radam",
    "scale_by_rms",
    "scale_by_rprop",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_sign",
    "scale_by_sm3",
    "scale_by_stddev",
    "scale_by_trust_ratio",
    "scale_by_yogi",
]


def _init_empty(params):
    del params
    return base.EmptyState()


def _check(fn_name: str, updates: Any, reference: Any, name: str) -> None:
    tree_utils.check_same_structure(f"{fn_name}.update", updates, reference, name)


def _zero_count():
    return fnp.zeros((), dtype=fnp.int32)


def _needs_params(fn_name: str, params: Any) -> None:
    if params is None:
        raise ValueError(f"{fn_name}.update: {base.NO_PARAMS_MSG}")


# --------------------------------------------------------------------------- plain scaling


def scale(step_size: Any) -> base.GradientTransformation:
    """Multiply the updates by a fixed scalar ``step_size``.

    Args:
        step_size: a scalar (a float or a 0-d array; cast to each update's dtype).

    Returns:
        A stateless ``GradientTransformation``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale(-2.0)
        >>> tx.update(fnp.asarray([1.0, 3.0]), tx.init(None))[0].tolist()
        [-2.0, -6.0]
    """

    def update_fn(updates, state, params=None):
        del params
        return tree_util.tree_map(lambda g: cast_scalar(step_size, g) * g, updates), state

    return base.GradientTransformation(_init_empty, update_fn)


class ScaleByScheduleState(NamedTuple):
    """The step count fed to the schedule."""

    count: Any


def scale_by_schedule(step_size_fn: base.Schedule) -> base.GradientTransformation:
    """Multiply the updates by ``step_size_fn(count)``, with ``count = 0, 1, 2, ...``.

    Args:
        step_size_fn: a schedule: a function of the int32 step count returning a scalar.

    Returns:
        A ``GradientTransformation`` with state ``ScaleByScheduleState``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_schedule(lambda count: 1.0 / (count + 1))
        >>> s = tx.init(None)
        >>> u0, s = tx.update(fnp.ones(1), s)
        >>> u1, s = tx.update(fnp.ones(1), s)
        >>> u0.tolist(), u1.tolist()
        ([1.0], [0.5])
    """
    if not callable(step_size_fn):
        raise TypeError(
            f"scale_by_schedule: step_size_fn must be a callable of the step count, got "
            f"{type(step_size_fn).__name__}; use transforms.scale for a constant"
        )

    def init_fn(params):
        del params
        return ScaleByScheduleState(count=_zero_count())

    def update_fn(updates, state, params=None):
        del params
        step_size = step_size_fn(state.count)
        updates = tree_util.tree_map(lambda g: fnp.asarray(step_size, dtype=g.dtype) * g, updates)
        return updates, ScaleByScheduleState(count=tree_utils.safe_int32_increment(state.count))

    return base.GradientTransformation(init_fn, update_fn)


def scale_by_learning_rate(
    learning_rate: base.ScalarOrSchedule | None = None, *, flip_sign: bool = True
) -> base.GradientTransformation:
    """Multiply the updates by ``-learning_rate`` (or ``+learning_rate`` if not flip_sign).

    A callable ``learning_rate`` is a schedule of the step count (``scale_by_schedule``);
    a scalar gives the stateless ``scale``; ``None`` gives ``identity``.

    Args:
        learning_rate: a scalar >= 0, a schedule, or None.
        flip_sign: negate, so that applying the updates descends.

    Returns:
        A ``GradientTransformation``.

    Raises:
        ValueError: if ``learning_rate`` is a negative number.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_learning_rate(0.1)
        >>> tx.update(fnp.asarray([1.0]), tx.init(None))[0].tolist()
        [-0.1]
    """
    if learning_rate is None:
        return base.identity()
    check_learning_rate("scale_by_learning_rate", learning_rate)
    m = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(lambda count: m * learning_rate(count))
    return scale(m * learning_rate)


def scale_by_sign() -> base.GradientTransformation:
    """Replace each update by its sign (``-1``, ``0`` or ``1``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_sign()
        >>> tx.update(fnp.asarray([-3.0, 0.0, 0.2]), tx.init(None))[0].tolist()
        [-1.0, 0.0, 1.0]
    """

    def update_fn(updates, state, params=None):
        del params
        return tree_util.tree_map(fnp.sign, updates), state

    return base.GradientTransformation(_init_empty, update_fn)


def _scale_by_param_block(fn_name: str, block_size, min_scale: float):
    """Multiply each leaf's update by ``block_size(param leaf, min_scale)`` (a scalar)."""

    def update_fn(updates, state, params=None):
        return tree_utils.tree_map_params(
            f"{fn_name}.update",
            lambda u, p: u * fnp.asarray(block_size(p, min_scale), dtype=u.dtype),
            updates,
            params,
        ), state

    return base.GradientTransformation(_init_empty, update_fn)


def scale_by_param_block_norm(min_scale: float = 1e-3) -> base.GradientTransformation:
    """Multiply each leaf's update by ``max(||param leaf||_2, min_scale)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_param_block_norm()
        >>> p = fnp.asarray([3.0, 4.0])
        >>> tx.update(fnp.ones(2), tx.init(p), p)[0].tolist()
        [5.0, 5.0]
    """

    return _scale_by_param_block("scale_by_param_block_norm", numerics.safe_norm, min_scale)


def scale_by_param_block_rms(min_scale: float = 1e-3) -> base.GradientTransformation:
    """Multiply each leaf's update by ``max(rms(param leaf), min_scale)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_param_block_rms()
        >>> p = fnp.asarray([1.0, 7.0])
        >>> tx.update(fnp.ones(2), tx.init(p), p)[0].tolist()
        [5.0, 5.0]
    """

    return _scale_by_param_block(
        "scale_by_param_block_rms", numerics.safe_root_mean_squares, min_scale
    )


def scale_by_trust_ratio(
    min_norm: float = 0.0, trust_coefficient: float = 1.0, eps: float = 0.0
) -> base.GradientTransformation:
    r"""Scale each leaf by its trust ratio (LARS, LAMB, Fromage).

    .. math::
        u \leftarrow u \cdot \frac{c\, \max(\|w\|, m)}{\max(\|u\|, m) + \epsilon}

    per leaf, with ratio 1 where either norm is 0 (the leaf would never move otherwise).

    Args:
        min_norm: the lower bound :math:`m` of both norms.
        trust_coefficient: the multiplier :math:`c`.
        eps: added to the denominator.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_trust_ratio()
        >>> p = fnp.asarray([3.0, 4.0])
        >>> tx.update(fnp.asarray([0.0, 0.5]), tx.init(p), p)[0].tolist()
        [0.0, 5.0]
    """

    def scale_leaf(u, p):
        param_norm = numerics.safe_norm(p, min_norm)
        update_norm = numerics.safe_norm(u, min_norm)
        zero = fnp.logical_or(param_norm == 0.0, update_norm == 0.0)
        # A safe denominator where the ratio is discarded: no 0/0 (nor its NaN gradient).
        denom = fnp.where(zero, 1.0, update_norm + eps)
        ratio = trust_coefficient * param_norm / denom
        return u * fnp.asarray(fnp.where(zero, 1.0, ratio), dtype=u.dtype)

    def update_fn(updates, state, params=None):
        return tree_utils.tree_map_params(
            "scale_by_trust_ratio.update", scale_leaf, updates, params
        ), state

    return base.GradientTransformation(_init_empty, update_fn)


def centralize() -> base.GradientTransformation:
    """Subtract from each update of rank >= 2 its mean over all axes but the first.

    References:
        Yong et al., Gradient Centralization, 2020 (https://arxiv.org/abs/2004.01461).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.centralize()
        >>> g = fnp.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        >>> tx.update(g, tx.init(g))[0].tolist()
        [[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]]
    """

    def subtract_mean(g):
        if fnp.ndim(g) > 1:
            return g - fnp.mean(g, axis=tuple(range(1, fnp.ndim(g))), keepdims=True)
        return g

    def update_fn(updates, state, params=None):
        del params
        return tree_util.tree_map(subtract_mean, updates), state

    return base.GradientTransformation(_init_empty, update_fn)


def normalize_by_update_norm(scale_factor: float = 1.0, eps: float = 1e-6):
    r"""Divide the updates by their global norm: ``u * scale_factor / (||u|| + eps)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.normalize_by_update_norm(eps=0.0)
        >>> tx.update(fnp.asarray([3.0, 4.0]), tx.init(None))[0].tolist()
        [0.6, 0.8]
    """

    def update_fn(updates, state, params=None):
        del params
        g_norm = (tree_utils.tree_l2_norm(updates) + eps) / scale_factor
        return tree_util.tree_map(lambda g: g / cast_scalar(g_norm, g), updates), state

    return base.GradientTransformation(_init_empty, update_fn)


# --------------------------------------------------------------------------- Adagrad, RMSProp


class ScaleByRssState(NamedTuple):
    """The running sum of squared gradients (Adagrad)."""

    sum_of_squares: base.Updates


def scale_by_rss(
    initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> base.GradientTransformation:
    r"""Divide by the root of the sum of all squared gradients so far (Adagrad).

    .. math::
        G_k = G_{k-1} + g_k^2,\quad u_k = g_k / \sqrt{G_k + \epsilon}\ (0 \text{ where } G_k = 0)

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_rss(initial_accumulator_value=0.0, eps=0.0)
        >>> tx.update(fnp.asarray([2.0]), tx.init(fnp.zeros(1)))[0].tolist()
        [1.0]
    """
    check_nonnegative("scale_by_rss", "initial_accumulator_value", initial_accumulator_value)

    def init_fn(params):
        return ScaleByRssState(
            sum_of_squares=tree_utils.tree_full_like(params, initial_accumulator_value)
        )

    def update_fn(updates, state, params=None):
        del params
        _check("scale_by_rss", updates, state.sum_of_squares, "state.sum_of_squares")
        sos = tree_util.tree_map(lambda g, t: numerics.abs_sq(g) + t, updates, state.sum_of_squares)
        updates = tree_util.tree_map(
            lambda g, t: g * fnp.where(t > 0, lax.rsqrt(fnp.where(t > 0, t, 1.0) + eps), 0.0),
            updates,
            sos,
        )
        return updates, ScaleByRssState(sum_of_squares=sos)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByRmsState(NamedTuple):
    """The moving average of squared gradients (RMSProp)."""

    nu: base.Updates


class ScaleByRmsWithCountState(NamedTuple):
    """The step count and moving average of squared gradients (bias-corrected RMSProp)."""

    count: Any
    nu: base.Updates


def _rms_scaling(eps, eps_in_sqrt):
    if eps_in_sqrt:
        return lambda n: lax.rsqrt(n + eps)
    return lambda n: 1 / (fnp.sqrt(n) + eps)


def scale_by_rms(
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> base.GradientTransformation:
    r"""Divide by the root of a moving average of squared gradients (RMSProp).

    .. math::
        \nu_k = \rho\, \nu_{k-1} + (1 - \rho)\, g_k^2,\quad
        \hat\nu_k = \nu_k / (1 - \rho^k) \text{ if bias\_correction else } \nu_k,\quad
        u_k = g_k / \sqrt{\hat\nu_k + \epsilon} \text{ (or } g_k / (\sqrt{\hat\nu_k} + \epsilon))

    Args:
        decay: :math:`\rho`, in [0, 1).
        eps: the stabiliser, inside the root when ``eps_in_sqrt``, else outside.
        initial_scale: :math:`\nu_0` (PyTorch uses 0, TF1 uses 1).
        eps_in_sqrt: where ``eps`` goes.
        bias_correction: divide by ``1 - decay**k`` (the state then holds a count).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_rms(decay=0.75, eps=0.0)
        >>> tx.update(fnp.asarray([2.0]), tx.init(fnp.zeros(1)))[0].tolist()
        [2.0]
    """
    check_decay("scale_by_rms", "decay", decay)
    check_nonnegative("scale_by_rms", "eps", eps)
    scaling = _rms_scaling(eps, eps_in_sqrt)

    def init_fn(params):
        nu = tree_utils.tree_full_like(params, initial_scale)
        if bias_correction:
            return ScaleByRmsWithCountState(count=_zero_count(), nu=nu)
        return ScaleByRmsState(nu=nu)

    def update_fn(updates, state, params=None):
        del params
        _check("scale_by_rms", updates, state.nu, "state.nu")
        nu = tree_utils.tree_update_moment_per_elem_norm(updates, state.nu, decay, 2)
        if bias_correction:
            count_inc = tree_utils.safe_int32_increment(state.count)
            nu_hat = tree_utils.tree_bias_correction(nu, decay, count_inc)
        else:
            nu_hat = nu
        updates = tree_util.tree_map(lambda g, n: g * scaling(n), updates, nu_hat)
        if bias_correction:
            return updates, ScaleByRmsWithCountState(count=count_inc, nu=nu)
        return updates, ScaleByRmsState(nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByRStdDevState(NamedTuple):
    """The moving averages of the gradients and their squares (centred RMSProp)."""

    mu: base.Updates
    nu: base.Updates


class ScaleByRStdDevWithCountState(NamedTuple):
    """The step count and both moving averages (bias-corrected centred RMSProp)."""

    count: Any
    mu: base.Updates
    nu: base.Updates


def scale_by_stddev(
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> base.GradientTransformation:
    r"""Divide by a moving estimate of the gradients' standard deviation (centred RMSProp).

    .. math::
        \mu_k = \rho \mu_{k-1} + (1-\rho) g_k,\quad
        \nu_k = \rho \nu_{k-1} + (1-\rho) g_k^2,\quad
        u_k = g_k / \sqrt{\hat\nu_k - \hat\mu_k^2 + \epsilon}

    (``eps`` outside the root when not ``eps_in_sqrt``; hats are bias corrections when
    ``bias_correction``, else the raw averages). The variance
    :math:`\hat\nu_k - \hat\mu_k^2` is clamped at 0 against rounding (optax's formula gives
    NaN where rounding makes it negative; the results are equal elsewhere).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_stddev(decay=0.5, eps=0.0)
        >>> tx.update(fnp.asarray([2.0]), tx.init(fnp.zeros(1)))[0].tolist()
        [2.0]
    """
    check_decay("scale_by_stddev", "decay", decay)
    check_nonnegative("scale_by_stddev", "eps", eps)
    scaling = _rms_scaling(eps, eps_in_sqrt)

    def init_fn(params):
        mu = tree_utils.tree_zeros_like(params)
        nu = tree_utils.tree_full_like(params, initial_scale)
        if bias_correction:
            return ScaleByRStdDevWithCountState(count=_zero_count(), mu=mu, nu=nu)
        return ScaleByRStdDevState(mu=mu, nu=nu)

    def update_fn(updates, state, params=None):
        del params
        _check("scale_by_stddev", updates, state.nu, "state.nu")
        mu = tree_utils.tree_update_moment(updates, state.mu, decay, 1)
        nu = tree_utils.tree_update_moment_per_elem_norm(updates, state.nu, decay, 2)
        if bias_correction:
            count_inc = tree_utils.safe_int32_increment(state.count)
            mu_hat = tree_utils.tree_bias_correction(mu, decay, count_inc)
            nu_hat = tree_utils.tree_bias_correction(nu, decay, count_inc)
        else:
            mu_hat, nu_hat = mu, nu
        # The variance estimate is clamped at 0: when it is 0 in exact arithmetic (always
        # at the first bias-corrected step) rounding can make it slightly negative, and its
        # square root NaN. Elsewhere this equals optax's formula.
        updates = tree_util.tree_map(
            lambda g, m, n: g * scaling(fnp.maximum(n - numerics.abs_sq(m), 0.0)),
            updates,
            mu_hat,
            nu_hat,
        )
        if bias_correction:
            return updates, ScaleByRStdDevWithCountState(count=count_inc, mu=mu, nu=nu)
        return updates, ScaleByRStdDevState(mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


# --------------------------------------------------------------------------- the Adam family


class ScaleByAdamState(NamedTuple):
    """The step count and the first and second moments (Adam, Adamax, RAdam, Yogi)."""

    count: Any
    mu: base.Updates
    nu: base.Updates


def _check_betas(fn_name, **betas):
    for name, value in betas.items():
        check_decay(fn_name, name, value)


def _init_moments(state_cls, mu_dtype=None):
    """The ``init`` of a ``(count, mu, nu)`` state: count 0, both moments zero."""

    def init_fn(params):
        return state_cls(
            count=_zero_count(),
            mu=tree_utils.tree_zeros_like(params, dtype=mu_dtype),
            nu=tree_utils.tree_zeros_like(params),
        )

    return init_fn


def _adam_moments(fn_name, updates, state, b1, b2):
    """Adam's step: the incremented count and both moving moments (``m_k``, ``v_k``)."""
    _check(fn_name, updates, state.mu, "state.mu")
    count_inc = tree_utils.safe_int32_increment(state.count)
    mu = tree_utils.tree_update_moment(updates, state.mu, b1, 1)
    nu = tree_utils.tree_update_moment_per_elem_norm(updates, state.nu, b2, 2)
    return count_inc, mu, nu


def _mu_hat(mu, updates, b1, count_inc, nesterov):
    """The bias-corrected first moment, or with ``nesterov`` Nesterov's look-ahead one
    (Dozat 2016), bias-corrected term by term."""
    if not nesterov:
        return tree_utils.tree_bias_correction(mu, b1, count_inc)
    next_mu = tree_utils.tree_bias_correction(mu, b1, tree_utils.safe_int32_increment(count_inc))
    grad = tree_utils.tree_bias_correction(updates, b1, count_inc)
    return tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, next_mu, grad)


def scale_by_adam(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
) -> base.GradientTransformation:
    r"""Rescale the updates with Adam's bias-corrected moment estimates.

    .. math::
        m_k &= \beta_1 m_{k-1} + (1-\beta_1) g_k,\qquad
        v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2 \\
        \hat m_k &= m_k / (1-\beta_1^k),\qquad \hat v_k = v_k / (1-\beta_2^k) \\
        u_k &= \hat m_k / (\sqrt{\hat v_k + \bar\epsilon} + \epsilon)

    With ``nesterov`` (NAdam), :math:`\hat m_k = \beta_1 m_k / (1-\beta_1^{k+1}) +
    (1-\beta_1) g_k / (1-\beta_1^k)`.

    Args:
        b1: :math:`\beta_1`, in [0, 1).
        b2: :math:`\beta_2`, in [0, 1).
        eps: :math:`\epsilon`, outside the root.
        eps_root: :math:`\bar\epsilon`, inside the root (for meta-gradients through Adam).
        mu_dtype: dtype of the first moment (default: the params' dtype).
        nesterov: use Nesterov momentum (Dozat 2016).

    Returns:
        A ``GradientTransformation`` with state ``ScaleByAdamState``.

    References:
        Kingma and Ba, Adam: A Method for Stochastic Optimization, 2014
        (https://arxiv.org/abs/1412.6980); Dozat, Incorporating Nesterov Momentum into
        Adam, 2016.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_adam(eps=0.0)
        >>> tx.update(fnp.asarray([-3.0, 0.5]), tx.init(fnp.zeros(2)))[0].tolist()
        [-1.0, 1.0]
    """
    _check_betas("scale_by_adam", b1=b1, b2=b2)
    check_nonnegative("scale_by_adam", "eps", eps)
    check_nonnegative("scale_by_adam", "eps_root", eps_root)

    init_fn = _init_moments(ScaleByAdamState, mu_dtype)

    def update_fn(updates, state, params=None):
        del params
        count_inc, mu, nu = _adam_moments("scale_by_adam", updates, state, b1, b2)
        mu_hat = _mu_hat(mu, updates, b1, count_inc, nesterov)
        nu_hat = tree_utils.tree_bias_correction(nu, b2, count_inc)
        if isinstance(eps_root, (int, float)) and eps_root == 0:
            # sqrt(v + 0.0) == sqrt(v) for v >= 0: skip one pass over every leaf.
            updates = tree_util.tree_map(lambda m, v: m / (fnp.sqrt(v) + eps), mu_hat, nu_hat)
        else:
            updates = tree_util.tree_map(
                lambda m, v: m / (fnp.sqrt(v + cast_scalar(eps_root, v)) + eps), mu_hat, nu_hat
            )
        mu = tree_utils.tree_cast(mu, mu_dtype)
        return updates, ScaleByAdamState(count=count_inc, mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByAmsgradState(NamedTuple):
    """Adam's state plus the running maximum of the second moment."""

    count: Any
    mu: base.Updates
    nu: base.Updates
    nu_max: base.Updates


def scale_by_amsgrad(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> base.GradientTransformation:
    r"""AMSGrad: Adam with the running maximum of the bias-corrected second moment.

    .. math::
        \hat v^{\max}_k = \max(\hat v^{\max}_{k-1}, \hat v_k),\qquad
        u_k = \hat m_k / (\sqrt{\hat v^{\max}_k + \bar\epsilon} + \epsilon)

    with :math:`\hat m_k, \hat v_k` as in ``scale_by_adam``. ``bias_correction_mu=False``
    uses :math:`m_k` for :math:`\hat m_k`, ``bias_correction_nu=False`` takes the maximum
    of the raw :math:`v_k` (both False: the original paper's algorithm), as optax's
    arguments of the same names.

    References:
        Reddi et al., On the Convergence of Adam and Beyond, ICLR 2018.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_amsgrad(eps=0.0)
        >>> tx.update(fnp.asarray([2.0]), tx.init(fnp.zeros(1)))[0].tolist()
        [1.0]
    """
    _check_betas("scale_by_amsgrad", b1=b1, b2=b2)

    def init_fn(params):
        return ScaleByAmsgradState(
            count=_zero_count(),
            mu=tree_utils.tree_zeros_like(params, dtype=mu_dtype),
            nu=tree_utils.tree_zeros_like(params),
            nu_max=tree_utils.tree_zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        del params
        count_inc, mu, nu = _adam_moments("scale_by_amsgrad", updates, state, b1, b2)
        mu_hat = tree_utils.tree_bias_correction(mu, b1, count_inc) if bias_correction_mu else mu
        nu_hat = tree_utils.tree_bias_correction(nu, b2, count_inc) if bias_correction_nu else nu
        nu_max = tree_util.tree_map(fnp.maximum, state.nu_max, nu_hat)
        updates = tree_util.tree_map(
            lambda m, v: m / (fnp.sqrt(v + eps_root) + eps), mu_hat, nu_max
        )
        return updates, ScaleByAmsgradState(
            count=count_inc, mu=tree_utils.tree_cast(mu, mu_dtype), nu=nu, nu_max=nu_max
        )

    return base.GradientTransformation(init_fn, update_fn)


def scale_by_adamax(
    b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> base.GradientTransformation:
    r"""Adamax: Adam with the infinity norm in place of the second moment.

    .. math::
        m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k,\quad
        v_k = \max(\beta_2 v_{k-1}, |g_k| + \epsilon),\quad
        u_k = \frac{m_k}{(1 - \beta_1^k)\, v_k}

    References:
        Kingma and Ba, 2014, section 7.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_adamax(eps=0.0)
        >>> tx.update(fnp.asarray([-4.0]), tx.init(fnp.zeros(1)))[0].tolist()
        [-1.0]
    """
    _check_betas("scale_by_adamax", b1=b1, b2=b2)

    init_fn = _init_moments(ScaleByAdamState)

    def update_fn(updates, state, params=None):
        del params
        _check("scale_by_adamax", updates, state.mu, "state.mu")
        count_inc = tree_utils.safe_int32_increment(state.count)
        mu = tree_utils.tree_update_moment(updates, state.mu, b1, 1)
        nu = tree_utils.tree_update_infinity_moment(updates, state.nu, b2, eps)
        mu_hat = tree_utils.tree_bias_correction(mu, b1, count_inc)
        updates = tree_util.tree_map(lambda m, v: m / v, mu_hat, nu)
        return updates, ScaleByAdamState(count=count_inc, mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


def scale_by_radam(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    threshold: float = 5.0,
    *,
    nesterov: bool = False,
) -> base.GradientTransformation:
    r"""Rectified Adam: Adam's step rectified by the variance of its adaptive learning rate.

    .. math::
        \rho_\infty = \frac{2}{1-\beta_2} - 1,\quad
        \rho_k = \rho_\infty - \frac{2k\beta_2^k}{1-\beta_2^k},\quad
        r_k = \sqrt{\frac{(\rho_k-4)(\rho_k-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_k}}

    :math:`u_k = r_k \hat m_k / (\sqrt{\hat v_k + \bar\epsilon} + \epsilon)` when
    :math:`\rho_k \ge` ``threshold``, else :math:`u_k = \hat m_k` (SGD with momentum).

    References:
        Liu et al., On the Variance of the Adaptive Learning Rate and Beyond, 2020
        (https://arxiv.org/abs/1908.03265).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_radam()
        >>> tx.update(fnp.asarray([2.0]), tx.init(fnp.zeros(1)))[0].tolist()  # rho_1 < 5
        [2.0]
    """
    _check_betas("scale_by_radam", b1=b1, b2=b2)
    ro_inf = 2.0 / (1.0 - b2) - 1.0

    init_fn = _init_moments(ScaleByAdamState)

    def update_fn(updates, state, params=None):
        del params
        count_inc, mu, nu = _adam_moments("scale_by_radam", updates, state, b1, b2)
        b2t = b2 ** fnp.asarray(count_inc)
        ro = ro_inf - 2 * count_inc * b2t / (1 - b2t)
        mu_hat = _mu_hat(mu, updates, b1, count_inc, nesterov)
        nu_hat = tree_utils.tree_bias_correction(nu, b2, count_inc)
        use_adam = ro >= threshold
        # Below the threshold r is the root of a negative number: compute it on a safe
        # value so the (discarded) branch holds no NaN.
        ro_safe = fnp.where(use_adam, ro, ro_inf)
        r = fnp.sqrt(
            (ro_safe - 4.0) * (ro_safe - 2.0) * ro_inf / ((ro_inf - 4.0) * (ro_inf - 2.0) * ro_safe)
        )
        updates = tree_util.tree_map(
            lambda m, v: fnp.where(
                use_adam, cast_scalar(r, m) * m / (fnp.sqrt(v + eps_root) + eps), m
            ),
            mu_hat,
            nu_hat,
        )
        return updates, ScaleByAdamState(count=count_inc, mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByBeliefState(NamedTuple):
    """The step count, the first moment and the second moment of the prediction error."""

    count: Any
    mu: base.Updates
    nu: base.Updates


def scale_by_belief(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-16,
    eps_root: float = 1e-16,
    *,
    nesterov: bool = False,
) -> base.GradientTransformation:
    r"""AdaBelief: Adam with the variance of the gradient around its moving average.

    .. math::
        m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k,\quad
        s_k = \beta_2 s_{k-1} + (1-\beta_2)(g_k - m_k)^2 + \bar\epsilon,\quad
        u_k = \hat m_k / (\sqrt{\hat s_k} + \epsilon)

    (hats: division by :math:`1-\beta^k`; ``nesterov`` as in ``scale_by_adam``).

    References:
        Zhuang et al., AdaBelief Optimizer, NeurIPS 2020 (https://arxiv.org/abs/2010.07468).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_belief(eps=0.0, eps_root=0.0)
        >>> round(tx.update(fnp.asarray([2.0]), tx.init(fnp.zeros(1)))[0].item(), 6)  # 2 / 1.8
        1.111111
    """
    _check_betas("scale_by_belief", b1=b1, b2=b2)

    init_fn = _init_moments(ScaleByBeliefState)

    def update_fn(updates, state, params=None):
        del params
        _check("scale_by_belief", updates, state.mu, "state.mu")
        mu = tree_utils.tree_update_moment(updates, state.mu, b1, 1)
        error = tree_utils.tree_sub(updates, mu)
        nu = tree_utils.tree_update_moment_per_elem_norm(error, state.nu, b2, 2)
        nu = tree_util.tree_map(lambda v: v + eps_root, nu)
        count_inc = tree_utils.safe_int32_increment(state.count)
        mu_hat = _mu_hat(mu, updates, b1, count_inc, nesterov)
        nu_hat = tree_utils.tree_bias_correction(nu, b2, count_inc)
        updates = tree_util.tree_map(lambda m, v: m / (fnp.sqrt(v) + eps), mu_hat, nu_hat)
        return updates, ScaleByBeliefState(count=count_inc, mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


def scale_by_yogi(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-3,
    eps_root: float = 0.0,
    initial_accumulator_value: float = 1e-6,
) -> base.GradientTransformation:
    r"""Yogi: Adam whose second moment moves additively, by the sign of its error.

    .. math::
        v_k = v_{k-1} - (1-\beta_2)\, \mathrm{sign}(v_{k-1} - g_k^2)\, g_k^2,\quad
        u_k = \hat m_k / (\sqrt{\hat v_k + \bar\epsilon} + \epsilon)

    with :math:`m_0 = v_0 =` ``initial_accumulator_value`` and Adam's first moment.

    References:
        Zaheer et al., Adaptive Methods for Nonconvex Optimization, NeurIPS 2018.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_yogi(initial_accumulator_value=0.0, eps=0.0)
        >>> tx.update(fnp.asarray([2.0]), tx.init(fnp.zeros(1)))[0].tolist()
        [1.0]
    """
    _check_betas("scale_by_yogi", b1=b1, b2=b2)

    def init_fn(params):
        return ScaleByAdamState(
            count=_zero_count(),
            mu=tree_utils.tree_full_like(params, initial_accumulator_value),
            nu=tree_utils.tree_full_like(params, initial_accumulator_value),
        )

    def update_fn(updates, state, params=None):
        del params
        _check("scale_by_yogi", updates, state.mu, "state.mu")
        mu = tree_utils.tree_update_moment(updates, state.mu, b1, 1)

        def yogi_nu(g, v):
            g2 = numerics.abs_sq(g)
            return v - (1 - b2) * fnp.sign(v - g2) * g2

        nu = tree_util.tree_map(yogi_nu, updates, state.nu)
        count_inc = tree_utils.safe_int32_increment(state.count)
        mu_hat = tree_utils.tree_bias_correction(mu, b1, count_inc)
        nu_hat = tree_utils.tree_bias_correction(nu, b2, count_inc)
        updates = tree_util.tree_map(
            lambda m, v: m / (fnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat
        )
        return updates, ScaleByAdamState(count=count_inc, mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByAdanState(NamedTuple):
    """Adan's three moments, the previous gradient and the step count ``t``."""

    m: base.Updates
    v: base.Updates
    n: base.Updates
    g: base.Updates
    t: Any


def scale_by_adan(
    b1: float = 0.98,
    b2: float = 0.92,
    b3: float = 0.99,
    eps: float = 1e-8,
    eps_root: float = 0.0,
) -> base.GradientTransformation:
    r"""Adan: adaptive Nesterov momentum (Algorithm 1 of Xie et al.).

    .. math::
        \Delta_k &= g_k - g_{k-1}\ (0 \text{ at the first step}) \\
        m_k &= \beta_1 m_{k-1} + (1-\beta_1) g_k,\quad
        v_k = \beta_2 v_{k-1} + (1-\beta_2)\Delta_k \\
        n_k &= \beta_3 n_{k-1} + (1-\beta_3)(g_k + (1-\beta_2)\Delta_k)^2 \\
        u_k &= (\hat m_k + (1-\beta_2)\hat v_k) / (\sqrt{\hat n_k + \bar\epsilon} + \epsilon)

    (hats: division by :math:`1 - \beta^k`).

    References:
        Xie et al., Adan: Adaptive Nesterov Momentum Algorithm, 2022
        (https://arxiv.org/abs/2208.06677).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_adan(eps=0.0)
        >>> tx.update(fnp.asarray([2.0]), tx.init(fnp.zeros(1)))[0].tolist()
        [1.0]
    """
    _check_betas("scale_by_adan", b1=b1, b2=b2, b3=b3)

    def init_fn(params):
        z = tree_utils.tree_zeros_like
        return ScaleByAdanState(m=z(params), v=z(params), n=z(params), g=z(params), t=_zero_count())

    def update_fn(updates, state, params=None):
        del params
        _check("scale_by_adan", updates, state.m, "state.m")
        g = updates
        diff = tree_util.tree_map(
            lambda new, old: fnp.where(state.t == 0, fnp.zeros_like(new), new - old), g, state.g
        )
        m = tree_utils.tree_update_moment(g, state.m, b1, 1)
        v = tree_utils.tree_update_moment(diff, state.v, b2, 1)
        sq = tree_utils.tree_add_scalar_mul(g, 1 - b2, diff)
        n = tree_utils.tree_update_moment_per_elem_norm(sq, state.n, b3, 2)
        t = tree_utils.safe_int32_increment(state.t)
        m_hat = tree_utils.tree_bias_correction(m, b1, t)
        v_hat = tree_utils.tree_bias_correction(v, b2, t)
        n_hat = tree_utils.tree_bias_correction(n, b3, t)
        updates = tree_util.tree_map(
            lambda mh, vh, nh: (mh + (1 - b2) * vh) / (fnp.sqrt(nh + eps_root) + eps),
            m_hat,
            v_hat,
            n_hat,
        )
        return updates, ScaleByAdanState(m=m, v=v, n=n, g=g, t=t)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByLionState(NamedTuple):
    """The step count and Lion's momentum."""

    count: Any
    mu: base.Updates


def scale_by_lion(
    b1: float = 0.9,
    b2: float = 0.99,
    mu_dtype: Any = None,
    *,
    mode: Literal["hard", "smooth", "refined"] = "hard",
    smooth_beta: float = 1.0,
) -> base.GradientTransformation:
    r"""Lion: the sign of an interpolation of momentum and gradient.

    .. math::
        c_k = \beta_1 m_{k-1} + (1-\beta_1) g_k,\quad u_k = \mathrm{sign}(c_k),\quad
        m_k = \beta_2 m_{k-1} + (1-\beta_2) g_k

    ``mode="smooth"`` uses :math:`\tanh(\text{smooth\_beta}\, c_k)`; ``"refined"`` keeps
    :math:`c_k` where :math:`|c_k| < 1` and its sign elsewhere.

    References:
        Chen et al., Symbolic Discovery of Optimization Algorithms, 2023
        (https://arxiv.org/abs/2302.06675).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_lion()
        >>> tx.update(fnp.asarray([0.3, -2.0]), tx.init(fnp.zeros(2)))[0].tolist()
        [1.0, -1.0]
    """
    _check_betas("scale_by_lion", b1=b1, b2=b2)
    if mode not in ("hard", "smooth", "refined"):
        raise ValueError(f"scale_by_lion: mode must be 'hard', 'smooth' or 'refined', got {mode!r}")

    def combine(g, m):
        c = (1.0 - b1) * g + b1 * m
        if mode == "hard":
            return fnp.sign(c)
        if mode == "smooth":
            return fnp.tanh(smooth_beta * c)
        return fnp.where(fnp.abs(c) < 1.0, c, fnp.sign(c))

    def init_fn(params):
        return ScaleByLionState(
            count=_zero_count(), mu=tree_utils.tree_zeros_like(params, dtype=mu_dtype)
        )

    def update_fn(updates, state, params=None):
        del params
        _check("scale_by_lion", updates, state.mu, "state.mu")
        new_updates = tree_util.tree_map(combine, updates, state.mu)
        mu = tree_utils.tree_cast(tree_utils.tree_update_moment(updates, state.mu, b2, 1), mu_dtype)
        return new_updates, ScaleByLionState(
            count=tree_utils.safe_int32_increment(state.count), mu=mu
        )

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByNovogradState(NamedTuple):
    """The step count, the first moment and the per-leaf second moment (a scalar per leaf)."""

    count: Any
    mu: base.Updates
    nu: base.Updates


def scale_by_novograd(
    b1: float = 0.9,
    b2: float = 0.25,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    weight_decay: float = 0.0,
    mu_dtype: Any = None,
) -> base.GradientTransformation:
    r"""NovoGrad: layer-wise second moments (one scalar per leaf), gradient normalised first.

    .. math::
        v_k &= \|g_k\|^2 \ (k = 1), \quad \beta_2 v_{k-1} + (1-\beta_2)\|g_k\|^2 \ (k > 1) \\
        d_k &= g_k / (\sqrt{v_k + \bar\epsilon} + \epsilon) + \lambda w_k \\
        m_k &= d_k \ (k = 1), \quad \beta_1 m_{k-1} + d_k \ (k > 1),\qquad u_k = m_k

    per leaf (:math:`\|\cdot\|` is the leaf's l2 norm).

    References:
        Ginsburg et al., Stochastic Gradient Methods with Layer-wise Adaptive Moments for
        Training of Deep Networks, 2019 (https://arxiv.org/abs/1905.11286).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_novograd(eps=0.0)
        >>> p = fnp.zeros(2)
        >>> tx.update(fnp.asarray([3.0, 4.0]), tx.init(p), p)[0].tolist()
        [0.6, 0.8]
    """
    _check_betas("scale_by_novograd", b1=b1, b2=b2)
    check_nonnegative("scale_by_novograd", "weight_decay", weight_decay)

    def init_fn(params):
        return ScaleByNovogradState(
            count=_zero_count(),
            mu=tree_utils.tree_zeros_like(params, dtype=mu_dtype),
            nu=tree_util.tree_map(lambda p: fnp.zeros((), dtype=fnp.asarray(p).dtype), params),
        )

    def update_fn(updates, state, params=None):
        _check("scale_by_novograd", updates, state.mu, "state.mu")
        if params is None:
            if not (isinstance(weight_decay, (int, float)) and weight_decay == 0):
                _needs_params("scale_by_novograd", params)
            params = tree_utils.tree_zeros_like(updates)
        count_inc = tree_utils.safe_int32_increment(state.count)
        first = count_inc == 1

        def new_nu(g, n):
            sq = fnp.asarray(fnp.sum(numerics.abs_sq(g)), dtype=n.dtype)
            return fnp.where(first, sq, b2 * n + (1 - b2) * sq)

        nu = tree_util.tree_map(new_nu, updates, state.nu)

        def new_mu(g, p, n, m):
            d = g / (fnp.sqrt(n + eps_root) + eps) + weight_decay * p
            return fnp.where(first, d, b1 * m + d)

        mu = tree_util.tree_map(new_mu, updates, params, nu, state.mu)
        mu = tree_utils.tree_cast(mu, mu_dtype)
        return mu, ScaleByNovogradState(count=count_inc, mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


# --------------------------------------------------------------------------- others


class ScaleByAdaDeltaState(NamedTuple):
    """The moving averages of squared gradients and of squared updates (Adadelta)."""

    e_g: base.Updates
    e_x: base.Updates


def scale_by_adadelta(rho: float = 0.9, eps: float = 1e-6) -> base.GradientTransformation:
    r"""Adadelta: the ratio of the RMS of past updates to the RMS of past gradients.

    .. math::
        E[g^2]_k = \rho E[g^2]_{k-1} + (1-\rho) g_k^2,\quad
        u_k = \frac{\sqrt{E[\Delta^2]_{k-1} + \epsilon}}{\sqrt{E[g^2]_k + \epsilon}}\, g_k,\quad
        E[\Delta^2]_k = \rho E[\Delta^2]_{k-1} + (1-\rho) u_k^2

    References:
        Zeiler, ADADELTA: An Adaptive Learning Rate Method, 2012
        (https://arxiv.org/abs/1212.5701).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_adadelta(rho=0.0, eps=1.0)
        >>> tx.update(fnp.asarray([0.0]), tx.init(fnp.zeros(1)))[0].tolist()
        [0.0]
    """
    check_decay("scale_by_adadelta", "rho", rho)
    check_nonnegative("scale_by_adadelta", "eps", eps)

    def init_fn(params):
        return ScaleByAdaDeltaState(
            e_g=tree_utils.tree_zeros_like(params), e_x=tree_utils.tree_zeros_like(params)
        )

    def update_fn(updates, state, params=None):
        del params
        _check("scale_by_adadelta", updates, state.e_g, "state.e_g")
        e_g = tree_utils.tree_update_moment(updates, state.e_g, rho, 2)
        updates = tree_util.tree_map(
            lambda g, eg, ex: fnp.sqrt(ex + eps) / fnp.sqrt(eg + eps) * g,
            updates,
            e_g,
            state.e_x,
        )
        e_x = tree_utils.tree_update_moment(updates, state.e_x, rho, 2)
        return updates, ScaleByAdaDeltaState(e_g=e_g, e_x=e_x)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByRpropState(NamedTuple):
    """Rprop's per-element step sizes and its previous updates."""

    step_sizes: base.Updates
    prev_updates: base.Updates


def scale_by_rprop(
    learning_rate: float,
    eta_minus: float = 0.5,
    eta_plus: float = 1.2,
    min_step_size: float = 1e-6,
    max_step_size: float = 50.0,
) -> base.GradientTransformation:
    r"""Rprop: per-element step sizes adapted by the sign agreement of successive gradients.

    With :math:`s = g_k \cdot p_{k-1}` (:math:`p` the previous output, 0 at first):

    - step size: unchanged where :math:`s = 0`, else
      :math:`\mathrm{clip}(\eta_\pm \Delta_{k-1}, \Delta_{\min}, \Delta_{\max})`
      (:math:`\eta_+` where :math:`s > 0`, :math:`\eta_-` where :math:`s < 0`);
    - :math:`p_k = 0` where :math:`s < 0`, else :math:`\Delta_k\, \mathrm{sign}(g_k)`;
    - output: :math:`0` where :math:`s < 0`, else :math:`p_k` (optax's formulation, which
      compares the gradient with the previous *output*).

    Args:
        learning_rate: the initial step size :math:`\Delta_0` (>= 0).

    References:
        Riedmiller and Braun, A Direct Adaptive Method for Faster Backpropagation
        Learning: The RPROP Algorithm, 1993.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_rprop(0.5)
        >>> tx.update(fnp.asarray([-3.0, 2.0]), tx.init(fnp.zeros(2)))[0].tolist()
        [-0.5, 0.5]
    """
    check_learning_rate("scale_by_rprop", learning_rate)

    def init_fn(params):
        return ScaleByRpropState(
            step_sizes=tree_utils.tree_full_like(params, learning_rate),
            prev_updates=tree_utils.tree_zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        del params
        _check("scale_by_rprop", updates, state.step_sizes, "state.step_sizes")
        sign = tree_util.tree_map(lambda g, prev: g * prev, updates, state.prev_updates)
        step_sizes = tree_util.tree_map(
            lambda s, step: fnp.where(
                s == 0,
                step,
                fnp.clip(
                    step * fnp.where(s > 0, eta_plus, eta_minus), min_step_size, max_step_size
                ),
            ),
            sign,
            state.step_sizes,
        )
        prev_updates = tree_util.tree_map(
            lambda s, g, step: fnp.where(s < 0, fnp.zeros_like(g), step * fnp.sign(g)),
            sign,
            updates,
            step_sizes,
        )
        updates = tree_util.tree_map(
            lambda s, p: fnp.where(s < 0, fnp.zeros_like(p), p), sign, prev_updates
        )
        return updates, ScaleByRpropState(step_sizes=step_sizes, prev_updates=prev_updates)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleBySM3State(NamedTuple):
    """SM3's per-axis accumulators (a list per leaf) and its momentum."""

    mu: base.Updates
    nu: base.Updates


def scale_by_sm3(
    b1: float = 0.9, b2: float = 1.0, eps: float = 1e-8
) -> base.GradientTransformation:
    r"""SM3: memory-efficient adaptive scaling with one accumulator per axis and index.

    For a leaf of rank :math:`r \ge 2` with per-axis accumulators :math:`\mu^{(i)}`:

    .. math::
        \nu_k &= c\, g_k^2 + \beta_2 \min_i \mu^{(i)}_{k-1}\ (\text{broadcast}),\quad
        c = 1 - \beta_2 \ (\text{or } 1 \text{ when } \beta_2 = 1) \\
        \mu^{(i)}_k &= \max_{\text{axes} \ne i} \nu_k,\quad
        m_k = \beta_1 m_{k-1} + (1-\beta_1)\, g_k / \sqrt{\nu_k + \epsilon}\ (0 \text{ where }
        \nu_k = 0),\quad u_k = m_k

    Leaves of rank 0 or 1 keep one accumulator of their own shape.

    References:
        Anil et al., Memory-Efficient Adaptive Optimization, 2019
        (https://arxiv.org/abs/1901.11150).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_sm3(b1=0.0)
        >>> tx.update(fnp.asarray([2.0]), tx.init(fnp.zeros(1)))[0].tolist()  # doctest: +ELLIPSIS
        [0.99999...]
    """
    check_decay("scale_by_sm3", "b1", b1)
    check_decay("scale_by_sm3", "b2", b2, allow_one=True)
    c = (1.0 - b2) if b2 != 1.0 else 1.0

    def zeros_per_axis(p):
        p = fnp.asarray(p)
        if p.ndim < 2:
            return [fnp.zeros_like(p)]
        return [fnp.zeros((p.shape[i],), dtype=p.dtype) for i in range(p.ndim)]

    def init_fn(params):
        if any(fnp.iscomplexobj(x) for x in tree_util.tree_leaves(params)):
            raise ValueError("scale_by_sm3: complex parameters are not supported")
        return ScaleBySM3State(
            mu=tree_util.tree_map(zeros_per_axis, params), nu=tree_utils.tree_zeros_like(params)
        )

    def expanded(v, shape, axis):
        return fnp.reshape(v, [1] * axis + [shape[axis]] + [1] * (len(shape) - axis - 1))

    def new_accum(g, mu_list):
        if g.ndim < 2:
            return c * g * g + b2 * mu_list[0]
        smallest = functools.reduce(
            fnp.minimum, [expanded(v, g.shape, i) for i, v in enumerate(mu_list)]
        )
        return c * g * g + b2 * smallest

    def new_mu(accum):
        if accum.ndim < 2:
            return [accum]
        return [
            fnp.max(accum, axis=tuple(j for j in range(accum.ndim) if j != i))
            for i in range(accum.ndim)
        ]

    def update_fn(updates, state, params=None):
        del params
        _check("scale_by_sm3", updates, state.nu, "state.nu")
        leaves, treedef = tree_util.tree_flatten(updates)
        mu_lists = treedef.flatten_up_to(state.mu)  # one list of accumulators per leaf
        accums = [new_accum(g, m) for g, m in zip(leaves, mu_lists)]
        scaled = [
            g * fnp.where(a > 0, lax.rsqrt(fnp.where(a > 0, a, 1.0) + eps), 0.0)
            for g, a in zip(leaves, accums)
        ]
        nu = tree_utils.tree_update_moment(
            tree_util.tree_unflatten(treedef, scaled), state.nu, b1, 1
        )
        mu = tree_util.tree_unflatten(treedef, [new_mu(a) for a in accums])
        return nu, ScaleBySM3State(mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


def scale_by_polyak(
    f_min: float = 0.0,
    max_learning_rate: float = 1.0,
    eps: float = 0.0,
    variant: str = "sps",
) -> base.GradientTransformationExtraArgs:
    r"""Scale by Polyak's step size, from the loss ``value`` passed to ``update``.

    .. math::
        \gamma_k = \min\left(\frac{f(x_k) - f^\star}{\|g_k\|^2 + \epsilon},
        \gamma_{\max}\right)

    (``variant="sps+"`` clips the numerator at 0); :math:`\gamma_k = 0` where
    :math:`\|g_k\|^2 + \epsilon` is below the machine epsilon of the updates' dtype.

    Args:
        f_min: :math:`f^\star`, a lower bound of the loss.
        max_learning_rate: :math:`\gamma_{\max}`.
        eps: added to the squared norm.
        variant: ``"sps"`` or ``"sps+"``.

    Returns:
        A ``GradientTransformationExtraArgs``; ``update`` needs ``value=`` (the loss).

    References:
        Loizou et al., Stochastic Polyak Step-size for SGD, 2021
        (https://arxiv.org/abs/2002.10542).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_polyak()
        >>> u, _ = tx.update(fnp.asarray([2.0]), tx.init(None), value=2.0)
        >>> u.tolist()
        [1.0]
    """
    if variant not in ("sps", "sps+"):
        raise ValueError(f"scale_by_polyak: variant must be 'sps' or 'sps+', got {variant!r}")

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del params, extra_args
        if value is None:
            raise ValueError(
                "scale_by_polyak.update: pass the loss as update(..., value=loss); Polyak's "
                "step size needs it"
            )
        grad_sq_norm = tree_utils.tree_l2_norm(updates, squared=True)
        gap = fnp.asarray(value - f_min, dtype=grad_sq_norm.dtype)
        if variant == "sps+":
            gap = fnp.maximum(gap, 0.0)
        tiny = fnp.finfo(grad_sq_norm.dtype).eps
        flat = grad_sq_norm + eps <= tiny
        denom = fnp.where(flat, 1.0, grad_sq_norm + eps)  # no 0/0 in the discarded branch
        step = fnp.where(flat, 0.0, fnp.minimum(gap / denom, max_learning_rate))
        return tree_utils.tree_scalar_mul(step, updates), state

    return base.GradientTransformationExtraArgs(_init_empty, update_fn)
