"""``funcgrad.lax`` functions that are compositions of other operations (JAX's names).

Scans and reductions with a user computation (``associative_scan``, ``cumlogsumexp``,
``reduce``), selection and sorting helpers (``select_n``, ``sort_key_val``, ``top_k``),
shape helpers (``collapse``, ``broadcast_to_rank``, ``split``, ...) and the convolution
helpers (``conv``, ``conv_with_general_padding``, ``conv_general_dilated_patches``,
``conv_dimension_numbers``, ``padtype_to_pads``). Being compositions, they are
differentiable, batchable and jittable through the primitives they use.
"""

from __future__ import annotations

import enum
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad._src.core import is_array_like
from funcgrad._src.tree_util import tree_flatten, tree_unflatten

__all__ = [
    "Precision", "RoundingMethod", "associative_scan", "batch_matmul", "broadcast_shapes",
    "broadcast_to_rank", "collapse", "complex", "conv", "conv_dimension_numbers",
    "conv_general_dilated_local", "conv_general_dilated_patches", "conv_with_general_padding",
    "cumlogsumexp",
    "optimization_barrier", "padtype_to_pads", "reduce", "reduce_xor", "select_n",
    "sort_key_val", "split", "top_k", "zeros_like_array",
]  # fmt: skip


def _fnp():
    import funcgrad.numpy as fnp

    return fnp


def _as_array(x):
    return x if is_array_like(x) else _fnp().asarray(x)


class Precision(enum.Enum):
    """Matrix-product precision hints; accepted everywhere JAX takes ``precision`` and
    ignored (NumPy and CuPy compute in the operands' own dtype)."""

    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2


class RoundingMethod(enum.IntEnum):
    """Tie-breaking of ``round``: away from zero (JAX's default) or to the nearest even."""

    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


# --- scans and reductions -----------------------------------------------------------------


def _slice_axis(x, axis, start, stop, step=1):
    key = (slice(None),) * axis + (slice(start, stop, step),)
    return x[key]


def _interleave(a, b, axis):
    """``a[0], b[0], a[1], b[1], ...`` along ``axis`` (``a`` is as long as ``b`` or one
    longer)."""
    fnp = _fnp()
    n = a.shape[axis] + b.shape[axis]
    if a.shape[axis] > b.shape[axis]:
        pad = [(0, 0)] * b.ndim
        pad[axis] = (0, 1)
        b = fnp.pad(b, pad)
    both = fnp.stack([a, b], axis=axis + 1)
    shape = a.shape[:axis] + (2 * a.shape[axis],) + a.shape[axis + 1 :]
    return _slice_axis(both.reshape(shape), axis, 0, n)


def associative_scan(fn: Callable, elems, reverse: bool = False, axis: int = 0):
    """Inclusive scan of ``elems`` (a pytree of arrays) along ``axis`` with the
    associative ``fn``, in ``O(log n)`` vectorised steps (the odd/even recursion of
    Blelloch / Ladner-Fischer): ``fn`` is called on whole slices, so it must act
    elementwise on arrays (any function of lax/fnp operations does).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.associative_scan(fnp.add, fnp.arange(1, 6)).tolist()
        [1, 3, 6, 10, 15]
        >>> lax.associative_scan(fnp.maximum, fnp.asarray([1, 3, 2, 5, 4]), reverse=True).tolist()
        [5, 5, 5, 5, 4]
    """
    fnp = _fnp()
    leaves, tree = tree_flatten(elems)
    if not leaves:
        raise ValueError("funcgrad.lax.associative_scan: elems has no arrays")
    leaves = [_as_array(x) for x in leaves]
    ndim = leaves[0].ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"funcgrad.lax.associative_scan: axis {axis} out of range for rank {ndim}")
    axis %= ndim
    n = leaves[0].shape[axis]
    if any(x.shape[axis] != n for x in leaves):
        raise ValueError(
            f"funcgrad.lax.associative_scan: every leaf must have the same length along axis "
            f"{axis}, got shapes {[x.shape for x in leaves]}"
        )
    if reverse:
        leaves = [fnp.flip(x, axis) for x in leaves]

    def combine(a, b):
        out = fn(tree_unflatten(tree, a), tree_unflatten(tree, b))
        out_leaves, out_tree = tree_flatten(out)
        if out_tree != tree:
            raise TypeError(
                f"funcgrad.lax.associative_scan: fn must return the structure of elems "
                f"({tree}), got {out_tree}"
            )
        return out_leaves

    def scan(xs):
        k = xs[0].shape[axis]
        if k < 2:
            return xs
        reduced = combine([_slice_axis(x, axis, 0, k - 1, 2) for x in xs],
                          [_slice_axis(x, axis, 1, k, 2) for x in xs])  # fmt: skip
        odd = scan(reduced)
        if k % 2 == 0:
            even = combine([_slice_axis(o, axis, 0, -1) for o in odd],
                           [_slice_axis(x, axis, 2, k, 2) for x in xs])  # fmt: skip
        else:
            even = combine(odd, [_slice_axis(x, axis, 2, k, 2) for x in xs])
        even = [fnp.concatenate([_slice_axis(x, axis, 0, 1), e], axis=axis)
                for x, e in zip(xs, even)]  # fmt: skip
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]

    out = scan(leaves)
    if reverse:
        out = [fnp.flip(x, axis) for x in out]
    return tree_unflatten(tree, out)


