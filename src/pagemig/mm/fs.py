"""A small in-memory VFS: inodes, files and the filesystem kinds migration
treats differently (their address_space_operations are the point).

=========  =====================================  ==================================
kind       stands for (2.6.35)                    migratepage / writepage
=========  =====================================  ==================================
ext2       ext2/ext3/ext4, gfs2, ocfs2 data       buffer_migrate_page / via buffers
tmpfs      shmem/tmpfs, MAP_SHARED|MAP_ANONYMOUS  migrate_page / to the swap cache
vfat       FAT, block devices, most others        (none: fallback) / via buffers
xfsbuf     XFS buffer-cache (metadata) pages      fail_migrate_page / (none)
ramfs      ramfs (unevictable, never written)     (none: fallback) / (none)
hugetlbfs  hugetlbfs, MAP_HUGETLB (2 MiB pages)   never migrated in 2.6.35 (hugetlb.py)
=========  =====================================  ==================================

Disk-backed files keep their bytes in a store; a page read after eviction
comes from it. tmpfs/ramfs have no store: their pages live in the page cache
(and, for tmpfs, in swap).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from .buffer import (
    BH_Dirty,
    BH_Uptodate,
    block_invalidate,
    buffers_of,
    clear_buffer_dirty,
    create_empty_buffers,
    page_has_buffers,
    set_buffer_uptodate,
    try_to_free_buffers,
)
from .bug import BUG_ON
from .filemap import (
    AOP_WRITEPAGE_ACTIVATE,
    AddressSpace,
    AddressSpaceOperations,
    _remove_from_page_cache,
    add_to_page_cache_locked,
    find_get_page,
    find_lock_page,
    find_or_create_page,
    remove_from_page_cache,
)
from .gfp import _GFP_ZERO, GFP_HIGHUSER, GFP_HIGHUSER_MOVABLE
from .highmem import kmap, page_bytes
from .hugetlb import (
    HPAGE_SIZE,
    hugetlbfs_set_page_dirty,
    truncate_hugepages,
    unmap_hugepage_range,
)
from .memory import VM_FAULT_LOCKED, VM_FAULT_MAJOR, VM_FAULT_OOM, VM_FAULT_SIGBUS
from .mempolicy import Mempolicy, SharedPolicy, alloc_page_vma, alloc_pages_current, mpol_dup
from .migrate import buffer_migrate_page, fail_migrate_page, migrate_page
from .mmap import VmAreaStruct, VmOperations
from .page import (
    PAGE_SHIFT,
    PAGE_SIZE,
    Page,
    PageSwapCache,
    PageUptodate,
    PageWriteback,
    SetPageDirty,
    SetPageError,
    SetPageSwapBacked,
    SetPageUptodate,
    TestSetPageDirty,
    _ClearPageLocked,
    _SetPageLocked,
    page_mapped,
)
from .page_writeback import cancel_dirty_page, set_page_writeback
from .pagemap import AS_EIO, lock_page, mapping_set_gfp_mask, mapping_set_unevictable, unlock_page
from .spinlock import spin_lock_irq, spin_unlock_irq
from .swap import lru_cache_add_anon, put_page
from .swap_state import (
    _add_to_swap_cache,
    delete_from_swap_cache,
    lookup_swap_cache_page,
    read_swap_cache_async,
    swap_writepage,
)
from .swapfile import free_swap_and_cache, get_swap_page, swap_duplicate, swap_free, swapcache_free

if TYPE_CHECKING:
    from ..machine import Machine

BLOCKSIZE: Final = 1024  # ext2's default block size for small filesystems: 4 buffers per page


class Inode:
    """struct inode of a regular file."""

    def __init__(self, machine: Machine, ino: int, path: str, kind: FsKind, size: int) -> None:
        self.machine = machine
        self.ino = ino
        self.path = path
        self.kind = kind
        self.i_size = size
        self.dirty = False
        self.store: np.ndarray | None = (np.zeros(size, dtype=np.uint8) if kind.disk_backed else None)
        self.mapping = AddressSpace(machine, self, kind.a_ops, account_dirty=kind.account_dirty,
                                    writeback=kind.disk_backed)
        # inode_init_always gives every mapping GFP_HIGHUSER_MOVABLE; ramfs's
        # pages, which cannot migrate, stay out of ZONE_MOVABLE.
        mapping_set_gfp_mask(self.mapping, kind.gfp_mask)
        if kind.unevictable:
            mapping_set_unevictable(self.mapping)
        # shmem_inode_info: swap entries of pages swapped out, by index.
        self.swapped: dict[int, int] = {}
        self.shared_policy = SharedPolicy()
        self.i_count = 0  # references from VMAs
        # hugetlbfs: the huge-page indexes reserved for shared mappings
        # (the region map on mapping->private_list).
        self.hugetlb_regions: set[int] = set()
        self.linked = True  # has a name in the VFS

    def __repr__(self) -> str:
        return f"<inode {self.ino} {self.path} ({self.kind.name}, {self.i_size} bytes)>"

    @property
    def f_mapping(self) -> AddressSpace:
        return self.mapping

    @property
    def nr_pages(self) -> int:
        return (self.i_size + PAGE_SIZE - 1) >> PAGE_SHIFT


# --- reading and writing pages of disk-backed files -------------------------------------------


def _store_slice(inode: Inode, index: int) -> tuple[int, int]:
    start = index << PAGE_SHIFT
    return start, min(inode.i_size, start + PAGE_SIZE)


def mpage_readpage(inode: Inode, page: Page) -> int:
    """->readpage of the block filesystems (ext2_readpage, fat_readpage): read
    the page from the device, which may fail (the "readpage" fault point).

    Context: page locked, in the page cache, !Uptodate.
    Return: 0, or -EIO with PG_error set and the page left !Uptodate; the page
        is unlocked either way, as ->readpage must.
    Kernel: fs/mpage.c mpage_readpage (2.6.35), reached from ext2_readpage
        and fat_readpage.
    """
    if inode.machine.should_fail("readpage", path=inode.path, index=page.index):
        SetPageError(page)  # an I/O error: the page stays !Uptodate
        unlock_page(page)
        return -errno.EIO
    return simple_readpage(inode, page)


def simple_readpage(inode: Inode, page: Page) -> int:
    """Fill the page from the file's store (zeros past EOF or without a store);
    marks it uptodate and unlocks it, as ->readpage must. Never fails: ramfs
    reads no device.

    Context: page locked, in the page cache, !Uptodate.
    Return: 0.
    Kernel: fs/libfs.c simple_readpage (2.6.35), ramfs's ->readpage; the
        model's block filesystems read their store through it too.
    """
    dest = kmap(page)
    dest[:] = 0
    if inode.store is not None:
        start, end = _store_slice(inode, page.index)
        if end > start:
            dest[: end - start] = inode.store[start:end]
    SetPageUptodate(page)
    unlock_page(page)
    return 0


def _write_to_store(inode: Inode, page: Page) -> None:
    assert inode.store is not None
    start, end = _store_slice(inode, page.index)
    if end > start:
        inode.store[start:end] = page_bytes(page)[: end - start]


def block_write_full_page(page: Page, wbc: object) -> int:
    """Write a dirty page through its buffers: the bytes reach the store at
    submission; the page stays under writeback until the I/O completes.

    A page straddling i_size has its part past EOF zeroed first, on every
    writepage, because it may be mmapped: "writes to that region are not
    written out to the file" (what a shared mapping wrote there is lost).
    A page wholly past i_size (a truncation in progress) loses its buffers
    and is not written.

    Context: page locked, PG_dirty already cleared by the caller.
    Return: 0 (the page unlocked), or -EIO from the "writepage" fault point.
    Kernel: fs/buffer.c block_write_full_page_endio (2.6.35), reached from
        ext2_writepage and fat_writepage through block_write_full_page.
    """

    inode = page.mapping.host  # type: ignore[union-attr]
    assert isinstance(inode, Inode)
    end_index = inode.i_size >> PAGE_SHIFT
    if page.index >= end_index:  # not fully inside i_size
        offset = inode.i_size & (PAGE_SIZE - 1)
        if page.index >= end_index + 1 or not offset:
            if page_has_buffers(page):  # do_invalidatepage(page, 0)
                block_invalidate(inode.mapping, page)
            unlock_page(page)
            return 0  # don't care
        kmap(page)[offset:PAGE_SIZE] = 0  # zero_user_segment(page, offset, PAGE_CACHE_SIZE)
    return _block_write_full_page(inode, page)


def _block_write_full_page(inode: Inode, page: Page) -> int:
    """Submit the page's buffers for writing (see block_write_full_page).

    Kernel: fs/buffer.c __block_write_full_page (2.6.35).
    """
    machine = inode.machine
    if machine.should_fail("writepage", path=inode.path, index=page.index):

        SetPageError(page)
        inode.mapping.flags |= 1 << AS_EIO
        unlock_page(page)
        return -errno.EIO
    BUG_ON(PageWriteback(page), "__block_write_full_page of a page under writeback")
    if not page_has_buffers(page):
        create_empty_buffers(page, BLOCKSIZE, (1 << BH_Dirty) | (1 << BH_Uptodate))
    _write_to_store(inode, page)
    for bh in buffers_of(page):
        clear_buffer_dirty(bh)
        set_buffer_uptodate(bh)
    set_page_writeback(page)
    unlock_page(page)
    machine.submit_writeback(page)
    return 0


def _set_page_dirty_no_writeback(page: Page) -> int:
    """__set_page_dirty_no_writeback: shmem and ramfs pages just get PG_dirty."""
    return int(not TestSetPageDirty(page))


def shmem_writepage(page: Page, wbc: object) -> int:
    """Move a tmpfs page from its file to the swap cache, then write it to swap.
    Context: page locked, not mapped."""

    BUG_ON(page_mapped(page), "shmem_writepage of a mapped page")
    mapping = page.mapping
    assert isinstance(mapping, AddressSpace)
    inode = mapping.host
    assert isinstance(inode, Inode)
    machine = inode.machine
    index = page.index
    swap = get_swap_page(machine)
    if not swap or _add_to_swap_cache(page, swap) != 0:
        if swap:
            swapcache_free(machine, swap, None)
        # redirty: reclaim gets the page back locked, to activate it
        SetPageDirty(page)
        if getattr(wbc, "for_reclaim", 0):
            return AOP_WRITEPAGE_ACTIVATE
        unlock_page(page)
        return 0
    spin_lock_irq(mapping.tree_lock)
    _remove_from_page_cache(page)
    spin_unlock_irq(mapping.tree_lock)
    put_page(page)  # the page cache's reference
    swap_duplicate(machine, swap)  # the shmem inode's reference to the slot
    inode.swapped[index] = swap
    return swap_writepage(page, wbc)


# --- address_space_operations of each kind -------------------------------------------------


def _migrate_page(mapping: AddressSpace, newpage: Page, page: Page) -> int:

    return migrate_page(mapping, newpage, page)


def _buffer_migrate_page(mapping: AddressSpace, newpage: Page, page: Page) -> int:

    return buffer_migrate_page(mapping, newpage, page)


def _fail_migrate_page(mapping: AddressSpace, newpage: Page, page: Page) -> int:

    return fail_migrate_page(mapping, newpage, page)


def _releasepage_none(page: Page, gfp: int) -> int:
    return try_to_free_buffers(page)


EXT2_AOPS: Final = AddressSpaceOperations("ext2_aops", writepage=block_write_full_page,
                                   readpage=mpage_readpage, migratepage=_buffer_migrate_page)
SHMEM_AOPS: Final = AddressSpaceOperations("shmem_aops", writepage=shmem_writepage,
                                    set_page_dirty=_set_page_dirty_no_writeback,
                                    migratepage=_migrate_page)
FAT_AOPS: Final = AddressSpaceOperations("fat_aops", writepage=block_write_full_page,
                                  readpage=mpage_readpage)
XFS_BUF_AOPS: Final = AddressSpaceOperations("xfs_address_space_operations",
                                      migratepage=_fail_migrate_page)
RAMFS_AOPS: Final = AddressSpaceOperations("ramfs_aops", readpage=simple_readpage,
                                    set_page_dirty=_set_page_dirty_no_writeback)
HUGETLBFS_AOPS = AddressSpaceOperations("hugetlbfs_aops", set_page_dirty=hugetlbfs_set_page_dirty)


@dataclass(frozen=True)
class FsKind:
    name: str
    a_ops: AddressSpaceOperations
    disk_backed: bool
    account_dirty: bool
    swap_backed: bool = False
    unevictable: bool = False
    huge_pages: bool = False  # hugetlbfs: 2 MiB pages, see hugetlb.py
    describes: str = ""
    gfp_mask: int = GFP_HIGHUSER_MOVABLE  # the mapping's, for its page-cache pages


FS_KINDS: dict[str, FsKind] = {
    "ext2": FsKind("ext2", EXT2_AOPS, True, True,
                   describes="block filesystem with buffer heads (ext2/3/4): buffer_migrate_page"),
    "tmpfs": FsKind("tmpfs", SHMEM_AOPS, False, False, swap_backed=True,
                    describes="shmem/tmpfs, swap-backed: migrate_page"),
    "vfat": FsKind("vfat", FAT_AOPS, True, True,
                   describes="writepage but no migratepage: fallback_migrate_page"),
    "xfsbuf": FsKind("xfsbuf", XFS_BUF_AOPS, False, True,
                     describes="XFS buffer-cache pages: fail_migrate_page"),
    # ramfs_get_inode: mapping_set_gfp_mask(GFP_HIGHUSER), mapping_set_unevictable
    "ramfs": FsKind("ramfs", RAMFS_AOPS, False, False, unevictable=True, gfp_mask=GFP_HIGHUSER,
                    describes="ramfs: unevictable, no writepage, no migratepage, not movable"),
    "hugetlbfs": FsKind("hugetlbfs", HUGETLBFS_AOPS, False, False, huge_pages=True,
                        describes="hugetlbfs: 2 MiB huge pages from the pool, never migrated"),
}


# --- faults ----------------------------------------------------------------------------------


def filemap_fault(vma: VmAreaStruct, pgoff: int, flags: int) -> tuple[int, Page | None]:
    """Find (or read) the page-cache page at pgoff and return it locked."""

    inode = vma.vm_file
    assert isinstance(inode, Inode)
    mapping = inode.mapping
    if pgoff >= inode.nr_pages:
        return VM_FAULT_SIGBUS, None
    ret = 0
    page = find_get_page(mapping, pgoff)
    if page is None:
        page = find_or_create_page(mapping, pgoff, inode.machine, inode.kind.swap_backed)
        if page is None:
            return VM_FAULT_OOM, None
        # No page in the page cache at all.
        from .vmstat import PGMAJFAULT

        inode.machine.vm_events[PGMAJFAULT] += 1
        ret = VM_FAULT_MAJOR
    else:
        lock_page(page)
    if page.mapping is not mapping:  # truncated or migrated meanwhile
        unlock_page(page)
        put_page(page)
        return filemap_fault(vma, pgoff, flags)
    if not PageUptodate(page):
        if mapping.a_ops.readpage is not None:
            mapping.a_ops.readpage(inode, page)
            lock_page(page)
            if not PageUptodate(page):  # the read failed: SIGBUS
                unlock_page(page)
                put_page(page)
                return VM_FAULT_SIGBUS, None
        else:
            kmap(page)[:] = 0  # no backing store: a fresh zeroed page
            SetPageUptodate(page)
    return ret | VM_FAULT_LOCKED, page


def shmem_fault(vma: VmAreaStruct, pgoff: int, flags: int) -> tuple[int, Page | None]:
    """shmem_getpage: the cached page, the page swapped back in, or a new zeroed one."""

    inode = vma.vm_file
    assert isinstance(inode, Inode)
    if pgoff >= inode.nr_pages:
        return VM_FAULT_SIGBUS, None
    page = shmem_getpage(inode, pgoff, vma, pgoff)
    if page is None:
        return VM_FAULT_OOM, None
    return VM_FAULT_LOCKED, page


def shmem_getpage(inode: Inode, index: int, vma: VmAreaStruct | None, pgoff: int) -> Page | None:
    """A locked, uptodate page for ``index`` with a reference for the caller."""

    mapping = inode.mapping
    machine = inode.machine
    while True:
        page = find_lock_page(mapping, index)
        if page is not None:
            return page
        swap = inode.swapped.get(index)
        if swap is not None:
            page = lookup_swap_cache_page(machine, swap)
            if page is None:
                if vma is None:
                    return None
                page = read_swap_cache_async(machine, swap, vma, vma.vm_start + (
                    (pgoff - vma.vm_pgoff) << PAGE_SHIFT))
                if page is None:
                    return None
            lock_page(page)

            if not PageSwapCache(page) or page.private != swap:
                unlock_page(page)
                put_page(page)
                continue
            if PageWriteback(page):
                # Wait for the swap write to finish, then look again.
                from .page_writeback import wait_on_page_writeback

                wait_on_page_writeback(page)
                unlock_page(page)
                put_page(page)
                continue
            err = add_to_page_cache_locked(page, mapping, index)
            if err:
                # The memcg charge failed (no reclaim to fall back on here).
                unlock_page(page)
                put_page(page)
                if err == -errno.EEXIST:
                    continue
                return None
            del inode.swapped[index]
            delete_from_swap_cache(page)  # drops the swap cache's reference
            SetPageDirty(page)
            swap_free(machine, swap)
            return page
        if vma is not None:
            page = alloc_page_vma(machine, GFP_HIGHUSER_MOVABLE | _GFP_ZERO, vma,
                                  vma.vm_start + ((pgoff - vma.vm_pgoff) << PAGE_SHIFT))
        else:
            page = alloc_pages_current(machine, GFP_HIGHUSER_MOVABLE | _GFP_ZERO)
        if page is None:
            return None
        SetPageSwapBacked(page)

        _SetPageLocked(page)
        err = add_to_page_cache_locked(page, mapping, index)
        if err:
            _ClearPageLocked(page)
            put_page(page)
            if err == -errno.EEXIST:
                continue  # raced with another fault: look again
            return None
        lru_cache_add_anon(page)  # the allocation's reference is the caller's
        SetPageUptodate(page)
        return page


def shmem_set_policy(vma: VmAreaStruct, new: Mempolicy | None) -> int:
    """mpol_set_shared_policy over the VMA's range of file offsets."""
    inode = vma.vm_file
    assert isinstance(inode, Inode)
    start = vma.vm_pgoff
    end = start + ((vma.vm_end - vma.vm_start) >> PAGE_SHIFT)
    inode.shared_policy.set(start, end, mpol_dup(new))
    return 0


