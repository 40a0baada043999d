"""funcgrad.numpy creation functions against NumPy: constants, *_like, ranges, grids,
diagonals and triangles, conversions, and their error messages."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracle import ALL_DTYPES, arrays, assert_same, check_against_numpy, dtypes, shapes

import funcgrad
import funcgrad.numpy as fnp

small_ints = st.integers(-6, 6)
sizes = st.integers(0, 5)
creation_dtypes = st.sampled_from(ALL_DTYPES)


def assert_exact(actual, expected):
    """Same shape, dtype and bits (NaN and -0.0 included)."""
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.tobytes() == expected.tobytes(), f"\n{actual}\n!= NumPy's\n{expected}"


def check_constant(fnp_fn, np_fn, *args, **kwargs):
    """A function with no array input: compare with NumPy, and run it under eval_shape."""
    expected = np_fn(*args, **kwargs)
    actual = fnp_fn(*args, **kwargs)
    assert_exact(actual, expected)
    abstract = funcgrad.eval_shape(lambda: fnp_fn(*args, **kwargs))
    assert (abstract.shape, abstract.dtype) == (expected.shape, expected.dtype)
    return actual


# --- zeros, ones, empty, full ---------------------------------------------------------


@given(shapes(), creation_dtypes)
def test_zeros_ones_empty(shape, dtype):
    check_constant(fnp.zeros, np.zeros, shape, dtype)
    check_constant(fnp.ones, np.ones, shape, dtype)
    assert_exact(fnp.empty(shape, dtype), np.zeros(shape, dtype))
    assert fnp.empty(shape).dtype == np.float64


@pytest.mark.parametrize("fn", [fnp.zeros, fnp.ones, fnp.empty])
def test_default_dtype_and_int_shape(fn):
    assert_exact(fn(3), np.zeros(3) + (fn is fnp.ones))
    assert_exact(fn(np.int64(2)), np.zeros(2) + (fn is fnp.ones))


@given(shapes(), st.one_of(st.integers(-100, 100), st.floats(-1e3, 1e3), st.booleans(),
                           st.complex_numbers(max_magnitude=10)))  # fmt: skip
def test_full_scalar_fill(shape, fill):
    check_constant(fnp.full, np.full, shape, fill)


@given(shapes(min_dims=1), dtypes("biufc"), st.data())
def test_full_with_dtype_and_array_fill(shape, dtype, data):
    fill = data.draw(arrays(dtype, shape[data.draw(st.integers(0, len(shape))) :]))
    expected = np.full(shape, fill)
    assert_same(fnp.full(shape, fill), expected)
    assert_same(fnp.full(shape, fnp.asarray(fill)), expected)
    assert_same(fnp.full(shape, 3, dtype), np.full(shape, 3, dtype))


def test_full_traced_fill_value():
    out = funcgrad.eval_shape(
        lambda v: fnp.full((2, 3), v), funcgrad.ShapeDtypeStruct((3,), "float32")
    )
    assert (out.shape, out.dtype) == ((2, 3), np.float32)


@pytest.mark.parametrize("fn", ["zeros", "ones", "empty", "full"])
def test_constant_errors(fn):
    make = getattr(fnp, fn)
    args = (0,) if fn == "full" else ()
    with pytest.raises(ValueError, match=rf"funcgrad.numpy.{fn}: negative dimensions"):
        make((2, -1), *args)
    with pytest.raises(TypeError, match=rf"funcgrad.numpy.{fn}: .*object"):
        make(2, *args, dtype="object")
    with pytest.raises(TypeError, match=rf"funcgrad.numpy.{fn}: .*not supported"):
        make(2, *args, dtype=str)
    with pytest.raises(TypeError, match=rf"funcgrad.numpy.{fn}: shape must be"):
        make(2.0, *args)


def test_full_errors():
    with pytest.raises(
        ValueError,
        match=r"funcgrad.numpy.full: fill_value of shape \(3,\) cannot be broadcast to shape \(2, 2\)",
    ):
        fnp.full((2, 2), [1, 2, 3])
    with pytest.raises(OverflowError, match="funcgrad.numpy.full: fill_value -1"):
        fnp.full(2, -1, np.uint8)


# --- *_like ---------------------------------------------------------------------------

like_dtypes = st.one_of(st.none(), dtypes("biufc"))
like_shapes = st.one_of(st.none(), shapes(max_dims=3), sizes)


@given(arrays(dtypes("biufc"), shapes()), like_dtypes, like_shapes)
def test_zeros_ones_empty_like(a, dtype, shape):
    check_against_numpy(fnp.zeros_like, np.zeros_like, a, dtype=dtype, shape=shape)
    check_against_numpy(fnp.ones_like, np.ones_like, a, dtype=dtype, shape=shape)
    check_against_numpy(fnp.empty_like, np.zeros_like, a, dtype=dtype, shape=shape)


@given(arrays(dtypes("biufc"), shapes()), like_dtypes, like_shapes,
       st.one_of(st.integers(0, 100), st.floats(-50, 50), st.booleans()))  # fmt: skip
def test_full_like(a, dtype, shape, fill):
    target = np.dtype(a.dtype if dtype is None else dtype)
    assume(target.kind != "u" or not isinstance(fill, float) or fill >= 0)  # NumPy: undefined cast
    assume(target.kind not in "iu" or np.iinfo(target).max >= fill)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_against_numpy(fnp.full_like, np.full_like, a, fill, dtype=dtype, shape=shape)


def test_like_accepts_host_data_and_scalars():
    assert_exact(fnp.zeros_like([[1, 2]]), np.zeros_like([[1, 2]]))
    assert_exact(fnp.ones_like(2.5), np.ones_like(2.5))
    assert_exact(fnp.full_like([1, 2], 7, shape=(2, 1)), np.full_like([1, 2], 7, shape=(2, 1)))


def test_like_errors():
    with pytest.raises(TypeError, match="funcgrad.numpy.zeros_like: .*object"):
        fnp.zeros_like(fnp.ones(2), dtype=object)
    with pytest.raises(ValueError, match="funcgrad.numpy.ones_like: negative dimensions"):
        fnp.ones_like(fnp.ones(2), shape=(-1,))
    with pytest.raises(OverflowError, match="funcgrad.numpy.full_like: fill_value -1"):
        fnp.full_like(fnp.ones(2, np.uint8), -1)


# --- arange ---------------------------------------------------------------------------

range_numbers = st.one_of(
    st.integers(-30, 30),
    st.floats(-30, 30).map(lambda x: round(x, 2)),
)
range_dtypes = st.sampled_from([None, np.int8, np.uint8, np.int32, np.int64, np.uint64,
                                np.float16, np.float32, np.float64, np.complex64])  # fmt: skip


def _both(fnp_fn, np_fn, *args, **kwargs):
    """Either both raise the same exception type, or both return (compared exactly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = np_fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001  (the oracle decides what is an error)
            with pytest.raises(type(e)):
                fnp_fn(*args, **kwargs)
            return None
        actual = fnp_fn(*args, **kwargs)
    assert_exact(actual, expected)
    abstract = funcgrad.eval_shape(lambda: fnp_fn(*args, **kwargs))
    assert (abstract.shape, abstract.dtype) == (expected.shape, expected.dtype)
    return actual


@given(range_numbers, st.one_of(st.none(), range_numbers),
       st.one_of(st.none(), range_numbers.filter(lambda s: s != 0),
                 st.sampled_from([0.1, -0.1, 1 / 3, -0.7, 2.5])), range_dtypes)  # fmt: skip
def test_arange(start, stop, step, dtype):
    if stop is None:
        assume(step is None)
        _both(fnp.arange, np.arange, start, dtype=dtype)
    elif step is None:
        _both(fnp.arange, np.arange, start, stop, dtype=dtype)
    else:
        _both(fnp.arange, np.arange, start, stop, step, dtype=dtype)


@given(st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int16, np.uint8]),
       range_numbers, range_numbers, range_numbers.filter(lambda s: s != 0))  # fmt: skip
