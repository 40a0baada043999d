"""funcgrad.distributed: data-parallel training across processes started by ``mpiexec``.

Start ``mpiexec -n 2 python train.py``; in the script, ``pmap(step, axis_name="data")``
runs ``step`` on every process with its own share of the batch, and collectives over
``"data"`` inside it (``funcgrad.lax.pmean(grads, "data")``) communicate: MPI (mpi4py)
for NumPy arrays, NCCL (``cupy.cuda.nccl``) for CuPy arrays. Install MPI from wheels with
``pip install "funcgrad[mpi]"``. Without ``mpiexec`` a script runs as one process of one.

Examples:
    >>> import funcgrad, funcgrad.numpy as fnp
    >>> from funcgrad import lax
    >>> step = funcgrad.distributed.pmap(lambda g: lax.pmean(g, "data"), axis_name="data")
    >>> step({"w": fnp.ones(2)})["w"].tolist()
    [1.0, 1.0]
"""

from funcgrad._src.distributed.data_parallel import (
    barrier,
    broadcast_one_to_all,
    save,
    shard_batch,
    sync_batch_stats,
)
from funcgrad._src.distributed.pmap import pmap, process_axis
from funcgrad._src.distributed.process import (
    DistributedError,
    ProcessInfo,
    initialize,
    is_initialized,
    local_process_index,
    process_count,
    process_index,
)

__all__ = [
    "DistributedError",
    "ProcessInfo",
    "barrier",
    "broadcast_one_to_all",
    "initialize",
    "is_initialized",
    "local_process_index",
    "pmap",
    "process_axis",
    "process_count",
    "process_index",
    "save",
    "shard_batch",
    "sync_batch_stats",
]
