"""Model of mm/hugetlb.c and fs/hugetlbfs (2.6.35, x86-64, 2 MiB pages).

Huge pages come from a per-node pool (``hstate``) filled at boot or by
writing ``nr_hugepages``: each is an order-9 compound page whose destructor,
free_huge_page, puts it back on its node's free list instead of the buddy
allocator. A hugetlbfs file (or a MAP_HUGETLB mapping, an unlinked one)
caches its huge pages by huge-page index; a VMA maps each with one huge pmd
(``mm.huge_ptes``, by pmd index), which holds one reference and no mapcount:
2.6.35 has no reverse mapping of huge pages (2.6.36 added it), so they are
never unmapped by rmap, never on an LRU list, and never migrated: vma_migratable
refuses VM_HUGETLB, check_range skips it, and move_pages' query reports the
node of the huge page.

Reservations follow the kernel: a shared mapping reserves at mmap the huge
pages of its range not yet reserved in the file's region map; a private one
reserves its whole range for the mapping process (HPAGE_RESV_OWNER) in a
reservation map of its own, which fork does not copy. Not modelled: the
hugetlbfs size quota (unlimited, as a mount without size=), surplus pages
(nr_overcommit_hugepages stays 0), shared pmd pages (huge_pmd_share, 1 GiB
aligned shared mappings only), 1 GiB pages, and unmap_ref_private (a private
owner's COW that finds the pool empty fails with VM_FAULT_OOM instead of
unmapping the page from the children).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from .bug import BUG_ON, KernelBug, NotModelled
from .gfp import _GFP_COMP, _GFP_NOWARN, _GFP_REPEAT, _GFP_THISNODE, GFP_HIGHUSER
from .highmem import clear_highpage, copy_highpage
from .mmap import (
    MAP_FIXED,
    VM_HUGETLB,
    VM_MAYSHARE,
    VM_MAYWRITE,
    VM_NORESERVE,
    VM_RESERVED,
    VM_SHARED,
    VM_WRITE,
    MmStruct,
    VmAreaStruct,
    VmOperations,
    find_vma,
)
from .page import (
    PAGE_SHIFT,
    Page,
    PG_active,
    PG_dirty,
    PG_error,
    PG_locked,
    PG_private,
    PG_referenced,
    PG_reserved,
    PG_writeback,
    SetPageDirty,
    _SetPageUptodate,
)
from .pgtable import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_RW,
    PMD_SHIFT,
    pmd_table_alloc,
    pte_dirty,
    pte_modify,
    pte_present,
    pte_write,
    pte_wrprotect,
)

if TYPE_CHECKING:
    from ..machine import Machine
    from .fs import Inode

HPAGE_SHIFT: Final = PMD_SHIFT
HPAGE_SIZE: Final = 1 << HPAGE_SHIFT
HPAGE_MASK: Final = ~(HPAGE_SIZE - 1)
HUGETLB_PAGE_ORDER: Final = HPAGE_SHIFT - PAGE_SHIFT
PAGES_PER_HUGE_PAGE: Final = 1 << HUGETLB_PAGE_ORDER

_PAGE_PSE: Final = 1 << 7  # a pmd that maps a huge page (pte_mkhuge)

# vma->vm_private_data flags of a private mapping's reservation map
HPAGE_RESV_OWNER: Final = 1 << 0
HPAGE_RESV_UNMAPPED: Final = 1 << 1

# The fault codes (mm.h), repeated here to keep memory.py's import of this
# module one-way.
VM_FAULT_OOM: Final = 0x0001
VM_FAULT_SIGBUS: Final = 0x0002

htlb_alloc_mask: Final = GFP_HIGHUSER


class Hstate:
    """struct hstate of the default (2 MiB) huge page size: the pool."""

    __slots__ = (
        "free_huge_pages",
        "free_huge_pages_node",
        "hugepage_freelists",
        "next_nid_to_alloc",
        "next_nid_to_free",
        "nr_huge_pages",
        "nr_huge_pages_node",
        "order",
        "resv_huge_pages",
        "surplus_huge_pages",
        "surplus_huge_pages_node",
    )

    def __init__(self, nr_nodes: int) -> None:
        self.order = HUGETLB_PAGE_ORDER
        self.nr_huge_pages = 0
        self.free_huge_pages = 0
        self.resv_huge_pages = 0
        self.surplus_huge_pages = 0
        self.nr_huge_pages_node = [0] * nr_nodes
        self.free_huge_pages_node = [0] * nr_nodes
        self.surplus_huge_pages_node = [0] * nr_nodes
        # Free huge pages by node, most recently freed first (list_add).
        self.hugepage_freelists: list[list[Page]] = [[] for _ in range(nr_nodes)]
        self.next_nid_to_alloc = 0
        self.next_nid_to_free = 0

    def __repr__(self) -> str:
        return (f"<hstate 2048kB total={self.nr_huge_pages} free={self.free_huge_pages} "
                f"resv={self.resv_huge_pages}>")


@dataclass
class ResvMap:
    """struct resv_map of a private mapping: the huge-page indexes whose
    reservation has been consumed; ``flags`` are HPAGE_RESV_*."""

    regions: set[int] = field(default_factory=set)
    flags: int = 0


def PageHuge(page: Page) -> bool:
    """A hugetlb page (head or tail): its compound destructor is free_huge_page."""
    from .page import PageCompound
    from .page_alloc import compound_head, get_compound_page_dtor

    if not PageCompound(page):
        return False
    return get_compound_page_dtor(compound_head(page)) is free_huge_page


def is_vm_hugetlb_page(vma: VmAreaStruct) -> bool:

    return vma.vm_flags & VM_HUGETLB != 0


def is_file_hugepages(file: object) -> bool:
    from .fs import Inode

    return isinstance(file, Inode) and file.kind.huge_pages


# --- the pool ------------------------------------------------------------------------------


def enqueue_huge_page(h: Hstate, page: Page) -> None:
    nid = page.zone.node_id
    h.hugepage_freelists[nid].insert(0, page)
    h.free_huge_pages += 1
    h.free_huge_pages_node[nid] += 1


def _dequeue_from_node(h: Hstate, nid: int) -> Page:
    page = h.hugepage_freelists[nid].pop(0)
    h.free_huge_pages -= 1
    h.free_huge_pages_node[nid] -= 1
    return page


def update_and_free_page(h: Hstate, page: Page) -> None:
    """Give a huge page back to the buddy allocator."""
    from .page_alloc import _free_pages, set_compound_page_dtor

    machine = page.zone.machine
    h.nr_huge_pages -= 1
    h.nr_huge_pages_node[page.zone.node_id] -= 1
    cleared = ~(1 << PG_locked | 1 << PG_error | 1 << PG_referenced | 1 << PG_dirty
                | 1 << PG_active | 1 << PG_reserved | 1 << PG_private | 1 << PG_writeback)
    for i in range(PAGES_PER_HUGE_PAGE):
        machine.pfn_to_page(page.pfn + i).flags &= cleared
    set_compound_page_dtor(page, None)
    page._count = 1  # set_page_refcounted
    _free_pages(page, h.order)


def free_huge_page(page: Page) -> None:
    """The compound destructor of huge pages: back to the node's free list
    (a surplus page goes back to the buddy allocator)."""
    h = page.zone.machine.hstate
    nid = page.zone.node_id
    page.private = 0  # the quota's mapping (hugetlb_put_quota: quota not modelled)
    page.mapping = None
    BUG_ON(page._count != 0, "free_huge_page of a referenced page")
    if h.surplus_huge_pages_node[nid]:
        update_and_free_page(h, page)
        h.surplus_huge_pages -= 1
        h.surplus_huge_pages_node[nid] -= 1
    else:
        enqueue_huge_page(h, page)


def prep_new_huge_page(h: Hstate, page: Page, nid: int) -> None:
    from .page_alloc import set_compound_page_dtor
    from .swap import put_page

    set_compound_page_dtor(page, free_huge_page)
    h.nr_huge_pages += 1
    h.nr_huge_pages_node[nid] += 1
    put_page(page)  # free it into the hugepage allocator


def alloc_fresh_huge_page_node(h: Hstate, machine: Machine, nid: int) -> Page | None:
    from .page_alloc import alloc_pages_exact_node

    page = alloc_pages_exact_node(machine, nid, htlb_alloc_mask | _GFP_COMP | _GFP_THISNODE
                                  | _GFP_REPEAT | _GFP_NOWARN, h.order)
    if page is not None:
        prep_new_huge_page(h, page, nid)
    return page


def _next_node_allowed(nid: int, nodes_allowed: list[int]) -> int:
    later = [n for n in nodes_allowed if n > nid]
    return later[0] if later else nodes_allowed[0]


def alloc_fresh_huge_page(h: Hstate, machine: Machine, nodes_allowed: list[int]) -> bool:
    """One more huge page, trying the allowed nodes round-robin from
    next_nid_to_alloc (hstate_next_node_to_alloc)."""
    start = h.next_nid_to_alloc if h.next_nid_to_alloc in nodes_allowed else nodes_allowed[0]
    nid = start
    while True:
        page = alloc_fresh_huge_page_node(h, machine, nid)
        h.next_nid_to_alloc = _next_node_allowed(nid, nodes_allowed)
        if page is not None:
            return True
        nid = h.next_nid_to_alloc
        if nid == start:
            return False


def free_pool_huge_page(h: Hstate, nodes_allowed: list[int]) -> bool:
    """Free one free huge page of the allowed nodes, round-robin."""
    start = h.next_nid_to_free if h.next_nid_to_free in nodes_allowed else nodes_allowed[0]
    nid = start
    while True:
        h.next_nid_to_free = _next_node_allowed(nid, nodes_allowed)
        if h.hugepage_freelists[nid]:
            update_and_free_page(h, _dequeue_from_node(h, nid))
            return True
        nid = h.next_nid_to_free
        if nid == start:
            return False


def set_max_huge_pages(machine: Machine, count: int, nodes_allowed: list[int]) -> int:
    """Grow or shrink the pool towards ``count`` pages; returns the new size
    (the kernel never frees reserved or in-use huge pages)."""
    h = machine.hstate
    while h.nr_huge_pages < count:
        if not alloc_fresh_huge_page(h, machine, nodes_allowed):
            break
    min_count = h.resv_huge_pages + h.nr_huge_pages - h.free_huge_pages
    count = max(count, min_count)
    while h.nr_huge_pages > count:
        if not free_pool_huge_page(h, nodes_allowed):
            break
    return h.nr_huge_pages


def hugetlb_boot(machine: Machine, pool: int | list[int]) -> None:
    """Fill the pool at boot: ``hugepages=N`` spreads N pages round-robin over
    the nodes with memory; a list gives each node's count."""
    h = machine.hstate
    if isinstance(pool, int):
        nodes = machine.nodes_with_memory()
        for _ in range(pool):
            if not alloc_fresh_huge_page(h, machine, nodes):
                break
        return
    for nid, want in enumerate(pool):
        for _ in range(want):
            if alloc_fresh_huge_page_node(h, machine, nid) is None:
                break


