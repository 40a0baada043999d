"""``custom_root`` and ``custom_linear_solve``: solvers differentiated implicitly.

Both run the user's solver on values cut off from differentiation and add a correction
whose value is exactly zero but whose derivative is the implicit-function one:

* root ``x*`` of ``f(x) = 0``: ``x = x* + (c - stop_gradient(c))`` where ``c`` is two
  Newton steps ``x <- x - tangent_solve(J(x), f(x))`` started at the constant ``x*``.
  One step already gives ``dx = -J^{-1} (d f / d theta) d theta`` (the implicit
  function theorem); the second makes derivatives exact up to third order. The
  solver's iterations are never differentiated.
* ``x = A^{-1} b``: ``x = x* + (c - stop_gradient(c))`` with ``c = solve(matvec, b - A x*)``,
  so ``dx = A^{-1} (db - dA x*)``.

Higher derivatives come out of the same composition (the correction is
re-differentiated; for the linear solve, at every order), as long as ``tangent_solve``/``solve`` are differentiable in their
right-hand side (true of every solver written with funcgrad operations, iterative ones
included, in forward mode; reverse mode needs what ``grad`` of the solver needs).
"""

from __future__ import annotations

from collections.abc import Callable

from funcgrad._src.tree_util import tree_map

__all__ = ["custom_linear_solve", "custom_root"]


def _stop(tree):
    from funcgrad._src.custom_derivatives import stop_gradient

    return tree_map(stop_gradient, tree)


def _zero_valued(c):
    """``c - stop_gradient(c)``: zero, with the derivative of ``c``."""
    return tree_map(lambda a, b: a - b, c, _stop(c))


def custom_root(f: Callable, initial_guess, solve: Callable, tangent_solve: Callable,
                has_aux: bool = False):  # fmt: skip
    """The root ``solve(f, initial_guess)`` of ``f``, differentiated implicitly.

    Args:
        f: the function whose root is sought (it may close over values being differentiated).
        initial_guess: the starting point, a pytree.
        solve: ``solve(f, initial_guess) -> root`` (or ``(root, aux)`` with ``has_aux``).
        tangent_solve: ``tangent_solve(g, y) -> x`` solving the linear ``g(x) = y``, where
            ``g`` is the Jacobian-vector product of ``f`` at the root (for scalars
            ``lambda g, y: y / g(1.0)``).
        has_aux: whether ``solve`` also returns auxiliary data (not differentiated).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> def newton_sqrt(a):
        ...     f = lambda x: x * x - a
        ...     def solve(f, x):
        ...         for _ in range(30):
        ...             x = x - f(x) / (2 * x)
        ...         return x
        ...     return lax.custom_root(f, 1.0, solve, lambda g, y: y / g(1.0))
        >>> round(float(funcgrad.grad(newton_sqrt)(fnp.asarray(4.0))), 6)  # 1 / (2 sqrt(a))
        0.25
    """
    from funcgrad._src.autodiff import jvp

    out = solve(f, _stop(initial_guess))
    root, aux = out if has_aux else (out, None)
    root = _stop(root)

    def newton_step(x):
        step = tangent_solve(lambda v: jvp(f, (x,), (v,))[1], f(x))
        return tree_map(lambda a, b: a - b, x, step)

    # Two Newton steps from the (constant) root: its error as a function of the
    # parameters is O(|d theta|^4), so derivatives up to third order are exact.
    refined = newton_step(newton_step(root))
    x = tree_map(lambda r, c: r + c, root, _zero_valued(refined))
    return (x, _stop(aux)) if has_aux else x


def custom_linear_solve(matvec: Callable, b, solve: Callable, transpose_solve=None,
                        symmetric: bool = False, has_aux: bool = False):  # fmt: skip
    """``x = solve(matvec, b)`` for the linear ``matvec`` (pytrees of ``b``'s structure),
    differentiated implicitly, never through the solver's steps: the tangent is
    ``solve(matvec, db - dA x)`` and the cotangent ``transpose_solve(vecmat, ct)``, where
    ``vecmat`` is ``matvec``'s transpose (an iterative solver's loop, which has no
    derivative of its own, is fine).

    As in JAX: with ``symmetric=True`` the transpose solve is ``solve``; ``has_aux``:
    ``solve`` returns ``(x, aux)`` and ``aux`` gets no derivative. Where JAX needs
    ``transpose_solve`` for reverse mode and none is given, the transpose of ``solve``
    as a linear function of its right-hand side is used (exact for a direct solve; a
    solver with a ``while_loop`` cannot be transposed and raises, naming the loop:
    pass ``transpose_solve`` then).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> a = fnp.asarray([[2.0, 1.0], [1.0, 3.0]])
        >>> def f(b):
        ...     return lax.custom_linear_solve(lambda x: a @ x, b,
        ...                                    lambda mv, r: fnp.linalg.solve(a, r))
        >>> funcgrad.grad(lambda b: f(b).sum())(fnp.ones(2)).round(4).tolist()
        [0.4, 0.2]
    """
    from funcgrad._src.autodiff import linear_transpose
    from funcgrad._src.scipy.linear_solve import linear_solve
    from funcgrad._src.tree_util import tree_flatten, tree_unflatten

    leaves, treedef = tree_flatten(b)

    def tree(v):  # flat list of arrays -> b's structure
        return tree_unflatten(treedef, list(v))

    def flat(fun):  # a function of pytrees as one of flat lists of arrays
        return lambda v: tree_flatten(fun(tree(v)))[0]

    def unflat(fun):  # the inverse: a function of flat lists as one of pytrees
        return lambda t: tree(fun(tree_flatten(t)[0]))

    def solution(out):
        return out[0] if has_aux else out

    # (the primitive carries x alone: aux, which has no derivative, takes its own solve)
    aux = _stop(solve(matvec, _stop(b))[1]) if has_aux else None

    def flat_solve(mv, v):
        return flat(lambda r: solution(solve(unflat(mv), r)))(v)

    if transpose_solve is not None:

        def flat_transpose_solve(vm, v):
            return flat(lambda r: solution(transpose_solve(unflat(vm), r)))(v)

    else:

        def flat_transpose_solve(vm, v):  # the transpose of solve, linear in its input
            transposed = linear_transpose(lambda r: flat_solve(flat(matvec), r), list(v))
            return list(transposed(list(v))[0])

    x = tree(linear_solve(flat(matvec), leaves, flat_solve, flat_transpose_solve, symmetric))
    return (x, aux) if has_aux else x
