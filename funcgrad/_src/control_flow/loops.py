"""Loops: ``scan``, ``map``, ``fori_loop`` and ``while_loop``, and their primitives.

``scan_p`` runs a body program ``length`` times, threading a carry and stacking
per-iteration outputs; ``while_p`` runs a body program while a predicate program
holds. Each carries its sub-programs as :class:`~funcgrad._src.ir.ClosedJaxpr`
parameters, and its rules transform them as a whole, the way ``jit_p``'s do:

* jvp: a loop of the body's JVP program. Which carries get tangents is found by
  iterating to a fixed point (a carry whose tangent starts at zero may pick one up
  from a differentiated constant on the first iteration).
* reverse mode (scan only): partial evaluation splits the body into a known scan,
  which computes the primal carries and stacks the residuals of every iteration, and
  a linear scan taking them; the linear scan's transpose is a scan in the opposite
  direction of the transposed body. A ``while_loop`` has no bound on its length, so
  it cannot keep residuals: reverse mode through it raises an error.
* vmap: a loop of the batched body; a batched ``while_loop`` predicate runs until
  every example is done, and examples that finished keep their carry (``select``).

Operands are ordered ``(*consts, *carry, *xs)`` for ``scan_p`` (consts are values the
body closes over) and ``(*cond_consts, *body_consts, *carry)`` for ``while_p``.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.lax import scan
    >>> carry, ys = scan(lambda c, x: (c + x, c * x), 0.0, fnp.arange(4.0))
    >>> float(carry), ys.tolist()
    (6.0, [0.0, 0.0, 2.0, 9.0])
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad._src import ir
from funcgrad._src.core import (
    Array,
    Primitive,
    ShapedArray,
    Tracer,
    current_trace,
    get_aval,
    set_current_trace,
)
from funcgrad._src.interpreters import ad
from funcgrad._src.interpreters.jit import executable, trace_program
from funcgrad._src.ir import ClosedJaxpr, Var
from funcgrad._src.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_unflatten,
)

__all__ = ["fori_loop", "map", "scan", "while_loop"]


def _strong(aval: ShapedArray) -> ShapedArray:
    return aval.update(weak_type=False)


def _same(a: ShapedArray, b: ShapedArray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype


def _leaf_aval(x: Any) -> ShapedArray:
    return _strong(get_aval(x))


def _as_operand(x: Any, fname: str) -> Any:
    """A loop's array operand: arrays and tracers as they are, scalars and NumPy arrays
    converted (a carry has one fixed type, so Python scalars take their default dtype)."""
    if isinstance(x, (Array, Tracer)):
        return x
    from funcgrad._src.numpy.util import asarray

    try:
        return asarray(x)
    except TypeError:
        raise TypeError(
            f"{fname}: {type(x).__name__} is not a valid loop value (arrays, scalars and "
            f"pytrees of them are)"
        ) from None


def _zeros(aval: ShapedArray) -> Any:
    return ad.zeros_like_aval(_strong(aval))


def _cast_carry_out(fname: str, what: str, outs: list, paths: list, avals: list) -> list:
    """The body's carry outputs, checked against the carry types; a weak Python scalar
    takes the carry's dtype (as it would in the carry's own arithmetic)."""
    result = []
    for x, path, aval in zip(outs, paths, avals):
        got = get_aval(x)
        if not _same(got, aval):
            if got.weak_type and got.shape == aval.shape and _weak_fits(got.dtype, aval.dtype):
                from funcgrad._src.lax.structural import convert_element_type_p

                x = convert_element_type_p.bind1(x, new_dtype=aval.dtype)
            else:
                raise TypeError(
                    f"{fname}: the {what} output of the body function at carry{keystr(path)} "
                    f"has type {got.str_short()}, but the carry's type is {aval.str_short()}; "
                    f"the carry must keep its shape and dtype from one iteration to the next "
                    f"(cast the initial value or the body's result)"
                )
        result.append(x)
    return result


_KIND_RANK = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}


def _weak_fits(weak: np.dtype, dtype: np.dtype) -> bool:
    """Whether a weak Python scalar of ``weak``'s kind takes ``dtype`` (NEP 50: an int
    scalar fits a float carry, a float scalar does not fit an int one)."""
    return _KIND_RANK.get(weak.kind, 9) <= _KIND_RANK.get(dtype.kind, -1)


def _check_tree(fname: str, got_tree, want_tree, what: str) -> None:
    if got_tree != want_tree:
        raise TypeError(
            f"{fname}: the body function's {what} has structure {got_tree}, but the initial "
            f"carry has structure {want_tree}; they must be the same"
        )


# ===================================================================================
# scan_p
# ===================================================================================

scan_p = Primitive("scan")


def _split3(seq: Sequence, a: int, b: int) -> tuple[list, list, list]:
    seq = list(seq)
    return seq[:a], seq[a : a + b], seq[a + b :]


def _scan_impl(backend, *args, body, length, reverse, num_consts, num_carry):
    xp = backend.xp
    args = [
        a if isinstance(a, backend.buffer_type) else xp.asarray(a, dtype=aval.dtype)
        for a, aval in zip(args, body.in_avals)  # only the dtypes are used
    ]
    consts, carry, xs = _split3(args, num_consts, num_carry)
    run = executable(body, backend, "scan_body").fn
    y_avals = body.out_avals[num_carry:]
    ys: list[list] = [[] for _ in y_avals]
    for k in range(length):
        i = length - 1 - k if reverse else k
        outs = run(*consts, *carry, *[x[i] for x in xs])
        carry = list(outs[:num_carry])
        for acc, y in zip(ys, outs[num_carry:]):
            acc.append(y)
    stacked = []
    for acc, aval in zip(ys, y_avals):
        if reverse:
            acc.reverse()
        if acc:
            stacked.append(xp.stack([xp.asarray(y, dtype=aval.dtype) for y in acc]))
        else:
            stacked.append(xp.zeros((0, *aval.shape), dtype=aval.dtype))
    return [*carry, *stacked]


def _scan_abstract_eval(*avals, body, length, reverse, num_consts, num_carry):
    n_in = len(body.in_avals)
    if len(avals) != n_in:
        raise TypeError(f"scan: {len(avals)} operands but the body takes {n_in} inputs")
    consts, carry, xs = _split3(avals, num_consts, num_carry)
    b_consts, b_carry, b_xs = _split3(body.in_avals, num_consts, num_carry)
    for what, got, want in (("constant", consts, b_consts), ("carry", carry, b_carry)):
        for i, (g, w) in enumerate(zip(got, want)):
            if not _same(g, w):
                raise TypeError(
                    f"scan: {what} operand {i} has type {g.str_short()} but the body takes "
                    f"{w.str_short()}"
                )
    for i, (g, w) in enumerate(zip(xs, b_xs)):
        if g.shape != (length, *w.shape) or g.dtype != w.dtype:
            raise TypeError(
                f"scan: scanned operand {i} has type {g.str_short()} but the body takes "
                f"slices {w.str_short()} over {length} iterations"
            )
    out_carry = body.out_avals[:num_carry]
    for i, (g, w) in enumerate(zip(out_carry, b_carry)):
        if not _same(g, w):
            raise TypeError(
                f"scan: the body's carry output {i} has type {g.str_short()} but its carry "
                f"input has type {w.str_short()}"
            )
    ys = [ShapedArray((length, *a.shape), a.dtype) for a in body.out_avals[num_carry:]]
    return [*(_strong(a) for a in b_carry), *ys]


scan_p.impl = _scan_impl
scan_p.abstract_eval = _scan_abstract_eval


def _bind_scan(consts, carry, xs, *, body, length, reverse):
    return scan_p.bind(*consts, *carry, *xs, body=body, length=length, reverse=reverse,
                       num_consts=len(consts), num_carry=len(carry))  # fmt: skip


# --- jvp ---------------------------------------------------------------------------


def _jvp_body_program(body: ClosedJaxpr, num_consts: int, num_carry: int,
                      nonzero: tuple) -> tuple[ClosedJaxpr, list[bool]]:  # fmt: skip
    """The JVP of a loop ``body``: inputs ``(consts, const tangents, carry, carry tangents,
    xs, xs tangents)`` (nonzero tangents only), outputs ``(carry, carry tangents, ys,
    nonzero ys tangents)``; the carry tangents flagged in ``nonzero`` are always outputs.
    (A while body is the case without xs and ys.)"""
    avals = body.in_avals
    groups = _split3(range(len(avals)), num_consts, num_carry)
    in_avals = []
    for g in groups:
        in_avals += [avals[i] for i in g]
        in_avals += [_strong(avals[i]) for i in g if nonzero[i]]
    record: dict = {}

    def fun(*args):
        it = iter(args)
        primals, tangents = [None] * len(avals), [None] * len(avals)
        for g in groups:
            for i in g:
                primals[i] = next(it)
            for i in g:
                tangents[i] = next(it) if nonzero[i] else ad.Zero(_strong(avals[i]))
        trace, outs = ad.jvp_flat(lambda *p: ir.eval_closed(body, p), primals, tangents,
                                  current_trace())  # fmt: skip
        p_out, t_out = ad.unpack_outputs(trace, outs)
        carry_nz = [nonzero[i] for i in groups[1]]
        carry_t = [ad.instantiate(t) for t, nz in zip(t_out[:num_carry], carry_nz) if nz]
        y_nz = [type(t) is not ad.Zero for t in t_out[num_carry:]]
        record["out_nonzero"] = [type(t) is not ad.Zero for t in t_out[:num_carry]] + y_nz
        y_t = [t for t, nz in zip(t_out[num_carry:], y_nz) if nz]
        return [*p_out[:num_carry], *carry_t, *p_out[num_carry:], *y_t]

    return trace_program(fun, in_avals, "loop body (jvp)"), record["out_nonzero"]


def _scan_jvp(primals, tangents, *, body, length, reverse, num_consts, num_carry):
    nz = [type(t) is not ad.Zero for t in tangents]
    carry_nz = nz[num_consts : num_consts + num_carry]
    while True:  # fixed point: which carries have a nonzero tangent after any iteration
        key = ("jvp", num_consts, num_carry, tuple(nz))
        jvp_body, out_nz = body.derive(key, lambda: _jvp_body_program(
            body, num_consts, num_carry, tuple(nz)))  # fmt: skip
        new = [a or b for a, b in zip(carry_nz, out_nz[:num_carry])]
        if new == carry_nz:
            break
        carry_nz = new
        nz[num_consts : num_consts + num_carry] = carry_nz
    consts, carry, xs = _split3(primals, num_consts, num_carry)
    t_consts, t_carry, t_xs = _split3(tangents, num_consts, num_carry)
    nz_c, nz_carry, nz_x = _split3(nz, num_consts, num_carry)
    t_carry = [ad.instantiate(t) for t in t_carry]
    outs = _bind_scan(
        [*consts, *(t for t, z in zip(t_consts, nz_c) if z)],
        [*carry, *(t for t, z in zip(t_carry, nz_carry) if z)],
        [*xs, *(t for t, z in zip(t_xs, nz_x) if z)],
        body=jvp_body, length=length, reverse=reverse,
    )  # fmt: skip
    n_carry_t = sum(nz_carry)
    p_carry = outs[:num_carry]
    it_carry = iter(outs[num_carry : num_carry + n_carry_t])
    rest = outs[num_carry + n_carry_t :]
    n_y = len(body.out_avals) - num_carry
    p_ys, it_y = rest[:n_y], iter(rest[n_y:])
    out_avals = _scan_abstract_eval(*(get_aval(p) for p in primals), body=body, length=length,
                                    reverse=reverse, num_consts=num_consts, num_carry=num_carry)  # fmt: skip
    t_out = [next(it_carry) if z else ad.Zero(out_avals[i]) for i, z in enumerate(nz_carry)]
    t_out += [next(it_y) if z else ad.Zero(out_avals[num_carry + i])
              for i, z in enumerate(out_nz[num_carry:])]  # fmt: skip
    return [*p_carry, *p_ys], t_out


scan_p.jvp = _scan_jvp


# --- partial evaluation (reverse mode) ----------------------------------------------


class _ScanSplit:
    """A scan split by unknown operands: a known scan (its carries and ys, plus stacked
    residuals) and an unknown one (taking loop-invariant residuals as constants and the
    stacked residuals as scanned operands)."""

    __slots__ = ("carry_uk", "const_res", "known", "num_stacked", "unknown", "xs_res", "y_uk")

    def __init__(self, known, unknown, carry_uk, y_uk, const_res, xs_res, num_stacked):
        self.known = known  # body: (k consts, k carry, k xs) -> (k carry, k ys, stacked res)
        # body: (const res, u consts, u carry, stacked res, forced carries, xs res, u xs)
        # -> (u carry, u ys)
        self.unknown = unknown
        self.carry_uk = carry_uk
        self.y_uk = y_uk
        self.const_res = const_res  # indices of known consts (among known consts) used as res
        self.xs_res = xs_res  # indices of known xs (among known xs) whose slices are res
        self.num_stacked = num_stacked


def _split_scan(body: ClosedJaxpr, num_consts: int, num_carry: int,
                unknowns: tuple) -> _ScanSplit:  # fmt: skip
    """Split the body by unknown inputs. A carry is unknown if its start or its update
    is (a fixed point over iterations). Residuals the unknown body needs are passed as
    constants when they are known constants, as the scanned operand when they are slices
    of one, and otherwise stacked by the known scan; an unknown carry whose update is
    known ("forced") gets that update as a stacked residual too."""
    unknowns = list(unknowns)
    carry_uk = unknowns[num_consts : num_consts + num_carry]
    while True:
        split = ir.partial_eval_jaxpr(body, unknowns)
        new = [a or b for a, b in zip(carry_uk, split.out_unknowns[:num_carry])]
        if new == carry_uk:
            break
        carry_uk = new
        unknowns[num_consts : num_consts + num_carry] = carry_uk
    out_uk = split.out_unknowns
    y_uk = out_uk[num_carry:]
    known_j = split.known.jaxpr
    n_known_out = len(known_j.outvars) - split.num_res
    res_vars = known_j.outvars[n_known_out:]
    uk_c = unknowns[:num_consts]
    k_invars = known_j.invars
    n_kc = uk_c.count(False)
    const_pos = {v: i for i, v in enumerate(k_invars[:n_kc])}
    # residuals: loop-invariant ones (known constants) go to the unknown scan as they are
    n_kcarry = carry_uk.count(False)
    xs_pos = {v: i for i, v in enumerate(k_invars[n_kc + n_kcarry :])}
    # slices of known scanned operands are passed as those operands, not stacked again
    res_kind = [("const", const_pos[v]) if type(v) is Var and v in const_pos
                else ("xs", xs_pos[v]) if type(v) is Var and v in xs_pos
                else ("stack", None) for v in res_vars]  # fmt: skip
    # carries that are unknown although their new value is known: that value becomes a
    # stacked residual, which the unknown body outputs as the carry
    known_outs = list(range(n_known_out))  # positions among known outputs
    out_pos = [p for p, u in enumerate(out_uk) if not u]  # output index of each known output
    forced = [j for j, p in zip(known_outs, out_pos) if p < num_carry and carry_uk[p]]
    known_carry_idx = [j for j, p in zip(known_outs, out_pos) if p < num_carry and not carry_uk[p]]
    known_y_idx = [j for j, p in zip(known_outs, out_pos) if p >= num_carry]
    stacked_res = [i for i, (kind, _) in enumerate(res_kind) if kind == "stack"]
    num_stacked = len(stacked_res) + len(forced)

    def known_fun(*args):
        outs = ir.eval_closed(split.known, args)
        res = outs[n_known_out:]
        return [*(outs[j] for j in known_carry_idx), *(outs[j] for j in known_y_idx),
                *(res[i] for i in stacked_res), *(outs[j] for j in forced)]  # fmt: skip

    known = trace_program(known_fun, split.known.in_avals, "scan (known)")
    const_res = [pos for kind, pos in res_kind if kind == "const"]
    xs_res = [pos for kind, pos in res_kind if kind == "xs"]
    res_avals = [v.aval for v in res_vars]
    n_uk_c, n_uk_carry = uk_c.count(True), carry_uk.count(True)
    uk_in = split.unknown.in_avals[split.num_res :]
    forced_avals = [known_j.outvars[j].aval for j in forced]
    in_avals = [*(res_avals[i] for i, (k, _) in enumerate(res_kind) if k == "const"),
                *uk_in[: n_uk_c + n_uk_carry], *(res_avals[i] for i in stacked_res),
                *forced_avals, *(res_avals[i] for i, (k, _) in enumerate(res_kind) if k == "xs"),
                *uk_in[n_uk_c + n_uk_carry :]]  # fmt: skip
    n_const_res = len(const_res)
    forced_out = {out_pos[j]: k for k, j in enumerate(forced)}

    def unknown_fun(*args):
        c_res = list(args[:n_const_res])
        rest = args[n_const_res:]
        u_cc = list(rest[: n_uk_c + n_uk_carry])
        rest = rest[n_uk_c + n_uk_carry :]
        s_res = list(rest[: len(stacked_res)])
        f_vals = list(rest[len(stacked_res) : num_stacked])
        x_res = list(rest[num_stacked : num_stacked + len(xs_res)])
        u_x = list(rest[num_stacked + len(xs_res) :])
        its = {"const": iter(c_res), "stack": iter(s_res), "xs": iter(x_res)}
        res = [next(its[k]) for k, _ in res_kind]
        outs = iter(ir.eval_closed(split.unknown, [*res, *u_cc, *u_x]))
        result = []
        for p, u in enumerate(out_uk):
            if u:
                result.append(next(outs))
            elif p in forced_out:
                result.append(f_vals[forced_out[p]])
        return result

    unknown = trace_program(unknown_fun, in_avals, "scan (unknown)")
    return _ScanSplit(known, unknown, carry_uk, y_uk, const_res, xs_res, num_stacked)


def _get_split(body, num_consts, num_carry, unknowns) -> _ScanSplit:
    key = ("partial", num_consts, num_carry, unknowns)
    return body.derive(key, lambda: _split_scan(body, num_consts, num_carry, unknowns))


def _scan_partial_eval(trace: ir.StagingTrace, args: tuple, params: dict) -> list:
    body, nc, ncarry = params["body"], params["num_consts"], params["num_carry"]
    length, reverse = params["length"], params["reverse"]
    unknowns = tuple(trace.is_own(x) for x in args)
    s = _get_split(body, nc, ncarry, unknowns)
    consts, carry, xs = _split3(args, nc, ncarry)
    uk_c, _, uk_x = _split3(unknowns, nc, ncarry)
    k_consts = [x for x, u in zip(consts, uk_c) if not u]
    k_carry = [x for x, u in zip(carry, s.carry_uk) if not u]
    k_xs = [x for x, u in zip(xs, uk_x) if not u]
    with set_current_trace(trace.parent):
        # a carry that becomes unknown starts from a known value: it is an input as it is
        known_outs = _bind_scan(k_consts, k_carry, k_xs, body=s.known, length=length,
                                reverse=reverse)  # fmt: skip
    n_kcarry = len(k_carry)
    n_ky = s.y_uk.count(False)
    k_carry_out = known_outs[:n_kcarry]
    k_ys = known_outs[n_kcarry : n_kcarry + n_ky]
    stacked = known_outs[n_kcarry + n_ky :]
    u_consts = [trace.to_atom(k_consts[i]) for i in s.const_res]
    u_consts += [x.var for x, u in zip(consts, uk_c) if u]
    u_carry = [trace.to_atom(x) for x, u in zip(carry, s.carry_uk) if u]
    u_xs = [trace.to_atom(r) for r in stacked] + [trace.to_atom(k_xs[i]) for i in s.xs_res]
    u_xs += [x.var for x, u in zip(xs, uk_x) if u]
    params_u = {"body": s.unknown, "length": length, "reverse": reverse,
                "num_consts": len(u_consts), "num_carry": len(u_carry)}  # fmt: skip
    out_avals = _scan_abstract_eval(*(a.aval for a in [*u_consts, *u_carry, *u_xs]), **params_u)
    u_outs = iter(trace.record(scan_p, [*u_consts, *u_carry, *u_xs], params_u, out_avals))
    kc, ky = iter(k_carry_out), iter(k_ys)
    result = [next(u_outs) if u else next(kc) for u in s.carry_uk]
    result += [next(u_outs) if u else next(ky) for u in s.y_uk]
    return result


ir.partial_eval_rules[scan_p] = _scan_partial_eval


def _scan_partial_eval_eqn(eqn: ir.Equation, in_unknowns: list) -> tuple:
    p = eqn.params
    body, nc, ncarry = p["body"], p["num_consts"], p["num_carry"]
    unknowns = tuple(in_unknowns)
    s = _get_split(body, nc, ncarry, unknowns)
    consts, carry, xs = _split3(eqn.inputs, nc, ncarry)
    uk_c, _, uk_x = _split3(unknowns, nc, ncarry)
    k_consts = [x for x, u in zip(consts, uk_c) if not u]
    k_carry = [x for x, u in zip(carry, s.carry_uk) if not u]
    k_xs = [x for x, u in zip(xs, uk_x) if not u]
    out_carry, out_ys = eqn.outputs[:ncarry], eqn.outputs[ncarry:]
    n_kcarry = len(k_carry)
    stacked_avals = s.known.out_avals[n_kcarry + s.y_uk.count(False) :]
    stacked = [Var(ShapedArray((p["length"], *a.shape), a.dtype)) for a in stacked_avals]
    known_outs = [v for v, u in zip(out_carry, s.carry_uk) if not u]
    known_outs += [v for v, u in zip(out_ys, s.y_uk) if not u]
    common = {"length": p["length"], "reverse": p["reverse"]}
    known_eqn = ir.Equation(scan_p, [*k_consts, *k_carry, *k_xs],
                            {"body": s.known, **common, "num_consts": len(k_consts),
                             "num_carry": n_kcarry}, known_outs + stacked)  # fmt: skip
    u_consts = [k_consts[i] for i in s.const_res] + [x for x, u in zip(consts, uk_c) if u]
    u_carry = [x for x, u in zip(carry, s.carry_uk) if u]
    u_xs = stacked + [k_xs[i] for i in s.xs_res] + [x for x, u in zip(xs, uk_x) if u]
    unknown_outs = [v for v, u in zip(out_carry, s.carry_uk) if u]
    unknown_outs += [v for v, u in zip(out_ys, s.y_uk) if u]
    unknown_eqn = ir.Equation(scan_p, [*u_consts, *u_carry, *u_xs],
                              {"body": s.unknown, **common, "num_consts": len(u_consts),
                               "num_carry": len(u_carry)}, unknown_outs)  # fmt: skip
    return known_eqn, unknown_eqn, [*s.carry_uk, *s.y_uk]


ir.partial_eval_jaxpr_rules[scan_p] = _scan_partial_eval_eqn


# --- transpose ------------------------------------------------------------------------


def _transpose_body_program(body: ClosedJaxpr, num_consts: int, num_carry: int,
                            undefined: tuple, ct_y_nonzero: tuple) -> ClosedJaxpr:  # fmt: skip
    """The transposed body: inputs ``(known consts, ct of linear consts (accumulated),
    ct carry, known xs, nonzero ct ys)``, outputs ``(ct of linear consts, ct carry,
    ct of linear xs)``."""
    avals = body.in_avals
    u_c, _, u_x = _split3(undefined, num_consts, num_carry)
    a_c, a_carry, a_x = _split3(avals, num_consts, num_carry)
    split = ir.partial_eval_jaxpr(body, undefined)
    lin = split.unknown.jaxpr
    linear = ir.Jaxpr(lin.invars[: split.num_res], lin.invars[split.num_res :], lin.eqns,
                      lin.outvars)  # fmt: skip
    y_avals = body.out_avals[num_carry:]
    in_avals = [*(a for a, u in zip(a_c, u_c) if not u), *(_strong(a) for a, u in zip(a_c, u_c) if u),
                *(_strong(a) for a in a_carry), *(a for a, u in zip(a_x, u_x) if not u),
                *(_strong(a) for a, nz in zip(y_avals, ct_y_nonzero) if nz)]  # fmt: skip
    n_kc, n_lc = u_c.count(False), u_c.count(True)
    n_kx = u_x.count(False)

    def fun(*args):
        k_c = list(args[:n_kc])
        acc = list(args[n_kc : n_kc + n_lc])
        rest = args[n_kc + n_lc :]
        ct_carry = list(rest[:num_carry])
        k_x = list(rest[num_carry : num_carry + n_kx])
        ct_y_it = iter(rest[num_carry + n_kx :])
        ct_y = [next(ct_y_it) if nz else ad.Zero(_strong(a))
                for a, nz in zip(y_avals, ct_y_nonzero)]  # fmt: skip
        known_outs = ir.eval_closed(split.known, [*k_c, *k_x])
        residuals = known_outs[len(known_outs) - split.num_res :]
        cts_out = [*ct_carry, *ct_y]
        cts_unknown = [ct for ct, u in zip(cts_out, split.out_unknowns) if u]
        cts_in = ad.backward_pass(linear, residuals, cts_unknown)
        cts_in = [ad.Zero(v.aval) if c is None else c for c, v in zip(cts_in, linear.invars)]
        ct_lc, ct_lcarry, ct_lx = _split3(cts_in, n_lc, num_carry)
        new_acc = [ad.instantiate(ad.add_tangents(a, c)) for a, c in zip(acc, ct_lc)]
        return [*new_acc, *(ad.instantiate(c) for c in ct_lcarry),
                *(ad.instantiate(c) for c in ct_lx)]  # fmt: skip

    return trace_program(fun, in_avals, "scan (transpose)")


def _scan_transpose(cts, *args, body, length, reverse, num_consts, num_carry):
    # Every carry of a linear scan is linear (partial evaluation splits off the known
    # ones); a carry given a value is a linear carry whose start is a known constant
    # (e.g. an instantiated zero tangent): it is transposed as linear, its cotangent dropped.
    carry_given = [not ad.is_undefined(a) for a in args[num_consts : num_consts + num_carry]]
    args = [*args[:num_consts],
            *(ad.UndefinedPrimal(_leaf_aval(a)) if g else a
              for a, g in zip(args[num_consts : num_consts + num_carry], carry_given)),
            *args[num_consts + num_carry :]]  # fmt: skip
    undefined = tuple(ad.is_undefined(a) for a in args)
    consts, carry, xs = _split3(args, num_consts, num_carry)
    u_c, _, u_x = _split3(undefined, num_consts, num_carry)
    ct_carry, ct_ys = cts[:num_carry], cts[num_carry:]
    ct_y_nz = tuple(type(c) is not ad.Zero and c is not None for c in ct_ys)
    t_body = body.derive(("transpose", num_consts, num_carry, undefined, ct_y_nz),
                      lambda: _transpose_body_program(body, num_consts, num_carry, undefined,
                                                      ct_y_nz))  # fmt: skip
    ct_carry = [_zeros(a.aval) if type(c) is ad.Zero or c is None else c
                for c, a in zip(ct_carry, carry)]  # fmt: skip
    k_consts = [c for c, u in zip(consts, u_c) if not u]
    acc0 = [_zeros(c.aval) for c, u in zip(consts, u_c) if u]
    k_xs = [x for x, u in zip(xs, u_x) if not u]
    outs = _bind_scan(k_consts, [*acc0, *ct_carry],
                      [*k_xs, *(c for c, nz in zip(ct_ys, ct_y_nz) if nz)],
                      body=t_body, length=length, reverse=not reverse)  # fmt: skip
    n_lc = len(acc0)
    ct_lc = iter(outs[:n_lc])
    ct_init = outs[n_lc : n_lc + num_carry]
    ct_lx = iter(outs[n_lc + num_carry :])
    result = [next(ct_lc) if u else None for u in u_c]
    result += [None if g else c for g, c in zip(carry_given, ct_init)]
    result += [next(ct_lx) if u else None for u in u_x]
    return result


scan_p.transpose = _scan_transpose
scan_p.linear = True


# --- batching ----------------------------------------------------------------------------


def _scan_batch(args, dims, *, body, length, reverse, num_consts, num_carry):
    from funcgrad._src.interpreters import batching

    size = batching.axis_size_of(args, dims)
    batched = [d is not None for d in dims]
    carry_b = batched[num_consts : num_consts + num_carry]
    while True:
        in_b = (*batched[:num_consts], *carry_b, *batched[num_consts + num_carry :])
        key = ("batch", num_consts, num_carry, in_b, size, tuple(carry_b))
        b_body, out_b = body.derive(
            key,
            # the carries batched so far stay batched outputs: their type must not change
            lambda in_b=in_b, force=tuple(carry_b): _batched_program(
                body,
                in_b,
                size,
                [*force, *[False] * (len(body.out_avals) - num_carry)],
                "scan (vmap)",
            ),
        )
        new = [a or b for a, b in zip(carry_b, out_b[:num_carry])]
        if new == carry_b:
            break
        carry_b = new
    consts, carry, xs = _split3(args, num_consts, num_carry)
    d_c, d_carry, d_x = _split3(dims, num_consts, num_carry)
    consts = [c if d is None else batching.moveaxis(c, d, 0) for c, d in zip(consts, d_c)]
    carry = [batching.move_batch_axis(c, d, size, 0) if b else c
             for c, d, b in zip(carry, d_carry, carry_b)]  # fmt: skip
    xs = [x if d is None else batching.moveaxis(x, d, 1) for x, d in zip(xs, d_x)]
    outs = _bind_scan(consts, carry, xs, body=b_body, length=length, reverse=reverse)
    out_dims = [0 if b else None for b in carry_b]
    out_dims += [1 if b else None for b in out_b[num_carry:]]
    return outs, out_dims


scan_p.batch = _scan_batch


# --- the user-facing function ---------------------------------------------------------


def scan(f: Callable, init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, unroll: int | bool = 1) -> tuple[Any, Any]:  # fmt: skip
    """Loop ``f`` over the leading axis of ``xs``, carrying a state: JAX's ``lax.scan``.

    Semantically::

        def scan(f, init, xs, length=None, reverse=False):
            carry, ys = init, []
            for x in (reversed(xs) if reverse else xs):
                carry, y = f(carry, x)
                ys.append(y)
            return carry, stack(reversed(ys) if reverse else ys)

    but ``f`` is traced once into a program, so the loop is one primitive (``scan``)
    that jit, grad, jvp and vmap transform as a whole. ``init``, ``xs`` and the
    outputs may be pytrees; the carry returned by ``f`` must have the structure, shapes
    and dtypes of ``init``.

    Args:
        f: ``(carry, x) -> (carry, y)``.
        init: the initial carry (a pytree of arrays).
        xs: a pytree of arrays scanned over their leading axis, or ``None``
            (then ``f`` gets ``x=None`` and ``length`` is required).
        length: the number of iterations (checked against ``xs``'s leading axis).
        reverse: run from the last slice to the first (``ys`` keep their positions).
        unroll: accepted for compatibility; the loop is not unrolled.

    Returns:
        ``(final carry, stacked ys)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> carry, ys = scan(lambda c, x: (c * x, c), 1.0, fnp.arange(1.0, 5.0))
        >>> float(carry), ys.tolist()
        (24.0, [1.0, 1.0, 2.0, 6.0])
        >>> scan(lambda c, _: (c + 1, c), 0, None, length=3)[1].tolist()
        [0, 1, 2]
    """
    fname = "funcgrad.lax.scan"
    if not callable(f):
        raise TypeError(f"{fname}: f must be callable, got {type(f).__name__}")
    if not isinstance(unroll, (bool, int, np.integer)) or (type(unroll) is not bool and unroll < 1):
        raise ValueError(f"{fname}: unroll must be a positive int or a bool, got {unroll!r}")
    xs_leaves, xs_tree = tree_flatten(xs)
    xs_leaves = [_as_operand(x, fname) for x in xs_leaves]
    lengths = set()
    for x in xs_leaves:
        if not x.shape:
            raise ValueError(
                f"{fname}: scanned-over values must have a leading axis; got a 0-d value of "
                f"type {get_aval(x).str_short()} in xs"
            )
        lengths.add(x.shape[0])
    if length is not None:
        try:
            length = operator.index(length)
        except TypeError:
            raise TypeError(f"{fname}: length must be a static int, got {length!r}") from None
        if length < 0:
            raise ValueError(f"{fname}: length must be non-negative, got {length}")
        if lengths and lengths != {length}:
            raise ValueError(
                f"{fname}: length={length} but xs have leading axis sizes {sorted(lengths)}"
            )
    else:
        if not lengths:
            raise ValueError(f"{fname}: xs is None (or has no arrays): pass length=")
        if len(lengths) > 1:
            raise ValueError(
                f"{fname}: the values in xs must share their leading axis size, got "
                f"{sorted(lengths)}"
            )
        (length,) = lengths
    init_paths, init_tree = tree_flatten_with_path(init)
    paths = [p for p, _ in init_paths]
    carry = [_as_operand(x, fname) for _, x in init_paths]
    carry_avals = [_leaf_aval(c) for c in carry]
    x_avals = [ShapedArray(x.shape[1:], get_aval(x).dtype) for x in xs_leaves]
    record: dict = {}

    def body_fun(*args):
        c = tree_unflatten(init_tree, args[: len(carry)])
        x = tree_unflatten(xs_tree, args[len(carry) :])
        out = f(c, x)
        if not isinstance(out, tuple) or len(out) != 2:
            raise TypeError(
                f"{fname}: the body function must return a pair (carry, y), got "
                f"{type(out).__name__}"
            )
        new_c, y = out
        c_leaves, c_tree = tree_flatten(new_c)
        _check_tree(fname, c_tree, init_tree, "carry output")
        c_leaves = _cast_carry_out(fname, "carry", list(c_leaves), paths, carry_avals)
        y_leaves, y_tree = tree_flatten(y)
        record["y_tree"] = y_tree
        return [*c_leaves, *y_leaves]

    closed, lifted = ir.trace_closed(body_fun, [*carry_avals, *x_avals], current_trace(),
                                     "scan body")  # fmt: skip
    outs = _bind_scan(lifted, carry, xs_leaves, body=closed, length=length,
                      reverse=bool(reverse))  # fmt: skip
    n = len(carry)
    return tree_unflatten(init_tree, outs[:n]), tree_unflatten(record["y_tree"], outs[n:])


def map(f: Callable, xs: Any) -> Any:
    """``f`` applied to each slice of ``xs`` along its leading axis, results stacked:
    JAX's ``lax.map`` (a :func:`scan` with no carry).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> map(lambda x: x * 2.0, fnp.arange(3.0)).tolist()
        [0.0, 2.0, 4.0]
    """
    _, ys = scan(lambda c, x: (c, f(x)), None, xs)
    return ys


# ===================================================================================
# while_p
# ===================================================================================

while_p = Primitive("while")


def _while_impl(backend, *args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    xp = backend.xp
    avals = [*cond_jaxpr.in_avals[:cond_nconsts], *body_jaxpr.in_avals]
    args = [a if isinstance(a, backend.buffer_type) else xp.asarray(a, dtype=aval.dtype)
            for a, aval in zip(args, avals)]  # fmt: skip
    c_consts, b_consts, carry = _split3(args, cond_nconsts, body_nconsts)
    cond = executable(cond_jaxpr, backend, "while_cond").fn
    body = executable(body_jaxpr, backend, "while_body").fn
    while bool(cond(*c_consts, *carry)[0]):
        carry = list(body(*b_consts, *carry))
    return carry


def _while_abstract_eval(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    c_consts, b_consts, carry = _split3(avals, cond_nconsts, body_nconsts)
    want_c = cond_jaxpr.in_avals
    want_b = body_jaxpr.in_avals
    if len(want_c) != cond_nconsts + len(carry) or len(want_b) != body_nconsts + len(carry):
        raise TypeError("while: the operand counts do not match the programs' inputs")
    for i, (g, w) in enumerate(zip([*c_consts, *carry], want_c)):
        if not _same(g, w):
            raise TypeError(f"while: cond input {i} is {g.str_short()}, expected {w.str_short()}")
    for i, (g, w) in enumerate(zip([*b_consts, *carry], want_b)):
        if not _same(g, w):
            raise TypeError(f"while: body input {i} is {g.str_short()}, expected {w.str_short()}")
    (pred,) = cond_jaxpr.out_avals
    if pred.shape != () or pred.dtype != np.bool_:
        raise TypeError(f"while: the predicate must be a bool scalar, got {pred.str_short()}")
    for i, (g, w) in enumerate(zip(body_jaxpr.out_avals, carry)):
        if not _same(g, w):
            raise TypeError(
                f"while: the body's carry output {i} has type {g.str_short()} but the carry "
                f"has type {w.str_short()}"
            )
    return [_strong(a) for a in carry]


while_p.impl = _while_impl
while_p.abstract_eval = _while_abstract_eval


def _bind_while(c_consts, b_consts, carry, *, cond_jaxpr, body_jaxpr):
    return while_p.bind(*c_consts, *b_consts, *carry, cond_jaxpr=cond_jaxpr,
                        body_jaxpr=body_jaxpr, cond_nconsts=len(c_consts),
                        body_nconsts=len(b_consts))  # fmt: skip


# --- jvp ---------------------------------------------------------------------------


def _while_jvp(primals, tangents, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    nz_all = [type(t) is not ad.Zero for t in tangents]
    _, nz_b, carry_nz = _split3(nz_all, cond_nconsts, body_nconsts)
    while True:
        nz = tuple(nz_b + carry_nz)
        jvp_body, out_nz = body_jaxpr.derive(("jvp", body_nconsts, nz),
                                    lambda nz=nz: _jvp_body_program(body_jaxpr, body_nconsts, len(nz) - body_nconsts, nz))  # fmt: skip
        new = [a or b for a, b in zip(carry_nz, out_nz)]
        if new == carry_nz:
            break
        carry_nz = new
    c_consts, b_consts, carry = _split3(primals, cond_nconsts, body_nconsts)
    _, t_b, t_carry = _split3(tangents, cond_nconsts, body_nconsts)
    t_carry = [ad.instantiate(t) for t, z in zip(t_carry, carry_nz) if z]
    n_t = len(t_carry)
    n_carry = len(carry)
    carry_avals = [_leaf_aval(c) for c in carry]

    def build_cond():
        def fun(*args):
            return ir.eval_closed(cond_jaxpr, args[: cond_nconsts + n_carry])

        t_avals = [a for a, z in zip(carry_avals, carry_nz) if z]
        return trace_program(fun, [*cond_jaxpr.in_avals, *t_avals], "while (jvp cond)")

    jvp_cond = cond_jaxpr.derive(("jvp", cond_nconsts, tuple(carry_nz)), build_cond)
    outs = _bind_while(c_consts, [*b_consts, *(t for t, z in zip(t_b, nz_b) if z)],
                       [*carry, *t_carry], cond_jaxpr=jvp_cond, body_jaxpr=jvp_body)  # fmt: skip
    it = iter(outs[n_carry:])
    assert n_t == len(outs) - n_carry
    t_out = [next(it) if z else ad.Zero(a) for z, a in zip(carry_nz, carry_avals)]
    return outs[:n_carry], t_out


while_p.jvp = _while_jvp

_WHILE_GRAD_ERROR = (
    "Reverse-mode differentiation (grad, vjp, linearize) does not work through "
    "funcgrad.lax.while_loop: its number of iterations is not known in advance, so the "
    "values needed to go back through it cannot be stored. Use funcgrad.lax.scan, or "
    "funcgrad.lax.fori_loop with static (Python int) bounds, which is a scan. Forward mode "
    "(jvp, jacfwd) works."
)


def _while_partial_eval(trace, args, params):
    raise ValueError(_WHILE_GRAD_ERROR)


def _while_partial_eval_eqn(eqn, in_unknowns):
    raise ValueError(_WHILE_GRAD_ERROR)


def _while_transpose(cts, *args, **params):
    raise ValueError(_WHILE_GRAD_ERROR)


ir.partial_eval_rules[while_p] = _while_partial_eval
ir.partial_eval_jaxpr_rules[while_p] = _while_partial_eval_eqn
while_p.transpose = _while_transpose


# --- batching ----------------------------------------------------------------------------


def _batched_program(closed: ClosedJaxpr, in_batched: Sequence[bool], size: int,
                     force: Sequence[bool] | None, name: str):  # fmt: skip
    """``closed`` batched (batch axis first); outputs flagged in ``force`` are batched
    even where independent of the batch. Returns the program and the outputs' batching."""
    from funcgrad._src.interpreters import batching

    in_avals = [ShapedArray((size, *a.shape), a.dtype) if b else a
                for a, b in zip(closed.in_avals, in_batched)]  # fmt: skip
    record: dict = {}

    def fun(*xs):
        outs, dims = batching.batch_flat(lambda *ys: ir.eval_closed(closed, ys), list(xs),
                                         [0 if b else None for b in in_batched], size)  # fmt: skip
        result, batched = [], []
        for i, (o, d) in enumerate(zip(outs, dims)):
            if force is not None and force[i]:
                o, d = batching.move_batch_axis(o, d, size, 0), 0
            elif d is not None:
                o = batching.moveaxis(o, d, 0)
            result.append(o)
            batched.append(d is not None)
        record["batched"] = batched
        return result

    return trace_program(fun, in_avals, name), record["batched"]


def _while_batch(args, dims, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    from funcgrad._src.interpreters import batching
    from funcgrad._src.lax.elementwise import select_p
    from funcgrad._src.lax.reductions import reduce_or_p
    from funcgrad._src.lax.structural import broadcast_in_dim_p

    size = batching.axis_size_of(args, dims)
    batched = [d is not None for d in dims]
    b_c, b_b, carry_b = _split3(batched, cond_nconsts, body_nconsts)
    n_carry = len(carry_b)
    while True:
        _, pred_b = _batched_program(cond_jaxpr, [*b_c, *carry_b], size, None, "while (vmap)")
        if pred_b[0]:  # examples finish at different times: every carry is per example
            carry_b = [True] * n_carry
        b_body, out_b = _batched_program(body_jaxpr, [*b_b, *carry_b], size, carry_b,
                                         "while (vmap)")  # fmt: skip
        new = [a or b for a, b in zip(carry_b, out_b)]
        if new == carry_b:
            break
        carry_b = new
    b_cond, pred_b = _batched_program(cond_jaxpr, [*b_c, *carry_b], size, None, "while (vmap)")
    moved = [a if d is None else batching.moveaxis(a, d, 0) for a, d in zip(args, dims)]
    c_consts, b_consts, carry = _split3(moved, cond_nconsts, body_nconsts)
    carry = [batching.broadcast_batch(c, size, 0) if b and d is None else c
             for c, b, d in zip(carry, carry_b, dims[cond_nconsts + body_nconsts :])]  # fmt: skip
    if not pred_b[0]:
        outs = _bind_while(c_consts, b_consts, carry, cond_jaxpr=b_cond, body_jaxpr=b_body)
        return outs, [0 if b else None for b in carry_b]
    # A batched predicate: loop while any example runs; finished examples keep their carry.
    nc = len(c_consts)
    c_avals = b_cond.in_avals[:nc]
    carry_avals = b_cond.in_avals[nc:]

    def any_cond(*xs):
        (pred,) = ir.eval_closed(b_cond, xs)
        return [reduce_or_p.bind1(pred, axes=(0,))]

    def masked_body(*xs):
        cc, bc, cr = xs[:nc], xs[nc : nc + len(b_consts)], xs[nc + len(b_consts) :]
        (pred,) = ir.eval_closed(b_cond, [*cc, *cr])
        new = ir.eval_closed(b_body, [*bc, *cr])
        out = []
        for n, o in zip(new, cr):
            p = pred
            if o.ndim > 1:
                p = broadcast_in_dim_p.bind1(pred, shape=tuple(o.shape), broadcast_dimensions=(0,))
            out.append(select_p.bind1(p, n, o))
        return out

    cond2 = trace_program(any_cond, [*c_avals, *carry_avals], "while (vmap cond)")
    body2 = trace_program(masked_body, [*c_avals, *b_body.in_avals[: len(b_consts)], *carry_avals],
                   "while (vmap body)")  # fmt: skip
    outs = _bind_while(c_consts, [*c_consts, *b_consts], carry, cond_jaxpr=cond2,
                       body_jaxpr=body2)  # fmt: skip
    return outs, [0] * n_carry


while_p.batch = _while_batch


# --- the user-facing functions --------------------------------------------------------


def while_loop(cond_fun: Callable, body_fun: Callable, init_val: Any) -> Any:
    """Run ``body_fun`` on a value while ``cond_fun`` of it is true: JAX's
    ``lax.while_loop``.

    Semantically::

        def while_loop(cond_fun, body_fun, val):
            while cond_fun(val):
                val = body_fun(val)
            return val

    ``cond_fun`` must return a boolean scalar; ``body_fun`` must keep the structure,
    shapes and dtypes of ``init_val``. Works under jit, jvp and vmap (with a batched
    predicate the loop runs until every example is done). Reverse-mode
    differentiation is not supported: use :func:`scan` or :func:`fori_loop` with
    static bounds.

    Examples:
        >>> int(while_loop(lambda i: i < 10, lambda i: i * 2, 1))
        16
    """
    fname = "funcgrad.lax.while_loop"
    if not callable(cond_fun) or not callable(body_fun):
        raise TypeError(f"{fname}: cond_fun and body_fun must be callable")
    init_paths, init_tree = tree_flatten_with_path(init_val)
    paths = [p for p, _ in init_paths]
    carry = [_as_operand(x, fname) for _, x in init_paths]
    carry_avals = [_leaf_aval(c) for c in carry]

    def cond_flat(*args):
        pred = cond_fun(tree_unflatten(init_tree, args))
        leaves, _ = tree_flatten(pred)
        if len(leaves) != 1:
            raise TypeError(f"{fname}: cond_fun must return a boolean scalar, got {pred!r:.60}")
        (p,) = leaves
        p_aval = get_aval(p)
        if p_aval.shape != () or p_aval.dtype != np.bool_:
            raise TypeError(
                f"{fname}: cond_fun must return a boolean scalar, got {p_aval.str_short()}"
            )
        if not isinstance(p, Tracer) and not isinstance(p, Array):
            p = _as_operand(p, fname)
        return [p]

    def body_flat(*args):
        out = body_fun(tree_unflatten(init_tree, args))
        leaves, tree = tree_flatten(out)
        _check_tree(fname, tree, init_tree, "output")
        return _cast_carry_out(fname, "carry", list(leaves), paths, carry_avals)

    parent = current_trace()
    cond_closed, cond_lifted = ir.trace_closed(cond_flat, carry_avals, parent, "while cond")
    body_closed, body_lifted = ir.trace_closed(body_flat, carry_avals, parent, "while body")
    outs = _bind_while(cond_lifted, body_lifted, carry, cond_jaxpr=cond_closed,
                       body_jaxpr=body_closed)  # fmt: skip
    return tree_unflatten(init_tree, outs)


def _static_int(x: Any) -> int | None:
    if type(x) is bool:
        return None
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, np.ndarray) and x.shape == () and x.dtype.kind in "iu":
        return int(x)
    return None


def fori_loop(lower: Any, upper: Any, body_fun: Callable, init_val: Any) -> Any:
    """``for i in range(lower, upper): val = body_fun(i, val)``: JAX's ``lax.fori_loop``.

    With Python or NumPy int bounds the loop is a :func:`scan` of static length, so it
    is reverse-mode differentiable; with traced bounds it is a :func:`while_loop`
    (forward mode only).

    Examples:
        >>> float(fori_loop(0, 5, lambda i, x: x + i, 0.0))
        10.0
    """
    fname = "funcgrad.lax.fori_loop"
    if not callable(body_fun):
        raise TypeError(f"{fname}: body_fun must be callable")
    lo, hi = _static_int(lower), _static_int(upper)
    if lo is not None and hi is not None:
        # Python ints count as int64; NumPy ints keep their dtype
        dtype = np.result_type(
            *(
                b.dtype if isinstance(b, (np.integer, np.ndarray)) else np.int64
                for b in (lower, upper)
            )
        )

        def step(carry, _):
            i, x = carry
            return (i + np.ones((), dtype)[()], body_fun(i, x)), None

        from funcgrad._src.numpy.util import asarray

        (_, out), _ = scan(step, (asarray(np.asarray(lo, dtype)), init_val), None,
                           length=max(hi - lo, 0))  # fmt: skip
        return out
    lower, upper = _as_operand(lower, fname), _as_operand(upper, fname)
    for name, b in (("lower", lower), ("upper", upper)):
        aval = get_aval(b)
        if aval.shape != () or aval.dtype.kind not in "iu":
            raise TypeError(f"{fname}: {name} must be an integer scalar, got {aval.str_short()}")
    dtype = np.result_type(get_aval(lower).dtype, get_aval(upper).dtype)
    from funcgrad._src.lax.structural import convert_element_type_p

    def cast(b):
        if get_aval(b).dtype == dtype:
            return b
        return convert_element_type_p.bind1(b, new_dtype=dtype)

    lower, upper = cast(lower), cast(upper)

    def cond(c):
        i, u, _ = c
        return i < u

    def body(c):
        i, u, x = c
        return i + np.ones((), dtype)[()], u, body_fun(i, x)

    return while_loop(cond, body, (lower, upper, init_val))[2]
