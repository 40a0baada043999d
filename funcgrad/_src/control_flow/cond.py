"""Conditionals: ``cond`` and ``switch``, staged as one primitive, ``cond_p``.

Every branch is traced to a program; the programs must have identical output types.
``cond_p`` takes the branch index (an ``int32`` scalar, already in range) followed by
the operands, and its one parameter ``branches`` is the tuple of branch programs
(``ClosedJaxpr``), each taking the same operands. Its rules transform every branch
alike and keep a ``cond_p``: the JVP is a ``cond_p`` of the branches' JVP programs,
partial evaluation (reverse mode) splits each branch into a known and an unknown
program with one common set of residuals, the transpose is a ``cond_p`` of the
transposed branches, and vmap batches the branches when the index is the same for
every example, or runs every branch and selects per example when it is not.

The program builders of :mod:`~funcgrad._src.interpreters.jit` (a branch's JVP,
transpose and batched program) are reused; what is added here is making the
branches agree: an output whose tangent (or cotangent, batch axis, unknown-ness) is
nonzero in one branch is made so in every branch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad._src import ir
from funcgrad._src.core import (
    EVAL_TRACE,
    Array,
    Primitive,
    ShapedArray,
    _new_array,
    current_trace,
    get_aval,
    is_array_like,
    set_current_trace,
)
from funcgrad._src.interpreters import ad, batching, tape
from funcgrad._src.interpreters import jit as jit_interp
from funcgrad._src.ir import ClosedJaxpr, Jaxpr, Literal, Var
from funcgrad._src.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_unflatten

__all__ = ["cond", "switch"]

_INDEX_DTYPE = np.dtype(np.int32)


# --- user-facing wrappers -------------------------------------------------------------


def cond(pred: Any, true_fun: Callable, false_fun: Callable, *operands: Any) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as one staged operation.

    Both functions are traced (so both must accept the operands and return the same
    pytree structure, shapes and dtypes; a weakly typed Python scalar output takes the
    other branch's dtype), and only the chosen one runs. Under ``jit`` one trace serves
    both outcomes; under ``vmap`` with a batched ``pred`` both branches run and the
    results are selected per example (as ``funcgrad.numpy.where`` would). Operands and
    outputs may be pytrees; the functions may close over arrays.

    Args:
        pred: a boolean or integer scalar (an integer counts as ``pred != 0``).
        true_fun, false_fun: functions of the operands.
        *operands: the arguments passed to the chosen function.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.lax import cond
        >>> x = fnp.asarray(2.0)
        >>> float(cond(x > 1, lambda v: v * 10, lambda v: v - 10, x))
        20.0
        >>> float(cond(x > 5, lambda v: v * 10, lambda v: v - 10, x))
        -8.0
    """
    fname = "funcgrad.lax.cond"
    for name, fun in (("true_fun", true_fun), ("false_fun", false_fun)):
        if not callable(fun):
            raise TypeError(f"{fname}: {name} must be callable, got {type(fun).__name__}")
    pred = _as_array(pred, fname, "pred")
    if pred.shape != ():
        raise TypeError(
            f"{fname}: pred must be a scalar (shape ()), got shape {pred.shape}; to choose "
            f"per element use funcgrad.numpy.where, or vmap the cond over the batch axis"
        )
    if pred.dtype.kind not in "biu":
        raise TypeError(
            f"{fname}: pred must be a boolean or integer scalar, got {pred.dtype}; compare "
            f"it first, e.g. cond(x > 0, ...)"
        )
    from funcgrad._src.lax.elementwise import ne_p
    from funcgrad._src.lax.structural import convert_element_type_p

    if pred.dtype.kind != "b":
        pred = ne_p.bind1(pred, pred.dtype.type(0))
    index = convert_element_type_p.bind1(pred, new_dtype=_INDEX_DTYPE)
    return _bind_cond(fname, index, (false_fun, true_fun), ("false_fun", "true_fun"), operands)


