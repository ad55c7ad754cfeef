"""Examples of the virtual-memory paths of issue 3: page faults (zero page,
first touch, copy on write, reuse, file and shmem faults), the signals and
errors of bad accesses and bad system calls, mremap, exit, find_vma,
follow_page, mlock and the rmap walk that installs migration entries.

Every example ends with ``Machine.check()`` where the machine is at rest.
"""

from __future__ import annotations

import errno

import pytest

from pagemig import PAGE_SIZE, InvariantError, KernelBug, Machine
from pagemig.mm.filemap import PAGECACHE_TAG_DIRTY
from pagemig.mm.fs import Inode
from pagemig.mm.highmem import page_bytes
from pagemig.mm.list import list_for_each_entry_safe
from pagemig.mm.memory import FOLL_DUMP, FOLL_GET, FOLL_WRITE, FollowPageError, follow_page
from pagemig.mm.migrate import remove_migration_ptes
from pagemig.mm.mmap import (
    MM_ANONPAGES,
    MM_FILEPAGES,
    MM_SWAPENTS,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    TASK_SIZE,
    VM_LOCKED,
    VmAreaStruct,
    find_vma,
    vma_unlink,
)
from pagemig.mm.mmzone import (
    LRU_ACTIVE_ANON,
    LRU_INACTIVE_ANON,
    LRU_UNEVICTABLE,
    ZoneStatItem,
)
from pagemig.mm.page import (
    Page,
    PageAnon,
    PageDirty,
    PageLRU,
    PageMlocked,
    PageSwapBacked,
    PageUnevictable,
    PageWriteback,
    page_count,
    page_mapcount,
    page_mapped,
    page_to_nid,
)
from pagemig.mm.page_alloc import nid_free_pages, nr_free_pages
from pagemig.mm.page_writeback import clear_page_dirty_for_io
from pagemig.mm.pagemap import lock_page, unlock_page
from pagemig.mm.pgtable import (
    is_swap_pte,
    pte_dirty,
    pte_pfn,
    pte_present,
    pte_special,
    pte_to_swp_entry,
    pte_write,
)
from pagemig.mm.rmap import (
    SWAP_SUCCESS,
    TTU_IGNORE_ACCESS,
    TTU_IGNORE_MLOCK,
    TTU_MIGRATION,
    page_anon_vma,
    try_to_unmap,
)
from pagemig.mm.swap import lru_add_drain_all, put_page
from pagemig.mm.swapops import (
    SWP_MIGRATION_READ,
    SWP_MIGRATION_WRITE,
    is_migration_entry,
    swp_offset,
    swp_type,
)
from pagemig.mm.vmstat import PGFAULT, PGMAJFAULT, VM_EVENT_NAMES
from pagemig.process import Process

from .conftest import alloc, release

PS = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
NR_ANON_PAGES = ZoneStatItem.NR_ANON_PAGES
NR_FILE_MAPPED = ZoneStatItem.NR_FILE_MAPPED
NR_FILE_DIRTY = ZoneStatItem.NR_FILE_DIRTY
NR_WRITEBACK = ZoneStatItem.NR_WRITEBACK
NR_MLOCK = ZoneStatItem.NR_MLOCK
NR_UNEVICTABLE = ZoneStatItem.NR_UNEVICTABLE
NR_SHMEM = ZoneStatItem.NR_SHMEM
UNEVICTABLE_PGMLOCKED = VM_EVENT_NAMES.index("unevictable_pgs_mlocked")
UNEVICTABLE_PGMUNLOCKED = VM_EVENT_NAMES.index("unevictable_pgs_munlocked")


@pytest.fixture
def m() -> Machine:
    """Two nodes, CPU 0 on node 0 and CPU 1 on node 1, a swap device."""
    return Machine(nodes=2, node_memory="64MiB", cpus=2, swap="16MiB")


# --- helpers ------------------------------------------------------------------------------------


