"""The Pythonic face of a simulated process: ``Machine.spawn()`` returns one.

Each method does what the corresponding system call or CPU access does in the
kernel model, with the calling task made ``current`` on its CPU. Kernel
errors come back as ``OSError`` with the kernel's errno; bad Python arguments
raise ``TypeError``/``ValueError`` before anything reaches the model.

While a call is in the kernel model, Python's cyclic garbage collector is
paused (``gc.disable()``) and then restored as it was: the kernel has no
garbage collector, and the model's per-page allocations would otherwise run
generation scans over the many long-lived ``Page`` objects in the middle of a
migration. Nothing is kept from collection: whatever became garbage during the
call is collected by the collector's next run after it.
"""

from __future__ import annotations

import errno
import gc
import os
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from .argcheck import (
    IntSequence,
    address_arg,
    get_mempolicy_args,
    int_at_least,
    mbind_args,
    mempolicy_args,
    move_pages_args,
    pid_arg,
    required_nodes,
)
from .mm.fault import user_access
from .mm.highmem import kmap, page_bytes
from .mm.ksm import ksm_madvise_mergeable
from .mm.mmap import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_HUGETLB,
    MAP_LOCKED,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    VM_IO,
    VM_PFNMAP,
    VM_RESERVED,
    do_mremap,
    do_munmap,
    find_vma,
    sys_mmap_pgoff,
    sys_mprotect,
)
from .mm.page import PAGE_SIZE, page_to_nid
from .mm.rwsem import down_write, up_write
from .units import excerpt

UID_MAX = 2**32 - 2  # uid_t is 32-bit and (uid_t)-1 means "unchanged"

if TYPE_CHECKING:
    from .machine import Machine
    from .mm.account import Attempt
    from .mm.fs import Inode
    from .mm.mmap import MmStruct
    from .mm.sched import TaskStruct
    from .real.procfs import NumaMapsEntry
    from .results import MovePagesResult


def _check_int(value: object, name: str, minimum: int | None = 0, maximum: int | None = None) -> int:
    """An int argument of a call outside the placement protocol (mmap, setuid, ...)."""
    number = int_at_least(name, value, minimum)
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {excerpt(number)}")
    return number


def kernel_error(rc: int, what: str, why: str = "") -> OSError:
    """The one conversion from a kernel errno to a Python exception; ``why``
    names the argument the kernel refused, when the caller can tell."""
    return OSError(-rc, f"{what}: {os.strerror(-rc)}" + (f" ({why})" if why else ""))


