"""The Embedding layer: a lookup table from integer indices to learned vectors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax
from stax.initializers import normal
from stax.layers._util import unpack
from stax.protocol import Layer, LayerError

__all__ = ["Embedding"]


def _concrete(x) -> np.ndarray | None:
    """The value of ``x``, or None while it is traced (jit, vmap)."""
    try:
        return np.asarray(x)
    except funcgrad.ConcretizationError:
        return None


def Embedding(
    num_embeddings: int,
    features: int,
    embedding_init: Callable = normal(1.0),
    padding_idx: int | None = None,
) -> Layer:
    """Map integer indices to rows of a learned table (PyTorch's ``nn.Embedding``).

    Inputs are integer arrays of any shape ``(N, ...)``; the output has one more axis,
    ``(N, ..., features)``, holding ``table[index]``. The params are ``(table,)`` with
    ``table`` of shape ``(num_embeddings, features)``, drawn by ``embedding_init``
    (default ``normal(1.0)``, PyTorch's ``N(0, 1)``; flax uses a smaller variance).

    ``padding_idx`` follows PyTorch: that row is set to zero at initialization and gets
    no gradient (its lookups go through ``stop_gradient``), so it stays what it is
    during training; a negative ``padding_idx`` counts from the end.

    Indices must lie in ``[0, num_embeddings)``, as in PyTorch (negative indices are an
    error, not NumPy's wrap-around). Eagerly a bad index raises a ``LayerError`` naming
    it; under ``jit`` or ``vmap`` the values are unknown while tracing, so the rows of
    bad indices come out as NaN instead of a silent wrong vector.

    Args:
        num_embeddings: the number of rows (the vocabulary size).
        features: the size of each embedding vector.
        embedding_init: initializer ``(key, shape) -> array`` of the table.
        padding_idx: the index whose row is zero at init and never updated, or None.

    Returns:
        The :class:`~stax.protocol.Layer`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.Embedding(5, 3, padding_idx=0)
        >>> out_shape, (table,) = init_fun(random.key(0), (-1, 4))
        >>> out_shape, table.shape, table[0].tolist()
        ((-1, 4, 3), (5, 3), [0.0, 0.0, 0.0])
        >>> apply_fun((table,), fnp.asarray([[1, 0, 4, 1]])).shape
        (1, 4, 3)
    """
    num_embeddings, features = int(num_embeddings), int(features)
    if num_embeddings < 1 or features < 1:
        raise ValueError(
            f"stax.Embedding: num_embeddings and features must be positive, got "
            f"{num_embeddings} and {features}"
        )
    if padding_idx is not None:
        if not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(
                f"stax.Embedding: padding_idx must be in [-{num_embeddings}, {num_embeddings}), "
                f"got {padding_idx}"
            )
        padding_idx = int(padding_idx) % num_embeddings
    name = f"Embedding({num_embeddings}, {features})"

    def init_fun(rng, input_shape):
        table = embedding_init(rng, (num_embeddings, features))
        if padding_idx is not None:
            table = table.at[padding_idx].set(0)
        return tuple(input_shape) + (features,), (table,)

    def apply_fun(params, inputs, **kwargs):
        (table,) = unpack(params, ("table",), name)
        if tuple(table.shape) != (num_embeddings, features):
            raise LayerError(
                name,
                f"the table has shape {tuple(table.shape)}, expected {(num_embeddings, features)}; "
                f"pass the params this layer's init_fun returned",
            )
        inputs = fnp.asarray(inputs)
        if not fnp.isdtype(inputs.dtype, "integral"):
            raise LayerError(
                name,
                f"expects integer indices, got dtype {inputs.dtype} (shape "
                f"{tuple(inputs.shape)}); cast them with .astype(int)",
            )
        value = _concrete(inputs)
        valid = None
        if value is not None:
            bad = (value < 0) | (value >= num_embeddings)
            if bad.any():
                raise LayerError(
                    name,
                    f"index {value[bad].flat[0]} is out of range [0, {num_embeddings}) (inputs of "
                    f"shape {tuple(inputs.shape)})",
                )
        else:  # traced: clip to keep the gather in bounds, and mark bad rows with NaN below
            valid = (inputs >= 0) & (inputs < num_embeddings)
            inputs = fnp.clip(inputs, 0, num_embeddings - 1)
        out = fnp.take(table, inputs, axis=0)
        if padding_idx is not None:
            # the padding row's lookups carry no gradient back to the table (PyTorch's rule)
            out = fnp.where((inputs == padding_idx)[..., None], lax.stop_gradient(out), out)
        if valid is not None:
            out = fnp.where(valid[..., None], out, fnp.nan)
        return out

    return Layer(init_fun, apply_fun, name=name)
