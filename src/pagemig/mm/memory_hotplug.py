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
from .page import Page, PageLRU, PG_buddy, PG_reserved, page_count
from .swap import lru_add_drain_all
from .vmscan import isolate_lru_page

if TYPE_CHECKING:
    from ..machine import Machine

NR_OFFLINE_AT_ONCE_PAGES: Final = 256
# remove_memory gives offline_pages 120 s (120 * HZ jiffies) before -EAGAIN.
# The model has no clock: the expiry is this many passes of the repeat loop.
OFFLINE_TIMEOUT_PASSES: Final = 100
OFFLINE_RETRY_MAX: Final = 5


def hotremove_migrate_alloc(page: Page, private: object, result: object) -> Page | None:
    """Any page outside the isolated range (the range's free frames are hidden)."""
    from .mempolicy import alloc_pages_current

    return alloc_pages_current(page.zone.machine, GFP_HIGHUSER_MOVABLE)


def scan_lru_pages(machine: Machine, start: int, end: int) -> int:
    """The first pfn of [start, end) whose page is on an LRU list, or 0."""
    for pfn in range(start, end):
        if machine.pfn_valid(pfn) and PageLRU(machine.pfn_to_page(pfn)):
            return pfn
    return 0


def do_migrate_range(machine: Machine, start_pfn: int, end_pfn: int) -> int:
    """Isolate up to NR_OFFLINE_AT_ONCE_PAGES LRU pages from ``start_pfn`` and
    migrate them with offlining=1.

    A page in use but not on an LRU list is not managed: every isolated page
    is put back and nothing moves. Return: -EBUSY then, 0 when nothing was
    isolated, else migrate_pages's count of pages that failed (or -ENOMEM).
    Kernel: mm/memory_hotplug.c (2.6.35).
    """
    from .migrate import migrate_pages, putback_lru_pages

    move_pages = NR_OFFLINE_AT_ONCE_PAGES
    not_managed = 0
    source = ListHead(machine)
    pfn = start_pfn
    while pfn < end_pfn and move_pages > 0:
        if machine.pfn_valid(pfn):
            page = machine.pfn_to_page(pfn)
            # We can skip free pages. And we can only deal with pages on LRU.
            if page_count(page):
                if isolate_lru_page(page) == 0:
                    list_add_tail(page, source)
                    move_pages -= 1
                    page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON + page_is_file_cache(page)] += 1
                elif page_count(page):  # no zone->lock held: check again
                    not_managed += 1
        pfn += 1
    if not_managed:
        if not list_empty(source):
            putback_lru_pages(source)
        return -errno.EBUSY
    if list_empty(source):
        return 0
    # this function returns # of failed pages
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
    """Take [start_pfn, start_pfn + nr_pages) offline.

    Migrates the range's LRU pages away pass after pass: a pass that fails
    some pages (a positive count) is retried until the timeout, a pass that
    fails outright (negative) at most OFFLINE_RETRY_MAX times. Can raise
    KernelBug: 2.6.35's unmap_and_move oopses on a mapped KSM page
    (docs/kernel-bugs.md).
    Return: 0; -EINVAL for a range outside one zone; -EAGAIN at the timeout;
    do_migrate_range's error after the retries; -EBUSY when pages are still
    in use at the end. Kernel: mm/memory_hotplug.c (2.6.35).
    """
    end_pfn = start_pfn + nr_pages
    if nr_pages <= 0 or not machine.pfn_valid(start_pfn) or not machine.pfn_valid(end_pfn - 1):
        return -errno.EINVAL
    zone = machine.pfn_to_page(start_pfn).zone
    if not zone.contains_pfn(end_pfn - 1):
        return -errno.EINVAL
    start_isolate_page_range(zone, start_pfn, end_pfn)
    try:
        drain = False
        retry_max = OFFLINE_RETRY_MAX
        for _ in range(OFFLINE_TIMEOUT_PASSES):  # repeat: until jiffies pass expire
            if drain:
                lru_add_drain_all(machine)
            pfn = scan_lru_pages(machine, start_pfn, end_pfn)
            if not pfn:
                break
            ret = do_migrate_range(machine, pfn, end_pfn)
            if ret < 0:
                retry_max -= 1
                if retry_max == 0:
                    return ret  # failed_removal
            drain = True
        else:
            return -errno.EAGAIN
        # drain all zone's lru pagevec, then check again
        lru_add_drain_all(machine)
        if _in_use(machine, start_pfn, end_pfn):  # check_pages_isolated
            return -errno.EBUSY
        offline_isolated_pages(zone, start_pfn, end_pfn)
        return 0
    finally:
        zone.isolated_range = None  # undo_isolate_page_range (also after success)


def offline_isolated_pages(zone: Zone, start_pfn: int, end_pfn: int) -> None:
    """Every frame of the range is free: reserve it and remove it from the zone."""
    taken = [p for p in zone.free_list if start_pfn <= p.pfn < end_pfn]
    zone.free_list[:] = [p for p in zone.free_list if not start_pfn <= p.pfn < end_pfn]
    for page in taken:
        page.flags = 1 << PG_reserved
    zone.vm_stat[ZoneStatItem.NR_FREE_PAGES] -= len(taken)
    zone.present_pages -= len(taken)
    zone.offline_pages += len(taken)
