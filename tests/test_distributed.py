"""funcgrad.distributed: collectives across processes, data-parallel training, faults.

The multi-process tests start ``mpiexec -n 2 python <script>`` (MPICH from the ``mpich``
wheel, mpi4py) with a timeout, so a hang fails the test instead of CI; they are skipped,
with the reason, where mpi4py or mpiexec is not installed (``pip install "funcgrad[mpi]"``).
Each script checks every process's results against NumPy applied to the data of all
processes (every process generates all of it from one seed).

The in-process tests run the same collective impls (eagerly and in jit-generated code)
on a simulated world of threads, and the NCCL transport on a fake ``cupy.cuda.nccl``
that moves host memory through the pointers the transport passes: what needs no GPU.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src.distributed.collectives import ProcessGroup
from funcgrad._src.distributed.nccl import NcclTransport, join_communicator
from funcgrad._src.distributed.process import DistributedError, ProcessInfo
from funcgrad._src.lax import parallel

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 60  # seconds for one mpiexec run; a hang is a failure, never a stuck CI job


def _find_mpiexec() -> str | None:
    # the launcher installed beside this Python (the mpich wheel), before any on PATH
    for directory in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = os.path.join(directory, "mpiexec")
        if os.path.exists(candidate):
            return candidate
    return shutil.which("mpiexec")


def _mpi_missing() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return 'mpi4py is not installed (pip install "funcgrad[mpi]")'
    if _find_mpiexec() is None:
        return 'no mpiexec found (pip install "funcgrad[mpi]" installs MPICH\'s)'
    return None


needs_mpi = pytest.mark.skipif(_mpi_missing() is not None, reason=str(_mpi_missing()))


def _launch(script: str, tmp_path, *args: str, n: int = 2, timeout: float = TIMEOUT):
    """Run ``script`` under ``mpiexec -n n`` (n=1: plain python); kill it all on timeout."""
    path = tmp_path / f"script_{abs(hash(script)) % 10**8}.py"
    path.write_text(textwrap.dedent(script))
    command = [sys.executable, str(path), *args]
    if n > 1:
        command = [_find_mpiexec(), "-n", str(n), *command]
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1", FUNCGRAD_BACKEND="numpy")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, cwd=REPO, start_new_session=True)  # fmt: skip
    start = time.monotonic()
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{' '.join(command)} did not finish within {timeout} s:\n{out}")
    return SimpleNamespace(returncode=proc.returncode, output=out,
                           seconds=time.monotonic() - start)  # fmt: skip


# --- every collective, two processes, against NumPy -----------------------------------

COLLECTIVES_SCRIPT = r"""
import sys
import numpy as np
import funcgrad, funcgrad.numpy as fnp
from funcgrad import lax, distributed as dist
from funcgrad._src.distributed import process
from funcgrad._src.lax import parallel

info = dist.initialize()
r, n = info.rank, info.size
assert (dist.process_index(), dist.process_count()) == (r, n) and 0 <= info.local_rank < n


class NoPickling:
    # mpi4py's lowercase methods pickle Python objects: only the buffer ones may be used
    def __init__(self, comm):
        self._comm = comm
    def __getattr__(self, name):
        if name[:1].islower():
            raise AssertionError(f"pickling MPI method {name} used")
        return getattr(self._comm, name)

group = process.state.group
group.comm = NoPickling(group.comm)
group._transports["numpy"].comm = NoPickling(group._transports["numpy"].comm)

rng = np.random.default_rng(0)  # the same draws on every process: all members' data


def members(shape, dtype):
    X = rng.standard_normal((n, *shape)) * 10
    return X.astype(dtype) if np.dtype(dtype).kind == "f" else np.round(X).astype(dtype)


def check(name, got, want):
    got = np.asarray(got)
    assert got.dtype == want.dtype, (name, got.dtype, want.dtype)
    assert got.shape == want.shape, (name, got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=name)


