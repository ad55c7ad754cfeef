"""pagemig: an executable model of Linux page migration (mm/migrate.c, 2.6.35)."""

from .machine import Machine
from .mm.bug import KernelBug
from .mm.invariants import InvariantError
from .mm.page import PAGE_SHIFT, PAGE_SIZE

__all__ = ["Machine", "KernelBug", "InvariantError", "PAGE_SIZE", "PAGE_SHIFT"]
__version__ = "0.1.0"
