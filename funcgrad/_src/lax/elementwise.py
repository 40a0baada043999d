"""Elementwise primitives: one per backend ufunc, plus select.

Each elementwise primitive is a single backend ufunc, so eager evaluation costs one
kernel call and results are bit-identical to NumPy's. Operands have equal shapes,
except that 0-d operands (including Python scalar literals, which are weakly typed)
broadcast against the rest; ``funcgrad.numpy`` does NumPy broadcasting and dtype
promotion before binding, so primitives never have to. Output dtypes come from the
ufunc's own type resolution, so abstract evaluation agrees with the impl by
construction.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray

# name of the primitive -> name of the ufunc in the array namespace (numpy and cupy alike)
UNARY_UFUNCS = {
    "neg": "negative", "abs": "absolute", "sign": "sign", "floor": "floor", "ceil": "ceil",
    "round": "rint", "trunc": "trunc", "exp": "exp", "exp2": "exp2", "expm1": "expm1",
    "log": "log", "log2": "log2", "log10": "log10", "log1p": "log1p", "sqrt": "sqrt",
    "cbrt": "cbrt", "sin": "sin", "cos": "cos", "tan": "tan", "asin": "arcsin",
    "acos": "arccos", "atan": "arctan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh", "conj": "conjugate",
    "real": "real", "imag": "imag", "is_finite": "isfinite", "is_nan": "isnan",
    "is_inf": "isinf", "not": "invert", "logical_not": "logical_not", "signbit": "signbit",
}  # fmt: skip

BINARY_UFUNCS = {
    "add": "add", "sub": "subtract", "mul": "multiply", "div": "true_divide",
    "floor_div": "floor_divide", "rem": "remainder", "fmod": "fmod", "pow": "power",
    "max": "maximum", "min": "minimum", "fmax": "fmax", "fmin": "fmin", "atan2": "arctan2",
    "hypot": "hypot", "logaddexp": "logaddexp", "logaddexp2": "logaddexp2",
    "copysign": "copysign", "nextafter": "nextafter", "and": "bitwise_and",
    "or": "bitwise_or", "xor": "bitwise_xor", "shift_left": "left_shift",
    "shift_right": "right_shift", "logical_and": "logical_and", "logical_or": "logical_or",
    "logical_xor": "logical_xor", "eq": "equal", "ne": "not_equal", "lt": "less",
    "le": "less_equal", "gt": "greater", "ge": "greater_equal",
}  # fmt: skip

# real/imag are methods-as-functions in NumPy, not ufuncs; their dtype rule is abs's.
_DTYPE_RESOLVER_ALIASES = {"real": "absolute", "imag": "absolute"}


@lru_cache(maxsize=4096)
def ufunc_loop_dtypes(ufunc_name: str, in_dtypes: tuple) -> tuple:
    """(input dtypes, output dtype) of NumPy's loop for ``in_dtypes``.

    Weak Python scalars appear as their type (``float``), as NumPy's resolver expects.
    Raises TypeError naming the ufunc when no loop exists (e.g. bitwise ops on floats).
    """
    name = _DTYPE_RESOLVER_ALIASES.get(ufunc_name, ufunc_name)
    ufunc = getattr(np, name)
    try:
        loop = ufunc.resolve_dtypes((*in_dtypes, None))
    except TypeError:
        shown = ", ".join(getattr(d, "__name__", str(d)) for d in in_dtypes)
        raise TypeError(f"{ufunc_name} is not defined for operands of dtype ({shown})") from None
    return loop[:-1], loop[-1]


def _operand_dtype_key(aval: ShapedArray):
    """Weak scalars enter NumPy's resolver as Python types (bool is already the lowest kind)."""
    if aval.weak_type and aval.dtype.kind != "b":
        return {"i": int, "f": float, "c": complex}[aval.dtype.kind]
    return aval.dtype


def elementwise_shape(name: str, avals) -> tuple[int, ...]:
    """The common shape of elementwise operands: equal shapes, 0-d ones broadcasting."""
    shape = ()
    for a in avals:
        if a.shape and a.shape != shape:
            if shape:
                shapes = " ".join(str(b.shape) for b in avals)
                raise ValueError(
                    f"{name}: operand shapes {shapes} differ; the primitive needs equal "
                    f"shapes (funcgrad.numpy functions broadcast for you)"
                )
            shape = a.shape
    return shape


def _make_ufunc_primitive(name: str, ufunc_name: str) -> Primitive:
    prim = Primitive(name)

    def impl(backend, *xs):
        return [getattr(backend.xp, ufunc_name)(*xs)]

    def abstract_eval(*avals):
        shape = elementwise_shape(name, avals)
        _, out_dtype = ufunc_loop_dtypes(ufunc_name, tuple(map(_operand_dtype_key, avals)))
        return [ShapedArray(shape, out_dtype)]

    prim.impl = impl
    prim.abstract_eval = abstract_eval
    return prim


unary_primitives = {n: _make_ufunc_primitive(n, u) for n, u in UNARY_UFUNCS.items()}
binary_primitives = {n: _make_ufunc_primitive(n, u) for n, u in BINARY_UFUNCS.items()}

# Module-level names (neg_p, add_p, ...) for rules and wrappers to refer to.
globals().update({f"{n}_p": p for n, p in unary_primitives.items()})
globals().update({f"{n}_p": p for n, p in binary_primitives.items()})


# --- select: where(pred, on_true, on_false) ------------------------------------------

select_p = Primitive("select")


def _select_impl(backend, pred, on_true, on_false):
    return [backend.xp.where(pred, on_true, on_false)]


def _select_abstract_eval(pred, on_true, on_false):
    shape = elementwise_shape("select", (pred, on_true, on_false))
    if pred.dtype != np.bool_:
        raise TypeError(f"select: the predicate must be bool, got {pred.dtype}")
    if not on_true.weak_type and not on_false.weak_type and on_true.dtype != on_false.dtype:
        raise TypeError(
            f"select: branches must have one dtype, got {on_true.dtype} and {on_false.dtype}"
        )
    dtype = on_false.dtype if on_true.weak_type else on_true.dtype
    return [ShapedArray(shape, dtype)]


select_p.impl = _select_impl
select_p.abstract_eval = _select_abstract_eval
