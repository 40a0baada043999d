"""Image augmentations as pure functions ``(key, image) -> image``.

Conventions:

* An image is a channels-last funcgrad (or NumPy) array ``(height, width, channels)``
  of a floating dtype; the photometric transforms (colour jitter, noise, ...) assume
  values in ``[0, 1]`` and clip their results to it, as torchvision does for float
  images. Convert ``uint8`` images with :func:`to_float` first. Every transform keeps
  the image's dtype.
* Each factory returns a function of ``(key, image)``; deterministic ones ignore the
  key, so all compose alike. The same key gives the same output, on every backend.
* One image per call: batch with ``funcgrad.vmap(augmentation)(keys, images)`` or
  :func:`apply_to_batch`, and wrap in ``funcgrad.jit`` freely (random offsets and
  angles are traced values; output shapes depend only on the arguments).
* :func:`mixup` and :func:`cutmix` work on whole batches ``(key, images, labels)``.

Parameters follow torchvision's transforms (names, ranges, sampling) unless a
docstring says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax, random

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "affine",
    "apply_to_batch",
    "center_crop",
    "color_jitter",
    "compose",
    "cutmix",
    "five_crop",
    "gaussian_blur",
    "gaussian_noise",
    "grayscale",
    "hsv_to_rgb",
    "mixup",
    "normalize",
    "pad",
    "random_affine",
    "random_apply",
    "random_choice",
    "random_crop",
    "random_erasing",
    "random_grayscale",
    "random_horizontal_flip",
    "random_order",
    "random_rotation",
    "random_vertical_flip",
    "resize",
    "rgb_to_hsv",
    "salt_and_pepper",
    "ten_crop",
    "to_float",
]

Augmentation = Callable[[Any, Any], Any]


# ------------------------------------------------------------------------------------
# Argument checks
# ------------------------------------------------------------------------------------


def _image(image: Any, fname: str, *, channels: int | None = None, floating: bool = True) -> Any:
    image = fnp.asarray(image)
    if image.ndim != 3:
        raise ValueError(
            f"stax.data.{fname}: expected one channels-last image (height, width, channels), "
            f"got shape {image.shape}; batch with funcgrad.vmap or stax.data.apply_to_batch"
        )
    if floating and image.dtype.kind != "f":
        raise TypeError(
            f"stax.data.{fname}: expected a floating image with values in [0, 1], got "
            f"{image.dtype}; convert with stax.data.to_float"
        )
    if channels is not None and image.shape[-1] != channels:
        raise ValueError(
            f"stax.data.{fname}: expected {channels} channels (RGB), got shape {image.shape}"
        )
    return image


def _pair(value: Any, fname: str, what: str) -> tuple[int, int]:
    """``(height, width)`` from an int or a pair, as torchvision's size arguments."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) in (1, 2):
        pair = (int(value[0]), int(value[-1]))
    else:
        raise TypeError(
            f"stax.data.{fname}: {what} must be an int or (height, width), got {value!r}"
        )
    if min(pair) < 1:
        raise ValueError(f"stax.data.{fname}: {what} must be positive, got {value!r}")
    return pair


