"""Convolution layers: GeneralConv, Conv / Conv1D / Conv2D / Conv3D and the transposed ones.

Layouts are given by ``dimension_numbers``, three strings as in ``lax.conv_general_dilated``
(input, kernel, output; e.g. ``('NHWC', 'HWIO', 'NHWC')``, the default of ``Conv``).
Params are JAX stax's ``(W, b)``: ``W`` in the kernel layout with ``I`` the input
channels per group and ``O`` the output channels, ``b`` shaped like the output with 1
everywhere but the channel axis (``(1, 1, 1, C)`` for NHWC).

Padding (one rule for every convolution layer here):

* ``'VALID'`` or ``'SAME'`` (any case; ``'SAME'`` gives ``ceil(size / stride)`` outputs,
  the odd extra pad on the high side, as JAX);
* an int or one int per spatial axis: that much on both sides (PyTorch's ``padding``);
* one ``(low, high)`` pair per spatial axis.

``padding_mode`` (PyTorch's): ``'zeros'``, ``'reflect'``, ``'replicate'`` (edge values)
or ``'circular'`` (wrap around) says what the padding holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import funcgrad.numpy as fnp
from funcgrad import lax, random
from stax.initializers import glorot_normal, normal
from stax.layers._util import unpack
from stax.protocol import Layer, LayerError

__all__ = [
    "Conv",
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "ConvTranspose",
    "GeneralConv",
    "GeneralConvTranspose",
]

_B_INIT = normal(1e-6)  # JAX stax's bias initializer, the default of every layer here
_PAD_MODES = {"zeros": None, "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _ints(value: Any, n: int, what: str, layer: str, default: int = 1) -> tuple[int, ...]:
    if value is None:
        return (default,) * n
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(
            f"stax.{layer}: {what} needs one entry per spatial axis ({n}), got {value}"
        )
    return value


def _dilate(k: int, d: int) -> int:
    return (k - 1) * d + 1


def explicit_padding(
    padding: Any,
    in_sizes: Sequence[int],
    windows: Sequence[int],
    strides: Sequence[int],
    layer: str,
) -> tuple[tuple[int, int], ...]:
    """``(low, high)`` per spatial axis for the padding rule in the module docstring.

    ``windows`` are the dilated window sizes. A size of -1 (unknown) gets 'SAME' pads
    of a size-1 axis; only the batch axis may be unknown in practice.
    """
    n = len(in_sizes)
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return ((0, 0),) * n
        if mode != "SAME":
            raise ValueError(
                f"stax.{layer}: padding must be 'SAME', 'VALID', ints or (low, high) pairs, got {padding!r}"
            )
        pads = []
        for size, k, s in zip(in_sizes, windows, strides):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    if isinstance(padding, int):
        return ((padding, padding),) * n
    entries = tuple(padding)
    if len(entries) != n:
        raise ValueError(
            f"stax.{layer}: padding needs one entry per spatial axis ({n}), got {padding!r}"
        )
    return tuple(
        (int(p), int(p)) if isinstance(p, int) else (int(p[0]), int(p[1])) for p in entries
    )


def _specs(dimension_numbers, layer: str) -> tuple[str, str, str]:
    lhs, rhs, out = dimension_numbers
    if not (len(lhs) == len(rhs) == len(out)) or sorted(lhs) != sorted(out):
        raise ValueError(
            f"stax.{layer}: dimension_numbers {dimension_numbers} are not three layouts of one rank"
        )
    return lhs, rhs, out


class _ConvGeometry:
    """Static facts of one convolution layer: layouts, kernel and padding rules."""

    def __init__(self, name, dimension_numbers, out_chan, filter_shape, strides, dilation, groups):
        self.name = name
        self.lhs, self.rhs, self.out = _specs(dimension_numbers, name)
        self.spatial = [c for c in self.rhs if c not in "IO"]
        if len(filter_shape) != len(self.spatial):
            raise ValueError(
                f"stax.{name}: filter_shape {tuple(filter_shape)} needs one size per spatial axis of "
                f"{self.rhs!r} ({len(self.spatial)})"
            )
        self.filter_shape = tuple(int(k) for k in filter_shape)
        self.strides = _ints(strides, len(self.spatial), "strides", name)
        self.dilation = _ints(dilation, len(self.spatial), "dilation", name)
        self.out_chan, self.groups = int(out_chan), int(groups)
        if self.groups < 1 or self.out_chan % self.groups:
            raise ValueError(
                f"stax.{name}: out_chan {out_chan} must be divisible by groups {groups}"
            )
        self.windows = tuple(_dilate(k, d) for k, d in zip(self.filter_shape, self.dilation))

    def in_channels(self, shape, given: bool) -> int:
        """The input's channel count, checked against rank and groups."""
        if len(shape) != len(self.lhs):
            raise LayerError(
                self.name,
                f"expects inputs of rank {len(self.lhs)} ({self.lhs}), got "
                f"{'shape' if given else 'input shape'} {tuple(shape)}",
            )
        c = shape[self.lhs.index("C")]
        if c % self.groups:
            raise LayerError(
                self.name,
                f"the input's {c} channels (axis {self.lhs.index('C')} of shape "
                f"{tuple(shape)}) must be divisible by groups={self.groups}",
            )
        return c

    def in_sizes(self, shape) -> tuple[int, ...]:
        return tuple(shape[self.lhs.index(c)] for c in self.spatial)

    def kernel_shape(self, in_chan: int) -> tuple[int, ...]:
        it = iter(self.filter_shape)
        return tuple(
            self.out_chan if c == "O" else in_chan // self.groups if c == "I" else next(it)
            for c in self.rhs
        )

    def output_shape(self, input_shape, out_sizes) -> tuple[int, ...]:
        sizes = dict(zip(self.spatial, out_sizes))
        return tuple(
            input_shape[self.lhs.index("N")]
            if c == "N"
            else self.out_chan
            if c == "C"
            else sizes[c]
            for c in self.out
        )

    def bias_shape(self) -> tuple[int, ...]:
        return tuple(self.out_chan if c == "C" else 1 for c in self.out)

    def check_kernel(self, W, inputs) -> None:
        c = self.in_channels(inputs.shape, True)
        expected = self.kernel_shape(c)
        if tuple(W.shape) != expected:
            raise LayerError(
                self.name,
                f"inputs of shape {tuple(inputs.shape)} ({c} channels) need a kernel of shape "
                f"{expected}, but W has shape {tuple(W.shape)}; the params were initialized for "
                f"another input shape",
            )

    def init(self, rng, input_shape, W_init, b_init, use_bias):
        """The params ``(W, b)``; ``W_init=None`` is ``glorot_normal`` over the kernel's I, O."""
        c = self.in_channels(input_shape, False)
        W_init = W_init or glorot_normal(self.rhs.index("I"), self.rhs.index("O"))
        k1, k2 = random.split(rng)
        W = W_init(k1, self.kernel_shape(c))
        b = b_init(k2, self.bias_shape()) if use_bias else ()
        return W, b

    def sized_output_shape(self, input_shape, pads, size, empty: str) -> tuple[int, ...]:
        """The output shape with ``size(n, low, high, window, stride)`` per spatial axis;
        ``empty`` is the error detail where a size is below 1."""
        out_sizes = [
            size(n, lo, hi, k, s)
            for n, (lo, hi), k, s in zip(
                self.in_sizes(input_shape), pads, self.windows, self.strides
            )
        ]
        if min(out_sizes, default=1) < 1:
            raise LayerError(self.name, empty)
        return self.output_shape(input_shape, out_sizes)

    def convolve(self, inputs, W, b, window_strides, pads, use_bias, lhs_dilation=None):
        """The convolution in this layer's layouts, groups and dilation, plus the bias."""
        out = lax.conv_general_dilated(
            inputs,
            W,
            window_strides,
            pads,
            lhs_dilation=lhs_dilation,
            rhs_dilation=self.dilation,
            dimension_numbers=(self.lhs, self.rhs, self.out),
            feature_group_count=self.groups,
        )
        return out + b if use_bias else out