for wrap_name, wrap in [("eager", lambda f: f), ("jit", funcgrad.jit)]:
    pm = lambda f: dist.pmap(wrap(f), axis_name="data")
    outer = lambda f: funcgrad.jit(dist.pmap(f, axis_name="data"))  # jit of the pmap
    for dtype in (np.float32, np.float64, np.int32, np.int64):
        X = members((3, 2), dtype)
        x = fnp.asarray(X[r])
        tag = f"{wrap_name} {np.dtype(dtype).name}"
        for how, mapped in (("pmap", pm), ("jit(pmap)", outer)):
            check(f"psum {tag} {how}", mapped(lambda v: lax.psum(v, "data"))(x), X.sum(0, dtype=dtype))
        check(f"pmax {tag}", pm(lambda v: lax.pmax(v, "data"))(x), X.max(0))
        check(f"pmin {tag}", pm(lambda v: lax.pmin(v, "data"))(x), X.min(0))
        mean = X.mean(0).astype(dtype if np.dtype(dtype).kind == "f" else np.float64)
        check(f"pmean {tag}", pm(lambda v: lax.pmean(v, "data"))(x), mean)
        for axis in (0, 1, 2):
            got = pm(lambda v: lax.all_gather(v, "data", axis=axis))(x)
            check(f"all_gather {axis} {tag}", got, np.stack(list(X), axis=axis))
        got = pm(lambda v: lax.all_gather(v, "data", axis=1, tiled=True))(x)
        check(f"all_gather tiled {tag}", got, np.concatenate(list(X), axis=1))
        S = members((n, 3), dtype)
        got = pm(lambda v: lax.psum_scatter(v, "data"))(fnp.asarray(S[r]))
        check(f"psum_scatter {tag}", got, S.sum(0, dtype=dtype)[r])
        T = members((3, 2 * n), dtype)
        got = pm(lambda v: lax.psum_scatter(v, "data", scatter_dimension=1, tiled=True))(fnp.asarray(T[r]))
        check(f"psum_scatter tiled {tag}", got, np.split(T.sum(0, dtype=dtype), n, axis=1)[r])
        A = members((n, 3), dtype)
        got = pm(lambda v: lax.all_to_all(v, "data", 0, 1))(fnp.asarray(A[r]))
        check(f"all_to_all {tag}", got, np.stack([A[j][r] for j in range(n)], axis=1))
        B = members((3, 2 * n), dtype)
        got = pm(lambda v: lax.all_to_all(v, "data", 1, 0, tiled=True))(fnp.asarray(B[r]))
        want = np.concatenate([np.split(B[j], n, axis=1)[r] for j in range(n)], axis=0)
        check(f"all_to_all tiled {tag}", got, want)
        ring = [(j, (j + 1) % n) for j in range(n)]
        check(f"ppermute {tag}", pm(lambda v: lax.ppermute(v, "data", ring))(x), X[(r - 1) % n])
        got = pm(lambda v: lax.ppermute(v, "data", [(0, 1)]))(x)
        check(f"ppermute partial {tag}", got, X[0] if r == 1 else np.zeros_like(X[0]))
    check(f"axis_index {wrap_name}", pm(lambda: lax.axis_index("data"))(), np.asarray(r, np.int32))
    check(f"axis_size_p {wrap_name}", pm(lambda: parallel.axis_size_p.bind1(axes=("data",)))(),
          np.asarray(n, np.int32))
    assert pm(lambda x: x * lax.axis_size("data"))(fnp.ones(2)).tolist() == [n, n]
    # a pytree of several dtypes is one collective per dtype, its leaves packed
    tree = {"a": members((2,), np.float32), "b": [members((3, 1), np.float64), members((), np.int32)],
            "c": members((4,), np.float32)}
    mine = {"a": fnp.asarray(tree["a"][r]), "b": [fnp.asarray(tree["b"][0][r]), fnp.asarray(tree["b"][1][r])],
            "c": fnp.asarray(tree["c"][r])}
    before = process.state.collectives_done
    got = pm(lambda t: lax.psum(t, "data"))(mine)
    assert process.state.collectives_done - before == 1
    check("tree a", got["a"], tree["a"].sum(0)); check("tree c", got["c"], tree["c"].sum(0))
    check("tree b0", got["b"][0], tree["b"][0].sum(0)); check("tree b1", got["b"][1], tree["b"][1].sum(0, dtype=np.int32))
    # pmean of the tree: one collective (a packed buffer per dtype); the int32 leaf is
    # averaged as float64, in the float64 buffer
    before = process.state.collectives_done
    got = pm(lambda t: lax.pmean(t, "data"))(mine)
    assert process.state.collectives_done - before == 1
    check("pmean tree a", got["a"], tree["a"].mean(0).astype(np.float32))
    check("pmean tree c", got["c"], tree["c"].mean(0).astype(np.float32))
    check("pmean tree b0", got["b"][0], tree["b"][0].mean(0)); check("pmean tree b1", got["b"][1], tree["b"][1].mean(0))

# differentiation inside the process axis: d/dx_r sum_j psum(x)_j**2 / 2 = n * psum(x)
X = members((3,), np.float64)
g = dist.pmap(funcgrad.jit(funcgrad.grad(lambda v: 0.5 * fnp.sum(lax.psum(v, "data") ** 2))), "data")
check("grad psum", g(fnp.asarray(X[r])), n * X.sum(0))
# pmean transposes to pmean: d/dx_r sum_j sum(pmean(x)_j * c_j) = mean_j c_j
C = members((3,), np.float64)
g = dist.pmap(funcgrad.jit(funcgrad.grad(lambda v, c: fnp.sum(lax.pmean(v, "data") * c))), "data")
check("grad pmean", g(fnp.asarray(X[r]), fnp.asarray(C[r])), C.mean(0))
g = dist.pmap(funcgrad.grad(lambda v: fnp.sum(lax.all_gather(v, "data") * np.arange(n)[:, None])), "data")
check("grad all_gather", g(fnp.asarray(X[r])), np.full(3, n * r, dtype=np.float64))

