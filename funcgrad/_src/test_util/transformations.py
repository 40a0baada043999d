"""``check_transformations``: one derivative, computed through every transformation stack
(eager, jit, vmap, jvp, vjp), must be finite and agree in value, shape and dtype."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad._src.autodiff import grad, jvp, vjp
from funcgrad._src.jit import jit
from funcgrad._src.test_util import numerics as nm
from funcgrad._src.test_util.gradients import GradientCheckError
from funcgrad._src.tree_util import tree_flatten, tree_unflatten
from funcgrad._src.vmap import vmap

_SALT = 0x7A45


def _numpy_module():
    import funcgrad.numpy as fnp  # the public namespace; imported late to avoid a cycle

    return fnp


class _Scalarized:
    """``f`` as a real scalar of its flat differentiable leaves: ``s(x) = Re <c, f(x)>``.

    ``c`` is 1 for a real 0-d output (so the derivative is the plain gradient) and a random
    normal cotangent otherwise; integer leaves are held at their values.
    """

    def __init__(self, flat: nm.FlatArgs, rng: np.random.Generator) -> None:
        self.flat = flat
        self.diff_index = [i for i, d in enumerate(flat.diff) if d]
        out = flat.flat_fun(*flat.leaves)
        self.out_leaves, self.out_tree = tree_flatten(out)
        self.out_labels = nm.flat_outputs(out)[1]
        floats = [nm.is_float(nm.host_dtype(o)) for o in self.out_leaves]
        if not any(floats):
            raise ValueError(
                f"check_transformations({flat.name}): the function has no float output, so it "
                f"has no derivative to check"
            )
        single_real_scalar = (
            len(self.out_leaves) == 1
            and np.shape(self.out_leaves[0]) == ()
            and nm.host_dtype(self.out_leaves[0]).kind == "f"
        )
        self.cts = [
            (np.ones(()) if single_real_scalar else c) if f else None
            for c, f in zip(nm.random_directions(rng, self.out_leaves), floats)
        ]
        self.real_outputs = all(nm.host_dtype(o).kind != "c" for o in self.out_leaves)

    def all_leaves(self, diff_leaves: Sequence[Any], base: Sequence[Any]) -> list:
        leaves = list(base)
        for i, x in zip(self.diff_index, diff_leaves):
            leaves[i] = x
        return leaves

    def project(self, out: Any) -> Any:
        """``Re <c, out>`` as a funcgrad scalar."""
        fnp = _numpy_module()
        total = None
        for o, c in zip(tree_flatten(out)[0], self.cts):
            if c is None:
                continue
            term = fnp.real(fnp.sum(o * nm.put_like(np.conj(c), o)))
            total = term if total is None else total + term
        return total

    def scalar(self, fun: Callable, base: Sequence[Any] | None = None) -> Callable:
        """``s`` over the differentiable leaves, through ``fun`` (``f`` or ``jit(f)``)."""
        held = self.flat.leaves if base is None else base

        def s(*diff_leaves):
            return self.project(fun(*self.all_leaves(diff_leaves, held)))

        return s


def _compare(name: str, what: str, labels: list[str], got: list, want: list, rtol: float,
             atol: float, reference: str) -> None:  # fmt: skip
    """``got`` against ``want`` leaf by leaf: shape, dtype, then values (NaN equal NaN)."""
    for where, g, w in zip(labels, got, want):
        g_host, w_host = nm.host(g), nm.host(w)
        if g_host.shape != w_host.shape or g_host.dtype != w_host.dtype:
            raise GradientCheckError(
                f"check_transformations({name}): {what} gives {nm.describe(g_host)} for {where}, "
                f"but {reference} gives {nm.describe(w_host)}; the derivative's shape and dtype "
                f"must not depend on the transformation"
            )
        if not nm.is_float(w_host.dtype) or w_host.size == 0:
            continue
        a, e = nm.wide(g_host), nm.wide(w_host)
        scale = float(np.max(np.abs(e[np.isfinite(e)]), initial=1.0))
        with np.errstate(invalid="ignore"):
            diff = np.where(a == e, 0.0, np.abs(a - e))
            tol = atol * scale + rtol * np.abs(e)
            bad = ~(diff <= tol) & ~(np.isnan(a) & np.isnan(e))
        if np.any(bad):
            idx = np.unravel_index(
                int(np.argmax(np.where(bad, np.nan_to_num(diff, nan=np.inf), -1))), bad.shape
            )
            element = f" element [{', '.join(str(int(i)) for i in idx)}]" if idx else ""
            raise GradientCheckError(
                f"check_transformations({name}): {what} disagrees with {reference} for "
                f"{where}{element}:\n"
                f"  {what}: {a[idx]:.10g}\n  {reference}: {e[idx]:.10g}\n"
                f"  difference: {float(diff[idx]):.3g} > tolerance {float(tol[idx]):.3g} "
                f"(rtol={rtol:g}, atol={atol:g} x {scale:.3g})\n"
                f"  what to try: a derivative rule or a primitive whose {what} result differs "
                f"from eager evaluation (a rule that branches on tracers or on Python values, a "
                f"batching rule, or a jit rewrite); rerun with funcgrad.disable_jit() to see "
                f"which"
            )


def check_transformations(f: Callable, args: Sequence[Any], *, modes: Sequence[str] = ("fwd", "rev"),
                          atol: float | dict | None = None, rtol: float | dict | None = None,
                          seed: int = 0, batch_size: int = 2) -> None:  # fmt: skip
    """Assert that ``f``'s derivative at ``args`` is finite and the same through every
    transformation stack.

    The derivative is the gradient of ``s(x) = Re <c, f(x)>`` with respect to every float
    leaf of ``args`` (``c = 1`` for a real scalar ``f``, else a fixed random cotangent). It is
    computed as eager ``grad``, ``jit(grad)``, ``grad`` of ``jit(f)``, ``vmap(grad)`` over a
    batch of ``batch_size`` nearby points (against eager ``grad`` at each point), ``vjp`` of
    ``f`` with cotangent ``c`` and (``"fwd"`` in ``modes``) ``jvp`` of ``f`` projected on
    ``c``; and ``f`` itself eagerly, under ``jit`` and under ``vmap``. Every result must have
    the eager result's shape and dtype (a float32 argument's gradient is float32), agree
    with it to rounding (defaults: ``1e-8`` in float64, ``3e-4`` in float32, relative to the
    largest entry), and the eager derivative must be finite.

    This complements :func:`check_grads` (which compares with finite differences): it finds
    rules that differ between eager and jit, batching rules, and dtype leaks. All leaves of
    ``args`` are traced under jit; close over static values instead of passing them.

    Args:
        f: a function of pytrees of arrays returning a pytree of arrays.
        args: a tuple of arguments (integer leaves are held fixed, not differentiated).
        modes: include ``"fwd"`` to also check ``jvp`` (leave it out for ``custom_vjp``).
        atol, rtol: tolerances (numbers or dicts from dtype to number).
        seed: seeds the cotangent, the batch and the direction.
        batch_size: the number of points ``vmap`` runs over.

    Raises:
        GradientCheckError: naming the transformation, the argument's key path, the element,
            both values and the tolerance.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.test_util import check_transformations
        >>> def loss(params, x):
        ...     return fnp.mean(fnp.tanh(x @ params["w"] + params["b"]) ** 2)
        >>> params = {"w": fnp.ones((3, 2)) / 4, "b": fnp.zeros(2)}
        >>> check_transformations(loss, (params, fnp.arange(6.0).reshape(2, 3) / 6))
    """
    modes = tuple(modes)
    if any(m not in ("fwd", "rev") for m in modes) or "rev" not in modes:
        raise ValueError(
            f"check_transformations: modes {modes!r} must include 'rev' (grad is reverse mode) "
            f"and may include 'fwd'"
        )
    rng = np.random.default_rng([seed, _SALT])
    flat = nm.FlatArgs(f, args)
    name = flat.name
    sc = _Scalarized(flat, rng)
    if not sc.diff_index:
        raise ValueError(f"check_transformations({name}): no float argument to differentiate")
    labels = [flat.paths[i] for i in sc.diff_index]
    diff_leaves = [flat.leaves[i] for i in sc.diff_index]
    in_dtypes = [nm.host_dtype(x) for x in diff_leaves]
    out_dtypes = [nm.host_dtype(o) for o in sc.out_leaves if nm.is_float(nm.host_dtype(o))]
    tol_dtypes = in_dtypes + out_dtypes
    atol_v = nm.per_dtype(atol, tol_dtypes, nm.DEFAULT_ROUNDING_TOLERANCE)
    rtol_v = nm.per_dtype(rtol, tol_dtypes, nm.DEFAULT_ROUNDING_TOLERANCE)
    argnums = tuple(range(len(diff_leaves)))
    s = sc.scalar(flat.flat_fun)

    eager = list(grad(s, argnums=argnums)(*diff_leaves))
    # The argument's own dtype and shape: eager grad is then the reference for the rest.
    for where, g, x in zip(labels, eager, diff_leaves):
        if nm.host_dtype(g) != nm.host_dtype(x) or np.shape(g) != np.shape(x):
            raise GradientCheckError(
                f"check_transformations({name}): grad gives {nm.describe(g)} for {where}, which "
                f"is {nm.describe(x)}; a gradient must have its argument's shape and dtype"
            )
        g_host = nm.host(g)
        if not np.all(np.isfinite(g_host)):
            idx = np.argwhere(~np.isfinite(g_host))[0]
            raise GradientCheckError(
                f"check_transformations({name}): the gradient for {where} is not finite at "
                f"element {list(map(int, idx))} ({g_host[tuple(idx)]}) at this point; look for "
                f"a 0 * inf in the rules (sqrt or log at 0, a where() whose unselected branch "
                f"is infinite: use the double-where trick) or move the point"
            )

    def check(what: str, got: Any) -> None:
        _compare(name, what, labels, list(got), eager, rtol_v, atol_v, "grad")

    check("jit(grad)", jit(grad(s, argnums=argnums))(*diff_leaves))
    jf = jit(flat.flat_fun)
    check("grad(jit(f))", grad(sc.scalar(jf), argnums=argnums)(*diff_leaves))
    _, f_vjp = vjp(flat.flat_fun, *flat.leaves)
    if sc.real_outputs:
        cts = [
            nm.put_like(np.zeros(np.shape(o)) if c is None else c, o)
            for c, o in zip(sc.cts, sc.out_leaves)
        ]
        pulled = tree_flatten(tuple(f_vjp(tree_unflatten(sc.out_tree, cts))))[0]
        check("vjp", [pulled[i] for i in sc.diff_index])

    # f itself: eager against jit, values, shapes and dtypes.
    out_labels = sc.out_labels
    _compare(name, "jit(f)", out_labels, tree_flatten(jf(*flat.leaves))[0], sc.out_leaves,
             rtol_v, atol_v, "f")  # fmt: skip

    if "fwd" in modes:
        direction = nm.random_directions(rng, flat.leaves)
        tangents = nm.tangents_of(direction, flat.leaves)
        try:
            _, t_out = jvp(flat.flat_fun, list(flat.leaves), tangents)
        except TypeError as e:
            if "custom_vjp" in str(e):
                raise TypeError(
                    f"check_transformations({name}): forward mode (jvp) is not available: {e}; "
                    f"check a custom_vjp function with modes=('rev',)"
                ) from e
            raise
        for where, t, o in zip(sc.out_labels, tree_flatten(t_out)[0], sc.out_leaves):
            if nm.is_float(nm.host_dtype(o)) and (
                nm.host_dtype(t) != nm.host_dtype(o) or np.shape(t) != np.shape(o)
            ):
                raise GradientCheckError(
                    f"check_transformations({name}): jvp gives a {nm.describe(t)} tangent for "
                    f"{where}, which is {nm.describe(o)}; a tangent must have its value's shape "
                    f"and dtype (a JVP rule leaks a dtype: cast in the rule)"
                )
        s_dot = sum(
            nm.real_inner(c, nm.wide(nm.host(t)))
            for c, t in zip(sc.cts, tree_flatten(t_out)[0])
            if c is not None
        )
        # d/dt s(x + t v) = Re sum(g * v) for the gradient g (conjugate convention, as JAX).
        pairs = [
            (nm.wide(nm.host(g)), nm.wide(nm.host(tangents[i])))
            for g, i in zip(eager, sc.diff_index)
        ]
        predicted = sum(float(np.real(np.sum(g * v))) for g, v in pairs)
        bound = sum(float(np.sum(np.abs(g) * np.abs(v))) for g, v in pairs)
        if not abs(s_dot - predicted) <= rtol_v * bound + atol_v:
            raise GradientCheckError(
                f"check_transformations({name}): jvp disagrees with grad: the directional "
                f"derivative along a random v is {s_dot:.10g} by jvp but {predicted:.10g} by "
                f"<grad, v> (difference {abs(s_dot - predicted):.3g} > tolerance "
                f"{rtol_v * bound + atol_v:.3g}); forward and reverse rules disagree"
            )

    _check_vmap(name, sc, flat, labels, argnums, rng, batch_size, rtol_v, atol_v)


def _check_vmap(name, sc, flat, labels, argnums, rng, batch_size, rtol, atol) -> None:
    """``vmap(grad)`` and ``vmap(f)`` over nearby points against eager ``grad`` and ``f``
    at each point. The points are ``x * (1 + 0.05 u)``, ``u`` uniform in [-1, 1]: signs and
    zeros stay, so they stay in most functions' domains."""
    rows = [flat.leaves]
    for _ in range(batch_size - 1):
        row = []
        for x in flat.leaves:
            if nm.is_float(nm.host_dtype(x)):
                u = rng.uniform(-1.0, 1.0, np.shape(x))
                row.append(nm.put_like(nm.wide(nm.host(x)) * (1.0 + 0.05 * u), x))
            else:
                row.append(x)
        rows.append(row)
    fnp = _numpy_module()
    stacked = [fnp.stack([r[i] for r in rows]) for i in range(len(flat.leaves))]

    def grad_at(*leaves):
        base = list(leaves)
        diff = [base[i] for i in sc.diff_index]
        return tuple(grad(sc.scalar(flat.flat_fun, base), argnums=argnums)(*diff))

    batched = vmap(grad_at)(*stacked)
    batched_out = tree_flatten(vmap(flat.flat_fun)(*stacked))[0]
    for b, row in enumerate(rows):
        want = grad_at(*row)
        got = [g[b] for g in batched]
        _compare(name, f"vmap(grad) (batch row {b})", labels, got, list(want), rtol, atol, "grad")
        want_out = tree_flatten(flat.flat_fun(*row))[0]
        _compare(name, f"vmap(f) (batch row {b})", sc.out_labels, [o[b] for o in batched_out],
                 want_out, rtol, atol, "f")  # fmt: skip