# --- reservations -------------------------------------------------------------------------


def region_chg(regions: set[int], f: int, t: int) -> int:
    return sum(1 for idx in range(f, t) if idx not in regions)


def region_add(regions: set[int], f: int, t: int) -> None:
    regions.update(range(f, t))


def region_truncate(regions: set[int], end: int) -> int:
    gone = {idx for idx in regions if idx >= end}
    regions -= gone
    return len(gone)


def region_count(regions: set[int], f: int, t: int) -> int:
    return sum(1 for idx in regions if f <= idx < t)


def vma_resv_map(vma: VmAreaStruct) -> ResvMap | None:

    if vma.vm_flags & VM_MAYSHARE:
        return None
    resv = vma.vm_private_data
    return resv if isinstance(resv, ResvMap) else None


def is_vma_resv_set(vma: VmAreaStruct, flag: int) -> bool:
    resv = vma_resv_map(vma)
    return resv is not None and resv.flags & flag != 0


def reset_vma_resv_huge_pages(vma: VmAreaStruct) -> None:
    """fork: the child's copy of a private mapping has no reservations."""
    vma.vm_private_data = None


def vma_hugecache_offset(vma: VmAreaStruct, address: int) -> int:
    return ((address - vma.vm_start) >> HPAGE_SHIFT) + (vma.vm_pgoff >> HUGETLB_PAGE_ORDER)


