"""Bad input is refused, never silently accepted, and the error names what the user called.

Each class of defect is tested over its whole family, with hypothesis drawing the bad
values: every axis-taking function of funcgrad.numpy (a completeness check keeps the
table whole), every structural function of funcgrad.lax, every creation function with
a shape too large for memory, boolean masks of the wrong length, custom derivative
rules that return the wrong thing, and host data of dtypes funcgrad cannot hold.
"""

from __future__ import annotations

import inspect
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax, tree_util
from funcgrad._src.numpy.errors import relabel
from funcgrad._src.numpy.util import physical_memory_bytes

AxisError = np.exceptions.AxisError

# --- every axis-taking function of funcgrad.numpy -------------------------------------

_X = fnp.arange(6.0).reshape(2, 3)  # every call below works on this 2-D array
_IDX = fnp.asarray([[0, 1, 0], [1, 0, 1]])
_V3 = fnp.ones((2, 3))


def _on_x(name):
    return lambda **kw: getattr(fnp, name)(_X, **kw)


# (name, argument) -> a call taking that argument as a keyword
AXIS_CALLS = {}
for _name in [
    "all", "amax", "amin", "any", "argmax", "argmin", "argsort", "average", "count_nonzero",
    "cumprod", "cumsum", "cumulative_prod", "cumulative_sum", "diff", "expand_dims", "flip",
    "max", "mean", "median", "min", "nanargmax", "nanargmin", "nancumprod", "nancumsum",
    "nanmax", "nanmean", "nanmedian", "nanmin", "nanprod", "nanstd", "nansum", "nanvar", "prod",
    "ptp", "sort", "squeeze", "std", "sum", "trapezoid", "trim_zeros", "unique", "unstack", "var",
    "size",
]:  # fmt: skip
    AXIS_CALLS[(_name, "axis")] = _on_x(_name)


def _with_args(name, *args):
    return lambda **kw: getattr(fnp, name)(*args, **kw)


for _name, _extra in [
    ("percentile", 50.0), ("nanpercentile", 50.0), ("quantile", 0.5), ("nanquantile", 0.5),
    ("partition", 1), ("argpartition", 1), ("split", 1), ("array_split", 1), ("repeat", 2),
    ("roll", 1), ("take", fnp.asarray([0])), ("take_along_axis", _IDX),
]:  # fmt: skip
    AXIS_CALLS[(_name, "axis")] = _with_args(_name, _X, _extra)
for _name, _args in [  # issue 18's additions
    ("append", (_X, _X)), ("delete", (_X, 0)), ("insert", (_X, 0, 1.0)), ("rollaxis", (_X,)),
    ("gradient", (_X,)), ("unwrap", (_X,)), ("packbits", (_IDX,)),
    ("unpackbits", (fnp.ones((2, 3), fnp.uint8),)), ("put_along_axis", (_X, _IDX, 0.0)),
    ("apply_along_axis", (fnp.sum, 0, _X)),
]:  # fmt: skip
    AXIS_CALLS[(_name, "axis")] = _with_args(_name, *_args)
AXIS_CALLS[("put_along_axis", "axis")] = lambda **kw: fnp.put_along_axis(
    _X, _IDX, 0.0, inplace=False, **kw
)
AXIS_CALLS[("apply_along_axis", "axis")] = lambda axis: fnp.apply_along_axis(fnp.sum, axis, _X)
for _name in ["concatenate", "concat", "stack"]:
    AXIS_CALLS[(_name, "axis")] = _with_args(_name, [_X, _X])
for _name in ["linspace", "logspace", "geomspace"]:
    AXIS_CALLS[(_name, "axis")] = _with_args(_name, fnp.ones(2), fnp.full(2, 2.0), 3)
AXIS_CALLS[("compress", "axis")] = lambda **kw: fnp.compress([True, False], _X, **kw)
AXIS_CALLS[("lexsort", "axis")] = lambda **kw: fnp.lexsort(_X, **kw)
AXIS_CALLS[("vecdot", "axis")] = lambda **kw: fnp.vecdot(_X, _X, **kw)
for _arg in ["axis", "axisa", "axisb", "axisc"]:
    AXIS_CALLS[("cross", _arg)] = lambda **kw: fnp.cross(_V3, _V3, **kw)
