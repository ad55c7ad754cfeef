"""Model of arch/x86/include/asm/pgtable*.h: page-table entries as ints.

A pte is one int. Present entries carry the pfn above PAGE_SHIFT and flag
bits below it; a non-present, non-zero entry holds a swap entry (which may be
a migration entry). The upper levels (pgd, pud, pmd) are modelled by the set
of their present indices on the mm, so each level's present check can fail.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any, Final

from .page import PAGE_SHIFT

_PAGE_PRESENT: Final = 1 << 0
_PAGE_RW: Final = 1 << 1
_PAGE_USER: Final = 1 << 2
_PAGE_ACCESSED: Final = 1 << 5
_PAGE_DIRTY: Final = 1 << 6
_PAGE_SPECIAL: Final = 1 << 9  # pfn map without struct page (vm_normal_page says no)
_PAGE_PROTNONE: Final = 1 << 8

PTRS_PER_PTE: Final = 512
PMD_SHIFT: Final = 21
PUD_SHIFT: Final = 30
PGDIR_SHIFT: Final = 39
PMD_SIZE: Final = 1 << PMD_SHIFT

# Swap ptes: the entry above every flag bit (as x86-64 keeps the offset above
# _PAGE_PROTNONE and _PAGE_SPECIAL), present clear, bit 1 set so a swap pte
# is never zero (pte_none).
_SWP_MARK: Final = 1 << 1
_SWP_SHIFT: Final = 10

PAGE_NONE: Final = _PAGE_PROTNONE | _PAGE_ACCESSED
PAGE_READONLY: Final = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED
PAGE_SHARED: Final = PAGE_READONLY | _PAGE_RW


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




# --- the pte pages of an mm -------------------------------------------------------------------

PTE_INDEX_MASK: Final = PTRS_PER_PTE - 1
PTE_PAGE_SHIFT: Final = PMD_SHIFT - PAGE_SHIFT  # vpn >> this: the pmd a pte lives under


class PageTables(MutableMapping[int, int]):
    """The ptes of one mm as the kernel keeps them: one pte page of
    PTRS_PER_PTE entries per pmd that has any (``pte_pages``, by vpn >> 9),
    an entry of 0 being pte_none. It reads as a mapping from virtual page
    number to the non-none ptes, in address order; hot paths index
    ``pte_pages`` directly. A pte costs 8 bytes plus its int, not a dict entry.
    """

    __slots__ = ("pte_pages",)

    def __init__(self) -> None:
        self.pte_pages: dict[int, list[int]] = {}

    def __getitem__(self, vpn: int) -> int:
        table = self.pte_pages.get(vpn >> PTE_PAGE_SHIFT)
        if table is not None:
            pte = table[vpn & PTE_INDEX_MASK]
            if pte:
                return pte
        raise KeyError(vpn)

    def get(self, vpn: int, default: Any = None) -> Any:
        table = self.pte_pages.get(vpn >> PTE_PAGE_SHIFT)
        if table is not None:
            pte = table[vpn & PTE_INDEX_MASK]
            if pte:
                return pte
        return default

    def __contains__(self, vpn: object) -> bool:
        return isinstance(vpn, int) and self.get(vpn, 0) != 0

    def __setitem__(self, vpn: int, pte: int) -> None:
        table = self.pte_pages.get(vpn >> PTE_PAGE_SHIFT)
        if table is None:
            table = self.pte_pages[vpn >> PTE_PAGE_SHIFT] = [0] * PTRS_PER_PTE
        table[vpn & PTE_INDEX_MASK] = pte

    def __delitem__(self, vpn: int) -> None:
        table = self.pte_pages.get(vpn >> PTE_PAGE_SHIFT)
        if table is None or not table[vpn & PTE_INDEX_MASK]:
            raise KeyError(vpn)
        table[vpn & PTE_INDEX_MASK] = 0

    def __iter__(self) -> Iterator[int]:
        for nr in sorted(self.pte_pages):
            base = nr << PTE_PAGE_SHIFT
            for i, pte in enumerate(self.pte_pages[nr]):
                if pte:
                    yield base + i

    def __len__(self) -> int:
        return sum(PTRS_PER_PTE - table.count(0) for table in self.pte_pages.values())

    def range(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """The (vpn, pte) pairs of the non-none ptes with lo <= vpn < hi, in order."""
        out: list[tuple[int, int]] = []
        if hi <= lo:
            return out
        first, last = lo >> PTE_PAGE_SHIFT, (hi - 1) >> PTE_PAGE_SHIFT
        for nr in sorted(nr for nr in self.pte_pages if first <= nr <= last):
            base = nr << PTE_PAGE_SHIFT
            for i, pte in enumerate(self.pte_pages[nr]):
                if pte and lo <= base + i < hi:
                    out.append((base + i, pte))
        return out

    def __repr__(self) -> str:
        return f"PageTables({dict(self.items())!r})"
