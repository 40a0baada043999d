"""transforms.schedules against closed forms written here in plain Python.

Each schedule is evaluated eagerly at many step counts, under jit with a traced int32
count (one trace for all counts), and under vmap over a batch of counts.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from transforms import schedules as sch

COUNTS = list(range(40)) + [57, 99, 100, 101, 150, 1000]


def _check(schedule, reference, counts=COUNTS, rtol=1e-12, atol=1e-12):
    """schedule == reference eagerly, under jit (traced count) and under vmap."""
    expected = np.array([reference(t) for t in counts], dtype=np.float64)
    eager = np.array([float(schedule(t)) for t in counts])
    np.testing.assert_allclose(eager, expected, rtol=rtol, atol=atol)
    traces = []

    def traced(c):
        traces.append(1)
        return fnp.asarray(schedule(c), dtype=fnp.float64)

    jitted = funcgrad.jit(traced)
    got = np.array([float(jitted(fnp.asarray(t, dtype=fnp.int32))) for t in counts])
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
    assert len(traces) == 1, "a schedule must not retrace for a new count value"
    batched = funcgrad.vmap(traced)(fnp.asarray(counts, dtype=fnp.int32))
    assert batched.shape == (len(counts),)
    np.testing.assert_allclose(np.asarray(batched), expected, rtol=rtol, atol=atol)


# --- closed forms --------------------------------------------------------------------


def _poly_ref(init, end, power, steps, begin):
    def ref(t):
        if steps <= 0:
            return init
        b = max(begin, 0)
        if t <= b:
            return init
        if t >= b + steps:
            return end
        return (init - end) * (1 - (t - b) / steps) ** power + end

    return ref


def _exp_ref(init, steps, rate, begin, staircase, end):
    def ref(t):
        if steps <= 0 or rate == 0:
            return init
        b = max(begin, 0)
        if t <= b:
            v = init
        else:
            p = (t - b) / steps
            if staircase:
                p = math.floor(p)
            v = init * rate**p
        if end is not None:
            v = max(v, end) if rate < 1 else min(v, end)
        return v

    return ref


def _cos_ref(init, steps, alpha, exponent):
    def ref(t):
        t = min(t, steps)
        return init * (
            (1 - alpha) * (0.5 * (1 + math.cos(math.pi * t / steps))) ** exponent + alpha
        )

    return ref


# --- tests ---------------------------------------------------------------------------


def test_constant_schedule_returns_value_unchanged():
    sched = sch.constant_schedule(0.25)
    assert [sched(t) for t in (0, 5, 10**6)] == [0.25, 0.25, 0.25]
    _check(sched, lambda t: 0.25)


@settings(max_examples=10)
@given(
    init=st.floats(-2, 2), end=st.floats(-2, 2), power=st.sampled_from([0.5, 1, 2, 3]),
    steps=st.integers(-1, 60), begin=st.integers(-3, 20),
)  # fmt: skip
def test_polynomial_schedule_matches_closed_form(init, end, power, steps, begin):
    _check(sch.polynomial_schedule(init, end, power, steps, begin),
           _poly_ref(init, end, power, steps, begin))  # fmt: skip


def test_polynomial_and_linear_hand_values():
    # optax's documented example: power 2, begin 5, 100 transition steps.
    sched = sch.polynomial_schedule(1.0, 0.01, 2, 100, transition_begin=5)
    got = [round(float(sched(t)), 4) for t in (0, 5, 6, 104, 105, 110)]
    assert got == [1.0, 1.0, 0.9803, 0.0101, 0.01, 0.01]
    _check(sch.linear_schedule(2.0, -1.0, 30, 7), _poly_ref(2.0, -1.0, 1, 30, 7))
    assert float(sch.linear_schedule(1.0, 0.0, 10)(3)) == pytest.approx(0.7)


@settings(max_examples=10)
@given(
    init=st.floats(0.1, 3), steps=st.integers(-1, 30), rate=st.sampled_from([0.0, 0.3, 0.9, 1.5]),
    begin=st.integers(-2, 10), staircase=st.booleans(),
    end=st.sampled_from([None, 0.05, 0.5, 2.0]),
)  # fmt: skip
def test_exponential_decay_matches_closed_form(init, steps, rate, begin, staircase, end):
    sched = sch.exponential_decay(init, steps, rate, begin, staircase, end)
    _check(sched, _exp_ref(init, steps, rate, begin, staircase, end), rtol=1e-10)


@settings(max_examples=10)
@given(
    init=st.floats(0.1, 3), steps=st.integers(1, 120), alpha=st.floats(0, 1),
    exponent=st.sampled_from([0.5, 1.0, 2.0]),
)  # fmt: skip
def test_cosine_decay_matches_closed_form(init, steps, alpha, exponent):
    _check(sch.cosine_decay_schedule(init, steps, alpha, exponent),
           _cos_ref(init, steps, alpha, exponent), rtol=1e-10)  # fmt: skip


def test_piecewise_constant_schedule():
    table = {10: 0.5, 3: 2.0, 25: 0.1}

    def ref(t):
        v = 1.5
        for b, s in table.items():
            if t >= b:
                v *= s
        return v

    _check(sch.piecewise_constant_schedule(1.5, table), ref)
    _check(sch.piecewise_constant_schedule(1.5), lambda t: 1.5)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_piecewise_interpolate_schedule(kind):
    table = {30: 0.1, 5: 4.0, 12: 0.5}
    # accumulated values at the sorted boundaries 0, 5, 12, 30
    knots = [(0, 2.0), (5, 8.0), (12, 4.0), (30, 0.4)]

    def ref(t):
        if t >= 30:
            return 0.4
        for (b0, v0), (b1, v1) in zip(knots, knots[1:]):
            if b0 <= t < b1:
                p = (t - b0) / (b1 - b0)
                if kind == "linear":
                    return v0 + (v1 - v0) * p
                return v1 + (v0 - v1) * (1 + math.cos(math.pi * p)) / 2

    _check(sch.piecewise_interpolate_schedule(kind, 2.0, table), ref)


def test_join_schedules_passes_steps_since_boundary():
    sched = sch.join_schedules(
        [sch.constant_schedule(3.0), lambda c: c * 1.0, lambda c: 100.0 - c], [4, 10]
    )
    _check(sched, lambda t: 3.0 if t < 4 else (t - 4.0 if t < 10 else 100.0 - (t - 10)))


def test_warmup_cosine_decay_schedule():
    init, peak, warm, total, end = 0.1, 2.0, 7, 50, 0.2

    def ref(t):
        if t < warm:
            return init + (peak - init) * t / warm
        s = min(t - warm, total - warm)
        return end + (peak - end) * 0.5 * (1 + math.cos(math.pi * s / (total - warm)))

    _check(sch.warmup_cosine_decay_schedule(init, peak, warm, total, end), ref, rtol=1e-10)


def test_warmup_exponential_decay_schedule():
    def ref(t):
        if t < 5:
            return 0.5 * t / 5
        s = t - 5
        return 0.5 if s <= 3 else max(0.5 * 0.8 ** math.floor((s - 3) / 4), 0.1)

    sched = sch.warmup_exponential_decay_schedule(0.0, 0.5, 5, 4, 0.8, 3, True, 0.1)
    _check(sched, ref, rtol=1e-10)


def test_warmup_constant_schedule():
    _check(sch.warmup_constant_schedule(1.0, 3.0, 8), lambda t: 1.0 + 2.0 * min(t, 8) / 8)


def test_onecycle_schedules():
    steps, peak = 100, 1.0
    lo, final = peak / 25.0, peak / 25.0 / 1e4

    def lin_ref(t):
        knots = [(0, lo), (30, peak), (85, lo), (100, final)]
        if t >= 100:
            return final
        for (b0, v0), (b1, v1) in zip(knots, knots[1:]):
            if b0 <= t < b1:
                return v0 + (v1 - v0) * (t - b0) / (b1 - b0)

    def cos_ref(t):
        if t >= 100:
            return final
        b0, v0, b1, v1 = (0, lo, 30, peak) if t < 30 else (30, peak, 100, final)
        return v1 + (v0 - v1) * (1 + math.cos(math.pi * (t - b0) / (b1 - b0))) / 2

    _check(sch.linear_onecycle_schedule(steps, peak), lin_ref)
    _check(sch.cosine_onecycle_schedule(steps, peak), cos_ref)


def test_sgdr_schedule_restarts():
    cycles = [
        dict(init_value=0.0, peak_value=1.0, warmup_steps=2, decay_steps=10),
        dict(init_value=0.1, peak_value=0.5, warmup_steps=0, decay_steps=20, end_value=0.05),
    ]

    def ref(t):
        if t < 10:
            if t < 2:
                return t / 2
            return 0.5 * (1 + math.cos(math.pi * (t - 2) / 8))
        s = min(t - 10, 20)
        return 0.05 + 0.45 * 0.5 * (1 + math.cos(math.pi * s / 20))

    _check(sch.sgdr_schedule(cycles), ref, rtol=1e-10)


def test_float32_init_value_under_jit_and_counts_of_other_int_dtypes():
    sched = sch.cosine_decay_schedule(1.0, 10)
    for dtype in (fnp.int32, fnp.int64):
        assert float(sched(fnp.asarray(5, dtype=dtype))) == pytest.approx(0.5)


def test_bad_arguments_raise_naming_the_argument():
    with pytest.raises(ValueError, match="cosine_decay_schedule: decay_steps"):
        sch.cosine_decay_schedule(1.0, 0)
    with pytest.raises(ValueError, match="piecewise_constant_schedule: boundaries_and_scales"):
        sch.piecewise_constant_schedule(1.0, {3: -0.5})
    with pytest.raises(ValueError, match="piecewise_interpolate_schedule: interpolate_type"):
        sch.piecewise_interpolate_schedule("cubic", 1.0, {3: 0.5})
    with pytest.raises(ValueError, match="piecewise_interpolate_schedule: boundaries_and_scales"):
        sch.piecewise_interpolate_schedule("linear", 1.0, {3: -0.5})
    with pytest.raises(ValueError, match="linear_onecycle_schedule: transition_steps"):
        sch.linear_onecycle_schedule(0, 1.0)
    with pytest.raises(ValueError, match="cosine_onecycle_schedule: transition_steps"):
        sch.cosine_onecycle_schedule(-3, 1.0)
    with pytest.raises(ValueError, match="warmup_cosine_decay_schedule: decay_steps"):
        sch.warmup_cosine_decay_schedule(0.0, 1.0, 10, 10)
    with pytest.raises(ValueError, match="join_schedules: expected len"):
        sch.join_schedules([sch.constant_schedule(1.0)], [3])
    with pytest.raises(ValueError, match="sgdr_schedule: cosine_kwargs"):
        sch.sgdr_schedule([])
