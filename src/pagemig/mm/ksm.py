"""Model of mm/ksm.c (2.6.35): merging identical anonymous pages.

A KSM page's mapping is its stable node (tagged ANON|KSM, so PageKsm is
derived as in the kernel); the stable node remembers the page's pfn
(``kpfn``) and, through rmap items, every (mm, address, anon_vma) mapping it.
Writes break COW through do_wp_page, which never reuses a KSM page.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Final

from .bug import VM_BUG_ON
from .mmap import (
    VM_DONTEXPAND,
    VM_HUGETLB,
    VM_IO,
    VM_LOCKED,
    VM_MAYSHARE,
    VM_MERGEABLE,
    VM_MIXEDMAP,
    VM_PFNMAP,
    VM_RESERVED,
    VM_SHARED,
    MmStruct,
    VmAreaStruct,
)
from .page import (
    PAGE_MAPPING_ANON,
    PAGE_MAPPING_KSM,
    PAGE_SHIFT,
    Page,
    PageAnon,
    PageKsm,
    PageLocked,
    PageMapping,
    PG_locked,
    get_page,
    page_count,
    page_mapcount,
)
from .pagemap import trylock_page, unlock_page

if TYPE_CHECKING:
    from ..machine import Machine
    from .rmap import AnonVma, RmapOne

_LOCKED: Final = 1 << PG_locked


class RmapItem:
    __slots__ = ("address", "anon_vma", "mm")

    def __init__(self, mm: MmStruct, address: int, anon_vma: AnonVma) -> None:
        self.mm = mm
        self.address = address
        self.anon_vma = anon_vma


class StableNode(PageMapping):
    """struct stable_node: what a KSM page's mapping points at."""

    __slots__ = ("hlist", "kpfn")

    def __init__(self, kpfn: int) -> None:
        super().__init__(PAGE_MAPPING_ANON | PAGE_MAPPING_KSM)
        self.kpfn = kpfn
        self.hlist: list[RmapItem] = []

    def __repr__(self) -> str:
        return f"<stable_node kpfn={self.kpfn:#x} mappers={len(self.hlist)}>"


# ksm_madvise leaves these VMAs alone (VM_INSERTPAGE and VM_SAO are not modelled).
KSM_UNMERGEABLE: Final = (VM_MERGEABLE | VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO
                          | VM_DONTEXPAND | VM_RESERVED | VM_HUGETLB | VM_MIXEDMAP)


def ksm_madvise_mergeable(vm_flags: int) -> int:
    """ksm_madvise(MADV_MERGEABLE): the VMA's new flags (unchanged for the
    VMAs KSM cannot merge)."""
    if vm_flags & KSM_UNMERGEABLE:
        return vm_flags
    return vm_flags | VM_MERGEABLE


def break_ksm(vma: VmAreaStruct, addr: int) -> int:
    """Break COW on the KSM page mapped at ``addr``, if any: a write fault
    gives this mapping a private copy (retried until the fault says it wrote,
    or cannot).

    Context: mmap_sem held; may allocate.
    Return: 0, or -ENOMEM when the fault ran out of memory.
    Kernel: mm/ksm.c break_ksm L360-L406 (2.6.35).
    """
    import errno

    from .memory import (
        FAULT_FLAG_WRITE,
        FOLL_GET,
        VM_FAULT_OOM,
        VM_FAULT_SIGBUS,
        VM_FAULT_WRITE,
        follow_page,
        handle_mm_fault,
    )
    from .swap import put_page

    ret = 0
    while True:
        page = follow_page(vma, addr, FOLL_GET)
        if not isinstance(page, Page):
            break
        if PageKsm(page):
            ret = handle_mm_fault(vma.vm_mm, vma, addr, FAULT_FLAG_WRITE)
        else:
            ret = VM_FAULT_WRITE
        put_page(page)
        if ret & (VM_FAULT_WRITE | VM_FAULT_SIGBUS | VM_FAULT_OOM):
            break
    return -errno.ENOMEM if ret & VM_FAULT_OOM else 0


def unmerge_ksm_pages(vma: VmAreaStruct, start: int, end: int) -> int:
    """Break every KSM page mapped in [start, end) of the VMA.

    Context: mmap_sem held; may allocate.
    Return: 0, or break_ksm's -ENOMEM (the pages before stay unmerged).
    Kernel: mm/ksm.c unmerge_ksm_pages L609-L624 (2.6.35); no signal is
        ever pending in the model.
    """
    err = 0
    addr = start
    while addr < end and not err:
        if vma.vm_mm.mm_users == 0:  # ksm_test_exit
            break
        err = break_ksm(vma, addr)
        addr += 1 << PAGE_SHIFT
    return err


