"""Schedules: functions of the step count that anneal a hyperparameter (optax's names).

A schedule maps a step count (a Python int or an integer array, possibly traced inside
`funcgrad.jit` or `funcgrad.vmap`) to a value. Every schedule here keeps optax's name,
arguments, defaults and results, so optax code ports by changing the import.

Decisions where optax is silent or where funcgrad differs:

- Results are 0-d float arrays computed in float64 (funcgrad's default float), or the
  given value unchanged for the constant cases. Consumers that multiply them into
  updates (`scale_by_schedule`, `inject_hyperparams`) cast them to the updates' dtype,
  so a float32 model stays float32.
- Degenerate arguments behave as in optax: `transition_steps <= 0` in
  `polynomial_schedule` / `linear_schedule` / `exponential_decay` gives a constant
  schedule, and a negative `transition_begin` counts as 0. Arguments optax rejects
  (non-positive `decay_steps`, negative scales, non-positive one-cycle lengths) raise
  `ValueError` naming the function and the argument.

Examples:
    >>> from transforms import schedules
    >>> sched = schedules.linear_schedule(1.0, 0.0, transition_steps=4)
    >>> [round(float(sched(t)), 2) for t in range(6)]
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import funcgrad.numpy as fnp

Schedule = Callable[[Any], Any]
"""A function from a step count to a hyperparameter value."""

__all__ = [
    "Schedule",
    "constant_schedule",
    "cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "exponential_decay",
    "join_schedules",
    "linear_onecycle_schedule",
    "linear_schedule",
    "piecewise_constant_schedule",
    "piecewise_interpolate_schedule",
    "polynomial_schedule",
    "sgdr_schedule",
    "warmup_constant_schedule",
    "warmup_cosine_decay_schedule",
    "warmup_exponential_decay_schedule",
]


def constant_schedule(value: Any) -> Schedule:
    """A schedule that returns ``value`` at every step.

    Args:
        value: the value held throughout.

    Returns:
        A function of the step count that returns ``value`` unchanged.

    Examples:
        >>> sched = constant_schedule(5)
        >>> sched(0), sched(100)
        (5, 5)
    """
    return lambda count: value


def polynomial_schedule(
    init_value: Any,
    end_value: Any,
    power: Any,
    transition_steps: int,
    transition_begin: int = 0,
) -> Schedule:
    r"""Polynomial transition from ``init_value`` to ``end_value``.

    With :math:`I` = ``init_value``, :math:`E` = ``end_value``, :math:`P` = ``power``,
    :math:`B` = ``transition_begin`` and :math:`T` = ``transition_steps``:

    .. math::
        v(t) = (I - E)\,\bigl(1 - \min(\max(t - B, 0), T) / T\bigr)^{P} + E

    so :math:`v = I` for :math:`t \le B` and :math:`v = E` for :math:`t \ge B + T`.

    Args:
        init_value: value before and at the start of the transition.
        end_value: value at and after the end of the transition.
        power: the polynomial's power.
        transition_steps: length of the transition. If ``<= 0`` the schedule is constant
            at ``init_value`` (as in optax).
        transition_begin: steps held at ``init_value`` before the transition starts;
            negative values count as 0 (as in optax).

    Returns:
        A function of the step count.

    Examples:
        >>> sched = polynomial_schedule(1.0, 0.01, power=2, transition_steps=100)
        >>> float(sched(0)), round(float(sched(50)), 4), float(sched(100))
        (1.0, 0.2575, 0.01)
    """
    if transition_steps <= 0:
        return lambda count: init_value
    transition_begin = max(transition_begin, 0)

    def schedule(count):
        steps_done = fnp.clip(fnp.asarray(count) - transition_begin, 0, transition_steps)
        frac = 1 - steps_done / transition_steps
        return (fnp.asarray(init_value) - end_value) * frac**power + end_value

    return schedule


def linear_schedule(
    init_value: Any, end_value: Any, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    r"""Linear transition from ``init_value`` to ``end_value``.

    :math:`v(t) = I + (E - I)\,\min(\max(t - B, 0), T) / T`; `polynomial_schedule` with
    ``power=1``.

    Args:
        init_value: value before and at the start of the transition.
        end_value: value at and after the end of the transition.
        transition_steps: length of the transition; ``<= 0`` gives a constant schedule.
        transition_begin: steps held at ``init_value`` before the transition starts.

    Returns:
        A function of the step count.

    Examples:
        >>> sched = linear_schedule(1.0, 0.01, transition_steps=100)
        >>> round(float(sched(50)), 3)
        0.505
    """
    return polynomial_schedule(
        init_value, end_value, 1, transition_steps=transition_steps,
        transition_begin=transition_begin,
    )  # fmt: skip


def piecewise_constant_schedule(
    init_value: Any, boundaries_and_scales: Mapping[int, float] | None = None
) -> Schedule:
    r"""``init_value`` times the product of the scales whose boundary has been reached.

    :math:`v(t) = I \prod_{b_i \le t} s_i` for ``boundaries_and_scales = {b_i: s_i}``.

    Args:
        init_value: value before the first boundary.
        boundaries_and_scales: ``{step: scale}``; each scale multiplies the value from
            that step on. Scales must be non-negative.

    Returns:
        A function of the step count.

    Raises:
        ValueError: if a scale is negative.

    Examples:
        >>> sched = piecewise_constant_schedule(1.0, {100: 0.1, 200: 0.01})
        >>> [round(float(sched(t)), 6) for t in (50, 100, 150, 250)]
        [1.0, 0.1, 0.1, 0.001]
    """
    items = sorted((boundaries_and_scales or {}).items())
    for boundary, scale in items:
        if scale < 0:
            raise ValueError(
                "piecewise_constant_schedule: boundaries_and_scales must hold non-negative "
                f"scales; got scale {scale} at step {boundary}."
            )

    def schedule(count):
        value = fnp.asarray(init_value, dtype=fnp.result_type(init_value, float))
        for boundary, scale in items:
            value = fnp.where(fnp.asarray(count) >= boundary, value * scale, value)
        return value

    return schedule


def _check_positive(fn_name: str, arg_name: str, value: Any) -> None:
    """A number of steps must be > 0 (NaN included): else a ValueError naming the argument."""
    if not value > 0:
        raise ValueError(f"{fn_name}: {arg_name} must be positive; got {arg_name}={value}.")


def _linear_interpolate(start, end, pct):
    return start + (end - start) * pct


def _cosine_interpolate(start, end, pct):
    return end + (start - end) / 2.0 * (fnp.cos(math.pi * pct) + 1)


def piecewise_interpolate_schedule(
    interpolate_type: str,
    init_value: Any,
    boundaries_and_scales: Mapping[int, float] | None = None,
) -> Schedule:
    r"""Interpolates between the accumulated values of `piecewise_constant_schedule`.

    With sorted boundaries :math:`0 = b_0 < b_1 < \dots < b_n` and accumulated values
    :math:`v_0 = I`, :math:`v_i = v_{i-1} s_i`, the value at
    :math:`b_{i-1} \le t < b_i` interpolates from :math:`v_{i-1}` to :math:`v_i` with
    :math:`p = (t - b_{i-1}) / \max(b_i - b_{i-1}, 1)`: linearly
    (:math:`v_{i-1} + (v_i - v_{i-1}) p`) or along a half cosine
    (:math:`v_i + (v_{i-1} - v_i)(1 + \cos \pi p)/2`). For :math:`t \ge b_n` it is
    :math:`v_n`. As in optax, a negative count gives 0.

    Args:
        interpolate_type: ``'linear'`` or ``'cosine'``.
        init_value: value at step 0.
        boundaries_and_scales: ``{step: scale}``; the value reached at ``step`` is the
            previous value times ``scale``. Scales must be non-negative.

    Returns:
        A function of the step count.

    Raises:
        ValueError: for another ``interpolate_type`` or a negative scale.

    Examples:
        >>> sched = piecewise_interpolate_schedule('linear', 1.0, {4: 0.1, 8: 0.01})
        >>> [round(float(sched(t)), 6) for t in range(0, 11, 2)]
        [1.0, 0.55, 0.1, 0.0505, 0.001, 0.001]
    """
    if interpolate_type == "linear":
        interpolate = _linear_interpolate
    elif interpolate_type == "cosine":
        interpolate = _cosine_interpolate
    else:
        raise ValueError(
            "piecewise_interpolate_schedule: interpolate_type must be 'linear' or 'cosine'; "
            f"got {interpolate_type!r}."
        )
    items = sorted((boundaries_and_scales or {}).items())
    for boundary, scale in items:
        if scale < 0:
            raise ValueError(
                "piecewise_interpolate_schedule: boundaries_and_scales must hold non-negative "
                f"scales; got scale {scale} at step {boundary}."
            )
    bounds = [0] + [b for b, _ in items]
    values = [init_value]
    for _, scale in items:
        values.append(values[-1] * scale)

    def schedule(count):
        count = fnp.asarray(count)
        # Exactly one segment (or the tail) is active; the others contribute 0.
        out = fnp.where(count >= bounds[-1], fnp.asarray(values[-1], dtype=float), 0.0)
        for i in range(1, len(bounds)):
            lo, hi = bounds[i - 1], bounds[i]
            pct = (count - lo) / max(hi - lo, 1)
            inside = (count >= lo) & (count < hi)
            out = fnp.where(inside, interpolate(values[i - 1], values[i], pct), out)
        return out

    return schedule


def exponential_decay(
    init_value: Any,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: Any | None = None,
) -> Schedule:
    r"""Continuous or staircase exponential decay.

    .. math::
        v(t) = I \cdot r^{p},\quad p = (t - B) / T \ (\lfloor p \rfloor \text{ if staircase})

    for :math:`t > B`, and :math:`v = I` for :math:`t \le B`. With ``end_value`` the
    result is clipped at it: from below when :math:`r < 1`, from above otherwise.

    Args:
        init_value: the initial value.
        transition_steps: the decay's time scale :math:`T`; ``<= 0`` gives a constant
            schedule (as in optax).
        decay_rate: :math:`r`; ``0`` gives a constant schedule (as in optax).
        transition_begin: steps held at ``init_value``; negative values count as 0.
        staircase: decay at whole multiples of ``transition_steps`` only.
        end_value: bound where the decay stops (lower if ``decay_rate < 1``, else upper).

    Returns:
        A function of the step count.

    Examples:
        >>> sched = exponential_decay(1.0, transition_steps=10, decay_rate=0.5)
        >>> [round(float(sched(t)), 4) for t in (0, 5, 10, 20)]
        [1.0, 0.7071, 0.5, 0.25]
        >>> sched = exponential_decay(1.0, 10, 0.5, staircase=True, end_value=0.3)
        >>> [round(float(sched(t)), 4) for t in (0, 5, 10, 20)]
        [1.0, 1.0, 0.5, 0.3]
    """
    if transition_steps <= 0 or decay_rate == 0:
        return lambda count: init_value
    transition_begin = max(transition_begin, 0)
    clip = None
    if end_value is not None:
        clip = fnp.maximum if decay_rate < 1.0 else fnp.minimum

    def schedule(count):
        steps_done = fnp.asarray(count) - transition_begin
        p = steps_done / transition_steps
        if staircase:
            p = fnp.floor(p)
        decayed = fnp.where(
            steps_done <= 0, fnp.asarray(init_value, dtype=float), init_value * decay_rate**p
        )
        if clip is not None:
            decayed = clip(decayed, end_value)
        return decayed

    return schedule


def cosine_decay_schedule(
    init_value: Any, decay_steps: int, alpha: Any = 0.0, exponent: Any = 1.0
) -> Schedule:
    r"""Cosine decay from ``init_value`` to ``alpha * init_value`` over ``decay_steps``.

    .. math::
        v(t) = I \left[(1 - \alpha)\left(\tfrac12\bigl(1 + \cos(\pi \min(t, T)/T)\bigr)
        \right)^{p} + \alpha\right]

    Args:
        init_value: the initial value :math:`I`.
        decay_steps: :math:`T`, positive.
        alpha: the final value as a fraction of ``init_value``.
        exponent: :math:`p`, the power of the cosine factor.

    Returns:
        A function of the step count.

    Raises:
        ValueError: if ``decay_steps`` is not positive.

    References:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts",
        ICLR 2017.

    Examples:
        >>> sched = cosine_decay_schedule(1.0, decay_steps=10, alpha=0.1)
        >>> [round(float(sched(t)), 4) for t in (0, 5, 10, 20)]
        [1.0, 0.55, 0.1, 0.1]
    """
    _check_positive("cosine_decay_schedule", "decay_steps", decay_steps)

    def schedule(count):
        t = fnp.minimum(fnp.asarray(count), decay_steps)
        cosine = 0.5 * (1 + fnp.cos(math.pi * t / decay_steps))
        return init_value * ((1 - alpha) * cosine**exponent + alpha)

    return schedule


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Runs ``schedules`` one after the other, switching at ``boundaries``.

    Schedule ``i`` (for ``i >= 1``) is active from ``boundaries[i-1]`` on and receives
    the number of steps since that boundary.

    Args:
        schedules: the schedules, in order.
        boundaries: ``len(schedules) - 1`` step counts at which to switch.

    Returns:
        A function of the step count.

    Raises:
        ValueError: if ``len(boundaries) != len(schedules) - 1``.

    Examples:
        >>> sched = join_schedules(
        ...     [constant_schedule(1.0), linear_schedule(1.0, 0.0, 2)], boundaries=[3])
        >>> [float(sched(t)) for t in range(6)]
        [1.0, 1.0, 1.0, 1.0, 0.5, 0.0]
    """
    schedules, boundaries = list(schedules), list(boundaries)
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(
            f"join_schedules: expected len(boundaries) == len(schedules) - 1; got "
            f"{len(boundaries)} boundaries for {len(schedules)} schedules."
        )

    def schedule(count):
        count = fnp.asarray(count)
        out = schedules[0](count)
        for boundary, sched in zip(boundaries, schedules[1:]):
            out = fnp.where(count < boundary, out, sched(count - boundary))
        return out

    return schedule