for _name in ["diagonal", "trace"]:
    for _arg in ["axis1", "axis2"]:
        AXIS_CALLS[(_name, _arg)] = _on_x(_name)
for _arg in ["axis1", "axis2"]:
    AXIS_CALLS[("swapaxes", _arg)] = lambda **kw: fnp.swapaxes(_X, **{"axis1": 0, "axis2": 1, **kw})
for _arg in ["source", "destination"]:
    AXIS_CALLS[("moveaxis", _arg)] = lambda **kw: fnp.moveaxis(
        _X, **{"source": 0, "destination": 1, **kw}
    )
AXIS_CALLS[("linalg.norm", "axis")] = lambda **kw: fnp.linalg.norm(_X, **kw)
AXIS_CALLS[("linalg.vector_norm", "axis")] = lambda **kw: fnp.linalg.vector_norm(_X, **kw)
AXIS_CALLS[("linalg.vecdot", "axis")] = lambda **kw: fnp.linalg.vecdot(_X, _X, **kw)
AXIS_CALLS[("linalg.cross", "axis")] = lambda **kw: fnp.linalg.cross(_V3, _V3, **kw)

_AXIS_PARAMETERS = ("axis", "axis1", "axis2", "axisa", "axisb", "axisc", "source", "destination")


def test_every_axis_taking_function_is_in_the_table():
    found = set()
    for space, prefix in ((fnp, ""), (fnp.linalg, "linalg.")):
        for name in dir(space):
            fn = getattr(space, name)
            if name.startswith("_") or not callable(fn) or isinstance(fn, type):
                continue
            try:
                params = inspect.signature(fn).parameters
            except (TypeError, ValueError):
                continue
            canonical = getattr(inspect.unwrap(fn), "__name__", name)
            if canonical != name:  # an alias (fnp.around is fnp.round): covered by its name
                continue
            found |= {(prefix + name, p) for p in params if p in _AXIS_PARAMETERS}
    assert found - set(AXIS_CALLS) == set()


_NON_INTEGER_AXES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.booleans(),
    st.just(np.float64(1.0)),
    st.just(np.bool_(True)),
    st.just(fnp.asarray(0.5)),
)


@pytest.mark.parametrize("case", sorted(AXIS_CALLS), ids=lambda c: f"{c[0]}:{c[1]}")
@settings(max_examples=4)
@given(
    bad=_NON_INTEGER_AXES, out_of_range=st.one_of(st.integers(3, 10**6), st.integers(-(10**6), -4))
)
def test_axis_must_be_an_in_range_integer(case, bad, out_of_range):
    arg = case[1]
    call = AXIS_CALLS[case]
    # never truncated with int(): a float, string or bool axis is a TypeError naming the function
    with pytest.raises(TypeError, match="funcgrad.numpy"):
        call(**{arg: bad})
    # out of range for every function here (results have at most 3 dimensions)
    with pytest.raises(AxisError, match="funcgrad.numpy"):
        call(**{arg: out_of_range})


def test_axis_error_is_both_value_error_and_index_error():
    with pytest.raises(ValueError, match="funcgrad.numpy.sum: axis=5 is out of bounds"):
        fnp.sum(_X, axis=5)
    with pytest.raises(IndexError, match="funcgrad.numpy.expand_dims: axis=-4"):
        fnp.expand_dims(_X, -4)
    with pytest.raises(TypeError, match=r"funcgrad.numpy.sum: axis must be an integer .* 0.9"):
        fnp.sum(_X, axis=0.9)


# --- boolean masks must match the axes they index ---------------------------------------


