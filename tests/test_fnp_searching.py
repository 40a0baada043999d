"""Searching functions of funcgrad.numpy against NumPy: nonzero, take, select, unique, set
operations and index conversions, with and without ``size=`` (traceable forms)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import arrays, assert_same, check_against_numpy, dtypes, shapes

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.numpy import searching
from funcgrad.test_util import check_grads

ANY = dtypes("biufc")
REAL = dtypes("biuf")


def _axis(data, ndim):
    ax = data.draw(st.integers(0, ndim - 1))
    return ax - ndim if data.draw(st.booleans()) else ax


def _padded(a, size, fill):
    """NumPy's 1-D result truncated or padded to ``size`` with ``fill``."""
    a = np.asarray(a)
    out = np.full((size,) + a.shape[1:], fill, dtype=a.dtype)
    k = min(size, a.shape[0])
    out[:k] = a[:k]
    return out


def test_every_public_name_is_tested():
    tested = {
        "argwhere", "compress", "diag_indices", "diag_indices_from", "extract", "flatnonzero",
        "intersect1d", "isin", "ix_", "nonzero", "ravel_multi_index", "select", "setdiff1d",
        "setxor1d", "take", "take_along_axis", "tril_indices", "tril_indices_from",
        "triu_indices", "triu_indices_from", "union1d", "unique", "unique_all", "unique_counts",
        "unique_inverse", "unique_values", "unravel_index",
    }  # fmt: skip
    assert set(searching.__all__) == tested
    for name in tested:
        assert inspect.unwrap(getattr(fnp, name)) is getattr(searching, name)


# --- nonzero, argwhere, flatnonzero -----------------------------------------------------


@given(x=arrays(ANY, shapes(min_dims=1, max_dims=4), min_value=-1, max_value=1))
def test_nonzero_without_size(x):
    check_against_numpy(fnp.nonzero, np.nonzero, x, check_abstract=False)
    check_against_numpy(lambda a: a.nonzero(), lambda a: a.nonzero(), x, check_abstract=False)
    check_against_numpy(fnp.flatnonzero, np.flatnonzero, x, check_abstract=False)
    check_against_numpy(fnp.argwhere, np.argwhere, x, check_abstract=False)


@given(data=st.data())
def test_nonzero_with_size_pads_with_fill_value(data):
    x = data.draw(arrays(ANY, shapes(min_dims=1, max_dims=3), min_value=-1, max_value=1))
    size = data.draw(st.integers(0, x.size + 3))
    per_dim = data.draw(st.booleans())
    fill = tuple(range(-1, -1 - x.ndim, -1)) if per_dim else data.draw(st.sampled_from([None, -7]))
    fills = fill if per_dim else (0 if fill is None else fill,) * x.ndim
    expected = [_padded(i, size, f) for i, f in zip(np.nonzero(x), fills)]
    check_against_numpy(lambda a: fnp.nonzero(a, size=size, fill_value=fill), lambda a: expected, x)
    flat_fill = fills[0]
    check_against_numpy(
        lambda a: fnp.flatnonzero(a, size=size, fill_value=flat_fill),
        lambda a: _padded(np.flatnonzero(a), size, flat_fill), x,
    )  # fmt: skip
    rows = _padded(np.argwhere(x), size, 0)
    rows[len(np.argwhere(x)) :] = np.asarray(fills)
    check_against_numpy(lambda a: fnp.argwhere(a, size=size, fill_value=fill), lambda a: rows, x)


def test_nonzero_traceable_only_with_size():
    x = fnp.asarray([0, 2, 0, 3])
    out = funcgrad.eval_shape(lambda a: fnp.nonzero(a, size=3), x)
    assert [(o.shape, o.dtype) for o in out] == [((3,), np.int64)]
    with pytest.raises(funcgrad.ConcretizationError, match="funcgrad.numpy.nonzero: .*size="):
        funcgrad.eval_shape(fnp.nonzero, x)
    with pytest.raises(funcgrad.ConcretizationError, match="size="):
        funcgrad.eval_shape(fnp.argwhere, x)
    out = funcgrad.eval_shape(lambda a: fnp.argwhere(a, size=5), fnp.zeros((2, 3)))
    assert out.shape == (5, 2)


