"""Eager reverse mode: a tape of cached per-primitive linearizations.

This is the same linearize-then-transpose as :mod:`ad`, specialised for the common
case of ``grad`` called eagerly (its parent is the eval trace). The general route
runs every operation through three interpreters (JVP, partial evaluation, eval),
and pays that dispatch twice per operation: a small function spends almost all its
time there. Here each primitive application is linearized once per *signature*
(primitive, parameters, operand types, which operands carry tangents):

1. the primitive's own ``jvp`` rule is traced on abstract values and split by
   partial evaluation into a *known* program (primal outputs and residuals, from
   the primal operands) and a *linear* program (tangent outputs, from the
   residuals and the operands' tangents);
2. the linear program is transposed with :func:`ad.backward_pass`, itself traced
   into a program (residuals and output cotangents in, operand cotangents out);
3. both are compiled to flat lists of backend kernel calls on raw buffers.

At run time an operation looks up its signature, runs the known kernels, and
pushes the residuals on a tape; the backward pass runs each entry's transpose
kernels in reverse order. Symbolic zeros carry over: an operand without a tangent
is not part of the signature's linear program, so nothing is computed for it.

Values are :class:`TapeTracer` (a concrete primal and the index of its tangent on
the tape). Under any other parent trace (grad of grad, grad inside jit)
``autodiff`` takes the general route.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from funcgrad._src.core import (
    EVAL_TRACE,
    Array,
    Primitive,
    ShapedArray,
    Trace,
    Tracer,
    _new_array,
    current_backend,
    escaped_tracer_error,
    get_aval,
    set_current_trace,
)
from funcgrad._src.core import _context as trace_context
from funcgrad._src.interpreters import ad
from funcgrad._src.interpreters.codegen import generate
from funcgrad._src.interpreters.optimize import optimize_for_execution
from funcgrad._src.ir import ClosedJaxpr, StagingTrace
from funcgrad._src.lax import indexing

_SCALARS = (bool, int, float, complex)


# --- compiled programs on raw buffers ------------------------------------------------


class CompiledProgram:
    """A linearization's program, compiled by jit's code generator (straight-line kernel
    calls on raw buffers, intermediate buffers reused) for the backend it runs on."""

    __slots__ = ("backend", "closed", "executable", "run_on")

    def __init__(self, jaxpr, consts: Sequence[Any]):
        self.closed = optimize_for_execution(ClosedJaxpr(jaxpr, list(consts)))
        self.backend = None
        self.executable = None
        self.run_on = None  # the compiled function, for ``backend``

    def for_backend(self, backend) -> Callable:
        """The function of raw buffers (returning a tuple of buffers) for ``backend``."""
        if backend is not self.backend:
            self.executable = generate(self.closed, backend, name="tape_program")
            self.backend, self.run_on = backend, self.executable.fn
        return self.run_on

    @property
    def source(self) -> str:
        return self.executable.source if self.executable is not None else ""


class Linearization:
    """One signature's compiled linearization: forward kernels and transpose kernels."""

    __slots__ = ("known", "num_outputs", "single_output", "tangent_outs", "transpose", "transpose_program",
                 "ct_inputs", "ct_operands", "ct_out_avals", "num_residuals")  # fmt: skip

    def __init__(self, jvp_rule: Callable, in_avals: list[ShapedArray], has_tangent: list[bool]):
        known_trace = StagingTrace(EVAL_TRACE, transformation="grad (linearizing)")
        primals = [known_trace.new_arg(a) for a in in_avals]
        tangent_trace = StagingTrace(known_trace, partial=True, transformation="grad (linearizing)")
        tangent_args = [
            tangent_trace.new_arg(a.update(weak_type=False))
            for a, t in zip(in_avals, has_tangent)
            if t
        ]
        it = iter(tangent_args)
        tangents = [
            next(it) if t else ad.Zero(a.update(weak_type=False))
            for a, t in zip(in_avals, has_tangent)
        ]
        try:
            with set_current_trace(tangent_trace):
                primal_outs, tangent_outs = jvp_rule(primals, tangents)
        except BaseException:
            tangent_trace.active = known_trace.active = False
            raise
        self.num_outputs = len(primal_outs)
        self.single_output = len(primal_outs) == 1 and type(tangent_outs[0]) is not ad.Zero
        # outputs whose tangent is not a symbolic zero
        self.tangent_outs = tuple(i for i, t in enumerate(tangent_outs) if type(t) is not ad.Zero)
        linear, residuals = tangent_trace.finish(
            [t.var for t in tangent_args], [tangent_outs[i] for i in self.tangent_outs]
        )
        known, known_consts = known_trace.finish(
            [p.var for p in primals], [*primal_outs, *residuals]
        )
        self.known = CompiledProgram(known, known_consts)
        self.num_residuals = len(residuals)
        # the transpose, traced: residuals and output cotangents in, operand cotangents out
        self.ct_out_avals = [v.aval for v in linear.outvars]
        transpose_trace = StagingTrace(EVAL_TRACE, transformation="grad (transposing)")
        res_args = [transpose_trace.new_arg(v.aval) for v in linear.constvars]
        ct_args = [transpose_trace.new_arg(a) for a in self.ct_out_avals]
        try:
            with set_current_trace(transpose_trace):
                cts_in = ad.backward_pass(linear, res_args, ct_args)
        except BaseException:
            transpose_trace.active = False
            raise
        # positions (among the operands with tangents) that receive a cotangent, and the
        # same positions among all the operands
        self.ct_inputs = tuple(i for i, ct in enumerate(cts_in) if type(ct) is not ad.Zero)
        with_tangent = [i for i, t in enumerate(has_tangent) if t]
        self.ct_operands = tuple(with_tangent[i] for i in self.ct_inputs)
        t_jaxpr, t_consts = transpose_trace.finish(
            [a.var for a in (*res_args, *ct_args)], [cts_in[i] for i in self.ct_inputs]
        )
        self.transpose = CompiledProgram(t_jaxpr, t_consts)
        self.transpose_program = (t_jaxpr, t_consts)  # for cotangents that are not concrete


