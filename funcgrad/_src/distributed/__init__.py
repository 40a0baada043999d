"""Scale-out across processes started by ``mpiexec``: the machinery behind
``funcgrad.distributed`` (joining the processes, the MPI and NCCL communicators that run
collectives over a process axis, the process-mapped call, data-parallel helpers)."""
