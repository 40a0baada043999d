"""Arrays from and to host memory and files: ``frombuffer``, ``fromfile``, ``fromiter``,
``fromstring``, ``load``, ``save`` and ``savez``.

These run NumPy's readers and writers eagerly on the host and convert, so the file
formats are exactly NumPy's (``.npy``/``.npz``). Under ``jit`` a reader runs once, at
trace time, and its result becomes a constant of the compiled program; a writer needs
concrete arrays. For checkpoints of whole pytrees use ``funcgrad.io``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad._src.core import Tracer, concrete_or_error
from funcgrad._src.numpy.util import asarray, is_array

__all__ = ["frombuffer", "fromfile", "fromiter", "fromstring", "load", "save", "savez"]


def _host(x: Any, fname: str) -> Any:
    if is_array(x):
        return np.asarray(concrete_or_error(x, fname, "the values to write",
                                            "write arrays outside jit (or use debug.callback)"))  # fmt: skip
    return x


def frombuffer(buffer, dtype=float, count=-1, offset=0):
    """A 1-D array of the bytes of ``buffer`` read as ``dtype`` (copied; NumPy's
    ``frombuffer``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.frombuffer(b"\\x01\\x02\\x03", dtype=fnp.uint8).tolist()
        [1, 2, 3]
    """
    return asarray(np.frombuffer(buffer, dtype=dtype, count=count, offset=offset).copy(),
                   fname="funcgrad.numpy.frombuffer")  # fmt: skip


def fromfile(file, dtype=float, count=-1, sep="", offset=0):
    """A 1-D array read from a binary (or, with ``sep``, text) file, NumPy's ``fromfile``.

    Examples:
        >>> import os, tempfile, numpy as np, funcgrad.numpy as fnp
        >>> path = os.path.join(tempfile.mkdtemp(), "x.bin")
        >>> np.arange(3, dtype=np.int32).tofile(path)
        >>> fnp.fromfile(path, dtype=fnp.int32).tolist()
        [0, 1, 2]
    """
    return asarray(np.fromfile(file, dtype=dtype, count=count, sep=sep, offset=offset),
                   fname="funcgrad.numpy.fromfile")  # fmt: skip


def fromiter(iterable, dtype, count=-1):
    """A 1-D array of the scalars ``iterable`` yields (NumPy's ``fromiter``); traced
    scalars are stacked instead, so it also works on values computed under ``jit``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fromiter((i * i for i in range(4)), dtype=int).tolist()
        [0, 1, 4, 9]
    """
    fname = "funcgrad.numpy.fromiter"
    items = list(iterable) if count < 0 else [v for _, v in zip(range(count), iterable)]
    if 0 <= count != len(items):
        raise ValueError(f"{fname}: iterator too short: expected {count} items, got {len(items)}")
    if any(isinstance(v, Tracer) for v in items):
        from funcgrad._src.numpy.shape import stack

        return stack([asarray(v, dtype, fname) for v in items])
    return asarray(np.fromiter(items, dtype=dtype), fname=fname)


def fromstring(string, dtype=float, count=-1, *, sep):
    """A 1-D array parsed from the text ``string`` with separator ``sep`` (NumPy's
    ``fromstring``; the binary mode NumPy deprecated is not offered: use ``frombuffer``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fromstring("1 2 3", dtype=int, sep=" ").tolist()
        [1, 2, 3]
    """
    if sep == "":
        raise ValueError("funcgrad.numpy.fromstring: sep='' (binary mode) is not supported; "
                         "use fnp.frombuffer")  # fmt: skip
    return asarray(np.fromstring(string, dtype=dtype, count=count, sep=sep),
                   fname="funcgrad.numpy.fromstring")  # fmt: skip


def load(file, *args, **kwargs):
    """An array from a ``.npy`` file, or NumPy's lazy mapping of arrays from an ``.npz``
    file (``numpy.load``'s arguments; ``allow_pickle`` stays False by default).

    Examples:
        >>> import io, funcgrad.numpy as fnp
        >>> buf = io.BytesIO()
        >>> fnp.save(buf, fnp.arange(3))
        >>> _ = buf.seek(0)
        >>> fnp.load(buf).tolist()
        [0, 1, 2]
    """
    out = np.load(file, *args, **kwargs)
    if isinstance(out, np.ndarray) and out.dtype != object:
        return asarray(out, fname="funcgrad.numpy.load")
    return out


def save(file, arr, allow_pickle=True):
    """``arr`` written to a ``.npy`` file (NumPy's ``save``; needs a concrete array).

    Examples:
        >>> import io, funcgrad.numpy as fnp
        >>> buf = io.BytesIO()
        >>> fnp.save(buf, fnp.ones(2))
        >>> buf.getvalue()[:6]
        b'\\x93NUMPY'
    """
    np.save(file, _host(arr, "funcgrad.numpy.save"), allow_pickle=allow_pickle)


def savez(file, *args, **kwds):
    """Several arrays written to one uncompressed ``.npz`` file (NumPy's ``savez``).

    Examples:
        >>> import io, funcgrad.numpy as fnp
        >>> buf = io.BytesIO()
        >>> fnp.savez(buf, a=fnp.arange(2), b=fnp.ones(1))
        >>> _ = buf.seek(0)
        >>> sorted(fnp.load(buf).files)
        ['a', 'b']
    """
    fname = "funcgrad.numpy.savez"
    np.savez(
        file, *[_host(a, fname) for a in args], **{k: _host(v, fname) for k, v in kwds.items()}
    )