def test_nonzero_0d_and_errors():
    with pytest.raises(
        ValueError, match="funcgrad.numpy.nonzero: calling nonzero on 0-d arrays is not allowed"
    ):
        fnp.nonzero(fnp.asarray(1))
    for v in (0, 1):
        assert_same(fnp.argwhere(fnp.asarray(v)), np.argwhere(np.asarray(v)))
        assert_same(fnp.flatnonzero(fnp.asarray(v)), np.flatnonzero(np.asarray(v)))
    with pytest.raises(ValueError, match="nonzero: fill_value must be a scalar or a sequence of 2"):
        fnp.nonzero(fnp.zeros((2, 2)), size=2, fill_value=(1, 2, 3))
    with pytest.raises(ValueError, match="nonzero: size must be non-negative"):
        fnp.nonzero(fnp.zeros(2), size=-1)


def test_where_with_one_argument_is_nonzero():
    x = np.array([[0, 1], [2, 0]])
    for a, e in zip(fnp.where(fnp.asarray(x)), np.where(x), strict=True):
        assert_same(a, e)


# --- take, take_along_axis --------------------------------------------------------------


@given(data=st.data(), mode=st.sampled_from([None, "raise", "wrap", "clip"]))
def test_take(data, mode):
    x = data.draw(arrays(ANY, shapes(min_dims=1, max_dims=3, min_side=1)))
    idx_shape = data.draw(shapes(max_dims=2))
    axis = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    n = x.size if axis is None else x.shape[axis]
    lo, hi = (-n, n - 1) if mode in (None, "raise") else (-3 * n - 2, 3 * n + 2)
    idx = data.draw(arrays(np.int64, idx_shape, min_value=lo, max_value=hi))
    check_against_numpy(fnp.take, np.take, x, idx, axis, mode=mode or "raise")
    if mode in (None, "raise"):
        check_against_numpy(lambda a, i: a.take(i, axis), lambda a, i: a.take(i, axis), x, idx)
    scalar = int(data.draw(st.integers(lo, hi)))
    check_against_numpy(fnp.take, np.take, x, scalar, axis, mode=mode or "raise")


def test_take_errors():
    x = fnp.asarray([1, 2, 3])
    with pytest.raises(IndexError, match="funcgrad.numpy.take: index 3 is out of bounds"):
        fnp.take(x, fnp.asarray([0, 3]))
    with pytest.raises(TypeError, match="take: indices must be integers"):
        fnp.take(x, fnp.asarray([0.0]))
    with pytest.raises(ValueError, match="take: mode must be 'raise', 'wrap' or 'clip'"):
        fnp.take(x, 0, mode="fill")
    with pytest.raises(IndexError, match="take: cannot take 1 elements from the empty axis"):
        fnp.take(fnp.zeros(0), [1], mode="wrap")
    assert_same(fnp.take(fnp.zeros(0), [], mode="clip"), np.take(np.zeros(0), [], mode="clip"))


@given(data=st.data())
def test_take_along_axis_with_argsort_indices(data):
    x = data.draw(arrays(REAL, shapes(min_dims=1, max_dims=3)))
    axis = _axis(data, x.ndim)
    idx = np.argsort(x, axis=axis, kind="stable")
    check_against_numpy(fnp.take_along_axis, np.take_along_axis, x, idx, axis)
    check_against_numpy(fnp.take_along_axis, np.take_along_axis, x, idx, axis=axis)
    flat = np.argsort(x, axis=None, kind="stable")
    check_against_numpy(fnp.take_along_axis, np.take_along_axis, x, flat, None)


@given(data=st.data())
def test_take_along_axis_broadcasts_other_dims(data):
    x = data.draw(arrays(ANY, shapes(min_dims=1, max_dims=3, min_side=1)))
    axis = _axis(data, x.ndim)
    # Each other dim of the indices is 1 or the array's; the indexed dim is free.
    shape = [data.draw(st.sampled_from([1, d])) for d in x.shape]
    shape[axis] = data.draw(st.integers(0, 4))
    idx = data.draw(
        arrays(np.int64, tuple(shape), min_value=-x.shape[axis], max_value=x.shape[axis] - 1)
    )
    check_against_numpy(fnp.take_along_axis, np.take_along_axis, x, idx, axis)


