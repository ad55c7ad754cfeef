"""The simulated NUMA machine: the one owner of all model state.

``Machine`` builds the physical side (nodes, zones, frames, per-CPU pagevecs,
counters) and holds every piece of state the kernel model acts on; two
machines never share anything.
"""

from __future__ import annotations

import bisect
import os
import random
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Final

import numpy as np

from .mm.account import MigrationAccount
from .mm.bug import KernelBug
from .mm.check import check_machine
from .mm.cpuset import Cpuset, cpuset_mems_allowed, cpuset_zone_allowed, top_cpuset
from .mm.cred import Cred
from .mm.fault_inject import FaultInjector, FaultRule
from .mm.fs import Inode, create_inode
from .mm.hugetlb import Hstate, hugetlb_boot, set_max_huge_pages
from .mm.memcontrol import MemcgState
from .mm.memory import init_zero_page
from .mm.mmap import MmStruct, setup_ia32_address_space
from .mm.mmzone import (
    LOCAL_DISTANCE,
    MAX_NUMNODES,
    NR_LRU_LISTS,
    REMOTE_DISTANCE,
    NodeState,
    PglistData,
    Zone,
)
from .mm.page import PAGE_SHIFT, PAGE_SIZE, Page
from .mm.page_alloc import build_all_zonelists, setup_per_zone_wmarks
from .mm.page_writeback import end_page_writeback
from .mm.sched import PF_KTHREAD, PidTable, Scheduler, TaskStruct
from .mm.swap_state import swapper_space
from .mm.swapfile import SwapInfo
from .mm.trace import TraceBuffer
from .mm.vmstat import NR_VM_EVENT_ITEMS
from .process import UID_MAX, Process
from .profiles import kernel_profile
from .results import MovePagesResult
from .units import excerpt, format_size, parse_size, size_text

# SPARSEMEM: struct pages live in per-section arrays created on first use.
PFN_SECTION_SHIFT: Final = 27 - PAGE_SHIFT  # SECTION_SIZE_BITS = 27 on x86-64
PAGES_PER_SECTION: Final = 1 << PFN_SECTION_SHIFT
_SECTION_MASK: Final = PAGES_PER_SECTION - 1

# Bounds on what a machine can be (docs/scenarios.md, "Limits").
MAX_PHYSMEM_BITS: Final = 46  # x86-64 (asm/sparsemem.h): 64 TiB of physical addresses
NR_CPUS: Final = 4096  # the largest CONFIG_NR_CPUS of x86-64 in 2.6.35 (MAXSMP)
# The swap header's last_page is 32-bit: a swap area has at most 2**32 slots
# (16 TiB). The model keeps one swap_map entry per slot and check() recounts
# them all, so it takes at most 2**24 slots (64 GiB) of swap.
MAX_SWAP_BYTES: Final = (1 << 24) * PAGE_SIZE


