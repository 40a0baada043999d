"""funcgrad.numpy contractions (dot, matmul, tensordot, einsum, ...) against NumPy."""

from __future__ import annotations

import string
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracle import arrays, check_against_numpy, dtypes, shapes

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src import core

# Contraction results are compared exactly: the operands hold small integers, so every
# sum of products is exact in every dtype (float16 included) whatever the summation order.
SMALL = 3


def int_valued(dtype, shape):
    """Arrays of ``dtype`` holding integers in [-SMALL, SMALL] (bool: True/False)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return hnp.arrays(dtype, shape, elements=st.booleans())
    lo = 0 if dtype.kind == "u" else -SMALL
    base = hnp.arrays(np.int64, shape, elements=st.integers(lo, SMALL))
    if dtype.kind == "c":
        return st.tuples(
            base, hnp.arrays(np.int64, shape, elements=st.integers(-SMALL, SMALL))
        ).map(lambda p: (p[0] + 1j * p[1]).astype(dtype))
    return base.map(lambda x: x.astype(dtype))


def draw_array(data, dtype_strategy, shape):
    dt = data.draw(dtype_strategy)
    return data.draw(int_valued(dt, shape))


def check(fnp_fn, np_fn, *args, **kwargs):
    return check_against_numpy(fnp_fn, np_fn, *args, rtol=0, atol=0, **kwargs)


class PrimitiveLog:
    """Records the primitives bound eagerly inside the ``with`` block."""

    def __enter__(self):
        self.names = []
        original = core.EvalTrace.process_primitive

        def spy(trace, prim, args, params):
            self.names.append(prim.name)
            return original(trace, prim, args, params)

        self._patch = mock.patch.object(core.EvalTrace, "process_primitive", spy)
        self._patch.start()
        return self

    def __exit__(self, *exc):
        self._patch.stop()


# --- matmul ----------------------------------------------------------------------------


@given(st.data(), hnp.mutually_broadcastable_shapes(signature="(m?,n),(n,p?)->(m?,p?)", max_side=4))
def test_matmul(data, shape_pair):
    s1, s2 = shape_pair.input_shapes
    a = draw_array(data, dtypes(), s1)
    b = draw_array(data, dtypes(), s2)
    check(fnp.matmul, np.matmul, a, b)
    check(lambda x, y: x @ y, lambda x, y: x @ y, a, b)


def test_matmul_2d_is_one_dot_general():
    a, b = fnp.ones((4, 3)), fnp.ones((3, 5))
    with PrimitiveLog() as log:
        out = fnp.matmul(a, b)
    assert log.names == ["dot_general"]
    assert out.shape == (4, 5)
    with PrimitiveLog() as log:
        a @ b
    assert log.names == ["dot_general"]


def test_matmul_batch_times_matrix_needs_no_broadcast():
    a, b = fnp.ones((7, 4, 3)), fnp.ones((3, 5))
    with PrimitiveLog() as log:
        out = fnp.matmul(a, b)
    assert log.names == ["dot_general"]
    assert out.shape == (7, 4, 5)


def test_matmul_lists_and_bool():
    check(fnp.matmul, np.matmul, [[1, 2], [3, 4]], [1, 1])
    a = np.array([[True, False], [False, False]])
    out = check(fnp.matmul, np.matmul, a, a)
    assert out.dtype == np.bool_


@pytest.mark.parametrize(
    "s1, s2, match",
    [
        (
            (3, 4),
            (5, 6),
            r"funcgrad.numpy.matmul: shapes \(3, 4\) and \(5, 6\) are not aligned: 4 \(dim 1\) != 5 \(dim 0\)",
        ),
        ((3, 4), (5,), r"funcgrad.numpy.matmul: shapes \(3, 4\) and \(5,\) are not aligned"),
        ((4,), (5, 6), r"funcgrad.numpy.matmul: shapes \(4,\) and \(5, 6\) are not aligned"),
        ((2, 3, 4), (5, 4, 6), r"funcgrad.numpy.matmul: batch dimensions .* \(2,\) and \(5,\)"),
        ((), (3,), r"funcgrad.numpy.matmul: operand 0 is 0-d"),
    ],
)
def test_matmul_errors(s1, s2, match):
    with pytest.raises(ValueError, match=match):
        fnp.matmul(fnp.ones(s1), fnp.ones(s2))


# --- dot, vdot, inner, outer, kron ------------------------------------------------------


@st.composite
def dot_shapes(draw):
    s1 = draw(shapes(0, 3, 0, 4))
    s2 = list(draw(shapes(0, 3, 0, 4)))
    if s1 and s2:
        s2[max(len(s2) - 2, 0)] = s1[-1]
    return s1, tuple(s2)


@given(st.data(), dot_shapes())
def test_dot(data, shape_pair):
    a = draw_array(data, dtypes(), shape_pair[0])
    b = draw_array(data, dtypes(), shape_pair[1])
    check(fnp.dot, np.dot, a, b)


def test_dot_python_scalars_are_arrays_as_in_numpy():
    x = np.arange(3, dtype=np.int8)
    check(fnp.dot, np.dot, 2, x)
    check(fnp.dot, np.dot, x, 2)
    check(fnp.dot, np.dot, 2.0, np.ones((2, 2), np.float32))


def test_dot_errors():
    with pytest.raises(
        ValueError,
        match=r"funcgrad.numpy.dot: shapes \(3, 4\) and \(5, 6\) are not aligned: 4 \(dim 1\) != 5 \(dim 0\)",
    ):
        fnp.dot(fnp.ones((3, 4)), fnp.ones((5, 6)))
    with pytest.raises(
        ValueError,
        match=r"funcgrad.numpy.dot: shapes \(2, 3, 4\) and \(2, 5, 6\) are not aligned: 4 \(dim 2\) != 5 \(dim 1\)",
    ):
        fnp.dot(fnp.ones((2, 3, 4)), fnp.ones((2, 5, 6)))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.dot: shapes \(3,\) and \(4,\)"):
        fnp.dot(fnp.ones(3), fnp.ones(4))


@given(st.data(), shapes(0, 3, 0, 4))
def test_vdot(data, shape):
    a = draw_array(data, dtypes(), shape)
    b = draw_array(data, dtypes(), shape[::-1])
    check(fnp.vdot, np.vdot, a, b)


def test_vdot_error():
    with pytest.raises(
        ValueError, match="funcgrad.numpy.vdot: a .* and b .* same number of elements"
    ):
        fnp.vdot(fnp.ones(3), fnp.ones(4))


@given(st.data(), shapes(0, 3, 0, 4), shapes(0, 3, 0, 4))
def test_inner(data, s1, s2):
    if s1 and s2:
        s2 = s2[:-1] + s1[-1:]
    a = draw_array(data, dtypes(), s1)
    b = draw_array(data, dtypes(), s2)
    check(fnp.inner, np.inner, a, b)


def test_inner_error():
    with pytest.raises(ValueError, match="funcgrad.numpy.inner: shapes"):
        fnp.inner(fnp.ones((2, 3)), fnp.ones((3, 2)))


@given(st.data(), shapes(0, 3, 0, 4), shapes(0, 3, 0, 4))
def test_outer_and_kron(data, s1, s2):
    a = draw_array(data, dtypes(), s1)
    b = draw_array(data, dtypes(), s2)
    check(fnp.outer, np.outer, a, b)
    check(fnp.kron, np.kron, a, b)


def test_kron_scalar():
    check(fnp.kron, np.kron, 2, np.arange(3, dtype=np.int8))


# --- tensordot ---------------------------------------------------------------------------


@given(st.data(), shapes(0, 4, 0, 3), st.integers(0, 4))
def test_tensordot_int_axes(data, s1, n):
    n = min(n, len(s1))
    s2 = s1[len(s1) - n :] + data.draw(shapes(0, 2, 0, 3))
    a = draw_array(data, dtypes(), s1)
    b = draw_array(data, dtypes(), s2)
    check(fnp.tensordot, np.tensordot, a, b, axes=n)


@given(st.data(), shapes(1, 4, 0, 3))
def test_tensordot_axis_pairs(data, s1):
    axes_a = data.draw(st.lists(st.integers(0, len(s1) - 1), unique=True, max_size=len(s1)))
    extra = data.draw(shapes(0, 2, 0, 3))
    # b holds a's contracted axes in a random order among extra axes, with negative indices
    order = data.draw(st.permutations(range(len(axes_a) + len(extra))))
    dims = [s1[ax] for ax in axes_a] + list(extra)
    s2 = tuple(dims[i] for i in order)
    axes_b = [order.index(i) - len(s2) for i in range(len(axes_a))]
    a = draw_array(data, dtypes("iufc"), s1)
    b = draw_array(data, dtypes("iufc"), s2)
    check(fnp.tensordot, np.tensordot, a, b, axes=(axes_a, axes_b))


def test_tensordot_single_int_axes_and_errors():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    check(fnp.tensordot, np.tensordot, a, b, axes=(1, 0))
    with pytest.raises(ValueError, match=r"funcgrad.numpy.tensordot: shape-mismatch for sum"):
        fnp.tensordot(fnp.ones((2, 3)), fnp.ones((4, 3)), axes=([1], [0]))
    with pytest.raises(ValueError, match="funcgrad.numpy.tensordot: axes=3"):
        fnp.tensordot(fnp.ones((2, 3)), fnp.ones((2, 3)), axes=3)
    with pytest.raises(ValueError, match="funcgrad.numpy.tensordot: axes .* same length"):
        fnp.tensordot(fnp.ones((2, 3)), fnp.ones((2, 3)), axes=([0, 1], [0]))


# --- einsum ------------------------------------------------------------------------------

EINSUM_CASES = [
    "ij,jk->ik", "ij,jk", "bij,bjk->bik", "ii", "ii->i", "i,j->ij", "ij->ji", "ij->", "ij",
    "...ij,...jk->...ik", "ij,jk,kl->il", "iij->j", "i,i", "i,i->i", "ijk,kl,lm,mi->j",
    "ab,cd,bc->ad", "ii...->...i", "...ii->...i", "ij,jk,kl,lm->", "ijk,jkl->il", "abc,cba",
    "i,i,i->i", "...,...->...", "ba", "Ba,aC->BC", "ij,ij->ij", "iji->j", ",i->i", "ij->j",
    "bhqd,bhkd->bhqk", "...i,...i->...",
]  # fmt: skip


@st.composite
def einsum_operands(draw, spec):
    """Shapes for ``spec``: one size per label, ellipses of random (broadcastable) shapes,
    and occasional size-1 axes that broadcast as NumPy allows."""
    lhs = spec.split("->")[0]
    sizes = {c: draw(st.integers(0, 4)) for c in set(lhs) - {".", ","}}
    ell = draw(shapes(0, 2, 1, 3))
    out = []
    for term in lhs.split(","):
        shape = []
        for part in term.split("...") if "..." in term else [term]:
            shape.append([sizes[c] for c in part])
        if "..." in term:
            k = draw(st.integers(0, len(ell)))
            e = [1 if draw(st.booleans()) else n for n in ell[len(ell) - k :]]
            shape = shape[0] + e + shape[1]
        else:
            shape = shape[0]
        out.append(tuple(shape))
    return out


@pytest.mark.parametrize("spec", EINSUM_CASES)
@settings(max_examples=8)
@given(data=st.data())
def test_einsum(spec, data):
    shape_list = data.draw(einsum_operands(spec))
    kinds = data.draw(st.sampled_from(["iu", "f", "c", "b", "biufc"]))
    ops = [draw_array(data, dtypes(kinds), s) for s in shape_list]
    optimize = data.draw(st.sampled_from(["auto", False, True, "optimal", "greedy"]))
    check(lambda *a: fnp.einsum(spec, *a, optimize=optimize), lambda *a: np.einsum(spec, *a), *ops)


def test_einsum_broadcasts_named_size_one_axes():
    a = np.arange(2.0).reshape(2, 1)
    b = np.arange(12.0).reshape(3, 4)
    check(lambda x, y: fnp.einsum("ij,jk", x, y), lambda x, y: np.einsum("ij,jk", x, y), a, b)


def test_einsum_matrix_product_is_one_dot_general():
    a, b = fnp.ones((2, 3)), fnp.ones((3, 4))
    with PrimitiveLog() as log:
        fnp.einsum("ij,jk->ik", a, b)
    assert log.names == ["dot_general"]


def test_einsum_three_operands_pairwise():
    a, b, c = fnp.ones((2, 30)), fnp.ones((30, 40)), fnp.ones((40, 3))
    with PrimitiveLog() as log:
        fnp.einsum("ij,jk,kl->il", a, b, c)
    assert log.names.count("dot_general") == 2


def test_einsum_interleaved_form():
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(12.0).reshape(3, 4)
    check(
        lambda x, y: fnp.einsum(x, [0, 1], y, [1, 2], [0, 2]),
        lambda x, y: np.einsum(x, [0, 1], y, [1, 2], [0, 2]),
        a,
        b,
    )
    check(lambda x: fnp.einsum(x, [Ellipsis, 1]), lambda x: np.einsum(x, [Ellipsis, 1]), a)
    check(lambda x: fnp.einsum(x, [1, 0]), lambda x: np.einsum(x, [1, 0]), a)


def test_einsum_dtype_and_casting():
    a = np.arange(4, dtype=np.int8)
    check(
        lambda x: fnp.einsum("i,i", x, x, dtype=np.float64),
        lambda x: np.einsum("i,i", x, x, dtype=np.float64),
        a,
    )
    with pytest.raises(TypeError, match="funcgrad.numpy.einsum: cannot cast"):
        fnp.einsum("i,i", fnp.ones(3), fnp.ones(3), dtype=np.float32)
    out = fnp.einsum("i,i", fnp.ones(3), fnp.ones(3), dtype=np.float32, casting="unsafe")
    assert out.dtype == np.float32


def test_einsum_explicit_path():
    ops = [np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 5))]
    path, report = fnp.einsum_path("ij,jk,kl->il", *ops, optimize="optimal")
    assert path[0] == "einsum_path" and len(path) == 3 and isinstance(report, str)
    assert len(path) == len(np.einsum_path("ij,jk,kl->il", *ops, optimize="optimal")[0])
    check(
        lambda *a: fnp.einsum("ij,jk,kl->il", *a, optimize=path),
        lambda *a: np.einsum("ij,jk,kl->il", *a),
        *ops,
    )
    check(
        lambda *a: fnp.einsum("ij,jk,kl->il", *a, optimize=[(1, 2), (0, 1)]),
        lambda *a: np.einsum("ij,jk,kl->il", *a),
        *ops,
    )


@pytest.mark.parametrize(
    "spec, shape_list, match",
    [
        ("ij,jk", [(2, 3), (4, 5)], "subscript 'j' labels axes of sizes 3 and 4"),
        ("ij", [(2, 3, 4)], "term 'ij' .* does not match an operand with 3 dimensions"),
        ("ij,jk", [(2, 3)], "name 2 operands but 1 were given"),
        ("ij->k", [(2, 3)], "output subscript 'k' appears in no input"),
        ("ij->ii", [(2, 2)], "output subscript 'i' appears more than once"),
        ("...i->i", [(2, 3)], r"'\.\.\.' in an input but not in the output"),
        ("i1", [(2, 3)], "invalid subscripts"),
        ("ii", [(2, 3)], "subscript 'i' labels axes of sizes 2 and 3"),
    ],
)
def test_einsum_errors(spec, shape_list, match):
    with pytest.raises(ValueError, match="funcgrad.numpy.einsum: .*" + match):
        fnp.einsum(spec, *[fnp.ones(s) for s in shape_list])


def test_einsum_under_eval_shape():
    out = funcgrad.eval_shape(
        lambda a, b: fnp.einsum("bij,bjk->bki", a, b), fnp.ones((5, 2, 3)), fnp.ones((5, 3, 4))
    )
    assert (out.shape, out.dtype) == ((5, 4, 2), np.float64)


def test_einsum_many_ellipsis_labels_do_not_collide():
    letters = string.ascii_letters[:8]
    a = np.ones((2,) * 8 + (3,))
    spec = letters + "...->..." + letters[::-1]
    check(lambda x: fnp.einsum(spec, x), lambda x: np.einsum(spec, x), a)


# --- vecdot, matvec, vecmat ----------------------------------------------------------------


@given(st.data(), hnp.mutually_broadcastable_shapes(signature="(n),(n)->()", max_side=4))
def test_vecdot(data, shape_pair):
    s1, s2 = shape_pair.input_shapes
    a = draw_array(data, dtypes(), s1)
    b = draw_array(data, dtypes(), s2)
    check(fnp.vecdot, np.vecdot, a, b)
    check(fnp.linalg.vecdot, np.linalg.vecdot, a, b)


def test_vecdot_axis():
    a = np.arange(12.0).reshape(3, 4) + 1j
    b = np.arange(3.0)
    check(
        lambda x, y: fnp.vecdot(x, y, axis=0),
        lambda x, y: np.vecdot(x, y, axis=0),
        a,
        b[:, None] * np.ones(4),
    )
    with pytest.raises(ValueError, match="funcgrad.numpy.vecdot: shapes"):
        fnp.vecdot(fnp.ones(3), fnp.ones(4))


@given(st.data(), hnp.mutually_broadcastable_shapes(signature="(m,n),(n)->(m)", max_side=4))
def test_matvec(data, shape_pair):
    s1, s2 = shape_pair.input_shapes
    a = draw_array(data, dtypes(), s1)
    b = draw_array(data, dtypes(), s2)
    check(fnp.matvec, np.matvec, a, b)


@given(st.data(), hnp.mutually_broadcastable_shapes(signature="(n),(n,m)->(m)", max_side=4))
def test_vecmat(data, shape_pair):
    s1, s2 = shape_pair.input_shapes
    a = draw_array(data, dtypes(), s1)
    b = draw_array(data, dtypes(), s2)
    check(fnp.vecmat, np.vecmat, a, b)


def test_matvec_vecmat_errors():
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.matvec: shapes \(2, 3\) and \(4,\) are not aligned"
    ):
        fnp.matvec(fnp.ones((2, 3)), fnp.ones(4))
    with pytest.raises(ValueError, match="funcgrad.numpy.vecmat: x1 must have at least 1"):
        fnp.vecmat(fnp.ones(3), fnp.ones(3))


# --- cross ---------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors are deprecated")
@given(
    st.data(),
    st.sampled_from([(3, 3), (2, 3), (3, 2), (2, 2)]),
    hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
)
def test_cross(data, lengths, batch):
    b1, b2 = batch.input_shapes
    ax1 = data.draw(st.integers(0, len(b1)))
    ax2 = data.draw(st.integers(0, len(b2)))
    s1 = b1[:ax1] + (lengths[0],) + b1[ax1:]
    s2 = b2[:ax2] + (lengths[1],) + b2[ax2:]
    out_ndim = max(len(b1), len(b2)) + 1
    axc = data.draw(st.integers(-out_ndim, out_ndim - 1))
    a = draw_array(data, dtypes("iufc"), s1)
    b = draw_array(data, dtypes("iufc"), s2)
    kw = {"axisa": ax1 - len(s1), "axisb": ax2, "axisc": axc}
    check(lambda x, y: fnp.cross(x, y, **kw), lambda x, y: np.cross(x, y, **kw), a, b)


def test_cross_axis_and_errors():
    a, b = np.arange(6).reshape(3, 2), np.arange(6, 12).reshape(3, 2)
    check(lambda x, y: fnp.cross(x, y, axis=0), lambda x, y: np.cross(x, y, axis=0), a, b)
    with pytest.raises(ValueError, match="funcgrad.numpy.cross: incompatible dimensions"):
        fnp.cross(fnp.ones(4), fnp.ones(3))


# --- trace, diff ---------------------------------------------------------------------------


@given(st.data(), shapes(2, 4, 0, 4), st.integers(-4, 4))
def test_trace(data, shape, offset):
    a = draw_array(data, dtypes(), shape)
    ax1, ax2 = data.draw(
        st.lists(
            st.integers(-len(shape), len(shape) - 1),
            min_size=2,
            max_size=2,
            unique_by=lambda v: v % len(shape),
        )
    )
    dtype = data.draw(st.sampled_from([None, np.float64, np.int32, np.complex64]))
    if dtype is not None and not np.can_cast(a.dtype, dtype, "same_kind"):
        dtype = None
    check(fnp.trace, np.trace, a, offset, ax1, ax2, dtype=dtype)


def test_trace_errors():
    with pytest.raises(ValueError, match="funcgrad.numpy.trace: a must have at least 2 dimensions"):
        fnp.trace(fnp.ones(3))
    with pytest.raises(
        ValueError, match="funcgrad.numpy.trace: axis1 and axis2 cannot be the same"
    ):
        fnp.trace(fnp.ones((3, 3)), axis1=0, axis2=-2)


@given(st.data(), shapes(1, 3, 0, 5), st.integers(0, 3))
def test_diff(data, shape, n):
    a = data.draw(arrays(dtypes(), shape))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    check(lambda x: fnp.diff(x, n=n, axis=axis), lambda x: np.diff(x, n=n, axis=axis), a)


def test_diff_prepend_append():
    a = np.arange(12, dtype=np.int8).reshape(3, 4)
    check(lambda x: fnp.diff(x, prepend=0), lambda x: np.diff(x, prepend=0), a)
    check(
        lambda x: fnp.diff(x, axis=0, append=np.ones((1, 4))),
        lambda x: np.diff(x, axis=0, append=np.ones((1, 4))),
        a,
    )
    with pytest.raises(ValueError, match="funcgrad.numpy.diff: order must be non-negative"):
        fnp.diff(fnp.ones(3), n=-1)
    with pytest.raises(
        ValueError, match="funcgrad.numpy.diff: diff requires input that is at least one"
    ):
        fnp.diff(fnp.asarray(1.0))
    with pytest.raises(ValueError, match="funcgrad.numpy.diff: axis=2 is out of bounds"):
        fnp.diff(fnp.ones((2, 2)), axis=2)


# --- convolve, correlate ---------------------------------------------------------------------


@given(st.data(), st.integers(1, 7), st.integers(1, 7), st.sampled_from(["full", "same", "valid"]))
def test_convolve_correlate(data, m, n, mode):
    a = draw_array(data, dtypes(), (m,))
    v = draw_array(data, dtypes(), (n,))
    check(fnp.convolve, np.convolve, a, v, mode)
    check(fnp.correlate, np.correlate, a, v, mode)


def test_convolve_defaults_and_errors():
    a, v = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, -1.0])
    check(fnp.convolve, np.convolve, a, v)
    check(fnp.correlate, np.correlate, a, v)
    with pytest.raises(ValueError, match="funcgrad.numpy.convolve: a .* and v .* cannot be empty"):
        fnp.convolve(fnp.ones(0), fnp.ones(3))
    with pytest.raises(ValueError, match="funcgrad.numpy.correlate: mode must be"):
        fnp.correlate(fnp.ones(3), fnp.ones(3), mode="wrong")
    with pytest.raises(ValueError, match="funcgrad.numpy.convolve: a and v must be 1-D"):
        fnp.convolve(fnp.ones((2, 2)), fnp.ones(3))


def test_convolve_is_not_a_python_loop():
    a, v = fnp.ones(50), fnp.ones(7)
    with PrimitiveLog() as log:
        fnp.convolve(a, v)
    assert log.names.count("dot_general") == 1 and len(log.names) < 12


@pytest.mark.parametrize(
    "fn",
    [
        lambda a: fnp.einsum("ij,jk,kl->il", a, a, a),
        lambda a: fnp.einsum("ii->i", a),
        lambda a: fnp.trace(a, offset=1),
        lambda a: fnp.diff(a, n=2, axis=0),
        lambda a: fnp.convolve(a[0], a[1], "same"),
        lambda a: fnp.cross(a[0], a[1]),
        lambda a: fnp.kron(a, a[:2, :2]),
        lambda a: fnp.tensordot(a, a, axes=([0], [1])),
    ],
)
def test_compositions_are_differentiable(fn):
    from funcgrad.test_util import check_grads

    a = fnp.asarray(np.random.default_rng(0).standard_normal((3, 3)))
    check_grads(fn, (a,), order=1)
