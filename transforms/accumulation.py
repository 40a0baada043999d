"""Moving averages of the updates: momentum (``trace``) and exponential moving averages."""

from __future__ import annotations

from typing import Any, NamedTuple

import funcgrad.numpy as fnp
from funcgrad import tree_util
from transforms import base, tree_utils
from transforms._checks import check_decay, check_nonnegative

__all__ = ["EmaState", "TraceState", "ema", "trace"]


class TraceState(NamedTuple):
    """The momentum buffer of ``trace``."""

    trace: base.Params


def trace(
    decay: float, nesterov: bool = False, accumulator_dtype: Any = None
) -> base.GradientTransformation:
    r"""Momentum: accumulate the updates in a decaying trace (heavy ball or Nesterov).

    .. math::
        t_k = g_k + \text{decay}\, t_{k-1}, \qquad
        u_k = \begin{cases} g_k + \text{decay}\, t_k & \text{nesterov} \\
        t_k & \text{otherwise} \end{cases}

    with :math:`t_0 = 0` (so the first update is the gradient itself).

    Args:
        decay: the momentum coefficient (>= 0).
        nesterov: use Nesterov's look-ahead form.
        accumulator_dtype: the dtype of the trace (default: the params' dtype).

    Returns:
        A ``GradientTransformation`` with state ``TraceState``.

    References:
        Sutskever et al., On the importance of initialization and momentum in deep
        learning, ICML 2013.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.trace(decay=0.5)
        >>> s = tx.init(fnp.zeros(1))
        >>> u, s = tx.update(fnp.ones(1), s)
        >>> u, s = tx.update(fnp.ones(1), s)
        >>> u.tolist()
        [1.5]
    """
    check_nonnegative("trace", "decay", decay)

    def init_fn(params):
        return TraceState(trace=tree_utils.tree_zeros_like(params, dtype=accumulator_dtype))

    def update_fn(updates, state, params=None):
        del params
        tree_utils.check_same_structure("trace.update", updates, state.trace, "state.trace")
        new_trace = tree_util.tree_map(
            lambda g, t: g + tree_utils.cast_scalar(decay, t) * t, updates, state.trace
        )
        if nesterov:
            updates = tree_util.tree_map(
                lambda g, t: g + tree_utils.cast_scalar(decay, t) * t, updates, new_trace
            )
        else:
            updates = new_trace
        return updates, TraceState(trace=tree_utils.tree_cast(new_trace, accumulator_dtype))

    return base.GradientTransformation(init_fn, update_fn)


class EmaState(NamedTuple):
    """The step count and the moving average of ``ema``."""

    count: Any
    ema: base.Params


def ema(
    decay: float, debias: bool = True, accumulator_dtype: Any = None
) -> base.GradientTransformation:
    r"""Exponential moving average of the updates, optionally debiased.

    .. math::
        e_k = \text{decay}\, e_{k-1} + (1 - \text{decay})\, g_k, \qquad
        u_k = e_k / (1 - \text{decay}^k) \text{ if debias else } e_k

    Args:
        decay: the decay rate, in [0, 1).
        debias: divide by ``1 - decay**k`` to undo the zero initialisation.
        accumulator_dtype: the dtype of the average (default: the params' dtype).

    Returns:
        A ``GradientTransformation`` with state ``EmaState``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.ema(decay=0.5)
        >>> u, s = tx.update(fnp.full(1, 4.0), tx.init(fnp.zeros(1)))
        >>> u.tolist()
        [4.0]
    """
    check_decay("ema", "decay", decay)

    def init_fn(params):
        return EmaState(
            count=fnp.zeros((), dtype=fnp.int32),
            ema=tree_utils.tree_zeros_like(params, dtype=accumulator_dtype),
        )

    def update_fn(updates, state, params=None):
        del params
        tree_utils.check_same_structure("ema.update", updates, state.ema, "state.ema")
        new_ema = tree_utils.tree_update_moment(updates, state.ema, decay, 1)
        count_inc = tree_utils.safe_int32_increment(state.count)
        updates = tree_utils.tree_bias_correction(new_ema, decay, count_inc) if debias else new_ema
        return updates, EmaState(
            count=count_inc, ema=tree_utils.tree_cast(new_ema, accumulator_dtype)
        )

    return base.GradientTransformation(init_fn, update_fn)
