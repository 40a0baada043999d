"""Convolution primitives: ``conv_general_dilated`` with JAX's meaning of every argument.

``conv_general_dilated_p`` is one N-d convolution (a cross-correlation, as in every deep
learning library: the kernel is not flipped) with window strides, explicit ``(lo, hi)``
padding (negative values crop), input ("lhs") dilation, kernel ("rhs") dilation,
feature groups and batch groups, on operands whose axes are named by
:class:`ConvDimensionNumbers`. No Python loop runs over pixels, channels or examples;
the impl picks one of three algorithms, all BLAS products:

* im2col (the default): the ``conv_patches`` matrix of the input's windows (one strided
  view, copied once; channels last, so NHWC needs no transposes) times the kernel
  matrix, one ``matmul`` over the groups;
* scatter, for convolutions over mostly padding (input gradients: the cotangent padded
  by the window): every input element times every tap's kernel matrix, each tap's
  products added as one shifted slice;
* banded rows, the scatter's variant where the last spatial axis is short: its taps and
  the features are summed by one matmul with a banded matrix.

Differentiation (a choice of this library, not JAX's): the JVP computes the primal
through the patches and reuses them for the kernel's tangent, so that the kernel's
gradient is ``patches^T @ cotangent`` on the saved patches; the input's tangent is a
convolution, and the transpose rules for both operands are convolutions, as in JAX
(``linear_transpose`` and higher orders use them). ``conv_patches_transpose`` (col2im)
is the patches' transpose, for differentiating through them again.

Group conventions (as in XLA): with ``feature_group_count = G`` the input features,
and the output features, are split into G consecutive blocks; block g of the output
sees only block g of the input. With ``batch_group_count = B`` the input batch is split
into B consecutive blocks and the output features into B consecutive blocks; block b of
the output features is computed from batch block b (the output batch has size N / B).

``conv_transpose`` is PyTorch's ``ConvTranspose`` as a composition: the gradient of a
convolution with respect to its input, i.e. a convolution of the input dilated by the
stride with the flipped kernel.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from funcgrad._src.core import Array, Primitive, ShapedArray, Tracer
from funcgrad._src.interpreters.ad import Zero, deflinear, is_undefined, zeros_like_aval
from funcgrad._src.lax.elementwise import add_p
from funcgrad._src.lax.indexing import IndexSlice, gather_p
from funcgrad._src.lax.linalg import dot_general_p
from funcgrad._src.lax.structural import reshape_p, transpose_p

__all__ = ["ConvDimensionNumbers", "conv_general_dilated", "conv_transpose"]


class ConvDimensionNumbers(NamedTuple):
    """Axis positions of the operands and result of a convolution.

    ``lhs_spec = (batch axis, feature axis, spatial axes...)``,
    ``rhs_spec = (output-feature axis, input-feature axis, spatial axes...)``,
    ``out_spec = (batch axis, feature axis, spatial axes...)``; the k-th spatial entry of
    each spec names the same spatial dimension.
    """

    lhs_spec: tuple[int, ...]
    rhs_spec: tuple[int, ...]
    out_spec: tuple[int, ...]


# --- shapes ----------------------------------------------------------------------------


def _dilated(n: int, d: int) -> int:
    """Size of an axis of ``n`` elements with ``d - 1`` zeros inserted between them."""
    return 0 if n == 0 else (n - 1) * d + 1


def _conv_shape(lhs_shape, rhs_shape, *, window_strides, padding, lhs_dilation, rhs_dilation,
                dimension_numbers, feature_group_count, batch_group_count,
                fname="conv_general_dilated") -> tuple[int, ...]:  # fmt: skip
    """The result shape; raises an error naming ``fname`` for inconsistent arguments."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    nsp = len(lhs_spec) - 2
    n, c = lhs_shape[lhs_spec[0]], lhs_shape[lhs_spec[1]]
    o, i = rhs_shape[rhs_spec[0]], rhs_shape[rhs_spec[1]]
    fg, bg = feature_group_count, batch_group_count
    where = f"lhs shape {tuple(lhs_shape)}, rhs shape {tuple(rhs_shape)}"
    if fg < 1 or bg < 1:
        raise ValueError(f"{fname}: feature_group_count and batch_group_count must be >= 1, "
                         f"got {fg} and {bg}")  # fmt: skip
    if fg > 1 and bg > 1:
        raise ValueError(f"{fname}: at most one of feature_group_count ({fg}) and "
                         f"batch_group_count ({bg}) may be greater than 1")  # fmt: skip
    if c != i * fg:
        raise ValueError(
            f"{fname}: the lhs feature dimension ({c}) must equal the rhs input-feature "
            f"dimension ({i}) times feature_group_count ({fg}) ({where})"
        )
    if o % fg or o % bg:
        raise ValueError(
            f"{fname}: the rhs output-feature dimension ({o}) must be a multiple of "
            f"feature_group_count ({fg}) and batch_group_count ({bg}) ({where})"
        )
    if n % bg:
        raise ValueError(f"{fname}: the lhs batch dimension ({n}) must be a multiple of "
                         f"batch_group_count ({bg}) ({where})")  # fmt: skip
    out = [0] * (nsp + 2)
    out[out_spec[0]], out[out_spec[1]] = n // bg, o
    for k in range(nsp):
        size, ksize = lhs_shape[lhs_spec[k + 2]], rhs_shape[rhs_spec[k + 2]]
        if ksize < 1:
            raise ValueError(f"{fname}: the kernel's spatial dimensions must be >= 1 ({where})")
        lo, hi = padding[k]
        padded = _dilated(size, lhs_dilation[k]) + lo + hi
        window = _dilated(ksize, rhs_dilation[k])
        out[out_spec[k + 2]] = max(0, (padded - window) // window_strides[k] + 1)
    return tuple(out)


def _check_params(fname, ndim, window_strides, padding, lhs_dilation, rhs_dilation) -> None:
    nsp = ndim - 2
    for name, value in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                        ("rhs_dilation", rhs_dilation), ("padding", padding)):  # fmt: skip
        if len(value) != nsp:
            raise ValueError(
                f"{fname}: {name} must have one entry per spatial dimension ({nsp} for "
                f"operands with {ndim} axes), got {value}"
            )
    for name, value in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                        ("rhs_dilation", rhs_dilation)):  # fmt: skip
        if any(v < 1 for v in value):
            raise ValueError(f"{fname}: {name} must be positive, got {value}")


# --- conv_general_dilated ----------------------------------------------------------------

conv_general_dilated_p = Primitive("conv_general_dilated")


def _conv_impl(backend, lhs, rhs, **params):
    xp = backend.xp
    out_shape = _conv_shape(lhs.shape, rhs.shape, **params)
    dtype = np.result_type(lhs.dtype, rhs.dtype)
    if 0 in out_shape:
        return [xp.zeros(out_shape, dtype=dtype)]
    if _scatter_is_cheaper(lhs.shape, rhs.shape, out_shape, **params):
        by = _conv_by_banded_rows if _banded_size(lhs.shape, rhs.shape, out_shape, **params) <= (
            _MAX_BANDED_SIZE) else _conv_by_scatter  # fmt: skip
        return [by(xp, lhs, rhs, out_shape, **params).astype(dtype, copy=False)]
    patch_params = _patch_params(rhs.shape, **params)
    shape = _patch_shape(lhs.shape, **patch_params)
    (cols,) = _patches_impl(backend, lhs, **patch_params)
    ops = _BufferOps(xp)
    # the kernel is small: made contiguous, so that matmul takes the BLAS path
    w = xp.ascontiguousarray(_kernel_matrix(ops, rhs, params["dimension_numbers"][1], shape.groups))
    rows = xp.matmul(cols, w).astype(dtype, copy=False)
    return [_rows_to_output(ops, rows, shape, params["dimension_numbers"][2])]


