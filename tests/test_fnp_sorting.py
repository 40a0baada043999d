"""funcgrad.numpy sorting against NumPy: sort, argsort (stability, descending), top_k,
lexsort, partition, searchsorted."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracle import arrays, assert_same, check_against_numpy, dtypes

import funcgrad
import funcgrad.numpy as fnp


def small_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5):
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def tied_arrays(dtype, shape):
    """Values from a tiny range, so most elements tie (a stability stress test)."""
    if isinstance(dtype, st.SearchStrategy):
        return dtype.flatmap(lambda d: tied_arrays(d, shape))
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        elements = st.booleans()
    elif dtype.kind == "c":
        elements = st.builds(complex, st.integers(-1, 1), st.integers(-1, 1))
    elif dtype.kind == "u":
        elements = st.integers(0, 2)
    else:
        elements = st.integers(-1, 1)
    return hnp.arrays(dtype, shape, elements=elements)


@st.composite
def data_axis(draw, values, min_dims=1):
    x = draw(values(draw(dtypes("biufc")), small_shapes(min_dims=min_dims)))
    axis = draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1))) if x.ndim else None
    return x, axis


def _any_arrays(dtype, shape):
    return arrays(dtype, shape, allow_nan=True, allow_infinity=True)


# --- sort / argsort ------------------------------------------------------------------


@given(data=st.one_of(data_axis(_any_arrays, min_dims=0), data_axis(tied_arrays)))
def test_sort(data):
    x, axis = data
    check_against_numpy(fnp.sort, np.sort, x, axis=axis)


@given(data=st.one_of(data_axis(_any_arrays), data_axis(tied_arrays)))
def test_sort_descending(data):
    x, axis = data

    def reference(v, axis, descending):
        assert descending
        ax = -1 if axis is None else axis
        return np.flip(np.sort(v, axis=axis), ax)

    check_against_numpy(fnp.sort, reference, x, axis=axis, descending=True)


@given(data=st.one_of(data_axis(tied_arrays), data_axis(_any_arrays)))
def test_argsort_is_stable(data):
    x, axis = data
    check_against_numpy(fnp.argsort, lambda v, axis: np.argsort(v, axis=axis, kind="stable"), x,
                        axis=axis)  # fmt: skip


@given(x=tied_arrays(dtypes("iuf"), small_shapes(min_dims=1, max_dims=1, max_side=12)))
def test_argsort_descending_is_stable(x):
    # Hand reference: largest first, equal values in their original order.
    expected = sorted(range(x.size), key=lambda i: (-float(x[i]), i))
    assert fnp.argsort(x, descending=True).tolist() == expected


@given(data=data_axis(_any_arrays))
def test_argsort_descending_nd(data):
    x, axis = data
    ax = -1 if axis is None else axis
    v = x.ravel() if axis is None else x
    n = v.shape[ax]
    expected = n - 1 - np.flip(np.argsort(np.flip(v, ax), axis=ax, kind="stable"), ax)
    assert_same(fnp.argsort(x, axis=axis, descending=True), expected)


# --- top_k ---------------------------------------------------------------------------


@given(x=st.one_of(tied_arrays(dtypes("iuf"), small_shapes(min_dims=1)),
                   arrays(dtypes("iuf"), small_shapes(min_dims=1))),
       data=st.data())  # fmt: skip
def test_top_k(x, data):
    k = data.draw(st.integers(0, x.shape[-1]))
    order = np.argsort(-x.astype(np.float64), axis=-1, kind="stable")[..., :k]
    values, indices = fnp.top_k(x, k)
    assert_same(indices, order)
    assert_same(values, np.take_along_axis(x, order, axis=-1))
    shaped = funcgrad.eval_shape(lambda v: fnp.top_k(v, k), x)
    assert [(s.shape, s.dtype) for s in shaped] == [
        (values.shape, values.dtype),
        (indices.shape, indices.dtype),
    ]


def test_top_k_nan_counts_as_largest():
    values, indices = fnp.top_k(np.array([1.0, np.nan, 3.0]), 2)
    assert indices.tolist() == [1, 2]
    assert np.isnan(values[0].item()) and values[1].item() == 3.0


# --- lexsort -------------------------------------------------------------------------


@given(data=st.data(), shape=small_shapes(min_dims=1, max_dims=2), nkeys=st.integers(1, 3))
def test_lexsort(data, shape, nkeys):
    keys = tuple(data.draw(tied_arrays(dtypes("biuf"), st.just(shape))) for _ in range(nkeys))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    check_against_numpy(fnp.lexsort, np.lexsort, keys, axis=axis)


@given(keys=tied_arrays(dtypes("if"), small_shapes(min_dims=2, max_dims=2, min_side=1)))
def test_lexsort_array_of_keys(keys):
    check_against_numpy(fnp.lexsort, np.lexsort, keys)


# --- partition -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["partition", "argpartition"])
@given(x=arrays(dtypes("iuf"), small_shapes(min_dims=1, min_side=1)), data=st.data())
def test_partition_contract(name, x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[axis]
    kth = data.draw(st.integers(-n, n - 1))
    out = np.asarray(getattr(fnp, name)(x, kth, axis=axis))
    if name == "argpartition":
        out = np.take_along_axis(x, out, axis=axis)
    expected = np.partition(x, kth, axis=axis)
    moved, exp = np.moveaxis(out, axis, -1), np.moveaxis(expected, axis, -1)
    k = kth % n
    np.testing.assert_array_equal(moved[..., k], exp[..., k])
    assert (moved[..., :k] <= moved[..., k : k + 1]).all()
    assert (moved[..., k + 1 :] >= moved[..., k : k + 1]).all()


# --- searchsorted --------------------------------------------------------------------


@given(a=arrays(dtypes("iuf"), small_shapes(min_dims=1, max_dims=1, max_side=8)),
       v=arrays(dtypes("iuf"), small_shapes(max_dims=2)),
       side=st.sampled_from(["left", "right"]))  # fmt: skip
def test_searchsorted(a, v, side):
    check_against_numpy(fnp.searchsorted, np.searchsorted, np.sort(a), v, side=side)
    sorter = np.argsort(a, kind="stable")
    check_against_numpy(fnp.searchsorted, np.searchsorted, a, v, side=side, sorter=sorter)


@given(a=arrays(dtypes("f"), small_shapes(min_dims=1, max_dims=1), allow_nan=True),
       v=st.one_of(st.floats(-200, 200), st.just(float("nan"))))  # fmt: skip
def test_searchsorted_scalar_and_nan(a, v):
    check_against_numpy(fnp.searchsorted, np.searchsorted, np.sort(a), v)


# --- errors --------------------------------------------------------------------------


def test_errors():
    x = fnp.ones((2, 3))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.sort: axis=2 is out of bounds"):
        fnp.sort(x, axis=2)
    with pytest.raises(ValueError, match=r"funcgrad.numpy.argsort: order="):
        fnp.argsort(x, order="f")
    with pytest.raises(ValueError, match=r"funcgrad.numpy.top_k: k=4 is out of range"):
        fnp.top_k(x, 4)
    with pytest.raises(ValueError, match=r"funcgrad.numpy.top_k: operand must have at least one"):
        fnp.top_k(fnp.asarray(1.0), 1)
    with pytest.raises(ValueError, match=r"funcgrad.numpy.searchsorted: a must be 1-D"):
        fnp.searchsorted(x, 1.0)
    with pytest.raises(ValueError, match=r"funcgrad.numpy.searchsorted: side must be"):
        fnp.searchsorted(fnp.ones(3), 1.0, side="middle")
    with pytest.raises(ValueError, match=r"funcgrad.numpy.lexsort: all keys need one shape"):
        fnp.lexsort((fnp.ones(2), fnp.ones(3)))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.partition: kth=3 is out of bounds"):
        fnp.partition(fnp.ones(3), 3)


def test_methods_forward_here():
    x = fnp.asarray([3, 1, 2])
    assert x.sort().tolist() == [1, 2, 3]
    assert x.argsort().tolist() == [1, 2, 0]
    assert fnp.asarray([1, 2, 3]).searchsorted(2).item() == 1


def test_searchsorted_types_python_scalars_strongly():
    # NumPy compares a Python scalar as int64/float64, not rounded to a's dtype.
    assert fnp.searchsorted(np.array([0.0], np.float16), 1e-30).item() == 1
    assert fnp.searchsorted(np.array([16777216.0], np.float32), 16777217).item() == 1
    assert fnp.searchsorted(np.array([1, 2], np.int8), 1000).item() == 2


def test_lexsort_keeps_each_keys_precision():
    keys = (np.array([2**53 + 1, 2**53]), np.array([0.5, 0.5]))
    assert fnp.lexsort(keys).tolist() == np.lexsort(keys).tolist() == [1, 0]
