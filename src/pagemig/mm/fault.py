"""Model of arch/x86/mm/fault.c: a user access that faults, and the signals
it may end in. ``user_access`` is what the CPU plus do_page_fault do for one
page: find the VMA, check the access, call handle_mm_fault until the pte
allows the access, and set the accessed/dirty bits as the MMU would."""

from __future__ import annotations

import errno
from typing import Final

from mypy_extensions import mypyc_attr

from .hugetlb import hugetlb_pte_access
from .memory import (
    FAULT_FLAG_WRITE,
    VM_FAULT_HWPOISON,
    VM_FAULT_OOM,
    VM_FAULT_SIGBUS,
    handle_mm_fault,
    pte_read,
    set_pte_at,
    vm_normal_page,
)
from .mmap import VM_EXEC, VM_GROWSDOWN, VM_HUGETLB, VM_READ, VM_WRITE, MmStruct, find_vma
from .page import PAGE_SHIFT, Page
from .pgtable import (
    _PAGE_ACCESSED,
    _PAGE_DIRTY,
    _PAGE_PRESENT,
    _PAGE_RW,
    _PAGE_SPECIAL,
    PTE_INDEX_MASK,
    pte_mkdirty,
    pte_mkyoung,
    pte_page,
    pte_present,
    pte_write,
)
from .rwsem import down_read, up_read


# A subclass of a builtin exception: mypyc compiles it as a regular Python class.
@mypyc_attr(native_class=False)
class UserFault(OSError):
    """A user access the kernel answers with a signal (SIGSEGV or SIGBUS)."""

    def __init__(self, signal: str, addr: int, why: str) -> None:
        super().__init__(errno.EFAULT, f"{signal} at {addr:#x}: {why}")
        self.signal = signal
        self.addr = addr


_MAX_RETRIES: Final = 64
_PRESENT: Final = _PAGE_PRESENT
_RW: Final = _PAGE_RW
_YOUNG: Final = _PAGE_ACCESSED
_YOUNG_DIRTY: Final = _PAGE_ACCESSED | _PAGE_DIRTY
_SPECIAL: Final = _PAGE_SPECIAL


def user_access(mm: MmStruct, addr: int, write: bool) -> Page:
    """Make ``addr`` accessible for a read or write and return the page mapped
    there (the zero page for untouched anonymous memory read)."""
    # The MMU: a present pte that allows the access needs no fault; the
    # hardware sets the accessed (and dirty) bits itself.
    if 0 <= addr < mm.task_size:
        table = pte_page(mm.pgd, addr)
        if table is not None:
            i = (addr >> PAGE_SHIFT) & PTE_INDEX_MASK
            pte = table[i]
            if pte & _PRESENT and (not write or pte & _RW) and not pte & _SPECIAL:
                table[i] = pte | (_YOUNG_DIRTY if write else _YOUNG)
                return mm.machine.pfn_to_page(pte >> PAGE_SHIFT)
    return _user_fault(mm, addr, write)


def _user_fault(mm: MmStruct, addr: int, write: bool) -> Page:
    """do_page_fault: the access faulted."""
    down_read(mm.mmap_sem)
    try:
        vma = find_vma(mm, addr)
        if vma is None or (vma.vm_start > addr and not vma.vm_flags & VM_GROWSDOWN):
            raise UserFault("SIGSEGV", addr, "no mapping at this address")
        if vma.vm_start > addr:
            raise UserFault("SIGSEGV", addr, "below the stack (stack growth is not modelled)")
        if write and not vma.vm_flags & VM_WRITE:
            raise UserFault("SIGSEGV", addr, "write to a mapping without PROT_WRITE")
        if not write and not vma.vm_flags & (VM_READ | VM_EXEC | VM_WRITE):
            raise UserFault("SIGSEGV", addr, "access to a PROT_NONE mapping")
        for _ in range(_MAX_RETRIES):
            if vma.vm_flags & VM_HUGETLB:
                page = hugetlb_pte_access(mm, addr, write)
                if page is not None:
                    return page
                ret = handle_mm_fault(mm, vma, addr, FAULT_FLAG_WRITE if write else 0)
                _raise_fault_error(ret, addr)
                continue
            pte = pte_read(mm, addr)
            if pte_present(pte) and (not write or pte_write(pte)):
                pte = pte_mkyoung(pte_mkdirty(pte) if write else pte)
                set_pte_at(mm, addr, pte)
                page = vm_normal_page(vma, addr, pte)
                return page if page is not None else mm.machine.zero_page
            ret = handle_mm_fault(mm, vma, addr, FAULT_FLAG_WRITE if write else 0)
            _raise_fault_error(ret, addr)
        raise UserFault("SIGSEGV", addr, "fault made no progress")
    finally:
        up_read(mm.mmap_sem)


def _raise_fault_error(ret: int, addr: int) -> None:
    """mm_fault_error: the OOM killer, or SIGBUS (past the end of a file, or
    a hugetlb fault the pool cannot satisfy)."""
    if ret & VM_FAULT_OOM:
        raise OSError(errno.ENOMEM, f"out of memory faulting {addr:#x} (the OOM killer would run)")
    if ret & (VM_FAULT_SIGBUS | VM_FAULT_HWPOISON):
        raise UserFault("SIGBUS", addr, "beyond the end of the mapped file, or no free huge page")