# vmap inside the process axis: the process collective acts on every example
V = members((4, 2), np.float32)
got = dist.pmap(funcgrad.vmap(lambda v: lax.psum(v, "data")), "data")(fnp.asarray(V[r]))
check("vmap inside pmap", got, V.sum(0))
# a named vmap and the process axis together
got = dist.pmap(funcgrad.vmap(lambda v: lax.psum(v, ("data", "i")), axis_name="i"), "data")(fnp.asarray(V[r]))
check("psum over process and vmap axes", got, np.broadcast_to(V.sum((0, 1)), (4, 2)))

# helpers
batch = {"x": np.arange(12.0).reshape(6, 2), "y": fnp.arange(6)}
shard = dist.shard_batch(batch)
check("shard_batch x", shard["x"], np.arange(12.0).reshape(6, 2)[3 * r : 3 * r + 3])
check("shard_batch y", shard["y"], np.arange(6)[3 * r : 3 * r + 3])
params = {"w": fnp.full((2, 3), float(r + 1), dtype="float32"), "b": np.full(3, r, np.int64),
          "step": r + 7, "v": fnp.asarray([r * 1.5])}
got = dist.broadcast_one_to_all(params)
check("broadcast w", got["w"], np.ones((2, 3), np.float32)); check("broadcast b", got["b"], np.zeros(3, np.int64))
assert got["step"] == 7 and type(got["b"]) is np.ndarray and isinstance(got["w"], funcgrad.Array)
stats = {"mean": fnp.asarray(X[r]), "count": fnp.asarray(r)}
got = dist.pmap(lambda s: dist.sync_batch_stats(s, "data"), "data")(stats)
check("sync_batch_stats", got["mean"], X.mean(0)); assert int(got["count"]) == r
dist.save(sys.argv[1], {"w": fnp.full(2, float(r))})
check("save from process 0", funcgrad.io.load(sys.argv[1])["w"], np.zeros(2))
print(f"process {r}: all collectives match NumPy", flush=True)
"""


@needs_mpi
def test_every_collective_across_two_processes_matches_numpy(tmp_path):
    run = _launch(COLLECTIVES_SCRIPT, tmp_path, str(tmp_path / "ckpt.safetensors"))
    assert run.returncode == 0, run.output
    for r in (0, 1):
        assert f"process {r}: all collectives match NumPy" in run.output, run.output


# --- data-parallel training -------------------------------------------------------------

TRAINING_SCRIPT = r"""
import sys
import numpy as np
import funcgrad, funcgrad.numpy as fnp
import transforms
from funcgrad import lax, distributed as dist

# scikit-learn's digits, read from its data file (importing sklearn costs more than training)
table = np.loadtxt(sys.argv[2], delimiter=",")
images = (table[:, :64] / 16.0).astype(np.float32)
labels = table[:, 64].astype(np.int32)
GLOBAL_BATCH, STEPS = 128, 50

def init(seed):
    rng = np.random.default_rng(seed)
    sizes = [64, 32, 10]
    return [(fnp.asarray(rng.normal(0, 1 / np.sqrt(a), (a, b)).astype(np.float32)),
             fnp.zeros(b, dtype="float32")) for a, b in zip(sizes[:-1], sizes[1:])]

def loss(params, x, y):
    for w, b in params[:-1]:
        x = fnp.maximum(x @ w + b, 0.0)
    w, b = params[-1]
    logits = x @ w + b
    logp = logits - fnp.log(fnp.sum(fnp.exp(logits - fnp.max(logits, axis=1, keepdims=True)), axis=1, keepdims=True)) - fnp.max(logits, axis=1, keepdims=True)
    return -fnp.mean(fnp.take_along_axis(logp, y[:, None], axis=1))

optimizer = transforms.adam(1e-2)

@funcgrad.jit
def step(params, opt_state, x, y):
    value, grads = funcgrad.value_and_grad(loss)(params, x, y)
    grads = lax.pmean(grads, "data")  # the data-parallel part: one packed allreduce
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return transforms.apply_updates(params, updates), opt_state, lax.pmean(value, "data")

dp_step = dist.pmap(step, axis_name="data")
# rank 0's initialisation everywhere (each process draws a different one here)
params = dist.broadcast_one_to_all(init(seed=dist.process_index()))
opt_state = optimizer.init(params)
order = np.random.default_rng(0).permutation(len(labels))
for i in range(STEPS):
    idx = np.take(order, np.arange(i * GLOBAL_BATCH, (i + 1) * GLOBAL_BATCH), mode="wrap")
    x, y = dist.shard_batch((images[idx], labels[idx]))
    params, opt_state, value = dp_step(params, opt_state, fnp.asarray(x), fnp.asarray(y))
