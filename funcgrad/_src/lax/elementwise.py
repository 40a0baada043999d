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
    "copysign": "copysign", "nextafter": "nextafter", "heaviside": "heaviside", "and": "bitwise_and",
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


def _result_is_weak(avals, out_dtype: np.dtype) -> bool:
    """A result computed only from weak scalars is itself weak (``lr * 0.5`` still yields to
    a float32 array, as the Python product would), except a bool one: comparisons and
    logical functions give ordinary (strong) bool arrays, as in JAX."""
    return out_dtype.kind != "b" and all(a.weak_type for a in avals)


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
        return [ShapedArray(shape, out_dtype, _result_is_weak(avals, out_dtype))]

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
    xp = backend.xp
    # where() is not a ufunc: a weak Python scalar branch must take the other branch's
    # dtype explicitly, or NumPy would promote (bool array vs 0 -> int64).
    weak_true, weak_false = type(on_true) in _PY_SCALARS, type(on_false) in _PY_SCALARS
    if weak_true and not weak_false:
        on_true = xp.asarray(on_true, dtype=on_false.dtype)
    elif weak_false and not weak_true:
        on_false = xp.asarray(on_false, dtype=on_true.dtype)
    return [backend.select(pred, on_true, on_false)]


_PY_SCALARS = (bool, int, float, complex)


def _select_abstract_eval(pred, on_true, on_false):
    shape = elementwise_shape("select", (pred, on_true, on_false))
    if pred.dtype != np.bool_:
        raise TypeError(f"select: the predicate must be bool, got {pred.dtype}")
    if not on_true.weak_type and not on_false.weak_type and on_true.dtype != on_false.dtype:
        raise TypeError(
            f"select: branches must have one dtype, got {on_true.dtype} and {on_false.dtype}"
        )
    dtype = on_false.dtype if on_true.weak_type else on_true.dtype
    return [ShapedArray(shape, dtype, not shape and on_true.weak_type and on_false.weak_type)]


select_p.impl = _select_impl
select_p.abstract_eval = _select_abstract_eval


# --- differentiation rules ------------------------------------------------------------
# Rules bind primitives directly (no promotion needed: tangents share their primal's
# dtype). ``t`` is a tangent, ``x``/``y`` the primals, ``out`` the primal output.

from funcgrad._src.interpreters.ad import (  # noqa: E402  (rules need the primitives above)
    UndefinedPrimal,
    Zero,
    defjvp,
    defjvp_zero,
    is_undefined,
    unbroadcast,
    zeros_like_aval,
)


def _folding(prim: Primitive, python_op):
    """``prim.bind1`` for rules, computing in Python when every operand is a Python scalar:
    binding two literals eagerly would give a strong float64 array, which would then
    promote a float32 tangent (``atan2(x, 2.0)``'s ``2.0 * 2.0``); the Python result
    stays weak."""
    bind = prim.bind1

    def apply(x, y):
        if type(x) in _PY_SCALARS and type(y) in _PY_SCALARS:
            return python_op(x, y)
        return bind(x, y)

    return apply


_neg, _div = neg_p.bind1, div_p.bind1  # noqa: F821
_add = _folding(add_p, lambda x, y: x + y)  # noqa: F821
_sub = _folding(sub_p, lambda x, y: x - y)  # noqa: F821
_mul = _folding(mul_p, lambda x, y: x * y)  # noqa: F821
_sqrt, _exp, _log, _sin, _cos = sqrt_p.bind1, exp_p.bind1, log_p.bind1, sin_p.bind1, cos_p.bind1  # noqa: F821
_select, _eq, _gt, _lt = select_p.bind1, eq_p.bind1, gt_p.bind1, lt_p.bind1  # noqa: F821


def _share(t, pick, tie):
    """``t`` where ``pick``, ``t / 2`` where ``tie``, else 0: extrema split ties equally.

    The weights are computed from the primals only (so partial evaluation runs them once,
    eagerly) in the tangent's dtype; the tangent program gets a single multiplication.
    """
    from funcgrad._src.lax.structural import convert_element_type_p

    dt = t.dtype
    # pick + tie / 2 (pick and tie never overlap); arithmetic on cast masks is several
    # times faster than select with scalar branches on NumPy
    weights = _add(convert_element_type_p.bind1(pick, new_dtype=dt),
                   _mul(convert_element_type_p.bind1(tie, new_dtype=dt), 0.5))  # fmt: skip
    return _mul(t, weights)


