"""The process group: runs the collectives of a process axis on a communicator.

:class:`ProcessGroup` implements ``funcgrad._src.lax.parallel.ProcessCollectives``, the
interface the collective primitives' impls call. It works on flat, contiguous buffers
and leaves the wire to a *transport*: MPI (:mod:`.mpi`) for NumPy buffers, NCCL
(:mod:`.nccl`) for CuPy buffers. Its jobs:

* **Packing**: the leaves of one ``psum``/``pmean``/``pmax``/``pmin`` (a pytree of
  gradients) are copied into one buffer per dtype and reduced in place with one call
  (``pmean``: then divided once), so a model with hundreds of parameter arrays costs one
  allreduce, not hundreds; the results are views of that buffer (each its own region,
  never written again).
* **Checking**: before each collective, the processes compare a 56-bit checksum of its
  signature (which collective, over which axis, the operands' shapes and dtypes) with
  one 16-byte allreduce; on a mismatch they gather the signatures and raise a
  :class:`~.process.DistributedError` naming every process's operands.
* **Recording** the collective in progress, which the abort hook names.
"""

from __future__ import annotations

import hashlib
import sys
from typing import Any

import numpy as np

from funcgrad._src.distributed import process
from funcgrad._src.distributed.process import DistributedError, ProcessInfo

#: Bytes of a signature exchanged when the checksums disagree (longer ones are cut).
SIGNATURE_BYTES = 512
#: Result buffers of at least this many bytes are recycled between allreduces (NumPy).
_RECYCLE_BYTES = 1 << 20


