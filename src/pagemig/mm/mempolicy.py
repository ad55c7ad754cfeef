"""Model of mm/mempolicy.c (2.6.35): memory policies, their system-call
bodies, and policy-driven page allocation.

Node masks are frozensets of node ids inside the model; ``get_nodes`` and
``copy_nodes_to_user`` implement the kernel's maxnode rules over arrays of
unsigned longs, read and written through callables so the system-call layer
can back them with user memory.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from .gfp import _GFP_THISNODE, GFP_HIGHUSER_MOVABLE, gfp_zone
from .list import ListHead, list_add_tail
from .mm_inline import page_is_file_cache
from .mmap import VM_HUGETLB, VM_IO, VM_PFNMAP, VM_RESERVED, vma_index
from .mmzone import MAX_NUMNODES, ZONE_MOVABLE, ZONE_NORMAL, ZoneStatItem
from .page import PAGE_SHIFT, PAGE_SIZE, PageAnon, PageKsm, PageReserved, page_mapcount
from .page_alloc import _alloc_pages_nodemask, alloc_pages_exact_node, node_zonelist
from .pagemap import mapping_gfp_mask
from .pgtable import pte_present
from .rmap import vma_address
from .vmscan import isolate_lru_page

if TYPE_CHECKING:
    from ..machine import Machine
    from .mmap import MmStruct, VmAreaStruct
    from .page import Page
    from .sched import TaskStruct

MPOL_DEFAULT: Final = 0
MPOL_PREFERRED: Final = 1
MPOL_BIND: Final = 2
MPOL_INTERLEAVE: Final = 3
MPOL_MAX: Final = 4
MPOL_MODE_NAMES: Final = ("default", "prefer", "bind", "interleave")

# mode flags passed in the upper bits of the mode argument
MPOL_F_STATIC_NODES: Final = 1 << 15
MPOL_F_RELATIVE_NODES: Final = 1 << 14
MPOL_MODE_FLAGS: Final = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES
# internal flags
MPOL_F_SHARED: Final = 1 << 0
MPOL_F_LOCAL: Final = 1 << 1

# get_mempolicy flags
MPOL_F_NODE: Final = 1 << 0
MPOL_F_ADDR: Final = 1 << 1
MPOL_F_MEMS_ALLOWED: Final = 1 << 2

# mbind flags
MPOL_MF_STRICT: Final = 1 << 0
MPOL_MF_MOVE: Final = 1 << 1
MPOL_MF_MOVE_ALL: Final = 1 << 2
MPOL_MF_INTERNAL: Final = 1 << 3
MPOL_MF_DISCONTIG_OK: Final = MPOL_MF_INTERNAL << 0
MPOL_MF_INVERT: Final = MPOL_MF_INTERNAL << 1

BITS_PER_LONG: Final = 64


@dataclass(eq=False)
class Mempolicy:
    """struct mempolicy: ``nodes`` (bind/interleave), ``preferred_node``, and
    the user's mask for MPOL_F_STATIC/RELATIVE_NODES."""

    mode: int
    flags: int
    nodes: frozenset[int] = frozenset()
    preferred_node: int = -1
    user_nodemask: frozenset[int] = frozenset()
    cpuset_mems_allowed: frozenset[int] = frozenset()

    def __repr__(self) -> str:
        return f"<mempolicy {MPOL_MODE_NAMES[self.mode]} nodes={sorted(self.nodes)} flags={self.flags:#x}>"


DEFAULT_POLICY: Final = Mempolicy(MPOL_PREFERRED, MPOL_F_LOCAL)


def mpol_dup(pol: Mempolicy | None) -> Mempolicy | None:
    if pol is None:
        return None
    return Mempolicy(pol.mode, pol.flags, pol.nodes, pol.preferred_node, pol.user_nodemask,
                     pol.cpuset_mems_allowed)


def mpol_store_user_nodemask(pol: Mempolicy) -> bool:
    return pol.flags & MPOL_MODE_FLAGS != 0


