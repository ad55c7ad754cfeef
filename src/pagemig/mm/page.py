"""Model of struct page (include/linux/mm_types.h, page-flags.h, mm.h, pagemap.h).

One ``Page`` exists per *materialised* frame: the kernel keeps a struct page
for every frame, the model creates it the first time a frame is allocated or
looked up, so a 1 TiB machine costs nothing until it is used. Page flags are
one int with the kernel's PG_ bit numbers; the PageX/SetPageX/ClearPageX/
TestClearPageX accessors are the kernel's names for the same bits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from mypy_extensions import mypyc_attr

from .bug import VM_BUG_ON

if TYPE_CHECKING:
    from .list import Node
    from .mmzone import Zone

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT

# enum pageflags (include/linux/page-flags.h, 2.6.35, x86-64)
PG_locked = 0
PG_error = 1
PG_referenced = 2
PG_uptodate = 3
PG_dirty = 4
PG_lru = 5
PG_active = 6
PG_slab = 7
PG_owner_priv_1 = 8
PG_arch_1 = 9
PG_reserved = 10
PG_private = 11
PG_private_2 = 12
PG_writeback = 13
PG_head = 14
PG_tail = 15
PG_swapcache = 16
PG_mappedtodisk = 17
PG_reclaim = 18
PG_buddy = 19
PG_swapbacked = 20
PG_unevictable = 21
PG_mlocked = 22
PG_uncached = 23
PG_hwpoison = 24
__NR_PAGEFLAGS = 25
# Aliases the kernel gives the same bits.
PG_checked = PG_owner_priv_1
PG_fscache = PG_private_2

PAGEFLAG_NAMES: dict[int, str] = {
    PG_locked: "locked", PG_error: "error", PG_referenced: "referenced",
    PG_uptodate: "uptodate", PG_dirty: "dirty", PG_lru: "lru", PG_active: "active",
    PG_slab: "slab", PG_owner_priv_1: "checked", PG_arch_1: "arch_1",
    PG_reserved: "reserved", PG_private: "private", PG_private_2: "private_2",
    PG_writeback: "writeback", PG_head: "head", PG_tail: "tail",
    PG_swapcache: "swapcache", PG_mappedtodisk: "mappedtodisk", PG_reclaim: "reclaim",
    PG_buddy: "buddy", PG_swapbacked: "swapbacked", PG_unevictable: "unevictable",
    PG_mlocked: "mlocked", PG_uncached: "uncached", PG_hwpoison: "hwpoison",
}

# Flags that must be clear when a page is freed or handed out
# (PAGE_FLAGS_CHECK_AT_FREE / _AT_PREP, include/linux/page-flags.h).
PAGE_FLAGS_CHECK_AT_FREE = sum(
    1 << b for b in (PG_lru, PG_locked, PG_private, PG_private_2, PG_buddy, PG_writeback,
                     PG_reserved, PG_slab, PG_swapcache, PG_active, PG_unevictable, PG_mlocked)
)
PAGE_FLAGS_CHECK_AT_PREP = ((1 << __NR_PAGEFLAGS) - 1) & ~(1 << PG_hwpoison)

# page->mapping low bits (include/linux/mm.h)
PAGE_MAPPING_ANON = 1
PAGE_MAPPING_KSM = 2
PAGE_MAPPING_FLAGS = PAGE_MAPPING_ANON | PAGE_MAPPING_KSM


def page_flag_names(flags: int) -> list[str]:
    return [name for bit, name in PAGEFLAG_NAMES.items() if flags >> bit & 1]


# Interpreted code (tests) may define its own kinds of mapping.
@mypyc_attr(allow_interpreted_subclasses=True)
class PageMapping:
    """What ``page->mapping`` may point at: an address_space, an anon_vma or a
    KSM stable node. The kernel tags the pointer's low bits; here each kind
    carries its tag as the class attribute ``mapping_flags``."""

    __slots__ = ()
    mapping_flags: ClassVar[int] = 0


class Page:
    """struct page. ``_mapcount`` starts at -1 as in the kernel."""

    __slots__ = (
        "_count",
        "_mapcount",
        "flags",
        "index",
        "lru_next",
        "lru_prev",
        "mapping",
        "pfn",
        "private",
        "zone",
    )

    def __init__(self, pfn: int, zone: Zone) -> None:
        self.flags = 1 << PG_buddy
        self._count = 0
        self._mapcount = -1
        self.mapping: PageMapping | None = None
        self.index = 0
        self.private: object = 0
        self.lru_next: Node | None = None
        self.lru_prev: Node | None = None
        self.pfn = pfn
        self.zone = zone

    def __repr__(self) -> str:
        return (f"<Page pfn={self.pfn:#x} node={self.zone.node_id} count={self._count} "
                f"mapcount={self._mapcount + 1} flags={'|'.join(page_flag_names(self.flags))}>")


PageTest = Callable[[Page], bool]
PageSet = Callable[[Page], None]


def _test(bit: int) -> PageTest:
    mask = 1 << bit

    def page_test(page: Page) -> bool:
        return page.flags & mask != 0

    return page_test


def _set(bit: int) -> PageSet:
    mask = 1 << bit

    def page_set(page: Page) -> None:
        page.flags |= mask

    return page_set


def _clear(bit: int) -> PageSet:
    mask = ~(1 << bit)

    def page_clear(page: Page) -> None:
        page.flags &= mask

    return page_clear


def _test_clear(bit: int) -> PageTest:
    mask = 1 << bit

    def page_test_clear(page: Page) -> bool:
        old = page.flags
        page.flags = old & ~mask
        return old & mask != 0

    return page_test_clear


def _test_set(bit: int) -> PageTest:
    mask = 1 << bit

    def page_test_set(page: Page) -> bool:
        old = page.flags
        page.flags = old | mask
        return old & mask != 0

    return page_test_set


# The PAGEFLAG()/TESTCLEARFLAG()/... families used by mm/migrate.c and friends.
PageLocked = _test(PG_locked)
PageError, SetPageError, ClearPageError = _test(PG_error), _set(PG_error), _clear(PG_error)
PageReferenced, SetPageReferenced, ClearPageReferenced = (
    _test(PG_referenced), _set(PG_referenced), _clear(PG_referenced))
TestClearPageReferenced = _test_clear(PG_referenced)
PageUptodate, SetPageUptodate, ClearPageUptodate = (
    _test(PG_uptodate), _set(PG_uptodate), _clear(PG_uptodate))
PageDirty, SetPageDirty, ClearPageDirty = _test(PG_dirty), _set(PG_dirty), _clear(PG_dirty)
TestSetPageDirty, TestClearPageDirty = _test_set(PG_dirty), _test_clear(PG_dirty)
PageLRU, SetPageLRU, ClearPageLRU = _test(PG_lru), _set(PG_lru), _clear(PG_lru)
TestClearPageLRU = _test_clear(PG_lru)
PageActive, SetPageActive, ClearPageActive = _test(PG_active), _set(PG_active), _clear(PG_active)
TestClearPageActive = _test_clear(PG_active)
PageSlab = _test(PG_slab)
PageChecked, SetPageChecked, ClearPageChecked = (
    _test(PG_checked), _set(PG_checked), _clear(PG_checked))
PageReserved, SetPageReserved, ClearPageReserved = (
    _test(PG_reserved), _set(PG_reserved), _clear(PG_reserved))
PagePrivate, SetPagePrivate, ClearPagePrivate = (
    _test(PG_private), _set(PG_private), _clear(PG_private))
PagePrivate2, SetPagePrivate2, ClearPagePrivate2 = (
    _test(PG_private_2), _set(PG_private_2), _clear(PG_private_2))
PageWriteback = _test(PG_writeback)
TestSetPageWriteback, TestClearPageWriteback = _test_set(PG_writeback), _test_clear(PG_writeback)
PageSwapCache, SetPageSwapCache, ClearPageSwapCache = (
    _test(PG_swapcache), _set(PG_swapcache), _clear(PG_swapcache))
PageMappedToDisk, SetPageMappedToDisk, ClearPageMappedToDisk = (
    _test(PG_mappedtodisk), _set(PG_mappedtodisk), _clear(PG_mappedtodisk))
PageReclaim, SetPageReclaim, ClearPageReclaim = (
    _test(PG_reclaim), _set(PG_reclaim), _clear(PG_reclaim))
TestClearPageReclaim = _test_clear(PG_reclaim)
PageBuddy = _test(PG_buddy)
PageSwapBacked, SetPageSwapBacked, ClearPageSwapBacked = (
    _test(PG_swapbacked), _set(PG_swapbacked), _clear(PG_swapbacked))
PageUnevictable, SetPageUnevictable, ClearPageUnevictable = (
    _test(PG_unevictable), _set(PG_unevictable), _clear(PG_unevictable))
TestClearPageUnevictable = _test_clear(PG_unevictable)
PageMlocked, SetPageMlocked, ClearPageMlocked = (
    _test(PG_mlocked), _set(PG_mlocked), _clear(PG_mlocked))
TestSetPageMlocked, TestClearPageMlocked = _test_set(PG_mlocked), _test_clear(PG_mlocked)
PageHead, PageTail = _test(PG_head), _test(PG_tail)
PageHWPoison = _test(PG_hwpoison)
# The non-atomic "__" variants (caller owns the page exclusively).
_SetPageLocked, _ClearPageLocked = _set(PG_locked), _clear(PG_locked)
_SetPageUptodate = _set(PG_uptodate)
_SetPageSwapBacked, _ClearPageSwapBacked = _set(PG_swapbacked), _clear(PG_swapbacked)
_SetPageBuddy, _ClearPageBuddy = _set(PG_buddy), _clear(PG_buddy)


def PageCompound(page: Page) -> bool:
    return page.flags & ((1 << PG_head) | (1 << PG_tail)) != 0


def PageAnon(page: Page) -> bool:
    """The page's mapping is an anon_vma (or a KSM stable node)."""
    mapping = page.mapping
    return mapping is not None and mapping.mapping_flags & PAGE_MAPPING_ANON != 0


