"""Pseudo-random numbers from explicit keys: the threefry-2x32 generator and samplers.

Keys
    A key is a ``uint32`` array of shape ``(2,)`` (the same raw representation as JAX's
    ``PRNGKey``). A batch of keys is a ``uint32`` array of shape ``(n, 2)``, as made by
    :func:`split`; sample with one key per row through ``funcgrad.vmap``. Keys are values:
    the same key always gives the same numbers, so never reuse a key for two purposes;
    :func:`split` it (or :func:`fold_in` a number) into fresh ones.

The generator
    Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as
    1, 2, 3", SC 2011) maps a key and a 64-bit counter to 64 random bits. It is written
    in funcgrad array operations on ``uint32`` (add wrapping modulo 2**32, shifts, xor,
    or), so the bits are identical on every run, machine and backend, and the samplers
    trace under ``vmap``, ``jit`` and ``eval_shape`` like any other function. The second
    counter word separates three domains, so that no two uses of one key share a block:

    =============================  ==============================================
    counter ``(i, 0)``             block ``i`` of the bits drawn by the samplers
    counter ``(i, 1)``             key ``i`` of :func:`split`
    counter ``(data, 2)``          the key made by :func:`fold_in`
    =============================  ==============================================

    Block ``i`` gives words ``2i`` and ``2i + 1`` of :func:`bits`, so the bits of a
    smaller shape are a prefix of those of a larger one.

Floating-point samples are built from the bits with exact integer-to-float steps; the
transforms after that (log, cos, ...) use the backend's math library, so the floats of
two backends agree to within its rounding, while the bits agree exactly. The default
floating dtype is float64, as in the rest of funcgrad.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad._src.core import Array, Tracer
from funcgrad._src.lax import special
from funcgrad._src.nn._util import with_jvp
from funcgrad._src.numpy.util import canonicalize_axis
from funcgrad._src.threefry import threefry2x32

__all__ = [
    "PRNGKey",
    "ball",
    "bernoulli",
    "beta",
    "binomial",
    "bits",
    "categorical",
    "cauchy",
    "chisquare",
    "choice",
    "clone",
    "dirichlet",
    "double_sided_maxwell",
    "exponential",
    "f",
    "fold_in",
    "gamma",
    "generalized_normal",
    "geometric",
    "gumbel",
    "key",
    "key_data",
    "laplace",
    "loggamma",
    "logistic",
    "lognormal",
    "maxwell",
    "multinomial",
    "multivariate_normal",
    "normal",
    "orthogonal",
    "pareto",
    "permutation",
    "poisson",
    "rademacher",
    "randint",
    "rayleigh",
    "split",
    "t",
    "threefry_2x32",
    "triangular",
    "truncated_normal",
    "uniform",
    "wald",
    "weibull_min",
    "wrap_key_data",
]

_UINT32 = np.dtype(np.uint32)
_UINT64 = np.dtype(np.uint64)
_MASK32 = 0xFFFFFFFF

# Counter-word domains (see the module docstring).
_DOMAIN_BITS, _DOMAIN_SPLIT, _DOMAIN_FOLD_IN = 0, 1, 2


# ------------------------------------------------------------------------------------
# Argument checks
# ------------------------------------------------------------------------------------


def _describe(x: Any) -> str:
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is not None and dtype is not None:
        return f"{type(x).__name__} of dtype {dtype} and shape {tuple(shape)}"
    return f"{type(x).__name__} {x!r:.40}"


def _check_key(key: Any, fname: str) -> Any:
    """``key`` as a funcgrad array, or an error naming ``fname`` that says how to make one."""
    if isinstance(key, np.ndarray):
        if key.shape == (2,) and key.dtype == _UINT32:
            return fnp.asarray(key)
    elif isinstance(key, (Array, Tracer)):
        if key.shape == (2,) and key.dtype == _UINT32:
            return key
        if key.dtype == _UINT32 and key.ndim == 2 and key.shape[-1] == 2:
            raise TypeError(
                f"funcgrad.random.{fname}: expected one PRNG key (uint32, shape (2,)), got a "
                f"batch of keys of shape {tuple(key.shape)}; map over them with "
                f"funcgrad.vmap(lambda k: funcgrad.random.{fname}(k, ...))(keys)"
            )
    raise TypeError(
        f"funcgrad.random.{fname}: expected a PRNG key (a uint32 array of shape (2,)), got "
        f"{_describe(key)}; make one with funcgrad.random.key(seed) and derive fresh keys "
        f"with funcgrad.random.split(key)"
    )


def _shape(shape: Any, fname: str) -> tuple[int, ...]:
    try:
        if isinstance(shape, (int, np.integer)):
            shape = (operator.index(shape),)
        shape = tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(
            f"funcgrad.random.{fname}: shape must be a tuple of ints, got {shape!r:.60}"
        ) from None
    if any(d < 0 for d in shape):
        raise ValueError(f"funcgrad.random.{fname}: shape {shape} has a negative dimension")
    return shape


def _float_dtype(dtype: Any, fname: str) -> np.dtype:
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    if dtype.kind != "f" or dtype.itemsize > 8:
        raise TypeError(
            f"funcgrad.random.{fname}: dtype must be float16, float32 or float64, got {dtype}"
        )
    return dtype


def _check_broadcast(x: Any, shape: tuple[int, ...], fname: str, what: str) -> Any:
    """``x`` itself, after checking that it broadcasts to ``shape``.

    Not broadcast here: the samplers combine it with a sample of the full shape, and
    a scalar bound that stays 0-d costs nothing per element.
    """
    try:
        if np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"funcgrad.random.{fname}: {what} of shape {tuple(x.shape)} does not broadcast "
            f"to the requested shape {shape}; pass a shape that contains it, or shape=None"
        ) from None
    return x


# ------------------------------------------------------------------------------------
# Threefry-2x32 and keys
# ------------------------------------------------------------------------------------

# The block function is one primitive (funcgrad._src.threefry): one call per draw, whose
# kernel picks Python integers, in-place NumPy or a fused loop by size and backend.


def threefry_2x32(key: Any, x0: Any, x1: Any) -> tuple[Any, Any]:
    """The Threefry-2x32 block function with 20 rounds, elementwise over counters.

    Args:
        key: a PRNG key, ``uint32`` of shape ``(2,)``.
        x0, x1: the two counter words, ``uint32`` arrays of one shape.

    Returns:
        The two output words, ``uint32`` arrays of the counters' shape.

    Examples:
        >>> import numpy as np
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> zero = fnp.zeros((), dtype=np.uint32)
        >>> y0, y1 = random.threefry_2x32(fnp.zeros(2, dtype=np.uint32), zero, zero)
        >>> hex(int(y0)), hex(int(y1))  # Random123's known answer
        ('0x6b200159', '0x99ba4efe')
    """
    key = _check_key(key, "threefry_2x32")
    x0, x1 = fnp.asarray(x0), fnp.asarray(x1)
    if x0.dtype != _UINT32 or x1.dtype != _UINT32 or x0.shape != x1.shape:
        raise TypeError(
            f"funcgrad.random.threefry_2x32: counters must be uint32 arrays of one shape, got "
            f"{x0.dtype}{list(x0.shape)} and {x1.dtype}{list(x1.shape)}"
        )
    y0, y1 = threefry2x32(key[0], key[1], x0, x1)
    return y0, y1


def key(seed: Any) -> Any:
    """A PRNG key (``uint32`` of shape ``(2,)``) from an integer seed.

    The key holds the seed's 64 bits, high word first (so seeds below 2**32 give
    ``[0, seed]``); negative seeds count in two's complement. The seed may be a Python
    int or a 0-d integer array, traced or not.

    Examples:
        >>> from funcgrad import random
        >>> random.key(42).tolist()
        [0, 42]
        >>> random.uniform(random.key(0), (3,)).shape
        (3,)
    """
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"funcgrad.random.key: seed must be an integer, got {seed!r}")
    if isinstance(seed, (int, np.integer)):
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise ValueError(
                f"funcgrad.random.key: seed {seed} does not fit in 64 bits; pass a seed in "
                f"[-2**63, 2**64)"
            )
        return fnp.asarray(np.array([(seed >> 32) & _MASK32, seed & _MASK32], dtype=_UINT32))
    if (
        isinstance(seed, (Array, Tracer, np.ndarray))
        and seed.shape == ()
        and seed.dtype.kind in "iu"
    ):
        wide = fnp.asarray(seed).astype(np.uint64 if seed.dtype == _UINT64 else np.int64)
        # casting to uint32 keeps the low 32 bits, as the Python-int path does
        return fnp.stack([(wide >> 32).astype(_UINT32), wide.astype(_UINT32)])
    raise TypeError(
        f"funcgrad.random.key: seed must be an integer (a Python int or a 0-d integer "
        f"array), got {_describe(seed)}"
    )


PRNGKey = key


def split(key: Any, num: int = 2) -> Any:
    """``num`` new keys from ``key``, as a ``uint32`` array of shape ``(num, 2)``.

    Examples:
        >>> from funcgrad import random
        >>> k1, k2 = random.split(random.key(0))
        >>> bool((random.uniform(k1) != random.uniform(k2)))
        True
    """
    key = _check_key(key, "split")
    try:
        num = operator.index(num)
    except TypeError:
        raise TypeError(f"funcgrad.random.split: num must be an int, got {num!r:.40}") from None
    if num < 0:
        raise ValueError(f"funcgrad.random.split: num must be >= 0, got {num}")
    counter = fnp.arange(num, dtype=_UINT32)
    y0, y1 = threefry2x32(key[0], key[1], counter, np.uint32(_DOMAIN_SPLIT))
    return fnp.stack([y0, y1], axis=-1)


def fold_in(key: Any, data: Any) -> Any:
    """A new key from ``key`` and a 32-bit integer ``data`` (a step number, a worker id).

    ``data`` may be a Python int in ``[-2**31, 2**32)`` or a 0-d integer array (traced
    or not); negative values and wider arrays are taken modulo 2**32.

    Examples:
        >>> from funcgrad import random
        >>> k = random.key(0)
        >>> bool((random.fold_in(k, 1) != random.fold_in(k, 2)).any())
        True
    """
    key = _check_key(key, "fold_in")
    if isinstance(data, (int, np.integer)) and not isinstance(data, (bool, np.bool_)):
        data = int(data)
        if not -(2**31) <= data < 2**32:
            raise ValueError(
                f"funcgrad.random.fold_in: data {data} does not fit in 32 bits; pass a value "
                f"in [-2**31, 2**32)"
            )
        counter = fnp.asarray(np.uint32(data & _MASK32))
    elif (
        isinstance(data, (Array, Tracer, np.ndarray))
        and data.shape == ()
        and data.dtype.kind in "iu"
    ):
        counter = fnp.asarray(data).astype(_UINT32)
    else:
        raise TypeError(
            f"funcgrad.random.fold_in: data must be an integer (a Python int or a 0-d integer "
            f"array), got {_describe(data)}"
        )
    y0, y1 = threefry2x32(key[0], key[1], counter, np.uint32(_DOMAIN_FOLD_IN))
    return fnp.stack([y0, y1])


def _blocks(key: Any, n: int) -> tuple[Any, Any]:
    """The two output words of blocks ``0 .. n-1`` of the bits domain."""
    counter = fnp.arange(n, dtype=_UINT32)
    return threefry2x32(key[0], key[1], counter, np.uint32(_DOMAIN_BITS))


def _words(key: Any, n: int) -> Any:
    """``n`` random uint32 words: the blocks' two words, interleaved."""
    y0, y1 = _blocks(key, -(-n // 2))
    words = fnp.stack([y0, y1], axis=-1).reshape(-1)
    return words if n % 2 == 0 else words[:n]


def bits(key: Any, shape: Sequence[int] = (), dtype: Any = np.uint32) -> Any:
    """Uniformly distributed random bits as unsigned integers of ``dtype``.

    uint64 values take two 32-bit words each (high word first); uint8 and uint16 values
    keep the low bits of one word.

    Examples:
        >>> from funcgrad import random
        >>> random.bits(random.key(0), (2,)).dtype
        dtype('uint32')
    """
    key = _check_key(key, "bits")
    shape = _shape(shape, "bits")
    dtype = np.dtype(dtype)
    if dtype.kind != "u":
        raise TypeError(
            f"funcgrad.random.bits: dtype must be an unsigned integer dtype, got {dtype}"
        )
    return _bits(key, shape, dtype)


def _bits(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    size = math.prod(shape)
    if dtype == _UINT64:  # words 2i and 2i+1, i.e. block i, high word first
        y0, y1 = _blocks(key, size)
        return ((y0.astype(_UINT64) << 32) | y1.astype(_UINT64)).reshape(shape)
    words = _words(key, size)
    return (words if dtype == _UINT32 else words.astype(dtype)).reshape(shape)


# ------------------------------------------------------------------------------------
# Floats from bits
# ------------------------------------------------------------------------------------


def _uniform01(key: Any, shape: tuple[int, ...], dtype: np.dtype, *, open_: bool = False) -> Any:
    """Uniform floats in ``[0, 1)``, or in ``(0, 1)`` when ``open_``.

    With ``p`` the dtype's precision (11 bits for float16, 24 for float32, 53 for
    float64), the result is ``k / 2**p`` for ``k`` the top ``p`` bits of a random word
    (or ``(2k + 1) / 2**p`` for ``k`` the top ``p - 1`` bits, when open): every step is
    exact, so the values are evenly spaced and 1 is never reached. float64 takes the
    top 53 bits of a 64-bit value (one block, high word first), assembled in floating
    point, which is exact and faster than 64-bit integer arithmetic.
    """
    p = np.finfo(dtype).nmant + 1
    scale = np.array(2.0**-p, dtype=dtype)[()]
    if p <= 32:
        k = _bits(key, shape, _UINT32)
        k = ((k >> (33 - p)) << 1) | 1 if open_ else k >> (32 - p)
        return k.astype(dtype) * scale
    hi, lo = _blocks(key, math.prod(shape))
    lo = ((lo >> (65 - p)) << 1) | 1 if open_ else lo >> (64 - p)
    k = hi.astype(dtype) * np.array(2.0 ** (p - 32), dtype=dtype)[()] + lo.astype(dtype)
    return (k * scale).reshape(shape)


def uniform(
    key: Any,
    shape: Sequence[int] = (),
    dtype: Any = None,
    minval: Any = 0.0,
    maxval: Any = 1.0,
) -> Any:
    """Uniform floats in ``[minval, maxval)``.

    ``minval`` and ``maxval`` may be arrays that broadcast to ``shape``. Results are
    clamped so that rounding never reaches ``maxval``.

    Examples:
        >>> from funcgrad import random
        >>> x = random.uniform(random.key(0), (1000,), minval=2.0, maxval=3.0)
        >>> bool(((x >= 2.0) & (x < 3.0)).all())
        True
    """
    key = _check_key(key, "uniform")
    shape = _shape(shape, "uniform")
    dtype = _float_dtype(dtype, "uniform")
    lo = _check_broadcast(fnp.asarray(minval, dtype=dtype), shape, "uniform", "minval")
    hi = _check_broadcast(fnp.asarray(maxval, dtype=dtype), shape, "uniform", "maxval")
    u = _uniform01(key, shape, dtype)
    x = u * (hi - lo) + lo
    return fnp.minimum(fnp.maximum(x, lo), fnp.nextafter(hi, lo))


def normal(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Standard normal samples (complex dtypes: real and imaginary parts each with
    variance 1/2).

    By the Box-Muller transform: each pair of uniforms ``u1`` in ``(0, 1)``, ``u2`` gives
    the two independent normals ``sqrt(-2 log u1) * (cos(2 pi u2), sin(2 pi u2))``, so
    every sample is finite. The cosine halves fill the first half of the (flattened)
    result and the sine halves the rest.

    Examples:
        >>> from funcgrad import random
        >>> x = random.normal(random.key(0), (10000,))
        >>> abs(float(x.mean())) < 0.05, abs(float(x.std()) - 1) < 0.05
        (True, True)
    """
    key = _check_key(key, "normal")
    shape = _shape(shape, "normal")
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    size = math.prod(shape)
    if dtype.kind == "c":
        real = _float_dtype(f"f{dtype.itemsize // 2}", "normal")
        re, im = _box_muller(key, size, real)
        half = np.array(np.sqrt(0.5), dtype=real)[()]
        z = (re * half).astype(dtype) + (im * half).astype(dtype) * 1j
        return z.reshape(shape)
    first, second = _box_muller(key, -(-size // 2), _float_dtype(dtype, "normal"))
    both = fnp.concatenate([first, second])
    return (both if size % 2 == 0 else both[:size]).reshape(shape)


def _box_muller(key: Any, pairs: int, dtype: np.dtype) -> tuple[Any, Any]:
    """``pairs`` pairs of independent standard normals, as two 1-d arrays."""
    # float16 has too few bits for the log and cos to be accurate: compute in float32
    work = np.dtype(np.float32) if dtype.itemsize < 4 else dtype
    u = _uniform01(key, (2 * pairs,), work, open_=True)
    radius = fnp.sqrt(-2 * fnp.log(u[:pairs]))
    angle = (2 * np.pi) * u[pairs:]
    return (radius * fnp.cos(angle)).astype(dtype), (radius * fnp.sin(angle)).astype(dtype)


# ------------------------------------------------------------------------------------
# Normal CDF and its inverse (for truncated_normal): the special-function primitives
# ------------------------------------------------------------------------------------


def _ndtr(x: Any) -> Any:
    """The standard normal CDF, accurate in the lower tail: ``erfc(-x / sqrt 2) / 2``."""
    return 0.5 * special.erfc_p.bind1(x * -np.sqrt(0.5))


def _ndtri(p: Any) -> Any:
    """The inverse standard normal CDF, accurate also for tiny ``p``."""
    return special.ndtri_p.bind1(p)


def truncated_normal(
    key: Any,
    lower: Any,
    upper: Any,
    shape: Sequence[int] | None = None,
    dtype: Any = None,
) -> Any:
    """Standard normal samples conditioned on ``lower <= x <= upper``.

    By inversion: a uniform value between ``ndtr(lower)`` and ``ndtr(upper)`` mapped
    through the inverse normal CDF, computed in float64 on the tail nearer zero (an
    interval entirely above zero is mirrored), then cast and clipped to the bounds.
    ``lower`` and ``upper`` may be arrays (or +-inf); ``shape`` defaults to their
    broadcast shape.

    Examples:
        >>> from funcgrad import random
        >>> x = random.truncated_normal(random.key(0), -1.0, 2.0, (1000,))
        >>> bool(((x >= -1.0) & (x <= 2.0)).all())
        True
    """
    key = _check_key(key, "truncated_normal")
    dtype = _float_dtype(dtype, "truncated_normal")
    lo = fnp.asarray(lower, dtype=np.float64)
    hi = fnp.asarray(upper, dtype=np.float64)
    if shape is None:
        shape = np.broadcast_shapes(lo.shape, hi.shape)
    shape = _shape(shape, "truncated_normal")
    lo = _check_broadcast(lo, shape, "truncated_normal", "lower")
    hi = _check_broadcast(hi, shape, "truncated_normal", "upper")
    mirror = lo > 0
    a = fnp.where(mirror, -hi, lo)
    b = fnp.where(mirror, -lo, hi)
    cdf_a, cdf_b = _ndtr(a), _ndtr(b)
    u = _uniform01(key, shape, np.dtype(np.float64), open_=True)
    x = _ndtri(cdf_a + u * (cdf_b - cdf_a))
    x = fnp.where(mirror, -x, x).astype(dtype)
    return fnp.clip(x, lo.astype(dtype), hi.astype(dtype))


# ------------------------------------------------------------------------------------
# Other continuous distributions
# ------------------------------------------------------------------------------------


def exponential(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Exponential samples with rate 1: ``-log(1 - u)`` for ``u`` in ``[0, 1)``.

    Examples:
        >>> from funcgrad import random
        >>> bool((random.exponential(random.key(0), (100,)) >= 0).all())
        True
    """
    key = _check_key(key, "exponential")
    shape = _shape(shape, "exponential")
    dtype = _float_dtype(dtype, "exponential")
    return -fnp.log1p(-_uniform01(key, shape, dtype))


def gumbel(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Standard Gumbel samples: ``-log(-log(u))`` for ``u`` in ``(0, 1)`` (always finite).

    Examples:
        >>> from funcgrad import random
        >>> random.gumbel(random.key(0), (2, 3)).shape
        (2, 3)
    """
    key = _check_key(key, "gumbel")
    shape = _shape(shape, "gumbel")
    dtype = _float_dtype(dtype, "gumbel")
    return _gumbel(key, shape, dtype)


def _gumbel(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    return -fnp.log(-fnp.log(_uniform01(key, shape, dtype, open_=True)))


def laplace(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Standard Laplace samples (density ``exp(-|x|) / 2``), always finite.

    ``sign(u) * -log(1 - |u|)`` for ``u`` uniform in ``(-1, 1)`` (never 0).

    Examples:
        >>> from funcgrad import random
        >>> random.laplace(random.key(0), (4,)).dtype
        dtype('float64')
    """
    key = _check_key(key, "laplace")
    shape = _shape(shape, "laplace")
    dtype = _float_dtype(dtype, "laplace")
    u = 2 * _uniform01(key, shape, dtype, open_=True) - 1
    return fnp.sign(u) * -fnp.log1p(-fnp.abs(u))


def _shape_parameter(x: Any, shape: Any, dtype: Any, fname: str,
                     what: str = "a") -> tuple[Any, tuple, np.dtype]:  # fmt: skip
    """A distribution parameter as a float array broadcast to the sample shape."""
    try:
        x = fnp.asarray(x)
    except TypeError:
        x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(
            f"funcgrad.random.{fname}: parameters must be real numbers, got {_describe(x)}"
        )
    if dtype is None and x.dtype.kind == "f":
        dtype = x.dtype
    dtype = _float_dtype(dtype, fname)
    shape = _shape(x.shape if shape is None else shape, fname)
    x = _check_broadcast(x.astype(dtype), shape, fname, what)
    return fnp.broadcast_to(x, shape), shape, dtype


def _log_gamma_sample(key: Any, a: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    """``log`` of Gamma(a, 1) samples, by Marsaglia and Tsang's rejection method.

    G. Marsaglia and W. W. Tsang, "A simple method for generating gamma variables",
    ACM TOMS 26(3), 2000: for ``a >= 1`` with ``d = a - 1/3``, ``c = 1/sqrt(9 d)``, a
    normal ``z`` and uniform ``u``, ``d (1 + c z)^3`` is accepted when
    ``log u < z^2/2 + d - d v + d log v`` (``v = (1 + c z)^3 > 0``). Every element loops
    until accepted (more than 95% are at the first round). Shapes ``a < 1`` sample
    ``a + 1`` and multiply by ``u^(1/a)`` (added in log space, so tiny shapes do not
    underflow to 0). ``a <= 0`` or NaN gives NaN.
    """
    from funcgrad import lax

    # differentiated by gamma's implicit reparameterisation rule, not through the loop
    a = lax.stop_gradient(a)
    valid = a > 0
    boosted = fnp.where(a < 1, a + 1, a)
    d = fnp.where(valid, boosted, 1) - np.array(1 / 3, dtype=dtype)[()]
    c = 1 / fnp.sqrt(9 * d)
    key_loop, key_boost = split(key)

    def body(state):
        k, v_kept, done = state
        k, k_normal, k_uniform = split(k, 3)
        z = normal(k_normal, shape, dtype)
        log_u = fnp.log(_uniform01(k_uniform, shape, dtype, open_=True))
        v = (1 + c * z) ** 3
        positive = v > 0
        log_v = fnp.log(fnp.where(positive, v, 1))
        accept = positive & (log_u < 0.5 * z * z + d - d * v + d * log_v)
        take = accept & ~done
        return k, fnp.where(take, v, v_kept), done | accept

    start = (key_loop, fnp.ones(shape, dtype), ~valid)
    _, v, _ = lax.while_loop(lambda state: ~fnp.all(state[2]), body, start)
    log_x = fnp.log(d) + fnp.log(v)
    log_boost = fnp.log(_uniform01(key_boost, shape, dtype, open_=True)) / fnp.where(valid, a, 1)
    log_x = fnp.where(a < 1, log_x + log_boost, log_x)
    return fnp.where(valid, log_x, np.array(np.nan, dtype=dtype)[()])


def _log_gamma_value(key: Any, a: Any) -> Any:
    return _log_gamma_sample(key, a, a.shape, a.dtype)


def _log_gamma_jvp(primals, tangents):
    """Implicit reparameterisation (Figurnov et al., "Implicit Reparameterization
    Gradients", NeurIPS 2018): at a fixed quantile ``P(a, x) = u``,
    ``dx/da = -(dP/da) / density(x)`` (``lax.random_gamma_grad``), so
    ``d log x / da = random_gamma_grad(a, x) / x``. Where ``x`` underflows to 0 the limit
    ``-(log x - digamma(a + 1)) / a`` of the same expression is used."""
    from funcgrad._src.lax import special as ls

    key, a = primals
    _, a_dot = tangents
    log_x = _log_gamma(key, a)
    x = fnp.exp(log_x)
    safe_x = fnp.where(x > 0, x, 1.0)
    d_log_x = fnp.where(
        x > 0,
        ls.random_gamma_grad_p.bind1(a, safe_x) / safe_x,
        -(log_x - ls.digamma_p.bind1(a + 1)) / a,
    )
    return log_x, d_log_x * a_dot


_log_gamma = with_jvp(_log_gamma_value, _log_gamma_jvp)


def gamma(key: Any, a: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Gamma(a, 1) samples (shape ``a``, scale 1; multiply by a scale yourself).

    ``a`` is a positive number or array broadcasting to ``shape`` (default: ``a``'s
    shape). Sampled by Marsaglia and Tsang's exact rejection method (a loop until every
    element is accepted), so the result is distributed exactly as Gamma(a, 1) for every
    ``a``; ``a <= 0`` gives NaN. Differentiable with respect to ``a`` by implicit
    reparameterisation, as in JAX: ``dx/da = -(dP(a, x)/da) / density(x)`` for the
    regularized incomplete gamma function ``P`` (``funcgrad.lax.random_gamma_grad``).

    Examples:
        >>> import funcgrad
        >>> from funcgrad import random
        >>> x = random.gamma(random.key(0), 3.0, (20000,))
        >>> abs(float(x.mean()) - 3.0) < 0.1, bool((x > 0).all())
        (True, True)
        >>> g = funcgrad.grad(lambda a: random.gamma(random.key(0), a, (20000,)).mean())(3.0)
        >>> abs(float(g) - 1.0) < 0.05  # d E[x] / da = 1
        True
    """
    key = _check_key(key, "gamma")
    a, shape, dtype = _shape_parameter(a, shape, dtype, "gamma")
    return fnp.exp(_log_gamma(key, a))


def loggamma(key: Any, a: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """``log`` of Gamma(a, 1) samples, computed in log space (finite even where the sample
    underflows, e.g. ``a = 1e-3``); differentiable in ``a`` like :func:`gamma`.

    Examples:
        >>> from funcgrad import random
        >>> bool(random.loggamma(random.key(0), 1e-3, (100,)).min() < -300)
        True
    """
    key = _check_key(key, "loggamma")
    a, shape, dtype = _shape_parameter(a, shape, dtype, "loggamma")
    return _log_gamma(key, a)


def beta(key: Any, a: Any, b: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Beta(a, b) samples on ``[0, 1]``: ``X / (X + Y)`` for ``X ~ Gamma(a)``, ``Y ~ Gamma(b)``.

    Computed from the gammas' logarithms, so small ``a`` and ``b`` (e.g. mixup's 0.2)
    give values at or near 0 and 1 rather than NaN. ``shape`` defaults to the
    broadcast shape of ``a`` and ``b``. Differentiable with respect to ``a`` and ``b``
    through the gammas' implicit reparameterisation (see :func:`gamma`).

    Examples:
        >>> from funcgrad import random
        >>> x = random.beta(random.key(0), 2.0, 5.0, (20000,))
        >>> abs(float(x.mean()) - 2 / 7) < 0.01
        True
    """
    key = _check_key(key, "beta")
    if shape is None:
        shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    a, shape, dtype = _shape_parameter(a, shape, dtype, "beta")
    b, _, _ = _shape_parameter(b, shape, dtype, "beta")
    key_a, key_b = split(key)
    log_x = _log_gamma(key_a, a)
    log_y = _log_gamma(key_b, b)
    top = fnp.maximum(log_x, log_y)
    return fnp.exp(log_x - (top + fnp.log(fnp.exp(log_x - top) + fnp.exp(log_y - top))))


def dirichlet(key: Any, alpha: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Dirichlet(alpha) samples: independent Gamma(alpha_i) draws normalised to sum to 1,
    in log space (so tiny concentrations give exact zeros and ones, never NaN).

    ``alpha`` has shape ``(..., K)``; the result has shape ``shape + (K,)`` (``shape``
    defaults to ``alpha.shape[:-1]``). Differentiable in ``alpha`` (see :func:`gamma`).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> x = random.dirichlet(random.key(0), fnp.asarray([1.0, 2.0, 3.0]), (4,))
        >>> x.shape, bool(fnp.allclose(x.sum(-1), 1.0))
        ((4, 3), True)
    """
    key = _check_key(key, "dirichlet")
    alpha = fnp.asarray(alpha)
    if alpha.ndim < 1:
        raise ValueError(
            "funcgrad.random.dirichlet: alpha must have at least one axis (the K "
            f"categories), got shape {alpha.shape}"
        )
    if shape is None:
        shape = alpha.shape[:-1]
    shape = _shape(shape, "dirichlet")
    full, _, dtype = _shape_parameter(alpha, (*shape, alpha.shape[-1]), dtype, "dirichlet")
    log_g = _log_gamma(key, full)
    top = fnp.max(log_g, axis=-1, keepdims=True)
    top = fnp.where(fnp.isfinite(top), top, 0.0)
    log_total = top + fnp.log(fnp.sum(fnp.exp(log_g - top), axis=-1, keepdims=True))
    return fnp.exp(log_g - log_total)


def orthogonal(key: Any, n: int, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Haar-distributed ``n x n`` orthogonal matrices, of shape ``(*shape, n, n)``.

    The Q factor of a QR decomposition of a standard normal matrix, with its columns'
    signs fixed by the signs of R's diagonal, which makes the distribution uniform
    (Mezzadri, "How to generate random matrices from the classical compact groups", 2007).

    Examples:
        >>> import numpy as np
        >>> from funcgrad import random
        >>> q = np.asarray(random.orthogonal(random.key(0), 3))
        >>> bool(np.allclose(q.T @ q, np.eye(3)))
        True
    """
    key = _check_key(key, "orthogonal")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"funcgrad.random.orthogonal: n must be an int, got {n!r:.40}") from None
    shape = _shape(shape, "orthogonal")
    dtype = _float_dtype(dtype, "orthogonal")
    z = normal(key, (*shape, n, n), dtype)
    q, r = fnp.linalg.qr(z)
    signs = fnp.sign(fnp.diagonal(r, axis1=-2, axis2=-1))
    # a zero on R's diagonal has probability 0; keep such a column as it is
    signs = fnp.where(signs == 0, 1, signs)
    return q * fnp.expand_dims(signs, -2)


# ------------------------------------------------------------------------------------
# Discrete distributions
# ------------------------------------------------------------------------------------


def _widen(x: Any, wide: np.dtype, name: str) -> Any:
    """Integer bound ``x`` in ``wide`` (int64 or uint64), saturating instead of wrapping."""
    x = fnp.asarray(x)
    if x.dtype.kind not in "iub":
        raise TypeError(f"funcgrad.random.randint: {name} must be an integer, got {_describe(x)}")
    if wide == _UINT64 and x.dtype.kind == "i":
        x = fnp.maximum(x, 0)
    elif wide != _UINT64 and x.dtype == _UINT64:
        x = fnp.minimum(x, np.uint64(np.iinfo(np.int64).max))
    return x.astype(wide)


def randint(key: Any, shape: Sequence[int], minval: Any, maxval: Any, dtype: Any = np.int64) -> Any:
    """Uniform integers in ``[minval, maxval)``.

    ``minval`` and ``maxval`` may be arrays broadcasting to ``shape``; they are clipped
    to ``dtype``'s range (``maxval`` above the largest value allows the largest value).
    Where ``maxval <= minval`` the result is ``minval``. Each value is a 64-bit random
    integer reduced modulo the range, a bias below ``range / 2**64``.

    Examples:
        >>> from funcgrad import random
        >>> x = random.randint(random.key(0), (1000,), 3, 7)
        >>> sorted(set(x.tolist()))
        [3, 4, 5, 6]
    """
    key = _check_key(key, "randint")
    shape = _shape(shape, "randint")
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"funcgrad.random.randint: dtype must be an integer dtype, got {dtype}")
    info = np.iinfo(dtype)
    wide = _UINT64 if dtype == _UINT64 else np.dtype(np.int64)
    top = info.max if dtype.itemsize == 8 else info.max + 1  # exclusive bound's ceiling
    lo = _check_broadcast(_widen(minval, wide, "minval"), shape, "randint", "minval")
    hi = _check_broadcast(_widen(maxval, wide, "maxval"), shape, "randint", "maxval")
    lo, hi = fnp.clip(lo, info.min, info.max), fnp.clip(hi, info.min, top)
    lo_u, hi_u = lo.astype(_UINT64), hi.astype(_UINT64)
    # unsigned subtraction wraps, so the span is right even when hi - lo overflows int64
    span = fnp.where(hi > lo, hi_u - lo_u, np.uint64(1))
    offset = _bits(key, shape, _UINT64) % span
    return (lo_u + offset).astype(dtype)


def bernoulli(key: Any, p: Any = 0.5, shape: Sequence[int] | None = None) -> Any:
    """Booleans that are True with probability ``p`` (an array broadcasting to ``shape``;
    ``shape`` defaults to ``p``'s shape).

    Examples:
        >>> from funcgrad import random
        >>> random.bernoulli(random.key(0), 0.3, (4,)).dtype
        dtype('bool')
    """
    key = _check_key(key, "bernoulli")
    p = fnp.asarray(p)
    if p.dtype.kind != "f":
        p = p.astype(np.float64)
    shape = _shape(p.shape if shape is None else shape, "bernoulli")
    p = _check_broadcast(p, shape, "bernoulli", "p")
    return _uniform01(key, shape, np.dtype(np.float64)) < p


def categorical(key: Any, logits: Any, axis: int = -1, shape: Sequence[int] | None = None) -> Any:
    """Category indices drawn with probabilities ``softmax(logits, axis)``.

    By the Gumbel-max trick: ``argmax(logits + gumbel)`` along ``axis``. The result
    has the shape of ``logits`` without ``axis`` (the batch shape), or ``shape``, which
    must contain the batch shape as a broadcastable suffix.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> logits = fnp.asarray([-50.0, 50.0, -50.0])
        >>> random.categorical(random.key(0), logits, shape=(4,)).tolist()
        [1, 1, 1, 1]
    """
    key = _check_key(key, "categorical")
    logits = fnp.asarray(logits)
    if logits.dtype.kind != "f":
        logits = logits.astype(np.float64)
    if logits.ndim == 0:
        raise ValueError("funcgrad.random.categorical: logits must have at least one axis")
    axis = canonicalize_axis(axis, logits.ndim, "funcgrad.random.categorical")
    logits = fnp.moveaxis(logits, axis, -1)
    batch = logits.shape[:-1]
    shape = _shape(batch if shape is None else shape, "categorical")
    full = (*shape, logits.shape[-1])
    logits = _check_broadcast(logits, full, "categorical", "logits (categories last)")
    return fnp.argmax(logits + _gumbel(key, full, logits.dtype), axis=-1)


def permutation(key: Any, x: Any, axis: int = 0, independent: bool = False) -> Any:
    """A random permutation of ``range(x)`` (int ``x``) or of ``x`` along ``axis``.

    Sorts by 64-bit random keys (ties have probability about ``n**2 / 2**65``). With
    ``independent=True`` every slice along ``axis`` is shuffled on its own.

    Examples:
        >>> from funcgrad import random
        >>> sorted(random.permutation(random.key(0), 5).tolist())
        [0, 1, 2, 3, 4]
    """
    key = _check_key(key, "permutation")
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        if x < 0:
            raise ValueError(f"funcgrad.random.permutation: x must be >= 0, got {x}")
        return _permuted_indices(key, int(x))
    x = fnp.asarray(x)
    if x.ndim == 0:
        raise ValueError(
            "funcgrad.random.permutation: x must be an int or an array with at least one "
            "axis, got a 0-d array"
        )
    axis = canonicalize_axis(axis, x.ndim, "funcgrad.random.permutation")
    if independent:
        order = fnp.argsort(_bits(key, x.shape, _UINT64), axis=axis, stable=True)
        return fnp.take_along_axis(x, order, axis=axis)
    return fnp.take(x, _permuted_indices(key, x.shape[axis]), axis=axis)


def _permuted_indices(key: Any, n: int) -> Any:
    return fnp.argsort(_bits(key, (n,), _UINT64), stable=True)


def choice(
    key: Any,
    a: Any,
    shape: Sequence[int] = (),
    replace: bool = True,
    p: Any = None,
    axis: int = 0,
) -> Any:
    """Random elements of ``a`` along ``axis`` (or of ``range(a)`` for an int ``a``).

    With ``replace=False`` no element is drawn twice (``prod(shape)`` must not exceed
    the number of elements). ``p`` gives the probability of each element (it is
    normalised); without replacement, draws with ``p`` follow the Gumbel-top-k scheme,
    i.e. successive sampling proportional to ``p`` among the elements not yet drawn.
    The result's shape is ``a.shape[:axis] + shape + a.shape[axis+1:]``.

    Examples:
        >>> from funcgrad import random
        >>> x = random.choice(random.key(0), 10, (10,), replace=False)
        >>> sorted(x.tolist())
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    key = _check_key(key, "choice")
    shape = _shape(shape, "choice")
    if isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)):
        n, arr = int(a), None
        if n < 0:
            raise ValueError(f"funcgrad.random.choice: a must be >= 0, got {n}")
    else:
        arr = fnp.asarray(a)
        if arr.ndim == 0:
            raise ValueError(
                "funcgrad.random.choice: a must be an int or an array with at least one axis, "
                "got a 0-d array"
            )
        axis = canonicalize_axis(axis, arr.ndim, "funcgrad.random.choice")
        n = arr.shape[axis]
    k = math.prod(shape)
    if n == 0 and k > 0:
        raise ValueError(f"funcgrad.random.choice: cannot draw {k} elements from an empty a")
    if not replace and k > n:
        raise ValueError(
            f"funcgrad.random.choice: cannot draw {k} elements (shape {shape}) from {n} "
            f"without replacement; pass replace=True or a smaller shape"
        )
    if p is not None:
        p = fnp.asarray(p)
        if p.shape != (n,):
            raise ValueError(
                f"funcgrad.random.choice: p must have shape ({n},) (one probability per "
                f"element of a along axis), got {tuple(p.shape)}"
            )
        if p.dtype.kind != "f":
            p = p.astype(np.float64)

    if replace and p is None:
        index = randint(key, shape, 0, n)
    elif replace:
        cdf = fnp.cumsum(p)
        u = _uniform01(key, shape, p.dtype) * cdf[-1]
        # the first element whose cumulative probability exceeds u
        index = fnp.minimum(fnp.searchsorted(cdf, u, side="right"), n - 1)
    elif p is None:
        index = _permuted_indices(key, n)[:k].reshape(shape)
    else:
        # log(0) = -inf without the divide-by-zero warning: such elements come last
        log_p = fnp.where(p > 0, fnp.log(fnp.maximum(p, np.finfo(p.dtype).tiny)), -np.inf)
        scores = log_p + _gumbel(key, (n,), p.dtype)
        index = fnp.argsort(-scores, stable=True)[:k].reshape(shape)
    if arr is None:
        return index
    return fnp.take(arr, index, axis=axis)


# ------------------------------------------------------------------------------------
# More continuous distributions (compositions of the samplers above)
# ------------------------------------------------------------------------------------


def _param(x: Any, shape: Any, dtype: Any, fname: str, name: str) -> tuple[Any, tuple, np.dtype]:
    """A float parameter ``name`` broadcast to ``shape`` (default: its own shape)."""
    return _shape_parameter(x, shape, dtype, fname, name)


def _shape_of(*params: Any) -> tuple[int, ...]:
    return np.broadcast_shapes(*(np.shape(p) for p in params))


def chisquare(key: Any, df: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Chi-squared samples with ``df`` degrees of freedom: ``2 Gamma(df / 2)``.

    Examples:
        >>> from funcgrad import random
        >>> x = random.chisquare(random.key(0), 4.0, (20000,))
        >>> abs(float(x.mean()) - 4.0) < 0.1
        True
    """
    key = _check_key(key, "chisquare")
    df, shape, dtype = _param(df, shape, dtype, "chisquare", "df")
    return 2 * fnp.exp(_log_gamma(key, df / 2))


def t(key: Any, df: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Student's t samples: ``z / sqrt(chi2(df) / df)`` for a standard normal ``z``.

    Examples:
        >>> from funcgrad import random
        >>> random.t(random.key(0), 3.0, (2, 2)).shape
        (2, 2)
    """
    key = _check_key(key, "t")
    df, shape, dtype = _param(df, shape if shape else None, dtype, "t", "df")
    key_n, key_g = split(key)
    z = normal(key_n, shape, dtype)
    log_g = _log_gamma(key_g, df / 2)  # chi2 / df = 2 g / df
    return z * fnp.exp(-0.5 * (log_g + np.log(2.0) - fnp.log(df)))


def f(key: Any, dfnum: Any, dfden: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """F samples: ``(chi2(dfnum) / dfnum) / (chi2(dfden) / dfden)`` (in log space).

    Examples:
        >>> from funcgrad import random
        >>> bool((random.f(random.key(0), 3.0, 5.0, (100,)) > 0).all())
        True
    """
    key = _check_key(key, "f")
    shape = shape if shape else _shape_of(dfnum, dfden)
    dfnum, shape, dtype = _param(dfnum, shape, dtype, "f", "dfnum")
    dfden, _, _ = _param(dfden, shape, dtype, "f", "dfden")
    key_n, key_d = split(key)
    log_num = _log_gamma(key_n, dfnum / 2) - fnp.log(dfnum)
    log_den = _log_gamma(key_d, dfden / 2) - fnp.log(dfden)
    return fnp.exp(log_num - log_den)


def cauchy(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Standard Cauchy samples: ``tan(pi (u - 1/2))`` for ``u`` in ``(0, 1)``.

    Examples:
        >>> from funcgrad import random
        >>> random.cauchy(random.key(0), (3,)).shape
        (3,)
    """
    key = _check_key(key, "cauchy")
    shape = _shape(shape, "cauchy")
    dtype = _float_dtype(dtype, "cauchy")
    u = _uniform01(key, shape, dtype, open_=True)
    return fnp.tan(np.pi * (u - 0.5))


def logistic(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Standard logistic samples: ``log(u / (1 - u))`` for ``u`` in ``(0, 1)``.

    Examples:
        >>> from funcgrad import random
        >>> random.logistic(random.key(0), (3,)).shape
        (3,)
    """
    key = _check_key(key, "logistic")
    shape = _shape(shape, "logistic")
    dtype = _float_dtype(dtype, "logistic")
    u = _uniform01(key, shape, dtype, open_=True)
    return fnp.log(u) - fnp.log1p(-u)


def lognormal(
    key: Any, sigma: Any = 1.0, shape: Sequence[int] | None = None, dtype: Any = None
) -> Any:
    """Log-normal samples ``exp(sigma z)`` for a standard normal ``z``.

    Examples:
        >>> from funcgrad import random
        >>> bool((random.lognormal(random.key(0), 0.5, (10,)) > 0).all())
        True
    """
    key = _check_key(key, "lognormal")
    sigma, shape, dtype = _param(sigma, shape, dtype, "lognormal", "sigma")
    return fnp.exp(sigma * normal(key, shape, dtype))


def pareto(key: Any, b: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Pareto samples with shape ``b`` (support ``x >= 1``): ``exp(E / b)`` for a standard
    exponential ``E``.

    Examples:
        >>> from funcgrad import random
        >>> bool((random.pareto(random.key(0), 3.0, (10,)) >= 1).all())
        True
    """
    key = _check_key(key, "pareto")
    b, shape, dtype = _param(b, shape, dtype, "pareto", "b")
    return fnp.exp(exponential(key, shape, dtype) / b)


def weibull_min(key: Any, scale: Any, concentration: Any, shape: Sequence[int] = (),
                dtype: Any = None) -> Any:  # fmt: skip
    """Weibull samples: ``scale * E^(1 / concentration)`` for a standard exponential ``E``.

    Examples:
        >>> from funcgrad import random
        >>> bool((random.weibull_min(random.key(0), 2.0, 1.5, (10,)) > 0).all())
        True
    """
    key = _check_key(key, "weibull_min")
    shape = shape if shape else _shape_of(scale, concentration)
    scale, shape, dtype = _param(scale, shape, dtype, "weibull_min", "scale")
    concentration, _, _ = _param(concentration, shape, dtype, "weibull_min", "concentration")
    return scale * exponential(key, shape, dtype) ** (1 / concentration)


def rayleigh(key: Any, scale: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Rayleigh samples: ``scale * sqrt(2 E)`` for a standard exponential ``E``.

    Examples:
        >>> from funcgrad import random
        >>> bool((random.rayleigh(random.key(0), 2.0, (10,)) >= 0).all())
        True
    """
    key = _check_key(key, "rayleigh")
    scale, shape, dtype = _param(scale, shape, dtype, "rayleigh", "scale")
    return scale * fnp.sqrt(2 * exponential(key, shape, dtype))


def wald(key: Any, mean: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Wald (inverse Gaussian, shape parameter 1) samples by Michael, Schucany and Haas's
    transformation with one rejection step (The American Statistician 30(2), 1976).

    Examples:
        >>> from funcgrad import random
        >>> x = random.wald(random.key(0), 2.0, (20000,))
        >>> abs(float(x.mean()) - 2.0) < 0.15
        True
    """
    key = _check_key(key, "wald")
    mean, shape, dtype = _param(mean, shape, dtype, "wald", "mean")
    key_n, key_u = split(key)
    y = normal(key_n, shape, dtype) ** 2
    my = mean * y
    x = mean + mean * my / 2 - mean / 2 * fnp.sqrt(4 * my + my * my)
    u = _uniform01(key_u, shape, dtype)
    return fnp.where(u <= mean / (mean + x), x, mean * mean / x)


def triangular(key: Any, left: Any, mode: Any, right: Any, shape: Sequence[int] | None = None,
               dtype: Any = None) -> Any:  # fmt: skip
    """Triangular samples on ``[left, right]`` peaking at ``mode``, by inverting the CDF.

    Examples:
        >>> from funcgrad import random
        >>> x = random.triangular(random.key(0), 0.0, 1.0, 3.0, (100,))
        >>> bool(((x >= 0) & (x <= 3)).all())
        True
    """
    key = _check_key(key, "triangular")
    shape = _shape_of(left, mode, right) if shape is None else shape
    left, shape, dtype = _param(left, shape, dtype, "triangular", "left")
    mode, _, _ = _param(mode, shape, dtype, "triangular", "mode")
    right, _, _ = _param(right, shape, dtype, "triangular", "right")
    u = _uniform01(key, shape, dtype)
    width = right - left
    split_at = (mode - left) / width
    below = left + fnp.sqrt(u * width * (mode - left))
    above = right - fnp.sqrt((1 - u) * width * (right - mode))
    return fnp.where(u < split_at, below, above)


def generalized_normal(key: Any, p: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Generalized normal samples (density proportional to ``exp(-|x|^p)``): a random sign
    times ``Gamma(1/p)^(1/p)``.

    Examples:
        >>> from funcgrad import random
        >>> random.generalized_normal(random.key(0), 1.5, (3,)).shape
        (3,)
    """
    key = _check_key(key, "generalized_normal")
    p, shape, dtype = _param(p, shape if shape else None, dtype, "generalized_normal", "p")
    key_g, key_s = split(key)
    magnitude = fnp.exp(_log_gamma(key_g, 1 / p) / p)
    return rademacher(key_s, shape, dtype) * magnitude


def ball(key: Any, d: int, p: float = 2, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Points uniformly distributed in the unit ``p``-norm ball of dimension ``d``, of shape
    ``(*shape, d)`` (Barthe, Guedon, Mendelson and Naor, Ann. Probab. 33(2), 2005:
    ``g / (||g||_p^p + E)^(1/p)`` for generalized normals ``g`` and an exponential ``E``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> x = random.ball(random.key(0), 3, shape=(100,))
        >>> x.shape, bool((fnp.linalg.norm(x, axis=-1) <= 1).all())
        ((100, 3), True)
    """
    key = _check_key(key, "ball")
    try:
        d = operator.index(d)
    except TypeError:
        raise TypeError(f"funcgrad.random.ball: d must be an int, got {d!r:.40}") from None
    shape = _shape(shape, "ball")
    dtype = _float_dtype(dtype, "ball")
    key_g, key_e = split(key)
    g = generalized_normal(key_g, float(p), (*shape, d), dtype)
    e = exponential(key_e, shape, dtype)
    return g / ((fnp.sum(fnp.abs(g) ** p, axis=-1) + e) ** (1 / p))[..., None]


def rademacher(key: Any, shape: Sequence[int] = (), dtype: Any = np.int64) -> Any:
    """Random signs, -1 or +1 with probability 1/2 each.

    Examples:
        >>> from funcgrad import random
        >>> sorted(set(random.rademacher(random.key(0), (100,)).tolist()))
        [-1, 1]
    """
    key = _check_key(key, "rademacher")
    shape = _shape(shape, "rademacher")
    bits = _bits(key, shape, _UINT32) & np.uint32(1)
    return (2 * bits.astype(np.int64) - 1).astype(dtype)


def maxwell(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Maxwell samples: the length of a 3-d standard normal vector.

    Examples:
        >>> from funcgrad import random
        >>> bool((random.maxwell(random.key(0), (10,)) >= 0).all())
        True
    """
    key = _check_key(key, "maxwell")
    shape = _shape(shape, "maxwell")
    dtype = _float_dtype(dtype, "maxwell")
    z = normal(key, (*shape, 3), dtype)
    return fnp.sqrt(fnp.sum(z * z, axis=-1))


def double_sided_maxwell(key: Any, loc: Any, scale: Any, shape: Sequence[int] = (),
                         dtype: Any = None) -> Any:  # fmt: skip
    """``loc + scale * s * m`` for a Maxwell sample ``m`` and a random sign ``s``.

    Examples:
        >>> from funcgrad import random
        >>> random.double_sided_maxwell(random.key(0), 0.0, 1.0, (4,)).shape
        (4,)
    """
    key = _check_key(key, "double_sided_maxwell")
    shape = _shape(shape if shape else _shape_of(loc, scale), "double_sided_maxwell")
    dtype = _float_dtype(dtype, "double_sided_maxwell")
    key_m, key_s = split(key)
    return loc + scale * rademacher(key_s, shape, dtype) * maxwell(key_m, shape, dtype)


def multivariate_normal(key: Any, mean: Any, cov: Any, shape: Sequence[int] | None = None,
                        dtype: Any = None, method: str = "cholesky") -> Any:  # fmt: skip
    """Multivariate normal samples ``mean + A z`` with ``A A^T = cov``, of shape
    ``shape + (n,)`` (``shape`` defaults to the broadcast batch shape of ``mean`` and
    ``cov``). ``method`` factors ``cov`` by ``'cholesky'`` (positive definite),
    ``'eigh'`` or ``'svd'`` (also positive semi-definite).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> x = random.multivariate_normal(random.key(0), fnp.zeros(2), fnp.eye(2), (5,))
        >>> x.shape
        (5, 2)
    """
    key = _check_key(key, "multivariate_normal")
    if method not in ("cholesky", "eigh", "svd"):
        raise ValueError(
            f"funcgrad.random.multivariate_normal: method must be 'cholesky', 'eigh' or 'svd', "
            f"got {method!r}"
        )
    mean, cov = fnp.asarray(mean), fnp.asarray(cov)
    if mean.ndim < 1 or cov.ndim < 2 or cov.shape[-2:] != (mean.shape[-1],) * 2:
        raise ValueError(
            f"funcgrad.random.multivariate_normal: mean must have shape (..., n) and cov "
            f"(..., n, n), got mean {mean.shape} and cov {cov.shape}"
        )
    dtype = _float_dtype(dtype if dtype is not None else fnp.result_type(mean, cov, 1.0),
                         "multivariate_normal")  # fmt: skip
    mean, cov = mean.astype(dtype), cov.astype(dtype)
    n = mean.shape[-1]
    if shape is None:
        shape = np.broadcast_shapes(mean.shape[:-1], cov.shape[:-2])
    shape = _shape(shape, "multivariate_normal")
    if method == "cholesky":
        factor = fnp.linalg.cholesky(cov)
    elif method == "eigh":
        w, v = fnp.linalg.eigh(cov)
        factor = v * fnp.sqrt(fnp.maximum(w, 0))[..., None, :]
    else:
        u, s, _ = fnp.linalg.svd(cov)
        factor = u * fnp.sqrt(s)[..., None, :]
    z = normal(key, (*shape, n), dtype)
    return mean + fnp.einsum("...ij,...j->...i", factor, z)


# ------------------------------------------------------------------------------------
# More discrete distributions
# ------------------------------------------------------------------------------------


def geometric(key: Any, p: Any, shape: Sequence[int] | None = None, dtype: Any = np.int64) -> Any:
    """The number of Bernoulli(p) trials up to and including the first success (``>= 1``):
    ``floor(log(u) / log(1 - p)) + 1``.

    Examples:
        >>> from funcgrad import random
        >>> x = random.geometric(random.key(0), 0.25, (20000,))
        >>> abs(float(x.mean()) - 4.0) < 0.15, int(x.min())
        (True, 1)
    """
    key = _check_key(key, "geometric")
    p, shape, work = _param(p, shape, None, "geometric", "p")
    u = _uniform01(key, shape, work, open_=True)
    return (fnp.floor(fnp.log(u) / fnp.log1p(-p)) + 1).astype(dtype)


def _poisson_small(key: Any, lam: Any, shape: tuple[int, ...]) -> Any:
    """Knuth's method: count uniforms until their product drops below ``exp(-lam)``."""
    from funcgrad import lax

    def body(state):
        k, count, log_prod, done = state
        k, sub = split(k)
        log_prod = log_prod + fnp.log(_uniform01(sub, shape, lam.dtype, open_=True))
        now_done = done | (log_prod < -lam)
        return k, count + fnp.where(now_done, 0, 1), log_prod, now_done

    start = (key, fnp.zeros(shape, np.int64), fnp.zeros(shape, lam.dtype), lam <= 0)
    _, count, _, _ = lax.while_loop(lambda s: ~fnp.all(s[3]), body, start)
    return count


def _poisson_large(key: Any, lam: Any, shape: tuple[int, ...]) -> Any:
    """Hormann's transformed rejection with squeeze (PTRS; "The transformed rejection
    method for generating Poisson random variables", Insurance: Mathematics and Economics
    12, 1993), exact, for ``lam >= 10``."""
    from funcgrad import lax
    from funcgrad._src.lax import special as ls

    lam = fnp.maximum(lam, 10.0)
    log_lam = fnp.log(lam)
    b = 0.931 + 2.53 * fnp.sqrt(lam)
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)

    def body(state):
        k_key, kept, done = state
        k_key, k_u, k_v = split(k_key, 3)
        u = _uniform01(k_u, shape, lam.dtype) - 0.5
        v = _uniform01(k_v, shape, lam.dtype, open_=True)
        us = 0.5 - fnp.abs(u)
        k = fnp.floor((2 * a / us + b) * u + lam + 0.43)
        quick = (us >= 0.07) & (v <= vr)
        rejected = (k < 0) | ((us < 0.013) & (v > us))
        safe_k = fnp.maximum(k, 0.0)
        log_ratio = fnp.log(v) + fnp.log(inv_alpha) - fnp.log(a / (us * us) + b)
        exact = log_ratio <= -lam + safe_k * log_lam - ls.lgamma_p.bind1(safe_k + 1)
        accept = quick | (~rejected & exact)
        take = accept & ~done
        return k_key, fnp.where(take, k, kept), done | accept

    start = (key, fnp.zeros(shape, lam.dtype), fnp.zeros(shape, bool))
    _, k, _ = lax.while_loop(lambda s: ~fnp.all(s[2]), body, start)
    return k.astype(np.int64)


def poisson(key: Any, lam: Any, shape: Sequence[int] | None = None, dtype: Any = np.int64) -> Any:
    """Poisson(lam) samples: Knuth's multiplication method below ``lam = 10`` and Hormann's
    exact transformed rejection (PTRS) above. ``lam == 0`` gives 0; negative or NaN
    ``lam`` gives -1 (an impossible count, where a float sampler would give NaN).

    Examples:
        >>> from funcgrad import random
        >>> x = random.poisson(random.key(0), 4.0, (20000,))
        >>> abs(float(x.mean()) - 4.0) < 0.1
        True
    """
    key = _check_key(key, "poisson")
    lam, shape, _ = _param(lam, shape, np.float64, "poisson", "lam")
    key_small, key_large = split(key)
    large = lam >= 10
    small = _poisson_small(key_small, fnp.where(large, 0.0, lam), shape)
    big = _poisson_large(key_large, fnp.where(large, lam, 10.0), shape)
    out = fnp.where(large, big, small)
    return fnp.where((lam >= 0), out, -1).astype(dtype)


def _binomial_inversion(key: Any, n: Any, p: Any, shape: tuple[int, ...]) -> Any:
    """Sequential search of the CDF (for ``n p < 10``, where it takes few steps)."""
    from funcgrad import lax

    q = 1 - p
    u = _uniform01(key, shape, p.dtype)
    ratio = p / q

    def body(state):
        k, pmf, cdf, done = state
        pmf = pmf * (n - k) / (k + 1) * ratio
        k = fnp.where(done, k, k + 1)
        cdf = cdf + fnp.where(done, 0.0, pmf)
        return k, pmf, cdf, done | (u <= cdf) | (k >= n)

    pmf0 = fnp.exp(n * fnp.log1p(-p))
    start = (fnp.zeros(shape, p.dtype), pmf0, pmf0, (u <= pmf0) | (n <= 0))
    k, _, _, _ = lax.while_loop(lambda s: ~fnp.all(s[3]), body, start)
    return k


def _binomial_btrs(key: Any, n: Any, p: Any, shape: tuple[int, ...]) -> Any:
    """Hormann's BTRS transformed rejection ("The generation of binomial random variates",
    J. Statist. Comput. Simul. 46, 1993), exact, for ``n p >= 10`` and ``p <= 1/2``."""
    from funcgrad import lax
    from funcgrad._src.lax import special as ls

    lg = ls.lgamma_p.bind1
    q = 1 - p
    spq = fnp.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    vr = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = fnp.log(p / q)
    m = fnp.floor((n + 1) * p)
    h = lg(m + 1) + lg(n - m + 1)

    def body(state):
        k_key, kept, done = state
        k_key, k_u, k_v = split(k_key, 3)
        u = _uniform01(k_u, shape, p.dtype) - 0.5
        v = _uniform01(k_v, shape, p.dtype, open_=True)
        us = 0.5 - fnp.abs(u)
        k = fnp.floor((2 * a / us + b) * u + c)
        inside = (k >= 0) & (k <= n)
        quick = inside & (us >= 0.07) & (v <= vr)
        safe_k = fnp.clip(k, 0.0, n)
        log_v = fnp.log(v * alpha / (a / (us * us) + b))
        exact = inside & (log_v <= h - lg(safe_k + 1) - lg(n - safe_k + 1) + (safe_k - m) * lpq)
        accept = quick | exact
        return k_key, fnp.where(accept & ~done, k, kept), done | accept

    start = (key, fnp.zeros(shape, p.dtype), fnp.zeros(shape, bool))
    _, k, _ = lax.while_loop(lambda s: ~fnp.all(s[2]), body, start)
    return k


def binomial(
    key: Any, n: Any, p: Any, shape: Sequence[int] | None = None, dtype: Any = None
) -> Any:
    """Binomial(n, p) samples (as floats, like JAX): by inversion when ``n min(p, 1-p) < 10``,
    else by Hormann's exact BTRS rejection; ``p > 1/2`` samples ``n - Binomial(n, 1 - p)``.
    Invalid ``n`` (negative or not an integer) or ``p`` (outside [0, 1]) give NaN.

    Examples:
        >>> from funcgrad import random
        >>> x = random.binomial(random.key(0), 20.0, 0.3, (20000,))
        >>> abs(float(x.mean()) - 6.0) < 0.1
        True
    """
    key = _check_key(key, "binomial")
    shape = _shape_of(n, p) if shape is None else shape
    n, shape, dtype = _param(n, shape, dtype, "binomial", "n")
    p, _, _ = _param(p, shape, dtype, "binomial", "p")
    flip = p > 0.5
    p_small = fnp.where(flip, 1 - p, p)
    valid = (n >= 0) & (n == fnp.floor(n)) & (p >= 0) & (p <= 1)
    n_safe = fnp.where(valid, n, 0.0)
    p_safe = fnp.where(valid, p_small, 0.0)
    use_btrs = n_safe * p_safe >= 10
    key_i, key_b = split(key)
    by_inversion = _binomial_inversion(key_i, fnp.where(use_btrs, 0.0, n_safe),
                                       fnp.where(use_btrs, 0.0, p_safe), shape)  # fmt: skip
    by_btrs = _binomial_btrs(key_b, fnp.where(use_btrs, n_safe, 100.0),
                             fnp.where(use_btrs, p_safe, 0.5), shape)  # fmt: skip
    k = fnp.where(use_btrs, by_btrs, by_inversion)
    k = fnp.where(flip, n_safe - k, k)
    return fnp.where(valid, k, np.nan).astype(dtype)


def multinomial(
    key: Any, n: Any, p: Any, shape: Sequence[int] | None = None, dtype: Any = None
) -> Any:
    """Multinomial counts of ``n`` draws over the categories of ``p`` (last axis), as
    floats: category ``i`` gets ``Binomial(n - drawn so far, p_i / (remaining mass))``.

    ``p`` is normalised; the result has shape ``shape + (K,)``, ``shape`` defaulting to
    the broadcast of ``n``'s shape and ``p.shape[:-1]``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> x = random.multinomial(random.key(0), 10.0, fnp.asarray([0.2, 0.3, 0.5]), (4,))
        >>> x.shape, x.sum(-1).tolist()
        ((4, 3), [10.0, 10.0, 10.0, 10.0])
    """
    key = _check_key(key, "multinomial")
    p = fnp.asarray(p)
    if p.ndim < 1:
        raise ValueError(
            f"funcgrad.random.multinomial: p must have a category axis, got shape {p.shape}"
        )
    k_count = p.shape[-1]
    if shape is None:
        shape = np.broadcast_shapes(np.shape(n), p.shape[:-1])
    shape = _shape(shape, "multinomial")
    dtype = _float_dtype(dtype if dtype is not None else (p.dtype if p.dtype.kind == "f" else None),
                         "multinomial")  # fmt: skip
    p = fnp.broadcast_to(p.astype(dtype), (*shape, k_count))
    p = p / fnp.sum(p, axis=-1, keepdims=True)
    remaining = fnp.broadcast_to(fnp.asarray(n, dtype=dtype), shape)
    mass = fnp.ones(shape, dtype)
    counts = []
    keys = split(key, k_count)
    for i in range(k_count - 1):
        share = fnp.clip(p[..., i] / fnp.maximum(mass, np.finfo(dtype).tiny), 0.0, 1.0)
        draw = binomial(keys[i], remaining, share, shape, dtype)
        counts.append(draw)
        remaining = remaining - draw
        mass = mass - p[..., i]
    counts.append(remaining)
    return fnp.stack(counts, axis=-1)


# ------------------------------------------------------------------------------------
# Key utilities
# ------------------------------------------------------------------------------------


def key_data(keys: Any) -> Any:
    """The raw ``uint32`` data of a key or batch of keys (funcgrad's keys are that data
    already, so this returns them as an array; kept for JAX compatibility).

    Examples:
        >>> from funcgrad import random
        >>> random.key_data(random.key(0)).dtype
        dtype('uint32')
    """
    keys = fnp.asarray(keys)
    if keys.dtype != _UINT32 or keys.ndim < 1 or keys.shape[-1] != 2:
        raise TypeError(
            f"funcgrad.random.key_data: expected keys (uint32, shape (..., 2)), got {_describe(keys)}"
        )
    return keys


def wrap_key_data(key_bits: Any, *, impl: Any = None) -> Any:
    """Keys from raw ``uint32`` data of shape ``(..., 2)`` (the inverse of
    :func:`key_data`). Only the threefry-2x32 implementation exists: ``impl`` must be
    None or ``'threefry2x32'``.

    Examples:
        >>> import numpy as np
        >>> from funcgrad import random
        >>> k = random.wrap_key_data(np.array([0, 42], dtype=np.uint32))
        >>> random.normal(k).shape
        ()
    """
    if impl not in (None, "threefry2x32"):
        raise ValueError(
            f"funcgrad.random.wrap_key_data: impl must be None or 'threefry2x32', got {impl!r}"
        )
    bits = fnp.asarray(key_bits)
    if bits.dtype != _UINT32 or bits.ndim < 1 or bits.shape[-1] != 2:
        raise TypeError(
            f"funcgrad.random.wrap_key_data: key_bits must be uint32 of shape (..., 2), got "
            f"{_describe(bits)}"
        )
    return bits


def clone(key: Any) -> Any:
    """The key itself: funcgrad's keys are immutable values, so a clone is the same key
    (kept for JAX compatibility, where it marks a deliberate reuse).

    Examples:
        >>> from funcgrad import random
        >>> k = random.key(1)
        >>> random.clone(k).tolist() == k.tolist()
        True
    """
    return fnp.asarray(key)
