"""Model of include/linux/mm_inline.h: which LRU list a page belongs on."""

from __future__ import annotations

from typing import Final

from .list import list_add, list_del
from .mmzone import LRU_ACTIVE, LRU_FILE, LRU_UNEVICTABLE, NR_LRU_BASE, Zone
from .page import Page, PG_active, PG_swapbacked, PG_unevictable

_SWAPBACKED: Final = 1 << PG_swapbacked
_ACTIVE: Final = 1 << PG_active
_UNEVICTABLE: Final = 1 << PG_unevictable


def page_is_file_cache(page: Page) -> int:
    """1 for page cache pages, 0 for anon/shmem/swap-cache (NR_ISOLATED_ANON + this)."""
    return 0 if page.flags & _SWAPBACKED else 1


def page_lru_base_type(page: Page) -> int:
    return LRU_FILE if page_is_file_cache(page) else 0


def page_lru(page: Page) -> int:
    """The list the page's flags say it is on (or belongs on)."""
    flags = page.flags
    if flags & _UNEVICTABLE:
        return LRU_UNEVICTABLE
    lru = 0 if flags & _SWAPBACKED else LRU_FILE
    if flags & _ACTIVE:
        lru += LRU_ACTIVE
    return lru


def add_page_to_lru_list(zone: Zone, page: Page, lru: int) -> None:
    list_add(page, zone.lru[lru])
    zone.vm_stat[NR_LRU_BASE + lru] += 1


def del_page_from_lru_list(zone: Zone, page: Page, lru: int) -> None:
    list_del(page)
    zone.vm_stat[NR_LRU_BASE + lru] -= 1


def del_page_from_lru(zone: Zone, page: Page) -> None:
    """Remove from whichever list the flags say, clearing Active/Unevictable."""
    list_del(page)
    lru: int
    if page.flags & _UNEVICTABLE:
        page.flags &= ~_UNEVICTABLE
        lru = LRU_UNEVICTABLE
    else:
        lru = page_lru_base_type(page)
        if page.flags & _ACTIVE:
            page.flags &= ~_ACTIVE
            lru += LRU_ACTIVE
    zone.vm_stat[NR_LRU_BASE + lru] -= 1
