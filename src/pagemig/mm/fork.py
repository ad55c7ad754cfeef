"""Model of kernel/fork.c and kernel/exit.c for what memory needs: fork
copies the address space copy-on-write; exit releases it."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .cpuset import cpuset_mems_allowed
from .hugetlb import reset_vma_resv_huge_pages
from .memcontrol import mem_cgroup_attach
from .memory import copy_page_range
from .mempolicy import mpol_dup
from .mmap import VM_DONTCOPY, VM_HUGETLB, VM_LOCKED, MmStruct, VmAreaStruct, mmput, vma_link
from .rmap import anon_vma_fork
from .rwsem import down_write, up_write
from .sched import PF_EXITING, TaskStruct

if TYPE_CHECKING:
    from ..machine import Machine


def dup_mmap(mm: MmStruct, oldmm: MmStruct) -> int:
    """Copy every VMA (not VM_DONTCOPY) and its ptes; the child does not
    inherit mlock."""
    down_write(oldmm.mmap_sem)
    try:
        mm.mmap_base = mm.free_area_cache = oldmm.mmap_base
        mm.total_vm = oldmm.total_vm
        for mpnt in list(oldmm.mmap):
            if mpnt.vm_flags & VM_DONTCOPY:
                mm.total_vm -= (mpnt.vm_end - mpnt.vm_start) >> 12
                continue
            tmp = VmAreaStruct(mm, mpnt.vm_start, mpnt.vm_end, mpnt.vm_flags & ~VM_LOCKED,
                               mpnt.vm_pgoff, mpnt.vm_file, mpnt.vm_ops)
            tmp.vm_page_prot = mpnt.vm_page_prot
            tmp.vm_policy = mpol_dup(mpnt.vm_policy)
            tmp.vm_private_data = mpnt.vm_private_data
            anon_vma_fork(tmp, mpnt)
            if tmp.vm_flags & VM_HUGETLB:
                reset_vma_resv_huge_pages(tmp)
            if tmp.vm_ops is not None and tmp.vm_ops.open is not None:
                tmp.vm_ops.open(tmp)
            vma_link(mm, tmp)
            retval = copy_page_range(mm, oldmm, mpnt)
            if retval:
                return retval
    finally:
        up_write(oldmm.mmap_sem)
    return 0


def do_fork(machine: Machine, parent: TaskStruct) -> TaskStruct | int:
    """Create a child: same credentials, cpuset, memory policy and CPU; a
    copy-on-write copy of the parent's address space."""
    mm = None
    if parent.mm is not None:
        mm = MmStruct(machine)
        mm.dumpable = parent.mm.dumpable
        rc = dup_mmap(mm, parent.mm)
        if rc:
            mmput(mm)
            return rc
    try:
        child = machine._new_task(parent.comm, parent.cred, mm, parent.cpu, parent)
    except OSError:
        # alloc_pid failed: bad_fork_cleanup_mm frees the copied address space.
        if mm is not None:
            mmput(mm)
        return -errno.ENOMEM
    child.mempolicy = mpol_dup(parent.mempolicy)
    child.il_next = parent.il_next
    child.ia32, child.user_sp = parent.ia32, parent.user_sp  # copy_thread
    child.mems_allowed = cpuset_mems_allowed(child)
    memcg = machine.memcg.task_memcg.get(parent.pid)
    if memcg is not None:

        mem_cgroup_attach(machine, child.pid, memcg)
    return child


def do_exit(machine: Machine, task: TaskStruct) -> None:
    """Release the task's memory and its pid."""
    task.flags |= PF_EXITING
    mm = task.mm
    task.mm = None
    if mm is not None:
        mmput(mm)
    machine.pid_table.detach(task)
    memcg = machine.memcg.task_memcg.pop(task.pid, None)
    if memcg is not None:
        memcg.tasks.discard(task.pid)
