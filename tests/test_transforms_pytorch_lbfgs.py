"""transforms.pytorch.lbfgs against a NumPy reference of torch.optim.LBFGS.step(closure).

The reference is written from PyTorch's documented L-BFGS algorithm (torch/optim/lbfgs.py:
``step``, ``_strong_wolfe`` and ``_cubic_interpolate``) as plain imperative NumPy on one
flat float64 vector, with Python lists for the memory, as torch keeps it. Every outer
step's parameters (each one a whole ``step`` call of up to ``max_iter`` iterations) and
the evaluation and iteration counters are compared.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
import transforms
from funcgrad import tree_util
from transforms import pytorch

# --- the NumPy reference --------------------------------------------------------------


def ref_cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if not d2_square >= 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(pos, lo), hi)


def ref_strong_wolfe(obj, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Bracketing by cubic extrapolation, then zooming; returns (f, g, t, evaluations)."""
    d_norm = float(np.max(np.abs(d)))
    f_new, g_new = obj(t)
    evals, gtd_new = 1, float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done, it, br = False, 0, None
    while it < max_ls:
        if f_new > f + c1 * t * gtd or (it > 1 and f_new >= f_prev):
            br = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:
            br, done = [[t, f_new, g_new, gtd_new]], True
            break
        if gtd_new >= 0:
            br = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        t_next = ref_cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(t + 0.01 * (t - t_prev), t * 10)
        )
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = obj(t)
        evals, gtd_new, it = evals + 1, float(g_new @ d), it + 1
    if it == max_ls:
        br = [[0.0, f, g, None], [t, f_new, g_new, None]]
    low = 0 if br[0][1] <= br[-1][1] else 1
    insufficient = False
    while not done and it < max_ls:
        if abs(br[1][0] - br[0][0]) * d_norm < tolerance_change:
            break
        t = ref_cubic_interpolate(*br[0][:2], br[0][3], *br[1][:2], br[1][3])
        top, bottom = max(br[0][0], br[1][0]), min(br[0][0], br[1][0])
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = obj(t)
        evals, gtd_new, it = evals + 1, float(g_new @ d), it + 1
        high = 1 - low
        if f_new > f + c1 * t * gtd or f_new >= br[low][1]:
            br[high] = [t, f_new, g_new, gtd_new]
            low = 0 if br[0][1] <= br[1][1] else 1
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (br[high][0] - br[low][0]) >= 0:
                br[high] = list(br[low])
            br[low] = [t, f_new, g_new, gtd_new]
    return br[low][1], br[low][2], br[low][0], evals


class RefLBFGS:
    """torch.optim.LBFGS on a flat float64 vector; ``step(x, closure) -> new x``."""

    def __init__(self, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):  # fmt: skip
        self.lr, self.max_iter = lr, max_iter
        self.max_eval = max_iter * 5 // 4 if max_eval is None else max_eval
        self.tol_grad, self.tol_change = tolerance_grad, tolerance_change
        self.history_size, self.line_search_fn = history_size, line_search_fn
        self.s = {"func_evals": 0, "n_iter": 0}

    def step(self, x, closure):
        s = self.s
        loss, g = closure(x)
        current_evals = 1
        s["func_evals"] += 1
        if np.max(np.abs(g)) <= self.tol_grad:
            return x
        n_iter = 0
        while n_iter < self.max_iter:
            n_iter += 1
            s["n_iter"] += 1
            if s["n_iter"] == 1:
                d, s["dirs"], s["stps"], s["ro"], s["H"] = -g, [], [], [], 1.0
            else:
                y, stp = g - s["prev_g"], s["d"] * s["t"]
                ys = float(y @ stp)
                if ys > 1e-10:
                    if len(s["dirs"]) == self.history_size:
                        del s["dirs"][0], s["stps"][0], s["ro"][0]
                    s["dirs"].append(y)
                    s["stps"].append(stp)
                    s["ro"].append(1.0 / ys)
                    s["H"] = ys / float(y @ y)
                q, al = -g, {}
                for i in reversed(range(len(s["dirs"]))):
                    al[i] = float(s["stps"][i] @ q) * s["ro"][i]
                    q = q - al[i] * s["dirs"][i]
                d = q * s["H"]
                for i in range(len(s["dirs"])):
                    d = d + (al[i] - float(s["dirs"][i] @ d) * s["ro"][i]) * s["stps"][i]
            s["d"], s["prev_g"], s["prev_loss"] = d, g, loss
            t = min(1.0, 1.0 / float(np.sum(np.abs(g)))) * self.lr if s["n_iter"] == 1 else self.lr
            s["t"] = t
            gtd = float(g @ d)
            if gtd > -self.tol_change:
                break
            ls_evals = 0
            if self.line_search_fn == "strong_wolfe":
                x0 = x
                loss, g, t, ls_evals = ref_strong_wolfe(
                    lambda tt, x0=x0, d=d: closure(x0 + tt * d), t, d, loss, g, gtd,
                    tolerance_change=self.tol_change,
                )  # fmt: skip
                s["t"] = t
                x = x + t * d
                opt_cond = np.max(np.abs(g)) <= self.tol_grad
            else:
                x = x + t * d
                opt_cond = False
                if n_iter != self.max_iter:
                    loss, g = closure(x)
                    opt_cond = np.max(np.abs(g)) <= self.tol_grad
                    ls_evals = 1
            current_evals += ls_evals
            s["func_evals"] += ls_evals
            if (
                n_iter == self.max_iter
                or current_evals >= self.max_eval
                or opt_cond
                or np.max(np.abs(d * t)) <= self.tol_change
                or abs(loss - s["prev_loss"]) < self.tol_change
            ):
                break
        return x


