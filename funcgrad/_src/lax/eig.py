"""The nonsymmetric eigendecomposition primitive ``eig`` and its rules.

``eig_p`` maps a stack of square matrices ``(..., n, n)`` to its eigenvalues ``(..., n)``
and, on request, its left and right eigenvectors (columns, ``(..., n, n)``), always as
complex arrays (complex64 for float32/complex64 input, complex128 otherwise), in the
order eigenvalues, left, right, as ``jax.lax.linalg.eig``.

The kernel is NumPy's (LAPACK ``geev``) on the host, for every backend (CuPy has no
nonsymmetric eigensolver). The right eigenvectors are ``numpy.linalg.eig``'s, each of unit
2-norm with its component of largest modulus real and positive. That is NumPy's result
for complex input; for real input LAPACK leaves that component's sign free (and flips it
under small perturbations), so a column may differ from NumPy's by a factor -1: the
positive sign makes the vectors continuous functions of the matrix, which their
derivatives need. The left eigenvectors ``u_i`` (``u_i^H A = w_i u_i^H``) are the
columns of ``inv(V)^H`` (null vectors of ``(A - w_i I)^H`` where ``V`` is singular),
normalised the same way. Matrices with a NaN or inf give NaN outputs (NumPy raises), as
in JAX; 0 x 0 matrices give empty outputs.
"""

from __future__ import annotations

import math

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray
from funcgrad._src.interpreters.ad import Zero
from funcgrad._src.lax import linalg as _linalg

eig_p = Primitive("eig")


def _complex_dtype(dtype: np.dtype) -> np.dtype:
    single = dtype in (np.dtype(np.float32), np.dtype(np.complex64))
    return np.dtype(np.complex64 if single else np.complex128)


def _largest_component_positive(v: np.ndarray) -> np.ndarray:
    """Columns rotated so that the component of largest modulus is real and positive
    (a multiplication by +-1 where it is already real)."""
    k = np.argmax(np.abs(v), axis=-2)[..., None, :]
    pivot = np.take_along_axis(v, k, axis=-2)
    magnitude = np.abs(pivot)
    v = v * (np.conj(pivot) / np.where(magnitude == 0, 1, magnitude))
    np.put_along_axis(v, k, magnitude.astype(v.dtype), axis=-2)
    return v


def _left_eigenvectors(a: np.ndarray, w: np.ndarray, vr: np.ndarray) -> np.ndarray:
    """Unnormalised left eigenvectors (columns) of a stack of matrices: those of
    ``inv(V)^H``; where ``V`` is singular (a defective matrix, whose eigenvectors are
    parallel), for each eigenvalue the null vector of ``(A - w_i I)^H``, the left singular
    vector of ``A - w_i I`` of least singular value (NumPy raises on the inverse; LAPACK's
    ``geev`` and JAX return vectors)."""
    try:
        return np.conj(np.swapaxes(np.linalg.inv(vr), -1, -2))
    except np.linalg.LinAlgError:
        pass
    out = np.empty_like(vr)
    n = a.shape[-1]
    for k in range(a.shape[0]):
        try:
            out[k] = np.conj(np.linalg.inv(vr[k])).T
        except np.linalg.LinAlgError:
            u, _, _ = np.linalg.svd(a[k] - w[k][:, None, None] * np.eye(n))
            out[k] = u[:, :, -1].T
    return out


def _eig_host(a: np.ndarray, left: bool, right: bool) -> list[np.ndarray]:
    """NumPy's eigendecomposition of a stack of finite matrices."""
    dtype = _complex_dtype(a.dtype)
    w, vr = np.linalg.eig(a)
    outs = [w.astype(dtype)]
    vr = _largest_component_positive(vr.astype(dtype))
    if left:
        vl = _left_eigenvectors(a, outs[0], vr)
        vl = vl / np.linalg.norm(vl, axis=-2, keepdims=True)
        outs.append(_largest_component_positive(vl))
    if right:
        outs.append(vr)
    return outs


def _eig_impl(backend, x, *, compute_left_eigenvectors, compute_right_eigenvectors,
              enable_eigvec_derivs):  # fmt: skip
    del enable_eigvec_derivs  # a differentiation switch only
    a = np.asarray(backend.to_numpy(x))
    batch, n = a.shape[:-2], a.shape[-1]
    dtype = _complex_dtype(a.dtype)
    count = compute_left_eigenvectors + compute_right_eigenvectors
    shapes = [(*batch, n)] + [(*batch, n, n)] * count
    outs = [np.full(shape, np.nan, dtype) for shape in shapes]
    matrices = math.prod(batch)  # not reshape(-1, ...): ambiguous for 0 x 0 matrices
    stack = a.reshape(matrices, n, n)
    finite = np.isfinite(stack).all(axis=(-2, -1))
    if n and finite.any():  # 0 x 0 matrices have empty results (no NaN to replace)
        parts = _eig_host(stack[finite], compute_left_eigenvectors, compute_right_eigenvectors)
        for out, part in zip(outs, parts):
            out.reshape(matrices, *out.shape[len(batch) :])[finite] = part
    return [backend.asarray(out) for out in outs]


