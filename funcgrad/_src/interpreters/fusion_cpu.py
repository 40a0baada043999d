"""Fused CPU loops for jit: each fusible group of a program becomes one numba-compiled loop.

On NumPy every elementwise operation is one ufunc call and one pass over memory. This
pass takes the groups that :func:`funcgrad._src.interpreters.fusion.partition` finds
(the CuPy path's partition: elementwise operations of one shape, broadcasts of
smaller operands, here also reductions of the group's values as its last step, such
as a softmax's row-wise max and sum or a bias gradient's column sum) and writes each
as the Python source of one loop nest, which numba compiles (``numba.njit``): one
pass reads the group's inputs, computes every equation in registers, writes the
values used outside the group and accumulates its reductions. Matrix products and
convolutions stay BLAS calls; their epilogues (bias, activation, scale) are the
elementwise groups that follow them, and a weight update ``p - a @ b`` (the product
used only there) is one BLAS ``gemm`` with ``beta = 1`` writing into ``p``'s buffer
(:func:`gemm_update`, SciPy's BLAS; without SciPy it stays a product and a subtraction).

Results follow NumPy's: operands are cast to the dtypes of NumPy's loop for each
operation (``float32 * 2.0`` multiplies float32s), every intermediate is rounded or
wrapped to its dtype, ``fastmath`` is off (IEEE arithmetic, NaN/Inf and signed zeros
as NumPy gives them), and ``maximum``/``minimum`` propagate NaN and return the second
operand on ties, as NumPy's loops do. Float arithmetic that NumPy does in one
operation is one operation here, so such results are bitwise NumPy's; transcendental
functions come from the C math library (NumPy's own float32 exp/log/sin... may
differ by an ulp or two), and a reduction adds in loop order (NumPy adds long
rows pairwise), so those agree within rounding. What the loops do not handle stays
with NumPy, per group: float16 and complex values, integer division, remainders
and integer powers (NumPy's results for zero divisors are its own), float-to-integer
casts, and reductions other than sum/max/min. Shifts are in the loops, with NumPy's
results for counts outside ``[0, bits)`` (0, or -1 for a negative value shifted
right), so Threefry's rounds (every random draw) are one loop.

A kernel's source is written to a file named by its hash in the cache directory
(``funcgrad.config.cpu_fusion_cache_dir``) and compiled with numba's ``cache=True``,
so the next process loads the machine code instead of compiling it (~0.2-1 s per
kernel when not cached). numba is optional: without it nothing here is used
(``funcgrad.config.cpu_fusion_status`` says why).

Examples:
    >>> import numpy as np, funcgrad.numpy as fnp
    >>> from funcgrad._src.ir import trace_to_jaxpr, ClosedJaxpr
    >>> from funcgrad._src.interpreters import fusion_cpu
    >>> x = fnp.ones((4, 32), dtype=np.float32)
    >>> jaxpr, consts = trace_to_jaxpr(lambda x: fnp.sum(fnp.maximum(x * 2.0, 0.0), axis=1),
    ...                                [x.aval])
    >>> fused, kernels = fusion_cpu.fuse(ClosedJaxpr(jaxpr, consts), compile=False)
    >>> print(kernels[0].source)
    def kernel(in0, out0):
        c0 = np.float32(2.0)
        c1 = np.float32(0.0)
        n0, n1 = in0.shape
        for i0 in range(n0):
            a0 = np.float32(0.0)
            for i1 in range(n1):
                v0 = in0[i0, i1]
                t0 = np.float32((v0 * c0))
                t1 = np.float32((t0 if (t0 > c1 or t0 != t0) else c1))
                a0 = np.float32(a0 + t1)
            out0[i0] = a0
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad._src import threefry
from funcgrad._src.core import Primitive
from funcgrad._src.interpreters import fusion
from funcgrad._src.ir import ClosedJaxpr, Equation, Jaxpr, Literal, Var
from funcgrad._src.lax import elementwise, linalg, reductions, structural

# --- availability ------------------------------------------------------------------------


def unavailable_reason() -> str | None:
    """Why numba cannot compile fused loops here (None when it can): not installed, or
    its import failed (the error). Does not import numba when it is absent."""
    if _numba_state["error"] is not None:
        return _numba_state["error"]
    if _numba_state["module"] is not None:
        return None
    try:
        spec = importlib.util.find_spec("numba")
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return "numba is not installed (pip install 'funcgrad[fast]')"
    return None


_numba_state: dict = {"module": None, "error": None}
_import_lock = threading.Lock()


def _numba() -> Any:
    """The numba module, imported on first use (ImportError with the reason if it fails)."""
    module = _numba_state["module"]
    if module is not None:
        return module
    with _import_lock:
        if _numba_state["module"] is None:
            reason = unavailable_reason()
            if reason is not None:
                raise ImportError(reason)
            try:
                import numba
            except Exception as e:
                _numba_state["error"] = f"import numba failed: {type(e).__name__}: {e}"
                raise ImportError(_numba_state["error"]) from e
            _numba_state["module"] = numba
    return _numba_state["module"]


# --- which equations a loop handles ----------------------------------------------------------

_UFUNC_OF: dict[Primitive, str] = {
    **{p: elementwise.UNARY_UFUNCS[n] for n, p in elementwise.unary_primitives.items()},
    **{p: elementwise.BINARY_UFUNCS[n] for n, p in elementwise.binary_primitives.items()},
}

#: dtypes a loop computes with (float16 and complex stay with NumPy's ufuncs).
LOOP_DTYPES = frozenset(
    np.dtype(t)
    for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
              np.uint32, np.uint64, np.float32, np.float64)
)  # fmt: skip

# Groups smaller than this stay NumPy calls: a numba call and the allocation of its
# outputs cost about as much as a few ufunc calls on a few dozen elements. Unless they
# have at least _MIN_GROUP_OPS operations: one call then replaces many at any size
# (Threefry's ~110 operations on a key split's few blocks, an optimizer's update of a
# small bias).
_MIN_GROUP_SIZE = 64
_MIN_GROUP_OPS = 8
# A reduction over trailing axes accumulates in a register in loop order; NumPy adds
# long rows pairwise (more accurately), so longer rows stay NumPy reductions.
_MAX_ROW_REDUCTION = 1024
# Groups of at least this many elements (and no cross-row accumulation) run their outer
# loop on numba's threads (numba.prange) when numba has more than one.
_PARALLEL_MIN_SIZE = 1 << 20


def _ct(dt: np.dtype) -> str:
    """The numba source name of a scalar type: ``np.float32``."""
    return f"np.{dt.name}" if dt.kind != "b" else "np.bool_"


def _float_fn(name: str) -> Callable:
    return lambda a, dt: f"np.{name}({', '.join(a)})" if dt.kind == "f" else None


def _infix(op: str, bool_op: str | None = None) -> Callable:
    def rule(a, dt):
        if dt.kind == "b":
            return None if bool_op is None else f"({a[0]} {bool_op} {a[1]})"
        return f"({a[0]} {op} {a[1]})"

    return rule


def _extremum(op: str, bool_op: str) -> Callable:
    # NumPy's loops: NaN in the first operand wins, else the comparison; ties give the
    # second operand (so does NaN in it, as every comparison with it is false)
    def rule(a, dt):
        x, y = a
        if dt.kind == "b":
            return f"({x} {bool_op} {y})"
        if dt.kind == "f":
            return f"({x} if ({x} {op} {y} or {x} != {x}) else {y})"
        return f"({x} if {x} {op} {y} else {y})"

    return rule


def _nan_ignoring_extremum(op: str, bool_op: str) -> Callable:
    def rule(a, dt):
        x, y = a
        if dt.kind == "f":  # fmax/fmin: a NaN operand gives the other one
            return f"({x} if ({x} {op} {y} or {y} != {y}) else {y})"
        return _extremum(op, bool_op)(a, dt)

    return rule


def _sign(a, dt):
    (x,) = a
    one, zero = f"{_ct(dt)}(1)", f"{_ct(dt)}(0)"
    if dt.kind == "f":  # NaN stays NaN; -0.0 gives +0.0
        return f"({one} if {x} > 0 else (-{one} if {x} < 0 else ({zero} if {x} == 0 else {x})))"
    if dt.kind == "i":
        return f"({one} if {x} > 0 else (-{one} if {x} < 0 else {zero}))"
    if dt.kind == "u":
        return f"({one} if {x} > 0 else {zero})"
    return None


def _absolute(a, dt):
    if dt.kind == "b" or dt.kind == "u":
        return a[0]
    return f"abs({a[0]})"


def _negative(a, dt):
    if dt.kind == "b":
        return None
    if dt.kind == "u":  # computed in a wider type, wrapped by the cast
        return f"({_ct(dt)}(0) - {a[0]})"
    return f"(-{a[0]})"


def _heaviside(a, dt):
    if dt.kind != "f":
        return None
    x, h = a
    one, zero = f"{_ct(dt)}(1)", f"{_ct(dt)}(0)"
    return f"({x} if {x} != {x} else ({zero} if {x} < 0 else ({one} if {x} > 0 else {h})))"


def _classify(name: str, exact: str) -> Callable:
    return lambda a, dt: f"np.{name}({a[0]})" if dt.kind == "f" else exact


def _bitwise(op: str) -> Callable:
    return lambda a, dt: f"({a[0]} {op} {a[1]})" if dt.kind in "biu" else None


def _shift(op: str) -> Callable:
    # NumPy shifts by a count outside [0, bits) give 0 (or -1: a negative value shifted
    # right), where a shift in the loop would be undefined: the count is checked (as
    # unsigned, so negative counts are large). A constant count folds the check away.
    def rule(a, dt):
        if dt.kind not in "iu":
            return None
        ct, bits = _ct(dt), 8 * dt.itemsize
        count = f"np.uint64({a[1]})" if dt.kind == "i" else a[1]
        beyond = f"{ct}(-1 if {a[0]} < 0 else 0)" if op == ">>" and dt.kind == "i" else f"{ct}(0)"
        return f"({ct}({a[0]} {op} {a[1]}) if {count} < {bits} else {beyond})"

    return rule


def _invert(a, dt):
    if dt.kind == "b":
        return f"({a[0]} ^ True)"
    return f"(~{a[0]})" if dt.kind in "iu" else None


def _truth(x: str, dt: np.dtype) -> str:
    return x if dt.kind == "b" else f"({x} != 0)"


def _logical(op: str) -> Callable:
    return lambda a, dt: f"({_truth(a[0], dt)} {op} {_truth(a[1], dt)})"


_FLOAT_FUNCTIONS = [
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "cbrt", "sin", "cos",
    "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
    "arctanh", "floor", "ceil", "rint", "trunc", "arctan2", "hypot", "copysign",
    "nextafter", "logaddexp", "logaddexp2",
]  # fmt: skip

#: ufunc name -> rule(operand expressions of the loop dtype, loop dtype) -> expression
#: or None (that dtype is not handled).
UFUNC_RULES: dict[str, Callable] = {
    **{name: _float_fn(name) for name in _FLOAT_FUNCTIONS},
    "add": _infix("+", "|"),
    "subtract": _infix("-"),
    "multiply": _infix("*", "&"),
    "true_divide": lambda a, dt: f"({a[0]} / {a[1]})" if dt.kind == "f" else None,
    "power": lambda a, dt: f"np.power({a[0]}, {a[1]})" if dt.kind == "f" else None,
    "negative": _negative,
    "absolute": _absolute,
    "sign": _sign,
    "maximum": _extremum(">", "|"),
    "minimum": _extremum("<", "&"),
    "fmax": _nan_ignoring_extremum(">", "|"),
    "fmin": _nan_ignoring_extremum("<", "&"),
    "heaviside": _heaviside,
    "isnan": _classify("isnan", "False"),
    "isinf": _classify("isinf", "False"),
    "isfinite": _classify("isfinite", "True"),
    "signbit": lambda a, dt: f"np.signbit({a[0]})" if dt.kind == "f" else None,
    "bitwise_and": _bitwise("&"),
    "bitwise_or": _bitwise("|"),
    "bitwise_xor": _bitwise("^"),
    "invert": _invert,
    "left_shift": _shift("<<"),
    "right_shift": _shift(">>"),
    "logical_and": _logical("&"),
    "logical_or": _logical("|"),
    "logical_xor": _logical("!="),
    "logical_not": lambda a, dt: f"({_truth(a[0], dt)} ^ True)",
    "equal": lambda a, dt: f"({a[0]} == {a[1]})",
    "not_equal": lambda a, dt: f"({a[0]} != {a[1]})",
    "less": lambda a, dt: f"({a[0]} < {a[1]})",
    "less_equal": lambda a, dt: f"({a[0]} <= {a[1]})",
    "greater": lambda a, dt: f"({a[0]} > {a[1]})",
    "greater_equal": lambda a, dt: f"({a[0]} >= {a[1]})",
}

#: reduction primitive -> (name, combine(acc, value, dtype) -> expression, initial value)
_REDUCTIONS = {
    reductions.reduce_sum_p: "sum",
    reductions.reduce_max_p: "max",
    reductions.reduce_min_p: "min",
}


def _combine(op: str, acc: str, v: str, dt: np.dtype) -> str:
    if op == "sum":
        return f"{_ct(dt)}({acc} + {v})"
    cmp = ">" if op == "max" else "<"
    if dt.kind == "f":  # a NaN, once met, stays
        return f"({v} if ({v} {cmp} {acc} or {v} != {v}) else {acc})"
    return f"({v} if {v} {cmp} {acc} else {acc})"


def _initial(op: str, dt: np.dtype) -> str:
    if op == "sum":
        return f"{_ct(dt)}(0)" if dt.kind != "f" else f"{_ct(dt)}(0.0)"
    if dt.kind == "f":
        return f"{_ct(dt)}({'-' if op == 'max' else ''}np.inf)"
    info = np.iinfo(dt)
    return f"{_ct(dt)}({info.min if op == 'max' else info.max})"


def _weak_key(atom: Any) -> Any:
    aval = atom.aval
    if aval.weak_type and aval.dtype.kind != "b":
        return {"i": int, "f": float, "c": complex}[aval.dtype.kind]
    return aval.dtype


def _loop_dtype(ufunc: str, eqn: Equation) -> np.dtype | None:
    try:
        in_dtypes, _ = elementwise.ufunc_loop_dtypes(ufunc, tuple(map(_weak_key, eqn.inputs)))
    except TypeError:
        return None
    in_dtypes = {np.dtype(d) for d in in_dtypes}
    if len(in_dtypes) != 1:
        return None
    (dt,) = in_dtypes
    return dt if dt in LOOP_DTYPES else None


def _castable(src: np.dtype, dst: np.dtype) -> bool:
    """Casts a loop does as NumPy does (float to integer is platform-defined there)."""
    return not (src.kind == "f" and dst.kind in "iu")


def can_fuse(eqn: Equation) -> bool:
    """Whether ``eqn`` can be a step of a fused loop (the partition's ``can_fuse``)."""
    prim = eqn.primitive
    if len(eqn.outputs) != 1:
        return False
    out = eqn.outputs[0].aval
    if not out.shape or out.size == 0 or out.dtype not in LOOP_DTYPES:
        return False
    for a in eqn.inputs:
        if a.aval.dtype not in LOOP_DTYPES:
            return False
        if type(a) is Literal and not isinstance(a.val, (bool, int, float, np.generic)):
            return False
    if prim in _UFUNC_OF:
        ufunc = _UFUNC_OF[prim]
        rule = UFUNC_RULES.get(ufunc)
        dt = _loop_dtype(ufunc, eqn)
        if rule is None or dt is None:
            return False
        return rule(["a"] * len(eqn.inputs), dt) is not None
    if prim is elementwise.select_p:
        return eqn.inputs[0].aval.dtype.kind in "biu"
    if prim is structural.convert_element_type_p:
        return _castable(eqn.inputs[0].aval.dtype, out.dtype)
    if prim is structural.broadcast_in_dim_p:
        dims = eqn.params["broadcast_dimensions"]
        return list(dims) == sorted(dims)
    return False


def can_end_group(eqn: Equation) -> bool:
    """Whether ``eqn`` is a reduction a fused loop can accumulate (the partition's
    ``can_end_group``): sum/max/min of a bool-free loop dtype over at least one axis;
    over trailing axes only for rows of at most ``_MAX_ROW_REDUCTION`` elements."""
    op = _REDUCTIONS.get(eqn.primitive)
    if op is None or type(eqn.inputs[0]) is not Var:
        return False
    x = eqn.inputs[0].aval
    out = eqn.outputs[0].aval
    axes = tuple(eqn.params["axes"])
    if not axes or x.size == 0 or x.dtype.kind not in "iuf" or x.dtype not in LOOP_DTYPES:
        return False
    if out.dtype != x.dtype:
        return False
    if _trailing_from(axes, x.ndim) is not None:
        return math.prod(x.shape[d] for d in axes) <= _MAX_ROW_REDUCTION
    return True


def row_step(eqn: Equation) -> bool:
    """Whether ``eqn`` can be a per-row step of a row-wise loop (the partition's
    ``row_step``): a loop step, or a reshape between ``(rows,)`` and ``(rows, 1)``."""
    if eqn.primitive is structural.reshape_p:
        (x,) = eqn.inputs
        out = eqn.outputs[0].aval
        return (
            type(x) is Var
            and x.aval.dtype == out.dtype
            and x.aval.dtype in LOOP_DTYPES
            and len(out.shape) in (1, 2)  # (a reshape to or from 0-d is not a row step)
            and {x.aval.shape, out.shape} == {(out.shape[0],), (out.shape[0], 1)}
        )
    return eqn.primitive is not structural.broadcast_in_dim_p and can_fuse(eqn)


def _trailing_from(axes: tuple, ndim: int) -> int | None:
    """``k`` when ``axes`` are exactly the trailing axes ``k..ndim-1``, else None."""
    k = ndim - len(axes)
    return k if tuple(sorted(axes)) == tuple(range(k, ndim)) else None


# --- the loop source -------------------------------------------------------------------------


class LoopKernel:
    """One fused group as a numba loop.

    Attributes:
        name: a readable name (the operations it fuses).
        source: the Python source of ``kernel(in0, ..., out0, ...)``: it reads the
            inputs and writes every output (arrays given by the caller, of the output
            avals' shapes and dtypes).
        inputs: the group's inputs (variables computed outside it), in parameter order.
        outputs: the group's outputs, in parameter order.
        shape: the loop nest's shape (the group's elementwise shape).
        parallel: whether the outer loop runs on numba's threads.
        dispatcher: the compiled numba function once :meth:`compile` has run.
    """

    def __init__(self, name, source, inputs, outputs, shape, parallel):
        self.name = name
        self.source = source
        self.inputs = inputs
        self.outputs = outputs
        self.shape = shape
        self.parallel = parallel
        self.dispatcher = None
        self.group: list = []
        self.inplace: dict = {}  # output -> the input whose buffer it is written into
        self.row_wise = False  # phases per row (:func:`_describe_rows`): never in place

    def variant(self, inplace: dict) -> LoopKernel:
        """This loop writing each output ``v`` in ``inplace`` into input ``inplace[v]``'s
        buffer (not compiled); the call passes only the other outputs."""
        kernel = describe(self.group, self.outputs, inplace)
        assert kernel is not None and kernel.inputs == self.inputs
        return kernel

    @property
    def out_params(self) -> list:
        """The outputs passed to the call (the others are written into inputs)."""
        return [v for v in self.outputs if v not in self.inplace]

    def argument_avals(self) -> list[tuple[Any, bool]]:
        """Each argument's abstract value and whether the loop only reads it: inputs
        (read-only unless an output is written into them), then outputs."""
        written = set(self.inplace.values())
        return [(v.aval, v not in written) for v in self.inputs] + [
            (v.aval, False) for v in self.out_params
        ]

    def signature(self) -> tuple:
        """The numba types of a call: inputs read-only (writable where an output is
        written into them) and outputs writable, C-contiguous."""
        nb = _numba()
        return tuple(
            nb.types.Array(nb.from_dtype(aval.dtype), aval.ndim, "C", readonly=readonly)
            for aval, readonly in self.argument_avals()
        )

    def compile(self) -> Any:
        """Compile (or load from the disk cache) and return the numba dispatcher."""
        if self.dispatcher is None:
            self.dispatcher = _compile(self.source, self.parallel, self.signature())
        return self.dispatcher

    def __repr__(self) -> str:
        return f"<fused loop {self.name}>"


class _LoopBuilder:
    """Statements of one loop nest, each placed at the shallowest loop depth whose
    indices it depends on (loads of a bias or of a row's value are hoisted)."""

    def __init__(self, shape: tuple, flat_shape: tuple | None = None):
        self.shape = shape
        self.ndim = len(shape)
        # flat_shape: the group's shape, run as one loop over its elements (shape is
        # then (size,)): operands of that shape are read through 1-d views
        self.flat_shape = flat_shape
        self.flat_views: list[str] = []
        self.inputs: list[Var] = []
        self.input_index: dict[Var, int] = {}
        self.names: dict[Var, str] = {}  # value -> local name
        self.depth: dict[str, int] = {}  # local name -> loop depth where it is defined
        self.at_depth: list[list[str]] = [[] for _ in range(self.ndim + 1)]
        self.after_loop: list[list[str]] = [[] for _ in range(self.ndim + 1)]
        self.constants: list[str] = []
        self.constant_names: dict[tuple, str] = {}
        self.count = 0
        self.ops: list[str] = []

    def constant(self, value: Any, dt: np.dtype) -> str:
        if dt.kind == "b":
            return "True" if bool(value) else "False"
        key = (repr(value), dt)
        name = self.constant_names.get(key)
        if name is None:
            if dt.kind == "f":
                v = float(value)
                text = (
                    "np.nan"
                    if math.isnan(v)
                    else ("np.inf" if v > 0 else "-np.inf")
                    if math.isinf(v)
                    else repr(float(dt.type(v)))
                )
            else:
                text = repr(int(value))
            name = self.constant_names[key] = f"c{len(self.constant_names)}"
            self.constants.append(f"{name} = {_ct(dt)}({text})")
            self.depth[name] = 0
        return name

    def load(self, x: Var, view: tuple) -> str:
        """The local holding input ``x`` at this iteration; ``view``: for each loop axis,
        the operand's axis indexed by it (None: the operand has no such axis or size 1)."""
        if self.flat_shape is not None:
            view = None
        key = (x, view)
        name = self.names.get(key)
        if name is not None:
            return name
        if x not in self.input_index:
            self.input_index[x] = len(self.inputs)
            self.inputs.append(x)
        param = f"in{self.input_index[x]}"
        if self.flat_shape is not None:
            name = f"v{len(self.names)}"
            self.names[key] = name
            if x.aval.size == 1:
                self.depth[name] = 0
                self.at_depth[0].append(
                    f"{name} = {param}[{', '.join(['0'] * x.aval.ndim) or '()'}]"
                )
            else:  # of the group's shape
                self.flat_views.append(f"{param}f = {param}.reshape(n0)")
                self.depth[name] = 1
                self.at_depth[1].append(f"{name} = {param}f[i0]")
            return name
        index = []
        depth = 0
        for axis, own in enumerate(view):
            if own is None:
                continue
            if x.aval.shape[own] == 1:
                index.append("0")
            else:
                index.append(f"i{axis}")
                depth = axis + 1
        # axes of x that no loop axis indexes have size 1
        full = ["0"] * x.aval.ndim
        positions = [own for own in view if own is not None]
        for pos, idx in zip(positions, index):
            full[pos] = idx
        subscript = ", ".join(full) if full else "()"
        name = f"v{len(self.names)}"
        self.names[key] = name
        self.emit(name, f"{name} = {param}[{subscript}]", depth, x.aval.dtype)
        return name

    def emit(self, name: str, statement: str, depth: int, dt: np.dtype) -> None:
        """Define local ``name`` (of dtype ``dt``) by ``statement`` at loop depth ``depth``."""
        self.depth[name] = depth
        self.at_depth[depth].append(statement)

    def operand(self, atom: Any, dt: np.dtype) -> str:
        """``atom`` as an expression of dtype ``dt``."""
        if type(atom) is Literal:
            return self.constant(atom.val, dt)
        name = self.names.get(atom)
        if name is None:  # an input of the group's shape
            # (a row-wise loop's (rows,) value: its axis is the loop's first)
            name = self.load(atom, tuple(range(atom.aval.ndim)) if atom.aval.ndim else
                             (None,) * self.ndim)  # fmt: skip
        src = atom.aval.dtype
        if src == dt:
            return name
        return self.cast(name, src, dt)

    def cast(self, name: str, src: np.dtype, dt: np.dtype) -> str:
        if dt.kind == "b":
            return f"({name} != 0)"
        return f"{_ct(dt)}({name})"

    def define(self, var: Var, expr: str, operands: Sequence[str]) -> None:
        depth = max((self.depth[o] for o in operands), default=0)
        name = f"t{self.count}"
        self.count += 1
        dt = var.aval.dtype
        # every step is rounded (or wrapped) to its dtype: numba computes integers wider
        text = expr if dt.kind == "b" else f"{_ct(dt)}({expr})"
        self.names[var] = name
        self.emit(name, f"{name} = {text}", depth, dt)


class _RowLoopBuilder(_LoopBuilder):
    """A loop over the rows of a 2-D group whose steps use the group's own row
    reductions: each row runs *phases*, an inner loop over the row's elements per
    phase. A reduction over the row accumulates in a register during the phase of its
    operand; what uses it runs from the next phase on. An element's value computed in
    one phase and used in a later one is kept in a scratch row (one per value, made
    once per call); an input element is read again. Every value is computed once, by
    the same operation as in NumPy (bitwise NumPy's where NumPy's order is the same)."""

    def __init__(self, shape: tuple):
        super().__init__(shape)
        self.phase: dict[str, int] = {}
        self.dtype_of: dict[str, np.dtype] = {}
        self.top: list[str] = []
        self.rows: dict[int, list[str]] = {}
        self.inner: dict[int, list[str]] = {}
        self.row_end: list[str] = []
        self.after_rows: list[str] = []
        self.scratch: list[str] = []
        self.carried: dict[tuple, str] = {}
        self.loads: dict[str, str] = {}  # name of an element load -> its right-hand side
        self.current = 0  # the phase of the statement being emitted

    def block(self, depth: int, phase: int) -> list[str]:
        if depth == 0:
            return self.top
        table = self.rows if depth == 1 else self.inner
        return table.setdefault(phase, [])

    def emit(self, name, statement, depth, dt):
        self.depth[name] = depth
        self.dtype_of[name] = dt
        phase = self.current if depth else 0
        self.phase[name] = phase
        if statement.startswith(f"{name} = in") and depth == 2:
            # an element of an input: read in each phase that uses it (carry)
            self.loads[name] = statement.split(" = ", 1)[1]
            self.phase[name] = -1
            return
        self.block(depth, phase).append(statement)

    def carry(self, name: str, phase: int) -> str:
        """Element value ``name`` (of an earlier phase) as a local of ``phase``."""
        key = (name, phase)
        local = self.carried.get(key)
        if local is not None:
            return local
        local = self.carried[key] = f"{name}p{phase}"
        if name in self.loads:  # read the input again
            self.block(2, phase).append(f"{local} = {self.loads[name]}")
        else:
            row = f"s{name}"
            if row not in self.scratch:
                self.scratch.append(row)
                self.top.append(f"{row} = np.empty(n1, {_ct(self.dtype_of[name])})")
                self.block(2, self.phase[name]).append(f"{row}[i1] = {name}")
            self.block(2, phase).append(f"{local} = {row}[i1]")
        return local

    def define(self, var, expr, operands):
        phase = max((self.phase.get(o, 0) for o in operands), default=0)
        phase = max(phase, 0)
        depth = max((self.depth[o] for o in operands), default=0)
        if depth == 2:
            for o in sorted(set(operands), key=len, reverse=True):
                if self.depth[o] == 2 and self.phase[o] < phase:
                    expr = re.sub(rf"\b{o}\b", self.carry(o, phase), expr)
        self.current = phase
        super().define(var, expr, operands)
        self.current = 0

    def value_in(self, name: str, phase: int) -> str:
        """``name`` usable in inner loop ``phase``."""
        if self.depth.get(name, 0) == 2 and self.phase[name] < phase:
            return self.carry(name, phase)
        return name


def _row_wise(group: Sequence[Equation], shape: tuple) -> bool:
    """Whether a 2-D group uses its own row reductions (it then runs as row phases)."""
    if len(shape) != 2:
        return False
    reduced = {e.outputs[0] for e in group if e.primitive in _REDUCTIONS}
    return any(
        e.primitive is structural.reshape_p
        or (e.primitive not in _REDUCTIONS and e.outputs[0].aval.shape != shape)
        or any(type(a) is Var and a in reduced for a in e.inputs)
        for e in group
    )


def _describe_rows(group: Sequence[Equation], outputs: Sequence[Var],
                   shape: tuple) -> LoopKernel | None:  # fmt: skip
    """The loop of a row-wise group (:func:`_row_wise`): see :class:`_RowLoopBuilder`."""
    k = _RowLoopBuilder(shape)
    n0 = shape[0]
    init: list[str] = []
    stores: dict[Var, tuple] = {}  # reduction output -> (kind, accumulator)
    for eqn in group:
        prim = eqn.primitive
        if prim is structural.reshape_p:
            (x,) = eqn.inputs
            k.names[eqn.outputs[0]] = k.operand(x, x.aval.dtype)
            continue
        op = _REDUCTIONS.get(prim)
        if op is None:
            _equation(k, eqn)
            continue
        (x,) = eqn.inputs
        out = eqn.outputs[0]
        dt = out.aval.dtype
        value = k.names[x]
        p = max(k.phase.get(value, 0), 0)
        value = k.value_in(value, p)
        axes = tuple(sorted(eqn.params["axes"]))
        k.ops.append(f"reduce_{op}")
        acc = f"a{len(stores)}"
        if axes == (1,):  # a row's register, usable from the next phase on
            k.block(1, p).append(f"{acc} = {_initial(op, dt)}")
            k.block(2, p).append(f"{acc} = {_combine(op, acc, value, dt)}")
            k.names[out] = acc
            k.depth[acc] = 1
            k.phase[acc] = p + 1
            k.dtype_of[acc] = dt
            stores[out] = ("row", acc)
        elif axes == (0, 1):  # one register over all rows, in loop order
            k.top.append(f"{acc} = {_initial(op, dt)}")
            k.block(2, p).append(f"{acc} = {_combine(op, acc, value, dt)}")
            stores[out] = ("total", acc)
        else:  # column accumulators in the output, rows in loop order (as NumPy)
            stores[out] = ("column", (op, value, p))
    out_params = {v: f"out{j}" for j, v in enumerate(outputs)}
    for v in outputs:
        param = out_params[v]
        kind, acc = stores.get(v, (None, None))
        if kind == "total":
            k.after_rows.append(f"{param}[()] = {acc}")
        elif kind == "column":
            op, value, p = acc
            init.append(f"{param}[...] = {_initial(op, v.aval.dtype)}")
            k.block(2, p).append(
                f"{param}[i1] = {_combine(op, f'{param}[i1]', value, v.aval.dtype)}"
            )
        elif v.aval.shape == shape:
            name = k.names[v]
            p = max(k.phase.get(name, 0), 0)
            k.block(2, p).append(f"{param}[i0, i1] = {k.value_in(name, p)}")
        elif v.aval.shape in ((n0,), (n0, 1)):
            index = "i0" if v.aval.ndim == 1 else "i0, 0"
            k.row_end.append(f"{param}[{index}] = {k.names[v]}")
        else:
            return None
    carrier = next((f"in{k.input_index[x]}" for x in k.inputs if x.aval.shape == shape), None)
    if carrier is None:
        carrier = next((out_params[v] for v in outputs if v.aval.shape == shape), None)
    if carrier is None:
        return None
    params = [f"in{i}" for i in range(len(k.inputs))] + [out_params[v] for v in outputs]
    body: list = [*k.constants, *init, f"n0, n1 = {carrier}.shape", *k.top]
    row_block: list = []
    for p in range(max([*k.rows, *k.inner, 0]) + 1):
        row_block += k.rows.get(p, [])
        if k.inner.get(p):
            row_block += ["for i1 in range(n1):", list(k.inner[p])]
    row_block += k.row_end
    body += ["for i0 in range(n0):", row_block, *k.after_rows]
    source = "\n".join([f"def kernel({', '.join(params)}):", *_render(body, 1)])
    ops = "_".join(dict.fromkeys(k.ops)) or "copy"
    if len(ops) > 40:
        ops = ops[:40].rstrip("_") + f"_{len(k.ops)}ops"
    kernel = LoopKernel(f"fused_rows_{ops}", source, list(k.inputs), list(outputs), shape, False)
    kernel.group = list(group)
    kernel.row_wise = True
    return kernel


def _equation(k: _LoopBuilder, eqn: Equation) -> None:
    prim = eqn.primitive
    out = eqn.outputs[0]
    if prim in _UFUNC_OF:
        ufunc = _UFUNC_OF[prim]
        dt = _loop_dtype(ufunc, eqn)
        raw = [k.operand(a, dt) for a in eqn.inputs]
        expr = UFUNC_RULES[ufunc](raw, dt)
        k.ops.append(ufunc)
    elif prim is elementwise.select_p:
        pred, a, b = eqn.inputs
        p = k.operand(pred, pred.aval.dtype)
        p = _truth(p, pred.aval.dtype)
        x, y = k.operand(a, out.aval.dtype), k.operand(b, out.aval.dtype)
        raw = [p, x, y]
        expr = f"({x} if {p} else {y})"
        k.ops.append("select")
    elif prim is structural.convert_element_type_p:
        (x,) = eqn.inputs
        raw = [k.operand(x, x.aval.dtype)]
        if x.aval.dtype == out.aval.dtype:
            expr = raw[0]
        else:
            expr = k.cast(raw[0], x.aval.dtype, out.aval.dtype)
        k.ops.append("convert")
    elif prim is structural.broadcast_in_dim_p:
        (x,) = eqn.inputs
        if type(x) is Literal:
            raw = [k.constant(x.val, out.aval.dtype)]
        elif x in k.names:  # computed in the group: of the group's shape already
            raw = [k.names[x]]
        elif k.flat_shape is not None:
            raw = [k.load(x, None)]
        else:
            view: list = [None] * k.ndim
            for own, axis in enumerate(eqn.params["broadcast_dimensions"]):
                view[axis] = own
            raw = [k.load(x, tuple(view))]
        expr = raw[0]
    else:
        raise ValueError(f"fusion_cpu: {prim.name} is not a loop step")
    k.define(out, expr, _referenced(expr, k))


def _referenced(expr: str, k: _LoopBuilder) -> list[str]:
    """The locals an expression reads (for its loop depth)."""
    return [n for n in re.findall(r"\b[vtca]\d+\b", expr) if n in k.depth]


def describe(group: Sequence[Equation], outputs: Sequence[Var],
             inplace: dict | None = None) -> LoopKernel | None:  # fmt: skip
    """The loop computing ``outputs`` from the group's equations (in program order; its
    elementwise steps all of one shape, reductions of its values last), or None if the
    loop's bounds could not be read from any of its arrays.

    ``inplace``: output -> input (both of the loop's shape) whose buffer it is written
    into: the loop stores through that input's parameter, after reading it at the same
    index. Written as one array, not as two parameters that may be the same, so that
    LLVM can vectorise the loop (it cannot when an output may overlap an input).
    """
    inplace = dict(inplace or {})
    shape = next(e.outputs[0].aval.shape for e in group if e.primitive not in _REDUCTIONS)
    if _row_wise(group, tuple(shape)):
        # (in place: a later phase may read an input again after an earlier one wrote it)
        return None if inplace else _describe_rows(group, outputs, tuple(shape))
    flat = _flattenable(group, tuple(shape))
    if flat:  # one loop over the elements: no loop nest's overhead, one vectorised loop
        group_shape, shape = tuple(shape), (math.prod(shape),)
    d = len(shape)
    k = _LoopBuilder(tuple(shape), group_shape if flat else None)
    reductions_of: dict[Var, tuple] = {}
    for eqn in group:
        op = _REDUCTIONS.get(eqn.primitive)
        if op is None:
            _equation(k, eqn)
            continue
        (x,) = eqn.inputs
        reductions_of[eqn.outputs[0]] = (op, k.names[x], tuple(sorted(eqn.params["axes"])))
        k.ops.append(f"reduce_{op}")
    out_params = {v: f"out{j}" for j, v in enumerate(v for v in outputs if v not in inplace)}
    for v, x in inplace.items():
        out_params[v] = f"in{k.input_index[x]}"
    idx = [f"i{a}" for a in range(d)]
    init: list[str] = []
    cross_row = False
    for v in outputs:
        param = out_params[v]
        if v in reductions_of:
            op, value, axes = reductions_of[v]
            dt = v.aval.dtype
            kept = [idx[a] for a in range(d) if a not in axes]
            first = _trailing_from(axes, d)
            if first is not None:  # a register per row
                cross_row |= first == 0
                acc = f"a{param[3:]}"
                at = first
                k.at_depth[at].append(f"{acc} = {_initial(op, dt)}")
                k.at_depth[d].append(f"{acc} = {_combine(op, acc, value, dt)}")
                k.after_loop[at].append(f"{param}[{', '.join(kept) or '()'}] = {acc}")
            else:  # accumulated in the output, rows in loop order (as NumPy does)
                cross_row = True
                init.append(f"{param}[...] = {_initial(op, dt)}")
                target = f"{param}[{', '.join(kept)}]"
                k.at_depth[d].append(f"{target} = {_combine(op, target, value, dt)}")
        elif flat:
            view = f"{param}f = {param}.reshape(n0)"
            if view not in k.flat_views:
                k.flat_views.append(view)
            k.at_depth[d].append(f"{param}f[i0] = {k.names[v]}")
        else:
            k.at_depth[d].append(f"{param}[{', '.join(idx)}] = {k.names[v]}")
    # the loop bounds: from an array of the group's shape
    full = group_shape if flat else tuple(shape)
    carrier = next((f"in{k.input_index[x]}" for x in k.inputs if x.aval.shape == full), None)
    if carrier is None:
        carrier = next((out_params[v] for v in outputs if v.aval.shape == full), None)
    if carrier is None:
        return None
    size = math.prod(shape)
    parallel = size >= _PARALLEL_MIN_SIZE and not cross_row and d >= 1 and _threads() > 1
    params = [f"in{i}" for i in range(len(k.inputs))]
    params += [out_params[v] for v in outputs if v not in inplace]
    lines = [f"def kernel({', '.join(params)}):"]
    body = [*k.constants, *init]
    names = [f"n{a}" for a in range(d)]
    if flat:
        body.append(f"n0 = {carrier}.size")
        body += k.flat_views
    else:
        body.append(f"{', '.join(names)}{',' if d == 1 else ''} = {carrier}.shape")
    body += k.at_depth[0]
    inner = body
    nests = [inner]
    for a in range(d):
        loop = "numba.prange" if parallel and a == 0 else "range"
        inner.append(f"for i{a} in {loop}(n{a}):")
        block: list = []
        inner.append(block)
        block += k.at_depth[a + 1]
        nests.append(block)
        inner = block
    # statements after a loop closes: appended to the enclosing block after the loop
    for a in range(d + 1):
        if k.after_loop[a]:
            nests[a] += k.after_loop[a]
    lines += _render(body, 1)
    source = "\n".join(lines)
    ops = "_".join(dict.fromkeys(k.ops)) or "copy"
    if len(ops) > 40:
        ops = ops[:40].rstrip("_") + f"_{len(k.ops)}ops"
    kernel = LoopKernel(f"fused_{ops}", source, list(k.inputs), list(outputs),
                        group_shape if flat else tuple(shape), parallel)  # fmt: skip
    kernel.group = list(group)
    kernel.inplace = inplace
    return kernel


def _flattenable(group: Sequence[Equation], shape: tuple) -> bool:
    """Whether the group can run as one loop over its elements: of at least 2 dims, no
    reductions, every array it reads of its shape or of one element."""
    if len(shape) < 2:
        return False
    computed = {v for e in group for v in e.outputs}
    for eqn in group:
        if eqn.primitive in _REDUCTIONS:
            return False
        for a in eqn.inputs:
            if type(a) is Var and a not in computed and a.aval.shape != shape and a.aval.size != 1:
                return False
    return True


def _render(block: list, level: int) -> list[str]:
    out = []
    for item in block:
        if isinstance(item, list):
            out += _render(item, level + 1) if item else ["    " * (level + 1) + "pass"]
        else:
            out.append("    " * level + item)
    return out


def _threads() -> int:
    try:
        return int(_numba().config.NUMBA_NUM_THREADS)
    except ImportError:
        return 1


# --- compiling, with numba's disk cache ---------------------------------------------------

_compiled: dict[tuple, Any] = {}  # (source, parallel) -> dispatcher, for this process
_compile_lock = threading.RLock()


def _cache_dir() -> str:
    from funcgrad._src.config import config

    return os.path.expanduser(config.cpu_fusion_cache_dir)


def _kernel_file(source: str, parallel: bool) -> tuple[str, str]:
    """``(path, module name)`` of the file holding ``source`` (written once, named by its
    hash: numba's cache keys the machine code by that file)."""
    nb = _numba()
    text = f"import numba\nimport numpy as np\n\n\n{source}\n"
    digest = hashlib.sha256(f"{nb.__version__}\n{parallel}\n{text}".encode()).hexdigest()
    directory = _cache_dir()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"fg_{digest[:24]}.py")
    if not os.path.exists(path):
        temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(temporary, "w") as f:
            f.write(text)
        os.replace(temporary, path)  # never a half-written file under the name
    return path, f"_funcgrad_kernel_{digest[:24]}"


