"""The convolution's algorithms: im2col patches, their transpose, and the scatter forms.

conv_general_dilated's impl picks im2col (patches @ kernel matrix) or, for a
convolution over mostly padding (an input gradient), a scatter of every input element's
products with the kernel taps (the last axis's taps summed by a banded matmul where that
axis is short). Both are checked against the loop reference of
tests/records_convolution.py, on the same configurations; the patches primitive and its
transpose (col2im) against their definitions and each other.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from records_convolution import conv_configs, conv_reference, draw_patch_config

import funcgrad
import funcgrad.numpy as fnp
from backends import get_backend
from funcgrad import lax
from funcgrad._src.lax import convolution as conv
from funcgrad.test_util import check_grads


@pytest.mark.parametrize("algorithm", [conv._conv_by_scatter, conv._conv_by_banded_rows],
                         ids=["scatter", "banded_rows"])  # fmt: skip
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_scatter_algorithms_against_loop_reference(algorithm, data):
    lhs, rhs, params = data.draw(conv_configs(max_nsp=3), label="conv")
    nsp = lhs.ndim - 2
    # the scatter form's domain: unit strides, no lhs dilation, no groups
    assume(params["feature_group_count"] == 1 and params["batch_group_count"] == 1)
    params = dict(params, window_strides=(1,) * nsp, lhs_dilation=(1,) * nsp)
    out_shape = conv._conv_shape(lhs.shape, rhs.shape, **params)
    assume(0 not in out_shape)
    actual = algorithm(np, lhs, rhs, out_shape, **params)
    np.testing.assert_allclose(actual, conv_reference(lhs, rhs, **params), rtol=1e-10, atol=1e-12)


def test_input_gradients_scatter_and_forward_convolutions_use_im2col():
    """LeNet's second convolution: its input gradient is a 'full' convolution of the
    cotangent (padding 4 on each side), where scattering moves 4x less memory."""
    nhwc = conv.ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    common = {"window_strides": (1, 1), "lhs_dilation": (1, 1), "rhs_dilation": (1, 1),
              "dimension_numbers": nhwc, "feature_group_count": 1, "batch_group_count": 1}  # fmt: skip
    forward = dict(common, padding=((0, 0), (0, 0)))
    assert not conv._scatter_is_cheaper((64, 12, 12, 6), (5, 5, 6, 16), (64, 8, 8, 16), **forward)
    backward = dict(common, padding=((4, 4), (4, 4)))
    assert conv._scatter_is_cheaper((64, 8, 8, 16), (5, 5, 16, 6), (64, 12, 12, 6), **backward)
    # its last axis is short: the banded-matmul form (a 128 x 360 band)
    band = conv._banded_size((64, 8, 8, 16), (5, 5, 16, 6), (64, 12, 12, 6), **backward)
    assert band == 8 * 16 * 5 * 12 * 6 <= conv._MAX_BANDED_SIZE


def test_single_feature_patches_are_laid_out_tap_major():
    """One input feature: the patches are built tap by tap (a transposed view) and
    still equal the definition."""
    x = np.arange(2 * 6 * 7, dtype=np.float64).reshape(2, 6, 7, 1)
    params = {"window_strides": (1, 1), "padding": ((0, 0), (0, 0)), "lhs_dilation": (1, 1),
              "rhs_dilation": (1, 1), "kernel_sizes": (3, 2), "lhs_spec": (0, 3, 1, 2),
              "feature_group_count": 1, "batch_group_count": 1}  # fmt: skip
    (patches,) = conv._patches_impl(get_backend("numpy"), x, **params)
    assert patches.shape == (2 * 4 * 6, 6) and patches.flags.f_contiguous
    rows = [
        x[n, i : i + 3, j : j + 2, 0].ravel() for n in range(2) for i in range(4) for j in range(6)
    ]
    np.testing.assert_array_equal(patches, np.stack(rows))


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_col2im_is_the_transpose_of_im2col(data):
    lhs, params = draw_patch_config(data)
    x = fnp.asarray(lhs)
    patches = lambda v: conv.conv_patches_p.bind1(v, **params)
    ct = np.random.default_rng(0).uniform(-1, 1, patches(x).shape)
    (t,) = funcgrad.linear_transpose(patches, x)(fnp.asarray(ct))
    # <P^T ct, x> == <ct, P x>
    np.testing.assert_allclose(np.vdot(np.asarray(t), lhs), np.vdot(ct, np.asarray(patches(x))),
                               rtol=1e-10, atol=1e-12)  # fmt: skip


def test_second_order_through_the_shared_patches():
    """The kernel's gradient is patches(x)^T @ cotangent: differentiating it again with
    respect to x runs the patches' JVP and its transpose (col2im)."""
    rng = np.random.default_rng(1)
    x = fnp.asarray(rng.normal(size=(2, 6, 5, 2)))
    w = fnp.asarray(rng.normal(size=(3, 2, 2, 3)))

    def f(x, w):
        y = lax.conv_general_dilated(x, w, (1, 2), ((1, 0), (1, 1)),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))  # fmt: skip
        return fnp.sum(fnp.tanh(y))

    check_grads(f, (x, w), order=2, atol=1e-6, rtol=1e-6)
