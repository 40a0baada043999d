"""funcgrad.numpy statistics against NumPy: medians and quantiles, histograms, bincount,
digitize, covariance, interpolation, polyval, trapezoid, ediff1d."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracle import arrays, assert_same, check_against_numpy, default_tolerance, dtypes

import funcgrad
import funcgrad.numpy as fnp

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

METHODS = ["linear", "lower", "higher", "nearest", "midpoint"]


def small_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4):
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


@st.composite
def axes(draw, ndim):
    choices = [st.none()]
    if ndim:
        choices.append(st.integers(-ndim, ndim - 1))
        choices.append(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1, max_size=ndim)
                       .map(lambda ax: tuple(a - ndim if a % 2 else a for a in ax)))  # fmt: skip
    return draw(st.one_of(*choices))


@st.composite
def data_axis(draw, kinds="iuf", allow_nan=False, min_side=0):
    shape = draw(small_shapes(min_side=min_side))
    x = draw(arrays(dtypes(kinds), shape, allow_nan=allow_nan))
    return x, draw(axes(len(shape)))


def _reduced_size(x, axis):
    if axis is None:
        return x.size
    ax = axis if isinstance(axis, tuple) else (axis,)
    return int(np.prod([x.shape[a] for a in ax]))


# --- median --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["median", "nanmedian"])
@given(data=data_axis(kinds="biuf", allow_nan=True), keepdims=st.booleans())
def test_median(name, data, keepdims):
    x, axis = data
    if name == "nanmedian":
        assume(x.dtype.kind != "b")
    if x.size == 0 and np.sum(x, axis=axis).size == 0:
        try:
            getattr(np, name)(x, axis=axis, keepdims=keepdims)
        except ValueError:
            # NumPy's median fails to reshape some empty inputs whose result is empty
            # too (shape (0, 0, 0) over axes (0, -2)): the oracle is the result's shape.
            out = getattr(fnp, name)(x, axis=axis, keepdims=keepdims)
            assert out.shape == np.sum(x, axis=axis, keepdims=keepdims).shape
            return
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, keepdims=keepdims)


def test_nanmedian_all_nan_slice():
    x = np.array([[np.nan, np.nan], [2.0, np.nan], [1.0, 4.0]], np.float32)
    check_against_numpy(fnp.nanmedian, np.nanmedian, x, axis=1)


# --- quantiles -----------------------------------------------------------------------


def _q_strategy():
    return st.one_of(
        st.floats(0, 1),  # a Python float: weakly typed
        st.sampled_from([0, 1]),  # a Python int: integer virtual indices
        hnp.arrays(
            st.sampled_from([np.float32, np.float64]),
            small_shapes(max_dims=1, min_side=1),
            elements=st.floats(0, 1, width=32),
        ),
    )


def _check_quantile(fn, np_fn, x, q, method="linear", **kwargs):
    """Compare with NumPy, allowing for two deliberate differences.

    NumPy interpolates integers in their own dtype (int8 overflows at |diff| > 127);
    funcgrad interpolates in float64, i.e. like NumPy on the float64-cast data. And
    NumPy's nanquantile gives an all-NaN 1-D slice a's dtype, which can become the
    dtype of the whole result (rounding the other slices to it); funcgrad's dtype
    cannot depend on values, so it is the dtype NumPy gives NaN-free data.
    """
    interpolates = method == "midpoint" or (method == "linear" and not isinstance(q, int))
    if x.dtype.kind in "iu" and interpolates:
        check_against_numpy(fn, lambda v, q, **kw: np_fn(v.astype(np.float64), q, **kw), x, q,
                            method=method, **kwargs)  # fmt: skip
        return
    dtype = np.asarray(np_fn(np.nan_to_num(x), q, method=method, **kwargs)).dtype
    raw = np.asarray(np_fn(x, q, method=method, **kwargs))
    tol = default_tolerance(raw.dtype) if raw.dtype != dtype else (None, None)
    check_against_numpy(fn, lambda *a, **kw: np.asarray(np_fn(*a, **kw)).astype(dtype), x, q,
                        method=method, rtol=tol[0], atol=tol[1], **kwargs)  # fmt: skip


@pytest.mark.parametrize("name", ["quantile", "nanquantile", "percentile", "nanpercentile"])
@given(data=data_axis(allow_nan=True, min_side=1), q=_q_strategy(), method=st.sampled_from(METHODS),
       keepdims=st.booleans())  # fmt: skip
def test_quantile(name, data, q, method, keepdims):
    x, axis = data
    if name.endswith("percentile"):
        q = q * 100
    _check_quantile(
        getattr(fnp, name), getattr(np, name), x, q, method, axis=axis, keepdims=keepdims
    )


@given(x=hnp.arrays(np.bool_, small_shapes(min_dims=1, min_side=1)),
       method=st.sampled_from(["lower", "higher", "nearest"]), q=st.floats(0, 1))  # fmt: skip
def test_quantile_bool_without_interpolation(x, method, q):
    check_against_numpy(fnp.quantile, np.quantile, x, q, method=method)


@given(x=arrays(dtypes("f"), small_shapes(min_dims=1, min_side=1), allow_nan=True))
def test_quantile_2d_q(x):
    q = np.array([[0.1, 0.5], [0.9, 1.0]])
    check_against_numpy(fnp.quantile, np.quantile, x, q, axis=0)
    _check_quantile(fnp.nanquantile, np.nanquantile, x, q, axis=-1)


def test_quantile_empty():
    x = np.zeros((3, 0), np.float32)
    check_against_numpy(fnp.nanquantile, np.nanquantile, x, 0.5, axis=1)
    check_against_numpy(fnp.median, np.median, x, axis=1)
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.quantile: cannot take quantiles over an empty"
    ):
        fnp.quantile(x, 0.5, axis=1)


def test_quantile_is_traceable_in_q():
    x = np.array([[1.0, 4.0, 2.0], [3.0, 0.0, 5.0]])
    q = np.array([0.25, 0.75])
    out = funcgrad.eval_shape(lambda v, p: fnp.nanquantile(v, p, axis=1, keepdims=True), x, q)
    assert (out.shape, out.dtype) == ((2, 2, 1), np.float64)


# --- histograms ----------------------------------------------------------------------


def _integral_weights(shape):
    return hnp.arrays(st.sampled_from([np.int64, np.float32, np.float64]), st.just(shape),
                      elements=st.integers(0, 5))  # fmt: skip


@given(x=arrays(dtypes("biuf"), small_shapes(max_dims=2)), bins=st.integers(1, 6),
       data=st.data(), density=st.booleans())  # fmt: skip
def test_histogram_int_bins(x, bins, data, density):
    weights = data.draw(st.one_of(st.none(), _integral_weights(x.shape)))
    check_against_numpy(fnp.histogram, np.histogram, x, bins, weights=weights, density=density,
                        check_abstract=False)  # fmt: skip
    check_against_numpy(
        fnp.histogram_bin_edges, np.histogram_bin_edges, x, bins, check_abstract=False
    )


@given(x=arrays(dtypes("iuf"), small_shapes(max_dims=2)), bins=st.integers(1, 6),
       lo=st.floats(-50, 50), width=st.sampled_from([0.0, 0.5, 10.0, 75.0]), data=st.data(),
       density=st.booleans())  # fmt: skip
def test_histogram_range(x, bins, lo, width, data, density):
    weights = data.draw(st.one_of(st.none(), _integral_weights(x.shape)))
    check_against_numpy(fnp.histogram, np.histogram, x, bins, range=(lo, lo + width),
                        weights=weights, density=density)  # fmt: skip


@given(x=arrays(dtypes("iuf"), small_shapes(max_dims=2)),
       edges=hnp.arrays(np.float64, st.integers(2, 6), elements=st.integers(-60, 60).map(float)),
       data=st.data(), density=st.booleans())  # fmt: skip
def test_histogram_sequence_bins(x, edges, data, density):
    edges = np.sort(edges)
    assume(not density or edges[-1] > edges[0])
    weights = data.draw(st.one_of(st.none(), _integral_weights(x.shape)))
    check_against_numpy(fnp.histogram, np.histogram, x, edges, weights=weights, density=density)
    check_against_numpy(fnp.histogram, np.histogram, x, edges.astype(np.int64).tolist())


def test_histogram_with_traced_range():
    x = np.array([0.1, 0.5, 0.5, 0.9, 2.0])

    def f(v, lo, hi):
        return fnp.histogram(v, bins=4, range=(lo, hi))

    out = funcgrad.eval_shape(f, x, np.float64(0.0), np.float64(1.0))
    assert [(o.shape, o.dtype) for o in out] == [((4,), np.int64), ((5,), np.float64)]
    hist, edges = f(fnp.asarray(x), fnp.asarray(0.0), fnp.asarray(1.0))
    expected = np.histogram(x, bins=4, range=(0.0, 1.0))
    assert_same(hist, expected[0])
    assert_same(edges, expected[1])


def test_histogram_errors():
    x = fnp.asarray([1.0, 2.0])
    with pytest.raises(funcgrad.ConcretizationError, match=r"funcgrad.numpy.histogram: .*range="):
        funcgrad.eval_shape(lambda v: fnp.histogram(v, bins=3), x)
    with pytest.raises(ValueError, match=r"funcgrad.numpy.histogram: bins must be positive"):
        fnp.histogram(x, bins=0)
    with pytest.raises(ValueError, match=r"funcgrad.numpy.histogram: bin edges must increase"):
        fnp.histogram(x, bins=[0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match=r"funcgrad.numpy.histogram: range=\(2.0, 1.0\)"):
        fnp.histogram(x, range=(2.0, 1.0))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.histogram: the autodetected range"):
        fnp.histogram(fnp.asarray([1.0, np.inf]))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.histogram: weights of shape"):
        fnp.histogram(x, weights=fnp.ones(3))
    with pytest.raises(NotImplementedError, match=r"funcgrad.numpy.histogram: bin estimators"):
        fnp.histogram(x, bins="auto")


# --- bincount / digitize -------------------------------------------------------------


@given(x=st.sampled_from([np.int8, np.uint8, np.int32, np.int64, np.uint64]).flatmap(
           lambda dt: hnp.arrays(dt, small_shapes(min_dims=1, max_dims=1, max_side=8),
                                 elements=st.integers(0, 6)))
         | hnp.arrays(np.bool_, small_shapes(min_dims=1, max_dims=1, max_side=8)),
       minlength=st.integers(0, 9), data=st.data())  # fmt: skip
def test_bincount(x, minlength, data):
    weights = data.draw(st.one_of(st.none(), arrays(dtypes("iuf"), st.just(x.shape))))

    def reference(v, w, minlength):
        out = np.bincount(v, w, minlength)
        # NumPy gives int64 for an empty x even with weights; funcgrad's dtype is static.
        return out if w is None else out.astype(np.float64)

    check_against_numpy(fnp.bincount, reference, x, weights, minlength, check_abstract=False)


@given(x=hnp.arrays(np.int64, small_shapes(min_dims=1, max_dims=1, max_side=8), elements=st.integers(0, 6)),
       length=st.integers(0, 9), data=st.data())  # fmt: skip
def test_bincount_length(x, length, data):
    weights = data.draw(st.one_of(st.none(), arrays(dtypes("f"), st.just(x.shape))))

    def reference(v, w, length):
        keep = v < length
        out = np.bincount(v[keep], None if w is None else w[keep], minlength=length)[:length]
        # NumPy gives int64 for an empty x even with weights; funcgrad's dtype is static.
        return out if w is None else out.astype(np.float64)

    check_against_numpy(fnp.bincount, reference, x, weights, length=length)


def test_bincount_errors():
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.bincount: x must have no negative elements"
    ):
        fnp.bincount(fnp.asarray([1, -1, 2]))
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.bincount: x must have no negative elements"
    ):
        fnp.bincount(fnp.asarray([1, -1, 2]), length=4)
    with pytest.raises(
        TypeError, match=r"funcgrad.numpy.bincount: x must hold non-negative integers"
    ):
        fnp.bincount(fnp.asarray([1.0]))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.bincount: x must be 1-D"):
        fnp.bincount(fnp.ones((2, 2), int))
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.bincount: minlength must not be negative"
    ):
        fnp.bincount(fnp.asarray([1]), minlength=-1)
    with pytest.raises(TypeError, match=r"funcgrad.numpy.bincount: weights must be real"):
        fnp.bincount(fnp.asarray([1]), weights=fnp.asarray([1j]))
    with pytest.raises(funcgrad.ConcretizationError, match=r"funcgrad.numpy.bincount: .*length="):
        funcgrad.eval_shape(fnp.bincount, fnp.asarray([1, 2]))


@given(x=arrays(dtypes("iuf"), small_shapes(max_dims=2)),
       bins=hnp.arrays(np.float64, st.integers(1, 6), elements=st.integers(-60, 60).map(float)),
       decreasing=st.booleans(), right=st.booleans())  # fmt: skip
def test_digitize(x, bins, decreasing, right):
    bins = np.sort(bins)[::-1].copy() if decreasing else np.sort(bins)
    check_against_numpy(fnp.digitize, np.digitize, x, bins, right=right)


def test_digitize_errors():
    with pytest.raises(ValueError, match=r"funcgrad.numpy.digitize: bins must be monotonically"):
        fnp.digitize(fnp.asarray([1.0]), fnp.asarray([1.0, 3.0, 2.0]))
    with pytest.raises(TypeError, match=r"funcgrad.numpy.digitize: x may not be complex"):
        fnp.digitize(fnp.asarray([1j]), fnp.asarray([1.0, 2.0]))


# --- cov / corrcoef ------------------------------------------------------------------


@given(m=arrays(dtypes("iufc"), small_shapes(min_dims=1, max_dims=2, min_side=1)),
       rowvar=st.booleans(), bias=st.booleans(), data=st.data())  # fmt: skip
def test_cov(m, rowvar, bias, data):
    n_obs = m.shape[-1] if (rowvar or m.ndim == 1) else m.shape[0]
    ddof = data.draw(st.one_of(st.none(), st.integers(0, 2)))
    fw = data.draw(st.one_of(st.none(), hnp.arrays(np.int64, n_obs, elements=st.integers(1, 3))))
    aw = data.draw(st.one_of(st.none(), hnp.arrays(np.float64, n_obs, elements=st.floats(0.5, 2))))
    y = None
    if data.draw(st.booleans()):
        k = data.draw(st.integers(1, 2))
        # Without rowvar, y is transposed unless it has a single row.
        y_shape = (k, n_obs) if rowvar else (n_obs, k) if n_obs != 1 else (1, 1)
        y = data.draw(arrays(dtypes("f"), y_shape))
    check_against_numpy(fnp.cov, np.cov, m, y, rowvar, bias, ddof, fw, aw, atol=1e-9, rtol=1e-9)


@given(
    x=arrays(dtypes("if"), small_shapes(min_dims=1, max_dims=2, min_side=2)), rowvar=st.booleans()
)
def test_corrcoef(x, rowvar):
    check_against_numpy(fnp.corrcoef, np.corrcoef, x, rowvar=rowvar, atol=1e-9, rtol=1e-9)


def test_corrcoef_complex_and_pair():
    x = np.array([[1 + 1j, 2, 3 - 1j], [0, 1j, 2]])
    check_against_numpy(fnp.corrcoef, np.corrcoef, x)
    check_against_numpy(
        fnp.corrcoef, np.corrcoef, np.array([1.0, 2.0, 4.0]), np.array([2.0, 1.0, 0.0])
    )


def test_cov_errors():
    with pytest.raises(ValueError, match=r"funcgrad.numpy.cov: m has more than 2 dimensions"):
        fnp.cov(fnp.ones((2, 2, 2)))
    with pytest.raises(TypeError, match=r"funcgrad.numpy.cov: fweights must be integers"):
        fnp.cov(fnp.ones((2, 3)), fweights=fnp.asarray([1.5, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.cov: aweights cannot be negative"):
        fnp.cov(fnp.ones((2, 3)), aweights=fnp.asarray([-1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.cov: ddof must be an integer"):
        fnp.cov(fnp.ones((2, 3)), ddof=0.5)


# --- interp / polyval / trapezoid / ediff1d -------------------------------------------


@given(x=arrays(dtypes("if"), small_shapes(max_dims=2), min_value=-80, max_value=80),
       xp=hnp.arrays(np.float64, st.integers(1, 6), elements=st.integers(-60, 60).map(float), unique=True),
       data=st.data())  # fmt: skip
def test_interp(x, xp, data):
    xp = np.sort(xp)
    fp = data.draw(arrays(dtypes("ifc"), st.just(xp.shape)))
    left = data.draw(st.one_of(st.none(), st.floats(-5, 5)))
    right = data.draw(st.one_of(st.none(), st.floats(-5, 5)))
    check_against_numpy(fnp.interp, np.interp, x, xp, fp, left, right, rtol=1e-12, atol=1e-12)


@given(x=arrays(np.float64, small_shapes(max_dims=1)),
       xp=hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-200, 200)),
       period=st.sampled_from([360.0, -90.0, 7.5]))  # fmt: skip
def test_interp_period(x, xp, period):
    fp = np.cos(xp)
    check_against_numpy(fnp.interp, np.interp, x, xp, fp, period=period, rtol=1e-9, atol=1e-9)


def test_interp_errors():
    with pytest.raises(ValueError, match=r"funcgrad.numpy.interp: xp has 2 points but fp has 3"):
        fnp.interp(0.5, [0.0, 1.0], [0.0, 1.0, 2.0])
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.interp: the array of sample points xp is empty"
    ):
        fnp.interp(0.5, [], [])
    with pytest.raises(ValueError, match=r"funcgrad.numpy.interp: period must be a non-zero"):
        fnp.interp(0.5, [0.0, 1.0], [0.0, 1.0], period=0)


@given(p=arrays(dtypes("iuf"), small_shapes(min_dims=1, max_dims=1), min_value=-3, max_value=3),
       x=arrays(dtypes("iuf"), small_shapes(max_dims=2), min_value=-3, max_value=3))  # fmt: skip
def test_polyval(p, x):
    check_against_numpy(fnp.polyval, np.polyval, p, x)


@given(y=arrays(dtypes("biuf"), small_shapes(min_dims=1, min_side=1)), data=st.data())
def test_trapezoid(y, data):
    axis = data.draw(st.integers(-y.ndim, y.ndim - 1))
    kind = data.draw(st.sampled_from(["dx", "x1d", "xnd"]))
    if kind == "dx":
        check_against_numpy(fnp.trapezoid, np.trapezoid, y, dx=data.draw(st.sampled_from([1.0, 0.5, 2])),
                            axis=axis)  # fmt: skip
        return
    shape = (y.shape[axis],) if kind == "x1d" else y.shape
    x = data.draw(arrays(dtypes("if"), shape))
    check_against_numpy(fnp.trapezoid, np.trapezoid, y, x, axis=axis)


@given(a=arrays(dtypes("iuf"), small_shapes()), data=st.data())
def test_ediff1d(a, data):
    to_begin = data.draw(
        st.one_of(st.none(), st.integers(0, 5), st.lists(st.integers(0, 5), max_size=3))
    )
    to_end = data.draw(st.one_of(st.none(), st.integers(0, 5)))
    try:
        np.ediff1d(a, to_end=to_end, to_begin=to_begin)
    except TypeError:  # to_begin/to_end not castable to a's dtype in kind
        with pytest.raises(TypeError, match=r"funcgrad.numpy.ediff1d: to_(begin|end) of dtype"):
            fnp.ediff1d(a, to_end=to_end, to_begin=to_begin)
        return
    check_against_numpy(fnp.ediff1d, np.ediff1d, a, to_end=to_end, to_begin=to_begin)


def test_ediff1d_kind_error():
    with pytest.raises(TypeError, match=r"funcgrad.numpy.ediff1d: to_begin of dtype float64"):
        fnp.ediff1d(fnp.asarray([1, 2]), to_begin=0.5)


@settings(max_examples=5)
@given(x=arrays(np.float64, small_shapes(min_dims=1, max_dims=1, min_side=2)).map(np.sort))
def test_traceable_forms(x):
    cases = [
        (lambda v: fnp.median(v), ((), np.float64)),
        (lambda v: fnp.percentile(v, fnp.asarray([10.0, 90.0])), ((2,), np.float64)),
        (
            lambda v: fnp.bincount(
                fnp.asarray([0, 1, 1]), weights=v[:3] if v.shape[0] >= 3 else None, length=4
            ),
            None,
        ),
        (lambda v: fnp.digitize(v, v), ((x.shape[0],), np.int64)),
        (lambda v: fnp.interp(v, v, v), ((x.shape[0],), np.float64)),
        (lambda v: fnp.cov(v), ((), np.float64)),
    ]
    for fn, expected in cases:
        shaped = funcgrad.eval_shape(fn, x)
        out = fn(fnp.asarray(x))
        assert (shaped.shape, shaped.dtype) == (out.shape, out.dtype)
        if expected is not None:
            assert (out.shape, out.dtype) == expected
