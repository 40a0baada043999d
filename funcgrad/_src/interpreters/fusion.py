"""Elementwise fusion for jit: groups of elementwise equations become one generated kernel.

On a backend that compiles kernels (``backend.fuses_elementwise``, CuPy), a chain of
elementwise operations costs one pass over memory per operation when each runs as its
own ufunc. This pass partitions an optimised program into maximal *groups* of
elementwise equations of one output shape, and describes each group as the CUDA C
of one ``cupy.ElementwiseKernel``: one thread per output element reads the group's
inputs once, computes every equation in registers and writes only the values that
are used outside the group.

What can join a group: the ufunc primitives (for bool, integer and float32/float64
operands), ``select``, ``convert_element_type``, and ``broadcast_in_dim`` of a value
computed outside the group (the kernel reads it through a broadcasting view, so a
bias or a scalar is never materialised at full size). Operands are values of the
group's shape, 0-d values and literals. An equation joins a group only if none of
its operands depends on the group's outputs through an equation outside the group,
so the groups and the remaining equations still form an acyclic program; it is then
rescheduled in topological order, keeping the original order wherever it can (and
the order of effectful equations always).

The generated C follows NumPy's semantics: operands are cast to the dtypes of
NumPy's loop for the operation (so ``int32 / int32`` divides doubles and a weak
``2.0`` multiplies a float32 as a float32); float32 math uses the ``f``-suffixed
functions; ``maximum``/``minimum`` propagate NaN (and return the second operand on
ties, as NumPy's loops do); integer arithmetic wraps (it is done in unsigned
arithmetic, where C defines overflow); integer ``floor_divide``/``remainder`` round
towards negative infinity with the divisor's sign, and give 0 for a zero divisor;
shifts by at least the bit width give 0 (or -1 for a right shift of a negative
number). Deviations (a kernel cannot raise): an integer to a negative integer power
is 0 (1 and -1 to their exact powers) where NumPy raises, and float to integer casts
of NaN or out-of-range values give what the device gives (NumPy's values are
platform-defined too).

Examples:
    >>> import numpy as np, funcgrad.numpy as fnp
    >>> from funcgrad._src.ir import trace_to_jaxpr, ClosedJaxpr
    >>> from funcgrad._src.interpreters import fusion
    >>> x = fnp.ones(3, dtype=np.float32)
    >>> jaxpr, consts = trace_to_jaxpr(lambda x: fnp.sin(x) * 2.0 + x, [x.aval])
    >>> fused, kernels = fusion.fuse(ClosedJaxpr(jaxpr, consts))
    >>> print(kernels[0].operation)
    const float t0 = sinf(in0);
    const float t1 = (t0 * 2.0f);
    const float t2 = (t1 + in0);
    out0 = t2;
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from funcgrad._src import threefry
from funcgrad._src.core import Primitive, ShapedArray
from funcgrad._src.ir import ClosedJaxpr, Equation, Jaxpr, Literal, Var, effectful_primitives
from funcgrad._src.lax import elementwise, structural

# --- the kernel description and the primitive that runs it ----------------------------------


@dataclass(frozen=True)
class ElementwiseKernelDescription:
    """One fused group as an elementwise kernel: what ``cupy.ElementwiseKernel`` takes,
    plus the shapes and dtypes of a call.

    Attributes:
        name: the kernel's name (a C identifier).
        in_params: ``"float32 in0, float32 in1"``: one typed parameter per input.
        out_params: ``"float32 out0"``: one typed parameter per output.
        operation: the C body run for each element ``i``: it reads ``in0``, ... and
            assigns ``out0``, ...
        preamble: C helper functions the operation calls (``__device__``), or ``""``.
        in_dtypes: the dtype of each input.
        in_shapes: the shape each input is given to the kernel as: its own shape, or
            for the operand of a fused ``broadcast_in_dim`` the view that broadcasts
            against ``out_shape`` (size-1 axes where the operand has none).
        out_dtypes: the dtype of each output.
        out_shape: the shape of every output.
    """

    name: str
    in_params: str
    out_params: str
    operation: str
    preamble: str
    in_dtypes: tuple
    in_shapes: tuple
    out_dtypes: tuple
    out_shape: tuple

    @property
    def signature(self) -> tuple:
        """What the compiled code depends on (shapes are not part of it): the cache key."""
        return (self.name, self.in_params, self.out_params, self.operation, self.preamble)

    def text(self) -> str:
        """The kernel, readable: its parameters, preamble and operation."""
        lines = [
            f"ElementwiseKernel {self.name!r}",
            f"  in_params:  {self.in_params!r}",
            f"  out_params: {self.out_params!r}",
        ]
        if self.preamble:
            lines.append("  preamble:")
            lines += [f"    {line}" if line else "" for line in self.preamble.splitlines()]
        lines.append("  operation:")
        lines += [f"    {line}" for line in self.operation.splitlines()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<elementwise kernel {self.name}>"


#: One fused group: parameters ``kernel`` (its description) and ``group`` (its equations,
#: as a program: what runs on a backend without kernels).
fused_elementwise_p = Primitive("fused_elementwise")


def _fused_impl(backend, *operands, kernel, group):
    if backend.fuses_elementwise:
        return list(backend.elementwise_kernel(kernel)(*operands))
    # a backend without kernels (a fused program moved to NumPy): the group's equations
    env = dict(zip(group.jaxpr.invars, operands))
    for eqn in group.jaxpr.eqns:
        args = [a.val if type(a) is Literal else env[a] for a in eqn.inputs]
        env.update(zip(eqn.outputs, eqn.primitive.impl(backend, *args, **eqn.params)))
    return [env[v] for v in group.jaxpr.outvars]


def _fused_abstract_eval(*avals, kernel, group):
    return [ShapedArray(kernel.out_shape, dt) for dt in kernel.out_dtypes]


fused_elementwise_p.impl = _fused_impl
fused_elementwise_p.abstract_eval = _fused_abstract_eval


# --- C types and literals ------------------------------------------------------------------

#: The C type of each dtype a fused kernel handles (the names CuPy gives them too).
C_TYPES = {
    np.dtype(np.bool_): "bool",
    np.dtype(np.int8): "signed char",
    np.dtype(np.int16): "short",
    np.dtype(np.int32): "int",
    np.dtype(np.int64): "long long",
    np.dtype(np.uint8): "unsigned char",
    np.dtype(np.uint16): "unsigned short",
    np.dtype(np.uint32): "unsigned int",
    np.dtype(np.uint64): "unsigned long long",
    np.dtype(np.float32): "float",
    np.dtype(np.float64): "double",
}
#: dtypes a fused kernel computes with (float16 and complex stay with the ufuncs).
FUSIBLE_DTYPES = frozenset(C_TYPES)


def _wide_unsigned(dt: np.dtype) -> str:
    """The unsigned type in which integer arithmetic of ``dt`` wraps without undefined
    behaviour (narrow types would be promoted to int, whose overflow is undefined)."""
    return "unsigned long long" if dt.itemsize == 8 else "unsigned int"


def _format_float(value: float, dt: np.dtype) -> str | None:
    """A C literal of exactly ``value`` in ``dt`` (shortest round-trip digits), or None
    for inf and NaN (they have no portable literal: they become kernel arguments)."""
    v = dt.type(value)
    if not np.isfinite(v):
        return None
    text = str(v) if dt == np.float32 else repr(float(v))
    if not any(c in text for c in ".e"):
        text += ".0"
    text += "f" if dt == np.float32 else ""
    return f"({text})" if text.startswith("-") else text


def _format_int(value: int, dt: np.dtype) -> str:
    ct = C_TYPES[dt]
    if dt.kind == "u":
        return f"(({ct}){value}ULL)"
    if value == np.iinfo(np.int64).min:
        return f"(({ct})(-9223372036854775807LL - 1))"
    return f"(({ct}){value}LL)"


def _format_literal(value: Any, dt: np.dtype) -> str | None:
    """``value`` (a Python or NumPy scalar) as a C literal of dtype ``dt``."""
    if dt.kind == "b":
        return "true" if bool(value) else "false"
    if dt.kind in "iu":
        return _format_int(int(value), dt)
    return _format_float(float(value), dt)


# --- C expressions of the operations ---------------------------------------------------------
# Each rule gets the operand expressions (already of the loop's input type), the loop's
# dtype and the kernel builder (for helper functions), and returns a C expression, or
# None where the operation has no kernel form for that dtype.


def _fn(name: str, dt: np.dtype) -> str:
    """The C math function for ``dt``: float32 uses the f-suffixed one (sinf, not sin)."""
    return f"{name}f" if dt == np.float32 else name


def _float_call(name: str) -> Callable:
    def rule(args, dt, k):
        return f"{_fn(name, dt)}({', '.join(args)})" if dt.kind == "f" else None

    return rule


def _infix(op: str, bool_op: str | None = None, wrap: bool = True) -> Callable:
    """``a op b``; integers wrap (computed unsigned), bools use ``bool_op``."""

    def rule(args, dt, k):
        a, b = args
        if dt.kind == "f":
            return f"({a} {op} {b})"
        if dt.kind == "b":
            return None if bool_op is None else f"({a} {bool_op} {b})"
        if not wrap:
            return f"(({C_TYPES[dt]})({a} {op} {b}))"
        uw = _wide_unsigned(dt)
        return f"(({C_TYPES[dt]})(({uw}){a} {op} ({uw}){b}))"

    return rule


def _compare(op: str) -> Callable:
    return lambda args, dt, k: f"({args[0]} {op} {args[1]})"


def _logical(op: str) -> Callable:
    return lambda args, dt, k: f"(({args[0]} != 0) {op} ({args[1]} != 0))"


def _extremum(op: str, bool_op: str) -> Callable:
    def rule(args, dt, k):
        a, b = args
        if dt.kind == "b":
            return f"({a} {bool_op} {b})"
        if dt.kind == "f":  # NaN in either operand propagates; ties give b, as NumPy
            return f"(({a} {op} {b} || isnan({a})) ? {a} : {b})"
        return f"({a} {op} {b} ? {a} : {b})"

    return rule


def _nan_ignoring_extremum(name: str, fallback: Callable) -> Callable:
    def rule(args, dt, k):
        return f"{_fn(name, dt)}({args[0]}, {args[1]})" if dt.kind == "f" else fallback(args, dt, k)

    return rule


def _negative(args, dt, k):
    (a,) = args
    if dt.kind == "f":
        return f"(-{a})"
    if dt.kind == "b":
        return None
    return f"(({C_TYPES[dt]})(0u - ({_wide_unsigned(dt)}){a}))"


def _absolute(args, dt, k):
    (a,) = args
    if dt.kind == "f":
        return f"{_fn('fabs', dt)}({a})"
    if dt.kind == "i":  # abs(INT_MIN) wraps to INT_MIN, as in NumPy
        return f"({a} < 0 ? ({C_TYPES[dt]})(0u - ({_wide_unsigned(dt)}){a}) : {a})"
    return a


def _sign(args, dt, k):
    (a,) = args
    ct = C_TYPES[dt]
    if dt.kind == "f":  # NaN stays NaN, -0.0 gives +0.0
        return f"({a} > 0 ? ({ct})1 : ({a} < 0 ? ({ct})-1 : ({a} == 0 ? ({ct})0 : {a})))"
    if dt.kind == "i":
        return f"(({ct})(({a} > 0) - ({a} < 0)))"
    if dt.kind == "u":
        return f"(({ct})({a} > 0))"
    return None


def _rounding(name: str) -> Callable:
    def rule(args, dt, k):
        return f"{_fn(name, dt)}({args[0]})" if dt.kind == "f" else args[0]

    return rule


def _classify(name: str, for_exact: str) -> Callable:
    """isnan/isinf/isfinite: integers and bools are never NaN or infinite."""

    def rule(args, dt, k):
        return f"{name}({args[0]})" if dt.kind == "f" else for_exact

    return rule


def _invert(args, dt, k):
    if dt.kind == "b":
        return f"(!{args[0]})"
    if dt.kind in "iu":
        return f"(({C_TYPES[dt]})(~{args[0]}))"
    return None


def _bitwise(op: str, bool_op: str) -> Callable:
    def rule(args, dt, k):
        a, b = args
        if dt.kind == "b":
            return f"({a} {bool_op} {b})"
        if dt.kind in "iu":
            return f"(({C_TYPES[dt]})({a} {op} {b}))"
        return None

    return rule


def _left_shift(args, dt, k):
    if dt.kind not in "iu":
        return None
    a, b = args
    ct, bits = C_TYPES[dt], 8 * dt.itemsize
    # a negative shift count is a huge unsigned one: 0, as in NumPy
    return (f"(((unsigned long long){b} < {bits}) ? ({ct})(({_wide_unsigned(dt)}){a} << {b})"
            f" : ({ct})0)")  # fmt: skip


def _right_shift(args, dt, k):
    if dt.kind not in "iu":
        return None
    a, b = args
    ct, bits = C_TYPES[dt], 8 * dt.itemsize
    beyond = f"({a} < 0 ? ({ct})-1 : ({ct})0)" if dt.kind == "i" else f"({ct})0"
    return f"(((unsigned long long){b} < {bits}) ? ({ct})({a} >> {b}) : {beyond})"


def _helper_call(helper: str) -> Callable:
    """A call of a preamble helper function specialised for the loop's dtype."""

    def rule(args, dt, k):
        name = k.helper(helper, dt)
        return None if name is None else f"{name}({', '.join(args)})"

    return rule