def first_node(nodes: frozenset[int]) -> int:
    return min(nodes) if nodes else MAX_NUMNODES


def next_node(nid: int, nodes: frozenset[int]) -> int:
    later = [n for n in nodes if n > nid]
    return min(later) if later else MAX_NUMNODES


# --- node masks across the user boundary -----------------------------------------------------

ReadLong = Callable[[int], "int | None"]  # k -> k-th unsigned long, or None on a fault
WriteBytes = Callable[[int, bytes], bool]  # (offset, data) -> False on a fault


def get_nodes(read_long: ReadLong | None, maxnode: int) -> tuple[int, frozenset[int]]:
    """Read a user node mask of ``maxnode - 1`` bits (mm/mempolicy.c get_nodes)."""
    maxnode = (maxnode - 1) & ((1 << 64) - 1)  # --maxnode on an unsigned long
    if maxnode == 0 or read_long is None:
        return 0, frozenset()
    if maxnode > PAGE_SIZE * 8:
        return -errno.EINVAL, frozenset()
    nlongs = (maxnode + BITS_PER_LONG - 1) // BITS_PER_LONG
    endmask = (1 << 64) - 1 if maxnode % BITS_PER_LONG == 0 else (1 << (maxnode % BITS_PER_LONG)) - 1
    max_longs = (MAX_NUMNODES + BITS_PER_LONG - 1) // BITS_PER_LONG
    if nlongs > max_longs:
        # More nodes than supported: the unsupported part must be all zero.
        if nlongs > PAGE_SIZE // 8:
            return -errno.EINVAL, frozenset()
        for k in range(max_longs, nlongs):
            t = read_long(k)
            if t is None:
                return -errno.EFAULT, frozenset()
            if (t & endmask) if k == nlongs - 1 else t:
                return -errno.EINVAL, frozenset()
        nlongs = max_longs
        endmask = (1 << 64) - 1
    words = []
    for k in range(nlongs):
        t = read_long(k)
        if t is None:
            return -errno.EFAULT, frozenset()
        words.append(t)
    words[-1] &= endmask
    return 0, frozenset(k * 64 + b for k, w in enumerate(words) for b in range(64) if w >> b & 1)


