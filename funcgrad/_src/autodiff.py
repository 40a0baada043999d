"""The differentiation transformations: jvp, linearize, vjp, grad, value_and_grad, jacobians.

All work on functions of pytrees of arrays. Forward mode runs the JVP interpreter;
reverse mode linearizes (JVP on top of partial evaluation, so the primal runs
eagerly and only the tangent program is recorded) and transposes that program.
"""

from __future__ import annotations

import functools
import inspect
import operator
import os
from typing import Any, Callable, Sequence

import numpy as np

from funcgrad._src.core import (
    EVAL_TRACE,
    Array,
    ShapedArray,
    current_backend,
    current_trace,
    default_backend,
    get_aval,
    inputs_backend_name,
    on_inputs_backend,
)
from funcgrad._src.core import _context as trace_context
from funcgrad._src.interpreters import ad, tape
from funcgrad._src.source_info import capturing as _source_capturing
from funcgrad._src.ir import StagingTrace
from funcgrad._src.tree_util import tree_flatten, tree_structure, tree_unflatten

#: The dtype of the "gradient" of an integer input under ``allow_int=True`` (as in JAX):
#: a zero-size void type, so that nothing can be computed with it by accident.
float0 = np.dtype([("float0", np.void, 0)])


def _fun_name(fun: Callable) -> str:
    """``fun``'s name and where it was defined, for messages about its transformation."""
    name = getattr(fun, "__name__", type(fun).__name__)
    code = getattr(inspect.unwrap(fun), "__code__", None)
    if code is None:
        return name
    return f"{name} (defined at {os.path.basename(code.co_filename)}:{code.co_firstlineno})"


def _as_array(x: Any, fname: str, what: str) -> Any:
    from funcgrad._src.numpy.util import asarray, is_array

    if is_array(x):
        return x
    try:
        return asarray(x, fname=fname)
    except TypeError:
        raise TypeError(
            f"{fname}: {what} must be arrays (or Python/NumPy numbers), got {type(x).__name__}"
        ) from None


def _flat_args(fname: str, args: Any, what: str) -> tuple[list, Any]:
    leaves, tree = tree_flatten(args)
    return [x if type(x) is Array else _as_array(x, fname, what) for x in leaves], tree


# --- forward mode ---------------------------------------------------------------------


def jvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False):
    """Forward-mode Jacobian-vector product: ``(fun(*primals), J @ tangents)``.

    Args:
        fun: a function of pytrees of arrays.
        primals: a tuple or list of the arguments.
        tangents: same structure, shapes and dtypes as ``primals``.
        has_aux: ``fun`` returns ``(output, aux)``; aux is returned undifferentiated.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> y, t = funcgrad.jvp(fnp.sin, (fnp.asarray(0.0),), (fnp.asarray(2.0),))
        >>> float(y), float(t)
        (0.0, 2.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists of arguments")
    p_flat, p_tree = _flat_args("jvp", tuple(primals), "primals")
    t_leaves, t_tree = tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise ValueError(f"jvp: primals and tangents differ in structure: {p_tree} vs {t_tree}")
    t_flat = _matching_leaves("jvp", "tangent", "primal", t_leaves, [p.aval for p in p_flat])
    tangents_in = [
        t if ad.differentiable_dtype(p.dtype) else ad.Zero(p.aval) for p, t in zip(p_flat, t_flat)
    ]

    def flat_fun(*xs):
        return fun(*tree_unflatten(p_tree, xs))

    with on_inputs_backend(p_flat):
        trace, out = ad.jvp_flat(flat_fun, p_flat, tangents_in, current_trace())
        out, aux = _split_aux("jvp", out, has_aux)
        aux = _aux_primals(trace, aux)
        out_flat, out_tree = tree_flatten(out)
        primal_outs, tangent_outs = ad.unpack_outputs(trace, out_flat)
        tangent_outs = [ad.instantiate(t) for t in tangent_outs]
    result = tree_unflatten(out_tree, primal_outs), tree_unflatten(out_tree, tangent_outs)
    return (*result, aux) if has_aux else result


def _matching_leaves(fname: str, what: str, of: str, leaves: list, avals: list) -> list:
    """Tangent or cotangent leaves as arrays, checked against the avals they go with.

    A float or complex value needs one of exactly its dtype and shape (TypeError for the
    dtype, ValueError for the shape, as in JAX); a Python scalar is weak and takes the
    value's dtype. Integer and boolean values have no tangent space: anything of their
    shape is accepted (and ignored).
    """
    out = []
    for i, (x, aval) in enumerate(zip(leaves, avals)):
        weak = type(x) in (int, float, complex)
        x = x if type(x) is Array else _as_array(x, fname, f"{what}s")
        if x.shape != aval.shape:
            raise ValueError(
                f"{fname}: {what} {i} has shape {x.shape}, but the {of} it goes with has shape "
                f"{aval.shape}; they must match"
            )
        if ad.differentiable_dtype(aval.dtype) and x.dtype != aval.dtype:
            if not weak:
                raise TypeError(
                    f"{fname}: {what} {i} has dtype {x.dtype}, but the {of} it goes with has "
                    f"dtype {aval.dtype}; they must match (cast it with .astype({aval.dtype}))"
                )
            x = x.astype(aval.dtype)
        out.append(x)
    return out


def _aux_primals(trace: Any, aux: Any) -> Any:
    """``aux`` with the transformation's tracers replaced by their primal values: aux
    outputs are returned undifferentiated."""
    if aux is None:
        return None
    leaves, tree = tree_flatten(aux)
    if isinstance(trace, tape.TapeTrace):
        leaves = [tape.unpack_output(trace, x)[0] for x in leaves]
    else:
        leaves = ad.unpack_outputs(trace, leaves)[0]
    return tree_unflatten(tree, leaves)


def _split_aux(fname: str, out: Any, has_aux: bool) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"{fname} with has_aux=True: the function must return a pair (output, aux)")
    return out[0], out[1]


# --- linearize and reverse mode ---------------------------------------------------------


class _Linearized:
    """The result of linearizing a flat function: primal outputs and the tangent program."""

    def __init__(self, primal_outs, out_tree, jaxpr, consts, zero_outs, in_avals, aux):
        self.primal_outs = primal_outs
        self.out_tree = out_tree
        self.jaxpr = jaxpr
        self.consts = consts
        self.zero_outs = zero_outs  # output positions whose tangent is symbolically zero
        self.in_avals = in_avals
        self.aux = aux

    def out_avals(self) -> list[ShapedArray]:
        return [get_aval(p).update(weak_type=False) for p in self.primal_outs]

    def transpose(self, cts_flat: list) -> list:
        """Cotangents of the inputs (symbolic zeros materialised) for output cotangents."""
        return _transpose_linearized(self, cts_flat)


class _TapeLinearized:
    """Eager reverse mode's record (see ``interpreters/tape.py``): primal outputs and the tape."""

    __slots__ = ("aux", "in_nodes", "out_nodes", "out_tree", "primal_outs", "primals", "trace")

    def __init__(self, trace, primals, in_nodes, primal_outs, out_nodes, out_tree, aux):
        self.trace = trace
        self.primals = primals
        self.in_nodes = in_nodes
        self.primal_outs = primal_outs
        self.out_nodes = out_nodes
        self.out_tree = out_tree
        self.aux = aux

    @property
    def in_avals(self) -> list[ShapedArray]:
        return [get_aval(p).update(weak_type=False) for p in self.primals]

    def out_avals(self) -> list[ShapedArray]:
        return [get_aval(p).update(weak_type=False) for p in self.primal_outs]

    def transpose(self, cts_flat: list) -> list:
        cts_in = tape.backward(self.trace, self.out_nodes, cts_flat, self.in_nodes)
        if any([ct is None for ct in cts_in]):  # inputs nothing flowed to get zeros
            return [
                ad.zeros_like_aval(get_aval(p)) if ct is None else ct
                for ct, p in zip(cts_in, self.primals)
            ]
        return cts_in


