"""Testing helpers for users' own functions: sound gradient checks.

- :func:`check_grads` compares derivatives with central finite differences, in forward
  mode (``J v`` element by element) and in reverse mode (``<vjp(c), v>`` against the same
  difference projected on ``c``, so ``modes=("rev",)`` alone is a real check and works on
  ``custom_vjp`` functions), recursing for higher orders; :func:`check_jvp` and
  :func:`check_vjp` are its two halves.
- :func:`check_transformations` checks that a derivative is finite and the same (value,
  shape, dtype) through eager ``grad``, ``jit``, ``vmap``, ``jvp`` and ``vjp``.
- :mod:`funcgrad.test_util.strategies` (needs hypothesis: ``pip install 'funcgrad[test]'``)
  draws arrays, matrices, pytrees, keys, ``in_axes`` and network shapes.
- :mod:`funcgrad.test_util.pytest_plugin` gives fixtures and hypothesis profiles.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.test_util import check_grads
    >>> check_grads(lambda x: fnp.sin(x) * x, (fnp.asarray([0.5, 1.0]),), order=2)
"""

from funcgrad._src.test_util.gradients import (
    GradientCheckError,
    check_grads,
    check_jvp,
    check_vjp,
)
from funcgrad._src.test_util.transformations import check_transformations

__all__ = [
    "GradientCheckError",
    "check_grads",
    "check_jvp",
    "check_transformations",
    "check_vjp",
]
