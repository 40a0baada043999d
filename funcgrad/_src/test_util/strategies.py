"""Hypothesis strategies for testing functions of funcgrad arrays.

Every strategy shrinks towards a small, readable example: shapes towards few and short
axes, values towards the low end of their range (or just beside a point to avoid),
matrices towards the identity, probability vectors towards the uniform one, pytrees
towards a single leaf, keys towards ``key(0)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

_FLOATS = {"float16": np.float16, "float32": np.float32, "float64": np.float64}
_KINDS = {
    "b": [np.bool_], "i": [np.int8, np.int16, np.int32, np.int64],
    "u": [np.uint8, np.uint16, np.uint32, np.uint64], "f": [np.float32, np.float64],
    "c": [np.complex64, np.complex128],
}  # fmt: skip


# Defaults for the sizes of drawn matrices and vectors and for the number of vmap copies.
_SIDES = st.integers(1, 4)
_LENGTHS = st.integers(1, 5)
_COPIES = st.integers(1, 3)


def _fnp():
    import funcgrad.numpy as fnp  # public API, imported late: funcgrad imports this package

    return fnp


def _out(x: np.ndarray, as_numpy: bool) -> Any:
    return x if as_numpy else _fnp().asarray(x)


def dtypes(kinds: str = "f", *, exclude: Sequence[Any] = ()) -> st.SearchStrategy[np.dtype]:
    """Dtypes of the given kinds: ``"f"`` float32/float64, ``"c"`` complex, ``"i"``/``"u"``
    integers, ``"b"`` bool (float16 only on request, e.g. ``dtypes("f") | st.just(...)``).
    Shrinks towards the first kind's narrowest dtype.

    Examples:
        >>> import numpy as np
        >>> from funcgrad.test_util import strategies as fst
        >>> fst.dtypes("f").example() in (np.float32, np.float64)
        True
    """
    excluded = {np.dtype(e) for e in exclude}
    choices = [np.dtype(t) for k in kinds for t in _KINDS[k] if np.dtype(t) not in excluded]
    if not choices:
        raise ValueError(f"strategies.dtypes: no dtype left of kinds {kinds!r} after {exclude!r}")
    return st.sampled_from(choices)


def shapes(*, min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:  # fmt: skip
    """Array shapes; shrink towards ``min_dims`` axes of ``min_side`` each."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)  # fmt: skip


def _away(value: float, avoid: Sequence[float], margin: float, lo: float, hi: float) -> float:
    """``value`` moved out of ``margin`` of every point in ``avoid``, staying in [lo, hi]."""
    for _ in range(len(avoid) + 1):
        near = [k for k in avoid if abs(value - k) < margin]
        if not near:
            return value
        k = near[0]
        up, down = k + margin, k - margin
        value = up if (value >= k and up <= hi) or down < lo else down
    return value


def values(dtype: Any = np.float64, *, min_value: float = -3.0, max_value: float = 3.0,
           avoid: Sequence[float] = (), margin: float = 0.1) -> st.SearchStrategy:  # fmt: skip
    """Scalars of ``dtype`` in ``[min_value, max_value]``, at least ``margin`` away from each
    point in ``avoid`` (a function's kinks and poles: ``avoid=[0.0]`` for relu or abs,
    ``avoid=[-np.pi / 2, np.pi / 2]`` for tan). Shrink towards ``min_value``'s side of 0."""
    dtype = np.dtype(dtype)
    avoid = [float(a) for a in avoid]
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        ints = st.integers(max(int(np.ceil(min_value)), int(info.min)),
                           min(int(np.floor(max_value)), int(info.max)))  # fmt: skip
        return ints.filter(lambda v: all(abs(v - k) >= margin for k in avoid)) if avoid else ints
    if dtype.kind == "b":
        return st.booleans()
    width = 32 if dtype == np.float16 else 64
    reals = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=width)
    if avoid:
        reals = reals.map(lambda v: _away(v, avoid, margin, min_value, max_value)).filter(
            lambda v: all(abs(v - k) >= margin * 0.999 for k in avoid)
        )
    if dtype.kind == "c":
        return st.builds(complex, reals, reals)
    return reals


