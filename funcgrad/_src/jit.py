"""The ``jit`` transformation: trace a function once per abstract signature, optimise
the program, generate code for it, and run that code on later calls.

A call of a jitted function flattens its arguments, looks up the signature
(pytree structure, shapes, dtypes, weak types, static arguments, backend) in the
function's cache, and on a hit calls the generated code on the argument buffers
directly. On a miss it traces the function to a program (a :class:`ClosedJaxpr`),
which it keeps; the code is generated on first execution. Under another
transformation the call binds :data:`~funcgrad._src.interpreters.jit.jit_p`.
Also here: ``disable_jit``, donation, ``lower`` and ``make_jaxpr``.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from funcgrad._src import ir
from funcgrad._src.config import config
from funcgrad._src.core import (
    EVAL_TRACE,
    Array,
    ConcretizationError,
    Tracer,
    current_backend,
    default_backend,
    get_aval,
    set_current_trace,
)
from funcgrad._src.core import _context as trace_context
from funcgrad._src.interpreters import optimize
from funcgrad._src.interpreters.jit import executable, jit_p
from funcgrad._src.ir import ClosedJaxpr, StagingTrace
from funcgrad._src.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_unflatten,
)

#: Python scalars: traced as weakly typed values.
_WEAK_TYPES = (bool, int, float, complex)

# --- disable_jit -------------------------------------------------------------------------


class _JitState(threading.local):
    def __init__(self) -> None:
        self.disabled = False


_state = _JitState()


@contextmanager
def disable_jit(disable: bool = True):
    """Within the block, jitted functions run eagerly, operation by operation (so print
    statements and debuggers see concrete values).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> f = funcgrad.jit(lambda x: x * 2)
        >>> with funcgrad.disable_jit():
        ...     f(fnp.ones(2)).tolist()
        [2.0, 2.0]
    """
    previous = _state.disabled
    _state.disabled = disable
    try:
        yield
    finally:
        _state.disabled = previous


# --- the jit wrapper ----------------------------------------------------------------------


class _DonatedBuffer:
    """Stands in for the buffer of an array donated to a jitted function."""

    __slots__ = ("fun_name",)

    def __init__(self, fun_name: str):
        self.fun_name = fun_name

    def _error(self) -> RuntimeError:
        return RuntimeError(
            f"this array was donated to jit of {self.fun_name} (donate_argnums) and its "
            f"memory reused; use the function's result instead"
        )

    def __getattr__(self, name: str) -> Any:
        raise self._error()

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._error()


def _array_key(leaves: Sequence, treedef: Any) -> tuple:
    """``(key, leaves, buffers, backend)`` when every leaf is an array of one backend
    (the key: treedef, each shape and dtype, the backend), else ``(None, ...)``."""
    key = [treedef]
    buffers = []
    backend = None
    for x in leaves:
        if type(x) is not Array:
            return None, leaves, None, None
        buf = x._buffer
        buffers.append(buf)
        key.append(buf.shape)
        key.append(buf.dtype)
        if x._backend is not backend:
            if backend is not None:
                return None, leaves, None, None
            backend = x._backend
    key.append(backend)
    return tuple(key), leaves, buffers, backend


def _donatable(arrays: Sequence, buffers: list, donated: tuple, probe: bool = False) -> Any:
    """``buffers`` with each donated one that is shared (by another array, a view, or a
    second argument) replaced by a copy; ``probe`` returns the reference count an
    unshared buffer has here instead (measured once, so that the check does not depend
    on how the interpreter counts references)."""
    out = list(buffers)
    ids = [id(b) for b in buffers]
    for i, d in enumerate(donated):
        if not d:
            continue
        buf = buffers[i]
        count = sys.getrefcount(buf)
        if probe:
            return count
        shared = count > _UNSHARED_REFS or ids.count(id(buf)) > 1
        if (
            shared
            or not isinstance(buf, np.ndarray)
            or buf.base is not None
            or not buf.flags.writeable
        ):
            out[i] = buf.copy()
    return out


def _unshared_refs() -> int:
    probe = object.__new__(Array)
    probe._buffer = np.zeros(1)
    return _donatable([probe], [probe._buffer], (True,), probe=True)


_UNSHARED_REFS = _unshared_refs()


class _Entry:
    """One traced signature: the program, the output structure and (lazily) the code."""

    __slots__ = ("backend", "closed", "donated", "exe_fn", "name", "out_tree")

    def __init__(self, closed: ClosedJaxpr, out_tree: Any, backend: Any, name: str, donated: tuple):
        self.closed = closed
        self.out_tree = out_tree
        self.backend = backend
        self.name = name
        self.donated = donated
        self.exe_fn = None

    def run(self, buffers: list) -> list:
        fn = self.exe_fn
        if fn is None:
            fn = self.exe_fn = executable(self.closed, self.backend, self.name, self.donated).fn
        return fn(*buffers)


class Lowered:
    """A jitted function specialised to one signature: its program and generated code."""

    def __init__(self, entry: _Entry):
        self._entry = entry

    def as_text(self) -> str:
        """The generated Python source that runs the program."""
        e = self._entry
        return executable(e.closed, e.backend, e.name, e.donated).source

    def as_jaxpr(self, optimized: bool = True) -> ClosedJaxpr:
        """The program: after the execution passes (``optimized``) or as traced."""
        e = self._entry
        if not optimized:
            return e.closed
        return executable(e.closed, e.backend, e.name, e.donated).jaxpr

    def __repr__(self) -> str:
        return f"<Lowered {self._entry.name}>"


def _param_names(fun: Callable) -> tuple[list[str] | None, str | None]:
    """Names of ``fun``'s positional parameters and of its ``*args`` parameter."""
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        return None, None
    names, star = [], None
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind is p.VAR_POSITIONAL:
            star = p.name
    return names, star


