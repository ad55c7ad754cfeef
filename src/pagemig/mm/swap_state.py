"""Model of mm/swap_state.c and the swap-in half of mm/memory.c's do_swap_page.

The swap cache is ``swapper_space``: its tree is keyed by the swap entry,
a swap-cache page has PG_swapcache and the entry in page->private, holds one
reference for the cache and counts in NR_FILE_PAGES.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .bug import VM_BUG_ON
from .filemap import AddressSpace, AddressSpaceOperations
from .gfp import GFP_HIGHUSER_MOVABLE
from .highmem import kmap, page_bytes
from .memcontrol import mem_cgroup_newpage_charge
from .memory import (
    FAULT_FLAG_WRITE,
    VM_FAULT_MAJOR,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    do_wp_page,
    maybe_mkwrite,
    mk_pte,
    pte_read,
    set_pte_at,
)
from .mempolicy import alloc_page_vma
from .migrate import migrate_page
from .mmap import MM_ANONPAGES, MM_SWAPENTS, VM_LOCKED
from .mmzone import ZoneStatItem
from .page import (
    ClearPageDirty,
    ClearPageSwapCache,
    Page,
    PageLocked,
    PageMlocked,
    PageSwapBacked,
    PageSwapCache,
    PageUptodate,
    SetPageDirty,
    SetPageSwapBacked,
    SetPageSwapCache,
    SetPageUptodate,
    _ClearPageLocked,
    _SetPageLocked,
    get_page,
    get_page_unless_zero,
    page_mapped,
)
from .page_writeback import _set_page_dirty_nobuffers, set_page_writeback
from .pagemap import lock_page, trylock_page, unlock_page
from .pgtable import pte_mkdirty
from .rmap import page_add_anon_rmap, page_add_new_anon_rmap
from .spinlock import spin_lock, spin_lock_irq, spin_unlock, spin_unlock_irq
from .swap import lru_cache_add_anon, put_page
from .swapfile import (
    get_swap_page,
    reuse_swap_page,
    swap_free,
    swapcache_free,
    swapcache_prepare,
    try_to_free_swap,
    vm_swap_full,
)
from .swapops import swp_offset
from .vmstat import PGMAJFAULT, VM_EVENT_NAMES

if TYPE_CHECKING:
    from ..machine import Machine
    from .mmap import MmStruct, VmAreaStruct

NR_FILE_PAGES: Final = int(ZoneStatItem.NR_FILE_PAGES)
PSWPIN: Final = VM_EVENT_NAMES.index("pswpin")
PSWPOUT: Final = VM_EVENT_NAMES.index("pswpout")


def _add_to_swap_cache(page: Page, entry: int) -> int:
    """__add_to_swap_cache: the caller owns the slot's cache bit; page locked."""
    import errno

    machine = page.zone.machine
    VM_BUG_ON(not PageLocked(page), page, "adding an unlocked page to the swap cache")
    VM_BUG_ON(PageSwapCache(page), page, "page already in the swap cache")
    VM_BUG_ON(not PageSwapBacked(page), page, "swap cache page must be swap-backed")
    space = machine.swapper_space
    get_page(page)
    SetPageSwapCache(page)
    page.private = entry
    spin_lock_irq(space.tree_lock)
    if entry in space.page_tree:
        spin_unlock_irq(space.tree_lock)
        page.private = 0
        ClearPageSwapCache(page)
        put_page(page)
        return -errno.EEXIST
    space.page_tree[entry] = page
    space.nrpages += 1
    page.zone.vm_stat[NR_FILE_PAGES] += 1
    spin_unlock_irq(space.tree_lock)
    return 0


def add_to_swap(page: Page) -> int:
    """Give an anonymous page a swap slot and put it in the swap cache (dirty).
    Return: 1 on success, 0 when swap is full."""
    VM_BUG_ON(not PageLocked(page), page, "add_to_swap of an unlocked page")
    entry = get_swap_page(page.zone.machine)
    if not entry:
        return 0
    if _add_to_swap_cache(page, entry) == 0:
        SetPageDirty(page)
        return 1
    swapcache_free(page.zone.machine, entry, None)
    return 0