def ksm_madvise_unmergeable(vma: VmAreaStruct, start: int, end: int, vm_flags: int) -> int:
    """ksm_madvise(MADV_UNMERGEABLE): unmerge the range of a mergeable VMA.
    The caller decides whether to clear VM_MERGEABLE (move_vma does not: KSM
    may merge the moved pages again).

    Context: mmap_sem held; ``vm_flags`` is the caller's copy of the flags.
    Return: 0 (also for a VMA that is not mergeable), or -ENOMEM.
    Kernel: mm/ksm.c ksm_madvise L1435-L1446 (2.6.35).
    """
    if not vm_flags & VM_MERGEABLE:
        return 0  # just ignore the advice
    if vma.anon_vma is not None:
        return unmerge_ksm_pages(vma, start, end)
    return 0


def page_stable_node(page: Page) -> StableNode | None:
    if not PageKsm(page):
        return None
    assert isinstance(page.mapping, StableNode)
    return page.mapping


def ksm_migrate_page(newpage: Page, oldpage: Page) -> None:
    """After migration the stable node points at the new pfn. Both pages locked."""
    if not oldpage.flags & newpage.flags & _LOCKED or newpage.mapping is not oldpage.mapping:
        VM_BUG_ON(not PageLocked(oldpage), oldpage, "ksm_migrate_page: old page unlocked")
        VM_BUG_ON(not PageLocked(newpage), newpage, "ksm_migrate_page: new page unlocked")
        VM_BUG_ON(newpage.mapping is not oldpage.mapping, newpage, "mappings differ")
    stable_node = page_stable_node(newpage)
    if stable_node is not None:
        VM_BUG_ON(stable_node.kpfn != oldpage.pfn, oldpage, "stale stable node")
        stable_node.kpfn = newpage.pfn


def _walk_ksm(page: Page, rmap_one: RmapOne, arg: object, until_unmapped: bool) -> int:
    """Visit every VMA mapping a KSM page: first those of the mm that merged
    it, then (search_new_forks) those of forked children sharing the anon_vma."""
    from .rmap import SWAP_AGAIN
    from .spinlock import spin_lock, spin_unlock

    VM_BUG_ON(not PageKsm(page), page, "KSM rmap walk of a non-KSM page")
    VM_BUG_ON(not PageLocked(page), page, "KSM rmap walk of an unlocked page")
    stable_node = page_stable_node(page)
    ret = SWAP_AGAIN
    if stable_node is None:
        return ret
    for search_new_forks in (False, True):
        for item in list(stable_node.hlist):
            anon_vma = item.anon_vma
            spin_lock(anon_vma.lock)
            try:
                for avc in list(anon_vma.head):
                    vma = avc.vma
                    if not vma.contains(item.address):
                        continue
                    if (item.mm is vma.vm_mm) == search_new_forks:
                        continue
                    ret = rmap_one(page, vma, item.address, arg)
                    if ret != SWAP_AGAIN or (until_unmapped and page._mapcount < 0):
                        return ret
            finally:
                spin_unlock(anon_vma.lock)
    return ret


def rmap_walk_ksm(page: Page, rmap_one: RmapOne, arg: object) -> int:
    return _walk_ksm(page, rmap_one, arg, until_unmapped=False)


def try_to_unmap_ksm(page: Page, flags: int) -> int:
    from .rmap import try_to_unmap_one

    return _walk_ksm(page, try_to_unmap_one, flags, until_unmapped=True)


# --- swap-in of a page that may once have been a KSM page ----------------------------------


def linear_page_index(vma: VmAreaStruct, address: int) -> int:
    """The page offset of ``address`` in the VMA's object (include/linux/pagemap.h)."""
    return ((address - vma.vm_start) >> PAGE_SHIFT) + vma.vm_pgoff


def ksm_might_need_to_copy(page: Page, vma: VmAreaStruct, address: int) -> bool:
    """Must do_swap_page map a copy of this swap-cache page here? A page that
    was a KSM page comes back from swap as an ordinary anonymous page of the
    first VMA that faults it; another anon_vma or another offset cannot share
    it without the locking that reconstitutes a KSM page, so those get a copy
    and ksmd may merge them again later.

    Context: page locked, in the swap cache; called from do_swap_page.
    Return: True when the page has an anon_vma that is not the VMA's own or
        an index that is not this address's (a KSM page, whose mapping is its
        stable node, has no anon_vma: it is mapped as it is).
    Kernel: include/linux/ksm.h L76-L84 (2.6.35); 6.1's is
        ``linux61.ksm_might_need_to_copy``.
    """
    from .rmap import page_anon_vma

    anon_vma = page_anon_vma(page)
    return anon_vma is not None and (
        anon_vma is not vma.anon_vma or page.index != linear_page_index(vma, address))


