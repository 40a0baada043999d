"""jit's signature cache: bounded by count and by pooled bytes (least recently used
evicted, with explanations), one trace per new signature under concurrent first calls,
and ``funcgrad.config`` (its options, their checks, unknown names refused)."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import numpy as np
import pytest
from oracle import counting

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.config import Config
from funcgrad._src.jit import CacheMissWarning

pytestmark = pytest.mark.filterwarnings("ignore::funcgrad._src.jit.CacheMissWarning")

N = 1 << 15  # float32: 128 KiB, the smallest intermediate the buffer pool keeps


def pooled_chain(x):
    """Two pooled intermediates of x's size (sin, cos), a 0-d result."""
    return fnp.sum(fnp.sin(x) * 2.0 + fnp.cos(x))


def test_least_recently_used_signature_is_evicted(monkeypatch):
    monkeypatch.setattr(funcgrad.config, "jit_cache_size", 2)
    g = counting(lambda x: x * 2)
    j = funcgrad.jit(g)
    a, b, c = fnp.ones(1), fnp.ones(2), fnp.ones(3)
    j(a)
    j(b)
    j(a)  # a is now the most recently used
    assert g.count == 2
    j(c)  # evicts b
    assert j._cache_size() == 2
    j(a)
    assert g.count == 3
    j(b)  # traced again
    assert g.count == 4
    assert j(b).tolist() == [2.0, 2.0]


def test_evicted_signature_is_explained_when_traced_again(monkeypatch):
    monkeypatch.setattr(funcgrad.config, "jit_cache_size", 1)
    monkeypatch.setattr(funcgrad.config, "explain_cache_misses", True)

    def step(x):
        return x + 1

    j = funcgrad.jit(step)
    j(fnp.ones(1))
    j(fnp.ones(2))
    with pytest.warns(
        CacheMissWarning,
        match=r"step recompiled \(3 traces\): argument 'x' shape \(2,\) -> \(1,\) \(this signature "
        r"was compiled before and evicted: least recently used beyond "
        r"config.jit_cache_size=1\)",
    ):
        j(fnp.ones(1))


def test_pooled_bytes_bound_the_cache(monkeypatch):
    """Programs whose pools exceed config.jit_cache_bytes are evicted, oldest first; the
    one just called stays even if it alone is over the budget."""
    monkeypatch.setattr(funcgrad.config, "jit_cache_bytes", 3 * N * 4)
    monkeypatch.setattr(funcgrad.config, "explain_cache_misses", True)
    j = funcgrad.jit(pooled_chain)
    small = fnp.ones(8, dtype=np.float32)  # no pool: never evicted for its bytes
    j(small)
    x = [fnp.ones(N + k, dtype=np.float32) for k in range(3)]
    j(x[0])
    assert j._pool_bytes() == 2 * (N * 4)  # the sin and cos buffers
    j(x[1])  # 4 pooled buffers > 3: x[0]'s program goes
    assert j._cache_size() == 2 and j._pool_bytes() == 2 * (N + 1) * 4
    monkeypatch.setattr(funcgrad.config, "jit_cache_bytes", 0)
    j(x[2])  # over the budget alone: kept, everything else pooled goes
    assert j._cache_size() == 2 and j._pool_bytes() == 2 * (N + 2) * 4
    with pytest.warns(CacheMissWarning, match=r"evicted: its 256 KiB of pooled buffers put the "
                                              r"function's programs over config.jit_cache_bytes"):  # fmt: skip
        j(x[1])
    np.testing.assert_allclose(  # results are still right after evictions
        float(j(x[0])), (N) * (2 * np.sin(np.float32(1)) + np.cos(np.float32(1))), rtol=1e-5
    )


def test_a_function_called_with_300_shapes_keeps_bounded_memory(monkeypatch):
    """Every pooled buffer made for 300 shapes is watched (weak references): the ones
    still alive at the end (what the cache holds) stay within config.jit_cache_bytes.
    Unbounded, all 300 programs and their pools (~77 MiB here) stayed alive."""
    budget = 2 << 20
    monkeypatch.setattr(funcgrad.config, "jit_cache_bytes", budget)
    monkeypatch.setattr(funcgrad.config, "jit_cache_size", 32)
    j = funcgrad.jit(pooled_chain)
    watched = []
    for k in range(300):
        x = fnp.ones(N + k, dtype=np.float32)
        np.testing.assert_allclose(
            float(j(x)), (N + k) * (2 * np.sin(np.float32(1)) + np.cos(np.float32(1))), rtol=1e-4
        )
        newest = next(reversed(j._cache.values()))
        watched += [weakref.ref(b) for b in newest.compiled().pool]
        del newest
    assert len(watched) == 2 * 300  # every program pooled its two intermediates
    gc.collect()  # an evicted program's code and pool form reference cycles
    alive = [r() for r in watched if r() is not None]
    assert sum(b.nbytes for b in alive) <= budget
    assert j._cache_size() <= 32 and j._pool_bytes() <= budget


