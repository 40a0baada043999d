"""Gradients of every differentiable funcgrad.numpy function, from one table.

Each record gives a function of float arrays (static arguments bound) and the
shapes and smooth domain of its inputs. For every record hypothesis draws a seed;
values come from a continuous distribution, so no draw sits on a tie or kink.
``check_grads`` then checks forward mode against finite differences and reverse
mode against forward mode by the inner-product identity, to second order.

A coverage test makes sure every public name of the differentiable modules is in
the table or in an explicit list of functions without a derivative (integer
valued, constant, or shape-only), so new functions must be added here.
"""

from __future__ import annotations

import importlib
from typing import Callable, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad.numpy as fnp
from funcgrad.test_util import check_grads

L = fnp.linalg


class GradRecord(NamedTuple):
    fn: Callable
    shapes: tuple
    domain: tuple = (-2.0, 2.0)
    kind: str = "any"  # "spd": symmetric positive definite matrices, "wellcond": diag. dominant


R = GradRecord


def _sym(a):
    return (a + fnp.swapaxes(a, -1, -2)) / 2
M, V, S = (3, 4), (5,), ()
RECORDS = {
    # reductions
    "sum": R(lambda x: fnp.sum(x, axis=0), (M,)), "prod": R(lambda x: fnp.prod(x, axis=1), (M,)),
    "mean": R(lambda x: fnp.mean(x, axis=(0, 1)), (M,)), "average": R(lambda x, w: fnp.average(x, axis=1, weights=w), (M, (4,)), (0.5, 2)),
    "var": R(lambda x: fnp.var(x, axis=0, ddof=1), (M,)), "std": R(lambda x: fnp.std(x, axis=-1), (M,)),
    "max": R(lambda x: fnp.max(x, axis=1), (M,)), "min": R(lambda x: fnp.min(x, axis=0, keepdims=True), (M,)),
    "amax": R(lambda x: fnp.amax(x), (M,)), "amin": R(lambda x: fnp.amin(x), (M,)),
    "ptp": R(lambda x: fnp.ptp(x, axis=1), (M,)), "cumsum": R(lambda x: fnp.cumsum(x, axis=1), (M,)),
    "cumprod": R(lambda x: fnp.cumprod(x, axis=0), (M,), (0.5, 2)),
    "cumulative_sum": R(lambda x: fnp.cumulative_sum(x, axis=0, include_initial=True), (M,)),
    "cumulative_prod": R(lambda x: fnp.cumulative_prod(x, axis=1), (M,), (0.5, 2)),
    "nansum": R(lambda x: fnp.nansum(x, axis=0), (M,)), "nanprod": R(lambda x: fnp.nanprod(x), (V,), (0.5, 2)),
    "nanmean": R(lambda x: fnp.nanmean(x, axis=1), (M,)), "nanvar": R(lambda x: fnp.nanvar(x), (M,)),
    "nanstd": R(lambda x: fnp.nanstd(x, axis=0), (M,)), "nanmax": R(lambda x: fnp.nanmax(x, axis=1), (M,)),
    "nanmin": R(lambda x: fnp.nanmin(x), (M,)), "nancumsum": R(lambda x: fnp.nancumsum(x), (M,)),
    "nancumprod": R(lambda x: fnp.nancumprod(x, axis=1), (M,), (0.5, 2)),
    # statistics
    "median": R(lambda x: fnp.median(x, axis=1), (M,)), "nanmedian": R(lambda x: fnp.nanmedian(x), (V,)),
    "quantile": R(lambda x: fnp.quantile(x, 0.3, axis=0), (M,)),
    "percentile": R(lambda x: fnp.percentile(x, [10.0, 75.0]), (V,)),
    "nanquantile": R(lambda x: fnp.nanquantile(x, 0.6), (V,)), "nanpercentile": R(lambda x: fnp.nanpercentile(x, 40.0), (V,)),
    "cov": R(lambda x: fnp.cov(x), (M,)), "corrcoef": R(lambda x: fnp.corrcoef(x), (M,)),
    "interp": R(lambda x, fp: fnp.interp(x, fnp.asarray([-3.0, -1.0, 0.5, 3.0]), fp), (V, (4,))),
    "polyval": R(fnp.polyval, ((4,), V)), "trapezoid": R(lambda y: fnp.trapezoid(y, dx=0.5), (M,)),
    "ediff1d": R(fnp.ediff1d, (V,)),
    # sorting
    "sort": R(lambda x: fnp.sort(x, axis=0), (M,)), "partition": R(lambda x: fnp.partition(x, 2), (V,)),
    "top_k": R(lambda x: fnp.top_k(x, 2)[0], (M,)),
    # shape
    "reshape": R(lambda x: fnp.reshape(x, (2, 6)), (M,)), "ravel": R(fnp.ravel, (M,)),
    "transpose": R(fnp.transpose, (M,)), "permute_dims": R(lambda x: fnp.permute_dims(x, (1, 0)), (M,)),
    "matrix_transpose": R(fnp.matrix_transpose, ((2, 3, 4),)), "moveaxis": R(lambda x: fnp.moveaxis(x, 0, -1), ((2, 3, 4),)),
    "swapaxes": R(lambda x: fnp.swapaxes(x, 0, 2), ((2, 3, 4),)), "expand_dims": R(lambda x: fnp.expand_dims(x, (0, 2)), (M,)),
    "squeeze": R(fnp.squeeze, ((3, 1, 4),)), "broadcast_to": R(lambda x: fnp.broadcast_to(x, (2, 3, 4)), ((3, 1),)),
    "broadcast_arrays": R(lambda x, y: fnp.broadcast_arrays(x, y), ((3, 1), (4,))),
    "concatenate": R(lambda x, y: fnp.concatenate([x, y], axis=1), (M, (3, 2))),
    "concat": R(lambda x, y: fnp.concat([x, y]), (M, M)), "stack": R(lambda x, y: fnp.stack([x, y], axis=1), (V, V)),
    "hstack": R(lambda x, y: fnp.hstack([x, y]), (V, V)), "vstack": R(lambda x, y: fnp.vstack([x, y]), (V, V)),
    "dstack": R(lambda x, y: fnp.dstack([x, y]), (M, M)), "column_stack": R(lambda x, y: fnp.column_stack([x, y]), (V, V)),
    "block": R(lambda x, y: fnp.block([[x, y]]), (M, M)), "unstack": R(lambda x: fnp.unstack(x), (M,)),
    "split": R(lambda x: fnp.split(x, 2, axis=1), (M,)), "array_split": R(lambda x: fnp.array_split(x, 3), (V,)),
    "hsplit": R(lambda x: fnp.hsplit(x, 2), (M,)), "vsplit": R(lambda x: fnp.vsplit(x, [1]), (M,)),
    "dsplit": R(lambda x: fnp.dsplit(x, 2), ((2, 2, 4),)), "tile": R(lambda x: fnp.tile(x, (2, 1)), (M,)),
    "repeat": R(lambda x: fnp.repeat(x, 2, axis=0), (M,)), "flip": R(lambda x: fnp.flip(x, 1), (M,)),
    "fliplr": R(fnp.fliplr, (M,)), "flipud": R(fnp.flipud, (M,)), "roll": R(lambda x: fnp.roll(x, (1, -2), (0, 1)), (M,)),
    "rot90": R(lambda x: fnp.rot90(x, 3), (M,)), "pad": R(lambda x: fnp.pad(x, ((1, 2), (3, 0)), mode="reflect"), (M,)),
    "trim_zeros": R(lambda x: fnp.trim_zeros(x), (V,), (0.5, 2)),
    # searching / indexing (differentiable in the values, not the indices)
    "take": R(lambda x: fnp.take(x, fnp.asarray([2, 0, 2]), axis=1), (M,)),
    "take_along_axis": R(lambda x: fnp.take_along_axis(x, fnp.asarray([[0], [3], [1]]), axis=1), (M,)),
    "compress": R(lambda x: fnp.compress(fnp.asarray([True, False, True]), x, axis=0), (M,)),
    "extract": R(lambda x: fnp.extract(fnp.asarray([True, False, True, True, False]), x), (V,)),
    "select": R(lambda x, y: fnp.select([x > 0, y > 0], [x, y], 0.5), (V, V)),
    # contractions
    "dot": R(fnp.dot, (M, (4, 2))), "vdot": R(fnp.vdot, (V, V)), "inner": R(fnp.inner, (M, (2, 4))),
    "outer": R(fnp.outer, ((3,), V)), "kron": R(fnp.kron, ((2, 2), (2, 3))), "matmul": R(fnp.matmul, ((2, 3, 4), (4, 2))),
    "matvec": R(fnp.matvec, (M, (4,))), "vecmat": R(fnp.vecmat, ((3,), M)), "vecdot": R(fnp.vecdot, (M, (4,))),
    "tensordot": R(lambda a, b: fnp.tensordot(a, b, axes=([1], [0])), (M, (4, 2))),
    "einsum": R(lambda a, b: fnp.einsum("ij,jk,kl->il", a, b, a.T), (M, (4, 4))),
    "cross": R(fnp.cross, ((2, 3), (2, 3))), "trace": R(lambda x: fnp.trace(x, offset=1), (M,)),
    "diff": R(lambda x: fnp.diff(x, n=2, axis=1), (M,)), "convolve": R(fnp.convolve, (V, (3,))),
    "correlate": R(lambda a, v: fnp.correlate(a, v, "same"), (V, (3,))),
    # linear algebra
    "solve": R(L.solve, ((3, 3), (3, 2)), kind="wellcond"), "inv": R(L.inv, ((3, 3),), kind="wellcond"),
    "det": R(L.det, ((2, 3, 3),), kind="wellcond"), "slogdet": R(lambda a: L.slogdet(a).logabsdet, ((3, 3),), kind="wellcond"),
    # these read one triangle of a symmetric matrix: differentiate along symmetric directions
    "cholesky": R(lambda a: L.cholesky(_sym(a)), ((3, 3),), kind="spd"),
    "eigh": R(lambda a: L.eigh(_sym(a)).eigenvalues, ((3, 3),), kind="spd"),
    "eigvalsh": R(lambda a: L.eigvalsh(_sym(a)), ((3, 3),), kind="spd"), "svdvals": R(L.svdvals, ((3, 4),), kind="wellcond"),
    "svd": R(lambda a: L.svd(a, compute_uv=False), ((4, 3),), kind="wellcond"),
    "qr": R(lambda a: L.qr(a).R, ((4, 3),), kind="wellcond"), "pinv": R(L.pinv, ((4, 3),), kind="wellcond"),
    "matrix_power": R(lambda a: L.matrix_power(a, -2), ((3, 3),), kind="wellcond"),
    "norm": R(lambda a: L.norm(a, axis=1), (M,)), "vector_norm": R(lambda a: L.vector_norm(a, ord=3), (V,), (0.5, 2)),
    "matrix_norm": R(L.matrix_norm, (M,)), "multi_dot": R(lambda a, b: L.multi_dot([a, b, a.T]), (M, (4, 4))),
    "lstsq": R(lambda a, b: L.lstsq(a, b)[0], ((4, 3), (4,)), kind="wellcond"),
    "cond": R(L.cond, ((3, 3),), kind="wellcond"),
    # eigenvalues of a diagonally dominant matrix: distinct and real, so their order is stable
    "eigvals": R(lambda a: fnp.real(L.eigvals(a)), ((3, 3),), kind="wellcond"),
    "tensorinv": R(lambda a: L.tensorinv(a.reshape(4, 2, 2), ind=1), ((4, 4),), kind="wellcond"),
    "tensorsolve": R(lambda a, b: L.tensorsolve(a.reshape(2, 2, 2, 2), b.reshape(2, 2)),
                     ((4, 4), (4,)), kind="wellcond"),
    # creation functions of array inputs
    "diag": R(fnp.diag, (V,)), "diagflat": R(fnp.diagflat, ((2, 2),)), "diagonal": R(fnp.diagonal, (M,)),
    "tril": R(lambda x: fnp.tril(x, -1), (M,)), "triu": R(fnp.triu, (M,)),
    "atleast_2d": R(fnp.atleast_2d, (V,)), "atleast_3d": R(fnp.atleast_3d, (M,)), "atleast_1d": R(fnp.atleast_1d, (S,)),
    "meshgrid": R(lambda x, y: fnp.meshgrid(x, y), ((3,), (2,))), "linspace": R(lambda a, b: fnp.linspace(a, b, 5), (S, S)),
    "logspace": R(lambda a, b: fnp.logspace(a, b, 4), (S, S), (0.1, 1)), "geomspace": R(lambda a, b: fnp.geomspace(a, b, 4), (S, S), (0.5, 3)),
    "copy": R(fnp.copy, (V,)), "asarray": R(fnp.asarray, (V,)), "array": R(lambda x: fnp.array(x, ndmin=2), (V,)),
    "ascontiguousarray": R(fnp.ascontiguousarray, (M,)), "asanyarray": R(fnp.asanyarray, (V,)),
    "full_like": R(lambda x: fnp.full_like(x, 2.0) * x, (V,)),
}  # fmt: skip

