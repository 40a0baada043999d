"""torch.optim.LBFGS as a gradient transformation: all of one ``step(closure)`` per update.

PyTorch's ``LBFGS.step(closure)`` evaluates the loss, then runs up to ``max_iter``
L-BFGS iterations, re-evaluating the closure after each move (and inside the optional
strong-Wolfe line search). The functional equivalent here is one ``update`` call: the
caller passes the gradient and value at ``params`` (torch's first closure call) and the
loss function ``value_fn`` (the closure), and gets back the total move of the whole
``step``. The inner iterations are a ``lax.while_loop`` (the line search another), so
an update can be jitted. All parameters are one flat vector, as in PyTorch.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax, tree_util
from transforms import tree_utils
from transforms._checks import _concrete_float
from transforms.base import GradientTransformationExtraArgs
from transforms.linesearch import _fn_kwargs

__all__ = ["LBFGSState", "lbfgs"]


class LBFGSState(NamedTuple):
    """torch.optim.LBFGS's state (its ``state_dict`` names), plus the update count.

    Attributes:
        count: the number of ``update`` calls (torch ``step`` calls); a schedule ``lr``
            is evaluated at it.
        func_evals: the total number of loss evaluations, the caller's included.
        n_iter: the total number of L-BFGS iterations.
        d: the last search direction (flat).
        t: the last step size.
        old_dirs: ``(history_size, n)``; row ``i < num_old`` is the i-th oldest
            gradient difference :math:`y_i`.
        old_stps: the matching steps :math:`s_i = t_i d_i`.
        ro: :math:`\\rho_i = 1 / \\langle y_i, s_i\\rangle`.
        num_old: the number of stored pairs.
        H_diag: the scale of the initial inverse Hessian.
        prev_flat_grad: the gradient at the start of the last iteration.
        prev_loss: the loss at the start of the last iteration.
    """

    count: Any
    func_evals: Any
    n_iter: Any
    d: Any
    t: Any
    old_dirs: Any
    old_stps: Any
    ro: Any
    num_old: Any
    H_diag: Any  # torch's name
    prev_flat_grad: Any
    prev_loss: Any


# --- one flat vector for all parameters (torch's _gather_flat_grad / _add_grad) -------


def _check_leaves(params: Any) -> None:
    for path, leaf in tree_util.tree_leaves_with_path(params):
        kind = fnp.asarray(leaf).dtype.kind
        if kind != "f":
            raise ValueError(
                f"pytorch.lbfgs: the parameter at {tree_util.keystr(path) or 'the root'} has "
                f"dtype {fnp.asarray(leaf).dtype}; L-BFGS needs real floating parameters "
                "(optimize a complex parameter as two real leaves, its real and imaginary parts)"
            )


def _ravel(tree: Any, dtype: Any) -> Any:
    return fnp.concatenate(
        [fnp.ravel(fnp.asarray(x, dtype=dtype)) for x in tree_util.tree_leaves(tree)]
    )


def _unravel_like(flat: Any, like: Any) -> Any:
    leaves, treedef = tree_util.tree_flatten(like)
    out, offset = [], 0
    for leaf in leaves:
        size = int(fnp.size(leaf))
        piece = flat[offset : offset + size].reshape(fnp.shape(leaf))
        out.append(fnp.asarray(piece, dtype=fnp.asarray(leaf).dtype))
        offset += size
    return tree_util.tree_unflatten(treedef, out)


def _flat_dtype(params: Any) -> Any:
    return fnp.result_type(*[fnp.asarray(x).dtype for x in tree_util.tree_leaves(params)])


# --- torch's _cubic_interpolate and _strong_wolfe ---------------------------------------


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to
    ``bounds`` (default: the two points); the middle of the bounds if it has none."""
    if bounds is None:
        lo, hi = fnp.minimum(x1, x2), fnp.maximum(x1, x2)
    else:
        lo, hi = bounds
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    d2 = fnp.sqrt(fnp.where(d2_square >= 0, d2_square, 0.0))
    # Measured from the farther point b (torch's two formulas are this one, swapped).
    swap = x1 > x2
    xa, ga = fnp.where(swap, x2, x1), fnp.where(swap, g2, g1)
    xb, gb = fnp.where(swap, x1, x2), fnp.where(swap, g1, g2)
    min_pos = xb - (xb - xa) * ((gb + d2 - d1) / (gb - ga + 2 * d2))
    return fnp.where(d2_square >= 0, fnp.minimum(fnp.maximum(min_pos, lo), hi), (lo + hi) / 2.0)