def ksm_does_need_to_copy(page: Page, vma: VmAreaStruct, address: int) -> Page | None:
    """A private, locked, dirty copy of ``page`` for ``vma`` at ``address``,
    already on an LRU list, for do_swap_page to map instead of the
    swap-cache page.

    Context: ``page`` locked, in the swap cache; may allocate.
    Return: the new page (locked, one reference), or None when no page could
        be allocated (do_swap_page then fails with VM_FAULT_OOM).
    Kernel: mm/ksm.c ksm_does_need_to_copy (2.6.35, L1521-L1542).
    """
    from .gfp import GFP_HIGHUSER_MOVABLE
    from .highmem import copy_highpage
    from .mempolicy import alloc_page_vma
    from .mmzone import LRU_ACTIVE_ANON
    from .page import SetPageDirty, SetPageSwapBacked, _SetPageLocked, _SetPageUptodate
    from .swap import add_page_to_unevictable_list, lru_cache_add_lru
    from .vmscan import page_evictable

    new_page = alloc_page_vma(vma.vm_mm.machine, GFP_HIGHUSER_MOVABLE, vma, address)
    if new_page is not None:
        copy_highpage(new_page, page)
        SetPageDirty(new_page)
        _SetPageUptodate(new_page)
        SetPageSwapBacked(new_page)
        _SetPageLocked(new_page)
        if page_evictable(new_page, vma):
            lru_cache_add_lru(new_page, LRU_ACTIVE_ANON)
        else:
            add_page_to_unevictable_list(new_page)
    return new_page


def swapin_copy(page: Page, vma: VmAreaStruct, address: int) -> Page | None:
    """The page do_swap_page maps: ``page`` itself, or its copy when
    ksm_might_need_to_copy says so (the profile's ``ksm_might_need_to_copy``
    slot for 2.6.35, which splits the test from the copy).

    Context: page locked, in the swap cache.
    Return: ``page``, a new locked page, or None when the copy could not be
        allocated.
    Kernel: mm/memory.c do_swap_page, the ksm_might_need_to_copy block (2.6.35).
    """
    if not ksm_might_need_to_copy(page, vma, address):
        return page
    return ksm_does_need_to_copy(page, vma, address)


# --- merging --------------------------------------------------------------------------------


def _candidates(machine: Machine, only_mergeable: bool) -> list[tuple[MmStruct, VmAreaStruct, int, Page]]:
    """Present anonymous (non-KSM) pages of private VMAs, in a stable order."""
    from .memory import vm_normal_page
    from .pgtable import pte_pfn, pte_present

    found = []
    for task in sorted(machine.pid_table.tasks.values(), key=lambda t: t.pid):
        mm = task.mm
        if mm is None or task.pid != task.tgid:
            continue
        for vma in mm.mmap:
            if vma.vm_flags & VM_SHARED or vma.vm_file is not None:
                continue
            if only_mergeable and not vma.vm_flags & VM_MERGEABLE:
                continue
            for vpn in range(vma.vm_start >> PAGE_SHIFT, vma.vm_end >> PAGE_SHIFT):
                pte = mm.ptes.get(vpn, 0)
                if not pte_present(pte):
                    continue
                page = vm_normal_page(vma, vpn << PAGE_SHIFT, pte)
                if page is not None and PageAnon(page) and pte_pfn(pte) == page.pfn:
                    found.append((mm, vma, vpn << PAGE_SHIFT, page))
    return found


def _write_protect_page(vma: VmAreaStruct, page: Page, address: int) -> bool:
    """Make the pte read-only (moving its dirty bit to the page); refuse if
    someone holds an extra reference (count must be mapcount + ours)."""
    from .page_writeback import set_page_dirty
    from .pgtable import pte_dirty, pte_mkclean, pte_wrprotect

    mm = vma.vm_mm
    vpn = address >> PAGE_SHIFT
    pte = mm.ptes[vpn]
    from .page import PageSwapCache

    swapped = 1 if PageSwapCache(page) else 0
    if page_mapcount(page) + 1 + swapped != page_count(page):
        return False
    if pte_dirty(pte):
        set_page_dirty(page)
    mm.ptes[vpn] = pte_mkclean(pte_wrprotect(pte))
    return True


