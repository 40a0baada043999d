"""The zoom line search (strong Wolfe conditions, optax's algorithm) and reusing its value."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax, tree_util
from transforms import base, tree_utils

__all__ = [
    "ScaleByZoomLinesearchState",
    "ZoomLinesearchInfo",
    "scale_by_zoom_linesearch",
    "value_and_grad_from_state",
]


class ZoomLinesearchInfo(NamedTuple):
    """What the last search did, for debugging (optax's fields).

    Attributes:
        num_linesearch_steps: the number of function evaluations of the search.
        decrease_error: how much the last evaluated step violates the (approximate)
            sufficient decrease condition; 0 when it holds, ``inf`` for a NaN/inf value.
        curvature_error: how much it violates the curvature condition; 0 when it holds.
    """

    num_linesearch_steps: Any
    decrease_error: Any
    curvature_error: Any


class ScaleByZoomLinesearchState(NamedTuple):
    """The accepted step size, the value and gradient at the new params, and the info.

    ``value`` and ``grad`` are reused by `value_and_grad_from_state`; ``value`` is
    ``inf`` until the first search.
    """

    learning_rate: Any
    value: Any
    grad: Any
    info: ZoomLinesearchInfo


class _Search(NamedTuple):
    """The carry of the search loop (one function evaluation per iteration)."""

    count: Any
    stepsize: Any  # the last evaluated step size, its value, gradient and slope
    value: Any
    grad: Any
    slope: Any
    decrease_error: Any
    curvature_error: Any
    interval_found: Any  # False: bracketing phase; True: zooming phase
    done: Any
    failed: Any
    low: Any  # value(low) <= value(high); low is not necessarily < high
    value_low: Any
    slope_low: Any
    high: Any
    value_high: Any
    slope_high: Any
    cubic_ref: Any  # the third point of the cubic interpolant
    value_cubic_ref: Any
    safe_stepsize: Any  # the best step with sufficient decrease seen so far (0: none)
    safe_value: Any
    safe_grad: Any


def _cubicmin(a, fa, fpa, b, fb, c, fc):
    """The local minimiser of the cubic through ``(a, fa)``, ``(b, fb)``, ``(c, fc)`` with
    slope ``fpa`` at ``a``, and whether it exists (a finite, real critical point)."""
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    rb, rc = fb - fa - fpa * db, fc - fa - fpa * dc
    safe_denom = fnp.where(denom == 0, 1.0, denom)
    big_a = (dc**2 * rb - db**2 * rc) / safe_denom
    big_b = (-(dc**3) * rb + db**3 * rc) / safe_denom
    radical = big_b * big_b - 3.0 * big_a * fpa
    ok = (denom != 0) & (big_a != 0) & (radical >= 0)
    root = fnp.sqrt(fnp.where(radical >= 0, radical, 0.0))
    xmin = a + (-big_b + root) / fnp.where(big_a == 0, 1.0, 3.0 * big_a)
    return xmin, ok & fnp.isfinite(xmin)


def _quadmin(a, fa, fpa, b, fb):
    """The minimiser of the quadratic through ``(a, fa)``, ``(b, fb)`` with slope ``fpa``
    at ``a``, and whether it exists."""
    db = b - a
    curv = (fb - fa - fpa * db) / fnp.where(db == 0, 1.0, db * db)
    ok = (db != 0) & (curv != 0)
    xmin = a - fpa / fnp.where(curv == 0, 1.0, 2.0 * curv)
    return xmin, ok & fnp.isfinite(xmin)


def _fn_kwargs(fn_name: str, value_fn: Callable[..., Any], extra_args: dict) -> dict:
    """The extra arguments that ``value_fn`` accepts (optax's rule); others are an error."""
    try:
        parameters = inspect.signature(value_fn).parameters
    except (TypeError, ValueError):  # a builtin or C callable: give it everything
        return dict(extra_args)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(extra_args)
    unknown = sorted(k for k in extra_args if k not in parameters)
    if unknown:
        raise TypeError(
            f"{fn_name}: the extra keyword arguments {unknown} are not parameters of "
            "value_fn; pass only the arguments value_fn takes (e.g. the batch), or give "
            "value_fn a **kwargs parameter"
        )
    return dict(extra_args)


def scale_by_zoom_linesearch(
    max_linesearch_steps: int,
    max_learning_rate: float | None = None,
    tol: float = 0.0,
    increase_factor: float = 2.0,
    slope_rtol: float = 1e-4,
    curv_rtol: float = 0.9,
    approx_dec_rtol: float | None = 1e-6,
    stepsize_precision: float = 1e-5,
    initial_guess_strategy: str = "keep",
    verbose: bool = False,
    *,
    max_stepsize: float | None = None,
) -> base.GradientTransformationExtraArgs:
    r"""Scale the updates (a descent direction :math:`u`) by a step size :math:`\eta`
    meeting the strong Wolfe conditions, by optax's zoom line search.

    With :math:`\phi(\eta) = f(w + \eta u)`, :math:`c_1` = ``slope_rtol``,
    :math:`c_2` = ``curv_rtol``, :math:`c_3` = ``approx_dec_rtol`` and
    :math:`\epsilon` = ``tol``, a step is accepted when both errors are
    :math:`\le \epsilon`:

    .. math::
        e_{dec} = \max\big(0, \min(\phi(\eta) - \phi(0) - c_1\eta\phi'(0),\
        \max(\phi'(\eta) - (2c_1 - 1)\phi'(0),\ \phi(\eta) - \phi(0) - c_3|\phi(0)|))\big)

    .. math::
        e_{curv} = \max\big(0, |\phi'(\eta)| - c_2|\phi'(0)|\big)

    (a NaN error counts as ``inf``). The second term of the ``min`` is Hager and Zhang's
    approximate sufficient decrease, which still works when :math:`\phi` is flat to
    machine precision near a minimum; ``approx_dec_rtol=None`` leaves only Armijo's
    condition.

    The search (Nocedal and Wright, Algorithms 3.5 and 3.6), one evaluation of the value
    and gradient per iteration, at most ``max_linesearch_steps``:

    1. *Bracketing.* The first trial is 1 (``initial_guess_strategy="one"``) or the
       previous accepted step (``"keep"``), then each trial is ``increase_factor`` times
       the last, capped at ``max_learning_rate``. A trial with :math:`e_{dec} > 0`, or (after
       the first) a value not below the previous trial's, brackets
       ``[previous, trial]``; a trial with :math:`\phi' \ge 0` brackets
       ``[trial, previous]`` (the first end has the lower value). Reaching the cap without
       a bracket ends the search at the cap.
    2. *Zooming.* The next trial minimises the cubic through both ends and the previous
       end (``cubic_ref``), if it lies inside the bracket by 20% of its length; else the
       quadratic through the low end (value and slope) and the high end, if inside by
       10%; else the midpoint. The bracket then shrinks as in Algorithm 3.6.
    3. *Safeguards.* Every trial with :math:`e_{dec} \le \epsilon` is remembered (in
       the zoom phase, the one of lowest value). If the iterations run out, or the
       bracket is shorter than ``stepsize_precision`` once such a step exists, that step
       is taken (or, if the last trial's value was NaN/inf, the remembered one even if it
       is 0: the params stay); with no such step the last trial is taken.

    The value and gradient at the accepted step are stored in the state, so
    `value_and_grad_from_state` needs no extra evaluation. The search is one
    ``lax.while_loop``, so the whole step can be jitted.

    Args:
        max_linesearch_steps: the maximum number of evaluations per search (>= 1).
        max_learning_rate: an upper bound of the step size, or None.
        tol: :math:`\epsilon`, the tolerance on both errors.
        increase_factor: the bracketing growth factor (> 1).
        slope_rtol: :math:`c_1` in (0, 1).
        curv_rtol: :math:`c_2 > c_1` (``inf`` drops the curvature condition).
        approx_dec_rtol: :math:`c_3`, or None for Armijo's condition only.
        stepsize_precision: the bracket length below which a step with sufficient
            decrease is accepted without the curvature condition.
        initial_guess_strategy: ``"keep"`` (suits SGD) or ``"one"`` (suits L-BFGS).
        verbose: print a diagnostic (with ``funcgrad.debug.print``, so also under jit)
            when a search fails.
        max_stepsize: the name of ``max_learning_rate`` in optax before 0.2.5 (give one).

    Returns:
        A ``GradientTransformationExtraArgs`` whose state is `ScaleByZoomLinesearchState`;
        ``update(updates, state, params, *, value, grad, value_fn, **fn_kwargs)`` needs
        the value and gradient at ``params`` and the loss ``value_fn(params, **fn_kwargs)``;
        the other extra arguments must be parameters of ``value_fn`` (e.g. the batch).

    References:
        Nocedal and Wright, Numerical Optimization, 1999, Algorithms 3.5 and 3.6;
        Hager and Zhang, Algorithm 851: CG_DESCENT, 2006 (the approximate condition);
        optax's ``scale_by_zoom_linesearch`` (same arguments and steps).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> import transforms
        >>> f = lambda w: fnp.sum((w - 3.0) ** 2)
        >>> tx = transforms.scale_by_zoom_linesearch(max_linesearch_steps=10)
        >>> w = fnp.zeros(1)
        >>> value, grad = funcgrad.value_and_grad(f)(w)
        >>> u, state = tx.update(-grad, tx.init(w), w, value=value, grad=grad, value_fn=f)
        >>> u.tolist(), float(state.learning_rate)  # the cubic lands on the minimum
        ([3.0], 0.5)
    """
    fn_name = "scale_by_zoom_linesearch"
    if max_stepsize is not None:
        if max_learning_rate is not None:
            raise ValueError(
                f"{fn_name}: give max_learning_rate or its old name max_stepsize, not both"
            )
        max_learning_rate = max_stepsize
    if not (isinstance(max_linesearch_steps, int) and max_linesearch_steps >= 1):
        raise ValueError(
            f"{fn_name}: max_linesearch_steps must be an int >= 1, got {max_linesearch_steps!r}"
        )
    if not 0 < slope_rtol < 1 or not curv_rtol > slope_rtol:
        raise ValueError(
            f"{fn_name}: need 0 < slope_rtol < 1 and curv_rtol > slope_rtol, got "
            f"slope_rtol={slope_rtol}, curv_rtol={curv_rtol}"
        )
    if not increase_factor > 1:
        raise ValueError(f"{fn_name}: increase_factor must be > 1, got {increase_factor}")
    if max_learning_rate is not None and not max_learning_rate > 0:
        raise ValueError(f"{fn_name}: max_learning_rate must be > 0, got {max_learning_rate}")
    if not tol >= 0 or not stepsize_precision >= 0:
        raise ValueError(
            f"{fn_name}: tol and stepsize_precision must be >= 0, got tol={tol}, "
            f"stepsize_precision={stepsize_precision}"
        )
    if approx_dec_rtol is not None and not approx_dec_rtol >= 0:
        raise ValueError(f"{fn_name}: approx_dec_rtol must be >= 0 or None, got {approx_dec_rtol}")
    if initial_guess_strategy not in ("one", "keep"):
        raise ValueError(
            f"{fn_name}: initial_guess_strategy must be 'one' or 'keep', got "
            f"{initial_guess_strategy!r}"
        )

    def real_dtype(params):
        return fnp.real(fnp.asarray(tree_util.tree_leaves(params)[0])).dtype

    def init_fn(params):
        dtype = real_dtype(params)
        return ScaleByZoomLinesearchState(
            learning_rate=fnp.asarray(1.0, dtype=dtype),
            value=fnp.asarray(fnp.inf, dtype=dtype),
            grad=tree_utils.tree_zeros_like(params),
            info=ZoomLinesearchInfo(
                num_linesearch_steps=fnp.zeros((), dtype=fnp.int32),
                decrease_error=fnp.asarray(fnp.inf, dtype=dtype),
                curvature_error=fnp.asarray(fnp.inf, dtype=dtype),
            ),
        )

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None, **extra):
        if params is None or value is None or grad is None or value_fn is None:
            raise ValueError(
                f"{fn_name}.update: pass params and the extra arguments value= (the loss at "
                "params), grad= (its gradient) and value_fn= (the loss function)"
            )
        tree_utils.check_same_structure(f"{fn_name}.update", updates, params, "params")
        tree_utils.check_same_structure(
            f"{fn_name}.update", grad, params, "params", tree_name="grad"
        )
        fn_kwargs = _fn_kwargs(f"{fn_name}.update", value_fn, extra)
        dtype = real_dtype(params)
        scalar = lambda x: fnp.asarray(x, dtype=dtype)
        value_and_grad = funcgrad.value_and_grad(value_fn)

        def on_line(stepsize):
            """The value, gradient and slope of eta -> f(params + eta * updates)."""
            point = tree_utils.tree_add_scalar_mul(params, stepsize, updates)
            v, g = value_and_grad(point, **fn_kwargs)
            slope = fnp.real(tree_utils.tree_vdot(tree_util.tree_map(fnp.conj, g), updates))
            return scalar(v), g, scalar(slope)

        value_init = scalar(value)
        slope_init = scalar(fnp.real(tree_utils.tree_vdot(updates, grad)))

        def errors(stepsize, v, slope):
            dec = v - value_init - slope_rtol * stepsize * slope_init
            if approx_dec_rtol is not None:
                approx = fnp.maximum(
                    slope - (2 * slope_rtol - 1.0) * slope_init,
                    v - value_init - approx_dec_rtol * fnp.abs(value_init),
                )
                dec = fnp.minimum(approx, dec)
            dec = fnp.maximum(dec, 0.0)
            dec = fnp.where(fnp.isnan(dec), fnp.inf, dec)
            curv = fnp.maximum(fnp.abs(slope) - curv_rtol * fnp.abs(slope_init), 0.0)
            curv = fnp.where(fnp.isnan(curv), fnp.inf, curv)
            return scalar(dec), scalar(curv)

        def search_interval(s):
            """Algorithm 3.5: one trial of the bracketing phase."""
            trial = fnp.where(s.count == 0, guess, increase_factor * s.stepsize)
            if max_learning_rate is None:
                capped = fnp.asarray(False)
            else:
                capped = trial >= max_learning_rate
                trial = fnp.minimum(trial, max_learning_rate)
            trial = scalar(trial)
            v, g, slope = on_line(trial)
            dec, curv = errors(trial, v, slope)
            ok = fnp.maximum(dec, curv) <= tol
            keep_safe = dec <= tol
            high_is_new = (dec > 0.0) | ((v >= s.value) & (s.count > 0))
            low_is_new = (slope >= 0.0) & ~high_is_new
            pick = lambda a, b: fnp.where(low_is_new, a, b)
            low, value_low, slope_low = (
                pick(trial, s.stepsize), pick(v, s.value), pick(slope, s.slope)
            )  # fmt: skip
            high, value_high, slope_high = (
                pick(s.stepsize, trial), pick(s.value, v), pick(s.slope, slope)
            )  # fmt: skip
            found = high_is_new | low_is_new | ok
            done = ok | (capped & ~found)
            return _Search(
                count=s.count + 1,
                stepsize=trial, value=v, grad=g, slope=slope,
                decrease_error=dec, curvature_error=curv,
                interval_found=found, done=done,
                failed=(s.count + 1 >= max_linesearch_steps) & ~done,
                low=low, value_low=value_low, slope_low=slope_low,
                high=high, value_high=value_high, slope_high=slope_high,
                cubic_ref=low, value_cubic_ref=value_low,
                safe_stepsize=fnp.where(keep_safe, trial, s.safe_stepsize),
                safe_value=fnp.where(keep_safe, v, s.safe_value),
                safe_grad=tree_utils.tree_where(keep_safe, g, s.safe_grad),
            )  # fmt: skip

        def zoom_into_interval(s):
            """Algorithm 3.6: one interpolated trial inside the bracket."""
            delta = fnp.abs(s.high - s.low)
            left, right = fnp.minimum(s.high, s.low), fnp.maximum(s.high, s.low)
            cubic, cubic_ok = _cubicmin(
                s.low, s.value_low, s.slope_low, s.high, s.value_high, s.cubic_ref,
                s.value_cubic_ref,
            )  # fmt: skip
            use_cubic = cubic_ok & (cubic > left + 0.2 * delta) & (cubic < right - 0.2 * delta)
            quad, quad_ok = _quadmin(s.low, s.value_low, s.slope_low, s.high, s.value_high)
            use_quad = ~use_cubic & quad_ok
            use_quad = use_quad & (quad > left + 0.1 * delta) & (quad < right - 0.1 * delta)
            middle = fnp.where(use_cubic, cubic, fnp.where(use_quad, quad, (s.low + s.high) / 2.0))
            middle = scalar(middle)
            v, g, slope = on_line(middle)
            dec, curv = errors(middle, v, slope)
            done = fnp.maximum(dec, curv) <= tol
            better_safe = (dec <= tol) & (v < s.safe_value)
            safe_stepsize = fnp.where(better_safe, middle, s.safe_stepsize)
            high_to_middle = (dec > 0.0) | (v >= s.value_low)
            high_to_low = (slope * (s.high - s.low) >= 0.0) & ~high_to_middle
            low_to_middle = ~high_to_middle

            def new_high(old_high, old_low, new):
                return fnp.where(high_to_low, old_low, fnp.where(high_to_middle, new, old_high))

            high_moved = high_to_middle | high_to_low
            too_small = delta <= stepsize_precision
            stop = (s.count + 1 >= max_linesearch_steps) | (too_small & (safe_stepsize > 0.0))
            return _Search(
                count=s.count + 1,
                stepsize=middle, value=v, grad=g, slope=slope,
                decrease_error=dec, curvature_error=curv,
                interval_found=s.interval_found, done=done, failed=stop & ~done,
                low=fnp.where(low_to_middle, middle, s.low),
                value_low=fnp.where(low_to_middle, v, s.value_low),
                slope_low=fnp.where(low_to_middle, slope, s.slope_low),
                high=new_high(s.high, s.low, middle),
                value_high=new_high(s.value_high, s.value_low, v),
                slope_high=new_high(s.slope_high, s.slope_low, slope),
                # The end that was replaced is the third point of the next cubic.
                cubic_ref=fnp.where(high_moved, s.high, s.low),
                value_cubic_ref=fnp.where(high_moved, s.value_high, s.value_low),
                safe_stepsize=safe_stepsize,
                safe_value=fnp.where(better_safe, v, s.safe_value),
                safe_grad=tree_utils.tree_where(better_safe, g, s.safe_grad),
            )  # fmt: skip

        def try_safe_step(s):
            """A failed search falls back on the remembered step with sufficient decrease."""
            use_safe = (s.safe_stepsize > 0.0) | fnp.isinf(s.decrease_error)
            if verbose:
                funcgrad.debug.print(
                    "scale_by_zoom_linesearch: the search failed (value at params {}, slope "
                    "{}, last step {}, decrease error {}, curvature error {}); taking the "
                    "step {} (0 when none decreased the value enough)",
                    value_init, slope_init, s.stepsize, s.decrease_error,
                    s.curvature_error, fnp.where(use_safe, s.safe_stepsize, s.stepsize),
                )  # fmt: skip
            return s._replace(
                stepsize=fnp.where(use_safe, s.safe_stepsize, s.stepsize),
                value=fnp.where(use_safe, s.safe_value, s.value),
                grad=tree_utils.tree_where(use_safe, s.safe_grad, s.grad),
            )

        def body(s):
            s = lax.cond(s.interval_found, zoom_into_interval, search_interval, s)
            return lax.cond(s.failed, try_safe_step, lambda x: x, s)

        if initial_guess_strategy == "one":
            guess = scalar(1.0)
        else:
            guess = scalar(state.learning_rate)
        zero, false = scalar(0.0), fnp.asarray(False)
        start = _Search(
            count=fnp.zeros((), dtype=fnp.int32),
            stepsize=zero, value=value_init, grad=grad, slope=slope_init,
            decrease_error=scalar(fnp.inf), curvature_error=scalar(fnp.inf),
            interval_found=false, done=false, failed=false,
            low=zero, value_low=value_init, slope_low=slope_init,
            high=zero, value_high=value_init, slope_high=slope_init,
            cubic_ref=zero, value_cubic_ref=value_init,
            safe_stepsize=zero, safe_value=value_init, safe_grad=grad,
        )  # fmt: skip
        out = lax.while_loop(lambda s: ~(s.done | s.failed), body, start)
        new_updates = tree_utils.tree_scalar_mul(out.stepsize, updates)
        return new_updates, ScaleByZoomLinesearchState(
            learning_rate=out.stepsize,
            value=out.value,
            grad=tree_util.tree_map(lambda g, p: fnp.asarray(g, dtype=p.dtype), out.grad, params),
            info=ZoomLinesearchInfo(
                num_linesearch_steps=out.count,
                decrease_error=out.decrease_error,
                curvature_error=out.curvature_error,
            ),
        )

    return base.GradientTransformationExtraArgs(init_fn, update_fn)


def _find_linesearch_state(state):
    return [
        s
        for s in tree_util.tree_leaves(
            state, is_leaf=lambda x: isinstance(x, ScaleByZoomLinesearchState)
        )
        if isinstance(s, ScaleByZoomLinesearchState)
    ]


def value_and_grad_from_state(value_fn: Callable[..., Any]) -> Callable[..., Any]:
    """``value_and_grad(value_fn)`` that reuses the value and gradient a zoom line search
    stored in the optimizer state (computed at the params it returned).

    The returned function takes ``(params, *args, state=..., **kwargs)`` (the extra
    arguments go to ``value_fn``). When the stored value is ``inf`` or NaN (before the
    first step) it computes them; afterwards it returns the stored ones, saving one
    evaluation per step (optax's rule). The state must hold exactly one
    ``ScaleByZoomLinesearchState``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> f = lambda w: fnp.sum(w ** 2)
        >>> opt = transforms.lbfgs()
        >>> w = fnp.ones(2)
        >>> value, grad = transforms.value_and_grad_from_state(f)(w, state=opt.init(w))
        >>> float(value), grad.tolist()
        (2.0, [2.0, 2.0])
    """

    def fn(params, *args, state, **kwargs):
        found = _find_linesearch_state(state)
        if len(found) != 1:
            raise ValueError(
                "value_and_grad_from_state: the state must hold exactly one "
                f"ScaleByZoomLinesearchState (from scale_by_zoom_linesearch), found {len(found)}"
            )
        ls = found[0]
        return lax.cond(
            fnp.isinf(ls.value) | fnp.isnan(ls.value),
            lambda p: funcgrad.value_and_grad(value_fn)(p, *args, **kwargs),
            lambda p: (ls.value, ls.grad),
            params,
        )

    return fn