def copy_nodes_to_user(write: WriteBytes, maxnode: int, nodes: frozenset[int]) -> int:
    """Write a node mask back in maxnode-sized form, zero-filling past MAX_NUMNODES."""
    copy = ((maxnode - 1 + 63) // 64) * 8
    nbytes = ((MAX_NUMNODES + 63) // 64) * 8
    if copy > nbytes:
        if copy > PAGE_SIZE:
            return -errno.EINVAL
        if not write(nbytes, bytes(copy - nbytes)):
            return -errno.EFAULT
        copy = nbytes
    mask = sum(1 << n for n in nodes).to_bytes(nbytes, "little")
    return 0 if write(0, mask[:copy]) else -errno.EFAULT


def nodes_to_longs(nodes: frozenset[int] | set[int] | list[int], nbits: int) -> list[int]:
    words = [0] * max(1, (nbits + 63) // 64)
    for n in nodes:
        words[n // 64] |= 1 << (n % 64)
    return words


# --- creating policies -----------------------------------------------------------------------


def mpol_new(mode: int, flags: int, nodes: frozenset[int] | None) -> tuple[int, Mempolicy | None]:
    """A new policy, or (errno, None); MPOL_DEFAULT is no policy at all."""
    if mode == MPOL_DEFAULT:
        if nodes:
            return -errno.EINVAL, None
        return 0, None
    assert nodes is not None
    if mode == MPOL_PREFERRED:
        if not nodes:
            if flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES):
                return -errno.EINVAL, None
            flags |= MPOL_F_LOCAL  # local allocation
    elif not nodes:
        return -errno.EINVAL, None
    return 0, Mempolicy(mode, flags)


def _relative_nodemask(nodes: frozenset[int], allowed: frozenset[int]) -> frozenset[int]:
    """mpol_relative_nodemask: bit i of the user mask names the i-th allowed node."""
    ordered = sorted(allowed)
    if not ordered:
        return frozenset()
    return frozenset(ordered[n % len(ordered)] for n in nodes)


def mpol_set_nodemask(task: TaskStruct, pol: Mempolicy | None, nodes: frozenset[int]) -> int:
    """Restrict the policy's nodes to the task's cpuset and nodes with memory."""
    if pol is None:
        return 0
    machine = task.cpuset.machine
    mask1 = task.mems_allowed & frozenset(machine.nodes_with_memory())
    if pol.mode == MPOL_PREFERRED and not nodes:
        return _mpol_create(pol, None)
    if pol.flags & MPOL_F_RELATIVE_NODES:
        mask2 = _relative_nodemask(nodes, mask1)
    else:
        mask2 = nodes & mask1
    if mpol_store_user_nodemask(pol):
        pol.user_nodemask = nodes
    else:
        pol.cpuset_mems_allowed = task.mems_allowed
    return _mpol_create(pol, mask2)


def _mpol_create(pol: Mempolicy, nodes: frozenset[int] | None) -> int:
    if pol.mode == MPOL_PREFERRED:
        if nodes is None:
            pol.flags |= MPOL_F_LOCAL
        elif not nodes:
            return -errno.EINVAL
        else:
            pol.preferred_node = min(nodes)
        return 0
    if not nodes:
        return -errno.EINVAL
    pol.nodes = nodes
    return 0


def do_set_mempolicy(task: TaskStruct, mode: int, flags: int, nodes: frozenset[int]) -> int:
    rc, new = mpol_new(mode, flags, nodes)
    if rc:
        return rc
    rc = mpol_set_nodemask(task, new, nodes)
    if rc:
        return rc
    task.mempolicy = new
    if new is not None and new.mode == MPOL_INTERLEAVE and new.nodes:
        task.il_next = first_node(new.nodes)
    return 0


def sys_set_mempolicy_nodes(task: TaskStruct, mode: int, read_long: ReadLong | None,
                            maxnode: int) -> int:
    """set_mempolicy(2) after the user pointer has become a reader."""
    mode_flags = mode & MPOL_MODE_FLAGS
    mode &= ~MPOL_MODE_FLAGS
    if not 0 <= mode < MPOL_MAX:
        return -errno.EINVAL
    if mode_flags & MPOL_F_STATIC_NODES and mode_flags & MPOL_F_RELATIVE_NODES:
        return -errno.EINVAL
    rc, nodes = get_nodes(read_long, maxnode)
    if rc:
        return rc
    return do_set_mempolicy(task, mode, mode_flags, nodes)


def get_policy_nodemask(pol: Mempolicy) -> frozenset[int]:
    if pol is DEFAULT_POLICY:
        return frozenset()
    if pol.mode in (MPOL_BIND, MPOL_INTERLEAVE):
        return pol.nodes
    if pol.mode == MPOL_PREFERRED and not pol.flags & MPOL_F_LOCAL:
        return frozenset({pol.preferred_node})
    return frozenset()  # local allocation: an empty mask


def lookup_node(task: TaskStruct, mm: MmStruct, addr: int) -> int:
    """The node of the page at addr, faulting it in for reading (get_user_pages)."""
    from .memory import get_user_pages
    from .mmap import find_vma
    from .swap import put_page

    vma = find_vma(mm, addr)
    if vma is None or vma.vm_start > addr:
        return -errno.EFAULT
    page = get_user_pages(mm, vma, addr & ~(PAGE_SIZE - 1), 0x04 | 0x02)  # FOLL_GET|FOLL_TOUCH
    if isinstance(page, int):
        return page
    if page is None:
        return -errno.EFAULT
    nid = page.zone.node_id
    put_page(page)
    return nid


def do_get_mempolicy(task: TaskStruct, addr: int, flags: int) -> tuple[int, int, frozenset[int]]:
    """(rc, policy value, node mask) as get_mempolicy(2) computes them."""
    from .mmap import find_vma_intersection
    from .rwsem import down_read, up_read

    if flags & ~(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED):
        return -errno.EINVAL, 0, frozenset()
    if flags & MPOL_F_MEMS_ALLOWED:
        if flags & (MPOL_F_NODE | MPOL_F_ADDR):
            return -errno.EINVAL, 0, frozenset()
        return 0, 0, task.mems_allowed
    mm = task.mm
    pol: Mempolicy | None = task.mempolicy
    locked = False
    if flags & MPOL_F_ADDR:
        assert mm is not None
        down_read(mm.mmap_sem)
        locked = True
        vma = find_vma_intersection(mm, addr, addr + 1)
        if vma is None:
            up_read(mm.mmap_sem)
            return -errno.EFAULT, 0, frozenset()
        if vma.vm_ops is not None and vma.vm_ops.get_policy is not None:
            pol = vma.vm_ops.get_policy(vma, addr)
        else:
            pol = vma.vm_policy
    elif addr:
        return -errno.EINVAL, 0, frozenset()
    if pol is None:
        pol = DEFAULT_POLICY
    try:
        if flags & MPOL_F_NODE:
            if flags & MPOL_F_ADDR:
                assert mm is not None
                up_read(mm.mmap_sem)  # lookup_node faults the page in
                locked = False
                nid = lookup_node(task, mm, addr)
                if nid < 0:
                    return nid, 0, frozenset()
                value = nid
            elif pol is task.mempolicy and pol.mode == MPOL_INTERLEAVE:
                value = task.il_next
            else:
                return -errno.EINVAL, 0, frozenset()
        else:
            value = MPOL_DEFAULT if pol is DEFAULT_POLICY else pol.mode
            value |= pol.flags & MPOL_MODE_FLAGS
    finally:
        if locked:
            assert mm is not None
            up_read(mm.mmap_sem)
    nodes = pol.user_nodemask if mpol_store_user_nodemask(pol) else get_policy_nodemask(pol)
    return 0, value, nodes


# --- allocation by policy ----------------------------------------------------------------------


def policy_zone(machine: Machine) -> int:
    """The highest populated zone type below ZONE_MOVABLE (where policies apply):
    never above ZONE_NORMAL, so a zone type from ZONE_NORMAL up is never below it."""
    zones = [z.zone_idx for z in machine.zones() if z.present_pages and z.zone_idx < ZONE_MOVABLE]
    return max(zones) if zones else 0


def get_vma_policy(task: TaskStruct | None, vma: VmAreaStruct | None, addr: int) -> Mempolicy:
    pol = task.mempolicy if task is not None else None
    if vma is not None:
        if vma.vm_ops is not None and vma.vm_ops.get_policy is not None:
            vpol = vma.vm_ops.get_policy(vma, addr)
            if vpol is not None:
                pol = vpol
        elif vma.vm_policy is not None:
            pol = vma.vm_policy
    return pol if pol is not None else DEFAULT_POLICY


def policy_zonelist_node(machine: Machine, gfp: int, pol: Mempolicy) -> int:
    nd = machine.numa_node_id()
    if pol.mode == MPOL_PREFERRED and not pol.flags & MPOL_F_LOCAL:
        nd = pol.preferred_node
    elif pol.mode == MPOL_BIND and gfp & _GFP_THISNODE and nd not in pol.nodes:
        # A __GFP_THISNODE allocation outside the mask uses the mask's first node.
        nd = first_node(pol.nodes)
    return nd


def policy_nodemask(machine: Machine, gfp: int, pol: Mempolicy) -> frozenset[int] | None:
    if pol.mode == MPOL_BIND:
        zone_type = gfp_zone(gfp)
        if zone_type >= ZONE_NORMAL or zone_type >= policy_zone(machine):
            return pol.nodes
    return None


def offset_il_node(machine: Machine, pol: Mempolicy, off: int) -> int:
    nnodes = len(pol.nodes)
    if not nnodes:
        return machine.numa_node_id()
    return sorted(pol.nodes)[off % nnodes]


def interleave_nodes(task: TaskStruct, pol: Mempolicy) -> int:
    nid = task.il_next
    nxt = next_node(nid, pol.nodes)
    if nxt >= MAX_NUMNODES:
        nxt = first_node(pol.nodes)
    if nxt < MAX_NUMNODES:
        task.il_next = nxt
    return nid


def alloc_page_interleave(machine: Machine, gfp: int, nid: int) -> Page | None:
    zonelist = node_zonelist(machine.nodes[nid], gfp)
    page = _alloc_pages_nodemask(machine, gfp, 0, zonelist)
    if page is not None and zonelist and page.zone is zonelist[0]:
        page.zone.vm_stat[ZoneStatItem.NUMA_INTERLEAVE_HIT] += 1
    return page


def alloc_page_vma(machine: Machine, gfp: int, vma: VmAreaStruct, addr: int) -> Page | None:
    """Allocate a page for ``addr`` of ``vma`` by the VMA's, else the task's, policy."""
    pol = get_vma_policy(machine.current, vma, addr)
    if pol.mode == MPOL_INTERLEAVE:
        off = vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT)
        return alloc_page_interleave(machine, gfp, offset_il_node(machine, pol, off))
    nd = policy_zonelist_node(machine, gfp, pol)
    return _alloc_pages_nodemask(machine, gfp, 0, node_zonelist(machine.nodes[nd], gfp),
                                 policy_nodemask(machine, gfp, pol))


def alloc_pages_current(machine: Machine, gfp: int) -> Page | None:
    """Allocate by the current task's policy (page cache, kernel allocations)."""
    task = machine.current
    pol = task.mempolicy if task is not None else None
    if pol is None or gfp & _GFP_THISNODE:
        pol = DEFAULT_POLICY
    if pol.mode == MPOL_INTERLEAVE and task is not None:
        return alloc_page_interleave(machine, gfp, interleave_nodes(task, pol))
    nd = policy_zonelist_node(machine, gfp, pol)
    return _alloc_pages_nodemask(machine, gfp, 0, node_zonelist(machine.nodes[nd], gfp),
                                 policy_nodemask(machine, gfp, pol))


# --- shared (shmem) policies -----------------------------------------------------------------


@dataclass
class SharedPolicy:
    """struct shared_policy: policies by page-offset range of a shmem file."""

    ranges: list[tuple[int, int, Mempolicy]] = field(default_factory=list)

    def lookup(self, pgoff: int) -> Mempolicy | None:
        for start, end, pol in self.ranges:
            if start <= pgoff < end:
                return pol
        return None

    def set(self, start: int, end: int, pol: Mempolicy | None) -> None:
        kept = []
        for s, e, p in self.ranges:
            if e <= start or s >= end:
                kept.append((s, e, p))
                continue
            if s < start:
                kept.append((s, start, p))
            if e > end:
                kept.append((end, e, p))
        if pol is not None:
            kept.append((start, end, pol))
        self.ranges = sorted(kept, key=lambda r: r[0])


def vma_migratable(vma: VmAreaStruct) -> bool:
    """include/linux/mempolicy.h: no VM_IO/HUGETLB/PFNMAP/RESERVED VMAs, and no
    file mapping restricted to zones below policy_zone."""
    if vma.vm_flags & (VM_IO | VM_HUGETLB | VM_PFNMAP | VM_RESERVED):
        return False
    return not file_below_policy_zone(vma)


def file_below_policy_zone(vma: VmAreaStruct) -> bool:
    """Migration allocates in the highest zone: a file mapping whose pages
    must come from below policy_zone cannot move node to node."""
    if vma.vm_file is None:
        return False
    mapping = vma.vm_file.f_mapping  # type: ignore[attr-defined]
    zone_type = gfp_zone(mapping_gfp_mask(mapping))
    # policy_zone never exceeds ZONE_NORMAL: only compute it when it can matter.
    return zone_type < ZONE_NORMAL and zone_type < policy_zone(vma.vm_mm.machine)


# --- moving pages: mbind(MPOL_MF_MOVE*), migrate_pages(2) --------------------------------------


def migrate_page_add(page: Page, pagelist: object, flags: int) -> None:
    """Isolate a misplaced page for migration; shared pages only with MOVE_ALL."""
    assert isinstance(pagelist, ListHead)
    if flags & MPOL_MF_MOVE_ALL or page_mapcount(page) == 1:
        if isolate_lru_page(page) == 0:
            list_add_tail(page, pagelist)
            page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON + page_is_file_cache(page)] += 1


def check_pte_range(vma: VmAreaStruct, addr: int, end: int, nodes: frozenset[int], flags: int,
                    private: object) -> int:
    """Walk present ptes; pages on the wrong side of ``nodes`` are queued for
    migration, or (without a move flag) end the walk. Returns where it stopped."""
    from .memory import pte_read, vm_normal_page

    mm = vma.vm_mm
    while addr < end:
        pte = pte_read(mm, addr)
        if pte_present(pte):
            page = vm_normal_page(vma, addr, pte)
            # 2.6.35 skips KSM pages here; since 3.9 they migrate (profile switch).
            if page is not None and not PageReserved(page) and not (
                    PageKsm(page) and not mm.machine.kernel.ksm_pages_migrate):
                nid = page.zone.node_id
                if (nid in nodes) != bool(flags & MPOL_MF_INVERT):
                    if flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):
                        migrate_page_add(page, private, flags)
                    else:
                        break
        addr += PAGE_SIZE
    return addr


