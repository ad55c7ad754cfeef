"""Model of mm/mlock.c and the mlock helpers of mm/internal.h (2.6.35).

An mlocked page has PG_mlocked, counts in NR_MLOCK and lives on the
unevictable LRU list. mlock(2) marks the VMAs VM_LOCKED and faults every page
in (a write fault for private writable mappings, to break COW first).
"""

from __future__ import annotations

import errno
from typing import Final

from .bug import BUG_ON
from .mmap import (
    PAGE_ALIGN,
    VM_LOCKED,
    VM_SPECIAL,
    VM_WRITE,
    MmStruct,
    VmAreaStruct,
    find_vma,
    split_vma,
)
from .mmzone import ZoneStatItem
from .page import (
    PAGE_SHIFT,
    PAGE_SIZE,
    Page,
    PageLocked,
    PageUnevictable,
    PG_mlocked,
    SetPageMlocked,
    TestClearPageMlocked,
    TestSetPageMlocked,
)
from .pagemap import lock_page, unlock_page
from .swap import put_page
from .vmscan import isolate_lru_page, putback_lru_page
from .vmstat import VM_EVENT_NAMES

NR_MLOCK: Final = int(ZoneStatItem.NR_MLOCK)
_MLOCKED: Final = 1 << PG_mlocked
UNEVICTABLE_PGMLOCKED: Final = VM_EVENT_NAMES.index("unevictable_pgs_mlocked")
UNEVICTABLE_PGMUNLOCKED: Final = VM_EVENT_NAMES.index("unevictable_pgs_munlocked")
UNEVICTABLE_PGSTRANDED: Final = VM_EVENT_NAMES.index("unevictable_pgs_stranded")


def is_mlocked_vma(vma: VmAreaStruct, page: Page) -> bool:
    """A new page faulted into a VM_LOCKED VMA is mlocked at once."""
    if vma.vm_flags & (VM_LOCKED | VM_SPECIAL) != VM_LOCKED:
        return False
    if not TestSetPageMlocked(page):
        page.zone.vm_stat[NR_MLOCK] += 1
        page.zone.machine.vm_events[UNEVICTABLE_PGMLOCKED] += 1
    return True


def mlock_vma_page(page: Page) -> None:
    """Mark a page mlocked and move it to the unevictable list. Page locked."""
    BUG_ON(not PageLocked(page), "mlock_vma_page of an unlocked page")
    if not TestSetPageMlocked(page):
        page.zone.vm_stat[NR_MLOCK] += 1
        page.zone.machine.vm_events[UNEVICTABLE_PGMLOCKED] += 1
        if isolate_lru_page(page) == 0:
            putback_lru_page(page)


def munlock_vma_page(page: Page) -> None:
    """Clear PG_mlocked unless another VM_LOCKED VMA still maps the page. Page locked."""
    from .rmap import SWAP_MLOCK, try_to_munlock

    BUG_ON(not PageLocked(page), "munlock_vma_page of an unlocked page")
    if TestClearPageMlocked(page):
        page.zone.vm_stat[NR_MLOCK] -= 1
        machine = page.zone.machine
        if isolate_lru_page(page) == 0:
            ret = try_to_munlock(page)
            if ret != SWAP_MLOCK:
                machine.vm_events[UNEVICTABLE_PGMUNLOCKED] += 1
            putback_lru_page(page)
        elif PageUnevictable(page):
            machine.vm_events[UNEVICTABLE_PGSTRANDED] += 1
        else:
            machine.vm_events[UNEVICTABLE_PGMUNLOCKED] += 1


def mlock_migrate_page(newpage: Page, page: Page) -> None:
    """Move PG_mlocked and its NR_MLOCK count from the old page's zone to the new one's."""
    if page.flags & _MLOCKED and TestClearPageMlocked(page):
        page.zone.vm_stat[NR_MLOCK] -= 1
        SetPageMlocked(newpage)
        newpage.zone.vm_stat[NR_MLOCK] += 1


MLOCK_BATCH: Final = 16  # struct page *pages[16]: "16 gives a reasonable batch"


def _mlock_vma_pages_range(vma: VmAreaStruct, start: int, end: int) -> int:
    """Fault every page of [start, end) in and mlock it, 16 pages at a time.

    Each batch is pushed from the pagevecs to the LRU lists first; a page is
    mlocked under its page lock (waiting for it) if it still has a mapping
    (the zero page has none; truncation can take a file page's away).
    Context: mmap_sem held. Return: 0, or get_user_pages's negative errno.
    Kernel: mm/mlock.c __mlock_vma_pages_range (2.6.35).
    """
    from .memory import FOLL_GET, FOLL_TOUCH, FOLL_WRITE
    from .swap import lru_add_drain

    gup_flags = FOLL_TOUCH | FOLL_GET
    # We want to touch writable mappings with a write fault in order to break
    # COW (2.6.35 does this for shared writable mappings too; 2.6.38 narrowed it).
    if vma.vm_flags & VM_WRITE:
        gup_flags |= FOLL_WRITE
    addr = start
    nr_pages = (end - start) >> PAGE_SHIFT
    while nr_pages > 0:
        pages = _get_user_pages_batch(vma, addr, min(nr_pages, MLOCK_BATCH), gup_flags)
        if isinstance(pages, int):
            return pages
        lru_add_drain(vma.vm_mm.machine)  # push cached pages to LRU
        for page in pages:
            if page.mapping is not None:
                lock_page(page)
                # Migration is blocked by our reference: only truncation can
                # have taken the mapping away meanwhile.
                if page.mapping is not None:
                    mlock_vma_page(page)
                unlock_page(page)
            put_page(page)  # ref from get_user_pages()
        addr += len(pages) * PAGE_SIZE
        nr_pages -= len(pages)
    return 0


