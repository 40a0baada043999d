"""vmap through the contraction and linear-algebra primitives, and the funcgrad.numpy
functions built on them: the cases the generic table of test_vmap_primitives.py draws
rarely (both operands batched along different axes, empty and size-1 batches, nested
vmap, one-sided solves), the cost of the common cases (which kernels run, on which
shapes), and vmap composed with grad and jvp.

Every value is checked against an explicit loop over the examples in NumPy, a
closed form, or finite differences (``check_grads``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import arrays, assert_same
from test_primitives import _dot_general_draw

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.lax import ALL_PRIMITIVES
from funcgrad.test_util import check_grads

dot_general_p = ALL_PRIMITIVES["dot_general"]


def _stack(examples, axis, shape, dtype):
    """The batch of ``examples`` (each of ``shape``) along ``axis``; it may be empty."""
    if not examples:
        return np.zeros((*shape[:axis], 0, *shape[axis:]), dtype)
    return np.stack(examples, axis=axis)


def _spd(rng, m, scale=1.0):
    a = rng.standard_normal((m, m))
    return scale * (a @ a.T + m * np.eye(m))


def _well_conditioned(rng, *shape):
    m = shape[-1]
    return rng.standard_normal(shape) + 2 * m * np.eye(m)


class _KernelLog:
    """Records each primitive impl that runs: ``(name, operand shapes, params)``."""

    def __init__(self, monkeypatch):
        self.calls = []
        for name, prim in ALL_PRIMITIVES.items():
            if prim.impl is not None:
                monkeypatch.setattr(prim, "impl", self._recording(name, prim.impl))

    def _recording(self, name, impl):
        def run(backend, *buffers, **params):
            self.calls.append((name, tuple(b.shape for b in buffers), params))
            return impl(backend, *buffers, **params)

        return run

    def names(self):
        return [name for name, _, _ in self.calls]


@pytest.fixture
def kernels(monkeypatch):
    return _KernelLog(monkeypatch)


# --- dot_general ----------------------------------------------------------------------


@pytest.mark.parametrize("batched", ["both", "lhs", "rhs"])
@given(data=st.data())
@settings(max_examples=25)
def test_dot_general_batched_along_any_axes_including_empty_batches(batched, data):
    (lhs, rhs), params = _dot_general_draw(data)
    dn, spec = params["dimension_numbers"], params["_spec"]
    size = data.draw(st.integers(0, 3), label="batch size")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    l_axis = data.draw(st.integers(0, lhs.ndim), label="lhs axis") if batched != "rhs" else None
    r_axis = data.draw(st.integers(0, rhs.ndim), label="rhs axis") if batched != "lhs" else None
    lhs_examples = [rng.permutation(lhs.reshape(-1)).reshape(lhs.shape) for _ in range(size)]
    rhs_examples = [rng.permutation(rhs.reshape(-1)).reshape(rhs.shape) for _ in range(size)]
    args = [
        lhs if l_axis is None else _stack(lhs_examples, l_axis, lhs.shape, lhs.dtype),
        rhs if r_axis is None else _stack(rhs_examples, r_axis, rhs.shape, rhs.dtype),
    ]
    contract = lambda a, b: dot_general_p.bind1(a, b, dimension_numbers=dn)
    got = funcgrad.vmap(contract, in_axes=(l_axis, r_axis))(*map(fnp.asarray, args))
    expected = np.zeros((0, *np.einsum(spec, lhs, rhs).shape))
    for k in range(size):
        lhs_k = lhs if l_axis is None else lhs_examples[k]
        rhs_k = rhs if r_axis is None else rhs_examples[k]
        expected = np.concatenate([expected, np.einsum(spec, lhs_k, rhs_k)[None]])
    what = f"vmap of {spec} with in_axes {(l_axis, r_axis)}"
    assert_same(got, expected.astype(lhs.dtype), what=what)


def test_vmap_of_matrix_vector_product_is_one_2d_matmul(kernels):
    rng = np.random.default_rng(0)
    w, xs = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    got = funcgrad.vmap(lambda x: fnp.asarray(w) @ x)(fnp.asarray(xs))
    np.testing.assert_allclose(np.asarray(got), xs @ w.T, rtol=1e-12)
    # one matmul of W with the (transposed view of the) stack of vectors; the result's
    # batch axis is its last one, and only out_axes=0 moves it
    assert [(n, s, p) for n, s, p in kernels.calls if n == "dot_general"] == [
        ("dot_general", ((4, 3), (5, 3)), {"dimension_numbers": (((1,), (1,)), ((), ()))})
    ]
    assert kernels.names().count("reshape") == 0 and kernels.names().count("broadcast_in_dim") == 0


def test_vmap_of_vector_matrix_product_needs_no_transpose(kernels):
    rng = np.random.default_rng(1)
    xs, w = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    got = funcgrad.vmap(lambda x: x @ fnp.asarray(w))(fnp.asarray(xs))
    np.testing.assert_allclose(np.asarray(got), xs @ w, rtol=1e-12)
    assert kernels.names() == ["dot_general"]


def test_batched_matrices_times_shared_matrix_is_one_matmul(kernels):
    rng = np.random.default_rng(2)
    a, w = rng.standard_normal((6, 2, 3)), rng.standard_normal((3, 4))
    got = funcgrad.vmap(lambda x: x @ fnp.asarray(w))(fnp.asarray(a))
    np.testing.assert_allclose(np.asarray(got), a @ w, rtol=1e-12)
    assert kernels.names() == ["dot_general"]


@pytest.mark.parametrize("size", [0, 1, 3])
def test_nested_vmap_of_matmul(size):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((size, 2, 3))
    c = rng.standard_normal((3, 4, 2))  # batched along axis 1
    f = funcgrad.vmap(funcgrad.vmap(fnp.matmul, in_axes=(0, None)), in_axes=(None, 1))
    got = f(fnp.asarray(a), fnp.asarray(c))
    expected = np.einsum("bij,jck->cbik", a, c)  # outer batch c (from c), inner batch b (from a)
    assert_same(got, expected)


# --- funcgrad.numpy contractions under vmap -------------------------------------------

_CONTRACTIONS = {
    # name: (function, per-example shapes, numpy function)
    "matmul mat-mat": (fnp.matmul, [(2, 3), (3, 4)], np.matmul),
    "matmul mat-vec": (fnp.matmul, [(2, 3), (3,)], np.matmul),
    "matmul vec-mat": (fnp.matmul, [(3,), (3, 4)], np.matmul),
    "matmul stacks": (fnp.matmul, [(2, 2, 3), (1, 3, 4)], np.matmul),
    "einsum ij,jk": (lambda a, b: fnp.einsum("ij,jk->ki", a, b), [(2, 3), (3, 4)],
                     lambda a, b: np.einsum("ij,jk->ki", a, b)),
    "einsum bij,bjk": (lambda a, b: fnp.einsum("bij,bjk->bik", a, b), [(2, 2, 3), (2, 3, 4)],
                       lambda a, b: np.einsum("bij,bjk->bik", a, b)),
    "einsum three operands": (lambda a, b: fnp.einsum("i,ij,jk->k", a, b, b.T @ b), [(2,), (2, 3)],
                              lambda a, b: np.einsum("i,ij,jk->k", a, b, b.T @ b)),
    "dot vec-vec": (fnp.dot, [(3,), (3,)], np.dot),
    "tensordot": (lambda a, b: fnp.tensordot(a, b, axes=([0, 2], [1, 0])), [(2, 3, 4), (4, 2)],
                  lambda a, b: np.tensordot(a, b, axes=([0, 2], [1, 0]))),
    "outer": (fnp.outer, [(2,), (3,)], np.outer),
    "vecdot": (fnp.vecdot, [(2, 3), (3,)], np.vecdot),
}  # fmt: skip


@pytest.mark.parametrize("name", list(_CONTRACTIONS))
@given(data=st.data())
@settings(max_examples=10)
def test_fnp_contractions_under_vmap_against_a_loop(name, data):
    f, shapes, np_f = _CONTRACTIONS[name]
    size = data.draw(st.integers(1, 3), label="batch size")
    in_axes, examples = [], []
    for i, shape in enumerate(shapes):
        axis = st.none() | st.integers(-len(shape) - 1, len(shape))
        in_axes.append(data.draw(axis, label=f"in_axes[{i}]"))
        values = arrays(np.float64, shape, min_value=-3, max_value=3)
        examples.append([data.draw(values) for _ in range(size)])
    if all(a is None for a in in_axes):
        in_axes[0] = 0
    args = [ex[0] if ax is None else np.stack(ex, axis=ax) for ex, ax in zip(examples, in_axes)]
    example_k = lambda k: [ex[0] if ax is None else ex[k] for ex, ax in zip(examples, in_axes)]
    expected = np.stack([np_f(*example_k(k)) for k in range(size)])
    got = funcgrad.vmap(f, in_axes=tuple(in_axes))(*map(fnp.asarray, args))
    assert_same(
        got, expected, rtol=1e-10, atol=1e-10, what=f"vmap of {name} with in_axes {in_axes}"
    )


# --- decompositions, solve, det -------------------------------------------------------


def _magnitudes(outputs, abs_, vectors):
    """The outputs of a decomposition with the ``vectors`` ones (free up to sign) as magnitudes."""
    return tuple(abs_(x) if i in vectors else x for i, x in enumerate(outputs))


_LINALG = {
    # name: (function of one stack of matrices, numpy function, kind of matrix)
    "cholesky": (fnp.linalg.cholesky, np.linalg.cholesky, "spd"),
    "det": (fnp.linalg.det, np.linalg.det, "square"),
    "slogdet": (lambda a: tuple(fnp.linalg.slogdet(a)),
                lambda a: tuple(np.linalg.slogdet(a)), "square"),
    "inv": (fnp.linalg.inv, np.linalg.inv, "square"),
    "eigvalsh": (fnp.linalg.eigvalsh, np.linalg.eigvalsh, "spd"),
    # eigenvectors and singular vectors are unique up to sign: compare magnitudes
    "eigh": (lambda a: _magnitudes(fnp.linalg.eigh(a), fnp.abs, (1,)),
             lambda a: _magnitudes(np.linalg.eigh(a), np.abs, (1,)), "spd"),
    "qr": (lambda a: tuple(fnp.abs(t) for t in fnp.linalg.qr(a)),
           lambda a: tuple(np.abs(t) for t in np.linalg.qr(a)), "tall"),
    "qr complete": (lambda a: fnp.abs(fnp.linalg.qr(a, mode="complete")[1]),
                    lambda a: np.abs(np.linalg.qr(a, mode="complete")[1]), "wide"),
    "svd": (lambda a: _magnitudes(fnp.linalg.svd(a, full_matrices=False), fnp.abs, (0, 2)),
            lambda a: _magnitudes(np.linalg.svd(a, full_matrices=False), np.abs, (0, 2)), "tall"),
    "svdvals": (fnp.linalg.svdvals, lambda a: np.linalg.svd(a, compute_uv=False), "wide"),
    "pinv": (fnp.linalg.pinv, np.linalg.pinv, "tall"),
    "norm 2": (lambda a: fnp.linalg.norm(a, ord=2, axis=(-2, -1)),
               lambda a: np.linalg.norm(a, ord=2, axis=(-2, -1)), "tall"),
    "norm fro": (lambda a: fnp.linalg.norm(a, axis=(-2, -1)),
                 lambda a: np.linalg.norm(a, axis=(-2, -1)), "tall"),
    "matrix_power": (lambda a: fnp.linalg.matrix_power(a, 3),
                     lambda a: np.linalg.matrix_power(a, 3), "square"),
}  # fmt: skip


def _matrix_example(rng, kind, lead):
    if kind == "spd":
        a = rng.standard_normal((*lead, 3, 3))
        return a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)
    if kind == "square":
        return _well_conditioned(rng, *lead, 3, 3)
    return rng.standard_normal((*lead, 4, 2) if kind == "tall" else (*lead, 2, 4))


@pytest.mark.parametrize("name", list(_LINALG))
@pytest.mark.parametrize(
    "lead, in_axis", [((), 0), ((), 1), ((), -1), ((2,), 0), ((2,), 1), ((2,), 3)]
)
def test_fnp_linalg_under_vmap_against_a_loop(name, lead, in_axis):
    f, np_f, kind = _LINALG[name]
    rng = np.random.default_rng(4)
    examples = [_matrix_example(rng, kind, lead) for _ in range(3)]
    got = funcgrad.vmap(f, in_axes=in_axis)(fnp.asarray(np.stack(examples, axis=in_axis)))
    expected = [np_f(x) for x in examples]
    if isinstance(expected[0], tuple):
        for j, g in enumerate(got):
            assert_same(
                g,
                np.stack([e[j] for e in expected]),
                rtol=1e-9,
                atol=1e-9,
                what=f"{name} output {j}",
            )
    else:
        assert_same(got, np.stack(expected), rtol=1e-9, atol=1e-9, what=name)


def test_decomposition_keeps_a_leading_batch_axis_in_place(kernels):
    rng = np.random.default_rng(5)
    a = np.stack([_spd(rng, 3, k + 1) for k in range(4)]).reshape(2, 2, 3, 3)
    got = funcgrad.vmap(fnp.linalg.cholesky, in_axes=1)(fnp.asarray(a))
    assert_same(got, np.linalg.cholesky(a).swapaxes(0, 1))
    # vmap's own out_axes move is the one transpose: the kernel saw the stack as it was
    assert [s for n, s, _ in kernels.calls if n == "cholesky"] == [((2, 2, 3, 3),)]


@pytest.mark.parametrize("size", [0, 1, 3])
def test_decompositions_with_empty_and_size_one_batches(size):
    rng = np.random.default_rng(6)
    a = np.stack([_spd(rng, 3, k + 1) for k in range(size)]) if size else np.zeros((0, 3, 3))
    b = rng.standard_normal((size, 3, 2))
    pairs = [
        (fnp.linalg.cholesky, np.linalg.cholesky),
        (fnp.linalg.det, np.linalg.det),
        (fnp.linalg.eigvalsh, np.linalg.eigvalsh),
        (fnp.linalg.svdvals, np.linalg.svdvals),
    ]
    for f, np_f in pairs:
        got = funcgrad.vmap(f, in_axes=2)(fnp.asarray(np.moveaxis(a, 0, 2)))
        assert_same(got, np_f(a), rtol=1e-10, what=f.__name__)
    got = funcgrad.vmap(fnp.linalg.solve, in_axes=(None if size == 0 else 0, 2))(
        fnp.asarray(a if size else np.eye(3)), fnp.asarray(np.moveaxis(b, 0, 2))
    )
    expected = np.linalg.solve(a, b) if size else np.zeros((0, 3, 2))
    assert_same(got, expected, rtol=1e-10)


# --- solve: one operand batched, or both along different axes --------------------------


@pytest.mark.parametrize("lead", [(), (2,)])
@pytest.mark.parametrize(
    "in_axes",
    [
        (None, 0),
        (None, 1),
        (None, -1),
        (0, None),
        (-1, None),
        (1, None),
        (0, 0),
        (0, -1),
        (2, 1),
        (1, 1),
    ],
)
def test_solve_with_either_or_both_operands_batched(lead, in_axes):
    rng = np.random.default_rng(7)
    size = 3
    a_examples = [_well_conditioned(rng, *lead, 3, 3) for _ in range(size)]
    b_examples = [rng.standard_normal((*lead, 3, 2)) for _ in range(size)]
    a_ax, b_ax = in_axes
    a = a_examples[0] if a_ax is None else np.stack(a_examples, axis=a_ax)
    b = b_examples[0] if b_ax is None else np.stack(b_examples, axis=b_ax)
    got = funcgrad.vmap(fnp.linalg.solve, in_axes=in_axes)(fnp.asarray(a), fnp.asarray(b))
    expected = np.stack(
        [
            np.linalg.solve(
                a_examples[0 if a_ax is None else k], b_examples[0 if b_ax is None else k]
            )
            for k in range(size)
        ]
    )
    assert_same(got, expected, rtol=1e-10, atol=1e-12)


def test_solve_against_a_shared_matrix_factorizes_it_once(kernels):
    rng = np.random.default_rng(8)
    a, bs = _well_conditioned(rng, 3, 3), rng.standard_normal((5, 3))
    got = funcgrad.vmap(lambda b: fnp.linalg.solve(fnp.asarray(a), b))(fnp.asarray(bs))
    assert_same(got, np.linalg.solve(a, bs.T).T, rtol=1e-10)
    # the five right-hand sides are five columns of one system
    assert [s for n, s, _ in kernels.calls if n == "solve"] == [((3, 3), (3, 5))]


def test_grad_through_solve_against_a_shared_matrix():
    rng = np.random.default_rng(14)
    a, bs = _well_conditioned(rng, 3, 3), rng.standard_normal((4, 3))

    def loss(a, bs):
        return fnp.sum(funcgrad.vmap(lambda b: fnp.linalg.solve(a, b))(bs) ** 2)

    check_grads(loss, (fnp.asarray(a), fnp.asarray(bs)), order=2)
    # closed form: with X = A^{-1} B^T, d/dB = 2 (A^{-T} X)^T and d/dA = -2 A^{-T} X X^T
    x = np.linalg.solve(a, bs.T)
    ga, gb = funcgrad.grad(loss, argnums=(0, 1))(fnp.asarray(a), fnp.asarray(bs))
    assert_same(gb, 2 * np.linalg.solve(a.T, x).T, rtol=1e-10)
    assert_same(ga, -2 * np.linalg.solve(a.T, x) @ x.T, rtol=1e-10)


# --- with grad and jvp ----------------------------------------------------------------


def _linear_model_loss(params, x, y):
    w, b = params
    return fnp.sum((w @ x + b - y) ** 2)


def test_per_example_gradients_of_a_linear_model():
    rng = np.random.default_rng(9)
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    xs, ys = rng.standard_normal((7, 3)), rng.standard_normal((7, 2))
    params = (fnp.asarray(w), fnp.asarray(b))
    gw, gb = funcgrad.vmap(funcgrad.grad(_linear_model_loss), in_axes=(None, 0, 0))(
        params, fnp.asarray(xs), fnp.asarray(ys)
    )
    r = xs @ w.T + b - ys  # residuals, one row per example
    assert_same(gw, 2 * r[:, :, None] * xs[:, None, :], rtol=1e-12)  # d/dW = 2 r x^T
    assert_same(gb, 2 * r, rtol=1e-12)
    # grad of the batched mean loss is the mean of the per-example gradients
    batch_loss = funcgrad.vmap(_linear_model_loss, in_axes=(None, 0, 0))
    mean_loss = lambda p: fnp.mean(batch_loss(p, fnp.asarray(xs), fnp.asarray(ys)))
    mw, mb = funcgrad.grad(mean_loss)(params)
    assert_same(mw, (2 * r[:, :, None] * xs[:, None, :]).mean(0), rtol=1e-12)
    assert_same(mb, (2 * r).mean(0), rtol=1e-12)


def test_per_example_gradients_with_batched_weights_along_axis_1():
    # vmap over an ensemble of models (W batched along axis 1) sharing one example
    rng = np.random.default_rng(10)
    ws, x, y = rng.standard_normal((2, 4, 3)), rng.standard_normal(3), rng.standard_normal(2)
    loss = lambda w: _linear_model_loss((w, 0.0), fnp.asarray(x), fnp.asarray(y))
    g = funcgrad.vmap(funcgrad.grad(loss), in_axes=1)(fnp.asarray(ws))
    r = np.einsum("ikj,j->ki", ws, x) - y
    assert_same(g, 2 * r[:, :, None] * x[None, None, :], rtol=1e-12)


_DIFFERENTIABLE = {
    "matmul": lambda a, b: fnp.sum(fnp.sin(a @ b)),
    "det": lambda a, b: fnp.linalg.det(a) * fnp.sum(b),
    "slogdet": lambda a, b: fnp.linalg.slogdet(a)[1] + fnp.sum(b),
    "solve": lambda a, b: fnp.sum(fnp.linalg.solve(a, b) ** 2),
    "inv": lambda a, b: fnp.sum(fnp.linalg.inv(a) * b[:, :1]),
    "cholesky": lambda a, b: fnp.sum(fnp.linalg.cholesky(a @ a.T) * b[:, :1]),
    "eigh": lambda a, b: fnp.sum(fnp.linalg.eigvalsh(a + a.T) * b[:, 0]),
    "qr": lambda a, b: fnp.sum(fnp.linalg.qr(a)[1] ** 2 * b[:, :1]),
    "svd": lambda a, b: fnp.sum(fnp.linalg.svdvals(a) * b[:, 1]),
}


def _square_batch(rng, size):
    return np.stack([_well_conditioned(rng, 3, 3) * (1 + k / 4) for k in range(size)])


@pytest.mark.parametrize("name", list(_DIFFERENTIABLE))
def test_grad_of_vmap_against_finite_differences(name):
    rng = np.random.default_rng(11)
    f = _DIFFERENTIABLE[name]
    a, b = _square_batch(rng, 3), rng.standard_normal((3, 3, 2))
    batched = funcgrad.vmap(f, in_axes=(0, 2))
    check_grads(
        lambda a, b: fnp.sum(batched(a, b) * fnp.arange(1.0, 4.0)),
        (fnp.asarray(a), fnp.asarray(np.moveaxis(b, 0, 2))),
        order=2,
        modes=("fwd", "rev"),
    )


@pytest.mark.parametrize("name", list(_DIFFERENTIABLE))
def test_vmap_of_grad_and_of_jvp_against_a_loop(name):
    rng = np.random.default_rng(12)
    f = _DIFFERENTIABLE[name]
    a, b = _square_batch(rng, 3), rng.standard_normal((3, 3, 2))
    ta = rng.standard_normal((3, 3))  # one tangent shared by all examples
    ga, gb = funcgrad.vmap(funcgrad.grad(f, argnums=(0, 1)), in_axes=(1, 0))(
        fnp.asarray(np.moveaxis(a, 0, 1)), fnp.asarray(b)
    )
    jvp_of = lambda a, b: funcgrad.jvp(lambda a: f(a, b), (a,), (fnp.asarray(ta),))[1]
    tangents = funcgrad.vmap(jvp_of)(fnp.asarray(a), fnp.asarray(b))
    for k in range(3):
        ga_k, gb_k = funcgrad.grad(f, argnums=(0, 1))(fnp.asarray(a[k]), fnp.asarray(b[k]))
        assert_same(
            ga[k],
            np.asarray(ga_k),
            rtol=1e-9,
            atol=1e-12,
            what=f"vmap(grad) of {name}, example {k}",
        )
        assert_same(
            gb[k],
            np.asarray(gb_k),
            rtol=1e-9,
            atol=1e-12,
            what=f"vmap(grad) of {name}, example {k}",
        )
        # the per-example gradient is checked against finite differences in test_autodiff_*:
        # here the batched tangents must equal <grad, t> example by example
        what = f"vmap(jvp) of {name}, example {k}"
        assert_same(tangents[k], np.sum(np.asarray(ga_k) * ta), rtol=1e-9, atol=1e-10, what=what)


def test_jvp_and_vjp_rules_of_linalg_primitives_on_batched_values():
    # the primitives' own jvp/transpose rules, run inside vmap (vmap outermost)
    rng = np.random.default_rng(13)
    a, t = _square_batch(rng, 4), rng.standard_normal((4, 3, 3))
    b = rng.standard_normal((1, 3))

    def per_example(a, t, b):
        (_, det_dot) = funcgrad.jvp(fnp.linalg.det, (a,), (t,))
        _, pullback = funcgrad.vjp(lambda b: fnp.linalg.solve(a, b), b)
        (solve_ct,) = pullback(b)
        return det_dot, solve_ct

    batched = funcgrad.vmap(per_example, in_axes=(0, 0, None))
    det_dot, solve_ct = batched(fnp.asarray(a), fnp.asarray(t), fnp.asarray(b[0]))
    # Jacobi: d det = det(A) tr(A^{-1} T); the transpose of b -> A^{-1} b is c -> A^{-T} c
    expected_det_dot = np.linalg.det(a) * np.einsum("kij,kji->k", np.linalg.inv(a), t)
    assert_same(det_dot, expected_det_dot, rtol=1e-10)
    expected_solve_ct = np.linalg.solve(np.swapaxes(a, -1, -2), b[0][None, :, None])[..., 0]
    assert_same(solve_ct, expected_solve_ct, rtol=1e-10)
