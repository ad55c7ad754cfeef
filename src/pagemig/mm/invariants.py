"""Machine.check(): recount the model's state from scratch and compare.

Each subsystem contributes a checker. A checker walks the real structures
(free lists, LRU lists, pagevecs, private lists, and later page tables and
the page cache), records the references it finds in a ``RefLedger``, and
reports violations. At the end every page's ``_count`` must equal the
references its holders own. The check assumes a quiescent machine: no kernel
function in progress (tests call it between steps).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from mypy_extensions import mypyc_attr

from .list import ListHead
from .mm_inline import page_is_file_cache, page_lru
from .mmzone import NR_LRU_BASE, NR_LRU_LISTS, Zone, ZoneStatItem
from .page import (
    Page,
    PG_buddy,
    PG_lru,
    PG_mlocked,
    PG_reserved,
    PG_tail,
    PG_writeback,
    page_flag_names,
)
from .swap import PAGEVEC_SIZE

if TYPE_CHECKING:
    from ..machine import Machine


# A subclass of a builtin exception: mypyc compiles it as a regular Python class.
@mypyc_attr(native_class=False)
class InvariantError(AssertionError):
    """The model's state disagrees with its own recount; ``violations`` lists how."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        shown = "\n  ".join(violations[:50])
        more = f"\n  ... and {len(violations) - 50} more" if len(violations) > 50 else ""
        super().__init__(f"{len(violations)} invariant violation(s):\n  {shown}{more}")


class RefLedger:
    """Who holds references to which page, as found by the checkers."""

    def __init__(self) -> None:
        self.refs: Counter[Page] = Counter()
        self.holders: dict[Page, list[str]] = {}

    def add(self, page: Page, holder: str, n: int = 1) -> None:
        self.refs[page] += n
        self.holders.setdefault(page, []).append(holder if n == 1 else f"{holder} x{n}")


class CheckContext:
    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.violations: list[str] = []
        self.ledger = RefLedger()
        self.pages = machine.materialised_pages()  # shared: checkers only read it
        self.on_lru: set[Page] = set()
        self.on_private_list: set[Page] = set()
        self.in_pagevec: set[Page] = set()
        self.swap_pte_refs: Counter[int] = Counter()
        self.huge_free: set[Page] = set()  # free huge pages (count 0, not buddy)

    def fail(self, message: str) -> None:
        self.violations.append(message)


Checker = Callable[[CheckContext], None]


def _describe(page: Page) -> str:
    return (f"pfn {page.pfn:#x} (node {page.zone.node_id} {page.zone.name}, count {page._count}, "
            f"flags {'|'.join(page_flag_names(page.flags)) or '0'})")


# --- free memory --------------------------------------------------------------------------


def check_free_pages(ctx: CheckContext) -> None:
    """NR_FREE_PAGES = free list + never-used tail; free + allocated = present."""
    allocated: Counter[Zone] = Counter()
    offline: Counter[Zone] = Counter()
    free_sets = {zone: set(zone.free_list) for zone in ctx.machine.zones()}
    for page in ctx.pages:
        if page.flags & (1 << PG_buddy):
            if page._count != 0 or page._mapcount != -1 or page.mapping is not None:
                ctx.fail(f"free page {_describe(page)} has references, mappings or a mapping")
            if page.lru_next is not None:
                ctx.fail(f"free page {_describe(page)} is linked on a list")
            if page.pfn < page.zone.next_fresh_pfn and page not in free_sets[page.zone]:
                ctx.fail(f"free page {_describe(page)} is on no free list")
        elif page.flags == 1 << PG_reserved and page._count == 0:
            offline[page.zone] += 1
        else:
            allocated[page.zone] += 1
    for zone in ctx.machine.zones():
        if offline[zone] != zone.offline_pages:
            ctx.fail(f"{zone!r}: {zone.offline_pages} frames offline but {offline[zone]} found")
        if len(free_sets[zone]) != len(zone.free_list):
            ctx.fail(f"{zone!r}: a page is twice on the free list")
        for page in zone.free_list:
            if page.zone is not zone or not page.flags & (1 << PG_buddy):
                ctx.fail(f"{zone!r}: free list holds {_describe(page)}")
        fresh = zone.zone_start_pfn + zone.spanned_pages - zone.next_fresh_pfn
        free = len(zone.free_list) + fresh
        if zone.vm_stat[ZoneStatItem.NR_FREE_PAGES] != free:
            ctx.fail(f"{zone!r}: nr_free_pages {zone.vm_stat[ZoneStatItem.NR_FREE_PAGES]} "
                     f"but {free} frames are free")
        if free + allocated[zone] != zone.present_pages:
            ctx.fail(f"{zone!r}: {free} free + {allocated[zone]} allocated != "
                     f"{zone.present_pages} present")


