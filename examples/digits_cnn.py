"""A LeNet-style CNN on the bundled 8x8 digits, with augmentations and reduce-on-plateau.

* ``stax``: Conv / ReLU / MaxPool blocks, Dropout, Dense (channels-last images);
* ``stax.data``: random crops (1 pixel of padding) and small rotations, applied to each
  batch inside the jitted step (``vmap`` over per-image keys);
* ``transforms.contrib.reduce_on_plateau`` chained after Adam: the validation loss is fed
  through ``update(..., value=...)`` and the learning rate drops tenfold when it stalls.

    python examples/digits_cnn.py [--epochs 25]

Expect a test accuracy of about 0.98-0.99.
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
from transforms import contrib


def network() -> stax.Layer:
    return stax.serial(
        stax.Conv(32, (3, 3), padding="SAME"), stax.Relu,
        stax.Conv(32, (3, 3), padding="SAME"), stax.Relu,
        stax.MaxPool((2, 2), strides=(2, 2)),
        stax.Conv(64, (3, 3), padding="SAME"), stax.Relu,
        stax.MaxPool((2, 2), strides=(2, 2)),
        stax.Flatten,
        stax.Dense(128), stax.Relu, stax.Dropout(0.3),
        stax.Dense(10),
    )  # fmt: skip


AUGMENT = data.compose([data.random_crop(8, padding=1), data.random_rotation(10.0)])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    digits = data.load_digits(images=True)
    x = digits.x / np.float32(16)
    keys = random.split(random.key(args.seed), 4)
    train, test = data.train_test_split(keys[0], (x, digits.y), test_size=0.25, stratify=digits.y)
    train, val = data.train_test_split(keys[1], train, test_size=0.15, stratify=train[1])
    steps = data.num_batches(len(train[1]), args.batch_size, drop_last=True)

    net = network()
    _, params = net.init_fun(keys[2], (-1, 8, 8, 1))
    params = tree_map(lambda p: p.astype(np.float32), params)
    # The plateau rule compares the mean of one epoch's values with the best so far.
    optimizer = transforms.chain(
        transforms.adam(args.lr),
        contrib.reduce_on_plateau(factor=0.1, patience=3, accumulation_size=steps),
    )
    opt_state = optimizer.init(params)

    @funcgrad.jit
    def train_step(params, opt_state, xb, yb, key, val_loss):
        key_augment, key_dropout = random.split(key)
        xb = data.apply_to_batch(AUGMENT, key_augment, xb)

        def loss_fn(p):
            return losses.cross_entropy(net.apply_fun(p, xb, key=key_dropout), yb)

        loss, grads = funcgrad.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params, value=val_loss)
        return transforms.apply_updates(params, updates), opt_state, loss

    @funcgrad.jit
    def evaluate(params, xb, yb):
        logits = net.apply_fun(params, xb, is_training=False)
        return losses.cross_entropy(logits, yb), metrics.accuracy(logits, yb)

    val_loss = np.float32(np.inf)
    for epoch in range(args.epochs):
        key_epoch = random.fold_in(keys[3], epoch)
        key_order, key_steps = random.split(key_epoch)
        batches = data.batches(train, args.batch_size, key=key_order, drop_last=True)
        for i, (xb, yb) in enumerate(batches):
            params, opt_state, loss = train_step(
                params, opt_state, xb, yb, random.fold_in(key_steps, i), val_loss
            )
        val_loss, val_accuracy = evaluate(params, *val)
        scale = float(opt_state[1].scale)
        print(f"epoch {epoch + 1:3d}  train loss {float(loss):.4f}  val loss {float(val_loss):.4f}  "
              f"val accuracy {float(val_accuracy):.4f}  lr scale {scale:g}")  # fmt: skip
    test_loss, test_accuracy = (float(v) for v in evaluate(params, *test))
    print(f"test accuracy: {test_accuracy:.4f} (test loss {test_loss:.4f})")
    return {"test_accuracy": test_accuracy, "lr_scale": scale}


if __name__ == "__main__":
    main()
