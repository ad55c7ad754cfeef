"""What Linux 6.1 does differently at the system-call level (profile "6.1").

The functions of 6.1's mm/migrate.c and mm/mempolicy.c that user space can
tell apart from 2.6.35's, under their 6.1 names and in their order of
steps (kernel-spec.md section 8.1): move_pages(2) walks the entries in runs
of one target node, flushing a run when the node changes or an entry is not
queued; a run that fails leaves its statuses unwritten and the call returns
the number of pages not migrated; permission is ptrace_may_access.
migrate_pages(2) intersects the new nodes with the caller's cpuset and skips
source nodes that are also targets when the masks differ in weight.
mbind(2) queues pages with walk_page_range (a hole at the head of the range
is -EFAULT before anything is queued), migrates only when the policy was
applied, and under MPOL_MF_STRICT reports pages it could not queue (-EIO).

The migration itself (migrate_pages, unmap_and_move and below) is the
model's 2.6.35 code with the switches of ``pagemig.profiles``; 6.1's THP and
hugetlb paths are not modelled (mapping a hugetlb page raises NotModelled).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from . import mempolicy, syscalls
from .cpuset import cpuset_mems_allowed
from .cred import CAP_SYS_NICE, CAP_SYS_PTRACE, SUID_DUMP_USER, capable
from .gfp import _GFP_THISNODE, GFP_HIGHUSER_MOVABLE
from .list import ListHead, list_add_tail, list_empty
from .memory import FOLL_DUMP, FOLL_GET, FollowPageError, follow_page, pte_read
from .mempolicy import MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, get_nodes, node_remap
from .migrate import migrate_pages
from .mm_inline import page_is_file_cache
from .mmap import (
    VM_EXEC,
    VM_IO,
    VM_PFNMAP,
    VM_READ,
    VM_WRITE,
    MmStruct,
    VmAreaStruct,
    find_vma,
    mmput,
    vma_index,
)
from .mmzone import MAX_NUMNODES, NodeState, ZoneStatItem
from .page import PAGE_SIZE, Page, PageAnon, page_mapcount, page_to_nid
from .page_alloc import alloc_pages_exact_node
from .pgtable import pte_none, pte_present
from .rmap import page_anon_vma, vma_address
from .rwsem import down_read, up_read
from .sched import TaskStruct, get_task_mm
from .security import security_task_movememory
from .swap import lru_cache_disable, lru_cache_enable, put_page
from .syscalls import CompatMoveArrays, UserMoveArrays, user_long_reader
from .vmscan import isolate_lru_page

if TYPE_CHECKING:
    from .rmap import AnonVma

__all__ = ["sys_mbind", "sys_migrate_pages", "sys_move_pages"]

NUMA_NO_NODE: Final = -1


# --- kernel/ptrace.c ----------------------------------------------------------------------------

def ptrace_may_access(current: TaskStruct, task: TaskStruct) -> bool:
    """__ptrace_may_access(task, PTRACE_MODE_READ_REALCREDS): same thread
    group; or the caller's real uid and gid equal all of the target's; or
    CAP_SYS_PTRACE. Then a target that is not dumpable needs CAP_SYS_PTRACE."""
    if task.tgid == current.tgid:
        return True
    cred, tcred = current.cred, task.cred
    if not (((cred.uid == tcred.euid == tcred.suid == tcred.uid)
            and (cred.gid == tcred.egid == tcred.sgid == tcred.gid))
            or capable(current, CAP_SYS_PTRACE)):
        return False
    mm = task.mm
    return not (mm is not None and mm.dumpable != SUID_DUMP_USER
                and not capable(current, CAP_SYS_PTRACE))


# --- mm/gup.c and include/linux/mempolicy.h ------------------------------------------------

def vma_lookup(mm: MmStruct, addr: int) -> VmAreaStruct | None:
    """The VMA that contains addr (find_vma also returns the next one above)."""
    vma = find_vma(mm, addr)
    return vma if vma is not None and vma.vm_start <= addr else None


def vma_migratable(vma: VmAreaStruct) -> bool:
    """6.1: VM_IO and VM_PFNMAP only (VM_RESERVED is gone, hugetlb migrates on
    x86-64), and file mappings restricted below the policy zone."""
    return not vma.vm_flags & (VM_IO | VM_PFNMAP) and not mempolicy.file_below_policy_zone(vma)


def follow_page_61(vma: VmAreaStruct, address: int, flags: int) -> Page | FollowPageError | None:
    """follow_page as 6.1 answers move_pages: with FOLL_DUMP, no pte in an
    anonymous VMA is -EFAULT (no_page_table); a PROT_NONE pte is no page."""
    mm = vma.vm_mm
    pte = pte_read(mm, address)
    if pte_none(pte):
        if flags & FOLL_DUMP and (vma.vm_ops is None or vma.vm_ops.fault is None):
            return FollowPageError(-errno.EFAULT)
        return None
    if pte_present(pte) and not vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC):
        return None  # pte_protnone: follow_page_pte goes to no_page
    return follow_page(vma, address, flags)


# --- mm/ksm.c: swap-in of a page that may once have been a KSM page ------------------------

def anon_vma_root(anon_vma: AnonVma) -> AnonVma:
    """anon_vma->root (3.0 on): the oldest anon_vma of its fork tree, the last
    of the chain of any VMA linked to it (the model keeps no root pointer)."""
    if not anon_vma.head:
        return anon_vma
    return anon_vma.head[0].vma.anon_vma_chain[-1].anon_vma


def ksm_might_need_to_copy(page: Page, vma: VmAreaStruct, address: int) -> Page | None:
    """The page do_swap_page maps: the swap-cache page itself, or a private
    copy when it is not a KSM page and its anon_vma is of another fork tree
    or its index is not this address's (PageKsm is lost on swap-out).

    Context: page locked, in the swap cache; may allocate.
    Return: ``page``; or a new page (locked, dirty, charged to the mm's memory
        cgroup, not on an LRU list: do_swap_page adds it with
        page_add_new_anon_rmap); or None when allocating or charging it fails
        (VM_FAULT_OOM). A page that is not up to date is returned as it is,
        for do_swap_page to report.
    Kernel: mm/ksm.c ksm_might_need_to_copy (6.1); KSM_RUN_UNMERGE,
        hardware poison and the ksm_swpin_copy event (the model's vm events
        are 2.6.35's) are not modelled.
    """
    from .highmem import copy_highpage
    from .ksm import linear_page_index, page_stable_node
    from .memcontrol import mem_cgroup_newpage_charge
    from .mempolicy import alloc_page_vma
    from .page import PageKsm, PageUptodate, SetPageDirty, _SetPageLocked, _SetPageUptodate
    from .rmap import page_anon_vma

    anon_vma = page_anon_vma(page)
    if PageKsm(page):
        if page_stable_node(page) is not None:
            return page  # no need to copy it
    elif anon_vma is None:
        return page  # no need to copy it
    elif (page.index == linear_page_index(vma, address) and vma.anon_vma is not None
          and anon_vma_root(anon_vma) is anon_vma_root(vma.anon_vma)):
        return page  # still no need to copy it
    if not PageUptodate(page):
        return page  # let do_swap_page report the error
    mm = vma.vm_mm
    new_page = alloc_page_vma(mm.machine, GFP_HIGHUSER_MOVABLE, vma, address)
    if new_page is not None and mem_cgroup_newpage_charge(new_page, mm):
        put_page(new_page)
        new_page = None
    if new_page is not None:
        copy_highpage(new_page, page)
        SetPageDirty(new_page)
        _SetPageUptodate(new_page)
        _SetPageLocked(new_page)
    return new_page


# --- mm/migrate.c: move_pages(2) ------------------------------------------------------------

def alloc_migration_target(page: Page, private: object, result: object) -> Page | None:
    """The target page on exactly ``private``'s node (GFP_HIGHUSER_MOVABLE |
    __GFP_THISNODE); 6.1 has no result pointer, so no status is written."""
    assert isinstance(private, int)
    return alloc_pages_exact_node(page.zone.machine, private,
                                  GFP_HIGHUSER_MOVABLE | _GFP_THISNODE, 0)


def store_status(user: UserMoveArrays, start: int, value: int, nr: int) -> int:
    for i in range(start, start + nr):
        if not user.put_status(i, value):
            return -errno.EFAULT
    return 0


def do_move_pages_to_node(mm: MmStruct, pagelist: ListHead, node: int) -> int:
    # migrate_pages puts back what it could not move (6.1's caller does it).
    return migrate_pages(pagelist, alloc_migration_target, node, 0)


def add_page_for_migration(mm: MmStruct, addr: int, node: int, pagelist: ListHead,
                           migrate_all: bool) -> int:
    """Look up, check and isolate one page. Returns an errno, 0 (already on
    the node) or 1 (queued)."""
    down_read(mm.mmap_sem)
    try:
        err = -errno.EFAULT
        vma = vma_lookup(mm, addr)
        if vma is None or not vma_migratable(vma):
            return err
        # FOLL_DUMP to ignore special (like zero) pages
        page = follow_page_61(vma, addr, FOLL_GET | FOLL_DUMP)
        if isinstance(page, FollowPageError):
            return page.errno
        if page is None:
            return -errno.ENOENT
        err = 0
        if page_to_nid(page) == node:
            return _put(page, err)
        err = -errno.EACCES
        if page_mapcount(page) > 1 and not migrate_all:
            return _put(page, err)
        err = isolate_lru_page(page)
        if err:
            return _put(page, err)
        err = 1
        list_add_tail(page, pagelist)
        page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON + page_is_file_cache(page)] += 1
        # Either remove the duplicate refcount from isolate_lru_page() or
        # drop the page ref if it was not isolated.
        return _put(page, err)
    finally:
        up_read(mm.mmap_sem)


def _put(page: Page, err: int) -> int:
    put_page(page)
    return err


def move_pages_and_store_status(mm: MmStruct, node: int, pagelist: ListHead,
                                user: UserMoveArrays, start: int, i: int, nr_pages: int) -> int:
    if list_empty(pagelist):
        return 0
    err = do_move_pages_to_node(mm, pagelist, node)
    if err:
        # A positive err counts the pages that failed; the call ends here and
        # also counts the entries not yet attempted.
        if err > 0:
            err += nr_pages - i
        return err
    return store_status(user, start, node, i - start)


def do_pages_move(mm: MmStruct, task_nodes: frozenset[int], nr_pages: int,
                  user: UserMoveArrays, flags: int) -> int:
    """Migrate an array of page addresses onto an array of nodes, in runs
    of consecutive entries for the same node."""
    lru_cache_disable(mm.machine)
    try:
        return _do_pages_move(mm, task_nodes, nr_pages, user, flags, ListHead(mm.machine))
    finally:
        lru_cache_enable(mm.machine)


def _do_pages_move(mm: MmStruct, task_nodes: frozenset[int], nr_pages: int,
                   user: UserMoveArrays, flags: int, pagelist: ListHead) -> int:
    machine = mm.machine
    current_node = NUMA_NO_NODE
    start = i = 0
    err = 0
    while i < nr_pages:
        err = -errno.EFAULT
        p = user.get_page_ptr(i)
        node = user.get_node(i) if p is not None else None
        if p is None or node is None:
            break  # out_flush
        err = -errno.ENODEV
        if node < 0 or node >= MAX_NUMNODES or not machine.node_state(node,
                                                                      NodeState.N_HIGH_MEMORY):
            break
        err = -errno.EACCES
        if node not in task_nodes:
            break
        if current_node == NUMA_NO_NODE:
            current_node, start = node, i
        elif node != current_node:
            err = move_pages_and_store_status(mm, current_node, pagelist, user, start, i,
                                              nr_pages)
            if err:
                return err
            start, current_node = i, node
        # Errors in the page lookup or isolation are not fatal: they go to status.
        err = add_page_for_migration(mm, p, current_node, pagelist,
                                     bool(flags & MPOL_MF_MOVE_ALL))
        if err > 0:
            i += 1
            continue  # queued
        # The move_pages() man page has no -EEXIST: use -EFAULT instead.
        if err == -errno.EEXIST:
            err = -errno.EFAULT
        # Already on the target node (0): store the node, otherwise the error.
        err = store_status(user, i, err or current_node, 1)
        if err:
            break
        err = move_pages_and_store_status(mm, current_node, pagelist, user, start, i, nr_pages)
        if err:
            return err - 1 if err > 0 else err  # we have accounted for page i
        current_node = NUMA_NO_NODE
        i += 1
    # out_flush: make sure we do not overwrite the existing error
    err1 = move_pages_and_store_status(mm, current_node, pagelist, user, start, i, nr_pages)
    return err1 if err >= 0 else err


def do_pages_stat_array(mm: MmStruct, pages: list[int]) -> list[int]:
    status = []
    down_read(mm.mmap_sem)
    try:
        for addr in pages:
            err = -errno.EFAULT
            vma = vma_lookup(mm, addr)
            if vma is not None:
                page = follow_page_61(vma, addr, FOLL_DUMP | FOLL_GET)
                if isinstance(page, FollowPageError):
                    err = page.errno
                elif page is None:
                    err = -errno.ENOENT
                else:
                    err = page_to_nid(page)
                    put_page(page)
            status.append(err)
    finally:
        up_read(mm.mmap_sem)
    return status


def do_pages_stat(mm: MmStruct, nr_pages: int, user: UserMoveArrays) -> int:
    """Chunks of 16 entries, as 2.6.35."""
    start = 0
    while nr_pages:
        chunk_nr = min(nr_pages, 16)
        chunk_pages = user.copy_page_ptrs(start, chunk_nr)
        if chunk_pages is None:
            break
        if not user.copy_statuses(start, do_pages_stat_array(mm, chunk_pages)):
            break
        start += chunk_nr
        nr_pages -= chunk_nr
    return -errno.EFAULT if nr_pages else 0


def find_mm_struct(current: TaskStruct, pid: int) -> tuple[MmStruct | int, frozenset[int]]:
    """The target's mm and cpuset nodes, or an errno. pid 0 needs no check."""
    if not pid:
        mm = get_task_mm(current)  # mmget
        assert mm is not None, "system calls come from user processes"
        return mm, cpuset_mems_allowed(current)
    machine = current.cpuset.machine
    task = machine.pid_table.find_task_by_vpid(pid)
    if task is None:
        return -errno.ESRCH, frozenset()
    if not ptrace_may_access(current, task):
        return -errno.EPERM, frozenset()
    err = security_task_movememory(machine, task)
    if err:
        return err, frozenset()
    mem_nodes = cpuset_mems_allowed(task)
    mm = get_task_mm(task)
    return (mm if mm is not None else -errno.EINVAL), mem_nodes


