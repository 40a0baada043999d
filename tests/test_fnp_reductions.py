"""funcgrad.numpy reductions against NumPy: sums, extrema, moments, scans, NaN-ignoring forms.

Sums and products are drawn from integer-valued floats, so that NumPy's pairwise
summation and our masked reductions agree exactly whatever the order; moments use
general values and the default tolerances.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracle import arrays, assert_same, check_against_numpy, dtypes

import funcgrad
import funcgrad.numpy as fnp

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _exact_elements(dtype, lo=-8, hi=8):
    """Integer-valued elements: sums and products of them are exact in every dtype."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind == "u":
        return st.integers(0, hi)
    if dtype.kind == "i":
        return st.integers(lo, hi)
    if dtype.kind == "f":
        return st.integers(lo, hi).map(float)
    return st.builds(complex, st.integers(lo, hi), st.integers(lo, hi))


def exact_arrays(dtype, shape, lo=-8, hi=8):
    if isinstance(dtype, st.SearchStrategy):
        return dtype.flatmap(lambda d: exact_arrays(d, shape, lo, hi))
    return hnp.arrays(np.dtype(dtype), shape, elements=_exact_elements(dtype, lo, hi))


def small_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4):
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


@st.composite
def axes(draw, ndim, allow_none=True, allow_tuple=True):
    """None, an int (negative allowed), or a tuple of distinct ints."""
    choices = []
    if allow_none:
        choices.append(st.none())
    if ndim:
        choices.append(st.integers(-ndim, ndim - 1))
        if allow_tuple:
            choices.append(
                st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).flatmap(
                    lambda ax: st.tuples(*[st.sampled_from([a, a - ndim]) for a in ax])
                )
            )
    elif allow_tuple:
        choices.append(st.just(()))
    if not choices:
        return None
    return draw(st.one_of(*choices))


@st.composite
def data_axis(draw, kinds="biufc", exact=True, min_side=0, max_dims=3, allow_tuple=True, **kw):
    shape = draw(small_shapes(max_dims=max_dims, min_side=min_side))
    dtype = draw(dtypes(kinds))
    x = draw(exact_arrays(dtype, shape) if exact else arrays(dtype, shape, **kw))
    return x, draw(axes(len(shape), allow_tuple=allow_tuple))


def _reduced_sizes(x, axis):
    if axis is None:
        return [x.size] if x.ndim == 0 else list(x.shape)
    ax = axis if isinstance(axis, tuple) else (axis,)
    return [x.shape[a] for a in ax]


# --- sum / prod ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sum", "prod", "nansum", "nanprod"])
@given(data=data_axis(), keepdims=st.booleans())
def test_sum_prod(name, data, keepdims):
    x, axis = data
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("name", ["sum", "prod"])
@given(data=data_axis(kinds="biuf"), dtype=dtypes("iuf"), initial=st.integers(-3, 3))
def test_sum_prod_dtype_and_initial(name, data, dtype, initial):
    x, axis = data
    assume(not (dtype.kind == "u" and initial < 0))
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, dtype=dtype,
                        initial=initial)  # fmt: skip


@pytest.mark.parametrize("name", ["sum", "prod", "nansum", "mean", "all", "any"])
@given(data=st.data(), dtype=dtypes("biufc"), shape=small_shapes(min_dims=1))
def test_where(name, data, dtype, shape):
    if name == "nansum" and dtype.kind == "c":
        dtype = np.dtype(np.float64)
    x = data.draw(exact_arrays(dtype, shape))
    # `where` broadcasts to the input: draw it with a trailing part of the shape.
    mask_shape = shape[data.draw(st.integers(0, len(shape))) :]
    mask = data.draw(hnp.arrays(np.bool_, mask_shape))
    axis = data.draw(axes(len(shape)))
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, where=mask)


@pytest.mark.parametrize("name", ["max", "min", "nanmax", "nanmin"])
@given(x=exact_arrays(dtypes("iuf"), small_shapes(min_dims=1)), data=st.data())
def test_extremum_where_initial(name, x, data):
    mask = data.draw(hnp.arrays(np.bool_, x.shape))
    axis = data.draw(axes(x.ndim))
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, where=mask, initial=3)