def _pad_inputs(x, geometry: _ConvGeometry, pads, mode: str):
    """Pad the spatial axes of ``x`` with PyTorch's non-zero padding modes."""
    width = [(0, 0)] * x.ndim
    for c, pair in zip(geometry.spatial, pads):
        width[geometry.lhs.index(c)] = pair
    return fnp.pad(x, width, mode=mode)


def GeneralConv(
    dimension_numbers,
    out_chan: int,
    filter_shape: Sequence[int],
    strides=None,
    padding: Any = "VALID",
    W_init: Callable | None = None,
    b_init: Callable = _B_INIT,
    *,
    dilation=None,
    groups: int = 1,
    padding_mode: str = "zeros",
    use_bias: bool = True,
) -> Layer:
    """A convolution (cross-correlation) layer in any layout (JAX stax's ``GeneralConv``).

    Args:
        dimension_numbers: ``(input, kernel, output)`` layout strings.
        out_chan: output channels.
        filter_shape: window size per spatial axis, in the kernel layout's order.
        strides: step per spatial axis (default 1).
        padding: see the module docstring.
        W_init: kernel initializer; default ``glorot_normal`` with the kernel's I and O axes.
        b_init: bias initializer (default ``normal(1e-6)``, JAX's).
        dilation: kernel dilation per spatial axis (atrous convolution).
        groups: grouped convolution: ``groups`` blocks of channels (``= in channels`` is
            depthwise); the kernel's I axis has ``in / groups`` entries.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.
        use_bias: ``False`` leaves ``b = ()`` (PyTorch's ``bias=False``).

    Each spatial output size is ``floor((n + low + high - d (k - 1) - 1) / stride) + 1``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.GeneralConv(('NCHW', 'OIHW', 'NCHW'), 4, (3, 3), padding='SAME')
        >>> out_shape, (W, b) = init_fun(random.key(0), (-1, 2, 5, 5))
        >>> out_shape, W.shape, b.shape
        ((-1, 4, 5, 5), (4, 2, 3, 3), (1, 4, 1, 1))
    """
    name = f"Conv({out_chan}, {tuple(filter_shape)})"
    geometry = _ConvGeometry(
        name, dimension_numbers, out_chan, filter_shape, strides, dilation, groups
    )
    if padding_mode not in _PAD_MODES:
        raise ValueError(
            f"stax.GeneralConv: padding_mode must be one of {sorted(_PAD_MODES)}, got {padding_mode!r}"
        )

    def pads_for(in_sizes):
        pads = explicit_padding(padding, in_sizes, geometry.windows, geometry.strides, name)
        if any(lo < 0 or hi < 0 for lo, hi in pads):
            raise ValueError(f"stax.{name}: padding must not be negative, got {pads}")
        return pads

    def init_fun(rng, input_shape):
        W, b = geometry.init(rng, input_shape, W_init, b_init, use_bias)
        pads = pads_for(geometry.in_sizes(input_shape))
        out_shape = geometry.sized_output_shape(
            input_shape,
            pads,
            lambda n, lo, hi, k, s: (n + lo + hi - k) // s + 1,
            f"the window {geometry.filter_shape} (dilation {geometry.dilation}) "
            f"does not fit the input shape {tuple(input_shape)} with padding {pads}",
        )
        return out_shape, (W, b)

    def apply_fun(params, inputs, **kwargs):
        W, b = unpack(params, ("W", "b"), name)
        geometry.check_kernel(W, inputs)
        pads = pads_for(geometry.in_sizes(inputs.shape))
        if _PAD_MODES[padding_mode] is not None:
            inputs = _pad_inputs(inputs, geometry, pads, _PAD_MODES[padding_mode])
            pads = ((0, 0),) * len(pads)
        return geometry.convolve(inputs, W, b, geometry.strides, pads, use_bias)

    return Layer(init_fun, apply_fun, name=name)