def _load_kernel(nb: Any, path: str, module_name: str, parallel: bool) -> Any:
    """The numba dispatcher of the ``kernel`` function in the file at ``path``."""
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        # numba's cache finds the function's globals through its module's name
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return nb.njit(cache=True, error_model="numpy", parallel=parallel, fastmath=False,
                   nogil=True)(module.kernel)  # fmt: skip


def _compile(source: str, parallel: bool, signature: tuple) -> Any:
    """A numba dispatcher for ``source`` (defining ``kernel``), compiled for
    ``signature`` now (other layouts compile when first met). The source is a file
    named by its hash, so numba's cache finds the machine code in a later process."""
    nb = _numba()
    key = (source, parallel)
    with _compile_lock:
        dispatcher = _compiled.get(key)
        if dispatcher is None:
            dispatcher = _load_kernel(nb, *_kernel_file(source, parallel), parallel)
            _compiled[key] = dispatcher
        if signature not in dispatcher.signatures:
            dispatcher.disable_compile(False)
            dispatcher.compile(signature)
        # The generated code passes C-contiguous arrays only. Without compiling more
        # specialisations, a writable array converts to the read-only inputs' type
        # (numba would otherwise compile the loop again for it, at the call).
        dispatcher.disable_compile()
    return dispatcher


