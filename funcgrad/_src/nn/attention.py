"""Scaled dot-product attention over ``[batch, seq, heads, head_dim]`` arrays (``jax.nn``'s layout)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from funcgrad._src.nn._util import fname
from funcgrad._src.nn.softmax_family import softmax
from funcgrad._src.numpy import contractions as k
from funcgrad._src.numpy import creation as c
from funcgrad._src.numpy import shape as _shape
from funcgrad._src.numpy import ufuncs as u
from funcgrad._src.numpy.util import asarray, broadcast_to_shape, convert

__all__ = ["dot_product_attention"]

_NAME = fname("dot_product_attention")


def _check_layout(query, key, value) -> tuple[int, int, int, int, int, int]:
    """(B, T, S, N, K, H) from 4-d operands, or an error naming the offending argument."""
    for arg_name, arr in (("query", query), ("key", key), ("value", value)):
        if arr.ndim != 4:
            raise ValueError(
                f"{_NAME}: {arg_name} must have shape [batch, seq, heads, head_dim] (or "
                f"[seq, heads, head_dim]) like query; got shape {arr.shape}"
            )
        if arr.dtype.kind != "f":
            raise TypeError(f"{_NAME}: {arg_name} must be a float array, got {arr.dtype}")
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(
            f"{_NAME}: query, key and value must share a dtype, got {query.dtype}, "
            f"{key.dtype}, {value.dtype}"
        )
    B, T, N, H = query.shape
    S, K = key.shape[1], key.shape[2]
    if key.shape != (B, S, K, H) or value.shape != key.shape:
        raise ValueError(
            f"{_NAME}: key and value must have shape [batch, kv_seq, kv_heads, head_dim] with "
            f"query's batch and head_dim; got query {query.shape}, key {key.shape}, "
            f"value {value.shape}"
        )
    if K == 0 or N % K:
        raise ValueError(
            f"{_NAME}: the number of query heads ({N}) must be a multiple of the number of "
            f"key/value heads ({K}) (grouped-query attention)"
        )
    return B, T, S, N, K, H


def _broadcast_logit_operand(x, arg_name: str, target: tuple[int, ...]):
    x = asarray(x, fname=_NAME)
    try:
        return broadcast_to_shape(x, target) if x.shape != target else x
    except ValueError:
        raise ValueError(
            f"{_NAME}: {arg_name} of shape {x.shape} does not broadcast to the logits' shape "
            f"{target} ([batch, heads, q_seq, kv_seq])"
        ) from None


def _window(local_window_size) -> tuple[int, int]:
    if isinstance(local_window_size, (int, np.integer)):
        left = right = int(local_window_size)
    elif isinstance(local_window_size, (tuple, list)) and len(local_window_size) == 2:
        left, right = (int(w) for w in local_window_size)
    else:
        raise TypeError(
            f"{_NAME}: local_window_size must be an int or a pair (left, right), got "
            f"{local_window_size!r}"
        )
    if left < 0 or right < 0:
        raise ValueError(f"{_NAME}: local_window_size must be non-negative, got {(left, right)}")
    return left, right


def _seq_mask(lengths, arg_name: str, batch: int, size: int):
    """[batch, size] booleans: position < length (the valid, unpadded part)."""
    lengths = asarray(lengths, fname=_NAME)
    if lengths.shape != (batch,) or lengths.dtype.kind not in "iu":
        raise ValueError(
            f"{_NAME}: {arg_name} must be an integer array of shape ({batch},) (one length per "
            f"batch element); got {lengths.dtype} of shape {lengths.shape}"
        )
    return c.arange(size)[None, :] < lengths[:, None]


def dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    bias: Any = None,
    mask: Any = None,
    *,
    scale: float | None = None,
    is_causal: bool = False,
    query_seq_lengths: Any = None,
    key_value_seq_lengths: Any = None,
    local_window_size: int | tuple[int, int] | None = None,
    implementation: str | None = None,
) -> Any:
    """``softmax(scale * Q K^T + bias, masked) V`` per head, with ``jax.nn``'s arguments.

    Shapes: ``query`` [B, T, N, H], ``key`` and ``value`` [B, S, K, H] (the batch axis may
    be left out of all three); N must be a multiple of K (K < N is grouped-query
    attention: query head ``n`` uses key/value head ``n // (N // K)``). ``bias`` and
    ``mask`` broadcast to the logits' shape [B, N, T, S] ([N, T, S] unbatched).

    Masking, all combined by "and": ``mask`` (True = attend), ``is_causal`` (query ``t``
    sees keys ``s <= t``, aligned top-left as in JAX), ``local_window_size`` (``w`` or
    ``(left, right)``: keys ``t - left <= s <= t + right``), and ``query_seq_lengths`` /
    ``key_value_seq_lengths`` ([B] integers: positions at or beyond the length are
    padding). As in JAX, a masked logit is set to ``-0.7 * finfo(dtype).max``, not
    ``-inf``, so a query row with no allowed key attends uniformly to all keys instead of
    giving NaN. ``scale`` defaults to ``1 / sqrt(H)``. float16 logits are normalised in
    float32. ``implementation`` may be None or ``"xla"`` (both mean this composition).

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> q = fnp.zeros((1, 2, 1, 4))  # equal logits: each query averages the keys it sees
        >>> kv = fnp.arange(8.0).reshape(1, 2, 1, 4)
        >>> nn.dot_product_attention(q, kv, kv, is_causal=True)[0, :, 0, 0].tolist()
        [0.0, 2.0]
    """
    if implementation not in (None, "xla"):
        raise ValueError(
            f"{_NAME}: implementation={implementation!r} is not available; funcgrad has one "
            f"implementation (pass None or 'xla')"
        )
    query, key, value = (asarray(a, fname=_NAME) for a in (query, key, value))
    unbatched = query.ndim == 3
    if unbatched:
        if key.ndim != 3 or value.ndim != 3:
            raise ValueError(
                f"{_NAME}: query, key and value must all be batched or all unbatched; got shapes "
                f"{query.shape}, {key.shape}, {value.shape}"
            )
        query, key, value = query[None], key[None], value[None]
    B, T, S, N, K, H = _check_layout(query, key, value)
    G = N // K
    logits_shape = (B, N, T, S)
    operand_shape = logits_shape[1:] if unbatched else logits_shape

    # logits [B, K, G, T, S]: query head n = k * G + g
    q = _shape.reshape(query, (B, T, K, G, H))
    logits = k.einsum("BTKGH,BSKH->BKGTS", q, key)
    logits = logits * (1.0 / math.sqrt(H) if scale is None else scale)
    softmax_dtype = np.dtype(np.float32) if logits.dtype == np.float16 else logits.dtype
    logits = convert(logits, softmax_dtype)
    if bias is not None:
        bias = _broadcast_logit_operand(bias, "bias", operand_shape)
        bias = convert(_shape.reshape(bias, (B, K, G, T, S)), softmax_dtype)
        logits = logits + bias

    allowed = None  # a boolean array broadcasting to [B, K, G, T, S]

    def restrict(m):
        nonlocal allowed
        allowed = m if allowed is None else u.logical_and(allowed, m)

    if mask is not None:
        m = _broadcast_logit_operand(mask, "mask", operand_shape)
        if m.dtype != np.bool_:
            raise TypeError(
                f"{_NAME}: mask must be boolean (True = attend), got {m.dtype}; pass an "
                f"additive mask as bias"
            )
        restrict(_shape.reshape(m, (B, K, G, T, S)))
    rows, cols = c.arange(T)[:, None], c.arange(S)[None, :]
    if is_causal:
        restrict(cols <= rows)
    if local_window_size is not None:
        left, right = _window(local_window_size)
        restrict(u.logical_and(cols >= rows - left, cols <= rows + right))
    if query_seq_lengths is not None:
        valid = _seq_mask(query_seq_lengths, "query_seq_lengths", B, T)
        restrict(valid[:, None, None, :, None])
    if key_value_seq_lengths is not None:
        valid = _seq_mask(key_value_seq_lengths, "key_value_seq_lengths", B, S)
        restrict(valid[:, None, None, None, :])
    if allowed is not None:
        large_negative = -0.7 * float(np.finfo(softmax_dtype).max)
        logits = u.where(allowed, logits, large_negative)

    probs = convert(softmax(logits, axis=-1), value.dtype)
    out = k.einsum("BKGTS,BSKH->BTKGH", probs, value)
    out = _shape.reshape(out, (B, T, N, H))
    return out[0] if unbatched else out
