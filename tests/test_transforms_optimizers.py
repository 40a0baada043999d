"""Every optimizer alias against a NumPy reference written from the formula in its docstring.

Each optimizer runs 100+ steps on three pytrees (a quadratic, the Rosenbrock function, a
small tanh MLP); at every step both sides get the gradient of their own params from an
analytic NumPy gradient, and the params must agree to float64 rounding. The references
below are written from the math in the docstrings (optax's documented algorithms), leaf
by leaf on lists of NumPy arrays, never by calling the library.
"""

import math

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
import transforms
from funcgrad import lax, random, tree_util

STEPS = 100

# --------------------------------------------------------------------------- the problems


def _quadratic():
    rng = np.random.default_rng(0)
    d = {"a": rng.uniform(0.5, 2.0, 3), "B": rng.uniform(0.5, 2.0, (2, 2))}
    c = {"a": rng.normal(size=3), "B": rng.normal(size=(2, 2))}
    x0 = {"a": np.zeros(3), "B": np.ones((2, 2))}

    def value(p):
        return sum(0.5 * float(np.sum(d[k] * (p[k] - c[k]) ** 2)) for k in p)

    def grad(p):
        return {k: d[k] * (p[k] - c[k]) for k in p}

    def loss(p):
        return sum(0.5 * fnp.sum(fnp.asarray(d[k]) * (p[k] - fnp.asarray(c[k])) ** 2) for k in p)

    return x0, value, grad, loss


def _rosenbrock():
    # b = 10 instead of 100: curvature ~130 at the start keeps plain SGD (lr 0.01) stable.
    x0 = (np.asarray(-1.2), np.asarray(1.0))

    def value(p):
        x, y = p
        return float((1 - x) ** 2 + 10 * (y - x**2) ** 2)

    def grad(p):
        x, y = p
        return (np.asarray(-2 * (1 - x) - 40 * x * (y - x**2)), np.asarray(20 * (y - x**2)))

    def loss(p):
        x, y = p
        return (1 - x) ** 2 + 10 * (y - x**2) ** 2

    return x0, value, grad, loss


def _mlp():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 3))
    Y = rng.normal(size=(8, 2))
    x0 = {
        "l1": {"w": rng.normal(size=(3, 5)) * 0.5, "b": np.zeros(5)},
        "l2": {"w": rng.normal(size=(5, 2)) * 0.5, "b": np.zeros(2)},
    }

    def forward(p):
        h = np.tanh(X @ p["l1"]["w"] + p["l1"]["b"])
        return h, h @ p["l2"]["w"] + p["l2"]["b"]

    def value(p):
        return float(0.5 * np.mean(np.sum((forward(p)[1] - Y) ** 2, axis=1)))

    def grad(p):
        h, out = forward(p)
        d_out = (out - Y) / X.shape[0]
        d_h = (d_out @ p["l2"]["w"].T) * (1 - h**2)
        return {
            "l1": {"w": X.T @ d_h, "b": d_h.sum(0)},
            "l2": {"w": h.T @ d_out, "b": d_out.sum(0)},
        }

    Xf, Yf = fnp.asarray(X), fnp.asarray(Y)

    def loss(p):
        h = fnp.tanh(Xf @ p["l1"]["w"] + p["l1"]["b"])
        out = h @ p["l2"]["w"] + p["l2"]["b"]
        return 0.5 * fnp.mean(fnp.sum((out - Yf) ** 2, axis=1))

    return x0, value, grad, loss


PROBLEMS = {"quadratic": _quadratic(), "rosenbrock": _rosenbrock(), "mlp": _mlp()}


# --------------------------------------------------------------------------- references
# Each reference is (init(params) -> state, update(grads, state, params, k, value) ->
# (updates, state)); leaves are lists of float64 NumPy arrays; k = 1, 2, ... is the step.


def _norm(x):
    return float(np.sqrt(np.sum(x * x)))


def ref_sgd(lr, momentum=None, nesterov=False):
    lr_fn = lr if callable(lr) else (lambda c: lr)

    def init(p):
        return [np.zeros_like(x) for x in p]

    def update(g, t, p, k, value):
        a = lr_fn(k - 1)
        if momentum is None:
            return [-a * gi for gi in g], t
        t = [gi + momentum * ti for gi, ti in zip(g, t)]
        d = [gi + momentum * ti for gi, ti in zip(g, t)] if nesterov else t
        return [-a * di for di in d], t

    return init, update


def ref_sign_sgd(lr):
    return (lambda p: None), (lambda g, s, p, k, v: ([-lr * np.sign(x) for x in g], s))