def sys_move_pages(current: TaskStruct, pid: int, nr_pages: int, pages: int, nodes: int,
                   status: int, flags: int) -> int:
    return kernel_move_pages(current, pid, nr_pages, pages, nodes, status, flags, compat=False)


def compat_sys_move_pages(current: TaskStruct, pid: int, nr_pages: int, pages: int, nodes: int,
                          status: int, flags: int) -> int:
    """COMPAT_SYSCALL_DEFINE6(move_pages): the same function; the 32-bit
    pointers are read one by one where they are used (in_compat_syscall)."""
    return kernel_move_pages(current, pid, nr_pages, pages, nodes, status, flags, compat=True)


def kernel_move_pages(current: TaskStruct, pid: int, nr_pages: int, pages: int, nodes: int,
                      status: int, flags: int, compat: bool) -> int:
    # Check flags
    if flags & ~(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):
        return -errno.EINVAL
    if flags & MPOL_MF_MOVE_ALL and not capable(current, CAP_SYS_NICE):
        return -errno.EPERM
    mm, task_nodes = find_mm_struct(current, pid)
    if isinstance(mm, int):
        return mm
    assert current.mm is not None
    user = (CompatMoveArrays if compat else UserMoveArrays)(current.mm, pages, nodes, status)
    try:
        if nodes:
            return do_pages_move(mm, task_nodes, nr_pages, user, flags)
        return do_pages_stat(mm, nr_pages, user)
    finally:
        mmput(mm)