def switch(index: Any, branches: Sequence[Callable], *operands: Any) -> Any:
    """``branches[index](*operands)``, as one staged operation; ``index`` is clamped to
    ``[0, len(branches) - 1]`` (as in JAX: no out-of-range error, even under jit).

    All branches are traced and must return the same pytree structure, shapes and
    dtypes; only the chosen one runs (under ``vmap`` with a batched ``index`` every
    branch runs and the results are selected per example).

    Args:
        index: an integer scalar.
        branches: a non-empty sequence of functions of the operands.
        *operands: the arguments passed to the chosen branch.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.lax import switch
        >>> fs = [lambda v: v + 1, lambda v: v * 2, lambda v: -v]
        >>> [float(switch(i, fs, fnp.asarray(3.0))) for i in (0, 1, 2, 7, -4)]
        [4.0, 6.0, -3.0, -3.0, 4.0]
    """
    fname = "funcgrad.lax.switch"
    try:
        branches = tuple(branches)
    except TypeError:
        raise TypeError(
            f"{fname}: branches must be a sequence of functions, got {type(branches).__name__}"
        ) from None
    if not branches:
        raise ValueError(f"{fname}: branches is empty; give at least one function")
    for i, fun in enumerate(branches):
        if not callable(fun):
            raise TypeError(f"{fname}: branches[{i}] must be callable, got {type(fun).__name__}")
    index = _as_array(index, fname, "index")
    if index.shape != ():
        raise TypeError(
            f"{fname}: index must be a scalar (shape ()), got shape {index.shape}; under vmap "
            f"a batched index is fine"
        )
    if index.dtype.kind not in "iu":
        raise TypeError(f"{fname}: index must be an integer scalar, got {index.dtype}")
    if len(branches) == 1:
        return branches[0](*operands)
    from funcgrad._src.lax.elementwise import max_p, min_p
    from funcgrad._src.lax.structural import convert_element_type_p

    # clamp in the index's own dtype (converting first could wrap a large int64 around)
    high = index.dtype.type(len(branches) - 1)
    index = min_p.bind1(max_p.bind1(index, index.dtype.type(0)), high)
    if index.dtype != _INDEX_DTYPE:
        index = convert_element_type_p.bind1(index, new_dtype=_INDEX_DTYPE)
    names = tuple(f"branches[{i}]" for i in range(len(branches)))
    return _bind_cond(fname, index, branches, names, operands)


def _as_array(x: Any, fname: str, what: str) -> Any:
    if is_array_like(x):
        return x
    from funcgrad._src.numpy.util import asarray

    try:
        return asarray(x, fname=fname)
    except TypeError:
        raise TypeError(
            f"{fname}: {what} must be an array or a number, got {type(x).__name__}"
        ) from None


class _Traced:
    """One branch traced on the operands' abstract values."""

    def __init__(self, closed: ClosedJaxpr, lifted: list, out_tree: Any, paths: list[str]):
        self.closed = closed
        self.lifted = lifted
        self.out_tree = out_tree
        self.paths = paths


def _trace_branch(fname: str, fun: Callable, in_tree: Any, in_avals: list,
                  casts: dict | None = None) -> _Traced:  # fmt: skip
    """Trace ``fun`` to a program; ``casts`` maps output positions to the dtype they are
    converted to (weakly typed outputs meeting another branch's dtype)."""
    from funcgrad._src.lax.structural import convert_element_type_p

    info: dict = {}

    def flat_fun(*xs):
        out = fun(*tree_unflatten(in_tree, list(xs)))
        pairs, tree = tree_flatten_with_path(out)
        info["tree"] = tree
        info["paths"] = [keystr(p) for p, _ in pairs]
        leaves = [leaf for _, leaf in pairs]
        for j, leaf in enumerate(leaves):
            if not is_array_like(leaf) and not isinstance(
                leaf, (bool, int, float, complex, np.generic, np.ndarray)
            ):
                raise TypeError(
                    f"{fname}: a branch returned a {type(leaf).__name__} at output "
                    f"{keystr(pairs[j][0]) or '(the output)'}; branches must return arrays "
                    f"(pytrees of arrays)"
                )
            if isinstance(leaf, np.ndarray):
                leaves[j] = _as_array(leaf, fname, "an output")
        if casts:
            for j, dtype in casts.items():
                leaves[j] = convert_element_type_p.bind1(leaves[j], new_dtype=dtype)
        return leaves

    closed, lifted = ir.trace_closed(flat_fun, in_avals, current_trace(), fname.rsplit(".", 1)[-1])
    return _Traced(closed, lifted, info["tree"], info["paths"])