# --- problems ---------------------------------------------------------------------------


def _rosen_fg(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def _rosen_np(z):
    x, y = z
    f = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    return float(f), np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


_A = np.random.default_rng(2).normal(size=(4, 4))
_H = _A @ _A.T + np.diag([0.05, 1.0, 10.0, 50.0])
_B = np.array([1.0, -1.0, 2.0, 0.5])


def _quad_fg(p):
    z = fnp.concatenate([p["b"], fnp.ravel(p["w"])])  # the order of tree_leaves
    return 0.5 * z @ fnp.asarray(_H) @ z - fnp.asarray(_B) @ z


def _quad_np(z):
    return float(0.5 * z @ _H @ z - _B @ z), _H @ z - _B


PROBLEMS = {
    "rosenbrock": (_rosen_fg, _rosen_np, lambda: fnp.asarray([-1.2, 1.0])),
    "quadratic": (
        _quad_fg, _quad_np,
        lambda: {"w": fnp.asarray([[1.0, -2.0], [0.5, 3.0]])[:1], "b": fnp.asarray([0.5, 3.0])},
    ),
}  # fmt: skip


def _flat(tree):
    return np.concatenate([np.ravel(np.asarray(x)) for x in tree_util.tree_leaves(tree)])


_STEP_CACHE = {}


def _jitted_step(kwargs, problem):
    """One jitted step(closure) per (options, problem), shared by the tests."""
    key = (tuple(sorted(kwargs.items())), problem)
    if key not in _STEP_CACHE:
        loss = PROBLEMS[problem][0]
        opt = pytorch.lbfgs(**kwargs)

        def step(params, state):
            value, grads = funcgrad.value_and_grad(loss)(params)
            updates, state = opt.update(grads, state, params, value=value, value_fn=loss)
            return transforms.apply_updates(params, updates), state

        _STEP_CACHE[key] = (opt, funcgrad.jit(step), step)
    return _STEP_CACHE[key]


CASES = {
    "defaults": {},
    "history_shift_short_steps": {"lr": 0.5, "max_iter": 4, "history_size": 2},
    "max_eval_limits": {"max_iter": 10, "max_eval": 4, "history_size": 3},
    "wolfe": {"line_search_fn": "strong_wolfe"},
    "wolfe_extrapolates": {
        "line_search_fn": "strong_wolfe", "lr": 0.05, "max_iter": 5, "history_size": 3
    },
    "wolfe_overshoots": {"line_search_fn": "strong_wolfe", "lr": 10.0, "max_iter": 6},
}  # fmt: skip


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("case", list(CASES))
def test_every_step_equals_torch_reference(case, problem):
    kwargs = CASES[case]
    opt, step, _ = _jitted_step(kwargs, problem)
    _, vg_np, make = PROBLEMS[problem]
    params = make()
    state = opt.init(params)
    ref = RefLBFGS(**kwargs)
    x = _flat(params)
    # 60 unsafeguarded unit steps on Rosenbrock amplify the last-bit differences of the
    # gradient (autodiff vs the formula) about 300-fold per 20 iterations (measured: 4e-13,
    # 1e-10, 2e-9 after steps 0, 1, 2); the iteration and evaluation counts stay exact.
    chaotic = case == "defaults" and problem == "rosenbrock"
    rtol, atol = (1e-7, 1e-8) if chaotic else (1e-9, 1e-12)
    for k in range(6):
        params, state = step(params, state)
        x = x + (ref.step(x, vg_np) - x)  # what apply_updates(params, x_final - params) does
        np.testing.assert_allclose(_flat(params), x, rtol=rtol, atol=atol, err_msg=f"step {k}")
        assert int(state.func_evals) == ref.s["func_evals"], k
        assert int(state.n_iter) == ref.s["n_iter"], k
        assert int(state.num_old) == len(ref.s.get("dirs", [])), k
    if ref.s.get("dirs"):  # the memory, oldest first, as torch keeps it
        n = len(ref.s["dirs"])
        tol = {"rtol": 1e-3, "atol": 1e-9} if chaotic else {"rtol": 1e-7, "atol": 1e-12}
        np.testing.assert_allclose(np.asarray(state.old_dirs)[:n], ref.s["dirs"], **tol)
        np.testing.assert_allclose(np.asarray(state.old_stps)[:n], ref.s["stps"], **tol)


def test_reference_cases_reach_the_branches_they_name():
    """The cases above are not vacuous: the memory overflows, max_eval cuts an update, the
    search extrapolates and zooms, and the Rosenbrock runs reach the minimum."""
    calls = {"bounds": 0, "zoom": 0, "near_edge": 0}
    original = ref_cubic_interpolate

    def counting(*args, bounds=None):
        calls["bounds" if bounds is not None else "zoom"] += 1
        t = original(*args, bounds=bounds)
        top, bottom = max(args[0], args[3]), min(args[0], args[3])
        if bounds is None and min(top - t, t - bottom) < 0.1 * (top - bottom):
            calls["near_edge"] += 1  # the insufficient-progress safeguard's case
        return t

    globals()["ref_cubic_interpolate"] = counting
    try:
        ref = RefLBFGS(**CASES["wolfe_extrapolates"])
        x = np.array([-1.2, 1.0])
        for _ in range(6):
            x = ref.step(x, _rosen_np)
        ref = RefLBFGS(**CASES["wolfe_overshoots"])
        x = np.array([-1.2, 1.0])
        for _ in range(6):
            x = ref.step(x, _rosen_np)
    finally:
        globals()["ref_cubic_interpolate"] = original
    assert calls["bounds"] > 0 and calls["zoom"] > 0 and calls["near_edge"] > 0
    ref = RefLBFGS(**CASES["history_shift_short_steps"])
    x = np.array([-1.2, 1.0])
    for _ in range(6):
        x = ref.step(x, _rosen_np)
    assert ref.s["n_iter"] == 24 and len(ref.s["dirs"]) == 2
    ref = RefLBFGS(**CASES["max_eval_limits"])
    x = ref.step(np.array([-1.2, 1.0]), _rosen_np)
    assert ref.s["func_evals"] == 4 and ref.s["n_iter"] == 3
    for case in ("defaults", "wolfe"):
        ref, x = RefLBFGS(**CASES[case]), np.array([-1.2, 1.0])
        for _ in range(6):
            x = ref.step(x, _rosen_np)
        np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-4)