def _inode_of(vma: VmAreaStruct) -> Inode:
    from .fs import Inode

    inode = vma.vm_file
    assert isinstance(inode, Inode)
    return inode


def vma_has_reserves(vma: VmAreaStruct) -> bool:

    return bool(vma.vm_flags & VM_MAYSHARE) or is_vma_resv_set(vma, HPAGE_RESV_OWNER)


def decrement_hugepage_resv_vma(h: Hstate, vma: VmAreaStruct) -> None:

    if vma.vm_flags & VM_NORESERVE:
        return
    if vma.vm_flags & VM_MAYSHARE or is_vma_resv_set(vma, HPAGE_RESV_OWNER):
        # Shared mappings always use reserves; of private ones, only the
        # process that called mmap() has any.
        h.resv_huge_pages -= 1


def vma_needs_reservation(vma: VmAreaStruct, addr: int) -> int:

    idx = vma_hugecache_offset(vma, addr)
    if vma.vm_flags & VM_MAYSHARE:
        return region_chg(_inode_of(vma).hugetlb_regions, idx, idx + 1)
    if not is_vma_resv_set(vma, HPAGE_RESV_OWNER):
        return 1
    return 0


def vma_commit_reservation(vma: VmAreaStruct, addr: int) -> None:

    idx = vma_hugecache_offset(vma, addr)
    if vma.vm_flags & VM_MAYSHARE:
        region_add(_inode_of(vma).hugetlb_regions, idx, idx + 1)
        return
    resv = vma_resv_map(vma)
    if resv is not None and resv.flags & HPAGE_RESV_OWNER:
        region_add(resv.regions, idx, idx + 1)  # mark this page used in the map


