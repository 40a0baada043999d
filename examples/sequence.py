"""Recurrent networks on two synthetic sequence tasks: the adding problem, and CTC alignment.

1. **The adding problem** (Hochreiter & Schmidhuber 1997): each step of a sequence is a
   pair (a value in [0, 1], a marker); exactly two steps are marked, one in each half,
   and the target is the sum of their values. An ``stax.LSTM`` (its loop over time is one
   ``lax.scan``, differentiated as a whole) reads the sequence and a ``Dense`` layer
   reads its last hidden state. Always answering 1.0 gives a mean squared error of
   1/6; the LSTM has to carry the marked values across the whole sequence to do better.
2. **CTC on an alignment task**: a label sequence such as ``3 1 1 4`` is "spoken" as
   frames: each symbol lasts 1-3 frames, silences of 0-2 frames lie between symbols
   (at least one between repeated ones) and around them, every frame is a noisy
   one-hot vector, and the sequences have different lengths. Nothing says which frame
   belongs to which label: a bidirectional ``stax.GRU`` gives per-frame class scores
   (blank = 0) and ``stax.losses.ctc_loss`` sums over every alignment. Greedy decoding
   (best class per frame, repeats merged, blanks dropped: a ``lax.scan`` over the
   frames) must then give back the exact label sequence.

    python examples/sequence.py [--steps 800] [--length 30] [--ctc-steps 300] [--out runs/sequence]

Expect a test MSE of about 0.001 on the adding problem and an exact-match accuracy of
about 0.97-0.99 for the decoded label sequences. ``curves.png`` in ``--out`` shows both.
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
import stax
import transforms
from funcgrad import lax, nn, random
from funcgrad.tree_util import tree_map
from stax import losses, plots

BLANK = 0


# --- the data ----------------------------------------------------------------------------


def adding_problem(rng: np.random.Generator, n: int, length: int):
    """``n`` sequences ``(n, length, 2)`` of (value, marker) and their targets ``(n,)``."""
    values = rng.random((n, length), dtype=np.float32)
    markers = np.zeros((n, length), np.float32)
    rows = np.arange(n)
    markers[rows, rng.integers(0, length // 2, n)] = 1
    markers[rows, rng.integers(length // 2, length, n)] = 1
    return np.stack([values, markers], axis=-1), np.sum(values * markers, axis=1)


def alignment_task(
    rng: np.random.Generator, n: int, *, symbols: int, max_labels: int, noise: float
):
    """Label sequences and noisy frames that say them without saying where.

    Returns ``(frames (n, T, symbols + 1), targets (n, max_labels) padded with 0,
    frame counts (n,), label counts (n,))``; ``T`` fits the longest possible sequence.
    """
    steps = 2 + 3 * max_labels + 2 * (max_labels - 1) + 2
    frames = np.zeros((n, steps, symbols + 1), np.float32)
    targets = np.zeros((n, max_labels), np.int32)
    frame_counts = np.zeros(n, np.int32)
    label_counts = rng.integers(1, max_labels + 1, n).astype(np.int32)
    for i, count in enumerate(label_counts):
        labels = rng.integers(1, symbols + 1, count)
        classes = [BLANK] * rng.integers(0, 3)
        for j, label in enumerate(labels):
            if j > 0:  # repeated labels need a silence between them, or they merge
                classes += [BLANK] * rng.integers(1 if label == labels[j - 1] else 0, 3)
            classes += [label] * rng.integers(1, 4)
        classes += [BLANK] * rng.integers(0, 3)
        frames[i, : len(classes)] = np.eye(symbols + 1)[classes]
        frames[i, : len(classes)] += noise * rng.standard_normal((len(classes), symbols + 1))
        targets[i, :count] = labels
        frame_counts[i] = len(classes)
    return frames, targets, frame_counts, label_counts


# --- training helpers --------------------------------------------------------------------


def init(net: stax.Layer, key, input_shape):
    """The network's params in single precision (initializers give float64)."""
    _, params = net.init_fun(key, input_shape)
    return tree_map(lambda p: p.astype(np.float32), params)


