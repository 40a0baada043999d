"""A strong-Wolfe line search (bracketing, then zoom with cubic/quadratic interpolation) as
one ``lax.while_loop``, for :func:`funcgrad.scipy.optimize.minimize`.

It follows Nocedal and Wright, *Numerical Optimization* (2nd ed.), Algorithms 3.5 and 3.6,
with the safeguards of SciPy's ``scalar_search_wolfe2`` that JAX's line search also uses:
a trial step inside the bracket is the minimiser of the cubic through the two ends and
the previous point, else of the quadratic through the low end (value and slope) and the
high end, else the midpoint, whichever first lies far enough (20% / 10% of the bracket)
from the ends. The bracketing phase doubles the step.

Each loop iteration evaluates ``f`` and its gradient once, at the step the current phase
asks for, then updates the phase's state with ``where``, so the whole search is traceable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import funcgrad.numpy as fnp

_BRACKET, _ZOOM, _DONE = 0, 1, 2


class LineSearchResults(NamedTuple):
    """What :func:`line_search` found.

    Attributes:
        failed: no step satisfying the strong Wolfe conditions was found.
        nit: loop iterations (bracketing plus zoom).
        nfev: function evaluations (each also computes the gradient).
        ngev: gradient evaluations.
        a_k: the step (the best point seen when ``failed``).
        f_k: ``f(x + a_k p)``.
        g_k: the gradient there.
        status: 0 success, 1 bracketing ran out of iterations, 2 zoom ran out of
            iterations, 3 ``p`` is not a descent direction (or ``f`` is not finite at ``x``).
    """

    failed: Any
    nit: Any
    nfev: Any
    ngev: Any
    a_k: Any
    f_k: Any
    g_k: Any
    status: Any


def _safe(d):
    """A denominator that is never 0, so inactive branches stay finite (and debug_nans quiet)."""
    return fnp.where(d == 0, 1.0, d)


def _cubic_min(a, fa, fpa, b, fb, c, fc):
    """The stationary point of the cubic through ``(a, fa)`` with slope ``fpa``, ``(b, fb)``
    and ``(c, fc)``, and whether it exists."""
    db, dc = b - a, c - a
    rb, rc = fb - fa - fpa * db, fc - fa - fpa * dc
    denom = (db * dc) ** 2 * (db - dc)
    # p(t) = A t^3 + B t^2 + fpa t + fa with t = x - a
    big_a = (dc**2 * rb - db**2 * rc) / _safe(denom)
    big_b = (-(dc**3) * rb + db**3 * rc) / _safe(denom)
    radical = big_b * big_b - 3.0 * big_a * fpa
    t = (-big_b + fnp.sqrt(fnp.maximum(radical, 0.0))) / _safe(3.0 * big_a)
    return a + t, (denom != 0) & (radical >= 0) & (big_a != 0)


def _quad_min(a, fa, fpa, b, fb):
    """The minimiser of the quadratic through ``(a, fa)`` with slope ``fpa`` and ``(b, fb)``,
    and whether it exists."""
    db = b - a
    curvature = (fb - fa - fpa * db) / _safe(db * db)
    return a - fpa / _safe(2.0 * curvature), (db != 0) & (curvature != 0)


def _inside(t, ok, lo, hi, margin):
    return ok & fnp.isfinite(t) & (t > lo + margin) & (t < hi - margin)


def line_search(value_and_grad: Callable, x: Any, p: Any, f0: Any, g0: Any,
                old_old_fval: Any = None, *, c1: float = 1e-4, c2: float = 0.9,
                maxiter: int = 10) -> LineSearchResults:  # fmt: skip
    """Find ``a`` with ``f(x + a p) <= f0 + c1 a g0.p`` and ``|g(x + a p).p| <= c2 |g0.p|``.

    The first trial step is ``min(1, 2.02 (f0 - old_old_fval) / g0.p)`` (SciPy's and JAX's
    guess from the previous decrease) or 1 without ``old_old_fval``. ``maxiter`` bounds
    the bracketing iterations and, separately, the zoom iterations.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> vg = funcgrad.value_and_grad(lambda x: fnp.sum(x**2))
        >>> x = fnp.asarray([1.0]); f, g = vg(x)
        >>> res = line_search(vg, x, -g, f, g)
        >>> bool(res.failed), float(res.a_k), float(res.f_k)
        (False, 0.5, 0.0)
    """
    from funcgrad import lax

    dtype = f0.dtype
    dphi0 = fnp.dot(g0, p)
    start = fnp.asarray(1.0, dtype)
    if old_old_fval is not None:
        guess = 1.01 * 2.0 * (f0 - old_old_fval) / dphi0
        start = fnp.where(fnp.isfinite(guess) & (guess > 0), fnp.minimum(start, guess), start)
    zero = fnp.zeros((), dtype)
    descent = (dphi0 < 0) & fnp.isfinite(f0)

    # state: phase, bracket steps, zoom steps, nfev, next bracket step, previous bracket point
    # (a, phi, dphi, g), zoom bracket (lo: a, phi, dphi, g; hi: a, phi; recent: a, phi),
    # answer (a, phi, g), status
    state = (
        fnp.where(descent, _BRACKET, _DONE), 0, 0, 0, start,
        zero, f0, dphi0, g0,
        zero, f0, dphi0, g0, zero, f0, zero, f0,
        zero, f0, g0, fnp.where(descent, 0, 3),
    )  # fmt: skip

    def cond(s):
        phase, i_bracket, i_zoom = s[0], s[1], s[2]
        running = (phase == _BRACKET) & (i_bracket < maxiter)
        return running | ((phase == _ZOOM) & (i_zoom < maxiter))

    def body(s):
        (phase, i_b, i_z, nfev, a_next, a_prev, phi_prev, dphi_prev, g_prev,
         a_lo, phi_lo, dphi_lo, g_lo, a_hi, phi_hi, a_rec, phi_rec,
         a_star, phi_star, g_star, status) = s  # fmt: skip
        zooming = phase == _ZOOM

        # the zoom's trial step: cubic, else quadratic, else bisection
        width = a_hi - a_lo
        left, right = fnp.minimum(a_lo, a_hi), fnp.maximum(a_lo, a_hi)
        cubic, cubic_ok = _cubic_min(a_lo, phi_lo, dphi_lo, a_hi, phi_hi, a_rec, phi_rec)
        quad, quad_ok = _quad_min(a_lo, phi_lo, dphi_lo, a_hi, phi_hi)
        use_cubic = (i_z > 0) & _inside(cubic, cubic_ok, left, right, 0.2 * fnp.abs(width))
        use_quad = _inside(quad, quad_ok, left, right, 0.1 * fnp.abs(width))
        a_zoom = fnp.where(use_cubic, cubic, fnp.where(use_quad, quad, a_lo + 0.5 * width))

        a = fnp.where(zooming, a_zoom, a_next)
        phi, g = value_and_grad(x + a * p)
        dphi = fnp.dot(g, p)
        sufficient = fnp.isfinite(phi) & (phi <= f0 + c1 * a * dphi0)
        curvature_ok = fnp.abs(dphi) <= -c2 * dphi0

        # bracketing phase (Algorithm 3.5)
        too_far = ~sufficient | ((phi >= phi_prev) & (i_b > 0))
        b_done = ~too_far & curvature_ok
        b_zoom_up = ~too_far & ~curvature_ok & (dphi >= 0)
        b_zoom = too_far | b_zoom_up
        # zoom phase (Algorithm 3.6): shrink [lo, hi] towards the Wolfe point
        z_high = ~sufficient | (phi >= phi_lo)
        z_done = ~z_high & curvature_ok
        z_flip = ~z_high & ~curvature_ok & (dphi * (a_hi - a_lo) >= 0)

        def pick(zoom_value, bracket_value):
            return fnp.where(zooming, zoom_value, bracket_value)

        done = pick(z_done, b_done)
        new_phase = fnp.where(done, _DONE, pick(_ZOOM, fnp.where(b_zoom, _ZOOM, _BRACKET)))
        # the new zoom bracket
        if_b = lambda up, stay: fnp.where(too_far, up, stay)
        lo_b = (if_b(a_prev, a), if_b(phi_prev, phi), if_b(dphi_prev, dphi))
        g_lo_b = fnp.where(too_far, g_prev, g)
        hi_b = (if_b(a, a_prev), if_b(phi, phi_prev))
        lo_z = (fnp.where(z_high, a_lo, a), fnp.where(z_high, phi_lo, phi),
                fnp.where(z_high, dphi_lo, dphi))  # fmt: skip
        g_lo_z = fnp.where(z_high, g_lo, g)
        hi_z = (fnp.where(z_high, a, fnp.where(z_flip, a_lo, a_hi)),
                fnp.where(z_high, phi, fnp.where(z_flip, phi_lo, phi_hi)))  # fmt: skip
        rec_z = (fnp.where(z_high | z_flip, a_hi, a_lo), fnp.where(z_high | z_flip, phi_hi, phi_lo))
        new_lo = tuple(pick(z, b) for z, b in zip(lo_z, lo_b))
        new_g_lo = pick(g_lo_z, g_lo_b)
        new_hi = tuple(pick(z, b) for z, b in zip(hi_z, hi_b))
        new_rec = (pick(rec_z[0], zero), pick(rec_z[1], f0))
        # keep the zoom state unless this iteration zooms or starts a zoom
        touch = zooming | b_zoom
        lo = tuple(fnp.where(touch, n, o) for n, o in zip(new_lo, (a_lo, phi_lo, dphi_lo)))
        g_lo = fnp.where(touch, new_g_lo, g_lo)
        hi = tuple(fnp.where(touch, n, o) for n, o in zip(new_hi, (a_hi, phi_hi)))
        rec = tuple(fnp.where(touch, n, o) for n, o in zip(new_rec, (a_rec, phi_rec)))
        # the answer: the Wolfe point, else the best sufficient-decrease point seen
        better = sufficient & (phi < phi_star)
        take = done | better
        a_star = fnp.where(take, a, a_star)
        phi_star = fnp.where(take, phi, phi_star)
        g_star = fnp.where(take, g, g_star)
        advance = ~zooming & ~b_zoom & ~done
        return (
            new_phase, i_b + fnp.where(zooming, 0, 1), i_z + fnp.where(zooming, 1, 0),
            nfev + 1, fnp.where(advance, 2.0 * a, a_next),
            fnp.where(advance, a, a_prev), fnp.where(advance, phi, phi_prev),
            fnp.where(advance, dphi, dphi_prev), fnp.where(advance, g, g_prev),
            *lo, g_lo, *hi, *rec, a_star, phi_star, g_star, status,
        )  # fmt: skip

    out = lax.while_loop(cond, body, state)
    phase, i_b, i_z, nfev = out[0], out[1], out[2], out[3]
    a_star, phi_star, g_star, status = out[17], out[18], out[19], out[20]
    failed = phase != _DONE
    failed = failed | (status == 3)
    status = fnp.where(status == 3, 3, fnp.where(~failed, 0, fnp.where(phase == _ZOOM, 2, 1)))
    return LineSearchResults(failed=failed, nit=i_b + i_z, nfev=nfev, ngev=nfev, a_k=a_star,
                             f_k=phi_star, g_k=g_star, status=status)  # fmt: skip