# --- mm/mempolicy.c: migrate_pages(2) ----------------------------------------------------------

def migrate_to_node(mm: MmStruct, source: int, dest: int, flags: int) -> int:
    """Isolate every page of the mm on ``source`` and move it to exactly ``dest``."""
    return mempolicy.migrate_to_node(mm, source, dest, flags, alloc_migration_target)


def do_migrate_pages(mm: MmStruct, from_nodes: frozenset[int], to_nodes: frozenset[int],
                     flags: int) -> int:
    """As 2.6.35, but when the masks differ in weight a source node that is
    also a destination is skipped ([0-7] -> [3,4,5] moves only 0,1,2,6,7)."""
    busy = err = 0
    lru_cache_disable(mm.machine)
    down_read(mm.mmap_sem)
    try:
        tmp = set(from_nodes)
        while tmp:
            source, dest = NUMA_NO_NODE, 0
            for s in sorted(tmp):
                if len(from_nodes) != len(to_nodes) and s in to_nodes:
                    continue
                d = node_remap(s, from_nodes, to_nodes)
                if s == d:
                    continue
                source, dest = s, d  # Node moved. Memory migration needed
                if dest not in tmp:  # dest not in remaining from nodes?
                    break
            if source == NUMA_NO_NODE:
                break
            tmp.discard(source)
            err = migrate_to_node(mm, source, dest, flags)
            if err > 0:
                busy += err
            if err < 0:
                break
    finally:
        up_read(mm.mmap_sem)
        lru_cache_enable(mm.machine)
    return err if err < 0 else busy


