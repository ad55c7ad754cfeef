"""Model of include/linux/pagemap.h: page lock, mapping flags, page-cache references."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .bug import VM_BUG_ON
from .page import Page, PG_locked, PG_lru, get_page
from .sched import schedule_point, wait_until
from .swap import put_page

if TYPE_CHECKING:
    from .filemap import AddressSpace

# enum mapping_flags: bits above the gfp mask held in mapping->flags.
_GFP_BITS_SHIFT: Final = 22
AS_EIO: Final = _GFP_BITS_SHIFT + 0
AS_ENOSPC: Final = _GFP_BITS_SHIFT + 1
AS_MM_ALL_LOCKS: Final = _GFP_BITS_SHIFT + 2
AS_UNEVICTABLE: Final = _GFP_BITS_SHIFT + 3
_GFP_MASK: Final = (1 << _GFP_BITS_SHIFT) - 1

_LOCKED: Final = 1 << PG_locked
_LRU: Final = 1 << PG_lru


def mapping_set_unevictable(mapping: AddressSpace) -> None:
    mapping.flags |= 1 << AS_UNEVICTABLE


def mapping_clear_unevictable(mapping: AddressSpace) -> None:
    mapping.flags &= ~(1 << AS_UNEVICTABLE)


def mapping_unevictable(mapping: AddressSpace | None) -> bool:
    return mapping is not None and mapping.flags >> AS_UNEVICTABLE & 1 != 0


def mapping_gfp_mask(mapping: AddressSpace) -> int:
    return mapping.flags & _GFP_MASK


def mapping_set_gfp_mask(mapping: AddressSpace, mask: int) -> None:
    mapping.flags = (mapping.flags & ~_GFP_MASK) | (mask & _GFP_MASK)


def page_cache_get(page: Page) -> None:
    get_page(page)


def page_cache_release(page: Page) -> None:

    put_page(page)


# --- the page lock ----------------------------------------------------------------------


def trylock_page(page: Page) -> bool:
    """Take PG_locked if free; never sleeps (the lock bit is test-and-set).

    Context: any; the caller holds a reference to the page.
    Return: True when the lock was taken. The "trylock_page" fault point
        makes it False as if another task held the lock, but only for a page
        another task could reach (docs/fault-injection.md).
    Kernel: include/linux/pagemap.h trylock_page (2.6.35).
    """
    old = page.flags
    if old & _LOCKED:
        return False
    machine = page.zone.machine
    if (machine.faults.rules and page_may_be_contended(page)
            and machine.should_fail("trylock_page", pfn=page.pfn)):
        return False
    page.flags = old | _LOCKED
    return True


def page_may_be_contended(page: Page) -> bool:
    """Could another task hold this page's lock? Not when only its allocator
    knows the page: one reference, no mapping, on no LRU list. That is the
    new page of a migration, which move_to_new_page locks under BUG_ON
    ("only we hold a reference to it"); the fault point never fires there.

    Context: the caller holds the page's one reference.
    Return: False for a page nobody else can find.
    Kernel: the model's rule for its fault point; the trylock it protects
        is move_to_new_page's, mm/migrate.c L497 (2.6.35).
    """
    return page._count != 1 or page.mapping is not None or bool(page.flags & _LRU)


def lock_page(page: Page) -> None:
    """Take PG_locked, sleeping until the holder unlocks (a schedule point)."""
    machine = page.zone.machine
    schedule_point(machine, "lock_page")
    if not trylock_page(page):
        _wait_on_page_bit_locked(page, "lock_page")
        page.flags |= _LOCKED


def unlock_page(page: Page) -> None:
    VM_BUG_ON(not page.flags & _LOCKED, page, "unlock_page of an unlocked page")
    page.flags &= ~_LOCKED


def wait_on_page_locked(page: Page) -> None:
    if page.flags & _LOCKED:
        _wait_on_page_bit_locked(page, "wait_on_page_locked")


def _wait_on_page_bit_locked(page: Page, caller: str) -> None:
    """Sleep, counted among the page's waiters, until PG_locked is clear
    (the kernel's wait_on_page_bit). A function of its own, so that the
    callers build no closure when the page is not locked."""
    machine = page.zone.machine
    machine.page_waiters[page] = machine.page_waiters.get(page, 0) + 1
    try:
        wait_until(machine, lambda: not page.flags & _LOCKED, f"{caller}(pfn {page.pfn:#x})")
    finally:
        _drop_waiter(page)


def _drop_waiter(page: Page) -> None:
    waiters = page.zone.machine.page_waiters
    left = waiters[page] - 1
    if left:
        waiters[page] = left
    else:
        del waiters[page]


def page_has_waiters(page: Page) -> bool:
    return page in page.zone.machine.page_waiters