def Conv(
    out_chan: int,
    filter_shape: Sequence[int],
    strides=None,
    padding: Any = "VALID",
    W_init: Callable | None = None,
    b_init: Callable = _B_INIT,
    **kwargs,
) -> Layer:
    """A 2-D convolution on NHWC inputs with an HWIO kernel (JAX stax's ``Conv``).

    Keyword options (``dilation``, ``groups``, ``padding_mode``, ``use_bias``) as
    :func:`GeneralConv`.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> out_shape, (W, b) = stax.Conv(8, (3, 3), strides=(2, 2), padding=1)[0](random.key(0), (-1, 9, 9, 3))
        >>> out_shape, W.shape, b.shape
        ((-1, 5, 5, 8), (3, 3, 3, 8), (1, 1, 1, 8))
    """
    return GeneralConv(
        ("NHWC", "HWIO", "NHWC"), out_chan, filter_shape, strides, padding, W_init, b_init, **kwargs
    )


Conv2D = Conv


def Conv1D(
    out_chan: int,
    filter_shape: Sequence[int] | int,
    strides=None,
    padding: Any = "VALID",
    W_init: Callable | None = None,
    b_init: Callable = _B_INIT,
    **kwargs,
) -> Layer:
    """A 1-D convolution on NWC inputs (batch, length, channels) with a WIO kernel.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> stax.Conv1D(4, 3, padding='SAME')[0](random.key(0), (-1, 10, 2))[0]
        (-1, 10, 4)
    """
    filter_shape = (filter_shape,) if isinstance(filter_shape, int) else filter_shape
    return GeneralConv(
        ("NWC", "WIO", "NWC"), out_chan, filter_shape, strides, padding, W_init, b_init, **kwargs
    )


