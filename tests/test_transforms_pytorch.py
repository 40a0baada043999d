"""transforms.pytorch against NumPy references written from torch.optim's algorithms.

Each reference below follows the pseudo-code of the optimizer's PyTorch documentation
page (and PyTorch's first-step special cases), one parameter tensor at a time, in
float64. Every step of a 100+ step trajectory is compared, on a quadratic, the
Rosenbrock function and a small MLP (gradients written by hand in NumPy).
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

STEPS = 120
RNG = np.random.default_rng(0)

# --- problems: (initial params, gradient in NumPy) -----------------------------------

_A = RNG.normal(size=(3, 3))
_Q = _A @ _A.T + np.eye(3)


def _quadratic():
    params = {"x": np.array([1.0, -2.0, 0.5]), "y": np.array([[0.3, -0.7]])}

    def grad(p):
        return {"x": _Q @ p["x"] - 1.0, "y": 2.0 * (p["y"] - 0.25)}

    return params, grad


def _rosenbrock():
    params = {"xy": np.array([-1.2, 1.0])}

    def grad(p):
        x, y = p["xy"]
        return {"xy": np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])}

    return params, grad


_X = RNG.normal(size=(8, 3))
_Y = RNG.normal(size=(8, 2))


def _mlp():
    params = {
        "w1": RNG.normal(size=(3, 4)) * 0.5, "b1": np.zeros(4),
        "w2": RNG.normal(size=(4, 2)) * 0.5, "b2": np.zeros(2),
    }  # fmt: skip

    def grad(p):
        h = np.tanh(_X @ p["w1"] + p["b1"])
        out = h @ p["w2"] + p["b2"]
        d_out = 2 * (out - _Y) / len(_X)
        d_h = d_out @ p["w2"].T * (1 - h * h)
        return {"w1": _X.T @ d_h, "b1": d_h.sum(0), "w2": h.T @ d_out, "b2": d_out.sum(0)}

    return params, grad


PROBLEMS = {"quadratic": _quadratic, "rosenbrock": _rosenbrock, "mlp": _mlp}


# --- NumPy references (one tensor at a time; `s` is that tensor's state dict) ---------


def ref_sgd(p, g, s, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
            maximize=False):  # fmt: skip
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    if momentum:
        if "buf" not in s:
            s["buf"] = g.copy()
        else:
            s["buf"] = momentum * s["buf"] + (1 - dampening) * g
        g = g + momentum * s["buf"] if nesterov else s["buf"]
    return p - lr * g


def ref_adam(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             maximize=False, decoupled=False):  # fmt: skip
    b1, b2 = betas
    g = -g if maximize else g
    s["t"] = t = s.get("t", 0) + 1
    if decoupled:
        p = p * (1 - lr * weight_decay)
    elif weight_decay:
        g = g + weight_decay * p
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    v = s["v"]
    if amsgrad:
        s["vmax"] = v = np.maximum(s.get("vmax", 0), s["v"])
    denom = np.sqrt(v) / math.sqrt(1 - b2**t) + eps
    return p - lr / (1 - b1**t) * s["m"] / denom


def ref_adagrad(p, g, s, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                eps=1e-10):  # fmt: skip
    s["t"] = t = s.get("t", 0) + 1
    if weight_decay:
        g = g + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    s["sum"] = s.get("sum", initial_accumulator_value) + g * g
    return p - clr * g / (np.sqrt(s["sum"]) + eps)


def ref_rmsprop(p, g, s, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False):  # fmt: skip
    if weight_decay:
        g = g + weight_decay * p
    s["v"] = alpha * s.get("v", 0) + (1 - alpha) * g * g
    avg = s["v"]
    if centered:
        s["ga"] = alpha * s.get("ga", 0) + (1 - alpha) * g
        avg = avg - s["ga"] ** 2
    avg = np.sqrt(avg) + eps
    if momentum > 0:
        s["buf"] = momentum * s.get("buf", 0) + g / avg
        return p - lr * s["buf"]
    return p - lr * g / avg


def ref_adadelta(p, g, s, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    if weight_decay:
        g = g + weight_decay * p
    s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
    delta = np.sqrt(s.get("u", 0) + eps) / np.sqrt(s["v"] + eps) * g
    s["u"] = rho * s.get("u", 0) + (1 - rho) * delta * delta
    return p - lr * delta


def ref_adamax(p, g, s, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    s["t"] = t = s.get("t", 0) + 1
    if weight_decay:
        g = g + weight_decay * p
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["u"] = np.maximum(b2 * s.get("u", 0), np.abs(g) + eps)
    return p - lr / (1 - b1**t) * s["m"] / s["u"]


def ref_nadam(p, g, s, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              momentum_decay=4e-3, decoupled_weight_decay=False):  # fmt: skip
    b1, b2 = betas
    s["t"] = t = s.get("t", 0) + 1
    if weight_decay:
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    s["mu_prod"] = s.get("mu_prod", 1.0) * mu
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    denom = np.sqrt(s["v"] / (1 - b2**t)) + eps
    p = p - lr * (1 - mu) / (1 - s["mu_prod"]) * g / denom
    return p - lr * mu_next / (1 - s["mu_prod"] * mu_next) * s["m"] / denom


def ref_radam(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              decoupled_weight_decay=False):  # fmt: skip
    b1, b2 = betas
    s["t"] = t = s.get("t", 0) + 1
    if weight_decay:
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    m_hat = s["m"] / (1 - b1**t)
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho_t > 5:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                         / ((rho_inf - 4) * (rho_inf - 2) * rho_t))  # fmt: skip
        adaptive = math.sqrt(1 - b2**t) / (np.sqrt(s["v"]) + eps)
        return p - lr * m_hat * rect * adaptive
    return p - lr * m_hat


def ref_asgd(p, g, s, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0):
    s.setdefault("eta", lr)
    s.setdefault("mu", 1.0)
    s.setdefault("ax", np.zeros_like(p))
    s["t"] = t = s.get("t", 0) + 1
    if weight_decay:
        g = g + weight_decay * p
    p = p * (1 - lambd * s["eta"]) - s["eta"] * g
    s["ax"] = p.copy() if s["mu"] == 1 else s["ax"] + (p - s["ax"]) * s["mu"]
    s["eta"] = lr / (1 + lambd * lr * t) ** alpha
    s["mu"] = 1 / max(1, t - t0)
    return p


def ref_rprop(p, g, s, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50)):
    prev = s.get("prev", np.zeros_like(p))
    size = s.get("size", np.full_like(p, lr))
    sign = np.sign(g * prev)
    factor = np.where(sign > 0, etas[1], np.where(sign < 0, etas[0], 1.0))
    size = np.clip(size * factor, *step_sizes)
    g = np.where(sign < 0, 0.0, g)
    s["prev"], s["size"] = g, size
    return p - np.sign(g) * size


def ref_sparse_adam(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """torch's SparseAdam on the rows (axis 0) of g that hold a non-zero."""
    b1, b2 = betas
    s["t"] = t = s.get("t", 0) + 1
    m = s.setdefault("m", np.zeros_like(p))
    v = s.setdefault("v", np.zeros_like(p))
    rows = [i for i in range(p.shape[0]) if np.any(g[i] != 0)]
    step = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
    p = p.copy()
    for i in rows:
        m[i] = m[i] + (1 - b1) * (g[i] - m[i])
        v[i] = v[i] + (1 - b2) * (g[i] ** 2 - v[i])
        p[i] = p[i] - step * m[i] / (np.sqrt(v[i]) + eps)
    return p


