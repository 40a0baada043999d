"""Classification metrics as pure array functions that work under ``jit`` and ``vmap``.

Inputs are predicted scores (logits or probabilities, classes on the last axis) or
predicted labels, and integer true labels. Counts use a static ``num_classes``, so
shapes never depend on the values. Definitions follow scikit-learn's
(``accuracy_score``, ``top_k_accuracy_score``, ``confusion_matrix``,
``precision_recall_fscore_support``); a class with no predicted (or no true)
examples gets precision (recall) 0, scikit-learn's ``zero_division=0``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp

__all__ = [
    "PrecisionRecallF1",
    "accuracy",
    "confusion_matrix",
    "precision_recall_f1",
    "top_k_accuracy",
]


def _labels(labels: Any, fname: str, what: str = "labels") -> Any:
    labels = fnp.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"stax.metrics.{fname}: {what} must be integer class labels, got {labels.dtype}"
        )
    return labels


def _predicted_labels(predictions: Any, labels: Any, fname: str) -> Any:
    """Predicted labels from scores ``(..., classes)`` or from labels of ``labels``' shape."""
    predictions = fnp.asarray(predictions)
    if predictions.shape == labels.shape and predictions.dtype.kind in "iu":
        return predictions
    if predictions.shape[:-1] == labels.shape:
        return fnp.argmax(predictions, axis=-1)
    raise ValueError(
        f"stax.metrics.{fname}: predictions of shape {predictions.shape} fit neither labels of "
        f"shape {labels.shape} nor scores of shape {labels.shape + ('classes',)}"
    )


def accuracy(predictions: Any, labels: Any) -> Any:
    """The fraction of examples whose predicted class equals the label.

    Args:
        predictions: scores ``(..., classes)`` (the arg-max is the prediction) or
            integer predicted labels of ``labels``' shape.
        labels: integer true labels.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> float(accuracy(fnp.asarray([[0.1, 0.9], [0.8, 0.2]]), fnp.asarray([1, 1])))
        0.5
    """
    labels = _labels(labels, "accuracy")
    predicted = _predicted_labels(predictions, labels, "accuracy")
    return fnp.mean(predicted == labels)


def top_k_accuracy(scores: Any, labels: Any, k: int = 5) -> Any:
    """The fraction of examples whose label is among the ``k`` highest scores.

    A label tied with the ``k``-th score counts as found only if fewer than ``k``
    scores are strictly higher (scikit-learn counts ties the same way).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> scores = fnp.asarray([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]])
        >>> float(top_k_accuracy(scores, fnp.asarray([1, 0]), k=2))
        0.5
    """
    labels = _labels(labels, "top_k_accuracy")
    scores = fnp.asarray(scores)
    if scores.shape[:-1] != labels.shape:
        raise ValueError(
            f"stax.metrics.top_k_accuracy: scores of shape {scores.shape} need labels of shape "
            f"{scores.shape[:-1]}, got {labels.shape}"
        )
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= scores.shape[-1]:
        raise ValueError(
            f"stax.metrics.top_k_accuracy: k must be in [1, {scores.shape[-1]}], got {k!r}"
        )
    true_score = fnp.take_along_axis(scores, labels[..., None], axis=-1)
    higher = fnp.sum(scores > true_score, axis=-1)
    return fnp.mean(higher < k)


def confusion_matrix(labels: Any, predictions: Any, num_classes: int) -> Any:
    """Counts ``C[i, j]`` of examples with true class ``i`` predicted as ``j`` (int64).

    ``predictions`` may be scores ``(..., classes)`` or predicted labels. Labels outside
    ``[0, num_classes)`` are not counted.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> confusion_matrix(fnp.asarray([0, 1, 1]), fnp.asarray([0, 0, 1]), 2).tolist()
        [[1, 0], [1, 1]]
    """
    labels = _labels(labels, "confusion_matrix")
    predicted = _predicted_labels(predictions, labels, "confusion_matrix")
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(
            f"stax.metrics.confusion_matrix: num_classes must be a positive int, got {num_classes!r}"
        )
    labels, predicted = labels.reshape(-1), predicted.reshape(-1)
    valid = (labels >= 0) & (labels < num_classes) & (predicted >= 0) & (predicted < num_classes)
    cell = fnp.where(valid, labels * num_classes + predicted, 0)
    counts = fnp.bincount(cell, weights=valid.astype(np.int64), length=num_classes * num_classes)
    return counts.astype(np.int64).reshape(num_classes, num_classes)


class PrecisionRecallF1(NamedTuple):
    """Per-class (or averaged) precision, recall, F1 and the true count of each class."""

    precision: Any
    recall: Any
    f1: Any
    support: Any


def precision_recall_f1(
    labels: Any, predictions: Any, num_classes: int, *, average: str | None = "macro"
) -> PrecisionRecallF1:
    """Precision ``tp / (tp + fp)``, recall ``tp / (tp + fn)`` and F1, their harmonic mean.

    Args:
        labels: integer true labels.
        predictions: scores ``(..., classes)`` or predicted labels.
        num_classes: the number of classes (static).
        average: ``None`` for one value per class; ``"macro"`` for the unweighted mean
            over classes; ``"weighted"`` for the mean weighted by each class's support;
            ``"micro"`` for the global counts (equal to accuracy for single-label data).

    Returns:
        A :class:`PrecisionRecallF1`; ``support`` is the per-class count of true
        labels (its total when averaged).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> r = precision_recall_f1(fnp.asarray([0, 1, 1, 2]), fnp.asarray([0, 1, 2, 2]), 3,
        ...                         average=None)
        >>> r.precision.tolist(), r.recall.tolist()
        ([1.0, 1.0, 0.5], [1.0, 0.5, 1.0])
    """
    if average not in (None, "macro", "weighted", "micro"):
        raise ValueError(
            f"stax.metrics.precision_recall_f1: average must be None, 'macro', 'weighted' or "
            f"'micro', got {average!r}"
        )
    matrix = confusion_matrix(labels, predictions, num_classes).astype(np.float64)
    tp = fnp.diagonal(matrix)
    predicted = fnp.sum(matrix, axis=0)
    support = fnp.sum(matrix, axis=1)
    if average == "micro":
        tp, predicted, support_total = fnp.sum(tp), fnp.sum(predicted), fnp.sum(support)
        precision = _safe_ratio(tp, predicted)
        recall = _safe_ratio(tp, support_total)
        return PrecisionRecallF1(precision, recall, _f1(precision, recall), support_total)
    precision = _safe_ratio(tp, predicted)
    recall = _safe_ratio(tp, support)
    f1 = _f1(precision, recall)
    if average is None:
        return PrecisionRecallF1(precision, recall, f1, support.astype(np.int64))
    if average == "macro":
        weights = fnp.full((num_classes,), 1.0 / num_classes)
    else:
        weights = support / fnp.maximum(fnp.sum(support), 1.0)
    total = fnp.sum(support).astype(np.int64)
    return PrecisionRecallF1(
        fnp.sum(weights * precision), fnp.sum(weights * recall), fnp.sum(weights * f1), total
    )


def _safe_ratio(numerator: Any, denominator: Any) -> Any:
    return fnp.where(denominator > 0, numerator / fnp.where(denominator > 0, denominator, 1), 0.0)


def _f1(precision: Any, recall: Any) -> Any:
    return _safe_ratio(2 * precision * recall, precision + recall)
