"""The rest of jax.numpy's names in funcgrad.numpy (issue 18): values against NumPy,
gradients by check_grads, and jit/vmap against eager."""

from __future__ import annotations

import io
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.test_util import check_grads

RNG = np.random.default_rng(0)


def close(actual, expected, **kw):
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, **{"rtol": 1e-12, "atol": 1e-12, **kw})


def same(actual, expected):
    """Values, shape and dtype equal to NumPy's."""
    actual = np.asarray(actual)
    assert actual.dtype == np.asarray(expected).dtype, (actual.dtype, np.asarray(expected).dtype)
    np.testing.assert_array_equal(actual, expected)


# ---------------------------------------------------------------- elementwise extras


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.int32, np.bool_])
def test_float_decompositions_match_numpy(dtype):
    x = np.array([0, 1, 3, 7, 100], dtype) if dtype == np.bool_ or np.dtype(dtype).kind == "i" \
        else np.array([0.0, -0.0, 1.0, -3.5, 0.75, 1e-3, 1024.0, np.inf, -np.inf, np.nan], dtype)  # fmt: skip
    if dtype == np.bool_:
        x = np.array([True, False])
    same(fnp.fabs(x), np.fabs(x))
    m, e = fnp.frexp(x)
    nm, ne = np.frexp(x)
    same(m, nm)
    same(e, ne)
    f, i = fnp.modf(x)
    nf, ni = np.modf(x)
    same(f, nf)
    same(i, ni)
    with np.errstate(invalid="ignore"):
        want = np.spacing(x)
    if x.dtype == np.float16:  # NumPy's float16 loop drops the sign for negative x
        want = np.where(x < 0, -want, want)
    same(fnp.spacing(x), want)
    n = np.array([3, -2, 0, 1, 5, -7, 0, 1, 2, 3][: x.size], np.int32)
    with np.errstate(over="ignore"):
        same(fnp.ldexp(x, n), np.ldexp(x, n))


def test_frexp_and_ldexp_at_the_extremes():
    tiny = np.array([5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1 - 2**-53])
    for arr in (tiny, tiny.astype(np.float32)):
        m, e = fnp.frexp(arr)
        nm, ne = np.frexp(arr)
        same(m, nm)
        same(e, ne)
    same(fnp.ldexp(np.array([1e-300]), np.array([1100])), np.ldexp(np.array([1e-300]), 1100))
    same(
        fnp.ldexp(np.array([2.0**1000]), np.array([-2000])), np.ldexp(np.array([2.0**1000]), -2000)
    )


@settings(max_examples=20, deadline=None)
@given(hnp.arrays(np.int64, st.integers(1, 6), elements=st.integers(-10**6, 10**6)),
       hnp.arrays(np.int64, st.integers(1, 6), elements=st.integers(-10**6, 10**6)))  # fmt: skip
def test_gcd_lcm_match_numpy(a, b):
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    same(fnp.gcd(a, b), np.gcd(a, b))
    same(fnp.lcm(a, b), np.lcm(a, b))


def test_gcd_broadcasts_and_traces():
    a = np.array([[12, 18, 0], [7, 0, 35]], np.int32)
    same(fnp.gcd(a, np.int32(6)), np.gcd(a, np.int32(6)))
    same(fnp.lcm(a, np.uint8(4)), np.lcm(a, np.uint8(4)))
    same(funcgrad.jit(fnp.gcd)(a, a[:, ::-1]), np.gcd(a, a[:, ::-1]))
    same(funcgrad.vmap(fnp.gcd)(a, a[::-1]), np.gcd(a, a[::-1]))
    with pytest.raises(TypeError, match="gcd: arguments must be integers"):
        fnp.gcd(1.5, 2)


def test_i0_and_bitwise_count():
    x = np.linspace(-30, 30, 41)
    close(fnp.i0(x), np.i0(x), rtol=1e-13)
    same(fnp.i0(np.array([0, 2])), np.i0(np.array([0, 2])))
    for dt in (np.int8, np.int64, np.uint16, np.bool_):
        v = np.array([0, 1, 7, -1, -128, 100], np.int64).astype(dt)
        same(fnp.bitwise_count(v), np.bitwise_count(v))


