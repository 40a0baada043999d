"""Classify scikit-learn's bundled 8x8 digits with a closed-form ridge-regression classifier.

The main job of the README: everything runs on funcgrad.numpy, and the data set
ships inside scikit-learn (no download). One-hot targets are regressed on the
standardised pixels (plus a bias column) with the normal equations

    W = (X^T X + lambda I)^{-1} X^T Y,

and the predicted class is the arg-max of X W. Run with

    python examples/digits_ridge.py
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits

import funcgrad.numpy as fnp


def split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A shuffled train/test split of range(n) (host-side bookkeeping, not model math)."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return order[n_test:], order[:n_test]


def standardize(train, test):
    """Scale features to zero mean and unit variance using training statistics only."""
    mean = fnp.mean(train, axis=0)
    std = fnp.std(train, axis=0)
    std = fnp.where(std > 0, std, 1.0)  # constant pixels (always 0 in the border) stay 0
    return (train - mean) / std, (test - mean) / std


def add_bias(x):
    return fnp.concatenate([x, fnp.ones((x.shape[0], 1), dtype=x.dtype)], axis=1)


def fit_ridge(x, y_onehot, lam: float):
    """The ridge solution W of shape (features, classes); the bias column is not penalised."""
    d = x.shape[1]
    penalty = fnp.eye(d, dtype=x.dtype) * lam
    penalty = penalty.at[d - 1, d - 1].set(0.0)
    return fnp.linalg.solve(x.T @ x + penalty, x.T @ y_onehot)


def accuracy(x, labels, w) -> float:
    return float(fnp.mean(fnp.argmax(x @ w, axis=1) == labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lam", type=float, default=10.0, help="ridge penalty")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    digits = load_digits()
    train_idx, test_idx = split(len(digits.target), 0.25, args.seed)
    x = fnp.asarray(digits.data, dtype=fnp.float64)
    labels = fnp.asarray(digits.target)
    x_train, x_test = standardize(x[train_idx], x[test_idx])
    x_train, x_test = add_bias(x_train), add_bias(x_test)
    y_train = fnp.eye(10)[labels[train_idx]]

    w = fit_ridge(x_train, y_train, args.lam)
    train_acc = accuracy(x_train, labels[train_idx], w)
    test_acc = accuracy(x_test, labels[test_idx], w)
    print(f"digits: {len(train_idx)} train / {len(test_idx)} test images, 64 pixels, 10 classes")
    print(
        f"ridge (lambda={args.lam}): train accuracy {train_acc:.3f}, test accuracy {test_acc:.3f}"
    )


if __name__ == "__main__":
    main()
