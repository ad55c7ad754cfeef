"""Model of mm/swap.c: put_page, per-CPU LRU-add pagevecs, lru_add_drain.

A page on its way to the LRU sits in the current CPU's pagevec for its list
(14 entries) holding one reference, with PG_lru still clear, so it cannot be
isolated until the pagevec is drained: a real source of -EBUSY in migration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .bug import VM_BUG_ON
from .list import list_add, list_move_tail
from .mm_inline import add_page_to_lru_list, del_page_from_lru, del_page_from_lru_list, page_lru_base_type
from .mmzone import (
    LRU_ACTIVE,
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LRU_UNEVICTABLE,
    NR_LRU_BASE,
)
from .page import (
    Page,
    PG_active,
    PG_head,
    PG_locked,
    PG_lru,
    PG_referenced,
    PG_tail,
    PG_unevictable,
)
from .page_alloc import free_hot_cold_page
from .spinlock import spin_lock_irq, spin_unlock_irq
from .vmstat import VM_EVENT_NAMES

if TYPE_CHECKING:
    from ..machine import Machine
    from .mmzone import Zone

PAGEVEC_SIZE: Final = 14

_LRU: Final = 1 << PG_lru
_ACTIVE: Final = 1 << PG_active
_UNEVICTABLE: Final = 1 << PG_unevictable
_COMPOUND: Final = 1 << PG_head | 1 << PG_tail


def _page_cache_release(page: Page) -> None:
    """__page_cache_release: a page freed while on the LRU leaves it first."""
    if page.flags & _LRU:
        zone = page.zone
        spin_lock_irq(zone.lru_lock)
        page.flags &= ~_LRU
        del_page_from_lru(zone, page)
        spin_unlock_irq(zone.lru_lock)


def _put_single_page(page: Page) -> None:
    _page_cache_release(page)
    free_hot_cold_page(page, 0)


def put_page(page: Page) -> None:
    """Drop a reference; the last one frees the page (put_page_testzero, inlined)."""
    if page.flags & _COMPOUND:
        put_compound_page(page)
        return
    count = page._count
    if count <= 0:
        VM_BUG_ON(True, page, "put_page on a page with no references")
    page._count = count - 1
    if count == 1:
        _put_single_page(page)


def put_compound_page(page: Page) -> None:
    """The last reference to a compound page calls its destructor."""
    from .page_alloc import compound_head, get_compound_page_dtor

    page = compound_head(page)
    if page._count <= 0:
        VM_BUG_ON(True, page, "put_page on a page with no references")
    page._count -= 1
    if page._count == 0:
        dtor = get_compound_page_dtor(page)
        assert dtor is not None
        dtor(page)


def release_pages(pages: list[Page]) -> None:
    for page in pages:
        put_page(page)


# --- LRU-add pagevecs -----------------------------------------------------------------


def _pagevec_lru_add(machine: Machine, pvec: list[Page], lru: int) -> None:
    """____pagevec_lru_add: put every page of the pagevec on ``lru``, drop the pagevec refs.
    The zone's lru_lock is taken once per run of pages of one zone, as the kernel does."""
    set_flags = _LRU | _ACTIVE if lru in (LRU_ACTIVE_ANON, LRU_ACTIVE_FILE) else _LRU
    nr_lru = NR_LRU_BASE + lru
    zone: Zone | None = None
    for page in pvec:
        pagezone = page.zone
        if pagezone is not zone:
            if zone is not None:
                spin_unlock_irq(zone.lru_lock)
            zone = pagezone
            spin_lock_irq(zone.lru_lock)
        flags = page.flags
        if flags & (_ACTIVE | _UNEVICTABLE | _LRU):
            VM_BUG_ON(flags & _ACTIVE, page, "pagevec page already active")
            VM_BUG_ON(flags & _UNEVICTABLE, page, "pagevec page unevictable")
            VM_BUG_ON(flags & _LRU, page, "pagevec page already on an LRU")
        flags |= set_flags
        page.flags = machine.lru_flags_words.setdefault(flags, flags)
        # add_page_to_lru_list
        list_add(page, zone.lru[lru])
        zone.vm_stat[nr_lru] += 1
    if zone is not None:
        spin_unlock_irq(zone.lru_lock)
    pages = pvec[:]
    pvec.clear()
    release_pages(pages)