def _bind_cond(fname: str, index: Any, funs: Sequence[Callable], names: Sequence[str],
               operands: tuple) -> Any:  # fmt: skip
    leaves, in_tree = tree_flatten(operands)
    leaves = [_as_array(x, fname, "operands") for x in leaves]
    in_avals = [get_aval(x).update(weak_type=False) for x in leaves]
    traced = [_trace_branch(fname, f, in_tree, in_avals) for f in funs]
    casts = _check_outputs(fname, traced, names)
    for i, c in casts.items():
        traced[i] = _trace_branch(fname, funs[i], in_tree, in_avals, c)
    # values of enclosing traces the branches close over become leading operands, one
    # list shared by every branch
    consts: list = []
    position: dict[int, int] = {}
    for t in traced:
        for c in t.lifted:
            if id(c) not in position:
                position[id(c)] = len(consts)
                consts.append(c)
    branches = tuple(_with_common_consts(t, consts, position) for t in traced)
    if type(current_trace()) is tape.TapeTrace and type(index) is Array:
        # Eager reverse mode with a known choice: run the chosen branch's operations on
        # the tape, each linearized from the tape's per-primitive cache. (A fresh cond
        # equation would be linearized and compiled anew on every call: ~10x slower.)
        outs = ir.eval_closed(branches[int(index)], [*consts, *leaves])
    else:
        outs = cond_p.bind(index, *consts, *leaves, branches=branches)
    return tree_unflatten(traced[0].out_tree, outs)


def _check_outputs(fname: str, traced: list[_Traced], names: Sequence[str]) -> dict:
    """Raise if the branches' outputs differ in structure, shape or dtype; returns the
    casts of weakly typed outputs to the dtype of the other branches (by branch)."""
    first = traced[0]
    for t, name in zip(traced[1:], names[1:]):
        if t.out_tree != first.out_tree:
            raise TypeError(
                f"{fname}: the branches must return the same pytree structure, but "
                f"{names[0]} returns {first.out_tree} and {name} returns {t.out_tree}"
            )
    casts: dict = {}
    for j in range(len(first.closed.out_avals)):
        avals = [t.closed.out_avals[j] for t in traced]
        where = f"output {first.paths[j]}" if first.paths[j] else "the output"
        for a, name in zip(avals[1:], names[1:]):
            if a.shape != avals[0].shape:
                raise TypeError(
                    f"{fname}: the branches must return values of the same types, but at "
                    f"{where} {names[0]} returns {avals[0].str_short()} and {name} returns "
                    f"{a.str_short()}"
                )
        strong = {a.dtype for a in avals if not a.weak_type}
        if len(strong) > 1:
            found = [(n, a) for n, a in zip(names, avals) if not a.weak_type]
            (n0, a0), (n1, a1) = found[0], next(p for p in found if p[1].dtype != found[0][1].dtype)
            raise TypeError(
                f"{fname}: the branches must return values of the same types, but at {where} "
                f"{n0} returns {a0.str_short()} and {n1} returns {a1.str_short()}"
            )
        target = strong.pop() if strong else np.result_type(*[a.dtype for a in avals])
        for i, a in enumerate(avals):
            if a.dtype != target:
                casts.setdefault(i, {})[j] = target
    return casts


def _with_common_consts(t: _Traced, consts: list, position: dict) -> ClosedJaxpr:
    """The branch's program taking every branch's closed-over values first."""
    jaxpr = t.closed.jaxpr
    k = len(t.lifted)
    own = {position[id(c)]: v for c, v in zip(t.lifted, jaxpr.invars[:k])}
    lead = [own.get(p) or Var(get_aval(c)) for p, c in enumerate(consts)]
    if not consts:
        return t.closed
    return ClosedJaxpr(
        Jaxpr(jaxpr.constvars, lead + jaxpr.invars[k:], jaxpr.eqns, jaxpr.outvars), t.closed.consts
    )


