"""Model of arch/x86/include/asm/uaccess.h: the kernel reading and writing
user memory (get_user, put_user, copy_from_user, copy_to_user).

Every access goes through the user's page tables and the fault handler, so
an unmapped or unreadable user pointer gives -EFAULT exactly where the
kernel would, and a copy that runs off the end of a mapping stops part-way.
"""

from __future__ import annotations

import struct

from .fault import UserFault, user_access
from .highmem import kmap, page_bytes
from .mmap import MmStruct
from .page import PAGE_SIZE

_FORMATS = {1: "<B", 2: "<H", 4: "<i", 8: "<Q"}
_UNSIGNED_4 = "<I"


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


def copy_from_user(mm: MmStruct, addr: int, length: int) -> tuple[bytes, int]:
    """Read user bytes; returns (bytes copied, number of bytes NOT copied)."""
    if addr < 0 or addr + length > mm.task_size:
        return b"", length
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
    done = 0
    for page_addr, off, n in _chunks(addr, len(data)):
        try:
            page = user_access(mm, page_addr, write=True)
        except (UserFault, OSError):
            return len(data) - done
        kmap(page)[off:off + n] = memoryview(data)[done:done + n]
        done += n
    return 0


def get_user(mm: MmStruct, addr: int, size: int, signed: bool = False) -> int | None:
    """One naturally sized value, or None on a fault (the -EFAULT case)."""
    raw, left = copy_from_user(mm, addr, size)
    if left:
        return None
    fmt = _FORMATS[size] if signed or size != 4 else _UNSIGNED_4
    if signed and size == 8:
        fmt = "<q"
    value: int = struct.unpack(fmt, raw)[0]
    return value


def put_user(mm: MmStruct, addr: int, size: int, value: int) -> bool:
    fmt = "<i" if size == 4 and value < 0 else ("<q" if size == 8 and value < 0 else _FORMATS[size])
    if size == 4 and value >= 0:
        fmt = "<I"
    return copy_to_user(mm, addr, struct.pack(fmt, value)) == 0