flat = {f"p{j}": np.asarray(leaf) for j, leaf in enumerate(funcgrad.tree_util.tree_leaves(params))}
np.savez(f"{sys.argv[1]}_{dist.process_count()}_{dist.process_index()}.npz", loss=np.asarray(value), **flat)
print(f"process {dist.process_index()} of {dist.process_count()}: loss {float(value):.4f}", flush=True)
"""


@needs_mpi
def test_data_parallel_training_equals_one_process_with_the_global_batch(tmp_path):
    import importlib.util

    sklearn = importlib.util.find_spec("sklearn")
    if sklearn is None:
        pytest.skip("scikit-learn (the digits data set) is not installed")
    digits = os.path.join(sklearn.submodule_search_locations[0], "datasets", "data",
                          "digits.csv.gz")  # fmt: skip
    prefix = str(tmp_path / "params")
    two = _launch(TRAINING_SCRIPT, tmp_path, prefix, digits)
    assert two.returncode == 0, two.output
    one = _launch(TRAINING_SCRIPT, tmp_path, prefix, digits, n=1)
    assert one.returncode == 0, one.output
    reference = np.load(f"{prefix}_1_0.npz")
    rank0, rank1 = np.load(f"{prefix}_2_0.npz"), np.load(f"{prefix}_2_1.npz")
    assert float(reference["loss"]) < 0.5  # it trained (the initial loss is about 2.3)
    for name in reference.files:
        # both processes hold the same parameters (same reduced gradients, same updates)
        np.testing.assert_array_equal(rank0[name], rank1[name], err_msg=name)
        # and they are those of one process with batch 128, up to float32 rounding of the
        # sums' order over 50 Adam steps
        np.testing.assert_allclose(rank0[name], reference[name], rtol=1e-5, atol=1e-6,
                                   err_msg=name)  # fmt: skip


# --- faults -----------------------------------------------------------------------------

FAULT_SCRIPT = r"""
import os, sys
import funcgrad, funcgrad.numpy as fnp
from funcgrad import lax, distributed as dist

info = dist.initialize()
mode = sys.argv[1]
step = dist.pmap(funcgrad.jit(lambda g: lax.pmean(g, "data")), axis_name="data")
for i in range(3):
    if i == 2 and info.rank == 1:
        if mode == "raise":
            raise ValueError("bad batch on this process")
        if mode == "exit":
            os._exit(3)  # killed outright: no Python code runs
        if mode == "sys.exit":
            sys.exit(3)  # a clean exit while the other process is in its collective
    size = 3 if (mode == "shape" and info.rank == 1) else 2
    dtype = "float64" if (mode == "dtype" and info.rank == 1) else "float32"
    step({"w": fnp.ones(size, dtype=dtype)})
print("finished", info.rank, flush=True)
"""


@needs_mpi
@pytest.mark.parametrize("mode", ["raise", "sys.exit", "exit"])
def test_a_failing_process_stops_the_others(mode, tmp_path):
    # process 1 fails before its third step; process 0 is then waiting in the collective
    run = _launch(FAULT_SCRIPT, tmp_path, mode, timeout=TIMEOUT)
    assert run.returncode != 0, run.output
    assert run.seconds < 30, run.output  # bounded: no waiting for the test's timeout
    assert "finished 0" not in run.output
    if mode == "raise":
        assert "ValueError: bad batch on this process" in run.output
        assert ("process 1 of 2 failed with ValueError: bad batch on this process; its last "
                "collective was pmean over axis 'data'") in run.output  # fmt: skip
        assert "MPI_Abort" in run.output
    elif mode == "sys.exit":
        assert ("DistributedError: funcgrad.distributed: process 1 exited while process 0 was "
                "in pmean over axis 'data' of float32[2]") in run.output  # fmt: skip
        assert "process 1 of 2 exited (after 2 collectives" in run.output
    else:  # os._exit: mpiexec sees the process end and stops the other one
        assert run.returncode == 3, run.output


@needs_mpi
@pytest.mark.parametrize("mode, mine, other", [("shape", "float32[2]", "float32[3]"),
                                               ("dtype", "float32[2]", "float64[2]")])  # fmt: skip
def test_mismatched_operands_name_both_processes(mode, mine, other, tmp_path):
    run = _launch(FAULT_SCRIPT, tmp_path, mode)
    assert run.returncode != 0, run.output
    assert "DistributedError" in run.output
    assert (f"process 0 called pmean over axis 'data' of {mine}; process 1 called pmean over "
            f"axis 'data' of {other}") in run.output  # fmt: skip


def test_without_mpi_initialize_says_what_to_install(tmp_path):
    script = r"""
    import sys
    sys.modules["mpi4py"] = None  # as if it were not installed
    from funcgrad import distributed as dist
    try:
        dist.initialize()
    except ImportError as e:
        print("ERROR:", e)
    print("alone:", dist.process_index(), dist.process_count())
    """
    run = _launch(script, tmp_path, n=1)
    assert run.returncode == 0, run.output
    assert 'pip install "funcgrad[mpi]"' in run.output and "mpiexec -n 2" in run.output
    assert "alone: 0 1" in run.output  # without mpiexec a script runs as one process


# --- in-process: the impls on a simulated world of threads ---------------------------


class ThreadWorld:
    """``n`` members, one thread each, exchanging through shared slots: an independent
    reference implementation of ProcessCollectives for the impls' reshaping logic."""

    def __init__(self, n: int):
        self.size = n
        self._barrier = threading.Barrier(n)
        self._slots: list = [None] * n
        self._local = threading.local()

    @property
    def rank(self) -> int:
        return self._local.rank

    def _exchange(self, value):
        self._slots[self.rank] = value
        self._barrier.wait()
        everyone = list(self._slots)
        self._barrier.wait()
        return everyone

    def allreduce(self, backend, bufs, op, what):
        everyone = self._exchange([np.array(b) for b in bufs])
        if op == "mean":
            return [np.mean(np.stack([e[i] for e in everyone]), axis=0).astype(b.dtype)
                    for i, b in enumerate(bufs)]  # fmt: skip
        fold = {"sum": np.add, "max": np.maximum, "min": np.minimum}[op]
        return [fold.reduce(np.stack([e[i] for e in everyone]), axis=0).astype(b.dtype)
                for i, b in enumerate(bufs)]  # fmt: skip

    def allgather(self, backend, buf, what):
        return np.stack(self._exchange(np.array(buf)))

    def reduce_scatter(self, backend, buf, what):
        return np.sum(np.stack(self._exchange(np.array(buf))), axis=0, dtype=buf.dtype)[self.rank]

    def alltoall(self, backend, buf, what):
        return np.stack([e[self.rank] for e in self._exchange(np.array(buf))])

    def permute(self, backend, buf, perm, what):
        everyone = self._exchange(np.array(buf))
        source = {d: s for s, d in perm}
        return everyone[source[self.rank]] if self.rank in source else np.zeros_like(buf)


