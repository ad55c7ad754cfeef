"""Model of mm/mmap.c (and the VMA parts of include/linux/mm.h, mm_types.h).

An mm_struct keeps its VMAs sorted by address with a parallel list of end
addresses, so find_vma is a bisection with the kernel's semantics: the first
VMA whose end lies above the address, which may start above it too.
"""

from __future__ import annotations

import bisect
import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .page import PAGE_SHIFT, PAGE_SIZE
from .pgtable import PageTables, Pgd, vm_get_page_prot
from .rwsem import RwSemaphore
from .spinlock import SpinLock

if TYPE_CHECKING:
    from ..machine import Machine
    from .mempolicy import Mempolicy
    from .page import Page
    from .rmap import AnonVma, AnonVmaChain
    from .sched import TaskStruct
    from .uaccess import TlbEntry

# include/linux/mm.h (2.6.35)
VM_READ: Final = 0x00000001
VM_WRITE: Final = 0x00000002
VM_EXEC: Final = 0x00000004
VM_SHARED: Final = 0x00000008
VM_MAYREAD: Final = 0x00000010
VM_MAYWRITE: Final = 0x00000020
VM_MAYEXEC: Final = 0x00000040
VM_MAYSHARE: Final = 0x00000080
VM_GROWSDOWN: Final = 0x00000100
VM_GROWSUP: Final = 0x00000200
VM_PFNMAP: Final = 0x00000400
VM_DENYWRITE: Final = 0x00000800
VM_EXECUTABLE: Final = 0x00001000
VM_LOCKED: Final = 0x00002000
VM_IO: Final = 0x00004000
VM_SEQ_READ: Final = 0x00008000
VM_RAND_READ: Final = 0x00010000
VM_DONTCOPY: Final = 0x00020000
VM_DONTEXPAND: Final = 0x00040000
VM_RESERVED: Final = 0x00080000
VM_ACCOUNT: Final = 0x00100000
VM_NORESERVE: Final = 0x00200000
VM_HUGETLB: Final = 0x00400000
VM_NONLINEAR: Final = 0x00800000
VM_MIXEDMAP: Final = 0x10000000
VM_MERGEABLE: Final = 0x80000000
VM_SPECIAL: Final = VM_IO | VM_DONTEXPAND | VM_RESERVED | VM_PFNMAP
VM_STACK_INCOMPLETE_SETUP: Final = VM_RAND_READ | VM_SEQ_READ

# include/asm-generic/mman-common.h
PROT_NONE: Final = 0x0
PROT_READ: Final = 0x1
PROT_WRITE: Final = 0x2
PROT_EXEC: Final = 0x4
MAP_SHARED: Final = 0x01
MAP_PRIVATE: Final = 0x02
MAP_TYPE: Final = 0x0F
MAP_FIXED: Final = 0x10
MAP_ANONYMOUS: Final = 0x20
MAP_GROWSDOWN: Final = 0x0100
MAP_LOCKED: Final = 0x2000
MAP_NORESERVE: Final = 0x4000
MAP_POPULATE: Final = 0x8000
MAP_HUGETLB: Final = 0x40000

MM_FILEPAGES: Final = 0
MM_ANONPAGES: Final = 1
MM_SWAPENTS: Final = 2
NR_MM_COUNTERS: Final = 3

TASK_SIZE: Final = 0x00007FFFFFFFF000  # x86-64 with 4-level page tables
TASK_SIZE_MAX: Final = TASK_SIZE  # the USER_DS limit access_ok checks, also for 32-bit tasks
TASK_SIZE_IA32: Final = 0xFFFFE000  # a 32-bit program's address space (IA32_PAGE_OFFSET)
STACK_TOP_IA32: Final = TASK_SIZE_IA32
RLIMIT_STACK_DEFAULT: Final = 8 << 20
MIN_GAP: Final = 128 << 20  # mmap_base() keeps at least this much room for the stack
MMAP_BASE: Final = 0x00007FFFF7FFF000  # top-down mmap base with randomisation off


