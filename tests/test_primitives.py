"""Every primitive against a NumPy oracle, driven by one table of op records.

Each record draws operands and static parameters with hypothesis and gives a
reference written with plain NumPy (independent of the impl where the impl is
more than one call: dot_general against einsum, pad against an explicit
construction, scatter against in-place NumPy updates...). For every draw the test
checks the values and dtypes, and that ``abstract_eval`` predicts the result's
shape and dtype. A completeness test makes sure every primitive has a record.
"""

from __future__ import annotations


import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from op_record import OpRecord
from records_convolution import RECORDS as _CONVOLUTION_RECORDS
from records_windowed import RECORDS as _WINDOWED_RECORDS
from records_extended import RECORDS as _EXTENDED_RECORDS
from records_special import RECORDS as _SPECIAL_RECORDS
from records_new import RECORDS as _NEW_RECORDS
from oracle import arrays, assert_same, dtypes, shapes

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.core import get_aval
from funcgrad._src.lax import ALL_PRIMITIVES
from funcgrad._src.lax import elementwise as ew
from funcgrad._src.lax.indexing import ArrayIndex, IndexSlice
from funcgrad.test_util import check_grads


def _fg(x):
    return fnp.asarray(x) if isinstance(x, np.ndarray) else x


RECORDS: list[OpRecord] = []

# --- elementwise: operands of one dtype and shape, or 0-d ------------------------------

# Domains keep results finite so values compare without special-casing overflow.
_UNARY_DOMAINS = {
    "log": (0.1, 100), "log2": (0.1, 100), "log10": (0.1, 100), "log1p": (-0.9, 100),
    "sqrt": (0, 100), "asin": (-1, 1), "acos": (-1, 1), "acosh": (1, 100), "atanh": (-0.99, 0.99),
    "exp": (-20, 20), "exp2": (-20, 20), "expm1": (-20, 20), "sinh": (-20, 20), "cosh": (-20, 20),
    "tan": (-1.5, 1.5),
}  # fmt: skip
_UNARY_KINDS = {"not": "biu", "logical_not": "biuf", "neg": "iufc", "abs": "iufc", "sign": "iufc",
                "is_finite": "fc", "is_nan": "fc", "is_inf": "fc", "conj": "iufc", "real": "fc",
                "imag": "fc", "signbit": "f", "floor": "f", "ceil": "f", "round": "f",
                "trunc": "f", "cbrt": "f"}  # fmt: skip
_BINARY_KINDS = {"and": "biu", "or": "biu", "xor": "biu", "shift_left": "iu", "shift_right": "iu",
                 "logical_and": "biuf", "logical_or": "biuf", "logical_xor": "biuf",
                 "eq": "biufc", "ne": "biufc", "atan2": "f", "hypot": "f", "logaddexp": "f",
                 "logaddexp2": "f", "copysign": "f", "nextafter": "f", "heaviside": "f", "fmod": "iuf",
                 "rem": "iuf", "floor_div": "iuf", "fmax": "iuf", "fmin": "iuf", "max": "iuf",
                 "min": "iuf", "lt": "iuf", "le": "iuf", "gt": "iuf", "ge": "iuf", "pow": "f",
                 "div": "fc", "add": "iufc", "sub": "iufc", "mul": "iufc"}  # fmt: skip


def _elementwise_draw(name: str, nargs: int, kinds: str, domain):
    def draw(data):
        dtype = data.draw(dtypes(kinds), label="dtype")
        shape = data.draw(shapes(max_dims=3), label="shape")
        lo, hi = domain if domain else (None, None)
        if dtype.kind in "iu" and name in ("shift_left", "shift_right"):
            lo, hi = 0, 6
        if dtype.kind in "iu" and name in ("rem", "fmod", "floor_div"):
            lo, hi = 1, 50  # integer division by zero is undefined behaviour territory
        operands = []
        for i in range(nargs):
            scalar_only = data.draw(st.booleans(), label=f"operand {i} is 0-d") and i > 0
            s = () if scalar_only else shape
            operands.append(data.draw(arrays(dtype, s, min_value=lo, max_value=hi), label=f"x{i}"))
        return operands, {}

    return draw


for _name, _ufunc in ew.UNARY_UFUNCS.items():
    RECORDS.append(OpRecord(
        _name,
        _elementwise_draw(_name, 1, _UNARY_KINDS.get(_name, "f"), _UNARY_DOMAINS.get(_name)),
        (lambda u: lambda x: [getattr(np, u)(x)])(_ufunc),
    ))  # fmt: skip
for _name, _ufunc in ew.BINARY_UFUNCS.items():
    RECORDS.append(OpRecord(
        _name,
        _elementwise_draw(_name, 2, _BINARY_KINDS.get(_name, "f"), (0.5, 3) if _name == "pow" else None),
        (lambda u: lambda x, y: [getattr(np, u)(x, y)])(_ufunc),
    ))  # fmt: skip


