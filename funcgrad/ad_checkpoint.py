"""``funcgrad.ad_checkpoint``: rematerialisation (``checkpoint``), its policies and
``checkpoint_name``, as ``jax.ad_checkpoint``.

Examples:
    >>> import funcgrad, funcgrad.numpy as fnp
    >>> from funcgrad.ad_checkpoint import checkpoint, checkpoint_name
    >>> f = checkpoint(lambda x: fnp.sin(checkpoint_name(x * 2.0, "a")))
    >>> round(float(funcgrad.grad(f)(fnp.asarray(0.0))), 6)
    2.0
"""

from funcgrad._src import checkpoint_policies
from funcgrad._src.checkpoint import checkpoint, remat
from funcgrad._src.checkpoint_policies import checkpoint_name

__all__ = ["checkpoint", "checkpoint_name", "checkpoint_policies", "remat"]
