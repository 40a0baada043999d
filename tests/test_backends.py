"""Backend selection, the registry's errors, placement, and mixing backends."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import arrays, dtypes, shapes
from test_primitives import _index_draw, _np_index

import backends
import funcgrad
import funcgrad.numpy as fnp
from backends import cupy_backend
from backends.numpy_backend import NumPyBackend


class _SecondCPUBackend(NumPyBackend):
    """A second, distinct backend object so that mixing can be tested without a GPU."""

    name = "numpy-second"


if "numpy-second" not in backends.backend_names():
    backends.register_backend("numpy-second", _SecondCPUBackend)


def _run(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True,
        env={**os.environ, **env}, timeout=120,
    )  # fmt: skip


def test_default_is_numpy_and_numpy_is_always_available():
    assert backends.get_backend().name == "numpy"
    assert "numpy" in funcgrad.devices()
    assert fnp.ones(2).backend == "numpy"


def test_unknown_backend_names_the_backend_and_the_choices():
    with pytest.raises(backends.UnknownBackendError, match=r"unknown backend 'tpu'.*'numpy'"):
        backends.get_backend("tpu")
    with pytest.raises(backends.UnknownBackendError, match="tpu"):
        funcgrad.device_put(np.ones(2), "tpu")


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        backends.register_backend("numpy", NumPyBackend)


def test_cupy_without_a_gpu_names_the_missing_piece():
    try:
        import cupy  # noqa: F401

        has_cupy = True
    except ImportError:
        has_cupy = False
    if has_cupy and "cupy" in backends.available_backends():
        pytest.skip("a CUDA device is present: the unavailability error cannot be provoked")
    with pytest.raises(
        backends.BackendUnavailableError,
        match="backend 'cupy' is unavailable: (the cupy package is not installed|cupy is installed but)",
    ):
        backends.get_backend("cupy")
    assert "cupy" not in funcgrad.devices()


def test_environment_variable_selects_the_default():
    ok = _run("import funcgrad.numpy as f; print(f.ones(1).backend)", FUNCGRAD_BACKEND="numpy")
    assert ok.stdout.strip() == "numpy", ok.stderr
    bad = _run("import funcgrad.numpy as f; f.ones(1)", FUNCGRAD_BACKEND="bogus")
    assert "unknown backend 'bogus' (from $FUNCGRAD_BACKEND)" in bad.stderr


def test_import_funcgrad_never_imports_cupy():
    out = _run(
        "import sys, funcgrad, funcgrad.numpy, funcgrad.tree_util, backends, stax, transforms;"
        "import funcgrad.numpy as f; f.ones(2) + 1;"
        "print('cupy' in sys.modules)"
    )
    assert out.stdout.strip() == "False", out.stderr


def test_mixing_backends_names_both():
    x = fnp.ones(3)
    y = funcgrad.device_put(np.ones(3), "numpy-second")
    assert y.backend == "numpy-second"
    with pytest.raises(
        ValueError, match=r"add: operands live on different backends \(numpy and numpy-second\)"
    ):
        x + y


def test_default_backend_context_and_device_put_get():
    with funcgrad.default_backend("numpy-second"):
        assert fnp.zeros(2).backend == "numpy-second"
        assert fnp.asarray([1, 2]).backend == "numpy-second"
        assert (fnp.ones(2) * 2).backend == "numpy-second"
    assert fnp.zeros(2).backend == "numpy"
    tree = {"a": fnp.ones(2), "b": [np.arange(3)]}
    moved = funcgrad.device_put(tree, "numpy-second")
    assert moved["a"].backend == moved["b"][0].backend == "numpy-second"
    host = funcgrad.device_get(moved)
    assert isinstance(host["b"][0], np.ndarray)
    np.testing.assert_array_equal(host["b"][0], np.arange(3))
    assert fnp.ones(2).to_device("numpy-second").backend == "numpy-second"


def test_scalar_literals_follow_the_array_backend():
    y = funcgrad.device_put(np.ones(3, np.float32), "numpy-second")
    out = y * 2.0 + 1
    assert out.backend == "numpy-second" and out.dtype == np.float32


# --- the CuPy backend's algorithms, run with NumPy as the array namespace ---------------------
# (CuPy lacks ufunc.at for most (operation, dtype) pairs, maximum.accumulate, lexsort with
# an axis, and bounds checks; backends/cupy_backend.py replaces them with algorithms over
# any array namespace, checked here against NumPy's own functions.)


def _is_np_array(x):
    return isinstance(x, np.ndarray)


def _repeating_index(data, shape):
    """A NumPy index into ``shape`` with at least one integer array whose entries repeat
    (values drawn from a few positions), beside slices, ints, None and Ellipsis."""
    idx_shape = data.draw(shapes(min_dims=1, max_dims=2, min_side=1, max_side=5), label="idx shape")
    index = [None] if data.draw(st.booleans(), label="leading None") else []
    arrays_made = 0
    for axis, n in enumerate(shape):
        last = axis == len(shape) - 1
        kind = (
            "array"
            if last and not arrays_made
            else data.draw(st.sampled_from(["array", "slice", "int"]))
        )
        if kind == "array":
            values = data.draw(
                st.lists(st.integers(-n, n - 1), min_size=1, max_size=2), label="values"
            )
            picks = data.draw(arrays(np.int64, idx_shape, min_value=0, max_value=len(values) - 1))
            index.append(np.array(values)[picks])
            arrays_made += 1
        elif kind == "int":
            index.append(data.draw(st.integers(-n, n - 1)))
        else:
            index.append(slice(None, None, data.draw(st.sampled_from([1, -1, 2]))))
    if data.draw(st.booleans(), label="trailing Ellipsis"):
        index.append(Ellipsis)
    return tuple(index)


@pytest.mark.parametrize("atomic", ["cupy", "none"])
@settings(max_examples=30)
@given(data=st.data())
def test_cupy_scatter_matches_ufunc_at(atomic, data):
    """Every mode and dtype, repeated indices included: through ufunc.at where CuPy has
    it (atomic="cupy"), else (and always with atomic="none") by sorting positions."""
    x = data.draw(arrays(dtypes("biuf", exclude=["float16"]), shapes(min_dims=1, max_dims=3, min_side=1),
                         min_value=-5, max_value=5))  # fmt: skip
    index = _repeating_index(data, x.shape)
    updates = data.draw(arrays(x.dtype, x[index].shape, min_value=-5, max_value=5))
    mode = data.draw(st.sampled_from(["set", "add", "multiply", "min", "max"]))
    at = cupy_backend.ATOMIC_AT if atomic == "cupy" else {"add": ()}
    got = cupy_backend.scatter(np, mode, x, index, updates, _is_np_array, atomic_at=at)
    expected = x.copy()
    if mode == "set":
        expected[index] = updates  # NumPy: the last of repeated writes wins
    else:
        ufunc = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}[mode]
        with np.errstate(all="ignore"):
            ufunc.at(expected, index, updates)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == x.dtype


def test_cupy_scatter_add_of_int64_is_an_atomic_uint64_add():
    # CuPy has no int64 atomic add: two's-complement addition on a uint64 view is the
    # same operation, wrapping included
    big = np.iinfo(np.int64).max
    x = np.array([big, -5, 0], dtype=np.int64)
    index = (np.array([0, 0, 1, 2, 1]),)
    updates = np.array([1, 2, -3, 4, big], dtype=np.int64)
    got = cupy_backend.scatter(np, "add", x, index, updates, _is_np_array)
    expected = x.copy()
    np.add.at(expected, index, updates)
    np.testing.assert_array_equal(got, expected)


@given(data=st.data())
def test_cupy_flat_positions_match_an_arange(data):
    shape = data.draw(shapes(max_dims=4))
    if data.draw(st.booleans()) and shape and 0 not in shape:
        index = _repeating_index(data, shape)
    else:
        indexer, operands = _index_draw(data, shape)
        index = _np_index(indexer, operands)
    expected = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)[index]
    got = cupy_backend.flat_positions(np, shape, index)
    np.testing.assert_array_equal(got, expected)
    assert got.shape == expected.shape


@given(data=st.data())
def test_cupy_running_extremum_matches_accumulate(data):
    x = data.draw(arrays(dtypes("iuf"), shapes(min_dims=1, max_dims=3), allow_nan=True))
    axis = data.draw(st.integers(0, x.ndim - 1))
    for op, ufunc in (("max", np.maximum), ("min", np.minimum)):
        np.testing.assert_array_equal(cupy_backend.running_extremum(np, op, x, axis),
                                      ufunc.accumulate(x, axis=axis))  # fmt: skip


@given(data=st.data())
def test_cupy_lexsort_by_argsorts_matches_lexsort(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    keys = tuple(data.draw(arrays(dtypes("iuf"), shape, min_value=-2, max_value=2, allow_nan=True))
                 for _ in range(data.draw(st.integers(1, 3))))  # fmt: skip
    axis = data.draw(st.integers(0, len(shape) - 1))
    np.testing.assert_array_equal(cupy_backend.lexsort_by_argsorts(np, keys, axis),
                                  np.lexsort(keys, axis=axis))  # fmt: skip


def test_cupy_index_bounds_raise_numpys_error():
    shape = (3, 4)
    cupy_backend.check_bounds(np, shape, (np.array([0, -3, 2]), slice(None)), _is_np_array)
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1 with size 4"):
        cupy_backend.check_bounds(np, shape, (Ellipsis, np.array([1, 4])), _is_np_array)
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 0 with size 3"):
        cupy_backend.check_bounds(np, shape, (None, np.array([[-4]]), 0), _is_np_array)


def test_cupy_backend_module_imports_without_cupy_and_fuses():
    from backends.cupy_backend import CuPyBackend

    assert CuPyBackend.fuses_elementwise and not NumPyBackend.fuses_elementwise
    assert CuPyBackend.check_index_bounds