def _step(t, a, b):
    """``t`` where ``a > b``, ``t / 2`` where ``a == b`` (equal infinities included), else
    0 (NaN compares false: 0): the extrema's tie-splitting weights, computed as
    ``((a > b) + (a >= b)) / 2`` from two comparisons. (Not ``heaviside(a - b, 1/2)``:
    ``inf - inf`` is NaN, and NumPy's heaviside loop is unvectorised and 8x slower;
    under jit and on the eager tape the casts fold into the addition.)"""
    from funcgrad._src.lax.structural import convert_element_type_p

    dt = t.dtype
    half = np.array(0.5, dtype=dt)[()]
    above = convert_element_type_p.bind1(_gt(a, b), new_dtype=dt)
    at_or_above = convert_element_type_p.bind1(ge_p.bind1(a, b), new_dtype=dt)  # noqa: F821
    return _mul(t, _mul(_add(above, at_or_above), half))


def _ct_or_none(operand, ct):
    return unbroadcast(operand.aval, ct) if type(operand) is UndefinedPrimal else None


# Linear unary: neg, and the complex parts.
def _neg_transpose(cts, x):
    (ct,) = cts
    return [Zero(x.aval) if type(ct) is Zero else _neg(ct)]


neg_p.jvp = lambda primals, tangents: ([_neg(primals[0])], [_neg(tangents[0])])  # noqa: F821
neg_p.transpose = _neg_transpose  # noqa: F821
neg_p.linear = True  # noqa: F821

for _p in (conj_p, real_p, imag_p):  # noqa: F821
    # For real operands these are identity-like; complex autodiff follows JAX (no conjugation).
    _p.jvp = (lambda p: lambda primals, tangents: ([p.bind1(primals[0])], [p.bind1(tangents[0])]))(
        _p
    )


def _to_complex(ct, aval):
    # A real cotangent entering a complex operand: a cast, whose own transpose takes the real
    # part, so that higher-order reverse mode never leaks an imaginary part into a real value.
    from funcgrad._src.lax.structural import convert_element_type_p

    return convert_element_type_p.bind1(ct, new_dtype=aval.dtype)


real_p.transpose = lambda cts, x: [
    cts[0] if x.aval.dtype.kind != "c" else _to_complex(cts[0], x.aval)
]  # noqa: F821
imag_p.transpose = lambda cts, x: [  # noqa: F821
    _mul(_to_complex(_neg(cts[0]), x.aval), 1j) if x.aval.dtype.kind == "c" else Zero(x.aval)
]
conj_p.transpose = lambda cts, x: [conj_p.bind1(cts[0])]  # noqa: F821

# Piecewise-constant and boolean-valued functions have zero derivative.
for _name in ("sign", "floor", "ceil", "round", "trunc", "is_finite", "is_nan", "is_inf", "not",
              "logical_not", "signbit", "floor_div", "nextafter", "heaviside", "and", "or", "xor",
              "shift_left", "shift_right", "logical_and", "logical_or", "logical_xor", "eq",
              "ne", "lt", "le", "gt", "ge"):  # fmt: skip
    defjvp_zero({**unary_primitives, **binary_primitives}[_name])


def _abs_jvp_fn(t, x, *, out):
    if x.dtype.kind == "c":  # d|z| = Re(conj(z) dz) / |z|, taken as 0 at z = 0 (as in JAX)
        safe = _select(_eq(out, 0), np.ones((), out.dtype)[()], out)
        return _div(real_p.bind1(_mul(conj_p.bind1(x), t)), safe)  # noqa: F821
    # d|x| = t where x >= 0 (0 and -0.0 included), -t elsewhere: JAX's convention, so
    # grad(abs)(0.) is 1 (sign(x) would give 0). The weight comes from the primal only.
    one = np.ones((), x.dtype)[()]
    return _mul(t, _select(ge_p.bind1(x, 0), one, -one))  # noqa: F821


