"""PyTorch's functional losses (``torch.nn.functional``), as pure funcgrad functions.

Same names, argument order, keywords, defaults and results as PyTorch, so a call written
for ``torch.nn.functional`` ports by changing the import. Class axis at 1 for inputs of
shape ``(N, C, d1, ...)``. ``reduction`` is ``'none'``, ``'mean'`` or ``'sum'`` (plus
``'batchmean'`` for :func:`kl_div`); the deprecated ``size_average`` / ``reduce`` flags
are honoured with a warning, as in PyTorch. A mean over nothing (an empty batch, or
every target ignored) is NaN, as in PyTorch.

Everything is computed from logits and log-probabilities with logsumexp, log_sigmoid and
softplus, so logits of +-1000 give finite values and gradients. Invalid values (a class
index out of range, a probability outside [0, 1], a negative variance) raise eagerly with
the loss, the argument and the value; under ``jit`` / ``vmap``, where values are unknown,
the affected losses are NaN (see :mod:`stax.losses._util`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import nn
from stax.losses import _util as u

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "pairwise_distance",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


# --- regression: elementwise losses with an optional per-element weight -------------------


def _elementwise(name, input, target, size_average, reduce, reduction, weight):
    """Checked float (input, target, weight, reduction) of an elementwise loss."""
    # (called from the loss: its warnings, as broadcast_pair's, point at the loss's line)
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    x, y = u.float_pair(name, input, target)
    w = None
    if weight is not None:
        w = u.floating(name, "weight", weight, x.dtype)
        if w.shape != x.shape:  # PyTorch compares with input's shape, before broadcasting
            raise ValueError(f"{name}: weight of shape {w.shape} must have input's shape {x.shape}")
    x, y = u.broadcast_pair(name, x, y)
    return x, y, w, reduction


def _reduce_weighted(loss, w, reduction, divide_by_weights):
    if w is None:
        return u.reduce(loss, reduction)
    loss = loss * w
    if reduction == "mean" and divide_by_weights:
        return u.safe_mean(fnp.sum(loss), fnp.sum(fnp.broadcast_to(w, loss.shape)))
    return u.reduce(loss, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error, ``torch.nn.functional.l1_loss``.

    .. math:: \\ell_n = w_n |x_n - y_n|, \\quad
        \\text{mean} = \\sum_n w_n |x_n - y_n| / \\sum_n w_n

    (``w = 1`` without ``weight``, so the mean is the plain mean). ``weight`` must have
    ``input``'s shape. A ``target`` of another shape is broadcast with a warning.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> float(l1_loss(fnp.asarray([1.0, 2.0, 3.0]), fnp.asarray([1.0, 0.0, 7.0])))
        2.0
    """
    x, y, w, reduction = _elementwise(
        "l1_loss", input, target, size_average, reduce, reduction, weight
    )
    return _reduce_weighted(fnp.abs(x - y), w, reduction, True)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error, ``torch.nn.functional.mse_loss``.

    .. math:: \\ell_n = w_n (x_n - y_n)^2, \\quad
        \\text{mean} = \\sum_n w_n (x_n - y_n)^2 / \\sum_n w_n

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> float(mse_loss(fnp.asarray([1.0, 3.0]), fnp.asarray([0.0, 0.0])))
        5.0
        >>> # the lectures' example: d/dw (x*w - y)^2 at x=1, w=2, y=1 is 2
        >>> float(funcgrad.grad(lambda w: mse_loss(fnp.ones(1) * w, fnp.ones(1)))(2.0))
        2.0
    """
    x, y, w, reduction = _elementwise(
        "mse_loss", input, target, size_average, reduce, reduction, weight
    )
    return _reduce_weighted(fnp.square(x - y), w, reduction, True)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Huber loss, ``torch.nn.functional.huber_loss``.

    .. math:: \\ell_n = w_n \\begin{cases} \\tfrac12 d_n^2 & |d_n| < \\delta \\\\
        \\delta (|d_n| - \\tfrac12 \\delta) & \\text{otherwise} \\end{cases},
        \\quad d = x - y

    With ``weight``, ``'mean'`` is the plain mean of ``w * l`` (PyTorch's choice for
    huber_loss, unlike l1/mse which divide by the summed weights).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> huber_loss(fnp.asarray([0.5, 3.0]), fnp.zeros(2), reduction="none").tolist()
        [0.125, 2.5]
    """
    name = "huber_loss"
    if not delta > 0:
        raise ValueError(f"{name}: delta must be positive, got {delta!r}")
    x, y, w, reduction = _elementwise(name, input, target, None, None, reduction, weight)
    d = fnp.abs(x - y)
    loss = fnp.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return _reduce_weighted(loss, w, reduction, False)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Smooth L1 loss, ``torch.nn.functional.smooth_l1_loss``.

    .. math:: \\ell_n = \\begin{cases} \\tfrac12 d_n^2 / \\beta & |d_n| < \\beta \\\\
        |d_n| - \\tfrac12 \\beta & \\text{otherwise} \\end{cases}

    ``beta = 0`` is the L1 loss. (The lectures' form is the ``beta = 1`` case.)

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> smooth_l1_loss(fnp.asarray([0.5, 3.0]), fnp.zeros(2), reduction="none").tolist()
        [0.125, 2.5]
    """
    name = "smooth_l1_loss"
    if beta < 0:
        raise ValueError(f"{name}: beta must be >= 0, got {beta!r}")
    x, y, _, reduction = _elementwise(name, input, target, size_average, reduce, reduction, None)
    d = fnp.abs(x - y)
    loss = d if beta == 0 else fnp.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return u.reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):  # fmt: skip
    """Poisson negative log-likelihood, ``torch.nn.functional.poisson_nll_loss``.

    .. math:: \\ell_n = \\begin{cases} e^{x_n} - y_n x_n & \\text{log\\_input} \\\\
        x_n - y_n \\log(x_n + \\epsilon) & \\text{otherwise} \\end{cases}
        \\; + \\; [\\text{full}, y_n > 1]\\,
        \\big(y_n \\log y_n - y_n + \\tfrac12 \\log(2\\pi y_n)\\big)

    The Stirling term is added only for targets above 1, as in PyTorch.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> poisson_nll_loss(fnp.asarray([0.0]), fnp.asarray([2.0]), reduction="none").tolist()
        [1.0]
    """
    name = "poisson_nll_loss"
    x, y, _, reduction = _elementwise(name, input, target, size_average, reduce, reduction, None)
    loss = fnp.exp(x) - y * x if log_input else x - y * fnp.log(x + eps)
    if full:
        big = y > 1
        ys = fnp.where(big, y, 1)
        stirling = ys * fnp.log(ys) - ys + 0.5 * fnp.log(2 * math.pi * ys)
        loss = loss + fnp.where(big, stirling, 0)
    return u.reduce(loss, reduction)


@funcgrad.custom_jvp
def _clamp_min_straight_through(v, eps):
    return fnp.maximum(v, eps)


@_clamp_min_straight_through.defjvp
def _clamp_min_straight_through_jvp(primals, tangents):
    # PyTorch clamps the variance in place under no_grad: the gradient passes unchanged.
    v, eps = primals
    return _clamp_min_straight_through(v, eps), tangents[0]


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood, ``torch.nn.functional.gaussian_nll_loss``.

    .. math:: \\ell_n = \\tfrac12 \\big(\\log \\max(v_n, \\epsilon)
        + (x_n - y_n)^2 / \\max(v_n, \\epsilon)\\big) + [\\text{full}]\\, \\tfrac12 \\log 2\\pi

    ``var`` has ``input``'s shape (heteroscedastic), or that shape without its last axis or
    with last axis 1 (homoscedastic), or is a scalar. As in PyTorch the clamp at ``eps``
    does not stop the gradient: d/dvar is taken at the clamped value. A negative variance
    raises eagerly and gives NaN under jit.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> float(gaussian_nll_loss(fnp.asarray([1.0]), fnp.asarray([3.0]), fnp.asarray([2.0])))
        1.3465735902799727
    """
    name = "gaussian_nll_loss"
    u.check_reduction(name, reduction)
    x, y = u.float_pair(name, input, target)
    v = u.floating(name, "var", var, x.dtype)
    if v.shape != x.shape:
        if v.ndim == 0:
            pass
        elif x.shape[:-1] == v.shape:
            v = fnp.expand_dims(v, -1)
        elif not (v.shape[:-1] == x.shape[:-1] and v.shape[-1] == 1):
            raise ValueError(
                f"{name}: var of shape {v.shape} must have input's shape {x.shape}, that shape "
                "without its last axis, that shape with last axis 1, or be a scalar"
            )
    x, y = u.broadcast_pair(name, x, y)
    value = u.concrete(v)
    if value is not None and (value < 0).any():
        raise ValueError(
            f"{name}: var must be >= 0, got {value[u.first_bad(value < 0)]!r} at index "
            f"{u.first_bad(value < 0)}"
        )
    vc = _clamp_min_straight_through(v, eps)
    loss = 0.5 * (fnp.log(vc) + fnp.square(x - y) / vc)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    loss = u.nan_where(v < 0, loss)
    return u.reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence, ``torch.nn.functional.kl_div``; ``input`` is log q.

    .. math:: \\ell_n = y_n (\\log y_n - x_n) \\; (0 \\text{ where } y_n = 0), \\quad
        \\text{or with log\\_target: } e^{y_n} (y_n - x_n)

    ``'batchmean'`` divides the sum by ``input.shape[0]`` (the true KL per example);
    ``'mean'`` divides by the number of elements, as PyTorch (which warns about it).

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> logq = nn.log_softmax(fnp.asarray([[0.0, 0.0]]))
        >>> round(float(kl_div(logq, fnp.asarray([[1.0, 0.0]]), reduction="batchmean")), 6)
        0.693147
    """
    name = "kl_div"
    reduction = u.reduction_arg(
        name, size_average, reduce, reduction, ("none", "batchmean", "sum", "mean")
    )
    x, y = u.float_pair(name, input, target)
    x, y = u.broadcast_pair(name, x, y, warn=False)
    loss = fnp.exp(y) * (y - x) if log_target else u.xlogy(y, y) - y * x
    if reduction == "batchmean":
        total = fnp.sum(loss)
        return total if x.ndim == 0 else u.safe_mean(total, x.shape[0])
    return u.reduce(loss, reduction)


# --- classification over a class axis ----------------------------------------------------


def _class_targets(name, x, t, ignore_index):
    """Checks of class-index targets; returns (input with a batch axis, targets with a
    batch axis, unbatched flag, the valid mask, the clipped indices, the bad mask)."""
    if x.ndim == 0:
        raise ValueError(f"{name}: input must have a class axis, got a scalar")
    unbatched = x.ndim == 1
    expected = () if unbatched else (x.shape[0],) + x.shape[2:]
    if t.shape != expected:
        raise ValueError(
            f"{name}: target of shape {t.shape} must have shape {expected} for input of shape "
            f"{x.shape} (the input's shape without the class axis 1)"
        )
    if unbatched:
        x, t = x[None], t[None]
    num_classes = x.shape[1]
    ignored = (t == ignore_index) if ignore_index is not None else fnp.zeros(t.shape, bool)
    in_range = (t >= 0) & (t < num_classes)
    value = u.concrete(t)
    if value is not None:
        bad = ~((value >= 0) & (value < num_classes)) & (value != ignore_index)
        if bad.any():
            at = u.first_bad(bad)
            also = "" if ignore_index is None else f", or ignore_index ({ignore_index})"
            raise ValueError(
                f"{name}: target value {int(value[at])} at index {at} is out of range for "
                f"{num_classes} classes; use 0..{num_classes - 1}{also}"
            )
    bad = ~in_range & ~ignored
    valid = in_range & ~ignored
    return x, t, unbatched, valid, fnp.where(valid, t, 0), bad


def _pick(x, index):
    """``x[n, index[n, ...], ...]`` along the class axis 1."""
    return fnp.take_along_axis(x, fnp.expand_dims(index, 1), axis=1)[:, 0]


def _class_weights(name, weight, num_classes, dtype):
    if weight is None:
        return None
    w = u.floating(name, "weight", weight, dtype)
    if w.shape != (num_classes,):
        raise ValueError(
            f"{name}: weight of shape {w.shape} must have one entry per class, ({num_classes},)"
        )
    return w


def _class_axis_last(a, ndim):
    """Reshape a (C,) vector to broadcast along axis 1 of an ndim array."""
    return fnp.reshape(a, (1, -1) + (1,) * (ndim - 2))


def _reduce_classes(loss, denominator, reduction, unbatched):
    if reduction == "none":
        return loss[0] if unbatched else loss
    total = fnp.sum(loss)
    return total if reduction == "sum" else u.safe_mean(total, denominator)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):  # fmt: skip
    """Negative log-likelihood, ``torch.nn.functional.nll_loss``; ``input`` is log p.

    .. math:: \\ell_n = -w_{y_n} x_{n, y_n} \\; (0 \\text{ where } y_n = \\text{ignore\\_index}),
        \\quad \\text{mean} = \\sum_n \\ell_n / \\sum_{n \\text{ not ignored}} w_{y_n}

    ``input`` is ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``; ``target`` the same without
    the class axis. Targets out of ``[0, C)`` other than ``ignore_index`` raise eagerly
    and give NaN under jit. All targets ignored: 'mean' is NaN (0/0), as in PyTorch.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> logp = nn.log_softmax(fnp.asarray([[0.0, 0.0], [0.0, 0.0]]), axis=1)
        >>> round(float(nll_loss(logp, fnp.asarray([0, 1]))), 6)  # log 2
        0.693147
    """
    name = "nll_loss"
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    x = u.floating(name, "input", input)
    t = u.integer(name, "target", target)
    x, t, unbatched, valid, safe, bad = _class_targets(name, x, t, ignore_index)
    w = _class_weights(name, weight, x.shape[1], x.dtype)
    wt = fnp.where(valid, 1 if w is None else fnp.take(w, safe), 0).astype(x.dtype)
    loss = u.nan_where(bad, fnp.where(valid, -wt * _pick(x, safe), 0))
    return _reduce_classes(loss, fnp.sum(wt), reduction, unbatched)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):  # fmt: skip
    """Softmax cross-entropy from logits, ``torch.nn.functional.cross_entropy``.

    With class indices :math:`y_n` and :math:`\\mathrm{lse}_n = \\log \\sum_c e^{x_{n,c}}`,
    smoothing :math:`\\varepsilon` and :math:`C` classes:

    .. math:: \\ell_n = (1-\\varepsilon)\\, w_{y_n} (\\mathrm{lse}_n - x_{n,y_n})
        + \\tfrac{\\varepsilon}{C} \\sum_c w_c (\\mathrm{lse}_n - x_{n,c})

    (0 where :math:`y_n` is ``ignore_index``); ``'mean'`` divides the sum by
    :math:`\\sum_{n \\text{ not ignored}} w_{y_n}`, as PyTorch does for both terms. With
    class probabilities (a floating ``target`` of ``input``'s shape),
    :math:`y' = (1-\\varepsilon) y + \\varepsilon / C` and
    :math:`\\ell_n = \\sum_c w_c y'_{n,c} (\\mathrm{lse}_n - x_{n,c})`, where ``'mean'``
    divides by the number of losses (``weight`` does not enter it) and a zero
    probability contributes 0 even against a ``-inf`` logit.

    This equals ``nll_loss(log_softmax(input, axis=1), target)`` (the lectures' identity)
    but never forms the log-probabilities for index targets, and is finite for any finite
    logits (+-1000 included).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> logits = fnp.asarray([[1000.0, 0.0], [0.0, 0.0]])
        >>> cross_entropy(logits, fnp.asarray([1, 0]), reduction="none").tolist()
        [1000.0, 0.6931471805599453]
        >>> round(float(cross_entropy(logits, fnp.asarray([0, 1]), label_smoothing=0.2)), 6)
        50.346574
    """
    name = "cross_entropy"
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    x = u.floating(name, "input", input)
    target = fnp.asarray(target)
    if fnp.isdtype(target.dtype, "real floating"):
        return _cross_entropy_probabilities(name, x, target, weight, reduction, label_smoothing)
    t = u.integer(name, "target", target)
    x, t, unbatched, valid, safe, bad = _class_targets(name, x, t, ignore_index)
    num_classes = x.shape[1]
    w = _class_weights(name, weight, num_classes, x.dtype)
    lse = nn.logsumexp(x, axis=1)
    wt = fnp.where(valid, 1 if w is None else fnp.take(w, safe), 0).astype(x.dtype)
    loss = wt * (lse - _pick(x, safe))
    if label_smoothing > 0:
        eps = label_smoothing
        if w is None:
            smooth = num_classes * lse - fnp.sum(x, axis=1)
        else:
            smooth = fnp.sum(w) * lse - fnp.sum(x * _class_axis_last(w, x.ndim), axis=1)
        loss = (1 - eps) * loss + (eps / num_classes) * fnp.where(valid, smooth, 0)
    loss = u.nan_where(bad, fnp.where(valid, loss, 0))
    return _reduce_classes(loss, fnp.sum(wt), reduction, unbatched)


def _cross_entropy_probabilities(name, x, y, weight, reduction, label_smoothing):
    u.same_shape(name, "input", x, "target (class probabilities)", y)
    if x.ndim == 0:
        raise ValueError(f"{name}: input must have a class axis, got a scalar")
    unbatched = x.ndim == 1
    if unbatched:
        x, y = x[None], y[None]
    y = y.astype(x.dtype)
    num_classes = x.shape[1]
    if label_smoothing > 0:
        y = y * (1 - label_smoothing) + label_smoothing / num_classes
    w = _class_weights(name, weight, num_classes, x.dtype)
    if w is not None:
        y = y * _class_axis_last(w, x.ndim)
    logp = x - nn.logsumexp(x, axis=1, keepdims=True)
    loss = -fnp.sum(y * fnp.where(y == 0, 0, logp), axis=1)
    return _reduce_classes(loss, loss.size, reduction, unbatched)


@funcgrad.custom_jvp
def _bce(x, y):
    return -(y * _clamped_log(x) + (1 - y) * _clamped_log(1 - x))


def _clamped_log(p):
    """``max(log p, -100)`` with ``log 0 = -100`` exactly (PyTorch's clamp), no warning."""
    positive = p > 0
    return fnp.maximum(fnp.where(positive, fnp.log(fnp.where(positive, p, 1)), -100.0), -100.0)


@_bce.defjvp
def _bce_jvp(primals, tangents):
    # PyTorch's derivatives: d/dx = (x - y) / max(x (1 - x), 1e-12), finite at 0 and 1;
    # d/dy = log(1 - x) - log(x), both logs clamped at -100.
    x, y = primals
    tx, ty = tangents
    dx = (x - y) / fnp.maximum(x * (1 - x), 1e-12)
    dy = _clamped_log(1 - x) - _clamped_log(x)
    return _bce(x, y), dx * tx + dy * ty


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):  # fmt: skip
    """Binary cross-entropy of probabilities, ``torch.nn.functional.binary_cross_entropy``.

    .. math:: \\ell_n = -w_n \\big(y_n \\max(\\log x_n, -100)
        + (1 - y_n) \\max(\\log(1 - x_n), -100)\\big)

    The logs are clamped at -100 as PyTorch documents, so probabilities of exactly 0 and 1
    give finite losses; the gradient is PyTorch's,
    :math:`w_n (x_n - y_n) / \\max(x_n (1 - x_n), 10^{-12})`, finite there too. ``input``
    outside [0, 1] raises eagerly and gives NaN under jit. ``weight`` broadcasts to the
    input's shape; ``'mean'`` is the plain mean of the weighted losses. Prefer
    :func:`binary_cross_entropy_with_logits` on logits.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> binary_cross_entropy(fnp.asarray([0.0, 1.0, 0.5]), fnp.asarray([1.0, 1.0, 0.0]),
        ...                      reduction="none").tolist()
        [100.0, -0.0, 0.6931471805599453]
    """
    name = "binary_cross_entropy"
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    x, y = u.float_pair(name, input, target)
    u.same_shape(name, "input", x, "target", y)
    value = u.concrete(x)
    if value is not None:
        bad = ~((value >= 0) & (value <= 1))
        if bad.any():
            at = u.first_bad(bad)
            raise ValueError(
                f"{name}: input must hold probabilities in [0, 1], got {value[at]!r} at index "
                f"{at}; pass logits to binary_cross_entropy_with_logits instead"
            )
    loss = u.nan_where((x < 0) | (x > 1), _bce(x, y))
    if weight is not None:
        w = u.floating(name, "weight", weight, x.dtype)
        loss = loss * u.broadcastable_to(name, "weight", w, x.shape)
    return u.reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):  # fmt: skip
    """Sigmoid + binary cross-entropy from logits,
    ``torch.nn.functional.binary_cross_entropy_with_logits``.

    .. math:: \\ell_n = w_n \\big((1 - y_n) x_n - (1 + (p_n - 1) y_n) \\log\\sigma(x_n)\\big)
        = -w_n \\big(p_n y_n \\log\\sigma(x_n) + (1 - y_n) \\log(1 - \\sigma(x_n))\\big)

    with ``pos_weight`` :math:`p` (broadcast along the last, class, axis) weighting the
    positive term. Computed with log_sigmoid: finite for logits of +-1000.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> binary_cross_entropy_with_logits(fnp.asarray([1000.0, -1000.0, 0.0]),
        ...     fnp.asarray([0.0, 0.0, 1.0]), reduction="none").tolist()
        [1000.0, 0.0, 0.6931471805599453]
    """
    name = "binary_cross_entropy_with_logits"
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    x, y = u.float_pair(name, input, target)
    u.same_shape(name, "input", x, "target", y)
    log_sig = nn.log_sigmoid(x)
    if pos_weight is not None:
        pw = u.floating(name, "pos_weight", pos_weight, x.dtype)
        log_sig = log_sig * (1 + (u.broadcastable_to(name, "pos_weight", pw, x.shape) - 1) * y)
    loss = (1 - y) * x - log_sig
    if weight is not None:
        w = u.floating(name, "weight", weight, x.dtype)
        loss = loss * u.broadcastable_to(name, "weight", w, x.shape)
    return u.reduce(loss, reduction)


# --- margin and embedding losses --------------------------------------------------------


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):  # fmt: skip
    """Ranking hinge, ``torch.nn.functional.margin_ranking_loss``.

    .. math:: \\ell_n = \\max(0, -y_n (x^1_n - x^2_n) + \\text{margin})

    One loss per pair (not the lectures' "n x n matrix"); ``y = 1`` asks for
    :math:`x^1 > x^2`, ``y = -1`` for the reverse. The three arrays must have the same
    number of dimensions (as PyTorch) and broadcast.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> margin_ranking_loss(fnp.asarray([1.0, 1.0]), fnp.asarray([2.0, 0.0]),
        ...                     fnp.asarray([1.0, 1.0]), reduction="none").tolist()
        [1.0, 0.0]
    """
    name = "margin_ranking_loss"
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    x1 = u.floating(name, "input1", input1)
    x2 = u.floating(name, "input2", input2, x1.dtype)
    y = u.floating(name, "target", target, x1.dtype)
    if not x1.ndim == x2.ndim == y.ndim:
        raise ValueError(
            f"{name}: input1, input2 and target must have the same number of dimensions, got "
            f"shapes {x1.shape}, {x2.shape} and {y.shape}"
        )
    shape = fnp.broadcast_shapes(x1.shape, x2.shape, y.shape)
    x1, x2, y = (fnp.broadcast_to(a, shape) for a in (x1, x2, y))
    return u.reduce(fnp.maximum(-y * (x1 - x2) + margin, 0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):  # fmt: skip
    """Hinge embedding loss, ``torch.nn.functional.hinge_embedding_loss``.

    .. math:: \\ell_n = [y_n \\ne -1]\\, x_n + [y_n \\ne 1] \\max(0, \\Delta - x_n)

    (``x_n`` if ``y_n = 1``, ``max(0, margin - x_n)`` if ``y_n = -1``; other target values
    get both terms, as in PyTorch).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> hinge_embedding_loss(fnp.asarray([0.3, 0.3]), fnp.asarray([1.0, -1.0]),
        ...                      reduction="none").tolist()
        [0.3, 0.7]
    """
    name = "hinge_embedding_loss"
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    x, y = u.float_pair(name, input, target)
    x, y = u.broadcast_pair(name, x, y, warn=False)
    loss = fnp.where(y != 1, fnp.maximum(margin - x, 0), 0) + fnp.where(y != -1, x, 0)
    return u.reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Two-class logistic loss, ``torch.nn.functional.soft_margin_loss``.

    .. math:: \\ell_n = \\log(1 + e^{-y_n x_n}) = \\mathrm{softplus}(-y_n x_n)

    (the lectures print ``log(1 - exp)``; the plus sign is correct). ``'mean'`` divides by
    the number of elements.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> soft_margin_loss(fnp.asarray([0.0, 1000.0]), fnp.asarray([1.0, -1.0]),
        ...                  reduction="none").tolist()
        [0.6931471805599453, 1000.0]
    """
    name = "soft_margin_loss"
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    x, y = u.float_pair(name, input, target)
    x, y = u.broadcast_pair(name, x, y, warn=False)
    return u.reduce(nn.softplus(-y * x), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):  # fmt: skip
    """Multi-label one-versus-all logistic loss,
    ``torch.nn.functional.multilabel_soft_margin_loss``.

    .. math:: \\ell_n = -\\frac1C \\sum_c w_c \\big(y_{n,c} \\log\\sigma(x_{n,c})
        + (1 - y_{n,c}) \\log\\sigma(-x_{n,c})\\big)

    over the last axis (``C`` classes); one loss per example.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> round(float(multilabel_soft_margin_loss(fnp.asarray([[0.0, 0.0]]),
        ...                                         fnp.asarray([[1.0, 0.0]]))), 6)
        0.693147
    """
    name = "multilabel_soft_margin_loss"
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    x, y = u.float_pair(name, input, target)
    if x.ndim == 0:
        raise ValueError(f"{name}: input must have a class axis, got a scalar")
    x, y = u.broadcast_pair(name, x, y, warn=False)
    loss = -(y * nn.log_sigmoid(x) + (1 - y) * nn.log_sigmoid(-x))
    if weight is not None:
        w = u.floating(name, "weight", weight, x.dtype)
        loss = loss * u.broadcastable_to(name, "weight", w, x.shape)
    return u.reduce(fnp.sum(loss, axis=-1) / x.shape[-1], reduction)


def _class_rows(name, x):
    """Whether the input of a margin loss, (C,) or (N, C), is unbatched."""
    if x.ndim not in (1, 2):
        raise ValueError(f"{name}: input must have shape (C,) or (N, C), got {x.shape}")
    return x.ndim == 1


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):  # fmt: skip
    """Multi-class hinge loss, ``torch.nn.functional.multi_margin_loss``.

    .. math:: \\ell_n = \\frac1C \\sum_{i \\ne y_n} w_{y_n}
        \\max(0, \\text{margin} - x_{n,y_n} + x_{n,i})^p, \\quad p \\in \\{1, 2\\}

    ``input`` is ``(C,)`` or ``(N, C)``, ``target`` ``()`` or ``(N,)``. ``'mean'`` is the
    plain mean over examples.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> float(multi_margin_loss(fnp.asarray([[0.1, 0.2, 0.4, 0.8]]), fnp.asarray([3])))
        0.32499999999999996
    """
    name = "multi_margin_loss"
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"{name}: p must be 1 or 2, got {p!r}")
    x = u.floating(name, "input", input)
    t = u.integer(name, "target", target)
    _class_rows(name, x)
    x, t, unbatched, _, safe, bad = _class_targets(name, x, t, ignore_index=None)
    num_classes = x.shape[1]
    xy = _pick(x, safe)[:, None]
    z = fnp.maximum(margin - xy + x, 0)
    z = z if p == 1 else z * z
    z = fnp.where(fnp.arange(num_classes)[None, :] == safe[:, None], 0, z)
    if weight is not None:
        w = _class_weights(name, weight, num_classes, x.dtype)
        z = z * fnp.take(w, safe)[:, None]
    loss = u.nan_where(bad, fnp.sum(z, axis=1) / num_classes)
    return _reduce_classes(loss, loss.size, reduction, unbatched)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge loss, ``torch.nn.functional.multilabel_margin_loss``.

    ``target`` lists each example's classes, ended by the first -1 (``[3, 0, -1, 1]``
    means classes 3 and 0, not a 0/1 mask). With :math:`J_n` those classes:

    .. math:: \\ell_n = \\frac1C \\sum_{j \\in J_n} \\sum_{i \\notin J_n}
        \\max(0, 1 - (x_{n,j} - x_{n,i}))

    ``input`` and ``target`` are ``(C,)`` or ``(N, C)``. Target values outside
    ``[-1, C)`` raise eagerly and give NaN under jit.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.asarray([[0.1, 0.2, 0.4, 0.8]])
        >>> round(float(multilabel_margin_loss(x, fnp.asarray([[3, 0, -1, 1]]))), 6)
        0.85
    """
    name = "multilabel_margin_loss"
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    x = u.floating(name, "input", input)
    t = u.integer(name, "target", target)
    unbatched = _class_rows(name, x)
    u.same_shape(name, "input", x, "target", t)
    num_classes = x.shape[-1]
    value = u.concrete(t)
    if value is not None:
        bad = (value < -1) | (value >= num_classes)
        if bad.any():
            at = u.first_bad(bad)
            raise ValueError(
                f"{name}: target value {int(value[at])} at index {at} is out of range; list "
                f"classes 0..{num_classes - 1} and end the list with -1"
            )
    if unbatched:
        x, t = x[None], t[None]
    # the labels before the first -1
    listed = fnp.cumprod((t >= 0).astype(fnp.int32), axis=1) == 1
    safe = fnp.where(listed & (t < num_classes), t, 0)
    is_target = fnp.any(
        listed[:, :, None] & (safe[:, :, None] == fnp.arange(num_classes)[None, None, :]), axis=1
    )
    hinge = fnp.maximum(1 - _take_rows(x, safe)[:, :, None] + x[:, None, :], 0)
    pairs = listed[:, :, None] & ~is_target[:, None, :]
    loss = fnp.sum(fnp.where(pairs, hinge, 0), axis=(1, 2)) / num_classes
    loss = u.nan_where(fnp.any((t < -1) | (t >= num_classes), axis=1), loss)
    return _reduce_classes(loss, loss.size, reduction, unbatched)


def _take_rows(x, index):
    return fnp.take_along_axis(x, index, axis=1)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):  # fmt: skip
    """Cosine embedding loss, ``torch.nn.functional.cosine_embedding_loss``.

    .. math:: \\cos_n = \\frac{x^1_n \\cdot x^2_n}
        {\\sqrt{(\\lVert x^1_n \\rVert^2 + \\epsilon)(\\lVert x^2_n \\rVert^2 + \\epsilon)}},
        \\quad \\ell_n = \\begin{cases} 1 - \\cos_n & y_n = 1 \\\\
        \\max(0, \\cos_n - \\text{margin}) & y_n = -1 \\\\ 0 & \\text{otherwise}\\end{cases}

    with :math:`\\epsilon = 10^{-12}` as in PyTorch. Inputs ``(N, D)`` with target
    ``(N,)``, or ``(D,)`` with a scalar target.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> loss = cosine_embedding_loss(fnp.asarray([[1.0, 0.0], [1.0, 0.0]]),
        ...     fnp.asarray([[0.0, 1.0], [1.0, 1.0]]), fnp.asarray([1.0, -1.0]), reduction="none")
        >>> [round(v, 6) for v in loss.tolist()]
        [1.0, 0.707107]
    """
    name = "cosine_embedding_loss"
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    x1 = u.floating(name, "input1", input1)
    x2 = u.floating(name, "input2", input2, x1.dtype)
    y = u.floating(name, "target", target, x1.dtype)
    u.same_shape(name, "input1", x1, "input2", x2)
    if x1.ndim not in (1, 2) or y.shape != x1.shape[:-1]:
        raise ValueError(
            f"{name}: inputs of shape (N, D) need a target of shape (N,), inputs of shape (D,) "
            f"a scalar target; got inputs {x1.shape} and target {y.shape}"
        )
    eps = 1e-12
    dot = fnp.sum(x1 * x2, axis=-1)
    cos = dot / fnp.sqrt((fnp.sum(x1 * x1, axis=-1) + eps) * (fnp.sum(x2 * x2, axis=-1) + eps))
    loss = fnp.where(y == 1, 1 - cos, 0) + fnp.where(y == -1, fnp.maximum(cos - margin, 0), 0)
    return u.reduce(loss, reduction)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``torch.nn.functional.pairwise_distance``: :math:`\\lVert x_1 - x_2 + \\epsilon
    \\rVert_p` over the last axis (``p`` positive or ``inf``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> float(pairwise_distance(fnp.asarray([3.0, 0.0]), fnp.asarray([0.0, 4.0]), eps=0.0))
        5.0
    """
    name = "pairwise_distance"
    a = u.floating(name, "x1", x1)
    b = u.floating(name, "x2", x2, a.dtype)
    z = a - b + eps
    if p == 2:
        out = fnp.sqrt(fnp.sum(z * z, axis=-1, keepdims=keepdim))
    elif p == math.inf:
        out = fnp.max(fnp.abs(z), axis=-1, keepdims=keepdim)
    elif p > 0:
        out = fnp.sum(fnp.abs(z) ** p, axis=-1, keepdims=keepdim) ** (1.0 / p)
    else:
        raise ValueError(f"{name}: p must be positive or inf, got {p!r}")
    return out


def _triplet(name, anchor, positive, negative, distance, margin, swap, reduction):
    a = u.floating(name, "anchor", anchor)
    pos = u.floating(name, "positive", positive, a.dtype)
    neg = u.floating(name, "negative", negative, a.dtype)
    if not a.ndim == pos.ndim == neg.ndim:
        raise ValueError(
            f"{name}: anchor, positive and negative must have the same number of dimensions, "
            f"got shapes {a.shape}, {pos.shape} and {neg.shape}"
        )
    d_pos = distance(a, pos)
    d_neg = distance(a, neg)
    if swap:
        d_neg = fnp.minimum(d_neg, distance(pos, neg))
    return u.reduce(fnp.maximum(margin + d_pos - d_neg, 0), reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):  # fmt: skip
    """Triplet margin loss, ``torch.nn.functional.triplet_margin_loss``.

    .. math:: \\ell_n = \\max(0, d(a_n, p_n) - d(a_n, n_n) + \\text{margin}), \\quad
        d(x, y) = \\lVert x - y + \\epsilon \\rVert_p

    With ``swap`` the negative distance is :math:`\\min(d(a_n, n_n), d(p_n, n_n))`
    (Balntas et al., 2016). Inputs ``(N, D)`` or ``(D,)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> a, pos, neg = fnp.asarray([[0.0, 0.0]]), fnp.asarray([[3.0, 4.0]]), fnp.zeros((1, 2))
        >>> float(triplet_margin_loss(a, pos, neg, eps=0.0))
        6.0
    """
    name = "triplet_margin_loss"
    reduction = u.reduction_arg(name, size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"{name}: margin must be positive, got {margin!r}")

    def distance(x, y):
        return pairwise_distance(x, y, p, eps)

    return _triplet(name, anchor, positive, negative, distance, margin, swap, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *,
                                      distance_function: Callable | None = None, margin=1.0,
                                      swap=False, reduction="mean"):  # fmt: skip
    """Triplet loss with any distance,
    ``torch.nn.functional.triplet_margin_with_distance_loss``.

    .. math:: \\ell_n = \\max(0, d(a_n, p_n) - d(a_n, n_n) + \\text{margin})

    ``distance_function(x, y)`` maps two batches to distances (default
    :func:`pairwise_distance`, p=2); ``swap`` as in :func:`triplet_margin_loss`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> l1 = lambda x, y: fnp.sum(fnp.abs(x - y), axis=-1)
        >>> a, pos, neg = fnp.asarray([[0.0, 0.0]]), fnp.asarray([[3.0, 4.0]]), fnp.zeros((1, 2))
        >>> float(triplet_margin_with_distance_loss(a, pos, neg, distance_function=l1))
        8.0
    """
    name = "triplet_margin_with_distance_loss"
    u.check_reduction(name, reduction)
    if margin <= 0:
        raise ValueError(f"{name}: margin must be positive, got {margin!r}")
    distance = pairwise_distance if distance_function is None else distance_function
    return _triplet(name, anchor, positive, negative, distance, margin, swap, reduction)
