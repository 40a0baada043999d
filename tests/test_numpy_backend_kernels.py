"""The NumPy backend's fast kernels against the plain NumPy calls they replace.

``select`` picks bits through an integer mask instead of ``np.where`` on large arrays;
``reduce`` reduces the leading axes of a contiguous array in two stages when the kept
block is short. Both must give NumPy's results: bit for bit for select (NaN payloads,
signed zeros), and within float rounding of an exact float64 sum for reductions.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.numpy_backend import _SELECT_BITS_MIN_SIZE, NumPyBackend

BACKEND = NumPyBackend()
SPECIAL = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1.5, -2.0])


def _data(seed: int, shape: tuple, dtype: np.dtype, special: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype.kind == "f":
        x = rng.standard_normal(shape) * 100
        if special:  # sprinkle NaN, infinities and signed zeros
            hit = rng.random(shape) < 0.2
            x[hit] = rng.choice(SPECIAL, size=int(hit.sum()))
        return x.astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int32, np.uint64]),
    size=st.sampled_from([1, 7, _SELECT_BITS_MIN_SIZE - 1, _SELECT_BITS_MIN_SIZE, 3 * 4099]),
    branches=st.sampled_from(["arrays", "scalar_false", "scalar_true", "zero_false", "negzero"]),
    special=st.booleans(),
)
def test_select_is_bitwise_where(seed, dtype, size, branches, special):
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed + 1)
    pred = rng.random(size) < rng.random()
    a, b = _data(seed, (size,), dtype, special), _data(seed + 2, (size,), dtype, special)
    if branches == "scalar_false":
        b = b[:1].reshape(())
    elif branches == "scalar_true":
        a = a[:1].reshape(())
    elif branches == "zero_false":
        b = np.zeros((), dtype)
    elif branches == "negzero" and dtype.kind == "f":
        b = np.array(-0.0, dtype)  # equal to 0 but not the same bits: no zero shortcut
    out = BACKEND.select(pred, a, b)
    expected = np.where(pred, a, b)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    assert out.tobytes() == expected.tobytes()  # bit for bit: NaN payloads, -0.0


def test_select_falls_back_for_broadcast_predicates_and_mixed_types():
    a = np.arange(2 * _SELECT_BITS_MIN_SIZE, dtype=np.float32).reshape(2, -1)
    pred = np.array([[True], [False]])
    np.testing.assert_array_equal(BACKEND.select(pred, a, -a), np.where(pred, a, -a))
    bools = a > 5
    np.testing.assert_array_equal(BACKEND.select(bools, bools, ~bools), np.where(bools, bools, ~bools))
    np.testing.assert_array_equal(BACKEND.select(bools, 2, a), np.where(bools, 2, a))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=4).map(tuple),
    trailing=st.integers(1, 70),
    nreduced=st.integers(1, 3),
    op=st.sampled_from(["sum", "max", "min", "prod"]),
    dtype=st.sampled_from([np.float32, np.float64, np.int64]),
)
def test_leading_axis_reductions_match_numpy(seed, shape, trailing, nreduced, op, dtype):
    shape = (*shape, trailing)
    axes = tuple(range(min(nreduced, len(shape) - 1))) or (0,)
    x = _data(seed, shape, np.dtype(dtype), special=False)
    if op == "prod":  # keep products finite and exact enough
        x = (np.sign(x) + (x == 0)).astype(dtype)
    out = BACKEND.reduce(op, x, axes)
    reference = {"sum": np.sum, "max": np.max, "min": np.min, "prod": np.prod}[op]
    if np.dtype(dtype).kind == "f":
        exact = reference(x.astype(np.float64), axis=axes)
        scale = np.sum(np.abs(x.astype(np.float64)), axis=axes) + 1
        terms = x.size // max(out.size, 1)
        tol = terms * np.finfo(dtype).eps * scale  # the worst case of any summation order
        assert np.all(np.abs(out - exact) <= tol)
    else:
        np.testing.assert_array_equal(out, reference(x, axis=axes))
    assert out.dtype == x.dtype and out.shape == reference(x, axis=axes).shape


def test_bias_gradient_reduction_takes_the_two_stage_path():
    from backends.numpy_backend import _leading_reduction_split

    x = np.zeros((64, 24, 24, 6), np.float32)
    rows, block = _leading_reduction_split(x, (0, 1, 2))
    assert block % 6 == 0 and block >= 64 and rows * block == x.size
    assert _leading_reduction_split(x, (1, 2)) is None  # not a leading prefix
    assert _leading_reduction_split(np.asfortranarray(x), (0, 1, 2)) is None


@settings(max_examples=40, deadline=None)
@given(
    out_shape=st.lists(st.integers(1, 40), min_size=1, max_size=4).map(tuple),
    data=st.data(),
)
def test_broadcast_in_dim_matches_broadcast_to(out_shape, data):
    """Including the tiled form (a short trailing block over many elements)."""
    ndim = len(out_shape)
    dims = tuple(sorted(data.draw(st.sets(st.integers(0, ndim - 1), max_size=ndim), label="dims")))
    in_shape = tuple(data.draw(st.sampled_from([1, out_shape[d]]), label=f"size {d}") for d in dims)
    x = np.random.default_rng(0).standard_normal(in_shape).astype(np.float32)
    out = BACKEND.broadcast_in_dim(x, out_shape, dims)
    expanded = [1] * ndim
    for i, d in enumerate(dims):
        expanded[d] = in_shape[i]
    np.testing.assert_array_equal(out, np.broadcast_to(x.reshape(expanded), out_shape))
    assert not out.flags.writeable


def test_bias_broadcast_is_backed_by_a_contiguous_tile():
    from backends.numpy_backend import _contiguous_run

    bias = np.arange(6, dtype=np.float32)
    out = BACKEND.broadcast_in_dim(bias, (64, 24, 24, 6), (3,))
    assert _contiguous_run(out) == 24 * 24 * 6  # ufuncs reading it run over long rows
    np.testing.assert_array_equal(out, np.broadcast_to(bias, (64, 24, 24, 6)))
    small = BACKEND.broadcast_in_dim(bias, (4, 6), (1,))
    assert small.base is bias or small.base.base is bias  # small outputs stay plain views
