"""The numerical side of the gradient checks: flat arguments with key paths, step sizes and
tolerances per dtype, random directions and central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad._src.api import device_put
from funcgrad._src.core import Array
from funcgrad._src.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_unflatten

_F16, _F32, _F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
_C64, _C128 = np.dtype(np.complex64), np.dtype(np.complex128)

# A central difference errs by about h**2 |f'''| / 6 (truncation) plus u |f| / h (rounding,
# u the unit roundoff), smallest near h ~ u**(1/3): 5e-6 in float64, 4e-3 in float32.
DEFAULT_STEP = {_F16: 1e-1, _F32: 1e-3, _F64: 1e-5, _C64: 1e-3, _C128: 1e-5}
# Tolerances for comparing autodiff with that estimate (atol and rtol alike).
DEFAULT_TOLERANCE = {_F16: 1e-1, _F32: 2e-2, _F64: 1e-5, _C64: 2e-2, _C128: 1e-5}
# Tolerances for comparing two autodiff results that differ only by the order of rounding
# (eager against jit, vmap against a loop): about the square root of the unit roundoff.
DEFAULT_ROUNDING_TOLERANCE = {_F16: 1e-2, _F32: 3e-4, _F64: 1e-8, _C64: 3e-4, _C128: 1e-8}

_PROMOTED = {_F16: _F64, _F32: _F64, _C64: _C128}


def is_float(dtype: Any) -> bool:
    """Float and complex values have tangents; integers, booleans and float0 do not."""
    return np.dtype(dtype).kind in "fc"


def host(x: Any) -> np.ndarray:
    """A leaf (funcgrad array on any backend, NumPy array, Python scalar) as a NumPy array."""
    return np.asarray(x)


def wide(x: np.ndarray) -> np.ndarray:
    """``x`` in float64 (complex128 for complex values), the precision the checks compute in."""
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)


def low_precision(dtypes: Sequence[np.dtype]) -> bool:
    return any(np.dtype(d) in (_F16, _F32, _C64) for d in dtypes)


def per_dtype(value: float | dict | None, dtypes: Sequence[np.dtype], table: dict) -> float:
    """``value`` if it is a number; else the loosest entry (of ``value`` as a dict over
    ``table``) among the float ``dtypes`` involved: the least precise dtype limits the check."""
    if value is not None and not isinstance(value, dict):
        return float(value)
    merged = dict(table)
    merged.update({np.dtype(k): v for k, v in (value or {}).items()})
    found = [merged[np.dtype(d)] for d in dtypes if np.dtype(d) in merged]
    return float(max(found)) if found else float(merged[_F64])


def put_like(value: np.ndarray, like: Any) -> Any:
    """Host ``value`` as a funcgrad array of ``like``'s dtype, on ``like``'s backend."""
    value = np.asarray(value).astype(host_dtype(like))
    backend = like.backend if type(like) is Array else None
    return device_put(value, backend)


def host_dtype(x: Any) -> np.dtype:
    return np.dtype(x.dtype) if hasattr(x, "dtype") else np.asarray(x).dtype


def label(prefix: str, path: Any) -> str:
    return prefix + keystr(path)


def compact(x: np.ndarray) -> str:
    """A short, one-line rendering of an array for failure messages."""
    x = np.asarray(x)
    if x.ndim == 0:
        return f"{x.item():.6g}"
    text = np.array2string(x, precision=4, threshold=8, edgeitems=2, max_line_width=10_000)
    return " ".join(text.split())


def describe(x: Any) -> str:
    """``float32[3,2]``: dtype and shape the way funcgrad prints avals."""
    shape = np.shape(x)
    return f"{host_dtype(x)}[{','.join(map(str, shape))}]"


class FlatArgs:
    """The arguments of a checked function as flat leaves, each with its key path
    (``args[0]['w']``) and whether it is differentiable, and a function of the leaves."""

    def __init__(self, fun: Callable, args: Sequence[Any], *, promote: bool = False) -> None:
        path_leaves, self.treedef = tree_flatten_with_path(tuple(args))
        self.paths = [label("args", p) for p, _ in path_leaves]
        self.leaves = [_as_funcgrad(x) for _, x in path_leaves]
        self.user_fun = fun
        self.name = getattr(fun, "__name__", None) or type(fun).__name__
        self.note = ""
        if promote:
            self._promote()

    @property
    def diff(self) -> list[bool]:
        return [is_float(host_dtype(x)) for x in self.leaves]

    def flat_fun(self, *leaves: Any) -> Any:
        return self.user_fun(*tree_unflatten(self.treedef, list(leaves)))

    def _promote(self) -> None:
        """Check in float64 what was given in float32 or float16, if ``f`` computes in
        float64 then (its float outputs are all 64-bit); else keep the given dtypes."""
        widened = [
            x.astype(_PROMOTED[host_dtype(x)]) if host_dtype(x) in _PROMOTED else x
            for x in self.leaves
        ]
        if all(w is x for w, x in zip(widened, self.leaves)):
            return
        try:
            out_leaves = tree_flatten(self.flat_fun(*widened))[0]
        except Exception as e:  # noqa: BLE001  (any failure means: not in float64)
            self.note = (
                f"promote=True: {self.name} failed on float64 arguments "
                f"({type(e).__name__}: {e}), so it was checked in the given dtypes"
            )
            return
        narrow = [host_dtype(o) for o in out_leaves if is_float(host_dtype(o))]
        narrow = [d for d in narrow if d.itemsize < (16 if d.kind == "c" else 8)]
        if narrow:
            self.note = (
                f"promote=True: {self.name} returns {narrow[0]} even from float64 arguments, "
                f"so it was checked in the given dtypes"
            )
            return
        self.leaves = widened
        self.note = "promote=True: checked in float64"


def _as_funcgrad(x: Any) -> Any:
    if type(x) is Array:
        return x
    return device_put(np.asarray(x))


def random_directions(rng: np.random.Generator, leaves: Sequence[Any]) -> list:
    """One standard-normal direction per differentiable leaf (complex normal for complex
    leaves), on the host in float64; ``None`` for the others."""
    out = []
    for x in leaves:
        dtype = host_dtype(x)
        if not is_float(dtype):
            out.append(None)
            continue
        shape = np.shape(x)
        v = rng.standard_normal(shape)
        if dtype.kind == "c":
            v = v + 1j * rng.standard_normal(shape)
        out.append(v)
    return out


def zeros_like_leaf(x: Any) -> Any:
    return put_like(np.zeros(np.shape(x)), x)


def tangents_of(directions: Sequence[Any], leaves: Sequence[Any]) -> list:
    """Funcgrad tangents (each leaf's dtype) of host directions; zeros where ``None``."""
    return [zeros_like_leaf(x) if d is None else put_like(d, x) for d, x in zip(directions, leaves)]


def flat_outputs(out: Any) -> tuple[list, list[str]]:
    """Output leaves and their labels (``output``, ``output[1]``, ``output['loss']``)."""
    path_leaves, _ = tree_flatten_with_path(out)
    return [x for _, x in path_leaves], [label("output", p) for p, _ in path_leaves]


def _safe_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a - b`` with equal values (infinities too) giving exactly zero."""
    with np.errstate(invalid="ignore"):
        return np.where(a == b, 0, a - b)


def finite_difference(
    fun: Callable, leaves: Sequence[Any], directions: Sequence[Any], step: float
) -> tuple[list, list]:
    """The central difference ``(f(x + h v) - f(x - h v)) / 2h`` of every float output.

    ``x + h v`` is rounded to each leaf's dtype; the direction returned is the one the two
    rounded points really differ by, ``(x+ - x-) / 2h``, so autodiff can be evaluated along
    exactly the direction the difference measured (in float32 the rounding of ``x + h v``
    alone would otherwise be a relative error of ``u |x| / h``, about 1e-3 at ``|x| ~ 10``).

    Returns:
        ``(differences, directions)``: per output leaf a float64/complex128 host array
        (``None`` for integer outputs), and per input leaf the effective host direction
        (``None`` for integer inputs).
    """
    plus, minus, effective = [], [], []
    for x, d in zip(leaves, directions):
        if d is None:
            plus.append(x)
            minus.append(x)
            effective.append(None)
            continue
        base = wide(host(x))
        dtype = host_dtype(x)
        hi = (base + step * d).astype(dtype)
        lo = (base - step * d).astype(dtype)
        effective.append((wide(hi) - wide(lo)) / (2 * step))
        plus.append(put_like(hi, x))
        minus.append(put_like(lo, x))
    out_plus = tree_flatten(fun(*plus))[0]
    out_minus = tree_flatten(fun(*minus))[0]
    diffs = []
    for p, m in zip(out_plus, out_minus):
        p, m = host(p), host(m)
        if not is_float(p.dtype):
            diffs.append(None)
            continue
        diffs.append(_safe_difference(wide(p), wide(m)) / (2 * step))
    return diffs, effective


def real_inner(a: np.ndarray, b: np.ndarray) -> float:
    """``Re <a, b> = Re sum(conj(a) * b)``, the real inner product of complex vectors."""
    return float(np.real(np.vdot(np.ravel(a), np.ravel(b))))
