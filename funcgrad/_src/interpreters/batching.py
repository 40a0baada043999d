"""The batching interpreter behind ``vmap``: run a per-example function on a whole batch.

A :class:`BatchTracer` holds a value of the parent trace with one extra axis, the
*batch dimension* ``bdim``; its abstract value is the per-example one (the value
without that axis). Each primitive's ``batch`` rule says how to compute the batched
result directly, with no Python loop over examples:

``batch(args, dims, **params) -> (outs, out_dims)``

``args`` are the parent-trace values, ``dims`` their batch dimensions (an int, or
``None`` for an operand that is the same for every example; at least one is an
int). The rule runs in the parent trace and returns the outputs with their batch
dimensions (``None`` when an output does not depend on the example). Operations none
of whose operands are batched pass straight to the parent trace.

Named axes: ``vmap(f, axis_name="i")`` gives its trace a name, and collectives
(``psum``, ``all_gather``, ... in :mod:`funcgrad._src.lax.parallel`) over ``"i"`` act
along the batch dimension. Their rules are called for every application, batched
operands or not (``psum(1.0, "i")`` is the axis size), and read the trace they run for
with :func:`current_rule_trace`. The *axis environment* (:func:`axis_env`) lists the
names in scope, innermost last, for abstract evaluation and error messages; vmap and
``funcgrad.distributed.pmap`` push frames onto it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from funcgrad._src.core import (
    Primitive,
    ShapedArray,
    Trace,
    Tracer,
    escaped_tracer_error,
    get_aval,
)
from funcgrad._src.core import _context as trace_context
from funcgrad._src.interpreters import ad

#: The batch dimension of an operand that is the same for every example.
not_mapped = None


# --- named axes -------------------------------------------------------------------------


class AxisFrame(NamedTuple):
    """A named axis in scope: its name, its size, and what maps it (``"vmap"`` or
    ``"processes"``)."""

    name: Hashable
    size: int
    kind: str


class _AxisState(threading.local):
    def __init__(self) -> None:
        self.frames: tuple[AxisFrame, ...] = ()
        # The BatchTrace whose rule is running (see BatchTrace.process_primitive).
        self.rule_trace: BatchTrace | None = None


_axis_state = _AxisState()

#: Primitives that act over a named axis (collectives): their batching rule runs even
#: when no operand is batched, since the result depends on the axis (``psum(1.0, "i")``).
named_axis_primitives: set[Primitive] = set()


def axis_env() -> tuple[AxisFrame, ...]:
    """The named axes in scope in this thread, outermost first."""
    return _axis_state.frames


@contextmanager
def extend_axis_env(frame: AxisFrame):
    """Put ``frame`` in scope (innermost) for the duration of the block."""
    state = _axis_state
    previous = state.frames
    state.frames = previous + (frame,)
    try:
        yield
    finally:
        state.frames = previous


def current_rule_trace() -> BatchTrace | None:
    """The batching trace whose rule is running now (collectives' rules read its name)."""
    return _axis_state.rule_trace


def describe_axis_env(frames: Sequence[AxisFrame] | None = None) -> str:
    """The names in scope for error messages: ``'i' (vmap, size 3), 'data' (processes, 2)``."""
    frames = axis_env() if frames is None else frames
    if not frames:
        return "no axis names are in scope"
    seen, parts = set(), []
    for f in reversed(frames):  # innermost first; a shadowed name is listed once
        if f.name not in seen:
            seen.add(f.name)
            parts.append(f"{f.name!r} ({f.kind}, size {f.size})")
    return "axis names in scope: " + ", ".join(parts)


class BatchTracer(Tracer):
    __slots__ = ("bdim", "val")

    def __init__(self, trace: BatchTrace, val: Any, bdim: int):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self) -> ShapedArray:
        aval = get_aval(self.val)
        shape = aval.shape
        return ShapedArray(shape[: self.bdim] + shape[self.bdim + 1 :], aval.dtype, aval.weak_type)

    @property
    def shape(self) -> tuple[int, ...]:
        shape = self.val.shape
        return shape[: self.bdim] + shape[self.bdim + 1 :]

    @property
    def dtype(self):
        return self.val.dtype