def test_converged_update_only_counts_the_evaluation():
    """At a minimum (max|g| <= tolerance_grad) torch's step returns at once: no move, one
    more evaluation, no iteration."""
    opt = pytorch.lbfgs()
    params = fnp.asarray([1.0, 1.0])
    state = opt.init(params)
    value, grads = funcgrad.value_and_grad(_rosen_fg)(params)
    updates, state = opt.update(grads, state, params, value=value, value_fn=_rosen_fg)
    assert np.asarray(updates).tolist() == [0.0, 0.0]
    assert (int(state.func_evals), int(state.n_iter)) == (1, 0)


def test_eager_equals_jit_and_float32_keeps_dtype():
    opt, jitted, eager = _jitted_step(CASES["wolfe"], "quadratic")
    params = PROBLEMS["quadratic"][2]()
    a, sa = jitted(params, opt.init(params))
    b, sb = eager(params, opt.init(params))
    for x, y in zip(tree_util.tree_leaves((a, sa)), tree_util.tree_leaves((b, sb))):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-12, atol=1e-14)
    p32 = tree_util.tree_map(lambda x: fnp.asarray(x, dtype=fnp.float32), params)
    opt32 = pytorch.lbfgs(line_search_fn="strong_wolfe", max_iter=3)
    value, grads = funcgrad.value_and_grad(_quad_fg)(p32)
    u, s32 = opt32.update(grads, opt32.init(p32), p32, value=value, value_fn=_quad_fg)
    assert {str(x.dtype) for x in tree_util.tree_leaves(u)} == {"float32"}
    assert str(s32.old_dirs.dtype) == "float32"
    assert _quad_np(_flat(transforms.apply_updates(p32, u)).astype(np.float64))[0] < float(value)


