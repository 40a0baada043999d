"""The Array type: operators, indexing, functional updates, immutability, conversions."""

from __future__ import annotations

import copy
import operator

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st
from hypothesis.extra import numpy as hnp
from oracle import arrays, assert_same, check_against_numpy, dtypes, shapes

import funcgrad
import funcgrad.numpy as fnp

# --- operators -----------------------------------------------------------------------

BINARY_OPERATORS = [
    (operator.add, "biufc"), (operator.sub, "iufc"), (operator.mul, "biufc"),
    (operator.truediv, "fc"), (operator.floordiv, "iuf"), (operator.mod, "iuf"),
    (operator.pow, "f"), (operator.and_, "biu"), (operator.or_, "biu"), (operator.xor, "biu"),
    (operator.lshift, "iu"), (operator.rshift, "iu"), (operator.eq, "biufc"),
    (operator.ne, "biufc"), (operator.lt, "biuf"), (operator.le, "biuf"), (operator.gt, "biuf"),
    (operator.ge, "biuf"),
]  # fmt: skip


def _operand_range(op, dtype):
    if op in (operator.lshift, operator.rshift):
        return 0, 5
    if op in (operator.floordiv, operator.mod, operator.pow):
        return 1, 4
    return -10, 10


@pytest.mark.parametrize("op,kinds", BINARY_OPERATORS, ids=lambda v: getattr(v, "__name__", v))
@given(data=st.data())
def test_binary_operators_broadcast_and_promote_like_numpy(op, kinds, data):
    s1, s2 = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3)).input_shapes
    d1, d2 = data.draw(dtypes(kinds)), data.draw(dtypes(kinds))
    assume(np.result_type(d1, d2).kind in kinds or op in (operator.eq, operator.ne))
    lo, hi = _operand_range(op, d1)
    x = data.draw(arrays(d1, s1, min_value=lo, max_value=hi))
    y = data.draw(arrays(d2, s2, min_value=lo, max_value=hi))
    with np.errstate(all="ignore"):
        check_against_numpy(op, op, x, y, check_abstract=True)


@pytest.mark.parametrize("op,kinds", BINARY_OPERATORS, ids=lambda v: getattr(v, "__name__", v))
@given(data=st.data())
def test_operators_with_python_scalars_are_weakly_typed(op, kinds, data):
    """NEP 50: float32 * 2.0 stays float32, int8 + 1 stays int8, on both sides."""
    dtype = data.draw(dtypes(kinds))
    lo, hi = _operand_range(op, dtype)
    x = data.draw(arrays(dtype, shapes(max_dims=2), min_value=lo, max_value=hi))
    kind = data.draw(st.sampled_from([k for k in ("b", "i", "f") if k in kinds] or ["i"]))
    scalar = {"b": True, "i": 2, "f": 2.0}[kind]
    if op in (operator.lshift, operator.rshift, operator.and_, operator.or_, operator.xor):
        assume(not isinstance(scalar, float))
    with np.errstate(all="ignore"):
        check_against_numpy(lambda a: op(a, scalar), lambda a: op(a, scalar), x)
        check_against_numpy(lambda a: op(scalar, a), lambda a: op(scalar, a), x)


@given(arrays(dtypes("iufc"), shapes(max_dims=3)))
def test_unary_operators(x):
    for op in (operator.neg, operator.pos, abs):
        check_against_numpy(op, op, x)


@given(arrays(dtypes("biu"), shapes(max_dims=3)))
def test_invert(x):
    check_against_numpy(operator.invert, operator.invert, x)


def test_numpy_scalars_on_the_left_defer_to_funcgrad():
    x = fnp.asarray([1.0, 2.0], dtype=fnp.float32)
    out = np.float32(2) * x
    assert isinstance(out, funcgrad.Array) and out.dtype == np.float32
    assert isinstance(np.ones(2) + x, funcgrad.Array)


def test_float64_is_never_downcast():
    x = fnp.asarray(np.ones(3, np.float64))
    assert (x * np.float32(2)).dtype == np.float64
    assert (x + fnp.ones(3, fnp.float32)).dtype == np.float64
    assert fnp.asarray(np.float64(1.5)).dtype == np.float64


@given(hnp.arrays(np.float64, shapes(min_dims=2, max_dims=3, min_side=1), elements=st.floats(-3, 3)))
def test_matmul_operator(x):
    y = np.swapaxes(x, -1, -2)
    check_against_numpy(operator.matmul, operator.matmul, x, y)


# --- indexing ------------------------------------------------------------------------


