"""Elementwise fusion: how programs are partitioned into kernels, the generated C (golden
texts, and NumPy's semantics operation by operation), and fused programs against
unfused ones.

No GPU is needed. A test-only backend, a NumPyBackend that fuses ("numpy-fused"),
compiles each kernel's operation as C with gcc into a shared library and calls it
through ctypes, so the generated code really runs: its results are checked against
NumPy. Where nvcc is installed, the same kernels, wrapped as CUDA kernels the way
``cupy.ElementwiseKernel`` wraps an operation, are compiled with ``nvcc --ptx``.

This module also defines "cupy-on-numpy": the CuPy backend's class with NumPy as its
array namespace and a gcc-backed ``ElementwiseKernel`` (and a variant reproducing
CuPy's API gaps), which test_conformance.py runs.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import itertools
import math
import os
import shutil
import subprocess
import tempfile
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import arrays, assert_same

import backends
import funcgrad
import funcgrad.numpy as fnp
from backends.base import BackendUnavailableError
from backends.cupy_backend import CuPyBackend
from backends.numpy_backend import NumPyBackend
from funcgrad._src.core import ShapedArray
from funcgrad._src.interpreters import fusion, optimize
from funcgrad._src.ir import ClosedJaxpr, Equation, Var, eval_closed, trace_to_jaxpr, typecheck
from funcgrad._src.lax import elementwise

GCC = shutil.which("gcc")
NVCC = shutil.which("nvcc")
NO_GCC = "gcc is not installed: the test-only fused backend compiles its kernels with it"
NO_NVCC = "nvcc is not installed: the CUDA compile check needs it"

# --- the test-only fused backend: kernels compiled as C with gcc ----------------------------

_C_PRELUDE = """\
#include <math.h>
#include <stdbool.h>
#define __device__ static
"""
_build_dir: list[str] = []


def c_kernel(description: fusion.ElementwiseKernelDescription, fname: str) -> str:
    """The C function running ``description`` over ``n`` elements of contiguous arrays:
    ``fname(n, args)``, ``args`` the inputs' then the outputs' data pointers. Inputs are
    read into ``in<k>``; each ``out<j>`` names the output element (what the references
    of ElementwiseKernel are)."""
    nin = len(description.in_dtypes)
    lines = [f"void {fname}(long long n, void **args) {{"]
    for k, dt in enumerate(description.in_dtypes):
        ct = fusion.C_TYPES[dt]
        lines.append(f"    const {ct} *p_in{k} = (const {ct} *)args[{k}];")
    for j, dt in enumerate(description.out_dtypes):
        ct = fusion.C_TYPES[dt]
        lines.append(f"    {ct} *p_out{j} = ({ct} *)args[{nin + j}];")
    lines.append("    for (long long i = 0; i < n; ++i) {")
    for k, dt in enumerate(description.in_dtypes):
        lines.append(f"        const {fusion.C_TYPES[dt]} in{k} = p_in{k}[i];")
    for j in range(len(description.out_dtypes)):
        lines.append(f"#define out{j} (p_out{j}[i])")
    lines += [f"        {line}" for line in description.operation.splitlines()]
    for j in range(len(description.out_dtypes)):
        lines.append(f"#undef out{j}")
    lines += ["    }", "}"]
    return "\n".join(lines)


def _preambles(descriptions) -> str:
    """The helper functions of all kernels, each once (helpers are named by operation
    and dtype, so equal names are equal functions)."""
    blocks = dict.fromkeys(b for d in descriptions for b in d.preamble.split("\n\n") if b)
    return "\n\n".join(blocks)


def compile_c(descriptions: list) -> list:
    """One shared library with a C function per kernel (one gcc run): the functions."""
    if not _build_dir:
        _build_dir.append(tempfile.mkdtemp(prefix="funcgrad-fused-"))
        atexit.register(shutil.rmtree, _build_dir[0], ignore_errors=True)
    names = [f"fg_kernel_{i}" for i in range(len(descriptions))]
    source = "\n\n".join(
        [
            _C_PRELUDE,
            _preambles(descriptions),
            *(c_kernel(d, n) for d, n in zip(descriptions, names)),
        ]
    )
    stem = os.path.join(_build_dir[0], hashlib.sha1(source.encode()).hexdigest()[:16])
    if not os.path.exists(stem + ".so"):
        with open(stem + ".c", "w") as f:
            f.write(source)
        # no -ffast-math and no contraction into fused multiply-adds: IEEE operations,
        # each rounded, as NumPy computes them
        result = subprocess.run(
            [GCC, "-O0", "-std=c99", "-ffp-contract=off", "-shared", "-fPIC", "-o",
             stem + ".so", stem + ".c", "-lm"], capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"gcc rejected the kernels:\n{result.stderr}\n{source}"
    library = ctypes.CDLL(stem + ".so")
    functions = []
    for n in names:
        fn = getattr(library, n)
        fn.argtypes = [ctypes.c_longlong, ctypes.POINTER(ctypes.c_void_p)]
        fn.restype = None
        functions.append(fn)
    return functions


def run_c(fn, description, *inputs) -> tuple:
    """Call a compiled kernel as the CuPy backend calls ElementwiseKernel: inputs
    reshaped to their views and broadcast, outputs of the group's shape."""
    shape = description.out_shape
    ins = []
    for x, s, dt in zip(inputs, description.in_shapes, description.in_dtypes):
        a = np.asarray(x, dtype=dt)  # an inf/NaN literal is a Python float
        if a.ndim and a.shape != s:
            a = a.reshape(s)
        ins.append(np.ascontiguousarray(np.broadcast_to(a, shape)))
    outs = tuple(np.empty(shape, dtype=dt) for dt in description.out_dtypes)
    pointers = (ctypes.c_void_p * (len(ins) + len(outs)))(*(a.ctypes.data for a in (*ins, *outs)))
    fn(math.prod(shape), pointers)
    return outs


