"""No transformation ever writes into its inputs, and jit's results never alias them.

jit's code generator writes results into buffers it owns (``out=``) and keeps large
intermediates in a pool between calls. Both are safe only if it knows which kernels
return fresh memory: ``real``/``imag`` return (views of) their operand, a reshape or a
transpose is a view, a donated argument may be shared by another argument. The oracle
here is the input itself: a host copy taken before the call must still equal it after
eager evaluation, ``jit`` (twice, with every intermediate pooled), ``grad``, ``vmap``
and their compositions, over random programs of views, casts, complex parts,
reductions and broadcasting elementwise operations on inputs of every dtype class,
some of which are views of others. jit's results must not share memory with any
input that was not donated, and a second call must not change the first one's results.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_primitives import RECORDS, _fg

import funcgrad
import funcgrad.numpy as fnp
from backends.numpy_backend import NumPyBackend
from funcgrad._src.interpreters import codegen
from funcgrad._src.lax import ALL_PRIMITIVES, elementwise

DTYPES = [np.float32, np.float64, np.int32, np.bool_, np.complex64, np.complex128]
SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1)]


@pytest.fixture(autouse=True)
def pool_everything(monkeypatch):
    """Every intermediate of at least one element goes through the buffer pool, so that
    the tiny programs here exercise it."""
    monkeypatch.setattr(codegen, "_POOL_MIN_BYTES", 1)


# --- random programs ------------------------------------------------------------------


def _neg(x):
    return fnp.logical_not(x) if x.dtype == np.bool_ else -x


def _binary(op):
    def apply(a, b):
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            b = fnp.sum(b)  # 0-d: broadcasts against anything
        if a.dtype == np.bool_ and b.dtype == np.bool_:
            return fnp.logical_xor(a, b)  # NumPy refuses - on bools
        if op is fnp.maximum and (a.dtype.kind == "c" or b.dtype.kind == "c"):
            return fnp.add(a, b)
        return op(a, b)

    return apply


def _broadcast(x):
    try:
        shape = np.broadcast_shapes(x.shape, (2, 3))
    except ValueError:
        return x
    return fnp.broadcast_to(x, shape)


UNARY = {
    "real": fnp.real,
    "imag": fnp.imag,
    "conj": fnp.conj,
    "angle": fnp.angle,
    "abs": fnp.abs,
    "neg": _neg,
    "sin": fnp.sin,
    "sqrt_abs": lambda x: fnp.sqrt(fnp.abs(x)),
    "to_float64": lambda x: fnp.real(x).astype(np.float64),
    "to_complex128": lambda x: x.astype(np.complex128),
    "to_same": lambda x: x.astype(x.dtype),
    "reshape": lambda x: fnp.reshape(x, (-1,)),
    "transpose": lambda x: x.T,
    "expand": lambda x: fnp.expand_dims(x, 0),
    "squeeze": fnp.squeeze,
    "flip": lambda x: x[::-1] if x.ndim else x,
    "first": lambda x: x[..., :1] if x.ndim else x,
    "broadcast": _broadcast,
    "sum": lambda x: fnp.sum(x, axis=-1) if x.ndim else fnp.sum(x),
    "cumsum": fnp.cumsum,
    "stop_gradient": funcgrad.lax.stop_gradient,
    "where": lambda x: fnp.where(fnp.real(x) > 0, x, fnp.zeros_like(x)),
    "times_two": lambda x: x * 2,
    "plus_half": lambda x: x + 0.5,
}
BINARY = {
    "add": _binary(fnp.add),
    "sub": _binary(fnp.subtract),
    "mul": _binary(fnp.multiply),
    "max": _binary(fnp.maximum),
}


@st.composite
def programs(draw):
    """(host inputs, how each funcgrad input is made, steps, outputs)."""
    n_base = draw(st.integers(1, 3))
    hosts = []
    for _ in range(n_base):
        shape = draw(st.sampled_from(SHAPES))
        dtype = np.dtype(draw(st.sampled_from(DTYPES)))
        size = int(np.prod(shape))
        re = np.array(draw(st.lists(st.integers(-3, 3), min_size=size, max_size=size)))
        im = np.array(draw(st.lists(st.integers(-3, 3), min_size=size, max_size=size)))
        if dtype.kind == "b":
            host = re > 0
        elif dtype.kind == "c":
            host = re + 1j * im
        else:
            host = re
        hosts.append(host.reshape(shape).astype(dtype))
    # further inputs that are views of (or the very) earlier ones
    derived = draw(st.lists(st.tuples(st.integers(0, n_base - 1),
                                      st.sampled_from(sorted(VIEWS))),
                            max_size=2))  # fmt: skip
    n_inputs = n_base + len(derived)
    steps = []
    for k in range(draw(st.integers(1, 8))):
        available = n_inputs + k

        # operands counted back from the latest value: shrinking makes chains, not
        # dead code
        back = st.integers(0, available - 1)
        if draw(st.integers(0, 2)):
            operands = (available - 1 - draw(back),)
            steps.append((draw(st.sampled_from(sorted(UNARY))), operands))
        else:
            operands = (available - 1 - draw(back), available - 1 - draw(back))
            steps.append((draw(st.sampled_from(sorted(BINARY))), operands))
    total = n_inputs + len(steps)
    extra = draw(st.lists(st.integers(0, total - 1), max_size=2))
    return hosts, derived, steps, [total - 1, *extra]


VIEWS = {
    "same": lambda x: x,
    "T": lambda x: x.T,
    "real": fnp.real,
    "reshape": lambda x: fnp.reshape(x, (-1,)),
    "flip": lambda x: x[::-1] if x.ndim else x,
}


def make_inputs(hosts, derived):
    arrays = [fnp.asarray(h) for h in hosts]
    for j, how in derived:
        arrays.append(VIEWS[how](arrays[j]))
    return arrays


def make_program(steps, outputs):
    def program(*xs):
        values = list(xs)
        for name, operands in steps:
            fn = UNARY.get(name) or BINARY[name]
            values.append(fn(*(values[i] for i in operands)))
        return tuple(values[i] for i in outputs)

    return program


def snapshot(arrays):
    return [np.array(np.asarray(a), copy=True) for a in arrays]


def assert_unchanged(arrays, before, what):
    for i, (a, b) in enumerate(zip(arrays, before)):
        np.testing.assert_array_equal(np.asarray(a), b, err_msg=f"{what} changed input {i}")


def assert_no_alias(outs, arrays, what, donated=()):
    for k, o in enumerate(outs):
        for i, a in enumerate(arrays):
            if i not in donated:
                assert not np.shares_memory(np.asarray(o), np.asarray(a)), (
                    f"{what}: output {k} shares memory with input {i}"
                )


def assert_close(actual, expected, what):
    for a, e in zip(actual, expected):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype, what
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=what)


@settings(max_examples=40)
@given(programs())
def test_random_programs_never_change_their_inputs(prog):
    hosts, derived, steps, outputs = prog
    program = make_program(steps, outputs)
    arrays = make_inputs(hosts, derived)
    before = snapshot(arrays)
    with np.errstate(all="ignore"):
        expected = [np.array(np.asarray(o), copy=True) for o in program(*arrays)]
        assert_unchanged(arrays, before, "eager evaluation")

        jitted = funcgrad.jit(program)
        first = jitted(*arrays)
        assert_unchanged(arrays, before, "jit")
        assert_close(first, expected, "jit against eager")
        assert_no_alias(first, arrays, "jit")
        kept = snapshot(first)
        second = jitted(*arrays)  # the pool is reused: earlier results stay intact
        assert_unchanged(arrays, before, "a second jit call")
        assert_close(second, expected, "second jit call against eager")
        assert_unchanged(first, kept, "a second jit call (results of the first)")

        # grad with respect to the floating inputs, the others closed over
        wrt = tuple(i for i, a in enumerate(arrays) if a.dtype.kind == "f")
        if wrt:

            def loss(*xs):
                total = 0.0
                for o in program(*xs):
                    if o.dtype.kind in "fc":
                        total = total + fnp.sum(fnp.real(o)) + fnp.sum(fnp.imag(o))
                return fnp.asarray(total, dtype=np.float64)

            grads = funcgrad.grad(loss, argnums=wrt)(*arrays)
            assert_unchanged(arrays, before, "grad")
            grads_jit = funcgrad.jit(funcgrad.grad(loss, argnums=wrt))(*arrays)
            assert_unchanged(arrays, before, "jit(grad)")
            assert_close(grads_jit, grads, "jit(grad) against grad")

        batched = [fnp.stack([a, a]) for a in arrays]
        batched_before = snapshot(batched)
        out_vmap = funcgrad.vmap(program)(*batched)
        assert_unchanged(batched, batched_before, "vmap")
        out_jit_vmap = funcgrad.jit(funcgrad.vmap(program))(*batched)
        assert_unchanged(batched, batched_before, "jit(vmap)")
        assert_no_alias(out_jit_vmap, batched, "jit(vmap)")
        assert_close(out_jit_vmap, out_vmap, "jit(vmap) against vmap")
        for k, (o, e) in enumerate(zip(out_vmap, expected)):  # vmap against the loop
            np.testing.assert_allclose(np.asarray(o)[1], e, rtol=1e-5, atol=1e-6,
                                       equal_nan=True, err_msg=f"vmap output {k}")  # fmt: skip


@settings(max_examples=25)
@given(programs())
def test_donation_writes_only_into_the_donated_buffer(prog):
    """Donating input 0 may overwrite its buffer, never another input's, even where
    another input is a view of it or the same array."""
    hosts, derived, steps, outputs = prog
    program = make_program(steps, outputs)
    arrays = make_inputs(hosts, derived)
    with np.errstate(all="ignore"):
        expected = [np.array(np.asarray(o), copy=True) for o in program(*arrays)]
        others = [a for a in arrays[1:] if a is not arrays[0]]  # (the same array: donated too)
        before = snapshot(others)
        outs = funcgrad.jit(program, donate_argnums=0)(*arrays)
    assert_unchanged(others, before, "jit with donate_argnums=0")
    assert_close(outs, expected, "jit with donation against eager")
    with pytest.raises(RuntimeError, match="donated"):
        np.asarray(arrays[0])


# --- every primitive, followed by an operation that may write into its result ----------


def _overwrite(o):
    """An elementwise operation jit may run in place on ``o``'s buffer (out=)."""
    if o.dtype == np.bool_:
        return fnp.logical_not(o)
    return o + o


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
@settings(max_examples=3)
@given(data=st.data())
def test_no_primitive_result_is_written_over_an_input(record, data):
    """Each primitive's result, then an operation that writes into that result when jit
    thinks it owns it: a primitive returning (a view of) its operand must not be
    mistaken for a fresh buffer."""
    operands, params = record.draw(data)
    params = dict(params)
    params.pop("_spec", None)
    prim = ALL_PRIMITIVES[record.name]
    args = [_fg(x) for x in operands]
    positions = [i for i, a in enumerate(args) if isinstance(a, funcgrad.Array)]
    arrays = [args[i] for i in positions]
    before = snapshot(arrays)

    def f(*xs):
        full = list(args)
        for i, x in zip(positions, xs):
            full[i] = x
        return [_overwrite(o) for o in prim.bind(*full, **params)]

    try:
        with np.errstate(all="ignore"):
            expected = [np.array(np.asarray(o), copy=True) for o in f(*arrays)]
    except (ValueError, IndexError, TypeError, FloatingPointError, np.linalg.LinAlgError):
        return  # operands this primitive refuses (checked by its own tests)
    with np.errstate(all="ignore"):
        outs = funcgrad.jit(f)(*arrays)
    assert_unchanged(arrays, before, f"jit of {record.name} then an in-place operation")
    assert_close(outs, expected, f"jit of {record.name}")
    assert_no_alias(outs, arrays, f"jit of {record.name}")


