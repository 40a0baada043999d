"""stax.SimpleRNN / LSTM / GRU against a NumPy loop of PyTorch's equations.

The reference below is written from the equations in PyTorch's documentation of
``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` (one explicit loop over layers, directions and
time steps, nothing shared with the implementation), and is given the very same
parameters. Also: gradients by finite differences, jit == vmap == eager, unbatched
inputs, the initial-state forms, dropout between layers, shapes at init, errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
import stax
from funcgrad import random
from funcgrad.test_util import check_grads


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def ref_step(kind, x, h, c, p, nonlinearity="tanh"):
    """One step of PyTorch's cell; ``p`` = (w_ih, w_hh, b_ih, b_hh) NumPy arrays (or None biases)."""
    w_ih, w_hh, b_ih, b_hh = p
    H = w_hh.shape[1]
    b_ih = np.zeros(w_ih.shape[0]) if b_ih is None else b_ih
    b_hh = np.zeros(w_ih.shape[0]) if b_hh is None else b_hh
    if kind == "SimpleRNN":
        pre = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        return (np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0.0)), None
    if kind == "LSTM":
        W = [w_ih[k * H : (k + 1) * H] for k in range(4)]  # i, f, g, o
        U = [w_hh[k * H : (k + 1) * H] for k in range(4)]
        bi = [b_ih[k * H : (k + 1) * H] for k in range(4)]
        bh = [b_hh[k * H : (k + 1) * H] for k in range(4)]
        i = _sigmoid(x @ W[0].T + bi[0] + h @ U[0].T + bh[0])
        f = _sigmoid(x @ W[1].T + bi[1] + h @ U[1].T + bh[1])
        g = np.tanh(x @ W[2].T + bi[2] + h @ U[2].T + bh[2])
        o = _sigmoid(x @ W[3].T + bi[3] + h @ U[3].T + bh[3])
        c = f * c + i * g
        return o * np.tanh(c), c
    W = [w_ih[k * H : (k + 1) * H] for k in range(3)]  # r, z, n
    U = [w_hh[k * H : (k + 1) * H] for k in range(3)]
    bi = [b_ih[k * H : (k + 1) * H] for k in range(3)]
    bh = [b_hh[k * H : (k + 1) * H] for k in range(3)]
    r = _sigmoid(x @ W[0].T + bi[0] + h @ U[0].T + bh[0])
    z = _sigmoid(x @ W[1].T + bi[1] + h @ U[1].T + bh[1])
    n = np.tanh(x @ W[2].T + bi[2] + r * (h @ U[2].T + bh[2]))
    return (1 - z) * n + z * h, None


def ref_run(kind, x, params, h0=None, c0=None, nonlinearity="tanh", zero_between=False):
    """PyTorch's multi-layer (bi)directional loop on batch-first ``x`` (N, T, F).

    Returns (outputs (N, T, D*H), h_n, c_n) with h_n (L*D, N, H). ``zero_between``: the
    inputs of every layer after the first are zero (dropout with rate 1).
    """
    L, D = len(params), len(params[0])
    N, T, _ = x.shape
    H = params[0][0][1].shape[1]
    h0 = np.zeros((L * D, N, H)) if h0 is None else h0
    c0 = np.zeros((L * D, N, H)) if c0 is None else c0
    h_n, c_n = np.zeros_like(h0), np.zeros_like(c0)
    layer_in = x
    for l in range(L):
        outs = np.zeros((N, T, D * H))
        for d in range(D):
            h, c = h0[l * D + d], c0[l * D + d]
            steps = range(T) if d == 0 else range(T - 1, -1, -1)
            for t in steps:
                h, c = ref_step(kind, layer_in[:, t], h, c, params[l][d], nonlinearity)
                outs[:, t, d * H : (d + 1) * H] = h
            h_n[l * D + d] = h
            if c is not None:
                c_n[l * D + d] = c
        layer_in = np.zeros_like(outs) if zero_between else outs
    return outs, h_n, c_n


def _np_params(params):
    return [
        [tuple(None if isinstance(a, tuple) else np.asarray(a) for a in p) for p in dirs]
        for dirs in params
    ]


