"""Program passes for jit: inlining, forwarding of trivial operations, constant folding,
common-subexpression elimination and dead-code elimination.

Every pass takes a :class:`ClosedJaxpr` and returns a new one with the same inputs
and outputs (it never mutates its argument, which may be cached). Equations of
effectful primitives (``debug_print``) are never removed, merged or folded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad._src.core import EVAL_TRACE, Array, Primitive, set_current_trace
from funcgrad._src.ir import (
    ClosedJaxpr,
    Equation,
    Jaxpr,
    Literal,
    Var,
    custom_jvp_call_p,
    custom_vjp_call_p,
    effectful_primitives,
    has_effects,
    sub_jaxprs,
)
from funcgrad._src.lax import elementwise, linalg, reductions, structural

#: Call-like primitives whose sub-program is substituted into the caller for execution,
#: with the parameter holding it.
INLINABLE: dict[Primitive, str] = {custom_jvp_call_p: "call_jaxpr", custom_vjp_call_p: "call_jaxpr"}


def _is_effectful(eqn: Equation) -> bool:
    return eqn.primitive in effectful_primitives or any(
        has_effects(s.jaxpr) for s in sub_jaxprs(eqn)
    )


# --- inlining ---------------------------------------------------------------------------


def inline_calls(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Substitute the sub-programs of nested ``jit`` and custom-derivative calls into the
    program (recursively), so that it runs as one straight line. Fresh variables are made
    for every inlined copy."""
    if not any(e.primitive in INLINABLE for e in closed.jaxpr.eqns):
        return closed
    jaxpr = closed.jaxpr
    constvars, consts = list(jaxpr.constvars), list(closed.consts)
    const_ids = {id(c): v for v, c in zip(constvars, consts)}
    eqns: list[Equation] = []
    env: dict[Var, Any] = {}

    def read(a):
        return env.get(a, a) if type(a) is Var else a

    for eqn in jaxpr.eqns:
        param = INLINABLE.get(eqn.primitive)
        if param is None:
            eqns.append(
                Equation(eqn.primitive, [read(a) for a in eqn.inputs], eqn.params, eqn.outputs)
            )
            continue
        sub = inline_calls(eqn.params[param])
        sub_env: dict[Var, Any] = dict(zip(sub.jaxpr.invars, [read(a) for a in eqn.inputs]))
        for v, c in zip(sub.jaxpr.constvars, sub.consts):
            outer = const_ids.get(id(c))
            if outer is None:
                outer = const_ids[id(c)] = Var(v.aval)
                constvars.append(outer)
                consts.append(c)
            sub_env[v] = outer
        for sub_eqn in sub.jaxpr.eqns:
            outs = [Var(v.aval) for v in sub_eqn.outputs]
            ins = [sub_env.get(a, a) if type(a) is Var else a for a in sub_eqn.inputs]
            eqns.append(Equation(sub_eqn.primitive, ins, sub_eqn.params, outs))
            sub_env.update(zip(sub_eqn.outputs, outs))
        for v, a in zip(eqn.outputs, sub.jaxpr.outvars):
            env[v] = sub_env.get(a, a) if type(a) is Var else a
    outvars = [read(a) for a in jaxpr.outvars]
    return ClosedJaxpr(Jaxpr(constvars, jaxpr.invars, eqns, outvars), consts)


# --- forwarding of trivial operations ----------------------------------------------------


def _is_literal_one(a: Any) -> bool:
    return type(a) is Literal and np.ndim(a.val) == 0 and a.val == 1 and type(a.val) is not bool


def _trivial_operand(eqn: Equation, execution: bool) -> Any:
    """The operand an equation merely passes through, or None."""
    prim, params = eqn.primitive, eqn.params
    if len(eqn.outputs) != 1:
        return None
    out = eqn.outputs[0].aval
    ins = eqn.inputs
    x = ins[0] if ins else None
    if type(x) is not Var:
        x = None
    if prim is structural.convert_element_type_p or prim is structural.reshape_p:
        candidate = x
    elif prim is structural.transpose_p:
        candidate = x if params["permutation"] == tuple(range(len(params["permutation"]))) else None
    elif prim is structural.broadcast_in_dim_p:
        dims = params["broadcast_dimensions"]
        candidate = x if dims == tuple(range(len(dims))) else None
    elif prim is reductions.reduce_sum_p:
        candidate = x if params["axes"] == () else None
    elif prim is elementwise.mul_p and len(ins) == 2:
        a, b = ins
        candidate = (
            a
            if type(a) is Var and _is_literal_one(b)
            else b
            if type(b) is Var and _is_literal_one(a)
            else None
        )
    elif prim is elementwise.sub_p and len(ins) == 2:
        # x - (+0) is x exactly, -0.0 and NaN included (x + 0 is not: -0.0 + 0.0 = +0.0)
        a, b = ins
        zero = type(b) is Literal and np.ndim(b.val) == 0 and b.val == 0 and not np.signbit(b.val)
        candidate = a if type(a) is Var and zero else None
    elif execution and prim.name in ("stop_gradient", "checkpoint_name"):
        candidate = x
    else:
        return None
    # The operand must have exactly the output's type, weak type included.
    if candidate is not None and candidate.aval == out:
        return candidate
    return None


