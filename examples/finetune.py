"""Transfer learning on the bundled digits: pretrain on 0-4, then finetune a new head on 5-9.

1. Pretrain a body (two Dense + ReLU layers) with a 5-way head on the digits 0-4.
2. Replace the head with a fresh 5-way head for the digits 5-9 and train it with the
   body frozen: ``transforms.partition`` gives the body ``set_to_zero`` and the head
   Adam, by a label pytree shaped like the parameters.
3. Unfreeze: the body trains too, with a learning rate ten times smaller than the
   head's (per-group learning rates, PyTorch's parameter groups).

    python examples/finetune.py [--epochs 10]
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

BODY = stax.serial(stax.Dense(128), stax.Relu, stax.Dense(64), stax.Relu)


def network() -> stax.Layer:
    """The body and a 5-way head; params are ``[body_params, head_params]``."""
    return stax.serial(BODY, stax.Dense(5))


def train(net, params, optimizer, train_set, epochs, batch_size, key):
    """Plain minibatch training; returns the trained params."""

    @funcgrad.jit
    def step(params, opt_state, xb, yb):
        grads = funcgrad.grad(
            lambda p: losses.cross_entropy(net.apply_fun(p, xb), yb)
        )(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return transforms.apply_updates(params, updates), opt_state

    opt_state = optimizer.init(params)
    for epoch in range(epochs):
        for xb, yb in data.batches(
            train_set, batch_size, key=random.fold_in(key, epoch), drop_last=True
        ):
            params, opt_state = step(params, opt_state, xb, yb)
    return params


def main(argv=None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    digits = data.load_digits()
    x = digits.x / np.float32(16)
    keys = random.split(random.key(args.seed), 6)
    low, high = digits.y < 5, digits.y >= 5
    (pre_train, pre_test) = data.train_test_split(
        keys[0], (x[low], digits.y[low]), stratify=digits.y[low]
    )
    (fine_train, fine_test) = data.train_test_split(
        keys[1], (x[high], digits.y[high] - 5), stratify=digits.y[high]
    )
    net = network()
    accuracy = funcgrad.jit(lambda params, xb, yb: metrics.accuracy(net.apply_fun(params, xb), yb))
    results = {}

    # 1. Pretraining on 0-4.
    _, params = net.init_fun(keys[2], (-1, 64))
    params = tree_map(lambda p: p.astype(np.float32), params)
    params = train(
        net, params, transforms.adam(args.lr), pre_train, args.epochs, args.batch_size, keys[3]
    )
    results["pretrained on 0-4"] = float(accuracy(params, *pre_test))

    # 2. A new head for 5-9; the body is frozen.
    _, head = stax.Dense(5).init_fun(keys[4], (-1, 64))
    params = [params[0], tree_map(lambda p: p.astype(np.float32), head)]
    results["new head, before training"] = float(accuracy(params, *fine_test))
    labels = ["body", "head"]  # a prefix of the params' structure labels each subtree
    frozen = transforms.partition(
        {"body": transforms.set_to_zero(), "head": transforms.adam(args.lr)}, labels
    )
    body_before = params[0]
    params = train(net, params, frozen, fine_train, args.epochs, args.batch_size, keys[5])
    assert all(
        np.array_equal(a, b) for a, b in zip(funcgrad.tree_util.tree_leaves(body_before),
                                             funcgrad.tree_util.tree_leaves(params[0]))
    ), "the frozen body changed"  # fmt: skip
    results["head trained, body frozen"] = float(accuracy(params, *fine_test))

    # 3. Unfrozen: the body at a tenth of the head's learning rate.
    groups = transforms.partition(
        {"body": transforms.adam(args.lr / 10), "head": transforms.adam(args.lr)}, labels
    )
    params = train(
        net, params, groups, fine_train, args.epochs, args.batch_size, random.fold_in(keys[5], 1)
    )
    results["all trained, body lr / 10"] = float(accuracy(params, *fine_test))
    for stage, value in results.items():
        print(f"{stage:28s} test accuracy {value:.4f}")
    return results


if __name__ == "__main__":
    main()