def arrays(dtype: Any = np.float64, shape: Any = None, *, min_value: float = -3.0,
           max_value: float = 3.0, avoid: Sequence[float] = (), margin: float = 0.1,
           as_numpy: bool = False) -> st.SearchStrategy:  # fmt: skip
    """Funcgrad arrays (NumPy arrays with ``as_numpy=True``) of drawn shape, dtype and values.

    Args:
        dtype: a dtype or a strategy of dtypes (e.g. :func:`dtypes`).
        shape: a shape, or a strategy of shapes (default :func:`shapes`).
        min_value, max_value: the range of the values (real and imaginary parts).
        avoid: points to stay ``margin`` away from: the kinks and poles of the function
            under test, where finite differences (and so :func:`check_grads`) cannot work.
        margin: how far to stay from them; keep it well above the finite-difference step.

    Examples:
        >>> import numpy as np
        >>> from funcgrad.test_util import strategies as fst
        >>> x = fst.arrays(shape=(3,), avoid=[0.0]).example()
        >>> bool(np.all(np.abs(np.asarray(x)) >= 0.1))
        True
    """
    if isinstance(dtype, st.SearchStrategy):
        return dtype.flatmap(lambda d: arrays(d, shape, min_value=min_value, max_value=max_value,
                                              avoid=avoid, margin=margin, as_numpy=as_numpy))  # fmt: skip
    dtype = np.dtype(dtype)
    elements = values(dtype, min_value=min_value, max_value=max_value, avoid=avoid, margin=margin)
    drawn = hnp.arrays(dtype, shapes() if shape is None else shape, elements=elements)
    return drawn.map(lambda x: _out(x, as_numpy))


def broadcastable_arrays(num: int = 2, dtype: Any = np.float64, *, min_dims: int = 0,
                         max_dims: int = 3, max_side: int = 4,
                         **value_kwargs: Any) -> st.SearchStrategy[tuple]:  # fmt: skip
    """``num`` arrays whose shapes broadcast together (NumPy's rules), e.g. ``(3, 1)`` and
    ``(4,)``; ``value_kwargs`` as for :func:`arrays`. Shrinks towards equal small shapes.

    Examples:
        >>> import numpy as np
        >>> from funcgrad.test_util import strategies as fst
        >>> a, b = fst.broadcastable_arrays().example()
        >>> (a + b).shape == np.broadcast_shapes(a.shape, b.shape)
        True
    """
    shapes_ = hnp.mutually_broadcastable_shapes(num_shapes=num, min_dims=min_dims,
                                                max_dims=max_dims, max_side=max_side)  # fmt: skip
    return shapes_.flatmap(
        lambda bs: st.tuples(*(arrays(dtype, s, **value_kwargs) for s in bs.input_shapes))
    )


def _orthogonal(g: np.ndarray) -> np.ndarray:
    """The orthogonal factor of ``g`` with the signs fixed by ``R``'s diagonal: always
    orthogonal (also for a singular or zero ``g``, whose factor is the identity)."""
    q, r = np.linalg.qr(g)
    d = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    d = np.where(d == 0, 1.0, d)
    return q * d[..., None, :]


def _square(n: Any, batch_shape: Any) -> st.SearchStrategy:
    n = st.just(n) if isinstance(n, int) else n
    batch = st.just(tuple(batch_shape)) if isinstance(batch_shape, (tuple, list)) else batch_shape
    return st.tuples(batch, n).flatmap(
        lambda bn: hnp.arrays(np.float64, (*bn[0], bn[1], bn[1]), elements=st.floats(-1, 1))
    )


