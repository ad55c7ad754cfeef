"""Machine.check() for the virtual-memory side: page tables, rmap, the page
and swap caches, buffers, RSS and the counters they drive.

Each checker walks real structures and records the references it finds in the
ledger of ``invariants.py``; mismatches are reported, never repaired.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from .buffer import buffer_locked, buffers_of, page_has_buffers
from .invariants import CheckContext, _describe
from .mmap import MM_ANONPAGES, MM_FILEPAGES, MM_SWAPENTS, MmStruct, VmAreaStruct
from .mmzone import Zone, ZoneStatItem
from .page import PAGE_SHIFT, Page, PageAnon, PageDirty, PageKsm, PageSwapBacked, PageSwapCache, PG_buddy
from .pgtable import (
    PMD_SHIFT,
    is_swap_pte,
    pte_pfn,
    pte_present,
    pte_special,
    pte_to_swp_entry,
)
from .rmap import AnonVma, page_anon_vma, vma_address
from .swapops import is_migration_entry, swp_offset

if TYPE_CHECKING:
    from .filemap import AddressSpace
    from .ksm import RmapItem


def all_mms(ctx: CheckContext) -> list[tuple[int, MmStruct]]:
    seen: dict[int, tuple[int, MmStruct]] = {}
    for pid, task in sorted(ctx.machine.pid_table.tasks.items()):
        if task.mm is not None and id(task.mm) not in seen:
            seen[id(task.mm)] = (pid, task.mm)
    return list(seen.values())


def all_mappings(ctx: CheckContext) -> list[AddressSpace]:
    return [ctx.machine.swapper_space] + [inode.mapping for inode in ctx.machine.inodes.values()]


def check_zero_page(ctx: CheckContext) -> None:
    ctx.ledger.add(ctx.machine.zero_page, "the reserved zero page")


def check_vmas(ctx: CheckContext) -> None:
    for pid, mm in all_mms(ctx):
        prev_end = 0
        for i, vma in enumerate(mm.mmap):
            if vma.vm_mm is not mm:
                ctx.fail(f"pid {pid}: {vma!r} belongs to another mm")
            if vma.vm_start % 4096 or vma.vm_end % 4096 or vma.vm_start >= vma.vm_end:
                ctx.fail(f"pid {pid}: malformed {vma!r}")
            if vma.vm_start < prev_end:
                ctx.fail(f"pid {pid}: {vma!r} overlaps the previous VMA")
            if mm._ends[i] != vma.vm_end:
                ctx.fail(f"pid {pid}: end cache of {vma!r} is stale")
            prev_end = vma.vm_end
            for avc in vma.anon_vma_chain:
                if avc.anon_vma.freed or avc not in avc.anon_vma.head:
                    ctx.fail(f"pid {pid}: {vma!r} links a freed or unlinked anon_vma")
            if vma.vm_file is not None and vma not in vma.vm_file.f_mapping.i_mmap:  # type: ignore[attr-defined]
                ctx.fail(f"pid {pid}: file {vma!r} missing from its mapping's i_mmap")
        _check_free_area_cache(ctx, pid, mm)


def _check_free_area_cache(ctx: CheckContext, pid: int, mm: MmStruct) -> None:
    """get_unmapped_area may start its search at free_area_cache only if no
    free gap above it is longer than cached_hole_size, and none runs across it."""
    cache, top = mm.free_area_cache, mm.mmap_base
    if cache > top:
        ctx.fail(f"pid {pid}: free_area_cache {cache:#x} lies above mmap_base {top:#x}")
    for vma in reversed(mm.mmap):
        if top <= cache:
            return
        if vma.vm_start >= top:
            continue
        if vma.vm_end < cache:
            ctx.fail(f"pid {pid}: free_area_cache {cache:#x} lies inside the free gap "
                     f"{vma.vm_end:#x}-{top:#x}")
            return
        if top - vma.vm_end > mm.cached_hole_size:
            ctx.fail(f"pid {pid}: a free gap {vma.vm_end:#x}-{top:#x} above free_area_cache "
                     f"{cache:#x} is longer than cached_hole_size {mm.cached_hole_size:#x}")
        top = vma.vm_start
    if top > cache:
        ctx.fail(f"pid {pid}: free_area_cache {cache:#x} lies inside a free gap below {top:#x}")


def _vma_of(mm: MmStruct, addr: int) -> VmAreaStruct | None:
    from .mmap import find_vma

    vma = find_vma(mm, addr)
    return vma if vma is not None and vma.vm_start <= addr else None


def check_page_tables(ctx: CheckContext) -> None:
    """Each present pte holds a reference and a mapcount; rmap reaches it;
    no migration entry survives; RSS counters match."""
    machine = ctx.machine
    mapcounts: Counter[Page] = Counter()
    for pid, mm in all_mms(ctx):
        rss = [0, 0, 0]
        for vpn, pte in sorted(mm.ptes.items()):
            addr = vpn << PAGE_SHIFT
            where = f"pid {pid} addr {addr:#x}"
            vma = _vma_of(mm, addr)
            if vma is None:
                ctx.fail(f"{where}: pte outside every VMA")
                continue
            if is_swap_pte(pte):
                entry = pte_to_swp_entry(pte)
                if is_migration_entry(entry):
                    ctx.fail(f"{where}: migration entry left behind (pfn {swp_offset(entry):#x})")
                else:
                    rss[MM_SWAPENTS] += 1
                    ctx.swap_pte_refs[entry] += 1
                continue
            if not pte_present(pte) or pte_special(pte):
                continue
            page = machine.pfn_to_page(pte_pfn(pte))
            if page.flags & (1 << PG_buddy):
                ctx.fail(f"{where}: pte maps free {_describe(page)}")
                continue
            ctx.ledger.add(page, f"pte pid {pid} {addr:#x}")
            mapcounts[page] += 1
            rss[MM_ANONPAGES if PageAnon(page) else MM_FILEPAGES] += 1
            _check_rmap_reaches(ctx, page, vma, addr, where)
        if mm.migration_rss:
            ctx.fail(f"pid {pid}: bookkeeping of {len(mm.migration_rss)} migration entries left")
        rss = [n + leaked for n, leaked in zip(rss, mm.rss_leaked, strict=True)]
        if rss != mm.rss:
            ctx.fail(f"pid {pid}: rss counters {mm.rss} but the page tables hold {rss}")
    for page in ctx.pages:
        if page.flags & (1 << PG_buddy):
            continue
        if page._mapcount + 1 != mapcounts[page]:
            ctx.fail(f"{_describe(page)}: mapcount {page._mapcount + 1} but {mapcounts[page]} ptes")


def _ksm_walk_misses_moved_fork(item: RmapItem, vma: VmAreaStruct, addr: int) -> bool:
    """The kernel's own blind spot (docs/kernel-bugs.md): rmap_walk_ksm looks
    for another mm's mapping only at rmap_item->address, so a forked child
    that moved (mremap) its copy-on-write copy of a page before KSM merged
    the page in place maps the KSM page where no walk looks. True when
    ``addr`` in ``vma`` is that mapping: the same anonymous page offset as the
    item's, in a VMA of another mm linked to the item's anon_vma."""
    from .ksm import linear_page_index
    from .mmap import find_vma

    if item.mm is vma.vm_mm or vma.contains(item.address):
        return False
    if not any(avc.vma is vma for avc in item.anon_vma.head):
        return False
    item_vma = find_vma(item.mm, item.address)
    if item_vma is None or not item_vma.contains(item.address):
        return False
    return linear_page_index(item_vma, item.address) == linear_page_index(vma, addr)


def _check_rmap_reaches(ctx: CheckContext, page: Page, vma: VmAreaStruct, addr: int,
                        where: str) -> None:
    if PageKsm(page):
        from .ksm import page_stable_node

        node = page_stable_node(page)
        if node is None or node.kpfn != page.pfn:
            ctx.fail(f"{where}: KSM {_describe(page)} with a stale stable node")
        elif not any(item.address == addr and any(avc.vma is vma for avc in item.anon_vma.head)
                     for item in node.hlist) and not any(
                         _ksm_walk_misses_moved_fork(item, vma, addr) for item in node.hlist):
            ctx.fail(f"{where}: KSM rmap does not reach this mapping")
        return
    if PageAnon(page):
        anon_vma = page_anon_vma(page)
        if anon_vma is None or anon_vma.freed:
            ctx.fail(f"{where}: mapped anon {_describe(page)} has no live anon_vma")
        elif not any(avc.vma is vma for avc in anon_vma.head):
            ctx.fail(f"{where}: anon rmap of {_describe(page)} does not reach this VMA")
        elif vma_address(page, vma) != addr:
            ctx.fail(f"{where}: page index {page.index:#x} maps to {vma_address(page, vma):#x}")
        return
    mapping = page.mapping
    if mapping is None or vma.vm_file is None or vma.vm_file.f_mapping is not mapping:  # type: ignore[attr-defined]
        ctx.fail(f"{where}: file {_describe(page)} is not in this VMA's file")
    elif vma_address(page, vma) != addr:
        ctx.fail(f"{where}: file page index {page.index} maps elsewhere")


def check_page_caches(ctx: CheckContext) -> None:
    """Cache membership holds a reference; page->mapping/index/private agree."""
    machine = ctx.machine
    file_pages: Counter[Zone] = Counter()
    dirty: Counter[Zone] = Counter()
    shmem = 0
    for mapping in all_mappings(ctx):
        swapper = mapping is machine.swapper_space
        if mapping.nrpages != len(mapping.page_tree):
            ctx.fail(f"{mapping!r}: nrpages {mapping.nrpages} but {len(mapping.page_tree)} pages")
        for index, page in mapping.page_tree.items():
            ctx.ledger.add(page, "swap cache" if swapper else f"page cache {index}")
            file_pages[page.zone] += 1
            if swapper:
                if not PageSwapCache(page) or page.private != index:
                    ctx.fail(f"swap cache slot {index:#x} holds {_describe(page)}")
            else:
                if page.mapping is not mapping or page.index != index:
                    ctx.fail(f"page cache of {mapping!r} slot {index} holds {_describe(page)}")
                if PageSwapBacked(page):
                    shmem += 1
                if PageDirty(page) and mapping.cap_account_dirty:
                    dirty[page.zone] += 1
            if page.flags & (1 << PG_buddy):
                ctx.fail(f"cache of {mapping!r} holds free {_describe(page)}")
    for zone in machine.zones():
        if zone.vm_stat[ZoneStatItem.NR_FILE_PAGES] != file_pages[zone]:
            ctx.fail(f"{zone!r}: nr_file_pages {zone.vm_stat[ZoneStatItem.NR_FILE_PAGES]} but "
                     f"{file_pages[zone]} cached pages")
        if zone.vm_stat[ZoneStatItem.NR_FILE_DIRTY] != dirty[zone]:
            ctx.fail(f"{zone!r}: nr_dirty {zone.vm_stat[ZoneStatItem.NR_FILE_DIRTY]} but "
                     f"{dirty[zone]} dirty accounted pages")
    # NR_SHMEM only balances machine-wide: migrating an anonymous swap-cache
    # page moves it between zones though it was never counted (quirk 8).
    total = sum(z.vm_stat[ZoneStatItem.NR_SHMEM] for z in machine.zones())
    if total != shmem:
        ctx.fail(f"nr_shmem {total} machine-wide but {shmem} shmem pages are cached")
    for page in ctx.pages:
        if PageSwapCache(page) and machine.swapper_space.page_tree.get(page.private) is not page:  # type: ignore[call-overload]
            ctx.fail(f"{_describe(page)} has PG_swapcache but is not in the swap cache")


def check_buffers(ctx: CheckContext) -> None:
    for page in ctx.pages:
        if page_has_buffers(page):
            ctx.ledger.add(page, "buffer heads")
            for bh in buffers_of(page):
                if bh.b_page is not page:
                    ctx.fail(f"{_describe(page)}: a buffer points at pfn {bh.b_page.pfn:#x}")
                if bh.b_count:
                    ctx.fail(f"{_describe(page)}: buffer held (b_count {bh.b_count}) at rest")
                if buffer_locked(bh) and page not in ctx.machine.writeback_queue:
                    ctx.fail(f"{_describe(page)}: buffer locked with no I/O in flight")


def check_mapped_counters(ctx: CheckContext) -> None:
    anon: Counter[Zone] = Counter()
    mapped: Counter[Zone] = Counter()
    for page in ctx.pages:
        if page._mapcount >= 0:
            (anon if PageAnon(page) else mapped)[page.zone] += 1
    for zone in ctx.machine.zones():
        for item, counted in ((ZoneStatItem.NR_ANON_PAGES, anon), (ZoneStatItem.NR_FILE_MAPPED, mapped)):
            if zone.vm_stat[item] != counted[zone]:
                ctx.fail(f"{zone!r}: {item.name.lower()} {zone.vm_stat[item]} but "
                         f"{counted[zone]} mapped pages")


def check_swap(ctx: CheckContext) -> None:
    from .swapfile import SWAP_HAS_CACHE, swap_count

    si = ctx.machine.swap_info
    refs: Counter[int] = Counter(ctx.swap_pte_refs)
    for inode in ctx.machine.inodes.values():
        for entry in inode.swapped.values():
            refs[entry] += 1
    if si is None:
        if refs:
            ctx.fail("swap entries exist without a swap device")
        return
    inuse = 0
    for offset in range(1, len(si.swap_map)):
        ent = si.swap_map[offset]
        if ent:
            inuse += 1
        entry = offset  # type 0
        if swap_count(ent) != refs[entry]:
            ctx.fail(f"swap slot {offset}: count {swap_count(ent)} but {refs[entry]} references")
        cached = entry in ctx.machine.swapper_space.page_tree
        if bool(ent & SWAP_HAS_CACHE) != cached:
            ctx.fail(f"swap slot {offset}: SWAP_HAS_CACHE {bool(ent & SWAP_HAS_CACHE)} but "
                     f"cached {cached}")
    if si.inuse_pages != inuse:
        ctx.fail(f"swap inuse_pages {si.inuse_pages} but {inuse} slots in use")


def check_anon_vmas(ctx: CheckContext) -> None:
    for page in ctx.pages:
        anon_vma = page_anon_vma(page)
        if isinstance(anon_vma, AnonVma) and anon_vma.external_refcount:
            ctx.fail(f"{anon_vma!r} keeps an external reference at rest")


def check_memcg(ctx: CheckContext) -> None:
    memcg = ctx.machine.memcg
    usage: Counter[int] = Counter()
    for page, pc in memcg.page_cgroup.items():
        usage[id(pc.mem)] += 1
        if page.flags & (1 << PG_buddy):
            ctx.fail(f"free {_describe(page)} is still charged to {pc.mem!r}")
        if pc.migration:
            ctx.fail(f"{_describe(page)} keeps the memcg MIGRATION flag at rest")
    for group in memcg.groups.values():
        if group.usage != usage[id(group)]:
            ctx.fail(f"{group!r}: usage {group.usage} but {usage[id(group)]} charged pages")


def check_hugetlb(ctx: CheckContext) -> None:
    """The huge page pool: compound structure, free lists and counters
    recounted; each huge pmd holds a reference (no mapcount in 2.6.35);
    outstanding reservations recounted from the region and reservation maps."""
    from .hugetlb import (
        HPAGE_RESV_OWNER,
        HUGETLB_PAGE_ORDER,
        PAGES_PER_HUGE_PAGE,
        free_huge_page,
        vma_resv_map,
    )
    from .page import PG_head
    from .page_alloc import get_compound_page_dtor

    machine = ctx.machine
    h = machine.hstate
    total = [0] * machine.nr_nodes
    for page in ctx.pages:
        if page.flags & (1 << PG_head) and get_compound_page_dtor(page) is free_huge_page:
            total[page.zone.node_id] += 1
            _check_huge_tails(ctx, page, PAGES_PER_HUGE_PAGE)
    free = [len(pages) for pages in h.hugepage_freelists]
    for nid, pages in enumerate(h.hugepage_freelists):
        for page in pages:
            ctx.huge_free.add(page)
            if page._count != 0 or page.zone.node_id != nid or page.mapping is not None:
                ctx.fail(f"hugetlb free list of node {nid} holds {_describe(page)}")
    if total != h.nr_huge_pages_node or sum(total) != h.nr_huge_pages:
        ctx.fail(f"hugetlb: nr_huge_pages {h.nr_huge_pages} {h.nr_huge_pages_node} but "
                 f"{total} huge pages exist")
    if free != h.free_huge_pages_node or sum(free) != h.free_huge_pages:
        ctx.fail(f"hugetlb: free_huge_pages {h.free_huge_pages} {h.free_huge_pages_node} but "
                 f"{free} on the free lists")
    reserved = 0
    for inode in machine.inodes.values():
        reserved += len(inode.hugetlb_regions - inode.mapping.page_tree.keys())
    for pid, mm in all_mms(ctx):
        for pmd, pte in mm.huge_ptes.items():
            ctx.ledger.add(machine.pfn_to_page(pte_pfn(pte)), f"huge pmd pid {pid} {pmd << PMD_SHIFT:#x}")
        for vma in mm.mmap:
            resv = vma_resv_map(vma)
            if resv is not None and resv.flags & HPAGE_RESV_OWNER:
                first = vma.vm_pgoff >> HUGETLB_PAGE_ORDER
                last = first + ((vma.vm_end - vma.vm_start) >> PMD_SHIFT)
                reserved += sum(1 for idx in range(first, last) if idx not in resv.regions)
    if reserved != h.resv_huge_pages:
        ctx.fail(f"hugetlb: resv_huge_pages {h.resv_huge_pages} but {reserved} reservations "
                 f"outstanding")
    if h.resv_huge_pages > h.free_huge_pages:
        ctx.fail(f"hugetlb: {h.resv_huge_pages} reserved but only {h.free_huge_pages} free")


def _check_huge_tails(ctx: CheckContext, head: Page, nr: int) -> None:
    for i in range(1, nr):
        tail = ctx.machine.pfn_to_page(head.pfn + i)
        if tail.private is not head or tail._count != 0 or tail._mapcount != -1 \
                or tail.mapping is not None:
            ctx.fail(f"huge page {_describe(head)}: tail {_describe(tail)} is not its tail")
