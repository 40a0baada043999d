"""Op records (see test_primitives.py) for dynamic slicing, bitcasts, reduce_precision and fft.

References are written independently of the impls: clamped starts computed by hand and
sliced element by element, bitcasts through Python's ``struct``-free ``view`` of a fresh
copy, reduce_precision with ``math.frexp`` and Python's round-half-even, and FFTs
through NumPy's ``np.fft`` with explicit axes.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from op_record import OpRecord
from oracle import arrays, dtypes, shapes


def _clamp_starts(shape, starts, sizes):
    return [min(max(int(s), 0), n - k) for n, s, k in zip(shape, starts, sizes)]


def _draw_starts(data, shape):
    starts = []
    for n in shape:
        s = data.draw(st.integers(-2, n + 2), label="start")
        starts.append(np.int64(s) if data.draw(st.booleans(), label="array start") else s)
    return [np.asarray(s) if isinstance(s, np.integer) else s for s in starts]


def _dynamic_slice_draw(data):
    x = data.draw(arrays(dtypes("iufc"), shapes(1, 3, 1, 4)), label="x")
    sizes = tuple(data.draw(st.integers(0, n), label="size") for n in x.shape)
    return [x, *_draw_starts(data, x.shape)], {"slice_sizes": sizes}


def _dynamic_slice_ref(x, *starts, slice_sizes):
    lo = _clamp_starts(x.shape, starts, slice_sizes)
    out = np.empty(slice_sizes, x.dtype)
    for i in np.ndindex(*slice_sizes):
        out[i] = x[tuple(a + b for a, b in zip(lo, i))]
    return [out]


def _dynamic_update_slice_draw(data):
    x = data.draw(arrays(dtypes("iufc"), shapes(1, 3, 1, 4)), label="x")
    ushape = tuple(data.draw(st.integers(0, n), label="update size") for n in x.shape)
    u = data.draw(arrays(x.dtype, ushape), label="update")
    return [x, u, *_draw_starts(data, x.shape)], {}


def _dynamic_update_slice_ref(x, u, *starts):
    lo = _clamp_starts(x.shape, starts, u.shape)
    out = x.copy()
    for i in np.ndindex(*u.shape):
        out[tuple(a + b for a, b in zip(lo, i))] = u[i]
    return [out]


_BITCASTABLE = [np.dtype(d) for d in (np.int8, np.uint8, np.int16, np.uint16, np.float16, np.int32,
                                       np.uint32, np.float32, np.int64, np.uint64, np.float64,
                                       np.complex64)]  # fmt: skip


def _bitcast_draw(data):
    old = data.draw(st.sampled_from(_BITCASTABLE), label="old dtype")
    new = data.draw(st.sampled_from([d for d in _BITCASTABLE if d.kind != "c"]), label="new")
    shape = data.draw(shapes(0, 2, 1, 3), label="shape")
    if new.itemsize > old.itemsize:
        shape = (*shape, new.itemsize // old.itemsize)
    x = data.draw(arrays(old, shape), label="x")
    return [x], {"new_dtype": new}


def _bitcast_ref(x, *, new_dtype):
    raw = x.copy().tobytes()  # the bytes, reinterpreted
    flat = np.frombuffer(raw, dtype=new_dtype)
    if new_dtype.itemsize <= x.dtype.itemsize:
        ratio = x.dtype.itemsize // new_dtype.itemsize
        shape = x.shape if ratio == 1 else (*x.shape, ratio)
    else:
        shape = x.shape[:-1]
    return [flat.reshape(shape)]


_FORMATS = [(5, 10), (8, 7), (5, 2), (4, 3), (8, 23), (11, 52), (8, 10)]


def _reduce_precision_draw(data):
    dtype = data.draw(dtypes("f", exclude=(np.float16,)), label="dtype")
    x = data.draw(arrays(dtype, shapes(0, 2, 0, 4), min_value=-1e6, max_value=1e6), label="x")
    x = np.where(np.abs(x) < np.finfo(dtype).tiny, dtype.type(0), x).astype(dtype)
    src = {4: (8, 23), 8: (11, 52)}[dtype.itemsize]
    e, m = data.draw(st.sampled_from([f for f in _FORMATS if f[0] <= src[0] and f[1] <= src[1]]))
    return [x], {"exponent_bits": e, "mantissa_bits": m}


def _round_to_format(v: float, e_bits: int, m_bits: int) -> float:
    if v == 0 or not math.isfinite(v):
        return v
    emax = 2 ** (e_bits - 1) - 1
    _, exp = math.frexp(v)  # v = mant * 2**exp, 0.5 <= |mant| < 1
    lead = exp - 1  # the exponent of the leading bit
    scaled = math.ldexp(v, m_bits - lead)
    rounded = math.ldexp(round(scaled), lead - m_bits)  # Python rounds half to even
    _, exp2 = math.frexp(rounded)
    lead = exp2 - 1
    if lead > emax:
        return math.copysign(math.inf, v)
    if lead < 1 - emax:
        return math.copysign(0.0, v)
    return rounded


def _reduce_precision_ref(x, *, exponent_bits, mantissa_bits):
    flat = [_round_to_format(float(v), exponent_bits, mantissa_bits) for v in x.ravel()]
    return [np.asarray(flat, dtype=x.dtype).reshape(x.shape)]


def _fft_draw(data):
    kind = data.draw(st.sampled_from(["FFT", "IFFT", "RFFT", "IRFFT"]), label="type")
    k = data.draw(st.integers(1, 3), label="axes")
    lead = data.draw(shapes(0, 1, 1, 3), label="lead")
    lengths = tuple(data.draw(st.integers(1, 5), label="n") for _ in range(k))
    if kind == "RFFT":
        dtype, shape = data.draw(dtypes("f", exclude=(np.float16,))), lead + lengths
    else:
        dtype = data.draw(dtypes("c"))
        shape = lead + (lengths if kind != "IRFFT" else lengths[:-1] + (lengths[-1] // 2 + 1,))
    x = data.draw(arrays(dtype, shape, min_value=-4, max_value=4), label="x")
    from funcgrad._src.lax.fft import FftType

    return [x], {"fft_type": FftType[kind], "fft_lengths": lengths}


def _fft_ref(x, *, fft_type, fft_lengths):
    k = len(fft_lengths)
    axes = tuple(range(x.ndim - k, x.ndim))
    name = fft_type.name.lower() + "n"
    if name == "irfftn":
        out = np.fft.irfftn(x, s=fft_lengths, axes=axes)
    else:
        out = getattr(np.fft, name)(x, axes=axes)
    single = x.dtype in (np.float32, np.complex64)
    if out.dtype.kind == "c":
        return [out.astype(np.complex64 if single else np.complex128)]
    return [out.astype(np.float32 if single else np.float64)]


RECORDS: list[OpRecord] = [
    OpRecord("dynamic_slice", _dynamic_slice_draw, _dynamic_slice_ref),
    OpRecord("dynamic_update_slice", _dynamic_update_slice_draw, _dynamic_update_slice_ref),
    OpRecord("bitcast_convert_type", _bitcast_draw, _bitcast_ref),
    OpRecord("reduce_precision", _reduce_precision_draw, _reduce_precision_ref),
    OpRecord("fft", _fft_draw, _fft_ref, rtol=1e-4),
]
