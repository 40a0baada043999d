"""``funcgrad.scipy.stats.gaussian_kde``: a Gaussian kernel density estimate, as
``jax.scipy.stats.gaussian_kde`` (SciPy's class, as an immutable pytree)."""

from __future__ import annotations

import math
from typing import Any

import funcgrad.numpy as fnp
from funcgrad import random
from funcgrad._src.scipy import special as sp
from funcgrad.tree_util import register_pytree_node_class

__all__ = ["gaussian_kde"]


@register_pytree_node_class
class gaussian_kde:
    """A Gaussian kernel density estimate of ``dataset`` (shape ``(d, n)``, or ``(n,)``
    for one dimension), with SciPy's bandwidth rules and optional point ``weights``.

    The kernel covariance is the (weighted, unbiased) data covariance times
    ``factor^2``, where ``factor`` is Scott's ``neff^(-1/(d+4))`` (default),
    Silverman's ``(neff (d+2) / 4)^(-1/(d+4))``, a given scalar, or ``bw_method(kde)``;
    ``neff = 1 / sum(w_i^2)`` for normalised weights. The estimate is a pytree (its
    arrays are leaves), so it can be passed through ``jit``, ``vmap`` and ``grad``;
    everything is differentiable in the dataset, weights and points.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import stats
        >>> kde = stats.gaussian_kde(fnp.asarray([0.0, 1.0, 2.0, 4.0]))
        >>> round(float(kde.evaluate(fnp.asarray([1.0]))[0]), 10)
        0.1966549865
        >>> round(float(kde.integrate_box_1d(-50.0, 50.0)), 10)
        1.0
    """

    def __init__(self, dataset: Any, bw_method: Any = None, weights: Any = None):
        dataset = fnp.atleast_2d(fnp.asarray(dataset))
        d, n = dataset.shape
        if n < 2 or d > n:
            raise ValueError(
                f"funcgrad.scipy.stats.gaussian_kde: dataset must have more points than "
                f"dimensions and at least 2 points (shape (d, n)), got shape {dataset.shape}"
            )
        (dataset,) = sp._floats("gaussian_kde", dataset)
        if weights is None:
            weights = fnp.full((n,), 1.0 / n, dtype=dataset.dtype)
        else:
            (weights,) = sp._floats("gaussian_kde", weights)
            if weights.shape != (n,):
                raise ValueError(
                    f"funcgrad.scipy.stats.gaussian_kde: weights must have shape ({n},) for a "
                    f"dataset of shape {dataset.shape}, got {weights.shape}"
                )
            weights = (weights / fnp.sum(weights)).astype(dataset.dtype)
        self.dataset, self.weights = dataset, weights
        self.neff = 1.0 / fnp.sum(weights * weights)
        factor = self._factor(bw_method)
        data_cov = fnp.atleast_2d(fnp.cov(dataset, rowvar=True, bias=False, aweights=weights))
        self.covariance = data_cov * factor**2
        self.inv_cov = fnp.linalg.inv(data_cov) / factor**2

    def _factor(self, bw_method: Any) -> Any:
        d = self.dataset.shape[0]
        if bw_method is None or bw_method == "scott":
            return self.neff ** (-1.0 / (d + 4))
        if bw_method == "silverman":
            return (self.neff * (d + 2) / 4.0) ** (-1.0 / (d + 4))
        if callable(bw_method):
            return bw_method(self)
        if isinstance(bw_method, str):
            raise ValueError(  # noqa: TRY004 -- a wrong value (string), as SciPy's error
                f"funcgrad.scipy.stats.gaussian_kde: bw_method must be 'scott', 'silverman', "
                f"a scalar or a callable, got {bw_method!r}"
            )
        return fnp.asarray(bw_method, dtype=self.dataset.dtype)

    # pytree protocol: the arrays are leaves (as JAX's dataclass)
    def tree_flatten(self):
        return (self.neff, self.dataset, self.weights, self.covariance, self.inv_cov), None

    @classmethod
    def tree_unflatten(cls, aux: Any, children: Any) -> gaussian_kde:
        del aux
        obj = object.__new__(cls)
        obj.neff, obj.dataset, obj.weights, obj.covariance, obj.inv_cov = children
        return obj

    @property
    def d(self) -> int:
        """The number of dimensions."""
        return self.dataset.shape[0]

    @property
    def n(self) -> int:
        """The number of data points."""
        return self.dataset.shape[1]

    def _points(self, points: Any, fname: str) -> Any:
        points = fnp.atleast_2d(fnp.asarray(points)).astype(self.dataset.dtype)
        if points.shape[0] != self.d:
            if points.shape == (1, self.d):  # one d-dimensional point, as SciPy
                points = points.T
            else:
                raise ValueError(
                    f"funcgrad.scipy.stats.gaussian_kde.{fname}: points must have shape "
                    f"({self.d}, m), got {points.shape}"
                )
        return points

    def _log_kernels(self, points: Any, cov: Any, centers: Any) -> Any:
        """``log N(points_j; centers_i, cov)`` as an ``(n, m)`` array (a Cholesky whitening,
        then squared distances formed from differences, which do not cancel)."""
        chol = fnp.linalg.cholesky(cov)
        whiten = lambda v: fnp.linalg.solve(chol, v)
        diff = whiten(points)[:, None, :] - whiten(centers)[:, :, None]  # (d, n, m)
        log_det = 2 * fnp.sum(fnp.log(fnp.diagonal(chol)))
        return -0.5 * (fnp.sum(diff * diff, axis=0) + log_det + self.d * math.log(2 * math.pi))

    def logpdf(self, x: Any) -> Any:
        """``log sum_i w_i N(x; data_i, covariance)`` at each of the points ``x``
        (``(d, m)``), by a log-sum-exp, so far from the data it stays finite where ``pdf``
        underflows."""
        points = self._points(x, "logpdf")
        log_k = self._log_kernels(points, self.covariance, self.dataset)
        return sp.logsumexp(log_k, axis=0, b=self.weights[:, None])

    def evaluate(self, points: Any) -> Any:
        """The estimated density at ``points`` (``(d, m)``, or ``(m,)`` for ``d = 1``)."""
        points = self._points(points, "evaluate")
        log_k = self._log_kernels(points, self.covariance, self.dataset)
        return fnp.sum(self.weights[:, None] * fnp.exp(log_k), axis=0)

    __call__ = evaluate

    def pdf(self, x: Any) -> Any:
        """Same as :meth:`evaluate`."""
        return self.evaluate(x)

    def integrate_gaussian(self, mean: Any, cov: Any) -> Any:
        """``integral kde(x) N(x; mean, cov) dx = sum_i w_i N(mean; data_i, covariance + cov)``."""
        mean = fnp.reshape(fnp.asarray(mean, dtype=self.dataset.dtype), (self.d, 1))
        cov = fnp.atleast_2d(fnp.asarray(cov, dtype=self.dataset.dtype))
        if cov.shape != (self.d, self.d):
            raise ValueError(
                f"funcgrad.scipy.stats.gaussian_kde.integrate_gaussian: cov must have shape "
                f"({self.d}, {self.d}), got {cov.shape}"
            )
        log_k = self._log_kernels(mean, self.covariance + cov, self.dataset)[:, 0]
        return fnp.sum(self.weights * fnp.exp(log_k))

    def integrate_box_1d(self, low: Any, high: Any) -> Any:
        """The estimate's mass on ``[low, high]`` (one-dimensional data only)."""
        if self.d != 1:
            raise ValueError(
                f"funcgrad.scipy.stats.gaussian_kde.integrate_box_1d: needs 1-dimensional "
                f"data, got d = {self.d}; use integrate_gaussian or integrate_kde"
            )
        std = fnp.sqrt(self.covariance[0, 0])
        data = self.dataset[0]
        upper = sp.ndtr((high - data) / std)
        lower = sp.ndtr((low - data) / std)
        return fnp.sum(self.weights * (upper - lower))

    def integrate_box(self, low_bounds: Any, high_bounds: Any, maxpts: Any = None) -> Any:
        """The estimate's mass on the box ``[low_bounds, high_bounds]`` (each of shape
        ``(d,)``, or a scalar for ``d = 1``): ``sum_i w_i P(low <= data_i + noise <= high)``.

        One-dimensional data only, where the mass is exact (normal CDFs, as
        :meth:`integrate_box_1d`; ``maxpts`` is unused) and differentiable. For ``d > 1``
        SciPy integrates by randomised quasi-Monte Carlo, which is not implemented (JAX
        0.10.2 raises ``NotImplementedError`` for every ``d``).

        Examples:
            >>> import funcgrad.numpy as fnp
            >>> from funcgrad.scipy import stats
            >>> kde = stats.gaussian_kde(fnp.asarray([0.0, 1.0, 2.0, 4.0]))
            >>> round(float(kde.integrate_box([-50.0], [50.0])), 10)
            1.0
        """
        del maxpts
        fname = "funcgrad.scipy.stats.gaussian_kde.integrate_box"
        if self.d != 1:
            raise NotImplementedError(
                f"{fname}: only 1-dimensional data is supported, got d = {self.d}; for a "
                "Monte Carlo estimate average the box indicator over kde.resample(key, (n,))"
            )
        bounds = []
        for name, value in (("low_bounds", low_bounds), ("high_bounds", high_bounds)):
            value = fnp.asarray(value, dtype=self.dataset.dtype)
            if value.shape not in ((), (1,)):
                raise ValueError(f"{fname}: {name} must have shape (1,), got {value.shape}")
            bounds.append(fnp.reshape(value, ()))
        return self.integrate_box_1d(*bounds)

    def integrate_kde(self, other: gaussian_kde) -> Any:
        """``integral kde(x) other(x) dx = sum_ij w_i v_j N(data_i; other_j, cov + other.cov)``."""
        if other.d != self.d:
            raise ValueError(
                f"funcgrad.scipy.stats.gaussian_kde.integrate_kde: both estimates need the same "
                f"dimension, got {self.d} and {other.d}"
            )
        log_k = self._log_kernels(self.dataset, self.covariance + other.covariance,
                                  other.dataset)  # fmt: skip
        return fnp.sum(other.weights[:, None] * self.weights[None, :] * fnp.exp(log_k))

    def resample(self, key: Any, shape: tuple = ()) -> Any:
        """Draws from the estimate, shape ``(d, *shape)``: a data point chosen with
        probability ``w_i`` plus ``N(0, covariance)`` noise (differentiable in the data
        and covariance by reparameterisation)."""
        shape = tuple(shape)
        index_key, noise_key = random.split(key)
        noise = random.multivariate_normal(noise_key, fnp.zeros(self.d, self.dataset.dtype),
                                           self.covariance, shape=shape)  # fmt: skip
        index = random.choice(index_key, self.n, shape=shape, p=self.weights)
        return self.dataset[:, index] + fnp.moveaxis(noise, -1, 0)

    def set_bandwidth(self, bw_method: Any = None) -> None:
        raise NotImplementedError(
            "funcgrad.scipy.stats.gaussian_kde.set_bandwidth: the estimate is immutable (as in "
            "JAX); build a new gaussian_kde(dataset, bw_method=...)"
        )