def _make(kind, H, **kw):
    return {"SimpleRNN": stax.SimpleRNN, "LSTM": stax.LSTM, "GRU": stax.GRU}[kind](H, **kw)


@st.composite
def _configs(draw):
    kind = draw(st.sampled_from(["SimpleRNN", "LSTM", "GRU"]))
    return {
        "kind": kind,
        "nonlinearity": draw(st.sampled_from(["tanh", "relu"])) if kind == "SimpleRNN" else "tanh",
        "N": draw(st.integers(1, 3)),
        "T": draw(st.integers(1, 4)),
        "F": draw(st.integers(1, 3)),
        "H": draw(st.integers(1, 3)),
        "num_layers": draw(st.integers(1, 2)),
        "bidirectional": draw(st.booleans()),
        "bias": draw(st.booleans()),
        "batch_first": draw(st.booleans()),
        "with_h0": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }


@given(_configs())
def test_matches_pytorch_equations(cfg):
    kind, N, T, F, H = cfg["kind"], cfg["N"], cfg["T"], cfg["F"], cfg["H"]
    L, D = cfg["num_layers"], 2 if cfg["bidirectional"] else 1
    extra = {"nonlinearity": cfg["nonlinearity"]} if kind == "SimpleRNN" else {}
    layer = _make(
        kind, H, num_layers=L, bias=cfg["bias"], batch_first=cfg["batch_first"],
        bidirectional=cfg["bidirectional"], return_state=True, **extra,
    )  # fmt: skip
    in_shape = (-1, T, F) if cfg["batch_first"] else (T, -1, F)
    (out_shape, state_shape), params = layer[0](random.key(cfg["seed"]), in_shape)
    rng = np.random.default_rng(cfg["seed"])
    x = rng.standard_normal((N, T, F))
    h0 = rng.standard_normal((L * D, N, H)) if cfg["with_h0"] else None
    c0 = rng.standard_normal((L * D, N, H)) if cfg["with_h0"] and kind == "LSTM" else None
    ref_out, ref_h, ref_c = ref_run(kind, x, _np_params(params), h0, c0, cfg["nonlinearity"])

    x_in = x if cfg["batch_first"] else x.transpose(1, 0, 2)
    init = None if h0 is None else ((h0, c0) if kind == "LSTM" else h0)
    init = None if init is None else funcgrad.tree_util.tree_map(fnp.asarray, init)
    out, final = layer[1](params, fnp.asarray(x_in), initial_state=init)
    out = np.asarray(out) if cfg["batch_first"] else np.asarray(out).transpose(1, 0, 2)
    np.testing.assert_allclose(out, ref_out, rtol=1e-10, atol=1e-12)
    h_n = final[0] if kind == "LSTM" else final
    np.testing.assert_allclose(np.asarray(h_n), ref_h, rtol=1e-10, atol=1e-12)
    if kind == "LSTM":
        np.testing.assert_allclose(np.asarray(final[1]), ref_c, rtol=1e-10, atol=1e-12)
    # init's shapes are the real shapes, with -1 for the batch
    expected_out = (-1, T, D * H) if cfg["batch_first"] else (T, -1, D * H)
    assert out_shape == expected_out
    assert state_shape == (((L * D, -1, H),) * 2 if kind == "LSTM" else (L * D, -1, H))
    if not cfg["bias"]:
        assert params[0][0].bias_ih == () and params[0][0].bias_hh == ()


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_parameter_layout_and_default_init(kind):
    G = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
    layer = _make(kind, 16, num_layers=2, bidirectional=True)
    _, params = layer[0](random.key(3), (-1, 5, 7))
    assert len(params) == 2 and all(len(dirs) == 2 for dirs in params)
    shapes = {
        name: tuple(a.shape) for name, a in stax.named_params(params).items() if "[1][1]" in name
    }
    assert shapes == {  # layer 1, backward (PyTorch's weight_ih_l1_reverse, ...)
        "[1][1].weight_ih": (G * 16, 32),
        "[1][1].weight_hh": (G * 16, 16),
        "[1][1].bias_ih": (G * 16,),
        "[1][1].bias_hh": (G * 16,),
    }
    # PyTorch's init: U(-1/sqrt(H), 1/sqrt(H)) = U(-0.25, 0.25) for every tensor
    values = np.concatenate([np.ravel(a) for a in funcgrad.tree_util.tree_leaves(params)])
    assert values.min() >= -0.25 and values.max() <= 0.25
    assert abs(values.std() - 0.25 / np.sqrt(3)) < 0.01  # the uniform's standard deviation
    # parameter count as PyTorch: per layer and direction G*H*(in + H) + 2*G*H
    expected = sum(2 * (G * 16 * (i + 16) + 2 * G * 16) for i in (7, 32))
    assert stax.count_params(params) == expected


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_gradients_jit_vmap(kind):
    layer = _make(kind, 2, num_layers=2, bidirectional=True, return_state=True)
    _, params = layer[0](random.key(1), (-1, 3, 2))
    x = fnp.asarray(np.random.default_rng(0).standard_normal((2, 3, 2)))

    def f(p, x):
        out, final = layer[1](p, x)
        return out, final

    check_grads(f, (params, x), order=1)
    eager = f(params, x)
    jitted = funcgrad.jit(f)(params, x)
    # vmap over examples: each call sees one unbatched (T, F) sequence
    mapped = funcgrad.vmap(f, in_axes=(None, 0), out_axes=(0, 1))(params, x)
    for other in (jitted, mapped):
        for a, b in zip(
            funcgrad.tree_util.tree_leaves(eager), funcgrad.tree_util.tree_leaves(other)
        ):
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-12, atol=1e-14)
            assert a.shape == b.shape and a.dtype == b.dtype