class FusedCPUBackend(NumPyBackend):
    """NumPy, except that jit fuses elementwise groups into kernels compiled with gcc.

    Kernels a program needs are compiled together, at its first call (one gcc run per
    new program); ``launches`` counts kernel calls, so tests can see fusion happen.
    """

    name = "numpy-fused"
    fuses_elementwise = True

    def __init__(self):
        if GCC is None:
            raise BackendUnavailableError(f"backend 'numpy-fused' is unavailable: {NO_GCC}")
        self._compiled: dict = {}
        self._pending: dict = {}
        self.launches = 0

    def elementwise_kernel(self, description):
        key = description.signature
        if key not in self._compiled:
            self._pending[key] = description

        def run(*inputs):
            fn = self._compiled.get(key)
            if fn is None:
                self._pending[key] = description
                pending = list(self._pending.items())
                self._pending.clear()
                for (k, _), f in zip(pending, compile_c([d for _, d in pending])):
                    self._compiled[k] = f
                fn = self._compiled[key]
            self.launches += 1
            return run_c(fn, description, *inputs)

        return run


def fused_backend(name: str = "numpy-fused") -> FusedCPUBackend:
    """A test-only fused backend, or a skip naming what is missing."""
    try:
        return backends.get_backend(name)
    except BackendUnavailableError as e:
        pytest.skip(str(e))


# --- the CuPy backend's own code, run on NumPy -------------------------------------------------


class GccElementwiseKernel:
    """``cupy.ElementwiseKernel``'s interface over gcc-compiled C: construct with the
    parameters and the operation, call with the inputs then the outputs (inputs
    broadcast against the outputs; arrays must have their parameter's dtype, scalars
    are cast to it). Kernels made since the last compile are compiled together."""

    _pending: ClassVar[list] = []

    def __init__(self, in_params, out_params, operation, name, preamble=""):
        def dtypes(params):
            return tuple(np.dtype(p.split()[0]) for p in params.split(","))

        self.in_dtypes, self.out_dtypes = dtypes(in_params), dtypes(out_params)
        self.operation, self.preamble, self.name = operation, preamble, name
        self._fn = None
        self._pending.append(self)

    def __call__(self, *args):
        if self._fn is None:
            pending = list(self._pending)
            self._pending.clear()
            for kernel, fn in zip(pending, compile_c(pending)):
                kernel._fn = fn
        nin = len(self.in_dtypes)
        ins, outs = args[:nin], args[nin:]
        shape = outs[0].shape
        for x, dt in zip(ins, self.in_dtypes):
            assert not isinstance(x, np.ndarray) or x.dtype == dt, (
                f"{self.name}: {x.dtype} for {dt}"
            )
        arrays = [np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=dt), shape))
                  for x, dt in zip(ins, self.in_dtypes)]  # fmt: skip
        assert all(o.flags.c_contiguous and o.shape == shape for o in outs)
        pointers = (ctypes.c_void_p * len(args))(*(a.ctypes.data for a in (*arrays, *outs)))
        self._fn(math.prod(shape), pointers)
        return outs


