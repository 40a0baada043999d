"""Where in the user's code an operation came from: the first stack frame outside
funcgrad (and stax, transforms, backends).

Staged equations record it while capturing is on (``debug_nans``/``debug_infs``, or
``make_jaxpr(..., source_info=True)``); off, tracing pays one flag test per equation.
The backward pass marks the forward equation whose transpose is running, so errors
there can name the forward line.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Any, NamedTuple

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_LIBRARY_DIRS = tuple(os.path.join(_ROOT, d) + os.sep
                      for d in ("funcgrad", "stax", "transforms", "backends"))  # fmt: skip


class SourceInfo(NamedTuple):
    """A user source location."""

    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} (in {self.function})"


class _State(threading.local):
    def __init__(self) -> None:
        self.backward: list = []  # (source, primitive name) of the transposes running


_state = _State()
#: Reasons capturing is on (a counter per reason; ir.py reads ``capturing[0]``).
_reasons: dict[str, int] = {}
capturing = [False]


def _is_library(filename: str) -> bool:
    return filename.startswith(_LIBRARY_DIRS) or filename.startswith("<frozen")


def user_frame(skip: int = 1) -> SourceInfo | None:
    """The innermost frame of the caller's stack outside the library, or None."""
    frame = sys._getframe(skip)
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        if not _is_library(filename) and not filename.endswith(("contextlib.py", "functools.py")):
            return SourceInfo(filename, frame.f_lineno, code.co_name)
        frame = frame.f_back
    return None


def enable(reason: str, on: bool) -> None:
    """Turn capturing on or off for ``reason``; it stays on while any reason holds."""
    if on:
        _reasons[reason] = 1
    else:
        _reasons.pop(reason, None)
    capturing[0] = bool(_reasons)


@contextmanager
def capture(on: bool = True):
    """Capture source lines while tracing inside the block."""
    if not on:
        yield
        return
    key = f"block-{id(object())}"
    enable(key, True)
    try:
        yield
    finally:
        enable(key, False)


@contextmanager
def in_backward(source: Any, primitive_name: str):
    """Mark the transpose of the forward equation at ``source`` as running."""
    _state.backward.append((source, primitive_name))
    try:
        yield
    finally:
        _state.backward.pop()


def current_backward() -> tuple[Any, str] | None:
    """The forward equation whose transpose is running, if any."""
    return _state.backward[-1] if _state.backward else None
