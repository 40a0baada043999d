"""config.debug_nans / debug_infs, source lines in traced programs, debug.breakpoint and
debug.callback (issue 18): errors name the primitive, the shapes and the user's line."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src import source_info

THIS = os.path.abspath(__file__)


def line_of(fn, marker: str) -> int:
    """The line number of ``marker`` in the source of ``fn`` (so tests survive edits)."""
    import inspect

    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, text in enumerate(lines) if marker in text)


@pytest.fixture
def nans():
    funcgrad.config.debug_nans = True
    try:
        yield
    finally:
        funcgrad.config.debug_nans = False


def log_sum(x):
    y = fnp.log(x)  # <- nan here
    return fnp.sum(y)


def sqrt_times_zero(x):
    y = fnp.sqrt(x)  # <- forward line of the backward nan
    return fnp.sum(y * 0.0)


@pytest.mark.parametrize("compiled", [False, True])
def test_forward_nan_names_primitive_shapes_file_and_line(nans, compiled):
    f = funcgrad.jit(log_sum) if compiled else log_sum
    with pytest.raises(FloatingPointError) as info, np.errstate(invalid="ignore"):
        f(fnp.asarray([-1.0, 2.0, 3.0]))
    msg = str(info.value)
    assert "'log' produced a NaN" in msg and "float64[3]" in msg
    assert f"{THIS}:{line_of(log_sum, '<- nan here')}" in msg


@pytest.mark.parametrize("compiled", [False, True])
def test_backward_nan_names_the_forward_line(nans, compiled):
    g = funcgrad.grad(sqrt_times_zero)
    g = funcgrad.jit(g) if compiled else g
    with pytest.raises(FloatingPointError) as info, np.errstate(divide="ignore", invalid="ignore"):
        g(fnp.asarray([0.0, 2.0]))
    msg = str(info.value)
    assert "backward pass" in msg and "NaN" in msg
    assert f"{THIS}:{line_of(sqrt_times_zero, '<- forward line')}" in msg


def test_nan_passed_in_is_not_blamed_and_off_means_off(nans):
    x = fnp.asarray([np.nan, 1.0])
    assert np.isnan(np.asarray(fnp.sin(x))[0])  # produced upstream, not by sin
    funcgrad.config.debug_nans = False
    with np.errstate(invalid="ignore"):
        assert np.isnan(np.asarray(log_sum(fnp.asarray([-1.0]))))
        assert np.isnan(np.asarray(funcgrad.jit(log_sum)(fnp.asarray([-1.0]))))


def test_debug_infs_catches_infinities():
    funcgrad.config.debug_infs = True
    try:
        with (
            pytest.raises(FloatingPointError, match="'div' produced a infinity"),
            np.errstate(divide="ignore"),
        ):
            fnp.asarray([1.0]) / fnp.asarray([0.0])
        assert float(fnp.exp(fnp.asarray(1.0))) == pytest.approx(np.e)
    finally:
        funcgrad.config.debug_infs = False


def test_environment_variable_turns_it_on():
    code = (
        "import numpy as np, funcgrad, funcgrad.numpy as fnp\n"
        "assert funcgrad.config.debug_nans\n"
        "np.seterr(all='ignore')\n"
        "try:\n"
        "    fnp.log(fnp.asarray([-1.0]))\n"
        "except FloatingPointError as e:\n"
        "    print('caught', e)\n"
    )
    env = dict(os.environ, FUNCGRAD_DEBUG_NANS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False,
                         timeout=120)  # fmt: skip
    assert "caught debug_nans: 'log' produced a NaN" in out.stdout, out.stderr
    assert "<string>:5" in out.stdout


def test_make_jaxpr_prints_source_lines():
    def f(x):
        y = fnp.sin(x)  # <- sin
        return y * 2  # <- mul

    text = str(funcgrad.make_jaxpr(f, source_info=True)(fnp.ones(2)))
    assert f"sin a  # {THIS}:{line_of(f, '<- sin')}" in text
    assert f"# {THIS}:{line_of(f, '<- mul')}" in text
    plain = str(funcgrad.make_jaxpr(f)(fnp.ones(2)))
    assert "#" not in plain
    assert not source_info.capturing[0]  # capturing ends with the trace


def test_user_frame_skips_library_frames():
    here = source_info.user_frame(1)
    assert here.file == THIS and here.function == "test_user_frame_skips_library_frames"


def test_breakpoint_opens_pdb_with_runtime_values(monkeypatch):
    seen = []

    class FakePdb:
        def set_trace(self):
            frame = sys._getframe(1)
            seen.append({k: np.asarray(v) for k, v in frame.f_locals.items()
                         if k in ("x", "y")})  # fmt: skip

    monkeypatch.setattr(importlib.import_module("pdb"), "Pdb", FakePdb)

    def f(x):
        y = x * 2
        funcgrad.debug.breakpoint()
        return fnp.sum(y)

    jf = funcgrad.jit(f)
    jf(fnp.arange(3.0))
    jf(fnp.ones(3))
    np.testing.assert_array_equal(seen[0]["y"], [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(seen[1]["x"], [1.0, 1.0, 1.0])
    seen.clear()
    funcgrad.vmap(f)(fnp.ones((2, 3)))
    assert seen[0]["y"].shape == (2, 3)
    seen.clear()
    funcgrad.grad(f)(fnp.arange(3.0))
    np.testing.assert_array_equal(seen[0]["y"], [0.0, 2.0, 4.0])


def test_debug_callback_runs_with_runtime_values_everywhere():
    got = []

    def f(x):
        funcgrad.debug.callback(lambda v, scale: got.append(np.asarray(v) * scale), x, scale=10)
        return fnp.sum(x * x)

    f(fnp.ones(2))
    funcgrad.jit(f)(fnp.arange(2.0))
    funcgrad.vmap(f)(fnp.ones((3, 2)))
    funcgrad.grad(f)(fnp.full(2, 2.0))
    funcgrad.jit(funcgrad.grad(f))(fnp.full(2, 3.0))
    assert [g.tolist() for g in got] == [[10.0, 10.0], [0.0, 10.0], [[10.0, 10.0]] * 3,
                                         [20.0, 20.0], [30.0, 30.0]]  # fmt: skip
