"""Model of include/linux/gfp.h (2.6.35 bit values, x86-64 zone selection).

The kernel's ``__GFP_X`` modifiers are spelled ``_GFP_X`` here (a leading
double underscore is name-mangled inside Python classes).
"""

from __future__ import annotations

from typing import Final

from .mmzone import ZONE_DMA, ZONE_DMA32, ZONE_MOVABLE, ZONE_NORMAL

_GFP_DMA: Final = 0x01
_GFP_HIGHMEM: Final = 0x02
_GFP_DMA32: Final = 0x04
_GFP_MOVABLE: Final = 0x08
_GFP_WAIT: Final = 0x10
_GFP_HIGH: Final = 0x20
_GFP_IO: Final = 0x40
_GFP_FS: Final = 0x80
_GFP_COLD: Final = 0x100
_GFP_NOWARN: Final = 0x200
_GFP_REPEAT: Final = 0x400
_GFP_NOFAIL: Final = 0x800
_GFP_NORETRY: Final = 0x1000
_GFP_COMP: Final = 0x4000
_GFP_ZERO: Final = 0x8000
_GFP_NOMEMALLOC: Final = 0x10000
_GFP_HARDWALL: Final = 0x20000
_GFP_THISNODE: Final = 0x40000
_GFP_RECLAIMABLE: Final = 0x80000
_GFP_BITS_SHIFT: Final = 22

GFP_ATOMIC: Final = _GFP_HIGH
GFP_NOWAIT: Final = GFP_ATOMIC & ~_GFP_HIGH
GFP_NOIO: Final = _GFP_WAIT
GFP_NOFS: Final = _GFP_WAIT | _GFP_IO
GFP_KERNEL: Final = _GFP_WAIT | _GFP_IO | _GFP_FS
GFP_USER: Final = _GFP_WAIT | _GFP_IO | _GFP_FS | _GFP_HARDWALL
GFP_HIGHUSER: Final = GFP_USER | _GFP_HIGHMEM
GFP_HIGHUSER_MOVABLE: Final = GFP_HIGHUSER | _GFP_MOVABLE
GFP_THISNODE: Final = _GFP_THISNODE | _GFP_NOWARN | _GFP_NORETRY  # CONFIG_NUMA


def gfp_zone(flags: int) -> int:
    """Highest zone an allocation with these flags may use (x86-64: no HIGHMEM)."""
    if flags & _GFP_DMA:
        return ZONE_DMA
    if flags & _GFP_DMA32:
        return ZONE_DMA32
    if flags & _GFP_MOVABLE and flags & _GFP_HIGHMEM:
        return ZONE_MOVABLE
    return ZONE_NORMAL
