"""Model of mm/filemap.c and struct address_space (include/linux/fs.h).

The page tree is a dict from index to page with the radix tree's operations
(lookup_slot / deref_slot / replace_slot) and its DIRTY and WRITEBACK tags.
A page in the page cache holds one reference for the cache.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .bug import BUG_ON, VM_BUG_ON
from .gfp import GFP_HIGHUSER_MOVABLE
from .mmzone import ZoneStatItem
from .page import (
    PAGE_MAPPING_ANON,
    Page,
    PageLocked,
    PageMapping,
    PageSwapBacked,
    PageUptodate,
    PG_swapcache,
    _ClearPageLocked,
    _SetPageLocked,
    get_page,
    get_page_unless_zero,
)
from .spinlock import SpinLock, spin_lock_irq, spin_unlock_irq

if TYPE_CHECKING:
    from ..machine import Machine
    from .fs import Inode
    from .sched import SchedulerHost

NR_FILE_PAGES: Final = int(ZoneStatItem.NR_FILE_PAGES)
NR_SHMEM: Final = int(ZoneStatItem.NR_SHMEM)
PAGECACHE_TAG_DIRTY: Final = 0
PAGECACHE_TAG_WRITEBACK: Final = 1
AOP_WRITEPAGE_ACTIVATE: Final = 0x80000

WritePage = Callable[[Page, object], int]
MigratePage = Callable[["AddressSpace", Page, Page], int]


@dataclass(frozen=True)
class AddressSpaceOperations:
    """struct address_space_operations: an empty slot keeps its meaning (None),
    which is how move_to_new_page and writeout decide what to do."""

    name: str
    writepage: WritePage | None = None
    readpage: Callable[[Inode, Page], int] | None = None
    set_page_dirty: Callable[[Page], int] | None = None
    releasepage: Callable[[Page, int], int] | None = None
    migratepage: MigratePage | None = None


class AddressSpace(PageMapping):
    """struct address_space."""

    __slots__ = (
        "a_ops",
        "bdi_reclaimable",
        "cap_account_dirty",
        "cap_writeback",
        "flags",
        "host",
        "i_mmap",
        "nrpages",
        "page_tree",
        "private",
        "tags",
        "tree_lock",
    )

    def __init__(self, host_machine: Machine, host: Inode | None = None,
                 a_ops: AddressSpaceOperations | None = None, *, account_dirty: bool = True,
                 writeback: bool = True) -> None:
        super().__init__(0)  # a file's mapping carries no tag
        self.host = host
        self.flags = GFP_HIGHUSER_MOVABLE
        self.a_ops = a_ops or AddressSpaceOperations("none")
        self.page_tree: dict[int, Page] = {}
        self.tags: tuple[set[int], set[int]] = (set(), set())
        self.nrpages = 0
        self.tree_lock = SpinLock(host_machine, "tree_lock")
        self.i_mmap: list[object] = []  # the VMAs mapping this file
        self.cap_account_dirty = account_dirty
        self.cap_writeback = writeback
        self.bdi_reclaimable = 0
        self.private: object = None

    def __repr__(self) -> str:
        return f"<address_space {self.a_ops.name} nrpages={self.nrpages}>"

    # radix tree operations (lib/radix-tree.c) ------------------------------------------

    def radix_tree_lookup_slot(self, index: int) -> int | None:
        """The slot of ``index`` (the model's slot is the index itself), or None."""
        return index if index in self.page_tree else None

    def radix_tree_deref_slot(self, slot: int) -> Page | None:
        return self.page_tree.get(slot)

    def radix_tree_replace_slot(self, slot: int, page: Page) -> None:
        self.page_tree[slot] = page

    def tag_set(self, index: int, tag: int) -> None:
        if index in self.page_tree:
            self.tags[tag].add(index)

    def tag_clear(self, index: int, tag: int) -> None:
        self.tags[tag].discard(index)


_SWAPCACHE: Final = 1 << PG_swapcache


def page_mapping(page: Page) -> AddressSpace | None:
    """The address_space a page belongs to: swapper_space for swap-cache pages,
    None for anonymous pages, else page->mapping (include/linux/mm.h)."""
    if page.flags & _SWAPCACHE:
        return page.zone.machine.swapper_space
    mapping = page.mapping
    if mapping is None or mapping.mapping_flags & PAGE_MAPPING_ANON:
        return None
    return mapping  # type: ignore[return-value]  # untagged: an address_space


# --- the page cache -----------------------------------------------------------------------


def add_to_page_cache_locked(page: Page, mapping: AddressSpace, offset: int) -> int:
    """Insert a locked page at ``offset``; -EEXIST if the slot is taken."""
    import errno

    from .memcontrol import mem_cgroup_cache_charge

    VM_BUG_ON(not PageLocked(page), page, "add_to_page_cache of an unlocked page")
    error = mem_cgroup_cache_charge(page, mapping)
    if error:
        return error
    spin_lock_irq(mapping.tree_lock)
    if offset in mapping.page_tree:
        spin_unlock_irq(mapping.tree_lock)
        from .memcontrol import mem_cgroup_uncharge_cache_page

        mem_cgroup_uncharge_cache_page(page)
        return -errno.EEXIST
    get_page(page)
    page.mapping = mapping
    page.index = offset
    mapping.page_tree[offset] = page
    mapping.nrpages += 1
    page.zone.vm_stat[NR_FILE_PAGES] += 1
    if PageSwapBacked(page):
        page.zone.vm_stat[NR_SHMEM] += 1
    spin_unlock_irq(mapping.tree_lock)
    return 0


def add_to_page_cache(page: Page, mapping: AddressSpace, offset: int) -> int:
    _SetPageLocked(page)
    error = add_to_page_cache_locked(page, mapping, offset)
    if error:
        _ClearPageLocked(page)
    return error


def add_to_page_cache_lru(page: Page, mapping: AddressSpace, offset: int) -> int:
    """Add to the cache and to the LRU (anon list for shmem, file list otherwise)."""
    from .swap import lru_cache_add_anon, lru_cache_add_file

    ret = add_to_page_cache(page, mapping, offset)
    if ret == 0:
        if PageSwapBacked(page):
            lru_cache_add_anon(page)
        else:
            lru_cache_add_file(page)
    return ret


def _remove_from_page_cache(page: Page) -> None:
    """__remove_from_page_cache: tree_lock held; the caller drops the cache reference."""
    from .memcontrol import mem_cgroup_uncharge_cache_page
    from .page import PageDirty

    mapping = page.mapping
    assert isinstance(mapping, AddressSpace)
    del mapping.page_tree[page.index]
    for tag in mapping.tags:
        tag.discard(page.index)
    page.mapping = None
    mapping.nrpages -= 1
    page.zone.vm_stat[NR_FILE_PAGES] -= 1
    if PageSwapBacked(page):
        page.zone.vm_stat[NR_SHMEM] -= 1
    BUG_ON(page._mapcount >= 0, "removing a mapped page from the page cache")
    # A dirty page leaving the cache (truncate) stops counting as dirty.
    if PageDirty(page) and mapping.cap_account_dirty:
        page.zone.vm_stat[ZoneStatItem.NR_FILE_DIRTY] -= 1
        mapping.bdi_reclaimable -= 1
    mem_cgroup_uncharge_cache_page(page)


def remove_from_page_cache(page: Page) -> None:
    mapping = page.mapping
    assert isinstance(mapping, AddressSpace)
    BUG_ON(not PageLocked(page), "remove_from_page_cache of an unlocked page")
    spin_lock_irq(mapping.tree_lock)
    _remove_from_page_cache(page)
    spin_unlock_irq(mapping.tree_lock)


def find_get_page(mapping: AddressSpace, offset: int) -> Page | None:
    """Look up a cached page and take a reference (speculatively: a page whose
    count is frozen by migration is retried, here: reported absent)."""
    page = mapping.page_tree.get(offset)
    if page is None or not get_page_unless_zero(page):
        return None
    return page


def find_lock_page(mapping: AddressSpace, offset: int) -> Page | None:
    from .pagemap import lock_page, unlock_page
    from .swap import put_page

    while True:
        page = find_get_page(mapping, offset)
        if page is None:
            return None
        lock_page(page)
        if page.mapping is mapping and page.index == offset:
            return page
        unlock_page(page)  # truncated or migrated meanwhile: look again
        put_page(page)


def page_cache_alloc(machine: SchedulerHost, mapping: AddressSpace) -> Page | None:
    from .mempolicy import alloc_pages_current
    from .pagemap import mapping_gfp_mask

    return alloc_pages_current(machine, mapping_gfp_mask(mapping))  # type: ignore[arg-type]


def find_or_create_page(mapping: AddressSpace, index: int, machine: SchedulerHost,
                        swap_backed: bool = False) -> Page | None:
    """A locked page at ``index``, read from its backing store if it was not cached."""
    from .page import SetPageSwapBacked
    from .swap import put_page

    while True:
        page = find_lock_page(mapping, index)
        if page is not None:
            return page
        page = page_cache_alloc(machine, mapping)
        if page is None:
            return None
        if swap_backed:
            SetPageSwapBacked(page)
        err = add_to_page_cache_lru(page, mapping, index)
        if err == 0:
            return page  # locked, with the allocation's reference for the caller
        put_page(page)
        if err != -errno.EEXIST:  # a memcg charge failed: no page
            return None


def read_cache_page_locked(mapping: AddressSpace, index: int, machine: SchedulerHost) -> Page | None:
    """Find or create the page and make it uptodate through ->readpage."""
    from .pagemap import lock_page

    page = find_or_create_page(mapping, index, machine)
    if page is None:
        return None
    if not PageUptodate(page) and mapping.a_ops.readpage is not None and mapping.host is not None:
        mapping.a_ops.readpage(mapping.host, page)  # unlocks the page when the read is done
        lock_page(page)
    return page


def filemap_fdatawrite(mapping: AddressSpace) -> int:
    """Start writeback of every dirty page of the mapping (WB_SYNC_NONE); the
    I/O completes later. Returns the first writepage error, or 0."""
    from .page import PageDirty, PageWriteback
    from .page_writeback import clear_page_dirty_for_io
    from .pagemap import lock_page, unlock_page

    err = 0
    # shmem, ramfs and swap have BDI_CAP_NO_WRITEBACK: only reclaim writes them.
    if not mapping.cap_writeback:
        return 0
    for index in sorted(mapping.page_tree):
        page = mapping.page_tree.get(index)
        if page is None or not PageDirty(page) or mapping.a_ops.writepage is None:
            continue
        lock_page(page)
        if PageWriteback(page) or not clear_page_dirty_for_io(page):
            unlock_page(page)
            continue
        rc = mapping.a_ops.writepage(page, None)
        if rc < 0 and not err:
            err = rc
    return err