defjvp(abs_p, _abs_jvp_fn)  # noqa: F821
defjvp(exp_p, lambda t, x, *, out: _mul(t, out))  # noqa: F821
defjvp(exp2_p, lambda t, x, *, out: _mul(t, _mul(out, float(np.log(2)))))  # noqa: F821
defjvp(expm1_p, lambda t, x, *, out: _mul(t, _add(out, 1)))  # noqa: F821
defjvp(log_p, lambda t, x, *, out: _div(t, x))  # noqa: F821
defjvp(log2_p, lambda t, x, *, out: _div(t, _mul(x, float(np.log(2)))))  # noqa: F821
defjvp(log10_p, lambda t, x, *, out: _div(t, _mul(x, float(np.log(10)))))  # noqa: F821
defjvp(log1p_p, lambda t, x, *, out: _div(t, _add(x, 1)))  # noqa: F821
defjvp(sqrt_p, lambda t, x, *, out: _div(t, _mul(out, 2)))  # noqa: F821
defjvp(cbrt_p, lambda t, x, *, out: _div(t, _mul(_mul(out, out), 3)))  # noqa: F821
defjvp(sin_p, lambda t, x, *, out: _mul(t, _cos(x)))  # noqa: F821
defjvp(cos_p, lambda t, x, *, out: _neg(_mul(t, _sin(x))))  # noqa: F821
defjvp(tan_p, lambda t, x, *, out: _mul(t, _add(_mul(out, out), 1)))  # noqa: F821
defjvp(asin_p, lambda t, x, *, out: _div(t, _sqrt(_sub(1, _mul(x, x)))))  # noqa: F821
defjvp(acos_p, lambda t, x, *, out: _neg(_div(t, _sqrt(_sub(1, _mul(x, x))))))  # noqa: F821
defjvp(atan_p, lambda t, x, *, out: _div(t, _add(_mul(x, x), 1)))  # noqa: F821
defjvp(sinh_p, lambda t, x, *, out: _mul(t, cosh_p.bind1(x)))  # noqa: F821
defjvp(cosh_p, lambda t, x, *, out: _mul(t, sinh_p.bind1(x)))  # noqa: F821
defjvp(tanh_p, lambda t, x, *, out: _mul(t, _sub(1, _mul(out, out))))  # noqa: F821
defjvp(asinh_p, lambda t, x, *, out: _div(t, _sqrt(_add(_mul(x, x), 1))))  # noqa: F821
defjvp(acosh_p, lambda t, x, *, out: _div(t, _mul(_sqrt(_sub(x, 1)), _sqrt(_add(x, 1)))))  # noqa: F821
defjvp(atanh_p, lambda t, x, *, out: _div(t, _sub(1, _mul(x, x))))  # noqa: F821


# Linear binary: add and sub in both operands, mul in each, div in the numerator.
def _add_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    out = _add(x, y)
    if type(tx) is Zero:
        return [out], [_broadcast_tangent(ty, out)]
    if type(ty) is Zero:
        return [out], [_broadcast_tangent(tx, out)]
    return [out], [_add(tx, ty)]


def _broadcast_tangent(t, out):
    """A 0-d operand's tangent, broadcast to the output's shape when the output is larger."""
    from funcgrad._src.lax.structural import broadcast_in_dim_p

    shape = np.shape(out) if not hasattr(out, "shape") else out.shape
    if t.shape == shape:
        return t
    return broadcast_in_dim_p.bind1(t, shape=shape, broadcast_dimensions=())


def _sub_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    out = _sub(x, y)
    if type(ty) is Zero:
        return [out], [_broadcast_tangent(tx, out)]
    if type(tx) is Zero:
        return [out], [_broadcast_tangent(_neg(ty), out)]
    return [out], [_sub(tx, ty)]


def _add_transpose(cts, x, y):
    (ct,) = cts
    return [_ct_or_none(x, ct), _ct_or_none(y, ct)]


def _sub_transpose(cts, x, y):
    (ct,) = cts
    neg_ct = ct if type(ct) is Zero or not is_undefined(y) else _neg(ct)
    return [_ct_or_none(x, ct), _ct_or_none(y, neg_ct)]