def _eig_abstract_eval(x, *, compute_left_eigenvectors, compute_right_eigenvectors,
                       enable_eigvec_derivs):  # fmt: skip
    _linalg._check_matrix("eig", x)
    if np.finfo(x.dtype).dtype == np.float16:
        raise TypeError("eig: float16 matrices are not supported; convert to float32 first")
    dtype = _complex_dtype(x.dtype)
    vectors = ShapedArray(x.shape, dtype)
    count = compute_left_eigenvectors + compute_right_eigenvectors
    return [ShapedArray(x.shape[:-1], dtype)] + [vectors] * count


eig_p.impl = _eig_impl
eig_p.abstract_eval = _eig_abstract_eval


# eig, for diagonalizable A with distinct eigenvalues, A = V diag(w) V^{-1}: with
# P = V^{-1} dA V,
#   dw = diag(P)
#   dV = V (F * P) + i c V - V Re(diag(V^H V (F * P))),  F_ij = 1 / (w_j - w_i) (0 on i = j)
# The first term is the derivative of the eigenvectors up to a complex multiple of each
# column; the last one keeps every column of unit norm (Re v^H dv = 0), and i c V is the
# gauge: c is chosen so that the largest component of each column keeps its phase
# (Im(dv_k / v_k) = 0), which is how the kernel normalises (largest component real), so
# the tangent is the derivative of the values the kernel returns. As in JAX, eigenvector
# derivatives need enable_eigvec_derivs=True (they are valid only where the eigenvalues
# are distinct, which cannot be checked under a trace), and left eigenvectors have none.
def _eig_jvp(primals, tangents, *, compute_left_eigenvectors, compute_right_eigenvectors,
             enable_eigvec_derivs):  # fmt: skip
    (a,), (da,) = primals, tangents
    outs = eig_p.bind(a, compute_left_eigenvectors=compute_left_eigenvectors,
                      compute_right_eigenvectors=compute_right_eigenvectors,
                      enable_eigvec_derivs=enable_eigvec_derivs)  # fmt: skip
    if compute_left_eigenvectors:
        raise NotImplementedError(
            "funcgrad.lax.linalg.eig: the derivatives of left eigenvectors are not implemented "
            "(as in JAX); pass compute_left_eigenvectors=False to differentiate"
        )
    if compute_right_eigenvectors and not enable_eigvec_derivs:
        raise NotImplementedError(
            "funcgrad.lax.linalg.eig: derivatives of nonsymmetric eigenvectors are only valid "
            "for matrices with distinct eigenvalues, which cannot be checked here; pass "
            "enable_eigvec_derivs=True to opt in (as in JAX), or differentiate eigvals"
        )
    if type(da) is Zero:
        return outs, [Zero(ShapedArray(o.shape, o.dtype)) for o in outs]
    if compute_right_eigenvectors:
        w, v = outs
    else:
        # eigenvalue derivatives of every order exist where the eigenvectors' do: the
        # eigenvectors bound here for the rule may be differentiated again
        w, v = eig_p.bind(a, compute_left_eigenvectors=False, compute_right_eigenvectors=True,
                          enable_eigvec_derivs=True)  # fmt: skip
    da = _linalg._as_dtype(da, v.dtype)
    p = _linalg._solve(v, _linalg._matmul(da, v))
    dw = _linalg._diagonal(p)
    if not compute_right_eigenvectors:
        return outs, [dw]
    return outs, [dw, _eigenvector_tangent(w, v, p)]


def _eigenvector_tangent(w, v, p):
    import funcgrad.numpy as fnp  # imported here: funcgrad.numpy is built on this package

    f = _linalg._inverse_differences(w, v.shape)
    dv = fnp.matmul(v, f * p)
    dv = dv - v * fnp.real(fnp.sum(fnp.conj(v) * dv, axis=-2, keepdims=True))
    pivot = fnp.argmax(fnp.abs(v), axis=-2, keepdims=True)
    v_k = fnp.take_along_axis(v, pivot, axis=-2)
    dv_k = fnp.take_along_axis(dv, pivot, axis=-2)
    return dv - 1j * fnp.imag(dv_k / v_k) * v


eig_p.jvp = _eig_jvp
eig_p.batch = _linalg._matrix_batcher(eig_p)