@settings(max_examples=25)
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    data=st.data(),
)
def test_boolean_masks_must_match_their_axes(shape, data):
    x_host = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    x = fnp.asarray(x_host)
    start = data.draw(st.integers(0, len(shape) - 1), label="first masked axis")
    ndim = data.draw(st.integers(1, len(shape) - start), label="mask rank")
    axes = shape[start : start + ndim]
    wrong = data.draw(st.booleans(), label="wrong length")
    mask_shape = list(axes)
    if wrong:
        k = data.draw(st.integers(0, ndim - 1))
        mask_shape[k] += data.draw(st.sampled_from([-1, 1, 2]))
        if mask_shape[k] <= 0:  # NumPy reads an empty mask as an empty integer index
            mask_shape[k] = axes[k] + 1
    mask = data.draw(hnp.arrays(np.bool_, tuple(mask_shape)), label="mask")
    key = (slice(None),) * start + (mask,)
    as_list = (slice(None),) * start + (mask.tolist(),) if ndim == 1 else key
    if wrong:
        with pytest.raises(IndexError):
            x_host[key]  # the oracle refuses too
        for k in (key, as_list):
            with pytest.raises(IndexError, match="boolean index of shape"):
                x[k]
            with pytest.raises(IndexError, match=r"at\[\].set: boolean index"):
                x.at[k].set(0.0)
            with pytest.raises(IndexError, match=r"at\[\].add: boolean index"):
                x.at[k].add(1.0)
    else:
        np.testing.assert_array_equal(np.asarray(x[key]), x_host[key])
        expected = x_host.copy()
        expected[key] = -1.0
        np.testing.assert_array_equal(np.asarray(x.at[key].set(-1.0)), expected)


def test_mask_after_ellipsis_is_checked_against_trailing_axes():
    x = fnp.zeros((2, 3))
    assert x[..., [True, False, True]].shape == (2, 2)
    with pytest.raises(IndexError, match=r"along axis 1, of shape \(3,\)"):
        x[..., [True, False]]


# --- funcgrad.lax: structural functions check their static arguments --------------------

_A = fnp.arange(24.0).reshape(2, 3, 4)
LAX_AXIS_CALLS = {
    "reduce_sum": lambda a: lax.reduce_sum(_A, (a,)),
    "reduce_max": lambda a: lax.reduce_max(_A, (a,)),
    "reduce_min": lambda a: lax.reduce_min(_A, (a,)),
    "reduce_prod": lambda a: lax.reduce_prod(_A, (a,)),
    "reduce_and": lambda a: lax.reduce_and(_A > 0, (a,)),
    "reduce_or": lambda a: lax.reduce_or(_A > 0, (a,)),
    "argmax": lambda a: lax.argmax(_A, a),
    "argmin": lambda a: lax.argmin(_A, a),
    "cumsum": lambda a: lax.cumsum(_A, a),
    "cumprod": lambda a: lax.cumprod(_A, a),
    "cummax": lambda a: lax.cummax(_A, a),
    "cummin": lambda a: lax.cummin(_A, a),
    "sort": lambda a: lax.sort(_A, a),
    "concatenate": lambda a: lax.concatenate([_A, _A], a),
    "rev": lambda a: lax.rev(_A, (a,)),
    "squeeze": lambda a: lax.squeeze(_A[:1], (a,)),
    # the result has rank 4: move out-of-range axes one further out
    "expand_dims": lambda a: (
        lax.expand_dims(_A, (a + 1 if a >= 0 else a - 1,))
        if type(a) is int
        else lax.expand_dims(_A, (a,))
    ),
    "slice_in_dim": lambda a: lax.slice_in_dim(_A, 0, 1, axis=a),
    "broadcasted_iota": lambda a: lax.broadcasted_iota(np.int32, (2, 3, 4), a),
    "transpose": lambda a: lax.transpose(_A, (a, 1, 0)),
}


@pytest.mark.parametrize("name", sorted(LAX_AXIS_CALLS))
@settings(max_examples=4)
@given(axis=st.one_of(st.integers(3, 1000), st.integers(-1000, -4)), bad=_NON_INTEGER_AXES)
def test_lax_axes_are_checked_not_wrapped(name, axis, bad):
    call = LAX_AXIS_CALLS[name]
    with pytest.raises((ValueError, IndexError), match=f"funcgrad.lax.{name}"):
        call(axis)
    with pytest.raises(TypeError, match=f"funcgrad.lax.{name}"):
        call(bad)


