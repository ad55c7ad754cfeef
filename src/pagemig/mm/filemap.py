"""Model of mm/filemap.c and struct address_space (include/linux/fs.h).

This issue provides the structure the LRU and page-flag code consult
(``mapping->flags`` with AS_UNEVICTABLE and the gfp mask); the page cache
operations come with the page-cache model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from .gfp import GFP_HIGHUSER_MOVABLE
from .page import PAGE_MAPPING_ANON, Page, PageMapping, PG_swapcache
from .spinlock import SpinLock

if TYPE_CHECKING:
    from .sched import SchedulerHost


@dataclass(frozen=True)
class AddressSpaceOperations:
    """struct address_space_operations: an empty slot keeps its meaning (None)."""

    name: str = "none"


class AddressSpace(PageMapping):
    """struct address_space."""

    __slots__ = ("a_ops", "flags", "host", "nrpages", "page_tree", "tree_lock")
    mapping_flags: ClassVar[int] = 0

    def __init__(self, host_machine: SchedulerHost, host: object = None,
                 a_ops: AddressSpaceOperations | None = None) -> None:
        self.host = host
        self.flags = GFP_HIGHUSER_MOVABLE
        self.a_ops = a_ops or AddressSpaceOperations()
        self.page_tree: dict[int, Page] = {}
        self.nrpages = 0
        self.tree_lock = SpinLock(host_machine, "tree_lock")


_SWAPCACHE = 1 << PG_swapcache


def page_mapping(page: Page) -> AddressSpace | None:
    """The address_space a page belongs to: swapper_space for swap-cache pages,
    None for anonymous pages, else page->mapping (include/linux/mm.h)."""
    if page.flags & _SWAPCACHE:
        return page.zone.machine.swapper_space
    mapping = page.mapping
    if mapping is None or mapping.mapping_flags & PAGE_MAPPING_ANON:
        return None
    assert isinstance(mapping, AddressSpace)
    return mapping