def shmem_get_policy(vma: VmAreaStruct, addr: int) -> Mempolicy | None:
    inode = vma.vm_file
    assert isinstance(inode, Inode)
    return inode.shared_policy.lookup(vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT))


GENERIC_FILE_VM_OPS: Final = VmOperations("generic_file_vm_ops", fault=filemap_fault)
SHMEM_VM_OPS: Final = VmOperations("shmem_vm_ops", fault=shmem_fault, set_policy=shmem_set_policy,
                            get_policy=shmem_get_policy)


def vm_ops_for(inode: Inode) -> VmOperations:
    return SHMEM_VM_OPS if inode.kind.swap_backed else GENERIC_FILE_VM_OPS


def truncate_inode_page(inode: Inode, page: Page) -> None:
    """Drop one unmapped cached page (truncate_complete_page). Buffers still
    in use stay attached: the page becomes an orphan with fs-private data."""
    from .page import ClearPageMappedToDisk

    cancel_dirty_page(page)
    if page_has_buffers(page):
        block_invalidate(inode.mapping, page)
    remove_from_page_cache(page)
    ClearPageMappedToDisk(page)
    put_page(page)  # pagecache ref


def create_inode(machine: Machine, path: str, size: int, kind: str) -> Inode:
    if kind not in FS_KINDS:
        raise ValueError(f"unknown filesystem kind {kind!r} (known: {', '.join(FS_KINDS)})")
    if size < 0:
        raise ValueError(f"file size must not be negative, got {size}")
    if FS_KINDS[kind].huge_pages and size & (HPAGE_SIZE - 1):
        raise ValueError(f"hugetlbfs file sizes are multiples of 2 MiB, got {size}")
    ino = machine._next_ino
    machine._next_ino += 1
    inode = Inode(machine, ino, path, FS_KINDS[kind], size)
    machine.inodes[ino] = inode
    return inode


