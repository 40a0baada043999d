"""stax.summary against hand-counted parameters and real apply outputs; stax.time_layers'
structure and per-layer inputs; the combinators' introspection (kind, children, build)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
import stax
from funcgrad import random
from stax.protocol import LayerError
from stax.tabulate import Summary

KEY = random.key(0)


def lenet():
    return stax.serial(
        stax.Conv(6, (5, 5)),
        stax.Relu,
        stax.MaxPool((2, 2), strides=(2, 2)),
        stax.Conv(16, (5, 5)),
        stax.BatchNorm(),
        stax.Relu,
        stax.MaxPool((2, 2), strides=(2, 2)),
        stax.Flatten,
        stax.Dense(120),
        stax.Relu,
        stax.Dense(84),
        stax.Relu,
        stax.Dense(10),
    )


# Hand counts for LeNet on (-1, 28, 28, 1):
#   Conv(6, 5x5) on 1 channel:  5*5*1*6 + 6    =    156   -> (24, 24, 6), pool -> (12, 12, 6)
#   Conv(16, 5x5) on 6:         5*5*6*16 + 16  =  2,416   -> (8, 8, 16)
#   BatchNorm(16):              16 + 16        =     32   (state 16 + 16 + 1 = 33), pool -> (4, 4, 16)
#   Dense(120) on 4*4*16 = 256: 256*120 + 120  = 30,840
#   Dense(84):                  120*84 + 84    = 10,164
#   Dense(10):                  84*10 + 10     =    850
LENET_PARAMS = [156, 0, 0, 2416, 32, 0, 0, 0, 30840, 0, 10164, 0, 850]
LENET_TOTAL = 156 + 2416 + 32 + 30840 + 10164 + 850  # 44,458
LENET_SHAPES = [
    (-1, 24, 24, 6),
    (-1, 24, 24, 6),
    (-1, 12, 12, 6),
    (-1, 8, 8, 16),
    (-1, 8, 8, 16),
    (-1, 8, 8, 16),
    (-1, 4, 4, 16),
    (-1, 256),
    (-1, 120),
    (-1, 120),
    (-1, 84),
    (-1, 84),
    (-1, 10),
]


def test_lenet_counts_and_shapes_against_hand_counts():
    s = stax.summary(lenet(), (-1, 28, 28, 1))
    assert isinstance(s, Summary)
    assert LENET_TOTAL == 44458
    assert s.total_params == LENET_TOTAL
    assert s.param_bytes == LENET_TOTAL * 8  # float64 params (stax's default initializers)
    assert s.total_state == 33 and s.state_bytes == 33 * 8  # mean, var float64; count int64
    root, *layers = s.rows
    assert (root.path, root.name, root.kind, root.depth) == ("", "serial", "serial", 0)
    assert root.params == LENET_TOTAL and root.output_shape == (-1, 10)
    assert [r.path for r in layers] == [f"[{i}]" for i in range(13)]
    assert [r.params for r in layers] == LENET_PARAMS
    assert [r.output_shape for r in layers] == LENET_SHAPES
    assert [r.state for r in layers] == [0, 0, 0, 0, 33] + [0] * 8
    assert all(r.depth == 1 and r.output_dtype == "float64" for r in layers)
    # activations for batch_size=1: the sum of the outputs' sizes, 8 bytes each
    elements = sum(np.prod(shape[1:]) for shape in LENET_SHAPES)
    assert s.activation_bytes == elements * 8


def test_summary_agrees_with_count_params_and_real_params():
    net = lenet()
    _, params = net.init_fun(KEY, (-1, 28, 28, 1))
    s = stax.summary(net, (-1, 28, 28, 1))
    assert s.total_params == stax.count_params(params)
    for i, row in enumerate(s.rows[1:]):
        assert row.params == stax.count_params(params[i])
        assert row.param_bytes == sum(
            np.asarray(a).nbytes for a in stax.named_params(params[i]).values()
        )


def test_summary_shapes_match_real_outputs_layer_by_layer():
    net = lenet()
    _, params = net.init_fun(KEY, (-1, 28, 28, 1))
    _, state = net.init_state((-1, 28, 28, 1))
    x = random.normal(random.key(1), (3, 28, 28, 1))
    s = stax.summary(net, (-1, 28, 28, 1), batch_size=3)
    # apply each layer by hand, in evaluation mode, and compare with the declared shapes
    for i, (child, row) in enumerate(zip(net.children, s.rows[1:])):
        x, _ = child.apply_with_state(params[i], state[i], x, is_training=False)
        assert (3, *row.output_shape[1:]) == tuple(x.shape)
        assert row.output_bytes == x.size * 8
    assert tuple(net.apply_fun(params, fnp.ones((3, 28, 28, 1))).shape) == (3, 10)


def residual():
    # x -> FanOut(2) -> parallel(serial(Dense(4), Relu, Dense(3)), Identity) -> FanInSum -> Dense(2)
    block = stax.serial(stax.Dense(4), stax.Relu, stax.Dense(3))
    return stax.serial(
        stax.FanOut(2), stax.parallel(block, stax.Identity), stax.FanInSum, stax.Dense(2)
    )


def test_nested_combinators_are_indented_with_key_paths():
    s = stax.summary(residual(), (-1, 3))
    # Dense(4) on 3: 3*4 + 4 = 16; Dense(3) on 4: 4*3 + 3 = 15; Dense(2) on 3: 3*2 + 2 = 8
    table = [(r.path, r.name, r.depth, r.output_shape, r.params) for r in s.rows]
    assert table == [
        ("", "serial", 0, (-1, 2), 39),
        ("[0]", "FanOut(2)", 1, [(-1, 3), (-1, 3)], 0),
        ("[1]", "parallel", 1, ((-1, 3), (-1, 3)), 31),
        ("[1][0]", "serial", 2, (-1, 3), 31),
        ("[1][0][0]", "Dense(4)", 3, (-1, 4), 16),
        ("[1][0][1]", "Relu", 3, (-1, 4), 0),
        ("[1][0][2]", "Dense(3)", 3, (-1, 3), 15),
        ("[1][1]", "Identity", 2, (-1, 3), 0),
        ("[2]", "FanInSum", 1, (-1, 3), 0),
        ("[3]", "Dense(2)", 1, (-1, 2), 8),
    ]
    assert s.total_params == 39
    _, params = residual().init_fun(KEY, (-1, 3))
    assert set(stax.named_params(params)) == {
        "[1][0][0][0]",
        "[1][0][0][1]",
        "[1][0][2][0]",
        "[1][0][2][1]",
        "[3][0]",
        "[3][1]",
    }  # the rows' paths are the params' key paths, one level up
    text = str(s)
    assert "      Dense(4)" in text and "[1][0][2]" in text and "Total params: 39" in text
    # depth hides rows but not their counts
    shallow = stax.summary(residual(), (-1, 3), depth=1)
    assert [r.path for r in shallow.rows] == ["", "[0]", "[1]", "[2]", "[3]"]
    assert shallow.total_params == 39


@given(st.lists(st.integers(1, 6), min_size=2, max_size=5))
def test_mlp_counts_equal_the_formula(widths):
    layers = []
    for w in widths[1:]:
        layers += [stax.Dense(w), stax.Tanh]
    s = stax.summary(stax.serial(*layers), (-1, widths[0]), batch_size=2)
    assert s.total_params == sum(a * b + b for a, b in itertools.pairwise(widths))
    assert [r.output_shape for r in s.rows[1:]] == [(-1, w) for w in widths[1:] for _ in (0, 1)]
    assert s.activation_bytes == 2 * 2 * sum(widths[1:]) * 8
    assert s.total_state == 0


def test_param_bytes_follow_the_params_dtype():
    f32 = stax.initializers.normal(dtype="float32")
    s = stax.summary(stax.Dense(5, W_init=f32, b_init=f32), (-1, 3), dtype="float32")
    assert (s.total_params, s.param_bytes) == (3 * 5 + 5, (3 * 5 + 5) * 4)
    assert s.rows[0].output_dtype == "float32"
    nobias = stax.summary(stax.Dense(5, use_bias=False), (-1, 3))
    assert nobias.total_params == 15


def test_nothing_is_run_or_allocated():
    calls = []

    def init_fun(key, input_shape):
        calls.append(("init", type(key)))
        return input_shape[:-1] + (2,), (random.normal(key, (input_shape[-1], 2)),)

    def apply_fun(params, inputs, **kwargs):
        calls.append(("apply", type(inputs)))
        return inputs @ params[0]

    s = stax.summary(stax.serial(stax.Dense(3), (init_fun, apply_fun)), (-1, 4))
    assert s.total_params == 4 * 3 + 3 + 3 * 2
    assert calls and all(issubclass(kind, funcgrad.Tracer) for _, kind in calls)


def test_shape_dependent_shows_the_layer_it_builds():
    net = stax.serial(
        stax.shape_dependent(lambda shape: stax.serial(stax.Dense(shape[-1] * 2), stax.Relu)),
        stax.Dense(1),
    )
    s = stax.summary(net, (-1, 3))
    assert [(r.path, r.name, r.params) for r in s.rows] == [
        ("", "serial", 3 * 6 + 6 + 6 * 1 + 1),
        ("[0]", "shape_dependent(serial)", 24),
        ("[0][0]", "Dense(6)", 24),
        ("[0][1]", "Relu", 0),
        ("[1]", "Dense(1)", 7),
    ]


def test_unknown_sizes_other_than_batch_skip_the_forward_pass():
    s = stax.summary(stax.serial(stax.Dense(3), stax.Relu), (-1, -1, 4))
    assert s.rows[1].output_shape == (-1, -1, 3)
    assert s.rows[1].output_dtype is None and s.activation_bytes is None
    assert "Activations" not in str(s)


def test_a_bare_init_fun_gives_one_row():
    init_fun, _ = lenet()
    s = stax.summary(init_fun, (-1, 28, 28, 1))
    assert len(s.rows) == 1 and s.total_params == LENET_TOTAL
    assert s.output_shape == (-1, 10) and s.activation_bytes is None


def test_several_inputs():
    net = stax.serial(stax.parallel(stax.Dense(2), stax.Dense(3)), stax.FanInConcat())
    s = stax.summary(net, [(-1, 4), (-1, 5)])
    assert s.output_shape == (-1, 5) and s.total_params == (4 * 2 + 2) + (5 * 3 + 3)


def test_errors_name_the_function_and_the_layer():
    with pytest.raises(TypeError, match="stax.summary: input_shape"):
        stax.summary(stax.Dense(2), "(-1, 3)")
    with pytest.raises(ValueError, match="stax.summary: depth"):
        stax.summary(stax.Dense(2), (-1, 3), depth=-1)
    with pytest.raises(LayerError, match=r"Conv.*\[1\]"):  # 2x2 input, 3x3 kernel
        stax.summary(stax.serial(stax.Relu, stax.Conv(2, (3, 3)), stax.Relu), (-1, 2, 2, 1))

    def liar_init(key, input_shape):  # declares 5 features, computes 2
        return input_shape[:-1] + (5,), ()

    liar = stax.Layer(liar_init, lambda params, x, **kw: x[..., :2], name="Liar")
    with pytest.raises(LayerError, match=r"Liar.*declares output shape \(-1, 5\).*\(1, 2\)"):
        stax.summary(stax.serial(stax.Dense(3), liar), (-1, 3))


# --------------------------------------------------------------------------- introspection


def test_combinators_expose_kind_and_children():
    dense, relu = stax.Dense(3), stax.Relu
    net = stax.serial(dense, relu, stax.parallel(stax.Identity, stax.Dense(2)))
    assert net.kind == "serial" and net.children[:2] == (dense, relu)
    assert net.children[0] is dense
    inner = net.children[2]
    assert inner.kind == "parallel" and [c.name for c in inner.children] == ["Identity", "Dense(2)"]
    assert dense.kind == "layer" and dense.children == ()
    init_fun, apply_fun = net  # the pair protocol is unchanged
    assert len(net) == 2 and (init_fun, apply_fun) == (net.init_fun, net.apply_fun)
    plain = stax.serial((dense.init_fun, dense.apply_fun))  # a JAX-style pair becomes a Layer
    assert isinstance(plain.children[0], stax.Layer) and plain.children[0].kind == "layer"
    sd = stax.shape_dependent(lambda shape: stax.Dense(shape[-1] + 1))
    assert sd.kind == "shape_dependent" and sd.children == ()
    assert sd.build((-1, 4)).name == "Dense(5)"
    bn = stax.serial(stax.Dense(2), stax.BatchNorm(axis=(0,)))
    assert bn.kind == "serial" and bn.stateful and len(bn.children) == 2


# --------------------------------------------------------------------------- time_layers


def test_time_layers_rows_and_inputs():
    net = stax.serial(
        stax.Conv(3, (3, 3)),
        stax.BatchNorm(),
        stax.FanOut(2),
        stax.parallel(stax.Relu, stax.Identity),
        stax.FanInSum,
        stax.Flatten,
        stax.Dropout(0.5),
        stax.Dense(2),
    )
    _, params = net.init_fun(KEY, (-1, 6, 6, 2))
    _, state = net.init_state((-1, 6, 6, 2))
    x = fnp.ones((4, 6, 6, 2))
    t = stax.time_layers(net, params, x, state=state, key=random.key(1), warmup=1, runs=2)
    table = [(r.path, r.name, r.input_shape, r.output_shape) for r in t.rows]
    assert table == [
        ("[0]", "Conv(3, (3, 3))", (4, 6, 6, 2), (4, 4, 4, 3)),
        ("[1]", "BatchNorm", (4, 4, 4, 3), (4, 4, 4, 3)),
        ("[2]", "FanOut(2)", (4, 4, 4, 3), [(4, 4, 4, 3), (4, 4, 4, 3)]),
        ("[3][0]", "Relu", (4, 4, 4, 3), (4, 4, 4, 3)),
        ("[3][1]", "Identity", (4, 4, 4, 3), (4, 4, 4, 3)),
        ("[4]", "FanInSum", [(4, 4, 4, 3), (4, 4, 4, 3)], (4, 4, 4, 3)),
        ("[5]", "Flatten", (4, 4, 4, 3), (4, 48)),
        ("[6]", "Dropout(0.5)", (4, 48), (4, 48)),
        ("[7]", "Dense(2)", (4, 48), (4, 2)),
    ]
    for row in t.rows:
        assert row.forward.runs == 2 and row.forward.median > 0
        assert row.backward is not None and row.backward.median > 0
    assert t.forward == pytest.approx(sum(r.forward.median for r in t.rows))
    assert t.backward == pytest.approx(sum(r.backward.median for r in t.rows))
    text = str(t)
    assert "[3][0]" in text and "Backward (ms)" in text and "forward-backward" in text


def test_time_layers_without_anything_to_differentiate():
    to_float = stax.elementwise(lambda x: x.astype("float64"))
    net = stax.serial(to_float, stax.Dense(2))
    _, params = net.init_fun(KEY, (-1, 3))
    t = stax.time_layers(net, params, fnp.ones((2, 3), dtype="int32"), warmup=0, runs=1)
    assert t.rows[0].backward is None and t.rows[0].input_shape == (2, 3)
    assert t.rows[1].backward is not None
    assert "--" in str(t)
