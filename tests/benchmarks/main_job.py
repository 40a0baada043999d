"""The main job (examples/digits_mlp.py) against the same training in PyTorch eager, and the
per-step cost of logging and progress bars.

1. **Whole training, compile included.** The main job's loop without its I/O (no
   checkpoints, logs or bar): the bundled digits split as the example splits them, the
   64-128-128-10 MLP with BatchNorm, ReLU and Dropout 0.1, AdamW (weight decay 1e-4)
   with the warm-up + cosine schedule, batch 64, 30 epochs, the jitted step that
   threads the BatchNorm state, key-shuffled batches and a per-step dropout key (both
   as the example draws them), and an evaluation on the test set after every epoch.
   Each run builds and jits its functions afresh, so tracing and code generation are
   timed too. The same model, optimizer, schedule, batch size, epochs and evaluation
   in PyTorch eager (``torch.optim.AdamW`` with its defaults, ``LambdaLR`` with the same
   schedule, ``randperm`` batches: no DataLoader, which would only slow PyTorch down),
   with ``torch.set_num_threads`` set to the BLAS thread count NumPy uses; also with
   ``fused=True`` AdamW, PyTorch's fastest CPU optimizer. The runs alternate and the
   best wall and CPU times of each are compared (CPU time, of all the process's
   threads, is less disturbed by other processes on a shared machine). The whole example
   script (with its checkpoints, TensorBoard/CSV logs and curves) is timed once too.
   Target: funcgrad faster than PyTorch eager.
2. **Per-step overhead of logging and progress.** The jitted step run over fixed
   batches: alone; with ``stax.logger.Logger.scalars`` of the loss at every step
   (TensorBoard, CSV and JSON lines); with a ``stax.progress`` bar over the batches
   whose postfix (``set_postfix``, which redraws) shows the loss at every step, drawn
   to ``/dev/null`` (and with ``refresh=False``, which leaves redrawing to tqdm's
   ``mininterval``); with both; and with both once per epoch, as the main job does.
   Wall time (the loop's), best of many alternated runs. Target: under 5% of the step.

Run with ``python -m tests.benchmarks.main_job [--repeat 3] [--epochs 30] [--threads N]``.
PyTorch is optional (not a dependency of funcgrad): without it part 1 times funcgrad
alone. On a machine shared with other work, ``--threads 1`` gives the steadiest figures
(idle BLAS/OpenMP threads spin while they wait, and spinning threads suffer most from
contention); on this tiny model it is also the fastest setting for both libraries.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import math
import os
import pathlib
import statistics
import tempfile
import time

import numpy as np

import funcgrad
import transforms
from funcgrad import random
from funcgrad.tree_util import tree_map
from stax import data, logger, losses, metrics, progress

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
BATCH, EPOCHS, PEAK_LR, WEIGHT_DECAY, SEED = 64, 30, 3e-3, 1e-4, 0


def main_job_module():
    spec = importlib.util.spec_from_file_location("digits_mlp", EXAMPLES / "digits_mlp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def digits_split():
    """The main job's train/test split (same keys, same order)."""
    key_split, key_init, key_run = random.split(random.key(SEED), 3)
    digits = data.load_digits()
    x = digits.x / np.float32(16.0)
    train, test = data.train_test_split(key_split, (x, digits.y), test_size=0.25, stratify=digits.y)
    return train, test, key_init, key_run


def schedule_python(step: int, warmup: int, total: int) -> float:
    """optax's warmup_cosine_decay_schedule(0, PEAK_LR, warmup, total) in plain Python,
    for PyTorch's LambdaLR (checked against transforms' schedule in :func:`main`)."""
    if step < warmup:
        return PEAK_LR * step / warmup
    progress_ = min(step - warmup, total - warmup) / (total - warmup)
    return PEAK_LR * 0.5 * (1 + math.cos(math.pi * progress_))


# --- funcgrad: the main job's loop without I/O -------------------------------------------