# A child process compiles the loops into numba's disk cache: compiling holds the GIL, so
# in a background thread of the training process it slowed every step ~3x for seconds
# (13 s of training instead of 3 for the main job's first run on a machine); the child
# runs on another core, and the thread then loads the machine code (~10 ms a loop).
_PRECOMPILE = """
import json, sys
import numpy as np
import numba
from funcgrad._src.interpreters import fusion_cpu
for path, module_name, parallel, args in json.load(sys.stdin):
    kernel = fusion_cpu._load_kernel(numba, path, module_name, parallel)
    kernel.compile(tuple(numba.types.Array(numba.from_dtype(np.dtype(dtype)), ndim, "C",
                                           readonly=readonly)
                         for dtype, ndim, readonly in args))
"""


def _cached(path: str) -> bool:
    """Whether numba's cache holds machine code for the file at ``path`` (any signature:
    the loops are compiled for one)."""
    directory, name = os.path.split(path)
    stem = os.path.splitext(name)[0] + ".kernel-"
    cached = os.path.join(directory, "__pycache__")
    return os.path.isdir(cached) and any(
        f.startswith(stem) and f.endswith(".nbi") for f in os.listdir(cached)
    )


def precompile_in_child(kernels: Sequence[LoopKernel], timeout: float = 600.0) -> bool:
    """Compile the loops not yet in numba's disk cache in a child process (so that this
    process only loads them). Returns whether a child ran and succeeded; on any failure
    the caller's own compilation does the work, as without this. If the program's main
    thread ends meanwhile (the script is done), this returns at once and the child
    finishes on its own: its work is in the cache for the next run, and the exit does
    not wait for it."""
    if _compiled_all(kernels):
        return False
    jobs = []
    for k in kernels:
        path, module_name = _kernel_file(k.source, k.parallel)
        if not _cached(path):
            args = [(str(a.dtype), a.ndim, readonly) for a, readonly in k.argument_avals()]
            jobs.append((path, module_name, k.parallel, args))
    if not jobs:
        return False
    import json
    import subprocess
    import time

    try:
        child = subprocess.Popen([sys.executable, "-c", _PRECOMPILE], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 text=True)  # fmt: skip
        child.stdin.write(json.dumps(jobs))
        child.stdin.close()
    except OSError:
        return False
    deadline = time.monotonic() + timeout
    while child.poll() is None:
        if not threading.main_thread().is_alive():
            return False  # the script has ended: leave the child to fill the cache
        if time.monotonic() > deadline:
            child.kill()
            child.wait()
            return False
        time.sleep(0.02)
    return child.returncode == 0


