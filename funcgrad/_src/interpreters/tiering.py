"""Tiered compilation for jit on NumPy: NumPy calls first, fused numba loops once a program
has proven hot.

A program's first code (tier 1) is the generated NumPy code: it is ready in
milliseconds. With ``funcgrad.config.cpu_fusion = "tiered"`` (the default, when numba is
installed), after ``config.cpu_fusion_after_calls`` calls of one compiled signature a
background thread generates the fused version (tier 2: each fusible group one numba
loop, see :mod:`~funcgrad._src.interpreters.fusion_cpu`), compiles its loops (or loads
them from numba's disk cache) and swaps it in: one attribute assignment, so every call
runs either tier completely, and calls keep running tier 1 while tier 2 compiles. The
next calls alternate between the tiers, timed, and the faster one stays (see
:class:`_Trial`). A program with nothing to fuse stays on tier 1. ``"always"`` compiles tier 2 at the first
call; ``"off"`` never does. Loops missing from numba's disk cache are compiled first by a
child process (compiling holds the GIL: in this process it slowed the program's own
calls ~3x while it ran), which a script that ends meanwhile leaves running to fill the
cache; the thread itself is not a daemon: a process that exits while it loads loops
waits for it (numba must not be stopped halfway).
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any

import numpy as np

from funcgrad._src.config import config
from funcgrad._src.core import default_backend
from funcgrad._src.interpreters import codegen, fusion_cpu, optimize
from funcgrad._src.interpreters.jit import executable

_lock = threading.Lock()


def mode(backend: Any) -> str:
    """``"tiered"``, ``"always"`` or ``"off"`` for programs on ``backend`` now."""
    if backend.xp is not np or getattr(backend, "fuses_elementwise", False):
        return "off"
    if config.cpu_fusion == "off":
        return "off"
    if fusion_cpu.unavailable_reason() is not None:
        return "off"
    return config.cpu_fusion


def start(entry: Any) -> None:
    """Compile ``entry``'s fused tier in a background thread (once per entry)."""
    with _lock:
        entry.countdown = 0  # (threads racing on the count may have taken it below 0)
        if entry.tier is not None:
            return
        entry.tier = "compiling"
    thread = threading.Thread(target=compile_now, args=(entry,), name=f"funcgrad fuse {entry.name}")
    thread.start()


def compile_now(entry: Any) -> None:
    """Compile ``entry``'s fused tier here and swap it in (a failure keeps tier 1 and
    warns once, naming the program)."""
    entry.tier = "compiling"
    try:
        if config.cpu_fusion == "tiered":
            # loops not in numba's disk cache compile in a child process, on another
            # core and outside this process's GIL; this thread then loads them
            fusion_cpu.precompile_in_child(_uncompiled(entry).loops)
            if not threading.main_thread().is_alive():
                entry.tier = None  # the script ended while the child compiled
                return
        exe = executable(entry.closed, entry.backend, entry.name, entry.donated,
                         private_outputs=True, cpu_fusion=True)  # fmt: skip
    except Exception as e:  # noqa: BLE001  (tier 1 keeps running; say why)
        entry.tier = f"failed: {type(e).__name__}: {e}"
        warnings.warn(
            f"jit of {entry.name}: the fused CPU tier failed to compile ({type(e).__name__}: "
            f"{e}); the program keeps running as NumPy calls",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    if not exe.loops:
        entry.tier = "nothing to fuse"
        return
    entry.fused = exe
    entry.pool_bytes += exe.pool_bytes
    # the swap: one store, calls in flight finish on tier 1. Tiered programs first run
    # both tiers in turn and keep the faster; "always" (tests, benchmarks) keeps tier 2.
    if config.cpu_fusion == "tiered":
        entry.tier = "trial"
        entry.exe_fn = _Trial(entry, entry.exe_fn, exe.fn)
    else:
        entry.tier = "fused"
        entry.exe_fn = exe.fn
    if entry.owner is not None and exe.pool_bytes:
        entry.owner._enforce_bytes(entry)


#: Timed calls of each tier before a tiered program keeps the faster one.
TRIAL_CALLS = 5


class _Trial:
    """The two tiers of a program run in turn, each timed, for ``TRIAL_CALLS`` calls
    each after one warm-up call each; then the faster (by best time) replaces this.

    A fused loop is not faster everywhere: a program dominated by matrix products, or
    of small arrays, can run as fast or faster as NumPy calls (whose kernels are
    vectorised by hand), so the choice is measured, on this machine, not assumed.
    """

    __slots__ = ("best", "calls", "entry", "fns")

    def __init__(self, entry: Any, numpy_fn: Any, fused_fn: Any):
        self.entry = entry
        self.fns = (fused_fn, numpy_fn)
        self.best = [float("inf"), float("inf")]
        self.calls = 0

    def __call__(self, *buffers: Any) -> Any:
        calls = self.calls
        self.calls = calls + 1
        tier = calls & 1
        start = time.perf_counter()
        outs = self.fns[tier](*buffers)
        elapsed = time.perf_counter() - start
        if calls >= 2:  # each tier's first call warms its caches and buffer pool
            self.best[tier] = min(self.best[tier], elapsed)
        if calls + 1 >= 2 * (TRIAL_CALLS + 1) and self.entry.exe_fn is self:
            self._decide()
        return outs

    def _decide(self) -> None:
        fused, numpy_ = self.best
        entry = self.entry
        if fused <= numpy_:
            entry.tier = "fused"
            entry.exe_fn = self.fns[0]
        else:
            entry.tier = (
                f"kept tier 1: the fused loops took {fused * 1e3:.3g} ms a call, the NumPy "
                f"calls {numpy_ * 1e3:.3g} ms"
            )
            entry.exe_fn = self.fns[1]


def _uncompiled(entry: Any) -> Any:
    """The fused tier's code with its loops described, not compiled (for ``as_text``, and
    to know which loops the child process must compile)."""
    with default_backend(entry.backend):
        optimized = optimize.optimize_for_execution(entry.closed)
    return codegen.generate(optimized, entry.backend, entry.name, entry.donated,
                            private_outputs=True, cpu_fusion=True, compile_loops=False)  # fmt: skip


def fused_text(entry: Any, full: bool = True) -> str | None:
    """The fused tier's source for ``as_text`` (generated without compiling its loops if
    it is not compiled yet), or None where there is none (fusion off, nothing to fuse).
    ``full=False``: only a note saying when it will run, unless it runs already."""
    if entry.fused is not None:
        state = {"fused": "running", "trial": "timed against tier 1 (the faster stays)"}
        return _heading(entry, state.get(entry.tier, entry.tier)) + entry.fused.source
    how = mode(entry.backend)
    if how == "off":
        return None
    exe = _uncompiled(entry)
    if not exe.loops:
        return None
    if not full and how == "tiered":
        state = entry.tier or (
            f"compiled in the background after {config.cpu_fusion_after_calls} calls"
        )
        return (
            f"# tier 2 (fused loops, numba; {len(exe.loops)} loops): {state}; "
            f"as_text(tier='fused') shows it"
        )
    when = (
        "at the first call" if how == "always"
        else f"after {config.cpu_fusion_after_calls} calls"
    )  # fmt: skip
    state = entry.tier or f"not compiled yet: compiled in the background {when}"
    return _heading(entry, state) + exe.source


def _heading(entry: Any, state: str) -> str:
    return f"# --- tier 2: fused loops (numba); {state} ---\n"
