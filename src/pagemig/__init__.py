"""pagemig: an executable model of Linux page migration (mm/migrate.c, 2.6.35)."""

from .machine import Machine
from .mm.bug import KernelBug, NotModelled
from .mm.invariants import InvariantError
from .mm.mempolicy import (
    MPOL_BIND,
    MPOL_DEFAULT,
    MPOL_F_ADDR,
    MPOL_F_MEMS_ALLOWED,
    MPOL_F_NODE,
    MPOL_INTERLEAVE,
    MPOL_MF_MOVE,
    MPOL_MF_MOVE_ALL,
    MPOL_MF_STRICT,
    MPOL_PREFERRED,
)
from .mm.page import PAGE_SHIFT, PAGE_SIZE
from .process import Process
from .results import MovePagesResult, decode_status

__all__ = [
    "Machine", "Process", "MovePagesResult", "decode_status", "KernelBug", "NotModelled",
    "InvariantError",
    "PAGE_SIZE", "PAGE_SHIFT", "MPOL_DEFAULT", "MPOL_PREFERRED", "MPOL_BIND", "MPOL_INTERLEAVE",
    "MPOL_F_NODE", "MPOL_F_ADDR", "MPOL_F_MEMS_ALLOWED", "MPOL_MF_STRICT", "MPOL_MF_MOVE",
    "MPOL_MF_MOVE_ALL",
]
__version__ = "0.1.0"
