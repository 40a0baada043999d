"""L-BFGS: the limited-memory inverse-Hessian preconditioner and the ``lbfgs`` optimizer."""

from __future__ import annotations

from typing import Any, NamedTuple

import funcgrad.numpy as fnp
from funcgrad import lax, tree_util
from transforms import base, linesearch, transform, tree_utils

__all__ = ["ScaleByLBFGSState", "lbfgs", "scale_by_lbfgs"]


class ScaleByLBFGSState(NamedTuple):
    """The step count, the last params and updates, and the memory of differences.

    ``diff_params_memory`` and ``diff_updates_memory`` stack ``memory_size`` pytrees along
    a leading axis of each leaf; ``weights_memory`` holds the ``rho`` of each pair.
    """

    count: Any
    params: Any
    updates: Any
    diff_params_memory: Any
    diff_updates_memory: Any
    weights_memory: Any


def _precondition(updates, dw_mem, du_mem, rhos, gamma, memory_idx, memory_size):
    """The two-loop recursion (Nocedal and Wright, Algorithm 7.4): ``P_k u``."""
    take = lambda tree, i: tree_util.tree_map(lambda x: x[i], tree)
    # Oldest to newest is memory_idx, memory_idx + 1, ... (mod m); the first loop runs
    # newest to oldest.
    order = [(memory_idx + j) % memory_size for j in range(memory_size)]
    q = updates
    alphas = []
    for idx in reversed(order):
        dw, du = take(dw_mem, idx), take(du_mem, idx)
        alpha = rhos[idx] * fnp.real(tree_utils.tree_vdot(dw, q))
        q = tree_utils.tree_add_scalar_mul(q, -alpha, du)
        alphas.append(alpha)
    r = tree_utils.tree_scalar_mul(gamma, q)
    for idx, alpha in zip(order, reversed(alphas)):
        dw, du = take(dw_mem, idx), take(du_mem, idx)
        beta = rhos[idx] * fnp.real(tree_utils.tree_vdot(du, r))
        r = tree_utils.tree_add_scalar_mul(r, alpha - beta, dw)
    return r


def scale_by_lbfgs(memory_size: int = 10, scale_init_precond: bool = True):
    r"""Multiply the updates by the L-BFGS approximation of the inverse Hessian.

    With :math:`\delta w_j = w_{j+1} - w_j`, :math:`\delta u_j = u_{j+1} - u_j` (the last
    ``memory_size`` pairs) and :math:`\rho_j = 1 / \langle \delta u_j, \delta w_j\rangle`
    (0 where the product is 0):

    .. math::
        P_{k,j+1} = V_j^\top P_{k,j} V_j + \rho_j \delta w_j \delta w_j^\top,\quad
        V_j = I - \rho_j \delta u_j \delta w_j^\top,\quad P_{k,k-m} = \gamma_k I

    computed by the two-loop recursion. :math:`\gamma_k = \langle \delta w_{k-1},
    \delta u_{k-1}\rangle / \|\delta u_{k-1}\|^2` when ``scale_init_precond`` (1 where the
    denominator is 0), else 1; at the first step :math:`\gamma_0 = \min(1, 1/\|u_0\|)`
    (optax's heuristic: a first step of norm at most 1). The output is :math:`P_k u_k`
    (chain a negative scaling and a line search after it). Needs ``params``.

    Args:
        memory_size: the number of pairs kept (>= 1).
        scale_init_precond: use :math:`\gamma_k` above instead of the identity.

    References:
        Nocedal and Wright, Numerical Optimization, 1999, Algorithms 7.4 and 7.5;
        Liu and Nocedal, On the limited memory BFGS method for large scale
        optimization, 1989.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.scale_by_lbfgs()
        >>> p = fnp.zeros(2)
        >>> tx.update(fnp.asarray([0.3, 0.4]), tx.init(p), p)[0].tolist()  # norm < 1: unscaled
        [0.3, 0.4]
    """
    if not (isinstance(memory_size, int) and memory_size >= 1):
        raise ValueError(f"scale_by_lbfgs: memory_size must be an int >= 1, got {memory_size!r}")

    def init_fn(params):
        stacked = tree_util.tree_map(
            lambda x: fnp.zeros((memory_size,) + fnp.shape(x), dtype=fnp.asarray(x).dtype), params
        )
        return ScaleByLBFGSState(
            count=fnp.zeros((), dtype=fnp.int32),
            params=tree_utils.tree_zeros_like(params),
            updates=tree_utils.tree_zeros_like(params),
            diff_params_memory=stacked,
            diff_updates_memory=stacked,
            weights_memory=fnp.zeros(memory_size),
        )

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError(f"scale_by_lbfgs.update: {base.NO_PARAMS_MSG}")
        tree_utils.check_same_structure(
            "scale_by_lbfgs.update", updates, state.params, "state.params"
        )
        memory_idx = state.count % memory_size
        prev_idx = (state.count - 1) % memory_size
        started = state.count > 0

        dw = tree_utils.tree_sub(params, state.params)
        du = tree_utils.tree_sub(updates, state.updates)
        dot = fnp.real(tree_utils.tree_vdot(du, dw))
        weight = fnp.where(dot == 0.0, 0.0, 1.0 / fnp.where(dot == 0.0, 1.0, dot))
        dw = tree_util.tree_map(lambda x: fnp.where(started, x, fnp.zeros_like(x)), dw)
        du = tree_util.tree_map(lambda x: fnp.where(started, x, fnp.zeros_like(x)), du)
        weight = fnp.where(started, weight, 0.0)
        dw_mem = tree_util.tree_map(
            lambda m, x: m.at[prev_idx].set(x), state.diff_params_memory, dw
        )
        du_mem = tree_util.tree_map(
            lambda m, x: m.at[prev_idx].set(x), state.diff_updates_memory, du
        )
        rhos = state.weights_memory.at[prev_idx].set(weight)

        if scale_init_precond:
            num = fnp.real(tree_utils.tree_vdot(du, dw))
            den = tree_utils.tree_l2_norm(du, squared=True)
            gamma = fnp.where(den > 0.0, num / fnp.where(den > 0.0, den, 1.0), 1.0)
            norm = tree_utils.tree_l2_norm(lax.stop_gradient(updates))
            capped = fnp.minimum(1.0, 1.0 / fnp.where(norm > 0, norm, 1.0))
            gamma = fnp.where(started, gamma, capped)
        else:
            gamma = 1.0
        precond = _precondition(updates, dw_mem, du_mem, rhos, gamma, memory_idx, memory_size)
        precond = tree_util.tree_map(lambda p, u: fnp.asarray(p, dtype=u.dtype), precond, updates)
        return precond, ScaleByLBFGSState(
            count=tree_utils.safe_int32_increment(state.count),
            params=params,
            updates=updates,
            diff_params_memory=dw_mem,
            diff_updates_memory=du_mem,
            weights_memory=rhos,
        )

    return base.GradientTransformation(init_fn, update_fn)


