"""Spatial resampling layers: Pad and Upsample, on channels-last inputs ``(N, *spatial, C)``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import funcgrad.numpy as fnp
from funcgrad import lax
from stax.layers._util import check_rank, check_shape_rank
from stax.protocol import Layer, LayerError

__all__ = ["Pad", "Upsample"]

_PAD_MODES = {
    "zeros": "constant",
    "constant": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
}


def Pad(padding: Any, mode: str = "zeros", value: float = 0.0) -> Layer:
    """Pad the spatial axes (PyTorch's ``ZeroPad``/``ConstantPad``/``ReflectionPad``/
    ``ReplicationPad``/``CircularPad``, channels-last).

    Args:
        padding: one ``(low, high)`` pair or int per spatial axis (their number fixes the
            spatial rank), or one int for every spatial axis of the input.
        mode: 'zeros', 'constant' (with ``value``), 'reflect', 'replicate' or 'circular'.
        value: the fill of 'constant'.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import stax
        >>> init_fun, apply_fun = stax.Pad([(1, 2)], mode="reflect")
        >>> init_fun(None, (-1, 3, 1))
        ((-1, 6, 1), ())
        >>> apply_fun((), fnp.asarray([1.0, 2.0, 3.0]).reshape(1, 3, 1))[0, :, 0].tolist()
        [2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
    """
    if mode not in _PAD_MODES:
        raise ValueError(f"stax.Pad: mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    if isinstance(padding, int):
        pairs = None
    else:
        pairs = tuple((p, p) if isinstance(p, int) else (int(p[0]), int(p[1])) for p in padding)
        if any(lo < 0 or hi < 0 for lo, hi in pairs):
            raise ValueError(f"stax.Pad: padding must be >= 0, got {padding!r}")
    name = f"Pad({padding!r}, {mode!r})"

    def pads_for(ndim: int, shape) -> tuple:
        spatial = pairs if pairs is not None else ((padding, padding),) * (ndim - 2)
        if ndim != len(spatial) + 2:
            raise LayerError(
                name,
                f"pads {len(spatial)} spatial axes, so it expects inputs of rank "
                f"{len(spatial) + 2} (N, *spatial, C), got shape {tuple(shape)}",
            )
        return spatial

    def init_fun(rng, input_shape):
        spatial = pads_for(len(input_shape), input_shape)
        sizes = tuple(n + lo + hi for n, (lo, hi) in zip(input_shape[1:-1], spatial))
        return (input_shape[0], *sizes, input_shape[-1]), ()

    def apply_fun(params, inputs, **kwargs):
        spatial = pads_for(inputs.ndim, inputs.shape)
        width = ((0, 0), *spatial, (0, 0))
        np_mode = _PAD_MODES[mode]
        if np_mode == "constant":
            return fnp.pad(inputs, width, mode="constant", constant_values=value)
        return fnp.pad(inputs, width, mode=np_mode)

    return Layer(init_fun, apply_fun, name=name)


def Upsample(
    size: Sequence[int] | None = None,
    scale_factor: Any = None,
    method: str = "nearest",
    align_corners: bool = False,
) -> Layer:
    """Resize the spatial axes (PyTorch's ``Upsample``, by ``funcgrad.lax.resize``).

    Give ``size`` (one per spatial axis) or ``scale_factor`` (a number or one per axis;
    output ``floor(n * scale_factor)``). ``method``: 'nearest' (PyTorch's), 'nearest-exact',
    'linear' / 'bilinear' / 'trilinear'; ``align_corners`` as PyTorch's.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import stax
        >>> init_fun, apply_fun = stax.Upsample(scale_factor=2)
        >>> init_fun(None, (-1, 2, 2, 3))
        ((-1, 4, 4, 3), ())
        >>> apply_fun((), fnp.asarray([1.0, 2.0]).reshape(1, 2, 1))[0, :, 0].tolist()
        [1.0, 1.0, 2.0, 2.0]
    """
    if (size is None) == (scale_factor is None):
        raise ValueError("stax.Upsample: give exactly one of size and scale_factor")
    name = f"Upsample({'size=' + repr(size) if size is not None else 'scale_factor=' + repr(scale_factor)})"

    def out_sizes(in_sizes) -> tuple[int, ...]:
        k = len(in_sizes)
        if size is not None:
            sizes = (size,) * k if isinstance(size, int) else tuple(size)
            if len(sizes) != k:
                raise LayerError(name, f"gives {len(sizes)} sizes for {k} spatial axes")
            return sizes
        factors = (
            tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * k
        )
        if len(factors) != k:
            raise LayerError(name, f"gives {len(factors)} scale factors for {k} spatial axes")
        return tuple(math.floor(n * f) for n, f in zip(in_sizes, factors))

    def init_fun(rng, input_shape):
        shape = check_shape_rank(input_shape, tuple(range(3, 8)), name, "N, *spatial, C")
        return (shape[0], *out_sizes(shape[1:-1]), shape[-1]), ()

    def apply_fun(params, inputs, **kwargs):
        check_rank(inputs, tuple(range(3, 8)), name, "N, *spatial, C")
        if size is not None:
            return lax.resize(
                inputs, out_sizes(inputs.shape[1:-1]), method=method, align_corners=align_corners
            )
        return lax.resize(
            inputs, scale_factor=scale_factor, method=method, align_corners=align_corners
        )

    return Layer(init_fun, apply_fun, name=name)