class Machine:
    """A NUMA machine: nodes with memory and CPUs, and the kernel state on them.

    >>> m = Machine(nodes=2, node_memory="64MiB")
    >>> m.nodes[1].node_present_pages
    16384

    ``hugepages`` fills the 2 MiB huge page pool at boot: N pages spread over
    the nodes (the ``hugepages=`` boot parameter) or a list of counts per node.

    >>> Machine(nodes=2, hugepages=[1, 2]).hstate.nr_huge_pages_node
    [1, 2]
    """

    # nodes, and spawn's uid and cpu, are ``int | bool`` for the compiled build
    # (setup.py): an ``int`` argument of a compiled function arrives as a plain
    # int, so the bool these checks refuse would pass as 0 or 1.
    def __init__(
        self,
        nodes: int | bool = 1,
        node_memory: int | str | Sequence[int | str] = "64MiB",
        *,
        cpus: int | Sequence[int] | None = None,
        distances: Sequence[Sequence[int]] | None = None,
        movable_memory: int | str | Sequence[int | str] = 0,
        min_free_kbytes: int = 0,
        swap: int | str = 0,
        hugepages: int | Sequence[int] = 0,
        seed: int = 0,
        profile: str = "2.6.35",
    ) -> None:
        nr_nodes = _validate_nr_nodes(nodes)
        sizes = _per_node_sizes(node_memory, nr_nodes, "node_memory")
        if sum(sizes) > 1 << MAX_PHYSMEM_BITS:
            raise ValueError(f"node_memory: {nr_nodes} node(s) of {_size_text(sizes)} "
                             f"({size_text(sum(sizes))} in all) exceed "
                             f"the {format_size(1 << MAX_PHYSMEM_BITS)} of physical address "
                             f"space of x86-64 (MAX_PHYSMEM_BITS = {MAX_PHYSMEM_BITS})")
        movable = _per_node_sizes(movable_memory, nr_nodes, "movable_memory")
        for nid, (size, mov) in enumerate(zip(sizes, movable, strict=True)):
            if mov > size:
                raise ValueError(f"movable_memory of node {nid} ({format_size(mov)}) exceeds "
                                 f"its memory ({format_size(size)})")
        self.distances = _validate_distances(distances, nr_nodes)
        self.cpu_to_node = _validate_cpus(cpus, nr_nodes)
        if min_free_kbytes < 0:
            raise ValueError(f"min_free_kbytes must not be negative, got {min_free_kbytes}")
        swap_bytes = parse_size(swap, "swap")
        if swap_bytes > MAX_SWAP_BYTES:
            raise ValueError(f"swap: {size_text(swap_bytes)} is more than the model's limit of "
                             f"{format_size(MAX_SWAP_BYTES)} ({MAX_SWAP_BYTES // PAGE_SIZE} "
                             "slots; a real swap area holds at most 2**32 slots)")
        self.kernel = kernel_profile(profile)
        huge_pool = _validate_hugepages(hugepages, nr_nodes)

        self.seed = seed
        self.rng = random.Random(seed)
        self.scheduler: Scheduler | None = None
        self.current: TaskStruct | None = None
        self.current_cpu = 0
        self.vm_events = [0] * NR_VM_EVENT_ITEMS
        self.mem_section: dict[int, list[Page | None]] = {}
        self.nr_materialised = 0  # struct pages created (model bookkeeping, for check())
        self._materialised: list[Page] = []
        self._materialised_seen = 0
        self.page_waiters: dict[Page, int] = {}
        self.pins: dict[Page, int] = {}
        self.warnings: list[str] = []
        self.trace = TraceBuffer(self.smp_processor_id)
        self.faults = FaultInjector(self.rng)
        self.swapper_space = swapper_space(self)

        self.nodes: list[PglistData] = []
        start = 0
        for nid in range(nr_nodes):
            npages = sizes[nid] >> PAGE_SHIFT
            self.nodes.append(PglistData(self, nid, start, npages, movable[nid] >> PAGE_SHIFT))
            start += npages
        self.max_pfn = start
        self._node_starts = [node.node_start_pfn for node in self.nodes]
        for cpu, nid in enumerate(self.cpu_to_node):
            self.nodes[nid].cpus.append(cpu)
        self.lru_disable_count = 0  # lru_cache_disable() nesting (6.1 profile)
        self.lru_add_pvecs: list[list[list[Page]]] = [
            [[] for _ in range(NR_LRU_LISTS)] for _ in self.cpu_to_node
        ]
        # One int object per distinct flags word of pages joining an LRU list
        # (model memory only: pages at rest share their flags word).
        self.lru_flags_words: dict[int, int] = {}
        # Compound pages: the order and destructor the kernel keeps in the
        # first tail page's lru field, by head page.
        self.compound_order: dict[Page, int] = {}
        self.compound_dtor: dict[Page, Callable[[Page], None]] = {}
        self.hstate = Hstate(nr_nodes)
        build_all_zonelists(self)
        setup_per_zone_wmarks(self, min_free_kbytes)
        self._boot_kernel(swap_bytes)
        hugetlb_boot(self, huge_pool)

    def _boot_kernel(self, swap_bytes: int) -> None:
        """Everything the kernel sets up before user space: the zero page, the
        swap device, the memory controller, cpusets, init and kthreadd."""
        self.zero_page = init_zero_page(self)
        self.swap_info = SwapInfo(swap_bytes >> PAGE_SHIFT) if swap_bytes else None
        self.writeback_queue: deque[Page] = deque()
        self.memcg = MemcgState()
        self.account = MigrationAccount()
        self.arenas: dict[int, object] = {}
        self.lsm_task_movememory: Callable[[TaskStruct], int] | None = None
        self.vfs: dict[str, Inode] = {}
        self.inodes: dict[int, Inode] = {}
        self._next_ino = 1
        self.top_cpuset = top_cpuset(self)
        self.cpusets: dict[str, Cpuset] = {"/": self.top_cpuset}
        self.pid_table = PidTable()
        self.init_task = self._new_task("init", Cred.for_user(0), MmStruct(self), 0, None)
        self.kthreadd = self._new_task("kthreadd", Cred.for_user(0), None, 0, None, PF_KTHREAD)

    def _new_task(self, comm: str, cred: Cred, mm: MmStruct | None, cpu: int,
                  parent: TaskStruct | None, flags: int = 0) -> TaskStruct:
        cpuset = parent.cpuset if parent is not None else self.top_cpuset
        task = TaskStruct(self.pid_table.alloc_pid(), comm, cred, mm, cpu, cpuset, parent, flags)
        task.mems_allowed = cpuset_mems_allowed(task)
        if mm is not None:
            mm.owner = task
        self.pid_table.attach(task)
        return task
    # --- topology -----------------------------------------------------------------------

    @property
    def nr_nodes(self) -> int:
        return len(self.nodes)

    @property
    def nr_cpus(self) -> int:
        return len(self.cpu_to_node)

    def node_distance(self, a: int, b: int) -> int:
        return self.distances[a][b]

    def cpu_to_node_id(self, cpu: int) -> int:
        return self.cpu_to_node[cpu]

    def smp_processor_id(self) -> int:
        return self.current_cpu

    def numa_node_id(self) -> int:
        """The node of the CPU the current code runs on."""
        return self.cpu_to_node[self.current_cpu]

    def node_state(self, nid: int, state: NodeState) -> bool:
        if not 0 <= nid < len(self.nodes):
            return False
        if state == NodeState.N_HIGH_MEMORY or state == NodeState.N_NORMAL_MEMORY:
            return self.nodes[nid].node_present_pages > 0
        if state == NodeState.N_CPU:
            return bool(self.nodes[nid].cpus)
        return True  # every configured node is possible and online

    def nodes_with_memory(self) -> list[int]:
        return [node.node_id for node in self.nodes if node.node_present_pages]

    def zones(self) -> Iterator[Zone]:
        for node in self.nodes:
            yield from node.node_zones

    # --- frames -------------------------------------------------------------------------

    def pfn_valid(self, pfn: int) -> bool:
        return 0 <= pfn < self.max_pfn

    def pfn_to_page(self, pfn: int) -> Page:
        """The struct page of a frame (created on first lookup, as a free page)."""
        section = self.mem_section.get(pfn >> PFN_SECTION_SHIFT)
        if section is not None:
            page = section[pfn & _SECTION_MASK]
            if page is not None:
                return page
        return self._materialise(pfn)

    def pfn_to_page_in(self, pfn: int, zone: Zone) -> Page:
        """pfn_to_page for a frame the caller knows lies in ``zone`` (the allocator)."""
        section = self.mem_section.get(pfn >> PFN_SECTION_SHIFT)
        if section is None:
            section = self.mem_section[pfn >> PFN_SECTION_SHIFT] = [None] * PAGES_PER_SECTION
        page = section[pfn & _SECTION_MASK]
        if page is None:
            page = section[pfn & _SECTION_MASK] = Page(pfn, zone)
            self.nr_materialised += 1
        return page

    def _materialise(self, pfn: int) -> Page:
        if not self.pfn_valid(pfn):
            raise ValueError(f"pfn {pfn:#x} is beyond the machine's memory (max_pfn {self.max_pfn:#x})")
        node = self.nodes[bisect.bisect_right(self._node_starts, pfn) - 1]
        while node.node_spanned_pages == 0 or pfn >= node.node_end_pfn:
            node = self.nodes[node.node_id + 1]  # skip memoryless nodes sharing a start pfn
        return self.pfn_to_page_in(pfn, node.zone_for_pfn(pfn))

    def materialised_pages(self) -> list[Page]:
        """Every struct page created so far, by pfn. A struct page, once
        created, stays: the list is rebuilt only when one was added since."""
        if self._materialised_seen != self.nr_materialised:
            self._materialised = [page for nr in sorted(self.mem_section)
                                  for page in filter(None, self.mem_section[nr])]
            self._materialised_seen = self.nr_materialised
        return self._materialised

    # --- policy hooks the allocator consults ----------------------------------------------

    def cpuset_zone_allowed(self, zone: Zone, gfp_mask: int) -> bool:
        """cpuset_zone_allowed_softwall/hardwall for the current task."""
        return cpuset_zone_allowed(self.current, zone.node_id, gfp_mask)

    # --- I/O completion --------------------------------------------------------------------

    def submit_writeback(self, page: Page) -> None:
        """Queue the end of a page's writeback (the bio completes later)."""
        self.writeback_queue.append(page)

    def complete_writeback(self, nr: int | None = None) -> int:
        """Complete the ``nr`` oldest writebacks in flight (all by default)."""
        if nr is not None and (isinstance(nr, bool) or not isinstance(nr, int) or nr < 0):
            raise ValueError(f"nr must be a non-negative int or None, got {excerpt(nr)}")
        done = 0
        while self.writeback_queue and (nr is None or done < nr):
            end_page_writeback(self.writeback_queue.popleft())
            done += 1
        return done

    def complete_writeback_of(self, page: Page) -> None:
        """A task waits for this page's I/O: the device completes it."""
        if page in self.writeback_queue:
            self.writeback_queue.remove(page)
            end_page_writeback(page)

    # --- fault injection, warnings, references held by outsiders ------------------------

    def should_fail(self, name: str, **attrs: object) -> bool:
        if not self.faults.rules:
            return False
        return self.faults.should_fail(name, attrs)

    @contextmanager
    def inject(self, name: str, **kwargs: object) -> Iterator[FaultRule]:
        """Make the fault point ``name`` fail while the block runs.

        >>> m = Machine(nodes=2)
        >>> from pagemig.mm.page_alloc import alloc_pages_exact_node
        >>> from pagemig.mm.gfp import GFP_HIGHUSER_MOVABLE, GFP_THISNODE
        >>> with m.inject("alloc_page", node=1, times=1):
        ...     alloc_pages_exact_node(m, 1, GFP_HIGHUSER_MOVABLE | GFP_THISNODE) is None
        True
        """
        with self.faults.inject(name, **kwargs) as rule:
            yield rule

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def pin(self, page: Page) -> None:
        """Record a reference held outside the modelled structures (a test, a GUP pin).
        The caller has already taken the reference."""
        self.pins[page] = self.pins.get(page, 0) + 1

    def unpin(self, page: Page) -> None:
        count = self.pins.get(page, 0)
        if count == 0:
            raise KernelBug(f"unpin of a page with no recorded pin: {page!r}")
        if count == 1:
            del self.pins[page]
        else:
            self.pins[page] = count - 1

    # --- reclaim, KSM, hotplug --------------------------------------------------------------

    def reclaim(self, node: int, nr_pages: int) -> int:
        """Reclaim up to ``nr_pages`` from the node's inactive lists (anon pages
        go to swap, dirty file pages are written, clean ones freed). Pages under
        writeback stay until it completes. Returns the number freed."""
        from .mm.swap import lru_add_drain_all
        from .mm.vmscan import shrink_zone_lists

        if not 0 <= node < self.nr_nodes:
            raise ValueError(f"node must be within 0..{self.nr_nodes - 1}, got {node}")
        if nr_pages < 0:
            raise ValueError(f"nr_pages must not be negative, got {nr_pages}")
        lru_add_drain_all(self)
        freed = 0
        for zone in reversed(self.nodes[node].node_zones):
            if freed >= nr_pages:
                break
            if zone.present_pages:
                freed += shrink_zone_lists(self, zone, nr_pages - freed)
        return freed

    def deactivate_all(self, node: int) -> None:
        """Move every active page of the node to its inactive list (what aging
        does over time), so reclaim can reach it."""
        from .mm.list import list_move
        from .mm.mmzone import LRU_ACTIVE, LRU_ACTIVE_ANON, LRU_ACTIVE_FILE, NR_LRU_BASE
        from .mm.page import ClearPageActive
        from .mm.swap import lru_add_drain_all

        lru_add_drain_all(self)
        for zone in self.nodes[node].node_zones:
            for lru in (LRU_ACTIVE_ANON, LRU_ACTIVE_FILE):
                for page in list(zone.lru[lru]):
                    ClearPageActive(page)
                    list_move(page, zone.lru[lru - LRU_ACTIVE])
                    zone.vm_stat[NR_LRU_BASE + lru] -= 1
                    zone.vm_stat[NR_LRU_BASE + lru - LRU_ACTIVE] += 1

    def offline_pages(self, start_pfn: int, nr_pages: int) -> None:
        """Memory hotplug: migrate everything out of a pfn range and take it
        offline (migrate_pages with offlining=1). Raises OSError (EBUSY, EINVAL).

        Under profile 2.6.35, a range holding a KSM page that is mapped raises
        KernelBug (``kernel == "2.6.35"``): the real oops of 2.6.35's
        unmap_and_move, a NULL anon_vma dereferenced (docs/kernel-bugs.md).
        The machine is then as the oops left it (the page locked and
        isolated); only ``Machine.check()``-free inspection makes sense.
        """
        from .mm.memory_hotplug import offline_pages

        rc = offline_pages(self, start_pfn, nr_pages)
        if rc:
            raise OSError(-rc, f"offline_pages({start_pfn:#x}, {nr_pages}): {os.strerror(-rc)}")

    def compact(self, node: int) -> tuple[int, int]:
        """Memory compaction of every zone of ``node`` (echo 1 > .../compact):
        returns (pages moved, pages that could not move)."""
        from .mm.compaction import compact_node

        if not 0 <= node < self.nr_nodes:
            raise ValueError(f"node must be within 0..{self.nr_nodes - 1}, got {node}")
        return compact_node(self, node)

    def ksm_merge(self, only_mergeable: bool = True) -> int:
        """One full KSM scan; returns how many pages were merged into KSM pages."""
        from .mm.ksm import ksm_merge

        return ksm_merge(self, only_mergeable)

    # --- processes and files -----------------------------------------------------------------

    def spawn(self, uid: int | bool = 1000, cpu: int | bool = 0, *, gid: int | None = None,
              comm: str = "proc", compat: bool = False) -> Process:
        """A new process (fork + exec of a fresh program): its own empty address
        space, credentials of ``uid`` (uid 0 holds every capability).
        ``compat=True`` execs a 32-bit program: a 4 GiB address space with an
        8 MiB stack, whose move_pages(2) takes the compat entry point."""
        if isinstance(uid, bool) or not isinstance(uid, int) or not 0 <= uid <= UID_MAX:
            raise ValueError(f"uid must be an int within 0..{UID_MAX}, got {excerpt(uid)}")
        if gid is not None and (isinstance(gid, bool) or not isinstance(gid, int)
                                or not 0 <= gid <= UID_MAX):
            raise ValueError(f"gid must be an int within 0..{UID_MAX}, got {excerpt(gid)}")
        if isinstance(cpu, bool) or not isinstance(cpu, int) or not 0 <= cpu < self.nr_cpus:
            raise ValueError(f"cpu must be within 0..{self.nr_cpus - 1}, got {cpu!r}")
        task = self._new_task(comm, Cred.for_user(uid, gid), MmStruct(self), cpu, self.init_task)
        if compat:
            assert task.mm is not None
            task.ia32 = True
            task.user_sp = setup_ia32_address_space(task.mm)
        return Process(self, task)

    def create_cpuset(self, name: str, mems: Sequence[int], parent: str = "/",
                      hardwall: bool = False, memory_migrate: bool | None = None) -> Cpuset:
        """A child cpuset whose mems must lie within its parent's (as cpuset.mems).
        ``memory_migrate`` (default: the profile's, off on 2.6.35's cgroup v1,
        always on for 6.1's cgroup v2) moves a task's pages when it is attached."""
        if name in self.cpusets:
            raise ValueError(f"cpuset {name!r} already exists")
        up = self.cpusets.get(parent)
        if up is None:
            raise ValueError(f"no cpuset {parent!r}")
        nodes = frozenset(int(n) for n in mems)
        if not nodes <= up.mems_allowed:
            raise ValueError(f"cpuset {name!r}: mems {sorted(nodes)} not within {parent!r}'s "
                             f"{sorted(up.mems_allowed)}")
        cs = Cpuset(self, name, up, nodes, up.cpus_allowed)
        cs.mem_hardwall = hardwall
        cs.memory_migrate = (self.kernel.cpuset_memory_migrate_default
                             if memory_migrate is None else bool(memory_migrate))
        up.children.append(cs)
        self.cpusets[name] = cs
        return cs

    def attach_cpuset(self, pid: int, name: str) -> None:
        """Move a task into a cpuset (echo pid > tasks); its mems_allowed follow."""
        cs = self.cpusets.get(name)
        if cs is None:
            raise ValueError(f"no cpuset {name!r}")
        task = self.pid_table.find_task_by_vpid(pid)
        if task is None:
            raise ProcessLookupError(3, f"no process {pid}")
        old_mems = task.cpuset.mems_allowed
        task.cpuset = cs
        task.mems_allowed = cpuset_mems_allowed(task)
        if cs.memory_migrate and task.mm is not None:
            self._cpuset_migrate_mm(task, old_mems, cs.mems_allowed)

    def _cpuset_migrate_mm(self, task: TaskStruct, from_: frozenset[int],
                           to: frozenset[int]) -> None:
        """cpuset_attach with memory_migrate: the task's pages follow it
        (do_migrate_pages with MPOL_MF_MOVE_ALL, allocating as the task)."""
        from .mm.mempolicy import MPOL_MF_MOVE_ALL
        from .mm.mmap import mmput
        from .mm.sched import get_task_mm

        mm = get_task_mm(task)
        if mm is None:
            return
        try:
            with Process(self, task).running():
                self.kernel.do_migrate_pages(mm, from_, to, MPOL_MF_MOVE_ALL)
        finally:
            mmput(mm)

    def process(self, pid: int) -> Process:
        task = self.pid_table.find_task_by_vpid(pid)
        if task is None:
            raise ProcessLookupError(3, f"no process {pid}")
        return Process(self, task)

    def create_file(self, path: str, size: int | str = 0, fs: str = "ext2",
                    data: bytes | None = None) -> Inode:
        """A regular file on a filesystem of kind ``fs`` (see pagemig.mm.fs)."""
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"path must be an absolute path, got {path!r}")
        if path in self.vfs:
            raise FileExistsError(17, f"{path} already exists")
        nbytes = parse_size(size, "size")
        if data is not None:
            nbytes = max(nbytes, len(data))
        memory = self.max_pfn * PAGE_SIZE
        if nbytes > memory:
            # The model keeps a file's blocks in host memory (its disk).
            raise ValueError(f"size: a file of {size_text(nbytes)} is larger than the "
                             f"machine's memory ({format_size(memory)}), the model's limit")
        inode = create_inode(self, path, nbytes, fs)
        if data is not None:
            if inode.store is None:
                raise ValueError(f"{fs} files have no backing store; write the data through a mapping")
            inode.store[: len(data)] = np.frombuffer(bytes(data), dtype=np.uint8)
        self.vfs[path] = inode
        return inode

    def set_nr_hugepages(self, count: int, node: int | None = None) -> int:
        """Write ``nr_hugepages`` (machine-wide, or of one node as
        /sys/devices/system/node/nodeN/hugepages/.../nr_hugepages does);
        returns the pool's new size there, which may fall short of ``count``
        (not enough contiguous free memory) or stay above it (huge pages in
        use or reserved are never freed)."""
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"nr_hugepages must be a non-negative integer, got {count!r}")
        h = self.hstate
        if node is None:
            return set_max_huge_pages(self, count, self.nodes_with_memory())
        if not self.node_state(node, NodeState.N_HIGH_MEMORY):
            raise ValueError(f"node {node} has no memory for huge pages")
        # Per node: the wanted total is the other nodes' pages plus count.
        others = h.nr_huge_pages - h.nr_huge_pages_node[node]
        set_max_huge_pages(self, others + count, [node])
        return h.nr_huge_pages_node[node]

    def truncate(self, path: str, size: int | str) -> None:
        """truncate(2): pages past the new size are unmapped and dropped."""
        from .mm.fs import truncate_inode

        truncate_inode(self.open(path), parse_size(size, "size"))

    def open(self, path: str) -> Inode:
        inode = self.vfs.get(path)
        if inode is None:
            raise FileNotFoundError(2, f"No such file: {path}")
        return inode

    def explain(self, result: MovePagesResult) -> str:
        """The per-page account of a move_pages result, as text."""
        return result.explain()

    # --- invariants ------------------------------------------------------------------------

    def check(self) -> None:
        """Recount everything and compare; raise InvariantError listing every violation."""
        check_machine(self)

    def __repr__(self) -> str:
        sizes = ", ".join(format_size(n.node_present_pages * PAGE_SIZE) for n in self.nodes)
        return f"<Machine {self.nr_nodes} nodes [{sizes}], {self.nr_cpus} cpus>"