def _select_draw(data):
    shape = data.draw(shapes(max_dims=3))
    dtype = data.draw(dtypes())
    pred = data.draw(arrays(np.bool_, shape))
    return [pred, data.draw(arrays(dtype, shape)), data.draw(arrays(dtype, shape))], {}


RECORDS.append(OpRecord("select", _select_draw, lambda p, a, b: [np.where(p, a, b)]))


# --- structural ----------------------------------------------------------------------


def _convert_draw(data):
    x = data.draw(arrays(dtypes("biuf"), shapes(max_dims=3), min_value=0, max_value=100))
    return [x], {"new_dtype": data.draw(dtypes("biufc"))}


RECORDS.append(OpRecord("convert_element_type", _convert_draw,
                        lambda x, new_dtype: [x.astype(new_dtype)]))  # fmt: skip


def _broadcast_in_dim_draw(data):
    out_shape = data.draw(shapes(max_dims=4))
    dims = sorted(data.draw(st.sets(st.integers(0, max(len(out_shape) - 1, 0)), max_size=len(out_shape))))
    dims = [d for d in dims if d < len(out_shape)]
    in_shape = tuple(data.draw(st.sampled_from([1, out_shape[d]])) for d in dims)
    x = data.draw(arrays(dtypes(), in_shape))
    return [x], {"shape": out_shape, "broadcast_dimensions": tuple(dims)}


def _broadcast_in_dim_ref(x, *, shape, broadcast_dimensions):
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return [np.broadcast_to(x.reshape(expanded), shape)]


RECORDS.append(OpRecord("broadcast_in_dim", _broadcast_in_dim_draw, _broadcast_in_dim_ref))


def _reshape_draw(data):
    x = data.draw(arrays(dtypes(), shapes(max_dims=4)))
    sizes = list(x.shape)
    data.draw(st.randoms()).shuffle(sizes)
    if len(sizes) >= 2 and data.draw(st.booleans()):
        sizes = [sizes[0] * sizes[1]] + sizes[2:]
    return [x], {"new_sizes": tuple(sizes)}


RECORDS.append(OpRecord("reshape", _reshape_draw, lambda x, new_sizes: [x.reshape(new_sizes)]))


def _transpose_draw(data):
    x = data.draw(arrays(dtypes(), shapes(max_dims=4)))
    return [x], {"permutation": tuple(data.draw(st.permutations(range(x.ndim))))}


RECORDS.append(OpRecord("transpose", _transpose_draw, lambda x, permutation: [x.transpose(permutation)]))


def _concatenate_draw(data):
    base = data.draw(shapes(min_dims=1, max_dims=3))
    axis = data.draw(st.integers(0, len(base) - 1))
    dtype = data.draw(dtypes())
    n = data.draw(st.integers(1, 3))
    xs = []
    for _ in range(n):
        s = list(base)
        s[axis] = data.draw(st.integers(0, 3))
        xs.append(data.draw(arrays(dtype, tuple(s))))
    return xs, {"dimension": axis}


RECORDS.append(OpRecord("concatenate", _concatenate_draw,
                        lambda *xs, dimension: [np.concatenate(xs, axis=dimension)]))  # fmt: skip


def _pad_draw(data):
    x = data.draw(arrays(dtypes("iuf"), shapes(max_dims=3, max_side=4)))
    config = []
    for n in x.shape:
        interior = data.draw(st.integers(0, 2))
        full = n + max(n - 1, 0) * interior
        lo = data.draw(st.integers(-full, 3))
        hi = data.draw(st.integers(-(full + lo) if full + lo > 0 else 0, 3))
        config.append((lo, hi, interior))
    value = np.asarray(data.draw(st.integers(0, 5)), dtype=x.dtype)
    return [x, value], {"padding_config": tuple(config)}


def _pad_ref(x, value, *, padding_config):
    """Pad by explicit construction: interior spacing, then edges (negative edges crop)."""
    out = x
    for axis, (lo, hi, interior) in enumerate(padding_config):
        n = out.shape[axis]
        spaced_len = n + max(n - 1, 0) * interior
        shape = list(out.shape)
        shape[axis] = spaced_len
        spaced = np.full(shape, value, dtype=x.dtype)
        index = [slice(None)] * out.ndim
        index[axis] = slice(0, spaced_len, interior + 1)
        spaced[tuple(index)] = out
        parts = []
        if lo > 0:
            s = list(shape)
            s[axis] = lo
            parts.append(np.full(s, value, dtype=x.dtype))
        parts.append(spaced)
        if hi > 0:
            s = list(shape)
            s[axis] = hi
            parts.append(np.full(s, value, dtype=x.dtype))
        out = np.concatenate(parts, axis=axis)
        start = -lo if lo < 0 else 0
        stop = out.shape[axis] + hi if hi < 0 else out.shape[axis]
        index = [slice(None)] * out.ndim
        index[axis] = slice(start, stop)
        out = out[tuple(index)]
    return [out]


