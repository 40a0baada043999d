"""One conformance suite for every backend other than NumPy: each primitive's value, JVP,
VJP, vmap and jit results against the NumPy backend's, within dtype tolerance.

The primitives and their operands come from the op-record table of
test_primitives.py. For each draw, the NumPy backend computes the reference, eagerly;
the backend under test computes the same five results, the jitted one as a single
program holding the value, the JVP and the VJP (where a backend fuses elementwise
kernels, derivative programs are where fusion happens).

Backends:
- ``cupy``: skips here with the reason CuPy gives (package not installed, no CUDA
  device); on a machine with a GPU it runs everything on the GPU.
- ``cupy-on-numpy`` (test_fusion.py): the CuPy backend's own code (its scatter,
  bounds checks, running extrema, lexsort, fused elementwise kernels) with NumPy as
  its array namespace and gcc compiling the kernels: everything of it that can run
  without a GPU (not a GPU result); skips where gcc is missing.

The last tests pin down, as strict expected failures, the engine bugs and CuPy API
gaps this suite found that need changes outside the backend.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracle import assert_same
from test_fusion import fused_backend  # importing it registers the numpy-fused backend
from test_primitives import RECORDS, _matrices
from test_vmap_primitives import _STRUCTURED, _example

import backends
import funcgrad
import funcgrad.numpy as fnp
from backends.base import BackendUnavailableError
from funcgrad._src.lax import ALL_PRIMITIVES

BACKENDS = ["cupy", "cupy-on-numpy"]
_REJECTED = (ValueError, IndexError, TypeError, FloatingPointError, np.linalg.LinAlgError)


def backend_or_skip(name: str):
    try:
        return backends.get_backend(name)
    except BackendUnavailableError as e:
        pytest.skip(str(e))


def _host(tree):
    return [np.asarray(x) for x in funcgrad.tree_util.tree_leaves(tree)]


class _Case:
    """A primitive applied to drawn operands, and the random extras every backend shares:
    tangents, cotangents, a second vmap example."""

    def __init__(self, record, operands, params, rng):
        self.prim = ALL_PRIMITIVES[record.name]
        self.operands = operands
        self.params = params
        self.rng = rng
        # differentiated: the float and complex array operands the primitive differentiates
        self.diff = [i for i, x in enumerate(operands)
                     if isinstance(x, np.ndarray) and x.dtype.kind in "fc"
                     and i not in record.nondiff]  # fmt: skip
        self.tangents = [self._noise(operands[i]) for i in self.diff]
        structured = record.name in _STRUCTURED
        self.second = [_example(x, 1, structured, rng) if isinstance(x, np.ndarray) else x
                       for x in operands]  # fmt: skip

    def _noise(self, like: np.ndarray) -> np.ndarray:
        x = self.rng.standard_normal(like.shape)
        if like.dtype.kind == "c":
            x = x + 1j * self.rng.standard_normal(like.shape)
        return x.astype(like.dtype)

    def bind(self, *args):
        return self.prim.bind(*args, **self.params)

    def differentiable(self, args, float_outs):
        """The primitive as a function of the differentiated operands, returning its float
        outputs."""

        def g(*diff_args):
            full = list(args)
            for i, v in zip(self.diff, diff_args):
                full[i] = v
            return tuple(o for o, keep in zip(self.bind(*full), float_outs) if keep)

        return g

    def results(self, device: str, cts=None, float_outs=None) -> dict:
        """Value, JVP, VJP, vmap and jit results on ``device`` (host arrays). Without
        ``cts`` (the reference run) the cotangents are made from the value's outputs."""

        def put(x):
            return funcgrad.device_put(x, device) if isinstance(x, (np.ndarray, np.generic)) else x

        args = [put(x) for x in self.operands]
        # Not under default_backend(device): the transformations must put the constants
        # their rules make on their inputs' backend themselves.
        with np.errstate(all="ignore"):
            value = self.bind(*args)
            out = {"value": _host(value)}
            if float_outs is None:
                float_outs = [o.dtype.kind in "fc" for o in out["value"]]
            if cts is None:
                cts = [self._noise(o) for o, keep in zip(out["value"], float_outs) if keep]
            primals = [args[i] for i in self.diff]
            tangents = [put(t) for t in self.tangents]
            cts_dev = tuple(put(c) for c in cts)
            if primals and cts:
                g = self.differentiable(args, float_outs)
                out["jvp"] = _host(funcgrad.jvp(g, tuple(primals), tuple(tangents)))
                out["vjp"] = _host(funcgrad.vjp(g, *primals)[1](cts_dev))
            arrays = [i for i, x in enumerate(self.operands) if isinstance(x, np.ndarray)]
            if arrays and self.prim.name != "iota":
                batched = list(args)
                for i in arrays:
                    batched[i] = put(np.stack([self.operands[i], self.second[i]]))
                in_axes = tuple(0 if i in arrays else None for i in range(len(args)))
                out["vmap"] = _host(funcgrad.vmap(self.bind, in_axes=in_axes)(*batched))
            if device != "numpy":
                out["jit"] = _host(
                    funcgrad.jit(self._everything(float_outs))(args, primals, tangents, cts_dev)
                )
        return out, cts, float_outs

    def _everything(self, float_outs):
        """Value, JVP and VJP as one function (one program under jit)."""

        def everything(args, primals, tangents, cts):
            results = [self.bind(*args)]
            if primals and cts:
                g = self.differentiable(args, float_outs)
                results.append(funcgrad.jvp(g, tuple(primals), tuple(tangents)))
                results.append(funcgrad.vjp(g, *primals)[1](cts))
            return results

        return everything


