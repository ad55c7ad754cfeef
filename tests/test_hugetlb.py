"""hugetlb (2.6.35): the huge page pool, hugetlbfs and MAP_HUGETLB mappings,
their faults, fork, unmap and truncate, and what migration does with them:
move_pages refuses them (-EFAULT), its query reports their node, mbind and
migrate_pages(2) skip them. Every test ends with Machine.check()."""

from __future__ import annotations

import errno
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagemig import MPOL_BIND, MPOL_INTERLEAVE, MPOL_MF_MOVE, PAGE_SIZE, Machine, NotModelled
from pagemig.mm.hugetlb import HPAGE_SIZE, PageHuge
from pagemig.mm.invariants import InvariantError
from pagemig.mm.memory import follow_page
from pagemig.mm.mmap import PROT_READ, VM_HUGETLB, VM_RESERVED, find_vma
from pagemig.mm.mmzone import ZoneStatItem
from pagemig.mm.page import Page, PageHead, PageTail
from pagemig.process import Process

HUGE = HPAGE_SIZE


@pytest.fixture
def m() -> Iterator[Machine]:
    machine = Machine(nodes=2, node_memory="64MiB", hugepages=[2, 2])
    yield machine
    machine.check()


def head_at(p: Process, addr: int) -> Page:
    vma = find_vma(p.mm, addr)
    assert vma is not None
    page = follow_page(vma, addr, 0)
    assert isinstance(page, Page)
    return page if PageHead(page) else page.private  # type: ignore[return-value]


def free_frames(m: Machine, nid: int) -> int:
    return sum(z.vm_stat[ZoneStatItem.NR_FREE_PAGES] for z in m.nodes[nid].node_zones)


# --- the pool -----------------------------------------------------------------------------------


def test_boot_parameter_spreads_the_pool_round_robin() -> None:
    m = Machine(nodes=2, node_memory="64MiB", hugepages=3)
    h = m.hstate
    assert h.nr_huge_pages == h.free_huge_pages == 3 and h.nr_huge_pages_node == [2, 1]
    for nid, pages in enumerate(h.hugepage_freelists):
        for page in pages:
            assert page.zone.node_id == nid and page.pfn % 512 == 0 and PageHuge(page)
            assert page._count == 0
    m.check()


def test_pool_pages_leave_the_buddy_allocator_as_order_9_blocks() -> None:
    plain = Machine(nodes=2, node_memory="64MiB")
    m = Machine(nodes=2, node_memory="64MiB", hugepages=[0, 3])
    assert free_frames(plain, 1) - free_frames(m, 1) == 3 * 512
    assert free_frames(plain, 0) == free_frames(m, 0)
    head = m.hstate.hugepage_freelists[1][0]
    tails = [m.pfn_to_page(head.pfn + i) for i in range(1, 512)]
    assert all(PageTail(t) and t.private is head for t in tails)
    m.check()


def test_nr_hugepages_grows_and_shrinks_but_never_frees_pages_in_use(m: Machine) -> None:
    assert m.set_nr_hugepages(3, node=1) == 3
    assert m.hstate.nr_huge_pages_node == [2, 3]
    p = m.spawn()
    a = p.mmap(HUGE, hugetlb=True, shared=True)  # reserves one page
    assert m.set_nr_hugepages(0) == 1, "the reserved page stays in the pool"
    p.write(a, b"x")
    assert m.set_nr_hugepages(0) == 1, "the page in use stays too"
    assert m.hstate.free_huge_pages == 0
    p.exit()
    assert m.set_nr_hugepages(0) == 0
    assert free_frames(m, 0) == free_frames(Machine(nodes=2, node_memory="64MiB"), 0)


def test_the_pool_cannot_grow_past_the_memory_of_a_node() -> None:
    m = Machine(nodes=2, node_memory="8MiB")
    assert m.set_nr_hugepages(10, node=0) < 4
    m.check()


def test_invalid_pool_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="hugepages lists 1 counts for 2 nodes"):
        Machine(nodes=2, hugepages=[1])
    with pytest.raises(ValueError, match="non-negative"):
        Machine(nodes=2, hugepages=-1)
    m = Machine(nodes=2, node_memory=["64MiB", "0"])
    with pytest.raises(ValueError, match="node 1 has no memory"):
        m.set_nr_hugepages(1, node=1)


def test_check_notices_a_corrupt_pool(m: Machine) -> None:
    m.hstate.free_huge_pages_node[0] += 1
    with pytest.raises(InvariantError, match="free_huge_pages"):
        m.check()
    m.hstate.free_huge_pages_node[0] -= 1


