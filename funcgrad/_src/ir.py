"""The typed program representation ("jaxpr"): variables, equations, programs.

A :class:`Jaxpr` is a straight-line program in A-normal form: typed input
variables, constant variables (with their values kept beside the program),
equations ``outs = prim[params](ins)``, and outputs. Reverse mode records the
linear (tangent) part of a computation as a Jaxpr and transposes it; jit traces a
whole function to one, optimises it and generates code from it.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad._src.ir import trace_to_jaxpr
    >>> jaxpr, consts = trace_to_jaxpr(lambda x: fnp.sin(x) * 2.0, [fnp.ones(3).aval])
    >>> print(jaxpr)
    { lambda ; a:float64[3]. let
        b:float64[3] = sin a
        c:float64[3] = mul b 2.0
      in (c,) }
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Sequence

import numpy as np

from funcgrad._src.core import (
    Array,
    Primitive,
    ShapedArray,
    Trace,
    Tracer,
    escaped_tracer_error,
    get_aval,
    set_current_trace,
)
from funcgrad._src.core import _context as trace_context


class Var:
    """A program variable: an abstract value and an identity (names are given when printing)."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self) -> str:
        return f"Var({self.aval.str_short()})"


class Literal:
    """A constant written into the program text: a Python or NumPy scalar."""

    __slots__ = ("val", "aval")

    def __init__(self, val: Any, aval: ShapedArray):
        self.val = val
        self.aval = aval

    def __repr__(self) -> str:
        return f"Literal({self.val!r})"


Atom = Var | Literal


class Equation:
    """``outs = primitive[params](inputs)``."""

    __slots__ = ("primitive", "inputs", "params", "outputs")

    def __init__(self, primitive: Primitive, inputs: list, params: dict, outputs: list[Var]):
        self.primitive = primitive
        self.inputs = inputs
        self.params = params
        self.outputs = outputs

    def __repr__(self) -> str:
        return f"Equation({self.primitive.name}, {len(self.inputs)} in, {len(self.outputs)} out)"


class Jaxpr:
    """A typed straight-line program.

    Attributes:
        constvars: variables bound to constant values (kept outside the program).
        invars: the inputs.
        eqns: the equations, in execution order.
        outvars: the outputs (variables or literals).
    """

    __slots__ = ("constvars", "invars", "eqns", "outvars")

    def __init__(self, constvars: list[Var], invars: list[Var], eqns: list[Equation], outvars: list):
        self.constvars = constvars
        self.invars = invars
        self.eqns = eqns
        self.outvars = outvars

    @property
    def in_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.invars]

    @property
    def out_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.outvars]

    def __str__(self) -> str:
        return pretty_print(self)

    def __repr__(self) -> str:
        return f"<Jaxpr with {len(self.invars)} inputs, {len(self.eqns)} equations>"


def _names():
    for n in itertools.count(1):
        s = ""
        while n:
            n, r = divmod(n - 1, 26)
            s = chr(ord("a") + r) + s
        yield s


def _format_param(value: Any) -> str:
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, Jaxpr):
        return "{ ... }"
    return repr(value) if isinstance(value, str) else str(value)


def pretty_print(jaxpr: Jaxpr) -> str:
    """The program as text, one equation a line, with typed variables."""
    names: dict[Var, str] = {}
    fresh = _names()

    def name(atom, typed=False) -> str:
        if isinstance(atom, Literal):
            return repr(atom.val.item() if isinstance(atom.val, np.generic) else atom.val)
        if atom not in names:
            names[atom] = next(fresh)
        return f"{names[atom]}:{atom.aval.str_short()}" if typed else names[atom]

    consts = " ".join(name(v, True) for v in jaxpr.constvars)
    ins = " ".join(name(v, True) for v in jaxpr.invars)
    lines = [f"{{ lambda {consts}; {ins}. let"]
    for eqn in jaxpr.eqns:
        outs = " ".join(name(v, True) for v in eqn.outputs)
        params = ", ".join(f"{k}={_format_param(v)}" for k, v in eqn.params.items())
        params = f"[{params}]" if params else ""
        args = " ".join(name(a) for a in eqn.inputs)
        lines.append(f"    {outs} = {eqn.primitive.name}{params} {args}".rstrip())
    outs = ", ".join(name(a) for a in jaxpr.outvars)
    lines.append(f"  in ({outs}{',' if len(jaxpr.outvars) == 1 else ''}) }}")
    return "\n".join(lines)


