"""Automatic differentiation: the JVP interpreter, symbolic zeros, linearize and transposition.

Forward mode: :class:`JVPTrace` carries ``(primal, tangent)`` pairs and applies each
primitive's ``jvp`` rule; a tangent that is known to be zero is the symbolic
:class:`Zero` and is never materialised, so nothing is computed for inputs that
are not differentiated.

Reverse mode is linearize + transpose (as in JAX's Autodidax): the JVP runs on top
of a partial-evaluation trace (``ir.StagingTrace(partial=True)``). Primal
operations have only known operands, so they run at once in the outer trace;
tangent operations involve the unknown input tangents, so they are recorded into a
linear program. :func:`backward_pass` then walks that program backwards, applying
each primitive's ``transpose`` rule to the cotangents.

Rule signatures (every rule returns a list):

* ``jvp(primals, tangents, **params) -> (primal_outs, tangent_outs)``; a tangent
  may be :class:`Zero`. Runs in the parent trace.
* ``transpose(cts, *operands, **params) -> list of cotangents``: the linear
  operands arrive as :class:`UndefinedPrimal`; the result has one entry per
  operand, ``None`` for the non-linear ones, :class:`Zero` where nothing flows.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from funcgrad._src.core import (
    Primitive,
    ShapedArray,
    Trace,
    Tracer,
    escaped_tracer_error,
    get_aval,
)
from funcgrad._src.core import _context as trace_context


class Zero:
    """A symbolic zero tangent or cotangent of a given abstract value."""

    __slots__ = ("_aval", "_like")

    def __init__(self, aval: ShapedArray):
        self._aval = aval
        self._like = None

    @classmethod
    def like(cls, value: Any) -> Zero:
        """The zero tangent of ``value``; its abstract value is worked out only if asked for
        (most symbolic zeros are only ever tested for, never materialised)."""
        zero = object.__new__(cls)
        zero._aval = None
        zero._like = value
        return zero

    @property
    def aval(self) -> ShapedArray:
        if self._aval is None:
            self._aval = get_aval(self._like).update(weak_type=False)
        return self._aval

    def __repr__(self) -> str:
        return f"Zero({self.aval.str_short()})"


class UndefinedPrimal:
    """Marks a linear operand in a transpose rule: its value is what is being solved for."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self) -> str:
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined(x: Any) -> bool:
    return type(x) is UndefinedPrimal


def zeros_like_aval(aval: ShapedArray) -> Any:
    """A materialised zero array of ``aval``'s shape and dtype, in the current trace."""
    from funcgrad._src.lax import structural

    zero = np.zeros((), aval.dtype)[()]
    return structural.broadcast_in_dim_p.bind1(zero, shape=aval.shape, broadcast_dimensions=())


def instantiate(t: Any) -> Any:
    """``t`` with a symbolic zero replaced by a real zero array."""
    return zeros_like_aval(t.aval) if type(t) is Zero else t


_add_p = None


def add_tangents(a: Any, b: Any) -> Any:
    """``a + b`` where either may be a symbolic zero."""
    if type(a) is Zero:
        return b
    if type(b) is Zero:
        return a
    global _add_p
    if _add_p is None:  # imported on first use: lax modules import this one
        from funcgrad._src.lax.elementwise import add_p as _add_p
    return _add_p.bind1(a, b)


def differentiable_dtype(dtype: np.dtype) -> bool:
    """Only float and complex values have tangents; ints and bools get symbolic zeros."""
    return dtype.kind in "fc"


# --- forward mode ---------------------------------------------------------------------


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace: JVPTrace, primal: Any, tangent: Any):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self) -> ShapedArray:
        return get_aval(self.primal)

    # shape and dtype straight from the primal: cheaper than building an aval
    @property
    def shape(self) -> tuple[int, ...]:
        return self.primal.shape

    @property
    def dtype(self) -> np.dtype:
        return self.primal.dtype

    def concrete_value(self) -> Any:
        primal = self.primal
        return primal.concrete_value() if hasattr(primal, "concrete_value") else None


