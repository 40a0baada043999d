"""`inject_hyperparams`: hyperparameters that live in the state, so they change without retracing.

Examples:
    >>> import funcgrad
    >>> import funcgrad.numpy as fnp
    >>> import transforms
    >>> opt = inject_hyperparams(transforms.pytorch.sgd)(lr=0.1, momentum=0.9)
    >>> params = fnp.zeros(1)
    >>> state = opt.init(params)
    >>> step = funcgrad.jit(opt.update)
    >>> u, state = step(fnp.ones(1), state, params)
    >>> sorted(state.hyperparams)
    ['dampening', 'lr', 'momentum', 'weight_decay']
    >>> state.hyperparams["lr"] = fnp.asarray(0.01)    # a new value, the same trace
    >>> state.hyperparams["momentum"] = fnp.asarray(0.0)
    >>> u, state = step(fnp.ones(1), state, params)
    >>> round(u.item(), 6)
    -0.01
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import tree_util
from transforms import tree_utils
from transforms.base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)

__all__ = ["InjectHyperparamsState", "inject_hyperparams"]


class InjectHyperparamsState(NamedTuple):
    """State of `inject_hyperparams`.

    Attributes:
        count: updates made so far (the schedules' argument).
        hyperparams: ``{name: 0-d array}``, the values used by the last update (and, for
            the ones that are not schedules, by the next: assign to change them).
        inner_state: the inner transformation's state.
    """

    count: Any
    hyperparams: dict
    inner_state: Any


def _int_params(signature: inspect.Signature) -> set[str]:
    """Parameters declared ``int``/``bool`` (annotation or default): kept static."""
    names = set()
    for name, param in signature.parameters.items():
        annotation = param.annotation
        options = typing.get_args(annotation) or (annotation,)
        declared = any(o in (int, bool, "int", "bool") for o in options)
        if isinstance(annotation, str):
            declared = declared or annotation.split("|")[0].strip() in ("int", "bool")
        default_int = param.default is not param.empty and isinstance(param.default, int)
        if declared or default_int:
            names.add(name)
    return names


def _float_dtype(params: Any) -> Any:
    """The widest floating dtype among the params' leaves (float64 when there is none)."""
    dtypes = [fnp.asarray(x).dtype for x in tree_util.tree_leaves(params)]
    floats = [d for d in dtypes if d.kind == "f"]
    return max(floats, key=lambda d: d.itemsize) if floats else np.dtype(np.float64)


def inject_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: Any = None,
) -> Callable[..., GradientTransformationExtraArgs]:
    """Wrap an optimizer factory so its numeric hyperparameters live in the state.

    The returned factory takes ``inner_factory``'s arguments. Numeric ones (floats and
    0-d arrays) are stored as arrays in ``state.hyperparams``; callables are schedules,
    evaluated at ``state.count`` on every update and stored there too. Because they are
    arrays in the state, ``jit(update)`` traces once and a new value (assigned to
    ``state.hyperparams[name]`` or produced by a schedule) needs no retracing. The inner
    transformation is rebuilt inside each ``update`` from the current values, so its
    factory must accept arrays (and tracers) for these arguments.

    Static (not injected): booleans, arguments named in ``static_args``, ints given to
    parameters declared ``int``/``bool`` (they usually shape the computation), and
    non-numeric values (strings, ``None``, tuples such as ``betas``). A float such as
    ``weight_decay=0.0`` is injected like any other, so a transformation whose weight
    decay needs the params then needs them at every update (pass ``params``, or name the
    argument in ``static_args`` to keep it a Python number).

    Args:
        inner_factory: e.g. ``transforms.adam`` or ``transforms.pytorch.sgd``.
        static_args: names of arguments to keep static: callables that are not
            schedules, or numbers that must stay Python numbers.
        hyperparam_dtype: dtype of the stored floats (default: the params' widest float
            dtype, so float32 params get float32 hyperparameters).

    Returns:
        A factory with ``inner_factory``'s signature that returns a
        ``GradientTransformationExtraArgs`` whose state is `InjectHyperparamsState`.

    Raises:
        ValueError: if ``static_args`` names an argument ``inner_factory`` does not have.

    Examples:
        See the module docstring.
    """
    static_args = {static_args} if isinstance(static_args, str) else set(static_args)
    signature = inspect.signature(inner_factory)
    unknown = static_args - set(signature.parameters)
    if unknown:
        raise ValueError(
            f"inject_hyperparams: static_args {sorted(unknown)} are not parameters of "
            f"{getattr(inner_factory, '__name__', inner_factory)}; its parameters are "
            f"{list(signature.parameters)}"
        )
    int_params = _int_params(signature)

    @functools.wraps(inner_factory)
    def factory(*args: Any, **kwargs: Any) -> GradientTransformationExtraArgs:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        schedules, numeric, other = {}, {}, {}
        for name, value in bound.arguments.items():
            if name in static_args or isinstance(value, bool):
                other[name] = value
            elif name in int_params and isinstance(value, (int, np.integer)):
                other[name] = int(value)
            elif callable(value):
                schedules[name] = value
            elif isinstance(value, (int, float, np.ndarray, np.generic, funcgrad.Array)) and (
                np.ndim(value) == 0
            ):
                numeric[name] = value
            else:
                other[name] = value

        def dtype_for(params):
            return (
                np.dtype(hyperparam_dtype) if hyperparam_dtype is not None else _float_dtype(params)
            )

        def as_array(value, dtype):
            value = fnp.asarray(value)
            return fnp.asarray(value, dtype=dtype) if value.dtype.kind == "f" else value

        def current(state_hparams, count, dtype):
            hparams = {k: as_array(v, dtype) for k, v in state_hparams.items() if k in numeric}
            hparams.update({k: as_array(f(count), dtype) for k, f in schedules.items()})
            return hparams

        def init_fn(params):
            dtype = dtype_for(params)
            count = fnp.zeros((), fnp.int32)
            hparams = current(numeric, count, dtype)
            inner = inner_factory(**other, **hparams)
            return InjectHyperparamsState(count, hparams, inner.init(params))

        def update_fn(updates, state, params=None, **extra_args):
            dtype = dtype_for(updates if params is None else params)
            hparams = current(state.hyperparams, state.count, dtype)
            inner = with_extra_args_support(inner_factory(**other, **hparams))
            updates, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
            return updates, InjectHyperparamsState(
                tree_utils.safe_increment(state.count), hparams, inner_state
            )

        return GradientTransformationExtraArgs(init_fn, update_fn)

    return factory
