"""Model of the LRU isolation part of mm/vmscan.c (2.6.35)."""

from __future__ import annotations

from typing import Final

from .bug import VM_BUG_ON
from .errno_base import EBUSY
from .filemap import page_mapping
from .mm_inline import del_page_from_lru_list, page_lru
from .mmap import VmAreaStruct
from .mmzone import LRU_FILE, LRU_UNEVICTABLE
from .page import (
    Page,
    PG_active,
    PG_lru,
    PG_mlocked,
    PG_swapbacked,
    PG_unevictable,
    get_page_unless_zero,
)
from .pagemap import mapping_unevictable
from .spinlock import spin_lock_irq, spin_unlock_irq
from .swap import add_page_to_unevictable_list, lru_cache_add_lru, put_page
from .vmstat import UNEVICTABLE_PGCULLED, UNEVICTABLE_PGRESCUED

_LRU: Final = 1 << PG_lru
_ACTIVE: Final = 1 << PG_active
_UNEVICTABLE: Final = 1 << PG_unevictable
_MLOCKED: Final = 1 << PG_mlocked
_SWAPBACKED: Final = 1 << PG_swapbacked


def page_evictable(page: Page, vma: object = None) -> bool:
    """False for pages of an AS_UNEVICTABLE mapping (ramfs, SHM_LOCK) and mlocked pages."""
    if mapping_unevictable(page_mapping(page)):
        return False
    if page.flags & _MLOCKED or (vma is not None and _is_mlocked_vma(vma, page)):
        return False
    return True


def _is_mlocked_vma(vma: object, page: Page) -> bool:
    assert isinstance(vma, VmAreaStruct)
    return _mlock.is_mlocked_vma(vma, page)


def isolate_lru_page(page: Page) -> int:
    """Take the page off its LRU list with an extra reference.

    Context: the caller holds a reference. The page keeps PG_active /
    PG_unevictable to remember its list.
    Return: 0, or -EBUSY if the page is not on an LRU list (a pagevec, another
    isolator, or being freed).
    Kernel: mm/vmscan.c isolate_lru_page.
    """
    ret = -EBUSY
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
    flags = page.flags
    active = flags & _ACTIVE != 0  # TestClearPageActive
    was_unevictable = flags & _UNEVICTABLE != 0
    page.flags = flags & ~_ACTIVE
    if flags & _LRU:
        VM_BUG_ON(True, page, "putback_lru_page of a page on an LRU")
    while True:
        page.flags &= ~_UNEVICTABLE  # ClearPageUnevictable
        if page_evictable(page, None):
            lru = int(active) + (0 if page.flags & _SWAPBACKED else LRU_FILE)  # page_lru_base_type
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
    if was_unevictable and lru != LRU_UNEVICTABLE:
        page.zone.machine.vm_events[UNEVICTABLE_PGRESCUED] += 1
    elif not was_unevictable and lru == LRU_UNEVICTABLE:
        page.zone.machine.vm_events[UNEVICTABLE_PGCULLED] += 1
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


# --- reclaim (shrink_inactive_list / shrink_page_list, 2.6.35) ---------------------------------

PAGE_KEEP, PAGE_ACTIVATE, PAGE_SUCCESS, PAGE_CLEAN = range(4)


class ReclaimWbc:
    """The writeback_control pageout() passes: one page, for reclaim."""

    sync_mode = "WB_SYNC_NONE"
    nr_to_write = 32
    for_reclaim = 1


def is_page_cache_freeable(page: Page) -> bool:
    """Only the cache and the isolation hold it (plus buffers)."""
    from .page import page_count, page_has_private

    return page_count(page) - page_has_private(page) == 2


def pageout(page: Page, mapping: object) -> int:
    """Start writing a dirty page for reclaim. Context: page locked."""
    from .filemap import AOP_WRITEPAGE_ACTIVATE, AddressSpace
    from .mmzone import ZoneStatItem
    from .page import ClearPageReclaim, PageWriteback, SetPageReclaim, page_has_private
    from .page_writeback import clear_page_dirty_for_io

    if not is_page_cache_freeable(page):
        return PAGE_KEEP
    if mapping is None:
        if page_has_private(page):
            from .buffer import try_to_free_buffers

            try_to_free_buffers(page)
        return PAGE_KEEP
    assert isinstance(mapping, AddressSpace)
    if mapping.a_ops.writepage is None:
        return PAGE_ACTIVATE
    if clear_page_dirty_for_io(page):
        SetPageReclaim(page)
        res = mapping.a_ops.writepage(page, ReclaimWbc())
        if res == AOP_WRITEPAGE_ACTIVATE:
            ClearPageReclaim(page)
            return PAGE_ACTIVATE
        if not PageWriteback(page):
            ClearPageReclaim(page)
        page.zone.vm_stat[ZoneStatItem.NR_VMSCAN_WRITE] += 1
        return PAGE_SUCCESS
    return PAGE_CLEAN


