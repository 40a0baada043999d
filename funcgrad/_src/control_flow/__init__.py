"""Structured control flow (``cond``, ``switch``, loops) staged as higher-order primitives."""

from funcgrad._src.control_flow.cond import cond, cond_p, switch
from funcgrad._src.control_flow.loops import fori_loop, map, scan, scan_p, while_loop, while_p

__all__ = [
    "cond",
    "cond_p",
    "fori_loop",
    "map",
    "scan",
    "scan_p",
    "switch",
    "while_loop",
    "while_p",
]
