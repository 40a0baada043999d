"""Benchmark: jitted ``funcgrad.scipy.special.gammaln`` / ``digamma`` against SciPy's.

10^6 float64 values in each of four ranges: ``(0.01, 100)`` (most values take the
asymptotic series, the path a log-likelihood over counts or concentrations takes),
``(0.01, 12)`` (most values take the recurrences onto the Taylor series), log-uniform on
``(1e-3, 1e3)`` (every path, many values below 1/2) and ``(-50, 50)`` (half of them
through the reflection formula). Timings are measured in alternation
(``best_times_interleaved``) so that a busy moment of the shared machine affects both
alike; the ratio is funcgrad's time over SciPy's (target: at most 2).

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
    ranges = {
        "(0.01, 100)": rng.uniform(0.01, 100.0, 10**6),
        "(0.01, 12)": rng.uniform(0.01, 12.0, 10**6),
        "log-uniform (1e-3, 1e3)": np.exp(rng.uniform(np.log(1e-3), np.log(1e3), 10**6)),
        "(-50, 50)": rng.uniform(-50.0, 50.0, 10**6),
    }
    for label, x_np in ranges.items():
        x = fnp.asarray(x_np)
        # near the zeros of lgamma/digamma and the negative poles SciPy is the less accurate
        # one (tests/test_special_accuracy_extra.py checks those against mpmath)
        near_zero = (np.abs(sp.gammaln(x_np)) < 1e-2) | (np.abs(sp.digamma(x_np)) < 1e-2)
        near_zero |= (x_np < 0) & (np.abs(x_np - np.round(x_np)) < 1e-3)
        for name, ours, theirs in (("gammaln", special.gammaln, sp.gammaln),
                                   ("digamma", special.digamma, sp.digamma)):  # fmt: skip
            jitted = funcgrad.jit(ours)
            keep = ~near_zero
            np.testing.assert_allclose(np.asarray(jitted(x))[keep], theirs(x_np)[keep], rtol=1e-12,
                                       atol=1e-14)  # fmt: skip
            t_ours, t_scipy = best_times_interleaved(
                [lambda f=jitted, v=x: f(v), lambda f=theirs, v=x_np: f(v)], number=3, repeat=repeat
            )
            print(f"{name:8s} x in {label:24s}: funcgrad jit {t_ours * 1e3:7.2f} ms   "
                  f"scipy {t_scipy * 1e3:7.2f} ms   ratio {t_ours / t_scipy:5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