def _compiled_all(kernels: Sequence[LoopKernel]) -> bool:
    return all((k.source, k.parallel) in _compiled for k in kernels)


# --- the primitive and the program pass ------------------------------------------------------

#: One fused group: parameters ``kernel`` (its :class:`LoopKernel`) and ``group`` (its
#: equations as a program, what runs where the loop is not compiled).
fused_loop_p = Primitive("fused_loop")


def _fused_loop_impl(backend, *operands, kernel, group):
    if kernel.dispatcher is not None and backend.xp is np:
        if kernel.inplace:  # this impl never writes its operands
            raise AssertionError("fused_loop: an in-place loop runs only in generated code")
        ins = [np.ascontiguousarray(x) for x in operands]
        outs = [np.empty(v.aval.shape, v.aval.dtype) for v in kernel.outputs]
        kernel.dispatcher(*ins, *outs)
        return outs
    env = dict(zip(group.jaxpr.invars, operands))
    for eqn in group.jaxpr.eqns:
        args = [a.val if type(a) is Literal else env[a] for a in eqn.inputs]
        env.update(zip(eqn.outputs, eqn.primitive.impl(backend, *args, **eqn.params)))
    return [env[v] for v in group.jaxpr.outvars]


fused_loop_p.impl = _fused_loop_impl
fused_loop_p.abstract_eval = lambda *avals, kernel, group: [v.aval for v in kernel.outputs]