def _delete_from_swap_cache(page: Page) -> None:
    space = page.zone.machine.swapper_space
    entry = page.private
    assert isinstance(entry, int)
    del space.page_tree[entry]
    for tag in space.tags:
        tag.discard(entry)
    page.private = 0
    ClearPageSwapCache(page)
    space.nrpages -= 1
    page.zone.vm_stat[NR_FILE_PAGES] -= 1


def delete_from_swap_cache(page: Page) -> None:
    """Leave the swap cache: free the slot's cache bit, drop the cache reference."""
    machine = page.zone.machine
    entry = page.private
    assert isinstance(entry, int)
    spin_lock_irq(machine.swapper_space.tree_lock)
    _delete_from_swap_cache(page)
    spin_unlock_irq(machine.swapper_space.tree_lock)
    swapcache_free(machine, entry, page)
    put_page(page)


def free_page_and_swap_cache(page: Page) -> None:

    if PageSwapCache(page) and not page_mapped(page) and trylock_page(page):
        try_to_free_swap(page)
        unlock_page(page)
    put_page(page)


def lookup_swap_cache_page(machine: Machine, entry: int) -> Page | None:
    """find_get_page(&swapper_space, entry)."""
    page = machine.swapper_space.page_tree.get(entry)
    if page is None or not get_page_unless_zero(page):
        return None
    return page


# --- swap I/O --------------------------------------------------------------------------


def swap_writepage(page: Page, wbc: object) -> int:
    """Write the page to its slot. The I/O completes later (end_page_writeback)."""

    machine = page.zone.machine
    entry = page.private
    assert isinstance(entry, int) and machine.swap_info is not None
    machine.swap_info.data[swp_offset(entry)] = page_bytes(page).copy()
    machine.vm_events[PSWPOUT] += 1
    ClearPageDirty(page)
    set_page_writeback(page)
    unlock_page(page)
    machine.submit_writeback(page)
    return 0


def swap_readpage(page: Page) -> int:
    """Read the slot's bytes into the page (synchronously) and unlock it."""

    machine = page.zone.machine
    entry = page.private
    assert isinstance(entry, int) and machine.swap_info is not None
    data = machine.swap_info.data.get(swp_offset(entry))
    machine.vm_events[PSWPIN] += 1
    dest = kmap(page)
    if data is None:
        dest[:] = 0
    else:
        dest[:] = data
    SetPageUptodate(page)
    unlock_page(page)
    return 0


def read_swap_cache_async(machine: Machine, entry: int, vma: VmAreaStruct, addr: int) -> Page | None:
    """The cached page for ``entry``, or a new page read from swap."""

    while True:
        found = lookup_swap_cache_page(machine, entry)
        if found is not None:
            return found
        new_page = alloc_page_vma(machine, GFP_HIGHUSER_MOVABLE, vma, addr)
        if new_page is None:
            return None
        if swapcache_prepare(machine, entry):
            put_page(new_page)
            if machine.swapper_space.page_tree.get(entry) is None:
                return None  # the slot was freed meanwhile
            continue
        _SetPageLocked(new_page)
        SetPageSwapBacked(new_page)
        if _add_to_swap_cache(new_page, entry):
            _ClearPageLocked(new_page)
            swapcache_free(machine, entry, None)
            put_page(new_page)
            continue
        lru_cache_add_anon(new_page)
        swap_readpage(new_page)
        return new_page


