"""Recurrent layers: SimpleRNN, LSTM and GRU with PyTorch's equations, run by ``lax.scan``.

Each layer runs a cell over a whole sequence, with PyTorch's options (``num_layers``,
``bidirectional``, inter-layer ``dropout``, ``bias``, ``batch_first``) and parameter
layout, so a ``torch.nn.LSTM``'s ``state_dict`` maps one to one:
``params[l][d]`` is a :class:`RecurrentParams` ``(weight_ih, weight_hh, bias_ih, bias_hh)``
for layer ``l`` and direction ``d`` (0 forward, 1 backward), holding
``weight_ih_l{l}`` (``_reverse`` for ``d = 1``) and so on, with PyTorch's shapes
``(G * H, input)``, ``(G * H, H)``, ``(G * H,)``, ``(G * H,)``; ``G`` is 1, 4 or 3 gates
stacked in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n). With ``bias=False`` both
biases are ``()``. The input size is taken from the input shape at init (PyTorch's
``input_size`` argument is not needed), as ``Dense`` does.

The equations (``x`` the input at one step, ``h`` and ``c`` the previous state):

* SimpleRNN: ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, ``act`` tanh or relu;
* LSTM: ``[i, f, g, o] = W_ih x + b_ih + W_hh h + b_hh``;
  ``c' = sigmoid(f) * c + sigmoid(i) * tanh(g)``; ``h' = sigmoid(o) * tanh(c')``;
* GRU: ``r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)``, ``z`` likewise,
  ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.

Layout. **Batch-major by default** (``batch_first=True``: inputs ``(N, T, F)``), unlike
PyTorch's time-major default: every other stax layer has the batch axis first and
shapes use ``-1`` for it. ``batch_first=False`` takes PyTorch's ``(T, N, F)``. An input
of rank 2 is one unbatched sequence ``(T, F)`` (as PyTorch), which is also what a layer
sees under ``vmap`` over examples. Outputs follow the input's layout:
``(N, T, D * H)`` with ``D = 2`` when bidirectional (forward and backward features
concatenated, forward first).

State. The initial state is PyTorch's ``h0`` of shape ``(num_layers * D, N, H)``
(``(num_layers * D, H)`` unbatched, whatever ``batch_first``), and ``(h0, c0)`` for the
LSTM; default zeros. Give it either as the input pair ``(x, h0)`` (use this inside
``serial``, e.g. after a ``parallel``) or as the apply-time keyword ``initial_state=``
(outside ``serial``: combinators pass keywords to every layer). With
``return_state=True`` the layer outputs the pair ``(outputs, final_state)``, the final
state in the layout of ``h0`` (PyTorch's ``output, h_n`` / ``output, (h_n, c_n)``); its
output shape at init is the matching pair of shapes. ``return_sequences=False`` (Keras'
option) outputs only the last layer's final hidden state, ``(N, D * H)``: the forward
state after the last step and the backward one after the first, as a classifier wants.

Dropout (``dropout > 0``, ``num_layers > 1``) is applied, as PyTorch does, to the
outputs of every layer but the last in training; it needs ``key=`` then, and is off
with ``is_training=False``. Variable-length (packed) sequences and LSTM ``proj_size``
are not supported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import funcgrad.numpy as fnp
from funcgrad import lax, nn, random
from stax.initializers import uniform
from stax.layers._util import check_shape_rank
from stax.protocol import Layer, LayerError, is_training, require_key

__all__ = ["GRU", "LSTM", "RecurrentParams", "SimpleRNN"]


class RecurrentParams(NamedTuple):
    """One direction of one recurrent layer, in PyTorch's layout (module docstring)."""

    weight_ih: Any
    weight_hh: Any
    bias_ih: Any
    bias_hh: Any


# --- the cells: one step each, given the input projection gi = W_ih x + b_ih -----------------


def _linear(h, w_t, b):
    out = fnp.dot(h, w_t)
    return out if isinstance(b, tuple) else out + b


def _rnn_step(activation: Callable) -> Callable:
    def step(carry, gi, w_hh_t, b_hh):
        h = activation(gi + _linear(carry, w_hh_t, b_hh))
        return h, h

    return step


