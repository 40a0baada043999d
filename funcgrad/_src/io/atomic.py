"""Atomic file replacement: write in a private directory beside the target, fsync, rename."""

from __future__ import annotations

import os
import shutil
import stat
import threading
from collections.abc import Callable

TEMP_SUFFIX = ".tmp"


def temp_name_prefix(path: str) -> str:
    """The name prefix of the temporary directories :func:`atomic_write` makes for ``path``."""
    return "." + os.path.basename(path) + "."


def _fsync_path(path: str, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(directory: str) -> None:
    """Makes a rename or unlink inside ``directory`` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":  # Windows cannot open a directory; its renames are journaled
        return
    _fsync_path(directory, os.O_RDONLY)


def remove_temporary(path: str) -> None:
    """Removes a temporary directory (or file) that a killed :func:`atomic_write` left."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """Calls ``write(temp_path)``, then moves the finished file onto ``path`` atomically.

    ``temp_path`` lies in a new private directory ``.<name>.<random>.tmp`` beside
    ``path`` (a rename is atomic only within one file system), so whatever ``write`` and
    the libraries it calls create there is removed with it. The file's data is fsynced
    before the rename and the directory after it, so a crash or a killed process leaves
    either the old file or the new one at ``path``, never a partial one; at worst a
    temporary directory stays behind (`CheckpointManager` removes those). The new file
    gets the permissions ``open(path, "w")`` would give it (0o666 less the umask).
    """
    directory = os.path.dirname(os.path.abspath(path))
    while True:
        workdir = os.path.join(
            directory, temp_name_prefix(path) + os.urandom(8).hex() + TEMP_SUFFIX
        )
        try:
            os.mkdir(workdir, 0o700)
            break
        except FileExistsError:
            continue
    temp = os.path.join(workdir, os.path.basename(path))
    try:
        # The mode a plain open() would give: 0o666 less the umask, read off a probe file
        # (writers such as safetensors' create 0o600 files and rename them into place).
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        mode = stat.S_IMODE(os.stat(temp).st_mode)
        write(temp)
        os.chmod(temp, mode)
        _fsync_path(temp, os.O_RDWR)
        old = _hold_old_file(path)
        try:
            os.replace(temp, path)
        except BaseException:
            if old is not None:
                os.close(old)
            raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if old is not None:
        # Freeing a replaced 100 MB file's pages takes ~20 ms inside whichever call drops
        # its last reference; holding it open moves that work off the caller's path.
        threading.Thread(target=os.close, args=(old,), daemon=True).start()
    fsync_directory(directory)


def _hold_old_file(path: str) -> int | None:
    """An open descriptor of the file about to be replaced (POSIX only: Windows cannot
    replace a file that is open), or None."""
    if os.name != "posix":
        return None
    try:
        return os.open(path, os.O_RDONLY)
    except OSError:
        return None
