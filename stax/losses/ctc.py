"""Connectionist temporal classification (CTC) loss, ``torch.nn.functional.ctc_loss``.

The negative log-likelihood of a label sequence under per-frame class log-probabilities,
summed over every alignment (Graves et al., 2006), by the forward (alpha) recursion in
log space over ``funcgrad.lax.scan``; gradients come from reverse mode through the scan.
"""

from __future__ import annotations

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import lax, nn
from stax.losses import _util as u

__all__ = ["ctc_loss"]


def _padded_targets(name, targets, target_lengths, batch):
    """Targets as an (N, S) array, from the padded (N, S) or the concatenated
    (sum(target_lengths),) form."""
    if targets.ndim == 2:
        if targets.shape[0] != batch:
            raise ValueError(
                f"{name}: padded targets of shape {targets.shape} must have one row per batch "
                f"entry ({batch})"
            )
        return targets, None
    if targets.ndim != 1:
        raise ValueError(f"{name}: targets must be (N, S) or concatenated (sum(lengths),)")
    total = targets.shape[0]
    lengths = u.concrete(target_lengths)
    if lengths is not None:
        if int(lengths.sum()) != total and (lengths >= 0).all():
            raise ValueError(
                f"{name}: concatenated targets have {total} labels but target_lengths sum to "
                f"{int(lengths.sum())}"
            )
        width = int(lengths.max(initial=0))
    else:
        width = total  # the longest possible target, as the lengths are traced
    if total == 0 or width == 0:
        return fnp.zeros((batch, 0), targets.dtype), None
    starts = fnp.cumsum(target_lengths) - target_lengths
    index = starts[:, None] + fnp.arange(width)[None, :]
    # (concatenated form only) under jit, lengths that do not sum to the label count are
    # invalid: those losses become NaN
    mismatch = fnp.sum(target_lengths) != total
    return fnp.take(targets, fnp.clip(index, 0, total - 1)), mismatch