class _CollectorPause:
    """Pauses the cyclic garbage collector while any task is in the kernel
    model (calls nest, and simulated tasks of a scheduler run in threads), and
    re-enables it after the outermost call if it was enabled before that."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.paused = False

    def enter(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.paused = gc.isenabled()
                if self.paused:
                    gc.disable()
            self.depth += 1

    def exit(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.paused:
                self.paused = False
                gc.enable()


_collector_pause = _CollectorPause()


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
        """This very task still exists (its pid may since name another task)."""
        return self.machine.pid_table.tasks.get(self.task.pid) is self.task

    @contextmanager
    def running(self) -> Iterator[TaskStruct]:
        """Make this task ``current`` on its CPU for the duration of a call
        (with the garbage collector paused: see the module's docstring)."""
        machine = self.machine
        if not self.alive:
            raise ProcessLookupError(errno.ESRCH, f"process {self.pid} has exited")
        saved = machine.current, machine.current_cpu
        machine.current, machine.current_cpu = self.task, self.task.cpu
        _collector_pause.enter()
        try:
            yield self.task
        finally:
            _collector_pause.exit()
            machine.current, machine.current_cpu = saved

    # --- address space ------------------------------------------------------------------

    def mmap(self, length: int, prot: int = PROT_READ | PROT_WRITE, *, file: Inode | None = None,
             shared: bool = False, offset: int = 0, addr: int = 0, fixed: bool = False,
             populate: bool = False, locked: bool = False, hugetlb: bool = False) -> int:
        """mmap(2): anonymous private by default; ``file=`` maps a file,
        ``shared=True`` a MAP_SHARED mapping (anonymous shared = shmem),
        ``hugetlb=True`` an anonymous MAP_HUGETLB one (2 MiB pages from the
        machine's pool, see ``Machine(hugepages=...)``)."""
        length = _check_int(length, "length")
        offset = _check_int(offset, "offset")
        if offset % PAGE_SIZE:  # sys_mmap: the offset must be page aligned
            raise kernel_error(-errno.EINVAL, "mmap")
        flags = (MAP_SHARED if shared else MAP_PRIVATE) | (MAP_ANONYMOUS if file is None else 0)
        flags |= (MAP_FIXED if fixed else 0) | (MAP_POPULATE if populate else 0)
        flags |= MAP_LOCKED if locked else 0
        flags |= MAP_HUGETLB if hugetlb else 0
        with self.running():
            mm = self.mm
            down_write(mm.mmap_sem)
            try:
                rc = sys_mmap_pgoff(mm, file, _check_int(addr, "addr"), length, prot, flags,
                                    offset // PAGE_SIZE)
            finally:
                up_write(mm.mmap_sem)
        if rc < 0:
            raise kernel_error(rc, "mmap")
        return rc

    def mmap_device(self, length: int) -> int:
        """Map device memory without struct page (remap_pfn_range: VM_IO |
        VM_RESERVED | VM_PFNMAP, special ptes), as a driver's mmap does."""
        from .mm.memory import pte_alloc_map
        from .mm.mmap import find_vma
        from .mm.pgtable import pfn_pte, pte_mkspecial

        addr = self.mmap(length, PROT_READ | PROT_WRITE, shared=False)
        vma = find_vma(self.mm, addr)
        assert vma is not None
        vma.vm_flags |= VM_IO | VM_RESERVED | VM_PFNMAP
        device_pfn = self.machine.max_pfn + 0x100000  # an MMIO window above RAM
        for i in range(-(-length // PAGE_SIZE)):
            pte_alloc_map(self.mm, addr + i * PAGE_SIZE)
            self.mm.ptes[(addr >> 12) + i] = pte_mkspecial(pfn_pte(device_pfn + i, vma.vm_page_prot))
        return addr

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
                    vma.vm_flags = ksm_madvise_mergeable(vma.vm_flags)

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

        addr = address_arg(addr)
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

        with self.running() as task:
            rc = sys_setuid(task, _check_int(uid, "uid", 0, UID_MAX))
        if rc:
            raise kernel_error(rc, "setuid")

    def seteuid(self, euid: int) -> None:
        from .mm.cred import sys_seteuid

        with self.running() as task:
            rc = sys_seteuid(task, _check_int(euid, "euid", 0, UID_MAX))
        if rc:
            raise kernel_error(rc, "seteuid")

    def setresuid(self, ruid: int, euid: int, suid: int) -> None:
        from .mm.cred import sys_setresuid

        with self.running() as task:
            rc = sys_setresuid(task, _check_int(ruid, "ruid", -1, UID_MAX),
                               _check_int(euid, "euid", -1, UID_MAX),
                               _check_int(suid, "suid", -1, UID_MAX))
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

    def set_mempolicy(self, mode: int, nodes: IntSequence | None = None,
                      maxnode: int | None = None) -> None:
        """set_mempolicy(2) of this task; ``nodes=None`` passes a NULL mask."""
        from .mm.mempolicy import sys_set_mempolicy_nodes

        mode, node_ids = mempolicy_args(mode, nodes)
        mask = NodeMask(node_ids, "nodes", maxnode)
        words = mask.words
        with self.running() as task:
            rc = sys_set_mempolicy_nodes(task, mode,
                                         (lambda k: words[k] if k < len(words) else 0)
                                         if node_ids is not None else None, mask.maxnode)
        if rc:
            raise kernel_error(rc, "set_mempolicy", mask.why_einval(rc))

    def get_mempolicy(self, addr: int | None = None, flags: int = 0) -> tuple[int, frozenset[int]]:
        """get_mempolicy(2): ``(mode, nodes)`` of this task, or of its VMA at ``addr``
        (giving ``addr`` adds MPOL_F_ADDR)."""
        from .mm.mempolicy import do_get_mempolicy

        address, flags = get_mempolicy_args(addr, flags)
        with self.running() as task:
            rc, value, nodes = do_get_mempolicy(task, address, flags)
        if rc:
            raise kernel_error(rc, "get_mempolicy")
        return value, nodes

    def numa_maps(self, pid: int = 0) -> list[NumaMapsEntry]:
        """/proc/PID/numa_maps of process ``pid`` (0: this one), one parsed entry per VMA,
        as ``pagemig.real`` reads the live file. A pid that names no task raises
        ``FileNotFoundError`` (the live file does not exist); a task without an mm
        (a kernel thread, an exited task) has an empty file."""
        from .reports.numa_maps import numa_maps

        pid = pid_arg(pid)
        task = self.machine.pid_table.find_task_by_vpid(pid) if pid else self.task
        if task is None:
            path = f"/proc/{pid}/numa_maps"
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        if task.mm is None:
            return []
        return numa_maps(Process(self.machine, task))

    # --- system calls with user pointers ------------------------------------------------------

    def move_pages(self, pid: int, pages: IntSequence, nodes: IntSequence | None = None, flags: int = 0,
                   *, count: int | None = None) -> MovePagesResult:
        """move_pages(2) of process ``pid`` (0 = this one). ``nodes=None`` queries.

        The arrays are placed in this process's memory and the kernel reads
        them from there. Returns a MovePagesResult; a failed call raises OSError
        carrying the statuses already written (``err.result``)."""
        from .results import MovePagesResult, move_pages_error

        compat = self.task.ia32  # a 32-bit program passes 32-bit pointers
        args = move_pages_args(pid, pages, nodes, flags, pointer_bits=32 if compat else 64)
        pid, flags = args.pid, args.flags
        page_list: list[int] = args.pages.tolist()
        n = len(page_list)
        nr = n if count is None else _check_int(count, "count")
        target = self.machine.pid_table.find_task_by_vpid(pid) if pid else self.task
        # The pfns before the call find each entry's attempts in the account;
        # with the account off nothing will be noted and no reason given.
        before: list[int | None] = (_pfns_of(target, page_list) if self.machine.account.enabled
                                    else [None] * n)
        marks = (len(self.machine.account.entries), len(self.machine.account.attempts))
        # The pages array ends at the arena's guard page, so a count past the
        # end faults (EFAULT) where the C runner's arrays fault: both kernels
        # read pages[i] before nodes[i] and write status[i] only after, so
        # pages[] is the one array the kernel can run off.
        end = _arena(self).ensure(16 * n)
        pages_ptr = end - (4 if compat else 8) * n
        status_ptr = pages_ptr - 4 * n
        nodes_ptr = status_ptr - 4 * n if args.nodes is not None else 0
        self.write(pages_ptr, args.pages.astype("<u4" if compat else "<u8").tobytes())
        if args.nodes is not None:
            self.write(nodes_ptr, args.nodes.astype("<i4").tobytes())
        self.write(status_ptr, _pack([INT_MIN] * n, 4, True))
        with self.running() as task:
            entry = (self.machine.kernel.compat_sys_move_pages if compat
                     else self.machine.kernel.sys_move_pages)
            rc = entry(task, pid, nr, pages_ptr, nodes_ptr, status_ptr, flags)
        raw = self.read(status_ptr, 4 * n)
        status: list[int | None] = [None if value == INT_MIN else value
                                    for value in struct.unpack(f"<{n}i", raw)]
        reasons = _reasons(self.machine, page_list, before, status, marks)
        if rc < 0:
            raise move_pages_error(rc, MovePagesResult(status, 0, tuple(page_list), reasons))
        return MovePagesResult(status, rc, tuple(page_list), reasons)

    def migrate_pages(self, pid: int, old_nodes: IntSequence, new_nodes: IntSequence,
                      maxnode: int | None = None) -> int:
        """migrate_pages(2): returns the number of pages that could not be moved."""
        pid = pid_arg(pid)
        old_mask = NodeMask(required_nodes("old_nodes", old_nodes), "old_nodes", maxnode)
        new_mask = NodeMask(required_nodes("new_nodes", new_nodes), "new_nodes", maxnode)
        old, new = old_mask.packed(), new_mask.packed()
        base = _arena(self).ensure(len(old) + len(new)) - len(old) - len(new)
        self.write(base, old)
        self.write(base + len(old), new)
        with self.running() as task:
            rc = self.machine.kernel.sys_migrate_pages(task, pid, old_mask.maxnode,
                                                       base, base + len(old))
        if rc < 0:
            raise kernel_error(rc, "migrate_pages",
                               old_mask.why_einval(rc) or new_mask.why_einval(rc))
        return rc

    def mbind(self, addr: int, length: int, mode: int, nodes: IntSequence | None = (), flags: int = 0,
              maxnode: int | None = None) -> None:
        """mbind(2) of [addr, addr+length) with a policy and optional MPOL_MF_* flags
        (``nodes=None``: a NULL mask)."""
        addr, length, mode, node_ids, flags = mbind_args(addr, length, mode, nodes, flags)
        mask = NodeMask(node_ids, "nodes", maxnode)
        words = mask.packed()
        base = _arena(self).ensure(len(words)) - len(words)
        self.write(base, words)
        with self.running() as task:
            rc = self.machine.kernel.sys_mbind(task, addr, length, mode,
                                               base if node_ids is not None else 0, mask.maxnode, flags)
        if rc:
            raise kernel_error(rc, "mbind", mask.why_einval(rc))


# --- node masks -----------------------------------------------------------------------------------

ULONG_MAX = 2**64 - 1
MASK_BITS_MAX = PAGE_SIZE * 8  # get_nodes: maxnode - 1 > PAGE_SIZE * BITS_PER_BYTE is -EINVAL
DEFAULT_MAXNODE = 1025  # a 1024-bit mask, as pagemig.real and the conformance runner pass


class NodeMask:
    """The node mask a C program passes for a list of nodes (checked by
    pagemig.argcheck): ``maxnode`` (by default 1025, as pagemig.real passes)
    and the unsigned longs of the bits get_nodes can read.

    The words stop at the bits get_nodes reads (at most PAGE_SIZE * 8), so a
    maxnode of 2**40 costs nothing: the kernel answers -EINVAL for it, and
    ``why_einval`` says which argument it refused.
    """

    def __init__(self, nodes: list[int] | None, name: str, maxnode: int | None) -> None:
        from .mm.mempolicy import nodes_to_longs

        self.nodes = nodes or []
        self.name = name
        self.maxnode = (DEFAULT_MAXNODE if maxnode is None
                        else _check_int(maxnode, "maxnode", 0, ULONG_MAX))
        nbits = min(max(self.maxnode - 1, 64), MASK_BITS_MAX)
        self.words = nodes_to_longs([n for n in self.nodes if n < nbits], nbits)

    def packed(self) -> bytes:
        return _pack(self.words, 8, False)

    def why_einval(self, rc: int) -> str:
        """What get_nodes refuses in this mask (when the call gave -EINVAL)."""
        from .mm.mmzone import MAX_NUMNODES

        if rc != -errno.EINVAL:
            return ""
        bits = (self.maxnode - 1) & ULONG_MAX  # --maxnode on an unsigned long
        if bits > MASK_BITS_MAX:
            wraps = " (maxnode - 1 wraps around)" if self.maxnode == 0 else ""
            return (f"maxnode={excerpt(self.maxnode)}: a node mask has at most {MASK_BITS_MAX} "
                    f"bits (maxnode <= {MASK_BITS_MAX + 1}){wraps}")
        beyond = [n for n in self.nodes if MAX_NUMNODES <= n < bits]
        if beyond:
            return f"{self.name}: node {min(beyond)} is not below MAX_NUMNODES ({MAX_NUMNODES})"
        return ""


# --- system calls that take user pointers ---------------------------------------------------------

INT_MIN = -(2**31)
_ARENA_HINT = 0x7FFFF0000000
_ARENA_HINT_IA32 = 0x7FF00000  # a 32-bit program's arrays lie below 4 GiB


class _Arena:
    """Where a process keeps the arrays it passes to system calls: an
    anonymous mapping of its own, as a C program's arrays would be, followed
    by a PROT_NONE guard page (the C runner's arrays end at one too)."""

    def __init__(self, proc: Process) -> None:
        self.proc = proc
        self.addr = 0
        self.size = 0

    def ensure(self, size: int) -> int:
        """The end of a writable region of at least ``size`` bytes, which the
        guard page follows (arrays placed to end there fault past their end)."""
        size = max(PAGE_SIZE, -(-size // PAGE_SIZE) * PAGE_SIZE)
        if size > self.size:
            if self.size:
                self.proc.munmap(self.addr, self.size + PAGE_SIZE)
            hint = _ARENA_HINT_IA32 if self.proc.task.ia32 else _ARENA_HINT
            self.addr = self.proc.mmap(size + PAGE_SIZE, addr=hint)
            self.proc.mprotect(self.addr + size, PAGE_SIZE, PROT_NONE)
            self.size = size
        return self.addr + self.size


def _arena(proc: Process) -> _Arena:
    arena = proc.machine.arenas.get(proc.pid)
    if not isinstance(arena, _Arena) or arena.proc.task is not proc.task:
        arena = proc.machine.arenas[proc.pid] = _Arena(proc)
    return arena


def _pack(values: list[int], size: int, signed: bool) -> bytes:
    """Little-endian ints of ``size`` bytes (the values are already range-checked)."""
    code = {4: "i", 8: "q"}[size] if signed else {4: "I", 8: "Q"}[size]
    return struct.pack(f"<{len(values)}{code}", *values)



def _pfns_of(task: TaskStruct | None, addrs: list[int]) -> list[int | None]:
    """The pfn each address maps before the call (to find its migration attempts)."""
    from .mm.memory import pte_read
    from .mm.pgtable import pte_present

    mm = task.mm if task is not None else None
    if mm is None:
        return [None] * len(addrs)
    out: list[int | None] = []
    for addr in addrs:
        pte = pte_read(mm, addr)
        out.append(pte >> 12 if pte_present(pte) else None)
    return out


def _reasons(machine: Machine, addrs: list[int], pfns: list[int | None], status: list[int | None],
             marks: tuple[int, int]) -> tuple[str, ...]:
    """Why each entry ended as it did, from the migration account of this call."""
    account = machine.account
    if len(account.attempts) == marks[1] and len(account.entries) == marks[0]:
        return ("",) * len(addrs)  # nothing noted (the account is off): no reasons
    # The attempts of each pfn and the last reason noted for each address,
    # indexed once (each entry's lookups are then O(1), not a scan).
    tries_of: dict[int, list[Attempt]] = {}
    for attempt in account.attempts[marks[1]:]:
        tries_of.setdefault(attempt.pfn, []).append(attempt)
    last_reason = dict(account.entries[marks[0]:])
    out = []
    for addr, pfn, code in zip(addrs, pfns, status, strict=True):
        why = ""
        tries = tries_of.get(pfn, []) if pfn is not None else []
        if tries and code is not None and (code == tries[-1].rc or code >= 0):
            last = tries[-1]
            why = last.why if last.rc else f"migrated to node {last.target_node}"
            if len(tries) > 1 and last.rc:
                why = f"{last.outcome} after {len(tries)} passes: {last.why}"
        else:
            why = last_reason.get(addr, "")
        out.append(why)
    return tuple(out)