def funcgrad_setup(epochs: int, steps_per_epoch: int, key_init):
    """The example's network, params, BatchNorm state, schedule, optimizer and jitted
    functions, built afresh (so the first calls trace and generate code again)."""
    net = main_job_module().network()
    _, params = net.init_fun(key_init, (-1, 64))
    params = tree_map(lambda p: p.astype(np.float32), params)
    _, bn_state = net.init_state((-1, 64))
    total = epochs * steps_per_epoch
    schedule = transforms.warmup_cosine_decay_schedule(
        0.0, PEAK_LR, min(steps_per_epoch, total // 10), total
    )
    optimizer = transforms.adamw(schedule, weight_decay=WEIGHT_DECAY)

    def loss_fn(params, bn_state, x, y, key):
        logits, bn_state = net.apply_with_state(params, bn_state, x, key=key, is_training=True)
        return losses.cross_entropy(logits, y), bn_state

    @funcgrad.jit
    def train_step(params, opt_state, bn_state, x, y, epoch_key, i):
        key = random.fold_in(epoch_key, i)  # as the example: the step's key, inside jit
        (loss, bn_state), grads = funcgrad.value_and_grad(loss_fn, has_aux=True)(
            params, bn_state, x, y, key
        )
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return transforms.apply_updates(params, updates), opt_state, bn_state, loss

    @funcgrad.jit
    def evaluate(params, bn_state, x, y):
        logits, _ = net.apply_with_state(params, bn_state, x, is_training=False)
        return losses.cross_entropy(logits, y), metrics.accuracy(logits, y)

    state = (params, optimizer.init(params), bn_state)
    return state, train_step, evaluate, schedule


def funcgrad_training(epochs: int) -> tuple[float, float, float]:
    """Wall and CPU seconds for the whole training (setup and compilation included), and
    the final test accuracy."""
    start, cpu = time.perf_counter(), time.process_time()
    (x_train, y_train), (x_test, y_test), key_init, key_run = digits_split()
    steps = data.num_batches(len(x_train), BATCH, drop_last=True)
    (params, opt_state, bn_state), train_step, evaluate, _ = funcgrad_setup(epochs, steps, key_init)
    for epoch in range(epochs):
        key_order, key_dropout = random.split(random.fold_in(key_run, epoch))
        batch_losses = []
        for i, (xb, yb) in enumerate(
            data.batches((x_train, y_train), BATCH, key=key_order, drop_last=True)
        ):
            params, opt_state, bn_state, loss = train_step(
                params, opt_state, bn_state, xb, yb, key_dropout, i
            )
            batch_losses.append(loss)
        _ = float(np.mean([float(v) for v in batch_losses]))
        _, accuracy = (float(v) for v in evaluate(params, bn_state, x_test, y_test))
    return time.perf_counter() - start, time.process_time() - cpu, accuracy


# --- PyTorch eager ---------------------------------------------------------------------


def torch_training(epochs: int, *, fused: bool = False) -> tuple[float, float, float]:
    """The same training in PyTorch eager: wall and CPU seconds (model building included),
    test accuracy."""
    import torch
    from torch import nn

    start, cpu = time.perf_counter(), time.process_time()
    (x_train, y_train), (x_test, y_test), _, _ = digits_split()
    x_train, x_test = torch.from_numpy(np.asarray(x_train)), torch.from_numpy(np.asarray(x_test))
    y_train = torch.from_numpy(np.asarray(y_train).astype(np.int64))
    y_test = torch.from_numpy(np.asarray(y_test).astype(np.int64))
    torch.manual_seed(SEED)

    def block(n_in):
        return [nn.Linear(n_in, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.1)]

    model = nn.Sequential(*block(64), *block(128), nn.Linear(128, 10))
    steps = len(x_train) // BATCH
    total = epochs * steps
    warmup = min(steps, total // 10)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=PEAK_LR, weight_decay=WEIGHT_DECAY, fused=fused or None
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: schedule_python(step, warmup, total) / PEAK_LR
    )
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x_train))
        batch_losses = []
        for i in range(steps):
            idx = order[i * BATCH : (i + 1) * BATCH]
            loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            batch_losses.append(loss.detach())
        _ = float(torch.stack(batch_losses).mean())
        model.eval()
        with torch.no_grad():
            logits = model(x_test)
            _ = float(nn.functional.cross_entropy(logits, y_test))
            accuracy = float((logits.argmax(1) == y_test).float().mean())
    return time.perf_counter() - start, time.process_time() - cpu, accuracy