CASES = [
    ("sgd", pytorch.sgd, ref_sgd, dict(lr=1e-3)),
    ("sgd-momentum", pytorch.sgd, ref_sgd,
     dict(lr=1e-3, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("sgd-nesterov", pytorch.sgd, ref_sgd, dict(lr=1e-3, momentum=0.8, nesterov=True)),
    ("sgd-maximize", pytorch.sgd, ref_sgd,
     dict(lr=1e-3, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("adam", pytorch.adam, ref_adam, dict(lr=1e-2)),
    ("adam-amsgrad-wd", pytorch.adam, ref_adam,
     dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=0.05, amsgrad=True)),
    ("adamw", pytorch.adamw, ref_adam, dict(lr=1e-2, weight_decay=0.1, decoupled=True)),
    ("adagrad", pytorch.adagrad, ref_adagrad,
     dict(lr=5e-2, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    ("rmsprop", pytorch.rmsprop, ref_rmsprop, dict(lr=1e-3)),
    ("rmsprop-centered", pytorch.rmsprop, ref_rmsprop,
     dict(lr=1e-3, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01)),
    ("adadelta", pytorch.adadelta, ref_adadelta, dict(lr=0.5, rho=0.8, weight_decay=0.01)),
    ("adamax", pytorch.adamax, ref_adamax, dict(lr=1e-2, weight_decay=0.01)),
    ("nadam", pytorch.nadam, ref_nadam, dict(lr=1e-2, weight_decay=0.01)),
    ("nadam-decoupled", pytorch.nadam, ref_nadam,
     dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("radam", pytorch.radam, ref_radam, dict(lr=1e-2)),
    ("radam-decoupled", pytorch.radam, ref_radam,
     dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("asgd", pytorch.asgd, ref_asgd, dict(lr=1e-3, lambd=1e-3, t0=50, weight_decay=0.01)),
    ("rprop", pytorch.rprop, ref_rprop, dict(lr=1e-3, etas=(0.4, 1.3), step_sizes=(1e-5, 0.1))),
]  # fmt: skip

_REF_ONLY = {"decoupled"}  # reference-only switch (AdamW = Adam with decoupled decay)
_STEP_CACHE = {}


def _jitted_step(name, make, kwargs, problem):
    """One jitted update + apply_updates per optimizer configuration and problem."""
    key = (name, problem)
    if key not in _STEP_CACHE:
        opt = make(**{k: v for k, v in kwargs.items() if k not in _REF_ONLY})

        def step(params, grads, state):
            updates, state = opt.update(grads, state, params)
            return transforms.apply_updates(params, updates), state

        _STEP_CACHE[key] = (opt, funcgrad.jit(step))
    return _STEP_CACHE[key]


def _run(name, make, ref, kwargs, problem, grad_mask=None):
    params0, grad = PROBLEMS[problem]() if isinstance(problem, str) else problem()
    opt, step = _jitted_step(name, make, kwargs, problem if isinstance(problem, str) else name)
    params = tree_util.tree_map(fnp.asarray, params0)
    state = opt.init(params)
    ref_params = {k: v.copy() for k, v in params0.items()}
    ref_state = {k: {} for k in params0}
    for i in range(STEPS):
        g = grad(ref_params)
        if kwargs.get("maximize"):  # ascend on -f: the same (convergent) path as descent on f
            g = {k: -v for k, v in g.items()}
        if grad_mask is not None:
            g = grad_mask(i, g)
        ref_params = {k: ref(ref_params[k], g[k], ref_state[k], **kwargs) for k in ref_params}
        params, state = step(params, tree_util.tree_map(fnp.asarray, g), state)
        for k in ref_params:
            np.testing.assert_allclose(
                np.asarray(params[k]), ref_params[k], rtol=1e-9, atol=1e-12,
                err_msg=f"{name} on {problem}: step {i + 1}, leaf {k!r}",
            )  # fmt: skip
    return state


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("name,make,ref,kwargs", CASES, ids=[c[0] for c in CASES])
def test_trajectory_equals_pytorch_reference(name, make, ref, kwargs, problem):
    # Feeding the reference's own gradients keeps both on the same path: any deviation
    # in one step shows at that step, not as a drift.
    _run(name, make, ref, kwargs, problem)


def test_asgd_averaged_params_readable_from_state():
    kwargs = dict(lr=1e-3, lambd=1e-3, t0=50, weight_decay=0.01)
    params0, grad = _quadratic()
    opt = pytorch.asgd(**kwargs)
    params = tree_util.tree_map(fnp.asarray, params0)
    state = opt.init(params)
    ref_params, ref_state = dict(params0), {k: {} for k in params0}
    for _ in range(STEPS):
        g = grad(ref_params)
        ref_params = {k: ref_asgd(ref_params[k], g[k], ref_state[k], **kwargs) for k in g}
        u, state = opt.update(tree_util.tree_map(fnp.asarray, g), state, params)
        params = transforms.apply_updates(params, u)
    for k in params0:
        np.testing.assert_allclose(np.asarray(state.ax[k]), ref_state[k]["ax"], rtol=1e-9)
    # with t0 = 50 < 120 steps the average differs from the last iterate
    assert not np.allclose(np.asarray(state.ax["x"]), np.asarray(params["x"]))


def test_sparse_adam_updates_only_touched_rows():
    table0 = RNG.normal(size=(6, 3))

    def problem():
        return {"emb": table0.copy()}, (lambda p: {"emb": 2 * (p["emb"] - 1.0)})

    def only_rows(i, g):
        rows = np.zeros(6, bool)
        rows[[i % 6, (2 * i + 1) % 6]] = True
        return {"emb": np.where(rows[:, None], g["emb"], 0.0)}

    kwargs = dict(lr=1e-2, betas=(0.8, 0.99))
    _run("sparse_adam", pytorch.sparse_adam, ref_sparse_adam, kwargs, problem, only_rows)
    # a row never touched keeps its value and zero moments
    opt = pytorch.sparse_adam(lr=0.1)
    g = fnp.asarray(np.where(np.arange(6)[:, None] == 2, 1.0, 0.0) * np.ones((6, 3)))
    state = opt.init(fnp.asarray(table0))
    u, state = opt.update(g, state)
    assert np.all(np.asarray(u)[[0, 1, 3, 4, 5]] == 0) and np.all(np.asarray(u)[2] != 0)
    assert np.all(np.asarray(state[1].exp_avg)[[0, 1, 3, 4, 5]] == 0)


def test_sgd_first_momentum_step_is_the_undamped_gradient():
    opt = pytorch.sgd(lr=1.0, momentum=0.9, dampening=0.5)
    state = opt.init(fnp.zeros(1))
    u, state = opt.update(fnp.asarray([2.0]), state)
    assert u.tolist() == [-2.0]  # buffer = g, not (1 - dampening) g
    u, state = opt.update(fnp.asarray([2.0]), state)
    assert u.tolist() == pytest.approx([-(0.9 * 2.0 + 0.5 * 2.0)])


def test_schedule_as_lr_equals_pytorch_scheduler_stepped_each_step():
    sched = pytorch.step_lr(0.1, step_size=3, gamma=0.5)
    opt = pytorch.sgd(lr=sched, momentum=0.9)
    params, state = fnp.asarray([1.0]), None
    state = opt.init(params)
    buf, p = None, 1.0
    for t in range(10):
        g = 2 * p
        buf = g if buf is None else 0.9 * buf + g
        p = p - 0.1 * 0.5 ** (t // 3) * buf
        u, state = opt.update(fnp.asarray([2 * params.item()]), state)
        params = transforms.apply_updates(params, u)
        assert params.item() == pytest.approx(p, rel=1e-12)


def test_float32_params_keep_float32_state_and_updates():
    p32 = {"w": fnp.ones((2, 2), dtype=fnp.float32)}
    for make in (pytorch.adam, pytorch.nadam, pytorch.radam, pytorch.adamax, pytorch.adagrad,
                 pytorch.rmsprop, pytorch.adadelta, pytorch.sparse_adam):  # fmt: skip
        opt = make()
        u, state = opt.update(p32, opt.init(p32), p32)
        assert u["w"].dtype == np.float32, make.__name__
        leaves = [x for x in tree_util.tree_leaves(state) if np.ndim(x) == 2]
        assert all(x.dtype == np.float32 for x in leaves), make.__name__


def test_state_survives_jit_vmap_over_lrs_and_a_save_restore_round_trip(tmp_path):
    params, grad = _mlp()
    params = tree_util.tree_map(fnp.asarray, params)
    grads = tree_util.tree_map(fnp.asarray, grad(tree_util.tree_map(np.asarray, params)))

    def run(lr):
        opt = pytorch.adam(lr=lr)
        state = opt.init(params)
        u, state = opt.update(grads, state)
        return u

    lrs = fnp.asarray([1e-3, 1e-2, 1e-1])
    batched = funcgrad.vmap(run)(lrs)
    for i, lr in enumerate([1e-3, 1e-2, 1e-1]):
        one = run(lr)
        np.testing.assert_allclose(np.asarray(batched["w1"][i]), np.asarray(one["w1"]), rtol=1e-12)
    opt = pytorch.rmsprop(lr=1e-2, momentum=0.9, centered=True)
    state = opt.init(params)
    _, state = opt.update(grads, state)
    leaves, treedef = tree_util.tree_flatten(state)
    path = tmp_path / "state.npz"
    np.savez(path, *[np.asarray(x) for x in leaves])
    with np.load(path) as data:
        restored = tree_util.tree_unflatten(treedef, [fnp.asarray(data[f"arr_{i}"])
                                                      for i in range(len(leaves))])  # fmt: skip
    a, _ = opt.update(grads, state)
    b, _ = opt.update(grads, restored)
    for k in a:
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]))


@pytest.mark.parametrize(
    "make,kwargs,arg",
    [
        (pytorch.sgd, dict(lr=-0.1), "lr"),
        (pytorch.sgd, dict(lr=0.1, momentum=-0.5), "momentum"),
        (pytorch.sgd, dict(lr=0.1, weight_decay=-1.0), "weight_decay"),
        (pytorch.sgd, dict(lr=0.1, nesterov=True), "nesterov"),
        (pytorch.adam, dict(betas=(1.0, 0.999)), r"betas\[0\]"),
        (pytorch.adam, dict(betas=(0.9, -0.1)), r"betas\[1\]"),
        (pytorch.adam, dict(eps=-1e-8), "eps"),
        (pytorch.adamw, dict(lr=-1.0), "lr"),
        (pytorch.adagrad, dict(lr_decay=-0.1), "lr_decay"),
        (pytorch.adagrad, dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
        (pytorch.rmsprop, dict(alpha=-0.1), "alpha"),
        (pytorch.adadelta, dict(rho=1.5), "rho"),
        (pytorch.nadam, dict(momentum_decay=-1.0), "momentum_decay"),
        (pytorch.rprop, dict(etas=(1.5, 1.2)), "etas"),
        (pytorch.rprop, dict(step_sizes=(1.0, 0.1)), "step_sizes"),
        (pytorch.asgd, dict(lambd=-1.0), "lambd"),
        (pytorch.sparse_adam, dict(betas=(0.9, 1.0)), r"betas\[1\]"),
    ],
)
def test_out_of_range_hyperparameters_raise_at_construction(make, kwargs, arg):
    with pytest.raises(ValueError, match=f"pytorch.{make.__name__}.*{arg}"):
        make(**kwargs)


def test_mismatched_updates_name_the_key_path():
    opt = pytorch.adam()
    state = opt.init({"a": fnp.zeros(2), "b": fnp.zeros(3)})
    with pytest.raises(ValueError, match=r"\['b'\]"):
        opt.update({"a": fnp.zeros(2), "b": fnp.zeros(4)}, state)


def test_nan_gradient_is_not_turned_into_finite_params():
    for make in (pytorch.sgd, pytorch.adam, pytorch.rmsprop, pytorch.adagrad, pytorch.rprop):
        opt = make()
        p = fnp.zeros(2)
        u, _ = opt.update(fnp.asarray([np.nan, 1.0]), opt.init(p), p)
        assert np.isnan(np.asarray(u)[0]), make.__name__


# --- schedulers against PyTorch's closed forms ----------------------------------------

T = list(range(60))


def _sched_check(sched, ref, counts=T):
    expected = np.array([ref(t) for t in counts])
    np.testing.assert_allclose([float(sched(t)) for t in counts], expected, rtol=1e-12, atol=1e-15)
    jitted = funcgrad.jit(lambda c: fnp.asarray(sched(c), dtype=fnp.float64))
    got = [float(jitted(fnp.asarray(t, dtype=fnp.int32))) for t in counts]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_step_multistep_exponential_constant_linear_polynomial():
    _sched_check(pytorch.step_lr(0.5, 7, 0.3), lambda t: 0.5 * 0.3 ** (t // 7))
    _sched_check(pytorch.multi_step_lr(0.5, [30, 10, 10], 0.5),
                 lambda t: 0.5 * 0.5 ** ((t >= 10) * 2 + (t >= 30)))  # fmt: skip
    _sched_check(pytorch.exponential_lr(0.5, 0.95), lambda t: 0.5 * 0.95**t)
    _sched_check(pytorch.constant_lr(0.5, 0.25, 9), lambda t: 0.125 if t < 9 else 0.5)
    _sched_check(pytorch.linear_lr(0.5, 0.2, 0.9, 20),
                 lambda t: 0.5 * (0.2 + 0.7 * min(t, 20) / 20))  # fmt: skip
    _sched_check(pytorch.polynomial_lr(0.5, 25, 2.0), lambda t: 0.5 * (1 - min(t, 25) / 25) ** 2)


def _torch_cosine_recursive(base, T_max, eta_min, n):
    """CosineAnnealingLR's recursive (chainable) get_lr, from PyTorch's documentation."""
    lrs, lr = [base], base
    for t in range(1, n):
        if (t - 1 - T_max) % (2 * T_max) == 0:
            lr = lr + (base - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
        else:
            lr = (1 + math.cos(math.pi * t / T_max)) / (1 + math.cos(math.pi * (t - 1) / T_max)) * (
                lr - eta_min
            ) + eta_min
        lrs.append(lr)
    return lrs


def test_cosine_annealing_and_warm_restarts():
    rec = _torch_cosine_recursive(0.5, 10, 0.01, 60)
    np.testing.assert_allclose(
        [float(pytorch.cosine_annealing_lr(0.5, 10, 0.01)(t)) for t in T], rec, rtol=1e-9
    )

    def warm(T_0, T_mult):
        def ref(t):  # PyTorch's step(): T_cur += 1, restart when T_cur >= T_i
            t_cur, t_i = 0, T_0
            for _ in range(t):
                t_cur += 1
                if t_cur >= t_i:
                    t_cur, t_i = t_cur - t_i, t_i * T_mult
            return 0.01 + (0.5 - 0.01) * (1 + math.cos(math.pi * t_cur / t_i)) / 2

        return ref

    for T_0, T_mult in [(5, 1), (3, 2), (2, 3)]:
        _sched_check(pytorch.cosine_annealing_warm_restarts(0.5, T_0, T_mult, 0.01),
                     warm(T_0, T_mult))  # fmt: skip


def test_lambda_sequential_cyclic_one_cycle():
    _sched_check(pytorch.lambda_lr(0.5, lambda t: 1.0 / (1.0 + t)), lambda t: 0.5 / (1 + t))
    _sched_check(
        pytorch.sequential_lr([pytorch.linear_lr(0.5, 0.1, 1.0, 5),
                               pytorch.exponential_lr(0.5, 0.9)],
                              [5]),
        lambda t: 0.5 * (0.1 + 0.9 * t / 5) if t < 5 else 0.5 * 0.9 ** (t - 5),
    )  # fmt: skip

    def cyc(mode, gamma=1.0):
        def ref(t):
            total, ratio = 7.0, 3 / 7.0
            cycle = math.floor(1 + t / total)
            x = 1.0 + t / total - cycle
            h = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
            scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1),
                     "exp_range": gamma**t}[mode]  # fmt: skip
            return 0.1 + 0.9 * h * scale

        return ref

    for mode in ("triangular", "triangular2", "exp_range"):
        _sched_check(pytorch.cyclic_lr(0.1, 1.0, 3, 4, mode, gamma=0.97), cyc(mode, 0.97))

    def one_cycle(total, pct, strategy, three):
        init, final = 1.0 / 25, 1.0 / 25 / 1e4
        if three:
            phases = [(pct * total - 1, init, 1.0), (2 * pct * total - 2, 1.0, init),
                      (total - 1, init, final)]  # fmt: skip
        else:
            phases = [(pct * total - 1, init, 1.0), (total - 1, 1.0, final)]

        def ref(t):
            t = min(t, total - 1)
            start = 0.0
            for i, (end, a, b) in enumerate(phases):
                if t <= end or i == len(phases) - 1:
                    x = (t - start) / (end - start)
                    if strategy == "cos":
                        return b + (a - b) / 2 * (math.cos(math.pi * x) + 1)
                    return (b - a) * x + a
                start = end

        return ref

    for strategy in ("cos", "linear"):
        for three in (False, True):
            _sched_check(pytorch.one_cycle_lr(1.0, 50, pct_start=0.25, anneal_strategy=strategy,
                                              three_phase=three),
                         one_cycle(50, 0.25, strategy, three))  # fmt: skip


def test_scheduler_bad_arguments_raise():
    with pytest.raises(ValueError, match="step_lr: step_size"):
        pytorch.step_lr(0.1, 0)
    with pytest.raises(ValueError, match="one_cycle_lr: give total_steps"):
        pytorch.one_cycle_lr(0.1)
    with pytest.raises(ValueError, match="cyclic_lr: mode"):
        pytorch.cyclic_lr(0.1, 1.0, mode="sine")
    with pytest.raises(ValueError, match="linear_lr: start_factor"):
        pytorch.linear_lr(0.1, start_factor=0.0)
    with pytest.raises(ValueError, match="sequential_lr: expected"):
        pytorch.sequential_lr([pytorch.step_lr(0.1, 2)], [3])


# --- ReduceLROnPlateau ----------------------------------------------------------------


class _TorchPlateau:
    """ReduceLROnPlateau.step as documented (is_better, cooldown, patience, eps)."""

    def __init__(self, lr, mode, factor, patience, threshold, threshold_mode, cooldown, min_lr,
                 eps):  # fmt: skip
        self.lr, self.mode, self.factor, self.patience = lr, mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown = threshold, threshold_mode, cooldown
        self.min_lr, self.eps = min_lr, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.bad, self.cooldown_counter = 0, 0

    def better(self, a):
        rel = self.threshold_mode == "rel"
        if self.mode == "min":
            return a < (self.best * (1 - self.threshold) if rel else self.best - self.threshold)
        return a > (self.best * (1 + self.threshold) if rel else self.best + self.threshold)

    def step(self, metric):
        if self.better(metric):
            self.best, self.bad = metric, 0
        else:
            self.bad += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.bad = 0
        if self.bad > self.patience:
            new = max(self.lr * self.factor, self.min_lr)
            if self.lr - new > self.eps:
                self.lr = new
            self.cooldown_counter, self.bad = self.cooldown, 0


@pytest.mark.parametrize(
    "mode,threshold_mode,cooldown,min_lr",
    [("min", "rel", 0, 0.0), ("min", "abs", 2, 0.004), ("max", "rel", 1, 0.0),
     ("max", "abs", 3, 0.01)],
)  # fmt: skip
def test_reduce_lr_on_plateau_matches_pytorch(mode, threshold_mode, cooldown, min_lr):
    kwargs = dict(
        mode=mode, factor=0.5, patience=2, threshold=0.05, threshold_mode=threshold_mode,
        cooldown=cooldown, min_lr=min_lr, eps=1e-8,
    )  # fmt: skip
    ref = _TorchPlateau(0.1, **kwargs)
    tx = transforms.chain(pytorch.sgd(lr=0.1), pytorch.reduce_lr_on_plateau(0.1, **kwargs))
    step = funcgrad.jit(lambda u, s, v: tx.update(u, s, value=v))
    state = tx.init(fnp.zeros(1))
    metrics = RNG.uniform(0.5, 1.5, size=60) * np.linspace(2, 1, 60)
    for m in metrics:
        ref.step(float(m))
        u, state = step(fnp.ones(1), state, fnp.asarray(m))
        assert float(state[1].lr) == pytest.approx(ref.lr, rel=1e-12)
        assert u.item() == pytest.approx(-ref.lr, rel=1e-12)
    assert ref.lr < 0.1  # the sequence did trigger reductions
    u, state2 = tx.update(fnp.ones(1), state)  # value=None: no scheduler step
    assert int(state2[1].last_epoch) == int(state[1].last_epoch)


def test_reduce_lr_on_plateau_bad_arguments():
    with pytest.raises(ValueError, match="reduce_lr_on_plateau: factor"):
        pytorch.reduce_lr_on_plateau(0.1, factor=1.0)
    with pytest.raises(ValueError, match="reduce_lr_on_plateau: mode"):
        pytorch.reduce_lr_on_plateau(0.1, mode="up")
    with pytest.raises(ValueError, match="reduce_lr_on_plateau: threshold_mode"):
        pytorch.reduce_lr_on_plateau(0.1, threshold_mode="pct")
