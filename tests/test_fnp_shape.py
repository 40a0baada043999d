"""Shape manipulation in funcgrad.numpy against NumPy: reshaping, joining, splitting, tiling,
rolling, rotating and padding, on generated shapes, dtypes and axes, plus error messages."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracle import arrays, assert_same, check_against_numpy, dtypes, shapes

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.numpy import shape as shape_module
from funcgrad.test_util import check_grads

ANY = dtypes("biufc")


def _axis(data, ndim, *, allow_negative=True):
    """An axis of an ``ndim``-D array, sometimes negative."""
    ax = data.draw(st.integers(0, ndim - 1))
    if allow_negative and data.draw(st.booleans()):
        ax -= ndim
    return ax


def test_every_public_name_is_tested():
    tested = {
        "array_split", "block", "broadcast_arrays", "broadcast_shapes", "broadcast_to",
        "column_stack", "concat", "concatenate", "dsplit", "dstack", "expand_dims", "flip",
        "fliplr", "flipud", "hsplit", "hstack", "matrix_transpose", "moveaxis", "pad",
        "permute_dims", "ravel", "repeat", "reshape", "roll", "rot90", "split", "squeeze",
        "stack", "swapaxes", "tile", "transpose", "trim_zeros", "unstack", "vsplit", "vstack",
    }  # fmt: skip
    assert set(shape_module.__all__) == tested
    for name in tested:
        assert inspect.unwrap(getattr(fnp, name)) is getattr(shape_module, name)


# --- reshape, ravel ---------------------------------------------------------------------


@given(data=st.data())
def test_reshape(data):
    x = data.draw(arrays(ANY, shapes(max_dims=4)))
    # A new shape with the same size: the dims permuted, some merged, maybe one -1.
    dims = list(data.draw(st.permutations(x.shape)))
    while len(dims) > 1 and data.draw(st.booleans()):
        dims[:2] = [dims[0] * dims[1]]
    if dims and data.draw(st.booleans()) and 0 not in dims:
        dims[data.draw(st.integers(0, len(dims) - 1))] = -1
    order = data.draw(st.sampled_from(["C", "F", "A"]))
    check_against_numpy(fnp.reshape, np.reshape, x, tuple(dims), order=order)
    if dims:
        check_against_numpy(lambda a: a.reshape(*dims), lambda a: a.reshape(*dims), x)


def test_reshape_int_shape_and_newshape():
    x = np.arange(6)
    assert_same(fnp.reshape(fnp.asarray(x), 6), x.reshape(6))
    assert_same(fnp.reshape(fnp.asarray(x), newshape=(3, 2)), x.reshape(3, 2))
    assert_same(fnp.reshape(fnp.asarray(5.0), (1, 1)), np.reshape(5.0, (1, 1)))
    assert_same(fnp.reshape([[1, 2], [3, 4]], -1), np.reshape([[1, 2], [3, 4]], -1))


def test_reshape_errors():
    x = fnp.zeros((2, 3))
    with pytest.raises(
        ValueError,
        match=(
            r"funcgrad.numpy.reshape: cannot reshape an array of shape \(2, 3\) \(size 6\) into"
            r" shape \(4,\)"
        ),
    ):
        fnp.reshape(x, (4,))
    with pytest.raises(ValueError, match=r"reshape: cannot reshape .*\(2, 3\).*\(4, -1\)"):
        fnp.reshape(x, (4, -1))
    with pytest.raises(ValueError, match="only specify one unknown dimension"):
        fnp.reshape(x, (-1, -1))
    with pytest.raises(ValueError, match="negative dimensions"):
        fnp.reshape(x, (-2, -3))
    with pytest.raises(ValueError, match=r"cannot reshape an array of shape \(0,\)"):
        fnp.reshape(fnp.zeros(0), (-1, 0))
    with pytest.raises(TypeError, match="shape must be an integer"):
        fnp.reshape(x, (2.0, 3))
    with pytest.raises(ValueError, match="order must be"):
        fnp.reshape(x, (3, 2), order="K")


@given(x=arrays(ANY, shapes(max_dims=4)), order=st.sampled_from(["C", "F", "A", "K"]))
def test_ravel(x, order):
    check_against_numpy(fnp.ravel, np.ravel, x, order=order)
    check_against_numpy(lambda a: a.flatten(), lambda a: a.flatten(), x)


# --- transposing ------------------------------------------------------------------------


@given(data=st.data())
def test_transpose_and_permute_dims(data):
    x = data.draw(arrays(ANY, shapes(max_dims=4)))
    check_against_numpy(fnp.transpose, np.transpose, x)
    perm = [p - x.ndim if data.draw(st.booleans()) else p
            for p in data.draw(st.permutations(range(x.ndim)))]  # fmt: skip
    check_against_numpy(fnp.transpose, np.transpose, x, perm)
    check_against_numpy(fnp.permute_dims, np.permute_dims, x, tuple(perm))
    check_against_numpy(lambda a: a.T, lambda a: a.T, x)


@given(x=arrays(ANY, shapes(min_dims=2, max_dims=4)))
def test_matrix_transpose(x):
    check_against_numpy(fnp.matrix_transpose, np.matrix_transpose, x)
    check_against_numpy(lambda a: a.mT, lambda a: a.mT, x)


@given(data=st.data())
def test_moveaxis(data):
    x = data.draw(arrays(ANY, shapes(min_dims=1, max_dims=4)))
    k = data.draw(st.integers(1, x.ndim))
    src = data.draw(st.permutations(range(x.ndim)))[:k]
    dst = data.draw(st.permutations(range(-x.ndim, 0)))[:k]
    check_against_numpy(fnp.moveaxis, np.moveaxis, x, src, dst)
    check_against_numpy(fnp.moveaxis, np.moveaxis, x, src[0], dst[0])


@given(data=st.data())
def test_swapaxes(data):
    x = data.draw(arrays(ANY, shapes(min_dims=1, max_dims=4)))
    check_against_numpy(fnp.swapaxes, np.swapaxes, x, _axis(data, x.ndim), _axis(data, x.ndim))


def test_transpose_errors():
    x = fnp.zeros((2, 3))
    with pytest.raises(
        ValueError,
        match=r"funcgrad.numpy.transpose: axes \(0,\) don't match an array of shape \(2, 3\)",
    ):
        fnp.transpose(x, (0,))
    with pytest.raises(ValueError, match="repeated axis"):
        fnp.transpose(x, (1, 1))
    with pytest.raises(ValueError, match="funcgrad.numpy.transpose: axes=2 is out of bounds"):
        fnp.transpose(x, (0, 2))
    with pytest.raises(ValueError, match="moveaxis: source .* same number"):
        fnp.moveaxis(x, (0, 1), 0)
    with pytest.raises(ValueError, match="funcgrad.numpy.swapaxes: axis2=5 is out of bounds"):
        fnp.swapaxes(x, 0, 5)
    with pytest.raises(ValueError, match="matrix_transpose: .*at least 2 dimensions"):
        fnp.matrix_transpose(fnp.zeros(3))


# --- expand_dims, squeeze ---------------------------------------------------------------


@given(data=st.data())
def test_expand_dims(data):
    x = data.draw(arrays(ANY, shapes(max_dims=3)))
    k = data.draw(st.integers(1, 3))
    out_ndim = x.ndim + k
    axes = data.draw(st.permutations(range(out_ndim)))[:k]
    axes = tuple(a - out_ndim if data.draw(st.booleans()) else a for a in axes)
    check_against_numpy(fnp.expand_dims, np.expand_dims, x, axes)
    single = data.draw(st.integers(-x.ndim - 1, x.ndim))
    check_against_numpy(fnp.expand_dims, np.expand_dims, x, single)


@given(data=st.data())
def test_squeeze(data):
    shape = data.draw(shapes(max_dims=5, min_side=0, max_side=3))
    x = data.draw(arrays(ANY, shape))
    check_against_numpy(fnp.squeeze, np.squeeze, x)
    ones = [i for i, d in enumerate(shape) if d == 1]
    if ones:
        chosen = tuple(data.draw(st.lists(st.sampled_from(ones), min_size=1, unique=True)))
        check_against_numpy(fnp.squeeze, np.squeeze, x, chosen)
        check_against_numpy(fnp.squeeze, np.squeeze, x, chosen[0] - x.ndim)


def test_squeeze_and_expand_dims_errors():
    with pytest.raises(
        ValueError,
        match=(
            r"funcgrad.numpy.squeeze: cannot squeeze axis 1 of an array of shape \(1, 3\): its"
            r" size is 3, not 1"
        ),
    ):
        fnp.squeeze(fnp.zeros((1, 3)), axis=1)
    with pytest.raises(ValueError, match="squeeze: axis=2 is out of bounds"):
        fnp.squeeze(fnp.zeros((1, 3)), axis=2)
    with pytest.raises(ValueError, match="expand_dims: repeated axis"):
        fnp.expand_dims(fnp.zeros(3), (0, 0))
    with pytest.raises(ValueError, match="expand_dims: axis=3 is out of bounds"):
        fnp.expand_dims(fnp.zeros(3), 3)


# --- broadcasting -----------------------------------------------------------------------


@given(data=st.data())
def test_broadcast_to_arrays_shapes(data):
    shapes_, result = data.draw(
        hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=4, max_side=4)
    )
    xs = [data.draw(arrays(ANY, s)) for s in shapes_]
    check_against_numpy(fnp.broadcast_arrays, np.broadcast_arrays, *xs)
    assert fnp.broadcast_shapes(*shapes_) == np.broadcast_shapes(*shapes_) == result
    check_against_numpy(fnp.broadcast_to, np.broadcast_to, xs[0], result)
    assert isinstance(fnp.broadcast_arrays(*[fnp.asarray(x) for x in xs]), tuple)


def test_broadcast_errors():
    with pytest.raises(
        ValueError,
        match=(
            r"funcgrad.numpy.broadcast_to: cannot broadcast an array of shape \(3,\) to shape"
            r" \(4,\)"
        ),
    ):
        fnp.broadcast_to(fnp.zeros(3), (4,))
    with pytest.raises(
        ValueError,
        match=r"broadcast_to: cannot broadcast an array of shape \(2, 1\) to shape \(1,\)",
    ):
        fnp.broadcast_to(fnp.zeros((2, 1)), 1)
    with pytest.raises(ValueError, match=r"broadcast_shapes: shapes \(2,\) \(3,\)"):
        fnp.broadcast_shapes((2,), (3,))
    with pytest.raises(ValueError, match=r"broadcast_arrays: shapes \(2,\) \(3,\)"):
        fnp.broadcast_arrays(fnp.zeros(2), fnp.zeros(3))


# --- joining ----------------------------------------------------------------------------


@given(data=st.data())
def test_concatenate(data):
    base = data.draw(shapes(min_dims=1, max_dims=3))
    axis = _axis(data, len(base))
    n = data.draw(st.integers(1, 4))
    xs = []
    for _ in range(n):
        s = list(base)
        s[axis] = data.draw(st.integers(0, 3))
        xs.append(data.draw(arrays(ANY, tuple(s))))
    check_against_numpy(fnp.concatenate, np.concatenate, xs, axis=axis)
    check_against_numpy(fnp.concatenate, np.concatenate, tuple(xs), axis=None)
    check_against_numpy(fnp.concat, np.concat, xs, axis=axis)


@given(data=st.data())
def test_concatenate_dtype_argument(data):
    xs = [data.draw(arrays(dtypes("iu"), (data.draw(st.integers(0, 3)),))) for _ in range(2)]
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int64, np.complex64]))
    check_against_numpy(fnp.concatenate, np.concatenate, xs, dtype=dtype)
    check_against_numpy(fnp.stack, np.stack, [xs[0], xs[0]], dtype=dtype)


def test_concatenate_lists_and_arrays():
    x = np.ones((2, 3), np.float32)
    assert_same(fnp.concatenate([[1, 2], fnp.asarray(x[0])]), np.concatenate([[1, 2], x[0]]))
    assert_same(fnp.concatenate(fnp.asarray(x)), np.concatenate(x))  # iterates axis 0


def test_concatenate_errors():
    with pytest.raises(
        ValueError,
        match=(
            r"funcgrad.numpy.concatenate: all input array dimensions except for the"
            r" concatenation axis 0 must match, got shapes \(2, 3\), \(2, 4\)"
        ),
    ):
        fnp.concatenate([fnp.zeros((2, 3)), fnp.zeros((2, 4))])
    with pytest.raises(ValueError, match=r"same number of dimensions.*\(2, 3\).*\(3,\)"):
        fnp.concatenate([fnp.zeros((2, 3)), fnp.zeros(3)])
    with pytest.raises(ValueError, match="zero-dimensional arrays cannot be concatenated"):
        fnp.concatenate([fnp.asarray(1.0), fnp.asarray(2.0)])
    with pytest.raises(ValueError, match="need at least one array"):
        fnp.concatenate([])
    with pytest.raises(ValueError, match="concatenate: axis=2 is out of bounds"):
        fnp.concatenate([fnp.zeros((2, 3))], axis=2)
    with pytest.raises(TypeError, match="cannot cast an array of dtype float64 to dtype int64"):
        fnp.concatenate([fnp.zeros(2)], dtype=np.int64)
    with pytest.raises(
        ValueError,
        match=(
            r"funcgrad.numpy.stack: all input arrays must have the same shape, got shapes"
            r" \(2,\), \(3,\)"
        ),
    ):
        fnp.stack([fnp.zeros(2), fnp.zeros(3)])
    with pytest.raises(ValueError, match="stack: need at least one array"):
        fnp.stack([])


@given(data=st.data())
def test_stack_family(data):
    shape = data.draw(shapes(max_dims=3))
    n = data.draw(st.integers(1, 3))
    xs = [data.draw(arrays(ANY, shape)) for _ in range(n)]
    axis = _axis(data, len(shape) + 1)
    check_against_numpy(fnp.stack, np.stack, xs, axis=axis)
    for name in ("vstack", "dstack"):
        check_against_numpy(getattr(fnp, name), getattr(np, name), xs)
    if len(shape) <= 2:
        check_against_numpy(fnp.column_stack, np.column_stack, xs)
    check_against_numpy(fnp.hstack, np.hstack, xs)


@given(data=st.data())
def test_hstack_vstack_unequal_lengths(data):
    xs = [data.draw(arrays(ANY, (data.draw(st.integers(0, 3)),))) for _ in range(3)]
    check_against_numpy(fnp.hstack, np.hstack, xs)
    rows = [data.draw(arrays(ANY, (data.draw(st.integers(1, 3)), 2))) for _ in range(3)]
    check_against_numpy(fnp.vstack, np.vstack, rows)
    check_against_numpy(fnp.hstack, np.hstack, [r.T for r in rows])
    check_against_numpy(fnp.dstack, np.dstack, [r[None] for r in rows[:1]] * 2)


def test_asarray_of_arrays_stacks():
    x, y = fnp.asarray([1.0, 2.0]), fnp.asarray([3.0, 4.0])
    assert_same(fnp.asarray([x, y]), np.array([[1.0, 2.0], [3.0, 4.0]]))


@given(data=st.data())
def test_unstack(data):
    x = data.draw(arrays(ANY, shapes(min_dims=1, max_dims=3)))
    axis = _axis(data, x.ndim)
    check_against_numpy(fnp.unstack, np.unstack, x, axis=axis)


def test_unstack_error():
    with pytest.raises(ValueError, match="unstack: input must be at least 1-dimensional"):
        fnp.unstack(fnp.asarray(1.0))


def test_block():
    a, b = np.ones((2, 2)), np.zeros((2, 1))
    c, d = np.arange(3.0), np.full((1, 3), 7.0)
    check_against_numpy(fnp.block, np.block, [[a, b], [d]])
    check_against_numpy(fnp.block, np.block, [a, a])
    check_against_numpy(fnp.block, np.block, [[[c]], [[c]]])
    check_against_numpy(fnp.block, np.block, [1, 2, c])
    check_against_numpy(fnp.block, np.block, a)
    with pytest.raises(
        ValueError,
        match=(
            r"block: list depths are mismatched: arrays\[0\] is at depth 1 but arrays\[1\]\[0\]"
            r" is at depth 2"
        ),
    ):
        fnp.block([a, [a]])
    with pytest.raises(ValueError, match="block: lists cannot be empty"):
        fnp.block([[]])


# --- splitting --------------------------------------------------------------------------


def _leaf_compare(actual, expected):
    assert isinstance(actual, list) and len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert_same(a, e)


@given(data=st.data())
def test_split_sections_and_indices(data):
    x = data.draw(arrays(ANY, shapes(min_dims=1, max_dims=3)))
    axis = _axis(data, x.ndim)
    n = x.shape[axis]
    divisors = [k for k in range(1, n + 1) if n % k == 0] or [1, 2, 3]
    sections = data.draw(st.sampled_from(divisors))
    _leaf_compare(fnp.split(fnp.asarray(x), sections, axis), np.split(x, sections, axis))
    check_against_numpy(fnp.split, np.split, x, sections, axis)
    points = data.draw(st.lists(st.integers(-n - 2, n + 2), max_size=4))
    check_against_numpy(fnp.split, np.split, x, points, axis)
    check_against_numpy(fnp.array_split, np.array_split, x, np.array(points, np.int64), axis,
                        check_abstract=False)  # fmt: skip
    check_against_numpy(fnp.array_split, np.array_split, x, data.draw(st.integers(1, 6)), axis)


@given(data=st.data())
def test_hsplit_vsplit_dsplit(data):
    x = data.draw(arrays(ANY, shapes(min_dims=3, max_dims=4, min_side=2, max_side=4)))
    for name, axis in (("hsplit", 1), ("vsplit", 0), ("dsplit", 2)):
        sections = data.draw(st.sampled_from([k for k in (1, 2, 3, 4) if x.shape[axis] % k == 0]))
        check_against_numpy(getattr(fnp, name), getattr(np, name), x, sections)
        check_against_numpy(getattr(fnp, name), getattr(np, name), x, [1])
    v = data.draw(arrays(ANY, (4,)))
    check_against_numpy(fnp.hsplit, np.hsplit, v, 2)


def test_split_errors():
    with pytest.raises(
        ValueError,
        match=(
            r"funcgrad.numpy.split: array split does not result in an equal division: axis 0 of"
            r" size 5 cannot be split into 3"
        ),
    ):
        fnp.split(fnp.zeros(5), 3)
    with pytest.raises(ValueError, match="array_split: the number of sections must be positive"):
        fnp.array_split(fnp.zeros(5), 0)
    with pytest.raises(ValueError, match="vsplit only works on arrays of 2 or more dimensions"):
        fnp.vsplit(fnp.zeros(4), 2)
    with pytest.raises(ValueError, match="dsplit only works on arrays of 3 or more"):
        fnp.dsplit(fnp.zeros((2, 2)), 2)
    with pytest.raises(ValueError, match="hsplit only works on arrays of 1 or more"):
        fnp.hsplit(fnp.asarray(1.0), 1)


# --- tile, repeat -----------------------------------------------------------------------


@given(data=st.data())
def test_tile(data):
    x = data.draw(arrays(ANY, shapes(max_dims=3, max_side=3)))
    reps = data.draw(
        st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), max_size=4).map(tuple))
    )
    check_against_numpy(fnp.tile, np.tile, x, reps)


@given(data=st.data())
def test_repeat(data):
    x = data.draw(arrays(ANY, shapes(max_dims=3, max_side=4)))
    r = data.draw(st.integers(0, 3))
    check_against_numpy(fnp.repeat, np.repeat, x, r)
    check_against_numpy(lambda a: a.repeat(r), lambda a: a.repeat(r), x)
    if x.ndim:
        axis = _axis(data, x.ndim)
        check_against_numpy(fnp.repeat, np.repeat, x, r, axis)
        reps = data.draw(arrays(np.int64, (x.shape[axis],), min_value=0, max_value=3))
        check_against_numpy(fnp.repeat, np.repeat, x, reps, axis, check_abstract=False)
        check_against_numpy(fnp.repeat, np.repeat, x, [r], axis)
        # With total_repeat_length the array-repeats form is traceable.
        total = int(reps.sum())
        check_against_numpy(
            lambda a, rp: fnp.repeat(a, rp, axis, total_repeat_length=total),
            lambda a, rp: np.repeat(a, rp, axis), x, reps,
        )  # fmt: skip
    flat_reps = data.draw(arrays(np.int64, (x.size,), min_value=0, max_value=3))
    check_against_numpy(fnp.repeat, np.repeat, x, flat_reps, check_abstract=False)


def test_repeat_total_repeat_length_pads_and_truncates():
    x = fnp.asarray([1, 2, 3])
    reps = fnp.asarray([1, 2, 0])
    assert fnp.repeat(x, reps, total_repeat_length=5).tolist() == [1, 2, 2, 3, 3]
    assert fnp.repeat(x, reps, total_repeat_length=2).tolist() == [1, 2]
    shape = funcgrad.eval_shape(lambda a, r: fnp.repeat(a, r, total_repeat_length=7), x, reps)
    assert shape.shape == (7,)


def test_repeat_errors():
    x = fnp.asarray([1, 2, 3])
    with pytest.raises(
        funcgrad.ConcretizationError,
        match="funcgrad.numpy.repeat: the output length .*total_repeat_length",
    ):
        funcgrad.eval_shape(lambda a, r: fnp.repeat(a, r), x, fnp.asarray([1, 1, 1]))
    with pytest.raises(ValueError, match="repeat: repeats may not contain negative values"):
        fnp.repeat(x, fnp.asarray([1, -1, 1]))
    with pytest.raises(ValueError, match="repeat: repeats may not be negative"):
        fnp.repeat(x, -1)
    with pytest.raises(
        ValueError, match=r"repeat: repeats of shape \(2,\) cannot be broadcast to the 3 elements"
    ):
        fnp.repeat(x, fnp.asarray([1, 2]))
    with pytest.raises(TypeError, match="repeat: repeats must be integers"):
        fnp.repeat(x, fnp.asarray([1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="tile: reps must be non-negative"):
        fnp.tile(x, -1)


# --- flip, roll, rot90 ------------------------------------------------------------------


@given(data=st.data())
def test_flip(data):
    x = data.draw(arrays(ANY, shapes(max_dims=4)))
    check_against_numpy(fnp.flip, np.flip, x)
    if x.ndim:
        check_against_numpy(fnp.flip, np.flip, x, _axis(data, x.ndim))
        axes = tuple(data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True)))
        check_against_numpy(fnp.flip, np.flip, x, axes)
        check_against_numpy(fnp.flipud, np.flipud, x)
    if x.ndim >= 2:
        check_against_numpy(fnp.fliplr, np.fliplr, x)


@given(data=st.data())
def test_roll(data):
    x = data.draw(arrays(ANY, shapes(max_dims=3)))
    shift = data.draw(st.integers(-7, 7))
    check_against_numpy(fnp.roll, np.roll, x, shift)
    if x.ndim:
        k = data.draw(st.integers(1, 3))
        axes = tuple(_axis(data, x.ndim) for _ in range(k))  # repeated axes add up
        shifts = tuple(data.draw(st.integers(-7, 7)) for _ in range(k))
        check_against_numpy(fnp.roll, np.roll, x, shifts, axes)
        check_against_numpy(fnp.roll, np.roll, x, shift, axes)
        check_against_numpy(fnp.roll, np.roll, x, shifts, axes[0])
        # A shift given as an array (possibly traced) takes the gather path.
        check_against_numpy(
            lambda a, s: fnp.roll(a, s, axes),
            lambda a, s: np.roll(a, tuple(s), axes), x, np.array(shifts),
        )  # fmt: skip
        check_against_numpy(
            lambda a, s: fnp.roll(a, s, axes[0]),
            lambda a, s: np.roll(a, int(s), axes[0]), x, np.array(shift),
        )  # fmt: skip


@given(data=st.data())
def test_rot90(data):
    x = data.draw(arrays(ANY, shapes(min_dims=2, max_dims=4)))
    k = data.draw(st.integers(-5, 5))
    a0 = _axis(data, x.ndim)
    a1 = _axis(data, x.ndim)
    assume(a0 % x.ndim != a1 % x.ndim)
    check_against_numpy(fnp.rot90, np.rot90, x, k, (a0, a1))
    check_against_numpy(fnp.rot90, np.rot90, x, k)


def test_flip_roll_rot90_errors():
    with pytest.raises(ValueError, match="fliplr: the input must be at least 2-D"):
        fnp.fliplr(fnp.zeros(3))
    with pytest.raises(ValueError, match="flipud: the input must be at least 1-D"):
        fnp.flipud(fnp.asarray(1.0))
    with pytest.raises(ValueError, match="flip: axis=3 is out of bounds"):
        fnp.flip(fnp.zeros((2, 2)), 3)
    with pytest.raises(ValueError, match="rot90: axes must be different"):
        fnp.rot90(fnp.zeros((2, 2)), axes=(0, -2))
    with pytest.raises(ValueError, match="rot90: axes must hold exactly 2 axes"):
        fnp.rot90(fnp.zeros((2, 2)), axes=(0,))
    with pytest.raises(ValueError, match="rot90: axes=2 is out of bounds"):
        fnp.rot90(fnp.zeros((2, 2)), axes=(0, 2))
    with pytest.raises(ValueError, match="roll: shift .* and axis .* broadcastable"):
        fnp.roll(fnp.zeros((2, 2)), (1, 2, 3), (0, 1))


# --- pad --------------------------------------------------------------------------------

PAD_MODES = ["constant", "edge", "reflect", "symmetric", "wrap"]


@settings(max_examples=40)
@given(data=st.data(), mode=st.sampled_from(PAD_MODES))
def test_pad_modes(data, mode):
    # Widths up to 3x the axis: reflect/symmetric/wrap then repeat, as in NumPy.
    x = data.draw(
        arrays(ANY, shapes(max_dims=3, min_side=1 if mode != "constant" else 0, max_side=4))
    )
    widths = [(data.draw(st.integers(0, 12)), data.draw(st.integers(0, 12))) for _ in range(x.ndim)]
    if x.ndim:
        check_against_numpy(fnp.pad, np.pad, x, widths, mode)
    w = data.draw(st.integers(0, 9))
    check_against_numpy(fnp.pad, np.pad, x, w, mode)
    check_against_numpy(fnp.pad, np.pad, x, (w, data.draw(st.integers(0, 9))), mode)
    check_against_numpy(fnp.pad, np.pad, x, ((w, 1),), mode)


@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric", "wrap"])
def test_pad_large_widths_exhaustive_1d(mode):
    for n in range(1, 5):
        x = np.arange(1, n + 1) * 10
        for lo in range(13):
            for hi in range(0, 13, 3):
                assert_same(fnp.pad(fnp.asarray(x), (lo, hi), mode), np.pad(x, (lo, hi), mode))


@given(data=st.data())
def test_pad_constant_values(data):
    dtype = data.draw(dtypes("iuf"))
    x = data.draw(arrays(dtype, shapes(min_dims=1, max_dims=3, max_side=3)))
    widths = [(data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))) for _ in range(x.ndim)]
    values = [(data.draw(st.integers(0, 9)), data.draw(st.integers(0, 9))) for _ in range(x.ndim)]
    check_against_numpy(fnp.pad, np.pad, x, widths, constant_values=values)
    check_against_numpy(fnp.pad, np.pad, x, widths, constant_values=7)
    check_against_numpy(fnp.pad, np.pad, x, widths, constant_values=(1, 2))
    check_against_numpy(fnp.pad, np.pad, x, {-1: (1, 2)}, constant_values=3)
    check_against_numpy(fnp.pad, np.pad, x, {0: 2})


def test_pad_constant_value_casts_as_numpy():
    x = np.array([1, 2], np.uint8)
    assert_same(fnp.pad(fnp.asarray(x), 1, constant_values=-1), np.pad(x, 1, constant_values=-1))
    y = np.array([1, 2])
    assert_same(fnp.pad(fnp.asarray(y), 1, constant_values=1.7), np.pad(y, 1, constant_values=1.7))
    # A (possibly traced) 0-d array as the value.
    assert_same(
        fnp.pad(fnp.asarray(y), 1, constant_values=fnp.asarray(9)), np.pad(y, 1, constant_values=9)
    )
    out = funcgrad.eval_shape(
        lambda a, v: fnp.pad(a, (1, 2), constant_values=v), fnp.asarray(y), fnp.asarray(3.0)
    )
    assert (out.shape, out.dtype) == ((5,), np.int64)


def test_pad_empty_mode_is_zero_and_0d():
    x = np.arange(3.0)
    assert fnp.pad(fnp.asarray(x), 2, mode="empty").tolist() == [0, 0, 0, 1, 2, 0, 0]
    assert_same(fnp.pad(fnp.asarray(np.float32(2.0)), 3), np.pad(np.float32(2.0), 3))


def test_pad_errors():
    x = fnp.zeros((2, 3))
    with pytest.raises(ValueError, match="pad: pad_width may not be negative"):
        fnp.pad(x, -1)
    with pytest.raises(TypeError, match="pad: pad_width must be integers"):
        fnp.pad(x, 1.5)
    with pytest.raises(
        ValueError, match=r"pad: pad_width of shape \(3, 2\) cannot be broadcast to \(2, 2\)"
    ):
        fnp.pad(x, ((1, 1), (1, 1), (1, 1)))
    with pytest.raises(ValueError, match="pad: mode 'mean' is not supported"):
        fnp.pad(x, 1, mode="mean")
    with pytest.raises(ValueError, match="pad: unsupported keyword arguments for mode 'edge'"):
        fnp.pad(x, 1, mode="edge", constant_values=3)
    with pytest.raises(NotImplementedError, match="reflect_type='even'"):
        fnp.pad(x, 1, mode="reflect", reflect_type="odd")
    with pytest.raises(ValueError, match="pad: cannot pad the empty axis 0"):
        fnp.pad(fnp.zeros((0, 3)), 1, mode="wrap")


# --- trim_zeros -------------------------------------------------------------------------


@given(data=st.data(), trim=st.sampled_from(["f", "b", "fb", "bf", "FB"]))
def test_trim_zeros(data, trim):
    x = data.draw(arrays(dtypes("iuf"), shapes(min_dims=1, max_dims=3), min_value=0, max_value=2))
    check_against_numpy(fnp.trim_zeros, np.trim_zeros, x, trim, check_abstract=False)
    axis = _axis(data, x.ndim)
    check_against_numpy(fnp.trim_zeros, np.trim_zeros, x, trim, axis, check_abstract=False)


def test_trim_zeros_needs_concrete_values():
    with pytest.raises(funcgrad.ConcretizationError, match="funcgrad.numpy.trim_zeros"):
        funcgrad.eval_shape(fnp.trim_zeros, fnp.asarray([0, 1, 0]))
    with pytest.raises(ValueError, match="trim must be"):
        fnp.trim_zeros(fnp.asarray([0, 1]), "x")


# --- traced static arguments ------------------------------------------------------------


def test_traced_shape_arguments_raise_concretization_errors():
    x = fnp.zeros(6)
    with pytest.raises(funcgrad.ConcretizationError):
        funcgrad.eval_shape(lambda a, n: fnp.reshape(a, (n, -1)), x, fnp.asarray(2))
    with pytest.raises(funcgrad.ConcretizationError, match="funcgrad.numpy.split"):
        funcgrad.eval_shape(lambda a, i: fnp.split(a, i), x, fnp.asarray([2, 4]))
    with pytest.raises(funcgrad.ConcretizationError, match="funcgrad.numpy.pad"):
        funcgrad.eval_shape(lambda a, w: fnp.pad(a, w), x, fnp.asarray([1, 2]))


# --- derivatives ------------------------------------------------------------------------

GRAD_CASES = {
    "reshape_F": lambda a: fnp.reshape(a, (4, 3), order="F"),
    "concatenate": lambda a: fnp.concatenate([a, a * 2], axis=1),
    "stack": lambda a: fnp.stack([a, a], axis=-1),
    "tile": lambda a: fnp.tile(a, (2, 1, 2)),
    "repeat": lambda a: fnp.repeat(a, 2, axis=1),
    "repeat_array": lambda a: fnp.repeat(a, fnp.asarray([1, 0, 2]), axis=0),
    "roll": lambda a: fnp.roll(a, (1, -2), (0, 1)),
    "roll_array_shift": lambda a: fnp.roll(a, fnp.asarray(2), 1),
    "rot90": lambda a: fnp.rot90(a, 3),
    "pad_constant": lambda a: fnp.pad(a, ((1, 2), (0, 3)), constant_values=((1, 2), (3, 4))),
    "pad_reflect": lambda a: fnp.pad(a, 5, mode="reflect"),
    "pad_symmetric": lambda a: fnp.pad(a, (2, 7), mode="symmetric"),
    "pad_wrap": lambda a: fnp.pad(a, 20, mode="wrap"),
    "pad_edge": lambda a: fnp.pad(a, 3, mode="edge"),
    "split": lambda a: fnp.split(a, [1, 3], axis=1)[1],
    "trim_zeros": lambda a: fnp.trim_zeros(fnp.ravel(a) * fnp.asarray([0.0] * 2 + [1.0] * 10)),
    "block": lambda a: fnp.block([[a, a], [a, a]]),
    "broadcast_to": lambda a: fnp.broadcast_to(a, (2, 3, 4)),
    "moveaxis": lambda a: fnp.moveaxis(a[None], 0, -1),
    "flip": lambda a: fnp.flip(a),
    "unstack": lambda a: fnp.unstack(a, axis=1)[2],
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients(name):
    x = fnp.asarray(np.random.default_rng(0).random((3, 4)))
    check_grads(GRAD_CASES[name], (x,), order=1, modes=("fwd", "rev"))
