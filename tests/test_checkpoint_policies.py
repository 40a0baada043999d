"""checkpoint(fun, policy=...): the policy decides which forward values the backward pass
reads instead of recomputing (counted in the program of the gradient), and gradients
equal the un-checkpointed ones (finite differences through check_grads)."""

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import checkpoint_policies as cp
from funcgrad._src import ir
from funcgrad._src.checkpoint import remat_p
from funcgrad.ad_checkpoint import checkpoint_name
from funcgrad.test_util import check_grads


def _block(x, w1, w2):
    h = checkpoint_name(x @ w1, "h")
    return fnp.sin(fnp.tanh(h) @ w2)


def _np_block(x, w1, w2):
    return np.sin(np.tanh(x @ w1) @ w2)


_RNG = np.random.default_rng(0)
_X, _W1, _W2 = (_RNG.normal(size=s) for s in [(2, 3), (3, 3), (3, 3)])


def _np_grads(x, w1, w2):
    # hand-derived reverse mode of sum(sin(tanh(x @ w1) @ w2)), the oracle
    h = x @ w1
    t = np.tanh(h)
    g = np.cos(t @ w2)
    gw2 = t.T @ g
    gt = g @ w2.T
    gw1 = x.T @ (gt * (1 - t**2))
    return gw1, gw2


def _count_in_remat(closed, name, inside=False):
    """Equations named ``name`` inside remat sub-programs (the backward recomputation)."""
    n = 0
    for e in closed.jaxpr.eqns:
        n += inside and e.primitive.name == name
        for sub in ir.sub_jaxprs(e):
            n += _count_in_remat(sub, name, inside or e.primitive is remat_p)
    return n


def _saved(closed):
    """Values the forward pass hands to the backward pass (the known call's outputs)."""
    return sum(len(e.outputs) for e in closed.jaxpr.eqns if e.params.get("name") == "remat_known")


# (policy, forward dots recomputed in the backward pass, tanh recomputed, values saved);
# the backward pass itself has 3 dots (two weight cotangents, one input cotangent)
CASES = [
    (None, 2, 1, 0),
    (cp.nothing_saveable, 2, 1, 0),
    (cp.dots_saveable, 0, 1, 2),  # both products
    (cp.checkpoint_dots, 0, 1, 2),
    (cp.dots_with_no_batch_dims_saveable, 0, 1, 2),
    (cp.everything_saveable, 0, 0, 3),  # both products and tanh
    (cp.save_only_these_names("h"), 1, 1, 1),
    (cp.save_only_these_names("other"), 2, 1, 0),
    (cp.save_any_names_but_these("other"), 1, 1, 1),
    (cp.save_any_names_but_these("h"), 2, 1, 0),
    (cp.save_from_both_policies(cp.nothing_saveable, cp.save_only_these_names("h")), 1, 1, 1),
]


@pytest.mark.parametrize("policy, dots, tanhs, saved", CASES)
def test_policy_changes_what_is_saved_and_not_the_gradient(policy, dots, tanhs, saved):
    ck = funcgrad.checkpoint(_block, policy=policy)
    x = fnp.asarray(_X)

    def loss(w1, w2):
        return ck(x, w1, w2).sum()

    grad = funcgrad.grad(loss, argnums=(0, 1))
    program = funcgrad.make_jaxpr(grad)(_W1, _W2)
    assert _count_in_remat(program, "dot_general") == 3 + dots
    assert _count_in_remat(program, "tanh") == tanhs
    # the saved values plus the primal output, when anything is saved
    assert _saved(program) == (saved + 1 if saved else 0)
    expected = _np_grads(_X, _W1, _W2)
    for got in (grad(_W1, _W2), funcgrad.jit(grad)(_W1, _W2)):
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-13)


def test_policy_gradients_by_finite_differences_and_under_vmap():
    ck = funcgrad.checkpoint(_block, policy=cp.dots_saveable)

    def loss(x, w1, w2):
        return fnp.sum(ck(ck(x, w1, w2), w1, w2) ** 2)

    check_grads(loss, (_X, _W1, _W2), order=2, modes=("fwd", "rev"))
    xs = _RNG.normal(size=(4, 2, 3))
    per_example = funcgrad.vmap(funcgrad.grad(lambda x: ck(x, _W1, _W2).sum()))(xs)
    for x, g in zip(xs, per_example):
        h = x @ _W1
        expected = (np.cos(np.tanh(h) @ _W2) @ _W2.T * (1 - np.tanh(h) ** 2)) @ _W1.T
        np.testing.assert_allclose(g, expected, rtol=1e-12)
    np.testing.assert_allclose(ck(_X, _W1, _W2), _np_block(_X, _W1, _W2), rtol=1e-12)


def test_checkpoint_name_is_an_identity_under_every_transformation():
    f = lambda x: checkpoint_name(x * 2.0, "a") ** 2
    x = fnp.asarray([1.0, -2.0])
    np.testing.assert_allclose(f(x), [4.0, 16.0])
    np.testing.assert_allclose(funcgrad.jit(f)(x), [4.0, 16.0])
    np.testing.assert_allclose(funcgrad.vmap(f)(x), [4.0, 16.0])
    np.testing.assert_allclose(funcgrad.grad(lambda x: f(x).sum())(x), 8 * np.asarray(x))
    assert checkpoint_name({"a": x}, "n")["a"].shape == (2,)


def test_bad_policy_and_names_are_explained():
    with pytest.raises(TypeError, match="checkpoint: policy must be a function"):
        funcgrad.checkpoint(_block, policy="dots")
    with pytest.raises(TypeError, match="save_only_these_names: names must be str"):
        cp.save_only_these_names(["h"])
    with pytest.raises(TypeError, match="checkpoint_name: name must be a str"):
        checkpoint_name(fnp.ones(2), 3)
