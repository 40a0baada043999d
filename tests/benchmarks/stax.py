"""stax: a jitted training step of a stax network against the same network written by hand.

Two networks, each run as ``jit`` of (forward, backward, SGD update) in the same process,
timed alternately (best of several rounds):

* ``lenet``: batch 64 of 28x28x1 (NHWC, float32); Conv(6, 5x5), Relu, AvgPool 2x2,
  Conv(16, 5x5), Relu, AvgPool 2x2, Flatten, Dense 120, Relu, Dense 84, Relu, Dense 10,
  softmax cross-entropy.
* ``resnet``: batch 32 of 32x32x3; Conv(16, 3x3) + BatchNorm + Relu, two residual
  blocks (Conv-BN-Relu-Conv-BN, FanInSum skip, Relu; the second with stride 2 and a
  1x1 projection), global average pooling, Dense 10. BatchNorm in training mode with its
  running statistics threaded as state.

The hand-written versions call ``funcgrad.numpy`` / ``funcgrad.lax`` directly with the
same parameter layout. Target: the stax step within 5% of the hand-written one (the
layer library adds nothing under jit). Run ``python -m tests.benchmarks.stax``.
"""

from __future__ import annotations

import re
import time

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
import stax
from funcgrad import lax, random
from tests.benchmarks.timing import best_times_interleaved

LR = 0.05
DN = ("NHWC", "HWIO", "NHWC")


def _cross_entropy(logits, onehot):
    shifted = logits - fnp.max(logits, axis=1, keepdims=True)
    logp = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=1, keepdims=True))
    return -fnp.sum(logp * onehot) / logits.shape[0]


def _sgd(params, grads):
    return funcgrad.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)


def _to32(tree):
    return funcgrad.tree_util.tree_map(lambda a: fnp.asarray(np.asarray(a, np.float32)), tree)


# --- LeNet ---------------------------------------------------------------------------------

LENET = stax.serial(
    stax.Conv(6, (5, 5)), stax.Relu, stax.AvgPool((2, 2), (2, 2)),
    stax.Conv(16, (5, 5)), stax.Relu, stax.AvgPool((2, 2), (2, 2)),
    stax.Flatten, stax.Dense(120), stax.Relu, stax.Dense(84), stax.Relu, stax.Dense(10),
)  # fmt: skip


def lenet_by_hand(params, x):
    def conv(x, p):
        return lax.conv_general_dilated(x, p[0], (1, 1), "VALID", dimension_numbers=DN) + p[1]

    relu = funcgrad.nn.relu  # what stax.Relu applies
    h = lax.avg_pool(relu(conv(x, params[0])), (2, 2), (2, 2))
    h = lax.avg_pool(relu(conv(h, params[3])), (2, 2), (2, 2))
    h = fnp.reshape(h, (h.shape[0], -1))
    h = relu(fnp.dot(h, params[7][0]) + params[7][1])
    h = relu(fnp.dot(h, params[9][0]) + params[9][1])
    return fnp.dot(h, params[11][0]) + params[11][1]


# --- ResNet-like ---------------------------------------------------------------------------


def _conv_bn(out, k, strides=(1, 1)):
    return [stax.Conv(out, (k, k), strides, "SAME", use_bias=False), stax.BatchNorm()]


def _block(out, strides):
    main = stax.serial(*_conv_bn(out, 3, strides), stax.Relu, *_conv_bn(out, 3))
    skip = stax.serial(*_conv_bn(out, 1, strides)) if strides != (1, 1) else stax.Identity
    return stax.serial(stax.FanOut(2), stax.parallel(main, skip), stax.FanInSum, stax.Relu)


RESNET = stax.serial(
    *_conv_bn(16, 3), stax.Relu, _block(16, (1, 1)), _block(32, (2, 2)),
    stax.GlobalAvgPool, stax.Dense(10),
)  # fmt: skip


def _bn_by_hand(x, params, state, momentum=0.1, eps=1e-5):
    beta, gamma = params
    mean = fnp.mean(x, axis=(0, 1, 2))
    centered = x - mean
    var = fnp.mean(centered * centered, axis=(0, 1, 2))
    n = x.shape[0] * x.shape[1] * x.shape[2]
    y = centered * lax.rsqrt(var + eps) * gamma + beta
    batch_mean = lax.stop_gradient(mean)
    batch_var = lax.stop_gradient(var) * (n / (n - 1))  # unbiased, as PyTorch
    new = stax.BatchNormState(
        (1 - momentum) * state.mean + momentum * batch_mean,
        (1 - momentum) * state.var + momentum * batch_var,
        state.count + 1,
    )
    return y, new


def _conv_by_hand(x, w, strides=(1, 1)):
    return lax.conv_general_dilated(x, w, strides, "SAME", dimension_numbers=DN)


