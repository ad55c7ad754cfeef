"""move_pages(2) as Linux 2.6.35 answers it: every row of the whole-call table
(kernel-spec.md section 4.1), every per-page status (section 4.2), query mode
(4.4), bad user pointers, and the quirks of section 7.

Each test builds a small machine, makes the pages it needs through the public
API, calls the system call (through ``Process.move_pages`` or, where the user
pointers themselves matter, the raw ``sys_move_pages``), and then checks the
return value, every status slot, where the pages are, that every process
still reads back exactly what it wrote, and ``Machine.check()``.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator

import pytest

from pagemig import PAGE_SIZE, Machine
from pagemig.mm.cpuset import Cpuset
from pagemig.mm.fault_inject import FAULT_POINTS
from pagemig.mm.gfp import GFP_HIGHUSER_MOVABLE, GFP_THISNODE
from pagemig.mm.ksm import ksm_merge
from pagemig.mm.memcontrol import mem_cgroup_attach, mem_cgroup_create
from pagemig.mm.memory import pte_alloc_map, set_pte_at, zap_pte_range
from pagemig.mm.mempolicy import MPOL_BIND, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, MPOL_MF_STRICT
from pagemig.mm.mmap import (
    MM_ANONPAGES,
    MM_SWAPENTS,
    VM_IO,
    VM_MIXEDMAP,
    VM_PFNMAP,
    VM_RESERVED,
    find_vma,
)
from pagemig.mm.mmzone import ZoneStatItem
from pagemig.mm.page import (
    Page,
    PageDirty,
    PageKsm,
    PageLRU,
    PageMlocked,
    PageSwapCache,
    PageUnevictable,
    get_page,
    page_mapcount,
)
from pagemig.mm.page_alloc import alloc_pages_exact_node
from pagemig.mm.pagemap import trylock_page, unlock_page
from pagemig.mm.pgtable import PAGE_READONLY, is_swap_pte, pfn_pte, pte_dirty, pte_mkspecial, pte_young
from pagemig.mm.rmap import SWAP_SUCCESS, TTU_IGNORE_ACCESS, TTU_UNMAP, try_to_unmap
from pagemig.mm.swap import lru_add_drain_all, put_page
from pagemig.mm.swap_state import add_to_swap
from pagemig.mm.swapops import swp_offset
from pagemig.mm.syscalls import sys_move_pages
from pagemig.mm.vmscan import isolate_lru_page, putback_lru_page
from pagemig.process import Process

from .conftest import follow_page_at as page_at

CHUNK = 169  # PAGE_SIZE / sizeof(struct page_to_node) - 1 on x86-64
MOVE = MPOL_MF_MOVE
MOVE_ALL = MPOL_MF_MOVE_ALL

# Raw system-call arrays live at fixed low addresses, far from the top-down
# mmap area, so the page after an array can stay unmapped.
ARRAYS = 0x10000000
SENTINEL = -12345  # what a raw status slot holds until the kernel writes it


# --- helpers ------------------------------------------------------------------------------------


def machine(nodes: int = 2, node_memory: object = "64MiB", **kw: object) -> Machine:
    return Machine(nodes=nodes, node_memory=node_memory, swap="16MiB", **kw)  # type: ignore[arg-type]


def pattern(tag: int, i: int) -> bytes:
    return bytes((tag * 37 + i * 11 + k) % 251 for k in range(48))


class Data:
    """What each process wrote where, to read back after every migration."""

    def __init__(self) -> None:
        self.expect: list[tuple[Process, int, bytes]] = []

    def fill(self, p: Process, addr: int, npages: int, tag: int = 1) -> list[int]:
        addrs = [addr + i * PAGE_SIZE for i in range(npages)]
        for i, a in enumerate(addrs):
            self.put(p, a, pattern(tag, i))
        return addrs

    def put(self, p: Process, addr: int, data: bytes) -> None:
        p.write(addr, data)
        p.write(addr + PAGE_SIZE - len(data), data[::-1])
        self.expect.append((p, addr, data))

    def verify(self) -> None:
        for p, addr, data in self.expect:
            if not p.alive:
                continue
            assert p.read(addr, len(data)) == data, f"pid {p.pid} {addr:#x} lost its data"
            assert p.read(addr + PAGE_SIZE - len(data), len(data)) == data[::-1]



def call(p: Process, pid: int, pages: list[int], nodes: list[int] | None, flags: int = MOVE,
         count: int | None = None) -> tuple[int, list[int | None]]:
    """(0 or the errno the call failed with, the status slots)."""
    try:
        r = p.move_pages(pid, pages, nodes, flags, count=count)
    except OSError as err:
        assert err.errno is not None and err.errno > 0
        return err.errno, list(err.result.status)  # type: ignore[attr-defined]
    assert r.ret == 0, "2.6.35 never returns a positive value"
    return 0, list(r.status)


def node_stat(m: Machine, nid: int, item: ZoneStatItem) -> int:
    return sum(z.vm_stat[item] for z in m.nodes[nid].node_zones)


def fill_node(m: Machine, nid: int, leave: int = 0) -> list[Page]:
    """Allocate (and pin) every free page of a node but ``leave``."""
    held = []
    while True:
        page = alloc_pages_exact_node(m, nid, GFP_HIGHUSER_MOVABLE | GFP_THISNODE)
        if page is None:
            break
        m.pin(page)
        held.append(page)
    for page in held[len(held) - leave:] if leave else []:
        m.unpin(page)
        put_page(page)
    return held[: len(held) - leave]


def release(m: Machine, pages: list[Page]) -> None:
    for page in pages:
        m.unpin(page)
        put_page(page)


def pin(m: Machine, page: Page) -> None:
    get_page(page)
    m.pin(page)


def unpin(m: Machine, page: Page) -> None:
    m.unpin(page)
    put_page(page)


def with_creds(m: Machine, ruid: int, euid: int, suid: int) -> Process:
    p = m.spawn(uid=0)
    p.setresuid(ruid, euid, suid)
    return p


def confine(m: Machine, p: Process, mems: set[int], name: str = "/box") -> None:
    cs = Cpuset(m, name, m.top_cpuset, frozenset(mems), frozenset(range(m.nr_cpus)))
    m.top_cpuset.children.append(cs)
    p.task.cpuset = cs
    p.task.mems_allowed = frozenset(mems)


def swap_out(m: Machine, p: Process, addr: int) -> Page:
    """Reclaim's first steps on an anonymous page: into the swap cache, ptes
    replaced by swap entries. The page stays in the swap cache."""
    page = page_at(p, addr)
    assert page is not None
    lru_add_drain_all(m)
    assert trylock_page(page)
    assert add_to_swap(page) == 1
    assert try_to_unmap(page, TTU_UNMAP | TTU_IGNORE_ACCESS) == SWAP_SUCCESS
    unlock_page(page)
    return page


# raw system call with user pointers


def u64s(values: list[int]) -> bytes:
    return b"".join(v.to_bytes(8, "little") for v in values)


def s32s(values: list[int]) -> bytes:
    return b"".join(v.to_bytes(4, "little", signed=True) for v in values)


def read_s32s(p: Process, addr: int, n: int) -> list[int]:
    raw = p.read(addr, 4 * n)
    return [int.from_bytes(raw[4 * k:4 * k + 4], "little", signed=True) for k in range(n)]


def raw(p: Process, pid: int, nr: int, pages: int, nodes: int, status: int, flags: int = MOVE) -> int:
    with p.running() as task:
        rc = sys_move_pages(task, pid, nr, pages, nodes, status, flags)
    assert isinstance(rc, int) and rc <= 0
    return rc


class Arrays:
    """pages/nodes/status arrays at fixed addresses. Each array ends where its
    mapping ends after ``*_mapped`` entries (all by default), so the next
    entry lies in an unmapped page."""

    def __init__(self, p: Process, n: int, *, pages_mapped: int | None = None,
                 nodes_mapped: int | None = None, status_mapped: int | None = None) -> None:
        self.p = p
        self.n = n
        self.pages_mapped = n if pages_mapped is None else pages_mapped
        self.nodes_mapped = n if nodes_mapped is None else nodes_mapped
        self.status_mapped = n if status_mapped is None else status_mapped
        self.pages, self.pages_end = self._region(0, 8 * self.pages_mapped)
        self.nodes, self.nodes_end = self._region(1, 4 * self.nodes_mapped)
        self.status, self.status_end = self._region(2, 4 * self.status_mapped)

    def _region(self, k: int, nbytes: int) -> tuple[int, int]:
        base = ARRAYS + k * 0x1000000
        npages = max(1, -(-nbytes // PAGE_SIZE))
        self.p.mmap(npages * PAGE_SIZE, addr=base, fixed=True)
        end = base + npages * PAGE_SIZE
        return end - nbytes, end

    def set(self, pages: list[int], nodes: list[int] | None) -> None:
        self.p.write(self.pages, u64s(pages[: self.pages_mapped]))
        if nodes is not None:
            self.p.write(self.nodes, s32s(nodes[: self.nodes_mapped]))
        self.p.write(self.status, s32s([SENTINEL] * self.status_mapped))

    def statuses(self) -> list[int]:
        return read_s32s(self.p, self.status, self.status_mapped)


class FirstResched:
    """A scheduler stand-in that runs ``fn`` at the first cond_resched of
    migrate_pages(), i.e. after isolation and before the first unmap_and_move:
    another thread of the target doing madvise(MADV_DONTNEED), which holds
    mmap_sem only for reading, as the migration does."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self.fired = 0

    def schedule_point(self, reason: str) -> None:
        if reason == "migrate_pages" and not self.fired:
            self.fired += 1
            self.fn()

    def wait_until(self, condition: Callable[[], bool], reason: str) -> None:
        assert condition(), f"would sleep: {reason}"


