"""stax combinators: composition against manual application, layouts, keys, errors, params tools."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
import stax
from funcgrad import random

KEY = random.key(0)


def _x(shape, seed=0):
    return fnp.asarray(np.random.default_rng(seed).standard_normal(shape))


def test_serial_is_the_composition_and_keeps_jaxs_layout():
    layers = [stax.Dense(5), stax.Tanh, stax.Dense(2)]
    init_fun, apply_fun = stax.serial(*layers)
    out_shape, params = init_fun(KEY, (-1, 3))
    assert out_shape == (-1, 2)
    assert isinstance(params, list) and len(params) == 3 and params[1] == ()
    # JAX's key schedule: split the key once per layer, in order
    _, sub = random.split(KEY)
    first = layers[0][0](sub, (-1, 3))[1]
    np.testing.assert_array_equal(np.asarray(first[0]), np.asarray(params[0][0]))
    x = _x((4, 3))
    h = x
    for layer, p in zip(layers, params):
        h = layer[1](p, h)
    np.testing.assert_allclose(np.asarray(apply_fun(params, x)), np.asarray(h))
    np.testing.assert_allclose(
        np.asarray(funcgrad.jit(apply_fun)(params, x)), np.asarray(h), rtol=1e-12
    )


def test_parallel_fanout_fanin_residual_block():
    block = stax.serial(stax.FanOut(2), stax.parallel(stax.Dense(3), stax.Identity), stax.FanInSum)
    out_shape, params = block[0](KEY, (-1, 3))
    assert out_shape == (-1, 3)
    assert isinstance(params[1], tuple) and params[1][1] == ()
    x = _x((2, 3))
    (w, b), _ = params[1]
    want = np.asarray(x) @ np.asarray(w) + np.asarray(b) + np.asarray(x)
    np.testing.assert_allclose(np.asarray(block[1](params, x)), want, rtol=1e-12)
    # parallel's own results: tuple of shapes and params, list of outputs (JAX)
    par = stax.parallel(stax.Dense(2), stax.Relu)
    shapes, pparams = par[0](KEY, [(-1, 3), (-1, 4)])
    assert shapes == ((-1, 2), (-1, 4)) and isinstance(pparams, tuple)
    outs = par[1](pparams, [x, _x((2, 4))])
    assert isinstance(outs, list) and [o.shape for o in outs] == [(2, 2), (2, 4)]


def test_fan_in_concat_and_shape_dependent():
    net = stax.serial(
        stax.FanOut(3), stax.parallel(stax.Dense(2), stax.Dense(4), stax.Identity),
        stax.FanInConcat(), stax.shape_dependent(lambda s: stax.Dense(s[-1] // 3)),
    )  # fmt: skip
    out_shape, params = net[0](KEY, (-1, 3))
    assert out_shape == (-1, 3)  # (2 + 4 + 3) // 3
    assert params[3][0].shape == (9, 3)
    x = _x((5, 3))
    assert net[1](params, x).shape == (5, 3)
    concat = stax.FanInConcat(axis=1)
    assert concat[0](None, [(-1, 2, 3), (-1, 4, 3)]) == ((-1, 6, 3), ())
    y = concat[1]((), [_x((1, 2, 3)), _x((1, 4, 3), 1)])
    np.testing.assert_array_equal(
        np.asarray(y), np.concatenate([np.asarray(_x((1, 2, 3))), np.asarray(_x((1, 4, 3), 1))], 1)
    )


def test_keys_are_split_per_layer_under_the_callers_name():
    seen = []

    def Recorder():
        def init_fun(rng, input_shape):
            return input_shape, ()

        def apply_fun(params, inputs, **kwargs):  # a JAX-style user layer (plain pair)
            seen.append(dict(kwargs))
            return inputs

        return init_fun, apply_fun

    net = stax.serial(Recorder(), stax.serial(Recorder(), Recorder()))
    _, params = net[0](KEY, (-1, 2))
    net[1](params, _x((1, 2)), rng=KEY, is_training=False)
    k0, k1 = random.split(KEY, 2)
    k10, k11 = random.split(k1, 2)
    assert [sorted(s) for s in seen] == [["is_training", "rng"]] * 3
    for s, k in zip(seen, [k0, k10, k11]):
        np.testing.assert_array_equal(np.asarray(s["rng"]), np.asarray(k))
    seen.clear()
    net[1](params, _x((1, 2)))  # no key: none is passed
    assert seen == [{}, {}, {}]
    with pytest.raises(TypeError, match="pass the random key once"):
        net[1](params, _x((1, 2)), rng=KEY, key=random.key(1))


def test_dropout_in_serial_gets_its_split_key():
    net = stax.serial(stax.Identity, stax.Dropout(0.5))
    _, params = net[0](KEY, (-1, 10))
    x = fnp.ones((1, 10))
    y = net[1](params, x, key=KEY)
    want = stax.Dropout(0.5)[1]((), x, key=random.split(KEY, 2)[1])
    np.testing.assert_array_equal(np.asarray(y), np.asarray(want))
    with pytest.raises(
        stax.LayerError, match=r"Dropout\(0.5\) \(layer \[1\] of the network.*needs a random key"
    ):
        net[1](params, x)


def test_errors_name_the_position_in_nested_serials():
    net = stax.serial(stax.Dense(4), stax.serial(stax.Relu, stax.Dense(3), stax.Dense(2)))
    _, params = net[0](KEY, (-1, 5))
    bad = [params[0], [params[1][0], params[1][1], params[1][1]]]  # Dense(2) gets Dense(3)'s params
    with pytest.raises(stax.LayerError) as info:
        net[1](bad, _x((2, 5)))
    msg = str(info.value)
    assert "Dense(2) (layer [1][2] of the network; its params are params[1][2])" in msg
    assert "expects 4 features on axis -1, got shape (2, 3)" in msg
    assert info.value.path == (1, 2)
    with pytest.raises(
        stax.LayerError,
        match=r"serial \(layer \[1\].*params must be a list or tuple with one entry per layer \(3\), got 2 entries",
    ):
        net[1]([params[0], params[1][:2]], _x((2, 5)))
    with pytest.raises(
        stax.LayerError, match=r"Dense\(4\) \(layer \[0\].*params must be \(W, b\), got dict"
    ):
        net[1]([{"W": 1}, params[1]], _x((2, 5)))
    # init-time errors carry the position too
    with pytest.raises(
        stax.LayerError, match=r"Conv.*layer \[1\].*rank 4 \(NHWC\), got input shape \(-1, 5\)"
    ):
        stax.serial(stax.Dense(5), stax.Conv(2, (3, 3)))[0](KEY, (-1, 5))


def test_foreign_errors_get_a_note_with_the_position():
    def Broken():
        def apply_fun(params, inputs, **kwargs):
            raise RuntimeError("boom")

        return (lambda rng, s: (s, ())), apply_fun

    net = stax.serial(stax.Relu, stax.serial(Broken()))
    _, params = net[0](KEY, (-1, 2))
    with pytest.raises(RuntimeError, match="boom") as info:
        net[1](params, _x((1, 2)))
    assert info.value.__notes__ == ["raised in stax layer Broken at params[1][0]"]


def test_plain_layer_values_and_bad_layers():
    with pytest.raises(TypeError, match="expected a layer"):
        stax.serial(stax.Dense(2), 3)
    with pytest.raises(stax.LayerError, match="parallel: expects a sequence of 2 inputs"):
        stax.parallel(stax.Relu, stax.Relu)[1](((), ()), _x((2, 2)))
    with pytest.raises(stax.LayerError, match="FanInSum: inputs must have one shape"):
        stax.FanInSum[0](None, [(-1, 2), (-1, 3)])


def test_vmap_and_grad_through_combinators():
    net = stax.serial(
        stax.FanOut(2), stax.parallel(stax.Dense(3), stax.Dense(3)), stax.FanInSum, stax.Relu
    )
    _, params = net[0](KEY, (-1, 4))
    xs = _x((3, 2, 4))
    y = funcgrad.vmap(lambda x: net[1](params, x))(xs)
    loop = np.stack([np.asarray(net[1](params, xs[i])) for i in range(3)])
    np.testing.assert_allclose(np.asarray(y), loop, rtol=1e-12)
    funcgrad.test_util.check_grads(lambda p: net[1](p, xs[0]), (params,), order=1)


def test_count_and_name_params():
    net = stax.serial(
        stax.Conv(4, (3, 3)), stax.BatchNorm(), stax.Relu, stax.Flatten, stax.Dense(2)
    )
    _, params = net[0](KEY, (-1, 5, 5, 2))
    expected = (3 * 3 * 2 * 4 + 4) + (4 + 4) + (3 * 3 * 4 * 2 + 2)
    assert stax.count_params(params) == expected
    names = stax.named_params(params)
    assert list(names) == ["[0][0]", "[0][1]", "[1][0]", "[1][1]", "[4][0]", "[4][1]"]
    assert names["[0][1]"].shape == (1, 1, 1, 4)
    stax.check_params(params, params)
    with pytest.raises(
        ValueError, match=r"params\[4\]\[0\] has shape \(3, 2\), expected \(36, 2\)"
    ):
        stax.check_params([*params[:4], (fnp.zeros((3, 2)), params[4][1])], params)
    with pytest.raises(ValueError, match=r"params\[1\]\[1\] is missing"):
        stax.check_params([params[0], (params[1][0], ()), *params[2:]], params)