class JVPTrace(Trace):
    """Forward-mode differentiation: every tracer carries a tangent alongside its primal."""

    transformation = "jvp"

    def __init__(self, parent: Trace, transformation: str = "jvp"):
        self.parent = parent
        self.active = True
        self.transformation = transformation

    def lift(self, x: Any) -> tuple[Any, Any]:
        if isinstance(x, JVPTracer) and x._trace is self:
            return x.primal, x.tangent
        if isinstance(x, Tracer) and not x._trace_is_live():
            raise escaped_tracer_error(x)
        return x, Zero.like(x)

    def process_primitive(self, prim: Primitive, args: tuple, params: dict) -> list:
        if not self.active:
            raise RuntimeError(f"a {self.transformation} trace was used after it ended")
        # The hot path of every differentiated operation: split the operands in one pass
        # and build symbolic zeros for the other operands only if some tangent is nonzero.
        primals = []
        differentiated = False
        for x in args:
            if type(x) is JVPTracer and x._trace is self:
                primals.append(x.primal)
                if type(x.tangent) is not Zero:
                    differentiated = True
            else:
                if isinstance(x, Tracer) and not x._trace_is_live():
                    raise escaped_tracer_error(x)
                primals.append(x)
        # Rules run in the parent trace (inlined save/restore: this is the hot path).
        context = trace_context
        parent = self.parent
        if not differentiated:
            context.trace = parent
            try:
                return parent.process_primitive(prim, tuple(primals), params)
            finally:
                context.trace = self
        rule = prim.jvp
        if rule is None:
            raise NotImplementedError(f"differentiation rule for '{prim.name}' is not implemented")
        tangents = [
            x.tangent if type(x) is JVPTracer and x._trace is self else Zero.like(x) for x in args
        ]
        context.trace = parent
        try:
            primal_outs, tangent_outs = rule(primals, tangents, **params)
        finally:
            context.trace = self
        return [
            p if type(t) is Zero else JVPTracer(self, p, t)
            for p, t in zip(primal_outs, tangent_outs)
        ]


