"""User-defined derivatives: ``custom_jvp`` and ``custom_vjp``, and ``stop_gradient``.

A custom-derivative function is not a primitive with fixed rules: each trace decides
what to do with it through ``Trace.process_custom_jvp_call`` /
``process_custom_vjp_call``. Evaluation (and any trace that has no use for the
rule) just calls the function; the JVP trace calls the user's rule instead. Reverse
mode of a ``custom_vjp`` function records a ``custom_lin`` primitive into the
linear program, whose transpose rule runs the user's backward function.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

from funcgrad._src.core import Primitive, Trace, current_trace, get_aval, set_current_trace
from funcgrad._src.interpreters import ad
from funcgrad._src.tree_util import tree_flatten, tree_unflatten

# --- stop_gradient --------------------------------------------------------------------

stop_gradient_p = Primitive("stop_gradient")
stop_gradient_p.impl = lambda backend, x: [x]
stop_gradient_p.abstract_eval = lambda x: [x.update(weak_type=False)]
ad.defjvp_zero(stop_gradient_p)
stop_gradient_p.batch = lambda args, dims: ([stop_gradient_p.bind1(args[0])], [dims[0]])


def stop_gradient(x: Any) -> Any:
    """``x`` unchanged, but treated as a constant by differentiation (PyTorch's ``detach``).

    Works on pytrees; integer leaves pass through.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> float(funcgrad.grad(lambda x: x * funcgrad.stop_gradient(x))(fnp.asarray(3.0)))
        3.0
    """
    from funcgrad._src.numpy.util import asarray
    from funcgrad._src.tree_util import tree_map

    return tree_map(lambda leaf: stop_gradient_p.bind1(asarray(leaf, fname="stop_gradient")), x)


# --- default processing: ignore the custom rule --------------------------------------


def _default_custom_jvp_call(self: Trace, fun, jvp, args, symbolic_zeros):
    del jvp, symbolic_zeros
    return fun(*args)


def _default_custom_vjp_call(self: Trace, fun, fwd, bwd, args, out_tree):
    del fwd, bwd, out_tree
    return fun(*args)


Trace.process_custom_jvp_call = _default_custom_jvp_call
Trace.process_custom_vjp_call = _default_custom_vjp_call


# --- JVP trace processing ----------------------------------------------------------


def _jvp_trace_custom_jvp_call(self: ad.JVPTrace, fun, jvp, args, symbolic_zeros):
    primals, tangents = zip(*(self.lift(x) for x in args)) if args else ((), ())
    with set_current_trace(self.parent):
        if all(type(t) is ad.Zero for t in tangents):
            return self.parent.process_custom_jvp_call(fun, jvp, list(primals), symbolic_zeros)
        if not symbolic_zeros:
            tangents = [ad.instantiate(t) for t in tangents]
        primal_outs, tangent_outs = jvp(list(primals), list(tangents))
    out = []
    for p, t in zip(primal_outs, tangent_outs):
        if type(t) is not ad.Zero and get_aval(t).shape != get_aval(p).shape:
            raise TypeError(
                f"custom_jvp rule returned a tangent of shape {get_aval(t).shape} for an "
                f"output of shape {get_aval(p).shape}; they must match"
            )
        out.append(p if type(t) is ad.Zero else ad.JVPTracer(self, p, t))
    return out


custom_lin_p = Primitive("custom_lin")  # a custom_vjp function's linearization (reverse only)
custom_lin_p.linear = True


def _custom_lin_abstract_eval(*args, num_res, bwd, out_avals, in_tree):
    return list(out_avals)


def _custom_lin_jvp(primals, tangents, **params):
    raise TypeError(
        "can't apply forward-mode differentiation (jvp, jacfwd) to a custom_vjp function; "
        "use custom_jvp for functions that need forward mode"
    )


def _custom_lin_transpose(cts, *args, num_res, bwd, out_avals, in_tree):
    residuals = args[:num_res]
    cts = [ad.instantiate(ct) if type(ct) is ad.Zero else ct for ct in cts]
    cts_out = tree_unflatten(in_tree, cts) if in_tree is not None else cts
    flat = bwd(residuals, cts_out)  # one entry per linear input, None for zero
    return [None] * num_res + [
        ad.Zero(x.aval) if ct is None else ct for ct, x in zip(flat, args[num_res:])
    ]


custom_lin_p.abstract_eval = _custom_lin_abstract_eval
custom_lin_p.jvp = _custom_lin_jvp
custom_lin_p.transpose = _custom_lin_transpose


def _custom_lin_impl(backend, *args, **params):
    _custom_lin_jvp((), ())  # reached only by forward mode: say so


custom_lin_p.impl = _custom_lin_impl


def _jvp_trace_custom_vjp_call(self: ad.JVPTrace, fun, fwd, bwd, args, out_tree):
    primals, tangents = zip(*(self.lift(x) for x in args)) if args else ((), ())
    with set_current_trace(self.parent):
        if all(type(t) is ad.Zero for t in tangents):
            return self.parent.process_custom_vjp_call(fun, fwd, bwd, list(primals), out_tree)
        primal_outs, residuals = fwd(*primals)
        res_flat, res_tree = tree_flatten(residuals)
        out_flat, _ = tree_flatten(primal_outs)
        out_avals = [get_aval(o).update(weak_type=False) for o in out_flat]
        tangents = [ad.instantiate(t) for t in tangents]

        def bwd_flat(res, cts):
            return bwd(tree_unflatten(res_tree, list(res)), cts)

        tangent_outs = custom_lin_p.bind(
            *res_flat, *tangents, num_res=len(res_flat), bwd=bwd_flat,
            out_avals=tuple(out_avals), in_tree=out_tree(),
        )  # fmt: skip
    return [ad.JVPTracer(self, p, t) for p, t in zip(out_flat, tangent_outs)]


ad.JVPTrace.process_custom_jvp_call = _jvp_trace_custom_jvp_call
ad.JVPTrace.process_custom_vjp_call = _jvp_trace_custom_vjp_call


# --- checks on what the user's rules return -------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"{type(value).__name__} {value!r:.60}"


def _leaf_paths(tree: Any) -> list[str]:
    from funcgrad._src.tree_util import keystr, tree_flatten_with_path

    return [keystr(path) for path, _ in tree_flatten_with_path(tree)[0]]


def _check_tangent(name: str, what: str, path: str, primal: Any, tangent: Any) -> None:
    """A rule's tangent must have its primal's shape, and its dtype when the primal is
    floating point (JAX's rule); symbolic zeros and Python scalars for 0-d outputs pass."""
    if type(tangent) is ad.Zero or tangent is None:
        return
    p, t = get_aval(primal), get_aval(tangent)
    if t.shape != p.shape:
        raise TypeError(
            f"{name}: the {what}{path} has shape {t.shape}, but the primal output has shape "
            f"{p.shape}; they must match"
        )
    if p.dtype.kind in "fc" and not t.weak_type and t.dtype != p.dtype:
        raise TypeError(
            f"{name}: the {what}{path} has dtype {t.dtype}, but the primal output has dtype "
            f"{p.dtype}; cast the tangent with .astype({p.dtype.name!r})"
        )


def _check_cotangent(name: str, where: str, primal: Any, ct: Any) -> Any:
    """A bwd cotangent must have its input's shape; for floating-point inputs it is cast
    to the input's dtype unless that would drop an imaginary part (then it is an error)."""
    if ct is None or type(ct) is ad.Zero:
        return ct
    p, c = get_aval(primal), get_aval(ct)
    if c.shape != p.shape:
        raise TypeError(
            f"{name}: custom_vjp bwd returned a cotangent of shape {c.shape} for {where}, "
            f"which has shape {p.shape}; they must match"
        )
    if p.dtype.kind in "fc" and c.dtype != p.dtype:
        if c.dtype.kind == "c" and p.dtype.kind != "c":
            raise TypeError(
                f"{name}: custom_vjp bwd returned a complex cotangent ({c.dtype}) for the "
                f"real input {where} ({p.dtype}); return its real part"
            )
        from funcgrad._src.numpy.util import asarray

        return asarray(ct, dtype=p.dtype, fname=f"{name} (custom_vjp bwd)")
    return ct


# --- the user-facing decorators --------------------------------------------------------


def _split_nondiff(fname: str, args: tuple, nondiff_argnums: tuple[int, ...]):
    for n in nondiff_argnums:
        if not -len(args) <= n < len(args):
            raise ValueError(
                f"{fname}: nondiff_argnums {nondiff_argnums} out of range for {len(args)} arguments"
            )
    nums = {n % len(args) for n in nondiff_argnums}
    static = [args[i] for i in sorted(nums)]
    dynamic = [a for i, a in enumerate(args) if i not in nums]
    return sorted(nums), static, dynamic


def _merge(nums: list[int], static: list, dynamic: Sequence) -> list:
    out, s, d = [], iter(static), iter(dynamic)
    for i in range(len(static) + len(dynamic)):
        out.append(next(s) if i in nums else next(d))
    return out


class _FlatCall:
    """The flat view of one call of a custom-derivative function: the differentiable
    arguments as a flat list of leaves, the static (``nondiff_argnums``) ones aside, and
    the output structure recorded whenever the function (or a rule) runs."""

    def __init__(self, wrapper: Any, kind: str, args: tuple, kwargs: dict):
        name = wrapper.__name__
        if kwargs:
            raise TypeError(f"{name}: {kind} functions take positional arguments only")
        self.nums, self.static, self.dynamic = _split_nondiff(name, args, wrapper.nondiff_argnums)
        self.flat, self.in_tree = tree_flatten(tuple(self.dynamic))
        self.fun = wrapper.fun
        self.out_trees: list = []

    def call_args(self, leaves: Sequence[Any]) -> list:
        """The full positional arguments for flat differentiable ``leaves``."""
        return _merge(self.nums, self.static, tree_unflatten(self.in_tree, list(leaves)))

    def flat_fun(self, *leaves: Any) -> list:
        out_leaves, tree = tree_flatten(self.fun(*self.call_args(leaves)))
        self.out_trees.append(tree)
        return out_leaves

    def unflatten_output(self, out_leaves: Sequence[Any]) -> Any:
        return tree_unflatten(self.out_trees[-1], list(out_leaves))


class custom_jvp:
    """A function with a user-defined forward-mode derivative (and hence reverse mode too).

    Define the rule with :meth:`defjvp` (``jvp(primals, tangents) -> (out, out_tangent)``)
    or :meth:`defjvps` (one ``fn(tangent, out, *primals)`` per argument). The rule's
    tangent output must be linear in the tangents, so that reverse mode can transpose it.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> @funcgrad.custom_jvp
        ... def softplus(x):
        ...     return fnp.logaddexp(0.0, x)
        >>> @softplus.defjvp
        ... def _(primals, tangents):
        ...     (x,), (t,) = primals, tangents
        ...     return softplus(x), t / (1 + fnp.exp(-x))   # the sigmoid, stable for large x
        >>> float(funcgrad.grad(softplus)(fnp.asarray(100.0)))
        1.0
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp: Callable | None = None
        self.symbolic_zeros = False

    def defjvp(self, jvp: Callable, symbolic_zeros: bool = False) -> Callable:
        """Set the rule ``jvp(primals, tangents) -> (primal_out, tangent_out)``.

        With ``nondiff_argnums`` the rule is ``jvp(*static_args, primals, tangents)``, as in
        JAX: the static arguments come first, in order, and ``primals``/``tangents`` hold
        only the differentiable ones."""
        self.jvp = jvp
        self.symbolic_zeros = symbolic_zeros
        return jvp

    def defjvps(self, *tangent_fns: Callable | None) -> None:
        """Set the rule from one ``fn(tangent, primal_out, *primals)`` per argument
        (``None`` for arguments that do not affect the output)."""

        def jvp(*args):
            *static, primals, tangents = args
            if static:  # rebuild the full argument list for fun
                total = len(static) + len(primals)
                nums = sorted(n % total for n in self.nondiff_argnums)
                primals = tuple(_merge(nums, static, primals))
            out = self.fun(*primals)
            total = None
            for fn, t in zip(tangent_fns, tangents):
                if fn is None:
                    continue
                contribution = fn(t, out, *primals)
                total = contribution if total is None else total + contribution
            if total is None:
                from funcgrad._src.numpy.creation import zeros_like

                total = zeros_like(out)
            return out, total

        self.defjvp(jvp)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call = _FlatCall(self, "custom_jvp", args, kwargs)
        if self.jvp is None:
            raise AttributeError(f"{self.__name__}: no JVP rule defined; call .defjvp(rule) first")

        def flat_jvp(primals, tangents):
            p_args = tree_unflatten(call.in_tree, list(primals))
            t_args = tree_unflatten(call.in_tree, list(tangents))
            # JAX's convention: the static (nondiff_argnums) arguments lead, in order
            result = self.jvp(*call.static, tuple(p_args), tuple(t_args))
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise TypeError(
                    f"{self.__name__}: the custom JVP rule must return a pair (primal_out, "
                    f"tangent_out), got {_describe(result)}"
                )
            out, t_out = result
            leaves, tree = tree_flatten(out)
            t_leaves, t_tree = tree_flatten(t_out)
            if t_tree != tree:
                raise TypeError(
                    f"{self.__name__}: the custom JVP rule's tangent output structure {t_tree} "
                    f"differs from its primal output structure {tree}"
                )
            for path, p, t in zip(_leaf_paths(out), leaves, t_leaves):
                _check_tangent(self.__name__, "custom JVP rule's tangent output", path, p, t)
            call.out_trees.append(tree)
            return leaves, t_leaves

        outs = current_trace().process_custom_jvp_call(
            call.flat_fun, flat_jvp, call.flat, self.symbolic_zeros
        )
        return call.unflatten_output(outs)


class custom_vjp:
    """A function with a user-defined reverse-mode derivative.

    :meth:`defvjp` takes ``fwd(*args) -> (out, residuals)`` and
    ``bwd(residuals, out_cotangent) -> tuple of input cotangents`` (one per
    differentiable argument; ``None`` for a zero). With ``nondiff_argnums`` those
    arguments are passed to ``bwd`` first. Forward mode is not available (as in JAX).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> @funcgrad.custom_vjp
        ... def clip_gradient(x):
        ...     return x
        >>> clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (fnp.clip(g, -1.0, 1.0),))
        >>> float(funcgrad.grad(lambda x: 5.0 * clip_gradient(x))(fnp.asarray(2.0)))
        1.0
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """Set ``fwd(*args) -> (out, residuals)`` and ``bwd(residuals, ct) -> input cotangents``."""
        self.fwd = fwd
        self.bwd = bwd

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call = _FlatCall(self, "custom_vjp", args, kwargs)
        if self.fwd is None:
            raise AttributeError(
                f"{self.__name__}: no VJP rule defined; call .defvjp(fwd, bwd) first"
            )
        static, dynamic = call.static, call.dynamic

        def flat_fwd(*xs):
            result = self.fwd(*call.call_args(xs))
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise TypeError(
                    f"{self.__name__}: custom_vjp fwd must return a pair (output, residuals)"
                )
            out, res = result
            call.out_trees.append(tree_flatten(out)[1])
            return out, res

        def flat_bwd(res, ct):
            """The user's cotangents as one flat entry per input leaf (None: zero)."""
            cts = self.bwd(*static, res, ct)
            if not isinstance(cts, (tuple, list)) or len(cts) != len(dynamic):
                raise TypeError(
                    f"{self.__name__}: custom_vjp bwd must return a tuple with one cotangent per "
                    f"differentiable argument ({len(dynamic)}), got {cts!r:.80}"
                )
            flat_cts = []
            for i, (ct_arg, arg) in enumerate(zip(cts, dynamic)):
                arg_leaves, arg_tree = tree_flatten(arg)
                if ct_arg is None:
                    flat_cts += [None] * len(arg_leaves)
                    continue
                leaves, ct_tree = tree_flatten(ct_arg)
                if ct_tree != arg_tree:
                    raise TypeError(
                        f"{self.__name__}: custom_vjp bwd's cotangent for argument {i} has "
                        f"structure {ct_tree}, but the argument has structure {arg_tree}; "
                        f"return one cotangent per argument with the argument's structure "
                        f"(or None for a zero cotangent)"
                    )
                for path, x, ct in zip(_leaf_paths(arg), arg_leaves, leaves):
                    flat_cts.append(
                        _check_cotangent(self.__name__, f"argument {i}{path}", x, ct)
                    )
            return flat_cts

        outs = current_trace().process_custom_vjp_call(
            call.flat_fun, flat_fwd, flat_bwd, call.flat, lambda: call.out_trees[-1]
        )
        return call.unflatten_output(outs)
