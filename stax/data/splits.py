"""Splitting and joining data sets: random splits, train/test splits, k folds, concatenation."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
import funcgrad.random
from funcgrad.tree_util import tree_map
from stax.data.batching import _leaves, shuffled_order, take

__all__ = ["concatenate", "k_fold", "random_split", "split_sizes", "train_test_split"]


def split_sizes(n: int, lengths_or_fractions: Sequence[float], fname: str) -> list[int]:
    """Integer sizes summing to ``n`` from sizes or from fractions summing to 1.

    Fractions are floored and the remainder handed out one each from the first part,
    as PyTorch's ``random_split`` does.
    """
    parts = list(lengths_or_fractions)
    if not parts:
        raise ValueError(f"{fname}: lengths_or_fractions is empty")
    if all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in parts):
        if any(p < 0 for p in parts) or sum(parts) != n:
            raise ValueError(
                f"{fname}: lengths {parts} must be non-negative and sum to the number of "
                f"examples, {n}"
            )
        return [int(p) for p in parts]
    if any(not 0 <= p <= 1 for p in parts) or not math.isclose(sum(parts), 1.0, abs_tol=1e-6):
        raise ValueError(
            f"{fname}: fractions {parts} must lie in [0, 1] and sum to 1 (or give integer "
            f"lengths summing to {n})"
        )
    sizes = [math.floor(n * p) for p in parts]
    for i in range(n - sum(sizes)):
        sizes[i % len(sizes)] += 1
    return sizes


def random_split(key: Any, data: Any, lengths_or_fractions: Sequence[float]) -> list[Any]:
    """Split ``data`` (a pytree with a shared leading axis) into disjoint random parts.

    Args:
        key: a ``funcgrad.random`` key; the same key gives the same split everywhere.
        data: the pytree of arrays.
        lengths_or_fractions: integer sizes summing to the number of examples, or
            fractions summing to 1 (floored, the remainder handed out round-robin from
            the first part, as ``torch.utils.data.random_split``).

    Returns:
        A list of pytrees with ``data``'s structure.

    Examples:
        >>> import numpy as np, funcgrad
        >>> train, val = random_split(funcgrad.random.key(0), np.arange(10), [0.8, 0.2])
        >>> len(train), len(val), sorted(np.concatenate([train, val]).tolist()) == list(range(10))
        (8, 2, True)
    """
    fname = "stax.data.random_split"
    _, _, n = _leaves(data, fname)
    sizes = split_sizes(n, lengths_or_fractions, fname)
    order = shuffled_order(key, n)
    bounds = np.cumsum([0] + sizes)
    return [take(data, order[a:b]) for a, b in itertools.pairwise(bounds)]


def _class_members(key: Any, labels: np.ndarray) -> list[np.ndarray]:
    """Each class's example indices, in a key-determined random order (classes sorted)."""
    order = shuffled_order(key, labels.shape[0])
    shuffled = labels[order]
    return [order[shuffled == value] for value in np.unique(labels)]


