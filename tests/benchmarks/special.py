"""Benchmark: jitted ``funcgrad.scipy.special.gammaln`` / ``digamma`` against SciPy's.

10^6 float64 values in each of two ranges: ``(0.01, 100)`` (most values take the
asymptotic series, the path a log-likelihood over counts or concentrations takes) and
``(0.01, 12)`` (every value takes the recurrence / Taylor paths). Timings are measured
in alternation (``best_times_interleaved``) so that a busy moment of the shared machine
affects both alike; the ratio is funcgrad's time over SciPy's (target: at most 2).

Run: ``python -m tests.benchmarks.special`` (``--quick`` for fewer repeats).
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.special as sp

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.scipy import special
from tests.benchmarks.timing import best_times_interleaved


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeat = 5 if args.quick else 15
    rng = np.random.default_rng(0)
    for lo, hi in ((0.01, 100.0), (0.01, 12.0)):
        x_np = rng.uniform(lo, hi, 10**6)
        x = fnp.asarray(x_np)
        for name, ours, theirs in (("gammaln", special.gammaln, sp.gammaln),
                                   ("digamma", special.digamma, sp.digamma)):  # fmt: skip
            jitted = funcgrad.jit(ours)
            np.testing.assert_allclose(np.asarray(jitted(x)), theirs(x_np), rtol=1e-12, atol=1e-14)
            t_ours, t_scipy = best_times_interleaved(
                [lambda f=jitted, v=x: f(v), lambda f=theirs, v=x_np: f(v)], number=3, repeat=repeat
            )
            print(f"{name:8s} x in ({lo:g}, {hi:g}): funcgrad jit {t_ours * 1e3:7.2f} ms   "
                  f"scipy {t_scipy * 1e3:7.2f} ms   ratio {t_ours / t_scipy:5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