# A convolution over an input that is mostly padding (the input gradient of a
# convolution: the cotangent padded by the window on each side) reads each input element
# through every kernel tap, so im2col copies K times the padded input. Scattering costs
# K times the *unpadded* input times the output features instead: every input element
# times every tap's kernel matrix (one matmul), each tap's products added at the output
# positions it reaches. Only for unit strides and no lhs dilation (each tap's block then
# lands as one contiguous shifted slice) and without groups.
def _scatter_is_cheaper(lhs_shape, rhs_shape, out_shape, *, window_strides, lhs_dilation,
                        dimension_numbers, feature_group_count, batch_group_count,
                        **_) -> bool:  # fmt: skip
    if feature_group_count != 1 or batch_group_count != 1:
        return False
    if any(s != 1 for s in window_strides) or any(d != 1 for d in lhs_dilation):
        return False
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    in_pixels = math.prod(lhs_shape[a] for a in lhs_spec[2:])
    out_pixels = math.prod(out_shape[a] for a in out_spec[2:])
    in_features, out_features = lhs_shape[lhs_spec[1]], rhs_shape[rhs_spec[0]]
    return in_pixels * out_features < out_pixels * in_features


def _conv_by_scatter(xp, lhs, rhs, out_shape, *, padding, rhs_dilation, dimension_numbers,
                     **_):  # fmt: skip
    """The convolution as a scatter (see _scatter_is_cheaper); unit strides and lhs
    dilation, no groups.

    Input element i meets kernel tap t at output position y = i + lo - t * rd (per
    spatial axis). Positions are counted on an accumulator grid z = y - lo + (T - 1) * rd
    = i + (T - 1 - t) * rd of size E = size + (T - 1) * rd. Every axis but the first is
    laid out with E entries per line (input lines padded with zeros), so that a tap's
    products, in input order, land as one contiguous slice of the flat accumulator.
    """
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    x = xp.transpose(lhs, (lhs_spec[1], lhs_spec[0], *lhs_spec[2:]))  # (C, N, spatial...)
    w = xp.transpose(rhs, (*rhs_spec[2:], rhs_spec[0], rhs_spec[1]))  # (spatial..., O, C)
    c, n, *sizes = x.shape
    *taps, o, _ = w.shape
    nsp = len(sizes)
    extent = [s + (t - 1) * r for s, t, r in zip(sizes, taps, rhs_dilation)]
    lines = (sizes[0], *extent[1:])  # the input on the accumulator's line length
    padded_x = xp.zeros((c, n, *lines), dtype=x.dtype)
    padded_x[(slice(None), slice(None), *(slice(0, s) for s in sizes))] = x
    length = math.prod(lines)
    # (taps..., O, N * length): every input element times every tap's kernel matrix
    products = xp.matmul(xp.reshape(w, (-1, c)), xp.reshape(padded_x, (c, n * length)))
    products = xp.reshape(products, (math.prod(taps), o, n, length))
    line_strides = [math.prod(extent[k + 1 :]) for k in range(nsp)]
    # one spare line: the zero padding of the last input line may run past the end
    acc = xp.zeros((o, n, math.prod(extent) + line_strides[0]), dtype=products.dtype)
    for index, tap in enumerate(np.ndindex(*taps)):
        start = sum((t_count - 1 - t) * r * st for t, t_count, r, st
                    in zip(tap, taps, rhs_dilation, line_strides))  # fmt: skip
        dst = acc[:, :, start : start + length]
        xp.add(dst, products[index], out=dst)
    acc = xp.reshape(acc[:, :, : math.prod(extent)], (o, n, *extent))
    # output y is accumulator position z = y - lo + (T - 1) * rd: copy the overlap
    out_sizes = [out_shape[a] for a in out_spec[2:]]
    to_out_spec = tuple(int(a) for a in np.argsort((out_spec[1], out_spec[0], *out_spec[2:])))
    out = xp.zeros((o, n, *out_sizes), dtype=acc.dtype)
    src, dst = [], []
    for size, e, t, r, (lo, _) in zip(out_sizes, extent, taps, rhs_dilation, padding):
        shift = (t - 1) * r - lo  # z = y + shift
        first, last = max(0, -shift), min(size, e - shift)
        if last <= first:
            return xp.transpose(out, to_out_spec)
        dst.append(slice(first, last))
        src.append(slice(first + shift, last + shift))
    out[(slice(None), slice(None), *dst)] = acc[(slice(None), slice(None), *src)]
    return xp.transpose(out, to_out_spec)  # (O, N, spatial...) -> out_spec's layout


# The scatter's matmul writes K products per input element, then adds them. Where the
# last spatial axis is short, its taps and the input features are summed inside the
# matmul instead: each input line (last axis x features) times a banded matrix whose
# column (y, o) holds, at row (i, c), the kernel entry w[t, c, o] of the tap t that takes
# input i to output y along that axis (so the band also absorbs its padding). The other
# axes' taps stay a scatter of whole lines. Used while that matrix has at most this many
# entries (its size grows with the square of the last axis).
_MAX_BANDED_SIZE = 1 << 20


def _banded_size(lhs_shape, rhs_shape, out_shape, *, dimension_numbers, **_) -> int:
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    return (lhs_shape[lhs_spec[-1]] * lhs_shape[lhs_spec[1]] * out_shape[out_spec[-1]]
            * math.prod(rhs_shape[a] for a in rhs_spec[:1] + rhs_spec[2:-1]))  # fmt: skip


def _conv_by_banded_rows(xp, lhs, rhs, out_shape, *, padding, rhs_dilation, dimension_numbers,
                         **_):  # fmt: skip
    """The scatter of _conv_by_scatter with the last axis's taps summed by a banded matmul
    (see _MAX_BANDED_SIZE); the same domain."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    x = xp.transpose(lhs, _channels_last(lhs_spec))  # (N, spatial..., C)
    w = xp.transpose(rhs, (*rhs_spec[2:], rhs_spec[1], rhs_spec[0]))  # (spatial..., C, O)
    n, *sizes, c = x.shape
    *taps, _, o = w.shape
    out_sizes = [out_shape[a] for a in out_spec[2:]]
    size, y_size, t_last, rd, lo = (
        sizes[-1],
        out_sizes[-1],
        taps[-1],
        rhs_dilation[-1],
        padding[-1][0],
    )
    other = taps[:-1]
    # the band: rows (i, c), columns (other taps..., y, o)
    band = xp.zeros((size, c, math.prod(other), y_size, o), dtype=w.dtype)
    i, t, y = (xp.asarray(a) for a in _band_entries(size, t_last, rd, lo, y_size))
    w_last = xp.reshape(xp.moveaxis(w, len(taps) - 1, 0), (t_last, math.prod(other), c, o))
    band[i, :, :, y, :] = xp.swapaxes(w_last[t], 1, 2)
    lines = xp.matmul(xp.reshape(x, (-1, size * c)),
                      xp.reshape(band, (size * c, -1)))  # fmt: skip
    lines = xp.reshape(lines, (n, *sizes[:-1], math.prod(other), y_size * o))
    if not other:
        return _from_channels_last(xp, xp.reshape(lines, (n, y_size, o)), out_spec)
    acc = xp.zeros((n, *out_sizes[:-1], y_size * o), dtype=lines.dtype)
    for k, tap in enumerate(np.ndindex(*other)):
        src, dst = [], []
        for s_in, s_out, t_a, r, (lo_a, _) in zip(sizes, out_sizes, tap, rhs_dilation, padding):
            shift = lo_a - t_a * r  # output y = input i + shift
            first, last = max(0, -shift), min(s_in, s_out - shift)
            if last <= first:
                break
            src.append(slice(first, last))
            dst.append(slice(first + shift, last + shift))
        else:
            target = acc[(slice(None), *dst)]
            xp.add(target, lines[(slice(None), *src, k)], out=target)
    return _from_channels_last(xp, xp.reshape(acc, (n, *out_sizes, o)), out_spec)


@functools.lru_cache(maxsize=256)
def _band_entries(size: int, taps: int, dilation: int, lo: int, out_size: int) -> tuple:
    """(input i, tap t, output y) along one axis for every tap that takes an input to
    an output (y = i + lo - t * dilation inside [0, out_size))."""
    i, t = np.meshgrid(np.arange(size), np.arange(taps), indexing="ij")
    y = i + lo - t * dilation
    hit = (y >= 0) & (y < out_size)
    return i[hit], t[hit], y[hit]


def _from_channels_last(xp, out, out_spec):
    """(N, spatial..., O) in ``out_spec``'s layout."""
    return xp.transpose(out, tuple(int(a) for a in np.argsort(_channels_last(out_spec))))