@settings(max_examples=20)
@given(m=st.integers(1, 4), k1=st.integers(1, 4), k2=st.integers(1, 4), n=st.integers(1, 4))
def test_dot_general_needs_equal_contracting_sizes(m, k1, k2, n):
    lhs, rhs = fnp.ones((m, k1)), fnp.ones((k2, n))
    dn = (((1,), (0,)), ((), ()))
    if k1 == k2:
        np.testing.assert_array_equal(
            np.asarray(lax.dot_general(lhs, rhs, dn)), np.ones((m, k1)) @ np.ones((k2, n))
        )
    else:
        with pytest.raises(ValueError, match="funcgrad.lax.dot_general: cannot contract"):
            lax.dot_general(lhs, rhs, dn)
    with pytest.raises(ValueError, match="funcgrad.lax.dot_general"):
        lax.dot_general(lhs, rhs, (((-1,), (0,)), ((), ())))  # negative dimensions


@settings(max_examples=20)
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
    data=st.data(),
)
def test_lax_slice_bounds_are_checked(shape, data):
    x = fnp.zeros(shape)
    start = [data.draw(st.integers(-2, s + 2)) for s in shape]
    limit = [data.draw(st.integers(-2, s + 2)) for s in shape]
    strides = [data.draw(st.integers(0, 3)) for _ in shape]
    valid = all(0 <= a <= b <= s and st_ >= 1 for a, b, s, st_ in zip(start, limit, shape, strides))
    if valid:
        expected = np.zeros(shape)[tuple(slice(a, b, c) for a, b, c in zip(start, limit, strides))]
        assert lax.slice(x, start, limit, strides).shape == expected.shape
    else:
        with pytest.raises(ValueError, match="funcgrad.lax.slice"):
            lax.slice(x, start, limit, strides)
    with pytest.raises(ValueError, match="funcgrad.lax.slice: .* one entry per axis"):
        lax.slice(x, [0] * (len(shape) + 1), list(shape) + [1])


@settings(max_examples=20)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), data=st.data())
def test_lax_reshape_and_broadcast_in_dim_are_checked(shape, data):
    x = fnp.zeros(shape)
    size = int(np.prod(shape))
    new = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=5))
    if int(np.prod(new)) == size:
        assert lax.reshape(x, new).shape == new
    else:
        with pytest.raises(ValueError, match="funcgrad.lax.reshape: cannot reshape"):
            lax.reshape(x, new)
    if size > 0:  # -1 is NumPy's "infer this size"; lax sizes are explicit
        with pytest.raises(ValueError, match="funcgrad.lax.reshape"):
            lax.reshape(x, (-1,))
    with pytest.raises(TypeError, match="funcgrad.lax.reshape: new_sizes must be an integer"):
        lax.reshape(x, (float(size),))
    # broadcast_in_dim: each operand axis maps to an output axis of the same size (or 1)
    out = tuple(d + data.draw(st.integers(0, 1)) for d in shape)
    dims = tuple(range(len(shape)))
    expected_ok = all(d in (1, o) for d, o in zip(shape, out))
    if expected_ok:
        np.testing.assert_array_equal(np.asarray(lax.broadcast_in_dim(x, out, dims)), np.zeros(out))
    else:
        with pytest.raises(ValueError, match="funcgrad.lax.broadcast_in_dim: cannot broadcast"):
            lax.broadcast_in_dim(x, out, dims)
    with pytest.raises(ValueError, match="funcgrad.lax.broadcast_in_dim"):
        lax.broadcast_in_dim(x, out, dims + (len(out),))  # one dimension too many


def test_lax_select_pad_iota_arguments_are_checked():
    x = fnp.arange(3.0)
    with pytest.raises(TypeError, match="funcgrad.lax.select: the predicate must be bool"):
        lax.select(fnp.ones(3), x, x)
    with pytest.raises(ValueError, match="funcgrad.lax.select: operands must have one shape"):
        lax.select(fnp.ones(2, bool), x, x)
    with pytest.raises(
        TypeError, match=r"funcgrad.lax.pad: padding_value must be a scalar .*\(2,\)"
    ):
        lax.pad(x, fnp.ones(2), [(1, 1, 0)])
    with pytest.raises(ValueError, match="funcgrad.lax.pad: padding_config has 2 entries"):
        lax.pad(x, 0.0, [(1, 1, 0), (0, 0, 0)])
    with pytest.raises(TypeError, match="funcgrad.lax.pad: padding_config must be"):
        lax.pad(x, 0.0, [(1, 1)])
    with pytest.raises(AxisError, match="funcgrad.lax.broadcasted_iota: dimension=4"):
        lax.broadcasted_iota(np.float32, (2, 3), 4)
    with pytest.raises(ValueError, match="funcgrad.lax.broadcasted_iota: shape .* negative"):
        lax.broadcasted_iota(np.float32, (2, -3), 0)
    with pytest.raises(TypeError, match="funcgrad.lax.argmax: index_dtype must be an integer"):
        lax.argmax(x, 0, np.float32)
    with pytest.raises(ValueError, match="funcgrad.lax.sort: num_keys=2"):
        lax.sort(x, 0, num_keys=2)