_cache: dict = {}
_CACHE_LIMIT = 4096


_UNKEYABLE = object()

#: Primitives whose parameters hold NumPy indices, where ``True`` and ``1`` (equal and
#: hashing alike) mean different things: their keys spell out every value's type.
_INDEXERS = {
    indexing.gather_p, indexing.scatter_p, indexing.scatter_add_p, indexing.scatter_mul_p,
    indexing.scatter_min_p, indexing.scatter_max_p,
}  # fmt: skip


def _param_key(v: Any) -> Any:
    """A hashable key that tells apart every parameter value a rule could treat
    differently (``True`` vs ``1``, ``1`` vs ``1.0``), or ``_UNKEYABLE``."""
    t = type(v)
    if t is int or t is str:
        return v
    if t is tuple:
        for e in v:
            if type(e) is not int:
                break
        else:
            return v  # the common case: axes, shapes, permutations
    if t is bool or t is float or v is None:
        return (t, v)
    if isinstance(v, np.dtype):
        return v
    if t is ClosedJaxpr:
        return v  # immutable, compared by identity (the cache keeps it alive): jit's program
    if isinstance(v, tuple):  # also named tuples (IndexSlice...): the type is part of the key
        parts = []
        for e in v:
            k = _param_key(e)
            if k is _UNKEYABLE:
                return _UNKEYABLE
            parts.append(k)
        return (t, tuple(parts))
    return _UNKEYABLE


def _params_key(params: dict) -> Any:
    """A hashable key for a primitive's parameters, or ``_UNKEYABLE``."""
    if not params:
        return ()
    key = []
    for name, v in params.items():
        k = _param_key(v)
        if k is _UNKEYABLE:
            return _UNKEYABLE
        key.append(name)
        key.append(k)
    return tuple(key)


def _operand_key(x: Any) -> Any:
    """What a linearization depends on about a non-array operand: its type, not its value."""
    t = type(x)
    if t in _SCALARS:
        return t  # a weakly typed literal
    return (np.shape(x), np.result_type(x).char, t)


def _avals(primals: Sequence[Any]) -> list[ShapedArray]:
    return [get_aval(x) for x in primals]


def _mask_bits(mask: int, n: int) -> tuple[bool, ...]:
    return tuple(bool(mask >> i & 1) for i in range(n))


def _bound_rule(prim: Primitive, params: dict) -> Callable:
    rule = prim.jvp
    if rule is None:
        raise NotImplementedError(f"differentiation rule for '{prim.name}' is not implemented")
    return lambda primals, tangents: rule(primals, tangents, **params)


# --- the tape trace ---------------------------------------------------------------


