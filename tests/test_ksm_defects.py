"""Regression tests for the KSM defects and the impossible injected failure of
issue 21, under both kernel profiles."""

from __future__ import annotations

import pytest

from pagemig import PAGE_SIZE, Machine
from pagemig.mm import page as pg
from pagemig.mm.memory import follow_page
from pagemig.mm.mmap import find_vma
from pagemig.mm.page import Page
from pagemig.process import Process

MOVE_ALL = 4
PROFILES = ["2.6.35", "6.1"]


def page_at(p: Process, addr: int) -> Page:
    vma = find_vma(p.mm, addr)
    assert vma is not None
    page = follow_page(vma, addr, 0)
    assert isinstance(page, Page)
    return page


def swap_out_twice(m: Machine, node: int) -> None:
    """Reclaim puts the pages in the swap cache and writes them; a second
    reclaim after writeback frees them, leaving only swap entries."""
    m.deactivate_all(node)
    m.reclaim(node, 64)
    m.complete_writeback()
    m.deactivate_all(node)
    m.reclaim(node, 64)


# --- 1. a swapped-out KSM page comes back at two addresses -----------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_swapped_ksm_page_faulted_back_at_two_addresses_is_copied(profile: str) -> None:
    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p = m.spawn(uid=0, cpu=1)
    a = p.mmap(2 * PAGE_SIZE, populate=True)
    p.madvise_mergeable(a, 2 * PAGE_SIZE)
    assert m.ksm_merge() == 1
    swap_out_twice(m, 1)
    assert p.read(a, 1) == b"\0" and p.read(a + PAGE_SIZE, 1) == b"\0"
    m.check()
    first, second = page_at(p, a), page_at(p, a + PAGE_SIZE)
    assert first is not second, "ksm_might_need_to_copy: another index gets a copy"
    assert not pg.PageKsm(first) and not pg.PageKsm(second)
    assert pg.page_mapcount(first) == pg.page_mapcount(second) == 1
    # The page migrates with MOVE_ALL: nothing else maps it.
    assert p.move_pages(0, [a, a + PAGE_SIZE], [0, 0], MOVE_ALL).status == [0, 0]
    m.check()