# --- argument validation ------------------------------------------------------------------


def _validate_nr_nodes(nodes: int | bool) -> int:
    if isinstance(nodes, bool) or not isinstance(nodes, int):
        raise TypeError(f"nodes must be an int, not {type(nodes).__name__}")
    if not 1 <= nodes <= MAX_NUMNODES:
        raise ValueError(f"nodes must be between 1 and {MAX_NUMNODES}, got {nodes}")
    return nodes


def _per_node_sizes(value: int | str | Sequence[int | str], nr_nodes: int, what: str) -> list[int]:
    if isinstance(value, (int, str)):
        values: list[int | str] = [value] * nr_nodes
    else:
        values = list(value)
        if len(values) != nr_nodes:
            raise ValueError(f"{what} lists {len(values)} sizes for {nr_nodes} nodes")
    sizes = []
    for nid, item in enumerate(values):
        size = parse_size(item, f"{what} of node {nid}")
        if size % PAGE_SIZE:
            raise ValueError(f"{what} of node {nid} ({size} bytes) is not a multiple of the "
                             f"page size ({PAGE_SIZE})")
        sizes.append(size)
    return sizes


def _validate_hugepages(value: int | Sequence[int], nr_nodes: int) -> int | list[int]:
    """``hugepages=N`` (spread over the nodes, as the boot parameter) or one
    count per node (as each node's nr_hugepages)."""
    counts = [value] if isinstance(value, int) else list(value)
    if not isinstance(value, int) and len(counts) != nr_nodes:
        raise ValueError(f"hugepages lists {len(counts)} counts for {nr_nodes} nodes")
    for count in counts:
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"hugepages must be non-negative integers, got {count!r}")
    return value if isinstance(value, int) else counts