def _range(value: Any, fname: str, what: str, *, center: float = 0.0, low: float = -math.inf):
    """A sampling range from a number ``v`` (``[center - v, center + v]``) or a pair."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"stax.data.{fname}: {what} must be non-negative, got {value!r}")
        lo, hi = center - float(value), center + float(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        lo, hi = float(value[0]), float(value[1])
    else:
        raise TypeError(
            f"stax.data.{fname}: {what} must be a number or a (min, max) pair, got {value!r}"
        )
    lo = max(lo, low)
    if lo > hi:
        raise ValueError(f"stax.data.{fname}: {what} range ({lo}, {hi}) is empty")
    return lo, hi


def _probability(p: Any, fname: str) -> float:
    if not isinstance(p, (int, float, np.number)) or not 0 <= p <= 1:
        raise ValueError(f"stax.data.{fname}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


def _uniform(key: Any, lo: float, hi: float, dtype, shape=()) -> Any:
    return random.uniform(key, shape, dtype, minval=lo, maxval=hi)


# ------------------------------------------------------------------------------------
# Conversion, batching and combinators
# ------------------------------------------------------------------------------------


def to_float(image: Any, dtype: Any = np.float32) -> Any:
    """An integer image (``uint8`` 0..255) as floats in ``[0, 1]``; floating images as they are.

    Examples:
        >>> import numpy as np
        >>> to_float(np.array([[[0, 255]]], dtype=np.uint8)).tolist()
        [[[0.0, 1.0]]]
    """
    image = fnp.asarray(image)
    if image.dtype.kind == "f":
        return image
    if image.dtype != np.uint8:
        raise TypeError(f"stax.data.to_float: expected uint8 or floating pixels, got {image.dtype}")
    return image.astype(dtype) / np.array(255, dtype=dtype)[()]


def apply_to_batch(augmentation: Augmentation, key: Any, images: Any) -> Any:
    """``augmentation`` applied to every image of a batch, each with its own key.

    Equal to ``funcgrad.vmap(augmentation)(random.split(key, n), images)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> out = apply_to_batch(random_horizontal_flip(), random.key(0), fnp.zeros((4, 8, 8, 3)))
        >>> out.shape
        (4, 8, 8, 3)
    """
    images = fnp.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"stax.data.apply_to_batch: expected a batch (n, height, width, channels), "
            f"got shape {images.shape}"
        )
    keys = random.split(key, images.shape[0])
    return funcgrad.vmap(augmentation)(keys, images)


def compose(transforms: Sequence[Augmentation]) -> Augmentation:
    """Apply ``transforms`` in order, each with its own key split from the given one.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> pipeline = compose([random_crop(4, padding=1), normalize([0.5], [0.5])])
        >>> pipeline(random.key(0), fnp.ones((4, 4, 1))).shape
        (4, 4, 1)
    """
    transforms = list(transforms)

    def apply(key, image):
        if not transforms:
            return image
        for k, transform in zip(random.split(key, len(transforms)), transforms):
            image = transform(k, image)
        return image

    return apply


def random_apply(transforms: Augmentation | Sequence[Augmentation], p: float = 0.5) -> Augmentation:
    """With probability ``p`` apply ``transforms`` (one, or a list composed in order), else nothing.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> never = random_apply(lambda k, x: x + 1, p=0.0)
        >>> never(random.key(0), fnp.zeros((1, 1, 1))).tolist()
        [[[0.0]]]
    """
    p = _probability(p, "random_apply")
    inner = transforms if callable(transforms) else compose(transforms)

    def apply(key, image):
        key_coin, key_inner = random.split(key)
        coin = random.uniform(key_coin) < p
        return lax.cond(coin, lambda x: inner(key_inner, x), lambda x: x, image)

    return apply


def random_choice(
    transforms: Sequence[Augmentation], p: Sequence[float] | None = None
) -> Augmentation:
    """Apply one of ``transforms``, chosen with probabilities ``p`` (default uniform).

    Every transform must give the same output shape.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> pick = random_choice([lambda k, x: x + 1, lambda k, x: x + 2])
        >>> float(pick(random.key(0), fnp.zeros((1, 1, 1))).sum()) in (1.0, 2.0)
        True
    """
    transforms = list(transforms)
    if not transforms:
        raise ValueError("stax.data.random_choice: transforms is empty")
    weights = np.full(len(transforms), 1.0 / len(transforms)) if p is None else np.asarray(p, float)
    if weights.shape != (len(transforms),) or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(
            f"stax.data.random_choice: p must hold one non-negative weight per transform, got {p!r}"
        )
    logits = np.log(weights / weights.sum())

    def apply(key, image):
        key_pick, key_inner = random.split(key)
        index = random.categorical(key_pick, fnp.asarray(logits))
        branches = [lambda x, t=t: t(key_inner, x) for t in transforms]
        return lax.switch(index, branches, image)

    return apply


def random_order(transforms: Sequence[Augmentation]) -> Augmentation:
    """Apply every one of ``transforms``, in a random order.

    The transforms must keep the image's shape.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> both = random_order([lambda k, x: x * 2, lambda k, x: x + 1])
        >>> float(both(random.key(0), fnp.ones((1, 1, 1))).sum()) in (3.0, 4.0)
        True
    """
    transforms = list(transforms)

    def apply(key, image):
        if not transforms:
            return image
        key_order, key_inner = random.split(key)
        order = random.permutation(key_order, len(transforms))
        keys = random.split(key_inner, len(transforms))
        for step in range(len(transforms)):
            # the step's transform gets the key of its own index, whatever its position
            branches = [lambda x, i=i: transforms[i](keys[i], x) for i in range(len(transforms))]
            image = lax.switch(order[step], branches, image)
        return image

    return apply


# ------------------------------------------------------------------------------------
# Geometry: padding, crops, flips, resizing
# ------------------------------------------------------------------------------------

_PAD_MODES = {
    "constant": "constant",
    "edge": "edge",
    "reflect": "reflect",
    "symmetric": "symmetric",
}


def _padding(padding: Any, fname: str) -> tuple[int, int, int, int]:
    """torchvision's padding: int, (left/right, top/bottom) or (left, top, right, bottom)."""
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        left = top = right = bottom = int(padding)
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        left = right = int(padding[0])
        top = bottom = int(padding[1])
    elif isinstance(padding, (tuple, list)) and len(padding) == 4:
        left, top, right, bottom = (int(v) for v in padding)
    else:
        raise TypeError(
            f"stax.data.{fname}: padding must be an int, (left/right, top/bottom) or "
            f"(left, top, right, bottom); got {padding!r}"
        )
    if min(left, top, right, bottom) < 0:
        raise ValueError(f"stax.data.{fname}: padding must be non-negative, got {padding!r}")
    return left, top, right, bottom


def _pad_image(image: Any, sides: tuple[int, int, int, int], mode: str, fill: float, fname: str):
    if mode not in _PAD_MODES:
        raise ValueError(
            f"stax.data.{fname}: padding_mode must be one of {list(_PAD_MODES)}, got {mode!r}"
        )
    left, top, right, bottom = sides
    if not any(sides):
        return image
    widths = ((top, bottom), (left, right), (0, 0))
    if mode == "constant":
        return fnp.pad(image, widths, mode="constant", constant_values=fill)
    if mode == "reflect" and (
        max(top, bottom) >= image.shape[0] or max(left, right) >= image.shape[1]
    ):
        raise ValueError(
            f"stax.data.{fname}: reflect padding {sides} needs an image larger than the "
            f"padding, got shape {image.shape}"
        )
    return fnp.pad(image, widths, mode=_PAD_MODES[mode])


def pad(padding: Any, *, fill: float = 0.0, padding_mode: str = "constant") -> Augmentation:
    """Pad the borders (torchvision's ``Pad``): ``constant`` (``fill``), ``edge``,
    ``reflect`` (without repeating the edge) or ``symmetric`` (repeating it).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> pad((1, 2))(random.key(0), fnp.zeros((3, 3, 1))).shape
        (7, 5, 1)
    """
    sides = _padding(padding, "pad")

    def apply(key, image):
        del key
        image = _image(image, "pad", floating=False)
        return _pad_image(image, sides, padding_mode, fill, "pad")

    return apply


