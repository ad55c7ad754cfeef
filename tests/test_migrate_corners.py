"""Corner branches of mm/migrate.c reached through real state."""

from __future__ import annotations

import errno

from pagemig import PAGE_SIZE, Machine
from pagemig.mm import page as pg
from pagemig.mm.buffer import buffers_of, get_bh, page_has_buffers, put_bh
from pagemig.mm.filemap import filemap_fdatawrite
from pagemig.mm.list import ListHead
from pagemig.mm.migrate import PageToNode, migrate_pages, remove_migration_ptes
from pagemig.mm.pagemap import trylock_page, unlock_page
from pagemig.mm.pgtable import is_swap_pte, pte_to_swp_entry
from pagemig.mm.swap import lru_add_drain_all
from pagemig.mm.swapops import is_migration_entry
from pagemig.process import Process

from .conftest import isolate_onto, new_on, page_at

MOVE = 2


def setup() -> tuple[Machine, Process]:
    m = Machine(nodes=2, node_memory="64MiB", swap="16MiB")
    return m, m.spawn(uid=1000, cpu=0)



def test_traced_migration_emits_kernel_style_events() -> None:
    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"t")
    m.trace.enable("*migrat*")
    assert p.move_pages(0, [a], [1], MOVE).status == [1]
    names = [e.name for e in m.trace.events()]
    assert names == ["remove_migration_pte", "mm_migrate_pages"]
    (done,) = m.trace.events("mm_migrate_pages")
    assert done.fields["succeeded"] == 1 and done.fields["failed"] == 0


def test_remap_walk_skips_vmas_without_tables_empty_ptes_and_swap_ptes() -> None:
    """The rmap walk of a parent's page also visits the children's VMAs
    (anon_vma_fork links them): one has no page table there, one has an
    empty pte, one has a real swap entry at that address."""
    m, p = setup()
    a = p.mmap(512 * PAGE_SIZE)  # a whole pmd
    bare = p.fork()  # no ptes yet: its VMA has no page table at all
    p.write(a + PAGE_SIZE, b"neighbour")
    empty = p.fork()  # has the pmd, nothing at a
    p.write(a, b"x")
    swapped = p.fork()
    swapped.write(a, b"child copy")  # COW: its own page at a ...
    m.deactivate_all(0)
    m.reclaim(0, 1000)  # ... reclaimed to swap
    m.complete_writeback()
    assert is_swap_pte(swapped.mm.ptes[a >> 12])
    assert not is_migration_entry(pte_to_swp_entry(swapped.mm.ptes[a >> 12]))
    p.read(a, 1)  # swap the parent's page back in (now mapped and exclusive)
    root = m.spawn(uid=0)
    assert root.move_pages(p.pid, [a], [1], MOVE).status == [1]
    assert p.read(a, 1) == b"x" and swapped.read(a, 10) == b"child copy"
    assert empty.read(a + PAGE_SIZE, 9) == b"neighbour" and bare.read(a, 1) == b"\0"
    m.check()


def test_file_page_with_an_extra_reference_cannot_move_its_mapping() -> None:
    m, p = setup()
    clean = m.create_file("/e/clean", size=PAGE_SIZE, fs="ext2", data=b"c")
    buffered = m.create_file("/e/buf", size=PAGE_SIZE, fs="ext2", data=b"b")
    a = p.mmap(PAGE_SIZE, file=clean, shared=True)
    b = p.mmap(PAGE_SIZE, file=buffered, shared=True)
    p.read(a, 1)
    p.write(b, b"B")
    filemap_fdatawrite(buffered.mapping)
    m.complete_writeback()
    assert page_has_buffers(page_at(p, b)) and not page_has_buffers(page_at(p, a))
    for addr in (a, b):
        page = page_at(p, addr)
        pg.get_page(page)
        m.pin(page)
    assert p.move_pages(0, [a, b], [1, 1], MOVE).status == [-errno.EAGAIN] * 2
    m.check()