def ref_noisy_sgd(lr, eta=0.01, gamma=0.55, seed=0):
    def init(p):
        return random.key(seed)

    def update(g, key, p, k, value):
        std = math.sqrt(eta / k**gamma)
        keys = random.split(key, len(g) + 1)
        noise = [np.asarray(random.normal(keys[i + 1], x.shape, x.dtype)) for i, x in enumerate(g)]
        return [-lr * (x + std * n) for x, n in zip(g, noise)], keys[0]

    return init, update


def ref_adam(
    lr,
    b1=0.9,
    b2=0.999,
    eps=1e-8,
    eps_root=0.0,
    nesterov=False,
    wd=0.0,
    mask=None,
    radam_threshold=None,
    amsgrad=False,
    bias_correction=(True, True),
):
    lr_fn = lr if callable(lr) else (lambda c: lr)

    def init(p):
        z = [np.zeros_like(x) for x in p]
        return (list(z), list(z), list(z))

    def update(g, s, p, k, value):
        m, v, vmax = s
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
        if nesterov:
            mh = [
                b1 * mi / (1 - b1 ** (k + 1)) + (1 - b1) * gi / (1 - b1**k) for mi, gi in zip(m, g)
            ]
        else:
            mh = [mi / (1 - b1**k) if bias_correction[0] else mi for mi in m]
        vh = [vi / (1 - b2**k) if bias_correction[1] else vi for vi in v]
        if amsgrad:
            vmax = [np.maximum(a, b) for a, b in zip(vmax, vh)]
            vh = vmax
        d = [mi / (np.sqrt(vi + eps_root) + eps) for mi, vi in zip(mh, vh)]
        if radam_threshold is not None:
            rho_inf = 2 / (1 - b2) - 1
            rho = rho_inf - 2 * k * b2**k / (1 - b2**k)
            if rho >= radam_threshold:
                r = math.sqrt(
                    (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)
                )
                d = [r * di for di in d]
            else:
                d = mh
        msk = mask or [True] * len(p)
        d = [di + (wd * pi if mi else 0) for di, pi, mi in zip(d, p, msk)]
        return [-lr_fn(k - 1) * di for di in d], (m, v, vmax)

    return init, update


