"""``debug.print`` and ``debug.log``: printing and logging values from inside transformed
functions (jit, vmap, grad).

The print is a primitive with no outputs, ``debug_print``, marked effectful so that
program passes never drop or merge it. Eagerly it prints at once; under ``jit`` it
is recorded into the program and prints every time the compiled code runs, with
that call's values; under ``vmap`` it prints the whole batch; under differentiation
it prints the primal values.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad._src import ir, source_info
from funcgrad._src.core import EVAL_TRACE, Primitive, Tracer, is_array_like, set_current_trace
from funcgrad._src.tree_util import tree_flatten, tree_unflatten

debug_print_p = Primitive("debug_print")
ir.effectful_primitives.add(debug_print_p)


def debug_print(fmt: str, *args: Any, **kwargs: Any) -> None:
    """Print ``fmt.format(*args, **kwargs)`` with the *runtime* values of the arrays.

    Unlike Python's ``print``, which inside ``jit`` would run once while tracing and
    show tracers, this prints on every call with the actual values. Arguments may be
    pytrees; leaves that are not arrays are formatted as they are.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> @funcgrad.jit
        ... def f(x):
        ...     funcgrad.debug.print("x = {}", x)
        ...     return x * 2
        >>> _ = f(fnp.arange(3.0))
        x = [0. 1. 2.]
    """
    if not isinstance(fmt, str):
        raise TypeError(f"debug.print: the format must be a string, got {type(fmt).__name__}")
    leaves, tree = tree_flatten((args, kwargs))
    arrays = [x for x in leaves if is_array_like(x)]
    static = tuple((i, x) for i, x in enumerate(leaves) if not is_array_like(x))
    # Values known now (eager differentiation carries concrete primals) print now.
    concrete = [x.concrete_value() if isinstance(x, Tracer) else x for x in arrays]
    if all(c is not None for c in concrete):
        with set_current_trace(EVAL_TRACE):
            debug_print_p.bind(*concrete, fmt=fmt, in_tree=tree, static_leaves=static)
        return
    debug_print_p.bind(*arrays, fmt=fmt, in_tree=tree, static_leaves=static)


def _format(fmt: str, in_tree: Any, static_leaves: tuple, values: list) -> str:
    static = dict(static_leaves)
    it = iter(values)
    leaves = [static[i] if i in static else next(it) for i in range(in_tree.num_leaves)]
    args, kwargs = tree_unflatten(in_tree, leaves)
    return fmt.format(*args, **kwargs)


def _debug_print_impl(backend, *buffers, fmt, in_tree, static_leaves):
    values = [backend.to_numpy(b) if isinstance(b, backend.buffer_type) else b for b in buffers]
    print(_format(fmt, in_tree, static_leaves, values))
    return []


def _debug_print_jvp(primals, tangents, **params):
    debug_print_p.bind(*primals, **params)
    return [], []


def _debug_print_batch(args, dims, **params):
    from funcgrad._src.interpreters import batching

    # the whole batch, batch axis first (unbatched values print as they are)
    values = [a if d is None else batching.moveaxis(a, d, 0) for a, d in zip(args, dims)]
    debug_print_p.bind(*values, **params)
    return [], []


debug_print_p.impl = _debug_print_impl
debug_print_p.abstract_eval = lambda *avals, **params: []
debug_print_p.jvp = _debug_print_jvp
debug_print_p.transpose = lambda cts, *args, **params: [None] * len(args)
debug_print_p.batch = _debug_print_batch


# --- debug.breakpoint ----------------------------------------------------------------------


def _open_debugger(names: list, static: dict, values: list, debugger_cls: Any) -> None:
    """Run ``debugger_cls().set_trace()`` in a frame whose locals are the caller's, with the
    arrays' runtime values."""
    from funcgrad._src.numpy.util import asarray

    scope = dict(static)
    scope.update(zip(names, (asarray(v) for v in values)))
    scope["__funcgrad_debugger__"] = debugger_cls()
    # exec with `scope` as the locals: the debugger's frame sees the runtime values by name
    exec("__funcgrad_debugger__.set_trace()", {"__builtins__": __builtins__}, scope)


def debug_breakpoint(*, backend: str | None = None, filter_frames: bool = True,
                     num_frames: int | None = None, ordered: bool = False,
                     token: Any = None) -> None:  # fmt: skip
    """Stop in ``pdb`` with the calling function's local variables, arrays holding their
    *runtime* values, also inside ``jit`` (every call), ``vmap`` (the whole batch, batch
    axis first) and ``grad`` (the primal values).

    Type ``p x`` to see a local ``x``, ``c`` to continue. The other arguments are
    accepted for JAX compatibility.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> @funcgrad.jit
        ... def f(x):
        ...     y = x * 2
        ...     funcgrad.debug.breakpoint()   # (pdb) p y  -> the values of y
        ...     return y
    """
    del backend, filter_frames, num_frames, ordered, token
    import pdb
    import sys

    from funcgrad._src.callback import debug_callback

    frame = sys._getframe(1)
    names, arrays, static = [], [], {}
    for k, v in frame.f_locals.items():
        if is_array_like(v):
            names.append(k)
            arrays.append(v)
        else:
            static[k] = v
    debugger_cls = pdb.Pdb  # looked up now, so tests can patch pdb.Pdb

    def stop(*values):
        _open_debugger(names, static, list(values), debugger_cls)

    debug_callback(stop, *arrays)


