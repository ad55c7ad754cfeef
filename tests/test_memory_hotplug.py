"""offline_pages and do_migrate_range as 2.6.35 has them (mm/memory_hotplug.c):
a page in use but off the LRU stops everything, 256 pages a pass, positive
failures retried until the timeout, negative ones at most five times."""

from __future__ import annotations

import errno

import pytest

from pagemig import PAGE_SIZE, Machine, Process
from pagemig.mm.memory_hotplug import (
    NR_OFFLINE_AT_ONCE_PAGES,
    do_migrate_range,
    scan_lru_pages,
)
from pagemig.mm.mmzone import Zone
from pagemig.mm.page import get_page
from pagemig.mm.swap import lru_add_drain_all
from pagemig.mm.vmstat import PGMIGRATE_FAIL, PGMIGRATE_SUCCESS

from .conftest import alloc, page_at, release


def setup() -> tuple[Machine, Process, Zone]:
    m = Machine(nodes=2, node_memory="64MiB", movable_memory=["8MiB", "0"])
    p = m.spawn(uid=0, cpu=0)
    return m, p, m.nodes[0].node_zones[-1]



def populate(p: Process, n: int, drain: bool = True) -> list[int]:
    """n pages of p, written; on the LRU lists unless drain is False."""
    a = p.mmap(n * PAGE_SIZE)
    for i in range(n):
        p.write(a + i * PAGE_SIZE, i.to_bytes(4, "little"))
    if drain:
        lru_add_drain_all(p.machine)
    return [a + i * PAGE_SIZE for i in range(n)]


def migrated(m: Machine) -> int:
    return m.vm_events[PGMIGRATE_SUCCESS]


def test_pages_of_the_movable_zone_are_migrated_and_the_range_goes_offline() -> None:
    m, p, zone = setup()
    addrs = populate(p, 8)
    assert all(zone.contains_pfn(page_at(p, a).pfn) for a in addrs)
    m.offline_pages(zone.zone_start_pfn, zone.spanned_pages)
    assert not any(zone.contains_pfn(page_at(p, a).pfn) for a in addrs)
    assert [p.read(a, 4) for a in addrs] == [i.to_bytes(4, "little") for i in range(8)]
    assert migrated(m) == 8
    m.check()


def test_a_page_in_use_off_the_lru_means_nothing_moves() -> None:
    m, p, zone = setup()
    addrs = populate(p, 4)
    before = [page_at(p, a).pfn for a in addrs]
    kernel_page = alloc(m, 0)  # referenced, never on an LRU list: not managed
    assert zone.contains_pfn(kernel_page.pfn)
    with pytest.raises(OSError) as err:
        m.offline_pages(zone.zone_start_pfn, zone.spanned_pages)
    assert err.value.errno == errno.EBUSY
    assert [page_at(p, a).pfn for a in addrs] == before
    assert migrated(m) == 0
    release(m, kernel_page)
    m.check()


def test_one_pass_isolates_at_most_256_pages() -> None:
    m, p, zone = setup()
    populate(p, NR_OFFLINE_AT_ONCE_PAGES + 44)
    first = scan_lru_pages(m, zone.zone_start_pfn, zone.zone_end_pfn)
    assert first == zone.zone_start_pfn
    assert do_migrate_range(m, first, zone.zone_end_pfn) == 0
    assert migrated(m) == NR_OFFLINE_AT_ONCE_PAGES
    m.check()


def test_a_pinned_page_fails_every_pass_until_the_timeout() -> None:
    m, p, zone = setup()
    (a,) = populate(p, 1)
    page = page_at(p, a)
    get_page(page)  # an extra reference: migrate_page_move_mapping gives -EAGAIN
    m.pin(page)
    with pytest.raises(OSError) as err:
        m.offline_pages(zone.zone_start_pfn, zone.spanned_pages)
    assert err.value.errno == errno.EAGAIN
    assert page_at(p, a) is page
    assert m.vm_events[PGMIGRATE_FAIL] > 5  # more passes than retry_max allows
    release(m, page)
    m.check()


def test_a_page_still_in_a_pagevec_is_busy_the_first_pass_does_not_drain() -> None:
    m, p, zone = setup()
    (a,) = populate(p, 1, drain=False)  # in this CPU's pagevec, not yet on the LRU
    assert not scan_lru_pages(m, zone.zone_start_pfn, zone.zone_end_pfn)
    with pytest.raises(OSError) as err:
        m.offline_pages(zone.zone_start_pfn, zone.spanned_pages)
    assert err.value.errno == errno.EBUSY
    assert zone.contains_pfn(page_at(p, a).pfn)
    m.offline_pages(zone.zone_start_pfn, zone.spanned_pages)  # drained now: it moves
    assert not zone.contains_pfn(page_at(p, a).pfn)
    m.check()
