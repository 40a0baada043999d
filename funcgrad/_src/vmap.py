"""The ``vmap`` transformation: vectorise a per-example function over a batch axis."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Any

from funcgrad._src.core import Array, Tracer, on_inputs_backend
from funcgrad._src.interpreters import batching
from funcgrad._src.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_unflatten


def _is_axis_leaf(x: Any) -> bool:
    return x is None


def _axes_for_leaves(fname: str, what: str, axes: Any, tree: Any) -> list:
    """One axis spec per leaf of ``tree``, from ``axes`` (an int/None or a pytree prefix)."""
    if axes is None or isinstance(axes, int):
        return [axes] * len(tree_flatten(tree)[0])
    axis_leaves, axis_tree = tree_flatten(axes, is_leaf=_is_axis_leaf)
    for a in axis_leaves:
        if a is not None and not isinstance(a, int):
            raise TypeError(f"{fname}: {what} entries must be ints or None, got {a!r}")
    try:
        subtrees = axis_tree.flatten_up_to(tree)
    except ValueError as e:
        raise ValueError(
            f"{fname}: {what} must be an int, None, or a pytree prefix of the "
            f"{'arguments' if what == 'in_axes' else 'outputs'}: {e}"
        ) from None
    out = []
    for a, sub in zip(axis_leaves, subtrees):
        out += [a] * len(tree_flatten(sub)[0])
    return out


def _leaf_names(args: tuple, fun: Callable) -> list[str]:
    """How to name each argument leaf in messages: ``x`` or ``params['w']``."""
    import inspect

    try:
        params = list(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        params = []
    names = []
    for path, _ in tree_flatten_with_path(args)[0]:
        i = path[0].idx
        base = (
            params[i] if i < len(params) and params[i] not in ("args", "kwargs") else f"args[{i}]"
        )
        names.append(base + keystr(path[1:]))
    return names


def vmap(
    fun: Callable,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_size: int | None = None,
    axis_name: Hashable | None = None,
) -> Callable:
    """Vectorise ``fun`` over a new batch axis, without a Python loop over examples.

    Args:
        fun: a function of pytrees of arrays, written for one example.
        in_axes: for each argument, the axis holding the batch (``None``: the same
            value for every example); an int for all, or a pytree prefix of the
            positional arguments (a tuple with one entry per argument).
            Negative axes count from the end.
        out_axes: where the batch axis goes in each output (an int, ``None`` for an
            output that does not depend on the example, or a pytree prefix).
        axis_size: the batch size, needed only when no argument is batched.
        axis_name: a name (any hashable, usually a string) for the batch axis, so that
            collectives inside ``fun`` (``funcgrad.lax.psum(x, axis_name)``,
            ``pmean``, ``all_gather``, ``axis_index``, ...) act across the examples, as
            in ``jax.vmap``. Nested vmaps with different names compose; an inner name
            shadows an equal outer one.

    Returns:
        The batched function. Keyword arguments are passed through unbatched.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> dot = lambda a, b: fnp.sum(a * b)
        >>> funcgrad.vmap(dot, in_axes=(0, None))(fnp.ones((3, 2)), fnp.arange(2.0)).tolist()
        [1.0, 1.0, 1.0]

        Normalising each example by the batch total, inside the per-example function:

        >>> from funcgrad import lax
        >>> share = lambda x: x / lax.psum(x, "batch")
        >>> funcgrad.vmap(share, axis_name="batch")(fnp.asarray([1.0, 3.0])).tolist()
        [0.25, 0.75]
    """
    if not callable(fun):
        raise TypeError(f"vmap: fun must be callable, got {type(fun).__name__}")
    if axis_name is not None:
        try:
            hash(axis_name)
        except TypeError:
            raise TypeError(
                f"vmap: axis_name must be hashable (a string, usually), got "
                f"{type(axis_name).__name__}"
            ) from None
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)  # JAX accepts a list here; a list is not an args prefix

    @functools.wraps(fun)
    def vmapped(*args, **kwargs):
        from funcgrad._src.numpy.util import asarray, is_array

        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(
                f"vmap: in_axes has {len(in_axes)} entries but {getattr(fun, '__name__', 'fun')} "
                f"was called with {len(args)} positional arguments"
            )
        leaves, in_tree = tree_flatten(args)
        axes = _axes_for_leaves("vmap", "in_axes", in_axes, args)
        vals, dims = [], []
        for leaf, axis in zip(leaves, axes):
            if axis is not None and not is_array(leaf):
                leaf = asarray(leaf, fname="vmap")
            if axis is not None:
                if leaf.ndim == 0 or not -leaf.ndim <= axis < leaf.ndim:
                    name = _leaf_names(args, fun)[len(vals)]
                    raise ValueError(
                        f"vmap: in_axes {axis} is out of range for argument {name} of shape "
                        f"{tuple(leaf.shape)}; use an axis in [-{leaf.ndim}, {leaf.ndim}) or None"
                        if leaf.ndim else
                        f"vmap: argument {name} is a scalar and cannot be mapped over (in_axes "
                        f"{axis}); use in_axes None for it"
                    )  # fmt: skip
                axis %= leaf.ndim
            vals.append(leaf)
            dims.append(axis)
        size = _batch_size(fun, args, vals, dims, axis_size)
        out_trees = []

        def flat_fun(*xs):
            out = fun(*tree_unflatten(in_tree, list(xs)), **kwargs)
            out_leaves, out_tree = tree_flatten(out)
            out_trees.append((out, out_tree))
            for x in out_leaves:
                if not (type(x) is Array or isinstance(x, (Tracer, int, float, complex, bool))):
                    raise TypeError(
                        f"vmap: {getattr(fun, '__name__', 'fun')} returned a "
                        f"{type(x).__name__}, not an array; vmapped functions must return "
                        f"pytrees of arrays"
                    )
            return out_leaves

        with on_inputs_backend(vals):
            outs, out_dims = batching.batch_flat(flat_fun, vals, dims, size, axis_name=axis_name)
        out_value, out_tree = out_trees[-1]
        out_spec = _axes_for_leaves("vmap", "out_axes", out_axes, out_value)
        results = []
        for x, d, spec, path in zip(outs, out_dims, out_spec, _out_paths(out_value)):
            if spec is None:
                if d is not None:
                    raise ValueError(
                        f"vmap: out_axes is None for output{path} but it depends on the "
                        f"batched inputs; give it an out_axes entry"
                    )
                results.append(x)
                continue
            x = x if is_array(x) else asarray(x, fname="vmap")  # a Python scalar output
            ndim = x.ndim + (1 if d is None else 0)
            if not -ndim <= spec < ndim:
                raise ValueError(
                    f"vmap: out_axes {spec} is out of range for output{path} with {ndim} dimensions"
                )
            results.append(batching.move_batch_axis(x, d, size, spec % ndim))
        return tree_unflatten(out_tree, results)

    return vmapped


def _out_paths(tree: Any) -> list[str]:
    return [keystr(path) for path, _ in tree_flatten_with_path(tree)[0]]


def _batch_size(fun, args, vals, dims, axis_size) -> int:
    sizes = {}
    for i, (x, d) in enumerate(zip(vals, dims)):
        if d is not None:
            sizes.setdefault(x.shape[d], i)
    if len(sizes) > 1:
        names = _leaf_names(args, fun)
        detail = ", ".join(
            f"argument {names[i]} has size {vals[i].shape[dims[i]]} along axis {dims[i]}"
            for i in range(len(vals)) if dims[i] is not None
        )  # fmt: skip
        raise ValueError(f"vmap got inconsistent sizes for the mapped axes: {detail}")
    if sizes:
        (size,) = sizes
        if axis_size is not None and axis_size != size:
            raise ValueError(
                f"vmap: axis_size={axis_size} but the mapped arguments have size {size}"
            )
        return size
    if axis_size is None:
        raise ValueError(
            "vmap: no argument is mapped (every in_axes entry is None), so the batch size is "
            "unknown; pass axis_size="
        )
    return axis_size
