"""jit: per-call overhead, a compiled training step, compile time and per-example gradients.

Targets (issue 4), all measured in this one process:

* ``jit(grad(f))`` for ``f = sum(tanh(x) * x)`` on 10 float32 values: at most 20 us per call;
* a jitted SGD step (forward, backward, update) of a 784-512-512-10 ReLU MLP with softmax
  cross-entropy at batch 128, float32: at most 1.15x the time of the 8 matmuls the step
  needs (3 forward, 3 weight gradients, 2 input gradients), done in NumPy;
* the first call of that step (trace, optimise, generate code): at most 100 ms;
* ``jit(vmap(grad(loss)))`` of logistic regression, 256 examples x 100 features: at most
  3x the closed-form per-example gradients in NumPy.

Run with ``python -m tests.benchmarks.jit``. Times are the best of several repeats.
"""

from __future__ import annotations

import time

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from tests.benchmarks.mlp import (
    LEARNING_RATE,
    check_step,
    eight_matmuls,
    mlp_setup,
    sgd_step,
)
from tests.benchmarks.timing import best_times_interleaved


def small_jit_grad() -> None:
    x = fnp.asarray(np.linspace(-1, 1, 10, dtype=np.float32))
    g = funcgrad.jit(funcgrad.grad(lambda v: fnp.sum(fnp.tanh(v) * v)))
    xn = np.asarray(x)

    def numpy_by_hand():  # d/dx sum(tanh(x) x) = (1 - tanh^2) x + tanh
        t = np.tanh(xn)
        return (1 - t * t) * xn + t

    np.testing.assert_allclose(np.asarray(g(x)), numpy_by_hand(), rtol=1e-6)
    t_fg, t_np = best_times_interleaved([lambda: g(x), numpy_by_hand], 5000)
    print(f"jit(grad(sum(tanh(x) * x))), 10 float32: {t_fg * 1e6:6.1f} us per call "
          f"(NumPy by hand {t_np * 1e6:.1f} us; target <= 20 us)")  # fmt: skip


def mlp_step() -> None:
    ws, bs, x, onehot = mlp_setup()
    matmuls = eight_matmuls(x, ws)

    def fresh_params():
        return [{"w": fnp.asarray(w), "b": fnp.asarray(b)} for w, b in zip(ws, bs)]

    fx, fy = fnp.asarray(x), fnp.asarray(onehot)
    compile_only = funcgrad.jit(sgd_step.__wrapped__, donate_argnums=0)
    start = time.perf_counter()
    compile_only.lower(fresh_params(), fx, fy).as_text()  # trace, optimise, generate
    compile_time = time.perf_counter() - start
    start = time.perf_counter()
    params, loss0 = sgd_step(fresh_params(), fx, fy)
    first_call = time.perf_counter() - start
    check_step(
        params, loss0, fresh_params(), fx, fy, ws[0], loss_rtol=1e-5, w_rtol=1e-4, w_atol=1e-6
    )

    state = {"params": params}

    def step():
        state["params"], _ = sgd_step(state["params"], fx, fy)

    hand_ws, hand_bs = [w.copy() for w in ws], [b.copy() for b in bs]

    def numpy_step_by_hand():
        """The same step written lean in NumPy: learning rate folded into the output
        delta, bool ReLU masks, in-place updates (a reference for what is reachable)."""
        z1 = x @ hand_ws[0]
        z1 += hand_bs[0]
        a1 = np.maximum(z1, 0)
        z2 = a1 @ hand_ws[1]
        z2 += hand_bs[1]
        a2 = np.maximum(z2, 0)
        lg = a2 @ hand_ws[2]
        lg += hand_bs[2]
        lg -= lg.max(axis=1, keepdims=True)
        e = np.exp(lg)
        d3 = e / e.sum(axis=1, keepdims=True)
        d3 -= onehot
        d3 *= np.float32(LEARNING_RATE / len(x))
        d2 = d3 @ hand_ws[2].T
        d2 *= z2 > 0
        d1 = d2 @ hand_ws[1].T
        d1 *= z1 > 0
        hand_ws[2] -= a2.T @ d3
        hand_ws[1] -= a1.T @ d2
        hand_ws[0] -= x.T @ d1
        for b, d in zip(hand_bs, (d1, d2, d3)):
            b -= d.sum(0)

    t_step, t_mm, t_hand = best_times_interleaved([step, matmuls, numpy_step_by_hand], 5)
    print(f"jitted SGD step, MLP 784-512-512-10, batch 128, float32: {t_step * 1e3:.2f} ms; "
          f"8 NumPy matmuls {t_mm * 1e3:.2f} ms; ratio {t_step / t_mm:.2f} (target <= 1.15); "
          f"the step by hand in NumPy {t_hand * 1e3:.2f} ms, ratio {t_hand / t_mm:.2f}")  # fmt: skip
    print(f"first call of the step: {first_call * 1e3:.1f} ms, of which trace + optimise + "
          f"generate {compile_time * 1e3:.1f} ms (target <= 100 ms)")  # fmt: skip


def per_example_grads() -> None:
    rng = np.random.default_rng(1)
    n, d = 256, 100
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (rng.random(n) < 0.5).astype(np.float32)
    w = (rng.standard_normal(d) * 0.1).astype(np.float32)

    def loss(w, xi, yi):  # logistic loss of one example
        z = fnp.dot(xi, w)
        return fnp.logaddexp(0.0, z) - yi * z

    per_example = funcgrad.jit(funcgrad.vmap(funcgrad.grad(loss), in_axes=(None, 0, 0)))

    def numpy_closed_form():  # d/dw = (sigmoid(x.w) - y) x, per example
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        return (p - y)[:, None] * x

    fw, fx, fy = fnp.asarray(w), fnp.asarray(x), fnp.asarray(y)
    np.testing.assert_allclose(
        np.asarray(per_example(fw, fx, fy)), numpy_closed_form(), rtol=1e-4, atol=1e-6
    )
    t_fg, t_np = best_times_interleaved([lambda: per_example(fw, fx, fy), numpy_closed_form], 200)
    print(f"jit(vmap(grad(logistic loss))), 256 x 100 float32: {t_fg * 1e6:.1f} us; NumPy closed "
          f"form {t_np * 1e6:.1f} us; ratio {t_fg / t_np:.2f} (target <= 3)")  # fmt: skip


if __name__ == "__main__":
    small_jit_grad()
    mlp_step()
    per_example_grads()
