"""Process-wide switches (``funcgrad.config``), each with an environment variable default."""

from __future__ import annotations

import os
from typing import Any


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"funcgrad.config: ${name} must be an integer, got {text!r}") from None


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"funcgrad.config.{name} must be True or False, got {value!r}")
    return value


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"funcgrad.config.{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"funcgrad.config.{name} must be at least {minimum}, got {value}")
    return value


def _check_choice(choices: tuple) -> Any:
    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise ValueError(
                f"funcgrad.config.{name} must be one of {', '.join(map(repr, choices))}, "
                f"got {value!r}"
            )
        return value

    return check


def _check_path(name: str, value: Any) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"funcgrad.config.{name} must be a path, got {type(value).__name__}")
    return os.fspath(value)


def _default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return os.environ.get("FUNCGRAD_CACHE_DIR") or os.path.join(base, "funcgrad", "numba")


_CPU_FUSION_MODES = ("tiered", "always", "off")

#: Checks of the options' values (an option without one takes any value).
_VALIDATORS = {
    "cpu_fusion": _check_choice(_CPU_FUSION_MODES),
    "cpu_fusion_after_calls": lambda n, v: _check_count(n, v, 1),
    "cpu_fusion_cache_dir": _check_path,
    "debug_infs": _check_bool,
    "debug_nans": _check_bool,
    "explain_cache_misses": _check_bool,
    "jit_cache_size": lambda n, v: _check_count(n, v, 1),
    "jit_cache_bytes": lambda n, v: _check_count(n, v, 0),
}


class Config:
    """Settings read by the transformations; assign the attributes to change them.

    The options are the attributes set in ``__init__`` (and properties); assigning or
    reading any other name raises ``AttributeError`` listing them (a misspelt option
    must not be silently ignored).

    Attributes:
        cpu_fusion: fused CPU loops under ``jit`` on NumPy (needs numba: ``pip install
            "funcgrad[fast]"``; without it fusion is off and ``cpu_fusion_status`` says
            so). ``"tiered"`` (default): a program runs as NumPy calls first; after
            ``cpu_fusion_after_calls`` calls its fused version compiles in a background
            thread, then both run in turn for a few timed calls and the faster stays.
            ``"always"``: the first call compiles the fused version and it stays (for
            tests and benchmarks). ``"off"``: never. Default from
            ``$FUNCGRAD_CPU_FUSION``.
        cpu_fusion_after_calls: calls of one compiled signature before its fused
            version is compiled (``"tiered"``). Default 100, or
            ``$FUNCGRAD_CPU_FUSION_AFTER_CALLS``.
        cpu_fusion_cache_dir: where compiled loops are kept between processes (numba's
            cache, keyed by each loop's source). Default ``$FUNCGRAD_CACHE_DIR``, else
            ``$XDG_CACHE_HOME/funcgrad/numba`` (``~/.cache/funcgrad/numba``).
        cpu_fusion_status: (read only) whether fused CPU loops are on, and if not, why.
        debug_infs: like ``debug_nans``, for infinities. Default from
            ``$FUNCGRAD_DEBUG_INFS``.
        debug_nans: raise ``FloatingPointError`` at the first primitive whose result
            has a NaN, naming the primitive, its operand shapes and the user's file and
            line, eagerly, under ``jit`` (the function runs again eagerly to find it)
            and in the backward pass (naming the forward line whose derivative made
            it). Off costs nothing. Default from ``$FUNCGRAD_DEBUG_NANS``.
        explain_cache_misses: every time a ``jit``-compiled function is traced again
            for a new signature, warn with what changed ("train_step recompiled:
            argument 'x' shape (3, 4) -> (5, 4)"). Default from
            ``$FUNCGRAD_EXPLAIN_CACHE_MISSES``. Without it, the warning comes from the
            third trace of one function on.
        jit_cache_size: the most compiled signatures (programs) one jitted function
            keeps; beyond it the least recently used is evicted and traced again when
            next called. Default 128, or ``$FUNCGRAD_JIT_CACHE_SIZE``.
        jit_cache_bytes: the most bytes of pooled intermediate buffers (see the README's
            jit section) one jitted function's programs keep; beyond it least recently
            used programs are evicted (the one just called is always kept). Default
            256 MiB, or ``$FUNCGRAD_JIT_CACHE_BYTES``.

    Examples:
        >>> import funcgrad
        >>> funcgrad.config.explain_cache_misses = True
        >>> funcgrad.config.explain_cache_misses = False
        >>> funcgrad.config.jit_cache_size
        128
        >>> funcgrad.config.explain_cache_mises = True
        Traceback (most recent call last):
            ...
        AttributeError: funcgrad.config has no option 'explain_cache_mises'; the options are: cpu_fusion, cpu_fusion_after_calls, cpu_fusion_cache_dir, cpu_fusion_status, debug_infs, debug_nans, explain_cache_misses, jit_cache_bytes, jit_cache_size
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_frozen", False)
        self.cpu_fusion = _check_choice(_CPU_FUSION_MODES)(
            "cpu_fusion", os.environ.get("FUNCGRAD_CPU_FUSION", "").strip() or "tiered"
        )
        self.cpu_fusion_after_calls = _env_int("FUNCGRAD_CPU_FUSION_AFTER_CALLS", 100)
        self.cpu_fusion_cache_dir = _default_cache_dir()
        self.debug_nans = _env_flag("FUNCGRAD_DEBUG_NANS")
        self.debug_infs = _env_flag("FUNCGRAD_DEBUG_INFS")
        self.explain_cache_misses = _env_flag("FUNCGRAD_EXPLAIN_CACHE_MISSES")
        self.jit_cache_size = _env_int("FUNCGRAD_JIT_CACHE_SIZE", 128)
        self.jit_cache_bytes = _env_int("FUNCGRAD_JIT_CACHE_BYTES", 256 << 20)
        object.__setattr__(self, "_frozen", True)

    @property
    def cpu_fusion_status(self) -> str:
        """Whether jit fuses CPU loops, and if not, why (read only)."""
        if self.cpu_fusion == "off":
            return "off: funcgrad.config.cpu_fusion = 'off'"
        from funcgrad._src.interpreters import fusion_cpu

        reason = fusion_cpu.unavailable_reason()
        if reason is not None:
            return f"off: {reason}"
        when = (
            "on first call" if self.cpu_fusion == "always"
            else f"after {self.cpu_fusion_after_calls} calls"
        )  # fmt: skip
        return f"on: numba, fused {when}, kernels cached in {self.cpu_fusion_cache_dir}"

    def _options(self) -> list[str]:
        names = set(vars(self)) | {
            k for k, v in vars(type(self)).items() if isinstance(v, property)
        }
        return sorted(k for k in names if not k.startswith("_"))

    def _unknown(self, name: str) -> AttributeError:
        return AttributeError(
            f"funcgrad.config has no option {name!r}; the options are: {', '.join(self._options())}"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen and name not in self._options():
            raise self._unknown(name)
        check = _VALIDATORS.get(name)
        if check is not None:
            value = check(name, value)
        object.__setattr__(self, name, value)
        if name in ("debug_nans", "debug_infs") and self._frozen:
            from funcgrad._src import debug_nans

            debug_nans.sync()

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"funcgrad.config: options cannot be deleted ({name!r})")

    def __getattr__(self, name: str) -> Any:  # only for names that are not options
        if name.startswith("__"):
            raise AttributeError(name)
        raise self._unknown(name)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._options())
        return f"Config({fields})"


config = Config()
