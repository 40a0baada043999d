"""Derivatives that were wrong, against independent oracles.

Each class: a rule that broadcast a 0-d operand's tangent wrongly (rem/fmod), functions
whose derivative is defined where a naive rule gives NaN or raises (x ** 0, std over a
constant slice, det of a singular matrix), eigh/cholesky differentiated as if they read
the whole matrix, complex inputs and complex decompositions, JAX's conventions (grad of
abs at 0, complex outputs), and the checks of tangents and cotangents in jvp/vjp/linearize.
Oracles: central finite differences written here, hand-computed values, cofactors.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import grad, jit, jvp, linearize, vjp, vmap
from funcgrad._src.lax import elementwise as ew

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def fd_grad(f, x, eps=1e-6):
    """Central differences of real-valued ``f`` (NumPy) at ``x``: for complex ``x``,
    df/d(re) - i df/d(im) (JAX's convention for grad of a real function)."""
    x = np.asarray(x)
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        g[idx] = (f(x + e) - f(x - e)) / (2 * eps)
        if x.dtype.kind == "c":
            g[idx] -= 1j * (f(x + 1j * e) - f(x - 1j * e)) / (2 * eps)
    return g


def all_routes(f, *args, argnums=0):
    """grad of f by the eager tape, jit(grad), vmap(grad) over a batch of one, and grad
    under jvp's general route (grad of a jitted f)."""
    g = grad(f, argnums)
    outs = [g(*args), jit(g)(*args), grad(jit(f), argnums)(*args)]
    batched = [fnp.stack([fnp.asarray(a)]) for a in args]
    outs.append(vmap(g)(*batched)[0])
    return [np.asarray(o) for o in outs]


# --- broadcasting of a 0-d operand's tangent ------------------------------------------


@pytest.mark.parametrize("op, d_dx", [
    (fnp.remainder, lambda x, c: np.ones_like(c)),
    (fnp.fmod, lambda x, c: np.ones_like(c)),
])  # fmt: skip
def test_rem_and_fmod_of_a_0d_operand_and_an_array_constant(op, d_dx):
    c = fnp.asarray([1.5, 2.5, 0.7])
    x = fnp.asarray(3.2)
    y, t = jvp(lambda x: op(x, c), (x,), (fnp.asarray(1.0),))
    assert t.shape == y.shape == (3,)
    np.testing.assert_allclose(np.asarray(t), d_dx(3.2, np.asarray(c)))
    for g in all_routes(lambda x: fnp.sum(op(x, c) * fnp.asarray([1.0, 2.0, 3.0])), x):
        assert g.shape == ()
        np.testing.assert_allclose(g, 6.0)
    # the divisor's derivative: -floor(x / c) (rem) or -trunc(x / c) (fmod), summed
    q = np.floor if op is fnp.remainder else np.trunc
    for g in all_routes(lambda c0: fnp.sum(op(c, c0)), fnp.asarray(-1.1)):
        np.testing.assert_allclose(g, -np.sum(q(np.asarray(c) / -1.1)))


@given(st.floats(-5, 5), st.floats(0.3, 4), st.booleans())
@settings(max_examples=10)
def test_binary_rules_give_output_shaped_tangents(x, y, swap):
    """Every binary elementwise primitive with a 0-d differentiated operand and an array
    constant: the tangent has the output's shape (the defjvp safety net)."""
    arr = fnp.asarray([y, y + 0.5])
    for name in ("add", "sub", "mul", "div", "pow", "max", "min", "fmax", "fmin", "rem", "fmod",
                 "atan2", "hypot", "logaddexp", "logaddexp2", "copysign"):  # fmt: skip
        prim = ew.binary_primitives[name]
        base = fnp.asarray(abs(x) + 0.1) if name == "pow" else fnp.asarray(x)

        def f(s, prim=prim):
            return prim.bind1(*((arr, s) if swap else (s, arr)))

        _, t = jvp(f, (base,), (fnp.asarray(1.0),))
        assert t.shape == (2,), name
        assert np.asarray(grad(lambda s: fnp.sum(f(s)))(base)).shape == (), name


# --- derivatives defined where a naive rule is NaN or raises ---------------------------


def test_power_with_a_zero_exponent_and_its_second_derivative_at_zero():
    assert float(grad(lambda x: x**0.0)(0.0)) == 0.0
    assert float(grad(grad(lambda x: x**1.0))(0.0)) == 0.0
    assert float(jit(grad(grad(lambda x: x**1.0)))(0.0)) == 0.0
    # an array exponent: the same where it is 0, the usual y x^(y-1) elsewhere
    g = grad(lambda x: fnp.sum(fnp.power(x, fnp.asarray([0.0, 2.0, 3.0]))))(fnp.zeros(3) + 2.0)
    np.testing.assert_allclose(np.asarray(g), [0.0, 4.0, 12.0])
    g0 = grad(lambda x: fnp.sum(fnp.power(x, fnp.asarray([0.0, 1.0]))))(fnp.zeros(2))
    np.testing.assert_allclose(np.asarray(g0), [0.0, 1.0])


def test_std_over_a_length_one_axis_or_a_constant_slice_has_zero_gradient():
    x = fnp.asarray(np.array([[1.0, -2.0, 3.0]]))
    for g in all_routes(lambda x: fnp.sum(fnp.std(x, axis=0)), x):
        np.testing.assert_array_equal(g, np.zeros((1, 3)))
    for g in all_routes(lambda x: fnp.sum(fnp.std(x, axis=1)), fnp.ones((2, 3))):
        np.testing.assert_array_equal(g, np.zeros((2, 3)))
    # elsewhere std's gradient is (x - mean) / (n std), checked by finite differences
    v = np.array([[1.0, 2.0, 4.0], [0.5, 0.5, 0.5]])
    expected = fd_grad(lambda a: np.sum(np.std(a, axis=1)[:1]), v)
    g = grad(lambda a: fnp.sum(fnp.std(a, axis=1)[:1]))(fnp.asarray(v))
    np.testing.assert_allclose(np.asarray(g), expected, atol=1e-6)
    assert np.isnan(float(fnp.std(fnp.asarray([np.nan, 1.0]))))


def _cofactors(a):
    n = a.shape[0]
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1))
                      for j in range(n)] for i in range(n)])  # fmt: skip


