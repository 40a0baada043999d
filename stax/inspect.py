"""Looking inside a stax network: intermediate activations, gradients at them, Grad-CAM.

Nothing here asks the user to rewrite a network. The network is walked through its
combinators (``layer.kind`` and ``layer.children``, see :mod:`stax.protocol`) and applied
layer by layer exactly as its own ``apply_fun`` would (same random key per layer, same
apply-time keywords), recording each layer's output under the key path of its params
(``"[2]"``, ``"[1][0]"``: the paths ``stax.named_params`` and ``stax.summary`` show).
Gradients with respect to an intermediate activation ``A`` are taken by adding a zero
``delta`` to ``A`` inside the walk and differentiating with respect to ``delta``; so one
backward pass gives them at every requested path, and everything works under ``jit``,
``vmap`` and ``grad``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax, random, tree_util
from stax.combinators import check_entries, serial
from stax.protocol import Layer, LayerError, as_layer, get_key, located

__all__ = [
    "grad_cam",
    "intermediate_grads",
    "intermediates",
    "parse_path",
    "split_at",
    "split_params",
    "walk",
]

Path = tuple[int, ...]


def parse_path(at: Any, where: str = "stax") -> Path:
    """A layer's key path as a tuple of ints, from ``"[1][0]"``, ``(1, 0)`` or ``1``.

    Examples:
        >>> from stax.inspect import parse_path
        >>> parse_path("[1][0]"), parse_path((2,)), parse_path(3), parse_path("")
        ((1, 0), (2,), (3,), ())
    """
    if isinstance(at, (int, np.integer)) and not isinstance(at, bool):
        return (int(at),)
    if isinstance(at, str) and re.fullmatch(r"(\[\d+\])*", at.replace(" ", "")):
        return tuple(int(i) for i in re.findall(r"\[(\d+)\]", at))
    if isinstance(at, (tuple, list)) and all(
        isinstance(i, (int, np.integer)) and not isinstance(i, bool) and i >= 0 for i in at
    ):
        return tuple(int(i) for i in at)
    raise TypeError(
        f"{where}: a layer path is a key path string such as '[1][0]' (as stax.summary and "
        f"stax.named_params show), a tuple of ints such as (1, 0), or an int; got {at!r}"
    )


def _path_str(path: Path) -> str:
    return "".join(f"[{i}]" for i in path)


# --- the walk --------------------------------------------------------------------------


def walk(
    layer: Any,
    params: Any,
    inputs: Any,
    *,
    state: Any = None,
    on_output: Callable[[Path, Any], Any] | None = None,
    on_leaf: Callable[..., None] | None = None,
    **kwargs: Any,
) -> tuple[Any, Any]:
    """Apply ``layer`` layer by layer, as its own apply would, calling hooks on the way.

    The building block of :func:`intermediates`, :func:`intermediate_grads` and
    ``stax.time_layers``. ``serial`` and ``parallel`` are entered (splitting the random
    key per layer as they do), a ``shape_dependent`` layer is replaced by the layer it
    builds for its input shape, and every other layer is applied whole.

    Args:
        layer: the network.
        params: its params.
        inputs: its inputs.
        state: its state (from ``init_state``) to apply with ``apply_with_state``; None
            applies with ``apply_fun``.
        on_output: ``(path, output) -> output``, called on the output of every layer and
            combinator (the whole network's path is ``()``); what it returns is used in
            place of the output.
        on_leaf: ``(path, layer, params, state, inputs, kwargs)``, called before each
            layer that is not entered is applied (``state`` is None without state).
        **kwargs: apply-time keywords (``key=``, ``is_training=``, ...).

    Returns:
        ``(outputs, new_state)``; ``new_state`` is None when ``state`` is None.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> from stax.inspect import walk
        >>> net = stax.serial(stax.Dense(3), stax.Relu, stax.Dense(1))
        >>> _, params = net.init_fun(random.key(0), (-1, 2))
        >>> seen = []
        >>> y, _ = walk(net, params, fnp.ones((4, 2)), on_leaf=lambda path, *rest: seen.append(path))
        >>> seen, y.shape
        ([(0,), (1,), (2,)], (4, 1))
    """
    return _walk(
        as_layer(layer, "stax.inspect.walk"), params, state, inputs, kwargs, (), on_output, on_leaf
    )


def _walk(layer, params, state, x, kwargs, path, on_output, on_leaf):
    if layer.kind == "shape_dependent" and hasattr(layer, "build"):
        return _walk(
            layer.build(tuple(x.shape)), params, state, x, kwargs, path, on_output, on_leaf
        )
    if layer.kind in ("serial", "parallel"):
        n = len(layer.children)
        check_entries(layer.name, params, n, "params")
        threaded = state is not None and layer.stateful
        if threaded:
            check_entries(layer.name, state, n, "state")
        states = state if threaded else [None if state is None else ()] * n
        key_name, key = get_key(kwargs)
        rest = {k: v for k, v in kwargs.items() if k not in ("key", "rng")}
        keys = _layer_keys(layer, key, n)
        if layer.kind == "parallel":
            if not isinstance(x, (list, tuple)) or len(x) != n:
                raise LayerError(
                    "parallel",
                    f"expects a sequence of {n} inputs (one per layer); put a FanOut({n}) before it",
                )
            xs = list(x)
        outputs, new_states = [], []
        for i, child in enumerate(layer.children):
            child_kwargs = rest if keys[i] is None else {**rest, key_name: keys[i]}
            xi = xs[i] if layer.kind == "parallel" else x
            with located(i, child.name):
                y, s = _walk(
                    child, params[i], states[i], xi, child_kwargs, (*path, i), on_output, on_leaf
                )
            if layer.kind == "serial":
                x = y
            outputs.append(y)
            new_states.append(s)
        y = x if layer.kind == "serial" else outputs
        if state is None:
            new_state = None
        elif not threaded:
            new_state = state
        else:
            new_state = new_states if layer.kind == "serial" else tuple(new_states)
    else:
        if on_leaf is not None:
            on_leaf(path, layer, params, state, x, kwargs)
        if state is None:
            y, new_state = layer.apply_fun(params, x, **kwargs), None
        else:
            y, new_state = layer.apply_with_state(params, state, x, **kwargs)
    if on_output is not None:
        y = on_output(path, y)
    return y, new_state


def _layer_keys(layer, key, n):
    """The key each child gets: ``serial``'s split of ``key`` in ``n``, or for a part of a
    network cut by :func:`split_at` the original network's keys that its children had."""
    if key is None:
        return [None] * n
    total, slots = getattr(layer, "key_slots", (n, range(n)))
    keys = list(random.split(key, total)) if total else []
    return [keys[j] for j in slots]


# --- cutting a network in two ----------------------------------------------------------


def split_at(layer: Any, at: Any) -> tuple[Layer, Layer]:
    """Cut a network after the layer at ``at``: ``head`` ends with it, ``tail`` is the rest.

    ``tail(head(x)) == layer(x)`` exactly: with the params (and state) cut by
    :func:`split_params`, and both halves given the *same* apply-time keywords as the
    whole network (the same ``key``: each half takes the per-layer keys its layers have
    in the whole network, so even Dropout masks agree). ``init_fun`` likewise draws the
    same params: ``split_params(net.init_fun(k, s)[1], at)`` equals
    ``(head.init_fun(k, s)[1], tail.init_fun(k, s_at)[1])``. The path must run through
    ``serial`` combinators only (a cut inside a ``parallel`` branch has no single
    activation; use :func:`intermediate_grads` there).

    Args:
        layer: the network.
        at: the path of the last layer of ``head`` (``"[2]"``, ``(1, 0)``, ``2``).

    Returns:
        ``(head, tail)``, two :class:`~stax.protocol.Layer` s (with state functions when
        their layers have state).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> net = stax.serial(stax.Dense(4), stax.Relu, stax.Dropout(0.5), stax.Dense(2))
        >>> _, params = net.init_fun(random.key(0), (-1, 3))
        >>> head, tail = stax.split_at(net, "[1]")
        >>> head_params, tail_params = stax.split_params(params, "[1]")
        >>> x, k = fnp.ones((5, 3)), random.key(1)
        >>> features = head.apply_fun(head_params, x, key=k)
        >>> bool(fnp.all(tail.apply_fun(tail_params, features, key=k) == net.apply_fun(params, x, key=k)))
        True
    """
    where = "stax.split_at"
    path = parse_path(at, where)
    if not path:
        raise ValueError(f"{where}: give the path of a layer inside the network, got {at!r}")
    return _split(as_layer(layer, where), path, path, where)


def _split(layer, path, full, where):
    if layer.kind == "shape_dependent":
        raise ValueError(
            f"{where}: cannot cut inside a shape_dependent layer (at path '{_path_str(full)}'), "
            f"whose layers are known only from its input shape; cut before or after it"
        )
    if layer.kind != "serial":
        raise ValueError(
            f"{where}: the path '{_path_str(full)}' runs into a {layer.kind!r} layer "
            f"({layer.name}); split_at cuts serial chains only (use intermediate_grads for "
            f"gradients inside parallel branches)"
        )
    i, rest = path[0], path[1:]
    children = layer.children
    if i >= len(children):
        raise ValueError(
            f"{where}: the path '{_path_str(full)}' asks for layer {i} of a serial with "
            f"{len(children)} layers"
        )
    total, slots = getattr(layer, "key_slots", (len(children), range(len(children))))
    slots = tuple(slots)
    if not rest:
        return (
            _chain(children[: i + 1], total, slots[: i + 1], "head"),
            _chain(children[i + 1 :], total, slots[i + 1 :], "tail"),
        )
    try:
        head, tail = _split(children[i], rest, full, where)
    except LayerError as err:
        raise err.at(i) from None
    return (
        _chain((*children[:i], head), total, slots[: i + 1], "head"),
        _chain((tail, *children[i + 1 :]), total, slots[i:], "tail"),
    )


def _chain(parts, total, slots, name) -> Layer:
    """A serial chain of ``parts`` that are the layers ``slots`` of a ``serial`` of ``total``
    layers, drawing the init and apply keys those layers have there."""
    parts = tuple(parts)
    stateful = any(part.stateful for part in parts)

    def init_fun(rng, input_shape):
        layer_rngs = []
        for _ in range(total):  # serial's init: rng, layer_rng = split(rng), once per layer
            rng, layer_rng = random.split(rng)
            layer_rngs.append(layer_rng)
        params = []
        for i, (part, j) in enumerate(zip(parts, slots)):
            with located(i, part.name):
                input_shape, param = part.init_fun(layer_rngs[j], input_shape)
            params.append(param)
        return input_shape, params

    def apply_fun(params, inputs, **kwargs):
        return _walk(chain, params, None, inputs, kwargs, (), None, None)[0]

    def apply_with_state(params, state, inputs, **kwargs):
        return _walk(chain, params, state, inputs, kwargs, (), None, None)

    # a chain's state is a serial's of its parts
    state_funs = {"init_state": serial(*parts).init_state, "apply_with_state": apply_with_state}
    chain = Layer(
        init_fun,
        apply_fun,
        name=name,
        kind="serial",
        children=parts,
        **(state_funs if stateful else {}),
    )
    chain.key_slots = (total, slots)
    return chain


def split_params(tree: Any, at: Any) -> tuple[Any, Any]:
    """Cut a network's params (or state) as :func:`split_at` cuts the network.

    Examples:
        >>> import stax
        >>> stax.split_params([0, [1, 2, 3], 4], "[1][0]")
        ([0, [1]], [[2, 3], 4])
    """
    where = "stax.split_params"
    path = parse_path(at, where)
    if not path:
        raise ValueError(f"{where}: give the path of a layer inside the network, got {at!r}")
    return _cut(tree, path, path, where)


def _cut(tree, path, full, where):
    if isinstance(tree, tuple) and not tree:  # the state of a network without state
        return (), ()
    i, rest = path[0], path[1:]
    if not isinstance(tree, (list, tuple)) or i >= len(tree):
        found = f"{len(tree)} entries" if isinstance(tree, (list, tuple)) else type(tree).__name__
        raise ValueError(
            f"{where}: the params have no entry at '{_path_str(full)}' (found {found}); pass "
            f"the params of the network that split_at cut"
        )
    if not rest:
        return list(tree[: i + 1]), list(tree[i + 1 :])
    head, tail = _cut(tree[i], rest, full, where)
    return [*tree[:i], head], [tail, *tree[i + 1 :]]


# --- activations and their gradients ---------------------------------------------------


def intermediates(
    layer: Any, params: Any, inputs: Any, *, state: Any = None, **kwargs: Any
) -> tuple[Any, dict[str, Any]]:
    """The network's output and the output of every layer in it, by key path.

    The network is applied layer by layer exactly as its ``apply_fun`` would (the same
    per-layer random keys, so even Dropout masks agree), recording the output of every
    layer and combinator: ``"[2]"`` is the output of the third layer of a ``serial``,
    ``"[1][0]"`` the first layer inside the second. The dict is in execution order; the
    whole network's output is returned apart. Works under ``jit``, ``grad`` and ``vmap``.

    Args:
        layer: the network (a ``stax`` layer or ``(init_fun, apply_fun)`` pair; a
            user's own pair is one opaque layer).
        params: its params.
        inputs: its inputs.
        state: its state, if it has one (BatchNorm): then it is applied with
            ``apply_with_state`` and BatchNorm in evaluation uses the running statistics.
            The updated state is not returned: inspection only reads.
        **kwargs: apply-time keywords (``key=``, ``is_training=False``, ...).

    Returns:
        ``(outputs, activations)``, ``activations`` a dict from key path to output.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> net = stax.serial(stax.Dense(3), stax.Relu, stax.serial(stax.Dense(2), stax.Tanh))
        >>> _, params = net.init_fun(random.key(0), (-1, 4))
        >>> y, acts = stax.intermediates(net, params, fnp.ones((5, 4)))
        >>> {path: a.shape for path, a in acts.items()}
        {'[0]': (5, 3), '[1]': (5, 3), '[2][0]': (5, 2), '[2][1]': (5, 2), '[2]': (5, 2)}
        >>> bool(fnp.all(acts['[1]'] == fnp.maximum(acts['[0]'], 0.0)))
        True
    """
    acts: dict[str, Any] = {}

    def record(path, y):
        if path:
            acts[_path_str(path)] = y
        return y

    y, _ = _walk(
        as_layer(layer, "stax.intermediates"), params, state, inputs, kwargs, (), record, None
    )
    return y, acts


def intermediate_grads(
    layer: Any,
    params: Any,
    inputs: Any,
    fn: Callable[[Any], Any],
    *,
    at: Any = None,
    state: Any = None,
    **kwargs: Any,
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Gradients of a scalar function of the network's output w.r.t. its intermediates.

    ``value = fn(outputs)`` must be a scalar (e.g. the summed score of a class). For each
    requested path ``p`` with activation ``A_p`` the gradient ``d value / d A_p`` is
    returned: how the value would change if that layer's output changed, the rest of the
    network downstream unchanged. Computed in one backward pass by adding a zero to each
    requested activation and differentiating with respect to it; works under ``jit``.

    Args:
        layer: the network.
        params: its params.
        inputs: its inputs.
        fn: ``outputs -> scalar``.
        at: a path (``"[1][0]"``, ``(1, 0)``, ``1``), a list of paths, or None for
            every layer whose output is floating point.
        state: the network's state, if any (see :func:`intermediates`).
        **kwargs: apply-time keywords.

    Returns:
        ``(value, activations, grads)``: ``activations`` as :func:`intermediates` gives
        them (all paths) and ``grads`` a dict with the requested paths.

    Raises:
        KeyError: a requested path is not a layer of the network.
        TypeError: a requested activation is not floating point.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> net = stax.serial(stax.Dense(3), stax.Relu, stax.Dense(1))
        >>> _, params = net.init_fun(random.key(0), (-1, 2))
        >>> x = fnp.ones((4, 2))
        >>> value, acts, grads = stax.intermediate_grads(net, params, x, fnp.sum, at="[1]")
        >>> W2 = params[2][0]  # d sum(relu_out @ W2 + b2) / d relu_out = W2 for every row
        >>> bool(fnp.allclose(grads["[1]"], fnp.broadcast_to(W2[:, 0], (4, 3))))
        True
    """
    where = "stax.intermediate_grads"
    net = as_layer(layer, where)
    abstract = funcgrad.eval_shape(
        lambda p, x, s, kw: intermediates(net, p, x, state=s, **kw)[1],
        params,
        inputs,
        state,
        kwargs,
    )
    if at is None:
        wanted = [p for p, a in abstract.items() if _is_float(a)]
    else:
        requested = [at] if isinstance(at, (str, int)) or _is_int_tuple(at) else list(at)
        wanted = [_path_str(parse_path(p, where)) for p in requested]
        for p in wanted:
            if p not in abstract:
                raise KeyError(
                    f"{where}: the network has no layer at path '{p}'; its paths are "
                    f"{list(abstract)} (see stax.summary)"
                )
            if not _is_float(abstract[p]):
                raise TypeError(
                    f"{where}: the output of the layer at '{p}' is not floating point "
                    f"({_dtypes(abstract[p])}), so it has no gradient"
                )
    deltas = {
        p: tree_util.tree_map(lambda a: fnp.zeros(a.shape, a.dtype), abstract[p]) for p in wanted
    }

    def value_of(deltas):
        acts: dict[str, Any] = {}

        def perturb(path, y):
            name = _path_str(path)
            if name in deltas:
                y = tree_util.tree_map(lambda a, d: a + d, y, deltas[name])
            if path:
                acts[name] = y
            return y

        y, _ = _walk(net, params, state, inputs, kwargs, (), perturb, None)
        value = fn(y)
        if np.shape(value) != ():
            raise TypeError(
                f"{where}: fn must return a scalar (e.g. fnp.sum of a class's scores), got "
                f"shape {np.shape(value)}"
            )
        return value, acts

    (value, acts), grads = funcgrad.value_and_grad(value_of, has_aux=True)(deltas)
    return value, acts, grads


def _is_int_tuple(at) -> bool:
    return isinstance(at, tuple) and all(isinstance(i, (int, np.integer)) for i in at)


def _is_float(tree) -> bool:
    leaves = tree_util.tree_leaves(tree)
    return bool(leaves) and all(np.issubdtype(np.dtype(a.dtype), np.inexact) for a in leaves)


def _dtypes(tree) -> str:
    return ", ".join(np.dtype(a.dtype).name for a in tree_util.tree_leaves(tree))


# --- Grad-CAM ----------------------------------------------------------------------------


def grad_cam(
    layer: Any,
    params: Any,
    inputs: Any,
    class_index: Any,
    *,
    at: Any,
    state: Any = None,
    upsample: bool | Iterable[int] = False,
    normalize: bool = True,
    **kwargs: Any,
) -> Any:
    """Grad-CAM heat maps: where in the image the evidence for a class lies.

    With ``A`` the feature map at ``at`` (shape ``(N, *spatial, K)``, channels last) and
    ``y_c`` the network's output for class ``c`` (a logit; pass the network up to its
    logits, not through a softmax), per example (Selvaraju et al. 2017)::

        w_k = mean over the spatial positions of  d y_c / d A_k
        cam = relu(sum_k w_k A_k)                                   # shape (N, *spatial)
        cam = cam / max(cam)          (normalize=True; an all-zero map stays zero)

    The gradients are taken through :func:`intermediate_grads` with the sum over the
    batch of each example's class score, which gives each example's own gradient as
    long as the examples do not interact: so the network is applied in evaluation mode
    (``is_training=False``) unless the keywords say otherwise.

    Args:
        layer: the network, its output of shape ``(N, num_classes)``.
        params: its params.
        inputs: a batch of images ``(N, *spatial, C)``.
        class_index: the class per example (an int, or ints of shape ``(N,)``).
        at: the key path of the layer whose output is the feature map (usually the last
            convolutional block's), as ``stax.summary`` shows it.
        state: the network's state, if it has one (BatchNorm's running statistics).
        upsample: True resizes the maps bilinearly to the inputs' spatial size, a tuple
            to that size; False keeps the feature map's size.
        normalize: divide each map by its maximum, so it lies in ``[0, 1]``.
        **kwargs: apply-time keywords.

    Returns:
        The heat maps, shape ``(N, *spatial)``.

    References:
        Selvaraju, Cogswell, Das, Vedantam, Parikh, Batra, *Grad-CAM: Visual Explanations
        from Deep Networks via Gradient-based Localization*, ICCV 2017.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> net = stax.serial(stax.Conv(4, (3, 3), padding="SAME"), stax.Relu,
        ...                   stax.GlobalAvgPool, stax.Dense(3))
        >>> _, params = net.init_fun(random.key(0), (-1, 8, 8, 1))
        >>> x = random.normal(random.key(1), (2, 8, 8, 1))
        >>> cam = stax.grad_cam(net, params, x, 1, at="[1]")
        >>> cam.shape, bool(fnp.all((cam >= 0) & (cam <= 1)))
        ((2, 8, 8), True)
    """
    where = "stax.grad_cam"
    path = _path_str(parse_path(at, where))
    if "mode" not in kwargs:
        kwargs.setdefault("is_training", False)
    labels = fnp.asarray(class_index)
    if not np.issubdtype(np.dtype(labels.dtype), np.integer) or labels.ndim > 1:
        raise TypeError(
            f"{where}: class_index must be an int or ints of shape (N,), got dtype "
            f"{labels.dtype} and shape {tuple(labels.shape)}"
        )

    def score(outputs):
        if getattr(outputs, "ndim", None) != 2:
            raise LayerError(
                where,
                f"the network's output must be scores of shape (N, num_classes), got "
                f"{getattr(outputs, 'shape', type(outputs).__name__)}",
            )
        n = outputs.shape[0]
        index = fnp.broadcast_to(labels, (n,))[:, None]
        return fnp.sum(fnp.take_along_axis(outputs, index, axis=1))

    _, acts, grads = intermediate_grads(
        layer, params, inputs, score, at=path, state=state, **kwargs
    )
    A, dA = acts[path], grads[path]
    if not hasattr(A, "ndim") or A.ndim < 3:
        raise LayerError(
            where,
            f"the output of the layer at '{path}' must be a feature map (N, *spatial, K), got "
            f"shape {getattr(A, 'shape', type(A).__name__)}; choose a convolutional layer's path",
        )
    spatial = tuple(range(1, A.ndim - 1))
    weights = fnp.mean(dA, axis=spatial, keepdims=True)  # (N, 1.., K): alpha_k^c
    cam = fnp.maximum(fnp.sum(weights * A, axis=-1), 0.0)
    if upsample is not False:
        size = tuple(inputs.shape[1 : A.ndim - 1]) if upsample is True else tuple(upsample)
        if len(size) != len(spatial):
            raise ValueError(
                f"{where}: upsample gives {len(size)} sizes for {len(spatial)} spatial axes"
            )
        cam = lax.resize(cam[..., None], size, method="linear")[..., 0]
    if normalize:
        peak = fnp.max(cam, axis=tuple(range(1, cam.ndim)), keepdims=True)
        cam = fnp.where(peak > 0, cam / fnp.where(peak > 0, peak, 1.0), 0.0)
    return cam
