"""Static shape arithmetic of convolutions and window reductions, with ``jax.lax``'s names
(``conv_shape_tuple``, ``conv_general_shape_tuple``, ``conv_transpose_shape_tuple``,
``conv_general_permutations``, ``reduce_window_shape_tuple``): plain Python on shapes,
for sizing layers and buffers without running anything. Results are tuples of ints.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

from funcgrad._src.lax.compositions import padtype_to_pads
from funcgrad._src.lax.convolution import ConvDimensionNumbers, _specs_from_strings
from funcgrad._src.lax.windowed import _window_out_shape

__all__ = [
    "conv_general_permutations", "conv_general_shape_tuple", "conv_shape_tuple",
    "conv_transpose_shape_tuple", "reduce_window_shape_tuple",
]  # fmt: skip


def _ints(fname: str, name: str, value) -> tuple[int, ...]:
    try:
        return tuple(operator.index(v) for v in value)
    except TypeError:
        raise TypeError(
            f"funcgrad.lax.{fname}: {name} must be a sequence of ints, got {value!r}"
        ) from None


def _pairs(fname: str, padding) -> tuple[tuple[int, int], ...]:
    try:
        return tuple((operator.index(lo), operator.index(hi)) for lo, hi in padding)
    except (TypeError, ValueError):
        raise TypeError(
            f"funcgrad.lax.{fname}: padding must be 'SAME', 'SAME_LOWER', 'VALID' or a "
            f"sequence of (low, high) int pairs, got {padding!r}"
        ) from None


def conv_shape_tuple(lhs_shape, rhs_shape, strides, pads, batch_group_count: int = 1):
    """The output shape of a convolution of operands in canonical order: ``lhs_shape`` is
    ``(N, C, spatial...)``, ``rhs_shape`` is ``(O, I, spatial...)``, the result
    ``(N // batch_group_count, O, spatial...)``; ``pads`` is a padding name or one
    ``(low, high)`` pair per spatial axis.

    Each output spatial size is ``max(0, (in + low + high - k) // stride + 1)``.

    Examples:
        >>> from funcgrad import lax
        >>> lax.conv_shape_tuple((2, 3, 9, 9), (4, 3, 3, 3), (1, 2), "VALID")
        (2, 4, 7, 4)
    """
    lhs_shape = _ints("conv_shape_tuple", "lhs_shape", lhs_shape)
    rhs_shape = _ints("conv_shape_tuple", "rhs_shape", rhs_shape)
    strides = _ints("conv_shape_tuple", "strides", strides)
    nsp = len(lhs_shape) - 2
    if len(rhs_shape) != len(lhs_shape) or nsp < 0 or len(strides) != nsp:
        raise ValueError(
            f"funcgrad.lax.conv_shape_tuple: lhs_shape {lhs_shape} and rhs_shape {rhs_shape} "
            f"must have one rank (2 + spatial axes) and strides {strides} one entry per "
            f"spatial axis"
        )
    if isinstance(pads, str):
        pads = padtype_to_pads(lhs_shape[2:], rhs_shape[2:], strides, pads)
    pads = _pairs("conv_shape_tuple", pads)
    if len(pads) != nsp:
        raise ValueError(
            f"funcgrad.lax.conv_shape_tuple: expected {nsp} (low, high) pads, got {len(pads)}"
        )
    padded = [n + lo + hi for n, (lo, hi) in zip(lhs_shape[2:], pads)]
    if any(p < 0 for p in padded):
        raise ValueError(
            f"funcgrad.lax.conv_shape_tuple: negative padding {pads} is larger than the "
            f"spatial sizes {lhs_shape[2:]}"
        )
    if batch_group_count < 1 or lhs_shape[0] % batch_group_count:
        raise ValueError(
            f"funcgrad.lax.conv_shape_tuple: batch_group_count {batch_group_count} must be "
            f">= 1 and divide the batch size {lhs_shape[0]}"
        )
    space = tuple(max(0, (p - k) // s + 1) for p, k, s in zip(padded, rhs_shape[2:], strides))
    return (lhs_shape[0] // batch_group_count, rhs_shape[0]) + space


def conv_general_permutations(dimension_numbers):
    """``(lhs_perm, rhs_perm, out_perm)``: for each operand, the axis positions of
    (batch or out-feature, feature or in-feature, spatial axes in the kernel's order).

    ``dimension_numbers`` is a triple of layout strings such as ``("NHWC", "HWIO",
    "NHWC")``, as in JAX; a :class:`ConvDimensionNumbers` (already these permutations)
    is also accepted and returned as plain tuples. Invalid layouts raise ValueError (as
    ``conv_general_dilated`` does; JAX raises TypeError).

    Examples:
        >>> from funcgrad import lax
        >>> lax.conv_general_permutations(("NHWC", "HWIO", "NHWC"))
        ((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    """
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return tuple(tuple(int(a) for a in spec) for spec in dimension_numbers)
    try:
        lhs, rhs, out = dimension_numbers
    except (TypeError, ValueError):
        raise TypeError(
            f"funcgrad.lax.conv_general_permutations: dimension_numbers must be three layout "
            f"strings like ('NHWC', 'HWIO', 'NHWC'), got {dimension_numbers!r}"
        ) from None
    if not all(isinstance(spec, str) for spec in (lhs, rhs, out)):
        raise TypeError(
            f"funcgrad.lax.conv_general_permutations: dimension_numbers must be three layout "
            f"strings like ('NHWC', 'HWIO', 'NHWC'), got {dimension_numbers!r}"
        )
    fname = "funcgrad.lax.conv_general_permutations"
    return _specs_from_strings(lhs, rhs, out, len(lhs), fname)


def _take(shape, perm) -> tuple[int, ...]:
    return tuple(shape[p] for p in perm)


def _untake(shape, perm) -> tuple[int, ...]:
    out = [0] * len(perm)
    for i, p in enumerate(perm):
        out[p] = shape[i]
    return tuple(out)


def conv_general_shape_tuple(lhs_shape, rhs_shape, window_strides, padding, dimension_numbers):
    """The output shape of ``conv_general_dilated`` (no dilation, no groups) for operands in
    the layouts ``dimension_numbers`` (see :func:`conv_general_permutations`).

    Examples:
        >>> from funcgrad import lax
        >>> lax.conv_general_shape_tuple((1, 8, 8, 3), (3, 3, 3, 4), (2, 2), "SAME",
        ...                              ("NHWC", "HWIO", "NHWC"))
        (1, 4, 4, 4)
    """
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    out = conv_shape_tuple(_take(lhs_shape, lhs_perm), _take(rhs_shape, rhs_perm),
                           window_strides, padding)  # fmt: skip
    return _untake(out, out_perm)


def conv_transpose_shape_tuple(lhs_shape, rhs_shape, window_strides, padding, dimension_numbers):
    """The output shape of JAX's ``conv_transpose`` (the gradient of a strided convolution
    with respect to its input) for operands in the layouts ``dimension_numbers``.

    Each spatial size is ``(in - 1) * stride - k + 2 + total_pad``, where ``total_pad`` is
    ``k + stride - 2`` for ``"SAME"`` (so the output is ``in * stride``), ``k + stride - 2 +
    max(k - stride, 0)`` for ``"VALID"``, or ``low + high`` for explicit pairs.

    Examples:
        >>> from funcgrad import lax
        >>> lax.conv_transpose_shape_tuple((1, 8, 8, 3), (3, 3, 3, 4), (2, 2), "SAME",
        ...                                ("NHWC", "HWIO", "NHWC"))
        (1, 16, 16, 4)
    """
    fname = "conv_transpose_shape_tuple"
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    lhs_t = _take(_ints(fname, "lhs_shape", lhs_shape), lhs_perm)
    rhs_t = _take(_ints(fname, "rhs_shape", rhs_shape), rhs_perm)
    strides = _ints(fname, "window_strides", window_strides)
    if len(strides) != len(lhs_t) - 2:
        raise ValueError(
            f"funcgrad.lax.{fname}: window_strides {strides} must have one entry per spatial "
            f"axis ({len(lhs_t) - 2})"
        )
    if isinstance(padding, str):
        kind = padding.upper()
        if kind not in ("SAME", "VALID"):
            raise ValueError(f"funcgrad.lax.{fname}: padding must be 'SAME', 'VALID' or "
                             f"(low, high) pairs, got {padding!r}")  # fmt: skip
        extra = (lambda k, s: 0) if kind == "SAME" else (lambda k, s: max(k - s, 0))
        totals = [k + s - 2 + extra(k, s) for k, s in zip(rhs_t[2:], strides)]
    else:
        totals = [lo + hi for lo, hi in _pairs(fname, padding)]
    space = tuple(
        (i - 1) * s - k + 2 + t for i, k, s, t in zip(lhs_t[2:], rhs_t[2:], strides, totals)
    )
    return _untake((lhs_t[0], rhs_t[0]) + space, out_perm)


def reduce_window_shape_tuple(operand_shape, window_dimensions, window_strides, padding,
                              base_dilation: Sequence[int] | None = None,
                              window_dilation: Sequence[int] | None = None):  # fmt: skip
    """The output shape of ``reduce_window`` with explicit ``(low, high)`` ``padding``: each
    size is ``max(0, (dilated_in + low + high - dilated_window) // stride + 1)``.

    Examples:
        >>> from funcgrad import lax
        >>> lax.reduce_window_shape_tuple((10, 10), (3, 3), (2, 2), [(1, 1), (0, 0)])
        (5, 4)
    """
    fname = "reduce_window_shape_tuple"
    shape = _ints(fname, "operand_shape", operand_shape)
    n = len(shape)
    ones = (1,) * n
    args = (
        _ints(fname, "window_dimensions", window_dimensions),
        _ints(fname, "window_strides", window_strides),
        _pairs(fname, padding),
        ones if base_dilation is None else _ints(fname, "base_dilation", base_dilation),
        ones if window_dilation is None else _ints(fname, "window_dilation", window_dilation),
    )
    if any(len(a) != n for a in args):
        raise ValueError(
            f"funcgrad.lax.{fname}: every argument needs one entry per axis of operand_shape "
            f"{shape}"
        )
    if any(v < 1 for a in (args[0], args[1], args[3], args[4]) for v in a):
        raise ValueError(f"funcgrad.lax.{fname}: window sizes, strides and dilations must be >= 1")
    return _window_out_shape(shape, *args)
