"""The primitive set. Every primitive in funcgrad is listed in ALL_PRIMITIVES."""

from funcgrad._src.core import Primitive
from funcgrad._src.lax import (
    convolution,
    elementwise,
    indexing,
    linalg,
    reductions,
    sorting,
    structural,
    windowed,
)

ALL_PRIMITIVES: dict[str, Primitive] = {
    p.name: p
    for module in (
        elementwise,
        structural,
        reductions,
        indexing,
        sorting,
        linalg,
        convolution,
        windowed,
    )
    for p in vars(module).values()
    if isinstance(p, Primitive)
}