class _CuPyUfunc:
    """A NumPy ufunc with CuPy's ufunc methods: ``reduce``/``accumulate`` only for add and
    multiply, ``at`` only for the (operation, dtype) pairs CuPy has atomics for."""

    _AT: ClassVar[dict] = {"add": {"int32", "uint32", "uint64", "float16", "float32", "float64"},
           "maximum": {"int32", "uint32", "uint64", "float32", "float64"},
           "minimum": {"int32", "uint32", "uint64", "float32", "float64"}}  # fmt: skip

    def __init__(self, ufunc):
        self._ufunc = ufunc

    def __call__(self, *args, **kwargs):
        return self._ufunc(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._ufunc, name)

    def _only(self, method, names):
        if self._ufunc.__name__ not in names:
            raise NotImplementedError(
                f"`cupy_{self._ufunc.__name__}.{method}` is not supported yet"
            )

    def reduce(self, *args, **kwargs):
        self._only("reduce", ("add", "multiply"))
        return self._ufunc.reduce(*args, **kwargs)

    def accumulate(self, *args, **kwargs):
        self._only("accumulate", ("add", "multiply"))
        return self._ufunc.accumulate(*args, **kwargs)

    def at(self, a, indices, b=None):
        if a.dtype.name not in self._AT.get(self._ufunc.__name__, ()):
            raise NotImplementedError(f"`cupy_{self._ufunc.__name__}.at` for {a.dtype}")
        return self._ufunc.at(a, indices, b)


class _CuPyStrideTricks:
    @staticmethod
    def as_strided(x, shape=None, strides=None):  # CuPy's has no writeable parameter
        return np.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


class NumPyAsCuPy:
    """NumPy as an array namespace with the parts of CuPy's API the CuPy backend uses
    beyond NumPy's (``asnumpy``, ``ElementwiseKernel``); with ``cupy_gaps``, also
    without what CuPy lacks (ufunc methods, ``lexsort`` with an axis or a tuple of keys,
    ``as_strided(writeable=)``), so that code relying on those fails here as on CuPy."""

    ElementwiseKernel = GccElementwiseKernel

    def __init__(self, cupy_gaps: bool):
        self._gaps = cupy_gaps

    def asnumpy(self, x):
        return np.array(x, copy=True)

    def __getattr__(self, name):
        value = getattr(np, name)
        if self._gaps:
            if isinstance(value, np.ufunc):
                return _CuPyUfunc(value)
            if name == "lexsort":
                return _cupy_lexsort
            if name == "lib":
                return type("lib", (), {"stride_tricks": _CuPyStrideTricks})
        return value


def _cupy_lexsort(keys):
    if not isinstance(keys, np.ndarray) or keys.ndim != 2:
        raise NotImplementedError("cupy.lexsort takes one 2-D array of keys (and no axis)")
    return np.lexsort(keys)


class CuPyOnNumPyBackend(CuPyBackend):
    """The CuPy backend's code (scatter, bounds checks, running extrema, lexsort, fused
    kernels) with NumPy as its array namespace and gcc compiling its kernels: what can
    be run of it without a GPU. Not a GPU result."""

    name = "cupy-on-numpy"
    cupy_gaps = False

    def __init__(self):
        if GCC is None:
            raise BackendUnavailableError(f"backend {self.name!r} is unavailable: {NO_GCC}")
        self.xp = NumPyAsCuPy(self.cupy_gaps)
        self.buffer_type = np.ndarray
        self._elementwise_kernels = {}


class CuPyGapsOnNumPyBackend(CuPyOnNumPyBackend):
    """The same, with CuPy's API gaps (see NumPyAsCuPy)."""

    name = "cupy-gaps-on-numpy"
    cupy_gaps = True


for _backend in (FusedCPUBackend, CuPyOnNumPyBackend, CuPyGapsOnNumPyBackend):
    if _backend.name not in backends.backend_names():
        backends.register_backend(_backend.name, _backend)


# --- programs --------------------------------------------------------------------------------


def _program(f, *args) -> ClosedJaxpr:
    """The optimised program of ``f`` (what jit generates code from)."""
    jaxpr, consts = trace_to_jaxpr(f, [fnp.asarray(a).aval for a in args])
    return optimize.optimize_for_execution(ClosedJaxpr(jaxpr, consts))


def _fused_eqns(closed: ClosedJaxpr) -> list:
    return [e for e in closed.jaxpr.eqns if e.primitive is fusion.fused_elementwise_p]


def _names(eqns) -> list[str]:
    return [e.primitive.name for e in eqns]


F32 = np.float32


def test_a_chain_with_a_broadcast_bias_is_one_kernel():
    x, b = np.ones((4, 3), F32), np.ones(3, F32)
    closed = _program(lambda x, b: fnp.maximum(x + b, 0.0) * 2.0, x, b)
    assert _names(closed.jaxpr.eqns) == ["broadcast_in_dim", "add", "max", "mul"]
    fused, kernels = fusion.fuse(closed)
    (eqn,) = fused.jaxpr.eqns
    assert eqn.primitive is fusion.fused_elementwise_p
    a_var, b_var = closed.jaxpr.invars
    assert eqn.inputs == [b_var, a_var]  # in order of first use: the bias is broadcast first
    (k,) = kernels
    assert k.in_shapes == ((1, 3), (4, 3))  # the bias is read through a broadcasting view
    assert k.out_shape == (4, 3) and k.out_dtypes == (np.dtype(F32),)
    typecheck(fused)


