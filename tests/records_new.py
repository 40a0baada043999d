"""Op records (see test_primitives.py) for the primitives defined outside funcgrad._src.lax:
``threefry2x32`` (funcgrad/_src/threefry.py) and the scipy.special primitives ``dawsn`` and
``wofz``. (``eig`` has sign/phase freedom: it is checked through invariants in
test_primitives.py.)

References: Threefry-2x32 written below from its specification on NumPy words, and
``scipy.special.dawsn`` / ``scipy.special.wofz`` in float64 / complex128, rounded once to the
operand dtype (the primitives also compute in double precision and round once).
"""

from __future__ import annotations

import numpy as np
import scipy.special as sp
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_record import OpRecord
from oracle import dtypes, shapes

# --- threefry2x32 ---------------------------------------------------------------------------

_WORD = np.uint64(0xFFFFFFFF)
# Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC 2011), Threefry-2x32:
# round r rotates by _ROTATION[r % 8]; the key schedule word is k0 ^ k1 ^ parity.
_ROTATION = (13, 15, 26, 6, 17, 29, 16, 24)
_PARITY = np.uint64(0x1BD11BDA)


def _threefry2x32_reference(k0, k1, x0, x1):
    """Threefry-2x32 with 20 rounds on uint64 NumPy words (sums reduced modulo 2^32 by hand),
    broadcasting 0-d operands: key injection before round 0 and after every 4th round, the
    s-th injection adding schedule words s mod 3 and s + 1 mod 3, plus s to the second."""
    words = (np.asarray(w).astype(np.uint64) for w in (k0, k1, x0, x1))
    k0, k1, x0, x1 = np.broadcast_arrays(*words)
    schedule = (k0, k1, k0 ^ k1 ^ _PARITY)

    def inject(a, b, s):
        return (a + schedule[s % 3]) & _WORD, (b + schedule[(s + 1) % 3] + np.uint64(s)) & _WORD

    a, b = inject(x0, x1, 0)
    for r in range(20):
        rotation = _ROTATION[r % 8]
        a = (a + b) & _WORD
        b = a ^ (((b << np.uint64(rotation)) | (b >> np.uint64(32 - rotation))) & _WORD)
        if r % 4 == 3:
            a, b = inject(a, b, r // 4 + 1)
    return [np.asarray(a).astype(np.uint32), np.asarray(b).astype(np.uint32)]


def _threefry2x32_draw(data):
    """Four uint32 words over their whole range, each of one drawn shape or 0-d (sizes past
    the kernel's Python-integer cutoff included)."""
    shape = data.draw(shapes(max_dims=3, max_side=4), label="shape")
    words = []
    for i in range(4):
        s = () if data.draw(st.booleans(), label=f"word {i} is 0-d") else shape
        words.append(data.draw(hnp.arrays(np.uint32, s, elements=st.integers(0, 2**32 - 1)),
                               label=f"word {i}"))  # fmt: skip
    return words, {}


# --- dawsn and wofz -------------------------------------------------------------------------


def _magnitudes(lo: float = 0.0) -> st.SearchStrategy[float]:
    """Non-negative values in each of the kernels' regimes: the series (< 0.5), the rational
    approximation (< 6), the continued fraction (up to 1e3)."""
    return st.one_of(st.floats(lo, 0.5), st.floats(0.5, 6.0), st.floats(6.0, 1e3))


_SIGNED = st.builds(lambda m, negative: -m if negative else m, _magnitudes(), st.booleans())


@st.composite
def _complex_points(draw):
    """Points of both half planes: the upper one (and the real axis) anywhere, the lower one
    where ``|exp(-z^2)| = exp(y^2 - x^2)`` stays representable in complex64 (``y^2 - x^2 <=
    9``), as ``w(z) = 2 exp(-z^2) - w(-z)`` overflows there for SciPy too."""
    x = draw(_SIGNED)
    region = draw(st.sampled_from(["upper", "real axis", "lower, near the axis", "lower"]))
    if region == "upper":
        return complex(x, draw(_magnitudes()))
    if region == "real axis":
        return complex(x, 0.0)
    if region == "lower, near the axis":
        return complex(x, -draw(st.floats(0.0, 3.0)))
    return complex(x, -draw(st.floats(0.0, 0.9)) * abs(x))


def _dawsn_draw(data):
    dtype = data.draw(dtypes("f"), label="dtype")
    shape = data.draw(shapes(max_dims=2), label="shape")
    x = data.draw(hnp.arrays(np.float64, shape, elements=_SIGNED), label="x")
    return [x.astype(dtype)], {}


def _wofz_draw(data):
    dtype = data.draw(dtypes("c"), label="dtype")
    shape = data.draw(shapes(max_dims=2), label="shape")
    z = data.draw(hnp.arrays(np.complex128, shape, elements=_complex_points()), label="z")
    return [z.astype(dtype)], {}


def _rounded_once(fn, wide):
    """``fn`` on the operand widened to ``wide``, its result rounded to the operand dtype."""

    def reference(x):
        with np.errstate(all="ignore"):
            return [np.asarray(fn(np.asarray(x, wide))).astype(x.dtype)]

    return reference


RECORDS = [
    OpRecord("threefry2x32", _threefry2x32_draw, _threefry2x32_reference, nondiff=(0, 1, 2, 3)),
    OpRecord("dawsn", _dawsn_draw, _rounded_once(sp.dawsn, np.float64), rtol=1e-12),
    OpRecord("wofz", _wofz_draw, _rounded_once(sp.wofz, np.complex128), rtol=1e-12),
]
