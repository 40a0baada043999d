"""funcgrad.numpy.linalg: NumPy's linear algebra over funcgrad arrays."""

from funcgrad._src.numpy.linalg import *  # noqa: F403