def _validate_distances(distances: Sequence[Sequence[int]] | None, nr_nodes: int) -> list[list[int]]:
    if distances is None:
        return [[LOCAL_DISTANCE if a == b else REMOTE_DISTANCE for b in range(nr_nodes)]
                for a in range(nr_nodes)]
    rows = [list(row) for row in distances]
    if len(rows) != nr_nodes or any(len(row) != nr_nodes for row in rows):
        shape = f"{len(rows)}x{'/'.join(sorted({str(len(r)) for r in rows})) or 0}"
        raise ValueError(f"distances must be a {nr_nodes}x{nr_nodes} table, got {shape}")
    for a, row in enumerate(rows):
        for b, dist in enumerate(row):
            if isinstance(dist, bool) or not isinstance(dist, int):
                raise TypeError(f"distance[{a}][{b}] must be an int, not {type(dist).__name__}")
            # The ACPI SLIT rules the kernel enforces (slit_valid).
            if a == b and dist != LOCAL_DISTANCE:
                raise ValueError(f"distance[{a}][{a}] must be {LOCAL_DISTANCE} (local), got {dist}")
            if a != b and not LOCAL_DISTANCE < dist <= 255:
                raise ValueError(f"distance[{a}][{b}] must be within {LOCAL_DISTANCE + 1}..255, "
                                 f"got {dist}")
    return rows