def _lstm_step(carry, gi, w_hh_t, b_hh):
    h, c = carry
    gates = gi + _linear(h, w_hh_t, b_hh)
    i, f, g, o = fnp.split(gates, 4, axis=-1)
    c = nn.sigmoid(f) * c + nn.sigmoid(i) * fnp.tanh(g)
    h = nn.sigmoid(o) * fnp.tanh(c)
    return (h, c), h


def _gru_step(carry, gi, w_hh_t, b_hh):
    h = carry
    gh = _linear(h, w_hh_t, b_hh)
    i_r, i_z, i_n = fnp.split(gi, 3, axis=-1)
    h_r, h_z, h_n = fnp.split(gh, 3, axis=-1)
    r = nn.sigmoid(i_r + h_r)
    z = nn.sigmoid(i_z + h_z)
    n = fnp.tanh(i_n + r * h_n)  # r gates the recurrent term including its bias (PyTorch)
    h = (1 - z) * n + z * h
    return h, h


class _Cell(NamedTuple):
    kind: str
    gates: int
    step: Callable
    has_cell_state: bool


_ACTIVATIONS = {"tanh": fnp.tanh, "relu": nn.relu}


def _run_direction(cell: _Cell, p: RecurrentParams, xs, carry, reverse: bool):
    """One direction of one layer over time-major ``xs`` (T, N, F); returns (carry, ys)."""
    # the input projection of every step at once: one large matmul outside the loop
    gi = _linear(xs, fnp.transpose(p.weight_ih), p.bias_ih)
    w_hh_t = fnp.transpose(p.weight_hh)

    def body(carry, gi_t):
        return cell.step(carry, gi_t, w_hh_t, p.bias_hh)

    return lax.scan(body, carry, gi, reverse=reverse)