def sys_migrate_pages(current: TaskStruct, pid: int, maxnode: int, old_nodes: int,
                      new_nodes: int) -> int:
    """kernel_migrate_pages."""
    assert current.mm is not None
    err, old = get_nodes(user_long_reader(current.mm, old_nodes), maxnode)
    if err:
        return err
    err, new = get_nodes(user_long_reader(current.mm, new_nodes), maxnode)
    if err:
        return err
    machine = current.cpuset.machine
    task = machine.pid_table.find_task_by_vpid(pid) if pid else current
    if task is None:
        return -errno.ESRCH
    if not ptrace_may_access(current, task):
        return -errno.EPERM
    # Is the user allowed to access the target nodes?
    if not new <= cpuset_mems_allowed(task) and not capable(current, CAP_SYS_NICE):
        return -errno.EPERM
    new = new & cpuset_mems_allowed(current)
    if not new:
        return -errno.EINVAL
    err = security_task_movememory(machine, task)
    if err:
        return err
    mm = get_task_mm(task)
    if mm is None:
        return -errno.EINVAL
    try:
        return do_migrate_pages(mm, old, new,
                                MPOL_MF_MOVE_ALL if capable(current, CAP_SYS_NICE)
                                else MPOL_MF_MOVE)
    finally:
        mmput(mm)


