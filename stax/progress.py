"""Progress bars for training loops (tqdm), quiet when output is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import numpy as np
from tqdm.auto import tqdm

__all__ = ["ProgressBar", "format_metrics", "progress"]


class ProgressBar(tqdm):
    """tqdm's bar whose ``set_postfix`` does not force a redraw by default.

    The postfix shows at the next redraw, which tqdm spaces by ``mininterval`` (0.1 s):
    setting it at every training step then costs a few microseconds instead of a
    terminal write per step.
    """

    def set_postfix(self, ordered_dict=None, refresh: bool = False, **kwargs):
        super().set_postfix(ordered_dict, refresh=refresh, **kwargs)


def format_metrics(metrics: dict[str, Any], *, digits: int = 4) -> dict[str, str]:
    """Metrics as short strings for a bar's postfix (arrays and numbers alike).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> format_metrics({"loss": fnp.asarray(0.123456), "epoch": 3})
        {'loss': '0.1235', 'epoch': '3'}
    """
    out = {}
    for name, value in metrics.items():
        array = np.asarray(value)
        if array.size == 1 and array.dtype.kind in "iub":
            out[name] = str(array.reshape(()).item())
        elif array.size == 1:
            out[name] = f"{float(array.reshape(())):.{digits}g}"
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