def _products_as_multiplies(closed: ClosedJaxpr) -> ClosedJaxpr:
    """``closed`` with each ``dot_general`` that contracts nothing and where one operand
    is only batch axes (``vmap`` of ``x * scalar``: per-example gradients' ``x_i * g_i``)
    written as a multiply by a broadcast of that operand, which a loop fuses: NumPy runs
    such a product as a row-broadcast multiply, about three times slower than a loop.

    Only where both operands have the result's dtype and the batch axes lead in order,
    so that the result is ``other[..] * vector[batch]`` element by element, the same
    single rounding per element as the product (bitwise equal)."""
    eqns = closed.jaxpr.eqns
    if not any(e.primitive is linalg.dot_general_p for e in eqns):
        return closed
    out_eqns = []
    for eqn in eqns:
        split = _outer_product(eqn) if eqn.primitive is linalg.dot_general_p else None
        if split is None:
            out_eqns.append(eqn)
            continue
        full, small, small_first = split
        out = eqn.outputs[0]
        spread = Var(out.aval)
        dims = tuple(range(small.aval.ndim))
        out_eqns.append(Equation(structural.broadcast_in_dim_p, [small],
                                 {"shape": out.aval.shape, "broadcast_dimensions": dims},
                                 [spread], eqn.source))  # fmt: skip
        operands = [spread, full] if small_first else [full, spread]
        out_eqns.append(Equation(elementwise.mul_p, operands, {}, [out], eqn.source))
    jaxpr = closed.jaxpr
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, out_eqns, jaxpr.outvars),
                       closed.consts)  # fmt: skip


