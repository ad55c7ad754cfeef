"""LRU lists, per-CPU pagevecs, isolate_lru_page and putback_lru_page."""

from __future__ import annotations

import errno

import pytest

from pagemig import KernelBug, Machine
from pagemig.mm import page as pg
from pagemig.mm.filemap import AddressSpace
from pagemig.mm.list import ListHead, list_add_tail, list_del
from pagemig.mm.mm_inline import page_is_file_cache, page_lru
from pagemig.mm.mmzone import (
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LRU_UNEVICTABLE,
    NR_LRU_BASE,
    ZoneStatItem,
)
from pagemig.mm.page import Page
from pagemig.mm.pagemap import mapping_set_unevictable
from pagemig.mm.swap import (
    PAGEVEC_SIZE,
    lru_add_drain,
    lru_add_drain_all,
    lru_cache_add_anon,
    lru_cache_add_file,
    lru_cache_add_lru,
    put_page,
)
from pagemig.mm.vmscan import isolate_lru_page, page_evictable, putback_lru_page
from pagemig.mm.vmstat import UNEVICTABLE_PGCULLED, UNEVICTABLE_PGRESCUED

from .conftest import alloc, release


def anon(m: Machine, nid: int = 0) -> Page:
    page = alloc(m, nid)
    pg.SetPageSwapBacked(page)
    return page


def on_list(page: Page, lru: int) -> bool:
    return page in list(page.zone.lru[lru])


def isolate(m: Machine, page: Page, pagelist: ListHead) -> int:
    """What migration callers do: isolate, queue, account NR_ISOLATED_*."""
    rc = isolate_lru_page(page)
    if rc == 0:
        list_add_tail(page, pagelist)
        page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON + page_is_file_cache(page)] += 1
    return rc


def unisolate(page: Page) -> None:
    list_del(page)
    page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON + page_is_file_cache(page)] -= 1
    putback_lru_page(page)


def test_page_is_file_cache_and_lru_choice(m2: Machine) -> None:
    file_page = alloc(m2, 0)
    anon_page = anon(m2)
    assert page_is_file_cache(file_page) == 1 and page_is_file_cache(anon_page) == 0
    assert page_lru(file_page) == LRU_INACTIVE_FILE
    pg.SetPageActive(anon_page)
    assert page_lru(anon_page) == LRU_ACTIVE_ANON
    pg.SetPageUnevictable(file_page)
    assert page_lru(file_page) == LRU_UNEVICTABLE


def test_pagevec_holds_a_reference_and_blocks_isolation_until_drained(m2: Machine) -> None:
    page = anon(m2)
    lru_cache_add_anon(page)
    assert pg.page_count(page) == 2 and not pg.PageLRU(page)
    assert isolate_lru_page(page) == -errno.EBUSY
    m2.check()
    lru_add_drain(m2)
    assert pg.page_count(page) == 1 and pg.PageLRU(page)
    assert on_list(page, LRU_INACTIVE_ANON)
    assert page.zone.vm_stat[NR_LRU_BASE + LRU_INACTIVE_ANON] == 1
    m2.check()


def test_a_full_pagevec_drains_itself(m2: Machine) -> None:
    pages = [anon(m2) for _ in range(PAGEVEC_SIZE)]
    for page in pages[:-1]:
        lru_cache_add_anon(page)
    assert not any(pg.PageLRU(p) for p in pages)
    lru_cache_add_anon(pages[-1])
    assert all(pg.PageLRU(p) for p in pages)
    assert m2.lru_add_pvecs[0][LRU_INACTIVE_ANON] == []
    m2.check()


def test_pagevecs_are_per_cpu_and_drain_all_empties_every_cpu(m2: Machine) -> None:
    a, b = anon(m2), anon(m2)
    m2.current_cpu = 0
    lru_cache_add_anon(a)
    m2.current_cpu = 1
    lru_cache_add_anon(b)
    lru_add_drain(m2)
    assert pg.PageLRU(b) and not pg.PageLRU(a), "lru_add_drain only drains this CPU"
    assert lru_add_drain_all(m2) == 0
    assert pg.PageLRU(a)
    m2.check()


def test_active_lru_add_sets_active(m2: Machine) -> None:
    page = alloc(m2, 1)
    lru_cache_add_lru(page, LRU_ACTIVE_FILE)
    lru_add_drain(m2)
    assert pg.PageActive(page) and on_list(page, LRU_ACTIVE_FILE)
    m2.check()


