"""The user/kernel boundary: system calls that take user addresses.

Each ``sys_*`` here takes what the kernel takes: pointers into the calling
process's memory, read and written with get_user/put_user/copy_*_user
through its page tables, so a bad pointer gives -EFAULT exactly where the
kernel gives it. The bodies are the kernel's (migrate.c, mempolicy.c).
"""

from __future__ import annotations

import errno
from collections.abc import Callable

from .cpuset import cpuset_mems_allowed
from .cred import CAP_SYS_NICE, capable, may_move_memory_of
from .mempolicy import (
    MPOL_F_RELATIVE_NODES,
    MPOL_F_STATIC_NODES,
    MPOL_MAX,
    MPOL_MF_MOVE,
    MPOL_MF_MOVE_ALL,
    MPOL_MODE_FLAGS,
    ReadLong,
    copy_nodes_to_user,
    do_get_mempolicy,
    do_mbind,
    do_migrate_pages,
    get_nodes,
    sys_set_mempolicy_nodes,
)
from .migrate import sys_move_pages as _sys_move_pages
from .mmap import TASK_SIZE_MAX, MmStruct, mmput
from .mmzone import MAX_NUMNODES
from .sched import TaskStruct, get_task_mm
from .security import security_task_movememory
from .uaccess import copy_from_user, copy_to_user, get_user, put_user


def _mm(task: TaskStruct) -> MmStruct:
    assert task.mm is not None, "system calls come from user processes"
    return task.mm


class UserMoveArrays:
    """move_pages(2)'s pages/nodes/status arrays in the caller's memory."""

    def __init__(self, mm: MmStruct, pages: int, nodes: int, status: int) -> None:
        self.mm, self.pages, self.nodes, self.status = mm, pages, nodes, status

    def get_page_ptr(self, i: int) -> int | None:
        return get_user(self.mm, self.pages + 8 * i, 8)

    def get_node(self, i: int) -> int | None:
        return get_user(self.mm, self.nodes + 4 * i, 4, signed=True)

    def put_status(self, i: int, value: int) -> bool:
        return put_user(self.mm, self.status + 4 * i, 4, value)

    def copy_page_ptrs(self, start: int, n: int) -> list[int] | None:
        raw, left = copy_from_user(self.mm, self.pages + 8 * start, 8 * n)
        if left:
            return None
        return [int.from_bytes(raw[k:k + 8], "little") for k in range(0, len(raw), 8)]

    def copy_statuses(self, start: int, values: list[int]) -> bool:
        data = b"".join(v.to_bytes(4, "little", signed=True) for v in values)
        return copy_to_user(self.mm, self.status + 4 * start, data) == 0


def sys_move_pages(current: TaskStruct, pid: int, nr_pages: int, pages: int, nodes: int,
                   status: int, flags: int) -> int:
    """move_pages(2) with user pointers (``nodes == 0`` is NULL: query mode)."""
    user = UserMoveArrays(_mm(current), pages, nodes, status)
    return _sys_move_pages(current, pid, nr_pages, user, nodes != 0, flags)


def compat_alloc_user_space(current: TaskStruct, length: int) -> int:
    """Scratch memory below a 32-bit task's stack pointer (IA32 has no red
    zone), 16-byte aligned; NULL (0) when access_ok refuses it (the length
    reaches below address 0)."""
    ptr = (current.user_sp - length) & ~15  # round_down(sp - len, 16)
    if ptr < 0 or ptr + length > TASK_SIZE_MAX:
        return 0
    return ptr


def compat_sys_move_pages(current: TaskStruct, pid: int, nr_pages: int, pages32: int, nodes: int,
                          status: int, flags: int) -> int:
    """kernel/compat.c: copy the 32-bit pointer array to a 64-bit one below
    the stack, then move_pages(2). A fault copying it is -EFAULT before any of
    sys_move_pages's checks (quirk 12)."""
    mm = _mm(current)
    pages = compat_alloc_user_space(current, nr_pages * 8)
    for i in range(nr_pages):
        p = get_user(mm, pages32 + 4 * i, 4)
        if p is None or not put_user(mm, pages + 8 * i, 8, p):  # compat_ptr: zero-extended
            return -errno.EFAULT
    return sys_move_pages(current, pid, nr_pages, pages, nodes, status, flags)