def test_concurrent_first_calls_trace_once():
    """Eight threads call with one new shape at once: one traces, the others wait for
    its program (the slow trace makes them overlap)."""

    def slow(x):
        time.sleep(0.05)
        return x * 3

    g = counting(slow)
    j = funcgrad.jit(g)
    n = 8
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def worker(i):
        try:
            barrier.wait()
            results[i] = j(fnp.full(4, float(i))).tolist()
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert g.count == 1
    assert results == [[3.0 * i] * 4 for i in range(n)]


def test_concurrent_calls_with_different_shapes_trace_each_once():
    g = counting(lambda x: x + 1)
    j = funcgrad.jit(g)
    barrier = threading.Barrier(6)

    def worker(i):
        barrier.wait()
        for _ in range(3):
            j(fnp.ones(1 + i % 3))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert g.count == 3


def test_a_failing_trace_does_not_block_waiting_threads():
    """If the tracing thread fails, each waiting thread traces itself (and sees the same
    error) instead of hanging."""

    def bad(x):
        time.sleep(0.02)
        raise ValueError("bad function")

    j = funcgrad.jit(bad)
    barrier = threading.Barrier(4)
    errors = []

    def worker():
        barrier.wait()
        try:
            j(fnp.ones(2))
        except ValueError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert errors == ["bad function"] * 4


def test_recursive_trace_of_the_same_signature_does_not_deadlock():
    """A function that calls its own jitted self while being traced (same signature)
    traces again in that thread instead of waiting for itself."""
    depth = []

    @funcgrad.jit
    def rec(x):
        depth.append(1)
        if len(depth) < 3:
            return rec(x) + 1
        return x

    assert rec(fnp.zeros(2)).tolist() == [2.0, 2.0]


# --- funcgrad.config ---------------------------------------------------------------------


def test_unknown_config_names_raise_listing_the_options():
    config = funcgrad.config
    for name in ("debug_nan", "explain_cache_miss", "jit_cache"):
        with pytest.raises(AttributeError, match=rf"funcgrad.config has no option '{name}'; "
                                                 r"the options are: .*explain_cache_misses"):  # fmt: skip
            setattr(config, name, True)
        with pytest.raises(AttributeError, match=rf"no option '{name}'"):
            getattr(config, name)
        assert not hasattr(config, name)
    with pytest.raises(AttributeError, match="cannot be deleted"):
        del config.jit_cache_size


@pytest.mark.parametrize(
    "name, value, error",
    [
        ("jit_cache_size", 0, ValueError),
        ("jit_cache_size", 2.5, TypeError),
        ("jit_cache_size", True, TypeError),
        ("jit_cache_bytes", -1, ValueError),
        ("explain_cache_misses", "yes", TypeError),
    ],
)
def test_config_values_are_checked(name, value, error):
    before = getattr(funcgrad.config, name)
    with pytest.raises(error, match=rf"funcgrad.config.{name} must"):
        setattr(funcgrad.config, name, value)
    assert getattr(funcgrad.config, name) == before


def test_config_reads_cache_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("FUNCGRAD_JIT_CACHE_SIZE", "7")
    monkeypatch.setenv("FUNCGRAD_JIT_CACHE_BYTES", "1024")
    c = Config()
    assert (c.jit_cache_size, c.jit_cache_bytes) == (7, 1024)
    monkeypatch.setenv("FUNCGRAD_JIT_CACHE_SIZE", "many")
    with pytest.raises(ValueError, match=r"\$FUNCGRAD_JIT_CACHE_SIZE must be an integer"):
        Config()
    c.jit_cache_size = np.int64(3)  # integer-like values are accepted
    assert c.jit_cache_size == 3 and type(c.jit_cache_size) is int
    assert "jit_cache_size=3" in repr(c)