def _mul_transpose(cts, x, y):
    (ct,) = cts
    x_linear, y_linear = type(x) is UndefinedPrimal, type(y) is UndefinedPrimal
    if type(ct) is Zero:
        return [Zero(x.aval) if x_linear else None, Zero(y.aval) if y_linear else None]
    if x_linear:
        if y_linear:
            raise ValueError(
                "mul: transpose of a product of two linear values (the program is not linear)"
            )
        return [unbroadcast(x.aval, _mul(ct, y)), None]
    return [None, unbroadcast(y.aval, _mul(x, ct))]


def _div_transpose(cts, x, y):
    (ct,) = cts
    if is_undefined(y):
        raise ValueError(
            "div: transpose with respect to the denominator (the program is not linear)"
        )
    return [Zero(x.aval) if type(ct) is Zero else unbroadcast(x.aval, _div(ct, y)), None]


add_p.jvp, add_p.transpose, add_p.linear = _add_jvp, _add_transpose, True  # noqa: F821
sub_p.jvp, sub_p.transpose, sub_p.linear = _sub_jvp, _sub_transpose, True  # noqa: F821
defjvp(mul_p, lambda t, x, y, *, out: _mul(t, y), lambda t, x, y, *, out: _mul(x, t))  # noqa: F821
mul_p.transpose = _mul_transpose  # noqa: F821
defjvp(div_p, lambda t, x, y, *, out: _div(t, y),  # noqa: F821
       lambda t, x, y, *, out: _neg(_mul(t, _div(out, y))))  # fmt: skip
div_p.transpose = _div_transpose  # noqa: F821


# Non-linear binary.
def _pow_exponent_jvp(t, x, y, *, out):
    # d/dy x**y = x**y log x, taken as 0 where x == 0 (the limit for y > 0)
    if type(x) in _PY_SCALARS:  # a literal base, e.g. 10.0 ** y
        safe_log = complex(np.log(x)) if type(x) is complex else float(np.log(x)) if x else 0.0
    elif x.dtype.kind == "c":
        safe_log = _log(x)
    else:
        safe_log = _log(_select(_eq(x, 0), 1.0, x))
    return _mul(t, _mul(out, safe_log))


def _pow_base_jvp(t, x, y, *, out):
    # d/dx x**y = y x**(y-1), written without dividing by x so that x == 0 works, and
    # taken as exactly 0 where y == 0 (x**0 is constant; 0 * 0**-1 would be NaN). That
    # also makes grad(grad(x ** 1.0)) at 0 zero: its inner x**0.0 has derivative 0 (JAX's
    # rule). A Python exponent stays a (weak) Python number: y - 1 must not become int64.
    if type(y) in _PY_SCALARS:
        if y == 0:
            return Zero(out.aval.update(weak_type=False))
        return _mul(t, _mul(y, pow_p.bind1(x, y - 1)))  # noqa: F821
    derivative = _mul(y, pow_p.bind1(x, _sub(y, 1)))  # noqa: F821
    derivative = _select(_eq(y, 0), _zero_of(derivative), derivative)
    return _mul(t, derivative)


def _zero_of(x):
    return np.zeros((), x.dtype)[()]


defjvp(pow_p, _pow_base_jvp, _pow_exponent_jvp)  # noqa: F821

# max/min (and NaN-ignoring fmax/fmin): the gradient goes to the selected operand; on
# ties it is split equally between both (as in JAX).
defjvp(
    max_p,
    lambda t, x, y, *, out: _step(t, x, y),
    lambda t, x, y, *, out: _step(t, y, x),
)  # noqa: F821 fmt: skip
defjvp(
    min_p,
    lambda t, x, y, *, out: _step(t, y, x),
    lambda t, x, y, *, out: _step(t, x, y),
)  # noqa: F821 fmt: skip


def _fextremum_jvps(better):
    def pick(a, b):  # a wins where it is better, or where b is NaN
        return or_p.bind1(better(a, b), is_nan_p.bind1(b))  # noqa: F821

    return (lambda t, x, y, *, out: _share(t, pick(x, y), _eq(x, y)),
            lambda t, x, y, *, out: _share(t, pick(y, x), _eq(x, y)))  # fmt: skip