# optax's default line search for lbfgs (a stateless factory result, safe to share).
_DEFAULT_LINESEARCH = linesearch.scale_by_zoom_linesearch(
    max_linesearch_steps=20, initial_guess_strategy="one"
)


def lbfgs(
    learning_rate: base.ScalarOrSchedule | None = None,
    memory_size: int = 10,
    scale_init_precond: bool = True,
    linesearch: base.GradientTransformationExtraArgs | None = _DEFAULT_LINESEARCH,
) -> base.GradientTransformationExtraArgs:
    r"""L-BFGS with a zoom line search (strong Wolfe conditions).

    ``chain(scale_by_lbfgs(memory_size, scale_init_precond), scale_by_learning_rate(lr) or
    scale(-1), linesearch)``. The default line search is
    ``scale_by_zoom_linesearch(max_linesearch_steps=20, initial_guess_strategy="one")``;
    pass ``linesearch=None`` for none. With a line search, ``update`` needs the extra
    arguments ``value`` (the loss at ``params``), ``grad`` (its gradient, usually the
    updates themselves) and ``value_fn`` (the loss as a function of the params); use
    ``value_and_grad_from_state`` to reuse the value and gradient the line search already
    computed.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> import transforms
        >>> f = lambda w: fnp.sum((w - fnp.asarray([1.0, -2.0])) ** 2 * fnp.asarray([1.0, 10.0]))
        >>> opt = transforms.lbfgs()
        >>> w = fnp.zeros(2)
        >>> state = opt.init(w)
        >>> value_and_grad = transforms.value_and_grad_from_state(f)
        >>> for _ in range(10):
        ...     value, grad = value_and_grad(w, state=state)
        ...     updates, state = opt.update(grad, state, w, value=value, grad=grad, value_fn=f)
        ...     w = transforms.apply_updates(w, updates)
        >>> [round(v, 6) for v in w.tolist()]
        [1.0, -2.0]
    """
    scaling = (
        transform.scale(-1.0)
        if learning_rate is None
        else transform.scale_by_learning_rate(learning_rate)
    )
    return base.chain(
        scale_by_lbfgs(memory_size=memory_size, scale_init_precond=scale_init_precond),
        scaling,
        base.identity() if linesearch is None else linesearch,
    )