def _validate_cpus(cpus: int | Sequence[int] | None, nr_nodes: int) -> list[int]:
    """CPU -> node. An int spreads that many CPUs round-robin over the nodes;
    a sequence gives each CPU's node. Default: one CPU per node."""
    if cpus is None:
        return list(range(nr_nodes))
    if isinstance(cpus, bool):
        raise TypeError("cpus must be an int or a sequence of node ids, not a bool")
    if isinstance(cpus, int):
        if cpus < 1:
            raise ValueError(f"cpus must be at least 1, got {cpus}")
        if cpus > NR_CPUS:
            raise ValueError(f"cpus must be at most {NR_CPUS} (NR_CPUS), got {excerpt(cpus)}")
        return [cpu % nr_nodes for cpu in range(cpus)]
    if len(cpus) > NR_CPUS:
        raise ValueError(f"cpus names {len(cpus)} CPUs, more than NR_CPUS ({NR_CPUS})")
    mapping = list(cpus)
    if not mapping:
        raise ValueError("cpus must name at least one CPU")
    for cpu, nid in enumerate(mapping):
        if isinstance(nid, bool) or not isinstance(nid, int):
            raise TypeError(f"cpus[{cpu}] must be a node id, not {type(nid).__name__}")
        if not 0 <= nid < nr_nodes:
            raise ValueError(f"cpu {cpu} is assigned to node {nid}, which does not exist "
                             f"(nodes are 0..{nr_nodes - 1})")
    return mapping



def _size_text(sizes: list[int]) -> str:
    """The node sizes of a message: one size, or the first few."""
    if len(set(sizes)) == 1:
        return size_text(sizes[0])
    return ",".join(map(size_text, sizes[:4])) + (",..." if len(sizes) > 4 else "")
