"""Data sets that ship inside scikit-learn: digits, iris, wine, breast cancer, two sample images.

Nothing is downloaded: scikit-learn carries these files in its wheel. scikit-learn is
an optional dependency (the ``data`` extra); without it the loaders say which extra to
install.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "Dataset",
    "load_breast_cancer",
    "load_digits",
    "load_iris",
    "load_sample_images",
    "load_wine",
]


class Dataset(NamedTuple):
    """A labelled data set as NumPy arrays.

    Attributes:
        x: features, one row per example (float32 unless asked otherwise).
        y: integer class labels (int32), shape ``(n,)``.
        class_names: the name of each class, indexed by label.
        feature_names: the name of each feature column (empty for images).
    """

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]


def _sklearn_datasets():
    try:
        from sklearn import datasets
    except ImportError as error:
        raise ImportError(
            "stax.data's bundled data sets come from scikit-learn, which is not installed: "
            'pip install "funcgrad[data]" (or scikit-learn)'
        ) from error
    return datasets


def _tabular(loader: str, dtype) -> Dataset:
    bunch = getattr(_sklearn_datasets(), loader)()
    return Dataset(
        x=np.ascontiguousarray(bunch.data, dtype=dtype),
        y=np.asarray(bunch.target, dtype=np.int32),
        class_names=tuple(str(c) for c in bunch.target_names),
        feature_names=tuple(str(f) for f in bunch.feature_names),
    )


def load_digits(*, images: bool = False, dtype=np.float32) -> Dataset:
    """scikit-learn's 1797 handwritten digits, 8x8 pixels with values 0..16.

    Args:
        images: give ``x`` as channels-last images ``(1797, 8, 8, 1)`` instead of rows
            of 64 pixels.
        dtype: the dtype of ``x`` (values are not rescaled: divide by 16 for [0, 1]).

    Examples:
        >>> d = load_digits()
        >>> d.x.shape, d.x.dtype, d.y[:5].tolist(), d.class_names[3]
        ((1797, 64), dtype('float32'), [0, 1, 2, 3, 4], '3')
        >>> load_digits(images=True).x.shape
        (1797, 8, 8, 1)
    """
    d = _tabular("load_digits", dtype)
    if images:
        return d._replace(x=d.x.reshape(-1, 8, 8, 1), feature_names=())
    return d


def load_iris(*, dtype=np.float32) -> Dataset:
    """Fisher's iris: 150 flowers, 4 measurements, 3 species.

    Examples:
        >>> d = load_iris()
        >>> d.x.shape, np.bincount(d.y).tolist(), d.class_names[0]
        ((150, 4), [50, 50, 50], 'setosa')
    """
    return _tabular("load_iris", dtype)


def load_wine(*, dtype=np.float32) -> Dataset:
    """The UCI wine recognition data: 178 wines, 13 chemical measurements, 3 cultivars.

    Examples:
        >>> d = load_wine()
        >>> d.x.shape, len(d.class_names)
        ((178, 13), 3)
    """
    return _tabular("load_wine", dtype)


def load_breast_cancer(*, dtype=np.float32) -> Dataset:
    """The Wisconsin diagnostic breast cancer data: 569 cases, 30 features, 2 classes.

    Examples:
        >>> d = load_breast_cancer()
        >>> d.x.shape, d.class_names
        ((569, 30), ('malignant', 'benign'))
    """
    return _tabular("load_breast_cancer", dtype)


def load_sample_images() -> tuple[np.ndarray, ...]:
    """scikit-learn's two sample photographs (china, flower): uint8, (427, 640, 3) each.

    Needs Pillow as well (scikit-learn reads the JPEG files with it).

    Examples:
        >>> china, flower = load_sample_images()
        >>> china.shape, china.dtype
        ((427, 640, 3), dtype('uint8'))
    """
    bunch = _sklearn_datasets().load_sample_images()
    return tuple(np.asarray(img, dtype=np.uint8) for img in bunch.images)
