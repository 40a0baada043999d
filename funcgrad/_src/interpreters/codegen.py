"""Python source generation for jit: one straight-line function per optimised program.

The generated function takes the program's input buffers (backend arrays) and
returns its output buffers. Each equation becomes one line that calls a backend
kernel on raw buffers (``_np_multiply(x3, x1)``, ``_matmul(x5, x2.T)``); primitives
without a dedicated emitter call their ``impl`` (bound with its parameters) instead.
There is no per-equation interpretation and no wrapping of intermediate values.

Buffer reuse: an elementwise kernel writes its result into an operand's buffer
(``out=``) when that operand dies at this equation, has the result's shape and
dtype, and its buffer was allocated inside the program by an earlier kernel (never
a user's input unless it was donated, never a constant, never memory that a live
view or an output still shares). Which kernels allocate is decided from what they
are, not from the primitive's name: a true ufunc of the backend
(``Backend.is_ufunc``) or a kernel whose contract is a new buffer (``astype``,
``Backend.select``, ``Backend.reduce``, fused kernels). ``real``/``imag`` (and
``conj`` where the array library returns a real operand itself) are functions, not
ufuncs: their results are treated as views of their operand, like a reshape's.

Outputs: a program made with ``private_outputs`` (the programs of ``jit``) never
returns memory of a non-donated input: an output that may share it (``lambda x: x``,
a reshape or ``real`` of an input) is copied, as XLA does.

Buffer pool (NumPy): an elementwise result, matrix product or im2col patch matrix of at
least 128 KiB that never reaches an output is written into a buffer the program keeps
between calls (results whose lifetimes do not overlap share one), so that large
intermediates are not mapped and page-faulted in anew on every call. ``as_text()`` lists these buffers; a call made
while the program is already running (another thread) runs a copy without the pool.

Examples:
    >>> import funcgrad, funcgrad.numpy as fnp
    >>> def f(x):
    ...     return fnp.sin(x) * 2.0 + 1.0
    >>> print(funcgrad.jit(f).lower(fnp.ones(3)).as_text())
    def f(x0):
        x1 = _sin(x0)
        x2 = _multiply(x1, 2.0, out=x1)
        x3 = _add(x2, 1.0, out=x2)
        return (x3,)
"""

from __future__ import annotations

import functools
import keyword
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad._src import threefry
from funcgrad._src.core import Array, Primitive, ShapedArray
from funcgrad._src.interpreters import fusion, fusion_cpu
from funcgrad._src.ir import ClosedJaxpr, Equation, Literal, Var
from funcgrad._src.lax import convolution, elementwise, indexing, linalg, reductions, structural

_UFUNC_OF: dict[Primitive, str] = {
    **{p: elementwise.UNARY_UFUNCS[n] for n, p in elementwise.unary_primitives.items()},
    **{p: elementwise.BINARY_UFUNCS[n] for n, p in elementwise.binary_primitives.items()},
}
# Never given out=: NumPy's sign runs about 10x slower writing over its own input than
# into a fresh buffer. (real/imag are no ufuncs: Backend.is_ufunc keeps out= from them.)
_NO_OUT = {"sign"}
# Ufuncs whose loops take and return one dtype: a bool/int -> float cast of an operand
# can be done by the ufunc itself (dtype=...), saving a pass over memory.
_HOMOGENEOUS = {
    "add", "subtract", "multiply", "true_divide", "maximum", "minimum", "negative",
    "absolute", "power", "fmax", "fmin", "exp", "log", "sqrt", "tanh", "sin", "cos",
}  # fmt: skip


class Executable:
    """A compiled program: ``fn(*input_buffers) -> tuple of output buffers``, and its source.

    ``pool``: the buffers it keeps between calls; ``pool_bytes``: their size in bytes.

    ``loops``: its fused CPU loops (``fusion_cpu.LoopKernel``), if generated with them.
    """

    __slots__ = ("fn", "jaxpr", "loops", "name", "pool", "pool_bytes", "source")

    def __init__(self, fn: Callable, source: str, name: str, jaxpr: ClosedJaxpr,
                 pool: Sequence = (), loops: Sequence = ()):  # fmt: skip
        self.fn = fn
        self.source = source
        self.name = name
        self.jaxpr = jaxpr
        self.pool = tuple(pool)
        self.pool_bytes = sum(b.nbytes for b in self.pool)
        self.loops = tuple(loops)

    def __call__(self, *buffers: Any) -> tuple:
        return self.fn(*buffers)


class _Writer:
    """Source lines and the globals they refer to."""

    def __init__(self, backend: Any):
        self.backend = backend
        self.lines: list[str] = []
        self.globals: dict[str, Any] = {"_backend": backend, "_asarray": backend.xp.asarray}
        self._by_id: dict[int, str] = {}
        self._count = 0

    def glob(self, value: Any, hint: str) -> str:
        """A global name bound to ``value`` (one name per distinct object)."""
        name = self._by_id.get(id(value))
        if name is None:
            name = f"_{hint}{self._count}"
            self._count += 1
            self.globals[name] = value
            self._by_id[id(value)] = name
            self.globals.setdefault("__keep__", []).append(value)  # keeps id() unique
        return name

    def xp_fn(self, name: str) -> str:
        """A global bound to ``backend.xp.<name>`` under a readable name."""
        key = f"_{name}"
        if key not in self.globals:
            self.globals[key] = getattr(self.backend.xp, name)
        return key