# --- mm/mempolicy.c: mbind(2) ---------------------------------------------------------------------

MPOL_MF_VALID: Final = mempolicy.MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL
_UNMOVABLE: Final = 1  # queue_pages_range: some misplaced pages could not be queued


def sys_mbind(current: TaskStruct, start: int, length: int, mode: int, nmask: int, maxnode: int,
              flags: int) -> int:
    """kernel_mbind: 2.6.35's argument checks, then 6.1's do_mbind."""
    return syscalls.sys_mbind(current, start, length, mode, nmask, maxnode, flags, do_mbind)


def do_mbind(task: TaskStruct, start: int, length: int, mode: int, mode_flags: int,
             nmask: frozenset[int], flags: int) -> int:
    """6.1's mbind body. Unlike 2.6.35 it migrates only when the policy was
    applied (mbind_range succeeded), finds a hole at the head of the range
    before queueing anything, and with MPOL_MF_STRICT also fails with -EIO
    when misplaced pages could not be queued (the others still move)."""
    from .mempolicy import MPOL_MF_DISCONTIG_OK, MPOL_MF_INVERT, MPOL_MF_STRICT
    from .migrate import putback_lru_pages
    from .rwsem import down_write, up_write

    mm = task.mm
    assert mm is not None
    err, end, flags = mempolicy.mbind_check_args(task, start, length, mode, flags)
    if err or end == start:
        return err
    rc, new = mempolicy.mpol_new(mode, mode_flags, nmask)
    if rc:
        return rc
    # With the default policy, discontiguous address ranges are fine.
    if new is None:
        flags |= MPOL_MF_DISCONTIG_OK
    moving = flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL)
    if moving:
        lru_cache_disable(mm.machine)
    down_write(mm.mmap_sem)
    try:
        err = mempolicy.mpol_set_nodemask(task, new, nmask)
        if err:
            return err
        pagelist = ListHead(mm.machine)
        ret = queue_pages_range(mm, start, end, nmask, flags | MPOL_MF_INVERT, pagelist)
        err = ret if ret < 0 else mempolicy.mbind_range(mm, start, end, new)
        if err:
            putback_lru_pages(pagelist)  # up_out: nothing migrates
            return err
        nr_failed = 0
        if not list_empty(pagelist):
            nr_failed = migrate_pages(pagelist, new_page, start, 0)
        if ret > 0 or (nr_failed and flags & MPOL_MF_STRICT):
            return -errno.EIO
        return 0
    finally:
        up_write(mm.mmap_sem)
        if moving:
            lru_cache_enable(mm.machine)