def cpuset_mems_nr(machine: Machine, per_node: list[int]) -> int:
    task = machine.current
    nodes = task.mems_allowed if task is not None else frozenset(machine.nodes_with_memory())
    return sum(per_node[nid] for nid in nodes)


def hugetlb_acct_memory(machine: Machine, delta: int) -> int:
    """Take (or give back) ``delta`` reservations; -ENOMEM when the pool, or
    its part in the caller's cpuset, has too few free pages (no surplus
    pages: nr_overcommit_hugepages is 0)."""
    h = machine.hstate
    if delta > 0:
        if h.resv_huge_pages + delta > h.free_huge_pages:  # gather_surplus_pages
            return -errno.ENOMEM
        h.resv_huge_pages += delta
        # The pool's free pages in this cpuset must cover the reservation
        # (checked only on mmap; the fault may still find them gone).
        if delta > cpuset_mems_nr(machine, h.free_huge_pages_node):
            h.resv_huge_pages -= delta  # return_unused_surplus_pages
            return -errno.ENOMEM
        return 0
    h.resv_huge_pages += delta
    return 0


def hugetlb_reserve_pages(inode: Inode, f: int, t: int, vma: VmAreaStruct | None,
                          acctflag: int) -> int:

    if acctflag & VM_NORESERVE:
        return 0
    if vma is None or vma.vm_flags & VM_MAYSHARE:
        chg = region_chg(inode.hugetlb_regions, f, t)
    else:
        chg = t - f
        vma.vm_private_data = ResvMap(flags=HPAGE_RESV_OWNER)
    ret = hugetlb_acct_memory(inode.machine, chg)
    if ret < 0:
        return ret
    if vma is None or vma.vm_flags & VM_MAYSHARE:
        region_add(inode.hugetlb_regions, f, t)
    return 0


def hugetlb_unreserve_pages(inode: Inode, offset: int, freed: int) -> None:
    chg = region_truncate(inode.hugetlb_regions, offset)
    hugetlb_acct_memory(inode.machine, -(chg - freed))


def hugetlb_vm_op_close(vma: VmAreaStruct) -> None:
    """Return the unused reservations of a private mapping's range."""
    resv = vma_resv_map(vma)
    if resv is None:
        return
    start = vma_hugecache_offset(vma, vma.vm_start)
    end = vma_hugecache_offset(vma, vma.vm_end)
    reserve = (end - start) - region_count(resv.regions, start, end)
    if reserve:
        hugetlb_acct_memory(vma.vm_mm.machine, -reserve)


def hugetlb_vm_op_fault(vma: VmAreaStruct, pgoff: int, flags: int) -> tuple[int, Page | None]:
    """hugetlb faults go through hugetlb_fault, never through ->fault."""
    raise KernelBug("kernel BUG at mm/hugetlb.c: hugetlb_vm_op_fault called")


# --- allocation for a fault -------------------------------------------------------------------


def dequeue_huge_page_vma(h: Hstate, vma: VmAreaStruct, address: int,
                          avoid_reserve: bool) -> Page | None:
    """A free huge page by the VMA's policy: the first node of the policy's
    zonelist (within its nodemask and the cpuset) that has one."""
    from .cpuset import cpuset_zone_allowed
    from .page_alloc import node_zonelist

    machine = vma.vm_mm.machine
    # A child with MAP_PRIVATE mappings created by its parent has no
    # reserves: it must not steal the pages reserved for others.
    if not vma_has_reserves(vma) and h.free_huge_pages - h.resv_huge_pages == 0:
        return None
    # If reserves cannot be used, ensure enough pages are in the pool.
    if avoid_reserve and h.free_huge_pages - h.resv_huge_pages == 0:
        return None
    zonelist_node, nodemask = huge_zonelist(vma, address)
    for zone in node_zonelist(machine.nodes[zonelist_node], htlb_alloc_mask):
        nid = zone.node_id
        if nodemask is not None and nid not in nodemask:
            continue
        if cpuset_zone_allowed(machine.current, nid, htlb_alloc_mask) \
                and h.hugepage_freelists[nid]:
            page = _dequeue_from_node(h, nid)
            if not avoid_reserve:
                decrement_hugepage_resv_vma(h, vma)
            return page
    return None