def _crop(image: Any, top: Any, left: Any, height: int, width: int) -> Any:
    """The ``height x width`` window at a (possibly traced) corner, by gathering rows and columns."""
    rows = top + fnp.arange(height)
    cols = left + fnp.arange(width)
    return fnp.take(fnp.take(image, rows, axis=0), cols, axis=1)


def random_crop(
    size: Any,
    *,
    padding: Any = None,
    pad_if_needed: bool = False,
    fill: float = 0.0,
    padding_mode: str = "constant",
) -> Augmentation:
    """Crop a random ``size`` window, after optional padding (torchvision's ``RandomCrop``).

    The corner is uniform over every position where the window fits. With
    ``pad_if_needed`` an image smaller than ``size`` is padded (on both sides) first.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> crop = random_crop(32, padding=4, padding_mode="reflect")
        >>> crop(random.key(0), fnp.zeros((32, 32, 3))).shape
        (32, 32, 3)
    """
    height, width = _pair(size, "random_crop", "size")
    sides = _padding(padding, "random_crop") if padding is not None else (0, 0, 0, 0)

    def apply(key, image):
        image = _image(image, "random_crop", floating=False)
        image = _pad_image(image, sides, padding_mode, fill, "random_crop")
        if pad_if_needed:
            extra_h = max(height - image.shape[0], 0)
            extra_w = max(width - image.shape[1], 0)
            image = _pad_image(
                image, (extra_w, extra_h, extra_w, extra_h), padding_mode, fill, "random_crop"
            )
        h, w = image.shape[0], image.shape[1]
        if height > h or width > w:
            raise ValueError(
                f"stax.data.random_crop: crop size {(height, width)} is larger than the "
                f"(padded) image {(h, w)}; pass pad_if_needed=True or a smaller size"
            )
        key_top, key_left = random.split(key)
        top = random.randint(key_top, (), 0, h - height + 1)
        left = random.randint(key_left, (), 0, w - width + 1)
        return _crop(image, top, left, height, width)

    return apply


def _center_corner(h: int, w: int, height: int, width: int, fname: str) -> tuple[int, int]:
    if height > h or width > w:
        raise ValueError(
            f"stax.data.{fname}: crop size {(height, width)} is larger than the image {(h, w)}"
        )
    return round((h - height) / 2.0), round((w - width) / 2.0)


def center_crop(size: Any) -> Augmentation:
    """The central ``size`` window (torchvision's rounding of the corner).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> image = fnp.arange(16.0).reshape(4, 4, 1)
        >>> center_crop(2)(random.key(0), image)[..., 0].tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """
    height, width = _pair(size, "center_crop", "size")

    def apply(key, image):
        del key
        image = _image(image, "center_crop", floating=False)
        top, left = _center_corner(image.shape[0], image.shape[1], height, width, "center_crop")
        return image[top : top + height, left : left + width]

    return apply


def five_crop(size: Any) -> Augmentation:
    """The four corner windows and the central one, stacked: ``(5, height, width, channels)``
    in torchvision's order (top-left, top-right, bottom-left, bottom-right, center).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> five_crop(2)(random.key(0), fnp.zeros((4, 4, 3))).shape
        (5, 2, 2, 3)
    """
    height, width = _pair(size, "five_crop", "size")

    def apply(key, image):
        del key
        image = _image(image, "five_crop", floating=False)
        h, w = image.shape[0], image.shape[1]
        top, left = _center_corner(h, w, height, width, "five_crop")
        corners = [(0, 0), (0, w - width), (h - height, 0), (h - height, w - width), (top, left)]
        return fnp.stack([image[t : t + height, c : c + width] for t, c in corners])

    return apply


def ten_crop(size: Any, *, vertical_flip: bool = False) -> Augmentation:
    """:func:`five_crop` of the image and of its (horizontal, or vertical) mirror: ``(10, h, w, c)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> ten_crop(2)(random.key(0), fnp.zeros((4, 4, 3))).shape
        (10, 2, 2, 3)
    """
    five = five_crop(size)

    def apply(key, image):
        image = _image(image, "ten_crop", floating=False)
        mirrored = image[::-1] if vertical_flip else image[:, ::-1]
        return fnp.concatenate([five(key, image), five(key, mirrored)])

    return apply


def _random_flip(p: float, axis: int, fname: str) -> Augmentation:
    p = _probability(p, fname)

    def apply(key, image):
        image = _image(image, fname, floating=False)
        flipped = fnp.flip(image, axis=axis)
        return fnp.where(random.uniform(key) < p, flipped, image)

    return apply


def random_horizontal_flip(p: float = 0.5) -> Augmentation:
    """Mirror left-right with probability ``p``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> random_horizontal_flip(1.0)(random.key(0), fnp.arange(3.0).reshape(1, 3, 1))[0, :, 0].tolist()
        [2.0, 1.0, 0.0]
    """
    return _random_flip(p, 1, "random_horizontal_flip")


def random_vertical_flip(p: float = 0.5) -> Augmentation:
    """Mirror top-bottom with probability ``p``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> random_vertical_flip(1.0)(random.key(0), fnp.arange(3.0).reshape(3, 1, 1))[:, 0, 0].tolist()
        [2.0, 1.0, 0.0]
    """
    return _random_flip(p, 0, "random_vertical_flip")


_RESIZE_METHODS = ("nearest", "bilinear")


def resize(size: Any, *, method: str = "bilinear", align_corners: bool = False) -> Augmentation:
    """Resize to ``size`` = ``(height, width)`` by ``funcgrad.lax.resize`` (PyTorch's
    ``interpolate`` coordinates; no antialiasing when shrinking).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> resize((4, 6))(random.key(0), fnp.ones((2, 3, 3))).shape
        (4, 6, 3)
    """
    height, width = _pair(size, "resize", "size")
    if method not in _RESIZE_METHODS:
        raise ValueError(
            f"stax.data.resize: method must be one of {_RESIZE_METHODS}, got {method!r}"
        )

    def apply(key, image):
        del key
        image = _image(image, "resize", floating=method != "nearest")
        out = lax.resize(image[None], (height, width), method=method, align_corners=align_corners)
        return out[0].astype(image.dtype)

    return apply