def new_page(page: Page, private: object, result: object) -> Page | None:
    """mbind(2)'s allocator: the policy of the first VMA from ``start`` (the
    private argument) in which ``page`` has an address.

    Return: the new page, or None. Kernel: mm/mempolicy.c new_page (6.1).
    """
    assert isinstance(private, int)
    machine = page.zone.machine
    task = machine.current
    assert task is not None and task.mm is not None
    mm = task.mm
    address = 0
    found = None
    first = find_vma(mm, private)
    for vma in (mm.mmap[vma_index(mm, first):] if first is not None else []):  # for_each_vma
        address = page_address_in_vma(page, vma)
        if address != -errno.EFAULT:
            found = vma
            break
    if found is None:
        # vma_alloc_folio() then uses the task or system default policy.
        return mempolicy.alloc_pages_current(machine, GFP_HIGHUSER_MOVABLE)
    return mempolicy.alloc_page_vma(machine, GFP_HIGHUSER_MOVABLE, found, address)


def page_address_in_vma(page: Page, vma: VmAreaStruct) -> int:
    """At what user virtual address is ``page`` expected in ``vma``? An
    anonymous page only if the VMA's anon_vma has the page's anon_vma root.

    Return: the address, or -EFAULT. Kernel: mm/rmap.c (6.1).
    """
    if PageAnon(page):
        page_anon = page_anon_vma(page)
        # swapoff's unuse_vma() needs this to match anon_vma when KSM is active.
        if vma.anon_vma is None or page_anon is None or vma.anon_vma.root is not page_anon.root:
            return -errno.EFAULT
    elif vma.vm_file is None or vma.vm_file.f_mapping is not page.mapping:  # type: ignore[attr-defined]
        return -errno.EFAULT
    return vma_address(page, vma)