RECORDS.append(OpRecord("pad", _pad_draw, _pad_ref))


def _iota_draw(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    return [], {"dtype": data.draw(dtypes("iuf")), "shape": shape,
                "dimension": data.draw(st.integers(0, len(shape) - 1))}  # fmt: skip


def _iota_ref(*, dtype, shape, dimension):
    return [np.indices(shape)[dimension].astype(dtype)]


RECORDS.append(OpRecord("iota", _iota_draw, _iota_ref))


# --- reductions and scans ------------------------------------------------------------


def _reduce_draw(kinds, nonempty=False, bool_only=False):
    def draw(data):
        dtype = np.dtype(np.bool_) if bool_only else data.draw(dtypes(kinds))
        x = data.draw(arrays(dtype, shapes(max_dims=4, min_side=1 if nonempty else 0), min_value=-3, max_value=3))
        axes = tuple(sorted(data.draw(st.sets(st.integers(0, max(x.ndim - 1, 0)), max_size=x.ndim))))
        return [x], {"axes": tuple(a for a in axes if a < x.ndim)}

    return draw


RECORDS += [
    OpRecord("reduce_sum", _reduce_draw("iufc"), lambda x, axes: [np.sum(x, axis=axes, dtype=x.dtype)]),
    OpRecord("reduce_prod", _reduce_draw("iuf"), lambda x, axes: [np.prod(x, axis=axes, dtype=x.dtype)]),
    OpRecord("reduce_max", _reduce_draw("biuf", nonempty=True), lambda x, axes: [np.max(x, axis=axes)]),
    OpRecord("reduce_min", _reduce_draw("biuf", nonempty=True), lambda x, axes: [np.min(x, axis=axes)]),
    OpRecord("reduce_and", _reduce_draw("b", bool_only=True), lambda x, axes: [np.all(x, axis=axes)]),
    OpRecord("reduce_or", _reduce_draw("b", bool_only=True), lambda x, axes: [np.any(x, axis=axes)]),
]


def _arg_draw(data):
    x = data.draw(arrays(dtypes("biuf"), shapes(min_dims=1, max_dims=3, min_side=1), min_value=-3, max_value=3))
    return [x], {"axis": data.draw(st.integers(0, x.ndim - 1)), "index_dtype": data.draw(dtypes("i"))}


RECORDS += [
    OpRecord("argmax", _arg_draw, lambda x, axis, index_dtype: [np.argmax(x, axis).astype(index_dtype)]),
    OpRecord("argmin", _arg_draw, lambda x, axis, index_dtype: [np.argmin(x, axis).astype(index_dtype)]),
]


def _cumulative_draw(data):
    x = data.draw(arrays(dtypes("iuf"), shapes(min_dims=1, max_dims=3), min_value=-3, max_value=3))
    return [x], {"axis": data.draw(st.integers(0, x.ndim - 1)), "reverse": data.draw(st.booleans())}


def _cumulative_ref(step):
    """A running combination written as an explicit loop over the axis."""

    def ref(x, *, axis, reverse):
        moved = np.moveaxis(x, axis, 0)
        order = range(moved.shape[0] - 1, -1, -1) if reverse else range(moved.shape[0])
        out = np.empty_like(moved)
        acc = None
        for i in order:
            acc = moved[i] if acc is None else step(acc, moved[i]).astype(x.dtype)
            out[i] = acc
        return [np.moveaxis(out, 0, axis)]

    return ref


RECORDS += [
    OpRecord("cumsum", _cumulative_draw, _cumulative_ref(np.add)),
    OpRecord("cumprod", _cumulative_draw, _cumulative_ref(np.multiply)),
    OpRecord("cummax", _cumulative_draw, _cumulative_ref(np.maximum)),
    OpRecord("cummin", _cumulative_draw, _cumulative_ref(np.minimum)),
]


# --- gather and scatter --------------------------------------------------------------


def _index_draw(data, x_shape):
    """A random NumPy index for x_shape: ints, slices, None, Ellipsis and integer arrays."""
    indexer, operands = [], []
    dims = list(x_shape)
    used_ellipsis = False
    idx_shape = data.draw(shapes(max_dims=2, max_side=3))  # shared, so index arrays broadcast
    while dims:
        kind = data.draw(st.sampled_from(["int", "slice", "array", "none", "ellipsis", "stop"]))
        if kind == "stop":
            break
        if kind == "none":
            indexer.append(None)
            continue
        if kind == "ellipsis":
            if used_ellipsis:
                continue
            used_ellipsis = True
            indexer.append(Ellipsis)
            dims = dims[: data.draw(st.integers(0, len(dims)))]  # the ellipsis eats the trailing axes
            continue
        n = dims.pop(0)
        if kind == "int" and n > 0:
            indexer.append(data.draw(st.integers(-n, n - 1)))
        elif kind == "array" and n > 0:
            operands.append(data.draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(-n, n - 1))))
            indexer.append(ArrayIndex(len(operands) - 1))
        else:
            start = data.draw(st.none() | st.integers(-n - 1, n + 1))
            stop = data.draw(st.none() | st.integers(-n - 1, n + 1))
            step = data.draw(st.none() | st.sampled_from([1, 2, -1, -2]))
            indexer.append(IndexSlice(start, stop, step))
    if used_ellipsis:
        # Ellipsis took some trailing axes: nothing after it may index them, so stop here.
        cut = indexer.index(Ellipsis) + 1
        dropped = indexer[cut:]
        indexer = indexer[:cut]
        kept = {e.operand for e in indexer if type(e) is ArrayIndex}
        remap = {old: new for new, old in enumerate(sorted(kept))}
        operands = [operands[i] for i in sorted(kept)]
        indexer = [ArrayIndex(remap[e.operand]) if type(e) is ArrayIndex else e for e in indexer]
        del dropped
    return tuple(indexer), operands


