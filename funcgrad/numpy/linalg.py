"""funcgrad.numpy.linalg: NumPy's linear algebra over funcgrad arrays."""

from funcgrad._src.numpy.linalg import *  # noqa: F403
from funcgrad._src.numpy.errors import wrap_namespace as _wrap_namespace  # noqa: E402

# Errors raised inside (a singular matrix in inv, say) name the function that was called.
_wrap_namespace(globals(), "funcgrad.numpy.linalg.")