def cumlogsumexp(operand, axis: int = 0, reverse: bool = False):
    """``log(cumsum(exp(operand)))`` along ``axis``, computed stably (a scan of
    ``logaddexp``), so large entries do not overflow.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.cumlogsumexp(fnp.asarray([1000.0, 1000.0])).tolist()
        [1000.0, 1000.6931471805599]
    """
    operand = _as_array(operand)
    if operand.dtype.kind not in "f":
        raise TypeError(f"funcgrad.lax.cumlogsumexp: needs a float operand, got {operand.dtype}")
    return associative_scan(_fnp().logaddexp, operand, reverse=reverse, axis=axis)


def _monoid(computation, dtype) -> str | None:
    """The name of the reduction ``computation`` performs, if it is one primitive."""
    from funcgrad._src.jit import make_jaxpr

    try:
        closed = make_jaxpr(computation)(np.zeros((), dtype), np.zeros((), dtype))
    except Exception:  # noqa: BLE001  (needs more than scalars: the general path)
        return None
    jaxpr = closed.jaxpr
    eqns = jaxpr.eqns
    if (len(eqns) != 1 or list(eqns[0].outputs) != list(jaxpr.outvars)
            or set(map(id, eqns[0].inputs)) != set(map(id, jaxpr.invars))):  # fmt: skip
        return None
    name = eqns[0].primitive.name
    return {"add": "sum", "mul": "prod", "max": "max", "min": "min", "and": "all", "or": "any",
            "logical_and": "all", "logical_or": "any"}.get(name)  # fmt: skip