def forward_trivial(closed: ClosedJaxpr, execution: bool = False) -> ClosedJaxpr:
    """Replace the outputs of operations that return their operand unchanged (casts to
    the same dtype, reshapes to the same shape, identity transposes and broadcasts,
    multiplication by one) by the operand itself. With ``execution``, also
    ``stop_gradient`` (which matters only to differentiation, not to running)."""
    jaxpr = closed.jaxpr
    env: dict[Var, Any] = {}
    eqns = []

    def read(a):
        return env.get(a, a) if type(a) is Var else a

    reshaped: dict[Var, Var] = {}  # output of a reshape -> its operand
    for eqn in jaxpr.eqns:
        eqn = Equation(eqn.primitive, [read(a) for a in eqn.inputs], eqn.params, eqn.outputs)
        if eqn.primitive is structural.reshape_p and type(eqn.inputs[0]) is Var:
            # a reshape of a reshape is one reshape of the original operand
            source = reshaped.get(eqn.inputs[0])
            if source is not None:
                eqn = Equation(eqn.primitive, [source], eqn.params, eqn.outputs)
            reshaped[eqn.outputs[0]] = eqn.inputs[0]
        operand = _trivial_operand(eqn, execution)
        if operand is not None:
            env[eqn.outputs[0]] = operand
        else:
            eqns.append(eqn)
    if not env and not reshaped:
        return closed
    outvars = [read(a) for a in jaxpr.outvars]
    return dce(ClosedJaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, outvars), closed.consts))


# --- scalar broadcasts into elementwise operations ---------------------------------------

_ELEMENTWISE = {*elementwise.unary_primitives.values(), *elementwise.binary_primitives.values(),
                elementwise.select_p}  # fmt: skip


