"""Op records (see test_primitives.py) for the convolution primitives.

Also the loop reference and the configuration strategy that tests/test_conv.py uses.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import strategies as st
from op_record import OpRecord

from funcgrad._src.lax.convolution import ConvDimensionNumbers, _patch_params, _patch_shape


def _dilated(n, d):
    return 0 if n == 0 else (n - 1) * d + 1


def conv_reference(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count):  # fmt: skip
    """The convolution written out: a loop over output positions and groups, each
    position a sum over its window of kernel taps, straight from the definition."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    x = np.transpose(lhs, lhs_spec)  # (N, C, spatial)
    w = np.transpose(rhs, rhs_spec)  # (O, I, spatial)
    n, c, *in_sp = x.shape
    o, cg, *k_sp = w.shape
    # input dilated and padded, element by element from the definition
    sizes = [_dilated(s, d) + lo + hi for s, d, (lo, hi) in zip(in_sp, lhs_dilation, padding)]
    sizes = [max(s, 0) for s in sizes]
    xp = np.zeros((n, c, *sizes), dtype=x.dtype)
    for pos in itertools.product(*(range(s) for s in in_sp)):
        target = [p * d + lo for p, d, (lo, _) in zip(pos, lhs_dilation, padding)]
        if all(0 <= t < s for t, s in zip(target, sizes)):
            xp[(slice(None), slice(None), *target)] = x[(slice(None), slice(None), *pos)]
    windows = [_dilated(k, d) for k, d in zip(k_sp, rhs_dilation)]
    out_sp = [max(0, (s - wd) // st + 1) for s, wd, st in zip(sizes, windows, window_strides)]
    fg, bg = feature_group_count, batch_group_count
    nb = n // bg
    out = np.zeros((nb, o, *out_sp), dtype=np.result_type(lhs, rhs))
    og = o // (fg * bg)
    for pos in itertools.product(*(range(s) for s in out_sp)):
        for tap in itertools.product(*(range(k) for k in k_sp)):
            idx = [p * st + t * d for p, t, st, d in zip(pos, tap, window_strides, rhs_dilation)]
            patch = xp[(slice(None), slice(None), *idx)]  # (N, C)
            kern = w[(slice(None), slice(None), *tap)]  # (O, I)
            for g in range(fg * bg):
                fi, bi = (g, 0) if fg > 1 else (0, g)
                p = patch[bi * nb : (bi + 1) * nb, fi * cg : (fi + 1) * cg]
                out[(slice(None), slice(g * og, (g + 1) * og), *pos)] += (
                    p @ kern[g * og : (g + 1) * og].T
                )
    return np.transpose(out, np.argsort(out_spec)).astype(np.result_type(lhs, rhs))


@st.composite
def conv_configs(draw, dtype=np.float64, max_nsp=3, allow_empty=False):
    """(lhs, rhs, params) for a random convolution: 1-3 spatial dims, any layout."""
    nsp = draw(st.integers(1, max_nsp), label="spatial dims")
    nd = nsp + 2
    small = nsp == 3
    fg, bg = 1, 1
    mode = draw(st.sampled_from(["plain", "feature", "batch"]))
    if mode == "feature":
        fg = draw(st.integers(2, 3))
    elif mode == "batch":
        bg = draw(st.integers(2, 3))
    nb = draw(st.integers(0 if allow_empty else 1, 2))
    cg = draw(st.integers(1, 2 if small else 3))
    og = draw(st.integers(1, 2 if small else 3))
    n, c, o = nb * bg, cg * fg, og * fg * bg
    k_sp = [draw(st.integers(1, 2 if small else 3)) for _ in range(nsp)]
    strides = tuple(draw(st.integers(1, 3)) for _ in range(nsp))
    lhs_dil = tuple(draw(st.integers(1, 2)) for _ in range(nsp))
    rhs_dil = tuple(draw(st.integers(1, 2)) for _ in range(nsp))
    padding = tuple((draw(st.integers(-1, 2)), draw(st.integers(-1, 2))) for _ in range(nsp))
    in_sp = []
    for k, s_lhs, s_rhs, (lo, hi) in zip(k_sp, lhs_dil, rhs_dil, padding):
        # at least one window fits, unless empty results are allowed
        need = max(1, -(-(_dilated(k, s_rhs) - lo - hi - 1) // s_lhs) + 1)
        lo_size = 0 if allow_empty else need
        in_sp.append(draw(st.integers(lo_size, need + (1 if small else 3))))
    perm = lambda: tuple(draw(st.permutations(range(nd))))
    dn = ConvDimensionNumbers(perm(), perm(), perm())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    lhs_canon = (n, c, *in_sp)
    rhs_canon = (o, cg, *k_sp)
    lhs_shape = [0] * nd
    rhs_shape = [0] * nd
    for j, a in enumerate(dn.lhs_spec):
        lhs_shape[a] = lhs_canon[j]
    for j, a in enumerate(dn.rhs_spec):
        rhs_shape[a] = rhs_canon[j]
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        lhs = rng.uniform(-1, 1, lhs_shape).astype(dtype)
        rhs = rng.uniform(-1, 1, rhs_shape).astype(dtype)
    else:
        lhs = rng.integers(-3, 4, lhs_shape).astype(dtype)
        rhs = rng.integers(-3, 4, rhs_shape).astype(dtype)
    params = {
        "window_strides": strides, "padding": padding, "lhs_dilation": lhs_dil,
        "rhs_dilation": rhs_dil, "dimension_numbers": dn, "feature_group_count": fg,
        "batch_group_count": bg,
    }  # fmt: skip
    return lhs, rhs, params


def _draw_conv(data):
    dtype = data.draw(st.sampled_from([np.float64, np.float32, np.int64]), label="dtype")
    lhs, rhs, params = data.draw(conv_configs(dtype=dtype, max_nsp=2), label="conv")
    return [lhs, rhs], params


def _patch_entries(lhs_shape, params):
    """For every entry (group, row, column) of the im2col matrix, the lhs index it
    reads, or None where it reads padding or a dilation hole; from the definition:
    rows are (example, output position...), columns (kernel tap..., feature)."""
    lhs_spec, ld, rd = params["lhs_spec"], params["lhs_dilation"], params["rhs_dilation"]
    shape = _patch_shape(lhs_shape, **params)
    sizes = [lhs_shape[a] for a in lhs_spec[2:]]
    entries = []
    for b, f in itertools.product(range(shape.batch_groups), range(shape.feature_groups)):
        rows = itertools.product(range(shape.nb), *(range(o) for o in shape.out_sizes))
        for row, (ex, *pos) in enumerate(rows):
            cols = itertools.product(*(range(k) for k in shape.kernel_sizes), range(shape.cg))
            for col, (*tap, ch) in enumerate(cols):
                index = [0] * len(lhs_shape)
                index[lhs_spec[0]] = b * shape.nb + ex
                index[lhs_spec[1]] = f * shape.cg + ch
                inside = True
                for k, (o, t) in enumerate(zip(pos, tap)):
                    u = o * params["window_strides"][k] + t * rd[k] - params["padding"][k][0]
                    i, rem = divmod(u, ld[k])
                    inside &= rem == 0 and 0 <= i < sizes[k]
                    index[lhs_spec[k + 2]] = i
                entries.append((b * shape.feature_groups + f, row, col,
                                tuple(index) if inside else None))  # fmt: skip
    return shape, entries


def patches_reference(x, **params):
    shape, entries = _patch_entries(x.shape, params)
    out = np.zeros((shape.groups, shape.rows, shape.columns), x.dtype)
    for g, row, col, index in entries:
        if index is not None:
            out[g, row, col] = x[index]
    return out.reshape(shape.matrix_shape)


def col2im_reference(p, *, lhs_shape, **params):
    shape, entries = _patch_entries(lhs_shape, params)
    p = p.reshape(shape.groups, shape.rows, shape.columns)
    out = np.zeros(lhs_shape, p.dtype)
    for g, row, col, index in entries:
        if index is not None:
            out[index] += p[g, row, col]
    return out


def draw_patch_config(data, dtype=np.float64):
    """(lhs, im2col parameters) of a random convolution (1-2 spatial dims)."""
    lhs, rhs, params = data.draw(conv_configs(dtype=dtype, max_nsp=2), label="conv")
    return lhs, _patch_params(rhs.shape, **params)


def _draw_patches(data):
    dtype = data.draw(st.sampled_from([np.float64, np.float32, np.int64]), label="dtype")
    lhs, params = draw_patch_config(data, dtype)
    return [lhs], params


def _draw_col2im(data):
    lhs, params = draw_patch_config(data)
    shape = _patch_shape(lhs.shape, **params)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    return [rng.uniform(-1, 1, shape.matrix_shape)], dict(params, lhs_shape=lhs.shape)


RECORDS: list[OpRecord] = [
    OpRecord("conv_general_dilated", _draw_conv, lambda x, w, **p: [conv_reference(x, w, **p)],
             rtol=1e-5),
    OpRecord("conv_patches", _draw_patches, lambda x, **p: [patches_reference(x, **p)]),
    OpRecord("conv_patches_transpose", _draw_col2im, lambda x, **p: [col2im_reference(x, **p)],
             rtol=1e-12),
]  # fmt: skip
