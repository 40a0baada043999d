"""ResNet-18: a jitted training step of ``stax.models.resnet18`` and of the same network by hand.

Batch 32 of 32x32x3 images (NHWC, float32), 10 classes, softmax cross-entropy, plain
SGD; BatchNorm in training mode with its running statistics threaded as state. Two
stems (see ``stax.models.ResNet``):

* ``cifar``: 3x3/1 convolution, no max-pool, so the four stages run at 32, 16, 8 and 4
  pixels (the usual CIFAR ResNet-18; about 0.56 GFLOPs per image forward);
* ``imagenet``: torchvision's 7x7/2 convolution and 3x3/2 max-pool, so the stages run at
  8, 4, 2 and 1 pixels (about 13x cheaper).

For each: the first call (trace + compile + run) and the median step time of the stax
step, and the same step written directly with ``funcgrad.numpy`` / ``funcgrad.lax`` on
the same params (the ratio shows what the layer library costs under jit; the two
steps' results are checked equal). A NumPy-only ResNet-18 training step (hand-written
backward of convolutions and BatchNorm) is not included.

Run ``python -m tests.benchmarks.resnet [cifar|imagenet ...] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
import stax
from funcgrad import lax, random
from tests.benchmarks.stax import (
    DN,
    _bn_by_hand,
    _canonical_jaxpr,
    _cross_entropy,
    _stateful_step,
    _to32,
)

# --- the same network by hand ---------------------------------------------------------------


def _conv(x, w, stride):
    pad = w.shape[0] // 2  # PyTorch's padding k // 2
    return lax.conv_general_dilated(
        x, w, (stride, stride), [(pad, pad), (pad, pad)], dimension_numbers=DN
    )


def _block(x, params, state, stride):
    relu = funcgrad.nn.relu
    (main, skip), (main_s, skip_s) = params[1], state[1]
    h, s1 = _bn_by_hand(_conv(x, main[0][0], stride), main[1], main_s[1])
    h, s2 = _bn_by_hand(_conv(relu(h), main[3][0], 1), main[4], main_s[4])
    new_main = [(), s1, (), (), s2]
    if skip == ():
        sk, new_skip = x, ()
    else:
        sk, s3 = _bn_by_hand(_conv(x, skip[0][0], stride), skip[1], skip_s[1])
        new_skip = [(), s3]
    return relu(h + sk), [(), (new_main, new_skip), (), ()]


def resnet18_by_hand(params, state, x, stem):
    relu = funcgrad.nn.relu
    new = list(state)
    if stem == "imagenet":
        h, new[1] = _bn_by_hand(_conv(x, params[0][0], 2), params[1], state[1])
        h = lax.max_pool(relu(h), (3, 3), (2, 2), [(1, 1), (1, 1)])
        first = 4
    else:
        h, new[1] = _bn_by_hand(_conv(x, params[0][0], 1), params[1], state[1])
        h = relu(h)
        first = 3
    for i in range(8):
        stride = 2 if i in (2, 4, 6) else 1
        h, new[first + i] = _block(h, params[first + i], state[first + i], stride)
    h = fnp.mean(h, axis=(1, 2))
    W, b = params[first + 9]
    return fnp.dot(h, W) + b, new


# --- steps ---------------------------------------------------------------------------------


def make_steps(stem: str, batch: int = 32):
    net = stax.models.resnet18(10, stem=stem)
    shape = (-1, 32, 32, 3)
    _, params = net.init_fun(random.key(0), shape)
    _, state = net.init_state(shape)
    params, state = _to32(params), _to32(state)
    rng = np.random.default_rng(0)
    x = fnp.asarray(rng.standard_normal((batch, 32, 32, 3)).astype(np.float32))
    y = fnp.asarray(np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)])

    def loss_stax(p, s, x, y):
        logits, s = net.apply_with_state(p, s, x, is_training=True)
        return _cross_entropy(logits, y), s

    def loss_hand(p, s, x, y):
        logits, s = resnet18_by_hand(p, s, x, stem)
        return _cross_entropy(logits, y), s

    return _stateful_step(loss_stax), _stateful_step(loss_hand), (params, state, x, y)


def _time(step, args, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        funcgrad.block_until_ready(step(*args))
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stems", nargs="*", default=["cifar", "imagenet"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    backend = fnp.zeros(1).backend
    print(f"backend {backend}; batch 32 of 32x32x3 float32, 10 classes")
    for stem in args.stems:
        stax_step, hand_step, step_args = make_steps(stem)
        same = _canonical_jaxpr(stax_step, step_args) == _canonical_jaxpr(hand_step, step_args)
        print(
            f"{stem} stem: the stax step's jaxpr {'equals' if same else 'DIFFERS from'} the hand-written one's"
        )
        start = time.perf_counter()
        out_stax = funcgrad.block_until_ready(stax_step(*step_args))
        first = time.perf_counter() - start
        start = time.perf_counter()
        out_hand = funcgrad.block_until_ready(hand_step(*step_args))
        first_hand = time.perf_counter() - start
        for u, v in zip(
            funcgrad.tree_util.tree_leaves(out_stax), funcgrad.tree_util.tree_leaves(out_hand)
        ):
            np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=2e-3, atol=1e-4)
        # alternate the two so that a change of machine load hits both
        t_stax, t_hand = [], []
        for _ in range(args.repeat):
            t_stax += _time(stax_step, step_args, 1)
            t_hand += _time(hand_step, step_args, 1)
        ms, mh = statistics.median(t_stax), statistics.median(t_hand)
        print(
            f"resnet18 ({stem} stem): stax step median {ms * 1e3:.0f} ms "
            f"(min {min(t_stax) * 1e3:.0f}), by hand {mh * 1e3:.0f} ms (min {min(t_hand) * 1e3:.0f}), "
            f"ratio {ms / mh:.3f}; first call stax {first:.1f} s, by hand {first_hand:.1f} s; "
            f"loss {float(out_stax[2]):.4f} (same in both)"
        )


if __name__ == "__main__":
    main()