def test_sum_dtypes_follow_numpy():
    for dt in ["bool", "int8", "uint16", "int32", "uint64", "float16", "float32", "complex64"]:
        x = np.ones(3, dt)
        for name in ["sum", "prod", "cumsum", "cumprod", "nansum"]:
            assert getattr(fnp, name)(x).dtype == getattr(np, name)(x).dtype, (name, dt)


# --- extrema -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin", "ptp"])
@given(data=data_axis(kinds="biufc", exact=False, allow_nan=True), keepdims=st.booleans())
def test_extrema(name, data, keepdims):
    x, axis = data
    if name == "ptp":
        assume(x.dtype.kind != "b")
    if 0 in _reduced_sizes(x, axis):
        with pytest.raises(
            ValueError, match=f"funcgrad.numpy.{name[-3:] if name != 'ptp' else 'max'}"
        ):
            getattr(fnp, name)(x, axis=axis, keepdims=keepdims)
        return
    with np.errstate(all="ignore"):
        check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, keepdims=keepdims)


@given(x=exact_arrays(dtypes("iuf"), small_shapes(min_dims=1)), data=st.data())
def test_max_min_empty_with_initial(x, data):
    shape = list(x.shape)
    shape[data.draw(st.integers(0, len(shape) - 1))] = 0
    empty = np.zeros(shape, x.dtype)
    axis = data.draw(axes(len(shape)))
    check_against_numpy(fnp.max, np.max, empty, axis=axis, initial=1)
    check_against_numpy(fnp.min, np.min, empty, axis=axis, initial=5)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@given(data=data_axis(kinds="biufc", exact=False, allow_tuple=False, allow_nan=True),
       keepdims=st.booleans())  # fmt: skip
def test_argmax_argmin(name, data, keepdims):
    x, axis = data
    if 0 in _reduced_sizes(x, axis):
        with pytest.raises(ValueError, match=f"funcgrad.numpy.{name}"):
            getattr(fnp, name)(x, axis=axis, keepdims=keepdims)
        return
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, keepdims=keepdims)


def test_argmax_ties_take_first():
    x = np.array([[1, 3, 3], [2, 2, 0]])
    assert fnp.argmax(x, axis=1).tolist() == [1, 0]
    assert fnp.argmin(x).item() == 5


# --- logical -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["all", "any", "count_nonzero"])
@given(data=data_axis(kinds="biufc", exact=False, allow_nan=True), keepdims=st.booleans())
def test_logical_and_count(name, data, keepdims):
    x, axis = data
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, keepdims=keepdims)


# --- moments -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mean", "nanmean"])
@given(data=data_axis(kinds="biufc", exact=False, min_value=-10, max_value=10),
       keepdims=st.booleans())  # fmt: skip
def test_mean(name, data, keepdims):
    x, axis = data
    if name == "nanmean" and x.dtype.kind == "c":
        x = x.real.copy()
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, keepdims=keepdims)


@given(data=data_axis(kinds="iuf", exact=True), dtype=st.sampled_from(["float32", "float64"]))
def test_mean_dtype(data, dtype):
    x, axis = data
    check_against_numpy(fnp.mean, np.mean, x, axis=axis, dtype=dtype)


def test_mean_float16_accumulates_in_float32():
    x = np.full(4096, 0.1, np.float16)
    assert fnp.mean(x).dtype == np.float16
    assert float(fnp.mean(x)) == float(np.mean(x))  # NumPy also sums in float32


@pytest.mark.parametrize("name", ["var", "std", "nanvar", "nanstd"])
@given(data=data_axis(kinds="biufc", exact=False, min_value=-10, max_value=10),
       ddof=st.integers(0, 2), keepdims=st.booleans())  # fmt: skip
def test_var_std(name, data, ddof, keepdims):
    x, axis = data
    if name.startswith("nan") and x.dtype.kind == "c":
        x = x.real.copy()
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, ddof=ddof,
                        keepdims=keepdims)  # fmt: skip


