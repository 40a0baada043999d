"""funcgrad.lax against a checked-in list of jax.lax's public names (JAX is not needed).

A name of jax.lax that funcgrad.lax lacks must be on one of the documented exclusion
lists below, with the reason; the test fails on any other missing name.
"""

from __future__ import annotations

from funcgrad import lax

JAX_LAX_NAMES = """
abs acos acosh add approx_max_k approx_min_k argmax argmin asin asinh associative_scan atan atan2
atanh batch_matmul bessel_i0e bessel_i1e betainc bitcast_convert_type bitwise_and bitwise_not
bitwise_or bitwise_xor broadcast broadcast_in_dim broadcast_shapes broadcast_to_rank
broadcasted_iota cbrt ceil clamp clz collapse complex concatenate cond conj conv
conv_dimension_numbers conv_general_dilated conv_general_dilated_patches conv_transpose
conv_with_general_padding convert_element_type cos cosh cumlogsumexp cummax cummin cumprod cumsum
custom_linear_solve custom_root digamma div dot dot_general dynamic_index_in_dim dynamic_slice
dynamic_slice_in_dim dynamic_update_index_in_dim dynamic_update_slice dynamic_update_slice_in_dim
eq erf erf_inv erfc exp exp2 expand_dims expm1 fft floor fori_loop full full_like gather ge gt
igamma igammac imag index_in_dim index_take integer_pow iota is_finite le lgamma linalg log log1p
logistic lt map max min mul ne neg nextafter optimization_barrier pad padtype_to_pads polygamma
population_count pow random_gamma_grad real reduce reduce_and reduce_max reduce_min reduce_or
reduce_precision reduce_prod reduce_sum reduce_window reduce_xor rem reshape rev round rsqrt scan
scatter scatter_add scatter_apply scatter_max scatter_min scatter_mul scatter_sub select select_n
shift_left shift_right_arithmetic shift_right_logical sign sin sinh slice slice_in_dim sort
sort_key_val split sqrt square squeeze stop_gradient sub switch tan tanh top_k transpose
while_loop zeros_like_array zeta
ConvDimensionNumbers FftType GatherDimensionNumbers GatherScatterMode Precision RoundingMethod
ScatterDimensionNumbers
""".split()

# Collectives and sharding: funcgrad.distributed / the collectives work, not this namespace's.
EXCLUDED_COLLECTIVES = {"psum", "pmean", "pmax", "pmin", "all_gather", "all_to_all", "ppermute",
                        "psum_scatter", "axis_index", "axis_size", "pshuffle", "pswapaxes",
                        "pbroadcast", "ragged_all_to_all", "with_sharding_constraint", "pvary",
                        "all_gather_invariant"}  # fmt: skip
# Not offered: XLA tokens/effects and compiler hooks with no meaning on NumPy/CuPy
# (after_all, create_token, composite, platform_dependent), approximate top-k (TPU
# kernels; lax.top_k is exact), local convolutions and ragged dots (not yet done),
# XLA's stateful RNG ops (funcgrad.random is counter based) and DotAlgorithm presets.
EXCLUDED_NOT_OFFERED = {"approx_max_k", "approx_min_k", "after_all", "create_token", "composite",
                        "platform_dependent", "conv_general_dilated_local", "ragged_dot",
                        "rng_bit_generator", "rng_uniform", "RandomAlgorithm", "DotAlgorithm",
                        "DotAlgorithmPreset"}  # fmt: skip


def test_funcgrad_lax_has_every_jax_lax_name():
    missing = sorted(
        n for n in JAX_LAX_NAMES
        if not hasattr(lax, n) and n not in EXCLUDED_COLLECTIVES | EXCLUDED_NOT_OFFERED
    )  # fmt: skip
    assert not missing, f"funcgrad.lax lacks jax.lax names: {missing}"


def test_lax_linalg_names():
    for name in ("cholesky", "eigh", "qr", "svd", "triangular_solve", "lu", "lu_pivots_to_permutation"):
        assert hasattr(lax.linalg, name), name


def test_exported_names_are_listed_in_all():
    assert set(lax.__all__) >= {n for n in JAX_LAX_NAMES if hasattr(lax, n)}


