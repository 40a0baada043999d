"""optax's losses (``optax.losses``): class axis last, one loss per example, no reduction.

Same names, arguments and results as optax, so JAX code ports by changing the import;
average the returned per-example losses yourself (``fnp.mean(loss)``). Computed with
logsumexp, log_softmax and log_sigmoid: finite for logits of +-1000. Integer labels out of
range raise eagerly and give NaN under ``jit`` / ``vmap``.
"""

from __future__ import annotations

import funcgrad.numpy as fnp
from funcgrad import nn
from stax.losses import _util as u

__all__ = [
    "cosine_distance",
    "cosine_similarity",
    "hinge_loss",
    "kl_divergence",
    "l2_loss",
    "log_cosh",
    "poly_loss_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "squared_error",
]


def _pair(name, predictions, targets):
    p = u.floating(name, "predictions", predictions)
    if targets is None:
        return p, None
    t = u.floating(name, "targets", targets, p.dtype)
    return u.broadcast_pair(name, p, t, warn=False)


def squared_error(predictions, targets=None):
    """``(predictions - targets) ** 2`` elementwise (``predictions ** 2`` without targets).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> squared_error(fnp.asarray([1.0, 3.0]), fnp.asarray([0.0, 1.0])).tolist()
        [1.0, 4.0]
    """
    p, t = _pair("squared_error", predictions, targets)
    return fnp.square(p if t is None else p - t)


def l2_loss(predictions, targets=None):
    """Half the squared error, :math:`\\tfrac12 (p - t)^2`, elementwise.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> l2_loss(fnp.asarray([1.0, 3.0]), fnp.asarray([0.0, 1.0])).tolist()
        [0.5, 2.0]
    """
    return 0.5 * squared_error(predictions, targets)


def log_cosh(predictions, targets=None):
    """:math:`\\log\\cosh(p - t)`, computed as :math:`\\mathrm{logaddexp}(e, -e) - \\log 2`
    (no overflow for large errors; about :math:`|e| - \\log 2` there).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [round(v, 6) for v in log_cosh(fnp.asarray([0.0, 1000.0])).tolist()]
        [0.0, 999.306853]
    """
    p, t = _pair("log_cosh", predictions, targets)
    e = p if t is None else p - t
    return fnp.logaddexp(e, -e) - fnp.log(fnp.asarray(2.0, e.dtype))


def hinge_loss(predictor_outputs, targets):
    """Binary hinge loss :math:`\\max(0, 1 - y\\, s)` for targets :math:`y \\in \\{-1, 1\\}`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> hinge_loss(fnp.asarray([0.5, 2.0]), fnp.asarray([1.0, -1.0])).tolist()
        [0.5, 3.0]
    """
    s, y = _pair("hinge_loss", predictor_outputs, targets)
    return fnp.maximum(0, 1 - s * y)


def softmax_cross_entropy(logits, labels, axis=-1, where=None):
    """Cross-entropy with class probabilities, :math:`-\\sum_c y_c \\log \\mathrm{softmax}(x)_c`
    along ``axis``.

    ``where`` masks classes out (as in optax). A zero label contributes 0, also against a
    ``-inf`` (masked) logit.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> softmax_cross_entropy(fnp.asarray([[1000.0, 0.0]]), fnp.asarray([[0.0, 1.0]])).tolist()
        [1000.0]
    """
    name = "softmax_cross_entropy"
    x = u.floating(name, "logits", logits)
    y = u.floating(name, "labels", labels, x.dtype)
    x, y = u.broadcast_pair(name, x, y, warn=False)
    logp = nn.log_softmax(x, axis=axis, where=where)
    # a zero label contributes 0, also where log p is -inf (no 0 * inf, in value or gradient)
    terms = y * fnp.where(y == 0, 0, logp)
    return -fnp.sum(terms, axis=axis, where=where)


def softmax_cross_entropy_with_integer_labels(logits, labels, axis=-1, where=None):
    """Cross-entropy with integer labels: :math:`\\mathrm{logsumexp}(x) - x_y` along ``axis``.

    ``labels`` has ``logits``' shape without ``axis``. Labels out of ``[0, C)`` raise
    eagerly and give NaN under jit / vmap.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> softmax_cross_entropy_with_integer_labels(fnp.asarray([[1000.0, 0.0]]),
        ...                                           fnp.asarray([1])).tolist()
        [1000.0]
    """
    name = "softmax_cross_entropy_with_integer_labels"
    x = u.floating(name, "logits", logits)
    t = u.integer(name, "labels", labels)
    if x.ndim == 0:
        raise ValueError(f"{name}: logits must have a class axis, got a scalar")
    axis = axis % x.ndim
    expected = x.shape[:axis] + x.shape[axis + 1 :]
    if t.shape != expected:
        raise ValueError(
            f"{name}: labels of shape {t.shape} must have logits' shape without axis {axis}, "
            f"{expected}"
        )
    num_classes = x.shape[axis]
    value = u.concrete(t)
    if value is not None:
        bad = (value < 0) | (value >= num_classes)
        if bad.any():
            at = u.first_bad(bad)
            raise ValueError(
                f"{name}: label {int(value[at])} at index {at} is out of range for "
                f"{num_classes} classes"
            )
    bad = (t < 0) | (t >= num_classes)
    safe = fnp.expand_dims(fnp.where(bad, 0, t), axis)
    picked = fnp.squeeze(fnp.take_along_axis(x, safe, axis=axis), axis)
    loss = nn.logsumexp(x, axis=axis, where=where) - picked
    return u.nan_where(bad, loss)