class BatchTrace(Trace):
    """Vectorisation over one new axis of size ``axis_size``."""

    transformation = "vmap"

    def __init__(self, parent: Trace, axis_size: int, transformation: str = "vmap",
                 axis_name: Hashable | None = None):  # fmt: skip
        self.parent = parent
        self.axis_size = axis_size
        self.active = True
        self.transformation = transformation
        # collectives over this name reduce along the batch dimension (None: unnamed)
        self.axis_name = axis_name

    def unpack(self, x: Any) -> tuple[Any, int | None]:
        """``(value in the parent trace, batch dimension)`` of an operand."""
        if type(x) is BatchTracer and x._trace is self:
            return x.val, x.bdim
        if isinstance(x, Tracer) and not x._trace_is_live():
            raise escaped_tracer_error(x)
        return x, not_mapped

    def process_primitive(self, prim: Primitive, args: tuple, params: dict) -> list:
        if not self.active:
            raise RuntimeError(f"a {self.transformation} trace was used after it ended")
        vals, dims = [], []
        batched = False
        for x in args:
            v, d = self.unpack(x)
            vals.append(v)
            dims.append(d)
            batched = batched or d is not None
        context = trace_context
        context.trace = self.parent
        try:
            if not batched and prim not in named_axis_primitives:
                if self.axis_name is None or not _calls_collective(params, self.axis_name):
                    return self.parent.process_primitive(prim, tuple(vals), params)
                # a call (jit, cond, ...) of a program with collectives over this axis:
                # its result depends on the axis, so batch it with a broadcast operand
                vals, dims = _with_one_batched(prim, vals, self.axis_size)
            rule = prim.batch
            if rule is None:
                raise NotImplementedError(f"batching rule for '{prim.name}' is not implemented")
            # Rules of collectives read this trace's axis name; rules of call-like
            # primitives (jit, cond, scan) batch their sub-programs over the same name.
            state = _axis_state
            previous_rule_trace = state.rule_trace
            state.rule_trace = self
            try:
                outs, out_dims = rule(vals, dims, **params)
            finally:
                state.rule_trace = previous_rule_trace
        finally:
            context.trace = self
        return [o if d is None else BatchTracer(self, o, d) for o, d in zip(outs, out_dims)]

    def process_custom_jvp_call(self, fun, jvp, args, symbolic_zeros):
        # Keep the user's rule visible to the traces below: hand them the function and
        # the rule, both batched, with every operand's batch dimension moved first.
        size = self.axis_size
        vals = [self._operand_at_front(x) for x in args]
        n = len(vals)

        name = self.axis_name

        def batched_fun(*xs):
            return batch_flat(fun, xs, [0] * n, size, move_to=0, axis_name=name)[0]

        def batched_jvp(primals, tangents):
            # symbolic zeros stay symbolic, with the per-example abstract value
            zeros = {i: ad.Zero(_unbatched_aval(t.aval)) for i, t in enumerate(tangents)
                     if type(t) is ad.Zero}  # fmt: skip
            live = [i for i in range(n) if i not in zeros]

            def joint(*xs):
                ts = [zeros.get(i) for i in range(n)]
                for i, t in zip(live, xs[n:]):
                    ts[i] = t
                p_out, t_out = jvp(list(xs[:n]), ts)
                return [*p_out, *(ad.instantiate(t) for t in t_out)]

            live_tangents = [tangents[i] for i in live]
            outs, _ = batch_flat(joint, [*primals, *live_tangents], [0] * (n + len(live)), size,
                                 move_to=0, axis_name=name)  # fmt: skip
            half = len(outs) // 2
            return outs[:half], outs[half:]

        outs = self._in_parent(
            lambda: self.parent.process_custom_jvp_call(
                batched_fun, batched_jvp, vals, symbolic_zeros
            )
        )
        return [BatchTracer(self, o, 0) for o in outs]

    def process_custom_vjp_call(self, fun, fwd, bwd, args, out_tree):
        from funcgrad._src.tree_util import tree_flatten, tree_unflatten

        size = self.axis_size
        vals = [self._operand_at_front(x) for x in args]
        n = len(vals)
        name = self.axis_name

        def batched_fun(*xs):
            return batch_flat(fun, xs, [0] * n, size, move_to=0, axis_name=name)[0]

        def batched_fwd(*xs):
            trees = []

            def flat_fwd(*ys):
                out, res = fwd(*ys)
                out_leaves, out_t = tree_flatten(out)
                res_leaves, res_t = tree_flatten(res)
                trees[:] = [out_t, res_t, len(out_leaves)]
                return [*out_leaves, *res_leaves]

            outs, _ = batch_flat(flat_fwd, xs, [0] * n, size, move_to=0, axis_name=name)
            out_t, res_t, n_out = trees
            return tree_unflatten(out_t, outs[:n_out]), tree_unflatten(res_t, outs[n_out:])

        def batched_bwd(res, cts):
            from funcgrad._src.numpy.creation import zeros

            res_leaves, res_t = tree_flatten(res)
            ct_leaves, ct_t = tree_flatten(cts)
            n_res = len(res_leaves)

            def flat_bwd(*ys):
                flat = bwd(
                    tree_unflatten(res_t, list(ys[:n_res])), tree_unflatten(ct_t, list(ys[n_res:]))
                )
                # a zero stands in for None, so that every cotangent has a batch dimension
                return [
                    zeros(v.shape[1:], v.dtype) if ct is None else ct for ct, v in zip(flat, vals)
                ]

            return batch_flat(flat_bwd, [*res_leaves, *ct_leaves], [0] * (n_res + len(ct_leaves)),
                              size, move_to=0, axis_name=name)[0]  # fmt: skip

        outs = self._in_parent(
            lambda: self.parent.process_custom_vjp_call(
                batched_fun, batched_fwd, batched_bwd, vals, out_tree
            )
        )
        return [BatchTracer(self, o, 0) for o in outs]

    def _operand_at_front(self, x: Any) -> Any:
        val, bdim = self.unpack(x)
        return self._in_parent(lambda: bdim_at_front(val, bdim, self.axis_size))

    def _in_parent(self, thunk: Callable[[], Any]) -> Any:
        context = trace_context
        previous = context.trace
        context.trace = self.parent
        try:
            return thunk()
        finally:
            context.trace = previous