# --- the kernel facts buffer reuse relies on ------------------------------------------

BACKEND = NumPyBackend()


@pytest.mark.parametrize("name", sorted({*elementwise.UNARY_UFUNCS.values()}))
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_is_ufunc_means_a_fresh_writable_result(name, dtype):
    """Backend.is_ufunc decides buffer reuse: where it says yes, the kernel's result is
    new writable memory; ``real``/``imag`` (views) must say no."""
    kernel = getattr(np, name)
    x = np.arange(1.0, 5.0).astype(dtype)
    try:
        with np.errstate(all="ignore"):
            r = kernel(x)
    except TypeError:  # no loop for this dtype
        return
    fresh = isinstance(r, np.ndarray) and r.flags.writeable and not np.shares_memory(r, x)
    if BACKEND.is_ufunc(kernel):
        assert fresh, f"{name} is a ufunc but returned an operand's memory"
    if name in ("real", "imag"):
        assert not BACKEND.is_ufunc(kernel)


def test_select_and_reduce_return_fresh_writable_buffers():
    """The contracts of Backend.select and Backend.reduce that jit relies on, on both the
    bitwise and the np.where path of select and both reduction strategies."""
    for n in (8, 1 << 13):
        a, b = np.arange(n, dtype=np.float64), np.ones(n)
        pred = a % 3 == 0
        r = BACKEND.select(pred, a, b)
        assert r.flags.writeable and not np.shares_memory(r, a) and not np.shares_memory(r, b)
        np.testing.assert_array_equal(r, np.where(pred, a, b))
    x = np.ones((64, 8, 4))
    for axes in ((0,), (0, 1), (2,)):
        for op in ("sum", "max"):
            r = BACKEND.reduce(op, x, axes)
            assert r.flags.writeable and not np.shares_memory(r, x)


