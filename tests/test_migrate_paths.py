"""mm/migrate.c through real model state: every branch of unmap_and_move,
the migratepage methods, and the retry passes of migrate_pages."""

from __future__ import annotations

import errno

import pytest

from pagemig import PAGE_SIZE, KernelBug, Machine
from pagemig.mm import page as pg
from pagemig.mm.buffer import buffers_of, get_bh, page_has_buffers, put_bh
from pagemig.mm.filemap import filemap_fdatawrite
from pagemig.mm.list import ListHead
from pagemig.mm.mmzone import LRU_UNEVICTABLE, NR_LRU_BASE, ZoneStatItem
from pagemig.mm.sched import PF_SWAPWRITE
from pagemig.mm.vmstat import PGMIGRATE_FAIL, PGMIGRATE_SUCCESS
from pagemig.process import Process

from .conftest import isolate_onto, new_on, page_at

MOVE, MOVE_ALL = 2, 4



def setup(nodes: int = 2, **kw: object) -> tuple[Machine, Process]:
    m = Machine(nodes=nodes, node_memory="64MiB", swap="16MiB", **kw)  # type: ignore[arg-type]
    return m, m.spawn(uid=1000, cpu=0)


def attempts_for(m: Machine, pfn: int) -> list[tuple[int, bool, str]]:
    return [(a.rc, a.forced, a.why) for a in m.account.attempts if a.pfn == pfn]


def test_anonymous_page_moves_with_its_data_and_the_old_frame_is_freed() -> None:
    m, p = setup()
    a = p.mmap(2 * PAGE_SIZE)
    p.write(a, b"payload")
    old = page_at(p, a)
    r = p.move_pages(0, [a], [1], MOVE)
    assert r.status == [1] and r.ret == 0
    new = page_at(p, a)
    assert new is not old and new.zone.node_id == 1
    assert pg.page_count(old) == 1 and old.mapping is None, "only the pagevec holds it"
    from pagemig.mm.swap import lru_add_drain_all

    lru_add_drain_all(m)
    assert pg.PageBuddy(old), "freed when the pagevec drained"
    assert p.read(a, 7) == b"payload"
    assert m.vm_events[PGMIGRATE_SUCCESS] == 1
    m.check()


def test_already_on_the_node_and_cow_shared_pages() -> None:
    m, p = setup()
    a = p.mmap(2 * PAGE_SIZE)
    p.write(a, b"a")
    p.write(a + PAGE_SIZE, b"b")
    child = p.fork()
    r = p.move_pages(0, [a, a + PAGE_SIZE], [0, 1], MOVE)
    assert r.status == [0, -errno.EACCES]
    assert m.account.reason_for_addr(a + PAGE_SIZE).startswith("EACCES: mapped by 2")  # type: ignore[union-attr]
    root = m.spawn(uid=0)
    r = root.move_pages(p.pid, [a + PAGE_SIZE], [1], MOVE_ALL)
    assert r.status == [1]
    new = page_at(p, a + PAGE_SIZE)
    assert page_at(child, a + PAGE_SIZE) is new and pg.page_mapcount(new) == 2
    assert child.read(a + PAGE_SIZE, 1) == b"b"
    m.check()


def test_an_extra_reference_keeps_the_page_busy_for_ten_passes() -> None:
    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"pinned")
    page = page_at(p, a)
    pg.get_page(page)
    m.pin(page)
    r = p.move_pages(0, [a], [1], MOVE)
    assert r.status == [-errno.EAGAIN]
    tries = attempts_for(m, page.pfn)
    assert len(tries) == 10
    assert [forced for _, forced, _ in tries] == [False] * 3 + [True] * 7
    assert all(rc == -errno.EAGAIN for rc, _, _ in tries)
    assert m.vm_events[PGMIGRATE_FAIL] == 1
    assert any("EAGAIN after 10 passes" in why for _, why in m.account.leftovers)
    from pagemig.mm.swap import lru_add_drain_all

    lru_add_drain_all(m)
    assert page_at(p, a) is page and pg.PageLRU(page), "put back where it was"
    m.check()


