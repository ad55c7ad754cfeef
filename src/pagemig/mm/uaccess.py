"""Model of arch/x86/include/asm/uaccess.h: the kernel reading and writing
user memory (get_user, put_user, copy_from_user, copy_to_user).

Every access goes through the user's page tables and the fault handler, so
an unmapped or unreadable user pointer gives -EFAULT exactly where the
kernel would, and a copy that runs off the end of a mapping stops part-way.
A small TLB per mm skips the walk to the frame's bytes when the pte is the
one the last access left (present, accessed, dirty for a write): then the
MMU would change nothing, and any other pte (or none) takes the full path.
An entry also keeps the frame as arrays of 4- and 8-byte values, so that an
aligned get_user/put_user is one indexing (the move_pages arrays are read
and written element by element).
"""

from __future__ import annotations

import struct
import sys
from typing import Final

from .fault import UserFault, user_access
from .highmem import kmap, page_bytes
from .memory import pte_read
from .mmap import MmStruct
from .page import PAGE_SHIFT, PAGE_SIZE
from .pgtable import _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL

_SIZES: Final = (1, 2, 4, 8)
_TLB_ENTRIES: Final = 64
_DIRTY_RW: Final = _PAGE_DIRTY | _PAGE_RW
# The typed views index native (little-endian on x86) values.
_NATIVE_LITTLE: Final = sys.byteorder == "little"


# The formats of a TlbEntry's typed views, in the order _values indexes them:
# native unsigned/signed 4- and 8-byte values.
_TYPED_FORMATS: Final = ("I", "i", "Q", "q")


class TlbEntry:
    """The model's TLB entry for one user page: the pte after the access that
    filled it, the frame's bytes, and the same bytes as arrays of unsigned
    and signed 4- and 8-byte values (memoryview casts, made on first use)."""

    __slots__ = ("pte", "typed", "view")

    def __init__(self, pte: int, view: memoryview) -> None:
        self.pte = pte
        self.view = view
        self.typed: list[memoryview | None] = [None, None, None, None]


def _values(entry: TlbEntry, size: int, signed: bool) -> memoryview:
    """The frame of ``entry`` as an array of ``size``-byte values (4 or 8)."""
    k = (2 if size == 8 else 0) + (1 if signed else 0)
    view = entry.typed[k]
    if view is None:
        view = entry.typed[k] = entry.view.cast(_TYPED_FORMATS[k])
    return view


def _chunks(addr: int, length: int) -> list[tuple[int, int, int]]:
    """(page address, offset in page, length) pieces of a user range."""
    out = []
    while length > 0:
        off = addr & (PAGE_SIZE - 1)
        n = min(length, PAGE_SIZE - off)
        out.append((addr - off, off, n))
        addr += n
        length -= n
    return out


def _tlb_entry(mm: MmStruct, addr: int, write: bool) -> TlbEntry | None:
    """The frame at user page ``addr`` through the model's TLB: the entry for
    the frame the present pte maps, when the access needs no fault and the
    pte already carries the bits the MMU would set (so the access changes
    nothing); None otherwise (the caller takes the full path)."""
    vpn = addr >> PAGE_SHIFT
    pte = pte_read(mm, addr)
    tlb = mm.uaccess_tlb
    hit = tlb.get(vpn)
    if hit is not None and hit.pte == pte and (not write or pte & _DIRTY_RW == _DIRTY_RW):
        return hit
    if not pte & _PAGE_PRESENT or pte & _PAGE_SPECIAL or (write and not pte & _PAGE_RW):
        return None
    page = user_access(mm, addr, write)  # sets the accessed (and dirty) bits
    view = page.zone.zone_pgdat.arena.view(page.pfn)
    if view is None:
        return None
    if len(tlb) >= _TLB_ENTRIES:
        tlb.clear()
    entry = tlb[vpn] = TlbEntry(pte_read(mm, addr), view)
    return entry


def copy_from_user(mm: MmStruct, addr: int, length: int) -> tuple[bytes, int]:
    """Read user bytes; returns (bytes copied, number of bytes NOT copied)."""
    if addr < 0 or addr + length > mm.task_size:
        return b"", length
    off = addr & (PAGE_SIZE - 1)
    if off + length <= PAGE_SIZE:
        entry = _tlb_entry(mm, addr - off, False)
        if entry is not None:
            return entry.view[off:off + length].tobytes(), 0
    data = bytearray()
    for page_addr, off, n in _chunks(addr, length):
        try:
            page = user_access(mm, page_addr, write=False)
        except (UserFault, OSError):
            return bytes(data), length - len(data)
        data += page_bytes(page)[off:off + n].tobytes()
    return bytes(data), 0


def copy_to_user(mm: MmStruct, addr: int, data: bytes) -> int:
    """Write user bytes; returns the number of bytes NOT copied."""
    if addr < 0 or addr + len(data) > mm.task_size:
        return len(data)
    off = addr & (PAGE_SIZE - 1)
    if off + len(data) <= PAGE_SIZE:
        entry = _tlb_entry(mm, addr - off, True)
        if entry is not None:
            entry.view[off:off + len(data)] = data
            return 0
    done = 0
    for page_addr, off, n in _chunks(addr, len(data)):
        try:
            page = user_access(mm, page_addr, write=True)
        except (UserFault, OSError):
            return len(data) - done
        kmap(page)[off:off + n] = memoryview(data)[done:done + n]
        done += n
    return 0


def _aligned_word(off: int, size: int) -> bool:
    """A 4- or 8-byte value at a multiple of its size: one element of the
    frame's typed views."""
    return _NATIVE_LITTLE and (size == 8 or size == 4) and off & (size - 1) == 0


def _load(entry: TlbEntry, off: int, size: int, signed: bool) -> int:
    """The little-endian value of ``size`` bytes at ``off`` (signed for 4 and 8)."""
    if _aligned_word(off, size):
        value: int = _values(entry, size, signed)[off // size]
        return value
    return int.from_bytes(entry.view[off:off + size], "little", signed=signed and size >= 4)


def get_user(mm: MmStruct, addr: int, size: int, signed: bool = False) -> int | None:
    """One naturally sized value, or None on a fault (the -EFAULT case).
    ``signed`` applies to 4- and 8-byte values."""
    off = addr & (PAGE_SIZE - 1)
    if off + size <= PAGE_SIZE and addr >= 0 and addr + size <= mm.task_size:
        entry = _tlb_entry(mm, addr - off, False)
        if entry is not None:
            return _load(entry, off, size, signed)
    raw, left = copy_from_user(mm, addr, size)
    if left:
        return None
    return int.from_bytes(raw, "little", signed=signed and size >= 4)


def put_user(mm: MmStruct, addr: int, size: int, value: int) -> bool:
    if size not in _SIZES:
        raise KeyError(size)
    if value < 0 and size < 4:
        raise struct.error(f"argument out of range for a {size}-byte unsigned value")
    off = addr & (PAGE_SIZE - 1)
    bits = 8 * size
    if (off + size <= PAGE_SIZE and addr >= 0 and addr + size <= mm.task_size
            and _aligned_word(off, size) and -(1 << (bits - 1)) <= value < 1 << bits):
        entry = _tlb_entry(mm, addr - off, True)
        if entry is not None:
            # A negative value through the signed view, any other through the
            # unsigned one: the bytes to_bytes(signed=value < 0) gives.
            _values(entry, size, value < 0)[off // size] = value
            return True
    data = value.to_bytes(size, "little", signed=value < 0)
    return copy_to_user(mm, addr, data) == 0