def _recurrent(
    cell: _Cell,
    hidden_size: int,
    num_layers: int,
    bias: bool,
    batch_first: bool,
    dropout: float,
    bidirectional: bool,
    return_sequences: bool,
    return_state: bool,
    W_ih_init: Callable | None,
    W_hh_init: Callable | None,
    b_init: Callable | None,
) -> Layer:
    kind = cell.kind
    hidden_size, num_layers = int(hidden_size), int(num_layers)
    if hidden_size < 1 or num_layers < 1:
        raise ValueError(
            f"stax.{kind}: hidden_size and num_layers must be positive, got {hidden_size} "
            f"and {num_layers}"
        )
    if not 0.0 <= dropout <= 1.0:
        raise ValueError(f"stax.{kind}: dropout must be a probability in [0, 1], got {dropout}")
    name = f"{kind}({hidden_size})"
    H, G, D = hidden_size, cell.gates, 2 if bidirectional else 1
    # PyTorch's default: every weight and bias uniform on [-1/sqrt(H), 1/sqrt(H)]
    bound = 1.0 / math.sqrt(H)
    default = uniform(minval=-bound, maxval=bound)
    W_ih_init, W_hh_init, b_init = W_ih_init or default, W_hh_init or default, b_init or default
    time_axis = 1 if batch_first else 0

    def split_input(inputs, initial_state, where):
        """``(x, h0)`` from the input pair form or the keyword; h0 may be None."""
        if isinstance(inputs, (tuple, list)):
            if len(inputs) != 2:
                raise LayerError(
                    name, f"expects inputs x or a pair (x, initial_state), got {len(inputs)} items"
                )
            if initial_state is not None:
                raise LayerError(
                    name, f"got the initial state twice: in the {where} pair and as initial_state="
                )
            return inputs[0], inputs[1]
        return inputs, initial_state

    def layout(rank: int) -> str:
        if rank == 2:
            return "T, F (one unbatched sequence)"
        return "N, T, F (batch_first=True)" if batch_first else "T, N, F (batch_first=False)"

    def state_shape(x_shape) -> tuple:
        if len(x_shape) == 2:
            return (num_layers * D, H)
        return (num_layers * D, x_shape[1 - time_axis], H)

    def out_shape(x_shape) -> tuple:
        if not return_sequences:
            return (*x_shape[:-2], D * H) if len(x_shape) == 2 else (state_shape(x_shape)[1], D * H)
        return (*x_shape[:-1], D * H)

    def init_fun(rng, input_shape):
        pair = (
            isinstance(input_shape, (tuple, list))
            and len(input_shape) == 2
            and isinstance(input_shape[0], (tuple, list))
        )
        x_shape, h0_shape = (input_shape[0], input_shape[1]) if pair else (input_shape, None)
        x_shape = check_shape_rank(x_shape, (2, 3), name, layout(3))
        if x_shape[-1] == -1:
            raise LayerError(name, f"the feature size of input shape {x_shape} must be known")
        if h0_shape is not None:
            expected = (state_shape(x_shape),) * 2 if cell.has_cell_state else state_shape(x_shape)
            if _shape_tree(h0_shape) != expected:
                raise LayerError(
                    name,
                    f"the initial state's shape {h0_shape} should be {expected} for input shape "
                    f"{x_shape}",
                )
        params = []
        in_size = x_shape[-1]
        for _ in range(num_layers):
            directions = []
            for _ in range(D):
                rng, k1, k2, k3, k4 = random.split(rng, 5)
                directions.append(
                    RecurrentParams(
                        W_ih_init(k1, (G * H, in_size)),
                        W_hh_init(k2, (G * H, H)),
                        b_init(k3, (G * H,)) if bias else (),
                        b_init(k4, (G * H,)) if bias else (),
                    )
                )
            params.append(tuple(directions))
            in_size = D * H
        shape = out_shape(x_shape)
        if return_state:
            s = state_shape(x_shape)
            shape = (shape, (s, s) if cell.has_cell_state else s)
        return shape, params

    def check_params(params, in_size):
        if not isinstance(params, (list, tuple)) or len(params) != num_layers:
            raise LayerError(
                name,
                f"params must be a list with one entry per layer ({num_layers}); pass the params "
                f"this layer's init_fun returned",
            )
        for layer, directions in enumerate(params):
            if not isinstance(directions, (list, tuple)) or len(directions) != D:
                raise LayerError(
                    name,
                    f"params[{layer}] must hold {D} direction(s) of RecurrentParams; pass the "
                    f"params this layer's init_fun returned",
                )
            for d, p in enumerate(directions):
                if not isinstance(p, (list, tuple)) or len(p) != 4:
                    raise LayerError(
                        name,
                        f"params[{layer}][{d}] must be RecurrentParams(weight_ih, weight_hh, "
                        f"bias_ih, bias_hh); pass the params this layer's init_fun returned",
                    )
                p = RecurrentParams(*p)
                expected = {
                    "weight_ih": (G * H, in_size),
                    "weight_hh": (G * H, H),
                    "bias_ih": (G * H,),
                    "bias_hh": (G * H,),
                }
                for field, shape in expected.items():
                    value = getattr(p, field, None)
                    got = () if isinstance(value, tuple) else tuple(getattr(value, "shape", ()))
                    if (not bias and field.startswith("bias")) or got == shape:
                        continue
                    raise LayerError(
                        name,
                        f"params[{layer}][{d}].{field} has shape {got}, expected {shape} (input "
                        f"features {in_size} for this layer); the params were initialized for "
                        f"another input shape or configuration",
                    )
            in_size = D * H
        return [[RecurrentParams(*p) for p in directions] for directions in params]

    def apply_fun(params, inputs, *, initial_state=None, **kwargs):
        x, h0 = split_input(inputs, initial_state, "input")
        x = fnp.asarray(x)
        if x.ndim not in (2, 3):
            raise LayerError(
                name,
                f"expects inputs of rank 3 ({layout(3)}) or 2 ({layout(2)}), got shape "
                f"{tuple(x.shape)}",
            )
        params = check_params(params, x.shape[-1])
        unbatched = x.ndim == 2
        xs = x[:, None] if unbatched else (fnp.swapaxes(x, 0, 1) if batch_first else x)
        training = is_training(kwargs, name)
        drop = training and dropout > 0.0 and num_layers > 1
        keys = random.split(require_key(kwargs, name), num_layers - 1) if drop else None

        N = xs.shape[1]
        dtype = fnp.result_type(xs.dtype, params[0][0].weight_ih.dtype)
        expected = state_shape(x.shape)
        if h0 is None:
            zeros = fnp.zeros((num_layers * D, N, H), dtype)
            h0 = (zeros, zeros) if cell.has_cell_state else zeros
        else:
            given = _shape_tree(h0)
            want = (expected, expected) if cell.has_cell_state else expected
            if given != want:
                raise LayerError(
                    name,
                    f"the initial state has shape {given}, expected {want} for inputs of shape "
                    f"{tuple(x.shape)} ({'(h0, c0), each ' if cell.has_cell_state else ''}"
                    f"(num_layers * directions, N, hidden_size))",
                )
            if unbatched:
                h0 = tuple(s[:, None] for s in h0) if cell.has_cell_state else h0[:, None]

        finals = []
        for layer in range(num_layers):
            ys = []
            for d in range(D):
                i = layer * D + d
                carry = (h0[0][i], h0[1][i]) if cell.has_cell_state else h0[i]
                carry, y = _run_direction(cell, params[layer][d], xs, carry, reverse=d == 1)
                finals.append(carry)
                ys.append(y)
            xs = ys[0] if D == 1 else fnp.concatenate(ys, axis=-1)
            if drop and layer < num_layers - 1:
                keep = random.bernoulli(keys[layer], 1.0 - dropout, xs.shape)
                xs = fnp.where(keep, xs / (1.0 - dropout), 0.0) if dropout < 1.0 else xs * 0.0

        if cell.has_cell_state:
            final = (fnp.stack([h for h, _ in finals]), fnp.stack([c for _, c in finals]))
            last_h = final[0]
        else:
            final = last_h = fnp.stack(finals)
        if return_sequences:
            out = xs[:, 0] if unbatched else (fnp.swapaxes(xs, 0, 1) if batch_first else xs)
        else:
            out = fnp.concatenate([last_h[k] for k in range(len(finals) - D, len(finals))], -1)
            out = out[0] if unbatched else out
        if not return_state:
            return out
        if unbatched:
            final = tuple(s[:, 0] for s in final) if cell.has_cell_state else final[:, 0]
        return out, final

    return Layer(init_fun, apply_fun, name=name)