def _np_index(indexer, operands):
    return tuple(
        slice(*e) if type(e) is IndexSlice else operands[e.operand] if type(e) is ArrayIndex else e
        for e in indexer
    )


def _gather_draw(data):
    x = data.draw(arrays(dtypes(), shapes(max_dims=3)))
    indexer, operands = _index_draw(data, x.shape)
    return [x, *operands], {"indexer": indexer}


RECORDS.append(OpRecord("gather", _gather_draw,
                        lambda x, *idx, indexer: [x[_np_index(indexer, idx)]]))  # fmt: skip


def _scatter_draw(data):
    x = data.draw(arrays(dtypes("iuf"), shapes(max_dims=3), min_value=-5, max_value=5))
    indexer, operands = _index_draw(data, x.shape)
    target_shape = x[_np_index(indexer, operands)].shape
    updates = data.draw(arrays(x.dtype, target_shape, min_value=-5, max_value=5))
    return [x, updates, *operands], {"indexer": indexer}


def _scatter_ref(ufunc):
    def ref(x, updates, *idx, indexer):
        out = x.copy()
        index = _np_index(indexer, idx)
        if ufunc is None:
            out[index] = updates
        else:
            ufunc.at(out, index, updates)  # unbuffered: duplicates accumulate
        return [out]

    return ref


RECORDS += [
    OpRecord("scatter", _scatter_draw, _scatter_ref(None)),
    OpRecord("scatter_add", _scatter_draw, _scatter_ref(np.add)),
    OpRecord("scatter_mul", _scatter_draw, _scatter_ref(np.multiply)),
    OpRecord("scatter_min", _scatter_draw, _scatter_ref(np.minimum)),
    OpRecord("scatter_max", _scatter_draw, _scatter_ref(np.maximum)),
]


# --- sorting -------------------------------------------------------------------------


def _sort_draw(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    n = data.draw(st.integers(1, 3))
    ops = [data.draw(arrays(dtypes("iuf"), shape, min_value=-2, max_value=2, allow_nan=True)) for _ in range(n)]
    return ops, {"dimension": data.draw(st.integers(0, len(shape) - 1)),
                 "num_keys": data.draw(st.integers(1, n))}  # fmt: skip


def _sort_ref(*ops, dimension, num_keys):
    """Stable lexicographic sort along ``dimension``, one 1-D lane at a time with Python's sort."""
    moved = [np.moveaxis(o, dimension, -1) for o in ops]
    outs = [np.empty_like(m) for m in moved]
    for lane in np.ndindex(moved[0].shape[:-1]):
        keys = [m[lane] for m in moved[:num_keys]]

        def key(i, keys=keys):
            # NaN sorts last (NumPy's order)
            return tuple((np.isnan(k[i]) if k.dtype.kind == "f" else False, k[i] if not (k.dtype.kind == "f" and np.isnan(k[i])) else 0) for k in keys)

        perm = sorted(range(moved[0].shape[-1]), key=key)
        for out, m in zip(outs, moved):
            out[lane] = m[lane][perm]
    return [np.moveaxis(o, -1, dimension) for o in outs]


RECORDS.append(OpRecord("sort", _sort_draw, _sort_ref))


def _searchsorted_draw(data):
    a = np.sort(data.draw(arrays(dtypes("if"), st.tuples(st.integers(0, 6)), min_value=-5, max_value=5)))
    v = data.draw(arrays(a.dtype, shapes(max_dims=2), min_value=-6, max_value=6))
    return [a, v], {"side": data.draw(st.sampled_from(["left", "right"])), "dtype": data.draw(dtypes("i"))}


def _searchsorted_ref(a, v, *, side, dtype):
    """Count of elements < v (left) or <= v (right): the definition of the insertion point."""
    cmp = np.less if side == "left" else np.less_equal
    return [np.sum(cmp(a[None, :], v.reshape(-1, 1)), axis=1).reshape(v.shape).astype(dtype)]


RECORDS.append(OpRecord("searchsorted", _searchsorted_draw, _searchsorted_ref))


# --- contractions and linear algebra -------------------------------------------------


def _dot_general_draw(data):
    letters = "abcdefg"
    n_batch, n_contract = data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))
    n_lfree, n_rfree = data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))
    sizes = {c: data.draw(st.integers(0, 3)) for c in letters}
    batch = letters[:n_batch]
    contract = letters[n_batch:n_batch + n_contract]
    lfree = letters[n_batch + n_contract:n_batch + n_contract + n_lfree]
    rfree = letters[n_batch + n_contract + n_lfree:][:n_rfree]
    lhs_axes = list(batch + contract + lfree)
    rhs_axes = list(batch + contract + rfree)
    data.draw(st.randoms()).shuffle(lhs_axes)
    data.draw(st.randoms()).shuffle(rhs_axes)
    dtype = data.draw(dtypes("iuf"))
    lhs = data.draw(arrays(dtype, tuple(sizes[c] for c in lhs_axes), min_value=-3, max_value=3))
    rhs = data.draw(arrays(dtype, tuple(sizes[c] for c in rhs_axes), min_value=-3, max_value=3))
    dn = (
        (tuple(lhs_axes.index(c) for c in contract), tuple(rhs_axes.index(c) for c in contract)),
        (tuple(lhs_axes.index(c) for c in batch), tuple(rhs_axes.index(c) for c in batch)),
    )
    spec = f"{''.join(lhs_axes)},{''.join(rhs_axes)}->{batch}{''.join(c for c in lhs_axes if c in lfree)}{''.join(c for c in rhs_axes if c in rfree)}"
    return [lhs, rhs], {"dimension_numbers": dn, "_spec": spec}