def shmem_zero_setup(machine: Machine, size: int) -> Inode:
    """MAP_SHARED|MAP_ANONYMOUS: an unlinked tmpfs file named dev/zero."""
    inode = create_inode(machine, "/dev/zero (deleted)", size, "tmpfs")
    inode.linked = False
    return inode


def fput(inode: Inode) -> None:
    """Drop a VMA's reference; an unlinked inode with none left is evicted."""
    inode.i_count -= 1
    if inode.i_count == 0 and not inode.linked:
        evict_inode(inode)


def evict_inode(inode: Inode) -> None:
    """truncate_inode_pages + shmem's swap release: every cached page and swap
    slot of the file goes."""

    if inode.kind.huge_pages:
        truncate_hugepages(inode, 0)  # hugetlbfs_delete_inode
    _truncate_pages(inode, sorted(inode.mapping.page_tree))
    for entry in list(inode.swapped.values()):
        free_swap_and_cache(inode.machine, entry)
    inode.swapped.clear()
    del inode.machine.inodes[inode.ino]


def _truncate_pages(inode: Inode, indexes: list[int]) -> None:
    """truncate_inode_pages_range: each page is held by the lookup's reference
    (pagevec_lookup) across its lock, so freeing happens after unlock_page."""
    from .page import get_page
    from .swap import put_page

    for index in indexes:
        page = inode.mapping.page_tree.get(index)
        if page is None:
            continue
        get_page(page)
        lock_page(page)
        if page.mapping is inode.mapping:
            truncate_inode_page(inode, page)
        unlock_page(page)
        put_page(page)