def _get_user_pages_batch(vma: VmAreaStruct, addr: int, nr: int, gup_flags: int) -> list[Page] | int:
    """__get_user_pages of up to ``nr`` pages: the pages got before the first
    failure, or the failure itself when it hits the first page."""
    from .memory import get_user_pages

    pages: list[Page] = []
    for i in range(nr):
        page = get_user_pages(vma.vm_mm, vma, addr + i * PAGE_SIZE, gup_flags)
        if isinstance(page, int):
            return pages if pages else page
        if page is not None:
            pages.append(page)
    return pages


def mlock_vma_pages_range(vma: VmAreaStruct, start: int, end: int) -> int:
    """mmap(MAP_LOCKED): mlock the new VMA's pages; 0, or the number of pages
    NOT mlocked (VM_LOCKED is then cleared): pfn maps are skipped, and
    VM_RESERVED/VM_DONTEXPAND mappings and huge pages are only made present."""
    from .mmap import VM_DONTEXPAND, VM_HUGETLB, VM_IO, VM_PFNMAP, VM_RESERVED, make_pages_present

    nr_pages = (end - start) >> PAGE_SHIFT
    BUG_ON(not vma.vm_flags & VM_LOCKED, "mlock_vma_pages_range of an unlocked VMA")
    if not vma.vm_flags & (VM_IO | VM_PFNMAP):  # filter unlockable vmas
        if not vma.vm_flags & (VM_DONTEXPAND | VM_RESERVED | VM_HUGETLB):
            _mlock_vma_pages_range(vma, start, end)
            return 0  # hide errors from mmap() and other callers
        # User-mapped kernel pages or huge pages: populate the ptes, then
        # fall through to clear VM_LOCKED, uncounted in locked_vm.
        make_pages_present(vma.vm_mm, start, end)
    vma.vm_flags &= ~VM_LOCKED  # and don't come back!
    return nr_pages


def _mlock_posix_error_return(retval: int) -> int:
    """POSIX says mlock of unmapped or unreadable memory is ENOMEM, and a
    lack of memory is EAGAIN."""
    if retval == -errno.EFAULT:
        return -errno.ENOMEM
    if retval == -errno.ENOMEM:
        return -errno.EAGAIN
    return retval


def munlock_vma_pages_range(vma: VmAreaStruct, start: int, end: int) -> None:
    from .memory import FOLL_DUMP, FOLL_GET, follow_page

    vma.vm_flags &= ~VM_LOCKED
    for addr in range(start, end, PAGE_SIZE):
        page = follow_page(vma, addr, FOLL_GET | FOLL_DUMP)
        if isinstance(page, Page):
            lock_page(page)
            if page.mapping is not None:
                munlock_vma_page(page)
            unlock_page(page)
            put_page(page)


def munlock_vma_pages_all(vma: VmAreaStruct) -> None:
    munlock_vma_pages_range(vma, vma.vm_start, vma.vm_end)


def mlock_fixup(vma: VmAreaStruct, start: int, end: int, newflags: int) -> int:
    """Apply VM_LOCKED on/off to [start, end) of one VMA, splitting it as needed."""
    mm = vma.vm_mm
    if newflags == vma.vm_flags or vma.vm_flags & VM_SPECIAL:
        return 0
    if start != vma.vm_start:
        ret = split_vma(mm, vma, start, True)
        if ret:
            return ret
    if end != vma.vm_end:
        ret = split_vma(mm, vma, end, False)
        if ret:
            return ret
    nr_pages = (end - start) >> PAGE_SHIFT
    lock = newflags & VM_LOCKED
    mm.locked_vm += nr_pages if lock else -nr_pages
    if lock:
        vma.vm_flags = newflags
        ret = _mlock_vma_pages_range(vma, start, end)
        return _mlock_posix_error_return(ret) if ret < 0 else 0
    munlock_vma_pages_range(vma, start, end)
    vma.vm_flags = newflags
    return 0


def do_mlock(mm: MmStruct, start: int, length: int, on: bool) -> int:
    """mlock/munlock of [start, start+len): -ENOMEM if part of it is unmapped."""
    if start & (PAGE_SIZE - 1):
        return -errno.EINVAL
    end = start + PAGE_ALIGN(length)
    if end < start:
        return -errno.EINVAL
    if end == start:
        return 0
    vma = find_vma(mm, start)
    if vma is None or vma.vm_start > start:
        return -errno.ENOMEM
    nstart = start
    error = 0
    while True:
        newflags = vma.vm_flags | VM_LOCKED if on else vma.vm_flags & ~VM_LOCKED
        tmp = min(vma.vm_end, end)
        error = mlock_fixup(vma, nstart, tmp, newflags)
        if error:
            break
        nstart = tmp
        if nstart >= end:
            break
        nxt = find_vma(mm, nstart)
        if nxt is None or nxt.vm_start != nstart:
            error = -errno.ENOMEM
            break
        vma = nxt
    return error
