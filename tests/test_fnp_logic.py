"""isclose/allclose/array_equal and the dtype predicates against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp
from oracle import ALL_DTYPES, arrays, check_against_numpy, dtypes, shapes

import funcgrad.numpy as fnp


@given(data=st.data())
def test_isclose_allclose_against_numpy(data):
    s1, s2 = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3)).input_shapes
    a = data.draw(arrays(dtypes("iuf"), s1, allow_nan=True, allow_infinity=True))
    b = data.draw(arrays(dtypes("iuf"), s2, allow_nan=True, allow_infinity=True))
    rtol = data.draw(st.sampled_from([1e-5, 0.1, 0.0]))
    equal_nan = data.draw(st.booleans())
    check_against_numpy(lambda x, y: fnp.isclose(x, y, rtol=rtol, equal_nan=equal_nan),
                        lambda x, y: np.isclose(x, y, rtol=rtol, equal_nan=equal_nan), a, b)
    check_against_numpy(lambda x, y: fnp.allclose(x, y, rtol=rtol, equal_nan=equal_nan),
                        lambda x, y: np.bool_(np.allclose(x, y, rtol=rtol, equal_nan=equal_nan)), a, b)  # fmt: skip


@given(data=st.data())
def test_array_equal_and_equiv(data):
    a = data.draw(arrays(dtypes("biuf"), shapes(max_dims=2, max_side=3), allow_nan=True))
    b = a.copy() if data.draw(st.booleans()) else data.draw(arrays(a.dtype, shapes(max_dims=2, max_side=3)))
    for equal_nan in (False, True):
        assert bool(fnp.array_equal(a, b, equal_nan=equal_nan)) == np.array_equal(a, b, equal_nan=equal_nan)
    assert bool(fnp.array_equiv(a, b)) == np.array_equiv(a, b)


@given(arrays(dtypes("iufc"), shapes(max_dims=2)))
def test_isreal_iscomplex(x):
    check_against_numpy(fnp.isreal, np.isreal, x)
    check_against_numpy(fnp.iscomplex, np.iscomplex, x)
    assert fnp.iscomplexobj(fnp.asarray(x)) == np.iscomplexobj(x)
    assert fnp.isrealobj(fnp.asarray(x)) == np.isrealobj(x)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_dtype_predicates(dtype):
    for kind in ["bool", "signed integer", "unsigned integer", "integral", "real floating",
                 "complex floating", "numeric"]:  # fmt: skip
        expected = {"bool": "b", "signed integer": "i", "unsigned integer": "u", "integral": "iu",
                    "real floating": "f", "complex floating": "c", "numeric": "iufc"}[kind]  # fmt: skip
        assert fnp.isdtype(dtype, kind) == (dtype.kind in expected)
    assert fnp.isdtype(dtype, dtype)
    for other in ALL_DTYPES:
        assert fnp.can_cast(dtype, other) == np.can_cast(dtype, other)
    x = fnp.ones(2, dtype=dtype)
    assert fnp.can_cast(x, fnp.complex128) == np.can_cast(dtype, np.complex128)
    assert fnp.astype(x, fnp.complex128).dtype == np.complex128


def test_shape_helpers_and_errors():
    x = fnp.zeros((2, 3))
    assert (fnp.ndim(x), fnp.shape(x), fnp.size(x), fnp.size(x, 1)) == (2, (2, 3), 6, 3)
    assert fnp.ndim([[1, 2]]) == 2 and fnp.isscalar(3.0) and not fnp.isscalar(fnp.asarray(3.0))
    with pytest.raises(ValueError, match="isdtype: unknown kind"):
        fnp.isdtype(fnp.float32, "floating")
    with pytest.raises(TypeError, match="can_cast: pass a dtype"):
        fnp.can_cast(1.0, fnp.float32)
