"""Model of include/linux/list.h, for the ``page->lru`` linkage.

A page is linked through its own ``lru_next``/``lru_prev`` slots, as the
kernel embeds a ``list_head`` in ``struct page``: no per-entry Python object,
O(1) insert and delete, and the same list can be a zone LRU list, a
migration list or any other private list. A ``ListHead`` is the sentinel.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .page import Page


class ListNode:
    """The two links of a ``struct list_head``: a list's head, or the
    ``lru`` member embedded in a ``struct page`` (``Page`` derives from it).
    An entry on no list has both links None. One base class, so that a
    compiled build writes the links as struct fields."""

    __slots__ = ("lru_next", "lru_prev")

    def __init__(self) -> None:
        self.lru_next: ListNode | None = None
        self.lru_prev: ListNode | None = None


class ListHead(ListNode):
    """A circular doubly linked list head (``struct list_head``); its links
    are never None."""

    __slots__ = ("owner",)

    def __init__(self, owner: object = None) -> None:
        self.lru_next = self
        self.lru_prev = self
        # Who the list belongs to (a zone LRU list names its zone and lru);
        # None for private lists such as a migration list.
        self.owner = owner

    def __iter__(self) -> Iterator[Page]:
        return list_for_each_entry_safe(self)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"ListHead(owner={self.owner!r})"


def _linked(node: ListNode | None) -> ListNode:
    """A link of a node that is on a list (a list's links are never None)."""
    assert node is not None, "a list entry with a cleared link"
    return node


def _list_add(new: ListNode, prev: ListNode, next_: ListNode) -> None:
    next_.lru_prev = new
    new.lru_next = next_
    new.lru_prev = prev
    prev.lru_next = new


def list_add(new: Page, head: ListHead) -> None:
    """Insert ``new`` right after ``head`` (stack order)."""
    _list_add(new, head, _linked(head.lru_next))


def list_add_tail(new: Page, head: ListHead) -> None:
    """Insert ``new`` before ``head`` (queue order)."""
    _list_add(new, _linked(head.lru_prev), head)


def list_del(entry: Page) -> None:
    """Unlink ``entry``; its links are cleared (the kernel poisons them)."""
    next_ = entry.lru_next
    prev = entry.lru_prev
    if next_ is None or prev is None:
        from .bug import KernelBug, dump_page

        raise KernelBug(f"list_del of an unlinked entry: {dump_page(entry)}")
    next_.lru_prev = prev
    prev.lru_next = next_
    entry.lru_next = None
    entry.lru_prev = None


def list_move(entry: Page, head: ListHead) -> None:
    list_del(entry)
    list_add(entry, head)


def list_move_tail(entry: Page, head: ListHead) -> None:
    list_del(entry)
    list_add_tail(entry, head)


def list_empty(head: ListHead) -> bool:
    return head.lru_next is head


def list_splice_init(src: ListHead, dst: ListHead) -> None:
    """Move every entry of ``src`` to the front of ``dst``; ``src`` becomes empty."""
    if list_empty(src):
        return
    first = _linked(src.lru_next)
    last = _linked(src.lru_prev)
    at = _linked(dst.lru_next)
    first.lru_prev = dst
    dst.lru_next = first
    last.lru_next = at
    at.lru_prev = last
    src.lru_next = src
    src.lru_prev = src


def lru_to_page(head: ListHead) -> Page:
    """``lru_to_page``: the entry at the tail of the list (migrate.c L39)."""
    from .page import Page

    entry = head.lru_prev
    assert isinstance(entry, Page)
    return entry


def list_for_each_entry_safe(head: ListHead) -> Iterator[Page]:
    """Iterate while allowing the current entry to be removed (or moved)."""
    from .page import Page

    entry = _linked(head.lru_next)
    while entry is not head:
        next_ = entry.lru_next
        assert isinstance(entry, Page)
        yield entry
        entry = _linked(next_)
