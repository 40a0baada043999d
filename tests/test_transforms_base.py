"""The gradient-transformation protocol: chain, named_chain, apply_updates, states as pytrees
(jit, vmap over learning rates, checkpoint round trip) and the errors for bad input."""

import os
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
import transforms
from funcgrad import tree_util

PARAMS = {"w": fnp.asarray([[1.0, -2.0], [0.5, 3.0]]), "b": fnp.asarray([0.1, -0.2])}
GRADS = {"w": fnp.asarray([[0.3, -0.1], [0.2, 0.4]]), "b": fnp.asarray([-0.5, 0.25])}


def _np(tree):
    return tree_util.tree_map(np.asarray, tree)


# --------------------------------------------------------------------------- protocol


def test_gradient_transformation_is_a_named_pair():
    tx = transforms.identity()
    init, update = tx
    assert tx.init is init and tx.update is update
    assert isinstance(tx, tuple) and tx._fields == ("init", "update")
    assert tx.init(PARAMS) == transforms.EmptyState()
    out, state = tx.update(GRADS, transforms.EmptyState())
    assert out is GRADS and state == transforms.EmptyState()


def test_chain_applies_left_to_right_and_keeps_member_states():
    # scale then clip differs from clip then scale: the order is observable.
    g = fnp.asarray([3.0, -0.5])
    a = transforms.chain(transforms.scale(2.0), transforms.clip(1.0))
    b = transforms.chain(transforms.clip(1.0), transforms.scale(2.0))
    assert a.update(g, a.init(g))[0].tolist() == [1.0, -1.0]
    assert b.update(g, b.init(g))[0].tolist() == [2.0, -1.0]
    tx = transforms.chain(transforms.scale_by_adam(), transforms.trace(0.9))
    state = tx.init(PARAMS)
    assert isinstance(state, tuple) and len(state) == 2
    assert isinstance(state[0], transforms.ScaleByAdamState)
    assert isinstance(state[1], transforms.TraceState)


def test_chain_of_nothing_is_identity():
    tx = transforms.chain()
    assert tx.init(PARAMS) == ()
    assert tx.update(GRADS, ())[0] is GRADS


def test_chain_forwards_extra_args_only_to_members_that_take_them():
    seen = {}

    def update_fn(updates, state, params=None, **extra):
        seen.update(extra)
        return updates, state

    takes = transforms.GradientTransformationExtraArgs(lambda p: (), update_fn)
    plain = transforms.scale(1.0)  # its update has no **extra_args: must not receive them
    tx = transforms.chain(plain, takes)
    assert isinstance(tx, transforms.GradientTransformationExtraArgs)
    tx.update(GRADS, tx.init(PARAMS), value=1.5)
    assert seen == {"value": 1.5}


def test_named_chain_state_is_a_dict_by_name():
    tx = transforms.named_chain(("clip", transforms.clip(0.1)), ("adam", transforms.adam(0.01)))
    state = tx.init(PARAMS)
    assert set(state) == {"clip", "adam"}
    u_named, _ = tx.update(GRADS, state)
    plain = transforms.chain(transforms.clip(0.1), transforms.adam(0.01))
    u_plain, _ = plain.update(GRADS, plain.init(PARAMS))
    for a, b in zip(tree_util.tree_leaves(u_named), tree_util.tree_leaves(u_plain)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_named_chain_rejects_duplicates_and_non_pairs():
    with pytest.raises(ValueError, match="named_chain: the name 'a' is used twice"):
        transforms.named_chain(("a", transforms.identity()), ("a", transforms.identity()))
    with pytest.raises(TypeError, match="named_chain: argument 0 must be a"):
        transforms.named_chain(transforms.identity())


def test_chain_rejects_uncalled_factory():
    with pytest.raises(TypeError, match="chain: argument 1 is a function.*call the factory"):
        transforms.chain(transforms.identity(), transforms.scale_by_adam)


def test_stateless_helpers():
    tx = transforms.stateless_with_tree_map(lambda u, p: u * p)
    out, _ = tx.update(GRADS, tx.init(PARAMS), PARAMS)
    for k, p in PARAMS.items():
        np.testing.assert_array_equal(np.asarray(out[k]), np.asarray(GRADS[k] * p))
    tx = transforms.stateless(lambda u, p: tree_util.tree_map(lambda x: x + 1, u))
    out, state = tx.update(GRADS, tx.init(PARAMS))
    np.testing.assert_array_equal(np.asarray(out["b"]), np.asarray(GRADS["b"]) + 1)
    assert state == transforms.EmptyState()


# --------------------------------------------------------------------------- apply_updates


@settings(deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=5),
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=5),
)
def test_apply_updates_adds_leafwise(p, u):
    n = min(len(p), len(u))
    p, u = np.asarray(p[:n]), np.asarray(u[:n])
    out = transforms.apply_updates({"x": fnp.asarray(p)}, {"x": fnp.asarray(u)})
    np.testing.assert_array_equal(np.asarray(out["x"]), p + u)


