"""The CuPy backend: NVIDIA GPU arrays; cupy is imported only when this backend is built."""

from __future__ import annotations

from typing import Any

from backends.base import Backend, BackendUnavailableError


def _import_cupy():
    """Import cupy and check for a usable CUDA device, naming the missing piece if not."""
    try:
        import cupy
    except ImportError as e:
        raise BackendUnavailableError(
            "backend 'cupy' is unavailable: the cupy package is not installed "
            f"({e}). Install it with pip install 'funcgrad[cuda12]' or 'funcgrad[cuda13]'."
        ) from e
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver missing or broken: cupy raises its own types
        raise BackendUnavailableError(
            f"backend 'cupy' is unavailable: cupy is installed but CUDA reports no usable "
            f"GPU ({type(e).__name__}: {e})."
        ) from e
    if count == 0:
        raise BackendUnavailableError(
            "backend 'cupy' is unavailable: cupy is installed but no CUDA device was found."
        )
    return cupy


class CuPyBackend(Backend):
    """GPU execution on CuPy arrays (cuBLAS and cuDNN through CuPy)."""

    name = "cupy"

    def __init__(self) -> None:
        cupy = _import_cupy()
        self.xp = cupy
        self.buffer_type = cupy.ndarray

    def freeze(self, buf: Any) -> Any:
        # CuPy has no read-only flag; funcgrad never writes into a buffer it handed out.
        if type(buf) is not self.buffer_type:
            buf = self.xp.asarray(buf)
        return buf

    def to_numpy(self, buf: Any) -> Any:
        return self.xp.asnumpy(buf)