class ProcessGroup:
    """Every process started by ``mpiexec``, as one axis for collectives."""

    def __init__(self, comm: Any, mpi: Any, info: ProcessInfo, check: bool = True):
        self.comm, self.mpi, self.info = comm, mpi, info
        self.rank, self.size = info.rank, info.size
        self.check = check
        self._transports: dict[str, Any] = {}
        self._recycled: dict = {}  # (size, dtype) -> a result buffer of a past allreduce
        if info.size > 1 and comm is not None:
            from funcgrad._src.distributed.mpi import MpiTransport

            self._transports["numpy"] = MpiTransport(comm, mpi)

    @classmethod
    def single(cls) -> ProcessGroup:
        """The group of this process alone (no MPI needed): collectives copy."""
        return cls(None, None, ProcessInfo(0, 1, 0, 1), check=False)

    # -- the pieces every collective shares --------------------------------------------

    def transport(self, backend: Any) -> Any:
        """The transport for ``backend``'s buffers (NCCL is set up on first use)."""
        if self.size == 1:
            return LocalTransport(backend.xp)
        t = self._transports.get(backend.name)
        if t is None:
            if backend.name != "cupy":
                raise DistributedError(
                    f"funcgrad.distributed: collectives over processes support the numpy "
                    f"(MPI) and cupy (NCCL) backends, not {backend.name!r}"
                )
            from funcgrad._src.distributed.nccl import NcclTransport

            t = self._transports["cupy"] = NcclTransport.create(self.comm, self.mpi, self.info)
        return t

    def _buffer(self, backend: Any, size: int, dtype: Any) -> Any:
        """A 1-d result buffer. On NumPy, large ones are recycled: a new 100 MB buffer is
        mapped and page-faulted in on every step (a third of an allreduce's time), while
        the previous step's is usually free again (nothing views it any more)."""
        xp = backend.xp
        if backend.name != "numpy" or size * np.dtype(dtype).itemsize < _RECYCLE_BYTES:
            return xp.empty(size, dtype=dtype)
        key = (size, np.dtype(dtype))
        recycled = self._recycled.get(key)
        # references: the dict, the name ``recycled``, getrefcount's argument; one more
        # means an array made from it (a view) is still alive
        if recycled is not None and sys.getrefcount(recycled) == 3:
            return recycled
        self._recycled[key] = buf = np.empty(size, dtype=dtype)
        return buf

    def begin(self, what: str, operands: str) -> None:
        """Record the collective and, if checking, verify every process calls the same one."""
        process.note_collective(what)
        if self.check and self.size > 1:
            self.verify(f"{what} of {operands}")

    def verify(self, signature: str) -> None:
        """Raise :class:`DistributedError` unless every process passes the same ``signature``."""
        digest = hashlib.blake2b(signature.encode(), digest_size=7).digest()
        h = int.from_bytes(digest, "little")  # < 2**56: its negation fits in int64
        # [max h, -min h, the highest rank that is exiting instead (see process.py)]
        extremes = np.asarray([h, -h, -1], dtype=np.int64)
        self.comm.Allreduce(self.mpi.IN_PLACE, extremes, op=self.mpi.MAX)
        if extremes[2] >= 0:
            raise DistributedError(
                f"funcgrad.distributed: process {extremes[2]} exited while process "
                f"{self.rank} was in {signature}: every process must run the same collectives; "
                f"a process that leaves early (sys.exit, return from main) strands the others"
            )
        if extremes[0] == -extremes[1]:  # max == min: all the same
            return
        mine = np.zeros(SIGNATURE_BYTES, dtype=np.uint8)
        raw = signature.encode()[:SIGNATURE_BYTES]
        mine[: len(raw)] = np.frombuffer(raw, dtype=np.uint8)
        everyone = np.empty((self.size, SIGNATURE_BYTES), dtype=np.uint8)
        self.comm.Allgather(mine, everyone)
        described = "; ".join(
            f"process {r} called {_decode(row)}" for r, row in enumerate(everyone)
        )
        raise DistributedError(
            f"funcgrad.distributed: the processes' collectives do not match: {described}. "
            f"Every process must run the same collectives in the same order, with operands "
            f"of the same shapes and dtypes (e.g. shard batches to equal sizes)."
        )

    # -- ProcessCollectives ---------------------------------------------------------------

    def allreduce(self, backend: Any, bufs: list, op: str, what: str) -> list:
        """``op`` is ``"sum"``, ``"max"``, ``"min"`` or ``"mean"`` (a sum on the wire, then
        one division of the result buffer by the number of processes: pmean)."""
        self.begin(f"{what}", _describe(bufs) + ("" if op in ("sum", "mean") else f" ({op})"))
        t = self.transport(backend)
        xp = backend.xp
        wire = "sum" if op == "mean" else op
        outs: list = [None] * len(bufs)
        for dtype, idx in _by_dtype(bufs).items():
            t.check_dtype(dtype, wire, what)
            if op == "mean" and dtype.kind not in "fc":
                raise DistributedError(f"{what}: a mean needs floating operands, got {dtype.name}")
            if len(idx) == 1:  # nothing to pack: reduce from the operand into a new buffer
                (i,) = idx
                src = _contiguous(xp, bufs[i])
                out = self._buffer(backend, src.size, dtype).reshape(src.shape)
                t.allreduce(src, out, wire)
                if op == "mean":
                    self._divide(xp, out)
                outs[i] = out
                continue
            sizes = [bufs[i].size for i in idx]
            packed = self._buffer(backend, sum(sizes), dtype)
            offset = 0
            for i, n in zip(idx, sizes):
                packed[offset : offset + n] = bufs[i].reshape(-1)
                offset += n
            t.allreduce(packed, packed, wire)  # in place
            if op == "mean":
                self._divide(xp, packed)  # one division for every leaf
            offset = 0
            for i, n in zip(idx, sizes):
                outs[i] = packed[offset : offset + n].reshape(bufs[i].shape)
                offset += n
        return outs

    def _divide(self, xp: Any, buf: Any) -> None:
        """``buf /= size`` in place (a buffer this group owns; nothing to do for one process)."""
        if self.size > 1:
            xp.true_divide(buf, buf.dtype.type(self.size), out=buf)

    def allgather(self, backend: Any, buf: Any, what: str) -> Any:
        self.begin(what, _describe([buf]))
        t = self.transport(backend)
        t.check_dtype(buf.dtype, "copy", what)
        src = _contiguous(backend.xp, buf)
        out = backend.xp.empty((self.size, *buf.shape), dtype=buf.dtype)
        t.allgather(src, out)
        return out

    def reduce_scatter(self, backend: Any, buf: Any, what: str) -> Any:
        self.begin(what, _describe([buf]))
        t = self.transport(backend)
        t.check_dtype(buf.dtype, "sum", what)
        out = backend.xp.empty(buf.shape[1:], dtype=buf.dtype)
        t.reduce_scatter(_contiguous(backend.xp, buf), out)
        return out

    def alltoall(self, backend: Any, buf: Any, what: str) -> Any:
        self.begin(what, _describe([buf]))
        t = self.transport(backend)
        t.check_dtype(buf.dtype, "copy", what)
        out = backend.xp.empty_like(buf)
        t.alltoall(_contiguous(backend.xp, buf), out)
        return out

    def permute(self, backend: Any, buf: Any, perm: tuple, what: str) -> Any:
        self.begin(what, f"{_describe([buf])} along {list(perm)}")
        t = self.transport(backend)
        t.check_dtype(buf.dtype, "copy", what)
        src = _contiguous(backend.xp, buf)
        out = backend.xp.zeros_like(src)  # stays zero where nobody sends here
        sends = [(dst, src) for s, dst in perm if s == self.rank]
        recvs = [(s, out) for s, dst in perm if dst == self.rank]
        t.exchange(sends, recvs)
        return out

    # -- host-side helpers (broadcast of parameters, barriers) ---------------------------

    def broadcast(self, backend: Any, buf: Any, root: int, what: str) -> None:
        """Overwrite ``buf`` (writable, contiguous) with process ``root``'s, in place."""
        self.begin(what, _describe([buf]))
        t = self.transport(backend)
        t.check_dtype(buf.dtype, "copy", what)
        t.broadcast(buf, root)

    def barrier(self) -> None:
        self.begin("barrier", "nothing")
        if self.size > 1:
            self.comm.Barrier()