class _Bracketing(NamedTuple):
    t: Any
    f_new: Any
    g_new: Any
    gtd_new: Any
    t_prev: Any
    f_prev: Any
    g_prev: Any
    gtd_prev: Any
    ls_iter: Any
    evals: Any
    stop: Any
    done: Any
    b_t: Any  # the bracket: 2 step sizes, values, gradients (2, n) and slopes
    b_f: Any
    b_g: Any
    b_gtd: Any


class _Zoom(NamedTuple):
    b_t: Any
    b_f: Any
    b_g: Any
    b_gtd: Any
    low: Any  # index (0 or 1) of the bracket end with the lower value
    done: Any
    insuf_progress: Any
    ls_iter: Any
    evals: Any


def _strong_wolfe(obj, t, d, f, g, gtd, *, tolerance_change, c1=1e-4, c2=0.9, max_ls=25):
    """torch's ``_strong_wolfe``: returns ``(f_new, g_new, t, evaluations)``."""
    d_norm = fnp.max(fnp.abs(d))
    f_new, g_new = obj(t)
    start = _Bracketing(
        t=t, f_new=f_new, g_new=g_new, gtd_new=fnp.dot(g_new, d),
        t_prev=fnp.zeros_like(t), f_prev=f, g_prev=g, gtd_prev=gtd,
        ls_iter=fnp.zeros((), fnp.int32), evals=fnp.ones((), fnp.int32),
        stop=fnp.asarray(False), done=fnp.asarray(False),
        b_t=fnp.zeros((2,), t.dtype), b_f=fnp.zeros((2,), f.dtype),
        b_g=fnp.zeros((2,) + g.shape, g.dtype), b_gtd=fnp.zeros((2,), t.dtype),
    )  # fmt: skip

    def bracket_body(s):
        no_decrease = (s.f_new > f + c1 * s.t * gtd) | ((s.ls_iter > 1) & (s.f_new >= s.f_prev))
        wolfe = ~no_decrease & (fnp.abs(s.gtd_new) <= -c2 * gtd)
        uphill = ~no_decrease & ~wolfe & (s.gtd_new >= 0)

        def set_bracket(s):
            # [t] when the Wolfe conditions hold (stored twice), else [t_prev, t].
            first = lambda prev, new: fnp.where(wolfe, new, prev)
            return s._replace(
                stop=fnp.asarray(True),
                done=wolfe,
                b_t=fnp.stack([first(s.t_prev, s.t), s.t]),
                b_f=fnp.stack([first(s.f_prev, s.f_new), s.f_new]),
                b_g=fnp.stack([first(s.g_prev, s.g_new), s.g_new]),
                b_gtd=fnp.stack([first(s.gtd_prev, s.gtd_new), s.gtd_new]),
            )

        def extrapolate(s):
            t_next = _cubic_interpolate(
                s.t_prev, s.f_prev, s.gtd_prev, s.t, s.f_new, s.gtd_new,
                bounds=(s.t + 0.01 * (s.t - s.t_prev), s.t * 10),
            ).astype(s.t.dtype)  # fmt: skip
            f_next, g_next = obj(t_next)
            return s._replace(
                t=t_next, f_new=f_next, g_new=g_next, gtd_new=fnp.dot(g_next, d),
                t_prev=s.t, f_prev=s.f_new, g_prev=s.g_new, gtd_prev=s.gtd_new,
                ls_iter=s.ls_iter + 1, evals=s.evals + 1,
            )  # fmt: skip

        return lax.cond(no_decrease | wolfe | uphill, set_bracket, extrapolate, s)

    s = lax.while_loop(lambda s: ~s.stop & (s.ls_iter < max_ls), bracket_body, start)
    # Out of iterations without a bracket: [0, t] (the slopes are not used then).
    out_of_iters = ~s.stop
    b_t = fnp.where(out_of_iters, fnp.stack([fnp.zeros_like(s.t), s.t]), s.b_t)
    b_f = fnp.where(out_of_iters, fnp.stack([f, s.f_new]), s.b_f)
    b_g = fnp.where(out_of_iters, fnp.stack([g, s.g_new]), s.b_g)
    b_gtd = fnp.where(out_of_iters, fnp.stack([gtd, s.gtd_new]), s.b_gtd)

    def zoom_cond(z):
        wide = fnp.abs(z.b_t[1] - z.b_t[0]) * d_norm >= tolerance_change
        return ~z.done & (z.ls_iter < max_ls) & wide

    def zoom_body(z):
        high = 1 - z.low
        t = _cubic_interpolate(z.b_t[0], z.b_f[0], z.b_gtd[0], z.b_t[1], z.b_f[1], z.b_gtd[1])
        t = t.astype(z.b_t.dtype)
        b_max, b_min = fnp.max(z.b_t), fnp.min(z.b_t)
        eps = 0.1 * (b_max - b_min)
        near_edge = fnp.minimum(b_max - t, t - b_min) < eps
        at_edge = z.insuf_progress | (t >= b_max) | (t <= b_min)
        # Too close to an end twice in a row (or outside): move 10% of the bracket inside.
        inside = fnp.where(fnp.abs(t - b_max) < fnp.abs(t - b_min), b_max - eps, b_min + eps)
        t = fnp.where(near_edge & at_edge, inside, t)
        f_new, g_new = obj(t)
        gtd_new = fnp.dot(g_new, d)
        new = (t, f_new, g_new, gtd_new)
        old = (z.b_t, z.b_f, z.b_g, z.b_gtd)
        shrink_high = (f_new > f + c1 * t * gtd) | (f_new >= z.b_f[z.low])
        # Either the new point replaces the high end (and the ends are re-ranked) ...
        a = [b.at[high].set(v) for b, v in zip(old, new)]
        low_a = fnp.where(a[1][0] <= a[1][1], 0, 1)
        # ... or it becomes the low end, the old low end replacing the high one when the
        # slope says the minimum lies on the other side.
        wolfe = fnp.abs(gtd_new) <= -c2 * gtd
        flip = ~wolfe & (gtd_new * (z.b_t[high] - z.b_t[z.low]) >= 0)
        b = [fnp.where(flip, x.at[high].set(x[z.low]), x) for x in old]
        b = [x.at[z.low].set(v) for x, v in zip(b, new)]
        pick = lambda u, v: fnp.where(shrink_high, u, v)
        return _Zoom(
            b_t=pick(a[0], b[0]), b_f=pick(a[1], b[1]), b_g=pick(a[2], b[2]),
            b_gtd=pick(a[3], b[3]), low=pick(low_a, z.low).astype(fnp.int32),
            done=~shrink_high & wolfe,
            insuf_progress=near_edge & ~at_edge,
            ls_iter=z.ls_iter + 1, evals=z.evals + 1,
        )  # fmt: skip

    z = _Zoom(
        b_t=b_t, b_f=b_f, b_g=b_g, b_gtd=b_gtd,
        low=fnp.where(b_f[0] <= b_f[1], 0, 1).astype(fnp.int32),
        done=s.done, insuf_progress=fnp.asarray(False), ls_iter=s.ls_iter, evals=s.evals,
    )  # fmt: skip
    z = lax.while_loop(zoom_cond, zoom_body, z)
    return z.b_f[z.low], z.b_g[z.low], z.b_t[z.low], z.evals


