"""Collectives over a named vmap axis (``funcgrad.lax.psum`` ... ``axis_index``).

Every collective is checked against its meaning written as an explicit NumPy loop over
the members of the axis, eagerly and under jit; derivatives against central finite
differences, both of the vmapped function (batching rules) and inside the vmap (the
collectives' own jvp and transpose rules, under JAX's convention that the members'
values add up to one total).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src.lax.parallel import COLLECTIVE_PRIMITIVES, axis_size_p, pmean_p
from funcgrad.test_util import check_grads

# --- the meaning of each collective: X stacks the members' values; the oracle returns
# --- the members' results, stacked. Written as loops over members, from the definitions.


def _sum_oracle(X):  # collectives keep the dtype (NumPy's sum would widen int32)
    return np.stack([X.sum(0, dtype=X.dtype) for _ in range(len(X))])


def _gather_oracle(X, axis, tiled):
    n = len(X)
    whole = np.concatenate(list(X), axis=axis) if tiled else np.stack(list(X), axis=axis)
    return np.stack([whole] * n)


def _scatter_oracle(X, sd, tiled):
    n, total = len(X), X.sum(0, dtype=X.dtype)
    if tiled:
        return np.stack([np.split(total, n, axis=sd)[k] for k in range(n)])
    return np.stack([np.take(total, k, axis=sd) for k in range(n)])


def _all_to_all_oracle(X, split, concat, tiled):
    n = len(X)
    outs = []
    for k in range(n):  # member k receives block k of every member j, in order of j
        blocks = [
            np.split(X[j], n, axis=split)[k] if tiled else np.take(X[j], k, axis=split)
            for j in range(n)
        ]
        outs.append(np.concatenate(blocks, axis=concat) if tiled else np.stack(blocks, concat))
    return np.stack(outs)


def _ppermute_oracle(X, perm):
    source = {d: s for s, d in perm}
    return np.stack([X[source[k]] if k in source else np.zeros_like(X[0]) for k in range(len(X))])


@st.composite
def _case(draw, kind):
    """(collective, oracle, X) with X of shape (n, *example shape) fitting the kind."""
    n = draw(st.integers(1, 3))
    ndim = draw(st.integers(1, 3))
    shape = [draw(st.integers(1, 3)) for _ in range(ndim)]
    if kind in ("psum", "pmax", "pmin", "pmean"):
        fn = getattr(lax, kind)
        meaning = {
            "psum": _sum_oracle,
            "pmean": lambda X: _sum_oracle(X) / len(X),
            "pmax": lambda X: np.stack([X.max(0)] * len(X)),
            "pmin": lambda X: np.stack([X.min(0)] * len(X)),
        }[kind]
        collective, oracle = (lambda x: fn(x, "i")), meaning
    elif kind == "all_gather":
        tiled = draw(st.booleans())
        axis = draw(st.integers(0, ndim - 1 if tiled else ndim))
        collective = lambda x: lax.all_gather(x, "i", axis=axis, tiled=tiled)
        oracle = lambda X: _gather_oracle(X, axis, tiled)
    elif kind == "psum_scatter":
        tiled = draw(st.booleans())
        sd = draw(st.integers(0, ndim - 1))
        shape[sd] = n * draw(st.integers(1, 2)) if tiled else n
        collective = lambda x: lax.psum_scatter(x, "i", scatter_dimension=sd, tiled=tiled)
        oracle = lambda X: _scatter_oracle(X, sd, tiled)
    elif kind == "all_to_all":
        tiled = draw(st.booleans())
        split = draw(st.integers(0, ndim - 1))
        concat = draw(st.integers(0, ndim - 1))
        shape[split] = n * draw(st.integers(1, 2)) if tiled else n
        collective = lambda x: lax.all_to_all(x, "i", split, concat, tiled=tiled)
        oracle = lambda X: _all_to_all_oracle(X, split, concat, tiled)
    elif kind == "ppermute":
        destinations = draw(st.permutations(range(n)))
        keep = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        perm = [(s, d) for s, d, k in zip(range(n), destinations, keep) if k]
        collective = lambda x: lax.ppermute(x, "i", perm)
        oracle = lambda X: _ppermute_oracle(X, perm)
    else:
        raise AssertionError(kind)
    seed = draw(st.integers(0, 2**16))
    X = np.random.default_rng(seed).standard_normal((n, *shape))
    return collective, oracle, X


KINDS = ["psum", "pmean", "pmax", "pmin", "all_gather", "psum_scatter", "all_to_all", "ppermute"]


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=12)
@given(data=st.data())
def test_collective_under_vmap_matches_its_meaning(kind, data):
    collective, oracle, X = data.draw(_case(kind))
    expected = oracle(X)
    for dtype in (np.float32, np.int32):
        x = X.astype(dtype) if dtype is np.float32 else np.round(X * 10).astype(dtype)
        want = oracle(x)
        if kind == "pmean" and dtype is np.int32:  # integer means are floating
            want = want.astype(np.float64)
        got = funcgrad.vmap(collective, axis_name="i")(fnp.asarray(x))
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    # jit outside and inside the vmap: same values, shapes and dtypes
    x = fnp.asarray(X)
    outer = funcgrad.jit(funcgrad.vmap(collective, axis_name="i"))(x)
    inner = funcgrad.vmap(funcgrad.jit(collective), axis_name="i")(x)
    for got in (outer, inner):
        assert got.shape == expected.shape and got.dtype == np.float64
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("in_axis", [0, 1])
def test_collectives_of_a_batch_axis_that_is_not_first(in_axis):
    X = np.random.default_rng(1).standard_normal((3, 4))  # members along in_axis
    f = funcgrad.vmap(lambda x: (lax.psum(x, "i"), lax.all_gather(x, "i")), in_axes=in_axis,
                      axis_name="i")  # fmt: skip
    members = np.moveaxis(X, in_axis, 0)
    total, gathered = f(fnp.asarray(X))
    np.testing.assert_allclose(np.asarray(total), _sum_oracle(members))
    np.testing.assert_allclose(np.asarray(gathered), _gather_oracle(members, 0, False))


def test_axis_index_and_axis_size():
    f = funcgrad.vmap(lambda x: (lax.axis_index("i"), x * lax.axis_size("i"), lax.psum(1, "i")),
                      axis_name="i")  # fmt: skip
    index, scaled, count = f(fnp.ones(4))
    assert index.dtype == np.int32 and index.tolist() == [0, 1, 2, 3]
    assert scaled.tolist() == [4.0] * 4 and count.tolist() == [4] * 4


def test_unbatched_operands_are_the_same_on_every_member():
    c = fnp.asarray([1.0, 2.0])

    def f(x):
        return (
            lax.psum(c, "i"),
            lax.pmax(c, "i"),
            lax.all_gather(c, "i"),
            lax.psum_scatter(fnp.stack([c, c, c]), "i"),
        )

    total, top, gathered, scattered = funcgrad.vmap(f, axis_name="i")(fnp.zeros(3))
    np.testing.assert_allclose(np.asarray(total), [[3.0, 6.0]] * 3)
    np.testing.assert_allclose(np.asarray(top), [[1.0, 2.0]] * 3)
    np.testing.assert_allclose(np.asarray(gathered), [[[1.0, 2.0]] * 3] * 3)
    np.testing.assert_allclose(np.asarray(scattered), [[3.0, 6.0]] * 3)


def test_pytrees_are_one_collective_and_booleans_count_as_integers():
    tree = {"a": fnp.arange(3.0), "b": (fnp.asarray([True, False, True]),)}
    out = funcgrad.vmap(lambda t: lax.psum(t, "i"), axis_name="i")(tree)
    assert out["a"].tolist() == [3.0] * 3
    assert out["b"][0].dtype == np.int32 and out["b"][0].tolist() == [2] * 3
    jaxpr = funcgrad.make_jaxpr(lambda t: lax.psum(t, "i"))
    with pytest.raises(NameError, match="not bound"):
        jaxpr(tree)


# --- nested named axes -----------------------------------------------------------------


def test_nested_named_axes():
    Z = np.random.default_rng(2).standard_normal((2, 3))  # outer 'i' of 2, inner 'j' of 3

    def f(x):
        return (
            lax.psum(x, "i"),
            lax.psum(x, "j"),
            lax.psum(x, ("i", "j")),
            lax.pmean(x, ("j", "i")),
            lax.axis_index("i") * 10 + lax.axis_index("j"),
            lax.all_gather(x, "i"),
            lax.axis_size(("i", "j")),
        )

    g = funcgrad.vmap(funcgrad.vmap(f, axis_name="j"), axis_name="i")
    si, sj, sij, mij, index, gathered, size = g(fnp.asarray(Z))
    np.testing.assert_allclose(np.asarray(si), np.broadcast_to(Z.sum(0), Z.shape))
    np.testing.assert_allclose(np.asarray(sj), np.broadcast_to(Z.sum(1, keepdims=True), Z.shape))
    np.testing.assert_allclose(np.asarray(sij), np.full(Z.shape, Z.sum()))
    np.testing.assert_allclose(np.asarray(mij), np.full(Z.shape, Z.mean()))
    assert index.tolist() == [[0, 1, 2], [10, 11, 12]]
    # member (i, j) gathers the values of every i at its own j
    np.testing.assert_allclose(np.asarray(gathered), np.stack([Z.T, Z.T]))
    assert size.tolist() == [[6] * 3] * 2


def test_inner_name_shadows_outer():
    f = funcgrad.vmap(funcgrad.vmap(lambda x: lax.psum(x, "i"), axis_name="i"), axis_name="i")
    np.testing.assert_allclose(np.asarray(f(fnp.ones((2, 3)))), np.full((2, 3), 3.0))


def test_unnamed_vmap_between_passes_collectives_through():
    # jacfwd batches over an unnamed axis between the named one and the collective; its
    # basis tangent moves every member's x at once, so d psum(x**2) = diag(2 * sum_j x_j)
    f = funcgrad.vmap(funcgrad.jacfwd(lambda x: lax.psum(x**2, "i")), axis_name="i")
    X = np.asarray([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(np.asarray(f(fnp.asarray(X))), [np.diag(2 * X.sum(0))] * 2)


# --- control flow and jit inside the named vmap -----------------------------------------


def test_cond_scan_and_jit_with_collectives_inside_a_named_vmap():
    def f(x):
        y = lax.cond(True, lambda v: v / lax.psum(v, "i"), lambda v: v, x)
        carry, _ = lax.scan(lambda c, _: (c + lax.pmax(c, "i"), None), y, None, length=2)
        return carry

    X = fnp.asarray([1.0, 3.0])
    share = np.asarray([0.25, 0.75])
    once = share + share.max()
    expected = once + once.max()
    for g in (funcgrad.vmap(f, axis_name="i"), funcgrad.vmap(funcgrad.jit(f), axis_name="i"),
              funcgrad.jit(funcgrad.vmap(f, axis_name="i"))):  # fmt: skip
        np.testing.assert_allclose(np.asarray(g(X)), expected)


def test_jit_call_without_batched_operands_still_sees_the_axis():
    c = fnp.asarray(2.0)
    f = funcgrad.vmap(lambda x: x + funcgrad.jit(lambda y: lax.psum(y, "i"))(c), axis_name="i")
    assert f(fnp.asarray([1.0, 3.0, 5.0])).tolist() == [7.0, 9.0, 11.0]


def test_jit_retraces_for_another_axis_size():
    gather = funcgrad.jit(lambda x: lax.all_gather(x, "i"))
    for n in (2, 3):
        out = funcgrad.vmap(gather, axis_name="i")(fnp.arange(float(n)))
        assert out.shape == (n, n)
    with pytest.raises(NameError, match="not bound"):
        gather(fnp.arange(2.0))  # same argument shapes, but no axis in scope


def test_eval_shape_of_collectives():
    def f(x):
        return lax.all_gather(x, "i", axis=1), lax.all_to_all(x, "i", 0, 1)

    shapes = funcgrad.eval_shape(funcgrad.vmap(f, axis_name="i"), fnp.ones((2, 2, 5)))
    assert [s.shape for s in shapes] == [(2, 2, 2, 5), (2, 5, 2)]


# --- derivatives ------------------------------------------------------------------------

# scalar per member, so that "the total" is the sum of the members' results
DIFFERENTIABLE = {
    "psum": lambda x: fnp.sum(fnp.sin(lax.psum(x, "i")) * x),
    "pmean": lambda x: fnp.sum(lax.pmean(x * x, "i") * fnp.cos(x)),
    "pmax": lambda x: fnp.sum(lax.pmax(fnp.sin(x), "i") * x),
    "pmin": lambda x: fnp.sum(lax.pmin(x, "i") ** 2),
    "all_gather": lambda x: fnp.sum(fnp.sin(lax.all_gather(x, "i")) * fnp.arange(3.0)[:, None]),
    "all_gather_tiled": lambda x: fnp.sum(
        fnp.tanh(lax.all_gather(x, "i", axis=0, tiled=True)) * fnp.arange(6.0)
    ),
    "psum_scatter": lambda x: fnp.sum(
        lax.psum_scatter(fnp.stack([x, x * x, fnp.sin(x)]), "i") ** 2
    ),
    "all_to_all": lambda x: fnp.sum(
        fnp.sin(lax.all_to_all(fnp.stack([x, 2 * x, 3 * x]), "i", 0, 1)) * fnp.arange(3.0)
    ),
    "ppermute": lambda x: fnp.sum(lax.ppermute(x, "i", [(0, 1), (1, 2)]) * fnp.exp(x)),
}


def _total(f):
    return lambda X: fnp.sum(funcgrad.vmap(f, axis_name="i")(X))


def _numerical_gradient(F, X, eps=1e-6):
    grad = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        step = np.zeros_like(X)
        step[idx] = eps
        grad[idx] = (float(F(fnp.asarray(X + step))) - float(F(fnp.asarray(X - step)))) / (2 * eps)
    return grad


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_grad_inside_the_named_vmap_matches_finite_differences(name):
    f = DIFFERENTIABLE[name]
    X = np.random.default_rng(3).uniform(0.2, 1.5, (3, 2))
    expected = _numerical_gradient(_total(f), X)
    got = funcgrad.vmap(funcgrad.grad(f), axis_name="i")(fnp.asarray(X))
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-7)
    jitted = funcgrad.vmap(funcgrad.jit(funcgrad.grad(f)), axis_name="i")(fnp.asarray(X))
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(got), rtol=1e-12, atol=1e-12)
    # forward mode inside the vmap: the directional derivative of every member's result
    T = np.random.default_rng(4).standard_normal(X.shape)
    tangents = funcgrad.vmap(lambda x, t: funcgrad.jvp(f, (x,), (t,))[1], axis_name="i")(
        fnp.asarray(X), fnp.asarray(T)
    )
    F = funcgrad.vmap(f, axis_name="i")
    eps = 1e-6
    fd = (np.asarray(F(fnp.asarray(X + eps * T))) - np.asarray(F(fnp.asarray(X - eps * T)))) / (
        2 * eps
    )
    np.testing.assert_allclose(np.asarray(tangents), fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["psum", "pmean", "all_gather", "all_to_all", "psum_scatter"])
def test_grad_of_the_vmapped_function(name):
    X = np.random.default_rng(5).uniform(0.2, 1.5, (3, 2))
    check_grads(funcgrad.vmap(DIFFERENTIABLE[name], axis_name="i"), (fnp.asarray(X),), order=2)


def test_psum_transposes_to_psum():
    # d/dx_k of sum_j psum(x)_j = n for every member: the cotangent 1 on each member, summed
    g = funcgrad.vmap(funcgrad.grad(lambda x: lax.psum(x, "i")), axis_name="i")
    assert g(fnp.asarray([1.0, 2.0, 5.0])).tolist() == [3.0, 3.0, 3.0]
    ct = funcgrad.vmap(lambda x, c: funcgrad.vjp(lambda v: lax.psum(v, "i"), x)[1](c)[0],
                       axis_name="i")(fnp.zeros(3), fnp.asarray([1.0, 2.0, 4.0]))  # fmt: skip
    assert ct.tolist() == [7.0, 7.0, 7.0]


def test_pmean_transposes_to_pmean():
    # member j's cotangent is the mean of the members' cotangents (psum's would be the sum)
    ct = funcgrad.vmap(lambda x, c: funcgrad.vjp(lambda v: lax.pmean(v, "i"), x)[1](c)[0],
                       axis_name="i")(fnp.zeros(4), fnp.asarray([1.0, 2.0, 4.0, 9.0]))  # fmt: skip
    assert ct.tolist() == [4.0] * 4
    # the linearized program holds pmean equations, not psum then a division
    seen = []

    def f(x):
        seen.append(str(funcgrad.make_jaxpr(funcgrad.grad(lambda v: lax.pmean(v * v, "i")))(x)))
        return x

    funcgrad.vmap(f, axis_name="i")(fnp.ones(2))
    assert seen[0].count("pmean") == 2 and "psum" not in seen[0], seen[0]


def test_pmean_of_a_pytree_is_one_equation_and_integers_give_float64():
    tree = {"a": fnp.arange(3.0, dtype="float32"), "b": fnp.asarray([True, False, True]),
            "c": fnp.arange(3)}  # fmt: skip
    seen = []

    def f(t):
        seen.append(str(funcgrad.make_jaxpr(lambda u: lax.pmean(u, "i"))(t)))
        return lax.pmean(t, "i")

    out = funcgrad.vmap(f, axis_name="i")(tree)
    assert seen[0].count("pmean") == 1
    assert out["a"].dtype == np.float32 and out["a"].tolist() == [1.0] * 3
    assert out["b"].dtype == np.float64 and np.allclose(np.asarray(out["b"]), 2 / 3)
    assert out["c"].dtype == np.float64 and out["c"].tolist() == [1.0] * 3


@pytest.mark.parametrize("use_jit", [False, True])
def test_axis_size_primitive_is_the_mapped_size(use_jit):
    def f(x):
        return (axis_size_p.bind1(axes=("i",)), axis_size_p.bind1(axes=("j",)),
                axis_size_p.bind1(axes=("i", "j")), x)  # fmt: skip

    g = funcgrad.jit(f) if use_jit else f
    si, sj, sij, _ = funcgrad.vmap(funcgrad.vmap(g, axis_name="j"), axis_name="i")(fnp.ones((2, 3)))
    for got, want in ((si, 2), (sj, 3), (sij, 6)):
        assert got.dtype == np.int32 and got.shape == (2, 3) and np.all(np.asarray(got) == want)
    # no tangent: an integer
    t = funcgrad.vmap(lambda x: funcgrad.jvp(lambda v: v * axis_size_p.bind1(axes=("i",)),
                                             (x,), (fnp.ones(()),))[1], axis_name="i")  # fmt: skip
    assert t(fnp.ones(3)).tolist() == [3.0] * 3


def test_axis_size_is_a_python_int_and_pmean_rejects_integer_operands():
    sizes = []
    funcgrad.vmap(lambda x: sizes.append(lax.axis_size(("i",))) or x, axis_name="i")(fnp.ones(4))
    assert sizes == [4] and type(sizes[0]) is int
    with pytest.raises(NameError, match="axis_size: unknown axis name 'k'"):
        funcgrad.vmap(lambda x: x * axis_size_p.bind1(axes=("k",)), axis_name="i")(fnp.ones(2))
    with pytest.raises(TypeError, match="pmean: operands must be floating.*got int64"):
        funcgrad.vmap(lambda x: pmean_p.bind1(x, axes=("i",)), axis_name="i")(fnp.arange(2))


# --- errors ----------------------------------------------------------------------------


def test_collective_outside_any_named_axis():
    with pytest.raises(NameError, match=r"funcgrad.lax.psum: axis name 'batch' is not bound.*"
                       r"vmap\(f, axis_name='batch'\)"):  # fmt: skip
        lax.psum(fnp.ones(2), "batch")
    with pytest.raises(NameError, match="not bound"):
        funcgrad.jit(lambda x: lax.all_gather(x, "batch"))(fnp.ones(2))


def test_unknown_axis_name_lists_the_names_in_scope():
    f = funcgrad.vmap(funcgrad.vmap(lambda x: lax.pmean(x, "batch"), axis_name="j"), axis_name="i")
    with pytest.raises(NameError, match=r"unknown axis name 'batch'; axis names in scope: "
                       r"'j' \(vmap, size 3\), 'i' \(vmap, size 2\)"):  # fmt: skip
        f(fnp.ones((2, 3)))


def test_unnamed_vmap_binds_no_name():
    with pytest.raises(NameError, match="not bound"):
        funcgrad.vmap(lambda x: lax.psum(x, "i"))(fnp.ones(2))


@pytest.mark.parametrize(
    "fn, match",
    [
        (
            lambda x: lax.all_to_all(x, "i", 0, 0),
            r"split_axis 0 of shape \(3,\) must have the size of axis 'i' \(2\)",
        ),
        (lambda x: lax.all_to_all(x, "i", 0, 0, tiled=True), "does not divide"),
        (lambda x: lax.psum_scatter(x, "i"), r"dimension 0 of shape \(3,\) must have the size"),
        (lambda x: lax.ppermute(x, "i", [(0, 1), (1, 1)]), "destination twice"),
        (lambda x: lax.ppermute(x, "i", [(0, 2)]), "names member 2, outside axis 'i' of size 2"),
        (lambda x: lax.all_gather(x, "i", axis=2), r"axis=2 is out of range for 2 dimensions"),
        (lambda x: lax.psum(x, ("i", "i")), "names an axis twice"),
    ],
)
def test_bad_arguments(fn, match):
    with pytest.raises((ValueError, TypeError), match=match):
        funcgrad.vmap(fn, axis_name="i")(fnp.ones((2, 3)))


def test_vmap_axis_name_must_be_hashable():
    with pytest.raises(TypeError, match="vmap: axis_name must be hashable"):
        funcgrad.vmap(lambda x: x, axis_name=["i"])


def test_every_collective_has_every_rule():
    for name, prim in COLLECTIVE_PRIMITIVES.items():
        for rule in ("impl", "abstract_eval", "jvp", "batch"):
            assert getattr(prim, rule) is not None, f"{name} has no {rule} rule"
        if prim.linear:
            assert prim.transpose is not None, f"{name} is linear but has no transpose rule"
    linear = {n for n, p in COLLECTIVE_PRIMITIVES.items() if p.linear}
    assert linear == {"psum", "pmean", "all_gather", "psum_scatter", "all_to_all", "ppermute"}
    assert set(COLLECTIVE_PRIMITIVES) >= {"pmean", "axis_size", "axis_index"}