def _literal_expr(w: _Writer, lit: Literal) -> str:
    v = lit.val
    t = type(v)
    if t is bool or t is int:
        return repr(v)
    if t is float and math.isfinite(v):
        return repr(v)
    return w.glob(v, "lit")


# --- emitters ------------------------------------------------------------------------
# emitter(w, eqn, args, out) -> expression string, or None to use the generic path.
# ``args`` are the operand expressions; ``out`` the name of a reusable buffer, or None.

Emitter = Callable[[_Writer, Equation, list, Any], "str | None"]
_emitters: dict[Primitive, Emitter] = {}
# Primitives whose emitted kernel returns a newly allocated, writable buffer by its
# contract (for ndim > 0): astype (copy=True), Backend.select, Backend.reduce and
# ufunc.reduce, fused kernels. Ufunc-backed primitives are decided by _takes_out.
_fresh: set[Primitive] = set()
#: Primitives without an emitter whose impl returns buffers sharing no memory with its
#: operands (the collectives: results of communication), so that a program's end never
#: copies them as possible aliases of its inputs.
fresh_impls: set[Primitive] = set()


def _ufunc_emitter(ufunc_name: str) -> Emitter:
    def emit(w, eqn, args, out, cast=None):
        fn = w.xp_fn(ufunc_name)
        extra = ""
        if cast is not None:
            extra += f", dtype={w.glob(cast, 'dt')}"
        if out is not None:
            extra += f", out={out}"
        return f"{fn}({', '.join(args)}{extra})"

    return emit


for _prim, _ufunc in _UFUNC_OF.items():
    _emitters[_prim] = _ufunc_emitter(_ufunc)


def _is_ufunc_kernel(backend: Any, name: str) -> bool:
    """Whether ``backend.xp.<name>`` is a true ufunc: it returns a new writable buffer
    sharing no memory with its operands, and accepts ``out=``."""
    return backend.is_ufunc(getattr(backend.xp, name, None))


def _takes_out(backend: Any, prim: Primitive) -> bool:
    """Whether the emitted kernel of ``prim`` may be given ``out=`` (a reused or pool
    buffer)."""
    if prim is fusion_cpu.gemm_update_p:
        return True
    name = _UFUNC_OF.get(prim)
    return name is not None and name not in _NO_OUT and _is_ufunc_kernel(backend, name)


def _returns_fresh(backend: Any, prim: Primitive, eqn: Equation) -> bool:
    """Whether the emitted kernel of ``eqn`` returns memory no other value shares."""
    if prim in _fresh:
        return True
    name = _UFUNC_OF.get(prim)
    if name is not None:
        return _is_ufunc_kernel(backend, name)
    if prim is linalg.dot_general_p:  # matmul, or a broadcasting multiply
        return _is_ufunc_kernel(backend, "matmul") and _is_ufunc_kernel(backend, "multiply")
    return False


# NumPy's maximum/minimum loops are several times faster on two contiguous arrays than on
# an array and a scalar (the relu case, max(x, 0)): the scalar is given as a constant
# array of the operand's shape instead (up to this many elements).
_EXTREMUM_CONSTANT_MAX_SIZE = 1 << 20


def _extremum_emitter(ufunc_name: str) -> Emitter:
    plain = _ufunc_emitter(ufunc_name)

    def emit(w, eqn, args, out, cast=None):
        x, y = eqn.inputs
        aval = eqn.outputs[0].aval
        if (cast is None and w.backend.xp is np and type(y) is Literal
                and type(x) is Var and x.aval.shape == aval.shape and x.aval.dtype == aval.dtype
                and 1024 <= aval.size <= _EXTREMUM_CONSTANT_MAX_SIZE):  # fmt: skip
            filled = np.full(aval.shape, y.val, dtype=aval.dtype)
            filled.setflags(write=False)
            args = [args[0], w.glob(filled, "full")]
        return plain(w, eqn, args, out, cast)

    return emit


_emitters[elementwise.max_p] = _extremum_emitter("maximum")
_emitters[elementwise.min_p] = _extremum_emitter("minimum")


def _heaviside_emit(w, eqn, args, out, cast=None):
    # heaviside(x, 0.5) is (sign(x) + 1) / 2 exactly (NaN and -0.0 included), and NumPy's
    # heaviside loop is several times slower than sign, add and multiply together.
    x, h = eqn.inputs
    half = type(h) is Literal and np.ndim(h.val) == 0 and h.val == 0.5
    if (
        not half
        or cast is not None
        or type(x) is not Var
        or not x.aval.ndim
        or x.aval.dtype.kind != "f"
    ):
        return _ufunc_emitter("heaviside")(w, eqn, args, out, cast)
    if "_heaviside_half" not in w.globals:
        xp = w.backend.xp

        def heaviside_half(x):
            s = xp.sign(x)  # not in place: NumPy's in-place sign is ~8x slower
            xp.add(s, 1, out=s)
            return xp.multiply(s, 0.5, out=s)

        w.globals["_heaviside_half"] = heaviside_half
    return f"_heaviside_half({args[0]})"


