"""Pytree arithmetic shared by the gradient transformations (moments, norms, step counts).

Every helper keeps each leaf's dtype: a scalar hyperparameter (a Python float, or a 0-d
array from a schedule or ``inject_hyperparams``) is cast to the leaf's dtype before it
multiplies the leaf, so float32 params and states stay float32 even though funcgrad's
default float is float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import tree_util

__all__ = [
    "cast_scalar",
    "check_same_structure",
    "safe_increment",
    "safe_int32_increment",
    "tree_add",
    "tree_add_scalar_mul",
    "tree_bias_correction",
    "tree_cast",
    "tree_full_like",
    "tree_l2_norm",
    "tree_map_params",
    "tree_mul",
    "tree_ones_like",
    "tree_scalar_mul",
    "tree_sub",
    "tree_sum",
    "tree_update_infinity_moment",
    "tree_update_moment",
    "tree_update_moment_per_elem_norm",
    "tree_vdot",
    "tree_where",
    "tree_zeros_like",
]

_INT32_MAX = 2**31 - 1


def _describe(tree: Any) -> str:
    return type(tree).__name__


def check_same_structure(
    fn_name: str,
    tree: Any,
    reference: Any,
    reference_name: str,
    *,
    tree_name: str = "updates",
    check_shapes: bool = True,
) -> None:
    """Raise a ValueError naming the first key path where ``tree`` and ``reference`` differ.

    Checks the pytree structure and, leaf by leaf, the shapes. Used by every ``update``
    so that updates that do not match the state (or the params) fail with a message that
    names the function, the key path and both shapes, instead of deep inside an operation.

    Args:
        fn_name: the function to name in the message (e.g. ``"scale_by_adam.update"``).
        tree: the pytree given by the user (usually the updates).
        reference: the pytree it must match (a moment of the state, or the params).
        reference_name: how to call ``reference`` in the message.
        tree_name: how to call ``tree`` in the message.
        check_shapes: also compare the leaves' shapes (not only the structure).

    Raises:
        ValueError: if the structures or a pair of leaf shapes differ.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.check_same_structure("f", {"a": fnp.zeros(2)}, {"a": fnp.zeros(2)}, "mu")
        >>> try:
        ...     tree_utils.check_same_structure("f", {"a": fnp.zeros(3)}, {"a": fnp.zeros(2)}, "mu")
        ... except ValueError as e:
        ...     print(str(e)[:57])
        f: updates and mu differ at key path ['a']: shape (3,) vs
    """
    paths, treedef = tree_util.tree_flatten_with_path(tree)
    ref_paths, ref_treedef = tree_util.tree_flatten_with_path(reference)
    if treedef != ref_treedef:
        tree_keys = [p for p, _ in paths]
        ref_keys = [p for p, _ in ref_paths]
        where = None
        for a, b in zip(tree_keys, ref_keys):
            if a != b:
                where = (a, b)
                break
        if where is None:
            longer, shorter = (tree_keys, ref_keys)
            if len(ref_keys) > len(tree_keys):
                longer, shorter = ref_keys, tree_keys
            extra = longer[len(shorter)] if len(longer) > len(shorter) else ()
            detail = (
                f"at key path {tree_util.keystr(extra) or '<root>'}: "
                f"{tree_name} has {len(tree_keys)} leaves, {reference_name} has {len(ref_keys)}"
            )
        else:
            detail = (
                f"at key path {tree_util.keystr(where[0]) or '<root>'} of {tree_name} vs "
                f"{tree_util.keystr(where[1]) or '<root>'} of {reference_name}"
            )
        raise ValueError(
            f"{fn_name}: {tree_name} and {reference_name} have different pytree structures "
            f"({detail}); {tree_name}: {treedef}, {reference_name}: {ref_treedef}. Pass "
            f"{tree_name} with the structure of the params the state was initialised with "
            "(re-run init if the params changed)"
        )
    if not check_shapes:
        return
    for (path, leaf), (_, ref_leaf) in zip(paths, ref_paths):
        shape, ref_shape = fnp.shape(leaf), fnp.shape(ref_leaf)
        if shape != ref_shape:
            raise ValueError(
                f"{fn_name}: {tree_name} and {reference_name} differ at key path "
                f"{tree_util.keystr(path) or '<root>'}: shape {shape} vs {ref_shape}. Pass "
                f"{tree_name} with the shapes of the params the state was initialised with"
            )


def cast_scalar(scalar: Any, like: Any) -> Any:
    """``scalar`` in ``like``'s dtype when ``like`` is floating and ``scalar`` an array.

    Python numbers are returned as they are: they promote weakly (``float32 * 0.9`` stays
    float32), while a float64 0-d array would turn a float32 leaf into float64.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> str(tree_utils.cast_scalar(fnp.asarray(0.5), fnp.ones(2, dtype=fnp.float32)).dtype)
        'float32'
    """
    if isinstance(scalar, (int, float)):
        return scalar  # Python scalars promote weakly: float32 * 0.9 stays float32
    dtype = fnp.asarray(like).dtype
    if np.issubdtype(dtype, np.inexact):
        return fnp.asarray(scalar, dtype=dtype)
    return scalar


def tree_zeros_like(tree: Any, dtype: Any = None) -> Any:
    """Zeros with each leaf's shape (and dtype, unless ``dtype`` is given).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.tree_zeros_like({"a": fnp.ones(2)})["a"].tolist()
        [0.0, 0.0]
    """
    return tree_util.tree_map(lambda x: fnp.zeros_like(x, dtype=dtype), tree)


def tree_ones_like(tree: Any, dtype: Any = None) -> Any:
    """Ones with each leaf's shape (and dtype, unless ``dtype`` is given).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.tree_ones_like([fnp.zeros(2)])[0].tolist()
        [1.0, 1.0]
    """
    return tree_util.tree_map(lambda x: fnp.ones_like(x, dtype=dtype), tree)


def tree_full_like(tree: Any, fill_value: Any, dtype: Any = None) -> Any:
    """``fill_value`` with each leaf's shape (and dtype, unless ``dtype`` is given).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.tree_full_like([fnp.zeros(2)], 0.1)[0].tolist()
        [0.1, 0.1]
    """
    return tree_util.tree_map(lambda x: fnp.full_like(x, fill_value, dtype=dtype), tree)


def tree_cast(tree: Any, dtype: Any) -> Any:
    """Each floating leaf cast to ``dtype`` (``None`` leaves it unchanged).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> str(tree_utils.tree_cast([fnp.ones(2)], fnp.float32)[0].dtype)
        'float32'
    """
    if dtype is None:
        return tree
    return tree_util.tree_map(lambda x: fnp.asarray(x, dtype=dtype), tree)


def tree_add(tree_x: Any, tree_y: Any, *other_trees: Any) -> Any:
    """Leafwise sum of two or more trees.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.tree_add([fnp.ones(2)], [fnp.ones(2)])[0].tolist()
        [2.0, 2.0]
    """
    return tree_util.tree_map(lambda x, *ys: sum(ys, x), tree_x, tree_y, *other_trees)


def tree_sub(tree_x: Any, tree_y: Any) -> Any:
    """Leafwise ``x - y``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.tree_sub([fnp.ones(2)], [fnp.ones(2)])[0].tolist()
        [0.0, 0.0]
    """
    return tree_util.tree_map(lambda x, y: x - y, tree_x, tree_y)


def tree_mul(tree_x: Any, tree_y: Any) -> Any:
    """Leafwise ``x * y``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.tree_mul([fnp.full(2, 3.0)], [fnp.ones(2)])[0].tolist()
        [3.0, 3.0]
    """
    return tree_util.tree_map(lambda x, y: x * y, tree_x, tree_y)


def tree_scalar_mul(scalar: Any, tree: Any) -> Any:
    """``scalar * leaf`` for every leaf, keeping each leaf's dtype.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> out = tree_utils.tree_scalar_mul(fnp.asarray(2.0), [fnp.ones(2, dtype=fnp.float32)])
        >>> out[0].tolist(), str(out[0].dtype)
        ([2.0, 2.0], 'float32')
    """
    return tree_util.tree_map(lambda x: cast_scalar(scalar, x) * x, tree)


def tree_add_scalar_mul(tree_x: Any, scalar: Any, tree_y: Any) -> Any:
    """Leafwise ``x + scalar * y``, keeping the dtypes of ``x``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.tree_add_scalar_mul([fnp.ones(2)], 0.5, [fnp.ones(2)])[0].tolist()
        [1.5, 1.5]
    """
    return tree_util.tree_map(lambda x, y: x + cast_scalar(scalar, x) * y, tree_x, tree_y)


def tree_where(condition: Any, tree_x: Any, tree_y: Any) -> Any:
    """Leafwise ``where(condition, x, y)`` with one scalar ``condition`` for all leaves.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.tree_where(fnp.asarray(False), [fnp.ones(2)], [fnp.zeros(2)])[0].tolist()
        [0.0, 0.0]
    """
    return tree_util.tree_map(lambda x, y: fnp.where(condition, x, y), tree_x, tree_y)


def tree_sum(tree: Any) -> Any:
    """The sum of all entries of all leaves (0.0 for an empty tree).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> float(tree_utils.tree_sum({"a": fnp.ones(2), "b": fnp.ones(3)}))
        5.0
    """
    leaves = tree_util.tree_leaves(tree)
    if not leaves:
        return fnp.asarray(0.0)
    return sum((fnp.sum(x) for x in leaves[1:]), fnp.sum(leaves[0]))


def tree_vdot(tree_x: Any, tree_y: Any) -> Any:
    """The inner product ``sum_i <x_i, y_i>`` over all leaves (conjugating ``x``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> float(tree_utils.tree_vdot([fnp.asarray([1.0, 2.0])], [fnp.asarray([3.0, 4.0])]))
        11.0
    """
    products = tree_util.tree_leaves(
        tree_util.tree_map(lambda x, y: fnp.sum(fnp.conj(x) * y), tree_x, tree_y)
    )
    if not products:
        return fnp.asarray(0.0)
    return sum(products[1:], products[0])


def tree_l2_norm(tree: Any, squared: bool = False) -> Any:
    """The l2 norm of all entries of all leaves, as if concatenated into one vector.

    Args:
        tree: a pytree of arrays.
        squared: return the squared norm (no square root).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> float(tree_utils.tree_l2_norm({"a": fnp.asarray([3.0]), "b": fnp.asarray([4.0])}))
        5.0
    """
    squares = [fnp.sum(fnp.real(x * fnp.conj(x))) for x in tree_util.tree_leaves(tree)]
    sq = sum(squares[1:], squares[0]) if squares else fnp.asarray(0.0)
    return sq if squared else fnp.sqrt(sq)


def tree_update_moment(updates: Any, moments: Any, decay: Any, order: int) -> Any:
    """The exponential moving average ``decay * m + (1 - decay) * u**order``, leafwise.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.tree_update_moment([fnp.asarray(2.0)], [fnp.asarray(1.0)], 0.5, 2)[0].item()
        2.5
    """

    def update(g, m):
        d = cast_scalar(decay, m)
        return d * m + (1 - d) * (g**order if order != 1 else g)

    return tree_util.tree_map(update, updates, moments)


def tree_update_moment_per_elem_norm(updates: Any, moments: Any, decay: Any, order: int) -> Any:
    """``decay * m + (1 - decay) * |u|**order``, leafwise (``|u|^2`` for complex updates).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> m = tree_utils.tree_update_moment_per_elem_norm([fnp.asarray(-2.0)], [fnp.asarray(0.0)],
        ...                                                  0.5, 2)
        >>> m[0].item()
        2.0
    """

    def norm_power(g):
        if fnp.iscomplexobj(g):
            sq = fnp.real(g * fnp.conj(g))
            return sq if order == 2 else sq ** (order / 2)
        return g * g if order == 2 else fnp.abs(g) ** order

    def update(g, m):
        d = cast_scalar(decay, m)
        return d * m + (1 - d) * norm_power(g)

    return tree_util.tree_map(update, updates, moments)


def tree_update_infinity_moment(updates: Any, moments: Any, decay: Any, eps: float) -> Any:
    """``max(decay * m, |u| + eps)``, leafwise (Adamax's infinity-norm moment).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.tree_update_infinity_moment([fnp.asarray(-1.0)], [fnp.asarray(4.0)],
        ...                                        0.5, 0.0)[0].item()
        2.0
    """
    return tree_util.tree_map(
        lambda g, m: fnp.maximum(cast_scalar(decay, m) * m, fnp.abs(g) + eps), updates, moments
    )


def tree_bias_correction(moment: Any, decay: Any, count: Any) -> Any:
    """The bias-corrected moment ``m / (1 - decay**count)``, in each leaf's dtype.

    ``count`` is the number of updates already folded into the moment (1 after the first
    step), so the correction undoes the zero initialisation of the moving average.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.tree_bias_correction([fnp.asarray(0.1)], 0.9, fnp.asarray(1))[0].item()
        1.0000000000000002
    """
    correction = 1 - decay ** fnp.asarray(count)
    return tree_util.tree_map(lambda t: t / cast_scalar(correction, t), moment)


def safe_int32_increment(count: Any) -> Any:
    """``count + 1`` for an int32 step count, saturating at the int32 maximum (no overflow).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.safe_int32_increment(fnp.asarray(2**31 - 1, dtype=fnp.int32)).item()
        2147483647
        >>> tree_utils.safe_int32_increment(fnp.asarray(4, dtype=fnp.int32)).item()
        5
    """
    count = fnp.asarray(count, dtype=fnp.int32)
    return fnp.where(count < _INT32_MAX, count + fnp.asarray(1, dtype=fnp.int32), count)


safe_increment = safe_int32_increment


def tree_map_params(fn_name: str, f: Any, updates: Any, params: Any) -> Any:
    """``tree_map(f, updates, params)`` after checking that the structures match.

    Raises:
        ValueError: if ``params`` is None or does not match ``updates``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import tree_utils
        >>> tree_utils.tree_map_params("f", lambda u, p: u + p, [fnp.ones(1)], [fnp.ones(1)])[0]
        Array([2.], dtype=float64, backend=numpy)
    """
    if params is None:
        raise ValueError(
            f"{fn_name}: this transformation needs the current parameters; call "
            "update(updates, state, params) with params, not params=None"
        )
    check_same_structure(fn_name, updates, params, "params")
    return tree_util.tree_map(f, updates, params)
