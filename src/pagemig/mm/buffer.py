"""Model of fs/buffer.c: buffer heads of block-filesystem pages.

A page with buffers has PG_private, page->private = the first buffer head,
and the buffers form a ring through b_this_page. Attaching buffers takes one
page reference (which migrate_page_move_mapping's expected count includes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .bug import BUG_ON
from .filemap import page_mapping
from .page import (
    PAGE_SIZE,
    ClearPagePrivate,
    Page,
    PageDirty,
    PagePrivate,
    PageWriteback,
    SetPagePrivate,
    TestSetPageDirty,
    get_page,
)
from .page_writeback import _set_page_dirty_nobuffers, cancel_dirty_page
from .sched import wait_until
from .swap import put_page

if TYPE_CHECKING:
    from .filemap import AddressSpace

BH_Uptodate: Final = 0
BH_Dirty: Final = 1
BH_Lock: Final = 2
BH_Mapped: Final = 5
BH_Async_Write: Final = 7


class BufferHead:
    """struct buffer_head."""

    __slots__ = ("b_blocknr", "b_count", "b_offset", "b_page", "b_size", "b_state", "b_this_page")

    def __init__(self, page: Page, offset: int, size: int) -> None:
        self.b_state = 0
        self.b_this_page: BufferHead = self
        self.b_page = page
        self.b_offset = offset
        self.b_size = size
        self.b_count = 0
        self.b_blocknr = -1

    def __repr__(self) -> str:
        return f"<bh page={self.b_page.pfn:#x} off={self.b_offset} state={self.b_state:#x}>"


def buffer_dirty(bh: BufferHead) -> bool:
    return bh.b_state >> BH_Dirty & 1 != 0


def buffer_locked(bh: BufferHead) -> bool:
    return bh.b_state >> BH_Lock & 1 != 0


def set_buffer_dirty(bh: BufferHead) -> None:
    bh.b_state |= 1 << BH_Dirty


def clear_buffer_dirty(bh: BufferHead) -> None:
    bh.b_state &= ~(1 << BH_Dirty)


def set_buffer_uptodate(bh: BufferHead) -> None:
    bh.b_state |= 1 << BH_Uptodate


def page_has_buffers(page: Page) -> bool:
    return PagePrivate(page) and isinstance(page.private, BufferHead)


def page_buffers(page: Page) -> BufferHead:
    BUG_ON(not page_has_buffers(page), "page_buffers of a page without buffers")
    head = page.private
    assert isinstance(head, BufferHead)
    return head


def buffers_of(page: Page) -> list[BufferHead]:
    head = page_buffers(page)
    ring = [head]
    bh = head.b_this_page
    while bh is not head:
        ring.append(bh)
        bh = bh.b_this_page
    return ring


def bh_offset(bh: BufferHead) -> int:
    return bh.b_offset


def set_bh_page(bh: BufferHead, page: Page, offset: int) -> None:
    bh.b_page = page
    bh.b_offset = offset


def get_bh(bh: BufferHead) -> None:
    bh.b_count += 1


def put_bh(bh: BufferHead) -> None:
    BUG_ON(bh.b_count <= 0, "put_bh of an unreferenced buffer")
    bh.b_count -= 1


def trylock_buffer(bh: BufferHead) -> bool:
    if buffer_locked(bh):
        return False
    bh.b_state |= 1 << BH_Lock
    return True


def lock_buffer(bh: BufferHead) -> None:
    """Sleep until the buffer is unlocked (its I/O completes), then take it."""
    machine = bh.b_page.zone.machine
    if buffer_locked(bh):
        machine.complete_writeback_of(bh.b_page)
    wait_until(machine, lambda: not buffer_locked(bh), "lock_buffer")
    bh.b_state |= 1 << BH_Lock


def unlock_buffer(bh: BufferHead) -> None:
    BUG_ON(not buffer_locked(bh), "unlock_buffer of an unlocked buffer")
    bh.b_state &= ~(1 << BH_Lock)


def attach_page_buffers(page: Page, head: BufferHead) -> None:
    get_page(page)
    SetPagePrivate(page)
    page.private = head


def create_empty_buffers(page: Page, blocksize: int, b_state: int = 0) -> BufferHead:
    """Give a page a ring of PAGE_SIZE / blocksize buffers."""
    heads = [BufferHead(page, off, blocksize) for off in range(0, PAGE_SIZE, blocksize)]
    for bh, nxt in zip(heads, heads[1:] + heads[:1], strict=True):
        bh.b_this_page = nxt
        bh.b_state = b_state
    if PageDirty(page):
        for bh in heads:
            set_buffer_dirty(bh)
    attach_page_buffers(page, heads[0])
    return heads[0]


def _clear_page_buffers(page: Page) -> None:

    ClearPagePrivate(page)
    page.private = 0
    put_page(page)


def buffer_busy(bh: BufferHead) -> bool:
    return bh.b_count != 0 or bh.b_state & ((1 << BH_Dirty) | (1 << BH_Lock)) != 0


def drop_buffers(page: Page) -> bool:
    if any(buffer_busy(bh) for bh in buffers_of(page)):
        return False
    _clear_page_buffers(page)
    return True


def try_to_free_buffers(page: Page) -> int:
    """Detach the page's buffers if none is busy; 1 on success."""

    if PageWriteback(page):
        return 0
    mapping = page_mapping(page)
    if mapping is None:
        return int(drop_buffers(page))
    ret = drop_buffers(page)
    if ret:
        # All buffers were clean, so the page need not be written.

        cancel_dirty_page(page)
    return int(ret)


def _set_page_dirty_buffers(page: Page) -> int:
    """__set_page_dirty_buffers: dirty every buffer and the page (accounted)."""

    mapping = page_mapping(page)
    if mapping is None:
        return int(not TestSetPageDirty(page))
    if page_has_buffers(page):
        for bh in buffers_of(page):
            set_buffer_dirty(bh)
    return _set_page_dirty_nobuffers(page)


def block_invalidate(mapping: AddressSpace, page: Page) -> None:
    """Truncation drops a page's buffers (block_invalidatepage, whole page)."""
    if page_has_buffers(page):
        for bh in buffers_of(page):
            clear_buffer_dirty(bh)
        try_to_free_buffers(page)