def reduce(operands, init_values, computation: Callable, dimensions: Sequence[int]):
    """Reduce ``operands`` (an array or a pytree of arrays) over ``dimensions`` with
    ``computation(acc, x) -> acc``, starting from ``init_values``.

    A computation that is one add/mul/max/min/and/or (found by tracing it) becomes that
    reduction; any other must be associative and commutative, as in XLA, and is applied
    to whole halves in a tree (``O(log n)`` vectorised steps), then once to
    ``init_values``. As in XLA, ``init_values`` must be an identity of the computation
    (0 for add, -inf for max, ...): odd lengths are padded with it.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.arange(6.0).reshape(2, 3)
        >>> lax.reduce(x, 0.0, lax.add, (1,)).tolist()
        [3.0, 12.0]
        >>> lax.reduce(x, 1.0, lambda a, b: a * b + 0 * a, (0,)).tolist()
        [0.0, 4.0, 10.0]
    """
    fnp = _fnp()
    leaves, tree = tree_flatten(operands)
    inits, init_tree = tree_flatten(init_values)
    if len(leaves) != len(inits):
        raise TypeError(
            f"funcgrad.lax.reduce: {len(leaves)} operands but {len(inits)} init values; pass one "
            f"init value per operand"
        )
    leaves = [_as_array(x) for x in leaves]
    ndim = leaves[0].ndim
    dims = tuple(sorted(operator.index(d) % ndim for d in dimensions))
    if len(leaves) == 1:
        kind = _monoid(computation, leaves[0].dtype)
        if kind is not None:
            x = leaves[0]
            out = getattr(fnp, kind)(x, axis=dims)
            out = computation(fnp.asarray(inits[0], dtype=x.dtype), out)
            return fnp.asarray(out, dtype=x.dtype)
    # the general tree: reduced axes moved last and merged into one
    kept = tuple(d for d in range(ndim) if d not in dims)
    flat = []
    for x in leaves:
        x = fnp.transpose(x, kept + dims)
        flat.append(x.reshape(tuple(x.shape[: len(kept)]) + (-1,)))
    inits = [fnp.asarray(v, dtype=x.dtype) for v, x in zip(inits, leaves)]

    def combine(a, b):
        out = computation(tree_unflatten(tree, a), tree_unflatten(tree, b))
        return tree_flatten(out)[0]

    while flat[0].shape[-1] > 1:
        k = flat[0].shape[-1]
        if k % 2:  # an odd length: pad with the identity-like init value
            flat = [fnp.concatenate([x, fnp.broadcast_to(v, x.shape[:-1] + (1,))], axis=-1)
                    for x, v in zip(flat, inits)]  # fmt: skip
        flat = combine([x[..., 0::2] for x in flat], [x[..., 1::2] for x in flat])
    if flat[0].shape[-1] == 0:
        out = [fnp.broadcast_to(v, x.shape[:-1]) for x, v in zip(flat, inits)]
    else:
        out = combine([fnp.broadcast_to(v, x.shape[:-1]) for x, v in zip(flat, inits)],
                      [x[..., 0] for x in flat])  # fmt: skip
    del init_tree
    return tree_unflatten(tree, out)


def reduce_xor(operand, axes: Sequence[int]):
    """Bitwise (or, for bools, logical) xor over ``axes``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> int(lax.reduce_xor(fnp.asarray([1, 2, 7]), (0,)))
        4
    """
    operand = _as_array(operand)
    if operand.dtype.kind not in "biu":
        raise TypeError(f"funcgrad.lax.reduce_xor: needs bool or integers, got {operand.dtype}")
    zero = np.zeros((), operand.dtype)[()]
    return reduce(operand, zero, _fnp().bitwise_xor, axes)


# --- selection and sorting ----------------------------------------------------------------


def select_n(which, *cases):
    """``cases[which]`` elementwise: ``which`` is a bool (two cases) or an integer array
    (any number of cases) of the cases' shape, or 0-d. Out-of-range ``which`` is
    undefined behaviour in JAX; here it gives the last case.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.select_n(fnp.asarray([0, 2, 1]), fnp.zeros(3), fnp.ones(3), fnp.full(3, 2.0)).tolist()
        [0.0, 2.0, 1.0]
    """
    fnp = _fnp()
    if not cases:
        raise ValueError("funcgrad.lax.select_n: needs at least one case")
    which = _as_array(which)
    cases = [_as_array(c) for c in cases]
    if len({(c.shape, c.dtype) for c in cases}) > 1:
        raise TypeError(
            f"funcgrad.lax.select_n: the cases must share one shape and dtype, got "
            f"{[(c.shape, str(c.dtype)) for c in cases]}"
        )
    if which.dtype.kind == "b":
        if len(cases) > 2:
            raise TypeError("funcgrad.lax.select_n: a bool selector picks between two cases only")
        return fnp.where(which, cases[-1], cases[0])
    if which.dtype.kind not in "iu":
        raise TypeError(f"funcgrad.lax.select_n: which must be bool or integer, got {which.dtype}")
    out = cases[0]
    for i, c in enumerate(cases[1:], 1):
        out = fnp.where(which >= i, c, out)
    return out


def sort_key_val(keys, values, dimension: int = -1, is_stable: bool = True):
    """``keys`` sorted along ``dimension`` and ``values`` permuted the same way.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> k, v = lax.sort_key_val(fnp.asarray([3, 1, 2]), fnp.asarray([30.0, 10.0, 20.0]))
        >>> k.tolist(), v.tolist()
        ([1, 2, 3], [10.0, 20.0, 30.0])
    """
    from funcgrad._src.lax.wrappers import sort

    k, v = sort((_as_array(keys), _as_array(values)), dimension, is_stable, num_keys=1)
    return k, v


