"""The Pythonic face of a simulated process: ``Machine.spawn()`` returns one.

Each method does what the corresponding system call or CPU access does in the
kernel model, with the calling task made ``current`` on its CPU. Kernel
errors come back as ``OSError`` with the kernel's errno; bad Python arguments
raise ``TypeError``/``ValueError`` before anything reaches the model.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from .mm.fault import user_access
from .mm.highmem import kmap, page_bytes
from .mm.mmap import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_LOCKED,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_READ,
    PROT_WRITE,
    VM_MERGEABLE,
    do_mmap_pgoff,
    do_mremap,
    do_munmap,
    find_vma,
    sys_mprotect,
)
from .mm.page import PAGE_SIZE, page_to_nid
from .mm.rwsem import down_write, up_write

if TYPE_CHECKING:
    from .machine import Machine
    from .mm.fs import Inode
    from .mm.mmap import MmStruct
    from .mm.sched import TaskStruct


def _check_int(value: object, name: str, minimum: int | None = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def kernel_error(rc: int, what: str) -> OSError:
    """The one conversion from a kernel errno to a Python exception."""
    return OSError(-rc, f"{what}: {os.strerror(-rc)}")


class Process:
    """A simulated user process (a task with an mm)."""

    def __init__(self, machine: Machine, task: TaskStruct) -> None:
        self.machine = machine
        self.task = task

    def __repr__(self) -> str:
        return f"<Process pid={self.pid} uid={self.task.cred.uid} cpu={self.task.cpu}>"

    @property
    def pid(self) -> int:
        return self.task.pid

    @property
    def mm(self) -> MmStruct:
        if self.task.mm is None:
            raise ProcessLookupError(errno.ESRCH, f"process {self.pid} has exited")
        return self.task.mm

    @property
    def alive(self) -> bool:
        return self.task.pid in self.machine.pid_table.tasks

    @contextmanager
    def running(self) -> Iterator[TaskStruct]:
        """Make this task ``current`` on its CPU for the duration of a call."""
        machine = self.machine
        if not self.alive:
            raise ProcessLookupError(errno.ESRCH, f"process {self.pid} has exited")
        saved = machine.current, machine.current_cpu
        machine.current, machine.current_cpu = self.task, self.task.cpu
        try:
            yield self.task
        finally:
            machine.current, machine.current_cpu = saved

    # --- address space ------------------------------------------------------------------

    def mmap(self, length: int, prot: int = PROT_READ | PROT_WRITE, *, file: Inode | None = None,
             shared: bool = False, offset: int = 0, addr: int = 0, fixed: bool = False,
             populate: bool = False, locked: bool = False) -> int:
        """mmap(2): anonymous private by default; ``file=`` maps a file,
        ``shared=True`` a MAP_SHARED mapping (anonymous shared = shmem)."""
        length = _check_int(length, "length")
        offset = _check_int(offset, "offset")
        if offset % PAGE_SIZE:
            raise ValueError(f"offset must be a multiple of the page size, got {offset}")
        flags = (MAP_SHARED if shared else MAP_PRIVATE) | (MAP_ANONYMOUS if file is None else 0)
        flags |= (MAP_FIXED if fixed else 0) | (MAP_POPULATE if populate else 0)
        flags |= MAP_LOCKED if locked else 0
        with self.running():
            mm = self.mm
            down_write(mm.mmap_sem)
            try:
                rc = do_mmap_pgoff(mm, file, _check_int(addr, "addr"), length, prot, flags,
                                   offset // PAGE_SIZE)
            finally:
                up_write(mm.mmap_sem)
        if rc < 0:
            raise kernel_error(rc, "mmap")
        return rc

    def munmap(self, addr: int, length: int) -> None:
        with self.running():
            rc = self._locked_write(do_munmap, _check_int(addr, "addr"), _check_int(length, "length"))
        if rc:
            raise kernel_error(rc, "munmap")

    def mprotect(self, addr: int, length: int, prot: int) -> None:
        with self.running():
            rc = self._locked_write(sys_mprotect, _check_int(addr, "addr"),
                                    _check_int(length, "length"), _check_int(prot, "prot"))
        if rc:
            raise kernel_error(rc, "mprotect")

    def mremap(self, addr: int, old_length: int, new_length: int, may_move: bool = True,
               new_addr: int | None = None) -> int:
        from .mm.mmap import MREMAP_FIXED, MREMAP_MAYMOVE

        flags = (MREMAP_MAYMOVE if may_move else 0) | (MREMAP_FIXED if new_addr is not None else 0)
        with self.running():
            rc = self._locked_write(do_mremap, _check_int(addr, "addr"),
                                    _check_int(old_length, "old_length"),
                                    _check_int(new_length, "new_length"), flags, new_addr or 0)
        if rc < 0:
            raise kernel_error(rc, "mremap")
        return rc

    def _locked_write(self, fn: Callable[..., int], *args: object) -> int:
        mm = self.mm
        down_write(mm.mmap_sem)
        try:
            return fn(mm, *args)
        finally:
            up_write(mm.mmap_sem)

    def mlock(self, addr: int, length: int) -> None:
        from .mm.mlock import do_mlock

        with self.running():
            rc = self._locked_write(do_mlock, _check_int(addr, "addr"), _check_int(length, "length"),
                                    True)
        if rc:
            raise kernel_error(rc, "mlock")

    def munlock(self, addr: int, length: int) -> None:
        from .mm.mlock import do_mlock

        with self.running():
            rc = self._locked_write(do_mlock, _check_int(addr, "addr"), _check_int(length, "length"),
                                    False)
        if rc:
            raise kernel_error(rc, "munlock")

    def madvise_mergeable(self, addr: int, length: int) -> None:
        """madvise(MADV_MERGEABLE): let KSM merge these pages."""
        with self.running():
            mm = self.mm
            for vma in list(mm.mmap):
                if vma.vm_start < addr + length and addr < vma.vm_end:
                    vma.vm_flags |= VM_MERGEABLE

    # --- data -------------------------------------------------------------------------------

    def _pieces(self, addr: int, n: int) -> Iterator[tuple[int, int, int]]:
        while n > 0:
            off = addr % PAGE_SIZE
            take = min(n, PAGE_SIZE - off)
            yield addr - off, off, take
            addr += take
            n -= take

    def read(self, addr: int, n: int) -> bytes:
        """Read user memory as the process would (faulting pages in)."""
        addr, n = _check_int(addr, "addr"), _check_int(n, "n")
        out = bytearray()
        with self.running():
            for page_addr, off, take in self._pieces(addr, n):
                page = user_access(self.mm, page_addr, write=False)
                out += page_bytes(page)[off:off + take].tobytes()
        return bytes(out)

    def write(self, addr: int, data: bytes) -> None:
        """Write user memory as the process would (faults, COW, dirty bits)."""
        addr = _check_int(addr, "addr")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, not {type(data).__name__}")
        view = memoryview(bytes(data))
        done = 0
        with self.running():
            for page_addr, off, take in self._pieces(addr, len(view)):
                page = user_access(self.mm, page_addr, write=True)
                kmap(page)[off:off + take] = np.frombuffer(view[done:done + take], dtype=np.uint8)
                done += take

    def touch(self, addr: int, write: bool = True) -> None:
        """Access one byte at addr (a write fault by default)."""
        with self.running():
            user_access(self.mm, _check_int(addr, "addr"), write=write)

    def node_of(self, addr: int) -> int | None:
        """The node of the page mapped at addr now, or None (not present)."""
        from .mm.memory import FollowPageError, follow_page

        vma = find_vma(self.mm, addr)
        if vma is None or vma.vm_start > addr:
            return None
        page = follow_page(vma, addr, 0)
        if page is None or isinstance(page, FollowPageError):
            return None
        return page_to_nid(page)

    # --- credentials and lifetime ------------------------------------------------------------

    def setuid(self, uid: int) -> None:
        from .mm.cred import sys_setuid

        rc = sys_setuid(self.task, _check_int(uid, "uid"))
        if rc:
            raise kernel_error(rc, "setuid")

    def seteuid(self, euid: int) -> None:
        from .mm.cred import sys_seteuid

        rc = sys_seteuid(self.task, _check_int(euid, "euid"))
        if rc:
            raise kernel_error(rc, "seteuid")

    def setresuid(self, ruid: int, euid: int, suid: int) -> None:
        from .mm.cred import sys_setresuid

        rc = sys_setresuid(self.task, _check_int(ruid, "ruid", -1), _check_int(euid, "euid", -1),
                           _check_int(suid, "suid", -1))
        if rc:
            raise kernel_error(rc, "setresuid")

    def fork(self) -> Process:
        """fork(2): a child with a copy-on-write copy of the address space."""
        from .mm.fork import do_fork

        with self.running():
            child = do_fork(self.machine, self.task)
        if isinstance(child, int):
            raise kernel_error(child, "fork")
        return Process(self.machine, child)

    def exit(self) -> None:
        """exit(2): the address space goes away, every page is released."""
        from .mm.fork import do_exit

        with self.running():
            do_exit(self.machine, self.task)

    # --- memory policy -------------------------------------------------------------------------

    def set_mempolicy(self, mode: int, nodes: list[int] | tuple[int, ...] = (),
                      maxnode: int | None = None) -> None:
        from .mm.mempolicy import sys_set_mempolicy_nodes

        words, maxnode = _mask(nodes, maxnode)
        with self.running() as task:
            rc = sys_set_mempolicy_nodes(task, _check_int(mode, "mode", None),
                                         (lambda k: words[k] if k < len(words) else 0)
                                         if nodes or maxnode > 1 else None, maxnode)
        if rc:
            raise kernel_error(rc, "set_mempolicy")

    def get_mempolicy(self, addr: int = 0, flags: int = 0) -> tuple[int, frozenset[int]]:
        from .mm.mempolicy import do_get_mempolicy

        with self.running() as task:
            rc, value, nodes = do_get_mempolicy(task, _check_int(addr, "addr"),
                                                _check_int(flags, "flags"))
        if rc:
            raise kernel_error(rc, "get_mempolicy")
        return value, nodes


def _mask(nodes: list[int] | tuple[int, ...], maxnode: int | None) -> tuple[list[int], int]:
    from .mm.mempolicy import nodes_to_longs
    from .mm.mmzone import MAX_NUMNODES

    node_list = [_check_int(n, "node") for n in nodes]
    if maxnode is None:
        maxnode = MAX_NUMNODES + 1
    maxnode = _check_int(maxnode, "maxnode")
    nbits = max([maxnode - 1, 64] + [n + 1 for n in node_list])
    return nodes_to_longs(node_list, nbits), maxnode
