"""Model of arch/x86/include/asm/pgtable*.h: page-table entries as ints.

A pte is one int. Present entries carry the pfn above PAGE_SHIFT and flag
bits below it; a non-present, non-zero entry holds a swap entry (which may be
a migration entry). The levels above (pgd, pud, pmd) are tables of 512 entries
as in the kernel (``PageTables``); a level is present when its table exists,
so each level's present check can fail.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from itertools import compress
from typing import Any, Final, TypeAlias, TypeVar

from .page import PAGE_SHIFT
from .swapops import swp_entry, swp_offset, swp_type

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

# Swap ptes as x86-64 lays them out (asm/pgtable_64.h): present clear, the
# swap type in bits 1-5 (_PAGE_BIT_PRESENT + 1, SWP_TYPE_BITS = _PAGE_BIT_FILE
# - _PAGE_BIT_PRESENT - 1), the offset from bit 9 (_PAGE_BIT_PROTNONE + 1,
# because _PAGE_BIT_FILE (6) < _PAGE_BIT_PROTNONE (8)). Never zero: a swap
# offset is at least 1 (slot 0 is the header) and a migration type is 30 or 31.
_PAGE_BIT_PRESENT: Final = 0
SWP_TYPE_BITS: Final = 5
SWP_OFFSET_SHIFT: Final = 9

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


def __swp_type(arch_entry: int) -> int:
    return (arch_entry >> (_PAGE_BIT_PRESENT + 1)) & ((1 << SWP_TYPE_BITS) - 1)


def __swp_offset(arch_entry: int) -> int:
    return arch_entry >> SWP_OFFSET_SHIFT


def __swp_entry(type_: int, offset: int) -> int:
    return (type_ << (_PAGE_BIT_PRESENT + 1)) | (offset << SWP_OFFSET_SHIFT)


def swp_entry_to_pte(entry: int) -> int:
    """The arch-independent swp_entry_t to a pte (swapops.h): through the
    arch's own encoding, which __swp_entry_to_pte takes as the pte."""
    return __swp_entry(swp_type(entry), swp_offset(entry))


def pte_to_swp_entry(pte: int) -> int:
    """A swap pte to the arch-independent swp_entry_t (swapops.h)."""
    return swp_entry(__swp_type(pte), __swp_offset(pte))


def vm_get_page_prot(vm_flags: int) -> int:
    """protection_map[]: private writable mappings start read-only (COW)."""
    from .mmap import VM_EXEC, VM_READ, VM_SHARED, VM_WRITE

    if not vm_flags & (VM_READ | VM_WRITE | VM_EXEC):
        return PAGE_NONE
    if vm_flags & VM_WRITE and vm_flags & VM_SHARED:
        return PAGE_SHARED
    return PAGE_READONLY


# --- the page tables of an mm: pgd -> pud -> pmd -> pte pages ------------------------------

PTRS_PER_PGD: Final = 512
PTRS_PER_PUD: Final = 512
PTRS_PER_PMD: Final = 512
PTE_INDEX_MASK: Final = PTRS_PER_PTE - 1
PMD_INDEX_MASK: Final = PTRS_PER_PMD - 1
PUD_INDEX_MASK: Final = PTRS_PER_PUD - 1
PTE_PAGE_SHIFT: Final = PMD_SHIFT - PAGE_SHIFT  # vpn >> this: the pmd a pte lives under
_LEVEL_SHIFT: Final = 9  # each level has 512 = 1 << 9 entries
_INDEX_MASK: Final = (1 << _LEVEL_SHIFT) - 1
_T = TypeVar("_T")
_TOP: Final = PTRS_PER_PGD << PGDIR_SHIFT  # 256 TiB: what four levels of 512 entries map

PtePage: TypeAlias = "list[int]"
PmdTable: TypeAlias = "list[PtePage | None]"
PudTable: TypeAlias = "list[PmdTable | None]"
Pgd: TypeAlias = "list[PudTable | None]"


def new_pgd() -> Pgd:
    """pgd_alloc: an empty top level (no pud table present)."""
    return [None] * PTRS_PER_PGD


def pmd_table_alloc(pgd: Pgd, addr: int) -> PmdTable:
    """pud_alloc + pmd_alloc: the pud and pmd tables above ``addr`` (created
    when missing), so its pgd and pud entries are present. Returns the pmd
    table."""
    pud = pgd[addr >> PGDIR_SHIFT]
    if pud is None:
        pud = pgd[addr >> PGDIR_SHIFT] = [None] * PTRS_PER_PUD
    pmd = pud[(addr >> PUD_SHIFT) & PUD_INDEX_MASK]
    if pmd is None:
        pmd = pud[(addr >> PUD_SHIFT) & PUD_INDEX_MASK] = [None] * PTRS_PER_PMD
    return pmd


def pte_page_alloc(pgd: Pgd, addr: int) -> PtePage:
    """__pte_alloc with the levels above: the pte page mapping ``addr``."""
    pmd = pmd_table_alloc(pgd, addr)
    table = pmd[(addr >> PMD_SHIFT) & PMD_INDEX_MASK]
    if table is None:
        table = pmd[(addr >> PMD_SHIFT) & PMD_INDEX_MASK] = [0] * PTRS_PER_PTE
    return table


