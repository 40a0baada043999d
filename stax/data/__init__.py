"""stax.data: feeding a pure training loop.

* :mod:`~stax.data.batching`: mini-batches of a pytree of arrays in a key-determined
  order, with optional background prefetch;
* :mod:`~stax.data.splits`: random splits, stratified train/test splits, k folds;
* :mod:`~stax.data.datasets`: the data sets bundled with scikit-learn (no download);
* :mod:`~stax.data.readers`: MNIST IDX, CIFAR binary, ``.npy``/``.npz``, image folders;
* :mod:`~stax.data.augment`: image augmentations as pure ``(key, image) -> image``
  functions that work under ``vmap`` and ``jit``.

Nothing here owns the loop and nothing keeps hidden state: the order of an epoch is a
function of its key, so a resumed run sees exactly the batches an uninterrupted one
would.

Examples:
    >>> import funcgrad
    >>> from stax import data
    >>> digits = data.load_digits()
    >>> key = funcgrad.random.key(0)
    >>> train, test = data.train_test_split(key, (digits.x, digits.y), test_size=0.2,
    ...                                     stratify=digits.y)
    >>> for epoch in range(2):
    ...     for x, y in data.batches(train, 128, key=funcgrad.random.fold_in(key, epoch)):
    ...         pass
    >>> x.shape[1], y.dtype
    (64, dtype('int32'))
"""

from stax.data import augment
from stax.data.augment import *  # noqa: F403  (the augmentations, listed in augment.__all__)
from stax.data.batching import batches, num_batches, num_examples, shuffled_order, take
from stax.data.datasets import (
    Dataset,
    load_breast_cancer,
    load_digits,
    load_iris,
    load_sample_images,
    load_wine,
)
from stax.data.readers import (
    DataFormatError,
    image_folder,
    load_cifar10,
    load_cifar100,
    load_mnist,
    load_npy,
    load_npz,
    read_cifar,
    read_idx,
)
from stax.data.splits import concatenate, k_fold, random_split, train_test_split

__all__ = augment.__all__ + [
    "DataFormatError",
    "Dataset",
    "batches",
    "concatenate",
    "image_folder",
    "k_fold",
    "load_breast_cancer",
    "load_cifar10",
    "load_cifar100",
    "load_digits",
    "load_iris",
    "load_mnist",
    "load_npy",
    "load_npz",
    "load_sample_images",
    "load_wine",
    "num_batches",
    "num_examples",
    "random_split",
    "read_cifar",
    "read_idx",
    "shuffled_order",
    "take",
    "train_test_split",
]