def _unsigned_division(op: str) -> Callable:
    def rule(args, dt, k):
        if dt.kind != "u":
            return _helper_call({"/": "floor_divide", "%": "remainder"}[op])(args, dt, k)
        a, b = args
        ct = C_TYPES[dt]
        return f"({b} == 0 ? ({ct})0 : ({ct})({a} {op} {b}))"

    return rule


def _fmod(args, dt, k):
    a, b = args
    if dt.kind == "f":
        return f"{_fn('fmod', dt)}({a}, {b})"
    if dt.kind not in "iu":
        return None
    ct = C_TYPES[dt]
    zero = f"{b} == 0 || {b} == -1" if dt.kind == "i" else f"{b} == 0"  # -1: INT_MIN % -1 traps
    return f"(({zero}) ? ({ct})0 : ({ct})({a} % {b}))"


def _power(args, dt, k):
    if dt.kind == "f":
        return f"{_fn('pow', dt)}({args[0]}, {args[1]})"
    return _helper_call("power")(args, dt, k)


def _heaviside(args, dt, k):
    if dt.kind != "f":
        return None
    a, b = args
    ct = C_TYPES[dt]
    return f"(isnan({a}) ? {a} : ({a} < 0 ? ({ct})0 : ({a} > 0 ? ({ct})1 : {b})))"