def huge_zonelist(vma: VmAreaStruct, addr: int) -> tuple[int, frozenset[int] | None]:
    """mempolicy.c huge_zonelist: (the node whose zonelist to walk, the
    MPOL_BIND nodemask or None); interleave counts in huge pages."""
    from .mempolicy import (
        MPOL_BIND,
        MPOL_INTERLEAVE,
        get_vma_policy,
        offset_il_node,
        policy_zonelist_node,
    )

    machine = vma.vm_mm.machine
    pol = get_vma_policy(machine.current, vma, addr)
    if pol.mode == MPOL_INTERLEAVE:
        off = (vma.vm_pgoff >> HUGETLB_PAGE_ORDER) + ((addr - vma.vm_start) >> HPAGE_SHIFT)
        return offset_il_node(machine, pol, off), None  # interleave_nid
    nd = policy_zonelist_node(machine, htlb_alloc_mask, pol)
    return nd, (pol.nodes if pol.mode == MPOL_BIND else None)


def alloc_huge_page(vma: VmAreaStruct, addr: int, avoid_reserve: bool) -> Page | int:
    """A huge page for a fault, or a VM_FAULT_* code (the kernel's
    ERR_PTR(-VM_FAULT_*))."""
    machine = vma.vm_mm.machine
    h = machine.hstate
    chg = vma_needs_reservation(vma, addr)
    if chg < 0:
        return VM_FAULT_OOM
    page = dequeue_huge_page_vma(h, vma, addr, avoid_reserve)
    if page is None:
        # alloc_buddy_huge_page: no surplus pages (nr_overcommit_hugepages 0).
        return VM_FAULT_SIGBUS
    page._count = 1  # set_page_refcounted
    page.private = _inode_of(vma).mapping  # set_page_private(page, mapping): the quota's owner
    vma_commit_reservation(vma, addr)
    return page


def clear_huge_page(page: Page) -> None:
    machine = page.zone.machine
    for i in range(PAGES_PER_HUGE_PAGE):
        clear_highpage(machine.pfn_to_page(page.pfn + i))


def copy_huge_page(dst: Page, src: Page) -> None:
    machine = dst.zone.machine
    for i in range(PAGES_PER_HUGE_PAGE):
        copy_highpage(machine.pfn_to_page(dst.pfn + i), machine.pfn_to_page(src.pfn + i))


# --- huge page tables --------------------------------------------------------------------------


def huge_pte_offset(mm: MmStruct, addr: int) -> int:
    """The huge pmd mapping ``addr`` (0 when none)."""
    return mm.huge_ptes.get(addr >> PMD_SHIFT, 0)


def huge_pte_alloc(mm: MmStruct, addr: int) -> None:
    """pud_alloc + pmd_alloc: the levels above the huge pmd."""
    pmd_table_alloc(mm.pgd, addr)


def set_huge_pte_at(mm: MmStruct, addr: int, pte: int) -> None:
    if pte:
        mm.huge_ptes[addr >> PMD_SHIFT] = pte
    else:
        mm.huge_ptes.pop(addr >> PMD_SHIFT, None)


def make_huge_pte(vma: VmAreaStruct, page: Page, writable: bool) -> int:
    prot = vma.vm_page_prot
    if writable:
        entry = ((page.pfn << PAGE_SHIFT) | prot) | _PAGE_DIRTY | _PAGE_RW
    else:
        entry = pte_wrprotect((page.pfn << PAGE_SHIFT) | prot)
    return entry | _PAGE_ACCESSED | _PAGE_PSE  # pte_mkyoung, pte_mkhuge


def huge_pte_page(mm: MmStruct, pte: int) -> Page:
    return mm.machine.pfn_to_page(pte >> PAGE_SHIFT)


