"""vmap through the structural, reduction and sorting primitives: the cases the generic
table of test_vmap_primitives.py draws rarely (operands batched along different axes,
a batched padding value, a batched sorted array for searchsorted, empty and size-1
batches, nested vmap), which kernels the common cases run (the batch axis stays in
place: no transposes), and vmap composed with grad, jvp and vjp.

Every value is checked against an explicit loop over the examples in NumPy, a closed
form, or a loop of the per-example transformation.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import arrays, assert_same, dtypes, shapes
from test_primitives import _pad_ref

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.lax import ALL_PRIMITIVES

P = ALL_PRIMITIVES


def _stack(examples, axis):
    return np.stack(examples, axis=axis)


def _vmap_prim(prim, in_axes, out_axes=0, **params):
    return funcgrad.vmap(lambda *xs: prim.bind(*xs, **params), in_axes=in_axes, out_axes=out_axes)


class _KernelLog:
    """Records the name of each primitive impl that runs."""

    def __init__(self, monkeypatch):
        self.names = []
        for name, prim in ALL_PRIMITIVES.items():
            if prim.impl is not None:
                monkeypatch.setattr(prim, "impl", self._recording(name, prim.impl))

    def _recording(self, name, impl):
        def run(backend, *buffers, **params):
            self.names.append(name)
            return impl(backend, *buffers, **params)

        return run


# --- the batch axis stays where it is ------------------------------------------------

_IN_PLACE = [
    # (name, function of one example, example shape, in_axes = out_axes)
    ("convert", lambda x: P["convert_element_type"].bind1(x, new_dtype=np.dtype(np.float32)),
     (2, 3), 1),
    ("broadcast_in_dim", lambda x: P["broadcast_in_dim"].bind1(x, shape=(2, 4, 3),
                                                               broadcast_dimensions=(0, 2)),
     (2, 3), 1),
    ("broadcast_in_dim, batch after", lambda x: P["broadcast_in_dim"].bind1(x, shape=(4, 2, 3),
                                                                            broadcast_dimensions=(1, 2)),
     (2, 3), 2),
    ("reshape split", lambda x: P["reshape"].bind1(x, new_sizes=(2, 3, 4)), (2, 12), 1),
    ("reshape merge after", lambda x: P["reshape"].bind1(x, new_sizes=(2, 12)), (2, 3, 4), 1),
    ("transpose", lambda x: P["transpose"].bind1(x, permutation=(2, 0, 1)), (2, 3, 4), 1),
    ("reduce_sum", lambda x: P["reduce_sum"].bind1(x, axes=(0, 2)), (2, 3, 4), 0),
    ("reduce_max", lambda x: P["reduce_max"].bind1(x, axes=(1,)), (2, 3, 4), 1),
    ("argmin", lambda x: P["argmin"].bind1(x, axis=0, index_dtype=np.dtype(np.int32)), (2, 3), 0),
    ("cumprod", lambda x: P["cumprod"].bind1(x, axis=1, reverse=True), (2, 3), 1),
    ("pad", lambda x: P["pad"].bind1(x, 0.0, padding_config=((1, -1, 1), (0, 2, 0))), (2, 3), 1),
    ("sort", lambda x: P["sort"].bind1(x, dimension=1, num_keys=1), (2, 3), 1),
    ("concatenate", lambda x: P["concatenate"].bind1(x, x, dimension=1), (2, 3), 1),
]  # fmt: skip


@pytest.mark.parametrize("name, fn, shape, axis", _IN_PLACE, ids=[c[0] for c in _IN_PLACE])
def test_rules_keep_the_batch_axis_without_transposing(monkeypatch, name, fn, shape, axis):
    rng = np.random.default_rng(0)
    examples = [rng.standard_normal(shape) for _ in range(3)]
    x = fnp.asarray(_stack(examples, 1))
    expected = _stack([np.asarray(fn(fnp.asarray(e))) for e in examples], axis)
    log = _KernelLog(monkeypatch)
    out = funcgrad.vmap(fn, in_axes=1, out_axes=axis)(x)
    assert log.names.count("transpose") == (1 if name == "transpose" else 0), log.names
    assert_same(out, expected)


def test_reshape_moves_the_batch_axis_first_when_it_must():
    # (3, B, 4) -> (4, 3): no split of new_sizes holds exactly the 3 elements before B
    x = np.arange(2 * 3 * 4.0).reshape(3, 2, 4)
    out = _vmap_prim(P["reshape"], 1, new_sizes=(4, 3))(fnp.asarray(x))[0]
    assert_same(out, np.stack([x[:, k].reshape(4, 3) for k in range(2)]))


@given(data=st.data())
@settings(max_examples=30)
def test_broadcast_in_dim_batched_along_every_axis(data):
    out_shape = data.draw(shapes(min_dims=1, max_dims=4, max_side=3), label="shape")
    dims = sorted(data.draw(st.sets(st.integers(0, len(out_shape) - 1), max_size=len(out_shape))))
    in_shape = tuple(data.draw(st.sampled_from([1, out_shape[d]])) for d in dims)
    size = data.draw(st.integers(0, 3), label="size")
    axis = data.draw(st.integers(0, len(in_shape)), label="in_axis")
    x = data.draw(arrays(dtypes("if"), (*in_shape[:axis], size, *in_shape[axis:])))
    out = _vmap_prim(
        P["broadcast_in_dim"], axis, shape=out_shape, broadcast_dimensions=tuple(dims)
    )(fnp.asarray(x))
    expanded = [1] * len(out_shape)
    for i, d in enumerate(dims):
        expanded[d] = in_shape[i]
    examples = np.moveaxis(x, axis, 0)
    expected = np.broadcast_to(examples.reshape(size, *expanded), (size, *out_shape))
    assert_same(out[0], expected)


# --- operands batched along different axes -------------------------------------------


def test_concatenate_operands_batched_along_different_axes_or_not_at_all():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 2, 4))  # batch axis 0, examples (2, 4)
    b = rng.standard_normal((2, 1, 3))  # batch axis 2, examples (2, 1)
    c = rng.standard_normal((2, 5))  # the same for every example
    out = _vmap_prim(P["concatenate"], (0, 2, None), dimension=1)(*map(fnp.asarray, (a, b, c)))[0]
    expected = np.stack([np.concatenate([a[k], b[:, :, k], c], axis=1) for k in range(3)])
    assert_same(out, expected)


@given(data=st.data())
@settings(max_examples=30)
def test_sort_operands_batched_along_different_axes(data):
    shape = data.draw(shapes(min_dims=1, max_dims=2, max_side=4), label="shape")
    n = data.draw(st.integers(1, 3), label="operands")
    num_keys = data.draw(st.integers(1, n), label="num_keys")
    dimension = data.draw(st.integers(0, len(shape) - 1), label="dimension")
    size = data.draw(st.integers(1, 3), label="size")
    examples, in_axes, args = [], [], []
    for i in range(n):
        axis = data.draw(st.none() | st.integers(0, len(shape)), label=f"in_axes[{i}]")
        if i == 0 and axis is None:
            axis = 0
        dtype = data.draw(dtypes("if"), label=f"dtype[{i}]")
        if axis is None:
            x = data.draw(arrays(dtype, shape, min_value=-2, max_value=2, allow_nan=True))
            examples.append([x] * size)
            args.append(fnp.asarray(x))
        else:
            xs = [
                data.draw(arrays(dtype, shape, min_value=-2, max_value=2, allow_nan=True))
                for _ in range(size)
            ]
            examples.append(xs)
            args.append(fnp.asarray(_stack(xs, axis)))
        in_axes.append(axis)
    outs = _vmap_prim(P["sort"], tuple(in_axes), dimension=dimension, num_keys=num_keys)(*args)
    for j in range(n):
        expected = []
        for k in range(size):
            # NumPy's lexsort: the last key is the primary one; NaNs sort last
            keys = [np.moveaxis(examples[i][k], dimension, -1) for i in range(num_keys)][::-1]
            perm = np.moveaxis(np.lexsort(keys, axis=-1), -1, dimension)
            expected.append(np.take_along_axis(examples[j][k], perm, axis=dimension))
        assert_same(outs[j], _stack(expected, 0), what=f"sort output {j}")


# --- pad with a batched padding value ------------------------------------------------


@given(data=st.data())
@settings(max_examples=30)
def test_pad_with_a_batched_padding_value(data):
    dtype = data.draw(dtypes("iuf"), label="dtype")
    shape = data.draw(shapes(max_dims=3, max_side=3), label="shape")
    config = []
    for n in shape:
        interior = data.draw(st.integers(0, 2))
        full = n + max(n - 1, 0) * interior
        lo = data.draw(st.integers(-full, 2))
        hi = data.draw(st.integers(-(full + lo) if full + lo > 0 else 0, 2))
        config.append((lo, hi, interior))
    size = data.draw(st.integers(0, 3), label="size")
    x_axis = data.draw(st.none() | st.integers(0, len(shape)), label="x_axis")
    values = np.arange(7, 7 + size).astype(dtype)
    # one example even for an empty batch: it gives the shapes
    xs = [data.draw(arrays(dtype, shape, min_value=0, max_value=5)) for _ in range(max(size, 1))]
    if x_axis is None:
        x, xs = xs[0], xs[:1] * size
    else:
        xs = xs[:size]
        x = _stack(xs, x_axis) if size else np.zeros((*shape[:x_axis], 0, *shape[x_axis:]), dtype)
    out = _vmap_prim(P["pad"], (x_axis, 0), padding_config=tuple(config))(
        fnp.asarray(x), fnp.asarray(values)
    )[0]
    example_shape = _pad_ref(np.zeros(shape, dtype), dtype.type(0), padding_config=config)[0].shape
    per_example = [_pad_ref(xs[k], values[k], padding_config=config)[0] for k in range(size)]
    expected = _stack(per_example, 0) if size else np.zeros((0, *example_shape), dtype)
    assert_same(out, expected)


def test_pad_with_a_batched_nan_padding_value_keeps_the_operand():
    # the operand's elements come through unchanged even when the padding value is NaN or inf
    x = np.array([[1.0, np.inf], [-2.0, 3.0]])
    values = np.array([np.nan, np.inf])
    out = funcgrad.vmap(lambda x, v: P["pad"].bind1(x, v, padding_config=((1, 0, 0),)))(
        fnp.asarray(x), fnp.asarray(values)
    )
    assert_same(out, np.array([[np.nan, 1.0, np.inf], [np.inf, -2.0, 3.0]]))


# --- searchsorted with a batched sorted array ----------------------------------------


@given(data=st.data())
@settings(max_examples=40)
def test_searchsorted_with_a_batched_sorted_array(data):
    dtype = data.draw(dtypes("iufc"), label="dtype")
    n = data.draw(st.integers(0, 6), label="n")
    size = data.draw(st.integers(1, 3), label="size")
    side = data.draw(st.sampled_from(["left", "right"]), label="side")
    nan = dtype.kind in "fc"
    sorted_arrays = [np.sort(data.draw(arrays(dtype, (n,), min_value=-3, max_value=3, allow_nan=nan)))
                     for _ in range(size)]  # fmt: skip
    query_shape = data.draw(shapes(max_dims=2, max_side=4), label="query shape")
    q_axis = data.draw(st.none() | st.integers(0, len(query_shape)), label="q_axis")
    queries = [data.draw(arrays(dtype, query_shape, min_value=-4, max_value=4, allow_nan=nan))
               for _ in range(size if q_axis is not None else 1)]  # fmt: skip
    a_axis = data.draw(st.integers(0, 1), label="a_axis")
    q = queries[0] if q_axis is None else _stack(queries, q_axis)
    index_dtype = np.dtype(data.draw(st.sampled_from([np.int32, np.int64])))
    out = _vmap_prim(P["searchsorted"], (a_axis, q_axis), side=side, dtype=index_dtype)(
        fnp.asarray(_stack(sorted_arrays, a_axis)), fnp.asarray(q)
    )[0]
    expected = [np.searchsorted(sorted_arrays[k], queries[0 if q_axis is None else k], side=side)
                for k in range(size)]  # fmt: skip
    assert_same(out, _stack(expected, 0).astype(index_dtype))


def test_searchsorted_ties_and_nans_with_a_batched_sorted_array():
    a = np.array([[1.0, 2.0, 2.0, 2.0, np.nan, np.nan], [-np.inf, 0.0, 0.0, 5.0, np.inf, np.nan]])
    q = np.array([2.0, np.nan, 0.0, -0.0, np.inf, -np.inf, 7.0])
    for side in ("left", "right"):
        out = funcgrad.vmap(lambda a, side=side: fnp.searchsorted(a, fnp.asarray(q), side=side))(
            fnp.asarray(a)
        )
        assert_same(out, np.stack([np.searchsorted(row, q, side=side) for row in a]))


def test_searchsorted_with_mixed_dtypes_compares_in_the_common_dtype():
    a = np.array([[0, 1, 2], [1, 1, 3]], dtype=np.int64)
    q = np.array([0.5, 1.0, 2.5])
    out = _vmap_prim(P["searchsorted"], (0, None), side="left", dtype=np.dtype(np.int64))(
        fnp.asarray(a), fnp.asarray(q)
    )
    assert_same(out[0], np.stack([np.searchsorted(row, q) for row in a]))


def test_searchsorted_with_a_batched_sorted_array_runs_no_per_example_kernel(monkeypatch):
    a = fnp.asarray(np.sort(np.random.default_rng(2).standard_normal((50, 8)), axis=1))
    q = fnp.asarray(np.linspace(-2, 2, 5))
    log = _KernelLog(monkeypatch)
    funcgrad.vmap(lambda a: fnp.searchsorted(a, q))(a)
    assert len(log.names) < 20, log.names
    assert "searchsorted" not in log.names


# --- empty, size-1 and nested batches ------------------------------------------------

_BATCH_FUNCTIONS = [
    ("sum", lambda x: fnp.sum(x, axis=0), lambda x: np.sum(x, axis=0)),
    ("max", lambda x: fnp.max(x, axis=-1), lambda x: np.max(x, axis=-1)),
    ("argmax", lambda x: fnp.argmax(x, axis=1), lambda x: np.argmax(x, axis=1)),
    ("cumsum", lambda x: fnp.cumsum(x, axis=1), lambda x: np.cumsum(x, axis=1)),
    ("reshape", lambda x: fnp.reshape(x, (-1,)), lambda x: np.reshape(x, (-1,))),
    ("transpose", lambda x: x.T, lambda x: x.T),
    ("sort", lambda x: fnp.sort(x, axis=0), lambda x: np.sort(x, axis=0)),
    ("concatenate", lambda x: fnp.concatenate([x, x[::-1]], axis=1), lambda x: np.concatenate([x, x[::-1]], axis=1)),
    ("pad", lambda x: fnp.pad(x, ((1, 0), (0, 2)), constant_values=-1.0),
     lambda x: np.pad(x, ((1, 0), (0, 2)), constant_values=-1.0)),
    ("broadcast", lambda x: fnp.broadcast_to(x, (2, 3, 4)), lambda x: np.broadcast_to(x, (2, 3, 4))),
]  # fmt: skip


@pytest.mark.parametrize("size", [0, 1])
@pytest.mark.parametrize("name, f, ref", _BATCH_FUNCTIONS, ids=[c[0] for c in _BATCH_FUNCTIONS])
def test_empty_and_size_one_batches(name, f, ref, size):
    x = np.random.default_rng(3).standard_normal((size, 3, 4))
    out = funcgrad.vmap(f)(fnp.asarray(x))
    example = ref(np.zeros((3, 4)))
    expected = (
        np.stack([ref(e) for e in x]) if size else np.zeros((0, *example.shape), example.dtype)
    )
    assert_same(out, expected)


@pytest.mark.parametrize("name, f, ref", _BATCH_FUNCTIONS, ids=[c[0] for c in _BATCH_FUNCTIONS])
def test_vmap_of_vmap(name, f, ref):
    # outer batch axis 0, inner batch axis 2: the examples are x[i, :, j, :], of shape (3, 4)
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 4))
    out = funcgrad.vmap(funcgrad.vmap(f, in_axes=1), in_axes=0)(fnp.asarray(x))
    expected = np.stack([np.stack([ref(x[i, :, j, :]) for j in range(5)]) for i in range(2)])
    assert_same(out, expected)


def test_vmap_of_vmap_of_searchsorted_with_batched_sorted_arrays():
    rng = np.random.default_rng(5)
    a = np.sort(rng.integers(-3, 4, (2, 3, 6)), axis=-1)
    q = rng.integers(-4, 5, (3, 4))
    f = funcgrad.vmap(
        funcgrad.vmap(lambda a, q: fnp.searchsorted(a, q, side="right")), in_axes=(0, None)
    )
    expected = np.stack(
        [
            np.stack([np.searchsorted(a[i, j], q[j], side="right") for j in range(3)])
            for i in range(2)
        ]
    )
    assert_same(f(fnp.asarray(a), fnp.asarray(q)), expected)


# --- vmap composed with differentiation ----------------------------------------------


def _f_structural(x):
    """Every differentiable primitive of the family, on a (3, 4) example."""
    y = fnp.pad(x, ((1, 1), (0, 1)), constant_values=0.5)  # (5, 5)
    y = fnp.concatenate([y, fnp.transpose(y)], axis=0)  # (10, 5)
    y = fnp.reshape(y, (5, 10)) * fnp.broadcast_to(fnp.arange(10.0), (5, 10))
    y = (
        fnp.cumsum(y, axis=1)
        + fnp.cumprod(y / 10, axis=0)
        + P["cummax"].bind1(y, axis=1, reverse=False)
    )
    z = fnp.sort(y, axis=1)[:, ::2]
    return fnp.sum(z**2) + fnp.prod(x[0] / 2) + fnp.max(y) - fnp.min(y[:, 1])


def _numerical_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (float(f(fnp.asarray(x + d))) - float(f(fnp.asarray(x - d)))) / (2 * eps)
    return g


def test_vmap_of_grad_and_grad_of_vmap():
    x = np.random.default_rng(6).standard_normal((3, 3, 4))
    per_example = np.stack([_numerical_grad(_f_structural, e) for e in x])
    assert_same(
        funcgrad.vmap(funcgrad.grad(_f_structural))(fnp.asarray(x)),
        per_example,
        rtol=1e-5,
        atol=1e-6,
    )
    total = funcgrad.grad(lambda xs: fnp.sum(funcgrad.vmap(_f_structural, in_axes=2)(xs)))
    moved = fnp.asarray(np.moveaxis(x, 0, 2))
    assert_same(total(moved), np.moveaxis(per_example, 0, 2), rtol=1e-5, atol=1e-6)


def test_jvp_and_vjp_on_batched_values():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 4))
    t = rng.standard_normal((2, 3, 4))
    batched = funcgrad.vmap(_f_structural)
    out, t_out = funcgrad.jvp(batched, (fnp.asarray(x),), (fnp.asarray(t),))
    # the loop of per-example JVPs, and a central difference along t
    loop = [
        funcgrad.jvp(_f_structural, (fnp.asarray(x[k]),), (fnp.asarray(t[k]),)) for k in range(2)
    ]
    assert_same(out, np.array([float(o) for o, _ in loop]))
    assert_same(t_out, np.array([float(d) for _, d in loop]), rtol=1e-10)
    eps = 1e-6
    fd = (
        np.asarray(batched(fnp.asarray(x + eps * t)))
        - np.asarray(batched(fnp.asarray(x - eps * t)))
    ) / (2 * eps)
    assert_same(t_out, fd, rtol=1e-5, atol=1e-6)
    # vmap of jvp: the same tangents
    inner = funcgrad.vmap(lambda x, t: funcgrad.jvp(_f_structural, (x,), (t,))[1])(
        fnp.asarray(x), fnp.asarray(t)
    )
    assert_same(inner, t_out, rtol=1e-10)
    # vjp of the batched function: the inner-product identity <ct, J t> = <J^T ct, t>
    ct = rng.standard_normal(2)
    _, pullback = funcgrad.vjp(batched, fnp.asarray(x))
    (x_ct,) = pullback(fnp.asarray(ct))
    np.testing.assert_allclose(
        np.sum(np.asarray(x_ct) * t), np.sum(ct * np.asarray(t_out)), rtol=1e-10
    )


def test_grad_with_respect_to_a_batched_padding_value():
    # f(v) = sum(pad(x, v)) v = (sum(x) + n_pad v) v with n_pad padding positions, so
    # f'(v) = sum(x) + 2 n_pad v (the cropped column of x does not count)
    x = fnp.asarray(np.arange(6.0).reshape(2, 3))
    config = ((1, 0, 1), (-1, 2, 0))
    per_value = funcgrad.vmap(
        funcgrad.grad(lambda v: fnp.sum(P["pad"].bind1(x, v, padding_config=config)) * v)
    )
    v = np.array([1.0, 2.0, 3.0])
    ones = np.ones((2, 3))
    padded_ones = _pad_ref(ones, 0.0, padding_config=config)[0]
    n_pad = padded_ones.size - padded_ones.sum()
    x_sum = np.sum(_pad_ref(np.arange(6.0).reshape(2, 3), 0.0, padding_config=config)[0])
    assert_same(per_value(fnp.asarray(v)), x_sum + 2 * n_pad * v)