def test_arange_numpy_scalar_arguments(kind, start, stop, step):
    if np.dtype(kind).kind == "u":
        start, stop, step = abs(start), abs(stop), abs(step)
    _both(fnp.arange, np.arange, kind(start), stop, kind(step))
    _both(fnp.arange, np.arange, start, kind(stop))


@pytest.mark.parametrize("args, kwargs", [
    ((5,), {}), ((5.0,), {}), ((0,), {}), ((-3,), {}), ((10, 0, -3), {}), ((3, 3), {}),
    ((0, 5, 0.5), {"dtype": int}), ((-3, 3, 0.5), {"dtype": int}),
    ((5, 0, -1), {"dtype": np.uint8}), ((300,), {"dtype": np.uint8}), ((200,), {"dtype": np.int8}),
    ((-0.0, 3), {}), ((0, 10, np.inf), {}), ((0, -10, np.inf), {}), ((0, 1e-300, 1e300), {}),
    ((0, -1e-300, 1e300), {}), ((1j, 5 + 6j), {}), ((0.1, 2.3, 0.1), {}),
    ((0.5, 4000, 0.37), {"dtype": np.float16}), ((0.5, 1e5, 0.37), {"dtype": np.float32}),
    ((2,), {"dtype": bool}), ((1, 1, 1), {"dtype": bool}), ((np.int8(100), np.int8(-100), np.int8(-50)), {}),
        ((np.int8(0), 0, np.int8(0)), {}),
        ((1.0, 1.0, np.inf), {}),
])  # fmt: skip
def test_arange_cases(args, kwargs):
    _both(fnp.arange, np.arange, *args, **kwargs)


