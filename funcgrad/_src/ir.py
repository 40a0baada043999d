"""The typed program representation ("jaxpr"): variables, equations, programs.

A :class:`Jaxpr` is a straight-line program in A-normal form: typed input
variables, constant variables (with their values kept beside the program),
equations ``outs = prim[params](ins)``, and outputs. A :class:`ClosedJaxpr` is a
program together with its constant values. Reverse mode records the linear
(tangent) part of a computation as a Jaxpr and transposes it; jit traces a whole
function to one, optimises it and generates code from it.

Higher-order primitives (``jit``, ``custom_jvp_call``, ``custom_vjp_call``) carry
their sub-programs as ``ClosedJaxpr`` parameters; printing and type checking
recurse into them.

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
from collections.abc import Callable, Sequence
from typing import Any

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
from funcgrad._src import source_info as _source_info
from funcgrad._src.source_info import capturing as _capturing


class Var:
    """A program variable: an abstract value and an identity (names are given when printing)."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self) -> str:
        return f"Var({self.aval.str_short()})"


class Literal:
    """A constant written into the program text: a Python or NumPy scalar."""

    __slots__ = ("aval", "val")

    def __init__(self, val: Any, aval: ShapedArray):
        self.val = val
        self.aval = aval

    def __repr__(self) -> str:
        return f"Literal({self.val!r})"


Atom = Var | Literal


class Equation:
    """``outs = primitive[params](inputs)``."""

    __slots__ = ("inputs", "outputs", "params", "primitive", "source")

    def __init__(self, primitive: Primitive, inputs: list, params: dict, outputs: list[Var],
                 source: Any = None):  # fmt: skip
        self.primitive = primitive
        self.inputs = inputs
        self.params = params
        self.outputs = outputs
        # the user's line that staged it (source_info.SourceInfo), when capturing is on
        self.source = source

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

    __slots__ = ("constvars", "eqns", "invars", "outvars")

    def __init__(
        self, constvars: list[Var], invars: list[Var], eqns: list[Equation], outvars: list
    ):
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


class ClosedJaxpr:
    """A program with the values of its constant variables: what ``make_jaxpr`` returns
    and what higher-order primitives carry as their sub-program.

    Identity is the program's identity (two traces are two programs), so a
    ``ClosedJaxpr`` can key caches of programs derived from it (its JVP, its
    transpose, its generated code); ``derived`` holds them.
    """

    __slots__ = ("__weakref__", "consts", "derived", "jaxpr")

    def __init__(self, jaxpr: Jaxpr, consts: Sequence[Any]):
        if len(consts) != len(jaxpr.constvars):
            raise ValueError(
                f"ClosedJaxpr: {len(jaxpr.constvars)} constant variables but {len(consts)} values"
            )
        self.jaxpr = jaxpr
        self.consts = list(consts)
        self.derived: dict = {}

    def derive(self, key: Any, build: Callable[[], Any]) -> Any:
        """What ``build()`` makes from this program (its JVP, its transpose, ...), made once
        per ``key`` and kept with the program."""
        value = self.derived.get(key)
        if value is None:
            value = self.derived[key] = build()
        return value

    @property
    def in_avals(self) -> list[ShapedArray]:
        return self.jaxpr.in_avals

    @property
    def out_avals(self) -> list[ShapedArray]:
        return self.jaxpr.out_avals

    @property
    def eqns(self) -> list[Equation]:
        return self.jaxpr.eqns

    def __str__(self) -> str:
        return pretty_print(self.jaxpr, self.derived.get("show_source", False))

    def pretty_print(self, source_info: bool = False) -> str:
        """The program as text; ``source_info`` ends each equation with the user's
        ``# file:line`` that staged it (recorded by ``make_jaxpr(..., source_info=True)``
        or while ``config.debug_nans`` is on)."""
        return pretty_print(self.jaxpr, source_info)

    def __repr__(self) -> str:
        return (
            f"<ClosedJaxpr with {len(self.jaxpr.invars)} inputs, {len(self.jaxpr.eqns)} equations>"
        )


