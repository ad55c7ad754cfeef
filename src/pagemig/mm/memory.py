"""Model of mm/memory.c (2.6.35): page-table walks, page faults, follow_page,
copy on fork, and unmapping.

A fault installs a pte; a present pte holds one reference on its page and
one mapcount. The shared zero page is mapped by "special" ptes that hold
neither (vm_normal_page says no page), as the kernel does since 2.6.32.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from .bug import KernelBug
from .gfp import _GFP_ZERO, GFP_HIGHUSER_MOVABLE
from .highmem import copy_highpage
from .hugetlb import (
    copy_hugetlb_page_range,
    follow_huge_pmd,
    follow_hugetlb_page,
    hugetlb_change_protection,
    hugetlb_fault,
    unmap_hugepage_range,
)
from .memcontrol import mem_cgroup_newpage_charge, mem_cgroup_uncharge_page
from .mempolicy import alloc_page_vma
from .mmap import (
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SWAPENTS,
    VM_HUGETLB,
    VM_LOCKED,
    VM_MAYWRITE,
    VM_MIXEDMAP,
    VM_PFNMAP,
    VM_SHARED,
    VM_WRITE,
    MmStruct,
    VmAreaStruct,
)
from .page import (
    PAGE_SHIFT,
    Page,
    PageAnon,
    PageKsm,
    _SetPageUptodate,
    get_page,
)
from .page_writeback import set_page_dirty
from .pagemap import lock_page, trylock_page, unlock_page
from .pgtable import (
    _PAGE_PRESENT,
    _PAGE_PROTNONE,
    _PAGE_RW,
    PGDIR_SHIFT,
    PMD_INDEX_MASK,
    PMD_SHIFT,
    PTE_INDEX_MASK,
    PUD_INDEX_MASK,
    PUD_SHIFT,
    indices_under,
    pfn_pte,
    pmd_table,
    pte_dirty,
    pte_mkclean,
    pte_mkdirty,
    pte_mkold,
    pte_mkspecial,
    pte_mkwrite,
    pte_mkyoung,
    pte_none,
    pte_page,
    pte_page_alloc,
    pte_pfn,
    pte_present,
    pte_special,
    pte_to_swp_entry,
    pte_write,
    pte_wrprotect,
    pte_young,
    swp_entry_to_pte,
)
from .rmap import (
    anon_vma_prepare,
    page_add_file_rmap,
    page_add_new_anon_rmap,
    page_dup_rmap,
    page_remove_rmap,
)
from .spinlock import spin_lock, spin_unlock
from .swap import mark_page_accessed, put_page
from .swapfile import swap_duplicate
from .swapops import (
    is_hwpoison_entry,
    is_migration_entry,
    is_write_migration_entry,
    make_migration_entry_read,
)
from .vmstat import PGFAULT

if TYPE_CHECKING:
    from ..machine import Machine

_PTE_PRESENT_MASK: Final = _PAGE_PRESENT | _PAGE_PROTNONE

# VM_FAULT_* (include/linux/mm.h)
VM_FAULT_OOM: Final = 0x0001
VM_FAULT_SIGBUS: Final = 0x0002
VM_FAULT_MAJOR: Final = 0x0004
VM_FAULT_WRITE: Final = 0x0008
VM_FAULT_HWPOISON: Final = 0x0010
VM_FAULT_NOPAGE: Final = 0x0100
VM_FAULT_LOCKED: Final = 0x0200
VM_FAULT_ERROR: Final = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_HWPOISON
FAULT_FLAG_WRITE: Final = 0x01

# follow_page() flags
FOLL_WRITE: Final = 0x01
FOLL_TOUCH: Final = 0x02
FOLL_GET: Final = 0x04
FOLL_DUMP: Final = 0x08


class FollowPageError:
    """ERR_PTR(-EFAULT): follow_page found a pte without a struct page."""

    __slots__ = ("errno",)

    def __init__(self, err: int) -> None:
        self.errno = err

    def __repr__(self) -> str:
        return f"ERR_PTR({self.errno})"


def IS_ERR(value: object) -> bool:
    return isinstance(value, FollowPageError)


def PTR_ERR(value: FollowPageError) -> int:
    return value.errno


# --- page-table levels -------------------------------------------------------------------


def pte_alloc_map(mm: MmStruct, addr: int) -> None:
    """Make sure every level above the pte exists (__pte_alloc and friends)."""
    pte_page_alloc(mm.pgd, addr)


def pte_read(mm: MmStruct, addr: int) -> int:
    table = pte_page(mm.pgd, addr)
    return table[(addr >> PAGE_SHIFT) & PTE_INDEX_MASK] if table is not None else 0


def set_pte_at(mm: MmStruct, addr: int, pte: int) -> None:
    table = pte_page(mm.pgd, addr)
    if table is None:
        if not pte:
            return
        table = pte_page_alloc(mm.pgd, addr)
    table[(addr >> PAGE_SHIFT) & PTE_INDEX_MASK] = pte


def mk_pte(page: Page, prot: int) -> int:
    return (page.pfn << PAGE_SHIFT) | prot  # pfn_pte


def maybe_mkwrite(pte: int, vma: VmAreaStruct) -> int:
    return pte_mkwrite(pte) if vma.vm_flags & VM_WRITE else pte


def is_cow_mapping(flags: int) -> bool:
    return flags & (VM_SHARED | VM_MAYWRITE) == VM_MAYWRITE


# --- the zero page and normal pages -------------------------------------------------------


def my_zero_pfn(machine: Machine) -> int:
    return machine.zero_page.pfn


def is_zero_pfn(machine: Machine, pfn: int) -> bool:
    return pfn == machine.zero_page.pfn


def vm_normal_page(vma: VmAreaStruct, addr: int, pte: int) -> Page | None:
    """The struct page a present pte maps, or None for special mappings
    (the zero page, pfn maps, pfns without struct page)."""
    if pte_special(pte):
        return None
    machine = vma.vm_mm.machine
    pfn = pte_pfn(pte)
    if vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP) and not machine.pfn_valid(pfn):
        return None
    if not machine.pfn_valid(pfn):
        raise KernelBug(f"bad pte {pte:#x}: pfn {pfn:#x} has no struct page")
    return machine.pfn_to_page(pfn)


def follow_page(vma: VmAreaStruct, address: int, flags: int) -> Page | FollowPageError | None:
    """Look up the page mapped at ``address`` in ``vma``'s mm (2.6.35 does not
    check that address lies in vma). None when nothing is present; the zero
    page; ERR_PTR(-EFAULT) for a pte without struct page. FOLL_GET takes a
    reference."""
    mm = vma.vm_mm
    pmd = pmd_table(mm.pgd, address)  # pgd_offset/pgd_present, pud_offset/pud_present
    if pmd is None:
        return None
    if mm.huge_ptes and address >> PMD_SHIFT in mm.huge_ptes:  # pmd_huge
        if flags & FOLL_GET:
            raise KernelBug("kernel BUG at mm/memory.c: follow_page(FOLL_GET) of a huge pmd")
        return follow_huge_pmd(mm, address, mm.huge_ptes[address >> PMD_SHIFT])
    table = pmd[(address >> PMD_SHIFT) & PMD_INDEX_MASK]  # pmd_offset
    if table is None:  # pmd_none
        return None
    pte = table[(address >> PAGE_SHIFT) & PTE_INDEX_MASK]  # pte_offset_map
    if not pte & _PTE_PRESENT_MASK:  # pte_present
        return None
    if flags & FOLL_WRITE and not pte & _PAGE_RW:
        return None
    page = vm_normal_page(vma, address, pte)
    if page is None:
        if flags & FOLL_DUMP or not is_zero_pfn(mm.machine, pte_pfn(pte)):
            return FollowPageError(-errno.EFAULT)
        page = mm.machine.zero_page
    if flags & FOLL_GET:
        get_page(page)
    if flags & FOLL_TOUCH:
        if flags & FOLL_WRITE and not pte_dirty(pte):
            set_page_dirty(page)
        mark_page_accessed(page)
    return page


# --- faults ----------------------------------------------------------------------------------


def handle_mm_fault(mm: MmStruct, vma: VmAreaStruct, address: int, flags: int) -> int:
    """Resolve a fault at ``address``; 0 or VM_FAULT_* bits. A return without
    a present pte (migration wait) means "retry the access"."""
    mm.machine.vm_events[PGFAULT] += 1
    if vma.vm_flags & VM_HUGETLB:
        return hugetlb_fault(mm, vma, address, flags)
    pte_alloc_map(mm, address)
    return handle_pte_fault(mm, vma, address, flags)


def handle_pte_fault(mm: MmStruct, vma: VmAreaStruct, address: int, flags: int) -> int:
    entry = pte_read(mm, address)
    if not pte_present(entry):
        if pte_none(entry):
            if vma.vm_ops is not None and vma.vm_ops.fault is not None:
                return do_linear_fault(mm, vma, address, flags)
            return do_anonymous_page(mm, vma, address, flags)
        return do_swap_page(mm, vma, address, flags, entry)
    spin_lock(mm.page_table_lock)
    try:
        if flags & FAULT_FLAG_WRITE:
            if not pte_write(entry):
                spin_unlock(mm.page_table_lock)
                try:
                    return do_wp_page(mm, vma, address, entry)
                finally:
                    spin_lock(mm.page_table_lock)
            entry = pte_mkdirty(entry)
        set_pte_at(mm, address, pte_mkyoung(entry))
    finally:
        spin_unlock(mm.page_table_lock)
    return 0


def alloc_zeroed_user_highpage_movable(vma: VmAreaStruct, address: int) -> Page | None:
    return alloc_page_vma(vma.vm_mm.machine, GFP_HIGHUSER_MOVABLE | _GFP_ZERO, vma, address)


def do_anonymous_page(mm: MmStruct, vma: VmAreaStruct, address: int, flags: int) -> int:
    """A read maps the zero page; a write allocates a zeroed page by policy."""
    if not flags & FAULT_FLAG_WRITE:
        entry = pte_mkspecial(pfn_pte(my_zero_pfn(mm.machine), vma.vm_page_prot))
        spin_lock(mm.page_table_lock)
        if pte_none(pte_read(mm, address)):
            set_pte_at(mm, address, entry)
        spin_unlock(mm.page_table_lock)
        return 0
    if anon_vma_prepare(vma):
        return VM_FAULT_OOM
    page = alloc_zeroed_user_highpage_movable(vma, address)
    if page is None:
        return VM_FAULT_OOM
    _SetPageUptodate(page)
    if mem_cgroup_newpage_charge(page, mm):
        put_page(page)
        return VM_FAULT_OOM
    entry = mk_pte(page, vma.vm_page_prot)
    if vma.vm_flags & VM_WRITE:
        entry = pte_mkwrite(pte_mkdirty(entry))
    spin_lock(mm.page_table_lock)
    try:
        if not pte_none(pte_read(mm, address)):
            mem_cgroup_uncharge_page(page)
            put_page(page)
            return 0
        mm.rss[MM_ANONPAGES] += 1
        page_add_new_anon_rmap(page, vma, address)
        set_pte_at(mm, address, entry)
    finally:
        spin_unlock(mm.page_table_lock)
    return 0


def do_wp_page(mm: MmStruct, vma: VmAreaStruct, address: int, orig_pte: int) -> int:
    """Write to a write-protected pte: reuse the page if this is its only
    mapping (anon) or the mapping is shared, else copy on write."""
    from .swapfile import reuse_swap_page

    old_page = vm_normal_page(vma, address, orig_pte)
    reuse = False
    if old_page is not None:
        if PageAnon(old_page) and not PageKsm(old_page):
            if not trylock_page(old_page):
                get_page(old_page)
                lock_page(old_page)
                put_page(old_page)
            reuse = reuse_swap_page(old_page)
            unlock_page(old_page)
        elif vma.vm_flags & (VM_WRITE | VM_SHARED) == VM_WRITE | VM_SHARED:
            reuse = True
            set_page_dirty(old_page)
    if reuse:
        spin_lock(mm.page_table_lock)
        set_pte_at(mm, address, maybe_mkwrite(pte_mkdirty(pte_mkyoung(orig_pte)), vma))
        spin_unlock(mm.page_table_lock)
        return VM_FAULT_WRITE
    # Copy on write.
    if old_page is not None:
        get_page(old_page)
    if anon_vma_prepare(vma):
        return _wp_oom(old_page)
    if is_zero_pfn(mm.machine, pte_pfn(orig_pte)):
        new_page = alloc_zeroed_user_highpage_movable(vma, address)
    else:
        new_page = alloc_page_vma(mm.machine, GFP_HIGHUSER_MOVABLE, vma, address)
        if new_page is not None and old_page is not None:
            copy_highpage(new_page, old_page)
    if new_page is None:
        return _wp_oom(old_page)
    _SetPageUptodate(new_page)
    if mem_cgroup_newpage_charge(new_page, mm):
        put_page(new_page)
        return _wp_oom(old_page)
    ret = 0
    spin_lock(mm.page_table_lock)
    try:
        if pte_read(mm, address) != orig_pte:
            put_page(new_page)  # someone else fixed the fault
        else:
            ret = VM_FAULT_WRITE
            if old_page is not None and not PageAnon(old_page):
                mm.rss[MM_FILEPAGES] -= 1
                mm.rss[MM_ANONPAGES] += 1
            elif old_page is None:
                mm.rss[MM_ANONPAGES] += 1
            entry = maybe_mkwrite(pte_mkdirty(mk_pte(new_page, vma.vm_page_prot)), vma)
            set_pte_at(mm, address, 0)
            page_add_new_anon_rmap(new_page, vma, address)
            set_pte_at(mm, address, entry)
            if old_page is not None:
                page_remove_rmap(old_page)
                put_page(old_page)  # the old pte's reference
    finally:
        spin_unlock(mm.page_table_lock)
    if old_page is not None:
        # Don't let another task, with possibly unlocked vma, keep the mlocked page.
        if ret & VM_FAULT_WRITE and vma.vm_flags & VM_LOCKED:
            from .mlock import munlock_vma_page

            lock_page(old_page)  # LRU manipulation
            munlock_vma_page(old_page)
            unlock_page(old_page)
        put_page(old_page)
    return ret


def _wp_oom(old_page: Page | None) -> int:
    if old_page is not None:
        put_page(old_page)
    return VM_FAULT_OOM


def do_swap_page(mm: MmStruct, vma: VmAreaStruct, address: int, flags: int, orig_pte: int) -> int:
    """A non-present, non-none pte: a migration entry (wait, then retry) or a
    swap entry (swap the page in through the swap cache)."""
    entry = pte_to_swp_entry(orig_pte)
    if is_migration_entry(entry):
        from .migrate import migration_entry_wait

        migration_entry_wait(mm, address)
        return 0
    if is_hwpoison_entry(entry):
        return VM_FAULT_HWPOISON
    from .swap_state import do_swap_page_swapin

    return do_swap_page_swapin(mm, vma, address, flags, orig_pte, entry)


def do_linear_fault(mm: MmStruct, vma: VmAreaStruct, address: int, flags: int) -> int:
    pgoff = ((address - vma.vm_start) >> PAGE_SHIFT) + vma.vm_pgoff
    return _do_fault(mm, vma, address, pgoff, flags)


def _do_fault(mm: MmStruct, vma: VmAreaStruct, address: int, pgoff: int, flags: int) -> int:
    """__do_fault: get the page from vm_ops->fault (locked), COW it for a
    private write, and install the pte."""

    assert vma.vm_ops is not None and vma.vm_ops.fault is not None
    ret, page = vma.vm_ops.fault(vma, pgoff, flags)
    if ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE):
        return int(ret)
    assert isinstance(page, Page)
    anon = False
    if flags & FAULT_FLAG_WRITE and not vma.vm_flags & VM_SHARED:
        if anon_vma_prepare(vma):
            unlock_page(page)
            put_page(page)
            return VM_FAULT_OOM
        cow = alloc_page_vma(mm.machine, GFP_HIGHUSER_MOVABLE, vma, address)
        if cow is None:
            unlock_page(page)
            put_page(page)
            return VM_FAULT_OOM
        if mem_cgroup_newpage_charge(cow, mm):
            put_page(cow)
            unlock_page(page)
            put_page(page)
            return VM_FAULT_OOM
        copy_highpage(cow, page)
        _SetPageUptodate(cow)
        unlock_page(page)
        put_page(page)  # drop the page cache reference taken by ->fault
        page = cow
        anon = True
    dirty_page = None
    spin_lock(mm.page_table_lock)
    try:
        if not pte_none(pte_read(mm, address)):
            if not anon:
                unlock_page(page)
            put_page(page)
            return int(ret)
        entry = mk_pte(page, vma.vm_page_prot)
        if flags & FAULT_FLAG_WRITE:
            entry = maybe_mkwrite(pte_mkdirty(entry), vma)
        if anon:
            mm.rss[MM_ANONPAGES] += 1
            page_add_new_anon_rmap(page, vma, address)
        else:
            mm.rss[MM_FILEPAGES] += 1
            page_add_file_rmap(page)
            if flags & FAULT_FLAG_WRITE:
                dirty_page = page
        set_pte_at(mm, address, entry)
    finally:
        spin_unlock(mm.page_table_lock)
    if not anon:
        unlock_page(page)
    if dirty_page is not None:
        set_page_dirty(dirty_page)
    return int(ret)


# --- fork ------------------------------------------------------------------------------------


def copy_one_pte(dst_mm: MmStruct, src_mm: MmStruct, vma: VmAreaStruct, addr: int, pte: int) -> int:
    """Copy one pte to the child; COW mappings are write-protected in both."""
    if not pte_present(pte):
        entry = pte_to_swp_entry(pte)
        if not is_migration_entry(entry):
            swap_duplicate(src_mm.machine, entry)
            if not dst_mm.on_mmlist:
                dst_mm.on_mmlist = True
            dst_mm.rss[MM_SWAPENTS] += 1
        else:
            # 2.6.35 does not count the copied migration entry in the child's
            # RSS (fixed in 3.5); the model notes the shortfall for check().
            kind = src_mm.migration_rss[addr >> PAGE_SHIFT]
            dst_mm.migration_rss[addr >> PAGE_SHIFT] = kind
            dst_mm.rss_leaked[kind] -= 1
        if is_migration_entry(entry) and is_write_migration_entry(entry) \
                and is_cow_mapping(vma.vm_flags):
            # COW mappings require both ends to be read-only.
            pte = swp_entry_to_pte(make_migration_entry_read(entry))
            set_pte_at(src_mm, addr, pte)
        return pte
    if is_cow_mapping(vma.vm_flags) and pte_write(pte):
        pte = pte_wrprotect(pte)
        set_pte_at(src_mm, addr, pte)
    if vma.vm_flags & VM_SHARED:
        pte = pte_mkclean(pte)
    pte = pte_mkold(pte)
    page = vm_normal_page(vma, addr, pte)
    if page is not None:
        get_page(page)
        page_dup_rmap(page)
        dst_mm.rss[MM_ANONPAGES if PageAnon(page) else MM_FILEPAGES] += 1
    return pte


def copy_page_range(dst_mm: MmStruct, src_mm: MmStruct, vma: VmAreaStruct) -> int:
    from .mmap import VM_NONLINEAR, VM_PFNMAP

    # Don't copy ptes where a page fault will fill them correctly: shared
    # mappings and private ones never written (no anon_vma) fault in again.
    # (VM_INSERTPAGE, the fourth exception, is not modelled.)
    if not vma.vm_flags & (VM_HUGETLB | VM_NONLINEAR | VM_PFNMAP) and vma.anon_vma is None:
        return 0
    if vma.vm_flags & VM_HUGETLB:
        return copy_hugetlb_page_range(dst_mm, src_mm, vma)
    start_vpn = vma.vm_start >> PAGE_SHIFT
    end_vpn = vma.vm_end >> PAGE_SHIFT
    for vpn, pte in src_mm.ptes.range(start_vpn, end_vpn):
        addr = vpn << PAGE_SHIFT
        pte = copy_one_pte(dst_mm, src_mm, vma, addr, pte)
        pte_alloc_map(dst_mm, addr)
        set_pte_at(dst_mm, addr, pte)
    return 0


# --- unmapping -------------------------------------------------------------------------------


def zap_pte_range(mm: MmStruct, vma: VmAreaStruct, start: int, end: int) -> None:
    """Clear the ptes of [start, end): drop page references and swap counts."""
    from .swapfile import free_swap_and_cache

    start_vpn, end_vpn = start >> PAGE_SHIFT, end >> PAGE_SHIFT
    spin_lock(mm.page_table_lock)
    try:
        _zap_ptes(mm, vma, start_vpn, end_vpn, set_page_dirty, mark_page_accessed,
                  free_swap_and_cache)
    finally:
        spin_unlock(mm.page_table_lock)


def _zap_ptes(mm: MmStruct, vma: VmAreaStruct, start_vpn: int, end_vpn: int,
              set_page_dirty: Callable[[Page], int], mark_page_accessed: Callable[[Page], None],
              free_swap_and_cache: Callable[[Machine, int], int]) -> None:
    for vpn, _ in mm.ptes.range(start_vpn, end_vpn):
        ptent = mm.ptes.pop(vpn)
        addr = vpn << PAGE_SHIFT
        if pte_present(ptent):
            page = vm_normal_page(vma, addr, ptent)
            if page is None:
                continue
            if PageAnon(page):
                mm.rss[MM_ANONPAGES] -= 1
            else:
                if pte_dirty(ptent):
                    set_page_dirty(page)
                if pte_young(ptent):
                    mark_page_accessed(page)
                mm.rss[MM_FILEPAGES] -= 1
            page_remove_rmap(page)
            free_page_and_swap_cache(page)
            continue
        entry = pte_to_swp_entry(ptent)
        if not is_migration_entry(entry):
            mm.rss[MM_SWAPENTS] -= 1
            free_swap_and_cache(mm.machine, entry)
        else:
            # 2.6.35 leaves the RSS of a zapped migration entry counted (fixed
            # in 3.5, "mm: fix rss count leakage during migration"). The model
            # keeps the leak and notes it so check() can tell it from a bug.
            mm.rss_leaked[mm.migration_rss.pop(vpn)] += 1


def free_page_and_swap_cache(page: Page) -> None:
    """Drop the pte's reference; an unmapped swap-cache page also leaves the
    swap cache if nobody else needs its swap slot."""
    from .swap_state import free_page_and_swap_cache as _free

    _free(page)


def free_pgtables(mm: MmStruct, start: int, end: int) -> None:
    """Free the page-table levels of [start, end) that no VMA needs any more:
    pte pages, then pmd tables, then pud tables (their entries are all none
    by now: zap_pte_range cleared them)."""
    from .mmap import find_vma_intersection

    def unused(idx: int, shift: int) -> bool:
        return find_vma_intersection(mm, idx << shift, (idx + 1) << shift) is None

    pgd = mm.pgd
    for g in range(max(start, 0) >> PGDIR_SHIFT, ((end - 1) >> PGDIR_SHIFT) + 1):
        pud = pgd[g]
        if pud is None:
            continue
        for u in indices_under(g, start >> PUD_SHIFT, (end - 1) >> PUD_SHIFT):
            pmd = pud[u & PUD_INDEX_MASK]
            if pmd is None:
                continue
            for m in indices_under(u, start >> PMD_SHIFT, (end - 1) >> PMD_SHIFT):
                if pmd[m & PMD_INDEX_MASK] is not None and unused(m, PMD_SHIFT):
                    pmd[m & PMD_INDEX_MASK] = None  # pte_free
            if unused(u, PUD_SHIFT):
                pud[u & PUD_INDEX_MASK] = None  # pmd_free
        if unused(g, PGDIR_SHIFT):
            pgd[g] = None  # pud_free


def unmap_vmas(mm: MmStruct, vma: VmAreaStruct, start: int, end: int) -> None:
    start, end = max(start, vma.vm_start), min(end, vma.vm_end)
    if vma.vm_flags & VM_HUGETLB:
        if vma.vm_file is not None:
            unmap_hugepage_range(vma, start, end)
        return
    zap_pte_range(mm, vma, start, end)



def get_user_pages(mm: MmStruct, vma: VmAreaStruct, addr: int, foll_flags: int) -> Page | int | None:
    """__get_user_pages for one page: follow_page, faulting until present.
    Return: the page (a reference with FOLL_GET), or a negative errno."""
    import errno

    from .mmap import VM_IO, VM_READ

    # __get_user_pages without FOLL_FORCE: the VMA must allow the access,
    # and VM_IO/VM_PFNMAP memory has no pages to hand out.
    if vma.vm_flags & (VM_IO | VM_PFNMAP) or not vma.vm_flags & (
            VM_WRITE if foll_flags & FOLL_WRITE else VM_READ):
        return -errno.EFAULT
    if vma.vm_flags & VM_HUGETLB:
        return follow_hugetlb_page(mm, vma, addr, foll_flags)
    for _ in range(16):
        page = follow_page(vma, addr, foll_flags)
        if isinstance(page, FollowPageError):
            return page.errno
        if page is not None:
            return page
        ret = handle_mm_fault(mm, vma, addr, FAULT_FLAG_WRITE if foll_flags & FOLL_WRITE else 0)
        if ret & VM_FAULT_ERROR:
            return -errno.ENOMEM if ret & VM_FAULT_OOM else -errno.EFAULT
        # A COW broken on a read-only VMA (ptrace) leaves the pte read-only.
        if ret & VM_FAULT_WRITE and not vma.vm_flags & VM_WRITE:
            foll_flags &= ~FOLL_WRITE
    raise KernelBug(f"get_user_pages: no progress faulting {addr:#x}")


def init_zero_page(machine: Machine) -> Page:
    """The shared zero page: a reserved frame of the first node with memory."""
    from .gfp import GFP_KERNEL
    from .page import SetPageReserved
    from .page_alloc import alloc_pages_exact_node

    nodes = machine.nodes_with_memory()
    if not nodes:
        raise ValueError("the machine has no memory at all")
    page = alloc_pages_exact_node(machine, nodes[0], GFP_KERNEL | _GFP_ZERO)
    if page is None:
        raise ValueError("no memory left for the zero page")
    SetPageReserved(page)
    _SetPageUptodate(page)
    return page


def change_protection(vma: VmAreaStruct, start: int, end: int,
                      dirty_accountable: bool = False) -> None:
    """Apply vm_page_prot to the present ptes of [start, end). Private
    writable mappings become write-protected (the next write faults and
    reuses the page); with dirty accounting, an already dirty pte may stay
    writable."""
    from .pgtable import pte_modify

    if vma.vm_flags & VM_HUGETLB:
        hugetlb_change_protection(vma, start, end, vma.vm_page_prot)
        return
    mm = vma.vm_mm
    for vpn, pte in mm.ptes.range(start >> PAGE_SHIFT, end >> PAGE_SHIFT):
        if not pte_present(pte):
            continue
        new = pte_modify(pte, vma.vm_page_prot)
        if dirty_accountable and pte_dirty(new):
            new = pte_mkwrite(new)
        mm.ptes[vpn] = new


def move_page_tables(mm: MmStruct, vma: VmAreaStruct, old_addr: int, new_vma: VmAreaStruct,
                     new_addr: int, length: int) -> None:
    """Move the ptes of [old_addr, +len) to new_addr (mremap). Pages keep
    their index: the new VMA's pgoff was chosen so rmap still finds them."""
    delta = (new_addr - old_addr) >> PAGE_SHIFT
    lo, hi = old_addr >> PAGE_SHIFT, (old_addr + length) >> PAGE_SHIFT
    ptes = mm.ptes.range(lo, hi)
    for vpn, _ in ptes:
        del mm.ptes[vpn]
    for vpn, pte in ptes:
        addr = (vpn + delta) << PAGE_SHIFT
        pte_alloc_map(mm, addr)
        mm.ptes[vpn + delta] = pte