def jvp_flat(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any],
             parent: Trace, transformation: str = "jvp") -> tuple[list, list, Any]:  # fmt: skip
    """Run ``fun`` on (primal, tangent) pairs in a new JVP trace over ``parent``.

    Returns the (ended) trace and ``fun``'s raw output; :func:`unpack_outputs` splits
    the output's tracers into primals and tangents (possibly :class:`Zero`).
    """
    trace = JVPTrace(parent, transformation)
    tracers = [JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
    context = trace_context
    previous = context.trace
    context.trace = trace  # inlined set_current_trace: grad pays this on every call
    try:
        out = fun(*tracers)
    finally:
        context.trace = previous
        trace.active = False
    return trace, out


def unpack_outputs(trace: JVPTrace, outs: Sequence[Any]) -> tuple[list, list]:
    primal_outs, tangent_outs = [], []
    for x in outs:
        if isinstance(x, JVPTracer) and x._trace is trace:
            primal_outs.append(x.primal)
            tangent_outs.append(x.tangent)
        else:
            primal_outs.append(x)
            tangent_outs.append(Zero(get_aval(x).update(weak_type=False)))
    return primal_outs, tangent_outs


# --- transposition --------------------------------------------------------------------


def backward_pass(jaxpr, consts: Sequence[Any], cts_out: Sequence[Any]) -> list:
    """Cotangents of a linear program's inputs, given cotangents of its outputs.

    Constant variables are the program's non-linear values; every other variable is
    linear (a function of the inputs). Equations are visited in reverse, and each
    transpose rule's cotangents are accumulated per variable; variables that receive
    nothing stay symbolic zeros.
    """
    from funcgrad._src.ir import Literal

    const_env = dict(zip(jaxpr.constvars, consts))
    ct_env: dict = {}
    get, pop = ct_env.get, ct_env.pop
    linear = object()  # marks a linear operand in the const_env lookup below

    for var, ct in zip(jaxpr.outvars, cts_out):
        if type(ct) is Zero or ct is None or type(var) is Literal or var in const_env:
            continue
        prev = get(var)
        ct_env[var] = ct if prev is None else add_tangents(prev, ct)
    for eqn in reversed(jaxpr.eqns):
        outputs = eqn.outputs
        if len(outputs) == 1:
            ct = pop(outputs[0], None)
            if ct is None:
                continue
            cts = [ct]
        else:
            cts = [pop(v, None) for v in outputs]
            if all(ct is None for ct in cts):
                continue
            cts = [Zero(v.aval) if ct is None else ct for v, ct in zip(outputs, cts)]
        inputs = eqn.inputs
        operands = []
        for a in inputs:
            if type(a) is Literal:
                operands.append(a.val)
            else:
                value = const_env.get(a, linear)
                operands.append(UndefinedPrimal(a.aval) if value is linear else value)
        rule = eqn.primitive.transpose
        if rule is None:
            raise NotImplementedError(
                f"reverse-mode differentiation rule (transpose) for '{eqn.primitive.name}' "
                f"is not implemented"
            )
        if eqn.source is None:
            cts_in = rule(cts, *operands, **eqn.params)
        else:  # debug_nans: errors in the transpose name the forward line
            from funcgrad._src.source_info import in_backward

            with in_backward(eqn.source, eqn.primitive.name):
                cts_in = rule(cts, *operands, **eqn.params)
        for a, x, ct in zip(inputs, operands, cts_in):
            # only linear operands (UndefinedPrimal) accumulate cotangents
            if ct is None or type(x) is not UndefinedPrimal or type(ct) is Zero:
                continue
            prev = get(a)
            ct_env[a] = ct if prev is None else add_tangents(prev, ct)
    return [get(v, None) if v in ct_env else Zero(v.aval) for v in jaxpr.invars]


# --- rule helpers -----------------------------------------------------------------------


def unbroadcast(aval: ShapedArray, ct: Any) -> Any:
    """Sum ``ct`` down to a 0-d operand's shape: the one place elementwise broadcasting is
    undone (elementwise primitives broadcast only 0-d operands)."""
    if type(ct) is Zero or aval.shape or not ct.shape:
        return ct
    from funcgrad._src.lax.reductions import reduce_sum_p

    return reduce_sum_p.bind1(ct, axes=tuple(range(ct.ndim)))


def defjvp(prim: Primitive, *tangent_fns: Callable | None) -> None:
    """A JVP rule from one function per operand: ``fn(t, *primals, out=primal_out)`` gives
    that operand's contribution to the output tangent (``None``: not differentiable)."""

    def rule(primals, tangents, **params):
        (out,) = prim.bind(*primals, **params)
        total = None
        for fn, t in zip(tangent_fns, tangents):
            if fn is not None and type(t) is not Zero:
                contribution = fn(t, *primals, out=out, **params)
                if type(contribution) is Zero:
                    continue
                total = contribution if total is None else add_tangents(total, contribution)
        if total is None:
            total = Zero(get_aval(out).update(weak_type=False))
        elif total.shape != out.shape:
            # a 0-d operand's contribution (rem's ``t``) against a larger output: the
            # tangent has the output's shape, always
            total = _broadcast_to(total, out.shape)
        return [out], [total]

    prim.jvp = rule


def _broadcast_to(t: Any, shape: tuple[int, ...]) -> Any:
    from funcgrad._src.lax.structural import broadcast_in_dim_p

    return broadcast_in_dim_p.bind1(t, shape=shape, broadcast_dimensions=())


def defjvp_zero(prim: Primitive) -> None:
    """Outputs that are piecewise constant (comparisons, floor, argmax...): zero tangents."""

    def rule(primals, tangents, **params):
        outs = prim.bind(*primals, **params)
        return outs, [Zero(get_aval(o).update(weak_type=False)) for o in outs]

    prim.jvp = rule


def deflinear(prim: Primitive, transpose_rule: Callable) -> None:
    """A primitive linear in all its array operands: its JVP applies it to the tangents."""

    def rule(primals, tangents, **params):
        outs = prim.bind(*primals, **params)
        if all(type(t) is Zero for t in tangents):
            return outs, [Zero(get_aval(o).update(weak_type=False)) for o in outs]
        tangents = [instantiate(t) for t in tangents]
        return outs, prim.bind(*tangents, **params)

    prim.jvp = rule
    prim.transpose = transpose_rule
    prim.linear = True
