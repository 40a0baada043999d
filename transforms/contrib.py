"""optax.contrib's `reduce_on_plateau`: scale the updates down when a monitored value stalls."""

from __future__ import annotations

from typing import Any, NamedTuple

import funcgrad.numpy as fnp
from funcgrad import lax, tree_util
from transforms import tree_utils
from transforms.base import GradientTransformationExtraArgs

__all__ = ["ReduceLROnPlateauState", "reduce_on_plateau"]


class ReduceLROnPlateauState(NamedTuple):
    """State of `reduce_on_plateau`.

    Attributes:
        scale: the current multiplier of the updates.
        best_value: the best (lowest) averaged value so far.
        plateau_count: averaged values without improvement since the last improvement.
        cooldown_count: averaged values left in the cooldown.
        count: values accumulated into ``avg_value`` so far.
        avg_value: the running mean of the values of the current accumulation.
    """

    scale: Any
    best_value: Any
    plateau_count: Any
    cooldown_count: Any
    count: Any
    avg_value: Any


def reduce_on_plateau(
    factor: float = 0.1,
    patience: int = 10,
    rtol: float = 1e-4,
    atol: float = 0.0,
    cooldown: int = 0,
    accumulation_size: int = 1,
    min_scale: float = 0.0,
) -> GradientTransformationExtraArgs:
    r"""Multiply the updates by a scale that shrinks when the monitored value plateaus.

    ``update(updates, state, params, value=v)`` takes the monitored value (to be
    minimised). Every ``accumulation_size`` calls, the mean :math:`\bar v` of their
    values is compared with the best so far: it improves when
    :math:`\bar v < (1 - \text{rtol})\,\text{best} - \text{atol}`, and then becomes the
    best with the plateau count reset; otherwise the count grows. Outside a cooldown,
    when the count reaches ``patience`` the scale becomes
    :math:`\max(\text{scale}\cdot\text{factor}, \text{min\_scale})`, the count resets and
    a cooldown of ``cooldown`` comparisons starts, during which the count stays 0.
    The returned updates are ``scale * updates`` (chain it after an optimizer).

    Args:
        factor: the multiplier of a reduction, in (0, 1).
        patience: comparisons without improvement before a reduction.
        rtol: relative tolerance of an improvement, in [0, 1].
        atol: absolute tolerance of an improvement, >= 0 (rtol or atol positive).
        cooldown: comparisons after a reduction during which no plateau is counted.
        accumulation_size: values averaged per comparison.
        min_scale: the lower bound of the scale.

    Returns:
        A ``GradientTransformationExtraArgs`` whose state is `ReduceLROnPlateauState`.

    Raises:
        ValueError: for an argument out of range (named in the message).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = reduce_on_plateau(factor=0.5, patience=2)
        >>> state = tx.init(fnp.zeros(1))
        >>> for v in [1.0, 1.0, 1.0]:
        ...     u, state = tx.update(fnp.ones(1), state, value=v)
        >>> u.tolist(), float(state.scale)
        ([0.5], 0.5)
    """
    if not 0.0 < factor < 1.0:
        raise ValueError(f"reduce_on_plateau: factor must be in (0, 1), got {factor}")
    if rtol < 0.0 or atol < 0.0:
        raise ValueError(f"reduce_on_plateau: rtol and atol must be >= 0, got {rtol=}, {atol=}")
    if rtol == 0.0 and atol == 0.0:
        raise ValueError("reduce_on_plateau: at least one of rtol and atol must be positive")
    if rtol > 1.0:
        raise ValueError(f"reduce_on_plateau: rtol must be <= 1, got {rtol}")
    if not (isinstance(accumulation_size, int) and accumulation_size >= 1):
        raise ValueError(
            f"reduce_on_plateau: accumulation_size must be an int >= 1, got {accumulation_size!r}"
        )
    i32 = fnp.int32

    def init_fn(params):
        floats = [fnp.asarray(x).dtype for x in tree_util.tree_leaves(params)]
        floats = [d for d in floats if d.kind == "f"]
        dtype = min(floats, key=lambda d: d.itemsize) if floats else fnp.float64
        return ReduceLROnPlateauState(
            scale=fnp.ones((), dtype),
            best_value=fnp.asarray(float("inf")),
            plateau_count=fnp.zeros((), i32),
            cooldown_count=fnp.zeros((), i32),
            count=fnp.zeros((), i32),
            avg_value=fnp.zeros(()),
        )

    def compare(state):
        improved = state.avg_value < (1 - rtol) * state.best_value - atol
        best = fnp.where(improved, state.avg_value, state.best_value)
        plateau = fnp.where(
            improved, fnp.zeros((), i32), tree_utils.safe_increment(state.plateau_count)
        )
        in_cooldown = state.cooldown_count > 0
        hit = (plateau == patience) & ~in_cooldown
        scale = fnp.where(
            hit, fnp.maximum(state.scale * factor, fnp.asarray(min_scale, state.scale.dtype)),
            state.scale,
        )  # fmt: skip
        return ReduceLROnPlateauState(
            scale=fnp.asarray(scale, state.scale.dtype),
            best_value=best,
            plateau_count=fnp.where(in_cooldown | hit, fnp.zeros((), i32), plateau),
            cooldown_count=fnp.where(
                in_cooldown,
                state.cooldown_count - fnp.asarray(1, i32),
                fnp.where(hit, fnp.asarray(cooldown, i32), fnp.zeros((), i32)),
            ),
            count=fnp.zeros((), i32),
            avg_value=fnp.zeros(()),
        )

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del params, extra_args
        if value is None:
            raise ValueError(
                "reduce_on_plateau.update: pass the monitored value, e.g. "
                "update(updates, state, params, value=loss)"
            )
        count = tree_utils.safe_increment(state.count)
        avg = (fnp.asarray(state.count, fnp.float64) * state.avg_value
               + fnp.asarray(value, fnp.float64)) / fnp.asarray(count, fnp.float64)  # fmt: skip
        state = state._replace(avg_value=avg, count=count)
        state = lax.cond(count == accumulation_size, compare, lambda s: s, state)
        scaled = tree_util.tree_map(lambda u: u * fnp.asarray(state.scale, u.dtype), updates)
        return scaled, state

    return GradientTransformationExtraArgs(init_fn, update_fn)