def test_unbatched_and_batch_over_extra_axis():
    layer = stax.GRU(3, return_state=True)
    (out_shape, h_shape), params = layer[0](random.key(0), (4, 2))
    assert out_shape == (4, 3) and h_shape == (1, 3)
    x = np.random.default_rng(1).standard_normal((4, 2))
    out, h = layer[1](params, fnp.asarray(x))
    ref_out, ref_h, _ = ref_run("GRU", x[None], _np_params(params))
    np.testing.assert_allclose(np.asarray(out), ref_out[0], rtol=1e-10)
    np.testing.assert_allclose(np.asarray(h), ref_h[:, 0], rtol=1e-10)
    # vmap over an extra leading axis of batched inputs
    xs = fnp.asarray(np.random.default_rng(2).standard_normal((2, 3, 4, 2)))
    outs, _ = funcgrad.vmap(layer[1], in_axes=(None, 0))(params, xs)
    for i in range(2):
        np.testing.assert_allclose(
            np.asarray(outs[i]), np.asarray(layer[1](params, xs[i])[0]), rtol=1e-12
        )


def test_initial_state_as_input_pair_and_in_serial():
    layer = stax.LSTM(3, return_state=True)
    _, params = layer[0](random.key(0), (-1, 4, 2))
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 2))
    h0, c0 = rng.standard_normal((2, 1, 2, 3))
    ref_out, ref_h, ref_c = ref_run("LSTM", x, _np_params(params), h0, c0)
    state = (fnp.asarray(h0), fnp.asarray(c0))
    by_pair = layer[1](params, (fnp.asarray(x), state))
    by_keyword = layer[1](params, fnp.asarray(x), initial_state=state)
    for out, (h, c) in (by_pair, by_keyword):
        np.testing.assert_allclose(np.asarray(out), ref_out, rtol=1e-10)
        np.testing.assert_allclose(np.asarray(h), ref_h, rtol=1e-10)
        np.testing.assert_allclose(np.asarray(c), ref_c, rtol=1e-10)
    with pytest.raises(stax.LayerError, match="initial state twice"):
        layer[1](params, (fnp.asarray(x), state), initial_state=state)

    # an encoder's final state starts a decoder, all inside one serial
    encoder = stax.GRU(3, return_state=True)
    decoder = stax.GRU(3)
    seq2seq = stax.serial(encoder, decoder, stax.Dense(2))  # decoder's input: (outputs, h_n)
    out_shape, params = seq2seq[0](random.key(1), (-1, 4, 2))
    assert out_shape == (-1, 4, 2)
    y = seq2seq[1](params, fnp.asarray(x))
    enc_out, enc_h, _ = ref_run("GRU", x, _np_params(params[0]))
    dec_out, _, _ = ref_run("GRU", enc_out, _np_params(params[1]), enc_h)
    W, b = (np.asarray(a) for a in params[2])
    np.testing.assert_allclose(np.asarray(y), dec_out @ W + b, rtol=1e-10)