def ref_adamax(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    def init(p):
        return [np.zeros_like(x) for x in p], [np.zeros_like(x) for x in p]

    def update(g, s, p, k, value):
        m, u = s
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        u = [np.maximum(b2 * ui, np.abs(gi) + eps) for ui, gi in zip(u, g)]
        d = [mi / (1 - b1**k) / ui + wd * pi for mi, ui, pi in zip(m, u, p)]
        return [-lr * di for di in d], (m, u)

    return init, update


def ref_adagrad(lr, initial_accumulator_value=0.1, eps=1e-7):
    def init(p):
        return [np.full_like(x, initial_accumulator_value) for x in p]

    def update(g, G, p, k, value):
        G = [Gi + gi * gi for Gi, gi in zip(G, g)]
        return [-lr * gi / np.sqrt(Gi + eps) for gi, Gi in zip(g, G)], G

    return init, update


def ref_adadelta(lr, rho=0.9, eps=1e-6, wd=0.0):
    def init(p):
        return [np.zeros_like(x) for x in p], [np.zeros_like(x) for x in p]

    def update(g, s, p, k, value):
        eg, ex = s
        g = [gi + wd * pi for gi, pi in zip(g, p)]
        eg = [rho * e + (1 - rho) * gi**2 for e, gi in zip(eg, g)]
        d = [np.sqrt(x + eps) / np.sqrt(e + eps) * gi for x, e, gi in zip(ex, eg, g)]
        ex = [rho * x + (1 - rho) * di**2 for x, di in zip(ex, d)]
        return [-lr * di for di in d], (eg, ex)

    return init, update


def ref_adafactor(
    lr,
    min_dim_size_to_factor=128,
    decay_rate=0.8,
    clipping_threshold=1.0,
    momentum=None,
    weight_decay_rate=None,
    eps=1e-30,
):
    def dims(shape):
        if len(shape) < 2:
            return None
        order = np.argsort(shape, kind="stable")
        if shape[order[-2]] < min_dim_size_to_factor:
            return None
        return int(order[-2]), int(order[-1])

    def init(p):
        stats = []
        for x in p:
            dd = dims(x.shape)
            if dd is None:
                stats.append(np.zeros_like(x))
            else:
                d1, d0 = dd
                stats.append((np.zeros(np.delete(x.shape, d0)), np.zeros(np.delete(x.shape, d1))))
        return stats, [np.zeros_like(x) for x in p]

    def update(g, s, p, k, value):
        stats, ema = s
        beta = 1 - k ** (-decay_rate)
        new_stats, out = [], []
        for gi, st, pi in zip(g, stats, p):
            G = gi * gi + eps
            dd = dims(gi.shape)
            if dd is None:
                v = beta * st + (1 - beta) * G
                u = gi / np.sqrt(v)
                new_stats.append(v)
            else:
                d1, d0 = dd
                R = beta * st[0] + (1 - beta) * G.mean(axis=d0)
                C = beta * st[1] + (1 - beta) * G.mean(axis=d1)
                row = 1 / np.sqrt(R / R.mean())
                col = 1 / np.sqrt(C)
                u = gi * np.expand_dims(row, d0) * np.expand_dims(col, d1)
                new_stats.append((R, C))
            u = u / max(1.0, math.sqrt(np.mean(u * u)) / clipping_threshold)
            u = u * lr * max(math.sqrt(np.mean(pi * pi)), 1e-3)
            out.append(u)
        if momentum is not None:
            ema = [momentum * e + (1 - momentum) * u for e, u in zip(ema, out)]
            out = ema
        if weight_decay_rate is not None:
            out = [u + weight_decay_rate * pi for u, pi in zip(out, p)]
        return [-u for u in out], (new_stats, ema)

    return init, update


def ref_adabelief(lr, b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16):
    def init(p):
        return [np.zeros_like(x) for x in p], [np.zeros_like(x) for x in p]

    def update(g, st, p, k, value):
        m, s = st
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        s = [b2 * si + (1 - b2) * (gi - mi) ** 2 + eps_root for si, gi, mi in zip(s, g, m)]
        return [
            -lr * (mi / (1 - b1**k)) / (np.sqrt(si / (1 - b2**k)) + eps) for mi, si in zip(m, s)
        ], (m, s)

    return init, update


def ref_adan(lr, b1=0.98, b2=0.92, b3=0.99, eps=1e-8, eps_root=1e-8, wd=0.0):
    def init(p):
        z = [np.zeros_like(x) for x in p]
        return list(z), list(z), list(z), list(z)

    def update(g, st, p, k, value):
        m, v, n, gp = st
        diff = [np.zeros_like(gi) if k == 1 else gi - q for gi, q in zip(g, gp)]
        m = [b1 * a + (1 - b1) * gi for a, gi in zip(m, g)]
        v = [b2 * a + (1 - b2) * di for a, di in zip(v, diff)]
        n = [b3 * a + (1 - b3) * (gi + (1 - b2) * di) ** 2 for a, gi, di in zip(n, g, diff)]
        d = [
            (mi / (1 - b1**k) + (1 - b2) * vi / (1 - b2**k))
            / (np.sqrt(ni / (1 - b3**k) + eps_root) + eps)
            + wd * pi
            for mi, vi, ni, pi in zip(m, v, n, p)
        ]
        return [-lr * di for di in d], (m, v, n, list(g))

    return init, update


def ref_rmsprop(
    lr,
    decay=0.9,
    eps=1e-8,
    initial_scale=0.0,
    eps_in_sqrt=True,
    centered=False,
    momentum=None,
    nesterov=False,
    bias_correction=False,
):
    def init(p):
        return (
            [np.zeros_like(x) for x in p],
            [np.full_like(x, initial_scale) for x in p],
            [np.zeros_like(x) for x in p],
        )

    def update(g, st, p, k, value):
        mu, nu, t = st
        mu = [decay * a + (1 - decay) * gi for a, gi in zip(mu, g)]
        nu = [decay * a + (1 - decay) * gi * gi for a, gi in zip(nu, g)]
        c = (1 - decay**k) if bias_correction else 1.0
        denom = [np.maximum(n / c - ((m / c) ** 2 if centered else 0), 0) for m, n in zip(mu, nu)]
        if eps_in_sqrt:
            d = [gi / np.sqrt(x + eps) for gi, x in zip(g, denom)]
        else:
            d = [gi / (np.sqrt(x) + eps) for gi, x in zip(g, denom)]
        s = [-lr * di for di in d]
        if momentum is not None:
            t = [si + momentum * ti for si, ti in zip(s, t)]
            s = [si + momentum * ti for si, ti in zip(s, t)] if nesterov else t
        return s, (mu, nu, t)

    return init, update


def ref_rprop(lr, eta_minus=0.5, eta_plus=1.2, min_step=1e-6, max_step=50.0):
    def init(p):
        return [np.full_like(x, lr) for x in p], [np.zeros_like(x) for x in p]

    def update(g, st, p, k, value):
        steps, prev = st
        new_steps, new_prev, out = [], [], []
        for gi, si, pr in zip(g, steps, prev):
            prod = gi * pr
            s = np.where(prod > 0, np.minimum(si * eta_plus, max_step), si)
            s = np.where(prod < 0, np.maximum(si * eta_minus, min_step), s)
            q = np.where(prod < 0, 0.0, s * np.sign(gi))
            new_steps.append(s)
            new_prev.append(q)
            out.append(-q)
        return out, (new_steps, new_prev)

    return init, update


def _trust(pn, un, coeff=1.0, eps=0.0):
    return 1.0 if pn == 0 or un == 0 else coeff * pn / (un + eps)


def ref_lamb(lr, b1=0.9, b2=0.999, eps=1e-6, wd=0.0):
    adam_init, _ = ref_adam(1.0)

    def update(g, st, p, k, value):
        m, v, vmax = st
        m = [b1 * a + (1 - b1) * gi for a, gi in zip(m, g)]
        v = [b2 * a + (1 - b2) * gi * gi for a, gi in zip(v, g)]
        r = [
            (mi / (1 - b1**k)) / (np.sqrt(vi / (1 - b2**k)) + eps) + wd * pi
            for mi, vi, pi in zip(m, v, p)
        ]
        return [-lr * _trust(_norm(pi), _norm(ri)) * ri for ri, pi in zip(r, p)], (m, v, vmax)

    return adam_init, update


def ref_lars(lr, wd=0.0, trust_coefficient=0.001, eps=0.0, momentum=0.9, nesterov=False):
    def init(p):
        return [np.zeros_like(x) for x in p]

    def update(g, t, p, k, value):
        r = [gi + wd * pi for gi, pi in zip(g, p)]
        s = [
            -lr * _trust(_norm(pi), _norm(ri), trust_coefficient, eps) * ri for ri, pi in zip(r, p)
        ]
        t = [si + momentum * ti for si, ti in zip(s, t)]
        return ([si + momentum * ti for si, ti in zip(s, t)] if nesterov else t), t

    return init, update


def ref_lion(lr, b1=0.9, b2=0.99, wd=1e-3):
    def init(p):
        return [np.zeros_like(x) for x in p]

    def update(g, m, p, k, value):
        d = [np.sign(b1 * mi + (1 - b1) * gi) + wd * pi for mi, gi, pi in zip(m, g, p)]
        m = [b2 * mi + (1 - b2) * gi for mi, gi in zip(m, g)]
        return [-lr * di for di in d], m

    return init, update


def ref_novograd(lr, b1=0.9, b2=0.25, eps=1e-6, eps_root=0.0, wd=0.0):
    def init(p):
        return [np.zeros_like(x) for x in p], [0.0 for _ in p]

    def update(g, st, p, k, value):
        m, nu = st
        nu = [
            float(np.sum(gi * gi)) if k == 1 else b2 * n + (1 - b2) * float(np.sum(gi * gi))
            for gi, n in zip(g, nu)
        ]
        d = [gi / (math.sqrt(n + eps_root) + eps) + wd * pi for gi, n, pi in zip(g, nu, p)]
        m = d if k == 1 else [b1 * mi + di for mi, di in zip(m, d)]
        return [-lr * mi for mi in m], (m, nu)

    return init, update


def ref_fromage(lr, min_norm=1e-6):
    mult = 1 / math.sqrt(1 + lr**2)

    def update(g, s, p, k, value):
        out = []
        for gi, pi in zip(g, p):
            ratio = _trust(max(_norm(pi), min_norm), max(_norm(gi), min_norm))
            out.append(-lr * mult * ratio * gi + (mult - 1) * pi)
        return out, s

    return (lambda p: None), update


def ref_yogi(lr, b1=0.9, b2=0.999, eps=1e-3, init_value=1e-6):
    def init(p):
        return [np.full_like(x, init_value) for x in p], [np.full_like(x, init_value) for x in p]

    def update(g, st, p, k, value):
        m, v = st
        m = [b1 * a + (1 - b1) * gi for a, gi in zip(m, g)]
        v = [a - (1 - b2) * np.sign(a - gi * gi) * gi * gi for a, gi in zip(v, g)]
        return [
            -lr * (mi / (1 - b1**k)) / (np.sqrt(vi / (1 - b2**k)) + eps) for mi, vi in zip(m, v)
        ], (m, v)

    return init, update


def ref_sm3(lr, momentum=0.9, eps=1e-8):
    def init(p):
        accs = [[np.zeros_like(x)] if x.ndim < 2 else [np.zeros(n) for n in x.shape] for x in p]
        return accs, [np.zeros_like(x) for x in p]

    def update(g, st, p, k, value):
        accs, m = st
        new_accs, new_m = [], []
        for gi, acc, mi in zip(g, accs, m):
            if gi.ndim < 2:
                nu = gi * gi + acc[0]
                new_acc = [nu]
            else:
                # min over the per-axis accumulators, each broadcast along its axis
                mins = np.full(gi.shape, np.inf)
                for ax, a in enumerate(acc):
                    shape = [1] * gi.ndim
                    shape[ax] = gi.shape[ax]
                    mins = np.minimum(mins, a.reshape(shape))
                nu = gi * gi + mins
                new_acc = [
                    nu.max(axis=tuple(j for j in range(gi.ndim) if j != ax))
                    for ax in range(gi.ndim)
                ]
            scaled = np.where(nu > 0, gi / np.sqrt(nu + eps), 0.0)
            new_m.append(momentum * mi + (1 - momentum) * scaled)
            new_accs.append(new_acc)
        return [-lr * mi for mi in new_m], (new_accs, new_m)

    return init, update


def ref_polyak(max_learning_rate=1.0, scaling=1.0, f_min=0.0, eps=0.0):
    def update(g, s, p, k, value):
        d = [-scaling * gi for gi in g]
        sq = sum(float(np.sum(di * di)) for di in d)
        step = (
            0.0
            if sq + eps <= np.finfo(np.float64).eps
            else min((value - f_min) / (sq + eps), max_learning_rate)
        )
        return [step * di for di in d], s

    return (lambda p: None), update


def ref_lbfgs(lr, memory_size=10):
    """Algorithm 7.4 of Nocedal and Wright with the docstring's gamma_k (no line search)."""

    def dot(a, b):
        return sum(float(np.sum(x * y)) for x, y in zip(a, b))

    def init(p):
        return {"pairs": [], "prev": None}

    def update(g, st, p, k, value):
        pairs = list(st["pairs"])
        if st["prev"] is None:
            gamma = min(1.0, 1.0 / math.sqrt(dot(g, g)))
        else:
            pp, gp = st["prev"]
            dw = [a - b for a, b in zip(p, pp)]
            du = [a - b for a, b in zip(g, gp)]
            c = dot(du, dw)
            pairs = (pairs + [(dw, du, 0.0 if c == 0 else 1.0 / c)])[-memory_size:]
            gamma = c / dot(du, du) if dot(du, du) > 0 else 1.0
        q = [x.copy() for x in g]
        alphas = []
        for dw, du, rho in reversed(pairs):
            a = rho * dot(dw, q)
            q = [x - a * y for x, y in zip(q, du)]
            alphas.append(a)
        r = [gamma * x for x in q]
        for (dw, du, rho), a in zip(pairs, reversed(alphas)):
            b = rho * dot(du, r)
            r = [x + (a - b) * y for x, y in zip(r, dw)]
        return [-lr * x for x in r], {"pairs": pairs, "prev": (list(p), list(g))}

    return init, update


def _schedule(count):
    return 0.05 / (1.0 + 0.1 * count)


# name -> (transformation factory, reference, problems to skip)
CASES = {
    "sgd": (lambda: transforms.sgd(0.01), lambda: ref_sgd(0.01)),
    "sgd_momentum": (lambda: transforms.sgd(0.01, momentum=0.9), lambda: ref_sgd(0.01, 0.9)),
    "sgd_nesterov": (
        lambda: transforms.sgd(0.01, momentum=0.9, nesterov=True),
        lambda: ref_sgd(0.01, 0.9, True),
    ),
    "sgd_schedule": (
        lambda: transforms.sgd(_schedule, momentum=0.5),
        lambda: ref_sgd(_schedule, 0.5),
    ),
    "noisy_sgd": (lambda: transforms.noisy_sgd(0.01, seed=3), lambda: ref_noisy_sgd(0.01, seed=3)),
    "sign_sgd": (lambda: transforms.sign_sgd(0.003), lambda: ref_sign_sgd(0.003)),
    "adam": (lambda: transforms.adam(0.01), lambda: ref_adam(0.01)),
    "adam_eps_root_schedule": (
        lambda: transforms.adam(_schedule, b1=0.8, b2=0.99, eps_root=1e-6),
        lambda: ref_adam(_schedule, b1=0.8, b2=0.99, eps_root=1e-6),
    ),
    "nadam": (lambda: transforms.nadam(0.01), lambda: ref_adam(0.01, nesterov=True)),
    "adamw": (
        lambda: transforms.adamw(0.01, weight_decay=0.1),
        lambda: ref_adam(0.01, wd=0.1),
    ),
    "nadamw": (
        lambda: transforms.nadamw(0.01, weight_decay=0.1),
        lambda: ref_adam(0.01, wd=0.1, nesterov=True),
    ),
    "radam": (lambda: transforms.radam(0.01), lambda: ref_adam(0.01, radam_threshold=5.0)),
    "amsgrad": (lambda: transforms.amsgrad(0.01), lambda: ref_adam(0.01, amsgrad=True)),
    "amsgrad_paper_no_bias_correction": (  # optax's bias_correction_mu / _nu flags
        lambda: transforms.chain(
            transforms.scale_by_amsgrad(bias_correction_mu=False, bias_correction_nu=False),
            transforms.scale_by_learning_rate(0.01),
        ),
        lambda: ref_adam(0.01, amsgrad=True, bias_correction=(False, False)),
    ),
    "amsgrad_debias_mu_only": (
        lambda: transforms.chain(
            transforms.scale_by_amsgrad(bias_correction_nu=False),
            transforms.scale_by_learning_rate(0.01),
        ),
        lambda: ref_adam(0.01, amsgrad=True, bias_correction=(True, False)),
    ),
    "adamax": (lambda: transforms.adamax(0.01), lambda: ref_adamax(0.01)),
    "adamaxw": (
        lambda: transforms.adamaxw(0.01, weight_decay=0.1),
        lambda: ref_adamax(0.01, wd=0.1),
    ),
    "adagrad": (lambda: transforms.adagrad(0.05), lambda: ref_adagrad(0.05)),
    "adadelta": (
        lambda: transforms.adadelta(1.0, rho=0.9, weight_decay=0.01),
        lambda: ref_adadelta(1.0, 0.9, wd=0.01),
    ),
    "adafactor": (
        lambda: transforms.adafactor(0.01, min_dim_size_to_factor=2),
        lambda: ref_adafactor(0.01, min_dim_size_to_factor=2),
    ),
    "adafactor_momentum_decay": (
        # float64 momentum: the default float32 buffer rounds (checked in test_transforms_base)
        lambda: transforms.adafactor(
            0.01, momentum=0.9, weight_decay_rate=0.01, dtype_momentum=fnp.float64
        ),
        lambda: ref_adafactor(0.01, momentum=0.9, weight_decay_rate=0.01),
    ),
    "adabelief": (lambda: transforms.adabelief(0.01), lambda: ref_adabelief(0.01)),
    "adan": (
        lambda: transforms.adan(0.01, weight_decay=0.01),
        lambda: ref_adan(0.01, wd=0.01),
    ),
    "rmsprop": (lambda: transforms.rmsprop(0.003), lambda: ref_rmsprop(0.003)),
    "rmsprop_centered_momentum": (
        lambda: transforms.rmsprop(
            0.003,
            centered=True,
            momentum=0.9,
            eps_in_sqrt=False,
            bias_correction=True,
            initial_scale=0.1,
        ),
        lambda: ref_rmsprop(
            0.003,
            centered=True,
            momentum=0.9,
            eps_in_sqrt=False,
            bias_correction=True,
            initial_scale=0.1,
        ),
    ),
    "rmsprop_nesterov": (
        # eps 1e-4: near the optimum g / sqrt(nu + eps) with tiny g and nu amplifies the
        # last-bit differences between the two gradients (reverse mode vs analytic).
        lambda: transforms.rmsprop(0.003, eps=1e-4, momentum=0.5, nesterov=True),
        lambda: ref_rmsprop(0.003, eps=1e-4, momentum=0.5, nesterov=True),
    ),
    "rprop": (lambda: transforms.rprop(0.001), lambda: ref_rprop(0.001)),
    "lamb": (lambda: transforms.lamb(0.01, weight_decay=0.01), lambda: ref_lamb(0.01, wd=0.01)),
    "lars": (lambda: transforms.lars(0.5, weight_decay=0.01), lambda: ref_lars(0.5, wd=0.01)),
    "lion": (lambda: transforms.lion(0.001), lambda: ref_lion(0.001)),
    "novograd": (
        lambda: transforms.novograd(0.01, weight_decay=0.01),
        lambda: ref_novograd(0.01, wd=0.01),
    ),
    "fromage": (lambda: transforms.fromage(0.01), lambda: ref_fromage(0.01)),
    "yogi": (lambda: transforms.yogi(0.01), lambda: ref_yogi(0.01)),
    "sm3": (lambda: transforms.sm3(0.05), lambda: ref_sm3(0.05)),
    "lbfgs_fixed_learning_rate": (
        lambda: transforms.lbfgs(learning_rate=0.3, memory_size=4, linesearch=None),
        lambda: ref_lbfgs(0.3, memory_size=4),
    ),
    "polyak_sgd": (
        lambda: transforms.polyak_sgd(max_learning_rate=0.002, f_min=-1.0),
        lambda: ref_polyak(max_learning_rate=0.002, f_min=-1.0),
    ),
}


def _to_fg(tree):
    return tree_util.tree_map(lambda x: fnp.asarray(x), tree)


def _trajectory(tx, loss, x0):
    """The params after each of STEPS steps, in one jitted scan (gradients by reverse mode)."""

    def run(params):
        def body(carry, _):
            params, state = carry
            value, grads = funcgrad.value_and_grad(loss)(params)
            updates, state = tx.update(grads, state, params, value=value)
            params = transforms.apply_updates(params, updates)
            return (params, state), params

        _, traj = lax.scan(body, (params, tx.init(params)), None, length=STEPS)
        return traj

    return funcgrad.jit(run)(_to_fg(x0))


def _reference_trajectory(make_ref, x0, value_fn, grad_fn):
    ref_init, ref_update = make_ref()
    leaves, treedef = tree_util.tree_flatten(x0)
    leaves = [np.array(x, dtype=np.float64) for x in leaves]
    state = ref_init(leaves)
    traj = []
    for k in range(1, STEPS + 1):
        tree = tree_util.tree_unflatten(treedef, leaves)
        g = tree_util.tree_leaves(grad_fn(tree))
        updates, state = ref_update(g, state, leaves, k, value_fn(tree))
        leaves = [p + u for p, u in zip(leaves, updates)]
        traj.append(leaves)
    return [np.stack([step[i] for step in traj]) for i in range(len(leaves))]


def _assert_trajectories_close(got, want, label, rtol=1e-7, atol=1e-7):
    for i, (g, w) in enumerate(zip(got, want)):
        bad = ~np.isclose(g, w, rtol=rtol, atol=atol)
        if bad.any():
            k = int(np.argwhere(bad.reshape(STEPS, -1).any(axis=1))[0, 0])
            np.testing.assert_allclose(
                g[k], w[k], rtol=rtol, atol=atol, err_msg=f"{label}: leaf {i}, step {k + 1}"
            )


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("name", sorted(CASES))
def test_trajectory_matches_reference(name, problem):
    make_tx, make_ref = CASES[name]
    x0, value_fn, grad_fn, loss = PROBLEMS[problem]
    got = [np.asarray(x) for x in tree_util.tree_leaves(_trajectory(make_tx(), loss, x0))]
    want = _reference_trajectory(make_ref, x0, value_fn, grad_fn)
    assert [g.shape for g in got] == [w.shape for w in want]
    assert all(np.isfinite(w).all() for w in want), f"{name} diverged on {problem}"
    _assert_trajectories_close(got, want, f"{name} on {problem}")
    # The run moved the params (a trajectory that never moves would prove nothing).
    start = [np.asarray(x) for x in tree_util.tree_leaves(x0)]
    assert any(not np.allclose(w[-1], x) for w, x in zip(want, start)), f"{name} did not move"


@pytest.mark.parametrize("name", sorted(CASES))
def test_eager_equals_jit(name):
    """Three eager steps (no jit anywhere) give the jitted scan's params."""
    make_tx, _ = CASES[name]
    x0, _, _, loss = PROBLEMS["mlp"]
    tx = make_tx()
    jitted = [np.asarray(x) for x in tree_util.tree_leaves(_trajectory(tx, loss, x0))]
    params = _to_fg(x0)
    state = tx.init(params)
    for k in range(3):
        value, grads = funcgrad.value_and_grad(loss)(params)
        updates, state = tx.update(grads, state, params, value=value)
        params = transforms.apply_updates(params, updates)
        for leaf, traj in zip(tree_util.tree_leaves(params), jitted):
            np.testing.assert_allclose(np.asarray(leaf), traj[k], rtol=1e-12, atol=1e-14)
            assert np.asarray(leaf).dtype == traj.dtype


def test_problem_gradients_match_finite_differences():
    """The oracle's analytic gradients are themselves checked by central differences."""
    for name, (x0, value_fn, grad_fn, _) in PROBLEMS.items():
        leaves, treedef = tree_util.tree_flatten(x0)
        g = tree_util.tree_leaves(grad_fn(x0))
        for i, leaf in enumerate(leaves):
            flat = np.array(leaf, dtype=np.float64).reshape(-1)
            for j in range(flat.size):
                h = 1e-6
                plus = [np.array(x, dtype=np.float64) for x in leaves]
                minus = [np.array(x, dtype=np.float64) for x in leaves]
                plus[i].reshape(-1)[j] += h
                minus[i].reshape(-1)[j] -= h
                fd = (
                    value_fn(tree_util.tree_unflatten(treedef, plus))
                    - value_fn(tree_util.tree_unflatten(treedef, minus))
                ) / (2 * h)
                assert abs(fd - g[i].reshape(-1)[j]) < 1e-5 * max(1.0, abs(fd)), (name, i, j)


# --------------------------------------------------------------------------- L-BFGS + zoom


def _rosenbrock100(p):
    x, y = p
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _lbfgs_run(loss, x0, steps, jit=True):
    opt = transforms.lbfgs()
    value_and_grad = transforms.value_and_grad_from_state(loss)

    def step(params, state):
        value, grad = value_and_grad(params, state=state)
        updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=loss)
        return transforms.apply_updates(params, updates), state, updates, value, grad

    step = funcgrad.jit(step) if jit else step
    params = _to_fg(x0)
    state = opt.init(params)
    history = []
    for _ in range(steps):
        new, state, updates, value, grad = step(params, state)
        history.append((params, updates, value, grad, state))
        params = new
    return params, history