def _calls_collective(params: dict, axis_name: Hashable) -> bool:
    """Whether a call-like primitive's programs (jit, cond, scan, ...) hold a collective
    over ``axis_name``, so that an unbatched call still depends on the named axis."""
    from funcgrad._src.ir import ClosedJaxpr

    for value in params.values():
        subs = value if type(value) is tuple else (value,)
        for sub in subs:
            if type(sub) is ClosedJaxpr and sub.derive(
                ("collective over", axis_name), lambda sub=sub: _mentions_axis(sub, axis_name)
            ):
                return True
    return False


def _mentions_axis(closed: Any, axis_name: Hashable) -> bool:
    for eqn in closed.jaxpr.eqns:
        if eqn.primitive in named_axis_primitives:
            names = eqn.params.get("axes", (eqn.params.get("axis_name"),))
            if axis_name in names:
                return True
        elif _calls_collective(eqn.params, axis_name):
            return True
    return False


def _with_one_batched(prim: Primitive, vals: list, size: int) -> tuple[list, list]:
    """``vals`` with the first operand broadcast along a new batch axis (dimension 0)."""
    if not vals:
        raise NotImplementedError(
            f"vmap: '{prim.name}' has no operands but its program uses a collective over the "
            f"named axis; pass it an operand that is mapped over that axis"
        )
    dims = [None] * len(vals)
    vals = list(vals)
    vals[0], dims[0] = broadcast_batch(vals[0], size, 0), 0
    return vals, dims


def _unbatched_aval(aval: ShapedArray) -> ShapedArray:
    return ShapedArray(aval.shape[1:], aval.dtype, aval.weak_type)


#: ``batch_flat``'s default axis name: the name of the trace whose rule is running, so that
#: the rules of call-like primitives (jit, cond, scan, ...) batch their sub-programs over
#: the named axis they were met in.
INHERIT_AXIS_NAME: Any = object()


def batch_flat(fun: Callable, args: Sequence[Any], dims: Sequence[int | None], axis_size: int,
               move_to: int | None = None, transformation: str = "vmap",
               axis_name: Hashable | None = INHERIT_AXIS_NAME) -> tuple[list, list]:  # fmt: skip
    """Run ``fun`` (flat list in, flat list out) on batched ``args`` in a new trace over
    the current one; returns the outputs and their batch dimensions.

    With ``move_to`` set, every output gets its batch dimension there (unbatched
    outputs are broadcast), so all the returned dimensions are ``move_to``.
    ``axis_name`` names the new axis for collectives (``None``: unnamed; by default the
    name of the batching trace whose rule calls this, if any).
    """
    state = _axis_state
    if axis_name is INHERIT_AXIS_NAME:
        outer = state.rule_trace
        axis_name = outer.axis_name if outer is not None and outer.axis_size == axis_size else None
    context = trace_context
    parent = context.trace
    trace = BatchTrace(parent, axis_size, transformation, axis_name)
    tracers = [a if d is None else BatchTracer(trace, a, d) for a, d in zip(args, dims)]
    context.trace = trace
    previous_frames, previous_rule_trace = state.frames, state.rule_trace
    if axis_name is not None:
        state.frames = previous_frames + (AxisFrame(axis_name, axis_size, "vmap"),)
    state.rule_trace = None  # ``fun`` is user code, not a rule
    try:
        outs = fun(*tracers)
    finally:
        context.trace = parent
        trace.active = False
        state.frames, state.rule_trace = previous_frames, previous_rule_trace
    vals, out_dims = [], []
    for x in outs:
        if type(x) is BatchTracer and x._trace is trace:
            v, d = x.val, x.bdim
        else:
            if isinstance(x, Tracer) and not x._trace_is_live():
                raise escaped_tracer_error(x)
            v, d = x, not_mapped
        if move_to is not None:
            v, d = move_batch_axis(v, d, axis_size, move_to), move_to
        vals.append(v)
        out_dims.append(d)
    return vals, out_dims