# --- LRU lists, pagevecs, isolation ------------------------------------------------------


def check_lru(ctx: CheckContext) -> None:
    """PG_lru <=> on exactly one LRU list of its own zone, the one its flags name."""
    for zone in ctx.machine.zones():
        for lru in range(NR_LRU_LISTS):
            head = zone.lru[lru]
            n = 0
            for page in _walk(ctx, head, partial("{!r} lru {}".format, zone, lru)):
                n += 1
                if page in ctx.on_lru:
                    ctx.fail(f"{_describe(page)} is on two LRU lists")
                ctx.on_lru.add(page)
                if page.zone is not zone:
                    ctx.fail(f"{_describe(page)} is on an LRU list of {zone!r}")
                if not page.flags & (1 << PG_lru):
                    ctx.fail(f"{_describe(page)} is on an LRU list without PG_lru")
                elif page_lru(page) != lru:
                    ctx.fail(f"{_describe(page)} is on lru {lru} but its flags say {page_lru(page)}")
            counted = zone.vm_stat[NR_LRU_BASE + lru]
            if counted != n:
                ctx.fail(f"{zone!r}: lru {lru} counter {counted} but {n} pages on the list")
    for page in ctx.pages:
        if page.flags & (1 << PG_lru) and page not in ctx.on_lru:
            ctx.fail(f"{_describe(page)} has PG_lru but is on no LRU list")


def _walk(ctx: CheckContext, head: ListHead, what: Callable[[], str]) -> list[Page]:
    """The pages of a list, in order; ``what()`` names the list in a failure."""
    pages: list[Page] = []
    node = head.lru_next
    prev: object = head
    while node is not head:
        if not isinstance(node, Page) or node.lru_prev is not prev:
            ctx.fail(f"{what()}: broken links after {len(pages)} entries")
            break
        pages.append(node)
        prev = node
        node = node.lru_next
    return pages


def check_pagevecs(ctx: CheckContext) -> None:
    for cpu, pvecs in enumerate(ctx.machine.lru_add_pvecs):
        for lru, pvec in enumerate(pvecs):
            if len(pvec) >= PAGEVEC_SIZE:
                ctx.fail(f"cpu {cpu} pagevec {lru} holds {len(pvec)} pages, more than it can")
            for page in pvec:
                ctx.in_pagevec.add(page)
                ctx.ledger.add(page, f"cpu{cpu} lru-add pagevec")
                if page.flags & (1 << PG_lru):
                    ctx.fail(f"{_describe(page)} is in a pagevec with PG_lru set")


