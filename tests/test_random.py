"""Tests for funcgrad.random: threefry known answers, key handling, and every sampler's
distribution (moments and a Kolmogorov-Smirnov test against the exact CDF), plus
vmap-over-keys and jit consistency. Oracles: Random123's published test vectors,
closed-form CDFs and moments (math.erf etc.), NumPy."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import random

M32 = 0xFFFFFFFF
N = 20000  # samples for the statistical tests
# Kolmogorov-Smirnov critical value at significance 0.001 (asymptotic: sqrt(-ln(a/2)/2))
KS_CRITICAL = math.sqrt(-math.log(0.001 / 2) / 2) / math.sqrt(N)


def u32(*values):
    return fnp.asarray(np.array(values, dtype=np.uint32))


def ks_statistic(samples, cdf):
    """sup |F_n(x) - F(x)|, over the jumps of the empirical CDF."""
    x = np.sort(np.asarray(samples, dtype=np.float64))
    n = len(x)
    f = np.array([cdf(v) for v in x])
    i = np.arange(1, n + 1)
    return max(np.max(i / n - f), np.max(f - (i - 1) / n))


def phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def normal_cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


# ------------------------------------------------------------------------------------
# Threefry and keys
# ------------------------------------------------------------------------------------

# Random123 kat_vectors, threefry2x32 with 20 rounds: (counter, key, expected output)
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.mark.parametrize("counter,key,expected", KNOWN_ANSWERS)
def test_threefry_known_answers(counter, key, expected):
    y0, y1 = random.threefry_2x32(
        u32(*key), u32(counter[0]).reshape(()), u32(counter[1]).reshape(())
    )
    assert (int(y0), int(y1)) == expected
    assert y0.dtype == np.uint32


def test_threefry_is_elementwise_over_counters():
    counters = [c for c, _, _ in KNOWN_ANSWERS]
    key = u32(0x13198A2E, 0x03707344)
    y0, y1 = random.threefry_2x32(
        key, u32(*[c[0] for c in counters]), u32(*[c[1] for c in counters])
    )
    for i, c in enumerate(counters):
        z0, z1 = random.threefry_2x32(key, u32(c[0]).reshape(()), u32(c[1]).reshape(()))
        assert (int(y0[i]), int(y1[i])) == (int(z0), int(z1))
    assert (int(y0[2]), int(y1[2])) == KNOWN_ANSWERS[2][2]


def test_threefry_under_jit_and_vmap():
    keys = fnp.asarray(np.array([k for _, k, _ in KNOWN_ANSWERS], dtype=np.uint32))
    c0 = fnp.asarray(np.array([c[0] for c, _, _ in KNOWN_ANSWERS], dtype=np.uint32))
    c1 = fnp.asarray(np.array([c[1] for c, _, _ in KNOWN_ANSWERS], dtype=np.uint32))
    expected = np.array([e for _, _, e in KNOWN_ANSWERS], dtype=np.uint32)
    y0, y1 = funcgrad.jit(funcgrad.vmap(random.threefry_2x32))(keys, c0, c1)
    np.testing.assert_array_equal(np.stack([np.asarray(y0), np.asarray(y1)], -1), expected)


def threefry_reference(key, counter):
    """Threefry-2x32, 20 rounds, on Python ints (Salmon et al. 2011): an independent oracle."""
    rotations = (13, 15, 26, 6, 17, 29, 16, 24)
    ks = (key[0], key[1], key[0] ^ key[1] ^ 0x1BD11BDA)
    x0, x1 = (counter[0] + ks[0]) & M32, (counter[1] + ks[1]) & M32
    for i in range(20):
        r = rotations[i % 8]
        x0 = (x0 + x1) & M32
        x1 = (((x1 << r) | (x1 >> (32 - r))) & M32) ^ x0
        if i % 4 == 3:
            s = i // 4 + 1
            x0 = (x0 + ks[s % 3]) & M32
            x1 = (x1 + ks[(s + 1) % 3] + s) & M32
    return x0, x1


@pytest.mark.parametrize("counter,key,expected", KNOWN_ANSWERS)
def test_reference_matches_known_answers(counter, key, expected):
    assert threefry_reference(key, counter) == expected


@given(seed=st.integers(0, 2**64 - 1), size=st.integers(1, 7))
def test_streams_match_python_reference(seed, size):
    """The documented layout: key = seed's words; bits block i = counter (i, 0), word 2i
    first; split key i = counter (i, 1); uniform float64 = top 53 bits of a 64-bit value."""
    k = (seed >> 32, seed & M32)
    blocks = [threefry_reference(k, (i, 0)) for i in range(size)]
    words = [w for b in blocks for w in b][:size]
    assert random.bits(random.key(seed), (size,)).tolist() == words
    u64 = [(hi << 32) | lo for hi, lo in blocks]
    assert random.bits(random.key(seed), (size,), np.uint64).tolist() == u64
    expected_uniform = [(v >> 11) * 2.0**-53 for v in u64]
    assert random.uniform(random.key(seed), (size,)).tolist() == expected_uniform
    keys = random.split(random.key(seed), size).tolist()
    assert keys == [list(threefry_reference(k, (i, 1))) for i in range(size)]


@pytest.mark.parametrize(
    "seed,expected",
    [(0, [0, 0]), (42, [0, 42]), (2**40 + 5, [256, 5]), (-1, [M32, M32]), (2**64 - 1, [M32, M32])],
)
def test_key_from_int(seed, expected):
    k = random.key(seed)
    assert k.dtype == np.uint32 and k.shape == (2,)
    assert k.tolist() == expected
    assert random.PRNGKey(seed).tolist() == expected


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32, np.uint64])
def test_key_from_array_seed_matches_int_seed(dtype):
    for seed in [0, 7, 2**31 - 1] + ([-5] if np.dtype(dtype).kind == "i" else []):
        arr = fnp.asarray(np.array(seed, dtype=dtype))
        assert random.key(arr).tolist() == random.key(seed).tolist()
        assert funcgrad.jit(random.key)(arr).tolist() == random.key(seed).tolist()


@given(seed=st.integers(0, 2**64 - 1), size=st.integers(0, 9))
def test_same_key_same_numbers(seed, size):
    k = random.key(seed)
    a = random.uniform(k, (size,))
    b = random.uniform(random.key(seed), (size,))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(
        np.asarray(random.bits(k, (size,))), np.asarray(random.bits(k, (size,)))
    )


def test_bits_of_a_smaller_shape_are_a_prefix():
    k = random.key(3)
    big = np.asarray(random.bits(k, (11,)))
    np.testing.assert_array_equal(np.asarray(random.bits(k, (4,))), big[:4])
    np.testing.assert_array_equal(np.asarray(random.bits(k, (2, 3))).ravel(), big[:6])
    # a bits block is threefry of counter (i, 0)
    y0, y1 = random.threefry_2x32(k, u32(0, 1, 2), u32(0, 0, 0))
    np.testing.assert_array_equal(big[:6], np.stack([np.asarray(y0), np.asarray(y1)], -1).ravel())


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_bits_dtypes_cover_their_range(dtype):
    b = np.asarray(random.bits(random.key(1), (4000,), dtype))
    assert b.dtype == dtype
    top_bit = np.array(1, dtype) << np.array(np.iinfo(dtype).bits - 1, dtype)
    frac = np.mean((b & top_bit) != 0)  # high bit set about half the time
    assert abs(frac - 0.5) < 0.05


def test_split_and_fold_in():
    k = random.key(0)
    keys = random.split(k, 5)
    assert keys.shape == (5, 2) and keys.dtype == np.uint32
    rows = {tuple(r) for r in np.asarray(keys).tolist()}
    assert len(rows) == 5 and tuple(k.tolist()) not in rows
    # key i does not depend on num
    np.testing.assert_array_equal(np.asarray(random.split(k, 3)), np.asarray(keys)[:3])
    assert random.split(k, 0).shape == (0, 2)
    # split uses counter (i, 1); fold_in uses counter (data, 2): the three domains differ
    y0, y1 = random.threefry_2x32(k, u32(4).reshape(()), u32(1).reshape(()))
    assert np.asarray(keys)[4].tolist() == [int(y0), int(y1)]
    y0, y1 = random.threefry_2x32(k, u32(4).reshape(()), u32(2).reshape(()))
    assert random.fold_in(k, 4).tolist() == [int(y0), int(y1)]
    folded = {tuple(random.fold_in(k, i).tolist()) for i in range(5)}
    assert len(folded) == 5 and not folded & rows
    assert random.fold_in(k, -1).tolist() == random.fold_in(k, M32).tolist()
    assert random.fold_in(k, fnp.asarray(np.int32(7))).tolist() == random.fold_in(k, 7).tolist()


def test_split_streams_are_uncorrelated():
    k1, k2, k3 = random.split(random.key(123), 3)
    a = np.asarray(random.normal(k1, (N,)))
    b = np.asarray(random.normal(k2, (N,)))
    c = np.asarray(random.normal(random.fold_in(k3, 0), (N,)))
    bound = 4 / math.sqrt(N)  # 4 standard errors of a sample correlation
    for x, y in [(a, b), (a, c), (b, c)]:
        assert abs(np.corrcoef(x, y)[0, 1]) < bound
    # neighbouring samples of one stream are uncorrelated too
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < bound


# ------------------------------------------------------------------------------------
# Continuous samplers: range, moments, Kolmogorov-Smirnov
# ------------------------------------------------------------------------------------


def gumbel_cdf(x):
    return math.exp(-math.exp(-x))


def laplace_cdf(x):
    return 0.5 * math.exp(x) if x < 0 else 1 - 0.5 * math.exp(-x)


CONTINUOUS = {
    # name: (sampler, cdf, mean, variance)
    "uniform": (random.uniform, lambda x: min(max(x, 0.0), 1.0), 0.5, 1 / 12),
    "normal": (random.normal, normal_cdf, 0.0, 1.0),
    "exponential": (random.exponential, lambda x: 1 - math.exp(-x) if x > 0 else 0.0, 1.0, 1.0),
    "laplace": (random.laplace, laplace_cdf, 0.0, 2.0),
    "gumbel": (random.gumbel, gumbel_cdf, np.euler_gamma, math.pi**2 / 6),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_continuous_ks_and_moments(name, dtype):
    sampler, cdf, mean, var = CONTINUOUS[name]
    x = sampler(random.key(2024), (N,), dtype=dtype)
    assert x.dtype == dtype and x.shape == (N,)
    x = np.asarray(x, dtype=np.float64)
    assert np.isfinite(x).all()
    assert ks_statistic(x, cdf) < KS_CRITICAL
    # 5 standard errors of the mean; the variance's with the sample 4th moment
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / N)
    var_se = math.sqrt(np.mean((x - x.mean()) ** 4) / N)
    assert abs(x.var() - var) < 5 * var_se


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_uniform_range_and_resolution(dtype):
    x = np.asarray(random.uniform(random.key(5), (5000,), dtype=dtype))
    assert x.dtype == dtype
    assert x.min() >= 0 and x.max() < 1
    # values are multiples of 2**-p, with p the dtype's precision
    p = np.finfo(dtype).nmant + 1
    k = x.astype(np.float64) * 2.0**p
    np.testing.assert_array_equal(k, np.round(k))
    y = np.asarray(random.uniform(random.key(5), (5000,), dtype=dtype, minval=-3, maxval=-2))
    assert y.min() >= -3 and y.max() < -2


def test_uniform_array_bounds_broadcast():
    lo = fnp.asarray([0.0, 10.0, -5.0])
    x = np.asarray(random.uniform(random.key(0), (400, 3), minval=lo, maxval=lo + 1))
    assert (x >= np.asarray(lo)).all() and (x < np.asarray(lo) + 1).all()
    # a bound equal to the other gives that bound
    z = np.asarray(random.uniform(random.key(0), (5,), minval=2.0, maxval=2.0))
    np.testing.assert_array_equal(z, 2.0)


def test_complex_normal():
    z = np.asarray(random.normal(random.key(9), (N,), dtype=np.complex128))
    assert z.dtype == np.complex128
    for part in (z.real, z.imag):
        assert abs(part.mean()) < 5 * math.sqrt(0.5 / N)
        assert abs(part.var() - 0.5) < 0.05
    assert abs(np.corrcoef(z.real, z.imag)[0, 1]) < 4 / math.sqrt(N)


@pytest.mark.parametrize(
    "lower,upper",
    [(-1.0, 2.0), (0.5, 1.5), (-np.inf, -2.0), (3.0, np.inf), (4.0, 4.5), (-2.0, np.inf)],
)
def test_truncated_normal_ks_and_moments(lower, upper):
    x = np.asarray(random.truncated_normal(random.key(11), lower, upper, (N,)))
    assert x.dtype == np.float64
    assert (x >= lower).all() and (x <= upper).all()
    z = normal_cdf(upper) - normal_cdf(lower)
    cdf = lambda v: min(max((normal_cdf(v) - normal_cdf(lower)) / z, 0.0), 1.0)
    assert ks_statistic(x, cdf) < KS_CRITICAL
    pa = 0.0 if np.isinf(lower) else phi(lower)
    pb = 0.0 if np.isinf(upper) else phi(upper)
    apa = 0.0 if np.isinf(lower) else lower * pa
    bpb = 0.0 if np.isinf(upper) else upper * pb
    mean = (pa - pb) / z
    var = 1 + (apa - bpb) / z - mean**2
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / N)
    assert abs(x.var() - var) < 0.1 * var


def test_truncated_normal_array_bounds_and_float32():
    lo = fnp.asarray([-1.0, 0.0, 2.0])
    x = random.truncated_normal(random.key(0), lo, lo + 0.5, (300, 3), dtype=np.float32)
    assert x.dtype == np.float32 and x.shape == (300, 3)
    x = np.asarray(x)
    assert (x >= np.asarray(lo, np.float32)).all() and (x <= np.asarray(lo + 0.5, np.float32)).all()
    assert random.truncated_normal(random.key(0), lo, 5.0).shape == (3,)


def test_orthogonal():
    q = np.asarray(random.orthogonal(random.key(0), 4, (3,)))
    assert q.shape == (3, 4, 4)
    eye = np.broadcast_to(np.eye(4), (3, 4, 4))
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, eye, atol=1e-12)
    np.testing.assert_allclose(q @ np.swapaxes(q, -1, -2), eye, atol=1e-12)
    q32 = random.orthogonal(random.key(1), 3, dtype=np.float32)
    assert q32.dtype == np.float32
    np.testing.assert_allclose(np.asarray(q32).T @ np.asarray(q32), np.eye(3), atol=1e-5)
    # Haar measure: E[q_ij] = 0 and E[q_ij^2] = 1/n for every entry
    qs = np.asarray(random.orthogonal(random.key(2), 3, (4000,)))
    assert np.abs(qs.mean(0)).max() < 5 * math.sqrt(1 / 3 / 4000)
    assert np.abs((qs**2).mean(0) - 1 / 3).max() < 0.03


# ------------------------------------------------------------------------------------
# Discrete samplers
# ------------------------------------------------------------------------------------


@given(lo=st.integers(-1000, 1000), span=st.integers(1, 50), seed=st.integers(0, 2**32 - 1))
def test_randint_range(lo, span, seed):
    x = np.asarray(random.randint(random.key(seed), (200,), lo, lo + span))
    assert x.dtype == np.int64
    assert x.min() >= lo and x.max() < lo + span


def test_randint_is_uniform_and_hits_every_value():
    x = np.asarray(random.randint(random.key(0), (N,), -3, 7))
    counts = np.bincount(x + 3, minlength=10)
    assert len(counts) == 10
    expected = N / 10
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 27.88  # chi-square critical value, 9 degrees of freedom, p = 0.001


@pytest.mark.parametrize(
    "dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64, np.uint64]
)
def test_randint_dtype_bounds(dtype):
    info = np.iinfo(dtype)
    x = random.randint(random.key(0), (3000,), info.min, info.max, dtype=dtype)
    assert x.dtype == dtype
    x = np.asarray(x)
    assert x.min() >= info.min and x.max() < info.max
    if info.bits == 8:  # a maxval beyond the range allows the largest value
        y = np.asarray(random.randint(random.key(0), (3000,), -1000, 1000, dtype=dtype))
        assert y.min() == info.min and y.max() == info.max


def test_randint_array_bounds_and_empty_range():
    lo = fnp.asarray([0, 100, -50])
    x = np.asarray(random.randint(random.key(0), (500, 3), lo, lo + 3))
    assert (x >= np.asarray(lo)).all() and (x < np.asarray(lo) + 3).all()
    y = np.asarray(random.randint(random.key(0), (5,), 4, 4))
    np.testing.assert_array_equal(y, 4)
    y = np.asarray(random.randint(random.key(0), (5,), 4, 1))
    np.testing.assert_array_equal(y, 4)
    # bounds outside the dtype's range saturate rather than wrap
    z = np.asarray(random.randint(random.key(0), (300,), -5, 3, dtype=np.uint64))
    assert z.dtype == np.uint64 and z.max() < 3 and set(z.tolist()) == {0, 1, 2}
    big = fnp.asarray(np.uint64(2**64 - 1))
    w = np.asarray(random.randint(random.key(0), (300,), 2**62, big, dtype=np.int64))
    assert w.min() >= 2**62


def test_bernoulli():
    x = random.bernoulli(random.key(0), 0.3, (N,))
    assert x.dtype == np.bool_
    assert abs(np.asarray(x).mean() - 0.3) < 5 * math.sqrt(0.3 * 0.7 / N)
    p = fnp.asarray([0.0, 1.0, 0.5])
    y = np.asarray(random.bernoulli(random.key(1), p))
    assert y.shape == (3,) and not y[0] and y[1]
    z = np.asarray(random.bernoulli(random.key(1), p, (2000, 3)))
    assert not z[:, 0].any() and z[:, 1].all() and abs(z[:, 2].mean() - 0.5) < 0.06


def test_categorical_frequencies():
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    logits = fnp.asarray(np.log(probs) + 7.0)  # softmax is shift-invariant
    x = np.asarray(random.categorical(random.key(0), logits, shape=(N,)))
    assert x.dtype == np.int64 and x.shape == (N,)
    freq = np.bincount(x, minlength=4) / N
    assert np.all(np.abs(freq - probs) < 5 * np.sqrt(probs * (1 - probs) / N))


def test_categorical_axis_and_batch():
    # a batch of 2 rows, each certain of one category
    logits = np.array([[50.0, -50.0, -50.0], [-50.0, -50.0, 50.0]])  # (2, 3)
    x = random.categorical(random.key(0), fnp.asarray(logits.T), axis=0)  # categories on axis 0
    assert x.shape == (2,) and x.tolist() == [0, 2]
    y = random.categorical(random.key(0), fnp.asarray(logits), axis=-1, shape=(5, 2))
    assert y.shape == (5, 2) and np.asarray(y).tolist() == [[0, 2]] * 5


def test_choice_without_replacement_has_no_repeats():
    for seed in range(10):
        x = np.asarray(random.choice(random.key(seed), 20, (15,), replace=False))
        assert len(set(x.tolist())) == 15 and x.min() >= 0 and x.max() < 20
    p = fnp.asarray(np.array([0.0, 0.5, 0.25, 0.25, 0.0]))
    for seed in range(10):
        y = np.asarray(random.choice(random.key(seed), 5, (3,), replace=False, p=p))
        assert sorted(y.tolist()) == [1, 2, 3]


def test_choice_with_p_frequencies():
    p = np.array([0.5, 0.0, 0.3, 0.2])
    x = np.asarray(random.choice(random.key(0), 4, (N,), p=fnp.asarray(p * 3)))  # normalised
    freq = np.bincount(x, minlength=4) / N
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / N) + 1e-12)
    # without replacement, the first draw follows p
    first = [int(random.choice(random.key(s), 4, (2,), replace=False, p=fnp.asarray(p))[0])
             for s in range(400)]  # fmt: skip
    freq = np.bincount(first, minlength=4) / 400
    assert freq[1] == 0 and np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / 400) + 1e-12)


def test_choice_from_array_along_axis():
    a = fnp.arange(12).reshape(3, 4)
    x = np.asarray(random.choice(random.key(0), a, (2, 5), axis=1))
    assert x.shape == (3, 2, 5)
    # every picked column is a column of a
    np.testing.assert_array_equal(
        x - x[0:1], np.broadcast_to(np.array([0, 4, 8])[:, None, None], x.shape)
    )
    y = np.asarray(random.choice(random.key(1), a, (3,), replace=False))
    assert sorted(y[:, 0].tolist()) == [0, 4, 8]
    z = np.asarray(random.choice(random.key(0), 6))
    assert z.shape == () and 0 <= z < 6


def test_permutation():
    for seed in range(5):
        p = np.asarray(random.permutation(random.key(seed), 50))
        np.testing.assert_array_equal(np.sort(p), np.arange(50))
        assert not np.array_equal(p, np.arange(50))
    x = np.arange(24).reshape(4, 6)
    y = np.asarray(random.permutation(random.key(0), fnp.asarray(x), axis=1))
    np.testing.assert_array_equal(np.sort(y, axis=1), x)
    assert np.all(y - y[:, :1] == (y[0] - y[0, 0]))  # columns moved whole
    z = np.asarray(random.permutation(random.key(0), fnp.asarray(x), axis=0, independent=True))
    np.testing.assert_array_equal(np.sort(z, axis=0), x)
    # each position is equally likely to receive each element
    firsts = [int(random.permutation(random.key(s), 4)[0]) for s in range(800)]
    counts = np.bincount(firsts, minlength=4)
    assert ((counts - 200) ** 2 / 200).sum() < 16.27  # chi-square, 3 dof, p = 0.001


# ------------------------------------------------------------------------------------
# Transformations
# ------------------------------------------------------------------------------------

SAMPLERS = {
    "uniform": lambda k: random.uniform(k, (3, 2), minval=-1.0, maxval=2.0),
    "normal": lambda k: random.normal(k, (4,)),
    "normal_odd": lambda k: random.normal(k, (3, 1), dtype=np.float32),
    "normal_complex": lambda k: random.normal(k, (3,), dtype=np.complex128),
    "truncated_normal": lambda k: random.truncated_normal(k, -1.0, 0.5, (3,)),
    "randint": lambda k: random.randint(k, (5,), 0, 10),
    "bernoulli": lambda k: random.bernoulli(k, 0.5, (4,)),
    "categorical": lambda k: random.categorical(k, fnp.asarray([0.1, 0.5, -1.0]), shape=(3,)),
    "choice": lambda k: random.choice(k, 7, (3,), replace=False),
    "choice_p": lambda k: random.choice(k, 3, (4,), p=fnp.asarray([0.2, 0.3, 0.5])),
    "permutation": lambda k: random.permutation(k, 6),
    "gumbel": lambda k: random.gumbel(k, (2,)),
    "exponential": lambda k: random.exponential(k, (2,), dtype=np.float32),
    "laplace": lambda k: random.laplace(k, (2,)),
    "orthogonal": lambda k: random.orthogonal(k, 3),
    "split": lambda k: random.split(k, 3),
    "fold_in": lambda k: random.fold_in(k, 5),
    "bits": lambda k: random.bits(k, (3,), np.uint64),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_vmap_over_keys_equals_loop(name):
    f = SAMPLERS[name]
    keys = random.split(random.key(7), 3)
    batched = np.asarray(funcgrad.vmap(f)(keys))
    looped = np.stack([np.asarray(f(keys[i])) for i in range(3)])
    np.testing.assert_allclose(batched, looped, rtol=1e-12, atol=1e-12)
    assert batched.dtype == looped.dtype


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_jit_equals_eager(name):
    f = SAMPLERS[name]
    k = random.key(99)
    eager = np.asarray(f(k))
    jitted = np.asarray(funcgrad.jit(f)(k))
    np.testing.assert_allclose(jitted, eager, rtol=1e-12, atol=1e-12)
    assert jitted.dtype == eager.dtype
    out = funcgrad.eval_shape(f, k)
    assert out.shape == eager.shape and out.dtype == eager.dtype


def test_vmap_over_fold_in_data_and_jit_of_seed():
    k = random.key(0)
    data = fnp.arange(4, dtype=np.uint32)
    batched = np.asarray(funcgrad.vmap(lambda d: random.fold_in(k, d))(data))
    np.testing.assert_array_equal(
        batched, np.stack([np.asarray(random.fold_in(k, i)) for i in range(4)])
    )
    f = funcgrad.jit(lambda s: random.normal(random.key(s), (3,)))
    np.testing.assert_array_equal(
        np.asarray(f(fnp.asarray(5))), np.asarray(random.normal(random.key(5), (3,)))
    )


# ------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,call",
    [
        ("uniform", lambda k: random.uniform(k, (2,))),
        ("normal", lambda k: random.normal(k)),
        ("split", lambda k: random.split(k)),
        ("fold_in", lambda k: random.fold_in(k, 1)),
        ("randint", lambda k: random.randint(k, (2,), 0, 3)),
        ("choice", lambda k: random.choice(k, 3)),
        ("permutation", lambda k: random.permutation(k, 3)),
        ("categorical", lambda k: random.categorical(k, fnp.zeros(3))),
        ("bernoulli", lambda k: random.bernoulli(k)),
    ],
)
@pytest.mark.parametrize(
    "bad", [0, 1.5, np.array([1, 2]), fnp.zeros(2), fnp.zeros(2, dtype=np.uint32)[:1]]
)
def test_non_key_is_a_clear_error(name, call, bad):
    with pytest.raises(
        TypeError,
        match=rf"funcgrad\.random\.{name}: expected a PRNG key.*funcgrad\.random\.key\(seed\)",
    ):
        call(bad)


def test_batch_of_keys_error_suggests_vmap():
    with pytest.raises(
        TypeError, match=r"funcgrad\.random\.normal: .*batch of keys of shape \(3, 2\).*vmap"
    ):
        random.normal(random.split(random.key(0), 3), (2,))


def test_argument_errors():
    k = random.key(0)
    with pytest.raises(TypeError, match=r"funcgrad\.random\.key: seed must be an integer"):
        random.key(1.5)
    with pytest.raises(TypeError, match=r"funcgrad\.random\.key: seed must be an integer"):
        random.key(fnp.zeros(()))
    with pytest.raises(ValueError, match=r"funcgrad\.random\.key: seed .* does not fit in 64 bits"):
        random.key(2**64)
    with pytest.raises(ValueError, match=r"funcgrad\.random\.fold_in: data .* 32 bits"):
        random.fold_in(k, 2**32)
    with pytest.raises(TypeError, match=r"funcgrad\.random\.fold_in: data must be an integer"):
        random.fold_in(k, 1.0)
    with pytest.raises(ValueError, match=r"funcgrad\.random\.split: num must be >= 0"):
        random.split(k, -1)
    with pytest.raises(
        TypeError,
        match=r"funcgrad\.random\.normal: dtype must be float16, float32 or float64, got int32",
    ):
        random.normal(k, (2,), dtype=np.int32)
    with pytest.raises(
        TypeError, match=r"funcgrad\.random\.randint: dtype must be an integer dtype"
    ):
        random.randint(k, (2,), 0, 3, dtype=np.float32)
    with pytest.raises(TypeError, match=r"funcgrad\.random\.randint: maxval must be an integer"):
        random.randint(k, (2,), 0, 3.5)
    with pytest.raises(
        ValueError, match=r"funcgrad\.random\.uniform: minval of shape \(3,\) does not broadcast"
    ):
        random.uniform(k, (2,), minval=fnp.zeros(3))
    with pytest.raises(
        ValueError, match=r"funcgrad\.random\.uniform: shape \(-1,\) has a negative"
    ):
        random.uniform(k, (-1,))
    with pytest.raises(
        TypeError, match=r"funcgrad\.random\.uniform: shape must be a tuple of ints"
    ):
        random.uniform(k, (2.0,))
    with pytest.raises(
        ValueError,
        match=r"funcgrad\.random\.choice: cannot draw 5 elements .* from 3 without replacement",
    ):
        random.choice(k, 3, (5,), replace=False)
    with pytest.raises(ValueError, match=r"funcgrad\.random\.choice: p must have shape \(3,\)"):
        random.choice(k, 3, (2,), p=fnp.ones(4))
    with pytest.raises(ValueError, match=r"funcgrad\.random\.categorical"):
        random.categorical(k, fnp.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match=r"funcgrad\.random\.permutation: x must be"):
        random.permutation(k, fnp.zeros(()))
    with pytest.raises(
        TypeError, match=r"funcgrad\.random\.threefry_2x32: counters must be uint32"
    ):
        random.threefry_2x32(k, fnp.zeros(2), fnp.zeros(2))


def test_public_names():
    assert set(random.__all__) >= {
        "key", "PRNGKey", "split", "fold_in", "uniform", "normal", "truncated_normal", "randint",
        "bernoulli", "categorical", "choice", "permutation", "gumbel", "exponential", "laplace",
        "orthogonal",
    }  # fmt: skip
    assert random.PRNGKey is random.key