# --- huge shapes fail at once ------------------------------------------------------------

_ONE = fnp.ones(1)
HUGE_CALLS = {
    "funcgrad.numpy.zeros": lambda s: fnp.zeros(s),
    "funcgrad.numpy.ones": lambda s: fnp.ones(s, dtype=np.int8),
    "funcgrad.numpy.empty": lambda s: fnp.empty(s),
    "funcgrad.numpy.full": lambda s: fnp.full(s, 2.0),
    "funcgrad.numpy.zeros_like": lambda s: fnp.zeros_like(_ONE, shape=s),
    "funcgrad.numpy.ones_like": lambda s: fnp.ones_like(_ONE, shape=s),
    "funcgrad.numpy.full_like": lambda s: fnp.full_like(_ONE, 3.0, shape=s),
    "funcgrad.numpy.empty_like": lambda s: fnp.empty_like(_ONE, shape=s),
    "funcgrad.numpy.tile": lambda s: fnp.tile(_ONE, s),
    "funcgrad.numpy.repeat": lambda s: fnp.repeat(_ONE, int(np.prod(s, dtype=object))),
    "funcgrad.numpy.indices": lambda s: fnp.indices(s),
    "funcgrad.numpy.meshgrid": lambda s: fnp.meshgrid(*(fnp.zeros(d) for d in s)),
    "funcgrad.numpy.eye": lambda s: fnp.eye(s[0], int(np.prod(s[1:], dtype=object)) or 1),
    "funcgrad.numpy.tri": lambda s: fnp.tri(s[0], int(np.prod(s[1:], dtype=object)) or 1),
    "funcgrad.lax.full": lambda s: lax.full(s, 1.0),
    "funcgrad.lax.broadcast_in_dim": lambda s: lax.broadcast_in_dim(1.0, s, ()),
    "funcgrad.lax.broadcasted_iota": lambda s: lax.broadcasted_iota(np.int8, s, 0),
}


def _huge_shapes():
    """Shapes of 2-3 axes whose element count exceeds the machine's memory in bytes, with
    every axis small enough to be allocated on its own (meshgrid's inputs)."""
    limit = physical_memory_bytes()
    side = int(limit ** (1 / 2)) + 1
    return st.lists(st.integers(side, 4 * side), min_size=2, max_size=2).map(tuple)


@pytest.mark.parametrize("fname", sorted(HUGE_CALLS))
@settings(max_examples=3)
@given(shape=_huge_shapes())
def test_huge_results_raise_memory_error_at_once(fname, shape):
    start = time.perf_counter()
    with pytest.raises(MemoryError, match=fname.replace(".", r"\.")):
        HUGE_CALLS[fname](shape)
    assert time.perf_counter() - start < 5.0


def test_broadcast_to_stays_a_view_of_any_size():
    huge = (10**7, 10**7)
    assert fnp.broadcast_to(1.0, huge).shape == huge  # asked-for views are not allocated


# --- custom derivative rules must return what they promise --------------------------------