@pytest.mark.parametrize("a", [
    [[1.0, 2.0], [2.0, 4.0]],                            # rank 1
    [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],  # rank 2
    np.zeros((3, 3)),                                     # rank 0: adj = 0
    [[2.0, 1.0], [0.5, 3.0]],                             # invertible
    [[5.0]],
])  # fmt: skip
def test_grad_of_det_is_the_cofactor_matrix_also_for_singular_matrices(a):
    a = np.asarray(a, dtype=float)
    expected = _cofactors(a) if a.shape[0] > 1 else np.ones((1, 1))
    for g in all_routes(fnp.linalg.det, fnp.asarray(a)):
        np.testing.assert_allclose(g, expected, atol=1e-9)


def test_second_derivatives_of_det_at_the_identity_stay_finite():
    h = np.asarray(funcgrad.hessian(fnp.linalg.det)(fnp.eye(2))).reshape(4, 4)
    np.testing.assert_allclose(h, [[0, 0, 0, 1], [0, 0, -1, 0], [0, -1, 0, 0], [1, 0, 0, 0]])


# --- eigh and cholesky read one triangle: so does their derivative --------------------


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_gradient_matches_finite_differences_of_what_numpy_reads(uplo):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 3))
    a = a + a.T + np.diag([0.0, 3.0, 7.0])  # symmetric, distinct eigenvalues
    w = np.array([1.0, -2.0, 0.5])

    def f(m):
        return fnp.sum(fnp.linalg.eigh(m, UPLO=uplo)[0] * w)

    expected = fd_grad(lambda m: np.sum(np.linalg.eigh(m, UPLO=uplo)[0] * w), a)
    unread = np.triu(np.ones((3, 3)), 1) if uplo == "L" else np.tril(np.ones((3, 3)), -1)
    np.testing.assert_array_equal(expected[unread == 1], 0)  # the oracle reads one triangle
    for g in all_routes(f, fnp.asarray(a)):
        np.testing.assert_allclose(g, expected, atol=1e-6)
        np.testing.assert_array_equal(g[unread == 1], 0)
    # eigvalsh likewise; a non-symmetric input gives NumPy's values
    b = a + np.triu(np.ones((3, 3)), 1) * 5
    np.testing.assert_allclose(np.asarray(fnp.linalg.eigvalsh(fnp.asarray(b), UPLO="L")),
                               np.linalg.eigvalsh(b, UPLO="L"))  # fmt: skip


def test_cholesky_gradient_matches_finite_differences_of_the_lower_triangle():
    rng = np.random.default_rng(2)
    m = rng.normal(size=(3, 3))
    a = m @ m.T + 3 * np.eye(3)
    w = rng.normal(size=(3, 3))
    expected = fd_grad(lambda x: np.sum(np.linalg.cholesky(x) * w), a)
    for g in all_routes(lambda x: fnp.sum(fnp.linalg.cholesky(x) * w), fnp.asarray(a)):
        np.testing.assert_allclose(g, expected, atol=1e-6)


# --- complex inputs -------------------------------------------------------------------


def test_grad_of_a_complex_output_raises_and_real_functions_of_complex_inputs_work():
    z = fnp.asarray(3.0 + 4.0j)
    with pytest.raises(TypeError, match="real float output.*holomorphic=True"):
        grad(lambda z: z * z)(z)
    with pytest.raises(TypeError, match="holomorphic=True requires a complex output"):
        grad(lambda z: fnp.abs(z), holomorphic=True)(z)
    # JAX's documented example: f(z) = |z|^2 at 3 + 4j gives 6 - 8j (df/dx - i df/dy)
    for g in all_routes(lambda z: fnp.real(z) ** 2 + fnp.imag(z) ** 2, z):
        assert complex(g) == 6 - 8j
    assert complex(grad(fnp.abs)(fnp.asarray(0j))) == 0  # |z| at 0: 0, as in JAX