@pytest.mark.parametrize("profile", PROFILES)
def test_swapped_ksm_page_read_and_written_back_keeps_every_byte(profile: str) -> None:
    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p = m.spawn(uid=0, cpu=1)
    a = p.mmap(3 * PAGE_SIZE)
    for i in range(3):
        p.write(a + i * PAGE_SIZE, b"twin" * (PAGE_SIZE // 4))
    p.madvise_mergeable(a, 3 * PAGE_SIZE)
    assert m.ksm_merge() == 2
    swap_out_twice(m, 1)
    assert p.read(a + 2 * PAGE_SIZE, 4) == b"twin"  # the swap-cache page is index 2's now
    m.check()
    assert p.read(a, 4) == b"twin"  # index 0 maps a copy
    m.check()
    p.write(a, b"head")
    m.check()
    p.write(a + 2 * PAGE_SIZE, b"last")
    assert p.read(a + PAGE_SIZE, PAGE_SIZE) == b"twin" * (PAGE_SIZE // 4)
    assert p.read(a, 8) == b"headtwin" and p.read(a + 2 * PAGE_SIZE, 8) == b"lasttwin"
    m.check()


@pytest.mark.parametrize("profile", PROFILES)
def test_forked_child_swapping_in_its_parents_page(profile: str) -> None:
    """2.6.35 compares the page's anon_vma with the VMA's own, so a child
    faulting in a page its parent faulted in first gets a copy; 6.1 compares
    the roots of the two anon_vmas and shares the page."""
    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p = m.spawn(uid=0, cpu=1)
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"family")
    c = p.fork()
    swap_out_twice(m, 1)
    assert p.read(a, 6) == b"family"
    assert c.read(a, 6) == b"family"
    m.check()
    shared = page_at(c, a) is page_at(p, a)
    assert shared == (profile == "6.1")


# --- 2. mremap of a VMA holding KSM pages ----------------------------------------------------


def two_twins_with_a_neighbour(m: Machine) -> tuple[Process, int]:
    """Two identical pages and a mapping right after them, so that growing
    them with mremap must move them."""
    p = m.spawn(uid=0, cpu=1)
    a = p.mmap(2 * PAGE_SIZE)
    p.mmap(PAGE_SIZE, addr=a + 2 * PAGE_SIZE, fixed=True)
    p.write(a, b"k" * PAGE_SIZE)
    p.write(a + PAGE_SIZE, b"k" * PAGE_SIZE)
    return p, a


@pytest.mark.parametrize("profile", PROFILES)
def test_mremap_moving_ksm_pages_unmerges_them_first(profile: str) -> None:
    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p, a = two_twins_with_a_neighbour(m)
    p.madvise_mergeable(a, 2 * PAGE_SIZE)
    assert m.ksm_merge() == 1
    n = p.mremap(a, 2 * PAGE_SIZE, 3 * PAGE_SIZE)
    assert n != a
    m.check()
    first, second = page_at(p, n), page_at(p, n + PAGE_SIZE)
    assert not pg.PageKsm(first) and not pg.PageKsm(second) and first is not second
    assert p.read(n, PAGE_SIZE) == p.read(n + PAGE_SIZE, PAGE_SIZE) == b"k" * PAGE_SIZE
    # The moved VMA is still mergeable: KSM merges the pages again there.
    assert m.ksm_merge() == 1
    assert pg.PageKsm(page_at(p, n)) and page_at(p, n) is page_at(p, n + PAGE_SIZE)
    m.check()


@pytest.mark.parametrize("profile", PROFILES)
def test_ksm_merge_after_a_forked_child_moved_its_copy(profile: str) -> None:
    """The child moves its copy-on-write copy, then the parent's page becomes
    a KSM page in place, still mapped by the child at the new address, where
    rmap_walk_ksm never looks (the kernel's own blind spot,
    docs/kernel-bugs.md): check() accepts exactly that mapping, and the page
    cannot be unmapped from the child."""
    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p, a = two_twins_with_a_neighbour(m)
    c = p.fork()
    n = c.mremap(a, 2 * PAGE_SIZE, 3 * PAGE_SIZE)
    assert n != a
    p.madvise_mergeable(a, 2 * PAGE_SIZE)
    assert m.ksm_merge() == 1
    kpage = page_at(p, a)
    assert pg.PageKsm(kpage) and page_at(c, n) is kpage
    m.check()
    swap_out_twice(m, 1)
    m.check()
    assert page_at(c, n) is kpage, "reclaim cannot unmap the child's mapping"
    assert p.read(a, PAGE_SIZE) == c.read(n, PAGE_SIZE) == b"k" * PAGE_SIZE
    c.write(n, b"child")
    m.check()
    assert p.read(a, 5) == b"kkkkk" and c.read(n, 5) == b"child"


# --- 3. fault injection fails only where the kernel can fail ---------------------------------


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("space", [0, 1, 2, 3])
def test_injected_trylock_failure_never_hits_migrations_new_page(profile: str, space: int) -> None:
    """move_to_new_page locks the page it just allocated under BUG_ON: no one
    else can know it. The trylock_page fault point skips such a page, whatever
    call it would otherwise have counted."""
    m = Machine(nodes=2, node_memory="4MiB", profile=profile)
    p = m.spawn(uid=0, cpu=0)
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"moved")
    old = page_at(p, a)
    with m.inject("trylock_page", times=1, space=space) as rule:
        status = p.move_pages(0, [a], [1], 2).status
    assert status == [1]
    assert rule.hits == (1 if space == 0 else 0), "only the old page's trylock can fail"
    assert m.faults.log == ([("trylock_page", {"pfn": old.pfn})] if space == 0 else [])
    assert p.read(a, 5) == b"moved" and p.node_of(a) == 1
    m.check()


@pytest.mark.parametrize("fs", ["ramfs", "ext2", "vfat"])
def test_injected_readpage_failure_only_on_a_filesystem_with_a_device(fs: str) -> None:
    """ramfs's ->readpage (simple_readpage) reads no device and cannot fail;
    the block filesystems' (mpage_readpage) can."""
    m = Machine(nodes=2, node_memory="4MiB")
    f = m.create_file("/f", size=PAGE_SIZE, fs=fs)
    p = m.spawn(uid=0, cpu=0)
    a = p.mmap(PAGE_SIZE, file=f, shared=True)
    with m.inject("readpage") as rule:
        if fs == "ramfs":
            assert p.read(a, 1) == b"\0"
        else:
            with pytest.raises(OSError, match="SIGBUS"):
                p.read(a, 1)
    assert rule.hits == (0 if fs == "ramfs" else 1)
    m.check()
