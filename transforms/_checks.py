"""Construction-time checks of hyperparameters (negative learning rate, decay rates)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

import funcgrad


def _concrete_float(value: Any) -> float | None:
    """``value`` as a float when it is a concrete scalar; None for tracers, schedules, arrays."""
    if callable(value) or isinstance(value, funcgrad.Tracer):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (funcgrad.Array, np.ndarray, np.generic)) and np.ndim(value) == 0:
        return float(np.asarray(value))
    return None


def check_nonnegative(fn_name: str, arg_name: str, value: Any) -> None:
    """Raise a ValueError if ``value`` is a concrete number below 0 (NaN included)."""
    v = _concrete_float(value)
    if v is not None and not v >= 0:
        raise ValueError(f"{fn_name}: {arg_name} must be >= 0, got {v}")


def check_learning_rate(fn_name: str, value: Any, arg_name: str = "learning_rate") -> None:
    """A learning rate must be >= 0 (a schedule is checked by the user's schedule)."""
    v = _concrete_float(value)
    if v is not None and not v >= 0:
        raise ValueError(
            f"{fn_name}: {arg_name} must be >= 0, got {v}; the update direction (descent) is "
            "built in, so pass the step size itself"
        )


def check_decay(fn_name: str, arg_name: str, value: Any, *, allow_one: bool = False) -> None:
    """A decay rate must be in [0, 1) (or [0, 1] when ``allow_one``)."""
    v = _concrete_float(value)
    if v is None:
        return
    ok = 0.0 <= v <= 1.0 if allow_one else 0.0 <= v < 1.0
    if not ok:
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise ValueError(f"{fn_name}: {arg_name} must be in {interval}, got {v}")
