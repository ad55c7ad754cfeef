"""pagemig.real against the running Linux kernel, on pages of this test process.

Each system call is probed once; a test skips when the kernel lacks it
(ENOSYS: no CONFIG_NUMA, or not Linux) or a sandbox forbids it (EPERM: a
seccomp profile such as Docker's default). The host these were written on
has one NUMA node, so "moving" is to node 0 and other nodes do not exist.
Where kernels differ, the comment gives what each answered:
Linux 6.18 (this host), 6.1 (shared/tools/kernel-oracle) and 2.6.35 (the spec).
"""

from __future__ import annotations

import ctypes
import errno
import json
import mmap
import os
import sys
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from pagemig.real import (
    MPOL_BIND,
    MPOL_DEFAULT,
    MPOL_F_MEMS_ALLOWED,
    MPOL_MF_MOVE,
    MPOL_MF_MOVE_ALL,
    MPOL_MF_STRICT,
    MovePagesResult,
    RecordingSysIO,
    SysCall,
    SysIO,
    format_numa_maps,
    get_mempolicy,
    parse_numa_maps,
    read_topology,
    read_vmstat,
    set_mempolicy,
    this_process,
)
from pagemig.real.nodemask import parse_nodelist

PAGE = mmap.PAGESIZE
ON_LINUX = sys.platform.startswith("linux")


def _probe(call: Callable[[SysIO], int]) -> str | None:
    """Why the live tests of one system call cannot run here, or None."""
    if not ON_LINUX:
        return "not Linux"
    rc = call(SysIO())
    if rc in (-errno.ENOSYS, -errno.EPERM):
        return f"{errno.errorcode[-rc]}: no NUMA system calls here (kernel config or sandbox)"
    return None


# Harmless calls: zero pages, an empty range, a query; migrate_pages with no
# nodes answers EINVAL (empty new mask) once it is allowed to run at all.
UNAVAILABLE = {
    "move_pages": _probe(lambda io: io.move_pages(0, 0, np.zeros(0, dtype=np.uint64), None,
                                                  np.zeros(0, dtype=np.int32), 0)),
    "migrate_pages": _probe(lambda io: io.migrate_pages(0, 0, None, None)),
    "mbind": _probe(lambda io: io.mbind(0, 0, MPOL_DEFAULT, None, 0, 0)),
    "get_mempolicy": _probe(lambda io: io.get_mempolicy(None, None, 0, 0, 0)),
}
NO_SYSFS = not os.path.isdir("/sys/devices/system/node")
NO_NUMA_MAPS = not os.path.exists("/proc/self/numa_maps")


