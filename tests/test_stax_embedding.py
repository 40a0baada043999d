"""stax.Embedding against NumPy indexing, PyTorch's padding_idx rule and its error cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
import stax
from funcgrad import random
from funcgrad.test_util import check_grads


@st.composite
def _cases(draw):
    num = draw(st.integers(1, 6))
    features = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    padding_idx = draw(st.one_of(st.none(), st.integers(-num, num - 1)))
    seed = draw(st.integers(0, 2**16))
    return num, features, shape, padding_idx, seed


@given(_cases())
def test_lookup_and_gradient_match_numpy(case):
    num, features, shape, padding_idx, seed = case
    layer = stax.Embedding(num, features, padding_idx=padding_idx)
    out_shape, (table,) = layer[0](random.key(seed), (-1, *shape[1:]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, num, shape)
    y = layer[1]((table,), fnp.asarray(idx))
    t = np.asarray(table)
    np.testing.assert_array_equal(np.asarray(y), t[idx])  # the oracle: NumPy fancy indexing
    assert out_shape == (-1, *shape[1:], features) and y.shape == (*shape, features)
    if padding_idx is not None:
        assert not np.asarray(table)[padding_idx % num].any()  # the padding row starts at zero

    # gradient: the cotangent of each lookup added to its row, none to the padding row
    ct = rng.standard_normal((*shape, features))
    (g,) = funcgrad.grad(lambda p: fnp.sum(layer[1](p, fnp.asarray(idx)) * ct))((table,))
    expected = np.zeros((num, features))
    np.add.at(expected, idx, ct)
    if padding_idx is not None:
        expected[padding_idx % num] = 0.0
    np.testing.assert_allclose(np.asarray(g), expected, atol=1e-12)


def test_padding_row_keeps_a_user_value_and_gets_no_gradient():
    layer = stax.Embedding(4, 2, padding_idx=1)
    table = fnp.asarray(np.arange(8.0).reshape(4, 2))  # padding row set to (2, 3) by the user
    idx = fnp.asarray([[1, 2, 1]])
    np.testing.assert_array_equal(np.asarray(layer[1]((table,), idx))[0, 0], [2.0, 3.0])
    (g,) = funcgrad.grad(lambda p: fnp.sum(layer[1](p, idx) ** 2))((table,))
    np.testing.assert_array_equal(np.asarray(g), [[0, 0], [0, 0], [8, 10], [0, 0]])


def test_check_grads_jit_vmap():
    # without padding_idx: the padding row's zero gradient is on purpose not the derivative
    # (tested against the oracle above), so finite differences would disagree there
    plain = stax.Embedding(5, 3)
    _, params = plain[0](random.key(1), (-1, 4))
    idx = fnp.asarray([[0, 2, 4, 4], [1, 1, 3, 2]])
    check_grads(lambda p: plain[1](p, idx), (params,), order=2)
    layer = stax.Embedding(5, 3, padding_idx=2)
    eager = layer[1](params, idx)
    jitted = funcgrad.jit(layer[1])(params, idx)
    mapped = funcgrad.vmap(layer[1], in_axes=(None, 0))(params, idx)
    for other in (jitted, mapped):
        np.testing.assert_array_equal(np.asarray(other), np.asarray(eager))
        assert other.shape == eager.shape and other.dtype == eager.dtype


def test_in_a_network():
    net = stax.serial(stax.Embedding(10, 4), stax.Flatten, stax.Dense(2))
    out_shape, params = net[0](random.key(0), (-1, 3))
    assert out_shape == (-1, 2)
    assert net[1](params, fnp.asarray([[1, 2, 3]])).shape == (1, 2)


def test_bad_inputs():
    layer = stax.Embedding(3, 2)
    _, params = layer[0](random.key(0), (-1, 2))
    with pytest.raises(stax.LayerError, match=r"Embedding\(3, 2\): index 3 is out of range"):
        layer[1](params, fnp.asarray([[0, 3]]))
    with pytest.raises(stax.LayerError, match="index -1 is out of range"):
        layer[1](params, fnp.asarray([[0, -1]]))
    with pytest.raises(stax.LayerError, match="expects integer indices, got dtype float64"):
        layer[1](params, fnp.asarray([[0.0, 1.0]]))
    with pytest.raises(stax.LayerError, match=r"the table has shape \(4, 2\)"):
        layer[1]((fnp.zeros((4, 2)),), fnp.asarray([[0]]))
    with pytest.raises(stax.LayerError, match=r"params must be \(table\)"):
        layer[1](params[0], fnp.asarray([[0]]))
    with pytest.raises(ValueError, match="padding_idx must be in"):
        stax.Embedding(3, 2, padding_idx=3)
    # under jit the values are unknown: bad indices give NaN rows, never another row
    y = np.asarray(funcgrad.jit(layer[1])(params, fnp.asarray([[1, 3, -1]])))
    np.testing.assert_array_equal(y[0, 0], np.asarray(params[0])[1])
    assert np.isnan(y[0, 1:]).all()