def test_arange_keyword_stop_and_array_bounds():
    assert_exact(fnp.arange(stop=4), np.arange(stop=4))
    assert_exact(fnp.arange(fnp.asarray(2), fnp.asarray(7.0), 2), np.arange(2, 7.0, 2))
    assert_exact(fnp.arange(np.array(3)), np.arange(np.array(3)))


def test_arange_errors():
    with pytest.raises(ZeroDivisionError, match="funcgrad.numpy.arange: step must not be zero"):
        fnp.arange(1, 2, 0)
    with pytest.raises(ValueError, match="funcgrad.numpy.arange: .*infinite"):
        fnp.arange(0, np.inf)
    with pytest.raises(ValueError, match="funcgrad.numpy.arange: .*NaN"):
        fnp.arange(np.nan)
    with pytest.raises(TypeError, match="funcgrad.numpy.arange: a bool range has at most 2"):
        fnp.arange(3, dtype=bool)
    with pytest.raises(
        OverflowError, match="funcgrad.numpy.arange: the bounds do not fit dtype uint8"
    ):
        fnp.arange(-3, 2, dtype=np.uint8)
    with pytest.raises(TypeError, match="funcgrad.numpy.arange: .*object"):
        fnp.arange(3, dtype="object")
    with pytest.raises(TypeError, match="funcgrad.numpy.arange: stop must be a scalar"):
        fnp.arange(0, fnp.ones(2))
    with pytest.raises(TypeError, match="funcgrad.numpy.arange: stop must be a number"):
        fnp.arange("3")
    with pytest.raises(TypeError, match="funcgrad.numpy.arange: stop must be specified"):
        fnp.arange()


def test_arange_traced_bound_needs_static_value():
    with pytest.raises(funcgrad.ConcretizationError, match="funcgrad.numpy.arange: the length"):
        funcgrad.eval_shape(fnp.arange, funcgrad.ShapeDtypeStruct((), "int64"))


# --- linspace, logspace, geomspace ----------------------------------------------------

bound_shapes = st.sampled_from([(), (2,), (3, 1), (1, 2)])