def top_k(operand, k: int):
    """The ``k`` largest entries along the last axis, in descending order, and their
    indices (as ``jax.lax.top_k``; ties keep the lower index first).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> v, i = lax.top_k(fnp.asarray([1.0, 4.0, 2.0, 4.0]), 2)
        >>> v.tolist(), i.tolist()
        ([4.0, 4.0], [1, 3])
    """
    return _fnp().top_k(operand, k)


def optimization_barrier(operand):
    """``operand`` (any pytree) unchanged. In XLA it stops the compiler moving work across
    it; funcgrad's jit does not reorder across Python calls, so it is the identity.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.optimization_barrier((fnp.ones(2), 3.0))[1]
        3.0
    """
    return operand


# --- small shape and value helpers ----------------------------------------------------------


def complex(x, y):
    """``x + 1j * y`` for real ``x`` and ``y`` of one dtype (float32 -> complex64).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.complex(fnp.float32(1), fnp.float32(2)).dtype
        dtype('complex64')
    """
    x, y = _as_array(x), _as_array(y)
    if x.dtype != y.dtype or x.dtype.kind != "f":
        raise TypeError(
            f"funcgrad.lax.complex: x and y must be floats of one dtype, got {x.dtype} and {y.dtype}"
        )
    ctype = np.result_type(x.dtype, np.complex64)
    return x.astype(ctype) + y.astype(ctype) * ctype.type(1j)


def batch_matmul(lhs, rhs, precision=None):
    """Matrix products over leading batch axes: ``(..., m, k) @ (..., k, n)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.batch_matmul(fnp.ones((2, 3, 4)), fnp.ones((2, 4, 5))).shape
        (2, 3, 5)
    """
    del precision
    lhs, rhs = _as_array(lhs), _as_array(rhs)
    if lhs.ndim < 2 or lhs.ndim != rhs.ndim or lhs.shape[:-2] != rhs.shape[:-2]:
        raise ValueError(
            f"funcgrad.lax.batch_matmul: operands need one rank >= 2 and equal batch axes, got "
            f"{lhs.shape} and {rhs.shape}"
        )
    return _fnp().matmul(lhs, rhs)


def broadcast_shapes(*shapes):
    """The NumPy broadcast of ``shapes``, as a tuple.

    Examples:
        >>> from funcgrad import lax
        >>> lax.broadcast_shapes((2, 1), (3,))
        (2, 3)
    """
    return tuple(np.broadcast_shapes(*shapes))


def broadcast_to_rank(x, rank: int):
    """``x`` with leading axes of size 1 added up to ``rank``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.broadcast_to_rank(fnp.ones(3), 3).shape
        (1, 1, 3)
    """
    x = _as_array(x)
    if rank < x.ndim:
        raise ValueError(f"funcgrad.lax.broadcast_to_rank: rank {rank} is below x's rank {x.ndim}")
    return x.reshape((1,) * (rank - x.ndim) + x.shape)


def collapse(operand, start_dimension: int, stop_dimension: int | None = None):
    """``operand`` with axes ``start_dimension:stop_dimension`` merged into one.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.collapse(fnp.ones((2, 3, 4)), 1).shape
        (2, 12)
    """
    operand = _as_array(operand)
    lo, hi, _ = slice(start_dimension, stop_dimension).indices(operand.ndim)
    merged = math.prod(operand.shape[lo:hi])
    return operand.reshape(operand.shape[:lo] + (merged,) + operand.shape[hi:])


def split(operand, sizes: Sequence[int], axis: int = 0):
    """``operand`` cut along ``axis`` into consecutive pieces of the given ``sizes``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> [p.tolist() for p in lax.split(fnp.arange(5), (2, 3))]
        [[0, 1], [2, 3, 4]]
    """
    operand = _as_array(operand)
    axis %= operand.ndim
    sizes = [operator.index(s) for s in sizes]
    if sum(sizes) != operand.shape[axis] or any(s < 0 for s in sizes):
        raise ValueError(
            f"funcgrad.lax.split: sizes {sizes} must be non-negative and sum to the axis size "
            f"{operand.shape[axis]}"
        )
    out, start = [], 0
    for s in sizes:
        out.append(_slice_axis(operand, axis, start, start + s))
        start += s
    return out


