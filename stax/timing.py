"""Timing a function the way benchmarks should: warm-up, many runs, median and spread.

Asynchronous backends (CuPy) return before the GPU has finished, so every run waits
for its outputs with ``funcgrad.block_until_ready`` before the clock stops.
``time_layers`` applies this to every layer of a network (Caffe's ``caffe time``).
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import tree_util
from stax.inspect import walk

__all__ = ["LayerTiming", "LayerTimings", "Timing", "benchmark", "time_layers"]


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


# --- per-layer timing (Caffe's `caffe time`) ---------------------------------------------


class LayerTiming(NamedTuple):
    """One row of :func:`time_layers`: a layer, its real input shape and its timings.

    ``backward`` is None for a layer with nothing to differentiate (no floating-point
    params and an integer input).
    """

    path: str
    name: str
    input_shape: Any
    output_shape: Any
    forward: Timing
    backward: Timing | None


@dataclasses.dataclass(frozen=True)
class LayerTimings:
    """The result of :func:`time_layers`; ``str()`` is the table.

    ``forward`` and ``backward`` are the sums of the layers' median times (seconds).
    """

    rows: tuple[LayerTiming, ...]
    forward: float
    backward: float

    def __str__(self) -> str:
        header = ("Layer", "Path", "Input shape", "Forward (ms)", "Backward (ms)")
        body = [
            (
                row.name,
                row.path,
                str(row.input_shape),
                f"{row.forward.median * 1e3:.3f}",
                "--" if row.backward is None else f"{row.backward.median * 1e3:.3f}",
            )
            for row in self.rows
        ]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

        def line(cells):
            return "  ".join(
                c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        rule = "=" * len(line(header))
        total = (
            f"Sum over layers (medians): forward {self.forward * 1e3:.3f} ms, backward "
            f"{self.backward * 1e3:.3f} ms, forward-backward {(self.forward + self.backward) * 1e3:.3f} ms"
        )
        return "\n".join([rule, line(header), rule, *map(line, body), rule, total])


def time_layers(
    layer: Any,
    params: Any,
    inputs: Any,
    *,
    state: Any = None,
    warmup: int = 2,
    runs: int | None = None,
    min_time: float = 0.05,
    **kwargs: Any,
) -> LayerTimings:
    """Forward and backward time of every layer of a network (Caffe's ``caffe time``).

    The network is applied once, layer by layer (entering ``serial`` and ``parallel``
    as :func:`stax.intermediates` does), to get each layer's real input. Then for each
    layer that is not a combinator, with :func:`benchmark`:

    * forward: the jitted ``apply_fun(params, inputs, **kwargs)`` of that layer
      (``apply_with_state`` when ``state`` is given, including the state update);
    * backward: the jitted pullback of ``funcgrad.vjp`` of the forward with respect to
      the layer's params and its input (those that are floating point), at a cotangent
      of ones, the forward's residuals precomputed: the backward pass alone, as Caffe's.

    Each layer is compiled on its own, so the sum of the layers' times is an upper bound
    on the time of the whole network under one ``jit``, which can fuse across layers.

    Args:
        layer: the network.
        params: its params.
        inputs: a batch of inputs.
        state: its state, if it has one.
        warmup: untimed calls per function (compilation happens there).
        runs: timed calls per function; by default as many as fit in ``min_time``.
        min_time: the time budget per function for choosing ``runs``.
        **kwargs: apply-time keywords (``key=``, ``is_training=``).

    Returns:
        :class:`LayerTimings`: ``rows`` (path, name, input shape, output shape,
        forward and backward :class:`Timing`) and the sums; ``str()`` is the table.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> net = stax.serial(stax.Dense(16), stax.Relu, stax.Dense(2))
        >>> _, params = net.init_fun(random.key(0), (-1, 8))
        >>> t = stax.time_layers(net, params, fnp.ones((4, 8)), runs=3)
        >>> [(row.path, row.name, row.input_shape) for row in t.rows]
        [('[0]', 'Dense(16)', (4, 8)), ('[1]', 'Relu', (4, 16)), ('[2]', 'Dense(2)', (4, 16))]
        >>> t.forward > 0 and t.backward > 0
        True
    """
    leaves = []
    walk(
        layer,
        params,
        inputs,
        state=state,
        on_leaf=lambda *leaf: leaves.append(leaf),
        **kwargs,
    )
    rows = []
    for path, leaf, p, s, x, kw in leaves:
        forward, output = _forward(leaf, s, kw)
        y = output(p, x)
        time_fwd = benchmark(
            funcgrad.jit(forward), p, x, warmup=warmup, runs=runs, min_time=min_time
        )
        rows.append(
            LayerTiming(
                path="".join(f"[{i}]" for i in path),
                name=leaf.name,
                input_shape=_shapes(x),
                output_shape=_shapes(y),
                forward=time_fwd,
                backward=_time_backward(output, p, x, warmup, runs, min_time),
            )
        )
    return LayerTimings(
        rows=tuple(rows),
        forward=sum(r.forward.median for r in rows),
        backward=sum(r.backward.median for r in rows if r.backward is not None),
    )


def _forward(leaf, state, kw):
    """The layer's forward as ``(params, x) -> result`` and ``(params, x) -> outputs``."""
    if state is None:

        def output(p, x):
            return leaf.apply_fun(p, x, **kw)

        return output, output

    def forward(p, x):
        return leaf.apply_with_state(p, state, x, **kw)

    return forward, lambda p, x: forward(p, x)[0]


def _time_backward(output, p, x, warmup, runs, min_time):
    def floating(tree):
        leaves = tree_util.tree_leaves(tree)
        return bool(leaves) and all(np.issubdtype(np.dtype(a.dtype), np.inexact) for a in leaves)

    wrt_p, wrt_x = floating(p), floating(x)
    if wrt_p and wrt_x:
        f, primals = funcgrad.jit(output), (p, x)
    elif wrt_p:
        f, primals = funcgrad.jit(lambda p_: output(p_, x)), (p,)
    elif wrt_x:
        f, primals = funcgrad.jit(lambda x_: output(p, x_)), (x,)
    else:
        return None
    y, pullback = funcgrad.vjp(f, *primals)
    cotangent = tree_util.tree_map(fnp.ones_like, y)
    return benchmark(funcgrad.jit(pullback), cotangent, warmup=warmup, runs=runs, min_time=min_time)


def _shapes(tree):
    if hasattr(tree, "shape"):
        return tuple(tree.shape)
    return tree_util.tree_map(lambda a: tuple(a.shape), tree, is_leaf=lambda a: hasattr(a, "shape"))