def test_custom_vjp_cotangents_are_checked():
    @funcgrad.custom_vjp
    def scale(x, y):
        return x * y

    def loss(x):
        return fnp.sum(scale(x, 2.0))

    x = fnp.ones(2)
    scale.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (fnp.ones(3), None))
    with pytest.raises(
        TypeError, match=r"scale: custom_vjp bwd returned a cotangent of shape \(3,\)"
    ):
        funcgrad.grad(loss)(x)
    scale.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g,))
    with pytest.raises(TypeError, match="scale: custom_vjp bwd must return a tuple with one"):
        funcgrad.grad(loss)(x)
    scale.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * 2 + 1j, None))
    with pytest.raises(TypeError, match="scale: custom_vjp bwd returned a complex cotangent"):
        funcgrad.grad(loss)(x)
    # a float64 cotangent for a float32 input is cast, so the gradient keeps the input's dtype
    scale.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g.astype(np.float64) * 2, None))
    g = funcgrad.grad(lambda x: fnp.sum(scale(x, np.float32(2.0))))(fnp.ones(2, np.float32))
    assert g.dtype == np.float32 and g.tolist() == [2.0, 2.0]

    @funcgrad.custom_vjp
    def first(tree):
        return tree["a"] * 2.0

    first.defvjp(lambda t: (first(t), None), lambda res, g: ([g * 2.0],))
    with pytest.raises(TypeError, match=r"first: custom_vjp bwd's cotangent for argument 0 has"):
        funcgrad.grad(lambda t: fnp.sum(first(t)))({"a": x})


@settings(max_examples=10)
@given(n=st.integers(1, 4), extra=st.integers(1, 3))
def test_custom_jvp_rule_outputs_are_checked(n, extra):
    @funcgrad.custom_jvp
    def f(x):
        return fnp.sin(x)

    x, t = fnp.ones(n), fnp.ones(n)
    f.defjvp(lambda p, tg: (f(p[0]), tg[0]) + (tg[0],) * extra)
    with pytest.raises(
        TypeError, match=f"f: the custom JVP rule must return a pair .* length {2 + extra}"
    ):
        funcgrad.jvp(f, (x,), (t,))
    f.defjvp(lambda p, tg: (f(p[0]), fnp.ones(n + extra)))
    with pytest.raises(
        TypeError, match=f"f: the custom JVP rule's tangent output has shape \\({n + extra},\\)"
    ):
        funcgrad.jvp(f, (x,), (t,))
    f.defjvp(lambda p, tg: (f(p[0]), tg[0].astype(np.float32)))
    with pytest.raises(
        TypeError, match="f: the custom JVP rule's tangent output has dtype float32"
    ):
        funcgrad.grad(lambda x: fnp.sum(f(x)))(x)
    f.defjvp(lambda p, tg: (f(p[0]), fnp.cos(p[0]) * tg[0]))
    np.testing.assert_allclose(
        np.asarray(funcgrad.grad(lambda x: fnp.sum(f(x)))(x)), np.cos(np.ones(n))
    )


# --- host data funcgrad cannot hold --------------------------------------------------------

_UNSUPPORTED = [
    np.array([1, "a"], dtype=object),
    np.array(["a", "bc"]),
    np.array([b"a"]),
    np.array(["2020-01-01"], dtype="datetime64[D]"),
    np.array([1], dtype="timedelta64[s]"),
    np.array([1.0], dtype=np.longdouble)
    if np.dtype(np.longdouble).itemsize > 8
    else np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
]
_ENTRY_POINTS = {
    "funcgrad.numpy.asarray": fnp.asarray,
    "funcgrad.numpy.array": fnp.array,
    "device_put": funcgrad.device_put,
    "funcgrad.numpy.add": lambda a: fnp.add(a, a),
    "funcgrad.numpy.sum": fnp.sum,
    "funcgrad.lax.neg": lax.neg,
}


@pytest.mark.parametrize("entry", sorted(_ENTRY_POINTS))
@pytest.mark.parametrize("host", _UNSUPPORTED, ids=lambda a: str(a.dtype))
def test_unsupported_host_dtypes_are_refused(entry, host):
    with pytest.raises(TypeError, match="is not supported by funcgrad"):
        _ENTRY_POINTS[entry](host)


# --- errors a person can act on ------------------------------------------------------------