def test_take_along_axis_errors():
    x = fnp.zeros((2, 3))
    with pytest.raises(
        ValueError,
        match=(
            r"take_along_axis: indices \(shape \(3,\)\) and arr \(shape \(2, 3\)\) must have"
            r" the same number of dimensions"
        ),
    ):
        fnp.take_along_axis(x, fnp.asarray([0, 1, 2]), 1)
    with pytest.raises(ValueError, match="take_along_axis: with axis=None, indices must be 1-D"):
        fnp.take_along_axis(x, fnp.zeros((1, 1), fnp.int64), None)
    with pytest.raises(
        ValueError,
        match=(
            r"take_along_axis: operands could not be broadcast together with shapes \(2, 1\)"
            r" \(3, 1\)"
        ),
    ):
        fnp.take_along_axis(x, fnp.zeros((3, 1), fnp.int64), 1)
    with pytest.raises(
        IndexError, match="funcgrad.numpy.take_along_axis: index 5 is out of bounds"
    ):
        fnp.take_along_axis(x, fnp.full((2, 1), 5), 1)


# --- compress, extract, select ----------------------------------------------------------


@given(data=st.data())
def test_compress_and_extract(data):
    x = data.draw(arrays(ANY, shapes(min_dims=1, max_dims=3)))
    axis = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    n = x.size if axis is None else x.shape[axis]
    cond = data.draw(arrays(np.bool_, (data.draw(st.integers(0, n)),)))
    check_against_numpy(fnp.compress, np.compress, cond, x, axis, check_abstract=False)
    mask = data.draw(arrays(dtypes("bi"), x.shape, min_value=0, max_value=2))
    check_against_numpy(fnp.extract, np.extract, mask, x, check_abstract=False)


def test_compress_errors():
    with pytest.raises(ValueError, match=r"compress: condition must be 1-D, got shape \(1, 1\)"):
        fnp.compress(fnp.asarray([[True]]), fnp.zeros(3))
    with pytest.raises(IndexError, match="funcgrad.numpy.compress: index 3 is out of bounds"):
        fnp.compress(fnp.asarray([False, False, False, True]), fnp.zeros(3))
    with pytest.raises(funcgrad.ConcretizationError, match="funcgrad.numpy.compress"):
        funcgrad.eval_shape(lambda c: fnp.compress(c, fnp.zeros(2)), fnp.asarray([True, False]))
    with pytest.raises(funcgrad.ConcretizationError, match="funcgrad.numpy.extract"):
        funcgrad.eval_shape(lambda c: fnp.extract(c, fnp.zeros(2)), fnp.asarray([True, False]))


@given(data=st.data())
def test_select(data):
    shape = data.draw(shapes(max_dims=3))
    k = data.draw(st.integers(1, 3))
    conds = [data.draw(arrays(np.bool_, shape)) for _ in range(k)]
    choices = [data.draw(arrays(REAL, shape)) for _ in range(k)]
    default = data.draw(st.sampled_from([0, 1.5, -3]))
    check_against_numpy(fnp.select, np.select, conds, choices, default)
    # Python scalars are weak, arrays strong, and choices broadcast against conditions.
    scalar_choices = [data.draw(st.integers(-5, 5)) for _ in range(k)]
    default_array = data.draw(arrays(dtypes("if"), shape))
    check_against_numpy(fnp.select, np.select, conds, scalar_choices, default_array)
    check_against_numpy(fnp.select, np.select, conds, [c[None] for c in choices])


def test_select_errors():
    c = fnp.asarray([True, False])
    with pytest.raises(ValueError, match="select: condlist has 1 entries but choicelist has 2"):
        fnp.select([c], [c, c])
    with pytest.raises(ValueError, match="select with an empty condition list is not possible"):
        fnp.select([], [])
    with pytest.raises(
        TypeError, match="select: invalid entry 0 in condlist: should be a boolean array"
    ):
        fnp.select([fnp.asarray([1, 0])], [c])


# --- unique -----------------------------------------------------------------------------


@given(data=st.data())
def test_unique_all_flags(data):
    x = data.draw(arrays(ANY, shapes(max_dims=3), min_value=-3, max_value=3))
    flags = data.draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
    check_against_numpy(fnp.unique, np.unique, x, *flags, check_abstract=False)


@given(data=st.data(), equal_nan=st.booleans())
def test_unique_nans(data, equal_nan):
    x = data.draw(
        arrays(
            dtypes("fc"), shapes(min_dims=1, max_dims=2), min_value=-2, max_value=2, allow_nan=True
        )
    )
    check_against_numpy(
        fnp.unique, np.unique, x, True, True, True, equal_nan=equal_nan, check_abstract=False
    )