def Conv3D(
    out_chan: int,
    filter_shape: Sequence[int],
    strides=None,
    padding: Any = "VALID",
    W_init: Callable | None = None,
    b_init: Callable = _B_INIT,
    **kwargs,
) -> Layer:
    """A 3-D convolution on NDHWC inputs with a DHWIO kernel.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> stax.Conv3D(2, (3, 3, 3))[0](random.key(0), (-1, 5, 6, 7, 1))[0]
        (-1, 3, 4, 5, 2)
    """
    return GeneralConv(
        ("NDHWC", "DHWIO", "NDHWC"),
        out_chan,
        filter_shape,
        strides,
        padding,
        W_init,
        b_init,
        **kwargs,
    )


def _transpose_pads(padding, windows, strides, output_padding, layer):
    """The padding of the input-dilated convolution that computes the transposed one."""
    n = len(windows)
    if isinstance(padding, str):
        mode = padding.upper()
        if mode not in ("SAME", "VALID"):
            raise ValueError(
                f"stax.{layer}: padding must be 'SAME', 'VALID', ints or (low, high) pairs, got {padding!r}"
            )
        pads = []
        for k, s in zip(windows, strides):  # JAX's lax.conv_transpose rule
            if mode == "SAME":
                total = k + s - 2
                lo = k - 1 if s > k - 1 else math.ceil(total / 2)
            else:
                total, lo = k + s - 2 + max(k - s, 0), k - 1
            pads.append((lo, total - lo))
    elif isinstance(padding, int) or all(isinstance(p, int) for p in padding):
        # PyTorch's ConvTranspose padding p: dilation * (k - 1) - p on both sides
        crop = _ints(padding, n, "padding", layer, 0)
        pads = [(k - 1 - p, k - 1 - p) for k, p in zip(windows, crop)]
    else:  # explicit pairs: the padding of the underlying convolution (JAX's meaning)
        pads = [(int(lo), int(hi)) for lo, hi in padding]
        if len(pads) != n:
            raise ValueError(
                f"stax.{layer}: padding needs one pair per spatial axis ({n}), got {padding!r}"
            )
    extra = _ints(output_padding, n, "output_padding", layer, 0)
    return tuple((lo, hi + e) for (lo, hi), e in zip(pads, extra))


