"""The primitive set. Every primitive in funcgrad is listed in ALL_PRIMITIVES."""

from funcgrad._src.core import Primitive
from funcgrad._src.lax import (
    bits,
    convolution,
    elementwise,
    fft,
    indexing,
    linalg,
    reductions,
    slicing,
    sorting,
    special,
    structural,
    windowed,
)

ALL_PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for module in (
        elementwise,
        bits,
        fft,
        structural,
        reductions,
        indexing,
        slicing,
        sorting,
        special,
        linalg,
        convolution,
        windowed,
    )
    for p in vars(module).values()
    if isinstance(p, Primitive)
}
