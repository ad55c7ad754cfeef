"""The worked examples of kernel-spec.md section 12, one test each, through
the public API: a two-node machine (nodes 0 and 1, 4 KiB pages), the caller
moving its own pages (pid 0, MPOL_MF_MOVE, every node allowed). Each test
checks the exact return value and status array the section gives, where the
pages end up, that the data survived, and ``Machine.check()``.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

import pytest

from pagemig import PAGE_SIZE, Machine
from pagemig.mm.gfp import GFP_HIGHUSER_MOVABLE, GFP_THISNODE
from pagemig.mm.mempolicy import MPOL_BIND, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL
from pagemig.mm.mmap import VM_HUGETLB, find_vma
from pagemig.mm.mmzone import ZoneStatItem
from pagemig.mm.page import get_page, page_mapcount
from pagemig.mm.page_alloc import alloc_pages_exact_node
from pagemig.mm.pgtable import pte_dirty, pte_young
from pagemig.mm.swap import put_page
from pagemig.process import Process
from pagemig.results import MovePagesResult

from .conftest import follow_page_at as page_at


@pytest.fixture
def m() -> Iterator[Machine]:
    machine = Machine(nodes=2, node_memory="64MiB")
    yield machine
    machine.check()



def payload(i: int) -> bytes:
    return bytes((i * 7 + k) % 256 for k in range(32))


def move(p: Process, pages: list[int], nodes: list[int] | None,
         flags: int = MPOL_MF_MOVE) -> MovePagesResult:
    r = p.move_pages(0, pages, nodes, flags)
    assert r.ret == 0
    return r


def test_example_1_exclusive_anon_page_moves(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    p.write(a, payload(1))
    old = page_at(p, a)
    assert old is not None and old.zone.node_id == 0 and page_mapcount(old) == 1
    move(p, [a], [0])  # the arrays' own pages exist before the counters are read
    z0 = old.zone
    before0 = z0.vm_stat[ZoneStatItem.NR_ANON_PAGES]
    r = move(p, [a], [1])
    assert r.status == [1]
    new = page_at(p, a)
    assert new is not None and new is not old and new.zone.node_id == 1
    pte = p.mm.ptes[a >> 12]
    assert not pte_dirty(pte) and not pte_young(pte)
    assert z0.vm_stat[ZoneStatItem.NR_ANON_PAGES] == before0 - 1
    assert new.zone.vm_stat[ZoneStatItem.NR_ANON_PAGES] == 1
    assert p.read(a, 32) == payload(1)


def test_example_2_page_already_on_the_node(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    p.write(a, payload(2))
    page = page_at(p, a)
    r = move(p, [a], [0])
    assert r.status == [0]
    assert page_at(p, a) is page  # nothing copied
    assert p.read(a, 32) == payload(2)


def test_example_3_page_shared_with_a_forked_child(m: Machine) -> None:
    p = m.spawn(uid=0)  # root holds CAP_SYS_NICE for the second call
    a = p.mmap(PAGE_SIZE)
    p.write(a, payload(3))
    child = p.fork()
    page = page_at(p, a)
    assert page is not None and page_mapcount(page) == 2
    assert move(p, [a], [1]).status == [-errno.EACCES]
    assert p.node_of(a) == 0
    assert move(p, [a], [1], MPOL_MF_MOVE_ALL).status == [1]
    assert p.node_of(a) == 1 and child.node_of(a) == 1
    assert p.read(a, 32) == payload(3) and child.read(a, 32) == payload(3)


def test_example_4_never_touched_page(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    assert move(p, [a], [1]).status == [-errno.ENOENT]


def test_example_5_read_only_touched_page_maps_the_zero_page(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    assert p.read(a, 16) == bytes(16)
    assert page_at(p, a) is m.zero_page
    assert move(p, [a], [1]).status == [-errno.ENOENT]


def test_example_6_address_just_unmapped(m: Machine) -> None:
    p = m.spawn()
    top = p.mmap(PAGE_SIZE)  # the highest mapping
    p.write(top, payload(6))
    middle = p.mmap(PAGE_SIZE)
    p.write(middle, payload(7))
    below = p.mmap(PAGE_SIZE)
    p.write(below, payload(8))
    move(p, [below], None)  # the arrays' own mapping exists before the munmaps
    p.munmap(middle, PAGE_SIZE)
    assert find_vma(p.mm, middle) is not None  # a mapping above it
    assert move(p, [middle], [1]).status == [-errno.ENOENT]
    p.munmap(top, PAGE_SIZE)
    assert find_vma(p.mm, top) is None  # nothing above it
    assert move(p, [top], [1]).status == [-errno.EFAULT]
    assert p.read(below, 32) == payload(8)


def test_example_7_page_pinned_for_the_whole_call(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    p.write(a, payload(9))
    page = page_at(p, a)
    assert page is not None
    get_page(page)
    m.pin(page)
    r = move(p, [a], [1])
    assert (r.status, r.ret) == ([-errno.EAGAIN], 0)
    assert p.node_of(a) == 0
    m.check()
    m.unpin(page)
    put_page(page)
    assert p.read(a, 32) == payload(9)


def test_example_8_invalid_node_in_the_second_chunk() -> None:
    m = Machine(nodes=2, node_memory="64MiB")
    p = m.spawn()
    a = p.mmap(300 * PAGE_SIZE)
    pages = [a + i * PAGE_SIZE for i in range(300)]
    for i, addr in enumerate(pages):
        p.write(addr, payload(i))
    nodes = [1] * 300
    nodes[200] = 99
    with pytest.raises(OSError) as info:
        p.move_pages(0, pages, nodes, MPOL_MF_MOVE)
    assert info.value.errno == errno.ENODEV
    status = info.value.result.status  # type: ignore[attr-defined]
    assert status[:169] == [1] * 169
    assert status[169:] == [None] * 131
    assert [p.node_of(x) for x in pages] == [1] * 169 + [0] * 131
    assert all(p.read(x, 32) == payload(i) for i, x in enumerate(pages))
    m.check()


def test_example_9_node_1_exhausted() -> None:
    m = Machine(nodes=2, node_memory=["64MiB", "1MiB"])
    held = []
    while (page := alloc_pages_exact_node(m, 1, GFP_HIGHUSER_MOVABLE | GFP_THISNODE)) is not None:
        m.pin(page)
        held.append(page)
    for page in held[-2:]:  # room for two pages of the chunk
        m.unpin(page)
        put_page(page)
    del held[-2:]
    p = m.spawn()
    a = p.mmap(4 * PAGE_SIZE)
    pages = [a + i * PAGE_SIZE for i in range(4)]
    for i, addr in enumerate(pages):
        p.write(addr, payload(i))
    with pytest.raises(OSError) as info:
        p.move_pages(0, pages, [1, 1, 1, 1], MPOL_MF_MOVE)
    assert info.value.errno == errno.ENOMEM
    assert info.value.result.status == [None] * 4  # type: ignore[attr-defined]
    assert [p.node_of(x) for x in pages] == [1, 1, 0, 0]  # earlier in the chunk: moved
    assert all(p.read(x, 32) == payload(i) for i, x in enumerate(pages))
    m.check()
    for page in held:
        m.unpin(page)
        put_page(page)
    m.check()


def test_example_10_same_address_twice(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(2 * PAGE_SIZE)
    x, y = a, a + PAGE_SIZE
    p.write(x, payload(10))
    p.write(y, payload(11))
    # nodes [1, 0]: entry 0 isolates, entry 1 "already on node 0" records the page
    assert move(p, [x, x], [1, 0]).status == [1, 0]
    assert p.node_of(x) == 1
    # nodes [0, 1]: entry 0's node wins; a copy to another node-0 page
    old = page_at(p, y)
    assert move(p, [y, y], [0, 1]).status == [0, 0]
    assert p.node_of(y) == 0 and page_at(p, y) is not old
    assert p.read(x, 32) == payload(10) and p.read(y, 32) == payload(11)


def test_example_11_query_mode_for_a_hugetlb_page() -> None:
    """Query mode reports the node of the huge page at any address inside it
    (follow_huge_pmd's sub-page); move mode refuses the VMA (-EFAULT)."""
    m = Machine(nodes=2, node_memory="64MiB", hugepages=[1, 1])
    p = m.spawn()
    huge = 2 * 1024 * 1024
    f = m.create_file("/hugetlbfs/f", size=huge, fs="hugetlbfs")
    p.set_mempolicy(MPOL_BIND, [1])
    a = p.mmap(huge, file=f, shared=True)
    p.write(a + 5 * PAGE_SIZE, payload(13))
    vma = find_vma(p.mm, a)
    assert vma is not None and vma.vm_flags & VM_HUGETLB
    assert move(p, [a, a + 5 * PAGE_SIZE + 17, a + huge - 1], None).status == [1, 1, 1]
    assert move(p, [a], [0]).status == [-errno.EFAULT]
    assert p.node_of(a) == 1 and p.read(a + 5 * PAGE_SIZE, 32) == payload(13)
    m.check()