def _outer_product(eqn: Equation) -> tuple | None:
    """``(full operand, batch-only operand, whether the batch-only one is the lhs)`` for a
    ``dot_general`` that is an elementwise multiply by a broadcast, else None."""
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs, rhs = eqn.inputs
    out = eqn.outputs[0].aval
    if lc or rc or type(lhs) is not Var or type(rhs) is not Var:
        return None
    k = len(lb)
    if tuple(lb) != tuple(range(k)) or tuple(rb) != tuple(range(k)):
        return None
    if not (lhs.aval.dtype == rhs.aval.dtype == out.dtype) or out.dtype not in LOOP_DTYPES:
        return None
    if rhs.aval.ndim == k and lhs.aval.shape == out.shape:
        return lhs, rhs, False
    if lhs.aval.ndim == k and rhs.aval.shape == out.shape:
        return rhs, lhs, True
    return None


# --- weight updates as one BLAS call ------------------------------------------------------

#: ``p + alpha * (a @ b)`` for 2-D float32/float64 operands (params ``dimension_numbers``
#: of the product, ``alpha`` +-1 or +-a constant scale): an SGD step's ``w - g`` where ``g`` is a
#: matrix product, computed by one ``gemm`` with ``beta = 1`` into ``p``'s buffer
#: instead of a product into a temporary and a pass over both (2-3% of an MLP step).
gemm_update_p = Primitive("gemm_update")