# --- hugetlbfs files and MAP_HUGETLB ------------------------------------------------------------


def test_shared_hugetlbfs_mapping_reserves_at_mmap_and_consumes_on_fault(m: Machine) -> None:
    p = m.spawn()
    f = m.create_file("/hugetlbfs/f", size=2 * HUGE, fs="hugetlbfs")
    a = p.mmap(2 * HUGE, file=f, shared=True)
    assert a % HUGE == 0
    vma = find_vma(p.mm, a)
    assert vma is not None and vma.vm_flags & VM_HUGETLB and vma.vm_flags & VM_RESERVED
    assert m.hstate.resv_huge_pages == 2 and m.hstate.free_huge_pages == 4
    p.write(a + HUGE + 3 * PAGE_SIZE, b"huge")
    assert m.hstate.resv_huge_pages == 1 and m.hstate.free_huge_pages == 3
    head = head_at(p, a + HUGE)
    assert f.mapping.page_tree == {1: head} and head._count == 2  # cache + pmd
    other = m.spawn()
    b = other.mmap(2 * HUGE, file=f, shared=True)
    assert other.read(b + HUGE + 3 * PAGE_SIZE, 4) == b"huge"
    assert head_at(other, b + HUGE) is head and head._count == 3
    assert m.hstate.resv_huge_pages == 1, "the file's range was reserved once"


def test_mmap_fails_with_enomem_when_the_pool_cannot_reserve(m: Machine) -> None:
    p = m.spawn()
    f = m.create_file("/hugetlbfs/big", size=6 * HUGE, fs="hugetlbfs")
    with pytest.raises(OSError) as err:
        p.mmap(6 * HUGE, file=f, shared=True)
    assert err.value.errno == errno.ENOMEM
    assert m.hstate.resv_huge_pages == 0 and f.i_count == 0


def test_hugetlbfs_mappings_are_huge_page_sized_and_aligned(m: Machine) -> None:
    p = m.spawn()
    f = m.create_file("/hugetlbfs/f", size=HUGE, fs="hugetlbfs")
    with pytest.raises(OSError) as err:
        p.mmap(PAGE_SIZE, file=f, shared=True)
    assert err.value.errno == errno.EINVAL
    with pytest.raises(ValueError, match="multiples of 2 MiB"):
        m.create_file("/hugetlbfs/odd", size=PAGE_SIZE, fs="hugetlbfs")
    a = p.mmap(3 * PAGE_SIZE, hugetlb=True)  # MAP_HUGETLB rounds the length up
    vma = find_vma(p.mm, a)
    assert vma is not None and vma.vm_end - vma.vm_start == HUGE


def test_faults_follow_the_policy_of_the_task() -> None:
    m = Machine(nodes=2, node_memory="64MiB", hugepages=[3, 3])
    p = m.spawn()
    p.set_mempolicy(MPOL_BIND, [1])
    a = p.mmap(2 * HUGE, hugetlb=True)
    p.write(a, b"a")
    p.write(a + HUGE, b"b")
    assert p.node_of(a) == 1 and p.node_of(a + HUGE + 5 * PAGE_SIZE) == 1
    p.set_mempolicy(MPOL_INTERLEAVE, [0, 1])
    b = p.mmap(2 * HUGE, hugetlb=True)
    p.write(b, b"c")
    p.write(b + HUGE, b"d")
    # interleave_nid counts in huge pages from the mapping's offset 0.
    assert [p.node_of(b), p.node_of(b + HUGE)] == [0, 1]
    c = p.mmap(2 * HUGE, hugetlb=True)
    p.write(c, b"e")
    p.write(c + HUGE, b"f")
    # Node 1's pool is empty now: the interleave target falls back along its zonelist.
    assert [p.node_of(c), p.node_of(c + HUGE)] == [0, 0]
    m.check()