def test_elementwise_extras_gradients():
    x = np.array([0.3, -1.7, 2.5, 3.6])
    check_grads(lambda v: fnp.ldexp(v, np.array([1, -2, 3, 0])), (x,), order=2)
    check_grads(lambda v: fnp.frexp(v)[0], (x,), order=1)
    check_grads(lambda v: fnp.modf(v)[0] + 2 * fnp.modf(v)[1], (x,), order=1)
    check_grads(fnp.i0, (x,), order=2)
    check_grads(fnp.fabs, (x,), order=1)
    # i0' = i1 = exp(|x|) * i1e(x)
    from scipy import special

    g = funcgrad.vmap(funcgrad.grad(fnp.i0))(x)
    close(g, special.i1(x), rtol=1e-12)


def test_elementwise_extras_under_jit_and_vmap():
    x = RNG.normal(size=(3, 4)) * 10

    def f(v):
        m, e = fnp.frexp(v)
        return fnp.ldexp(m, e) + fnp.spacing(v) + fnp.modf(v)[0] + fnp.i0(v / 10)

    eager = f(x)
    close(funcgrad.jit(f)(x), eager, rtol=1e-15)
    close(funcgrad.vmap(f)(x), eager, rtol=1e-15)


# ---------------------------------------------------------------- windows


@pytest.mark.parametrize("M", [0, 1, 2, 5, 16])
def test_windows_match_numpy(M):
    for name in ("bartlett", "blackman", "hamming", "hanning"):
        same(getattr(fnp, name)(M), getattr(np, name)(M))
    close(fnp.kaiser(M, 5.0), np.kaiser(M, 5.0), rtol=1e-13)


def test_kaiser_is_differentiable_in_beta():
    check_grads(lambda b: fnp.kaiser(7, b), (np.float64(3.0),), order=2)
    with pytest.raises(TypeError, match="window length M must be a static int"):
        fnp.hanning(2.5)


# ---------------------------------------------------------------- polynomials


def test_polynomial_arithmetic_matches_numpy():
    a = np.array([1.0, -2.0, 0.5])
    b = np.array([3.0, 0.0, 1.0, -4.0])
    close(fnp.polyadd(a, b), np.polyadd(a, b))
    close(fnp.polysub(a, b), np.polysub(a, b))
    close(fnp.polymul(a, b), np.polymul(a, b))
    close(fnp.polyder(b, 2), np.polyder(b, 2))
    close(fnp.polyder(b, 5), np.polyder(b, 5))
    close(fnp.polyint(a, 2, k=[1.0, 2.0]), np.polyint(a, 2, k=[1.0, 2.0]))
    close(fnp.polyint(a, 3), np.polyint(a, 3))
    close(fnp.poly(np.array([1.0, -2.0, 3.0])), np.poly([1.0, -2.0, 3.0]))
    m = np.array([[2.0, 1.0], [0.5, 3.0]])
    close(fnp.poly(m).real, np.poly(m), rtol=1e-12)
    same(fnp.polyder(np.array([1, 2, 3])), np.polyder(np.array([1, 2, 3])))
    q, r = fnp.polydiv(b, a)
    nq, nr = np.polydiv(b, a)
    close(q, nq)
    close(r[-nr.size :], nr)
    close(r[: -nr.size], np.zeros(b.size - nr.size), atol=1e-12)
    q, r = fnp.polydiv(b, a, trim_leading_zeros=True)
    close(r, nr)
    close(fnp.polymul(np.array([0.0, 1.0, 2.0]), np.array([3.0]), trim_leading_zeros=True),
          np.polymul([0.0, 1.0, 2.0], [3.0]))  # fmt: skip


def test_vander_and_polyfit_match_numpy():
    x = np.array([0.0, 1.0, 2.5, -1.0, 3.0])
    for N in (None, 0, 1, 3, 6):
        for inc in (False, True):
            close(fnp.vander(x, N, increasing=inc), np.vander(x, N, increasing=inc))
    same(fnp.vander(np.array([1, 2, 3])), np.vander(np.array([1, 2, 3])))
    y = np.sin(x) + 0.1 * x**2
    w = np.array([1.0, 2.0, 0.5, 1.0, 3.0])
    close(fnp.polyfit(x, y, 2), np.polyfit(x, y, 2), rtol=1e-10)
    close(fnp.polyfit(x, y, 2, w=w), np.polyfit(x, y, 2, w=w), rtol=1e-10)
    y2 = np.stack([y, 2 * y + 1], axis=1)
    close(fnp.polyfit(x, y2, 1), np.polyfit(x, y2, 1), rtol=1e-10)
    c, cov = fnp.polyfit(x, y, 2, cov=True)
    nc, ncov = np.polyfit(x, y, 2, cov=True)
    close(c, nc, rtol=1e-10)
    close(cov, ncov, rtol=1e-9)
    cov = fnp.polyfit(x, y, 1, cov="unscaled")[1]
    close(cov, np.polyfit(x, y, 1, cov="unscaled")[1], rtol=1e-9)
    got = fnp.polyfit(x, y, 2, full=True)
    want = np.polyfit(x, y, 2, full=True)
    for g, e in zip(got, want):
        close(g, e, rtol=1e-9)