def _vjp_flat(fname: str, fun: Callable, primals: list, has_aux: bool):
    """Linearize ``fun`` for reverse mode: on the eager tape when called eagerly, else by
    JVP and partial evaluation in the current trace. The result's ``transpose(cts)``
    gives the input cotangents."""
    if trace_context.trace is not EVAL_TRACE or _source_capturing[0]:
        # (with config.debug_nans on, the general route checks every operation and the
        # backward pass knows each equation's forward line; the tape runs fused kernels)
        return _linearize_flat(fname, fun, primals, has_aux)
    trace, in_nodes, out = tape.linearize_on_tape(fun, primals, fname)
    if type(out) is tape.TapeTracer and out._trace is trace and not has_aux:
        # the common case, one differentiated output: no pytree to flatten
        return _TapeLinearized(
            trace, primals, in_nodes, [out.primal], [out.node], _SCALAR_TREE, None
        )
    out, aux = _split_aux(fname, out, has_aux)
    out_flat, out_tree = tree_flatten(out)
    unpacked = [tape.unpack_output(trace, x) for x in out_flat]
    return _TapeLinearized(trace, primals, in_nodes, [p for p, _ in unpacked], [n for _, n in unpacked],
                           out_tree, _aux_primals(trace, aux))  # fmt: skip


def _linearize_flat(fname: str, fun: Callable, primals: list, has_aux: bool) -> _Linearized:
    parent = current_trace()
    tangent_trace = StagingTrace(
        parent, partial=True, transformation=f"{fname} (linearized tangents)"
    )
    in_avals = [get_aval(p).update(weak_type=False) for p in primals]
    tangent_args = [tangent_trace.new_arg(a) for a in in_avals]
    tangents_in = [
        t if ad.differentiable_dtype(a.dtype) else ad.Zero(a)
        for t, a in zip(tangent_args, in_avals)
    ]
    try:
        trace, out = ad.jvp_flat(fun, primals, tangents_in, tangent_trace, transformation=fname)
    except BaseException:
        tangent_trace.active = False
        raise
    out, aux = _split_aux(fname, out, has_aux)
    aux = _aux_primals(trace, aux)
    out_flat, out_tree = tree_flatten(out)
    primal_outs, tangent_outs = ad.unpack_outputs(trace, out_flat)
    zero_outs = [type(t) is ad.Zero for t in tangent_outs]
    jaxpr, consts = tangent_trace.finish(
        [t.var for t in tangent_args], [t for t, z in zip(tangent_outs, zero_outs) if not z]
    )
    return _Linearized(primal_outs, out_tree, jaxpr, consts, zero_outs, in_avals, aux)


def _transpose_linearized(lin: _Linearized, cts_flat: list) -> list:
    """Cotangents of the inputs (symbolic zeros materialised) for output cotangents."""
    cts = [ct for ct, z in zip(cts_flat, lin.zero_outs) if not z]
    cts_in = ad.backward_pass(lin.jaxpr, lin.consts, cts)
    return [ad.instantiate(ct) for ct in cts_in]