@st.composite
def bounds(draw, kinds="iuf", min_value=-20, max_value=20, nonzero=False):
    """A bound for a range: a Python number, a NumPy scalar or a small array."""
    choice = draw(st.sampled_from(["int", "float", "array"]))
    if choice == "int":
        value = draw(st.integers(min_value, max_value))
    elif choice == "float":
        value = draw(st.floats(min_value, max_value))
    else:
        value = draw(arrays(dtypes(kinds), bound_shapes, min_value=min_value, max_value=max_value))
    if nonzero:
        assume(np.all(np.asarray(value) != 0))
    return value


space_kwargs = {
    "num": st.sampled_from([0, 1, 2, 3, 7, 50]),
    "endpoint": st.booleans(),
    "dtype": st.sampled_from([None, np.float32, np.float64, np.int32, np.complex128]),
    "axis": st.integers(-3, 2),
}


@given(start=bounds(kinds="iufc"), stop=bounds(kinds="iufc"), retstep=st.booleans(), **space_kwargs)
def test_linspace(start, stop, num, endpoint, retstep, dtype, axis):
    nd = max(np.ndim(start), np.ndim(stop))
    assume(-nd - 1 <= axis <= nd)
    assume(not (np.iscomplexobj(start) or np.iscomplexobj(stop)) or dtype != np.int32)
    kwargs = {"num": num, "endpoint": endpoint, "retstep": retstep, "dtype": dtype, "axis": axis}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # complex -> real casts, as in NumPy
        expected = np.linspace(start, stop, **kwargs)
        check_against_numpy(fnp.linspace, np.linspace, start, stop, **{**kwargs, "retstep": False})
        actual = fnp.linspace(_fnp(start), _fnp(stop), **kwargs)
    if retstep:
        assert_exact(actual[0], expected[0])
        # NumPy's step is a scalar (a Python nan when undefined); ours an array of delta's shape
        assert_same(actual[1], np.broadcast_to(expected[1], np.shape(actual[1])), check_dtype=False)
    else:
        assert_exact(actual, expected)


def _fnp(x):
    return fnp.asarray(x) if isinstance(x, np.ndarray) else x


def test_linspace_cases():
    assert_exact(fnp.linspace(0, 1, 5), np.linspace(0, 1, 5))
    assert_exact(fnp.linspace(0, 1, 5, endpoint=False), np.linspace(0, 1, 5, endpoint=False))
    assert_exact(fnp.linspace(0, 10, 4, dtype=int), np.linspace(0, 10, 4, dtype=int))
    assert_exact(fnp.linspace(-1, 0, 4, dtype=int), np.linspace(-1, 0, 4, dtype=int))
    # a step that underflows to zero (NumPy divides first)
    assert_exact(fnp.linspace(0, 5e-324, 3), np.linspace(0, 5e-324, 3))
    assert_exact(fnp.linspace(fnp.zeros(2), 5e-324, 3), np.linspace(np.zeros(2), 5e-324, 3))
    samples, step = fnp.linspace(0, 1, 5, retstep=True)
    assert float(step) == 0.25
    samples, step = fnp.linspace(0, 1, 1, retstep=True)
    assert_exact(samples, np.zeros(1)) and np.isnan(float(step))
    assert fnp.linspace(np.float32(0), 1, 3).dtype == np.linspace(np.float32(0), 1, 3).dtype


def test_linspace_traced_bounds():
    f32 = funcgrad.ShapeDtypeStruct((3,), "float32")
    out = funcgrad.eval_shape(lambda a, b: fnp.linspace(a, b, 5, axis=-1), f32, f32)
    assert (out.shape, out.dtype) == ((3, 5), np.float32)


def test_linspace_errors():
    with pytest.raises(ValueError, match="funcgrad.numpy.linspace: the number of samples num=-1"):
        fnp.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="funcgrad.numpy.linspace: num must be an integer"):
        fnp.linspace(0, 1, 2.0)
    with pytest.raises(ValueError, match="funcgrad.numpy.linspace: axis=2 is out of bounds"):
        fnp.linspace(0, 1, 3, axis=2)
    with pytest.raises(TypeError, match="funcgrad.numpy.linspace: .*object"):
        fnp.linspace(0, 1, 3, dtype=object)


