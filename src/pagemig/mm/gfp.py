"""Model of include/linux/gfp.h (2.6.35 bit values, x86-64 zone selection).

The kernel's ``__GFP_X`` modifiers are spelled ``_GFP_X`` here (a leading
double underscore is name-mangled inside Python classes).
"""

from __future__ import annotations

from .mmzone import ZONE_DMA, ZONE_DMA32, ZONE_MOVABLE, ZONE_NORMAL

_GFP_DMA = 0x01
_GFP_HIGHMEM = 0x02
_GFP_DMA32 = 0x04
_GFP_MOVABLE = 0x08
_GFP_WAIT = 0x10
_GFP_HIGH = 0x20
_GFP_IO = 0x40
_GFP_FS = 0x80
_GFP_COLD = 0x100
_GFP_NOWARN = 0x200
_GFP_REPEAT = 0x400
_GFP_NOFAIL = 0x800
_GFP_NORETRY = 0x1000
_GFP_COMP = 0x4000
_GFP_ZERO = 0x8000
_GFP_NOMEMALLOC = 0x10000
_GFP_HARDWALL = 0x20000
_GFP_THISNODE = 0x40000
_GFP_RECLAIMABLE = 0x80000
_GFP_BITS_SHIFT = 22

GFP_ATOMIC = _GFP_HIGH
GFP_NOWAIT = GFP_ATOMIC & ~_GFP_HIGH
GFP_NOIO = _GFP_WAIT
GFP_NOFS = _GFP_WAIT | _GFP_IO
GFP_KERNEL = _GFP_WAIT | _GFP_IO | _GFP_FS
GFP_USER = _GFP_WAIT | _GFP_IO | _GFP_FS | _GFP_HARDWALL
GFP_HIGHUSER = GFP_USER | _GFP_HIGHMEM
GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | _GFP_MOVABLE
GFP_THISNODE = _GFP_THISNODE | _GFP_NOWARN | _GFP_NORETRY  # CONFIG_NUMA


def gfp_zone(flags: int) -> int:
    """Highest zone an allocation with these flags may use (x86-64: no HIGHMEM)."""
    if flags & _GFP_DMA:
        return ZONE_DMA
    if flags & _GFP_DMA32:
        return ZONE_DMA32
    if flags & _GFP_MOVABLE and flags & _GFP_HIGHMEM:
        return ZONE_MOVABLE
    return ZONE_NORMAL