def test_orphaned_page_with_busy_buffers_is_freed_and_dropped() -> None:
    m, p = setup()
    f = m.create_file("/e/orphan", size=PAGE_SIZE, fs="ext2")
    a = p.mmap(PAGE_SIZE, file=f, shared=True)
    p.write(a, b"o")
    filemap_fdatawrite(f.mapping)
    m.complete_writeback()
    page = page_at(p, a)
    head = ListHead(m)
    isolate_onto(m, page, head)
    bh = buffers_of(page)[0]
    get_bh(bh)  # someone still uses a buffer: truncation cannot drop them
    m.truncate("/e/orphan", 0)
    assert page.mapping is None and page_has_buffers(page) and not pg.PageAnon(page)
    put_bh(bh)
    with p.running():
        assert migrate_pages(head, new_on(1), None, 0) == 0
    attempts = [a for a in m.account.attempts if a.pfn == page.pfn]
    assert "orphaned page, buffers freed" in attempts[0].why
    assert "freed under us" in attempts[1].why
    lru_add_drain_all(m)
    assert pg.PageBuddy(page)
    m.check()


def test_list_without_owner_and_chunk_entry_repr() -> None:
    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"x")
    head = ListHead()  # the machine is found through the first page
    isolate_onto(m, page_at(p, a), head)
    with p.running():
        assert migrate_pages(head, new_on(1), None, 0) == 0
    assert p.node_of(a) == 1
    entry = PageToNode()
    entry.addr, entry.node, entry.status = 0x1000, 1, -2
    assert repr(entry) == "<pm addr=0x1000 node=1 status=-2>"
    m.check()


def test_restoring_ptes_after_a_failed_move_leaves_the_page_mapped() -> None:
    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"r")
    page = page_at(p, a)
    assert trylock_page(page)
    remove_migration_ptes(page, page)  # nothing to restore: the walk finds present ptes
    unlock_page(page)
    assert page_at(p, a) is page
    m.check()


def test_page_left_not_uptodate_by_a_read_error_migrates_without_uptodate() -> None:
    m = Machine(nodes=1, node_memory="8MiB")
    p = m.spawn()
    f = m.create_file("/e/bad", size=PAGE_SIZE, fs="ext2", data=b"unreadable")
    a = p.mmap(PAGE_SIZE, file=f, shared=True)
    import pytest

    with m.inject("readpage", path="/e/bad"), pytest.raises(OSError, match="SIGBUS"):
        p.read(a, 1)
    (page,) = f.mapping.page_tree.values()
    assert not pg.PageUptodate(page) and pg.PageError(page)
    moved, _ = m.compact(0)
    (new,) = f.mapping.page_tree.values()
    assert moved >= 1 and new is not page
    assert not pg.PageUptodate(new) and pg.PageError(new), "PG_error copied, uptodate not"
    m.check()
    assert p.read(a, 10) == b"unreadable", "a later fault reads it again"
    m.check()


def test_shmem_page_in_the_swap_cache_migrates_without_rmap() -> None:
    """After shmem_writepage the page has no mapping, is not anon and has no
    private data: unmap_and_move skips the unmap and migrates it in the swap
    cache through swap_aops."""
    m = Machine(nodes=1, node_memory="8MiB", swap="4MiB")
    p = m.spawn()
    s = p.mmap(PAGE_SIZE, shared=True)
    p.write(s, b"tmpfs data")
    m.deactivate_all(0)
    m.reclaim(0, 100)
    m.complete_writeback()
    (page,) = m.swapper_space.page_tree.values()
    assert page.mapping is None and not pg.PageAnon(page) and pg.PageSwapBacked(page)
    m.compact(0)
    (new,) = m.swapper_space.page_tree.values()
    assert new is not page
    attempts = [a for a in m.account.attempts if a.pfn == page.pfn]
    assert attempts and attempts[-1].rc == 0
    assert p.read(s, 10) == b"tmpfs data"
    m.check()
