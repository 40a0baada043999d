"""stax.losses: jitted cross-entropy and CTC, forward plus gradient.

Targets (issue 13), measured in this one process:

* ``cross_entropy`` with integer labels on (4096, 1000) float32 logits, value and gradient
  with respect to the logits, jitted: at most 1.3x a hand-written NumPy logsumexp
  implementation of the same value and gradient;
* ``ctc_loss`` on T=50, N=16, C=20, target length 10, value and gradient jitted: reported.

Run with ``python -m tests.benchmarks.losses``. Times are the best of several repeats,
measured in alternation.
"""

from __future__ import annotations

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import nn
from stax import losses
from tests.benchmarks.timing import best_time, best_times_interleaved


def cross_entropy_step() -> None:
    rng = np.random.default_rng(0)
    n, c = 4096, 1000
    x = rng.standard_normal((n, c)).astype(np.float32)
    y = rng.integers(0, c, n)
    rows = np.arange(n)

    value_and_grad = funcgrad.jit(funcgrad.value_and_grad(lambda x, y: losses.cross_entropy(x, y)))

    def numpy_by_hand():
        """The mean of logsumexp(x) - x[y], and its gradient (softmax - onehot) / n."""
        m = x.max(axis=1, keepdims=True)
        e = np.exp(x - m)
        s = e.sum(axis=1, keepdims=True)
        value = np.mean(np.log(s[:, 0]) + m[:, 0] - x[rows, y])
        e /= s
        e[rows, y] -= 1
        e *= np.float32(1 / n)
        return value, e

    fx, fy = fnp.asarray(x), fnp.asarray(y)
    value, grad = value_and_grad(fx, fy)
    ref_value, ref_grad = numpy_by_hand()
    np.testing.assert_allclose(float(value), ref_value, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(grad), ref_grad, rtol=1e-4, atol=1e-9)
    assert np.asarray(grad).dtype == np.float32
    t_fg, t_np = best_times_interleaved([lambda: value_and_grad(fx, fy), numpy_by_hand], 5)
    print(f"jit(value_and_grad(cross_entropy)), (4096, 1000) float32, integer labels: "
          f"{t_fg * 1e3:.2f} ms; NumPy by hand {t_np * 1e3:.2f} ms; ratio {t_fg / t_np:.2f} "
          f"(target <= 1.3)")  # fmt: skip


def ctc_step() -> None:
    rng = np.random.default_rng(1)
    t, n, c, s = 50, 16, 20, 10
    logits = fnp.asarray(rng.standard_normal((t, n, c)).astype(np.float32))
    targets = fnp.asarray(rng.integers(1, c, (n, s)))
    input_lengths = fnp.full((n,), t, dtype=fnp.int32)
    target_lengths = fnp.full((n,), s, dtype=fnp.int32)

    def loss(logits):
        log_probs = nn.log_softmax(logits, axis=-1)
        return losses.ctc_loss(log_probs, targets, input_lengths, target_lengths)

    value_and_grad = funcgrad.jit(funcgrad.value_and_grad(loss))
    value, grad = value_and_grad(logits)
    assert np.isfinite(float(value)) and np.isfinite(np.asarray(grad)).all()
    per_call = best_time(lambda: value_and_grad(logits), number=5)
    print(f"jit(value_and_grad(ctc_loss)), T=50, N=16, C=20, target length 10, float32: "
          f"{per_call * 1e3:.2f} ms per call (loss {float(value):.4f})")  # fmt: skip


if __name__ == "__main__":
    cross_entropy_step()
    ctc_step()