def sigmoid_binary_cross_entropy(logits, labels):
    """Elementwise :math:`-y \\log\\sigma(x) - (1 - y) \\log(1 - \\sigma(x))`, with
    log_sigmoid.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> sigmoid_binary_cross_entropy(fnp.asarray([1000.0, 0.0]),
        ...                              fnp.asarray([0.0, 1.0])).tolist()
        [1000.0, 0.6931471805599453]
    """
    name = "sigmoid_binary_cross_entropy"
    x = u.floating(name, "logits", logits)
    y = u.floating(name, "labels", labels, x.dtype)
    x, y = u.broadcast_pair(name, x, y, warn=False)
    return -y * nn.log_sigmoid(x) - (1 - y) * nn.log_sigmoid(-x)


def sigmoid_focal_loss(logits, labels, alpha=None, gamma=2.0):
    """Focal loss (Lin et al., 2017): :math:`(1 - p_t)^\\gamma\\, \\mathrm{BCE}(x, y)`,
    times :math:`\\alpha y + (1 - \\alpha)(1 - y)` when ``alpha`` is given, with
    :math:`p_t = y \\sigma(x) + (1 - y)(1 - \\sigma(x))`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> round(float(sigmoid_focal_loss(fnp.asarray([0.0]), fnp.asarray([1.0]))[0]), 6)
        0.173287
    """
    name = "sigmoid_focal_loss"
    x = u.floating(name, "logits", logits)
    y = u.floating(name, "labels", labels, x.dtype)
    x, y = u.broadcast_pair(name, x, y, warn=False)
    ce = sigmoid_binary_cross_entropy(x, y)
    # 1 - p_t from sigmoids of both signs: exact in the tails where 1 - sigmoid rounds to 0
    one_minus_pt = y * nn.sigmoid(-x) + (1 - y) * nn.sigmoid(x)
    loss = ce * one_minus_pt**gamma
    if alpha is not None:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss


def _norm(name, x, epsilon, axis, where):
    """``max(||x||, epsilon)`` along ``axis`` (optax's safe norm: a zero vector with
    epsilon 0 gives 0, so its cosine is NaN, as in optax)."""
    norm = fnp.sqrt(fnp.sum(x * x, axis=axis, keepdims=True, where=where))
    return fnp.where(norm <= epsilon, epsilon, norm)


def cosine_similarity(predictions, targets, epsilon=0.0, axis=-1, where=None):
    """Cosine similarity along ``axis``: :math:`\\frac{p \\cdot t}
    {\\max(\\lVert p \\rVert, \\epsilon) \\max(\\lVert t \\rVert, \\epsilon)}`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> cos = cosine_similarity(fnp.asarray([[1.0, 0.0]]), fnp.asarray([[2.0, 2.0]]))
        >>> [round(v, 6) for v in cos.tolist()]
        [0.707107]
    """
    name = "cosine_similarity"
    p, t = _pair(name, predictions, targets)
    unit_p = p / _norm(name, p, epsilon, axis, where)
    unit_t = t / _norm(name, t, epsilon, axis, where)
    return fnp.sum(unit_p * unit_t, axis=axis, where=where)


def cosine_distance(predictions, targets, epsilon=0.0, axis=-1, where=None):
    """``1 - cosine_similarity(predictions, targets, ...)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> cosine_distance(fnp.asarray([[1.0, 0.0]]), fnp.asarray([[0.0, 3.0]])).tolist()
        [1.0]
    """
    return 1 - cosine_similarity(predictions, targets, epsilon, axis, where)


def kl_divergence(log_predictions, targets, axis=-1, where=None):
    """:math:`\\sum_c y_c (\\log y_c - \\log q_c)` along ``axis``; ``log_predictions`` is
    log q, ``targets`` probabilities (a zero target contributes 0).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> logq = fnp.log(fnp.asarray([[0.5, 0.5]]))
        >>> [round(v, 6) for v in kl_divergence(logq, fnp.asarray([[1.0, 0.0]])).tolist()]
        [0.693147]
    """
    name = "kl_divergence"
    x = u.floating(name, "log_predictions", log_predictions)
    y = u.floating(name, "targets", targets, x.dtype)
    x, y = u.broadcast_pair(name, x, y, warn=False)
    terms = fnp.where(y == 0, 0, u.xlogy(y, y) - y * x)
    return fnp.sum(terms, axis=axis, where=where)


def poly_loss_cross_entropy(logits, labels, epsilon=2.0, axis=-1, where=None):
    """Poly-1 cross-entropy (Leng et al., 2022):
    :math:`\\mathrm{CE}(x, y) + \\epsilon \\sum_c y_c (1 - \\mathrm{softmax}(x)_c)`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [round(v, 6) for v in poly_loss_cross_entropy(fnp.zeros((1, 2)),
        ...                                               fnp.asarray([[1.0, 0.0]])).tolist()]
        [1.693147]
    """
    name = "poly_loss_cross_entropy"
    x = u.floating(name, "logits", logits)
    y = u.floating(name, "labels", labels, x.dtype)
    one_minus_pt = fnp.sum(y * (1 - nn.softmax(x, axis=axis, where=where)), axis=axis, where=where)
    return softmax_cross_entropy(x, y, axis=axis, where=where) + epsilon * one_minus_pt


def smooth_labels(labels, alpha):
    """Label smoothing: :math:`(1 - \\alpha) y + \\alpha / C` over the last axis.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> smooth_labels(fnp.asarray([[1.0, 0.0, 0.0, 0.0]]), 0.4).tolist()
        [[0.7, 0.1, 0.1, 0.1]]
    """
    y = u.floating("smooth_labels", "labels", labels)
    return (1.0 - alpha) * y + alpha / y.shape[-1]
