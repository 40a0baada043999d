"""LeNet: a jitted SGD step of a small CNN against a hand-written NumPy im2col step.

The network (issue 5): batch 64 of 28x28x1 images (NHWC, float32); 5x5 convolution to
6 channels, relu, 2x2 average pooling, 5x5 convolution to 16 channels, relu, 2x2
average pooling, dense 256-120-84-10 (relu between), softmax cross-entropy averaged
over the batch; plain SGD. funcgrad's step is ``jit`` of value-and-grad and update,
using ``funcgrad.lax.conv_general_dilated`` (NHWC/HWIO) and ``funcgrad.lax.avg_pool``.
The NumPy step is written by hand: im2col through a strided view and one matmul per
convolution, col2im by 25 shifted slice additions, pooling by reshapes.

Target: funcgrad at least 2x faster than the hand-written step (JAX's jit was measured
at about 2.3x, PyTorch with oneDNN about 4x). Run with ``python -m tests.benchmarks.lenet``
(``--profile`` also prints the generated code of the step).
"""

from __future__ import annotations

import sys

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax, nn
from tests.benchmarks.timing import best_times_interleaved

BATCH, LR = 64, 0.1
SHAPES = {
    "c1": (5, 5, 1, 6),
    "c2": (5, 5, 6, 16),
    "d1": (256, 120),
    "d2": (120, 84),
    "d3": (84, 10),
}


def init(seed: int = 0):
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in SHAPES.items():
        fan_in = int(np.prod(shape[:-1]))
        params[name] = {
            "w": (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32),
            "b": (rng.standard_normal(shape[-1]) * 0.01).astype(np.float32),
        }
    x = rng.standard_normal((BATCH, 28, 28, 1)).astype(np.float32)
    onehot = np.eye(10, dtype=np.float32)[rng.integers(0, 10, BATCH)]
    return params, x, onehot


# --- funcgrad -------------------------------------------------------------------------

_DN = ("NHWC", "HWIO", "NHWC")


def _conv(x, p):
    y = lax.conv_general_dilated(x, p["w"], (1, 1), "VALID", dimension_numbers=_DN)
    return y + p["b"]


def loss_fn(params, x, onehot):
    # nn.relu: one comparison in its derivative (fnp.maximum's splits ties: three passes)
    h = lax.avg_pool(nn.relu(_conv(x, params["c1"])), (2, 2), (2, 2))
    h = lax.avg_pool(nn.relu(_conv(h, params["c2"])), (2, 2), (2, 2))
    h = h.reshape(h.shape[0], -1)
    h = nn.relu(h @ params["d1"]["w"] + params["d1"]["b"])
    h = nn.relu(h @ params["d2"]["w"] + params["d2"]["b"])
    logits = h @ params["d3"]["w"] + params["d3"]["b"]
    shifted = logits - fnp.max(logits, axis=1, keepdims=True)
    logp = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=1, keepdims=True))
    return -fnp.sum(logp * onehot) / x.shape[0]


@funcgrad.jit
def funcgrad_step(params, x, onehot):
    loss, grads = funcgrad.value_and_grad(loss_fn)(params, x, onehot)
    new = funcgrad.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)
    return new, loss


# --- NumPy by hand -----------------------------------------------------------------------


def _im2col(x, kh, kw):
    """(N, H, W, C) -> (N * OH * OW, KH * KW * C) rows of windows (VALID, stride 1)."""
    n, h, w, c = x.shape
    oh, ow = h - kh + 1, w - kw + 1
    s = x.strides
    view = np.lib.stride_tricks.as_strided(
        x, (n, oh, ow, kh, kw, c), (s[0], s[1], s[2], s[1], s[2], s[3]), writeable=False
    )
    return view.reshape(n * oh * ow, kh * kw * c), (n, oh, ow)


def _col2im(dcols, x_shape, kh, kw):
    n, h, w, c = x_shape
    oh, ow = h - kh + 1, w - kw + 1
    d = dcols.reshape(n, oh, ow, kh, kw, c)
    dx = np.zeros(x_shape, dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, i : i + oh, j : j + ow, :] += d[:, :, :, i, j, :]
    return dx