def _convert_emit(w, eqn, args, out):
    if type(eqn.inputs[0]) is not Var:
        return None
    return f"{args[0]}.astype({w.glob(eqn.params['new_dtype'], 'dt')})"


def _reshape_emit(w, eqn, args, out):
    return f"{w.xp_fn('reshape')}({args[0]}, {eqn.params['new_sizes']!r})"


def _transpose_emit(w, eqn, args, out):
    perm = eqn.params["permutation"]
    if perm == (1, 0):
        return f"{args[0]}.T"
    return f"{w.xp_fn('transpose')}({args[0]}, {perm!r})"


def _broadcast_in_dim_emit(w, eqn, args, out):
    shape, dims = eqn.params["shape"], eqn.params["broadcast_dimensions"]
    x = eqn.inputs[0]
    if type(x) is Literal:
        # Python scalars take their default dtype here, as in the impl (np.asarray).
        value = w.backend.xp.asarray(x.val)
        return f"{w.xp_fn('broadcast_to')}({w.glob(value, 'lit')}, {shape!r})"
    # the backend's kernel: on NumPy a strided view made directly, several times cheaper
    # than broadcast_to's Python
    return (
        f"{w.glob(w.backend.broadcast_in_dim, 'broadcast_in_dim')}({args[0]}, {shape!r}, {dims!r})"
    )


# From this many elements a reduction goes through Backend.reduce (a microsecond of
# Python more than calling the ufunc directly, which matters only for tiny arrays).
_BACKEND_REDUCE_MIN_SIZE = 4096


def _reducer_emit(xp_name: str, ufunc_name: str, typed: bool) -> Emitter:
    def emit(w, eqn, args, out):
        if type(eqn.inputs[0]) is not Var:
            return None
        axes = eqn.params["axes"]
        dtype = f", dtype={w.glob(eqn.inputs[0].aval.dtype, 'dt')}" if typed else ""
        if not axes:
            return None
        if eqn.inputs[0].aval.size >= _BACKEND_REDUCE_MIN_SIZE:
            # the backend's kernel, which picks the algorithm (on NumPy: two stages for
            # a bias gradient's short trailing block); its call costs nothing here
            return f"{w.glob(w.backend.reduce, 'reduce')}({xp_name!r}, {args[0]}, {axes!r})"
        # small: ufunc.reduce is what sum/max call, minus their Python-level argument
        # handling (NumPy only: CuPy's maximum/minimum have no reduce)
        ufunc = getattr(w.backend.xp, ufunc_name, None) if w.backend.xp is np else None
        if getattr(ufunc, "reduce", None) is not None:
            key = f"_{ufunc_name}_reduce"
            w.globals.setdefault(key, ufunc.reduce)
            return f"{key}({args[0]}, {axes!r}{dtype})"
        return f"{w.xp_fn(xp_name)}({args[0]}, axis={axes!r}{dtype})"

    return emit


_MATMUL_2D = {
    ((1,), (0,)): "{a}, {b}",
    ((0,), (0,)): "{a}.T, {b}",
    ((1,), (1,)): "{a}, {b}.T",
    ((0,), (1,)): "{a}.T, {b}.T",
}


# Matrix-vector products: (lhs ndim, rhs ndim, contracting dims) -> matmul operands.
_MATVEC = {
    (2, 1, ((1,), (0,))): "{a}, {b}",
    (2, 1, ((0,), (0,))): "{a}.T, {b}",
    (1, 2, ((0,), (0,))): "{a}, {b}",
    (1, 2, ((0,), (1,))): "{a}, {b}.T",
    (1, 1, ((0,), (0,))): "{a}, {b}",
}


def _dot_general_emit(w, eqn, args, out):
    lhs, rhs = eqn.inputs
    if type(lhs) is not Var or type(rhs) is not Var:
        return None
    contracting, (lb, rb) = eqn.params["dimension_numbers"]
    ln, rn = lhs.aval.ndim, rhs.aval.ndim
    if not lb:
        pattern = (
            _MATMUL_2D.get(contracting)
            if ln == 2 and rn == 2
            else _MATVEC.get((ln, rn, contracting))
        )
        if pattern is not None:
            into = f", out={out}" if out is not None else ""
            return f"{w.xp_fn('matmul')}({pattern.format(a=args[0], b=args[1])}{into})"
    if not contracting[0]:
        return _outer_product(w, lhs, rhs, lb, rb, args, out)
    return None