def test_apply_updates_keeps_param_dtype_and_none():
    p = {"a": fnp.ones(2, dtype=fnp.float32), "b": None}
    out = transforms.apply_updates(p, {"a": fnp.asarray([0.5, 1e-10]), "b": None})
    assert out["a"].dtype == fnp.float32 and out["b"] is None
    np.testing.assert_array_equal(np.asarray(out["a"]), np.asarray([1.5, 1.0], np.float32))


def test_apply_updates_mismatch_names_key_path():
    with pytest.raises(ValueError, match=r"apply_updates: .*\['w'\]: shape \(3,\) vs \(2, 2\)"):
        transforms.apply_updates(PARAMS, {"w": fnp.ones(3), "b": fnp.ones(2)})
    with pytest.raises(ValueError, match="apply_updates: updates and params have different"):
        transforms.apply_updates(PARAMS, {"w": fnp.ones((2, 2))})


# --------------------------------------------------------------------------- bad input

OPTIMIZERS_NEEDING_NO_PARAMS = [
    ("sgd", lambda: transforms.sgd(0.1, momentum=0.9)),
    ("adam", lambda: transforms.adam(0.1)),
    ("rmsprop", lambda: transforms.rmsprop(0.1)),
    ("adagrad", lambda: transforms.adagrad(0.1)),
    ("lion", lambda: transforms.scale_by_lion()),
    ("yogi", lambda: transforms.yogi(0.1)),
    ("sm3", lambda: transforms.sm3(0.1)),
    ("adan", lambda: transforms.scale_by_adan()),
]


@pytest.mark.parametrize("name,make", OPTIMIZERS_NEEDING_NO_PARAMS)
def test_update_not_matching_state_names_key_path(name, make):
    tx = make()
    state = tx.init(PARAMS)
    renamed = {"w": GRADS["w"], "c": GRADS["b"]}
    with pytest.raises(ValueError, match=r"\.update: updates and state\.\w+ have different pytree"):
        tx.update(renamed, state, PARAMS)
    with pytest.raises(ValueError, match=r"\.update: .*key path \['b'\]: shape \(3,\) vs \(2,\)"):
        tx.update({"w": GRADS["w"], "b": fnp.ones(3)}, state, PARAMS)


@pytest.mark.parametrize(
    "make,needs",
    [
        (lambda: transforms.lamb(0.1), "add_decayed_weights"),
        (lambda: transforms.scale_by_trust_ratio(), "scale_by_trust_ratio"),
        (lambda: transforms.adamw(0.1), "add_decayed_weights"),
        (lambda: transforms.adafactor(0.1), "scale_by_factored_rms"),
        (lambda: transforms.adaptive_grad_clip(0.1), "adaptive_grad_clip"),
        (lambda: transforms.keep_params_nonnegative(), "keep_params_nonnegative"),
    ],
)
def test_missing_params_is_an_error_naming_the_block(make, needs):
    tx = make()
    with pytest.raises(ValueError, match=f"{needs}.update: .*needs the current param"):
        tx.update(GRADS, tx.init(PARAMS))


