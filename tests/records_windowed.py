"""Op records (see test_primitives.py) for the window-reduction (pooling) primitives.

The references are explicit loops over output positions and window taps on a padded,
dilated copy built element by element: independent of the strided-view impl.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import strategies as st
from op_record import OpRecord
from oracle import arrays, dtypes

_PARAM_NAMES = (
    "window_dimensions",
    "window_strides",
    "padding",
    "base_dilation",
    "window_dilation",
)


def draw_window_params(data, shape, max_window=3):
    """Full-rank window parameters for an operand of ``shape``."""
    n = len(shape)
    ints = lambda lo, hi, label: tuple(
        data.draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n), label=label)
    )
    window = ints(1, max_window, "window")
    strides = ints(1, 3, "strides")
    pads = tuple(zip(ints(0, 2, "pad lo"), ints(0, 2, "pad hi")))
    base = ints(1, 2, "base_dilation")
    wdil = ints(1, 2, "window_dilation")
    return dict(zip(_PARAM_NAMES, (window, strides, pads, base, wdil)))


def _identity(op, dtype):
    if op == "sum":
        return dtype.type(0)
    if dtype.kind == "b":
        return np.bool_(op == "min")
    if dtype.kind == "f":
        return dtype.type(-np.inf if op == "max" else np.inf)
    info = np.iinfo(dtype)
    return dtype.type(info.min if op == "max" else info.max)


def padded_loop(x, fill, padding, base_dilation):
    """``x`` dilated and padded, written element by element; and the mask of real elements."""
    shape = tuple(lo + hi + ((n - 1) * b + 1 if n else 0)
                  for n, (lo, hi), b in zip(x.shape, padding, base_dilation))  # fmt: skip
    out = np.full(shape, fill, dtype=x.dtype)
    real = np.zeros(shape, dtype=bool)
    for i in np.ndindex(*x.shape):
        j = tuple(lo + k * b for k, (lo, _), b in zip(i, padding, base_dilation))
        out[j] = x[i]
        real[j] = True
    return out, real


def _out_shape(padded_shape, window, strides, wdil):
    return tuple(max(0, (p - ((k - 1) * d + 1)) // s + 1)
                 for p, k, s, d in zip(padded_shape, window, strides, wdil))  # fmt: skip


def _taps(o, window, strides, wdil):
    """The padded positions of output ``o``'s window, in row-major window order."""
    for w in itertools.product(*(range(k) for k in window)):
        yield tuple(oi * s + wi * d for oi, wi, s, d in zip(o, w, strides, wdil))


def reduce_window_loop(
    x, op, window_dimensions, window_strides, padding, base_dilation, window_dilation
):
    padded, _ = padded_loop(x, _identity(op, x.dtype), padding, base_dilation)
    out_shape = _out_shape(padded.shape, window_dimensions, window_strides, window_dilation)
    out = np.zeros(out_shape, dtype=x.dtype)
    for o in np.ndindex(*out_shape):
        values = np.array([padded[p] for p in _taps(o, window_dimensions, window_strides, window_dilation)],
                          dtype=x.dtype)  # fmt: skip
        out[o] = {"sum": lambda v: v.sum(dtype=x.dtype), "max": np.max, "min": np.min}[op](values)
    return out


def selected_positions_loop(operand, select, window_dimensions, window_strides, padding, base_dilation,
                            window_dilation):  # fmt: skip
    """Per output position, the padded position of the first real extremum (or None)."""
    padded, real = padded_loop(operand, _identity(select, operand.dtype), padding, base_dilation)
    out_shape = _out_shape(padded.shape, window_dimensions, window_strides, window_dilation)
    better = (lambda a, b: a > b) if select == "max" else (lambda a, b: a < b)
    chosen = {}
    for o in np.ndindex(*out_shape):
        best = None
        for p in _taps(o, window_dimensions, window_strides, window_dilation):
            if real[p] and (best is None or better(padded[p], padded[best])):
                best = p
        chosen[o] = best
    return chosen, out_shape, padded.shape


def select_and_gather_add_loop(tangent, operand, *, select, **params):
    chosen, out_shape, _ = selected_positions_loop(operand, select, **params)
    padded_t, _ = padded_loop(
        tangent, tangent.dtype.type(0), params["padding"], params["base_dilation"]
    )
    out = np.zeros(out_shape, dtype=tangent.dtype)
    for o, p in chosen.items():
        if p is not None:
            out[o] = padded_t[p]
    return out


def select_and_scatter_add_loop(source, operand, *, select, **params):
    chosen, _, padded_shape = selected_positions_loop(operand, select, **params)
    acc = np.zeros(padded_shape, dtype=source.dtype)
    for o, p in chosen.items():
        if p is not None:
            acc[p] += source[o]
    pads, base = params["padding"], params["base_dilation"]
    out = np.zeros(operand.shape, dtype=source.dtype)
    for i in np.ndindex(*operand.shape):
        out[i] = acc[tuple(lo + k * b for k, (lo, _), b in zip(i, pads, base))]
    return out


def _operand_shape(data):
    return tuple(data.draw(st.lists(st.integers(0, 5), min_size=1, max_size=3), label="shape"))


def _reduce_window_draw(op):
    def draw(data):
        kinds = "iuf" if op == "sum" else "biuf"
        x = data.draw(arrays(dtypes(kinds), _operand_shape(data)), label="x")
        return [x], draw_window_params(data, x.shape)

    return draw


def _select_draw(gather):
    def draw(data):
        shape = _operand_shape(data)
        operand = data.draw(arrays(dtypes("biuf"), shape), label="operand")
        params = draw_window_params(data, shape)
        params["select"] = data.draw(st.sampled_from(["max", "min"]), label="select")
        dtype = data.draw(dtypes("if"), label="values dtype")
        if gather:
            values_shape = shape
        else:
            padded = tuple(lo + hi + ((n - 1) * b + 1 if n else 0)
                           for n, (lo, hi), b in zip(shape, params["padding"], params["base_dilation"]))  # fmt: skip
            values_shape = _out_shape(padded, params["window_dimensions"], params["window_strides"],
                                      params["window_dilation"])  # fmt: skip
        values = data.draw(arrays(dtype, values_shape, min_value=-10, max_value=10), label="values")
        return [values, operand], params

    return draw


RECORDS: list[OpRecord] = [
    OpRecord("reduce_window_sum", _reduce_window_draw("sum"),
             lambda x, **p: [reduce_window_loop(x, "sum", **p)]),
    OpRecord("reduce_window_max", _reduce_window_draw("max"),
             lambda x, **p: [reduce_window_loop(x, "max", **p)]),
    OpRecord("reduce_window_min", _reduce_window_draw("min"),
             lambda x, **p: [reduce_window_loop(x, "min", **p)]),
    OpRecord("select_and_gather_add", _select_draw(True),
             lambda t, x, **p: [select_and_gather_add_loop(t, x, **p)]),
    OpRecord("select_and_scatter_add", _select_draw(False),
             lambda s, x, **p: [select_and_scatter_add_loop(s, x, **p)]),
]  # fmt: skip
