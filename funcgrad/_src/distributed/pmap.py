"""``pmap`` over processes: run a function once per process with a named axis whose
members are the processes, so that collectives over it communicate."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

from funcgrad._src.distributed import process
from funcgrad._src.interpreters.batching import AxisFrame, extend_axis_env
from funcgrad._src.lax.parallel import register_process_axis


@contextmanager
def process_axis(axis_name: Hashable) -> Iterator[process.ProcessInfo]:
    """Within the block, ``axis_name`` names the axis of processes: collectives over it
    (``funcgrad.lax.psum(x, axis_name)``, ...) combine the values every process passes.

    Joins the processes (:func:`initialize`) if that has not happened yet. Collectives
    run where they are met: eagerly, or inside the code ``jit`` generates.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> with funcgrad.distributed.process_axis("data") as info:
        ...     total = lax.psum(fnp.ones(2), "data")
        >>> total.tolist() == [float(info.size)] * 2
        True
    """
    try:
        hash(axis_name)
    except TypeError:
        raise TypeError(
            f"funcgrad.distributed: axis_name must be hashable (a string, usually), got "
            f"{type(axis_name).__name__}"
        ) from None
    group = process.group()
    register_process_axis(axis_name, group)
    with extend_axis_env(AxisFrame(axis_name, group.size, "processes")):
        yield group.info


def pmap(fun: Callable, axis_name: Hashable) -> Callable:
    """``fun`` run by every process on its own values, with ``axis_name`` naming the axis
    of processes (as ``jax.pmap`` maps a function over devices).

    Each process calls the mapped function with *its* shard of the data (no leading
    device axis: one process is one member of the axis); inside, collectives over
    ``axis_name`` combine the processes' values with MPI (NumPy arrays) or NCCL (CuPy
    arrays): ``lax.pmean(grads, axis_name)`` averages gradients across processes. Compose
    it with ``jit`` either way round (``pmap(jit(step))`` or ``jit(pmap(step))``): the
    collectives become calls in the generated code. Every process must call it, with
    operands of the same shapes and dtypes.

    Args:
        fun: the per-process function.
        axis_name: the name collectives inside ``fun`` use for the processes.

    Returns:
        The function; its outputs are this process's values (replicated if ``fun`` reduced
        them with ``psum``/``pmean``).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> mean = funcgrad.distributed.pmap(lambda x: lax.pmean(x, "data"), axis_name="data")
        >>> mean(fnp.asarray([2.0, 4.0])).tolist()  # one process: its own values
        [2.0, 4.0]
    """
    if not callable(fun):
        raise TypeError(
            f"funcgrad.distributed.pmap: fun must be callable, got {type(fun).__name__}"
        )

    @functools.wraps(fun)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        with process_axis(axis_name):
            return fun(*args, **kwargs)

    return mapped
