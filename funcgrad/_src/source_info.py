"""Where in the user's code an operation came from: the first stack frame outside
funcgrad (and stax, transforms, backends).

Staged equations record it while capturing is on (``debug_nans``/``debug_infs``, or
``make_jaxpr(..., source_info=True)``); off, tracing pays one flag test per equation.
The backward pass marks the forward equation whose transpose is running, so errors
there can name the forward line. ``named_scope`` blocks add their names (``outer/inner``)
to the locations recorded inside them; capturing is on while one is open.
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
    #: the enclosing ``named_scope`` names, joined by "/" ("" outside any)
    scope: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line} (in {self.function})"
        return f"{where} [{self.scope}]" if self.scope else where

    def annotation(self, with_line: bool) -> str:
        """The ``# ...`` note of a printed equation: its scope, then its file:line."""
        parts = [f"[{self.scope}]"] if self.scope else []
        if with_line and self.line:
            parts.append(f"{self.file}:{self.line}")
        return " ".join(parts)


class _State(threading.local):
    def __init__(self) -> None:
        self.backward: list = []  # (source, primitive name) of the transposes running
        self.scopes: list[str] = []  # the open named_scope names, outermost first


_state = _State()
#: Reasons capturing is on (a counter per reason; ir.py reads ``capturing[0]``).
_reasons: dict[str, int] = {}
capturing = [False]


def _is_library(filename: str) -> bool:
    return filename.startswith(_LIBRARY_DIRS) or filename.startswith("<frozen")


def user_frame(skip: int = 1) -> SourceInfo | None:
    """The innermost frame of the caller's stack outside the library, or None."""
    scope = "/".join(_state.scopes)
    frame = sys._getframe(skip)
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        if not _is_library(filename) and not filename.endswith(("contextlib.py", "functools.py")):
            return SourceInfo(filename, frame.f_lineno, code.co_name, scope)
        frame = frame.f_back
    return SourceInfo("<unknown>", 0, "<unknown>", scope) if scope else None


@contextmanager
def scope(name: str):
    """Add ``name`` to the scope of the locations recorded inside the block."""
    _state.scopes.append(name)
    _reasons["named_scope"] = _reasons.get("named_scope", 0) + 1
    capturing[0] = True
    try:
        yield
    finally:
        _state.scopes.pop()
        left = _reasons["named_scope"] - 1
        if left:
            _reasons["named_scope"] = left
        else:
            del _reasons["named_scope"]
        capturing[0] = bool(_reasons)


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
