"""The type names ``jax.lax`` exports for annotations and options:
``ConvGeneralDilatedDimensionNumbers``, ``DotDimensionNumbers``, ``PrecisionLike``,
``AccuracyMode`` and ``Tolerance``."""

from __future__ import annotations

import enum
from collections.abc import Sequence

from funcgrad._src.lax.compositions import Precision
from funcgrad._src.lax.convolution import ConvDimensionNumbers

__all__ = [
    "AccuracyMode", "ConvGeneralDilatedDimensionNumbers", "DotDimensionNumbers",
    "PrecisionLike", "Tolerance",
]  # fmt: skip

#: What ``conv_general_dilated`` accepts as ``dimension_numbers``: None (NCHW, OIHW,
#: NCHW), three layout strings, or a :class:`ConvDimensionNumbers`.
ConvGeneralDilatedDimensionNumbers = tuple[str, str, str] | ConvDimensionNumbers | None

#: ``dot_general``'s ``((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))``.
DotDimensionNumbers = tuple[
    tuple[Sequence[int], Sequence[int]], tuple[Sequence[int], Sequence[int]]
]

#: What ``precision=`` arguments accept (funcgrad ignores the hint: NumPy and CuPy compute
#: in the operands' dtype). JAX's ``DotAlgorithm`` presets are not offered.
PrecisionLike = str | Precision | tuple[str, str] | tuple[Precision, Precision] | None


class AccuracyMode(enum.Enum):
    """JAX's accuracy request for transcendental functions (``HIGHEST`` or ``DEFAULT``).

    Kept for annotations and JAX-compatible code: funcgrad's lax functions take no
    ``accuracy`` argument, since NumPy and CuPy always evaluate them at full precision
    of the dtype (the ``HIGHEST`` behaviour).
    """

    HIGHEST = 1
    DEFAULT = 2


class Tolerance:
    """A requested accuracy for a unary function: ``atol`` and ``rtol``, or ``atol`` and
    ``ulps`` (at least one non-zero, all non-negative), validated as in JAX.

    Like :class:`AccuracyMode`, kept for JAX compatibility: funcgrad's functions always
    run at the dtype's full precision, which meets any tolerance.

    Examples:
        >>> from funcgrad import lax
        >>> t = lax.Tolerance(atol=1e-6, rtol=1e-6)
        >>> t.atol, t.ulps
        (1e-06, 0)
    """

    def __init__(self, atol: float = 0.0, rtol: float = 0.0, ulps: int = 0):
        if atol < 0.0 or rtol < 0.0 or ulps < 0:
            raise ValueError(
                f"funcgrad.lax.Tolerance: atol, rtol and ulps must be non-negative, got "
                f"atol={atol}, rtol={rtol}, ulps={ulps}"
            )
        if atol == 0.0 and rtol == 0.0 and ulps == 0:
            raise ValueError("funcgrad.lax.Tolerance: set at least one of atol, rtol or ulps")
        self.atol = atol
        self.rtol = rtol
        self.ulps = ulps

    def __repr__(self) -> str:
        return f"Tolerance(atol={self.atol}, rtol={self.rtol}, ulps={self.ulps})"