def orthogonal_matrices(n: Any = _SIDES, *, batch_shape: Any = (), dtype: Any = np.float64,
                        as_numpy: bool = False) -> st.SearchStrategy:  # fmt: skip
    """Orthogonal ``n x n`` matrices (``Q^T Q = I``), the Q of a drawn matrix's QR
    decomposition. Shrink towards the identity.

    Examples:
        >>> import numpy as np
        >>> from funcgrad.test_util import strategies as fst
        >>> q = np.asarray(fst.orthogonal_matrices(3).example())
        >>> bool(np.allclose(q.T @ q, np.eye(3)))
        True
    """
    return _square(n, batch_shape).map(lambda g: _out(_orthogonal(g).astype(dtype), as_numpy))


def spd_matrices(n: Any = _SIDES, *, min_eigenvalue: float = 0.5, max_eigenvalue: float = 4.0,
                 batch_shape: Any = (), dtype: Any = np.float64,
                 as_numpy: bool = False) -> st.SearchStrategy:  # fmt: skip
    """Symmetric positive-definite matrices ``Q diag(w) Q^T`` with eigenvalues ``w`` in
    ``[min_eigenvalue, max_eigenvalue]`` (condition number at most their ratio). Shrink
    towards a multiple of the identity."""
    if not 0 < min_eigenvalue <= max_eigenvalue:
        raise ValueError("spd_matrices: need 0 < min_eigenvalue <= max_eigenvalue")

    def build(g_and_w):
        g, w = g_and_w
        q = _orthogonal(g)
        a = (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
        return _out(((a + np.swapaxes(a, -1, -2)) / 2).astype(dtype), as_numpy)

    eig = st.floats(min_eigenvalue, max_eigenvalue)
    return (
        _square(n, batch_shape)
        .flatmap(
            lambda g: st.tuples(st.just(g), hnp.arrays(np.float64, g.shape[:-1], elements=eig))
        )
        .map(build)
    )


def well_conditioned_matrices(m: Any = _SIDES, n: Any = None, *, max_condition: float = 10.0,
                              batch_shape: Any = (), dtype: Any = np.float64,
                              as_numpy: bool = False) -> st.SearchStrategy:  # fmt: skip
    """``m x n`` matrices ``U diag(s) V^T`` (square when ``n`` is None) with singular values
    in ``[1, max_condition]`` and random signs: condition number at most ``max_condition``,
    so solves, inverses and determinants are well behaved. Shrink towards the identity."""
    m_s = st.just(m) if isinstance(m, int) else m
    n_s = m_s if n is None else (st.just(n) if isinstance(n, int) else n)
    batch = st.just(tuple(batch_shape)) if isinstance(batch_shape, (tuple, list)) else batch_shape

    def draw(sizes):
        b, rows, cols = sizes
        if n is None:
            cols = rows
        k = min(rows, cols)
        unit = st.floats(-1, 1)
        return st.tuples(
            hnp.arrays(np.float64, (*b, rows, rows), elements=unit),
            hnp.arrays(np.float64, (*b, cols, cols), elements=unit),
            hnp.arrays(np.float64, (*b, k), elements=st.floats(1.0, max_condition)),
            hnp.arrays(np.bool_, (*b, k)),
        )

    def build(parts):
        gu, gv, s, flip = parts
        u, v = _orthogonal(gu), _orthogonal(gv)
        k = s.shape[-1]
        s = np.where(flip, -s, s)
        a = (u[..., :, :k] * s[..., None, :]) @ np.swapaxes(v[..., :, :k], -1, -2)
        return _out(a.astype(dtype), as_numpy)

    return st.tuples(batch, m_s, n_s).flatmap(draw).map(build)


def probability_vectors(n: Any = _LENGTHS, *, batch_shape: Any = (), min_probability: float = 1e-2,
                        dtype: Any = np.float64, as_numpy: bool = False) -> st.SearchStrategy:  # fmt: skip
    """Vectors of positive probabilities summing to 1 along the last axis, each at least
    about ``min_probability`` (so logs and ratios stay finite). Shrink towards uniform."""
    n_s = st.just(n) if isinstance(n, int) else n
    batch = st.just(tuple(batch_shape)) if isinstance(batch_shape, (tuple, list)) else batch_shape

    def build(w):
        p = w / np.sum(w, axis=-1, keepdims=True)
        return _out(p.astype(dtype), as_numpy)

    return (
        st.tuples(batch, n_s)
        .flatmap(
            lambda bn: hnp.arrays(
                np.float64, (*bn[0], bn[1]), elements=st.floats(min_probability, 1.0)
            )
        )
        .map(build)
    )


def pytrees(leaves: st.SearchStrategy | None = None, *, max_leaves: int = 4) -> st.SearchStrategy:
    """Pytrees (nested dicts, lists and tuples) of ``leaves`` (default small float64
    arrays). Shrink towards a single leaf.

    Examples:
        >>> from funcgrad.test_util import strategies as fst
        >>> import funcgrad
        >>> tree = fst.pytrees(max_leaves=3).example()
        >>> 1 <= len(funcgrad.tree_util.tree_leaves(tree)) <= 3
        True
    """
    leaves = arrays(shape=shapes(max_dims=2, max_side=3)) if leaves is None else leaves
    names = st.sampled_from(["a", "b", "w", "bias"])

    def extend(children):
        return (
            st.lists(children, min_size=1, max_size=3)
            | st.lists(children, min_size=1, max_size=3).map(tuple)
            | st.dictionaries(names, children, min_size=1, max_size=3)
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def keys(*, max_seed: int = 2**32 - 1) -> st.SearchStrategy:
    """Funcgrad random keys ``funcgrad.random.key(seed)``; shrink towards ``key(0)``."""
    from funcgrad import random

    return st.integers(0, max_seed).map(random.key)


def _leaves_of(arg: Any) -> list:
    from funcgrad.tree_util import tree_leaves

    return tree_leaves(arg)


def in_axes(args: Sequence[Any], axis_size: int) -> st.SearchStrategy[tuple]:
    """``in_axes`` for ``vmap`` over ``args`` (a tuple): per argument ``None`` or an axis
    (non-negative or negative) whose length is ``axis_size`` in every leaf of it; at least
    one argument is mapped. Shrinks towards axis 0 of the first argument that has one.

    Raises:
        ValueError: no argument has an axis of length ``axis_size`` in every leaf.
    """
    choices = []
    for arg in args:
        leaves = _leaves_of(arg)
        ndims = {np.ndim(x) for x in leaves}
        fits = [
            a for a in range(min(ndims, default=0))
            if leaves and len(ndims) == 1 and all(np.shape(x)[a] == axis_size for x in leaves)
        ]  # fmt: skip
        choices.append(fits)
    if not any(choices):
        raise ValueError(
            f"strategies.in_axes: no argument has an axis of length {axis_size} in every leaf "
            f"(shapes {[[np.shape(x) for x in _leaves_of(a)] for a in args]}); use batched()"
        )

    def one(fits: list[int], ndim: int):
        if not fits:
            return st.none()
        axis = st.sampled_from(fits)
        return st.none() | axis | axis.map(lambda a: a - ndim)

    ndims = [np.ndim(_leaves_of(a)[0]) if _leaves_of(a) else 0 for a in args]
    spec = st.tuples(*(one(f, n) for f, n in zip(choices, ndims)))
    return spec.filter(lambda s: any(a is not None for a in s))


def batched(args: Sequence[Any], *, axis_size: Any = _COPIES,
            spread: float = 0.1) -> st.SearchStrategy[tuple]:  # fmt: skip
    """``(in_axes, batched_args)`` for ``vmap``: each argument either unmapped (``None``) or
    stacked along a drawn axis from ``axis_size`` copies of itself, float leaves scaled by
    ``1 + spread * u`` (``u`` in [-1, 1]: signs and zeros kept, so the copies stay in the
    function's domain). At least one argument is mapped. Shrinks towards one copy, mapped
    along axis 0.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> from funcgrad.test_util import strategies as fst
        >>> axes, xs = fst.batched((fnp.ones((2, 3)), fnp.ones(3))).example()
        >>> funcgrad.vmap(lambda a, b: a @ b, in_axes=axes)(*xs).ndim
        2
    """
    from funcgrad.tree_util import tree_flatten, tree_unflatten

    size_s = st.just(axis_size) if isinstance(axis_size, int) else axis_size
    args = tuple(args)

    @st.composite
    def draw(data):  # ``data`` is hypothesis' draw function
        size = data(size_s)
        mapped = data(st.lists(st.booleans(), min_size=len(args), max_size=len(args)))
        if not any(mapped):
            mapped[0] = True
        axes, out = [], []
        for i, (arg, m) in enumerate(zip(args, mapped)):
            leaves, tree = tree_flatten(arg)
            if not m or not leaves:
                axes.append(None)
                out.append(arg)
                continue
            ndim = min(np.ndim(x) for x in leaves)
            axis = data(st.integers(0, ndim))
            new = []
            for x in leaves:
                host = np.asarray(x)
                copies = []
                for _ in range(size):
                    if host.dtype.kind in "fc":
                        u = data(hnp.arrays(np.float64, host.shape, elements=st.floats(-1, 1)))
                        copies.append((host * (1 + spread * u)).astype(host.dtype))
                    else:
                        copies.append(host)
                new.append(_fnp().asarray(np.stack(copies, axis=axis)))
            axes.append(axis)
            out.append(tree_unflatten(tree, new))
        return tuple(axes), tuple(out)

    return draw()


def dense_input_shapes(*, max_batch: int = 4, max_features: int = 8) -> st.SearchStrategy:
    """``(batch, features)`` input shapes for ``stax.Dense`` networks; shrink to ``(1, 1)``."""
    return st.tuples(st.integers(1, max_batch), st.integers(1, max_features))


def conv_input_shapes(filter_shape: Sequence[int] = (3, 3), *, layout: str = "NHWC",
                      strides: Sequence[int] | None = None, max_batch: int = 2,
                      max_extra: int = 4, max_channels: int = 3) -> st.SearchStrategy:  # fmt: skip
    """Input shapes for ``stax.Conv`` networks in ``layout`` (``"NHWC"``, ``"NCHW"``,
    ``"NWC"``, ...) whose spatial sizes fit ``filter_shape`` with ``VALID`` padding (so every
    output axis is at least 1) plus up to ``max_extra`` positions of room, rounded so that
    ``strides`` land on the last position. Shrinks to the smallest shape that fits.

    Examples:
        >>> from funcgrad.test_util import strategies as fst
        >>> n, h, w, c = fst.conv_input_shapes((3, 3)).example()
        >>> h >= 3 and w >= 3
        True
    """
    spatial = [ch for ch in layout if ch not in "NC"]
    if len(spatial) != len(filter_shape) or "N" not in layout or "C" not in layout:
        raise ValueError(
            f"strategies.conv_input_shapes: layout {layout!r} must have N, C and one letter "
            f"per filter dimension ({len(filter_shape)})"
        )
    strides = tuple(strides or (1,) * len(filter_shape))

    def shape(parts):
        n, c, extras = parts
        sizes = {"N": n, "C": c}
        for letter, k, s, e in zip(spatial, filter_shape, strides, extras):
            sizes[letter] = k + s * e
        return tuple(sizes[ch] for ch in layout)

    extra = st.lists(st.integers(0, max_extra), min_size=len(spatial), max_size=len(spatial))
    return st.tuples(st.integers(1, max_batch), st.integers(1, max_channels), extra).map(shape)
