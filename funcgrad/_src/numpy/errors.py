"""Errors from inside composite functions, re-labelled with the function the user called.

``funcgrad.numpy.var`` is a composition of ``subtract``, ``multiply``, ``mean``...; an
invalid argument often surfaces in one of them, whose message names it
(``funcgrad.numpy.subtract: operands could not be broadcast...``), or in a backend
kernel, whose message names nothing (``Singular matrix``). Every public function of
``funcgrad.numpy`` and ``funcgrad.numpy.linalg`` is wrapped once, where the namespace is
built, so such an error names the function that was called and keeps the inner detail:
``funcgrad.numpy.var: operands could not be broadcast... (raised in
funcgrad.numpy.subtract)``. The exception type is kept, so ``except ValueError`` and
``numpy.linalg.LinAlgError`` handlers still match.

Single-primitive elementwise wrappers (``fnp.add``, ``fnp.sin``) already name themselves
and are on the hot path of eager code, so they are left unwrapped.
"""

from __future__ import annotations

import functools
import re
import types
from typing import Any, Callable

# The label an error message starts with: "funcgrad.numpy.subtract: ", "dot_general: ".
_LABEL = re.compile(r"^((?:funcgrad\.)?[A-Za-z_][\w.\[\]]*): ")

#: Exception types whose messages are about the caller's arguments.
_RELABELLED = (ValueError, TypeError, IndexError, ArithmeticError)


def relabel(error: BaseException, fname: str) -> BaseException:
    """``error`` with a message that starts with ``fname`` (a new exception of the same
    type, or ``error`` itself with a note when its type cannot be rebuilt from a message)."""
    message = str(error)
    if message.startswith(f"{fname}:"):
        return error
    match = _LABEL.match(message)
    if match is not None:
        text = f"{fname}: {message[match.end() :]} (raised in {match.group(1)})"
    else:
        text = f"{fname}: {message}"
    try:
        new = type(error)(text)
    except Exception:  # an exception type with a constructor of its own
        new = None
    if new is None or str(new) != text:
        if hasattr(error, "add_note"):
            error.add_note(f"(while running {fname})")
        return error
    new.__cause__ = error.__cause__
    new.__suppress_context__ = True
    return new.with_traceback(error.__traceback__)


def public(fn: Callable, fname: str) -> Callable:
    """``fn`` whose argument errors are re-labelled with ``fname`` (see the module docstring)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _RELABELLED as e:
            raise relabel(e, fname) from None

    wrapper.__funcgrad_public__ = fname
    return wrapper


def wrap_namespace(namespace: dict, prefix: str) -> None:
    """Wrap every public Python function of ``namespace`` (a module's globals) with
    :func:`public`, labelled ``prefix + fn.__name__`` (aliases share one wrapper, so
    ``fnp.abs is fnp.absolute`` stays true); elementwise primitive wrappers (marked
    ``_names_itself``) and already-wrapped functions are left as they are.
    ``inspect.unwrap`` gives the implementation."""
    wrapped: dict[int, Callable] = {}
    for name, value in list(namespace.items()):
        if (
            name.startswith("_")
            or type(value) is not types.FunctionType
            or getattr(value, "_names_itself", False)
            or hasattr(value, "__funcgrad_public__")
        ):
            continue
        if id(value) not in wrapped:
            wrapped[id(value)] = public(value, prefix + value.__name__)
        namespace[name] = wrapped[id(value)]