def _lru_cache_add(machine: Machine, page: Page, lru: int) -> None:
    """__lru_cache_add: queue on this CPU's pagevec for ``lru`` with a reference."""
    pvec = machine.lru_add_pvecs[machine.current_cpu][lru]
    if page._count <= 0:  # page_cache_get
        VM_BUG_ON(True, page, "get_page on a free or frozen page")
    page._count += 1
    pvec.append(page)
    # A full pagevec, or LRU caching disabled (lru_cache_disable, 5.13+), adds now.
    if len(pvec) == PAGEVEC_SIZE or machine.lru_disable_count:
        _pagevec_lru_add(machine, pvec, lru)


def lru_cache_disable(machine: Machine) -> None:
    """Later kernels' move_pages: drain every pagevec and keep them empty
    until lru_cache_enable, so no page is off the LRU for being cached."""
    machine.lru_disable_count += 1
    lru_add_drain_all(machine)


def lru_cache_enable(machine: Machine) -> None:
    machine.lru_disable_count -= 1


def lru_cache_add_lru(page: Page, lru: int) -> None:
    """Add a page that is not on any LRU to the pagevec of ``lru``."""
    flags = page.flags
    if flags & _ACTIVE:
        VM_BUG_ON(flags & _UNEVICTABLE, page, "active and unevictable")
        page.flags = flags = flags & ~_ACTIVE
    elif flags & _UNEVICTABLE:
        page.flags = flags = flags & ~_UNEVICTABLE
    if flags & (_LRU | _ACTIVE | _UNEVICTABLE):
        VM_BUG_ON(True, page, "lru_cache_add_lru")
    _lru_cache_add(page.zone.machine, page, lru)


def lru_cache_add_anon(page: Page) -> None:
    _lru_cache_add(page.zone.machine, page, LRU_INACTIVE_ANON)


def lru_cache_add_file(page: Page) -> None:
    _lru_cache_add(page.zone.machine, page, LRU_INACTIVE_FILE)


def lru_cache_add_active_anon(page: Page) -> None:
    _lru_cache_add(page.zone.machine, page, LRU_ACTIVE_ANON)


def add_page_to_unevictable_list(page: Page) -> None:
    zone = page.zone
    spin_lock_irq(zone.lru_lock)
    page.flags |= _UNEVICTABLE | _LRU
    add_page_to_lru_list(zone, page, LRU_UNEVICTABLE)
    spin_unlock_irq(zone.lru_lock)


def drain_cpu_pagevecs(machine: Machine, cpu: int) -> None:
    for lru, pvec in enumerate(machine.lru_add_pvecs[cpu]):
        if pvec:
            _pagevec_lru_add(machine, pvec, lru)


def lru_add_drain(machine: Machine) -> None:
    """Drain the current CPU's pagevecs."""
    drain_cpu_pagevecs(machine, machine.smp_processor_id())


def lru_add_drain_all(machine: Machine) -> int:
    """Drain every CPU's pagevecs (schedule_on_each_cpu); returns 0."""
    for cpu in range(machine.nr_cpus):
        drain_cpu_pagevecs(machine, cpu)
    return 0



def activate_page(page: Page) -> None:
    """Move an inactive LRU page to the active list of its type."""

    zone = page.zone
    spin_lock_irq(zone.lru_lock)
    if page.flags & _LRU and not page.flags & _ACTIVE and not page.flags & _UNEVICTABLE:
        lru = page_lru_base_type(page)
        del_page_from_lru_list(zone, page, lru)
        page.flags |= _ACTIVE
        add_page_to_lru_list(zone, page, lru + LRU_ACTIVE)
        zone.machine.vm_events[VM_EVENT_NAMES.index("pgactivate")] += 1
    spin_unlock_irq(zone.lru_lock)


def mark_page_accessed(page: Page) -> None:
    """inactive,unreferenced -> inactive,referenced -> active,unreferenced."""

    referenced = 1 << PG_referenced
    if (not page.flags & _ACTIVE and not page.flags & _UNEVICTABLE
            and page.flags & referenced and page.flags & _LRU):
        activate_page(page)
        page.flags &= ~referenced
    elif not page.flags & referenced:
        page.flags |= referenced


def rotate_reclaimable_page(page: Page) -> None:
    """A page written back for reclaim goes to the tail of its inactive list
    so the next scan frees it (pagevec batching is not modelled)."""

    if (page.flags & (1 << PG_locked) or page.flags & _ACTIVE or page.flags & _UNEVICTABLE
            or not page.flags & _LRU):
        return
    zone = page.zone
    spin_lock_irq(zone.lru_lock)
    list_move_tail(page, zone.lru[page_lru_base_type(page)])
    zone.machine.vm_events[VM_EVENT_NAMES.index("pgrotated")] += 1
    spin_unlock_irq(zone.lru_lock)