def linearize(fun: Callable, *primals: Any):
    """``fun(*primals)`` and its linear approximation ``f_jvp(*tangents) = J @ tangents``.

    The primal runs once, now; ``f_jvp`` replays only the recorded tangent program.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> y, f_jvp = funcgrad.linearize(lambda x: x ** 3, fnp.asarray(2.0))
        >>> float(y), float(f_jvp(fnp.asarray(1.0)))
        (8.0, 12.0)
    """
    from funcgrad._src.ir import eval_jaxpr

    p_flat, p_tree = _flat_args("linearize", primals, "primals")
    with on_inputs_backend(p_flat):
        lin = _linearize_flat("linearize", lambda *xs: fun(*tree_unflatten(p_tree, xs)), p_flat,
                              False)  # fmt: skip

    in_avals = [p.aval for p in p_flat]

    def f_jvp(*tangents):
        t_leaves, t_tree = tree_flatten(tangents)
        if t_tree != p_tree:
            raise ValueError(f"linearize: tangents {t_tree} do not match the primals {p_tree}")
        t_flat = _matching_leaves("linearize", "tangent", "primal", t_leaves, in_avals)
        with on_inputs_backend(p_flat):
            outs = iter(eval_jaxpr(lin.jaxpr, lin.consts, t_flat))
            flat = [
                ad.zeros_like_aval(a) if z else next(outs)
                for a, z in zip(lin.out_avals(), lin.zero_outs)
            ]
        return tree_unflatten(lin.out_tree, flat)

    return tree_unflatten(lin.out_tree, lin.primal_outs), f_jvp


def vjp(fun: Callable, *primals: Any, has_aux: bool = False):
    """Reverse-mode vector-Jacobian product: ``(fun(*primals), f_vjp)`` where
    ``f_vjp(ct)`` returns ``ct @ J`` as a tuple with one entry per primal.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> y, f_vjp = funcgrad.vjp(lambda x, y: x * y, fnp.asarray(3.0), fnp.asarray(4.0))
        >>> [float(g) for g in f_vjp(fnp.asarray(1.0))]
        [4.0, 3.0]
    """
    p_flat, p_tree = _flat_args("vjp", primals, "primals")
    with on_inputs_backend(p_flat):
        lin = _vjp_flat("vjp", lambda *xs: fun(*tree_unflatten(p_tree, xs)), p_flat, has_aux)
    out_avals = lin.out_avals()

    def f_vjp(ct):
        ct_leaves, ct_tree = tree_flatten(ct)
        if ct_tree != lin.out_tree:
            raise ValueError(
                f"vjp: cotangent structure {ct_tree} differs from the output's {lin.out_tree}"
            )
        ct_flat = _matching_leaves("vjp", "cotangent", "output", ct_leaves, out_avals)
        # integer outputs take no cotangent: a zero of their own dtype flows nowhere
        ct_flat = [
            c if c.dtype == a.dtype else c.astype(a.dtype) for c, a in zip(ct_flat, out_avals)
        ]
        with on_inputs_backend(p_flat):
            return tree_unflatten(p_tree, lin.transpose(ct_flat))

    out = tree_unflatten(lin.out_tree, lin.primal_outs)
    return (out, f_vjp, lin.aux) if has_aux else (out, f_vjp)


def linear_transpose(fun: Callable, *primals: Any):
    """The transpose of a linear function ``fun``; ``primals`` only give shapes and dtypes.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> f_t = funcgrad.linear_transpose(lambda x: 2.0 * x[::-1], fnp.zeros(3))
        >>> f_t(fnp.asarray([1.0, 2.0, 3.0]))[0].tolist()
        [6.0, 4.0, 2.0]
    """
    from funcgrad._src.core import set_current_trace

    p_flat, p_tree = _flat_args("linear_transpose", primals, "primals")
    in_avals = [get_aval(p).update(weak_type=False) for p in p_flat]
    # Partial evaluation: computations on constants run now; only the linear part is recorded.
    trace = StagingTrace(current_trace(), partial=True, transformation="linear_transpose")
    args = [trace.new_arg(a) for a in in_avals]
    try:
        with set_current_trace(trace):
            out = fun(*tree_unflatten(p_tree, args))
    except BaseException:
        trace.active = False
        raise
    out_flat, out_tree = tree_flatten(out)
    jaxpr, consts = trace.finish([a.var for a in args], out_flat)

    def f_transpose(ct):
        ct_flat, ct_tree = _flat_args("linear_transpose", ct, "cotangents")
        if ct_tree != out_tree:
            raise ValueError(
                f"linear_transpose: cotangent structure {ct_tree} differs from {out_tree}"
            )
        cts = ad.backward_pass(jaxpr, consts, ct_flat)
        return tuple(tree_unflatten(p_tree, [ad.instantiate(c) for c in cts]))

    return f_transpose


