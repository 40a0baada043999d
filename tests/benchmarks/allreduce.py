"""Benchmark: allreduce of a 25M-float32 gradient pytree between processes, and the
communication share of a data-parallel MLP step.

Run: ``mpiexec -n 2 python -m tests.benchmarks.allreduce`` (``--quick`` for fewer
repeats). Rank 0 prints; every time is the slowest process's, best of the repeats,
measured in alternation so that a busy moment of the machine affects all alike.

1. One pytree of 25,000,000 float32 values in 97 leaves (48 matrices 512x1000, 48 bias
   vectors, one odd leaf), summed over the processes:

   - bare mpi4py: one ``Allreduce(IN_PLACE, buf)`` of one 100 MB buffer (the floor);
   - bare mpi4py, out of place: ``Allreduce(send, recv)`` (a new result buffer, as an
     immutable array library needs);
   - ``funcgrad.lax.psum(tree, "data")`` eagerly, and ``jit`` of it inside
     ``distributed.pmap``: packing into one buffer, one in-place allreduce, views out
     (plus the 16-byte signature check);
   - the same with the signature check off.

2. A data-parallel MLP step (784-1024-1024-10, 1.86M float32 parameters, batch 64 per
   process, Adam): the step with ``lax.pmean(grads, "data")`` against the same step
   without it, and the pmean of the gradients alone: the communication share.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
import transforms
from funcgrad import distributed as dist
from funcgrad import lax
from funcgrad._src.distributed import process


def gradient_tree(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    tree = {f"layer{i}": {"w": rng.standard_normal((512, 1000), dtype=np.float32),
                          "b": rng.standard_normal(1000, dtype=np.float32)}
            for i in range(48)}  # fmt: skip
    tree["odd"] = rng.standard_normal(376_000, dtype=np.float32)
    return tree


def timed(fns: list, repeat: int, comm, MPI) -> list[float]:
    """Best (over ``repeat``) of the slowest process's seconds per call, interleaved."""
    best = [float("inf")] * len(fns)
    for fn in fns:
        fn()  # warm-up (jit tracing, buffers)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            comm.Barrier()
            start = time.perf_counter()
            fn()
            elapsed = np.asarray([time.perf_counter() - start])
            comm.Allreduce(MPI.IN_PLACE, elapsed, op=MPI.MAX)
            best[i] = min(best[i], float(elapsed[0]))
    return best


def allreduce_benchmark(repeat: int, comm, MPI, rank: int) -> None:
    tree = gradient_tree(seed=rank)
    leaves = funcgrad.tree_util.tree_leaves(tree)
    total = sum(x.size for x in leaves)
    assert total == 25_000_000
    flat = np.concatenate([x.reshape(-1) for x in leaves])
    recv = np.empty_like(flat)
    arrays = funcgrad.tree_util.tree_map(fnp.asarray, tree)

    def bare_in_place():
        comm.Allreduce(MPI.IN_PLACE, flat)

    def bare_out_of_place():
        comm.Allreduce(flat, recv)

    eager = dist.pmap(lambda t: lax.psum(t, "data"), axis_name="data")
    jitted = dist.pmap(funcgrad.jit(lambda t: lax.psum(t, "data")), axis_name="data")
    group = process.state.group

    def unchecked():
        group.check = False
        try:
            jitted(arrays)
        finally:
            group.check = True

    # correctness first: the sum of every process's tree
    out = jitted(arrays)
    expected = sum(gradient_tree(seed=r)["layer3"]["w"] for r in range(comm.Get_size()))
    np.testing.assert_allclose(np.asarray(out["layer3"]["w"]), expected, rtol=1e-5, atol=1e-5)

    names = ["bare mpi4py Allreduce (in place)", "bare mpi4py Allreduce (send -> recv)",
             "funcgrad psum, eager", "funcgrad psum, jit", "funcgrad psum, jit, unchecked"]  # fmt: skip
    times = timed([bare_in_place, bare_out_of_place, lambda: eager(arrays),
                   lambda: jitted(arrays), unchecked], repeat, comm, MPI)  # fmt: skip
    if rank == 0:
        print(f"allreduce of {total:,} float32 ({total * 4 / 1e6:.0f} MB) in {len(leaves)} leaves, "
              f"{comm.Get_size()} processes")  # fmt: skip
        for name, t in zip(names, times):
            print(f"  {name:38s} {t * 1e3:8.1f} ms   {t / times[0]:5.2f}x   "
                  f"{total * 4 / t / 1e9:5.2f} GB/s")  # fmt: skip


def mlp_benchmark(repeat: int, comm, MPI, rank: int) -> None:
    rng = np.random.default_rng(0)
    sizes = [784, 1024, 1024, 10]
    params = [(fnp.asarray(rng.normal(0, a**-0.5, (a, b)).astype(np.float32)),
               fnp.zeros(b, dtype="float32")) for a, b in itertools.pairwise(sizes)]  # fmt: skip
    n_params = sum(w.size + b.size for w, b in params)
    x = fnp.asarray(rng.standard_normal((64, 784)).astype(np.float32))
    y = fnp.asarray(rng.integers(0, 10, 64).astype(np.int32))

    def loss(params, x, y):
        for w, b in params[:-1]:
            x = fnp.maximum(x @ w + b, 0.0)
        w, b = params[-1]
        logits = x @ w + b
        top = fnp.max(logits, axis=1, keepdims=True)
        logp = logits - top - fnp.log(fnp.sum(fnp.exp(logits - top), axis=1, keepdims=True))
        return -fnp.mean(fnp.take_along_axis(logp, y[:, None], axis=1))

    optimizer = transforms.adam(1e-3)
    opt_state = optimizer.init(params)

    def make_step(communicate: bool):
        @funcgrad.jit
        def step(params, opt_state, x, y):
            grads = funcgrad.grad(loss)(params, x, y)
            if communicate:
                grads = lax.pmean(grads, "data")
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return transforms.apply_updates(params, updates), opt_state

        return dist.pmap(step, axis_name="data")

    with_comm, without = make_step(True), make_step(False)
    grads = funcgrad.grad(loss)(params, x, y)
    reduce_only = dist.pmap(funcgrad.jit(lambda g: lax.pmean(g, "data")), axis_name="data")
    t_with, t_without, t_reduce = timed([lambda: with_comm(params, opt_state, x, y),
                                         lambda: without(params, opt_state, x, y),
                                         lambda: reduce_only(grads)], repeat, comm, MPI)  # fmt: skip
    if rank == 0:
        print(f"data-parallel MLP step ({n_params:,} float32 parameters, batch 64 per process, "
              f"Adam, {comm.Get_size()} processes)")  # fmt: skip
        print(f"  step with pmean(grads)        {t_with * 1e3:8.2f} ms")
        print(f"  step without communication    {t_without * 1e3:8.2f} ms "
              f"(difference: {(t_with - t_without) / t_with * 100:.1f} % of the step)")  # fmt: skip
        print(f"  pmean(grads) alone            {t_reduce * 1e3:8.2f} ms "
              f"({t_reduce / t_with * 100:.1f} % of the step)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    info = dist.initialize()
    comm, MPI = process.state.comm, process.state.mpi
    repeat = 3 if args.quick else 10
    allreduce_benchmark(repeat, comm, MPI, info.rank)
    mlp_benchmark(repeat * 3, comm, MPI, info.rank)


if __name__ == "__main__":
    main()
