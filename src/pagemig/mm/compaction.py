"""Model of mm/compaction.c (2.6.35): memory compaction, a migrate_pages
caller that does not exclude KSM pages (unmap_and_move answers -EBUSY).

Two scanners walk a zone towards each other: the migration scanner isolates
LRU pages from the bottom, the free scanner takes free frames from the top,
and migrate_pages moves the former into the latter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .list import ListHead, list_add_tail, list_empty
from .mm_inline import page_is_file_cache
from .mmzone import Zone, ZoneStatItem
from .page import Page, PageLRU, PG_buddy
from .vmscan import isolate_lru_page
from .vmstat import VM_EVENT_NAMES

if TYPE_CHECKING:
    from ..machine import Machine

COMPACT_CLUSTER_MAX: Final = 32
PAGEBLOCK_NR_PAGES: Final = 512  # pageblock_order 9 on x86-64
COMPACTBLOCKSMOVED: Final = VM_EVENT_NAMES.index("compact_blocks_moved")
COMPACTPAGES: Final = VM_EVENT_NAMES.index("compact_pages_moved")
COMPACTPAGEFAILED: Final = VM_EVENT_NAMES.index("compact_pagemigrate_failed")


class CompactControl:
    """struct compact_control."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.migrate_pfn = zone.zone_start_pfn
        self.free_pfn = zone.zone_end_pfn
        self.freepages: list[Page] = []
        self.migratepages = ListHead(zone.machine)
        self.nr_migratepages = 0


def _materialise_fresh(zone: Zone) -> None:
    """The free scanner looks at frames by pfn: make never-used frames ordinary free pages."""
    machine = zone.machine
    fresh = [machine.pfn_to_page(pfn) for pfn in range(zone.next_fresh_pfn, zone.zone_end_pfn)]
    zone.free_list[:0] = fresh[::-1]
    zone.next_fresh_pfn = zone.zone_end_pfn


def isolate_freepages(cc: CompactControl) -> None:
    """Take free frames from the top of the zone, above the migration scanner."""
    zone = cc.zone
    candidates = sorted((p for p in zone.free_list if p.pfn >= cc.migrate_pfn), key=lambda p: -p.pfn)
    for page in candidates[:COMPACT_CLUSTER_MAX]:
        zone.free_list.remove(page)
        zone.vm_stat[ZoneStatItem.NR_FREE_PAGES] -= 1
        page.flags &= ~(1 << PG_buddy)
        page._count = 1  # split_free_page: set_page_refcounted
        cc.freepages.append(page)
        cc.free_pfn = min(cc.free_pfn, page.pfn)


def compaction_alloc(migratepage: Page, data: object, result: object) -> Page | None:
    """new_page_t of compaction: the next isolated free frame."""
    assert isinstance(data, CompactControl)
    if not data.freepages:
        isolate_freepages(data)
        if not data.freepages:
            return None
    return data.freepages.pop(0)


def isolate_migratepages(cc: CompactControl) -> int:
    """Isolate up to COMPACT_CLUSTER_MAX LRU pages of the next pageblock."""
    machine = cc.zone.machine
    isolated = 0
    pfn = cc.migrate_pfn
    end_pfn = min(cc.free_pfn, (pfn + PAGEBLOCK_NR_PAGES) // PAGEBLOCK_NR_PAGES * PAGEBLOCK_NR_PAGES)
    while pfn < end_pfn and isolated < COMPACT_CLUSTER_MAX:
        page = machine.pfn_to_page(pfn)
        pfn += 1
        if page.flags & (1 << PG_buddy) or not PageLRU(page):
            continue
        if isolate_lru_page(page) != 0:
            continue
        list_add_tail(page, cc.migratepages)
        page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON + page_is_file_cache(page)] += 1
        isolated += 1
    cc.migrate_pfn = pfn
    cc.nr_migratepages = isolated
    return isolated


def release_freepages(cc: CompactControl) -> None:
    from .swap import put_page

    for page in cc.freepages:
        put_page(page)
    cc.freepages.clear()


def compact_zone(zone: Zone) -> tuple[int, int]:
    """Compact one zone; returns (pages moved, pages that failed)."""
    from .migrate import migrate_pages, migrate_prep_local, putback_lru_pages

    machine = zone.machine
    cc = CompactControl(zone)
    _materialise_fresh(zone)
    migrate_prep_local(machine)
    moved = failed = 0
    while cc.migrate_pfn < cc.free_pfn:
        if not isolate_migratepages(cc):
            continue
        migrate_pages(cc.migratepages, compaction_alloc, cc, 0)
        # update_nr_listpages: what is left on the list (migrate_pages empties it,
        # so 2.6.35 counts every isolated page as moved).
        nr_remaining = len(cc.migratepages)
        moved += cc.nr_migratepages - nr_remaining
        failed += nr_remaining
        machine.vm_events[COMPACTBLOCKSMOVED] += 1
        if not list_empty(cc.migratepages):
            putback_lru_pages(cc.migratepages)
    release_freepages(cc)
    machine.vm_events[COMPACTPAGES] += moved
    machine.vm_events[COMPACTPAGEFAILED] += failed
    return moved, failed


def compact_node(machine: Machine, nid: int) -> tuple[int, int]:
    moved = failed = 0
    for zone in machine.nodes[nid].node_zones:
        if zone.present_pages:
            m, f = compact_zone(zone)
            moved += m
            failed += f
    return moved, failed