# jax.numpy's public names (JAX 0.5-0.7), written out so JAX is not needed; the float8 and
# sub-byte dtypes are left out of the list (issue 18 excludes them).
JAX_NUMPY_NAMES = """
abs absolute acos acosh add all allclose amax amin angle any append apply_along_axis apply_over_axes
arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax argmin argpartition argsort
argwhere around array array_equal array_equiv array_repr array_split array_str asarray asin asinh
astype atan atan2 atanh atleast_1d atleast_2d atleast_3d average bartlett bfloat16 bincount
bitwise_and bitwise_count bitwise_invert bitwise_left_shift bitwise_not bitwise_or
bitwise_right_shift bitwise_xor blackman block bool bool_ broadcast_arrays broadcast_shapes
broadcast_to c_ can_cast cbrt cdouble ceil character choose clip column_stack complex128 complex64
complex_ complexfloating compress concat concatenate conj conjugate convolve copy copysign corrcoef
correlate cos cosh count_nonzero cov cross csingle cumprod cumsum cumulative_prod cumulative_sum
deg2rad degrees delete diag diag_indices diag_indices_from diagflat diagonal diff digitize divide
divmod dot double dsplit dstack dtype e ediff1d einsum einsum_path empty empty_like equal
euler_gamma exp exp2 expand_dims expm1 extract eye fabs fft fill_diagonal finfo fix flatnonzero
flexible flip fliplr flipud float16 float32 float64 float_ float_power floating floor floor_divide
fmax fmin fmod frexp from_dlpack frombuffer fromfile fromfunction fromiter frompyfunc fromstring
full full_like gcd generic geomspace get_printoptions gradient greater greater_equal hamming hanning
heaviside histogram histogram2d histogram_bin_edges histogramdd hsplit hstack hypot i0 identity
iinfo imag index_exp indices inexact inf inner insert int16 int32 int64 int8 int_ integer interp
intersect1d invert isclose iscomplex iscomplexobj isdtype isfinite isin isinf isnan isneginf
isposinf isreal isrealobj isscalar issubdtype iterable ix_ kaiser kron lcm ldexp left_shift less
less_equal lexsort linalg linspace load log log10 log1p log2 logaddexp logaddexp2 logical_and
logical_not logical_or logical_xor logspace mask_indices matmul matrix_transpose matvec max maximum
mean median meshgrid mgrid min minimum mod modf moveaxis multiply nan nan_to_num nanargmax nanargmin
nancumprod nancumsum nanmax nanmean nanmedian nanmin nanpercentile nanprod nanquantile nanstd nansum
nanvar ndarray ndim negative newaxis nextafter nonzero not_equal number object_ ogrid ones ones_like
outer packbits pad partition percentile permute_dims pi piecewise place poly polyadd polyder polydiv
polyfit polyint polymul polysub polyval positive pow power printoptions prod promote_types ptp put
put_along_axis quantile r_ rad2deg radians ravel ravel_multi_index real reciprocal remainder repeat
reshape resize result_type right_shift rint roll rollaxis roots rot90 round s_ save savez
searchsorted select set_printoptions setdiff1d setxor1d shape sign signbit signedinteger sin sinc
single sinh size sort sort_complex spacing split sqrt square squeeze stack std subtract sum swapaxes
take take_along_axis tan tanh tensordot tile trace transpose trapezoid tri tril tril_indices
tril_indices_from trim_zeros triu triu_indices triu_indices_from true_divide trunc ufunc uint uint16
uint32 uint64 uint8 union1d unique unique_all unique_counts unique_inverse unique_values unpackbits
unravel_index unsignedinteger unstack unwrap vander var vdot vecdot vecmat vectorize vsplit vstack
where zeros zeros_like ComplexWarning
""".split()  # noqa: SIM905  (a word list is easier to check against the docs)

JAX_NUMPY_SUBBYTE_FLOAT8 = {"float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2",
                            "float8_e5m2fnuz", "float8_e3m4", "float8_e4m3", "float8_e8m0fnu",
                            "float4_e2m1fn", "int4", "uint4", "int2", "uint2"}  # fmt: skip
# bfloat16 needs the ml_dtypes package (NumPy has no bfloat16 dtype); funcgrad does not depend
# on it yet, and a dtype also needs every primitive's kernel on both backends to accept it.
EXCLUDED_NUMPY_NOT_OFFERED = {"bfloat16"}


def test_funcgrad_numpy_has_every_jax_numpy_name():
    import funcgrad.numpy as fnp

    missing = sorted(n for n in JAX_NUMPY_NAMES
                     if not hasattr(fnp, n) and n not in EXCLUDED_NUMPY_NOT_OFFERED)  # fmt: skip
    assert not missing, f"funcgrad.numpy lacks jax.numpy names: {missing}"
    assert not JAX_NUMPY_SUBBYTE_FLOAT8 & set(JAX_NUMPY_NAMES)


def test_numpy_scalar_hierarchy_works_with_issubdtype():
    import numpy as np

    import funcgrad.numpy as fnp

    assert fnp.issubdtype(fnp.float32, fnp.floating) and fnp.issubdtype(fnp.float32, fnp.inexact)
    assert fnp.issubdtype(fnp.int8, fnp.signedinteger) and not fnp.issubdtype(fnp.uint8, fnp.signedinteger)
    assert fnp.issubdtype(fnp.complex64, fnp.complexfloating)
    assert fnp.issubdtype(fnp.arange(3).dtype, fnp.integer) and fnp.issubdtype(fnp.bool_, fnp.generic)
    assert not fnp.issubdtype(fnp.float64, fnp.integer)
    assert isinstance(np.float32(1), fnp.number)