#: Primitives with side effects (debug printing): never removed, merged or folded away.
effectful_primitives: set[Primitive] = set()


def sub_jaxprs(eqn: Equation) -> list[ClosedJaxpr]:
    """The sub-programs an equation's parameters carry (higher-order primitives)."""
    subs = []
    for v in eqn.params.values():
        if type(v) is ClosedJaxpr:
            subs.append(v)
        elif type(v) is tuple:  # e.g. cond's branches
            subs.extend(c for c in v if type(c) is ClosedJaxpr)
    return subs


def has_effects(jaxpr: Jaxpr) -> bool:
    """Whether running ``jaxpr`` has a side effect (an effectful equation, here or nested)."""
    for eqn in jaxpr.eqns:
        if eqn.primitive in effectful_primitives:
            return True
        if any(has_effects(sub.jaxpr) for sub in sub_jaxprs(eqn)):
            return True
    return False


# --- printing -------------------------------------------------------------------------


def _names():
    for n in itertools.count(1):
        s = ""
        while n:
            n, r = divmod(n - 1, 26)
            s = chr(ord("a") + r) + s
        yield s


def _format_param(value: Any, indent: int) -> str:
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, ClosedJaxpr):
        return _pretty_lines(value.jaxpr, indent + 4)
    if isinstance(value, Jaxpr):
        return _pretty_lines(value, indent + 4)
    if type(value) is tuple and value and all(type(c) is ClosedJaxpr for c in value):
        return "(" + ", ".join(_pretty_lines(c.jaxpr, indent + 4) for c in value) + ")"
    if callable(value) and not isinstance(value, type):
        return getattr(value, "__name__", type(value).__name__)
    return repr(value) if isinstance(value, str) else str(value)


def _pretty_lines(jaxpr: Jaxpr, indent: int, source_info: bool = False) -> str:
    """The program's text; lines after the first are indented by ``indent`` spaces."""
    names: dict[Var, str] = {}
    fresh = _names()
    pad = " " * indent

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
        outs = " ".join(name(v, True) for v in eqn.outputs) or "_"
        params = ", ".join(
            f"{k}={_format_param(v, indent + 4)}"
            for k, v in eqn.params.items()
            if not k.startswith("_")
        )
        params = f"[{params}]" if params else ""
        args = " ".join(name(a) for a in eqn.inputs)
        line = f"{pad}    {outs} = {eqn.primitive.name}{params} {args}".rstrip()
        note = eqn.source.annotation(source_info) if eqn.source is not None else ""
        if note:  # the named_scope names always, the user's line when asked
            line += f"  # {note}"
        lines.append(line)
    outs = ", ".join(name(a) for a in jaxpr.outvars)
    lines.append(f"{pad}  in ({outs}{',' if len(jaxpr.outvars) == 1 else ''}) }}")
    return "\n".join(lines)


def pretty_print(jaxpr: Jaxpr, source_info: bool = False) -> str:
    """The program as text, one equation a line, with typed variables; sub-programs of
    higher-order primitives are printed inside their equation's parameters. With
    ``source_info``, each equation that recorded the user's line that staged it ends with
    ``# file:line``."""
    return _pretty_lines(jaxpr, 0, source_info)


# --- type checking --------------------------------------------------------------------


class JaxprTypeError(TypeError):
    """A program is ill-typed: a variable used before definition, or a type mismatch."""