def _outer_product(w, lhs, rhs, lb, rb, args, out=None):
    """A dot_general without contraction: every product is a single multiplication, so
    a broadcasting multiply computes it (with no BLAS call per batch element)."""
    lf = [d for d in range(lhs.aval.ndim) if d not in lb]
    rf = [d for d in range(rhs.aval.ndim) if d not in rb]
    batch = [lhs.aval.shape[d] for d in lb]

    def arrange(x, name, dims_b, dims_f, before, after):
        perm = (*dims_b, *dims_f)
        expr = name
        if perm != tuple(range(x.aval.ndim)):
            expr = f"{w.xp_fn('transpose')}({expr}, {perm!r})"
        shape = (*batch, *([1] * before), *(x.aval.shape[d] for d in dims_f), *([1] * after))
        if shape != tuple(x.aval.shape[d] for d in perm):
            expr = f"{w.xp_fn('reshape')}({expr}, {shape!r})"
        return expr

    a = arrange(lhs, args[0], lb, lf, 0, len(rf))
    b = arrange(rhs, args[1], rb, rf, len(lf), 0)
    into = f", out={out}" if out is not None else ""
    return f"{w.xp_fn('multiply')}({a}, {b}{into})"


def _gemm_update_emit(w, eqn, args, out):
    # p +/- a @ b as one BLAS gemm (beta=1) writing into out (p's buffer when it dies here)
    (contracting, _), alpha = eqn.params["dimension_numbers"], eqn.params["alpha"]
    operands = _MATMUL_2D[tuple(map(tuple, contracting))].format(a=args[1], b=args[2])
    fn = w.glob(fusion_cpu.gemm_update, "gemm_update")
    return f"{fn}({args[0]}, {operands}, {out if out is not None else 'None'}, {alpha!r})"


def _select_emit(w, eqn, args, out):
    _, a, b = eqn.inputs
    # Weak Python scalar branches need the impl's dtype handling.
    if any(type(x) is Literal and type(x.val) in (bool, int, float, complex) for x in (a, b)):
        return None
    # the backend's kernel: on NumPy a bitwise select, several times faster than where
    return f"{w.glob(w.backend.select, 'select')}({', '.join(args)})"


def _gather_emit(w, eqn, args, out):
    indexer = eqn.params["indexer"]
    if len(eqn.inputs) != 1 or type(eqn.inputs[0]) is not Var:
        return None
    index = indexing.build_index(indexer, ())
    return f"{args[0]}[{w.glob(index, 'idx')}]"


if "heaviside" in elementwise.binary_primitives:
    _emitters[elementwise.binary_primitives["heaviside"]] = _heaviside_emit
_emitters[structural.convert_element_type_p] = _convert_emit
_emitters[structural.reshape_p] = _reshape_emit
_emitters[structural.transpose_p] = _transpose_emit
_emitters[structural.broadcast_in_dim_p] = _broadcast_in_dim_emit
_emitters[reductions.reduce_sum_p] = _reducer_emit("sum", "add", True)
_emitters[reductions.reduce_max_p] = _reducer_emit("max", "maximum", False)
_emitters[reductions.reduce_min_p] = _reducer_emit("min", "minimum", False)
_emitters[linalg.dot_general_p] = _dot_general_emit
_emitters[fusion_cpu.gemm_update_p] = _gemm_update_emit
_emitters[elementwise.select_p] = _select_emit
_emitters[indexing.gather_p] = _gather_emit
_fresh.update({structural.convert_element_type_p, elementwise.select_p, fusion_cpu.gemm_update_p,
               threefry.threefry2x32_p, reductions.reduce_sum_p, reductions.reduce_max_p, reductions.reduce_min_p})  # fmt: skip


# --- fused elementwise groups (backends with fuses_elementwise; see fusion.py) -------------


def _fused_emit(w, eqn, args, out):
    # One call of the kernel the backend compiled for the group (it returns fresh outputs).
    if len(eqn.outputs) != 1:
        return None  # several outputs: the generic path unpacks the impl's list
    kernel = eqn.params["kernel"]
    fn = w.glob(w.backend.elementwise_kernel(kernel), kernel.name)
    return f"{fn}({', '.join(args)})[0]"


_emitters[fusion.fused_elementwise_p] = _fused_emit
_fresh.add(fusion.fused_elementwise_p)


# --- buffer planning ----------------------------------------------------------------------


class _Storage:
    """A block of memory: owned (allocated inside the program) or foreign."""

    __slots__ = ("owned", "users")

    def __init__(self, owned: bool):
        self.owned = owned
        self.users: set[Var] = set()


def _fusable_casts(eqns: Sequence[Equation], uses: dict, outputs: set) -> dict:
    """Casts (bool/int -> float) that a homogeneous ufunc can do itself: maps the cast's
    output variable to its operand."""
    producers = {}
    for eqn in eqns:
        if eqn.primitive is structural.convert_element_type_p and type(eqn.inputs[0]) is Var:
            src = eqn.inputs[0].aval.dtype
            dst = eqn.outputs[0].aval.dtype
            if src.kind in "biu" and dst.kind == "f" and eqn.outputs[0] not in outputs:
                producers[eqn.outputs[0]] = eqn.inputs[0]
    fused = {}
    for eqn in eqns:
        name = _UFUNC_OF.get(eqn.primitive)
        if name not in _HOMOGENEOUS:
            continue
        dt = eqn.outputs[0].aval.dtype
        if not all(
            a.aval.dtype == dt or (type(a) is Literal and a.aval.weak_type) for a in eqn.inputs
        ):
            continue
        for a in eqn.inputs:
            if type(a) is Var and a in producers and uses.get(a) == 1:
                fused[a] = producers[a]
    return fused