def resnet_by_hand(params, state, x):
    relu = funcgrad.nn.relu
    new = list(state)
    h, new[1] = _bn_by_hand(_conv_by_hand(x, params[0][0]), params[1], state[1])
    h = relu(h)
    for i, strides in ((3, (1, 1)), (4, (2, 2))):
        p, s = params[i][1], list(state[i][1])
        (mp, sp), (ms, ss) = p, s
        a, bn1 = _bn_by_hand(_conv_by_hand(h, mp[0][0], strides), mp[1], ms[1])
        a, bn2 = _bn_by_hand(_conv_by_hand(relu(a), mp[3][0]), mp[4], ms[4])
        main_state = [(), bn1, (), (), bn2]
        if strides == (1, 1):
            skip, skip_state = h, ()
        else:
            skip, bn3 = _bn_by_hand(_conv_by_hand(h, sp[0][0], strides), sp[1], ss[1])
            skip_state = [(), bn3]
        h = relu(a + skip)
        new[i] = [(), (main_state, skip_state), (), ()]
    h = fnp.mean(h, axis=(1, 2))
    return fnp.dot(h, params[6][0]) + params[6][1], new


# --- steps ---------------------------------------------------------------------------------


def _stateful_step(loss_fn):
    """A jitted SGD step ``(params, state, x, y) -> (params, state, loss)`` of a loss with
    state, ``loss_fn(params, state, x, y) -> (loss, state)``."""

    @funcgrad.jit
    def step(p, s, x, y):
        (loss, s), g = funcgrad.value_and_grad(loss_fn, has_aux=True)(p, s, x, y)
        return _sgd(p, g), s, loss

    return step


def make_steps():
    rng = np.random.default_rng(0)
    _, lenet_params = LENET[0](random.key(0), (-1, 28, 28, 1))
    lenet_params = _to32(lenet_params)
    x1 = fnp.asarray(rng.standard_normal((64, 28, 28, 1)).astype(np.float32))
    y1 = fnp.asarray(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)])

    @funcgrad.jit
    def lenet_stax(params, x, y):
        loss, g = funcgrad.value_and_grad(lambda p: _cross_entropy(LENET[1](p, x), y))(params)
        return _sgd(params, g), loss

    @funcgrad.jit
    def lenet_hand(params, x, y):
        loss, g = funcgrad.value_and_grad(lambda p: _cross_entropy(lenet_by_hand(p, x), y))(params)
        return _sgd(params, g), loss

    _, res_params = RESNET[0](random.key(1), (-1, 32, 32, 3))
    _, res_state = RESNET.init_state((-1, 32, 32, 3))
    res_params, res_state = _to32(res_params), _to32(res_state)
    x2 = fnp.asarray(rng.standard_normal((32, 32, 32, 3)).astype(np.float32))
    y2 = fnp.asarray(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)])

    def res_loss_stax(p, s, x, y):
        logits, s = RESNET.apply_with_state(p, s, x, is_training=True)
        return _cross_entropy(logits, y), s

    def res_loss_hand(p, s, x, y):
        logits, s = resnet_by_hand(p, s, x)
        return _cross_entropy(logits, y), s

    return {
        "lenet": (lenet_stax, lenet_hand, (lenet_params, x1, y1)),
        "resnet": (
            _stateful_step(res_loss_stax),
            _stateful_step(res_loss_hand),
            (res_params, res_state, x2, y2),
        ),
    }


def _canonical_jaxpr(step, args) -> str:
    """The step's jaxpr with variables renamed in order of appearance (and no names)."""
    text = str(funcgrad.make_jaxpr(step)(*args)).replace("_stax", "").replace("_hand", "")
    names: dict[str, str] = {}
    return re.sub(
        r"\b[a-z]{1,3}\b(?=[:\s,)\]]|$)",
        lambda m: names.setdefault(m.group(0), f"v{len(names)}"),
        text,
    )


def check_same(steps) -> None:
    """Both versions compute the same step (same loss and updated params)."""
    for name, (a, b, args) in steps.items():
        same_program = _canonical_jaxpr(a, args) == _canonical_jaxpr(b, args)
        print(
            f"{name}: the stax step's jaxpr {'equals' if same_program else 'DIFFERS from'} the hand-written one's"
        )
        out_a, out_b = a(*args), b(*args)
        for u, v in zip(
            funcgrad.tree_util.tree_leaves(out_a), funcgrad.tree_util.tree_leaves(out_b)
        ):
            np.testing.assert_allclose(
                np.asarray(u), np.asarray(v), rtol=2e-4, atol=1e-5, err_msg=name
            )


def main() -> None:
    t0 = time.perf_counter()
    steps = make_steps()
    for name, (stax_step, hand_step, args) in steps.items():
        start = time.perf_counter()
        stax_step(*args)
        first = time.perf_counter() - start
        hand_step(*args)
        # both orders: the first function of an interleaved pair measures slightly slower
        run_stax, run_hand = (lambda: stax_step(*args)), (lambda: hand_step(*args))
        a = best_times_interleaved([run_stax, run_hand], number=3, repeat=5)
        b = best_times_interleaved([run_hand, run_stax], number=3, repeat=5)
        t_stax, t_hand = min(a[0], b[1]), min(a[1], b[0])
        print(f"{name}: stax step {t_stax * 1e3:.1f} ms, by hand {t_hand * 1e3:.1f} ms, "
              f"ratio {t_stax / t_hand:.3f}; stax first call (trace + compile + run) {first:.2f} s")  # fmt: skip
    check_same(steps)
    print(f"steps agree; total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