@st.composite
def index_for(draw, shape):
    """A NumPy index for ``shape``: ints, slices, None, Ellipsis, int arrays, lists, masks."""
    entries, dims = [], list(shape)
    ellipsis = False
    idx_shape = draw(shapes(max_dims=2, max_side=3))  # shared, so index arrays broadcast
    while dims and draw(st.integers(0, 4)):
        kind = draw(st.sampled_from(["int", "slice", "array", "list", "none", "ellipsis", "mask"]))
        if kind == "none":
            entries.append(None)
            continue
        if kind == "ellipsis":
            if not ellipsis:
                ellipsis = True
                entries.append(Ellipsis)
                dims = dims[: draw(st.integers(0, len(dims)))]
            continue
        n = dims.pop(0)
        if kind == "int" and n:
            entries.append(draw(st.integers(-n, n - 1)))
        elif kind in ("array", "list") and n:
            idx = draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(-n, n - 1)))
            entries.append(idx.tolist() if kind == "list" and idx.ndim else idx)
        elif kind == "mask":
            entries.append(draw(hnp.arrays(np.bool_, (n,))))
        else:
            entries.append(slice(draw(st.none() | st.integers(-n - 2, n + 2)),
                                 draw(st.none() | st.integers(-n - 2, n + 2)),
                                 draw(st.none() | st.sampled_from([1, 2, 3, -1, -2]))))  # fmt: skip
    if ellipsis:
        cut = next(i for i, e in enumerate(entries) if e is Ellipsis)
        entries = entries[: cut + 1]
    return tuple(entries) if draw(st.booleans()) or len(entries) != 1 else entries[0]


@given(data=st.data())
def test_getitem_matches_numpy(data):
    x = data.draw(arrays(dtypes(), shapes(max_dims=4)))
    key = data.draw(index_for(x.shape))
    try:
        x[key]
    except IndexError:  # e.g. index arrays that do not broadcast: we must refuse too
        with pytest.raises(IndexError):
            fnp.asarray(x)[key]
        return
    with_mask = any(isinstance(k, np.ndarray) and k.dtype == bool for k in (key if isinstance(key, tuple) else (key,)))
    check_against_numpy(lambda a: a[key], lambda a: a[key], x, check_abstract=not with_mask)


def test_getitem_with_funcgrad_index_arrays_and_traced_scalars():
    x = np.arange(24.0).reshape(2, 3, 4)
    fx = fnp.asarray(x)
    assert_same(fx[fnp.asarray([1, 0]), :, fnp.asarray(2)], x[[1, 0], :, 2])
    assert_same(fx[fnp.asarray(1)], x[1])
    assert_same(fx[fx > 10], x[x > 10])
    shape = funcgrad.eval_shape(lambda a, i: a[i, 1:], fx, fnp.asarray(0))
    assert shape.shape == (2, 4)


def test_bad_indices_raise_clear_errors():
    x = fnp.zeros((2, 3))
    with pytest.raises(IndexError, match="out of bounds"):
        x[5]
    with pytest.raises(IndexError, match="integer or boolean"):
        x[fnp.asarray([0.5])]
    with pytest.raises(IndexError, match="only integers, slices"):
        x["a"]
    with pytest.raises(funcgrad.ConcretizationError, match="boolean-mask"):
        funcgrad.eval_shape(lambda a: a[a > 0], x)


# --- functional updates --------------------------------------------------------------

_AT_REFERENCES = {
    "set": None, "add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum,
}  # fmt: skip


@pytest.mark.parametrize("mode", sorted(_AT_REFERENCES))
@given(data=st.data())
def test_at_updates_match_numpy_in_place_semantics(mode, data):
    x = data.draw(arrays(dtypes("iuf"), shapes(min_dims=1, max_dims=3), min_value=-5, max_value=5))
    key = data.draw(index_for(x.shape))
    try:
        target_shape = x[key].shape
    except IndexError:
        return  # an invalid key: test_getitem_matches_numpy checks that we refuse it too
    # updates may have fewer dimensions: they broadcast like NumPy assignment
    ushape = target_shape[data.draw(st.integers(0, len(target_shape))):]
    values = data.draw(arrays(x.dtype, ushape, min_value=-5, max_value=5))
    expected = x.copy()
    ufunc = _AT_REFERENCES[mode]
    if ufunc is None:
        expected[key] = values
    else:
        # np.ufunc.at does not take boolean masks: index by their nonzero positions
        np_key = tuple(np.nonzero(k)[0] if isinstance(k, np.ndarray) and k.dtype == bool else k
                       for k in (key if isinstance(key, tuple) else (key,)))  # fmt: skip
        ufunc.at(expected, np_key, np.broadcast_to(values, target_shape))
    fx = fnp.asarray(x)
    out = getattr(fx.at[key], mode)(fnp.asarray(values))
    assert_same(out, expected)
    np.testing.assert_array_equal(np.asarray(fx), x)  # the original is untouched


def test_at_divide_power_get_and_duplicate_indices():
    x = fnp.asarray([1.0, 2.0, 4.0])
    assert x.at[1:].divide(2.0).tolist() == [1.0, 1.0, 2.0]
    assert x.at[0].power(3).tolist() == [1.0, 2.0, 4.0]
    assert x.at[2].power(0.5).tolist() == [1.0, 2.0, 2.0]
    assert x.at[fnp.asarray([0, 0, 0])].add(1.0).tolist() == [4.0, 2.0, 4.0]
    assert x.at[fnp.asarray([0, 0])].multiply(3.0).tolist() == [9.0, 2.0, 4.0]
    assert x.at[::2].get().tolist() == [1.0, 4.0]


