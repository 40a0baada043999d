"""Structural primitives: dtype conversion, broadcasting, reshaping, transposition,
concatenation, padding and iota. None of them computes new values."""

from __future__ import annotations

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray

# --- convert_element_type -------------------------------------------------------------

convert_element_type_p = Primitive("convert_element_type")


def _convert_impl(backend, x, *, new_dtype):
    if type(x) in (bool, int, float, complex):
        return [backend.xp.asarray(x, dtype=new_dtype)]
    return [x.astype(new_dtype)]


convert_element_type_p.impl = _convert_impl
convert_element_type_p.abstract_eval = lambda x, *, new_dtype: [x.update(dtype=new_dtype, weak_type=False)]


# --- broadcast_in_dim -----------------------------------------------------------------

broadcast_in_dim_p = Primitive("broadcast_in_dim")


def _broadcast_in_dim_impl(backend, x, *, shape, broadcast_dimensions):
    xp = backend.xp
    if type(x) in (bool, int, float, complex):
        x = xp.asarray(x)
    expanded = [1] * len(shape)
    for in_dim, out_dim in enumerate(broadcast_dimensions):
        expanded[out_dim] = x.shape[in_dim]
    return [xp.broadcast_to(xp.reshape(x, expanded), shape)]


def _broadcast_in_dim_abstract_eval(x, *, shape, broadcast_dimensions):
    if len(broadcast_dimensions) != x.ndim:
        raise ValueError(
            f"broadcast_in_dim: operand of shape {x.shape} needs {x.ndim} broadcast "
            f"dimensions, got {broadcast_dimensions}"
        )
    if any(b >= a for a, b in zip(broadcast_dimensions[1:], broadcast_dimensions)):
        raise ValueError(f"broadcast_in_dim: broadcast_dimensions {broadcast_dimensions} must be increasing")
    for in_dim, out_dim in enumerate(broadcast_dimensions):
        if not 0 <= out_dim < len(shape) or x.shape[in_dim] not in (1, shape[out_dim]):
            raise ValueError(
                f"broadcast_in_dim: cannot broadcast operand of shape {x.shape} to {shape} "
                f"with broadcast_dimensions {broadcast_dimensions}"
            )
    return [ShapedArray(shape, x.dtype)]


broadcast_in_dim_p.impl = _broadcast_in_dim_impl
broadcast_in_dim_p.abstract_eval = _broadcast_in_dim_abstract_eval


# --- reshape --------------------------------------------------------------------------

reshape_p = Primitive("reshape")


def _reshape_abstract_eval(x, *, new_sizes):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size or any(d < 0 for d in new_sizes):
        raise ValueError(f"reshape: cannot reshape an array of shape {x.shape} into {new_sizes}")
    return [ShapedArray(new_sizes, x.dtype)]


reshape_p.impl = lambda backend, x, *, new_sizes: [backend.xp.reshape(x, new_sizes)]
reshape_p.abstract_eval = _reshape_abstract_eval


# --- transpose ------------------------------------------------------------------------

transpose_p = Primitive("transpose")


def _transpose_abstract_eval(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueError(
            f"transpose: permutation {permutation} is not a permutation of the "
            f"{x.ndim} axes of an array of shape {x.shape}"
        )
    return [ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype)]


transpose_p.impl = lambda backend, x, *, permutation: [backend.xp.transpose(x, permutation)]
transpose_p.abstract_eval = _transpose_abstract_eval


# --- concatenate ----------------------------------------------------------------------

concatenate_p = Primitive("concatenate")


def _concatenate_abstract_eval(*xs, dimension):
    first = xs[0]
    for x in xs[1:]:
        if (
            x.ndim != first.ndim
            or x.dtype != first.dtype
            or any(a != b for i, (a, b) in enumerate(zip(x.shape, first.shape)) if i != dimension)
        ):
            shapes = ", ".join(f"{y.dtype}{list(y.shape)}" for y in xs)
            raise ValueError(
                f"concatenate: operands must have one dtype and equal shapes except along "
                f"axis {dimension}; got {shapes}"
            )
    shape = list(first.shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return [ShapedArray(tuple(shape), first.dtype)]


concatenate_p.impl = lambda backend, *xs, dimension: [backend.xp.concatenate(xs, axis=dimension)]
concatenate_p.abstract_eval = _concatenate_abstract_eval


# --- pad ------------------------------------------------------------------------------

pad_p = Primitive("pad")


def _padded_size(size: int, lo: int, hi: int, interior: int) -> int:
    return lo + hi + size + max(size - 1, 0) * interior


def _pad_impl(backend, x, padding_value, *, padding_config):
    """Pad with ``lo``/``hi`` elements at each end and ``interior`` between elements.

    Negative ``lo``/``hi`` crop, as in XLA: pad the positive parts, then slice.
    """
    xp = backend.xp
    grown = [
        _padded_size(n, max(lo, 0), max(hi, 0), interior)
        for n, (lo, hi, interior) in zip(x.shape, padding_config)
    ]
    out = xp.full(grown, padding_value, dtype=x.dtype)
    inner = tuple(
        slice(max(lo, 0), max(lo, 0) + _padded_size(n, 0, 0, interior), interior + 1)
        for n, (lo, _, interior) in zip(x.shape, padding_config)
    )
    out[inner] = x
    crop = tuple(
        slice(-min(lo, 0), g + min(hi, 0)) for g, (lo, hi, _) in zip(grown, padding_config)
    )
    return [out[crop]]


def _pad_abstract_eval(x, padding_value, *, padding_config):
    if len(padding_config) != x.ndim:
        raise ValueError(f"pad: padding_config has {len(padding_config)} entries for an array of rank {x.ndim}")
    shape = tuple(_padded_size(n, lo, hi, i) for n, (lo, hi, i) in zip(x.shape, padding_config))
    if any(i < 0 for _, _, i in padding_config) or any(d < 0 for d in shape):
        raise ValueError(f"pad: padding_config {padding_config} is invalid for shape {x.shape}")
    return [ShapedArray(shape, x.dtype)]


pad_p.impl = _pad_impl
pad_p.abstract_eval = _pad_abstract_eval


# --- iota -----------------------------------------------------------------------------

iota_p = Primitive("iota")


def _iota_impl(backend, *, dtype, shape, dimension):
    xp = backend.xp
    line = xp.arange(shape[dimension], dtype=dtype)
    expanded = [1] * len(shape)
    expanded[dimension] = shape[dimension]
    return [xp.broadcast_to(xp.reshape(line, expanded), shape)]


iota_p.impl = _iota_impl
iota_p.abstract_eval = lambda *, dtype, shape, dimension: [ShapedArray(shape, dtype)]