def test_polynomial_gradients_and_jit():
    a = np.array([1.0, -2.0, 0.5])
    b = np.array([3.0, 0.1, 1.0, -4.0])
    check_grads(fnp.polymul, (a, b), order=2)
    check_grads(lambda u, v: fnp.polydiv(u, v)[0], (b, a), order=1)
    check_grads(lambda p: fnp.polyint(p, 2, k=1.5), (a,), order=1)
    check_grads(lambda p: fnp.polyder(p, 1), (b,), order=1)
    check_grads(lambda z: fnp.poly(z), (a,), order=2)
    check_grads(lambda x: fnp.vander(x, 4), (np.array([0.0, 1.5, -2.0]),), order=2)
    x = np.array([0.0, 1.0, 2.5, -1.0, 3.0])
    check_grads(lambda y: fnp.polyfit(x, y, 2), (np.cos(x),), order=1, modes=("rev",))
    close(funcgrad.jit(lambda u, v: fnp.polydiv(u, v)[0])(b, a), np.polydiv(b, a)[0])
    close(funcgrad.vmap(lambda p: fnp.polyval(fnp.polyder(p), 2.0))(np.stack([b, 2 * b])),
          [np.polyval(np.polyder(b), 2.0), np.polyval(np.polyder(2 * b), 2.0)])  # fmt: skip


def test_roots_match_numpy_eagerly():
    for p in (
        [1.0, -3.0, 2.0],
        [0.0, 0.0, 1.0, 0.0, -1.0, 0.0, 0.0],
        [1.0, 0.0, 1.0],
        [2.0],
        [0.0],
    ):
        got = np.asarray(fnp.roots(np.array(p)))
        want = np.roots(p).astype(complex)
        assert got.dtype == np.complex128
        close(np.sort_complex(got), np.sort_complex(want), atol=1e-12)
    with pytest.raises(funcgrad.ConcretizationError, match="roots"):
        funcgrad.jit(fnp.roots)(np.array([1.0, 2.0]))
    assert np.all(np.isnan(np.asarray(fnp.roots(np.array([0.0, 1.0, 2.0]), strip_zeros=False))))


# ---------------------------------------------------------------- editing functions

INSERT_CASES = [
    ((5,), 2, [9], None), ((5,), [1, 3], [8, 9], None), ((5,), slice(1, 4), 7, None),
    ((5,), -1, [7, 8, 9], None), ((5,), [3, 1, 3], [7, 8, 9], None), ((5,), [2], [7, 8], None),
    ((2, 3), 1, 5, 0), ((2, 3), 1, [5, 6], 1), ((2, 3), [0, 2], [[5], [6]], 1),
    ((2, 3), 1, [[5, 6, 7]], 0), ((2, 3), 3, [9], None), ((2, 3), 0, [[1], [2]], 1),
]  # fmt: skip


@pytest.mark.parametrize("shape,obj,values,axis", INSERT_CASES)
def test_insert_matches_numpy(shape, obj, values, axis):
    a = np.arange(int(np.prod(shape))).reshape(shape)
    same(fnp.insert(a, obj, values, axis=axis), np.insert(a, obj, values, axis=axis))


@pytest.mark.parametrize("obj,axis", [(1, None), ([0, 2], None), (slice(0, 4, 2), None),
                                      (-1, 1), ([0, 0, 1], 0), (np.array([True, False]), 0),
                                      ([], 1)])  # fmt: skip
def test_delete_and_append_match_numpy(obj, axis):
    a = np.arange(6.0).reshape(2, 3)
    same(fnp.delete(a, obj, axis=axis), np.delete(a, obj, axis=axis))
    same(fnp.append(a, a[:1], axis=0), np.append(a, a[:1], axis=0))
    same(fnp.append(a, [7, 8]), np.append(a, [7, 8]))