@pytest.mark.parametrize("name", ["var", "std"])
@given(data=data_axis(kinds="iuf", exact=True, min_side=1), correction=st.sampled_from([0, 1, 0.5]))
def test_var_correction_and_where(name, data, correction):
    x, axis = data
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, correction=correction)
    mask = x > 0
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, where=mask)


def test_var_with_mean_argument():
    x = np.arange(12.0).reshape(3, 4)
    mu = x.mean(axis=1, keepdims=True)
    check_against_numpy(fnp.var, np.var, x, axis=1, mean=mu)


def test_var_complex_is_real():
    x = np.array([1 + 2j, 3 - 1j, 0.5j], np.complex64)
    assert fnp.var(x).dtype == np.float32
    assert_same(fnp.var(x), np.var(x))


@given(data=st.data(), dtype=dtypes("biuf"), shape=small_shapes(min_dims=1, min_side=1),
       returned=st.booleans(), keepdims=st.booleans())  # fmt: skip
def test_average(data, dtype, shape, returned, keepdims):
    x = data.draw(exact_arrays(dtype, shape))
    axis = data.draw(axes(len(shape)))
    kind = data.draw(st.sampled_from(["none", "full", "along"]))
    if kind == "none":
        check_against_numpy(
            fnp.average, np.average, x, axis=axis, returned=returned, keepdims=keepdims
        )
        return
    wshape = x.shape
    if kind == "along" and axis is not None:
        ax = axis if isinstance(axis, tuple) else (axis,)
        wshape = tuple(x.shape[a] for a in sorted(a % x.ndim for a in ax))
        if isinstance(axis, tuple):
            axis = tuple(sorted(a % x.ndim for a in ax))
    w = data.draw(hnp.arrays(data.draw(dtypes("iuf")), wshape, elements=st.integers(1, 5)))
    check_against_numpy(fnp.average, np.average, x, axis=axis, weights=w, returned=returned,
                        keepdims=keepdims)  # fmt: skip


# --- cumulative ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
@given(data=data_axis(kinds="biufc", allow_tuple=False))
def test_cumulative(name, data):
    x, axis = data
    if axis is not None and x.ndim == 0:
        axis = None
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@given(data=data_axis(kinds="biuf", allow_tuple=False), dtype=dtypes("iuf"))
def test_cumulative_dtype(name, data, dtype):
    x, axis = data
    if x.ndim == 0:
        axis = None
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, dtype=dtype)


@pytest.mark.parametrize("name", ["cumulative_sum", "cumulative_prod"])
@given(x=exact_arrays(dtypes("biufc"), small_shapes(max_dims=3)), data=st.data(),
       include_initial=st.booleans())  # fmt: skip
def test_array_api_cumulative(name, x, data, include_initial):
    axis = (
        None
        if x.ndim <= 1 and data.draw(st.booleans())
        else data.draw(axes(max(x.ndim, 1), allow_none=False, allow_tuple=False))
    )
    if x.ndim == 0:
        axis = None
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis,
                        include_initial=include_initial)  # fmt: skip


# --- NaN-ignoring extrema ------------------------------------------------------------


@pytest.mark.parametrize("name", ["nanmax", "nanmin"])
@given(data=data_axis(kinds="iufc", exact=False, allow_nan=True, allow_infinity=True),
       keepdims=st.booleans())  # fmt: skip
def test_nan_extrema(name, data, keepdims):
    x, axis = data
    if 0 in _reduced_sizes(x, axis):
        with pytest.raises(ValueError, match=f"funcgrad.numpy.{name}"):
            getattr(fnp, name)(x, axis=axis, keepdims=keepdims)
        return
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, keepdims=keepdims)


def test_nanmax_all_nan_slice_is_nan():
    x = np.array([[np.nan, np.nan], [1.0, np.nan]])
    assert_same(fnp.nanmax(x, axis=1), np.array([np.nan, 1.0]))
    assert_same(fnp.nanmin(x, axis=0), np.array([1.0, np.nan]))


