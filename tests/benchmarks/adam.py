"""Benchmark: one Adam update (``update`` + ``apply_updates``) over ResNet-18's parameters.

11,689,512 float32 parameters in ResNet-18's 62 shapes (convolutions HWIO, batch-norm
scales and offsets, the 512x1000 classifier). Compares, in one run:

- the jitted ``transforms.adam`` step, with the params and state donated (a training
  loop's usage) and without donation;
- the same update written by hand with in-place NumPy ufuncs (``out=``), one scratch
  buffer, the floor for a NumPy implementation;
- the eager (un-jitted) ``transforms.adam`` step.

Peak memory above the live params, gradients and state is measured with tracemalloc
(NumPy reports its buffers to it), in units of one copy of the params.

Run: ``python -m tests.benchmarks.adam`` (``--quick`` for fewer repeats).
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
import transforms
from funcgrad import tree_util
from tests.benchmarks.timing import best_times_interleaved

LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-8


def resnet18_shapes() -> dict[str, tuple[int, ...]]:
    """Parameter shapes of torchvision's ResNet-18 (HWIO convolutions), by name."""
    shapes = {"conv1": (7, 7, 3, 64), "bn1.scale": (64,), "bn1.bias": (64,)}
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512], start=1):
        for block in range(2):
            name = f"layer{stage}.{block}"
            first_in = cin if block == 0 else cout
            shapes[f"{name}.conv1"] = (3, 3, first_in, cout)
            shapes[f"{name}.bn1.scale"] = shapes[f"{name}.bn1.bias"] = (cout,)
            shapes[f"{name}.conv2"] = (3, 3, cout, cout)
            shapes[f"{name}.bn2.scale"] = shapes[f"{name}.bn2.bias"] = (cout,)
            if block == 0 and first_in != cout:
                shapes[f"{name}.downsample"] = (1, 1, first_in, cout)
                shapes[f"{name}.downsample_bn.scale"] = (cout,)
                shapes[f"{name}.downsample_bn.bias"] = (cout,)
        cin = cout
    shapes["fc.w"] = (512, 1000)
    shapes["fc.b"] = (1000,)
    return shapes


def make_params(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        k: rng.standard_normal(s, dtype=np.float32) * 0.05 for k, s in resnet18_shapes().items()
    }


class NumpyAdam:
    """Adam by hand: in-place ufuncs with ``out=`` and one scratch buffer, float32."""

    def __init__(self, params):
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self.count = 0
        self.scratch = np.empty(max(p.size for p in params.values()), np.float32)

    def step(self, params, grads):
        self.count += 1
        bc1 = np.float32(1 - B1**self.count)
        bc2 = np.float32(1 - B2**self.count)
        for k, p in params.items():
            g, m, v = grads[k], self.m[k], self.v[k]
            tmp = self.scratch[: p.size].reshape(p.shape)
            m *= np.float32(B1)  # m = b1 m + (1 - b1) g
            np.multiply(g, np.float32(1 - B1), out=tmp)
            m += tmp
            v *= np.float32(B2)  # v = b2 v + (1 - b2) g^2
            np.multiply(g, g, out=tmp)
            tmp *= np.float32(1 - B2)
            v += tmp
            np.divide(v, bc2, out=tmp)  # p -= lr (m / bc1) / (sqrt(v / bc2) + eps)
            np.sqrt(tmp, out=tmp)
            tmp += np.float32(EPS)
            np.divide(m, tmp, out=tmp)
            tmp *= np.float32(-LR / bc1)
            p += tmp


def _peak_extra(fn, nbytes: int) -> float:
    """Peak bytes allocated by ``fn()`` above what was live before it, in params copies."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    out = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del out
    return (peak - before) / nbytes


def main(quick: bool = False) -> None:
    params_np = make_params(0)
    grads_np = {k: v * 0.1 + 0.01 for k, v in make_params(1).items()}
    n = sum(p.size for p in params_np.values())
    nbytes = 4 * n
    print(
        f"ResNet-18 parameters: {n:,} float32 in {len(params_np)} arrays ({nbytes / 2**20:.1f} MiB)"
    )

    tx = transforms.adam(LR, b1=B1, b2=B2, eps=EPS)

    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return transforms.apply_updates(params, updates), state

    step_donated = funcgrad.jit(step, donate_argnums=(0, 1))
    step_jit = funcgrad.jit(step)

    grads = tree_util.tree_map(fnp.asarray, grads_np)
    params = tree_util.tree_map(lambda x: fnp.asarray(x.copy()), params_np)
    state = tx.init(params)

    # Correctness first: three jitted steps equal three NumPy steps (float32 rounding).
    ref_params = {k: v.copy() for k, v in params_np.items()}
    ref = NumpyAdam(ref_params)
    for _ in range(3):
        params, state = step_donated(params, state, grads)
        ref.step(ref_params, grads_np)
    worst = max(float(np.max(np.abs(np.asarray(params[k]) - ref_params[k]))) for k in ref_params)
    assert all(params[k].dtype == fnp.float32 for k in params), "params left float32"
    print(f"max |jit - numpy| after 3 steps: {worst:.2e}")
    assert worst < 1e-6, worst

    holder = {"p": params, "s": state}

    def run_donated():
        holder["p"], holder["s"] = step_donated(holder["p"], holder["s"], grads)

    held = {"p": tree_util.tree_map(lambda x: x, params), "s": state}
    p_nd = tree_util.tree_map(lambda x: fnp.asarray(np.asarray(x).copy()), params)
    s_nd = tx.init(p_nd)

    def run_jit():
        step_jit(p_nd, s_nd, grads)

    def run_numpy():
        ref.step(ref_params, grads_np)

    e_params = tree_util.tree_map(lambda x: fnp.asarray(np.asarray(x).copy()), params)
    e_state = tx.init(e_params)

    def run_eager():
        step(e_params, e_state, grads)

    del held
    repeat = 3 if quick else 7
    t_don, t_jit, t_np, t_eager = best_times_interleaved(
        [run_donated, run_jit, run_numpy, run_eager], number=1, repeat=repeat
    )
    print(f"jitted adam step, donated    : {t_don * 1e3:8.1f} ms  ({t_don / t_np:.2f}x numpy)")
    print(f"jitted adam step, not donated: {t_jit * 1e3:8.1f} ms  ({t_jit / t_np:.2f}x numpy)")
    print(f"numpy in-place ufuncs (out=) : {t_np * 1e3:8.1f} ms")
    print(f"eager adam step              : {t_eager * 1e3:8.1f} ms  ({t_eager / t_np:.2f}x numpy)")

    m_don = _peak_extra(lambda: run_donated(), nbytes)
    m_jit = _peak_extra(lambda: step_jit(p_nd, s_nd, grads), nbytes)
    m_np = _peak_extra(run_numpy, nbytes)
    m_eager = _peak_extra(lambda: step(e_params, e_state, grads), nbytes)
    print("peak memory above the live params/grads/state, in copies of the params:")
    print(
        f"  jitted, donated {m_don:.2f} | jitted, not donated {m_jit:.2f} (its outputs are "
        f"3 new copies) | numpy {m_np:.2f} | eager {m_eager:.2f}"
    )
    print(
        f"target: jitted donated within 1.5x of numpy: {'met' if t_don <= 1.5 * t_np else 'NOT met'}; "
        f"peak <= 2 copies: {'met' if m_don <= 2.0 else 'NOT met'}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    main(parser.parse_args().quick)