class JaxprTypeError(TypeError):
    """A program is ill-typed: a variable used before definition, or a type mismatch."""


def typecheck(jaxpr: Jaxpr) -> None:
    """Check that every variable is defined once before use and every equation's output
    types are what its primitive's abstract evaluation gives.

    Raises:
        JaxprTypeError: naming the equation and the mismatch.
    """
    defined: set[Var] = set()
    for v in (*jaxpr.constvars, *jaxpr.invars):
        if v in defined:
            raise JaxprTypeError(f"variable {v} is bound twice")
        defined.add(v)
    for i, eqn in enumerate(jaxpr.eqns):
        for a in eqn.inputs:
            if isinstance(a, Var) and a not in defined:
                raise JaxprTypeError(f"equation {i} ({eqn.primitive.name}) uses an undefined variable")
        expected = eqn.primitive.abstract_eval(*[a.aval for a in eqn.inputs], **eqn.params)
        got = [v.aval for v in eqn.outputs]
        if [(a.shape, a.dtype) for a in expected] != [(a.shape, a.dtype) for a in got]:
            raise JaxprTypeError(
                f"equation {i} ({eqn.primitive.name}): outputs typed "
                f"{[a.str_short() for a in got]} but the primitive gives "
                f"{[a.str_short() for a in expected]}"
            )
        for v in eqn.outputs:
            if v in defined:
                raise JaxprTypeError(f"equation {i} ({eqn.primitive.name}) rebinds a variable")
            defined.add(v)
    for a in jaxpr.outvars:
        if isinstance(a, Var) and a not in defined:
            raise JaxprTypeError("an output is an undefined variable")