def test_trylock_failures_until_the_forced_passes_take_the_lock() -> None:
    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"x")
    page = page_at(p, a)
    with m.inject("trylock_page", pfn=page.pfn, times=3):
        r = p.move_pages(0, [a], [1], MOVE)
    assert r.status == [1]
    tries = attempts_for(m, page.pfn)
    assert [rc for rc, _, _ in tries] == [-errno.EAGAIN] * 3 + [0]
    assert "trylock failed" in tries[0][2] and tries[3][1] is True
    m.check()


def test_writeback_waits_only_in_forced_passes_then_buffers_move() -> None:
    m, p = setup()
    f = m.create_file("/data/f", size=PAGE_SIZE, fs="ext2", data=b"disk")
    b = p.mmap(PAGE_SIZE, file=f, shared=True)
    p.write(b, b"DIRT")
    assert filemap_fdatawrite(f.mapping) == 0
    page = page_at(p, b)
    assert pg.PageWriteback(page) and page_has_buffers(page)
    r = p.move_pages(0, [b], [1], MOVE)
    assert r.status == [1]
    tries = attempts_for(m, page.pfn)
    assert [rc for rc, _, _ in tries] == [-errno.EAGAIN] * 3 + [0]
    assert "writeback" in tries[0][2]
    new = page_at(p, b)
    assert page_has_buffers(new) and not pg.PagePrivate(page)
    assert all(bh.b_page is new for bh in buffers_of(new))
    assert bytes(f.store[:4]) == b"DIRT"
    m.check()


def test_clean_ext2_page_without_buffers_uses_migrate_page() -> None:
    m, p = setup()
    f = m.create_file("/data/g", size=PAGE_SIZE, fs="ext2", data=b"clean")
    b = p.mmap(PAGE_SIZE, file=f, shared=True)
    assert p.read(b, 5) == b"clean"
    page = page_at(p, b)
    assert not page_has_buffers(page)
    dirty_before = page.zone.vm_stat[ZoneStatItem.NR_FILE_PAGES]
    assert p.move_pages(0, [b], [1], MOVE).status == [1]
    new = page_at(p, b)
    assert f.mapping.page_tree[0] is new
    assert page.zone.vm_stat[ZoneStatItem.NR_FILE_PAGES] == dirty_before - 1
    assert new.zone.vm_stat[ZoneStatItem.NR_FILE_PAGES] == 1
    m.check()


def test_dirty_page_of_a_writepage_only_fs_is_written_out_and_retried() -> None:
    m, p = setup()
    f = m.create_file("/fat/f", size=PAGE_SIZE, fs="vfat", data=b"fat")
    b = p.mmap(PAGE_SIZE, file=f, shared=True)
    p.write(b, b"FAT")
    page = page_at(p, b)
    r = p.move_pages(0, [b], [1], MOVE)
    assert r.status == [1]
    tries = attempts_for(m, page.pfn)
    assert tries[0][0] == -errno.EAGAIN, "writeout: the attempt cannot succeed this time"
    assert tries[-1][0] == 0 and tries[-1][1] is True
    assert bytes(f.store[:3]) == b"FAT"
    m.check()


def test_dirty_ramfs_page_fails_with_einval_and_xfsbuf_with_eio() -> None:
    m, p = setup()
    ram = m.create_file("/ram/f", size=PAGE_SIZE, fs="ramfs")
    xfs = m.create_file("/xfs/f", size=PAGE_SIZE, fs="xfsbuf")
    a = p.mmap(PAGE_SIZE, file=ram, shared=True)
    b = p.mmap(PAGE_SIZE, file=xfs, shared=True)
    p.write(a, b"r")
    p.read(b, 1)
    r = p.move_pages(0, [a, b], [1, 1], MOVE)
    assert r.status == [-errno.EINVAL, -errno.EIO]
    assert m.vm_events[PGMIGRATE_FAIL] == 2
    assert page_at(p, a).zone.node_id == 0 and pg.PageUnevictable(page_at(p, a))
    m.check()


def test_writepage_error_is_a_permanent_eio() -> None:
    m, p = setup()
    f = m.create_file("/fat/e", size=PAGE_SIZE, fs="vfat")
    b = p.mmap(PAGE_SIZE, file=f, shared=True)
    p.write(b, b"e")
    with m.inject("writepage", path="/fat/e"):
        r = p.move_pages(0, [b], [1], MOVE)
    assert r.status == [-errno.EIO]
    assert pg.PageError(page_at(p, b))
    m.check()


