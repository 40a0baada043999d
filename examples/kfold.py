"""k-fold cross-validation of a small MLP on the bundled digits: mean and spread of accuracy.

``stax.data.k_fold`` gives stratified (train, validation) index pairs from a key; each
fold trains a fresh network (its own initialisation key) with one jitted step, and the
validation accuracies are summarised at the end.

    python examples/kfold.py [--folds 5] [--epochs 15]
"""

from __future__ import annotations

import argparse

import numpy as np

import funcgrad
import stax
import transforms
from funcgrad import random
from funcgrad.tree_util import tree_map
from stax import data, losses, metrics


def main(argv=None) -> np.ndarray:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    digits = data.load_digits()
    x, y = digits.x / np.float32(16), digits.y
    net = stax.serial(stax.Dense(64), stax.Relu, stax.Dense(10))
    optimizer = transforms.adam(args.lr)

    @funcgrad.jit
    def train_step(params, opt_state, xb, yb):
        loss, grads = funcgrad.value_and_grad(
            lambda p: losses.cross_entropy(net.apply_fun(p, xb), yb)
        )(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return transforms.apply_updates(params, updates), opt_state, loss

    accuracy = funcgrad.jit(lambda params, xb, yb: metrics.accuracy(net.apply_fun(params, xb), yb))

    key_folds, key_runs = random.split(random.key(args.seed))
    scores = []
    for fold, (train_idx, val_idx) in enumerate(
        data.k_fold(key_folds, len(y), args.folds, stratify=y)
    ):
        key_init, key_order = random.split(random.fold_in(key_runs, fold))
        _, params = net.init_fun(key_init, (-1, 64))
        params = tree_map(lambda p: p.astype(np.float32), params)
        opt_state = optimizer.init(params)
        train = (x[train_idx], y[train_idx])
        for epoch in range(args.epochs):
            batches = data.batches(
                train, args.batch_size, key=random.fold_in(key_order, epoch), drop_last=True
            )
            for xb, yb in batches:
                params, opt_state, _ = train_step(params, opt_state, xb, yb)
        scores.append(float(accuracy(params, x[val_idx], y[val_idx])))
        print(f"fold {fold + 1}/{args.folds}: {len(train_idx)} train, {len(val_idx)} validation, "
              f"accuracy {scores[-1]:.4f}")  # fmt: skip
    scores = np.asarray(scores)
    print(
        f"{args.folds}-fold accuracy: {scores.mean():.4f} +- {scores.std(ddof=1):.4f} (mean +- std)"
    )
    return scores


if __name__ == "__main__":
    main()
