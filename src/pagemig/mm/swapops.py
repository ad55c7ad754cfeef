"""Model of include/linux/swapops.h and the swap-type layout of include/linux/swap.h.

A swap entry is an int packing a 5-bit type above the offset. Migration
entries are swap entries of the two reserved types just above the hwpoison
type; their offset is the pfn of the page under migration.
"""

from __future__ import annotations

from typing import Final

MAX_SWAPFILES_SHIFT: Final = 5
SWP_MIGRATION_NUM: Final = 2
SWP_HWPOISON_NUM: Final = 1
MAX_SWAPFILES: Final = (1 << MAX_SWAPFILES_SHIFT) - SWP_MIGRATION_NUM - SWP_HWPOISON_NUM  # 29
SWP_HWPOISON: Final = MAX_SWAPFILES  # 29
SWP_MIGRATION_READ: Final = MAX_SWAPFILES + SWP_HWPOISON_NUM  # 30
SWP_MIGRATION_WRITE: Final = SWP_MIGRATION_READ + 1  # 31

# The kernel puts the type at BITS_PER_LONG - MAX_SWAPFILES_SHIFT (bit 59);
# the model puts it at bit 57 so that every entry stays below 2**62, a native
# int in the compiled build (a migration entry at bit 59 would be a boxed
# long in every operation on it). Only this file and the pte conversion in
# pgtable.py see the layout; offsets keep 57 bits, ample for any pfn.
SWP_TYPE_SHIFT: Final = 57
SWP_OFFSET_MASK: Final = (1 << SWP_TYPE_SHIFT) - 1


def swp_entry(type_: int, offset: int) -> int:
    return (type_ << SWP_TYPE_SHIFT) | (offset & SWP_OFFSET_MASK)


def swp_type(entry: int) -> int:
    return entry >> SWP_TYPE_SHIFT


def swp_offset(entry: int) -> int:
    return entry & SWP_OFFSET_MASK


def make_migration_entry(pfn: int, write: bool) -> int:
    """Caller must hold the page lock (checked by the rmap code that calls this)."""
    # swp_entry(SWP_MIGRATION_WRITE or _READ, pfn)
    return ((SWP_MIGRATION_WRITE if write else SWP_MIGRATION_READ) << SWP_TYPE_SHIFT) \
        | (pfn & SWP_OFFSET_MASK)


def is_migration_entry(entry: int) -> bool:
    return entry >> SWP_TYPE_SHIFT in (SWP_MIGRATION_READ, SWP_MIGRATION_WRITE)  # swp_type


def is_write_migration_entry(entry: int) -> bool:
    return entry >> SWP_TYPE_SHIFT == SWP_MIGRATION_WRITE  # swp_type


def make_migration_entry_read(entry: int) -> int:
    """Downgrade a write migration entry (fork of a COW mapping)."""
    return swp_entry(SWP_MIGRATION_READ, swp_offset(entry))


def migration_entry_to_pfn(entry: int) -> int:
    return entry & SWP_OFFSET_MASK  # swp_offset


def is_hwpoison_entry(entry: int) -> bool:
    return swp_type(entry) == SWP_HWPOISON
