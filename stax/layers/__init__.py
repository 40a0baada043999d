"""The layers: ``(init_fun, apply_fun)`` pairs (see :mod:`stax.protocol`), one module per kind."""

from stax.layers.activations import *  # noqa: F403
from stax.layers.conv import *  # noqa: F403
from stax.layers.core import *  # noqa: F403
from stax.layers.embedding import *  # noqa: F403
from stax.layers.normalization import *  # noqa: F403
from stax.layers.pooling import *  # noqa: F403
from stax.layers.recurrent import *  # noqa: F403
from stax.layers.resampling import *  # noqa: F403

from stax.layers import (
    activations,
    conv,
    core,
    embedding,
    normalization,
    pooling,
    recurrent,
    resampling,
)

__all__ = sorted(
    activations.__all__
    + conv.__all__
    + core.__all__
    + embedding.__all__
    + normalization.__all__
    + pooling.__all__
    + recurrent.__all__
    + resampling.__all__
)