def PageKsm(page: Page) -> bool:
    """Derived as the kernel derives it: both mapping tag bits set."""
    mapping = page.mapping
    return mapping is not None and mapping.mapping_flags & PAGE_MAPPING_FLAGS == PAGE_MAPPING_FLAGS


def page_has_private(page: Page) -> bool:
    """PagePrivate or PagePrivate2: the page carries fs-private data (one reference)."""
    return page.flags & ((1 << PG_private) | (1 << PG_private_2)) != 0


def page_private(page: Page) -> object:
    return page.private


def set_page_private(page: Page, private: object) -> None:
    page.private = private


# --- reference counts (include/linux/mm.h, pagemap.h) ---------------------------------


def page_count(page: Page) -> int:
    return page._count


def get_page(page: Page) -> None:
    if page._count <= 0:
        VM_BUG_ON(True, page, "get_page on a free or frozen page")
    page._count += 1


def get_page_unless_zero(page: Page) -> bool:
    """Take a reference unless the count is 0 (free, or frozen by migration)."""
    if page._count == 0:
        return False
    page._count += 1
    return True


def put_page_testzero(page: Page) -> bool:
    if page._count <= 0:
        VM_BUG_ON(True, page, "put_page on a page with no references")
    page._count -= 1
    return page._count == 0


