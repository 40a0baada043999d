"""Op records (see test_primitives.py) for the special-function primitives of
``funcgrad._src.lax.special``, with SciPy as the reference.

Operands: one float dtype, a shape, optionally a 0-d second operand, drawn inside each
function's domain. SciPy computes in float64; its result is cast to the operand dtype
(the primitives compute in float64 and round once, so float16/32 agree to a rounding).
"""

from __future__ import annotations

import mpmath
import numpy as np
import scipy.special as sp
from hypothesis import strategies as st
from op_record import OpRecord
from oracle import arrays, dtypes, shapes

# name -> (SciPy reference on float64 operands, per-operand (min, max) domains)
_SPECIAL = {
    "erf": (sp.erf, [(-6, 6)]),
    "erfc": (sp.erfc, [(-6, 20)]),
    "erf_inv": (sp.erfinv, [(-0.999, 0.999)]),
    "ndtri": (sp.ndtri, [(1e-6, 0.999999)]),
    "lgamma": (sp.gammaln, [(0.01, 50)]),
    "digamma": (sp.digamma, [(0.01, 50)]),
    "bessel_i0e": (sp.i0e, [(-50, 50)]),
    "bessel_i1e": (sp.i1e, [(-50, 50)]),
    "igamma": (sp.gammainc, [(0.1, 20), (0.0, 30)]),
    "igammac": (sp.gammaincc, [(0.1, 20), (0.0, 30)]),
    "zeta": (sp.zeta, [(1.1, 10), (0.1, 10)]),
    "polygamma": (lambda n, x: sp.polygamma(np.round(n).astype(int), x), [(0, 3), (0.1, 10)]),
    "betainc": (sp.betainc, [(0.1, 10), (0.1, 10), (0.0, 1.0)]),
    "exp1": (sp.exp1, [(0.01, 50)]),
    "expi": (sp.expi, [(-30, 60)]),
    "expn": (lambda n, x: sp.expn(np.round(n).astype(int), x), [(0, 8), (0.05, 30)]),
    "spence": (sp.spence, [(0.0, 20)]),
    # mpmath, not SciPy: scipy.special.hyp1f1 gives inf for tiny negative x (e.g. -4e-229)
    "hyp1f1": (
        np.vectorize(lambda a, b, x: float(mpmath.hyp1f1(a, b, x)), otypes=[np.float64]),
        [(0.1, 4), (0.5, 5), (-10, 10)],
    ),
    "erfcx": (sp.erfcx, [(-5, 20)]),
    "fresnel_s": (lambda x: sp.fresnel(x)[0], [(-5, 5)]),
    "fresnel_c": (lambda x: sp.fresnel(x)[1], [(-5, 5)]),
    "sici_si": (lambda x: sp.sici(x)[0], [(-10, 10)]),
    "sici_ci": (lambda x: sp.sici(x)[1], [(3.6, 6.2)]),  # between two zeros of Ci
    "hyp2f1": (sp.hyp2f1, [(0.1, 3), (0.1, 3), (0.5, 5), (-3, 0.8)]),
}


def _draw(name, domains):
    def draw(data):
        dtype = data.draw(dtypes("f"), label="dtype")
        shape = data.draw(shapes(max_dims=2), label="shape")
        operands = []
        for i, (lo, hi) in enumerate(domains):
            s = () if i and data.draw(st.booleans(), label=f"operand {i} is 0-d") else shape
            x = data.draw(arrays(np.float64, s, min_value=lo, max_value=hi), label=f"x{i}")
            if name in ("polygamma", "expn") and i == 0:
                x = np.round(x)
            operands.append(x.astype(dtype))
        return operands, {}

    return draw


def _reference(fn):
    def reference(*operands):
        dtype = np.result_type(*operands)
        with np.errstate(all="ignore"):
            out = fn(*(np.asarray(x, np.float64) for x in operands))
        return [np.asarray(out).astype(dtype)]

    return reference


# Operands without a derivative, as in JAX: zeta's x, polygamma's m, betainc's a and b,
# expn's n, hyp1f1's a and b, hyp2f1's a, b and c.
_NONDIFF = {"zeta": (0,), "polygamma": (0,), "betainc": (0, 1), "expn": (0,), "hyp1f1": (0, 1),
            "hyp2f1": (0, 1, 2)}  # fmt: skip

RECORDS = [
    OpRecord(name, _draw(name, domains), _reference(fn), rtol=1e-11, nondiff=_NONDIFF.get(name, ()))
    for name, (fn, domains) in _SPECIAL.items()
]


def _central_difference_in_a(fn):
    """d fn(a, x) / da by a central difference in float64 (h relative to a): accurate to
    about 1e-8, an oracle independent of funcgrad's series and continued fractions."""

    def derivative(a, x):
        a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
        h = 1e-5 * a
        return (fn(a + h, x) - fn(a - h, x)) / (2 * h)

    return derivative


def _gamma_sample_derivative(a, x):
    """d x / d a at a fixed quantile q = P(a, x): the implicit reparameterisation derivative."""
    q = sp.gammainc(a, x)
    return _central_difference_in_a(lambda a_, _: sp.gammaincinv(a_, q))(a, x)


# The derivative helpers behind gamma's gradients, checked against SciPy by differences
# (not differentiable themselves, as in JAX).
RECORDS += [
    OpRecord(
        "igamma_grad_a",
        _draw("igamma_grad_a", [(0.5, 8), (0.5, 8)]),
        _reference(_central_difference_in_a(sp.gammainc)),
        rtol=1e-6,
        nondiff=(0, 1),
    ),
    OpRecord(
        "random_gamma_grad",
        _draw("random_gamma_grad", [(0.5, 8), (0.5, 8)]),
        _reference(_gamma_sample_derivative),
        rtol=1e-6,
        nondiff=(0, 1),
    ),
]