def _conv_abstract_eval(lhs, rhs, **params):
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise ValueError(
            f"conv_general_dilated: lhs and rhs must have the same number of axes (at least "
            f"2), got shapes {lhs.shape} and {rhs.shape}"
        )
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"conv_general_dilated: operand dtypes differ: {lhs.dtype} and {rhs.dtype}")
    return [ShapedArray(_conv_shape(lhs.shape, rhs.shape, **params), lhs.dtype)]


conv_general_dilated_p.impl = _conv_impl
conv_general_dilated_p.abstract_eval = _conv_abstract_eval

_conv = conv_general_dilated_p.bind1


def _reshape(x, shape):
    shape = tuple(shape)
    return x if tuple(x.shape) == shape else reshape_p.bind1(x, new_sizes=shape)


def _transpose(x, perm):
    perm = tuple(int(p) for p in perm)
    return x if perm == tuple(range(len(perm))) else transpose_p.bind1(x, permutation=perm)


def _flip_spatial(x, spec):
    """``x`` reversed along its spatial axes ``spec[2:]`` (a strided view)."""
    flipped = set(spec[2:])
    indexer = tuple(IndexSlice(None, None, -1 if a in flipped else None) for a in range(x.ndim))
    return gather_p.bind1(x, indexer=indexer)


def _canonical_spec(ndim: int) -> tuple[int, ...]:
    return tuple(range(ndim))