# --- grad and friends ---------------------------------------------------------------


def _normalize_argnums(fname: str, argnums: Any) -> int | tuple[int, ...]:
    """``argnums`` as a Python int or a tuple of them; anything ``operator.index`` accepts
    (NumPy integers) counts as an int, as in JAX. Bools are refused."""
    if type(argnums) is int:
        return argnums
    items = list(argnums) if isinstance(argnums, (tuple, list)) else [argnums]
    try:
        if any(type(n) is bool or isinstance(n, np.bool_) for n in items):
            raise TypeError
        nums = tuple(operator.index(n) for n in items)
    except TypeError:
        raise TypeError(
            f"{fname}: argnums must be an int or a tuple of ints, got "
            f"{type(argnums).__name__} {argnums!r:.40}"
        ) from None
    return nums if isinstance(argnums, (tuple, list)) else nums[0]


def _check_argnums(fname: str, argnums: int | Sequence[int], nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not isinstance(n, int) or not -nargs <= n < nargs:
            raise ValueError(
                f"{fname}: argnums {argnums} is out of range for {nargs} positional arguments"
            )
    return tuple(n % nargs for n in nums)


def _check_differentiable(
    fname: str, argnum: int, leaves: list, allow_int: bool, holomorphic: bool,
    complex_ok: bool = False,
):  # fmt: skip
    """Refuse inputs that cannot be differentiated. ``complex_ok``: complex inputs are
    fine without ``holomorphic`` (grad of a real-valued function of complex inputs)."""
    for x in leaves:
        dt = x.dtype
        if dt.kind in "biu" and not allow_int:
            raise TypeError(
                f"{fname}: argument {argnum} has dtype {dt}, and only float or complex inputs "
                f"can be differentiated. Pass it as a float array, exclude it from argnums, "
                f"or pass allow_int=True (its gradient is then a float0 zero)."
            )
        if dt.kind == "c" and not holomorphic and not complex_ok:
            raise TypeError(
                f"{fname}: argument {argnum} is complex ({dt}); pass holomorphic=True for a "
                f"holomorphic function, or use jvp/vjp directly for a non-holomorphic one."
            )
        if holomorphic and dt.kind != "c":
            raise TypeError(
                f"{fname}: holomorphic=True needs complex inputs, argument {argnum} is {dt}"
            )


def _value_and_cotangents(fname: str, flat_fun: Callable, primals: list, has_aux: bool,
                          holomorphic: bool = False):  # fmt: skip
    """grad's work: linearize ``flat_fun`` at ``primals``, check that its output is a real
    (complex with ``holomorphic``) scalar, and pull a one back; returns (linearization,
    value, input cotangents)."""
    lin = _vjp_flat(fname, flat_fun, primals, has_aux)
    if len(lin.primal_outs) != 1 and lin.out_tree != _SCALAR_TREE:
        raise TypeError(f"{fname}: the function must return a scalar, got a {lin.out_tree}")
    (value,) = lin.primal_outs
    shape, dtype = (value.shape, value.dtype) if type(value) is Array else _shape_dtype(value)
    if shape != ():
        raise TypeError(
            f"{fname}: grad requires a scalar (0-d) output, got shape {shape}. "
            f"Reduce it (e.g. fnp.sum or fnp.mean), or use vjp / jacrev for vector outputs."
        )
    if holomorphic and dtype.kind != "c":
        raise TypeError(
            f"{fname}: grad with holomorphic=True requires a complex output, got dtype {dtype}"
        )
    if not holomorphic and dtype.kind != "f":
        hint = (" (the gradient of a complex output is defined only for holomorphic "
                "functions: pass holomorphic=True, or differentiate fnp.real/fnp.abs of it)"
                if dtype.kind == "c" else "")  # fmt: skip
        raise TypeError(f"{fname}: grad requires a real float output, got dtype {dtype}{hint}")
    grads = lin.transpose([_one(dtype, value._backend if type(value) is Array else None)])
    return lin, value, grads


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
                   holomorphic: bool = False, allow_int: bool = False) -> Callable:  # fmt: skip
    """A function returning ``(fun(*args), gradient of fun w.r.t. args[argnums])``.

    ``fun`` must return a scalar (0-d) float array; with ``has_aux`` it returns
    ``(scalar, aux)`` and the result is ``((value, aux), grad)``. With a tuple of
    ``argnums`` the gradient is a tuple. Gradients have the structure of their arguments.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> v, g = funcgrad.value_and_grad(lambda x: fnp.sum(x ** 2))(fnp.asarray([1.0, 2.0]))
        >>> float(v), g.tolist()
        (5.0, [2.0, 4.0])
    """
    fname = f"grad of {_fun_name(fun)}"
    argnums = _normalize_argnums("funcgrad.grad", argnums)

    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        if type(argnums) is int and 0 <= argnums < len(args) and type(args[argnums]) is Array:
            # the common case, one array argument: no pytree to flatten
            diff_trees, sizes = (None,), (1,)
            primals = [args[argnums]]
            if primals[0].dtype.kind != "f" or holomorphic:
                _check_differentiable("grad", argnums, primals, allow_int, holomorphic, True)

            def flat_fun(x):
                call_args = list(args)
                call_args[argnums] = x
                return fun(*call_args, **kwargs) if kwargs else fun(*call_args)
        else:
            nums = _check_argnums("grad", argnums, len(args))
            diff_flat, diff_trees = [], []
            for n in nums:
                leaves, tree = _flat_args("grad", args[n], f"argument {n}")
                _check_differentiable("grad", n, leaves, allow_int, holomorphic, True)
                diff_flat.append(leaves)
                diff_trees.append(tree)
            sizes = [len(leaves) for leaves in diff_flat]
            primals = [x for leaves in diff_flat for x in leaves]

            def flat_fun(*xs):
                call_args = list(args)
                offset = 0
                for n, tree, size in zip(nums, diff_trees, sizes):
                    call_args[n] = tree_unflatten(tree, xs[offset : offset + size])
                    offset += size
                return fun(*call_args, **kwargs)

        name = inputs_backend_name(primals)
        if name is None:
            lin, value, grads = _value_and_cotangents(fname, flat_fun, primals, has_aux,
                                                      holomorphic)  # fmt: skip
        else:  # constants that rules make go to the inputs' backend
            with default_backend(name):
                lin, value, grads = _value_and_cotangents(fname, flat_fun, primals, has_aux,
                                                          holomorphic)  # fmt: skip
        if allow_int:
            grads = [_float0_if_int(g, get_aval(p)) for g, p in zip(grads, primals)]
        if diff_trees[0] is None:
            g = grads[0]
        else:
            out, offset = [], 0
            for tree, size in zip(diff_trees, sizes):
                out.append(tree_unflatten(tree, grads[offset : offset + size]))
                offset += size
            g = out[0] if isinstance(argnums, int) else tuple(out)
        return ((value, lin.aux), g) if has_aux else (value, g)

    return value_and_grad_fun


