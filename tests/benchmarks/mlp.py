"""The benchmarks' MLP: 784-512-512-10 ReLU, softmax cross-entropy, batch 128, float32
(other sizes for the GPU benchmark), its jitted SGD step, and its 8 matmuls."""

from __future__ import annotations

import functools
import itertools

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.tree_util import tree_map

LEARNING_RATE = 0.01


def mlp_setup(batch: int = 128, hidden: int = 512):
    """Weights, biases, a batch of inputs and one-hot labels (NumPy, seeded)."""
    rng = np.random.default_rng(0)
    sizes = [784, hidden, hidden, 10]
    ws = [
        (rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32)
        for a, b in itertools.pairwise(sizes)
    ]
    bs = [np.zeros(b, np.float32) for b in sizes[1:]]
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    labels = rng.integers(0, 10, batch)
    onehot = np.eye(10, dtype=np.float32)[labels]
    return ws, bs, x, onehot


def loss_fn(params, x, y):
    """Mean softmax cross-entropy of the MLP ``params`` (a list of {'w', 'b'})."""
    h = x
    for layer in params[:-1]:
        h = fnp.maximum(h @ layer["w"] + layer["b"], 0.0)
    logits = h @ params[-1]["w"] + params[-1]["b"]
    shifted = logits - fnp.max(logits, axis=1, keepdims=True)
    logp = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=1, keepdims=True))
    return -fnp.mean(fnp.sum(y * logp, axis=1))


@functools.partial(funcgrad.jit, donate_argnums=0)
def sgd_step(params, x, y):
    """One jitted SGD step (the parameters are donated)."""
    loss, grads = funcgrad.value_and_grad(loss_fn)(params, x, y)
    return tree_map(lambda p, g: p - LEARNING_RATE * g, params, grads), loss


def eight_matmuls(x, ws):
    """The step's 8 matrix products alone (forward, weight and input gradients), on
    arrays of any array namespace: the benchmarks' lower bound."""
    h1 = x @ ws[0]
    h2 = h1 @ ws[1]
    logits = h2 @ ws[2]

    def run():
        a1 = x @ ws[0]
        a2 = a1 @ ws[1]
        _ = a2 @ ws[2]
        _ = h2.T @ logits, h1.T @ h2, x.T @ h1  # weight gradients
        _ = logits @ ws[2].T, h2 @ ws[1].T  # input gradients

    return run


def check_step(new_params, loss, reference_params, x, y, w0, *, loss_rtol, w_rtol, w_atol):
    """Assert that one SGD step's loss and first weight match eager value_and_grad."""
    ref_loss, ref_grads = funcgrad.value_and_grad(loss_fn)(reference_params, x, y)
    np.testing.assert_allclose(float(loss), float(ref_loss), rtol=loss_rtol)
    expected = w0 - LEARNING_RATE * np.asarray(ref_grads[0]["w"])
    np.testing.assert_allclose(np.asarray(new_params[0]["w"]), expected, rtol=w_rtol, atol=w_atol)