def check_range(mm: MmStruct, start: int, end: int, nodes: frozenset[int], flags: int,
                private: object) -> VmAreaStruct | int:
    """Check (and with a move flag, collect) the pages of [start, end).
    Return: the first VMA, or a negative errno (holes give -EFAULT unless
    MPOL_MF_DISCONTIG_OK; misplaced pages under MPOL_MF_STRICT give -EIO)."""
    import errno as _errno

    from .mmap import find_vma

    first = find_vma(mm, start)
    if first is None:
        return -_errno.EFAULT
    prev: VmAreaStruct | None = None
    for index in range(vma_index(mm, first), len(mm.mmap)):
        vma = mm.mmap[index]
        if vma.vm_start >= end:
            break
        if not flags & MPOL_MF_DISCONTIG_OK:
            is_last = vma is mm.mmap[-1]
            if is_last and vma.vm_end < end:
                return -_errno.EFAULT
            if prev is not None and prev.vm_end < vma.vm_start:
                return -_errno.EFAULT
        if not vma.vm_flags & VM_HUGETLB and (
                flags & MPOL_MF_STRICT
                or (flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL) and vma_migratable(vma))):
            endvma = min(vma.vm_end, end)
            if vma.vm_start > start:
                start = vma.vm_start
            if check_pte_range(vma, start, endvma, nodes, flags, private) != endvma:
                return -_errno.EIO
        prev = vma
    return first