def make_step(loss_fn, optimizer):
    """One jitted optimizer step of ``loss_fn(params, *batch)``."""

    @funcgrad.jit
    def step(params, opt_state, *batch):
        loss, grads = funcgrad.value_and_grad(loss_fn)(params, *batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return transforms.apply_updates(params, updates), opt_state, loss

    return step


def greedy_decode(scores, frame_counts):
    """Best path decoding: ``(best class per frame, which frames emit a label)``.

    A frame emits its best class when that is not the blank, differs from the previous
    frame's best class (repeats merge) and lies within the sequence's frames.
    """
    best = fnp.argmax(scores, axis=-1)  # (N, T)

    def emit(previous, frame):
        label, t = frame
        keep = (label != BLANK) & (label != previous) & (t < frame_counts)
        return label, keep

    start = fnp.full(best.shape[:1], BLANK, dtype=best.dtype)
    _, keep = lax.scan(emit, start, (best.T, fnp.arange(best.shape[1])))
    return best, keep.T


# --- the two tasks -----------------------------------------------------------------------


def train_adding(args, key, rng) -> dict:
    net = stax.serial(stax.LSTM(args.hidden, return_sequences=False), stax.Dense(1))
    params = init(net, key, (-1, args.length, 2))
    optimizer = transforms.chain(transforms.clip_by_global_norm(1.0), transforms.adam(args.lr))
    opt_state = optimizer.init(params)

    def mse(params, x, y):
        return losses.mse_loss(net.apply_fun(params, x)[:, 0], y)

    step = make_step(mse, optimizer)
    evaluate = funcgrad.jit(mse)
    x_test, y_test = adding_problem(rng, 1000, args.length)
    baseline = float(np.mean((y_test - 1.0) ** 2))
    history = {"steps": [], "adding test mse": []}
    recent = []  # the training losses since the last evaluation
    for i in range(1, args.steps + 1):
        batch = adding_problem(rng, args.batch_size, args.length)
        params, opt_state, loss = step(params, opt_state, *batch)
        recent.append(float(loss))
        if i % args.eval_every == 0 or i == args.steps:
            history["steps"].append(i)
            history["adding test mse"].append(float(evaluate(params, x_test, y_test)))
            print(f"adding  step {i:4d}  train mse {np.mean(recent):.5f}  "
                  f"test mse {history['adding test mse'][-1]:.5f}")  # fmt: skip
            recent = []
    print(f"adding problem (length {args.length}): test MSE {history['adding test mse'][-1]:.5f} "
          f"(always answering 1.0: {baseline:.4f})")  # fmt: skip
    return {"test_mse": history["adding test mse"][-1], "baseline_mse": baseline, **history}


def train_ctc(args, key, rng) -> dict:
    task = {"symbols": 4, "max_labels": 4, "noise": 0.25}
    net = stax.serial(stax.GRU(args.hidden, bidirectional=True), stax.Dense(task["symbols"] + 1))
    x_test, t_test, f_test, l_test = alignment_task(rng, 500, **task)
    params = init(net, key, (-1, *x_test.shape[1:]))
    optimizer = transforms.adam(args.lr)
    opt_state = optimizer.init(params)

    def ctc(params, frames, targets, frame_counts, label_counts):
        log_probs = nn.log_softmax(net.apply_fun(params, frames), axis=-1)  # (N, T, C)
        return losses.ctc_loss(
            fnp.transpose(log_probs, (1, 0, 2)), targets, frame_counts, label_counts, blank=BLANK
        )

    step = make_step(ctc, optimizer)
    decode = funcgrad.jit(lambda params, x, counts: greedy_decode(net.apply_fun(params, x), counts))

    def exact_match(params) -> tuple[float, list]:
        best, keep = (np.asarray(a) for a in decode(params, x_test, f_test))
        decoded = [b[k].tolist() for b, k in zip(best, keep)]
        right = [d == t[:n].tolist() for d, t, n in zip(decoded, t_test, l_test)]
        return float(np.mean(right)), decoded

    history = {"steps": [], "ctc train loss": [], "ctc test accuracy": []}
    recent = []
    for i in range(1, args.ctc_steps + 1):
        batch = alignment_task(rng, args.batch_size, **task)
        params, opt_state, loss = step(params, opt_state, *batch)
        recent.append(float(loss))
        if i % args.eval_every == 0 or i == args.ctc_steps:
            history["steps"].append(i)
            history["ctc train loss"].append(float(np.mean(recent)))
            history["ctc test accuracy"].append(exact_match(params)[0])
            print(f"ctc     step {i:4d}  train loss {np.mean(recent):.4f}  "
                  f"exact-match accuracy {history['ctc test accuracy'][-1]:.3f}")  # fmt: skip
            recent = []
    accuracy, decoded = exact_match(params)
    for n in range(3):
        print(
            f"  frames {f_test[n]:2d}  target {t_test[n, : l_test[n]].tolist()}  decoded {decoded[n]}"
        )
    print(f"CTC: {accuracy:.3f} of {len(l_test)} test sequences decoded exactly")
    return {"test_accuracy": accuracy, **history}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=800, help="adding-problem steps")
    parser.add_argument("--length", type=int, default=30, help="adding-problem sequence length")
    parser.add_argument("--ctc-steps", type=int, default=300)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/sequence", help="where curves.png goes")
    args = parser.parse_args(argv)

    key_adding, key_ctc = random.split(random.key(args.seed))
    # each task its own data stream, so that one task's budget does not change the other's data
    adding = train_adding(args, key_adding, np.random.default_rng([args.seed, 0]))
    ctc = train_ctc(args, key_ctc, np.random.default_rng([args.seed, 1]))

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    curves = {
        name: run[name]
        for run in (adding, ctc)
        for name in run
        if name.startswith(("adding ", "ctc "))
    }
    steps = {name: (adding if name.startswith("adding") else ctc)["steps"] for name in curves}
    plots.plot_curves(curves, out / "curves.png", steps=steps, xlabel="step",
                      title="LSTM adding problem, GRU + CTC alignment")  # fmt: skip
    print(f"curves in {out / 'curves.png'}")
    return {"adding": adding, "ctc": ctc, "out": out}


if __name__ == "__main__":
    main()