# --- debug.log -------------------------------------------------------------------------------

#: The logger ``debug.log`` writes to; configure it like any ``logging`` logger.
logger = logging.getLogger("funcgrad.debug")


def _log_message(fmt: str, printoptions: tuple, args: tuple, kwargs: dict) -> str:
    with np.printoptions(**dict(printoptions)):
        if _has_placeholders(fmt):
            return fmt.format(*args, **kwargs)
        # no placeholders: the values follow the text, space-separated (as jax.debug.log)
        return " ".join((fmt, *(str(a) for a in args)))


def _has_placeholders(fmt: str) -> bool:
    return any(field is not None for _, field, _, _ in string.Formatter().parse(fmt))


def _check_log_arguments(fmt: str, args: tuple, kwargs: dict) -> None:
    if not isinstance(fmt, str):
        raise TypeError(
            f"funcgrad.debug.log: the format must be a string, got {type(fmt).__name__}"
        )
    if not _has_placeholders(fmt):
        if kwargs:
            raise ValueError(
                f"funcgrad.debug.log: keyword arguments {sorted(kwargs)} are unused: the format "
                f"{fmt!r} has no {{}} placeholders"
            )
        return
    used = {field for _, field, _, _ in string.Formatter().parse(fmt) if field}
    unused = sorted(set(kwargs) - {u.split(".")[0].split("[")[0] for u in used})
    if unused:
        raise ValueError(
            f"funcgrad.debug.log: keyword arguments {unused} are not used by the format "
            f'{fmt!r}; if you passed an f-string (f"{{x}}"), pass a plain string and the '
            f"values as arguments instead"
        )


def debug_log(fmt: str | None = None, *args: Any, ordered: bool = False,
              partitioned: bool = False, skip_format_check: bool = False,
              **kwargs: Any) -> Callable[..., None] | None:  # fmt: skip
    """Log ``fmt.format(*args, **kwargs)`` at INFO level with the *runtime* values, also
    inside ``jit`` (every call), ``vmap`` (the whole batch, batch axis first) and ``grad``
    (the primal values), as ``jax.debug.log``.

    The record goes to the ``logging`` logger ``"funcgrad.debug"`` (JAX uses its own
    module's logger) and carries the file, line and function of the user's call, so
    ``%(pathname)s:%(lineno)d`` in a handler's format points at it. A format without
    ``{}`` placeholders is followed by the values, space-separated. NumPy's print options
    in force at the call apply. As in JAX, ``debug.log(ordered=True)`` without a format
    returns the function to call (the two-call form); ``ordered`` and ``partitioned`` are
    accepted for compatibility (funcgrad runs callbacks in program order on one device).

    Examples:
        >>> import logging, funcgrad, funcgrad.numpy as fnp
        >>> records = []
        >>> class Keep(logging.Handler):
        ...     def emit(self, record):
        ...         records.append(record.getMessage())
        >>> funcgrad.debug.logger.addHandler(keep := Keep())
        >>> funcgrad.debug.logger.setLevel(logging.INFO)
        >>> @funcgrad.jit
        ... def f(x):
        ...     funcgrad.debug.log("x = {}", x)
        ...     return x * 2
        >>> _ = f(fnp.arange(3.0))
        >>> records
        ['x = [0. 1. 2.]']
        >>> funcgrad.debug.logger.removeHandler(keep)
    """
    del ordered, partitioned

    def log(fmt: str, *args: Any, **kwargs: Any) -> None:
        if not skip_format_check:
            _check_log_arguments(fmt, args, kwargs)
        where = source_info.user_frame()  # captured now: the line that called debug.log
        printoptions = tuple(np.get_printoptions().items())

        def emit(*values: Any, **named: Any) -> None:
            message = _log_message(fmt, printoptions, values, named)
            file, line, function = (where.file, where.line, where.function) if where else (
                "(unknown file)", 0, None)  # fmt: skip
            logger.handle(logger.makeRecord(logger.name, logging.INFO, file, line, message,
                                            (), None, func=function))  # fmt: skip

        from funcgrad._src.callback import debug_callback

        debug_callback(emit, *args, **kwargs)

    if fmt is not None:
        log(fmt, *args, **kwargs)
        return None
    if args or kwargs:
        raise TypeError(
            f"funcgrad.debug.log: the two-call form debug.log(ordered=...)(fmt, ...) takes no "
            f"values in its first call, got args={args!r} kwargs={sorted(kwargs)}"
        )
    return log