@pytest.fixture
def m() -> Iterator[Machine]:
    machine_ = machine()
    yield machine_
    machine_.check()


# --- 4.1 whole-call results: flags, permission, pid ------------------------------------------------


@pytest.mark.parametrize("flags", [MPOL_MF_STRICT, MPOL_MF_STRICT | MOVE, 8, 1 << 31, MOVE | 16,
                                   MOVE_ALL | MPOL_MF_STRICT])
@pytest.mark.parametrize("query", [False, True])
def test_flags_outside_move_bits_are_einval(m: Machine, flags: int, query: bool) -> None:
    p = m.spawn(uid=0)
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    rc, status = call(p, 0, [a], None if query else [1], flags)
    assert (rc, status) == (errno.EINVAL, [None])
    assert p.node_of(a) == 0
    d.verify()


def test_flags_zero_is_accepted_and_moves(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    assert call(p, 0, [a], [1], 0) == (0, [1])
    assert p.node_of(a) == 1
    d.verify()


def test_flags_are_checked_before_permission_and_pid(m: Machine) -> None:
    p = m.spawn(uid=1000)
    a = p.mmap(PAGE_SIZE)
    assert call(p, 99999, [a], [1], MOVE_ALL | MPOL_MF_STRICT) == (errno.EINVAL, [None])


@pytest.mark.parametrize("query", [False, True])
@pytest.mark.parametrize("self_pid", [False, True])
def test_move_all_without_cap_sys_nice_is_eperm(m: Machine, query: bool, self_pid: bool) -> None:
    p = m.spawn(uid=1000)
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    with pytest.raises(PermissionError) as info:
        p.move_pages(p.pid if self_pid else 0, [a], None if query else [1], MOVE_ALL)
    assert info.value.errno == errno.EPERM
    assert info.value.result.status == [None]  # type: ignore[attr-defined]
    assert p.node_of(a) == 0
    d.verify()


def test_move_all_eperm_comes_before_the_pid_lookup(m: Machine) -> None:
    p = m.spawn(uid=1000)
    a = p.mmap(PAGE_SIZE)
    assert call(p, 99999, [a], [1], MOVE_ALL) == (errno.EPERM, [None])
    assert call(p, 99999, [a], [1], MOVE) == (errno.ESRCH, [None])


def test_unknown_pid_is_esrch(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    with pytest.raises(ProcessLookupError) as info:
        p.move_pages(99999, [a], [1])
    assert info.value.errno == errno.ESRCH
    gone = m.spawn()
    gone_pid = gone.pid
    gone.exit()
    assert call(p, gone_pid, [a], [1]) == (errno.ESRCH, [None])
    assert call(p, gone_pid, [a], None) == (errno.ESRCH, [None])


@pytest.mark.parametrize("query", [False, True])
def test_kernel_thread_target_is_einval(m: Machine, query: bool) -> None:
    root = m.spawn(uid=0)
    a = root.mmap(PAGE_SIZE)
    assert call(root, m.kthreadd.pid, [a], None if query else [1]) == (errno.EINVAL, [None])


# (caller ruid, euid, suid), (target ruid, euid, suid), allowed?
CRED_CASES = [
    ((1000, 1000, 1000), (1000, 1000, 1000), True),
    ((1000, 1000, 1000), (2000, 2000, 2000), False),
    ((1000, 2000, 3000), (2000, 2000, 2000), True),   # caller euid == target uid
    ((1000, 2000, 3000), (5000, 5000, 2000), True),   # caller euid == target suid
    ((1000, 2000, 3000), (1000, 5000, 5000), True),   # caller uid == target uid
    ((1000, 2000, 3000), (5000, 5000, 1000), True),   # caller uid == target suid
    ((1000, 2000, 3000), (3000, 3000, 3000), False),  # the caller's suid does not count
    ((1000, 2000, 3000), (5000, 1000, 5000), False),  # the target's euid does not count
    ((1000, 2000, 3000), (5000, 2000, 5000), False),  # ... neither against the caller's euid
    ((0, 0, 0), (5000, 5000, 5000), True),            # CAP_SYS_NICE
]


@pytest.mark.parametrize(("caller_ids", "target_ids", "allowed"), CRED_CASES)
@pytest.mark.parametrize("query", [False, True])
def test_credential_rules(m: Machine, caller_ids: tuple[int, int, int],
                          target_ids: tuple[int, int, int], allowed: bool, query: bool) -> None:
    target = with_creds(m, *target_ids)
    caller = with_creds(m, *caller_ids)
    d = Data()
    a = d.fill(target, target.mmap(PAGE_SIZE), 1)[0]
    rc, status = call(caller, target.pid, [a], None if query else [1], MOVE)
    if allowed:
        assert (rc, status) == (0, [0 if query else 1])
        assert target.node_of(a) == (0 if query else 1)
    else:
        assert (rc, status) == (errno.EPERM, [None])
        assert target.node_of(a) == 0
    d.verify()


def test_dropping_the_root_uids_drops_cap_sys_nice(m: Machine) -> None:
    """A caller whose uids are all non-root lost CAP_SYS_NICE with them."""
    caller = with_creds(m, 1000, 1000, 1000)
    target = m.spawn(uid=0)
    a = target.mmap(PAGE_SIZE)
    target.touch(a)
    assert call(caller, target.pid, [a], [1]) == (errno.EPERM, [None])
    assert call(caller, 0, [caller.mmap(PAGE_SIZE)], None, MOVE_ALL) == (errno.EPERM, [None])


def test_lsm_refusal_after_the_credential_check(m: Machine) -> None:
    p = m.spawn(uid=1000)
    other = m.spawn(uid=2000)
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    seen: list[int] = []

    def deny(task: object) -> int:
        seen.append(task.pid)  # type: ignore[attr-defined]
        return -errno.EACCES

    m.lsm_task_movememory = deny
    assert call(p, 0, [a], [1]) == (errno.EACCES, [None])
    assert call(p, 0, [a], None) == (errno.EACCES, [None])
    assert call(p, other.pid, [a], [1]) == (errno.EPERM, [None])  # creds fail first
    assert seen == [p.pid, p.pid]
    assert p.node_of(a) == 0
    m.lsm_task_movememory = None
    d.verify()


# --- 4.1 whole-call results: arrays, nodes, cpusets, allocation -----------------------------------


def test_zero_pages_returns_zero_even_with_null_arrays(m: Machine) -> None:
    p = m.spawn()
    p.mmap(PAGE_SIZE)
    assert raw(p, 0, 0, 0, 0, 0) == 0
    assert raw(p, 0, 0, 0, 0x7000, 0) == 0


def test_array_page_allocation_failure_is_enomem(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    arr = Arrays(p, 1)
    arr.set([a], [1])
    with m.inject("alloc_page", times=1) as rule:
        rc = raw(p, 0, 1, arr.pages, arr.nodes, arr.status)
    assert rule.hits == 1
    assert rc == -errno.ENOMEM
    assert arr.statuses() == [SENTINEL]
    assert p.node_of(a) == 0
    d.verify()


def test_pages_array_unmapped_is_efault(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    arr = Arrays(p, 1)
    arr.set([a], [1])
    for bad in (0x20000000, 0, 0xFFFF880000000000, (1 << 47) - 4):
        assert raw(p, 0, 1, bad, arr.nodes, arr.status) == -errno.EFAULT
        assert raw(p, 0, 1, bad, 0, arr.status) == -errno.EFAULT  # query mode too
        assert arr.statuses() == [SENTINEL]
    assert p.node_of(a) == 0
    d.verify()


def fillers(p: Process) -> int:
    """An address of a mapped but never touched page: status -ENOENT, never isolated."""
    return p.mmap(PAGE_SIZE)


def test_pages_array_ending_in_the_second_chunk_is_efault_after_the_first(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    touched = d.fill(p, p.mmap(8 * PAGE_SIZE), 8)
    hole = fillers(p)
    n = 200
    pages = [hole] * n
    pages[0:3] = touched[0:3]
    pages[CHUNK:CHUNK + 3] = touched[3:6]
    arr = Arrays(p, n, pages_mapped=180)
    arr.set(pages, [1] * n)
    assert raw(p, 0, n, arr.pages, arr.nodes, arr.status) == -errno.EFAULT
    status = arr.statuses()
    assert status[:3] == [1, 1, 1]
    assert status[3:CHUNK] == [-errno.ENOENT] * (CHUNK - 3)
    assert status[CHUNK:] == [SENTINEL] * (n - CHUNK)
    assert [p.node_of(x) for x in touched[:6]] == [1, 1, 1, 0, 0, 0]
    d.verify()


def test_nodes_array_unreadable_is_efault_chunk_by_chunk(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    touched = d.fill(p, p.mmap(4 * PAGE_SIZE), 4)
    hole = fillers(p)
    n = 2 * CHUNK
    pages = [hole] * n
    pages[0], pages[1], pages[CHUNK], pages[CHUNK + 1] = touched
    arr = Arrays(p, n, nodes_mapped=CHUNK + 5)
    arr.set(pages, [1] * n)
    assert raw(p, 0, n, arr.pages, arr.nodes, arr.status) == -errno.EFAULT
    status = arr.statuses()
    assert status[:2] == [1, 1]
    assert status[2:CHUNK] == [-errno.ENOENT] * (CHUNK - 2)
    assert status[CHUNK:] == [SENTINEL] * CHUNK
    assert [p.node_of(x) for x in touched] == [1, 1, 0, 0]
    # One chunk whose nodes run out: nothing of it is migrated.
    arr2_pages = [touched[2], touched[3]]
    p.write(arr.pages, u64s(arr2_pages))
    base = arr.nodes_end - 4
    p.write(base, s32s([1]))
    assert raw(p, 0, 2, arr.pages, base, arr.status) == -errno.EFAULT
    assert [p.node_of(x) for x in touched[2:]] == [0, 0]
    d.verify()


def test_status_array_unwritable_is_efault_after_the_chunk_migrated(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    touched = d.fill(p, p.mmap(3 * PAGE_SIZE), 3)
    arr = Arrays(p, 3, status_mapped=2)
    arr.set(touched, [1, 1, 1])
    assert raw(p, 0, 3, arr.pages, arr.nodes, arr.status) == -errno.EFAULT
    assert arr.statuses() == [1, 1]  # put_user wrote the elements before the fault
    assert [p.node_of(x) for x in touched] == [1, 1, 1]  # all of the chunk migrated
    d.verify()


def test_status_array_fully_unmapped_still_migrates_the_first_chunk(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    touched = d.fill(p, p.mmap(4 * PAGE_SIZE), 4)
    hole = fillers(p)
    n = CHUNK + 2
    pages = [hole] * n
    pages[0], pages[1], pages[CHUNK], pages[CHUNK + 1] = touched
    arr = Arrays(p, n)
    arr.set(pages, [1] * n)
    assert raw(p, 0, n, arr.pages, arr.nodes, 0x30000000) == -errno.EFAULT
    assert [p.node_of(x) for x in touched] == [1, 1, 0, 0]  # chunk 2 never ran
    d.verify()


@pytest.mark.parametrize("node", [-1, -(2**31), 64, 99, 2**31 - 1, 2, 63])
def test_invalid_node_is_enodev(m: Machine, node: int) -> None:
    p = m.spawn()
    d = Data()
    a, b = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    assert call(p, 0, [a, b], [1, node]) == (errno.ENODEV, [None, None])
    assert [p.node_of(a), p.node_of(b)] == [0, 0]  # validated before anything moved
    d.verify()


def test_memoryless_node_is_enodev() -> None:
    m = Machine(nodes=3, node_memory=["64MiB", "64MiB", 0], cpus=[0, 1, 2])
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    assert call(p, 0, [a], [2]) == (errno.ENODEV, [None])
    assert call(p, 0, [a], [1]) == (0, [1])
    d.verify()
    m.check()


@pytest.mark.parametrize(("bad", "done"), [(CHUNK - 1, 0), (CHUNK, CHUNK), (200, CHUNK),
                                           (2 * CHUNK, 2 * CHUNK)])
def test_enodev_aborts_at_the_chunk_of_the_bad_node(m: Machine, bad: int, done: int) -> None:
    """Chunks of 169: a bad node fails the call before its chunk migrates;
    earlier chunks are migrated and their statuses written."""
    p = m.spawn()
    d = Data()
    touched = d.fill(p, p.mmap(3 * PAGE_SIZE), 3)
    hole = fillers(p)
    n = 2 * CHUNK + 5
    pages = [hole] * n
    index = [0, CHUNK, 2 * CHUNK]  # the first entry of each chunk
    for i, a in zip(index, touched, strict=True):
        pages[i] = a
    nodes = [1] * n
    nodes[bad] = 99
    rc, status = call(p, 0, pages, nodes)
    assert rc == errno.ENODEV
    assert status[done:] == [None] * (n - done)
    expect: list[int | None] = [-errno.ENOENT] * done
    for i in index:
        if i < done:
            expect[i] = 1
    assert status[:done] == expect
    assert [p.node_of(a) for a in touched] == [1 if i < done else 0 for i in index]
    d.verify()


def test_node_outside_the_target_cpuset_is_eacces_after_earlier_chunks(m: Machine) -> None:
    root = m.spawn(uid=0)
    target = m.spawn()
    d = Data()
    touched = d.fill(target, target.mmap(3 * PAGE_SIZE), 3)
    assert call(root, target.pid, touched, [1, 1, 1]) == (0, [1, 1, 1])
    confine(m, target, {0})
    hole = fillers(target)
    n = CHUNK + 3
    pages = [hole] * n
    pages[0], pages[1], pages[CHUNK + 1] = touched
    nodes = [0] * n
    nodes[CHUNK + 2] = 1
    rc, status = call(root, target.pid, pages, nodes, MOVE_ALL)
    assert rc == errno.EACCES
    assert status[:2] == [0, 0]
    assert status[2:CHUNK] == [-errno.ENOENT] * (CHUNK - 2)
    assert status[CHUNK:] == [None] * 3
    assert [target.node_of(a) for a in touched] == [0, 0, 1]
    # the target's cpuset, even for a root caller, even for a page already there
    assert call(root, target.pid, [touched[2]], [1]) == (errno.EACCES, [None])
    assert call(target, 0, [touched[2]], [0]) == (0, [0])
    assert call(target, 0, [touched[2]], [1]) == (errno.EACCES, [None])
    d.verify()


def test_caller_cpuset_does_not_decide_eacces(m: Machine) -> None:
    """-EACCES looks at the target's cpuset only. The destination allocation
    is GFP_THISNODE, which 2.6.35's __cpuset_zone_allowed_softwall() lets
    through whatever the caller's cpuset (kernel/cpuset.c: ``if
    (in_interrupt() || (gfp_mask & __GFP_THISNODE)) return 1``), so a caller
    confined to node 0 still moves the target's page to node 1. (The spec's
    quirk 9 says this allocation obeys the caller's hardwall and fails with
    -ENOMEM; the 2.6.35 source does not do that.)"""
    caller = m.spawn(uid=0)
    target = m.spawn()
    d = Data()
    a = d.fill(target, target.mmap(PAGE_SIZE), 1)[0]
    confine(m, caller, {0})
    caller.task.cpuset.mem_hardwall = True
    assert call(caller, target.pid, [a], [1]) == (0, [1])
    assert target.node_of(a) == 1
    d.verify()


def test_node_full_is_enomem_with_no_status_of_the_chunk() -> None:
    """Worked example 9: GFP_THISNODE, no fallback; the chunk aborts, its
    statuses are not copied out, pages earlier in it already moved."""
    m = machine(node_memory=["64MiB", "1MiB"])
    p = m.spawn()
    d = Data()
    touched = d.fill(p, p.mmap(4 * PAGE_SIZE), 4)
    held = fill_node(m, 1, leave=2)
    rc, status = call(p, 0, touched, [1, 1, 1, 1])
    assert (rc, status) == (errno.ENOMEM, [None] * 4)
    assert [p.node_of(a) for a in touched] == [1, 1, 0, 0]
    d.verify()
    m.check()
    release(m, held)
    assert call(p, 0, touched, [1, 1, 1, 1]) == (0, [1, 1, 1, 1])
    d.verify()
    m.check()


def test_node_full_in_the_second_chunk_keeps_the_first_chunk_statuses() -> None:
    m = machine(node_memory=["64MiB", "1MiB"])
    p = m.spawn()
    d = Data()
    touched = d.fill(p, p.mmap(5 * PAGE_SIZE), 5)
    hole = fillers(p)
    n = CHUNK + 3
    pages = [hole] * n
    pages[0], pages[1], pages[CHUNK], pages[CHUNK + 1], pages[CHUNK + 2] = touched
    held = fill_node(m, 1, leave=3)
    rc, status = call(p, 0, pages, [1] * n)
    assert rc == errno.ENOMEM
    assert status[:2] == [1, 1]
    assert status[2:CHUNK] == [-errno.ENOENT] * (CHUNK - 2)
    assert status[CHUNK:] == [None, None, None]
    assert [p.node_of(a) for a in touched] == [1, 1, 1, 0, 0]
    d.verify()
    release(m, held)
    m.check()


def test_allocation_comes_before_any_check_of_the_page() -> None:
    """Quirk 14: an xfsbuf page (which would end -EIO) aborts with -ENOMEM
    when the destination node is full: get_new_page runs first."""
    m = machine(node_memory=["64MiB", "1MiB"])
    p = m.spawn()
    f = m.create_file("/x/buf", size=PAGE_SIZE, fs="xfsbuf")
    a = p.mmap(PAGE_SIZE, file=f, shared=True)
    d = Data()
    d.put(p, a, b"xfs metadata")
    held = fill_node(m, 1)
    assert call(p, 0, [a], [1]) == (errno.ENOMEM, [None])
    release(m, held)
    assert call(p, 0, [a], [1]) == (0, [-errno.EIO])
    d.verify()
    m.check()


def test_memcg_charge_failure_is_enomem(m: Machine) -> None:
    p = m.spawn()
    group = mem_cgroup_create(m, "/limited", None)
    mem_cgroup_attach(m, p.pid, group)
    d = Data()
    touched = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    call(p, 0, touched, None)  # the arrays' arena is charged too
    group.limit = group.usage
    assert call(p, 0, touched, [1, 1]) == (errno.ENOMEM, [None, None])
    assert [p.node_of(a) for a in touched] == [0, 0]
    assert group.usage == group.limit
    d.verify()
    group.limit = None
    assert call(p, 0, touched, [1, 1]) == (0, [1, 1])
    d.verify()


def test_zero_pages_in_move_mode_still_allocates_the_array_page(m: Machine) -> None:
    """do_pages_move allocates its chunk page (and drains) before looking at
    nr_pages; query mode allocates nothing."""
    p = m.spawn()
    p.mmap(PAGE_SIZE)
    with m.inject("alloc_page", times=1) as rule:
        assert raw(p, 0, 0, 0, 0, 0) == 0
        assert rule.hits == 0
        assert raw(p, 0, 0, 0, 0x7000, 0) == -errno.ENOMEM
        assert rule.hits == 1


def test_target_memory_policy_is_ignored(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a, b = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    p.set_mempolicy(MPOL_BIND, [0])
    p.mbind(b, PAGE_SIZE, MPOL_BIND, [0])
    assert call(p, 0, [a, b], [1, 1]) == (0, [1, 1])
    assert [p.node_of(a), p.node_of(b)] == [1, 1]
    d.verify()


def test_pages_in_another_cpus_pagevec_are_drained_first(m: Machine) -> None:
    """migrate_prep() drains every CPU's LRU pagevecs, so a page its owner just
    faulted in on CPU 1 can be isolated by a caller on CPU 0. Query mode does
    not drain."""
    target = m.spawn(cpu=1)
    caller = m.spawn(uid=0, cpu=0)
    d = Data()
    a = d.fill(target, target.mmap(PAGE_SIZE), 1)[0]
    page = page_at(target, a)
    assert page is not None and not PageLRU(page)  # in CPU 1's pagevec
    assert call(caller, target.pid, [a], None) == (0, [1])
    assert not PageLRU(page)
    assert call(caller, target.pid, [a], [0]) == (0, [0])
    d.verify()


def test_mlocked_page_moves_with_its_mlock(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    p.mlock(a, PAGE_SIZE)
    old = page_at(p, a)
    assert old is not None and PageMlocked(old)
    mlock = [node_stat(m, n, ZoneStatItem.NR_MLOCK) for n in (0, 1)]
    assert call(p, 0, [a], [1]) == (0, [1])
    new = page_at(p, a)
    assert new is not None and new.zone.node_id == 1
    assert PageMlocked(new) and PageUnevictable(new)
    assert [node_stat(m, n, ZoneStatItem.NR_MLOCK) for n in (0, 1)] == [mlock[0] - 1, mlock[1] + 1]
    d.verify()


def test_dirty_file_page_moves_its_dirty_accounting(m: Machine) -> None:
    p = m.spawn()
    f = m.create_file("/ext/dirty", size=PAGE_SIZE, fs="ext2")
    a = p.mmap(PAGE_SIZE, file=f, shared=True)
    d = Data()
    d.put(p, a, b"dirty ext2 page")
    assert call(p, 0, [a], [1]) == (0, [1])
    new = page_at(p, a)
    assert new is not None and PageDirty(new)  # the pte's dirty bit reached the page
    assert [node_stat(m, n, ZoneStatItem.NR_FILE_DIRTY) for n in (0, 1)] == [0, 1]
    assert [node_stat(m, n, ZoneStatItem.NR_FILE_PAGES) for n in (0, 1)] == [0, 1]
    d.verify()


# --- 4.2 per-page statuses ---------------------------------------------------------------------------


def test_success_reports_the_new_node_and_keeps_data(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    touched = d.fill(p, p.mmap(3 * PAGE_SIZE), 3)
    assert call(p, 0, touched, [1, 1, 0]) == (0, [1, 1, 0])
    assert [p.node_of(a) for a in touched] == [1, 1, 0]
    assert call(p, 0, touched, [0, 1, 1]) == (0, [0, 1, 1])
    assert [p.node_of(a) for a in touched] == [0, 1, 1]
    d.verify()


def test_unaligned_addresses_designate_their_page(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    assert call(p, 0, [a + 1234], [1]) == (0, [1])
    assert call(p, 0, [a + PAGE_SIZE - 1], None) == (0, [1])
    d.verify()


def test_count_shorter_than_the_arrays(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    touched = d.fill(p, p.mmap(3 * PAGE_SIZE), 3)
    assert call(p, 0, touched, [1, 1, 1], count=2) == (0, [1, 1, None])
    assert [p.node_of(a) for a in touched] == [1, 1, 0]
    d.verify()


@pytest.mark.parametrize("profile", ["2.6.35", "6.1"])
@pytest.mark.parametrize("query", [False, True])
def test_count_past_the_arrays_faults_at_their_guard_page(profile: str, query: bool) -> None:
    """The pages array ends at a guard page, as a C caller's arrays do, so the
    read of the entry past the end fails the call with EFAULT. 6.1's do_pages_move reads
    one entry at a time and has moved the entries before it; 2.6.35 reads a
    whole chunk before doing anything, as both kernels' do_pages_stat do, so
    nothing moves and no status is written."""
    m = Machine(nodes=2, node_memory="64MiB", profile=profile)
    p = m.spawn()
    d = Data()
    touched = d.fill(p, p.mmap(3 * PAGE_SIZE), 3)
    moved = profile == "6.1" and not query
    status: list[int | None] = [1, 1, 1] if moved else [None, None, None]
    assert call(p, 0, touched, None if query else [1, 1, 1], count=4) == (errno.EFAULT, status)
    assert [p.node_of(a) for a in touched] == ([1, 1, 1] if moved else [0, 0, 0])
    d.verify()
    m.check()


def test_no_vma_at_or_above_is_efault(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    p.touch(a)
    top = max(v.vm_end for v in p.mm.mmap)
    for addr in (top, top + 5 * PAGE_SIZE, (1 << 47) - PAGE_SIZE, 0xFFFF880000001000, 2**64 - 1):
        assert call(p, 0, [addr], [1]) == (0, [-errno.EFAULT])
        assert call(p, 0, [addr], None) == (0, [-errno.EFAULT])


@pytest.mark.parametrize("flag", [VM_IO, VM_PFNMAP, VM_RESERVED])
def test_unmigratable_vma_is_efault_in_move_mode_only(m: Machine, flag: int) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    vma = find_vma(p.mm, a)
    assert vma is not None
    vma.vm_flags |= flag
    assert call(p, 0, [a], [1]) == (0, [-errno.EFAULT])
    assert p.node_of(a) == 0
    if flag == VM_IO:
        # do_pages_stat has no vma_migratable test
        assert call(p, 0, [a], None) == (0, [0])
    vma.vm_flags &= ~flag
    d.verify()


def test_present_pte_without_struct_page_is_efault(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    vma = find_vma(p.mm, a)
    assert vma is not None
    vma.vm_flags |= VM_MIXEDMAP
    pte_alloc_map(p.mm, a)
    set_pte_at(p.mm, a, pte_mkspecial(pfn_pte(m.max_pfn + 100, PAGE_READONLY)))
    assert call(p, 0, [a], [1]) == (0, [-errno.EFAULT])
    assert call(p, 0, [a], None) == (0, [-errno.EFAULT])


def test_never_touched_page_is_enoent(m: Machine) -> None:
    """Worked example 4."""
    p = m.spawn()
    a = p.mmap(2 * PAGE_SIZE)
    assert call(p, 0, [a, a + PAGE_SIZE], [1, 0]) == (0, [-errno.ENOENT, -errno.ENOENT])
    assert call(p, 0, [a], None) == (0, [-errno.ENOENT])
    assert page_at(p, a) is None  # move_pages does not fault pages in


def test_zero_page_is_enoent(m: Machine) -> None:
    """Worked example 5: the shared zero page (PageReserved)."""
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    assert p.read(a, 8) == bytes(8)
    assert page_at(p, a) is m.zero_page
    assert call(p, 0, [a], [1]) == (0, [-errno.ENOENT])
    assert call(p, 0, [a], [0]) == (0, [-errno.ENOENT])  # not "already on node 0"
    assert call(p, 0, [a], None) == (0, [-errno.ENOENT])
    assert page_at(p, a) is m.zero_page


def test_ksm_page_is_enoent(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(2 * PAGE_SIZE)
    d = Data()
    d.put(p, a, b"same content" * 3)
    d.put(p, a + PAGE_SIZE, b"same content" * 3)
    p.madvise_mergeable(a, 2 * PAGE_SIZE)
    assert ksm_merge(m) >= 1
    page = page_at(p, a)
    assert page is not None and PageKsm(page) and page_at(p, a + PAGE_SIZE) is page
    assert call(p, 0, [a, a + PAGE_SIZE], [1, 1], MOVE) == (0, [-errno.ENOENT] * 2)
    root = m.spawn(uid=0)
    assert call(root, p.pid, [a], [1], MOVE_ALL) == (0, [-errno.ENOENT])
    assert call(p, 0, [a], None) == (0, [-errno.ENOENT])
    assert page_at(p, a) is page and page.zone.node_id == 0
    d.verify()


def test_swapped_out_page_is_enoent(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a, b = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    swap_out(m, p, a)
    assert is_swap_pte(p.mm.ptes[a >> 12])
    assert call(p, 0, [a, b], [1, 1]) == (0, [-errno.ENOENT, 1])
    assert call(p, 0, [a], None) == (0, [-errno.ENOENT])
    d.verify()


def test_cow_shared_page_is_eacces_and_move_all_moves_it(m: Machine) -> None:
    """Worked example 3."""
    p = m.spawn(uid=1000)
    d = Data()
    a, b = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    child = p.fork()
    d.expect += [(child, addr, data) for _, addr, data in list(d.expect)]
    page = page_at(p, a)
    assert page is not None and page_mapcount(page) == 2 and page_at(child, a) is page
    assert call(p, 0, [a, b], [1, 1]) == (0, [-errno.EACCES, -errno.EACCES])
    assert call(child, 0, [a], [1]) == (0, [-errno.EACCES])
    assert p.node_of(a) == 0
    root = m.spawn(uid=0)
    assert call(root, p.pid, [a], [1], MOVE_ALL) == (0, [1])
    assert p.node_of(a) == 1 and child.node_of(a) == 1  # one page, both mappings follow
    assert page_at(p, a) is page_at(child, a)
    d.verify()
    # once the child drops its copy the page is exclusive again
    child.exit()
    assert call(p, 0, [b], [1]) == (0, [1])
    d.verify()


def test_page_mapped_twice_in_one_mm_is_eacces(m: Machine) -> None:
    p = m.spawn(uid=1000)
    f = m.create_file("/shm/twice", size=PAGE_SIZE, fs="tmpfs")
    a = p.mmap(PAGE_SIZE, file=f, shared=True)
    b = p.mmap(PAGE_SIZE, file=f, shared=True)
    d = Data()
    d.put(p, a, b"one page, two ptes")
    p.touch(b, write=False)
    assert page_at(p, a) is page_at(p, b)
    assert call(p, 0, [a], [1]) == (0, [-errno.EACCES])
    root = m.spawn(uid=0)
    assert call(root, p.pid, [b], [1], MOVE_ALL) == (0, [1])
    assert p.node_of(a) == p.node_of(b) == 1
    assert p.read(b, 18) == b"one page, two ptes"
    d.verify()


def test_duplicate_entry_of_an_isolated_page_is_ebusy(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    assert call(p, 0, [a, a], [1, 1]) == (0, [1, -errno.EBUSY])
    assert p.node_of(a) == 1
    d.verify()


def test_page_isolated_by_someone_else_is_ebusy(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a, b = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    lru_add_drain_all(m)
    page = page_at(p, a)
    assert page is not None
    pin(m, page)
    assert isolate_lru_page(page) == 0  # as reclaim or compaction would hold it
    assert call(p, 0, [a, b], [1, 1]) == (0, [-errno.EBUSY, 1])
    putback_lru_page(page)
    unpin(m, page)
    assert p.node_of(a) == 0
    assert call(p, 0, [a], [1]) == (0, [1])
    d.verify()


def test_xfsbuf_page_is_eio(m: Machine) -> None:
    p = m.spawn()
    f = m.create_file("/x/meta", size=2 * PAGE_SIZE, fs="xfsbuf")
    a = p.mmap(2 * PAGE_SIZE, file=f, shared=True)
    d = Data()
    d.put(p, a, b"xfs buffer page")
    p.touch(a + PAGE_SIZE, write=False)
    assert call(p, 0, [a, a + PAGE_SIZE], [1, 1]) == (0, [-errno.EIO, -errno.EIO])
    assert [p.node_of(a), p.node_of(a + PAGE_SIZE)] == [0, 0]
    d.verify()


def test_writepage_failure_in_writeout_is_eio(m: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dirty page of a filesystem without migratepage goes through
    writeout(); a failing ->writepage ends the page with -EIO."""
    # fs.block_write_full_page consults the "writepage" fault point but the
    # model does not list it in FAULT_POINTS; register it for this test.
    monkeypatch.setitem(FAULT_POINTS, "writepage", "->writepage fails (attrs: path, index)")
    p = m.spawn()
    f = m.create_file("/fat/f", size=PAGE_SIZE, fs="vfat")
    a = p.mmap(PAGE_SIZE, file=f, shared=True)
    d = Data()
    d.put(p, a, b"dirty fat page")
    with m.inject("writepage", path="/fat/f") as rule:
        assert call(p, 0, [a], [1]) == (0, [-errno.EIO])
    assert rule.hits == 1
    assert p.node_of(a) == 0
    d.verify()


def test_dirty_vfat_page_is_written_out_then_migrated(m: Machine) -> None:
    p = m.spawn()
    f = m.create_file("/fat/g", size=PAGE_SIZE, fs="vfat")
    a = p.mmap(PAGE_SIZE, file=f, shared=True)
    d = Data()
    d.put(p, a, b"written back on the way")
    assert call(p, 0, [a], [1]) == (0, [1])
    assert p.node_of(a) == 1
    assert f.store is not None and bytes(f.store[:23]) == b"written back on the way"
    d.verify()


def test_dirty_ramfs_page_is_einval_and_a_clean_one_moves(m: Machine) -> None:
    """No migratepage and no writepage: a dirty page cannot be cleaned."""
    p = m.spawn()
    f = m.create_file("/ram/f", size=2 * PAGE_SIZE, fs="ramfs")
    a = p.mmap(2 * PAGE_SIZE, file=f, shared=True)
    d = Data()
    d.put(p, a, b"ramfs dirty")
    p.touch(a + PAGE_SIZE, write=False)
    assert call(p, 0, [a, a + PAGE_SIZE], [1, 1]) == (0, [-errno.EINVAL, 1])
    assert [p.node_of(a), p.node_of(a + PAGE_SIZE)] == [0, 1]
    moved = page_at(p, a + PAGE_SIZE)
    assert moved is not None and PageUnevictable(moved)
    d.verify()


def test_pinned_page_is_eagain_after_ten_passes(m: Machine) -> None:
    """Worked example 7 and quirks 4, 6: an extra reference for the whole
    call; 10 passes, each allocating a new page; return 0."""
    p = m.spawn()
    d = Data()
    a, b = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    page = page_at(p, a)
    assert page is not None
    pin(m, page)
    with m.inject("alloc_page", node=1, space=10**9) as counter:
        assert call(p, 0, [a, b], [1, 1]) == (0, [-errno.EAGAIN, 1])
    assert counter.passed == 10 + 1  # one target page per pass, plus b's
    assert counter.hits == 0
    assert p.node_of(a) == 0 and p.node_of(b) == 1
    m.check()
    unpin(m, page)
    assert call(p, 0, [a], [1]) == (0, [1])
    d.verify()


# --- query mode (4.4) ------------------------------------------------------------------------------


def test_query_mode_reports_nodes(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    touched = d.fill(p, p.mmap(3 * PAGE_SIZE), 3)
    untouched = p.mmap(PAGE_SIZE)
    assert call(p, 0, touched, [1, 0, 1]) == (0, [1, 0, 1])
    top = max(v.vm_end for v in p.mm.mmap)
    assert call(p, 0, [*touched, untouched, top], None) == (
        0, [1, 0, 1, -errno.ENOENT, -errno.EFAULT])
    # the flags only matter for the flag and permission checks
    root = m.spawn(uid=0)
    assert call(root, p.pid, touched, None, MOVE_ALL) == (0, [1, 0, 1])
    assert call(root, p.pid, touched, None, 0) == (0, [1, 0, 1])
    d.verify()


def test_query_mode_pages_array_fault_reports_earlier_16_entry_chunks(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    n = 40
    arr = Arrays(p, n, pages_mapped=36)
    arr.set([a] * n, None)
    assert raw(p, 0, n, arr.pages, 0, arr.status) == -errno.EFAULT
    assert arr.statuses() == [0] * 32 + [SENTINEL] * 8
    # a count that stays inside the array is fine
    assert raw(p, 0, 36, arr.pages, 0, arr.status) == 0
    assert arr.statuses() == [0] * 36 + [SENTINEL] * 4


def test_query_mode_status_array_fault(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    n = 40
    arr = Arrays(p, n, status_mapped=20)
    arr.set([a] * n, None)
    assert raw(p, 0, n, arr.pages, 0, arr.status) == -errno.EFAULT
    status = arr.statuses()
    assert status[:16] == [0] * 16  # the first chunk was copied out
    assert set(status[16:]) <= {0, SENTINEL}  # part of the failing chunk may be


def test_move_mode_count_past_the_pages_array_faults_before_its_chunk(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    arr = Arrays(p, 4, pages_mapped=2)
    arr.set([a, a], [1, 1, 1, 1])
    assert raw(p, 0, 4, arr.pages, arr.nodes, arr.status) == -errno.EFAULT
    assert arr.statuses() == [SENTINEL] * 4
    assert p.node_of(a) == 0
    assert raw(p, 0, 2, arr.pages, arr.nodes, arr.status) == 0
    assert arr.statuses() == [1, -errno.EBUSY, SENTINEL, SENTINEL]
    d.verify()


# --- section 7 quirks -------------------------------------------------------------------------------


def test_address_in_a_hole_below_a_vma_is_enoent(m: Machine) -> None:
    """Quirk 1 (worked example 6): find_vma without a vm_start check."""
    p = m.spawn()
    d = Data()
    a = p.mmap(3 * PAGE_SIZE)
    low, high = d.fill(p, a, 1)[0], d.fill(p, a + 2 * PAGE_SIZE, 1, tag=2)[0]
    p.touch(a + PAGE_SIZE)
    p.munmap(a + PAGE_SIZE, PAGE_SIZE)
    hole = a + PAGE_SIZE
    assert call(p, 0, [hole, low, high], [1, 1, 1]) == (0, [-errno.ENOENT, 1, 1])
    assert call(p, 0, [hole], None) == (0, [-errno.ENOENT])
    d.verify()


def test_null_address_is_enoent_below_the_lowest_vma(m: Machine) -> None:
    p = m.spawn()
    p.touch(p.mmap(PAGE_SIZE))
    assert call(p, 0, [0, 123], [1, 1]) == (0, [-errno.ENOENT, -errno.ENOENT])
    assert call(p, 0, [0], None) == (0, [-errno.ENOENT])


def test_hole_below_an_unmigratable_vma_is_efault(m: Machine) -> None:
    """Quirk 1: the VMA above the hole decides migratability."""
    p = m.spawn()
    a = p.mmap(3 * PAGE_SIZE)
    p.munmap(a + PAGE_SIZE, PAGE_SIZE)
    upper = find_vma(p.mm, a + 2 * PAGE_SIZE)
    assert upper is not None
    upper.vm_flags |= VM_IO
    assert call(p, 0, [a + PAGE_SIZE], [1]) == (0, [-errno.EFAULT])
    assert call(p, 0, [a + PAGE_SIZE], None) == (0, [-errno.ENOENT])


def test_unmapped_address_with_nothing_above_is_efault(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    top = p.mmap(PAGE_SIZE)  # the first mapping is the highest
    p.touch(top)
    keep = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    call(p, 0, [keep], None)  # make the arrays' arena exist before the munmap
    assert max(v.vm_end for v in p.mm.mmap) == top + PAGE_SIZE
    p.munmap(top, PAGE_SIZE)
    assert call(p, 0, [top, keep], [1, 1]) == (0, [-errno.EFAULT, 1])
    d.verify()


def test_duplicate_entries_first_match(m: Machine) -> None:
    """Worked example 10 (quirks 2 and 5)."""
    p = m.spawn()
    d = Data()
    a, b = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    assert call(p, 0, [a, a], [1, 0]) == (0, [1, 0])
    assert p.node_of(a) == 1
    old = page_at(p, b)
    assert call(p, 0, [b, b], [0, 1]) == (0, [0, 0])
    new = page_at(p, b)
    assert p.node_of(b) == 0
    assert new is not old  # a useless copy to another node-0 page
    d.verify()


def test_stale_page_to_node_across_chunks_redirects_the_migration() -> None:
    """Quirk 2: the chunk array is not cleared between chunks. Entry 0 of
    chunk 1 records page P ("already on node 0"); entry 0 of chunk 2 fails
    with -ENOENT and keeps P; entry 1 of chunk 2 isolates P for node 1. The
    first match is the stale entry: P goes to its node (2), that entry's
    status gets the result, and the real entry keeps 0."""
    m = machine(nodes=4, cpus=4)
    p = m.spawn()
    d = Data()
    page_p = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    hole = fillers(p)
    pages = [page_p] + [hole] * (CHUNK - 1) + [hole, page_p]
    nodes = [0] * CHUNK + [2, 1]
    rc, status = call(p, 0, pages, nodes)
    assert rc == 0
    assert status[0] == 0
    assert status[1:CHUNK] == [-errno.ENOENT] * (CHUNK - 1)
    assert status[CHUNK:] == [2, 0]
    assert p.node_of(page_p) == 2
    d.verify()
    m.check()


def test_page_freed_under_us_counts_as_migrated_on_every_pass(m: Machine) -> None:
    """Quirk 3: madvise(MADV_DONTNEED) by another thread drops the last
    mapping while the page is isolated; unmap_and_move sees count 1, reports
    the target node, leaves the page on the list, and while another page
    keeps the passes going allocates (and frees) a new page each pass."""
    p = m.spawn()
    d = Data()
    a, b = d.fill(p, p.mmap(2 * PAGE_SIZE), 2)
    busy = page_at(p, b)
    assert busy is not None
    pin(m, busy)
    vma = find_vma(p.mm, a)
    assert vma is not None
    call(p, 0, [a, b], None)  # the arena exists before the hook runs
    hook = FirstResched(lambda: zap_pte_range(p.mm, vma, a, a + PAGE_SIZE))
    m.scheduler = hook  # type: ignore[assignment]
    try:
        with m.inject("alloc_page", node=1, space=10**9) as counter:
            result = call(p, 0, [a, b], [1, 1])
    finally:
        m.scheduler = None
    assert hook.fired == 1
    assert result == (0, [1, -errno.EAGAIN])
    assert counter.passed == 2 * 10
    assert page_at(p, a) is None and p.read(a, 8) == bytes(8)  # DONTNEED: zero-fill
    m.check()
    unpin(m, busy)
    d.expect = [e for e in d.expect if e[1] != a]
    d.verify()


def test_mapped_swap_cache_page_is_left_as_a_swap_pte(m: Machine) -> None:
    """Quirks 7 and 8: try_to_unmap stores the swap entry (not a migration
    entry) for a swap-cache page; after migration the pte stays a swap pte
    (RSS moves to MM_SWAPENTS) and NR_SHMEM moves between the zones."""
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    swap_out(m, p, a)
    assert p.read(a, 4) == pattern(1, 0)[:4]  # swapped back in, still in the swap cache
    page = page_at(p, a)
    assert page is not None and PageSwapCache(page)
    assert call(p, 0, [a], [0]) == (0, [0])  # (creates and touches the arrays first)
    rss = list(p.mm.rss)
    shmem = [node_stat(m, n, ZoneStatItem.NR_SHMEM) for n in (0, 1)]
    files = [node_stat(m, n, ZoneStatItem.NR_FILE_PAGES) for n in (0, 1)]
    assert call(p, 0, [a], [1]) == (0, [1])
    assert is_swap_pte(p.mm.ptes[a >> 12])
    assert p.node_of(a) is None
    assert call(p, 0, [a], None) == (0, [-errno.ENOENT])
    assert p.mm.rss[MM_ANONPAGES] == rss[MM_ANONPAGES] - 1
    assert p.mm.rss[MM_SWAPENTS] == rss[MM_SWAPENTS] + 1
    assert [node_stat(m, n, ZoneStatItem.NR_SHMEM) for n in (0, 1)] == [shmem[0] - 1, shmem[1] + 1]
    assert [node_stat(m, n, ZoneStatItem.NR_FILE_PAGES) for n in (0, 1)] == [files[0] - 1,
                                                                             files[1] + 1]
    m.check()
    d.verify()  # the next touch maps the migrated page
    assert p.node_of(a) == 1


def test_pte_after_migration_is_clean_and_old(m: Machine) -> None:
    p = m.spawn()
    d = Data()
    a = d.fill(p, p.mmap(PAGE_SIZE), 1)[0]
    assert call(p, 0, [a], [1]) == (0, [1])
    pte = p.mm.ptes[a >> 12]
    assert not pte_dirty(pte) and not pte_young(pte)
    d.verify()




def test_migration_entries_are_removed_for_every_pfn() -> None:
    """Pages whose old pfn has bit 6 set must come back as working ptes too.
    The model encodes a swap pte as ``entry << 2 | 2``, so bit 6 of a
    migration entry's pfn lands on _PAGE_PROTNONE (bit 8), pte_present()
    says yes, and remove_migration_pte skips the entry: the pte keeps
    pointing at the freed old frame."""
    m = machine()
    p = m.spawn()
    d = Data()
    touched = d.fill(p, p.mmap(130 * PAGE_SIZE), 130)
    pfns = {a: page_at(p, a).pfn for a in touched}  # type: ignore[union-attr]
    bit6 = [a for a in touched if pfns[a] & 0x40][:3]
    assert len(bit6) == 3
    assert call(p, 0, bit6, [1, 1, 1]) == (0, [1, 1, 1])
    assert [p.node_of(a) for a in bit6] == [1, 1, 1]
    m.check()
    d.verify()



def test_swapped_out_page_in_a_high_swap_slot_is_enoent() -> None:
    """The same encoding makes a swap pte whose slot offset has bit 6 set look
    present: move_pages then reports a node (the pte's "pfn" is a free frame)
    for a page that is not in memory, and the process loses its data."""
    m = machine()
    p = m.spawn()
    d = Data()
    addrs = d.fill(p, p.mmap(70 * PAGE_SIZE), 70)
    slots = {a: swp_offset(swap_out(m, p, a).private) for a in addrs}  # type: ignore[arg-type]
    high = [a for a in addrs if slots[a] & 0x40]
    assert high
    assert call(p, 0, high[:1], None) == (0, [-errno.ENOENT])
    assert call(p, 0, high[:1], [1]) == (0, [-errno.ENOENT])
    m.check()
    d.verify()