@given(start=bounds(min_value=-3, max_value=3), stop=bounds(min_value=-3, max_value=3),
       base=st.one_of(st.sampled_from([10.0, 2, 0.5]),
                      arrays(dtypes("f"), bound_shapes, min_value=0.5, max_value=4)),
       **space_kwargs)  # fmt: skip
def test_logspace(start, stop, base, num, endpoint, dtype, axis):
    nd = max(np.ndim(start), np.ndim(stop), np.ndim(base))
    assume(-nd - 1 <= axis <= nd)
    assume(dtype != np.int32)  # a float -> int cast of inexact powers is not reproducible
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_against_numpy(fnp.logspace, np.logspace, start, stop, num=num, endpoint=endpoint,
                            base=base, dtype=dtype, axis=axis, rtol=1e-5, atol=1e-6)  # fmt: skip


@given(
    start=bounds(kinds="iuf", min_value=-50, max_value=50, nonzero=True),
    stop=bounds(kinds="iuf", min_value=-50, max_value=50, nonzero=True),
    **space_kwargs,
)
def test_geomspace(start, stop, num, endpoint, dtype, axis):
    nd = max(np.ndim(start), np.ndim(stop))
    assume(-nd - 1 <= axis <= nd)
    assume(dtype != np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_against_numpy(fnp.geomspace, np.geomspace, start, stop, num=num, endpoint=endpoint,
                            dtype=dtype, axis=axis, rtol=1e-5, atol=1e-6)  # fmt: skip


@pytest.mark.parametrize("name", ["linspace", "logspace", "geomspace"])
def test_spaces_bad_num(name):
    with pytest.raises(ValueError, match=rf"funcgrad.numpy.{name}: the number of samples num=-2"):
        getattr(fnp, name)(1, 2, -2)
    with pytest.raises(TypeError, match=rf"funcgrad.numpy.{name}: num must be an integer"):
        getattr(fnp, name)(1, 2, 2.5)


def test_geomspace_cases():
    for args in [(1, 1000, 4), (-1, -100, 3), (1j, 10j, 3), (1 + 1j, 1000 + 1000j, 4), (8, 1, 4)]:
        check_against_numpy(fnp.geomspace, np.geomspace, *args)
    assert_exact(fnp.geomspace(1, 256, 9, dtype=int), np.geomspace(1, 256, 9, dtype=int))
    with pytest.raises(
        ValueError, match="funcgrad.numpy.geomspace: a geometric sequence cannot include zero"
    ):
        fnp.geomspace(0, 10)
    with pytest.raises(ValueError, match="funcgrad.numpy.geomspace: .*zero"):
        fnp.geomspace(fnp.array([1.0, 2.0]), fnp.array([0.0, 1.0]))


# --- eye, identity, tri, tril, triu ---------------------------------------------------

offsets = st.one_of(small_ints, st.sampled_from([-(2**40), 2**40]))


@given(sizes, st.one_of(st.none(), sizes), offsets, creation_dtypes)
def test_eye_and_tri(N, M, k, dtype):
    check_constant(fnp.eye, np.eye, N, M, k, dtype)
    check_constant(fnp.tri, np.tri, N, M, k, dtype)
    check_constant(fnp.eye, np.eye, N, M=M, k=k)
    check_constant(fnp.tri, np.tri, N, M=M, k=k)


@given(sizes, st.one_of(st.none(), creation_dtypes))
def test_identity(n, dtype):
    check_constant(fnp.identity, np.identity, n, dtype)


@pytest.mark.parametrize("fn", ["eye", "tri", "identity"])
def test_eye_tri_identity_errors(fn):
    make = getattr(fnp, fn)
    with pytest.raises(
        ValueError, match=rf"funcgrad.numpy.{fn}: negative dimensions are not allowed, got N=-1"
    ):
        make(-1)
    with pytest.raises(TypeError, match=rf"funcgrad.numpy.{fn}: .* must be an integer"):
        make(2.0)
    with pytest.raises(TypeError, match=rf"funcgrad.numpy.{fn}: .*object"):
        make(2, dtype="object")
    if fn != "identity":
        with pytest.raises(
            ValueError, match=rf"funcgrad.numpy.{fn}: negative dimensions are not allowed, got M=-2"
        ):
            make(2, -2)


@given(arrays(dtypes("biufc"), shapes(min_dims=1, max_dims=4)), offsets)
def test_tril_triu(m, k):
    check_against_numpy(fnp.tril, np.tril, m, k)
    check_against_numpy(fnp.triu, np.triu, m, k=k)


def test_tril_triu_errors():
    with pytest.raises(ValueError, match="funcgrad.numpy.tril: needs an array of at least 1"):
        fnp.tril(fnp.asarray(1.0))
    with pytest.raises(TypeError, match="funcgrad.numpy.triu: k must be an integer"):
        fnp.triu(fnp.ones((2, 2)), 1.5)


# --- diag, diagflat, diagonal ---------------------------------------------------------


@given(
    arrays(dtypes("biufc"), shapes(min_dims=1, max_dims=2)), offsets.filter(lambda k: abs(k) < 100)
)
def test_diag(v, k):
    check_against_numpy(fnp.diag, np.diag, v, k)


@given(arrays(dtypes("biufc"), shapes(max_dims=3)), small_ints)
def test_diagflat(v, k):
    check_against_numpy(fnp.diagflat, np.diagflat, v, k)


@given(arrays(dtypes("biufc"), shapes(min_dims=2, max_dims=4)), st.integers(-8, 8), st.data())
def test_diagonal(a, offset, data):
    ax1 = data.draw(st.integers(-a.ndim, a.ndim - 1))
    ax2 = data.draw(st.integers(-a.ndim, a.ndim - 1).filter(lambda x: x % a.ndim != ax1 % a.ndim))
    check_against_numpy(fnp.diagonal, np.diagonal, a, offset, ax1, ax2)
    check_against_numpy(fnp.diagonal, np.diagonal, a, offset=offset)
    assert_same(fnp.asarray(a).diagonal(offset, ax1, ax2), np.diagonal(a, offset, ax1, ax2))


def test_diag_errors():
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.diag: v must be 1-d or 2-d, got shape \(2, 2, 2\)"
    ):
        fnp.diag(fnp.ones((2, 2, 2)))
    with pytest.raises(
        ValueError,
        match=r"funcgrad.numpy.diagonal: needs an array of at least 2 dimensions, got shape \(3,\)",
    ):
        fnp.diagonal(fnp.ones(3))
    with pytest.raises(ValueError, match="funcgrad.numpy.diagonal: axis1 and axis2 must differ"):
        fnp.diagonal(fnp.ones((2, 2)), 0, 1, -1)
    with pytest.raises(ValueError, match="funcgrad.numpy.diagonal: axis2=2 is out of bounds"):
        fnp.diagonal(fnp.ones((2, 2)), 0, 0, 2)
    with pytest.raises(TypeError, match="funcgrad.numpy.diag: k must be an integer"):
        fnp.diag(fnp.ones(2), 0.5)


