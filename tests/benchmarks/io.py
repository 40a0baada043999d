"""funcgrad.io: saving and loading a ~100 MB checkpoint against np.save / np.load.

Target (issue 15), measured in this one process: `funcgrad.io.save` and `funcgrad.io.load`
of a ~100 MB pytree (ResNet-18 float32 parameters with BatchNorm statistics, plus an
SGD-momentum trace of the same shapes, a step count and a random key) within 1.5x of
`np.save` / `np.load` of the same bytes as one contiguous array.

`save` is durable: it fsyncs the file and the directory before returning. `np.save` does
not, so two baselines are reported: `np.save` alone, and `np.save` followed by flush and
fsync (the same durability as `save`). The target applies to the durable baseline; the
plain one shows what durability costs on this disk.

Run with ``python -m tests.benchmarks.io``. Times are the best of interleaved repeats, so
a busy moment of the machine affects every contender alike.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

import funcgrad
from funcgrad import io
from tests.benchmarks.timing import best_times_interleaved

TARGET_RATIO = 1.5


def resnet18_params(rng: np.random.Generator) -> dict:
    """ResNet-18 (ImageNet, 1000 classes) parameters and BatchNorm statistics, HWIO."""

    def conv(k, cin, cout):
        return rng.standard_normal((k, k, cin, cout), dtype=np.float32)

    def bn(c):
        return {
            "scale": np.ones(c, np.float32),
            "bias": np.zeros(c, np.float32),
            "mean": rng.standard_normal(c, dtype=np.float32),
            "var": np.ones(c, np.float32),
        }

    params = {"stem": {"conv": conv(7, 3, 64), "bn": bn(64)}}
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512]):
        for block in range(2):
            layer = {
                "conv1": conv(3, cin, cout),
                "bn1": bn(cout),
                "conv2": conv(3, cout, cout),
                "bn2": bn(cout),
            }
            if cin != cout:
                layer["down"] = {"conv": conv(1, cin, cout), "bn": bn(cout)}
            params[f"layer{stage + 1}_{block}"] = layer
            cin = cout
    params["fc"] = {
        "w": rng.standard_normal((512, 1000), dtype=np.float32),
        "b": np.zeros(1000, np.float32),
    }
    return params


def checkpoint_tree() -> dict:
    rng = np.random.default_rng(0)
    params = funcgrad.device_put(resnet18_params(rng))
    trace = funcgrad.tree_util.tree_map(lambda p: p * 0.5, params)
    return {
        "params": params,
        "opt_state": {"trace": trace},
        "step": 1234,
        "key": funcgrad.random.key(0),
    }


def main() -> None:
    tree = checkpoint_tree()
    leaves = funcgrad.tree_util.tree_leaves(tree)
    arrays = [np.asarray(x) for x in leaves if hasattr(x, "shape")]
    nbytes = sum(a.nbytes for a in arrays)
    flat = np.concatenate([a.reshape(-1).view(np.uint8) for a in arrays])
    with tempfile.TemporaryDirectory(dir=os.getcwd()) as tmp:
        ours, npy = os.path.join(tmp, "ckpt.safetensors"), os.path.join(tmp, "flat.npy")

        def np_save():
            np.save(npy, flat)

        def np_save_fsync():
            with open(npy, "wb") as f:
                np.save(f, flat)
                f.flush()
                os.fsync(f.fileno())

        def io_save():
            io.save(ours, tree)

        t_np, t_np_sync, t_io = best_times_interleaved([np_save, np_save_fsync, io_save], 1, 9)
        restored = io.load(ours, like=tree)
        assert all(
            np.array_equal(np.asarray(a), np.asarray(b))
            for a, b in zip(funcgrad.tree_util.tree_leaves(restored), leaves)
        )
        t_np_load, t_io_load, t_io_load_like = best_times_interleaved(
            [lambda: np.load(npy), lambda: io.load(ours), lambda: io.load(ours, like=tree)], 1, 9
        )
    print(f"checkpoint: {len(arrays)} arrays, {nbytes / 1e6:.1f} MB")
    print(
        f"save: np.save {t_np * 1e3:.1f} ms, np.save+fsync {t_np_sync * 1e3:.1f} ms, "
        f"funcgrad.io.save {t_io * 1e3:.1f} ms -> {t_io / t_np_sync:.2f}x the durable "
        f"baseline, {t_io / t_np:.2f}x plain np.save (target {TARGET_RATIO}x)"
    )
    print(
        f"load: np.load {t_np_load * 1e3:.1f} ms, funcgrad.io.load {t_io_load * 1e3:.1f} ms "
        f"({t_io_load / t_np_load:.2f}x), with like= {t_io_load_like * 1e3:.1f} ms "
        f"({t_io_load_like / t_np_load:.2f}x) (target {TARGET_RATIO}x)"
    )


if __name__ == "__main__":
    main()