def _shape_tree(tree) -> Any:
    """Shapes of an array or a tuple of arrays / shapes, as tuples of ints."""
    if hasattr(tree, "shape"):
        return tuple(tree.shape)
    if isinstance(tree, (tuple, list)) and tree and isinstance(tree[0], (tuple, list)):
        return tuple(tuple(s) for s in tree)
    if isinstance(tree, (tuple, list)) and tree and hasattr(tree[0], "shape"):
        return tuple(tuple(s.shape) for s in tree)
    return tuple(tree) if isinstance(tree, (tuple, list)) else tree


_COMMON_ARGS = """
    Args:
        hidden_size: ``H``, the size of the hidden state.
        num_layers: stacked layers; layer ``l + 1`` runs on layer ``l``'s outputs.
        bias: learn ``bias_ih`` and ``bias_hh`` (PyTorch's ``bias``).
        batch_first: inputs ``(N, T, F)`` (default, stax's batch-first convention) or,
            with False, PyTorch's default ``(T, N, F)``.
        dropout: drop probability on the outputs of every layer but the last, in training.
        bidirectional: also run each layer backwards in time and concatenate.
        return_sequences: output every step (default) or only the final hidden state of
            the last layer, ``(N, D * H)``.
        return_state: output the pair ``(outputs, final_state)``.
        W_ih_init, W_hh_init, b_init: initializers ``(key, shape) -> array`` of the
            input weights ``(G * H, F)``, recurrent weights ``(G * H, H)`` and each bias
            (PyTorch's layout: pass ``in_axis=-1, out_axis=-2`` to fan-based ones);
            default PyTorch's ``uniform(-1/sqrt(H), 1/sqrt(H))``.

    Returns:
        The :class:`~stax.protocol.Layer`; its apply takes ``initial_state=`` besides the
        usual keywords (see the module docstring).
"""


def SimpleRNN(
    hidden_size: int,
    num_layers: int = 1,
    nonlinearity: str = "tanh",
    bias: bool = True,
    batch_first: bool = True,
    dropout: float = 0.0,
    bidirectional: bool = False,
    *,
    return_sequences: bool = True,
    return_state: bool = False,
    W_ih_init: Callable | None = None,
    W_hh_init: Callable | None = None,
    b_init: Callable | None = None,
) -> Layer:
    if nonlinearity not in _ACTIVATIONS:
        raise ValueError(
            f"stax.SimpleRNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
        )
    cell = _Cell("SimpleRNN", 1, _rnn_step(_ACTIVATIONS[nonlinearity]), False)
    return _recurrent(
        cell, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        return_sequences, return_state, W_ih_init, W_hh_init, b_init,
    )  # fmt: skip