def _run_members(world: ThreadWorld, fn):
    results, errors = [None] * world.size, []

    def member(rank):
        world._local.rank = rank
        try:
            results[rank] = fn(rank)
        except BaseException as e:  # noqa: BLE001  (reported below)
            errors.append(e)
            world._barrier.abort()

    threads = [threading.Thread(target=member, args=(r,)) for r in range(world.size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("use_jit", [False, True])
def test_process_impls_on_a_thread_world_match_vmap(use_jit):
    # the impls (process axis) and the batching rules (vmap axis) must agree
    n = 3
    world = ThreadWorld(n)
    parallel.register_process_axis("threads", world)
    X = np.random.default_rng(0).standard_normal((n, n, 2 * n))

    def body(axis):
        def f(x):
            return (lax.psum(x, axis), lax.pmax(x, axis), lax.all_gather(x, axis, axis=1),
                    lax.all_gather(x, axis, axis=1, tiled=True), lax.psum_scatter(x, axis),
                    lax.psum_scatter(x, axis, scatter_dimension=1, tiled=True),
                    lax.all_to_all(x, axis, 0, 1), lax.all_to_all(x, axis, 1, 0, tiled=True),
                    lax.ppermute(x, axis, [(0, 2), (2, 1)]), lax.axis_index(axis),
                    lax.pmean(x, axis), parallel.axis_size_p.bind1(axes=(axis,)))  # fmt: skip

        return funcgrad.jit(f) if use_jit else f

    expected = funcgrad.vmap(body("i"), axis_name="i")(fnp.asarray(X))

    def member(rank):
        from funcgrad._src.interpreters.batching import AxisFrame, extend_axis_env

        with extend_axis_env(AxisFrame("threads", n, "processes")):
            return body("threads")(fnp.asarray(X[rank]))

    results = _run_members(world, member)
    for k, want in enumerate(expected):
        for rank in range(n):
            np.testing.assert_allclose(np.asarray(results[rank][k]), np.asarray(want)[rank],
                                       err_msg=f"output {k}, member {rank}")  # fmt: skip


def test_process_axis_registered_for_a_stored_program_is_found_at_run_time():
    # jit(pmap(f)): traced inside the axis, run after the block has ended
    f = funcgrad.jit(funcgrad.distributed.pmap(lambda x: lax.psum(x, "data"), "data"))
    assert f(fnp.ones(2)).tolist() == [1.0, 1.0]
    assert f(fnp.ones(2)).tolist() == [1.0, 1.0]  # the cached program, no axis in scope


def test_unregistered_axis_at_run_time_names_it():
    with pytest.raises(
        NameError, match=r"axis name 'nowhere' is not bound.*no axis names are in scope"
    ):
        parallel.psum_p.bind(fnp.ones(2), axes=("nowhere",))


def test_group_of_one_process_copies():
    group = ProcessGroup.single()
    from backends import get_backend

    backend = get_backend("numpy")
    a, b = np.arange(3.0), np.arange(4, dtype=np.int32).reshape(2, 2)
    outs = group.allreduce(backend, [a, b, a * 2], "sum", "psum")
    for got, want in zip(outs, [a, b, a * 2]):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    np.testing.assert_array_equal(group.allgather(backend, a, "g"), a[None])
    np.testing.assert_array_equal(group.alltoall(backend, b[:1], "a"), b[:1])
    np.testing.assert_array_equal(group.permute(backend, a, ((0, 0),), "p"), a)
    np.testing.assert_array_equal(group.permute(backend, a, (), "p"), np.zeros(3))


# --- the packing and checking of the process group, on a fake MPI communicator --------


class FakeMpi:
    """Two processes' communicators in one: every call sees this process's buffer and the
    peer's (given), as MPI would; records each call."""

    IN_PLACE = object()
    SUM, MAX, MIN = "sum", "max", "min"

    class Request:
        @staticmethod
        def Waitall(requests):
            pass


class FakeComm:
    def __init__(self, peer_fn):
        self.calls = []
        self.peer_fn = peer_fn  # this process's send buffer -> the peer's

    def Allreduce(self, send, recv, op):
        mine = np.array(recv if send is FakeMpi.IN_PLACE else send)
        self.calls.append(("Allreduce", mine.dtype.name, mine.size, send is FakeMpi.IN_PLACE))
        fold = {"sum": np.add, "max": np.maximum, "min": np.minimum}[op]
        recv[...] = fold(mine, self.peer_fn(mine))

    def Allgather(self, send, recv):
        self.calls.append(("Allgather", send.dtype.name, send.size))
        recv[0], recv[1] = send, self.peer_fn(send)


def test_packing_one_allreduce_per_dtype_and_views_of_it():
    from backends import get_backend
    from funcgrad._src.distributed.mpi import MpiTransport

    comm = FakeComm(lambda mine: mine + 100 if mine.dtype != np.int64 else mine)
    group = ProcessGroup(comm, FakeMpi, ProcessInfo(0, 2, 0, 2), check=True)
    group._transports["numpy"] = MpiTransport(comm, FakeMpi)
    leaves = [np.arange(6.0, dtype=np.float32).reshape(2, 3), np.ones(4, np.float64),
              np.full((), 2, np.float32), np.arange(5, dtype=np.float32)]  # fmt: skip
    outs = group.allreduce(get_backend("numpy"), leaves, "sum", "psum over axis 'data'")
    for got, leaf in zip(outs, leaves):
        np.testing.assert_array_equal(got, 2 * leaf + 100)
        assert got.dtype == leaf.dtype and got.shape == leaf.shape
    # one signature check (3 int64), then one in-place allreduce for the three float32
    # leaves (11 elements) and one for the float64 leaf, from its own buffer
    assert comm.calls == [("Allreduce", "int64", 3, True), ("Allreduce", "float32", 12, True),
                          ("Allreduce", "float64", 4, False)]  # fmt: skip
    assert outs[0].base is outs[2].base is outs[3].base  # views of the one packed buffer


def test_pmean_is_one_packed_allreduce_then_a_division():
    from backends import get_backend
    from funcgrad._src.distributed.mpi import MpiTransport

    comm = FakeComm(lambda mine: mine + 100 if mine.dtype != np.int64 else mine)
    group = ProcessGroup(comm, FakeMpi, ProcessInfo(1, 2, 1, 2), check=True)
    group._transports["numpy"] = MpiTransport(comm, FakeMpi)
    leaves = [np.arange(6.0, dtype=np.float32).reshape(2, 3), np.ones(4, np.float64),
              np.arange(5, dtype=np.float32)]  # fmt: skip
    outs = group.allreduce(get_backend("numpy"), leaves, "mean", "pmean over axis 'data'")
    for got, leaf in zip(outs, leaves):  # (mine + peer's) / 2, peer = mine + 100
        np.testing.assert_array_equal(got, (2 * leaf + 100) / 2)
        assert got.dtype == leaf.dtype and got.shape == leaf.shape
    # the wire operation is a sum, in place on the packed float32 buffer (6 + 5)
    assert comm.calls == [("Allreduce", "int64", 3, True), ("Allreduce", "float32", 11, True),
                          ("Allreduce", "float64", 4, False)]  # fmt: skip
    assert outs[0].base is outs[2].base
    with pytest.raises(DistributedError, match="pmean over axis 'data': a mean needs floating"):
        group.allreduce(get_backend("numpy"), [np.ones(2, np.int32)], "mean",
                        "pmean over axis 'data'")  # fmt: skip


def test_mismatched_signatures_raise_naming_every_process():
    # the peer's checksum differs: [max h, -min h] is not [h, -h]; nobody is exiting
    comm = FakeComm(lambda mine: mine + np.asarray([1, -1, 0]) if mine.dtype == np.int64 else mine)
    group = ProcessGroup(comm, FakeMpi, ProcessInfo(0, 2, 0, 2), check=True)

    def peer_signature(mine):
        text = b"psum over axis 'data' of float32[7]"
        out = np.zeros_like(mine)
        out[: len(text)] = np.frombuffer(text, np.uint8)
        return out

    comm.Allgather = lambda send, recv: (recv.__setitem__(0, send),
                                         recv.__setitem__(1, peer_signature(send)))  # fmt: skip
    with pytest.raises(DistributedError, match=r"process 0 called psum over axis 'data' of "
                       r"float32\[2\]; process 1 called psum over axis 'data' of float32\[7\]"):  # fmt: skip
        group.begin("psum over axis 'data'", "float32[2]")


def test_unsupported_dtypes_are_named():
    from funcgrad._src.distributed.mpi import MpiTransport

    t = MpiTransport(FakeComm(None), FakeMpi)
    with pytest.raises(DistributedError, match="psum: MPI collectives do not support float16"):
        t.check_dtype(np.dtype(np.float16), "sum", "psum")
    with pytest.raises(DistributedError, match="complex128 operands for max/min"):
        t.check_dtype(np.dtype(np.complex128), "max", "pmax")
    t.check_dtype(np.dtype(np.complex64), "sum", "psum")


# --- the NCCL transport on a fake cupy.cuda.nccl (no GPU needed) ---------------------


class DevArray(np.ndarray):
    """A NumPy array that shows its memory as CuPy's ``.data.ptr`` does."""

    @property
    def data(self):
        return SimpleNamespace(ptr=self.ctypes.data)


def _dev(x) -> DevArray:
    return np.ascontiguousarray(x).view(DevArray)


class FakeNcclWorld:
    """``cupy.cuda.nccl`` for ``n`` member threads: each call reads and writes memory
    through the raw pointers it is given (as NCCL does on the GPU)."""

    NCCL_INT8, NCCL_UINT8, NCCL_INT32, NCCL_UINT32 = 0, 1, 2, 3
    NCCL_INT64, NCCL_UINT64, NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64 = 4, 5, 6, 7, 8
    NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN = 0, 1, 2, 3
    _TYPES: ClassVar[dict] = {0: np.int8, 1: np.uint8, 2: np.int32, 3: np.uint32, 4: np.int64, 5: np.uint64,
              6: np.float16, 7: np.float32, 8: np.float64}  # fmt: skip

    def __init__(self, n):
        self.n = n
        self.world = ThreadWorld(n)
        self.calls = []
        self._pending = threading.local()

    @classmethod
    def memory(cls, ptr, count, datatype):
        import ctypes

        dtype = np.dtype(cls._TYPES[datatype])
        raw = (ctypes.c_char * (count * dtype.itemsize)).from_address(ptr)
        return np.frombuffer(raw, dtype=dtype)

    def comm(self, rank):
        return FakeNcclComm(self, rank)

    def groupStart(self):
        self._pending.ops = []

    def groupEnd(self):
        ops, rank = self._pending.ops, self.world.rank
        everyone = self.world._exchange(
            [(peer, data) for kind, peer, data in ops if kind == "send"]
        )
        for kind, peer, target in ops:
            if kind == "recv":
                sent = [d for to, d in everyone[peer] if to == rank]
                target[...] = sent[0]


class FakeNcclComm:
    def __init__(self, world: FakeNcclWorld, rank: int):
        self.w, self.rank = world, rank

    def _log(self, *call):
        if self.rank == 0:
            self.w.calls.append(call)

    def allReduce(self, send, recv, count, datatype, op, stream):
        self._log("allReduce", count, datatype, op)
        mem = FakeNcclWorld.memory
        everyone = self.w.world._exchange(mem(send, count, datatype).copy())
        fold = {0: np.add, 2: np.maximum, 3: np.minimum}[op]
        mem(recv, count, datatype)[...] = fold.reduce(np.stack(everyone), axis=0)

    def allGather(self, send, recv, count, datatype, stream):
        self._log("allGather", count, datatype)
        mem = FakeNcclWorld.memory
        everyone = self.w.world._exchange(mem(send, count, datatype).copy())
        mem(recv, count * self.w.n, datatype)[...] = np.concatenate(everyone)

    def reduceScatter(self, send, recv, count, datatype, op, stream):
        self._log("reduceScatter", count, datatype, op)
        mem = FakeNcclWorld.memory
        everyone = self.w.world._exchange(mem(send, count * self.w.n, datatype).copy())
        total = np.sum(np.stack(everyone), axis=0)
        mem(recv, count, datatype)[...] = total[self.rank * count : (self.rank + 1) * count]

    def send(self, ptr, count, datatype, peer, stream):
        self._log("send", count, datatype, peer)
        self.w._pending.ops.append(
            ("send", peer, FakeNcclWorld.memory(ptr, count, datatype).copy())
        )

    def recv(self, ptr, count, datatype, peer, stream):
        self._log("recv", count, datatype, peer)
        self.w._pending.ops.append(("recv", peer, FakeNcclWorld.memory(ptr, count, datatype)))

    def broadcast(self, send, recv, count, datatype, root, stream):
        self._log("broadcast", count, datatype, root)
        mem = FakeNcclWorld.memory
        everyone = self.w.world._exchange(mem(send, count, datatype).copy())
        mem(recv, count, datatype)[...] = everyone[root]


class _DevXp:
    """The few ``xp`` functions the process group calls, making device-like buffers."""

    def __getattr__(self, name):
        fn = getattr(np, name)
        return lambda *a, **k: _dev(fn(*a, **k))


def test_nccl_transport_collectives_on_a_fake_nccl():
    n = 2
    fake = FakeNcclWorld(n)
    backend = SimpleNamespace(name="cupy", xp=_DevXp())
    rng = np.random.default_rng(1)
    data = {
        "f32": rng.standard_normal((n, 2, 3)).astype(np.float32),
        "f64": rng.standard_normal((n, 5)),
        "i64": rng.integers(-9, 9, (n, 4)),
        "c64": (rng.standard_normal((n, 3)) + 1j).astype(np.complex64),
        "blocks": rng.standard_normal((n, n, 3)).astype(np.float32),
    }

    def member(rank):
        group = ProcessGroup(None, None, ProcessInfo(rank, n, rank, n), check=False)
        group._transports["cupy"] = NcclTransport(fake, fake.comm(rank), stream=lambda: 0)
        mine = {k: _dev(v[rank]) for k, v in data.items()}
        summed = group.allreduce(backend, [mine["f32"], mine["f64"], mine["i64"], mine["c64"],
                                           mine["f32"]], "sum", "psum")  # fmt: skip
        top = group.allreduce(backend, [mine["f64"]], "max", "pmax")
        meaned = group.allreduce(backend, [mine["f32"], mine["f64"], mine["c64"]], "mean",
                                 "pmean")  # fmt: skip
        gathered = group.allgather(backend, mine["f32"], "all_gather")
        scattered = group.reduce_scatter(backend, mine["blocks"], "psum_scatter")
        exchanged = group.alltoall(backend, mine["blocks"], "all_to_all")
        permuted = group.permute(backend, mine["i64"], ((0, 1),), "ppermute")
        with pytest.raises(DistributedError, match="NCCL collectives do not support complex64"):
            group.allreduce(backend, [mine["c64"]], "max", "pmax")
        return summed, top, gathered, scattered, exchanged, permuted, meaned

    results = _run_members(fake.world, member)
    for rank, (summed, top, gathered, scattered, exchanged, permuted, meaned) in enumerate(results):
        for got, key in zip(meaned, ["f32", "f64", "c64"]):
            np.testing.assert_allclose(got, data[key].mean(0), rtol=1e-6)
            assert got.dtype == data[key].dtype
        for got, key in zip(summed, ["f32", "f64", "i64", "c64", "f32"]):
            np.testing.assert_allclose(got, data[key].sum(0), rtol=1e-6)
            assert got.dtype == data[key].dtype
        np.testing.assert_allclose(top[0], data["f64"].max(0))
        np.testing.assert_array_equal(gathered, data["f32"])
        np.testing.assert_allclose(scattered, data["blocks"].sum(0)[rank], rtol=1e-6)
        np.testing.assert_array_equal(exchanged, data["blocks"][:, rank])
        np.testing.assert_array_equal(permuted, data["i64"][0] if rank == 1 else 0 * data["i64"][0])
    calls = fake.calls
    # packed: the two float32 leaves (6 + 6) in one call; complex64 as 2 * 3 float32
    assert ("allReduce", 12, FakeNcclWorld.NCCL_FLOAT32, FakeNcclWorld.NCCL_SUM) in calls
    assert ("allReduce", 6, FakeNcclWorld.NCCL_FLOAT32, FakeNcclWorld.NCCL_SUM) in calls
    assert ("allReduce", 5, FakeNcclWorld.NCCL_FLOAT64, FakeNcclWorld.NCCL_MAX) in calls
    # pmean: NCCL sums on the wire; the group divides the result buffer
    assert ("allReduce", 5, FakeNcclWorld.NCCL_FLOAT64, FakeNcclWorld.NCCL_SUM) in calls
    assert [c for c in calls if c[0] in ("send", "recv")][:4] == [
        ("send", 3, 7, 0),
        ("recv", 3, 7, 0),
        ("send", 3, 7, 1),
        ("recv", 3, 7, 1),
    ]


def test_nccl_communicator_is_joined_with_process_zeros_id_sent_by_mpi():
    uid = tuple(range(-64, 64))
    made = []
    nccl = SimpleNamespace(get_unique_id=lambda: uid,
                           NcclCommunicator=lambda size, commid, rank: made.append((size, commid, rank)))  # fmt: skip
    sent = []
    mpi_comm = SimpleNamespace(Bcast=lambda buf, root: sent.append((buf.dtype, buf.size, root)))
    join_communicator(nccl, mpi_comm, ProcessInfo(0, 4, 0, 4))
    assert sent == [(np.dtype(np.int8), 128, 0)] and made == [(4, uid, 0)]