class LocalTransport:
    """The transport of a group of one process: every collective is a copy."""

    def __init__(self, xp: Any):
        self.xp = xp

    def check_dtype(self, dtype: np.dtype, op: str, what: str) -> None:
        if op in ("max", "min") and dtype.kind == "c":
            raise DistributedError(f"{what}: complex numbers have no order for {op}")

    def allreduce(self, send: Any, recv: Any, op: str) -> None:
        if send is not recv:
            recv[...] = send

    def allgather(self, send: Any, recv: Any) -> None:
        recv[0] = send

    def reduce_scatter(self, send: Any, recv: Any) -> None:
        recv[...] = send[0]

    def alltoall(self, send: Any, recv: Any) -> None:
        recv[...] = send

    def exchange(self, sends: list, recvs: list) -> None:
        for (_, src), (_, dst) in zip(sends, recvs):  # from this process to itself
            dst[...] = src

    def broadcast(self, buf: Any, root: int) -> None:
        pass


def _contiguous(xp: Any, buf: Any) -> Any:
    """``buf`` in C order, shape kept (``ascontiguousarray`` makes 0-d arrays 1-d)."""
    if buf.flags.c_contiguous:
        return buf
    return xp.ascontiguousarray(buf).reshape(buf.shape)


def _decode(row: np.ndarray) -> str:
    return bytes(row).rstrip(b"\0").decode(errors="replace")


def _by_dtype(bufs: list) -> dict:
    groups: dict = {}
    for i, b in enumerate(bufs):
        groups.setdefault(b.dtype, []).append(i)
    return groups


def _describe(bufs: list) -> str:
    """Operands for signatures and messages: ``float32[3,4], int32[]``."""
    return ", ".join(f"{b.dtype.name}[{','.join(map(str, b.shape))}]" for b in bufs) or "nothing"
