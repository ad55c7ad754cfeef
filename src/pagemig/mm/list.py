"""Model of include/linux/list.h, for the ``page->lru`` linkage.

A page is linked through its own ``lru_next``/``lru_prev`` slots, as the
kernel embeds a ``list_head`` in ``struct page``: no per-entry Python object,
O(1) insert and delete, and the same list can be a zone LRU list, a
migration list or any other private list. A ``ListHead`` is the sentinel.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from .page import Page

    Node: TypeAlias = "ListHead | Page"


class ListHead:
    """A circular doubly linked list head (``struct list_head``)."""

    __slots__ = ("lru_next", "lru_prev", "owner")

    def __init__(self, owner: object = None) -> None:
        self.lru_next: Node = self
        self.lru_prev: Node = self
        # Who the list belongs to (a zone LRU list names its zone and lru);
        # None for private lists such as a migration list.
        self.owner = owner

    def __iter__(self) -> Iterator[Page]:
        return list_for_each_entry_safe(self)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"ListHead(owner={self.owner!r})"


def _list_add(new: Page, prev: Node, next_: Node) -> None:
    next_.lru_prev = new
    new.lru_next = next_
    new.lru_prev = prev
    prev.lru_next = new


def list_add(new: Page, head: ListHead) -> None:
    """Insert ``new`` right after ``head`` (stack order)."""
    _list_add(new, head, head.lru_next)


def list_add_tail(new: Page, head: ListHead) -> None:
    """Insert ``new`` before ``head`` (queue order)."""
    _list_add(new, head.lru_prev, head)


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
    first = src.lru_next
    last = src.lru_prev
    at = dst.lru_next
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
    entry = head.lru_next
    while entry is not head:
        next_ = entry.lru_next
        yield entry  # type: ignore[misc]
        assert next_ is not None
        entry = next_