# ------------------------------------------------------------------------------------
# Affine warps: rotation, translation, scale, shear (bilinear, constant fill)
# ------------------------------------------------------------------------------------


def _inverse_affine(angle, translate, scale, shear):
    """The map from output to input pixel coordinates, both relative to the image centre.

    With x to the right and y downwards, the forward warp is ``p_out = T + s * A @ p_in``
    where ``A`` is torchvision's rotation-with-shear matrix ``R(a) @ SHy(sy) @ SHx(sx)``
    for ``a = -angle``: a positive ``angle`` turns the picture counter-clockwise as
    displayed. The result is ``(inverse of s * A, T)``: ``p_in = M @ (p_out - T)``.
    """
    a = -angle * (np.pi / 180)
    sx, sy = shear[0] * (np.pi / 180), shear[1] * (np.pi / 180)
    m00 = fnp.cos(a - sy) / fnp.cos(sy)
    m01 = -fnp.cos(a - sy) * fnp.tan(sx) / fnp.cos(sy) - fnp.sin(a)
    m10 = fnp.sin(a - sy) / fnp.cos(sy)
    m11 = -fnp.sin(a - sy) * fnp.tan(sx) / fnp.cos(sy) + fnp.cos(a)
    det = (m00 * m11 - m01 * m10) * scale
    # inverse of scale * [[m00, m01], [m10, m11]]
    return (m11 / det, -m01 / det, -m10 / det, m00 / det), translate


def _warp(image: Any, angle, translate, scale, shear, fill) -> Any:
    """Sample ``image`` bilinearly at the inverse-warped position of every output pixel.

    A neighbour outside the image counts as ``fill``, so the border blends into it.
    """
    h, w, c = image.shape
    dtype = image.dtype
    (i00, i01, i10, i11), (tx, ty) = _inverse_affine(angle, translate, scale, shear)
    ys, xs = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    xo, yo = fnp.asarray(xs.ravel()) - tx, fnp.asarray(ys.ravel()) - ty
    x_in = i00 * xo + i01 * yo + (w - 1) / 2
    y_in = i10 * xo + i11 * yo + (h - 1) / 2
    x0, y0 = fnp.floor(x_in), fnp.floor(y_in)
    fx, fy = (x_in - x0).astype(dtype)[:, None], (y_in - y0).astype(dtype)[:, None]
    flat = image.reshape(h * w, c)
    fill_value = fnp.asarray(fill, dtype=dtype)

    def at(yy, xx):
        inside = (yy >= 0) & (yy <= h - 1) & (xx >= 0) & (xx <= w - 1)
        index = fnp.clip(yy, 0, h - 1).astype(np.int64) * w + fnp.clip(xx, 0, w - 1).astype(
            np.int64
        )
        return fnp.where(inside[:, None], fnp.take(flat, index, axis=0), fill_value)

    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    return (top * (1 - fy) + bottom * fy).reshape(h, w, c)


def affine(
    image: Any,
    *,
    angle: Any = 0.0,
    translate: tuple[Any, Any] = (0.0, 0.0),
    scale: Any = 1.0,
    shear: tuple[Any, Any] = (0.0, 0.0),
    fill: float = 0.0,
) -> Any:
    """Warp one image by a rotation, translation, scale and shear about its centre.

    ``angle`` in degrees, counter-clockwise as displayed (as ``rotate`` in torchvision,
    SciPy and Pillow; torchvision's ``functional.affine`` turns clockwise, so this
    equals it with the angle negated), ``translate`` ``(dx, dy)`` in pixels (right,
    down), ``scale`` a positive factor, ``shear`` ``(x, y)`` in degrees (torchvision's
    shear matrices). Unlike torchvision (nearest by default) it interpolates
    bilinearly; pixels that come from outside the image are ``fill``. Every parameter
    may be a traced value.

    Examples:
        >>> import numpy as np, funcgrad.numpy as fnp
        >>> image = fnp.arange(9.0).reshape(3, 3, 1)
        >>> turned = affine(image, angle=90.0)
        >>> bool(np.allclose(turned[..., 0], np.rot90(np.arange(9.0).reshape(3, 3))))
        True
    """
    image = _image(image, "affine")
    return _warp(image, angle, translate, scale, shear, fill)


def random_rotation(degrees: Any, *, fill: float = 0.0) -> Augmentation:
    """Rotate by an angle uniform in ``[-degrees, degrees]`` (or a ``(min, max)`` pair).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> random_rotation(30)(random.key(0), fnp.ones((8, 8, 3))).shape
        (8, 8, 3)
    """
    lo, hi = _range(degrees, "random_rotation", "degrees")

    def apply(key, image):
        image = _image(image, "random_rotation")
        angle = _uniform(key, lo, hi, np.float64)
        return _warp(image, angle, (0.0, 0.0), 1.0, (0.0, 0.0), fill)

    return apply


