"""Checkpoints: pytrees saved to and loaded from safetensors files, and a manager for loops.

`save` writes any pytree of arrays and Python scalars (parameters, optimizer states,
BatchNorm statistics, the step, the epoch, random keys) to one ``.safetensors`` file:
the arrays as tensors named by their key paths, with their exact dtypes, and the tree
structure as JSON in the file's metadata. Nothing is pickled and loading never imports
or calls anything the file names, so a checkpoint cannot run code. Any safetensors
reader can read the tensors (complex arrays appear as real ``(..., 2)`` views there).
`load` rebuilds dicts, lists, tuples and None by itself; NamedTuples, dataclasses and
other custom nodes come back as dicts unless a ``like`` template gives their types.

Writes are atomic: the file is written beside the target under a temporary name,
fsynced, and renamed over it, so a process killed at any moment leaves the previous
checkpoint intact and loadable. `load` checks every claim of the file's header before
trusting a byte and raises `CheckpointError` (a ValueError naming the file) for truncated
or lying files, unknown dtypes, files that are not funcgrad checkpoints, and structures
that do not match the ``like`` template.

`CheckpointManager` keeps a directory of numbered checkpoints for a training loop: it
saves every N steps, keeps the last K and the best by a metric, and restores the latest.

Examples:
    >>> import os, tempfile
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad import io
    >>> path = os.path.join(tempfile.mkdtemp(), "params.safetensors")
    >>> io.save(path, {"w": fnp.ones((2, 2), dtype="float32"), "epoch": 3})
    >>> restored = io.load(path)
    >>> restored["w"].dtype, restored["epoch"]
    (dtype('float32'), 3)
"""

from funcgrad._src.io.checkpoint import load, save
from funcgrad._src.io.errors import CheckpointError
from funcgrad._src.io.manager import CheckpointManager

__all__ = ["CheckpointError", "CheckpointManager", "load", "save"]
