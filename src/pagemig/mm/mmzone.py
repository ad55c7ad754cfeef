"""Model of include/linux/mmzone.h: nodes (pglist_data), zones, LRU lists, node states.

Each node owns a contiguous pfn range split into zones by physical address as
on x86-64 (DMA below 16 MiB, DMA32 below 4 GiB, Normal above), with an
optional Movable zone at the top of the node (the ``movablecore=`` boot
option). A zone keeps its free frames, its five LRU lists, its ``vm_stat``
counters and its watermarks.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Final

from .highmem import PageArena
from .list import ListHead
from .page import PAGE_SHIFT, Page
from .spinlock import SpinLock

if TYPE_CHECKING:
    from ..machine import Machine

MAX_NUMNODES: Final = 64  # CONFIG_NODES_SHIFT=6
LOCAL_DISTANCE: Final = 10
REMOTE_DISTANCE: Final = 20


class ZoneType(IntEnum):
    ZONE_DMA = 0
    ZONE_DMA32 = 1
    ZONE_NORMAL = 2
    ZONE_MOVABLE = 3


ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE = tuple(ZoneType)
MAX_NR_ZONES: Final = len(ZoneType)
ZONE_NAMES: Final = ("DMA", "DMA32", "Normal", "Movable")
# Physical-address limits of the x86-64 zones (bytes, exclusive).
ZONE_DMA_LIMIT: Final = 16 << 20
ZONE_DMA32_LIMIT: Final = 4 << 30


class LruList(IntEnum):
    """enum lru_list: base type (anon 0, file 2) plus LRU_ACTIVE (1)."""

    LRU_INACTIVE_ANON = 0
    LRU_ACTIVE_ANON = 1
    LRU_INACTIVE_FILE = 2
    LRU_ACTIVE_FILE = 3
    LRU_UNEVICTABLE = 4


LRU_INACTIVE_ANON: Final = int(LruList.LRU_INACTIVE_ANON)
LRU_ACTIVE_ANON: Final = int(LruList.LRU_ACTIVE_ANON)
LRU_INACTIVE_FILE: Final = int(LruList.LRU_INACTIVE_FILE)
LRU_ACTIVE_FILE: Final = int(LruList.LRU_ACTIVE_FILE)
LRU_UNEVICTABLE: Final = int(LruList.LRU_UNEVICTABLE)
LRU_BASE: Final = 0
LRU_ACTIVE: Final = 1
LRU_FILE: Final = 2
NR_LRU_LISTS: Final = len(LruList)


class ZoneStatItem(IntEnum):
    """enum zone_stat_item (2.6.35), in the kernel's order (it is the /proc/vmstat order)."""

    NR_FREE_PAGES = 0
    NR_INACTIVE_ANON = 1  # NR_LRU_BASE
    NR_ACTIVE_ANON = 2
    NR_INACTIVE_FILE = 3
    NR_ACTIVE_FILE = 4
    NR_UNEVICTABLE = 5
    NR_MLOCK = 6
    NR_ANON_PAGES = 7
    NR_FILE_MAPPED = 8
    NR_FILE_PAGES = 9
    NR_FILE_DIRTY = 10
    NR_WRITEBACK = 11
    NR_SLAB_RECLAIMABLE = 12
    NR_SLAB_UNRECLAIMABLE = 13
    NR_PAGETABLE = 14
    NR_KERNEL_STACK = 15
    NR_UNSTABLE_NFS = 16
    NR_BOUNCE = 17
    NR_VMSCAN_WRITE = 18
    NR_WRITEBACK_TEMP = 19
    NR_ISOLATED_ANON = 20
    NR_ISOLATED_FILE = 21
    NR_SHMEM = 22
    NUMA_HIT = 23
    NUMA_MISS = 24
    NUMA_FOREIGN = 25
    NUMA_INTERLEAVE_HIT = 26
    NUMA_LOCAL = 27
    NUMA_OTHER = 28


NR_VM_ZONE_STAT_ITEMS: Final = len(ZoneStatItem)
NR_LRU_BASE: Final = int(ZoneStatItem.NR_INACTIVE_ANON)
NUMA_STATS: Final = (ZoneStatItem.NUMA_HIT, ZoneStatItem.NUMA_MISS, ZoneStatItem.NUMA_FOREIGN,
              ZoneStatItem.NUMA_INTERLEAVE_HIT, ZoneStatItem.NUMA_LOCAL, ZoneStatItem.NUMA_OTHER)


class NodeState(IntEnum):
    N_POSSIBLE = 0
    N_ONLINE = 1
    N_NORMAL_MEMORY = 2
    N_HIGH_MEMORY = 3  # on 64-bit the same as N_NORMAL_MEMORY: "has memory"
    N_CPU = 4


