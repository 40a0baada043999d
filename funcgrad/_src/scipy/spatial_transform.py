"""``funcgrad.scipy.spatial.transform``: 3-D rotations (``Rotation``) and their spherical
linear interpolation (``Slerp``).

A ``Rotation`` holds unit quaternions ``(..., 4)`` in SciPy's scalar-last order
``(x, y, z, w)``; a single rotation has shape ``(4,)``. Both classes are NamedTuples, so
they are pytrees: they pass through ``jit``, ``vmap`` and ``grad``. Every conversion is
written on the last axis with array operations, so it batches over any leading axes,
and the angle-dependent ones (rotation vectors, magnitudes) switch to Taylor series near
zero so that their gradients at the identity are finite.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
import funcgrad.random as frandom
from funcgrad._src import dtypes
from funcgrad._src.tree_util import register_pytree_node

__all__ = ["Rotation", "Slerp"]

_NAME = "funcgrad.scipy.spatial.transform"
_SMALL_ANGLE = 1e-3  # below this, sin(a/2)/a and its inverse use their Taylor series
_GIMBAL_EPS = 1e-7  # SciPy's threshold for a degenerate middle Euler angle


def _floats(x: Any) -> Any:
    x = fnp.asarray(x)
    dt = dtypes.to_inexact(x.dtype)
    return x if dt == x.dtype else x.astype(dt)


def _last(x: Any, size: int, what: str, fname: str) -> Any:
    x = _floats(x)
    if x.ndim not in (1, 2) or x.shape[-1] != size:
        raise ValueError(
            f"{_NAME}.Rotation.{fname}: expected {what} of shape ({size},) or (N, {size}), "
            f"got {x.shape}"
        )
    return x


def _safe_norm(v: Any) -> Any:
    """``|v|`` over the last axis, with gradient 0 (not NaN) at ``v = 0``."""
    sq = fnp.sum(v * v, axis=-1)
    nonzero = sq > 0
    return fnp.where(nonzero, fnp.sqrt(fnp.where(nonzero, sq, 1)), 0)


def _normalize(quat: Any) -> Any:
    return quat / fnp.linalg.norm(quat, axis=-1, keepdims=True)


def _compose(p: Any, q: Any) -> Any:
    """The Hamilton product ``p q`` (apply ``q`` first, then ``p``)."""
    pv, pw = p[..., :3], p[..., 3:]
    qv, qw = q[..., :3], q[..., 3:]
    vector = pw * qv + qw * pv + fnp.cross(pv, qv)
    scalar = pw * qw - fnp.sum(pv * qv, axis=-1, keepdims=True)
    return fnp.concatenate([vector, scalar], axis=-1)


def _from_rotvec(rotvec: Any) -> Any:
    angle2 = fnp.sum(rotvec * rotvec, axis=-1, keepdims=True)
    small = angle2 <= _SMALL_ANGLE**2
    angle = fnp.sqrt(fnp.where(small, 1, angle2))  # the large-angle branch only
    # sin(a/2)/a and cos(a/2) as series in a^2 near 0
    scale = fnp.where(small, 0.5 - angle2 / 48 + angle2 * angle2 / 3840, fnp.sin(angle / 2) / angle)
    cos = fnp.where(small, 1 - angle2 / 8 + angle2 * angle2 / 384, fnp.cos(angle / 2))
    return fnp.concatenate([scale * rotvec, cos], axis=-1)


def _as_rotvec(quat: Any) -> Any:
    quat = fnp.where(quat[..., 3:] < 0, -quat, quat)  # w >= 0, so 0 <= angle <= pi
    vector = quat[..., :3]
    angle = 2 * fnp.arctan2(_safe_norm(vector), quat[..., 3])[..., None]
    small = angle <= _SMALL_ANGLE
    safe = fnp.where(small, 1, angle)
    a2 = angle * angle
    scale = fnp.where(small, 2 + a2 / 12 + 7 * a2 * a2 / 2880, safe / fnp.sin(safe / 2))
    return scale * vector


def _as_matrix(quat: Any) -> Any:
    x, y, z, w = (quat[..., i] for i in range(4))
    rows = [
        [x * x - y * y - z * z + w * w, 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), -x * x + y * y - z * z + w * w, 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), -x * x - y * y + z * z + w * w],
    ]
    return fnp.stack([fnp.stack(row, axis=-1) for row in rows], axis=-2)


def _from_matrix(m: Any) -> Any:
    # Markley's method: of the four ways to read the quaternion off the matrix, use the
    # one whose pivot (a diagonal entry or the trace) is largest, for accuracy
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    candidates = []
    for i in range(3):
        j, k = (i + 1) % 3, (i + 2) % 3
        q = [None] * 4
        q[i] = 1 - trace + 2 * m[..., i, i]
        q[j] = m[..., j, i] + m[..., i, j]
        q[k] = m[..., k, i] + m[..., i, k]
        q[3] = m[..., k, j] - m[..., j, k]
        candidates.append(fnp.stack(q, axis=-1))
    candidates.append(
        fnp.stack(
            [
                m[..., 2, 1] - m[..., 1, 2],
                m[..., 0, 2] - m[..., 2, 0],
                m[..., 1, 0] - m[..., 0, 1],
                1 + trace,
            ],
            axis=-1,
        )
    )
    pivots = fnp.stack([m[..., 0, 0], m[..., 1, 1], m[..., 2, 2], trace], axis=-1)
    choice = fnp.argmax(pivots, axis=-1)
    stacked = fnp.stack(candidates, axis=-2)  # (..., 4 candidates, 4)
    quat = fnp.take_along_axis(stacked, choice[..., None, None], axis=-2)[..., 0, :]
    return _normalize(quat)


def _from_mrp(mrp: Any) -> Any:
    sq = fnp.sum(mrp * mrp, axis=-1, keepdims=True)
    return fnp.concatenate([2 * mrp, 1 - sq], axis=-1) / (1 + sq)


def _as_mrp(quat: Any) -> Any:
    sign = fnp.where(quat[..., 3:] < 0, -1.0, 1.0).astype(quat.dtype)
    return sign * quat[..., :3] / (1 + sign * quat[..., 3:])


def _canonical(quat: Any) -> Any:
    # w > 0, or the first nonzero of (w, x, y, z) positive
    neg, zero = quat < 0, quat == 0
    flip = neg[..., 3]
    flip = flip | (zero[..., 3] & neg[..., 0])
    flip = flip | (zero[..., 3] & zero[..., 0] & neg[..., 1])
    flip = flip | (zero[..., 3] & zero[..., 0] & zero[..., 1] & neg[..., 2])
    return fnp.where(flip[..., None], -quat, quat)


def _parse_seq(seq: Any, fname: str, exactly_three: bool) -> tuple[list[int], bool]:
    """Axis indices of an Euler sequence, and whether it is extrinsic (lower case)."""
    if not isinstance(seq, str):
        raise TypeError(f"{_NAME}.Rotation.{fname}: seq must be a string, got {type(seq).__name__}")
    if exactly_three and len(seq) != 3:
        raise ValueError(f"{_NAME}.Rotation.{fname}: expected 3 axes in seq, got {seq!r}")
    if not 1 <= len(seq) <= 3:
        raise ValueError(
            f"{_NAME}.Rotation.{fname}: seq must be 1 to 3 characters long, got {seq!r}"
        )
    intrinsic = re.fullmatch(r"[XYZ]{1,3}", seq) is not None
    extrinsic = re.fullmatch(r"[xyz]{1,3}", seq) is not None
    if not (intrinsic or extrinsic):
        raise ValueError(
            f"{_NAME}.Rotation.{fname}: seq must use axes from 'xyz' (extrinsic) or 'XYZ' "
            f"(intrinsic), not both, got {seq!r}"
        )
    if any(a == b for a, b in itertools.pairwise(seq)):
        raise ValueError(
            f"{_NAME}.Rotation.{fname}: consecutive axes in seq must differ, got {seq!r}"
        )
    return ["xyz".index(c) for c in seq.lower()], extrinsic


def _elementary(axis: int, angle: Any) -> Any:
    zero = fnp.zeros_like(angle)
    parts = [zero, zero, zero, fnp.cos(angle / 2)]
    parts[axis] = fnp.sin(angle / 2)
    return fnp.stack(parts, axis=-1)


def _as_euler(quat: Any, axes: list[int], extrinsic: bool) -> Any:
    # Bernardes & Viollet (2022), "Quaternion to Euler angles conversion: a direct,
    # general and computationally efficient method", as SciPy implements it
    if extrinsic:
        first, third = 0, 2
    else:
        axes, first, third = axes[::-1], 2, 0
    i, j, k = axes
    symmetric = i == k
    if symmetric:
        k = 3 - i - j
    sign = (i - j) * (j - k) * (k - i) // 2
    w = quat[..., 3]
    qi, qj, qk = quat[..., i], quat[..., j], sign * quat[..., k]
    if symmetric:
        a, b, c, d = w, qi, qj, qk
    else:
        a, b, c, d = w - qj, qi + qk, qj + w, qk - qi
    middle = 2 * fnp.arctan2(fnp.hypot(c, d), fnp.hypot(a, b))
    half_sum = fnp.arctan2(b, a)
    half_diff = fnp.arctan2(d, c)
    at_zero = fnp.abs(middle) <= _GIMBAL_EPS
    at_pi = fnp.abs(middle - np.pi) <= _GIMBAL_EPS
    degenerate = at_zero | at_pi
    # in gimbal lock only one outer angle is determined: the third is set to 0
    locked = fnp.where(at_zero, 2 * half_sum, 2 * half_diff * (-1 if extrinsic else 1))
    angles = [None, middle, None]
    angles[first] = fnp.where(degenerate, locked if first == 0 else 0, half_sum - half_diff)
    angles[third] = fnp.where(degenerate, locked if third == 0 else 0, half_sum + half_diff)
    if not symmetric:
        angles[third] = angles[third] * sign
        angles[1] = angles[1] - np.pi / 2
    # the outer angles into [-pi, pi]; the middle one is already in range
    for n in (0, 2):
        a = angles[n]
        angles[n] = fnp.where(a < -np.pi, a + 2 * np.pi, fnp.where(a > np.pi, a - 2 * np.pi, a))
    return fnp.stack(angles, axis=-1)


class Rotation(NamedTuple):
    """Rotations in 3 dimensions, as unit quaternions (SciPy's class, as JAX has it).

    Build one with a ``from_*`` class method (not the constructor, which takes
    quaternions as they are); convert with the ``as_*`` methods. ``r * s`` applies ``s``
    first, then ``r``. One object holds a single rotation (``quat`` of shape ``(4,)``)
    or a stack of them (``(N, 4)``; ``len``, indexing); operations between a single
    rotation and a stack broadcast.

    Beyond JAX (whose ``identity`` takes no ``num`` and whose ``random`` raises), here
    ``identity(num)`` and ``random(key, num)`` work as in SciPy, ``from_quat`` takes
    SciPy's ``scalar_first``, and ``concatenate`` accepts single rotations.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.spatial.transform import Rotation
        >>> r = Rotation.from_euler("z", 90, degrees=True)
        >>> r.as_rotvec().round(6).tolist()
        [0.0, 0.0, 1.570796]
        >>> r.apply(fnp.asarray([1.0, 0.0, 0.0])).round(6).tolist()
        [0.0, 1.0, 0.0]
        >>> (r * Rotation.from_euler("x", 90, degrees=True)).as_matrix().round(6) + 0.0
        Array([[0., 0., 1.],
               [1., 0., 0.],
               [0., 1., 0.]], dtype=float64, backend=numpy)
    """

    quat: Any

    # --- construction ----------------------------------------------------------------

    @classmethod
    def from_quat(cls, quat: Any, *, scalar_first: bool = False) -> Rotation:
        """From quaternions ``(4,)`` or ``(N, 4)``, ``(x, y, z, w)`` (``(w, x, y, z)`` with
        ``scalar_first``), normalised to unit length."""
        quat = _last(quat, 4, "quaternions", "from_quat")
        if scalar_first:
            quat = fnp.roll(quat, -1, axis=-1)
        return cls(_normalize(quat))

    @classmethod
    def from_matrix(cls, matrix: Any) -> Rotation:
        """From rotation matrices ``(3, 3)`` or ``(N, 3, 3)``; a matrix that is not quite
        orthogonal gives the nearest rotation's quaternion approximately (Markley)."""
        matrix = _floats(matrix)
        if matrix.ndim not in (2, 3) or matrix.shape[-2:] != (3, 3):
            raise ValueError(
                f"{_NAME}.Rotation.from_matrix: expected matrices of shape (3, 3) or "
                f"(N, 3, 3), got {matrix.shape}"
            )
        return cls(_from_matrix(matrix))

    @classmethod
    def from_rotvec(cls, rotvec: Any, degrees: bool = False) -> Rotation:
        """From rotation vectors ``(3,)`` or ``(N, 3)``: axis times angle (radians, or
        degrees with ``degrees``)."""
        rotvec = _last(rotvec, 3, "rotation vectors", "from_rotvec")
        if degrees:
            rotvec = fnp.deg2rad(rotvec)
        return cls(_from_rotvec(rotvec))

    @classmethod
    def from_mrp(cls, mrp: Any) -> Rotation:
        """From Modified Rodrigues Parameters ``(3,)`` or ``(N, 3)``: the axis times
        ``tan(angle / 4)``."""
        return cls(_from_mrp(_last(mrp, 3, "MRPs", "from_mrp")))

    @classmethod
    def from_euler(cls, seq: str, angles: Any, degrees: bool = False) -> Rotation:
        """From Euler angles about the axes of ``seq``: up to 3 of ``"xyz"`` (extrinsic:
        fixed axes) or ``"XYZ"`` (intrinsic: the rotating body's axes). ``angles`` has
        ``len(seq)`` entries in its last axis (a scalar for one axis); 1-D gives a single
        rotation."""
        axes, extrinsic = _parse_seq(seq, "from_euler", exactly_three=False)
        angles = fnp.atleast_1d(_floats(angles))
        if angles.ndim > 2 or angles.shape[-1] != len(axes):
            raise ValueError(
                f"{_NAME}.Rotation.from_euler: angles must have shape ({len(axes)},) or "
                f"(N, {len(axes)}) for seq {seq!r}, got {angles.shape}"
            )
        if degrees:
            angles = fnp.deg2rad(angles)
        quat = _elementary(axes[0], angles[..., 0])
        for n, axis in enumerate(axes[1:], start=1):
            step = _elementary(axis, angles[..., n])
            quat = _compose(step, quat) if extrinsic else _compose(quat, step)
        return cls(quat)

    @classmethod
    def identity(cls, num: int | None = None, dtype: Any = float) -> Rotation:
        """The identity rotation (``num=None``) or ``num`` of them."""
        quat = np.zeros((4,) if num is None else (int(num), 4), dtype=dtypes.to_inexact(dtype))
        quat[..., 3] = 1
        return cls(fnp.asarray(quat))

    @classmethod
    def random(cls, random_key: Any, num: int | None = None) -> Rotation:
        """Rotations drawn uniformly (Haar measure) with ``random_key``: normalised 4-D
        standard normal samples, which are uniform on the unit sphere of quaternions."""
        shape = (4,) if num is None else (int(num), 4)
        return cls(_normalize(frandom.normal(random_key, shape)))

    @classmethod
    def concatenate(cls, rotations: Sequence[Rotation]) -> Rotation:
        """One stack of all of ``rotations`` (single rotations count as stacks of one)."""
        if not all(isinstance(r, Rotation) for r in rotations):
            raise TypeError(f"{_NAME}.Rotation.concatenate: expected a sequence of Rotation")
        return cls(fnp.concatenate([fnp.atleast_2d(r.quat) for r in rotations], axis=0))

    # --- conversion ------------------------------------------------------------------

    def as_quat(self, canonical: bool = False, scalar_first: bool = False) -> Any:
        """The quaternions ``(x, y, z, w)`` (``(w, x, y, z)`` with ``scalar_first``); with
        ``canonical``, the one of ``q``/``-q`` whose ``w`` is positive."""
        quat = _canonical(self.quat) if canonical else self.quat
        return fnp.roll(quat, 1, axis=-1) if scalar_first else quat

    def as_matrix(self) -> Any:
        """The rotation matrices, ``(3, 3)`` or ``(N, 3, 3)``."""
        return _as_matrix(self.quat)

    def as_rotvec(self, degrees: bool = False) -> Any:
        """The rotation vectors (axis times angle in ``[0, pi]``; degrees with ``degrees``)."""
        rotvec = _as_rotvec(self.quat)
        return fnp.rad2deg(rotvec) if degrees else rotvec

    def as_mrp(self) -> Any:
        """The Modified Rodrigues Parameters, of norm at most 1."""
        return _as_mrp(self.quat)

    def as_euler(self, seq: str, degrees: bool = False) -> Any:
        """The Euler angles about the 3 axes of ``seq`` (``"xyz"`` extrinsic, ``"XYZ"``
        intrinsic), each in ``[-pi, pi)``; in gimbal lock the third angle is 0, as in SciPy."""
        axes, extrinsic = _parse_seq(seq, "as_euler", exactly_three=True)
        angles = _as_euler(self.quat, axes, extrinsic)
        return fnp.rad2deg(angles) if degrees else angles

    # --- operations ------------------------------------------------------------------

    def apply(self, vectors: Any, inverse: bool = False) -> Any:
        """The rotated vectors ``(3,)`` or ``(N, 3)`` (by the inverse with ``inverse``)."""
        vectors = _last(vectors, 3, "vectors", "apply")
        matrix = self.as_matrix()
        if inverse:
            matrix = fnp.swapaxes(matrix, -1, -2)
        return fnp.matmul(matrix, vectors[..., None])[..., 0]

    def inv(self) -> Rotation:
        """The inverse rotations (the conjugate quaternions)."""
        return Rotation(self.quat * np.asarray([-1, -1, -1, 1], self.quat.dtype))

    def magnitude(self) -> Any:
        """The rotation angles, in ``[0, pi]``."""
        return 2 * fnp.arctan2(_safe_norm(self.quat[..., :3]), fnp.abs(self.quat[..., 3]))

    def mean(self, weights: Any = None) -> Rotation:
        """The weighted mean rotation: the eigenvector of largest eigenvalue of
        ``sum_i w_i q_i q_i^T`` (Markley et al. 2007), which minimises the weighted sum of
        squared chordal distances of the attitude matrices."""
        quat = fnp.atleast_2d(self.quat)
        if weights is None:
            weights = fnp.ones(quat.shape[0], dtype=quat.dtype)
        weights = fnp.asarray(weights).astype(quat.dtype)
        if weights.ndim != 1 or weights.shape[0] != quat.shape[0]:
            raise ValueError(
                f"{_NAME}.Rotation.mean: weights must be 1-D with one entry per rotation "
                f"({quat.shape[0]}), got shape {weights.shape}"
            )
        k = (weights[:, None] * quat).T @ quat
        _, vectors = fnp.linalg.eigh(k)
        return Rotation(vectors[:, -1])

    def __mul__(self, other: Rotation) -> Rotation:
        """The composition: ``(self * other).apply(v) == self.apply(other.apply(v))``."""
        if not isinstance(other, Rotation):
            return NotImplemented
        return Rotation(_normalize(_compose(self.quat, other.quat)))

    def __getitem__(self, indexer: Any) -> Rotation:
        if self.single:
            raise TypeError(f"{_NAME}.Rotation: a single rotation is not subscriptable")
        return Rotation(self.quat[indexer])

    def __len__(self) -> int:
        if self.single:
            raise TypeError(f"{_NAME}.Rotation: a single rotation has no len()")
        return self.quat.shape[0]

    @property
    def single(self) -> bool:
        """Whether this holds one rotation (not a stack)."""
        return self.quat.ndim == 1


# Registered explicitly: the generic namedtuple rule would call ``len``, which here
# counts rotations (and fails for a single one), not fields.
register_pytree_node(Rotation, lambda r: ((r.quat,), None), lambda _, children: Rotation(*children))


class Slerp(NamedTuple):
    """Spherical linear interpolation between key rotations at key times (SciPy's class,
    as JAX has it: build with :meth:`Slerp.init`).

    Between keys ``i`` and ``i+1`` the rotation is ``r_i * exp(alpha log(r_i^{-1}
    r_{i+1}))`` with ``alpha = (t - t_i) / (t_{i+1} - t_i)``: constant angular velocity
    on the shortest arc. Times outside the keys extrapolate from the first or last
    interval (SciPy raises; a check on values is not possible under ``jit``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.spatial.transform import Rotation, Slerp
        >>> keys = Rotation.from_euler("z", fnp.asarray([[0.0], [90.0]]), degrees=True)
        >>> slerp = Slerp.init(fnp.asarray([0.0, 1.0]), keys)
        >>> (slerp(0.5).as_euler("zyx", degrees=True).round(4) + 0.0).tolist()
        [45.0, 0.0, 0.0]
    """

    times: Any
    timedelta: Any
    rotations: Rotation
    rotvecs: Any

    @classmethod
    def init(cls, times: Any, rotations: Rotation) -> Slerp:
        """The interpolator through ``rotations`` (a stack of at least 2) at the increasing
        ``times``."""
        if not isinstance(rotations, Rotation):
            raise TypeError(f"{_NAME}.Slerp.init: rotations must be a Rotation")
        if rotations.single or len(rotations) < 2:
            raise ValueError(f"{_NAME}.Slerp.init: rotations must be a stack of at least 2")
        times = fnp.asarray(times).astype(rotations.quat.dtype)
        if times.ndim != 1 or times.shape[0] != len(rotations):
            raise ValueError(
                f"{_NAME}.Slerp.init: times must be 1-D with one entry per rotation "
                f"({len(rotations)}), got shape {times.shape}"
            )
        start = Rotation(rotations.quat[:-1])
        steps = (start.inv() * Rotation(rotations.quat[1:])).as_rotvec()
        return cls(times=times, timedelta=fnp.diff(times), rotations=start, rotvecs=steps)

    def __call__(self, times: Any) -> Rotation:
        """The interpolated rotations at ``times`` (a scalar gives a single rotation)."""
        t = fnp.asarray(times).astype(self.times.dtype)
        if t.ndim > 1:
            raise ValueError(f"{_NAME}.Slerp: times must be at most 1-D, got shape {t.shape}")
        single = t.ndim == 0
        t = fnp.atleast_1d(t)
        index = fnp.clip(fnp.searchsorted(self.times, t) - 1, 0, self.timedelta.shape[0] - 1)
        alpha = (t - self.times[index]) / self.timedelta[index]
        step = Rotation(_from_rotvec(self.rotvecs[index] * alpha[:, None]))
        result = self.rotations[index] * step
        return result[0] if single else result
