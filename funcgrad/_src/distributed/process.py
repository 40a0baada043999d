"""Joining the processes started by ``mpiexec``: :func:`initialize`, this process's rank,
and aborting every process when one fails (so that none waits forever in a collective)."""

from __future__ import annotations

import atexit
import faulthandler
import os
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any

#: What to install when mpi4py (or an MPI library) is missing.
INSTALL_HINT = (
    'install MPI for Python and an MPI library from wheels with pip install "funcgrad[mpi]" '
    "(or pip install mpi4py mpich), then start the processes with mpiexec -n 2 python script.py"
)


class DistributedError(RuntimeError):
    """A collective across processes failed (mismatched operands, unsupported dtype, ...)."""


@dataclass(frozen=True)
class ProcessInfo:
    """Where this process stands among those started together.

    Attributes:
        rank: this process's index among all processes (``process_index()``).
        size: the number of processes (``process_count()``).
        local_rank: this process's index among those on the same machine (picks the GPU).
        local_size: the number of processes on this machine.
    """

    rank: int
    size: int
    local_rank: int
    local_size: int


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.info: ProcessInfo | None = None
        self.mpi: Any = None  # the mpi4py.MPI module
        self.comm: Any = None  # a duplicate of COMM_WORLD, private to funcgrad
        self.group: Any = None  # the ProcessGroup running collectives (collectives.py)
        self.last_collective: str | None = None  # for the abort message
        self.collectives_done = 0


state = _State()


def import_mpi(fname: str) -> Any:
    """The ``mpi4py.MPI`` module (initialising MPI), or an ImportError saying what to install."""
    try:
        from mpi4py import MPI
    except ImportError as e:  # mpi4py missing, or present without an MPI library
        raise ImportError(f"{fname}: MPI is not available ({e}); {INSTALL_HINT}") from None
    return MPI


def initialize(*, check_collectives: bool = True, abort_on_error: bool = True) -> ProcessInfo:
    """Join the processes started together by ``mpiexec`` (idempotent).

    Run a script as ``mpiexec -n 2 python script.py``; each process calls
    ``initialize()`` (``funcgrad.distributed.pmap`` calls it for you). Without
    ``mpiexec`` the script runs as one process of one.

    Args:
        check_collectives: before each collective, the processes compare a checksum of its
            operands' shapes and dtypes (one 16-byte allreduce), so that operands that do
            not match across processes raise a :class:`DistributedError` naming both
            instead of exchanging garbage or hanging.
        abort_on_error: install a ``sys.excepthook`` that, when this process dies of an
            uncaught exception, prints it with this process's rank and the collective it
            was last in, then calls ``MPI_Abort``: ``mpiexec`` stops every process at once
            instead of leaving the others waiting in their next collective. Also makes a
            process that ``mpiexec`` terminates print where it was waiting. With
            ``check_collectives``, a process that exits early (``sys.exit``, the end of its
            script) while others are in a collective makes them raise a
            :class:`DistributedError` naming it, and aborts. A process killed outright
            (``os._exit``, a signal) is ended by ``mpiexec``, which stops the others.

    Returns:
        This process's :class:`ProcessInfo` (rank, size, local rank).

    Raises:
        ImportError: mpi4py or an MPI library is not installed; the message says what to
            install (``pip install "funcgrad[mpi]"``).
    """
    with state.lock:
        if state.info is not None:
            return state.info
        MPI = import_mpi("funcgrad.distributed.initialize")
        world = MPI.COMM_WORLD
        # funcgrad's own communicator: its messages never mix with the user's MPI traffic
        comm = world.Dup()
        local = comm.Split_type(MPI.COMM_TYPE_SHARED)
        info = ProcessInfo(comm.Get_rank(), comm.Get_size(), local.Get_rank(), local.Get_size())
        local.Free()
        from funcgrad._src.distributed.collectives import ProcessGroup

        state.mpi, state.comm = MPI, comm
        state.group = ProcessGroup(comm, MPI, info, check=check_collectives)
        state.info = info
        if abort_on_error and info.size > 1:
            _install_abort_hook()
            if check_collectives:
                atexit.register(_exit_handshake)  # runs before mpi4py's MPI_Finalize
        return info


def is_initialized() -> bool:
    """Whether :func:`initialize` has run in this process."""
    return state.info is not None


