"""Model of arch/x86/include/asm/pgtable*.h: page-table entries as ints.

A pte is one int. Present entries carry the pfn above PAGE_SHIFT and flag
bits below it; a non-present, non-zero entry holds a swap entry (which may be
a migration entry). The upper levels (pgd, pud, pmd) are modelled by the set
of their present indices on the mm, so each level's present check can fail.
"""

from __future__ import annotations

from .page import PAGE_SHIFT

_PAGE_PRESENT = 1 << 0
_PAGE_RW = 1 << 1
_PAGE_USER = 1 << 2
_PAGE_ACCESSED = 1 << 5
_PAGE_DIRTY = 1 << 6
_PAGE_SPECIAL = 1 << 9  # pfn map without struct page (vm_normal_page says no)
_PAGE_PROTNONE = 1 << 8

PTRS_PER_PTE = 512
PMD_SHIFT = 21
PUD_SHIFT = 30
PGDIR_SHIFT = 39
PMD_SIZE = 1 << PMD_SHIFT

# Swap ptes: the entry above every flag bit (as x86-64 keeps the offset above
# _PAGE_PROTNONE and _PAGE_SPECIAL), present clear, bit 1 set so a swap pte
# is never zero (pte_none).
_SWP_MARK = 1 << 1
_SWP_SHIFT = 10

PAGE_NONE = _PAGE_PROTNONE | _PAGE_ACCESSED
PAGE_READONLY = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED
PAGE_SHARED = PAGE_READONLY | _PAGE_RW


def pte_none(pte: int) -> bool:
    return pte == 0


def pte_present(pte: int) -> bool:
    return pte & (_PAGE_PRESENT | _PAGE_PROTNONE) != 0


def pte_write(pte: int) -> bool:
    return pte & _PAGE_RW != 0


def pte_dirty(pte: int) -> bool:
    return pte & _PAGE_DIRTY != 0


def pte_young(pte: int) -> bool:
    return pte & _PAGE_ACCESSED != 0


def pte_special(pte: int) -> bool:
    return pte & _PAGE_SPECIAL != 0


def pte_pfn(pte: int) -> int:
    return pte >> PAGE_SHIFT


def pfn_pte(pfn: int, prot: int) -> int:
    return (pfn << PAGE_SHIFT) | prot


def pte_mkwrite(pte: int) -> int:
    return pte | _PAGE_RW


def pte_wrprotect(pte: int) -> int:
    return pte & ~_PAGE_RW


def pte_mkdirty(pte: int) -> int:
    return pte | _PAGE_DIRTY


def pte_mkclean(pte: int) -> int:
    return pte & ~_PAGE_DIRTY


def pte_mkyoung(pte: int) -> int:
    return pte | _PAGE_ACCESSED


def pte_mkold(pte: int) -> int:
    return pte & ~_PAGE_ACCESSED


def pte_mkspecial(pte: int) -> int:
    return pte | _PAGE_SPECIAL


def pte_modify(pte: int, prot: int) -> int:
    """Change protection bits, keeping the pfn and dirty/accessed state."""
    keep = pte & ~((1 << PAGE_SHIFT) - 1) | pte & (_PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_SPECIAL)
    return keep | (prot & ~(_PAGE_DIRTY | _PAGE_ACCESSED))


def is_swap_pte(pte: int) -> bool:
    """Not none and not present (no nonlinear file ptes in this model)."""
    return pte != 0 and not pte & (_PAGE_PRESENT | _PAGE_PROTNONE)


def swp_entry_to_pte(entry: int) -> int:
    return (entry << _SWP_SHIFT) | _SWP_MARK


def pte_to_swp_entry(pte: int) -> int:
    return pte >> _SWP_SHIFT


def vm_get_page_prot(vm_flags: int) -> int:
    """protection_map[]: private writable mappings start read-only (COW)."""
    from .mmap import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE

    if not vm_flags & (VM_READ | VM_WRITE | VM_EXEC):
        return PAGE_NONE
    if vm_flags & VM_WRITE and vm_flags & VM_SHARED:
        return PAGE_SHARED
    return PAGE_READONLY


def pgd_index(addr: int) -> int:
    return addr >> PGDIR_SHIFT


def pud_index(addr: int) -> int:
    return addr >> PUD_SHIFT


def pmd_index(addr: int) -> int:
    return addr >> PMD_SHIFT


