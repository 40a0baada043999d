"""funcgrad.scipy.linalg's special matrices, qr_multiply and solve_sylvester against SciPy:
every argument form, stacks of vectors, gradients by finite differences, jit and vmap."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.scipy import linalg
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(0)
_V = _RNG.standard_normal(6)


def _same(actual, expected, rtol=1e-13):
    actual = np.asarray(actual)
    assert actual.shape == np.shape(expected)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-14)


# (funcgrad call, SciPy call) pairs over the argument forms
_CASES = {
    "circulant": (lambda: linalg.circulant(_V), lambda: sl.circulant(_V)),
    "circulant_int": (lambda: linalg.circulant([1, 2, 3]), lambda: sl.circulant([1, 2, 3])),
    "companion": (lambda: linalg.companion(_V), lambda: sl.companion(_V)),
    "companion_int": (lambda: linalg.companion([2, 3, 4]), lambda: sl.companion([2, 3, 4])),
    "fiedler": (lambda: linalg.fiedler(_V), lambda: sl.fiedler(_V)),
    "hankel_c": (lambda: linalg.hankel(_V), lambda: sl.hankel(_V)),
    "hankel_c_r": (lambda: linalg.hankel(_V[:4], _V), lambda: sl.hankel(_V[:4], _V)),
    "hankel_long_c": (lambda: linalg.hankel(_V, _V[:2]), lambda: sl.hankel(_V, _V[:2])),
    "leslie": (lambda: linalg.leslie(_V, _V[1:]), lambda: sl.leslie(_V, _V[1:])),
    "helmert": (lambda: linalg.helmert(5), lambda: sl.helmert(5)),
    "helmert_full": (lambda: linalg.helmert(5, full=True), lambda: sl.helmert(5, full=True)),
    "hadamard": (lambda: linalg.hadamard(8), lambda: sl.hadamard(8)),
    "hadamard_float": (lambda: linalg.hadamard(4, dtype=float), lambda: sl.hadamard(4, float)),
}
_CASES.update({
    f"fiedler_companion_{k}": (lambda k=k: linalg.fiedler_companion(_V[:k]),
                               lambda k=k: sl.fiedler_companion(_V[:k]))
    for k in range(1, 7)
})  # fmt: skip
_CASES.update({
    f"convolution_matrix_{mode}_{m}_{n}": (
        lambda m=m, n=n, mode=mode: linalg.convolution_matrix(_V[:m], n, mode),
        lambda m=m, n=n, mode=mode: sl.convolution_matrix(_V[:m], n, mode))
    for mode in ("full", "same", "valid") for m in (1, 2, 5) for n in (1, 3, 4, 8)
})  # fmt: skip
_CASES.update({
    f"dft_{n}_{scale}": (lambda n=n, scale=scale: linalg.dft(n, scale),
                         lambda n=n, scale=scale: sl.dft(n, scale))
    for n in (1, 2, 3, 4, 7, 12) for scale in (None, "sqrtn", "n")
})  # fmt: skip
for _kind in (None, "symmetric", "lower", "upper"):
    for _n in (1, 4, 9):
        _CASES[f"pascal_{_kind}_{_n}"] = (
            lambda n=_n, k=_kind: linalg.pascal(n, k),
            lambda n=_n, k=_kind: sl.pascal(n, k or "symmetric").astype(float),
        )
        _CASES[f"invpascal_{_kind}_{_n}"] = (
            lambda n=_n, k=_kind: linalg.invpascal(n, k),
            lambda n=_n, k=_kind: sl.invpascal(n, k or "symmetric").astype(float),
        )
for _n in (1, 2, 5, 12, 16):  # SciPy's exact integers exceed int64 from n = 14
    _CASES[f"invhilbert_{_n}"] = (
        lambda n=_n: linalg.invhilbert(n),
        lambda n=_n: np.array(sl.invhilbert(n, exact=True), float),
    )


@pytest.mark.parametrize("name", sorted(_CASES))
def test_values_match_scipy(name):
    ours, theirs = _CASES[name]
    expected = theirs()
    actual = ours()
    _same(actual, expected)
    if not name.startswith(("pascal", "invpascal", "invhilbert")):
        assert np.asarray(actual).dtype == np.asarray(expected).dtype, name


def test_exact_integer_matrices():
    # invhilbert(n) @ hilbert(n) = I in exact rational arithmetic; in floats the entries
    # are the exact integers rounded once (checked against Python integers here)
    from fractions import Fraction

    n = 6
    inv = np.asarray(linalg.invhilbert(n)).astype(np.int64)
    product = [[sum(Fraction(int(inv[i, k]), k + j + 1) for k in range(n)) for j in range(n)]
               for i in range(n)]  # fmt: skip
    assert product == [[int(i == j) for j in range(n)] for i in range(n)]
    np.testing.assert_array_equal(np.asarray(linalg.invpascal(7)) @ np.asarray(linalg.pascal(7)),
                                  np.eye(7))  # fmt: skip


@pytest.mark.parametrize("name", ["circulant", "companion", "fiedler", "fiedler_companion",
                                  "hankel"])  # fmt: skip
def test_stacks_of_vectors_give_stacks_of_matrices(name):
    stack = _RNG.standard_normal((2, 3, 5))
    out = getattr(linalg, name)(stack)
    for idx in np.ndindex(2, 3):
        _same(out[idx], getattr(sl, name)(stack[idx]))
    leslie = linalg.leslie(stack, stack[..., 1:])
    _same(leslie[1, 2], sl.leslie(stack[1, 2], stack[1, 2, 1:]))


@pytest.mark.parametrize(
    ("fn", "args"),
    [(linalg.circulant, (_V,)), (linalg.companion, (_V,)), (linalg.fiedler, (_V,)),
     (linalg.fiedler_companion, (_V,)), (linalg.hankel, (_V[:3], _V)),
     (linalg.leslie, (_V, _V[1:])),
     (lambda a: linalg.convolution_matrix(a, 4, "same"), (_V[:3],))],
)  # fmt: skip
def test_gradients_and_jit(fn, args):
    check_grads(fn, args, order=2)
    eager, jitted = fn(*args), funcgrad.jit(fn)(*args)
    assert eager.dtype == jitted.dtype
    np.testing.assert_array_equal(np.asarray(jitted), np.asarray(eager))
    mapped = funcgrad.vmap(fn)(*(np.stack([a, 2 * a]) for a in args))
    np.testing.assert_allclose(np.asarray(mapped[1]), np.asarray(fn(*(2 * a for a in args))))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [(lambda: linalg.hadamard(6), ValueError, "hadamard: n must be a positive power of 2"),
     (lambda: linalg.dft(3, "bad"), ValueError, "dft: scale must be"),
     (lambda: linalg.pascal(3, "diag"), ValueError, "pascal: kind must be"),
     (lambda: linalg.invpascal(3, "diag"), ValueError, "invpascal: kind must be"),
     (lambda: linalg.convolution_matrix([1.0], 2, "middle"), ValueError, "mode must be"),
     (lambda: linalg.convolution_matrix(np.ones((2, 2)), 2), ValueError, "1-D"),
     (lambda: linalg.convolution_matrix([1.0], 0), ValueError, "n must be positive"),
     (lambda: linalg.companion([1.0]), ValueError, "companion: a must have at least 2"),
     (lambda: linalg.leslie([1.0, 2.0], [1.0, 2.0]), ValueError, "leslie: s must have one"),
     (lambda: linalg.leslie([1.0], []), ValueError, "leslie: f must have at least 2"),
     (lambda: linalg.helmert(-1), ValueError, "helmert: n must be a non-negative integer"),
     (lambda: linalg.qr_multiply(np.ones((3, 2)), np.ones((2, 2))), ValueError,
      r"c must have shape \(3,\) or \(\.\.\., P, 3\)"),
     (lambda: linalg.qr_multiply(np.ones((3, 2)), np.ones(2), mode="up"), ValueError, "mode"),
     (lambda: linalg.solve_sylvester(np.eye(2), np.eye(3), np.ones((3, 2))), ValueError,
      r"C must have shape \(\.\.\., 2, 3\)"),
     (lambda: linalg.solve_sylvester(np.eye(2), np.eye(2), np.eye(2), method="x"), ValueError,
      "method")],
)  # fmt: skip
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- qr_multiply ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3)])
@pytest.mark.parametrize("pivoting", [False, True])
@pytest.mark.parametrize("mode", ["left", "right"])
def test_qr_multiply_matches_scipy(shape, pivoting, mode):
    a = _RNG.standard_normal(shape)
    k = min(shape)
    for conjugate, complex_input in ((False, False), (True, True)):
        x = a + 1j * _RNG.standard_normal(shape) if complex_input else a
        inner = k if mode == "left" else shape[0]
        for c in (_RNG.standard_normal(inner),
                  _RNG.standard_normal((inner, 2) if mode == "left" else (2, inner))):  # fmt: skip
            ours = linalg.qr_multiply(x, c, mode=mode, pivoting=pivoting, conjugate=conjugate)
            theirs = sl.qr_multiply(x, c, mode=mode, pivoting=pivoting, conjugate=conjugate)
            assert len(ours) == len(theirs)
            for o, t in zip(ours, theirs):
                _same(o, t, rtol=1e-12)


def test_qr_multiply_gradients_jit_and_vmap():
    a, c = _RNG.standard_normal((4, 3)), _RNG.standard_normal((2, 4))

    def f(a, c):
        return linalg.qr_multiply(a, c, pivoting=True)[:2]

    check_grads(f, (a, c), order=1)
    for out, ref in zip(funcgrad.jit(f)(a, c), f(a, c)):
        np.testing.assert_allclose(np.asarray(out), np.asarray(ref), rtol=1e-14)
    stack = _RNG.standard_normal((3, 4, 3))
    mapped = funcgrad.vmap(lambda x: linalg.qr_multiply(x, c, pivoting=True))(stack)
    for i in range(3):
        for out, ref in zip(mapped, sl.qr_multiply(stack[i], c, pivoting=True)):
            _same(np.asarray(out)[i], ref, rtol=1e-12)


# --- solve_sylvester ------------------------------------------------------------------------


def test_solve_sylvester_matches_scipy_and_broadcasts():
    a, b = _RNG.standard_normal((3, 3)), _RNG.standard_normal((2, 2))
    c = _RNG.standard_normal((3, 2))
    _same(linalg.solve_sylvester(a, b, c), sl.solve_sylvester(a, b, c), rtol=1e-10)
    ac = a + 1j * _RNG.standard_normal((3, 3))
    _same(linalg.solve_sylvester(ac, b, c), sl.solve_sylvester(ac, b, c.astype(complex)),
          rtol=1e-10)  # fmt: skip
    stack = _RNG.standard_normal((4, 3, 3))
    out = linalg.solve_sylvester(stack, b, c)
    for i in range(4):
        _same(out[i], sl.solve_sylvester(stack[i], b, c), rtol=1e-10)
    assert linalg.solve_sylvester(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32),
                                  np.ones((2, 2), np.float32)).dtype == np.float32  # fmt: skip


def test_solve_sylvester_without_a_unique_solution_is_nan():
    a, b = np.diag([1.0, 2.0]), np.diag([-1.0, 3.0])  # 1 + (-1) = 0
    assert np.all(np.isnan(np.asarray(linalg.solve_sylvester(a, b, np.ones((2, 2))))))
    stack = np.stack([a, a + 0.5 * np.eye(2)])
    out = np.asarray(linalg.solve_sylvester(stack, b, np.ones((2, 2))))
    assert np.all(np.isnan(out[0])) and np.all(np.isfinite(out[1]))


def test_solve_sylvester_gradients_and_jit():
    a, b = _RNG.standard_normal((3, 3)) + 3 * np.eye(3), _RNG.standard_normal((2, 2))
    c = _RNG.standard_normal((3, 2))
    check_grads(linalg.solve_sylvester, (a, b, c), order=2)
    np.testing.assert_allclose(np.asarray(funcgrad.jit(linalg.solve_sylvester)(a, b, c)),
                               np.asarray(linalg.solve_sylvester(a, b, c)), rtol=1e-13)  # fmt: skip


@settings(deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_solve_sylvester_solves_the_equation(m, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, m)) + 4 * np.eye(m)
    b = rng.standard_normal((n, n)) + 4 * np.eye(n)
    c = rng.standard_normal((m, n))
    x = np.asarray(linalg.solve_sylvester(a, b, c))
    np.testing.assert_allclose(a @ x + x @ b, c, atol=1e-10)


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=6),
       st.lists(st.floats(-10, 10), min_size=1, max_size=6))  # fmt: skip
def test_hankel_and_circulant_property(c, r):
    _same(linalg.hankel(np.array(c), np.array(r)), sl.hankel(c, r))
    _same(linalg.circulant(np.array(c)), sl.circulant(c))
    _same(linalg.fiedler(np.array(c)), sl.fiedler(c))
    _same(fnp.asarray(linalg.convolution_matrix(np.array(c), len(r))) @ np.array(r),
          np.convolve(c, r), rtol=1e-12)  # fmt: skip