REPORTED = {
    "real": (lambda v: fnp.real(v) + 1, lambda v: np.real(v) + 1),
    "imag": (lambda v: fnp.imag(v) * 10, lambda v: np.imag(v) * 10),
    "angle": (fnp.angle, np.angle),
    "conj": (lambda v: fnp.conj(v) - 1, lambda v: np.conj(v) - 1),
    "reshape": (lambda v: fnp.reshape(v, (2, 2)) * 3, lambda v: np.reshape(v, (2, 2)) * 3),
    "real_of_view": (
        lambda v: fnp.real(v[::-1]) + fnp.imag(v),
        lambda v: np.real(v[::-1]) + np.imag(v),
    ),
    "identity": (lambda v: v, lambda v: v),
}


@pytest.mark.parametrize("name", sorted(REPORTED))
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_reported_examples(name, dtype):
    """The issue's examples against NumPy: the input unchanged, the result its own."""
    fun, oracle = REPORTED[name]
    host = np.arange(4.0) - 1.5
    if dtype == np.complex128:
        host = host + 1j * np.arange(4.0)
    host = host.astype(dtype)
    x = fnp.asarray(host)
    out = funcgrad.jit(fun)(x)
    np.testing.assert_array_equal(np.asarray(x), host)
    np.testing.assert_allclose(np.asarray(out), oracle(host.copy()))
    assert not np.shares_memory(np.asarray(out), np.asarray(x))