@given(data=st.data())
def test_unique_with_size(data):
    x = data.draw(arrays(dtypes("iuf"), shapes(max_dims=2), min_value=-3, max_value=3))
    size = data.draw(st.integers(0, x.size + 2))
    fill = data.draw(st.sampled_from([None, 9]))
    values, index, inverse, counts = np.unique(x, True, True, True)
    k = len(values)
    default = values[0] if k else 0
    expected = (
        _padded(values, size, default if fill is None else fill),
        _padded(index, size, 0),
        np.minimum(inverse, max(size - 1, 0)) if size < k else inverse,
        _padded(counts, size, 0),
    )
    check_against_numpy(
        lambda a: fnp.unique(a, True, True, True, size=size, fill_value=fill), lambda a: expected, x
    )


@given(data=st.data())
def test_unique_axis(data):
    x = data.draw(
        arrays(dtypes("iuf"), shapes(min_dims=1, max_dims=3, min_side=1), min_value=-1, max_value=1)
    )
    axis = _axis(data, x.ndim)
    flags = data.draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
    check_against_numpy(fnp.unique, np.unique, x, *flags, axis=axis, check_abstract=False)
    size = x.shape[axis] + 1
    out = fnp.unique(fnp.asarray(x), axis=axis, size=size, fill_value=5)
    expected = np.unique(x, axis=axis)
    k = expected.shape[axis]
    assert_same(np.take(np.asarray(out), range(k), axis=axis), expected)
    assert (np.take(np.asarray(out), range(k, size), axis=axis) == 5).all()


@given(x=arrays(ANY, shapes(max_dims=3), min_value=-3, max_value=3))
def test_array_api_unique_functions(x):
    assert_same(fnp.unique_values(fnp.asarray(x)), np.sort(np.unique_values(x)))
    values, counts = fnp.unique_counts(fnp.asarray(x))
    expected = np.unique_counts(x)
    order = np.argsort(expected.values, kind="stable")
    assert_same(values, expected.values[order])
    assert_same(counts, expected.counts[order])
    values, inverse = fnp.unique_inverse(fnp.asarray(x))
    assert_same(np.asarray(values)[np.asarray(inverse)], x)  # the inverse rebuilds x
    assert np.asarray(inverse).shape == np.unique_inverse(x).inverse_indices.shape
    res = fnp.unique_all(fnp.asarray(x))
    exp = np.unique_all(x)
    order = np.argsort(exp.values, kind="stable")
    assert_same(res.values, exp.values[order])
    assert_same(res.indices, exp.indices[order])
    assert_same(res.counts, exp.counts[order])
    assert_same(np.asarray(res.values)[np.asarray(res.inverse_indices)], x)


def test_unique_array_api_nans_are_distinct():
    x = np.array([np.nan, 1.0, np.nan])
    assert_same(fnp.unique_values(fnp.asarray(x)), np.array([1.0, np.nan, np.nan]))
    assert fnp.unique_counts(fnp.asarray(x)).counts.tolist() == [1, 1, 1]


def test_unique_traceable_only_with_size():
    x = fnp.asarray([3, 1, 3])
    out = funcgrad.eval_shape(lambda a: fnp.unique(a, True, True, True, size=4), x)
    assert [(o.shape, o.dtype) for o in out] == [((4,), np.int64)] * 2 + [
        ((3,), np.int64),
        ((4,), np.int64),
    ]
    with pytest.raises(
        funcgrad.ConcretizationError,
        match="funcgrad.numpy.unique: the number of unique elements .*size=",
    ):
        funcgrad.eval_shape(fnp.unique, x)
    with pytest.raises(ValueError, match="unique: axis=1 is out of bounds"):
        fnp.unique(x, axis=1)


# --- set operations ---------------------------------------------------------------------

SETS = dict(min_value=-4, max_value=4)


@given(data=st.data())
def test_isin(data):
    e = data.draw(arrays(REAL, shapes(max_dims=3), **SETS))
    t = data.draw(arrays(REAL, shapes(max_dims=2), **SETS))
    invert = data.draw(st.booleans())
    check_against_numpy(fnp.isin, np.isin, e, t, invert=invert)
    check_against_numpy(fnp.isin, np.isin, e, [1, 2.5])


