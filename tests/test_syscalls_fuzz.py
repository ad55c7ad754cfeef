"""Fuzzing the raw system calls (pagemig.mm.syscalls) with arbitrary user
pointers, counts, node ids, flags, pids and credentials.

Whatever the arguments, a system call must come back with an int: 0 (or for
migrate_pages(2) the non-negative count of pages not moved) or a negative
errno from the set its 2.6.35 body can produce; it must never raise, the
machine must pass ``Machine.check()`` after every call, and no process may
see its data change (the calls move pages, they never alter their bytes;
output pointers are kept out of the data pages so that the kernel's own
writes cannot be mistaken for corruption).

The world is rebuilt for each example and kept small: a handful of
anonymous, shared, file, KSM, COW-shared and pinned pages on a 3-node
machine whose node 2 has no memory.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pagemig import PAGE_SIZE, Machine
from pagemig.mm.ksm import ksm_merge
from pagemig.mm.mempolicy import (
    MPOL_F_ADDR,
    MPOL_F_MEMS_ALLOWED,
    MPOL_F_NODE,
    MPOL_F_RELATIVE_NODES,
    MPOL_F_STATIC_NODES,
)
from pagemig.mm.mmap import TASK_SIZE
from pagemig.mm.page import get_page
from pagemig.mm.syscalls import (
    sys_get_mempolicy,
    sys_mbind,
    sys_migrate_pages,
    sys_move_pages,
    sys_set_mempolicy,
)
from pagemig.process import Process

from .conftest import follow_page_at as page_at

ARRAYS = 0x10000000  # 3 pages of argument arrays, then an unmapped page
ARRAY_PAGES = 3
SCRATCH = 0x20000000  # 1 page the kernel may write into
MASK = ARRAYS + ARRAY_PAGES * PAGE_SIZE - 32  # two 2-word node masks at the end of the arrays
U64 = 2**64 - 1

MOVE_PAGES_ERRNOS = {errno.EINVAL, errno.EPERM, errno.ESRCH, errno.EFAULT, errno.ENODEV,
                     errno.EACCES, errno.ENOMEM}
MIGRATE_PAGES_ERRNOS = {errno.EINVAL, errno.EFAULT, errno.ESRCH, errno.EPERM, errno.ENOMEM}
MBIND_ERRNOS = {errno.EINVAL, errno.EPERM, errno.EFAULT, errno.EIO, errno.ENOMEM}
SET_MEMPOLICY_ERRNOS = {errno.EINVAL, errno.EFAULT, errno.ENOMEM}
GET_MEMPOLICY_ERRNOS = {errno.EINVAL, errno.EFAULT}


@dataclass
class World:
    m: Machine
    procs: list[Process]
    data: list[tuple[Process, int, bytes]] = field(default_factory=list)
    addrs: list[int] = field(default_factory=list)  # interesting user addresses



def build_world() -> World:
    m = Machine(nodes=3, node_memory=["64MiB", "512KiB", 0], cpus=[0, 1, 2])
    root = m.spawn(uid=0)
    user = m.spawn(uid=1000, cpu=1)
    other = m.spawn(uid=0)
    other.setresuid(2000, 2000, 1000)  # saved uid matches user
    mixed = m.spawn(uid=0)
    mixed.setresuid(1000, 2000, 3000)
    w = World(m, [root, user, other, mixed])
    for k, p in enumerate(w.procs):
        p.mmap(ARRAY_PAGES * PAGE_SIZE, addr=ARRAYS, fixed=True)
        p.mmap(PAGE_SIZE, addr=SCRATCH, fixed=True)
        base = p.mmap(6 * PAGE_SIZE)
        for i in (0, 1, 2, 4):  # page 3 stays untouched, page 5 is read only (zero page)
            data = bytes([k * 16 + i]) * 24 + bytes(range(8))
            p.write(base + i * PAGE_SIZE, data)
            w.data.append((p, base + i * PAGE_SIZE, data))
        p.read(base + 5 * PAGE_SIZE, 1)
        w.addrs += [base + i * PAGE_SIZE for i in range(6)]
    # user: a tmpfs page, an xfsbuf page, a KSM pair, and a child sharing COW pages
    f = m.create_file("/shm/a", size=PAGE_SIZE, fs="tmpfs")
    s = user.mmap(PAGE_SIZE, file=f, shared=True)
    user.write(s, b"shmem page")
    w.data.append((user, s, b"shmem page"))
    x = m.create_file("/xfs/b", size=PAGE_SIZE, fs="xfsbuf")
    xb = user.mmap(PAGE_SIZE, file=x, shared=True)
    user.write(xb, b"xfs buffer")
    w.data.append((user, xb, b"xfs buffer"))
    k = user.mmap(2 * PAGE_SIZE)
    for a in (k, k + PAGE_SIZE):
        user.write(a, b"merge me")
        w.data.append((user, a, b"merge me"))
    user.madvise_mergeable(k, 2 * PAGE_SIZE)
    ksm_merge(m)
    child = user.fork()
    w.procs.append(child)
    w.data += [(child, a, d) for p, a, d in list(w.data) if p is user]
    hole = user.mmap(3 * PAGE_SIZE)
    user.munmap(hole + PAGE_SIZE, PAGE_SIZE)
    w.addrs += [s, xb, k, k + PAGE_SIZE, hole + PAGE_SIZE, hole]
    # one page of root's pinned for good (an extra reference: -EAGAIN)
    pinned = page_at(root, w.addrs[0])
    assert pinned is not None
    get_page(pinned)
    m.pin(pinned)
    m.check()
    return w


def verify(w: World) -> None:
    for p, addr, data in w.data:
        if p.alive:
            assert p.read(addr, len(data)) == data, f"pid {p.pid} {addr:#x} changed"


# --- strategies ---------------------------------------------------------------------------------

def mostly(good: st.SearchStrategy[int], rest: st.SearchStrategy[int]) -> st.SearchStrategy[int]:
    """Mostly ``good``, sometimes ``rest`` (a plain one_of would drift to the
    larger space of ``rest``)."""
    return st.integers(0, 9).flatmap(lambda k: good if k < 8 else rest)


NODE_IDS = st.one_of(st.sampled_from([0, 1, 2, 3, 63, 64, 99, -1, 2**31 - 1, -(2**31)]),
                     st.integers(-(2**31), 2**31 - 1))
FLAGS = mostly(st.sampled_from([0, 2, 2, 4, 6]),
              st.one_of(st.sampled_from([1, 3, 5, 7, 8]), st.integers(0, 2**32 - 1)))
COUNTS = mostly(st.integers(0, 60), st.one_of(st.integers(0, 400),
                                             st.sampled_from([2**31, 2**32 + 3, 2**63, U64])))
MAXNODES = mostly(st.sampled_from([3, 4, 65, 65, 129]),
                  st.one_of(st.sampled_from([0, 1, 2, 64, 66, 128, 4096, PAGE_SIZE * 8 + 1,
                                             PAGE_SIZE * 8 + 2, U64]), st.integers(0, U64)))
WORDS = st.one_of(st.integers(0, 7), st.sampled_from([0, 1 << 63, U64, 1 << 2]), st.integers(0, U64))


def in_pointer(w: World) -> st.SearchStrategy[int]:
    """A pointer the kernel reads from: arrays, data pages, holes, anything."""
    return st.one_of(
        st.integers(0, ARRAY_PAGES * PAGE_SIZE - 1).map(lambda off: ARRAYS + off),
        st.sampled_from(w.addrs).flatmap(lambda a: st.integers(0, PAGE_SIZE - 1).map(lambda o: a + o)),
        st.sampled_from([0, ARRAYS + ARRAY_PAGES * PAGE_SIZE - 4, ARRAYS + ARRAY_PAGES * PAGE_SIZE,
                         SCRATCH + 3, TASK_SIZE - 4, TASK_SIZE, 0xFFFF880000000000, U64 - 7, U64]),
        st.integers(0, U64),
    )


def out_pointer() -> st.SearchStrategy[int]:
    """A pointer the kernel writes to: never into a page whose data is checked."""
    return st.one_of(
        st.integers(0, ARRAY_PAGES * PAGE_SIZE - 1).map(lambda off: ARRAYS + off),
        st.integers(0, PAGE_SIZE + 64).map(lambda off: SCRATCH + off),
        st.sampled_from([0, ARRAYS + ARRAY_PAGES * PAGE_SIZE - 2, 0x30000000, TASK_SIZE - 2,
                         0xFFFF880000000000, U64 - 3]),
    )


def user_value(w: World) -> st.SearchStrategy[int]:
    """A value to plant in the argument arrays: addresses, node ids, words."""
    return st.one_of(st.sampled_from(w.addrs), NODE_IDS.map(lambda n: n & 0xFFFFFFFF), WORDS)


def pids(w: World) -> st.SearchStrategy[int]:
    return mostly(st.sampled_from([0, *(p.pid for p in w.procs)]),
                  st.sampled_from([-1, 99999, w.m.kthreadd.pid, w.m.init_task.pid]))


# --- the calls ---------------------------------------------------------------------------------


def plant_arrays(draw: st.DrawFn, w: World, p: Process) -> None:
    """Fill the caller's argument pages with a mix of plausible entries: u64
    addresses for pages[], s32 node ids for nodes[], random words."""
    layout = draw(st.sampled_from(["pages+nodes", "words", "zeros"]))
    if layout == "zeros":
        p.write(ARRAYS, bytes(ARRAY_PAGES * PAGE_SIZE))
        return
    n = draw(st.integers(1, 40))
    if layout == "pages+nodes":
        pages = draw(st.lists(st.sampled_from(w.addrs), min_size=n, max_size=n))
        nodes = draw(st.lists(st.sampled_from([0, 1, 1, 0, 2, 64, -1]), min_size=n, max_size=n))
        p.write(ARRAYS, b"".join(a.to_bytes(8, "little") for a in pages))
        p.write(ARRAYS + PAGE_SIZE, b"".join(x.to_bytes(4, "little", signed=True) for x in nodes))
    else:
        words = draw(st.lists(user_value(w), min_size=n, max_size=n))
        off = draw(st.integers(0, ARRAY_PAGES * PAGE_SIZE - 8 * n))
        p.write(ARRAYS + off, b"".join((v & U64).to_bytes(8, "little") for v in words))


def plant_masks(draw: st.DrawFn, p: Process) -> None:
    words = [draw(mostly(st.integers(0, 7), WORDS)), draw(mostly(st.just(0), WORDS)),
             draw(mostly(st.integers(1, 7), WORDS)), draw(mostly(st.just(0), WORDS))]
    p.write(MASK, b"".join((v & U64).to_bytes(8, "little") for v in words))


def call_move_pages(draw: st.DrawFn, w: World, p: Process) -> tuple[int, set[int], bool]:
    pages_ptr = draw(mostly(st.just(ARRAYS), in_pointer(w)))
    nodes_ptr = draw(mostly(st.sampled_from([0, ARRAYS + PAGE_SIZE]), in_pointer(w)))
    status_ptr = draw(mostly(st.just(ARRAYS + 2 * PAGE_SIZE), out_pointer()))
    with p.running() as task:
        rc = sys_move_pages(task, draw(pids(w)), draw(COUNTS), pages_ptr, nodes_ptr, status_ptr,
                            draw(FLAGS))
    return rc, MOVE_PAGES_ERRNOS, False


def call_migrate_pages(draw: st.DrawFn, w: World, p: Process) -> tuple[int, set[int], bool]:
    plant_masks(draw, p)
    old = draw(mostly(st.just(MASK), in_pointer(w)))
    new = draw(mostly(st.just(MASK + 16), in_pointer(w)))
    with p.running() as task:
        rc = sys_migrate_pages(task, draw(pids(w)), draw(MAXNODES), old, new)
    return rc, MIGRATE_PAGES_ERRNOS, True


def call_mbind(draw: st.DrawFn, w: World, p: Process) -> tuple[int, set[int], bool]:
    start = draw(mostly(st.sampled_from(w.addrs), in_pointer(w)))
    length = draw(mostly(st.integers(0, 4 * PAGE_SIZE), st.sampled_from([2**47, 2**63])))
    plant_masks(draw, p)
    mode = draw(mostly(st.integers(0, 3), st.integers(0, 2**32 - 1)))
    mode |= draw(st.sampled_from([0, 0, 0, 0, MPOL_F_STATIC_NODES, MPOL_F_RELATIVE_NODES,
                                  MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES]))
    with p.running() as task:
        rc = sys_mbind(task, start, length, mode, draw(mostly(st.just(MASK + 16), in_pointer(w))),
                       draw(MAXNODES), draw(FLAGS))
    return rc, MBIND_ERRNOS, False


def call_set_mempolicy(draw: st.DrawFn, w: World, p: Process) -> tuple[int, set[int], bool]:
    plant_masks(draw, p)
    mode = draw(mostly(st.integers(0, 3), st.integers(0, 2**32 - 1)))
    with p.running() as task:
        rc = sys_set_mempolicy(task, mode, draw(mostly(st.just(MASK + 16), in_pointer(w))),
                               draw(MAXNODES))
    return rc, SET_MEMPOLICY_ERRNOS, False


def call_get_mempolicy(draw: st.DrawFn, w: World, p: Process) -> tuple[int, set[int], bool]:
    flags = draw(mostly(st.sampled_from([0, MPOL_F_NODE, MPOL_F_ADDR, MPOL_F_NODE | MPOL_F_ADDR,
                                         MPOL_F_MEMS_ALLOWED]), st.integers(0, 2**32 - 1)))
    if flags & MPOL_F_ADDR:
        addr = draw(mostly(st.sampled_from(w.addrs), in_pointer(w)))
    else:
        addr = draw(mostly(st.just(0), in_pointer(w)))
    with p.running() as task:
        rc = sys_get_mempolicy(task, draw(out_pointer()), draw(out_pointer()),
                               draw(mostly(st.sampled_from([64, 65, 128]), MAXNODES)), addr, flags)
    return rc, GET_MEMPOLICY_ERRNOS, False


CALLS = [call_move_pages, call_migrate_pages, call_mbind, call_set_mempolicy, call_get_mempolicy]


@st.composite
def scenario(draw: st.DrawFn) -> list[str]:
    w = build_world()
    done = []
    for _ in range(draw(st.integers(1, 4))):
        p = draw(st.sampled_from([q for q in w.procs if q.alive]))
        plant_arrays(draw, w, p)
        fn = draw(st.sampled_from(CALLS))
        try:
            rc, errnos, positive_ok = fn(draw, w, p)
        except Exception as exc:  # the point of the test: report, with the call
            raise AssertionError(f"{fn.__name__} by pid {p.pid} raised {exc!r}") from exc
        assert isinstance(rc, int) and not isinstance(rc, bool), f"{fn.__name__} returned {rc!r}"
        if rc < 0:
            assert -rc in errnos, f"{fn.__name__} returned {rc} ({errno.errorcode.get(-rc)})"
        elif rc > 0:
            assert positive_ok, f"{fn.__name__} returned a positive value {rc}"
        w.m.check()
        verify(w)
        done.append(f"{fn.__name__}={rc}")
        event(f"{fn.__name__} -> {errno.errorcode.get(-rc, rc) if rc < 0 else ('0' if rc == 0 else '>0')}")
    return done


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(scenario())
def test_raw_syscalls_never_raise_and_keep_the_machine_consistent(done: list[str]) -> None:
    assert done


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_move_pages_statuses_are_nodes_or_known_errnos(data: st.DataObject) -> None:
    """With well-formed arrays, every status slot the kernel writes is a node
    with memory or one of the per-page errnos of section 4.2."""
    w = build_world()
    p = data.draw(st.sampled_from(w.procs))
    n = data.draw(st.integers(1, 30))
    pages = data.draw(st.lists(st.sampled_from(w.addrs), min_size=n, max_size=n))
    query = data.draw(st.booleans())
    nodes = data.draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
    p.write(ARRAYS, b"".join(a.to_bytes(8, "little") for a in pages))
    p.write(ARRAYS + PAGE_SIZE, b"".join(x.to_bytes(4, "little") for x in nodes))
    sentinel = (-7777).to_bytes(4, "little", signed=True)
    p.write(ARRAYS + 2 * PAGE_SIZE, sentinel * n)
    pid = data.draw(st.sampled_from([0, *(q.pid for q in w.procs)]))
    flags = data.draw(st.sampled_from([0, 2, 4]))
    with p.running() as task:
        rc = sys_move_pages(task, pid, n, ARRAYS, 0 if query else ARRAYS + PAGE_SIZE,
                            ARRAYS + 2 * PAGE_SIZE, flags)
    raw = p.read(ARRAYS + 2 * PAGE_SIZE, 4 * n)
    status = [int.from_bytes(raw[4 * i:4 * i + 4], "little", signed=True) for i in range(n)]
    per_page = {-errno.EFAULT, -errno.ENOENT, -errno.EACCES, -errno.EBUSY, -errno.EAGAIN,
                -errno.EIO, -errno.EINVAL}
    if rc == 0:
        assert all(s in (0, 1) or s in per_page for s in status), status
        if query:
            assert -errno.EACCES not in status and -errno.EBUSY not in status
    else:
        assert -rc in {errno.EPERM, errno.ENOMEM}, rc
        assert set(status) <= {-7777}  # one chunk: nothing copied out
    w.m.check()
    verify(w)
