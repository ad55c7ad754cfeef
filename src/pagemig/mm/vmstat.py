"""Model of mm/vmstat.c and include/linux/vmstat.h: zone counters and vm events.

Zone counters are exact (the kernel batches per-CPU deltas with a threshold;
the model folds every delta at once, so a read is always the recount).
Event counters are machine-wide. ``/proc/vmstat`` and ``/proc/zoneinfo`` are
rendered in 2.6.35's layout; the migration events of later kernels
(pgmigrate_success, ...) are counted and printed too, where 3.8+ prints them.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Final

from .mmzone import NR_VM_ZONE_STAT_ITEMS, ZONE_NAMES, ZoneStatItem
from .page import Page

if TYPE_CHECKING:
    from ..machine import Machine
    from .mmzone import PglistData, Zone

_ZONE_SUFFIXES: Final = tuple(name.lower() for name in ZONE_NAMES)


def _per_zone(stem: str) -> list[str]:
    return [f"{stem}_{suffix}" for suffix in _ZONE_SUFFIXES]


# vmstat_text[] after the zone items (2.6.35, CONFIG_NUMA, CONFIG_COMPACTION,
# CONFIG_HUGETLB_PAGE), with the modern migration events after pgrotated.
VM_EVENT_NAMES: tuple[str, ...] = (
    "pgpgin", "pgpgout", "pswpin", "pswpout",
    *_per_zone("pgalloc"),
    "pgfree", "pgactivate", "pgdeactivate", "pgfault", "pgmajfault",
    *_per_zone("pgrefill"), *_per_zone("pgsteal"),
    *_per_zone("pgscan_kswapd"), *_per_zone("pgscan_direct"),
    "zone_reclaim_failed", "pginodesteal", "slabs_scanned", "kswapd_steal",
    "kswapd_inodesteal", "kswapd_low_wmark_hit_quickly", "kswapd_high_wmark_hit_quickly",
    "kswapd_skip_congestion_wait", "pageoutrun", "allocstall", "pgrotated",
    "numa_pages_migrated", "pgmigrate_success", "pgmigrate_fail",
    "thp_migration_success", "thp_migration_fail", "thp_migration_split",
    "compact_blocks_moved", "compact_pages_moved", "compact_pagemigrate_failed",
    "compact_stall", "compact_fail", "compact_success",
    "htlb_buddy_alloc_success", "htlb_buddy_alloc_fail",
    "unevictable_pgs_culled", "unevictable_pgs_scanned", "unevictable_pgs_rescued",
    "unevictable_pgs_mlocked", "unevictable_pgs_munlocked", "unevictable_pgs_cleared",
    "unevictable_pgs_stranded", "unevictable_pgs_mlockfreed",
)

VmEvent = IntEnum("VmEvent", [(name.upper(), i) for i, name in enumerate(VM_EVENT_NAMES)])  # type: ignore[misc]
NR_VM_EVENT_ITEMS: Final = len(VM_EVENT_NAMES)
# Index of the first per-zone entry of each family, for PGALLOC + zone_idx.
PGALLOC: Final = VM_EVENT_NAMES.index("pgalloc_dma")
PGFREE: Final = VM_EVENT_NAMES.index("pgfree")
PGFAULT: Final = VM_EVENT_NAMES.index("pgfault")
PGMAJFAULT: Final = VM_EVENT_NAMES.index("pgmajfault")
PGMIGRATE_SUCCESS: Final = VM_EVENT_NAMES.index("pgmigrate_success")
PGMIGRATE_FAIL: Final = VM_EVENT_NAMES.index("pgmigrate_fail")
UNEVICTABLE_PGCULLED: Final = VM_EVENT_NAMES.index("unevictable_pgs_culled")
UNEVICTABLE_PGRESCUED: Final = VM_EVENT_NAMES.index("unevictable_pgs_rescued")
UNEVICTABLE_PGMLOCKFREED: Final = VM_EVENT_NAMES.index("unevictable_pgs_mlockfreed")

# vmstat_text[] for the zone items (the names differ from the enum's).
ZONE_STAT_NAMES: tuple[str, ...] = (
    "nr_free_pages", "nr_inactive_anon", "nr_active_anon", "nr_inactive_file",
    "nr_active_file", "nr_unevictable", "nr_mlock", "nr_anon_pages", "nr_mapped",
    "nr_file_pages", "nr_dirty", "nr_writeback", "nr_slab_reclaimable",
    "nr_slab_unreclaimable", "nr_page_table_pages", "nr_kernel_stack", "nr_unstable",
    "nr_bounce", "nr_vmscan_write", "nr_writeback_temp", "nr_isolated_anon",
    "nr_isolated_file", "nr_shmem", "numa_hit", "numa_miss", "numa_foreign",
    "numa_interleave", "numa_local", "numa_other",
)
assert len(ZONE_STAT_NAMES) == NR_VM_ZONE_STAT_ITEMS


# --- zone counters -----------------------------------------------------------------------


def _mod_zone_page_state(zone: Zone, item: int, delta: int) -> None:
    zone.vm_stat[item] += delta


def mod_zone_page_state(zone: Zone, item: int, delta: int) -> None:
    zone.vm_stat[item] += delta


def _inc_zone_page_state(page: Page, item: int) -> None:
    page.zone.vm_stat[item] += 1


def _dec_zone_page_state(page: Page, item: int) -> None:
    page.zone.vm_stat[item] -= 1


# Interrupt-safe variants: identical without interrupts to race against.
def inc_zone_page_state(page: Page, item: int) -> None:
    _inc_zone_page_state(page, item)


def dec_zone_page_state(page: Page, item: int) -> None:
    _dec_zone_page_state(page, item)


def _inc_zone_state(zone: Zone, item: int) -> None:
    zone.vm_stat[item] += 1


def zone_page_state(zone: Zone, item: int) -> int:
    return zone.vm_stat[item]


def node_page_state(pgdat: PglistData, item: int) -> int:
    return sum(zone.vm_stat[item] for zone in pgdat.node_zones)


def global_page_state(machine: Machine, item: int) -> int:
    return sum(zone.vm_stat[item] for node in machine.nodes for zone in node.node_zones)


# --- events ---------------------------------------------------------------------------------


def count_vm_event(machine: Machine, item: int) -> None:
    machine.vm_events[item] += 1


def count_vm_events(machine: Machine, item: int, delta: int) -> None:
    machine.vm_events[item] += delta


# --- /proc/vmstat and /proc/zoneinfo --------------------------------------------------------


def vmstat_text(machine: Machine) -> str:
    """The text of /proc/vmstat (vmstat_show)."""
    lines = [f"{name} {global_page_state(machine, i)}" for i, name in enumerate(ZONE_STAT_NAMES)]
    lines += [f"{name} {machine.vm_events[i]}" for i, name in enumerate(VM_EVENT_NAMES)]
    return "\n".join(lines) + "\n"


def zoneinfo_zone_text(zone: Zone, cpus: list[int]) -> str:
    """One zone's block of /proc/zoneinfo (zoneinfo_show_print, 2.6.35)."""
    wmin, wlow, whigh = zone.watermark
    out = [
        f"Node {zone.node_id}, zone {zone.name:>8}",
        f"  pages free     {zone.vm_stat[ZoneStatItem.NR_FREE_PAGES]}",
        f"        min      {wmin}",
        f"        low      {wlow}",
        f"        high     {whigh}",
        f"        scanned  {zone.pages_scanned}",
        f"        spanned  {zone.spanned_pages}",
        f"        present  {zone.present_pages}",
    ]
    out += [f"    {name:<12} {zone.vm_stat[i]}" for i, name in enumerate(ZONE_STAT_NAMES)]
    out.append("        protection: (" + ", ".join(str(r) for r in zone.lowmem_reserve) + ")")
    out.append("  pagesets")
    for cpu in cpus:
        out += [f"    cpu: {cpu}", "              count: 0", "              high:  0",
                "              batch: 1", "  vm stats threshold: 0"]
    out += [
        f"  all_unreclaimable: {zone.all_unreclaimable}",
        f"  prev_priority:     {zone.prev_priority}",
        f"  start_pfn:         {zone.zone_start_pfn}",
        f"  inactive_ratio:    {zone.inactive_ratio}",
    ]
    return "\n".join(out) + "\n"


def zoneinfo_text(machine: Machine) -> str:
    """The text of /proc/zoneinfo: every populated zone of every online node."""
    cpus = list(range(machine.nr_cpus))
    return "".join(
        zoneinfo_zone_text(zone, cpus)
        for node in machine.nodes
        for zone in node.node_zones
        if zone.present_pages
    )