# --- the optimizer ----------------------------------------------------------------------


class _Iteration(NamedTuple):
    x: Any
    loss: Any
    flat_grad: Any
    opt_cond: Any
    n_iter: Any  # iterations in this update
    current_evals: Any
    stop: Any
    state: LBFGSState


def _positive_int(name: str, value: Any) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise ValueError(f"pytorch.lbfgs: {name} must be an int >= 1, got {value!r}")


def lbfgs(
    lr: Any = 1,
    max_iter: int = 20,
    max_eval: int | None = None,
    tolerance_grad: float = 1e-7,
    tolerance_change: float = 1e-9,
    history_size: int = 100,
    line_search_fn: str | None = None,
) -> GradientTransformationExtraArgs:
    r"""``torch.optim.LBFGS``: one ``update`` is one ``step(closure)``.

    With :math:`g` the flat gradient, each of up to ``max_iter`` iterations of an update:

    1. direction: :math:`d = -g` at the very first iteration; afterwards the pair
       :math:`y = g - g_{prev}`, :math:`s = t\,d_{prev}` joins the memory (dropping the
       oldest beyond ``history_size``) when :math:`\langle y, s\rangle > 10^{-10}`, with
       :math:`H_{diag} = \langle y, s\rangle / \langle y, y\rangle`, and
       :math:`d = -H g` by the two-loop recursion (initial matrix :math:`H_{diag} I`);
    2. step size: :math:`t = \min(1, 1/\|g\|_1)\,\text{lr}` at the very first iteration,
       else :math:`\text{lr}`; stop if :math:`\langle g, d\rangle > -\text{tolerance\_change}`;
    3. move: with ``line_search_fn="strong_wolfe"``, :math:`t` is replaced by torch's
       strong-Wolfe search (:math:`c_1 = 10^{-4}`, :math:`c_2 = 0.9`, at most 25
       iterations; bracketing by cubic extrapolation, zooming by safeguarded cubic
       interpolation) and :math:`x \leftarrow x + t d`; without it,
       :math:`x \leftarrow x + t d` and the loss and gradient are re-evaluated (except
       at the last iteration);
    4. stop after ``max_iter`` iterations, ``max_eval`` evaluations, when
       :math:`\max|g| \le` ``tolerance_grad``, :math:`\max|t d| \le`
       ``tolerance_change`` or the loss changed by less than ``tolerance_change``.

    An update starts by stopping at once (no move) when :math:`\max|g| \le`
    ``tolerance_grad``. The memory, direction and step size carry over between updates,
    exactly as torch's optimizer state does between ``step`` calls.

    Usage (``closure`` becomes ``value_fn``; its value and gradient at ``params`` are
    computed by the caller, like the first closure call of ``step``)::

        value, grads = funcgrad.value_and_grad(loss)(params)
        updates, state = opt.update(grads, state, params, value=value, value_fn=loss)
        params = transforms.apply_updates(params, updates)

    Other keyword arguments of ``update`` are passed to ``value_fn`` (e.g. the batch);
    those it does not take are an error. ``updates`` is the whole move of the update,
    ``x_final - params`` (so ``apply_updates`` may differ from torch's in-place sums by
    a rounding). ``value``/``value_fn`` may be left out only when ``max_iter == 1`` and
    there is no line search (no re-evaluation happens then). Losses are compared in
    float64 (torch's ``float(closure())``); vectors keep the params' dtype. Parameters
    must be real floating arrays.

    Args:
        lr: the step size (default 1), or a schedule of the number of updates made.
        max_iter: iterations per update (default 20).
        max_eval: evaluations per update (default ``max_iter * 5 // 4``, torch's).
        tolerance_grad: the first-order optimality tolerance (default 1e-7).
        tolerance_change: the tolerance on changes of the loss and params (default 1e-9).
        history_size: the number of pairs kept (default 100).
        line_search_fn: None or ``"strong_wolfe"``.

    Returns:
        A ``GradientTransformationExtraArgs`` whose state is `LBFGSState`.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> import transforms
        >>> from transforms import pytorch
        >>> loss = lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
        >>> opt = pytorch.lbfgs(line_search_fn="strong_wolfe")
        >>> params = fnp.asarray([-1.2, 1.0])
        >>> state = opt.init(params)
        >>> for _ in range(3):  # three torch step(closure) calls
        ...     value, grads = funcgrad.value_and_grad(loss)(params)
        ...     updates, state = opt.update(grads, state, params, value=value, value_fn=loss)
        ...     params = transforms.apply_updates(params, updates)
        >>> [round(v, 3) for v in params.tolist()], int(state.n_iter), int(state.func_evals)
        ([1.0, 1.0], 36, 45)
    """
    lr_value = _concrete_float(lr)
    if lr_value is not None and not lr_value >= 0:
        raise ValueError(f"pytorch.lbfgs: invalid lr {lr!r}; lr must be >= 0")
    _positive_int("max_iter", max_iter)
    if max_eval is None:
        max_eval = max_iter * 5 // 4
    _positive_int("max_eval", max_eval)
    _positive_int("history_size", history_size)
    for name, value in (("tolerance_grad", tolerance_grad), ("tolerance_change", tolerance_change)):
        if not value >= 0:
            raise ValueError(f"pytorch.lbfgs: invalid {name} {value!r}; {name} must be >= 0")
    if line_search_fn not in (None, "strong_wolfe"):
        raise ValueError(
            f"pytorch.lbfgs: line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}"
        )
    needs_fn = line_search_fn is not None or max_iter > 1
    lr_at = lr if callable(lr) else (lambda count: lr)

    def init_fn(params):
        _check_leaves(params)
        dtype = _flat_dtype(params)
        n = sum(int(fnp.size(x)) for x in tree_util.tree_leaves(params))
        zeros = fnp.zeros((n,), dtype)
        return LBFGSState(
            count=fnp.zeros((), fnp.int32),
            func_evals=fnp.zeros((), fnp.int32),
            n_iter=fnp.zeros((), fnp.int32),
            d=zeros,
            t=fnp.zeros((), dtype),
            old_dirs=fnp.zeros((history_size, n), dtype),
            old_stps=fnp.zeros((history_size, n), dtype),
            ro=fnp.zeros((history_size,), dtype),
            num_old=fnp.zeros((), fnp.int32),
            H_diag=fnp.ones((), dtype),
            prev_flat_grad=zeros,
            prev_loss=fnp.zeros((), fnp.float64),
        )

    def update_fn(updates, state, params=None, *, value=None, value_fn=None, **extra):
        fn_name = "pytorch.lbfgs.update"
        if params is None:
            raise ValueError(
                f"{fn_name}: L-BFGS needs the current parameters: update(grads, state, params, value=..., value_fn=...)"
            )
        if needs_fn and (value is None or value_fn is None):
            raise ValueError(
                f"{fn_name}: pass value= (the loss at params) and value_fn= (the loss "
                "function, torch's closure); only max_iter=1 without a line search works "
                "without them"
            )
        tree_utils.check_same_structure(fn_name, updates, params, "params", tree_name="grads")
        _check_leaves(params)
        fn_kwargs = _fn_kwargs(fn_name, value_fn, extra) if value_fn is not None else {}
        dtype = state.d.dtype
        if state.d.shape != (sum(int(fnp.size(x)) for x in tree_util.tree_leaves(params)),):
            raise ValueError(
                f"{fn_name}: the state holds {state.d.shape[0]} parameters but params have "
                "a different number; re-init the state for these params"
            )
        vec = lambda x: fnp.asarray(x, dtype=dtype)
        value_and_grad = None if value_fn is None else funcgrad.value_and_grad(value_fn)

        def evaluate(x):
            v, g = value_and_grad(_unravel_like(x, params), **fn_kwargs)
            return fnp.asarray(v, dtype=fnp.float64), _ravel(g, dtype)

        step_lr = vec(lr_at(state.count))
        x0 = _ravel(params, dtype)
        g0 = _ravel(updates, dtype)
        loss0 = fnp.asarray(0.0 if value is None else value, dtype=fnp.float64)
        opt_cond0 = fnp.max(fnp.abs(g0)) <= tolerance_grad

        def direction(it):
            """Step 1: the memory update and the two-loop recursion (or -g at first)."""
            s, g = it.state, it.flat_grad
            y = g - s.prev_flat_grad
            stp = s.d * s.t
            ys = fnp.dot(y, stp)
            full = s.num_old == history_size
            slot = fnp.where(full, history_size - 1, s.num_old)

            def push(buf, row):
                shifted = fnp.where(full, fnp.concatenate([buf[1:], buf[:1]]), buf)
                return shifted.at[slot].set(row)

            keep = ys > 1e-10
            old_dirs = fnp.where(keep, push(s.old_dirs, y), s.old_dirs)
            old_stps = fnp.where(keep, push(s.old_stps, stp), s.old_stps)
            ro = fnp.where(keep, push(s.ro, 1.0 / fnp.where(keep, ys, 1.0)), s.ro)
            num_old = fnp.where(keep, fnp.minimum(s.num_old + 1, history_size), s.num_old)
            h_diag = fnp.where(keep, ys / fnp.where(keep, fnp.dot(y, y), 1.0), s.H_diag)
            num_old = num_old.astype(fnp.int32)

            def newest_first(k, carry):
                q, al = carry
                i = num_old - 1 - k
                a = fnp.dot(old_stps[i], q) * ro[i]
                return q - a * old_dirs[i], al.at[i].set(a)

            q, al = lax.fori_loop(0, num_old, newest_first, (-g, fnp.zeros((history_size,), dtype)))

            def oldest_first(i, r):
                be_i = fnp.dot(old_dirs[i], r) * ro[i]
                return r + (al[i] - be_i) * old_stps[i]

            d = lax.fori_loop(0, num_old, oldest_first, q * h_diag)
            return d, old_dirs, old_stps, ro, num_old, h_diag.astype(dtype)

        def first_direction(it):
            s = it.state
            return -it.flat_grad, s.old_dirs, s.old_stps, s.ro, fnp.zeros((), fnp.int32), vec(1.0)

        def move(it, d, t, gtd):
            """Step 3: the line search or the fixed step, and the re-evaluation."""
            if line_search_fn == "strong_wolfe":
                loss, g, t, ls_evals = _strong_wolfe(
                    lambda tt: evaluate(it.x + tt * d), t, d, it.loss, it.flat_grad, gtd,
                    tolerance_change=tolerance_change,
                )  # fmt: skip
                x = it.x + t * d
                return x, loss, g, fnp.max(fnp.abs(g)) <= tolerance_grad, t, ls_evals
            x = it.x + t * d
            if value_and_grad is None:  # max_iter == 1: never re-evaluated
                return x, it.loss, it.flat_grad, it.opt_cond, t, fnp.zeros((), fnp.int32)

            def reevaluate(x):
                loss, g = evaluate(x)
                return loss, g, fnp.max(fnp.abs(g)) <= tolerance_grad, fnp.ones((), fnp.int32)

            def last(x):
                return it.loss, it.flat_grad, it.opt_cond, fnp.zeros((), fnp.int32)

            loss, g, opt_cond, evals = lax.cond(it.n_iter != max_iter, reevaluate, last, x)
            return x, loss, g, opt_cond, t, evals

        def body(it):
            it = it._replace(n_iter=it.n_iter + 1)
            s = it.state
            n_iter_total = tree_utils.safe_int32_increment(s.n_iter)
            first = n_iter_total == 1
            d, old_dirs, old_stps, ro, num_old, h_diag = lax.cond(
                first, first_direction, direction, it
            )
            abs_sum = fnp.sum(fnp.abs(it.flat_grad))
            t_first = fnp.minimum(1.0, 1.0 / fnp.where(abs_sum > 0, abs_sum, 1.0)) * step_lr
            t = vec(fnp.where(first, t_first, step_lr))
            gtd = fnp.dot(it.flat_grad, d)
            s = s._replace(
                n_iter=n_iter_total, d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro,
                num_old=num_old, H_diag=h_diag, prev_flat_grad=it.flat_grad,
                prev_loss=it.loss,
            )  # fmt: skip
            it = it._replace(state=s)

            def descend(it):
                x, loss, g, opt_cond, t_used, ls_evals = move(it, d, t, gtd)
                evals = it.current_evals + ls_evals
                stop = (
                    (it.n_iter == max_iter)
                    | (evals >= max_eval)
                    | opt_cond
                    | (fnp.max(fnp.abs(d * t_used)) <= tolerance_change)
                    | (fnp.abs(loss - it.state.prev_loss) < tolerance_change)
                )
                state = it.state._replace(t=vec(t_used), func_evals=it.state.func_evals + ls_evals)
                return _Iteration(x, loss, g, opt_cond, it.n_iter, evals, stop, state)

            def not_descending(it):  # <g, d> > -tolerance_change: torch's break
                return it._replace(stop=fnp.asarray(True))

            return lax.cond(gtd <= -tolerance_change, descend, not_descending, it)

        start = _Iteration(
            x=x0, loss=loss0, flat_grad=g0, opt_cond=opt_cond0,
            n_iter=fnp.zeros((), fnp.int32), current_evals=fnp.ones((), fnp.int32),
            stop=opt_cond0,
            state=state._replace(func_evals=state.func_evals + 1),
        )  # fmt: skip
        out = lax.while_loop(lambda it: ~it.stop & (it.n_iter < max_iter), body, start)
        new_params = _unravel_like(out.x, params)
        moved = tree_util.tree_map(lambda a, b: a - b, new_params, params)
        return moved, out.state._replace(count=tree_utils.safe_int32_increment(state.count))

    return GradientTransformationExtraArgs(init_fn, update_fn)