def _check_values(name, lp_shape, labels, input_lengths, target_lengths, blank):
    """Eager checks of the lengths and labels (skipped while they are traced)."""
    steps, _, num_classes = lp_shape
    il, tl, lab = (u.concrete(a) for a in (input_lengths, target_lengths, labels))
    if il is not None:
        bad = (il < 0) | (il > steps)
        if bad.any():
            at = u.first_bad(bad)
            raise ValueError(
                f"{name}: input_lengths[{at[0]}] = {int(il[at])} must lie in [0, T={steps}]"
            )
    if tl is not None:
        bad = (tl < 0) | (tl > labels.shape[1])
        if bad.any():
            at = u.first_bad(bad)
            raise ValueError(
                f"{name}: target_lengths[{at[0]}] = {int(tl[at])} must lie in "
                f"[0, {labels.shape[1]}] (the targets' padded length)"
            )
        if lab is not None:
            used = np.arange(lab.shape[1])[None, :] < tl[:, None]
            bad = used & ((lab < 0) | (lab >= num_classes) | (lab == blank))
            if bad.any():
                at = u.first_bad(bad)
                raise ValueError(
                    f"{name}: target label {int(lab[at])} at {at} must be a class in "
                    f"[0, {num_classes}) other than the blank ({blank})"
                )


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):  # fmt: skip
    """CTC loss, ``torch.nn.functional.ctc_loss``.

    For each batch entry, with :math:`l'` the target interleaved with blanks
    (:math:`b, l_1, b, l_2, \\dots, l_L, b`) and :math:`\\alpha_t(s)` the log-probability
    of all alignment prefixes ending at :math:`l'_s` after frame :math:`t`:

    .. math:: \\alpha_t(s) = \\log p_t(l'_s) + \\mathrm{logsumexp}\\big(\\alpha_{t-1}(s),
        \\alpha_{t-1}(s-1), [l'_s \\ne b,\\ l'_s \\ne l'_{s-2}]\\, \\alpha_{t-1}(s-2)\\big)

    and the loss is :math:`-\\mathrm{logsumexp}(\\alpha_{T_n}(2L), \\alpha_{T_n}(2L-1))`
    after the entry's ``input_lengths`` frames. ``'mean'`` divides each loss by its target
    length (at least 1) and averages over the batch; ``'sum'`` adds them.

    Args:
        log_probs: ``(T, N, C)`` (or ``(T, C)`` unbatched) log-probabilities, e.g. from
            ``funcgrad.nn.log_softmax(logits, axis=-1)``.
        targets: ``(N, S)`` padded labels, or the ``(sum(target_lengths),)`` labels of the
            batch concatenated (``(S,)`` unbatched). Labels are classes other than
            ``blank``.
        input_lengths: ``(N,)`` frames used per entry (each at most ``T``).
        target_lengths: ``(N,)`` labels per entry.
        blank: the blank class.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        zero_infinity: replace infinite losses (inputs too short for their targets) and
            their gradients by 0.

    Returns:
        ``(N,)`` losses for ``'none'`` (a scalar unbatched), else a scalar.

    Invalid lengths and labels raise eagerly; under ``jit`` / ``vmap`` the affected losses
    are NaN. An input too short for its target gives ``inf`` (0 with ``zero_infinity``).

    Gradients are the exact derivative with respect to ``log_probs``
    (:math:`-\\gamma_t(c)`, the posterior occupancy of class c at frame t). PyTorch's
    native kernel instead returns :math:`e^{\\log p_t(c)} - \\gamma_t(c)`, which is only
    right after ``log_softmax``'s backward; through ``log_softmax`` (the documented use)
    both give the same gradients with respect to the logits.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> lp = fnp.log(fnp.full((2, 1, 2), 0.5))   # T=2, N=1, classes {blank, a}
        >>> # alignments of "a" in 2 frames: "aa", "-a", "a-", each of probability 1/4
        >>> round(float(ctc_loss(lp, fnp.asarray([[1]]), fnp.asarray([2]), fnp.asarray([1]),
        ...                      reduction="sum")), 6)
        0.287682
    """
    name = "ctc_loss"
    u.check_reduction(name, reduction)
    lp = u.floating(name, "log_probs", log_probs)
    if lp.ndim not in (2, 3):
        raise ValueError(f"{name}: log_probs must be (T, N, C) or (T, C), got shape {lp.shape}")
    tg = u.integer(name, "targets", targets)
    il = u.integer(name, "input_lengths", input_lengths)
    tl = u.integer(name, "target_lengths", target_lengths)
    unbatched = lp.ndim == 2
    if unbatched:
        if tg.ndim != 1 or il.ndim != 0 or tl.ndim != 0:
            raise ValueError(
                f"{name}: unbatched log_probs (T, C) need targets (S,) and scalar lengths, got "
                f"targets {tg.shape}, input_lengths {il.shape}, target_lengths {tl.shape}"
            )
        lp, tg, il, tl = lp[:, None], tg[None], il[None], tl[None]
    steps, batch, num_classes = lp.shape
    for arg, a in (("input_lengths", il), ("target_lengths", tl)):
        if a.shape != (batch,):
            raise ValueError(f"{name}: {arg} of shape {a.shape} must have shape ({batch},)")
    if not 0 <= blank < num_classes:
        raise ValueError(f"{name}: blank must be a class in [0, {num_classes}), got {blank}")
    labels, mismatch = _padded_targets(name, tg, tl, batch)
    _check_values(name, lp.shape, labels, il, tl, blank)

    width = labels.shape[1]
    positions = fnp.arange(width)[None, :]
    used = positions < tl[:, None]
    bad_label = used & ((labels < 0) | (labels >= num_classes) | (labels == blank))
    bad = (il < 0) | (il > steps) | (tl < 0) | (tl > width) | fnp.any(bad_label, axis=1)
    if mismatch is not None:
        bad = bad | mismatch
    labels = fnp.where(used & ~bad_label, labels, blank)

    # l' = b, l1, b, l2, ..., lL, b (K = 2S + 1 states); a skip from s-2 is allowed onto a
    # label that differs from the label before it
    blanks = fnp.full((batch, width), blank, labels.dtype)
    ext = fnp.concatenate(
        [fnp.reshape(fnp.stack([blanks, labels], axis=2), (batch, 2 * width)), blanks[:, :1]]
        if width
        else [fnp.full((batch, 1), blank, labels.dtype)],
        axis=1,
    )
    states = ext.shape[1]
    before = fnp.concatenate([fnp.full((batch, 2), blank, ext.dtype), ext[:, :-2]], axis=1)
    before = before[:, :states]  # (with K = 1 state, ext[:, :-2] is empty)
    skip = (ext != blank) & (ext != before)
    lp_ext = fnp.take_along_axis(lp, fnp.broadcast_to(ext[None], (steps, batch, states)), axis=2)

    neg_inf = fnp.full((batch, 1), -fnp.inf, lp.dtype)

    def step(alpha, frame):
        lp_t, t = frame
        shift1 = fnp.concatenate([neg_inf, alpha[:, :-1]], axis=1)
        shift2 = fnp.concatenate([neg_inf, neg_inf, alpha[:, :-2]], axis=1)[:, :states]
        shift2 = fnp.where(skip, shift2, -fnp.inf)
        new = lp_t + nn.logsumexp(fnp.stack([alpha, shift1, shift2]), axis=0)
        return fnp.where((t < il)[:, None], new, alpha), None

    # alpha_{-1}: all mass on a virtual state before l'_0, so frame 0 may start at l'_0 or l'_1
    init = fnp.where(fnp.arange(states)[None, :] == 0, 0.0, -fnp.inf).astype(lp.dtype)
    init = fnp.broadcast_to(init, (batch, states))
    alpha, _ = lax.scan(step, init, (lp_ext, fnp.arange(steps)))

    last = fnp.clip(2 * tl, 0, states - 1)[:, None]
    end = fnp.take_along_axis(alpha, last, axis=1)[:, 0]
    before_end = fnp.take_along_axis(alpha, fnp.maximum(last - 1, 0), axis=1)[:, 0]
    before_end = fnp.where(tl > 0, before_end, -fnp.inf)
    loss = -nn.logsumexp(fnp.stack([end, before_end]), axis=0)
    if zero_infinity:
        loss = fnp.where(fnp.isinf(loss), 0, loss)
    loss = u.nan_where(bad, loss)

    if reduction == "none":
        return loss[0] if unbatched else loss
    if reduction == "sum":
        return fnp.sum(loss)
    per_label = loss / fnp.maximum(tl, 1).astype(loss.dtype)
    return u.safe_mean(fnp.sum(per_label), batch)