def queue_pages_range(mm: MmStruct, start: int, end: int, nodes: frozenset[int], flags: int,
                      pagelist: ListHead) -> int:
    """walk_page_range with queue_pages_test_walk and queue_pages_pte_range:
    0; 1 when, with a move flag and MPOL_MF_STRICT, misplaced pages could not
    be queued (the walk stops after that pmd); -EIO when MPOL_MF_STRICT alone
    meets a misplaced page; -EFAULT for a hole (unless MPOL_MF_DISCONTIG_OK),
    including one at the head of the range or a range entirely in a hole."""
    from .mempolicy import MPOL_MF_DISCONTIG_OK, MPOL_MF_STRICT

    first: VmAreaStruct | None = None
    vma = find_vma(mm, start)
    while vma is not None and vma.vm_start < end:
        # queue_pages_test_walk
        if first is None:
            first = vma
            if not flags & MPOL_MF_DISCONTIG_OK and start < vma.vm_start:
                return -errno.EFAULT  # hole at head side of range
        nxt = find_vma(mm, vma.vm_end)
        if not flags & MPOL_MF_DISCONTIG_OK and vma.vm_end < end and (
                nxt is None or vma.vm_end < nxt.vm_start):
            return -errno.EFAULT  # hole at middle or tail of range
        if (vma_migratable(vma) or flags & MPOL_MF_STRICT) and flags & MPOL_MF_VALID:
            ret = _queue_pages_vma(vma, max(start, vma.vm_start), min(end, vma.vm_end), nodes,
                                   flags, pagelist)
            if ret:
                return ret
        vma = nxt
    return 0 if first is not None else -errno.EFAULT  # whole range in hole


def _queue_pages_vma(vma: VmAreaStruct, addr: int, end: int, nodes: frozenset[int], flags: int,
                     pagelist: ListHead) -> int:
    """walk_pmd_range: queue_pages_pte_range once per pmd, stopping at the
    first that returns non-zero."""
    from .pgtable import PMD_SIZE

    while addr < end:
        next_pmd = min((addr & ~(PMD_SIZE - 1)) + PMD_SIZE, end)
        ret = queue_pages_pte_range(vma, addr, next_pmd, nodes, flags, pagelist)
        if ret:
            return ret
        addr = next_pmd
    return 0


def queue_pages_pte_range(vma: VmAreaStruct, addr: int, end: int, nodes: frozenset[int],
                          flags: int, pagelist: ListHead) -> int:
    """Queue the misplaced pages of one pmd's ptes: 1 if some could not be
    (an unmovable VMA under STRICT, or an isolation failure under STRICT),
    -EIO if STRICT without a move flag met one, else 0."""
    from .memory import vm_normal_page
    from .mempolicy import MPOL_MF_INVERT
    from .page import PageReserved

    mm = vma.vm_mm
    has_unmovable = False
    while addr < end:
        pte = pte_read(mm, addr)
        if pte_present(pte):
            page = vm_normal_page(vma, addr, pte)
            # vm_normal_page filters the zero page; reserved pages (vDSO) are skipped too.
            if page is not None and not PageReserved(page) \
                    and (page_to_nid(page) in nodes) != bool(flags & MPOL_MF_INVERT):
                if not flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL):
                    break
                # MPOL_MF_STRICT must be specified if we get here.
                if not vma_migratable(vma):
                    has_unmovable = True
                    break
                # Do not abort at once: other LRU pages of the range still migrate.
                if migrate_page_add(page, pagelist, flags):
                    has_unmovable = True
        addr += PAGE_SIZE
    if has_unmovable:
        return _UNMOVABLE
    return -errno.EIO if addr != end else 0


def migrate_page_add(page: Page, pagelist: ListHead, flags: int) -> int:
    """6.1: a shared page is still skipped under plain MOVE, but a page that
    cannot be isolated is -EIO with MPOL_MF_STRICT."""
    from .mempolicy import MPOL_MF_STRICT

    if flags & MPOL_MF_MOVE_ALL or page_mapcount(page) == 1:  # avoid pages shared with others
        if isolate_lru_page(page) == 0:
            list_add_tail(page, pagelist)
            page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON + page_is_file_cache(page)] += 1
        elif flags & MPOL_MF_STRICT:
            return -errno.EIO
    return 0