def _as_python_scalar(x: Any) -> Any:
    return x.item() if hasattr(x, "item") else x


def _weak_operands_as_scalars(w: _Writer, inputs: list, args: list) -> list:
    """Weak values (Python scalars traced as 0-d values) enter a ufunc as Python scalars, so
    that it promotes them as weakly as abstract evaluation did (NumPy's 0-d arrays and
    NumPy scalars are strong: ``float32_array ** int64(1)`` would be float64)."""
    return [f"{w.glob(_as_python_scalar, 'weak')}({x})" if type(a) is Var and a.aval.weak_type
            and not a.aval.shape else x for a, x in zip(inputs, args)]  # fmt: skip


def generate(closed: ClosedJaxpr, backend: Any, name: str = "program",
             donated: Sequence[bool] = (), private_outputs: bool = False,
             cpu_fusion: bool = False, compile_loops: bool = True) -> Executable:  # fmt: skip
    """Generate, compile and return the code of an (optimised) program for ``backend``.

    ``donated[i]``: input ``i``'s buffer may be overwritten. ``private_outputs``: no
    output shares memory with a non-donated input (those that might are copied).
    ``cpu_fusion`` (NumPy): fusible groups become numba loops (see fusion_cpu);
    ``compile_loops=False`` only writes their source (for ``as_text``: the code is
    then not runnable).
    """
    jaxpr = closed.jaxpr
    # Elementwise fusion hook: on backends that compile kernels, each group of elementwise
    # equations becomes one fused_elementwise equation; the kernels' C heads the source.
    kernel_comments: list[str] = []
    loops: list = []
    if getattr(backend, "fuses_elementwise", False):
        fused, kernels = fusion.fuse(closed)
        jaxpr = fused.jaxpr
        kernel_comments = [f"# {line}".rstrip() for k in kernels for line in k.text().splitlines()]
    elif cpu_fusion and backend.xp is np:
        # compiled below, once it is known which outputs are written into their inputs
        fused, _ = fusion_cpu.fuse(closed, compile=False)
        jaxpr = fused.jaxpr
    w = _Writer(backend)
    names: dict[Var, str] = {}
    counter = iter(range(1 << 30))

    def new_name(v: Var) -> str:
        n = names[v] = f"x{next(counter)}"
        return n

    outputs = {a for a in jaxpr.outvars if type(a) is Var}
    uses: dict[Var, int] = {}
    for eqn in jaxpr.eqns:
        for a in eqn.inputs:
            if type(a) is Var:
                uses[a] = uses.get(a, 0) + 1
    fused = _fusable_casts(jaxpr.eqns, uses, outputs)
    # Equations as emitted: fused casts disappear, their consumers read the cast's operand.
    plan: list[tuple[Equation, list, Any]] = []
    for eqn in jaxpr.eqns:
        if eqn.primitive is structural.convert_element_type_p and eqn.outputs[0] in fused:
            continue
        cast = None
        inputs = []
        for a in eqn.inputs:
            if type(a) is Var and a in fused:
                cast = a.aval.dtype
                inputs.append(fused[a])
            else:
                inputs.append(a)
        plan.append((eqn, inputs, cast))
    last_use: dict[Var, int] = {}
    for i, (_, inputs, _) in enumerate(plan):
        for a in inputs:
            if type(a) is Var:
                last_use[a] = i
    never = len(plan)
    for v in outputs:
        last_use[v] = never

    storage_of: dict[Var, set] = {}  # the storages a variable's buffer may share
    base_of: dict[Var, _Storage] = {}  # variables that own a whole allocated buffer
    user_inputs = _Storage(owned=False)  # the caller's (non-donated) buffers
    constants = _Storage(owned=False)

    def bind(v: Var, storages: set) -> None:
        storage_of[v] = storages
        for s in storages:
            s.users.add(v)

    params = []
    donated_vars: set[Var] = set()
    for i, v in enumerate(jaxpr.invars):
        params.append(new_name(v))
        if i < len(donated) and donated[i]:
            donated_vars.add(v)
            s = _Storage(owned=True)
            bind(v, {s})
            base_of[v] = s
        else:
            bind(v, {user_inputs})
    const_buffers: dict[Var, Any] = {}
    for v, c in zip(jaxpr.constvars, closed.consts):
        buf = c._buffer if type(c) is Array else c
        if type(c) is Array and c._backend is not backend:  # made on another backend
            buf = backend.asarray(c._backend.to_numpy(buf))
        names[v] = w.glob(buf, "c")
        const_buffers[v] = buf
        bind(v, {constants})
    contiguous: set[Var] = set()  # values known to be C-contiguous (fused loops' outputs)

    def expr(a) -> str:
        return _literal_expr(w, a) if type(a) is Literal else names[a]

    maybe_scalar: set[Var] = set()
    local_vars: set[Var] = set()
    body = w.lines
    pooling = backend.xp is np  # CuPy has its own memory pool
    pool_candidates: list = []
    for i, (eqn, inputs, cast) in enumerate(plan):
        prim = eqn.primitive
        outs = eqn.outputs
        if prim is fusion_cpu.fused_loop_p:
            # out= for every output: an operand buffer that dies here, a pool slot, or
            # a new one; the loop writes them all
            taken: set = set()
            kernel = eqn.params["kernel"]
            args = [_loop_operand(w, a, expr(a), maybe_scalar, contiguous, const_buffers)
                    for a in inputs]  # fmt: skip
            inplace: dict = {}
            for v in outs:
                # only an output of the loop's shape (not a reduction's): it is written
                # at the index the same iteration reads, after reading it
                if (v.aval.ndim and v.aval.shape == kernel.shape and not kernel.row_wise
                        and list(inputs) == kernel.inputs):  # fmt: skip
                    r = _loop_reusable_operand(inputs, v, i, last_use, base_of, storage_of,
                                               taken, contiguous | donated_vars)  # fmt: skip
                    if r is not None:
                        taken.add(r)
                        inplace[v] = r
            if inplace:
                kernel = kernel.variant(inplace)
            if compile_loops:
                try:
                    kernel.compile()
                except Exception as e:  # noqa: BLE001  (this group stays NumPy; say why)
                    fusion_cpu.last_failures.append(f"{kernel.name}: {type(e).__name__}: {e}")
                    kernel = None
            if kernel is None:  # the group's equations, one NumPy call each
                impl = functools.partial(fusion_cpu.fused_loop_p.impl, **eqn.params)
                out_names = [new_name(v) for v in outs]
                body.append(f"    {', '.join(out_names)}, = {w.glob(impl, 'group')}"
                            f"(_backend, {', '.join(expr(a) for a in inputs)})")  # fmt: skip
                for v in outs:
                    bind(v, {_Storage(owned=False)})
                maybe_scalar.update(v for v in outs if not v.aval.ndim)
                local_vars.update(outs)
                continue
            loops.append(kernel)
            for j, a in enumerate(inputs):
                if a in taken and a not in contiguous:
                    # a donated buffer, its layout known only now: the loop writes the
                    # contiguous array it is given (a copy where it is not contiguous)
                    tmp = f"{names[a]}c"
                    body.append(f"    {tmp} = {args[j]}")
                    args[j] = tmp
            for v in outs:
                n = new_name(v)
                r = inplace.get(v)
                if r is not None:
                    s = base_of[r]
                    body.append(f"    {n} = {args[inputs.index(r)]}")
                else:
                    s = _Storage(owned=True)
                    empty = w.glob(np.empty, "empty")
                    body.append(
                        f"    {n} = {empty}({v.aval.shape!r}, {w.glob(v.aval.dtype, 'dt')})"
                    )
                    if pooling and _large(v.aval):
                        pool_candidates.append((s, i, len(body) - 1, f"    {n} = {_POOL_SLOT}",
                                                v.aval))  # fmt: skip
                bind(v, {s})
                base_of[v] = s
            fn = w.glob(kernel.dispatcher or kernel, kernel.name)  # (not compiled: as_text)
            body.append(f"    {fn}({', '.join(args + [names[v] for v in kernel.out_params])})")
            local_vars.update(outs)
            contiguous.update(outs)
            dead = [names[a] for a in dict.fromkeys(inputs) if type(a) is Var and a in local_vars
                    and last_use.get(a) == i and a not in taken]  # fmt: skip
            if dead:
                body.append(f"    del {', '.join(dead)}")
            continue
        emitter = _emitters.get(prim)
        args = [expr(a) for a in inputs]
        if prim in _UFUNC_OF and not outs[0].aval.weak_type:
            args = _weak_operands_as_scalars(w, inputs, args)
        reuse = None
        takes_out = _takes_out(backend, prim)
        if takes_out and outs[0].aval.ndim:
            reuse = _reusable_operand(inputs, outs[0], i, last_use, base_of, storage_of, never)
        line = None
        pooled_line = allocate_pooled = None
        if emitter is not None:
            kw = {"cast": cast} if cast is not None else {}
            line = emitter(w, eqn, args, names[reuse] if reuse is not None else None, **kw)
            if line is not None and reuse is None and pooling and _poolable(eqn, prim, takes_out):
                # the same kernel writing into a pool buffer (named once slots are known)
                pooled_line = emitter(w, eqn, args, _POOL_SLOT, **kw)
                if pooled_line == line:  # this emitter takes no out=
                    pooled_line = None
        generic = line is None
        if generic:
            reuse = None
            impl = prim.impl
            if impl is None:
                raise NotImplementedError(f"primitive '{prim.name}' has no implementation")
            fn = functools.partial(impl, **eqn.params) if eqn.params else impl
            call_args = [f"_asarray({x})" if type(a) is Var and a in maybe_scalar else x
                         for a, x in zip(inputs, args)]  # fmt: skip
            arg_list = "".join(", " + x for x in call_args)
            line = f"{w.glob(fn, prim.name.replace('-', '_') + '_')}(_backend{arg_list})"
            into = _IMPLS_INTO.get(prim)
            if into is not None and pooling and len(outs) == 1 and _large(outs[0].aval):
                allocate, write = into
                write_fn = w.glob(functools.partial(write, **eqn.params), prim.name + "_into")
                pooled_line = f"{write_fn}(_backend, {_POOL_SLOT}{arg_list})"
                # allocated only if the result turns out not to escape
                allocate_pooled = functools.partial(allocate, backend, inputs[0].aval, **eqn.params)
        out_names = [new_name(v) for v in outs]
        if generic:
            if outs:
                body.append(f"    {', '.join(out_names)}{',' if len(outs) == 1 else ''} = {line}")
            else:
                body.append(f"    {line}")
        else:
            body.append(f"    {out_names[0]} = {line}")
        # storage bookkeeping
        if reuse is not None:
            s = base_of[reuse]
            bind(outs[0], {s})
            base_of[outs[0]] = s
        elif not generic and _returns_fresh(backend, prim, eqn) and not outs[0].aval.ndim:
            bind(outs[0], {_Storage(owned=False)})  # a new 0-d array or scalar: never reused
        elif not generic and _returns_fresh(backend, prim, eqn):
            s = _Storage(owned=True)
            bind(outs[0], {s})
            base_of[outs[0]] = s
            if pooled_line is not None:
                statement = f"    {out_names[0]} = {pooled_line}"
                pool_candidates.append((s, i, len(body) - 1, statement, outs[0].aval))
                pooled_line = None
        elif generic and prim in fresh_impls:
            for v in outs:
                bind(v, {_Storage(owned=False)})
        else:
            # anything else may return views of (or the very) operand buffers
            shared = (
                set().union(*(storage_of[a] for a in inputs if type(a) is Var)) if inputs else set()
            )
            for v in outs:
                own = _Storage(owned=False)
                bind(v, set(shared) | {own})
            if pooled_line is not None:  # an impl that can write into a pool buffer
                statement = f"    {out_names[0]}, = {pooled_line}"
                pool_candidates.append((own, i, len(body) - 1, statement, allocate_pooled))
        # kernels return NumPy scalars, not 0-d arrays, for some 0-d results
        maybe_scalar.update(v for v in outs if not v.aval.ndim)
        local_vars.update(outs)
        # free buffers that die here, so that memory is recycled early
        dead = [names[a] for a in dict.fromkeys(inputs) if type(a) is Var and a in local_vars
                and last_use.get(a) == i and a is not reuse]  # fmt: skip
        if dead:
            body.append(f"    del {', '.join(dead)}")
    rets = []
    for a in jaxpr.outvars:
        if type(a) is Literal:
            value = backend.freeze(backend.xp.asarray(a.val, dtype=a.aval.dtype))
            rets.append(w.glob(value, "lit"))
        elif private_outputs and user_inputs in storage_of[a]:
            rets.append(f"{w.xp_fn('array')}({names[a]}, copy=True)")  # may alias an input
        elif a in maybe_scalar:
            rets.append(f"_asarray({names[a]})")
        else:
            rets.append(names[a])
    ret = ", ".join(rets) + ("," if len(rets) == 1 else "")
    fname = "".join(ch if ch.isalnum() else "_" for ch in name).strip("_") or "program"
    if fname[0].isdigit() or keyword.iskeyword(fname):
        fname = fname + "_"
    escaping = set().union(*(storage_of[v] for v in outputs)) if outputs else set()
    pooled_body, slots = _assign_pool(w, body, pool_candidates, escaping, last_use, never)
    for loop in loops:
        kernel_comments.append(f"# {loop.name}:{' (parallel)' if loop.parallel else ''}")
        kernel_comments += [f"#   {line}".rstrip() for line in loop.source.splitlines()]
    header = f"def {fname}({', '.join(params)}):"
    source = "\n".join([*kernel_comments, *_pool_comments(slots), header, *pooled_body,
                        f"    return ({ret})"])  # fmt: skip
    if slots:  # a copy without the pool, for calls while the pooled one is running
        source += "\n\n" + "\n".join([f"def {fname}_unpooled({', '.join(params)}):", *body,
                                      f"    return ({ret})"])  # fmt: skip
    namespace = dict(w.globals)
    code = compile(source, f"<funcgrad.jit {name}>", "exec")
    exec(code, namespace)  # noqa: S102  (our own generated source: the point of jit)
    fn = namespace[fname]
    if slots:
        fn = _exclusive(fn, namespace[fname + "_unpooled"])
    return Executable(fn, source, name, closed, [namespace[slot] for slot, _ in slots], loops)


