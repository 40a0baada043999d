"""Eager reverse-mode cost: funcgrad.grad against hand-written NumPy, in one run.

Targets (autodiff issue):
* grad of ``sum(tanh(x) * x)`` on 10 float32 values: at most 40 us per call;
* grad of a 784-512-512-10 ReLU MLP's softmax cross-entropy at batch 128, float32:
  at most 1.5x the same forward and backward written by hand in NumPy.

Run with ``python -m tests.benchmarks.grad``. Times are the best of several repeats.
"""

from __future__ import annotations

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from tests.benchmarks.mlp import loss_fn, mlp_setup
from tests.benchmarks.timing import best_times_interleaved


def small_grad() -> None:
    x = fnp.asarray(np.linspace(-1, 1, 10, dtype=np.float32))
    g = funcgrad.grad(lambda v: fnp.sum(fnp.tanh(v) * v))
    xn = np.asarray(x)

    def numpy_by_hand():  # d/dx sum(tanh(x) x) = (1 - tanh^2) x + tanh
        t = np.tanh(xn)
        return (1 - t * t) * xn + t

    # many short samples: on a shared machine the best one is the least disturbed
    t_fg, t_np = best_times_interleaved([lambda: g(x), numpy_by_hand], 200, repeat=61)
    print(f"grad(sum(tanh(x) * x)), 10 float32: funcgrad {t_fg * 1e6:7.1f} us   "
          f"(NumPy by hand {t_np * 1e6:.1f} us; target <= 40 us)")  # fmt: skip


def mlp_grad() -> None:
    ws, bs, x, onehot = mlp_setup()

    def numpy_by_hand():
        h1 = x @ ws[0] + bs[0]
        a1 = np.maximum(h1, 0)
        h2 = a1 @ ws[1] + bs[1]
        a2 = np.maximum(h2, 0)
        logits = a2 @ ws[2] + bs[2]
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        loss = -np.mean(np.sum(onehot * (shifted - np.log(s)), axis=1))
        d_logits = (e / s - onehot) / 128
        g_w3, g_b3 = a2.T @ d_logits, d_logits.sum(0)
        d_h2 = (d_logits @ ws[2].T) * (h2 > 0)
        g_w2, g_b2 = a1.T @ d_h2, d_h2.sum(0)
        d_h1 = (d_h2 @ ws[1].T) * (h1 > 0)
        g_w1, g_b1 = x.T @ d_h1, d_h1.sum(0)
        return loss, (g_w1, g_b1, g_w2, g_b2, g_w3, g_b3)

    params = [{"w": fnp.asarray(w), "b": fnp.asarray(b)} for w, b in zip(ws, bs)]
    fx, fonehot = fnp.asarray(x), fnp.asarray(onehot)

    grad_fn = funcgrad.value_and_grad(loss_fn)
    (value, grads), (ref_value, ref_grads) = grad_fn(params, fx, fonehot), numpy_by_hand()
    np.testing.assert_allclose(float(value), ref_value, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(grads[0]["w"]), ref_grads[0], rtol=1e-3, atol=1e-6)
    t_fg, t_np = best_times_interleaved([lambda: grad_fn(params, fx, fonehot), numpy_by_hand], 10)
    print(f"MLP 784-512-512-10, batch 128, float32: funcgrad {t_fg * 1e3:.2f} ms, NumPy by hand "
          f"{t_np * 1e3:.2f} ms, ratio {t_fg / t_np:.2f} (target <= 1.5)")  # fmt: skip


if __name__ == "__main__":
    small_grad()
    mlp_grad()
