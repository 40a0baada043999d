"""jit's last-call shortcut (array-only arguments, same signature as the previous call)
gives the same results as the general path in every case it must step aside for."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp


def _counting(fun):
    traces = []

    def wrapped(*args):
        traces.append(tuple(getattr(a, "shape", None) for a in args))
        return fun(*args)

    return wrapped, traces


def test_alternating_shapes_and_dtypes_give_fresh_correct_results():
    body, traces = _counting(lambda x, y: x * 2 + y)
    f = funcgrad.jit(body)
    cases = [
        (np.ones(3), np.arange(3.0)),
        (np.ones((2, 2), np.float32), np.ones((2, 2), np.float32)),
        (np.ones(3), np.arange(3.0)),
        (np.arange(3), np.arange(3)),
        (np.ones(3), np.arange(3.0)),
    ]
    for x, y in cases:
        out = f(x, y)
        np.testing.assert_array_equal(out, x * 2 + y)
        assert out.dtype == (x * 2 + y).dtype and out.shape == x.shape
    assert len(traces) == 3  # one trace per signature, however they alternate


def test_disable_jit_is_honoured_after_a_fast_call():
    body, traces = _counting(lambda x: fnp.sin(x))
    f = funcgrad.jit(body)
    x = np.ones(4)
    f(x)
    f(x)
    with funcgrad.disable_jit():
        f(x)
        assert isinstance(funcgrad.numpy.asarray(f(x)), funcgrad.Array)
    assert len(traces) == 3  # the two calls under disable_jit ran the Python function


def test_donation_and_containers_and_keywords_take_the_general_path():
    f = funcgrad.jit(lambda p, g: p - 0.1 * g, donate_argnums=0)
    p = fnp.ones(5)
    for _ in range(3):
        p = f(p, fnp.ones(5))
    np.testing.assert_allclose(p, 0.7)
    g = funcgrad.jit(lambda d, s: {"a": d["a"] * s, "b": d["b"]})
    out = g({"a": fnp.ones(2), "b": fnp.zeros(2)}, fnp.asarray(3.0))
    out = g({"a": fnp.ones(2), "b": fnp.zeros(2)}, fnp.asarray(3.0))
    assert out["a"].tolist() == [3.0, 3.0] and out["b"].tolist() == [0.0, 0.0]
    h = funcgrad.jit(lambda x, *, scale: x * scale, static_argnames="scale")
    assert h(fnp.ones(2), scale=2.0).tolist() == [2.0, 2.0]
    assert h(fnp.ones(2), scale=3.0).tolist() == [3.0, 3.0]


def test_eviction_forgets_the_remembered_signature():
    old = funcgrad.config.jit_cache_size
    funcgrad.config.jit_cache_size = 1
    try:
        body, traces = _counting(lambda x: x + 1)
        f = funcgrad.jit(body)
        a, b = np.zeros(2), np.zeros(3)
        for x in (a, a, b, a, b):
            np.testing.assert_array_equal(f(x), x + 1)
        assert len(traces) == 4  # every switch re-traces with a cache of one program
    finally:
        funcgrad.config.jit_cache_size = old


def test_cache_miss_explanations_still_fire():
    f = funcgrad.jit(lambda x: x * 2)
    f(np.ones(2))
    f(np.ones(2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = funcgrad.config.explain_cache_misses
        funcgrad.config.explain_cache_misses = True
        try:
            f(np.ones(5))
        finally:
            funcgrad.config.explain_cache_misses = old
    assert any("(2,) -> (5,)" in str(w.message) for w in caught)


@pytest.mark.parametrize("output", ["array", "tuple", "dict"])
def test_outputs_keep_their_structure(output):
    fns = {
        "array": lambda x: x + 1,
        "tuple": lambda x: (x + 1, x * 2),
        "dict": lambda x: {"y": x + 1},
    }
    f = funcgrad.jit(fns[output])
    first, second = f(np.ones(2)), f(np.ones(2))
    assert type(first) is type(second)
    assert funcgrad.tree_util.tree_structure(first) == funcgrad.tree_util.tree_structure(second)