def _gemm_update_impl(backend, p, a, b, *, dimension_numbers, alpha):
    (lc, rc), _ = dimension_numbers
    a = a.T if tuple(lc) == (0,) else a
    b = b.T if tuple(rc) == (1,) else b
    return [gemm_update(backend.xp.asarray(p), a, b, None, alpha)]


gemm_update_p.impl = _gemm_update_impl
gemm_update_p.abstract_eval = lambda p, a, b, **params: [p]

_BLAS_GEMM: dict = {}


def _gemm(dtype: np.dtype) -> Any:
    """SciPy's BLAS ``gemm`` for ``dtype`` (imported on first use)."""
    fn = _BLAS_GEMM.get(dtype)
    if fn is None:
        from scipy.linalg import blas

        fn = _BLAS_GEMM[dtype] = blas.sgemm if dtype == np.float32 else blas.dgemm
    return fn


def _blas_operand(m: np.ndarray) -> tuple:
    """``(array, trans)`` with ``op(array) == m`` and ``array`` Fortran-ordered (what
    the BLAS wrapper takes without copying)."""
    if m.flags.f_contiguous:
        return m, 0
    if m.flags.c_contiguous:
        return m.T, 1
    return np.asfortranarray(m), 0


def gemm_update(p: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray | None,
                alpha: float) -> np.ndarray:  # fmt: skip
    """``p + alpha * (a @ b)`` written into ``out`` (which may be ``p``; a new array if
    None) by one BLAS ``gemm`` with ``beta = 1``: the product's sums are BLAS's as for
    ``a @ b``, then each is added to ``p`` once (``alpha`` is +1 or -1, exact), so the
    result equals ``p - a @ b`` as NumPy computes it (within rounding where NumPy's and
    SciPy's BLAS differ). ``out`` overlapping ``a`` or ``b`` takes the product first.

    Examples:
        >>> import numpy as np
        >>> from funcgrad._src.interpreters.fusion_cpu import gemm_update
        >>> p = np.ones((2, 2), np.float32)
        >>> a = np.arange(4, dtype=np.float32).reshape(2, 2)
        >>> gemm_update(p, a.T, a, p, -1.0) is p, p.tolist()
        (True, [[-3.0, -5.0], [-5.0, -9.0]])
    """
    if out is None:
        out = np.empty(p.shape, p.dtype)
    if (
        np.may_share_memory(out, a)
        or np.may_share_memory(out, b)
        or (out is not p and np.may_share_memory(out, p))
    ):
        product = np.matmul(a, b)
        fn = np.add if alpha > 0 else np.subtract
        return fn(p, product, out=out)
    if out is not p:
        np.copyto(out, p)
    if out.flags.c_contiguous:  # out.T, Fortran-ordered: out.T + alpha * b.T @ a.T
        (x, tx), (y, ty), c = _blas_operand(b.T), _blas_operand(a.T), out.T
    elif out.flags.f_contiguous:
        (x, tx), (y, ty), c = _blas_operand(a), _blas_operand(b), out
    else:
        product = np.matmul(a, b)
        fn = np.add if alpha > 0 else np.subtract
        return fn(out, product, out=out)
    r = _gemm(out.dtype)(alpha, x, y, beta=1.0, c=c, trans_a=tx, trans_b=ty, overwrite_c=1)
    if not np.shares_memory(r, c):  # (the wrapper copied: it never should for these)
        c[...] = r
    return out