_TRANSCENDENTAL = {
    "exp": "exp", "exp2": "exp2", "expm1": "expm1", "log": "log", "log2": "log2",
    "log10": "log10", "log1p": "log1p", "sqrt": "sqrt", "cbrt": "cbrt", "sin": "sin",
    "cos": "cos", "tan": "tan", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
    "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "arcsinh": "asinh", "arccosh": "acosh",
    "arctanh": "atanh",
}  # fmt: skip

#: ufunc name -> rule(args, loop dtype, kernel builder) -> C expression or None.
UFUNC_RULES: dict[str, Callable] = {
    **{u: _float_call(c) for u, c in _TRANSCENDENTAL.items()},
    "negative": _negative,
    "absolute": _absolute,
    "sign": _sign,
    "floor": _rounding("floor"),
    "ceil": _rounding("ceil"),
    "rint": _rounding("rint"),
    "trunc": _rounding("trunc"),
    "isnan": _classify("isnan", "false"),
    "isinf": _classify("isinf", "false"),
    "isfinite": _classify("isfinite", "true"),
    "signbit": lambda args, dt, k: f"signbit({args[0]})" if dt.kind == "f" else None,
    "invert": _invert,
    "logical_not": lambda args, dt, k: f"(!{args[0]})" if dt.kind == "b" else f"({args[0]} == 0)",
    "add": _infix("+", "||"),
    "subtract": _infix("-"),
    "multiply": _infix("*", "&&"),
    "true_divide": lambda args, dt, k: f"({args[0]} / {args[1]})" if dt.kind == "f" else None,
    "floor_divide": _unsigned_division("/"),
    "remainder": _unsigned_division("%"),
    "fmod": _fmod,
    "power": _power,
    "maximum": _extremum(">", "||"),
    "minimum": _extremum("<", "&&"),
    "fmax": _nan_ignoring_extremum("fmax", _extremum(">", "||")),
    "fmin": _nan_ignoring_extremum("fmin", _extremum("<", "&&")),
    "arctan2": _float_call("atan2"),
    "hypot": _float_call("hypot"),
    "copysign": _float_call("copysign"),
    "nextafter": _float_call("nextafter"),
    "logaddexp": _helper_call("logaddexp"),
    "logaddexp2": _helper_call("logaddexp2"),
    "heaviside": _heaviside,
    "bitwise_and": _bitwise("&", "&&"),
    "bitwise_or": _bitwise("|", "||"),
    "bitwise_xor": _bitwise("^", "!="),
    "left_shift": _left_shift,
    "right_shift": _right_shift,
    "logical_and": _logical("&&"),
    "logical_or": _logical("||"),
    "logical_xor": _logical("!="),
    "equal": _compare("=="),
    "not_equal": _compare("!="),
    "less": _compare("<"),
    "less_equal": _compare("<="),
    "greater": _compare(">"),
    "greater_equal": _compare(">="),
}


