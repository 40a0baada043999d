"""The error raised for a file that is not a valid funcgrad checkpoint."""

from __future__ import annotations

import os


class CheckpointError(ValueError):
    """A checkpoint file is damaged, is not a checkpoint, or does not match ``like``.

    The message names the file and what was wrong with it; ``path`` holds the file name.

    Examples:
        >>> from funcgrad.io import CheckpointError
        >>> err = CheckpointError("/tmp/x.safetensors", "the file is empty")
        >>> str(err)
        "checkpoint '/tmp/x.safetensors': the file is empty"
        >>> isinstance(err, ValueError)
        True
    """

    def __init__(self, path: str | os.PathLike, detail: str):
        self.path = os.fspath(path)
        self.detail = detail
        super().__init__(f"checkpoint {self.path!r}: {detail}")
