"""Progress bars for training loops (tqdm), quiet when output is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import numpy as np
from tqdm.auto import tqdm

__all__ = ["ProgressBar", "format_metrics", "progress"]


class ProgressBar(tqdm):
    """tqdm's bar whose ``set_postfix`` is lazy and does not force a redraw by default.

    ``set_postfix`` keeps the values as they are (numbers, 0-d arrays, strings) and the
    bar formats them (as :func:`format_metrics`) when it is drawn, which tqdm spaces by
    ``mininterval`` (0.1 s): setting a postfix at every training step then costs about a
    microsecond, not a conversion, a formatting and a terminal write per step (arrays
    are immutable, so keeping one until the next draw is safe). ``refresh=True`` draws
    now. As tqdm, keyword values come after ``ordered_dict``'s, sorted by name.
    """

    _pending_postfix: dict | None = None

    def set_postfix(self, ordered_dict=None, refresh: bool = False, **kwargs):
        values = dict(ordered_dict or {})
        values.update(sorted(kwargs.items()))
        self._pending_postfix = values
        if refresh:
            self.refresh()

    @property
    def format_dict(self):
        pending = self._pending_postfix
        if pending is not None:  # formatted once per draw, not once per step
            self._pending_postfix = None
            super().set_postfix(format_metrics(pending), refresh=False)
        return super().format_dict


def format_metrics(metrics: dict[str, Any], *, digits: int = 4) -> dict[str, str]:
    """Metrics as short strings for a bar's postfix (arrays, numbers and strings alike).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> format_metrics({"loss": fnp.asarray(0.123456), "epoch": 3, "phase": "warm-up"})
        {'loss': '0.1235', 'epoch': '3', 'phase': 'warm-up'}
    """
    out = {}
    for name, value in metrics.items():
        if isinstance(value, str):
            out[name] = value
            continue
        array = np.asarray(value)
        if array.size == 1 and array.dtype.kind in "iub":
            out[name] = str(array.reshape(()).item())
        elif array.size == 1 and array.dtype.kind in "fc":
            out[name] = f"{float(array.reshape(()).real):.{digits}g}"
        else:
            out[name] = str(value)
    return out


def progress(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str | None = None,
    quiet: bool | None = None,
    leave: bool = True,
    **tqdm_kwargs: Any,
) -> ProgressBar:
    """A tqdm bar over ``iterable`` (epochs or batches); show metrics with ``bar.set_postfix``.

    Args:
        iterable: what to iterate over (or ``None`` and ``total=`` for a manual bar).
        total: the number of items, when ``iterable`` has no ``len``.
        desc: the bar's label.
        quiet: ``True`` hides the bar; ``None`` (default) hides it when standard error
            is not a terminal (CI logs, redirected output), ``False`` always shows it.
        leave: keep the finished bar on screen.

    Examples:
        >>> bar = progress(range(3), desc="epoch", quiet=True)
        >>> for epoch in bar:
        ...     bar.set_postfix(format_metrics({"loss": 1.0 / (epoch + 1)}))
        >>> epoch, bar.disable
        (2, True)
    """
    if quiet is None:
        quiet = not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
    return ProgressBar(
        iterable,
        total=total,
        desc=desc,
        disable=quiet,
        leave=leave,
        dynamic_ncols=True,
        **tqdm_kwargs,
    )