def _pool(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def _pool_back(d):
    n, h, w, c = d.shape
    g = np.broadcast_to((d * 0.25)[:, :, None, :, None, :], (n, h, 2, w, 2, c))
    return g.reshape(n, 2 * h, 2 * w, c)


def numpy_step(params, x, onehot):
    c1, c2 = params["c1"], params["c2"]
    # forward
    cols1, (n, oh1, ow1) = _im2col(x, 5, 5)
    z1 = cols1 @ c1["w"].reshape(-1, 6) + c1["b"]
    a1 = np.maximum(z1, 0).reshape(n, oh1, ow1, 6)
    p1 = _pool(a1)
    cols2, (_, oh2, ow2) = _im2col(p1, 5, 5)
    z2 = cols2 @ c2["w"].reshape(-1, 16) + c2["b"]
    a2 = np.maximum(z2, 0).reshape(n, oh2, ow2, 16)
    p2 = _pool(a2)
    f = p2.reshape(n, -1)
    z3 = f @ params["d1"]["w"] + params["d1"]["b"]
    a3 = np.maximum(z3, 0)
    z4 = a3 @ params["d2"]["w"] + params["d2"]["b"]
    a4 = np.maximum(z4, 0)
    logits = a4 @ params["d3"]["w"] + params["d3"]["b"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    loss = -np.sum((shifted - np.log(s)) * onehot) / n
    # backward
    dlogits = (e / s - onehot) / n
    g = {}
    g["d3"] = {"w": a4.T @ dlogits, "b": dlogits.sum(0)}
    da4 = dlogits @ params["d3"]["w"].T
    dz4 = da4 * (z4 > 0)
    g["d2"] = {"w": a3.T @ dz4, "b": dz4.sum(0)}
    dz3 = (dz4 @ params["d2"]["w"].T) * (z3 > 0)
    g["d1"] = {"w": f.T @ dz3, "b": dz3.sum(0)}
    dp2 = (dz3 @ params["d1"]["w"].T).reshape(p2.shape)
    dz2 = _pool_back(dp2).reshape(-1, 16) * (z2 > 0)
    g["c2"] = {"w": (cols2.T @ dz2).reshape(c2["w"].shape), "b": dz2.sum(0)}
    dp1 = _col2im(dz2 @ c2["w"].reshape(-1, 16).T, p1.shape, 5, 5)
    dz1 = _pool_back(dp1).reshape(-1, 6) * (z1 > 0)
    g["c1"] = {"w": (cols1.T @ dz1).reshape(c1["w"].shape), "b": dz1.sum(0)}
    new = {k: {n_: params[k][n_] - np.float32(LR) * g[k][n_] for n_ in ("w", "b")} for k in params}
    return new, loss


# --- the comparison -------------------------------------------------------------------


def main() -> None:
    params_np, x_np, onehot_np = init()
    params = funcgrad.tree_util.tree_map(fnp.asarray, params_np)
    x, onehot = fnp.asarray(x_np), fnp.asarray(onehot_np)

    new_fg, loss_fg = funcgrad_step(params, x, onehot)
    new_np, loss_np = numpy_step(params_np, x_np, onehot_np)
    np.testing.assert_allclose(float(loss_fg), loss_np, rtol=1e-5)
    for k in params_np:
        for n in ("w", "b"):
            np.testing.assert_allclose(np.asarray(new_fg[k][n]), new_np[k][n], rtol=1e-4,
                                       atol=1e-6, err_msg=f"{k}.{n}")  # fmt: skip
    print(f"first step: loss {float(loss_fg):.6f} (NumPy {loss_np:.6f}); updated parameters agree")

    t_fg, t_np = best_times_interleaved(
        [lambda: funcgrad_step(params, x, onehot), lambda: numpy_step(params_np, x_np, onehot_np)],
        number=10,
        repeat=30,
    )
    print(f"LeNet SGD step, batch {BATCH}, float32: funcgrad jit {t_fg * 1e3:.2f} ms, "
          f"NumPy im2col by hand {t_np * 1e3:.2f} ms: speedup of funcgrad {t_np / t_fg:.2f}x "
          f"(target >= 2x)")  # fmt: skip
    if "--profile" in sys.argv:
        print(funcgrad_step.lower(params, x, onehot).as_text())
        profile(params, x, onehot)


def profile(params, x, onehot, repeat: int = 20) -> None:
    """Time each equation of the step's optimised program through its primitive's impl
    (the generated code inlines elementwise operations, so those read a bit high)."""
    import functools
    import timeit

    from funcgrad._src.core import current_backend
    from funcgrad._src.interpreters import optimize
    from funcgrad._src.ir import Literal

    closed = optimize.optimize_for_execution(funcgrad.make_jaxpr(funcgrad_step)(params, x, onehot))
    backend = current_backend()
    leaves = funcgrad.tree_util.tree_leaves((params, x, onehot))
    env = {v: a._buffer for v, a in zip(closed.jaxpr.invars, leaves)}
    env.update((v, getattr(c, "_buffer", c)) for v, c in zip(closed.jaxpr.constvars, closed.consts))
    rows, total = [], 0.0
    for eqn in closed.jaxpr.eqns:
        args = [a.val if isinstance(a, Literal) else env[a] for a in eqn.inputs]
        outs = eqn.primitive.impl(backend, *args, **eqn.params)
        call = functools.partial(eqn.primitive.impl, backend, *args, **eqn.params)
        t = min(timeit.repeat(call, number=repeat, repeat=3)) / repeat
        env.update(zip(eqn.outputs, outs))
        total += t
        rows.append((t, eqn.primitive.name, [getattr(a, "shape", ()) for a in args],
                     [o.shape for o in outs], eqn.params.get("padding")))  # fmt: skip
    print(f"per-equation impl times (sum {total * 1e3:.2f} ms), the largest:")
    for t, name, ins, outs, pad in sorted(rows, key=lambda r: -r[0])[:12]:
        print(f"  {t * 1e3:6.2f} ms {name} {ins} -> {outs}" + (f" padding={pad}" if pad else ""))


if __name__ == "__main__":
    main()
