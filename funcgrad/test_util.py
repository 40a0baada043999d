"""Testing helpers for users' own functions: numerical gradient checks.

``check_grads(f, args, order=2)`` compares funcgrad's derivatives of ``f`` with
finite differences, in forward mode (JVP against a central difference along a
random direction) and reverse mode (VJP checked against the JVP by the
inner-product identity ``<J t, c> == <t, J^T c>``), recursing for higher orders.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.test_util import check_grads
    >>> check_grads(lambda x: fnp.sin(x) * x, (fnp.asarray([0.5, 1.0]),), order=2)
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from funcgrad._src.autodiff import jvp, vjp
from funcgrad._src.tree_util import tree_flatten, tree_map

_DEFAULT_EPS = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-5,
                np.dtype(np.complex64): 1e-3, np.dtype(np.complex128): 1e-5}  # fmt: skip
_DEFAULT_TOL = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 2e-2, np.dtype(np.float64): 1e-5,
                np.dtype(np.complex64): 2e-2, np.dtype(np.complex128): 1e-5}  # fmt: skip


def _host(tree: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in tree_flatten(tree)[0]]


def _widest(dtypes_: list[np.dtype], table: dict, default: float) -> float:
    values = [table.get(np.dtype(d)) for d in dtypes_ if np.dtype(d) in table]
    return max(values) if values else default


def _inner(a: Any, b: Any) -> float:
    """The real inner product ``Re <a, b>`` of two pytrees of arrays."""
    return sum(float(np.real(np.vdot(x, y))) for x, y in zip(_host(a), _host(b)))


def _conj(tree: Any) -> Any:
    return tree_map(lambda x: x.conj() if np.iscomplexobj(np.asarray(x)) else x, tree)


def _random_like(rng: np.random.Generator, tree: Any) -> Any:
    import funcgrad.numpy as fnp

    def draw(x):
        shape, dtype = np.shape(x), np.asarray(x).dtype
        v = rng.standard_normal(shape)
        if dtype.kind == "c":
            v = v + 1j * rng.standard_normal(shape)
        return fnp.asarray(v.astype(dtype))

    return tree_map(draw, tree)


def _axpy(a: float, x: Any, y: Any) -> Any:
    return tree_map(lambda xi, yi: yi + a * xi, x, y)


def _assert_close(
    fname: str, what: str, actual: Any, expected: Any, atol: float, rtol: float
) -> None:
    for i, (a, e) in enumerate(zip(_host(actual), _host(expected))):
        if not np.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True):
            err = np.max(np.abs(a - e)) if a.size else 0.0
            raise AssertionError(
                f"check_grads({fname}): {what} differ (output leaf {i}, max abs error {err:.3g}, "
                f"atol={atol:g}, rtol={rtol:g}):\n  autodiff: {a!r}\n  numerical: {e!r}"
            )


def check_jvp(
    f: Callable, args: Sequence[Any], *, atol=None, rtol=None, eps=None, rng=None
) -> None:
    """Assert that ``jvp(f)`` agrees with a central difference along a random direction."""
    rng = rng or np.random.default_rng([0, 0x5EED])
    dts = [x.dtype for x in _host(args)]
    eps = eps or _widest(dts, _DEFAULT_EPS, 1e-5)
    tol = _widest(dts, _DEFAULT_TOL, 1e-5)
    atol, rtol = atol or tol, rtol or tol
    tangent = _random_like(rng, tuple(args))
    _, out_tangent = jvp(f, tuple(args), tangent)
    plus = f(*_axpy(eps / 2, tangent, tuple(args)))
    minus = f(*_axpy(-eps / 2, tangent, tuple(args)))
    numerical = tree_map(lambda p, m: (np.asarray(p) - np.asarray(m)) / eps, plus, minus)
    _assert_close(
        getattr(f, "__name__", "f"),
        "JVP and finite differences",
        out_tangent,
        numerical,
        atol,
        rtol,
    )


def check_vjp(f: Callable, args: Sequence[Any], *, atol=None, rtol=None, rng=None) -> None:
    """Assert ``<vjp(c), t> == <c, jvp(t)>`` for random ``t`` and ``c`` (the VJP is the
    transpose of the JVP, which :func:`check_jvp` checks numerically)."""
    rng = rng or np.random.default_rng([1, 0x5EED])
    dts = [x.dtype for x in _host(args)]
    tol = _widest(dts, _DEFAULT_TOL, 1e-5)
    atol, rtol = atol or tol, rtol or tol
    out, f_vjp = vjp(f, *args)
    tangent = _random_like(rng, tuple(args))
    _, out_tangent = jvp(f, tuple(args), tangent)
    cotangent = _random_like(rng, out)
    # funcgrad's VJPs are plain transposes (no conjugation, as in JAX); conjugating the
    # cotangent on the way in and out turns the identity into one of real inner products,
    # valid for real, complex and mixed real/complex functions alike.
    lhs = _inner(tangent, _conj(f_vjp(_conj(cotangent))))
    rhs = _inner(out_tangent, cotangent)
    scale = max(1.0, abs(lhs), abs(rhs))
    if abs(lhs - rhs) > atol * scale + rtol * scale:
        raise AssertionError(
            f"check_grads({getattr(f, '__name__', 'f')}): VJP is not the transpose of the JVP: "
            f"<vjp(c), t> = {lhs!r} but <c, jvp(t)> = {rhs!r}"
        )


def check_grads(f: Callable, args: Sequence[Any], order: int, modes: Sequence[str] = ("fwd", "rev"),
                atol: float | None = None, rtol: float | None = None, eps: float | None = None,
                seed: int = 0) -> None:  # fmt: skip
    """Check the derivatives of ``f`` at ``args`` up to ``order`` against finite differences.

    Args:
        f: a function of arrays (pytrees allowed) returning arrays.
        args: a tuple of arguments.
        order: 1 checks first derivatives; 2 also differentiates the derivatives; ...
        modes: ``"fwd"`` checks JVPs numerically, ``"rev"`` checks VJPs against JVPs.
        atol, rtol: tolerances (defaults by dtype: 1e-5 for float64, 2e-2 for float32).
        eps: the finite-difference step (default by dtype).
        seed: seeds the random directions.

    Raises:
        AssertionError: naming the mode, order and the mismatching values.
    """
    args = tuple(args)
    # A salted stream: test data drawn from default_rng(seed) must not equal the direction.
    rng = np.random.default_rng([seed, 0x5EED])
    modes = tuple(modes)
    for mode in modes:
        if mode not in ("fwd", "rev"):
            raise ValueError(f"check_grads: unknown mode {mode!r}; use 'fwd' and/or 'rev'")

    def _check(fun, fun_args, current_order):
        if "fwd" in modes:
            check_jvp(fun, fun_args, atol=atol, rtol=rtol, eps=eps, rng=rng)
        if "rev" in modes:
            check_vjp(fun, fun_args, atol=atol, rtol=rtol, rng=rng)
        if current_order < order:
            if "fwd" in modes:
                direction = _random_like(rng, fun_args)

                def fwd_derivative(*xs):
                    return jvp(fun, xs, direction)[1]

                _check(fwd_derivative, fun_args, current_order + 1)
            if "rev" in modes:
                out = fun(*fun_args)
                cotangent = _random_like(rng, out)

                def rev_derivative(*xs):
                    return vjp(fun, *xs)[1](cotangent)

                _check(rev_derivative, fun_args, current_order + 1)

    _check(f, args, 1)