# --- the primitive ----------------------------------------------------------------------

cond_p = Primitive("cond")


def _run_branch(closed: ClosedJaxpr, backend: Any, args: tuple) -> list:
    # A program met for the first time is interpreted (eager cond traces fresh branches on
    # every call, and compiling them would cost more than running them); one that runs
    # again (a cond inside a jitted function) is compiled once and then called directly.
    if closed.derived.get("cond runs") is None:
        closed.derived["cond runs"] = 1
        xp = backend.xp
        arrays = [
            _new_array(a if isinstance(a, backend.buffer_type) else backend.freeze(xp.asarray(a, dtype=v.dtype)), backend)
            for a, v in zip(args, closed.in_avals)
        ]  # fmt: skip
        with set_current_trace(EVAL_TRACE):
            outs = ir.eval_closed(closed, arrays)
        return [
            o._buffer if type(o) is Array else xp.asarray(o, dtype=v.dtype)
            for o, v in zip(outs, closed.out_avals)
        ]
    return jit_interp._jit_impl(backend, *args, jaxpr=closed, name="cond_branch")


def _cond_impl(backend, index, *args, branches):
    i = min(max(int(index), 0), len(branches) - 1)
    return _run_branch(branches[i], backend, args)


def _cond_abstract_eval(index, *avals, branches):
    if index.shape != () or index.dtype != _INDEX_DTYPE:
        raise TypeError(f"cond: the branch index must be an int32 scalar, got {index.str_short()}")
    for i, b in enumerate(branches):
        expected = b.in_avals
        if len(avals) != len(expected) or not all(map(ir._same_type, avals, expected)):
            raise TypeError(
                f"cond: operands {[a.str_short() for a in avals]} do not match branch {i}'s "
                f"inputs {[a.str_short() for a in expected]}"
            )
    out = branches[0].out_avals
    for i, b in enumerate(branches[1:], 1):
        if len(b.out_avals) != len(out) or not all(map(ir._same_type, b.out_avals, out)):
            raise TypeError(
                f"cond: branch {i} returns {[a.str_short() for a in b.out_avals]} but branch 0 "
                f"returns {[a.str_short() for a in out]}"
            )
    return [a.update(weak_type=False) for a in out]


cond_p.impl = _cond_impl
cond_p.abstract_eval = _cond_abstract_eval


def _cached(branches: tuple, key: tuple, build: Callable) -> Any:
    """``build()``, cached on the first branch program (keyed by the whole tuple)."""
    return branches[0].derive(("cond", branches[1:], *key), build)


def _retraced(closed: ClosedJaxpr, fun: Callable, what: str) -> ClosedJaxpr:
    """The program of ``fun`` on ``closed``'s input types (a branch program rearranged)."""
    return jit_interp.trace_program(fun, closed.in_avals, f"cond ({what})")


def _union(flags: Sequence[Sequence[bool]]) -> list[bool]:
    return [any(col) for col in zip(*flags)]


# JVP: a cond of the branches' JVP programs (primals and nonzero tangents in; primal
# outputs and the tangents nonzero in any branch out).
def _jvp_branches(branches: tuple, nonzero: tuple) -> tuple[tuple, list[bool]]:
    progs = [
        b.derive(("jvp", nonzero), lambda b=b: jit_interp._jvp_program(b, nonzero))
        for b in branches
    ]
    out_nonzero = _union([nz for _, nz in progs])
    n = len(branches[0].out_avals)
    out_avals = [a.update(weak_type=False) for a in branches[0].out_avals]

    def padded(jvp_closed: ClosedJaxpr, own: list[bool]) -> ClosedJaxpr:
        if own == out_nonzero:
            return jvp_closed

        def fun(*xs):
            outs = ir.eval_closed(jvp_closed, xs)
            tangents = iter(outs[n:])
            extra = [next(tangents) if o else ad.zeros_like_aval(a)
                     for a, o, u in zip(out_avals, own, out_nonzero) if u]  # fmt: skip
            return [*outs[:n], *extra]

        return _retraced(jvp_closed, fun, "jvp")

    return tuple(padded(c, nz) for c, nz in progs), out_nonzero


