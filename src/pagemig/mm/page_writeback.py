"""Model of mm/page-writeback.c: dirty and writeback state of page-cache pages.

Dirty pages of mappings that account dirty memory (regular files) count in
NR_FILE_DIRTY and carry the radix tree's DIRTY tag; shmem, swap and ramfs do
not account them. Writeback state counts in NR_WRITEBACK.
"""

from __future__ import annotations

from typing import Final

from .bug import BUG_ON
from .filemap import PAGECACHE_TAG_DIRTY, PAGECACHE_TAG_WRITEBACK, AddressSpace, page_mapping
from .mmzone import ZoneStatItem
from .page import (
    ClearPageReclaim,
    Page,
    PageDirty,
    PageReclaim,
    PG_dirty,
    PG_locked,
    PG_reclaim,
    TestClearPageDirty,
    TestClearPageReclaim,
    TestClearPageWriteback,
    TestSetPageDirty,
    TestSetPageWriteback,
    page_index,
)
from .spinlock import spin_lock_irq, spin_unlock_irq

NR_FILE_DIRTY: Final = int(ZoneStatItem.NR_FILE_DIRTY)
_DIRTY: Final = 1 << PG_dirty
_LOCKED: Final = 1 << PG_locked
_RECLAIM: Final = 1 << PG_reclaim
NR_WRITEBACK: Final = int(ZoneStatItem.NR_WRITEBACK)


def mapping_cap_account_dirty(mapping: AddressSpace) -> bool:
    return mapping.cap_account_dirty


def account_page_dirtied(page: Page, mapping: AddressSpace) -> None:
    if mapping_cap_account_dirty(mapping):
        page.zone.vm_stat[NR_FILE_DIRTY] += 1
        mapping.bdi_reclaimable += 1


def _set_page_dirty_nobuffers(page: Page) -> int:
    """__set_page_dirty_nobuffers: PG_dirty, the DIRTY tag and the accounting,
    without touching buffers (a partial-page dirtying)."""
    if not TestSetPageDirty(page):
        mapping = page_mapping(page)
        if mapping is None:
            return 1
        spin_lock_irq(mapping.tree_lock)
        if page_mapping(page) is not None:
            account_page_dirtied(page, mapping)
            mapping.tag_set(page_index(page), PAGECACHE_TAG_DIRTY)
        spin_unlock_irq(mapping.tree_lock)
        if mapping.host is not None:
            mapping.host.dirty = True
        return 1
    return 0


def set_page_dirty(page: Page) -> int:
    """Dirty a page through its mapping's ->set_page_dirty (buffers by default)."""
    mapping = page_mapping(page)
    if mapping is not None:
        spd = mapping.a_ops.set_page_dirty
        if PageReclaim(page):
            ClearPageReclaim(page)
        if spd is None:
            spd = _buffer._set_page_dirty_buffers
        return spd(page)
    flags = page.flags
    if not flags & _DIRTY:  # !PageDirty && !TestSetPageDirty
        page.flags = flags | _DIRTY
        return 1
    return 0


def clear_page_dirty_for_io(page: Page) -> int:
    """Clear PG_dirty before writing the page out; returns whether it was dirty.
    Context: page locked."""
    flags = page.flags
    if not flags & _LOCKED:
        BUG_ON(True, "clear_page_dirty_for_io of an unlocked page")
    page.flags = flags & ~_RECLAIM  # ClearPageReclaim
    mapping = page_mapping(page)
    if mapping is not None and mapping_cap_account_dirty(mapping):
        if _rmap.page_mkclean(page):
            set_page_dirty(page)
        if TestClearPageDirty(page):
            page.zone.vm_stat[NR_FILE_DIRTY] -= 1
            mapping.bdi_reclaimable -= 1
            return 1
        return 0
    flags = page.flags  # TestClearPageDirty
    page.flags = flags & ~_DIRTY
    return 1 if flags & _DIRTY else 0


def test_set_page_writeback(page: Page) -> bool:
    mapping = page_mapping(page)
    if mapping is not None:
        spin_lock_irq(mapping.tree_lock)
        ret = TestSetPageWriteback(page)
        if not ret:
            mapping.tag_set(page_index(page), PAGECACHE_TAG_WRITEBACK)
        if not PageDirty(page):
            mapping.tag_clear(page_index(page), PAGECACHE_TAG_DIRTY)
        spin_unlock_irq(mapping.tree_lock)
    else:
        ret = TestSetPageWriteback(page)
    if not ret:
        page.zone.vm_stat[NR_WRITEBACK] += 1
    return ret


def test_clear_page_writeback(page: Page) -> bool:
    mapping = page_mapping(page)
    if mapping is not None:
        spin_lock_irq(mapping.tree_lock)
        ret = TestClearPageWriteback(page)
        if ret:
            mapping.tag_clear(page_index(page), PAGECACHE_TAG_WRITEBACK)
        spin_unlock_irq(mapping.tree_lock)
    else:
        ret = TestClearPageWriteback(page)
    if ret:
        page.zone.vm_stat[NR_WRITEBACK] -= 1
    return ret


def set_page_writeback(page: Page) -> None:
    test_set_page_writeback(page)


def end_page_writeback(page: Page) -> None:
    """Writeback finished: clear PG_writeback (rotating a PG_reclaim page) and wake waiters."""
    if TestClearPageReclaim(page):
        from .swap import rotate_reclaimable_page

        rotate_reclaimable_page(page)
    if not test_clear_page_writeback(page):
        BUG_ON(True, "end_page_writeback of a page not under writeback")


def wait_on_page_writeback(page: Page) -> None:
    """Sleep until writeback of the page completes (a schedule point)."""
    from .page import PageWriteback
    from .sched import wait_until

    machine = page.zone.machine
    if PageWriteback(page):
        machine.complete_writeback_of(page)
    wait_until(machine, lambda: not PageWriteback(page), f"wait_on_page_writeback(pfn {page.pfn:#x})")




def cancel_dirty_page(page: Page) -> None:
    """The page's contents no longer matter (truncate, buffers dropped): clear
    PG_dirty and undo its dirty accounting."""
    if TestClearPageDirty(page):
        mapping = page_mapping(page)
        if mapping is not None and mapping_cap_account_dirty(mapping):
            page.zone.vm_stat[NR_FILE_DIRTY] -= 1
            mapping.bdi_reclaimable -= 1


# Imported last: both import this module (a cycle resolved at call time).
from . import buffer as _buffer  # noqa: E402
from . import rmap as _rmap  # noqa: E402
