"""``summary``: a network's table of layers, output shapes, parameter and state counts.

Everything is computed by shape inference: each layer's ``init_fun`` and ``init_state``
run under ``funcgrad.eval_shape`` (no random numbers drawn, no parameter allocated), and
an abstract forward pass (``eval_shape`` of each layer's ``apply_with_state`` with
``is_training=False``) gives the output dtypes and activation sizes. Nothing runs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import tree_util
from stax.protocol import Layer, LayerError, abstract_init, as_layer, located

__all__ = ["Summary", "SummaryRow", "summary"]


class SummaryRow(NamedTuple):
    """One layer of a :class:`Summary`.

    Attributes:
        path: the key path of the layer's params in the network's params (``"[1][0]"``;
            ``""`` for the whole network), as ``stax.named_params`` and errors write it.
        name: the layer's name (``"Dense(10)"``, ``"serial"``).
        kind: ``'serial'``, ``'parallel'`` (rows with children below them) or ``'layer'``.
        depth: nesting depth (0 for the whole network).
        output_shape: the shape ``init_fun`` gives (``-1`` for the batch axis); a list or
            tuple of shapes for layers with several outputs.
        output_dtype: the output dtype(s) from the abstract forward pass (``None`` when
            the input shape has an unknown size other than the batch axis).
        output_bytes: bytes of the output for ``batch_size`` examples (``None`` likewise).
        params: the number of parameter scalars (a combinator: its layers' sum).
        param_bytes: their bytes.
        state: the number of state scalars (BatchNorm's running mean, variance and count).
        state_bytes: their bytes.
    """

    path: str
    name: str
    kind: str
    depth: int
    output_shape: Any
    output_dtype: Any
    output_bytes: int | None
    params: int
    param_bytes: int
    state: int
    state_bytes: int


@dataclasses.dataclass(frozen=True)
class Summary:
    """The result of :func:`summary`: ``rows`` and totals; ``str()`` is the table.

    Totals count every leaf layer, also those hidden by ``depth``. ``activation_bytes``
    is the sum of the leaf layers' outputs for ``batch_size`` examples (the memory a
    forward pass that keeps its activations for the backward pass holds), or ``None``.
    """

    rows: tuple[SummaryRow, ...]
    input_shape: Any
    input_dtype: str
    output_shape: Any
    total_params: int
    param_bytes: int
    total_state: int
    state_bytes: int
    activation_bytes: int | None
    batch_size: int

    def __str__(self) -> str:
        header = ("Layer", "Path", "Output shape", "Params", "Param bytes", "State")
        body = [
            (
                "  " * row.depth + row.name,
                row.path or "-",
                _shape_str(row.output_shape),
                f"{row.params:,}",
                _bytes_str(row.param_bytes),
                f"{row.state:,}" if row.state else "--",
            )
            for row in self.rows
        ]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        right = {3, 4, 5}  # numbers are right-aligned

        def line(cells):
            return "  ".join(
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        rule = "=" * len(line(header))
        lines = [rule, line(header), rule, *map(line, body), rule]
        lines.append(f"Total params: {self.total_params:,} ({_bytes_str(self.param_bytes)})")
        lines.append(
            f"Total state (running statistics): {self.total_state:,} ({_bytes_str(self.state_bytes)})"
        )
        lines.append(f"Input: {_shape_str(self.input_shape)} {self.input_dtype}")
        if self.activation_bytes is not None:
            lines.append(
                f"Activations for a batch of {self.batch_size}: {_bytes_str(self.activation_bytes)}"
            )
        lines.append(rule)
        return "\n".join(lines)


def summary(
    init_fun_or_layer: Any,
    input_shape: Any,
    *,
    dtype: Any = None,
    batch_size: int = 1,
    depth: int | None = None,
) -> Summary:
    """The per-layer table of a network, computed by shape inference (torchsummary's).

    One row per layer, recursing into ``serial`` / ``parallel`` (and the layer a
    ``shape_dependent`` builds for this input shape), indented by depth, with the key
    path of the layer's params, the output shape, parameter count and bytes, and the
    number of state scalars (BatchNorm's running ``mean``, ``var`` and ``count``); then
    the totals. Nothing is run and no parameter is allocated: ``init_fun`` and
    ``init_state`` are evaluated with ``funcgrad.eval_shape``, and an abstract forward
    pass in evaluation mode (``is_training=False``) gives each output's dtype and size.

    Args:
        init_fun_or_layer: a layer (``stax.serial(...)`` or any ``(init_fun, apply_fun)``
            pair). A bare ``init_fun`` gives a one-row table without the forward pass.
        input_shape: the input shape, ``-1`` for an unknown batch size (a list of shapes
            for a network with several inputs).
        dtype: the input's dtype for the forward pass; ``None`` is funcgrad's default
            float (float64, the dtype of stax's initializers).
        batch_size: the batch size put in place of a leading ``-1`` for the forward pass
            (it sizes ``output_bytes`` and ``activation_bytes``). If another axis is
            ``-1`` the forward pass is skipped and the dtypes and bytes are ``None``.
        depth: show rows down to this nesting depth only (totals still count every
            layer); ``None`` shows all.

    Returns:
        A :class:`Summary`; ``str(result)`` is the table, ``result.rows`` the rows.

    Raises:
        LayerError: a layer rejects its input shape, or its ``apply_fun`` gives another
            output shape than its ``init_fun`` declared.

    Examples:
        >>> import stax
        >>> net = stax.serial(stax.Conv(4, (3, 3)), stax.BatchNorm(), stax.Relu, stax.Flatten,
        ...                   stax.Dense(10))
        >>> s = stax.summary(net, (-1, 6, 6, 1))
        >>> s.total_params  # (3*3*1*4 + 4) + (4 + 4) + (4*4*4*10 + 10)
        698
        >>> s.total_state  # BatchNorm's mean (4,), var (4,) and count ()
        9
        >>> [(row.path, row.output_shape, row.params) for row in s.rows[1:3]]
        [('[0]', (-1, 4, 4, 4), 40), ('[1]', (-1, 4, 4, 4), 8)]
        >>> print(s)
        ==================================================================
        Layer              Path  Output shape   Params  Param bytes  State
        ==================================================================
        serial             -     (-1, 10)          698      5.5 KiB      9
          Conv(4, (3, 3))  [0]   (-1, 4, 4, 4)      40        320 B     --
          BatchNorm        [1]   (-1, 4, 4, 4)       8         64 B      9
          Relu             [2]   (-1, 4, 4, 4)       0          0 B     --
          Flatten          [3]   (-1, 64)            0          0 B     --
          Dense(10)        [4]   (-1, 10)          650      5.1 KiB     --
        ==================================================================
        Total params: 698 (5.5 KiB)
        Total state (running statistics): 9 (72 B)
        Input: (-1, 6, 6, 1) float64
        Activations for a batch of 1: 2.1 KiB
        ==================================================================
    """
    where = "stax.summary"
    _check_shape_tree(input_shape, where)
    if depth is not None and depth < 0:
        raise ValueError(f"{where}: depth must be >= 0 or None, got {depth}")
    if batch_size < 1:
        raise ValueError(f"{where}: batch_size must be >= 1, got {batch_size}")
    dtype = np.dtype(fnp.asarray(0.0).dtype if dtype is None else dtype)
    layer = _as_layer_or_init(init_fun_or_layer, where)
    x = _input_structs(input_shape, dtype, batch_size)
    rows: list[SummaryRow] = []
    leaves: list[SummaryRow] = []
    out_shape, _ = _walk(layer, input_shape, x, (), 0, None, rows, leaves)
    params = sum(r.params for r in leaves)
    known = all(r.output_bytes is not None for r in leaves)
    return Summary(
        rows=tuple(r for r in rows if depth is None or r.depth <= depth),
        input_shape=input_shape,
        input_dtype=dtype.name,
        output_shape=out_shape,
        total_params=params,
        param_bytes=sum(r.param_bytes for r in leaves),
        total_state=sum(r.state for r in leaves),
        state_bytes=sum(r.state_bytes for r in leaves),
        activation_bytes=sum(r.output_bytes for r in leaves) if known and x is not None else None,
        batch_size=batch_size,
    )


# --- the walk --------------------------------------------------------------------------


def _walk(layer, in_shape, x, path, depth, label, rows, leaves):
    """Append the rows of ``layer`` (input shape ``in_shape``, abstract input ``x`` or None);
    return its output shape and abstract output."""
    if layer.kind == "shape_dependent" and hasattr(layer, "build"):
        built = layer.build(in_shape)
        return _walk(
            built, in_shape, x, path, depth, f"shape_dependent({built.name})", rows, leaves
        )
    name = label or layer.name
    if layer.kind in ("serial", "parallel"):
        index = len(rows)
        rows.append(None)  # filled in below, once the children are known
        children = []
        if layer.kind == "serial":
            shape, y = in_shape, x
            for i, child in enumerate(layer.children):
                shape, y = _child(child, shape, y, path, i, depth, rows, leaves, children)
            out_shape, out = shape, y
        else:
            if not isinstance(in_shape, (list, tuple)) or len(in_shape) != len(layer.children):
                raise LayerError(
                    "parallel",
                    f"expects a sequence of {len(layer.children)} input shapes (one per layer), "
                    f"got {in_shape!r}; put a FanOut({len(layer.children)}) before it",
                )
            shapes, outs = [], []
            for i, child in enumerate(layer.children):
                xi = None if x is None else x[i]
                shape, y = _child(child, in_shape[i], xi, path, i, depth, rows, leaves, children)
                shapes.append(shape)
                outs.append(y)
            out_shape, out = tuple(shapes), (None if x is None else outs)
        rows[index] = SummaryRow(
            path=_path_str(path),
            name=name,
            kind=layer.kind,
            depth=depth,
            output_shape=out_shape,
            output_dtype=_dtypes(out),
            output_bytes=_nbytes(out),
            params=sum(c.params for c in children),
            param_bytes=sum(c.param_bytes for c in children),
            state=sum(c.state for c in children),
            state_bytes=sum(c.state_bytes for c in children),
        )
        return out_shape, out
    out_shape, params = _abstract_init(layer.init_fun, in_shape)
    state = _abstract_state(layer, in_shape) if isinstance(layer, Layer) else ()
    out = None
    if x is not None and layer[1] is not None:
        out = funcgrad.eval_shape(
            lambda p, s, v: layer.apply_with_state(p, s, v, is_training=False)[0], params, state, x
        )
        _check_declared(layer.name, out_shape, out)
    row = SummaryRow(
        path=_path_str(path),
        name=name,
        kind="layer",
        depth=depth,
        output_shape=out_shape,
        output_dtype=_dtypes(out),
        output_bytes=_nbytes(out),
        params=_count(params),
        param_bytes=_nbytes(params),
        state=_count(state),
        state_bytes=_nbytes(state),
    )
    rows.append(row)
    leaves.append(row)
    return out_shape, out


def _child(child, shape, x, path, i, depth, rows, leaves, children):
    """Walk child ``i`` of a combinator, recording its row; errors get the child's position."""
    start = len(rows)
    with located(i, child.name):
        out = _walk(child, shape, x, (*path, i), depth + 1, None, rows, leaves)
    children.append(rows[start])
    return out


def _abstract_init(init_fun, input_shape):
    """``init_fun``'s output shape and its params as ShapeDtypeStructs, without allocating."""
    output_shape, params = abstract_init(init_fun, input_shape)
    return output_shape, _structs(params)


def _abstract_state(layer, input_shape):
    if not layer.stateful:
        return ()
    return funcgrad.eval_shape(lambda: layer.init_state(input_shape)[1])


def _structs(tree):
    def struct(a):
        if isinstance(a, funcgrad.ShapeDtypeStruct):
            return a
        return funcgrad.ShapeDtypeStruct(np.shape(a), np.result_type(a))

    return tree_util.tree_map(struct, tree)


# --- shapes, sizes and formatting ------------------------------------------------------


def _is_shape(s) -> bool:
    return isinstance(s, (tuple, list)) and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in s
    )


def _check_shape_tree(shape, where) -> None:
    if _is_shape(shape):
        if any(d < -1 for d in shape):
            raise ValueError(f"{where}: input_shape sizes must be >= 0 or -1, got {tuple(shape)}")
        return
    if isinstance(shape, (tuple, list)) and shape:
        for s in shape:
            _check_shape_tree(s, where)
        return
    raise TypeError(
        f"{where}: input_shape must be a tuple of ints such as (-1, 28, 28, 1) (or a list "
        f"of them for several inputs), got {shape!r}"
    )


def _input_structs(shape, dtype, batch_size):
    """Abstract inputs for the forward pass: a leading -1 becomes ``batch_size``; None
    when another size is unknown."""
    if _is_shape(shape):
        dims = tuple(int(d) for d in shape)
        if dims and dims[0] == -1:
            dims = (batch_size, *dims[1:])
        if -1 in dims:
            return None
        return funcgrad.ShapeDtypeStruct(dims, dtype)
    structs = [_input_structs(s, dtype, batch_size) for s in shape]
    return None if any(s is None for s in structs) else type(shape)(structs)


def _shape_leaves(shape) -> list[tuple]:
    if _is_shape(shape):
        return [tuple(shape)]
    return [leaf for s in shape for leaf in _shape_leaves(s)]


def _check_declared(name, declared, out) -> None:
    """The forward pass's shapes must match ``init_fun``'s (``-1`` matching any size)."""
    got = [tuple(leaf.shape) for leaf in tree_util.tree_leaves(out)]
    want = _shape_leaves(declared)
    ok = len(got) == len(want) and all(
        len(g) == len(w) and all(b == -1 or a == b for a, b in zip(g, w)) for g, w in zip(got, want)
    )
    if not ok:
        raise LayerError(
            name,
            f"init_fun declares output shape {declared} but apply_fun gives "
            f"{got[0] if len(got) == 1 else got}; the layer's init_fun and apply_fun disagree",
        )


def _count(tree) -> int:
    return sum(math.prod(np.shape(leaf)) for leaf in tree_util.tree_leaves(tree))


def _nbytes(tree) -> int | None:
    if tree is None:
        return None
    return sum(
        math.prod(np.shape(leaf))
        * np.dtype(getattr(leaf, "dtype", None) or np.result_type(leaf)).itemsize
        for leaf in tree_util.tree_leaves(tree)
    )


def _dtypes(tree):
    if tree is None:
        return None
    names = [np.dtype(leaf.dtype).name for leaf in tree_util.tree_leaves(tree)]
    return names[0] if len(set(names)) == 1 else tuple(names)


def _path_str(path: Sequence[int]) -> str:
    return "".join(f"[{i}]" for i in path)


def _shape_str(shape) -> str:
    if _is_shape(shape):
        return str(tuple(int(d) for d in shape))
    inner = ", ".join(_shape_str(s) for s in shape)
    return f"[{inner}]" if isinstance(shape, list) else f"({inner})"


def _bytes_str(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def _as_layer_or_init(obj, where):
    """A Layer, or for a bare ``init_fun`` a Layer-like pair without apply (no forward pass)."""
    if isinstance(obj, Sequence) and len(obj) == 2:
        return as_layer(obj, where)
    if callable(obj):
        return _InitOnly(obj)
    raise TypeError(
        f"{where}: expected a layer (an (init_fun, apply_fun) pair such as stax.serial(...)) "
        f"or an init_fun, got {type(obj).__name__}"
    )


class _InitOnly(tuple):
    """A bare init_fun: one row, no state, no forward pass."""

    kind, children, stateful = "layer", (), False

    def __new__(cls, init_fun):
        self = super().__new__(cls, (init_fun, None))
        self.init_fun, self.name = init_fun, getattr(init_fun, "__qualname__", "init_fun")
        parts = self.name.split(".<locals>.")
        self.name = parts[-2].split(".")[-1] if len(parts) > 1 else self.name
        return self
