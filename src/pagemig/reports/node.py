"""Model of drivers/base/node.c (Linux 2.6.35): /sys/devices/system/node/node<N>/numastat and meminfo.

These two files are what numastat reads; rendering them from the model and
letting the numastat port read them (``pagemig.reports.numastat``) keeps one
code path for a model machine and a live one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..mm.mmzone import NUMA_STATS, ZoneStatItem
from ..mm.page import PAGE_SHIFT
from ..mm.vmstat import node_page_state

if TYPE_CHECKING:
    from ..machine import Machine
    from ..mm.mmzone import PglistData

# node_read_numastat(): these names, one "name value" line each, in this order.
NUMASTAT_NAMES = ("numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node", "other_node")
THREAD_SIZE = 8192  # x86-64 2.6.35: THREAD_ORDER 1; NR_KERNEL_STACK counts stacks


def node_read_numastat(machine: Machine, nid: int) -> str:
    """The text of /sys/devices/system/node/node<nid>/numastat (in pages).

    Kernel: drivers/base/node.c node_read_numastat (2.6.35).
    """
    pgdat = machine.nodes[nid]
    return "".join(f"{name} {node_page_state(pgdat, item)}\n"
                   for name, item in zip(NUMASTAT_NAMES, NUMA_STATS, strict=True))


def _kb(pages: int) -> int:
    """K(x): pages to kB."""
    return pages << (PAGE_SHIFT - 10)


# The kB lines after MemTotal/MemFree/MemUsed: (name, zone items summed), in the
# kernel's order, with KernelStack (counted in stacks) between the two groups.
_S = ZoneStatItem
_MEMINFO_LRU = (
    ("Active", (_S.NR_ACTIVE_ANON, _S.NR_ACTIVE_FILE)),
    ("Inactive", (_S.NR_INACTIVE_ANON, _S.NR_INACTIVE_FILE)),
    ("Active(anon)", (_S.NR_ACTIVE_ANON,)), ("Inactive(anon)", (_S.NR_INACTIVE_ANON,)),
    ("Active(file)", (_S.NR_ACTIVE_FILE,)), ("Inactive(file)", (_S.NR_INACTIVE_FILE,)),
    ("Unevictable", (_S.NR_UNEVICTABLE,)), ("Mlocked", (_S.NR_MLOCK,)),
    ("Dirty", (_S.NR_FILE_DIRTY,)), ("Writeback", (_S.NR_WRITEBACK,)),
    ("FilePages", (_S.NR_FILE_PAGES,)), ("Mapped", (_S.NR_FILE_MAPPED,)),
    ("AnonPages", (_S.NR_ANON_PAGES,)), ("Shmem", (_S.NR_SHMEM,)),
)
_MEMINFO_KERNEL = (
    ("PageTables", (_S.NR_PAGETABLE,)), ("NFS_Unstable", (_S.NR_UNSTABLE_NFS,)),
    ("Bounce", (_S.NR_BOUNCE,)), ("WritebackTmp", (_S.NR_WRITEBACK_TEMP,)),
    ("Slab", (_S.NR_SLAB_RECLAIMABLE, _S.NR_SLAB_UNRECLAIMABLE)),
    ("SReclaimable", (_S.NR_SLAB_RECLAIMABLE,)), ("SUnreclaim", (_S.NR_SLAB_UNRECLAIMABLE,)),
)


def node_meminfo_values(pgdat: PglistData) -> list[tuple[str, int]]:
    """(name, kB) of every kB line of node<N>/meminfo, in the kernel's order;
    MemTotal is the node's present pages and MemFree its free pages (si_meminfo_node)."""
    def kb(items: tuple[ZoneStatItem, ...]) -> int:
        return _kb(sum(node_page_state(pgdat, item) for item in items))

    total, free = pgdat.node_present_pages, node_page_state(pgdat, _S.NR_FREE_PAGES)
    values = [("MemTotal", _kb(total)), ("MemFree", _kb(free)), ("MemUsed", _kb(total - free))]
    values += [(name, kb(items)) for name, items in _MEMINFO_LRU]
    values.append(("KernelStack", node_page_state(pgdat, _S.NR_KERNEL_STACK) * THREAD_SIZE // 1024))
    values += [(name, kb(items)) for name, items in _MEMINFO_KERNEL]
    return values


def node_read_meminfo(machine: Machine, nid: int) -> str:
    """The text of /sys/devices/system/node/node<nid>/meminfo, ending with
    hugetlb_report_node_meminfo's pool counts.

    Kernel: drivers/base/node.c node_read_meminfo (2.6.35, x86-64, no HIGHMEM),
    mm/hugetlb.c hugetlb_report_node_meminfo.
    """
    lines = [f"Node {nid} {name + ':':<16}{kb:8d} kB\n"
             for name, kb in node_meminfo_values(machine.nodes[nid])]
    h = machine.hstate
    pool = (("HugePages_Total", h.nr_huge_pages_node[nid]), ("HugePages_Free", h.free_huge_pages_node[nid]),
            ("HugePages_Surp", h.surplus_huge_pages_node[nid]))
    lines += [f"Node {nid} {name + ':':<17}{count:5d}\n" for name, count in pool]
    return "".join(lines)