def test_busy_buffers_make_fallback_retry() -> None:
    m, p = setup()
    f = m.create_file("/fat/b", size=PAGE_SIZE, fs="vfat")
    b = p.mmap(PAGE_SIZE, file=f, shared=True)
    p.write(b, b"b")
    filemap_fdatawrite(f.mapping)
    m.complete_writeback()
    page = page_at(p, b)
    head = buffers_of(page)[0]
    get_bh(head)
    assert p.move_pages(0, [b], [1], MOVE).status == [-errno.EAGAIN]
    put_bh(head)
    assert p.move_pages(0, [b], [1], MOVE).status == [1]
    assert not page_has_buffers(page_at(p, b)), "fallback released the buffers"
    m.check()


def test_shmem_page_moves_nr_shmem_between_zones() -> None:
    m, p = setup()
    s = p.mmap(PAGE_SIZE, shared=True)
    p.write(s, b"shm")
    page = page_at(p, s)
    z0, z1 = page.zone, m.nodes[1].node_zones[1]
    assert (z0.vm_stat[ZoneStatItem.NR_SHMEM], z1.vm_stat[ZoneStatItem.NR_SHMEM]) == (1, 0)
    assert p.move_pages(0, [s], [1], MOVE).status == [1]
    assert (z0.vm_stat[ZoneStatItem.NR_SHMEM], z1.vm_stat[ZoneStatItem.NR_SHMEM]) == (0, 1)
    child = p.fork()
    assert child.read(s, 3) == b"shm"
    m.check()


def test_mapped_swapcache_page_is_left_as_swap_ptes() -> None:
    """Quirks 7 and 8: the ptes stay swap entries, RSS moves to MM_SWAPENTS,
    and NR_SHMEM shifts between zones for an anonymous page."""
    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"swapped")
    m.deactivate_all(0)
    m.reclaim(0, 10)
    m.complete_writeback()
    assert p.read(a, 7) == b"swapped", "swap-in through the swap cache"
    page = page_at(p, a)
    assert pg.PageSwapCache(page) and pg.page_mapped(page)
    zone0 = page.zone
    root = m.spawn(uid=0)
    rss = list(p.mm.rss)
    r = root.move_pages(p.pid, [a], [1], MOVE)
    assert r.status == [1]
    assert p.mm.rss == [rss[0], rss[1] - 1, rss[2] + 1], "the pte became a swap entry"
    assert zone0.vm_stat[ZoneStatItem.NR_SHMEM] == -1
    assert m.nodes[1].node_zones[1].vm_stat[ZoneStatItem.NR_SHMEM] == 1
    assert p.read(a, 7) == b"swapped"
    assert page_at(p, a).zone.node_id == 1 and p.mm.rss == rss
    m.check()


def test_page_freed_under_us_counts_as_success() -> None:
    from pagemig.mm.migrate import migrate_pages

    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"gone")
    page = page_at(p, a)
    head = ListHead(m)
    isolate_onto(m, page, head)
    p.munmap(a, PAGE_SIZE)
    assert pg.page_count(page) == 1
    with p.running():
        assert migrate_pages(head, new_on(1), None, 0) == 0
    assert page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON] == 0, "put back at the end"
    from pagemig.mm.swap import lru_add_drain_all

    lru_add_drain_all(m)
    assert pg.PageBuddy(page)
    assert "freed under us" in attempts_for(m, page.pfn)[0][2]
    m.check()


def test_unmapped_anon_page_outside_swap_cache_is_retried() -> None:
    from pagemig.mm.migrate import migrate_pages

    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"orphan")
    page = page_at(p, a)
    pg.get_page(page)
    m.pin(page)
    head = ListHead(m)
    isolate_onto(m, page, head)
    p.munmap(a, PAGE_SIZE)
    with p.running() as task:
        assert migrate_pages(head, new_on(1), None, 0) == 1
        assert not task.flags & PF_SWAPWRITE
    assert "neither mapped nor in swap cache" in attempts_for(m, page.pfn)[0][2]
    m.unpin(page)
    from pagemig.mm.swap import put_page

    put_page(page)
    m.check()