RECORDS.append(OpRecord(
    "dot_general", _dot_general_draw,
    lambda lhs, rhs, dimension_numbers, _spec: [np.einsum(_spec, lhs, rhs).astype(lhs.dtype)],
))  # fmt: skip


def _matrices(data, square=True, spd=False, min_side=1):
    batch = data.draw(shapes(max_dims=2, max_side=3))
    m = data.draw(st.integers(min_side, 4))
    n = m if square else data.draw(st.integers(min_side, 4))
    dtype = data.draw(dtypes("f", exclude=["float16"]))
    a = data.draw(arrays(dtype, (*batch, m, n), min_value=-3, max_value=3))
    if spd:
        a = (a @ np.swapaxes(a, -1, -2) + m * np.eye(m)).astype(dtype)
    elif square:
        a = (a + 4 * m * np.eye(m)).astype(dtype)  # diagonally dominant: well conditioned
    return a


def _reconstruct_tol(dtype):
    return 1e-3 if dtype == np.float32 else 1e-9


RECORDS += [
    OpRecord("cholesky", lambda d: ([_matrices(d, spd=True)], {}), lambda a: [np.linalg.cholesky(a)], rtol=1e-4),
    OpRecord("det", lambda d: ([_matrices(d)], {}), lambda a: [np.linalg.det(a)], rtol=1e-4),
    OpRecord("slogdet", lambda d: ([_matrices(d)], {}), lambda a: list(np.linalg.slogdet(a)), rtol=1e-4),
    OpRecord("solve", lambda d: (lambda a: ([a, d.draw(arrays(a.dtype, (*a.shape[:-1], d.draw(st.integers(1, 3))), min_value=-3, max_value=3))], {}))(_matrices(d)),
             lambda a, b: [np.linalg.solve(a, b)], rtol=1e-4),
]  # fmt: skip


# Families with their own record tables.
RECORDS += (_CONVOLUTION_RECORDS + _WINDOWED_RECORDS + _EXTENDED_RECORDS + _SPECIAL_RECORDS
            + _NEW_RECORDS)  # fmt: skip

# Decompositions have sign/phase freedom: checked through invariants in test_decompositions
# and test_eig_through_invariants.
_INVARIANT_TESTED = {"eigh", "qr", "svd", "eig"}


# --- the tests -----------------------------------------------------------------------