# --- meshgrid, indices ----------------------------------------------------------------


@given(st.lists(arrays(dtypes("bif"), shapes(max_dims=2, max_side=4)), max_size=4),
       st.sampled_from(["xy", "ij"]), st.booleans())  # fmt: skip
@settings(max_examples=40)
def test_meshgrid(xi, indexing, sparse):
    expected = np.meshgrid(*xi, indexing=indexing, sparse=sparse)
    actual = fnp.meshgrid(*[fnp.asarray(x) for x in xi], indexing=indexing, sparse=sparse)
    assert isinstance(actual, tuple) and len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert_exact(a, e)
    abstract = funcgrad.eval_shape(lambda *x: fnp.meshgrid(*x, indexing=indexing, sparse=sparse),
                                   *[fnp.asarray(x) for x in xi])  # fmt: skip
    assert [(s.shape, s.dtype) for s in abstract] == [(e.shape, e.dtype) for e in expected]


def test_meshgrid_errors():
    with pytest.raises(ValueError, match="funcgrad.numpy.meshgrid: indexing must be 'xy' or 'ij'"):
        fnp.meshgrid(fnp.ones(2), indexing="yx")


@given(shapes(max_dims=4), st.sampled_from([int, np.int32, np.float32, np.uint8]), st.booleans())
def test_indices(dims, dtype, sparse):
    expected = np.indices(dims, dtype=dtype, sparse=sparse)
    actual = fnp.indices(dims, dtype=dtype, sparse=sparse)
    if sparse:
        assert isinstance(actual, tuple) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_exact(a, e)
    else:
        assert_exact(actual, expected)
        abstract = funcgrad.eval_shape(lambda: fnp.indices(dims, dtype=dtype))
        assert (abstract.shape, abstract.dtype) == (expected.shape, expected.dtype)