def _tolerance(record, expected: np.ndarray, operands) -> tuple:
    """(rtol, atol): the record's or the dtype's relative tolerance, and an absolute one
    scaled by the operands' magnitude and size (sums in another order cancel differently)."""
    if expected.dtype.kind not in "fc":
        return 0, 0
    eps = float(np.finfo(expected.dtype).eps)
    rtol = record.rtol or 64 * eps
    floats = [np.abs(x).max() for x in operands
              if isinstance(x, np.ndarray) and x.dtype.kind in "fc" and x.size]  # fmt: skip
    magnitude = max([1.0, *(float(f) for f in floats if np.isfinite(f))])
    size = max([1, *(x.size for x in operands if isinstance(x, np.ndarray))])
    return rtol, 64 * eps * magnitude * math.sqrt(size)


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
@settings(max_examples=2)
@given(data=st.data())
def test_primitive_conforms_to_numpy(backend_name, record, data):
    backend_or_skip(backend_name)
    operands, params = record.draw(data)
    params = {k: v for k, v in params.items() if k != "_spec"}
    case = _Case(record, operands, params, np.random.default_rng(data.draw(st.integers(0, 2**16))))
    try:
        expected, cts, float_outs = case.results("numpy")
    except _REJECTED:
        assume(False)  # NumPy rejects this draw (a singular matrix, ...): nothing to compare
    got, _, _ = case.results(backend_name, cts, float_outs)
    jit_expected = expected["value"] + expected.get("jvp", []) + expected.get("vjp", [])
    for check, want in [*expected.items(), ("jit", jit_expected)]:
        assert len(got[check]) == len(want), (
            f"{check}: {len(got[check])} outputs, NumPy {len(want)}"
        )
        for i, (a, e) in enumerate(zip(got[check], want)):
            rtol, atol = _tolerance(record, e, operands)
            assert_same(a, e, rtol=rtol, atol=atol,
                        what=f"{record.name} {check} output {i} on {backend_name}")  # fmt: skip