class CompatMoveArrays(UserMoveArrays):
    """6.1's in_compat_syscall() reads: the pages array holds 32-bit pointers."""

    def get_page_ptr(self, i: int) -> int | None:
        return get_user(self.mm, self.pages + 4 * i, 4)

    def copy_page_ptrs(self, start: int, n: int) -> list[int] | None:
        """get_compat_pages_array: the chunk's pointers, or None on a fault."""
        raw, left = copy_from_user(self.mm, self.pages + 4 * start, 4 * n)
        if left:
            return None
        return [int.from_bytes(raw[k:k + 4], "little") for k in range(0, len(raw), 4)]


def user_long_reader(mm: MmStruct, ptr: int) -> ReadLong | None:
    """A reader of a user array of unsigned longs (None for a NULL pointer)."""
    if ptr == 0:
        return None
    return lambda k: get_user(mm, ptr + 8 * k, 8)


def sys_migrate_pages(current: TaskStruct, pid: int, maxnode: int, old_nodes: int,
                      new_nodes: int) -> int:
    """migrate_pages(2): move a process's pages from one node set to another."""
    mm_cur = _mm(current)
    err, old = get_nodes(user_long_reader(mm_cur, old_nodes), maxnode)
    if err:
        return err
    err, new = get_nodes(user_long_reader(mm_cur, new_nodes), maxnode)
    if err:
        return err
    machine = current.cpuset.machine
    task = machine.pid_table.find_task_by_vpid(pid) if pid else current
    if task is None:
        return -errno.ESRCH
    mm = get_task_mm(task)
    if mm is None:
        return -errno.EINVAL
    try:
        if not may_move_memory_of(current, task):
            return -errno.EPERM
        task_nodes = cpuset_mems_allowed(task)
        # Is the user allowed to access the target nodes?
        if not new <= task_nodes and not capable(current, CAP_SYS_NICE):
            return -errno.EPERM
        if not new <= frozenset(machine.nodes_with_memory()):
            return -errno.EINVAL
        err = security_task_movememory(machine, task)
        if err:
            return err
        return do_migrate_pages(mm, old, new,
                                MPOL_MF_MOVE_ALL if capable(current, CAP_SYS_NICE) else MPOL_MF_MOVE)
    finally:
        mmput(mm)


DoMbind = Callable[["TaskStruct", int, int, int, int, frozenset[int], int], int]


def sys_mbind(current: TaskStruct, start: int, length: int, mode: int, nmask: int, maxnode: int,
              flags: int, do_mbind: DoMbind = do_mbind) -> int:
    """mbind(2) with user pointers; ``do_mbind`` is the profile's body."""
    mode_flags = mode & MPOL_MODE_FLAGS
    mode &= ~MPOL_MODE_FLAGS
    if not 0 <= mode < MPOL_MAX:
        return -errno.EINVAL
    if mode_flags & MPOL_F_STATIC_NODES and mode_flags & MPOL_F_RELATIVE_NODES:
        return -errno.EINVAL
    err, nodes = get_nodes(user_long_reader(_mm(current), nmask), maxnode)
    if err:
        return err
    return do_mbind(current, start, length, mode, mode_flags, nodes, flags)


def sys_set_mempolicy(current: TaskStruct, mode: int, nmask: int, maxnode: int) -> int:
    return sys_set_mempolicy_nodes(current, mode, user_long_reader(_mm(current), nmask), maxnode)


def sys_get_mempolicy(current: TaskStruct, policy: int, nmask: int, maxnode: int, addr: int,
                      flags: int) -> int:
    if nmask != 0 and maxnode < MAX_NUMNODES:
        return -errno.EINVAL
    err, pval, nodes = do_get_mempolicy(current, addr, flags)
    if err:
        return err
    mm = _mm(current)
    if policy != 0 and not put_user(mm, policy, 4, pval):
        return -errno.EFAULT
    if nmask != 0:
        return copy_nodes_to_user(lambda off, data: copy_to_user(mm, nmask + off, data) == 0,
                                  maxnode, nodes)
    return 0
