"""Regressions found by the long soak of test_ksm_swap_stateful
(tests/test_ksm_swap_soak.py), each as the short sequence that shows it."""

from __future__ import annotations

import pytest

from pagemig import PAGE_SIZE, Machine
from pagemig.mm.filemap import filemap_fdatawrite

PS = PAGE_SIZE
SIZE = PS - 1000  # a file whose only page straddles EOF


@pytest.mark.parametrize("profile", ["2.6.35", "6.1"])
@pytest.mark.parametrize("fs", ["ext2", "vfat"])
def test_writepage_zeroes_the_tail_past_eof(profile: str, fs: str) -> None:
    """What a shared mapping writes past EOF in a file's last page is not
    written out, and block_write_full_page zeroes it in the page on every
    writepage ("it may be mmapped"); the bytes before EOF reach the file."""
    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p = m.spawn(uid=1000, cpu=0)
    inode = m.create_file("/f", size=SIZE, fs=fs, data=b"x" * SIZE)
    a = p.mmap(PS, file=inode, shared=True)
    p.write(a + SIZE - 4, b"y" * 1004)  # 4 bytes inside the file, 1000 past EOF
    assert p.read(a + SIZE, 1000) == b"y" * 1000  # in the page until written back
    assert filemap_fdatawrite(inode.mapping) == 0
    m.complete_writeback()
    m.check()
    assert p.read(a + SIZE - 4, 4) == b"yyyy"
    assert p.read(a + SIZE, 1000) == bytes(1000)
    assert bytes(inode.store[SIZE - 8:]) == b"xxxxyyyy"


@pytest.mark.parametrize("profile", ["2.6.35", "6.1"])
def test_tail_past_eof_after_reclaim(profile: str) -> None:
    """The soak's first failure (issue 21's KSM soak, 6.1, failure (a)): a
    shared mapping wrote past EOF, reclaim wrote the page out and freed it,
    and a private mapping of the same page read it back: zeros past EOF, as
    in the kernel (the shadow of the stateful test expected the bytes)."""
    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p = m.spawn(uid=1000, cpu=0)
    inode = m.create_file("/f", size=SIZE, fs="ext2", data=b"x" * SIZE)
    shared = p.mmap(PS, file=inode, shared=True)
    private = p.mmap(PS, file=inode)
    p.write(shared + SIZE, b"k" * 1000)
    p.munmap(shared, PS)
    assert p.read(private + SIZE, 1000) == b"k" * 1000
    p.munmap(private, PS)
    private = p.mmap(PS, file=inode)
    m.deactivate_all(0)
    m.reclaim(0, 64)  # pageout: writepage
    m.complete_writeback()
    m.deactivate_all(0)
    m.reclaim(0, 64)
    assert 0 not in inode.mapping.page_tree
    assert p.read(private, PS) == b"x" * SIZE + bytes(1000)
    m.check()


@pytest.mark.parametrize("profile", ["2.6.35", "6.1"])
def test_ramfs_pages_stay_out_of_zone_movable(profile: str) -> None:
    """The soak's offline_pages -EAGAIN (2.6.35): a dirty ramfs page, which
    can never migrate (no ->migratepage, no ->writepage: writeout's -EINVAL
    every pass), had been allocated in ZONE_MOVABLE, so offlining that zone
    ran into the timeout. ramfs_get_inode sets its mapping's gfp mask to
    GFP_HIGHUSER: its pages come from ZONE_NORMAL and the movable range
    offlines."""
    m = Machine(nodes=2, node_memory="4MiB", movable_memory="2MiB", profile=profile)
    p = m.spawn(uid=1000, cpu=0)
    inode = m.create_file("/r", size=PS, fs="ramfs")
    a = p.mmap(PS, file=inode, shared=True)
    p.write(a, b"r" * 16)
    page = inode.mapping.page_tree[0]
    assert page.zone.name != "Movable"
    zone = m.nodes[0].node_zones[-1]
    assert zone.name == "Movable"
    m.offline_pages(zone.zone_start_pfn, zone.spanned_pages)
    assert p.read(a, 16) == b"r" * 16
    m.check()


