"""Eager dispatch overhead: one elementwise op on a 10-element array, funcgrad vs NumPy.

Target (foundation issue): at most ~3 us over the raw NumPy call. Run with

    python -m tests.benchmarks.dispatch

Each figure is the best of several repeats of many calls (the minimum is the
least noisy estimate of the cost itself), measured in this one process.
"""

from __future__ import annotations

import timeit

import numpy as np

import funcgrad.numpy as fnp


def best_time_us(fn, number: int = 20000, repeat: int = 15) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    a = np.linspace(0.0, 1.0, 10, dtype=np.float32)
    b = np.linspace(1.0, 2.0, 10, dtype=np.float32)
    x, y = fnp.asarray(a), fnp.asarray(b)
    cases = [
        ("x + y", lambda: a + b, lambda: x + y),
        ("add(x, y)", lambda: np.add(a, b), lambda: fnp.add(x, y)),
        ("sin(x)", lambda: np.sin(a), lambda: fnp.sin(x)),
        ("x * 2.0", lambda: a * 2.0, lambda: x * 2.0),
        ("x[1:]", lambda: a[1:], lambda: x[1:]),
    ]
    print(f"{'operation':12s} {'numpy us':>9s} {'funcgrad us':>12s} {'overhead us':>12s} {'ratio':>6s}")
    for name, np_fn, fg_fn in cases:
        t_np, t_fg = best_time_us(np_fn), best_time_us(fg_fn)
        print(f"{name:12s} {t_np:9.2f} {t_fg:12.2f} {t_fg - t_np:12.2f} {t_fg / t_np:6.2f}")


if __name__ == "__main__":
    main()
