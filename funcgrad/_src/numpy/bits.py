"""Bit packing of funcgrad.numpy: ``packbits`` and ``unpackbits`` (uint8 bytes <-> 0/1 bits).

Both are compositions of shifts, masks and reductions, so they work under ``jit`` and
``vmap``; bit order is NumPy's ``"big"`` (most significant bit first) or ``"little"``.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from funcgrad._src.numpy import base as fnp
from funcgrad._src.numpy.util import asarray, canonicalize_axis

__all__ = ["packbits", "unpackbits"]


def _bitorder(bitorder: Any, name: str) -> np.ndarray:
    """The bit weights of the 8 positions of a byte, in order."""
    if bitorder == "big":
        return np.array([128, 64, 32, 16, 8, 4, 2, 1], np.uint8)
    if bitorder == "little":
        return np.array([1, 2, 4, 8, 16, 32, 64, 128], np.uint8)
    raise ValueError(f"funcgrad.numpy.{name}: bitorder must be 'big' or 'little', got {bitorder!r}")


def _axis(axis: Any, ndim: int, name: str) -> int:
    return canonicalize_axis(axis, ndim, f"funcgrad.numpy.{name}")


def packbits(a, axis=None, bitorder="big"):
    """The nonzero-ness of ``a``'s elements packed 8 to a uint8 byte along ``axis``
    (flattened if ``axis`` is None), the last byte padded with zero bits.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.packbits(fnp.asarray([1, 0, 1, 1, 0, 0, 0, 0, 1])).tolist()
        [176, 128]
    """
    fname = "funcgrad.numpy.packbits"
    a = asarray(a, fname=fname)
    if a.dtype.kind not in "biu":
        raise TypeError(f"{fname}: a must be an integer or bool array, got dtype {a.dtype}")
    weights = _bitorder(bitorder, "packbits")
    if axis is None:
        a, axis = fnp.ravel(a), 0
    axis = _axis(axis, a.ndim, "packbits")
    bits = fnp.moveaxis(a != 0, axis, -1).astype(np.uint8)
    n = bits.shape[-1]
    pad = -n % 8
    if pad:
        bits = fnp.concatenate([bits, fnp.zeros(bits.shape[:-1] + (pad,), np.uint8)], axis=-1)
    bits = bits.reshape(bits.shape[:-1] + ((n + pad) // 8, 8))
    packed = fnp.sum(bits * asarray(weights), axis=-1, dtype=np.uint8)
    return fnp.moveaxis(packed, -1, axis)


def unpackbits(a, axis=None, count=None, bitorder="big"):
    """The bits of the uint8 array ``a`` as 0/1 uint8 values, 8 per byte along ``axis``
    (flattened if ``axis`` is None); ``count`` keeps that many bits (negative: drops from
    the end; more than available: pads with zeros), as NumPy.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.unpackbits(fnp.asarray([176], fnp.uint8)).tolist()
        [1, 0, 1, 1, 0, 0, 0, 0]
    """
    fname = "funcgrad.numpy.unpackbits"
    a = asarray(a, fname=fname)
    if a.dtype != np.uint8:
        raise TypeError(f"{fname}: expected an input array of unsigned byte data type (uint8), "
                        f"got {a.dtype}")  # fmt: skip
    weights = _bitorder(bitorder, "unpackbits")
    if axis is None:
        a, axis = fnp.ravel(a), 0
    axis = _axis(axis, a.ndim, "unpackbits")
    x = fnp.moveaxis(a, axis, -1)
    bits = ((x[..., None] & asarray(weights)) != 0).astype(np.uint8)
    bits = bits.reshape(x.shape[:-1] + (x.shape[-1] * 8,))
    if count is not None:
        count = operator.index(count)
        n = bits.shape[-1]
        keep = count if count >= 0 else max(n + count, 0)
        if keep <= n:
            bits = bits[..., :keep]
        else:
            bits = fnp.concatenate([bits, fnp.zeros(bits.shape[:-1] + (keep - n,), np.uint8)],
                                   axis=-1)  # fmt: skip
    return fnp.moveaxis(bits, -1, axis)