def follow_huge_pmd(mm: MmStruct, address: int, pte: int) -> Page:
    """The sub-page of the huge page that ``address`` falls in."""
    return mm.machine.pfn_to_page((pte >> PAGE_SHIFT) + ((address & ~HPAGE_MASK) >> PAGE_SHIFT))


# --- faults --------------------------------------------------------------------------------------


def hugetlb_fault(mm: MmStruct, vma: VmAreaStruct, address: int, flags: int) -> int:
    from .memory import FAULT_FLAG_WRITE

    address &= HPAGE_MASK
    huge_pte_alloc(mm, address)
    entry = huge_pte_offset(mm, address)
    if entry == 0:  # huge_pte_none
        return hugetlb_no_page(mm, vma, address, flags)
    write = bool(flags & FAULT_FLAG_WRITE)
    pagecache_page = None
    if write and not pte_write(entry):
        # A COW of a private mapping: examine the pending reservations now.
        if vma_needs_reservation(vma, address) < 0:
            return VM_FAULT_OOM
        if not vma.vm_flags & VM_MAYSHARE:
            pagecache_page = hugetlbfs_pagecache_page(vma, address)
    ret = 0
    if write:
        if not pte_write(entry):
            ret = hugetlb_cow(mm, vma, address, entry, pagecache_page)
            _release_pagecache_page(pagecache_page)
            return ret
        entry |= _PAGE_DIRTY
    set_huge_pte_at(mm, address, entry | _PAGE_ACCESSED)  # huge_ptep_set_access_flags
    _release_pagecache_page(pagecache_page)
    return ret


def _release_pagecache_page(page: Page | None) -> None:
    from .pagemap import unlock_page
    from .swap import put_page

    if page is not None:
        unlock_page(page)
        put_page(page)


def hugetlbfs_pagecache_page(vma: VmAreaStruct, address: int) -> Page | None:
    from .filemap import find_lock_page

    return find_lock_page(_inode_of(vma).mapping, vma_hugecache_offset(vma, address))


def hugetlb_no_page(mm: MmStruct, vma: VmAreaStruct, address: int, flags: int) -> int:
    """First touch: the page cache's huge page (shared mappings add a new one
    to it), or a fresh private one."""
    from .filemap import add_to_page_cache, find_lock_page
    from .memory import FAULT_FLAG_WRITE
    from .pagemap import lock_page, unlock_page
    from .swap import put_page

    # A private mapping whose owner had to steal this page back: SIGBUS.
    if is_vma_resv_set(vma, HPAGE_RESV_UNMAPPED):
        return VM_FAULT_SIGBUS
    inode = _inode_of(vma)
    mapping = inode.mapping
    idx = vma_hugecache_offset(vma, address)
    while True:  # retry
        page = find_lock_page(mapping, idx)
        if page is not None:
            break
        if idx >= inode.i_size >> HPAGE_SHIFT:
            return VM_FAULT_SIGBUS
        new = alloc_huge_page(vma, address, False)
        if isinstance(new, int):
            return new
        page = new
        clear_huge_page(page)
        _SetPageUptodate(page)
        if vma.vm_flags & VM_MAYSHARE:
            err = add_to_page_cache(page, mapping, idx)
            if err:
                put_page(page)
                if err == -errno.EEXIST:
                    continue
                return VM_FAULT_SIGBUS
        else:
            lock_page(page)
        break
    write = bool(flags & FAULT_FLAG_WRITE)
    # A COW of a private mapping later: examine the pending reservations now.
    if write and not vma.vm_flags & VM_SHARED and vma_needs_reservation(vma, address) < 0:
        unlock_page(page)
        put_page(page)
        return VM_FAULT_OOM
    # backout: truncated meanwhile (SIGBUS), or another fault mapped it first.
    beyond_eof = idx >= inode.i_size >> HPAGE_SHIFT
    if beyond_eof or huge_pte_offset(mm, address):
        unlock_page(page)
        put_page(page)
        return VM_FAULT_SIGBUS if beyond_eof else 0
    ret = 0
    new_pte = make_huge_pte(vma, page, bool(vma.vm_flags & VM_WRITE and vma.vm_flags & VM_SHARED))
    set_huge_pte_at(mm, address, new_pte)
    if write and not vma.vm_flags & VM_SHARED:
        # Optimization, do the COW without a second fault.
        ret = hugetlb_cow(mm, vma, address, new_pte, page)
    unlock_page(page)
    return ret