@pytest.mark.parametrize("profile", ["2.6.35", "6.1"])
def test_ksm_merge_into_a_locked_vma_mlocks_the_ksm_page(profile: str) -> None:
    """try_to_merge_one_page in a VM_LOCKED VMA munlocks the page merged
    away and mlocks the KSM page (2.6.35; 6.1's page_remove_rmap and
    page_add_anon_rmap do the same): the KSM page is then unevictable, and
    reclaim leaves every mapping of it, locked or not, in place."""
    from pagemig.mm.mmzone import ZoneStatItem
    from pagemig.mm.page import PageKsm, PageMlocked, PageUnevictable
    from pagemig.mm.pgtable import pte_present

    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p = m.spawn(uid=0, cpu=0)
    a = p.mmap(4 * PS, populate=True)
    p.madvise_mergeable(a, 4 * PS)
    for i in range(4):
        p.write(a + i * PS, b"k" * PS)
    p.mlock(a + 2 * PS, 2 * PS)  # the last two pages locked: merged into the first
    assert m.ksm_merge() == 3
    m.check()
    vpns = [(a >> 12) + i for i in range(4)]
    kpage = m.pfn_to_page(p.mm.ptes[vpns[0]] >> 12)
    assert PageKsm(kpage) and PageMlocked(kpage) and PageUnevictable(kpage)
    assert sum(z.vm_stat[ZoneStatItem.NR_MLOCK] for z in m.zones()) == 1
    for node in (0, 1):
        m.deactivate_all(node)
        m.reclaim(node, 64)
    assert all(pte_present(p.mm.ptes[v]) for v in vpns)
    m.check()
    p.munlock(a + 2 * PS, 2 * PS)
    assert not PageMlocked(kpage)
    assert sum(z.vm_stat[ZoneStatItem.NR_MLOCK] for z in m.zones()) == 0
    assert all(p.read(a + i * PS, PS) == b"k" * PS for i in range(4))
    m.check()


@pytest.mark.parametrize("profile", ["2.6.35", "6.1"])
def test_migrated_dirty_tmpfs_page_is_tagged_dirty_but_never_written_back(profile: str) -> None:
    """migrate_page_copy marks the new page dirty with
    __set_page_dirty_nobuffers, which tags it dirty in the tmpfs radix tree;
    tmpfs has no writeback (BDI_CAP_NO_WRITEBACK), so fsync-style writeback
    writes nothing (the soak's stateful writeback rule called
    shmem_writepage on such a page, still mapped: its BUG_ON)."""
    from pagemig.mm.filemap import PAGECACHE_TAG_DIRTY

    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p = m.spawn(uid=0, cpu=0)
    inode = m.create_file("/t", size=PS, fs="tmpfs")
    a = p.mmap(PS, file=inode, shared=True)
    p.write(a, b"t" * 8)
    assert p.move_pages(0, [a], [1], 2).status == [1]
    assert 0 in inode.mapping.tags[PAGECACHE_TAG_DIRTY]
    assert filemap_fdatawrite(inode.mapping) == 0
    assert not m.writeback_queue
    assert p.read(a, 8) == b"t" * 8
    m.check()


def test_block_write_full_page_of_a_page_under_writeback_is_a_bug() -> None:
    """__block_write_full_page: BUG_ON(PageWriteback(page)). Writeback
    (write_cache_pages) skips or waits for a page still under writeback, as
    filemap_fdatawrite does; calling ->writepage on one is a caller's bug (the
    soak's stateful writeback rule did, after pageout, and completed the same
    page's writeback twice)."""
    from pagemig import KernelBug
    from pagemig.mm.page import PageDirty, PageWriteback
    from pagemig.mm.page_writeback import clear_page_dirty_for_io
    from pagemig.mm.pagemap import lock_page, unlock_page

    m = Machine(nodes=2, node_memory="4MiB")
    p = m.spawn(uid=1000, cpu=0)
    inode = m.create_file("/f", size=PS, fs="ext2", data=b"x" * PS)
    a = p.mmap(PS, file=inode, shared=True)
    p.write(a, b"1")
    assert filemap_fdatawrite(inode.mapping) == 0  # under writeback now
    p.write(a, b"2")  # dirty again
    page = inode.mapping.page_tree[0]
    assert PageWriteback(page) and PageDirty(page)
    assert filemap_fdatawrite(inode.mapping) == 0  # skips it
    assert len(m.writeback_queue) == 1
    lock_page(page)
    assert clear_page_dirty_for_io(page)
    assert inode.mapping.a_ops.writepage is not None
    with pytest.raises(KernelBug, match="under writeback"):
        inode.mapping.a_ops.writepage(page, None)
    m.complete_writeback()
    unlock_page(page)
