"""Checks shared by the layers: params layout, input rank and feature sizes, with clear errors."""

from __future__ import annotations

from typing import Any

from stax.protocol import LayerError


def unpack(params: Any, names: tuple[str, ...], layer: str) -> tuple:
    """``params`` as the tuple ``names`` describes, or an error naming the layout."""
    if not isinstance(params, (tuple, list)) or len(params) != len(names):
        got = (
            f"{len(params)} entries" if isinstance(params, (tuple, list)) else type(params).__name__
        )
        raise LayerError(
            layer,
            f"params must be ({', '.join(names)}), got {got}; pass the params this layer's "
            f"init_fun returned",
        )
    return tuple(params)


def check_rank(x: Any, ranks: tuple[int, ...], layer: str, layout: str) -> None:
    """Raise unless ``x.ndim`` is one of ``ranks``; ``layout`` names the expected axes."""
    if x.ndim not in ranks:
        raise LayerError(
            layer,
            f"expects inputs of rank {' or '.join(map(str, ranks))} ({layout}), got shape "
            f"{tuple(x.shape)} (rank {x.ndim})",
        )


def check_size(x: Any, axis: int, expected: int, layer: str, what: str) -> None:
    """Raise unless ``x.shape[axis] == expected``."""
    if x.shape[axis] != expected:
        raise LayerError(
            layer,
            f"expects {expected} {what} on axis {axis}, got shape {tuple(x.shape)} "
            f"({x.shape[axis]} {what}); the params were initialized for another input shape",
        )


def check_shape_rank(input_shape: Any, ranks: tuple[int, ...], layer: str, layout: str) -> tuple:
    """The init-time counterpart of :func:`check_rank`, on an input shape."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise LayerError(
            layer, f"input_shape must be a tuple of ints, got {input_shape!r}"
        ) from None
    if len(shape) not in ranks:
        raise LayerError(
            layer,
            f"expects input shapes of rank {' or '.join(map(str, ranks))} ({layout}), got "
            f"{shape} (rank {len(shape)})",
        )
    return shape