def pmd_table(pgd: Pgd, addr: int) -> PmdTable | None:
    """pgd_offset/pgd_present + pud_offset/pud_present: the pmd table, or None."""
    if not 0 <= addr < _TOP:
        return None
    pud = pgd[addr >> PGDIR_SHIFT]
    return pud[(addr >> PUD_SHIFT) & PUD_INDEX_MASK] if pud is not None else None


def pte_page(pgd: Pgd, addr: int) -> PtePage | None:
    """The whole walk to the pte page of ``addr`` (+ pmd_offset/pmd_present),
    or None where a level is not present."""
    pmd = pmd_table(pgd, addr)
    return pmd[(addr >> PMD_SHIFT) & PMD_INDEX_MASK] if pmd is not None else None


def indices_under(parent: int, first: int, last: int) -> range:
    """The indices one level down (512 per entry, numbered across the whole
    address space) under entry ``parent`` that lie in [first, last]."""
    base = parent << _LEVEL_SHIFT
    return range(max(first, base), min(last, base + (1 << _LEVEL_SHIFT) - 1) + 1)


def pte_pages_in(pgd: Pgd, lo: int, hi: int) -> Iterator[tuple[int, PtePage]]:
    """The (pmd number, pte page) of the present pte pages that map some of
    [lo, hi) (byte addresses), in address order, skipping absent levels."""
    hi = min(hi, _TOP)
    lo = max(lo, 0)
    if hi <= lo:
        return
    for g, pud in _present_under(pgd, 0, lo >> PGDIR_SHIFT, (hi - 1) >> PGDIR_SHIFT):
        for u, pmd in _present_under(pud, g, lo >> PUD_SHIFT, (hi - 1) >> PUD_SHIFT):
            yield from _present_under(pmd, u, lo >> PMD_SHIFT, (hi - 1) >> PMD_SHIFT)


def _present_under(table: list[_T | None], parent: int, first: int, last: int) -> list[tuple[int, _T]]:
    """(index, entry) of the present entries of one level's table under entry
    ``parent`` whose indices lie in [first, last] (one C-level pass over the
    slice: most of a table's 512 entries are absent)."""
    span = indices_under(parent, first, last)
    if not span:
        return []
    offset = span.start & _INDEX_MASK
    # A present entry is a table (a non-empty list, so true): compress picks
    # their indices at C speed.
    present = compress(span, table[offset:offset + len(span)])
    return [(i, table[i & _INDEX_MASK]) for i in present]  # type: ignore[misc]


class PageTables(MutableMapping[int, int]):
    """The ptes of one mm as the kernel keeps them: a radix tree of four
    levels of 512 entries, the pgd (``pgd``) pointing to pud tables, pud
    entries to pmd tables, pmd entries to pte pages of PTRS_PER_PTE ptes,
    an entry of 0 being pte_none. A level is present when its table exists.
    It reads as a mapping from virtual page number to the non-none ptes, in
    address order; hot paths walk ``pgd`` directly (pte_page). A pte costs
    8 bytes plus its int.
    """

    __slots__ = ("pgd",)

    def __init__(self) -> None:
        self.pgd: Pgd = new_pgd()

    def __getitem__(self, vpn: int) -> int:
        table = pte_page(self.pgd, vpn << PAGE_SHIFT)
        if table is not None:
            pte = table[vpn & PTE_INDEX_MASK]
            if pte:
                return pte
        raise KeyError(vpn)

    def get(self, vpn: int, default: Any = None) -> Any:
        table = pte_page(self.pgd, vpn << PAGE_SHIFT)
        if table is not None:
            pte = table[vpn & PTE_INDEX_MASK]
            if pte:
                return pte
        return default

    def __contains__(self, vpn: object) -> bool:
        return isinstance(vpn, int) and self.get(vpn, 0) != 0

    def __setitem__(self, vpn: int, pte: int) -> None:
        pte_page_alloc(self.pgd, vpn << PAGE_SHIFT)[vpn & PTE_INDEX_MASK] = pte

    def __delitem__(self, vpn: int) -> None:
        table = pte_page(self.pgd, vpn << PAGE_SHIFT)
        if table is None or not table[vpn & PTE_INDEX_MASK]:
            raise KeyError(vpn)
        table[vpn & PTE_INDEX_MASK] = 0

    def __iter__(self) -> Iterator[int]:
        for vpn, _ in self._ptes_in(0, _TOP >> PAGE_SHIFT):
            yield vpn

    def __len__(self) -> int:
        return sum(PTRS_PER_PTE - table.count(0) for _, table in pte_pages_in(self.pgd, 0, _TOP))

    def range(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """The (vpn, pte) pairs of the non-none ptes with lo <= vpn < hi, in order."""
        return list(self._ptes_in(lo, hi))

    def _ptes_in(self, lo: int, hi: int) -> Iterator[tuple[int, int]]:
        for nr, table in pte_pages_in(self.pgd, lo << PAGE_SHIFT, hi << PAGE_SHIFT):
            base = nr << PTE_PAGE_SHIFT
            # The non-none ptes' indices, picked at C speed (most of a pte page is none).
            for i in compress(range(PTRS_PER_PTE), table):
                if lo <= base + i < hi:
                    yield base + i, table[i]

    def __repr__(self) -> str:
        return f"PageTables({dict(self.items())!r})"
