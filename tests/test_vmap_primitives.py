"""Every primitive under vmap against an explicit loop over the examples.

The operands and parameters come from the op-record table of test_primitives.py.
Each array operand is either mapped, along a hypothesis-drawn axis, or left
unmapped; the batch holds distinct examples (permutations of the drawn values, or
positive rescalings where the values have structure: sorted, positive definite).
The expected result stacks the primitive applied to each example in turn, with
each output's batch axis at a drawn ``out_axes`` position.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from oracle import arrays, assert_same, dtypes
from test_primitives import RECORDS, OpRecord, _matrices, eig_draw

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.lax import ALL_PRIMITIVES

# Values with structure that a permutation would break: examples are rescaled copies.
_STRUCTURED = {"cholesky", "det", "slogdet", "solve", "searchsorted", "eigh", "qr", "svd"}

_DECOMPOSITIONS = [
    OpRecord("eigh", lambda d: ([_matrices(d, spd=True)], {"lower": True}), None),
    OpRecord("qr", lambda d: ([_matrices(d, square=False)], {"full_matrices": d.draw(st.booleans())}), None),
    OpRecord("svd", lambda d: ([_matrices(d, square=False)],
                               {"full_matrices": d.draw(st.booleans()), "compute_uv": d.draw(st.booleans())}), None),
    OpRecord("eig", eig_draw, None),
]  # fmt: skip

# iota has no operands, so it is never batched: it needs no rule.
_NO_OPERANDS = {"iota"}
VMAP_RECORDS = [r for r in RECORDS if r.name not in _NO_OPERANDS] + _DECOMPOSITIONS


def _example(x: np.ndarray, k: int, structured: bool, rng: np.random.Generator) -> np.ndarray:
    """The k-th example made from drawn operand ``x`` (example 0 is ``x`` itself)."""
    if k == 0 or x.size == 0:
        return x
    if structured:
        return (x * (1 + k / 2)).astype(x.dtype) if x.dtype.kind in "fc" else x
    return rng.permutation(x.reshape(-1)).reshape(x.shape)


def check_vmap(prim, operands, params, data, *, rtol=None):
    """Compare ``vmap(prim)`` on a drawn batch with the loop over its examples."""
    size = data.draw(st.integers(1, 3), label="batch size")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    structured = prim.name in _STRUCTURED
    in_axes, batched = [], []
    for i, x in enumerate(operands):
        if not isinstance(x, np.ndarray):
            in_axes.append(None)  # Python scalars (weak literals) stay unmapped
            batched.append([x] * size)
            continue
        axis = data.draw(st.none() | st.integers(-x.ndim - 1, x.ndim), label=f"in_axes[{i}]")
        in_axes.append(axis)
        batched.append([x] * size if axis is None else [_example(x, k, structured, rng) for k in range(size)])
    assume(any(a is not None for a in in_axes))
    args = []
    for x, axis, examples in zip(operands, in_axes, batched):
        if axis is None:
            args.append(fnp.asarray(x) if isinstance(x, np.ndarray) else x)
        else:
            args.append(fnp.asarray(np.stack(examples, axis=axis)))

    with np.errstate(all="ignore"):
        per_example = [prim.bind(*[fnp.asarray(e[k]) if isinstance(e[k], np.ndarray) else e[k]
                                   for e in batched], **params)
                       for k in range(size)]  # fmt: skip
    out_axes = [data.draw(st.integers(-per_example[0][j].ndim - 1, per_example[0][j].ndim), label=f"out_axes[{j}]")
                for j in range(len(per_example[0]))]  # fmt: skip
    with np.errstate(all="ignore"):
        actual = funcgrad.vmap(lambda *xs: prim.bind(*xs, **params), in_axes=tuple(in_axes),
                               out_axes=out_axes)(*args)  # fmt: skip
    assert len(actual) == len(out_axes)
    for j, (a, axis) in enumerate(zip(actual, out_axes)):
        expected = np.stack([np.asarray(outs[j]) for outs in per_example], axis=axis)
        assert_same(a, expected, rtol=rtol, what=f"vmap of {prim.name} output {j} (in_axes {in_axes})")


@pytest.mark.parametrize("record", VMAP_RECORDS, ids=lambda r: r.name)
@given(data=st.data())
@settings(max_examples=30)
def test_primitive_under_vmap(record, data):
    operands, params = record.draw(data)
    params = {k: v for k, v in params.items() if k != "_spec"}
    check_vmap(ALL_PRIMITIVES[record.name], operands, params, data, rtol=record.rtol)


def test_every_primitive_has_a_batching_rule():
    missing = sorted(name for name, prim in ALL_PRIMITIVES.items()
                     if prim.batch is None and name not in _NO_OPERANDS)  # fmt: skip
    assert not missing, f"primitives without a batching rule: {missing}"
    recorded = {r.name for r in VMAP_RECORDS} | _NO_OPERANDS
    assert not set(ALL_PRIMITIVES) - recorded, f"untested under vmap: {sorted(set(ALL_PRIMITIVES) - recorded)}"


@given(data=st.data())
def test_nested_vmap_of_elementwise_ops(data):
    dtype = data.draw(dtypes("f"))
    x = data.draw(arrays(dtype, (2, 3, 4), min_value=-3, max_value=3))
    y = data.draw(arrays(dtype, (4, 3), min_value=-3, max_value=3))
    f = funcgrad.vmap(funcgrad.vmap(lambda a, b: fnp.sin(a) * b + 1.0, in_axes=(0, 1)), in_axes=(0, None))
    expected = np.sin(x) * y.T[None] + 1
    assert_same(f(fnp.asarray(x), fnp.asarray(y)), expected.astype(dtype))