def _cond_jvp(primals, tangents, *, branches):
    index, operands, tangents = primals[0], primals[1:], tangents[1:]
    nonzero = tuple(type(t) is not ad.Zero for t in tangents)
    jvp_branches, out_nonzero = _cached(
        branches, ("jvp", nonzero), lambda: _jvp_branches(branches, nonzero)
    )
    outs = cond_p.bind(index, *operands, *(t for t in tangents if type(t) is not ad.Zero),
                       branches=jvp_branches)  # fmt: skip
    n = len(branches[0].out_avals)
    rest = iter(outs[n:])
    tangent_outs = [next(rest) if nz else ad.Zero(a.update(weak_type=False))
                    for a, nz in zip(branches[0].out_avals, out_nonzero)]  # fmt: skip
    return outs[:n], tangent_outs


cond_p.jvp = _cond_jvp


# Partial evaluation (reverse mode): every branch is split by the same known/unknown
# operands. The known cond returns the outputs known in every branch plus one common
# list of residuals (each branch's own residuals, and its known values of outputs that
# another branch leaves unknown, in one segment per branch; other branches' segments
# are zeros); the unknown cond takes the index, the residuals and the unknown operands.
class _JointSplit:
    __slots__ = ("known", "num_res", "out_unknowns", "unknown")

    def __init__(self, known: tuple, unknown: tuple, out_unknowns: list[bool], num_res: int):
        self.known = known
        self.unknown = unknown
        self.out_unknowns = out_unknowns
        self.num_res = num_res


def _joint_split(branches: tuple, unknowns: tuple) -> _JointSplit:
    splits = [ir.partial_eval_jaxpr(b, unknowns) for b in branches]
    n = len(branches[0].out_avals)
    out_uk = _union([s.out_unknowns for s in splits])
    out_avals = [a.update(weak_type=False) for a in branches[0].out_avals]
    forced = [[j for j in range(n) if out_uk[j] and not s.out_unknowns[j]] for s in splits]
    segments = []
    for s, f in zip(splits, forced):
        res_avals = s.known.out_avals[len(s.known.out_avals) - s.num_res :]
        segments.append([a.update(weak_type=False) for a in res_avals] + [out_avals[j] for j in f])
    starts = np.cumsum([0] + [len(seg) for seg in segments]).tolist()
    known_in = [a for a, u in zip(branches[0].in_avals, unknowns) if not u]
    unknown_in = [a for a, u in zip(branches[0].in_avals, unknowns) if u]

    def known_program(i: int) -> ClosedJaxpr:
        s = splits[i]

        def fun(*xs):
            outs = ir.eval_closed(s.known, xs)
            n_known = len(outs) - s.num_res
            known = dict(zip([j for j in range(n) if not s.out_unknowns[j]], outs[:n_known]))
            result = [known[j] for j in range(n) if not out_uk[j]]
            for k, seg in enumerate(segments):
                if k == i:
                    result += [*outs[n_known:], *(known[j] for j in forced[i])]
                else:
                    result += [ad.zeros_like_aval(a) for a in seg]
            return result

        return jit_interp.trace_program(fun, known_in, "cond (known part)")

    def unknown_program(i: int) -> ClosedJaxpr:
        s = splits[i]

        def fun(*xs):
            own = xs[starts[i] : starts[i + 1]]
            res, forced_vals = own[: s.num_res], own[s.num_res :]
            outs = ir.eval_closed(s.unknown, [*res, *xs[starts[-1] :]])
            values = dict(zip([j for j in range(n) if s.out_unknowns[j]], outs))
            values.update(zip(forced[i], forced_vals))
            return [values[j] for j in range(n) if out_uk[j]]

        all_res = [a for seg in segments for a in seg]
        return jit_interp.trace_program(fun, all_res + unknown_in, "cond (unknown part)")

    return _JointSplit(
        tuple(known_program(i) for i in range(len(branches))),
        tuple(unknown_program(i) for i in range(len(branches))),
        out_uk,
        starts[-1],
    )


