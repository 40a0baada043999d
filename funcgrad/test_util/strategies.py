"""Hypothesis strategies for funcgrad arrays, matrices, pytrees, keys, ``in_axes`` and
network shapes (see :mod:`funcgrad._src.test_util.strategies` for each one's contract).

Needs hypothesis, an optional dependency: ``pip install 'funcgrad[test]'``.
"""

try:
    import hypothesis  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised with hypothesis uninstalled
    raise ImportError(
        "funcgrad.test_util.strategies needs hypothesis, which is not installed; install "
        "the test extra: pip install 'funcgrad[test]'"
    ) from e

from funcgrad._src.test_util.strategies import (
    arrays,
    batched,
    broadcastable_arrays,
    conv_input_shapes,
    dense_input_shapes,
    dtypes,
    in_axes,
    keys,
    orthogonal_matrices,
    probability_vectors,
    pytrees,
    shapes,
    spd_matrices,
    values,
    well_conditioned_matrices,
)

__all__ = [
    "arrays",
    "batched",
    "broadcastable_arrays",
    "conv_input_shapes",
    "dense_input_shapes",
    "dtypes",
    "in_axes",
    "keys",
    "orthogonal_matrices",
    "probability_vectors",
    "pytrees",
    "shapes",
    "spd_matrices",
    "values",
    "well_conditioned_matrices",
]
