"""Model of mm/page_alloc.c: the frame allocator, zonelists, NUMA statistics.

Each zone hands out order-0 frames from its LIFO free list, then from its
never-used tail, so the first allocation of a frame is also when its
``struct page`` comes to exist. Higher orders (hugetlb's 2 MiB pages) take an
aligned block of free frames: a fully free block on the free list (what the
buddy allocator's coalescing would have made of it), else the never-used tail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from .bug import VM_BUG_ON, KernelBug, dump_page
from .cpuset import cpuset_zone_allowed
from .gfp import _GFP_COMP, _GFP_THISNODE, _GFP_ZERO, gfp_zone
from .highmem import clear_highpage
from .mmzone import (
    MAX_NUMNODES,
    PglistData,
    Zone,
    ZoneStatItem,
)
from .page import (
    PAGE_FLAGS_CHECK_AT_FREE,
    PAGE_FLAGS_CHECK_AT_PREP,
    PAGE_MAPPING_ANON,
    Page,
    PG_buddy,
    PG_head,
    PG_mlocked,
    PG_tail,
    put_page_testzero,
)
from .vmstat import PGALLOC, PGFREE, UNEVICTABLE_PGMLOCKFREED

if TYPE_CHECKING:
    from ..machine import Machine

NR_FREE_PAGES: Final = int(ZoneStatItem.NR_FREE_PAGES)
NR_MLOCK: Final = int(ZoneStatItem.NR_MLOCK)
NUMA_HIT: Final = int(ZoneStatItem.NUMA_HIT)
NUMA_MISS: Final = int(ZoneStatItem.NUMA_MISS)
NUMA_FOREIGN: Final = int(ZoneStatItem.NUMA_FOREIGN)
NUMA_LOCAL: Final = int(ZoneStatItem.NUMA_LOCAL)
NUMA_OTHER: Final = int(ZoneStatItem.NUMA_OTHER)

# alloc_flags (mm/internal.h, page_alloc.c)
ALLOC_WMARK_MIN: Final = 0x00
ALLOC_WMARK_LOW: Final = 0x01
ALLOC_WMARK_HIGH: Final = 0x02
ALLOC_NO_WATERMARKS: Final = 0x04
ALLOC_WMARK_MASK: Final = ALLOC_NO_WATERMARKS - 1
ALLOC_HARDER: Final = 0x10
ALLOC_HIGH: Final = 0x20
ALLOC_CPUSET: Final = 0x40

_BUDDY: Final = 1 << PG_buddy
_MLOCKED: Final = 1 << PG_mlocked


# --- zonelists -------------------------------------------------------------------------


def build_all_zonelists(machine: Machine) -> None:
    """Node-ordered fallback lists (ZONELIST_ORDER_NODE), each node's zones
    from highest to lowest, in find_next_best_node's order; plus the
    __GFP_THISNODE list of the node alone."""
    # node_load is shared by all nodes' lists: it spreads the nodes of one
    # distance group round-robin over the nodes that fall back to them.
    node_load = [0] * machine.nr_nodes
    for pgdat in machine.nodes:
        order = _node_order(machine, pgdat.node_id, node_load)
        pgdat.node_zonelists = [z for nid in order for z in _zones_high_to_low(machine.nodes[nid])]
        pgdat.thisnode_zonelist = _zones_high_to_low(pgdat)


def _node_order(machine: Machine, local_node: int, node_load: list[int]) -> list[int]:
    """build_zonelists: the local node, then find_next_best_node until none is
    left, with a load penalty on the first node of each new distance."""
    used: set[int] = set()
    order: list[int] = []
    load = machine.nr_nodes
    prev_node = local_node
    while (node := find_next_best_node(machine, local_node, used, node_load)) >= 0:
        distance = machine.node_distance(local_node, node)
        # We don't want to pressure a particular node: penalise the first node
        # of a distance group so the next list prefers another.
        if distance != machine.node_distance(local_node, prev_node):
            node_load[node] = load
        prev_node = node
        load -= 1
        order.append(node)
    return order


PENALTY_FOR_NODE_WITH_CPUS: Final = 1


def find_next_best_node(machine: Machine, node: int, used: set[int],
                        node_load: list[int]) -> int:
    """The nearest unused node with memory; ties go to nodes above ``node``,
    to nodes without CPUs ("headless"), then to the least loaded."""
    if node not in used:  # use the local node if we haven't already
        used.add(node)
        return node
    min_val, best_node = None, -1
    max_node_load = machine.nr_nodes
    for n in machine.nodes_with_memory():
        if n in used:
            continue
        val = machine.node_distance(node, n)
        val += n < node  # penalise nodes under us ("prefer the next node")
        if machine.nodes[n].cpus:
            val += PENALTY_FOR_NODE_WITH_CPUS
        val *= max_node_load * MAX_NUMNODES  # slight preference for less loaded
        val += node_load[n]
        if min_val is None or val < min_val:
            min_val, best_node = val, n
    if best_node >= 0:
        used.add(best_node)
    return best_node


def _zones_high_to_low(pgdat: PglistData) -> list[Zone]:
    return [z for z in reversed(pgdat.node_zones) if z.present_pages]


def node_zonelist(pgdat: PglistData, gfp_mask: int) -> list[Zone]:
    return pgdat.thisnode_zonelist if gfp_mask & _GFP_THISNODE else pgdat.node_zonelists


def setup_per_zone_wmarks(machine: Machine, min_free_kbytes: int) -> None:
    """Split min_free_kbytes over the zones by size; low = min*5/4, high = min*3/2."""
    pages_min = min_free_kbytes >> 2
    zones = [z for node in machine.nodes for z in node.node_zones if z.present_pages]
    total = sum(z.present_pages for z in zones) or 1
    for zone in zones:
        tmp = pages_min * zone.present_pages // total
        zone.watermark = [tmp, tmp + (tmp >> 2), tmp + (tmp >> 1)]


def zone_watermark_ok(zone: Zone, order: int, mark: int, classzone_idx: int,
                      alloc_flags: int) -> bool:
    free_pages = zone.vm_stat[NR_FREE_PAGES] - (1 << order) + 1
    min_ = mark
    if alloc_flags & ALLOC_HIGH:
        min_ -= min_ // 2
    if alloc_flags & ALLOC_HARDER:
        min_ -= min_ // 4
    return free_pages > min_ + zone.lowmem_reserve[classzone_idx]


# --- allocation ------------------------------------------------------------------------


def zone_statistics(machine: Machine, preferred_zone: Zone, z: Zone) -> None:
    """NUMA hit/miss/foreign/local/other, as numastat reports them."""
    vm_stat = z.vm_stat
    if z.node_id == preferred_zone.node_id:
        vm_stat[NUMA_HIT] += 1
    else:
        vm_stat[NUMA_MISS] += 1
        preferred_zone.vm_stat[NUMA_FOREIGN] += 1
    if z.node_id == machine.cpu_to_node[machine.current_cpu]:  # numa_node_id()
        vm_stat[NUMA_LOCAL] += 1
    else:
        vm_stat[NUMA_OTHER] += 1


def _rmqueue(zone: Zone) -> Page | None:
    """Take one free frame from the zone (the buddy allocator's __rmqueue)."""
    if zone.isolated_range is not None:
        return _rmqueue_around(zone, zone.isolated_range)
    if zone.free_list:
        page = zone.free_list.pop()
    elif zone.next_fresh_pfn < zone.zone_start_pfn + zone.spanned_pages:
        page = zone.machine.pfn_to_page_in(zone.next_fresh_pfn, zone)
        zone.next_fresh_pfn += 1
    else:
        return None
    zone.vm_stat[NR_FREE_PAGES] -= 1
    page.flags &= ~_BUDDY
    return page


def _rmqueue_around(zone: Zone, isolated: tuple[int, int]) -> Page | None:
    """__rmqueue while a range is isolated for offlining: skip its frames."""
    lo, hi = isolated
    for i in range(len(zone.free_list) - 1, -1, -1):
        if not lo <= zone.free_list[i].pfn < hi:
            page = zone.free_list.pop(i)
            break
    else:
        if zone.next_fresh_pfn >= zone.zone_start_pfn + zone.spanned_pages:
            return None
        page = zone.machine.pfn_to_page(zone.next_fresh_pfn)
        zone.next_fresh_pfn += 1
    zone.vm_stat[NR_FREE_PAGES] -= 1
    page.flags &= ~_BUDDY
    return page


def _rmqueue_block(zone: Zone, order: int) -> Page | None:
    """__rmqueue for order > 0: the first 2^order-aligned block of free
    frames, on the free list or else in the never-used tail."""
    size = 1 << order
    machine = zone.machine
    base = _free_block_on_list(zone, size)
    if base is not None:
        block = set(range(base, base + size))
        zone.free_list[:] = [p for p in zone.free_list if p.pfn not in block]
    else:
        end = zone.zone_start_pfn + zone.spanned_pages
        base = (zone.next_fresh_pfn + size - 1) & ~(size - 1)
        isolated = zone.isolated_range
        if base + size > end or (isolated is not None and base < isolated[1]
                                 and isolated[0] < base + size):
            return None
        # The frames skipped to reach the alignment stay free, at the cold end.
        skipped = [machine.pfn_to_page_in(pfn, zone) for pfn in range(zone.next_fresh_pfn, base)]
        zone.free_list[:0] = skipped
        zone.next_fresh_pfn = base + size
    zone.vm_stat[NR_FREE_PAGES] -= size
    pages = [machine.pfn_to_page_in(pfn, zone) for pfn in range(base, base + size)]
    for page in pages:
        page.flags &= ~_BUDDY
    return pages[0]


def _free_block_on_list(zone: Zone, size: int) -> int | None:
    """The lowest aligned block whose every frame is on the free list."""
    if len(zone.free_list) < size:
        return None
    isolated = zone.isolated_range
    counts: dict[int, int] = {}
    for page in zone.free_list:
        if isolated is None or not isolated[0] <= page.pfn < isolated[1]:
            base = page.pfn & ~(size - 1)
            counts[base] = counts.get(base, 0) + 1
    full = [base for base, n in counts.items() if n == size]
    return min(full) if full else None


def prep_new_page(page: Page, gfp_flags: int, order: int = 0) -> None:
    """check_new_page of every frame + set_page_refcounted (+ clearing for
    __GFP_ZERO, + prep_compound_page for __GFP_COMP)."""
    machine = page.zone.machine
    frames = [page] if order == 0 else [machine.pfn_to_page(page.pfn + i) for i in range(1 << order)]
    for p in frames:
        if p.mapping is not None or p._mapcount != -1 or p._count != 0 \
                or p.flags & PAGE_FLAGS_CHECK_AT_PREP:
            bad_page(p, "bad page state at allocation")
        p.private = 0
    page._count = 1
    if gfp_flags & _GFP_ZERO:
        for p in frames:
            clear_highpage(p)
    if order and gfp_flags & _GFP_COMP:
        prep_compound_page(page, order, frames)


# --- compound pages (mm/page_alloc.c, include/linux/mm.h) -----------------------------------


def free_compound_page(page: Page) -> None:
    """The default compound destructor."""
    _free_pages_ok(page, compound_order(page))


def prep_compound_page(page: Page, order: int, frames: list[Page]) -> None:
    """The head carries PG_head, the order and the destructor; each tail
    PG_tail and first_page (the kernel's union with page->private)."""
    set_compound_page_dtor(page, free_compound_page)
    page.zone.machine.compound_order[page] = order
    page.flags |= 1 << PG_head
    for tail in frames[1:]:
        tail.flags |= 1 << PG_tail
        tail.private = page  # p->first_page


def destroy_compound_page(page: Page, order: int) -> None:
    machine = page.zone.machine
    if machine.compound_order.get(page) != order:
        bad_page(page, f"compound page of order {machine.compound_order.get(page)} freed as {order}")
    del machine.compound_order[page]
    machine.compound_dtor.pop(page, None)
    page.flags &= ~(1 << PG_head)
    for i in range(1, 1 << order):
        tail = machine.pfn_to_page(page.pfn + i)
        if not tail.flags & (1 << PG_tail) or tail.private is not page:
            bad_page(tail, "tail page does not point at its head")
        tail.flags &= ~(1 << PG_tail)
        tail.private = 0


def set_compound_page_dtor(page: Page, dtor: Callable[[Page], None] | None) -> None:
    dtors = page.zone.machine.compound_dtor
    if dtor is None:
        dtors.pop(page, None)
    else:
        dtors[page] = dtor


def get_compound_page_dtor(page: Page) -> Callable[[Page], None] | None:
    return page.zone.machine.compound_dtor.get(page)


def compound_order(page: Page) -> int:
    return page.zone.machine.compound_order.get(page, 0) if page.flags & (1 << PG_head) else 0


def compound_head(page: Page) -> Page:
    if page.flags & (1 << PG_tail):
        head = page.private
        assert isinstance(head, Page)
        return head
    return page


def buffered_rmqueue(machine: Machine, preferred_zone: Zone, zone: Zone,
                     gfp_flags: int, order: int = 0) -> Page | None:
    page = _rmqueue(zone) if order == 0 else _rmqueue_block(zone, order)
    if page is None:
        return None
    machine.vm_events[PGALLOC + zone.zone_idx] += 1 << order
    zone_statistics(machine, preferred_zone, zone)
    prep_new_page(page, gfp_flags, order)
    return page


def get_page_from_freelist(machine: Machine, gfp_mask: int, nodemask: frozenset[int] | None,
                           order: int, zonelist: list[Zone], high_zoneidx: int,
                           alloc_flags: int, preferred_zone: Zone) -> Page | None:
    """Walk the zonelist for the first allowed zone above its watermark."""
    for zone in zonelist:
        if zone.zone_idx > high_zoneidx:
            continue
        if nodemask is not None and zone.node_id not in nodemask:
            continue
        # cpuset_zone_allowed_softwall (__GFP_THISNODE is always allowed)
        if alloc_flags & ALLOC_CPUSET and not gfp_mask & _GFP_THISNODE \
                and not cpuset_zone_allowed(machine.current, zone.node_id, gfp_mask):
            continue
        if not alloc_flags & ALLOC_NO_WATERMARKS:
            mark = zone.watermark[alloc_flags & ALLOC_WMARK_MASK]
            if not zone_watermark_ok(zone, order, mark, high_zoneidx, alloc_flags):
                continue
        page = buffered_rmqueue(machine, preferred_zone, zone, gfp_mask, order)
        if page is not None:
            return page
    return None


def _alloc_pages_nodemask(machine: Machine, gfp_mask: int, order: int, zonelist: list[Zone],
                           nodemask: frozenset[int] | None = None) -> Page | None:
    """The allocator's heart: fast path at the low watermark, then once more at
    the min watermark (the slow path without reclaim or OOM, which is exactly
    what GFP_THISNODE's __GFP_NORETRY asks for)."""
    high_zoneidx = gfp_zone(gfp_mask)
    # first_zones_zonelist: the preferred zone is the first usable one.
    for preferred_zone in zonelist:
        if preferred_zone.zone_idx <= high_zoneidx and (nodemask is None
                                                        or preferred_zone.node_id in nodemask):
            break
    else:
        return None
    if machine.faults.rules and machine.should_fail("alloc_page", node=preferred_zone.node_id,
                                                    gfp=gfp_mask, order=order):
        return None
    page = get_page_from_freelist(machine, gfp_mask, nodemask, order, zonelist, high_zoneidx,
                                  ALLOC_WMARK_LOW | ALLOC_CPUSET, preferred_zone)
    if page is None:
        page = get_page_from_freelist(machine, gfp_mask, nodemask, order, zonelist,
                                      high_zoneidx, ALLOC_WMARK_MIN | ALLOC_CPUSET,
                                      preferred_zone)
    if page is not None and machine.trace.enabled:
        machine.trace.emit("mm_page_alloc", pfn=page.pfn, order=order, gfp_flags=gfp_mask,
                           nid=page.zone.node_id)
    return page


def alloc_pages_exact_node(machine: Machine, nid: int, gfp_mask: int, order: int = 0) -> Page | None:
    """Allocate on ``nid``'s zonelist; with __GFP_THISNODE on ``nid`` alone."""
    if nid < 0 or nid >= MAX_NUMNODES or nid >= len(machine.nodes):
        VM_BUG_ON(True, message=f"alloc_pages_exact_node: node {nid} is not online")
    pgdat = machine.nodes[nid]
    return _alloc_pages_nodemask(machine, gfp_mask, order,
                                  pgdat.thisnode_zonelist if gfp_mask & _GFP_THISNODE
                                  else pgdat.node_zonelists)  # node_zonelist


def alloc_pages_node(machine: Machine, nid: int, gfp_mask: int, order: int = 0) -> Page | None:
    """Like alloc_pages_exact_node; a negative nid means the current CPU's node."""
    if nid < 0:
        nid = machine.numa_node_id()
    return alloc_pages_exact_node(machine, nid, gfp_mask, order)


# --- freeing ---------------------------------------------------------------------------


def bad_page(page: Page, reason: str) -> None:
    """The kernel prints "BUG: Bad page state" and leaks the page; the model stops."""
    raise KernelBug(f"{reason}: {dump_page(page)}")


def free_pages_check(page: Page) -> None:
    if page._mapcount != -1 or page.mapping is not None or page._count != 0 \
            or page.flags & PAGE_FLAGS_CHECK_AT_FREE:
        bad_page(page, "bad page state at free")
    page.flags &= ~PAGE_FLAGS_CHECK_AT_PREP


def free_page_mlock(page: Page) -> None:
    page.zone.vm_stat[NR_MLOCK] -= 1
    page.zone.machine.vm_events[UNEVICTABLE_PGMLOCKFREED] += 1


def free_hot_cold_page(page: Page, cold: int = 0) -> None:
    """Return an order-0 page to its zone."""
    was_mlocked = page.flags & _MLOCKED
    page.flags &= ~_MLOCKED
    mapping = page.mapping
    if mapping is not None and mapping.mapping_flags & PAGE_MAPPING_ANON:  # PageAnon
        page.mapping = None
    free_pages_check(page)
    zone = page.zone
    if was_mlocked:
        free_page_mlock(page)
    zone.machine.vm_events[PGFREE] += 1
    page.flags |= _BUDDY
    if cold:
        zone.free_list.insert(0, page)
    else:
        zone.free_list.append(page)
    zone.vm_stat[NR_FREE_PAGES] += 1
    if zone.machine.trace.enabled:
        zone.machine.trace.emit("mm_page_free", pfn=page.pfn, order=0)


def _free_pages(page: Page, order: int = 0) -> None:
    """__free_pages: drop a reference and free the page if it was the last."""
    if put_page_testzero(page):
        if order == 0:
            free_hot_cold_page(page)
        else:
            _free_pages_ok(page, order)


def _free_pages_ok(page: Page, order: int) -> None:
    """__free_pages_ok: a higher-order block goes back frame by frame (the
    model keeps no per-order free areas; the frames coalesce by address)."""
    machine = page.zone.machine
    if page.flags & ((1 << PG_head) | (1 << PG_tail)):
        destroy_compound_page(page, order)
    frames = [machine.pfn_to_page(page.pfn + i) for i in range(1 << order)]
    for p in frames:
        free_pages_check(p)
    zone = page.zone
    machine.vm_events[PGFREE] += 1 << order
    for p in frames:
        p.flags |= _BUDDY
        zone.free_list.append(p)
    zone.vm_stat[NR_FREE_PAGES] += 1 << order
    if machine.trace.enabled:
        machine.trace.emit("mm_page_free", pfn=page.pfn, order=order)


def nr_free_pages(machine: Machine) -> int:
    return sum(z.vm_stat[NR_FREE_PAGES] for node in machine.nodes for z in node.node_zones)


def nid_free_pages(pgdat: PglistData) -> int:
    return sum(z.vm_stat[NR_FREE_PAGES] for z in pgdat.node_zones)
