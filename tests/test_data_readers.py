"""stax.data readers against files written here in each format; malformed files are named."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stax import data

_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def _idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding written from the format's description (big-endian header and data)."""
    code = _CODES[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@given(
    dtype=st.sampled_from(list(_CODES)),
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=3),
    compressed=st.booleans(),
)
def test_read_idx_round_trip(tmp_path_factory, dtype, shape, compressed):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal(shape) * 50).astype(dtype)
    raw = _idx_bytes(array)
    path = tmp_path_factory.mktemp("idx") / ("a.gz" if compressed else "a")
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    out = data.read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_read_idx_rejects_malformed_files(tmp_path):
    good = _idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))
    cases = {
        "truncated": (good[:-1], "truncated"),
        "magic": (b"\x01" + good[1:], "magic"),
        "code": (good[:2] + b"\x07" + good[3:], "type code"),
        "header": (good[:6], "header"),
        "gzip": (b"\x1f\x8b" + b"junk", "gzip"),
    }
    for name, (raw, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(raw)
        with pytest.raises(data.DataFormatError, match=message) as info:
            data.read_idx(path)
        assert str(path) in str(info.value)
    with pytest.raises(data.DataFormatError, match="no such file"):
        data.read_idx(tmp_path / "missing")


def test_load_mnist_from_idx_files(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 5).astype(np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(images)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(labels))
    test = data.load_mnist(tmp_path, "test")
    np.testing.assert_array_equal(test.x[..., 0], images)
    np.testing.assert_array_equal(test.y, labels)
    assert test.x.shape == (5, 28, 28, 1) and test.y.dtype == np.int32
    with pytest.raises(data.DataFormatError, match="train-images"):
        data.load_mnist(tmp_path, "train")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(labels[:4]))
    with pytest.raises(data.DataFormatError, match="pair up"):
        data.load_mnist(tmp_path, "test")


def _cifar_records(images: np.ndarray, *label_columns: np.ndarray) -> bytes:
    """CIFAR's binary layout: label byte(s), then the R, G, B planes row by row."""
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    labels = np.stack(label_columns, axis=1).astype(np.uint8)
    return np.concatenate([labels, planes], axis=1).tobytes()


def test_cifar10_and_cifar100(tmp_path):
    rng = np.random.default_rng(2)
    all_images, all_labels = [], []
    for i in range(1, 6):
        images = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, 3)
        (tmp_path / f"data_batch_{i}.bin").write_bytes(_cifar_records(images, labels))
        all_images.append(images)
        all_labels.append(labels)
    (tmp_path / "batches.meta.txt").write_text("\n".join(f"class{i}" for i in range(10)) + "\n")
    train = data.load_cifar10(tmp_path, "train")
    np.testing.assert_array_equal(train.x, np.concatenate(all_images))
    np.testing.assert_array_equal(train.y, np.concatenate(all_labels))
    assert train.class_names[3] == "class3"

    images = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    coarse, fine = rng.integers(0, 20, 4), rng.integers(0, 100, 4)
    (tmp_path / "test.bin").write_bytes(_cifar_records(images, coarse, fine))
    test_fine = data.load_cifar100(tmp_path, "test")
    test_coarse = data.load_cifar100(tmp_path, "test", label_mode="coarse")
    np.testing.assert_array_equal(test_fine.x, images)
    np.testing.assert_array_equal(test_fine.y, fine)
    np.testing.assert_array_equal(test_coarse.y, coarse)

    (tmp_path / "test.bin").write_bytes(_cifar_records(images, coarse, fine)[:-5])
    with pytest.raises(data.DataFormatError, match="test.bin.*whole number"):
        data.load_cifar100(tmp_path, "test")
    with pytest.raises(data.DataFormatError, match="test_batch.bin"):
        data.load_cifar10(tmp_path, "test")


def test_npy_and_npz(tmp_path):
    x = np.arange(12.0).reshape(4, 3)
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(4))
    np.testing.assert_array_equal(data.load_npy(tmp_path / "x.npy", mmap=False), x)
    loaded = data.load_npz(tmp_path / "d.npz")
    np.testing.assert_array_equal(loaded["y"], np.arange(4))
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(data.DataFormatError, match="o.npy"):
        data.load_npy(tmp_path / "o.npy")
    (tmp_path / "bad.npy").write_bytes(b"not numpy at all")
    with pytest.raises(data.DataFormatError, match="bad.npy"):
        data.load_npy(tmp_path / "bad.npy")
    (tmp_path / "bad.npz").write_bytes(b"PK junk")
    with pytest.raises(data.DataFormatError, match="bad.npz"):
        data.load_npz(tmp_path / "bad.npz")


def test_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(3)
    written = {}
    for name, count in (("cat", 2), ("dog", 3)):
        (tmp_path / name).mkdir()
        for i in range(count):
            pixels = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
            written[(name, i)] = pixels
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    d = data.image_folder(tmp_path)
    assert d.class_names == ("cat", "dog") and d.y.tolist() == [0, 0, 1, 1, 1]
    np.testing.assert_array_equal(d.x[0], written[("cat", 0)])
    np.testing.assert_array_equal(d.x[4], written[("dog", 2)])
    grey = data.image_folder(tmp_path, mode="L", size=(3, 4))
    assert grey.x.shape == (5, 3, 4, 1)

    Image.fromarray(rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)).save(
        tmp_path / "dog" / "9.png"
    )
    with pytest.raises(data.DataFormatError, match="9.png.*size="):
        data.image_folder(tmp_path)
    (tmp_path / "dog" / "9.png").write_bytes(b"broken")
    with pytest.raises(data.DataFormatError, match="9.png"):
        data.image_folder(tmp_path)
    with pytest.raises(data.DataFormatError, match="no such folder"):
        data.image_folder(tmp_path / "nowhere")