_GEMM_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _update_of_product(eqn: Equation, producers: dict, uses: dict, outputs: set,
                       broadcasts: set, scalings: dict) -> tuple | None:  # fmt: skip
    """``(p, product equation, alpha, scaling equation or None)`` when ``eqn`` is ``p - t``
    or ``p + t`` (``t + p``) with ``t`` a 2-D matrix product, or a constant times one
    (``scalings``), used only here, ``p`` not a broadcast, all of one float32/float64
    dtype and no empty axis; else None."""
    if eqn.primitive is elementwise.sub_p:
        candidates = [(eqn.inputs[0], eqn.inputs[1], -1.0)]
    elif eqn.primitive is elementwise.add_p:
        candidates = [(eqn.inputs[0], eqn.inputs[1], 1.0), (eqn.inputs[1], eqn.inputs[0], 1.0)]
    else:
        return None
    out = eqn.outputs[0].aval
    for p, t, alpha in candidates:
        scaling = None
        if type(t) is Var and t in scalings and uses.get(t) == 1 and t not in outputs:
            scaling = scalings[t]
            factor, t = _literal_scale(scaling)
            alpha *= factor
        if type(p) is not Var or type(t) is not Var or t not in producers:
            continue
        if p in broadcasts:  # a bias: cheaper added in the loop that follows the product
            continue
        if uses.get(t) != 1 or t in outputs:
            continue
        prod = producers[t]
        a, b = prod.inputs
        (lc, rc), (lb, rb) = prod.params["dimension_numbers"]
        if lb or rb or type(a) is not Var or type(b) is not Var:
            continue
        if a.aval.ndim != 2 or b.aval.ndim != 2 or len(lc) != 1 or len(rc) != 1:
            continue
        if not (
            p.aval.shape == t.aval.shape == out.shape
            and p.aval.dtype == out.dtype == t.aval.dtype == a.aval.dtype == b.aval.dtype
            and out.dtype in _GEMM_DTYPES
        ):
            continue
        if 0 in a.aval.shape or 0 in b.aval.shape:
            continue
        return p, prod, alpha, scaling
    return None


def _literal_scale(eqn: Equation) -> tuple[float, Var] | None:
    """``(c, x)`` when ``eqn`` is ``x * c`` or ``c * x`` with ``c`` a real 0-d constant and
    ``x`` of the result's float dtype; else None."""
    if eqn.primitive is not elementwise.mul_p:
        return None
    out = eqn.outputs[0].aval
    for x, c in (eqn.inputs, eqn.inputs[::-1]):
        if (
            type(x) is Var and type(c) is Literal and np.ndim(c.val) == 0
            and np.asarray(c.val).dtype.kind in "iuf" and x.aval.dtype == out.dtype
            and x.aval.shape == out.shape
        ):  # fmt: skip
            return float(c.val), x
    return None


def _updates_into_products(closed: ClosedJaxpr) -> ClosedJaxpr:
    """``closed`` with each ``p -/+ a @ b`` (see :func:`_update_of_product`) one
    ``gemm_update`` equation where the sum was (SciPy's BLAS: without SciPy, unchanged)."""
    eqns = closed.jaxpr.eqns
    if not any(e.primitive is linalg.dot_general_p for e in eqns):
        return closed
    if importlib.util.find_spec("scipy") is None:
        return closed
    producers = {e.outputs[0]: e for e in eqns if e.primitive is linalg.dot_general_p}
    uses: dict = {}
    for e in eqns:
        for a in e.inputs:
            if type(a) is Var:
                uses[a] = uses.get(a, 0) + 1
    outputs = {v for v in closed.jaxpr.outvars if type(v) is Var}
    broadcasts = {e.outputs[0] for e in eqns if e.primitive is structural.broadcast_in_dim_p}
    dropped: set = set()
    replaced: dict = {}
    scalings = {e.outputs[0]: e for e in eqns if _literal_scale(e) is not None}
    for e in eqns:
        found = _update_of_product(e, producers, uses, outputs, broadcasts, scalings)
        if found is None:
            continue
        p, prod, alpha, scaling = found
        dropped.add(id(prod))
        if scaling is not None:  # w - c * (a @ b)
            dropped.add(id(scaling))
        # an operand scaled by a constant for this product alone (a learning rate moved
        # onto the activations, see optimize.scale_matmul_operands): gemm's alpha scales
        # instead, one pass over the activations fewer
        operands = list(prod.inputs)
        for i, operand in enumerate(operands):
            scaling = scalings.get(operand)
            if scaling is not None and uses.get(operand) == 1 and operand not in outputs:
                factor, operands[i] = _literal_scale(scaling)
                alpha *= factor
                dropped.add(id(scaling))
                break
        params = {"dimension_numbers": prod.params["dimension_numbers"], "alpha": alpha}
        replaced[id(e)] = Equation(gemm_update_p, [p, *operands], params, list(e.outputs),
                                   e.source)  # fmt: skip
    if not replaced:
        return closed
    out_eqns = [replaced.get(id(e), e) for e in eqns if id(e) not in dropped]
    jaxpr = closed.jaxpr
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, out_eqns, jaxpr.outvars),
                       closed.consts)  # fmt: skip


class FusionReport:
    """What :func:`fuse` did: the kernels and the groups that stayed NumPy (and why)."""

    def __init__(self):
        self.kernels: list[LoopKernel] = []
        self.fallbacks: list[str] = []


def fuse(closed: ClosedJaxpr, compile: bool = True) -> tuple[ClosedJaxpr, list[LoopKernel]]:
    """``closed`` with each fusible group replaced by one ``fused_loop`` equation, and the
    loops (in program order). ``compile``: compile each loop now; a group whose loop
    fails to compile keeps its NumPy equations (the failure is kept in
    :data:`last_failures`)."""
    report = FusionReport()

    def build(group: list, outputs: list) -> Equation | None:
        size = math.prod(next(e.outputs[0].aval.shape for e in group))
        if size < _MIN_GROUP_SIZE and len(group) < _MIN_GROUP_OPS:
            return None
        kernel = describe(group, outputs)
        if kernel is None:
            return None
        if compile:
            try:
                kernel.compile()
            except Exception as e:  # noqa: BLE001  (this group stays NumPy; say why)
                report.fallbacks.append(f"{kernel.name}: {type(e).__name__}: {e}")
                return None
        report.kernels.append(kernel)
        program = ClosedJaxpr(Jaxpr([], list(kernel.inputs), group, list(outputs)), [])
        params = {"kernel": kernel, "group": program}
        return Equation(fused_loop_p, list(kernel.inputs), params, list(outputs))

    # independent work joins a group only if it reads one of the group's arrays: a loop
    # streaming many unrelated arrays at once gains no pass over memory, is less often
    # vectorised (LLVM's runtime alias checks give up) and thrashes the prefetchers
    closed = _updates_into_products(_products_as_multiplies(closed))
    # the block function's rounds fuse into one loop (of _MIN_GROUP_OPS operations and
    # more: at any size; a 0-d block, fold_in's, as a 1-element one)
    closed = threefry.expand(closed, scalars_as_vectors=True)
    groups = fusion.partition(closed.jaxpr, can_fuse=can_fuse, can_end_group=can_end_group,
                              siblings_share_inputs=True, merge_producers=True,
                              row_step=row_step)  # fmt: skip
    fused = fusion.replace_groups(closed, groups, build)
    if report.fallbacks:
        with _compile_lock:
            last_failures[:] = report.fallbacks
    return fused, report.kernels


#: Why the groups of the last :func:`fuse` call that fell back to NumPy did.
last_failures: list[str] = []

__all__ = ["LoopKernel", "can_end_group", "can_fuse", "describe", "fuse", "fused_loop_p",
           "gemm_update", "gemm_update_p", "precompile_in_child", "unavailable_reason"]  # fmt: skip