# --- buffer pool ---------------------------------------------------------------------
# On NumPy a fresh buffer above glibc's mmap threshold is mapped anew and page-faulted
# in on every call: a jitted program over 10**6 elements ran ~3x slower than the same
# operations eagerly. So an elementwise kernel or a matrix product whose result is at
# least this large and never leaves the program writes into a buffer that the program
# keeps between calls
# (one per slot: results whose lifetimes do not overlap share a slot). A call made
# while the program is running (another thread, a re-entrant callback) runs a copy of
# the code without the pool, so pool buffers are never shared between live calls.
_POOL_MIN_BYTES = 1 << 17
_POOL_SLOT = "\x00slot\x00"  # placeholder for the pool buffer in an emitted line


def _large(aval: ShapedArray) -> bool:
    return aval.ndim > 0 and aval.size * aval.dtype.itemsize >= _POOL_MIN_BYTES


def _poolable(eqn: Equation, prim: Primitive, takes_out: bool) -> bool:
    return (prim is linalg.dot_general_p or takes_out) and _large(eqn.outputs[0].aval)


# Primitives whose impl can also write into a given buffer: (allocate(backend, first
# operand's aval, **params) -> buffer, write(backend, out, *operands, **params) -> [out]).
_IMPLS_INTO = {convolution.conv_patches_p: (convolution.patches_buffer, convolution.patches_into)}