def test_return_sequences_false_is_the_final_hidden_state():
    layer = stax.LSTM(2, num_layers=2, bidirectional=True, return_sequences=False)
    out_shape, params = layer[0](random.key(0), (-1, 5, 3))
    assert out_shape == (-1, 4)
    x = np.random.default_rng(3).standard_normal((3, 5, 3))
    out = np.asarray(layer[1](params, fnp.asarray(x)))
    _, h_n, _ = ref_run("LSTM", x, _np_params(params))
    np.testing.assert_allclose(out, np.concatenate([h_n[2], h_n[3]], -1), rtol=1e-10)
    net = stax.serial(layer, stax.Dense(1))
    assert net[0](random.key(0), (-1, 5, 3))[0] == (-1, 1)


def test_dropout_between_layers():
    layer = stax.SimpleRNN(3, num_layers=2, dropout=1.0)
    _, params = layer[0](random.key(0), (-1, 4, 2))
    x = np.random.default_rng(4).standard_normal((2, 4, 2))
    with pytest.raises(stax.LayerError, match="needs a random key"):
        layer[1](params, fnp.asarray(x))
    # rate 1 zeroes the second layer's inputs: the oracle with zero inputs there
    dropped = layer[1](params, fnp.asarray(x), key=random.key(1))
    ref_dropped, _, _ = ref_run("SimpleRNN", x, _np_params(params), zero_between=True)
    np.testing.assert_allclose(np.asarray(dropped), ref_dropped, rtol=1e-10)
    # evaluation: no dropout and no key needed
    ref, _, _ = ref_run("SimpleRNN", x, _np_params(params))
    np.testing.assert_allclose(
        np.asarray(layer[1](params, fnp.asarray(x), is_training=False)), ref, rtol=1e-10
    )
    # rate 0.5: random per key, deterministic given the key
    half = stax.SimpleRNN(3, num_layers=2, dropout=0.5)
    a = np.asarray(half[1](params, fnp.asarray(x), key=random.key(2)))
    b = np.asarray(half[1](params, fnp.asarray(x), key=random.key(2)))
    c = np.asarray(half[1](params, fnp.asarray(x), key=random.key(3)))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c) and not np.allclose(a, ref)


def test_bad_inputs():
    layer = stax.LSTM(3, num_layers=2)
    _, params = layer[0](random.key(0), (-1, 4, 2))
    with pytest.raises(stax.LayerError, match=r"LSTM\(3\): expects inputs of rank 3"):
        layer[1](params, fnp.ones((2, 4, 2, 1)))
    with pytest.raises(
        stax.LayerError, match=r"params\[0\]\[0\].weight_ih has shape \(12, 2\), expected \(12, 5\)"
    ):
        layer[1](params, fnp.ones((2, 4, 5)))
    with pytest.raises(stax.LayerError, match=r"initial state has shape"):
        layer[1](params, fnp.ones((2, 4, 2)), initial_state=(fnp.zeros((2, 2, 3)),) * 3)
    with pytest.raises(stax.LayerError, match="one entry per layer"):
        layer[1](params[:1], fnp.ones((2, 4, 2)))
    with pytest.raises(stax.LayerError, match="rank 2 or 3"):
        layer[0](random.key(0), (-1, 2, 4, 2))
    with pytest.raises(stax.LayerError, match="feature size"):
        layer[0](random.key(0), (-1, 4, -1))
    net = stax.serial(stax.Dense(2), layer)
    _, p = net[0](random.key(0), (-1, 4, 3))
    _, other = layer[0](random.key(0), (-1, 4, 5))  # for 5 input features, not Dense's 2
    with pytest.raises(stax.LayerError, match=r"layer \[1\] of the network.*weight_ih"):
        net[1]([p[0], other], fnp.ones((1, 4, 3)))
    with pytest.raises(ValueError, match="nonlinearity"):
        stax.SimpleRNN(3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        stax.GRU(3, dropout=1.5)