def new_vma_page(page: Page, private: object, result: object) -> Page | None:
    """Allocate the new page by the policy of the VMA that maps ``page``."""
    vma = private
    machine = page.zone.machine
    address = 0
    if vma is not None:
        mm = vma.vm_mm  # type: ignore[attr-defined]
        first = vma_index(mm, vma)  # type: ignore[arg-type]
        vma = None
        for index in range(first, len(mm.mmap)):
            cand = mm.mmap[index]
            address = page_address_in_vma(page, cand)
            if address != -errno.EFAULT:
                vma = cand
                break
    if vma is None:
        # alloc_page_vma() then uses the task or system default policy.
        return alloc_pages_current(machine, GFP_HIGHUSER_MOVABLE)
    return alloc_page_vma(machine, GFP_HIGHUSER_MOVABLE, vma, address)


def page_address_in_vma(page: Page, vma: VmAreaStruct) -> int:
    """At what user virtual address is ``page`` expected in ``vma``?

    2.6.35 does not check an anonymous page's anon_vma ("Caller should check
    the page is actually part of the vma": the check, broken by anon_vma
    chains, was removed in 2.6.34 and came back in 2.6.36 as a comparison of
    anon_vma roots, which profile 6.1 makes in linux61.page_address_in_vma).
    Return: the address, or -EFAULT. Kernel: mm/rmap.c (2.6.35).
    """
    if PageAnon(page):
        pass
    elif page.mapping is not None:
        if vma.vm_file is None or vma.vm_file.f_mapping is not page.mapping:  # type: ignore[attr-defined]
            return -errno.EFAULT
    else:
        return -errno.EFAULT
    return vma_address(page, vma)