def process_index() -> int:
    """This process's index (its MPI rank), joining the processes if needed (0 when the
    script runs alone).

    Examples:
        >>> import funcgrad
        >>> funcgrad.distributed.process_index()
        0
    """
    return group().rank


def process_count() -> int:
    """The number of processes (the MPI world size), joining the processes if needed (1
    when the script runs alone).

    Examples:
        >>> import funcgrad
        >>> funcgrad.distributed.process_count()
        1
    """
    return group().size


def local_process_index() -> int:
    """This process's index among the processes on its machine (use it to pick a GPU:
    ``cupy.cuda.Device(local_process_index()).use()``).

    Examples:
        >>> import funcgrad
        >>> funcgrad.distributed.local_process_index()
        0
    """
    return group().info.local_rank


def group() -> Any:
    """The process group running collectives, joining the processes on first use.

    Without mpi4py, a script that ``mpiexec`` did not start runs as a group of one (so
    data-parallel code runs unchanged on one process); one that ``mpiexec`` started fails
    with the install hint rather than training each process alone.
    """
    if state.group is None:
        try:
            initialize()
        except ImportError:
            if launched_by_mpiexec():
                raise
            from funcgrad._src.distributed.collectives import ProcessGroup

            with state.lock:
                if state.group is None:
                    state.group = ProcessGroup.single()
                    state.info = state.group.info
    return state.group


#: Environment variables that MPI launchers (MPICH's hydra, Open MPI, Slurm's PMI) set.
_LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE",
                       "MPI_LOCALNRANKS", "HYDI_CONTROL_FD")  # fmt: skip


def launched_by_mpiexec() -> bool:
    """Whether an MPI launcher started this process."""
    return any(v in os.environ for v in _LAUNCHER_VARIABLES)


def note_collective(what: str) -> None:
    """Remember the collective this process is in (named when it aborts)."""
    state.last_collective = what
    state.collectives_done += 1


def abort_message(exc_type: type, exc: BaseException) -> str:
    info = state.info
    where = (
        f"; its last collective was {state.last_collective} (#{state.collectives_done})"
        if state.last_collective
        else "; it had run no collective yet"
    )
    return (
        f"funcgrad.distributed: process {info.rank} of {info.size} failed with "
        f"{exc_type.__name__}: {exc}{where}. Aborting all processes (MPI_Abort) so that the "
        f"others do not wait forever in a collective."
    )


def _install_abort_hook() -> None:
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        try:
            previous(exc_type, exc, tb)  # the traceback first, as Python prints it
            print(abort_message(exc_type, exc), file=sys.stderr, flush=True)
        finally:
            state.comm.Abort(1)

    sys.excepthook = hook
    threading.excepthook = lambda args: hook(args.exc_type, args.exc_value, args.exc_traceback)
    # mpiexec ends the other processes with SIGTERM: show where each was waiting (the
    # Python stack names the collective's function) before the default action ends it.
    if hasattr(signal, "SIGTERM") and threading.current_thread() is threading.main_thread():
        try:
            faulthandler.register(signal.SIGTERM, file=sys.stderr, all_threads=False, chain=True)
        except (ValueError, RuntimeError, OSError):  # no usable stderr (e.g. a closed fd)
            pass


#: What an exiting process contributes to its peers' signature check: above every
#: checksum (< 2**56), so the maximum shows that someone is exiting.
EXIT_MARK = 2**60


def _exit_handshake() -> None:
    """At interpreter exit: meet the others' signature check (collectives.ProcessGroup.verify).
    If every process is exiting, that is the normal end; otherwise the others were still in
    a collective: they raise, and this process aborts them all."""
    import numpy as np

    comm, mpi, info = state.comm, state.mpi, state.info
    flags = np.asarray([EXIT_MARK, -EXIT_MARK, info.rank], dtype=np.int64)
    try:
        comm.Allreduce(mpi.IN_PLACE, flags, op=mpi.MAX)
    except Exception:  # noqa: BLE001  (MPI already torn down: nothing left to protect)
        return
    if flags[1] != -EXIT_MARK:  # someone's contribution was a collective's checksum
        last = state.last_collective or "no collective"
        print(
            f"funcgrad.distributed: process {info.rank} of {info.size} exited (after "
            f"{state.collectives_done} collectives; the last was {last}) while other processes "
            f"were still in a collective. Aborting all processes (MPI_Abort).",
            file=sys.stderr,
            flush=True,
        )
        comm.Abort(1)
