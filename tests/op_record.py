"""The op record: how the per-primitive tables draw operands and compute a reference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class OpRecord:
    name: str
    # draw(data) -> (operands as NumPy arrays or Python scalars, static params)
    draw: Callable
    # reference(*operands, **params) -> list of NumPy results
    reference: Callable
    rtol: float | None = None
    # operand positions the primitive does not differentiate (JAX raises for them too):
    # the per-primitive tables treat them as constants
    nondiff: tuple[int, ...] = ()
