"""Pooling layers: max / sum / average, adaptive, global, and max unpooling.

Inputs are channels-last, ``(N, *spatial, C)`` (JAX stax's default), unless ``spec``
gives another layout such as ``'NCHW'``. ``strides`` default to 1 (JAX stax's default;
PyTorch's is the window). ``padding``: 'VALID', 'SAME', an int or one int per spatial
axis (PyTorch's, both sides), or ``(low, high)`` pairs. ``ceil_mode`` uses PyTorch's
ceil rule for the output size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import funcgrad.numpy as fnp
from funcgrad import lax
from stax.layers._util import check_rank, check_shape_rank
from stax.protocol import Layer, LayerError

__all__ = [
    "AdaptiveAvgPool",
    "AdaptiveMaxPool",
    "AvgPool",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "MaxPool",
    "MaxUnpool",
    "SumPool",
]


def _layout(spec: str | None, k: int, name: str) -> tuple[int, ...] | None:
    """The permutation taking a ``spec`` layout to (N, *spatial, C), or None if it is one."""
    if spec is None:
        return None
    if len(spec) != k + 2 or "N" not in spec or "C" not in spec:
        raise ValueError(f"stax.{name}: spec {spec!r} must have 'N', 'C' and {k} spatial letters")
    perm = (spec.index("N"), *(i for i, c in enumerate(spec) if c not in "NC"), spec.index("C"))
    return None if perm == tuple(range(k + 2)) else perm


def _inverse(perm: Sequence[int]) -> tuple[int, ...]:
    out = [0] * len(perm)
    for i, p in enumerate(perm):
        out[p] = i
    return tuple(out)


def _known(shape) -> tuple[tuple[int, ...], list[int]]:
    """``shape`` with unknown (-1) sizes replaced by 1, and where they were."""
    return tuple(1 if d == -1 else d for d in shape), [i for i, d in enumerate(shape) if d == -1]


_OPTIONS = {
    "MaxPool": ("dilation", "ceil_mode", "return_indices"),
    "SumPool": ("ceil_mode",),
    "AvgPool": ("ceil_mode", "count_include_pad", "divisor_override"),
}


def _pooling_layer(kind: str):
    def PoolingLayer(
        window_shape: Sequence[int],
        strides=None,
        padding: Any = "VALID",
        spec: str | None = None,
        **options,
    ) -> Layer:
        window = tuple(int(k) for k in window_shape)
        k = len(window)
        name = f"{kind}({window})"
        perm = _layout(spec, k, name)
        layout = spec or ("N" + ("DHW"[-k:] if k <= 3 else "*spatial") + "C")
        allowed = _OPTIONS[kind]
        if set(options) - set(allowed):
            raise TypeError(
                f"stax.{kind}: unknown options {sorted(set(options) - set(allowed))}; "
                f"the keyword options are {allowed}"
            )
        if kind == "AvgPool":  # JAX stax divides by the input elements of each window
            unpadded = padding in ("VALID", "valid", 0) and not options.get("ceil_mode")
            # without padding every count is the window size: the cheaper constant divisor
            options = {"count_include_pad": unpadded, **options}
        pool = {"MaxPool": lax.max_pool, "SumPool": lax.sum_pool, "AvgPool": lax.avg_pool}[kind]

        def init_fun(rng, input_shape):
            shape = check_shape_rank(input_shape, (k + 2,), name, layout)
            if perm is not None:
                shape = tuple(shape[p] for p in perm)
            known, unknown = _known(shape)
            opts = {o: v for o, v in options.items() if o in ("dilation", "ceil_mode")}
            try:
                out = list(lax.pool_output_shape(known, window, strides, padding, **opts))
            except ValueError as err:
                raise LayerError(name, str(err)) from None
            for i in unknown:
                out[i] = -1
            if perm is not None:
                out = [out[p] for p in _inverse(perm)]
            if any(d == 0 for d in out):
                raise LayerError(
                    name, f"the window does not fit the input shape {tuple(input_shape)}"
                )
            out = tuple(out)
            return ([out, out] if options.get("return_indices") else out), ()

        def apply_fun(params, inputs, **kwargs):
            check_rank(inputs, (k + 2,), name, layout)
            x = inputs if perm is None else fnp.transpose(inputs, perm)
            out = pool(x, window, strides, padding, **options)
            if options.get("return_indices"):
                return [o if perm is None else fnp.transpose(o, _inverse(perm)) for o in out]
            return out if perm is None else fnp.transpose(out, _inverse(perm))

        return Layer(init_fun, apply_fun, name=name)

    return PoolingLayer


MaxPool = _pooling_layer("MaxPool")
MaxPool.__name__ = MaxPool.__qualname__ = "MaxPool"
MaxPool.__doc__ = """Max pooling over windows of the spatial axes (JAX stax's ``MaxPool``).

    Args:
        window_shape: window size per spatial axis.
        strides: step per spatial axis (default 1).
        padding: see the module docstring; padding never wins the maximum.
        spec: the input layout, e.g. 'NHWC' (the default) or 'NCHW'.
        dilation, ceil_mode: keyword options as PyTorch's ``MaxPool``.
        return_indices: also output, as PyTorch, the index of each maximum in the
            flattened spatial axes (a list ``[values, indices]``), for :func:`MaxUnpool`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import stax
        >>> init_fun, apply_fun = stax.MaxPool((2, 2), strides=(2, 2))
        >>> init_fun(None, (-1, 4, 4, 3))
        ((-1, 2, 2, 3), ())
        >>> x = fnp.arange(16.0).reshape(1, 4, 4, 1)
        >>> apply_fun((), x)[0, :, :, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """

SumPool = _pooling_layer("SumPool")
SumPool.__name__ = SumPool.__qualname__ = "SumPool"
SumPool.__doc__ = """Sum pooling (JAX stax's ``SumPool``); padding counts as zero.

    Arguments as :func:`MaxPool`; keyword option ``ceil_mode``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import stax
        >>> stax.SumPool((2,), strides=(2,))[1]((), fnp.arange(4.0).reshape(1, 4, 1))[0, :, 0].tolist()
        [1.0, 5.0]
    """

AvgPool = _pooling_layer("AvgPool")
AvgPool.__name__ = AvgPool.__qualname__ = "AvgPool"
AvgPool.__doc__ = """Average pooling (JAX stax's ``AvgPool``).

    Each window's sum is divided by the number of *input* elements in it, as JAX stax
    does (PyTorch's ``count_include_pad=False``); ``count_include_pad=True`` divides by
    the window size including padding (PyTorch's default). Keyword options
    ``ceil_mode``, ``count_include_pad``, ``divisor_override`` as PyTorch's ``AvgPool``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import stax
        >>> x = fnp.asarray([1.0, 2.0, 3.0]).reshape(1, 3, 1)
        >>> stax.AvgPool((2,), padding='SAME')[1]((), x)[0, :, 0].tolist()
        [1.5, 2.5, 3.0]
        >>> stax.AvgPool((2,), padding='SAME', count_include_pad=True)[1]((), x)[0, :, 0].tolist()
        [1.5, 2.5, 1.5]
    """


def _adaptive(kind: str, output_size: Sequence[int | None], return_indices: bool = False) -> Layer:
    sizes = tuple(output_size)
    k = len(sizes)
    name = f"{kind}({sizes})"
    layout = "N" + ("DHW"[-k:] if k <= 3 else "*spatial") + "C"

    def init_fun(rng, input_shape):
        shape = check_shape_rank(input_shape, (k + 2,), name, layout)
        out = (shape[0], *(n if o is None else o for n, o in zip(shape[1:-1], sizes)), shape[-1])
        return ([out, out] if return_indices else out), ()

    def apply_fun(params, inputs, **kwargs):
        check_rank(inputs, (k + 2,), name, layout)
        if kind == "AdaptiveAvgPool":
            return lax.adaptive_avg_pool(inputs, sizes)
        out = lax.adaptive_max_pool(inputs, sizes, return_indices=return_indices)
        return list(out) if return_indices else out

    return Layer(init_fun, apply_fun, name=name)


def AdaptiveAvgPool(output_size: Sequence[int | None]) -> Layer:
    """Average pooling to a fixed spatial size, with PyTorch's ``AdaptiveAvgPool`` windows.

    ``output_size`` has one entry per spatial axis (``None`` keeps that axis).

    Examples:
        >>> import stax
        >>> stax.AdaptiveAvgPool((1, 1))[0](None, (-1, 7, 5, 16))
        ((-1, 1, 1, 16), ())
    """
    return _adaptive("AdaptiveAvgPool", output_size)


def AdaptiveMaxPool(output_size: Sequence[int | None], return_indices: bool = False) -> Layer:
    """Max pooling to a fixed spatial size, with PyTorch's ``AdaptiveMaxPool`` windows.

    Examples:
        >>> import stax
        >>> stax.AdaptiveMaxPool((2,))[0](None, (-1, 5, 3))
        ((-1, 2, 3), ())
    """
    return _adaptive("AdaptiveMaxPool", output_size, return_indices)


def _global(kind: str) -> Layer:
    def init_fun(rng, input_shape):
        shape = check_shape_rank(input_shape, tuple(range(3, 8)), kind, "N, *spatial, C")
        return (shape[0], shape[-1]), ()

    def apply_fun(params, inputs, **kwargs):
        check_rank(inputs, tuple(range(3, 8)), kind, "N, *spatial, C")
        axes = tuple(range(1, inputs.ndim - 1))
        return (
            fnp.mean(inputs, axis=axes) if kind == "GlobalAvgPool" else fnp.max(inputs, axis=axes)
        )

    return Layer(init_fun, apply_fun, name=kind)


GlobalAvgPool = _global("GlobalAvgPool")
"""The mean over all spatial axes: ``(N, *spatial, C) -> (N, C)`` (Keras' GlobalAveragePooling)."""
GlobalMaxPool = _global("GlobalMaxPool")
"""The maximum over all spatial axes: ``(N, *spatial, C) -> (N, C)``."""


def MaxUnpool(
    window_shape: Sequence[int],
    strides=None,
    padding: Any = 0,
    *,
    output_size: Sequence[int] | None = None,
) -> Layer:
    """The inverse of ``MaxPool(..., return_indices=True)`` (PyTorch's ``MaxUnpool``).

    Its input is the pair ``[values, indices]`` that such a MaxPool outputs; each value
    goes to its index in a zero array of spatial size ``output_size`` (default
    ``(n - 1) * stride - 2 * padding + window``). Give the pooling's window, strides and
    padding (here ``strides`` defaults to 1, as in MaxPool).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> net = stax.serial(stax.MaxPool((2,), (2,), return_indices=True), stax.MaxUnpool((2,), (2,)))
        >>> out_shape, params = net[0](random.key(0), (-1, 4, 1))
        >>> out_shape, net[1](params, fnp.asarray([1.0, 3.0, 2.0, 0.0]).reshape(1, 4, 1))[0, :, 0].tolist()
        ((-1, 4, 1), [0.0, 3.0, 2.0, 0.0])
    """
    window = tuple(int(w) for w in window_shape)
    k = len(window)
    name = f"MaxUnpool({window})"
    stride = (1,) * k if strides is None else tuple(strides)
    pads = (
        ((padding, padding),) * k
        if isinstance(padding, int)
        else tuple((p, p) if isinstance(p, int) else tuple(p) for p in padding)
    )

    def out_sizes(in_sizes):
        if output_size is not None:
            return tuple(output_size)[-k:]
        return tuple(
            (n - 1) * s - lo - hi + w for n, s, (lo, hi), w in zip(in_sizes, stride, pads, window)
        )

    def _pair(x, what):
        if not isinstance(x, (list, tuple)) or len(x) != 2:
            raise LayerError(
                name,
                f"expects [values, indices] (from MaxPool(..., return_indices=True)), got {what}",
            )
        return x

    def init_fun(rng, input_shape):
        values, _ = _pair(input_shape, f"input shape {input_shape!r}")
        shape = check_shape_rank(values, (k + 2,), name, "N, *spatial, C")
        return (shape[0], *out_sizes(shape[1:-1]), shape[-1]), ()

    def apply_fun(params, inputs, **kwargs):
        values, indices = _pair(inputs, type(inputs).__name__)
        check_rank(values, (k + 2,), name, "N, *spatial, C")
        size = out_sizes(values.shape[1:-1])
        return lax.max_unpool(values, indices, window, stride, pads, output_size=size)

    return Layer(init_fun, apply_fun, name=name)