# Exponentiation by squaring, in unsigned arithmetic (wrapping like every integer
# product); ``negative`` handles negative exponents of signed types.
_POWER_BY_SQUARING = """\
__device__ inline {{T}} {{name}}({{T}} a, {{T}} b) {{{{{negative}
    {{U}} base = ({{U}})a, result = 1;
    while (b > 0) {{{{
        if (b & 1) result *= base;
        base *= base;
        b >>= 1;
    }}}}
    return ({{T}})result;
}}}}"""


# --- preamble helpers ------------------------------------------------------------------------
# Written once per (helper, dtype) a kernel uses; {T} is the C type, {U} the wide unsigned
# type, {f} the math-function suffix, {LN2}/{LOG2E} constants typed as {T}.

_HELPERS = {
    # NumPy's float floor division: the quotient of a - fmod(a, b), moved down by one
    # where the remainder's sign differs from b's, rounded to the nearest integer
    # (it is one up to rounding); a zero quotient keeps the sign of a / b.
    ("floor_divide", "f"): """\
__device__ inline {T} {name}({T} a, {T} b) {{
    if (b == 0) return a / b;
    {T} mod = fmod{f}(a, b);
    {T} div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;
    if (div == 0) return copysign{f}(({T})0, a / b);
    {T} fl = floor{f}(div);
    if (div - fl > ({T})0.5) fl += 1;
    return fl;
}}""",
    # The remainder with the divisor's sign (zero takes the divisor's sign too).
    ("remainder", "f"): """\
__device__ inline {T} {name}({T} a, {T} b) {{
    {T} mod = fmod{f}(a, b);
    if (b == 0) return mod;
    if (mod != 0) {{
        if ((b < 0) != (mod < 0)) mod += b;
    }} else {{
        mod = copysign{f}(({T})0, b);
    }}
    return mod;
}}""",
    # Integer floor division: C truncates, NumPy floors; x / 0 is 0, MIN / -1 wraps.
    ("floor_divide", "i"): """\
__device__ inline {T} {name}({T} a, {T} b) {{
    if (b == 0) return 0;
    if (b == -1) return ({T})(0u - ({U})a);
    {T} q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
    return q;
}}""",
    ("remainder", "i"): """\
__device__ inline {T} {name}({T} a, {T} b) {{
    if (b == 0 || b == -1) return 0;
    {T} r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}}""",
    # Exponentiation by squaring, wrapping like every integer product. NumPy raises for
    # negative exponents; a kernel cannot, so they give the exact result for a = 1 or -1,
    # else 0 (the truncated value of a ** b).
    ("power", "i"): _POWER_BY_SQUARING.format(
        negative="\n    if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);"
    ),
    ("power", "u"): _POWER_BY_SQUARING.format(negative=""),
    # log(exp(a) + exp(b)) without overflow: the larger plus log1p of the smaller's ratio.
    ("logaddexp", "f"): """\
__device__ inline {T} {name}({T} a, {T} b) {{
    if (a == b) return a + {LN2};
    {T} d = a - b;
    if (d > 0) return a + log1p{f}(exp{f}(-d));
    if (d <= 0) return b + log1p{f}(exp{f}(d));
    return d;
}}""",
    ("logaddexp2", "f"): """\
__device__ inline {T} {name}({T} a, {T} b) {{
    if (a == b) return a + 1;
    {T} d = a - b;
    if (d > 0) return a + log1p{f}(exp2{f}(-d)) * {LOG2E};
    if (d <= 0) return b + log1p{f}(exp2{f}(d)) * {LOG2E};
    return d;
}}""",
}