def test_composite_errors_name_the_function_called():
    x = fnp.ones((2, 3))
    cases = [
        (lambda: fnp.var(x, mean=fnp.ones(4)), ValueError, "funcgrad.numpy.var: operands could not"),
        (lambda: x.std(mean=fnp.ones(5)), ValueError, "funcgrad.numpy.std: operands could not"),
        (lambda: fnp.ptp(x, axis=(0, 0)), ValueError, "funcgrad.numpy.ptp: repeated axis"),
        (lambda: fnp.allclose(x, fnp.ones(4)), ValueError, "funcgrad.numpy.allclose: "),
        (lambda: fnp.isclose(x, fnp.ones(4)), ValueError, "funcgrad.numpy.isclose: "),
        (lambda: fnp.linalg.inv(fnp.zeros((2, 2))), np.linalg.LinAlgError,
         "funcgrad.numpy.linalg.inv: Singular matrix"),
        (lambda: fnp.linalg.solve(fnp.zeros((2, 2)), fnp.ones(2)), np.linalg.LinAlgError,
         "funcgrad.numpy.linalg.solve: Singular matrix"),
    ]  # fmt: skip
    for call, kind, message in cases:
        with pytest.raises(kind, match=message.replace("(", r"\(")) as info:
            call()
        assert "funcgrad.numpy.subtract:" not in str(info.value)


def test_every_public_composite_relabels_its_errors():
    wrapped = [
        name for name in dir(fnp)
        if callable(getattr(fnp, name)) and hasattr(getattr(fnp, name), "__funcgrad_public__")
    ]  # fmt: skip
    assert {"var", "std", "mean", "clip", "einsum", "linspace", "concatenate"} <= set(wrapped)
    for name in wrapped:
        assert getattr(fnp, name).__funcgrad_public__.startswith("funcgrad.numpy.")


@given(
    inner=st.from_regex(r"funcgrad\.numpy\.[a-z_]{1,10}", fullmatch=True),
    detail=st.text(min_size=1, max_size=30).filter(lambda s: ":" not in s),
    kind=st.sampled_from([ValueError, TypeError, IndexError, AxisError]),
)
def test_relabel_names_the_outer_function_and_keeps_type_and_detail(inner, detail, kind):
    error = kind(f"{inner}: {detail}")
    out = relabel(error, "funcgrad.numpy.outer_fn")
    assert type(out) is kind
    assert str(out).startswith("funcgrad.numpy.outer_fn: ")
    assert detail in str(out) and (inner in str(out) or inner == "funcgrad.numpy.outer_fn")


def test_misc_errors_name_function_and_argument():
    x = fnp.arange(3.0)
    with pytest.raises(ValueError, match="array indexing: slice step cannot be zero"):
        x[::0]
    with pytest.raises(ValueError, match=r"at\[\].set: slice step cannot be zero"):
        x.at[::0].set(1.0)
    with pytest.raises(ValueError, match="funcgrad.numpy.iinfo: float64 is not an integer dtype"):
        fnp.iinfo(float)
    with pytest.raises(ValueError, match="funcgrad.numpy.finfo: int32 is not a floating-point"):
        fnp.finfo(np.int32)
    with pytest.raises(TypeError, match="funcgrad.numpy.dstack: expected a sequence of arrays"):
        fnp.dstack(1)
    with pytest.raises(TypeError, match="funcgrad.numpy.stack: expected a sequence of arrays"):
        fnp.stack(fnp.asarray(1.0))
    treedef = tree_util.tree_structure((1, 2))
    with pytest.raises(TypeError, match="tree_unflatten: leaves must be an iterable of 2 leaves"):
        tree_util.tree_unflatten(treedef, None)
    with pytest.raises(TypeError, match="funcgrad.grad: argnums must be an int or a tuple"):
        funcgrad.grad(lambda a: a, argnums="a")
    with pytest.raises(TypeError, match="funcgrad.jacrev: argnums must be an int or a tuple"):
        funcgrad.jacrev(lambda a: a, argnums=1.0)


@settings(max_examples=10)
@given(
    n=st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, int]), k=st.integers(0, 1)
)
def test_grad_accepts_numpy_integer_argnums(n, k):
    g = funcgrad.grad(lambda a, b: a * b * b, argnums=n(k))(2.0, 3.0)
    assert float(g) == (9.0 if k == 0 else 12.0)
    gs = funcgrad.grad(lambda a, b: a * b, argnums=(n(0), n(1)))(2.0, 3.0)
    assert [float(v) for v in gs] == [3.0, 2.0]