def random_affine(
    degrees: Any,
    translate: tuple[float, float] | None = None,
    scale: tuple[float, float] | None = None,
    shear: Any = None,
    *,
    fill: float = 0.0,
) -> Augmentation:
    """A random affine warp (torchvision's ``RandomAffine`` sampling).

    Args:
        degrees: rotation range, ``d`` for ``[-d, d]`` or ``(min, max)``.
        translate: ``(a, b)`` maximum shifts as fractions of the width and height;
            ``dx`` is uniform in ``[-a w, a w]``, ``dy`` in ``[-b h, b h]`` (rounded to
            whole pixels, as torchvision).
        scale: ``(min, max)`` factor range.
        shear: ``s`` (x shear in ``[-s, s]``), ``(min, max)`` (x only) or
            ``(xmin, xmax, ymin, ymax)``.
        fill: the value of pixels from outside the image.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> warp = random_affine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5)
        >>> warp(random.key(0), fnp.ones((8, 8, 1))).shape
        (8, 8, 1)
    """
    fname = "random_affine"
    degrees_range = _range(degrees, fname, "degrees")
    if translate is not None and (len(translate) != 2 or not all(0 <= t <= 1 for t in translate)):
        raise ValueError(
            f"stax.data.{fname}: translate must be two fractions in [0, 1], got {translate!r}"
        )
    if scale is not None and (len(scale) != 2 or not 0 < scale[0] <= scale[1]):
        raise ValueError(
            f"stax.data.{fname}: scale must be (min, max) with 0 < min <= max, got {scale!r}"
        )
    if shear is None:
        shear_ranges = ((0.0, 0.0), (0.0, 0.0))
    elif isinstance(shear, (tuple, list)) and len(shear) == 4:
        shear_ranges = ((float(shear[0]), float(shear[1])), (float(shear[2]), float(shear[3])))
    else:
        shear_ranges = (_range(shear, fname, "shear"), (0.0, 0.0))

    def apply(key, image):
        image = _image(image, fname)
        h, w = image.shape[0], image.shape[1]
        k_angle, k_dx, k_dy, k_scale, k_sx, k_sy = random.split(key, 6)
        angle = _uniform(k_angle, *degrees_range, np.float64)
        if translate is not None:
            dx = fnp.rint(_uniform(k_dx, -translate[0] * w, translate[0] * w, np.float64))
            dy = fnp.rint(_uniform(k_dy, -translate[1] * h, translate[1] * h, np.float64))
        else:
            dx = dy = 0.0
        factor = _uniform(k_scale, scale[0], scale[1], np.float64) if scale is not None else 1.0
        sx = _uniform(k_sx, *shear_ranges[0], np.float64)
        sy = _uniform(k_sy, *shear_ranges[1], np.float64)
        return _warp(image, angle, (dx, dy), factor, (sx, sy), fill)

    return apply


# ------------------------------------------------------------------------------------
# Colour
# ------------------------------------------------------------------------------------

# ITU-R 601-2 luma weights, as torchvision and Pillow's "L" conversion.
_LUMA = (0.299, 0.587, 0.114)


def _luma(image: Any) -> Any:
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    dtype = image.dtype
    return (
        r * np.array(_LUMA[0], dtype)[()]
        + g * np.array(_LUMA[1], dtype)[()]
        + b * np.array(_LUMA[2], dtype)[()]
    )[..., None]


def _blend(image: Any, other: Any, factor: Any) -> Any:
    """``factor * image + (1 - factor) * other``, clipped to [0, 1] (torchvision's _blend)."""
    factor = fnp.asarray(factor).astype(image.dtype)
    return fnp.clip(factor * image + (1 - factor) * other, 0, 1)


def adjust_brightness(image: Any, factor: Any) -> Any:
    """``image * factor`` clipped to [0, 1].

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> adjust_brightness(fnp.full((1, 1, 3), 0.6), 2.0).tolist()
        [[[1.0, 1.0, 1.0]]]
    """
    image = _image(image, "adjust_brightness")
    return _blend(image, fnp.zeros_like(image), factor)


def adjust_contrast(image: Any, factor: Any) -> Any:
    """Blend with the mean grey level of the image (its luma for RGB): 0 gives flat grey.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> adjust_contrast(fnp.asarray([[[0.0], [1.0]]]), 0.0).tolist()
        [[[0.5], [0.5]]]
    """
    image = _image(image, "adjust_contrast")
    grey = _luma(image) if image.shape[-1] == 3 else image
    return _blend(image, fnp.mean(grey), factor)


def adjust_saturation(image: Any, factor: Any) -> Any:
    """Blend an RGB image with its own greyscale version: 0 gives grey, 1 the image.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> out = adjust_saturation(fnp.asarray([[[1.0, 0.0, 0.0]]]), 0.0)
        >>> [round(v, 3) for v in out[0, 0].tolist()]
        [0.299, 0.299, 0.299]
    """
    image = _image(image, "adjust_saturation", channels=3)
    return _blend(image, _luma(image), factor)


def rgb_to_hsv(image: Any) -> Any:
    """RGB in [0, 1] to hue, saturation, value, each in [0, 1] (hue 0 for greys).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [round(v, 4) for v in rgb_to_hsv(fnp.asarray([[[0.0, 1.0, 0.0]]]))[0, 0].tolist()]
        [0.3333, 1.0, 1.0]
    """
    image = _image(image, "rgb_to_hsv", channels=3)
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    top = fnp.max(image, axis=-1)
    spread = top - fnp.min(image, axis=-1)
    grey = spread == 0
    saturation = fnp.where(top > 0, spread / fnp.where(top > 0, top, 1), 0)
    safe = fnp.where(grey, 1, spread)
    rc, gc, bc = (top - r) / safe, (top - g) / safe, (top - b) / safe
    hue = fnp.where(top == r, bc - gc, fnp.where(top == g, 2 + rc - bc, 4 + gc - rc))
    hue = fnp.where(grey, 0, (hue / 6) % 1)
    return fnp.stack([hue, saturation, top], axis=-1).astype(image.dtype)


