"""stax.data augmentations against NumPy references, and under vmap and jit."""

from __future__ import annotations

import colorsys
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import random
from stax import data

RNG = np.random.default_rng(0)
IMAGE = RNG.uniform(0, 1, (7, 6, 3))


def _keys(n, seed=0):
    return random.split(random.key(seed), n)


# --------------------------------------------------------------------------- geometry


def test_flips_are_all_or_nothing_and_hit_both_outcomes():
    for aug, flipped in (
        (data.random_horizontal_flip(0.5), IMAGE[:, ::-1]),
        (data.random_vertical_flip(0.5), IMAGE[::-1]),
    ):
        outcomes = []
        for k in _keys(40):
            out = np.asarray(aug(k, IMAGE))
            same, flip = np.array_equal(out, IMAGE), np.array_equal(out, flipped)
            assert same or flip
            outcomes.append(flip)
        assert 5 < sum(outcomes) < 35
    np.testing.assert_array_equal(
        data.random_horizontal_flip(1.0)(random.key(0), IMAGE), IMAGE[:, ::-1]
    )
    np.testing.assert_array_equal(data.random_vertical_flip(0.0)(random.key(0), IMAGE), IMAGE)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_matches_numpy(mode):
    out = data.pad((1, 2, 3, 1), fill=0.5, padding_mode=mode)(random.key(0), IMAGE)
    widths = ((2, 1), (1, 3), (0, 0))
    kwargs = {"constant_values": 0.5} if mode == "constant" else {}
    np.testing.assert_array_equal(out, np.pad(IMAGE, widths, mode=mode, **kwargs))


@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_random_crop_is_a_window_of_the_padded_image_and_covers_every_corner(mode):
    aug = data.random_crop((5, 4), padding=1, padding_mode=mode)
    padded = np.pad(IMAGE, ((1, 1), (1, 1), (0, 0)), mode=mode)
    corners = set()
    outs = np.asarray(funcgrad.jit(funcgrad.vmap(aug, in_axes=(0, None)))(_keys(300), IMAGE))
    for out in outs:
        found = [
            (t, left)
            for t in range(padded.shape[0] - 4)
            for left in range(padded.shape[1] - 3)
            if np.array_equal(out, padded[t : t + 5, left : left + 4])
        ]
        assert found, "the crop is not a window of the padded image"
        corners.add(found[0])
    assert len(corners) == (9 - 5 + 1) * (8 - 4 + 1)


def test_random_crop_pad_if_needed_and_errors():
    out = data.random_crop(9, pad_if_needed=True)(random.key(0), IMAGE)
    assert out.shape == (9, 9, 3)
    with pytest.raises(ValueError, match="pad_if_needed"):
        data.random_crop(9)(random.key(0), IMAGE)
    with pytest.raises(ValueError, match="channels-last"):
        data.random_crop(2)(random.key(0), IMAGE[0])


def test_center_five_and_ten_crop_match_slicing():
    np.testing.assert_array_equal(data.center_crop((3, 2))(None, IMAGE), IMAGE[2:5, 2:4])
    five = np.asarray(data.five_crop(3)(None, IMAGE))
    expected = [IMAGE[:3, :3], IMAGE[:3, 3:], IMAGE[4:, :3], IMAGE[4:, 3:], IMAGE[2:5, 2:5]]
    np.testing.assert_array_equal(five, np.stack(expected))
    ten = np.asarray(data.ten_crop(3)(None, IMAGE))
    mirror = IMAGE[:, ::-1]
    np.testing.assert_array_equal(ten[5], mirror[:3, :3])
    np.testing.assert_array_equal(ten[9], mirror[2:5, 2:5])
    ten_v = np.asarray(data.ten_crop(3, vertical_flip=True)(None, IMAGE))
    np.testing.assert_array_equal(ten_v[5], IMAGE[::-1][:3, :3])


def test_resize_nearest_repeats_and_bilinear_keeps_constants():
    out = data.resize((14, 12), method="nearest")(None, IMAGE)
    np.testing.assert_array_equal(out, IMAGE.repeat(2, axis=0).repeat(2, axis=1))
    flat = data.resize((3, 10))(None, np.full((7, 6, 3), 0.25))
    np.testing.assert_allclose(flat, 0.25)
    assert data.resize(4)(None, IMAGE.astype(np.float32)).dtype == np.float32


