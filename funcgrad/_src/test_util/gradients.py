"""Sound numerical gradient checks: JVPs and VJPs against central finite differences.

Both modes are checked against numbers that autodiff did not compute:

- ``check_jvp`` compares ``J v`` (forward mode) with ``(f(x + h v) - f(x - h v)) / 2h``
  along a random direction ``v``, element by element.
- ``check_vjp`` compares ``<vjp(c), v>`` (reverse mode) with ``<c, (f(x + h v) - f(x - h v))
  / 2h>`` for a random cotangent ``c``: the projection of the same finite difference. A VJP
  is never checked against funcgrad's own JVP, so a JVP and a VJP that are wrong in the same
  way are both caught, and functions without a JVP (``custom_vjp``) are checked in reverse
  mode alone.
- ``check_grads`` recurses: the order-``k`` check differentiates the JVP (along a fixed
  direction) and the VJP (of a fixed cotangent) as functions of ``x``.

On a mismatch the check first retries with a four times smaller step (a large third
derivative spoils a central difference, a smaller step cures it; a wrong rule disagrees at
every step), then looks for the culprit argument by perturbing one argument at a time, and
raises :class:`GradientCheckError` naming the argument's key path, the output, the direction,
both numbers, their difference, the tolerance and what to try.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from funcgrad._src.autodiff import jvp, vjp
from funcgrad._src.test_util import numerics as nm
from funcgrad._src.tree_util import tree_flatten, tree_unflatten

# Salts keep the directions apart from test data drawn with default_rng(seed): a direction
# equal to the point itself hides errors in scale-invariant parts of a function.
_SALT = 0x5EED
# The retry after a mismatch uses a step this many times smaller.
_RETRY_FACTOR = 4.0
# At most this many (argument, output) pairs are listed in a failure message.
_MAX_LISTED = 3


class GradientCheckError(AssertionError):
    """A derivative disagrees with finite differences (or across transformations)."""


@dataclass
class _Settings:
    atol: float | dict | None
    rtol: float | dict | None
    eps: float | None
    seed: int
    note: str = ""

    def tolerances(self, dtypes: Sequence[np.dtype]) -> tuple[float, float]:
        return (
            nm.per_dtype(self.atol, dtypes, nm.DEFAULT_TOLERANCE),
            nm.per_dtype(self.rtol, dtypes, nm.DEFAULT_TOLERANCE),
        )

    def step(self, dtypes: Sequence[np.dtype]) -> float:
        return nm.per_dtype(self.eps, dtypes, nm.DEFAULT_STEP)


@dataclass
class _Target:
    """One function to check: flat leaves in, a pytree out, with the labels for messages."""

    fun: Callable
    leaves: list
    paths: list[str]
    what: str  # "f", "the JVP of f along d1", ...
    out_labels: Callable[[list[str]], list[str]] | None = None

    def outputs(self, out: Any) -> tuple[list, list[str]]:
        leaves, labels = nm.flat_outputs(out)
        return leaves, (self.out_labels(labels) if self.out_labels else labels)

    @property
    def diff(self) -> list[bool]:
        return [nm.is_float(nm.host_dtype(x)) for x in self.leaves]


@dataclass
class _Mismatch:
    """One disagreement, ready to be told: where, the two numbers, and the tolerance."""

    argument: str
    output: str
    autodiff: float | complex
    numerical: float | complex
    tolerance: float
    element: tuple | None = None
    retry: float | complex | None = None  # the numerical value at the smaller step

    @property
    def difference(self) -> float:
        return float(abs(self.autodiff - self.numerical))


def _float_dtypes(target: _Target, out_leaves: Sequence[Any]) -> list[np.dtype]:
    dts = [nm.host_dtype(x) for x in target.leaves] + [nm.host_dtype(o) for o in out_leaves]
    return [d for d in dts if nm.is_float(d)]


def _wrong_type(values: list, likes: list) -> int | None:
    """The index of the first float value whose tangent differs from it in dtype or shape."""
    for i, (value, like) in enumerate(zip(values, likes)):
        if nm.is_float(nm.host_dtype(like)) and (
            nm.host_dtype(value) != nm.host_dtype(like) or np.shape(value) != np.shape(like)
        ):
            return i
    return None


def _check_tangent_types(target: _Target, kind: str, values: list, likes: list, labels: list[str],
                         culprits: Callable[[int], list[str]] | None = None) -> None:  # fmt: skip
    """Autodiff's tangents/cotangents must have exactly the dtype and shape of the values
    they belong to (a float32 input's gradient is float32, not float64). ``culprits(i)``
    names the arguments whose tangents alone give output ``i`` the wrong type."""
    i = _wrong_type(values, likes)
    if i is None:
        return
    where, value, like = labels[i], values[i], likes[i]
    source = ""
    if culprits is not None:
        names = culprits(i)
        source = f" (from the tangent of {', '.join(names)})" if names else ""
    raise GradientCheckError(
        f"check_grads: {kind} of {target.what}: the {'cotangent' if kind == 'VJP' else 'tangent'} "
        f"for {where}{source} is {nm.describe(value)}, but {where} is {nm.describe(like)}; a "
        f"derivative must have its value's dtype and shape (cast it in the rule, e.g. with "
        f".astype({nm.host_dtype(like)}))"
    )


# --- forward mode -----------------------------------------------------------------------


def _jvp_leaves(target: _Target, directions: list) -> tuple[list, list]:
    tangents = nm.tangents_of(directions, target.leaves)
    out, t_out = jvp(target.fun, list(target.leaves), tangents)
    return tree_flatten(out)[0], tree_flatten(t_out)[0]


def _elementwise(ad: Any, fd: np.ndarray, atol: float, rtol: float):
    """The worst element of ``|ad - fd| > atol + rtol |fd|`` as ``(index, ad, fd, tol)``,
    or ``None`` if every element agrees (NaN agrees with NaN)."""
    a = nm.wide(nm.host(ad))
    with np.errstate(invalid="ignore"):
        diff = np.where(a == fd, 0.0, np.abs(a - fd))
        both_nan = np.isnan(a) & np.isnan(fd)
        tol = atol + rtol * np.abs(fd)
        excess = np.where(both_nan, -np.inf, np.where(np.isnan(diff), np.inf, diff - tol))
    if excess.size == 0 or not np.any(excess > 0):
        return None
    idx = np.unravel_index(int(np.argmax(excess)), excess.shape)
    return idx, a[idx].item(), fd[idx].item(), float(tol[idx])


def _jvp_disagreement(
    target: _Target, directions: list, h: float, atol: float, rtol: float, labels: list[str]
):
    """The JVP along ``directions`` against the central difference with step ``h``: the
    worst disagreement as ``(output index, element, autodiff, numerical, tolerance)`` (the
    first output that has one), or ``None``."""
    fd, effective = nm.finite_difference(target.fun, target.leaves, directions, h)
    primal, tangent = _jvp_leaves(target, effective)

    def culprits(k: int) -> list[str]:
        """The arguments whose tangent alone (the others held constant, not given zero
        tangents, which would still run their rules) gives output ``k`` the wrong type."""
        names = []
        for i, d in enumerate(effective):
            if d is None:
                continue

            def one(x, i=i):
                return target.fun(*target.leaves[:i], x, *target.leaves[i + 1 :])

            out, t_out = jvp(one, [target.leaves[i]], [nm.put_like(d, target.leaves[i])])
            p, t = tree_flatten(out)[0], tree_flatten(t_out)[0]
            if _wrong_type([t[k]], [p[k]]) is not None:
                names.append(target.paths[i])
        return names

    _check_tangent_types(target, "JVP", tangent, primal, labels, culprits)
    for k, (t, d) in enumerate(zip(tangent, fd)):
        if d is not None:
            found = _elementwise(t, d, atol, rtol)
            if found:
                return (k, *found)
    return None


def _check_jvp(target: _Target, settings: _Settings, rng: np.random.Generator) -> None:
    directions = nm.random_directions(rng, target.leaves)
    out0, labels = target.outputs(target.fun(*target.leaves))
    dtypes = _float_dtypes(target, out0)
    atol, rtol = settings.tolerances(dtypes)
    step = settings.step(dtypes)
    if _jvp_disagreement(target, directions, step, atol, rtol, labels) is None:
        return
    retry = _jvp_disagreement(target, directions, step / _RETRY_FACTOR, atol, rtol, labels)
    if retry is None:
        return  # truncation error at the first step; the smaller step agrees
    mismatches = []
    for i, d in enumerate(directions):  # one argument at a time: which ones are wrong?
        if d is None:
            continue
        only = [dd if j == i else None for j, dd in enumerate(directions)]
        first = _jvp_disagreement(target, only, step, atol, rtol, labels)
        second = first and _jvp_disagreement(target, only, step / _RETRY_FACTOR, atol, rtol, labels)
        if first and second:
            k, idx, a, n, tol = first
            retry_value = second[3] if second[:2] == first[:2] else None
            mismatches.append(_Mismatch(target.paths[i], labels[k], a, n, tol, idx, retry_value))
    if not mismatches:  # only the joint direction disagrees: report it as such
        k, idx, a, n, tol = retry
        mismatches = [_Mismatch("all arguments together", labels[k], a, n, tol, idx)]
    raise GradientCheckError(
        _message("JVP", target, settings, mismatches, directions, step, atol, rtol, dtypes)
    )


# --- reverse mode -----------------------------------------------------------------------


def _random_cotangents(rng: np.random.Generator, out_leaves: list) -> list:
    """Standard-normal cotangents for float outputs; zeros of the output's dtype otherwise."""
    cts = nm.random_directions(rng, out_leaves)
    return [c if c is not None else np.zeros(np.shape(o)) for c, o in zip(cts, out_leaves)]


def _projection(ct: list, fd: list, atol: float, rtol: float) -> tuple[float, float]:
    """``<c, fd>`` and its tolerance ``sum |c| (atol + rtol |fd|)``: the bound on the
    projection of an element-wise error within ``atol + rtol |fd|`` (Cauchy-Schwarz
    element by element), so the check is exactly as strict as the JVP's."""
    value, tol = 0.0, 0.0
    for c, d in zip(ct, fd):
        if d is None:
            continue
        value += nm.real_inner(c, d)
        tol += float(np.sum(np.abs(c) * (atol + rtol * np.abs(d))))
    return value, tol


def _check_vjp(target: _Target, settings: _Settings, rng: np.random.Generator) -> None:
    directions = nm.random_directions(rng, target.leaves)
    out, f_vjp = vjp(target.fun, *target.leaves)
    out_leaves, labels = target.outputs(out)
    out_tree = tree_flatten(out)[1]
    dtypes = _float_dtypes(target, out_leaves)
    atol, rtol = settings.tolerances(dtypes)
    step = settings.step(dtypes)
    ct_host = _random_cotangents(rng, out_leaves)
    # funcgrad's VJPs are plain transposes (no conjugation, as in JAX): conjugating the
    # cotangent on the way in and out makes the identity one of real inner products.
    ct_in = [np.conj(c) for c in ct_host]
    cts = [nm.put_like(c, o) for c, o in zip(ct_in, out_leaves)]
    grads = list(f_vjp(tree_unflatten(out_tree, cts)))
    grads = tree_flatten(tuple(grads))[0]
    _check_tangent_types(target, "VJP", grads, target.leaves, target.paths)
    grads_host = [np.conj(nm.wide(nm.host(g))) for g in grads]

    def attempt(h: float):
        fd, effective = nm.finite_difference(target.fun, target.leaves, directions, h)
        lhs = sum(nm.real_inner(v, g) for v, g in zip(effective, grads_host) if v is not None)
        rhs, tol = _projection(ct_host, fd, atol, rtol)
        ok = abs(lhs - rhs) <= tol or (np.isnan(lhs) and np.isnan(rhs))
        return ok, lhs, rhs, tol

    ok, lhs, rhs, tol = attempt(step)
    if ok:
        return
    ok_retry, _, rhs_retry, _ = attempt(step / _RETRY_FACTOR)
    if ok_retry:
        return
    mismatches = _localize_vjp(
        target, f_vjp, out_tree, out_leaves, labels, ct_host, directions, step, atol, rtol
    )
    if not mismatches:
        mismatches = [
            _Mismatch("all arguments together", "all outputs", lhs, rhs, tol, None, rhs_retry)
        ]
    raise GradientCheckError(
        _message(
            "VJP",
            target,
            settings,
            mismatches,
            directions,
            step,
            atol,
            rtol,
            dtypes,
            cotangents=(labels, ct_host),
        )
    )


def _localize_vjp(
    target, f_vjp, out_tree, out_leaves, labels, ct_host, directions, step, atol, rtol
) -> list[_Mismatch]:
    """The projection for each (argument, output) pair alone: one VJP per output (the
    cotangent restricted to it) and one finite difference per argument."""
    per_output = []
    for k, o in enumerate(out_leaves):
        if not nm.is_float(nm.host_dtype(o)):
            per_output.append(None)
            continue
        only = [np.conj(c) if j == k else np.zeros(np.shape(c)) for j, c in enumerate(ct_host)]
        cts = [nm.put_like(c, ol) for c, ol in zip(only, out_leaves)]
        grads = tree_flatten(tuple(f_vjp(tree_unflatten(out_tree, cts))))[0]
        per_output.append([np.conj(nm.wide(nm.host(g))) for g in grads])
    found = []
    for i, d in enumerate(directions):
        if d is None:
            continue
        only = [dd if j == i else None for j, dd in enumerate(directions)]
        fd, effective = nm.finite_difference(target.fun, target.leaves, only, step)
        retry_fd, retry_eff = nm.finite_difference(
            target.fun, target.leaves, only, step / _RETRY_FACTOR
        )
        for k, grads in enumerate(per_output):
            if grads is None or fd[k] is None:
                continue
            lhs = nm.real_inner(effective[i], grads[i])
            rhs, tol = _projection([ct_host[k]], [fd[k]], atol, rtol)
            if abs(lhs - rhs) > tol and not (np.isnan(lhs) and np.isnan(rhs)):
                retry_lhs = nm.real_inner(retry_eff[i], grads[i])
                retry_rhs, retry_tol = _projection([ct_host[k]], [retry_fd[k]], atol, rtol)
                if abs(retry_lhs - retry_rhs) <= retry_tol:
                    continue
                found.append(_Mismatch(target.paths[i], labels[k], lhs, rhs, tol, None, retry_rhs))
    return found


# --- failure messages -------------------------------------------------------------------


def _advice(mismatch: _Mismatch, low: bool, promoted_note: str) -> str:
    stable = mismatch.retry is not None and abs(mismatch.retry - mismatch.numerical) <= max(
        mismatch.tolerance, 1e-300
    )
    tips = []
    if stable:
        tips.append(
            "the finite difference hardly moves with a 4x smaller step, so the derivative "
            f"itself looks wrong: check the JVP/VJP rule (custom_jvp, custom_vjp or primitive "
            f"rule) that {mismatch.argument} flows through"
        )
    else:
        tips.append(
            "the finite difference changes with the step, so f is probably not smooth here: "
            "a kink (relu, abs, max/min or sort at a tie), a pole or a discontinuity near this "
            "point; move the point away from it (test_util.strategies.arrays(avoid=[...])) or "
            "pass a smaller eps"
        )
    if low and "float64" not in promoted_note:
        tips.append(
            "low-precision finite differences are noisy: check in float64 (promote=True, or "
            "float64 arguments), or loosen atol/rtol"
        )
    return "; ".join(tips)


def _message(mode, target, settings, mismatches, directions, step, atol, rtol, dtypes, cotangents=None):  # fmt: skip
    low = nm.low_precision(dtypes)
    what = (
        "J v (forward mode) disagrees with the central difference (f(x + h v) - f(x - h v)) / 2h"
        if mode == "JVP"
        else "<vjp(c), v> (reverse mode) disagrees with the projection <c, (f(x + h v) - "
        "f(x - h v)) / 2h> of the central difference"
    )
    lines = [f"check_grads: {mode} of {target.what}: {what}"]
    by_path = dict(zip(target.paths, directions))
    for m in mismatches[:_MAX_LISTED]:
        element = f", element [{', '.join(str(int(i)) for i in m.element)}]" if m.element else ""
        lines.append(f"  argument {m.argument} -> {m.output}{element}:")
        d = by_path.get(m.argument)
        if d is not None:
            lines.append(
                f"    direction v for {m.argument}: {nm.compact(d)} (seed={settings.seed})"
            )
        lines.append(f"    autodiff:   {m.autodiff:.10g}")
        lines.append(f"    numerical:  {m.numerical:.10g} (h = {step:g})")
        if m.retry is not None:
            lines.append(f"    numerical:  {m.retry:.10g} (h = {step / _RETRY_FACTOR:g})")
        lines.append(
            f"    difference: {m.difference:.3g} > tolerance {m.tolerance:.3g} "
            f"(atol={atol:g}, rtol={rtol:g})"
        )
        lines.append(f"    what to try: {_advice(m, low, settings.note)}")
    if len(mismatches) > _MAX_LISTED:
        lines.append(f"  ... and {len(mismatches) - _MAX_LISTED} more (argument, output) pairs")
    if cotangents is not None:
        out_labels, cts = cotangents
        shown = ", ".join(f"{lab}: {nm.compact(c)}" for lab, c in zip(out_labels, cts))
        lines.append(f"  cotangent c: {shown}")
    if settings.note:
        lines.append(f"  ({settings.note})")
    return "\n".join(lines)


# --- the public checks ------------------------------------------------------------------


def _forward_unavailable(e: TypeError, what: str) -> TypeError:
    return TypeError(
        f"check_grads: forward mode (JVP) of {what} is not available: {e}. A custom_vjp "
        f"function has no JVP; check it in reverse mode alone with modes=('rev',)"
    )


def check_jvp(f: Callable, args: Sequence[Any], *, atol=None, rtol=None, eps=None,
              seed: int = 0, promote: bool = False) -> None:  # fmt: skip
    """Assert that ``jvp(f)`` agrees with a central finite difference along a random direction.

    Args:
        f: a function of pytrees of arrays returning a pytree of arrays.
        args: a tuple of arguments.
        atol, rtol: tolerances (numbers, or dicts from dtype to number); by default
            ``1e-5`` in float64, ``2e-2`` in float32, chosen by the least precise float
            dtype among the arguments and outputs.
        eps: the finite-difference step (default by dtype: ``1e-5`` float64, ``1e-3``
            float32).
        seed: seeds the random direction.
        promote: check float32/float16 arguments in float64 where ``f`` then computes in
            float64 (tighter tolerances, no rounding noise).

    Raises:
        GradientCheckError: (an ``AssertionError``) naming the argument's key path, the
            output, the direction, both numbers, their difference and the tolerance.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.test_util import check_jvp
        >>> check_jvp(lambda x: fnp.sin(x) * x, (fnp.asarray([0.5, 1.0]),))
    """
    flat = nm.FlatArgs(f, args, promote=promote)
    settings = _Settings(atol, rtol, eps, seed, flat.note)
    target = _Target(flat.flat_fun, flat.leaves, flat.paths, flat.name)
    try:
        _check_jvp(target, settings, np.random.default_rng([seed, _SALT, 1]))
    except TypeError as e:
        if "custom_vjp" in str(e):
            raise _forward_unavailable(e, flat.name) from e
        raise


def check_vjp(f: Callable, args: Sequence[Any], *, atol=None, rtol=None, eps=None,
              seed: int = 0, promote: bool = False) -> None:  # fmt: skip
    """Assert that ``vjp(f)`` agrees with finite differences: ``<vjp(c), v>`` against
    ``<c, (f(x + h v) - f(x - h v)) / 2h>`` for a random direction ``v`` and cotangent ``c``.

    Needs no JVP, so it checks ``custom_vjp`` functions too. Arguments as for
    :func:`check_jvp`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.test_util import check_vjp
        >>> check_vjp(lambda x, y: fnp.tanh(x) @ y, (fnp.ones((2, 3)), fnp.ones(3)))
    """
    flat = nm.FlatArgs(f, args, promote=promote)
    settings = _Settings(atol, rtol, eps, seed, flat.note)
    target = _Target(flat.flat_fun, flat.leaves, flat.paths, flat.name)
    _check_vjp(target, settings, np.random.default_rng([seed, _SALT, 2]))


def check_grads(f: Callable, args: Sequence[Any], order: int, modes: Sequence[str] = ("fwd", "rev"),
                atol=None, rtol=None, eps=None, seed: int = 0,
                promote: bool = False) -> None:  # fmt: skip
    """Check the derivatives of ``f`` at ``args`` up to ``order`` against finite differences.

    ``"fwd"`` checks ``J v`` element by element against a central difference along a
    random direction ``v``; ``"rev"`` checks ``<vjp(c), v>`` against the same difference
    projected on a random cotangent ``c`` (never against funcgrad's own JVP, so either mode
    alone is a real check, and ``modes=("rev",)`` works on ``custom_vjp`` functions). For
    ``order > 1`` the JVP along a fixed direction and the VJP of a fixed cotangent are
    checked in turn, as functions of ``args``, in every mode.

    Args:
        f: a function of pytrees of arrays returning a pytree of arrays; integer and
            boolean leaves are held fixed.
        args: a tuple of arguments.
        order: 1 checks first derivatives; 2 also differentiates them; ...
        modes: ``"fwd"`` and/or ``"rev"``.
        atol, rtol: tolerances (numbers, or dicts from dtype to number); by default
            ``1e-5`` in float64 and ``2e-2`` in float32.
        eps: the finite-difference step (default by dtype: ``1e-5`` float64, ``1e-3``
            float32). A mismatch is retried with a 4x smaller step before it is reported.
        seed: seeds the random directions and cotangents.
        promote: check float32/float16 arguments in float64 when ``f`` then computes in
            float64 (its float outputs become 64-bit); otherwise in the given dtypes.

    Raises:
        GradientCheckError: (an ``AssertionError``) naming the mode, the argument's key path,
            the output, the direction, both numbers, their difference and the tolerance,
            and what to try.
        TypeError: ``"fwd"`` was asked of a function without a JVP (``custom_vjp``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.test_util import check_grads
        >>> check_grads(lambda p, x: fnp.tanh(p["w"] @ x + p["b"]),
        ...             ({"w": fnp.ones((2, 3)) / 3, "b": fnp.zeros(2)}, fnp.arange(3.0)), order=2)
    """
    modes = tuple(modes)
    bad = [m for m in modes if m not in ("fwd", "rev")]
    if bad or not modes:
        raise ValueError(f"check_grads: unknown modes {bad or modes!r}; use 'fwd' and/or 'rev'")
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"check_grads: order must be a positive integer, got {order!r}")
    flat = nm.FlatArgs(f, args, promote=promote)
    settings = _Settings(atol, rtol, eps, seed, flat.note)
    rng = np.random.default_rng([seed, _SALT])
    root = _Target(flat.flat_fun, flat.leaves, flat.paths, flat.name)

    def check(target: _Target, k: int) -> None:
        if "fwd" in modes:
            try:
                _check_jvp(target, settings, rng)
            except TypeError as e:
                if "custom_vjp" in str(e):
                    raise _forward_unavailable(e, target.what) from e
                raise
        if "rev" in modes:
            _check_vjp(target, settings, rng)
        if k >= order:
            return
        if "fwd" in modes:
            tangents = nm.tangents_of(nm.random_directions(rng, target.leaves), target.leaves)

            def fwd_derivative(*xs, fun=target.fun, tangents=tangents):
                return jvp(fun, list(xs), tangents)[1]

            check(_Target(fwd_derivative, target.leaves, target.paths,
                          f"the JVP of {target.what} (order {k + 1})", target.out_labels), k + 1)  # fmt: skip
        if "rev" in modes:
            out = target.fun(*target.leaves)
            out_leaves, out_tree = tree_flatten(out)
            cts = [
                nm.put_like(c, o) for c, o in zip(_random_cotangents(rng, out_leaves), out_leaves)
            ]
            ct = tree_unflatten(out_tree, cts)

            def rev_derivative(*xs, fun=target.fun, ct=ct):
                return tuple(vjp(fun, *xs)[1](ct))

            def cotangent_labels(_labels, paths=target.paths):
                return [f"the cotangent of {p}" for p in paths]

            check(_Target(rev_derivative, target.leaves, target.paths,
                          f"the VJP of {target.what} (order {k + 1})", cotangent_labels), k + 1)  # fmt: skip

    check(root, 1)
