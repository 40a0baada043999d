"""The NCCL transport: collectives on CuPy buffers with ``cupy.cuda.nccl``.

NCCL moves GPU memory directly between devices (NVLink, PCIe, InfiniBand); MPI only
sets it up: process 0 makes the NCCL unique id and MPI broadcasts its 128 bytes (a
buffer, not a pickle) before every process joins the NCCL communicator. Each call is
enqueued on the current CuPy stream, so the CuPy work that follows on that stream sees
its result; nothing synchronises the host.

All-to-all and permutations are grouped point-to-point sends and receives
(``groupStart``/``groupEnd``), the way NCCL expresses them.

Verification status: the call sequences, datatype and operation codes, and buffer
bookkeeping are unit-tested on the CPU with a fake ``nccl`` module and fake device
buffers (``tests/test_distributed.py``); running them on GPUs is pending a machine
with two GPUs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad._src.distributed.process import DistributedError, ProcessInfo

#: NCCL's datatype constants, by NumPy dtype (attribute names of ``cupy.cuda.nccl``).
_DATATYPES = {
    np.dtype(np.int8): "NCCL_INT8",
    np.dtype(np.uint8): "NCCL_UINT8",
    np.dtype(np.int32): "NCCL_INT32",
    np.dtype(np.uint32): "NCCL_UINT32",
    np.dtype(np.int64): "NCCL_INT64",
    np.dtype(np.uint64): "NCCL_UINT64",
    np.dtype(np.float16): "NCCL_FLOAT16",
    np.dtype(np.float32): "NCCL_FLOAT32",
    np.dtype(np.float64): "NCCL_FLOAT64",
}
#: Moved, never reduced, as bytes: NCCL has no complex or bool type.
_AS_BYTES = {np.dtype(np.bool_), np.dtype(np.complex64), np.dtype(np.complex128)}
_OPS = {"sum": "NCCL_SUM", "max": "NCCL_MAX", "min": "NCCL_MIN"}
UNIQUE_ID_BYTES = 128


class NcclTransport:
    """Collectives over a ``cupy.cuda.nccl.NcclCommunicator``, for CuPy buffers.

    Args:
        nccl: the ``cupy.cuda.nccl`` module (a fake in the CPU tests).
        comm: an ``NcclCommunicator`` joined by every process.
        stream: returns the pointer of the stream to enqueue on (CuPy's current stream).
    """

    def __init__(self, nccl: Any, comm: Any, stream: Callable[[], int]):
        self.nccl, self.comm, self.stream = nccl, comm, stream

    @classmethod
    def create(cls, mpi_comm: Any, mpi: Any, info: ProcessInfo) -> NcclTransport:
        """Join every process into one NCCL communicator on the current CuPy device."""
        try:
            import cupy
            from cupy.cuda import nccl
        except ImportError as e:
            raise DistributedError(
                f"funcgrad.distributed: collectives on cupy arrays need NCCL through "
                f"cupy.cuda.nccl ({e}); install cupy for your CUDA version (pip install "
                f'"funcgrad[cuda12]") with its NCCL, e.g. pip install nvidia-nccl-cu12'
            ) from None
        return cls(
            nccl,
            join_communicator(nccl, mpi_comm, info),
            lambda: cupy.cuda.get_current_stream().ptr,
        )

    def check_dtype(self, dtype: np.dtype, op: str, what: str) -> None:
        if dtype in _DATATYPES or (dtype in _AS_BYTES and op == "copy"):
            return
        if dtype in _AS_BYTES and dtype.kind == "c" and op == "sum":
            return  # a complex sum is the sum of the real and imaginary parts
        raise DistributedError(
            f"{what}: NCCL collectives do not support {dtype.name} operands for {op}; convert "
            f"them to float32, float64 or an integer dtype first"
        )

    # Buffers go to NCCL as (pointer, element count, datatype code): complex numbers are
    # pairs of floats, booleans are bytes.
    def _spec(self, buf: Any) -> tuple[int, int, int]:
        dtype = buf.dtype
        if dtype.kind == "c":
            real = np.dtype(np.float32 if dtype == np.complex64 else np.float64)
            return buf.data.ptr, 2 * buf.size, getattr(self.nccl, _DATATYPES[real])
        if dtype == np.bool_:
            return buf.data.ptr, buf.size, self.nccl.NCCL_UINT8
        return buf.data.ptr, buf.size, getattr(self.nccl, _DATATYPES[dtype])

    def allreduce(self, send: Any, recv: Any, op: str) -> None:
        ptr, count, datatype = self._spec(send)
        self.comm.allReduce(ptr, recv.data.ptr, count, datatype,
                            getattr(self.nccl, _OPS[op]), self.stream())  # fmt: skip

    def allgather(self, send: Any, recv: Any) -> None:
        ptr, count, datatype = self._spec(send)
        self.comm.allGather(ptr, recv.data.ptr, count, datatype, self.stream())

    def reduce_scatter(self, send: Any, recv: Any) -> None:
        _, count, datatype = self._spec(recv)
        self.comm.reduceScatter(send.data.ptr, recv.data.ptr, count, datatype,
                                self.nccl.NCCL_SUM, self.stream())  # fmt: skip

    def alltoall(self, send: Any, recv: Any) -> None:
        n = send.shape[0]
        _, count, datatype = self._spec(send)
        block = count // n
        step = send.nbytes // n
        stream = self.stream()
        self.nccl.groupStart()
        try:
            for peer in range(n):
                self.comm.send(send.data.ptr + peer * step, block, datatype, peer, stream)
                self.comm.recv(recv.data.ptr + peer * step, block, datatype, peer, stream)
        finally:
            self.nccl.groupEnd()

    def exchange(self, sends: list, recvs: list) -> None:
        stream = self.stream()
        self.nccl.groupStart()
        try:
            for peer, buf in sends:
                ptr, count, datatype = self._spec(buf)
                self.comm.send(ptr, count, datatype, peer, stream)
            for peer, buf in recvs:
                ptr, count, datatype = self._spec(buf)
                self.comm.recv(ptr, count, datatype, peer, stream)
        finally:
            self.nccl.groupEnd()

    def broadcast(self, buf: Any, root: int) -> None:
        ptr, count, datatype = self._spec(buf)
        self.comm.broadcast(ptr, ptr, count, datatype, root, self.stream())


def join_communicator(nccl: Any, mpi_comm: Any, info: ProcessInfo) -> Any:
    """An ``NcclCommunicator`` of all processes: process 0's unique id, sent with MPI."""
    raw = np.zeros(UNIQUE_ID_BYTES, dtype=np.int8)
    if info.rank == 0:
        raw[:] = np.asarray(nccl.get_unique_id(), dtype=np.int8)
    mpi_comm.Bcast(raw, root=0)
    return nccl.NcclCommunicator(info.size, tuple(int(b) for b in raw), info.rank)