class TapeTracer(Tracer):
    """A concrete primal (held as its backend buffer) and the number of its tangent."""

    __slots__ = ("backend", "buffer", "node")

    def __init__(self, trace: TapeTrace, buffer: Any, backend: Any, node: int):
        self._trace = trace
        self.buffer = buffer
        self.backend = backend
        self.node = node

    @property
    def primal(self) -> Array:
        return _new_array(self.buffer, self.backend)

    @property
    def aval(self) -> ShapedArray:
        return ShapedArray(self.buffer.shape, self.buffer.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.buffer.shape

    @property
    def dtype(self) -> np.dtype:
        return self.buffer.dtype

    @property
    def ndim(self) -> int:
        return self.buffer.ndim

    def concrete_value(self) -> Array:
        return self.primal


# A recorded operation is the tuple
#   (linearization, residuals, in_nodes, out_nodes, backend):
# the Linearization (or, for a custom_vjp call, a backward callback on arrays), the
# residual buffers its transpose reads, the tangent nodes of the operands that receive
# cotangents, those of the outputs, and the backend it ran on. (A tuple, not an object:
# one is made for every differentiated operation.)


class TapeTrace(Trace):
    """Eager differentiation that records each operation's compiled transpose on a tape."""

    transformation = "grad"

    def __init__(self, transformation: str = "grad"):
        self.parent = EVAL_TRACE
        self.active = True
        self.transformation = transformation
        self.entries: list[tuple] = []  # recorded operations, in order (layout above)
        self.num_nodes = 0  # tangents are numbered; cotangents are kept in a list by number

    def new_node(self) -> int:
        self.num_nodes += 1
        return self.num_nodes - 1

    def new_input(self, primal: Array) -> TapeTracer:
        return TapeTracer(self, primal._buffer, primal._backend, self.new_node())

    def process_primitive(self, prim: Primitive, args: tuple, params: dict) -> list:
        # The hot path of every differentiated eager operation: one pass over the operands
        # collects their buffers, tangent nodes and the linearization's cache key.
        if not self.active:
            raise RuntimeError(f"a {self.transformation} trace was used after it ended")
        backend = None
        buffers = []
        nodes = []
        parts = []  # the operands' types: with the primitive, mask and parameters, the key
        mask = 0
        bit = 1
        for x in args:
            t = type(x)
            if t is TapeTracer:
                if x._trace is not self:
                    raise escaped_tracer_error(x, prim)
                nodes.append(x.node)
                mask |= bit
                b, buf = x.backend, x.buffer
            elif t is Array:
                nodes.append(None)
                b, buf = x._backend, x._buffer
            else:
                if isinstance(x, Tracer):
                    raise escaped_tracer_error(x, prim)
                nodes.append(None)
                b = buf = None
            bit <<= 1
            if buf is not None:
                if b is not backend:
                    if backend is not None:  # mixed backends: the eager route's error
                        return EVAL_TRACE.process_primitive(prim, self._primals(args), params)
                    backend = b
                buffers.append(buf)
                parts.append(buf.shape)
                parts.append(buf.dtype.char)
            else:
                buffers.append(x)
                parts.append(_operand_key(x))
        if not mask:
            return EVAL_TRACE.process_primitive(prim, args, params)
        if not params:
            pkey = ()
        elif prim in _INDEXERS:
            pkey = _params_key(params)  # True and 1 are different indices
        else:
            pkey = tuple(params.items())  # plain values: ints, tuples, dtypes, programs
        lin = None
        key = None if pkey is _UNKEYABLE else (prim, mask, pkey, *parts)
        if key is not None:
            try:
                lin = _cache.get(key)
            except TypeError:  # an unhashable parameter: this application is not cached
                key = None
        if lin is None:  # linearize this signature (cached under ``key``, if it has one)
            primals = self._primals(args)
            lin = Linearization(
                _bound_rule(prim, params), _avals(primals), _mask_bits(mask, len(args))
            )
            if key is not None:
                if len(_cache) >= _CACHE_LIMIT:
                    _cache.clear()
                _cache[key] = lin
        try:
            known = lin.known
            run = known.run_on if backend is known.backend else known.for_backend(backend)
            results = run(*buffers)
        except Exception:
            # a kernel failure: the eager route gives the primitive's own message
            EVAL_TRACE.process_primitive(prim, self._primals(args), params)
            raise
        if lin.single_output:  # the common case, inline: one output, with a tangent
            r = results[0]
            if type(r) is not backend.buffer_type:
                r = backend.freeze(r)  # scalars from 0-d kernels become 0-d arrays
            node = self.num_nodes
            self.num_nodes = node + 1
            ct_operands = lin.ct_operands
            in_nodes = (
                (nodes[ct_operands[0]],)
                if len(ct_operands) == 1
                else tuple([nodes[i] for i in ct_operands])
            )
            self.entries.append((lin, results[1:], in_nodes, (node,), backend))
            return [TapeTracer(self, r, backend, node)]
        return self._record(lin, results, nodes, backend)

    def _primals(self, args: tuple) -> tuple:
        return tuple(x.primal if type(x) is TapeTracer and x._trace is self else x for x in args)

    def _record(self, lin: Linearization, results: list, nodes: list, backend) -> list:
        n_out = lin.num_outputs
        buffer_type = backend.buffer_type
        outs = []
        for r in results[:n_out]:
            if type(r) is not buffer_type:
                r = backend.freeze(r)
            outs.append(_new_array(r, backend))
        if not lin.tangent_outs:
            return outs
        out_nodes = []
        for i in lin.tangent_outs:
            node = self.num_nodes
            self.num_nodes += 1
            out_nodes.append(node)
            outs[i] = TapeTracer(self, outs[i]._buffer, backend, node)
        in_nodes = tuple([nodes[i] for i in lin.ct_operands])
        self.entries.append((lin, results[n_out:], in_nodes, tuple(out_nodes), backend))
        return outs

    def process_custom_jvp_call(self, fun, jvp, args, symbolic_zeros):
        if not any(type(x) is TapeTracer and x._trace is self for x in args):
            return fun(*args)  # closed-over tracers, if any, are still seen by this trace
        primals = [x.primal if type(x) is TapeTracer and x._trace is self else x for x in args]
        has_tangent = [type(x) is TapeTracer and x._trace is self for x in args]

        def rule(ps, ts):
            if not symbolic_zeros:
                ts = [ad.instantiate(t) for t in ts]
            p_out, t_out = jvp(list(ps), list(ts))
            for p, t in zip(p_out, t_out):
                if type(t) is not ad.Zero and get_aval(t).shape != get_aval(p).shape:
                    raise TypeError(
                        f"custom_jvp rule returned a tangent of shape {get_aval(t).shape} for an "
                        f"output of shape {get_aval(p).shape}; they must match"
                    )
            return p_out, t_out

        # a user's rule is linearized for this call only (it is not a cacheable signature)
        lin = Linearization(rule, _avals(primals), tuple(has_tangent))
        backend = next((p._backend for p in primals if type(p) is Array), None) or current_backend()
        buffers = [p._buffer if type(p) is Array else p for p in primals]
        results = lin.known.for_backend(backend)(*buffers)
        return self._record(
            lin, results, [x.node if h else None for x, h in zip(args, has_tangent)], backend
        )

    def process_custom_vjp_call(self, fun, fwd, bwd, args, out_tree):
        from funcgrad._src.tree_util import tree_flatten

        if not any(type(x) is TapeTracer and x._trace is self for x in args):
            return fun(*args)
        primals = [x.primal if type(x) is TapeTracer and x._trace is self else x for x in args]
        with set_current_trace(EVAL_TRACE):
            out, residuals = fwd(*primals)
        out_flat, _ = tree_flatten(out)
        diff = [i for i, x in enumerate(args) if type(x) is TapeTracer and x._trace is self]
        outs, out_nodes = [], []
        for o in out_flat:
            aval = get_aval(o).update(weak_type=False)
            if ad.differentiable_dtype(aval.dtype):
                node = self.new_node()
                out_nodes.append(node)
                o = o if type(o) is Array else _as_array(o)
                outs.append(TapeTracer(self, o._buffer, o._backend, node))
            else:
                out_nodes.append(None)
                outs.append(o)

        def transpose(cts):
            """Cotangents (arrays) of the outputs -> cotangents of the differentiated args."""
            from funcgrad._src.tree_util import tree_unflatten

            full = [ct if ct is not None else ad.zeros_like_aval(get_aval(o).update(weak_type=False))
                    for ct, o in zip(cts, out_flat)]  # fmt: skip
            flat = bwd(residuals, tree_unflatten(out_tree(), full))
            return [flat[i] for i in diff]

        in_nodes = tuple(args[i].node for i in diff)
        self.entries.append((transpose, None, in_nodes, tuple(out_nodes), None))
        return outs


# --- running forward and backward ----------------------------------------------------


def linearize_on_tape(fun: Callable, primals: Sequence[Array], transformation: str):
    """Run ``fun`` on tape tracers for ``primals``; returns the (ended) trace, the input
    tracers' nodes and ``fun``'s raw output."""
    trace = TapeTrace(transformation)
    # inputs of float or complex dtype get tangents (ints and bools never do)
    inputs = [TapeTracer(trace, p._buffer, p._backend, trace.new_node()) if p.dtype.kind in "fc" else p
              for p in primals]  # fmt: skip
    context = trace_context
    previous = context.trace
    context.trace = trace
    try:
        out = fun(*inputs)
    finally:
        context.trace = previous
        trace.active = False
    in_nodes = [x.node if type(x) is TapeTracer else None for x in inputs]
    return trace, in_nodes, out


def unpack_output(trace: TapeTrace, x: Any) -> tuple[Any, int | None]:
    """``(primal, node)`` of one output (``node`` is ``None`` if it has no tangent)."""
    if type(x) is TapeTracer and x._trace is trace:
        return x.primal, x.node
    if isinstance(x, Tracer) and not x._trace_is_live():
        raise escaped_tracer_error(x)
    return x, None


def backward(trace: TapeTrace, out_nodes: Sequence[int | None], cts: Sequence[Any],
             in_nodes: Sequence[int | None]) -> list:  # fmt: skip
    """Cotangents of the inputs' nodes (``None`` where nothing flows) for output cotangents.

    With concrete cotangents in eager mode the transposes run as kernels on raw
    buffers; otherwise (e.g. a ``vjp`` function called under vmap or jit) their
    programs are bound in the current trace.
    """
    if trace_context.trace is not EVAL_TRACE or not all([type(c) is Array for c in cts]):
        return _backward_traced(trace, out_nodes, cts, in_nodes)
    # Eagerly: the transposes' kernels on raw buffers, cotangents kept in a list by node.
    ct_env: list = [None] * trace.num_nodes
    backend = None
    for node, ct in zip(out_nodes, cts):
        if node is not None:
            backend = ct._backend
            prev = ct_env[node]
            ct_env[node] = ct._buffer if prev is None else backend.xp.add(prev, ct._buffer)
    for lin, residuals, e_in, e_out, e_backend in reversed(trace.entries):
        if len(e_out) == 1:  # the common case
            ct = ct_env[e_out[0]]
            if ct is None:
                continue
            out_cts = (ct,)
        else:
            out_cts = [ct_env[n] for n in e_out]
            if all(c is None for c in out_cts):
                continue
        if type(lin) is Linearization:
            backend = e_backend
            if len(out_cts) > 1:
                out_cts = [backend.xp.zeros(a.shape, a.dtype) if c is None else c
                           for c, a in zip(out_cts, lin.ct_out_avals)]  # fmt: skip
            transpose = lin.transpose
            run = (
                transpose.run_on if backend is transpose.backend else transpose.for_backend(backend)
            )
            in_cts = run(*residuals, *out_cts)
        else:  # a custom_vjp backward function, on arrays
            backend = backend or current_backend()
            arrays = [None if c is None else _new_array(c, backend) for c in out_cts]
            in_cts = [None if c is None else _as_array(c)._buffer for c in lin(arrays)]
        for node, ct in zip(e_in, in_cts):
            if ct is not None:
                prev = ct_env[node]
                ct_env[node] = ct if prev is None else backend.xp.add(prev, ct)
    results = []
    for node in in_nodes:
        ct = None if node is None else ct_env[node]
        if ct is None:
            results.append(None)
            continue
        if type(ct) is not backend.buffer_type:
            ct = backend.freeze(ct)
        results.append(_new_array(ct, backend))
    return results


def _as_array(x: Any) -> Array:
    from funcgrad._src.numpy.util import asarray

    return asarray(x)


def _backward_traced(trace, out_nodes, cts, in_nodes) -> list:
    from funcgrad._src.ir import eval_jaxpr

    ct_env: list = [None] * trace.num_nodes
    for node, ct in zip(out_nodes, cts):
        if node is not None:
            ct_env[node] = ct if ct_env[node] is None else ad.add_tangents(ct_env[node], ct)
    for lin, residuals, e_in, e_out, e_backend in reversed(trace.entries):
        out_cts = [ct_env[n] for n in e_out]
        if all(c is None for c in out_cts):
            continue
        if type(lin) is not Linearization:
            in_cts = lin(out_cts)
        else:
            out_cts = [
                ad.zeros_like_aval(a) if c is None else c for c, a in zip(out_cts, lin.ct_out_avals)
            ]
            residuals = [_new_array(r if type(r) is e_backend.buffer_type else e_backend.freeze(r), e_backend)
                         for r in residuals]  # fmt: skip
            jaxpr, consts = lin.transpose_program
            in_cts = eval_jaxpr(jaxpr, consts, [*residuals, *out_cts])
        for node, ct in zip(e_in, in_cts):
            if ct is None:
                continue
            prev = ct_env[node]
            ct_env[node] = ct if prev is None else ad.add_tangents(prev, ct)
    return [None if node is None else ct_env[node] for node in in_nodes]
