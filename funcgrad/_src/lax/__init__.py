"""The primitive set: ALL_PRIMITIVES, every first-order array primitive of funcgrad by name.

ALL_PRIMITIVES is what the per-primitive test tables iterate (tests/test_primitives.py and
the jvp, vjp, vmap, jit and backend-conformance tables built on its op records): each
primitive in it maps arrays to arrays with no named axis, no traced sub-program and no side
effect, so it can be run on drawn operands and compared with a NumPy or SciPy oracle. It
holds the primitives of this package's modules and four defined elsewhere:
``threefry2x32`` (funcgrad/_src/threefry.py), ``eig`` (lax/eig.py, imported lazily by
lax_linalg), ``dawsn`` and ``wofz`` (funcgrad/_src/scipy/special.py).

Kept out, on purpose, because a table of drawn operands cannot exercise them:

* higher-order primitives, whose parameters are traced programs: ``jit``, ``cond``,
  ``scan``, ``while``, ``remat``, ``custom_jvp_call``, ``custom_vjp_call`` and
  ``linear_solve`` (tests/test_jit.py, test_cond.py, test_loops.py, test_checkpoint.py,
  test_autodiff.py, test_lax_extended.py);
* collectives (``psum``, ``pmean``, ``pmax``, ``pmin``, ``all_gather``, ``psum_scatter``,
  ``all_to_all``, ``ppermute``, ``axis_index``, ``axis_size``), which need a named axis:
  listed in ``parallel.COLLECTIVE_PRIMITIVES`` (tests/test_collectives.py,
  test_distributed.py);
* callbacks and debugging, which run user code or print: ``pure_callback``,
  ``debug_callback``, ``debug_print`` (tests/test_api_extras.py, test_debug_nans.py,
  test_jit.py);
* markers the transformations insert or read, with no array semantics of their own:
  ``stop_gradient`` and ``custom_lin`` (tests/test_autodiff.py, whose rule check covers
  them), ``checkpoint_name`` (test_checkpoint_policies.py), ``check`` (test_checkify.py);
* the code generator's own equations, which only appear after jit's fusion passes:
  ``fused_elementwise`` (tests/test_fusion.py), ``fused_loop`` and ``gemm_update``
  (test_fusion_cpu.py).

The table is built on first use (a module ``__getattr__``) because the scipy.special
primitives' module imports funcgrad.numpy, which is itself built on this package.
"""

from __future__ import annotations

from funcgrad._src.core import Primitive
from funcgrad._src.lax import (
    bits,
    convolution,
    elementwise,
    fft,
    indexing,
    linalg,
    reductions,
    slicing,
    sorting,
    special,
    structural,
    windowed,
)

ALL_PRIMITIVES: dict[str, Primitive]  # built by __getattr__ on first access


def _all_primitives() -> dict[str, Primitive]:
    from funcgrad._src import threefry
    from funcgrad._src.lax import eig
    from funcgrad._src.scipy import special as scipy_special

    table = {
        p.name: p
        for module in (
            elementwise,
            bits,
            fft,
            structural,
            reductions,
            indexing,
            slicing,
            sorting,
            special,
            linalg,
            convolution,
            windowed,
        )
        for p in vars(module).values()
        if isinstance(p, Primitive)
    }
    for p in (threefry.threefry2x32_p, eig.eig_p, scipy_special.dawsn_p, scipy_special.wofz_p):
        table[p.name] = p
    return table


def __getattr__(name: str):
    if name == "ALL_PRIMITIVES":
        table = _all_primitives()
        globals()["ALL_PRIMITIVES"] = table
        return table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