def test_indices_errors():
    with pytest.raises(ValueError, match="funcgrad.numpy.indices: negative dimensions"):
        fnp.indices((2, -1))
    with pytest.raises(
        TypeError, match="funcgrad.numpy.indices: dtype bool can index axes of length at most 2"
    ):
        fnp.indices((3,), dtype=bool)
    with pytest.raises(TypeError, match="funcgrad.numpy.indices: .*object"):
        fnp.indices((3,), dtype=object)


# --- conversions, copies, at least n dimensions ---------------------------------------


@given(arrays(dtypes("biufc"), shapes()))
def test_copy_asanyarray_ascontiguousarray(a):
    check_against_numpy(fnp.copy, np.copy, a)
    check_against_numpy(fnp.asanyarray, np.asanyarray, a)
    check_against_numpy(fnp.ascontiguousarray, np.ascontiguousarray, a)
    x = fnp.asarray(a)
    assert fnp.copy(x) is x  # immutable: the same array serves as a copy


def test_ascontiguousarray_dtype_and_scalars():
    assert_exact(fnp.ascontiguousarray(5), np.ascontiguousarray(5))
    assert_exact(
        fnp.ascontiguousarray([1, 2], dtype=np.float32),
        np.ascontiguousarray([1, 2], dtype=np.float32),
    )
    assert_exact(fnp.asanyarray([1, 2], np.int8), np.asanyarray([1, 2], np.int8))


@given(st.lists(arrays(dtypes("bif"), shapes(max_dims=4, max_side=3)), min_size=1, max_size=3))
def test_atleast_nd(arys):
    for fn, np_fn in [(fnp.atleast_1d, np.atleast_1d), (fnp.atleast_2d, np.atleast_2d),
                      (fnp.atleast_3d, np.atleast_3d)]:  # fmt: skip
        check_against_numpy(fn, np_fn, *arys)
        if len(arys) > 1:
            assert isinstance(fn(*[fnp.asarray(a) for a in arys]), tuple)


def test_atleast_nd_scalars_and_no_arguments():
    assert fnp.atleast_1d() == np.atleast_1d() == ()
    assert_exact(fnp.atleast_2d(3.0), np.atleast_2d(3.0))
    assert_exact(fnp.atleast_3d([1, 2]), np.atleast_3d([1, 2]))


@given(arrays(dtypes("biufc"), shapes()))
def test_from_dlpack_copies(a):
    source = a.copy()
    out = fnp.from_dlpack(source)
    assert isinstance(out, fnp.ndarray)
    assert_exact(out, a)
    if source.size:
        source.reshape(-1)[0] = source.reshape(-1)[-1] + 1 if source.dtype != bool else True
        source[...] = 0
    assert_exact(out, a)  # the funcgrad array never sees the source's later writes


