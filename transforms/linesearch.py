"""Line searches: the zoom search for the strong Wolfe conditions, and reusing its value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax, tree_util
from transforms import base, tree_utils

__all__ = ["ScaleByZoomLinesearchState", "scale_by_zoom_linesearch", "value_and_grad_from_state"]


class ScaleByZoomLinesearchState(NamedTuple):
    """The accepted step size, the value and gradient at the new params, the number of
    function evaluations of the last search, and whether it met the Wolfe conditions."""

    learning_rate: Any
    value: Any
    grad: Any
    num_linesearch_steps: Any
    succeeded: Any


def _cubic_or_bisect(lo, f_lo, s_lo, hi, f_hi, s_hi):
    """Minimiser of the cubic through both ends (values and slopes), safeguarded to the
    middle 80% of the interval; the midpoint where the cubic has no usable minimiser."""
    d1 = s_lo + s_hi - 3 * (f_lo - f_hi) / fnp.where(lo == hi, 1.0, lo - hi)
    disc = d1 * d1 - s_lo * s_hi
    d2 = fnp.sign(hi - lo) * fnp.sqrt(fnp.where(disc > 0, disc, 0.0))
    den = s_hi - s_lo + 2 * d2
    cubic = hi - (hi - lo) * (s_hi + d2 - d1) / fnp.where(den == 0, 1.0, den)
    left, right = fnp.minimum(lo, hi), fnp.maximum(lo, hi)
    margin = 0.1 * (right - left)
    ok = (disc > 0) & (den != 0) & fnp.isfinite(cubic)
    ok = ok & (cubic > left + margin) & (cubic < right - margin)
    return fnp.where(ok, cubic, 0.5 * (lo + hi))


def scale_by_zoom_linesearch(
    max_linesearch_steps: int,
    max_stepsize: float | None = None,
    slope_rtol: float = 1e-4,
    curv_rtol: float = 0.9,
    increase_factor: float = 2.0,
    initial_guess_strategy: str = "keep",
    stepsize_precision: float = 1e-10,
) -> base.GradientTransformationExtraArgs:
    r"""Scale the updates (a descent direction :math:`d`) by a step size that satisfies the
    strong Wolfe conditions, found by bracketing and zooming (Nocedal and Wright,
    Algorithms 3.5 and 3.6).

    With :math:`\phi(\eta) = f(w + \eta d)`, the accepted :math:`\eta` satisfies

    .. math::
        \phi(\eta) \le \phi(0) + c_1 \eta \phi'(0),\qquad |\phi'(\eta)| \le c_2 |\phi'(0)|

    (``slope_rtol`` :math:`= c_1`, ``curv_rtol`` :math:`= c_2`). Bracketing starts at
    1 (``initial_guess_strategy="one"``) or at the previous step size (``"keep"``) and
    multiplies by ``increase_factor`` (capped at ``max_stepsize``) until the conditions
    hold or a bracket is found; zooming takes the safeguarded cubic interpolation of the
    bracket's ends (the midpoint when the cubic is unusable). At most
    ``max_linesearch_steps`` evaluations; if none meets both conditions, the largest
    step found that meets the first is used (0 if none: the params stay).

    The search is a ``lax.while_loop``, so the whole step can be jitted. The value and
    gradient at the new params are stored in the state (``value_and_grad_from_state``).
    Unlike optax's implementation there is no approximate-Wolfe fallback; on smooth
    problems the accepted steps agree, elsewhere they may differ.

    Args:
        max_linesearch_steps: the maximum number of function evaluations per search.
        max_stepsize: an upper bound of the step size, or None.
        slope_rtol, curv_rtol: :math:`c_1 < c_2` in (0, 1).
        increase_factor: the bracketing growth factor (> 1).
        initial_guess_strategy: ``"one"`` or ``"keep"``.
        stepsize_precision: stop zooming when the bracket is narrower than this.

    Returns:
        A ``GradientTransformationExtraArgs``; ``update`` needs ``params`` and the extra
        arguments ``value``, ``grad`` and ``value_fn`` (see ``lbfgs``).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> import transforms
        >>> f = lambda w: fnp.sum((w - 3.0) ** 2)
        >>> tx = transforms.scale_by_zoom_linesearch(max_linesearch_steps=10)
        >>> w = fnp.zeros(1)
        >>> value, grad = funcgrad.value_and_grad(f)(w)
        >>> u, state = tx.update(-grad, tx.init(w), w, value=value, grad=grad, value_fn=f)
        >>> u.tolist(), bool(state.succeeded)  # eta = 0.5 lands on the minimum
        ([3.0], True)
    """
    if not 0 < slope_rtol < curv_rtol < 1:
        raise ValueError(
            "scale_by_zoom_linesearch: need 0 < slope_rtol < curv_rtol < 1, got "
            f"slope_rtol={slope_rtol}, curv_rtol={curv_rtol}"
        )
    if initial_guess_strategy not in ("one", "keep"):
        raise ValueError(
            "scale_by_zoom_linesearch: initial_guess_strategy must be 'one' or 'keep', got "
            f"{initial_guess_strategy!r}"
        )
    if not (isinstance(max_linesearch_steps, int) and max_linesearch_steps >= 1):
        raise ValueError(
            "scale_by_zoom_linesearch: max_linesearch_steps must be an int >= 1, got "
            f"{max_linesearch_steps!r}"
        )

    def init_fn(params):
        return ScaleByZoomLinesearchState(
            learning_rate=fnp.asarray(1.0),
            value=fnp.asarray(fnp.inf),
            grad=tree_utils.tree_zeros_like(params),
            num_linesearch_steps=fnp.zeros((), dtype=fnp.int32),
            succeeded=fnp.asarray(True),
        )

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None, **extra):
        del extra
        if params is None or value is None or grad is None or value_fn is None:
            raise ValueError(
                "scale_by_zoom_linesearch.update: pass params and the extra arguments value= "
                "(the loss at params), grad= (its gradient) and value_fn= (the loss function)"
            )
        tree_utils.check_same_structure(
            "scale_by_zoom_linesearch.update", updates, params, "params"
        )
        d = updates
        f0 = fnp.asarray(value, dtype=fnp.float64)
        s0 = fnp.real(tree_utils.tree_vdot(grad, d))

        def phi(eta):
            x = tree_utils.tree_add_scalar_mul(params, eta, d)
            f, g = funcgrad.value_and_grad(value_fn)(x)
            return fnp.asarray(f, dtype=fnp.float64), fnp.real(tree_utils.tree_vdot(g, d))

        first = state.learning_rate if initial_guess_strategy == "keep" else fnp.asarray(1.0)
        if max_stepsize is not None:
            first = fnp.minimum(first, max_stepsize)
        zero, false = fnp.asarray(0.0), fnp.asarray(False)
        carry = dict(  # noqa: C408  (keyword style: the names are the algorithm's)
            it=fnp.zeros((), dtype=fnp.int32),
            done=false,
            zoom=false,
            trial=first,
            a_prev=zero,
            f_prev=f0,
            s_prev=s0,
            lo=zero,
            f_lo=f0,
            s_lo=s0,
            hi=zero,
            f_hi=f0,
            s_hi=s0,
            accepted=zero,
            ok=false,
            best=zero,
        )

        def cond(c):
            return (~c["done"]) & (c["it"] < max_linesearch_steps)

        def body(c):
            a = c["trial"]
            f, s = phi(a)
            armijo_fail = (f > f0 + slope_rtol * a * s0) | ~fnp.isfinite(f)
            curv_ok = fnp.abs(s) <= curv_rtol * fnp.abs(s0)
            z = c["zoom"]
            # Bracketing phase (Algorithm 3.5).
            to_zoom_a = armijo_fail | ((c["it"] > 0) & (f >= c["f_prev"]))
            accept_b = ~to_zoom_a & curv_ok
            to_zoom_c = ~to_zoom_a & ~accept_b & (s >= 0)
            # Zoom phase (Algorithm 3.6).
            shrink_hi = armijo_fail | (f >= c["f_lo"])
            accept_z = ~shrink_hi & curv_ok
            flip = ~shrink_hi & ~accept_z & (s * (c["hi"] - c["lo"]) >= 0)
            move_lo = ~shrink_hi & ~accept_z

            def pick(bracket_value, zoom_value):
                return fnp.where(z, zoom_value, bracket_value)

            lo = pick(fnp.where(to_zoom_a, c["a_prev"], a), fnp.where(move_lo, a, c["lo"]))
            f_lo = pick(fnp.where(to_zoom_a, c["f_prev"], f), fnp.where(move_lo, f, c["f_lo"]))
            s_lo = pick(fnp.where(to_zoom_a, c["s_prev"], s), fnp.where(move_lo, s, c["s_lo"]))
            hi_z = fnp.where(shrink_hi, a, fnp.where(flip, c["lo"], c["hi"]))
            fhi_z = fnp.where(shrink_hi, f, fnp.where(flip, c["f_lo"], c["f_hi"]))
            shi_z = fnp.where(shrink_hi, s, fnp.where(flip, c["s_lo"], c["s_hi"]))
            hi = pick(fnp.where(to_zoom_a, a, c["a_prev"]), hi_z)
            f_hi = pick(fnp.where(to_zoom_a, f, c["f_prev"]), fhi_z)
            s_hi = pick(fnp.where(to_zoom_a, s, c["s_prev"]), shi_z)
            accept = pick(accept_b, accept_z)
            zoom_next = z | to_zoom_a | to_zoom_c
            grown = a * increase_factor
            if max_stepsize is not None:
                grown = fnp.minimum(grown, max_stepsize)
            next_trial = fnp.where(
                zoom_next, _cubic_or_bisect(lo, f_lo, s_lo, hi, f_hi, s_hi), grown
            )
            narrow = zoom_next & (fnp.abs(hi - lo) < stepsize_precision)
            best = fnp.where(~armijo_fail & (a > c["best"]), a, c["best"])
            return dict(  # noqa: C408
                it=c["it"] + 1,
                done=accept | narrow,
                zoom=zoom_next,
                trial=next_trial,
                a_prev=fnp.where(z, c["a_prev"], a),
                f_prev=fnp.where(z, c["f_prev"], f),
                s_prev=fnp.where(z, c["s_prev"], s),
                lo=lo,
                f_lo=f_lo,
                s_lo=s_lo,
                hi=hi,
                f_hi=f_hi,
                s_hi=s_hi,
                accepted=fnp.where(accept, a, c["accepted"]),
                ok=c["ok"] | accept,
                best=best,
            )

        out = lax.while_loop(cond, body, carry)
        eta = fnp.where(out["ok"], out["accepted"], out["best"])
        new_updates = tree_utils.tree_scalar_mul(eta, d)
        new_value, new_grad = funcgrad.value_and_grad(value_fn)(
            tree_util.tree_map(lambda p, u: p + u, params, new_updates)
        )
        return new_updates, ScaleByZoomLinesearchState(
            learning_rate=eta,
            value=fnp.asarray(new_value, dtype=fnp.asarray(state.value).dtype),
            grad=new_grad,
            num_linesearch_steps=out["it"],
            succeeded=out["ok"],
        )

    return base.GradientTransformationExtraArgs(init_fn, update_fn)


def _find_linesearch_state(state):
    found = [
        s
        for s in tree_util.tree_leaves(
            state, is_leaf=lambda x: isinstance(x, ScaleByZoomLinesearchState)
        )
        if isinstance(s, ScaleByZoomLinesearchState)
    ]
    return found


def value_and_grad_from_state(value_fn: Callable[..., Any]) -> Callable[..., Any]:
    """``value_and_grad(value_fn)`` that reuses the value and gradient a zoom line search
    stored in the optimizer state (computed at the params it returned).

    The returned function takes ``(params, *args, state=...)``. At the first step (no
    stored value yet: it is ``inf``) it computes them; afterwards it returns the stored
    ones, saving one evaluation per step. The state must hold exactly one
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

    def fn(params, *args, state):
        found = _find_linesearch_state(state)
        if len(found) != 1:
            raise ValueError(
                "value_and_grad_from_state: the state must hold exactly one "
                f"ScaleByZoomLinesearchState (from scale_by_zoom_linesearch), found {len(found)}"
            )
        ls = found[0]
        return lax.cond(
            fnp.isinf(ls.value),
            lambda p: funcgrad.value_and_grad(value_fn)(p, *args),
            lambda p: (fnp.asarray(ls.value, dtype=fnp.asarray(ls.value).dtype), ls.grad),
            params,
        )

    return fn
