"""Debugging helpers that work inside transformed functions: ``funcgrad.debug.print``,
``log``, ``callback`` and ``breakpoint``."""

from funcgrad._src.callback import debug_callback as callback
from funcgrad._src.debugging import debug_breakpoint as breakpoint
from funcgrad._src.debugging import debug_log as log
from funcgrad._src.debugging import debug_print as print
from funcgrad._src.debugging import logger

__all__ = ["breakpoint", "callback", "log", "logger", "print"]
