"""The Threefry-2x32 block function (20 rounds) as one primitive, ``threefry2x32``.

Every random number funcgrad draws goes through this function (Salmon et al., "Parallel
random numbers: as easy as 1, 2, 3", SC 2011; the same block function and key schedule
as JAX's default PRNG). Written as array operations it is ~110 elementwise calls, and
each NumPy call costs about a microsecond whatever its size: a dropout mask of a few
thousand elements spent ~0.2 ms in call overhead alone, and a ``fold_in`` on a 0-d
counter ~60 us for arithmetic that Python integers do in a few microseconds. As one
primitive its NumPy kernel can pick its method by size:

* up to :data:`SMALL` blocks (keys: ``split``, ``fold_in``; small draws): Python
  integers, all blocks at once in 64-bit lanes of one integer;
* larger: NumPy in place, one scratch buffer, no allocation per round.

Backends that fuse elementwise work (CuPy, and NumPy's numba tier) fuse the rounds
into one loop instead: for them :func:`expand` substitutes the primitive's definition
as elementwise operations before the program is partitioned (see ``fusion.py`` and
``fusion_cpu.py``).

The primitive is elementwise over four ``uint32`` operands of one shape (0-d ones
broadcast): the two key words and the two counter words; it returns the two output
words. Integers have no derivative: its tangents are zero.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray
from funcgrad._src.interpreters.ad import defjvp_zero
from funcgrad._src.interpreters.batching import defbroadcasting

__all__ = ["ROTATIONS", "SMALL", "expand", "threefry2x32", "threefry2x32_p"]

#: Rotation distances of Threefry-2x32's rounds: groups of four, alternating.
ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
#: Key-schedule parity constant of Threefish/Threefry for 32-bit words.
KS_PARITY = 0x1BD11BDA
#: Up to this many blocks the NumPy kernel computes with Python integers, one lane per
#: block (~20 us for one block, ~80 us for 256; NumPy's ~110 calls cost ~100 us at any
#: size up to a few thousand).
SMALL = 256
_MASK32 = 0xFFFFFFFF
_UINT32 = np.dtype(np.uint32)

threefry2x32_p = Primitive("threefry2x32")


def threefry2x32(k0: Any, k1: Any, x0: Any, x1: Any) -> list:
    """The two output words of Threefry-2x32 for key words ``k0, k1`` and counter words
    ``x0, x1`` (``uint32``, of one shape or 0-d), through the primitive."""
    return threefry2x32_p.bind(k0, k1, x0, x1)


def rounds(add: Any, xor: Any, rotate_left: Any, k0: Any, k1: Any, x0: Any, x1: Any) -> tuple:
    """The block function over the given word operations (the array version for
    :func:`expand`; :func:`_lanes` is the same on lanes of Python integers, inlined for
    speed; the tests hold both to Random123's known answers and a reference).

    ``k2`` is ``k0 ^ k1 ^ KS_PARITY``; after each group of four rounds the schedule's
    next two words are added, the second plus the group number.
    """
    schedule = (k0, k1, xor(xor(k0, k1), KS_PARITY))
    x0, x1 = add(x0, k0), add(x1, k1)
    for group in range(5):
        for r in ROTATIONS[group % 2]:
            x0 = add(x0, x1)
            x1 = xor(rotate_left(x1, r), x0)
        s = group + 1
        x0 = add(x0, schedule[s % 3])
        x1 = add(x1, add(schedule[(s + 1) % 3], s))
    return x0, x1


def _lanes(shape: tuple, size: int, operands: tuple) -> list:
    """The block function on Python integers holding one 64-bit lane per block: a word in
    the low 32 bits, zero above, so that one big-integer operation (a C loop over the
    lanes) does every block's step, and masking after each step drops the carries and
    the bits shifted into the high half (where, after a right shift, the next lane's
    low bits land)."""
    ones = int.from_bytes(b"\x01\x00\x00\x00\x00\x00\x00\x00" * size, "little")  # 1 per lane
    mask = _MASK32 * ones

    def pack(word: Any) -> int:
        return int.from_bytes(np.broadcast_to(word, shape).astype("<u8").tobytes(), "little")

    if np.ndim(operands[0]) == 0 and np.ndim(operands[1]) == 0:  # one key
        k = (int(operands[0]), int(operands[1]))
        k = (*k, k[0] ^ k[1] ^ KS_PARITY)
        schedule = [w * ones for w in k]
        injected = [((k[(s + 1) % 3] + s) & _MASK32) * ones for s in range(6)]
    else:  # a batch of keys (vmap)
        k0, k1 = pack(operands[0]), pack(operands[1])
        schedule = [k0, k1, k0 ^ k1 ^ (KS_PARITY * ones)]
        injected = [(schedule[(s + 1) % 3] + s * ones) & mask for s in range(6)]
    x0 = (pack(operands[2]) + schedule[0]) & mask
    x1 = (pack(operands[3]) + schedule[1]) & mask
    for group in range(5):
        for r in ROTATIONS[group & 1]:
            x0 = (x0 + x1) & mask
            x1 = (((x1 << r) | (x1 >> (32 - r))) & mask) ^ x0
        s = group + 1
        x0 = (x0 + schedule[s % 3]) & mask
        x1 = (x1 + injected[s]) & mask
    return [
        np.frombuffer(x.to_bytes(8 * size, "little"), "<u8").astype(_UINT32).reshape(shape)
        for x in (x0, x1)
    ]


def _impl_in_place(xp: Any, shape: tuple, k0: Any, k1: Any, x0: Any, x1: Any) -> list:
    """The rounds as in-place array operations on two result buffers and one scratch."""
    if np.ndim(k0) == 0 and np.ndim(k1) == 0:
        # one key: its schedule in Python integers (NumPy warns on uint32 scalar overflow),
        # entering the array operations as scalars (no broadcast buffer per addition)
        words = (int(k0), int(k1))
        words = (*words, words[0] ^ words[1] ^ KS_PARITY)
        schedule = [_UINT32.type(w) for w in words]
        injected = [_UINT32.type((words[(s + 1) % 3] + s) & _MASK32) for s in range(6)]
    else:  # a batch of keys (vmap): the schedule as arrays
        k0, k1 = xp.asarray(k0, dtype=_UINT32), xp.asarray(k1, dtype=_UINT32)
        schedule = [k0, k1, xp.bitwise_xor(xp.bitwise_xor(k0, k1), _UINT32.type(KS_PARITY))]
        injected = [xp.add(schedule[(s + 1) % 3], _UINT32.type(s)) for s in range(6)]
    # asarray: on 0-d operands NumPy's add returns a scalar, which cannot be written in place
    y0 = xp.asarray(xp.add(x0, schedule[0], dtype=_UINT32))
    y1 = xp.asarray(xp.add(x1, schedule[1], dtype=_UINT32))
    if y0.shape != shape:  # a 0-d counter word
        y0 = xp.broadcast_to(y0, shape).copy()
    if y1.shape != shape:
        y1 = xp.broadcast_to(y1, shape).copy()
    scratch = xp.empty_like(y1)
    add, xor, lsh, rsh, bor = xp.add, xp.bitwise_xor, xp.left_shift, xp.right_shift, xp.bitwise_or
    for group in range(5):
        for r in ROTATIONS[group % 2]:
            add(y0, y1, out=y0)
            lsh(y1, _UINT32.type(r), out=scratch)
            rsh(y1, _UINT32.type(32 - r), out=y1)
            bor(y1, scratch, out=y1)
            xor(y1, y0, out=y1)
        s = group + 1
        add(y0, schedule[s % 3], out=y0)
        add(y1, injected[s], out=y1)
    return [y0, y1]


def _impl(backend: Any, k0: Any, k1: Any, x0: Any, x1: Any) -> list:
    # the operands have one shape or are 0-d (checked when staged)
    shape = max((np.shape(o) for o in (k0, k1, x0, x1)), key=len)
    size = math.prod(shape)
    if backend.xp is np and 0 < size <= SMALL:
        return _lanes(shape, size, (k0, k1, x0, x1))
    return _impl_in_place(backend.xp, shape, k0, k1, x0, x1)


def _abstract_eval(k0: ShapedArray, k1: ShapedArray, x0: ShapedArray, x1: ShapedArray) -> list:
    shapes = {a.shape for a in (k0, k1, x0, x1) if a.shape}
    if len(shapes) > 1:
        raise ValueError(
            f"threefry2x32: operands must have one shape (or be 0-d), got shapes "
            f"{[a.shape for a in (k0, k1, x0, x1)]}"
        )
    bad = [str(a.dtype) for a in (k0, k1, x0, x1) if a.dtype != _UINT32]
    if bad:
        raise TypeError(f"threefry2x32: operands must be uint32, got {bad}")
    shape = shapes.pop() if shapes else ()
    return [ShapedArray(shape, _UINT32), ShapedArray(shape, _UINT32)]


threefry2x32_p.impl = _impl
threefry2x32_p.abstract_eval = _abstract_eval
defbroadcasting(threefry2x32_p)
defjvp_zero(threefry2x32_p)


def _array_rounds(k0: Any, k1: Any, x0: Any, x1: Any, *, vector: bool = False) -> tuple:
    """The block function as ``funcgrad.lax`` elementwise operations (for :func:`expand`);
    ``vector``: a 0-d block computed as a 1-element vector (which a CPU loop takes)."""
    from funcgrad._src.lax import elementwise as ew
    from funcgrad._src.lax import structural

    shape = np.broadcast_shapes(*(o.shape for o in (k0, k1, x0, x1)))
    wide = (1,) if vector and shape == () else shape
    # the rounds' words must carry the result's shape from the first addition on
    x0, x1 = (
        x if x.shape == wide
        else structural.broadcast_in_dim_p.bind1(x, shape=wide, broadcast_dimensions=())
        for x in (x0, x1)
    )  # fmt: skip
    binary = ew.binary_primitives

    def rotate_left(a, r):
        left = binary["shift_left"].bind1(a, _UINT32.type(r))
        right = binary["shift_right"].bind1(a, _UINT32.type(32 - r))
        return binary["or"].bind1(left, right)

    y0, y1 = rounds(binary["add"].bind1, binary["xor"].bind1, rotate_left, k0, k1, x0, x1)
    if wide != shape:
        y0, y1 = (structural.reshape_p.bind1(y, new_sizes=shape) for y in (y0, y1))
    return y0, y1


def expand(closed: Any, *, scalars_as_vectors: bool = False) -> Any:
    """``closed`` with each ``threefry2x32`` equation replaced by its rounds as
    elementwise equations, for backends that fuse them; ``scalars_as_vectors``: 0-d
    blocks (``fold_in``) as 1-element vectors, for loops that take no 0-d arrays."""
    from funcgrad._src.ir import ClosedJaxpr, Jaxpr, Var, trace_to_jaxpr

    jaxpr = closed.jaxpr
    if not any(e.primitive is threefry2x32_p for e in jaxpr.eqns):
        return closed
    rounds_of = functools.partial(_array_rounds, vector=scalars_as_vectors)
    eqns: list = []
    for eqn in jaxpr.eqns:
        if eqn.primitive is not threefry2x32_p:
            eqns.append(eqn)
            continue
        sub, consts = trace_to_jaxpr(rounds_of, [a.aval for a in eqn.inputs])
        assert not consts, "threefry2x32's rounds need no constants"
        env: dict = dict(zip(sub.invars, eqn.inputs))
        # the rounds' last equations write the primitive's own output variables
        env_out = {v: out for v, out in zip(sub.outvars, eqn.outputs) if type(v) is Var}
        for sub_eqn in sub.eqns:
            ins = [env.get(a, a) if type(a) is Var else a for a in sub_eqn.inputs]
            outs = [env_out.get(v) or Var(v.aval) for v in sub_eqn.outputs]
            env.update(zip(sub_eqn.outputs, outs))
            eqns.append(type(sub_eqn)(sub_eqn.primitive, ins, sub_eqn.params, outs, eqn.source))
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars), closed.consts)
