"""Elementwise funcgrad.numpy functions against NumPy: values, dtypes, broadcasting, scalars."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st
from hypothesis.extra import numpy as hnp
from oracle import arrays, check_against_numpy, dtypes, shapes

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.numpy import ufuncs

# name -> (dtype kinds it is tested on, value range)
UNARY = {
    "negative": ("iufc", None), "absolute": ("iufc", None), "sign": ("iufc", None),
    "floor": ("iuf", None), "ceil": ("iuf", None), "rint": ("f", None), "trunc": ("iuf", None),
    "fix": ("f", None), "exp": ("iufc", (-10, 10)), "exp2": ("iuf", (-10, 10)),
    "expm1": ("iuf", (-10, 10)), "log": ("uf", (1, 100)), "log2": ("uf", (1, 100)),
    "log10": ("uf", (1, 100)), "log1p": ("uf", (0, 100)), "sqrt": ("ufc", (0, 100)),
    "cbrt": ("iuf", None), "sin": ("biufc", None), "cos": ("iufc", None), "tan": ("f", (-1.5, 1.5)),
    "arcsin": ("f", (-1, 1)), "arccos": ("f", (-1, 1)), "arctan": ("iuf", None),
    "sinh": ("f", (-5, 5)), "cosh": ("f", (-5, 5)), "tanh": ("iufc", (-5, 5)),
    "arcsinh": ("f", None), "arccosh": ("f", (1, 100)), "arctanh": ("f", (-0.99, 0.99)),
    "conjugate": ("iufc", None), "real": ("iufc", None), "imag": ("iufc", None),
    "isfinite": ("biufc", None), "isnan": ("biufc", None), "isinf": ("biufc", None),
    "invert": ("biu", None), "logical_not": ("biufc", None), "signbit": ("iuf", None),
    "square": ("biufc", None), "reciprocal": ("fc", (1, 10)), "deg2rad": ("iuf", None),
    "rad2deg": ("iuf", None), "sinc": ("f", None), "isposinf": ("f", None),
    "isneginf": ("f", None), "positive": ("iufc", None), "angle": ("iufc", None),
}  # fmt: skip

BINARY = {
    "add": ("biufc", None), "subtract": ("iufc", None), "multiply": ("biufc", None),
    "divide": ("iufc", (1, 20)), "true_divide": ("iuf", (1, 20)),
    "floor_divide": ("iuf", (1, 20)), "remainder": ("iuf", (1, 20)), "fmod": ("iuf", (1, 20)),
    "power": ("f", (0.5, 3)), "maximum": ("biuf", None), "minimum": ("biuf", None),
    "fmax": ("iuf", None), "fmin": ("iuf", None), "arctan2": ("iuf", None), "hypot": ("iuf", None),
    "logaddexp": ("f", None), "logaddexp2": ("f", None), "copysign": ("f", None),
    "nextafter": ("f", None), "bitwise_and": ("biu", None), "bitwise_or": ("biu", None),
    "bitwise_xor": ("biu", None), "left_shift": ("iu", (0, 6)), "right_shift": ("iu", (0, 6)),
    "logical_and": ("biuf", None), "logical_or": ("biuf", None), "logical_xor": ("biuf", None),
    "equal": ("biufc", None), "not_equal": ("biufc", None), "less": ("biuf", None),
    "less_equal": ("biuf", None), "greater": ("biuf", None), "greater_equal": ("biuf", None),
    "float_power": ("f", (0.5, 3)), "heaviside": ("f", None),
}  # fmt: skip

# Array-API / short aliases must be the very same functions.
ALIASES = {
    "abs": "absolute", "acos": "arccos", "asin": "arcsin", "atan": "arctan", "acosh": "arccosh",
    "asinh": "arcsinh", "atanh": "arctanh", "atan2": "arctan2", "conj": "conjugate",
    "bitwise_not": "invert", "bitwise_invert": "invert", "bitwise_left_shift": "left_shift",
    "bitwise_right_shift": "right_shift", "mod": "remainder", "pow": "power",
    "radians": "deg2rad", "degrees": "rad2deg",
}  # fmt: skip


def test_every_public_ufunc_is_tested_or_an_alias():
    # round/around are tested against NumPy in tests/test_array_api.py
    covered = set(UNARY) | set(BINARY) | set(ALIASES) | {"where", "clip", "nan_to_num", "divmod",
                                                         "round", "around"}
    missing = sorted(set(ufuncs.__all__) - covered)
    assert not missing, f"untested elementwise functions: {missing}"
    for alias, name in ALIASES.items():
        assert getattr(fnp, alias) is getattr(fnp, name), alias


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_against_numpy(name, data):
    kinds, rng = UNARY[name]
    lo, hi = rng or (None, None)
    dtype = data.draw(dtypes(kinds))
    if dtype.kind in "iu" and lo is not None and lo < 0:
        lo = max(lo, -5)
    x = data.draw(arrays(dtype, shapes(max_dims=3), min_value=lo, max_value=hi))
    np_fn = getattr(np, name)
    with np.errstate(all="ignore"):
        check_against_numpy(getattr(fnp, name), np_fn, x)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_against_numpy_with_broadcasting(name, data):
    kinds, rng = BINARY[name]
    lo, hi = rng or (None, None)
    s1, s2 = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3)).input_shapes
    d1, d2 = data.draw(dtypes(kinds)), data.draw(dtypes(kinds))
    try:
        np.result_type(d1, d2)
        getattr(np, name)(np.ones(1, d1), np.ones(1, d2))
    except TypeError:
        assume(False)  # NumPy itself has no loop (e.g. shifting uint64 by int8)
    x = data.draw(arrays(d1, s1, min_value=lo, max_value=hi))
    y = data.draw(arrays(d2, s2, min_value=lo, max_value=hi))
    with np.errstate(all="ignore"):
        check_against_numpy(getattr(fnp, name), getattr(np, name), x, y)


@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "less", "subtract", "true_divide"])
@given(data=st.data())
def test_binary_with_weak_python_scalars(name, data):
    dtype = data.draw(dtypes("iuf"))
    x = data.draw(arrays(dtype, shapes(max_dims=2), min_value=1, max_value=20))
    scalar = data.draw(st.sampled_from([3, 2.5, True]))
    np_fn, fg_fn = getattr(np, name), getattr(fnp, name)
    with np.errstate(all="ignore"):
        check_against_numpy(lambda a: fg_fn(a, scalar), lambda a: np_fn(a, scalar), x)
        check_against_numpy(lambda a: fg_fn(scalar, a), lambda a: np_fn(scalar, a), x)
    assert fnp.asarray(fg_fn(2, 3)).dtype == np.asarray(np_fn(2, 3)).dtype


@given(data=st.data())
def test_where_clip_nan_to_num_divmod(data):
    s1, s2, s3 = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3)).input_shapes
    cond = data.draw(arrays(np.bool_, s1))
    x = data.draw(arrays(dtypes("iuf"), s2))
    y = data.draw(arrays(dtypes("iuf"), s3))
    check_against_numpy(fnp.where, np.where, cond, x, y)
    check_against_numpy(lambda c, a: fnp.where(c, a, 0.5), lambda c, a: np.where(c, a, 0.5), cond, x)
    info = np.iinfo(x.dtype) if x.dtype.kind in "iu" else None
    lo = data.draw(st.integers(-50 if info is None else max(-50, int(info.min)), 0))
    hi = data.draw(st.integers(-10 if info is None else max(-10, int(info.min)), 50))
    check_against_numpy(lambda a: fnp.clip(a, lo, hi), lambda a: np.clip(a, lo, hi), x)
    check_against_numpy(lambda a: fnp.clip(a, None, hi), lambda a: np.clip(a, None, hi), x)
    check_against_numpy(lambda a: fnp.clip(a, max=hi), lambda a: np.clip(a, max=hi), x)
    z = data.draw(arrays(dtypes("f"), s2, allow_nan=True, allow_infinity=True))
    check_against_numpy(fnp.nan_to_num, np.nan_to_num, z)
    check_against_numpy(lambda a: fnp.nan_to_num(a, nan=-1.0, posinf=9.0),
                        lambda a: np.nan_to_num(a, nan=-1.0, posinf=9.0), z)  # fmt: skip
    with np.errstate(all="ignore"):
        check_against_numpy(fnp.divmod, np.divmod, np.abs(x) + 1, np.abs(y) + 1)


def test_nan_to_num_complex_and_where_single_argument():
    z = np.array([complex(np.nan, np.inf), 1 + 2j])
    check_against_numpy(fnp.nan_to_num, np.nan_to_num, z)
    check_against_numpy(fnp.where, np.where, np.array([0, 3, 0, 5]), check_abstract=False)


def test_elementwise_errors_name_function_and_shapes():
    with pytest.raises(ValueError, match=r"funcgrad.numpy.add: operands could not be broadcast together with shapes \(3,\) \(4,\)"):
        fnp.add(fnp.ones(3), fnp.ones(4))
    with pytest.raises(TypeError, match=r"funcgrad.numpy.left_shift: .*float64"):
        fnp.left_shift(fnp.ones(3), 1)
    with pytest.raises(TypeError, match="clip: give a_min or min, not both"):
        fnp.clip(fnp.ones(2), 0.0, min=0.0)
    with pytest.raises(ValueError, match="where: pass both x and y"):
        fnp.where(fnp.ones(2) > 0, 1.0)
    with pytest.raises(TypeError, match="positive: not defined for bool"):
        fnp.positive(fnp.asarray([True]))


def test_elementwise_functions_trace():
    out = funcgrad.eval_shape(lambda a, b: fnp.hypot(a, b) + fnp.where(a > 0, a, b), fnp.ones((2, 1)), fnp.ones(3))
    assert out.shape == (2, 3) and out.dtype == np.float64