def test_unmapped_swapcache_page_migrates_without_remapping() -> None:
    from pagemig.mm.migrate import migrate_pages

    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"cold")
    m.deactivate_all(0)
    m.reclaim(0, 10)
    m.complete_writeback()
    (page,) = m.swapper_space.page_tree.values()
    assert not pg.page_mapped(page) and pg.PageSwapCache(page)
    head = ListHead(m)
    isolate_onto(m, page, head)
    with p.running():
        assert migrate_pages(head, new_on(1), None, 0) == 0
    (new,) = m.swapper_space.page_tree.values()
    assert new.zone.node_id == 1 and pg.PageSwapCache(new)
    assert p.read(a, 4) == b"cold"
    m.check()


def test_swapwrite_flag_is_set_during_migration_and_restored() -> None:
    from pagemig.mm.migrate import migrate_pages

    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"f")
    head = ListHead(m)
    isolate_onto(m, page_at(p, a), head)
    seen = []

    def alloc(page, private, result):  # type: ignore[no-untyped-def]
        seen.append(m.current.flags & PF_SWAPWRITE)  # type: ignore[union-attr]
        return new_on(1)(page, private, result)

    with p.running() as task:
        migrate_pages(head, alloc, None, 0)
        assert seen == [PF_SWAPWRITE] and not task.flags & PF_SWAPWRITE
        task.flags |= PF_SWAPWRITE
        head2 = ListHead(m)
        isolate_onto(m, page_at(p, a), head2)
        migrate_pages(head2, new_on(0), None, 0)
        assert task.flags & PF_SWAPWRITE, "a flag set before stays set"
    m.check()


def test_allocation_failure_aborts_the_chunk_with_enomem() -> None:
    m, p = setup()
    a = p.mmap(2 * PAGE_SIZE)
    p.write(a, b"1")
    p.write(a + PAGE_SIZE, b"2")
    with m.inject("alloc_page", node=1), pytest.raises(OSError) as info:
        p.move_pages(0, [a, a + PAGE_SIZE], [1, 1], MOVE)
    assert info.value.errno == errno.ENOMEM
    assert info.value.result.status == [None, None], "no status of the chunk is copied out"
    assert page_at(p, a).zone.node_id == 0
    assert any("not attempted" in why for _, why in m.account.leftovers)
    m.check()


def test_memcg_limit_gives_enomem() -> None:
    from pagemig.mm.memcontrol import mem_cgroup_attach, mem_cgroup_create

    m, p = setup()
    group = mem_cgroup_create(m, "/small", limit=2)
    mem_cgroup_attach(m, p.pid, group)
    a = p.mmap(2 * PAGE_SIZE)
    p.write(a, b"1")
    p.write(a + PAGE_SIZE, b"2")
    assert group.usage == 2
    root = m.spawn(uid=0)  # its argument pages are charged to the root cgroup
    with pytest.raises(OSError) as info:
        root.move_pages(p.pid, [a], [1], MOVE)
    assert info.value.errno == errno.ENOMEM
    assert "memory cgroup" in attempts_for(m, page_at(p, a).pfn)[0][2]
    group.limit = 3
    assert root.move_pages(p.pid, [a], [1], MOVE).status == [1]
    assert group.usage == 2, "the old page's charge went away"
    m.check()


def test_ksm_page_is_skipped_by_move_pages_and_migrate_pages_and_busy_for_compaction() -> None:
    m, p = setup()
    k = p.mmap(2 * PAGE_SIZE)
    p.write(k, b"same")
    p.write(k + PAGE_SIZE, b"same")
    p.madvise_mergeable(k, 2 * PAGE_SIZE)
    assert m.ksm_merge() == 1
    kpage = page_at(p, k)
    assert pg.PageKsm(kpage)
    assert p.move_pages(0, [k], [1], MOVE).status == [-errno.ENOENT]
    root = m.spawn(uid=0)
    assert root.migrate_pages(p.pid, [0], [1]) == 0, "check_pte_range skips KSM pages"
    assert attempts_for(m, kpage.pfn) == []
    m.compact(0)  # compaction does not skip them
    assert "KSM page" in attempts_for(m, kpage.pfn)[0][2]
    assert attempts_for(m, kpage.pfn)[0][0] == -errno.EBUSY
    assert page_at(p, k) is kpage
    m.check()