def _assign_pool(w: _Writer, body: list, candidates: list, escaping: set, last_use, never):
    """``body`` with the candidates that never reach an output writing into pool slots,
    and the slots as (global name, aval) pairs."""
    if not candidates:
        return body, []
    body = list(body)
    free: dict[tuple, list] = {}  # (shape, dtype) -> [(end, slot name)]
    slots = []
    for storage, start, line_index, pooled_line, aval_or_allocate in candidates:
        if storage in escaping:
            continue
        end = max(last_use.get(u, never) for u in storage.users)
        if not isinstance(aval_or_allocate, ShapedArray):  # a primitive's own layout: unshared
            buffer = aval_or_allocate()
            slot = w.glob(buffer, "pool")
            slots.append((slot, ShapedArray(buffer.shape, buffer.dtype)))
            body[line_index] = pooled_line.replace(_POOL_SLOT, slot)
            continue
        aval = aval_or_allocate
        key = (aval.shape, aval.dtype)
        ready = [entry for entry in free.get(key, []) if entry[0] < start]
        if ready:
            entry = min(ready)
            free[key].remove(entry)
            slot = entry[1]
        else:
            slot = w.glob(np.empty(aval.shape, aval.dtype), "pool")
            slots.append((slot, aval))
        free.setdefault(key, []).append((end, slot))
        body[line_index] = pooled_line.replace(_POOL_SLOT, slot)
    return body, slots


