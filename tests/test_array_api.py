"""funcgrad.numpy as a Python array API (2024.12) namespace: the entry points a
conformance run or an array-API library looks for first, and the functions where the
standard specifies more than NumPy (``clip`` without bounds, ``expand_dims`` raising
IndexError, ``from_dlpack(copy=)``, ``round``). Where the standard and NumPy differ,
funcgrad follows NumPy (README, "Decisions"), checked here for ``floor_divide``.

Oracles: the standard's text (hard-coded names and kinds) and NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as fnp

# The 2024.12 main namespace (the fft extension is not listed here).
STANDARD_NAMES = """
abs acos acosh add all any arange argmax argmin argsort asarray asin asinh astype atan atan2
atanh bitwise_and bitwise_invert bitwise_left_shift bitwise_or bitwise_right_shift bitwise_xor
bool broadcast_arrays broadcast_shapes broadcast_to can_cast ceil clip complex128 complex64
concat conj copysign cos cosh count_nonzero cumulative_prod cumulative_sum diff divide e empty
empty_like equal exp expand_dims expm1 eye finfo flip float32 float64 floor floor_divide
from_dlpack full full_like greater greater_equal hypot iinfo imag inf int16 int32 int64 int8
isdtype isfinite isin isinf isnan less less_equal linspace log log10 log1p log2 logaddexp
logical_and logical_not logical_or logical_xor matmul matrix_transpose max maximum mean
meshgrid min minimum moveaxis multiply nan negative newaxis nextafter nonzero not_equal ones
ones_like permute_dims pi positive pow prod real reciprocal remainder repeat reshape
result_type roll round searchsorted sign signbit sin sinh sort sqrt square squeeze stack std
subtract sum take take_along_axis tan tanh tensordot tile tril triu trunc uint16 uint32 uint64
uint8 unique_all unique_counts unique_inverse unique_values unstack var vecdot where zeros
zeros_like
""".split()
LINALG_NAMES = """
cholesky cross det diagonal eigh eigvalsh inv matmul matrix_norm matrix_power matrix_rank
matrix_transpose outer pinv qr slogdet solve svd svdvals tensordot trace vecdot vector_norm
""".split()
ARRAY_ATTRIBUTES = """
T mT device dtype ndim shape size to_device __array_namespace__ __dlpack__ __dlpack_device__
__abs__ __add__ __and__ __bool__ __complex__ __eq__ __float__ __floordiv__ __ge__ __getitem__
__gt__ __index__ __int__ __invert__ __le__ __lshift__ __lt__ __matmul__ __mod__ __mul__ __ne__
__neg__ __or__ __pos__ __pow__ __rshift__ __setitem__ __sub__ __truediv__ __xor__
""".split()


def test_namespace_has_every_standard_name():
    assert [n for n in STANDARD_NAMES if not hasattr(fnp, n)] == []
    assert [n for n in LINALG_NAMES if not hasattr(fnp.linalg, n)] == []
    x = fnp.ones((2, 2))
    assert [n for n in ARRAY_ATTRIBUTES if not hasattr(x, n)] == []


def test_version_and_namespace_lookup():
    assert fnp.__array_api_version__ == "2024.12"
    x = fnp.ones(2)
    assert x.__array_namespace__() is fnp
    for version in ("2021.12", "2022.12", "2023.12", "2024.12"):
        assert x.__array_namespace__(api_version=version) is fnp
    with pytest.raises(ValueError, match="api_version '2019.01' is not supported"):
        x.__array_namespace__(api_version="2019.01")
    seen = []
    funcgrad.grad(lambda v: (seen.append(v.__array_namespace__()), fnp.sum(v))[1])(x)
    assert seen == [fnp]  # tracers name the same namespace


def test_namespace_info():
    info = fnp.__array_namespace_info__()
    caps = info.capabilities()
    assert set(caps) >= {"boolean indexing", "data-dependent shapes", "max dimensions"}
    assert caps["boolean indexing"] is True and caps["data-dependent shapes"] is True
    assert info.default_device() in info.devices() and "numpy" in info.devices()
    assert fnp.ones(1).device == info.default_device()
    defaults = info.default_dtypes()
    assert defaults == info.default_dtypes(device="numpy")
    assert defaults == {
        "real floating": np.dtype(np.float64), "complex floating": np.dtype(np.complex128),
        "integral": np.dtype(np.int64), "indexing": np.dtype(np.int64),
    }  # fmt: skip
    # each default is what creation functions really produce
    assert fnp.zeros(1).dtype == defaults["real floating"]
    assert fnp.arange(2).dtype == defaults["integral"]
    assert fnp.asarray(1j).dtype == defaults["complex floating"]
    kinds = {
        "bool": {"bool"},
        "signed integer": {"int8", "int16", "int32", "int64"},
        "unsigned integer": {"uint8", "uint16", "uint32", "uint64"},
        "real floating": {"float16", "float32", "float64"},
        "complex floating": {"complex64", "complex128"},
    }
    kinds["integral"] = kinds["signed integer"] | kinds["unsigned integer"]
    kinds["numeric"] = kinds["integral"] | kinds["real floating"] | kinds["complex floating"]
    for kind, names in kinds.items():
        got = info.dtypes(kind=kind)
        assert set(got) == names, kind
        assert all(np.dtype(name) == dt for name, dt in got.items())
    assert set(info.dtypes()) == kinds["numeric"] | kinds["bool"]
    assert set(info.dtypes(kind=("bool", np.float32))) == {"bool", "float32"}
    with pytest.raises(ValueError, match="unknown kind 'floating'"):
        info.dtypes(kind="floating")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        info.default_dtypes(device="tpu")


_FLOATS = hnp.arrays(
    np.float64, hnp.array_shapes(max_dims=3, max_side=4),
    elements=st.floats(-100, 100, allow_nan=False),
)  # fmt: skip
_BOUND = st.one_of(st.none(), st.floats(-50, 50, allow_nan=False))


@settings(max_examples=30)
@given(host=_FLOATS, lo=_BOUND, hi=_BOUND, names=st.sampled_from(["numpy", "standard"]))
def test_clip_with_either_names_and_optional_bounds(host, lo, hi, names):
    x = fnp.asarray(host)
    if names == "numpy":
        got = fnp.clip(x, lo, hi)
    else:
        got = fnp.clip(x, min=lo, max=hi)
    if lo is None and hi is None:
        assert got is x  # the standard: no bounds, x unchanged
        return
    expected = host
    if lo is not None:
        expected = np.maximum(expected, lo)
    if hi is not None:
        expected = np.minimum(expected, hi)
    np.testing.assert_array_equal(np.asarray(got), expected)
    np.testing.assert_array_equal(np.asarray(got), np.clip(host, lo, hi))


def test_clip_refuses_both_spellings_of_one_bound():
    with pytest.raises(TypeError, match="funcgrad.numpy.clip: give a_max or max, not both"):
        fnp.clip(fnp.ones(2), None, 1.0, max=2.0)


@settings(max_examples=30)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), axis=st.integers(-8, 8))
def test_expand_dims_out_of_range_raises_index_error(shape, axis):
    x = fnp.zeros(shape)
    out_ndim = len(shape) + 1
    if -out_ndim <= axis < out_ndim:
        assert fnp.expand_dims(x, axis).shape == np.expand_dims(np.zeros(shape), axis).shape
    else:
        with pytest.raises(IndexError, match="funcgrad.numpy.expand_dims"):
            fnp.expand_dims(x, axis)


@settings(max_examples=10)
@given(host=_FLOATS, copy=st.sampled_from([None, True]))
def test_from_dlpack_copies(host, copy):
    source = host.copy()
    y = fnp.from_dlpack(source, copy=copy)
    expected = source.copy()
    source[...] = -1.0  # the producer writes after the import: funcgrad's array is a copy
    np.testing.assert_array_equal(np.asarray(y), expected)


def test_from_dlpack_refuses_a_copy_it_cannot_avoid():
    with pytest.raises(BufferError, match="funcgrad.numpy.from_dlpack: copy=False"):
        fnp.from_dlpack(np.arange(3.0), copy=False)
    with pytest.raises(TypeError, match="copy must be True, False or None"):
        fnp.from_dlpack(np.arange(3.0), copy="yes")


@settings(max_examples=30)
@given(
    values=hnp.arrays(
        np.float64, hnp.array_shapes(max_dims=2, max_side=4),
        elements=st.floats(-1000, 1000, allow_nan=False),
    ),
    dtype=st.sampled_from([np.float32, np.float64, np.complex64, np.complex128, np.int64,
                           np.int32]),
    decimals=st.integers(-3, 4),
)  # fmt: skip
def test_round_matches_numpy(values, dtype, decimals):
    host = values.astype(dtype)
    if host.dtype.kind == "c":
        host = host + 1j * values[::-1].astype(dtype)
    got = fnp.round(fnp.asarray(host), decimals)
    expected = np.round(host, decimals)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(got), expected)
    assert fnp.around is fnp.round
    np.testing.assert_array_equal(np.asarray(fnp.asarray(host).round(decimals)), expected)


def test_floor_divide_with_infinities_follows_numpy():
    a = np.array([np.inf, -np.inf, 1.0, -1.0, 5.0, 0.0])
    b = np.array([1.0, 1.0, np.inf, np.inf, 0.0, 0.0])
    with np.errstate(all="ignore"):
        expected = np.floor_divide(a, b)
        got = fnp.floor_divide(fnp.asarray(a), fnp.asarray(b))
    np.testing.assert_array_equal(np.asarray(got), expected)  # NaN where the standard says inf
    assert np.isnan(expected[0])
