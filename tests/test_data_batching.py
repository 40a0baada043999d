"""stax.data batching and splitting: coverage, key-determined order, prefetch, splits."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import random
from stax import data


def _epoch_labels(batches):
    return np.concatenate([np.asarray(b["y"]) for b in batches])


@given(
    n=st.integers(1, 60),
    batch_size=st.integers(1, 70),
    seed=st.integers(0, 2**31 - 1),
    drop_last=st.booleans(),
)
def test_every_example_once_per_epoch_in_key_order(n, batch_size, seed, drop_last):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n)
    key = random.key(seed)
    out = list(data.batches({"x": x, "y": y}, batch_size, key=key, drop_last=drop_last))
    labels = _epoch_labels(out) if out else np.zeros(0, int)
    # the order is exactly the key's permutation (the oracle: funcgrad.random.permutation)
    expected = np.asarray(random.permutation(key, n))
    kept = (n // batch_size) * batch_size if drop_last else n
    np.testing.assert_array_equal(labels, expected[:kept])
    assert len(out) == data.num_batches(n, batch_size, drop_last=drop_last)
    for b in out:  # rows stay paired across leaves
        np.testing.assert_array_equal(b["x"], x[b["y"]])
        assert b["x"].dtype == np.float32
    if not drop_last:
        assert sorted(labels.tolist()) == list(range(n))


def test_no_key_keeps_stored_order_and_last_batch_is_smaller():
    out = [b.tolist() for b in data.batches(np.arange(7), 3)]
    assert out == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in data.batches(np.arange(7), 3, drop_last=True)] == [
        [0, 1, 2],
        [3, 4, 5],
    ]


def test_same_key_same_order_other_key_other_order():
    x = np.arange(100)
    a = np.concatenate(list(data.batches(x, 10, key=random.key(3))))
    b = np.concatenate(list(data.batches(x, 10, key=random.key(3))))
    c = np.concatenate(list(data.batches(x, 10, key=random.key(4))))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_skip_resumes_mid_epoch_exactly():
    x = np.arange(50)
    key = random.key(9)
    full = [b.tolist() for b in data.batches(x, 8, key=key)]
    resumed = [b.tolist() for b in data.batches(x, 8, key=key, skip=3)]
    assert resumed == full[3:]


def test_funcgrad_arrays_give_funcgrad_batches():
    x = fnp.arange(12.0).reshape(6, 2)
    out = list(data.batches(x, 4, key=random.key(0)))
    assert all(isinstance(b, funcgrad.Array) for b in out)
    rows = np.concatenate([np.asarray(b) for b in out])
    assert sorted(rows[:, 0].tolist()) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]


def test_memory_mapped_file(tmp_path):
    x = np.random.default_rng(0).standard_normal((5000, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    mapped = data.load_npy(tmp_path / "x.npy")
    assert isinstance(mapped, np.memmap)
    key = random.key(1)
    order = np.asarray(random.permutation(key, 5000))
    for i, b in enumerate(data.batches(mapped, 512, key=key)):
        np.testing.assert_array_equal(b, x[order[i * 512 : (i + 1) * 512]])
        assert not isinstance(b, np.memmap)


def test_prefetch_gives_the_same_batches():
    x = np.arange(40)
    plain = [b.tolist() for b in data.batches(x, 6, key=random.key(2))]
    ahead = [b.tolist() for b in data.batches(x, 6, key=random.key(2), prefetch=3)]
    assert plain == ahead


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "stax.data.prefetch"]


def _wait_for_no_prefetch_threads():
    deadline = time.monotonic() + 5
    while _prefetch_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    return _prefetch_threads()


def test_prefetch_thread_stops_when_the_loop_breaks_or_raises():
    x = np.arange(1000)
    for b in data.batches(x, 2, prefetch=2):
        if b[0] > 10:
            break
    assert not _wait_for_no_prefetch_threads()

    def loop():
        for b in data.batches(x, 2, prefetch=2):
            if b[0] > 10:
                raise KeyError("stop")

    with pytest.raises(KeyError):
        loop()
    assert not _wait_for_no_prefetch_threads()


class _FailingRows(np.ndarray):
    """An array whose row selection fails past row 10 (a reader error in the producer)."""

    def __getitem__(self, index):
        if isinstance(index, np.ndarray) and index.size and index.max() > 10:
            raise OSError("disk went away")
        return np.asarray(self)[index]


def test_prefetch_reraises_the_producers_error():
    x = np.arange(30).view(_FailingRows)
    seen = []
    with pytest.raises(OSError, match="disk went away"):
        for b in data.batches(x, 4, key=random.key(0), prefetch=2):
            seen.append(b)
    assert not _wait_for_no_prefetch_threads()


def test_bad_input_names_the_leaves_and_arguments():
    with pytest.raises(ValueError, match=r"\['x'\].*\['y'\]|different leading sizes"):
        list(data.batches({"x": np.zeros((3, 2)), "y": np.zeros(4)}, 2))
    with pytest.raises(ValueError, match="batch_size"):
        data.batches(np.zeros(3), 0)
    with pytest.raises(TypeError, match="batch_size"):
        data.batches(np.zeros(3), 2.5)
    with pytest.raises(ValueError, match="scalar"):
        data.batches({"x": np.zeros(3), "n": 3}, 2)
    with pytest.raises(ValueError, match="no arrays"):
        data.batches({}, 2)


# --------------------------------------------------------------------------- splits


@given(n=st.integers(2, 80), seed=st.integers(0, 1000), parts=st.integers(2, 4))
def test_random_split_is_a_disjoint_cover(n, seed, parts):
    fractions = [1.0 / parts] * parts
    pieces = data.random_split(random.key(seed), np.arange(n), fractions)
    sizes = [len(p) for p in pieces]
    # PyTorch's rule: floors, then the remainder one each from the first part
    expected = [n // parts + (1 if i < n - parts * (n // parts) else 0) for i in range(parts)]
    assert sizes == expected
    joined = np.concatenate(pieces)
    assert sorted(joined.tolist()) == list(range(n))


def test_random_split_integer_lengths_and_errors():
    a, b = data.random_split(random.key(0), (np.arange(10), np.arange(10) * 2), [7, 3])
    assert len(a[0]) == 7 and len(b[0]) == 3
    np.testing.assert_array_equal(a[1], a[0] * 2)
    with pytest.raises(ValueError, match="sum to"):
        data.random_split(random.key(0), np.arange(10), [5, 4])
    with pytest.raises(ValueError, match="fractions"):
        data.random_split(random.key(0), np.arange(10), [0.5, 0.6])


@given(seed=st.integers(0, 1000), test_size=st.sampled_from([0.1, 0.2, 0.25, 0.5]))
def test_stratified_train_test_split_keeps_class_proportions(seed, test_size):
    y = np.repeat([0, 1, 2], [30, 12, 8])
    x = np.arange(y.size)
    (x_train, _), (x_test, y_test) = data.train_test_split(
        random.key(seed), (x, y), test_size=test_size, stratify=y
    )
    n_test = int(np.ceil(test_size * y.size))
    assert len(x_test) == n_test and len(x_train) == y.size - n_test
    assert sorted(np.concatenate([x_train, x_test]).tolist()) == x.tolist()
    np.testing.assert_array_equal(y[x_test], y_test)
    counts = np.bincount(y_test, minlength=3)
    expected = n_test * np.bincount(y) / y.size
    assert np.all(np.abs(counts - expected) < 1), (counts, expected)


def test_k_fold_matches_scikit_learn_fold_sizes_and_partitions():
    from sklearn.model_selection import KFold, StratifiedKFold

    n, k = 23, 5
    folds = data.k_fold(random.key(0), n, k)
    sk_sizes = [len(v) for _, v in KFold(k).split(np.zeros(n))]
    assert [len(v) for _, v in folds] == sk_sizes
    assert sorted(np.concatenate([v for _, v in folds]).tolist()) == list(range(n))
    for train, val in folds:
        assert not set(train) & set(val) and len(train) + len(val) == n
    # without a key: the stored order, as KFold(shuffle=False)
    for (t, v), (st_, sv) in zip(data.k_fold(None, n, k), KFold(k).split(np.zeros(n))):
        np.testing.assert_array_equal(v, sv)
        np.testing.assert_array_equal(t, st_)

    y = np.repeat([0, 1, 2], [11, 7, 5])
    strat = data.k_fold(random.key(1), y.size, 3, stratify=y)
    sk = [np.bincount(y[v], minlength=3) for _, v in StratifiedKFold(3).split(np.zeros(y.size), y)]
    # per fold and class: floor or ceil of n_c / k, as scikit-learn's StratifiedKFold
    for (_, val), sk_counts in zip(strat, sk):
        counts = np.bincount(y[val], minlength=3)
        assert np.all(np.abs(counts - np.bincount(y) / 3) < 1), counts
        assert np.all(np.abs(counts - sk_counts) <= 1), (counts, sk_counts)
    assert sorted(np.concatenate([v for _, v in strat]).tolist()) == list(range(y.size))
    with pytest.raises(ValueError, match="k must"):
        data.k_fold(random.key(0), 3, 4)


def test_concatenate_joins_structures_and_rejects_mismatches():
    a = (np.zeros((2, 3)), np.zeros(2))
    b = (np.ones((4, 3)), np.ones(4))
    x, y = data.concatenate([a, b])
    assert x.shape == (6, 3) and y.tolist() == [0, 0, 1, 1, 1, 1]
    f = data.concatenate([fnp.zeros(2), fnp.ones(1)])
    assert isinstance(f, funcgrad.Array) and f.tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="concatenate"):
        data.concatenate([a, {"x": np.zeros(2)}])


# --------------------------------------------------------------------------- bundled data sets


@pytest.mark.parametrize(
    "loader, sk_name",
    [
        (data.load_digits, "load_digits"),
        (data.load_iris, "load_iris"),
        (data.load_wine, "load_wine"),
        (data.load_breast_cancer, "load_breast_cancer"),
    ],
)
def test_bundled_data_sets_equal_scikit_learns(loader, sk_name):
    import sklearn.datasets

    ours = loader()
    theirs = getattr(sklearn.datasets, sk_name)()
    np.testing.assert_array_equal(ours.x, theirs.data.astype(np.float32))
    np.testing.assert_array_equal(ours.y, theirs.target)
    assert ours.x.dtype == np.float32 and ours.y.dtype == np.int32
    assert list(ours.class_names) == [str(c) for c in theirs.target_names]


def test_digits_as_images_and_sample_images():
    d = data.load_digits(images=True)
    import sklearn.datasets

    np.testing.assert_array_equal(d.x[..., 0], sklearn.datasets.load_digits().images)
    china, flower = data.load_sample_images()
    assert china.shape == (427, 640, 3) and flower.dtype == np.uint8