def _pool_comments(slots: list) -> list[str]:
    return [f"# {slot}: a {aval.str_short()} buffer kept between calls" for slot, aval in slots]


def _exclusive(pooled: Callable, unpooled: Callable) -> Callable:
    """Runs ``pooled``, or ``unpooled`` while another call of ``pooled`` is running."""
    lock = threading.Lock()

    def run(*buffers):
        if lock.acquire(blocking=False):
            try:
                return pooled(*buffers)
            finally:
                lock.release()
        return unpooled(*buffers)

    return run


def _loop_operand(w: _Writer, a: Var, name: str, maybe_scalar: set, contiguous: set,
                  const_buffers: dict) -> str:  # fmt: skip
    """An operand of a fused loop as the loop is compiled for: a C-contiguous array (a 0-d
    one for scalars); a constant is made contiguous once, here."""
    if not a.aval.ndim:
        return f"_asarray({name})" if a in maybe_scalar or a in const_buffers else name
    if a in contiguous:
        return name
    if a in const_buffers:
        return w.glob(np.ascontiguousarray(const_buffers[a]), "c")
    return f"{w.xp_fn('ascontiguousarray')}({name})"


def _loop_reusable_operand(inputs, out: Var, i: int, last_use, base_of, storage_of,
                           taken: set, contiguous: set) -> Var | None:  # fmt: skip
    """An operand of a fused loop whose buffer its output ``out`` can be written into:
    as for a ufunc, and also C-contiguous (the loop's layout), not read by the loop
    through another operand (a view of it), nor already given to another output."""
    for a in inputs:
        if type(a) is not Var or a in taken or a not in contiguous:
            continue
        if _reusable_operand([a], out, i, last_use, base_of, storage_of, None) is None:
            continue
        s = base_of[a]
        if all(s not in storage_of[b] for b in inputs if type(b) is Var and b is not a):
            return a
    return None


def _reusable_operand(inputs, out: Var, i: int, last_use, base_of, storage_of, never) -> Var | None:
    aval = out.aval
    for a in inputs:
        if type(a) is not Var:
            continue
        s = base_of.get(a)
        if s is None or not s.owned or last_use.get(a) != i:
            continue
        if a.aval.shape != aval.shape or a.aval.dtype != aval.dtype:
            continue
        # every variable sharing this memory must be dead after this equation
        if all(last_use.get(u, -1) <= i for u in s.users):
            return a
    return None
