"""stax.losses: PyTorch's functional losses and optax's cross-entropy family, as pure functions.

``stax.losses.pytorch`` holds the ``torch.nn.functional`` names (class axis 1, a
``reduction`` argument), ``stax.losses.optax`` the optax names (class axis last, one loss
per example, no reduction), ``stax.losses.ctc`` the CTC loss; all are re-exported here.
Every loss works under ``grad``, ``vmap`` and ``jit``.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from stax import losses
    >>> logits = fnp.asarray([[2.0, 0.0, -1.0]])
    >>> ce = losses.cross_entropy(logits, fnp.asarray([0]))
    >>> bool(fnp.allclose(ce, losses.softmax_cross_entropy_with_integer_labels(
    ...     logits, fnp.asarray([0]))[0]))
    True
"""

from stax.losses import ctc, optax, pytorch
from stax.losses.ctc import *
from stax.losses.optax import *
from stax.losses.pytorch import *

__all__ = ctc.__all__ + optax.__all__ + pytorch.__all__
__all__.sort()  # one alphabetical list
