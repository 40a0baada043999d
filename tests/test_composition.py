"""The composition matrix: grad, vmap, jit and jvp applied in every order of two and three.

Each transformation here maps a function ``R^n -> R^n`` to another:

* ``G``: the gradient of ``sum(f(x))`` (reverse mode): ``J(x)^T 1``;
* ``F``: the JVP along the ones vector (forward mode): ``J(x) 1``;
* ``V``: ``f`` vectorised over two examples, ``x`` and ``x / 2``, summed: ``f(x) + f(x / 2)``;
* ``J``: ``jit(f)``.

Every composition is compared with the same composition of *reference*
transformations that share no machinery with the one under test: ``G`` by forward
mode, one JVP per basis vector; ``F`` by reverse mode, one VJP per basis vector;
``V`` by a Python loop; ``J`` by the identity. The jaxpr of every composition must
pass the type checker.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.ir import typecheck

N = 3
_ONES = fnp.ones(N)
_BASIS = [fnp.asarray(np.eye(N)[i]) for i in range(N)]


def G(f):
    return funcgrad.grad(lambda x: fnp.sum(f(x)))


def F(f):
    return lambda x: funcgrad.jvp(f, (x,), (_ONES,))[1]


def V(f):
    return lambda x: fnp.sum(funcgrad.vmap(f)(fnp.stack([x, x / 2])), axis=0)


def J(f):
    return funcgrad.jit(f)


def G_ref(f):  # J^T 1, one forward-mode column at a time
    return lambda x: fnp.stack([fnp.sum(funcgrad.jvp(f, (x,), (e,))[1]) for e in _BASIS])


def F_ref(f):  # J 1, one reverse-mode row at a time
    def jvp_ones(x):
        _, f_vjp = funcgrad.vjp(f, x)
        return fnp.stack([fnp.sum(f_vjp(e)[0]) for e in _BASIS])

    return jvp_ones


def V_ref(f):
    return lambda x: f(x) + f(x / 2)


def J_ref(f):
    return f


TRANSFORMS = {"G": (G, G_ref), "F": (F, F_ref), "V": (V, V_ref), "J": (J, J_ref)}

W = fnp.asarray([[0.5, -1.0, 0.3], [0.2, 0.8, -0.4], [1.1, 0.1, 0.6]])
ZOO = {
    "tanh_times_x": lambda x: fnp.tanh(x) * x,
    "closure_matmul": lambda x: fnp.sin(W @ x) * x[::-1],
    "softmax": lambda x: fnp.exp(x) / fnp.sum(fnp.exp(x)) * fnp.cos(x),
    "max_and_where": lambda x: fnp.where(x > 0.1, x**3, fnp.maximum(x, 0.2 * x)) + fnp.cumsum(x) ** 2,
}  # fmt: skip

ORDERS = [p for k in (2, 3) for p in itertools.product("GFVJ", repeat=k)]


def _compose(names, f, which):
    for name in reversed(names):  # the first letter is the outermost transformation
        f = TRANSFORMS[name][which](f)
    return f


@pytest.mark.parametrize("fname", sorted(ZOO))
@pytest.mark.parametrize("order", ORDERS, ids="".join)
def test_composition_matches_the_reference(order, fname):
    x = fnp.asarray([0.3, -0.7, 1.2])
    got = _compose(order, ZOO[fname], 0)(x)
    expected = _compose(order, ZOO[fname], 1)(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-9, atol=1e-10)
    closed = funcgrad.make_jaxpr(_compose(order, ZOO[fname], 0))(x)
    typecheck(closed.jaxpr)
