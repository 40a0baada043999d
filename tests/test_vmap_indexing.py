"""vmap of gather and the scatters: every mix of batched operand, updates and index
operands, against a loop over the examples in NumPy.

The table-driven test in test_vmap_primitives.py covers the common draws; here the
indexers also hold boolean scalars, advanced entries separated by slices (NumPy moves
their dimensions to the front), batches of size 0 and 1, nested vmap, and the
derivative rules of these primitives on batched values.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracle import assert_same, shapes

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.lax import indexing as lax_indexing
from funcgrad._src.lax.indexing import ArrayIndex, IndexSlice

SCATTERS = {
    "scatter": (lax_indexing.scatter_p, None),
    "scatter_add": (lax_indexing.scatter_add_p, np.add),
    "scatter_mul": (lax_indexing.scatter_mul_p, np.multiply),
    "scatter_min": (lax_indexing.scatter_min_p, np.minimum),
    "scatter_max": (lax_indexing.scatter_max_p, np.maximum),
}


def _index_draw(data, shape):
    """A NumPy index for ``shape``: (indexer, shapes of the integer-array operands, the
    axis size each operand indexes). Entries: ints, slices, None, Ellipsis, boolean
    scalars and integer arrays of mutually broadcastable shapes."""
    common = data.draw(shapes(max_dims=2, max_side=3), label="index shape")
    indexer, array_shapes, sizes = [], [], []
    axes = list(shape)
    used_ellipsis = False
    while len(indexer) < 6:
        kinds = ["none", "bool", "slice"] + (
            ["int", "array", "array"] if axes and axes[0] > 0 else []
        )
        if not used_ellipsis:
            kinds.append("ellipsis")
        if not (used_ellipsis and axes):  # after an Ellipsis every trailing axis needs an entry
            kinds.append("stop")
        if not axes:
            kinds.remove("slice")
        kind = data.draw(st.sampled_from(kinds))
        if kind == "stop":
            break
        if kind == "none":
            indexer.append(None)
        elif kind == "bool":
            indexer.append(data.draw(st.booleans()))
        elif kind == "ellipsis":
            used_ellipsis = True
            indexer.append(Ellipsis)
            axes = axes[
                data.draw(st.integers(0, len(axes))) :
            ]  # the Ellipsis takes the leading ones
        else:
            n = axes.pop(0)
            if kind == "int":
                indexer.append(data.draw(st.integers(-n, n - 1)))
            elif kind == "array":
                dropped = data.draw(st.integers(0, len(common)))
                s = tuple(1 if data.draw(st.booleans()) else d for d in common[dropped:])
                indexer.append(ArrayIndex(len(array_shapes)))
                array_shapes.append(s)
                sizes.append(n)
            else:
                start = data.draw(st.none() | st.integers(-n - 1, n + 1))
                stop = data.draw(st.none() | st.integers(-n - 1, n + 1))
                indexer.append(
                    IndexSlice(start, stop, data.draw(st.sampled_from([None, 1, 2, -1])))
                )
    indexer += [IndexSlice(None, None, None)] * (len(axes) if used_ellipsis else 0)
    return tuple(indexer), array_shapes, sizes


def _np_index(indexer, indices):
    return tuple(slice(*e) if type(e) is IndexSlice else indices[e.operand] if type(e) is ArrayIndex else e
                 for e in indexer)  # fmt: skip


def _batched(data, rng, shape, size, label, low=-5, high=5):
    """(per-example NumPy values, funcgrad argument, in_axis) for a maybe-batched operand."""
    axis = data.draw(st.none() | st.integers(-len(shape) - 1, len(shape)), label=f"in_axes {label}")
    if axis is None:
        x = rng.integers(low, high, shape, endpoint=True)
        return [x] * size, x, None
    stacked = rng.integers(low, high, (size, *shape), endpoint=True)
    return [np.asarray(e) for e in stacked], np.moveaxis(stacked, 0, axis), axis


def _draw_case(data, *, updates: bool):
    size = data.draw(st.integers(0, 3), label="batch size")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    shape = data.draw(shapes(max_dims=3, max_side=3), label="example shape")
    indexer, array_shapes, sizes = _index_draw(data, shape)
    try:  # a False (shape (0,)) may not broadcast with the integer arrays
        target = np.zeros(shape)[_np_index(indexer, [np.zeros(s, int) for s in array_shapes])].shape
    except IndexError:
        assume(False)
    x_ex, x, x_axis = _batched(data, rng, shape, size, "x")
    x_ex, x = [e.astype(np.float64) for e in x_ex], x.astype(np.float64)
    examples, args, in_axes = [x_ex], [x], [x_axis]
    indices = []
    for k, (s, n) in enumerate(zip(array_shapes, sizes)):
        i_ex, i, axis = _batched(data, rng, s, size, f"index {k}", -n, n - 1)
        indices.append((i_ex, i, axis))
    if updates:
        u_ex, u, u_axis = _batched(data, rng, target, size, "updates")
        examples.append([e.astype(np.float64) for e in u_ex])
        args.append(u.astype(np.float64))
        in_axes.append(u_axis)
    for i_ex, i, axis in indices:
        examples.append(i_ex)
        args.append(i)
        in_axes.append(axis)
    if all(a is None for a in in_axes):
        in_axes[0] = 0  # at least one batched operand
        args[0] = np.stack(examples[0]) if size else np.zeros((0, *shape))
    probe = [
        np.zeros(shape),
        *(np.zeros(s, int) for s in array_shapes),
    ]  # for the shapes of an empty batch
    return size, indexer, examples, [fnp.asarray(a) for a in args], tuple(in_axes), probe


@given(data=st.data())
@settings(max_examples=60)
def test_gather_with_any_batched_operands(data):
    size, indexer, examples, args, in_axes, probe = _draw_case(data, updates=False)
    ex = [[e[k] for e in examples] for k in range(size)]
    expected = [x[_np_index(indexer, idx)] for x, *idx in ex]
    got = funcgrad.vmap(lambda x, *idx: lax_indexing.gather_p.bind1(x, *idx, indexer=indexer),
                        in_axes=in_axes)(*args)  # fmt: skip
    if size:
        assert_same(got, np.stack(expected), what=f"vmap gather {indexer} in_axes {in_axes}")
    else:
        x, *idx = probe
        assert got.shape == (0, *x[_np_index(indexer, idx)].shape)


@pytest.mark.parametrize("name", sorted(SCATTERS))
@given(data=st.data())
@settings(max_examples=40)
def test_scatter_with_any_batched_operands(name, data):
    prim, ufunc = SCATTERS[name]
    size, indexer, examples, args, in_axes, probe = _draw_case(data, updates=True)
    expected = []
    for k in range(size):
        x, u, *idx = (e[k] for e in examples)
        out = x.copy()
        if ufunc is None:
            out[_np_index(indexer, idx)] = u
        else:
            ufunc.at(out, _np_index(indexer, idx), u)
        expected.append(out)
    got = funcgrad.vmap(
        lambda x, u, *idx: prim.bind1(x, u, *idx, indexer=indexer), in_axes=in_axes
    )(*args)
    if size:
        assert_same(got, np.stack(expected), what=f"vmap {name} {indexer} in_axes {in_axes}")
    else:
        assert got.shape == (0, *probe[0].shape)


# --- advanced entries that a batch axis could separate -------------------------------------

_X = np.arange(2 * 5 * 3 * 4, dtype=np.float64).reshape(
    2, 5, 3, 4
)  # two examples of shape (5, 3, 4)
_I = np.array([[0, 2, 1], [1, 1, 0]])  # two examples of index arrays
_J = np.array([[3, 0, 3], [2, 1, 0]])

_KEYS = {  # per-example key from (i, j); NumPy's placement of the advanced dimensions differs
    "adjacent": lambda i, j: (slice(None), i, j),
    "adjacent, int": lambda i, j: (slice(None), 1, j),
    "separated by a slice": lambda i, j: (i, slice(None), j),
    "separated by None": lambda i, j: (slice(None), i, None, j),
    "separated by an Ellipsis": lambda i, j: (i, ..., j),
    "int and a separated array": lambda i, j: (0, slice(1, None), j),
    "boolean scalar": lambda i, j: (slice(None), True, i),
    "boolean scalar separated": lambda i, j: (True, slice(None), i),
    "reversed slice and arrays": lambda i, j: (slice(None, None, -2), i, j),
}


@pytest.mark.parametrize("key", sorted(_KEYS))
@pytest.mark.parametrize("x_axis", [None, 0, 1, 2, 3])
@pytest.mark.parametrize("i_axis", [None, 0, 1])
def test_gather_keeps_numpy_placement_of_advanced_dims(key, x_axis, i_axis):
    make_key = _KEYS[key]
    x_ex = [_X[k] if x_axis is not None else _X[0] for k in range(2)]
    i_ex = [_I[k] if i_axis is not None else _I[0] for k in range(2)]
    expected = np.stack([x[make_key(i, _J[0])] for x, i in zip(x_ex, i_ex)])
    if x_axis is None and i_axis is None:
        x_axis = 0  # batch x then
        expected = np.stack([_X[k][make_key(_I[0], _J[0])] for k in range(2)])
    x = _X if x_axis is not None else _X[0]
    x = np.moveaxis(x, 0, x_axis) if x_axis is not None else x
    i = _I.T if i_axis == 1 else (_I if i_axis == 0 else _I[0])
    f = funcgrad.vmap(lambda x, i: x[make_key(i, fnp.asarray(_J[0]))], in_axes=(x_axis, i_axis))
    assert_same(f(fnp.asarray(x), fnp.asarray(i)), expected, what=f"x[{key}]")


@pytest.mark.parametrize("key", sorted(_KEYS))
@pytest.mark.parametrize(
    "in_axes", [(0, None, None), (None, 0, None), (None, None, 0), (2, 1, 0), (3, None, 1)]
)
def test_scatter_add_keeps_numpy_placement_of_advanced_dims(key, in_axes):
    make_key = _KEYS[key]
    x_axis, u_axis, i_axis = in_axes
    target = _X[0][make_key(_I[0], _J[0])].shape
    u = np.arange(2 * int(np.prod(target)), dtype=np.float64).reshape(2, *target) - 4
    pick = lambda a, axis, k: a[k] if axis is not None else a[0]
    expected = []
    for k in range(2):
        out = pick(_X, x_axis, k).copy()
        np.add.at(out, make_key(pick(_I, i_axis, k), _J[0]), pick(u, u_axis, k))
        expected.append(out)
    args = [
        np.moveaxis(a, 0, ax) if ax is not None else a[0] for a, ax in zip((_X, u, _I), in_axes)
    ]
    f = funcgrad.vmap(lambda x, u, i: x.at[make_key(i, fnp.asarray(_J[0]))].add(u), in_axes=in_axes)
    assert_same(f(*map(fnp.asarray, args)), np.stack(expected), what=f"x.at[{key}].add")


# --- user-level indexing ---------------------------------------------------------------------


def test_user_indexing_under_vmap():
    x = np.arange(24.0).reshape(4, 6)
    i = np.array([5, 0, 2, 2])
    idx = np.array([[1, 1], [0, 3], [5, 4], [2, 0]])
    xs, ii, iidx = fnp.asarray(x), fnp.asarray(i), fnp.asarray(idx)
    assert_same(funcgrad.vmap(lambda r, k: r[k])(xs, ii), x[np.arange(4), i])
    assert_same(funcgrad.vmap(lambda k: xs[k % 4])(ii), x[i % 4])
    assert_same(
        funcgrad.vmap(lambda k: xs[:, k], out_axes=1)(iidx), np.stack([x[:, k] for k in idx], 1)
    )
    assert_same(
        funcgrad.vmap(lambda r, k: r[k])(xs, iidx), np.stack([r[k] for r, k in zip(x, idx)])
    )
    assert_same(funcgrad.vmap(lambda r: r[1::2])(xs), x[:, 1::2])
    assert_same(funcgrad.vmap(lambda r: r[None, ..., -1], in_axes=1)(xs), x.T[:, None, -1])
    # x.at[idx] with batched operand, updates and indices, and with broadcast/scalar updates
    v = np.arange(8.0).reshape(4, 2)
    expected = x.copy()
    for r, k, u in zip(expected, idx, v):
        np.add.at(r, k, u)
    assert_same(funcgrad.vmap(lambda r, k, u: r.at[k].add(u))(xs, iidx, fnp.asarray(v)), expected)
    expected = x.copy()
    for r, k in zip(expected, idx):
        r[k] = -1.0
    assert_same(funcgrad.vmap(lambda r, k: r.at[k].set(-1.0))(xs, iidx), expected)
    expected = np.stack([np.where(np.arange(6) == k, 7.0, 0.0) for k in i])
    assert_same(funcgrad.vmap(lambda k: fnp.zeros(6).at[k].set(7.0))(ii), expected)
    expected = np.stack([np.maximum.at(r, k, u) or r for r, k, u in zip(x.copy(), idx, v[:, ::-1])])
    assert_same(
        funcgrad.vmap(lambda r, k, u: r.at[k].max(u))(xs, iidx, fnp.asarray(v[:, ::-1])), expected
    )


def test_errors_name_the_example_shapes():
    with pytest.raises(IndexError, match=r"too many indices(.|\n)*shape \(3,\)"):
        funcgrad.vmap(lambda r: r[0, 1])(fnp.ones((2, 3)))
    with pytest.raises(ValueError, match=r"updates have shape \(2,\)(.|\n)*shape \(3,\)"):
        funcgrad.vmap(lambda r, u: lax_indexing.scatter_add_p.bind1(r, u, indexer=(0,)))(
            fnp.ones((2, 3)), fnp.ones((2, 2))
        )


# --- batch sizes, nesting, one gather per call -----------------------------------------------


@pytest.mark.parametrize("size", [0, 1])
def test_empty_and_single_example_batches(size):
    x = np.arange(size * 12.0).reshape(size, 3, 4)
    i = np.zeros((size, 2), dtype=np.int64) + 2
    u = np.ones((size, 3, 2))
    got = funcgrad.vmap(lambda r, k: r[:, k])(fnp.asarray(x), fnp.asarray(i))
    assert_same(got, np.stack([r[:, k] for r, k in zip(x, i)]) if size else np.zeros((0, 3, 2)))
    got = funcgrad.vmap(lambda r, k, v: r.at[:, k].add(v))(
        fnp.asarray(x), fnp.asarray(i), fnp.asarray(u)
    )
    expected = x.copy()
    for r, k, v in zip(expected, i, u):
        np.add.at(r, (slice(None), k), v)
    assert_same(got, expected)


def test_vmap_of_vmap():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 3, 5))  # batched along axes 0 (outer) and 2 (inner)
    i = rng.integers(-4, 4, size=(3, 2, 6))  # batched along axes 1 (outer) and 0 (inner)
    u = rng.normal(size=(6, 3, 5))  # unbatched outside, batched along axis 1 inside
    inner = funcgrad.vmap(lambda r, k, v: (r[k], r.at[k].add(v)), in_axes=(1, 0, 1))
    got_gather, got_scatter = funcgrad.vmap(inner, in_axes=(0, 1, None))(
        *map(fnp.asarray, (x, i, u))
    )
    exp_gather, exp_scatter = np.empty((2, 3, 6, 5)), np.empty((2, 3, 4, 5))
    for a in range(2):
        for b in range(3):
            r, k, v = x[a, :, b], i[b, a], u[:, b]
            exp_gather[a, b] = r[k]
            exp_scatter[a, b] = r.copy()
            np.add.at(exp_scatter[a, b], k, v)
    assert_same(got_gather, exp_gather)
    assert_same(got_scatter, exp_scatter)


def test_batched_index_is_one_gather(monkeypatch):
    calls = []
    impl = lax_indexing.gather_p.impl
    monkeypatch.setattr(
        lax_indexing.gather_p, "impl", lambda *a, **k: calls.append(1) or impl(*a, **k)
    )
    x = np.arange(30.0).reshape(5, 6)
    i = np.array([[0, 1], [5, 5], [2, 3], [4, 0], [1, 1]])
    got = funcgrad.vmap(lambda r, k: r[k])(fnp.asarray(x), fnp.asarray(i))
    assert_same(got, np.stack([r[k] for r, k in zip(x, i)]))
    got = funcgrad.vmap(lambda k: fnp.asarray(x)[::2, k])(fnp.asarray(i))
    assert_same(got, np.stack([x[::2, k] for k in i]))
    assert len(calls) == 2


# --- derivatives on batched values -----------------------------------------------------------

_IDX = np.array([[1, 1, 3], [0, 2, 0]])  # repeated indices in both examples


def _losses():
    w = np.arange(1.0, 5.0)

    def gather_loss(x, k):
        return fnp.sum(x[k] ** 2 * fnp.asarray(w[:3]))

    def set_loss(x, k):
        return fnp.sum(x.at[k].set(x[k[::-1]] * 3.0) * fnp.asarray(w))

    def mul_loss(x, k):
        return fnp.sum(x.at[k].multiply(x[:3] + 1.0) * fnp.asarray(w))

    def max_loss(x, k):
        return fnp.sum(x.at[k].max(fnp.sin(x[:3])) * fnp.asarray(w))

    return {"gather": gather_loss, "set": set_loss, "mul": mul_loss, "max": max_loss}


@pytest.mark.parametrize("name", sorted(_losses()))
def test_vmap_of_grad_and_grad_of_vmap(name):
    f = _losses()[name]
    x = np.array([[0.5, -1.0, 2.0, 0.3], [1.5, 0.0, -0.7, 2.5]])
    expected = np.stack(
        [np.asarray(funcgrad.grad(f)(fnp.asarray(r), fnp.asarray(k))) for r, k in zip(x, _IDX)]
    )
    got = funcgrad.vmap(funcgrad.grad(f))(fnp.asarray(x), fnp.asarray(_IDX))
    assert_same(got, expected, rtol=1e-12, what=f"vmap(grad({name}))")
    total = lambda xs: fnp.sum(funcgrad.vmap(f, in_axes=(1, 0))(xs, fnp.asarray(_IDX)))
    assert_same(
        funcgrad.grad(total)(fnp.asarray(x.T)), expected.T, rtol=1e-12, what=f"grad(vmap({name}))"
    )


@pytest.mark.parametrize("name", sorted(_losses()))
def test_jvp_and_vjp_of_batched_values(name):
    f = _losses()[name]
    x = np.array([[0.5, -1.0, 2.0, 0.3], [1.5, 0.0, -0.7, 2.5]])
    t = np.array([[1.0, 0.5, -1.0, 2.0], [0.0, 1.0, 3.0, -2.0]])
    per_example = [funcgrad.jvp(lambda r, k=k: f(r, fnp.asarray(k)), (fnp.asarray(r),), (fnp.asarray(s),))
                   for r, k, s in zip(x, _IDX, t)]  # fmt: skip
    expected = np.stack([np.asarray(tan) for _, tan in per_example])
    batched = funcgrad.vmap(f)
    _, got = funcgrad.jvp(
        lambda xs: batched(xs, fnp.asarray(_IDX)), (fnp.asarray(x),), (fnp.asarray(t),)
    )
    assert_same(got, expected, rtol=1e-12, what=f"jvp(vmap({name}))")
    _, got = funcgrad.vmap(lambda r, k, s: funcgrad.jvp(lambda r: f(r, k), (r,), (s,)))(
        *map(fnp.asarray, (x, _IDX, t))
    )
    assert_same(got, expected, rtol=1e-12, what=f"vmap(jvp({name}))")
    ct = np.array([2.0, -1.0])
    _, pullback = funcgrad.vjp(lambda xs: batched(xs, fnp.asarray(_IDX)), fnp.asarray(x))
    (got,) = pullback(fnp.asarray(ct))
    grads = [np.asarray(funcgrad.grad(f)(fnp.asarray(r), fnp.asarray(k))) for r, k in zip(x, _IDX)]
    assert_same(
        got, np.stack([c * g for c, g in zip(ct, grads)]), rtol=1e-12, what=f"vjp(vmap({name}))"
    )


def test_python_scalar_updates_keep_the_operand_dtype():
    x = fnp.ones((3, 4), dtype="float32")
    got = funcgrad.vmap(lambda r: lax_indexing.scatter_add_p.bind1(r, 2.0, indexer=(1,)))(x)
    assert_same(got, np.array([[1, 3, 1, 1]] * 3, dtype=np.float32))
    i = fnp.asarray(np.array([0, 3]))
    zeros = fnp.zeros(4, dtype="float32")
    got = funcgrad.vmap(
        lambda k: lax_indexing.scatter_p.bind1(zeros, 2.0, k, indexer=(ArrayIndex(0),))
    )(i)
    assert_same(got, np.array([[2, 0, 0, 0], [0, 0, 0, 2]], dtype=np.float32))