def _same_type(a: ShapedArray, b: ShapedArray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype


def typecheck(jaxpr: Jaxpr | ClosedJaxpr) -> None:
    """Check that every variable is defined once before use, that literals and constant
    values have their variables' types, and that every equation's output types are what
    its primitive's abstract evaluation gives. Sub-programs are checked recursively.

    Raises:
        JaxprTypeError: naming the equation and the mismatch.
    """
    if isinstance(jaxpr, ClosedJaxpr):
        for i, (v, c) in enumerate(zip(jaxpr.jaxpr.constvars, jaxpr.consts)):
            if not _same_type(v.aval, get_aval(c)):
                raise JaxprTypeError(
                    f"constant {i} has type {get_aval(c).str_short()} but its variable is "
                    f"typed {v.aval.str_short()}"
                )
        jaxpr = jaxpr.jaxpr
    defined: set[Var] = set()
    for v in (*jaxpr.constvars, *jaxpr.invars):
        if v in defined:
            raise JaxprTypeError(f"variable {v} is bound twice")
        defined.add(v)
    for i, eqn in enumerate(jaxpr.eqns):
        where = f"equation {i} ({eqn.primitive.name})"
        for a in eqn.inputs:
            if isinstance(a, Literal):
                if not _same_type(a.aval, get_aval(a.val)):
                    raise JaxprTypeError(
                        f"{where}: literal {a.val!r} is typed {a.aval.str_short()}"
                    )
            elif a not in defined:
                raise JaxprTypeError(f"{where} uses an undefined variable")
        for sub in sub_jaxprs(eqn):
            try:
                typecheck(sub)
            except JaxprTypeError as e:
                raise JaxprTypeError(f"{where}, in its sub-program: {e}") from None
        try:
            expected = eqn.primitive.abstract_eval(*[a.aval for a in eqn.inputs], **eqn.params)
        except (TypeError, ValueError, IndexError) as e:
            raise JaxprTypeError(f"{where}: invalid operands: {e}") from None
        got = [v.aval for v in eqn.outputs]
        if len(expected) != len(got) or not all(map(_same_type, expected, got)):
            raise JaxprTypeError(
                f"{where}: outputs typed {[a.str_short() for a in got]} but the primitive "
                f"gives {[a.str_short() for a in expected]}"
            )
        for v in eqn.outputs:
            if v in defined:
                raise JaxprTypeError(f"{where} rebinds a variable")
            defined.add(v)
    for a in jaxpr.outvars:
        if isinstance(a, Var) and a not in defined:
            raise JaxprTypeError("an output is an undefined variable")


# --- evaluation -----------------------------------------------------------------------


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


def eval_closed(closed: ClosedJaxpr, args: Sequence[Any]) -> list:
    """``eval_jaxpr`` of a closed program."""
    return eval_jaxpr(closed.jaxpr, closed.consts, args)


# --- partial evaluation ---------------------------------------------------------------


class PartialSplit:
    """A program split by which inputs are known (see :func:`partial_eval_jaxpr`)."""

    __slots__ = ("known", "num_res", "out_unknowns", "unknown")

    def __init__(
        self, known: ClosedJaxpr, unknown: ClosedJaxpr, out_unknowns: list[bool], num_res: int
    ):
        self.known = known
        self.unknown = unknown
        self.out_unknowns = out_unknowns
        self.num_res = num_res


def partial_eval_jaxpr(closed: ClosedJaxpr, unknowns: Sequence[bool]) -> PartialSplit:
    """Split a program into what can run with only the known inputs and the rest.

    An equation is unknown when one of its inputs is. The *known* program takes the
    known inputs and returns the known outputs followed by the residuals: the known
    values the unknown equations use. The *unknown* program takes the residuals
    followed by the unknown inputs and returns the unknown outputs. Reverse mode
    runs the first now (the primal computation, as one compiled call) and transposes
    the second (the linear part).
    """
    jaxpr = closed.jaxpr
    unknown_vars: set[Var] = {v for v, u in zip(jaxpr.invars, unknowns) if u}
    known_eqns, unknown_eqns = [], []
    for eqn in jaxpr.eqns:
        in_unknowns = [type(a) is Var and a in unknown_vars for a in eqn.inputs]
        if not any(in_unknowns):
            known_eqns.append(eqn)
            continue
        rule = partial_eval_jaxpr_rules.get(eqn.primitive)
        if rule is not None and not all(in_unknowns):
            # a call: split its sub-program too, so that its known outputs stay known
            known_eqn, unknown_eqn, out_unknowns = rule(eqn, in_unknowns)
            known_eqns.append(known_eqn)
            unknown_eqns.append(unknown_eqn)
            unknown_vars.update(v for v, u in zip(eqn.outputs, out_unknowns) if u)
            continue
        unknown_eqns.append(eqn)
        unknown_vars.update(eqn.outputs)
    residuals: dict[Var, None] = {}
    for eqn in unknown_eqns:
        for a in eqn.inputs:
            if type(a) is Var and a not in unknown_vars:
                residuals[a] = None
    out_unknowns = [type(a) is Var and a in unknown_vars for a in jaxpr.outvars]
    res = list(residuals)
    known = Jaxpr(
        jaxpr.constvars,
        [v for v, u in zip(jaxpr.invars, unknowns) if not u],
        known_eqns,
        [a for a, u in zip(jaxpr.outvars, out_unknowns) if not u] + res,
    )
    unknown = Jaxpr(
        [],
        res + [v for v, u in zip(jaxpr.invars, unknowns) if u],
        unknown_eqns,
        [a for a, u in zip(jaxpr.outvars, out_unknowns) if u],
    )
    return PartialSplit(
        ClosedJaxpr(known, closed.consts), ClosedJaxpr(unknown, []), out_unknowns, len(res)
    )


#: ``rule(eqn, in_unknowns) -> (known equation, unknown equation, out_unknowns)`` for
#: call primitives that :func:`partial_eval_jaxpr` splits rather than keeping whole.
partial_eval_jaxpr_rules: dict[Primitive, Callable] = {}


def dependencies(eqns: Sequence[Equation], var: Var) -> set[Var]:
    """The variables ``var`` was computed from (transitively, itself included)."""
    needed = {var}
    for eqn in reversed(eqns):
        if any(v in needed for v in eqn.outputs):
            needed.update(a for a in eqn.inputs if type(a) is Var)
    return needed


# --- building programs by tracing ----------------------------------------------------

# Abstract evaluation of staged equations, memoised on (primitive, input types, params):
# reverse mode stages the same few operations on the same types call after call.
_abstract_eval_cache: dict = {}

#: ``rule(trace, args, params) -> outputs`` for primitives that a partial-evaluation
#: trace splits instead of recording whole (jit: its known part runs at once).
partial_eval_rules: dict[Primitive, Callable] = {}


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

    def concrete_value(self) -> Any:
        # No value while tracing; remember which one was asked for, so that the
        # transformation can say which of its arguments it came from.
        self._trace.concretized = self.var
        return None


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
    eagerly while recording only the tangent (linear) program. Primitives with a
    rule in :data:`partial_eval_rules` are split instead (their known part runs now).

    Without ``partial``, calls of ``custom_jvp``/``custom_vjp`` functions are recorded
    as ``custom_jvp_call``/``custom_vjp_call`` equations, which keep the user's rule.
    """

    transformation = "staging"

    def __init__(self, parent: Trace, partial: bool = False, transformation: str = "staging"):
        self.parent = parent
        self.partial = partial
        self.builder = JaxprBuilder()
        self.active = True
        self.transformation = transformation
        #: the variable whose concrete value was last asked for (see StagingTracer)
        self.concretized: Var | None = None

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

    def is_own(self, x: Any) -> bool:
        return type(x) is StagingTracer and x._trace is self

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
            rule = partial_eval_rules.get(prim)
            if rule is not None:
                return rule(self, args, params)
        inputs = [
            x.var if type(x) is StagingTracer and x._trace is self else self.to_atom(x)
            for x in args
        ]
        out_avals = _abstract_eval(prim, inputs, params)
        outs = [Var(a) for a in out_avals]
        source = _source_info.user_frame(2) if _capturing[0] else None
        self.builder.eqns.append(Equation(prim, inputs, params, outs, source))
        return [StagingTracer(self, v) for v in outs]

    def record(
        self, prim: Primitive, inputs: list, params: dict, out_avals: Sequence[ShapedArray]
    ) -> list:
        """Append an equation with the given input atoms; returns the output tracers."""
        outs = [Var(a) for a in out_avals]
        source = _source_info.user_frame(2) if _capturing[0] else None
        self.builder.eqns.append(Equation(prim, inputs, params, outs, source))
        return [StagingTracer(self, v) for v in outs]

    def process_custom_jvp_call(self, fun, jvp, args, symbolic_zeros):
        if self.partial:
            if not any(self.is_own(x) for x in args):
                with set_current_trace(self.parent):
                    return self.parent.process_custom_jvp_call(fun, jvp, args, symbolic_zeros)
            return fun(*args)  # linear programs need no custom rule
        closed, lifted = trace_closed(fun, [_arg_aval(x) for x in args], self, "custom_jvp")
        return custom_jvp_call_p.bind(
            *lifted, *args, call_jaxpr=closed, jvp=jvp, num_consts=len(lifted),
            symbolic_zeros=symbolic_zeros,
        )  # fmt: skip

    def process_custom_vjp_call(self, fun, fwd, bwd, args, out_tree):
        if self.partial:
            if not any(self.is_own(x) for x in args):
                with set_current_trace(self.parent):
                    return self.parent.process_custom_vjp_call(fun, fwd, bwd, args, out_tree)
            return fun(*args)
        closed, lifted = trace_closed(fun, [_arg_aval(x) for x in args], self, "custom_vjp")
        return custom_vjp_call_p.bind(
            *lifted, *args, call_jaxpr=closed, fwd=fwd, bwd=bwd, out_tree=out_tree,
            num_consts=len(lifted),
        )  # fmt: skip

    def finish(self, invars: list[Var], outs: Sequence[Any]) -> tuple[Jaxpr, list]:
        """End the trace and return the program with ``outs`` as outputs, and its constants."""
        out_atoms = [self.to_atom(x) for x in outs]
        self.active = False
        return self.builder.build(invars, out_atoms)


def _arg_aval(x: Any) -> ShapedArray:
    return get_aval(x)


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


def close_over_tracers(jaxpr: Jaxpr, consts: list) -> tuple[ClosedJaxpr, list]:
    """Make constants that are tracers of an enclosing transformation into leading inputs.

    A traced function may close over values of the transformation around it (a
    ``jit`` inside ``grad`` using the outer function's variable). Those must stay
    visible to that transformation, so they become explicit inputs; concrete
    constants stay in the closed program. Returns the program and the lifted values.
    """
    lifted_vars, lifted, kept_vars, kept = [], [], [], []
    for v, c in zip(jaxpr.constvars, consts):
        if isinstance(c, Tracer):
            lifted_vars.append(v)
            lifted.append(c)
        else:
            kept_vars.append(v)
            kept.append(c)
    if lifted:
        jaxpr = Jaxpr(kept_vars, lifted_vars + jaxpr.invars, jaxpr.eqns, jaxpr.outvars)
    return ClosedJaxpr(jaxpr, kept), lifted


def trace_closed(fun: Callable, in_avals: Sequence[ShapedArray], parent: Trace | None = None,
                 transformation: str = "staging") -> tuple[ClosedJaxpr, list]:  # fmt: skip
    """Trace ``fun`` (flat arrays in, a flat sequence out) to a closed program whose
    constants are concrete; values of enclosing traces it closes over are returned
    separately, to be passed as leading arguments (see :func:`close_over_tracers`)."""
    from funcgrad._src.core import current_trace

    trace = StagingTrace(
        parent if parent is not None else current_trace(), transformation=transformation
    )
    args = [trace.new_arg(a) for a in in_avals]
    try:
        with set_current_trace(trace):
            outs = fun(*args)
    except BaseException:
        trace.active = False
        raise
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    jaxpr, consts = trace.finish([a.var for a in args], outs)
    return close_over_tracers(jaxpr, consts)


# --- custom derivative calls, recorded by a staging trace ------------------------------
#
# A custom_jvp/custom_vjp function met while staging (under jit or make_jaxpr) is
# recorded as one equation holding the traced function and the user's rule, so that
# differentiating the program later still uses that rule. The first ``num_consts``
# operands are values the function closed over (see close_over_tracers).

custom_jvp_call_p = Primitive("custom_jvp_call")
custom_vjp_call_p = Primitive("custom_vjp_call")


def _custom_call_impl(backend, *args, call_jaxpr, **params):
    from funcgrad._src.core import _new_array

    arrays = [_new_array(a, backend) if isinstance(a, backend.buffer_type) else a for a in args]
    from funcgrad._src.core import EVAL_TRACE

    with set_current_trace(EVAL_TRACE):
        outs = eval_closed(call_jaxpr, arrays)
    return [o._buffer if type(o) is Array else o for o in outs]


def _custom_call_abstract_eval(*avals, call_jaxpr, **params):
    expected = call_jaxpr.in_avals
    if len(avals) != len(expected) or not all(map(_same_type, avals, expected)):
        raise TypeError(
            f"custom call: operands {[a.str_short() for a in avals]} do not match the "
            f"program's inputs {[a.str_short() for a in expected]}"
        )
    return [a.update(weak_type=False) for a in call_jaxpr.out_avals]


def _closure_tangents_error(name: str) -> TypeError:
    return TypeError(
        f"a {name} function closes over a value that is being differentiated; its custom "
        f"rule cannot see that dependence. Pass the value as an argument instead."
    )


def _custom_jvp_call_jvp(primals, tangents, *, call_jaxpr, jvp, num_consts, symbolic_zeros):
    from funcgrad._src.interpreters import ad

    if any(type(t) is not ad.Zero for t in tangents[:num_consts]):
        raise _closure_tangents_error("custom_jvp")
    primals, tangents = list(primals[num_consts:]), list(tangents[num_consts:])
    if not symbolic_zeros:
        tangents = [ad.instantiate(t) for t in tangents]
    outs, t_outs = jvp(primals, tangents)
    return list(outs), list(t_outs)


def _custom_vjp_call_jvp(primals, tangents, *, call_jaxpr, fwd, bwd, out_tree, num_consts):
    from funcgrad._src.custom_derivatives import custom_lin_p
    from funcgrad._src.interpreters import ad
    from funcgrad._src.tree_util import tree_flatten, tree_unflatten

    if any(type(t) is not ad.Zero for t in tangents[:num_consts]):
        raise _closure_tangents_error("custom_vjp")
    primals, tangents = primals[num_consts:], tangents[num_consts:]
    primal_outs, residuals = fwd(*primals)
    res_flat, res_tree = tree_flatten(residuals)
    out_flat, _ = tree_flatten(primal_outs)
    out_avals = tuple(get_aval(o).update(weak_type=False) for o in out_flat)

    def bwd_flat(res, cts):
        return bwd(tree_unflatten(res_tree, list(res)), cts)

    tangent_outs = custom_lin_p.bind(
        *res_flat, *[ad.instantiate(t) for t in tangents], num_res=len(res_flat), bwd=bwd_flat,
        out_avals=out_avals, in_tree=out_tree(),
    )  # fmt: skip
    return out_flat, tangent_outs


def _custom_call_batch(prim):
    """Batch a recorded custom call by replaying it under a fresh batching trace, whose
    ``process_custom_*_call`` batches the function and the rule together."""

    def rule(args, dims, **params):
        from funcgrad._src.core import current_trace
        from funcgrad._src.interpreters import batching

        size = batching.axis_size_of(args, dims)
        k = params["num_consts"]
        call_jaxpr = params["call_jaxpr"]

        def replay(*xs):
            consts, xs = xs[:k], xs[k:]

            def fun(*ys):
                return eval_closed(call_jaxpr, [*consts, *ys])

            trace = current_trace()
            if prim is custom_jvp_call_p:
                return trace.process_custom_jvp_call(
                    fun, params["jvp"], list(xs), params["symbolic_zeros"]
                )
            return trace.process_custom_vjp_call(
                fun, params["fwd"], params["bwd"], list(xs), params["out_tree"]
            )

        return batching.batch_flat(replay, list(args), list(dims), size)

    return rule


for _prim, _jvp in (
    (custom_jvp_call_p, _custom_jvp_call_jvp),
    (custom_vjp_call_p, _custom_vjp_call_jvp),
):
    _prim.impl = _custom_call_impl
    _prim.abstract_eval = _custom_call_abstract_eval
    _prim.jvp = _jvp
    _prim.batch = _custom_call_batch(_prim)