def PAGE_ALIGN(addr: int) -> int:
    return (addr + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


@dataclass(frozen=True)
class VmOperations:
    """struct vm_operations_struct: an empty slot keeps its meaning (None)."""

    name: str
    fault: Callable[..., tuple[int, Page | None]] | None = None
    page_mkwrite: Callable[..., int] | None = None
    set_policy: Callable[..., int] | None = None
    get_policy: Callable[..., Mempolicy | None] | None = None
    migrate: Callable[..., int] | None = None
    open: Callable[[VmAreaStruct], None] | None = None
    close: Callable[[VmAreaStruct], None] | None = None


class VmAreaStruct:
    """vm_area_struct."""

    __slots__ = (
        "anon_vma",
        "anon_vma_chain",
        "vm_end",
        "vm_file",
        "vm_flags",
        "vm_mm",
        "vm_ops",
        "vm_page_prot",
        "vm_pgoff",
        "vm_policy",
        "vm_private_data",
        "vm_start",
    )

    def __init__(self, mm: MmStruct, start: int, end: int, flags: int, pgoff: int,
                 file: object = None, ops: VmOperations | None = None) -> None:
        self.vm_mm = mm
        self.vm_start = start
        self.vm_end = end
        self.vm_flags = flags
        self.vm_page_prot = vm_get_page_prot(flags)
        self.vm_pgoff = pgoff
        self.vm_file = file
        if file is not None:
            file.i_count += 1  # type: ignore[attr-defined]  # get_file: the VMA's reference
        self.vm_ops = ops
        self.anon_vma: AnonVma | None = None
        self.anon_vma_chain: list[AnonVmaChain] = []  # newest first, oldest last
        self.vm_policy: Mempolicy | None = None
        self.vm_private_data: object = None

    def __repr__(self) -> str:
        return f"<vma {self.vm_start:#x}-{self.vm_end:#x} flags={self.vm_flags:#x}>"

    def contains(self, addr: int) -> bool:
        return self.vm_start <= addr < self.vm_end


class MmStruct:
    """mm_struct: VMAs, page tables, RSS counters, mmap_sem and the dumpable flag."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.mmap: list[VmAreaStruct] = []
        self._ends: list[int] = []
        self.mmap_cache: VmAreaStruct | None = None  # last result of find_vma
        # Page tables: pgd -> pud -> pmd tables -> pte pages of 512 entries
        # (``ptes`` reads them as a mapping by virtual page number; ``pgd``
        # is the same tree, walked by hot paths).
        self.ptes = PageTables()
        self.pgd: Pgd = self.ptes.pgd
        # hugetlb: the pmds that map a huge page themselves, by pmd index.
        self.huge_ptes: dict[int, int] = {}
        self.page_table_lock = SpinLock(machine, "page_table_lock")
        self.mmap_sem = RwSemaphore(machine, "mmap_sem")
        self.rss = [0] * NR_MM_COUNTERS
        self.mm_users = 1
        self.mm_count = 1
        self.dumpable = 1
        self.owner: TaskStruct | None = None
        self.mmap_base = MMAP_BASE
        # arch_get_unmapped_area_topdown's search cache: the search may start
        # at free_area_cache when no free gap above it is as long as the request
        # (every gap above it is at most cached_hole_size long).
        self.free_area_cache = MMAP_BASE
        self.cached_hole_size = 0
        self.task_size = TASK_SIZE
        self.start_stack = 0  # where exec put the stack (numa_maps names that VMA)
        self.total_vm = 0
        self.locked_vm = 0
        self.def_flags = 0
        self.on_mmlist = False
        # Model bookkeeping (not kernel state): RSS the kernel leaks when a
        # migration entry is zapped; check() adds it to its recount.
        self.rss_leaked = [0] * NR_MM_COUNTERS
        self.migration_rss: dict[int, int] = {}  # vpn -> counter a migration entry holds
        # The model's TLB for get_user/put_user (uaccess.py): vpn -> (pte after
        # the access, the frame's bytes); an entry is used only while the pte
        # is unchanged, when the MMU's access would change nothing.
        self.uaccess_tlb: dict[int, TlbEntry] = {}

    def __repr__(self) -> str:
        return f"<mm {len(self.mmap)} vmas rss={self.rss}>"

    @property
    def map_count(self) -> int:
        return len(self.mmap)


# --- VMA tree ------------------------------------------------------------------------------


def find_vma(mm: MmStruct, addr: int) -> VmAreaStruct | None:
    """The first VMA with addr < vm_end (it may start above addr), or None."""
    # Check the cache first: the VMA the last lookup found, if it contains addr.
    vma = mm.mmap_cache
    if vma is not None and vma.vm_end > addr and vma.vm_start <= addr:
        return vma
    i = bisect.bisect_right(mm._ends, addr)
    vma = mm.mmap[i] if i < len(mm.mmap) else None
    if vma is not None:
        mm.mmap_cache = vma
    return vma


def find_vma_prev(mm: MmStruct, addr: int) -> tuple[VmAreaStruct | None, VmAreaStruct | None]:
    i = bisect.bisect_right(mm._ends, addr)
    prev = mm.mmap[i - 1] if i > 0 else None
    return (mm.mmap[i] if i < len(mm.mmap) else None), prev


def find_vma_intersection(mm: MmStruct, start: int, end: int) -> VmAreaStruct | None:
    vma = find_vma(mm, start)
    if vma is not None and end <= vma.vm_start:
        return None
    return vma


def vma_link(mm: MmStruct, vma: VmAreaStruct) -> None:
    # VMAs do not overlap: the new one goes after every VMA that ends at or
    # below its start (the kernel's find_vma_prepare walk of the rbtree).
    i = bisect.bisect_right(mm._ends, vma.vm_start)
    mm.mmap.insert(i, vma)
    mm._ends.insert(i, vma.vm_end)
    if vma.vm_file is not None:
        _i_mmap(vma).append(vma)


def vma_index(mm: MmStruct, vma: VmAreaStruct) -> int:
    """The position of a linked VMA in ``mm.mmap`` (a bisection on its end)."""
    i = bisect.bisect_left(mm._ends, vma.vm_end)
    if i < len(mm.mmap) and mm.mmap[i] is vma:
        return i
    raise ValueError(f"{vma!r} is not linked in {mm!r}")


def vma_unlink(mm: MmStruct, vma: VmAreaStruct) -> None:
    i = vma_index(mm, vma)
    del mm.mmap[i]
    del mm._ends[i]
    if mm.mmap_cache is vma:
        mm.mmap_cache = None
    if vma.vm_file is not None:
        _i_mmap(vma).remove(vma)
    arch_unmap_area_topdown(mm, mm.mmap[i].vm_start if i < len(mm.mmap) else mm.mmap_base)


def arch_unmap_area_topdown(mm: MmStruct, addr: int) -> None:
    """A hole now ends at ``addr`` (the start of the VMA above it): a search
    must not start below it. Kernel: arch/x86/kernel/sys_x86_64.c (2.6.35)."""
    # Is this a new hole at the highest possible address?
    if addr > mm.free_area_cache:
        mm.free_area_cache = addr
    # Don't allow allocations above the current base.
    if mm.free_area_cache > mm.mmap_base:
        mm.free_area_cache = mm.mmap_base


def _i_mmap(vma: VmAreaStruct) -> list[VmAreaStruct]:
    mapping = vma.vm_file.f_mapping  # type: ignore[attr-defined]
    return mapping.i_mmap  # type: ignore[no-any-return]


def _vma_adjust_end(mm: MmStruct, vma: VmAreaStruct, end: int) -> None:
    i = vma_index(mm, vma)
    shrinks = end < vma.vm_end
    vma.vm_end = end
    mm._ends[i] = end
    if shrinks:  # a hole opens above the VMA
        arch_unmap_area_topdown(mm, mm.mmap[i + 1].vm_start if i + 1 < len(mm.mmap)
                                else mm.mmap_base)


def split_vma(mm: MmStruct, vma: VmAreaStruct, addr: int, new_below: bool) -> int:
    """Split ``vma`` at ``addr``; the new VMA takes the part below (new_below)
    or above. Both halves share the anon_vma chains, policy and file."""
    from .hugetlb import HPAGE_MASK
    from .mempolicy import mpol_dup
    from .rmap import anon_vma_clone

    if vma.vm_flags & VM_HUGETLB and addr & ~HPAGE_MASK:
        return -errno.EINVAL
    if addr & (PAGE_SIZE - 1) or not vma.vm_start < addr < vma.vm_end:
        return -errno.EINVAL
    if new_below:
        new = VmAreaStruct(mm, vma.vm_start, addr, vma.vm_flags, vma.vm_pgoff, vma.vm_file,
                           vma.vm_ops)
    else:
        new = VmAreaStruct(mm, addr, vma.vm_end, vma.vm_flags,
                           vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT), vma.vm_file,
                           vma.vm_ops)
    new.vm_page_prot = vma.vm_page_prot
    new.vm_policy = mpol_dup(vma.vm_policy)
    new.vm_private_data = vma.vm_private_data
    anon_vma_clone(new, vma)
    if new.vm_ops is not None and new.vm_ops.open is not None:
        new.vm_ops.open(new)
    if new_below:
        vma_unlink(mm, vma)
        vma.vm_pgoff += (addr - vma.vm_start) >> PAGE_SHIFT
        vma.vm_start = addr
        vma_link(mm, vma)
    else:
        _vma_adjust_end(mm, vma, addr)
    vma_link(mm, new)
    return 0


def get_unmapped_area(mm: MmStruct, addr: int, length: int, flags: int) -> int:
    """arch_get_unmapped_area_topdown: honour a free hint, else the highest gap
    below mmap_base. Returns the address or -ENOMEM.

    As in 2.6.35 the search starts at ``free_area_cache`` unless a hole above
    it might fit (``length <= cached_hole_size``), so a run of mmaps costs a
    few VMA lookups each, not a walk over every VMA above. The model keeps the
    top of the area found (the kernel keeps its start): a VMA start, the old
    cache or mmap_base, never the inside of a free gap, even if the mapping
    then fails; so the result is always the highest gap that fits.
    """
    if length > mm.task_size:
        return -errno.ENOMEM
    if flags & MAP_FIXED:
        return addr
    if addr:
        addr = PAGE_ALIGN(addr)
        vma = find_vma(mm, addr)
        if mm.task_size - length >= addr and (vma is None or addr + length <= vma.vm_start):
            return addr
    # Check if free_area_cache is useful for us.
    if length <= mm.cached_hole_size:
        mm.cached_hole_size = 0
        mm.free_area_cache = mm.mmap_base
    top = min(mm.free_area_cache, mm.mmap_base)
    i = bisect.bisect_right(mm._ends, top)  # the VMAs below i end at or below top
    if i < len(mm.mmap) and mm.mmap[i].vm_start < top:
        top = mm.mmap[i].vm_start  # a VMA spans the cache (or mmap_base)
    while i:
        i -= 1
        vma = mm.mmap[i]
        if vma.vm_end <= top - length:
            break
        # Remember the largest hole we saw so far.
        mm.cached_hole_size = max(mm.cached_hole_size, top - vma.vm_end)
        top = vma.vm_start
    else:  # below the lowest VMA: keep 16 pages above address 0 free
        if top < length + PAGE_SIZE * 16:
            return -errno.ENOMEM
    mm.free_area_cache = top  # remember the place as a hint for next time
    return top - length


def setup_ia32_address_space(mm: MmStruct) -> int:
    """exec of a 32-bit program (without address-space randomisation): a 4 GiB
    address space, mmap_base below a 128 MiB stack gap, and a stack VMA that
    already spans RLIMIT_STACK (8 MiB), as far as expand_stack would let it
    grow. Returns the initial stack pointer (the arguments and environment
    take the top page)."""
    mm.task_size = TASK_SIZE_IA32
    mm.mmap_base = mm.free_area_cache = PAGE_ALIGN(TASK_SIZE_IA32 - MIN_GAP)
    start = STACK_TOP_IA32 - RLIMIT_STACK_DEFAULT
    addr = do_mmap_pgoff(mm, None, start, RLIMIT_STACK_DEFAULT, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, 0)
    if addr != start:
        raise ValueError(f"cannot map the 32-bit stack at {start:#x}: {addr}")
    mm.start_stack = STACK_TOP_IA32 - PAGE_SIZE
    return mm.start_stack


def mmput(mm: MmStruct) -> None:
    """Drop a user reference; the last one tears the address space down."""
    mm.mm_users -= 1
    if mm.mm_users == 0:
        exit_mmap(mm)


def exit_mmap(mm: MmStruct) -> None:
    """Unmap every VMA and free the page tables (mm/mmap.c exit_mmap)."""
    from .memory import free_pgtables, unmap_vmas
    from .mlock import munlock_vma_pages_all

    for vma in list(mm.mmap):
        if vma.vm_flags & VM_LOCKED:
            munlock_vma_pages_all(vma)
    for vma in list(mm.mmap):
        unmap_vmas(mm, vma, vma.vm_start, vma.vm_end)
    for vma in list(mm.mmap):
        remove_vma(mm, vma)
    free_pgtables(mm, 0, TASK_SIZE)
    # tlb_finish_mmu -> free_pages_and_swap_cache drains this CPU's pagevec.
    from .swap import lru_add_drain

    lru_add_drain(mm.machine)


def remove_vma(mm: MmStruct, vma: VmAreaStruct) -> None:
    from .fs import fput
    from .rmap import unlink_anon_vmas

    if vma.vm_ops is not None and vma.vm_ops.close is not None:
        vma.vm_ops.close(vma)
    vma_unlink(mm, vma)
    unlink_anon_vmas(vma)
    mm.total_vm -= (vma.vm_end - vma.vm_start) >> PAGE_SHIFT
    vma.vm_policy = None
    if vma.vm_file is not None:
        fput(vma.vm_file)  # type: ignore[arg-type]


# --- mmap / munmap / mprotect / mremap ---------------------------------------------------------


def calc_vm_flags(prot: int, flags: int) -> int:
    vm = 0
    if prot & PROT_READ:
        vm |= VM_READ
    if prot & PROT_WRITE:
        vm |= VM_WRITE
    if prot & PROT_EXEC:
        vm |= VM_EXEC
    if flags & MAP_GROWSDOWN:
        vm |= VM_GROWSDOWN
    if flags & MAP_LOCKED:
        vm |= VM_LOCKED
    return vm | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC


def sys_mmap_pgoff(mm: MmStruct, file: object, addr: int, length: int, prot: int, flags: int,
                   pgoff: int) -> int:
    """mmap(2) after the fd lookup: MAP_ANONYMOUS|MAP_HUGETLB maps an unlinked
    hugetlbfs file of the length rounded up to huge pages."""
    from .fs import fput
    from .hugetlb import HPAGE_SIZE, hugetlb_file_setup

    created = None
    if file is None and flags & MAP_HUGETLB:
        # No can_do_hugetlb_shm() check: since 2.6.32 only SHM_HUGETLB
        # segments need CAP_IPC_LOCK or the hugetlb_shm_group.
        length = (length + HPAGE_SIZE - 1) & ~(HPAGE_SIZE - 1)
        file = created = hugetlb_file_setup(mm.machine, length)
        created.i_count += 1  # the file's own reference, dropped below
    rc = do_mmap_pgoff(mm, file, addr, length, prot, flags, pgoff)
    if created is not None:
        fput(created)
    return rc


def do_mmap_pgoff(mm: MmStruct, file: object, addr: int, length: int, prot: int, flags: int,
                  pgoff: int) -> int:
    """Create a mapping; returns its address or a negative errno."""
    from .hugetlb import hugetlb_get_unmapped_area, is_file_hugepages

    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC):
        return -errno.EINVAL
    if length == 0:
        return -errno.EINVAL
    length = PAGE_ALIGN(length)
    if length == 0 or length > mm.task_size:
        return -errno.ENOMEM
    if (pgoff + (length >> PAGE_SHIFT)) < pgoff:
        return -errno.EOVERFLOW
    if flags & MAP_FIXED and addr & (PAGE_SIZE - 1):
        return -errno.EINVAL
    map_type = flags & MAP_TYPE
    if map_type not in (MAP_SHARED, MAP_PRIVATE):
        return -errno.EINVAL
    vm_flags = calc_vm_flags(prot, flags) | mm.def_flags
    if file is not None:
        if map_type == MAP_SHARED:
            vm_flags |= VM_SHARED | VM_MAYSHARE
    elif map_type == MAP_SHARED:
        pgoff = 0
        vm_flags |= VM_SHARED | VM_MAYSHARE
    else:
        # Set pgoff according to addr for anon_vma.
        pgoff = addr >> PAGE_SHIFT
    if is_file_hugepages(file):  # file->f_op->get_unmapped_area
        addr = hugetlb_get_unmapped_area(mm, addr, length, flags)
    else:
        addr = get_unmapped_area(mm, addr, length, flags)
    if addr < 0:
        return addr
    if addr & (PAGE_SIZE - 1) or addr + length > mm.task_size:
        return -errno.ENOMEM
    if not file and map_type == MAP_PRIVATE:
        pgoff = addr >> PAGE_SHIFT
    return mmap_region(mm, file, addr, length, flags, vm_flags, pgoff)


def mmap_region(mm: MmStruct, file: object, addr: int, length: int, flags: int, vm_flags: int,
                pgoff: int) -> int:
    from .fs import Inode, fput, shmem_zero_setup, vm_ops_for
    from .hugetlb import hugetlbfs_file_mmap, is_file_hugepages

    # Clear old maps (MAP_FIXED).
    if find_vma_intersection(mm, addr, addr + length) is not None:
        rc = do_munmap(mm, addr, length)
        if rc:
            return rc
    ops = None
    if file is None and vm_flags & VM_SHARED:
        file = shmem_zero_setup(mm.machine, length)
    if file is not None:
        assert isinstance(file, Inode)
        ops = vm_ops_for(file)
    vma = VmAreaStruct(mm, addr, addr + length, vm_flags, pgoff, file, ops)
    if is_file_hugepages(file):  # file->f_op->mmap
        assert isinstance(file, Inode)
        error = hugetlbfs_file_mmap(file, vma)
        if error:
            fput(file)  # unmap_and_free_vma
            return error
    if vma_wants_writenotify(vma):
        vma.vm_page_prot = vm_get_page_prot(vm_flags & ~VM_SHARED)
    vma_link(mm, vma)
    mm.total_vm += length >> PAGE_SHIFT
    if vm_flags & VM_LOCKED:
        from .mlock import mlock_vma_pages_range

        if not mlock_vma_pages_range(vma, addr, addr + length):
            mm.locked_vm += length >> PAGE_SHIFT
    elif flags & MAP_POPULATE:
        make_pages_present(mm, addr, addr + length)
    return addr


def vma_wants_writenotify(vma: VmAreaStruct) -> bool:
    """Shared writable mappings of files that account dirty pages start
    write-protected, so the first write to each page is seen (set_page_dirty)."""
    vm_flags = vma.vm_flags
    # If it was private or non-writable, the write bit is already clear.
    if vm_flags & (VM_WRITE | VM_SHARED) != VM_WRITE | VM_SHARED:
        return False
    if vma.vm_ops is not None and vma.vm_ops.page_mkwrite is not None:
        return True
    if vma.vm_page_prot != vm_get_page_prot(vm_flags):
        return False
    if vm_flags & VM_PFNMAP:
        return False
    mapping = getattr(vma.vm_file, "f_mapping", None)
    return mapping is not None and bool(mapping.cap_account_dirty)


def make_pages_present(mm: MmStruct, start: int, end: int) -> None:
    from .memory import FOLL_GET, FOLL_TOUCH, FOLL_WRITE, get_user_pages
    from .swap import put_page

    for addr in range(start, end, PAGE_SIZE):
        vma = find_vma(mm, addr)
        if vma is None or vma.vm_start > addr:
            continue
        write = FOLL_WRITE if vma.vm_flags & VM_WRITE else 0
        page = get_user_pages(mm, vma, addr, FOLL_GET | FOLL_TOUCH | write)
        if not isinstance(page, int) and page is not None:
            put_page(page)


def do_munmap(mm: MmStruct, start: int, length: int) -> int:
    """Unmap [start, start+len); unmapping nothing is not an error."""
    from .memory import free_pgtables, unmap_vmas
    from .mlock import munlock_vma_pages_all

    if start & (PAGE_SIZE - 1) or start > mm.task_size or length > mm.task_size - start:
        return -errno.EINVAL
    length = PAGE_ALIGN(length)
    if length == 0:
        return -errno.EINVAL
    end = start + length
    vma = find_vma(mm, start)
    if vma is None or vma.vm_start >= end:
        return 0
    if start > vma.vm_start:
        rc = split_vma(mm, vma, start, False)
        if rc:
            return rc
    last = find_vma(mm, end)
    if last is not None and end > last.vm_start:
        rc = split_vma(mm, last, end, True)
        if rc:
            return rc
    # After the splits the doomed VMAs are the ones ending in (start, end].
    doomed = [v for v in mm.mmap[bisect.bisect_right(mm._ends, start):
                                 bisect.bisect_right(mm._ends, end)] if start <= v.vm_start]
    for v in doomed:
        if v.vm_flags & VM_LOCKED:
            mm.locked_vm -= (v.vm_end - v.vm_start) >> PAGE_SHIFT
            munlock_vma_pages_all(v)
    for v in doomed:
        unmap_vmas(mm, v, v.vm_start, v.vm_end)
    for v in doomed:
        remove_vma(mm, v)
    free_pgtables(mm, start, end)
    return 0


def sys_mprotect(mm: MmStruct, start: int, length: int, prot: int) -> int:
    """Change the protection of [start, start+len); -ENOMEM over holes."""
    from .memory import change_protection

    if start & (PAGE_SIZE - 1):
        return -errno.EINVAL
    if not length:
        return 0
    length = PAGE_ALIGN(length)
    end = start + length
    if end <= start:
        return -errno.ENOMEM
    if prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC):
        return -errno.EINVAL
    vm_flags = calc_vm_flags(prot, 0) & (VM_READ | VM_WRITE | VM_EXEC)
    vma = find_vma(mm, start)
    if vma is None or vma.vm_start > start:
        return -errno.ENOMEM
    nstart = start
    while True:
        newflags = vm_flags | (vma.vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC))
        # The new protection must be allowed by the VM_MAY* bits.
        if (newflags & ~(newflags >> 4)) & (VM_READ | VM_WRITE | VM_EXEC):
            return -errno.EACCES
        tmp = min(vma.vm_end, end)
        if nstart != vma.vm_start:
            rc = split_vma(mm, vma, nstart, True)
            if rc:
                return rc
        if tmp != vma.vm_end:
            rc = split_vma(mm, vma, tmp, False)
            if rc:
                return rc
        vma.vm_flags = newflags
        vma.vm_page_prot = vm_get_page_prot(newflags)
        dirty_accountable = vma_wants_writenotify(vma)
        if dirty_accountable:
            vma.vm_page_prot = vm_get_page_prot(newflags & ~VM_SHARED)
        change_protection(vma, nstart, tmp, dirty_accountable)
        nstart = tmp
        if nstart >= end:
            return 0
        nxt = find_vma(mm, nstart)
        if nxt is None or nxt.vm_start != nstart:
            return -errno.ENOMEM
        vma = nxt


MREMAP_MAYMOVE: Final = 1
MREMAP_FIXED: Final = 2


def do_mremap(mm: MmStruct, addr: int, old_len: int, new_len: int, flags: int,
              new_addr: int = 0) -> int:
    """Resize or move a mapping; returns the new address or a negative errno."""
    if flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE) or addr & (PAGE_SIZE - 1):
        return -errno.EINVAL
    if flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE:
        return -errno.EINVAL
    old_len = PAGE_ALIGN(old_len)
    new_len = PAGE_ALIGN(new_len)
    if not new_len:
        return -errno.EINVAL
    if flags & MREMAP_FIXED:
        if new_addr & (PAGE_SIZE - 1):
            return -errno.EINVAL
        if new_addr < addr + old_len and addr < new_addr + new_len:
            return -errno.EINVAL
        rc = do_munmap(mm, new_addr, new_len)
        if rc:
            return rc
    if old_len >= new_len and not flags & MREMAP_FIXED:
        if old_len > new_len:
            rc = do_munmap(mm, addr + new_len, old_len - new_len)
            if rc:
                return rc
        return addr
    # vma_to_resize
    vma = find_vma(mm, addr)
    if vma is None or vma.vm_start > addr:
        return -errno.EFAULT
    if vma.vm_flags & VM_HUGETLB:
        return -errno.EINVAL
    if old_len > vma.vm_end - addr:  # we can't remap across vm area boundaries
        return -errno.EFAULT
    # vma_to_resize: special mappings cannot grow.
    if vma.vm_flags & (VM_DONTEXPAND | VM_PFNMAP) and new_len > old_len:
        return -errno.EFAULT
    if not flags & MREMAP_FIXED and old_len == vma.vm_end - addr:
        nxt = find_vma(mm, vma.vm_end)
        if (nxt is None or nxt.vm_start >= addr + new_len) and addr + new_len <= mm.task_size:
            _vma_adjust_end(mm, vma, addr + new_len)
            pages = (new_len - old_len) >> PAGE_SHIFT
            mm.total_vm += pages
            if vma.vm_flags & VM_LOCKED:
                from .mlock import _mlock_vma_pages_range

                mm.locked_vm += pages
                _mlock_vma_pages_range(vma, addr + old_len, addr + new_len)
            return addr
    if not flags & MREMAP_MAYMOVE:
        return -errno.ENOMEM
    if not flags & MREMAP_FIXED:
        new_addr = get_unmapped_area(mm, 0, new_len, 0)
        if new_addr < 0:
            return new_addr
    return move_vma(mm, vma, addr, old_len, new_len, new_addr)


def move_vma(mm: MmStruct, vma: VmAreaStruct, old_addr: int, old_len: int, new_len: int,
             new_addr: int) -> int:
    """Copy the VMA to new_addr, move its page tables, unmap the old range."""
    from .ksm import ksm_madvise_unmergeable
    from .memory import move_page_tables
    from .mempolicy import mpol_dup
    from .rmap import anon_vma_clone

    # Break the KSM pages of the range first: they would turn up at the new
    # address, where KSM's rmap items do not point. vma->vm_flags keeps
    # VM_MERGEABLE, so KSM may merge them again there.
    rc = ksm_madvise_unmergeable(vma, old_addr, old_addr + old_len, vma.vm_flags)
    if rc:
        return rc
    pgoff = vma.vm_pgoff + ((old_addr - vma.vm_start) >> PAGE_SHIFT)
    new = VmAreaStruct(mm, new_addr, new_addr + new_len, vma.vm_flags, pgoff, vma.vm_file,
                       vma.vm_ops)
    new.vm_page_prot = vma.vm_page_prot
    new.vm_policy = mpol_dup(vma.vm_policy)
    anon_vma_clone(new, vma)
    vma_link(mm, new)
    mm.total_vm += new_len >> PAGE_SHIFT
    move_page_tables(mm, vma, old_addr, new, new_addr, min(old_len, new_len))
    # Unmapping the old range finds no ptes left; mlock accounting moves over.
    locked = vma.vm_flags & VM_LOCKED
    rc = do_munmap(mm, old_addr, old_len)
    if locked:
        mm.locked_vm += new_len >> PAGE_SHIFT
        if new_len > old_len:
            from .mlock import _mlock_vma_pages_range

            _mlock_vma_pages_range(new, new_addr + old_len, new_addr + new_len)
    return rc if rc else new_addr
