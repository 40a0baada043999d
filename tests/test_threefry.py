"""The threefry2x32 primitive: Random123's known answers, and each of its kernels (Python
integers for a few blocks, NumPy in place for more, the rounds expanded for fusing
backends, batched keys under vmap) against a reference written here from the
specification (Salmon et al. 2011: 20 rounds, rotations R_32x2, key injection every
four rounds with parity 0x1BD11BDA)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import random
from funcgrad._src import threefry
from funcgrad._src.ir import ClosedJaxpr, eval_closed

M = 0xFFFFFFFF


def reference(k0: int, k1: int, x0: int, x1: int) -> tuple[int, int]:
    rot = [13, 15, 26, 6, 17, 29, 16, 24]
    ks = [k0, k1, 0x1BD11BDA ^ k0 ^ k1]
    x = [(x0 + ks[0]) & M, (x1 + ks[1]) & M]
    for i in range(20):
        x[0] = (x[0] + x[1]) & M
        r = rot[i % 8]
        x[1] = ((x[1] << r) | (x[1] >> (32 - r))) & M
        x[1] ^= x[0]
        if i % 4 == 3:
            s = i // 4 + 1
            x[0] = (x[0] + ks[s % 3]) & M
            x[1] = (x[1] + ks[(s + 1) % 3] + s) & M
    return x[0], x[1]


# Random123's kat_vectors for threefry2x32_20: (counter words, key words) -> output words
KNOWN = [
    ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
    ((M, M), (M, M), (0x1CB996FC, 0xBB002BE7)),
    ((0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.mark.parametrize("counter, key, expected", KNOWN)
def test_known_answers(counter, key, expected):
    assert reference(*key, *counter) == expected
    u = np.uint32
    got = random.threefry_2x32(
        np.array(key, u), np.asarray(u(counter[0])), np.asarray(u(counter[1]))
    )
    assert (int(got[0]), int(got[1])) == expected


words = st.integers(0, M)


@settings(deadline=None, max_examples=10)
@given(k0=words, k1=words, counters=st.lists(st.tuples(words, words), min_size=1, max_size=40),
       zero_d_second=st.booleans())  # fmt: skip
def test_kernels_equal_the_reference(k0, k1, counters, zero_d_second):
    x0 = np.array([c[0] for c in counters], np.uint32)
    x1 = np.array([c[1] for c in counters], np.uint32)
    if zero_d_second:  # a 0-d counter word, as the bits and split domains pass it
        x1 = np.uint32(counters[0][1])
    expected = [reference(k0, k1, int(a), int(np.broadcast_to(x1, x0.shape)[i]))
                for i, a in enumerate(x0)]  # fmt: skip
    want = tuple(np.array([e[i] for e in expected], np.uint32) for i in (0, 1))
    key = np.array([k0, k1], np.uint32)

    def run(k, a, b):
        k, a, b = fnp.asarray(k), fnp.asarray(a), fnp.asarray(b)
        return threefry.threefry2x32(k[0], k[1], a, b)

    # eager (Python integers up to SMALL blocks, NumPy in place above), jit, and the
    # rounds expanded as a fusing backend runs them
    closed = funcgrad.make_jaxpr(run)(key, x0, x1)
    expanded = threefry.expand(ClosedJaxpr(closed.jaxpr, closed.consts))
    assert not any(e.primitive is threefry.threefry2x32_p for e in expanded.jaxpr.eqns)
    for got in (run(key, x0, x1), funcgrad.jit(run)(key, x0, x1),
                eval_closed(expanded, [fnp.asarray(v) for v in (key, x0, x1)])):  # fmt: skip
        for g, w in zip(got, want):
            assert np.asarray(g).dtype == np.uint32
            np.testing.assert_array_equal(np.asarray(g), w)


def test_in_place_and_python_kernels_agree_at_the_size_boundary():
    rng = np.random.default_rng(0)
    for n in (1, threefry.SMALL, threefry.SMALL + 1, 1000):
        x0, x1 = rng.integers(0, M, n, dtype=np.uint32), rng.integers(0, M, n, dtype=np.uint32)
        key = np.array([123, 456], np.uint32)
        got = random.threefry_2x32(key, x0, x1)
        want = [reference(123, 456, int(a), int(b)) for a, b in zip(x0, x1)]
        for i in (0, 1):
            np.testing.assert_array_equal(np.asarray(got[i]), [w[i] for w in want])


def test_batched_keys_under_vmap_equal_a_loop():
    keys = random.split(random.key(7), 5)

    def draw(k):
        return random.bits(k, (3, 4)), random.fold_in(k, 9), random.split(k, 2)

    batched = funcgrad.vmap(draw)(keys)
    for i in range(5):
        for b, single in zip(batched, draw(keys[i])):
            np.testing.assert_array_equal(np.asarray(b[i]), np.asarray(single))
    jitted = funcgrad.jit(funcgrad.vmap(draw))(keys)
    for a, b in zip(jitted, batched):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_shapes_and_dtypes_are_checked_when_staged():
    # (an internal primitive: funcgrad.random checks what users pass before it is bound)
    u = np.uint32
    staged = funcgrad.make_jaxpr(threefry.threefry2x32)
    with pytest.raises(TypeError, match="threefry2x32: operands must be uint32"):
        staged(np.int32(1), u(2), np.zeros(3, u), np.zeros(3, u))
    with pytest.raises(ValueError, match="one shape"):
        staged(u(1), u(2), np.zeros(3, u), np.zeros(4, u))


def test_no_derivative_and_inputs_untouched():
    key = random.key(3)
    x = fnp.arange(6, dtype=np.float32)

    def f(x):
        return fnp.sum(x * random.uniform(key, (6,), dtype=np.float32))

    g = funcgrad.grad(f)(x)
    np.testing.assert_allclose(
        np.asarray(g), np.asarray(random.uniform(key, (6,), dtype=np.float32))
    )
    counters = np.arange(10, dtype=np.uint32)
    copy = counters.copy()
    funcgrad.jit(lambda c: threefry.threefry2x32(*map(fnp.asarray, (u32(1), u32(2), c, u32(0)))))(
        counters
    )
    np.testing.assert_array_equal(counters, copy)


def u32(v: int) -> np.uint32:
    return np.uint32(v)