def page_freeze_refs(page: Page, count: int) -> bool:
    """Replace a count of exactly ``count`` by 0 (cmpxchg); speculative gets then fail."""
    if page._count != count:
        return False
    page._count = 0
    return True


def page_unfreeze_refs(page: Page, count: int) -> None:
    VM_BUG_ON(page._count != 0, page, "unfreeze of an unfrozen page")
    VM_BUG_ON(count == 0, page, "unfreeze to 0")
    page._count = count


def set_page_count(page: Page, count: int) -> None:
    page._count = count


# --- map counts ------------------------------------------------------------------------


def page_mapcount(page: Page) -> int:
    return page._mapcount + 1


def page_mapped(page: Page) -> bool:
    return page._mapcount >= 0


def reset_page_mapcount(page: Page) -> None:
    page._mapcount = -1


# --- placement -------------------------------------------------------------------------


def page_to_pfn(page: Page) -> int:
    return page.pfn


def page_to_nid(page: Page) -> int:
    return page.zone.node_id


def page_zone(page: Page) -> Zone:
    return page.zone


def page_zonenum(page: Page) -> int:
    return page.zone.zone_idx


def page_index(page: Page) -> int:
    """page->index, or the swap entry for a swap-cache page (include/linux/mm.h, 2.6.35)."""
    if page.flags & (1 << PG_swapcache):
        entry = page.private
        VM_BUG_ON(not isinstance(entry, int), page, "swap-cache page without a swap entry")
        return entry  # type: ignore[return-value]
    return page.index
