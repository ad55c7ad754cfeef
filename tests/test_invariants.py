"""Machine.check(): each kind of corruption is caught and named."""

from __future__ import annotations

import pytest

from pagemig import InvariantError, Machine
from pagemig.mm import page as pg
from pagemig.mm.list import ListHead, list_add_tail, list_del
from pagemig.mm.mmzone import LRU_INACTIVE_ANON, NR_LRU_BASE, ZoneStatItem
from pagemig.mm.page import Page
from pagemig.mm.spinlock import spin_lock, spin_unlock
from pagemig.mm.swap import lru_add_drain, lru_cache_add_anon
from pagemig.mm.vmscan import isolate_lru_page

from .conftest import alloc


def lru_anon_page(m: Machine) -> Page:
    page = alloc(m, 0)
    pg.SetPageSwapBacked(page)
    lru_cache_add_anon(page)
    lru_add_drain(m)
    return page


def violations(m: Machine) -> list[str]:
    with pytest.raises(InvariantError) as info:
        m.check()
    return info.value.violations


def test_a_clean_machine_passes(m2: Machine) -> None:
    lru_anon_page(m2)
    m2.check()


def test_extra_reference_is_caught(m2: Machine) -> None:
    page = lru_anon_page(m2)
    pg.get_page(page)  # nobody records owning this reference
    (msg,) = violations(m2)
    assert "count 2 but 1 reference(s) found (pinned by the caller)" in msg


def test_missing_reference_is_caught(m2: Machine) -> None:
    page = lru_anon_page(m2)
    m2.pin(page)
    assert any("count 1 but 2 reference(s)" in v for v in violations(m2))


def test_broken_lru_counter_is_caught(m2: Machine) -> None:
    page = lru_anon_page(m2)
    page.zone.vm_stat[NR_LRU_BASE + LRU_INACTIVE_ANON] += 1
    (msg,) = violations(m2)
    assert "lru 0 counter 2 but 1 pages on the list" in msg


def test_broken_free_counter_is_caught(m2: Machine) -> None:
    m2.nodes[1].node_zones[1].vm_stat[ZoneStatItem.NR_FREE_PAGES] -= 1
    assert any("nr_free_pages" in v for v in violations(m2))


def test_lru_flag_without_list_is_caught(m2: Machine) -> None:
    page = alloc(m2, 0)
    pg.SetPageLRU(page)
    (msg,) = violations(m2)
    assert "has PG_lru but is on no LRU list" in msg


def test_wrong_list_for_flags_is_caught(m2: Machine) -> None:
    page = lru_anon_page(m2)
    pg.SetPageActive(page)
    assert any("is on lru 0 but its flags say 1" in v for v in violations(m2))


def test_isolated_page_must_be_counted(m2: Machine) -> None:
    page = lru_anon_page(m2)
    pagelist = ListHead()
    assert isolate_lru_page(page) == 0
    list_add_tail(page, pagelist)
    (msg,) = violations(m2)
    assert "nr_isolated_anon 0 but 1 pages are isolated" in msg
    page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON] += 1
    m2.check()
    list_del(page)
    page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON] -= 1
    assert any("count 2 but 1 reference(s)" in v for v in violations(m2)), \
        "an isolated page on no list holds an unaccounted reference"


def test_mlock_counter_is_recounted(m2: Machine) -> None:
    page = alloc(m2, 1)
    pg.SetPageMlocked(page)
    assert any("nr_mlock 0 but 1 pages have the flag" in v for v in violations(m2))


def test_held_spin_lock_is_caught(m2: Machine) -> None:
    zone = m2.nodes[0].node_zones[0]
    spin_lock(zone.lru_lock)
    assert any("is held on a quiescent machine" in v for v in violations(m2))
    spin_unlock(zone.lru_lock)
    m2.check()


def test_free_page_with_references_is_caught(m2: Machine) -> None:
    page = m2.pfn_to_page(5)
    page._count = 1
    assert any("free page" in v for v in violations(m2))


def test_error_message_lists_every_violation(m2: Machine) -> None:
    a = lru_anon_page(m2)
    b = alloc(m2, 1)
    pg.get_page(a)
    pg.get_page(b)
    found = violations(m2)
    assert len(found) == 2
    assert "2 invariant violation(s)" in str(InvariantError(found))


def test_broken_lru_links_name_the_list(m2: Machine) -> None:
    page = lru_anon_page(m2)
    page.lru_prev = page  # a corrupted back link
    assert any(v.startswith(f"{page.zone!r} lru {LRU_INACTIVE_ANON}: broken links after 0 entries")
               for v in violations(m2))


def test_a_negative_counter_is_caught(m2: Machine) -> None:
    zone = m2.nodes[0].node_zones[-1]
    zone.vm_stat[ZoneStatItem.NR_BOUNCE] = -2
    assert f"{zone!r}: nr_bounce is negative (-2)" in violations(m2)
