"""torch.optim.lr_scheduler's schedulers as schedules: functions of the step count.

``step_lr(lr, step_size)(t)`` is the learning rate a PyTorch scheduler gives after
``t`` calls of ``scheduler.step()`` (``last_epoch == t``), starting from the optimizer's
initial ``lr``. The closed forms of PyTorch's ``_get_closed_form_lr`` / documented
formulas are used, so any ``t`` can be asked for directly and the schedules trace under
``jit`` with a traced integer count. Pass one as the ``lr`` of a `transforms.pytorch`
optimizer: it is evaluated at the number of optimizer steps already taken, which is
PyTorch's behaviour when ``scheduler.step()`` is called once per ``optimizer.step()``
(for per-epoch schedules, divide the count: ``lambda c: sched(c // steps_per_epoch)``).

The optimizer's initial learning rate, which PyTorch reads from the optimizer, is the
first argument ``lr`` here. `reduce_lr_on_plateau` depends on a metric, not the count;
it is a transformation (`transforms.pytorch.plateau`).

Examples:
    >>> sched = step_lr(0.05, step_size=30, gamma=0.1)
    >>> [round(float(sched(t)), 6) for t in (0, 29, 30, 60)]
    [0.05, 0.05, 0.005, 0.0005]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import funcgrad.numpy as fnp

__all__ = [
    "constant_lr",
    "cosine_annealing_lr",
    "cosine_annealing_warm_restarts",
    "cyclic_lr",
    "exponential_lr",
    "lambda_lr",
    "linear_lr",
    "multi_step_lr",
    "one_cycle_lr",
    "polynomial_lr",
    "sequential_lr",
    "step_lr",
]

Schedule = Callable[[Any], Any]


def _t(count: Any) -> Any:
    return fnp.asarray(count, dtype=fnp.float64)


def _positive_int(fn: str, arg: str, value: Any) -> None:
    if not (isinstance(value, int) and value > 0):
        raise ValueError(f"pytorch.{fn}: {arg} must be a positive int, got {value!r}")


def step_lr(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    r"""``StepLR``: :math:`\eta_t = \eta_0\, \gamma^{\lfloor t / s \rfloor}`.

    Args:
        lr: the initial learning rate :math:`\eta_0`.
        step_size: :math:`s`, the period of the decay.
        gamma: :math:`\gamma`, the factor per period.

    Returns:
        A function of the step count.

    Examples:
        >>> [round(float(step_lr(1.0, 2, 0.5)(t)), 4) for t in range(5)]
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    _positive_int("step_lr", "step_size", step_size)
    return lambda count: lr * gamma ** fnp.floor(_t(count) / step_size)


