"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import timeit
from collections.abc import Callable, Sequence


def best_time(fn: Callable[[], object], number: int, repeat: int = 7) -> float:
    """Seconds per call: the best of ``repeat`` runs of ``number`` calls."""
    fn()  # warm-up
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def best_times_interleaved(fns: Sequence[Callable[[], object]], number: int, repeat: int = 15) -> list[float]:
    """Best time per call of each function, measured in alternation, so that a busy
    moment of the machine affects all of them alike."""
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], timeit.timeit(fn, number=number) / number)
    return best