def check_private_lists(ctx: CheckContext) -> None:
    """Pages linked but on no zone LRU list are isolated on a private list:
    each holds the isolation reference and counts in NR_ISOLATED_*."""
    isolated: Counter[tuple[Zone, int]] = Counter()
    heads_seen: set[int] = set()
    for page in ctx.pages:
        if page.lru_next is None or page in ctx.on_lru or page in ctx.on_private_list:
            continue
        head = _find_head(page)
        if head is None:
            ctx.fail(f"{_describe(page)} is linked into a list with no head")
            continue
        if isinstance(head.owner, tuple):
            ctx.fail(f"{_describe(page)} is on a zone LRU list but was not found walking it")
            continue
        if id(head) in heads_seen:
            continue
        heads_seen.add(id(head))
        for entry in _walk(ctx, head, partial("private list {!r}".format, head)):
            ctx.on_private_list.add(entry)
            ctx.ledger.add(entry, "isolated (private list)")
            isolated[(entry.zone, page_is_file_cache(entry))] += 1
            if entry.flags & (1 << PG_lru):
                ctx.fail(f"{_describe(entry)} is on a private list with PG_lru set")
    for zone in ctx.machine.zones():
        for file in (0, 1):
            item = ZoneStatItem(ZoneStatItem.NR_ISOLATED_ANON + file)
            if zone.vm_stat[item] != isolated[(zone, file)]:
                ctx.fail(f"{zone!r}: {item.name.lower()} {zone.vm_stat[item]} but "
                         f"{isolated[(zone, file)]} pages are isolated")


def _find_head(page: Page) -> ListHead | None:
    node = page.lru_next
    steps = 0
    while isinstance(node, Page):
        if node is page or steps > 1 << 26:
            return None
        node = node.lru_next
        steps += 1
    return node if isinstance(node, ListHead) else None


# --- counters and references --------------------------------------------------------------


def check_flag_counters(ctx: CheckContext) -> None:
    """NR_MLOCK and NR_WRITEBACK recounted from the page flags."""
    counted: Counter[tuple[Zone, int]] = Counter()
    for page in ctx.pages:
        if page.flags & (1 << PG_mlocked):
            counted[(page.zone, ZoneStatItem.NR_MLOCK)] += 1
        if page.flags & (1 << PG_writeback):
            counted[(page.zone, ZoneStatItem.NR_WRITEBACK)] += 1
    for zone in ctx.machine.zones():
        for item in (ZoneStatItem.NR_MLOCK, ZoneStatItem.NR_WRITEBACK):
            if zone.vm_stat[item] != counted[(zone, item)]:
                ctx.fail(f"{zone!r}: {item.name.lower()} {zone.vm_stat[item]} but "
                         f"{counted[(zone, item)]} pages have the flag")
        if min(zone.vm_stat) >= 0:
            continue
        for item in ZoneStatItem:
            # NR_SHMEM may go negative per zone (quirk 8, see invariants_vm).
            if zone.vm_stat[item] < 0 and item != ZoneStatItem.NR_SHMEM:
                ctx.fail(f"{zone!r}: {item.name.lower()} is negative ({zone.vm_stat[item]})")


def check_pins(ctx: CheckContext) -> None:
    from .page_alloc import compound_head

    for page, n in ctx.machine.pins.items():
        ctx.ledger.add(compound_head(page), "pinned by the caller", n)


def check_locks(ctx: CheckContext) -> None:
    for zone in ctx.machine.zones():
        if zone.lru_lock.locked:
            ctx.fail(f"{zone.lru_lock!r} is held on a quiescent machine")
    for page in ctx.machine.page_waiters:
        if not page.flags & 1:
            ctx.fail(f"{_describe(page)} has lock waiters but is not locked")


def check_refcounts(ctx: CheckContext) -> None:
    """Every allocated page's count equals the references its holders own."""
    for page in ctx.pages:
        if page.flags == 1 << PG_reserved and page._count == 0:
            continue  # offline (memory hotplug)
        if page.flags & (1 << PG_tail) or page in ctx.huge_free:
            continue  # the head holds a compound page's count; pool pages have none
        if page.flags & (1 << PG_buddy):
            if page in ctx.ledger.refs:
                ctx.fail(f"free page {_describe(page)} is held by "
                         f"{', '.join(ctx.ledger.holders[page])}")
            continue
        expected = ctx.ledger.refs.get(page, 0)
        if page._count != expected:
            holders = ", ".join(ctx.ledger.holders.get(page, [])) or "nobody"
            ctx.fail(f"{_describe(page)}: count {page._count} but {expected} reference(s) "
                     f"found ({holders})")
        if page._count == 0:
            ctx.fail(f"allocated page {_describe(page)} has count 0 (frozen or leaked)")