def truncate_inode(inode: Inode, size: int) -> None:
    """truncate(2) of a file: unmap and drop every page past the new size
    (unmap_mapping_range + truncate_inode_pages_range)."""
    from .memory import zap_pte_range

    if inode.kind.huge_pages:
        hugetlb_vmtruncate(inode, size)
        return
    new_pages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT
    doomed = sorted(i for i in inode.mapping.page_tree if i >= new_pages)
    for vma in list(inode.mapping.i_mmap):
        assert isinstance(vma, VmAreaStruct)
        first = max(new_pages, vma.vm_pgoff)
        start = vma.vm_start + ((first - vma.vm_pgoff) << PAGE_SHIFT)
        if start < vma.vm_end:
            zap_pte_range(vma.vm_mm, vma, start, vma.vm_end)
    _truncate_pages(inode, doomed)
    for index in [i for i in inode.swapped if i >= new_pages]:
        from .swapfile import free_swap_and_cache

        free_swap_and_cache(inode.machine, inode.swapped.pop(index))
    inode.i_size = size
    if inode.store is not None:
        store = np.zeros(size, dtype=np.uint8)
        keep = min(size, len(inode.store))
        store[:keep] = inode.store[:keep]
        inode.store = store


def hugetlb_vmtruncate(inode: Inode, offset: int) -> None:
    """hugetlbfs truncate: only to a huge-page boundary (else EINVAL); unmap
    the huge pages past it from every mapping, then drop them."""
    if offset & (HPAGE_SIZE - 1):
        raise OSError(errno.EINVAL, f"hugetlbfs truncates to multiples of 2 MiB, not {offset}")
    inode.i_size = offset
    pgoff = offset >> PAGE_SHIFT
    for vma in list(inode.mapping.i_mmap):  # hugetlb_vmtruncate_list
        assert isinstance(vma, VmAreaStruct)
        v_offset = max(0, (pgoff - vma.vm_pgoff) << PAGE_SHIFT)
        if vma.vm_start + v_offset < vma.vm_end:
            unmap_hugepage_range(vma, vma.vm_start + v_offset, vma.vm_end)
    truncate_hugepages(inode, offset)
