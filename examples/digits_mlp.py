"""Train an MLP with BatchNorm and Dropout on scikit-learn's bundled digits: the main job.

Shows the library end to end, with the training loop in plain sight:

* ``stax``: a network of Dense, BatchNorm (running statistics as explicit state),
  ReLU and Dropout layers;
* ``stax.data``: the bundled digits (no download), a stratified train/test split and
  key-shuffled mini-batches;
* ``stax.losses.cross_entropy`` on integer labels;
* ``transforms.adamw`` with a warm-up + cosine learning-rate schedule;
* one ``funcgrad.jit`` training step that returns the new parameters, optimizer state
  and BatchNorm state next to the loss;
* a tqdm bar, TensorBoard + CSV logs (``stax.logger``), a checkpoint every epoch
  (``funcgrad.io.CheckpointManager``), ``--resume`` to continue an interrupted run
  exactly, and a PNG of the training curves at the end.

Run with

    python examples/digits_mlp.py [--epochs 30] [--batch-size 64] [--lr 3e-3] [--out runs/digits_mlp]

and expect a test accuracy of about 0.98. ``--resume`` continues from the latest
checkpoint in ``--out``; the run is bit-identical to one that was never interrupted
when both run jit's same tier (``FUNCGRAD_CPU_FUSION=off`` or ``always``). With the
default, tiered fusion (numba installed), each run switches to fused loops after its own
100th step, and a fused loop sums in its own order: the runs then agree within rounding.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np

import funcgrad
import stax
import transforms
from funcgrad import io, random
from funcgrad.tree_util import tree_map
from stax import data, logger, losses, metrics, plots, progress


def network(hidden: int = 128, dropout: float = 0.1) -> stax.Layer:
    """64 -> hidden -> hidden -> 10 logits, BatchNorm + ReLU + Dropout between layers."""
    block = [
        stax.Dense(hidden),
        stax.BatchNorm(axis=(0,), dtype=np.float32),
        stax.Relu,
        stax.Dropout(dropout),
    ]
    return stax.serial(*block, *block, stax.Dense(10))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/digits_mlp", help="logs, checkpoints, plots")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = pathlib.Path(args.out)
    key = random.key(args.seed)
    key_split, key_init, key_run = random.split(key, 3)

    digits = data.load_digits()
    x = digits.x / np.float32(16.0)  # pixels are 0..16
    (x_train, y_train), (x_test, y_test) = data.train_test_split(
        key_split, (x, digits.y), test_size=0.25, stratify=digits.y
    )
    steps_per_epoch = data.num_batches(len(x_train), args.batch_size, drop_last=True)

    net = network()
    _, params = net.init_fun(key_init, (-1, 64))
    # Initializers give funcgrad's default float64; train in single precision.
    params = tree_map(lambda p: p.astype(np.float32), params)
    _, bn_state = net.init_state((-1, 64))
    total_steps = args.epochs * steps_per_epoch
    schedule = transforms.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=args.lr,
        warmup_steps=min(steps_per_epoch, total_steps // 10),  # one epoch of warm-up
        decay_steps=total_steps,
    )
    optimizer = transforms.adamw(schedule, weight_decay=args.weight_decay)
    opt_state = optimizer.init(params)

    def loss_fn(params, bn_state, x, y, key):
        logits, bn_state = net.apply_with_state(params, bn_state, x, key=key, is_training=True)
        return losses.cross_entropy(logits, y), bn_state

    @funcgrad.jit
    def train_step(params, opt_state, bn_state, x, y, epoch_key, i):
        key = random.fold_in(epoch_key, i)  # this step's dropout key, derived inside jit
        (loss, bn_state), grads = funcgrad.value_and_grad(loss_fn, has_aux=True)(
            params, bn_state, x, y, key
        )
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return transforms.apply_updates(params, updates), opt_state, bn_state, loss

    @funcgrad.jit
    def evaluate(params, bn_state, x, y):
        logits, _ = net.apply_with_state(params, bn_state, x, is_training=False)
        return losses.cross_entropy(logits, y), metrics.accuracy(logits, y)

    # Everything a resumed run needs: the data order and dropout keys come from
    # (key_run, epoch), so the epoch number is enough to continue exactly.
    run = {"params": params, "opt_state": opt_state, "bn_state": bn_state, "epoch": 0}
    history: dict[str, list[float]] = {"train loss": [], "test loss": [], "test accuracy": []}
    manager = io.CheckpointManager(
        out / "checkpoints", max_to_keep=3, best_metric="test_accuracy", mode="max"
    )
    if args.resume and manager.latest_step() is not None:
        # The history's lists grow, so their lengths come from a first, untyped read;
        # the template then restores the optimizer's and BatchNorm's NamedTuple states.
        untyped = manager.restore()
        saved = manager.restore(like={"run": run, "history": untyped["history"]})
        run, history = saved["run"], saved["history"]
        print(f"resumed from epoch {run['epoch']} in {manager.directory}")

    print(
        f"digits: {len(x_train)} train / {len(x_test)} test images; "
        f"MLP 64-128-128-10 with BatchNorm and Dropout; AdamW, peak lr {args.lr}"
    )
    start = time.perf_counter()
    with logger.Logger(out / "logs") as log:
        epochs = progress.progress(
            range(run["epoch"], args.epochs), desc="epochs", quiet=True if args.quiet else None
        )
        for epoch in epochs:
            key_epoch = random.fold_in(key_run, epoch)
            key_order, key_dropout = random.split(key_epoch)
            params, opt_state, bn_state = run["params"], run["opt_state"], run["bn_state"]
            batch_losses = []
            for i, (xb, yb) in enumerate(
                data.batches((x_train, y_train), args.batch_size, key=key_order, drop_last=True)
            ):
                params, opt_state, bn_state, loss = train_step(
                    params, opt_state, bn_state, xb, yb, key_dropout, i
                )
                batch_losses.append(loss)
            train_loss = float(np.mean([float(v) for v in batch_losses]))
            test_loss, test_accuracy = (
                float(v) for v in evaluate(params, bn_state, x_test, y_test)
            )
            step = (epoch + 1) * steps_per_epoch
            log.scalars(
                {"train/loss": train_loss, "test/loss": test_loss, "test/accuracy": test_accuracy,
                 "lr": float(schedule(step))},
                step,
            )  # fmt: skip
            history["train loss"].append(train_loss)
            history["test loss"].append(test_loss)
            history["test accuracy"].append(test_accuracy)
            run = {
                "params": params,
                "opt_state": opt_state,
                "bn_state": bn_state,
                "epoch": epoch + 1,
            }
            manager.save(epoch + 1, {"run": run, "history": history},
                         metrics={"test_accuracy": test_accuracy}, force=True)  # fmt: skip
            epochs.set_postfix(
                progress.format_metrics({"loss": train_loss, "test acc": test_accuracy})
            )
            if args.quiet or epochs.disable:
                print(f"epoch {epoch + 1:3d}  loss {train_loss:.4f}  test loss {test_loss:.4f}  "
                      f"test accuracy {test_accuracy:.4f}  ({time.perf_counter() - start:.1f} s)")  # fmt: skip
        log.histogram("params", run["params"], step=args.epochs * steps_per_epoch)
        log.hparams(
            {"lr": args.lr, "batch_size": args.batch_size, "epochs": args.epochs, "weight_decay": args.weight_decay},
            {"test_accuracy": history["test accuracy"][-1] if history["test accuracy"] else float("nan")},
        )  # fmt: skip
    if history["train loss"]:
        plots.plot_curves(history, out / "curves.png", title="digits MLP")
        print(f"final test accuracy: {history['test accuracy'][-1]:.4f}  "
              f"(logs, checkpoints and curves.png in {out})")  # fmt: skip
    return {"history": history, "run": run, "out": out}


if __name__ == "__main__":
    main()
