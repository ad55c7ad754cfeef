"""Shared helpers: tests hold page references through Machine.pin so that
Machine.check() can account for every reference."""

from __future__ import annotations

import pytest

from pagemig import Machine
from pagemig.mm.gfp import GFP_HIGHUSER_MOVABLE, GFP_THISNODE
from pagemig.mm.page import Page
from pagemig.mm.page_alloc import alloc_pages_exact_node
from pagemig.mm.swap import put_page


def alloc(machine: Machine, nid: int, gfp: int = GFP_HIGHUSER_MOVABLE | GFP_THISNODE) -> Page:
    page = alloc_pages_exact_node(machine, nid, gfp)
    assert page is not None, f"node {nid} is full"
    machine.pin(page)
    return page


def release(machine: Machine, page: Page) -> None:
    machine.unpin(page)
    put_page(page)


@pytest.fixture
def m2() -> Machine:
    return Machine(nodes=2, node_memory="64MiB")
