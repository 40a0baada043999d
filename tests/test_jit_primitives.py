"""Every primitive under jit against eager evaluation, driven by the primitive table.

The records of ``test_primitives`` (operands drawn with hypothesis, static
parameters) are reused: each draw runs once eagerly and once through a jitted
function (traced, optimised, generated code), and the results must be equal,
bit for bit, since the generated code calls the same kernels. Operands are never
mutated by the compiled code. A second test runs the primitive on the output of an
elementwise operation, so that buffer reuse (``out=``) is exercised too.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_primitives import RECORDS, _fg

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.ir import typecheck
from funcgrad._src.lax import ALL_PRIMITIVES


def _draw(record, data):
    operands, params = record.draw(data)
    params = dict(params)
    params.pop("_spec", None)
    return operands, params


def _assert_equal(actual, expected, what):
    assert len(actual) == len(expected), what
    for a, e in zip(actual, expected):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype, f"{what}: {a.shape} {a.dtype} vs {e.shape} {e.dtype}"
        np.testing.assert_array_equal(a, e, err_msg=what)


def _eager_or_reject(prim, args, params):
    try:
        with np.errstate(all="ignore"):
            return prim.bind(*args, **params)
    except (ValueError, IndexError, TypeError, FloatingPointError, np.linalg.LinAlgError):
        assume(False)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
@settings(max_examples=10)
@given(data=st.data())
def test_primitive_under_jit_equals_eager(record, data):
    operands, params = _draw(record, data)
    prim = ALL_PRIMITIVES[record.name]
    args = [_fg(x) for x in operands]
    expected = _eager_or_reject(prim, args, params)
    arrays = [a for a in args if isinstance(a, funcgrad.Array)]
    positions = [i for i, a in enumerate(args) if isinstance(a, funcgrad.Array)]

    def f(*xs):
        full = list(args)
        for i, x in zip(positions, xs):
            full[i] = x
        return prim.bind(*full, **params)

    jitted = funcgrad.jit(f)
    with np.errstate(all="ignore"):
        actual = jitted(*arrays)
    _assert_equal(actual, expected, f"jit of {record.name}")
    typecheck(jitted.lower(*arrays).as_jaxpr())
    for x, arg in zip(operands, args):  # inputs are never written into
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(np.asarray(arg), x)


@pytest.mark.parametrize("record", [r for r in RECORDS if r.name not in ("iota",)], ids=lambda r: r.name)
@settings(max_examples=5)
@given(data=st.data())
def test_primitive_on_intermediate_values(record, data):
    """Operands computed inside the program (``x * 1`` is kept: ``mul`` by an array of
    ones), so the primitive meets buffers the program owns and may overwrite."""
    operands, params = _draw(record, data)
    prim = ALL_PRIMITIVES[record.name]
    args = [_fg(x) for x in operands]
    expected = _eager_or_reject(prim, args, params)
    positions = [i for i, a in enumerate(args) if isinstance(a, funcgrad.Array) and a.dtype.kind != "b"]

    def f(ones, *xs):
        full = list(args)
        for i, x, one in zip(positions, xs, ones):
            full[i] = x * one if x.dtype.kind in "iufc" else x
        return prim.bind(*full, **params)

    ones = [fnp.ones(args[i].shape, args[i].dtype) for i in positions]
    with np.errstate(all="ignore"):
        actual = funcgrad.jit(f)(ones, *[args[i] for i in positions])
    _assert_equal(actual, expected, f"jit of {record.name} on intermediates")