def hsv_to_rgb(image: Any) -> Any:
    """The inverse of :func:`rgb_to_hsv`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> hsv_to_rgb(fnp.asarray([[[2 / 3, 1.0, 1.0]]])).tolist()
        [[[0.0, 0.0, 1.0]]]
    """
    image = _image(image, "hsv_to_rgb", channels=3)
    h, s, v = image[..., 0], image[..., 1], image[..., 2]
    sector = fnp.floor(h * 6)
    f = h * 6 - sector
    sector = sector.astype(np.int64) % 6
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = (
        (v, t, p),
        (q, v, p),
        (p, v, t),
        (p, q, v),
        (t, p, v),
        (v, p, q),
    )
    channels = []
    for c in range(3):
        out = table[5][c]
        for i in range(4, -1, -1):
            out = fnp.where(sector == i, table[i][c], out)
        channels.append(out)
    return fnp.stack(channels, axis=-1).astype(image.dtype)


def adjust_hue(image: Any, shift: Any) -> Any:
    """Rotate the hue of an RGB image by ``shift`` turns (``shift`` in [-0.5, 0.5]).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [round(v, 6) for v in adjust_hue(fnp.asarray([[[1.0, 0.0, 0.0]]]), 1 / 3)[0, 0].tolist()]
        [0.0, 1.0, 0.0]
    """
    image = _image(image, "adjust_hue", channels=3)
    hsv = rgb_to_hsv(image)
    hue = (hsv[..., 0] + fnp.asarray(shift).astype(image.dtype)) % 1
    return hsv_to_rgb(fnp.stack([hue, hsv[..., 1], hsv[..., 2]], axis=-1))


def color_jitter(
    brightness: Any = 0.0, contrast: Any = 0.0, saturation: Any = 0.0, hue: Any = 0.0
) -> Augmentation:
    """Random brightness, contrast, saturation and hue changes, in a random order
    (torchvision's ``ColorJitter``).

    ``brightness``, ``contrast`` and ``saturation`` are ``b`` (a factor uniform in
    ``[max(0, 1 - b), 1 + b]``) or a ``(min, max)`` pair; ``hue`` is ``h`` in
    ``[0, 0.5]`` (a shift uniform in ``[-h, h]`` turns) or a pair inside
    ``[-0.5, 0.5]``. Zero leaves that property alone. Saturation and hue need RGB.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> jitter = color_jitter(0.4, 0.4, 0.4, 0.1)
        >>> out = jitter(random.key(0), fnp.full((4, 4, 3), 0.5))
        >>> out.shape, bool((out >= 0).all() & (out <= 1).all())
        ((4, 4, 3), True)
    """
    fname = "color_jitter"
    ops = []
    for value, adjust in (
        (brightness, adjust_brightness),
        (contrast, adjust_contrast),
        (saturation, adjust_saturation),
    ):
        lo, hi = _range(value, fname, adjust.__name__[7:], center=1.0, low=0.0)
        if (lo, hi) != (1.0, 1.0):
            ops.append(
                lambda k, x, lo=lo, hi=hi, adjust=adjust: adjust(x, _uniform(k, lo, hi, x.dtype))
            )
    lo, hi = _range(hue, fname, "hue")
    if not -0.5 <= lo <= hi <= 0.5:
        raise ValueError(f"stax.data.{fname}: hue must lie in [-0.5, 0.5], got {hue!r}")
    if (lo, hi) != (0.0, 0.0):
        ops.append(lambda k, x: adjust_hue(x, _uniform(k, lo, hi, x.dtype)))
    shuffled = random_order(ops)

    def apply(key, image):
        image = _image(image, fname)
        return shuffled(key, image)

    return apply


def grayscale(num_output_channels: int = 1) -> Augmentation:
    """RGB to luma (0.299 R + 0.587 G + 0.114 B), with 1 or 3 (equal) output channels.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> grayscale(3)(random.key(0), fnp.ones((2, 2, 3))).shape
        (2, 2, 3)
    """
    if num_output_channels not in (1, 3):
        raise ValueError(
            f"stax.data.grayscale: num_output_channels must be 1 or 3, got {num_output_channels!r}"
        )

    def apply(key, image):
        del key
        image = _image(image, "grayscale", channels=3)
        luma = _luma(image)
        return fnp.repeat(luma, num_output_channels, axis=-1) if num_output_channels == 3 else luma

    return apply


def random_grayscale(p: float = 0.1) -> Augmentation:
    """With probability ``p`` replace an RGB image by its luma in all three channels."""
    p = _probability(p, "random_grayscale")
    grey = grayscale(3)

    def apply(key, image):
        image = _image(image, "random_grayscale", channels=3)
        return fnp.where(random.uniform(key) < p, grey(key, image), image)

    return apply


# ------------------------------------------------------------------------------------
# Blur, noise, erasing, normalisation
# ------------------------------------------------------------------------------------