# --- building one kernel --------------------------------------------------------------------


class _KernelBuilder:
    """The C text of one group: inputs, temporaries, helpers, outputs."""

    def __init__(self):
        self.inputs: list[tuple[Any, tuple, np.dtype]] = []  # (key, shape given, dtype)
        self.input_atoms: list[Any] = []
        self._input_names: dict[Any, str] = {}
        self.lines: list[str] = []
        self.helpers: dict[str, str] = {}
        self.names: dict[Var, str] = {}
        self.ops: list[str] = []

    def helper(self, helper: str, dt: np.dtype) -> str | None:
        template = _HELPERS.get((helper, dt.kind))
        if template is None:
            return None
        name = f"fg_{helper}_{dt.name}"
        if name not in self.helpers:
            ln2 = _format_float(math.log(2), dt) if dt.kind == "f" else ""
            log2e = _format_float(1 / math.log(2), dt) if dt.kind == "f" else ""
            self.helpers[name] = template.format(
                T=C_TYPES[dt], U=_wide_unsigned(dt), f="f" if dt == np.float32 else "",
                name=name, LN2=ln2, LOG2E=log2e,
            )  # fmt: skip
        return name

    def input(self, atom: Any, shape: tuple, dt: np.dtype) -> str:
        """The parameter name of an input (one per distinct atom, view and dtype)."""
        key = (atom, shape, dt) if type(atom) is Var else ("literal", repr(atom.val), dt)
        name = self._input_names.get(key)
        if name is None:
            name = self._input_names[key] = f"in{len(self.inputs)}"
            self.inputs.append((key, shape, dt))
            self.input_atoms.append(atom)
        return name

    def operand(self, atom: Any, dt: np.dtype) -> str:
        """``atom`` as a C expression of dtype ``dt`` (cast if it has another dtype)."""
        if type(atom) is Literal:
            text = _format_literal(atom.val, dt)
            if text is None:  # inf/NaN: a kernel argument
                return self.input(atom, (), dt)
            return text
        expr = self.names.get(atom)
        if expr is None:
            expr = self.input(atom, atom.aval.shape, atom.aval.dtype)
        if atom.aval.dtype != dt:
            expr = f"(({C_TYPES[dt]}){expr})"
        return expr

    def define(self, var: Var, expr: str) -> None:
        name = f"t{len(self.names)}"
        self.lines.append(f"const {C_TYPES[var.aval.dtype]} {name} = {expr};")
        self.names[var] = name


def _weak_key(atom: Any) -> Any:
    """An operand as NumPy's dtype resolver sees it: weak scalars as their Python type."""
    aval = atom.aval
    if aval.weak_type and aval.dtype.kind != "b":
        return {"i": int, "f": float, "c": complex}[aval.dtype.kind]
    return aval.dtype


def _ufunc_expr(k: _KernelBuilder, ufunc: str, eqn: Equation) -> str | None:
    rule = UFUNC_RULES.get(ufunc)
    if rule is None:
        return None
    try:
        in_dtypes, _ = elementwise.ufunc_loop_dtypes(ufunc, tuple(map(_weak_key, eqn.inputs)))
    except TypeError:
        return None
    in_dtypes = [np.dtype(d) for d in in_dtypes]
    if len(set(in_dtypes)) != 1 or in_dtypes[0] not in FUSIBLE_DTYPES:
        return None
    dt = in_dtypes[0]
    return rule([k.operand(a, dt) for a in eqn.inputs], dt, k)


def _broadcast_operand(k: _KernelBuilder, eqn: Equation) -> str:
    (x,) = eqn.inputs
    out = eqn.outputs[0].aval
    if type(x) is Literal:
        return k.operand(x, out.dtype)
    if x in k.names:  # computed in the group: it has the group's shape already
        return k.names[x]
    view = [1] * len(out.shape)
    for in_dim, out_dim in enumerate(eqn.params["broadcast_dimensions"]):
        view[out_dim] = x.aval.shape[in_dim]
    return k.input(x, tuple(view), x.aval.dtype)


_UFUNC_OF: dict[Primitive, str] = {
    **{p: elementwise.UNARY_UFUNCS[n] for n, p in elementwise.unary_primitives.items()},
    **{p: elementwise.BINARY_UFUNCS[n] for n, p in elementwise.binary_primitives.items()},
}


def _equation_expr(k: _KernelBuilder, eqn: Equation) -> str | None:
    """The C expression of one equation's output, or None if it cannot be fused."""
    prim = eqn.primitive
    out = eqn.outputs[0].aval
    if prim in _UFUNC_OF:
        return _ufunc_expr(k, _UFUNC_OF[prim], eqn)
    if prim is elementwise.select_p:
        pred, a, b = eqn.inputs
        return f"({k.operand(pred, pred.aval.dtype)} ? {k.operand(a, out.dtype)} : {k.operand(b, out.dtype)})"
    if prim is structural.convert_element_type_p:
        (x,) = eqn.inputs
        src = x.aval.dtype
        expr = k.operand(x, src)
        return expr if src == out.dtype else f"(({C_TYPES[out.dtype]}){expr})"
    if prim is structural.broadcast_in_dim_p:
        return _broadcast_operand(k, eqn)
    return None