def new_node_page(page: Page, private: object, result: object) -> Page | None:
    """migrate_pages(2)'s allocator: the destination node first, falling back
    to others (no __GFP_THISNODE: the destination is not strict)."""
    assert isinstance(private, int)
    return alloc_pages_exact_node(page.zone.machine, private, GFP_HIGHUSER_MOVABLE, 0)


def migrate_to_node(mm: MmStruct, source: int, dest: int, flags: int,
                    get_new_page: Callable[[Page, object, object], Page | None] | None = None,
                    ) -> int:
    """Move every page of the mm on ``source`` to ``dest``, with 2.6.35's
    new_node_page (6.1 passes alloc_migration_target: the only difference)."""
    from .list import ListHead, list_empty
    from .migrate import migrate_pages
    from .mmap import TASK_SIZE

    pagelist = ListHead(mm.machine)
    check_range(mm, mm.mmap[0].vm_start if mm.mmap else 0, TASK_SIZE, frozenset({source}),
                flags | MPOL_MF_DISCONTIG_OK, pagelist)
    err = 0
    if not list_empty(pagelist):
        err = migrate_pages(pagelist, get_new_page or new_node_page, dest, 0)
    return err


def node_remap(oldbit: int, old: frozenset[int], new: frozenset[int]) -> int:
    """bitmap_bitremap: the n-th node of ``old`` maps to the (n mod |new|)-th of ``new``."""
    if not new or oldbit not in old:
        return oldbit
    return sorted(new)[sorted(old).index(oldbit) % len(new)]


