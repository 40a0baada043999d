"""The ``jit`` transformation: trace a function once per abstract signature, optimise
the program, generate code for it, and run that code on later calls.

A call of a jitted function flattens its arguments, looks up the signature
(pytree structure, shapes, dtypes, weak types, static arguments, backend) in the
function's cache, and on a hit calls the generated code on the argument buffers
directly; a call whose arguments have the last such call's pytree structure, leaf types,
shapes and dtypes skips even that (generated straight-line checks, no flattening). On a
miss it traces the function to a program (a :class:`ClosedJaxpr`), which it keeps; the code is generated on first execution. Under another
transformation the call binds :data:`~funcgrad._src.interpreters.jit.jit_p`.
Also here: ``disable_jit``, donation, ``lower`` and ``make_jaxpr``.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
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
from funcgrad._src.interpreters import optimize, tiering
from funcgrad._src.interpreters.batching import axis_env
from funcgrad._src.interpreters.jit import executable, jit_p
from funcgrad._src.ir import ClosedJaxpr, StagingTrace
from funcgrad._src.tree_util import (
    _match_source,
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
# how many disable_jit blocks are open in any thread: while none is, a call need not read
# the thread-local flag (a read that costs as much as the rest of the fast path's checks)
_disabled_somewhere = 0
_disabled_lock = threading.Lock()


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
    global _disabled_somewhere
    previous = _state.disabled
    _state.disabled = disable
    with _disabled_lock:
        _disabled_somewhere += 1
    try:
        yield
    finally:
        _state.disabled = previous
        with _disabled_lock:
            _disabled_somewhere -= 1


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


def _signature_check(shapes: Sequence, dtypes: Sequence, backend: Any) -> Callable:
    """A function of ``len(shapes)`` arguments returning their buffers when each is an
    array of ``backend`` with that shape and dtype, else None.

    Generated with one condition per argument and no loop: on jit's fast path the check
    is most of the cost of a call with small arrays. Dtypes are compared by identity
    (NumPy keeps one object per builtin dtype); an equal dtype object that is not the
    same fails the check and takes the general path, which is as correct.
    """
    n = len(shapes)
    names = [f"x{i}" for i in range(n)]
    scope = {"Array": Array, "backend": backend}
    types = [f"type({x}) is Array and {x}._backend is backend" for x in names]
    loads = [f"b{i} = {x}._buffer" for i, x in enumerate(names)]
    same = []
    for i, (shape, dtype) in enumerate(zip(shapes, dtypes)):
        scope[f"s{i}"], scope[f"d{i}"] = shape, dtype
        same.append(f"b{i}.shape == s{i} and b{i}.dtype is d{i}")
    buffers = ", ".join(f"b{i}" for i in range(n))
    source = (
        f"def check({', '.join(names)}):\n"
        f"    if {' and '.join(types) or 'True'}:\n"
        + "".join(f"        {line}\n" for line in loads)
        + f"        if {' and '.join(same) or 'True'}:\n"
        f"            return [{buffers}]\n"
        f"    return None\n"
    )
    exec(compile(source, "<funcgrad.jit signature check>", "exec"), scope)  # noqa: S102
    return scope["check"]


def _tree_signature_check(
    treedef: Any, types: Sequence, shapes: Sequence, dtypes: Sequence, backend: Any,
    convert: Callable,
) -> Callable:  # fmt: skip
    """A function of the argument tuple returning ``(buffers, arrays)`` when the arguments
    have the pytree structure ``treedef`` and each leaf has the exact type in ``types``
    and, once an array (leaves that are not arrays go through ``convert``, as the general
    path converts them), ``backend`` and that shape and dtype; else None.

    The pytree form of :func:`_signature_check`: straight-line code that neither flattens
    nor builds a cache key, for calls such as a training step's
    ``(params, opt_state, batch, ...)``. Each test is exact (a leaf's type, not an
    ``isinstance``), so a call it accepts is one the general path would resolve to the
    same program with the same buffers.
    """
    scope: dict = {"Array": Array, "backend": backend, "convert": convert}
    lines, names = _match_source(treedef, "args", scope, "n")
    for i, (name, kind, shape, dtype) in enumerate(zip(names, types, shapes, dtypes)):
        scope[f"s{i}"], scope[f"d{i}"] = shape, dtype
        if kind is Array:
            lines.append(f"if type({name}) is not Array: return None")
        else:  # a host value (NumPy array or scalar, Python number) that jit converts
            scope[f"k{i}"] = kind
            lines.append(f"if type({name}) is not k{i}: return None")
            lines.append(f"{name} = convert({name})")
        lines.append(f"if {name}._backend is not backend: return None")
        lines.append(f"b{i} = {name}._buffer")
        lines.append(f"if b{i}.shape != s{i} or b{i}.dtype is not d{i}: return None")
    buffers = "".join(f"b{i}, " for i in range(len(names)))
    lines.append(f"return [{buffers}], [{''.join(f'{x}, ' for x in names)}]")
    source = (
        "def check(args):\n    try:\n"
        + "".join(f"        {line}\n" for line in lines)
        + "    except KeyError:  # a dict with other keys\n        return None\n"
    )
    exec(compile(source, "<funcgrad.jit pytree signature check>", "exec"), scope)  # noqa: S102
    return scope["check"]


class _Entry:
    """One traced signature: the program, the output structure and (lazily) the code.

    ``key`` is its key in the owner's cache, ``fast_keys`` its keys in the owner's fast
    table, ``pool_bytes`` the bytes of buffers its code keeps between calls (known once
    the code is generated)."""

    __slots__ = ("backend", "closed", "countdown", "donated", "exe_fn", "fast_keys", "fused",
                 "key", "last_calls", "name", "out_kind", "out_tree", "owner", "pool_bytes", "tier")  # fmt: skip

    def __init__(self, closed: ClosedJaxpr, out_tree: Any, backend: Any, name: str, donated: tuple):
        self.closed = closed
        self.out_tree = out_tree
        self.backend = backend
        self.name = name
        self.donated = donated
        n = out_tree.num_leaves
        shape = tree_unflatten(out_tree, list(range(n)))
        # how wrap builds the result: 1 a lone array, 2 a flat tuple, 0 the pytree
        self.out_kind = 0
        if type(shape) is int:
            self.out_kind = 1
        elif type(shape) is tuple and shape == tuple(range(n)):
            self.out_kind = 2
        self.exe_fn = None
        self.key = None
        self.fast_keys: list = []
        self.last_calls: dict = {}  # fast key -> Jitted._last for calls of this signature
        self.pool_bytes = 0
        self.owner: Jitted | None = None
        # the fused CPU tier (see interpreters/tiering.py): calls left before it compiles
        # (0: not counting), its state (None: not started) and its code
        self.countdown = 0
        self.tier: str | None = None
        self.fused = None

    def compiled(self) -> Any:
        """The generated code (made on first use; the owner then accounts its pool)."""
        exe = executable(self.closed, self.backend, self.name, self.donated, private_outputs=True)
        if self.exe_fn is None:
            self.exe_fn = exe.fn
            self.pool_bytes = exe.pool_bytes
            if self.owner is not None and self.pool_bytes:
                self.owner._enforce_bytes(self)
        return exe

    def wrap(self, outs: Sequence, backend: Any) -> Any:
        """The program's output buffers as the function's result: arrays in its pytree."""
        new = object.__new__
        if self.out_kind == 1:  # one array
            a = new(Array)
            a._buffer = outs[0]
            a._backend = backend
            return a
        arrays = []
        for b in outs:
            a = new(Array)
            a._buffer = b
            a._backend = backend
            arrays.append(a)
        if self.out_kind == 2:  # a flat tuple of arrays
            return tuple(arrays)
        return tree_unflatten(self.out_tree, arrays)

    def run(self, buffers: list) -> list:
        fn = self.exe_fn
        if fn is None:
            fn = self._first_code()
        elif self.countdown:
            self.countdown -= 1
            if not self.countdown:
                tiering.start(self)  # compiles the fused tier in the background
        return fn(*buffers)

    def _first_code(self) -> Any:
        fn = self.compiled().fn
        how = tiering.mode(self.backend)
        if how == "always" and self.tier is None:
            tiering.compile_now(self)
            fn = self.exe_fn
        elif how == "tiered":
            self.countdown = config.cpu_fusion_after_calls
        return fn


class Lowered:
    """A jitted function specialised to one signature: its program and generated code."""

    def __init__(self, entry: _Entry):
        self._entry = entry

    def as_text(self, tier: str = "both") -> str:
        """The generated Python source that runs the program.

        On NumPy with fused CPU loops on (``funcgrad.config.cpu_fusion``) a program has
        two tiers: ``tier="numpy"`` gives the first (NumPy calls), ``"fused"`` the second
        (its loops' source as comments above the Python that calls them; None-like
        empty text where nothing fuses), ``"both"`` the first followed by the second
        once it runs (or with ``cpu_fusion="always"``), else by a line saying when it
        will.
        """
        if tier not in ("both", "numpy", "fused"):
            raise ValueError(f"as_text: tier must be 'both', 'numpy' or 'fused', got {tier!r}")
        if tier == "fused":
            return tiering.fused_text(self._entry) or ""
        text = self._entry.compiled().source
        fused = tiering.fused_text(self._entry, full=False) if tier == "both" else None
        return text if fused is None else f"{text}\n\n{fused}"

    def as_jaxpr(self, optimized: bool = True) -> ClosedJaxpr:
        """The program: after the execution passes (``optimized``) or as traced."""
        if not optimized:
            return self._entry.closed
        return self._entry.compiled().jaxpr

    def __repr__(self) -> str:
        return f"<Lowered {self._entry.name}>"


class _Signature:
    """What jit needs to know of ``fun``'s parameters (``known`` is False where Python
    cannot tell: then nothing is checked)."""

    __slots__ = ("keyword", "known", "positional", "star", "var_keyword")

    def __init__(self, fun: Callable):
        self.positional: list[str] = []  # positional parameters, in order
        self.keyword: set[str] = set()  # parameters that can be passed by name
        self.star: str | None = None  # the *args parameter
        self.var_keyword = False  # has **kwargs
        try:
            sig = inspect.signature(fun)
        except (TypeError, ValueError):
            self.known = False
            return
        self.known = True
        for p in sig.parameters.values():
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                self.positional.append(p.name)
            elif p.kind is p.VAR_POSITIONAL:
                self.star = p.name
            elif p.kind is p.VAR_KEYWORD:
                self.var_keyword = True
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                self.keyword.add(p.name)


def _index_tuple(value: Any, what: str, fun_name: str) -> tuple[int, ...]:
    """``value`` (an int, an integer-like such as ``np.int64``, or a sequence of them) as
    a tuple of ints, or a TypeError naming ``jit``, the function and the argument."""

    def as_int(v: Any) -> int:
        if isinstance(v, (bool, np.bool_)) or not hasattr(v, "__index__"):
            raise TypeError(
                f"jit of {fun_name}: {what} must be an int or a sequence of ints (argument "
                f"positions), got {type(v).__name__} {v!r:.40}"
                + ("; to name parameters use static_argnames" if isinstance(v, str) else "")
            )
        return int(v.__index__())

    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return (as_int(value),)
    return tuple(as_int(v) for v in value)


def _name_tuple(value: Any, what: str, fun_name: str) -> tuple[str, ...]:
    """``value`` (a str or a sequence of them) as a tuple, or a TypeError naming it."""
    items = (value,) if isinstance(value, str) or not isinstance(value, Iterable) else value
    items = tuple(items)
    for v in items:
        if not isinstance(v, str):
            raise TypeError(
                f"jit of {fun_name}: {what} must be a str or a sequence of str (parameter "
                f"names), got {type(v).__name__} {v!r:.40}"
                + ("; to give positions use static_argnums" if hasattr(v, "__index__") else "")
            )
    return items


def _check_positions(nums: tuple, what: str, sig: _Signature, fun_name: str) -> tuple:
    """``nums`` with negative positions counted from the last positional parameter; a
    ValueError for positions ``fun`` does not have."""
    if not sig.known:
        return nums
    n = len(sig.positional)
    params = ", ".join(sig.positional) or "none"
    out = []
    for i in nums:
        if i < 0 and sig.star is not None:
            raise ValueError(
                f"jit of {fun_name}: {what}={nums} has the negative position {i}, which is "
                f"ambiguous for a function with *{sig.star}; give non-negative positions"
            )
        if (i >= n and sig.star is None) or i < -n:
            raise ValueError(
                f"jit of {fun_name}: {what}={nums} refers to positional argument {i}, but "
                f"{fun_name} takes {n} positional argument{'s' if n != 1 else ''} "
                f"({params})"
            )
        out.append(i % n if i < 0 else i)
    return tuple(out)


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
        self._name = name = getattr(fun, "__name__", type(fun).__name__)
        sig = _Signature(fun)
        self._param_names = sig.positional if sig.known else None
        self._star = sig.star
        params = sig.positional
        nums = _index_tuple(static_argnums, "static_argnums", name)
        nums = set(_check_positions(nums, "static_argnums", sig, name))
        names = set(_name_tuple(static_argnames, "static_argnames", name))
        unknown = sorted(n for n in names if n not in sig.keyword)
        if sig.known and unknown and not sig.var_keyword:
            raise ValueError(
                f"jit of {name}: static_argnames names {', '.join(map(repr, unknown))}, "
                f"which {'is' if len(unknown) == 1 else 'are'} not a parameter of {name} "
                f"(parameters that can be passed by name: "
                f"{', '.join(sorted(sig.keyword)) or 'none'})"
            )
        nums |= {params.index(n) for n in names if n in params}
        names |= {params[n] for n in nums if n < len(params)}
        self._static_nums = frozenset(nums)
        self._static_names = frozenset(names)
        donate = _index_tuple(donate_argnums, "donate_argnums", name)
        self._donate_nums = frozenset(_check_positions(donate, "donate_argnums", sig, name))
        both = self._donate_nums & self._static_nums
        if both:
            raise ValueError(
                f"jit of {name}: argument {self._describe_position(min(both))} is both static "
                f"and donated; a static argument is a Python value, it has no buffer to donate"
            )
        # compiled signatures, least recently used first: key -> _Entry
        self._cache: OrderedDict = OrderedDict()
        self._fast: dict = {}  # eager all-array calls: (treedef, shapes, dtypes, backend) -> entry
        self._donation_masks: dict = {}
        self._last_signature: tuple | None = None  # of the last trace, for explanations
        self._misses = 0
        self._lock = threading.Lock()  # guards the cache and _tracing
        self._tracing: dict = {}  # key -> _Tracing, while one thread traces that signature
        self._evicted: OrderedDict = OrderedDict()  # key -> why, of recently evicted ones
        # (argument count, signature check, entry, backend, whether the check takes the
        # argument tuple (a pytree check) or the arguments (arrays)) of the last call
        self._last: tuple | None = None

    # -- the hot path --
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        last = self._last
        if (
            last is not None
            and not kwargs
            and len(args) == last[0]
            and trace_context.trace is EVAL_TRACE
            and not (_disabled_somewhere and _state.disabled)
        ):
            # The common case: arguments with the structure, leaf types, shapes and dtypes
            # of the last call's.
            _, check, entry, backend, takes_tuple = last
            if takes_tuple:
                buffers, arrays = check(args) or (None, None)
            else:
                buffers, arrays = check(*args), args
            if buffers is not None:
                try:
                    self._cache.move_to_end(entry.key)  # most recently used
                except KeyError:  # evicted by another thread meanwhile
                    pass
                if entry.donated:
                    buffers = self._take_donated(arrays, buffers, entry.donated)
                return entry.wrap(entry.run(buffers), backend)
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
                    try:
                        self._cache.move_to_end(entry.key)  # most recently used
                    except KeyError:  # evicted by another thread meanwhile
                        pass
                    self._remember(entry, key, leaves, args, backend)
                    return self._run(entry, leaves, buffers, backend)
        split = self._split(args, kwargs)
        entry, lifted, converted, backend, donated = self._resolve(*split)
        if key is not None and not lifted:
            with self._lock:
                if self._cache.get(entry.key) is entry:  # (not evicted meanwhile)
                    self._fast[key] = entry
                    entry.fast_keys.append(key)
            self._remember(entry, key, leaves, args, backend)
            return self._run(entry, leaves, buffers, backend)
        if (
            not lifted
            and not kwargs
            and not self._static_nums
            and trace_context.trace is EVAL_TRACE
        ):
            self._remember_tree(entry, split[4], split[3], converted, len(args), backend)
        return self._execute(entry, lifted, converted, backend, donated)

    def _remember(self, entry: _Entry, key: tuple, leaves: Sequence, args: tuple,
                  backend: Any) -> None:  # fmt: skip
        """Make ``entry`` the last call's, checked first by ``__call__``, when the call's
        arguments were arrays (or pytrees of them)."""
        if key[0] is not None:
            self._remember_tree(entry, key[0], leaves, leaves, len(args), backend)
            return
        if len(leaves) != len(args):
            return
        last = entry.last_calls.get(key)
        if last is None:
            # key: (None, shape, dtype, shape, dtype, ..., backend)
            check = _signature_check(key[1:-1:2], key[2:-1:2], backend)
            last = entry.last_calls[key] = (len(args), check, entry, backend, False)
        self._last = last  # one assignment: other threads see all of it or none

    def _remember_tree(self, entry: _Entry, treedef: Any, leaves: Sequence, converted: Sequence,
                       num_args: int, backend: Any) -> None:  # fmt: skip
        """Make ``entry`` the last call's with a check of the whole argument pytree (its
        structure, each leaf's type, shape and dtype), from the second eager call of this
        signature with these leaf types on: a function called once does not pay for
        generating the check."""
        if axis_env():  # named axes in scope key the signature too
            return
        types = tuple(map(type, leaves))
        key = ("tree", types)
        last = entry.last_calls.get(key)
        if last is None:
            entry.last_calls[key] = 1  # seen once
            return
        if last == 1:
            if any(type(x) is not Array or x._backend is not backend for x in converted):
                return
            from funcgrad._src.numpy.util import asarray

            convert = functools.partial(asarray, fname=f"jit of {self._name}")
            shapes = [x._buffer.shape for x in converted]
            dtypes = [x._buffer.dtype for x in converted]
            check = _tree_signature_check(treedef, types, shapes, dtypes, backend, convert)
            last = entry.last_calls[key] = (num_args, check, entry, backend, True)
        self._last = last  # one assignment: other threads see all of it or none

    def _run(self, entry: _Entry, leaves: Sequence, buffers: list, backend: Any) -> Any:
        if entry.donated:
            buffers = self._take_donated(leaves, buffers, entry.donated)
        return entry.wrap(entry.run(buffers), backend)

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
        axes = axis_env()
        if axes:  # named axes in scope (vmap axis_name, distributed.pmap) shape collectives
            key_parts.append(axes)
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
            entry, lifted = self._trace_once(
                key, args, static, kwargs, in_avals, treedef, has_kwargs, backend, donated
            )
        else:
            try:
                self._cache.move_to_end(key)  # most recently used
            except KeyError:  # evicted by another thread meanwhile
                pass
        return entry, lifted, converted, backend, donated

    # -- the cache: one trace per signature, least recently used evicted --
    def _trace_once(self, key, *trace_args) -> tuple:
        """The entry of ``key``: traced here, or by another thread already tracing it
        (this one waits for it), so that concurrent first calls trace once."""
        me = threading.get_ident()
        while True:
            with self._lock:
                entry = self._cache.get(key)
                if entry is not None:
                    self._cache.move_to_end(key)
                    return entry, []
                tracing = self._tracing.get(key)
                if tracing is None or tracing.thread == me:  # (a recursive call traces again)
                    mine = tracing is None
                    if mine:
                        tracing = self._tracing[key] = _Tracing(me)
                    break
            tracing.done.wait()  # then look again: traced, or failed (and traced here)
        try:
            entry, lifted = self._trace(*trace_args, evicted=self._evicted.get(key))
            if not lifted:  # values of enclosing transformations change between calls
                self._insert(key, entry)
        finally:
            if mine:
                with self._lock:
                    del self._tracing[key]
                tracing.done.set()
        return entry, lifted

    def _insert(self, key: Any, entry: _Entry) -> None:
        with self._lock:
            entry.key, entry.owner = key, self
            self._cache[key] = entry
            self._evicted.pop(key, None)
            limit = config.jit_cache_size
            while len(self._cache) > limit:
                self._evict_oldest(f"least recently used beyond config.jit_cache_size={limit}")

    def _enforce_bytes(self, keep: _Entry) -> None:
        """Evict least recently used programs while their pools exceed the byte budget
        (``keep``, the program about to run, stays even if it alone exceeds it)."""
        limit = config.jit_cache_bytes
        with self._lock:
            total = sum(e.pool_bytes for e in self._cache.values())
            for key in list(self._cache):
                if total <= limit:
                    break
                entry = self._cache[key]
                if entry is keep or not entry.pool_bytes:
                    continue
                total -= entry.pool_bytes
                self._evict(
                    key,
                    f"its {_mib(entry.pool_bytes)} of pooled buffers put the function's "
                    f"programs over config.jit_cache_bytes={limit}",
                )

    def _evict_oldest(self, why: str) -> None:
        self._evict(next(iter(self._cache)), why)

    def _evict(self, key: Any, why: str) -> None:
        entry = self._cache.pop(key)
        last = self._last
        if last is not None and last[2] is entry:
            self._last = None
        for fast_key in entry.fast_keys:
            if self._fast.get(fast_key) is entry:
                del self._fast[fast_key]
        self._evicted[key] = why
        while len(self._evicted) > 4 * config.jit_cache_size:  # remembered only for a while
            self._evicted.popitem(last=False)

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

    def _trace(self, args, static, kwargs, in_avals, treedef, has_kwargs, backend, donated,
               evicted=None):  # fmt: skip
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
        self._note_miss(in_avals, static, treedef, has_kwargs, backend, evicted)
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
    def _note_miss(self, in_avals, static, treedef, has_kwargs, backend, evicted=None) -> None:
        self._misses += 1
        signature = (treedef, tuple(in_avals), static, backend, has_kwargs)
        previous, self._last_signature = self._last_signature, signature
        if previous is None:
            return
        if config.explain_cache_misses or self._misses >= 3:
            message = self._explain_miss(previous, signature)
            if evicted is not None:
                message += f" (this signature was compiled before and evicted: {evicted})"
            warnings.warn(message, CacheMissWarning, stacklevel=6)

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
        with self._lock:
            self._cache.clear()
            self._fast.clear()
            self._last = None
            self._evicted.clear()

    def _pool_bytes(self) -> int:
        """Bytes of the buffers the cached programs keep between calls."""
        return sum(e.pool_bytes for e in list(self._cache.values()))

    def _cache_size(self) -> int:
        return len(self._cache)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)

    def __repr__(self) -> str:
        return f"<jit of {self._name}>"


class _Tracing:
    """A signature being traced by ``thread``; ``done`` is set when it has finished."""

    __slots__ = ("done", "thread")

    def __init__(self, thread: int):
        self.thread = thread
        self.done = threading.Event()


def _mib(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


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
            each distinct value traces again. Use it for shapes, flags, modes. Ints
            (NumPy integers too); negative ones count from the last positional
            parameter.
        static_argnames: the same, by parameter name.
        donate_argnums: positions of arguments whose buffers the program may reuse
            for its results; a donated array can no longer be used afterwards.

    Raises:
        TypeError: a position that is not an integer, or a name that is not a str.
        ValueError: a position ``fun`` does not have (unless it takes ``*args``), a
            name it does not have (unless it takes ``**kwargs``), or an argument both
            static and donated. (Callables without an inspectable signature are not
            checked.)

    The cache key is the pytree structure, shapes, dtypes and weak types of the
    arguments, the static arguments (by hash and equality) and the backend. Python
    scalar arguments are traced as weakly typed 0-d values: they promote like the
    scalars they are, as in eager mode (``float32_array * 2.0`` stays float32), and a
    new value does not retrace. Values ``fun`` closes over are baked into the program
    when it is traced. The cache keeps at most ``funcgrad.config.jit_cache_size``
    signatures and ``funcgrad.config.jit_cache_bytes`` of pooled buffers per function,
    evicting the least recently used; threads calling at once with one new signature
    trace it once. Results never share memory with a non-donated argument.

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
    fun: Callable, static_argnums: int | Sequence[int] = (), *, source_info: bool = False
) -> Callable[..., ClosedJaxpr]:
    """A function returning the typed program ``fun`` computes for the given arguments.

    Array arguments (pytrees of them) become the program's inputs; arguments listed in
    ``static_argnums`` are passed to ``fun`` as they are. Values ``fun`` closes over
    become the program's constants. Print the result to read the program; a ``jit``
    call inside shows its own program in its equation. With ``source_info=True`` each
    equation records the user's line that staged it and prints it as ``# file:line``.

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
        from funcgrad._src import source_info as source_lines

        with source_lines.capture(source_info):
            closed = jitted._entry_for(args, kwargs).closed
        if source_info:  # print each equation's "# file:line"
            closed.derived["show_source"] = True
        return closed

    return make
