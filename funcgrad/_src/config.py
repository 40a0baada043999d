"""Process-wide switches (``funcgrad.config``), each with an environment variable default."""

from __future__ import annotations

import os


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


class Config:
    """Settings read by the transformations; assign the attributes to change them.

    Attributes:
        explain_cache_misses: every time a ``jit``-compiled function is traced again
            for a new signature, warn with what changed ("train_step recompiled:
            argument 'x' shape (3, 4) -> (5, 4)"). Default from
            ``$FUNCGRAD_EXPLAIN_CACHE_MISSES``. Without it, the warning comes from the
            third trace of one function on.

    Examples:
        >>> import funcgrad
        >>> funcgrad.config.explain_cache_misses = True
        >>> funcgrad.config.explain_cache_misses = False
    """

    def __init__(self) -> None:
        self.explain_cache_misses = _env_flag("FUNCGRAD_EXPLAIN_CACHE_MISSES")

    def __repr__(self) -> str:
        return f"Config(explain_cache_misses={self.explain_cache_misses})"


config = Config()