def test_insert_delete_errors_and_gradients():
    with pytest.raises(IndexError, match="insert"):
        fnp.insert(np.arange(3), 5, 1)
    with pytest.raises(IndexError, match="delete"):
        fnp.delete(np.arange(3), 5)
    x = np.array([1.0, 2.0, 3.0])
    check_grads(lambda a, v: fnp.insert(a, [1, 1], v), (x, np.array([0.5, -1.0])), order=2)
    check_grads(lambda a: fnp.delete(a, 1) * 2, (x,), order=1)
    check_grads(lambda a, v: fnp.append(a, v), (x, x[:2]), order=1)
    f = funcgrad.jit(lambda a, v: fnp.insert(a, 2, v))
    same(f(x, 9.0), np.insert(x, 2, 9.0))


def test_put_family_refuses_in_place_like_jax():
    for call in (lambda: fnp.put(np.zeros(3), [0], 1.0),
                 lambda: fnp.put_along_axis(np.zeros((2, 2)), np.zeros((2, 1), int), 1.0, 1),
                 lambda: fnp.fill_diagonal(np.zeros((2, 2)), 1.0),
                 lambda: fnp.place(np.zeros(2), [True, False], [1.0])):  # fmt: skip
        with pytest.raises(ValueError, match="inplace=False"):
            call()


def _numpy_inplace(fn, a, *args, **kw):
    out = np.array(a, copy=True)
    fn(out, *args, **kw)
    return out


def test_put_matches_numpy():
    a = np.arange(10.0).reshape(2, 5)
    for ind, v, mode in [([0, 3, 7], [9.0, 8.0, 7.0], "raise"), ([1, 2, 4, 6], [5.0, 6.0], "raise"),
                         ([-1, 12], 4.0, "clip"), ([-1, 12, 23], [1.0, 2.0, 3.0], "wrap")]:  # fmt: skip
        same(
            fnp.put(a, ind, v, mode=mode, inplace=False),
            _numpy_inplace(np.put, a, ind, v, mode=mode),
        )
    # JAX's default mode drops out-of-range indices
    same(fnp.put(a, [1, 99], [5.0, 6.0], inplace=False), _numpy_inplace(np.put, a, [1], [5.0]))
    with pytest.raises(IndexError, match="out of bounds"):
        fnp.put(a, [10], 1.0, mode="raise", inplace=False)
    check_grads(lambda x, v: fnp.put(x, np.array([0, 4]), v, inplace=False),
                (np.arange(5.0), np.array([2.0, 3.0])), order=1)  # fmt: skip


def test_put_along_axis_fill_diagonal_place_match_numpy():
    a = RNG.normal(size=(3, 4))
    idx = np.argsort(a, axis=1)[:, :2]
    same(fnp.put_along_axis(a, idx, -1.0, axis=1, inplace=False),
         _numpy_inplace(np.put_along_axis, a, idx, -1.0, axis=1))  # fmt: skip
    idx0 = np.array([[2, 0, 1, 1]])
    vals = np.arange(4.0)[None]
    same(fnp.put_along_axis(a, idx0, vals, axis=0, inplace=False),
         _numpy_inplace(np.put_along_axis, a, idx0, vals, axis=0))  # fmt: skip
    same(fnp.put_along_axis(a.ravel(), np.array([0, 5]), 1.0, None, inplace=False),
         _numpy_inplace(np.put_along_axis, a.ravel(), np.array([0, 5]), 1.0, None))  # fmt: skip
    for shape, val, wrap in [((3, 3), 5.0, False), ((5, 2), [1.0, 2.0], True), ((5, 2), 3.0, False),
                             ((2, 4), 9.0, False), ((3, 3, 3), [1.0, 2.0], False)]:  # fmt: skip
        z = np.zeros(shape)
        same(
            fnp.fill_diagonal(z, val, wrap, inplace=False),
            _numpy_inplace(np.fill_diagonal, z, val, wrap),
        )
    x = np.arange(6).reshape(2, 3)
    same(
        fnp.place(x, x % 2 == 1, [10, 20], inplace=False),
        _numpy_inplace(np.place, x, x % 2 == 1, [10, 20]),
    )
    check_grads(lambda m, v: fnp.put_along_axis(m, idx, v, axis=1, inplace=False),
                (a, np.ones((3, 2))), order=1)  # fmt: skip
    check_grads(lambda m: fnp.fill_diagonal(m, 0.0, inplace=False) * m, (a[:3, :3],), order=1)


