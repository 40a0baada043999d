"""NumPy and JAX interoperability: one documented behaviour for NumPy's functions on
funcgrad arrays, operators with NumPy operands, traced values that never convert to
NumPy silently, ``isinstance(tracer, funcgrad.Array)``, and callable dtype names.

The oracle is NumPy on the host copy of the same data.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import grad, jit, vmap
from funcgrad._src.core import TracerArrayConversionError

# NumPy functions of one array (the reductions used to crash on ``out=``).
NUMPY_UNARY = [
    np.sum, np.mean, np.std, np.var, np.max, np.min, np.prod, np.amax, np.amin, np.ptp,
    np.cumsum, np.cumprod, np.argmax, np.argmin, np.any, np.all, np.sort, np.argsort,
    np.median, np.ravel, np.transpose, np.sin, np.exp, np.abs, np.sqrt, np.square,
    np.isfinite, np.round, np.nonzero, np.count_nonzero, np.diff, np.flip, np.trace,
    np.linalg.norm, np.copy, np.asarray, np.array,
]  # fmt: skip


def _same(got, expected):
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected):
            _same(g, e)
        return
    assert not isinstance(got, funcgrad.Array), "NumPy functions return NumPy results"
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    assert np.asarray(got).dtype == np.asarray(expected).dtype


_MATRICES = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=4),
    elements=st.floats(-10, 10, allow_nan=False),
)  # fmt: skip


@pytest.mark.parametrize("func", NUMPY_UNARY, ids=lambda f: f.__name__)
@settings(max_examples=5)
@given(host=_MATRICES)
def test_numpy_functions_compute_in_numpy(func, host):
    x = fnp.asarray(host)
    with np.errstate(invalid="ignore"):  # sqrt of negatives: NaN in both
        _same(func(x), func(host))


@settings(max_examples=20)
@given(host=_MATRICES, axis=st.sampled_from([None, 0, 1, -1]), keepdims=st.booleans())
def test_numpy_reductions_take_their_keywords(host, axis, keepdims):
    x = fnp.asarray(host)
    for func in (np.sum, np.mean, np.max, np.min, np.prod, np.std, np.any):
        _same(func(x, axis=axis, keepdims=keepdims), func(host, axis=axis, keepdims=keepdims))
    out = np.empty(host.shape[1])  # out= is NumPy's own buffer, so it works too
    np.sum(x, axis=0, out=out)
    np.testing.assert_array_equal(out, host.sum(axis=0))


@settings(max_examples=20)
@given(host=_MATRICES, other=st.floats(-5, 5, allow_nan=False))
def test_numpy_functions_of_several_arrays(host, other):
    x = fnp.asarray(host)
    _same(np.concatenate([x, host]), np.concatenate([host, host]))
    _same(np.stack([x, x]), np.stack([host, host]))
    _same(np.add(x, other), np.add(host, other))
    _same(np.where(x > 0, x, host * 2), np.where(host > 0, host, host * 2))
    _same(np.dot(x, x.T), np.dot(host, host.T))
    assert np.allclose(x, host) and np.array_equal(x, host)
    np.testing.assert_allclose(x, host)


@settings(max_examples=20)
@given(
    host=hnp.arrays(np.float32, st.integers(1, 5), elements=st.floats(-5, 5, width=32)),
    scalar=st.sampled_from([np.float32(2), np.float64(2), np.int64(3), np.int8(-1), 1.5]),
)
def test_operators_with_numpy_operands_give_funcgrad_arrays(host, scalar):
    x = fnp.asarray(host)
    other = np.linspace(-1, 1, host.shape[0]).astype(np.float32)
    for got, expected in [
        (other + x, other + host), (x + other, host + other), (other * x, other * host),
        (scalar * x, scalar * host), (x * scalar, host * scalar), (scalar - x, scalar - host),
        (other < x, other < host), (other == x, other == host), (other @ x, other @ host),
    ]:  # fmt: skip
        assert type(got) is funcgrad.Array
        np.testing.assert_array_equal(np.asarray(got), expected)
        assert got.dtype == np.asarray(expected).dtype
    inplace = other.copy()
    inplace += x  # NumPy owns the buffer: it computes in NumPy
    np.testing.assert_array_equal(inplace, other + host)


def _inside(transform, f, x):
    if transform == "grad":
        return grad(lambda v: fnp.sum(f(v)))(x)
    if transform == "vmap":
        return vmap(f)(fnp.stack([x, x]))
    return jit(f)(x)


TRANSFORMS = ["grad", "vmap", "jit"]


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize(
    "convert",
    [np.asarray, np.array, np.sum, np.sin, lambda t: np.concatenate([t, t])],
    ids=["asarray", "array", "sum", "sin", "concatenate"],
)
def test_traced_values_never_convert_to_numpy(transform, convert):
    def f(v):
        convert(v)
        return v

    with pytest.raises(TracerArrayConversionError, match=r"Traced<float64\[3\]>"):
        _inside(transform, f, fnp.arange(3.0))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_tracers_are_arrays_and_numpy_reads_their_metadata(transform):
    seen = []

    def f(v):
        seen.append(
            (isinstance(v, funcgrad.Array), isinstance(v, fnp.ndarray), np.shape(v), np.ndim(v),
             np.size(v), np.result_type(v, 2.0))
        )  # fmt: skip
        # code that dispatches on the type keeps working under the transformation
        return v * 2.0 if isinstance(v, fnp.ndarray) else v

    out = _inside(transform, f, fnp.arange(3.0))
    assert seen == [(True, True, (3,), 1, 3, np.dtype(np.float64))]
    expected = {"grad": [2.0] * 3, "vmap": [[0.0, 2.0, 4.0]] * 2, "jit": [0.0, 2.0, 4.0]}
    assert out.tolist() == expected[transform]
    assert issubclass(funcgrad.Tracer, funcgrad.Array)
    assert not isinstance(np.ones(2), funcgrad.Array) and not isinstance(1.0, funcgrad.Array)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize(
    "convert",
    [np.asarray, float, lambda t: t.tolist(), lambda t: t.item(), bool, np.sum],
    ids=["asarray", "float", "tolist", "item", "bool", "np.sum"],
)
def test_leaked_tracers_do_not_convert(transform, convert):
    leaked = []

    def f(v):
        leaked.append(v)
        return v

    _inside(transform, lambda v: f(v[:1]) * fnp.ones(1), fnp.arange(3.0))
    with pytest.raises(funcgrad.UnexpectedTracerError, match=r"float64\[1\]"):
        convert(leaked[0])


_DTYPE_NAMES = ["bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                "uint64", "float16", "float32", "float64", "complex64", "complex128"]  # fmt: skip


@pytest.mark.parametrize("name", _DTYPE_NAMES)
@settings(max_examples=5)
@given(value=st.integers(0, 100))
def test_dtype_names_are_callable_scalar_types(name, value):
    scalar_type = getattr(fnp, name)
    assert scalar_type is getattr(np, name)
    assert scalar_type(value) == np.dtype(scalar_type).type(value)
    x = fnp.asarray([value], dtype=scalar_type)
    assert x.dtype.type is scalar_type
    assert x.dtype == scalar_type and fnp.dtype(scalar_type) == x.dtype
    assert fnp.zeros(2, scalar_type).dtype == np.dtype(name)
    assert fnp.ones(2).astype(scalar_type).dtype.type is scalar_type


def test_float32_scalar_type_examples():
    assert fnp.float32(1.5) == np.float32(1.5) and type(fnp.float32(1.5)) is np.float32
    assert fnp.bool is fnp.bool_
    assert (fnp.ones(2, fnp.float32) * fnp.float32(2)).dtype == np.float32


@settings(max_examples=10)
@given(k=st.sampled_from([np.int64(0), np.int32(1), np.uint8(0)]))
def test_argnums_numpy_integers_behave_like_ints(k):
    def f(a, b):
        return a**2 * b

    expected = funcgrad.grad(f, argnums=int(k))(3.0, 2.0)
    assert float(funcgrad.grad(f, argnums=k)(3.0, 2.0)) == float(expected)
    assert float(funcgrad.value_and_grad(f, argnums=k)(3.0, 2.0)[1]) == float(expected)
