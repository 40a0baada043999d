"""Loops (scan, map, fori_loop, while_loop): values against plain Python loops, and
jvp, grad (check_grads order 2), vmap, jit and type checking of the programs."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import counting

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.control_flow.loops import fori_loop, map, scan, scan_p, while_loop, while_p
from funcgrad._src.ir import typecheck
from funcgrad.test_util import check_grads


def close(a, b, rtol=1e-9, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


def rand(seed, *shape, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def assert_typechecks(f, *args):
    closed = funcgrad.make_jaxpr(f)(*args)
    typecheck(closed)
    return closed


def primitives_in(closed):
    found = set()

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            found.add(eqn.primitive)
            for v in eqn.params.values():
                if hasattr(v, "jaxpr") and hasattr(v, "consts"):
                    walk(v.jaxpr)

    walk(closed.jaxpr)
    return found


# --- plain-Python references -----------------------------------------------------------


def py_scan(f, init, xs, reverse=False):
    carry, ys = init, []
    idx = range(len(xs) - 1, -1, -1) if reverse else range(len(xs))
    for i in idx:
        carry, y = f(carry, xs[i])
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, np.stack(ys)


def rnn_step(w, c, x):
    """A nonlinear carry update used with both funcgrad and NumPy."""
    mod = fnp if not isinstance(c, np.ndarray) else np
    new = mod.tanh(c * w + x)
    return new, new * x + c


# --- scan: values ------------------------------------------------------------------------


@settings(max_examples=15)
@given(seed=st.integers(0, 2**16), n=st.integers(0, 5), d=st.integers(1, 3), reverse=st.booleans())
def test_scan_matches_python_loop(seed, n, d, reverse):
    w = rand(seed, d)
    xs = rand(seed + 1, n, d)
    c0 = rand(seed + 2, d)
    carry, ys = scan(functools.partial(rnn_step, fnp.asarray(w)), fnp.asarray(c0),
                     fnp.asarray(xs), reverse=reverse)  # fmt: skip
    if n == 0:
        close(carry, c0)
        assert ys.shape == (0, d) and ys.dtype == np.float64
        return
    ec, ey = py_scan(functools.partial(rnn_step, w), c0, xs, reverse=reverse)
    close(carry, ec)
    close(ys, ey)


def test_scan_pytree_carry_and_outputs():
    xs = {"a": fnp.arange(4.0), "b": fnp.ones((4, 2))}

    def f(c, x):
        s, (cnt,) = c["sum"], c["n"]
        return {"sum": s + x["a"] * x["b"], "n": (cnt + 1,)}, (x["a"] * 2.0, {"p": s})

    carry, (y1, y2) = scan(f, {"sum": fnp.zeros(2), "n": (0,)}, xs)
    close(carry["sum"], [6.0, 6.0])
    assert int(carry["n"][0]) == 4 and carry["n"][0].dtype == np.int64
    close(y1, [0.0, 2.0, 4.0, 6.0])
    close(y2["p"], [[0, 0], [0, 0], [1, 1], [3, 3]])


def test_scan_xs_none_with_length_and_none_ys():
    carry, ys = scan(lambda c, x: (c * 2.0, None), 1.0, None, length=5)
    assert ys is None
    assert float(carry) == 32.0
    _, ys = scan(lambda c, x: (c + 1, c), 0, None, length=3)
    assert ys.tolist() == [0, 1, 2]


def test_scan_weak_scalar_carry_output_is_cast():
    carry, _ = scan(lambda c, x: (1.0, None), fnp.zeros((), np.float32), None, length=2)
    assert carry.dtype == np.float32


def test_map_matches_python():
    xs = rand(3, 4, 3)
    close(map(lambda x: fnp.sin(x).sum(), fnp.asarray(xs)), np.sin(xs).sum(1))
    out = map(lambda x: {"s": x[0], "t": x * 2.0}, fnp.asarray(xs))
    close(out["s"], xs[:, 0])
    close(out["t"], xs * 2)


# --- scan: errors ------------------------------------------------------------------------


def test_scan_carry_type_change_error_names_path_and_types():
    with pytest.raises(TypeError, match=r"carry\['a'\]\[1\].*float64\[3\].*float64\[2\]"):
        scan(lambda c, x: ({"a": (c["a"][0], fnp.ones(3))}, None),
             {"a": (fnp.zeros(1), fnp.zeros(2))}, None, length=2)  # fmt: skip
    with pytest.raises(TypeError, match=r"carry.*float64\[\].*int64\[\]"):
        scan(lambda c, x: (c + 0.5 * fnp.ones(()), None), 0, None, length=2)


def test_scan_structure_and_length_errors():
    with pytest.raises(TypeError, match="structure"):
        scan(lambda c, x: ((c, c), None), 0.0, None, length=2)
    with pytest.raises(ValueError, match="length"):
        scan(lambda c, x: (c, x), 0.0, None)
    with pytest.raises(ValueError, match="leading axis sizes"):
        scan(lambda c, x: (c, x), 0.0, fnp.ones(3), length=4)
    with pytest.raises(ValueError, match="share their leading axis"):
        scan(lambda c, x: (c, x), 0.0, (fnp.ones(3), fnp.ones(2)))
    with pytest.raises(TypeError, match="pair"):
        scan(lambda c, x: c, 0.0, fnp.ones(3))


# --- scan: differentiation ------------------------------------------------------------


def _scan_loss(w, c0, xs, reverse=False):
    carry, ys = scan(functools.partial(rnn_step, w), c0, xs, reverse=reverse)
    return fnp.sum(carry * carry) + fnp.sum(fnp.sin(ys))


@settings(max_examples=8)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 4), reverse=st.booleans())
def test_scan_check_grads_order2(seed, n, reverse):
    args = tuple(fnp.asarray(a) for a in (rand(seed, 2), rand(seed + 1, 2), rand(seed + 2, n, 2)))
    check_grads(functools.partial(_scan_loss, reverse=reverse), args, order=2)


def test_scan_grad_matches_finite_difference_of_python_loop():
    w, c0, xs = rand(1, 3), rand(2, 3), rand(3, 4, 3)

    def np_loss(w):
        carry, ys = py_scan(functools.partial(rnn_step, w), c0, xs)
        return np.sum(carry**2) + np.sum(np.sin(ys))

    g = funcgrad.grad(_scan_loss)(fnp.asarray(w), fnp.asarray(c0), fnp.asarray(xs))
    eps = 1e-6
    fd = [(np_loss(w + eps * e) - np_loss(w - eps * e)) / (2 * eps) for e in np.eye(3)]
    close(g, fd, rtol=1e-6, atol=1e-8)


def test_scan_grad_only_some_operands_and_int_carry():
    # the carry's tangent starts at zero and picks one up from the differentiated constant
    def f(w):
        def body(c, x):
            i, v = c
            return (i + 1, v * w + x), v

        (_, v), ys = scan(body, (0, fnp.zeros(())), fnp.arange(1.0, 4.0))
        return v + ys.sum()

    # v_k: 0, 1, w+2, w^2+2w+3; total = w^2+2w+3 + 0 + 1 + w + 2
    close(f(fnp.asarray(2.0)), 4 + 4 + 3 + 3 + 2)
    close(funcgrad.grad(f)(fnp.asarray(2.0)), 2 * 2.0 + 2 + 1)
    check_grads(f, (fnp.asarray(0.3),), order=2)


def test_scan_jvp_matches_finite_difference():
    w, c0, xs = (fnp.asarray(a) for a in (rand(4, 2), rand(5, 2), rand(6, 3, 2)))
    t = fnp.asarray(rand(7, 2))
    out, tan = funcgrad.jvp(lambda c: _scan_loss(w, c, xs), (c0,), (t,))
    eps = 1e-6
    fd = (_scan_loss(w, c0 + eps * t, xs) - _scan_loss(w, c0 - eps * t, xs)) / (2 * eps)
    close(out, _scan_loss(w, c0, xs))
    close(tan, fd, rtol=1e-6)


def test_scan_closure_over_outer_tracer_grad():
    def f(a):
        return scan(lambda c, x: (c + a * x, None), 0.0, fnp.arange(3.0))[0] * a

    close(funcgrad.grad(f)(fnp.asarray(2.0)), 2 * 3.0 * 2.0)
    check_grads(f, (fnp.asarray(1.5),), order=2)


def test_scan_grad_under_jit_and_jit_of_grad():
    args = tuple(fnp.asarray(a) for a in (rand(8, 2), rand(9, 2), rand(10, 3, 2)))
    g = funcgrad.grad(_scan_loss, argnums=(0, 1, 2))(*args)
    gj = funcgrad.jit(funcgrad.grad(_scan_loss, argnums=(0, 1, 2)))(*args)
    gi = funcgrad.grad(funcgrad.jit(_scan_loss), argnums=(0, 1, 2))(*args)
    for a, b, c in zip(g, gj, gi):
        close(a, b)
        close(a, c)


def test_scan_linear_transpose():
    w = fnp.asarray(rand(11, 3))

    def lin(x):  # linear in x: a weighted cumulative sum
        return scan(lambda c, xi: (c * w + xi, c), fnp.zeros(3), x)[1]

    x = fnp.asarray(rand(12, 4, 3))
    ct = fnp.asarray(rand(13, 4, 3))
    (tx,) = funcgrad.linear_transpose(lin, x)(ct)
    close(fnp.sum(tx * x), fnp.sum(ct * lin(x)))


# --- scan: vmap, jit, programs ------------------------------------------------------------


@pytest.mark.parametrize("in_axes", [(0, None, None), (None, 0, None), (None, None, 1), (0, 0, 1)])
def test_scan_vmap(in_axes):
    w, c0, xs = rand(14, 3, 2), rand(15, 3, 2), rand(16, 4, 3, 2)
    args = [w, c0, xs]
    # unbatched operands take example 0
    args = [a if ax is not None else (a[0] if i < 2 else a[:, 0]) for i, (a, ax) in
            enumerate(zip(args, in_axes))]  # fmt: skip
    f = functools.partial(_scan_loss)
    out = funcgrad.vmap(f, in_axes=in_axes)(*(fnp.asarray(a) for a in args))
    expected = []
    for b in range(3):
        ex = [a if ax is None else (np.take(a, b, axis=ax)) for a, ax in zip(args, in_axes)]
        expected.append(float(_scan_loss(*(fnp.asarray(e) for e in ex))))
    close(out, expected)


def test_scan_vmap_of_grad_and_reverse():
    w, c0, xs = rand(17, 2, 2), rand(18, 2), rand(19, 3, 2)
    g = funcgrad.vmap(funcgrad.grad(functools.partial(_scan_loss, reverse=True)), (0, None, None))
    out = g(fnp.asarray(w), fnp.asarray(c0), fnp.asarray(xs))
    for b in range(2):
        e = funcgrad.grad(functools.partial(_scan_loss, reverse=True))(
            fnp.asarray(w[b]), fnp.asarray(c0), fnp.asarray(xs))  # fmt: skip
        close(out[b], e)


def test_scan_jit_traces_once_and_typechecks():
    body = counting(lambda c, x: (c * 0.5 + x, c))
    f = counting(lambda xs: scan(body, 0.0, xs))
    jf = funcgrad.jit(f)
    xs = fnp.arange(5.0)
    c1, y1 = jf(xs)
    c2, _ = jf(xs * 2.0)
    assert f.count == 1 and body.count == 1
    ec, ey = py_scan(lambda c, x: (c * 0.5 + x, c), 0.0, np.arange(5.0))
    close(c1, ec)
    close(y1, ey)
    close(c2, 2 * ec)
    closed = assert_typechecks(f, xs)
    assert scan_p in primitives_in(closed)
    args = tuple(fnp.asarray(a) for a in (rand(1, 2), rand(2, 2), rand(3, 3, 2)))
    assert_typechecks(funcgrad.grad(_scan_loss), *args)
    assert_typechecks(funcgrad.vmap(_scan_loss, (0, None, None)), fnp.ones((2, 2)), *args[1:])
    assert_typechecks(lambda *a: funcgrad.jvp(_scan_loss, a, a), *args)


# --- fori_loop ------------------------------------------------------------------------------


def test_fori_loop_static_values_and_grad():
    def f(x):
        return fori_loop(1, 5, lambda i, v: fnp.sin(v) * i + v, x)

    def np_f(x):
        for i in range(1, 5):
            x = np.sin(x) * i + x
        return x

    x = rand(20, 3)
    close(f(fnp.asarray(x)), np_f(x))
    check_grads(f, (fnp.asarray(x),), order=2)
    assert scan_p in primitives_in(funcgrad.make_jaxpr(f)(fnp.asarray(x)))
    assert float(fori_loop(5, 2, lambda i, v: v + 1.0, 0.0)) == 0.0
    out = fori_loop(np.int32(0), np.int32(3), lambda i, v: (v[0] + i, v[1]), (0, 1.0))
    assert int(out[0]) == 3


def test_fori_loop_traced_bounds_use_while():
    f = funcgrad.jit(lambda n, x: fori_loop(0, n, lambda i, v: v * 2.0 + i, x))
    assert float(f(fnp.asarray(3), fnp.asarray(1.0))) == ((1 * 2 + 0) * 2 + 1) * 2 + 2
    closed = assert_typechecks(lambda n, x: fori_loop(0, n, lambda i, v: v * 2.0, x),
                               fnp.asarray(3), fnp.asarray(1.0))  # fmt: skip
    assert while_p in primitives_in(closed)
    # forward mode works through the while loop
    _, t = funcgrad.jvp(lambda x: fori_loop(0, fnp.asarray(3), lambda i, v: v * v, x),
                        (fnp.asarray(1.5),), (fnp.asarray(1.0),))  # fmt: skip
    close(t, 8 * 1.5**7)


# --- while_loop ---------------------------------------------------------------------------


def collatz_steps(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def _collatz(n):
    def body(c):
        m, s = c
        return fnp.where(m % 2 == 0, m // 2, 3 * m + 1), s + 1

    return while_loop(lambda c: c[0] != 1, body, (n, 0))[1]


@settings(max_examples=10)
@given(n=st.integers(1, 60))
def test_while_loop_matches_python(n):
    assert int(_collatz(fnp.asarray(n))) == collatz_steps(n)


def test_while_vmap_batched_predicate():
    ns = [1, 6, 7, 27, 2]
    out = funcgrad.vmap(_collatz)(fnp.asarray(ns))
    assert out.tolist() == [collatz_steps(n) for n in ns]

    # a batched predicate with an unbatched carry component
    def f(limit):
        return while_loop(lambda c: c[0] < limit, lambda c: (c[0] + 1, c[1] * 2.0), (0, 1.0))

    i, v = funcgrad.vmap(f)(fnp.asarray([0, 3, 5]))
    assert i.tolist() == [0, 3, 5]
    close(v, [1.0, 8.0, 32.0])
    typecheck(funcgrad.make_jaxpr(funcgrad.vmap(f))(fnp.asarray([0, 3, 5])))


def test_while_vmap_unbatched_predicate():
    def f(x):
        return while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, c[1] * x), (0, x))[1]

    close(funcgrad.vmap(f)(fnp.asarray([1.0, 2.0, 0.5])), [1.0, 32.0, 0.5**5])


def test_while_jvp_and_jacfwd():
    def f(x, a):
        def body(c):
            k, v = c
            return k + 1, fnp.sin(v) * a

        return while_loop(lambda c: c[0] < 3, body, (0, x))[1]

    def np_f(x, a):
        for _ in range(3):
            x = np.sin(x) * a
        return x

    x, a = 0.7, 1.3
    _, t = funcgrad.jvp(f, (fnp.asarray(x), fnp.asarray(a)), (fnp.asarray(0.0), fnp.asarray(1.0)))
    eps = 1e-6
    close(t, (np_f(x, a + eps) - np_f(x, a - eps)) / (2 * eps), rtol=1e-6)
    check_grads(f, (fnp.asarray(x), fnp.asarray(a)), order=2, modes=("fwd",))
    close(funcgrad.jit(f)(fnp.asarray(x), fnp.asarray(a)), np_f(x, a))


def test_while_grad_error_says_use_scan():
    def f(x):
        return while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 2.0), (0, x))[1]

    for transform in (funcgrad.grad, lambda g: funcgrad.jit(funcgrad.grad(g)),
                      lambda g: funcgrad.grad(funcgrad.jit(g))):  # fmt: skip
        with pytest.raises(ValueError, match="scan.*fori_loop with static"):
            transform(f)(fnp.asarray(1.0))


def test_while_errors():
    with pytest.raises(TypeError, match="boolean scalar"):
        while_loop(lambda c: c, lambda c: c, 1.0)
    with pytest.raises(TypeError, match=r"carry\[1\].*float64\[2\].*float64\[\]"):
        while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, fnp.ones(2)), (0, 1.0))


def test_while_jit_traces_once():
    body = counting(lambda c: c * 2)
    f = funcgrad.jit(lambda x: while_loop(lambda c: c < 100, body, x))
    assert int(f(fnp.asarray(3))) == 192
    assert int(f(fnp.asarray(5))) == 160
    assert body.count == 1


def test_nested_scans_grad_and_hessian():
    def g(w):
        def outer(c, x):
            c2, ys = scan(lambda d, y: (fnp.cos(d * w + y), d), c, fnp.arange(3.0) * x)
            return c2, ys.sum()

        c, ys = scan(outer, 0.5, fnp.arange(1.0, 3.0))
        return c + ys.sum()

    def np_g(w):
        c, total = 0.5, 0.0
        for x in (1.0, 2.0):
            for y in np.arange(3.0) * x:
                total += c
                c = np.cos(c * w + y)
        return c + total

    w = 0.7
    close(g(fnp.asarray(w)), np_g(w))
    eps = 1e-5
    close(funcgrad.grad(g)(fnp.asarray(w)), (np_g(w + eps) - np_g(w - eps)) / (2 * eps), rtol=1e-6)
    check_grads(g, (fnp.asarray(w),), order=2)
    h = funcgrad.hessian(g)(fnp.asarray(w))
    close(h, (np_g(w + eps) - 2 * np_g(w) + np_g(w - eps)) / eps**2, rtol=1e-3)
    assert_typechecks(funcgrad.grad(g), fnp.asarray(w))


def test_scan_edge_cotangents():
    x0 = fnp.asarray(0.7)
    # an empty scan: the carry passes through
    close(funcgrad.grad(lambda w: scan(lambda c, x: (c * w, c), w, fnp.zeros((0,)))[0])(x0), 1.0)
    # integer scanned values, float carry: c = w^3 + w + 2
    f = lambda w: scan(lambda c, x: (c * w + x, None), 1.0, fnp.arange(3))[0]
    close(funcgrad.grad(f)(x0), 3 * 0.7**2 + 1)
    # only a stacked output is used (the final carry gets a zero cotangent)
    f = lambda c0: scan(lambda c, x: (c * c, x * c), c0, fnp.arange(3.0))[1][1]
    close(funcgrad.grad(f)(x0), 2 * 0.7)
    # jacrev (a vmap of the transposed scan)
    xs = fnp.asarray(rand(21, 4))
    jac = funcgrad.jacrev(lambda xs: scan(lambda c, x: (c * x, c * x), 1.0, xs)[1])(xs)
    cp = np.cumprod(np.asarray(xs))
    expected = np.tril(cp[:, None] / np.asarray(xs)[None, :])
    close(jac, expected)


def test_carry_weak_scalar_rules():
    # an int literal fits a float carry; a float literal does not fit an int carry
    assert scan(lambda c, x: (1, None), 0.0, None, length=1)[0].dtype == np.float64
    with pytest.raises(TypeError, match=r"carry.*float64\[\].*int64\[\]"):
        scan(lambda c, x: (1.5, None), 0, None, length=1)


def test_scan_carry_reset_by_body():
    # the carry depends on c0 only until the body overwrites it with a known value
    def f(c0):
        return scan(lambda c, x: (x * 2.0, c * c), c0, fnp.arange(1.0, 4.0))[1].sum()

    c0 = fnp.asarray(0.8)
    close(f(c0), 0.64 + 4 + 16)
    for g in (funcgrad.grad(f), funcgrad.jit(funcgrad.grad(f)), funcgrad.grad(funcgrad.jit(f))):
        close(g(c0), 1.6)
    check_grads(f, (c0,), order=2)
    assert_typechecks(funcgrad.grad(f), c0)
