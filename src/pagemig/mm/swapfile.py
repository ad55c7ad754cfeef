"""Model of mm/swapfile.c (2.6.35): one swap device, swap_map counts, swap slots' data.

Each slot's count is the number of swap ptes referring to it, plus the
SWAP_HAS_CACHE bit while a swap-cache page holds it. The bytes written to a
slot live in the device until the slot is freed.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

import numpy as np

from .bug import VM_BUG_ON
from .page import Page, PageLocked, PageSwapCache, PageWriteback, page_mapped
from .swapops import MAX_SWAPFILES, swp_entry, swp_offset, swp_type

if TYPE_CHECKING:
    from ..machine import Machine

SWAP_HAS_CACHE: Final = 0x40
SWAP_MAP_MAX: Final = 0x3E
SWAP_MAP_BAD: Final = 0x3F


class SwapInfo:
    """struct swap_info_struct for the machine's single swap device (type 0)."""

    def __init__(self, nr_slots: int) -> None:
        self.type = 0
        # Slot 0 holds the swap header and is never handed out.
        self.swap_map = [SWAP_MAP_BAD] + [0] * (nr_slots - 1) if nr_slots else []
        self.inuse_pages = 0
        self.data: dict[int, np.ndarray] = {}
        self.cluster_next = 1

    @property
    def pages(self) -> int:
        return max(0, len(self.swap_map) - 1)

    def __repr__(self) -> str:
        return f"<swap {self.inuse_pages}/{self.pages} slots used>"


def swap_count(ent: int) -> int:
    return ent & ~SWAP_HAS_CACHE


def _swap_info_get(machine: Machine, entry: int) -> SwapInfo | None:
    si = machine.swap_info
    if si is None or swp_type(entry) != 0 or not 0 < swp_offset(entry) < len(si.swap_map):
        return None
    if si.swap_map[swp_offset(entry)] == 0:
        return None
    return si


def non_swap_entry(entry: int) -> bool:
    return swp_type(entry) >= MAX_SWAPFILES


def get_swap_page(machine: Machine) -> int:
    """Allocate a slot for the swap cache (count SWAP_HAS_CACHE); 0 when full."""
    si = machine.swap_info
    if si is None or si.inuse_pages >= si.pages:
        return 0
    n = len(si.swap_map)
    for i in range(n - 1):
        offset = (si.cluster_next - 1 + i) % (n - 1) + 1
        if si.swap_map[offset] == 0:
            si.swap_map[offset] = SWAP_HAS_CACHE
            si.inuse_pages += 1
            si.cluster_next = offset + 1 if offset + 1 < n else 1
            return swp_entry(0, offset)
    return 0


def _swap_entry_free(si: SwapInfo, entry: int, usage: int) -> int:
    """Drop one use (a pte's count, or the cache bit); return what is left."""
    offset = swp_offset(entry)
    count = si.swap_map[offset]
    has_cache = count & SWAP_HAS_CACHE
    count &= ~SWAP_HAS_CACHE
    if usage == SWAP_HAS_CACHE:
        VM_BUG_ON(not has_cache, message="freeing a swap cache reference that is not held")
        has_cache = 0
    else:
        VM_BUG_ON(count == 0, message="swap_free of a free slot")
        count -= 1
    usage_left = count | has_cache
    si.swap_map[offset] = usage_left
    if not usage_left:
        si.inuse_pages -= 1
        si.data.pop(offset, None)
    return usage_left


def swap_free(machine: Machine, entry: int) -> None:
    si = _swap_info_get(machine, entry)
    if si is not None:
        _swap_entry_free(si, entry, 1)


def swapcache_free(machine: Machine, entry: int, page: Page | None) -> None:
    from .memcontrol import mem_cgroup_uncharge_swapcache

    si = _swap_info_get(machine, entry)
    if si is not None:
        if page is not None:
            mem_cgroup_uncharge_swapcache(page)
        _swap_entry_free(si, entry, SWAP_HAS_CACHE)


def swap_duplicate(machine: Machine, entry: int) -> int:
    """One more pte refers to the slot: 0, or -EINVAL for a bad entry."""
    if non_swap_entry(entry):
        return 0
    si = _swap_info_get(machine, entry)
    if si is None:
        return -errno.EINVAL
    offset = swp_offset(entry)
    count = swap_count(si.swap_map[offset])
    if count >= SWAP_MAP_MAX:
        return -errno.ENOMEM  # would need a continuation page
    si.swap_map[offset] += 1
    return 0


def swapcache_prepare(machine: Machine, entry: int) -> int:
    """Claim the cache bit of an in-use slot before adding a page for it."""
    si = _swap_info_get(machine, entry)
    if si is None:
        return -errno.ENOENT
    offset = swp_offset(entry)
    if si.swap_map[offset] & SWAP_HAS_CACHE:
        return -errno.EEXIST
    si.swap_map[offset] |= SWAP_HAS_CACHE
    return 0


def page_swapcount(page: Page) -> int:
    entry = page.private
    assert isinstance(entry, int)
    si = _swap_info_get(page.zone.machine, entry)
    return swap_count(si.swap_map[swp_offset(entry)]) if si is not None else 0


def vm_swap_full(machine: Machine) -> bool:
    si = machine.swap_info
    return si is not None and si.inuse_pages * 2 > si.pages


def try_to_free_swap(page: Page) -> int:
    """Free the page's swap slot if no pte refers to it any more. Page locked."""
    from .page import SetPageDirty
    from .swap_state import delete_from_swap_cache

    VM_BUG_ON(not PageLocked(page), page, "try_to_free_swap of an unlocked page")
    if not PageSwapCache(page) or PageWriteback(page) or page_swapcount(page):
        return 0
    delete_from_swap_cache(page)
    SetPageDirty(page)
    return 1


def reuse_swap_page(page: Page) -> bool:
    """May a write fault reuse this anonymous page in place? Page locked."""
    from .page import SetPageDirty, page_mapcount
    from .swap_state import delete_from_swap_cache

    VM_BUG_ON(not PageLocked(page), page, "reuse_swap_page of an unlocked page")
    count = page_mapcount(page)
    if count <= 1 and PageSwapCache(page):
        count += page_swapcount(page)
        if count == 1 and not PageWriteback(page):
            delete_from_swap_cache(page)
            SetPageDirty(page)
    return count <= 1


def free_swap_and_cache(machine: Machine, entry: int) -> int:
    """A swap pte goes away: drop its count; drop the cached page too when
    that was the last user and nobody maps the page."""
    from .page import SetPageDirty
    from .pagemap import trylock_page, unlock_page
    from .swap import put_page
    from .swap_state import delete_from_swap_cache, lookup_swap_cache_page

    if non_swap_entry(entry):
        return 1
    si = _swap_info_get(machine, entry)
    if si is None:
        return 0
    page = None
    if _swap_entry_free(si, entry, 1) == SWAP_HAS_CACHE:
        page = lookup_swap_cache_page(machine, entry)
        if page is not None and not trylock_page(page):
            put_page(page)
            page = None
    if page is not None:
        if PageSwapCache(page) and not PageWriteback(page) and (
                not page_mapped(page) or vm_swap_full(machine)):
            delete_from_swap_cache(page)
            SetPageDirty(page)
        unlock_page(page)
        put_page(page)
    return 1