_RNG = np.random.default_rng(3)
_A = _RNG.normal(size=(3, 3)) + 1j * _RNG.normal(size=(3, 3))
_H = _A + _A.conj().T + np.diag([0.0, 3.0, 7.0])
_W = _RNG.normal(size=(3, 3))


def _svd_low_rank_part(a, m):
    u, s, vh = m.linalg.svd(a)
    return m.sum(m.real((u[:, :2] * s[:2]) @ vh[:2]) * _W)


def _svd_polar_factor(part):
    def f(a, m):
        u, _, vh = m.linalg.svd(a, full_matrices=False)
        return m.sum(part(m, u @ vh))

    return f


def _eigh_projector(a, m):
    v = m.linalg.eigh(a)[1][:, :1]
    return m.sum(m.real(v @ v.conj().T) * _W)


def _slogdet_parts(a, m):
    sign, logabsdet = m.linalg.slogdet(a)
    return logabsdet + 2 * m.real(sign) + m.imag(sign)


COMPLEX_DECOMPOSITIONS = {
    "svdvals": (lambda a, m: m.sum(m.linalg.svd(a, compute_uv=False) * np.array([1.0, 2, 3])), _A),
    "svd_vectors": (lambda a, m: m.sum(m.abs(m.linalg.svd(a)[0]) ** 2 * _W), _A),
    "svd_low_rank_part": (_svd_low_rank_part, _A),
    "svd_tall": (_svd_polar_factor(lambda m, x: m.imag(x)), _A[:, :2]),
    "svd_wide": (_svd_polar_factor(lambda m, x: m.real(x)), _A[:2]),
    "eigh_values": (lambda a, m: m.sum(m.linalg.eigh(a)[0] * np.array([1.0, 2, 3])), _H),
    "eigh_vectors": (lambda a, m: m.sum(m.abs(m.linalg.eigh(a)[1]) ** 2 * _W), _H),
    "eigh_projector": (_eigh_projector, _H),
    "cholesky": (lambda a, m: m.sum(m.abs(m.linalg.cholesky(a)) ** 2 * _W),
                 _H @ _H.conj().T + np.eye(3)),
    "slogdet": (_slogdet_parts, _A),
    "det": (lambda a, m: m.abs(m.linalg.det(a)), _A),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(COMPLEX_DECOMPOSITIONS))
def test_complex_decomposition_gradients_match_finite_differences(name):
    """Phase-independent functions of the complex decompositions, so that the oracle
    (NumPy's own phases) and funcgrad agree whatever phase convention either uses."""
    f, z = COMPLEX_DECOMPOSITIONS[name]
    expected = fd_grad(lambda a: f(a, np), z)
    for g in all_routes(lambda a: f(a, fnp), fnp.asarray(z)):
        np.testing.assert_allclose(g, expected, atol=1e-6)


# --- JAX conventions ------------------------------------------------------------------


def test_grad_of_abs_at_zero_is_one_as_in_jax():
    for g in all_routes(fnp.abs, fnp.asarray(0.0)):
        assert float(g) == 1.0
    g = grad(lambda x: fnp.sum(fnp.abs(x)))(fnp.asarray([-0.0, -2.0, 3.0], dtype=fnp.float32))
    np.testing.assert_array_equal(np.asarray(g), [1.0, -1.0, 1.0])
    assert g.dtype == np.float32


# --- tangents and cotangents are checked ---------------------------------------------


def test_jvp_vjp_and_linearize_check_tangent_and_cotangent_types():
    x32 = fnp.ones(3, dtype=fnp.float32)
    with pytest.raises(TypeError, match=r"jvp: tangent 0 has dtype float64.*float32"):
        jvp(fnp.sin, (x32,), (fnp.ones(3),))
    with pytest.raises(ValueError, match=r"jvp: tangent 0 has shape \(2,\).*\(3,\)"):
        jvp(fnp.sin, (x32,), (fnp.ones(2, dtype=fnp.float32),))
    _, f_vjp = vjp(fnp.sin, x32)
    with pytest.raises(TypeError, match=r"vjp: cotangent 0 has dtype float64.*float32"):
        f_vjp(fnp.ones(3))
    with pytest.raises(ValueError, match=r"vjp: cotangent 0 has shape \(2,\).*\(3,\)"):
        f_vjp(fnp.ones(2, dtype=fnp.float32))
    _, f_jvp = linearize(fnp.sin, x32)
    with pytest.raises(TypeError, match=r"linearize: tangent 0 has dtype float64.*float32"):
        f_jvp(fnp.ones(3))
    with pytest.raises(ValueError, match=r"linearize: tangent 0 has shape \(4,\)"):
        f_jvp(fnp.ones(4, dtype=fnp.float32))
    # a Python scalar is weak: it takes the value's dtype
    _, f_vjp0 = vjp(lambda x: fnp.sum(x), x32)
    (g,) = f_vjp0(1.0)
    assert g.dtype == np.float32
    _, t = jvp(lambda x: x * 2, (fnp.asarray(1.0, dtype=fnp.float32),), (1.0,))
    assert t.dtype == np.float32 and float(t) == 2.0