def zeros_like_array(x):
    """Zeros of ``x``'s shape and dtype.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.zeros_like_array(fnp.ones(2, fnp.int32)).tolist()
        [0, 0]
    """
    return _fnp().zeros_like(_as_array(x))


# --- convolution helpers ---------------------------------------------------------------------


def padtype_to_pads(in_shape, window_shape, window_strides, padding):
    """Explicit ``(lo, hi)`` pads for ``padding`` ``"SAME"``, ``"SAME_LOWER"`` or ``"VALID"``
    (``SAME``: output size ``ceil(in / stride)``, the odd pad element at the end;
    ``SAME_LOWER``: at the start).

    Examples:
        >>> from funcgrad import lax
        >>> lax.padtype_to_pads((5, 6), (3, 3), (2, 1), "SAME")
        [(1, 1), (1, 1)]
    """
    if not isinstance(padding, str):
        raise TypeError(f"funcgrad.lax.padtype_to_pads: padding must be a string, got {padding!r}")
    kind = padding.upper()
    if kind == "VALID":
        return [(0, 0)] * len(in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise ValueError(
            f"funcgrad.lax.padtype_to_pads: unknown padding {padding!r}; use 'SAME', "
            f"'SAME_LOWER' or 'VALID'"
        )
    pads = []
    for n, w, s in zip(in_shape, window_shape, window_strides):
        out = -(-n // s)
        total = max((out - 1) * s + w - n, 0)
        small, big = total // 2, total - total // 2
        pads.append((small, big) if kind == "SAME" else (big, small))
    return pads


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers):
    """The :class:`ConvDimensionNumbers` for ``dimension_numbers`` (None: NCHW/OIHW/NCHW;
    a triple of strings such as ``("NHWC", "HWIO", "NHWC")``; or already the tuple).

    Examples:
        >>> from funcgrad import lax
        >>> lax.conv_dimension_numbers((1, 8, 8, 3), (3, 3, 3, 4), ("NHWC", "HWIO", "NHWC"))
        ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """
    from funcgrad._src.lax.convolution import _parse_dimension_numbers

    if len(lhs_shape) != len(rhs_shape):
        raise ValueError(
            f"funcgrad.lax.conv_dimension_numbers: lhs {tuple(lhs_shape)} and rhs "
            f"{tuple(rhs_shape)} must have one rank"
        )
    return _parse_dimension_numbers(dimension_numbers, len(lhs_shape), "conv_dimension_numbers")


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """``conv_general_dilated`` on NCHW/OIHW operands without dilation or groups.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.conv(fnp.ones((1, 1, 4, 4)), fnp.ones((1, 1, 3, 3)), (1, 1), "VALID").tolist()
        [[[[9.0, 9.0], [9.0, 9.0]]]]
    """
    from funcgrad._src.lax.convolution import conv_general_dilated

    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)  # fmt: skip


def conv_with_general_padding(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                              precision=None, preferred_element_type=None):  # fmt: skip
    """``conv_general_dilated`` on NCHW/OIHW operands with explicit padding and dilations.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.conv_with_general_padding(fnp.ones((1, 1, 3)), fnp.ones((1, 1, 2)), (1,),
        ...                               [(1, 1)], None, (2,)).tolist()
        [[[1.0, 2.0, 1.0]]]
    """
    from funcgrad._src.lax.convolution import conv_general_dilated

    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
                                rhs_dilation=rhs_dilation, precision=precision,
                                preferred_element_type=preferred_element_type)  # fmt: skip


