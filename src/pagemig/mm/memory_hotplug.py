"""Model of mm/memory_hotplug.c's offline_pages (2.6.35): the one caller of
migrate_pages with offlining=1, the only path allowed to move KSM pages.

The pfn range is isolated (the allocator no longer hands out its free
frames), its LRU pages are migrated away, and once nothing is left in use
its frames are taken offline: reserved and out of the zone's free memory.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from .gfp import GFP_HIGHUSER_MOVABLE
from .list import ListHead, list_add_tail, list_empty
from .mm_inline import page_is_file_cache
from .mmzone import Zone, ZoneStatItem
from .page import Page, PageLRU, PG_buddy, PG_reserved, get_page_unless_zero
from .swap import lru_add_drain_all, put_page
from .vmscan import isolate_lru_page

if TYPE_CHECKING:
    from ..machine import Machine

NR_OFFLINE_RETRIES: Final = 5


def hotremove_migrate_alloc(page: Page, private: object, result: object) -> Page | None:
    """Any page outside the isolated range (the range's free frames are hidden)."""
    from .mempolicy import alloc_pages_current

    return alloc_pages_current(page.zone.machine, GFP_HIGHUSER_MOVABLE)


def do_migrate_range(machine: Machine, start_pfn: int, end_pfn: int) -> int:
    """Isolate the range's LRU pages and migrate them with offlining=1."""
    from .migrate import migrate_pages

    source = ListHead(machine)
    not_managed = 0
    for pfn in range(start_pfn, end_pfn):
        page = machine.pfn_to_page(pfn)
        if not get_page_unless_zero(page):
            continue
        if PageLRU(page) and isolate_lru_page(page) == 0:
            list_add_tail(page, source)
            page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON + page_is_file_cache(page)] += 1
        else:
            not_managed += 1
        put_page(page)
    if list_empty(source):
        return -errno.EBUSY if not_managed else 0
    return migrate_pages(source, hotremove_migrate_alloc, 0, 1)


def page_offline(page: Page) -> bool:
    """An offlined frame: reserved, unreferenced, out of the zone."""
    return page.flags == 1 << PG_reserved and page._count == 0


def _in_use(machine: Machine, start_pfn: int, end_pfn: int) -> list[Page]:
    pages = []
    for pfn in range(start_pfn, end_pfn):
        page = machine.pfn_to_page(pfn)
        if not page.flags & (1 << PG_buddy) and not page_offline(page):
            pages.append(page)
    return pages


def start_isolate_page_range(zone: Zone, start_pfn: int, end_pfn: int) -> None:
    """Hide the range's free frames from the allocator; never-used frames of
    the zone below the range's end become ordinary (cold) free frames first."""
    machine = zone.machine
    fresh = [machine.pfn_to_page(pfn) for pfn in range(zone.next_fresh_pfn, end_pfn)]
    zone.free_list[:0] = fresh[::-1]
    zone.next_fresh_pfn = max(zone.next_fresh_pfn, end_pfn)
    zone.isolated_range = (start_pfn, end_pfn)


def offline_pages(machine: Machine, start_pfn: int, nr_pages: int) -> int:
    """Take [start_pfn, start_pfn + nr_pages) offline. Return: 0, -EINVAL for a
    range outside one zone, -EBUSY when pages stay in use after the retries."""
    end_pfn = start_pfn + nr_pages
    if nr_pages <= 0 or not machine.pfn_valid(start_pfn) or not machine.pfn_valid(end_pfn - 1):
        return -errno.EINVAL
    zone = machine.pfn_to_page(start_pfn).zone
    if not zone.contains_pfn(end_pfn - 1):
        return -errno.EINVAL
    start_isolate_page_range(zone, start_pfn, end_pfn)
    try:
        lru_add_drain_all(machine)
        for _ in range(NR_OFFLINE_RETRIES):
            if not _in_use(machine, start_pfn, end_pfn):
                break
            lru_add_drain_all(machine)
            ret = do_migrate_range(machine, start_pfn, end_pfn)
            if ret < 0 and ret != -errno.EBUSY:
                return ret
        if _in_use(machine, start_pfn, end_pfn):
            return -errno.EBUSY
        offline_isolated_pages(zone, start_pfn, end_pfn)
        return 0
    finally:
        zone.isolated_range = None


def offline_isolated_pages(zone: Zone, start_pfn: int, end_pfn: int) -> None:
    """Every frame of the range is free: reserve it and remove it from the zone."""
    taken = [p for p in zone.free_list if start_pfn <= p.pfn < end_pfn]
    zone.free_list[:] = [p for p in zone.free_list if not start_pfn <= p.pfn < end_pfn]
    for page in taken:
        page.flags = 1 << PG_reserved
    zone.vm_stat[ZoneStatItem.NR_FREE_PAGES] -= len(taken)
    zone.present_pages -= len(taken)
    zone.offline_pages += len(taken)