class Jitted:
    """A function compiled by :func:`jit`; call it like the original function.

    ``lower(*args)`` gives the program and generated code for those arguments
    (``.as_text()``, ``.as_jaxpr()``); ``clear_cache()`` forgets every signature.
    """

    def __init__(self, fun: Callable, static_argnums=(), static_argnames=(), donate_argnums=()):
        if not callable(fun):
            raise TypeError(f"jit: expected a function, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self._fun = fun
        self._name = getattr(fun, "__name__", type(fun).__name__)
        self._param_names, self._star = _param_names(fun)
        params = self._param_names or []
        nums = {static_argnums} if isinstance(static_argnums, int) else set(static_argnums)
        names = {static_argnames} if isinstance(static_argnames, str) else set(static_argnames)
        nums = {n % len(params) if n < 0 and params else n for n in nums}
        nums |= {params.index(n) for n in names if n in params}
        names |= {params[n] for n in nums if n < len(params)}
        self._static_nums = frozenset(nums)
        self._static_names = frozenset(names)
        donate = {donate_argnums} if isinstance(donate_argnums, int) else set(donate_argnums)
        self._donate_nums = frozenset(n % len(params) if n < 0 and params else n for n in donate)
        if self._donate_nums & self._static_nums:
            raise ValueError(f"jit of {self._name}: an argument cannot be both static and donated")
        self._cache: dict = {}
        self._fast: dict = {}  # eager all-array calls: (treedef, shapes, dtypes, backend) -> entry
        self._donation_masks: dict = {}
        self._signatures: list = []  # (description per leaf, ...) of every traced signature
        self._misses = 0

    # -- the hot path --
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _state.disabled:
            return self._fun(*args, **kwargs)
        key = None
        if trace_context.trace is EVAL_TRACE and not kwargs and not self._static_nums:
            # Eager call with array arguments: the key is made from the buffers directly.
            key, leaves, buffers, backend = _array_key(args, None)
            if key is None:
                leaves, treedef = tree_flatten(args)
                key, leaves, buffers, backend = _array_key(leaves, treedef)
            if key is not None:
                entry = self._fast.get(key)
                if entry is not None:
                    return self._run(entry, leaves, buffers, backend)
        split = self._split(args, kwargs)
        entry, lifted, converted, backend, donated = self._resolve(*split)
        if key is not None and not lifted:
            self._fast[key] = entry
            return self._run(entry, leaves, buffers, backend)
        return self._execute(entry, lifted, converted, backend, donated)

    def _run(self, entry: _Entry, leaves: Sequence, buffers: list, backend: Any) -> Any:
        if entry.donated:
            buffers = self._take_donated(leaves, buffers, entry.donated)
        outs = entry.run(buffers)
        new = object.__new__
        arrays = []
        for b in outs:
            a = new(Array)
            a._buffer = b
            a._backend = backend
            arrays.append(a)
        return tree_unflatten(entry.out_tree, arrays)

    def _split(self, args: tuple, kwargs: dict) -> tuple:
        """The call as (args, static arguments, kwargs, dynamic leaves, their treedef,
        whether the dynamic part includes keyword arguments)."""
        if not kwargs and not self._static_nums:
            leaves, treedef = tree_flatten(args)
            return args, (), kwargs, leaves, treedef, False
        static_nums, static_names = self._static_nums, self._static_names
        dyn_args = tuple(a for i, a in enumerate(args) if i not in static_nums)
        params = self._param_names or []
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static_names}
        # keyed by parameter name, so that f(x, 3) and f(x, n=3) share one trace
        static = [
            (params[i] if i < len(params) else i, args[i]) for i in static_nums if i < len(args)
        ]
        static += [(k, v) for k, v in kwargs.items() if k in static_names]
        static = tuple(sorted(static, key=lambda kv: str(kv[0])))
        for where, value in static:
            try:
                hash(value)
            except TypeError:
                what = f"'{where}'" if isinstance(where, str) else self._describe_position(where)
                raise TypeError(
                    f"jit of {self._name}: static argument {what} is unhashable "
                    f"({type(value).__name__}: {value!r:.60}); static arguments key the "
                    f"compilation cache, so they must be hashable (use a tuple instead of a "
                    f"list, or make it a regular array argument)"
                ) from None
        dyn = (dyn_args, dyn_kwargs) if dyn_kwargs else dyn_args
        leaves, treedef = tree_flatten(dyn)
        return args, static, kwargs, leaves, treedef, bool(dyn_kwargs)

    def _describe_position(self, i: int) -> str:
        names = self._param_names or []
        return f"'{names[i]}'" if i < len(names) else f"{i}"

    def _resolve(self, args, static, kwargs, leaves, treedef, has_kwargs) -> tuple:
        """Convert the leaves, find (or trace) the signature's entry.

        Returns ``(entry, lifted, converted leaves, backend, donated mask)``; ``lifted``
        are values of enclosing transformations the function closed over (such an entry
        is not cached: those values change from call to call).
        """
        backend = None
        converted = []
        for i, x in enumerate(leaves):
            if type(x) is Array:
                if x._backend is not backend:
                    if backend is not None:
                        raise ValueError(
                            f"jit of {self._name}: arguments live on different backends "
                            f"({backend.name} and {x._backend.name}); move them to one with "
                            f"funcgrad.device_put"
                        )
                    backend = x._backend
            elif not isinstance(x, Tracer):
                x = self._as_argument(x, i, treedef, has_kwargs)
            converted.append(x)
        if backend is None:
            backend = current_backend()
        avals = [get_aval(x) for x in converted]
        weak = tuple(type(x) in _WEAK_TYPES for x in leaves)
        key_parts = [treedef]
        for a in avals:
            key_parts.append(a.shape)
            key_parts.append(a.dtype)
        key_parts.append(backend)
        key = tuple(key_parts)
        if static or any(weak):
            key = key + (static, weak)
        donated = self._donated_leaves(treedef, has_kwargs) if self._donate_nums else ()
        if not any(donated):
            donated = ()
        entry = self._cache.get(key)
        lifted = []
        if entry is None:
            in_avals = [a.update(weak_type=w) for a, w in zip(avals, weak)]
            entry, lifted = self._trace(
                args, static, kwargs, in_avals, treedef, has_kwargs, backend, donated
            )
            if not lifted:
                self._cache[key] = entry
        return entry, lifted, converted, backend, donated

    def _execute(self, entry, lifted, converted, backend, donated) -> Any:
        if (
            trace_context.trace is EVAL_TRACE
            and not lifted
            and all(type(x) is Array for x in converted)
        ):
            return self._run(entry, converted, [x._buffer for x in converted], backend)
        outs = jit_p.bind(*lifted, *converted, jaxpr=entry.closed, name=self._name)
        return tree_unflatten(entry.out_tree, outs)

    def _as_argument(self, x: Any, i: int, treedef: Any, has_kwargs: bool) -> Any:
        if type(x) in _WEAK_TYPES or isinstance(x, (np.ndarray, np.generic)):
            from funcgrad._src.numpy.util import asarray

            return asarray(x, fname=f"jit of {self._name}")
        names = self._leaf_names(treedef, has_kwargs)
        raise TypeError(
            f"jit of {self._name}: argument {names[i]} is a {type(x).__name__} "
            f"({x!r:.40}), not an array; mark it static with static_argnums or "
            f"static_argnames to pass it as a Python value"
        )

    def _donated_leaves(self, treedef: Any, has_kwargs: bool) -> tuple:
        key = (treedef, has_kwargs)
        mask = self._donation_masks.get(key)
        if mask is None:
            paths = self._leaf_positions(treedef, has_kwargs)
            mask = self._donation_masks[key] = tuple(p in self._donate_nums for p in paths)
        return mask

    def _take_donated(self, arrays: Sequence, buffers: list, donated: tuple) -> list:
        """Donated buffers the program may overwrite: copies of those that other arrays
        (or views) share, so that donation never changes another array's value."""
        out = _donatable(arrays, buffers, donated)
        for x, d in zip(arrays, donated):
            if d:
                x._buffer = _DonatedBuffer(self._name)
        return out

    # -- tracing --
    def _leaf_positions(self, treedef: Any, has_kwargs: bool) -> list:
        """For each leaf, its positional index or keyword name in the original call."""
        placeholder = tree_unflatten(treedef, [0] * treedef.num_leaves)
        paths = [p for p, _ in tree_flatten_with_path(placeholder)[0]]
        out = []
        for path in paths:
            if has_kwargs:
                head, path = path[0], path[1:]
                if head.idx == 1:
                    out.append(path[0].key)
                    continue
            out.append(self._position(path[0].idx))
        return out

    def _position(self, j: int) -> int:
        """The positional index of the ``j``-th non-static argument."""
        i = 0
        while True:
            if i not in self._static_nums:
                if j == 0:
                    return i
                j -= 1
            i += 1

    def _leaf_names(self, treedef: Any, has_kwargs: bool) -> list[str]:
        """A readable name per leaf: the parameter's name and the key path inside it."""
        placeholder = tree_unflatten(treedef, [0] * treedef.num_leaves)
        paths = [p for p, _ in tree_flatten_with_path(placeholder)[0]]
        names = self._param_names or []
        out = []
        for path in paths:
            if has_kwargs:
                head, path = path[0], path[1:]
                if head.idx == 1:
                    out.append(f"'{path[0].key}'{keystr(path[1:])}")
                    continue
            i = self._position(path[0].idx)
            if i < len(names):
                base = names[i]
            elif self._star:
                base = f"{self._star}[{i - len(names)}]"
            else:
                base = f"arg{i}"
            out.append(f"'{base}'{keystr(path[1:])}")
        return out

    def _trace(self, args, static, kwargs, in_avals, treedef, has_kwargs, backend, donated):
        out_trees = []
        static_nums, static_names = self._static_nums, self._static_names

        def flat_fun(*xs):
            dyn = tree_unflatten(treedef, list(xs))
            dyn_args, dyn_kwargs = dyn if has_kwargs else (dyn, {})
            it = iter(dyn_args)
            call_args = [args[i] if i in static_nums else next(it) for i in range(len(args))]
            call_kwargs = {**dyn_kwargs, **{k: v for k, v in kwargs.items() if k in static_names}}
            out = self._fun(*call_args, **call_kwargs)
            out_leaves, out_tree = tree_flatten(out)
            self._check_outputs(out, out_leaves)
            out_trees.append(out_tree)
            return out_leaves

        parent = trace_context.trace
        trace = StagingTrace(parent, transformation=f"jit of {self._name}")
        tracers = [trace.new_arg(a) for a in in_avals]
        try:
            # constants the function creates (fnp.arange, host data) live where the
            # program runs, not on the default backend
            with set_current_trace(trace), default_backend(backend):
                out_leaves = flat_fun(*tracers)
        except ConcretizationError as e:
            trace.active = False
            raise self._explain_concretization(e, trace, tracers, treedef, has_kwargs) from None
        except BaseException:
            trace.active = False
            raise
        jaxpr, consts = trace.finish([t.var for t in tracers], out_leaves)
        closed, lifted = ir.close_over_tracers(jaxpr, consts)
        with default_backend(backend):  # folded constants too
            closed = optimize.simplify(closed)
        entry = _Entry(closed, out_trees[-1], backend, self._name, donated)
        self._note_miss(in_avals, static, treedef, has_kwargs, backend)
        return entry, lifted

    def _check_outputs(self, out: Any, leaves: list) -> None:
        for path, leaf in tree_flatten_with_path(out)[0]:
            if (
                isinstance(leaf, (Array, Tracer))
                or type(leaf) in _WEAK_TYPES
                or isinstance(leaf, np.generic)
            ):
                continue
            where = f" at output{keystr(path)}" if path else ""
            raise TypeError(
                f"jit of {self._name}: the function returned a {type(leaf).__name__}{where} "
                f"({leaf!r:.40}); a jitted function may return only arrays (pytrees of them). "
                f"Return Python values from a function outside jit."
            )

    def _explain_concretization(self, e, trace, tracers, treedef, has_kwargs) -> Exception:
        var = trace.concretized
        message = str(e)
        what = message.split(": ", 1)[0] if ": " in message else "using"
        if var is None:
            return e
        deps = ir.dependencies(trace.builder.eqns, var)
        names = self._leaf_names(treedef, has_kwargs)
        sources = [
            f"argument {n} ({t.aval.str_short()})" for n, t in zip(names, tracers) if t.var in deps
        ]
        if not sources:
            origin = "a value computed from constants only"
        else:
            origin = " and ".join(sources)
        return ConcretizationError(
            f"in {self._name}, {what} of a traced value derived from {origin}: its value is "
            f"not known while jit traces the function. Mark the argument static "
            f"(static_argnums / static_argnames) if it is a Python-level choice, or use "
            f"funcgrad.lax.cond / funcgrad.numpy.where instead of Python control flow.\n"
            f"(original error: {message})"
        )

    # -- cache-miss explanations --
    def _note_miss(self, in_avals, static, treedef, has_kwargs, backend) -> None:
        self._misses += 1
        signature = (treedef, tuple(in_avals), static, backend, has_kwargs)
        previous = self._signatures[-1] if self._signatures else None
        self._signatures.append(signature)
        if previous is None:
            return
        if config.explain_cache_misses or self._misses >= 3:
            warnings.warn(self._explain_miss(previous, signature), CacheMissWarning, stacklevel=4)

    def _explain_miss(self, old, new) -> str:
        (t0, a0, s0, b0, _), (t1, a1, s1, b1, k1) = old, new
        reasons = []
        if t0 != t1:
            reasons.append(f"argument structure {t0} -> {t1}")
        else:
            for name, x, y in zip(self._leaf_names(t1, k1), a0, a1):
                if x.shape != y.shape:
                    reasons.append(f"argument {name} shape {x.shape} -> {y.shape}")
                if x.dtype != y.dtype:
                    reasons.append(f"argument {name} dtype {x.dtype} -> {y.dtype}")
                if x.weak_type != y.weak_type:
                    reasons.append(f"argument {name} weak type {x.weak_type} -> {y.weak_type}")
        d0, d1 = dict(s0), dict(s1)
        for k in sorted(set(d0) | set(d1), key=str):
            if d0.get(k, "<absent>") != d1.get(k, "<absent>"):
                name = f"'{k}'" if isinstance(k, str) else self._describe_position(k)
                reasons.append(
                    f"static argument {name} {d0.get(k, '<absent>')!r} -> {d1.get(k, '<absent>')!r}"
                )
        if b0 is not b1:
            reasons.append(f"backend {b0.name} -> {b1.name}")
        why = "; ".join(reasons) or "a new signature"
        return f"{self._name} recompiled ({self._misses} traces): {why}"

    # -- introspection --
    def lower(self, *args: Any, **kwargs: Any) -> Lowered:
        """The program and generated code for these arguments (traced if not cached)."""
        return Lowered(self._entry_for(args, kwargs))

    def _entry_for(self, args: tuple, kwargs: dict) -> _Entry:
        return self._resolve(*self._split(args, kwargs))[0]

    def clear_cache(self) -> None:
        """Forget every traced signature (the next call traces again)."""
        self._cache.clear()
        self._fast.clear()

    def _cache_size(self) -> int:
        return len(self._cache)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)

    def __repr__(self) -> str:
        return f"<jit of {self._name}>"


