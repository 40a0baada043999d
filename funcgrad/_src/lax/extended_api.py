"""The ``funcgrad.lax`` names beyond the core wrappers: dynamic slicing, XLA gather and
scatter, scans, bit operations, solvers, FFTs, ``lax.linalg``, small array operations, shape
arithmetic and type names, gathered for one import."""

from funcgrad._src.lax import array_ops as _array_ops
from funcgrad._src.lax import bits as _bits
from funcgrad._src.lax import compositions as _compositions
from funcgrad._src.lax import lax_linalg as linalg  # noqa: F401
from funcgrad._src.lax import lax_types as _lax_types
from funcgrad._src.lax import shape_rules as _shape_rules
from funcgrad._src.lax import slicing_wrappers as _slicing_wrappers
from funcgrad._src.lax import solvers as _solvers
from funcgrad._src.lax.array_ops import *
from funcgrad._src.lax.bits import *
from funcgrad._src.lax.compositions import *
from funcgrad._src.lax.fft import FftType, fft  # noqa: F401
from funcgrad._src.lax.lax_types import *
from funcgrad._src.lax.shape_rules import *
from funcgrad._src.lax.slicing_wrappers import *
from funcgrad._src.lax.solvers import *

__all__ = sorted(  # noqa: PLE0605
    set(_slicing_wrappers.__all__)
    | set(_bits.__all__)
    | set(_compositions.__all__)
    | set(_solvers.__all__)
    | set(_array_ops.__all__)
    | set(_lax_types.__all__)
    | set(_shape_rules.__all__)
    | {"linalg", "FftType", "fft"}
)
