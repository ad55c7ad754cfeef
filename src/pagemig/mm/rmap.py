"""Model of mm/rmap.c (2.6.35): anon_vma chains, rmap accounting, rmap walks, try_to_unmap.

An anonymous page's ``mapping`` is the anon_vma it was born in (or, for a
page re-added later, the oldest anon_vma of the VMA). Walking that anon_vma's
chain list reaches every VMA that may map the page, in parents and children.
A file page is reached through its mapping's ``i_mmap`` list of VMAs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from .bug import BUG_ON, VM_BUG_ON
from .ksm import rmap_walk_ksm, try_to_unmap_ksm
from .memcontrol import mem_cgroup_uncharge_page
from .mlock import mlock_vma_page
from .mmap import (
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SWAPENTS,
    VM_GROWSDOWN,
    VM_GROWSUP,
    VM_LOCKED,
    VM_SHARED,
    VM_STACK_INCOMPLETE_SETUP,
    VmAreaStruct,
)
from .mmzone import LRU_ACTIVE_ANON, ZoneStatItem
from .page import (
    PAGE_MAPPING_ANON,
    PAGE_MAPPING_FLAGS,
    PAGE_SHIFT,
    Page,
    PageAnon,
    PageKsm,
    PageLocked,
    PageMapping,
    PG_locked,
    PG_swapcache,
    SetPageSwapBacked,
    page_index,
    page_mapped,
)
from .page_writeback import set_page_dirty
from .pgtable import (
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_PROTNONE,
    PTE_INDEX_MASK,
    pte_dirty,
    pte_mkclean,
    pte_mkold,
    pte_page,
    pte_write,
    pte_wrprotect,
    pte_young,
    swp_entry_to_pte,
)
from .spinlock import SpinLock, spin_lock, spin_unlock
from .swap import add_page_to_unevictable_list, lru_cache_add_lru, put_page
from .swapfile import swap_duplicate
from .swapops import make_migration_entry
from .vmscan import page_evictable

if TYPE_CHECKING:
    from ..machine import Machine
    from .mmap import MmStruct

NR_ANON_PAGES: Final = int(ZoneStatItem.NR_ANON_PAGES)
_LOCKED: Final = 1 << PG_locked
_SWAPCACHE: Final = 1 << PG_swapcache
_PTE_PRESENT_MASK: Final = _PAGE_PRESENT | _PAGE_PROTNONE
NR_FILE_MAPPED: Final = int(ZoneStatItem.NR_FILE_MAPPED)

# enum ttu_flags
TTU_UNMAP: Final = 0
TTU_MIGRATION: Final = 1
TTU_MUNLOCK: Final = 2
TTU_ACTION_MASK: Final = 0xFF
TTU_IGNORE_MLOCK: Final = 1 << 8
TTU_IGNORE_ACCESS: Final = 1 << 9
TTU_IGNORE_HWPOISON: Final = 1 << 10

# try_to_unmap / rmap_one results
SWAP_SUCCESS: Final = 0
SWAP_AGAIN: Final = 1
SWAP_FAIL: Final = 2
SWAP_MLOCK: Final = 3

EFAULT_ADDRESS: Final = -14  # vma_address()'s "-EFAULT": the page is not inside this VMA


class AnonVma(PageMapping):
    """struct anon_vma: the set of VMAs (through their chains) that may map its pages."""

    __slots__ = ("external_refcount", "freed", "head", "lock", "root")

    def __init__(self, host: Machine) -> None:
        super().__init__(PAGE_MAPPING_ANON)
        self.lock = SpinLock(host, "anon_vma->lock")
        self.external_refcount = 0
        self.head: list[AnonVmaChain] = []  # same_anon_vma, in link order
        self.freed = False
        # The oldest anon_vma of its family (2.6.36's anon_vma->root; 2.6.35
        # has no such field and never reads it): only 6.1's
        # page_address_in_vma compares roots.
        self.root: AnonVma = self

    def __repr__(self) -> str:
        return f"<anon_vma {id(self):#x} vmas={len(self.head)} ext={self.external_refcount}>"


class AnonVmaChain:
    """struct anon_vma_chain: links one VMA with one anon_vma."""

    __slots__ = ("anon_vma", "vma")

    def __init__(self, vma: VmAreaStruct, anon_vma: AnonVma) -> None:
        self.vma = vma
        self.anon_vma = anon_vma


def anon_vma_alloc(host: Machine) -> AnonVma:
    return AnonVma(host)


def anon_vma_free(anon_vma: AnonVma) -> None:
    VM_BUG_ON(anon_vma.head or anon_vma.external_refcount, message="freeing an anon_vma still in use")
    anon_vma.freed = True


def anon_vma_chain_link(vma: VmAreaStruct, avc: AnonVmaChain, anon_vma: AnonVma) -> None:
    vma.anon_vma_chain.insert(0, avc)
    anon_vma.head.append(avc)


def anon_vma_prepare(vma: VmAreaStruct) -> int:
    """Give the VMA its own anon_vma before its first anonymous page."""
    if vma.anon_vma is None:
        anon_vma = anon_vma_alloc(vma.vm_mm.machine)
        avc = AnonVmaChain(vma, anon_vma)
        vma.anon_vma = anon_vma
        anon_vma_chain_link(vma, avc, anon_vma)
    return 0


def anon_vma_clone(dst: VmAreaStruct, src: VmAreaStruct) -> int:
    """Link ``dst`` to every anon_vma ``src`` is linked to (split, mremap)."""
    for pavc in reversed(src.anon_vma_chain):
        anon_vma_chain_link(dst, AnonVmaChain(dst, pavc.anon_vma), pavc.anon_vma)
    dst.anon_vma = src.anon_vma
    return 0


def anon_vma_fork(vma: VmAreaStruct, pvma: VmAreaStruct) -> int:
    """The child's VMA joins all of the parent's anon_vmas and gets its own."""
    if pvma.anon_vma is None:
        return 0
    anon_vma_clone(vma, pvma)
    anon_vma = anon_vma_alloc(vma.vm_mm.machine)
    anon_vma.root = pvma.anon_vma.root
    vma.anon_vma = anon_vma
    anon_vma_chain_link(vma, AnonVmaChain(vma, anon_vma), anon_vma)
    return 0


def anon_vma_unlink(avc: AnonVmaChain) -> None:
    anon_vma = avc.anon_vma
    spin_lock(anon_vma.lock)
    anon_vma.head.remove(avc)
    # An external reference (migration, KSM) keeps it alive; the holder frees it.
    empty = not anon_vma.head and anon_vma.external_refcount == 0
    spin_unlock(anon_vma.lock)
    if empty:
        anon_vma_free(anon_vma)


def unlink_anon_vmas(vma: VmAreaStruct) -> None:
    for avc in list(vma.anon_vma_chain):
        anon_vma_unlink(avc)
    vma.anon_vma_chain.clear()


# --- rmap accounting ---------------------------------------------------------------------


def page_anon_vma(page: Page) -> AnonVma | None:
    mapping = page.mapping
    if mapping is None or mapping.mapping_flags & PAGE_MAPPING_FLAGS != PAGE_MAPPING_ANON:
        return None
    return mapping  # type: ignore[return-value]  # tagged PAGE_MAPPING_ANON: an AnonVma


def vma_address(page: Page, vma: VmAreaStruct) -> int:
    """Where ``page`` would be mapped in ``vma``, or -EFAULT if outside it."""
    mapping = page.mapping
    if mapping is not None and mapping.mapping_flags & PAGE_MAPPING_ANON:  # PageAnon
        pgoff = page.index
    else:
        pgoff = page_index(page)
    address = vma.vm_start + ((pgoff - vma.vm_pgoff) << PAGE_SHIFT)
    if address < vma.vm_start or address >= vma.vm_end:
        return EFAULT_ADDRESS
    return address


def _page_set_anon_rmap(page: Page, vma: VmAreaStruct, address: int, exclusive: bool) -> None:
    anon_vma = vma.anon_vma
    BUG_ON(anon_vma is None, "anonymous page in a VMA without anon_vma")
    if not exclusive:
        anon_vma = vma.anon_vma_chain[-1].anon_vma  # the oldest
    page.mapping = anon_vma
    page.index = ((address - vma.vm_start) >> PAGE_SHIFT) + vma.vm_pgoff


def page_add_anon_rmap(page: Page, vma: VmAreaStruct, address: int) -> None:
    """Map an existing anonymous page once more (swap-in, remap after migration)."""
    page._mapcount += 1
    first = page._mapcount == 0
    if first:
        page.zone.vm_stat[NR_ANON_PAGES] += 1
    if PageKsm(page):
        return
    if not page.flags & _LOCKED:
        VM_BUG_ON(True, page, "page_add_anon_rmap of an unlocked page")
    if not vma.vm_start <= address < vma.vm_end:
        VM_BUG_ON(True, page, "address outside the VMA")
    if first:
        _page_set_anon_rmap(page, vma, address, False)


def page_add_new_anon_rmap(page: Page, vma: VmAreaStruct, address: int) -> None:
    """First mapping of a freshly allocated anonymous page; puts it on an LRU."""

    VM_BUG_ON(not vma.contains(address), page, "address outside the VMA")
    SetPageSwapBacked(page)
    page._mapcount = 0
    page.zone.vm_stat[NR_ANON_PAGES] += 1
    _page_set_anon_rmap(page, vma, address, True)
    if page_evictable(page, vma):
        lru_cache_add_lru(page, LRU_ACTIVE_ANON)
    else:
        add_page_to_unevictable_list(page)


def page_add_file_rmap(page: Page) -> None:
    page._mapcount += 1
    if page._mapcount == 0:
        page.zone.vm_stat[NR_FILE_MAPPED] += 1


def page_dup_rmap(page: Page) -> None:
    page._mapcount += 1


def page_remove_rmap(page: Page) -> None:
    mapcount = page._mapcount - 1
    page._mapcount = mapcount
    if mapcount >= 0:
        return
    mapping = page.mapping
    if mapping is not None and mapping.mapping_flags & PAGE_MAPPING_ANON:  # PageAnon
        mem_cgroup_uncharge_page(page)
        page.zone.vm_stat[NR_ANON_PAGES] -= 1
    else:
        page.zone.vm_stat[NR_FILE_MAPPED] -= 1


# --- rmap walks --------------------------------------------------------------------------

RmapOne = Callable[[Page, VmAreaStruct, int, Any], int]


def rmap_walk_anon(page: Page, rmap_one: RmapOne, arg: object) -> int:
    """Walk the page's anon_vma without checking page_mapped: the caller keeps
    the anon_vma alive (external_refcount)."""
    ret = SWAP_AGAIN
    anon_vma = page_anon_vma(page)
    if anon_vma is None:
        return ret
    spin_lock(anon_vma.lock)
    try:
        for avc in anon_vma.head[:]:
            vma = avc.vma
            address = vma_address(page, vma)
            if address == EFAULT_ADDRESS:
                continue
            ret = rmap_one(page, vma, address, arg)
            if ret != SWAP_AGAIN:
                break
    finally:
        spin_unlock(anon_vma.lock)
    return ret


def rmap_walk_file(page: Page, rmap_one: RmapOne, arg: object) -> int:
    ret = SWAP_AGAIN
    mapping = page.mapping
    if mapping is None:
        return ret
    for vma in list(mapping.i_mmap):  # type: ignore[attr-defined]
        address = vma_address(page, vma)
        if address == EFAULT_ADDRESS:
            continue
        ret = rmap_one(page, vma, address, arg)
        if ret != SWAP_AGAIN:
            break
    return ret


def rmap_walk(page: Page, rmap_one: RmapOne, arg: object) -> int:
    """Call ``rmap_one`` for every VMA that may map the page. Page locked."""
    if not page.flags & _LOCKED:
        VM_BUG_ON(True, page, "rmap_walk of an unlocked page")
    if PageKsm(page):
        return rmap_walk_ksm(page, rmap_one, arg)
    if PageAnon(page):
        return rmap_walk_anon(page, rmap_one, arg)
    return rmap_walk_file(page, rmap_one, arg)


# --- try_to_unmap ------------------------------------------------------------------------


def page_check_address(page: Page, mm: MmStruct, address: int) -> int | None:
    """The vpn of the present pte mapping ``page`` at ``address``, or None."""
    table = pte_page(mm.pgd, address)  # pgd, pud and pmd present
    if table is None:
        return None
    vpn = address >> PAGE_SHIFT
    pte = table[vpn & PTE_INDEX_MASK]
    if pte & _PTE_PRESENT_MASK and pte >> PAGE_SHIFT == page.pfn:  # pte_present, pte_pfn
        return vpn
    return None


def pgd_pud_pmd_present(mm: MmStruct, address: int) -> bool:
    return pte_page(mm.pgd, address) is not None


def try_to_unmap_one(page: Page, vma: VmAreaStruct, address: int, flags: int) -> int:
    """Replace one pte mapping the page: by a migration entry, a swap entry
    (swap-cache anon), or nothing (file pages unmapped for reclaim)."""
    mm = vma.vm_mm
    ret = SWAP_AGAIN
    vpn = page_check_address(page, mm, address)
    if vpn is None:
        return ret
    ptep = pte_page(mm.pgd, address)  # the pte page; the pte is ptep[i]
    assert ptep is not None  # page_check_address found the pte there
    i = vpn & PTE_INDEX_MASK
    spin_lock(mm.page_table_lock)
    try:
        pte = ptep[i]
        # Do not unmap an mlocked page unless asked to ignore mlock;
        # instead make sure it is marked mlocked (out_mlock).
        if not flags & TTU_IGNORE_MLOCK:
            if vma.vm_flags & VM_LOCKED:
                mlock_vma_page(page)
                return SWAP_MLOCK
            if flags & TTU_ACTION_MASK == TTU_MUNLOCK:
                return ret
        if not flags & TTU_IGNORE_ACCESS and pte_young(pte):
            ptep[i] = pte_mkold(pte)
            return SWAP_FAIL
        # Nuke the page table entry; move the dirty bit to the page.
        ptep[i] = 0
        if pte & _PAGE_DIRTY:  # pte_dirty
            set_page_dirty(page)
        action = flags & TTU_ACTION_MASK
        mapping = page.mapping
        if mapping is not None and mapping.mapping_flags & PAGE_MAPPING_ANON:  # PageAnon
            if page.flags & _SWAPCACHE and not (  # PageSwapCache
                    action == TTU_MIGRATION
                    and mm.machine.kernel.swapcache_gets_migration_entries):
                entry = page.private
                assert isinstance(entry, int)
                if swap_duplicate(mm.machine, entry) < 0:
                    ptep[i] = pte
                    return SWAP_FAIL
                if not mm.on_mmlist:
                    mm.on_mmlist = True
                mm.rss[MM_ANONPAGES] -= 1
                mm.rss[MM_SWAPENTS] += 1
                ptep[i] = swp_entry_to_pte(entry)
            elif action == TTU_MIGRATION:
                ptep[i] = swp_entry_to_pte(make_migration_entry(page.pfn, pte_write(pte)))
                mm.migration_rss[vpn] = MM_ANONPAGES
            else:
                BUG_ON(True, "try_to_unmap of an anon page outside the swap cache")
        elif action == TTU_MIGRATION:
            ptep[i] = swp_entry_to_pte(make_migration_entry(page.pfn, pte_write(pte)))
            mm.migration_rss[vpn] = MM_FILEPAGES
        else:
            mm.rss[MM_FILEPAGES] -= 1
        page_remove_rmap(page)

        put_page(page)  # the pte's reference
    finally:
        spin_unlock(mm.page_table_lock)
    return ret


def is_vma_temporary_stack(vma: VmAreaStruct) -> bool:
    maybe_stack = vma.vm_flags & (VM_GROWSDOWN | VM_GROWSUP)
    return bool(maybe_stack) and vma.vm_flags & VM_STACK_INCOMPLETE_SETUP == VM_STACK_INCOMPLETE_SETUP


def try_to_unmap_anon(page: Page, flags: int) -> int:
    ret = SWAP_AGAIN
    if page._mapcount < 0:  # !page_mapped: page_lock_anon_vma returns NULL
        return ret
    anon_vma = page_anon_vma(page)
    if anon_vma is None:
        return ret
    spin_lock(anon_vma.lock)
    try:
        for avc in anon_vma.head[:]:
            vma = avc.vma
            # Temporary exec stacks are moved by shift_arg_pages without the
            # page tables being walkable; migration must leave them alone.
            if vma.vm_flags & (VM_GROWSDOWN | VM_GROWSUP) and is_vma_temporary_stack(vma) \
                    and flags & TTU_ACTION_MASK == TTU_MIGRATION:
                continue
            address = vma_address(page, vma)
            if address == EFAULT_ADDRESS:
                continue
            ret = try_to_unmap_one(page, vma, address, flags)
            if ret != SWAP_AGAIN or page._mapcount < 0:  # !page_mapped
                break
    finally:
        spin_unlock(anon_vma.lock)
    return ret


def try_to_unmap_file(page: Page, flags: int) -> int:
    ret = SWAP_AGAIN
    mapping = page.mapping
    if mapping is None:
        return ret
    for vma in list(mapping.i_mmap):  # type: ignore[attr-defined]
        address = vma_address(page, vma)
        if address == EFAULT_ADDRESS:
            continue
        ret = try_to_unmap_one(page, vma, address, flags)
        if ret != SWAP_AGAIN or not page_mapped(page):
            break
    # No nonlinear VMAs exist in the model, so no cluster scan follows.
    return ret


def try_to_unmap(page: Page, flags: int) -> int:
    """Unmap the page from every pte. Page locked.

    Return: SWAP_SUCCESS if it ended up unmapped, else SWAP_AGAIN/FAIL/MLOCK.
    """
    if not page.flags & _LOCKED:
        VM_BUG_ON(True, page, "try_to_unmap of an unlocked page")
    if PageKsm(page):
        ret = try_to_unmap_ksm(page, flags)
    elif PageAnon(page):
        ret = try_to_unmap_anon(page, flags)
    else:
        ret = try_to_unmap_file(page, flags)
    if ret != SWAP_MLOCK and not page_mapped(page):
        ret = SWAP_SUCCESS
    return ret


def try_to_munlock(page: Page) -> int:
    """SWAP_MLOCK if some VM_LOCKED VMA still maps the page (and re-mlock it).
    Page locked and isolated."""
    VM_BUG_ON(not PageLocked(page), page, "try_to_munlock of an unlocked page")
    if PageKsm(page):
        return try_to_unmap_ksm(page, TTU_MUNLOCK)
    if PageAnon(page):
        return try_to_unmap_anon(page, TTU_MUNLOCK)
    return try_to_unmap_file(page, TTU_MUNLOCK)


def page_mkclean_one(page: Page, vma: VmAreaStruct, address: int, arg: object) -> int:
    """Write-protect and clean one shared pte; counts it in ``arg``."""

    vpn = page_check_address(page, vma.vm_mm, address)
    if vpn is not None:
        pte = vma.vm_mm.ptes[vpn]
        if pte_dirty(pte) or pte_write(pte):
            vma.vm_mm.ptes[vpn] = pte_wrprotect(pte_mkclean(pte))
            assert isinstance(arg, list)
            arg[0] += 1
    return SWAP_AGAIN


def page_mkclean(page: Page) -> int:
    """Clean every shared writable mapping of a file page (dirty accounting)."""

    BUG_ON(not PageLocked(page), "page_mkclean of an unlocked page")
    if not page_mapped(page) or PageAnon(page):
        return 0
    cleaned = [0]
    mapping = page.mapping
    for vma in list(mapping.i_mmap):  # type: ignore[union-attr]
        if vma.vm_flags & VM_SHARED:
            address = vma_address(page, vma)
            if address != EFAULT_ADDRESS:
                page_mkclean_one(page, vma, address, cleaned)
    return int(cleaned[0] > 0)


def page_referenced_one(page: Page, vma: VmAreaStruct, address: int, arg: object) -> int:
    """Test and clear the young bit of one pte mapping the page."""
    vpn = page_check_address(page, vma.vm_mm, address)
    if vpn is not None:
        pte = vma.vm_mm.ptes[vpn]
        if pte_young(pte):
            vma.vm_mm.ptes[vpn] = pte_mkold(pte)
            assert isinstance(arg, list)
            arg[0] += 1
    return SWAP_AGAIN


def page_referenced(page: Page) -> int:
    """How many ptes referenced the page since the last scan (clearing them).
    Context: page locked."""
    if not page_mapped(page):
        return 0
    referenced = [0]
    rmap_walk(page, page_referenced_one, referenced)
    return referenced[0]
