"""Plots of a training run saved as PNG files: training curves and a confusion matrix.

Uses matplotlib (the ``viz`` extra) with its file-only ``Agg`` backend, so nothing
needs a screen.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["plot_confusion_matrix", "plot_curves"]


def _pyplot():
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(
            'stax.plots draws with matplotlib, which is not installed: pip install "funcgrad[viz]"'
        ) from error
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path) -> pathlib.Path:
    """Lay out ``fig``, write it to ``path`` as PNG and close it."""
    fig.tight_layout()
    path = pathlib.Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_curves(
    curves: dict[str, Sequence[float]],
    path: Any,
    *,
    steps: dict[str, Sequence[float]] | None = None,
    xlabel: str = "epoch",
    title: str | None = None,
    log_y: bool = False,
) -> pathlib.Path:
    """Save line plots of named series (e.g. ``{"train loss": [...], "test loss": [...]}``).

    Series whose names share a last word ("loss", "accuracy") share a panel.

    Args:
        curves: name -> values.
        path: the PNG file to write.
        steps: optional name -> x values (default ``1, 2, ...``).
        xlabel: the x axis label.
        title: the figure's title.
        log_y: logarithmic y axes.

    Returns:
        The path written.

    Examples:
        >>> import tempfile, os
        >>> out = plot_curves({"train loss": [1.0, 0.5], "test loss": [1.1, 0.7],
        ...                    "test accuracy": [0.5, 0.8]}, os.path.join(tempfile.mkdtemp(), "c.png"))
        >>> out.read_bytes()[:4]
        b'\\x89PNG'
    """
    if not curves:
        raise ValueError("stax.plots.plot_curves: no curves to plot")
    plt = _pyplot()
    panels: dict[str, list[str]] = {}
    for name in curves:
        panels.setdefault(name.split()[-1], []).append(name)
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, (quantity, names) in zip(axes[0], panels.items()):
        for name in names:
            values = np.asarray(curves[name], dtype=np.float64)
            x = (
                np.asarray(steps[name])
                if steps and name in steps
                else np.arange(1, values.size + 1)
            )
            ax.plot(x, values, label=name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(quantity)
        if log_y:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(plt, fig, path)


def plot_confusion_matrix(
    matrix: Any,
    path: Any,
    *,
    class_names: Sequence[str] | None = None,
    normalize: bool = False,
    title: str | None = None,
) -> pathlib.Path:
    """Save a confusion matrix (rows: true class, columns: predicted) as a heat map with counts.

    Args:
        matrix: ``(k, k)`` counts, e.g. from :func:`stax.metrics.confusion_matrix`.
        path: the PNG file to write.
        class_names: tick labels (default ``0 .. k-1``).
        normalize: show each row as fractions of its total.
        title: the figure's title.

    Examples:
        >>> import tempfile, os
        >>> out = plot_confusion_matrix([[5, 1], [0, 4]], os.path.join(tempfile.mkdtemp(), "m.png"))
        >>> out.exists()
        True
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            f"stax.plots.plot_confusion_matrix: expected a square matrix, got shape {matrix.shape}"
        )
    k = matrix.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(
            f"stax.plots.plot_confusion_matrix: {len(names)} class names for {k} classes"
        )
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) if normalize else matrix
    plt = _pyplot()
    size = max(4.0, 0.5 * k + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(shown, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_xticks(range(k), names, rotation=45 if k > 6 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = shown.max() / 2 if shown.size else 0
    for i in range(k):
        for j in range(k):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(matrix[i, j])}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if shown[i, j] > threshold else "black",
            )
    if title:
        ax.set_title(title)
    return _save(plt, fig, path)