_FUSIBLE_PRIMITIVES = frozenset(
    [*_UFUNC_OF, elementwise.select_p, structural.convert_element_type_p,
     structural.broadcast_in_dim_p]
)  # fmt: skip


def fusible(eqn: Equation) -> bool:
    """Whether ``eqn`` can be part of a fused elementwise kernel."""
    if eqn.primitive not in _FUSIBLE_PRIMITIVES or len(eqn.outputs) != 1:
        return False
    out = eqn.outputs[0].aval
    if not out.shape or out.dtype not in FUSIBLE_DTYPES:
        return False
    for a in eqn.inputs:
        if a.aval.dtype not in FUSIBLE_DTYPES:
            return False
        if type(a) is Literal and not isinstance(a.val, (bool, int, float, np.generic)):
            return False
    if eqn.primitive is structural.broadcast_in_dim_p:
        dims = eqn.params["broadcast_dimensions"]
        if list(dims) != sorted(dims):
            return False
    return _equation_expr(_KernelBuilder(), eqn) is not None


def describe(eqns: Sequence[Equation], outputs: Sequence[Var]) -> tuple:
    """The kernel computing ``outputs`` from equations ``eqns`` (in program order, all
    fusible and of one output shape).

    Returns:
        ``(description, input atoms)``: the inputs in the order of the kernel's
        parameters (variables from outside the group, and inf/NaN literals).
    """
    k = _KernelBuilder()
    shape = eqns[0].outputs[0].aval.shape
    for eqn in eqns:
        expr = _equation_expr(k, eqn)
        if expr is None:
            raise ValueError(f"fusion: equation {eqn.primitive.name} cannot be fused")
        k.define(eqn.outputs[0], expr)
        if eqn.primitive is not structural.broadcast_in_dim_p:
            k.ops.append(eqn.primitive.name)
    lines = list(k.lines)
    for j, v in enumerate(outputs):
        lines.append(f"out{j} = {k.names[v]};")
    ops = "_".join(dict.fromkeys(k.ops)) or "copy"
    if len(ops) > 40:
        ops = ops[:40].rstrip("_") + f"_{len(k.ops)}ops"
    description = ElementwiseKernelDescription(
        name=f"funcgrad_fused_{ops}",
        in_params=", ".join(f"{dt.name} in{i}" for i, (_, _, dt) in enumerate(k.inputs)),
        out_params=", ".join(f"{v.aval.dtype.name} out{j}" for j, v in enumerate(outputs)),
        operation="\n".join(lines),
        preamble="\n\n".join(k.helpers.values()),
        in_dtypes=tuple(dt for _, _, dt in k.inputs),
        in_shapes=tuple(s for _, s, _ in k.inputs),
        out_dtypes=tuple(v.aval.dtype for v in outputs),
        out_shape=tuple(shape),
    )
    return description, list(k.input_atoms)


# --- partitioning ------------------------------------------------------------------------------


#: How many of the latest groups of its shape an equation that none of its operands
#: ties to a group may join.
_SIBLINGS = 4


