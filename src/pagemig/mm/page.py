"""Model of struct page (include/linux/mm_types.h, page-flags.h, mm.h, pagemap.h).

One ``Page`` exists per *materialised* frame: the kernel keeps a struct page
for every frame, the model creates it the first time a frame is allocated or
looked up, so a 1 TiB machine costs nothing until it is used. Page flags are
one int with the kernel's PG_ bit numbers; the PageX/SetPageX/ClearPageX/
TestClearPageX accessors are the kernel's names for the same bits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .bug import VM_BUG_ON
from .list import ListNode

if TYPE_CHECKING:
    from .mmzone import Zone

PAGE_SHIFT: Final = 12
PAGE_SIZE: Final = 1 << PAGE_SHIFT

# enum pageflags (include/linux/page-flags.h, 2.6.35, x86-64)
PG_locked: Final = 0
PG_error: Final = 1
PG_referenced: Final = 2
PG_uptodate: Final = 3
PG_dirty: Final = 4
PG_lru: Final = 5
PG_active: Final = 6
PG_slab: Final = 7
PG_owner_priv_1: Final = 8
PG_arch_1: Final = 9
PG_reserved: Final = 10
PG_private: Final = 11
PG_private_2: Final = 12
PG_writeback: Final = 13
PG_head: Final = 14
PG_tail: Final = 15
PG_swapcache: Final = 16
PG_mappedtodisk: Final = 17
PG_reclaim: Final = 18
PG_buddy: Final = 19
PG_swapbacked: Final = 20
PG_unevictable: Final = 21
PG_mlocked: Final = 22
PG_uncached: Final = 23
PG_hwpoison: Final = 24
__NR_PAGEFLAGS: Final = 25
# Aliases the kernel gives the same bits.
PG_checked: Final = PG_owner_priv_1
PG_fscache: Final = PG_private_2

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
PAGE_FLAGS_CHECK_AT_FREE: Final = sum(
    1 << b for b in (PG_lru, PG_locked, PG_private, PG_private_2, PG_buddy, PG_writeback,
                     PG_reserved, PG_slab, PG_swapcache, PG_active, PG_unevictable, PG_mlocked)
)
PAGE_FLAGS_CHECK_AT_PREP: Final = ((1 << __NR_PAGEFLAGS) - 1) & ~(1 << PG_hwpoison)

# page->mapping low bits (include/linux/mm.h)
PAGE_MAPPING_ANON: Final = 1
PAGE_MAPPING_KSM: Final = 2
PAGE_MAPPING_FLAGS: Final = PAGE_MAPPING_ANON | PAGE_MAPPING_KSM


def page_flag_names(flags: int) -> list[str]:
    return [name for bit, name in PAGEFLAG_NAMES.items() if flags >> bit & 1]


class PageMapping:
    """What ``page->mapping`` may point at: an address_space, an anon_vma or a
    KSM stable node. The kernel tags the pointer's low bits; here each kind
    carries its tag in ``mapping_flags``, given to this constructor by each
    kind (a field, not a class attribute, so that the compiled build reads it
    as a struct field: PageAnon and page_mapping read it several times per
    migrated page)."""

    __slots__ = ("mapping_flags",)

    def __init__(self, mapping_flags: int = 0) -> None:
        self.mapping_flags = mapping_flags


class Page(ListNode):
    """struct page. ``_mapcount`` starts at -1 as in the kernel; the ``lru``
    links (``lru_next``/``lru_prev``) come from ListNode."""

    __slots__ = (
        "_count",
        "_mapcount",
        "flags",
        "index",
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
        self.lru_next = None
        self.lru_prev = None
        self.pfn = pfn
        self.zone = zone

    def __repr__(self) -> str:
        return (f"<Page pfn={self.pfn:#x} node={self.zone.node_id} count={self._count} "
                f"mapcount={self._mapcount + 1} flags={'|'.join(page_flag_names(self.flags))}>")


# The PAGEFLAG()/TESTCLEARFLAG()/... families used by mm/migrate.c and friends: one
# function per flag operation, as the kernel's macros expand them.
def PageLocked(page: Page) -> bool:
    return page.flags & (1 << PG_locked) != 0


def PageError(page: Page) -> bool:
    return page.flags & (1 << PG_error) != 0


def SetPageError(page: Page) -> None:
    page.flags |= 1 << PG_error


def ClearPageError(page: Page) -> None:
    page.flags &= ~(1 << PG_error)


def PageReferenced(page: Page) -> bool:
    return page.flags & (1 << PG_referenced) != 0


def SetPageReferenced(page: Page) -> None:
    page.flags |= 1 << PG_referenced


def ClearPageReferenced(page: Page) -> None:
    page.flags &= ~(1 << PG_referenced)


def TestClearPageReferenced(page: Page) -> bool:
    old = page.flags
    page.flags = old & ~(1 << PG_referenced)
    return old & (1 << PG_referenced) != 0


def PageUptodate(page: Page) -> bool:
    return page.flags & (1 << PG_uptodate) != 0


def SetPageUptodate(page: Page) -> None:
    page.flags |= 1 << PG_uptodate


def ClearPageUptodate(page: Page) -> None:
    page.flags &= ~(1 << PG_uptodate)


def PageDirty(page: Page) -> bool:
    return page.flags & (1 << PG_dirty) != 0


def SetPageDirty(page: Page) -> None:
    page.flags |= 1 << PG_dirty


def ClearPageDirty(page: Page) -> None:
    page.flags &= ~(1 << PG_dirty)


def TestSetPageDirty(page: Page) -> bool:
    old = page.flags
    page.flags = old | (1 << PG_dirty)
    return old & (1 << PG_dirty) != 0


def TestClearPageDirty(page: Page) -> bool:
    old = page.flags
    page.flags = old & ~(1 << PG_dirty)
    return old & (1 << PG_dirty) != 0


def PageLRU(page: Page) -> bool:
    return page.flags & (1 << PG_lru) != 0


def SetPageLRU(page: Page) -> None:
    page.flags |= 1 << PG_lru


def ClearPageLRU(page: Page) -> None:
    page.flags &= ~(1 << PG_lru)


def TestClearPageLRU(page: Page) -> bool:
    old = page.flags
    page.flags = old & ~(1 << PG_lru)
    return old & (1 << PG_lru) != 0


def PageActive(page: Page) -> bool:
    return page.flags & (1 << PG_active) != 0


def SetPageActive(page: Page) -> None:
    page.flags |= 1 << PG_active


def ClearPageActive(page: Page) -> None:
    page.flags &= ~(1 << PG_active)


def TestClearPageActive(page: Page) -> bool:
    old = page.flags
    page.flags = old & ~(1 << PG_active)
    return old & (1 << PG_active) != 0


def PageSlab(page: Page) -> bool:
    return page.flags & (1 << PG_slab) != 0


def PageChecked(page: Page) -> bool:
    return page.flags & (1 << PG_checked) != 0


def SetPageChecked(page: Page) -> None:
    page.flags |= 1 << PG_checked


def ClearPageChecked(page: Page) -> None:
    page.flags &= ~(1 << PG_checked)


def PageReserved(page: Page) -> bool:
    return page.flags & (1 << PG_reserved) != 0


def SetPageReserved(page: Page) -> None:
    page.flags |= 1 << PG_reserved


def ClearPageReserved(page: Page) -> None:
    page.flags &= ~(1 << PG_reserved)


def PagePrivate(page: Page) -> bool:
    return page.flags & (1 << PG_private) != 0


def SetPagePrivate(page: Page) -> None:
    page.flags |= 1 << PG_private


def ClearPagePrivate(page: Page) -> None:
    page.flags &= ~(1 << PG_private)


def PagePrivate2(page: Page) -> bool:
    return page.flags & (1 << PG_private_2) != 0


def SetPagePrivate2(page: Page) -> None:
    page.flags |= 1 << PG_private_2


def ClearPagePrivate2(page: Page) -> None:
    page.flags &= ~(1 << PG_private_2)


def PageWriteback(page: Page) -> bool:
    return page.flags & (1 << PG_writeback) != 0


def TestSetPageWriteback(page: Page) -> bool:
    old = page.flags
    page.flags = old | (1 << PG_writeback)
    return old & (1 << PG_writeback) != 0


def TestClearPageWriteback(page: Page) -> bool:
    old = page.flags
    page.flags = old & ~(1 << PG_writeback)
    return old & (1 << PG_writeback) != 0


def PageSwapCache(page: Page) -> bool:
    return page.flags & (1 << PG_swapcache) != 0


def SetPageSwapCache(page: Page) -> None:
    page.flags |= 1 << PG_swapcache


def ClearPageSwapCache(page: Page) -> None:
    page.flags &= ~(1 << PG_swapcache)


def PageMappedToDisk(page: Page) -> bool:
    return page.flags & (1 << PG_mappedtodisk) != 0


def SetPageMappedToDisk(page: Page) -> None:
    page.flags |= 1 << PG_mappedtodisk


def ClearPageMappedToDisk(page: Page) -> None:
    page.flags &= ~(1 << PG_mappedtodisk)


def PageReclaim(page: Page) -> bool:
    return page.flags & (1 << PG_reclaim) != 0


def SetPageReclaim(page: Page) -> None:
    page.flags |= 1 << PG_reclaim


def ClearPageReclaim(page: Page) -> None:
    page.flags &= ~(1 << PG_reclaim)


def TestClearPageReclaim(page: Page) -> bool:
    old = page.flags
    page.flags = old & ~(1 << PG_reclaim)
    return old & (1 << PG_reclaim) != 0


def PageBuddy(page: Page) -> bool:
    return page.flags & (1 << PG_buddy) != 0


def PageSwapBacked(page: Page) -> bool:
    return page.flags & (1 << PG_swapbacked) != 0


def SetPageSwapBacked(page: Page) -> None:
    page.flags |= 1 << PG_swapbacked


def ClearPageSwapBacked(page: Page) -> None:
    page.flags &= ~(1 << PG_swapbacked)


def PageUnevictable(page: Page) -> bool:
    return page.flags & (1 << PG_unevictable) != 0


def SetPageUnevictable(page: Page) -> None:
    page.flags |= 1 << PG_unevictable


def ClearPageUnevictable(page: Page) -> None:
    page.flags &= ~(1 << PG_unevictable)


def TestClearPageUnevictable(page: Page) -> bool:
    old = page.flags
    page.flags = old & ~(1 << PG_unevictable)
    return old & (1 << PG_unevictable) != 0


def PageMlocked(page: Page) -> bool:
    return page.flags & (1 << PG_mlocked) != 0


def SetPageMlocked(page: Page) -> None:
    page.flags |= 1 << PG_mlocked


def ClearPageMlocked(page: Page) -> None:
    page.flags &= ~(1 << PG_mlocked)


def TestSetPageMlocked(page: Page) -> bool:
    old = page.flags
    page.flags = old | (1 << PG_mlocked)
    return old & (1 << PG_mlocked) != 0


def TestClearPageMlocked(page: Page) -> bool:
    old = page.flags
    page.flags = old & ~(1 << PG_mlocked)
    return old & (1 << PG_mlocked) != 0


def PageHead(page: Page) -> bool:
    return page.flags & (1 << PG_head) != 0


def PageTail(page: Page) -> bool:
    return page.flags & (1 << PG_tail) != 0


def PageHWPoison(page: Page) -> bool:
    return page.flags & (1 << PG_hwpoison) != 0


# The non-atomic "__" variants (caller owns the page exclusively).
def _SetPageLocked(page: Page) -> None:
    page.flags |= 1 << PG_locked


def _ClearPageLocked(page: Page) -> None:
    page.flags &= ~(1 << PG_locked)


def _SetPageUptodate(page: Page) -> None:
    page.flags |= 1 << PG_uptodate


def _SetPageSwapBacked(page: Page) -> None:
    page.flags |= 1 << PG_swapbacked


def _ClearPageSwapBacked(page: Page) -> None:
    page.flags &= ~(1 << PG_swapbacked)


def _SetPageBuddy(page: Page) -> None:
    page.flags |= 1 << PG_buddy


def _ClearPageBuddy(page: Page) -> None:
    page.flags &= ~(1 << PG_buddy)


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


_TAIL: Final = 1 << PG_tail


def get_page(page: Page) -> None:
    if page.flags & _TAIL:  # a compound page's count lives in its head (2.6.35)
        page = page.private  # type: ignore[assignment]
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
