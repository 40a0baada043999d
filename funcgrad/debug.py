"""Debugging helpers that work inside transformed functions: ``funcgrad.debug.print``."""

from funcgrad._src.debugging import debug_print as print

__all__ = ["print"]