def test_offlining_moves_an_unmapped_ksm_swapcache_page_but_oopses_on_a_mapped_one() -> None:
    m, p = setup()
    k = p.mmap(2 * PAGE_SIZE)
    p.write(k, b"twin")
    p.write(k + PAGE_SIZE, b"twin")
    p.madvise_mergeable(k, 2 * PAGE_SIZE)
    m.ksm_merge()
    kpage = page_at(p, k)
    with pytest.raises(KernelBug, match="NULL pointer dereference"):
        m.offline_pages(kpage.pfn, 1)


def test_temporary_stack_vma_keeps_the_page_mapped() -> None:
    from pagemig.mm.mmap import VM_GROWSDOWN, VM_STACK_INCOMPLETE_SETUP, find_vma

    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"stack")
    vma = find_vma(p.mm, a)
    assert vma is not None
    vma.vm_flags |= VM_GROWSDOWN | VM_STACK_INCOMPLETE_SETUP
    r = p.move_pages(0, [a], [1], MOVE)
    assert r.status == [-errno.EAGAIN]
    assert "still mapped" in attempts_for(m, page_at(p, a).pfn)[0][2]
    vma.vm_flags &= ~(VM_GROWSDOWN | VM_STACK_INCOMPLETE_SETUP)
    m.check()


def test_mlocked_page_keeps_mlock_and_unevictable_on_the_new_node() -> None:
    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"locked")
    p.mlock(a, PAGE_SIZE)
    old = page_at(p, a)
    assert pg.PageMlocked(old)
    assert p.move_pages(0, [a], [1], MOVE).status == [1]
    new = page_at(p, a)
    assert pg.PageMlocked(new) and not pg.PageMlocked(old)
    assert new.zone.vm_stat[ZoneStatItem.NR_MLOCK] == 1
    assert old.zone.vm_stat[ZoneStatItem.NR_MLOCK] == 0
    m.complete_writeback()
    from pagemig.mm.swap import lru_add_drain_all

    lru_add_drain_all(m)
    assert new.zone.vm_stat[NR_LRU_BASE + LRU_UNEVICTABLE] == 1
    m.check()


def test_flags_copied_and_moved_by_migrate_page_copy() -> None:
    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"f")
    old = page_at(p, a)
    pg.SetPageReferenced(old)
    pg.SetPageChecked(old)
    pg.SetPageMappedToDisk(old)
    pg.SetPageError(old)
    from pagemig.mm.swap import lru_add_drain_all

    lru_add_drain_all(m)
    assert pg.PageActive(old)
    assert p.move_pages(0, [a], [1], MOVE).status == [1]
    new = page_at(p, a)
    assert not pg.PageActive(old), "PG_active moved, not copied"
    lru_add_drain_all(m)
    for test in (pg.PageReferenced, pg.PageChecked, pg.PageMappedToDisk, pg.PageError,
                 pg.PageUptodate, pg.PageDirty, pg.PageActive, pg.PageSwapBacked):
        assert test(new), test
    m.check()


def test_migrate_vmas_calls_vm_ops_migrate_until_an_error() -> None:
    from pagemig.mm.migrate import migrate_vmas
    from pagemig.mm.mmap import VmOperations

    _, p = setup()
    a = p.mmap(PAGE_SIZE)
    b = p.mmap(PAGE_SIZE)
    calls = []

    def migrate(vma, to, from_, flags):  # type: ignore[no-untyped-def]
        calls.append((vma.vm_start, to, from_, flags))
        return -errno.EIO if vma.vm_start == a else 0

    ops = VmOperations("test", migrate=migrate)
    for addr in (a, b):
        vma = p.mm.mmap[[v.vm_start for v in p.mm.mmap].index(addr)]
        vma.vm_ops = ops
    assert migrate_vmas(p.mm, frozenset({1}), frozenset({0}), 7) == -errno.EIO
    assert calls[0][0] == min(a, b) and len(calls) == (2 if b < a else 1)
    assert calls[0][1:] == (frozenset({1}), frozenset({0}), 7)


def test_migrate_prep_local_and_lru_to_page() -> None:
    from pagemig.mm.migrate import lru_to_page, migrate_prep_local

    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"x")
    page = page_at(p, a)
    assert not pg.PageLRU(page)
    m.current_cpu = 0
    assert migrate_prep_local(m) == 0
    assert pg.PageLRU(page)
    head = ListHead(m)
    isolate_onto(m, page, head)
    assert lru_to_page(head) is page
    from pagemig.mm.migrate import putback_lru_pages

    putback_lru_pages(head)
    m.check()