@pytest.mark.parametrize("name", ["nanargmax", "nanargmin"])
@given(data=data_axis(kinds="iuf", exact=False, allow_nan=True, allow_tuple=False, min_side=1),
       keepdims=st.booleans())  # fmt: skip
def test_nan_arg_extrema(name, data, keepdims):
    x, axis = data
    try:
        with np.errstate(all="ignore"):
            expected = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    except ValueError:
        with pytest.raises(ValueError, match=f"funcgrad.numpy.{name}: all-NaN"):
            getattr(fnp, name)(x, axis=axis, keepdims=keepdims)
        return
    check_against_numpy(getattr(fnp, name), getattr(np, name), x, axis=axis, keepdims=keepdims)
    del expected


def test_nanargmax_traced_all_nan_gives_minus_one():
    x = np.array([[np.nan, np.nan], [1.0, np.nan]])
    out = funcgrad.eval_shape(lambda v: fnp.nanargmax(v, axis=1), x)
    assert (out.shape, out.dtype) == ((2,), np.int64)


# --- errors --------------------------------------------------------------------------


def test_errors():
    x = fnp.ones((2, 3))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.sum: axis=2 is out of bounds"):
        fnp.sum(x, axis=2)
    with pytest.raises(ValueError, match=r"funcgrad.numpy.mean: repeated axis"):
        fnp.mean(x, axis=(0, -2))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.max: zero-size array .* initial="):
        fnp.max(fnp.zeros((0, 3)), axis=0)
    with pytest.raises(ValueError, match=r"funcgrad.numpy.min: where= needs initial="):
        fnp.min(x, where=x > 0)
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.argmax: attempt to get argmax of an empty"
    ):
        fnp.argmax(fnp.zeros((0,)))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.var: pass ddof or correction"):
        fnp.var(x, ddof=1, correction=1)
    with pytest.raises(ValueError, match=r"funcgrad.numpy.cumulative_sum: axis must be given"):
        fnp.cumulative_sum(x)
    with pytest.raises(ValueError, match=r"funcgrad.numpy.sum: where of shape \(4,\)"):
        fnp.sum(x, where=fnp.ones(4, bool))
    with pytest.raises(TypeError, match=r"funcgrad.numpy.average: axis must be given"):
        fnp.average(x, weights=fnp.ones(3))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.average: weights of shape \(2,\)"):
        fnp.average(x, axis=1, weights=fnp.ones(2))
    with pytest.raises(ZeroDivisionError, match=r"funcgrad.numpy.average: weights sum to zero"):
        fnp.average(x, axis=1, weights=fnp.zeros(3))
    with pytest.raises(TypeError, match=r"funcgrad.numpy.ptp: not defined for bool"):
        fnp.ptp(fnp.ones(3, bool))
    with pytest.raises(TypeError, match=r"funcgrad.numpy.nanmean: dtype must be inexact"):
        fnp.nanmean(x, dtype=fnp.int32)


def test_methods_forward_here():
    x = fnp.asarray([[1.0, 4.0], [3.0, 2.0]])
    assert x.sum(axis=0).tolist() == [4.0, 6.0]
    assert x.max() == 4.0 and x.argmin() == 0
    assert x.mean(axis=1, keepdims=True).shape == (2, 1)
    assert x.cumsum().tolist() == [1.0, 5.0, 8.0, 10.0]


@settings(max_examples=10)
@given(x=exact_arrays(dtypes("f"), small_shapes(min_dims=2, max_dims=2, min_side=1)))
def test_traced_results_match_abstract_eval(x):
    fns = [
        lambda v: fnp.sum(v, axis=0, keepdims=True),
        lambda v: fnp.var(v, axis=1, ddof=1),
        lambda v: fnp.nanmax(v, axis=-1),
        lambda v: fnp.argmin(v),
        lambda v: fnp.average(v, axis=1, weights=fnp.ones(v.shape[1]), returned=True)[1],
        lambda v: fnp.cumulative_sum(v, axis=0, include_initial=True),
    ]
    for fn in fns:
        out = fn(fnp.asarray(x))
        shaped = funcgrad.eval_shape(fn, x)
        assert (shaped.shape, shaped.dtype) == (out.shape, out.dtype)
