"""funcgrad.scipy.spatial.transform (Rotation, Slerp) against
scipy.spatial.transform for every conversion, Euler sequence (including gimbal lock),
composition, application, inversion, mean and interpolation; gradients at and away
from the identity; jit and vmap with rotations as pytrees."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation as SR
from scipy.spatial.transform import Slerp as SS

import funcgrad
from funcgrad.scipy.spatial.transform import Rotation, Slerp
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(3)
_Q = _RNG.normal(size=(6, 4))
_SEQS = ["xyz", "zxz", "XYZ", "ZXZ", "yxy", "YZX", "zyx", "XZX"]


def _close(got, want, atol=1e-10):
    np.testing.assert_allclose(np.asarray(got), want, atol=atol, rtol=1e-10)


def test_conversions_against_scipy():
    ours, theirs = Rotation.from_quat(_Q), SR.from_quat(_Q)
    _close(ours.as_quat(), theirs.as_quat())
    _close(ours.as_quat(canonical=True), theirs.as_quat(canonical=True))
    _close(ours.as_quat(scalar_first=True), theirs.as_quat(scalar_first=True))
    _close(ours.as_matrix(), theirs.as_matrix())
    _close(ours.as_rotvec(), theirs.as_rotvec())
    _close(ours.as_rotvec(degrees=True), theirs.as_rotvec(degrees=True))
    _close(ours.as_mrp(), theirs.as_mrp())
    _close(ours.magnitude(), theirs.magnitude())
    matrices, rotvecs, mrps = theirs.as_matrix(), theirs.as_rotvec(), theirs.as_mrp()
    _close(Rotation.from_matrix(matrices).as_matrix(), matrices)
    _close(Rotation.from_rotvec(rotvecs).as_matrix(), matrices)
    _close(Rotation.from_rotvec(np.rad2deg(rotvecs), degrees=True).as_matrix(), matrices)
    _close(Rotation.from_mrp(mrps).as_matrix(), matrices)
    first = np.roll(_Q, 1, axis=-1)
    _close(Rotation.from_quat(first, scalar_first=True).as_matrix(), matrices)


@pytest.mark.parametrize("seq", _SEQS)
def test_euler_against_scipy(seq):
    ours, theirs = Rotation.from_quat(_Q), SR.from_quat(_Q)
    angles = theirs.as_euler(seq)
    _close(ours.as_euler(seq), angles)
    _close(ours.as_euler(seq, degrees=True), theirs.as_euler(seq, degrees=True))
    _close(Rotation.from_euler(seq, angles).as_matrix(), SR.from_euler(seq, angles).as_matrix())
    _close(Rotation.from_euler(seq[:2], angles[0, :2]).as_matrix(),
           SR.from_euler(seq[:2], angles[0, :2]).as_matrix())  # fmt: skip


@pytest.mark.parametrize("seq", ["xyz", "zxz", "XYZ", "ZXZ"])
def test_euler_gimbal_lock_like_scipy(seq):
    for middle in (0.0, np.pi, np.pi / 2, -np.pi / 2):
        quat = SR.from_euler(seq, [0.3, middle, 0.5]).as_quat()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SciPy warns about gimbal lock
            want = SR.from_quat(quat).as_euler(seq)
        _close(Rotation.from_quat(quat).as_euler(seq), want, atol=1e-6)


def test_single_axis_hand_computed():
    r = Rotation.from_euler("z", 90, degrees=True)
    assert r.single
    _close(r.as_rotvec(), [0.0, 0.0, np.pi / 2])
    _close(r.apply(np.asarray([1.0, 0.0, 0.0])), [0.0, 1.0, 0.0])
    _close((r * Rotation.from_euler("x", 90, degrees=True)).as_matrix(),
           [[0, 0, 1], [1, 0, 0], [0, 1, 0]])  # fmt: skip


def test_operations_against_scipy():
    ours, theirs = Rotation.from_quat(_Q), SR.from_quat(_Q)
    v = _RNG.normal(size=(6, 3))
    _close(ours.apply(v), theirs.apply(v))
    _close(ours.apply(v, inverse=True), theirs.apply(v, inverse=True))
    _close(ours[0].apply(v), theirs[0].apply(v))
    _close(ours.apply(v[0]), theirs.apply(v[0]))
    _close((ours * ours[::-1]).as_matrix(), (theirs * theirs[::-1]).as_matrix())
    _close((ours[1] * ours).as_matrix(), (theirs[1] * theirs).as_matrix())
    _close(ours.inv().as_matrix(), theirs.inv().as_matrix())
    w = _RNG.uniform(size=6)
    _close(ours.mean(w).as_matrix(), theirs.mean(w).as_matrix())
    _close(ours.mean().as_matrix(), theirs.mean().as_matrix())


def test_containers():
    r = Rotation.from_quat(_Q)
    assert len(r) == 6 and not r.single and r[0].single and len(r[1:3]) == 2
    assert len(Rotation.concatenate([r[0], r])) == 7
    _close(Rotation.identity().as_matrix(), np.eye(3))
    assert Rotation.identity(3).as_quat().shape == (3, 4)
    with pytest.raises(TypeError, match="not subscriptable"):
        r[0][0]
    with pytest.raises(TypeError, match="has no len"):
        len(r[0])


def test_random_is_uniform():
    r = Rotation.random(funcgrad.random.key(0), 4000)
    quat = np.asarray(r.as_quat())
    np.testing.assert_allclose(np.linalg.norm(quat, axis=-1), 1.0, rtol=1e-12)
    # Haar measure: E[R] = 0 and the angle has density (1 - cos t) / pi, mean pi/2 + 2/pi
    assert np.abs(np.asarray(r.as_matrix()).mean(axis=0)).max() < 0.05
    assert abs(float(np.asarray(r.magnitude()).mean()) - (np.pi / 2 + 2 / np.pi)) < 0.03
    assert Rotation.random(funcgrad.random.key(1)).single


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000))
def test_roundtrip_property(seed):
    quat = np.random.default_rng(seed).normal(size=4)
    r = SR.from_quat(quat)
    _close(Rotation.from_rotvec(r.as_rotvec()).as_matrix(), r.as_matrix(), atol=1e-9)
    _close(Rotation.from_matrix(r.as_matrix()).as_matrix(), r.as_matrix(), atol=1e-9)


def test_slerp_against_scipy():
    times = np.asarray([0.0, 1.0, 3.0, 4.0, 5.5, 7.0])
    at = np.asarray([0.0, 0.5, 1.0, 2.9, 4.0, 6.0, 7.0])
    ours = Slerp.init(times, Rotation.from_quat(_Q))
    theirs = SS(times, SR.from_quat(_Q))
    _close(ours(at).as_matrix(), theirs(at).as_matrix())
    assert ours(2.0).single
    _close(ours(2.0).as_matrix(), theirs(2.0).as_matrix())


def test_grads():
    check_grads(lambda v: Rotation.from_rotvec(v).as_matrix(), (_RNG.normal(size=3),), order=2)
    check_grads(lambda q: Rotation.from_quat(q).as_euler("zyx"), (_Q[0],), order=1)
    check_grads(lambda q: Rotation.from_quat(q).as_rotvec(), (_Q[:2],), order=1)
    # at the identity the rotation vector map is the identity: d as_rotvec / d v = I
    jac = funcgrad.jacfwd(lambda v: Rotation.from_rotvec(v).as_rotvec())(np.zeros(3))
    np.testing.assert_allclose(np.asarray(jac), np.eye(3), atol=1e-12)
    grad = funcgrad.grad(lambda v: Rotation.from_rotvec(v).magnitude())(np.asarray([0.2, 0, 0]))
    np.testing.assert_allclose(np.asarray(grad), [1.0, 0.0, 0.0], atol=1e-12)


def test_jit_and_vmap_with_pytrees():
    r = Rotation.from_quat(_Q)
    eager = r.as_euler("xyz")
    jitted = funcgrad.jit(lambda r: r.as_euler("xyz"))(r)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-14)
    assert jitted.dtype == eager.dtype
    batched = funcgrad.vmap(lambda r: r.as_rotvec())(r)
    np.testing.assert_allclose(np.asarray(batched), np.asarray(r.as_rotvec()), rtol=1e-14)
    slerp = Slerp.init(np.arange(6.0), r)
    out = funcgrad.jit(lambda s, t: s(t).as_quat())(slerp, np.asarray([0.5, 2.5]))
    np.testing.assert_allclose(np.asarray(out), np.asarray(slerp(np.asarray([0.5, 2.5])).quat))


def test_errors():
    with pytest.raises(ValueError, match="consecutive axes"):
        Rotation.from_euler("xxy", [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="not both"):
        Rotation.from_euler("xYz", [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"angles must have shape \(2,\)"):
        Rotation.from_euler("xy", [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="expected 3 axes"):
        Rotation.identity().as_euler("xy")
    with pytest.raises(ValueError, match=r"quaternions of shape \(4,\)"):
        Rotation.from_quat(np.ones(3))
    with pytest.raises(ValueError, match="at least 2"):
        Slerp.init([0.0], Rotation.identity(1))
