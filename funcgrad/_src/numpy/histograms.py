"""Multidimensional histograms of funcgrad.numpy: ``histogramdd`` and ``histogram2d``.

Bins are found per dimension with ``searchsorted`` (the last edge inclusive, as NumPy)
and counted with one ``bincount`` over the flattened bin index, so a static number of
bins works under ``jit``; the counts are differentiable in ``weights``.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from funcgrad._src.numpy import base as fnp
from funcgrad._src.numpy.util import asarray, is_array

__all__ = ["histogram2d", "histogramdd"]

_range = range  # the functions below take a `range` argument, as NumPy's


def _sample_columns(sample: Any, fname: str) -> Any:
    if isinstance(sample, (list, tuple)):  # a sequence of D coordinate arrays
        return fnp.stack([fnp.ravel(asarray(s, fname=fname)) for s in sample], axis=1)
    sample = asarray(sample, fname=fname)
    if sample.ndim == 1:
        return sample[:, None]
    if sample.ndim != 2:
        raise ValueError(f"{fname}: sample must be (N, D) or a sequence of D arrays, got shape "
                         f"{sample.shape}")  # fmt: skip
    return sample


def histogramdd(sample, bins=10, range=None, weights=None, density=None):
    """The D-dimensional histogram of ``sample`` (an ``(N, D)`` array or D coordinate
    arrays), NumPy's ``histogramdd``: returns ``(hist, edges)`` with float64 counts.

    ``bins``: one int or edge array for all dimensions, or one per dimension; ``range``:
    per-dimension ``(lo, hi)`` (or None); ``density=True`` divides by the total and the
    bin volumes. Values outside the edges are not counted; the last edge is inclusive.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> h, edges = fnp.histogramdd(fnp.asarray([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0]]), bins=2)
        >>> h.tolist()
        [[1.0, 0.0], [1.0, 1.0]]
    """
    fname = "funcgrad.numpy.histogramdd"
    sample = _sample_columns(sample, fname)
    n, d = sample.shape
    if isinstance(bins, (int, np.integer)) or (is_array(bins) and bins.ndim == 0):
        bins = [bins] * d
    elif len(bins) != d:
        raise ValueError(f"{fname}: bins must be an int or have one entry per dimension "
                         f"({d}), got {len(bins)}")  # fmt: skip
    if range is None:
        range = [None] * d
    elif len(range) != d:
        raise ValueError(f"{fname}: range must have one (lo, hi) per dimension ({d})")
    if weights is not None:
        weights = fnp.ravel(asarray(weights, fname=fname))
        if weights.shape[0] != n:
            raise ValueError(f"{fname}: weights must have one entry per sample ({n}), got "
                             f"shape {weights.shape}")  # fmt: skip
    edges, flat, nbins = [], None, []
    for i in _range(d):
        col = sample[:, i]
        b = bins[i]
        if isinstance(b, (int, np.integer)) or (is_array(b) and b.ndim == 0) or np.ndim(b) == 0:
            count = operator.index(b)
            if count < 1:
                raise ValueError(f"{fname}: bins[{i}] must be a positive integer, got {count}")
            e = fnp.histogram_bin_edges(col, count, range[i])
        else:
            e = asarray(b, fname=fname)
            if e.ndim != 1:
                raise ValueError(f"{fname}: bin edges for dimension {i} must be 1-D")
        edges.append(e)
        k = e.shape[0] + 1  # bin 0: below; bin k-1: above
        idx = fnp.searchsorted(e, col, side="right")
        idx = fnp.where(col == e[-1], idx - 1, idx)  # the last edge is inclusive
        nbins.append(k)
        flat = idx if flat is None else flat * k + idx
    total = int(np.prod(nbins))
    hist = fnp.bincount(flat, weights, length=total).astype(np.float64)
    hist = hist.reshape(tuple(nbins))[tuple(slice(1, -1) for _ in nbins)]
    if density:
        s = fnp.sum(hist)
        for i, e in enumerate(edges):
            shape = [1] * d
            shape[i] = e.shape[0] - 1
            hist = hist / fnp.diff(e).astype(np.float64).reshape(tuple(shape))
        hist = hist / s
    return hist, edges


def histogram2d(x, y, bins=10, range=None, weights=None, density=None):
    """The 2-D histogram of points ``(x, y)``, NumPy's ``histogram2d``: returns
    ``(hist, xedges, yedges)``.

    ``bins``: an int or edge array for both axes, or ``[bins_x, bins_y]``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> h, xe, ye = fnp.histogram2d(fnp.asarray([0.0, 1.0, 1.0]), fnp.asarray([0.0, 1.0, 0.0]), bins=2)
        >>> h.tolist(), xe.tolist()
        ([[1.0, 0.0], [1.0, 1.0]], [0.0, 0.5, 1.0])
    """
    fname = "funcgrad.numpy.histogram2d"
    x, y = asarray(x, fname=fname), asarray(y, fname=fname)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"{fname}: x and y must be 1-D of the same length, got shapes "
                         f"{x.shape} and {y.shape}")  # fmt: skip
    if np.ndim(bins) != 0 and len(bins) not in (1, 2):
        bins = [bins, bins]  # one edge array for both axes
    hist, edges = histogramdd([x, y], bins, range, weights, density)
    return hist, edges[0], edges[1]
