"""GPU benchmarks of the CuPy backend (issue 6).

Targets, each against a reference measured in the same process on the same GPU:

* a jitted SGD step (forward, backward, update) of a 784-4096-4096-10 ReLU MLP with
  softmax cross-entropy at batch 1024, float32: at most 1.2x the time of the 8 matmuls
  the step needs (3 forward, 3 weight gradients, 2 input gradients), done in CuPy;
* a jitted chain of 10 elementwise operations on 10 million float32 values (one fused
  kernel): at most 1.5x the time of one read-and-write pass over the data (a
  device-to-device copy).

The device is synchronised before and after every timed batch of calls (GPU work is
asynchronous: without it the host would time the launches only). Times are the best of
several repeats, the candidates measured in alternation.

Run with ``python -m tests.benchmarks.gpu`` on a machine with an NVIDIA GPU and CuPy
(``pip install "funcgrad[cuda12]"`` or ``[cuda13]``); without one it exits with the
reason. ``--cpu-smoke`` runs the same code at toy sizes on the NumPy backend, to check
the script itself where there is no GPU: its times mean nothing.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import backends
import funcgrad
import funcgrad.numpy as fnp
from tests.benchmarks.mlp import check_step, eight_matmuls, mlp_setup, sgd_step
from tests.benchmarks.timing import best_times_interleaved


def _device(smoke: bool):
    """(backend name, array namespace, synchronise)."""
    if smoke:
        return "numpy", np, lambda: None
    try:
        backend = backends.get_backend("cupy")
    except backends.BackendUnavailableError as e:
        raise SystemExit(f"tests.benchmarks.gpu needs an NVIDIA GPU with CuPy: {e}") from None
    cupy = backend.xp
    return "cupy", cupy, cupy.cuda.get_current_stream().synchronize


def _timed(fn, sync, calls: int):
    """A function running ``fn`` ``calls`` times between two synchronisations."""

    def run():
        sync()
        for _ in range(calls):
            fn()
        sync()

    return run


def mlp_step(device: str, xp, sync, batch: int, hidden: int) -> None:
    ws, bs, x, onehot = mlp_setup(batch, hidden)

    def params_on_device():
        return funcgrad.device_put([{"w": w, "b": b} for w, b in zip(ws, bs)], device)

    fx, fy = funcgrad.device_put((x, onehot), device)
    start = time.perf_counter()
    params, loss0 = sgd_step(params_on_device(), fx, fy)
    sync()
    first_call = time.perf_counter() - start
    with funcgrad.default_backend(device):  # one eager step as the reference
        check_step(params, loss0, params_on_device(), fx, fy, ws[0],
                   loss_rtol=1e-4, w_rtol=1e-3, w_atol=1e-5)  # fmt: skip

    state = {"params": params}

    def step():
        state["params"], _ = sgd_step(state["params"], fx, fy)

    matmuls = eight_matmuls(xp.asarray(x), [xp.asarray(w) for w in ws])

    calls = 20
    t_step, t_mm = best_times_interleaved(
        [_timed(step, sync, calls), _timed(matmuls, sync, calls)], 1, repeat=5
    )
    t_step, t_mm = t_step / calls, t_mm / calls
    print(f"jitted SGD step, MLP 784-{hidden}-{hidden}-10, batch {batch}, float32 on {device}: "
          f"{t_step * 1e3:.3f} ms; its 8 matmuls alone {t_mm * 1e3:.3f} ms; ratio "
          f"{t_step / t_mm:.2f} (target <= 1.2); first call {first_call * 1e3:.0f} ms")  # fmt: skip


def _chain(x):
    """10 elementwise operations (one fused kernel under jit on CuPy)."""
    y = x * 1.5 + 0.25
    y = fnp.maximum(y, -1.0) * x
    y = y - 0.5 * x
    y = fnp.tanh(y) + 1.0
    y = fnp.sqrt(y) * 2.0  # tanh(y) + 1 >= 0
    return y


def elementwise_chain(device: str, xp, sync, size: int) -> None:
    host = np.random.default_rng(0).standard_normal(size).astype(np.float32)
    x = funcgrad.device_put(host, device)
    chain = funcgrad.jit(_chain)
    program = chain.lower(x).as_jaxpr()
    n_ops = len(program.eqns)
    assert n_ops == 10, f"the chain should be 10 operations, got {n_ops}:\n{program}"
    text = chain.lower(x).as_text()
    kernels = text.count("ElementwiseKernel")
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(
            np.asarray(chain(x)), np.asarray(_chain(fnp.asarray(host))), rtol=1e-5, atol=1e-6
        )
    src = xp.asarray(host)
    dst = xp.empty_like(src)

    def copy():
        xp.copyto(dst, src)

    calls = 50
    t_chain, t_copy = best_times_interleaved([_timed(lambda: chain(x), sync, calls), _timed(copy, sync, calls)], 1,
                                             repeat=5)  # fmt: skip
    t_chain, t_copy = t_chain / calls, t_copy / calls
    gbps = 2 * host.nbytes / t_copy / 1e9
    print(f"jitted chain of {n_ops} elementwise ops ({kernels} fused kernel(s)) on {size:.0e} float32 "
          f"on {device}: {t_chain * 1e6:.1f} us; device-to-device copy {t_copy * 1e6:.1f} us "
          f"({gbps:.0f} GB/s); ratio {t_chain / t_copy:.2f} (target <= 1.5)")  # fmt: skip


def main(argv: list[str]) -> None:
    smoke = "--cpu-smoke" in argv
    device, xp, sync = _device(smoke)
    if smoke:
        print(
            "CPU smoke run at toy sizes on the NumPy backend: checks the script, not a GPU measurement"
        )
        mlp_step(device, xp, sync, batch=8, hidden=16)
        elementwise_chain(device, xp, sync, size=1000)
        return
    print(f"GPU: {xp.cuda.runtime.getDeviceProperties(0)['name'].decode()}, CuPy {xp.__version__}")
    mlp_step(device, xp, sync, batch=1024, hidden=4096)
    elementwise_chain(device, xp, sync, size=10_000_000)


if __name__ == "__main__":
    main(sys.argv[1:])