def test_a_private_mapping_is_cow_after_fork_and_the_owner_keeps_its_data(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(HUGE, hugetlb=True)
    p.write(a + 7, b"parent")
    assert m.hstate.free_huge_pages == 3 and m.hstate.resv_huge_pages == 0
    child = p.fork()
    assert child.read(a + 7, 6) == b"parent"
    head = head_at(p, a)
    assert head_at(child, a) is head and head._count == 2
    child.write(a + 7, b"child!")  # the child has no reserves: a free page
    assert head_at(child, a) is not head and head._count == 1
    assert p.read(a + 7, 6) == b"parent" and child.read(a + 7, 6) == b"child!"
    assert m.hstate.free_huge_pages == 2
    p.write(a + 7, b"again!")  # the last user writes in place
    assert head_at(p, a) is head
    child.exit()
    assert m.hstate.free_huge_pages == 3


def test_a_child_write_fails_with_sigbus_when_the_pool_is_empty() -> None:
    m = Machine(nodes=1, node_memory="64MiB", hugepages=1)
    p = m.spawn()
    a = p.mmap(HUGE, hugetlb=True)
    p.write(a, b"x")
    child = p.fork()
    with pytest.raises(OSError, match="SIGBUS"):
        child.write(a, b"y")
    assert child.read(a, 1) == b"x"
    m.check()


def test_unprivileged_processes_may_map_hugetlb() -> None:
    """Since 2.6.32 only SHM_HUGETLB checks CAP_IPC_LOCK/hugetlb_shm_group."""
    m = Machine(nodes=1, hugepages=1)
    user = m.spawn(uid=1000)
    a = user.mmap(HUGE, hugetlb=True)
    user.write(a, b"ok")
    assert user.read(a, 2) == b"ok"
    m.check()


def test_unmap_exit_and_truncate_give_the_pages_back(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(2 * HUGE, hugetlb=True, shared=True)
    p.write(a, b"x")
    p.write(a + HUGE, b"y")
    with pytest.raises(OSError) as err:
        p.munmap(a + PAGE_SIZE, PAGE_SIZE)
    assert err.value.errno == errno.EINVAL, "split_vma needs a huge-page boundary"
    with pytest.raises(OSError) as err:
        p.mremap(a, 2 * HUGE, 4 * HUGE)
    assert err.value.errno == errno.EINVAL
    p.munmap(a + HUGE, HUGE)
    assert m.hstate.free_huge_pages == 2, "the shared file still caches both pages"
    p.exit()
    assert m.hstate.free_huge_pages == 4 and m.hstate.resv_huge_pages == 0
    f = m.create_file("/hugetlbfs/t", size=2 * HUGE, fs="hugetlbfs")
    q = m.spawn()
    b = q.mmap(2 * HUGE, file=f, shared=True)
    q.write(b + HUGE, b"z")
    with pytest.raises(OSError) as err:
        m.truncate("/hugetlbfs/t", PAGE_SIZE)
    assert err.value.errno == errno.EINVAL
    m.truncate("/hugetlbfs/t", HUGE)
    assert f.mapping.page_tree == {} and m.hstate.free_huge_pages == 4
    assert m.hstate.resv_huge_pages == 1, "index 0 stays reserved: the file still has it"
    with pytest.raises(OSError, match="SIGBUS"):
        q.read(b + HUGE, 1)


def test_mprotect_changes_the_huge_pmd(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(HUGE, hugetlb=True, shared=True)
    p.write(a, b"x")
    p.mprotect(a, HUGE, PROT_READ)
    assert p.read(a, 1) == b"x"
    with pytest.raises(OSError, match="SIGSEGV"):
        p.write(a, b"y")


def test_mlock_and_madvise_mergeable_leave_hugetlb_vmas_alone(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(HUGE, hugetlb=True, shared=True)
    p.mlock(a, HUGE)
    p.madvise_mergeable(a, HUGE)
    vma = find_vma(p.mm, a)
    assert vma is not None and not vma.vm_flags & 0x2000  # VM_LOCKED not set (VM_RESERVED)
    assert not vma.vm_flags & 0x80000000  # nor VM_MERGEABLE
    assert p.mm.locked_vm == 0


# --- migration ---------------------------------------------------------------------------------


def test_move_pages_refuses_hugetlb_and_its_query_reports_the_node(m: Machine) -> None:
    p = m.spawn()
    p.set_mempolicy(MPOL_BIND, [1])
    a = p.mmap(HUGE, hugetlb=True)
    p.write(a, b"data")
    before = head_at(p, a)
    r = p.move_pages(0, [a, a + 100 * PAGE_SIZE], [0, 0])
    assert r.status == [-errno.EFAULT, -errno.EFAULT]
    assert p.move_pages(0, [a + 3, a + HUGE - PAGE_SIZE], None).status == [1, 1]
    assert head_at(p, a) is before and p.read(a, 4) == b"data"


def test_query_of_an_untouched_hugetlb_address_is_enoent(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(HUGE, hugetlb=True)
    assert p.move_pages(0, [a], None).status == [-errno.ENOENT]


def test_mbind_and_migrate_pages_skip_hugetlb_vmas(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(HUGE, hugetlb=True)
    b = p.mmap(PAGE_SIZE)
    p.write(a, b"h")
    p.write(b, b"s")
    assert p.node_of(a) == 0 and p.node_of(b) == 0
    p.mbind(a, HUGE, MPOL_BIND, [1], MPOL_MF_MOVE)
    assert p.node_of(a) == 0, "check_range skips the hugetlb VMA"
    left = p.migrate_pages(p.pid, [0], [1])
    assert left == 0 and p.node_of(b) == 1 and p.node_of(a) == 0


def test_profile_61_refuses_to_map_hugetlb_pages() -> None:
    m = Machine(nodes=2, hugepages=2, profile="6.1")
    p = m.spawn()
    with pytest.raises(NotModelled, match=r"profile 2\.6\.35"):
        p.mmap(HUGE, hugetlb=True)
    m.check()


# --- random sequences ---------------------------------------------------------------------------

OPS = st.lists(st.tuples(st.sampled_from(["write", "read", "fork", "exit", "munmap", "query",
                                          "move", "grow", "shrink"]),
                         st.integers(0, 3), st.integers(0, 255)), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, shared=st.booleans())
def test_random_hugetlb_sequences_keep_data_and_invariants(ops: list[tuple[str, int, int]],
                                                            shared: bool) -> None:
    m = Machine(nodes=2, node_memory="32MiB", hugepages=[2, 2])
    procs = [m.spawn()]
    a = procs[0].mmap(2 * HUGE, hugetlb=True, shared=shared)
    expect: list[dict[int, bytes]] = [{}]
    for op, i, value in ops:
        k = i % len(procs)
        p, seen = procs[k], expect[k]
        off = (i % 2) * HUGE + value * 8
        if op == "write":
            try:
                p.write(a + off, bytes([value]))
            except OSError:  # SIGBUS: the pool ran dry for a COW
                pass
            else:
                if shared:
                    for other in expect:
                        other[off] = bytes([value])
                else:
                    seen[off] = bytes([value])
        elif op == "read" and off in seen:
            assert p.read(a + off, 1) == seen[off]
        elif op == "fork" and len(procs) < 4:
            procs.append(p.fork())
            expect.append(dict(seen) if not shared else expect[0])
        elif op == "exit" and len(procs) > 1:
            procs.pop(k).exit()
            expect.pop(k)
        elif op == "query":
            status = p.move_pages(0, [a + off], None).status[0]
            assert status in (0, 1, -errno.ENOENT)
        elif op == "move":
            assert p.move_pages(0, [a + off], [value % 2]).status == [-errno.EFAULT]
        elif op == "grow":
            m.set_nr_hugepages(m.hstate.nr_huge_pages + 1, node=value % 2)
        elif op == "shrink":
            m.set_nr_hugepages(0)
        m.check()
    for p, seen in zip(procs, expect, strict=True):
        for off, byte in seen.items():
            assert p.read(a + off, 1) == byte
    for p in procs:
        p.exit()
    assert m.hstate.free_huge_pages == m.hstate.nr_huge_pages
    m.check()


def test_populate_locked_and_pinned_hugetlb_mappings(m: Machine) -> None:
    """get_user_pages walks hugetlb VMAs with follow_hugetlb_page: MAP_POPULATE
    faults the huge pages in, MAP_LOCKED only populates them and drops
    VM_LOCKED (uncounted), and a pin of a sub-page holds the head."""
    from pagemig.mm.memory import FOLL_GET, get_user_pages
    from pagemig.mm.swap import put_page

    p = m.spawn()
    a = p.mmap(2 * HUGE, hugetlb=True, populate=True)
    assert m.hstate.free_huge_pages == 2 and p.node_of(a + HUGE) == 0
    b = p.mmap(HUGE, hugetlb=True, locked=True)
    vma = find_vma(p.mm, b)
    assert vma is not None and not vma.vm_flags & 0x2000 and p.mm.locked_vm == 0
    assert m.hstate.free_huge_pages == 1
    with p.running():
        sub = get_user_pages(p.mm, find_vma(p.mm, a), a + 3 * PAGE_SIZE, FOLL_GET)
    assert isinstance(sub, Page) and PageTail(sub)
    head = head_at(p, a)
    assert sub.private is head and head._count == 2 and sub._count == 0
    m.pin(sub)
    m.check()
    m.unpin(sub)
    put_page(sub)
    assert head._count == 1