def eval_jaxpr(jaxpr: Jaxpr, consts: Sequence[Any], args: Sequence[Any]) -> list:
    """Run ``jaxpr`` by binding each equation in the current trace."""
    env: dict[Var, Any] = {}

    def read(a):
        return a.val if isinstance(a, Literal) else env[a]

    env.update(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        outs = eqn.primitive.bind(*map(read, eqn.inputs), **eqn.params)
        env.update(zip(eqn.outputs, outs))
    return [read(a) for a in jaxpr.outvars]


# --- building programs by tracing ----------------------------------------------------

# Abstract evaluation of staged equations, memoised on (primitive, input types, params):
# reverse mode stages the same few operations on the same types call after call.
_abstract_eval_cache: dict = {}


def _exact_key(v: Any) -> bool:
    """Whether equal values of ``v`` mean equal parameters: ints, strings, dtypes and tuples
    of them (bools are left out: ``True == 1``, yet an index ``True`` is not ``1``)."""
    t = type(v)
    if t is tuple:
        for e in v:
            if type(e) is not int and not _exact_key(e):
                return False
        return True
    return t is int or t is str or v is None or isinstance(v, np.dtype)


def _abstract_eval(prim: Primitive, inputs: list, params: dict) -> list[ShapedArray]:
    avals = [a.aval for a in inputs]
    # keyed on plain tuples, so that hashing and comparing stay in C
    types = tuple([(a.shape, a.dtype, a.weak_type) for a in avals])
    if not params:
        key = (prim, types)
    else:
        for v in params.values():
            if not _exact_key(v):
                return prim.abstract_eval(*avals, **params)
        key = (prim, types, tuple(params.items()))
    out = _abstract_eval_cache.get(key)
    if out is None:
        out = prim.abstract_eval(*avals, **params)
        if len(_abstract_eval_cache) >= 4096:
            _abstract_eval_cache.clear()
        _abstract_eval_cache[key] = out
    return out


class StagingTracer(Tracer):
    """A value being recorded into a program: its variable knows its abstract value."""

    __slots__ = ("var",)

    def __init__(self, trace: StagingTrace, var: Var):
        self._trace = trace
        self.var = var

    @property
    def aval(self) -> ShapedArray:
        return self.var.aval


class JaxprBuilder:
    """Accumulates equations; values from outside the program become constant variables."""

    def __init__(self) -> None:
        self.eqns: list[Equation] = []
        self.const_vars: dict[int, Var] = {}  # id(value) -> var
        self.const_values: list[Any] = []

    def const_var(self, value: Any) -> Var:
        var = self.const_vars.get(id(value))
        if var is None:
            if type(value) is Array:  # the common case, without building an aval twice
                aval = ShapedArray(value.shape, value.dtype)
            else:
                aval = get_aval(value).update(weak_type=False)
            var = self.const_vars[id(value)] = Var(aval)
            # const_values also keeps each value alive, so its id() stays unique
            self.const_values.append(value)
        return var

    def build(self, invars: list[Var], outs: list) -> tuple[Jaxpr, list]:
        constvars = list(self.const_vars.values())
        return Jaxpr(constvars, invars, self.eqns, outs), list(self.const_values)


class StagingTrace(Trace):
    """Records every primitive applied to its tracers into a program instead of running it.

    With ``partial=True`` (partial evaluation), an operation none of whose operands is
    one of this trace's tracers is *known*: it is evaluated at once in the parent
    trace rather than recorded. Reverse mode uses this to run the primal computation
    eagerly while recording only the tangent (linear) program.
    """

    transformation = "staging"

    def __init__(self, parent: Trace, partial: bool = False, transformation: str = "staging"):
        self.parent = parent
        self.partial = partial
        self.builder = JaxprBuilder()
        self.active = True
        self.transformation = transformation

    def new_arg(self, aval: ShapedArray) -> StagingTracer:
        return StagingTracer(self, Var(aval))

    def to_atom(self, x: Any):
        if type(x) is StagingTracer and x._trace is self:
            return x.var
        if isinstance(x, Tracer) and not x._trace_is_live():
            raise escaped_tracer_error(x)
        if type(x) in (bool, int, float, complex) or isinstance(x, np.generic):
            return Literal(x, get_aval(x))
        return self.builder.const_var(x)

    def process_primitive(self, prim: Primitive, args: tuple, params: dict) -> list:
        if not self.active:
            raise RuntimeError(f"{self.transformation} trace used after it ended")
        if self.partial:
            for x in args:
                if type(x) is StagingTracer and x._trace is self:
                    break
            else:
                # A known value: evaluate it now in the parent (inlined: the hot path of grad).
                parent = self.parent
                context = trace_context
                previous = context.trace
                context.trace = parent
                try:
                    return parent.process_primitive(prim, args, params)
                finally:
                    context.trace = previous
        inputs = [
            x.var if type(x) is StagingTracer and x._trace is self else self.to_atom(x)
            for x in args
        ]
        out_avals = _abstract_eval(prim, inputs, params)
        outs = [Var(a) for a in out_avals]
        self.builder.eqns.append(Equation(prim, inputs, params, outs))
        return [StagingTracer(self, v) for v in outs]

    def finish(self, invars: list[Var], outs: Sequence[Any]) -> tuple[Jaxpr, list]:
        """End the trace and return the program with ``outs`` as outputs, and its constants."""
        out_atoms = [self.to_atom(x) for x in outs]
        self.active = False
        return self.builder.build(invars, out_atoms)


def trace_to_jaxpr(fun: Callable, in_avals: Sequence[ShapedArray]) -> tuple[Jaxpr, list]:
    """The program ``fun`` computes on flat array arguments of the given abstract values."""
    from funcgrad._src.core import current_trace

    trace = StagingTrace(current_trace())
    args = [trace.new_arg(a) for a in in_avals]
    try:
        with set_current_trace(trace):
            outs = fun(*args)
    except BaseException:
        trace.active = False
        raise
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    return trace.finish([a.var for a in args], outs)