def test_choose_resize_rollaxis_sort_complex_mask_indices():
    a = np.array([[0, 1, 2], [2, 1, 0]])
    choices = [np.arange(3), np.full((2, 3), 10), np.array([[100], [200]])]
    same(fnp.choose(a, choices), np.choose(a, choices))
    same(fnp.choose(a + 2, choices, mode="wrap"), np.choose(a + 2, choices, mode="wrap"))
    same(fnp.choose(a - 1, choices, mode="clip"), np.choose(a - 1, choices, mode="clip"))
    with pytest.raises(ValueError, match="invalid entry"):
        fnp.choose(a + 1, choices)
    same(funcgrad.jit(lambda i: fnp.choose(i, choices, mode="clip"))(a), np.choose(a, choices))
    check_grads(
        lambda x, y: fnp.choose(a, [x, y, x * y]), (np.ones((2, 3)), np.full((2, 3), 2.0)), order=1
    )
    for shape in [(2, 2), 7, (3, 0), (0,)]:
        same(fnp.resize(np.array([1, 2, 3]), shape), np.resize(np.array([1, 2, 3]), shape))
    same(fnp.resize(np.zeros((0,), int), (2,)), np.zeros(2, int))
    z = np.zeros((2, 3, 4, 5))
    for axis, start in [(3, 0), (2, 0), (1, 4), (0, 2), (-1, -3)]:
        assert fnp.rollaxis(z, axis, start).shape == np.rollaxis(z, axis, start).shape
    for v in (np.array([3, 1, 2], np.int8), np.array([2.0, 1.0], np.float32),
              np.array([1 + 2j, 1 - 1j, 0.5j])):  # fmt: skip
        same(fnp.sort_complex(v), np.sort_complex(v))
    for k in (0, 1, -1):
        for got, want in zip(fnp.mask_indices(3, fnp.triu, k), np.mask_indices(3, np.triu, k)):
            same(got, want)


# ---------------------------------------------------------------- functional helpers


def test_vectorize_without_signature():
    calls = []

    def f(a, b):
        calls.append(1)
        return fnp.where(a > b, a - b, a * b)

    vf = fnp.vectorize(f)
    a, b = RNG.normal(size=(3, 1)), RNG.normal(size=(4,))
    close(vf(a, b), np.vectorize(lambda a, b: a - b if a > b else a * b)(a, b))
    assert len(calls) == 1  # traced once, not called per element
    close(funcgrad.jit(vf)(a, b), vf(a, b))
    check_grads(vf, (a, b), order=1)
    excl = fnp.vectorize(lambda x, p: x**p, excluded={1})
    close(excl(np.array([1.0, 2.0]), 3), [1.0, 8.0])
    kw = fnp.vectorize(lambda x, *, s: x * s, excluded={"s"})
    close(kw(np.array([1.0, 2.0]), s=3.0), [3.0, 6.0])


def test_vectorize_with_signature_matches_numpy():
    m, v = RNG.normal(size=(5, 1, 2, 3)), RNG.normal(size=(4, 3))
    vf = fnp.vectorize(fnp.dot, signature="(m,n),(n)->(m)")
    close(vf(m, v), np.vectorize(np.dot, signature="(m,n),(n)->(m)")(m, v), rtol=1e-13)
    two = fnp.vectorize(lambda x: (fnp.sum(x), x * 2), signature="(n)->(),(n)")
    s, d = two(m)
    ns, nd = np.vectorize(lambda x: (np.sum(x), x * 2), signature="(n)->(),(n)")(m)
    close(s, ns)
    close(d, nd)
    with pytest.raises(ValueError, match="inconsistent size for core dimension 'n'"):
        vf(m, np.ones(4))
    with pytest.raises(ValueError, match="core shape"):
        fnp.vectorize(lambda x: x, signature="(n)->()")(np.ones((2, 3)))
    with pytest.raises(ValueError, match="not a valid gufunc signature"):
        fnp.vectorize(fnp.dot, signature="(m,n)(n)->m")
    check_grads(vf, (m[:2], v[:1]), order=1)