def test_extra_arguments_reach_value_fn():
    """A batch passed as a keyword goes to value_fn (torch's closure over the batch)."""

    def loss(w, x, y):
        return fnp.sum((x @ w - y) ** 2)

    x = fnp.asarray([[1.0, 2.0], [3.0, 1.0], [0.5, -1.0]])
    y = fnp.asarray([1.0, 2.0, 0.0])
    opt = pytorch.lbfgs(line_search_fn="strong_wolfe")
    w = fnp.zeros(2)
    state = opt.init(w)
    for _ in range(2):
        value, grads = funcgrad.value_and_grad(loss)(w, x, y)
        u, state = opt.update(grads, state, w, value=value, value_fn=loss, x=x, y=y)
        w = transforms.apply_updates(w, u)
    want = np.linalg.lstsq(np.asarray(x), np.asarray(y), rcond=None)[0]
    np.testing.assert_allclose(np.asarray(w), want, rtol=1e-6)


def test_state_survives_save_restore(tmp_path):
    opt, step, _ = _jitted_step(CASES["history_shift_short_steps"], "rosenbrock")
    params = PROBLEMS["rosenbrock"][2]()
    state = opt.init(params)
    params, state = step(params, state)
    path = tmp_path / "lbfgs.safetensors"
    funcgrad.io.save(path, state)
    restored = funcgrad.io.load(path, like=state)
    a, _ = step(params, state)
    b, _ = step(params, restored)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": -1.0}, "lr"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_eval": 0}, "max_eval"),
        ({"history_size": 0}, "history_size"),
        ({"tolerance_change": -1.0}, "tolerance_change"),
        ({"line_search_fn": "backtracking"}, "line_search_fn"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pytorch.lbfgs(**kwargs)


def test_bad_inputs_raise():
    opt = pytorch.lbfgs()
    params = {"a": fnp.zeros(2), "b": fnp.zeros(3, dtype=fnp.int32)}
    with pytest.raises(ValueError, match=r"\['b'\].*int32"):
        opt.init(params)
    p = fnp.zeros(2)
    with pytest.raises(ValueError, match="value_fn"):
        opt.update(p, opt.init(p), p)
    with pytest.raises(ValueError, match="params"):
        opt.update(p, opt.init(p), value=0.0, value_fn=lambda w: fnp.sum(w))
    with pytest.raises(ValueError, match=r"grads"):
        opt.update([p], opt.init(p), p, value=0.0, value_fn=lambda w: fnp.sum(w))
    # One iteration per update without a line search needs no re-evaluation at all.
    one = pytorch.lbfgs(lr=0.1, max_iter=1)
    u, _ = one.update(fnp.asarray([1.0, -2.0]), one.init(p), p)
    np.testing.assert_allclose(np.asarray(u), [-0.1 / 3, 0.2 / 3])
