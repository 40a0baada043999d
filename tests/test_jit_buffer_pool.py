"""jit's buffer pool (codegen): large intermediates that never leave a program are
written into buffers the program keeps between calls. Results must never alias a pool
buffer, and concurrent calls must not share one."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp

N = 1 << 16  # float32: 256 KiB per intermediate, above the pool's threshold


def chain(x):
    return fnp.sin(x) * 2.0 + fnp.cos(x) * x


def reference(x):
    return np.sin(x) * np.float32(2.0) + np.cos(x) * x


def test_large_intermediates_are_pooled_and_small_ones_not():
    big = funcgrad.jit(chain).lower(fnp.ones(N, dtype=np.float32)).as_text()
    assert "_pool0: a float32[65536] buffer kept between calls" in big
    assert "out=_pool0" in big
    small = funcgrad.jit(chain).lower(fnp.ones(8, dtype=np.float32)).as_text()
    assert "_pool" not in small


def test_results_of_earlier_calls_are_not_overwritten():
    f = funcgrad.jit(chain)
    xs = [np.random.default_rng(k).standard_normal(N).astype(np.float32) for k in range(3)]
    results = [f(fnp.asarray(x)) for x in xs]  # every call reuses the pool
    for x, r in zip(xs, results):
        np.testing.assert_allclose(np.asarray(r), reference(x), rtol=1e-6)


def test_intermediates_with_disjoint_lifetimes_share_a_slot():
    def two_stages(x):
        a = fnp.exp(x) * x  # a pooled intermediate, dead after the next line
        b = fnp.sum(a) * x
        c = fnp.tanh(b) * x  # a second one, alive only after a is dead
        return fnp.sum(c)

    text = funcgrad.jit(two_stages).lower(fnp.ones(N, dtype=np.float32)).as_text()
    assert text.count("buffer kept between calls") == 1
    x = np.linspace(-1, 1, N, dtype=np.float32)
    expected = np.sum(np.tanh(np.sum(np.exp(x) * x) * x) * x)
    np.testing.assert_allclose(float(funcgrad.jit(two_stages)(fnp.asarray(x))), expected, rtol=1e-4)


def test_concurrent_calls_do_not_share_the_pool():
    """Threads call one jitted program at once (NumPy releases the GIL inside kernels,
    so the calls interleave); the one that finds the program busy runs the unpooled copy."""
    f = funcgrad.jit(chain)
    f(fnp.ones(N, dtype=np.float32))
    xs = [np.random.default_rng(k).standard_normal(N).astype(np.float32) for k in range(8)]
    errors = []
    start = threading.Barrier(len(xs))

    def worker(x):
        start.wait()
        for _ in range(20):
            r = np.asarray(f(fnp.asarray(x)))
            if not np.allclose(r, reference(x), rtol=1e-6):
                errors.append("a result was computed with another call's intermediate")

    threads = [threading.Thread(target=worker, args=(x,)) for x in xs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def _conv_loss(w, x):
    y = funcgrad.lax.conv_general_dilated(x, w, (1, 1), "VALID",
                                          dimension_numbers=("NHWC", "HWIO", "NHWC"))  # fmt: skip
    return fnp.sum(fnp.tanh(y) ** 2)


@pytest.mark.parametrize("channels", [1, 3], ids=["tap_major", "pixel_major"])
def test_convolution_patches_are_written_into_the_pool(channels):
    """The kernel's gradient keeps the forward's im2col patches: under jit they are
    copied into a pool buffer laid out as the impl lays them out."""
    rng = np.random.default_rng(0)
    w = fnp.asarray(rng.standard_normal((5, 5, channels, 6)).astype(np.float32))
    g = funcgrad.jit(funcgrad.grad(_conv_loss))
    xs = [rng.standard_normal((16, 28, 28, channels)).astype(np.float32) for _ in range(3)]
    assert "_conv_patches_into" in g.lower(w, fnp.asarray(xs[0])).as_text()
    results = [g(w, fnp.asarray(x)) for x in xs]
    for x, r in zip(xs, results):  # earlier results intact, each equal to eager grad
        expected = funcgrad.grad(_conv_loss)(w, fnp.asarray(x))
        np.testing.assert_allclose(np.asarray(r), np.asarray(expected), rtol=2e-5, atol=1e-4)
