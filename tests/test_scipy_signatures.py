"""The signatures of funcgrad.scipy's special, linalg, signal and stats functions against
JAX 0.10.2's (``jax.scipy.*``): parameter names, order, defaults and positional-only /
keyword-only kinds, so that code written for JAX, keyword calls included, ports by changing
the import; and the keyword calls that the renamed parameters allow, against SciPy.

``JAX_SIGNATURES`` was read once from JAX 0.10.2 with ``inspect.signature`` (annotations
dropped) and is written out, so JAX is not needed here. funcgrad may add parameters that
JAX lacks (SciPy's, mostly): those are listed in ``EXTENSIONS`` with the reason, and each
must have a default and come after JAX's positional parameters (or be keyword-only), so a
call written for JAX binds the same way.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import scipy.special as ssp
import scipy.stats as ss

import funcgrad.numpy as fnp
import funcgrad.scipy.linalg
import funcgrad.scipy.signal
import funcgrad.scipy.special
import funcgrad.scipy.stats
from funcgrad.scipy import linalg, special, stats

JAX_SIGNATURES = {
    "linalg": {
        "block_diag": "(*arrs)",
        "cho_factor": "(a, lower=False, overwrite_a=False, check_finite=True)",
        "cho_solve": "(c_and_lower, b, overwrite_b=False, check_finite=True)",
        "cholesky": "(a, lower=False, overwrite_a=False, check_finite=True)",
        "circulant": "(c)",
        "companion": "(a)",
        "convolution_matrix": "(a, n, mode='full')",
        "det": "(a, overwrite_a=False, check_finite=True)",
        "dft": "(n, scale=None, *, dtype=None)",
        "eigh": "(a, b=None, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False, turbo=True, eigvals=None, type=1, check_finite=True)",
        "eigh_tridiagonal": "(d, e, *, eigvals_only=False, select='a', select_range=None, tol=None, key=None)",
        "expm": "(A, *, upper_triangular=False, max_squarings=16)",
        "expm_frechet": "(A, E, *, method=None, compute_expm=True)",
        "fiedler": "(a)",
        "fiedler_companion": "(a)",
        "funm": "(A, func, disp=True)",
        "hadamard": "(n, dtype=int)",
        "hankel": "(c, r=None)",
        "helmert": "(n, full=False)",
        "hessenberg": "(a, *, calc_q=False, overwrite_a=False, check_finite=True)",
        "hilbert": "(n)",
        "inv": "(a, overwrite_a=False, check_finite=True)",
        "invhilbert": "(n)",
        "invpascal": "(n, kind=None)",
        "leslie": "(f, s)",
        "lu": "(a, permute_l=False, overwrite_a=False, check_finite=True)",
        "lu_factor": "(a, overwrite_a=False, check_finite=True)",
        "lu_solve": "(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True)",
        "pascal": "(n, kind=None)",
        "polar": "(a, side='right', *, method='qdwh', eps=None, max_iterations=None)",
        "qr": "(a, overwrite_a=False, lwork=None, mode='full', pivoting=False, check_finite=True)",
        "qr_multiply": "(a, c, mode='right', pivoting=False, conjugate=False, overwrite_a=False, overwrite_c=False)",
        "rsf2csf": "(T, Z, check_finite=True)",
        "schur": "(a, output='real')",
        "solve": "(a, b, lower=False, overwrite_a=False, overwrite_b=False, debug=False, check_finite=True, assume_a='gen')",
        "solve_sylvester": "(A, B, C, *, method='schur', tol=1e-08)",
        "solve_triangular": "(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, debug=None, check_finite=True)",
        "sqrtm": "(A, blocksize=1)",
        "svd": "(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True, lapack_driver='gesdd')",
        "toeplitz": "(c, r=None)",
    },
    "signal": {
        "convolve": "(in1, in2, mode='full', method='auto', precision=None)",
        "convolve2d": "(in1, in2, mode='full', boundary='fill', fillvalue=0, precision=None)",
        "correlate": "(in1, in2, mode='full', method='auto', precision=None)",
        "correlate2d": "(in1, in2, mode='full', boundary='fill', fillvalue=0, precision=None)",
        "csd": "(x, y, fs=1.0, window='hann', nperseg=None, noverlap=None, nfft=None, detrend='constant', return_onesided=True, scaling='density', axis=-1, average='mean')",
        "detrend": "(data, axis=-1, type='linear', bp=0, overwrite_data=None)",
        "fftconvolve": "(in1, in2, mode='full', axes=None)",
        "istft": "(Zxx, fs=1.0, window='hann', nperseg=None, noverlap=None, nfft=None, input_onesided=True, boundary=True, time_axis=-1, freq_axis=-2)",
        "stft": "(x, fs=1.0, window='hann', nperseg=256, noverlap=None, nfft=None, detrend=False, return_onesided=True, boundary='zeros', padded=True, axis=-1)",
        "welch": "(x, fs=1.0, window='hann', nperseg=None, noverlap=None, nfft=None, detrend='constant', return_onesided=True, scaling='density', axis=-1, average='mean')",
    },
    "special": {
        "bernoulli": "(n)",
        "bessel_jn": "(z, *, v, n_iter=50)",
        "beta": "(a, b)",
        "betainc": "(a, b, x)",
        "betaln": "(a, b)",
        "boxcox": "(x, lmbda)",
        "boxcox1p": "(x, lmbda)",
        "comb": "(N, k, *, repetition=False)",
        "dawsn": "(x)",
        "digamma": "(x)",
        "entr": "(x)",
        "erf": "(x)",
        "erfc": "(x)",
        "erfcx": "(x)",
        "erfinv": "(x)",
        "exp1": "(x)",
        "expi": "(x)",
        "expit": "(x)",
        "expn": "(n, x)",
        "factorial": "(n, exact=False)",
        "fresnel": "(x)",
        "gamma": "(x)",
        "gammainc": "(a, x)",
        "gammaincc": "(a, x)",
        "gammaln": "(x)",
        "gammasgn": "(x)",
        "hyp1f1": "(a, b, x)",
        "hyp2f1": "(a, b, c, x)",
        "i0": "(x)",
        "i0e": "(x)",
        "i1": "(x)",
        "i1e": "(x)",
        "kl_div": "(p, q)",
        "log_ndtr": "(x, series_order=3)",
        "log_softmax": "(x, /, *, axis=None)",
        "loggamma": "(x)",
        "logit": "(x)",
        "logsumexp": "(a, axis=None, b=None, keepdims=False, return_sign=False, where=None)",
        "multigammaln": "(a, d)",
        "ndtr": "(x)",
        "ndtri": "(p)",
        "owens_t": "(h, a)",
        "poch": "(z, m)",
        "polygamma": "(n, x)",
        "rel_entr": "(p, q)",
        "sici": "(x)",
        "softmax": "(x, /, *, axis=None)",
        "spence": "(x)",
        "sph_harm_y": "(n, m, theta, phi, diff_n=None, n_max=None)",
        "wofz": "(z)",
        "xlog1py": "(x, y)",
        "xlogy": "(x, y)",
        "zeta": "(x, q=None)",
    },
    "stats": {
        "gaussian_kde": "(dataset, bw_method=None, weights=None)",
        "mode": "(a, axis=0, nan_policy='propagate', keepdims=False)",
        "rankdata": "(a, method='average', *, axis=None, nan_policy='propagate')",
        "sem": "(a, axis=0, ddof=1, nan_policy='propagate', *, keepdims=False)",
    },
    "stats.bernoulli": {
        "cdf": "(k, p)",
        "logpmf": "(k, p, loc=0)",
        "pmf": "(k, p, loc=0)",
        "ppf": "(q, p)",
    },
    "stats.beta": {
        "cdf": "(x, a, b, loc=0, scale=1)",
        "logcdf": "(x, a, b, loc=0, scale=1)",
        "logpdf": "(x, a, b, loc=0, scale=1)",
        "logsf": "(x, a, b, loc=0, scale=1)",
        "pdf": "(x, a, b, loc=0, scale=1)",
        "sf": "(x, a, b, loc=0, scale=1)",
    },
    "stats.betabinom": {
        "logpmf": "(k, n, a, b, loc=0)",
        "pmf": "(k, n, a, b, loc=0)",
    },
    "stats.binom": {
        "logpmf": "(k, n, p, loc=0)",
        "pmf": "(k, n, p, loc=0)",
    },
    "stats.cauchy": {
        "cdf": "(x, loc=0, scale=1)",
        "isf": "(q, loc=0, scale=1)",
        "logcdf": "(x, loc=0, scale=1)",
        "logpdf": "(x, loc=0, scale=1)",
        "logsf": "(x, loc=0, scale=1)",
        "pdf": "(x, loc=0, scale=1)",
        "ppf": "(q, loc=0, scale=1)",
        "sf": "(x, loc=0, scale=1)",
    },
    "stats.chi2": {
        "cdf": "(x, df, loc=0, scale=1)",
        "logcdf": "(x, df, loc=0, scale=1)",
        "logpdf": "(x, df, loc=0, scale=1)",
        "logsf": "(x, df, loc=0, scale=1)",
        "pdf": "(x, df, loc=0, scale=1)",
        "sf": "(x, df, loc=0, scale=1)",
    },
    "stats.dirichlet": {
        "logpdf": "(x, alpha)",
        "pdf": "(x, alpha)",
    },
    "stats.expon": {
        "cdf": "(x, loc=0, scale=1)",
        "logcdf": "(x, loc=0, scale=1)",
        "logpdf": "(x, loc=0, scale=1)",
        "logsf": "(x, loc=0, scale=1)",
        "pdf": "(x, loc=0, scale=1)",
        "ppf": "(q, loc=0, scale=1)",
        "sf": "(x, loc=0, scale=1)",
    },
    "stats.gamma": {
        "cdf": "(x, a, loc=0, scale=1)",
        "logcdf": "(x, a, loc=0, scale=1)",
        "logpdf": "(x, a, loc=0, scale=1)",
        "logsf": "(x, a, loc=0, scale=1)",
        "pdf": "(x, a, loc=0, scale=1)",
        "sf": "(x, a, loc=0, scale=1)",
    },
    "stats.gennorm": {
        "cdf": "(x, beta)",
        "logpdf": "(x, beta)",
        "pdf": "(x, beta)",
    },
    "stats.geom": {
        "logpmf": "(k, p, loc=0)",
        "pmf": "(k, p, loc=0)",
    },
    "stats.gumbel_l": {
        "cdf": "(x, loc=0, scale=1)",
        "logcdf": "(x, loc=0, scale=1)",
        "logpdf": "(x, loc=0, scale=1)",
        "logsf": "(x, loc=0, scale=1)",
        "pdf": "(x, loc=0, scale=1)",
        "ppf": "(p, loc=0, scale=1)",
        "sf": "(x, loc=0, scale=1)",
    },
    "stats.gumbel_r": {
        "cdf": "(x, loc=0, scale=1)",
        "logcdf": "(x, loc=0, scale=1)",
        "logpdf": "(x, loc=0, scale=1)",
        "logsf": "(x, loc=0, scale=1)",
        "pdf": "(x, loc=0, scale=1)",
        "ppf": "(p, loc=0, scale=1)",
        "sf": "(x, loc=0, scale=1)",
    },
    "stats.laplace": {
        "cdf": "(x, loc=0, scale=1)",
        "logpdf": "(x, loc=0, scale=1)",
        "pdf": "(x, loc=0, scale=1)",
    },
    "stats.logistic": {
        "cdf": "(x, loc=0, scale=1)",
        "isf": "(x, loc=0, scale=1)",
        "logpdf": "(x, loc=0, scale=1)",
        "pdf": "(x, loc=0, scale=1)",
        "ppf": "(x, loc=0, scale=1)",
        "sf": "(x, loc=0, scale=1)",
    },
    "stats.multinomial": {
        "logpmf": "(x, n, p)",
        "pmf": "(x, n, p)",
    },
    "stats.multivariate_normal": {
        "logpdf": "(x, mean, cov, allow_singular=None)",
        "pdf": "(x, mean, cov)",
    },
    "stats.nbinom": {
        "logpmf": "(k, n, p, loc=0)",
        "pmf": "(k, n, p, loc=0)",
    },
    "stats.norm": {
        "cdf": "(x, loc=0, scale=1)",
        "isf": "(q, loc=0, scale=1)",
        "logcdf": "(x, loc=0, scale=1)",
        "logpdf": "(x, loc=0, scale=1)",
        "logsf": "(x, loc=0, scale=1)",
        "pdf": "(x, loc=0, scale=1)",
        "ppf": "(q, loc=0, scale=1)",
        "sf": "(x, loc=0, scale=1)",
    },
    "stats.pareto": {
        "cdf": "(x, b, loc=0, scale=1)",
        "logcdf": "(x, b, loc=0, scale=1)",
        "logpdf": "(x, b, loc=0, scale=1)",
        "logsf": "(x, b, loc=0, scale=1)",
        "pdf": "(x, b, loc=0, scale=1)",
        "ppf": "(q, b, loc=0, scale=1)",
        "sf": "(x, b, loc=0, scale=1)",
    },
    "stats.poisson": {
        "cdf": "(k, mu, loc=0)",
        "entropy": "(mu, loc=0)",
        "logpmf": "(k, mu, loc=0)",
        "pmf": "(k, mu, loc=0)",
    },
    "stats.t": {
        "logpdf": "(x, df, loc=0, scale=1)",
        "pdf": "(x, df, loc=0, scale=1)",
    },
    "stats.truncnorm": {
        "cdf": "(x, a, b, loc=0, scale=1)",
        "logcdf": "(x, a, b, loc=0, scale=1)",
        "logpdf": "(x, a, b, loc=0, scale=1)",
        "logsf": "(x, a, b, loc=0, scale=1)",
        "pdf": "(x, a, b, loc=0, scale=1)",
        "sf": "(x, a, b, loc=0, scale=1)",
    },
    "stats.uniform": {
        "cdf": "(x, loc=0, scale=1)",
        "logpdf": "(x, loc=0, scale=1)",
        "pdf": "(x, loc=0, scale=1)",
        "ppf": "(q, loc=0, scale=1)",
    },
    "stats.vonmises": {
        "logpdf": "(x, kappa)",
        "pdf": "(x, kappa)",
    },
    "stats.wrapcauchy": {
        "logpdf": "(x, c)",
        "pdf": "(x, c)",
    },
}

JAX_KDE_METHODS = {
    "evaluate": "(self, points)",
    "integrate_box": "(self, low_bounds, high_bounds, maxpts=None)",
    "integrate_box_1d": "(self, low, high)",
    "integrate_gaussian": "(self, mean, cov)",
    "integrate_kde": "(self, other)",
    "logpdf": "(self, x)",
    "pdf": "(self, x)",
    "resample": "(self, key, shape=())",
    "set_bandwidth": "(self, bw_method=None)",
}

# funcgrad's parameters beyond JAX's: name -> why
EXTENSIONS = {
    "linalg.sqrtm": {"iterations": "keyword-only: the Denman-Beavers iteration count"},
    "signal.istft": {"scaling": "SciPy's ('spectrum' or 'psd')"},
    "signal.stft": {"scaling": "SciPy's ('spectrum' or 'psd')"},
    "special.comb": {"exact": "SciPy's (keyword-only; exact=True raises)"},
    "stats.bernoulli.cdf": {"loc": "SciPy's, as the other bernoulli functions"},
    "stats.gennorm.cdf": {"loc": "SciPy's", "scale": "SciPy's"},
    "stats.gennorm.logpdf": {"loc": "SciPy's", "scale": "SciPy's"},
    "stats.gennorm.pdf": {"loc": "SciPy's", "scale": "SciPy's"},
    "stats.multivariate_normal.pdf": {"allow_singular": "as JAX's logpdf (must be None)"},
    "stats.vonmises.logpdf": {"loc": "SciPy's", "scale": "SciPy's"},
    "stats.vonmises.pdf": {"loc": "SciPy's", "scale": "SciPy's"},
    "stats.wrapcauchy.logpdf": {"loc": "SciPy's", "scale": "SciPy's"},
    "stats.wrapcauchy.pdf": {"loc": "SciPy's", "scale": "SciPy's"},
}

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
               inspect.Parameter.VAR_POSITIONAL)  # fmt: skip


def _parse(text: str) -> inspect.Signature:
    namespace: dict = {}
    exec(f"def f{text}: pass", {"int": int}, namespace)  # noqa: S102 -- the literal table above
    return inspect.signature(namespace["f"])


def _same_default(a, b) -> bool:
    if a is inspect.Parameter.empty or b is inspect.Parameter.empty:
        return a is b
    # 0 and 0.0 are the same default to a caller; False and 0 are not
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _mismatches(qualname: str, actual: inspect.Signature, expected: inspect.Signature) -> list:
    """What in ``actual`` differs from ``expected``, allowing the listed extensions."""
    problems = []
    extensions = EXTENSIONS.get(qualname, {})

    def render(p):
        return f"{p.name} ({p.kind.name}, default {p.default!r})"

    def split(sig):
        params = list(sig.parameters.values())
        positional = [p for p in params if p.kind in _POSITIONAL]
        keyword = {p.name: p for p in params if p.kind not in _POSITIONAL}
        return positional, keyword

    got_pos, got_kw = split(actual)
    want_pos, want_kw = split(expected)
    for i, want in enumerate(want_pos):
        got = got_pos[i] if i < len(got_pos) else None
        if (
            got is None
            or got.name != want.name
            or got.kind != want.kind
            or not _same_default(got.default, want.default)
        ):
            problems.append(f"positional {i}: JAX {render(want)}, funcgrad "
                            f"{render(got) if got else 'nothing'}")  # fmt: skip
    extras = got_pos[len(want_pos) :]
    for name, want in want_kw.items():
        got = got_kw.get(name)
        if got is None or got.kind != want.kind or not _same_default(got.default, want.default):
            problems.append(f"JAX {render(want)}, funcgrad {render(got) if got else 'nothing'}")
    extras += [p for name, p in got_kw.items() if name not in want_kw]
    for p in extras:
        if p.name not in extensions:
            problems.append(f"extra parameter {render(p)} not in EXTENSIONS")
        elif p.default is inspect.Parameter.empty and p.kind not in (p.VAR_KEYWORD,):
            problems.append(f"extension {p.name} has no default")
    for name in extensions:
        if name not in [p.name for p in extras]:
            problems.append(f"EXTENSIONS lists {name}, which funcgrad does not have")
    return problems


_CASES = [
    (f"{module}.{fn}", sig) for module, fns in JAX_SIGNATURES.items() for fn, sig in fns.items()
]


def _resolve(qualname: str):
    obj = funcgrad.scipy
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            pytest.fail(f"funcgrad.scipy.{qualname} is missing (JAX 0.10.2 has it)")
    return obj


@pytest.mark.parametrize(("qualname", "signature"), _CASES, ids=[c[0] for c in _CASES])
def test_signature_matches_jax(qualname, signature):
    actual = inspect.signature(_resolve(qualname))
    problems = _mismatches(qualname, actual, _parse(signature))
    assert not problems, f"funcgrad.scipy.{qualname}{actual} vs JAX {signature}: {problems}"


@pytest.mark.parametrize("method", sorted(JAX_KDE_METHODS))
def test_gaussian_kde_method_signatures_match_jax(method):
    actual = inspect.signature(getattr(stats.gaussian_kde, method))
    expected = _parse(JAX_KDE_METHODS[method])
    assert not _mismatches(f"gaussian_kde.{method}", actual, expected), actual


def test_the_comparison_catches_each_kind_of_mismatch():
    want = _parse("(x, /, *, axis=None)")
    assert _mismatches("t", _parse("(x, /, *, axis=None)"), want) == []
    assert _mismatches("t", _parse("(x, axis=None)"), want)  # kinds
    assert _mismatches("t", _parse("(y, /, *, axis=None)"), want)  # name
    assert _mismatches("t", _parse("(x, /, *, axis=0)"), want)  # default
    assert _mismatches("t", _parse("(x, /, *, axis=None, extra=1)"), want)  # unlisted extra
    assert _mismatches("t", _parse("(*args, **kwargs)"), want)  # a generic wrapper
    assert _mismatches("t", _parse("(x, loc=0.0)"), _parse("(x, loc=0)")) == []
    assert _mismatches("t", _parse("(x, flag=0)"), _parse("(x, flag=False)"))


# --- the keyword calls JAX code makes, against SciPy ------------------------------------------

_X = np.array([-1.5, 0.2, 2.0])
_Q = np.array([0.1, 0.5, 0.95])


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: stats.norm.pdf(x=_X, loc=0.5, scale=2.0), lambda: ss.norm.pdf(_X, 0.5, 2.0)),
        (
            lambda: stats.gamma.logcdf(x=_X + 2, a=1.5, scale=2.0),
            lambda: ss.gamma.logcdf(_X + 2, 1.5, scale=2.0),
        ),
        (lambda: stats.expon.sf(x=_X + 2, loc=0.5), lambda: ss.expon.sf(_X + 2, loc=0.5)),
        (lambda: stats.gennorm.logpdf(x=_X, beta=1.5), lambda: ss.gennorm.logpdf(_X, 1.5)),
        (lambda: stats.gennorm.cdf(_X, beta=3.0), lambda: ss.gennorm.cdf(_X, 3.0)),
        (lambda: stats.gumbel_r.ppf(p=_Q, loc=1.0), lambda: ss.gumbel_r.ppf(_Q, loc=1.0)),
        (lambda: stats.gumbel_l.ppf(p=_Q, scale=2.0), lambda: ss.gumbel_l.ppf(_Q, scale=2.0)),
        (lambda: stats.gumbel_r.sf(x=_X), lambda: ss.gumbel_r.sf(_X)),
        (lambda: stats.gumbel_l.cdf(x=_X), lambda: ss.gumbel_l.cdf(_X)),
        (lambda: stats.logistic.ppf(x=_Q, loc=1.0), lambda: ss.logistic.ppf(_Q, loc=1.0)),
        (lambda: stats.logistic.isf(x=_Q, scale=3.0), lambda: ss.logistic.isf(_Q, scale=3.0)),
        (
            lambda: stats.poisson.pmf(k=np.array([0.0, 3.0]), mu=2.5),
            lambda: ss.poisson.pmf([0, 3], 2.5),
        ),
        (lambda: special.logit(x=_Q), lambda: ssp.logit(_Q)),
        (
            lambda: special.softmax(np.outer(_X, _Q), axis=1),
            lambda: ssp.softmax(np.outer(_X, _Q), axis=1),
        ),
        (
            lambda: special.log_softmax(np.outer(_X, _Q), axis=0),
            lambda: ssp.log_softmax(np.outer(_X, _Q), axis=0),
        ),
        (lambda: stats.gaussian_kde(_X).logpdf(x=_Q), lambda: ss.gaussian_kde(_X).logpdf(_Q)),
    ],
)
def test_keyword_calls_match_scipy(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours()), theirs(), rtol=1e-12, atol=1e-300)


def test_softmax_axis_is_keyword_only():
    with pytest.raises(TypeError):
        special.softmax(fnp.ones((2, 2)), 0)


@pytest.mark.parametrize("order", [0, 3, 30])
def test_log_ndtr_series_order_keeps_full_precision(order):
    x = np.array([-20.5, -25.0, -40.0, -300.0, -3.0, 4.0])
    got = np.asarray(special.log_ndtr(x, series_order=order))
    np.testing.assert_allclose(got, ssp.log_ndtr(x), rtol=1e-14)


@pytest.mark.parametrize(("order", "error"), [(-1, ValueError), (31, ValueError),
                                              (2.0, TypeError), (True, TypeError)])  # fmt: skip
def test_log_ndtr_series_order_errors(order, error):
    with pytest.raises(error, match="log_ndtr: series_order must be"):
        special.log_ndtr(-30.0, series_order=order)


def test_jax_only_parameters_are_accepted_and_unused():
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([9.0, 8.0])
    np.testing.assert_allclose(np.asarray(linalg.solve(a, b, debug=True)), np.linalg.solve(a, b))
    t = np.tril(a)
    np.testing.assert_allclose(np.asarray(linalg.solve_triangular(t, b, lower=True, debug=True)),
                               np.linalg.solve(t, b))  # fmt: skip
    w = linalg.eigh_tridiagonal(np.array([2.0, 2.0]), np.array([1.0]), key=None)[0]
    np.testing.assert_allclose(np.asarray(w), [1.0, 3.0])
    y = special.sph_harm_y(np.array([1]), np.array([0]), np.array([0.3]), np.array([0.0]))
    np.testing.assert_allclose(np.asarray(y), ssp.sph_harm_y(1, 0, 0.3, 0.0))