defjvp(fmax_p, *_fextremum_jvps(_gt))  # noqa: F821
defjvp(fmin_p, *_fextremum_jvps(_lt))  # noqa: F821
# rem(x, y) = x - floor(x / y) y and fmod(x, y) = x - trunc(x / y) y; the quotient is
# taken from x and y directly (from x - out it could round to the neighbouring integer).
defjvp(
    rem_p,
    lambda t, x, y, *, out: t,  # noqa: F821
    lambda t, x, y, *, out: _neg(_mul(t, floor_div_p.bind1(x, y))),
)  # noqa: F821 fmt: skip
defjvp(
    fmod_p,
    lambda t, x, y, *, out: t,  # noqa: F821
    lambda t, x, y, *, out: _neg(_mul(t, trunc_p.bind1(_div(x, y)))),
)  # noqa: F821 fmt: skip


def _atan2_denominator(x, y):
    return _add(_mul(x, x), _mul(y, y))


# atan2(x, y) = angle of the point (y, x): d = (y dx - x dy) / (x^2 + y^2)
defjvp(atan2_p, lambda t, x, y, *, out: _mul(t, _div(y, _atan2_denominator(x, y))),  # noqa: F821
       lambda t, x, y, *, out: _neg(_mul(t, _div(x, _atan2_denominator(x, y)))))  # fmt: skip
defjvp(hypot_p, lambda t, x, y, *, out: _mul(t, _div(x, out)),  # noqa: F821
       lambda t, x, y, *, out: _mul(t, _div(y, out)))  # fmt: skip
defjvp(logaddexp_p, lambda t, x, y, *, out: _mul(t, _exp(_sub(x, out))),  # noqa: F821
       lambda t, x, y, *, out: _mul(t, _exp(_sub(y, out))))  # fmt: skip
defjvp(
    logaddexp2_p,
    lambda t, x, y, *, out: _mul(t, exp2_p.bind1(_sub(x, out))),  # noqa: F821
    lambda t, x, y, *, out: _mul(t, exp2_p.bind1(_sub(y, out))),
)  # noqa: F821 fmt: skip
# copysign(x, y) = |x| sign(y): d/dx = sign(x) sign(out), piecewise constant in y
defjvp(
    copysign_p,
    lambda t, x, y, *, out: _select(  # noqa: F821
        eq_p.bind1(signbit_p.bind1(x), signbit_p.bind1(out)), t, _neg(t)
    ),
    None,
)  # noqa: F821 fmt: skip


# select: linear in both branches.
def _select_jvp(primals, tangents):
    pred, a, b = primals
    _, ta, tb = tangents
    out = _select(pred, a, b)
    out_aval = ShapedArray(out.shape, out.dtype)
    if type(ta) is Zero and type(tb) is Zero:
        return [out], [Zero(out_aval)]
    # A zero branch tangent takes the output's type (a literal branch's own type may be int).
    ta = zeros_like_aval(out_aval) if type(ta) is Zero else _broadcast_tangent(ta, out)
    tb = zeros_like_aval(out_aval) if type(tb) is Zero else _broadcast_tangent(tb, out)
    return [out], [_select(pred, ta, tb)]


def _select_transpose(cts, pred, a, b):
    (ct,) = cts
    if type(ct) is Zero:
        return [None, _ct_or_none(a, ct), _ct_or_none(b, ct)]
    # true zeros where the other branch was taken (not ct * 0, which is NaN where ct is
    # infinite): the branch not taken receives no gradient at all
    return [
        None,
        unbroadcast(a.aval, _select(pred, ct, 0)) if is_undefined(a) else None,
        unbroadcast(b.aval, _select(pred, 0, ct)) if is_undefined(b) else None,
    ]


select_p.jvp, select_p.transpose, select_p.linear = _select_jvp, _select_transpose, True


# --- batching: an elementwise primitive maps over any batch dimension -----------------

from funcgrad._src.interpreters.batching import defbroadcasting  # noqa: E402

defbroadcasting(*unary_primitives.values(), *binary_primitives.values(), select_p)