def test_at_rejects_lossy_and_misshaped_updates():
    with pytest.raises(TypeError, match=r"at\[\]\.set: updates of dtype float.*astype"):
        fnp.zeros(3, dtype=fnp.int32).at[0].set(1.5)
    with pytest.raises(TypeError, match="float64"):
        fnp.zeros(3, dtype=fnp.float32).at[0].set(fnp.ones((), fnp.float64))
    with pytest.raises(ValueError, match=r"shape \(2,\).*indexed shape \(3,\)"):
        fnp.zeros((2, 3)).at[0].set(fnp.ones(2))


def test_item_assignment_raises_with_the_at_hint():
    x = fnp.zeros(3)
    with pytest.raises(TypeError, match=r"x\.at\[idx\]\.set\(v\)"):
        x[0] = 1.0


# --- immutability --------------------------------------------------------------------


def test_host_data_is_copied_in_and_handed_out_read_only():
    host = np.arange(3.0)
    x = fnp.asarray(host)
    host[0] = 99.0
    assert x.tolist() == [0.0, 1.0, 2.0]
    view = np.asarray(x)
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0] = 5.0
    assert not funcgrad.device_get(x).flags.writeable
    assert not np.from_dlpack(x).flags.writeable
    assert x.tolist() == [0.0, 1.0, 2.0]


@given(arrays(dtypes(), shapes(max_dims=3)))
def test_operations_never_mutate_inputs(x):
    fx = fnp.asarray(x)
    _ = fx + fx, fx[..., ::-1] if x.ndim else fx, fx.reshape(-1), fx.T, fx.at[...].set(fx)
    np.testing.assert_array_equal(np.asarray(fx), x)


def test_arrays_are_unhashable_and_copy_returns_self():
    x = fnp.ones(2)
    with pytest.raises(TypeError):
        hash(x)
    assert copy.copy(x) is x and copy.deepcopy(x) is x


# --- conversions and properties ------------------------------------------------------


def test_properties_and_conversions():
    x = fnp.asarray(np.arange(6, dtype=np.int32).reshape(2, 3))
    assert (x.shape, x.dtype, x.ndim, x.size, x.backend, x.device) == ((2, 3), np.int32, 2, 6, "numpy", "numpy")
    assert x.T.shape == (3, 2) and x.mT.shape == (3, 2)
    assert x.astype(fnp.float32).dtype == np.float32
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert x.item(4) == 4 and x.item(1, 2) == 5 and isinstance(x.item(0), int)
    assert float(fnp.asarray(2.5)) == 2.5 and int(fnp.asarray(3)) == 3
    assert complex(fnp.asarray(1 + 2j)) == 1 + 2j
    assert [3, 4, 5][fnp.asarray(1)] == 4  # __index__
    assert len(x) == 2 and [r.tolist() for r in x] == [[0, 1, 2], [3, 4, 5]]
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert x.__array_namespace__() is fnp
    assert f"{fnp.asarray(1.5):.2f}" == "1.50"


def test_conversions_of_many_elements_and_tracers_fail_clearly():
    with pytest.raises(TypeError, match=r"bool\(\): only arrays with one element.*shape \(2,\)"):
        bool(fnp.ones(2))
    with pytest.raises(TypeError, match="0-d"):
        len(fnp.asarray(1.0))
    with pytest.raises(funcgrad.ConcretizationError, match="lax.cond"):
        funcgrad.eval_shape(lambda a: 1 if a > 0 else 0, fnp.asarray(1.0))
    with pytest.raises(TypeError, match="only integer arrays"):
        [1, 2][fnp.asarray(0.0)]


def test_repr_shows_values_dtype_and_backend():
    r = repr(fnp.asarray([1.5, 2.0], dtype=fnp.float32))
    assert r == "Array([1.5, 2. ], dtype=float32, backend=numpy)"
    assert str(fnp.asarray([1, 2])) == "[1 2]"
    assert "Traced<float32[2]>" in str(funcgrad.eval_shape(lambda a: repr(a), fnp.ones(2, fnp.float32)))


def test_dlpack_round_trip():
    x = fnp.asarray(np.arange(4.0))
    np.testing.assert_array_equal(np.from_dlpack(x), np.arange(4.0))
    assert x.__dlpack_device__() == np.arange(1.0).__dlpack_device__()


@given(arrays(dtypes(), shapes(max_dims=3)))
def test_method_forms_of_reductions_and_shape_ops(x):
    fx = fnp.asarray(x)
    if x.dtype.kind != "c":
        assert_same(fx.sum(axis=-1) if x.ndim else fx.sum(), x.sum(axis=-1) if x.ndim else x.sum())
        if x.size:
            assert_same(fx.max(), x.max())
            assert_same(fx.argmin(), x.argmin())
    assert_same(fx.ravel(), x.ravel())
    assert_same(fx.any(), x.any())
    assert_same(fx.transpose(), x.transpose())
