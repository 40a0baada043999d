"""``funcgrad.scipy.cluster.vq``: vector quantisation (nearest code of each observation)."""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as fnp
from funcgrad._src import dtypes

__all__ = ["vq"]


def vq(obs: Any, code_book: Any, check_finite: bool = True) -> tuple[Any, Any]:
    r"""The nearest entry of ``code_book`` to each observation, and its distance.

    .. math:: \mathrm{code}_m = \arg\min_k \lVert o_m - c_k \rVert_2, \qquad
              \mathrm{dist}_m = \lVert o_m - c_{\mathrm{code}_m} \rVert_2

    Ties go to the lowest index, as in SciPy.

    Args:
        obs: observations, ``(M, N)``; a 1-D array is ``M`` observations of one feature.
        code_book: codes, ``(K, N)`` (1-D when ``obs`` is).
        check_finite: accepted for SciPy compatibility and ignored (as in JAX): it would
            need the values on the host, which ``jit`` does not have.

    Returns:
        ``(code, dist)``: integer indices ``(M,)`` and float distances ``(M,)``. ``dist``
        is differentiable in ``obs`` and ``code_book``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.cluster.vq import vq
        >>> code, dist = vq(fnp.asarray([[1.0, 2.0], [4.0, 6.0]]),
        ...                 fnp.asarray([[1.0, 2.0], [4.0, 2.0], [4.0, 5.0]]))
        >>> code.tolist(), dist.tolist()
        ([0, 2], [0.0, 1.0])
    """
    del check_finite
    fname = "funcgrad.scipy.cluster.vq.vq"
    obs, code_book = fnp.asarray(obs), fnp.asarray(code_book)
    if obs.ndim != code_book.ndim:
        raise ValueError(
            f"{fname}: obs (shape {obs.shape}) and code_book (shape {code_book.shape}) must "
            "have the same rank: both (M, N) and (K, N), or both 1-D"
        )
    if obs.ndim == 1:
        obs, code_book = obs[:, None], code_book[:, None]
    if obs.ndim != 2:
        raise ValueError(f"{fname}: obs and code_book must be 1-D or 2-D, got shape {obs.shape}")
    if obs.shape[1] != code_book.shape[1]:
        raise ValueError(
            f"{fname}: obs has {obs.shape[1]} features per row (shape {obs.shape}) but "
            f"code_book has {code_book.shape[1]} (shape {code_book.shape}); they must match"
        )
    dtype = dtypes.to_inexact(fnp.result_type(obs, code_book))
    obs, code_book = obs.astype(dtype), code_book.astype(dtype)
    diff = obs[:, None, :] - code_book[None, :, :]
    sq = fnp.sum(fnp.real(diff * fnp.conj(diff)), axis=-1)
    code = fnp.argmin(sq, axis=-1)
    # distance of the chosen code only: sqrt is not differentiable at 0 for the others
    nearest = fnp.take_along_axis(diff, code[:, None, None], axis=1)[:, 0, :]
    return code, fnp.linalg.norm(nearest, axis=-1)
