"""The benchmarks' MLP: 784-512-512-10 ReLU, softmax cross-entropy, batch 128, float32."""

from __future__ import annotations

import numpy as np

import funcgrad.numpy as fnp


def mlp_setup():
    """Weights, biases, a batch of inputs and one-hot labels (NumPy, seeded)."""
    rng = np.random.default_rng(0)
    sizes = [784, 512, 512, 10]
    ws = [(rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32) for a, b in zip(sizes, sizes[1:])]
    bs = [np.zeros(b, np.float32) for b in sizes[1:]]
    x = rng.standard_normal((128, 784)).astype(np.float32)
    labels = rng.integers(0, 10, 128)
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
