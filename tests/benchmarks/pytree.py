"""Pytree flattening and jit's per-call overhead on the main job's step arguments.

The main job's jitted step (examples/digits_mlp.py, as tests/benchmarks/main_job.py builds
it) takes ``(params, opt_state, bn_state, x, y, key, i)``: 42 leaves in 87 pytree nodes
(lists, tuples, NamedTuples such as ``ScaleByAdamState`` and ``BatchNormState``, empty
tuples), with NumPy batches and a Python int among the leaves. Measured here, best of
interleaved repeats, in microseconds per call:

1. ``tree_flatten``, ``tree_unflatten``, ``tree_structure`` and treedef ``==`` / ``hash``
   (of a treedef from a fresh flatten, as jit's cache lookup sees it) of those arguments,
   and of a dict of 1000 arrays;
2. the jitted call's overhead: the time of a call minus the time of its generated code
   run directly on the argument buffers (what jit adds: argument checks, flattening,
   the cache lookup, wrapping and unflattening the results), for the real step and for
   a step of the same argument and result structure on tiny (1-element) arrays whose
   program is a sum.

Run with ``python -m tests.benchmarks.pytree [--number 2000]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.tree_util import tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten
from stax import data
from tests.benchmarks import main_job
from tests.benchmarks.timing import best_times_interleaved


def step_arguments():
    """The main job's jitted step, and the arguments of one of its calls."""
    (x_train, y_train), _, key_init, key_run = main_job.digits_split()
    steps = data.num_batches(len(x_train), main_job.BATCH, drop_last=True)
    state, train_step, _, _ = main_job.funcgrad_setup(main_job.EPOCHS, steps, key_init)
    xb, yb = next(
        iter(data.batches((x_train, y_train), main_job.BATCH, key=key_run, drop_last=True))
    )
    return train_step, (*state, xb, yb, key_run, 3)


def pytree_costs(name: str, tree, number: int) -> None:
    leaves, treedef = tree_flatten(tree)
    other = tree_structure(tree)  # an equal treedef that is not the same object
    times = best_times_interleaved(
        [
            lambda: tree_flatten(tree),
            lambda: tree_unflatten(treedef, leaves),
            lambda: tree_structure(tree),
            lambda: treedef == tree_structure(tree),
            lambda: hash(tree_structure(tree)),
            lambda: tree_structure(tree),  # baseline of the two above
        ],
        number,
    )
    flatten, unflatten, structure, eq, hashed, base = (1e6 * t for t in times)
    print(f"{name}: {treedef.num_leaves} leaves, {treedef.num_nodes} nodes")
    print(f"  tree_flatten    {flatten:8.2f} us")
    print(f"  tree_unflatten  {unflatten:8.2f} us")
    print(f"  tree_structure  {structure:8.2f} us")
    print(f"  treedef ==      {max(eq - base, 0):8.2f} us  (of a fresh, equal treedef)")
    print(f"  hash(treedef)   {max(hashed - base, 0):8.2f} us  (of a fresh treedef)")
    assert treedef == other and hash(treedef) == hash(other)


def call_overhead(name: str, jitted, args, number: int) -> None:
    """Time of ``jitted(*args)`` and of its generated code alone; the difference is jit's."""
    entry = jitted.lower(*args)._entry
    # past the change to the fused CPU tier (funcgrad.config.cpu_fusion_after_calls) and
    # its trial against the first tier, so that the program timed alone is the one calls run
    for _ in range(2 * funcgrad.config.cpu_fusion_after_calls + 10):
        jitted(*args)
    time.sleep(1.0)  # the fused tier compiles in the background
    for _ in range(200):
        jitted(*args)
    program = entry.exe_fn
    buffers = [np.asarray(x) for x in tree_leaves(args)]
    for got, want in zip(program(*buffers), tree_leaves(jitted(*args))):  # the same program
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-5, atol=1e-7)
    full, alone = best_times_interleaved([lambda: jitted(*args), lambda: program(*buffers)], number)
    print(f"{name}: call {1e6 * full:8.2f} us, generated code alone {1e6 * alone:8.2f} us, "
          f"jit's overhead {1e6 * (full - alone):8.2f} us")  # fmt: skip


def tiny_step(args):
    """A jitted function with the step's arguments and results, on 1-element arrays."""

    @funcgrad.jit
    def step(params, opt_state, bn_state, x, y, key, i):
        del key
        loss = fnp.sum(x) + fnp.sum(y) + i
        return params, opt_state, bn_state, loss

    def tiny(a, array=fnp.zeros):
        return array((1,) * np.ndim(a), np.asarray(a).dtype)

    state = tree_map(tiny, args[:3])  # funcgrad arrays, as the step's results are
    x, y = (tiny(a, np.zeros) for a in args[3:5])  # NumPy batches, as stax.data gives
    return step, (*state, x, y, args[5], args[6])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000, help="calls per timing")
    args = parser.parse_args(argv)
    train_step, step_args = step_arguments()
    pytree_costs("main job step arguments", step_args, args.number)
    big = {f"layer{i:04d}": np.full(3, i, np.float32) for i in range(1000)}
    pytree_costs("dict of 1000 arrays", big, max(args.number // 20, 10))
    call_overhead("main job step (real shapes)", train_step, step_args, args.number // 4)
    step, tiny_args = tiny_step(step_args)
    call_overhead("main job step structure, 1-element arrays", step, tiny_args, args.number)


if __name__ == "__main__":
    main()
