"""Adafactor's factored second-moment estimate (row and column statistics of each matrix)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import tree_util
from transforms import base, numerics, tree_utils

__all__ = ["FactoredState", "scale_by_factored_rms"]


def _decay_rate_pow(i: Any, exponent: float = 0.8) -> Any:
    """Adafactor's second-moment decay schedule ``1 - (i + 1)**(-exponent)``.

    Computed in float64 and cast to each leaf's dtype where it is used (optax computes it
    in float32, which differs from the formula by float32 rounding for float64 params).
    """
    t = fnp.asarray(i, dtype=fnp.float64) + 1.0
    return 1.0 - t ** (-exponent)


def _factored_dims(shape, factored: bool, min_dim_size_to_factor: int):
    """The two largest axes ``(d1, d0)`` to factor over, or None when not factored."""
    if not factored or len(shape) < 2:
        return None
    sorted_dims = np.argsort(shape, kind="stable")
    if shape[sorted_dims[-2]] < min_dim_size_to_factor:
        return None
    return int(sorted_dims[-2]), int(sorted_dims[-1])


class FactoredState(NamedTuple):
    """The step count and, per leaf, the row and column statistics (factored leaves) or the
    full second moment ``v`` (other leaves); unused entries are ``zeros((1,))``."""

    count: Any
    v_row: Any
    v_col: Any
    v: Any


def scale_by_factored_rms(
    factored: bool = True,
    decay_rate: float = 0.8,
    step_offset: int = 0,
    min_dim_size_to_factor: int = 128,
    epsilon: float = 1e-30,
    decay_rate_fn: Callable[[Any, float], Any] = _decay_rate_pow,
) -> base.GradientTransformation:
    r"""Divide by a factored estimate of the root mean squared gradient (Adafactor).

    With :math:`\beta_k = 1 - (k - \text{offset} + 1)^{-\text{decay\_rate}}` (step
    :math:`k = 0, 1, \dots`) and :math:`G = g^2 + \epsilon`: for a leaf whose two largest
    axes :math:`d_1 \le d_0` are both at least ``min_dim_size_to_factor``,

    .. math::
        R_k = \beta_k R_{k-1} + (1-\beta_k)\,\mathrm{mean}_{d_0} G,\quad
        C_k = \beta_k C_{k-1} + (1-\beta_k)\,\mathrm{mean}_{d_1} G,\quad
        u_k = g \cdot (R_k / \mathrm{mean}(R_k))^{-1/2} \cdot C_k^{-1/2}

    (row factor broadcast along :math:`d_0`, column factor along :math:`d_1`); other
    leaves keep the full :math:`v_k = \beta_k v_{k-1} + (1-\beta_k) G`,
    :math:`u_k = g\, v_k^{-1/2}`.

    References:
        Shazeer and Stern, Adafactor: Adaptive Learning Rates with Sublinear Memory Cost,
        2018 (https://arxiv.org/abs/1804.04235).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_factored_rms()
        >>> p = fnp.zeros(2)
        >>> tx.update(fnp.asarray([2.0, -3.0]), tx.init(p), p)[0].tolist()
        [1.0, -1.0]
    """

    def init_leaf(p):
        p = fnp.asarray(p)
        dims = _factored_dims(p.shape, factored, min_dim_size_to_factor)
        one = fnp.zeros((1,), dtype=p.dtype)
        if dims is not None:
            d1, d0 = dims
            return (
                fnp.zeros(tuple(np.delete(p.shape, d0)), dtype=p.dtype),
                fnp.zeros(tuple(np.delete(p.shape, d1)), dtype=p.dtype),
                one,
            )
        return one, one, fnp.zeros(p.shape, dtype=p.dtype)

    def init_fn(params):
        leaves, treedef = tree_util.tree_flatten(params)
        stats = [init_leaf(p) for p in leaves]
        return FactoredState(
            count=fnp.zeros((), dtype=fnp.int32),
            v_row=tree_util.tree_unflatten(treedef, [s[0] for s in stats]),
            v_col=tree_util.tree_unflatten(treedef, [s[1] for s in stats]),
            v=tree_util.tree_unflatten(treedef, [s[2] for s in stats]),
        )

    def update_leaf(g, v_row, v_col, v, decay):
        decay = tree_utils.cast_scalar(decay, g)
        dims = _factored_dims(g.shape, factored, min_dim_size_to_factor)
        grad_sqr = numerics.abs_sq(g) + epsilon
        one = fnp.zeros((1,), dtype=g.dtype)
        if dims is not None:
            d1, d0 = dims
            new_row = decay * v_row + (1.0 - decay) * fnp.mean(grad_sqr, axis=d0)
            new_col = decay * v_col + (1.0 - decay) * fnp.mean(grad_sqr, axis=d1)
            reduced_d1 = d1 - 1 if d1 > d0 else d1
            row_col_mean = fnp.mean(new_row, axis=reduced_d1, keepdims=True)
            row_factor = (new_row / row_col_mean) ** -0.5
            col_factor = new_col**-0.5
            update = g * fnp.expand_dims(row_factor, axis=d0) * fnp.expand_dims(col_factor, axis=d1)
            return update, new_row, new_col, one
        new_v = decay * v + (1.0 - decay) * grad_sqr
        return g * new_v**-0.5, one, one, new_v

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError(f"scale_by_factored_rms.update: {base.NO_PARAMS_MSG}")
        tree_utils.check_same_structure("scale_by_factored_rms.update", updates, params, "params")
        leaves, treedef = tree_util.tree_flatten(updates)
        decay = decay_rate_fn(state.count - step_offset, decay_rate)
        out = [
            update_leaf(g, r, c, v, decay)
            for g, r, c, v in zip(
                leaves,
                treedef.flatten_up_to(state.v_row),
                treedef.flatten_up_to(state.v_col),
                treedef.flatten_up_to(state.v),
            )
        ]
        unflat = lambda i: tree_util.tree_unflatten(treedef, [o[i] for o in out])
        return unflat(0), FactoredState(
            count=tree_utils.safe_int32_increment(state.count),
            v_row=unflat(1),
            v_col=unflat(2),
            v=unflat(3),
        )

    return base.GradientTransformation(init_fn, update_fn)