SimpleRNN.__doc__ = (
    """An Elman RNN over a sequence (PyTorch's ``nn.RNN``): ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``.

    ``nonlinearity`` is 'tanh' (default) or 'relu'. Layout, state and options: see the
    module docstring of :mod:`stax.layers.recurrent`.
"""
    + _COMMON_ARGS
    + """
    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.SimpleRNN(4)
        >>> out_shape, params = init_fun(random.key(0), (-1, 7, 3))  # (N, T, F)
        >>> out_shape, params[0][0].weight_ih.shape, params[0][0].weight_hh.shape
        ((-1, 7, 4), (4, 3), (4, 4))
        >>> apply_fun(params, fnp.ones((2, 7, 3))).shape
        (2, 7, 4)
"""
)


def LSTM(
    hidden_size: int,
    num_layers: int = 1,
    bias: bool = True,
    batch_first: bool = True,
    dropout: float = 0.0,
    bidirectional: bool = False,
    *,
    return_sequences: bool = True,
    return_state: bool = False,
    W_ih_init: Callable | None = None,
    W_hh_init: Callable | None = None,
    b_init: Callable | None = None,
) -> Layer:
    cell = _Cell("LSTM", 4, _lstm_step, True)
    return _recurrent(
        cell, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        return_sequences, return_state, W_ih_init, W_hh_init, b_init,
    )  # fmt: skip


LSTM.__doc__ = (
    """A long short-term memory layer over a sequence (PyTorch's ``nn.LSTM``).

    Gates stacked i, f, g, o; ``c' = sigmoid(f) c + sigmoid(i) tanh(g)``,
    ``h' = sigmoid(o) tanh(c')``. The state is the pair ``(h, c)``. Layout, state and
    options: see the module docstring of :mod:`stax.layers.recurrent`.
"""
    + _COMMON_ARGS
    + """
    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.LSTM(5, num_layers=2, bidirectional=True, return_state=True)
        >>> (out_shape, (h_shape, c_shape)), params = init_fun(random.key(0), (-1, 6, 3))
        >>> out_shape, h_shape, params[1][0].weight_ih.shape
        ((-1, 6, 10), (4, -1, 5), (20, 10))
        >>> outputs, (h_n, c_n) = apply_fun(params, fnp.ones((2, 6, 3)))
        >>> outputs.shape, h_n.shape, c_n.shape
        ((2, 6, 10), (4, 2, 5), (4, 2, 5))
"""
)


def GRU(
    hidden_size: int,
    num_layers: int = 1,
    bias: bool = True,
    batch_first: bool = True,
    dropout: float = 0.0,
    bidirectional: bool = False,
    *,
    return_sequences: bool = True,
    return_state: bool = False,
    W_ih_init: Callable | None = None,
    W_hh_init: Callable | None = None,
    b_init: Callable | None = None,
) -> Layer:
    cell = _Cell("GRU", 3, _gru_step, False)
    return _recurrent(
        cell, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        return_sequences, return_state, W_ih_init, W_hh_init, b_init,
    )  # fmt: skip


GRU.__doc__ = (
    """A gated recurrent unit layer over a sequence (PyTorch's ``nn.GRU``).

    Gates stacked r, z, n; ``n = tanh(W_in x + b_in + r (W_hn h + b_hn))`` (the reset
    gate multiplies the recurrent term *with* its bias, as PyTorch and cuDNN), and
    ``h' = (1 - z) n + z h``. Layout, state and options: see the module docstring of
    :mod:`stax.layers.recurrent`.
"""
    + _COMMON_ARGS
    + """
    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> net = stax.serial(stax.GRU(8, return_sequences=False), stax.Dense(2))
        >>> out_shape, params = net.init_fun(random.key(0), (-1, 5, 3))
        >>> out_shape, net.apply_fun(params, fnp.ones((4, 5, 3))).shape
        ((-1, 2), (4, 2))
"""
)
