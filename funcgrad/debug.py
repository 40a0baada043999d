"""Debugging helpers that work inside transformed functions: ``funcgrad.debug.print``,
``callback`` and ``breakpoint``."""

from funcgrad._src.callback import debug_callback as callback
from funcgrad._src.debugging import debug_breakpoint as breakpoint
from funcgrad._src.debugging import debug_print as print

__all__ = ["breakpoint", "callback", "print"]