def test_every_primitive_has_rules_and_a_record():
    recorded = {r.name for r in RECORDS} | _INVARIANT_TESTED
    missing_record = sorted(set(ALL_PRIMITIVES) - recorded)
    assert not missing_record, f"primitives without a test record: {missing_record}"
    for name, prim in ALL_PRIMITIVES.items():
        assert prim.impl is not None, f"{name} has no impl"
        assert prim.abstract_eval is not None, f"{name} has no abstract_eval"


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
@given(data=st.data())
def test_primitive_against_numpy(record, data):
    operands, params = record.draw(data)
    params = dict(params)
    spec = params.pop("_spec", None)
    ref_params = dict(params, _spec=spec) if spec is not None else params
    with np.errstate(all="ignore"):
        try:
            expected = record.reference(*operands, **ref_params)
        except (ValueError, FloatingPointError, IndexError, np.linalg.LinAlgError):
            assume(False)  # the oracle rejects this draw (e.g. singular matrix)
    prim = ALL_PRIMITIVES[record.name]
    args = [_fg(x) for x in operands]
    with np.errstate(all="ignore"):
        actual = prim.bind(*args, **params)
    avals = prim.abstract_eval(*[get_aval(a) for a in args], **params)
    assert len(actual) == len(expected) == len(avals)
    for i, (a, e, av) in enumerate(zip(actual, expected, avals)):
        assert_same(a, e, rtol=record.rtol, what=f"{record.name} output {i}")
        assert (av.shape, av.dtype) == (a.shape, a.dtype), (
            f"{record.name} output {i}: abstract eval {av.str_short()} but impl gave {a.shape} {a.dtype}"
        )
    for x, arg in zip(operands, args):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(np.asarray(arg), x)


@given(data=st.data())
def test_decompositions(data):
    """eigh, qr and svd through invariants: reconstruction, orthogonality, NumPy's spectra."""
    prims = ALL_PRIMITIVES
    a = _matrices(data, spd=True)
    tol = _reconstruct_tol(a.dtype)
    w, v = prims["eigh"].bind(fnp.asarray(a), lower=True)
    w, v = np.asarray(w), np.asarray(v)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(a), rtol=tol * 10, atol=tol * 10)
    np.testing.assert_allclose(v @ (w[..., None] * np.swapaxes(v, -1, -2)), a, rtol=tol * 10, atol=tol * 10)

    b = _matrices(data, square=False)
    tol = _reconstruct_tol(b.dtype)
    full = data.draw(st.booleans())
    q, r = (np.asarray(t) for t in prims["qr"].bind(fnp.asarray(b), full_matrices=full))
    np.testing.assert_allclose(q @ r, b, rtol=tol * 10, atol=tol * 10)
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2] + (q.shape[-1],) * 2), atol=tol * 10)
    assert np.allclose(np.tril(r, -1), 0)

    u, s, vh = (np.asarray(t) for t in prims["svd"].bind(fnp.asarray(b), full_matrices=False, compute_uv=True))
    np.testing.assert_allclose(s, np.linalg.svd(b, compute_uv=False), rtol=tol * 10, atol=tol * 10)
    np.testing.assert_allclose((u * s[..., None, :]) @ vh, b, rtol=tol * 10, atol=tol * 10)
    (s_only,) = prims["svd"].bind(fnp.asarray(b), full_matrices=False, compute_uv=False)
    np.testing.assert_allclose(np.asarray(s_only), s, rtol=tol, atol=tol)
    for prim, args, params in [
        (prims["eigh"], (a,), {"lower": True}),
        (prims["qr"], (b,), {"full_matrices": full}),
        (prims["svd"], (b,), {"full_matrices": full, "compute_uv": True}),
    ]:
        outs = prim.bind(*map(fnp.asarray, args), **params)
        avals = prim.abstract_eval(*[get_aval(fnp.asarray(x)) for x in args], **params)
        assert [(o.shape, o.dtype) for o in outs] == [(av.shape, av.dtype) for av in avals]


def test_eager_kernel_failures_get_the_primitives_message():
    """Eager mode skips abstract eval; a failing kernel must still report funcgrad's error."""
    prims = ALL_PRIMITIVES
    with pytest.raises(ValueError, match=r"dot_general: cannot contract shapes \(2, 3\) and \(4, 5\)"):
        prims["dot_general"].bind(fnp.ones((2, 3)), fnp.ones((4, 5)), dimension_numbers=(((1,), (0,)), ((), ())))
    with pytest.raises(ValueError, match=r"reshape: cannot reshape an array of shape \(2, 3\) into \(4,\)"):
        prims["reshape"].bind(fnp.ones((2, 3)), new_sizes=(4,))
    with pytest.raises(IndexError, match=r"index 5 is out of bounds(.|\n)*in primitive 'gather' applied to float64\[3\], int64\[1\]"):
        prims["gather"].bind(fnp.ones(3), fnp.asarray([5]), indexer=(ArrayIndex(0),))
    with pytest.raises(np.linalg.LinAlgError) as info:
        prims["solve"].bind(fnp.zeros((2, 2)), fnp.ones((2, 1)))
    assert "in primitive 'solve' applied to float64[2,2], float64[2,1]" in "".join(info.value.__notes__)


def test_select_with_a_weak_scalar_branch_keeps_the_array_dtype():
    pred = fnp.asarray([True, False])
    for branch in (fnp.asarray([True, True]), fnp.asarray([1.5, 2.5], dtype=fnp.float32)):
        for out in (ALL_PRIMITIVES["select"].bind1(pred, branch, 0), ALL_PRIMITIVES["select"].bind1(pred, 0, branch)):
            aval = ALL_PRIMITIVES["select"].abstract_eval(get_aval(pred), get_aval(branch), get_aval(0))[0]
            assert out.dtype == branch.dtype == aval.dtype