def test_values_used_outside_the_group_are_its_outputs():
    x = np.ones((2, 3))

    def f(x):
        a = fnp.sin(x)
        return a * 2.0 + 1.0, fnp.sum(a)  # a escapes into the reduction

    closed = _program(f, x)
    fused, kernels = fusion.fuse(closed)
    assert _names(fused.jaxpr.eqns) == ["fused_elementwise", "reduce_sum"]
    (eqn,) = _fused_eqns(fused)
    sin_out = closed.jaxpr.eqns[0].outputs[0]
    assert eqn.outputs[0] is sin_out and len(eqn.outputs) == 2
    assert kernels[0].out_params == "float64 out0, float64 out1"
    typecheck(fused)


def test_a_value_depending_on_the_group_through_other_equations_starts_a_new_group():
    # d needs s, which needs c from the first group: d cannot join it (a cycle)
    def f(x):
        a = fnp.sin(x)
        c = fnp.cos(a)
        s = fnp.sum(c)
        d = a * s
        return fnp.exp(d) + 1.0

    x = np.linspace(0, 1, 6).reshape(2, 3)
    closed = _program(f, x)
    fused, kernels = fusion.fuse(closed)
    assert _names(fused.jaxpr.eqns) == ["fused_elementwise", "reduce_sum", "fused_elementwise"]
    first, _, second = fused.jaxpr.eqns
    assert [k.name for k in kernels] == ["funcgrad_fused_sin_cos", "funcgrad_fused_mul_exp_add"]
    assert second.inputs[0] is first.outputs[0]  # a, computed by the first kernel
    typecheck(fused)
    np.testing.assert_allclose(np.asarray(eval_closed(fused, [fnp.asarray(x)])[0]),
                               np.exp(np.sin(x) * np.cos(np.sin(x)).sum()) + 1)  # fmt: skip