def test_apply_along_axis_and_over_axes_match_numpy():
    x = RNG.normal(size=(2, 3, 4))
    for axis in (0, 1, 2, -1):
        close(fnp.apply_along_axis(fnp.sort, axis, x), np.apply_along_axis(np.sort, axis, x))
        close(
            fnp.apply_along_axis(lambda r: r.sum(), axis, x), np.apply_along_axis(np.sum, axis, x)
        )
        close(fnp.apply_along_axis(lambda r: fnp.outer(r, r), axis, x),
              np.apply_along_axis(lambda r: np.outer(r, r), axis, x))  # fmt: skip
    close(
        fnp.apply_along_axis(lambda r, p: r**p, 1, x, 2),
        np.apply_along_axis(lambda r, p: r**p, 1, x, 2),
    )
    for axes in ([0, 2], 1, [2, 0]):
        close(fnp.apply_over_axes(fnp.sum, x, axes), np.apply_over_axes(np.sum, x, axes))
    check_grads(lambda v: fnp.apply_along_axis(lambda r: fnp.cumsum(r) * r, 1, v), (x,), order=1)


def test_piecewise_matches_numpy():
    x = np.linspace(-2, 2, 9)
    conds = [x < 0, x >= 0]
    funcs = [lambda v: -v, lambda v: v**2]
    close(fnp.piecewise(x, conds, funcs), np.piecewise(x, conds, funcs))
    close(fnp.piecewise(x, [x < -1, x > 1], [-1.0, 1.0, lambda v: v * 0.5]),
          np.piecewise(x, [x < -1, x > 1], [-1.0, 1.0, lambda v: v * 0.5]))  # fmt: skip
    close(fnp.piecewise(x, [x < 0, x < 1], [1.0, 2.0]), np.piecewise(x, [x < 0, x < 1], [1.0, 2.0]))
    xi = np.arange(-3, 4)
    same(
        fnp.piecewise(xi, [xi < 0], [lambda v: v * 10]),
        np.piecewise(xi, [xi < 0], [lambda v: v * 10]),
    )
    f = funcgrad.jit(lambda v: fnp.piecewise(v, [v < 0, v >= 0], funcs))
    close(f(x), np.piecewise(x, conds, funcs))
    check_grads(lambda v: fnp.piecewise(v, [v < 0.1, v >= 0.1], funcs), (x,), order=2)
    with pytest.raises(ValueError, match="funclist must have 2 or 3 entries"):
        fnp.piecewise(x, conds, [1.0])


