"""Parameter utilities: count the parameters, name them by key path, check a params tree.

A network's params are a pytree (lists for ``serial``, tuples for ``parallel`` and
layers); every array in it is a parameter, ``()`` marks an empty slot. Names are
``funcgrad.tree_util`` key paths such as ``[1][0]`` (the ``W`` of the second layer of a
``serial``), the same paths the layers' errors use.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from funcgrad import tree_util

__all__ = ["check_params", "count_params", "named_params"]


def count_params(params: Any) -> int:
    """The number of scalar parameters (the sum of the arrays' sizes).

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> _, params = stax.serial(stax.Dense(3), stax.Relu, stax.Dense(1))[0](random.key(0), (-1, 4))
        >>> stax.count_params(params)  # 4*3 + 3 + 3*1 + 1
        19
    """
    return sum(math.prod(np.shape(leaf)) for leaf in tree_util.tree_leaves(params))


def named_params(params: Any) -> dict[str, Any]:
    """Every parameter array by its key path, in tree order.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> _, params = stax.serial(stax.Dense(3), stax.Relu, stax.Dense(1))[0](random.key(0), (-1, 4))
        >>> {name: tuple(p.shape) for name, p in stax.named_params(params).items()}
        {'[0][0]': (4, 3), '[0][1]': (3,), '[2][0]': (3, 1), '[2][1]': (1,)}
    """
    return {tree_util.keystr(path): leaf for path, leaf in tree_util.tree_leaves_with_path(params)}


def check_params(params: Any, reference: Any) -> None:
    """Raise unless ``params`` has the structure and shapes of ``reference`` (e.g. fresh init).

    The error names the first differing key path, what was expected and what was given.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> _, params = stax.serial(stax.Dense(3), stax.Dense(1))[0](random.key(0), (-1, 4))
        >>> stax.check_params(params, params)
        >>> bad = [params[0], (fnp.zeros((2, 1)), params[1][1])]
        >>> stax.check_params(bad, params)
        Traceback (most recent call last):
        ...
        ValueError: stax.check_params: params[1][0] has shape (2, 1), expected (3, 1)
    """
    got_paths = named_params(params)
    want_paths = named_params(reference)
    for path, leaf in want_paths.items():
        if path not in got_paths:
            raise ValueError(
                f"stax.check_params: params{path} is missing (expected shape {tuple(np.shape(leaf))})"
            )
        if tuple(np.shape(got_paths[path])) != tuple(np.shape(leaf)):
            raise ValueError(
                f"stax.check_params: params{path} has shape {tuple(np.shape(got_paths[path]))}, "
                f"expected {tuple(np.shape(leaf))}"
            )
    extra = [p for p in got_paths if p not in want_paths]
    if extra:
        raise ValueError(f"stax.check_params: params{extra[0]} is not in the network's params")
    if tree_util.tree_structure(params) != tree_util.tree_structure(reference):
        raise ValueError(
            f"stax.check_params: the params' structure {tree_util.tree_structure(params)} differs from the "
            f"network's {tree_util.tree_structure(reference)} (list vs tuple, or empty slots)"
        )
