"""stax.data's costs against the work around them, in one run.

* Shuffled batches of 128 over digits-sized (1797x64) and MNIST-sized (60000x784)
  float32 data: the time to make one batch, as a share of a jitted 784-512-512-10 MLP
  SGD step (target: under 5%).
* Random crop (padding 4) + horizontal flip + normalize on a batch of 256 32x32x3
  images, jitted, against the same done with NumPy indexing.

Run: ``python -m tests.benchmarks.data``.
"""

from __future__ import annotations

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import random
from stax import data
from tests.benchmarks.mlp import mlp_setup, sgd_step
from tests.benchmarks.timing import best_time, best_times_interleaved


def _batch_cost(x: np.ndarray, y: np.ndarray, batch: int = 128) -> float:
    """Seconds per batch of one shuffled epoch (the key's permutation included)."""
    n_batches = data.num_batches(len(x), batch, drop_last=True)

    def epoch():
        for _ in data.batches((x, y), batch, key=random.key(0), drop_last=True):
            pass

    return best_time(epoch, number=1, repeat=5) / n_batches


def _mlp_step_time() -> float:
    ws, bs, xb, onehot = mlp_setup()
    params = [{"w": fnp.asarray(w), "b": fnp.asarray(b)} for w, b in zip(ws, bs)]
    xb, onehot = fnp.asarray(xb), fnp.asarray(onehot)
    state = {"params": params}

    def step():
        state["params"], _ = sgd_step(state["params"], xb, onehot)

    return best_time(step, number=20)


def _numpy_augment(rng, images, mean, std):
    """Crop with zero padding 4 at random corners, flip half, normalize: NumPy indexing."""
    n, h, w, _ = images.shape
    padded = np.pad(images, ((0, 0), (4, 4), (4, 4), (0, 0)))
    tops = rng.integers(0, 9, n)
    lefts = rng.integers(0, 9, n)
    rows = tops[:, None] + np.arange(h)
    cols = lefts[:, None] + np.arange(w)
    flip = rng.random(n) < 0.5
    cols = np.where(flip[:, None], cols[:, ::-1], cols)
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return (out - mean) / std


def main() -> None:
    step = _mlp_step_time()
    print(f"jitted MLP SGD step (784-512-512-10, batch 128): {step * 1e3:.3f} ms")
    rng = np.random.default_rng(0)
    for name, n, d in (("digits-sized 1797x64", 1797, 64), ("MNIST-sized 60000x784", 60000, 784)):
        x = rng.standard_normal((n, d)).astype(np.float32)
        y = rng.integers(0, 10, n).astype(np.int32)
        cost = _batch_cost(x, y)
        print(f"  batches of 128 over {name}: {cost * 1e6:.1f} us per batch = {cost / step:.1%} of the step")

    images = rng.uniform(0, 1, (256, 32, 32, 3)).astype(np.float32)
    mean = np.array([0.49, 0.48, 0.45], np.float32)
    std = np.array([0.25, 0.24, 0.26], np.float32)
    pipeline = data.compose(
        [data.random_crop(32, padding=4), data.random_horizontal_flip(), data.normalize(mean, std)]
    )
    augment = funcgrad.jit(lambda key, batch: data.apply_to_batch(pipeline, key, batch))
    device_images = fnp.asarray(images)
    ours, numpy_time = best_times_interleaved(
        [
            lambda: augment(random.key(1), device_images),
            lambda: _numpy_augment(rng, images, mean, std),
        ],
        number=5,
    )
    print(
        f"crop+flip+normalize, 256 32x32x3 images: jitted {ours * 1e3:.2f} ms, "
        f"NumPy indexing {numpy_time * 1e3:.2f} ms, ratio {ours / numpy_time:.2f}x"
    )


if __name__ == "__main__":
    main()
