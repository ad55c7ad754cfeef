"""Model of the LRU isolation part of mm/vmscan.c (2.6.35)."""

from __future__ import annotations

import errno

from .bug import VM_BUG_ON
from .filemap import page_mapping
from .mm_inline import del_page_from_lru_list, page_lru, page_lru_base_type
from .mmzone import LRU_UNEVICTABLE
from .page import (
    ClearPageUnevictable,
    Page,
    PageMlocked,
    PageUnevictable,
    PG_lru,
    TestClearPageActive,
    get_page_unless_zero,
)
from .pagemap import mapping_unevictable
from .spinlock import spin_lock_irq, spin_unlock_irq
from .swap import add_page_to_unevictable_list, lru_cache_add_lru, put_page
from .vmstat import UNEVICTABLE_PGCULLED, UNEVICTABLE_PGRESCUED

_LRU = 1 << PG_lru


def page_evictable(page: Page, vma: object = None) -> bool:
    """False for pages of an AS_UNEVICTABLE mapping (ramfs, SHM_LOCK) and mlocked pages."""
    if mapping_unevictable(page_mapping(page)):
        return False
    if PageMlocked(page) or (vma is not None and _is_mlocked_vma(vma, page)):
        return False
    return True


def _is_mlocked_vma(vma: object, page: Page) -> bool:
    # VMAs arrive with the virtual-memory model; until then no caller passes one.
    return False


def isolate_lru_page(page: Page) -> int:
    """Take the page off its LRU list with an extra reference.

    Context: the caller holds a reference. The page keeps PG_active /
    PG_unevictable to remember its list.
    Return: 0, or -EBUSY if the page is not on an LRU list (a pagevec, another
    isolator, or being freed).
    Kernel: mm/vmscan.c isolate_lru_page.
    """
    ret = -errno.EBUSY
    if page.flags & _LRU:
        zone = page.zone
        spin_lock_irq(zone.lru_lock)
        if page.flags & _LRU and get_page_unless_zero(page):
            lru = page_lru(page)
            ret = 0
            page.flags &= ~_LRU
            del_page_from_lru_list(zone, page, lru)
        spin_unlock_irq(zone.lru_lock)
    return ret


def putback_lru_page(page: Page) -> None:
    """Put an isolated page back on the right LRU list (or the unevictable
    list), then drop the isolation reference, which may free it.

    Kernel: mm/vmscan.c putback_lru_page (2.6.35).
    """
    active = TestClearPageActive(page)
    was_unevictable = PageUnevictable(page)
    VM_BUG_ON(page.flags & _LRU, page, "putback_lru_page of a page on an LRU")
    while True:
        ClearPageUnevictable(page)
        if page_evictable(page, None):
            lru = int(active) + page_lru_base_type(page)
            lru_cache_add_lru(page, lru)
        else:
            lru = LRU_UNEVICTABLE
            add_page_to_unevictable_list(page)
        # The page may have become evictable while we put it on the
        # unevictable list; if so, isolate it again and redo.
        if lru == LRU_UNEVICTABLE and page_evictable(page, None):
            if isolate_lru_page(page) == 0:
                put_page(page)
                continue
        break
    machine = page.zone.machine
    if was_unevictable and lru != LRU_UNEVICTABLE:
        machine.vm_events[UNEVICTABLE_PGRESCUED] += 1
    elif not was_unevictable and lru == LRU_UNEVICTABLE:
        machine.vm_events[UNEVICTABLE_PGCULLED] += 1
    put_page(page)  # drop ref from isolate


def try_to_release_page(page: Page, gfp_mask: int) -> int:
    """Ask the filesystem to drop the page's private data (mm/filemap.c).
    Context: page locked. Return: 1 when released, 0 otherwise."""
    from .buffer import try_to_free_buffers
    from .page import PageLocked, PageWriteback

    VM_BUG_ON(not PageLocked(page), page, "try_to_release_page of an unlocked page")
    if PageWriteback(page):
        return 0
    mapping = page_mapping(page)
    if mapping is not None and mapping.a_ops.releasepage is not None:
        return mapping.a_ops.releasepage(page, gfp_mask)
    return try_to_free_buffers(page)