def needs(name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(UNAVAILABLE[name] is not None, reason=f"{name}: {UNAVAILABLE[name]}")


def possible_nodes() -> list[int]:
    with open("/sys/devices/system/node/possible") as file:
        return parse_nodelist(file.read())


def memory_nodes() -> list[int]:
    with open("/sys/devices/system/node/has_memory") as file:
        return parse_nodelist(file.read())


def missing_nodes() -> list[int]:
    """Node ids the kernel cannot have: past the possible ones, and MAX_NUMNODES of any config."""
    possible = possible_nodes()
    return sorted({max(possible) + 1, *(n for n in (1, 63) if n not in possible), 1024})


def buffer_address(buffer: mmap.mmap) -> int:
    view = (ctypes.c_char * len(buffer)).from_buffer(buffer)
    address = ctypes.addressof(view)
    del view  # a live export would keep the mapping from closing
    return address


@pytest.fixture
def private_buffer() -> Iterator[tuple[mmap.mmap, int]]:
    """Eight pages of private anonymous memory, the kind a heap is made of (too small for a THP)."""
    buffer = mmap.mmap(-1, 8 * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    yield buffer, buffer_address(buffer)
    buffer.close()


@pytest.fixture
def shared_buffer() -> Iterator[tuple[mmap.mmap, int]]:
    """Four pages of shared anonymous memory (shmem: numa_maps shows file=/dev/zero (deleted))."""
    buffer = mmap.mmap(-1, 4 * PAGE)
    yield buffer, buffer_address(buffer)
    buffer.close()


def touch(buffer: mmap.mmap, *pages: int) -> None:
    for page in pages:
        buffer[page * PAGE] = 0x5A


# --- move_pages --------------------------------------------------------------------------------

@needs("move_pages")
def test_query_of_touched_pages_says_node_0(private_buffer: tuple[mmap.mmap, int]) -> None:
    buffer, addr = private_buffer
    touch(buffer, 0, 1, 2)
    result = this_process().move_pages(0, [addr, addr + PAGE + 123, addr + 2 * PAGE])
    # Any address inside a page designates it. First touch puts a page on a node with
    # memory; on this one-node host that is node 0 for all three.
    assert result.ret == 0
    assert len(set(result.status)) == 1 and result.status[0] in memory_nodes()


@needs("move_pages")
def test_move_to_node_0_and_query_again(private_buffer: tuple[mmap.mmap, int]) -> None:
    buffer, addr = private_buffer
    touch(buffer, 0, 1)
    me = this_process()
    # Already on node 0: the kernel reports the node and moves nothing.
    assert me.move_pages(0, [addr, addr + PAGE], [0, 0], MPOL_MF_MOVE) == MovePagesResult([0, 0], 0)
    assert me.move_pages(0, np.array([addr, addr + PAGE], dtype=np.uint64)).status == [0, 0]
    assert bytes(buffer[0:1]) == b"\x5a"


@needs("move_pages")
def test_move_to_a_missing_node_fails_the_whole_call(private_buffer: tuple[mmap.mmap, int]) -> None:
    buffer, addr = private_buffer
    touch(buffer, 0)
    for node in [-1, *missing_nodes()]:
        with pytest.raises(OSError) as info:
            this_process().move_pages(0, [addr], [node])
        assert info.value.errno == errno.ENODEV, node
        assert info.value.result.status == [None], node  # type: ignore[attr-defined]


@needs("move_pages")
def test_pages_before_a_bad_node_keep_their_status(private_buffer: tuple[mmap.mmap, int]) -> None:
    buffer, addr = private_buffer
    touch(buffer, 0, 1)
    with pytest.raises(OSError) as info:
        this_process().move_pages(0, [addr, addr + PAGE], [0, missing_nodes()[0]])
    assert info.value.errno == errno.ENODEV
    partial = info.value.result  # type: ignore[attr-defined]
    # 6.18 and 6.1: the entry before the bad node is done and written ([0, None]);
    # 2.6.35 checks the whole chunk first and writes nothing ([None, None]).
    assert partial.status in ([0, None], [None, None])


@needs("move_pages")
def test_untouched_and_zero_pages(private_buffer: tuple[mmap.mmap, int],
                                  shared_buffer: tuple[mmap.mmap, int]) -> None:
    buffer, addr = private_buffer
    touch(buffer, 0)
    assert buffer[2 * PAGE] == 0  # a read fault maps the shared zero page
    _, shared_addr = shared_buffer
    status = this_process().move_pages(0, [addr, addr + PAGE, addr + 2 * PAGE, shared_addr]).status
    assert status[0] == 0
    # Never-touched private anonymous page: -ENOENT on 6.18 and 2.6.35, -EFAULT on 6.1 (FOLL_DUMP).
    assert status[1] in (-errno.ENOENT, -errno.EFAULT)
    # Zero page: -EFAULT on 6.18 and 6.1, -ENOENT on 2.6.35 (PageReserved).
    assert status[2] in (-errno.EFAULT, -errno.ENOENT)
    # Never-touched shmem page: -ENOENT on 6.18, 6.1 and 2.6.35.
    assert status[3] == -errno.ENOENT


@needs("move_pages")
def test_untouched_pages_in_move_mode(private_buffer: tuple[mmap.mmap, int]) -> None:
    buffer, addr = private_buffer
    assert buffer[PAGE] == 0
    result = this_process().move_pages(0, [addr, addr + PAGE], [0, 0])
    # 6.18: [-ENOENT, -EFAULT] (untouched, zero page); the call itself succeeds.
    assert result.ret == 0
    assert all(code in (-errno.ENOENT, -errno.EFAULT) for code in result.status)


@needs("move_pages")
def test_unmapped_address_is_efault_in_its_status(private_buffer: tuple[mmap.mmap, int]) -> None:
    buffer, addr = private_buffer
    touch(buffer, 0, 2)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    assert libc.munmap(addr + PAGE, PAGE) == 0  # a one-page hole nothing else can fill
    result = this_process().move_pages(0, [addr, addr + PAGE, addr + 2 * PAGE])
    assert result == MovePagesResult([0, -errno.EFAULT, 0], 0)
    result = this_process().move_pages(0, [addr + PAGE], [0])
    assert result == MovePagesResult([-errno.EFAULT], 0)


@needs("move_pages")
@pytest.mark.parametrize("flags", [0xFF, MPOL_MF_STRICT])
def test_bad_flags_are_einval(private_buffer: tuple[mmap.mmap, int], flags: int) -> None:
    _, addr = private_buffer
    with pytest.raises(OSError) as info:
        this_process().move_pages(0, [addr], None, flags)
    assert info.value.errno == errno.EINVAL


@needs("move_pages")
def test_pid_that_cannot_exist_is_esrch(private_buffer: tuple[mmap.mmap, int]) -> None:
    _, addr = private_buffer
    with open("/proc/sys/kernel/pid_max") as file:
        pid_max = int(file.read())  # pids are allocated below pid_max
    with pytest.raises(ProcessLookupError) as info:
        this_process().move_pages(pid_max, [addr])
    assert info.value.errno == errno.ESRCH


@needs("move_pages")
@pytest.mark.skipif(ON_LINUX and os.geteuid() != 0, reason="MPOL_MF_MOVE_ALL needs CAP_SYS_NICE")
def test_move_all_as_root(private_buffer: tuple[mmap.mmap, int]) -> None:
    buffer, addr = private_buffer
    touch(buffer, 0)
    assert this_process().move_pages(0, [addr], [0], MPOL_MF_MOVE | MPOL_MF_MOVE_ALL).status == [0]


@needs("move_pages")
def test_a_live_session_replays_without_the_kernel(private_buffer: tuple[mmap.mmap, int]) -> None:
    buffer, addr = private_buffer
    touch(buffer, 0)
    recorder = RecordingSysIO(backend=SysIO())
    live = this_process(recorder).move_pages(0, [addr, addr + PAGE])
    saved = json.loads(json.dumps([call.to_json() for call in recorder.calls]))
    assert saved[0]["args"]["pages"] == [addr, addr + PAGE]
    replay = RecordingSysIO.replaying(SysCall.from_json(data) for data in saved)
    assert this_process(replay).move_pages(0, [addr, addr + PAGE]) == live


# --- migrate_pages, get/set_mempolicy, mbind -----------------------------------------------

@needs("migrate_pages")
def test_migrate_pages_of_self_from_0_to_0_moves_nothing() -> None:
    assert this_process().migrate_pages(0, [0], [0]) == 0


@needs("migrate_pages")
def test_migrate_pages_to_a_missing_node_is_einval() -> None:
    # The new mask is cut to the caller's cpuset mems; empty is EINVAL (6.18 and 6.1).
    with pytest.raises(OSError) as info:
        this_process().migrate_pages(0, [0], [missing_nodes()[0]])
    assert info.value.errno == errno.EINVAL


@needs("get_mempolicy")
def test_default_policy_and_allowed_nodes() -> None:
    assert get_mempolicy() == (MPOL_DEFAULT, frozenset())
    _, allowed = get_mempolicy(flags=MPOL_F_MEMS_ALLOWED)
    assert 0 in allowed and allowed <= set(possible_nodes())


@needs("get_mempolicy")
def test_set_mempolicy_bind_then_back_to_default() -> None:
    try:
        set_mempolicy(MPOL_BIND, [0])
        assert get_mempolicy() == (MPOL_BIND, frozenset({0}))
    finally:
        set_mempolicy(MPOL_DEFAULT)
    assert get_mempolicy() == (MPOL_DEFAULT, frozenset())


@needs("get_mempolicy")
def test_set_mempolicy_to_a_missing_node_is_einval() -> None:
    with pytest.raises(OSError) as info:
        set_mempolicy(MPOL_BIND, [missing_nodes()[0]])
    assert info.value.errno == errno.EINVAL
    assert get_mempolicy() == (MPOL_DEFAULT, frozenset())


@needs("mbind")
@needs("get_mempolicy")
@pytest.mark.skipif(NO_NUMA_MAPS, reason="no /proc/self/numa_maps")
def test_mbind_sets_the_vma_policy(private_buffer: tuple[mmap.mmap, int]) -> None:
    buffer, addr = private_buffer
    touch(buffer, 0, 1)
    me = this_process()
    me.mbind(addr, 2 * PAGE, MPOL_BIND, [0], MPOL_MF_MOVE | MPOL_MF_STRICT)
    assert me.get_mempolicy(addr) == (MPOL_BIND, frozenset({0}))
    assert me.get_mempolicy(addr + 2 * PAGE) == (MPOL_DEFAULT, frozenset())
    # The VMA is split at the range: its own numa_maps line, with the policy.
    (entry,) = [entry for entry in me.numa_maps() if entry.address == addr]
    assert entry.policy == "bind:0" and entry.nodes == {0: 2} and entry.anon == 2


@needs("mbind")
def test_mbind_of_an_unaligned_address_is_einval(private_buffer: tuple[mmap.mmap, int]) -> None:
    _, addr = private_buffer
    with pytest.raises(OSError) as info:
        this_process().mbind(addr + 1, PAGE, MPOL_BIND, [0])
    assert info.value.errno == errno.EINVAL


# --- /proc and /sys -----------------------------------------------------------------------------

@pytest.mark.skipif(NO_NUMA_MAPS, reason="no /proc/self/numa_maps")
def test_numa_maps_of_this_process(shared_buffer: tuple[mmap.mmap, int]) -> None:
    buffer, addr = shared_buffer
    touch(buffer, 0, 1)
    entries = {entry.address: entry for entry in this_process().numa_maps()}
    entry = entries[addr]
    assert entry.path == "/dev/zero (deleted)" and entry.file == "/dev/zero\\040(deleted)"
    assert entry.pages == 2 and entry.dirty == 2 and entry.kernelpagesize_kB == PAGE // 1024
    assert any(entry.stack for entry in entries.values())
    with open("/proc/self/numa_maps", encoding="utf-8", errors="surrogateescape") as file:
        text = file.read()
    assert format_numa_maps(parse_numa_maps(text)) == text


@pytest.mark.skipif(NO_SYSFS, reason="no /sys/devices/system/node (CONFIG_NUMA off)")
def test_topology_of_this_machine() -> None:
    topology = read_topology()
    with open("/sys/devices/system/node/online") as file:
        assert topology.online == parse_nodelist(file.read())
    assert 0 in topology.online and set(topology.online) <= set(topology.possible)
    assert set(topology.has_memory) <= set(topology.online)
    for nid in topology.has_memory:
        assert topology.distance(nid, nid) == 10
        assert topology.nodes[nid].meminfo["MemTotal"] > 0
    with open("/sys/devices/system/cpu/online") as file:
        online_cpus = parse_nodelist(file.read())  # CPU lists use the same format
    assert sorted(cpu for nid in topology.online for cpu in topology.nodes[nid].cpus) == online_cpus


@pytest.mark.skipif(not os.path.exists("/proc/vmstat"), reason="no /proc/vmstat")
def test_vmstat_of_this_machine() -> None:
    counters = read_vmstat()
    assert counters["nr_free_pages"] > 0
    assert "pgmigrate_success" in counters or "numa_hit" in counters