def _cond_partial_eval(trace: ir.StagingTrace, args: tuple, params: dict) -> list:
    branches = params["branches"]
    index, operands = args[0], args[1:]
    if trace.is_own(index):  # the choice itself is unknown: record the whole cond
        inputs = [trace.to_atom(x) for x in args]
        avals = _cond_abstract_eval(*[a.aval for a in inputs], branches=branches)
        return trace.record(cond_p, inputs, params, avals)
    unknowns = tuple(trace.is_own(x) for x in operands)
    split = _cached(branches, ("partial", unknowns), lambda: _joint_split(branches, unknowns))
    with set_current_trace(trace.parent):
        known_outs = cond_p.bind(
            index, *(x for x, u in zip(operands, unknowns) if not u), branches=split.known
        )
    n_known = len(known_outs) - split.num_res
    unknown_outs: Any = iter(())
    if any(split.out_unknowns):
        inputs = [trace.to_atom(index)] + [trace.to_atom(r) for r in known_outs[n_known:]]
        inputs += [x.var for x, u in zip(operands, unknowns) if u]
        avals = [a for a, u in zip(branches[0].out_avals, split.out_unknowns) if u]
        unknown_outs = iter(trace.record(cond_p, inputs, {"branches": split.unknown},
                                         [a.update(weak_type=False) for a in avals]))  # fmt: skip
    known_iter = iter(known_outs[:n_known])
    return [next(unknown_outs) if u else next(known_iter) for u in split.out_unknowns]


ir.partial_eval_rules[cond_p] = _cond_partial_eval

_NOTHING = ClosedJaxpr(Jaxpr([], [], [], []), [])


def _cond_partial_eval_eqn(eqn: ir.Equation, in_unknowns: list) -> tuple:
    """A cond equation inside a program being split: a known cond (known outputs and the
    residuals) and an unknown one (taking the index and the residuals)."""
    branches = eqn.params["branches"]
    index = eqn.inputs[0]
    if in_unknowns[0]:
        # the index is unknown: all of it is; the known equation does nothing (dropped
        # by dead-code elimination)
        nothing = ir.Equation(cond_p, [Literal(np.int32(0), ShapedArray((), _INDEX_DTYPE))],
                              {"branches": (_NOTHING,)}, [])  # fmt: skip
        return nothing, eqn, [True] * len(eqn.outputs)
    unknowns = tuple(in_unknowns[1:])
    split = _cached(branches, ("partial", unknowns), lambda: _joint_split(branches, unknowns))
    operands = eqn.inputs[1:]
    known_outs = [v for v, u in zip(eqn.outputs, split.out_unknowns) if not u]
    residuals = [Var(a) for a in split.known[0].out_avals[len(known_outs) :]]
    known_eqn = ir.Equation(cond_p, [index, *(a for a, u in zip(operands, unknowns) if not u)],
                            {"branches": split.known}, known_outs + residuals)  # fmt: skip
    unknown_eqn = ir.Equation(
        cond_p, [index, *residuals, *(a for a, u in zip(operands, unknowns) if u)],
        {"branches": split.unknown}, [v for v, u in zip(eqn.outputs, split.out_unknowns) if u],
    )  # fmt: skip
    return known_eqn, unknown_eqn, split.out_unknowns


ir.partial_eval_jaxpr_rules[cond_p] = _cond_partial_eval_eqn


# Transposition: a cond of the transposed branches (known operands and nonzero output
# cotangents in; the cotangents of the linear operands nonzero in any branch out).
def _transpose_branches(branches: tuple, undefined: tuple, ct_nonzero: tuple):
    progs = [
        b.derive(("transpose", undefined, ct_nonzero),
                            lambda b=b: jit_interp._transpose_program(b, undefined, ct_nonzero))
        for b in branches
    ]  # fmt: skip
    in_nonzero = _union([nz for _, nz in progs])
    linear_avals = [a.update(weak_type=False) for a, u in zip(branches[0].in_avals, undefined) if u]

    def padded(t_closed: ClosedJaxpr, own: list[bool]) -> ClosedJaxpr:
        if own == in_nonzero:
            return t_closed

        def fun(*xs):
            cts = iter(ir.eval_closed(t_closed, xs))
            return [next(cts) if o else ad.zeros_like_aval(a)
                    for a, o, u in zip(linear_avals, own, in_nonzero) if u]  # fmt: skip

        return _retraced(t_closed, fun, "transpose")

    return tuple(padded(c, nz) for c, nz in progs), in_nonzero