def test_lbfgs_zoom_steps_satisfy_strong_wolfe_and_reach_scipy_minimum():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    x0 = (np.asarray(-1.2), np.asarray(1.0))
    params, history = _lbfgs_run(_rosenbrock100, x0, 40)
    c1, c2 = 1e-4, 0.9
    for p, u, value, grad, state in history:
        ls = state[2]
        if (
            float(ls.info.decrease_error) > 0
            or float(ls.info.curvature_error) > 0
            or float(np.abs(np.asarray(grad[0])) + np.abs(np.asarray(grad[1]))) < 1e-8
        ):
            continue
        eta = float(ls.learning_rate)
        d = [np.asarray(x) / eta for x in u]
        g0 = [np.asarray(x) for x in grad]
        new = [np.asarray(a) + np.asarray(b) for a, b in zip(p, u)]
        x, y = new
        g1 = [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)]  # analytic, NumPy
        slope0 = sum(float(a * b) for a, b in zip(g0, d))
        slope1 = sum(float(a * b) for a, b in zip(g1, d))
        assert slope0 < 0, "the L-BFGS direction is a descent direction"
        f1 = float((1 - x) ** 2 + 100 * (y - x * x) ** 2)
        assert f1 <= float(value) + c1 * eta * slope0 + 1e-12
        assert abs(slope1) <= c2 * abs(slope0) + 1e-12
    want = scipy_optimize.minimize(
        lambda z: (1 - z[0]) ** 2 + 100 * (z[1] - z[0] ** 2) ** 2, [-1.2, 1.0], method="L-BFGS-B"
    ).x
    np.testing.assert_allclose([float(x) for x in params], want, atol=1e-4)
    np.testing.assert_allclose([float(x) for x in params], [1.0, 1.0], atol=1e-8)