def conv_general_dilated_patches(lhs, filter_shape, window_strides, padding, lhs_dilation=None,
                                 rhs_dilation=None, dimension_numbers=None, precision=None,
                                 preferred_element_type=None):  # fmt: skip
    """The patches (windows) a convolution with a kernel of spatial shape ``filter_shape``
    would see, as output features: feature ``c * prod(filter_shape) + s`` is input
    channel ``c`` at window tap ``s`` (taps in row-major order), as in JAX. Computed as a
    grouped convolution with a one-hot kernel, so it is exactly differentiable.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.arange(4.0).reshape(1, 1, 4)
        >>> lax.conv_general_dilated_patches(x, (2,), (1,), "VALID")[0].tolist()
        [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]]
    """
    from funcgrad._src.lax.convolution import conv_general_dilated

    fnp = _fnp()
    del precision
    lhs = _as_array(lhs)
    filter_shape = tuple(operator.index(k) for k in filter_shape)
    dn = conv_dimension_numbers(lhs.shape, (1, 1) + filter_shape, dimension_numbers)
    lhs_spec, rhs_spec, _ = dn
    taps = math.prod(filter_shape)
    channels = lhs.shape[lhs_spec[1]]
    # kernel in (out feature, in feature, *spatial) order: feature (c, s) picks tap s
    one_hot = np.eye(taps, dtype=lhs.dtype).reshape((taps, 1) + filter_shape)
    kernel = np.tile(one_hot, (channels,) + (1,) * (one_hot.ndim - 1))
    order = np.argsort(rhs_spec)  # canonical axis i goes to position rhs_spec[i]
    kernel = np.transpose(kernel, order)
    out = conv_general_dilated(
        lhs, fnp.asarray(kernel), window_strides, padding, lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation, dimension_numbers=dn, feature_group_count=channels,
        preferred_element_type=preferred_element_type,
    )  # fmt: skip
    return out


def conv_general_dilated_local(lhs, rhs, window_strides, padding, filter_shape, lhs_dilation=None,
                               rhs_dilation=None, dimension_numbers=None, precision=None):  # fmt: skip
    """Unshared (locally connected) convolution: a separate kernel at every output
    position, as JAX's.

    ``rhs`` has the output-feature (``O``) and input (``I``) axes of ``dimension_numbers``'
    kernel spec, its spatial axes indexing *output* positions, and ``I`` of size
    ``C * prod(filter_shape)``: input channel ``c`` at window tap ``s`` is entry
    ``c * prod(filter_shape) + s`` (taps in row-major order of ``filter_shape``, given in
    the kernel spec's spatial order), the layout of :func:`conv_general_dilated_patches`,
    whose patches it contracts with each position's kernel. Strides, padding and both
    dilations as in ``conv_general_dilated``; differentiable in both operands.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.arange(4.0).reshape(1, 1, 4)
        >>> w = fnp.asarray([[[1.0, 0.0, 2.0], [1.0, 10.0, 0.0]]])  # (O=1, I=1*2, 3 positions)
        >>> lax.conv_general_dilated_local(x, w, (1,), "VALID", (2,)).tolist()
        [[[1.0, 20.0, 4.0]]]
    """
    fnp = _fnp()
    del precision
    lhs, rhs = _as_array(lhs), _as_array(rhs)
    if lhs.ndim != rhs.ndim or lhs.ndim < 3:
        raise ValueError(
            f"funcgrad.lax.conv_general_dilated_local: lhs {lhs.shape} and rhs {rhs.shape} must "
            f"have one rank, at least 3 (batch, feature and spatial axes)"
        )
    dn = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    patches = conv_general_dilated_patches(lhs, filter_shape, window_strides, padding,
                                           lhs_dilation, rhs_dilation, dn)  # fmt: skip
    # both in canonical order: (batch, features, *positions) and (O, I, *positions)
    patches = fnp.transpose(patches, dn.out_spec)
    kernels = fnp.transpose(rhs, dn.rhs_spec)
    if kernels.shape[1:] != patches.shape[1:]:
        raise ValueError(
            f"funcgrad.lax.conv_general_dilated_local: rhs must hold, for each of the "
            f"{patches.shape[2:]} output positions, {patches.shape[1]} inputs (channels x "
            f"filter taps) per output feature; its (I, positions) axes are "
            f"{kernels.shape[1:]}"
        )
    out = fnp.einsum("nf...,of...->no...", patches, kernels)
    return fnp.transpose(out, tuple(np.argsort(dn.out_spec)))


del Any
