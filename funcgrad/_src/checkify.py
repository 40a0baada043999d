"""``checkify``: a checked mode that turns failed ``check``s, out-of-bounds indices,
integer division by zero and NaNs into an error *value* computed by the program.

``checkify(f)`` traces ``f`` to a program (recording each equation's user line), then
runs that program equation by equation in the current trace, computing beside each
checked equation whether it failed. The error is an :class:`Error` pytree: an int32
``code`` (0: no error, ``k``: the ``k``-th message) and the values its message shows.
Under ``jit`` they are outputs of the compiled program, so nothing waits for the device
until ``err.get()`` or ``err.throw()``. Only the first failure is kept.

Differs from JAX: nested ``jit``/``checkpoint`` calls inside ``f`` are inlined into the
checked program (wrap the checkified function in ``jit`` to compile it);
``custom_jvp``/``custom_vjp`` functions and the bodies of ``cond``/``scan``/``while``
run unchecked (a ``check`` inside them is an error that says so).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad._src import ir, source_info
from funcgrad._src.core import EVAL_TRACE, Primitive, Tracer, current_trace, get_aval
from funcgrad._src.core import _context as trace_context
from funcgrad._src.tree_util import register_pytree_node, tree_flatten, tree_unflatten

__all__ = [
    "Error", "JaxRuntimeError", "all_checks", "automatic_checks", "check", "checkify",
    "div_checks", "float_checks", "index_checks", "nan_checks", "user_checks",
]  # fmt: skip

#: The error categories; combine them with ``|``.
user_checks = frozenset({"user"})
nan_checks = frozenset({"nan"})
div_checks = frozenset({"div"})
index_checks = frozenset({"index"})
float_checks = nan_checks | div_checks
automatic_checks = float_checks | index_checks
all_checks = automatic_checks | user_checks


class JaxRuntimeError(ValueError):
    """What ``Error.throw`` raises (``jax.errors.JaxRuntimeError``'s role)."""


# --- the error value ---------------------------------------------------------------------


class Error:
    """The outcome of a checkified call: ``get()`` gives the message (None when nothing
    failed), ``throw()`` raises it. Under ``vmap`` of a checkified function ``code`` has
    the batch axis and each failing example is reported with its index.

    Attributes:
        code: int32 array; 0 where nothing failed, else the failure's message number.
        payloads: per message, the values its text shows (the offending index, the
            user's format arguments).
        messages: per message, its text (a ``str.format`` template for the payloads).
    """

    __slots__ = ("code", "messages", "payloads")

    def __init__(self, code: Any, payloads: tuple, messages: tuple):
        self.code = code
        self.payloads = payloads
        self.messages = messages

    def _text(self, code: int, example: tuple) -> str:
        values = [np.asarray(p)[example] for p in self.payloads[code - 1]]
        values = [v.item() if v.ndim == 0 else v for v in values]
        return self.messages[code - 1].format(*values)

    def get(self) -> str | None:
        """The failure's message (one line per failing example under vmap), or None."""
        code = np.asarray(self.code)
        if code.ndim == 0:
            return self._text(int(code), ()) if code else None
        lines = [
            f"at mapped index {', '.join(map(str, idx))}: {self._text(int(code[idx]), idx)}"
            for idx in zip(*np.nonzero(code))
        ]
        return "\n".join(lines) if lines else None

    def throw(self) -> None:
        """Raise :class:`JaxRuntimeError` with the message if anything failed."""
        message = self.get()
        if message is not None:
            raise JaxRuntimeError(message)

    def __repr__(self) -> str:
        try:
            message = self.get()
        except Exception:  # noqa: BLE001 (a traced error has no value to show)
            return "Error(<traced>)"
        return f"Error({message!r})" if message else "Error(no error)"


register_pytree_node(
    Error,
    lambda e: ((e.code, e.payloads), e.messages),
    lambda messages, children: Error(children[0], tuple(map(tuple, children[1])), messages),
)

# --- user checks -------------------------------------------------------------------------

check_p = Primitive("check")
ir.effectful_primitives.add(check_p)


class _State(threading.local):
    def __init__(self) -> None:
        self.depth = 0  # checkify traces in progress


_state = _State()


def _check_impl(backend, pred, *args, msg):
    if not np.all(backend.to_numpy(pred)):
        raise JaxRuntimeError(msg.format(*[backend.to_numpy(a) for a in args]))
    return []


def _check_batch(args, dims, *, msg):
    from funcgrad._src.interpreters.batching import axis_size_of, bdim_at_front

    size = axis_size_of(args, dims)
    return check_p.bind(*[bdim_at_front(a, d, size) for a, d in zip(args, dims)], msg=msg), []


check_p.impl = _check_impl
check_p.abstract_eval = lambda pred, *args, msg: []
check_p.jvp = lambda primals, tangents, *, msg: (check_p.bind(*primals, msg=msg), [])
check_p.batch = _check_batch


def check(pred: Any, msg: str, *fmt_args: Any) -> None:
    """Fail with ``msg.format(*fmt_args)`` where ``pred`` is False, as
    ``jax.experimental.checkify.check``.

    Inside :func:`checkify` the failure becomes the returned error (with the line of the
    ``check`` call); called eagerly outside it raises :class:`JaxRuntimeError` at once.
    Under ``jit``/``vmap``/``grad`` it must be inside ``checkify``.

    Args:
        pred: a boolean (array: every element must hold).
        msg: the message, a ``str.format`` template for ``fmt_args``.
        fmt_args: arrays shown in the message.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> from funcgrad import checkify
        >>> def f(x):
        ...     checkify.check(x > 0, "x must be positive, got {}", x)
        ...     return fnp.log(x)
        >>> err, y = funcgrad.jit(checkify.checkify(f))(fnp.asarray(-2.0))
        >>> err.get().split(" (check")[0]
        'x must be positive, got -2.0'
    """
    from funcgrad._src.numpy.util import asarray

    if not isinstance(msg, str):
        raise TypeError(f"checkify.check: msg must be a str, got {type(msg).__name__}")
    pred = asarray(pred)
    if pred.dtype != np.bool_:
        raise TypeError(f"checkify.check: pred must be boolean, got {pred.dtype}")
    args = [asarray(a) for a in fmt_args]
    if _state.depth == 0 and trace_context.trace is not EVAL_TRACE:
        raise ValueError(
            "checkify.check was called under a transformation (jit, vmap, grad) without "
            "checkify: wrap the function in funcgrad.checkify.checkify(...) and call "
            "err.throw() on the returned error"
        )
    check_p.bind(pred, *args, msg=msg)


# --- the checked interpretation ----------------------------------------------------------

# Primitives that only move, select or convert values: they cannot create a NaN.
_NO_NAN_PRODUCERS = frozenset(["reshape", "broadcast_in_dim", "transpose", "squeeze", "expand_dims", "slice", "dynamic_slice", "dynamic_update_slice", "gather", "scatter", "concatenate", "pad", "select_n", "rev", "copy", "stop_gradient", "checkpoint_name", "convert_element_type", "iota", "max", "min", "neg", "abs", "eq", "ne", "lt", "le", "gt", "ge", "sign", "reduce_max", "reduce_min", "argmax", "argmin", "floor", "ceil", "round"])
_DIVISIONS = frozenset({"div", "rem", "floor_div"})
_SCATTERS = frozenset({"scatter", "scatter_add", "scatter_mul", "scatter_min", "scatter_max"})
_CALLS = frozenset({"jit", "remat"})


class _Checker:
    """Runs a program in the current trace, accumulating the first failure."""

    def __init__(self, errors: frozenset):
        import funcgrad.numpy as fnp

        self.fnp = fnp
        self.errors = errors
        self.code = fnp.zeros((), np.int32)
        self.messages: list[str] = []
        self.payloads: list[tuple] = []

    def fail_where(self, bad: Any, message: str, payload: tuple = ()) -> None:
        fnp = self.fnp
        bad = fnp.any(bad)
        self.messages.append(message)
        k = len(self.messages)
        fired = (self.code == 0) & bad
        self.code = fnp.where(fired, np.int32(k), self.code)
        self.payloads.append(tuple(fnp.where(fired, v, fnp.zeros_like(v)) for v in payload))

    def run(self, jaxpr: ir.Jaxpr, consts: list, args: list) -> list:
        env: dict = {}

        def read(a):
            return a.val if type(a) is ir.Literal else env[a]

        env.update(zip(jaxpr.constvars, consts))
        env.update(zip(jaxpr.invars, args))
        for eqn in jaxpr.eqns:
            ins = [read(a) for a in eqn.inputs]
            outs = self.equation(eqn, ins)
            env.update(zip(eqn.outputs, outs))
        return [read(a) for a in jaxpr.outvars]

    def equation(self, eqn: ir.Equation, ins: list) -> list:
        prim, name = eqn.primitive, eqn.primitive.name
        # the location goes into a str.format template: escape its braces
        where = f" at {eqn.source}".replace("{", "{{").replace("}", "}}") if eqn.source else ""
        if prim is check_p:
            if "user" in self.errors:
                pred, *fmt = (self.fnp.asarray(a) for a in ins)
                if pred.ndim:  # batched (checkify of vmap): show the first failing example
                    first = self.fnp.argmax(~pred.reshape(-1))
                    fmt = [a.reshape(-1, *a.shape[pred.ndim:])[first]
                           if a.shape[: pred.ndim] == pred.shape else a for a in fmt]  # fmt: skip
                message = eqn.params["msg"] + f" (check failed{where})"
                self.fail_where(~pred, message, tuple(fmt))
            return []
        if name in _CALLS:
            sub = eqn.params["jaxpr"]
            return self.run(sub.jaxpr, sub.consts, ins)
        if any(_has_check(sub.jaxpr) for sub in ir.sub_jaxprs(eqn)):
            raise NotImplementedError(
                f"checkify: a checkify.check inside {name}{where} is not supported; move the "
                f"check out of the {name} body (test the values it returns)"
            )
        if "index" in self.errors:
            ins = self.index_check(eqn, ins, where)
        if "div" in self.errors and name in _DIVISIONS:
            y = self.fnp.asarray(ins[1])
            if y.dtype.kind in "iu":
                self.fail_where(y == 0, f"division by zero in '{name}'{where}")
        outs = prim.bind(*ins, **eqn.params)
        if "nan" in self.errors and name not in _NO_NAN_PRODUCERS:
            for o in outs:
                if get_aval(o).dtype.kind in "fc":
                    self.fail_where(self.fnp.isnan(o), f"nan generated by primitive '{name}'{where}")
        return outs

    def index_check(self, eqn: ir.Equation, ins: list, where: str) -> list:
        fnp, name = self.fnp, eqn.primitive.name
        if name == "gather" or name in _SCATTERS:
            first = 1 if name == "gather" else 2
            x_shape = get_aval(ins[0]).shape
            ins = list(ins)
            for k, axis in _index_axes(eqn.params["indexer"], len(x_shape)).items():
                idx = fnp.asarray(ins[first + k])
                n = x_shape[axis]
                bad = (idx < -n) | (idx >= n)
                value = idx.reshape(-1)[fnp.argmax(bad.reshape(-1))] if idx.ndim else idx
                self.fail_where(
                    bad,
                    f"out-of-bounds index {{}} for axis {axis} of size {n} in '{name}'{where}",
                    (value,),
                )
                # keep the program running: the failure is reported, not raised
                ins[first + k] = fnp.clip(idx, -n, n - 1).astype(idx.dtype)
            return ins
        if name in ("dynamic_slice", "dynamic_update_slice"):
            x_shape = get_aval(ins[0]).shape
            if name == "dynamic_slice":
                sizes, starts = eqn.params["slice_sizes"], ins[1:]
            else:
                sizes, starts = get_aval(ins[1]).shape, ins[2:]
            for axis, (s, size, n) in enumerate(zip(starts, sizes, x_shape)):
                s = fnp.asarray(s)
                self.fail_where(
                    (s < 0) | (s > n - size),
                    f"out-of-bounds start index {{}} for axis {axis} (size {n}, slice size "
                    f"{size}) in '{name}'{where}",
                    (s,),
                )
        return ins


def _index_axes(indexer: tuple, ndim: int) -> dict[int, int]:
    """Which axis of the operand each index operand of a gather/scatter indexes."""
    from funcgrad._src.lax.indexing import ArrayIndex

    consuming = sum(1 for e in indexer if e is not None and e is not Ellipsis)
    axes, axis = {}, 0
    for e in indexer:
        if e is None:
            continue
        if e is Ellipsis:
            axis += ndim - consuming
            continue
        if type(e) is ArrayIndex:
            axes[e.operand] = axis
        axis += 1
    return axes


def _has_check(jaxpr: ir.Jaxpr) -> bool:
    return any(
        e.primitive is check_p or any(_has_check(s.jaxpr) for s in ir.sub_jaxprs(e))
        for e in jaxpr.eqns
    )


def checkify(fun: Callable, errors: frozenset = user_checks) -> Callable:
    """``fun`` returning ``(err, out)``: ``out`` is what ``fun`` returns, ``err`` an
    :class:`Error` saying whether (and where, by the user's file and line) a check of
    the ``errors`` categories failed, as ``jax.experimental.checkify.checkify``.

    Categories (combine with ``|``): ``user_checks`` (failed :func:`check` calls),
    ``index_checks`` (gather/scatter indices and dynamic_slice starts out of bounds; the
    indices are clipped so the program runs on), ``div_checks`` (integer ``div``/``rem``
    by zero; float division gives inf/NaN, which ``nan_checks`` sees when a NaN comes
    out), ``nan_checks`` (the first primitive producing a NaN), ``float_checks`` (nan and
    div), ``automatic_checks`` (all but user), ``all_checks``.

    Composes with ``jit`` (the error is computed in the program; no host sync until
    ``err.get()``/``err.throw()``), ``vmap`` (``vmap(checkify(f))`` gives one error per
    example; ``checkify(vmap(f))`` one for the whole batch) and ``grad`` inside ``fun``.

    Args:
        fun: a function of arrays (pytrees of arrays).
        errors: the categories to check (default ``user_checks``).

    Returns:
        A function with ``fun``'s arguments returning ``(Error, fun's result)``.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> from funcgrad import checkify
        >>> f = checkify.checkify(lambda x, i: x[i], errors=checkify.index_checks)
        >>> err, y = funcgrad.jit(f)(fnp.arange(3.0), fnp.asarray(5))
        >>> err.get().split(" at ")[0]
        "out-of-bounds index 5 for axis 0 of size 3 in 'gather'"
        >>> err, y = f(fnp.arange(3.0), fnp.asarray(1))
        >>> err.get() is None, float(y)
        (True, 1.0)
    """
    errors = frozenset(errors)
    unknown = errors - all_checks
    if unknown:
        raise ValueError(
            f"checkify: unknown error categories {sorted(unknown)}; combine "
            f"checkify.user_checks, index_checks, div_checks, nan_checks, float_checks"
        )
    cache: dict = {}

    @functools.wraps(fun)
    def checked(*args: Any, **kwargs: Any) -> tuple[Error, Any]:
        from funcgrad._src.numpy.util import asarray

        leaves, in_tree = tree_flatten((args, kwargs))
        leaves = [x if isinstance(x, Tracer) else asarray(x) for x in leaves]
        avals = [get_aval(x) for x in leaves]
        key = (in_tree, tuple((a.shape, a.dtype, a.weak_type) for a in avals))
        entry = cache.get(key)
        lifted: list = []
        if entry is None:
            out_tree_box: list = []

            def flat_fun(*xs):
                a, kw = tree_unflatten(in_tree, list(xs))
                out_flat, out_tree = tree_flatten(fun(*a, **kw))
                out_tree_box.append(out_tree)
                return out_flat

            _state.depth += 1
            try:
                with source_info.capture():
                    closed, lifted = ir.trace_closed(flat_fun, avals, current_trace(), "checkify")
            finally:
                _state.depth -= 1
            entry = (closed, out_tree_box[0])
            if not lifted and not closed.consts:  # see checkpoint: closures trace afresh
                if len(cache) >= 64:
                    cache.clear()
                cache[key] = entry
        closed, out_tree = entry
        checker = _Checker(errors)
        outs = checker.run(closed.jaxpr, closed.consts, [*lifted, *leaves])
        err = Error(checker.code, tuple(checker.payloads), tuple(checker.messages))
        return err, tree_unflatten(out_tree, outs)

    return checked