def GeneralConvTranspose(
    dimension_numbers,
    out_chan: int,
    filter_shape: Sequence[int],
    strides=None,
    padding: Any = "VALID",
    W_init: Callable | None = None,
    b_init: Callable = _B_INIT,
    *,
    dilation=None,
    output_padding=None,
    groups: int = 1,
    use_bias: bool = True,
) -> Layer:
    """A transposed convolution layer (JAX stax's ``GeneralConvTranspose``).

    Computed as JAX's ``lax.conv_transpose`` without kernel transposition: a convolution
    with stride 1 over the input dilated by ``strides`` (``stride - 1`` zeros between
    elements), with the kernel as stored (``I`` = input channels per group, ``O`` =
    ``out_chan``). Padding and output size per spatial axis, with ``K = d (k - 1) + 1``:

    * ``'SAME'``: ``n * stride``; ``'VALID'``: ``n * stride + max(K - stride, 0)`` (JAX);
    * an int ``p`` or one per axis: PyTorch's ``ConvTranspose`` ``padding``, output
      ``(n - 1) * stride - 2 p + K + output_padding``; the result equals PyTorch's with the
      kernel flipped along its spatial axes (PyTorch stores ``(in, out / groups, *k)``);
    * ``(low, high)`` pairs: the padding of the dilated convolution (JAX's meaning).

    ``output_padding`` (PyTorch's) adds that many outputs on the high side.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, _ = stax.ConvTranspose(4, (3, 3), strides=(2, 2), padding='SAME')
        >>> out_shape, (W, b) = init_fun(random.key(0), (-1, 5, 5, 2))
        >>> out_shape, W.shape
        ((-1, 10, 10, 4), (3, 3, 2, 4))
        >>> stax.ConvTranspose(4, (3, 3), strides=(2, 2), padding=1, output_padding=1)[0](
        ...     random.key(0), (-1, 5, 5, 2))[0]
        (-1, 10, 10, 4)
    """
    name = f"ConvTranspose({out_chan}, {tuple(filter_shape)})"
    geometry = _ConvGeometry(
        name, dimension_numbers, out_chan, filter_shape, strides, dilation, groups
    )
    pads = _transpose_pads(padding, geometry.windows, geometry.strides, output_padding, name)
    ones = (1,) * len(geometry.spatial)

    def init_fun(rng, input_shape):
        W, b = geometry.init(rng, input_shape, W_init, b_init, use_bias)
        out_shape = geometry.sized_output_shape(
            input_shape,
            pads,
            lambda n, lo, hi, k, s: (n - 1) * s + 1 + lo + hi - k + 1,
            f"the output would be empty for input shape {tuple(input_shape)}; use less padding",
        )
        return out_shape, (W, b)

    def apply_fun(params, inputs, **kwargs):
        W, b = unpack(params, ("W", "b"), name)
        geometry.check_kernel(W, inputs)
        return geometry.convolve(inputs, W, b, ones, pads, use_bias, lhs_dilation=geometry.strides)

    return Layer(init_fun, apply_fun, name=name)


def ConvTranspose(
    out_chan: int,
    filter_shape: Sequence[int],
    strides=None,
    padding: Any = "VALID",
    W_init: Callable | None = None,
    b_init: Callable = _B_INIT,
    **kwargs,
) -> Layer:
    """A 2-D transposed convolution on NHWC inputs with an HWIO kernel (JAX stax's).

    Options as :func:`GeneralConvTranspose`.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> stax.ConvTranspose(3, (2, 2), strides=(2, 2))[0](random.key(0), (-1, 4, 4, 1))[0]
        (-1, 8, 8, 3)
    """
    return GeneralConvTranspose(
        ("NHWC", "HWIO", "NHWC"), out_chan, filter_shape, strides, padding, W_init, b_init, **kwargs
    )


Conv2DTranspose = ConvTranspose


def Conv1DTranspose(
    out_chan: int,
    filter_shape: Sequence[int],
    strides=None,
    padding: Any = "VALID",
    W_init: Callable | None = None,
    b_init: Callable = _B_INIT,
    **kwargs,
) -> Layer:
    """A 1-D transposed convolution on NHC inputs with an HIO kernel (JAX stax's).

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> stax.Conv1DTranspose(2, (3,), strides=(2,))[0](random.key(0), (-1, 4, 1))[0]
        (-1, 9, 2)
    """
    return GeneralConvTranspose(
        ("NHC", "HIO", "NHC"), out_chan, filter_shape, strides, padding, W_init, b_init, **kwargs
    )


def Conv3DTranspose(
    out_chan: int,
    filter_shape: Sequence[int],
    strides=None,
    padding: Any = "VALID",
    W_init: Callable | None = None,
    b_init: Callable = _B_INIT,
    **kwargs,
) -> Layer:
    """A 3-D transposed convolution on NDHWC inputs with a DHWIO kernel.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> stax.Conv3DTranspose(2, (2, 2, 2), strides=2)[0](random.key(0), (-1, 2, 3, 4, 1))[0]
        (-1, 4, 6, 8, 2)
    """
    return GeneralConvTranspose(
        ("NDHWC", "DHWIO", "NDHWC"),
        out_chan,
        filter_shape,
        strides,
        padding,
        W_init,
        b_init,
        **kwargs,
    )
