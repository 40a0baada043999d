"""``jit_p``: the primitive that calls a compiled program, and its rules.

A jitted function called under another transformation (grad, vmap, an enclosing
jit) binds ``jit_p`` with its program (a :class:`ClosedJaxpr`) as a parameter, and
the primitive's rules transform the program as a whole: its JVP is a ``jit_p`` of
the JVP program; partial evaluation (reverse mode) splits that into a known
(primal) program, run as one compiled call, and an unknown (linear) one, whose
transpose is again one compiled call; batching is a ``jit_p`` of the vmapped
program. Eagerly, the impl runs the program's generated code
(:mod:`~funcgrad._src.interpreters.codegen`). The user-facing ``jit`` is in
:mod:`funcgrad._src.jit`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from funcgrad._src import ir
from funcgrad._src.core import (
    EVAL_TRACE,
    Primitive,
    ShapedArray,
    default_backend,
    get_aval,
    set_current_trace,
)
from funcgrad._src.core import _context as trace_context
from funcgrad._src.interpreters import ad, codegen, optimize
from funcgrad._src.ir import ClosedJaxpr, Jaxpr, StagingTrace, Var

# --- the primitive ---------------------------------------------------------------------

jit_p = Primitive("jit")


def executable(
    closed: ClosedJaxpr, backend: Any, name: str, donated: tuple = (),
    private_outputs: bool = False, cpu_fusion: bool = False,
) -> codegen.Executable:  # fmt: skip
    """The generated code of ``closed`` for ``backend`` (made once, then cached on it).

    ``private_outputs`` (the programs of user-facing ``jit`` calls): no output shares
    memory with a non-donated input. Others leave it off: loop bodies feed their
    outputs back in, and a pass-through carry would be copied on every iteration.
    ``cpu_fusion``: the fused tier (numba loops; see codegen.generate).
    """
    key = ("exe", backend.name, donated, private_outputs, cpu_fusion)
    exe = closed.derived.get(key)
    if exe is None:
        with default_backend(backend):  # folded constants live where the code runs
            optimized = optimize.optimize_for_execution(closed)
        exe = closed.derived[key] = codegen.generate(
            optimized, backend, name, donated, private_outputs, cpu_fusion=cpu_fusion
        )
    return exe


def _jit_impl(backend, *args, jaxpr, name, donated=()):
    # Not private: bound by other transformations' rules, whose programs return inputs
    # as residuals (copying them would cost a pass over memory on every call).
    exe = executable(jaxpr, backend, name, donated)
    buffers = [
        a if isinstance(a, backend.buffer_type) else backend.xp.asarray(a, dtype=aval.dtype)
        for a, aval in zip(args, jaxpr.in_avals)
    ]
    return list(exe.fn(*buffers))


def _jit_abstract_eval(*avals, jaxpr, name, donated=()):
    expected = jaxpr.in_avals
    if len(avals) != len(expected) or not all(
        a.shape == b.shape and a.dtype == b.dtype for a, b in zip(avals, expected)
    ):
        raise TypeError(
            f"jit of {name}: operands {[a.str_short() for a in avals]} do not match the "
            f"program's inputs {[a.str_short() for a in expected]}"
        )
    return list(jaxpr.out_avals)


jit_p.impl = _jit_impl
jit_p.abstract_eval = _jit_abstract_eval
optimize.INLINABLE[jit_p] = "jaxpr"


def trace_program(fun: Callable, in_avals: Sequence[ShapedArray], name: str) -> ClosedJaxpr:
    """The simplified program of ``fun``, a function built from other programs (the
    rules of call-like primitives derive JVP, transpose and batched programs this way;
    nothing such a function closes over is a tracer)."""
    closed, lifted = ir.trace_closed(fun, list(in_avals), EVAL_TRACE, name)
    assert not lifted
    return optimize.simplify(closed)


# JVP: one jit_p of the JVP program, taking the primals and the nonzero tangents.
def _jvp_program(closed: ClosedJaxpr, nonzero: tuple) -> tuple[ClosedJaxpr, list[bool]]:
    n = len(closed.in_avals)
    tangent_avals = [a.update(weak_type=False) for a, nz in zip(closed.in_avals, nonzero) if nz]
    record: dict = {}

    def jvp_fun(*xs):
        primals, rest = xs[:n], iter(xs[n:])
        tangents = [next(rest) if nz else ad.Zero(a.update(weak_type=False))
                    for a, nz in zip(closed.in_avals, nonzero)]  # fmt: skip
        trace, outs = ad.jvp_flat(lambda *p: ir.eval_closed(closed, p), primals, tangents,
                                  trace_context.trace)  # fmt: skip
        primal_outs, tangent_outs = ad.unpack_outputs(trace, outs)
        record["nonzero"] = [type(t) is not ad.Zero for t in tangent_outs]
        return [*primal_outs, *(t for t in tangent_outs if type(t) is not ad.Zero)]

    return trace_program(jvp_fun, [*closed.in_avals, *tangent_avals], "jit (jvp)"), record[
        "nonzero"
    ]


def call_jvp(rebind: Callable, jaxpr: ClosedJaxpr, primals: Sequence, tangents: Sequence):
    """The JVP rule of a call-like primitive (jit, remat): the primitive bound again, by
    ``rebind(operands, program, tag)``, on the JVP program with the primals and the
    nonzero tangents."""
    nonzero = tuple(type(t) is not ad.Zero for t in tangents)
    jvp_closed, out_nonzero = jaxpr.derive(("jvp", nonzero), lambda: _jvp_program(jaxpr, nonzero))
    outs = rebind([*primals, *(t for t in tangents if type(t) is not ad.Zero)], jvp_closed, "jvp")
    n = len(jaxpr.out_avals)
    rest = iter(outs[n:])
    tangent_outs = [next(rest) if nz else ad.Zero(a.update(weak_type=False))
                    for a, nz in zip(jaxpr.out_avals, out_nonzero)]  # fmt: skip
    return outs[:n], tangent_outs


def _jit_rebind(name: str) -> Callable:
    return lambda operands, closed, tag: jit_p.bind(*operands, jaxpr=closed, name=f"{tag}_{name}")


def _jit_jvp(primals, tangents, *, jaxpr, name, donated=()):
    return call_jvp(_jit_rebind(name), jaxpr, primals, tangents)


jit_p.jvp = _jit_jvp


# Partial evaluation (reverse mode): run the known part now, as one compiled call;
# record one jit_p of the unknown part, taking the residuals and the unknown inputs.
def _jit_partial_eval(trace: StagingTrace, args: tuple, params: dict) -> list:
    closed = params["jaxpr"]
    unknowns = tuple(trace.is_own(x) for x in args)
    split = closed.derive(("partial", unknowns),
                     lambda: _simplified_split(ir.partial_eval_jaxpr(closed, unknowns)))  # fmt: skip
    known_args = [x for x, u in zip(args, unknowns) if not u]
    name = params["name"]
    with set_current_trace(trace.parent):
        known_outs = jit_p.bind(*known_args, jaxpr=split.known, name=f"{name}_known")
    n_known = len(known_outs) - split.num_res
    residuals = known_outs[n_known:]
    inputs = [trace.to_atom(r) for r in residuals]
    inputs += [x.var for x, u in zip(args, unknowns) if u]
    unknown_outs = iter(trace.record(jit_p, inputs, {"jaxpr": split.unknown, "name": f"{name}_unknown"},
                                     split.unknown.out_avals))  # fmt: skip
    known_iter = iter(known_outs[:n_known])
    return [next(unknown_outs) if u else next(known_iter) for u in split.out_unknowns]


def _simplified_split(split: ir.PartialSplit) -> ir.PartialSplit:
    return ir.PartialSplit(
        optimize.dce(split.known), split.unknown, split.out_unknowns, split.num_res
    )


ir.partial_eval_rules[jit_p] = _jit_partial_eval


def _jit_partial_eval_eqn(eqn: ir.Equation, in_unknowns: list) -> tuple:
    """A jit equation inside a program being split: one known call (returning the known
    outputs and the residuals) and one unknown call (taking them)."""
    closed = eqn.params["jaxpr"]
    unknowns = tuple(in_unknowns)
    split = closed.derive(("partial", unknowns),
                     lambda: _simplified_split(ir.partial_eval_jaxpr(closed, unknowns)))  # fmt: skip
    name = eqn.params["name"]
    known_outs = [v for v, u in zip(eqn.outputs, split.out_unknowns) if not u]
    residuals = [Var(a) for a in split.known.out_avals[len(known_outs) :]]
    known_eqn = ir.Equation(jit_p, [a for a, u in zip(eqn.inputs, unknowns) if not u],
                            {"jaxpr": split.known, "name": f"{name}_known"}, known_outs + residuals)  # fmt: skip
    unknown_eqn = ir.Equation(
        jit_p, residuals + [a for a, u in zip(eqn.inputs, unknowns) if u],
        {"jaxpr": split.unknown, "name": f"{name}_unknown"},
        [v for v, u in zip(eqn.outputs, split.out_unknowns) if u],
    )  # fmt: skip
    return known_eqn, unknown_eqn, split.out_unknowns


ir.partial_eval_jaxpr_rules[jit_p] = _jit_partial_eval_eqn


# Transposition: one jit_p of the transposed program, taking the known operands and the
# nonzero output cotangents.
def _transpose_program(closed: ClosedJaxpr, undefined: tuple, ct_nonzero: tuple):
    split = ir.partial_eval_jaxpr(closed, undefined)
    known_avals = [a for a, u in zip(closed.in_avals, undefined) if not u]
    ct_avals = [a.update(weak_type=False) for a, nz in zip(closed.out_avals, ct_nonzero) if nz]
    nk = len(known_avals)
    record: dict = {}
    unknown = split.unknown.jaxpr
    linear = Jaxpr(unknown.invars[:split.num_res], unknown.invars[split.num_res:], unknown.eqns,
                   unknown.outvars)  # fmt: skip

    def transpose_fun(*xs):
        known, cts = xs[:nk], iter(xs[nk:])
        known_outs = ir.eval_closed(split.known, known)
        residuals = known_outs[len(known_outs) - split.num_res :]
        cts_full = [next(cts) if nz else ad.Zero(a.update(weak_type=False))
                    for a, nz in zip(closed.out_avals, ct_nonzero)]  # fmt: skip
        cts_unknown = [ct for ct, u in zip(cts_full, split.out_unknowns) if u]
        cts_in = ad.backward_pass(linear, residuals, cts_unknown)
        record["nonzero"] = [type(c) is not ad.Zero and c is not None for c in cts_in]
        return [c for c, nz in zip(cts_in, record["nonzero"]) if nz]

    return trace_program(transpose_fun, [*known_avals, *ct_avals], "jit (transpose)"), record[
        "nonzero"
    ]


def call_transpose(rebind: Callable, jaxpr: ClosedJaxpr, cts: Sequence, args: Sequence) -> list:
    """The transpose rule of a call-like primitive: the primitive bound again on the
    transposed program with the known operands and the nonzero cotangents."""
    undefined = tuple(ad.is_undefined(a) for a in args)
    ct_nonzero = tuple(type(ct) is not ad.Zero and ct is not None for ct in cts)
    if not any(ct_nonzero):
        return [ad.Zero(a.aval) if u else None for a, u in zip(args, undefined)]
    t_closed, in_nonzero = jaxpr.derive(("transpose", undefined, ct_nonzero),
                                        lambda: _transpose_program(jaxpr, undefined, ct_nonzero))  # fmt: skip
    known = [a for a, u in zip(args, undefined) if not u]
    outs = rebind([*known, *(ct for ct, nz in zip(cts, ct_nonzero) if nz)], t_closed, "transpose")
    return operand_cotangents(args, undefined, in_nonzero, outs)


def operand_cotangents(args: Sequence, undefined: Sequence, in_nonzero: Sequence,
                       outs: Sequence) -> list:  # fmt: skip
    """A transpose rule's result: None for each known operand; for each linear one, the
    next of ``outs`` where the transposed program computes it (``in_nonzero``), else a
    symbolic zero."""
    outs, nz_iter = iter(outs), iter(in_nonzero)
    result = []
    for a, u in zip(args, undefined):
        if not u:
            result.append(None)
        elif next(nz_iter):
            result.append(next(outs))
        else:
            result.append(ad.Zero(a.aval))
    return result


def _jit_transpose(cts, *args, jaxpr, name, donated=()):
    return call_transpose(_jit_rebind(name), jaxpr, cts, args)


jit_p.transpose = _jit_transpose


# Batching: one jit_p of the vmapped program; batched outputs get their batch axis first,
# outputs that do not depend on the batch stay unbatched.
def _batch_program(closed: ClosedJaxpr, in_avals: list, dims: tuple, size: int):
    from funcgrad._src.interpreters import batching

    record: dict = {}

    def batched_fun(*xs):
        outs, out_dims = batching.batch_flat(
            lambda *ys: ir.eval_closed(closed, ys), list(xs), list(dims), size
        )
        record["batched"] = [d is not None for d in out_dims]
        return [o if d is None else batching.moveaxis(o, d, 0) for o, d in zip(outs, out_dims)]

    return trace_program(batched_fun, in_avals, "jit (vmap)"), record["batched"]


def call_batch(rebind: Callable, jaxpr: ClosedJaxpr, args: Sequence, dims: Sequence) -> tuple:
    """The batching rule of a call-like primitive: the primitive bound again on the
    vmapped program (batched outputs get their batch axis first)."""
    from funcgrad._src.interpreters import batching

    size = batching.axis_size_of(args, dims)
    in_avals = [get_aval(a).update(weak_type=False) for a in args]
    key = ("batch", tuple(dims), tuple((a.shape, a.dtype) for a in in_avals))
    b_closed, batched = jaxpr.derive(
        key, lambda: _batch_program(jaxpr, in_avals, tuple(dims), size)
    )
    outs = rebind(list(args), b_closed, "vmap")
    return outs, [0 if b else None for b in batched]


def _jit_batch(args, dims, *, jaxpr, name, donated=()):
    return call_batch(_jit_rebind(name), jaxpr, args, dims)


jit_p.batch = _jit_batch
