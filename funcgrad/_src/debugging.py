"""``debug.print``: printing values from inside transformed functions (jit, vmap, grad).

The print is a primitive with no outputs, ``debug_print``, marked effectful so that
program passes never drop or merge it. Eagerly it prints at once; under ``jit`` it
is recorded into the program and prints every time the compiled code runs, with
that call's values; under ``vmap`` it prints the whole batch; under differentiation
it prints the primal values.
"""

from __future__ import annotations

from typing import Any

from funcgrad._src import ir
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
