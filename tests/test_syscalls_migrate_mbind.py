"""migrate_pages(2) and mbind(2) with MPOL_MF_MOVE* as Linux 2.6.35 answers
them (kernel-spec.md section 5, and 7.10/7.11, 11.2, 11.3): node-mask input,
errors and their order, the node pairing of do_migrate_pages, the return value
(pages not moved), the non-strict destination of migrate_pages, and mbind's
moving, STRICT and hole rules. Every test reads the data back and ends with
``Machine.check()``.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

import pytest

from pagemig import PAGE_SIZE, Machine
from pagemig.mm.cpuset import Cpuset
from pagemig.mm.ksm import ksm_merge
from pagemig.mm.mempolicy import (
    MPOL_BIND,
    MPOL_DEFAULT,
    MPOL_F_ADDR,
    MPOL_INTERLEAVE,
    MPOL_MF_MOVE,
    MPOL_MF_MOVE_ALL,
    MPOL_MF_STRICT,
    MPOL_PREFERRED,
)
from pagemig.mm.mmap import VM_HUGETLB, VM_IO, VmOperations, find_vma
from pagemig.mm.page import PageKsm, get_page, page_mapcount
from pagemig.mm.swap import put_page
from pagemig.mm.syscalls import sys_mbind, sys_migrate_pages
from pagemig.process import Process

from .conftest import follow_page_at as page_at

MASKS = 0x10000000  # a page for raw node masks, far from the mmap area
UNMAPPED = 0x20000000


# --- helpers ----------------------------------------------------------------------------------


def machine(nodes: int = 2, node_memory: object = "64MiB", **kw: object) -> Machine:
    return Machine(nodes=nodes, node_memory=node_memory, **kw)  # type: ignore[arg-type]


class Data:
    def __init__(self) -> None:
        self.expect: list[tuple[Process, int, bytes]] = []

    def fill(self, p: Process, addr: int, npages: int, tag: int = 1) -> list[int]:
        addrs = [addr + i * PAGE_SIZE for i in range(npages)]
        for i, a in enumerate(addrs):
            data = bytes((tag * 41 + i * 13 + k) % 253 for k in range(40))
            p.write(a, data)
            self.expect.append((p, a, data))
        return addrs

    def verify(self) -> None:
        for p, addr, data in self.expect:
            if p.alive:
                assert p.read(addr, len(data)) == data, f"pid {p.pid} {addr:#x} lost its data"



def nodes_of(p: Process, addrs: list[int]) -> list[int | None]:
    return [p.node_of(a) for a in addrs]


def place(p: Process, addrs: list[int], nodes: list[int]) -> None:
    """Put pages where a test wants them (move_pages as root would)."""
    r = p.move_pages(0, addrs, nodes, MPOL_MF_MOVE_ALL if p.task.cred.uid == 0 else MPOL_MF_MOVE)
    assert r.status == nodes


def migrate(p: Process, pid: int, old: list[int], new: list[int], maxnode: int | None = None) -> int:
    """migrate_pages(2): the count of pages not moved, or -errno."""
    try:
        rc = p.migrate_pages(pid, old, new, maxnode)
    except OSError as err:
        assert err.errno is not None and err.errno > 0
        return -err.errno
    assert rc >= 0
    return rc


def mbind(p: Process, addr: int, length: int, mode: int, nodes: list[int], flags: int) -> int:
    try:
        p.mbind(addr, length, mode, nodes, flags)
    except OSError as err:
        assert err.errno is not None and err.errno > 0
        return -err.errno
    return 0


def confine(m: Machine, p: Process, mems: set[int]) -> None:
    cs = Cpuset(m, "/box", m.top_cpuset, frozenset(mems), frozenset(range(m.nr_cpus)))
    m.top_cpuset.children.append(cs)
    p.task.cpuset = cs
    p.task.mems_allowed = frozenset(mems)


def with_creds(m: Machine, ruid: int, euid: int, suid: int) -> Process:
    p = m.spawn(uid=0)
    p.setresuid(ruid, euid, suid)
    return p


def raw_masks(p: Process) -> int:
    p.mmap(PAGE_SIZE, addr=MASKS, fixed=True)
    return MASKS


def put_words(p: Process, addr: int, words: list[int]) -> None:
    p.write(addr, b"".join(w.to_bytes(8, "little") for w in words))


def raw_migrate(p: Process, pid: int, maxnode: int, old: int, new: int) -> int:
    with p.running() as task:
        rc = sys_migrate_pages(task, pid, maxnode, old, new)
    assert isinstance(rc, int)
    return rc


@pytest.fixture
def m() -> Iterator[Machine]:
    machine_ = machine()
    yield machine_
    machine_.check()


@pytest.fixture
def m4() -> Iterator[Machine]:
    machine_ = machine(nodes=4, cpus=4)
    yield machine_
    machine_.check()


# --- migrate_pages(2): node masks (get_nodes) -----------------------------------------------------


def test_migrate_pages_moves_pages_on_old_nodes_only(m4: Machine) -> None:
    p = m4.spawn()
    d = Data()
    pages = d.fill(p, p.mmap(4 * PAGE_SIZE), 4)
    place(p, pages, [0, 1, 2, 3])
    assert migrate(p, 0, [0, 2], [3]) == 0
    assert nodes_of(p, pages) == [3, 1, 3, 3]
    d.verify()


def test_maxnode_limits_the_mask_bits(m: Machine) -> None:
    """maxnode - 1 bits are read; bits beyond them in the last word are ignored."""
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    base = raw_masks(p)
    put_words(p, base, [0b01])  # old = {0}
    put_words(p, base + 8, [0b10])  # new = {1}
    assert raw_migrate(p, 0, 1, base, base + 8) == 0  # no bits at all: nothing moves
    assert raw_migrate(p, 0, 2, base, base + 8) == 0  # new's node 1 is past maxnode - 1
    assert p.node_of(a) == 0
    assert raw_migrate(p, 0, 3, base, base + 8) == 0
    assert p.node_of(a) == 1
    d.verify()


def test_null_masks_are_empty(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    base = raw_masks(p)
    put_words(p, base, [0b01])
    assert raw_migrate(p, 0, 65, 0, base) == 0
    assert raw_migrate(p, 0, 65, base, 0) == 0  # empty new: every node maps to itself
    assert raw_migrate(p, 0, 0, 0, 0) == 0
    assert p.node_of(a) == 0
    d.verify()


def test_maxnode_zero_with_a_mask_is_einval(m: Machine) -> None:
    """--maxnode wraps the unsigned long: far more than PAGE_SIZE * 8 bits."""
    p = m.spawn()
    base = raw_masks(p)
    assert raw_migrate(p, 0, 0, base, base) == -errno.EINVAL


@pytest.mark.parametrize(("maxnode", "rc"), [(PAGE_SIZE * 8 + 1, 0), (PAGE_SIZE * 8 + 2, -errno.EINVAL),
                                             (2**64 - 1, -errno.EINVAL)])
def test_maxnode_upper_limit(m: Machine, maxnode: int, rc: int) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    base = raw_masks(p)  # one zeroed page: 32768 bits
    put_words(p, base, [0b01])
    assert raw_migrate(p, 0, maxnode, base, base) == rc
    assert p.node_of(a) == 0
    d.verify()


def test_bits_beyond_max_numnodes_must_be_zero(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    base = raw_masks(p)
    put_words(p, base, [0b01, 0])  # old = {0}
    put_words(p, base + 16, [0b10, 0b01])  # new = {1, 64}
    assert raw_migrate(p, 0, 66, base, base + 16) == -errno.EINVAL
    put_words(p, base + 16, [0b10, 0b10])  # bit 65 lies past maxnode - 1 = 65 bits
    assert raw_migrate(p, 0, 66, base, base + 16) == 0
    assert p.node_of(a) == 1
    d.verify()


def test_unreadable_masks_are_efault_and_old_is_read_first(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    base = raw_masks(p)
    put_words(p, base, [0b01])
    assert raw_migrate(p, 0, 65, UNMAPPED, base) == -errno.EFAULT
    assert raw_migrate(p, 0, 65, base, UNMAPPED) == -errno.EFAULT
    # the second word (beyond MAX_NUMNODES) lies in an unmapped page
    last = base + PAGE_SIZE - 8
    put_words(p, last, [0b01])
    assert raw_migrate(p, 0, 66, last, base) == -errno.EFAULT
    # old is read (and rejected) before new is looked at
    put_words(p, base + 64, [0, 1])
    assert raw_migrate(p, 0, 66, UNMAPPED, base + 64) == -errno.EFAULT
    assert raw_migrate(p, 0, 66, base + 64, UNMAPPED) == -errno.EINVAL
    # the masks are read before the pid is looked up
    assert raw_migrate(p, 99999, 65, UNMAPPED, base) == -errno.EFAULT
    assert p.node_of(a) == 0
    d.verify()


# --- migrate_pages(2): target and permission --------------------------------------------------------


def test_unknown_pid_is_esrch_and_kernel_thread_einval(m: Machine) -> None:
    p = m.spawn(uid=0)
    assert migrate(p, 99999, [0], [1]) == -errno.ESRCH
    assert migrate(p, m.kthreadd.pid, [0], [1]) == -errno.EINVAL


CRED_CASES = [
    ((1000, 1000, 1000), (1000, 1000, 1000), True),
    ((1000, 1000, 1000), (2000, 2000, 2000), False),
    ((1000, 2000, 3000), (2000, 2000, 2000), True),   # caller euid == target uid
    ((1000, 2000, 3000), (5000, 5000, 2000), True),   # caller euid == target suid
    ((1000, 2000, 3000), (5000, 5000, 1000), True),   # caller uid == target suid
    ((1000, 2000, 3000), (3000, 3000, 3000), False),  # caller suid does not count
    ((1000, 2000, 3000), (5000, 1000, 5000), False),  # target euid does not count
]


@pytest.mark.parametrize(("caller_ids", "target_ids", "allowed"), CRED_CASES)
def test_credential_rules(m: Machine, caller_ids: tuple[int, int, int],
                          target_ids: tuple[int, int, int], allowed: bool) -> None:
    target = with_creds(m, *target_ids)
    caller = with_creds(m, *caller_ids)
    d = Data()
    a = d.fill(target, target.mmap(PAGE_SIZE), 1)[0]
    assert migrate(caller, target.pid, [0], [1]) == (0 if allowed else -errno.EPERM)
    assert target.node_of(a) == (1 if allowed else 0)
    d.verify()


def test_lsm_refusal(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    m.lsm_task_movememory = lambda task: -errno.EACCES
    assert migrate(p, 0, [0], [1]) == -errno.EACCES
    m.lsm_task_movememory = None
    assert p.node_of(a) == 0
    d.verify()


def test_new_nodes_outside_the_target_cpuset(m: Machine) -> None:
    """Without CAP_SYS_NICE: EPERM. With it the cpuset is not checked."""
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    confine(m, p, {0})
    assert migrate(p, 0, [0], [1]) == -errno.EPERM
    assert migrate(p, 0, [0], [0, 1]) == -errno.EPERM  # any node outside
    assert p.node_of(a) == 0
    root = m.spawn(uid=0)
    assert migrate(root, p.pid, [0], [1]) == 0
    assert p.node_of(a) == 1
    d.verify()


def test_new_nodes_without_memory_are_einval() -> None:
    """2.6.35 fails if any new node lacks memory (the man page says none)."""
    m = machine(nodes=3, node_memory=["64MiB", "64MiB", 0], cpus=[0, 1, 2])
    root = m.spawn(uid=0)
    user = m.spawn()
    d = Data()
    a = d.fill(root, root.mmap(PAGE_SIZE), 1)[0]
    assert migrate(root, 0, [0], [1, 2]) == -errno.EINVAL
    assert migrate(root, 0, [0], [5]) == -errno.EINVAL  # no such node
    # the cpuset check comes first for a caller without CAP_SYS_NICE
    assert migrate(user, 0, [0], [2]) == -errno.EPERM
    assert root.node_of(a) == 0
    assert migrate(root, 0, [0], [1]) == 0
    assert root.node_of(a) == 1
    d.verify()
    m.check()


def test_shared_pages_need_cap_sys_nice(m: Machine) -> None:
    """The flags are MOVE_ALL only with CAP_SYS_NICE: without it a page shared
    with a child is skipped silently (not counted)."""
    p = m.spawn()
    d = Data()
    shared, own = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    child = p.fork()
    d.expect += [(child, a, data) for _, a, data in list(d.expect)]
    child.write(own, b"child's own copy")  # COW: own is exclusive again in both
    d.expect = [e for e in d.expect if not (e[0] is child and e[1] == own)]
    page = page_at(p, shared)
    assert page is not None and page_mapcount(page) == 2
    assert migrate(p, 0, [0], [1]) == 0
    assert nodes_of(p, [shared, own]) == [0, 1]
    root = m.spawn(uid=0)
    assert migrate(root, p.pid, [0], [1]) == 0
    assert nodes_of(p, [shared, own]) == [1, 1]
    assert child.node_of(shared) == 1
    assert child.read(own, 16) == b"child's own copy"
    d.verify()


# --- migrate_pages(2): the node pairing (do_migrate_pages) ---------------------------------------


def test_pairing_moves_the_destination_node_out_first(m4: Machine) -> None:
    """{0,1} -> {1,2}: 1 -> 2 runs before 0 -> 1, so pages from node 0 are
    not carried on to node 2. Enough pages that their new pages leave the
    pagevec for the LRU (a wrong order would find and move them again)."""
    p = m4.spawn()
    d = Data()
    from0 = d.fill(p, p.mmap(20 * PAGE_SIZE), 20)
    from1 = d.fill(p, p.mmap(2 * PAGE_SIZE), 2, tag=2)
    place(p, from1, [1, 1])
    assert migrate(p, 0, [0, 1], [1, 2]) == 0
    assert nodes_of(p, from0) == [1] * 20
    assert nodes_of(p, from1) == [2, 2]
    d.verify()


def test_pairing_with_unequal_weights(m4: Machine) -> None:
    """{0,1,2,3} -> {1,2}: node_remap gives 0->1, 1->2, 2->1, 3->2. Every
    destination is still a source, so each round falls back to the last
    pair: 3->2, 2->1, then 1->2 (first free destination), then 0->1. A page
    moved in one round is on the CPU's LRU pagevec, not the LRU, so a later
    round does not isolate it again."""
    p = m4.spawn()
    d = Data()
    pages = [d.fill(p, p.mmap(PAGE_SIZE), 1, tag=n)[0] for n in range(4)]
    place(p, pages, [0, 1, 2, 3])
    assert migrate(p, 0, [0, 1, 2, 3], [1, 2]) == 0
    assert nodes_of(p, pages) == [1, 2, 1, 2]
    d.verify()


def test_pairing_identity_moves_nothing(m4: Machine) -> None:
    p = m4.spawn()
    d = Data()
    pages = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    place(p, pages, [1, 2])
    olds = [page_at(p, a) for a in pages]
    assert migrate(p, 0, [1, 2], [2, 1]) == 0  # masks, not lists: the same set
    assert migrate(p, 0, [1], []) == 0  # an empty new mask maps every node to itself
    assert [page_at(p, a) for a in pages] == olds
    d.verify()


def test_many_to_one(m4: Machine) -> None:
    p = m4.spawn()
    d = Data()
    pages = d.fill(p, p.mmap(3 * PAGE_SIZE), 3)
    place(p, pages, [0, 1, 2])
    assert migrate(p, 0, [0, 1, 2], [3]) == 0
    assert nodes_of(p, pages) == [3, 3, 3]
    d.verify()


# --- migrate_pages(2): result and destination ----------------------------------------------------


def test_returns_the_number_of_pages_not_moved(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    pinned = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    free = d.fill(p, p.mmap(PAGE_SIZE), 1, tag=3)[0]
    f = m.create_file("/x/meta", size=PAGE_SIZE, fs="xfsbuf")
    x = p.mmap(PAGE_SIZE, file=f, shared=True)
    p.write(x, b"xfs")
    held = [page_at(p, a) for a in pinned]
    for page in held:
        assert page is not None
        get_page(page)
        m.pin(page)
    assert migrate(p, 0, [0], [1]) == 3  # two -EAGAIN after 10 passes, one -EIO
    assert nodes_of(p, [*pinned, free, x]) == [0, 0, 1, 0]
    m.check()
    for page in held:
        assert page is not None
        m.unpin(page)
        put_page(page)
    assert migrate(p, 0, [0], [1]) == 1  # the xfsbuf page
    assert nodes_of(p, [*pinned, free]) == [1, 1, 1]
    assert p.read(x, 3) == b"xfs"
    d.verify()


def test_destination_is_not_strict() -> None:
    """Quirk 10: new_node_page has no __GFP_THISNODE: with the destination
    full the pages land on the next node by distance, and count as moved."""
    m = machine(nodes=3, node_memory=["64MiB", "1MiB", "64MiB"], cpus=[0, 1, 2],
                distances=[[10, 30, 40], [30, 10, 15], [40, 15, 10]])
    from pagemig.mm.gfp import GFP_HIGHUSER_MOVABLE, GFP_THISNODE
    from pagemig.mm.page_alloc import alloc_pages_exact_node

    held = []
    while (page := alloc_pages_exact_node(m, 1, GFP_HIGHUSER_MOVABLE | GFP_THISNODE)) is not None:
        m.pin(page)
        held.append(page)
    p = m.spawn()
    d = Data()
    pages = d.fill(p, p.mmap(3 * PAGE_SIZE), 3)
    assert migrate(p, 0, [0], [1]) == 0
    assert nodes_of(p, pages) == [2, 2, 2]
    # move_pages(2) to the same node is strict and fails
    with pytest.raises(OSError) as info:
        p.move_pages(0, pages, [1, 1, 1])
    assert info.value.errno == errno.ENOMEM
    d.verify()
    for page in held:
        m.unpin(page)
        put_page(page)
    m.check()


def test_unmigratable_vmas_are_skipped(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    io, normal = d.fill(p, p.mmap(PAGE_SIZE), 1)[0], d.fill(p, p.mmap(PAGE_SIZE), 1, tag=2)[0]
    vma = find_vma(p.mm, io)
    assert vma is not None
    vma.vm_flags |= VM_IO
    assert migrate(p, 0, [0], [1]) == 0
    assert nodes_of(p, [io, normal]) == [0, 1]
    vma.vm_flags &= ~VM_IO
    d.verify()


def test_vm_ops_migrate_receives_from_then_to_and_a_negative_result_ends_the_call(m: Machine) -> None:
    """migrate_vmas: the vm_ops->migrate method (sysfs binary files) gets
    (from, to) as do_migrate_pages passes them; a negative result is returned
    and nothing else moves."""
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    calls: list[tuple[frozenset[int], frozenset[int]]] = []

    def vm_migrate(vma: object, frm: frozenset[int], to: frozenset[int], flags: int) -> int:
        calls.append((frm, to))
        return -errno.EIO

    special = p.mmap(PAGE_SIZE)
    vma = find_vma(p.mm, special)
    assert vma is not None
    vma.vm_ops = VmOperations("sysfs_bin", migrate=vm_migrate)
    assert migrate(p, 0, [0], [1]) == -errno.EIO
    assert calls == [(frozenset({0}), frozenset({1}))]
    assert p.node_of(a) == 0
    vma.vm_ops = None
    d.verify()


def test_positive_vm_ops_migrate_result_ends_the_call_returning_busy(m: Machine) -> None:
    """2.6.35: ``err = migrate_vmas(...); if (err) goto out; ... out: if (err
    < 0) return err; return busy;`` -- a positive result returns 0."""
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    special = p.mmap(PAGE_SIZE)
    vma = find_vma(p.mm, special)
    assert vma is not None
    vma.vm_ops = VmOperations("sysfs_bin", migrate=lambda vma, frm, to, flags: 5)
    try:
        assert migrate(p, 0, [0], [1]) == 0
        assert p.node_of(a) == 0  # the call ended before any node pair ran
    finally:
        vma.vm_ops = None
    d.verify()


# --- mbind(2) with MPOL_MF_MOVE -------------------------------------------------------------------


def policy(p: Process, addr: int) -> tuple[int, frozenset[int]]:
    return p.get_mempolicy(addr, MPOL_F_ADDR)


def test_mbind_move_migrates_misplaced_pages(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    pages = d.fill(p, p.mmap(3 * PAGE_SIZE), 3)
    assert mbind(p, pages[0], 3 * PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_MOVE) == 0
    assert nodes_of(p, pages) == [1, 1, 1]
    assert policy(p, pages[0]) == (MPOL_BIND, frozenset({1}))
    d.verify()


def test_mbind_move_only_touches_the_range(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    pages = d.fill(p, p.mmap(4 * PAGE_SIZE), 4)
    assert mbind(p, pages[1], 2 * PAGE_SIZE - 100, MPOL_PREFERRED, [1], MPOL_MF_MOVE) == 0
    assert nodes_of(p, pages) == [0, 1, 1, 0]  # length rounded up to whole pages
    assert policy(p, pages[0]) == (MPOL_DEFAULT, frozenset())
    assert policy(p, pages[2]) == (MPOL_PREFERRED, frozenset({1}))
    d.verify()


def test_mbind_move_allocates_by_the_new_interleave_policy(m4: Machine) -> None:
    p = m4.spawn()
    d = Data()
    pages = d.fill(p, p.mmap(4 * PAGE_SIZE), 4)
    assert mbind(p, pages[0], 4 * PAGE_SIZE, MPOL_INTERLEAVE, [1, 2], MPOL_MF_MOVE) == 0
    vma = find_vma(p.mm, pages[0])
    assert vma is not None and vma.vm_start == pages[0]
    expect = [[1, 2][(vma.vm_pgoff + i) % 2] for i in range(4)]
    assert nodes_of(p, pages) == expect
    assert sorted(expect) == [1, 1, 2, 2]
    d.verify()


def test_mbind_without_move_leaves_pages(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    pages = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    assert mbind(p, pages[0], 2 * PAGE_SIZE, MPOL_BIND, [1], 0) == 0
    assert nodes_of(p, pages) == [0, 0]
    assert policy(p, pages[0]) == (MPOL_BIND, frozenset({1}))
    d.verify()


def test_mbind_strict_without_move_is_eio_and_sets_nothing(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    pages = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    assert mbind(p, pages[0], 2 * PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_STRICT) == -errno.EIO
    assert policy(p, pages[0]) == (MPOL_DEFAULT, frozenset())
    assert nodes_of(p, pages) == [0, 0]
    assert mbind(p, pages[0], 2 * PAGE_SIZE, MPOL_BIND, [0], MPOL_MF_STRICT) == 0
    assert policy(p, pages[0]) == (MPOL_BIND, frozenset({0}))
    d.verify()


def test_mbind_strict_move_is_eio_when_a_page_stays_misplaced(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    pages = d.fill(p, p.mmap(3 * PAGE_SIZE), 3)
    page = page_at(p, pages[1])
    assert page is not None
    get_page(page)
    m.pin(page)
    flags = MPOL_MF_MOVE | MPOL_MF_STRICT
    assert mbind(p, pages[0], 3 * PAGE_SIZE, MPOL_BIND, [1], flags) == -errno.EIO
    assert nodes_of(p, pages) == [1, 0, 1]
    assert policy(p, pages[0]) == (MPOL_BIND, frozenset({1}))  # the policy was applied
    m.check()
    # without STRICT a page that failed to move is not an error
    assert mbind(p, pages[0], 3 * PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_MOVE) == 0
    assert nodes_of(p, pages) == [1, 0, 1]
    m.unpin(page)
    put_page(page)
    assert mbind(p, pages[0], 3 * PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_MOVE) == 0
    assert nodes_of(p, pages) == [1, 1, 1]
    d.verify()


def test_mbind_move_skips_shared_pages_without_reporting_them(m: Machine) -> None:
    """Quirk 11: under plain MPOL_MF_MOVE a page mapped twice is skipped, and
    MPOL_MF_STRICT does not turn that into -EIO."""
    p = m.spawn()
    d = Data()
    shared, own = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    child = p.fork()
    child.write(own, b"child")
    flags = MPOL_MF_MOVE | MPOL_MF_STRICT
    assert mbind(p, shared, 2 * PAGE_SIZE, MPOL_BIND, [1], flags) == 0
    assert nodes_of(p, [shared, own]) == [0, 1]
    assert child.node_of(shared) == 0
    d.verify()


def test_mbind_move_all_needs_cap_sys_nice_and_moves_shared_pages(m: Machine) -> None:
    p = m.spawn(uid=1000)
    d = Data()
    shared = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    child = p.fork()
    assert mbind(p, shared, PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_MOVE_ALL) == -errno.EPERM
    assert policy(p, shared) == (MPOL_DEFAULT, frozenset())
    root = m.spawn(uid=0)
    r = root.mmap(PAGE_SIZE)
    root.write(r, b"root")
    rchild = root.fork()
    assert mbind(root, r, PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_MOVE_ALL) == 0
    assert root.node_of(r) == 1 and rchild.node_of(r) == 1
    assert rchild.read(r, 4) == b"root"
    assert child.node_of(shared) == 0
    d.verify()


@pytest.mark.parametrize("flags", [8, MPOL_MF_MOVE | 16, 1 << 31])
def test_mbind_bad_flags_are_einval(m: Machine, flags: int) -> None:
    p = m.spawn(uid=1000)
    a = p.mmap(PAGE_SIZE)
    p.touch(a)
    assert mbind(p, a, PAGE_SIZE, MPOL_BIND, [1], flags) == -errno.EINVAL
    assert mbind(p, a, PAGE_SIZE, MPOL_BIND, [1], flags | MPOL_MF_MOVE_ALL) == -errno.EINVAL
    assert p.node_of(a) == 0


def test_mbind_check_order(m: Machine) -> None:
    """flags, then MOVE_ALL permission, then alignment, then an empty range."""
    p = m.spawn(uid=1000)
    a = p.mmap(2 * PAGE_SIZE)
    assert mbind(p, a + 1, PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_MOVE_ALL) == -errno.EPERM
    assert mbind(p, a + 1, PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_MOVE) == -errno.EINVAL
    assert mbind(p, a + 1, 0, MPOL_BIND, [1], MPOL_MF_MOVE) == -errno.EINVAL
    assert mbind(p, a, 0, MPOL_BIND, [1], MPOL_MF_MOVE) == 0
    assert mbind(p, UNMAPPED, 0, MPOL_BIND, [1], MPOL_MF_MOVE) == 0  # empty: no VMA needed


def test_mbind_holes_are_efault(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = p.mmap(3 * PAGE_SIZE)
    lo, hi = d.fill(p, a, 1)[0], d.fill(p, a + 2 * PAGE_SIZE, 1, tag=2)[0]
    p.munmap(a + PAGE_SIZE, PAGE_SIZE)
    assert mbind(p, a, 3 * PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_MOVE) == -errno.EFAULT
    assert nodes_of(p, [lo, hi]) == [0, 0]  # check_range failed before collecting
    assert policy(p, lo) == (MPOL_DEFAULT, frozenset())
    # a range running past the last VMA
    top = max(v.vm_end for v in p.mm.mmap)
    last = find_vma(p.mm, top - 1)
    assert last is not None
    assert mbind(p, last.vm_start, top - last.vm_start + PAGE_SIZE, MPOL_BIND, [1],
                 MPOL_MF_MOVE) == -errno.EFAULT
    assert mbind(p, UNMAPPED, PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_MOVE) == -errno.EFAULT
    d.verify()


def test_mbind_leading_hole_migrates_then_fails(m4: Machine) -> None:
    """Quirk 11 / man page 11.3: check_range misses a hole at the start of the
    range, so pages are collected and migrated; mbind_range then fails with
    -EFAULT, no policy is set, and the pages were allocated by the policy in
    force (here the task's MPOL_BIND {2})."""
    p = m4.spawn()
    d = Data()
    a = p.mmap(3 * PAGE_SIZE)
    pages = d.fill(p, a + PAGE_SIZE, 2)
    p.munmap(a, PAGE_SIZE)
    p.set_mempolicy(MPOL_BIND, [2])
    assert mbind(p, a, 3 * PAGE_SIZE, MPOL_BIND, [3], MPOL_MF_MOVE) == -errno.EFAULT
    assert nodes_of(p, pages) == [2, 2]
    assert policy(p, pages[0]) == (MPOL_DEFAULT, frozenset())
    d.verify()


def test_mbind_default_drops_strict_and_move_brings_pages_home(m: Machine) -> None:
    """MPOL_DEFAULT ignores MPOL_MF_STRICT; with MPOL_MF_MOVE its empty mask
    makes every page misplaced, and the default policy allocates locally."""
    p = m.spawn(cpu=0)
    d = Data()
    pages = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    assert mbind(p, pages[0], 2 * PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_MOVE) == 0
    assert nodes_of(p, pages) == [1, 1]
    assert mbind(p, pages[0], 2 * PAGE_SIZE, MPOL_DEFAULT, [], MPOL_MF_STRICT) == 0
    assert nodes_of(p, pages) == [1, 1]
    assert policy(p, pages[0]) == (MPOL_DEFAULT, frozenset())
    old = page_at(p, pages[0])
    assert mbind(p, pages[0], 2 * PAGE_SIZE, MPOL_DEFAULT, [], MPOL_MF_MOVE) == 0
    assert nodes_of(p, pages) == [0, 0]
    assert page_at(p, pages[0]) is not old
    d.verify()




def test_mbind_length_overflow_is_einval(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    with p.running() as task:
        rc = sys_mbind(task, a, 2**64 - PAGE_SIZE, MPOL_DEFAULT, 0, 0, MPOL_MF_MOVE)
    assert rc == -errno.EINVAL
    assert p.node_of(a) == 0
    d.verify()


def test_mbind_length_rounding_to_zero_is_a_no_op(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    p.move_pages(0, [a], [1])
    with p.running() as task:
        rc = sys_mbind(task, a, 2**64 - 1, MPOL_DEFAULT, 0, 0, MPOL_MF_MOVE)
    assert rc == 0
    assert p.node_of(a) == 1  # len rounded up to 0: nothing happens
    d.verify()


def test_mbind_skips_hugetlb_vmas(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    vma = find_vma(p.mm, a)
    assert vma is not None
    vma.vm_flags |= VM_HUGETLB
    try:
        assert mbind(p, a, PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_STRICT) == 0
        assert mbind(p, a, PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_MOVE | MPOL_MF_STRICT) == 0
        assert p.node_of(a) == 0
    finally:
        vma.vm_flags &= ~VM_HUGETLB
    d.verify()




def ksm_pair(m: Machine, p: Process) -> list[int]:
    k = p.mmap(2 * PAGE_SIZE)
    p.write(k, b"identical")
    p.write(k + PAGE_SIZE, b"identical")
    p.madvise_mergeable(k, 2 * PAGE_SIZE)
    assert ksm_merge(m) == 1
    page = page_at(p, k)
    assert page is not None and PageKsm(page)
    return [k, k + PAGE_SIZE]


def test_migrate_pages_skips_ksm_pages(m: Machine) -> None:
    root = m.spawn(uid=0)  # MOVE_ALL: the shared KSM page is not skipped for its mapcount
    pages = ksm_pair(m, root)
    assert migrate(root, 0, [0], [1]) == 0
    assert nodes_of(root, pages) == [0, 0]
    assert root.read(pages[1], 9) == b"identical"


def test_mbind_strict_skips_ksm_pages(m: Machine) -> None:
    root = m.spawn(uid=0)
    pages = ksm_pair(m, root)
    assert mbind(root, pages[0], 2 * PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_STRICT) == 0
    assert mbind(root, pages[0], 2 * PAGE_SIZE, MPOL_BIND, [1],
                 MPOL_MF_MOVE_ALL | MPOL_MF_STRICT) == 0
    assert nodes_of(root, pages) == [0, 0]