def _cond_transpose(cts, index, *args, branches):
    undefined = tuple(ad.is_undefined(a) for a in args)
    ct_nonzero = tuple(type(ct) is not ad.Zero and ct is not None for ct in cts)
    if not any(ct_nonzero):
        return [None] + [ad.Zero(a.aval) if u else None for a, u in zip(args, undefined)]
    t_branches, in_nonzero = _cached(
        branches, ("transpose", undefined, ct_nonzero),
        lambda: _transpose_branches(branches, undefined, ct_nonzero),
    )  # fmt: skip
    known = [a for a, u in zip(args, undefined) if not u]
    outs = cond_p.bind(index, *known, *(ct for ct, nz in zip(cts, ct_nonzero) if nz),
                       branches=t_branches)  # fmt: skip
    return [None, *jit_interp.operand_cotangents(args, undefined, in_nonzero, outs)]


cond_p.transpose = _cond_transpose
cond_p.linear = True  # linear in the operands its branches use linearly


# Batching. The same index for every example: a cond of the batched branches (an output
# batched in one branch is batched, along axis 0, in all). A batched index: every branch
# runs on the whole batch and each output is selected per example, as JAX does.
def _batch_branches(branches: tuple, in_avals: list, dims: tuple, size: int):
    progs = [
        b.derive(("batch", dims, tuple((a.shape, a.dtype) for a in in_avals)),
                            lambda b=b: jit_interp._batch_program(b, in_avals, dims, size))
        for b in branches
    ]  # fmt: skip
    out_batched = _union([bt for _, bt in progs])

    def padded(b_closed: ClosedJaxpr, own: list[bool]) -> ClosedJaxpr:
        if own == out_batched:
            return b_closed

        def fun(*xs):
            outs = ir.eval_closed(b_closed, xs)
            return [batching.broadcast_batch(o, size, 0) if u and not b else o
                    for o, b, u in zip(outs, own, out_batched)]  # fmt: skip

        return _retraced(b_closed, fun, "vmap")

    return tuple(padded(c, bt) for c, bt in progs), out_batched


def _cond_batch(args, dims, *, branches):
    from funcgrad._src.lax.elementwise import eq_p, select_p
    from funcgrad._src.lax.structural import broadcast_in_dim_p

    size = batching.axis_size_of(args, dims)
    index, operands = args[0], list(args[1:])
    index_dim, op_dims = dims[0], tuple(dims[1:])
    if index_dim is None:
        in_avals = [get_aval(a).update(weak_type=False) for a in operands]
        key = ("batch", op_dims, tuple((a.shape, a.dtype) for a in in_avals))
        b_branches, out_batched = _cached(
            branches, key, lambda: _batch_branches(branches, in_avals, op_dims, size)
        )
        outs = cond_p.bind(index, *operands, branches=b_branches)
        return outs, [0 if b else None for b in out_batched]
    index = batching.moveaxis(index, index_dim, 0)
    results = [
        batching.batch_flat(lambda *xs, b=b: ir.eval_closed(b, xs), operands, op_dims, size,
                            move_to=0)[0]
        for b in branches
    ]  # fmt: skip
    outs = []
    for j in range(len(branches[0].out_avals)):
        out = results[0][j]
        shape = get_aval(out).shape
        for i in range(1, len(branches)):
            pick = eq_p.bind1(index, np.int32(i))
            pick = broadcast_in_dim_p.bind1(pick, shape=shape, broadcast_dimensions=(0,))
            out = select_p.bind1(pick, results[i][j], out)
        outs.append(out)
    return outs, [0] * len(outs)


cond_p.batch = _cond_batch