def _replace_page(vma: VmAreaStruct, page: Page, kpage: Page, address: int) -> None:
    """Point the pte at the KSM page and drop the duplicate."""
    from .memory import mk_pte
    from .rmap import page_add_anon_rmap, page_remove_rmap
    from .swap import put_page

    mm = vma.vm_mm
    get_page(kpage)
    page_add_anon_rmap(kpage, vma, address)
    mm.ptes[address >> PAGE_SHIFT] = mk_pte(kpage, vma.vm_page_prot)
    page_remove_rmap(page)
    put_page(page)  # the pte's reference to the duplicate


def pages_identical(page1: Page, page2: Page) -> bool:
    """!memcmp_pages(page1, page2) (mm/ksm.c)."""
    import numpy as np

    from .highmem import page_bytes

    return bool(np.array_equal(page_bytes(page1), page_bytes(page2)))


def try_to_merge_one_page(vma: VmAreaStruct, page: Page, kpage: Page | None, address: int) -> int:
    """Take one more mapping of ``page`` into KSM: with ``kpage`` None make
    ``page`` itself the KSM page (write-protected in place), else replace it
    by ``kpage`` at ``address``. In a VM_LOCKED VMA the mlock goes with the
    mapping: ``page`` is munlocked and ``kpage`` mlocked (6.1 gets the same
    from page_remove_rmap and page_add_anon_rmap, which munlock and mlock
    there since 5.18).

    Context: the caller holds a reference to ``page`` (follow_page's); no
        page lock held. ``address`` is the page's address in the VMA.
    Return: 0 when merged (or ``page`` is ``kpage``), -EFAULT otherwise (the
        page lock was contended, another reference is held, or the contents
        differ). The VM_MERGEABLE test is the caller's (_candidates), since
        ``ksm_merge(only_mergeable=False)`` merges any private anonymous VMA.
    Kernel: mm/ksm.c try_to_merge_one_page L703-L752 (2.6.35); the stable
        node of a new KSM page is set up here at once rather than by
        stable_tree_insert.
    """
    import errno

    from .mlock import mlock_vma_page, munlock_vma_page
    from .page import PageMlocked
    from .pagemap import lock_page

    err = -errno.EFAULT
    if page is kpage:  # ksm page forked
        return 0
    if not PageAnon(page):
        return err
    if not trylock_page(page):
        return err
    # If this anonymous page is mapped only here, its pte may need to be
    # write-protected; either way page_count must not be raised.
    if _write_protect_page(vma, page, address):
        if kpage is None:
            assert vma.anon_vma is not None
            page.mapping = StableNode(page.pfn)  # set_page_stable_node
            err = 0
        elif pages_identical(page, kpage):
            _replace_page(vma, page, kpage, address)
            err = 0
    if vma.vm_flags & VM_LOCKED and kpage is not None and not err:
        munlock_vma_page(page)
        if not PageMlocked(kpage):
            unlock_page(page)
            lock_page(kpage)
            mlock_vma_page(kpage)
            page = kpage  # for final unlock
    unlock_page(page)
    return err


def ksm_merge(machine: Machine, only_mergeable: bool = True) -> int:
    """One full ksmd pass: merge anonymous pages with identical contents.
    Returns the number of pages merged away: ptes redirected to a KSM page
    they did not map before (pages_sharing's increase)."""
    from .highmem import page_bytes
    from .swap import lru_add_drain_all, put_page

    # A new scan round drains the pagevecs so their references do not make
    # every fresh page look pinned.
    lru_add_drain_all(machine)
    groups: dict[bytes, list[tuple[MmStruct, VmAreaStruct, int, Page]]] = defaultdict(list)
    for item in _candidates(machine, only_mergeable):
        groups[bytes(page_bytes(item[3]))].append(item)
    merged = 0
    for items in groups.values():
        kpage_item = next((it for it in items if PageKsm(it[3])), items[0])
        distinct = {id(it[3]) for it in items}
        if len(distinct) < 2:
            continue
        kmm, kvma, kaddr, kpage = kpage_item
        get_page(kpage)
        if not PageKsm(kpage):
            if try_to_merge_one_page(kvma, kpage, None, kaddr):
                put_page(kpage)
                continue
            assert kvma.anon_vma is not None
            node = page_stable_node(kpage)
            assert node is not None
            node.hlist.append(RmapItem(kmm, kaddr, kvma.anon_vma_chain[-1].anon_vma))
        stable = page_stable_node(kpage)
        assert stable is not None
        node = stable
        for mm, vma, addr, page in items:
            if page is kpage:
                continue
            get_page(page)
            if try_to_merge_one_page(vma, page, kpage, addr) == 0:
                assert vma.anon_vma is not None
                node.hlist.append(RmapItem(mm, addr, vma.anon_vma_chain[-1].anon_vma))
                merged += 1
            put_page(page)
        put_page(kpage)
    return merged
