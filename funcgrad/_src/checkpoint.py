"""``checkpoint`` (``remat``): trade memory for computation in reverse mode.

``checkpoint(f)`` computes what ``f`` computes, but when it is differentiated in
reverse mode the values ``f`` computes internally are not kept for the backward
pass: only ``f``'s inputs are, and the backward pass recomputes the rest from them.

It binds ``remat_p``, a primitive whose parameter is ``f``'s program (a
:class:`~funcgrad._src.ir.ClosedJaxpr`). Its rules follow ``jit_p``'s
(:mod:`funcgrad._src.interpreters.jit`) except for partial evaluation (reverse
mode): where ``jit_p`` splits its program into a known part that returns the
primal outputs *and the residuals* and a linear part that reads them,
``remat_p``'s known part returns the primal outputs only, and its unknown part
takes the known *inputs* and recomputes the residuals itself before the linear
computation. That unknown part is therefore not purely linear: its transpose
first re-runs the known computation from the saved inputs, then transposes.
``remat_p`` is never inlined by jit's optimiser, so the recomputation stays a
separate call that common-subexpression elimination cannot merge back into the
forward computation (which would keep the forward values alive again).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from funcgrad._src import ir
from funcgrad._src.core import Primitive, Tracer, current_trace, get_aval, set_current_trace
from funcgrad._src.interpreters import optimize
from funcgrad._src.interpreters.jit import (
    call_batch,
    call_jvp,
    call_transpose,
    executable,
    jit_p,
)
from funcgrad._src.ir import ClosedJaxpr, Jaxpr, StagingTrace, Var
from funcgrad._src.tree_util import tree_flatten, tree_unflatten

__all__ = ["checkpoint", "remat"]

# --- the primitive ---------------------------------------------------------------------

remat_p = Primitive("remat")


def _remat_impl(backend, *args, jaxpr, prevent_cse=True, policy=None):
    exe = executable(jaxpr, backend, "remat")
    buffers = [
        a if isinstance(a, backend.buffer_type) else backend.xp.asarray(a, dtype=aval.dtype)
        for a, aval in zip(args, jaxpr.in_avals)
    ]
    return list(exe.fn(*buffers))


def _remat_abstract_eval(*avals, jaxpr, prevent_cse=True, policy=None):
    expected = jaxpr.in_avals
    if len(avals) != len(expected) or not all(
        a.shape == b.shape and a.dtype == b.dtype for a, b in zip(avals, expected)
    ):
        raise TypeError(
            f"checkpoint: operands {[a.str_short() for a in avals]} do not match the "
            f"program's inputs {[a.str_short() for a in expected]}"
        )
    return [a.update(weak_type=False) for a in jaxpr.out_avals]


remat_p.impl = _remat_impl
remat_p.abstract_eval = _remat_abstract_eval


# JVP: a remat of the JVP program (so that its linearization recomputes too).
def _rebind(prevent_cse: bool, policy: Callable | None) -> Callable:
    return lambda operands, closed, tag: remat_p.bind(
        *operands, jaxpr=closed, prevent_cse=prevent_cse, policy=policy
    )


def _remat_jvp(primals, tangents, *, jaxpr, prevent_cse=True, policy=None):
    return call_jvp(_rebind(prevent_cse, policy), jaxpr, primals, tangents)


remat_p.jvp = _remat_jvp


# Partial evaluation (reverse mode).
class _RematSplit:
    """``closed`` split by unknown inputs, keeping only what ``policy`` saves.

    ``known`` takes the known inputs and returns the known outputs followed by the
    *saved* values: outputs of known equations that ``policy`` marks saveable and that
    the recomputation needs (none without a policy). ``unknown`` takes the known inputs
    it needs (``kept``: their positions among the known inputs), then the saved values,
    then all the unknown inputs; it recomputes the rest from them and returns the
    unknown outputs.
    """

    __slots__ = ("kept", "known", "num_saved", "out_unknowns", "unknown")

    def __init__(self, closed: ClosedJaxpr, unknowns: tuple, policy: Callable | None):
        split = ir.partial_eval_jaxpr(closed, unknowns)
        self.out_unknowns = split.out_unknowns
        k = split.known.jaxpr
        n_known_outs = len(k.outvars) - split.num_res
        j = closed.jaxpr
        # saveable: outputs of the program's own known equations that the policy keeps
        # (a known half of a nested call is a new equation: never dropped from ``full``)
        own = {id(e) for e in j.eqns}
        saveable: dict[Var, None] = {}
        if policy is not None:
            for e in k.eqns:
                if id(e) in own and _saves(policy, e):
                    saveable.update(dict.fromkeys(e.outputs))
        outs = [a for a, u in zip(j.outvars, self.out_unknowns) if u]
        eqns = [e for e in j.eqns if not (e.outputs and all(v in saveable for v in e.outputs))]
        full = optimize.dce(ClosedJaxpr(Jaxpr(j.constvars, j.invars, eqns, outs), closed.consts))
        live = {a for e in full.jaxpr.eqns for a in e.inputs if type(a) is Var}
        live.update(a for a in outs if type(a) is Var)
        saved = [v for v in saveable if v in live]
        self.num_saved = len(saved)
        self.known = optimize.dce(
            ClosedJaxpr(
                Jaxpr(k.constvars, k.invars, k.eqns, k.outvars[:n_known_outs] + saved),
                split.known.consts,
            )
        )
        known_invars = [v for v, u in zip(j.invars, unknowns) if not u]
        self.kept = tuple(i for i, v in enumerate(known_invars) if v in live)
        invars = [known_invars[i] for i in self.kept] + saved
        invars += [v for v, u in zip(j.invars, unknowns) if u]
        fj = full.jaxpr
        self.unknown = ClosedJaxpr(Jaxpr(fj.constvars, invars, fj.eqns, fj.outvars), full.consts)


def _saves(policy: Callable, eqn: ir.Equation) -> bool:
    return bool(policy(eqn.primitive, *[a.aval for a in eqn.inputs], **eqn.params))


def _split(closed: ClosedJaxpr, unknowns: tuple, policy: Callable | None) -> _RematSplit:
    return closed.derive(
        ("remat_partial", unknowns, policy), lambda: _RematSplit(closed, unknowns, policy)
    )


def _remat_partial_eval(trace: StagingTrace, args: tuple, params: dict) -> list:
    closed = params["jaxpr"]
    unknowns = tuple(trace.is_own(x) for x in args)
    split = _split(closed, unknowns, params.get("policy"))
    known_args = [x for x, u in zip(args, unknowns) if not u]
    # the known part runs now (its intermediates are temporaries of one call, except the
    # values the policy saves) ...
    with set_current_trace(trace.parent):
        known_outs = jit_p.bind(*known_args, jaxpr=split.known, name="remat_known")
    n_saved = split.num_saved
    saved = known_outs[len(known_outs) - n_saved:] if n_saved else []
    known_outs = known_outs[: len(known_outs) - n_saved]
    # ... and the recorded unknown part keeps only the known inputs it needs
    inputs = [trace.to_atom(known_args[i]) for i in split.kept]
    inputs += [trace.to_atom(v) for v in saved]
    inputs += [x.var for x, u in zip(args, unknowns) if u]
    unknown_outs = iter(trace.record(remat_p, inputs, {**params, "jaxpr": split.unknown},
                                     split.unknown.out_avals))  # fmt: skip
    known_iter = iter(known_outs)
    return [next(unknown_outs) if u else next(known_iter) for u in split.out_unknowns]


ir.partial_eval_rules[remat_p] = _remat_partial_eval


def _remat_partial_eval_eqn(eqn: ir.Equation, in_unknowns: list) -> tuple:
    """A remat equation inside a program being split: a known call returning the known
    outputs, and an unknown remat taking the known inputs (no residuals)."""
    unknowns = tuple(in_unknowns)
    split = _split(eqn.params["jaxpr"], unknowns, eqn.params.get("policy"))
    known_inputs = [a for a, u in zip(eqn.inputs, unknowns) if not u]
    saved = [Var(a) for a in split.known.out_avals[len(split.known.out_avals) - split.num_saved:]]
    known_eqn = ir.Equation(
        jit_p, known_inputs, {"jaxpr": split.known, "name": "remat_known"},
        [v for v, u in zip(eqn.outputs, split.out_unknowns) if not u] + saved,
    )  # fmt: skip
    unknown_eqn = ir.Equation(
        remat_p,
        [known_inputs[i] for i in split.kept] + saved
        + [a for a, u in zip(eqn.inputs, unknowns) if u],
        {**eqn.params, "jaxpr": split.unknown},
        [v for v, u in zip(eqn.outputs, split.out_unknowns) if u],
    )
    return known_eqn, unknown_eqn, split.out_unknowns


ir.partial_eval_jaxpr_rules[remat_p] = _remat_partial_eval_eqn


# Transposition: jit's transposed program (it re-runs the non-linear part from the known
# operands, then transposes the linear part), bound as a remat so it stays a separate call.
def _remat_transpose(cts, *args, jaxpr, prevent_cse=True, policy=None):
    return call_transpose(_rebind(prevent_cse, policy), jaxpr, cts, args)


remat_p.transpose = _remat_transpose


# Batching: a remat of the vmapped program.
def _remat_batch(args, dims, *, jaxpr, prevent_cse=True, policy=None):
    return call_batch(_rebind(prevent_cse, policy), jaxpr, args, dims)


remat_p.batch = _remat_batch


# --- the user-facing function ------------------------------------------------------------


def checkpoint(
    fun: Callable,
    *,
    prevent_cse: bool = True,
    static_argnums: int | Sequence[int] = (),
    policy: Callable[..., bool] | None = None,
) -> Callable:
    """``fun``, but reverse-mode differentiation recomputes its intermediate values in the
    backward pass instead of storing them: only its inputs are kept (and the values
    ``policy`` saves).

    Wrapping each layer of a deep network bounds the memory that its gradient holds
    to the layers' inputs (plus one layer's intermediates at a time), for about one
    more forward computation.

    Differs from JAX: ``prevent_cse=False`` is accepted but changes nothing (the
    recomputation is always kept apart from the forward computation, as with the
    default ``True``).

    Args:
        fun: a function of arrays (pytrees of arrays) returning arrays (pytrees).
        prevent_cse: accepted for compatibility, see above.
        static_argnums: positions of arguments that are Python values (hashable),
            not arrays: they are fixed when ``fun`` is traced.
        policy: ``policy(primitive, *input_avals, **params) -> bool``, asked for each
            equation of ``fun``'s program that the forward pass computes: ``True`` keeps
            its outputs for the backward pass instead of recomputing them (see
            ``funcgrad.checkpoint_policies``: ``dots_saveable``,
            ``save_only_these_names``, ...). ``None`` saves nothing.

    Returns:
        A function with ``fun``'s signature and results.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> from funcgrad import checkpoint
        >>> layer = checkpoint(lambda x, w: fnp.tanh(x @ w))
        >>> x, w = fnp.ones(3), fnp.eye(3) * 0.5
        >>> g = funcgrad.grad(lambda w: layer(layer(x, w), w).sum())(w)
        >>> g.shape
        (3, 3)
    """
    if policy is not None and not callable(policy):
        raise TypeError(
            f"checkpoint: policy must be a function (primitive, *avals, **params) -> bool, "
            f"such as funcgrad.checkpoint_policies.dots_saveable; got {type(policy).__name__}"
        )
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    static_argnums = tuple(sorted(set(static_argnums)))
    cache: dict = {}

    @functools.wraps(fun)
    def wrapped(*args):
        n = len(args)
        static_pos = []
        for i in static_argnums:
            j = i + n if i < 0 else i
            if not 0 <= j < n:
                raise ValueError(
                    f"checkpoint: static_argnums {static_argnums} refers to argument {i}, but "
                    f"the function was called with {n} arguments"
                )
            static_pos.append(j)
        static = tuple((j, args[j]) for j in static_pos)
        try:
            hash(static)
        except TypeError:
            raise TypeError(
                f"checkpoint: static arguments must be hashable; got "
                f"{[type(v).__name__ for _, v in static]} (use tuples instead of lists)"
            ) from None
        dyn = [a for j, a in enumerate(args) if j not in static_pos]
        leaves, in_tree = tree_flatten(dyn)
        leaves = [_as_array(x) for x in leaves]
        avals = [get_aval(x) for x in leaves]
        key = (in_tree, static, tuple((a.shape, a.dtype, a.weak_type) for a in avals))
        entry = cache.get(key)
        lifted: list = []
        if entry is None:
            out_tree_box: list = []

            def flat_fun(*xs):
                it = iter(tree_unflatten(in_tree, list(xs)))
                full = [dict(static)[j] if j in static_pos else next(it) for j in range(n)]
                out = fun(*full)
                out_flat, out_tree = tree_flatten(out)
                out_tree_box.append(out_tree)
                return out_flat

            closed, lifted = ir.trace_closed(flat_fun, avals, current_trace(), "checkpoint")
            closed = optimize.simplify(closed)
            entry = (closed, out_tree_box[0])
            # a program closing over values (outer tracers, arrays) is traced afresh on
            # every call: those values may differ from call to call
            if not lifted and not closed.consts:
                if len(cache) >= 64:
                    cache.clear()
                cache[key] = entry
        closed, out_tree = entry
        outs = remat_p.bind(
            *lifted, *leaves, jaxpr=closed, prevent_cse=bool(prevent_cse), policy=policy
        )
        return tree_unflatten(out_tree, outs)

    return wrapped


remat = checkpoint


def _as_array(x: Any) -> Any:
    if isinstance(x, Tracer):
        return x
    from funcgrad._src.numpy.util import asarray

    return asarray(x)
