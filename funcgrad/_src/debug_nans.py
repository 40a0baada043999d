"""``config.debug_nans`` / ``config.debug_infs``: stop at the first primitive whose result
has a NaN (or an infinity) and say where in the user's code it came from.

While either option is on, eager evaluation checks every primitive's outputs; a
``jit`` call checks its outputs and, on a NaN, runs the function again eagerly (jit
disabled) to find the primitive, as JAX does; the backward pass of ``grad`` names the
forward line whose derivative produced the value (equations staged while the option
is on record the user's line). The check is installed by swapping the eager
evaluator and ``Jitted.__call__`` when the option changes, so with both options off
nothing is checked and nothing costs anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad._src import source_info
from funcgrad._src.core import EVAL_TRACE, Array, EvalTrace
from funcgrad._src.core import _context as trace_context

_original_eval = EvalTrace.process_primitive
_installed = [False]


def _what(nans: bool, infs: bool) -> list[tuple[str, Any]]:
    checks = []
    if nans:
        checks.append(("NaN", np.isnan))
    if infs:
        checks.append(("infinity", np.isinf))
    return checks


def _found(values: list, checks: list) -> str | None:
    """The first kind of bad value (``"NaN"``/``"infinity"``) among ``values``, or None."""
    for v in values:
        if type(v) is not Array or v.dtype.kind not in "fc":
            continue
        host = v._backend.to_numpy(v._buffer)
        for name, test in checks:
            if test(host).any():
                return name
    return None


def _describe(args: tuple) -> str:
    parts = []
    for a in args:
        shape = getattr(a, "shape", None)
        dtype = getattr(a, "dtype", None)
        parts.append(f"{np.dtype(dtype).name}{list(shape)}" if shape is not None else repr(a))
    return ", ".join(parts)


def _error(prim_name: str, kind: str, args: tuple) -> FloatingPointError:
    backward = source_info.current_backward()
    operands = _describe(args)
    if backward is not None:
        source, forward_name = backward
        return FloatingPointError(
            f"debug_nans: '{prim_name}' produced a {kind} in the backward pass (operands: "
            f"{operands}), transposing '{forward_name}' of the derivative of the forward "
            f"operation at {source}"
        )
    where = source_info.user_frame(3)
    return FloatingPointError(
        f"debug_nans: '{prim_name}' produced a {kind} (operands: {operands}) at "
        f"{where if where is not None else '<unknown location>'}"
    )


def _checked_eval(self: EvalTrace, prim: Any, args: tuple, params: dict) -> list:
    outs = _original_eval(self, prim, args, params)
    from funcgrad._src.config import config

    checks = _what(config.debug_nans, config.debug_infs)
    kind = _found(outs, checks)
    if kind is not None and _found(list(args), checks) is None:  # produced here, not passed on
        raise _error(prim.name, kind, args)
    return outs


def _checked_jit_call(self: Any, *args: Any, **kwargs: Any) -> Any:
    out = _original_jit_call(self, *args, **kwargs)
    if trace_context.trace is not EVAL_TRACE:
        return out
    from funcgrad._src.config import config
    from funcgrad._src.jit import disable_jit
    from funcgrad._src.tree_util import tree_leaves

    checks = _what(config.debug_nans, config.debug_infs)
    kind = _found(tree_leaves(out), checks)
    if kind is None or _found(tree_leaves((args, kwargs)), checks) is not None:
        return out
    with disable_jit():  # find the primitive: run it again eagerly, every primitive checked
        self._fun(*args, **kwargs)
    raise FloatingPointError(
        f"debug_nans: jit of {self._name} returned a {kind}, but running it again eagerly "
        f"gave none (the compiled program rounds differently); run it under "
        f"funcgrad.disable_jit() to investigate"
    )


def _jitted_class():
    from funcgrad._src.jit import Jitted

    return Jitted


_original_jit_call = None


def sync() -> None:
    """Install or remove the checks to match ``config.debug_nans``/``debug_infs``."""
    global _original_jit_call
    from funcgrad._src.config import config

    on = bool(config.debug_nans or config.debug_infs)
    if on == _installed[0]:
        return
    jitted = _jitted_class()
    if _original_jit_call is None:
        _original_jit_call = jitted.__call__
    if on:
        EvalTrace.process_primitive = _checked_eval
        jitted.__call__ = _checked_jit_call
    else:
        EvalTrace.process_primitive = _original_eval
        jitted.__call__ = _original_jit_call
    source_info.enable("debug_nans", on)
    _installed[0] = on