def test_a_group_that_grows_later_cannot_close_a_cycle():
    # k depends on the first group; the second group {l, m} needs k (through l), so m,
    # although it joined without touching k, depends on the first group: o, which reads
    # m, may not join the first group (a cycle: first -> k -> second -> o)
    def f(x, w, g, e):
        i = x @ w
        j = i * 2.0
        k = fnp.sum(j, axis=1)
        l = g * k
        m = g * e + 1.0
        return l, i * m[:, None] - j

    args = [np.arange(6.0).reshape(2, 3), np.eye(3), np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    closed = _program(f, *args)
    fused, kernels = fusion.fuse(closed)
    typecheck(fused)
    assert len(kernels) >= 2
    got = eval_closed(fused, [fnp.asarray(a) for a in args])
    x, w, g, e = args
    i = x @ w
    np.testing.assert_allclose(np.asarray(got[0]), g * (2 * i).sum(1))
    np.testing.assert_allclose(np.asarray(got[1]), i * (g * e + 1)[:, None] - 2 * i)


def test_independent_work_joins_a_group_and_the_program_is_rescheduled():
    # b = 2 * (x @ w) joins the group of a = sin(x) (nothing connects them), so that group
    # runs after x @ w although a came first; a @ w, which needs a, runs after the group.
    def f(x, w):
        a = fnp.sin(x)
        m = a @ w
        n = x @ w
        b = n * 2.0
        return m, a + b

    x, w = np.arange(9.0).reshape(3, 3) / 9, np.eye(3)[::-1].copy()
    closed = _program(f, x, w)
    assert _names(closed.jaxpr.eqns) == ["sin", "dot_general", "dot_general", "mul", "add"]
    fused, _ = fusion.fuse(closed)
    assert _names(fused.jaxpr.eqns) == ["dot_general", "fused_elementwise", "dot_general"]
    typecheck(fused)
    got = eval_closed(fused, [fnp.asarray(x), fnp.asarray(w)])
    np.testing.assert_allclose(np.asarray(got[0]), np.sin(x) @ w)
    np.testing.assert_allclose(np.asarray(got[1]), np.sin(x) + 2 * (x @ w))


def test_groups_have_one_shape_and_single_operations_stay_ufuncs():
    def f(x, y):
        return fnp.exp(x) * 2.0, fnp.log(y) - 1.0, fnp.sqrt(x)  # sqrt(x) joins exp's group

    closed = _program(f, np.ones((2, 3)), np.ones(4))
    _, kernels = fusion.fuse(closed)
    assert sorted(k.out_shape for k in kernels) == [(2, 3), (4,)]
    single = _program(lambda x: fnp.exp(x), np.ones(3))
    assert fusion.fuse(single) == (single, [])


@pytest.mark.parametrize("dtype", [np.float16, np.complex64])
def test_dtypes_without_a_kernel_form_are_not_fused(dtype):
    closed = _program(lambda x: x * x + x, np.ones(3, dtype))
    assert fusion.fuse(closed)[1] == []


def test_effectful_equations_keep_their_order():
    def f(x):
        a = fnp.sin(x)
        funcgrad.debug.print("a {}", a)
        b = fnp.exp(x) * 2.0  # independent of the print: may move, the prints may not
        funcgrad.debug.print("b {}", b)
        return a + b

    closed = _program(f, np.ones(2))
    fused, _ = fusion.fuse(closed)
    prints = [e.params["fmt"] for e in fused.jaxpr.eqns if e.primitive.name == "debug_print"]
    assert prints == ["a {}", "b {}"]
    typecheck(fused)


def test_numpy_backend_does_not_fuse():
    text = funcgrad.jit(lambda x: fnp.sin(x) * 2.0 + 1.0).lower(fnp.ones(3)).as_text()
    assert "ElementwiseKernel" not in text and "_sin(" in text


# --- golden kernel texts ----------------------------------------------------------------------


def test_golden_relu_of_a_biased_value_and_the_lowered_source():
    backend = fused_backend()
    with funcgrad.default_backend(backend):
        x, b = fnp.ones((4, 3), F32), fnp.ones(3, F32)
        text = funcgrad.jit(lambda x, b: fnp.maximum(x + b, 0.0) * 2.0).lower(x, b).as_text()
    assert (
        text
        == """\
# ElementwiseKernel 'funcgrad_fused_add_max_mul'
#   in_params:  'float32 in0, float32 in1'
#   out_params: 'float32 out0'
#   operation:
#     const float t0 = in0;
#     const float t1 = (in1 + t0);
#     const float t2 = ((t1 > 0.0f || isnan(t1)) ? t1 : 0.0f);
#     const float t3 = (t2 * 2.0f);
#     out0 = t3;
def lambda_(x0, x1):
    x2 = _funcgrad_fused_add_max_mul0(x1, x0)[0]
    return (x2,)"""
    )


def test_golden_integer_division_helpers():
    closed = _program(lambda x: (x // 3) % 5 + (x << 2), np.arange(6, dtype=np.int8))
    (k,) = fusion.fuse(closed)[1]
    assert (
        k.preamble
        == """\
__device__ inline signed char fg_floor_divide_int8(signed char a, signed char b) {
    if (b == 0) return 0;
    if (b == -1) return (signed char)(0u - (unsigned int)a);
    signed char q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
    return q;
}

__device__ inline signed char fg_remainder_int8(signed char a, signed char b) {
    if (b == 0 || b == -1) return 0;
    signed char r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}"""
    )
    assert (
        k.operation
        == """\
const signed char t0 = fg_floor_divide_int8(in0, ((signed char)3LL));
const signed char t1 = fg_remainder_int8(t0, ((signed char)5LL));
const signed char t2 = (((unsigned long long)((signed char)2LL) < 8) ? (signed char)((unsigned int)in0 << ((signed char)2LL)) : (signed char)0);
const signed char t3 = ((signed char)((unsigned int)t1 + (unsigned int)t2));
out0 = t3;"""
    )


def test_golden_casts_selects_and_non_finite_literals():
    # the div primitive on int32 divides doubles (NumPy's loop casts its operands); inf and
    # NaN become kernel arguments
    def f(i, x):
        q = elementwise.div_p.bind1(i, i)
        return fnp.where(x > 0, x, fnp.inf) - fnp.nan + q.astype(F32)

    closed = _program(f, np.ones(3, np.int32), np.ones(3, F32))
    (k,) = fusion.fuse(closed)[1]
    assert k.in_params == "int32 in0, float32 in1, float32 in2, float32 in3"
    assert k.in_shapes == ((3,), (3,), (), ())
    assert (
        k.operation
        == """\
const double t0 = (((double)in0) / ((double)in0));
const bool t1 = (in1 > 0.0f);
const float t2 = (t1 ? in1 : in2);
const float t3 = (t2 - in3);
const float t4 = ((float)t0);
const float t5 = (t3 + t4);
out0 = t5;"""
    )
    (eqn,) = _fused_eqns(fusion.fuse(closed)[0])
    inf, nan = eqn.inputs[2:]  # passed as the literals they are
    assert inf.val == np.inf and np.isnan(nan.val)


# --- NumPy's semantics, operation by operation -------------------------------------------------

_SPECIAL_FLOATS = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -2.5, 3.0, 7.0, -7.0, 1e-3, 100.0,
                   -100.0, 1e30, np.inf, -np.inf, np.nan]  # fmt: skip


def _special_values(dt: np.dtype) -> np.ndarray:
    if dt.kind == "b":
        return np.array([False, True])
    if dt.kind == "f":
        return np.array(_SPECIAL_FLOATS, dtype=dt)
    info, bits = np.iinfo(dt), 8 * dt.itemsize
    values = [0, 1, 2, 3, 7, 100, bits - 1, bits, bits + 1, info.max, info.max - 1]
    if dt.kind == "i":
        values += [-1, -2, -7, -100, info.min, info.min + 1]
    return np.array([v for v in values if info.min <= v <= info.max], dtype=dt)


# Results that are correctly rounded (or exact) in C and in NumPy: compared bit for bit.
_EXACT = {"negative", "absolute", "sign", "floor", "ceil", "rint", "trunc", "sqrt", "isnan",
          "isinf", "isfinite", "signbit", "invert", "logical_not", "add", "subtract",
          "multiply", "true_divide", "floor_divide", "remainder", "fmod", "maximum", "minimum",
          "fmax", "fmin", "copysign", "nextafter", "heaviside", "bitwise_and", "bitwise_or",
          "bitwise_xor", "left_shift", "right_shift", "logical_and", "logical_or",
          "logical_xor", "equal", "not_equal", "less", "less_equal", "greater",
          "greater_equal"}  # fmt: skip


def _single_op_cases():
    """(ufunc, primitive, dtype, equation, operands) for every operation and dtype that
    has a kernel form."""
    prims = {**elementwise.unary_primitives, **elementwise.binary_primitives}
    ufunc_of = {**elementwise.UNARY_UFUNCS, **elementwise.BINARY_UFUNCS}
    cases = []
    for name, prim in prims.items():
        ufunc = ufunc_of[name]
        if ufunc not in fusion.UFUNC_RULES:
            continue
        nin = 1 if name in elementwise.unary_primitives else 2
        for dt in sorted(fusion.FUSIBLE_DTYPES, key=str):
            values = _special_values(dt)
            if nin == 1:
                operands = [values]
            else:
                a, b = (g.reshape(-1) for g in np.meshgrid(values, values, indexing="ij"))
                if ufunc == "power" and dt.kind in "iu":
                    a, b = a[b >= 0], b[b >= 0]  # NumPy raises for negative integer powers
                operands = [a, b]
            avals = [ShapedArray(o.shape, o.dtype) for o in operands]
            try:
                (out,) = prim.abstract_eval(*avals)
            except TypeError:
                continue  # NumPy has no loop for this dtype
            eqn = Equation(prim, [Var(a) for a in avals], {}, [Var(out)])
            if fusion.fusible(eqn):
                cases.append((ufunc, prim, dt, eqn, operands))
    return cases


def _assert_matches_numpy(got, expected, ufunc, what):
    if expected.dtype.kind != "f" or ufunc in _EXACT:
        same = (
            (got == expected) | (np.isnan(got) & np.isnan(expected))
            if expected.dtype.kind == "f"
            else got == expected
        )
        bad = np.flatnonzero(~np.asarray(same))
        assert not bad.size, (
            f"{what}: {bad.size} mismatches, first at {bad[0]}: {got.flat[bad[0]]} vs NumPy's {expected.flat[bad[0]]}"
        )
        if expected.dtype.kind == "f":  # and the sign of zeros
            zeros = expected == 0
            np.testing.assert_array_equal(
                np.signbit(got[zeros]), np.signbit(expected[zeros]), err_msg=what
            )
    else:
        eps = np.finfo(expected.dtype).eps
        np.testing.assert_allclose(
            got, expected, rtol=8 * eps, atol=0, equal_nan=True, err_msg=what
        )


@pytest.mark.skipif(GCC is None, reason=NO_GCC)
def test_every_operation_and_dtype_matches_numpy_on_special_values():
    cases = _single_op_cases()
    assert len(cases) > 300
    descriptions = [fusion.describe([eqn], [eqn.outputs[0]])[0] for _, _, _, eqn, _ in cases]
    functions = compile_c(descriptions)  # one gcc run for all of them
    for (ufunc, prim, dt, eqn, operands), d, fn in zip(cases, descriptions, functions):
        with np.errstate(all="ignore"):
            expected = getattr(np, ufunc)(*operands)
        (got,) = run_c(fn, d, *operands)
        _assert_matches_numpy(got, expected, ufunc, f"{ufunc} on {dt}")


# --- fused programs against unfused ones --------------------------------------------------------

# Operations whose float results are correctly rounded in C and in NumPy (so fused and
# unfused programs agree bit for bit): (function, number of operands, dtype kinds).
_EXACT_OPS = [
    (lambda a, b: a + b, 2, "iuf"), (lambda a, b: a - b, 2, "iuf"), (lambda a, b: a * b, 2, "iuf"),
    (lambda a, b: a / b, 2, "f"), (fnp.floor_divide, 2, "iuf"), (fnp.remainder, 2, "iuf"),
    (fnp.maximum, 2, "iuf"), (fnp.minimum, 2, "iuf"), (fnp.fmax, 2, "f"),
    (lambda a, b: fnp.where(a > b, a, b * 2), 2, "iuf"), (fnp.bitwise_xor, 2, "iu"),
    (lambda a, b: a << (b & 7), 2, "iu"), (lambda a, b: a >> (b & 7), 2, "iu"),
    (fnp.negative, 1, "if"), (fnp.abs, 1, "iuf"), (fnp.sign, 1, "if"), (fnp.floor, 1, "f"),
    (lambda a: fnp.sqrt(fnp.abs(a)), 1, "f"), (lambda a: a * 3 + 1, 1, "iuf"),
    (lambda a: a * 0.5 - 2.0, 1, "f"), (lambda a: (a > 0).astype(a.dtype), 1, "iuf"),
    (lambda a: fnp.where(fnp.isnan(a), 0.0, a), 1, "f"),
]  # fmt: skip
# Smooth operations (libm and NumPy differ by a few ulps): compared with a tolerance.
_SMOOTH_OPS = [
    (fnp.sin, 1), (fnp.tanh, 1), (lambda a: fnp.exp(-fnp.abs(a)), 1), (lambda a: fnp.log1p(a * a), 1),
    (fnp.arctan, 1), (lambda a, b: a * b, 2), (lambda a, b: a + b, 2), (fnp.hypot, 2),
    (fnp.arctan2, 2), (fnp.logaddexp, 2), (lambda a, b: fnp.power(fnp.abs(a) + 0.5, b * 0.1), 2),
]  # fmt: skip


@st.composite
def _programs(draw, exact: bool):
    """A random program of 2 to 6 elementwise operations on 1 to 3 inputs (one may be a
    row broadcast against the others, one 0-d), and the inputs."""
    if exact:
        dtype = draw(st.sampled_from([np.float32, np.float64, np.int32, np.int8, np.uint16]))
        kind = np.dtype(dtype).kind
        ops = [(f, n) for f, n, kinds in _EXACT_OPS if kind in kinds]
    else:
        dtype, ops = draw(st.sampled_from([np.float32, np.float64])), _SMOOTH_OPS
    shape = draw(st.sampled_from([(3,), (2, 4), (2, 1, 3)]))
    n_in = draw(st.integers(1, 3))
    in_shapes = [draw(st.sampled_from([shape, shape[-1:], ()])) for _ in range(n_in - 1)] + [shape]
    bound = 100 if np.dtype(dtype).kind != "u" else 200
    inputs = [draw(arrays(dtype, s, min_value=-bound if np.dtype(dtype).kind != "u" else 0,
                          max_value=bound)) for s in in_shapes]  # fmt: skip
    steps = [(draw(st.sampled_from(ops)), [draw(st.integers(0, 10**6)) for _ in range(2)])
             for _ in range(draw(st.integers(2, 6)))]  # fmt: skip

    def program(*xs):
        # a chain from the full-shape input; second operands are any earlier value
        values = list(xs)
        for (f, n), (pick, _) in steps:
            args = [values[-1], values[pick % len(values)]][:n]
            values.append(fnp.asarray(f(*args)).astype(dtype))
        return values[-1], values[len(xs)]  # the last value, and the first intermediate one

    return program, inputs


def _check_fused_program(program, inputs, exact):
    backend = fused_backend()
    with np.errstate(all="ignore"):
        expected = program(*map(fnp.asarray, inputs))
        launches = backend.launches
        args = [funcgrad.device_put(x, backend.name) for x in inputs]
        got = funcgrad.jit(program)(*args)
    assert backend.launches > launches or all(e.size == 0 for e in expected), "nothing was fused"
    for g, e in zip(got, expected):
        assert g.backend == "numpy-fused"
        if exact:
            assert_same(g, e, rtol=0, atol=0)
        else:
            assert_same(
                g, e, rtol=64 * float(np.finfo(e.dtype).eps), atol=1e-6 if e.dtype == F32 else 1e-13
            )


@pytest.mark.skipif(GCC is None, reason=NO_GCC)
@settings(max_examples=12)
@given(_programs(exact=True))
def test_fused_programs_of_exact_operations_equal_unfused_ones_bit_for_bit(case):
    _check_fused_program(*case, exact=True)


@pytest.mark.skipif(GCC is None, reason=NO_GCC)
@settings(max_examples=6)
@given(_programs(exact=False))
def test_fused_programs_of_smooth_operations_agree_with_unfused_ones(case):
    _check_fused_program(*case, exact=False)


@pytest.mark.skipif(GCC is None, reason=NO_GCC)
def test_fused_gradient_step_and_multiple_outputs():
    # a training step's backward pass: the ReLU mask, the bias gradient and the update
    # fuse; the group's value escaping into matmuls makes a multi-output kernel
    backend = fused_backend()
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((8, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)

    def loss(params, x):
        w, b = params
        h = fnp.maximum(x @ w + b, 0.0)
        return fnp.sum(fnp.tanh(h) ** 2)

    def step(params, x):
        g = funcgrad.grad(loss)(params, x)
        return [p - 0.1 * gp for p, gp in zip(params, g)]

    expected = step([fnp.asarray(w), fnp.asarray(b)], fnp.asarray(x))
    moved = funcgrad.device_put(([w, b], x), backend.name)
    text = funcgrad.jit(step).lower(*moved).as_text()
    assert text.count("ElementwiseKernel") >= 2
    got = funcgrad.jit(step)(*moved)
    for g, e in zip(got, expected):
        assert_same(g, e, rtol=1e-12, atol=1e-12)


# --- the CUDA compile check ----------------------------------------------------------------------


def cuda_kernel(description, name: str) -> str:
    """``description`` wrapped as a CUDA kernel the way cupy.ElementwiseKernel wraps its
    operation: a grid-stride loop over ``i`` that reads each input element into a
    variable and binds each output element to a reference."""
    params = [
        f"const {fusion.C_TYPES[dt]} *_raw_in{k}" for k, dt in enumerate(description.in_dtypes)
    ]
    params += [f"{fusion.C_TYPES[dt]} *_raw_out{j}" for j, dt in enumerate(description.out_dtypes)]
    loop = ("    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < _n;"
            " i += (long long)blockDim.x * gridDim.x) {")  # fmt: skip
    lines = [f'extern "C" __global__ void {name}({", ".join(params)}, long long _n) {{', loop]
    for k, dt in enumerate(description.in_dtypes):
        lines.append(f"        const {fusion.C_TYPES[dt]} in{k} = _raw_in{k}[i];")
    for j, dt in enumerate(description.out_dtypes):
        lines.append(f"        {fusion.C_TYPES[dt]} &out{j} = _raw_out{j}[i];")
    lines += [f"        {line}" for line in description.operation.splitlines()]
    lines += ["    }", "}"]
    return "\n".join(lines)


@pytest.mark.skipif(NVCC is None, reason=NO_NVCC)
def test_kernels_compile_as_cuda_with_nvcc(tmp_path):
    kinds = {np.dtype(t) for t in (np.bool_, np.int8, np.int64, np.uint32, np.float32, np.float64)}
    descriptions = [fusion.describe([eqn], [eqn.outputs[0]])[0]
                    for _, _, dt, eqn, _ in _single_op_cases() if dt in kinds]  # fmt: skip
    rng_program = _program(
        lambda x, b, i: (fnp.maximum(x + b, 0.0) * 2.0, fnp.where(x > 1, fnp.inf, x) - fnp.nan,
                         (i // 3) % 5 + (i << 2), fnp.logaddexp(x, x * 2)),
        np.ones((4, 3), F32), np.ones(3, F32), np.ones((4, 3), np.int16),
    )  # fmt: skip
    descriptions += fusion.fuse(rng_program)[1]
    source = "\n\n".join([_preambles(descriptions)] +
                         [cuda_kernel(d, f"k{i}") for i, d in enumerate(descriptions)])  # fmt: skip
    path = tmp_path / "kernels.cu"
    path.write_text(source)
    # -Xcicc -O0: the device code is checked, not optimised (5x faster)
    command = [NVCC, "--ptx", "-w", "-Xcicc", "-O0", "-o", str(tmp_path / "kernels.ptx"), str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"nvcc rejected the kernels:\n{result.stderr[:4000]}"
    ptx = (tmp_path / "kernels.ptx").read_text()
    assert all(f".entry k{i}(" in ptx for i in range(len(descriptions)))


def test_the_single_op_cases_cover_every_rule():
    covered = {ufunc for ufunc, *_ in _single_op_cases()}
    assert covered == set(fusion.UFUNC_RULES), sorted(set(fusion.UFUNC_RULES) - covered)
    assert len(list(itertools.chain(fusion.FUSIBLE_DTYPES))) == 11