def test_fromfunction_and_ufunc_objects_match_numpy():
    same(fnp.fromfunction(lambda i, j: i * 3 + j, (2, 3), dtype=int),
         np.fromfunction(lambda i, j: i * 3 + j, (2, 3), dtype=int))  # fmt: skip
    close(fnp.fromfunction(lambda i: fnp.sin(i), 4), np.fromfunction(np.sin, (4,)))
    same(fnp.fromfunction(lambda i, j: 7, (2, 2), dtype=int), np.full((2, 2), 7))
    add = fnp.frompyfunc(operator.add, 2, 1, identity=0)
    x = RNG.integers(-5, 5, size=(3, 4))
    same(add(x, 1), np.add(x, 1))
    same(add.outer(x[0], x[1]), np.add.outer(x[0], x[1]))
    for axis in (0, 1, None, (0, 1)):
        same(add.reduce(x, axis=axis), np.add.reduce(x, axis=axis))
    same(add.reduce(x, axis=1, keepdims=True), np.add.reduce(x, axis=1, keepdims=True))
    same(add.reduce(x, axis=0, initial=10), np.add.reduce(x, axis=0, initial=10))
    same(add.accumulate(x, axis=1), np.add.accumulate(x, axis=1))
    same(add.reduceat(x[0], [0, 2, 1, 3]), np.add.reduceat(x[0], [0, 2, 1, 3]))
    want = np.zeros(5, int)
    np.add.at(want, [0, 0, 3, 4], [1, 2, 3, 4])
    same(
        add.at(np.zeros(5, int), np.array([0, 0, 3, 4]), np.array([1, 2, 3, 4]), inplace=False),
        want,
    )
    sub = fnp.frompyfunc(operator.sub, 2, 1)
    same(sub.reduce(x, axis=1), np.subtract.reduce(x, axis=1))  # a non-commutative fold
    mx = fnp.frompyfunc(fnp.maximum, 2, 1)
    close(funcgrad.grad(lambda v: mx.reduce(v))(np.array([1.0, 3.0, 2.0])), [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="inplace=False"):
        add.at(np.zeros(2), np.array([0]), 1.0)


# ---------------------------------------------------------------- histograms, calculus, bits


def test_histogramdd_and_2d_match_numpy():
    s = RNG.normal(size=(50, 3))
    w = RNG.uniform(size=50)
    for bins, rng, dens, wt in [(4, None, None, None), ([2, 3, 4], None, True, None),
                                (3, [(-1, 1), (-2, 2), (0, 1)], None, w),
                                ([np.array([-3.0, 0.0, 3.0]), 2, 5], None, True, w)]:  # fmt: skip
        h, edges = fnp.histogramdd(s, bins=bins, range=rng, density=dens, weights=wt)
        nh, nedges = np.histogramdd(s, bins=bins, range=rng, density=dens, weights=wt)
        close(h, nh, rtol=1e-12)
        for e, ne in zip(edges, nedges):
            close(e, ne)
    x, y = s[:, 0], s[:, 1]
    for bins in (5, [3, 4], np.linspace(-2, 2, 6)):
        got = fnp.histogram2d(x, y, bins=bins)
        want = np.histogram2d(x, y, bins=bins)
        for g, e in zip(got, want):
            close(g, e)
    edge = np.array([0.0, 1.0, 1.0])  # the last edge counts, as NumPy
    close(fnp.histogram2d(edge, edge, bins=2)[0], np.histogram2d(edge, edge, bins=2)[0])
    f = funcgrad.jit(
        lambda a, b, wt: fnp.histogram2d(a, b, bins=3, range=[(-2, 2), (-2, 2)], weights=wt)[0]
    )
    close(f(x, y, w), np.histogram2d(x, y, bins=3, range=[(-2, 2), (-2, 2)], weights=w)[0])
    check_grads(lambda wt: fnp.histogramdd(s, bins=3, weights=wt)[0], (w,), order=1)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_matches_numpy(edge_order):
    f = RNG.normal(size=(4, 5))
    xs = np.cumsum(RNG.uniform(0.5, 1.5, size=5))
    for args, kw in [((), {}), ((0.5,), {}), ((2.0, xs), {}), ((xs,), {"axis": 1}),
                     ((), {"axis": (1, 0)}), ((0.3,), {"axis": -1})]:  # fmt: skip
        got = fnp.gradient(f, *args, edge_order=edge_order, **kw)
        want = np.gradient(f, *args, edge_order=edge_order, **kw)
        if isinstance(want, (list, tuple)):
            assert len(got) == len(want)
            for g, e in zip(got, want):
                close(g, e, rtol=1e-11, atol=1e-11)
        else:
            close(got, want, rtol=1e-11, atol=1e-11)
    same(fnp.gradient(np.array([1, 4, 9, 16])), np.gradient(np.array([1, 4, 9, 16])))
    check_grads(lambda v, c: fnp.gradient(v, c, edge_order=edge_order), (f[0], xs), order=1)
    with pytest.raises(ValueError, match="edge_order"):
        fnp.gradient(np.ones(2), edge_order=2)


def test_unwrap_matches_numpy():
    phase = np.cumsum(RNG.uniform(-2.5, 2.5, size=(3, 20)), axis=1)
    wrapped = np.angle(np.exp(1j * phase))
    for kw in ({}, {"axis": 0}, {"discont": 4.0}, {"period": 6.0}, {"period": 1.0, "discont": 0.2}):
        close(fnp.unwrap(wrapped, **kw), np.unwrap(wrapped, **kw), rtol=1e-12, atol=1e-12)
    close(fnp.unwrap(np.array([0.0, np.pi, 0.0, -np.pi])), np.unwrap([0.0, np.pi, 0.0, -np.pi]))
    close(funcgrad.jit(fnp.unwrap)(wrapped), np.unwrap(wrapped), rtol=1e-12, atol=1e-12)
    check_grads(fnp.unwrap, (wrapped[0],), order=1)


@settings(max_examples=20, deadline=None)
@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6)),
       st.sampled_from(["big", "little"]), st.integers(-1, 2))  # fmt: skip
def test_packbits_unpackbits_match_numpy(a, bitorder, axis_choice):
    axis = None if axis_choice >= a.ndim else axis_choice
    same(
        fnp.packbits(a, axis=axis, bitorder=bitorder), np.packbits(a, axis=axis, bitorder=bitorder)
    )
    same(
        fnp.unpackbits(a, axis=axis, bitorder=bitorder),
        np.unpackbits(a, axis=axis, bitorder=bitorder),
    )
    for count in (0, 3, -2, 40):
        same(fnp.unpackbits(a, axis=axis, count=count, bitorder=bitorder),
             np.unpackbits(a, axis=axis, count=count, bitorder=bitorder))  # fmt: skip