def warmup_constant_schedule(init_value: Any, peak_value: Any, warmup_steps: int) -> Schedule:
    """Linear warmup from ``init_value`` to ``peak_value``, then constant.

    Args:
        init_value: value at step 0.
        peak_value: value from ``warmup_steps`` on.
        warmup_steps: length of the warmup.

    Returns:
        A function of the step count.

    Examples:
        >>> sched = warmup_constant_schedule(0.0, 1.0, warmup_steps=4)
        >>> [float(sched(t)) for t in (0, 2, 4, 100)]
        [0.0, 0.5, 1.0, 1.0]
    """
    return linear_schedule(init_value, peak_value, transition_steps=warmup_steps)


def warmup_cosine_decay_schedule(
    init_value: Any,
    peak_value: Any,
    warmup_steps: int,
    decay_steps: int,
    end_value: Any = 0.0,
    exponent: Any = 1.0,
) -> Schedule:
    """Linear warmup to ``peak_value``, then cosine decay to ``end_value``.

    The warmup lasts ``warmup_steps``; the cosine decay (`cosine_decay_schedule` with
    ``alpha = end_value / peak_value``) lasts ``decay_steps - warmup_steps``, so
    ``decay_steps`` is the length of the whole schedule, warmup included.

    Args:
        init_value: value at step 0.
        peak_value: value at the end of the warmup.
        warmup_steps: length of the warmup.
        decay_steps: total length, warmup included; must exceed ``warmup_steps``.
        end_value: value at and after ``decay_steps``.
        exponent: power of the cosine factor.

    Returns:
        A function of the step count.

    Raises:
        ValueError: if ``decay_steps <= warmup_steps``.

    Examples:
        >>> sched = warmup_cosine_decay_schedule(0.0, 1.0, 2, 12, end_value=0.1)
        >>> [round(float(sched(t)), 4) for t in (0, 1, 2, 7, 12, 20)]
        [0.0, 0.5, 1.0, 0.55, 0.1, 0.1]
    """
    if not decay_steps > warmup_steps:
        raise ValueError(
            "warmup_cosine_decay_schedule: decay_steps is the total length (warmup "
            f"included) and must exceed warmup_steps; got decay_steps={decay_steps}, "
            f"warmup_steps={warmup_steps}."
        )
    alpha = 0.0 if peak_value == 0.0 else end_value / peak_value
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, transition_steps=warmup_steps),
            cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent),
        ],
        [warmup_steps],
    )


