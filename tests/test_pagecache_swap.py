"""Page cache, filesystems, dirty/writeback, reclaim, swap, KSM and memcg."""

from __future__ import annotations

import errno

import pytest

from pagemig import PAGE_SIZE, Machine
from pagemig.mm import page as pg
from pagemig.mm.buffer import page_has_buffers
from pagemig.mm.filemap import filemap_fdatawrite
from pagemig.mm.fs import FS_KINDS
from pagemig.mm.mmzone import ZoneStatItem
from pagemig.mm.pagemap import AS_EIO
from pagemig.mm.vmstat import VM_EVENT_NAMES
from pagemig.process import Process

from .conftest import page_at


def setup(**kw: object) -> tuple[Machine, Process]:
    m = Machine(nodes=2, node_memory="64MiB", swap="16MiB", **kw)  # type: ignore[arg-type]
    return m, m.spawn(uid=1000, cpu=0)



def total(m: Machine, item: ZoneStatItem) -> int:
    return sum(z.vm_stat[item] for z in m.zones())


@pytest.mark.parametrize("kind", sorted(k for k, v in FS_KINDS.items() if not v.huge_pages))
def test_every_filesystem_kind_maps_reads_and_writes(kind: str) -> None:
    m, p = setup()
    f = m.create_file(f"/{kind}/f", size=2 * PAGE_SIZE, fs=kind)
    a = p.mmap(2 * PAGE_SIZE, file=f, shared=True)
    assert p.read(a, 4) == b"\0" * 4
    p.write(a + PAGE_SIZE, b"data")
    child = p.fork()
    assert child.read(a + PAGE_SIZE, 4) == b"data"
    page = page_at(p, a + PAGE_SIZE)
    assert f.mapping.page_tree[1] is page and page.mapping is f.mapping
    assert pg.PageSwapBacked(page) == (kind == "tmpfs")
    assert pg.PageUnevictable(page) or kind != "ramfs" or not pg.PageLRU(page)
    m.check()


def test_dirty_accounting_and_deferred_writeback() -> None:
    m, p = setup()
    f = m.create_file("/e/f", size=2 * PAGE_SIZE, fs="ext2", data=b"old")
    a = p.mmap(2 * PAGE_SIZE, file=f, shared=True)
    p.write(a, b"new")
    page = page_at(p, a)
    assert pg.PageDirty(page) and total(m, ZoneStatItem.NR_FILE_DIRTY) == 1
    assert filemap_fdatawrite(f.mapping) == 0
    assert pg.PageWriteback(page) and not pg.PageDirty(page)
    assert total(m, ZoneStatItem.NR_WRITEBACK) == 1 and total(m, ZoneStatItem.NR_FILE_DIRTY) == 0
    assert bytes(f.store[:3]) == b"new", "the data left with the I/O"
    assert page_has_buffers(page), "block_write_full_page attached buffers"
    m.check()  # writeback in progress is a consistent state
    assert m.complete_writeback() == 1
    assert not pg.PageWriteback(page) and total(m, ZoneStatItem.NR_WRITEBACK) == 0
    m.check()


def test_tmpfs_and_ramfs_do_not_account_dirty_pages() -> None:
    m, p = setup()
    for kind in ("tmpfs", "ramfs"):
        f = m.create_file(f"/{kind}", size=PAGE_SIZE, fs=kind)
        a = p.mmap(PAGE_SIZE, file=f, shared=True)
        p.write(a, b"x")
        assert pg.PageDirty(page_at(p, a))
    assert total(m, ZoneStatItem.NR_FILE_DIRTY) == 0
    assert total(m, ZoneStatItem.NR_SHMEM) == 1
    m.check()


def test_write_error_sets_pg_error_and_as_eio() -> None:
    m, p = setup()
    f = m.create_file("/e/bad", size=PAGE_SIZE, fs="ext2")
    a = p.mmap(PAGE_SIZE, file=f, shared=True)
    p.write(a, b"lost")
    with m.inject("writepage", path="/e/bad"):
        assert filemap_fdatawrite(f.mapping) == -errno.EIO
    assert pg.PageError(page_at(p, a)) and f.mapping.flags >> AS_EIO & 1
    assert bytes(f.store[:4]) == b"\0" * 4
    m.check()


def test_reclaim_writes_anon_to_swap_and_file_pages_to_disk_and_data_survives() -> None:
    m, p = setup()
    a = p.mmap(8 * PAGE_SIZE)
    for i in range(8):
        p.write(a + i * PAGE_SIZE, f"anon{i}".encode())
    f = m.create_file("/e/r", size=4 * PAGE_SIZE, fs="ext2")
    b = p.mmap(4 * PAGE_SIZE, file=f, shared=True)
    for i in range(4):
        p.write(b + i * PAGE_SIZE, f"file{i}".encode())
    clean = m.create_file("/e/clean", size=2 * PAGE_SIZE, fs="ext2", data=b"C" * 10)
    c = p.mmap(2 * PAGE_SIZE, file=clean)
    assert p.read(c, 1) == b"C"
    m.deactivate_all(0)
    freed_first = m.reclaim(0, 1000)
    assert freed_first >= 1, "the clean file page goes at once"
    assert m.swap_info is not None and m.swap_info.inuse_pages == 8
    assert p.mm.rss[2] == 8, "every anon pte became a swap pte"
    m.check()  # pages under writeback, unmapped, in the swap cache
    m.complete_writeback()
    assert m.reclaim(0, 1000) == 12
    assert m.swapper_space.nrpages == 0 and f.mapping.nrpages == 0
    assert bytes(f.store[:5]) == b"file0"
    m.check()
    for i in range(8):
        assert p.read(a + i * PAGE_SIZE, 5) == f"anon{i}".encode()
    for i in range(4):
        assert p.read(b + i * PAGE_SIZE, 5) == f"file{i}".encode()
    assert m.vm_events[VM_EVENT_NAMES.index("pswpout")] == 8
    assert m.vm_events[VM_EVENT_NAMES.index("pswpin")] == 8
    assert m.vm_events[VM_EVENT_NAMES.index("pgmajfault")] >= 8
    m.check()