def do_migrate_pages(mm: MmStruct, from_nodes: frozenset[int], to_nodes: frozenset[int],
                     flags: int) -> int:
    """Move pages between node sets, one source node at a time, choosing an
    order that does not move a page twice where it can. Return: pages not
    migrated, or a negative errno."""
    from .migrate import migrate_prep, migrate_vmas
    from .rwsem import down_read, up_read

    busy = 0
    err = migrate_prep(mm.machine)
    if err:
        return err
    down_read(mm.mmap_sem)
    try:
        err = migrate_vmas(mm, from_nodes, to_nodes, flags)
        if err:
            return err if err < 0 else busy  # goto out
        tmp = set(from_nodes)
        while tmp:
            source, dest = -1, 0
            for s in sorted(tmp):
                d = node_remap(s, from_nodes, to_nodes)
                if s == d:
                    continue
                source, dest = s, d  # Node moved. Memorize
                if dest not in tmp:  # dest not in remaining from nodes?
                    break
            if source == -1:
                break
            tmp.discard(source)
            err = migrate_to_node(mm, source, dest, flags)
            if err > 0:
                busy += err
            if err < 0:
                break
    finally:
        up_read(mm.mmap_sem)
    return err if err < 0 else busy


def mbind_range(mm: MmStruct, start: int, end: int, new_pol: Mempolicy | None) -> int:
    """Apply the policy to [start, end), splitting VMAs at the edges."""
    from .mmap import find_vma, split_vma

    vma = find_vma(mm, start)
    if vma is None or vma.vm_start > start:
        return -errno.EFAULT
    while vma is not None and vma.vm_start < end:
        vmstart, vmend = max(start, vma.vm_start), min(end, vma.vm_end)
        if vma.vm_start != vmstart:
            err = split_vma(mm, vma, vmstart, True)
            if err:
                return err
        if vma.vm_end != vmend:
            err = split_vma(mm, vma, vmend, False)
            if err:
                return err
        err = policy_vma(vma, new_pol)
        if err:
            return err
        vma = find_vma(mm, vma.vm_end)
    return 0