def test_isolate_and_putback_keep_the_list(m2: Machine) -> None:
    page = alloc(m2, 1)
    lru_cache_add_lru(page, LRU_ACTIVE_FILE)
    lru_add_drain(m2)
    pagelist = ListHead()
    assert isolate(m2, page, pagelist) == 0
    assert pg.page_count(page) == 2 and not pg.PageLRU(page) and pg.PageActive(page)
    assert page.zone.vm_stat[NR_LRU_BASE + LRU_ACTIVE_FILE] == 0
    assert isolate_lru_page(page) == -errno.EBUSY, "already isolated"
    m2.check()
    unisolate(page)
    assert pg.page_count(page) == 2, "back in a pagevec with its reference"
    lru_add_drain(m2)
    assert on_list(page, LRU_ACTIVE_FILE) and pg.page_count(page) == 1
    m2.check()


def test_isolating_a_frozen_page_fails(m2: Machine) -> None:
    page = anon(m2)
    lru_cache_add_anon(page)
    lru_add_drain(m2)
    assert pg.page_freeze_refs(page, 1)
    assert isolate_lru_page(page) == -errno.EBUSY
    pg.page_unfreeze_refs(page, 1)
    m2.check()


def test_putback_of_an_unevictable_mapping_culls_to_the_unevictable_list(m2: Machine) -> None:
    ramfs = AddressSpace(m2)
    mapping_set_unevictable(ramfs)
    page = alloc(m2, 0)
    lru_cache_add_file(page)
    lru_add_drain(m2)
    page.mapping = ramfs
    assert not page_evictable(page)
    pagelist = ListHead()
    isolate(m2, page, pagelist)
    unisolate(page)
    assert pg.PageUnevictable(page) and pg.PageLRU(page)
    assert on_list(page, LRU_UNEVICTABLE)
    assert m2.vm_events[UNEVICTABLE_PGCULLED] == 1
    m2.check()
    # Evictable again (e.g. the mapping was unlocked): the next putback rescues it.
    ramfs.flags = 0
    isolate(m2, page, pagelist)
    assert pg.PageUnevictable(page), "isolation keeps the flag that names the list"
    unisolate(page)
    lru_add_drain(m2)
    assert on_list(page, LRU_INACTIVE_FILE) and not pg.PageUnevictable(page)
    assert m2.vm_events[UNEVICTABLE_PGRESCUED] == 1
    page.mapping = None
    m2.check()


def test_mlocked_pages_are_unevictable(m2: Machine) -> None:
    page = anon(m2)
    lru_cache_add_anon(page)
    lru_add_drain(m2)
    pagelist = ListHead()
    isolate(m2, page, pagelist)
    pg.SetPageMlocked(page)
    page.zone.vm_stat[ZoneStatItem.NR_MLOCK] += 1
    unisolate(page)
    assert on_list(page, LRU_UNEVICTABLE)
    m2.check()


def test_putback_drops_the_last_reference_and_frees(m2: Machine) -> None:
    page = anon(m2)
    lru_cache_add_anon(page)
    lru_add_drain(m2)
    pagelist = ListHead()
    isolate(m2, page, pagelist)
    release(m2, page)  # the owner goes away while the page is isolated
    assert pg.page_count(page) == 1
    unisolate(page)
    assert pg.page_count(page) == 1, "the pagevec's reference is the last one"
    lru_add_drain(m2)
    assert pg.PageBuddy(page)
    assert page.zone.vm_stat[NR_LRU_BASE + LRU_INACTIVE_ANON] == 0
    m2.check()


def test_freeing_a_page_on_the_lru_takes_it_off(m2: Machine) -> None:
    page = alloc(m2, 1)
    lru_cache_add_file(page)
    lru_add_drain(m2)
    release(m2, page)
    assert pg.PageBuddy(page) and not pg.PageLRU(page) and page.lru_next is None
    m2.check()


def test_putback_of_a_page_still_on_the_lru_is_a_bug(m2: Machine) -> None:
    page = anon(m2)
    lru_cache_add_anon(page)
    lru_add_drain(m2)
    with pytest.raises(KernelBug):
        putback_lru_page(page)


def test_put_page_of_a_free_page_is_a_bug(m2: Machine) -> None:
    page = alloc(m2, 0)
    release(m2, page)
    with pytest.raises(KernelBug):
        put_page(page)
