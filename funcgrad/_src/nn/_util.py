"""Shared helpers for funcgrad.nn: input conversion and custom derivatives with an eager fast path."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from funcgrad._src import dtypes
from funcgrad._src.core import Tracer
from funcgrad._src.custom_derivatives import custom_jvp
from funcgrad._src.numpy.util import asarray, convert


def fname(name: str) -> str:
    return f"funcgrad.nn.{name}"


def inexact(x: Any, name: str) -> Any:
    """``x`` as an array of a float (or complex) dtype; integers and bools become floats."""
    x = asarray(x, fname=fname(name))
    dt = dtypes.to_inexact(x.dtype)
    return x if dt == x.dtype else convert(x, dt)


def with_jvp(fun: Callable, rule: Callable, nondiff_argnums: tuple[int, ...] = ()) -> Callable:
    """``fun`` as a :class:`funcgrad.custom_jvp` function with ``rule``; calls on concrete
    arrays only (no tracer among the arguments) skip the custom-derivative machinery,
    since nothing can differentiate them (about 10 us per eager call saved)."""
    wrapped = custom_jvp(fun, nondiff_argnums=nondiff_argnums)
    wrapped.defjvp(rule)

    @functools.wraps(fun)
    def call(*args: Any) -> Any:
        if not any(isinstance(a, Tracer) for a in args):
            return fun(*args)
        return wrapped(*args)

    return call