def gaussian_blur(kernel_size: Any, sigma: Any = (0.1, 2.0)) -> Augmentation:
    """Blur with a Gaussian of standard deviation uniform in ``sigma`` (a number or a
    ``(min, max)`` pair), separably, with reflected borders (torchvision's ``GaussianBlur``).

    The kernel of odd size ``k`` has taps ``exp(-x^2 / (2 sigma^2))`` for
    ``x = -(k-1)/2 .. (k-1)/2``, normalised to sum 1. ``kernel_size`` is an int or
    ``(height, width)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> out = gaussian_blur(3, 1.0)(random.key(0), fnp.full((5, 5, 1), 0.5))
        >>> bool(fnp.allclose(out, 0.5))
        True
    """
    size_h, size_w = _pair(kernel_size, "gaussian_blur", "kernel_size")
    if size_h % 2 == 0 or size_w % 2 == 0:
        raise ValueError(f"stax.data.gaussian_blur: kernel_size must be odd, got {kernel_size!r}")
    if isinstance(sigma, (tuple, list)):
        lo, hi = _range(sigma, "gaussian_blur", "sigma")
    else:
        lo = hi = float(sigma)
    if lo <= 0:
        raise ValueError(f"stax.data.gaussian_blur: sigma must be positive, got {sigma!r}")

    def blur_axis(image, weights, size, axis):
        half = size // 2
        if half == 0:
            return image
        if half >= image.shape[axis]:
            raise ValueError(
                f"stax.data.gaussian_blur: kernel size {size} needs an image larger than "
                f"{half} pixels along axis {axis}, got shape {image.shape}"
            )
        widths = [(0, 0)] * 3
        widths[axis] = (half, half)
        padded = fnp.pad(image, widths, mode="reflect")
        n = image.shape[axis]
        total = 0
        for tap in range(size):
            window = lax.slice_in_dim(padded, tap, tap + n, axis=axis)
            total = total + weights[tap] * window
        return total

    def apply(key, image):
        image = _image(image, "gaussian_blur")
        s = _uniform(key, lo, hi, image.dtype) if hi > lo else fnp.asarray(lo, dtype=image.dtype)
        out = image
        for size, axis in ((size_h, 0), (size_w, 1)):
            x = fnp.arange(size, dtype=image.dtype) - (size - 1) / 2
            weights = fnp.exp(-0.5 * (x / s) ** 2)
            out = blur_axis(out, weights / fnp.sum(weights), size, axis)
        return out

    return apply


def gaussian_noise(mean: float = 0.0, sigma: float = 0.1, *, clip: bool = True) -> Augmentation:
    """Add normal noise of the given mean and standard deviation to every value
    (torchvision's ``GaussianNoise``), clipped to [0, 1] unless ``clip=False``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> out = gaussian_noise(sigma=0.5)(random.key(0), fnp.full((8, 8, 1), 0.5))
        >>> bool((out >= 0).all() & (out <= 1).all())
        True
    """
    if sigma < 0:
        raise ValueError(f"stax.data.gaussian_noise: sigma must be non-negative, got {sigma!r}")

    def apply(key, image):
        image = _image(image, "gaussian_noise")
        noisy = image + (mean + sigma * random.normal(key, image.shape, image.dtype)).astype(
            image.dtype
        )
        return fnp.clip(noisy, 0, 1) if clip else noisy

    return apply


def salt_and_pepper(amount: float = 0.05, salt_vs_pepper: float = 0.5) -> Augmentation:
    """Set a fraction ``amount`` of the pixels (all channels together) to 1 (salt, with
    probability ``salt_vs_pepper``) or 0 (pepper), as scikit-image's ``s&p`` noise.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> out = salt_and_pepper(1.0, 1.0)(random.key(0), fnp.full((2, 2, 3), 0.5))
        >>> out.tolist() == fnp.ones((2, 2, 3)).tolist()
        True
    """
    amount = _probability(amount, "salt_and_pepper")
    salt_vs_pepper = _probability(salt_vs_pepper, "salt_and_pepper")

    def apply(key, image):
        image = _image(image, "salt_and_pepper")
        key_hit, key_salt = random.split(key)
        shape = image.shape[:2] + (1,)
        hit = random.uniform(key_hit, shape) < amount
        salt = random.uniform(key_salt, shape) < salt_vs_pepper
        return fnp.where(hit, salt.astype(image.dtype), image)

    return apply


def random_erasing(
    p: float = 0.5,
    scale: tuple[float, float] = (0.02, 0.33),
    ratio: tuple[float, float] = (0.3, 3.3),
    value: float = 0.0,
) -> Augmentation:
    """With probability ``p`` fill a random rectangle with ``value`` (torchvision's
    ``RandomErasing``; Zhong et al., 2017).

    The rectangle's area is a fraction uniform in ``scale`` of the image's and its
    aspect ratio log-uniform in ``ratio``; of 10 such draws the first that fits is
    erased, and if none fits the image is returned unchanged, as torchvision does.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> out = random_erasing(p=1.0, value=0.0)(random.key(0), fnp.ones((16, 16, 3)))
        >>> 0 < float((out == 0).mean()) < 0.5
        True
    """
    p = _probability(p, "random_erasing")
    if not 0 < scale[0] <= scale[1] <= 1 or not 0 < ratio[0] <= ratio[1]:
        raise ValueError(
            f"stax.data.random_erasing: need 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= "
            f"ratio[1]; got scale={scale!r}, ratio={ratio!r}"
        )
    attempts = 10

    def apply(key, image):
        image = _image(image, "random_erasing")
        h, w = image.shape[0], image.shape[1]
        k_coin, k_area, k_ratio, k_top, k_left = random.split(key, 5)
        area = h * w * _uniform(k_area, scale[0], scale[1], np.float64, (attempts,))
        aspect = fnp.exp(
            _uniform(k_ratio, math.log(ratio[0]), math.log(ratio[1]), np.float64, (attempts,))
        )
        eh = fnp.rint(fnp.sqrt(area * aspect)).astype(np.int64)
        ew = fnp.rint(fnp.sqrt(area / aspect)).astype(np.int64)
        fits = (eh < h) & (ew < w)
        first = fnp.argmax(fits)
        eh, ew = eh[first], ew[first]
        top = random.randint(k_top, (), 0, h - eh + 1)
        left = random.randint(k_left, (), 0, w - ew + 1)
        rows = fnp.arange(h)[:, None, None]
        cols = fnp.arange(w)[None, :, None]
        inside = (rows >= top) & (rows < top + eh) & (cols >= left) & (cols < left + ew)
        erase = inside & fnp.any(fits) & (random.uniform(k_coin) < p)
        return fnp.where(erase, fnp.asarray(value, dtype=image.dtype), image)

    return apply


