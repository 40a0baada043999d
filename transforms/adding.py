"""Terms added to the updates: decoupled weight decay and annealed Gaussian noise."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import random, tree_util
from transforms import _masking, base, tree_utils
from transforms._checks import check_nonnegative

__all__ = ["AddDecayedWeightsState", "AddNoiseState", "add_decayed_weights", "add_noise"]

AddDecayedWeightsState = base.EmptyState


def add_decayed_weights(weight_decay: Any = 0.0, mask: Any = None) -> base.GradientTransformation:
    r"""Add ``weight_decay * params`` to the updates (decoupled weight decay, as in AdamW).

    .. math:: u_k = g_k + \lambda\, w_k

    Chained before the learning-rate scaling, the decay is multiplied by the learning rate
    (optax's and PyTorch's AdamW convention).

    Args:
        weight_decay: the coefficient :math:`\lambda` (a scalar, or a schedule of the step
            count is not supported: pass a float or a 0-d array).
        mask: a pytree of bools with the params' structure (or a prefix of it), or a
            callable returning one from the params; leaves marked False get no decay.

    Returns:
        A ``GradientTransformation``; it needs ``params`` in ``update``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.add_decayed_weights(0.1, mask={"w": True, "b": False})
        >>> p = {"w": fnp.ones(1), "b": fnp.ones(1)}
        >>> u, _ = tx.update({"w": fnp.zeros(1), "b": fnp.zeros(1)}, tx.init(p), p)
        >>> u["w"].tolist(), u["b"].tolist()
        ([0.1], [0.0])
    """

    def init_fn(params):
        del params
        return AddDecayedWeightsState()

    def update_fn(updates, state, params=None):
        decayed = tree_utils.tree_map_params(
            "add_decayed_weights.update",
            lambda g, p: g + tree_utils.cast_scalar(weight_decay, g) * p,
            updates,
            params,
        )
        if mask is not None:
            mask_tree = _masking.resolve_mask("add_decayed_weights", mask, params)
            decayed = _masking.select(mask_tree, decayed, updates)
        return decayed, state

    return base.GradientTransformation(init_fn, update_fn)


class AddNoiseState(NamedTuple):
    """The step count and the random key of ``add_noise``."""

    count: Any
    rng_key: Any


def _canonical_key(fn_name: str, key: Any, seed: Any) -> Any:
    """optax's rule: ``key`` (an int seed or a key array) or the older ``seed``; 0 if neither."""
    if seed is not None:
        if key is not None:
            raise ValueError(f"{fn_name}: give key or its older name seed, not both")
        key = seed
    if key is None:
        key = 0
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return random.key(int(key))
    key = fnp.asarray(key)
    if key.shape != (2,) or str(key.dtype) != "uint32":
        raise ValueError(
            f"{fn_name}: key must be an int seed or a funcgrad.random.key(...) (uint32[2]), "
            f"got {key.dtype}{list(key.shape)}"
        )
    return key


def add_noise(
    eta: float, gamma: float, key: Any = None, *, seed: int | None = None
) -> base.GradientTransformation:
    r"""Add Gaussian noise whose variance decays with the step count.

    .. math::
        u_k = g_k + \sigma_k\, \xi_k, \qquad \sigma_k^2 = \eta / k^{\gamma}, \qquad
        \xi_k \sim \mathcal{N}(0, I)

    with :math:`k = 1, 2, \dots` the step. At each step the key is split into one key per
    leaf (in ``tree_leaves`` order) plus the next state's key, so a run is reproducible
    from ``key``.

    Args:
        eta: the initial variance (>= 0).
        gamma: the annealing exponent.
        key: the random key: an int seed (``funcgrad.random.key(key)``) or a key array;
            None means 0 (optax's default, which optax plans to remove).
        seed: the older name of an int ``key`` (optax < 0.2.5); give one of the two.

    Returns:
        A ``GradientTransformation`` with state ``AddNoiseState``.

    References:
        Neelakantan et al., Adding Gradient Noise Improves Learning for Very Deep
        Networks, 2015 (https://arxiv.org/abs/1511.06807).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.add_noise(eta=0.0, gamma=0.55, key=0)
        >>> u, _ = tx.update(fnp.ones(2), tx.init(fnp.zeros(2)))
        >>> u.tolist()
        [1.0, 1.0]
    """
    check_nonnegative("add_noise", "eta", eta)
    rng_key = _canonical_key("add_noise", key, seed)

    def init_fn(params):
        del params
        return AddNoiseState(count=fnp.zeros((), dtype=fnp.int32), rng_key=rng_key)

    def update_fn(updates, state, params=None):
        del params
        leaves, treedef = tree_util.tree_flatten(updates)
        count_inc = tree_utils.safe_int32_increment(state.count)
        variance = eta / fnp.asarray(count_inc, dtype=fnp.float64) ** gamma
        keys = random.split(state.rng_key, len(leaves) + 1)
        noisy = []
        for g, k in zip(leaves, keys[1:]):
            std = fnp.asarray(fnp.sqrt(variance), dtype=g.dtype)
            noisy.append(g + std * random.normal(k, shape=g.shape, dtype=g.dtype))
        return tree_util.tree_unflatten(treedef, noisy), AddNoiseState(
            count=count_inc, rng_key=keys[0]
        )

    return base.GradientTransformation(init_fn, update_fn)
