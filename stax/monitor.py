"""Watching a training run from the user's loop: early stopping and non-finite losses.

Both are small and pure: early stopping is a state and an update function (so it can
live inside a jitted step, or be checkpointed with the rest of the run), and the finite
checks either return a boolean array or raise eagerly with the step that went wrong.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad.tree_util import keystr, tree_flatten_with_path

__all__ = [
    "EarlyStopping",
    "EarlyStoppingState",
    "all_finite",
    "check_finite",
    "early_stopping",
]


class EarlyStoppingState(NamedTuple):
    """Where early stopping stands: the best value, its step, steps since, and the verdict."""

    best: Any
    best_step: Any
    wait: Any
    should_stop: Any


class EarlyStopping(NamedTuple):
    """A pair of pure functions: ``init() -> state``, ``update(state, value, step) -> state``."""

    init: Any
    update: Any


def early_stopping(
    *, patience: int = 5, min_delta: float = 0.0, mode: str = "min"
) -> EarlyStopping:
    """Stop when a monitored value has not improved for ``patience`` updates (Keras's rule).

    An update improves when ``value < best - min_delta`` (``mode="min"``, e.g. a loss) or
    ``value > best + min_delta`` (``mode="max"``, e.g. accuracy); it then resets the
    wait, otherwise the wait grows by one, and ``should_stop`` becomes true once the
    wait reaches ``patience``. A NaN value never improves. The state is a NamedTuple
    of arrays: it works under ``jit`` and is saved with ``funcgrad.io``.

    Examples:
        >>> stopper = early_stopping(patience=2)
        >>> state = stopper.init()
        >>> for epoch, loss in enumerate([1.0, 0.5, 0.6, 0.7, 0.4]):
        ...     state = stopper.update(state, loss, epoch)
        ...     if state.should_stop:
        ...         break
        >>> epoch, float(state.best), int(state.best_step)
        (3, 0.5, 1)
    """
    if mode not in ("min", "max"):
        raise ValueError(f"stax.monitor.early_stopping: mode must be 'min' or 'max', got {mode!r}")
    if not isinstance(patience, (int, np.integer)) or patience < 1:
        raise ValueError(
            f"stax.monitor.early_stopping: patience must be a positive int, got {patience!r}"
        )
    if min_delta < 0:
        raise ValueError(f"stax.monitor.early_stopping: min_delta must be >= 0, got {min_delta!r}")
    sign = 1.0 if mode == "min" else -1.0

    def init() -> EarlyStoppingState:
        return EarlyStoppingState(
            best=fnp.asarray(sign * np.inf),
            best_step=fnp.asarray(-1, dtype=np.int64),
            wait=fnp.asarray(0, dtype=np.int64),
            should_stop=fnp.asarray(False),
        )

    def update(state: EarlyStoppingState, value: Any, step: Any) -> EarlyStoppingState:
        value = fnp.asarray(value).astype(np.float64)
        improved = sign * value < sign * state.best - min_delta
        wait = fnp.where(improved, 0, state.wait + 1)
        return EarlyStoppingState(
            best=fnp.where(improved, value, state.best),
            best_step=fnp.where(improved, fnp.asarray(step, dtype=np.int64), state.best_step),
            wait=wait,
            should_stop=wait >= patience,
        )

    return EarlyStopping(init, update)


def all_finite(tree: Any) -> Any:
    """True when every element of every leaf of ``tree`` is finite (a boolean array; works under jit).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> bool(all_finite({"w": fnp.ones(3), "b": fnp.asarray([1.0, fnp.nan])}))
        False
    """
    leaves = [leaf for _, leaf in tree_flatten_with_path(tree)[0]]
    result = fnp.asarray(True)
    for leaf in leaves:
        leaf = fnp.asarray(leaf)
        if leaf.dtype.kind in "fc":
            result = result & fnp.all(fnp.isfinite(leaf))
    return result


def check_finite(tree: Any, *, what: str = "loss", step: Any = None) -> None:
    """Raise ``FloatingPointError`` if any value of ``tree`` is NaN or infinite (eagerly).

    The message names ``what``, the step and the key path of each offending leaf, so a
    training loop stops at the first bad step instead of training on NaNs.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> check_finite(fnp.asarray(0.5), step=3)
        >>> check_finite({"w": fnp.asarray([fnp.inf])}, what="gradients", step=7)
        Traceback (most recent call last):
        ...
        FloatingPointError: gradients not finite at step 7: ['w'] holds 0 NaN and 1 infinite values
    """
    bad = []
    for path, leaf in tree_flatten_with_path(tree)[0]:
        values = np.asarray(leaf)
        if values.dtype.kind not in "fc":
            continue
        nans, infs = int(np.isnan(values).sum()), int(np.isinf(values).sum())
        if nans or infs:
            bad.append(f"{keystr(path) or 'the value'} holds {nans} NaN and {infs} infinite values")
    if bad:
        where = f" at step {step}" if step is not None else ""
        raise FloatingPointError(f"{what} not finite{where}: " + "; ".join(bad))
