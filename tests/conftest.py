"""Shared helpers: tests hold page references through Machine.pin so that
Machine.check() can account for every reference."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pagemig import Machine, Process
from pagemig.mm.gfp import GFP_HIGHUSER_MOVABLE, GFP_THISNODE
from pagemig.mm.list import ListHead, list_add_tail
from pagemig.mm.memory import follow_page
from pagemig.mm.mm_inline import page_is_file_cache
from pagemig.mm.mmap import find_vma
from pagemig.mm.mmzone import ZoneStatItem
from pagemig.mm.page import Page
from pagemig.mm.page_alloc import alloc_pages_exact_node
from pagemig.mm.swap import lru_add_drain_all, put_page
from pagemig.mm.vmscan import isolate_lru_page


def alloc(machine: Machine, nid: int, gfp: int = GFP_HIGHUSER_MOVABLE | GFP_THISNODE) -> Page:
    page = alloc_pages_exact_node(machine, nid, gfp)
    assert page is not None, f"node {nid} is full"
    machine.pin(page)
    return page


def release(machine: Machine, page: Page) -> None:
    machine.unpin(page)
    put_page(page)


def isolate_onto(m: Machine, page: Page, head: ListHead) -> None:
    """What a migration caller does: drain, isolate, queue, count NR_ISOLATED_*."""
    lru_add_drain_all(m)
    assert isolate_lru_page(page) == 0
    list_add_tail(page, head)
    page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON + page_is_file_cache(page)] += 1


def new_on(node: int) -> Callable[[Page, object, object], Page | None]:
    """A new_page_t allocating on ``node`` with GFP_THISNODE."""
    return lambda page, private, result: alloc_pages_exact_node(
        page.zone.machine, node, GFP_HIGHUSER_MOVABLE | GFP_THISNODE, 0)


def page_at(p: Process, addr: int) -> Page:
    """The struct page that p's pte at ``addr`` points to (the pte must exist)."""
    return p.machine.pfn_to_page(p.mm.ptes[addr >> 12] >> 12)


def follow_page_at(p: Process, addr: int) -> Page | None:
    """What follow_page finds at ``addr`` in p (None: no VMA, nothing present, no page)."""
    vma = find_vma(p.mm, addr)
    if vma is None:
        return None
    page = follow_page(vma, addr, 0)
    return page if isinstance(page, Page) else None


@pytest.fixture
def m2() -> Machine:
    return Machine(nodes=2, node_memory="64MiB")


@pytest.fixture(autouse=True)
def _fixed_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich and typer wrap at COLUMNS: every test sees the same width,
    whatever terminal runs the suite."""
    monkeypatch.setenv("COLUMNS", "100")