def policy_vma(vma: VmAreaStruct, new: Mempolicy | None) -> int:
    err = 0
    if vma.vm_ops is not None and vma.vm_ops.set_policy is not None:
        err = vma.vm_ops.set_policy(vma, new)
    if not err:
        vma.vm_policy = mpol_dup(new)
    return err


def mbind_check_args(task: TaskStruct, start: int, length: int, mode: int,
                     flags: int) -> tuple[int, int, int]:
    """The argument checks that open do_mbind, alike in 2.6.35 and 6.1:
    (0 or a negative errno, the end of the page-aligned range, the flags with
    STRICT dropped for MPOL_DEFAULT). ``end == start``: nothing to do."""
    from .cred import CAP_SYS_NICE, capable

    if flags & ~(MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):  # MPOL_MF_VALID
        return -errno.EINVAL, start, flags
    if flags & MPOL_MF_MOVE_ALL and not capable(task, CAP_SYS_NICE):
        return -errno.EPERM, start, flags
    if start & (PAGE_SIZE - 1):
        return -errno.EINVAL, start, flags
    if mode == MPOL_DEFAULT:
        flags &= ~MPOL_MF_STRICT
    ulong = (1 << 64) - 1  # unsigned long arithmetic wraps
    length = ((length + PAGE_SIZE - 1) & ulong) & ~(PAGE_SIZE - 1)
    end = (start + length) & ulong
    if end < start:
        return -errno.EINVAL, start, flags
    return 0, end, flags


def do_mbind(task: TaskStruct, start: int, length: int, mode: int, mode_flags: int,
             nmask: frozenset[int], flags: int) -> int:
    """mbind(2)'s body: set a VMA-range policy, and with MPOL_MF_MOVE[_ALL]
    migrate the pages that violate it (even if applying the policy failed)."""
    from .list import ListHead, list_empty
    from .migrate import migrate_pages, migrate_prep, putback_lru_pages
    from .rwsem import down_write, up_write

    mm = task.mm
    assert mm is not None
    err, end, flags = mbind_check_args(task, start, length, mode, flags)
    if err or end == start:
        return err
    rc, new = mpol_new(mode, mode_flags, nmask)
    if rc:
        return rc
    # With the default policy, discontiguous address ranges are fine.
    if new is None:
        flags |= MPOL_MF_DISCONTIG_OK
    if flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):
        migrate_prep(mm.machine)
    down_write(mm.mmap_sem)
    try:
        err = mpol_set_nodemask(task, new, nmask)
        if err:
            return err
        pagelist = ListHead(mm.machine)
        vma = check_range(mm, start, end, nmask, flags | MPOL_MF_INVERT, pagelist)
        if isinstance(vma, int):
            putback_lru_pages(pagelist)
            return vma
        err = mbind_range(mm, start, end, new)
        nr_failed = 0
        if not list_empty(pagelist):
            nr_failed = migrate_pages(pagelist, new_vma_page, vma, 0)
        if not err and nr_failed and flags & MPOL_MF_STRICT:
            err = -errno.EIO
        return err
    finally:
        up_write(mm.mmap_sem)