def warmup_exponential_decay_schedule(
    init_value: Any,
    peak_value: Any,
    warmup_steps: int,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: Any | None = None,
) -> Schedule:
    """Linear warmup to ``peak_value``, then `exponential_decay` from it.

    The decay receives the steps since the end of the warmup.

    Args:
        init_value: value at step 0.
        peak_value: value at the end of the warmup.
        warmup_steps: length of the warmup.
        transition_steps: the decay's time scale (see `exponential_decay`).
        decay_rate: the decay rate.
        transition_begin: steps held at ``peak_value`` after the warmup.
        staircase: decay at whole multiples of ``transition_steps`` only.
        end_value: bound where the decay stops.

    Returns:
        A function of the step count.

    Examples:
        >>> sched = warmup_exponential_decay_schedule(0.0, 1.0, 2, 10, 0.5)
        >>> [round(float(sched(t)), 4) for t in (0, 1, 2, 12, 22)]
        [0.0, 0.5, 1.0, 0.5, 0.25]
    """
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, transition_steps=warmup_steps),
            exponential_decay(
                peak_value, transition_steps, decay_rate, transition_begin, staircase, end_value
            ),
        ],
        [warmup_steps],
    )


def linear_onecycle_schedule(
    transition_steps: int,
    peak_value: Any,
    pct_start: float = 0.3,
    pct_final: float = 0.85,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """The one-cycle policy with three linear phases.

    From ``peak_value / div_factor`` up to ``peak_value`` over the first
    ``pct_start`` of ``transition_steps``, back down to ``peak_value / div_factor`` by
    ``pct_final``, then down to ``peak_value / (div_factor * final_div_factor)`` at
    ``transition_steps`` (a `piecewise_interpolate_schedule`, as in optax).

    Args:
        transition_steps: length of the cycle; positive.
        peak_value: the maximum.
        pct_start: fraction of the cycle spent increasing.
        pct_final: fraction of the cycle at which the decrease back to the initial
            value ends.
        div_factor: initial value is ``peak_value / div_factor``.
        final_div_factor: final value is the initial value ``/ final_div_factor``.

    Returns:
        A function of the step count.

    Raises:
        ValueError: if ``transition_steps`` is not positive.

    References:
        Smith & Topin, "Super-Convergence: Very Fast Training of Neural Networks Using
        Large Learning Rates", 2017.

    Examples:
        >>> sched = linear_onecycle_schedule(100, peak_value=1.0)
        >>> [round(float(sched(t)), 4) for t in (0, 30, 85, 100)]
        [0.04, 1.0, 0.04, 0.0]
    """
    _check_positive("linear_onecycle_schedule", "transition_steps", transition_steps)
    return piecewise_interpolate_schedule(
        "linear",
        peak_value / div_factor,
        {
            int(pct_start * transition_steps): div_factor,
            int(pct_final * transition_steps): 1.0 / div_factor,
            transition_steps: 1.0 / final_div_factor,
        },
    )


def cosine_onecycle_schedule(
    transition_steps: int,
    peak_value: Any,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """The one-cycle policy with cosine phases.

    A half cosine from ``peak_value / div_factor`` up to ``peak_value`` over the first
    ``pct_start`` of ``transition_steps``, then a half cosine down to
    ``peak_value / (div_factor * final_div_factor)`` at ``transition_steps``.

    Args:
        transition_steps: length of the cycle; positive.
        peak_value: the maximum.
        pct_start: fraction of the cycle spent increasing.
        div_factor: initial value is ``peak_value / div_factor``.
        final_div_factor: final value is the initial value ``/ final_div_factor``.

    Returns:
        A function of the step count.

    Raises:
        ValueError: if ``transition_steps`` is not positive.

    References:
        Smith & Topin, "Super-Convergence: Very Fast Training of Neural Networks Using
        Large Learning Rates", 2017.

    Examples:
        >>> sched = cosine_onecycle_schedule(100, peak_value=1.0)
        >>> [round(float(sched(t)), 4) for t in (0, 15, 30, 100)]
        [0.04, 0.52, 1.0, 0.0]
    """
    _check_positive("cosine_onecycle_schedule", "transition_steps", transition_steps)
    return piecewise_interpolate_schedule(
        "cosine",
        peak_value / div_factor,
        {
            int(pct_start * transition_steps): div_factor,
            int(transition_steps): 1.0 / (div_factor * final_div_factor),
        },
    )


def sgdr_schedule(cosine_kwargs: Iterable[Mapping[str, Any]]) -> Schedule:
    """SGD with warm restarts: `warmup_cosine_decay_schedule` cycles joined end to end.

    Each cycle lasts its ``decay_steps``; the next one starts from its own step 0.

    Args:
        cosine_kwargs: one dict of `warmup_cosine_decay_schedule` arguments per cycle
            (``init_value``, ``peak_value``, ``warmup_steps``, ``decay_steps``, ...).

    Returns:
        A function of the step count.

    References:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts",
        ICLR 2017.

    Examples:
        >>> cycle = dict(init_value=0.0, peak_value=1.0, warmup_steps=1, decay_steps=3)
        >>> sched = sgdr_schedule([cycle, cycle])
        >>> [round(float(sched(t)), 3) for t in range(7)]
        [0.0, 1.0, 0.5, 0.0, 1.0, 0.5, 0.0]
    """
    schedules, boundaries, step = [], [], 0
    for kwargs in cosine_kwargs:
        schedules.append(warmup_cosine_decay_schedule(**kwargs))
        step += kwargs["decay_steps"]
        boundaries.append(step)
    if not schedules:
        raise ValueError("sgdr_schedule: cosine_kwargs must hold at least one cycle.")
    return join_schedules(schedules, boundaries[:-1])
