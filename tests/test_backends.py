"""Backend selection, the registry's errors, placement, and mixing backends."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import backends
import funcgrad
import funcgrad.numpy as fnp
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
    with pytest.raises(backends.BackendUnavailableError, match="backend 'cupy' is unavailable: (the cupy package is not installed|cupy is installed but)"):
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
    with pytest.raises(ValueError, match=r"add: operands live on different backends \(numpy and numpy-second\)"):
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