def hugetlb_cow(mm: MmStruct, vma: VmAreaStruct, address: int, pte: int,
                pagecache_page: Page | None) -> int:
    """Write to a read-only private huge pte: reuse the page if nobody else
    holds it, else copy it to a new huge page."""
    from .swap import put_page

    old_page = huge_pte_page(mm, pte)
    if old_page._count == 1:  # avoidcopy: no-one else is actually using this page
        set_huge_pte_at(mm, address, pte | _PAGE_RW | _PAGE_DIRTY)  # set_huge_ptep_writable
        return 0
    # The process that created a MAP_PRIVATE mapping COWs without its reserves.
    outside_reserve = (not vma.vm_flags & VM_MAYSHARE and is_vma_resv_set(vma, HPAGE_RESV_OWNER)
                       and old_page is not pagecache_page)
    old_page._count += 1  # page_cache_get
    new_page = alloc_huge_page(vma, address, outside_reserve)
    if isinstance(new_page, int):
        put_page(old_page)
        # unmap_ref_private (taking the page from the children) is not modelled.
        return new_page
    copy_huge_page(new_page, old_page)
    _SetPageUptodate(new_page)
    if huge_pte_offset(mm, address) == pte:  # pte_same: break COW
        set_huge_pte_at(mm, address, make_huge_pte(vma, new_page, True))
        new_page = old_page  # make the old page be freed below
    put_page(new_page)
    put_page(old_page)
    return 0


def hugetlb_pte_access(mm: MmStruct, address: int, write: bool) -> Page | None:
    """What the MMU does with a huge pmd: the sub-page when the access is
    allowed (setting the accessed and dirty bits), else None (a fault)."""
    pte = huge_pte_offset(mm, address)
    if not pte & _PAGE_PRESENT or (write and not pte & _PAGE_RW):
        return None
    set_huge_pte_at(mm, address, pte | _PAGE_ACCESSED | (_PAGE_DIRTY if write else 0))
    return follow_huge_pmd(mm, address, pte)


def follow_hugetlb_page(mm: MmStruct, vma: VmAreaStruct, vaddr: int, flags: int) -> Page | int:
    """get_user_pages of one address of a hugetlb VMA: fault until the huge
    pmd allows the access, then the sub-page (FOLL_GET takes a reference on
    the head, as get_page does); -EFAULT when the fault fails."""
    from .memory import FAULT_FLAG_WRITE, FOLL_GET, FOLL_WRITE
    from .page import get_page

    for _ in range(16):
        pte = huge_pte_offset(mm, vaddr)
        if not pte or (flags & FOLL_WRITE and not pte_write(pte)):
            ret = hugetlb_fault(mm, vma, vaddr, FAULT_FLAG_WRITE if flags & FOLL_WRITE else 0)
            if ret & (VM_FAULT_OOM | VM_FAULT_SIGBUS):  # VM_FAULT_ERROR
                return -errno.EFAULT
            continue
        page = follow_huge_pmd(mm, vaddr, pte)  # mem_map_offset
        if flags & FOLL_GET:
            get_page(page)
        return page
    raise KernelBug(f"follow_hugetlb_page: no progress faulting {vaddr:#x}")


# --- fork, unmap, mprotect --------------------------------------------------------------------


def copy_hugetlb_page_range(dst: MmStruct, src: MmStruct, vma: VmAreaStruct) -> int:
    from .page import get_page

    cow = vma.vm_flags & (VM_SHARED | VM_MAYWRITE) == VM_MAYWRITE
    for addr in range(vma.vm_start, vma.vm_end, HPAGE_SIZE):
        entry = huge_pte_offset(src, addr)
        if not entry:
            continue
        huge_pte_alloc(dst, addr)
        if cow:
            entry = pte_wrprotect(entry)  # huge_ptep_set_wrprotect
            set_huge_pte_at(src, addr, entry)
        get_page(huge_pte_page(src, entry))
        set_huge_pte_at(dst, addr, entry)
    return 0


def unmap_hugepage_range(vma: VmAreaStruct, start: int, end: int) -> None:
    """Clear the huge pmds of [start, end) and drop their references."""
    from .page_writeback import set_page_dirty
    from .swap import put_page

    BUG_ON(start & ~HPAGE_MASK != 0 or end & ~HPAGE_MASK != 0, "unaligned hugetlb unmap")
    mm = vma.vm_mm
    pages: list[Page] = []
    for address in range(start, end, HPAGE_SIZE):
        pte = huge_pte_offset(mm, address)  # huge_ptep_get_and_clear
        if not pte:
            continue
        set_huge_pte_at(mm, address, 0)
        page = huge_pte_page(mm, pte)
        if pte_dirty(pte):
            set_page_dirty(page)
        pages.append(page)
    for page in pages:
        put_page(page)