def forward_scalar_broadcasts(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Let elementwise operations take a broadcast 0-d value as it is (they broadcast 0-d
    operands themselves), when another operand already has the result's shape: no
    full-size array is made for ``x * ones_like(x)`` or ``ct + zeros``."""
    jaxpr = closed.jaxpr
    scalar_of: dict[Var, Any] = {}
    for eqn in jaxpr.eqns:
        if (eqn.primitive is structural.broadcast_in_dim_p and eqn.params["broadcast_dimensions"] == ()
                and eqn.inputs[0].aval.shape == ()):  # fmt: skip
            scalar_of[eqn.outputs[0]] = eqn.inputs[0]
    if not scalar_of:
        return closed
    eqns = []
    changed = False
    for eqn in jaxpr.eqns:
        if eqn.primitive in _ELEMENTWISE and any(
            type(a) is Var and a in scalar_of for a in eqn.inputs
        ):
            shape = eqn.outputs[0].aval.shape
            ins = list(eqn.inputs)
            keep = [i for i, a in enumerate(ins) if not (type(a) is Var and a in scalar_of)]
            if any(ins[i].aval.shape == shape for i in keep) or not shape:
                new_ins = [scalar_of[a] if type(a) is Var and a in scalar_of else a for a in ins]
                # the operand types (dtype, weak type) must still give the same result type
                try:
                    out = eqn.primitive.abstract_eval(*[a.aval for a in new_ins], **eqn.params)
                except (TypeError, ValueError):
                    out = None
                if out is not None and [(o.shape, o.dtype) for o in out] == [
                    (v.aval.shape, v.aval.dtype) for v in eqn.outputs
                ]:
                    eqn = Equation(eqn.primitive, new_ins, eqn.params, eqn.outputs)
                    changed = True
        eqns.append(eqn)
    if not changed:
        return closed
    return dce(
        ClosedJaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars), closed.consts)
    )


# --- scaling the smaller side of a product ---------------------------------------------


def _size(aval) -> int:
    return int(np.prod(aval.shape, dtype=np.int64))


def scale_matmul_operands(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Rewrite ``c * dot_general(a, b)`` (``c`` a 0-d value) as ``dot_general(c * a, b)``
    (or ``b``), scaling whichever operand is smaller than the product, when the product
    has no other use: a learning rate times a weight gradient then costs a pass over the
    activations, not over the weights. (The rounding differs from the eager order by at
    most an ulp of the scale.)"""
    jaxpr = closed.jaxpr
    uses: dict[Var, int] = {}
    for eqn in jaxpr.eqns:
        for a in eqn.inputs:
            if type(a) is Var:
                uses[a] = uses.get(a, 0) + 1
    for a in jaxpr.outvars:
        if type(a) is Var:
            uses[a] = uses.get(a, 0) + 1
    producer = {eqn.outputs[0]: eqn for eqn in jaxpr.eqns if eqn.primitive is linalg.dot_general_p}
    rewrites: dict[int, tuple[Equation, Equation]] = {}  # id(dot eqn) -> (scale eqn, new dot)
    dropped: set[int] = set()  # id(mul eqn)
    for eqn in jaxpr.eqns:
        if eqn.primitive is not elementwise.mul_p:
            continue
        x, y = eqn.inputs
        if type(y) is Var and y in producer and x.aval.shape == ():
            scale, product = x, y
        elif type(x) is Var and x in producer and y.aval.shape == ():
            scale, product = y, x
        else:
            continue
        dot = producer[product]
        if uses.get(product) != 1 or id(dot) in rewrites:
            continue
        lhs, rhs = dot.inputs
        side = 0 if _size(lhs.aval) <= _size(rhs.aval) else 1
        operand = dot.inputs[side]
        if _size(operand.aval) >= _size(product.aval):
            continue
        scaled_aval = elementwise.mul_p.abstract_eval(operand.aval, scale.aval)[0]
        if scaled_aval.dtype != operand.aval.dtype:
            continue  # the scale would change the operand's type: leave the program alone
        scaled = Var(scaled_aval)
        ins = list(dot.inputs)
        ins[side] = scaled
        out = linalg.dot_general_p.abstract_eval(*[a.aval for a in ins], **dot.params)[0]
        if (out.shape, out.dtype) != (eqn.outputs[0].aval.shape, eqn.outputs[0].aval.dtype):
            continue
        rewrites[id(dot)] = (Equation(elementwise.mul_p, [operand, scale], {}, [scaled]),
                             Equation(linalg.dot_general_p, ins, dot.params, eqn.outputs))  # fmt: skip
        dropped.add(id(eqn))
    if not rewrites:
        return closed
    # the scale may be defined after the product: emit the rewritten product at the
    # multiplication's place, where every input of both is defined
    pending = {id(e): rewrites[id(producer[e.inputs[0] if e.inputs[0] in producer else e.inputs[1]])]
               for e in jaxpr.eqns if id(e) in dropped}  # fmt: skip
    eqns = []
    for eqn in jaxpr.eqns:
        if id(eqn) in rewrites:
            continue
        if id(eqn) in pending:
            eqns.extend(pending[id(eqn)])
            continue
        eqns.append(eqn)
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars), closed.consts)


# --- constant folding --------------------------------------------------------------------

#: Largest result (in elements) that constant folding stores; larger ones are computed
#: at run time (often cheap views, e.g. a broadcast zero) rather than kept in memory.
FOLD_MAX_SIZE = 1024


def fold_constants(closed: ClosedJaxpr, max_size: int = FOLD_MAX_SIZE) -> ClosedJaxpr:
    """Evaluate, once, the equations whose inputs are all literals or constants and whose
    results are small; 0-d results become literals, others new constants."""
    jaxpr = closed.jaxpr
    values: dict[Var, Any] = dict(zip(jaxpr.constvars, closed.consts))
    constvars, consts = list(jaxpr.constvars), list(closed.consts)
    env: dict[Var, Any] = {}
    eqns = []
    changed = False

    def read(a):
        return env.get(a, a) if type(a) is Var else a

    # 0-d constants become literals (typed NumPy scalars): kernels take them as they are,
    # and later passes can see their values (multiplication by one).
    for v, c in zip(jaxpr.constvars, closed.consts):
        if v.aval.shape == () and type(c) is Array:
            env[v] = _scalar_literal(c, v.aval)
            changed = True
    for eqn in jaxpr.eqns:
        ins = [read(a) for a in eqn.inputs]
        eqn = Equation(eqn.primitive, ins, eqn.params, eqn.outputs)
        foldable = (
            not _is_effectful(eqn)
            and not sub_jaxprs(eqn)
            and all(type(a) is Literal or a in values for a in ins)
            and all(v.aval.size <= max_size for v in eqn.outputs)
        )
        results = (
            _evaluate(eqn, [a.val if type(a) is Literal else values[a] for a in ins])
            if foldable
            else None
        )
        if results is None:
            eqns.append(eqn)
            continue
        changed = True
        for v, r in zip(eqn.outputs, results):
            if v.aval.shape == ():
                env[v] = _scalar_literal(r, v.aval)
            else:
                values[v] = r
                constvars.append(v)
                consts.append(r)
    if not changed:
        return closed
    outvars = [read(a) for a in jaxpr.outvars]
    return dce(ClosedJaxpr(Jaxpr(constvars, jaxpr.invars, eqns, outvars), consts))