# --- helpers for rules (they run in the parent trace) ---------------------------------


def _structural():
    from funcgrad._src.lax import structural

    return structural


def moveaxis(x: Any, src: int, dst: int) -> Any:
    """``x`` with axis ``src`` moved to position ``dst`` (both non-negative)."""
    if src == dst:
        return x
    perm = [i for i in range(x.ndim) if i != src]
    perm.insert(dst, src)
    return _structural().transpose_p.bind1(x, permutation=tuple(perm))


def broadcast_batch(x: Any, size: int, dst: int) -> Any:
    """An unbatched ``x`` repeated ``size`` times along a new axis at ``dst`` (a view)."""
    shape = tuple(get_aval(x).shape)
    out_shape = shape[:dst] + (size,) + shape[dst:]
    dims = tuple(i if i < dst else i + 1 for i in range(len(shape)))
    return _structural().broadcast_in_dim_p.bind1(x, shape=out_shape, broadcast_dimensions=dims)


def move_batch_axis(x: Any, bdim: int | None, size: int, dst: int) -> Any:
    """``x`` with its batch dimension at ``dst``, broadcasting it there if unbatched."""
    if bdim is None:
        return broadcast_batch(x, size, dst)
    return moveaxis(x, bdim, dst)


def bdim_at_front(x: Any, bdim: int | None, size: int) -> Any:
    """``x`` with its batch dimension first, broadcasting an unbatched ``x``."""
    return move_batch_axis(x, bdim, size, 0)


def axis_size_of(args: Sequence[Any], dims: Sequence[int | None]) -> int:
    """The batch size, read off the first batched operand."""
    for x, d in zip(args, dims):
        if d is not None:
            return x.shape[d]
    raise ValueError("axis_size_of: no operand is batched")


def elementwise_batcher(prim: Primitive) -> Callable:
    """The batching rule of an elementwise primitive (operands of one shape, or 0-d; each
    output of the operands' shape).

    When all batched operands share a layout and the others are 0-d, the primitive
    applies as it is; otherwise the batch dimension is moved to the front and
    unbatched operands that are not 0-d are broadcast (views, not copies).
    """

    def rule(args, dims, **params):
        first = None
        same = True
        for x, d in zip(args, dims):
            if d is None:
                if get_aval(x).shape:
                    same = False
            elif first is None:
                first = (d, x.ndim)
            elif (d, x.ndim) != first:
                same = False
        if same:
            outs = prim.bind(*args, **params)
            return outs, [first[0]] * len(outs)
        size = axis_size_of(args, dims)
        # the per-example shape every non-0-d operand has
        example_shape = ()
        for x, d in zip(args, dims):
            s = get_aval(x).shape
            s = s if d is None else s[:d] + s[d + 1 :]
            if s:
                example_shape = s
                break
        moved = []
        for x, d in zip(args, dims):
            if d is None:
                moved.append(x if not get_aval(x).shape else broadcast_batch(x, size, 0))
                continue
            x = moveaxis(x, d, 0)
            if x.ndim == 1 and example_shape:
                x = _structural().broadcast_in_dim_p.bind1(
                    x, shape=(size, *example_shape), broadcast_dimensions=(0,)
                )
            moved.append(x)
        outs = prim.bind(*moved, **params)
        return outs, [0] * len(outs)

    return rule


def defbroadcasting(*prims: Primitive) -> None:
    """Install :func:`elementwise_batcher` as the batching rule of each primitive."""
    for prim in prims:
        prim.batch = elementwise_batcher(prim)
