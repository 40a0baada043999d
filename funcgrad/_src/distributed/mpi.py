"""The MPI transport: collectives on NumPy buffers with mpi4py's buffer interface.

Only the uppercase (buffer) methods of mpi4py are used: arrays travel as raw memory with
their MPI datatype, never pickled. Buffers are contiguous; results are written into
buffers the caller allocated (in place when send and receive buffer are the same).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad._src.distributed.process import DistributedError

#: dtypes MPI reduces and moves (mpi4py maps them to MPI's predefined datatypes).
_REDUCIBLE = {np.dtype(t) for t in (np.float32, np.float64, np.int8, np.int16, np.int32,
                                    np.int64, np.uint8, np.uint16, np.uint32, np.uint64)}  # fmt: skip
_COMPLEX = {np.dtype(np.complex64), np.dtype(np.complex128)}  # sums only: no order


class MpiTransport:
    """Collectives over an mpi4py communicator, for NumPy buffers."""

    def __init__(self, comm: Any, mpi: Any):
        self.comm, self.mpi = comm, mpi
        self.ops = {"sum": mpi.SUM, "max": mpi.MAX, "min": mpi.MIN}

    def check_dtype(self, dtype: np.dtype, op: str, what: str) -> None:
        if dtype in _REDUCIBLE or (dtype in _COMPLEX and op in ("sum", "copy")):
            return
        if dtype == np.bool_ and op == "copy":
            return
        raise DistributedError(
            f"{what}: MPI collectives do not support {dtype.name} operands"
            + (" for max/min" if dtype in _COMPLEX else "")
            + "; convert them to float32, float64 or an integer dtype first"
        )

    def allreduce(self, send: Any, recv: Any, op: str) -> None:
        src = self.mpi.IN_PLACE if send is recv else send
        self.comm.Allreduce(src, recv, op=self.ops[op])

    def allgather(self, send: Any, recv: Any) -> None:
        self.comm.Allgather(send, recv)

    def reduce_scatter(self, send: Any, recv: Any) -> None:
        self.comm.Reduce_scatter_block(send, recv, op=self.mpi.SUM)

    def alltoall(self, send: Any, recv: Any) -> None:
        self.comm.Alltoall(send, recv)

    def exchange(self, sends: list, recvs: list) -> None:
        """Point-to-point: ``sends`` and ``recvs`` are ``(peer, buffer)`` pairs."""
        requests = [self.comm.Irecv(buf, source=peer, tag=_PERMUTE_TAG) for peer, buf in recvs]
        requests += [self.comm.Isend(buf, dest=peer, tag=_PERMUTE_TAG) for peer, buf in sends]
        self.mpi.Request.Waitall(requests)

    def broadcast(self, buf: Any, root: int) -> None:
        self.comm.Bcast(buf, root=root)


_PERMUTE_TAG = 7201
