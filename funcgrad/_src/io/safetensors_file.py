"""The safetensors container: writing through the `safetensors` package, and a checked reader.

A safetensors file is an 8-byte little-endian header length ``N``, ``N`` bytes of JSON
(``{name: {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}``), then the
tensors' bytes. Files are written only by ``safetensors.numpy.save_file`` (atomically,
see `atomic`). Reading checks every claim of the header against the file before a byte
of data is trusted, so a truncated or lying file fails with a message that says what is
wrong; the package's own reader (``safetensors.safe_open``) must accept the file too.
The tensor bytes are then read in one call into one fresh buffer at the checked
offsets: ``safe_open``'s memory-mapped copy is about 4x slower than ``np.load`` for a
100 MB file, which this path matches.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
from dataclasses import dataclass

import numpy as np

from funcgrad._src.io.atomic import atomic_write
from funcgrad._src.io.errors import CheckpointError

# safetensors dtype codes funcgrad can hold, little-endian as the format stores them.
# (C64 is only ever read, from plain files: checkpoints store complex as a real view.)
CODE_TO_DTYPE = {
    "BOOL": np.dtype("|b1"),
    "U8": np.dtype("|u1"),
    "I8": np.dtype("|i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "C64": np.dtype("<c8"),
}
DTYPE_TO_CODE = {dt.newbyteorder("="): code for code, dt in CODE_TO_DTYPE.items()}

# The reference implementation refuses headers over 100 MB; so do we, before reading one.
_MAX_HEADER_BYTES = 100_000_000
_HEADER_FIELDS = ("dtype", "shape", "data_offsets")


def write_file(path: str, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Writes ``tensors`` (C-contiguous, native byte order) and ``metadata`` to ``path``,
    atomically: a reader sees the old file or the complete new one."""
    import safetensors.numpy  # imported on first use: `import funcgrad` stays light

    atomic_write(path, lambda temp: safetensors.numpy.save_file(tensors, temp, metadata=metadata))


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a header: storage dtype, shape, and absolute byte range in the file."""

    code: str
    dtype: np.dtype
    shape: tuple[int, ...]
    start: int
    stop: int


def _reject_duplicates(pairs: list) -> dict:
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


class _DuplicateKey(Exception):
    pass


def _is_int(x: object) -> bool:
    return type(x) is int


class SafetensorsReader:
    """An open safetensors file whose header has been checked; use as a context manager.

    Attributes:
        path: the file name (for messages).
        metadata: the ``__metadata__`` map (empty when the file has none).
        entries: tensor name -> `TensorEntry`.
    """

    def __init__(self, path: str):
        self.path = path
        try:
            self._file = open(path, "rb", buffering=0)  # noqa: SIM115 (closed by close())
        except FileNotFoundError:
            raise FileNotFoundError(
                2,
                f"checkpoint {path!r} does not exist (check the path and the working directory)",
                path,
            ) from None
        except IsADirectoryError:
            raise IsADirectoryError(
                21,
                f"checkpoint {path!r} is a directory; pass the path of a checkpoint file "
                "(for a directory of checkpoints use funcgrad.io.CheckpointManager)",
                path,
            ) from None
        try:
            self._parse_header()
            self._cross_check_with_safetensors()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def _fail(self, detail: str) -> CheckpointError:
        return CheckpointError(self.path, detail)

    def _parse_header(self) -> None:
        size = os.fstat(self._file.fileno()).st_size
        if size < 8:
            raise self._fail(
                f"the file is {size} bytes long, too short to be a safetensors file (which "
                "starts with an 8-byte header length); it is truncated or not a checkpoint"
            )
        (header_len,) = struct.unpack("<Q", self._read_exact(0, 8))
        if header_len > min(size - 8, _MAX_HEADER_BYTES):
            raise self._fail(
                f"the header length field says {header_len} bytes, but only {size - 8} bytes "
                "follow it; the file is truncated or not a safetensors file"
            )
        raw = self._read_exact(8, header_len)
        try:
            header = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicates)
        except _DuplicateKey as e:
            raise self._fail(f"the header lists the name {e.args[0]!r} twice") from None
        except (UnicodeDecodeError, ValueError):
            raise self._fail(
                "the header is not UTF-8 JSON, so this is not a safetensors file "
                "(or its start is damaged)"
            ) from None
        if type(header) is not dict:
            raise self._fail(f"the header is JSON {type(header).__name__}, not an object")
        metadata = header.pop("__metadata__", None) or {}
        if type(metadata) is not dict or not all(
            type(k) is str and type(v) is str for k, v in metadata.items()
        ):
            raise self._fail("the header's __metadata__ is not a map of strings to strings")
        self.metadata: dict[str, str] = metadata
        self.data_start = 8 + header_len
        self.entries: dict[str, TensorEntry] = {}
        for name, entry in header.items():
            self.entries[name] = self._check_entry(name, entry)
        self._check_layout(size - self.data_start)

    def _check_entry(self, name: str, entry: object) -> TensorEntry:
        if type(entry) is not dict or sorted(entry) != sorted(_HEADER_FIELDS):
            raise self._fail(
                f"the header entry of tensor {name!r} is not an object with exactly the "
                f"fields {list(_HEADER_FIELDS)}"
            )
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if code not in CODE_TO_DTYPE:
            raise self._fail(
                f"tensor {name!r} has dtype {code!r}, which funcgrad cannot load (it reads "
                f"{', '.join(CODE_TO_DTYPE)})"
            )
        if type(shape) is not list or not all(_is_int(d) and d >= 0 for d in shape):
            raise self._fail(f"tensor {name!r} has shape {shape!r}, not a list of sizes >= 0")
        if (
            type(offsets) is not list
            or len(offsets) != 2
            or not all(_is_int(o) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            raise self._fail(
                f"tensor {name!r} has data_offsets {offsets!r}, not a pair [begin, end] "
                "with 0 <= begin <= end"
            )
        dtype = CODE_TO_DTYPE[code]
        nbytes = math.prod(shape) * dtype.itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise self._fail(
                f"the header lies about tensor {name!r}: shape {tuple(shape)} of {code} needs "
                f"{nbytes} bytes, but its data_offsets {offsets} span "
                f"{offsets[1] - offsets[0]}"
            )
        return TensorEntry(
            code, dtype, tuple(shape), self.data_start + offsets[0], self.data_start + offsets[1]
        )

    def _check_layout(self, data_len: int) -> None:
        """Tensors must tile the data area exactly: no overlap, no gap, nothing past the end."""
        end = 0
        for name, e in sorted(self.entries.items(), key=lambda item: (item[1].start, item[1].stop)):
            begin = e.start - self.data_start
            if begin != end:
                what = "overlaps the tensor before it" if begin < end else "leaves a gap before it"
                raise self._fail(
                    f"the header lies about offsets: tensor {name!r} starts at data byte "
                    f"{begin}, which {what} (that one ends at {end})"
                )
            end = e.stop - self.data_start
        if end > data_len:
            raise self._fail(
                f"the file is truncated: its header describes {end} bytes of tensor data, "
                f"but only {data_len} bytes follow the header"
            )
        if end < data_len:
            raise self._fail(
                f"{data_len - end} unexpected bytes follow the last tensor (the header "
                f"describes {end} bytes of data); the file is damaged"
            )

    def _cross_check_with_safetensors(self) -> None:
        """The reference reader must accept the file and see the same tensors."""
        import safetensors

        try:
            with safetensors.safe_open(self.path, framework="numpy") as f:
                names = f.keys()  # safe_open has keys() but no __iter__
                theirs = {name: f.get_slice(name) for name in names}
                same = set(theirs) == set(self.entries) and all(
                    theirs[n].get_dtype() == e.code and tuple(theirs[n].get_shape()) == e.shape
                    for n, e in self.entries.items()
                )
        except safetensors.SafetensorError as e:
            raise self._fail(f"the safetensors reader rejects it: {e}") from None
        if not same:
            raise self._fail(
                "the safetensors reader sees different tensors than the header does "
                "(was the file replaced while it was being read?)"
            )

    def _read_exact(self, offset: int, nbytes: int) -> bytes:
        buf = bytearray(nbytes)
        self._readinto(offset, memoryview(buf))
        return bytes(buf)

    def _readinto(self, offset: int, view: memoryview) -> None:
        self._file.seek(offset)
        filled = 0
        while filled < len(view):
            n = self._file.readinto(view[filled:])
            if not n:
                raise self._fail(
                    f"the file ended at byte {offset + filled} while reading {len(view)} "
                    f"bytes from byte {offset} (it was truncated while being read)"
                )
            filled += n

    def read_all(self) -> dict[str, np.ndarray]:
        """Every tensor, as native-byte-order NumPy arrays that share one new buffer.

        One read into one allocation runs at ``np.load``'s speed; a separate allocation
        per tensor costs about twice as much in page faults. The arrays are views into
        that buffer (writable, owned by nobody else), so it stays alive while any of them
        does. A tensor whose offset is not a multiple of its itemsize (possible in files
        from other writers) is copied out so that every array is aligned.
        """
        data_len = max((e.stop for e in self.entries.values()), default=self.data_start)
        slab = np.empty(data_len - self.data_start, np.uint8)
        if len(slab):
            self._readinto(self.data_start, memoryview(slab))
        arrays = {}
        for name, e in self.entries.items():
            chunk = slab[e.start - self.data_start : e.stop - self.data_start]
            if (e.start - self.data_start) % e.dtype.itemsize:
                chunk = chunk.copy()
            array = chunk.view(e.dtype).reshape(e.shape)
            if sys.byteorder != "little" and e.dtype.byteorder == "<":
                array = array.astype(e.dtype.newbyteorder("="))
            arrays[name] = array
        return arrays
