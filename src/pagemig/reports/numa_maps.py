"""Model of show_numa_map() and mpol_to_str() (mm/mempolicy.c, Linux 2.6.35): /proc/PID/numa_maps.

Each VMA of the model becomes a ``NumaMapsEntry`` of ``pagemig.real.procfs``,
the structure the live kernel's file is parsed into, so the model's text is
exactly what that parser reads and a model report compares field by field
with one taken from a real machine.

2.6.35 ends a line with its last ``N<node>=`` count; Linux 4.1 appended
``kernelpagesize_kB=4``, which every kernel since prints after the counts of
a VMA with pages. ``kernelpagesize=True`` (the default) prints that modern
line, the one people read today; ``False`` gives 2.6.35's line.

The model's mm has no brk, so ``heap`` never appears; ``stack`` names the VMA
holding ``start_stack``, which only 32-bit (compat) processes have.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..mm.fs import Inode
from ..mm.hugetlb import HPAGE_SIZE, huge_pte_offset, huge_pte_page, is_vm_hugetlb_page
from ..mm.memory import vm_normal_page
from ..mm.mempolicy import (
    DEFAULT_POLICY,
    MPOL_BIND,
    MPOL_DEFAULT,
    MPOL_F_LOCAL,
    MPOL_F_RELATIVE_NODES,
    MPOL_F_STATIC_NODES,
    MPOL_INTERLEAVE,
    MPOL_PREFERRED,
    Mempolicy,
    get_vma_policy,
)
from ..mm.page import (
    PAGE_SHIFT,
    PAGE_SIZE,
    Page,
    PageActive,
    PageAnon,
    PageDirty,
    PageReserved,
    PageSwapCache,
    PageUnevictable,
    PageWriteback,
    page_mapcount,
    page_to_nid,
)
from ..mm.pgtable import pte_dirty, pte_present
from ..real.nodemask import format_nodelist
from ..real.procfs import NumaMapsEntry, format_numa_maps

if TYPE_CHECKING:
    from ..mm.mmap import VmAreaStruct
    from ..mm.sched import TaskStruct
    from ..process import Process

# mpol_to_str()'s policy_types[], with the MPOL_LOCAL pseudo-policy last.
POLICY_TYPES = ("default", "prefer", "bind", "interleave", "local")
_MPOL_LOCAL = 4
# seq_path(m, &file->f_path, "\n\t= "): these characters are printed as \ooo.
_PATH_ESCAPES = "\n\t= "


def mpol_to_str(pol: Mempolicy | None) -> str:
    """The policy as numa_maps prints it: ``default``, ``local``, ``prefer:1``,
    ``bind:0-1``, ``interleave=static:0,2``.

    Kernel: mm/mempolicy.c mpol_to_str (2.6.35), with no_context = 0 (the
    policy's current nodes, not the user's mask).
    """
    flags = pol.flags if pol is not None else 0
    nodes: frozenset[int] = frozenset()
    if pol is None or pol is DEFAULT_POLICY:
        mode = MPOL_DEFAULT
    elif pol.mode == MPOL_PREFERRED:
        mode = _MPOL_LOCAL if flags & MPOL_F_LOCAL else MPOL_PREFERRED
        nodes = frozenset() if flags & MPOL_F_LOCAL else frozenset({pol.preferred_node})
    elif pol.mode in (MPOL_BIND, MPOL_INTERLEAVE):
        mode, nodes = pol.mode, pol.nodes
    else:
        raise ValueError(f"mpol_to_str: no name for policy mode {pol.mode}")
    text = POLICY_TYPES[mode]
    # The two mode flags are mutually exclusive; the kernel tests static first.
    if flags & MPOL_F_STATIC_NODES:
        text += "=static"
    elif flags & MPOL_F_RELATIVE_NODES:
        text += "=relative"
    if nodes:
        text += ":" + format_nodelist(nodes)
    return text


def mangle_path(path: str, escapes: str = _PATH_ESCAPES) -> str:
    """seq_path()'s escaping: each character of ``escapes`` becomes ``\\ooo``."""
    return "".join(f"\\{ord(c):03o}" if c in escapes else c for c in path)


@dataclass
class NumaMapsStats:
    """struct numa_maps: what gather_stats() counts over one VMA."""

    pages: int = 0
    anon: int = 0
    active: int = 0
    writeback: int = 0
    mapcount_max: int = 0
    dirty: int = 0
    swapcache: int = 0
    node: dict[int, int] = field(default_factory=dict)


