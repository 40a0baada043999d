"""torch.optim.lr_scheduler.ReduceLROnPlateau as a transformation fed the metric.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> import transforms
    >>> from transforms import pytorch
    >>> opt = transforms.chain(pytorch.sgd(lr=1.0),
    ...                        pytorch.reduce_lr_on_plateau(1.0, patience=0, factor=0.5))
    >>> state = opt.init(fnp.zeros(1))
    >>> for loss in [3.0, 2.0, 2.5]:   # the third does not improve: halve the lr
    ...     u, state = opt.update(fnp.ones(1), state, value=loss)
    >>> u.tolist(), float(state[1].lr)
    ([-0.5], 0.5)
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import funcgrad.numpy as fnp
from funcgrad import tree_util
from transforms.base import GradientTransformationExtraArgs

__all__ = ["ReduceLROnPlateauState", "reduce_lr_on_plateau"]


class ReduceLROnPlateauState(NamedTuple):
    """State of `reduce_lr_on_plateau` (PyTorch's scheduler attributes, as arrays).

    Attributes:
        lr: the current learning rate.
        best: the best metric so far.
        num_bad_epochs: metric reports without improvement since the last one.
        cooldown_counter: reports left in the cooldown after a reduction.
        last_epoch: metric reports so far.
    """

    lr: Any
    best: Any
    num_bad_epochs: Any
    cooldown_counter: Any
    last_epoch: Any


def reduce_lr_on_plateau(
    lr: float,
    mode: str = "min",
    factor: float = 0.1,
    patience: int = 10,
    threshold: float = 1e-4,
    threshold_mode: str = "rel",
    cooldown: int = 0,
    min_lr: float = 0.0,
    eps: float = 1e-8,
) -> GradientTransformationExtraArgs:
    r"""``ReduceLROnPlateau``: cut the learning rate when a metric stops improving.

    Chain it after a `transforms.pytorch` optimizer built with the same ``lr``; it scales
    that optimizer's updates by ``current_lr / lr`` (exact for every optimizer whose
    learning rate multiplies its step: all but ``asgd`` and ``rprop``). Pass the metric
    as ``update(..., value=metric)``: it is PyTorch's ``scheduler.step(metric)``, taken
    before this update is scaled. Pass ``value=None`` (or nothing) on the updates
    between two metric reports (e.g. within an epoch).

    At each report: the metric *improves* when it is below ``best * (1 - threshold)``
    (``'rel'``, ``mode='min'``), below ``best - threshold`` (``'abs'``), or above
    ``best * (1 + threshold)`` / ``best + threshold`` for ``mode='max'``; otherwise it
    is a bad epoch. During a cooldown bad epochs are not counted. After more than
    ``patience`` bad epochs the rate becomes ``max(lr * factor, min_lr)`` (only if that
    changes it by more than ``eps``) and a cooldown of ``cooldown`` reports starts.

    Args:
        lr: the optimizer's initial learning rate.
        mode: ``'min'`` or ``'max'``.
        factor: the multiplier of a reduction, < 1.
        patience: bad epochs tolerated before a reduction.
        threshold: the improvement threshold.
        threshold_mode: ``'rel'`` or ``'abs'``.
        cooldown: reports to wait after a reduction.
        min_lr: the lower bound of the learning rate.
        eps: the smallest change of the learning rate worth making.

    Returns:
        A ``GradientTransformationExtraArgs`` whose state is `ReduceLROnPlateauState`.

    Examples:
        See the module docstring.
    """
    if factor >= 1.0:
        raise ValueError(f"pytorch.reduce_lr_on_plateau: factor must be < 1.0, got {factor}")
    if mode not in ("min", "max"):
        raise ValueError(f"pytorch.reduce_lr_on_plateau: mode must be 'min' or 'max', got {mode!r}")
    if threshold_mode not in ("rel", "abs"):
        raise ValueError(
            "pytorch.reduce_lr_on_plateau: threshold_mode must be 'rel' or 'abs', got "
            f"{threshold_mode!r}"
        )
    if not lr > 0:
        raise ValueError(f"pytorch.reduce_lr_on_plateau: lr must be > 0, got {lr}")

    def is_better(a, best):
        if mode == "min" and threshold_mode == "rel":
            return a < best * (1.0 - threshold)
        if mode == "min":
            return a < best - threshold
        if threshold_mode == "rel":
            return a > best * (threshold + 1.0)
        return a > best + threshold

    def init_fn(params):
        del params
        return ReduceLROnPlateauState(
            lr=fnp.asarray(lr, dtype=fnp.float64),
            best=fnp.asarray(math.inf if mode == "min" else -math.inf, dtype=fnp.float64),
            num_bad_epochs=fnp.zeros((), fnp.int32),
            cooldown_counter=fnp.zeros((), fnp.int32),
            last_epoch=fnp.zeros((), fnp.int32),
        )

    def step(state, value):
        current = fnp.asarray(value, dtype=fnp.float64)
        better = is_better(current, state.best)
        best = fnp.where(better, current, state.best)
        one = fnp.asarray(1, fnp.int32)
        bad = fnp.where(better, fnp.zeros((), fnp.int32), state.num_bad_epochs + one)
        in_cooldown = state.cooldown_counter > 0
        cooldown_counter = fnp.where(in_cooldown, state.cooldown_counter - one,
                                     state.cooldown_counter)  # fmt: skip
        bad = fnp.where(in_cooldown, fnp.zeros((), fnp.int32), bad)
        reduce = bad > patience
        new_lr = fnp.maximum(state.lr * factor, min_lr)
        new_lr = fnp.where(reduce & (state.lr - new_lr > eps), new_lr, state.lr)
        return ReduceLROnPlateauState(
            lr=new_lr,
            best=best,
            num_bad_epochs=fnp.where(reduce, fnp.zeros((), fnp.int32), bad),
            cooldown_counter=fnp.where(reduce, fnp.asarray(cooldown, fnp.int32), cooldown_counter),
            last_epoch=state.last_epoch + one,
        )

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del params, extra_args
        if value is not None:
            state = step(state, value)
        ratio = state.lr / lr
        scaled = tree_util.tree_map(lambda u: u * fnp.asarray(ratio, dtype=u.dtype), updates)
        return scaled, state

    return GradientTransformationExtraArgs(init_fn, update_fn)
