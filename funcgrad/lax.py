"""funcgrad.lax: the primitives with JAX's names; no implicit broadcasting or promotion.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad import lax
    >>> lax.dot_general(fnp.ones((2, 3)), fnp.ones((3, 4)), (((1,), (0,)), ((), ()))).shape
    (2, 4)
    >>> lax.pad(fnp.asarray([1, 2]), 0, [(1, 0, 1)]).tolist()
    [0, 1, 0, 2]
"""

from funcgrad._src.control_flow import cond, fori_loop, map, scan, switch, while_loop
from funcgrad._src.custom_derivatives import stop_gradient
from funcgrad._src.lax import wrappers as _wrappers
from funcgrad._src.lax import convolution as _convolution
from funcgrad._src.lax import windowed as _windowed
from funcgrad._src.lax import special as _special
from funcgrad._src.lax import parallel as _parallel
from funcgrad._src.lax import extended_api as _extended_api
from funcgrad._src.lax.extended_api import *  # noqa: F403
from funcgrad._src.lax.convolution import *  # noqa: F403
from funcgrad._src.lax.special import *  # noqa: F403
from funcgrad._src.lax.parallel import *  # noqa: F403
from funcgrad._src.lax.windowed import *  # noqa: F403
from funcgrad._src.lax.wrappers import *  # noqa: F403

globals().update(_wrappers.ELEMENTWISE)
__all__ = sorted(
    set(_wrappers.__all__)
    | set(_wrappers.ELEMENTWISE)
    | set(_convolution.__all__)
    | set(_windowed.__all__)
    | set(_special.__all__)
    | set(_parallel.__all__)
    | set(_extended_api.__all__)
    | {"stop_gradient", "cond", "switch", "scan", "map", "fori_loop", "while_loop"}
)
