"""The building blocks one by one, against NumPy written from their docstring formulas."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as fnp
import transforms
from funcgrad import random, tree_util
from transforms import clipping, numerics, tree_utils

RNG = np.random.default_rng(0)
P = {"w": RNG.normal(size=(3, 4)), "b": RNG.normal(size=4), "s": np.asarray(0.7)}
G = {"w": RNG.normal(size=(3, 4)), "b": RNG.normal(size=4), "s": np.asarray(-1.3)}
PF = tree_util.tree_map(fnp.asarray, P)
GF = tree_util.tree_map(fnp.asarray, G)

floats = hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-100, 100))


def _update(tx, g=GF, p=PF, steps=1, **extra):
    state = tx.init(p)
    for _ in range(steps):
        out, state = tx.update(g, state, p, **extra)
    return tree_util.tree_map(np.asarray, out), state


def _close(got, want, **kw):
    for k in want:
        np.testing.assert_allclose(
            got[k], want[k], rtol=kw.get("rtol", 1e-12), atol=kw.get("atol", 1e-14)
        )


# --------------------------------------------------------------------------- scaling


@settings(deadline=None)
@given(floats, st.floats(-10, 10))
def test_scale_multiplies(x, c):
    tx = transforms.scale(c)
    np.testing.assert_array_equal(np.asarray(tx.update(fnp.asarray(x), tx.init(None))[0]), c * x)


def test_scale_by_schedule_feeds_the_count():
    tx = transforms.scale_by_schedule(lambda count: 2.0**-count)
    state = tx.init(PF)
    for k in range(4):
        out, state = tx.update(GF, state)
        _close(tree_util.tree_map(np.asarray, out), {n: G[n] * 2.0**-k for n in G})
    assert int(state.count) == 4


def test_scale_by_learning_rate_variants():
    assert _update(transforms.scale_by_learning_rate(None))[0]["b"].tolist() == G["b"].tolist()
    _close(_update(transforms.scale_by_learning_rate(0.5))[0], {k: -0.5 * G[k] for k in G})
    _close(
        _update(transforms.scale_by_learning_rate(0.5, flip_sign=False))[0],
        {k: 0.5 * G[k] for k in G},
    )
    _close(
        _update(transforms.scale_by_learning_rate(lambda c: 0.1 * (c + 1)), steps=3)[0],
        {k: -0.3 * G[k] for k in G},
    )
    with pytest.raises(TypeError, match="scale_by_schedule: step_size_fn must be a callable"):
        transforms.scale_by_schedule(0.1)


def test_scale_by_sign_and_centralize():
    _close(_update(transforms.scale_by_sign())[0], {k: np.sign(G[k]) for k in G})
    out = _update(transforms.centralize())[0]
    np.testing.assert_allclose(out["w"], G["w"] - G["w"].mean(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(out["b"], G["b"])  # rank-1 leaves are left alone
    conv = RNG.normal(size=(2, 3, 2, 2))
    tx = transforms.centralize()
    got = np.asarray(tx.update(fnp.asarray(conv), tx.init(None))[0])
    np.testing.assert_allclose(got, conv - conv.mean(axis=(1, 2, 3), keepdims=True), atol=1e-14)


def test_param_block_scalings():
    out = _update(transforms.scale_by_param_block_norm())[0]
    _close(out, {k: G[k] * max(np.linalg.norm(P[k]), 1e-3) for k in G})
    out = _update(transforms.scale_by_param_block_rms())[0]
    _close(out, {k: G[k] * max(math.sqrt(np.mean(P[k] ** 2)), 1e-3) for k in G})
    zero = {"z": fnp.zeros(3)}
    tx = transforms.scale_by_param_block_norm(min_scale=0.25)
    assert np.asarray(tx.update(zero, tx.init(zero), zero)[0]["z"]).tolist() == [0.0] * 3


def test_scale_by_trust_ratio_formula_and_zero_norms():
    tx = transforms.scale_by_trust_ratio(min_norm=0.0, trust_coefficient=0.5, eps=0.1)
    out = _update(tx)[0]
    _close(out, {k: G[k] * 0.5 * np.linalg.norm(P[k]) / (np.linalg.norm(G[k]) + 0.1) for k in G})
    p = {"a": fnp.zeros(2), "b": fnp.ones(2)}
    g = {"a": fnp.ones(2), "b": fnp.zeros(2)}
    out, _ = tx.update(g, tx.init(p), p)
    assert np.asarray(out["a"]).tolist() == [1.0, 1.0]  # ratio 1 where a norm is 0
    assert np.asarray(out["b"]).tolist() == [0.0, 0.0]


def test_normalize_by_update_norm():
    out = _update(transforms.normalize_by_update_norm(scale_factor=2.0, eps=1e-3))[0]
    n = math.sqrt(sum(float(np.sum(G[k] ** 2)) for k in G))
    _close(out, {k: 2.0 * G[k] / (n + 1e-3) for k in G})


# --------------------------------------------------------------------------- accumulation


def test_trace_heavy_ball_and_nesterov():
    for nesterov in (False, True):
        tx = transforms.trace(decay=0.8, nesterov=nesterov)
        state = tx.init(PF)
        t = {k: np.zeros_like(v) for k, v in P.items()}
        for i in range(4):
            g = {k: v * (i + 1) for k, v in G.items()}
            out, state = tx.update(tree_util.tree_map(fnp.asarray, g), state)
            t = {k: g[k] + 0.8 * t[k] for k in g}
            want = {k: g[k] + 0.8 * t[k] for k in g} if nesterov else t
            _close(tree_util.tree_map(np.asarray, out), want)


def test_ema_debiased_and_raw():
    for debias in (True, False):
        tx = transforms.ema(0.7, debias=debias)
        state = tx.init(PF)
        e = {k: np.zeros_like(v) for k, v in P.items()}
        for i in range(1, 5):
            g = {k: v * i for k, v in G.items()}
            out, state = tx.update(tree_util.tree_map(fnp.asarray, g), state)
            e = {k: 0.7 * e[k] + 0.3 * g[k] for k in g}
            want = {k: e[k] / (1 - 0.7**i) for k in e} if debias else e
            _close(tree_util.tree_map(np.asarray, out), want)


# --------------------------------------------------------------------------- adding


def test_add_decayed_weights_with_mask_prefix_and_callable():
    out = _update(transforms.add_decayed_weights(0.3))[0]
    _close(out, {k: G[k] + 0.3 * P[k] for k in G})
    out = _update(transforms.add_decayed_weights(0.3, mask={"w": True, "b": False, "s": False}))[0]
    _close(out, {"w": G["w"] + 0.3 * P["w"], "b": G["b"], "s": G["s"]})
    only_matrices = lambda params: tree_util.tree_map(lambda x: x.ndim == 2, params)
    out = _update(transforms.add_decayed_weights(0.3, mask=only_matrices))[0]
    _close(out, {"w": G["w"] + 0.3 * P["w"], "b": G["b"], "s": G["s"]})
    nested = {"a": {"x": PF["w"], "y": PF["b"]}, "c": PF["s"]}
    tx = transforms.add_decayed_weights(1.0, mask={"a": False, "c": True})
    out, _ = tx.update(nested, tx.init(nested), nested)
    np.testing.assert_array_equal(np.asarray(out["a"]["x"]), P["w"])
    np.testing.assert_array_equal(np.asarray(out["c"]), 2 * P["s"])
    with pytest.raises(ValueError, match="add_decayed_weights: mask must be a pytree of bools"):
        tx = transforms.add_decayed_weights(1.0, mask={"zz": True})
        tx.update(nested, tx.init(nested), nested)


def test_add_noise_variance_schedule_and_key_chain():
    eta, gamma, seed = 0.5, 0.55, 7
    tx = transforms.add_noise(eta, gamma, seed)
    state = tx.init(PF)
    key = random.key(seed)
    leaves = tree_util.tree_leaves(G)
    for k in range(1, 4):
        out, state = tx.update(GF, state)
        keys = random.split(key, len(leaves) + 1)
        std = math.sqrt(eta / k**gamma)
        want = [
            g + std * np.asarray(random.normal(keys[i + 1], g.shape, g.dtype))
            for i, g in enumerate(leaves)
        ]
        key = keys[0]
        for got, w in zip(tree_util.tree_leaves(out), want):
            np.testing.assert_allclose(np.asarray(got), w, rtol=1e-12)
    # The noise itself is Gaussian with the scheduled variance.
    big = {"x": fnp.zeros(20000)}
    tx = transforms.add_noise(eta=4.0, gamma=1.0, seed=0)
    s = tx.init(big)
    _, s = tx.update(big, s)
    out, _ = tx.update(big, s)  # step 2: variance 4 / 2
    x = np.asarray(out["x"])
    assert abs(x.mean()) < 0.05 and abs(x.var() - 2.0) < 0.1


def test_add_noise_and_noisy_sgd_take_key_or_seed():
    """optax >= 0.2.5 names the third argument key (an int or a key array); seed= stays."""

    def first_update(tx):
        return np.asarray(tx.update(GF["w"], tx.init(PF["w"]))[0])

    by_seed = first_update(transforms.add_noise(0.5, 0.55, seed=7))
    np.testing.assert_array_equal(first_update(transforms.add_noise(0.5, 0.55, key=7)), by_seed)
    np.testing.assert_array_equal(first_update(transforms.add_noise(0.5, 0.55, 7)), by_seed)
    key_array = transforms.add_noise(0.5, 0.55, key=random.key(7))
    np.testing.assert_array_equal(first_update(key_array), by_seed)
    np.testing.assert_array_equal(
        first_update(transforms.add_noise(0.5, 0.55)),
        first_update(transforms.add_noise(0.5, 0.55, key=0)),
    )
    assert not np.array_equal(first_update(transforms.add_noise(0.5, 0.55, key=8)), by_seed)
    sgd_key = first_update(transforms.noisy_sgd(0.1, eta=0.5, key=random.key(3)))
    np.testing.assert_array_equal(first_update(transforms.noisy_sgd(0.1, eta=0.5, seed=3)), sgd_key)
    with pytest.raises(ValueError, match="add_noise: give key or its older name seed"):
        transforms.add_noise(0.5, 0.55, key=1, seed=1)
    with pytest.raises(ValueError, match="add_noise: key must be"):
        transforms.add_noise(0.5, 0.55, key=fnp.zeros(3))


# --------------------------------------------------------------------------- clipping


@settings(deadline=None)
@given(floats, st.floats(0, 50))
def test_clip_elementwise(x, m):
    tx = transforms.clip(m)
    np.testing.assert_array_equal(
        np.asarray(tx.update(fnp.asarray(x), tx.init(None))[0]), np.clip(x, -m, m)
    )


@settings(deadline=None)
@given(floats, floats, st.floats(0.01, 100))
def test_clip_by_global_norm(a, b, max_norm):
    tree = {"a": fnp.asarray(a), "b": fnp.asarray(b)}
    tx = transforms.clip_by_global_norm(max_norm)
    out, _ = tx.update(tree, tx.init(tree))
    norm = math.sqrt(float(np.sum(a**2) + np.sum(b**2)))
    scale = 1.0 if norm < max_norm else max_norm / norm
    np.testing.assert_allclose(np.asarray(out["a"]), a * scale, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(np.asarray(out["b"]), b * scale, rtol=1e-12, atol=1e-300)
    assert float(transforms.global_norm(out)) <= max_norm * (1 + 1e-12) or norm < max_norm
    np.testing.assert_allclose(float(transforms.global_norm(tree)), norm, rtol=1e-12)


def test_clip_by_block_rms():
    out = _update(transforms.clip_by_block_rms(0.5))[0]
    _close(out, {k: G[k] / max(1.0, math.sqrt(np.mean(G[k] ** 2)) / 0.5) for k in G})


def test_unitwise_norm_layouts_and_adaptive_grad_clip():
    x4 = RNG.normal(size=(2, 2, 3, 4))
    np.testing.assert_allclose(
        np.asarray(clipping.unitwise_norm(fnp.asarray(x4))),
        np.broadcast_to(np.sqrt((x4**2).sum(axis=(0, 1, 2), keepdims=True)), x4.shape),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        np.asarray(clipping.unitwise_norm(PF["w"])),
        np.broadcast_to(np.linalg.norm(P["w"], axis=0, keepdims=True), (3, 4)),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match=r"unitwise_norm: .*got shape \(1, 2, 1, 2, 2\)"):
        clipping.unitwise_norm(fnp.ones((1, 2, 1, 2, 2)))
    out = _update(transforms.adaptive_grad_clip(0.2, eps=1e-3))[0]
    for k, g in G.items():
        p = P[k]
        if g.ndim <= 1:
            gn = np.full(g.shape, np.linalg.norm(g))
            pn = np.full(g.shape, np.linalg.norm(p))
        else:
            gn = np.broadcast_to(np.linalg.norm(g, axis=0, keepdims=True), g.shape)
            pn = np.broadcast_to(np.linalg.norm(p, axis=0, keepdims=True), g.shape)
        mx = 0.2 * np.maximum(pn, 1e-3)
        want = np.where(gn < mx, g, g * mx / np.maximum(gn, 1e-6))
        np.testing.assert_allclose(out[k], want, rtol=1e-12)


# --------------------------------------------------------------------------- constraints


def test_keep_params_nonnegative():
    p = {"x": fnp.asarray([1.0, 2.0, 0.0])}
    tx = transforms.keep_params_nonnegative()
    out, _ = tx.update({"x": fnp.asarray([-3.0, 0.5, -1.0])}, tx.init(p), p)
    new = transforms.apply_updates(p, out)
    assert np.asarray(new["x"]).tolist() == [0.0, 2.5, 0.0]


def test_zero_nans_flags_per_leaf():
    tx = transforms.zero_nans()
    g = {"a": fnp.asarray([fnp.nan, 1.0]), "b": fnp.asarray([2.0])}
    out, state = tx.update(g, tx.init(g))
    assert np.asarray(out["a"]).tolist() == [0.0, 1.0]
    assert bool(state.found_nan["a"]) and not bool(state.found_nan["b"])
    out, state = tx.update({"a": fnp.ones(2), "b": fnp.ones(1)}, state)
    assert not bool(state.found_nan["a"])
    with pytest.raises(ValueError, match="zero_nans.update: updates and state.found_nan"):
        tx.update({"a": fnp.ones(2)}, state)


# --------------------------------------------------------------------------- adaptive blocks


def test_scale_by_rss_zero_accumulator_gives_zero():
    tx = transforms.scale_by_rss(initial_accumulator_value=0.0, eps=0.0)
    g = fnp.asarray([0.0, 3.0])
    assert np.asarray(tx.update(g, tx.init(g))[0]).tolist() == [0.0, 1.0]


def test_scale_by_factored_rms_factors_large_matrices_only():
    p = {"m": fnp.ones((4, 6)), "v": fnp.ones(6)}
    tx = transforms.scale_by_factored_rms(min_dim_size_to_factor=4)
    state = tx.init(p)
    assert state.v_row["m"].shape == (4,) and state.v_col["m"].shape == (6,)
    assert state.v["m"].shape == (1,) and state.v["v"].shape == (6,)
    g = {"m": fnp.asarray(RNG.normal(size=(4, 6))), "v": fnp.asarray(RNG.normal(size=6))}
    out, state = tx.update(g, state, p)
    gm = np.asarray(g["m"]) ** 2 + 1e-30
    row, col = gm.mean(axis=1), gm.mean(axis=0)  # beta_1 = 0: the first step's statistics
    want = np.asarray(g["m"]) / np.sqrt(row / row.mean())[:, None] / np.sqrt(col)[None, :]
    np.testing.assert_allclose(np.asarray(out["m"]), want, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(out["v"]), np.sign(np.asarray(g["v"])), rtol=1e-12)


def test_scale_by_polyak_needs_value_and_caps_the_step():
    tx = transforms.scale_by_polyak(max_learning_rate=0.1)
    with pytest.raises(ValueError, match=r"scale_by_polyak.update: pass the loss"):
        tx.update(GF, tx.init(PF))
    out, _ = tx.update(GF, tx.init(PF), value=1e6)
    _close(tree_util.tree_map(np.asarray, out), {k: 0.1 * G[k] for k in G})
    zero = {"x": fnp.zeros(2)}
    assert np.asarray(tx.update(zero, tx.init(zero), value=1.0)[0]["x"]).tolist() == [0.0, 0.0]
    plus = transforms.scale_by_polyak(variant="sps+")
    assert np.asarray(plus.update(GF, plus.init(PF), value=-5.0)[0]["b"]).tolist() == [0.0] * 4


def test_scale_by_lion_modes():
    g = fnp.asarray([0.5, -3.0])
    for mode, want in [
        ("hard", [1.0, -1.0]),
        ("smooth", np.tanh([0.05, -0.3]).tolist()),
        ("refined", [0.05, -0.3]),
    ]:
        tx = transforms.scale_by_lion(mode=mode)
        got = np.asarray(tx.update(g, tx.init(g))[0])
        np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(ValueError, match="scale_by_lion: mode must be"):
        transforms.scale_by_lion(mode="soft")


def test_tree_utils_against_numpy():
    np.testing.assert_allclose(
        float(tree_utils.tree_vdot(GF, PF)), sum(float(np.sum(G[k] * P[k])) for k in G)
    )
    np.testing.assert_allclose(
        float(tree_utils.tree_l2_norm(GF, squared=True)), sum(float(np.sum(G[k] ** 2)) for k in G)
    )
    np.testing.assert_allclose(float(tree_utils.tree_sum(GF)), sum(float(np.sum(G[k])) for k in G))
    m = tree_utils.tree_update_moment(GF, PF, 0.25, 2)
    _close(tree_util.tree_map(np.asarray, m), {k: 0.25 * P[k] + 0.75 * G[k] ** 2 for k in G})
    np.testing.assert_allclose(float(numerics.safe_norm(fnp.zeros(3), 0.5)), 0.5)
    # safe_norm has a finite gradient at 0 (where norm itself has none).
    g = funcgrad.grad(lambda x: numerics.safe_norm(x, 1e-3))(fnp.zeros(3))
    assert np.isfinite(np.asarray(g)).all()
