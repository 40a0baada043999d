"""Host callbacks: calling arbitrary Python/NumPy code from inside transformed functions.

``pure_callback`` is a primitive whose impl converts its operands to NumPy, calls the
user's function and converts the results back, checking them against the declared
``result_shape_dtypes``; under ``jit`` it is recorded into the program and runs on every
call. It is pure: it may be dropped when its results are unused, and it has no
derivative (as in JAX: wrap it in ``custom_jvp``/``custom_vjp`` to differentiate).
Under ``vmap`` the ``vmap_method`` says how the batch reaches the callback.

``debug.callback`` is the effectful variant without results: never dropped or merged,
called with the runtime values (under ``vmap`` once with the whole batch, under
differentiation with the primal values).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad._src import ir
from funcgrad._src.core import (
    EVAL_TRACE,
    Primitive,
    ShapedArray,
    Tracer,
    is_array_like,
    set_current_trace,
)
from funcgrad._src.tree_util import tree_flatten, tree_unflatten

__all__ = ["debug_callback", "pure_callback"]

_VMAP_METHODS = ("sequential", "sequential_unrolled", "expand_dims", "broadcast_all",
                 "legacy_vectorized")  # fmt: skip

pure_callback_p = Primitive("pure_callback")
debug_callback_p = Primitive("debug_callback")
ir.effectful_primitives.add(debug_callback_p)


class _Callable:
    """The user's function with its argument structure, hashable by identity (a primitive
    parameter, so jit caches and CSE treat two calls of one callback alike)."""

    __slots__ = ("fn", "in_tree", "name", "out_tree", "static")

    def __init__(self, fn, in_tree, static, out_tree, name):
        self.fn, self.in_tree, self.static, self.out_tree, self.name = (
            fn, in_tree, static, out_tree, name)  # fmt: skip

    def __call__(self, values: list) -> Any:
        static = dict(self.static)
        it = iter(values)
        leaves = [static[i] if i in static else next(it) for i in range(self.in_tree.num_leaves)]
        args, kwargs = tree_unflatten(self.in_tree, leaves)
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return self.name


def _split_args(args: tuple, kwargs: dict):
    leaves, tree = tree_flatten((args, kwargs))
    arrays = [x for x in leaves if is_array_like(x) or isinstance(x, np.ndarray)]
    static = tuple((i, x) for i, x in enumerate(leaves)
                   if not (is_array_like(x) or isinstance(x, np.ndarray)))  # fmt: skip
    return arrays, tree, static


def _as_operands(arrays: list) -> list:
    from funcgrad._src.numpy.util import asarray

    return [x if is_array_like(x) else asarray(x) for x in arrays]


# --- pure_callback --------------------------------------------------------------------------


def pure_callback(callback: Callable, result_shape_dtypes: Any, *args: Any,
                  sharding: Any = None, vmap_method: str | None = None, **kwargs: Any) -> Any:  # fmt: skip
    """Call the host function ``callback(*args, **kwargs)`` from inside ``jit``/``vmap``.

    ``callback`` receives NumPy arrays (non-array leaves as they are) and must return a
    pytree of arrays matching ``result_shape_dtypes`` (a pytree of
    :class:`funcgrad.ShapeDtypeStruct` or of anything with ``.shape`` and ``.dtype``),
    checked on every call. It must be pure: it may run any number of times (or not at
    all if its results are unused).

    ``vmap_method`` (as JAX's): ``"sequential"`` calls it once per example;
    ``"expand_dims"`` calls it once with a leading batch axis on batched arguments and
    size 1 on the others; ``"broadcast_all"`` broadcasts every argument to the batch
    size. Without it, ``vmap`` raises. Differentiating raises (wrap the call in
    ``custom_jvp`` or ``custom_vjp``).

    Examples:
        >>> import numpy as np, funcgrad, funcgrad.numpy as fnp
        >>> def host_sinc(x):
        ...     return np.sinc(x)
        >>> @funcgrad.jit
        ... def f(x):
        ...     spec = funcgrad.ShapeDtypeStruct(x.shape, x.dtype)
        ...     return funcgrad.pure_callback(host_sinc, spec, x) * 2
        >>> f(fnp.asarray([0.0, 0.5])).round(6).tolist()
        [2.0, 1.27324]
    """
    del sharding
    if vmap_method is not None and vmap_method not in _VMAP_METHODS:
        raise ValueError(f"pure_callback: vmap_method must be one of {_VMAP_METHODS}, got "
                         f"{vmap_method!r}")  # fmt: skip
    result_leaves, out_tree = tree_flatten(result_shape_dtypes)
    result_avals = tuple(ShapedArray(tuple(r.shape), np.dtype(r.dtype)) for r in result_leaves)
    arrays, tree, static = _split_args(args, kwargs)
    name = getattr(callback, "__name__", "callback")
    fn = _Callable(callback, tree, static, out_tree, name)
    outs = pure_callback_p.bind(*_as_operands(arrays), callback=fn, result_avals=result_avals,
                                vmap_method=vmap_method)  # fmt: skip
    return tree_unflatten(out_tree, outs)


def _check_results(fn: _Callable, result: Any, result_avals: tuple) -> list:
    leaves, tree = tree_flatten(result)
    if tree != fn.out_tree:
        raise TypeError(f"pure_callback: {fn.name} returned structure {tree}, but "
                        f"result_shape_dtypes has structure {fn.out_tree}")  # fmt: skip
    out = []
    for i, (x, aval) in enumerate(zip(leaves, result_avals)):
        x = np.asarray(x)
        if x.shape != aval.shape or x.dtype != aval.dtype:
            raise TypeError(
                f"pure_callback: {fn.name} returned {x.dtype}{list(x.shape)} for result {i}, "
                f"but result_shape_dtypes declares {aval.str_short()}"
            )
        out.append(x)
    return out


def _pure_callback_impl(backend, *buffers, callback, result_avals, vmap_method):
    values = [backend.to_numpy(b) if isinstance(b, backend.buffer_type) else np.asarray(b)
              for b in buffers]  # fmt: skip
    results = _check_results(callback, callback(values), result_avals)
    return [backend.freeze(backend.asarray(r)) for r in results]


def _pure_callback_jvp(primals, tangents, *, callback, **params):
    raise ValueError(
        f"pure_callback: {callback.name} cannot be differentiated: funcgrad does not know "
        f"its derivative. Wrap the function that calls it in funcgrad.custom_jvp or "
        f"funcgrad.custom_vjp"
    )


def _pure_callback_batch(args, dims, *, callback, result_avals, vmap_method):
    from funcgrad._src.interpreters import batching

    size = batching.axis_size_of(args, dims)
    if vmap_method is None:
        raise NotImplementedError(
            f"pure_callback: {callback.name} under vmap needs vmap_method= ('sequential', "
            f"'expand_dims' or 'broadcast_all'), as in JAX"
        )
    if vmap_method in ("sequential", "sequential_unrolled"):
        from funcgrad._src.control_flow import map as lax_map

        moved = [batching.bdim_at_front(a, d, size) if d is not None else a
                 for a, d in zip(args, dims)]  # fmt: skip
        mapped = [i for i, d in enumerate(dims) if d is not None]

        def one(xs):
            full = list(moved)
            for i, x in zip(mapped, xs):
                full[i] = x
            return tuple(pure_callback_p.bind(*full, callback=callback, result_avals=result_avals,
                                              vmap_method=vmap_method))  # fmt: skip

        outs = lax_map(one, tuple(moved[i] for i in mapped))
        return list(outs), [0] * len(outs)
    if vmap_method == "broadcast_all":
        vals = [batching.bdim_at_front(a, d, size) if d is not None
                else batching.broadcast_batch(a, size, 0) for a, d in zip(args, dims)]  # fmt: skip
    else:  # expand_dims / legacy_vectorized: unbatched arguments get a size-1 axis
        from funcgrad._src.lax import structural

        vals = [batching.bdim_at_front(a, d, size) if d is not None
                else structural.broadcast_in_dim_p.bind1(
                    a, shape=(1, *a.shape), broadcast_dimensions=tuple(range(1, a.ndim + 1)))
                for a, d in zip(args, dims)]  # fmt: skip
    batched_avals = tuple(ShapedArray((size, *a.shape), a.dtype) for a in result_avals)
    outs = pure_callback_p.bind(*vals, callback=callback, result_avals=batched_avals,
                                vmap_method=vmap_method)  # fmt: skip
    return outs, [0] * len(outs)


pure_callback_p.impl = _pure_callback_impl
pure_callback_p.abstract_eval = lambda *avals, result_avals, **params: list(result_avals)
pure_callback_p.jvp = _pure_callback_jvp
pure_callback_p.batch = _pure_callback_batch


# --- debug.callback ---------------------------------------------------------------------


def debug_callback(callback: Callable, *args: Any, ordered: bool = False, **kwargs: Any) -> None:
    """Call ``callback(*args, **kwargs)`` for its side effect with the *runtime* values
    (NumPy arrays), also inside ``jit`` (every call), ``vmap`` (once, with the whole
    batch) and differentiation (with the primal values). Returns None.

    ``ordered`` is accepted for JAX compatibility; callbacks always run in program order.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> seen = []
        >>> @funcgrad.jit
        ... def f(x):
        ...     funcgrad.debug.callback(lambda v: seen.append(v.sum()), x)
        ...     return x + 1
        >>> _ = f(fnp.arange(3.0)); _ = f(fnp.ones(3))
        >>> [float(s) for s in seen]
        [3.0, 3.0]
    """
    del ordered
    if not callable(callback):
        raise TypeError(f"debug.callback: callback must be callable, got {callback!r}")
    arrays, tree, static = _split_args(args, kwargs)
    fn = _Callable(callback, tree, static, None, getattr(callback, "__name__", "callback"))
    arrays = _as_operands(arrays)
    concrete = [x.concrete_value() if isinstance(x, Tracer) else x for x in arrays]
    if all(c is not None for c in concrete):  # eager (also eager differentiation): call now
        with set_current_trace(EVAL_TRACE):
            debug_callback_p.bind(*concrete, callback=fn)
        return
    debug_callback_p.bind(*arrays, callback=fn)


def _debug_callback_impl(backend, *buffers, callback):
    callback([backend.to_numpy(b) if isinstance(b, backend.buffer_type) else b for b in buffers])
    return []


def _debug_callback_jvp(primals, tangents, **params):
    debug_callback_p.bind(*primals, **params)
    return [], []


def _debug_callback_batch(args, dims, **params):
    from funcgrad._src.interpreters import batching

    values = [a if d is None else batching.moveaxis(a, d, 0) for a, d in zip(args, dims)]
    debug_callback_p.bind(*values, **params)
    return [], []


debug_callback_p.impl = _debug_callback_impl
debug_callback_p.abstract_eval = lambda *avals, **params: []
debug_callback_p.jvp = _debug_callback_jvp
debug_callback_p.transpose = lambda cts, *args, **params: [None] * len(args)
debug_callback_p.batch = _debug_callback_batch