def test_from_dlpack_sources_and_errors():
    x = fnp.arange(3.0)
    assert_exact(fnp.from_dlpack(x), np.arange(3.0))
    assert_exact(fnp.from_dlpack(np.asarray(x)), np.arange(3.0))  # a read-only export
    assert fnp.from_dlpack(np.arange(3), device="numpy").backend == "numpy"
    with pytest.raises(BufferError, match="funcgrad.numpy.from_dlpack: copy=False is not supported"):
        fnp.from_dlpack(np.arange(3), copy=False)
    with pytest.raises(TypeError, match="funcgrad.numpy.from_dlpack: list does not support DLPack"):
        fnp.from_dlpack([1, 2])


# --- devices and tracing --------------------------------------------------------------

CONSTANT_CALLS = [
    ("zeros", (2,)), ("ones", (2,)), ("empty", (2,)), ("full", (2, 1.5)), ("arange", (3,)),
    ("linspace", (0, 1, 3)), ("logspace", (0, 1, 3)), ("geomspace", (1, 8, 4)), ("eye", (2,)),
    ("identity", (2,)), ("tri", (2,)), ("indices", ((2, 2),)),
    ("asarray", ([1, 2],)), ("array", ([1, 2],)), ("from_dlpack", (np.arange(2),)),
]  # fmt: skip


@pytest.mark.parametrize("name, args", CONSTANT_CALLS)
def test_device_keyword(name, args):
    fn = getattr(fnp, name)
    out = fn(*args, device="numpy")
    assert out.backend == "numpy"
    with pytest.raises(ValueError, match="'nope'"):
        fn(*args, device="nope")


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like"])
def test_like_device_keyword(name):
    assert getattr(fnp, name)(fnp.ones(2), device="numpy").backend == "numpy"
    with pytest.raises(ValueError, match="'nope'"):
        getattr(fnp, name)(fnp.ones(2), device="nope")


@pytest.mark.parametrize("name, args", [c for c in CONSTANT_CALLS if c[0] != "from_dlpack"])
def test_constants_under_tracing(name, args):
    expected = getattr(np, name)(*args)
    out = funcgrad.eval_shape(lambda: getattr(fnp, name)(*args))
    assert (out.shape, out.dtype) == (expected.shape, expected.dtype)


def test_array_inputs_are_traceable():
    spec = funcgrad.ShapeDtypeStruct((2, 4, 3), "float32")
    cases = {
        "zeros_like": (lambda x: fnp.zeros_like(x), (2, 4, 3)),
        "full_like": (lambda x: fnp.full_like(x, 2, shape=(5,)), (5,)),
        "tril": (lambda x: fnp.tril(x, -1), (2, 4, 3)),
        "triu": (lambda x: fnp.triu(x, 1), (2, 4, 3)),
        "diagonal": (lambda x: fnp.diagonal(x, 1, -1, 0), (4, 1)),
        "diag": (lambda x: fnp.diag(x[0, 0], -2), (5, 5)),
        "diagflat": (lambda x: fnp.diagflat(x[0], 1), (13, 13)),
        "atleast_3d": (lambda x: fnp.atleast_3d(x[0, 0]), (1, 3, 1)),
        "meshgrid": (lambda x: fnp.meshgrid(x[0, 0], x[0, :, 0])[0], (4, 3)),
        "linspace": (lambda x: fnp.linspace(x[0], x[1], 6), (6, 4, 3)),
        "logspace": (lambda x: fnp.logspace(x[0], 1.0, 6, axis=-1), (4, 3, 6)),
        "geomspace": (lambda x: fnp.geomspace(x[0, 0], 2.0, 6, dtype=np.float32), (6, 3)),
    }
    for name, (fn, shape) in cases.items():
        out = funcgrad.eval_shape(fn, spec)
        assert (out.shape, out.dtype) == (shape, np.float32), name
