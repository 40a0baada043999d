"""funcgrad.scipy: the parts of ``jax.scipy`` built on funcgrad (special, stats, linalg,
signal, optimize, fft, ndimage, integrate, interpolate, cluster, sparse, spatial),
differentiable and usable under vmap and jit.

Examples:
    >>> from funcgrad.scipy import special
    >>> round(float(special.gammaln(5.0)), 10)  # log(4!)
    3.1780538303
"""

from funcgrad.scipy import (
    cluster,
    fft,
    integrate,
    interpolate,
    linalg,
    ndimage,
    optimize,
    signal,
    sparse,
    spatial,
    special,
    stats,
)

__all__ = [
    "cluster", "fft", "integrate", "interpolate", "linalg", "ndimage", "optimize", "signal",
    "sparse", "spatial", "special", "stats",
]  # fmt: skip