def hugetlb_change_protection(vma: VmAreaStruct, start: int, end: int, newprot: int) -> None:
    mm = vma.vm_mm
    for address in range(start, end, HPAGE_SIZE):
        pte = huge_pte_offset(mm, address)
        if pte and pte_present(pte):
            set_huge_pte_at(mm, address, pte_modify(pte, newprot) | _PAGE_PSE)


# --- hugetlbfs ---------------------------------------------------------------------------------


def hugetlbfs_set_page_dirty(page: Page) -> int:
    from .page_alloc import compound_head

    SetPageDirty(compound_head(page))
    return 0


def hugetlb_get_unmapped_area(mm: MmStruct, addr: int, length: int, flags: int) -> int:
    """arch/x86 hugetlb_get_unmapped_area: huge-page aligned and sized."""

    if length & ~HPAGE_MASK:
        return -errno.EINVAL
    if length > mm.task_size:
        return -errno.ENOMEM
    if flags & MAP_FIXED:
        return -errno.EINVAL if addr & ~HPAGE_MASK else addr  # prepare_hugepage_range
    if addr:
        addr = (addr + HPAGE_SIZE - 1) & HPAGE_MASK
        vma = find_vma(mm, addr)
        if mm.task_size - length >= addr and (vma is None or addr + length <= vma.vm_start):
            return addr
    # hugetlb_get_unmapped_area_topdown: the highest aligned gap below mmap_base.
    top = mm.mmap_base
    for vma in reversed(mm.mmap):
        if vma.vm_start >= top:
            continue
        candidate = (top - length) & HPAGE_MASK
        if vma.vm_end <= candidate:
            return candidate
        top = vma.vm_start
    candidate = (top - length) & HPAGE_MASK
    return candidate if candidate >= HPAGE_SIZE else -errno.ENOMEM


def hugetlbfs_file_mmap(inode: Inode, vma: VmAreaStruct) -> int:

    if inode.machine.kernel.hugetlb_pages_migrate:
        raise NotModelled(f"profile {inode.machine.kernel.name} migrates hugetlb pages "
                          "(unmap_and_move_huge_page), which the model does not implement; "
                          "hugetlb mappings need profile 2.6.35")
    vma.vm_flags |= VM_HUGETLB | VM_RESERVED
    vma.vm_ops = HUGETLB_VM_OPS
    if vma.vm_pgoff & ~(HPAGE_MASK >> PAGE_SHIFT):
        return -errno.EINVAL
    length = vma.vm_end - vma.vm_start + (vma.vm_pgoff << PAGE_SHIFT)
    if hugetlb_reserve_pages(inode, vma.vm_pgoff >> HUGETLB_PAGE_ORDER, length >> HPAGE_SHIFT,
                             vma, vma.vm_flags):
        return -errno.ENOMEM
    if vma.vm_flags & VM_WRITE and inode.i_size < length:
        inode.i_size = length
    return 0


def truncate_hugepages(inode: Inode, lstart: int) -> None:
    """Drop the cached huge pages from byte ``lstart`` on and give back the
    reservations nobody used."""
    from .filemap import remove_from_page_cache
    from .page import ClearPageUptodate
    from .page_writeback import cancel_dirty_page
    from .pagemap import lock_page, unlock_page
    from .swap import put_page

    start = lstart >> HPAGE_SHIFT
    mapping = inode.mapping
    freed = 0
    for idx in sorted(i for i in mapping.page_tree if i >= start):
        page = mapping.page_tree[idx]
        lock_page(page)
        cancel_dirty_page(page)  # truncate_huge_page
        ClearPageUptodate(page)
        remove_from_page_cache(page)
        unlock_page(page)
        put_page(page)
        freed += 1
    hugetlb_unreserve_pages(inode, start, freed)


def hugetlb_file_setup(machine: Machine, length: int) -> Inode:
    """MAP_HUGETLB: an unlinked hugetlbfs file of the (huge-aligned) length;
    its reservation is taken by the mmap (VM_NORESERVE here)."""
    from .fs import create_inode

    inode = create_inode(machine, "/anon_hugepage (deleted)", length, "hugetlbfs")
    inode.linked = False
    return inode


HUGETLB_VM_OPS = VmOperations("hugetlb_vm_ops", fault=hugetlb_vm_op_fault,
                              close=hugetlb_vm_op_close)