def normalize(mean: Sequence[float], std: Sequence[float]) -> Augmentation:
    """``(image - mean) / std`` per channel (torchvision's ``Normalize``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> normalize([0.5], [0.25])(random.key(0), fnp.ones((1, 1, 1))).tolist()
        [[[2.0]]]
    """
    mean_np = np.asarray(mean, dtype=np.float64).reshape(-1)
    std_np = np.asarray(std, dtype=np.float64).reshape(-1)
    if mean_np.shape != std_np.shape or (std_np <= 0).any():
        raise ValueError(
            f"stax.data.normalize: mean and std need one value per channel and std > 0; got "
            f"mean={mean!r}, std={std!r}"
        )

    def apply(key, image):
        del key
        image = _image(image, "normalize")
        if mean_np.size not in (1, image.shape[-1]):
            raise ValueError(
                f"stax.data.normalize: {mean_np.size} means for an image with "
                f"{image.shape[-1]} channels (shape {image.shape})"
            )
        m = mean_np.astype(image.dtype)
        s = std_np.astype(image.dtype)
        return (image - m) / s

    return apply


# ------------------------------------------------------------------------------------
# Batch mixing
# ------------------------------------------------------------------------------------


def _batch(images: Any, labels: Any, fname: str) -> tuple[Any, Any]:
    images, labels = fnp.asarray(images), fnp.asarray(labels)
    if images.ndim != 4 or labels.ndim != 2 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"stax.data.{fname}: expected images (n, height, width, channels) and one-hot or "
            f"probability labels (n, classes); got shapes {images.shape} and {labels.shape} "
            f"(one-hot integer labels with funcgrad.nn.one_hot)"
        )
    if images.dtype.kind != "f" or labels.dtype.kind != "f":
        raise TypeError(
            f"stax.data.{fname}: images and labels must be floating, got {images.dtype}, {labels.dtype}"
        )
    return images, labels


def _mix_weight(key: Any, alpha: float, dtype) -> Any:
    return random.beta(key, alpha, alpha, dtype=np.float64).astype(dtype)


def mixup(alpha: float = 1.0) -> Callable[[Any, Any, Any], tuple[Any, Any]]:
    """Mix each example with another of the batch (Zhang et al., 2018).

    Returns ``f(key, images, labels) -> (images, labels)``: with ``lam ~ Beta(alpha,
    alpha)`` (one per batch, as torchvision's ``MixUp``) and a random permutation
    ``perm`` of the batch, ``lam * x + (1 - lam) * x[perm]`` for both images and
    one-hot labels.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad
        >>> from funcgrad import random
        >>> x, y = fnp.zeros((4, 2, 2, 1)), funcgrad.nn.one_hot(fnp.arange(4) % 2, 2)
        >>> mx, my = mixup(0.4)(random.key(0), x, y)
        >>> mx.shape, bool(fnp.allclose(my.sum(axis=1), 1.0))
        ((4, 2, 2, 1), True)
    """
    if not alpha > 0:
        raise ValueError(f"stax.data.mixup: alpha must be positive, got {alpha!r}")

    def apply(key, images, labels):
        images, labels = _batch(images, labels, "mixup")
        key_lam, key_perm = random.split(key)
        lam = _mix_weight(key_lam, alpha, images.dtype)
        perm = random.permutation(key_perm, images.shape[0])
        mixed = lam * images + (1 - lam) * images[perm]
        return mixed, lam.astype(labels.dtype) * labels + (1 - lam.astype(labels.dtype)) * labels[
            perm
        ]

    return apply


def cutmix(alpha: float = 1.0) -> Callable[[Any, Any, Any], tuple[Any, Any]]:
    """Paste a random box from another example of the batch (Yun et al., 2019).

    Returns ``f(key, images, labels) -> (images, labels)``, torchvision's ``CutMix``:
    ``lam ~ Beta(alpha, alpha)``, a box centred at a uniform pixel with half-sides
    ``floor(sqrt(1 - lam) / 2 * (width, height))`` clipped to the image, filled from
    ``images[perm]``; labels mix with the box's true area fraction.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad
        >>> from funcgrad import random
        >>> x, y = fnp.zeros((4, 8, 8, 3)), funcgrad.nn.one_hot(fnp.arange(4), 4)
        >>> cx, cy = cutmix()(random.key(0), x, y)
        >>> cx.shape, bool(fnp.allclose(cy.sum(axis=1), 1.0))
        ((4, 8, 8, 3), True)
    """
    if not alpha > 0:
        raise ValueError(f"stax.data.cutmix: alpha must be positive, got {alpha!r}")

    def apply(key, images, labels):
        images, labels = _batch(images, labels, "cutmix")
        n, h, w, _ = images.shape
        key_lam, key_perm, key_x, key_y = random.split(key, 4)
        lam = _mix_weight(key_lam, alpha, np.float64)
        perm = random.permutation(key_perm, n)
        cx = random.randint(key_x, (), 0, w)
        cy = random.randint(key_y, (), 0, h)
        r = 0.5 * fnp.sqrt(1.0 - lam)
        half_w = fnp.floor(r * w).astype(np.int64)
        half_h = fnp.floor(r * h).astype(np.int64)
        x1, x2 = fnp.clip(cx - half_w, 0, w), fnp.clip(cx + half_w, 0, w)
        y1, y2 = fnp.clip(cy - half_h, 0, h), fnp.clip(cy + half_h, 0, h)
        rows = fnp.arange(h)[:, None, None]
        cols = fnp.arange(w)[None, :, None]
        box = (rows >= y1) & (rows < y2) & (cols >= x1) & (cols < x2)
        mixed = fnp.where(box, images[perm], images)
        kept = (1.0 - ((x2 - x1) * (y2 - y1)) / (w * h)).astype(labels.dtype)
        return mixed, kept * labels + (1 - kept) * labels[perm]

    return apply