@pytest.mark.parametrize(
    "make,arg",
    [
        (lambda: transforms.sgd(-0.1), "sgd: learning_rate must be >= 0"),
        (lambda: transforms.adam(-1e-3), "adam: learning_rate must be >= 0"),
        (lambda: transforms.adamw(fnp.asarray(-1.0)), "adamw: learning_rate must be >= 0"),
        (lambda: transforms.adam(0.1, b1=1.0), r"scale_by_adam: b1 must be in \[0, 1\)"),
        (lambda: transforms.adam(0.1, b2=-0.1), r"scale_by_adam: b2 must be in \[0, 1\)"),
        (lambda: transforms.radam(0.1, b2=1.5), r"scale_by_radam: b2 must be in \[0, 1\)"),
        (lambda: transforms.rmsprop(0.1, decay=1.0), r"scale_by_rms: decay must be in"),
        (lambda: transforms.rmsprop(0.1, centered=True, decay=2.0), r"scale_by_stddev: decay"),
        (lambda: transforms.sgd(0.1, momentum=-0.5), "sgd: momentum must be >= 0"),
        (lambda: transforms.adamw(0.1, weight_decay=-1.0), "adamw: weight_decay must be >= 0"),
        (lambda: transforms.adan(0.1, b3=1.0), r"scale_by_adan: b3 must be in"),
        (lambda: transforms.lion(0.1, b2=float("nan")), r"scale_by_lion: b2 must be in"),
        (lambda: transforms.ema(1.2), r"ema: decay must be in"),
        (lambda: transforms.rprop(-0.1), "scale_by_rprop: learning_rate must be >= 0"),
        (lambda: transforms.sm3(0.1, momentum=1.0), r"sm3: momentum must be in"),
        (lambda: transforms.clip_by_global_norm(-1.0), "clip_by_global_norm: max_norm"),
    ],
)
def test_out_of_range_hyperparameter_raises_at_construction(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_schedule_learning_rate_is_accepted_without_calling_it():
    calls = []

    def schedule(count):
        calls.append(count)
        return 0.1

    transforms.adam(schedule)
    assert calls == []


@pytest.mark.parametrize(
    "make",
    [
        lambda: transforms.sgd(0.1, momentum=0.9),
        lambda: transforms.adam(0.1),
        lambda: transforms.chain(transforms.clip_by_global_norm(1.0), transforms.adam(0.1)),
        lambda: transforms.chain(transforms.clip(1.0), transforms.sgd(0.1)),
        lambda: transforms.lamb(0.1),
        lambda: transforms.adafactor(0.1),
        lambda: transforms.rmsprop(0.1, centered=True),
    ],
)
def test_nan_gradient_never_becomes_finite_params(make):
    tx = make()
    g = {"w": fnp.asarray([[fnp.nan, 0.1], [0.2, 0.3]]), "b": fnp.asarray([0.1, 0.2])}
    updates, _ = tx.update(g, tx.init(PARAMS), PARAMS)
    new = transforms.apply_updates(PARAMS, updates)
    assert np.isnan(np.asarray(new["w"])[0, 0])


def test_zero_nans_is_the_transformation_made_for_nan():
    tx = transforms.chain(transforms.zero_nans(), transforms.sgd(0.1))
    g = {"w": fnp.asarray([[fnp.nan, 0.1], [0.2, 0.3]]), "b": fnp.asarray([0.1, 0.2])}
    updates, state = tx.update(g, tx.init(PARAMS), PARAMS)
    assert np.isfinite(np.asarray(updates["w"])).all()
    assert bool(state[0].found_nan["w"]) and not bool(state[0].found_nan["b"])


# --------------------------------------------------------------------------- states as pytrees


def _run(tx, params, grads_seq):
    state = tx.init(params)
    for g in grads_seq:
        u, state = tx.update(g, state, params)
        params = transforms.apply_updates(params, u)
    return params, state


GRAD_SEQ = [tree_util.tree_map(lambda g, i=i: g * (1 + 0.1 * i), GRADS) for i in range(4)]


def test_state_count_is_int32_scalar_and_counts_steps():
    tx = transforms.adam(0.1)
    _, state = _run(tx, PARAMS, GRAD_SEQ)
    count = state[0].count
    assert count.dtype == fnp.int32 and count.shape == ()
    assert int(count) == len(GRAD_SEQ)


def test_count_saturates_instead_of_overflowing():
    tx = transforms.scale_by_adam()
    state = tx.init(PARAMS)._replace(count=fnp.asarray(2**31 - 1, dtype=fnp.int32))
    u, state = tx.update(GRADS, state)
    assert int(state.count) == 2**31 - 1
    assert all(np.isfinite(np.asarray(x)).all() for x in tree_util.tree_leaves(u))


def test_float32_params_keep_float32_states_and_updates():
    p32 = tree_util.tree_map(lambda x: fnp.asarray(x, dtype=fnp.float32), PARAMS)
    g32 = tree_util.tree_map(lambda x: fnp.asarray(x, dtype=fnp.float32), GRADS)
    lr = fnp.asarray(0.1)  # a float64 0-d array must not promote the float32 leaves
    for tx in [
        transforms.adam(lr),
        transforms.sgd(lr, momentum=0.9),
        transforms.lamb(0.1),
        transforms.rmsprop(0.1, centered=True, bias_correction=True),
        transforms.adafactor(0.1),
    ]:
        p, state = _run(tx, p32, [g32, g32])
        for leaf in tree_util.tree_leaves(p):
            assert leaf.dtype == fnp.float32
            assert np.isfinite(np.asarray(leaf)).all()
        for leaf in tree_util.tree_leaves(state):
            assert leaf.dtype in (fnp.float32, fnp.int32)


def test_adafactor_momentum_buffer_defaults_to_float32():
    tx = transforms.adafactor(0.1, momentum=0.9)
    _, state = _run(tx, PARAMS, GRAD_SEQ[:1])
    ema_states = [s for s in state if isinstance(s, transforms.EmaState)]
    assert ema_states and all(
        x.dtype == fnp.float32 for x in tree_util.tree_leaves(ema_states[0].ema)
    )


def test_state_survives_jit_and_tree_util():
    tx = transforms.adamw(0.05, weight_decay=0.1)

    @funcgrad.jit
    def step(params, state, grads):
        u, state = tx.update(grads, state, params)
        return transforms.apply_updates(params, u), state

    params, state = PARAMS, tx.init(PARAMS)
    for g in GRAD_SEQ:
        params, state = step(params, state, g)
    want_params, want_state = _run(tx, PARAMS, GRAD_SEQ)
    for a, b in zip(
        tree_util.tree_leaves((params, state)), tree_util.tree_leaves((want_params, want_state))
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-13)
        assert a.dtype == b.dtype
    leaves, treedef = tree_util.tree_flatten(state)
    rebuilt = tree_util.tree_unflatten(treedef, leaves)
    assert type(rebuilt[0]) is transforms.ScaleByAdamState
    assert tree_util.tree_structure(rebuilt) == tree_util.tree_structure(want_state)


@pytest.mark.parametrize(
    "make",
    [
        lambda lr: transforms.adam(lr),
        lambda lr: transforms.sgd(lr, momentum=0.9, nesterov=True),
        lambda lr: transforms.rmsprop(lr, centered=True),
        lambda lr: transforms.lamb(lr),
    ],
)
def test_vmap_over_a_batch_of_learning_rates(make):
    lrs = fnp.asarray([0.01, 0.05, 0.2])

    def train(lr):
        return _run(make(lr), PARAMS, GRAD_SEQ)

    batched_params, batched_state = funcgrad.vmap(train)(lrs)
    for i, lr in enumerate([0.01, 0.05, 0.2]):
        want_params, want_state = _run(make(lr), PARAMS, GRAD_SEQ)
        for a, b in zip(
            tree_util.tree_leaves((batched_params, batched_state)),
            tree_util.tree_leaves((want_params, want_state)),
        ):
            np.testing.assert_allclose(np.asarray(a)[i], np.asarray(b), rtol=1e-12, atol=1e-15)


def test_vmap_over_a_batch_of_states():
    tx = transforms.adam(0.1)
    states = funcgrad.vmap(tx.init)(tree_util.tree_map(lambda x: fnp.stack([x, 2 * x]), PARAMS))
    assert states[0].count.shape == (2,)

    def step(state, g):
        return tx.update(g, state)

    batched_g = tree_util.tree_map(lambda x: fnp.stack([x, -x]), GRADS)
    u, _ = funcgrad.vmap(step)(states, batched_g)
    u0, _ = tx.update(GRADS, tx.init(PARAMS))
    u1, _ = tx.update(tree_util.tree_map(lambda x: -x, GRADS), tx.init(PARAMS))
    for k in PARAMS:
        np.testing.assert_allclose(np.asarray(u[k])[0], np.asarray(u0[k]), rtol=1e-13)
        np.testing.assert_allclose(np.asarray(u[k])[1], np.asarray(u1[k]), rtol=1e-13)


@pytest.mark.parametrize(
    "make",
    [
        lambda: transforms.adam(0.1),
        lambda: transforms.named_chain(
            ("clip", transforms.clip(1.0)), ("sgd", transforms.sgd(0.1, 0.9))
        ),
        lambda: transforms.noisy_sgd(0.1),
        lambda: transforms.adafactor(0.1, momentum=0.9),
        lambda: transforms.sm3(0.1),
        lambda: transforms.zero_nans(),
    ],
)
def test_state_checkpoint_round_trip(make):
    io = pytest.importorskip("funcgrad.io", reason="funcgrad.io (checkpoints) is not built yet")
    tx = make()
    _, state = _run(tx, PARAMS, GRAD_SEQ[:2])
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "opt.safetensors")
        io.save(path, state)
        restored = io.load(path, like=tx.init(PARAMS))
    assert tree_util.tree_structure(restored) == tree_util.tree_structure(state)
    for a, b in zip(tree_util.tree_leaves(restored), tree_util.tree_leaves(state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert np.asarray(a).dtype == np.asarray(b).dtype
    # Training resumes identically from the restored state.
    u1, _ = tx.update(GRADS, state, PARAMS)
    u2, _ = tx.update(GRADS, restored, PARAMS)
    for a, b in zip(tree_util.tree_leaves(u1), tree_util.tree_leaves(u2)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_grad_through_an_adam_step_matches_finite_differences():
    # Meta-gradient through the optimizer (eps_root > 0 keeps sqrt differentiable at 0).
    tx = transforms.adam(0.1, eps_root=1e-8)
    state = tx.init(PARAMS)
    _, state = tx.update(GRADS, state)

    def after_second_step(g):
        u, _ = tx.update({"w": g, "b": GRADS["b"]}, state)
        return fnp.sum(transforms.apply_updates(PARAMS, u)["w"] ** 2)

    funcgrad.test_util.check_grads(after_second_step, (GRADS["w"],), order=1)


def test_nadam_takes_optax_nesterov_keyword():
    """optax's nadam is adam with nesterov=True: nesterov=False gives Adam's steps exactly."""
    import funcgrad.numpy as fnp
    import transforms

    params = fnp.asarray([0.5, -1.0])
    grads = fnp.asarray([0.3, -0.2])
    for plain, nesterov_free in (
        (transforms.adam(0.1), transforms.nadam(0.1, nesterov=False)),
        (transforms.adamw(0.1), transforms.nadamw(0.1, nesterov=False)),
    ):
        a_state, b_state = plain.init(params), nesterov_free.init(params)
        for _ in range(3):
            a, a_state = plain.update(grads, a_state, params)
            b, b_state = nesterov_free.update(grads, b_state, params)
            assert a.tolist() == b.tolist()
    default, _ = transforms.nadam(0.1).update(grads, transforms.nadam(0.1).init(params))
    assert (
        default.tolist()
        != transforms.adam(0.1).update(grads, transforms.adam(0.1).init(params))[0].tolist()
    )
