"""Shared test helpers: hypothesis strategies for arrays, and the NumPy oracle check.

``check_against_numpy(fnp_fn, np_fn, *args)`` runs both functions on the same data
and asserts equal shapes, dtypes and values; that abstract evaluation
(``funcgrad.eval_shape``) predicts the result's shapes and dtypes; and that no input
was mutated.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as fnp

FLOAT_DTYPES = [np.dtype(t) for t in (np.float16, np.float32, np.float64)]
INT_DTYPES = [np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64)]
UINT_DTYPES = [np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64)]
COMPLEX_DTYPES = [np.dtype(np.complex64), np.dtype(np.complex128)]
BOOL_DTYPES = [np.dtype(np.bool_)]
ALL_DTYPES = BOOL_DTYPES + INT_DTYPES + UINT_DTYPES + FLOAT_DTYPES + COMPLEX_DTYPES

DTYPES_BY_KIND = {
    "b": BOOL_DTYPES, "i": INT_DTYPES, "u": UINT_DTYPES, "f": FLOAT_DTYPES, "c": COMPLEX_DTYPES,
}  # fmt: skip


def dtypes(kinds: str = "biufc", exclude=()) -> st.SearchStrategy[np.dtype]:
    """Dtypes of the given kinds ('b' bool, 'i' int, 'u' uint, 'f' float, 'c' complex)."""
    choices = [d for k in kinds for d in DTYPES_BY_KIND[k] if d not in [np.dtype(e) for e in exclude]]
    return st.sampled_from(choices)


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 0, max_side: int = 5):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def elements(dtype: np.dtype, *, min_value=None, max_value=None, allow_nan: bool = False,
             allow_infinity: bool = False) -> st.SearchStrategy:  # fmt: skip
    """Element values for ``dtype``; floats bounded (default |x| <= 100) so that
    arithmetic does not overflow unless a test asks for it."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        lo = _representable(dtype, -100.0 if min_value is None else min_value, np.inf)
        hi = _representable(dtype, 100.0 if max_value is None else max_value, -np.inf)
        finite = st.floats(min_value=lo, max_value=hi, width=dtype.itemsize * 8)
        specials = ([np.nan] if allow_nan else []) + ([np.inf, -np.inf] if allow_infinity else [])
        return finite | st.sampled_from(specials) if specials else finite
    if dtype.kind == "c":
        part = np.dtype(f"f{dtype.itemsize // 2}")
        return st.builds(complex, elements(part, min_value=min_value, max_value=max_value),
                         elements(part, min_value=min_value, max_value=max_value))  # fmt: skip
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo = max(info.min, -100 if min_value is None else min_value)
        hi = min(info.max, 100 if max_value is None else max_value)
        return st.integers(int(lo), int(hi))
    return st.booleans()


def _representable(dtype: np.dtype, bound: float, inward: float) -> float:
    """``bound`` rounded in ``dtype``, stepping towards ``inward`` if rounding moved it outwards."""
    v = dtype.type(bound)
    if (inward > 0 and v < bound) or (inward < 0 and v > bound):
        v = np.nextafter(v, dtype.type(inward))
    return float(v)


def arrays(dtype, shape, **element_kwargs) -> st.SearchStrategy[np.ndarray]:
    """NumPy arrays of ``dtype`` (a dtype or a strategy) and ``shape`` (a tuple or strategy)."""
    if isinstance(dtype, st.SearchStrategy):
        return dtype.flatmap(lambda d: arrays(d, shape, **element_kwargs))
    return hnp.arrays(np.dtype(dtype), shape, elements=elements(dtype, **element_kwargs))