def partition(
    jaxpr: Jaxpr,
    can_fuse: Callable[[Equation], bool] | None = None,
    can_end_group: Callable[[Equation], bool] | None = None,
    siblings: int = _SIBLINGS,
    siblings_share_inputs: bool = False,
    merge_producers: bool = False,
    row_step: Callable[[Equation], bool] | None = None,
) -> list[list[int]]:
    """Groups of fusible equations (indices into ``jaxpr.eqns``, in program order).

    ``can_fuse`` decides which equations may join a group (default: :func:`fusible`,
    the CUDA kernels' set). ``can_end_group`` (default: none) admits reductions whose
    operand a group computes: they join that group as a last step (a fused loop
    accumulates them), and their results count as computed outside it, so nothing
    that reads them can join the same group. ``siblings``: how many of the latest
    groups of its shape an unrelated equation may join; ``siblings_share_inputs``:
    only groups that read one of its operands (joining saves that read).
    ``merge_producers``: an equation whose operands come from several groups of its
    shape merges them all into one (where the program stays acyclic), so that, e.g.,
    both moments of an Adam update and the parameter update become one group.
    ``row_step`` (default: none, the CUDA kernels' partition): a reduction over the
    last axis of a 2-D group's value stays *inside* the group as a per-row value
    (the loop over rows accumulates it, then uses it in the same row), and equations
    on such row values (of shape ``(rows,)`` or ``(rows, 1)``) for which ``row_step``
    is true join the group too, as do broadcasts of them back to the group's shape:
    a softmax's max, exp, sum, log and division become one loop over rows.

    Greedy, in program order: a fusible equation joins the group of one of its
    operands (the most recent such group), else one of the latest groups of its shape,
    else starts a group, provided the program stays acyclic with every group as one
    node: no operand may depend on the group it joins through anything outside it.

    Dependencies are kept per group, not per value, because a group runs as a whole: a
    value the group computes depends on everything any member depends on, including
    members that join later. ``needs[v]`` holds the groups variable ``v`` (computed
    outside every group) depends on directly; ``group_needs[g]`` the groups the members
    of ``g`` depend on directly; what depends on what is their closure, taken when an
    equation asks to join. Groups of a single equation are dropped: one ufunc is one
    pass already.
    """
    group_of: dict[Var, int] = {}  # variable -> the group computing it
    needs: dict[Var, frozenset] = {}  # variable outside groups -> groups it depends on
    group_needs: list[set] = []
    # the part of group_needs[g] reached through equations outside every group: merging
    # such a group into g would make a cycle (merge_producers)
    group_indirect: list[set] = []
    groups: list[list[int]] = []
    shapes: list[tuple] = []
    by_shape: dict[tuple, list[int]] = {}
    empty: frozenset = frozenset()
    can_fuse = fusible if can_fuse is None else can_fuse
    reads: dict[int, set] = {}  # group -> the variables its members read
    merged_into: list[int] = []  # union-find over groups (merge_producers)

    def find(g: int) -> int:
        while merged_into[g] != g:
            merged_into[g] = merged_into[merged_into[g]]
            g = merged_into[g]
        return g

    def roots(gs) -> set:
        return {find(g) for g in gs}

    def reachable(start: set) -> set:
        """The groups ``start`` depends on, transitively (``start`` included)."""
        seen, stack = set(), list(roots(start))
        while stack:
            g = stack.pop()
            if g not in seen:
                seen.add(g)
                stack.extend(roots(group_needs[g]))
        return seen

    def merge(target: int, others: set, beyond: set, producers: set) -> None:
        """Merge ``others`` into ``target`` if no path leads from one of them to another
        through anything outside them (the new equation's own operands included)."""
        together = others | {target}
        start = set(beyond) | (producers - together)
        for g in together:
            start |= roots(group_indirect[g]) | (roots(group_needs[g]) - together)
        if reachable(start) & together:
            return
        for h in others:
            merged_into[h] = target
            groups[target] += groups[h]
            groups[h] = []
            group_needs[target] |= group_needs[h]
            group_indirect[target] |= group_indirect[h]
            reads[target] |= reads.pop(h, set())
        group_needs[target] = roots(group_needs[target]) - {target}
        group_indirect[target] = roots(group_indirect[target])

    def row_shapes(g: int) -> tuple:
        """The shapes of a row-wise group's per-row values (none for other groups)."""
        shape = shapes[g]
        if row_step is None or len(shape) != 2 or shape[1] == 1:
            return ()
        return ((shape[0],), (shape[0], 1))

    def row_reduction(g: int, eqn: Equation) -> bool:
        x = eqn.inputs[0]
        return (
            bool(row_shapes(g))
            and x.aval.shape == shapes[g]
            and tuple(eqn.params.get("axes", ())) == (1,)
            and eqn.outputs[0].aval.shape == (shapes[g][0],)
        )

    for i, eqn in enumerate(jaxpr.eqns):
        in_vars = [a for a in eqn.inputs if type(a) is Var]
        producers = {find(group_of[a]) for a in in_vars if a in group_of}
        # groups reached through operands computed outside every group
        beyond = roots(empty.union(*(needs.get(a, empty) for a in in_vars)))
        chosen = None
        out_shape = eqn.outputs[0].aval.shape if len(eqn.outputs) == 1 else None
        row_joins = [
            g for g in sorted(producers, reverse=True)
            if out_shape in row_shapes(g) and g not in reachable(beyond | (producers - {g}))
            and all(a.aval.shape in row_shapes(g) or a.aval.size == 1 for a in eqn.inputs)
        ] if row_step is not None and producers and row_step(eqn) else []  # fmt: skip
        if (
            can_end_group is not None
            and len(in_vars) == 1
            and in_vars[0] in group_of
            and can_end_group(eqn)
        ):
            g = find(group_of[in_vars[0]])
            if row_reduction(g, eqn):
                # a row's reduction in a row-wise loop: a per-row value of g that later
                # steps of g may use (the loop accumulates it, then goes on in the row)
                chosen = g
                groups[g].append(i)
            elif in_vars[0].aval.shape == shapes[g]:
                # a reduction of a value of group g: g's last step; its result stays
                # outside g (needs[...] below), so whatever reads it comes after g
                groups[g].append(i)
        elif row_joins:
            # a step on g's per-row values (a reshape, a log, a division of row sums)
            chosen = row_joins[0]
            groups[chosen].append(i)
            group_needs[chosen] |= beyond | (producers - {chosen})
            group_indirect[chosen] |= beyond
            reads.setdefault(chosen, set()).update(in_vars)
        elif can_fuse(eqn):
            shape = eqn.outputs[0].aval.shape
            # the operands' groups, then the latest few groups of this shape (independent
            # work: fewer passes over memory); bounded, so that partitioning stays linear
            latest = [g for g in by_shape.get(shape, []) if find(g) == g][-siblings:] if siblings \
                else []  # fmt: skip
            recent = [
                g
                for g in reversed(latest)
                if g not in producers
                and (not siblings_share_inputs or reads[g].intersection(in_vars))
            ]
            if eqn.primitive is structural.broadcast_in_dim_p and not producers:
                # a broadcast of an outside value is only a way of reading it: it starts
                # the group of its consumer rather than being written out by a sibling
                recent = []
            for g in sorted(producers, reverse=True) + recent:
                # joining g: g's own outputs are internal edges; anything else must not
                # lead back to g
                if shapes[g] == shape and g not in reachable(beyond | (producers - {g})):
                    chosen = g
                    break
            if chosen is None:
                chosen = len(groups)
                groups.append([])
                shapes.append(shape)
                group_needs.append(set())
                group_indirect.append(set())
                merged_into.append(chosen)
                by_shape.setdefault(shape, []).append(chosen)
            others = {g for g in producers if g != chosen and shapes[g] == shape}
            if merge_producers and others:
                merge(chosen, others, beyond, producers)
                producers = roots(producers)
            groups[chosen].append(i)
            group_needs[chosen] |= beyond | (producers - {chosen})
            group_indirect[chosen] |= beyond
            reads.setdefault(chosen, set()).update(in_vars)
        for v in eqn.outputs:
            if chosen is not None:
                group_of[v] = chosen
            elif beyond or producers:
                needs[v] = frozenset(beyond | producers)
    # merged groups: their members in program order
    return [sorted(g) for g in groups if len(g) >= 2]


