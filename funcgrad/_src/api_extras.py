"""Small top-level utilities with JAX's names: ``custom_gradient``, ``named_call``,
``named_scope``, ``typeof``, ``clear_caches``, ``ensure_compile_time_eval``, ``default_device`` and
``print_environment_info``."""

from __future__ import annotations

import functools
import gc
import platform
import sys
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from funcgrad._src.core import EVAL_TRACE, ShapedArray, default_backend, get_aval, set_current_trace
from funcgrad._src.core import _context as trace_context

__all__ = [
    "clear_caches", "custom_gradient", "default_device", "ensure_compile_time_eval",
    "named_call", "named_scope", "print_environment_info", "typeof",
]  # fmt: skip


def custom_gradient(fun: Callable) -> Callable:
    """``fun`` returning ``(value, vjp)`` becomes a function of its value whose reverse-mode
    derivative is ``vjp(cotangent) -> cotangents`` (one per argument, or the single one),
    as ``jax.custom_gradient``. The backward pass calls ``fun`` again to rebuild ``vjp``
    from the saved arguments (residuals are arrays, not closures).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> @funcgrad.custom_gradient
        ... def clipped_square(x):
        ...     return x * x, lambda g: (fnp.clip(2 * x * g, -1.0, 1.0),)
        >>> float(funcgrad.grad(clipped_square)(fnp.asarray(3.0)))
        1.0
    """
    from funcgrad._src.custom_derivatives import custom_vjp

    def value_only(*args):
        return fun(*args)[0]

    functools.update_wrapper(value_only, fun)
    wrapped = custom_vjp(value_only)

    def fwd(*args):
        return fun(*args)[0], args

    def bwd(args, ct):
        # residuals must be arrays, not the vjp closure: rebuild it from the arguments
        _, vjp = fun(*args)
        cts = vjp(ct)
        if not isinstance(cts, (tuple, list)):
            cts = (cts,)
        if len(cts) != len(args):
            raise TypeError(
                f"custom_gradient of {getattr(fun, '__name__', 'fun')}: the vjp returned "
                f"{len(cts)} cotangents for {len(args)} arguments"
            )
        return tuple(cts)

    wrapped.defvjp(fwd, bwd)
    return wrapped


def named_call(fun: Callable, *, name: str | None = None) -> Callable:
    """``fun`` whose calls show as one equation named ``name`` (default: ``fun``'s name)
    in traced programs (``make_jaxpr``, ``jit(...).lower(...).as_text()``).

    Under a transformation the call is a ``jit`` call named ``name`` (inlined by the
    compiler's passes like any nested ``jit``), and its equations are traced inside
    ``named_scope(name)``; eagerly ``fun`` runs as it is. The arguments must be arrays or
    pytrees of them.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> block = funcgrad.named_call(lambda x: fnp.sin(x) * 2, name="my_block")
        >>> "name='my_block'" in str(funcgrad.make_jaxpr(block)(fnp.ones(2)))
        True
    """
    from funcgrad._src.jit import jit

    label = name or getattr(fun, "__name__", "named_call")

    def renamed(*args, **kwargs):
        with named_scope(label):
            return fun(*args, **kwargs)

    functools.update_wrapper(renamed, fun)
    renamed.__name__ = renamed.__qualname__ = label
    staged = jit(renamed)

    @functools.wraps(fun)
    def call(*args, **kwargs):
        if trace_context.trace is EVAL_TRACE:
            return fun(*args, **kwargs)
        return staged(*args, **kwargs)

    return call


@contextmanager
def named_scope(name: str):
    """A block (or, as a decorator, a function) whose staged equations carry ``name``:
    printed programs end their lines with ``# [outer/inner]`` (the enclosing scopes'
    names joined by ``/``), as ``jax.named_scope``. Errors of ``debug_nans`` and
    ``checkify`` name the scope beside the line.

    The scope is recorded when a transformation stages the equations (``jit``,
    ``make_jaxpr``, reverse mode); eager operations are not recorded. While a scope is
    open, staging looks up the user's line of every equation (a stack walk each).

    Args:
        name: the scope's name (a str).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> def f(x):
        ...     with funcgrad.named_scope("layer1"):
        ...         return fnp.sin(x) * 2.0
        >>> print(funcgrad.make_jaxpr(f)(fnp.ones(2)))
        { lambda ; a:float64[2]. let
            b:float64[2] = sin a  # [layer1]
            c:float64[2] = mul b 2.0  # [layer1]
          in (c,) }
    """
    from funcgrad._src import source_info

    if not isinstance(name, str):
        raise TypeError(f"named_scope: name must be a str, got {type(name).__name__} ({name!r})")
    with source_info.scope(name):
        yield


def typeof(x: Any) -> ShapedArray:
    """The abstract value (shape and dtype) of an array, tracer or scalar, as ``jax.typeof``.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> funcgrad.typeof(fnp.ones((2, 3))).str_short()
        'float64[2,3]'
    """
    return get_aval(x)


def clear_caches() -> None:
    """Forget every compiled program of every ``jit`` function (each traces again when
    next called), as ``jax.clear_caches``.

    Examples:
        >>> import funcgrad
        >>> funcgrad.clear_caches()
    """
    from funcgrad._src.jit import Jitted

    for obj in gc.get_objects():  # a rare, explicit call: a scan beats a global registry
        if type(obj) is Jitted:
            obj.clear_cache()


@contextmanager
def ensure_compile_time_eval():
    """Inside the block, operations on concrete (non-traced) values are computed at once,
    even while tracing for ``jit``, instead of being staged into the program.

    Differs from JAX: traced values must not be used inside the block (it evaluates
    eagerly, so a tracer there raises the leaked-tracer error); compute constants there.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> @funcgrad.jit
        ... def f(x):
        ...     with funcgrad.ensure_compile_time_eval():
        ...         table = fnp.cumsum(fnp.arange(4.0))   # computed now, not in the program
        ...     return x + table
        >>> f(fnp.zeros(4)).tolist()
        [0.0, 1.0, 3.0, 6.0]
    """
    with set_current_trace(EVAL_TRACE):
        yield


def default_device(device: str | None):
    """A context manager placing new arrays on ``device`` (a backend name such as
    ``"numpy"`` or ``"cupy"``), as ``jax.default_device``.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> with funcgrad.default_device("numpy"):
        ...     fnp.ones(2).backend
        'numpy'
    """
    return default_backend(device)


def print_environment_info(return_string: bool = False) -> str | None:
    """The versions of funcgrad, Python, NumPy, SciPy and the optional packages, and the
    backends this machine can run, printed (or returned with ``return_string=True``).

    Examples:
        >>> import funcgrad
        >>> "funcgrad:" in funcgrad.print_environment_info(return_string=True)
        True
    """
    import numpy as np

    import funcgrad
    from funcgrad._src.api import devices
    from funcgrad._src.config import config

    lines = [
        f"funcgrad:    {funcgrad.__version__}",
        f"numpy:       {np.__version__}",
        f"python:      {sys.version.split()[0]}",
        f"platform:    {platform.platform()}",
    ]
    for module in ("scipy", "numba", "cupy", "ml_dtypes"):
        version = None
        if module in sys.modules or module != "cupy":  # never import cupy only to ask
            try:
                version = __import__(module).__version__
            except ImportError:
                version = None
        lines.append(f"{module + ':':<12} {version or 'not installed'}")
    lines.append(f"backends:    {', '.join(devices())}")
    lines.append(f"cpu fusion:  {config.cpu_fusion_status}")
    text = "\n".join(lines)
    if return_string:
        return text
    print(text)
    return None
