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

from stax.losses.ctc import ctc_loss
from stax.losses.optax import (
    cosine_distance,
    cosine_similarity,
    hinge_loss,
    kl_divergence,
    l2_loss,
    log_cosh,
    poly_loss_cross_entropy,
    sigmoid_binary_cross_entropy,
    sigmoid_focal_loss,
    smooth_labels,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
    squared_error,
)
from stax.losses.pytorch import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    cross_entropy,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    mse_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    nll_loss,
    pairwise_distance,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_distance",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "hinge_loss",
    "huber_loss",
    "kl_div",
    "kl_divergence",
    "l1_loss",
    "l2_loss",
    "log_cosh",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "pairwise_distance",
    "poisson_nll_loss",
    "poly_loss_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_l1_loss",
    "smooth_labels",
    "soft_margin_loss",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "squared_error",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]
