"""transforms.scale_by_zoom_linesearch and lbfgs against a NumPy reference of optax's search.

The reference below is written from the documented steps of optax's zoom line search
(the docstring of `transforms.scale_by_zoom_linesearch`: bracketing, then zooming by a
cubic / quadratic / bisection trial with 20% / 10% margins, the approximate-Wolfe
decrease error, the remembered "safe" step and its fallback) as plain imperative Python
on flat float64 vectors, and L-BFGS's direction from Nocedal and Wright's two-loop
recursion. Every step's parameters, step size and number of evaluations are compared.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
import transforms
from funcgrad import tree_util

# --- the NumPy reference of the search ------------------------------------------------


def _cubic_critical_point(a, fa, fpa, b, fb, c, fc):
    """The local minimiser of p(x) = A t^3 + B t^2 + fpa t + fa (t = x - a) with p(b) = fb,
    p(c) = fc; None when it does not exist."""
    tb, tc = b - a, c - a
    # Solve [[tb^3, tb^2], [tc^3, tc^2]] [A, B] = [rb, rc] by Cramer's rule.
    rb, rc = fb - fa - fpa * tb, fc - fa - fpa * tc
    det = tb**3 * tc**2 - tc**3 * tb**2
    if det == 0:
        return None
    big_a = (rb * tc**2 - rc * tb**2) / det
    big_b = (tb**3 * rc - tc**3 * rb) / det
    disc = big_b**2 - 3 * big_a * fpa  # p'(t) = 3A t^2 + 2B t + fpa
    if big_a == 0 or disc < 0:
        return None
    x = a + (-big_b + math.sqrt(disc)) / (3 * big_a)  # the root where p'' >= 0
    return x if math.isfinite(x) else None


def _quadratic_critical_point(a, fa, fpa, b, fb):
    tb = b - a
    if tb == 0:
        return None
    curv = (fb - fa - fpa * tb) / tb**2
    if curv == 0:
        return None
    x = a - fpa / (2 * curv)
    return x if math.isfinite(x) else None


def ref_zoom(
    vg, x, u, value, grad, prev_lr, *, max_steps, max_lr=None, tol=0.0, inc=2.0, c1=1e-4,
    c2=0.9, c3=1e-6, precision=1e-5, guess="keep",
):  # fmt: skip
    """One search; returns (step size, value, grad at x + step * u, evaluations)."""
    slope0 = float(u @ grad)

    def evaluate(eta):
        v, g = vg(x + eta * u)
        return eta, float(v), g, float(g @ u)

    def errors(eta, v, s):
        dec = v - value - c1 * eta * slope0
        if c3 is not None:
            dec = min(dec, max(s - (2 * c1 - 1) * slope0, v - value - c3 * abs(value)))
        curv = abs(s) - c2 * abs(slope0)
        fix = lambda e: math.inf if math.isnan(e) else max(e, 0.0)
        return fix(dec), fix(curv)

    safe = (0.0, value, grad)
    evals = 0

    def fallback(point, dec):
        if safe[0] > 0 or math.isinf(dec):
            return safe[0], safe[1], safe[2], evals
        return point[0], point[1], point[2], evals

    # Bracketing.
    prev = (0.0, value, grad, slope0)
    eta = 1.0 if guess == "one" else prev_lr
    while True:
        if evals > 0:
            eta = inc * prev[0]
        capped = max_lr is not None and eta >= max_lr
        if max_lr is not None:
            eta = min(eta, max_lr)
        cur = evaluate(eta)
        evals += 1
        dec, curv = errors(cur[0], cur[1], cur[3])
        if dec <= tol:
            safe = cur[:3]
        if max(dec, curv) <= tol:
            return cur[0], cur[1], cur[2], evals
        if dec > 0 or (evals > 1 and cur[1] >= prev[1]):
            low, high = prev, cur
        elif cur[3] >= 0:
            low, high = cur, prev
        else:
            low = high = None
        if low is None and capped:
            return cur[0], cur[1], cur[2], evals
        if evals >= max_steps:
            return fallback(cur, dec)
        if low is not None:
            break
        prev = cur
    # Zooming.
    ref = low
    while True:
        lo_x, hi_x = low[0], high[0]
        delta = abs(hi_x - lo_x)
        left, right = min(lo_x, hi_x), max(lo_x, hi_x)
        cubic = _cubic_critical_point(lo_x, low[1], low[3], hi_x, high[1], ref[0], ref[1])
        quad = _quadratic_critical_point(lo_x, low[1], low[3], hi_x, high[1])
        if cubic is not None and left + 0.2 * delta < cubic < right - 0.2 * delta:
            mid = cubic
        elif quad is not None and left + 0.1 * delta < quad < right - 0.1 * delta:
            mid = quad
        else:
            mid = (lo_x + hi_x) / 2
        cur = evaluate(mid)
        evals += 1
        dec, curv = errors(cur[0], cur[1], cur[3])
        if dec <= tol and cur[1] < safe[1]:
            safe = cur[:3]
        if max(dec, curv) <= tol:
            return cur[0], cur[1], cur[2], evals
        if dec > 0 or cur[1] >= low[1]:
            ref, high = high, cur
        else:
            if cur[3] * (hi_x - lo_x) >= 0:
                ref, high = high, low
            else:
                ref = low
            low = cur
        if evals >= max_steps or (delta <= precision and safe[0] > 0):
            return fallback(cur, dec)


def ref_lbfgs_run(vg, x0, steps, *, memory_size=10, ls_kwargs):
    """optax.lbfgs() (scale_by_lbfgs, scale(-1), zoom search with guess "one")."""
    x = np.array(x0, dtype=np.float64)
    value, g = vg(x)
    pairs, prev = [], None
    lr = 1.0
    out = []
    for _ in range(steps):
        if prev is None:
            gamma = min(1.0, 1.0 / math.sqrt(float(g @ g)))
        else:
            dw, du = x - prev[0], g - prev[1]
            c = float(du @ dw)
            pairs = (pairs + [(dw, du, 0.0 if c == 0 else 1.0 / c)])[-memory_size:]
            gamma = c / float(du @ du) if float(du @ du) > 0 else 1.0
        q, alphas = g.copy(), []
        for dw, du, rho in reversed(pairs):
            alphas.append(rho * float(dw @ q))
            q = q - alphas[-1] * du
        r = gamma * q
        for (dw, du, rho), alpha in zip(pairs, reversed(alphas)):
            r = r + (alpha - rho * float(du @ r)) * dw
        prev = (x, g)
        lr, value, g, evals = ref_zoom(vg, x, -r, value, g, lr, **ls_kwargs)
        x = x + lr * -r
        out.append((x, lr, evals))
    return out


# --- problems: funcgrad loss over a pytree, and the NumPy value-and-grad on a flat vector


def _rosen_fg(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _rosen_np(z):
    x, y = z
    f = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    return f, np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


_A = np.random.default_rng(1).normal(size=(4, 4))
_H = _A @ _A.T + np.diag([0.1, 1.0, 10.0, 100.0])  # condition number ~1e3
_B = np.array([1.0, -1.0, 2.0, 0.5])


def _quad_fg(p):
    z = fnp.concatenate([p["a"], p["b"]])
    return 0.5 * z @ fnp.asarray(_H) @ z - fnp.asarray(_B) @ z


def _quad_np(z):
    return 0.5 * z @ _H @ z - _B @ z, _H @ z - _B


def _barrier_fg(p):  # NaN outside w > 0, so long steps give a NaN value
    return fnp.sum(p**2 - fnp.log(p))


def _barrier_np(z):
    with np.errstate(invalid="ignore"):
        return float(np.sum(z**2 - np.log(z))), 2 * z - 1 / z


def _flat(tree):
    return np.concatenate([np.ravel(np.asarray(x)) for x in tree_util.tree_leaves(tree)])


# --- the runs under test --------------------------------------------------------------


def _run(opt, loss, params, steps):
    """The documented loop (value_and_grad_from_state), jitted."""
    vg = transforms.value_and_grad_from_state(loss)

    @funcgrad.jit
    def step(params, state):
        value, grad = vg(params, state=state)
        updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=loss)
        return transforms.apply_updates(params, updates), state

    state = opt.init(params)
    out = []
    for _ in range(steps):
        params, state = step(params, state)
        ls = state[-1]
        out.append((_flat(params), float(ls.learning_rate), int(ls.info.num_linesearch_steps)))
    return out


def _compare(got, want, rtol=1e-9, atol=1e-11):
    assert len(got) == len(want)
    for k, ((x, lr, n), (x_ref, lr_ref, n_ref)) in enumerate(zip(got, want)):
        assert n == n_ref, (k, n, n_ref)
        np.testing.assert_allclose(lr, lr_ref, rtol=rtol, atol=atol, err_msg=f"step {k}")
        np.testing.assert_allclose(x, x_ref, rtol=rtol, atol=atol, err_msg=f"step {k}")


LBFGS_CASES = {
    # optax.lbfgs() defaults: memory 10, zoom(max_linesearch_steps=20, guess "one").
    "default": ({}, {}),
    "armijo_only_tight_precision": (
        {"approx_dec_rtol": None, "stepsize_precision": 1e-10},
        {"c3": None, "precision": 1e-10},
    ),
    "tol_and_strict_curvature": ({"tol": 1e-8, "curv_rtol": 0.1}, {"tol": 1e-8, "c2": 0.1}),
    "few_steps_forces_fallback": ({"max_linesearch_steps": 2}, {"max_steps": 2}),
}


@pytest.mark.parametrize("case", list(LBFGS_CASES))
@pytest.mark.parametrize("problem", ["rosenbrock", "quadratic"])
def test_lbfgs_trajectory_equals_optax_reference(case, problem):
    kwargs, ref_kwargs = LBFGS_CASES[case]
    ls_kwargs = {"max_linesearch_steps": 20, "initial_guess_strategy": "one", **kwargs}
    ref_ls = {"max_steps": 20, "guess": "one", **ref_kwargs}
    opt = transforms.lbfgs(linesearch=transforms.scale_by_zoom_linesearch(**ls_kwargs))
    if problem == "rosenbrock":
        loss, vg, params, steps = _rosen_fg, _rosen_np, fnp.asarray([-1.2, 1.0]), 40
    else:
        params = {"a": fnp.asarray([1.0, -2.0]), "b": fnp.asarray([0.5, 3.0])}
        loss, vg, steps = _quad_fg, _quad_np, 12
    want = ref_lbfgs_run(vg, _flat(params), steps, ls_kwargs=ref_ls)
    _compare(_run(opt, loss, params, steps), want)


def test_default_lbfgs_exercises_cubic_quadratic_and_bisection():
    """The Rosenbrock run above takes zoom steps (more than one evaluation) and accepts
    steps other than 1, so the interpolation paths are compared, not only the first trial."""
    want = ref_lbfgs_run(_rosen_np, [-1.2, 1.0], 40, ls_kwargs={"max_steps": 20, "guess": "one"})
    assert max(n for _, _, n in want) >= 3
    assert sum(lr != 1.0 for _, lr, _ in want) >= 3
    np.testing.assert_allclose(want[-1][0], [1.0, 1.0], atol=1e-8)


def _sgd_zoom_reference(vg, x0, steps, sgd_lr, ls):
    x = np.array(x0, dtype=np.float64)
    value, g = vg(x)
    lr, out = 1.0, []
    for _ in range(steps):
        u = -sgd_lr * g
        lr, value, g, evals = ref_zoom(vg, x, u, value, g, lr, **ls)
        x = x + lr * u
        out.append((x, lr, evals))
    return out


SGD_CASES = {
    # "keep" (optax's default) grows from the last step; a cap stops the bracketing.
    "keep_capped": ({"max_learning_rate": 4.0}, {"max_lr": 4.0}),
    "keep_old_name_max_stepsize": ({"max_stepsize": 0.5}, {"max_lr": 0.5}),
    "one_fast_growth": (
        {"initial_guess_strategy": "one", "increase_factor": 3.0},
        {"guess": "one", "inc": 3.0},
    ),
}


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
@pytest.mark.parametrize("case", list(SGD_CASES))
@pytest.mark.parametrize("problem", ["rosenbrock", "barrier"])
def test_sgd_with_zoom_trajectory_equals_optax_reference(case, problem):
    kwargs, ref_kwargs = SGD_CASES[case]
    opt = transforms.chain(
        transforms.sgd(1e-3 if problem == "rosenbrock" else 1.0),
        transforms.scale_by_zoom_linesearch(max_linesearch_steps=15, **kwargs),
    )
    if problem == "rosenbrock":
        loss, vg, params, sgd_lr = _rosen_fg, _rosen_np, fnp.asarray([-1.2, 1.0]), 1e-3
    else:
        loss, vg, params, sgd_lr = _barrier_fg, _barrier_np, fnp.asarray([3.0, 0.2]), 1.0
    want = _sgd_zoom_reference(vg, _flat(params), 15, sgd_lr, {"max_steps": 15, **ref_kwargs})
    _compare(_run(opt, loss, params, 15), want)


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_nan_region_step_stays_finite_and_decreases():
    """On the barrier problem, the first trial (w = 3 - 1 * grad < 0) has a NaN value; the
    accepted step still decreases the loss and the params stay in the domain."""
    opt = transforms.chain(
        transforms.sgd(1.0), transforms.scale_by_zoom_linesearch(max_linesearch_steps=15)
    )
    w = fnp.asarray([3.0, 0.2])
    value, grad = funcgrad.value_and_grad(_barrier_fg)(w)
    u, state = opt.update(grad, opt.init(w), w, value=value, grad=grad, value_fn=_barrier_fg)
    new = np.asarray(w) + np.asarray(u)
    assert np.all(new > 0)
    assert _barrier_np(new)[0] < float(value)
    assert int(state[-1].info.num_linesearch_steps) >= 2


def test_extra_arguments_reach_value_fn_and_unknown_ones_raise():
    def loss(w, x, y):
        return fnp.sum((x * w - y) ** 2)

    x, y = fnp.asarray([1.0, 2.0]), fnp.asarray([3.0, 4.0])
    tx = transforms.scale_by_zoom_linesearch(max_linesearch_steps=10)
    w = fnp.zeros(2)
    value, grad = funcgrad.value_and_grad(loss)(w, x, y)
    u, _ = tx.update(-grad, tx.init(w), w, value=value, grad=grad, value_fn=loss, x=x, y=y)
    # 1-D quadratic along -grad: the exact minimiser along the line, by hand.
    d, wn = -np.asarray(grad), np.zeros(2)
    xs, ys = np.asarray(x), np.asarray(y)
    eta = -np.sum(2 * (xs * wn - ys) * xs * d) / np.sum(2 * (xs * d) ** 2)
    np.testing.assert_allclose(np.asarray(u), eta * d, rtol=1e-12)
    with pytest.raises(TypeError, match=r"\['z'\].*value_fn"):
        tx.update(-grad, tx.init(w), w, value=value, grad=grad, value_fn=loss, x=x, y=y, z=1)


def test_state_layout_dtype_and_value_and_grad_from_state():
    tx = transforms.scale_by_zoom_linesearch(max_linesearch_steps=5)
    w = fnp.ones(3, dtype=fnp.float32)
    state = tx.init(w)
    assert state._fields == ("learning_rate", "value", "grad", "info")
    assert state.info._fields == ("num_linesearch_steps", "decrease_error", "curvature_error")
    assert str(state.learning_rate.dtype) == "float32" and math.isinf(float(state.value))
    loss = lambda p: fnp.sum(p**2)
    value, grad = transforms.value_and_grad_from_state(loss)(w, state=state)
    assert float(value) == 3.0
    u, state = tx.update(-grad, state, w, value=value, grad=grad, value_fn=loss)
    assert str(u.dtype) == "float32" and str(state.grad.dtype) == "float32"
    # The stored value and grad are those at the new params, and are what the helper returns.
    new = w + u
    # A different function: had it been called, the value would be 123.
    v2, g2 = transforms.value_and_grad_from_state(lambda p: fnp.sum(p) * 0 + 123.0)(
        new, state=state
    )
    np.testing.assert_allclose(float(v2), float(np.sum(np.asarray(new) ** 2)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g2), 2 * np.asarray(new), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_linesearch_steps": 0}, "max_linesearch_steps"),
        ({"max_linesearch_steps": 5, "slope_rtol": 0.95}, "slope_rtol"),
        ({"max_linesearch_steps": 5, "increase_factor": 1.0}, "increase_factor"),
        ({"max_linesearch_steps": 5, "initial_guess_strategy": "zero"}, "initial_guess"),
        ({"max_linesearch_steps": 5, "max_learning_rate": -1.0}, "max_learning_rate"),
        ({"max_linesearch_steps": 5, "max_learning_rate": 1.0, "max_stepsize": 1.0}, "both"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        transforms.scale_by_zoom_linesearch(**kwargs)


def test_missing_extra_arguments_raise():
    tx = transforms.scale_by_zoom_linesearch(max_linesearch_steps=5)
    w = fnp.ones(2)
    with pytest.raises(ValueError, match="value_fn"):
        tx.update(w, tx.init(w), w, value=1.0, grad=w)