def _swap_kernel_features(w, groups):
    """A canonical (G * A, B, ...) kernel as (G * B, A, ...), block by block."""
    a, b, *sp = w.shape
    w = _reshape(w, (groups, a // groups, b, *sp))
    w = _transpose(w, (0, 2, 1, *range(3, 3 + len(sp))))
    return _reshape(w, (groups * b, a // groups, *sp))


# --- im2col: the patches of the input, and their transpose -------------------------------
# A convolution is one matrix product: the (rows, K) matrix of input patches (one row per
# example and output position, one column per kernel tap and input feature, features
# last) times the (K, O) kernel matrix; with groups, one such product per group, stacked
# as (G, rows, K) @ (G, K, O / G). Rows are ordered (batch, output spatial...) and columns
# (kernel spatial..., feature), so that an NHWC/HWIO convolution needs no transpose of
# its operands or its result. conv_general_dilated's impl is that product, and so is its
# JVP: the patches of the primal input are then a residual shared by the kernel's
# gradient (patches^T @ cotangent), and the input's gradient is the transpose of im2col
# (col2im: each kernel tap's slice of ``cotangent @ kernel^T`` added at its shifted
# window positions) instead of a convolution over the dilated, padded cotangent, which
# would cost K times more memory traffic on mostly zeros.

conv_patches_p = Primitive("conv_patches")
conv_patches_transpose_p = Primitive("conv_patches_transpose")


def _channels_last(lhs_spec) -> tuple[int, ...]:
    """The permutation taking an lhs laid out by ``lhs_spec`` to (N, spatial..., C)."""
    return (lhs_spec[0], *lhs_spec[2:], lhs_spec[1])


class _PatchShape(NamedTuple):
    """Sizes of an im2col: batch and feature blocks, output and kernel spatial sizes."""

    batch_groups: int
    feature_groups: int
    nb: int  # examples per batch group
    cg: int  # input features per feature group
    out_sizes: tuple[int, ...]
    kernel_sizes: tuple[int, ...]

    @property
    def groups(self) -> int:
        return self.batch_groups * self.feature_groups

    @property
    def rows(self) -> int:
        return self.nb * math.prod(self.out_sizes)

    @property
    def columns(self) -> int:
        return math.prod(self.kernel_sizes) * self.cg

    @property
    def matrix_shape(self) -> tuple[int, ...]:
        """The patches' shape: (rows, K), or (G, rows, K) with groups."""
        rows_k = (self.rows, self.columns)
        return rows_k if self.groups == 1 else (self.groups, *rows_k)


def _patch_shape(lhs_shape, *, window_strides, padding, lhs_dilation, rhs_dilation,
                 kernel_sizes, lhs_spec, feature_group_count, batch_group_count) -> _PatchShape:  # fmt: skip
    n, c = lhs_shape[lhs_spec[0]], lhs_shape[lhs_spec[1]]
    out_sizes = []
    for k, ksize in enumerate(kernel_sizes):
        lo, hi = padding[k]
        padded = _dilated(lhs_shape[lhs_spec[k + 2]], lhs_dilation[k]) + lo + hi
        window = _dilated(ksize, rhs_dilation[k])
        out_sizes.append(max(0, (padded - window) // window_strides[k] + 1))
    return _PatchShape(batch_group_count, feature_group_count, n // batch_group_count,
                       c // feature_group_count, tuple(out_sizes), tuple(kernel_sizes))  # fmt: skip


def _padded_channels_last(xp, lhs, lhs_spec, lhs_dilation, padding):
    """``lhs`` as (N, spatial..., C), with interior zeros (lhs dilation) and edge padding
    on the spatial axes; negative padding crops. A view when there is neither."""
    x = xp.transpose(lhs, _channels_last(lhs_spec))
    if all(d == 1 for d in lhs_dilation) and all(lo == 0 and hi == 0 for lo, hi in padding):
        return x
    sizes = [_dilated(n, d) for n, d in zip(x.shape[1:-1], lhs_dilation)]
    grown = [n + max(lo, 0) + max(hi, 0) for n, (lo, hi) in zip(sizes, padding)]
    out = xp.zeros((x.shape[0], *grown, x.shape[-1]), dtype=x.dtype)
    inner = tuple(
        slice(max(lo, 0), max(lo, 0) + n, d) for n, d, (lo, _) in zip(sizes, lhs_dilation, padding)
    )
    out[(slice(None), *inner, slice(None))] = x
    crop = tuple(slice(max(-lo, 0), g - max(-hi, 0)) for g, (lo, hi) in zip(grown, padding))
    return out[(slice(None), *crop, slice(None))]


def _tap_major(lhs_shape, lhs_spec, window_strides) -> bool:
    """One input feature: a row of a window is only a few adjacent elements, so the
    copy is faster tap by tap, each tap's column a run of whole output rows; the
    (K, rows) matrix is then handed out transposed (BLAS reads either layout)."""
    return lhs_shape[lhs_spec[1]] == 1 and window_strides[-1] == 1


def _ordered_windows(xp, lhs, shape: _PatchShape, **params):
    """Every window of ``lhs`` as one strided view, its axes in the order of the patch
    matrix's memory: (G, rows..., K...), or (G, K..., rows...) when tap-major."""
    x = _padded_channels_last(
        xp, lhs, params["lhs_spec"], params["lhs_dilation"], params["padding"]
    )
    nsp = x.ndim - 2
    sn, *ss, sc = x.strides
    strides, dilation = params["window_strides"], params["rhs_dilation"]
    # (N, out spatial..., kernel spatial..., C)
    windows = xp.lib.stride_tricks.as_strided(
        x,
        shape=(x.shape[0], *shape.out_sizes, *shape.kernel_sizes, x.shape[-1]),
        strides=(sn, *(s * st for s, st in zip(ss, strides)),
                 *(s * d for s, d in zip(ss, dilation)), sc),
    )  # fmt: skip
    windows = xp.reshape(
        windows,
        (shape.batch_groups, shape.nb, *windows.shape[1:-1], shape.feature_groups, shape.cg),
    )
    osp, ksp = tuple(range(2, 2 + nsp)), tuple(range(2 + nsp, 2 + 2 * nsp))
    fg_axis, cg_axis = 2 + 2 * nsp, 3 + 2 * nsp
    if _tap_major(lhs.shape, params["lhs_spec"], strides):
        return xp.transpose(windows, (0, fg_axis, *ksp, cg_axis, 1, *osp))
    return xp.transpose(windows, (0, fg_axis, 1, *osp, *ksp, cg_axis))


def _as_patches(xp, memory, shape: _PatchShape, tap_major: bool):
    """The (rows, K) / (G, rows, K) patch matrix over ``memory`` laid out as copied."""
    g, rows, k = shape.groups, shape.rows, shape.columns
    if tap_major:
        cols = xp.swapaxes(xp.reshape(memory, (g, k, rows)), 1, 2)
    else:
        cols = xp.reshape(memory, (g, rows, k))
    return cols[0] if g == 1 else cols


def _patches_impl(backend, lhs, **params):
    xp = backend.xp
    shape = _patch_shape(lhs.shape, **params)
    if 0 in shape.matrix_shape:
        return [xp.zeros(shape.matrix_shape, dtype=lhs.dtype)]
    ordered = _ordered_windows(xp, lhs, shape, **params)
    tap_major = _tap_major(lhs.shape, params["lhs_spec"], params["window_strides"])
    return [_as_patches(xp, xp.ascontiguousarray(ordered), shape, tap_major)]


# For jit's buffer pool (codegen): the patch matrix written into a buffer the program
# keeps between calls, laid out as the impl lays it out.
def patches_buffer(backend, lhs_aval, **params):
    """An uninitialised patch matrix for an lhs of ``lhs_aval``'s type."""
    shape = _patch_shape(lhs_aval.shape, **params)
    tap_major = _tap_major(lhs_aval.shape, params["lhs_spec"], params["window_strides"])
    g, rows, k = shape.groups, shape.rows, shape.columns
    memory = backend.xp.empty((g, k, rows) if tap_major else (g, rows, k), dtype=lhs_aval.dtype)
    return _as_patches(backend.xp, memory, shape, tap_major)


def patches_into(backend, out, lhs, **params):
    """The patches of ``lhs`` copied into ``out`` (made by patches_buffer)."""
    xp = backend.xp
    shape = _patch_shape(lhs.shape, **params)
    if 0 in shape.matrix_shape:
        return [out]
    ordered = _ordered_windows(xp, lhs, shape, **params)
    memory = out if out.ndim == 3 else out[None]
    if _tap_major(lhs.shape, params["lhs_spec"], params["window_strides"]):
        memory = xp.swapaxes(memory, 1, 2)
    target = memory.view()
    target.shape = ordered.shape  # a view of ``out``'s memory, never a copy (else raises)
    xp.copyto(target, ordered)
    return [out]


def _patches_abstract_eval(lhs, **params):
    return [ShapedArray(_patch_shape(lhs.shape, **params).matrix_shape, lhs.dtype)]


def _col2im_impl(backend, patches, *, lhs_shape, **params):
    xp = backend.xp
    shape = _patch_shape(lhs_shape, **params)
    lhs_spec, padding = params["lhs_spec"], params["padding"]
    strides, ld, rd = params["window_strides"], params["lhs_dilation"], params["rhs_dilation"]
    perm = _channels_last(lhs_spec)
    n, *sizes, c = (lhs_shape[a] for a in perm)
    back = tuple(int(a) for a in np.argsort(perm))
    if 0 in patches.shape:
        return [xp.transpose(xp.zeros((n, *sizes, c), dtype=patches.dtype), back)]
    bg, fg, nb, cg = shape.batch_groups, shape.feature_groups, shape.nb, shape.cg
    nsp = len(sizes)
    padded = [_dilated(s, d) + lo + hi for s, d, (lo, hi) in zip(sizes, ld, padding)]
    acc = xp.zeros((bg, nb, *padded, fg, cg), dtype=patches.dtype)
    taps = xp.reshape(patches, (bg, fg, nb, *shape.out_sizes, *shape.kernel_sizes, cg))
    everything = (slice(None),) * (3 + nsp)
    # one addition per kernel tap: its column block lands on the positions it read
    for tap in np.ndindex(*shape.kernel_sizes):
        window = tuple(slice(t * r, t * r + (o - 1) * s + 1, s)
                       for t, r, o, s in zip(tap, rd, shape.out_sizes, strides))  # fmt: skip
        dst = acc[(slice(None), slice(None), *window)]
        xp.add(dst, xp.moveaxis(taps[(*everything, *tap)], 1, -2), out=dst)
    acc = xp.reshape(acc, (n, *padded, c))
    # input element i sat at padded position i * ld + lo (dropped ones get no gradient)
    if any(d != 1 for d in ld) or any(p != (0, 0) for p in padding):
        out = xp.zeros((n, *sizes, c), dtype=patches.dtype)
        src, dst = [], []
        for size, d, (lo, _), p in zip(sizes, ld, padding, padded):
            first = max(0, -(lo // d))  # smallest i with i * d + lo >= 0
            last = min(size, (p - 1 - lo) // d + 1)  # one past the largest inside
            if last <= first:
                return [xp.transpose(out, back)]
            dst.append(slice(first, last))
            src.append(slice(first * d + lo, (last - 1) * d + lo + 1, d))
        out[(slice(None), *dst, slice(None))] = acc[(slice(None), *src, slice(None))]
        acc = out
    return [xp.transpose(acc, back)]


def _col2im_abstract_eval(patches, *, lhs_shape, **params):
    return [ShapedArray(tuple(lhs_shape), patches.dtype)]


conv_patches_p.impl = _patches_impl
conv_patches_p.abstract_eval = _patches_abstract_eval
conv_patches_transpose_p.impl = _col2im_impl
conv_patches_transpose_p.abstract_eval = _col2im_abstract_eval


def _patches_transpose(cts, lhs, **params):
    (ct,) = cts
    if type(ct) is Zero:
        return [Zero(lhs.aval)]
    return [conv_patches_transpose_p.bind1(ct, lhs_shape=tuple(lhs.aval.shape), **params)]


def _col2im_transpose(cts, patches, *, lhs_shape, **params):
    (ct,) = cts
    if type(ct) is Zero:
        return [Zero(patches.aval)]
    return [conv_patches_p.bind1(ct, **params)]


deflinear(conv_patches_p, _patches_transpose)
deflinear(conv_patches_transpose_p, _col2im_transpose)


# Batching: the mapped axis joins the batch (inside each batch group), so the rows of
# each group become (mapped, batch, output spatial...).
def _merged_batch_params(params, ndim):
    """Parameters for an lhs in (N, spatial..., C) layout."""
    return dict(params, lhs_spec=(0, ndim - 1, *range(1, ndim - 1)))


def _patches_batch(args, dims, **params):
    (x,), (bd,) = args, dims
    nd = x.ndim - 1
    bg = params["batch_group_count"]
    x = _transpose(x, (bd, *(a + (a >= bd) for a in _channels_last(params["lhs_spec"]))))
    v, n, *rest = x.shape
    if bg > 1:  # keep the batch groups outermost: (B, V, Nb)
        x = _transpose(_reshape(x, (v, bg, n // bg, *rest)), (1, 0, *range(2, nd + 2)))
    x = _reshape(x, (v * n, *rest))
    out = conv_patches_p.bind1(x, **_merged_batch_params(params, nd))
    if out.ndim == 2:
        return [_reshape(out, (v, out.shape[0] // v, out.shape[1]))], [0]
    g, rows, k = out.shape
    return [_reshape(out, (g, v, rows // v, k))], [1]


def _col2im_batch(args, dims, *, lhs_shape, **params):
    (ct,), (bd,) = args, dims
    grouped = ct.ndim == 4
    to = 1 if grouped else 0
    ct = _transpose(ct, (*[a for a in range(to + 1) if a != bd][:to], bd,
                         *[a for a in range(ct.ndim) if a != bd][to:]))  # fmt: skip
    v = ct.shape[1 if grouped else 0]
    ct = _reshape(ct, (ct.shape[0], v * ct.shape[2], ct.shape[3]) if grouped
                  else (v * ct.shape[1], ct.shape[2]))  # fmt: skip
    perm = _channels_last(params["lhs_spec"])
    n, *rest = (lhs_shape[a] for a in perm)
    bg = params["batch_group_count"]
    out = conv_patches_transpose_p.bind1(
        ct, lhs_shape=(v * n, *rest), **_merged_batch_params(params, len(lhs_shape))
    )
    if bg > 1:  # (B, V, Nb) back to (V, B, Nb)
        out = _reshape(out, (bg, v, n // bg, *rest))
        out = _transpose(out, (1, 0, *range(2, len(rest) + 3)))
    out = _reshape(out, (v, n, *rest))
    back = np.argsort(perm)
    return [_transpose(out, (0, *(int(a) + 1 for a in back)))], [0]


conv_patches_p.batch = _patches_batch
conv_patches_transpose_p.batch = _col2im_batch


# --- the convolution as patches @ kernel matrix, on buffers or on traced values --------


class _BufferOps:
    """Array operations on raw buffers (the impl)."""

    def __init__(self, xp):
        self.reshape, self.transpose = xp.reshape, xp.transpose


class _TracedOps:
    """The same operations as primitives (the JVP rule: differentiable, traceable)."""

    reshape = staticmethod(lambda x, shape: _reshape(x, shape))
    transpose = staticmethod(lambda x, perm: _transpose(x, perm))

    @staticmethod
    def matmul(a, b):
        dims = (((a.ndim - 1,), (b.ndim - 2,)), ((0,), (0,)) if a.ndim == 3 else ((), ()))
        return dot_general_p.bind1(a, b, dimension_numbers=dims)


def _kernel_matrix(ops, rhs, rhs_spec, groups):
    """The (K, O) kernel matrix, (G, K, O / G) with groups: rows (spatial..., feature)."""
    w = ops.transpose(rhs, (rhs_spec[0], *rhs_spec[2:], rhs_spec[1]))  # (O, spatial..., I)
    o, *sp, i = w.shape
    k = math.prod(sp) * i
    if groups == 1:
        return ops.transpose(ops.reshape(w, (o, k)), (1, 0))
    return ops.transpose(ops.reshape(w, (groups, o // groups, k)), (0, 2, 1))


def _rows_to_output(ops, rows, shape: _PatchShape, out_spec):
    """The convolution's result from its (rows, O) or (G, rows, O / G) product."""
    nsp = len(shape.out_sizes)
    if shape.groups == 1:
        out = ops.reshape(rows, (shape.nb, *shape.out_sizes, rows.shape[-1]))
    else:
        og = rows.shape[-1]
        out = ops.reshape(rows, (shape.groups, shape.nb, *shape.out_sizes, og))
        out = ops.transpose(out, (1, *range(2, 2 + nsp), 0, 2 + nsp))
        out = ops.reshape(out, (shape.nb, *shape.out_sizes, shape.groups * og))
    # (N, spatial..., O) -> out_spec's layout
    return ops.transpose(out, tuple(int(a) for a in np.argsort(_channels_last(out_spec))))


def _patch_params(rhs_shape, *, window_strides, padding, lhs_dilation, rhs_dilation,
                  dimension_numbers, feature_group_count, batch_group_count) -> dict:  # fmt: skip
    lhs_spec, rhs_spec, _ = dimension_numbers
    return {
        "window_strides": window_strides, "padding": padding, "lhs_dilation": lhs_dilation,
        "rhs_dilation": rhs_dilation, "kernel_sizes": tuple(rhs_shape[a] for a in rhs_spec[2:]),
        "lhs_spec": tuple(lhs_spec), "feature_group_count": feature_group_count,
        "batch_group_count": batch_group_count,
    }  # fmt: skip


# The JVP computes the primal as patches @ kernel matrix (what the impl does), so that
# the patches are computed once and reused by the kernel's tangent (see im2col above);
# the input's tangent is a convolution, so its transpose is one too.
def _conv_jvp(primals, tangents, **params):
    (lhs, rhs), (t_lhs, t_rhs) = primals, tangents
    out_aval = ShapedArray(_conv_shape(lhs.shape, rhs.shape, **params), lhs.dtype)
    if type(t_lhs) is Zero and type(t_rhs) is Zero:
        return [_conv(lhs, rhs, **params)], [Zero(out_aval)]
    if 0 in out_aval.shape or 0 in lhs.shape or 0 in rhs.shape:  # nothing to factor
        out = _conv(lhs, rhs, **params)
        return [out], [zeros_like_aval(out_aval)]
    _, rhs_spec, out_spec = params["dimension_numbers"]
    patch_params = _patch_params(rhs.shape, **params)
    shape = _patch_shape(lhs.shape, **patch_params)
    ops = _TracedOps
    patches = conv_patches_p.bind1(lhs, **patch_params)
    kernel = _kernel_matrix(ops, rhs, rhs_spec, shape.groups)
    out = _rows_to_output(ops, ops.matmul(patches, kernel), shape, out_spec)
    tangent = None
    if type(t_rhs) is not Zero:
        rows = ops.matmul(patches, _kernel_matrix(ops, t_rhs, rhs_spec, shape.groups))
        tangent = _rows_to_output(ops, rows, shape, out_spec)
    if type(t_lhs) is not Zero:
        # a convolution of the tangent: transposed, a convolution of the cotangent
        # (the scatter algorithm of the impl runs it: see _scatter_is_cheaper)
        t_out = _conv(t_lhs, rhs, **params)
        tangent = t_out if tangent is None else add_p.bind1(tangent, t_out)
    return [out], [tangent]


conv_general_dilated_p.jvp = _conv_jvp


# Transposes (one spatial axis shown; each axis alike). The forward pairs the input
# element x with output y and kernel tap k when x * ld + lo == y * s + k * rd (ld, rd the
# lhs and rhs dilations, s the stride, lo the low padding).
#
# lhs: x = (y * s + k * rd - lo) / ld, a convolution of the cotangent dilated by s with
# the flipped kernel: stride ld, rhs dilation rd, low padding (window - 1 - lo), high
# padding chosen so that the result has the input's size; kernel input and output
# features swap within each group. Batch groups become feature groups of the transpose,
# whose output features then fold back into the batch.
def _conv_transpose_lhs(ct, rhs, lhs_aval, *, window_strides, padding, lhs_dilation,
                        rhs_dilation, dimension_numbers, feature_group_count,
                        batch_group_count):  # fmt: skip
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    nd = len(lhs_spec)
    pads = []
    for k in range(nd - 2):
        size = lhs_aval.shape[lhs_spec[k + 2]]
        window = _dilated(rhs.shape[rhs_spec[k + 2]], rhs_dilation[k])
        ct_size = _dilated(ct.shape[out_spec[k + 2]], window_strides[k])
        lo = window - 1 - padding[k][0]
        pads.append((lo, (size - 1) * lhs_dilation[k] + window - ct_size - lo))
    groups = feature_group_count * batch_group_count
    canon = _canonical_spec(nd)
    if groups == 1:
        w, w_spec = rhs, (rhs_spec[1], rhs_spec[0], *rhs_spec[2:])
    else:
        w, w_spec = _swap_kernel_features(_transpose(rhs, rhs_spec), groups), canon
    w = _flip_spatial(w, w_spec)
    params = {"window_strides": lhs_dilation, "padding": tuple(pads),
              "lhs_dilation": window_strides, "rhs_dilation": rhs_dilation,
              "feature_group_count": groups, "batch_group_count": 1}  # fmt: skip
    if batch_group_count == 1:
        return _conv(ct, w, dimension_numbers=ConvDimensionNumbers(out_spec, w_spec, lhs_spec),
                     **params)  # fmt: skip
    out = _conv(ct, w, dimension_numbers=ConvDimensionNumbers(out_spec, w_spec, canon), **params)
    nb, bc, *sp = out.shape
    c = bc // groups
    out = _reshape(out, (nb, groups, c, *sp))
    out = _transpose(out, (1, 0, *range(2, nd + 1)))
    out = _reshape(out, (groups * nb, c, *sp))
    return _transpose(out, np.argsort(lhs_spec))


# rhs: k = (x * ld + lo - y * s) / rd, a convolution of the input with the cotangent as
# kernel in which batch and feature axes swap roles (the batch is contracted): stride rd,
# rhs dilation s, lhs dilation ld, the same low padding. Feature groups become batch
# groups and batch groups feature groups.
def _conv_transpose_rhs(ct, lhs, rhs_aval, *, window_strides, padding, lhs_dilation,
                        rhs_dilation, dimension_numbers, feature_group_count,
                        batch_group_count):  # fmt: skip
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    pads = []
    for k in range(len(lhs_spec) - 2):
        ksize = rhs_aval.shape[rhs_spec[k + 2]]
        size = _dilated(lhs.shape[lhs_spec[k + 2]], lhs_dilation[k])
        ct_window = _dilated(ct.shape[out_spec[k + 2]], window_strides[k])
        lo = padding[k][0]
        pads.append((lo, (ksize - 1) * rhs_dilation[k] + ct_window - size - lo))
    swap = lambda spec: (spec[1], spec[0], *spec[2:])
    return _conv(
        lhs, ct, window_strides=rhs_dilation, padding=tuple(pads), lhs_dilation=lhs_dilation,
        rhs_dilation=window_strides,
        dimension_numbers=ConvDimensionNumbers(swap(lhs_spec), swap(out_spec), swap(rhs_spec)),
        feature_group_count=batch_group_count, batch_group_count=feature_group_count,
    )  # fmt: skip


def _conv_transpose_rule(cts, lhs, rhs, **params):
    (ct,) = cts
    if is_undefined(lhs) and is_undefined(rhs):
        raise ValueError(
            "conv_general_dilated: transpose of a convolution of two linear values "
            "(the program is not linear)"
        )
    if is_undefined(lhs):
        if type(ct) is Zero:
            return [Zero(lhs.aval), None]
        if 0 in ct.shape or 0 in rhs.shape:  # nothing flows back
            return [zeros_like_aval(lhs.aval), None]
        return [_conv_transpose_lhs(ct, rhs, lhs.aval, **params), None]
    if type(ct) is Zero:
        return [None, Zero(rhs.aval)]
    if 0 in ct.shape or 0 in lhs.shape:
        return [None, zeros_like_aval(rhs.aval)]
    return [None, _conv_transpose_rhs(ct, lhs, rhs.aval, **params)]


conv_general_dilated_p.transpose = _conv_transpose_rule
conv_general_dilated_p.linear = True


# Batching: everything is put in canonical layout with the mapped axis first, then the
# mapped axis is folded into a dimension the convolution already treats independently,
# so one convolution computes all examples:
#  * only lhs mapped: into the batch (inside each batch group);
#  * only rhs mapped: into the output features (inside each group);
#  * both mapped: into the batch groups when there are no feature groups, else into the
#    feature groups (each example then uses its own kernel).
def _conv_batch(args, dims, **params):
    (lhs, rhs), (ld, rd) = args, dims
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    fg, bg = params["feature_group_count"], params["batch_group_count"]
    nd = len(lhs_spec)
    canon = _canonical_spec(nd)

    def to_canonical(x, spec, bdim):
        if bdim is None:
            return _transpose(x, spec)
        return _transpose(x, (bdim, *(a + (a >= bdim) for a in spec)))

    x, w = to_canonical(lhs, lhs_spec, ld), to_canonical(rhs, rhs_spec, rd)
    call = dict(params, dimension_numbers=ConvDimensionNumbers(canon, canon, canon))
    if ld is not None and rd is not None:
        v, o = w.shape[0], w.shape[1]
        w = _reshape(w, (v * o, *w.shape[2:]))
        if fg == 1:
            # lhs batch (V, B * Nb) -> B' = V * B consecutive batch groups
            x = _reshape(x, (v * x.shape[1], *x.shape[2:]))
            out = _conv(x, w, **dict(call, batch_group_count=v * bg))
        else:
            x = _transpose(x, (1, 0, *range(2, nd + 1)))
            x = _reshape(x, (x.shape[0], v * x.shape[2], *x.shape[3:]))
            out = _conv(x, w, **dict(call, feature_group_count=v * fg))
        out = _reshape(out, (out.shape[0], v, o, *out.shape[2:]))
        vpos = 1
    elif ld is not None:
        v, n = x.shape[:2]
        if bg > 1:  # keep the batch groups outermost: (B, V, Nb)
            x = _reshape(x, (v, bg, n // bg, *x.shape[2:]))
            x = _transpose(x, (1, 0, *range(2, nd + 2)))
        x = _reshape(x, (v * n, *x.shape[-(nd - 1) :]))
        out = _conv(x, w, **call)
        out = _reshape(out, (v, out.shape[0] // v, *out.shape[1:]))
        vpos = 0
    else:
        v, o = w.shape[:2]
        groups = fg * bg
        w = _reshape(w, (v, groups, o // groups, *w.shape[2:]))
        w = _transpose(w, (1, 0, *range(2, nd + 2)))
        w = _reshape(w, (v * o, *w.shape[3:]))
        out = _conv(x, w, **call)
        n, _, *osp = out.shape
        out = _reshape(out, (n, groups, v, o // groups, *osp))
        out = _transpose(out, (0, 2, 1, *range(3, nd + 2)))
        out = _reshape(out, (n, v, o, *osp))
        vpos = 1
    # mapped axis first, then the per-example axes in out_spec's layout
    pos = lambda j: j if j < vpos else j + 1
    order = np.argsort(out_spec)
    return [_transpose(out, (vpos, *(pos(int(j)) for j in order)))], [0]


conv_general_dilated_p.batch = _conv_batch


# --- public wrappers ---------------------------------------------------------------------


def _as_operand(x: Any, fname: str) -> Any:
    if type(x) is Array or isinstance(x, Tracer):
        return x
    from funcgrad._src.numpy.util import asarray

    return asarray(x, fname=fname)


def _spatial_chars(nsp: int) -> str:
    return "DHW"[3 - nsp :] if nsp <= 3 else "".join(chr(ord("a") + k) for k in range(nsp))


def _parse_dimension_numbers(dimension_numbers, ndim: int, fname: str) -> ConvDimensionNumbers:
    """ConvDimensionNumbers from None (NCHW, OIHW, NCHW), specs, or layout strings."""
    if dimension_numbers is None:
        canon = _canonical_spec(ndim)
        return ConvDimensionNumbers(canon, canon, canon)
    try:
        lhs, rhs, out = dimension_numbers
    except (TypeError, ValueError):
        raise ValueError(
            f"{fname}: dimension_numbers must be None, a ConvDimensionNumbers or three "
            f"layout strings like ('NHWC', 'HWIO', 'NHWC'), got {dimension_numbers!r}"
        ) from None
    if all(isinstance(s, str) for s in (lhs, rhs, out)):
        specs = _specs_from_strings(lhs, rhs, out, ndim, fname)
    else:
        specs = tuple(tuple(int(a) for a in s) for s in (lhs, rhs, out))
    for name, spec in zip(("lhs", "rhs", "out"), specs):
        if sorted(spec) != list(range(ndim)):
            raise ValueError(
                f"{fname}: the {name} dimension numbers {spec} must be a permutation of the "
                f"{ndim} axes of the operands"
            )
    return ConvDimensionNumbers(*specs)


def _specs_from_strings(lhs: str, rhs: str, out: str, ndim: int, fname: str):
    bad = None
    for s, name, fixed in ((lhs, "lhs", "NC"), (rhs, "rhs", "OI"), (out, "out", "NC")):
        if len(s) != ndim or len(set(s)) != ndim or any(ch not in s for ch in fixed):
            bad = (name, s, fixed)
    spatial = [ch for ch in rhs if ch not in "OI"]
    if bad is None and not (set(spatial) == set(lhs) - set("NC") == set(out) - set("NC")):
        bad = ("spatial", f"{lhs}, {rhs}, {out}", "the same spatial letters")
    if bad is not None:
        raise ValueError(
            f"{fname}: dimension_numbers {(lhs, rhs, out)} are not valid for operands with "
            f"{ndim} axes: each string must have {ndim} distinct letters, the lhs and out "
            f"strings contain 'N' and 'C', the rhs string 'O' and 'I', and all three the "
            f"same spatial letters"
        )
    # spatial dimensions are matched by letter, in the kernel's order
    return (
        (lhs.index("N"), lhs.index("C"), *(lhs.index(ch) for ch in spatial)),
        (rhs.index("O"), rhs.index("I"), *(rhs.index(ch) for ch in spatial)),
        (out.index("N"), out.index("C"), *(out.index(ch) for ch in spatial)),
    )


def _int_tuple(value, nsp: int, name: str, fname: str, default: int = 1) -> tuple[int, ...]:
    if value is None:
        return (default,) * nsp
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nsp
    try:
        out = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(
            f"{fname}: {name} must be an int or a sequence of ints, got {value!r}"
        ) from None
    if len(out) != nsp:
        raise ValueError(
            f"{fname}: {name} must have one entry per spatial dimension ({nsp}), got {value!r}"
        )
    return out


def _padding_pairs(padding, in_sizes, window_sizes, strides, lhs_dilation, fname):
    nsp = len(in_sizes)
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return ((0, 0),) * nsp
        if mode not in ("SAME", "SAME_LOWER"):
            raise ValueError(f"{fname}: padding must be 'SAME', 'SAME_LOWER', 'VALID' or a "
                             f"sequence of (low, high) pairs, got {padding!r}")  # fmt: skip
        if any(d != 1 for d in lhs_dilation):
            raise ValueError(
                f"{fname}: string padding {padding!r} is not defined with lhs_dilation "
                f"{lhs_dilation}; give explicit (low, high) pairs or use conv_transpose"
            )
        pairs = []
        for n, k, s in zip(in_sizes, window_sizes, strides):
            # 'SAME': ceil(n / s) outputs, the extra padding on the high side
            total = max((-(-n // s) - 1) * s + k - n, 0)
            small = total // 2
            pairs.append((small, total - small) if mode == "SAME" else (total - small, small))
        return tuple(pairs)
    try:
        pairs = tuple((int(lo), int(hi)) for lo, hi in padding)
    except (TypeError, ValueError):
        raise ValueError(f"{fname}: padding must be 'SAME', 'SAME_LOWER', 'VALID' or a "
                         f"sequence of (low, high) pairs, got {padding!r}") from None  # fmt: skip
    if len(pairs) != nsp:
        raise ValueError(f"{fname}: padding must have one (low, high) pair per spatial "
                         f"dimension ({nsp}), got {padding!r}")  # fmt: skip
    return pairs


def _check_operands(lhs, rhs, fname):
    if lhs.ndim != rhs.ndim or lhs.ndim < 3:
        raise ValueError(
            f"{fname}: lhs and rhs must have the same number of axes, at least 3 (batch, "
            f"feature and one or more spatial axes), got shapes {lhs.shape} and {rhs.shape}"
        )
    if lhs.dtype != rhs.dtype:
        raise TypeError(
            f"{fname}: lhs and rhs must have one dtype, got {lhs.dtype} and {rhs.dtype}; "
            f"convert explicitly"
        )


def conv_general_dilated(lhs, rhs, window_strides: Sequence[int], padding,
                         lhs_dilation: Sequence[int] | None = None,
                         rhs_dilation: Sequence[int] | None = None, dimension_numbers=None,
                         feature_group_count: int = 1, batch_group_count: int = 1,
                         precision=None, preferred_element_type=None):  # fmt: skip
    """A general N-d convolution (cross-correlation), with JAX's arguments.

    Args:
        lhs: the input, e.g. (N, C, H, W) in the default layout.
        rhs: the kernel, e.g. (O, I, KH, KW) in the default layout, with
            ``I = C / feature_group_count``.
        window_strides: the step between windows, one per spatial dimension.
        padding: 'VALID', 'SAME' (``ceil(size / stride)`` outputs, an odd extra pad on
            the high side), 'SAME_LOWER' (on the low side) or ``(low, high)`` pairs, one
            per spatial dimension; negative values crop.
        lhs_dilation: input dilation (``d - 1`` zeros between input elements: the
            transposed / fractionally strided convolution); default 1.
        rhs_dilation: kernel dilation (atrous convolution); default 1.
        dimension_numbers: None (NCHW, OIHW, NCHW), a :class:`ConvDimensionNumbers` or
            three layout strings such as ``('NHWC', 'HWIO', 'NHWC')``.
        feature_group_count: grouped convolution: the input and output features split
            into this many blocks (``= C`` with ``I = 1`` is a depthwise convolution).
        batch_group_count: the input batch split into this many blocks, each paired with
            one block of output features (used by the kernel gradient of grouped
            convolutions).
        precision, preferred_element_type: accepted for JAX compatibility; the result
            is converted to ``preferred_element_type`` if given.

    Each spatial output size is ``floor((dilated_in + low + high - dilated_k) / stride) + 1``
    (at least 0), with ``dilated_n = (n - 1) * dilation + 1``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.ones((1, 1, 4, 4))
        >>> w = fnp.ones((2, 1, 3, 3))
        >>> lax.conv_general_dilated(x, w, (1, 1), 'VALID').shape
        (1, 2, 2, 2)
        >>> y = lax.conv_general_dilated(x, w, (1, 1), 'SAME')
        >>> y[0, 0].tolist()
        [[4.0, 6.0, 6.0, 4.0], [6.0, 9.0, 9.0, 6.0], [6.0, 9.0, 9.0, 6.0], [4.0, 6.0, 6.0, 4.0]]
        >>> xs = fnp.ones((2, 5, 5, 3))  # NHWC, depthwise 3x3
        >>> ws = fnp.ones((3, 3, 1, 3))  # HWIO
        >>> lax.conv_general_dilated(xs, ws, (2, 2), [(1, 1), (1, 1)],
        ...                          dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
        ...                          feature_group_count=3).shape
        (2, 3, 3, 3)
    """
    del precision
    fname = "funcgrad.lax.conv_general_dilated"
    lhs, rhs = _as_operand(lhs, fname), _as_operand(rhs, fname)
    _check_operands(lhs, rhs, fname)
    nd = lhs.ndim
    nsp = nd - 2
    dn = _parse_dimension_numbers(dimension_numbers, nd, fname)
    window_strides = _int_tuple(window_strides, nsp, "window_strides", fname)
    lhs_dilation = _int_tuple(lhs_dilation, nsp, "lhs_dilation", fname)
    rhs_dilation = _int_tuple(rhs_dilation, nsp, "rhs_dilation", fname)
    in_sizes = [lhs.shape[a] for a in dn.lhs_spec[2:]]
    windows = [_dilated(rhs.shape[a], d) for a, d in zip(dn.rhs_spec[2:], rhs_dilation)]
    pads = _padding_pairs(padding, in_sizes, windows, window_strides, lhs_dilation, fname)
    _check_params(fname, nd, window_strides, pads, lhs_dilation, rhs_dilation)
    params = {
        "window_strides": window_strides, "padding": pads, "lhs_dilation": lhs_dilation,
        "rhs_dilation": rhs_dilation, "dimension_numbers": dn,
        "feature_group_count": int(feature_group_count),
        "batch_group_count": int(batch_group_count),
    }  # fmt: skip
    _conv_shape(lhs.shape, rhs.shape, fname=fname, **params)  # errors before binding
    out = _conv(lhs, rhs, **params)
    if preferred_element_type is not None and np.dtype(preferred_element_type) != out.dtype:
        from funcgrad._src.lax.structural import convert_element_type_p

        out = convert_element_type_p.bind1(out, new_dtype=np.dtype(preferred_element_type))
    return out


def conv_transpose(lhs, rhs, strides=1, padding=0, output_padding=0, rhs_dilation=1,
                   dimension_numbers=None, feature_group_count: int = 1):  # fmt: skip
    """A transposed ("fractionally strided") convolution with PyTorch's ConvTranspose meaning.

    ``conv_transpose(x, w, stride, padding, output_padding, dilation, groups=g)`` equals
    ``torch.nn.functional.conv_transpose{1,2,3}d(x, w, stride=..., padding=...,
    output_padding=..., groups=g, dilation=...)``: the gradient of a convolution with
    those parameters with respect to its input. The default layout is PyTorch's: input
    (N, C_in, spatial...), kernel (C_in, C_out / g, spatial...) ("IOHW"), output
    (N, C_out, spatial...). In layout strings the kernel's 'I' is this function's input
    channel axis and 'O' its output channel axis.

    It is ``conv_general_dilated`` of ``lhs`` with the spatially flipped kernel (input
    and output channels swapped within each group), ``window_strides=1``,
    ``lhs_dilation=strides``, ``rhs_dilation=rhs_dilation`` and padding
    ``(d * (k - 1) - padding, d * (k - 1) - padding + output_padding)`` per axis, so each
    spatial output size is ``(in - 1) * stride - 2 * padding + d * (k - 1) +
    output_padding + 1``.

    Args:
        strides, padding, output_padding, rhs_dilation: ints (every spatial axis) or one
            per spatial axis; ``output_padding`` (extra size on the high side, to pick one
            of the input sizes a strided convolution maps to the same size) must be
            smaller than the stride or the dilation.
        dimension_numbers: None, or three layout strings, e.g. ``('NHWC', 'HWOI', 'NHWC')``.
        feature_group_count: PyTorch's ``groups``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.ones((1, 1, 2, 2))
        >>> w = fnp.ones((1, 1, 3, 3))
        >>> lax.conv_transpose(x, w, strides=2).shape
        (1, 1, 5, 5)
        >>> lax.conv_transpose(x, w, strides=2, padding=1, output_padding=1).shape
        (1, 1, 4, 4)
        >>> lax.conv_transpose(fnp.ones((1, 1, 2)), fnp.ones((1, 1, 2)), strides=2).tolist()
        [[[1.0, 1.0, 1.0, 1.0]]]
    """
    fname = "funcgrad.lax.conv_transpose"
    lhs, rhs = _as_operand(lhs, fname), _as_operand(rhs, fname)
    _check_operands(lhs, rhs, fname)
    nd = lhs.ndim
    nsp = nd - 2
    if dimension_numbers is None:
        chars = _spatial_chars(nsp)
        dimension_numbers = ("NC" + chars, "IO" + chars, "NC" + chars)
    dn = _parse_dimension_numbers(dimension_numbers, nd, fname)
    strides = _int_tuple(strides, nsp, "strides", fname)
    pads = _int_tuple(padding, nsp, "padding", fname)
    output_padding = _int_tuple(output_padding, nsp, "output_padding", fname)
    rhs_dilation = _int_tuple(rhs_dilation, nsp, "rhs_dilation", fname)
    groups = int(feature_group_count)
    if any(s < 1 for s in strides) or any(d < 1 for d in rhs_dilation):
        raise ValueError(
            f"{fname}: strides and rhs_dilation must be positive, got {strides} and {rhs_dilation}"
        )
    if any(p < 0 for p in pads) or any(p < 0 for p in output_padding):
        raise ValueError(f"{fname}: padding and output_padding must be >= 0, got {pads} and "
                         f"{output_padding}")  # fmt: skip
    for op, s, d in zip(output_padding, strides, rhs_dilation):
        if op >= s and op >= d:
            raise ValueError(
                f"{fname}: output_padding {output_padding} must be smaller than the stride "
                f"{strides} or the dilation {rhs_dilation} (per spatial axis)"
            )
    c_in, c_in_w = lhs.shape[dn.lhs_spec[1]], rhs.shape[dn.rhs_spec[1]]
    if groups < 1 or c_in % groups or c_in != c_in_w:
        raise ValueError(
            f"{fname}: the input has {c_in} channels but the kernel's input-channel axis "
            f"('I') has {c_in_w}; they must be equal and divisible by feature_group_count "
            f"({groups}) (lhs shape {lhs.shape}, rhs shape {rhs.shape})"
        )
    ksizes = [rhs.shape[a] for a in dn.rhs_spec[2:]]
    in_sizes = [lhs.shape[a] for a in dn.lhs_spec[2:]]
    sizes = [
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, s, p, d, k, op in zip(in_sizes, strides, pads, rhs_dilation, ksizes, output_padding)
    ]
    if any(size < 1 for size in sizes) and 0 not in in_sizes:
        raise ValueError(
            f"{fname}: the output size (in - 1) * stride - 2 * padding + dilation * (k - 1) "
            f"+ output_padding + 1 is {sizes} for input {in_sizes} and kernel {ksizes}: "
            f"too small; use less padding"
        )
    conv_pads = tuple(
        (d * (k - 1) - p, d * (k - 1) - p + op)
        for k, d, p, op in zip(ksizes, rhs_dilation, pads, output_padding)
    )
    if groups == 1:
        # the kernel's 'O' axis is the forward convolution's output features already
        w, w_spec = rhs, dn.rhs_spec
    else:
        # canonical (C_in, C_out / g, ...) -> (C_out, C_in / g, ...) group by group
        perm = (dn.rhs_spec[1], dn.rhs_spec[0], *dn.rhs_spec[2:])
        w, w_spec = _swap_kernel_features(_transpose(rhs, perm), groups), _canonical_spec(nd)
    w = _flip_spatial(w, w_spec)
    params = {
        "window_strides": (1,) * nsp, "padding": conv_pads, "lhs_dilation": strides,
        "rhs_dilation": rhs_dilation,
        "dimension_numbers": ConvDimensionNumbers(dn.lhs_spec, w_spec, dn.out_spec),
        "feature_group_count": groups, "batch_group_count": 1,
    }  # fmt: skip
    _conv_shape(lhs.shape, w.shape, fname=fname, **params)
    return _conv(lhs, w, **params)