def do_swap_page_swapin(mm: MmStruct, vma: VmAreaStruct, address: int, flags: int,
                        orig_pte: int, entry: int) -> int:
    """The swap-in half of do_swap_page: map the swap-cache page of ``entry``
    at ``address``, or a copy of it where it cannot be shared (what was a KSM
    page comes back from swap as an ordinary anonymous page of the first VMA
    that faults it: the profile's ksm_might_need_to_copy decides).

    Context: mmap_sem held for reading; the pte was ``orig_pte``.
    Return: 0 or VM_FAULT_MAJOR, with VM_FAULT_OOM, VM_FAULT_SIGBUS or
        do_wp_page's bits.
    Kernel: mm/memory.c do_swap_page L2625-L2797 (2.6.35), from lookup_swap_cache.
    """

    machine = mm.machine
    ret = 0
    page = lookup_swap_cache_page(machine, entry)
    if page is None:
        page = read_swap_cache_async(machine, entry, vma, address)
        if page is None:
            # Another fault may have swapped it in meanwhile.
            return 0 if pte_read(mm, address) != orig_pte else VM_FAULT_OOM
        ret = VM_FAULT_MAJOR
        machine.vm_events[PGMAJFAULT] += 1
    lock_page(page)
    if not PageSwapCache(page) or page.private != entry:
        return _swapin_out_page(page, None, ret)  # raced with a swapoff-like removal; retry
    swapcache: Page | None = None
    mapped = machine.kernel.ksm_might_need_to_copy(page, vma, address)
    if mapped is None:
        return _swapin_out_page(page, None, VM_FAULT_OOM)
    if mapped is not page:
        swapcache, page = page, mapped
    if mem_cgroup_newpage_charge_swapin(page, mm):
        return _swapin_out_page(page, swapcache, VM_FAULT_OOM)
    spin_lock(mm.page_table_lock)
    if pte_read(mm, address) != orig_pte:
        spin_unlock(mm.page_table_lock)
        return _swapin_out_page(page, swapcache, ret)
    if not PageUptodate(page):
        spin_unlock(mm.page_table_lock)
        return _swapin_out_page(page, swapcache, VM_FAULT_SIGBUS)
    mm.rss[MM_ANONPAGES] += 1
    mm.rss[MM_SWAPENTS] -= 1
    pte = mk_pte(page, vma.vm_page_prot)
    if flags & FAULT_FLAG_WRITE and reuse_swap_page(page):
        pte = maybe_mkwrite(pte_mkdirty(pte), vma)
        flags &= ~FAULT_FLAG_WRITE
    set_pte_at(mm, address, pte)
    if swapcache is not None and machine.kernel.swapin_copy_new_anon_rmap:
        page_add_new_anon_rmap(page, vma, address)
    else:
        page_add_anon_rmap(page, vma, address)
    swap_free(machine, entry)
    if vm_swap_full(machine) or vma.vm_flags & VM_LOCKED or PageMlocked(page):
        try_to_free_swap(page)
    unlock_page(page)
    if swapcache is not None:
        # Held until after swap_free so the entry cannot be reused before the
        # pte_same check above.
        unlock_page(swapcache)
        put_page(swapcache)
    spin_unlock(mm.page_table_lock)
    # The pte took over the lookup's (or the copy's) reference.
    if flags & FAULT_FLAG_WRITE:
        ret |= do_wp_page(mm, vma, address, pte)
    return ret


def _swapin_out_page(page: Page, swapcache: Page | None, ret: int) -> int:
    """do_swap_page's out_page and out_release labels: unlock and release the
    page (and the swap-cache page a copy was made of)."""
    unlock_page(page)
    put_page(page)
    if swapcache is not None:
        unlock_page(swapcache)
        put_page(swapcache)
    return ret


def mem_cgroup_newpage_charge_swapin(page: Page, mm: MmStruct) -> int:
    """mem_cgroup_try_charge_swapin + commit: charge a swapped-in page once."""

    machine = page.zone.machine
    if page in machine.memcg.page_cgroup:
        return 0
    return mem_cgroup_newpage_charge(page, mm)


def _swap_set_page_dirty(page: Page) -> int:

    return _set_page_dirty_nobuffers(page)


def _swap_migratepage(mapping: AddressSpace, newpage: Page, page: Page) -> int:

    return migrate_page(mapping, newpage, page)


SWAP_AOPS: Final = AddressSpaceOperations("swap_aops", writepage=swap_writepage,
                                   set_page_dirty=_swap_set_page_dirty,
                                   migratepage=_swap_migratepage)


def swapper_space(machine: Machine) -> AddressSpace:
    """The swap cache's address_space: no dirty accounting, swap_aops."""
    return AddressSpace(machine, None, SWAP_AOPS, account_dirty=False, writeback=False)
