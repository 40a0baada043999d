"""The FFT primitive ``fft``: discrete Fourier transforms over an operand's trailing axes.

``fft_p(x, fft_type, fft_lengths)`` transforms the last ``len(fft_lengths)`` axes with
the backend's pocketfft/cuFFT (``xp.fft``), unnormalised forward and ``1/n`` inverse
(NumPy's ``norm="backward"``); ``funcgrad.numpy.fft`` rescales for the other norms.

=========  ====================  ==========================================
type       operand               result
=========  ====================  ==========================================
FFT        complex (..., n)      complex (..., n)
IFFT       complex (..., n)      complex (..., n)
RFFT       real (..., n)         complex (..., n // 2 + 1) on the last axis
IRFFT      complex (..., m)      real (..., n), ``n = fft_lengths[-1]``
=========  ====================  ==========================================

Single precision stays single (float32 -> complex64), as in NumPy 2 and JAX.

Every type is linear (over the reals), so the JVP applies the same transform to the
tangent. Transposes (cotangents follow the project's convention, as JAX's: the
transpose of a linear map, with complex cotangents conjugated where the map is only
real-linear):

* FFT and IFFT: the DFT matrix is symmetric, so each is its own transpose.
* RFFT = "complex FFT of the real input, first ``n//2+1`` bins": the transpose pads the
  cotangent with zeros to ``n`` bins, applies the FFT, and keeps the real part.
* IRFFT: the Hermitian extension counts each bin other than 0 (and ``n/2`` for even
  ``n``) twice, so the transpose is ``conj(rfft(ct) * mask / prod(fft_lengths))`` with
  ``mask`` 1 on those bins and 2 elsewhere.
"""

from __future__ import annotations

import enum
import math

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray, get_aval, is_array_like
from funcgrad._src.interpreters.ad import Zero, deflinear
from funcgrad._src.interpreters.batching import moveaxis

__all__ = ["FftType", "fft"]


class FftType(enum.IntEnum):
    """The four transforms of :func:`fft` (JAX's ``jax.lax.FftType``)."""

    FFT = 0
    IFFT = 1
    RFFT = 2
    IRFFT = 3


fft_p = Primitive("fft")


def _complex_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.complex64) if dtype in (np.float32, np.complex64) else np.dtype(np.complex128)


def _real_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.float32) if dtype in (np.float32, np.complex64) else np.dtype(np.float64)


def _fft_impl(backend, x, *, fft_type, fft_lengths):
    fft_mod = backend.xp.fft
    k = len(fft_lengths)
    axes = tuple(range(x.ndim - k, x.ndim))
    if fft_type == FftType.FFT:
        out = fft_mod.fft(x, axis=-1) if k == 1 else fft_mod.fftn(x, axes=axes)
    elif fft_type == FftType.IFFT:
        out = fft_mod.ifft(x, axis=-1) if k == 1 else fft_mod.ifftn(x, axes=axes)
    elif fft_type == FftType.RFFT:
        out = fft_mod.rfft(x, axis=-1) if k == 1 else fft_mod.rfftn(x, axes=axes)
    else:
        n = fft_lengths[-1]
        out = fft_mod.irfft(x, n, axis=-1) if k == 1 else fft_mod.irfftn(x, fft_lengths, axes=axes)
    dtype = _fft_abstract_eval(ShapedArray(x.shape, x.dtype), fft_type=fft_type,
                               fft_lengths=fft_lengths)[0].dtype  # fmt: skip
    return [out if out.dtype == dtype else out.astype(dtype)]