def fuse(closed: ClosedJaxpr) -> tuple[ClosedJaxpr, list[ElementwiseKernelDescription]]:
    """``closed`` with each fusible group replaced by one ``fused_elementwise`` equation,
    and the kernels' descriptions (in program order)."""
    kernels = []

    def build(group: list, outputs: list) -> Equation:
        description, inputs = describe(group, outputs)
        kernels.append(description)
        # the group as a program too (its inf/NaN inputs stay literals inside it)
        invars = [a if type(a) is Var else Var(a.aval) for a in inputs]
        program = ClosedJaxpr(Jaxpr([], invars, group, outputs), [])
        params = {"kernel": description, "group": program}
        return Equation(fused_elementwise_p, inputs, params, outputs)

    # a GPU kernel of the block function's ~110 operations beats ~110 launches of any size
    closed = threefry.expand(closed)
    return replace_groups(closed, partition(closed.jaxpr), build), kernels


def replace_groups(
    closed: ClosedJaxpr,
    groups: list[list[int]],
    build: Callable[[list, list], Equation | None],
) -> ClosedJaxpr:
    """``closed`` with each group (from :func:`partition`) replaced by the equation
    ``build(group equations, group outputs)`` returns, placed where the whole group
    can run (a topological order keeping the original order where it can); where
    ``build`` returns None, the group's own equations stay, in their order. Outputs
    are the group's values that the program returns or anything outside it reads."""
    jaxpr = closed.jaxpr
    if not groups:
        return closed
    eqns = jaxpr.eqns
    node_of = list(range(len(eqns)))  # equation -> node (the first member of its group)
    for g in groups:
        for i in g:
            node_of[i] = g[0]
    members = {g[0]: g for g in groups}
    producer: dict[Var, int] = {v: i for i, e in enumerate(eqns) for v in e.outputs}
    program_outs = {a for a in jaxpr.outvars if type(a) is Var}
    used_by: dict[Var, set] = {}
    for i, e in enumerate(eqns):
        for a in e.inputs:
            if type(a) is Var:
                used_by.setdefault(a, set()).add(node_of[i])

    # the nodes' dependencies; effectful equations keep their order
    deps: dict[int, set] = {}
    last_effect = None
    for i, e in enumerate(eqns):
        n = node_of[i]
        d = deps.setdefault(n, set())
        for a in e.inputs:
            if type(a) is Var and a in producer and node_of[producer[a]] != n:
                d.add(node_of[producer[a]])
        if e.primitive in effectful_primitives:
            if last_effect is not None and last_effect != n:
                d.add(last_effect)
            last_effect = n
    order = _topological(sorted(deps), deps)

    new_eqns: list[Equation] = []
    for n in order:
        if n not in members:
            new_eqns.append(eqns[n])
            continue
        group = [eqns[i] for i in members[n]]
        outputs = [v for e in group for v in e.outputs
                   if v in program_outs or used_by.get(v, set()) - {n}]  # fmt: skip
        if not outputs:
            continue
        replacement = build(group, outputs)
        if replacement is None:
            new_eqns.extend(group)
        else:
            new_eqns.append(replacement)
    fused = Jaxpr(jaxpr.constvars, jaxpr.invars, new_eqns, jaxpr.outvars)
    return ClosedJaxpr(fused, closed.consts)


def _topological(nodes: list[int], deps: dict[int, set]) -> list[int]:
    """The nodes in dependency order, the earliest available (by position) first."""
    dependents: dict[int, list] = {n: [] for n in nodes}
    missing = {n: len(deps[n]) for n in nodes}
    for n in nodes:
        for d in deps[n]:
            dependents[d].append(n)
    ready = [n for n in nodes if missing[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        n = heapq.heappop(ready)
        order.append(n)
        for m in dependents[n]:
            missing[m] -= 1
            if missing[m] == 0:
                heapq.heappush(ready, m)
    assert len(order) == len(nodes), "fusion: the grouped program has a cycle"
    return order