def test_bits_under_jit_and_bool_input():
    b = RNG.integers(0, 2, size=(3, 11)).astype(bool)
    same(funcgrad.jit(lambda v: fnp.packbits(v, axis=1))(b), np.packbits(b, axis=1))
    with pytest.raises(TypeError, match="uint8"):
        fnp.unpackbits(np.array([1], np.int32))


# ---------------------------------------------------------------- index tricks, io, printing


def test_index_tricks_match_numpy():
    same(fnp.mgrid[0:3, 1:5:2], np.mgrid[0:3, 1:5:2])
    close(fnp.mgrid[-1:1:5j, 0:1:3j], np.mgrid[-1:1:5j, 0:1:3j])
    same(fnp.mgrid[0:4], np.mgrid[0:4])
    for g, e in zip(fnp.ogrid[0:3, 0:2:0.5], np.ogrid[0:3, 0:2:0.5]):
        same(g, e)
    a = np.array([[1, 2], [3, 4]])
    for key in [(np.array([1, 2]), 0, slice(4, 6)), (slice(1, 3), 0.5), ("0,2", [1, 2], [3, 4]),
                ("0,2,0", [1, 2], [3, 4]), ("1", a, a), ("-1,3,1", [1, 2], a[None]),
                (slice(0, 1, 3j), [7])]:  # fmt: skip
        same(fnp.r_[key], np.r_[key])
    for key in [(np.array([1, 2]), np.array([3, 4])), (a, a, np.array([[9], [8]])),
                (slice(1, 3), [4, 5])]:  # fmt: skip
        same(fnp.c_[key], np.c_[key])
    assert fnp.s_[1:2, ::3] == np.s_[1:2, ::3] and fnp.index_exp[2] == np.index_exp[2]
    x = fnp.arange(10)
    same(x[fnp.s_[2:8:3]], np.arange(10)[2:8:3])
    with pytest.raises(NotImplementedError, match="matrices"):
        fnp.r_["r", [1, 2]]


def test_host_io_round_trips(tmp_path):
    x = fnp.asarray(RNG.normal(size=(2, 3)).astype(np.float32))
    fnp.save(tmp_path / "x.npy", x)
    y = fnp.load(tmp_path / "x.npy")
    assert isinstance(y, fnp.ndarray)
    same(y, np.asarray(x))
    buf = io.BytesIO()
    fnp.savez(buf, x, b=fnp.arange(3))
    buf.seek(0)
    z = fnp.load(buf)
    same(z["arr_0"], np.asarray(x))
    same(z["b"], np.arange(3))
    raw = np.arange(5, dtype=np.int16)
    same(fnp.frombuffer(raw.tobytes(), dtype=np.int16, count=3, offset=2), raw[1:4])
    raw.tofile(tmp_path / "r.bin")
    same(fnp.fromfile(tmp_path / "r.bin", dtype=np.int16), raw)
    same(fnp.fromiter(iter([1.5, 2.5]), dtype=np.float32), np.array([1.5, 2.5], np.float32))
    same(fnp.fromstring("1,2,3", dtype=np.int32, sep=","), np.array([1, 2, 3], np.int32))
    close(
        funcgrad.jit(lambda v: fnp.fromiter((v[i] * i for i in range(3)), float))(np.ones(3)),
        [0.0, 1.0, 2.0],
    )
    with pytest.raises(funcgrad.ConcretizationError, match="save"):
        funcgrad.jit(lambda v: fnp.save(io.BytesIO(), v))(np.ones(2))


def test_printing_and_scalar_names():
    x = fnp.asarray([1.123456, 2.0])
    with fnp.printoptions(precision=2):
        assert fnp.array_str(x) == "[1.12 2.  ]"
        assert repr(x).startswith("Array([1.12, 2.  ]")
    assert fnp.array_repr(fnp.asarray([[1, 2], [3, 4]], fnp.int32)) == (
        "Array([[1, 2],\n       [3, 4]], dtype=int32)"
    )
    assert fnp.get_printoptions()["precision"] == 8
    assert fnp.int_ is np.int64 and fnp.single is np.float32 and fnp.cdouble is np.complex128
    assert fnp.iterable([1]) and not fnp.iterable(1)
    assert issubclass(fnp.ComplexWarning, RuntimeWarning)