def test_isin_nan_and_complex():
    x = np.array([np.nan, 1.0, 2.0 + 1j])
    assert_same(
        fnp.isin(fnp.asarray(x), fnp.asarray([np.nan, 2.0 + 1j])), np.isin(x, [np.nan, 2.0 + 1j])
    )


@given(data=st.data())
def test_set_operations(data):
    a = data.draw(arrays(REAL, shapes(max_dims=2), **SETS))
    b = data.draw(arrays(REAL, shapes(max_dims=2), **SETS))
    check_against_numpy(fnp.union1d, np.union1d, a, b, check_abstract=False)
    check_against_numpy(fnp.intersect1d, np.intersect1d, a, b, check_abstract=False)
    check_against_numpy(
        fnp.intersect1d, np.intersect1d, a, b, return_indices=True, check_abstract=False
    )
    check_against_numpy(fnp.setdiff1d, np.setdiff1d, a, b, check_abstract=False)
    check_against_numpy(fnp.setxor1d, np.setxor1d, a, b, check_abstract=False)
    ua, ub = np.unique(a), np.unique(b)
    check_against_numpy(fnp.intersect1d, np.intersect1d, ua, ub, True, True, check_abstract=False)
    check_against_numpy(fnp.setxor1d, np.setxor1d, ua, ub, True, check_abstract=False)
    perm = data.draw(st.permutations(range(len(ua))))
    check_against_numpy(fnp.setdiff1d, np.setdiff1d, ua[list(perm)], b, True, check_abstract=False)


@pytest.mark.parametrize("name", ["union1d", "intersect1d", "setdiff1d", "setxor1d"])
@given(data=st.data())
def test_set_operations_with_size(name, data):
    a = data.draw(arrays(dtypes("iu"), shapes(max_dims=1), **SETS))
    b = data.draw(arrays(dtypes("iu"), shapes(max_dims=1), **SETS))
    size = data.draw(st.integers(0, 6))
    expected = getattr(np, name)(a, b)
    default = expected[0] if len(expected) else 0  # the smallest value, or 0 if none
    fn = getattr(fnp, name)
    check_against_numpy(
        lambda x, y: fn(x, y, size=size), lambda x, y: _padded(expected, size, default), a, b
    )
    check_against_numpy(
        lambda x, y: fn(x, y, size=size, fill_value=9),
        lambda x, y: _padded(expected, size, 9),
        a,
        b,
    )


def test_set_operations_need_size_under_tracing():
    a, b = fnp.asarray([1, 2]), fnp.asarray([2, 3])
    with pytest.raises(funcgrad.ConcretizationError, match="funcgrad.numpy.intersect1d: .*size="):
        funcgrad.eval_shape(fnp.intersect1d, a, b)
    out = funcgrad.eval_shape(lambda x, y: fnp.intersect1d(x, y, return_indices=True, size=2), a, b)
    assert [o.shape for o in out] == [(2,)] * 3


# --- index conversions ------------------------------------------------------------------


@given(data=st.data(), order=st.sampled_from(["C", "F"]))
def test_ravel_multi_index_and_unravel_index(data, order):
    dims = data.draw(shapes(min_dims=1, max_dims=3, min_side=1))
    idx_shape = data.draw(shapes(max_dims=2))
    multi = tuple(
        data.draw(arrays(np.int64, idx_shape, min_value=0, max_value=d - 1)) for d in dims
    )
    check_against_numpy(fnp.ravel_multi_index, np.ravel_multi_index, multi, dims, order=order)
    mode = data.draw(st.sampled_from(["wrap", "clip"]))
    wild = tuple(data.draw(arrays(np.int64, idx_shape, min_value=-9, max_value=9)) for _ in dims)
    check_against_numpy(
        fnp.ravel_multi_index, np.ravel_multi_index, wild, dims, mode=mode, order=order
    )
    size = int(np.prod(dims))
    flat = data.draw(arrays(np.int64, idx_shape, min_value=0, max_value=size - 1))
    check_against_numpy(fnp.unravel_index, np.unravel_index, flat, dims, order=order)
    check_against_numpy(
        fnp.unravel_index, np.unravel_index, int(flat.reshape(-1)[0]) if flat.size else 0, dims
    )


