"""Dtype rules: NumPy 2 promotion (NEP 50), defaults of creation, unsupported dtypes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from oracle import ALL_DTYPES

import funcgrad.numpy as fnp

SCALARS = [True, 3, 2.5, 1 + 1j]


@pytest.mark.parametrize("a,b", list(itertools.product(ALL_DTYPES, ALL_DTYPES)))
def test_result_type_of_dtype_pairs_is_numpys(a, b):
    assert fnp.result_type(a, b) == np.result_type(a, b)
    assert fnp.promote_types(a, b) == np.promote_types(a, b)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("scalar", SCALARS, ids=lambda s: type(s).__name__)
def test_python_scalars_are_weak(dtype, scalar):
    expected = np.result_type(dtype, scalar)
    assert fnp.result_type(dtype, scalar) == expected
    x = fnp.ones(2, dtype=dtype)
    with np.errstate(all="ignore"):
        assert (x + scalar).dtype == (np.ones(2, dtype) + scalar).dtype == expected


def test_creation_defaults_are_numpys():
    assert fnp.zeros(2).dtype == np.float64
    assert fnp.ones((1,)).dtype == np.float64
    assert fnp.asarray([1.0, 2.0]).dtype == np.float64
    assert fnp.asarray([1, 2]).dtype == np.int64
    assert fnp.asarray([True]).dtype == np.bool_
    assert fnp.asarray(1j).dtype == np.complex128
    assert fnp.full(2, 7).dtype == np.int64


def test_unsupported_dtypes_are_refused_with_the_function_name():
    with pytest.raises(TypeError, match=r"funcgrad.numpy.asarray: dtype <U1 is not supported"):
        fnp.asarray(["a"])
    with pytest.raises(TypeError, match=r"funcgrad.numpy.asarray: dtype object is not supported"):
        fnp.asarray([1, "a"], dtype=object)
    with pytest.raises(TypeError, match="zeros|full"):
        fnp.zeros(2, dtype="datetime64[s]")


def test_bitwise_on_floats_names_the_function_and_dtypes():
    with pytest.raises(TypeError, match=r"funcgrad.numpy.bitwise_and: .*float32"):
        fnp.bitwise_and(fnp.ones(2, fnp.float32), fnp.ones(2, fnp.float32))