# --- eig: the nonsymmetric eigendecomposition, through invariants --------------------------


def eig_matrices(data):
    """Stacks of square matrices for ``eig``: float32/float64 or complex64/complex128, with
    well separated eigenvalues (a diagonal 12 k, k = 0, 1, ..., plus entries of modulus <= 1.5;
    sometimes a block ``[[0, 8], [-4.5, 0]]`` in front, which gives real matrices a
    complex-conjugate pair near +-6i), so eigenvectors and derivatives are well conditioned.
    The block is not a pure rotation: its eigenvectors' two components must differ in modulus
    (ratio <= 0.9 here), as the kernel's gauge (largest component real) jumps at a tie."""
    batch = data.draw(shapes(max_dims=2, min_side=1, max_side=2), label="batch")
    n = data.draw(st.integers(1, 4), label="n")
    dtype = data.draw(dtypes("fc", exclude=["float16"]), label="dtype")

    def entries(label):
        x = data.draw(arrays(np.float64, (*batch, n, n), min_value=-1, max_value=1), label=label)
        # no tiny entries: LAPACK's balancing returns wrong eigenvectors for entries of 1e-89
        # beside 12 (backward error 4e-2, NumPy's too)
        return np.where(np.abs(x) < 1e-3, 0.0, x)

    a = entries("a") + (0.5j * entries("imaginary part") if dtype.kind == "c" else 0)
    diagonal = 12.0 * np.arange(n)
    if n >= 2 and data.draw(st.booleans(), label="complex pair block"):
        diagonal[:2] = 0
        a[..., 0, 1] += 8
        a[..., 1, 0] -= 4.5
    return (a + np.diag(diagonal)).astype(dtype)


def eig_draw(data):
    """Operands and flags for the ``eig`` primitive (the vmap table's draw too)."""
    params = {"compute_left_eigenvectors": data.draw(st.booleans(), label="left"),
              "compute_right_eigenvectors": data.draw(st.booleans(), label="right"),
              "enable_eigvec_derivs": False}  # fmt: skip
    return [eig_matrices(data)], params


def _assert_same_multiset(w, expected, atol, what):
    """Eigenvalues equal as multisets: each matrix's values matched one to one (the
    assignment of least total distance), every pair within ``atol``."""
    for lane in np.ndindex(w.shape[:-1]):
        cost = np.abs(w[lane][:, None] - expected[lane][None, :])
        rows, cols = linear_sum_assignment(cost)
        worst = cost[rows, cols].max(initial=0)
        assert worst <= atol, f"{what}: {w[lane]} vs NumPy's {expected[lane]}"


@settings(max_examples=12)
@given(data=st.data())
def test_eig_through_invariants(data):
    """Eigenvalues as NumPy's (as multisets), A V = V diag(w), U^H A = diag(w) U^H, unit
    columns whose largest component is real and positive, complex results of the matching
    precision; vmap against a loop and jit against eager."""
    prim = ALL_PRIMITIVES["eig"]
    (a,), params = eig_draw(data)
    x = fnp.asarray(a)
    outs = [np.asarray(o) for o in prim.bind(x, **params)]
    avals = prim.abstract_eval(get_aval(x), **params)
    single = a.dtype in (np.float32, np.complex64)
    dtype = np.dtype(np.complex64 if single else np.complex128)
    count = 1 + params["compute_left_eigenvectors"] + params["compute_right_eigenvectors"]
    assert [(o.shape, o.dtype) for o in outs] == [(av.shape, av.dtype) for av in avals]
    vectors_aval = [(a.shape, dtype)] * (count - 1)
    assert [(o.shape, o.dtype) for o in outs] == [(a.shape[:-1], dtype), *vectors_aval]
    atol = (2e-4 if single else 1e-11) * 50  # |A| <= 50: errors relative to the matrix's norm
    a_wide = a.astype(np.complex128)
    w = outs[0]
    _assert_same_multiset(w, np.linalg.eigvals(a_wide), atol, "eig eigenvalues")
    vectors = {}
    if params["compute_left_eigenvectors"]:
        vectors["left"] = outs[1]
    if params["compute_right_eigenvectors"]:
        vectors["right"] = outs[-1]
    for side, v in vectors.items():
        np.testing.assert_allclose(np.linalg.norm(v, axis=-2), 1.0, rtol=atol / 50, err_msg=side)
        largest = np.take_along_axis(v, np.argmax(np.abs(v), axis=-2)[..., None, :], axis=-2)
        assert np.all(largest.imag == 0) and np.all(largest.real > 0), side
    if "right" in vectors:
        v = vectors["right"]
        np.testing.assert_allclose(a_wide @ v, v * w[..., None, :], atol=atol,
                                   err_msg="A V = V diag(w)")  # fmt: skip
    if "left" in vectors:
        u_h = np.conj(np.swapaxes(vectors["left"], -1, -2))
        np.testing.assert_allclose(u_h @ a_wide, w[..., :, None] * u_h, atol=atol,
                                   err_msg="U^H A = diag(w) U^H")  # fmt: skip

    jitted = funcgrad.jit(lambda m: prim.bind(m, **params))(x)
    for o, j in zip(outs, jitted):
        assert (o.shape, o.dtype) == (j.shape, j.dtype)
        np.testing.assert_array_equal(np.asarray(j), o, err_msg="jit of eig")
    stack = np.stack([a, (2 * a).astype(a.dtype), np.swapaxes(a, -1, -2)])
    mapped = funcgrad.vmap(lambda m: prim.bind(m, **params))(fnp.asarray(stack))
    for j, o in enumerate(mapped):
        loop = np.stack([np.asarray(prim.bind(fnp.asarray(m), **params)[j]) for m in stack])
        assert (o.shape, o.dtype) == (loop.shape, loop.dtype)
        np.testing.assert_allclose(np.asarray(o), loop, rtol=atol / 50, atol=atol / 50,
                                   err_msg=f"vmap of eig output {j}")  # fmt: skip


