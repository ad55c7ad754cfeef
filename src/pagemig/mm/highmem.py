"""Model of include/linux/highmem.h: the bytes of page frames.

Each node owns an arena for its frames, cut in chunks of ``CHUNK_PAGES``
frames that are allocated, zeroed, the first time one of their frames is
written. A frame never written reads as zeros and costs nothing. Copies are
numpy slice assignments: memcpy, never a Python loop over bytes.

A chunk is a private anonymous mapping of the host populated when created
(MAP_POPULATE): the host backs its 256 frames in one system call instead of
taking a page fault on each frame's first byte, which cost more than the copy
itself in a migration to fresh frames (docs/performance.md). The price: a
chunk is resident (1 MiB) as soon as one of its frames is written.
"""

from __future__ import annotations

import mmap
from typing import Final

import numpy as np
import numpy.typing as npt

from .page import PAGE_SHIFT, PAGE_SIZE, Page

CHUNK_SHIFT: Final = 8  # 256 frames = 1 MiB per chunk
CHUNK_PAGES: Final = 1 << CHUNK_SHIFT
CHUNK_BYTES: Final = CHUNK_PAGES << PAGE_SHIFT
_ZERO_PAGE_BYTES: Final = np.zeros(PAGE_SIZE, dtype=np.uint8)
_ZERO_PAGE_BYTES.flags.writeable = False

Bytes = npt.NDArray[np.uint8]


def _new_chunk() -> Bytes:
    """Zeroed memory for one chunk, backed by the host at once where it can
    (a private anonymous mapping with MAP_POPULATE; plain zeroed memory where
    the host has no such mmap flags)."""
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if not populate:
        return np.zeros(CHUNK_BYTES, dtype=np.uint8)
    buf = mmap.mmap(-1, CHUNK_BYTES, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    return np.frombuffer(buf, dtype=np.uint8)


class PageArena:
    """The data of one node's frames, materialised chunk by chunk."""

    __slots__ = ("chunks", "nr_pages", "start_pfn", "views")

    def __init__(self, start_pfn: int, nr_pages: int) -> None:
        self.start_pfn = start_pfn
        self.nr_pages = nr_pages
        self.chunks: dict[int, Bytes] = {}
        # The same chunks as flat byte memoryviews, for copies of whole frames.
        self.views: dict[int, memoryview] = {}

    def _locate(self, pfn: int) -> tuple[int, int]:
        rel = pfn - self.start_pfn
        if not 0 <= rel < self.nr_pages:
            raise IndexError(f"pfn {pfn:#x} outside this node's arena")
        return rel >> CHUNK_SHIFT, (rel & (CHUNK_PAGES - 1)) << PAGE_SHIFT

    def frame(self, pfn: int) -> Bytes:
        """A writable view of one frame, materialising its chunk."""
        chunk_nr, off = self._locate(pfn)
        chunk = self.chunks.get(chunk_nr)
        if chunk is None:
            chunk = self.chunks[chunk_nr] = _new_chunk()
            self.views[chunk_nr] = memoryview(chunk)  # type: ignore[arg-type]
        return chunk[off:off + PAGE_SIZE]

    def peek(self, pfn: int) -> Bytes:
        """A read-only view of one frame; zeros if it was never written."""
        chunk_nr, off = self._locate(pfn)
        chunk = self.chunks.get(chunk_nr)
        if chunk is None:
            return _ZERO_PAGE_BYTES
        return chunk[off:off + PAGE_SIZE]

    def view(self, pfn: int) -> memoryview | None:
        """The bytes of one frame as a writable memoryview, or None if never written."""
        chunk_nr, base = self._locate(pfn)
        view = self.views.get(chunk_nr)
        if view is None:
            return None
        return view[base:base + PAGE_SIZE]

    def materialised(self, pfn: int) -> bool:
        return self._locate(pfn)[0] in self.chunks

    @property
    def resident_bytes(self) -> int:
        return len(self.chunks) * CHUNK_BYTES


def _arena(page: Page) -> PageArena:
    return page.zone.zone_pgdat.arena


def page_bytes(page: Page) -> Bytes:
    """Read-only view of the page's contents (kmap for reading)."""
    return page.zone.zone_pgdat.arena.peek(page.pfn)


def kmap(page: Page) -> Bytes:
    """Writable view of the page's contents."""
    return page.zone.zone_pgdat.arena.frame(page.pfn)


def clear_highpage(page: Page) -> None:
    arena = page.zone.zone_pgdat.arena
    chunk_nr, off = arena._locate(page.pfn)
    chunk = arena.chunks.get(chunk_nr)
    if chunk is not None:
        chunk[off:off + PAGE_SIZE] = 0


def copy_highpage(to: Page, from_: Page) -> None:
    """Copy one frame's bytes to another (may cross nodes): one memcpy
    between the numpy chunks, through their memoryviews."""
    src_arena = from_.zone.zone_pgdat.arena
    src_nr, src_off = src_arena._locate(from_.pfn)
    src = src_arena.views.get(src_nr)
    if src is None:
        clear_highpage(to)
        return
    dst_arena = to.zone.zone_pgdat.arena
    dst_nr, dst_off = dst_arena._locate(to.pfn)
    dst = dst_arena.views.get(dst_nr)
    if dst is None:
        dst_arena.frame(to.pfn)
        dst = dst_arena.views[dst_nr]
    dst[dst_off:dst_off + PAGE_SIZE] = src[src_off:src_off + PAGE_SIZE]