def pte_of(p: Process, addr: int) -> int:
    return p.mm.ptes.get(addr // PS, 0)


def page_at(p: Process, addr: int) -> Page:
    """The struct page the present pte at addr maps."""
    pte = pte_of(p, addr)
    assert pte_present(pte), f"nothing present at {addr:#x}"
    return p.machine.pfn_to_page(pte_pfn(pte))


def stat(m: Machine, item: ZoneStatItem, nid: int | None = None) -> int:
    return sum(z.vm_stat[item] for z in m.zones() if nid is None or z.node_id == nid)


def on_lru(page: Page, lru: int) -> bool:
    return any(entry is page for entry in list_for_each_entry_safe(page.zone.lru[lru]))


def assert_segv(exc: pytest.ExceptionInfo[OSError]) -> None:
    assert exc.value.errno == errno.EFAULT
    assert "SIGSEGV" in str(exc.value)


def assert_sigbus(exc: pytest.ExceptionInfo[OSError]) -> None:
    assert exc.value.errno == errno.EFAULT
    assert "SIGBUS" in str(exc.value)


def write_back(m: Machine, inode: Inode) -> int:
    """What fsync/msync's write_cache_pages does to the file's dirty-tagged
    pages: lock, clear_page_dirty_for_io, ->writepage (which unlocks). The
    model offers no msync, so the test drives writeback itself."""
    mapping = inode.mapping
    started = 0
    for index in sorted(mapping.tags[PAGECACHE_TAG_DIRTY]):
        page = mapping.page_tree[index]
        lock_page(page)
        if clear_page_dirty_for_io(page):
            assert mapping.a_ops.writepage is not None
            assert mapping.a_ops.writepage(page, None) == 0
            started += 1
        else:
            unlock_page(page)
    return started


# --- anonymous faults ---------------------------------------------------------------------------


def test_read_of_untouched_anon_maps_the_zero_page(m: Machine) -> None:
    p = m.spawn(cpu=0)
    a = p.mmap(2 * PS)
    count, mapcount = page_count(m.zero_page), page_mapcount(m.zero_page)
    faults = m.vm_events[PGFAULT]
    assert p.read(a + 10, 100) == bytes(100)
    pte = pte_of(p, a)
    assert pte_present(pte) and pte_special(pte) and not pte_write(pte)
    assert pte_pfn(pte) == m.zero_page.pfn
    # The special pte holds neither a reference nor a mapcount.
    assert page_count(m.zero_page) == count
    assert page_mapcount(m.zero_page) == mapcount
    assert p.mm.rss == [0, 0, 0]
    assert stat(m, NR_ANON_PAGES) == 0
    assert m.vm_events[PGFAULT] == faults + 1
    assert pte_of(p, a + PS) == 0  # only the page read was faulted in
    m.check()


@pytest.mark.parametrize("cpu", [0, 1])
def test_first_write_allocates_a_zeroed_page_on_the_cpus_node(m: Machine, cpu: int) -> None:
    p = m.spawn(cpu=cpu)
    a = p.mmap(2 * PS)
    free = [nid_free_pages(node) for node in m.nodes]
    p.write(a + 100, b"abc")
    page = page_at(p, a)
    assert page_to_nid(page) == m.cpu_to_node_id(cpu) == cpu
    assert p.node_of(a) == cpu
    assert PageAnon(page) and PageSwapBacked(page)
    assert page_mapcount(page) == 1
    assert bytes(page_bytes(page)) == bytes(100) + b"abc" + bytes(PS - 103)
    pte = pte_of(p, a)
    assert pte_write(pte) and pte_dirty(pte) and not pte_special(pte)
    assert p.mm.rss[MM_ANONPAGES] == 1
    assert stat(m, NR_ANON_PAGES, cpu) == 1 and stat(m, NR_ANON_PAGES, 1 - cpu) == 0
    assert nid_free_pages(m.nodes[cpu]) == free[cpu] - 1
    assert nid_free_pages(m.nodes[1 - cpu]) == free[1 - cpu]
    m.check()


def test_write_after_read_replaces_the_zero_page(m: Machine) -> None:
    p = m.spawn(cpu=1)
    a = p.mmap(PS)
    count = page_count(m.zero_page)
    assert p.read(a, 8) == bytes(8)
    p.write(a, b"written!")
    page = page_at(p, a)
    assert page is not m.zero_page and page_to_nid(page) == 1
    assert p.read(a, 8) == b"written!"
    assert page_count(m.zero_page) == count
    assert not page_bytes(m.zero_page).any(), "the zero page must never be written"
    assert p.mm.rss[MM_ANONPAGES] == 1
    m.check()


def test_first_touch_falls_back_by_distance_when_the_local_node_is_full() -> None:
    # Node 2 is nearer to node 0 than node 1 is.
    m = Machine(nodes=3, node_memory="1MiB", cpus=[0, 1, 2],
                distances=[[10, 30, 20], [30, 10, 20], [20, 20, 10]])
    p = m.spawn(cpu=0)
    a = p.mmap(3 * PS)
    held: list[Page] = []

    def fill(nid: int) -> None:
        while nid_free_pages(m.nodes[nid]):
            held.append(alloc(m, nid))

    fill(0)
    p.write(a, b"A")
    assert p.node_of(a) == 2
    fill(2)
    p.write(a + PS, b"B")
    assert p.node_of(a + PS) == 1
    for page in held:
        release(m, page)
    p.write(a + 2 * PS, b"C")
    assert p.node_of(a + 2 * PS) == 0
    assert p.read(a, 1) + p.read(a + PS, 1) + p.read(a + 2 * PS, 1) == b"ABC"
    m.check()


def test_fork_shares_anon_pages_copy_on_write(m: Machine) -> None:
    p = m.spawn(cpu=0)
    a = p.mmap(2 * PS)
    p.write(a, b"parent")
    c = p.fork()
    page = page_at(p, a)
    assert page_at(c, a) is page
    assert page_mapcount(page) == 2
    assert not pte_write(pte_of(p, a)) and not pte_write(pte_of(c, a))
    assert c.mm.rss[MM_ANONPAGES] == 1
    m.check()
    # The child's write copies; each side then maps a page of its own.
    c.write(a, b"child!")
    cpage = page_at(c, a)
    assert cpage is not page
    assert page_mapcount(page) == 1 and page_mapcount(cpage) == 1
    assert p.read(a, 6) == b"parent" and c.read(a, 6) == b"child!"
    assert bytes(page_bytes(cpage)[6:]) == bytes(page_bytes(page)[6:])
    # The parent is now the only mapper: its write reuses its page.
    p.write(a, b"PARENT")
    assert page_at(p, a) is page
    assert c.read(a, 6) == b"child!"
    m.check()


def test_parent_write_after_fork_leaves_the_childs_bytes_alone(m: Machine) -> None:
    p = m.spawn(cpu=0)
    a = p.mmap(3 * PS)
    p.write(a, bytes(range(256)) * (3 * PS // 256))
    c = p.fork()
    p.write(a + PS - 2, b"\xff" * 4)  # straddles pages 0 and 1
    assert c.read(a, 3 * PS) == bytes(range(256)) * (3 * PS // 256)
    assert p.read(a + PS - 2, 4) == b"\xff" * 4
    # The third page was written by nobody since the fork: still shared.
    assert page_at(p, a + 2 * PS) is page_at(c, a + 2 * PS)
    assert page_at(p, a) is not page_at(c, a)
    m.check()


def test_write_reuses_an_exclusively_owned_write_protected_page(m: Machine) -> None:
    p = m.spawn(cpu=0)
    a = p.mmap(PS)
    p.write(a, b"mine")
    c = p.fork()
    c.exit()
    page = page_at(p, a)
    assert page_mapcount(page) == 1 and not pte_write(pte_of(p, a))
    free = nr_free_pages(m)
    p.write(a, b"MINE")
    assert page_at(p, a) is page, "do_wp_page must reuse, not copy"
    assert pte_write(pte_of(p, a))
    assert nr_free_pages(m) == free
    assert p.read(a, 4) == b"MINE"
    m.check()


# --- file and shmem faults ----------------------------------------------------------------------


def test_shared_file_mapping_reads_the_files_data(m: Machine) -> None:
    data = bytes(range(251)) * 40
    f = m.create_file("/data", size=3 * PS, fs="ext2", data=data)
    p = m.spawn(cpu=0)
    a = p.mmap(3 * PS, file=f, shared=True)
    assert p.read(a, len(data)) == data
    assert p.read(a + len(data), 3 * PS - len(data)) == bytes(3 * PS - len(data))
    page = page_at(p, a)
    assert f.mapping.page_tree[0] is page
    assert not PageAnon(page) and page_mapcount(page) == 1
    assert p.mm.rss == [3, 0, 0]
    assert p.mm.rss[MM_FILEPAGES] == 3
    assert stat(m, NR_FILE_MAPPED) == 3
    m.check()


@pytest.mark.parametrize("fs", ["ext2", "vfat"])
def test_shared_file_writes_reach_the_store_after_writeback(m: Machine, fs: str) -> None:
    f = m.create_file("/data", size=2 * PS, fs=fs, data=b"old contents")
    p = m.spawn(cpu=0)
    a = p.mmap(2 * PS, file=f, shared=True)
    p.write(a + PS + 5, b"NEW")  # a write fault: dirties the page
    page = f.mapping.page_tree[1]
    assert PageDirty(page) and stat(m, NR_FILE_DIRTY) == 1
    assert f.store is not None
    assert bytes(f.store[PS + 5:PS + 8]) == bytes(3), "not written back yet"
    assert write_back(m, f) == 1
    assert PageWriteback(page) and stat(m, NR_WRITEBACK) == 1
    assert m.complete_writeback() == 1
    store = m.open("/data").store
    assert store is not None
    assert bytes(store[PS + 5:PS + 8]) == b"NEW"
    assert bytes(store[:12]) == b"old contents"
    assert not PageDirty(page) and not PageWriteback(page)
    assert stat(m, NR_FILE_DIRTY) == 0 and stat(m, NR_WRITEBACK) == 0
    m.check()
    # Another process sees the data through the page cache.
    q = m.spawn(cpu=1)
    b = q.mmap(2 * PS, file=f, shared=True)
    assert q.read(b + PS + 5, 3) == b"NEW"
    m.check()


def test_shared_file_read_then_write_dirties_the_page(m: Machine) -> None:
    f = m.create_file("/data", size=PS, fs="ext2", data=b"x")
    p = m.spawn(cpu=0)
    a = p.mmap(PS, file=f, shared=True)
    p.read(a, 1)
    p.write(a, b"y")
    assert PageDirty(f.mapping.page_tree[0])
    assert stat(m, NR_FILE_DIRTY) == 1


def test_a_fault_that_reads_the_file_counts_a_major_fault(m: Machine) -> None:
    f = m.create_file("/data", size=2 * PS, fs="ext2", data=b"on disk")
    p = m.spawn()
    a = p.mmap(2 * PS, file=f)
    major, faults = m.vm_events[PGMAJFAULT], m.vm_events[PGFAULT]
    assert p.read(a, 7) == b"on disk"
    assert m.vm_events[PGFAULT] == faults + 1
    q = m.spawn()
    b = q.mmap(2 * PS, file=f)
    q.read(b, 1)  # cached now: a minor fault
    assert m.vm_events[PGFAULT] == faults + 2
    assert m.vm_events[PGMAJFAULT] == major + 1


def test_private_file_mapping_copies_on_write(m: Machine) -> None:
    f = m.create_file("/data", size=PS, fs="ext2", data=b"file data")
    p = m.spawn(cpu=0)
    a = p.mmap(PS, file=f)
    assert p.read(a, 9) == b"file data"
    cache_page = f.mapping.page_tree[0]
    assert page_at(p, a) is cache_page and not pte_write(pte_of(p, a))
    p.write(a, b"FILE")
    anon = page_at(p, a)
    assert anon is not cache_page and PageAnon(anon)
    assert p.read(a, 9) == b"FILE data"
    assert bytes(page_bytes(cache_page)[:9]) == b"file data"
    assert f.store is not None and bytes(f.store[:9]) == b"file data"
    assert page_mapcount(cache_page) == 0 and not PageDirty(cache_page)
    assert p.mm.rss[MM_ANONPAGES] == 1 and p.mm.rss[MM_FILEPAGES] == 0
    q = m.spawn(cpu=1)
    b = q.mmap(PS, file=f, shared=True)
    assert q.read(b, 9) == b"file data"
    m.check()


def test_private_file_mapping_sees_shared_writes_until_it_copies(m: Machine) -> None:
    f = m.create_file("/data", size=PS, fs="tmpfs")
    writer = m.spawn(cpu=0)
    w = writer.mmap(PS, file=f, shared=True)
    reader = m.spawn(cpu=1)
    r = reader.mmap(PS, file=f)
    assert reader.read(r, 3) == bytes(3)
    writer.write(w, b"one")
    assert reader.read(r, 3) == b"one"  # the same page-cache page
    reader.write(r + 10, b"!")  # copy on write: the reader's page is now its own
    writer.write(w, b"two")
    assert reader.read(r, 3) == b"one" and writer.read(w, 3) == b"two"
    m.check()


def test_shmem_is_shared_between_parent_and_child(m: Machine) -> None:
    p = m.spawn(cpu=0)
    a = p.mmap(2 * PS, shared=True)
    p.write(a, b"from parent")
    c = p.fork()
    assert c.read(a, 11) == b"from parent"
    c.write(a + PS, b"from child")
    assert p.read(a + PS, 10) == b"from child"
    page = page_at(p, a + PS)
    assert page_at(c, a + PS) is page
    assert not PageAnon(page) and PageSwapBacked(page)
    assert page_mapcount(page) == 2
    assert pte_write(pte_of(p, a + PS)) and pte_write(pte_of(c, a + PS))
    assert stat(m, NR_SHMEM) == 2
    m.check()
    p.exit()
    assert c.read(a, 11) == b"from parent"
    m.check()


def test_tmpfs_file_is_shared_between_unrelated_processes(m: Machine) -> None:
    f = m.create_file("/dev/shm/seg", size=PS, fs="tmpfs")
    p, q = m.spawn(cpu=0), m.spawn(cpu=1)
    a = p.mmap(PS, file=f, shared=True)
    b = q.mmap(PS, file=f, shared=True)
    p.write(a + 7, b"hello")
    assert q.read(b + 7, 5) == b"hello"
    assert page_at(p, a) is page_at(q, b) is f.mapping.page_tree[0]
    p.exit()
    q.exit()
    # A linked tmpfs file keeps its pages when nobody maps it.
    r = m.spawn(cpu=0)
    c = r.mmap(PS, file=f, shared=True)
    assert r.read(c + 7, 5) == b"hello"
    m.check()


# --- bad accesses and bad system calls ----------------------------------------------------------


def test_access_after_munmap_is_sigsegv(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(2 * PS)
    p.write(a, b"gone")
    p.munmap(a, 2 * PS)
    with pytest.raises(OSError) as exc:
        p.read(a, 1)
    assert_segv(exc)
    with pytest.raises(OSError) as exc:
        p.write(a + PS, b"x")
    assert_segv(exc)
    assert p.mm.mmap == [] and p.mm.ptes == {} and p.mm.rss == [0, 0, 0]
    m.check()


def test_access_beyond_the_end_of_a_file_is_sigbus(m: Machine) -> None:
    f = m.create_file("/short", size=PS + 10, fs="ext2", data=b"s" * (PS + 10))
    p = m.spawn()
    a = p.mmap(3 * PS, file=f)
    # The last partial page is mapped; its tail reads as zeros.
    assert p.read(a + PS, 12) == b"s" * 10 + bytes(2)
    with pytest.raises(OSError) as exc:
        p.read(a + 2 * PS, 1)
    assert_sigbus(exc)
    with pytest.raises(OSError) as exc:
        p.write(a + 2 * PS + 5, b"x")
    assert_sigbus(exc)
    assert pte_of(p, a + 2 * PS) == 0
    m.check()


def test_mmap_of_length_zero_is_einval(m: Machine) -> None:
    p = m.spawn()
    with pytest.raises(OSError) as exc:
        p.mmap(0)
    assert exc.value.errno == errno.EINVAL
    assert p.mm.mmap == []


def test_mmap_fixed_at_a_misaligned_address_is_einval(m: Machine) -> None:
    p = m.spawn()
    with pytest.raises(OSError) as exc:
        p.mmap(PS, addr=0x10000001, fixed=True)
    assert exc.value.errno == errno.EINVAL
    assert p.mm.mmap == []


def test_mmap_with_unknown_prot_bits_is_einval(m: Machine) -> None:
    p = m.spawn()
    with pytest.raises(OSError) as exc:
        p.mmap(PS, prot=0x100)
    assert exc.value.errno == errno.EINVAL


def test_mmap_hint_is_honoured_when_free_and_rounded_up(m: Machine) -> None:
    p = m.spawn()
    assert p.mmap(PS, addr=0x20000000) == 0x20000000
    assert p.mmap(PS, addr=0x30000010) == 0x30001000
    # A hint over an existing mapping is ignored: the mapping goes elsewhere.
    c = p.mmap(2 * PS, addr=0x20000000 - PS)
    assert c + 2 * PS <= 0x20000000 - PS or c >= 0x30001000 + PS
    assert [v.vm_start for v in p.mm.mmap] == sorted([0x20000000, 0x30001000, c])


def test_mmap_longer_than_the_address_space_is_enomem(m: Machine) -> None:
    p = m.spawn()
    with pytest.raises(OSError) as exc:
        p.mmap(TASK_SIZE + PS)
    assert exc.value.errno == errno.ENOMEM
    with pytest.raises(OSError) as exc:
        p.mmap(2 * PS, addr=TASK_SIZE - PS, fixed=True)
    assert exc.value.errno == errno.ENOMEM
    assert p.mm.mmap == []


def test_mmap_fixed_replaces_what_was_mapped_there(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(3 * PS, addr=0x10000000, fixed=True)
    p.write(a, b"old" * PS)
    b = p.mmap(PS, addr=a + PS, fixed=True)
    assert b == a + PS
    assert p.read(b, 3) == bytes(3)
    assert p.read(a, 3) == b"old" and p.read(a + 2 * PS, 3) == (b"old" * PS)[2 * PS:2 * PS + 3]
    assert [(v.vm_start, v.vm_end) for v in p.mm.mmap] == [
        (a, a + PS), (a + PS, a + 2 * PS), (a + 2 * PS, a + 3 * PS)]
    m.check()


def test_munmap_of_an_unmapped_range_succeeds(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PS, addr=0x10000000, fixed=True)
    p.munmap(0x20000000, 4 * PS)  # nothing there: not an error on Linux
    p.munmap(a + PS, PS)  # just above the mapping
    assert [(v.vm_start, v.vm_end) for v in p.mm.mmap] == [(a, a + PS)]


@pytest.mark.parametrize(("addr", "length"), [(0x10000001, PS), (0x10000000, 0)])
def test_munmap_misaligned_or_empty_is_einval(m: Machine, addr: int, length: int) -> None:
    p = m.spawn()
    p.mmap(PS, addr=0x10000000, fixed=True)
    with pytest.raises(OSError) as exc:
        p.munmap(addr, length)
    assert exc.value.errno == errno.EINVAL
    assert len(p.mm.mmap) == 1


def test_partial_munmap_splits_the_mapping(m: Machine) -> None:
    p = m.spawn(cpu=0)
    a = p.mmap(3 * PS)
    p.write(a, b"0" * PS + b"1" * PS + b"2" * PS)
    c = p.fork()
    p.munmap(a + PS, PS)
    assert [(v.vm_start, v.vm_end) for v in p.mm.mmap] == [(a, a + PS), (a + 2 * PS, a + 3 * PS)]
    assert p.read(a, 1) == b"0" and p.read(a + 2 * PS, 1) == b"2"
    with pytest.raises(OSError) as exc:
        p.read(a + PS, 1)
    assert_segv(exc)
    assert c.read(a + PS, 1) == b"1"
    m.check()
    p.write(a + 2 * PS, b"Z")  # the split VMA still finds its anon_vma for COW
    assert c.read(a + 2 * PS, 1) == b"2"
    m.check()


def test_mprotect_none_then_access_faults_and_restoring_keeps_data(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(2 * PS)
    p.write(a, b"keep")
    p.mprotect(a, PS, PROT_NONE)
    with pytest.raises(OSError) as exc:
        p.read(a, 1)
    assert_segv(exc)
    with pytest.raises(OSError) as exc:
        p.write(a, b"x")
    assert_segv(exc)
    assert p.read(a + PS, 1) == bytes(1)  # the other half is untouched
    assert len(p.mm.mmap) == 2
    p.mprotect(a, PS, RW)
    assert p.read(a, 4) == b"keep"
    m.check()


def test_write_to_a_read_only_mapping_is_sigsegv(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PS, prot=PROT_READ)
    assert p.read(a, 1) == b"\0"
    with pytest.raises(OSError) as exc:
        p.write(a, b"x")
    assert_segv(exc)
    p.mprotect(a, PS, RW)
    p.write(a, b"x")
    assert p.read(a, 1) == b"x"
    m.check()


def test_mprotect_over_a_hole_is_enomem_after_changing_what_precedes_it(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PS, addr=0x10000000, fixed=True)
    p.mmap(PS, addr=a + 2 * PS, fixed=True)
    with pytest.raises(OSError) as exc:
        p.mprotect(a, 3 * PS, PROT_READ)
    assert exc.value.errno == errno.ENOMEM
    # As in the kernel, the VMA before the hole was already changed.
    with pytest.raises(OSError) as exc2:
        p.write(a, b"x")
    assert_segv(exc2)
    p.write(a + 2 * PS, b"y")
    with pytest.raises(OSError) as exc:
        p.mprotect(a + PS, PS, PROT_READ)  # starts in the hole: nothing changes
    assert exc.value.errno == errno.ENOMEM


@pytest.mark.parametrize(("offset", "prot", "err"), [(1, PROT_READ, errno.EINVAL),
                                                     (0, 0x80, errno.EINVAL)])
def test_mprotect_bad_arguments(m: Machine, offset: int, prot: int, err: int) -> None:
    p = m.spawn()
    a = p.mmap(PS)
    with pytest.raises(OSError) as exc:
        p.mprotect(a + offset, PS, prot)
    assert exc.value.errno == err


def test_mprotect_exec_keeps_the_mapping_readable(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PS)
    p.write(a, b"code")
    p.mprotect(a, PS, PROT_EXEC)
    assert p.read(a, 4) == b"code"


# --- mremap -------------------------------------------------------------------------------------


def test_mremap_grows_in_place_and_keeps_data(m: Machine) -> None:
    p = m.spawn(cpu=0)
    a = p.mmap(2 * PS, addr=0x10000000, fixed=True)
    p.write(a, b"in place")
    page = page_at(p, a)
    assert p.mremap(a, 2 * PS, 5 * PS) == a
    assert [(v.vm_start, v.vm_end) for v in p.mm.mmap] == [(a, a + 5 * PS)]
    assert page_at(p, a) is page and p.read(a, 8) == b"in place"
    p.write(a + 4 * PS, b"tail")
    assert p.read(a + 4 * PS, 4) == b"tail"
    m.check()


def test_mremap_moves_when_blocked_and_keeps_data_and_rmap(m: Machine) -> None:
    p = m.spawn(cpu=0)
    a = p.mmap(2 * PS, addr=0x10000000, fixed=True)
    p.mmap(PS, addr=a + 2 * PS, fixed=True)  # blocks growth in place
    p.write(a, b"first")
    p.write(a + PS, b"second")
    c = p.fork()  # the pages are shared COW: rmap must reach both mms
    pages = [page_at(p, a), page_at(p, a + PS)]
    b = p.mremap(a, 2 * PS, 4 * PS)
    assert b != a
    assert [page_at(p, b), page_at(p, b + PS)] == pages  # ptes moved, not copied
    assert p.read(b, 5) == b"first" and p.read(b + PS, 6) == b"second"
    assert p.read(b + 2 * PS, 4) == bytes(4)
    with pytest.raises(OSError) as exc:
        p.read(a, 1)
    assert_segv(exc)
    m.check()
    # COW still works from the new place, in both directions.
    p.write(b, b"FIRST")
    c.write(a + PS, b"SECOND")
    assert c.read(a, 5) == b"first" and p.read(b + PS, 6) == b"second"
    m.check()


def test_mremap_to_a_fixed_address_and_shrink(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(3 * PS, addr=0x10000000, fixed=True)
    p.write(a, b"abc" * PS)
    b = p.mremap(a, 3 * PS, 2 * PS, new_addr=0x20000000)
    assert b == 0x20000000
    assert p.read(b, 6) == b"abcabc"
    assert [(v.vm_start, v.vm_end) for v in p.mm.mmap] == [(b, b + 2 * PS)]
    assert p.mremap(b, 2 * PS, PS) == b
    assert [(v.vm_start, v.vm_end) for v in p.mm.mmap] == [(b, b + PS)]
    m.check()


def test_mremap_errors(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(2 * PS, addr=0x10000000, fixed=True)
    p.mmap(PS, addr=a + 2 * PS, fixed=True)
    with pytest.raises(OSError) as exc:
        p.mremap(a, 2 * PS, 4 * PS, may_move=False)
    assert exc.value.errno == errno.ENOMEM
    with pytest.raises(OSError) as exc:
        p.mremap(a + 1, PS, 2 * PS)
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:
        p.mremap(a, 2 * PS, 0)
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:
        p.mremap(0x30000000, PS, 2 * PS)  # nothing mapped there
    assert exc.value.errno == errno.EFAULT
    with pytest.raises(OSError) as exc:
        p.mremap(a, 3 * PS, 4 * PS)  # crosses a VMA boundary
    assert exc.value.errno == errno.EFAULT
    with pytest.raises(OSError) as exc:
        p.mremap(a, 2 * PS, 2 * PS, new_addr=a + PS)  # overlapping move
    assert exc.value.errno == errno.EINVAL
    assert len(p.mm.mmap) == 2


# --- exit ---------------------------------------------------------------------------------------


def test_exit_frees_everything_but_the_page_cache(m: Machine) -> None:
    f = m.create_file("/data", size=4 * PS, fs="ext2", data=b"d" * PS)
    lru_add_drain_all(m)
    free = nr_free_pages(m)
    inodes = set(m.inodes)
    p = m.spawn(cpu=0)
    anon = p.mmap(8 * PS)
    p.write(anon, b"a" * 8 * PS)
    p.mlock(anon, 2 * PS)  # (drains the pagevecs: before the shmem pages exist, see below)
    shm = p.mmap(2 * PS, shared=True)
    p.write(shm, b"s" * 2 * PS)
    fa = p.mmap(4 * PS, file=f, shared=True)
    p.write(fa, b"F")
    p.read(fa + PS, 1)
    priv = p.mmap(2 * PS, file=f)
    p.write(priv + PS, b"P")
    c = p.fork()
    c.write(anon + PS, b"child")
    g = c.fork()
    m.check()
    for proc in (c, p, g):
        proc.exit()
    lru_add_drain_all(m)
    assert nr_free_pages(m) == free - f.mapping.nrpages
    assert f.mapping.nrpages == 2
    for item in (NR_ANON_PAGES, NR_FILE_MAPPED, NR_MLOCK, NR_SHMEM, NR_UNEVICTABLE):
        assert stat(m, item) == 0, item.name
    assert set(m.inodes) == inodes, "the shmem object of the anonymous shared mapping is gone"
    assert not p.alive and not c.alive and not g.alive
    with pytest.raises(ProcessLookupError) as exc:
        p.read(anon, 1)
    assert exc.value.errno == errno.ESRCH
    with pytest.raises(ProcessLookupError):
        m.process(p.pid)
    m.check()


@pytest.mark.parametrize("how", ["munmap", "exit"])
def test_last_unmap_of_shmem_pages_on_the_lru_frees_them(m: Machine, how: str) -> None:
    lru_add_drain_all(m)
    free = nr_free_pages(m)
    p = m.spawn(cpu=0)
    a = p.mmap(2 * PS, shared=True)
    p.write(a, b"s" * 2 * PS)
    lru_add_drain_all(m)  # the shmem pages reach the LRU (any drain does this)
    if how == "munmap":
        p.munmap(a, 2 * PS)
    else:
        p.exit()
    assert nr_free_pages(m) == free
    m.check()


# --- find_vma -----------------------------------------------------------------------------------


def test_find_vma_edges(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(2 * PS, addr=0x10000000, fixed=True)
    b = p.mmap(PS, addr=0x10010000, fixed=True)
    va, vb = p.mm.mmap
    assert (va.vm_start, vb.vm_start) == (a, b)
    assert find_vma(p.mm, 0) is va  # below everything: the first VMA
    assert find_vma(p.mm, a) is va
    assert find_vma(p.mm, a + 2 * PS - 1) is va
    assert find_vma(p.mm, a + 2 * PS) is vb  # in the hole below b: the next VMA up
    assert find_vma(p.mm, b - 1) is vb
    assert find_vma(p.mm, b + PS - 1) is vb
    assert find_vma(p.mm, b + PS) is None  # above the last VMA
    assert find_vma(m.spawn().mm, a) is None  # no VMAs at all


class CountingList(list[VmAreaStruct]):
    """mm.mmap that counts the VMAs read from it (by index or iteration)."""

    reads = 0

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        item = super().__getitem__(i)
        self.reads += len(item) if isinstance(item, list) else 1
        return item

    def __iter__(self):  # type: ignore[no-untyped-def]
        for item in super().__iter__():
            self.reads += 1
            yield item

    def __reversed__(self):  # type: ignore[no-untyped-def]
        for item in super().__reversed__():
            self.reads += 1
            yield item


def test_each_mmap_reads_a_few_vmas_not_all_of_them(m: Machine) -> None:
    """get_unmapped_area starts at free_area_cache and vma_link bisects: n
    mmaps read O(n) VMAs in all, not the n**2 / 2 of a walk from mmap_base."""
    p = m.spawn()
    p.mm.mmap = vmas = CountingList(p.mm.mmap)
    n = 2000
    addrs = [p.mmap(PS, PROT_READ if i % 2 else RW) for i in range(n)]
    assert addrs == [addrs[0] - i * PS for i in range(n)]  # top down, no gaps
    assert vmas.reads < 4 * n, f"{vmas.reads} VMA reads for {n} mmaps"
    p.mm.mmap = list(vmas)
    m.check()


def test_munmap_opens_a_hole_the_next_mmap_that_fits_takes(m: Machine) -> None:
    p = m.spawn()
    c, b, a = (p.mmap(4 * PS) for _ in range(3))  # top down: c above b above a
    p.munmap(b, 4 * PS)
    m.check()
    assert p.mmap(2 * PS) == b + 2 * PS  # the highest gap that fits: the top of b's hole
    assert p.mmap(8 * PS) == a - 8 * PS  # too long for the rest of the hole
    assert p.mmap(2 * PS) == b  # the rest of the hole
    p.mremap(c, 4 * PS, PS)  # a hole opens above c's first page
    assert p.mmap(3 * PS) == c + PS
    m.check()


def test_check_finds_a_free_area_cache_inside_a_gap(m: Machine) -> None:
    p = m.spawn()
    top = p.mmap(4 * PS)
    p.mmap(4 * PS)
    p.munmap(top, 4 * PS)
    m.check()
    p.mm.free_area_cache = top + PS  # the search would miss the hole above it
    with pytest.raises(InvariantError, match="free_area_cache"):
        m.check()


# --- follow_page --------------------------------------------------------------------------------


def test_follow_page(m: Machine) -> None:
    p = m.spawn(cpu=0)
    a = p.mmap(4 * PS, addr=0x10000000, fixed=True)
    other = p.mmap(PS, addr=0x10100000, fixed=True)
    vma = find_vma(p.mm, a)
    assert vma is not None
    assert follow_page(vma, a, FOLL_GET) is None  # no page tables at all yet
    p.write(a + PS, b"normal")
    assert follow_page(vma, a, FOLL_GET) is None  # page table, but pte none
    # The zero page: returned, and FOLL_GET takes a reference on it.
    p.read(a, 1)
    count = page_count(m.zero_page)
    assert follow_page(vma, a, FOLL_GET) is m.zero_page
    assert page_count(m.zero_page) == count + 1
    put_page(m.zero_page)
    # FOLL_DUMP turns the zero page into ERR_PTR(-EFAULT).
    err = follow_page(vma, a, FOLL_GET | FOLL_DUMP)
    assert isinstance(err, FollowPageError) and err.errno == -errno.EFAULT
    assert page_count(m.zero_page) == count
    # A normal page, with and without a reference.
    page = page_at(p, a + PS)
    count = page_count(page)
    assert follow_page(vma, a + PS, 0) is page and page_count(page) == count
    assert follow_page(vma, a + PS, FOLL_GET) is page and page_count(page) == count + 1
    put_page(page)
    # 2.6.35 does not check that the address lies inside the VMA.
    p.write(other, b"elsewhere")
    assert follow_page(vma, other, 0) is page_at(p, other)
    # FOLL_WRITE does not return a page mapped read-only.
    c = p.fork()
    assert follow_page(vma, a + PS, FOLL_WRITE) is None
    assert follow_page(vma, a + PS, 0) is page
    c.exit()
    m.check()


def test_follow_page_of_a_pfn_map_is_efault(m: Machine) -> None:
    """remap_pfn_range ptes are special and map no struct page: follow_page
    returns ERR_PTR(-EFAULT), with or without FOLL_GET."""
    p = m.spawn()
    d = p.mmap_device(2 * PS)
    vma = find_vma(p.mm, d)
    assert vma is not None
    for flags in (0, FOLL_GET):
        err = follow_page(vma, d + PS, flags)
        assert isinstance(err, FollowPageError) and err.errno == -errno.EFAULT
    assert p.node_of(d) is None
    p.mlock(d, 2 * PS)  # VM_IO/VM_PFNMAP VMAs are skipped, never VM_LOCKED
    assert not vma.vm_flags & VM_LOCKED and p.mm.locked_vm == 0
    assert p.mm.mmap == [vma]
    c = p.fork()
    assert pte_special(pte_of(c, d))
    m.check()
    p.munmap(d, 2 * PS)
    c.exit()
    m.check()


def test_mremap_cannot_grow_a_pfn_map(m: Machine) -> None:
    p = m.spawn()
    d = p.mmap_device(2 * PS)
    with pytest.raises(OSError) as exc:
        p.mremap(d, 2 * PS, 4 * PS)
    assert exc.value.errno == errno.EFAULT


# --- mlock --------------------------------------------------------------------------------------


def test_mlock_moves_pages_to_the_unevictable_lru_and_munlock_back(m: Machine) -> None:
    p = m.spawn(cpu=0)
    a = p.mmap(4 * PS)
    p.write(a, b"x")  # one page already present; mlock faults the others in
    mlocked = m.vm_events[UNEVICTABLE_PGMLOCKED]
    p.mlock(a, 4 * PS)
    pages = [page_at(p, a + i * PS) for i in range(4)]
    assert len(set(pages)) == 4 and m.zero_page not in pages  # COW broken: real pages
    for page in pages:
        assert PageMlocked(page) and PageUnevictable(page) and PageLRU(page)
        assert on_lru(page, LRU_UNEVICTABLE)
    assert stat(m, NR_MLOCK) == 4 and stat(m, NR_UNEVICTABLE) == 4
    assert p.mm.locked_vm == 4
    assert all(v.vm_flags & VM_LOCKED for v in p.mm.mmap)
    assert m.vm_events[UNEVICTABLE_PGMLOCKED] == mlocked + 4
    m.check()
    munlocked = m.vm_events[UNEVICTABLE_PGMUNLOCKED]
    p.munlock(a, 4 * PS)
    assert stat(m, NR_MLOCK) == 0 and stat(m, NR_UNEVICTABLE) == 0
    assert p.mm.locked_vm == 0
    assert m.vm_events[UNEVICTABLE_PGMUNLOCKED] == munlocked + 4
    lru_add_drain_all(m)
    for page in pages:
        assert not PageMlocked(page) and not PageUnevictable(page)
        assert on_lru(page, LRU_INACTIVE_ANON) and not on_lru(page, LRU_ACTIVE_ANON)
    assert p.read(a, 1) == b"x"
    m.check()


def test_mlock_of_part_of_a_mapping_splits_it(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(4 * PS, addr=0x10000000, fixed=True)
    p.mlock(a + PS, 2 * PS)
    assert [(v.vm_start, v.vm_end, bool(v.vm_flags & VM_LOCKED)) for v in p.mm.mmap] == [
        (a, a + PS, False), (a + PS, a + 3 * PS, True), (a + 3 * PS, a + 4 * PS, False)]
    assert pte_of(p, a) == 0 and pte_of(p, a + 3 * PS) == 0
    assert stat(m, NR_MLOCK) == 2
    m.check()


def test_mlock_over_a_hole_is_enomem(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PS, addr=0x10000000, fixed=True)
    with pytest.raises(OSError) as exc:
        p.mlock(a, 2 * PS)
    assert exc.value.errno == errno.ENOMEM
    with pytest.raises(OSError) as exc:
        p.munlock(a + PS, PS)
    assert exc.value.errno == errno.ENOMEM
    with pytest.raises(OSError) as exc:
        p.mlock(a + 1, PS)
    assert exc.value.errno == errno.EINVAL
    m.check()


def test_map_locked_populates_and_mlocks(m: Machine) -> None:
    p = m.spawn(cpu=1)
    a = p.mmap(3 * PS, locked=True)
    assert stat(m, NR_MLOCK, 1) == 3 and p.mm.locked_vm == 3
    assert all(PageMlocked(page_at(p, a + i * PS)) for i in range(3))
    m.check()
    p.munmap(a, 3 * PS)
    assert stat(m, NR_MLOCK) == 0 and p.mm.locked_vm == 0
    m.check()


def test_mlock_breaks_cow_of_a_private_writable_file_mapping(m: Machine) -> None:
    f = m.create_file("/data", size=2 * PS, fs="ext2", data=b"file")
    p = m.spawn()
    a = p.mmap(2 * PS, file=f)
    p.mlock(a, 2 * PS)
    page = page_at(p, a)
    assert PageAnon(page) and PageMlocked(page)
    assert page is not f.mapping.page_tree[0]
    assert p.read(a, 4) == b"file"
    assert p.mm.rss[MM_ANONPAGES] == 2 and p.mm.rss[MM_FILEPAGES] == 0
    m.check()


def test_child_does_not_inherit_mlock(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(2 * PS)
    p.mlock(a, 2 * PS)
    c = p.fork()
    assert not any(v.vm_flags & VM_LOCKED for v in c.mm.mmap)
    assert c.mm.locked_vm == 0 and p.mm.locked_vm == 2
    m.check()


def test_mlock_of_a_prot_none_mapping_is_enomem(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(2 * PS, prot=PROT_NONE)
    with pytest.raises(OSError) as exc:
        p.mlock(a, 2 * PS)
    assert exc.value.errno == errno.ENOMEM


def test_mlock_beyond_the_end_of_a_file_is_enomem(m: Machine) -> None:
    f = m.create_file("/short", size=PS, fs="ext2")
    p = m.spawn()
    a = p.mmap(3 * PS, file=f)
    with pytest.raises(OSError) as exc:
        p.mlock(a, 3 * PS)
    assert exc.value.errno == errno.ENOMEM


def test_mlock_of_a_shared_writable_file_mapping_dirties_its_pages(m: Machine) -> None:
    f = m.create_file("/data", size=2 * PS, fs="ext2")
    p = m.spawn()
    a = p.mmap(2 * PS, file=f, shared=True)
    p.mlock(a, 2 * PS)
    assert stat(m, NR_MLOCK) == 2
    assert all(PageDirty(page) for page in f.mapping.page_tree.values())
    assert stat(m, NR_FILE_DIRTY) == 2


def test_new_anon_page_in_a_locked_vma_is_mlocked(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PS, prot=PROT_READ, locked=True)  # mlock maps the zero page
    p.mprotect(a, PS, RW)
    p.write(a, b"x")  # COW of the zero page inside the VM_LOCKED VMA
    page = page_at(p, a)
    assert PageMlocked(page) and PageUnevictable(page)
    assert stat(m, NR_MLOCK) == 1


def test_cow_in_a_locked_vma_moves_the_mlock_to_the_new_page(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PS)
    p.write(a, b"x")
    p.mlock(a, PS)
    c = p.fork()
    old = page_at(p, a)
    p.write(a, b"y")
    new = page_at(p, a)
    assert new is not old and page_at(c, a) is old
    assert PageMlocked(new)
    assert not PageMlocked(old)
    assert stat(m, NR_MLOCK) == 1


def test_mremap_growing_a_locked_mapping_in_place_mlocks_the_new_pages(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(2 * PS, addr=0x10000000, fixed=True)
    p.mlock(a, 2 * PS)
    assert p.mremap(a, 2 * PS, 4 * PS) == a
    assert p.mm.locked_vm == 4
    assert stat(m, NR_MLOCK) == 4


def test_mremap_moving_a_locked_mapping_mlocks_the_new_tail(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(2 * PS, addr=0x10000000, fixed=True)
    p.mmap(PS, addr=a + 2 * PS, fixed=True)
    p.mlock(a, 2 * PS)
    b = p.mremap(a, 2 * PS, 4 * PS)
    assert b != a and p.mm.locked_vm == 4
    assert stat(m, NR_MLOCK) == 4


# --- rmap: migration entries ------------------------------------------------------------------


def test_try_to_unmap_requires_the_page_lock(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PS)
    p.write(a, b"x")
    with pytest.raises(KernelBug):
        try_to_unmap(page_at(p, a), TTU_MIGRATION | TTU_IGNORE_MLOCK | TTU_IGNORE_ACCESS)


def test_try_to_unmap_installs_migration_entries_and_remove_restores_them(m: Machine) -> None:
    """The protocol of _unmap_and_move: hold a reference and the page lock,
    keep the anon_vma alive, unmap with TTU_MIGRATION, then put the ptes
    back with remove_migration_ptes(page, page) before unlocking."""
    p = m.spawn(cpu=0)
    a = p.mmap(2 * PS)
    p.write(a, b"shared")
    c = p.fork()
    p.write(a + PS, b"private")  # mapped by the parent alone, writable
    shared, private = page_at(p, a), page_at(p, a + PS)
    rss = (list(p.mm.rss), list(c.mm.rss))
    for page, mappers, write in ((shared, [p, c], False), (private, [p], True)):
        page._count += 1  # our reference (the isolation's, in migration)
        m.pin(page)
        lock_page(page)
        anon_vma = page_anon_vma(page)
        assert anon_vma is not None
        anon_vma.external_refcount += 1
        assert try_to_unmap(page, TTU_MIGRATION | TTU_IGNORE_MLOCK | TTU_IGNORE_ACCESS) == SWAP_SUCCESS
        assert not page_mapped(page)
        addr = a if page is shared else a + PS
        for proc in mappers:
            pte = pte_of(proc, addr)
            assert is_swap_pte(pte)
            entry = pte_to_swp_entry(pte)
            assert is_migration_entry(entry) and swp_offset(entry) == page.pfn
            assert swp_type(entry) == (SWP_MIGRATION_WRITE if write else SWP_MIGRATION_READ)
        assert (p.mm.rss, c.mm.rss) == rss, "migration entries leave RSS alone"
        with pytest.raises(InvariantError, match="migration entry left behind"):
            m.check()
        remove_migration_ptes(page, page)
        anon_vma.external_refcount -= 1
        unlock_page(page)
        m.unpin(page)
        put_page(page)
        assert page_mapcount(page) == len(mappers)
        for proc in mappers:
            assert page_at(proc, addr) is page
            assert pte_write(pte_of(proc, addr)) == write
    assert stat(m, NR_ANON_PAGES) == 2
    assert p.read(a, 6) == b"shared" and c.read(a, 6) == b"shared"
    assert p.read(a + PS, 7) == b"private"
    m.check()


def test_try_to_unmap_of_a_shared_file_page(m: Machine) -> None:
    f = m.create_file("/data", size=PS, fs="ext2", data=b"file page")
    p, q = m.spawn(cpu=0), m.spawn(cpu=1)
    a = p.mmap(PS, file=f, shared=True)
    b = q.mmap(PS, prot=PROT_READ, file=f, shared=True)
    p.write(a, b"F")
    assert q.read(b, 9) == b"File page"
    page = f.mapping.page_tree[0]
    assert page_mapcount(page) == 2 and stat(m, NR_FILE_MAPPED) == 1
    lock_page(page)
    assert try_to_unmap(page, TTU_MIGRATION | TTU_IGNORE_MLOCK | TTU_IGNORE_ACCESS) == SWAP_SUCCESS
    assert not page_mapped(page) and stat(m, NR_FILE_MAPPED) == 0
    assert PageDirty(page), "the dirty pte's state moved to the page"
    entries = [pte_to_swp_entry(pte_of(p, a)), pte_to_swp_entry(pte_of(q, b))]
    assert [swp_type(e) for e in entries] == [SWP_MIGRATION_WRITE, SWP_MIGRATION_READ]
    assert p.mm.rss[MM_FILEPAGES] == 1 and q.mm.rss[MM_FILEPAGES] == 1
    assert p.mm.rss[MM_SWAPENTS] == 0
    remove_migration_ptes(page, page)
    unlock_page(page)
    assert page_mapcount(page) == 2 and stat(m, NR_FILE_MAPPED) == 1
    assert page_at(p, a) is page and page_at(q, b) is page
    assert q.read(b, 9) == b"File page"
    m.check()


def test_find_vma_cache_never_returns_an_unmapped_or_resized_vma() -> None:
    """find_vma checks mm->mmap_cache first; munmap and splits must not leave
    it answering for memory that is gone."""
    m = Machine(nodes=1, node_memory="16MiB")
    p = m.spawn()
    low = p.mmap(4 * PAGE_SIZE, addr=1 << 30, fixed=True)  # at a pmd boundary
    high = p.mmap(4 * PAGE_SIZE, addr=low + 64 * PAGE_SIZE, fixed=True)
    assert find_vma(p.mm, low + PAGE_SIZE).vm_start == low  # now cached
    p.munmap(low, 4 * PAGE_SIZE)
    assert find_vma(p.mm, low + PAGE_SIZE).vm_start == high  # the next VMA up
    assert find_vma(p.mm, high).vm_start == high  # cached again
    p.munmap(high, 2 * PAGE_SIZE)  # the cached VMA is cut: its head is gone
    vma = find_vma(p.mm, high)
    assert vma is not None and vma.vm_start == high + 2 * PAGE_SIZE
    with pytest.raises(OSError):
        p.touch(high)
    assert find_vma(p.mm, high + 4 * PAGE_SIZE) is None
    m.check()
    cached = find_vma(p.mm, high + 2 * PAGE_SIZE)
    assert cached is not None and p.mm.mmap_cache is cached
    vma_unlink(p.mm, cached)  # what detach_vmas_to_be_unmapped does
    assert find_vma(p.mm, high + 2 * PAGE_SIZE) is None