def test_index_conversion_errors():
    with pytest.raises(ValueError, match="ravel_multi_index: invalid entry in coordinates array"):
        fnp.ravel_multi_index((fnp.asarray([3]), fnp.asarray([0])), (3, 4))
    with pytest.raises(
        ValueError, match="ravel_multi_index: multi_index has 1 index arrays for 2 dims"
    ):
        fnp.ravel_multi_index((fnp.asarray([1]),), (3, 4))
    with pytest.raises(
        ValueError,
        match=r"unravel_index: an index is out of bounds for an array of size 6 \(shape \(2, 3\)\)",
    ):
        fnp.unravel_index(fnp.asarray([6]), (2, 3))
    with pytest.raises(ValueError, match="unravel_index: an index is out of bounds"):
        fnp.unravel_index(-1, (2, 3))
    with pytest.raises(TypeError, match="unravel_index: indices must be integers"):
        fnp.unravel_index(1.0, (2, 3))
    # Traced: shape static, values unchecked.
    out = funcgrad.eval_shape(lambda i: fnp.unravel_index(i, (2, 3)), fnp.asarray([1, 2]))
    assert [o.shape for o in out] == [(2,), (2,)]


@given(n=st.integers(0, 5), m=st.one_of(st.none(), st.integers(0, 5)), k=st.integers(-6, 6))
def test_triangle_and_diag_indices(n, m, k):
    for name in ("tril_indices", "triu_indices"):
        for a, e in zip(getattr(fnp, name)(n, k, m), getattr(np, name)(n, k, m)):
            assert_same(a, e)
    arr = np.zeros((n, n if m is None else m))
    for name in ("tril_indices_from", "triu_indices_from"):
        check_against_numpy(getattr(fnp, name), getattr(np, name), arr, k)
    for nd in (1, 2, 3):
        for a, e in zip(fnp.diag_indices(n, nd), np.diag_indices(n, nd)):
            assert_same(a, e)
    check_against_numpy(fnp.diag_indices_from, np.diag_indices_from, np.zeros((n, n, n)))


def test_triangle_errors():
    with pytest.raises(
        ValueError, match=r"tril_indices_from: the input must be 2-D, got shape \(3,\)"
    ):
        fnp.tril_indices_from(fnp.zeros(3))
    with pytest.raises(
        ValueError,
        match=r"diag_indices_from: all dimensions of the input must be equal, got shape \(2, 3\)",
    ):
        fnp.diag_indices_from(fnp.zeros((2, 3)))


@given(data=st.data())
def test_ix(data):
    k = data.draw(st.integers(1, 3))
    seqs = [data.draw(st.one_of(
        st.lists(st.integers(0, 4), max_size=4),
        st.lists(st.booleans(), min_size=1, max_size=4),
    )) for _ in range(k)]  # fmt: skip
    expected = np.ix_(*seqs)
    actual = fnp.ix_(*seqs)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert_same(a, e)
    x = np.arange(5**k).reshape((5,) * k)
    assert_same(fnp.asarray(x)[fnp.ix_(*seqs)], x[np.ix_(*seqs)])


def test_ix_errors():
    with pytest.raises(
        ValueError, match=r"ix_: cross index must be 1-D, argument 0 has shape \(1, 1\)"
    ):
        fnp.ix_([[1]])


# --- derivatives ------------------------------------------------------------------------

GRAD_CASES = {
    "take": lambda a: fnp.take(a, fnp.asarray([0, 0, 2]), axis=1),
    "take_wrap": lambda a: fnp.take(a, fnp.asarray([5, -7]), mode="wrap"),
    "take_along_axis": lambda a: fnp.take_along_axis(a, fnp.asarray([[0], [1], [2]]), 1),
    "select": lambda a: fnp.select([a > 0.5, a < 0.2], [a * 3, -a], a),
    "unique": lambda a: fnp.unique(a),
    "unique_size": lambda a: fnp.unique(a, size=15),
    "compress": lambda a: fnp.compress(fnp.asarray([True, False, True]), a, axis=0),
    "extract": lambda a: fnp.extract(a > 0.5, a),
    "union1d": lambda a: fnp.union1d(a, a[0]),
    "setdiff1d": lambda a: fnp.setdiff1d(a, a[0]),
    "nonzero": lambda a: a[fnp.nonzero(a > 0.5)],
    "nonzero_size": lambda a: a[fnp.nonzero(a > 0.5, size=4)],
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients(name):
    # Value-dependent sizes come from the concrete primal inside jvp and grad.
    x = fnp.asarray(np.random.default_rng(0).random((3, 4)))
    check_grads(GRAD_CASES[name], (x,), order=1, modes=("fwd", "rev"))
