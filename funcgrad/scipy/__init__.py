"""funcgrad.scipy: the parts of ``jax.scipy`` built on funcgrad (special, stats, linalg,
signal, optimize), differentiable and usable under vmap and jit.

Examples:
    >>> from funcgrad.scipy import special
    >>> round(float(special.gammaln(5.0)), 10)  # log(4!)
    3.1780538303
"""

from funcgrad.scipy import linalg, optimize, signal, special, stats

__all__ = ["linalg", "optimize", "signal", "special", "stats"]