def multi_step_lr(lr: float, milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    r"""``MultiStepLR``: :math:`\eta_t = \eta_0\, \gamma^{\#\{m \in M : m \le t\}}`.

    A milestone listed twice counts twice (PyTorch keeps them in a Counter).

    Args:
        lr: the initial learning rate.
        milestones: the steps at which to multiply by ``gamma``.
        gamma: the factor per milestone.

    Returns:
        A function of the step count.

    Examples:
        >>> sched = multi_step_lr(1.0, [2, 4], 0.1)
        >>> [round(float(sched(t)), 4) for t in range(6)]
        [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]
    """
    milestones = sorted(milestones)

    def schedule(count):
        t = _t(count)
        passed = sum((fnp.asarray(t >= m, dtype=fnp.float64) for m in milestones), 0.0)
        return lr * gamma**passed

    return schedule


def constant_lr(lr: float, factor: float = 1.0 / 3, total_iters: int = 5) -> Schedule:
    r"""``ConstantLR``: :math:`\eta_0 \cdot \text{factor}` for :math:`t < T`, then :math:`\eta_0`.

    Args:
        lr: the initial learning rate.
        factor: the multiplier until ``total_iters``, in [0, 1].
        total_iters: :math:`T`.

    Returns:
        A function of the step count.

    Examples:
        >>> [round(float(constant_lr(0.3, 0.5, 2)(t)), 4) for t in range(4)]
        [0.15, 0.15, 0.3, 0.3]
    """
    if not 0 <= factor <= 1:
        raise ValueError(f"pytorch.constant_lr: factor must be in [0, 1], got {factor}")
    return lambda count: fnp.where(_t(count) < total_iters, lr * factor, lr * 1.0)


def linear_lr(
    lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5
) -> Schedule:
    r"""``LinearLR``: the multiplier moves linearly from ``start_factor`` to ``end_factor``.

    :math:`\eta_t = \eta_0 \bigl(s + (e - s)\min(t, T)/T\bigr)`.

    Args:
        lr: the initial learning rate.
        start_factor: :math:`s`, in (0, 1].
        end_factor: :math:`e`, in [0, 1].
        total_iters: :math:`T`.

    Returns:
        A function of the step count.

    Examples:
        >>> [round(float(linear_lr(1.0, 0.5, 1.0, 2)(t)), 4) for t in range(4)]
        [0.5, 0.75, 1.0, 1.0]
    """
    if not 0 < start_factor <= 1:
        raise ValueError(f"pytorch.linear_lr: start_factor must be in (0, 1], got {start_factor}")
    if not 0 <= end_factor <= 1:
        raise ValueError(f"pytorch.linear_lr: end_factor must be in [0, 1], got {end_factor}")

    def schedule(count):
        frac = fnp.minimum(_t(count), total_iters) / total_iters
        return lr * (start_factor + (end_factor - start_factor) * frac)

    return schedule


def exponential_lr(lr: float, gamma: float) -> Schedule:
    r"""``ExponentialLR``: :math:`\eta_t = \eta_0 \gamma^t`.

    Args:
        lr: the initial learning rate.
        gamma: the factor per step.

    Returns:
        A function of the step count.

    Examples:
        >>> [round(float(exponential_lr(1.0, 0.5)(t)), 4) for t in range(3)]
        [1.0, 0.5, 0.25]
    """
    return lambda count: lr * gamma ** _t(count)


def polynomial_lr(lr: float, total_iters: int = 5, power: float = 1.0) -> Schedule:
    r"""``PolynomialLR``: :math:`\eta_t = \eta_0 (1 - \min(t, T)/T)^{p}`.

    Args:
        lr: the initial learning rate.
        total_iters: :math:`T`, after which the rate is 0.
        power: :math:`p`.

    Returns:
        A function of the step count.

    Examples:
        >>> [round(float(polynomial_lr(1.0, 4, 2.0)(t)), 4) for t in range(6)]
        [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """
    _positive_int("polynomial_lr", "total_iters", total_iters)
    return lambda count: lr * (1 - fnp.minimum(_t(count), total_iters) / total_iters) ** power


def cosine_annealing_lr(lr: float, T_max: int, eta_min: float = 0.0) -> Schedule:
    r"""``CosineAnnealingLR`` (closed form, periodic beyond ``T_max`` as in PyTorch's).

    .. math:: \eta_t = \eta_{min} + \tfrac12(\eta_0 - \eta_{min})(1 + \cos(\pi t / T_{max}))

    Args:
        lr: the initial (maximum) learning rate :math:`\eta_0`.
        T_max: the half period.
        eta_min: the minimum.

    Returns:
        A function of the step count.

    Examples:
        >>> [round(float(cosine_annealing_lr(1.0, 4)(t)), 4) for t in (0, 2, 4, 6, 8)]
        [1.0, 0.5, 0.0, 0.5, 1.0]
    """
    _positive_int("cosine_annealing_lr", "T_max", T_max)
    return lambda count: eta_min + (lr - eta_min) * (1 + fnp.cos(math.pi * _t(count) / T_max)) / 2


def cosine_annealing_warm_restarts(
    lr: float,
    T_0: int,
    T_mult: int = 1,
    eta_min: float = 0.0,
) -> Schedule:
    r"""``CosineAnnealingWarmRestarts`` (SGDR): cosine cycles of growing length.

    Cycle :math:`i` lasts :math:`T_0 T_{mult}^i` steps; within a cycle, at step
    :math:`t_{cur}` of :math:`T_i`:
    :math:`\eta = \eta_{min} + \tfrac12(\eta_0 - \eta_{min})(1 + \cos(\pi t_{cur}/T_i))`.

    Args:
        lr: the initial (maximum) learning rate.
        T_0: the length of the first cycle, a positive int.
        T_mult: the growth factor of the cycle length, an int >= 1.
        eta_min: the minimum.

    Returns:
        A function of the step count.

    Examples:
        >>> sched = cosine_annealing_warm_restarts(1.0, T_0=2, T_mult=2)
        >>> [round(float(sched(t)), 4) for t in range(7)]
        [1.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 1.0]
    """
    _positive_int("cosine_annealing_warm_restarts", "T_0", T_0)
    if not (isinstance(T_mult, int) and T_mult >= 1):
        raise ValueError(
            f"pytorch.cosine_annealing_warm_restarts: T_mult must be an int >= 1, got {T_mult!r}"
        )

    def schedule(count):
        t = _t(count)
        if T_mult == 1:
            t_cur, t_i = fnp.mod(t, T_0), T_0
        else:
            # n = index of the current cycle: T_0 (T_mult^n - 1) / (T_mult - 1) <= t.
            n = fnp.floor(fnp.log(t / T_0 * (T_mult - 1) + 1) / math.log(T_mult))
            start = T_0 * (T_mult**n - 1) / (T_mult - 1)
            t_i = T_0 * T_mult**n
            # Guard the floor against rounding at cycle boundaries.
            n = fnp.where(t < start, n - 1, fnp.where(t >= start + t_i, n + 1, n))
            start = T_0 * (T_mult**n - 1) / (T_mult - 1)
            t_i = T_0 * T_mult**n
            t_cur = t - start
        return eta_min + (lr - eta_min) * (1 + fnp.cos(math.pi * t_cur / t_i)) / 2

    return schedule


def lambda_lr(lr: float, lr_lambda: Callable[[Any], Any]) -> Schedule:
    r"""``LambdaLR``: :math:`\eta_t = \eta_0 \cdot \lambda(t)`.

    ``lr_lambda`` receives the count (possibly a traced array); use ``funcgrad.numpy``
    in it. For per-group lambdas, build one schedule per group and use
    `transforms.partition`.

    Args:
        lr: the initial learning rate.
        lr_lambda: the multiplier as a function of the step count.

    Returns:
        A function of the step count.

    Examples:
        >>> [round(float(lambda_lr(0.1, lambda t: 0.5 ** t)(t)), 4) for t in range(3)]
        [0.1, 0.05, 0.025]
    """
    if not callable(lr_lambda):
        raise TypeError(f"pytorch.lambda_lr: lr_lambda must be callable, got {lr_lambda!r}")
    return lambda count: lr * lr_lambda(count)


def one_cycle_lr(
    max_lr: float,
    total_steps: int | None = None,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> Schedule:
    r"""``OneCycleLR``: warm up from ``max_lr / div_factor`` to ``max_lr``, then anneal.

    The phases end at steps :math:`p T - 1` and :math:`T - 1`
    (:math:`T` = ``total_steps``, :math:`p` = ``pct_start``); with ``three_phase`` the
    second phase returns to the initial value by :math:`2pT - 2` and a third anneals to
    ``initial / final_div_factor``. Within a phase from :math:`a` to :math:`b`:
    ``'cos'``: :math:`b + (a-b)(1+\cos(\pi x))/2`, ``'linear'``: :math:`a + (b-a)x`.
    PyTorch raises past ``total_steps``; here the value is held at the last one.

    Args:
        max_lr: the peak learning rate (PyTorch's required argument).
        total_steps: the cycle's length, or ``epochs * steps_per_epoch``.
        epochs, steps_per_epoch: used when ``total_steps`` is None.
        pct_start: the fraction of the cycle spent increasing.
        anneal_strategy: ``'cos'`` or ``'linear'``.
        div_factor: initial lr = ``max_lr / div_factor``.
        final_div_factor: final lr = initial lr ``/ final_div_factor``.
        three_phase: use PyTorch's three-phase variant.

    Returns:
        A function of the step count.

    Examples:
        >>> sched = one_cycle_lr(1.0, total_steps=10)
        >>> [round(float(sched(t)), 4) for t in (0, 2, 9)]
        [0.04, 1.0, 0.0]
    """
    if total_steps is None:
        if epochs is None or steps_per_epoch is None:
            raise ValueError(
                "pytorch.one_cycle_lr: give total_steps, or both epochs and steps_per_epoch"
            )
        total_steps = epochs * steps_per_epoch
    _positive_int("one_cycle_lr", "total_steps", total_steps)
    if not 0 <= pct_start <= 1:
        raise ValueError(f"pytorch.one_cycle_lr: pct_start must be in [0, 1], got {pct_start}")
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(
            f"pytorch.one_cycle_lr: anneal_strategy must be 'cos' or 'linear', got "
            f"{anneal_strategy!r}"
        )
    initial = max_lr / div_factor
    final = initial / final_div_factor
    if three_phase:
        phases = [
            (float(pct_start * total_steps) - 1, initial, max_lr),
            (float(2 * pct_start * total_steps) - 2, max_lr, initial),
            (total_steps - 1.0, initial, final),
        ]
    else:
        phases = [
            (float(pct_start * total_steps) - 1, initial, max_lr),
            (total_steps - 1.0, max_lr, final),
        ]

    def anneal(start, end, pct):
        if anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (fnp.cos(math.pi * pct) + 1)
        return start + (end - start) * pct

    def schedule(count):
        t = fnp.minimum(_t(count), total_steps - 1.0)
        out = fnp.asarray(final, dtype=fnp.float64)
        start_step = 0.0
        # Walk the phases backwards so the first phase whose end is >= t wins.
        bounds = []
        for end_step, a, b in phases:
            bounds.append((start_step, end_step, a, b))
            start_step = end_step
        for i, (s0, e0, a, b) in reversed(list(enumerate(bounds))):
            pct = (t - s0) / (e0 - s0) if e0 != s0 else fnp.zeros_like(t)
            inside = t <= e0 if i < len(bounds) - 1 else fnp.asarray(True)
            out = fnp.where(inside, anneal(a, b, pct), out)
        return out

    return schedule


def cyclic_lr(
    base_lr: float,
    max_lr: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
    scale_fn: Callable[[Any], Any] | None = None,
    scale_mode: str = "cycle",
) -> Schedule:
    r"""``CyclicLR``: the rate oscillates between ``base_lr`` and ``max_lr``.

    With cycle length :math:`L = s_{up} + s_{down}`, cycle :math:`c = \lfloor 1 + t/L \rfloor`,
    :math:`x = 1 + t/L - c` and :math:`r = s_{up}/L`, the height is :math:`x / r` while
    rising (:math:`x \le r`), else :math:`(x - 1)/(r - 1)`, and

    .. math:: \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, h \cdot \text{scale}

    where the scale is 1 (``'triangular'``), :math:`1/2^{c-1}` (``'triangular2'``),
    :math:`\gamma^t` (``'exp_range'``) or ``scale_fn`` of :math:`c` or :math:`t`
    (``scale_mode``). (PyTorch's momentum cycling is not part of a learning-rate
    schedule.)

    Args:
        base_lr: the lower bound (PyTorch's initial lr).
        max_lr: the upper bound.
        step_size_up: steps rising.
        step_size_down: steps falling (default: ``step_size_up``).
        mode: ``'triangular'``, ``'triangular2'`` or ``'exp_range'``.
        gamma: the factor of ``'exp_range'``.
        scale_fn: a custom scale (overrides ``mode``).
        scale_mode: ``'cycle'`` or ``'iterations'``: what ``scale_fn`` receives.

    Returns:
        A function of the step count.

    Examples:
        >>> sched = cyclic_lr(0.0, 1.0, step_size_up=2, mode="triangular2")
        >>> [round(float(sched(t)), 4) for t in range(9)]
        [0.0, 0.5, 1.0, 0.5, 0.0, 0.25, 0.5, 0.25, 0.0]
    """
    step_size_down = step_size_up if step_size_down is None else step_size_down
    total = float(step_size_up + step_size_down)
    if total <= 0:
        raise ValueError("pytorch.cyclic_lr: step_size_up + step_size_down must be positive")
    ratio = step_size_up / total
    if scale_fn is None:
        if mode == "triangular":
            scale_fn, scale_mode = (lambda x: 1.0), "cycle"
        elif mode == "triangular2":
            scale_fn, scale_mode = (lambda x: 1 / (2.0 ** (x - 1))), "cycle"
        elif mode == "exp_range":
            scale_fn, scale_mode = (lambda x: gamma**x), "iterations"
        else:
            raise ValueError(
                "pytorch.cyclic_lr: mode must be 'triangular', 'triangular2' or 'exp_range', "
                f"got {mode!r}"
            )
    elif scale_mode not in ("cycle", "iterations"):
        raise ValueError(
            f"pytorch.cyclic_lr: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}"
        )

    def schedule(count):
        t = _t(count)
        cycle = fnp.floor(1 + t / total)
        x = 1.0 + t / total - cycle
        height = fnp.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        scale = scale_fn(cycle if scale_mode == "cycle" else t)
        return base_lr + (max_lr - base_lr) * height * scale

    return schedule


def sequential_lr(schedules: Sequence[Schedule], milestones: Sequence[int]) -> Schedule:
    """``SequentialLR``: schedule ``i`` runs from ``milestones[i-1]``, restarted at 0.

    Args:
        schedules: the schedules (each already holds the initial lr).
        milestones: ``len(schedules) - 1`` increasing steps at which to switch.

    Returns:
        A function of the step count.

    Examples:
        >>> sched = sequential_lr([constant_lr(1.0, 0.1, 2), exponential_lr(1.0, 0.5)], [2])
        >>> [round(float(sched(t)), 4) for t in range(5)]
        [0.1, 0.1, 1.0, 0.5, 0.25]
    """
    schedules, milestones = list(schedules), list(milestones)
    if len(milestones) != len(schedules) - 1:
        raise ValueError(
            f"pytorch.sequential_lr: expected len(milestones) == len(schedules) - 1, got "
            f"{len(milestones)} milestones for {len(schedules)} schedules"
        )
    if milestones != sorted(milestones):
        raise ValueError(f"pytorch.sequential_lr: milestones must increase, got {milestones}")

    def schedule(count):
        t = fnp.asarray(count)
        out = fnp.asarray(schedules[0](t), dtype=fnp.float64)
        for m, sched in zip(milestones, schedules[1:]):
            out = fnp.where(t < m, out, sched(t - m))
        return out

    return schedule