# Names without a derivative to check: integer/bool valued, constant, or not array functions.
NO_DERIVATIVE = {
    "argmax", "argmin", "nanargmax", "nanargmin", "all", "any", "count_nonzero", "argsort",
    "argpartition", "lexsort", "searchsorted", "bincount", "digitize", "histogram",
    "histogram_bin_edges", "argwhere", "nonzero", "flatnonzero", "unique", "unique_all",
    "unique_counts", "unique_inverse", "unique_values", "isin", "intersect1d", "union1d",
    "setdiff1d", "setxor1d", "ravel_multi_index", "unravel_index", "tril_indices", "triu_indices",
    "tril_indices_from", "triu_indices_from", "diag_indices", "diag_indices_from", "ix_",
    "broadcast_shapes", "einsum_path", "matrix_rank", "arange", "eye", "identity", "tri",
    "indices", "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like",
    "from_dlpack", "EigResult", "EighResult",
    # eig also returns eigenvectors, whose derivative needs JAX's opt-in (raises, as JAX's)
    "eig", "LinAlgError", "LstsqResult", "QRResult", "SVDResult",
    "SlogdetResult",
}  # fmt: skip
MODULES = ["reductions", "statistics", "sorting", "shape", "searching", "contractions", "linalg", "creation"]


def test_every_function_is_in_the_gradient_table_or_declared_non_differentiable():
    names = set()
    for m in MODULES:
        names |= set(importlib.import_module(f"funcgrad._src.numpy.{m}").__all__)
    missing = sorted(names - set(RECORDS) - NO_DERIVATIVE)
    assert not missing, f"add gradient records for: {missing}"
    assert not (set(RECORDS) & NO_DERIVATIVE)


def _draw_inputs(record: GradRecord, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    out = []
    for shape in record.shapes:
        x = rng.uniform(*record.domain, shape)
        if record.kind == "spd":
            x = x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])
        elif record.kind == "wellcond" and x.ndim >= 2:
            k = min(shape[-2:])
            x = x.copy()
            x[..., range(k), range(k)] += 3.0 * np.sign(x[..., range(k), range(k)]) + 3.0
        out.append(fnp.asarray(x))
    return tuple(out)


@pytest.mark.parametrize("name", sorted(RECORDS))
@given(seed=st.integers(0, 2**31 - 1))
@settings(max_examples=3)
def test_gradients_of_numpy_functions(name, seed):
    record = RECORDS[name]
    args = _draw_inputs(record, seed)
    check_grads(record.fn, args, order=2, modes=("fwd", "rev"), atol=1e-4, rtol=1e-4)