def _proportional_counts(total: int, sizes: np.ndarray) -> np.ndarray:
    """``total`` split over groups in proportion to ``sizes`` (largest remainders first)."""
    exact = total * sizes / sizes.sum()
    counts = np.floor(exact).astype(np.int64)
    remainder = exact - counts
    for i in np.argsort(-remainder, kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return counts


def _labels(stratify: Any, n: int, fname: str) -> np.ndarray:
    labels = np.asarray(stratify)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(
            f"{fname}: stratify must be one label per example, shape ({n},); got shape "
            f"{labels.shape}"
        )
    return labels


def train_test_split(
    key: Any, data: Any, *, test_size: float = 0.25, stratify: Any = None
) -> tuple[Any, Any]:
    """Split ``data`` into a random training part and a test part.

    Args:
        key: a ``funcgrad.random`` key.
        data: the pytree of arrays.
        test_size: a fraction in (0, 1) (rounded up, as scikit-learn) or a count.
        stratify: optional labels, one per example; the test part then takes from each
            class its share of ``test_size`` (largest remainders rounded up).

    Returns:
        ``(train, test)``, each with ``data``'s structure.

    Examples:
        >>> import numpy as np, funcgrad
        >>> x, y = np.arange(20.0), np.repeat([0, 1], 10)
        >>> train, test = train_test_split(funcgrad.random.key(1), (x, y), test_size=0.2,
        ...                                stratify=y)
        >>> np.bincount(test[1]).tolist()
        [2, 2]
    """
    fname = "stax.data.train_test_split"
    _, _, n = _leaves(data, fname)
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, float) and 0 < test_size < 1:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(
            f"{fname}: test_size must be a fraction in (0, 1) or a count; got {test_size!r}"
        )
    if not 0 < n_test < n:
        raise ValueError(f"{fname}: test_size {test_size!r} leaves an empty part of {n} examples")
    if stratify is None:
        order = shuffled_order(key, n)
        return take(data, order[n_test:]), take(data, order[:n_test])
    members = _class_members(key, _labels(stratify, n, fname))
    counts = _proportional_counts(n_test, np.array([m.size for m in members]))
    test = np.concatenate([m[:c] for m, c in zip(members, counts)])
    train = np.concatenate([m[c:] for m, c in zip(members, counts)])
    return take(data, np.sort(train)), take(data, np.sort(test))


def k_fold(
    key: Any, n: int, k: int, *, stratify: Any = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train indices, validation indices) pairs whose validation parts partition ``range(n)``.

    Args:
        key: a ``funcgrad.random`` key (``None`` keeps the stored order, as scikit-learn's
            ``KFold(shuffle=False)``).
        n: the number of examples.
        k: the number of folds, ``2 <= k <= n``.
        stratify: optional labels, one per example: each fold then holds
            ``floor(n_c / k)`` or ``ceil(n_c / k)`` examples of each class ``c``.

    Returns:
        A list of ``k`` pairs of sorted NumPy int64 index arrays. Fold sizes differ by at
        most one (the first ``n % k`` folds hold one more, as scikit-learn).

    Examples:
        >>> import funcgrad
        >>> folds = k_fold(funcgrad.random.key(0), 10, 3)
        >>> [len(val) for _, val in folds]
        [4, 3, 3]
    """
    fname = "stax.data.k_fold"
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 2 <= k <= n:
        raise ValueError(f"{fname}: k must be an int with 2 <= k <= n = {n}; got {k!r}")
    if stratify is not None:
        # Each class's shuffled members, class after class, dealt to the folds in turn:
        # every fold gets floor or ceil of n_c / k of class c, and fold sizes differ by <= 1.
        order = np.concatenate(_class_members(key, _labels(stratify, n, fname)))
        assignment = np.empty(n, dtype=np.int64)
        assignment[order] = np.arange(n) % k
    else:
        order = shuffled_order(key, n) if key is not None else np.arange(n, dtype=np.int64)
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        assignment = np.empty(n, dtype=np.int64)
        assignment[order] = np.repeat(np.arange(k), sizes)
    everything = np.arange(n, dtype=np.int64)
    return [(everything[assignment != f], everything[assignment == f]) for f in range(k)]


def concatenate(datasets: Sequence[Any]) -> Any:
    """Join data sets with the same structure along their example axis.

    NumPy leaves give NumPy arrays; funcgrad leaves give funcgrad arrays.

    Examples:
        >>> import numpy as np
        >>> concatenate([(np.zeros((2, 3)), np.zeros(2)), (np.ones((1, 3)), np.ones(1))])[0].shape
        (3, 3)
    """
    fname = "stax.data.concatenate"
    datasets = list(datasets)
    if not datasets:
        raise ValueError(f"{fname}: nothing to concatenate")
    for d in datasets:
        _leaves(d, fname)

    def join(*leaves):
        if any(isinstance(leaf, funcgrad.Array) for leaf in leaves):
            return fnp.concatenate(leaves, axis=0)
        return np.concatenate([np.asarray(leaf) for leaf in leaves], axis=0)

    try:
        return tree_map(join, *datasets)
    except ValueError as error:
        raise ValueError(f"{fname}: the data sets differ in structure or shapes: {error}") from None