def _remove_mapping(mapping: object, page: Page) -> bool:
    """__remove_mapping: drop a clean, otherwise unreferenced page from its cache."""
    from .filemap import AddressSpace, _remove_from_page_cache
    from .memcontrol import mem_cgroup_uncharge_cache_page
    from .page import PageDirty, PageSwapCache, page_freeze_refs, page_unfreeze_refs
    from .spinlock import spin_lock_irq, spin_unlock_irq
    from .swap_state import _delete_from_swap_cache
    from .swapfile import swapcache_free

    assert isinstance(mapping, AddressSpace)
    spin_lock_irq(mapping.tree_lock)
    if not page_freeze_refs(page, 2):
        spin_unlock_irq(mapping.tree_lock)
        return False
    if PageDirty(page):
        page_unfreeze_refs(page, 2)
        spin_unlock_irq(mapping.tree_lock)
        return False
    if PageSwapCache(page):
        entry = page.private
        assert isinstance(entry, int)
        _delete_from_swap_cache(page)
        spin_unlock_irq(mapping.tree_lock)
        swapcache_free(page.zone.machine, entry, page)
    else:
        _remove_from_page_cache(page)
        spin_unlock_irq(mapping.tree_lock)
        mem_cgroup_uncharge_cache_page(page)
    return True


def shrink_page(page: Page) -> str:
    """shrink_page_list for one isolated page: 'freed', 'keep', 'activate' or 'cull'.
    On 'freed' the page is gone; otherwise the caller puts it back."""
    from .page import (
        PageAnon,
        PageDirty,
        PageSwapCache,
        PageWriteback,
        TestClearPageReferenced,
        page_has_private,
        page_mapped,
    )
    from .page_alloc import free_hot_cold_page
    from .pagemap import trylock_page, unlock_page
    from .rmap import (
        SWAP_AGAIN,
        SWAP_FAIL,
        SWAP_MLOCK,
        SWAP_SUCCESS,
        TTU_UNMAP,
        page_referenced,
        try_to_unmap,
    )
    from .swap_state import add_to_swap

    if not trylock_page(page):
        return "keep"
    if not page_evictable(page, None):
        unlock_page(page)
        return "cull"
    if PageWriteback(page):
        unlock_page(page)
        return "keep"
    # page_check_references: the model reclaims like the kernel's high-order
    # (lumpy) path, which reclaims referenced pages too; the scan still
    # clears the young bits so try_to_unmap finds the ptes old.
    page_referenced(page)
    TestClearPageReferenced(page)
    # Anonymous process memory has backing store?
    if PageAnon(page) and not PageSwapCache(page) and not add_to_swap(page):
        unlock_page(page)
        return "activate"
    mapping = page_mapping(page)
    if page_mapped(page) and mapping is not None:
        ret = try_to_unmap(page, TTU_UNMAP)
        if ret != SWAP_SUCCESS:
            unlock_page(page)
            return {SWAP_FAIL: "activate", SWAP_AGAIN: "keep", SWAP_MLOCK: "cull"}[ret]
    if PageDirty(page):
        res = pageout(page, mapping)
        if res in (PAGE_KEEP, PAGE_ACTIVATE):
            unlock_page(page)
            return "keep" if res == PAGE_KEEP else "activate"
        if res == PAGE_SUCCESS:
            # writepage unlocked the page; it is freed by a later pass once clean.
            return "keep"
    if page_has_private(page):
        if not try_to_release_page(page, 0):
            unlock_page(page)
            return "activate"
    if mapping is None or not _remove_mapping(mapping, page):
        unlock_page(page)
        return "keep"
    from .page import _ClearPageLocked

    _ClearPageLocked(page)
    free_hot_cold_page(page)
    return "freed"


def shrink_zone_lists(machine: object, zone: object, nr_to_scan: int) -> int:
    """Reclaim from a zone's inactive lists (file first, then anon), tail first."""
    from .mm_inline import page_is_file_cache
    from .mmzone import LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, Zone, ZoneStatItem
    from .page import SetPageActive

    assert isinstance(zone, Zone)
    reclaimed = 0
    for lru in (LRU_INACTIVE_FILE, LRU_INACTIVE_ANON):
        head = zone.lru[lru]
        # Scan from the tail, the oldest pages first.
        candidates = list(head)[::-1][: nr_to_scan - reclaimed]
        for page in candidates:
            if isolate_lru_page(page) != 0:
                continue
            item = ZoneStatItem.NR_ISOLATED_ANON + page_is_file_cache(page)
            zone.vm_stat[item] += 1
            outcome = shrink_page(page)
            if outcome == "freed":
                zone.vm_stat[item] -= 1
                reclaimed += 1
                continue
            if outcome == "activate":
                SetPageActive(page)
            zone.vm_stat[item] -= 1
            putback_lru_page(page)
        if reclaimed >= nr_to_scan:
            break
    return reclaimed


# Imported last: mlock imports this module (a cycle resolved at call time).
from . import mlock as _mlock  # noqa: E402