# --- the per-step overhead of logging and progress ----------------------------------------


def step_overheads(steps: int, repeat: int) -> dict[str, float]:
    """Wall seconds per step, what the loop waits for (the logger's writer thread runs
    beside it; its queue is flushed inside the timing): the jitted step alone, and with
    logging and a progress bar, every step or every epoch."""
    (x_train, y_train), _, key_init, key_run = digits_split()
    steps_per_epoch = data.num_batches(len(x_train), BATCH, drop_last=True)
    initial, train_step, _, _ = funcgrad_setup(EPOCHS, steps_per_epoch, key_init)
    batches = list(data.batches((x_train, y_train), BATCH, key=key_run, drop_last=True))
    batches = [batches[i % len(batches)] for i in range(steps)]

    def run(log=None, bar_file=None, *, every: int = 1, refresh: bool = False) -> float:
        params, opt_state, bn_state = initial
        items = enumerate(batches)
        bar = None
        if bar_file is not None:
            bar = progress.progress(items, total=steps, desc="batches", quiet=False, file=bar_file)
            items = bar
        start = time.perf_counter()
        for i, (xb, yb) in items:
            params, opt_state, bn_state, loss = train_step(
                params, opt_state, bn_state, xb, yb, key_run, i
            )
            if i % every == 0:
                if log is not None:
                    log.scalars({"train/loss": loss}, i)
                if bar is not None:
                    bar.set_postfix({"loss": loss}, refresh=refresh)  # formatted when drawn
        funcgrad.block_until_ready(params)
        if log is not None:
            log.flush()  # the writer thread's work counts
        seconds = time.perf_counter() - start
        if bar is not None:
            bar.close()
        return seconds / steps

    best: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        logger.Logger(pathlib.Path(tmp) / "all") as log,
        logger.Logger(pathlib.Path(tmp) / "text", tensorboard=False) as text_log,
        open(os.devnull, "w") as devnull,
    ):
        variants = {
            "step alone": lambda: run(),
            "+ logger.scalars (TensorBoard, CSV, JSON lines)": lambda: run(log),
            "+ logger.scalars (CSV, JSON lines only)": lambda: run(text_log),
            "+ progress bar, set_postfix (drawn at tqdm's mininterval)": lambda: run(None, devnull),
            "+ progress bar, set_postfix(refresh=True)": lambda: run(None, devnull, refresh=True),
            "+ logger (all) and bar": lambda: run(log, devnull),
            f"+ both once every {steps_per_epoch} steps (an epoch)": lambda: run(
                log, devnull, every=steps_per_epoch
            ),
        }
        # past the jit's tier change (funcgrad.config.cpu_fusion_after_calls) first
        for _ in range(max(1, 2 * funcgrad.config.cpu_fusion_after_calls // steps + 1)):
            run()
        time.sleep(1.0)  # a background compilation of the fused tier, if any, ends
        for _ in range(repeat):  # alternated, so that a busy moment hits them all alike
            for name, measure in variants.items():
                best[name] = min(best.get(name, math.inf), measure())
    return best


# --- the report ------------------------------------------------------------------------


def blas_threads() -> int:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1
    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return max(counts) if counts else os.cpu_count() or 1


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each training")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--steps", type=int, default=100, help="steps per overhead timing")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="BLAS threads for NumPy (through threadpoolctl) and PyTorch's thread count; "
        "default: NumPy's as it is, and PyTorch the same",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.threads is None:
        return benchmark(args)
    from threadpoolctl import threadpool_limits

    digits_split()  # loads scikit-learn and SciPy (and their BLAS) before the limit is set
    with threadpool_limits(limits=args.threads, user_api="blas"):
        return benchmark(args)


def benchmark(args: argparse.Namespace) -> dict:
    # the plain-Python schedule PyTorch is given is the main job's schedule
    steps = data.num_batches(len(digits_split()[0][1]), BATCH, drop_last=True)
    total = args.epochs * steps
    reference = transforms.warmup_cosine_decay_schedule(
        0.0, PEAK_LR, min(steps, total // 10), total
    )
    for t in (0, 1, steps - 1, steps, total // 2, total - 1, total):
        expected = float(reference(t))
        assert math.isclose(schedule_python(t, min(steps, total // 10), total), expected,
                            rel_tol=1e-5, abs_tol=1e-9), t  # fmt: skip

    threads = blas_threads()
    try:
        import torch

        torch.set_num_threads(threads)
        versions = f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        torch = None
        versions = "PyTorch not installed: funcgrad alone"
    print(f"main job: {args.epochs} epochs, batch {BATCH}; NumPy {np.__version__} "
          f"({threads} BLAS threads); {versions}; "
          f"funcgrad cpu_fusion={funcgrad.config.cpu_fusion}")  # fmt: skip

    results: dict[str, list[tuple[float, float, float]]] = {"funcgrad (jit)": []}
    if torch is not None:
        results["PyTorch eager"] = []
        results["PyTorch eager, fused AdamW"] = []
    for _ in range(args.repeat):
        results["funcgrad (jit)"].append(funcgrad_training(args.epochs))
        if torch is not None:
            results["PyTorch eager"].append(torch_training(args.epochs))
            results["PyTorch eager, fused AdamW"].append(torch_training(args.epochs, fused=True))
    print("\nwhole training, compile included; wall and CPU seconds, best / median of runs:")
    for name, runs in results.items():
        wall, cpu = [r[0] for r in runs], [r[1] for r in runs]
        print(f"  {name:27s} wall {min(wall):6.2f} / {statistics.median(wall):6.2f} s  "
              f"CPU {min(cpu):6.2f} / {statistics.median(cpu):6.2f} s  (first run {wall[0]:.2f} s "
              f"wall)  test accuracy {runs[-1][2]:.4f}")  # fmt: skip
    if torch is not None:
        for name in ("PyTorch eager", "PyTorch eager, fused AdamW"):
            ratios = [
                min(r[k] for r in results[name]) / min(r[k] for r in results["funcgrad (jit)"])
                for k in (0, 1)
            ]
            print(f"  {name} / funcgrad: {ratios[0]:.2f}x wall, {ratios[1]:.2f}x CPU "
                  f"(above 1: funcgrad faster)")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as devnull:
        start = time.perf_counter()
        with contextlib.redirect_stdout(devnull):
            main_job_module().main(["--quiet", "--out", tmp, "--epochs", str(args.epochs)])
        script = time.perf_counter() - start
    print(f"  the whole example script (checkpoints, logs, curves): {script:.2f} s")

    per_step = step_overheads(args.steps, repeat=5 * args.repeat)
    step = per_step["step alone"]
    print(f"\nWall time per step, best of {5 * args.repeat} runs of {args.steps} steps each "
          f"(overhead: share of the step alone):")  # fmt: skip
    for name, seconds in per_step.items():
        share = "" if name == "step alone" else f"  overhead {100 * (seconds / step - 1):+5.1f}%"
        print(f"  {name:50s} {1e3 * seconds:6.3f} ms{share}")
    return {"training": results, "script": script, "per_step": per_step}


if __name__ == "__main__":
    main()
