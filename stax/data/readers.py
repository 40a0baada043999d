"""Readers for data sets kept on disk: MNIST-style IDX files, CIFAR binary batches,
``.npy``/``.npz`` files and image folders.

Every reader returns NumPy arrays (images channels-last, ``uint8`` as stored) and
raises :class:`DataFormatError` naming the file and what is wrong with it when a file
is missing, truncated or not in the expected format. Nothing is downloaded.
"""

from __future__ import annotations

import gzip
import pathlib
from typing import Any

import numpy as np

from stax.data.datasets import Dataset

__all__ = [
    "DataFormatError",
    "image_folder",
    "load_cifar10",
    "load_cifar100",
    "load_mnist",
    "load_npy",
    "load_npz",
    "read_cifar",
    "read_idx",
]


class DataFormatError(ValueError):
    """A data file is missing, truncated or not in the format its reader expects."""


def _read_bytes(path: Any, fname: str) -> bytes:
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataFormatError(f"{fname}: no such file {str(path)!r}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip's magic number
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise DataFormatError(
                f"{fname}: {str(path)!r} is a damaged gzip file ({error})"
            ) from None
    return raw


# IDX type codes (http://yann.lecun.com/exdb/mnist/): all multi-byte values big-endian.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: Any) -> np.ndarray:
    """Read an IDX file (the MNIST / Fashion-MNIST format), raw or gzip-compressed.

    Returns:
        The array, in native byte order, with the shape the header gives.

    Examples:
        >>> import tempfile, os, numpy as np
        >>> folder = tempfile.mkdtemp()
        >>> path = os.path.join(folder, "labels-idx1-ubyte")
        >>> _ = open(path, "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
        >>> read_idx(path).tolist()
        [7, 2, 1]
    """
    fname = "stax.data.read_idx"
    raw = _read_bytes(path, fname)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataFormatError(f"{fname}: {str(path)!r} is not an IDX file (bad magic number)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise DataFormatError(f"{fname}: {str(path)!r} has unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFormatError(f"{fname}: {str(path)!r} is truncated inside its header")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise DataFormatError(
            f"{fname}: {str(path)!r} holds {len(raw)} bytes; its header (shape {shape}, "
            f"{dtype.name}) needs {expected}: the file is truncated or damaged"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find(directory: pathlib.Path, stem: str, fname: str) -> pathlib.Path:
    for candidate in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (directory / candidate).is_file():
            return directory / candidate
    raise DataFormatError(f"{fname}: no file {stem!r} (or {stem}.gz) in {str(directory)!r}")


def load_mnist(directory: Any, split: str = "train") -> Dataset:
    """MNIST or Fashion-MNIST from the four standard IDX files in ``directory``.

    Args:
        directory: holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
            ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each raw or ``.gz``).
        split: ``"train"`` or ``"test"``.

    Returns:
        A :class:`Dataset` with ``x`` uint8 ``(n, 28, 28, 1)`` (channels-last) and ``y``
        int32 labels.
    """
    fname = "stax.data.load_mnist"
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"{fname}: split must be 'train' or 'test', got {split!r}")
    directory = pathlib.Path(directory)
    images_path = _find(directory, f"{prefix}-images-idx3-ubyte", fname)
    labels_path = _find(directory, f"{prefix}-labels-idx1-ubyte", fname)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DataFormatError(
            f"{fname}: images {str(images_path)!r} of shape {images.shape} and labels "
            f"{str(labels_path)!r} of shape {labels.shape} do not pair up (need (n, h, w) and (n,))"
        )
    return Dataset(
        x=images[..., None],
        y=labels.astype(np.int32),
        class_names=tuple(str(i) for i in range(10)),
        feature_names=(),
    )


def read_cifar(path: Any, *, label_bytes: int = 1, label: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR binary batch file.

    Each record is ``label_bytes`` label bytes then 3072 pixel bytes (the red, green and
    blue 32x32 planes). CIFAR-10 has one label byte; CIFAR-100 two (coarse, then fine).

    Args:
        path: the ``.bin`` file.
        label_bytes: 1 (CIFAR-10) or 2 (CIFAR-100).
        label: which label byte to return (CIFAR-100: 0 coarse, 1 fine).

    Returns:
        ``(images, labels)``: uint8 ``(n, 32, 32, 3)`` channels-last and int32 ``(n,)``.

    Examples:
        >>> import tempfile, os, numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "batch.bin")
        >>> planes = bytes([10]) * 1024 + bytes([20]) * 1024 + bytes([30]) * 1024
        >>> _ = open(path, "wb").write(bytes([3]) + planes)
        >>> images, labels = read_cifar(path)
        >>> images.shape, labels.tolist(), images[0, 0, 5].tolist()
        ((1, 32, 32, 3), [3], [10, 20, 30])
    """
    fname = "stax.data.read_cifar"
    if label_bytes not in (1, 2) or not 0 <= label < label_bytes:
        raise ValueError(f"{fname}: label_bytes must be 1 or 2 and 0 <= label < label_bytes")
    raw = _read_bytes(path, fname)
    record = label_bytes + 3 * 32 * 32
    if not raw or len(raw) % record:
        raise DataFormatError(
            f"{fname}: {str(path)!r} holds {len(raw)} bytes, not a whole number of "
            f"{record}-byte CIFAR records (label_bytes={label_bytes}): truncated or not a "
            f"CIFAR batch"
        )
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)
    images = rows[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), rows[:, label].astype(np.int32)


def _class_names(path: pathlib.Path, count: int) -> tuple[str, ...]:
    if path.is_file():
        names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        if len(names) == count:
            return tuple(names)
    return tuple(str(i) for i in range(count))


def load_cifar10(directory: Any, split: str = "train") -> Dataset:
    """CIFAR-10 from its binary version's folder (``data_batch_1.bin`` .. ``_5``, ``test_batch.bin``).

    Class names come from ``batches.meta.txt`` when present.
    """
    fname = "stax.data.load_cifar10"
    directory = pathlib.Path(directory)
    if split == "train":
        files = [directory / f"data_batch_{i}.bin" for i in range(1, 6)]
    elif split == "test":
        files = [directory / "test_batch.bin"]
    else:
        raise ValueError(f"{fname}: split must be 'train' or 'test', got {split!r}")
    parts = [read_cifar(f) for f in files]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return Dataset(x, y, _class_names(directory / "batches.meta.txt", 10), ())


def load_cifar100(directory: Any, split: str = "train", *, label_mode: str = "fine") -> Dataset:
    """CIFAR-100 from its binary version's folder (``train.bin``, ``test.bin``).

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).
    """
    fname = "stax.data.load_cifar100"
    if split not in ("train", "test"):
        raise ValueError(f"{fname}: split must be 'train' or 'test', got {split!r}")
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"{fname}: label_mode must be 'fine' or 'coarse', got {label_mode!r}")
    directory = pathlib.Path(directory)
    x, y = read_cifar(directory / f"{split}.bin", label_bytes=2, label=int(label_mode == "fine"))
    meta = "fine_label_names.txt" if label_mode == "fine" else "coarse_label_names.txt"
    return Dataset(x, y, _class_names(directory / meta, 100 if label_mode == "fine" else 20), ())


def load_npy(path: Any, *, mmap: bool = True) -> np.ndarray:
    """A ``.npy`` array, memory-mapped read-only by default (for files larger than memory).

    Never unpickles: object arrays are refused.

    Examples:
        >>> import tempfile, os, numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
        >>> np.save(path, np.arange(6).reshape(3, 2))
        >>> load_npy(path)[2].tolist()
        [4, 5]
    """
    fname = "stax.data.load_npy"
    if not pathlib.Path(path).is_file():
        raise DataFormatError(f"{fname}: no such file {str(path)!r}")
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataFormatError(
            f"{fname}: {str(path)!r} is not a readable .npy file ({error})"
        ) from None


def load_npz(path: Any) -> dict[str, np.ndarray]:
    """Every array of a ``.npz`` file, as a dict (read eagerly; never unpickles).

    Examples:
        >>> import tempfile, os, numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "d.npz")
        >>> np.savez(path, x=np.zeros((2, 3)), y=np.arange(2))
        >>> {k: v.shape for k, v in load_npz(path).items()}
        {'x': (2, 3), 'y': (2,)}
    """
    fname = "stax.data.load_npz"
    if not pathlib.Path(path).is_file():
        raise DataFormatError(f"{fname}: no such file {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError) as error:
        raise DataFormatError(
            f"{fname}: {str(path)!r} is not a readable .npz file ({error})"
        ) from None


_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")


def image_folder(root: Any, *, size: tuple[int, int] | None = None, mode: str = "RGB") -> Dataset:
    """Images stored one folder per class (``root/<class>/<image>``), read with Pillow.

    Classes are the sub-folder names in sorted order (label ``i`` is ``class_names[i]``);
    files are taken in sorted order within each class.

    Args:
        root: the folder of class folders.
        size: ``(height, width)`` to resize every image to (bilinear); without it all
            images must already share one size.
        mode: Pillow's colour mode: ``"RGB"`` (3 channels) or ``"L"`` (1 channel).

    Returns:
        A :class:`Dataset` with ``x`` uint8 ``(n, height, width, channels)``.
    """
    fname = "stax.data.image_folder"
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as error:
        raise ImportError(
            f'{fname} reads images with Pillow, which is not installed: pip install "funcgrad[data]"'
        ) from error
    root = pathlib.Path(root)
    if not root.is_dir():
        raise DataFormatError(f"{fname}: no such folder {str(root)!r}")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise DataFormatError(f"{fname}: {str(root)!r} holds no class folders")
    images, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in _IMAGE_EXTENSIONS)
        for path in files:
            try:
                with Image.open(path) as image:
                    image = image.convert(mode)
                    if size is not None:
                        image = image.resize((size[1], size[0]), Image.BILINEAR)
                    pixels = np.asarray(image, dtype=np.uint8)
            except (UnidentifiedImageError, OSError) as error:
                raise DataFormatError(
                    f"{fname}: cannot read image {str(path)!r} ({error})"
                ) from None
            if pixels.ndim == 2:
                pixels = pixels[..., None]
            if images and pixels.shape != images[0].shape:
                raise DataFormatError(
                    f"{fname}: {str(path)!r} has shape {pixels.shape}, unlike the first image's "
                    f"{images[0].shape}; pass size=(height, width) to resize them all"
                )
            images.append(pixels)
            labels.append(label)
    if not images:
        raise DataFormatError(
            f"{fname}: no image files ({', '.join(_IMAGE_EXTENSIONS)}) under {str(root)!r}"
        )
    return Dataset(np.stack(images), np.asarray(labels, dtype=np.int32), tuple(classes), ())