class Zone:
    """struct zone."""

    __slots__ = (
        "all_unreclaimable",
        "free_list",
        "inactive_ratio",
        "isolated_range",
        "lowmem_reserve",
        "lru",
        "lru_lock",
        "machine",
        "name",
        "next_fresh_pfn",
        "node_id",
        "offline_pages",
        "pages_scanned",
        "present_pages",
        "prev_priority",
        "spanned_pages",
        "vm_stat",
        "watermark",
        "zone_idx",
        "zone_pgdat",
        "zone_start_pfn",
    )

    def __init__(self, pgdat: PglistData, zone_idx: int, start_pfn: int, nr_pages: int) -> None:
        self.machine = pgdat.machine
        self.zone_pgdat = pgdat
        self.node_id = pgdat.node_id
        self.zone_idx = zone_idx
        self.name = ZONE_NAMES[zone_idx]
        self.zone_start_pfn = start_pfn
        self.spanned_pages = nr_pages
        self.present_pages = nr_pages
        # Free frames: pages freed at least once (LIFO, like the per-cpu hot
        # lists) plus the never-used tail [next_fresh_pfn, end).
        self.free_list: list[Page] = []
        self.next_fresh_pfn = start_pfn
        self.vm_stat = [0] * NR_VM_ZONE_STAT_ITEMS
        self.vm_stat[ZoneStatItem.NR_FREE_PAGES] = nr_pages
        self.lru = [ListHead((self, lru)) for lru in LruList]
        self.lru_lock = SpinLock(self.machine, f"zone{self.node_id}:{self.name}:lru_lock")
        self.watermark = [0, 0, 0]  # WMARK_MIN, WMARK_LOW, WMARK_HIGH
        self.lowmem_reserve = [0] * MAX_NR_ZONES
        self.all_unreclaimable = 0
        self.pages_scanned = 0
        self.prev_priority = 12  # DEF_PRIORITY
        self.inactive_ratio = 1
        # Memory hotplug: a pfn range being offlined, and frames taken offline.
        self.isolated_range: tuple[int, int] | None = None
        self.offline_pages = 0

    @property
    def zone_end_pfn(self) -> int:
        return self.zone_start_pfn + self.spanned_pages

    def populated(self) -> bool:
        return self.present_pages != 0

    def contains_pfn(self, pfn: int) -> bool:
        return self.zone_start_pfn <= pfn < self.zone_start_pfn + self.spanned_pages

    def __repr__(self) -> str:
        return f"<Zone node{self.node_id} {self.name} pfn {self.zone_start_pfn:#x}+{self.spanned_pages}>"


def populated_zone(zone: Zone) -> bool:
    return zone.present_pages != 0


class PglistData:
    """struct pglist_data: one NUMA node."""

    __slots__ = (
        "arena",
        "cpus",
        "machine",
        "node_id",
        "node_present_pages",
        "node_spanned_pages",
        "node_start_pfn",
        "node_zonelists",
        "node_zones",
        "thisnode_zonelist",
    )

    def __init__(self, machine: Machine, node_id: int, start_pfn: int, nr_pages: int,
                 movable_pages: int) -> None:
        self.machine = machine
        self.node_id = node_id
        self.node_start_pfn = start_pfn
        self.node_spanned_pages = nr_pages
        self.node_present_pages = nr_pages
        self.node_zones = self._layout_zones(start_pfn, nr_pages, movable_pages)
        # Filled by build_all_zonelists once every node exists.
        self.node_zonelists: list[Zone] = []
        self.thisnode_zonelist: list[Zone] = []
        self.cpus: list[int] = []
        self.arena = PageArena(start_pfn, nr_pages)

    def _layout_zones(self, start_pfn: int, nr_pages: int, movable_pages: int) -> list[Zone]:
        end_pfn = start_pfn + nr_pages
        movable_start = end_pfn - movable_pages
        bounds = (
            (ZONE_DMA, 0, ZONE_DMA_LIMIT >> PAGE_SHIFT),
            (ZONE_DMA32, ZONE_DMA_LIMIT >> PAGE_SHIFT, ZONE_DMA32_LIMIT >> PAGE_SHIFT),
            (ZONE_NORMAL, ZONE_DMA32_LIMIT >> PAGE_SHIFT, 1 << 62),
        )
        zones = []
        for idx, lo, hi in bounds:
            zstart = max(lo, start_pfn)
            zend = min(hi, movable_start)
            zones.append(Zone(self, idx, zstart, max(0, zend - zstart)))
        zones.append(Zone(self, ZONE_MOVABLE, movable_start, movable_pages))
        return zones

    @property
    def node_end_pfn(self) -> int:
        return self.node_start_pfn + self.node_spanned_pages

    def populated_zones(self) -> list[Zone]:
        return [z for z in self.node_zones if z.present_pages]

    def zone_for_pfn(self, pfn: int) -> Zone:
        for zone in self.node_zones:
            if zone.present_pages and zone.contains_pfn(pfn):
                return zone
        raise ValueError(f"pfn {pfn:#x} is not in node {self.node_id}")

    def __repr__(self) -> str:
        return f"<Node {self.node_id} pfn {self.node_start_pfn:#x}+{self.node_spanned_pages}>"


def zone_idx(zone: Zone) -> int:
    return zone.zone_idx
