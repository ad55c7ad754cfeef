"""NUMA memory policies (mm/mempolicy.c, 2.6.35): set_mempolicy(2) and
get_mempolicy(2) with their errors, the effect of each policy on where new
pages go, and get_nodes' maxnode rules."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest

from pagemig import PAGE_SIZE, Machine
from pagemig.mm.mempolicy import (
    MPOL_BIND,
    MPOL_DEFAULT,
    MPOL_F_ADDR,
    MPOL_F_MEMS_ALLOWED,
    MPOL_F_NODE,
    MPOL_F_RELATIVE_NODES,
    MPOL_F_STATIC_NODES,
    MPOL_INTERLEAVE,
    MPOL_MAX,
    MPOL_PREFERRED,
    do_get_mempolicy,
    get_nodes,
)
from pagemig.mm.mmap import PROT_NONE
from pagemig.mm.mmzone import MAX_NUMNODES, ZoneStatItem
from pagemig.mm.page_alloc import nid_free_pages
from pagemig.mm.pgtable import pte_pfn, pte_present
from pagemig.mm.syscalls import sys_get_mempolicy
from pagemig.process import Process

from .conftest import alloc, release

PS = PAGE_SIZE


@pytest.fixture
def m() -> Machine:
    """Two nodes; CPU 0 is on node 0, CPU 1 on node 1."""
    return Machine(nodes=2, node_memory="64MiB", cpus=2)


def attach_cpuset(m: Machine, p: Process, mems: set[int]) -> None:
    """Move p into a new cpuset with these mems."""
    name = f"/cs{len(m.cpusets)}"
    m.create_cpuset(name, sorted(mems))
    m.attach_cpuset(p.pid, name)


def expect_errno(err: int, call: Callable[..., object], *args: object, **kwargs: object) -> None:
    with pytest.raises(OSError) as exc:
        call(*args, **kwargs)
    assert exc.value.errno == err


def nodes_of(p: Process, addr: int, npages: int) -> list[int | None]:
    return [p.node_of(addr + i * PS) for i in range(npages)]


def touch_all(p: Process, addr: int, npages: int) -> None:
    for i in range(npages):
        p.touch(addr + i * PS)


# --- set_mempolicy / get_mempolicy round trips ----------------------------------------------------


def test_the_default_policy(m: Machine) -> None:
    p = m.spawn()
    assert p.get_mempolicy() == (MPOL_DEFAULT, frozenset())
    assert p.task.mempolicy is None


@pytest.mark.parametrize(("mode", "nodes", "expected"), [
    (MPOL_PREFERRED, [1], (MPOL_PREFERRED, {1})),
    (MPOL_PREFERRED, [1, 0], (MPOL_PREFERRED, {0})),  # the first node of the mask
    (MPOL_PREFERRED, [], (MPOL_PREFERRED, set())),  # local allocation
    (MPOL_BIND, [0, 1], (MPOL_BIND, {0, 1})),
    (MPOL_BIND, [1], (MPOL_BIND, {1})),
    (MPOL_INTERLEAVE, [0, 1], (MPOL_INTERLEAVE, {0, 1})),
    (MPOL_DEFAULT, [], (MPOL_DEFAULT, set())),
])
def test_set_then_get(m: Machine, mode: int, nodes: list[int], expected: tuple[int, set[int]]) -> None:
    p = m.spawn()
    p.set_mempolicy(mode, nodes)
    assert p.get_mempolicy() == (expected[0], frozenset(expected[1]))


def test_mpol_default_removes_the_policy(m: Machine) -> None:
    p = m.spawn()
    p.set_mempolicy(MPOL_BIND, [1])
    p.set_mempolicy(MPOL_DEFAULT)
    assert p.task.mempolicy is None
    assert p.get_mempolicy() == (MPOL_DEFAULT, frozenset())


def test_nodes_without_memory_or_beyond_the_machine_are_dropped(m: Machine) -> None:
    p = m.spawn()
    p.set_mempolicy(MPOL_BIND, [0, 5, 63])
    assert p.get_mempolicy() == (MPOL_BIND, frozenset({0}))
    expect_errno(errno.EINVAL, p.set_mempolicy, MPOL_BIND, [5])
    expect_errno(errno.EINVAL, p.set_mempolicy, MPOL_PREFERRED, [7])
    assert p.get_mempolicy() == (MPOL_BIND, frozenset({0}))


def test_static_nodes_report_the_users_mask(m: Machine) -> None:
    p = m.spawn()
    p.set_mempolicy(MPOL_BIND | MPOL_F_STATIC_NODES, [1, 5])
    assert p.get_mempolicy() == (MPOL_BIND | MPOL_F_STATIC_NODES, frozenset({1, 5}))
    pol = p.task.mempolicy
    assert pol is not None and pol.nodes == frozenset({1})


def test_relative_nodes_are_folded_onto_the_allowed_nodes(m: Machine) -> None:
    p = m.spawn()
    attach_cpuset(m, p, {1})
    p.set_mempolicy(MPOL_INTERLEAVE | MPOL_F_RELATIVE_NODES, [0])
    pol = p.task.mempolicy
    assert pol is not None and pol.nodes == frozenset({1})  # bit 0: the first allowed node
    assert p.get_mempolicy() == (MPOL_INTERLEAVE | MPOL_F_RELATIVE_NODES, frozenset({0}))
    a = p.mmap(2 * PS)
    touch_all(p, a, 2)
    assert nodes_of(p, a, 2) == [1, 1]


def test_fork_inherits_the_policy(m: Machine) -> None:
    p = m.spawn()
    p.set_mempolicy(MPOL_INTERLEAVE, [0, 1])
    c = p.fork()
    assert c.get_mempolicy() == (MPOL_INTERLEAVE, frozenset({0, 1}))
    assert c.task.mempolicy is not p.task.mempolicy
    c.set_mempolicy(MPOL_BIND, [1])
    assert p.get_mempolicy() == (MPOL_INTERLEAVE, frozenset({0, 1}))


# --- set_mempolicy errors -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [MPOL_MAX, 5, 17, -1, 1 << 16])
def test_invalid_mode_is_einval(m: Machine, mode: int) -> None:
    p = m.spawn()
    expect_errno(errno.EINVAL, p.set_mempolicy, mode, [0])
    assert p.task.mempolicy is None


@pytest.mark.parametrize(("mode", "nodes"), [
    (MPOL_BIND, []),
    (MPOL_INTERLEAVE, []),
    (MPOL_DEFAULT, [0]),
    (MPOL_BIND | MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES, [0]),
    (MPOL_PREFERRED | MPOL_F_STATIC_NODES, []),
    (MPOL_PREFERRED | MPOL_F_RELATIVE_NODES, []),
])
def test_bad_mode_and_mask_combinations_are_einval(m: Machine, mode: int, nodes: list[int]) -> None:
    p = m.spawn()
    p.set_mempolicy(MPOL_PREFERRED, [1])
    expect_errno(errno.EINVAL, p.set_mempolicy, mode, nodes)
    assert p.get_mempolicy() == (MPOL_PREFERRED, frozenset({1})), "a failed call changes nothing"


def test_maxnode_counts_one_more_than_the_bits_read(m: Machine) -> None:
    p = m.spawn()
    # get_nodes reads maxnode - 1 bits: with maxnode 2 only node 0's bit is read.
    expect_errno(errno.EINVAL, p.set_mempolicy, MPOL_BIND, [1], maxnode=2)
    p.set_mempolicy(MPOL_BIND, [1], maxnode=3)
    assert p.get_mempolicy() == (MPOL_BIND, frozenset({1}))
    p.set_mempolicy(MPOL_BIND, [0, 1], maxnode=2)
    assert p.get_mempolicy() == (MPOL_BIND, frozenset({0}))


def test_the_policy_is_restricted_to_the_cpuset(m: Machine) -> None:
    p = m.spawn()
    attach_cpuset(m, p, {1})
    expect_errno(errno.EINVAL, p.set_mempolicy, MPOL_BIND, [0])
    p.set_mempolicy(MPOL_BIND, [0, 1])
    assert p.get_mempolicy() == (MPOL_BIND, frozenset({1}))


# --- get_mempolicy flags ---------------------------------------------------------------------------


def test_mems_allowed_returns_the_cpuset_nodes(m: Machine) -> None:
    p = m.spawn()
    p.set_mempolicy(MPOL_BIND, [0])
    assert p.get_mempolicy(flags=MPOL_F_MEMS_ALLOWED) == (0, frozenset({0, 1}))
    attach_cpuset(m, p, {1})
    assert p.get_mempolicy(flags=MPOL_F_MEMS_ALLOWED) == (0, frozenset({1}))


@pytest.mark.parametrize("flags", [MPOL_F_MEMS_ALLOWED | MPOL_F_NODE, MPOL_F_MEMS_ALLOWED | MPOL_F_ADDR,
                                   1 << 3, 1 << 8])
def test_bad_flag_combinations_are_einval(m: Machine, flags: int) -> None:
    p = m.spawn()
    a = p.mmap(PS)
    expect_errno(errno.EINVAL, p.get_mempolicy, a if flags & MPOL_F_ADDR else None, flags)


def test_an_address_without_mpol_f_addr_is_einval(m: Machine) -> None:
    # Process.get_mempolicy adds MPOL_F_ADDR to an address (pagemig.argcheck), so
    # the kernel's own check is reached through do_get_mempolicy.
    p = m.spawn()
    a = p.mmap(PS)
    with p.running() as task:
        assert do_get_mempolicy(task, a, 0)[0] == -errno.EINVAL
        assert do_get_mempolicy(task, a, MPOL_F_NODE)[0] == -errno.EINVAL


def test_mpol_f_addr_of_an_unmapped_address_is_efault(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PS, addr=0x10000000, fixed=True)
    expect_errno(errno.EFAULT, p.get_mempolicy, a + PS, MPOL_F_ADDR)
    expect_errno(errno.EFAULT, p.get_mempolicy, a - PS, MPOL_F_ADDR | MPOL_F_NODE)


def test_mpol_f_addr_returns_the_vma_policy_not_the_tasks(m: Machine) -> None:
    p = m.spawn()
    p.set_mempolicy(MPOL_INTERLEAVE, [0, 1])
    a = p.mmap(4 * PS, addr=0x10000000, fixed=True)
    assert p.get_mempolicy(a, MPOL_F_ADDR) == (MPOL_DEFAULT, frozenset())
    p.mbind(a + PS, PS, MPOL_BIND, [1])
    assert p.get_mempolicy(a + PS, MPOL_F_ADDR) == (MPOL_BIND, frozenset({1}))
    assert p.get_mempolicy(a + 2 * PS, MPOL_F_ADDR) == (MPOL_DEFAULT, frozenset())
    assert p.get_mempolicy() == (MPOL_INTERLEAVE, frozenset({0, 1}))


def test_mpol_f_node_with_mpol_f_addr_faults_the_page_in(m: Machine) -> None:
    p = m.spawn(cpu=1)
    a = p.mmap(2 * PS)
    p.write(a, b"x")
    assert p.get_mempolicy(a + 123, MPOL_F_NODE | MPOL_F_ADDR) == (1, frozenset())
    # An untouched page is faulted in for reading: that maps the zero page,
    # whose node (0) is what 2.6.35 reports.
    assert p.mm.ptes.get((a + PS) // PS, 0) == 0
    assert p.get_mempolicy(a + PS, MPOL_F_NODE | MPOL_F_ADDR) == (0, frozenset())
    pte = p.mm.ptes[(a + PS) // PS]
    assert pte_present(pte) and pte_pfn(pte) == m.zero_page.pfn
    m.check()


def test_mpol_f_node_of_a_prot_none_mapping_is_efault(m: Machine) -> None:
    p = m.spawn()
    a = p.mmap(PS, prot=PROT_NONE)
    expect_errno(errno.EFAULT, p.get_mempolicy, a, MPOL_F_NODE | MPOL_F_ADDR)


def test_mpol_f_node_of_a_pfn_map_is_efault(m: Machine) -> None:
    p = m.spawn()
    d = p.mmap_device(PS)
    expect_errno(errno.EFAULT, p.get_mempolicy, d, MPOL_F_NODE | MPOL_F_ADDR)
    assert p.get_mempolicy(d, MPOL_F_ADDR) == (MPOL_DEFAULT, frozenset())


def test_mpol_f_node_alone_returns_the_next_interleave_node(m: Machine) -> None:
    p = m.spawn(cpu=0)
    expect_errno(errno.EINVAL, p.get_mempolicy, None, MPOL_F_NODE)
    p.set_mempolicy(MPOL_BIND, [0, 1])
    expect_errno(errno.EINVAL, p.get_mempolicy, None, MPOL_F_NODE)
    p.set_mempolicy(MPOL_INTERLEAVE, [0, 1])
    assert p.get_mempolicy(flags=MPOL_F_NODE) == (0, frozenset({0, 1}))
    # Page-cache pages are allocated by the task policy (alloc_pages_current),
    # which for interleave takes il_next and advances it.
    f = m.create_file("/data", size=3 * PS, fs="ext2")
    a = p.mmap(3 * PS, file=f)
    p.read(a, 1)
    assert p.node_of(a) == 0
    assert p.get_mempolicy(flags=MPOL_F_NODE) == (1, frozenset({0, 1}))
    p.read(a + PS, 1)
    p.read(a + 2 * PS, 1)
    assert nodes_of(p, a, 3) == [0, 1, 0]
    assert p.get_mempolicy(flags=MPOL_F_NODE) == (1, frozenset({0, 1}))
    m.check()


def test_sys_get_mempolicy_checks_maxnode_and_zero_fills_the_mask(m: Machine) -> None:
    p = m.spawn()
    p.set_mempolicy(MPOL_INTERLEAVE, [0, 1])
    buf = p.mmap(PS)
    p.write(buf, b"\xff" * 64)
    with p.running() as task:
        # A mask shorter than MAX_NUMNODES bits is refused before anything is written.
        assert sys_get_mempolicy(task, buf, buf + 8, MAX_NUMNODES - 1, 0, 0) == -errno.EINVAL
        assert sys_get_mempolicy(task, buf, buf + 8, 129, 0, 0) == 0
        # No mask pointer: maxnode does not matter.
        assert sys_get_mempolicy(task, buf + 40, 0, 0, 0, 0) == 0
    raw = p.read(buf, 48)
    assert int.from_bytes(raw[:4], "little") == MPOL_INTERLEAVE
    assert raw[4:8] == b"\xff" * 4  # only an int was stored
    assert int.from_bytes(raw[8:16], "little") == 0b11
    assert raw[16:24] == bytes(8), "the words beyond MAX_NUMNODES are cleared"
    assert raw[24:40] == b"\xff" * 16  # 128 bits: nothing past the second word
    assert int.from_bytes(raw[40:44], "little") == MPOL_INTERLEAVE
    m.check()


# --- where pages go ----------------------------------------------------------------------------------


def test_bind_places_pages_on_the_bound_node(m: Machine) -> None:
    p = m.spawn(cpu=0)
    p.set_mempolicy(MPOL_BIND, [1])
    a = p.mmap(4 * PS)
    touch_all(p, a, 4)
    assert nodes_of(p, a, 4) == [1, 1, 1, 1]
    m.check()


def test_bind_never_falls_back_outside_its_nodes() -> None:
    m = Machine(nodes=2, node_memory="1MiB", cpus=2)
    p = m.spawn(cpu=0)
    held = []
    while nid_free_pages(m.nodes[1]):
        held.append(alloc(m, 1))
    free0 = nid_free_pages(m.nodes[0])
    p.set_mempolicy(MPOL_BIND, [1])
    a = p.mmap(PS)
    with pytest.raises(OSError) as exc:
        p.write(a, b"x")
    assert exc.value.errno == errno.ENOMEM  # the model's stand-in for the OOM killer
    assert nid_free_pages(m.nodes[0]) == free0
    assert p.node_of(a) is None
    for page in held:
        release(m, page)
    p.write(a, b"x")
    assert p.node_of(a) == 1
    m.check()


@pytest.mark.parametrize(("nr_nodes", "nodes"), [(2, [0, 1]), (3, [0, 2]), (3, [0, 1, 2])])
def test_interleave_spreads_anonymous_pages_by_offset(nr_nodes: int, nodes: list[int]) -> None:
    m = Machine(nodes=nr_nodes, node_memory="8MiB", cpus=nr_nodes)
    p = m.spawn(cpu=nr_nodes - 1)
    p.set_mempolicy(MPOL_INTERLEAVE, nodes)
    a = p.mmap(7 * PS)
    hits = sum(z.vm_stat[ZoneStatItem.NUMA_INTERLEAVE_HIT] for z in m.zones())
    for i in (3, 0, 6, 1, 5, 2, 4):  # the order of the faults does not matter
        p.touch(a + i * PS)
    # An anonymous private VMA's pgoff is its address >> PAGE_SHIFT, so the
    # page at virtual page number v goes to the (v mod n)-th node of the mask.
    expected = [nodes[(a // PS + i) % len(nodes)] for i in range(7)]
    assert nodes_of(p, a, 7) == expected
    assert sum(z.vm_stat[ZoneStatItem.NUMA_INTERLEAVE_HIT] for z in m.zones()) == hits + 7
    assert p.get_mempolicy(flags=MPOL_F_NODE)[0] == nodes[0], "offset interleave leaves il_next"
    m.check()


def test_preferred_prefers_and_falls_back_when_full() -> None:
    m = Machine(nodes=2, node_memory="1MiB", cpus=2)
    p = m.spawn(cpu=0)
    p.set_mempolicy(MPOL_PREFERRED, [1])
    a = p.mmap(2 * PS)
    p.touch(a)
    assert p.node_of(a) == 1
    held = []
    while nid_free_pages(m.nodes[1]):
        held.append(alloc(m, 1))
    p.touch(a + PS)
    assert p.node_of(a + PS) == 0
    for page in held:
        release(m, page)
    m.check()


def test_preferred_local_allocates_on_the_cpus_node(m: Machine) -> None:
    p = m.spawn(cpu=1)
    p.set_mempolicy(MPOL_PREFERRED, [])
    a = p.mmap(PS)
    p.touch(a)
    assert p.node_of(a) == 1


def test_a_vma_policy_overrides_the_task_policy(m: Machine) -> None:
    p = m.spawn(cpu=0)
    p.set_mempolicy(MPOL_BIND, [0])
    a = p.mmap(2 * PS, addr=0x10000000, fixed=True)
    p.mbind(a + PS, PS, MPOL_BIND, [1])
    touch_all(p, a, 2)
    assert nodes_of(p, a, 2) == [0, 1]
    m.check()


def test_the_childs_pages_follow_the_inherited_policy(m: Machine) -> None:
    p = m.spawn(cpu=0)
    p.set_mempolicy(MPOL_BIND, [1])
    a = p.mmap(PS)
    c = p.fork()
    c.write(a, b"child")
    assert c.node_of(a) == 1


# --- get_nodes ------------------------------------------------------------------------------------


def words(*values: int | None) -> Callable[[int], int | None]:
    """A user array of unsigned longs; None marks an unreadable word, and
    reading past the given words is a fault too."""
    def read_long(k: int) -> int | None:
        return values[k] if k < len(values) else None
    return read_long


def test_get_nodes_reads_maxnode_minus_one_bits() -> None:
    assert get_nodes(words(0b11), 65) == (0, frozenset({0, 1}))
    assert get_nodes(words(0b111), 3) == (0, frozenset({0, 1}))  # bit 2 is past the mask
    assert get_nodes(words(1 << 63), 65) == (0, frozenset({63}))
    assert get_nodes(words(1 << 63), 64) == (0, frozenset())


def test_get_nodes_empty_masks() -> None:
    assert get_nodes(None, 65) == (0, frozenset())  # NULL pointer
    assert get_nodes(words(0b1), 1) == (0, frozenset())  # zero bits
    assert get_nodes(words(), 1) == (0, frozenset()), "nothing is read for zero bits"


def test_get_nodes_maxnode_zero_with_a_mask_is_einval() -> None:
    # --maxnode wraps around to ULONG_MAX, far more than PAGE_SIZE * 8 bits.
    assert get_nodes(words(0b1), 0)[0] == -errno.EINVAL


def test_get_nodes_at_most_a_page_of_bits() -> None:
    limit = PAGE_SIZE * 8
    zeros = words(*([0] * (limit // 64)))
    assert get_nodes(zeros, limit + 1) == (0, frozenset())
    assert get_nodes(zeros, limit + 2)[0] == -errno.EINVAL


def test_get_nodes_bits_beyond_max_numnodes_must_be_zero() -> None:
    assert MAX_NUMNODES == 64
    assert get_nodes(words(0b1, 0), 129) == (0, frozenset({0}))
    assert get_nodes(words(0b1, 1 << 5), 129)[0] == -errno.EINVAL
    assert get_nodes(words(0b1, 0, 0, 1 << 63), 257)[0] == -errno.EINVAL
    # In the last word only the bits below maxnode - 1 are looked at.
    assert get_nodes(words(0b1, 0b10), 66) == (0, frozenset({0}))
    assert get_nodes(words(0b1, 0b01), 66)[0] == -errno.EINVAL


def test_get_nodes_unreadable_mask_is_efault() -> None:
    assert get_nodes(words(None), 65)[0] == -errno.EFAULT
    assert get_nodes(words(0b1), 129)[0] == -errno.EFAULT  # the second word faults
    assert get_nodes(words(0b1, None), 129)[0] == -errno.EFAULT
    assert get_nodes(words(None, 0), 129)[0] == -errno.EFAULT


def test_set_mempolicy_with_an_unreadable_mask_is_efault(m: Machine) -> None:
    from pagemig.mm.syscalls import sys_set_mempolicy

    p = m.spawn()
    with p.running() as task:
        assert sys_set_mempolicy(task, MPOL_BIND, 0x10000000, 65) == -errno.EFAULT
        buf = p.mmap(PS)
        p.write(buf, (0b10).to_bytes(8, "little"))
        assert sys_set_mempolicy(task, MPOL_BIND, buf, 65) == 0
    assert p.get_mempolicy() == (MPOL_BIND, frozenset({1}))
