"""The ``linear_solve`` primitive: ``x = A^{-1} b`` by a given solver, differentiated
implicitly (JAX's ``custom_linear_solve`` design, used by ``funcgrad.scipy.sparse.linalg``).

An iterative solver's output is not a differentiable function of its input in any
useful sense (its Krylov space depends on ``b``), so the derivative is never taken
through the solver's steps. Instead the primitive carries four traced programs: the
operator ``A`` (``matvec``), its transpose (``vecmat``), the solver for ``A`` and the
solver for ``A^T``, each with the values it closes over as leading operands.

* jvp: ``dx = A^{-1} (db - dA x)``, one more solve (``dA x`` is the jvp of ``matvec``
  in its closed-over values, at the solution).
* transpose (linear in ``b``): ``ct_b = A^{-T} ct_x``, the same primitive with the roles
  of ``A`` and ``A^T`` swapped, so reverse mode and higher orders compose.
* batch: each program is batched (the solver's loops run per example) and the
  primitive is bound again, so ``grad(vmap(...))`` still differentiates implicitly.
* impl: runs the solver program.

Derivatives are exact when the solves converge; the solver's own closed-over values
(a preconditioner, an initial guess) get no derivative, as the solution does not
depend on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from funcgrad._src import ir
from funcgrad._src.core import (
    EVAL_TRACE,
    Array,
    Primitive,
    _new_array,
    current_trace,
    get_aval,
    set_current_trace,
)
from funcgrad._src.interpreters import ad, batching

__all__ = ["linear_solve"]

linear_solve_p = Primitive("linear_solve", linear=False)

_PROGRAMS = ("matvec", "vecmat", "solve", "transpose_solve")


def _split(args: Sequence[Any], num_consts: tuple[int, ...]) -> tuple[list, list]:
    groups, start = [], 0
    for n in num_consts:
        groups.append(list(args[start : start + n]))
        start += n
    return groups, list(args[start:])


def _eval(program: ir.ClosedJaxpr, args: Sequence[Any]) -> list:
    return list(ir.eval_closed(program, list(args)))


def _impl(backend, *args, matvec, vecmat, solve, transpose_solve, num_consts):
    arrays = [_new_array(a, backend) if isinstance(a, backend.buffer_type) else a for a in args]
    consts, b = _split(arrays, num_consts)
    with set_current_trace(EVAL_TRACE):
        outs = _eval(solve, [*consts[2], *b])
    return [o._buffer if type(o) is Array else o for o in outs]


def _abstract_eval(*avals, matvec, vecmat, solve, transpose_solve, num_consts):
    return [a.update(weak_type=False) for a in avals[sum(num_consts) :]]


def _jvp(primals, tangents, **params):
    num_consts = params["num_consts"]
    x = linear_solve_p.bind(*primals, **params)
    consts, _b = _split(primals, num_consts)
    const_tangents, db = _split(tangents, num_consts)
    rhs = list(db)
    mv_tangents = const_tangents[0]
    if any(type(t) is not ad.Zero for t in mv_tangents):
        # dA x: the derivative of the operator in its closed-over values, at the solution
        trace, outs = ad.jvp_flat(
            lambda *c: _eval(params["matvec"], [*c, *x]), consts[0], mv_tangents, current_trace()
        )
        _, dax = ad.unpack_outputs(trace, outs)
        rhs = [r if type(d) is ad.Zero else ad.add_tangents(r, -d) for r, d in zip(rhs, dax)]
    if all(type(r) is ad.Zero for r in rhs):
        return x, [ad.Zero(get_aval(o).update(weak_type=False)) for o in x]
    rhs = [ad.instantiate(r) for r in rhs]
    return x, linear_solve_p.bind(*primals[: sum(num_consts)], *rhs, **params)


def _transposed(params: dict) -> dict:
    n_mv, n_vm, n_s, n_t = params["num_consts"]
    return {
        "matvec": params["vecmat"], "vecmat": params["matvec"], "solve": params["transpose_solve"],
        "transpose_solve": params["solve"], "num_consts": (n_vm, n_mv, n_t, n_s),
    }  # fmt: skip


def _transpose(cts, *args, **params):
    num_consts = params["num_consts"]
    consts, _b = _split(args, num_consts)
    if any(ad.is_undefined(c) for group in consts for c in group):
        raise NotImplementedError(
            "linear_solve: transposing with respect to the operator's values is not defined "
            "(the solve is linear only in the right-hand side)"
        )
    cts = [ad.instantiate(ct) for ct in cts]
    mv, vm, s, t = consts
    ct_b = linear_solve_p.bind(*vm, *mv, *t, *s, *cts, **_transposed(params))
    return [None] * sum(num_consts) + list(ct_b)


def _batch_program(program: ir.ClosedJaxpr, num_consts: int, const_dims: list, size: int,
                   const_avals: list, vec_avals: list) -> ir.ClosedJaxpr:  # fmt: skip
    """``program`` on batched inputs: constants batched at ``const_dims`` (0 or None),
    vectors batched at 0; outputs batched at 0."""
    dims = [*const_dims, *([0] * len(vec_avals))]

    def fun(*xs):
        outs, _ = batching.batch_flat(
            lambda *ys: _eval(program, ys), list(xs), dims, size, move_to=0
        )
        return outs

    closed, lifted = ir.trace_closed(fun, [*const_avals, *vec_avals], None, "linear_solve batch")
    assert not lifted, "a batched linear_solve program closed over a tracer"
    return closed


def _batch(args, dims, **params):
    num_consts = params["num_consts"]
    size = batching.axis_size_of(args, dims)
    moved = [a if d in (None, 0) else batching.moveaxis(a, d, 0) for a, d in zip(args, dims)]
    dims = [None if d is None else 0 for d in dims]
    consts, b = _split(moved, num_consts)
    const_dims, _ = _split(dims, num_consts)
    b = [
        x if d is not None else batching.broadcast_batch(x, size, 0)
        for x, d in zip(b, dims[sum(num_consts) :])
    ]
    vec_avals = [get_aval(x).update(weak_type=False) for x in b]
    new = {"num_consts": num_consts}
    for name, group, gdims in zip(_PROGRAMS, consts, const_dims):
        avals = [get_aval(c) for c in group]
        new[name] = _batch_program(params[name], len(group), gdims, size, avals, vec_avals)
    outs = linear_solve_p.bind(*[c for group in consts for c in group], *b, **new)
    return outs, [0] * len(outs)


linear_solve_p.impl = _impl
linear_solve_p.abstract_eval = _abstract_eval
linear_solve_p.jvp = _jvp
linear_solve_p.transpose = _transpose
linear_solve_p.batch = _batch


def linear_solve(matvec: Callable, b: Sequence[Any], solve: Callable,
                 transpose_solve: Callable, symmetric: bool) -> list:  # fmt: skip
    """``solve(matvec, b)`` as one ``linear_solve`` primitive, differentiated implicitly.

    ``matvec`` and the solvers map a flat list of arrays (``b``'s shapes) to another;
    ``transpose_solve(vecmat, c)`` solves ``A^T y = c`` given ``vecmat``, the transpose
    of ``matvec`` (found by ``linear_transpose``; with ``symmetric`` it is ``matvec``
    itself and ``transpose_solve`` is not used).
    """
    from funcgrad._src.autodiff import linear_transpose

    parent = current_trace()
    avals = [get_aval(x).update(weak_type=False) for x in b]
    mv, mv_c = ir.trace_closed(lambda *v: list(matvec(list(v))), avals, parent, "linear_solve")
    s, s_c = ir.trace_closed(lambda *v: list(solve(matvec, list(v))), avals, parent, "linear_solve")
    if symmetric:
        vm, vm_c, t, t_c = mv, mv_c, s, s_c
    else:
        # b only gives the shapes and dtypes here
        transposed = linear_transpose(lambda v: list(matvec(list(v))), list(b))

        def vecmat(v):
            (ct,) = transposed(list(v))
            return list(ct)

        vm, vm_c = ir.trace_closed(lambda *v: vecmat(v), avals, parent, "linear_solve")
        t, t_c = ir.trace_closed(
            lambda *v: list(transpose_solve(vecmat, list(v))), avals, parent, "linear_solve"
        )
    num_consts = (len(mv_c), len(vm_c), len(s_c), len(t_c))
    return linear_solve_p.bind(
        *mv_c, *vm_c, *s_c, *t_c, *b, matvec=mv, vecmat=vm, solve=s, transpose_solve=t,
        num_consts=num_consts,
    )  # fmt: skip