_SCALAR_TREE = tree_structure(0)
_ONES: dict = {}  # (dtype, backend) -> the 0-d one: arrays are immutable, so it is shared


def _shape_dtype(x: Any) -> tuple[tuple[int, ...], np.dtype]:
    aval = get_aval(x)
    return aval.shape, aval.dtype


def _one(dtype: np.dtype, backend: Any = None) -> Any:
    """The output cotangent of grad: a 0-d one of ``dtype`` on the output's ``backend``
    (the default backend if the output is not an array)."""
    key = (dtype, backend or current_backend())
    one = _ONES.get(key)
    if one is None:
        from funcgrad._src.api import device_put
        from funcgrad._src.numpy.creation import ones

        one = _ONES[key] = device_put(ones((), dtype=dtype), key[1].name)
    return one


def _float0_if_int(g: Any, aval: ShapedArray) -> Any:
    if aval.dtype.kind in "biu":
        return np.zeros(aval.shape, dtype=float0)
    return g


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False, allow_int: bool = False) -> Callable:  # fmt: skip
    """The gradient of scalar-valued ``fun`` with respect to ``args[argnums]``.

    Args:
        fun: returns a 0-d real float array (or ``(value, aux)`` with ``has_aux``).
        argnums: which positional argument(s) to differentiate: an int or a tuple.
        has_aux: return ``(grad, aux)``.
        holomorphic: ``fun`` is holomorphic in complex inputs and returns a complex
            scalar; the result is its complex derivative. Without it a complex output is
            an error, and complex inputs of a real-valued ``fun`` get JAX's
            ``df/dx - i df/dy`` (the conjugate of the ascent direction).
        allow_int: integer inputs get a ``float0`` zero gradient instead of an error.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> float(funcgrad.grad(lambda x: x ** 2)(fnp.asarray(3.0)))
        6.0
        >>> float(funcgrad.grad(funcgrad.grad(fnp.sin))(fnp.asarray(0.0)))
        -0.0
    """
    value_and_grad_fun = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        out, g = value_and_grad_fun(*args, **kwargs)
        return (g, out[1]) if has_aux else g

    return grad_fun