class CacheMissWarning(UserWarning):
    """A jitted function was traced again for a new signature (see config.explain_cache_misses)."""


def jit(fun: Callable | None = None, *, static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (), donate_argnums: int | Sequence[int] = ()):  # fmt: skip
    """Compile ``fun``: trace it once per argument signature to a program, optimise it,
    generate Python code that calls the backend's kernels directly, and run that code.

    Args:
        fun: a function of arrays (pytrees of them). Usable as ``@jit``,
            ``jit(f, static_argnums=...)`` and ``functools.partial(jit, ...)``.
        static_argnums: positions of arguments passed as Python values (hashable);
            each distinct value traces again. Use it for shapes, flags, modes.
        static_argnames: the same, by parameter name.
        donate_argnums: positions of arguments whose buffers the program may reuse
            for its results; a donated array can no longer be used afterwards.

    The cache key is the pytree structure, shapes, dtypes and weak types of the
    arguments, the static arguments (by hash and equality) and the backend. Python
    scalar arguments are traced as weakly typed 0-d values: they promote like the
    scalars they are, as in eager mode (``float32_array * 2.0`` stays float32), and a
    new value does not retrace. Values ``fun`` closes over are baked into the program
    when it is traced.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> @funcgrad.jit
        ... def f(x, y):
        ...     return fnp.sum(x * y)
        >>> float(f(fnp.ones(3), fnp.arange(3.0)))
        3.0
        >>> g = funcgrad.jit(lambda x, n: x ** n, static_argnums=1)
        >>> g(fnp.asarray(2.0), 3).tolist()
        8.0
    """
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums, static_argnames=static_argnames,
                                 donate_argnums=donate_argnums)  # fmt: skip
    return Jitted(fun, static_argnums, static_argnames, donate_argnums)


def make_jaxpr(
    fun: Callable, static_argnums: int | Sequence[int] = ()
) -> Callable[..., ClosedJaxpr]:
    """A function returning the typed program ``fun`` computes for the given arguments.

    Array arguments (pytrees of them) become the program's inputs; arguments listed in
    ``static_argnums`` are passed to ``fun`` as they are. Values ``fun`` closes over
    become the program's constants. Print the result to read the program; a ``jit``
    call inside shows its own program in its equation.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> print(funcgrad.make_jaxpr(lambda x, y: fnp.sin(x) * y)(fnp.ones(3), fnp.asarray(2.0)))
        { lambda ; a:float64[3] b:float64[]. let
            c:float64[3] = sin a
            d:float64[3] = mul c b
          in (d,) }
    """
    jitted = Jitted(fun, static_argnums=static_argnums)

    @functools.wraps(fun)
    def make(*args: Any, **kwargs: Any) -> ClosedJaxpr:
        return jitted._entry_for(args, kwargs).closed

    return make
