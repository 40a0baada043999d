"""Timing a function the way benchmarks should: warm-up, many runs, median and spread.

Asynchronous backends (CuPy) return before the GPU has finished, so every run waits
for its outputs with ``funcgrad.block_until_ready`` before the clock stops.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import funcgrad

__all__ = ["Timing", "benchmark"]


class Timing(NamedTuple):
    """Seconds per call over ``runs`` timed calls (after the warm-up)."""

    median: float
    mean: float
    stdev: float
    min: float
    max: float
    runs: int

    def __str__(self) -> str:
        return (
            f"median {self.median * 1e3:.3f} ms (min {self.min * 1e3:.3f}, max "
            f"{self.max * 1e3:.3f}, stdev {self.stdev * 1e3:.3f}) over {self.runs} runs"
        )


def benchmark(
    f: Callable[..., Any],
    *args: Any,
    warmup: int = 3,
    runs: int | None = None,
    min_time: float = 0.2,
    max_runs: int = 1000,
    **kwargs: Any,
) -> Timing:
    """Time ``f(*args, **kwargs)``: ``warmup`` untimed calls (jit compiles there), then
    ``runs`` timed calls, each waiting for its outputs.

    Args:
        f: the function (e.g. a jitted training step).
        *args: its positional arguments (also ``**kwargs``).
        warmup: untimed calls first.
        runs: timed calls; by default as many as fit in ``min_time`` seconds (at least
            5, at most ``max_runs``).
        min_time: the time budget for choosing ``runs``.
        max_runs: the cap on ``runs`` when it is chosen automatically.

    Returns:
        A :class:`Timing` (seconds); ``str()`` gives a one-line summary.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> step = funcgrad.jit(lambda x: fnp.tanh(x) @ x)
        >>> t = benchmark(step, fnp.ones((32, 32)), runs=20)
        >>> t.runs, t.min <= t.median <= t.max
        (20, True)
    """
    if warmup < 0 or (runs is not None and runs < 1):
        raise ValueError(
            f"stax.timing.benchmark: need warmup >= 0 and runs >= 1, got {warmup}, {runs}"
        )

    def once() -> float:
        start = time.perf_counter()
        funcgrad.block_until_ready(f(*args, **kwargs))
        return time.perf_counter() - start

    for _ in range(warmup):
        once()
    if runs is None:
        first = once()
        runs = int(min(max(5, min_time / max(first, 1e-9)), max_runs))
    times = [once() for _ in range(runs)]
    return Timing(
        median=statistics.median(times),
        mean=statistics.fmean(times),
        stdev=statistics.stdev(times) if len(times) > 1 else 0.0,
        min=min(times),
        max=max(times),
        runs=len(times),
    )