# --- Jacobians ----------------------------------------------------------------------


def _one_hot_basis(avals: list[ShapedArray]) -> tuple[list, list[int]]:
    """The standard basis of the flattened inputs as one batch per leaf: the rows of an
    identity matrix, split per leaf and shaped like it (``(N, *leaf.shape)``)."""
    from funcgrad._src.numpy.creation import eye

    sizes = [int(np.prod(a.shape, dtype=np.int64)) for a in avals]
    total = sum(sizes)
    basis, offset = [], 0
    for a, size in zip(avals, sizes):
        rows = eye(total, size, k=-offset, dtype=a.dtype)
        basis.append(rows.reshape((total, *a.shape)))
        offset += size
    return basis, sizes


def jacfwd(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False) -> Callable:  # fmt: skip
    """The Jacobian of ``fun`` by forward mode: one JVP, vectorised with vmap over the
    standard basis of the inputs.

    The result has shape ``out.shape + in.shape`` for each (output leaf, input leaf).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> funcgrad.jacfwd(lambda x: x ** 2)(fnp.asarray([1.0, 2.0])).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    return _jacobian("jacfwd", fun, argnums, has_aux, holomorphic, forward=True)


def jacrev(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False, allow_int: bool = False) -> Callable:  # fmt: skip
    """The Jacobian of ``fun`` by reverse mode: one linearization, its transpose
    vectorised with vmap over the standard basis of the outputs.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> funcgrad.jacrev(lambda x: x[::-1] * 3.0)(fnp.asarray([1.0, 2.0])).tolist()
        [[0.0, 3.0], [3.0, 0.0]]
    """
    del allow_int
    return _jacobian("jacrev", fun, argnums, has_aux, holomorphic, forward=False)


jacobian = jacrev


def _jacobian(fname, fun, argnums, has_aux, holomorphic, forward):
    argnums = _normalize_argnums(f"funcgrad.{fname}", argnums)

    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        nums = _check_argnums(fname, argnums, len(args))
        diff_flat, diff_trees = [], []
        for n in nums:
            leaves, tree = _flat_args(fname, args[n], f"argument {n}")
            _check_differentiable(fname, n, leaves, False, holomorphic, not forward)
            diff_flat.append(leaves)
            diff_trees.append(tree)
        sizes = [len(leaves) for leaves in diff_flat]
        primals = [x for leaves in diff_flat for x in leaves]

        def flat_fun(*xs):
            call_args, offset = list(args), 0
            for n, tree, size in zip(nums, diff_trees, sizes):
                call_args[n] = tree_unflatten(tree, xs[offset : offset + size])
                offset += size
            return fun(*call_args, **kwargs)

        if forward:
            jac, _, out_tree, aux = _jacfwd_blocks(fname, flat_fun, primals, has_aux)
        else:
            jac, _, out_tree, aux = _jacrev_blocks(fname, flat_fun, primals, has_aux)
        result = []
        for per_input in jac:
            groups, offset = [], 0
            for tree, size in zip(diff_trees, sizes):
                groups.append(tree_unflatten(tree, per_input[offset : offset + size]))
                offset += size
            result.append(groups[0] if isinstance(argnums, int) else tuple(groups))
        out = tree_unflatten(out_tree, result)
        return (out, aux) if has_aux else out

    return jac_fun


def _jacfwd_blocks(fname, flat_fun, primals, has_aux):
    """Jacobian blocks ``[out leaf][in leaf]`` from one JVP vectorised over the input basis."""
    from funcgrad._src.interpreters import batching

    basis, in_sizes = _one_hot_basis([get_aval(p) for p in primals])
    n = sum(in_sizes)
    captured = []

    def pushforward(*tangents):
        trace, out = ad.jvp_flat(flat_fun, primals, list(tangents), current_trace(), fname)
        out, aux = _split_aux(fname, out, has_aux)
        flat, out_tree = tree_flatten(out)
        primal_outs, tangent_outs = ad.unpack_outputs(trace, flat)
        captured.append((out_tree, aux, len(primal_outs)))
        return [*primal_outs, *(ad.instantiate(t) for t in tangent_outs)]

    outs, dims = batching.batch_flat(pushforward, basis, [0] * len(basis), n, transformation=fname)
    out_tree, aux, n_out = captured[-1]
    out_flat = outs[:n_out]
    jac = []
    for y, t, d in zip(out_flat, outs[n_out:], dims[n_out:]):
        t = batching.move_batch_axis(t, d, n, 0)  # (n, *y.shape)
        per_input, offset = [], 0
        for x, size in zip(primals, in_sizes):
            block = t[offset : offset + size]
            per_input.append(
                batching.moveaxis(block, 0, block.ndim - 1).reshape((*y.shape, *x.shape))
            )
            offset += size
        jac.append(per_input)
    return jac, out_flat, out_tree, aux


def _jacrev_blocks(fname, flat_fun, primals, has_aux):
    """Jacobian blocks ``[out leaf][in leaf]`` from one linearization, its transpose
    vectorised over the output basis."""
    from funcgrad._src.interpreters import batching

    lin = _linearize_flat(fname, flat_fun, primals, has_aux)
    basis, out_sizes = _one_hot_basis(lin.out_avals())
    m = sum(out_sizes)
    rows, _ = batching.batch_flat(lambda *cts: _transpose_linearized(lin, list(cts)), basis,
                                  [0] * len(basis), m, move_to=0, transformation=fname)  # fmt: skip
    jac, offset = [], 0
    for y, size in zip(lin.primal_outs, out_sizes):
        shape = get_aval(y).shape
        jac.append(
            [r[offset : offset + size].reshape((*shape, *x.shape)) for r, x in zip(rows, primals)]
        )
        offset += size
    return jac, lin.primal_outs, lin.out_tree, lin.aux


def hessian(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
            holomorphic: bool = False) -> Callable:  # fmt: skip
    """The Hessian of scalar ``fun``: ``jacfwd(jacrev(fun))``.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> funcgrad.hessian(lambda x: fnp.sum(x ** 3))(fnp.asarray([1.0, 2.0])).tolist()
        [[6.0, 0.0], [0.0, 12.0]]
    """
    return jacfwd(jacrev(fun, argnums, has_aux, holomorphic), argnums, has_aux, holomorphic)