def _scalar_literal(x: Array, aval) -> Literal:
    host = np.asarray(x._backend.to_numpy(x._buffer))
    return Literal(host[()], aval)


def _evaluate(eqn: Equation, args: list) -> list | None:
    try:
        with set_current_trace(EVAL_TRACE), np.errstate(all="ignore"):
            outs = eqn.primitive.bind(*args, **eqn.params)
    except Exception:  # noqa: BLE001  (left to run time, where it is reported in context)
        return None
    if not all(type(o) is Array for o in outs):
        return None
    return outs


# --- common-subexpression elimination -------------------------------------------------


def _value_key(v: Any) -> Any:
    """A hashable key that tells apart values Python considers equal (1, 1.0, True, -0.0)."""
    t = type(v)
    if t is tuple:
        return (tuple, tuple(_value_key(e) for e in v))
    if t in (bool, int, float, complex):
        return (t, repr(v))
    if isinstance(v, np.generic):
        return (v.dtype, v.tobytes())
    if isinstance(v, (ClosedJaxpr, Jaxpr)) or callable(v):
        return (t, id(v))
    return (t, v)


def _eqn_key(eqn: Equation) -> Any:
    try:
        ins = tuple(a if type(a) is Var else (Literal, _value_key(a.val)) for a in eqn.inputs)
        params = tuple((k, _value_key(v)) for k, v in eqn.params.items())
        key = (eqn.primitive, ins, params)
        hash(key)
    except TypeError:  # unhashable parameters: never merged
        return None
    return key


def cse(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Compute each distinct (primitive, operands, parameters) once."""
    jaxpr = closed.jaxpr
    env: dict[Var, Any] = {}
    seen: dict = {}
    eqns = []

    def read(a):
        return env.get(a, a) if type(a) is Var else a

    for eqn in jaxpr.eqns:
        eqn = Equation(eqn.primitive, [read(a) for a in eqn.inputs], eqn.params, eqn.outputs)
        key = None if _is_effectful(eqn) else _eqn_key(eqn)
        if key is not None:
            previous = seen.get(key)
            if previous is not None:
                env.update(zip(eqn.outputs, previous.outputs))
                continue
            seen[key] = eqn
        eqns.append(eqn)
    if not env:
        return closed
    outvars = [read(a) for a in jaxpr.outvars]
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, outvars), closed.consts)


# --- dead-code elimination -------------------------------------------------------------


def dce(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Drop equations whose outputs are unused (unless effectful) and unused constants."""
    jaxpr = closed.jaxpr
    live = {a for a in jaxpr.outvars if type(a) is Var}
    kept = []
    for eqn in reversed(jaxpr.eqns):
        if _is_effectful(eqn) or any(v in live for v in eqn.outputs):
            kept.append(eqn)
            live.update(a for a in eqn.inputs if type(a) is Var)
    kept.reverse()
    pairs = [(v, c) for v, c in zip(jaxpr.constvars, closed.consts) if v in live]
    if len(kept) == len(jaxpr.eqns) and len(pairs) == len(jaxpr.constvars):
        return closed
    constvars = [v for v, _ in pairs]
    consts = [c for _, c in pairs]
    return ClosedJaxpr(Jaxpr(constvars, jaxpr.invars, kept, jaxpr.outvars), consts)


# --- pipelines -----------------------------------------------------------------------


def simplify(closed: ClosedJaxpr) -> ClosedJaxpr:
    """The passes that keep the program's meaning for every transformation (what jit
    stores and differentiates): forwarding, CSE and DCE."""
    return dce(cse(forward_trivial(closed)))


def optimize_for_execution(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Everything, in order, for a program that is about to be turned into code: inline
    nested calls, forward trivial operations (stop_gradient included), fold constants,
    merge common subexpressions, forward again and drop dead code."""
    passes: list[Callable[[ClosedJaxpr], ClosedJaxpr]] = [
        inline_calls,
        lambda c: forward_trivial(c, execution=True),
        forward_scalar_broadcasts,
        lambda c: forward_trivial(c, execution=True),
        fold_constants,
        scale_matmul_operands,
        cse,
        lambda c: forward_trivial(c, execution=True),
        dce,
    ]
    for p in passes:
        closed = p(closed)
    return closed