@settings(max_examples=4)
@given(data=st.data())
def test_eig_derivatives_by_finite_differences(data):
    """Eigenvalues (no vectors asked for) and, with enable_eigvec_derivs, right eigenvectors:
    forward and reverse mode against central differences, at matrices with distinct
    eigenvalues (in double precision: differences in single precision are too coarse).

    LAPACK's order of the eigenvalues may change between x + h v and x - h v, so the outputs
    are put in an order of their own first (by Re w + Im w / 10: no ties between these
    matrices' well separated eigenvalues, conjugate pairs included)."""
    a = eig_matrices(data)
    a = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    prim = ALL_PRIMITIVES["eig"]
    flags = {"compute_left_eigenvectors": False, "enable_eigvec_derivs": True}

    def ordered(outs):
        order = fnp.argsort(fnp.real(outs[0]) + fnp.imag(outs[0]) / 10, axis=-1)
        return [fnp.take_along_axis(o, order if o.ndim == a.ndim - 1 else order[..., None, :],
                                    axis=-1) for o in outs]  # fmt: skip

    for right in (False, True):
        check_grads(lambda m: ordered(prim.bind(m, compute_right_eigenvectors=right, **flags)),
                    (a,), order=1)  # fmt: skip


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3)])
def test_eig_of_empty_stacks(shape):
    """No matrices, or 0 x 0 ones: empty complex results, eagerly, under jit and under vmap."""
    prim = ALL_PRIMITIVES["eig"]
    params = {"compute_left_eigenvectors": True, "compute_right_eigenvectors": True,
              "enable_eigvec_derivs": False}  # fmt: skip
    x = fnp.zeros(shape, fnp.float32)
    expected = [(shape[:-1], np.complex64), (shape, np.complex64), (shape, np.complex64)]
    for outs in (prim.bind(x, **params), funcgrad.jit(lambda m: prim.bind(m, **params))(x)):
        assert [(o.shape, o.dtype) for o in outs] == expected
    mapped = funcgrad.vmap(lambda m: prim.bind(m, **params))(fnp.stack([x, x]))
    assert [(o.shape, o.dtype) for o in mapped] == [((2, *s), d) for s, d in expected]


def test_eig_left_vectors_of_defective_matrices():
    """A nilpotent Jordan-like matrix (its right eigenvectors are parallel, so inv(V) does not
    exist) and a stack mixing it with a diagonalizable one: left vectors satisfy
    u^H A = w u^H, as LAPACK's geev gives them, where NumPy's inverse would raise."""
    prim = ALL_PRIMITIVES["eig"]
    params = {"compute_left_eigenvectors": True, "compute_right_eigenvectors": True,
              "enable_eigvec_derivs": False}  # fmt: skip
    jordan = np.array([[0.0, 12.0, 0.0], [0.0, 0.0, 24.0], [0.0, 0.0, 0.0]])
    for a in (jordan, np.stack([jordan, np.diag([1.0, 2.0, 3.0]) + np.triu(np.ones((3, 3)), 1)])):
        w, vl, vr = (np.asarray(o) for o in prim.bind(fnp.asarray(a), **params))
        np.testing.assert_allclose(w, np.linalg.eigvals(a), atol=1e-12)
        u_h = np.conj(np.swapaxes(vl, -1, -2))
        np.testing.assert_allclose(u_h @ a, w[..., :, None] * u_h, atol=1e-12)
        np.testing.assert_allclose(a @ vr, vr * w[..., None, :], atol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(vl, axis=-2), 1.0, rtol=1e-14)