def test_swap_cache_page_no_longer_mapped_is_a_real_state() -> None:
    m, p = setup()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"cold")
    m.deactivate_all(0)
    m.reclaim(0, 10)
    m.complete_writeback()
    (page,) = m.swapper_space.page_tree.values()
    assert pg.PageSwapCache(page) and not pg.page_mapped(page) and pg.PageAnon(page)
    assert not pg.PageDirty(page) and not pg.PageWriteback(page)
    m.check()


def test_shmem_pages_swap_out_and_back() -> None:
    m, p = setup()
    s = p.mmap(2 * PAGE_SIZE, shared=True)
    p.write(s, b"shared!")
    child = p.fork()
    m.deactivate_all(0)
    m.reclaim(0, 100)
    m.complete_writeback()
    m.reclaim(0, 100)
    assert m.swap_info is not None and m.swap_info.inuse_pages == 1
    (inode,) = [i for i in m.inodes.values() if not i.linked]
    assert list(inode.swapped) == [0] and inode.mapping.nrpages == 0
    m.check()
    assert child.read(s, 7) == b"shared!"
    assert p.read(s, 7) == b"shared!"
    assert inode.swapped == {} and m.swap_info.inuse_pages == 0
    m.check()
    child.exit()
    p.exit()
    assert not [i for i in m.inodes.values() if not i.linked], "the unlinked inode was evicted"
    m.check()


def test_reclaim_without_swap_keeps_anon_pages() -> None:
    m = Machine(nodes=1, node_memory="64MiB")
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"stay")
    m.deactivate_all(0)
    assert m.reclaim(0, 10) == 0
    page = page_at(p, a)
    assert not pg.PageSwapCache(page) and pg.page_mapped(page)
    from pagemig.mm.swap import lru_add_drain_all

    lru_add_drain_all(m)
    assert pg.PageActive(page), "add_to_swap failed: activate_locked"
    assert p.read(a, 4) == b"stay"
    m.check()


def test_ksm_merges_identical_pages_and_a_write_breaks_cow() -> None:
    m, p = setup()
    k = p.mmap(3 * PAGE_SIZE)
    for i in range(3):
        p.write(k + i * PAGE_SIZE, b"same bytes")
    q = m.spawn(uid=1001)
    r = q.mmap(PAGE_SIZE)
    q.write(r, b"same bytes")
    p.madvise_mergeable(k, 3 * PAGE_SIZE)
    q.madvise_mergeable(r, PAGE_SIZE)
    free_before = total(m, ZoneStatItem.NR_FREE_PAGES)
    assert m.ksm_merge() == 3
    kpage = page_at(p, k)
    assert pg.PageKsm(kpage) and pg.page_mapcount(kpage) == 4 and page_at(q, r) is kpage
    assert total(m, ZoneStatItem.NR_FREE_PAGES) == free_before + 3
    m.check()
    q.write(r, b"mine")
    assert page_at(q, r) is not kpage and pg.page_mapcount(kpage) == 3
    assert p.read(k, 10) == b"same bytes" and q.read(r, 10) == b"mine bytes"
    m.check()


def test_memcg_limit_makes_faults_fail_with_enomem() -> None:
    from pagemig.mm.memcontrol import mem_cgroup_attach, mem_cgroup_create

    m, p = setup()
    group = mem_cgroup_create(m, "/limited", limit=3)
    mem_cgroup_attach(m, p.pid, group)
    a = p.mmap(8 * PAGE_SIZE)
    for i in range(3):
        p.touch(a + i * PAGE_SIZE)
    assert group.usage == 3
    with pytest.raises(OSError) as info:
        p.touch(a + 3 * PAGE_SIZE)
    assert info.value.errno == errno.ENOMEM
    p.munmap(a, PAGE_SIZE)
    assert group.usage == 2, "unmapping uncharges"
    p.touch(a + 3 * PAGE_SIZE)
    m.check()


def test_bad_file_inputs() -> None:
    m, p = setup()
    with pytest.raises(FileNotFoundError):
        m.open("/missing")
    with pytest.raises(ValueError, match="unknown filesystem kind"):
        m.create_file("/x", size=PAGE_SIZE, fs="zfs")
    f = m.create_file("/short", size=PAGE_SIZE, fs="ext2")
    with pytest.raises(FileExistsError):
        m.create_file("/short", size=PAGE_SIZE)
    a = p.mmap(3 * PAGE_SIZE, file=f, shared=True)
    assert p.read(a, 1) == b"\0"
    with pytest.raises(OSError, match="SIGBUS") as info:
        p.read(a + 2 * PAGE_SIZE, 1)
    assert info.value.errno == errno.EFAULT
    ro = p.mmap(PAGE_SIZE, prot=1, file=f)
    with pytest.raises(OSError, match=r"SIGSEGV.*PROT_WRITE"):
        p.write(ro, b"no")
    m.check()