def _affine_reference(image, angle, translate, scale, shear, fill):
    """Inverse-map every output pixel through the forward matrix built from torchvision's
    factors R(a) @ SHy(sy) @ SHx(sx) (with a = -angle), then sample bilinearly with
    out-of-image neighbours equal to ``fill`` (loops)."""
    h, w, c = image.shape
    a = math.radians(-angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shear_y = np.array([[1.0, 0.0], [-math.tan(sy), 1.0]])
    shear_x = np.array([[1.0, -math.tan(sx)], [0.0, 1.0]])
    forward = scale * rotation @ shear_y @ shear_x
    inverse = np.linalg.inv(forward)
    out = np.empty_like(image)
    for i in range(h):
        for j in range(w):
            p = np.array([j - (w - 1) / 2 - translate[0], i - (h - 1) / 2 - translate[1]])
            x, y = inverse @ p + np.array([(w - 1) / 2, (h - 1) / 2])
            x0, y0 = math.floor(x), math.floor(y)
            acc = np.zeros(c)
            for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
                for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
                    inside = 0 <= yy < h and 0 <= xx < w
                    acc += wy * wx * (image[yy, xx] if inside else fill)
            out[i, j] = acc
    return out


@given(
    angle=st.floats(-180, 180),
    tx=st.floats(-3, 3),
    ty=st.floats(-3, 3),
    scale=st.floats(0.5, 2.0),
    shx=st.floats(-30, 30),
    shy=st.floats(-30, 30),
)
def test_affine_matches_the_bilinear_reference(angle, tx, ty, scale, shx, shy):
    out = data.affine(
        IMAGE, angle=angle, translate=(tx, ty), scale=scale, shear=(shx, shy), fill=0.3
    )
    expected = _affine_reference(IMAGE, angle, (tx, ty), scale, (shx, shy), 0.3)
    np.testing.assert_allclose(out, expected, atol=1e-9)


def test_affine_special_cases():
    square = RNG.uniform(0, 1, (5, 5, 2))
    for k in (1, 2, 3):
        np.testing.assert_allclose(
            data.affine(square, angle=90.0 * k), np.rot90(square, k), atol=1e-12
        )
    shifted = np.asarray(data.affine(square, translate=(0.0, 2.0), fill=-1.0))
    np.testing.assert_allclose(shifted[2:], square[:-2], atol=1e-12)
    np.testing.assert_allclose(shifted[:2], -1.0)
    np.testing.assert_allclose(data.affine(square), square, atol=1e-12)


def test_random_rotation_and_affine_sample_their_ranges():
    square = RNG.uniform(0, 1, (5, 5, 1))
    turned = np.asarray(data.random_rotation((90, 90))(random.key(0), square))
    np.testing.assert_allclose(turned, np.rot90(square), atol=1e-12)
    # translate=(0.4, 0): dx uniform in [-2, 2] rounded, so the output is a whole-pixel shift
    shifts = set()
    for k in _keys(30):
        out = np.asarray(data.random_affine(0, translate=(0.4, 0.0))(k, square))
        for dx in range(-2, 3):
            if np.allclose(out, _affine_reference(square, 0.0, (dx, 0.0), 1.0, (0.0, 0.0), 0.0)):
                shifts.add(dx)
                break
        else:
            raise AssertionError("not a whole-pixel shift in range")
    assert shifts == {-2, -1, 0, 1, 2}


# --------------------------------------------------------------------------- colour


def test_brightness_contrast_saturation_formulas():
    x = IMAGE
    np.testing.assert_allclose(data.adjust_brightness(x, 1.3), np.clip(x * 1.3, 0, 1))
    luma = x @ np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(
        data.adjust_contrast(x, 0.6), np.clip(0.6 * x + 0.4 * luma.mean(), 0, 1)
    )
    np.testing.assert_allclose(
        data.adjust_saturation(x, 1.7), np.clip(1.7 * x - 0.7 * luma[..., None], 0, 1)
    )
    np.testing.assert_allclose(data.grayscale()(None, x)[..., 0], luma)
    np.testing.assert_allclose(data.grayscale(3)(None, x), np.repeat(luma[..., None], 3, -1))


@given(shift=st.floats(-0.5, 0.5))
def test_hsv_round_trip_and_hue_shift_match_colorsys(shift):
    x = np.concatenate([IMAGE.reshape(-1, 3), [[0.5, 0.5, 0.5], [1, 0, 0], [0, 0, 0]]]).reshape(
        -1, 1, 3
    )
    hsv = np.asarray(data.rgb_to_hsv(x))
    for (r, g, b), got in zip(x.reshape(-1, 3), hsv.reshape(-1, 3)):
        np.testing.assert_allclose(got, colorsys.rgb_to_hsv(r, g, b), atol=1e-12)
    np.testing.assert_allclose(data.hsv_to_rgb(hsv), x, atol=1e-12)
    shifted = np.asarray(data.adjust_hue(x, shift)).reshape(-1, 3)
    for (r, g, b), got in zip(x.reshape(-1, 3), shifted):
        h, s, v = colorsys.rgb_to_hsv(r, g, b)
        np.testing.assert_allclose(got, colorsys.hsv_to_rgb((h + shift) % 1, s, v), atol=1e-9)


def test_color_jitter_factors_lie_in_their_ranges():
    x = np.full((3, 3, 3), 0.4) + RNG.uniform(0, 0.1, (3, 3, 3))
    factors = []
    for k in _keys(30):
        out = np.asarray(data.color_jitter(brightness=0.5)(k, x))
        f = out / x
        np.testing.assert_allclose(f, f.flat[0], rtol=1e-9)  # one factor for every value
        factors.append(f.flat[0])
    assert 0.5 <= min(factors) and max(factors) <= 1.5 and max(factors) - min(factors) > 0.3
    out = np.asarray(data.color_jitter(0.4, 0.4, 0.4, 0.1)(random.key(1), IMAGE))
    assert out.shape == IMAGE.shape and out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError, match="hue"):
        data.color_jitter(hue=0.7)


