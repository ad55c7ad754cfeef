"""struct page: flag accessors, reference and map counts, the page lock."""

from __future__ import annotations

import pytest

import pagemig.mm.page as pg
from pagemig import KernelBug, Machine
from pagemig.mm.filemap import AddressSpace, page_mapping
from pagemig.mm.ksm import StableNode
from pagemig.mm.pagemap import lock_page, trylock_page, unlock_page, wait_on_page_locked
from pagemig.mm.rmap import AnonVma

from .conftest import alloc, release

ACCESSOR_FLAGS = [
    ("Error", pg.PG_error), ("Referenced", pg.PG_referenced), ("Uptodate", pg.PG_uptodate),
    ("Dirty", pg.PG_dirty), ("LRU", pg.PG_lru), ("Active", pg.PG_active),
    ("Checked", pg.PG_checked), ("Reserved", pg.PG_reserved), ("Private", pg.PG_private),
    ("Private2", pg.PG_private_2), ("SwapCache", pg.PG_swapcache),
    ("MappedToDisk", pg.PG_mappedtodisk), ("Reclaim", pg.PG_reclaim),
    ("SwapBacked", pg.PG_swapbacked), ("Unevictable", pg.PG_unevictable),
    ("Mlocked", pg.PG_mlocked),
]


@pytest.mark.parametrize(("name", "bit"), ACCESSOR_FLAGS)
def test_set_test_clear_accessors_touch_only_their_bit(m2: Machine, name: str, bit: int) -> None:
    page = alloc(m2, 0)
    before = page.flags
    getattr(pg, f"SetPage{name}")(page)
    assert getattr(pg, f"Page{name}")(page)
    assert page.flags == before | (1 << bit)
    getattr(pg, f"ClearPage{name}")(page)
    assert not getattr(pg, f"Page{name}")(page)
    assert page.flags == before


@pytest.mark.parametrize("name", ["Active", "Unevictable", "Mlocked", "Dirty", "Referenced",
                                  "Reclaim", "LRU"])
def test_test_clear_returns_the_old_value(m2: Machine, name: str) -> None:
    page = alloc(m2, 0)
    test_clear = getattr(pg, f"TestClearPage{name}")
    assert test_clear(page) is False
    getattr(pg, f"SetPage{name}")(page)
    assert test_clear(page) is True
    assert not getattr(pg, f"Page{name}")(page)


def test_checked_is_owner_priv_1_and_page_flag_names(m2: Machine) -> None:
    page = alloc(m2, 0)
    pg.SetPageChecked(page)
    assert page.flags >> pg.PG_owner_priv_1 & 1
    assert pg.page_flag_names(page.flags) == ["checked"]


def test_page_has_private_covers_both_private_bits(m2: Machine) -> None:
    page = alloc(m2, 0)
    assert not pg.page_has_private(page)
    pg.SetPagePrivate2(page)
    assert pg.page_has_private(page)
    pg.ClearPagePrivate2(page)
    pg.SetPagePrivate(page)
    assert pg.page_has_private(page)


def test_anon_and_ksm_are_derived_from_the_mapping_tag(m2: Machine) -> None:
    page = alloc(m2, 0)
    assert not pg.PageAnon(page) and not pg.PageKsm(page)
    page.mapping = AnonVma(m2)
    assert pg.PageAnon(page) and not pg.PageKsm(page)
    assert page_mapping(page) is None
    page.mapping = StableNode(page.pfn)
    assert pg.PageAnon(page) and pg.PageKsm(page)
    space = AddressSpace(m2)
    page.mapping = space
    assert not pg.PageAnon(page) and page_mapping(page) is space
    pg.SetPageSwapCache(page)
    assert page_mapping(page) is m2.swapper_space
    pg.ClearPageSwapCache(page)
    page.mapping = None


def test_reference_counts_and_freezing(m2: Machine) -> None:
    page = alloc(m2, 1)
    assert pg.page_count(page) == 1
    pg.get_page(page)
    assert pg.page_count(page) == 2
    assert not pg.page_freeze_refs(page, 3)
    assert pg.page_count(page) == 2
    assert pg.page_freeze_refs(page, 2)
    assert pg.page_count(page) == 0
    assert not pg.get_page_unless_zero(page), "a frozen page refuses speculative references"
    with pytest.raises(KernelBug):
        pg.get_page(page)
    pg.page_unfreeze_refs(page, 2)
    assert pg.get_page_unless_zero(page)
    assert pg.page_count(page) == 3
    with pytest.raises(KernelBug):
        pg.page_unfreeze_refs(page, 3)
    m2.pin(page)
    m2.pin(page)
    m2.check()


def test_mapcount_starts_at_minus_one(m2: Machine) -> None:
    page = alloc(m2, 0)
    assert page._mapcount == -1
    assert pg.page_mapcount(page) == 0 and not pg.page_mapped(page)
    page._mapcount += 1
    assert pg.page_mapcount(page) == 1 and pg.page_mapped(page)
    pg.reset_page_mapcount(page)
    assert not pg.page_mapped(page)


def test_placement_helpers(m2: Machine) -> None:
    page = alloc(m2, 1)
    assert pg.page_to_nid(page) == 1
    assert pg.page_to_pfn(page) == page.pfn == 16384
    assert m2.pfn_to_page(pg.page_to_pfn(page)) is page
    assert pg.page_zone(page) is m2.nodes[1].node_zones[pg.page_zonenum(page)]
    page.index = 7
    assert pg.page_index(page) == 7


def test_page_lock(m2: Machine) -> None:
    page = alloc(m2, 0)
    assert trylock_page(page)
    assert pg.PageLocked(page)
    assert not trylock_page(page)
    with pytest.raises(KernelBug, match="deadlock"):
        lock_page(page)  # only this task could unlock it
    with pytest.raises(KernelBug, match="deadlock"):
        wait_on_page_locked(page)
    assert m2.page_waiters == {}, "a failed wait leaves no waiter behind"
    unlock_page(page)
    with pytest.raises(KernelBug):
        unlock_page(page)
    lock_page(page)
    assert pg.PageLocked(page)
    unlock_page(page)
    wait_on_page_locked(page)
    m2.check()


def test_put_of_last_reference_frees_the_frame(m2: Machine) -> None:
    page = alloc(m2, 1)
    zone = page.zone
    free_before = zone.vm_stat[0]
    release(m2, page)
    assert pg.PageBuddy(page) and pg.page_count(page) == 0
    assert zone.vm_stat[0] == free_before + 1
    m2.check()