def _fft_abstract_eval(x, *, fft_type, fft_lengths):
    k = len(fft_lengths)
    if k < 1 or k > 3 or x.ndim < k:
        raise ValueError(
            f"fft: transforms 1 to 3 trailing axes of an operand of at least that rank; got "
            f"fft_lengths {fft_lengths} for shape {x.shape}"
        )
    lead, tail = x.shape[: x.ndim - k], x.shape[x.ndim - k :]
    if fft_type in (FftType.FFT, FftType.IFFT):
        if x.dtype.kind != "c" or tail != tuple(fft_lengths):
            raise TypeError(
                f"fft: {fft_type.name} needs a complex operand whose trailing axes are "
                f"fft_lengths {fft_lengths}, got {x.str_short()}"
            )
        return [ShapedArray(x.shape, x.dtype)]
    if fft_type == FftType.RFFT:
        if x.dtype.kind != "f" or tail != tuple(fft_lengths):
            raise TypeError(
                f"fft: RFFT needs a real operand whose trailing axes are fft_lengths "
                f"{fft_lengths}, got {x.str_short()}"
            )
        shape = lead + tuple(fft_lengths[:-1]) + (fft_lengths[-1] // 2 + 1,)
        return [ShapedArray(shape, _complex_dtype(x.dtype))]
    expected = tuple(fft_lengths[:-1]) + (fft_lengths[-1] // 2 + 1,)
    if x.dtype.kind != "c" or tail != expected:
        raise TypeError(
            f"fft: IRFFT with fft_lengths {fft_lengths} needs a complex operand with trailing "
            f"axes {expected}, got {x.str_short()}"
        )
    return [ShapedArray(lead + tuple(fft_lengths), _real_dtype(x.dtype))]


def _fft(x, fft_type, fft_lengths):
    return fft_p.bind1(x, fft_type=fft_type, fft_lengths=fft_lengths)


def _fft_transpose(cts, x, *, fft_type, fft_lengths):
    from funcgrad._src.lax import elementwise as ew
    from funcgrad._src.lax import structural

    (ct,) = cts
    aval = x.aval
    if type(ct) is Zero:
        return [Zero(aval)]
    if fft_type in (FftType.FFT, FftType.IFFT):
        return [_fft(ct, fft_type, fft_lengths)]
    if fft_type == FftType.RFFT:
        n = fft_lengths[-1]
        pad = [(0, 0, 0)] * (ct.ndim - 1) + [(0, n - ct.shape[-1], 0)]
        zero = np.zeros((), ct.dtype)[()]
        full = structural.pad_p.bind1(ct, zero, padding_config=tuple(pad))
        return [ew.real_p.bind1(_fft(full, FftType.FFT, fft_lengths))]
    # IRFFT
    ct_real = ct if get_aval(ct).dtype.kind == "f" else ew.real_p.bind1(ct)
    spectrum = _fft(ct_real, FftType.RFFT, fft_lengths)
    m = spectrum.shape[-1]
    odd = fft_lengths[-1] % 2
    mask = np.full(m, 2.0)
    mask[0] = 1.0
    if not odd:
        mask[-1] = 1.0
    scale = (mask / math.prod(fft_lengths)).astype(spectrum.dtype)
    scaled = ew.mul_p.bind1(spectrum, _along_last_axis(scale, spectrum.shape))
    return [ew.conj_p.bind1(scaled)]


def _along_last_axis(values: np.ndarray, shape: tuple):
    """The 1-d constant ``values`` broadcast to ``shape`` along its last axis."""
    from funcgrad._src.lax import structural
    from funcgrad._src.numpy.util import asarray

    return structural.broadcast_in_dim_p.bind1(
        asarray(values), shape=tuple(shape), broadcast_dimensions=(len(shape) - 1,)
    )


def _fft_batch(args, dims, *, fft_type, fft_lengths):
    (x,), (d,) = args, dims
    k = len(fft_lengths)
    if d >= x.ndim - k:  # the batch axis is among the transformed ones: move it out
        x, d = moveaxis(x, d, 0), 0
    return [_fft(x, fft_type, fft_lengths)], [d]


fft_p.impl = _fft_impl
fft_p.abstract_eval = _fft_abstract_eval
fft_p.batch = _fft_batch
deflinear(fft_p, _fft_transpose)


def fft(x, fft_type, fft_lengths):
    """The ``fft_type`` transform (:class:`FftType` or its name: "FFT", "IFFT", "RFFT",
    "IRFFT") over the trailing ``len(fft_lengths)`` axes of ``x``; see the module
    docstring for shapes and dtypes. Real input to FFT/IFFT is converted to complex.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.fft(fnp.asarray([1.0, 0.0, 0.0, 0.0]), "RFFT", (4,)).tolist()
        [(1+0j), (1+0j), (1+0j)]
    """
    from funcgrad._src.numpy.util import asarray

    if isinstance(fft_type, str):
        try:
            fft_type = FftType[fft_type.upper()]
        except KeyError:
            raise ValueError(
                f"funcgrad.lax.fft: unknown fft_type {fft_type!r}; use FFT, IFFT, RFFT or IRFFT"
            ) from None
    fft_type = FftType(fft_type)
    x = x if is_array_like(x) else asarray(x)
    fft_lengths = tuple(int(n) for n in fft_lengths)
    if fft_type in (FftType.FFT, FftType.IFFT) and x.dtype.kind != "c":
        x = x.astype(_complex_dtype(x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)))
    elif fft_type == FftType.RFFT and x.dtype.kind != "f":
        if x.dtype.kind == "c":
            raise TypeError("funcgrad.lax.fft: RFFT needs a real operand, got complex")
        x = x.astype(np.float64)
    elif fft_type == FftType.IRFFT and x.dtype.kind != "c":
        x = x.astype(_complex_dtype(x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)))
    _fft_abstract_eval(get_aval(x), fft_type=fft_type, fft_lengths=fft_lengths)
    return _fft(x, fft_type, fft_lengths)