# --------------------------------------------------------------------------- blur, noise, erasing


def test_gaussian_blur_matches_the_separable_reference():
    x = RNG.uniform(0, 1, (9, 8, 2))
    sigma = 1.3
    out = data.gaussian_blur((5, 3), (sigma, sigma))(random.key(0), x)
    expected = x
    for size, axis in ((5, 0), (3, 1)):
        taps = np.arange(size) - (size - 1) / 2
        weights = np.exp(-0.5 * (taps / sigma) ** 2)
        weights /= weights.sum()
        widths = [(0, 0)] * 3
        widths[axis] = (size // 2, size // 2)
        padded = np.pad(expected, widths, mode="reflect")
        expected = sum(
            weights[t] * np.take(padded, np.arange(t, t + x.shape[axis]), axis=axis)
            for t in range(size)
        )
    np.testing.assert_allclose(out, expected, atol=1e-12)
    with pytest.raises(ValueError, match="odd"):
        data.gaussian_blur(4)


def test_gaussian_noise_statistics():
    x = np.full((64, 64, 3), 0.5)
    noise = np.asarray(data.gaussian_noise(0.1, 0.05, clip=False)(random.key(0), x)) - x
    assert abs(noise.mean() - 0.1) < 0.005 and abs(noise.std() - 0.05) < 0.005
    clipped = np.asarray(data.gaussian_noise(sigma=1.0)(random.key(1), x))
    assert clipped.min() == 0.0 and clipped.max() == 1.0


def test_salt_and_pepper_fraction_and_values():
    x = np.full((64, 64, 3), 0.5)
    out = np.asarray(data.salt_and_pepper(0.2, 0.25)(random.key(0), x))
    hit = out[..., 0] != 0.5
    assert abs(hit.mean() - 0.2) < 0.03
    assert np.all(out[hit] == out[hit][:, :1])  # every channel of a hit pixel together
    salt = (out[..., 0] == 1.0).sum() / hit.sum()
    assert abs(salt - 0.25) < 0.08


def test_random_erasing_erases_one_rectangle_of_the_right_size():
    x = np.ones((20, 20, 3))
    areas = []
    for k in _keys(30):
        out = np.asarray(data.random_erasing(p=1.0, value=0.0)(k, x))
        rows, cols = np.nonzero(out[..., 0] == 0)
        if rows.size == 0:
            continue
        box = out[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert np.all(box == 0), "the erased region is not a filled rectangle"
        areas.append(rows.size / 400)
    assert len(areas) >= 25 and min(areas) > 0.005 and max(areas) < 0.40
    np.testing.assert_array_equal(data.random_erasing(p=0.0)(random.key(0), x), x)


def test_normalize_is_exact():
    out = data.normalize([0.1, 0.2, 0.3], [0.5, 0.25, 2.0])(None, IMAGE)
    np.testing.assert_array_equal(out, (IMAGE - [0.1, 0.2, 0.3]) / [0.5, 0.25, 2.0])
    with pytest.raises(ValueError, match="channels"):
        data.normalize([0.1, 0.2], [1.0, 1.0])(None, IMAGE)
    with pytest.raises(ValueError, match="std"):
        data.normalize([0.1], [0.0])


def test_float_images_required_for_photometric_transforms():
    with pytest.raises(TypeError, match="to_float"):
        data.adjust_brightness(np.zeros((2, 2, 3), np.uint8), 1.0)
    np.testing.assert_allclose(data.to_float(np.array([[[51]]], np.uint8)), [[[0.2]]], rtol=1e-6)


# --------------------------------------------------------------------------- batch mixing


def test_mixup_is_a_convex_mix_with_a_permutation():
    n = 6
    x = RNG.uniform(0, 1, (n, 4, 4, 3))
    y = np.eye(n)
    mx, my = (np.asarray(v) for v in data.mixup(0.4)(random.key(0), x, y))
    # with distinct one-hot labels, row i of my is lam * e_i + (1 - lam) * e_perm(i)
    lam = None
    for i in range(n):
        others = [j for j in range(n) if j != i and my[i, j] > 1e-12]
        if not others:
            continue
        j = others[0]
        lam_i = my[i, i]
        lam = lam_i if lam is None else lam
        np.testing.assert_allclose(lam_i, lam)
        np.testing.assert_allclose(mx[i], lam * x[i] + (1 - lam) * x[j], atol=1e-12)
    np.testing.assert_allclose(my.sum(1), 1.0)


def test_cutmix_pastes_a_box_and_mixes_labels_by_its_area():
    n = 5
    x = np.stack([np.full((8, 8, 1), float(i)) for i in range(n)])
    y = np.eye(n)
    for k in _keys(10):
        cx, cy = (np.asarray(v) for v in data.cutmix(1.0)(k, x, y))
        for i in range(n):
            pasted = cx[i, ..., 0] != i
            if pasted.any():
                source = int(cx[i][pasted][0, 0])
                assert np.all(cx[i][pasted] == source)
                rows, cols = np.nonzero(pasted)
                assert pasted.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)  # a rectangle
                np.testing.assert_allclose(cy[i, source], pasted.mean())
            np.testing.assert_allclose(cy[i].sum(), 1.0)


# --------------------------------------------------------------------------- combinators


def test_compose_random_apply_choice_and_order():
    add = lambda k, x: x + 1
    double = lambda k, x: x * 2
    x = np.ones((1, 1, 1))
    assert float(data.compose([add, double])(random.key(0), x).sum()) == 4.0

    def over_keys(aug, n, image):
        out = funcgrad.vmap(aug, in_axes=(0, None))(_keys(n), image)
        return np.asarray(out).reshape(n).tolist()

    applied = over_keys(data.random_apply(add, 0.3), 300, x)
    assert set(applied) == {1.0, 2.0} and 0.2 < applied.count(2.0) / 300 < 0.4
    chosen = over_keys(data.random_choice([add, double], p=[0.8, 0.2]), 300, x + 1)
    assert set(chosen) == {3.0, 4.0} and 0.12 < chosen.count(4.0) / 300 < 0.28
    # eagerly too (lax.cond / lax.switch on a concrete index)
    assert float(data.random_apply(add, 1.0)(random.key(0), x).sum()) == 2.0
    assert set(over_keys(data.random_order([add, double]), 50, x)) == {3.0, 4.0}


# --------------------------------------------------------------------------- vmap and jit

_EVERY = [
    data.random_horizontal_flip(),
    data.random_vertical_flip(),
    data.random_crop(5, padding=2, padding_mode="reflect"),
    data.center_crop(4),
    data.resize((3, 5)),
    data.random_rotation(30, fill=0.5),
    data.random_affine(20, translate=(0.2, 0.2), scale=(0.8, 1.2), shear=10),
    data.color_jitter(0.4, 0.4, 0.4, 0.1),
    data.random_grayscale(0.5),
    data.gaussian_blur(3),
    data.gaussian_noise(),
    data.salt_and_pepper(),
    data.random_erasing(p=0.7),
    data.normalize([0.5, 0.5, 0.5], [0.2, 0.2, 0.2]),
    data.compose([data.random_crop(6, padding=1), data.random_horizontal_flip()]),
    data.random_apply([data.gaussian_blur(3)], p=0.5),
    data.random_choice([data.random_rotation(10), data.random_horizontal_flip()]),
]


@pytest.mark.parametrize("aug", _EVERY, ids=lambda f: f.__qualname__.split(".")[0])
def test_vmap_and_jit_equal_eager_and_keep_dtype(aug):
    images = RNG.uniform(0, 1, (3, 7, 6, 3)).astype(np.float32)
    keys = _keys(3, seed=5)
    eager = np.stack([np.asarray(aug(k, im)) for k, im in zip(keys, images)])
    batched = np.asarray(funcgrad.vmap(aug)(keys, images))
    jitted = np.stack([np.asarray(funcgrad.jit(aug)(k, im)) for k, im in zip(keys, images)])
    np.testing.assert_allclose(batched, eager, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jitted, eager, rtol=1e-5, atol=1e-6)
    assert batched.dtype == np.float32 and eager.dtype == np.float32
    # the same key gives the same output
    np.testing.assert_array_equal(np.asarray(aug(keys[0], images[0])), eager[0])
    out = data.apply_to_batch(aug, random.key(1), fnp.asarray(images))
    assert out.shape[0] == 3