def gather_stats(page: Page, md: NumaMapsStats, dirty: bool) -> None:
    """Count one mapped page. Kernel: mm/mempolicy.c gather_stats (2.6.35)."""
    count = page_mapcount(page)
    md.pages += 1
    if dirty or PageDirty(page):
        md.dirty += 1
    if PageSwapCache(page):
        md.swapcache += 1
    if PageActive(page) or PageUnevictable(page):
        md.active += 1
    if PageWriteback(page):
        md.writeback += 1
    if PageAnon(page):
        md.anon += 1
    md.mapcount_max = max(md.mapcount_max, count)
    nid = page_to_nid(page)
    md.node[nid] = md.node.get(nid, 0) + 1


def _present_vpns(vma: VmAreaStruct, vpns: list[int]) -> list[int]:
    """The page numbers of ``vma`` that have a pte, in address order (``vpns`` is
    the sorted list of the mm's ptes, computed once per file)."""
    lo = bisect.bisect_left(vpns, vma.vm_start >> PAGE_SHIFT)
    hi = bisect.bisect_left(vpns, vma.vm_end >> PAGE_SHIFT)
    return vpns[lo:hi]


def check_pte_range_stats(vma: VmAreaStruct, vpns: list[int]) -> NumaMapsStats:
    """check_pgd_range(vma, start, end, &node_states[N_HIGH_MEMORY], MPOL_MF_STATS, md):
    every present pte with a normal, non-reserved page is counted (the zero page
    and pfn maps are not).

    Kernel: mm/mempolicy.c check_pte_range (2.6.35).
    """
    md = NumaMapsStats()
    mm = vma.vm_mm
    for vpn in _present_vpns(vma, vpns):
        pte = mm.ptes[vpn]
        if not pte_present(pte):
            continue
        page = vm_normal_page(vma, vpn << PAGE_SHIFT, pte)
        if page is None or PageReserved(page):
            continue
        gather_stats(page, md, pte_dirty(pte))
    return md


def show_numa_map(task: TaskStruct, vma: VmAreaStruct, vpns: list[int],
                  kernelpagesize: bool = True) -> NumaMapsEntry:
    """One line of /proc/PID/numa_maps. Counters are printed only as the kernel
    prints them (``mapped=`` when it differs from anon and dirty, ``active=``
    when below the page count, ...); a VMA without pages stops after its name.

    Kernel: mm/mempolicy.c show_numa_map (2.6.35); kernelpagesize_kB from 4.1.
    """
    entry = NumaMapsEntry(address=vma.vm_start,
                          policy=mpol_to_str(get_vma_policy(task, vma, vma.vm_start)))
    mm = vma.vm_mm
    if isinstance(vma.vm_file, Inode):
        entry.file = mangle_path(vma.vm_file.path)
    elif vma.vm_start <= mm.start_stack <= vma.vm_end:
        entry.stack = True
    huge = is_vm_hugetlb_page(vma)
    if huge:
        md = check_huge_range(vma)
        entry.huge = True
    else:
        md = check_pte_range_stats(vma, vpns)
    if md.pages:
        _fill_counters(entry, md, huge)
        if kernelpagesize:  # vma_kernel_pagesize
            entry.kernelpagesize_kB = (HPAGE_SIZE if huge else PAGE_SIZE) >> 10
    return entry


def check_huge_range(vma: VmAreaStruct) -> NumaMapsStats:
    """Each huge pmd of the VMA counts its huge page once.

    Kernel: mm/mempolicy.c check_huge_range (2.6.35).
    """
    md = NumaMapsStats()
    mm = vma.vm_mm
    for addr in range(vma.vm_start, vma.vm_end, HPAGE_SIZE):
        pte = huge_pte_offset(mm, addr)
        if pte:
            gather_stats(huge_pte_page(mm, pte), md, pte_dirty(pte))
    return md


def _fill_counters(entry: NumaMapsEntry, md: NumaMapsStats, huge: bool = False) -> None:
    entry.anon = md.anon or None
    entry.dirty = md.dirty or None
    entry.mapped = md.pages if md.pages not in (md.anon, md.dirty) else None
    entry.mapmax = md.mapcount_max if md.mapcount_max > 1 else None
    entry.swapcache = md.swapcache or None
    entry.active = md.active if md.active < md.pages and not huge else None
    entry.writeback = md.writeback or None
    # for_each_node_state(n, N_HIGH_MEMORY): in node order, only nodes with pages.
    entry.nodes = {nid: md.node[nid] for nid in sorted(md.node)}


def numa_maps(process: Process, kernelpagesize: bool = True) -> list[NumaMapsEntry]:
    """/proc/PID/numa_maps of a model process: one entry per VMA, in address order."""
    mm = process.mm
    vpns = sorted(mm.ptes)
    return [show_numa_map(process.task, vma, vpns, kernelpagesize) for vma in mm.mmap]


def numa_maps_text(process: Process, kernelpagesize: bool = True) -> str:
    """The text of /proc/PID/numa_maps of a model process."""
    return format_numa_maps(numa_maps(process, kernelpagesize))