@pytest.mark.parametrize("backend_name", BACKENDS)
@settings(max_examples=3)
@given(data=st.data())
def test_decompositions_conform_through_invariants(backend_name, data):
    """eigh, qr and svd are unique only up to signs: compared through what is unique
    (eigen- and singular values, reconstructions, orthogonality)."""
    backend_or_skip(backend_name)
    a = _matrices(data, spd=True)
    tol = 1e-3 if a.dtype == np.float32 else 1e-9
    on = funcgrad.device_put(a, backend_name)
    w, v = (np.asarray(t) for t in ALL_PRIMITIVES["eigh"].bind(on, lower=True))
    np.testing.assert_allclose(w, np.linalg.eigvalsh(a), rtol=tol, atol=tol)
    np.testing.assert_allclose(v @ (w[..., None] * np.swapaxes(v, -1, -2)), a, rtol=tol, atol=tol)
    b = _matrices(data, square=False)
    tol = 1e-3 if b.dtype == np.float32 else 1e-9
    on = funcgrad.device_put(b, backend_name)
    q, r = (np.asarray(t) for t in ALL_PRIMITIVES["qr"].bind(on, full_matrices=False))
    np.testing.assert_allclose(q @ r, b, rtol=tol, atol=tol)
    u, s, vh = (
        np.asarray(t) for t in ALL_PRIMITIVES["svd"].bind(on, full_matrices=False, compute_uv=True)
    )
    np.testing.assert_allclose(s, np.linalg.svd(b, compute_uv=False), rtol=tol, atol=tol)
    np.testing.assert_allclose((u * s[..., None, :]) @ vh, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_random_bits_are_identical_on_every_backend(backend_name):
    backend_or_skip(backend_name)
    with funcgrad.default_backend(backend_name):
        key = funcgrad.random.key(42)
        k1, k2 = funcgrad.random.split(key)
        draws = [funcgrad.random.bits(k1, (5,)), funcgrad.random.uniform(k2, (3,)),
                 funcgrad.random.normal(k1, (2, 2), dtype=np.float32)]  # fmt: skip
    key = funcgrad.random.key(42)
    k1, k2 = funcgrad.random.split(key)
    expected = [funcgrad.random.bits(k1, (5,)), funcgrad.random.uniform(k2, (3,)),
                funcgrad.random.normal(k1, (2, 2), dtype=np.float32)]  # fmt: skip
    assert all(d.backend == backend_name for d in draws)
    np.testing.assert_array_equal(np.asarray(draws[0]), np.asarray(expected[0]))  # the bits
    for d, e in zip(draws[1:], expected[1:]):  # the floats, within the math library's rounding
        np.testing.assert_allclose(np.asarray(d), np.asarray(e), rtol=1e-6)


def test_transformations_make_constants_on_their_inputs_backend():
    """Rules make constants from nothing (zeros_like_aval, broadcast literals, iota): jvp,
    vjp, grad and vmap put them on their inputs' backend, not the default one."""
    backend = fused_backend()
    x = funcgrad.device_put(np.eye(2) * 2.0, backend.name)
    _, t = funcgrad.jvp(lambda a: fnp.linalg.det(a), (x,), (x,))  # solves against an eye
    g = funcgrad.grad(lambda a: fnp.linalg.det(a))(x)
    v = funcgrad.vmap(lambda a: fnp.linalg.det(a))(fnp.stack([x, x]))
    assert {t.backend, g.backend, v.backend} == {backend.name}
    np.testing.assert_allclose(np.asarray(t), 8.0)  # d det = det * tr(X^-1 dX) = 4 * 2


def test_jit_constants_live_on_the_arguments_backend():
    """Arrays a jitted function creates from nothing (fnp.arange, host data) and folded
    constants are made on the arguments' backend."""
    backend = fused_backend()
    x = funcgrad.device_put(np.ones(3), backend.name)
    f = funcgrad.jit(lambda x: x * fnp.arange(3.0) + fnp.asarray(np.ones(3)))
    assert {c.backend for c in f.lower(x).as_jaxpr().consts} == {backend.name}
    np.testing.assert_array_equal(np.asarray(f(x)), [1.0, 2.0, 3.0])


# --- what CuPy lacks: the places that must go through the backend -------------------------
# The "cupy-gaps-on-numpy" backend is the CuPy backend's code on NumPy with CuPy's API
# gaps reproduced (ufunc.reduce/accumulate only for add and multiply, lexsort of one 2-D
# key array without axis, as_strided without writeable). Each case below would fail on
# it, as it would on a GPU, if its module called the array namespace directly instead of
# the backend's method; each result is checked against NumPy.

_GAPS_BACKEND = "cupy-gaps-on-numpy"


def _put(x):
    return funcgrad.device_put(np.asarray(x), _GAPS_BACKEND)


def _cummax():  # lax/reductions.py: backend.cumulative
    x = np.array([0.0, 3.0, 1.0, 4.0])
    (out,) = ALL_PRIMITIVES["cummax"].bind(_put(x), axis=0, reverse=False)
    return out, np.maximum.accumulate(x)


def _reduce_max_under_jit():  # codegen._reducer_emit: ufunc.reduce only on NumPy
    x = np.arange(6.0).reshape(2, 3)
    return funcgrad.jit(lambda x: fnp.max(x, axis=1))(_put(x)), x.max(axis=1)


def _sort_by_two_keys():  # lax/sorting.py: backend.lexsort
    keys = (np.array([1, 0, 1]), np.array([2.0, 1.0, 0.0]))
    out = ALL_PRIMITIVES["sort"].bind(*map(_put, keys), dimension=0, num_keys=2)
    order = np.lexsort(keys[::-1])
    return out[1], keys[1][order]


def _max_over_a_wide_window():  # lax/windowed._windows: as_strided without writeable=
    params = {"window_dimensions": (70,), "window_strides": (1,), "padding": ((0, 0),),
              "base_dilation": (1,), "window_dilation": (1,)}  # fmt: skip
    x = np.arange(80.0)
    (out,) = ALL_PRIMITIVES["reduce_window_max"].bind(_put(x), **params)
    return out, np.lib.stride_tricks.sliding_window_view(x, 70).max(axis=1)


@pytest.mark.parametrize("case", [_cummax, _reduce_max_under_jit, _sort_by_two_keys,
                                  _max_over_a_wide_window], ids=lambda f: f.__name__.strip("_"))  # fmt: skip
def test_cupy_api_gaps_go_through_the_backend(case):
    backend_or_skip(_GAPS_BACKEND)
    with funcgrad.default_backend(_GAPS_BACKEND):
        out, expected = case()
    assert out.backend == _GAPS_BACKEND
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_the_cupy_backend_methods_avoid_cupys_gaps():
    backend = backend_or_skip(_GAPS_BACKEND)
    x = np.array([[3.0, np.nan, 1.0], [0.0, 2.0, 5.0]])
    np.testing.assert_array_equal(backend.cumulative("max", x, 1), np.maximum.accumulate(x, 1))
    keys = (np.array([1, 0, 1]), np.array([2.0, 1.0, 1.0]))
    np.testing.assert_array_equal(backend.lexsort(keys, 0), np.lexsort(keys))
    index = (np.array([0, 1, 0, 0]),)
    for mode, ufunc in (("multiply", np.multiply), ("min", np.minimum), ("add", np.add)):
        expected = np.array([2, 3, 4], dtype=np.int8)
        ufunc.at(expected, index, np.array([2, 5, 3, -1], dtype=np.int8))
        got = backend.scatter(
            mode, np.array([2, 3, 4], np.int8), index, np.array([2, 5, 3, -1], np.int8)
        )
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        backend.gather(np.arange(3), (np.array([0, 3]),))


def test_the_cupy_cases_skip_with_the_reason_on_this_machine():
    """Without CuPy or a GPU the CuPy parameter must skip (never pass vacuously), and the
    reason must name the missing piece."""
    if "cupy" in backends.available_backends():
        pytest.skip("a CUDA device is present: the CuPy cases run")
    with pytest.raises(pytest.skip.Exception, match="backend 'cupy' is unavailable"):
        backend_or_skip("cupy")
    assert fnp.ones(1).backend == "numpy"