def default_tolerance(dtype: np.dtype) -> tuple[float, float]:
    """(rtol, atol) for comparing results of ``dtype`` computed in different orders."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        eps = np.finfo(dtype).eps
        return float(eps) * 64, float(eps) * 64
    return 0.0, 0.0


def _to_funcgrad(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return fnp.asarray(x)
    if isinstance(x, tuple):
        return tuple(_to_funcgrad(e) for e in x)
    if isinstance(x, list) and any(isinstance(e, np.ndarray) for e in x):
        return [_to_funcgrad(e) for e in x]
    return x


def _leaves(x: Any) -> list:
    """Outputs as a flat list: tuples and lists (split, meshgrid, nonzero...) are flattened."""
    if isinstance(x, (tuple, list)):
        return [leaf for e in x for leaf in _leaves(e)]
    return [x]


def assert_same(actual: Any, expected: Any, *, rtol=None, atol=None, check_dtype=True, what="result"):
    """Assert a funcgrad result equals a NumPy result: shape, dtype and values (NaNs equal)."""
    actual_np = np.asarray(actual)
    expected_np = np.asarray(expected)
    assert actual_np.shape == expected_np.shape, (
        f"{what}: shape {actual_np.shape} != NumPy's {expected_np.shape}"
    )
    if check_dtype:
        assert actual_np.dtype == expected_np.dtype, (
            f"{what}: dtype {actual_np.dtype} != NumPy's {expected_np.dtype}"
        )
    d_rtol, d_atol = default_tolerance(expected_np.dtype)
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    if expected_np.dtype.kind in "fc" or actual_np.dtype.kind in "fc":
        np.testing.assert_allclose(actual_np, expected_np, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=what)  # fmt: skip
    else:
        np.testing.assert_array_equal(actual_np, expected_np, err_msg=what)


def check_against_numpy(
    fnp_fn: Callable, np_fn: Callable, *args: Any, rtol=None, atol=None, check_dtype: bool = True,
    check_abstract: bool = True, **kwargs: Any,
) -> Any:  # fmt: skip
    """Run ``fnp_fn`` and ``np_fn`` on the same arguments and compare (see module docstring).

    NumPy-array arguments become funcgrad arrays for ``fnp_fn`` (also inside tuples
    and lists); everything else (scalars, axes, kwargs) is passed to both unchanged.
    Returns the funcgrad result.
    """
    originals = [a.copy() for a in args if isinstance(a, np.ndarray)]
    expected = np_fn(*args, **kwargs)
    fg_args = tuple(_to_funcgrad(a) for a in args)
    actual = fnp_fn(*fg_args, **kwargs)
    exp_leaves, act_leaves = _leaves(expected), _leaves(actual)
    assert len(exp_leaves) == len(act_leaves), (
        f"{len(act_leaves)} outputs, NumPy gives {len(exp_leaves)}"
    )
    for i, (a, e) in enumerate(zip(act_leaves, exp_leaves)):
        assert_same(a, e, rtol=rtol, atol=atol, check_dtype=check_dtype, what=f"output {i}")
    if check_abstract:
        shapes_out = funcgrad.eval_shape(lambda *a: fnp_fn(*a, **kwargs), *fg_args)
        for i, (s, a) in enumerate(zip(_leaves(shapes_out), act_leaves)):
            a = np.asarray(a)
            assert (s.shape, s.dtype) == (a.shape, a.dtype), (
                f"output {i}: eval_shape says {s.shape} {s.dtype}, the result is {a.shape} {a.dtype}"
            )
    for before, after in zip(originals, (a for a in args if isinstance(a, np.ndarray))):
        np.testing.assert_array_equal(before, after, err_msg="an input was mutated")
    for a, orig in zip((a for a in fg_args if isinstance(a, fnp.ndarray)), originals):
        np.testing.assert_array_equal(np.asarray(a), orig, err_msg="a funcgrad input changed")
    return actual


def counting(fun: Callable) -> Callable:
    """``fun`` with a count (``.count``) of how many times it runs: under jit, once per
    trace."""

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        wrapped.count += 1
        return fun(*args, **kwargs)

    wrapped.count = 0
    return wrapped
