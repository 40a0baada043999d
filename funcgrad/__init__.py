"""funcgrad: composable function transformations over NumPy and CuPy arrays.

Write pure functions over immutable arrays with ``funcgrad.numpy`` (``fnp``);
run them eagerly on NumPy (CPU) or CuPy (GPU).

Examples:
    >>> import funcgrad.numpy as fnp
    >>> x = fnp.arange(4.0)
    >>> (x * 2 + 1).tolist()
    [1.0, 3.0, 5.0, 7.0]
"""

from funcgrad._src import array_methods as _array_methods  # noqa: F401  (attaches operators)
from funcgrad._src.api import block_until_ready, device_get, device_put, devices
from funcgrad._src.autodiff import (
    float0,
    grad,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    linear_transpose,
    linearize,
    value_and_grad,
    vjp,
)
from funcgrad._src.checkpoint import checkpoint, remat
from funcgrad._src import checkpoint_policies
from funcgrad._src.custom_derivatives import custom_jvp, custom_vjp, stop_gradient
from funcgrad._src.interpreters.shape import ShapeDtypeStruct, eval_shape
from funcgrad._src.jit import disable_jit, jit, make_jaxpr
from funcgrad._src.config import config
from funcgrad._src.vmap import vmap
from funcgrad._src.core import (
    Array,
    ConcretizationError,
    Tracer,
    TracerArrayConversionError,
    UnexpectedTracerError,
    default_backend,
)
from funcgrad._src.api_extras import (
    clear_caches,
    custom_gradient,
    default_device,
    ensure_compile_time_eval,
    named_call,
    named_scope,
    print_environment_info,
    typeof,
)
from funcgrad._src.callback import pure_callback
from funcgrad import lax, nn, numpy, random, test_util, tree_util  # noqa: E402
from funcgrad import tree  # noqa: E402
from funcgrad import dlpack  # noqa: E402
from funcgrad import debug  # noqa: E402
from funcgrad import io  # noqa: E402
from funcgrad import distributed  # noqa: E402
from funcgrad import scipy  # noqa: E402
from funcgrad import ad_checkpoint  # noqa: E402
from funcgrad import checkify  # noqa: E402

__version__ = "0.1.0"

from funcgrad._src import debug_nans as _debug_nans  # noqa: E402

_debug_nans.sync()  # $FUNCGRAD_DEBUG_NANS / $FUNCGRAD_DEBUG_INFS

__all__ = [
    "Array",
    "ConcretizationError",
    "block_until_ready",
    "ad_checkpoint",
    "checkpoint",
    "checkpoint_policies",
    "checkify",
    "clear_caches",
    "custom_gradient",
    "default_device",
    "dlpack",
    "ensure_compile_time_eval",
    "named_call",
    "named_scope",
    "print_environment_info",
    "pure_callback",
    "tree",
    "typeof",
    "remat",
    "Tracer",
    "TracerArrayConversionError",
    "UnexpectedTracerError",
    "custom_jvp",
    "custom_vjp",
    "config",
    "debug",
    "default_backend",
    "disable_jit",
    "distributed",
    "device_get",
    "device_put",
    "devices",
    "eval_shape",
    "float0",
    "grad",
    "hessian",
    "io",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jit",
    "jvp",
    "linear_transpose",
    "linearize",
    "make_jaxpr",
    "stop_gradient",
    "test_util",
    "value_and_grad",
    "vjp",
    "vmap",
    "ShapeDtypeStruct",
    "lax",
    "nn",
    "numpy",
    "random",
    "scipy",
    "tree_util",
]
