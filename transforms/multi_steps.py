"""Gradient accumulation: `MultiSteps` and `apply_every` (optax's names and semantics).

Both let a small batch stand in for a large one: the gradients of ``k`` consecutive
calls are combined, and the optimizer moves once every ``k`` calls.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> import transforms
    >>> opt = MultiSteps(transforms.pytorch.sgd(lr=1.0), every_k_schedule=2)
    >>> state = opt.init(fnp.zeros(1))
    >>> u, state = opt.update(fnp.asarray([1.0]), state)   # accumulated, no move
    >>> u.tolist()
    [0.0]
    >>> u, state = opt.update(fnp.asarray([3.0]), state)   # one step on the mean
    >>> u.tolist()
    [-2.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax, tree_util
from transforms import tree_utils
from transforms.base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)

__all__ = [
    "ApplyEvery",
    "MultiSteps",
    "MultiStepsState",
    "apply_every",
    "skip_large_updates",
    "skip_not_finite",
]


def skip_not_finite(updates: Any, gradient_step: Any, params: Any) -> tuple[Any, dict]:
    """A `MultiSteps` skip rule: skip a mini-step whose updates hold a NaN or an inf.

    Args:
        updates: the mini-step's updates.
        gradient_step: the current gradient step (unused).
        params: the params (unused).

    Returns:
        ``(should_skip, info)`` with ``info = {"should_skip", "num_not_finite"}``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> skip, info = skip_not_finite([fnp.asarray([1.0, fnp.inf])], 0, None)
        >>> bool(skip), int(info["num_not_finite"])
        (True, 1)
    """
    del gradient_step, params
    counts = [fnp.sum(~fnp.isfinite(x)) for x in tree_util.tree_leaves(updates)]
    num = fnp.asarray(sum(counts[1:], counts[0]) if counts else 0, dtype=fnp.int32)
    should_skip = num > 0
    return should_skip, {"should_skip": should_skip, "num_not_finite": num}


def skip_large_updates(
    updates: Any, gradient_step: Any, params: Any, max_squared_norm: float
) -> tuple[Any, dict]:
    """A `MultiSteps` skip rule: skip a mini-step whose squared global norm is too large.

    Bind ``max_squared_norm`` with ``functools.partial``. A NaN norm is skipped too.

    Args:
        updates: the mini-step's updates.
        gradient_step: the current gradient step (unused).
        params: the params (unused).
        max_squared_norm: the largest accepted ``sum(u**2)``.

    Returns:
        ``(should_skip, info)`` with ``info = {"should_skip", "norm_squared"}``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> skip, info = skip_large_updates([fnp.asarray([3.0, 4.0])], 0, None, 20.0)
        >>> bool(skip), float(info["norm_squared"])
        (True, 25.0)
    """
    del gradient_step, params
    norm_sq = tree_utils.tree_l2_norm(updates, squared=True)
    should_skip = ~(norm_sq < max_squared_norm)
    return should_skip, {"should_skip": should_skip, "norm_squared": norm_sq}


class MultiStepsState(NamedTuple):
    """State of `MultiSteps`.

    Attributes:
        mini_step: calls since the last real step (0 right after one).
        gradient_step: real steps taken by the inner optimizer.
        inner_opt_state: the inner optimizer's state.
        acc_grads: the running mean (or sum) of the updates of this cycle.
        skip_state: what ``should_skip_update_fn`` reported last (a pytree).
    """

    mini_step: Any
    gradient_step: Any
    inner_opt_state: Any
    acc_grads: Any
    skip_state: Any = ()


class MultiSteps:
    """Accumulate the updates of ``k`` calls, then take one step of the wrapped optimizer.

    Calls that do not complete a cycle return zero updates and leave the inner state
    unchanged. The call that completes it feeds the mean (``use_grad_mean=True``) or the
    sum of the cycle's updates to the inner optimizer and returns its updates, so ``k``
    calls with gradients :math:`g_1..g_k` equal one call with :math:`\\frac1k\\sum g_i`.
    ``k`` may follow a schedule of the gradient step (a growing batch size).

    Decision: ``accumulator_dtype=None`` (the default) accumulates in each parameter's
    dtype (optax's default is float32, JAX's default float; funcgrad's is float64).

    Args:
        opt: the wrapped optimizer.
        every_k_schedule: ``k``, or a function ``gradient_step -> k``.
        use_grad_mean: average the accumulated updates (else sum them).
        should_skip_update_fn: ``(updates, gradient_step, params) -> (bool, info)``;
            a skipped call changes nothing but ``skip_state`` (see `skip_not_finite`).
        accumulator_dtype: dtype of the accumulator, or ``None`` for the params' dtypes.

    Examples:
        See the module docstring; ``gradient_transformation()`` gives the
        ``(init, update)`` pair for `chain`.
    """

    def __init__(
        self,
        opt: GradientTransformation,
        every_k_schedule: int | Callable[[Any], Any],
        use_grad_mean: bool = True,
        should_skip_update_fn: Callable | None = None,
        accumulator_dtype: Any = None,
    ):
        if isinstance(every_k_schedule, int):
            if every_k_schedule < 1:
                raise ValueError(
                    f"MultiSteps: every_k_schedule must be >= 1, got {every_k_schedule}"
                )
            k = every_k_schedule

            def every_k_schedule(step):
                del step
                return k

        self._opt = with_extra_args_support(opt)
        self._every_k_schedule = every_k_schedule
        self._use_grad_mean = use_grad_mean
        self._accumulator_dtype = accumulator_dtype
        if should_skip_update_fn is None:

            def should_skip_update_fn(updates, gradient_step, params):
                del updates, gradient_step, params
                return fnp.asarray(False), ()

        self._should_skip_update_fn = should_skip_update_fn

    @property
    def inner_opt(self) -> GradientTransformationExtraArgs:
        """The wrapped optimizer."""
        return self._opt

    def init(self, params: Any) -> MultiStepsState:
        """The initial `MultiStepsState`: empty accumulator, inner state from ``params``."""
        gradient_step = fnp.zeros((), fnp.int32)
        zeros = tree_utils.tree_zeros_like(params)
        _, skip_state = self._should_skip_update_fn(zeros, gradient_step, params)
        return MultiStepsState(
            mini_step=fnp.zeros((), fnp.int32),
            gradient_step=gradient_step,
            inner_opt_state=self._opt.init(params),
            acc_grads=tree_utils.tree_zeros_like(params, dtype=self._accumulator_dtype),
            skip_state=skip_state,
        )

    def update(
        self, updates: Any, state: MultiStepsState, params: Any = None, **extra_args: Any
    ) -> tuple[Any, MultiStepsState]:
        """Accumulate ``updates``; every ``k``-th call, step the inner optimizer."""
        tree_utils.check_same_structure("MultiSteps.update", updates, state.acc_grads, "acc_grads")
        k = fnp.asarray(self._every_k_schedule(state.gradient_step), dtype=fnp.int32)
        should_skip, skip_state = self._should_skip_update_fn(updates, state.gradient_step, params)
        should_skip = fnp.asarray(should_skip)
        if should_skip.shape != () or should_skip.dtype != fnp.bool_:
            raise ValueError(
                "MultiSteps: should_skip_update_fn must return a scalar bool array first, got "
                f"dtype {should_skip.dtype} and shape {should_skip.shape}"
            )
        n = state.mini_step
        if self._use_grad_mean:
            # Welford's running mean: acc_n = acc_{n-1} + (g - acc_{n-1}) / n.
            acc = tree_util.tree_map(
                lambda g, a: a + (fnp.asarray(g, a.dtype) - a) / fnp.asarray(n + 1, a.dtype),
                updates, state.acc_grads,
            )  # fmt: skip
        else:
            acc = tree_util.tree_map(lambda g, a: a + fnp.asarray(g, a.dtype), updates,
                                     state.acc_grads)  # fmt: skip
        acc_like_updates = tree_util.tree_map(
            lambda a, g: fnp.asarray(a, dtype=fnp.asarray(g).dtype), acc, updates
        )
        out_shapes = funcgrad.eval_shape(
            lambda u, s, p: self._opt.update(u, s, p, **extra_args)[0],
            acc_like_updates, state.inner_opt_state, params,
        )  # fmt: skip

        def emit(acc_updates, inner_state, params):
            new_updates, new_state = self._opt.update(
                acc_updates, inner_state, params, **extra_args
            )
            return new_updates, _cast_like(new_state, inner_state)

        def hold(acc_updates, inner_state, params):
            del acc_updates, params
            zeros = tree_util.tree_map(lambda sd: fnp.zeros(sd.shape, sd.dtype), out_shapes)
            return zeros, inner_state

        is_last = (n == k - 1) & ~should_skip
        new_updates, inner_state = lax.cond(
            is_last, emit, hold, acc_like_updates, state.inner_opt_state, params
        )
        one = fnp.asarray(1, fnp.int32)

        def keep(new, old):
            return fnp.where(should_skip, old, new)

        new_state = MultiStepsState(
            mini_step=keep(fnp.where(is_last, fnp.zeros((), fnp.int32), n + one), n),
            gradient_step=fnp.where(
                is_last, tree_utils.safe_increment(state.gradient_step), state.gradient_step
            ),
            inner_opt_state=inner_state,
            acc_grads=tree_util.tree_map(
                lambda a, old: fnp.where(
                    should_skip, old, fnp.where(is_last, fnp.zeros_like(a), a)
                ),
                acc,
                state.acc_grads,
            ),
            skip_state=skip_state,
        )
        return new_updates, new_state

    def has_updated(self, state: MultiStepsState) -> Any:
        """Whether the last call took a real step (the inner optimizer moved)."""
        return (state.mini_step == 0) & (state.gradient_step > 0)

    def gradient_transformation(self) -> GradientTransformationExtraArgs:
        """This wrapper as an ``(init, update)`` pair."""
        return GradientTransformationExtraArgs(self.init, self.update)


def _cast_like(tree: Any, like: Any) -> Any:
    return tree_util.tree_map(lambda x, y: fnp.asarray(x, dtype=fnp.asarray(y).dtype), tree, like)


class ApplyEvery(NamedTuple):
    """State of `apply_every`: the call count modulo ``k`` and the running sum."""

    count: Any
    grad_acc: Any


def apply_every(k: int = 1) -> GradientTransformation:
    """Sum the updates of ``k`` calls and emit the sum every ``k``-th call (zeros between).

    Unlike `MultiSteps`, this is a plain chain member: transformations before it in a
    chain still run (and keep state) on every call.

    Args:
        k: emit every ``k`` calls; ``k >= 1``.

    Returns:
        A ``GradientTransformation`` whose state is `ApplyEvery`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = apply_every(2)
        >>> state = tx.init(fnp.zeros(1))
        >>> u, state = tx.update(fnp.asarray([1.0]), state)
        >>> u2, state = tx.update(fnp.asarray([3.0]), state)
        >>> u.tolist(), u2.tolist()
        ([0.0], [4.0])
    """
    if not (isinstance(k, int) and k >= 1):
        raise ValueError(f"apply_every: k must be an int >= 1, got {k!r}")

    def init_fn(params):
        return ApplyEvery(
            count=fnp.zeros((), fnp.int32), grad_acc=tree_utils.tree_zeros_like(params)
        )

    def update_fn(updates, state, params=None):
        del params
        tree_utils.check_same_structure("apply_every.update", updates, state.grad_acc, "grad_acc")
        fresh = state.count == 0
        acc = tree_util.tree_map(
            lambda g, a: fnp.where(fresh, fnp.zeros_like(a), a) + g, updates, state.grad_acc
        )
        emit = state.count == k - 1
        out = tree_util.tree_map(lambda a: fnp.where(emit, a, fnp.zeros_like(a)), acc)
        count = (state.count + fnp.asarray(1, fnp.int32)) % k
        return out, ApplyEvery(count=fnp.asarray(count, fnp.int32), grad_acc=acc)

    return GradientTransformation(init_fn, update_fn)