def test_lbfgs_on_mlp_matches_scipy_and_eager_equals_jit():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    x0, value_fn, grad_fn, loss = PROBLEMS["mlp"]
    params, _ = _lbfgs_run(loss, x0, 100)
    leaves = tree_util.tree_leaves(x0)
    sizes = [x.size for x in leaves]

    names = [("l1", "b"), ("l1", "w"), ("l2", "b"), ("l2", "w")]  # tree_leaves order
    assert [x.shape for x in leaves] == [x0[i][j].shape for i, j in names]

    def unflat(z):
        parts = np.split(z, np.cumsum(sizes)[:-1])
        out = {"l1": {}, "l2": {}}
        for (i, j), part in zip(names, parts):
            out[i][j] = part.reshape(x0[i][j].shape)
        return out

    def flat_grad(z):
        g = grad_fn(unflat(z))
        return np.concatenate([g[i][j].ravel() for i, j in names])

    res = scipy_optimize.minimize(
        lambda z: value_fn(unflat(z)),
        np.concatenate([x.ravel() for x in leaves]),
        jac=flat_grad,
        method="L-BFGS-B",
    )
    final = tree_util.tree_map(np.asarray, params)
    assert value_fn(final) <= res.fun + 1e-6  # at least as low as SciPy's L-BFGS-B
    assert math.sqrt(sum(float(np.sum(g**2)) for g in tree_util.tree_leaves(grad_fn(final)))) < 1e-2
    eager, _ = _lbfgs_run(loss, x0, 3, jit=False)
    jitted, _ = _lbfgs_run(loss, x0, 3, jit=True)
    for a, b in zip(tree_util.tree_leaves(eager), tree_util.tree_leaves(jitted)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)
