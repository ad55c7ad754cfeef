"""pagemig.real without a kernel: the exact system calls built, canned replies, and the
/proc and /sys readers, all through RecordingSysIO."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest

from pagemig.procfs import ProcParseError
from pagemig.real import (
    MAXNODE,
    MPOL_BIND,
    MPOL_DEFAULT,
    MPOL_F_ADDR,
    MPOL_F_NODE,
    MPOL_F_STATIC_NODES,
    MPOL_INTERLEAVE,
    MPOL_LOCAL,
    MPOL_MF_MOVE,
    MPOL_MF_MOVE_ALL,
    MPOL_MF_STRICT,
    MPOL_PREFERRED,
    MPOL_PREFERRED_MANY,
    MPOL_WEIGHTED_INTERLEAVE,
    MovePagesResult,
    NumaMapsEntry,
    Process,
    RecordingSysIO,
    Reply,
    SysCall,
    SysIO,
    Topology,
    format_nodelist,
    format_numa_maps,
    get_mempolicy,
    mbind,
    migrate_pages,
    move_pages,
    parse_nodelist,
    parse_numa_maps,
    read_numa_maps,
    read_topology,
    read_vmstat,
    set_mempolicy,
    this_process,
)
from pagemig.real.nodemask import NODEMASK_LONGS, mask_to_nodes, nodes_to_mask
from pagemig.real.procfs import parse_policy
from pagemig.real.sysio import ReplayError, mask_words, syscall_numbers
from pagemig.results import STATUS_UNWRITTEN

A = 0x7F00_0000_0000
PAGE = 4096
EMPTY_MASK = [0] * NODEMASK_LONGS


def mask(*nodes: int) -> list[int]:
    return nodes_to_mask(nodes)


# --- move_pages ------------------------------------------------------------------------------

def test_query_mode_passes_null_nodes_and_returns_the_statuses() -> None:
    io = RecordingSysIO([Reply("move_pages", 0, {"status": [0, -errno.ENOENT]})])
    result = move_pages(0, [A, A + PAGE], sysio=io)
    assert result == MovePagesResult([0, -errno.ENOENT], 0)
    assert io.calls == [SysCall("move_pages",
                                {"pid": 0, "count": 2, "pages": [A, A + PAGE], "nodes": None,
                                 "status": 2, "flags": 0},
                                0, {"status": [0, -errno.ENOENT]})]


def test_move_mode_passes_nodes_flags_and_the_target_pid() -> None:
    io = RecordingSysIO([Reply("move_pages", 0, {"status": [1, 1, -errno.EACCES]})])
    result = this_process(io).move_pages(4242, [A, A + PAGE, A + 2 * PAGE], [1, 1, 1], MPOL_MF_MOVE)
    assert result.status == [1, 1, -errno.EACCES]
    call = io.calls[0]
    assert call.args == {"pid": 4242, "count": 3, "pages": [A, A + PAGE, A + 2 * PAGE],
                         "nodes": [1, 1, 1], "status": 3, "flags": MPOL_MF_MOVE}


def test_numpy_arrays_are_recorded_as_plain_ints() -> None:
    io = RecordingSysIO([Reply("move_pages", 0, {"status": [0, 0]})])
    pages = np.array([A, A + PAGE], dtype=np.uint64)
    this_process(io).move_pages(0, pages, np.array([0, 0], dtype=np.int32), MPOL_MF_MOVE_ALL)
    args = io.calls[0].args
    assert args["pages"] == [A, A + PAGE] and all(type(p) is int for p in args["pages"])
    assert args["nodes"] == [0, 0] and all(type(n) is int for n in args["nodes"])
    assert args["flags"] == MPOL_MF_MOVE_ALL


class _Capture:
    """A KernelIO that keeps the arrays move_pages was given and writes a status."""

    def __init__(self, answer: list[int | None]) -> None:
        self.answer = answer
        self.arrays: list[object] = []

    def move_pages(self, pid: int, count: int, pages: np.ndarray, nodes: np.ndarray | None,
                   status: np.ndarray, flags: int) -> int:
        self.arrays = [pages, nodes, status]
        for i, code in enumerate(self.answer):
            if code is not None:
                status[i] = code
        return 0


def test_arrays_of_the_kernel_types_reach_the_kernel_without_a_copy() -> None:
    capture = _Capture([0, None, -errno.ENOENT])
    pages = np.array([A, A + PAGE, A + 2 * PAGE], dtype=np.uint64)
    nodes = np.zeros(3, dtype=np.int32)
    result = move_pages(0, pages, nodes, MPOL_MF_MOVE, sysio=capture)  # type: ignore[arg-type]
    assert capture.arrays[0] is pages and capture.arrays[1] is nodes
    # The status buffer the kernel wrote is the result's array, read-only; the list form has None.
    assert np.shares_memory(result.status_array, capture.arrays[2])  # type: ignore[arg-type]
    assert result.status_array.dtype == np.int32 and not result.status_array.flags.writeable
    assert result.status_array.tolist() == [0, STATUS_UNWRITTEN, -errno.ENOENT]
    assert result.status == [0, None, -errno.ENOENT]


def test_other_integer_arrays_and_lists_are_converted_once() -> None:
    capture = _Capture([0])
    move_pages(0, np.array([A], dtype=np.int64), np.array([0], dtype=np.int8), sysio=capture)  # type: ignore[arg-type]
    pages, nodes, status = capture.arrays
    assert pages.dtype == np.uint64 and nodes.dtype == np.int32 and status.dtype == np.int32  # type: ignore[union-attr]
    move_pages(0, [A], [0], sysio=capture)  # type: ignore[arg-type]
    assert capture.arrays[0].dtype == np.uint64  # type: ignore[union-attr]


def test_positive_return_is_kept_and_unwritten_slots_are_none() -> None:
    # Kernels since 4.17: a migration failure returns the count and leaves the batch unwritten.
    io = RecordingSysIO([Reply("move_pages", 1, {"status": [None, None, 1]})])
    result = move_pages(0, [A, A + PAGE, A + 2 * PAGE], [1, 1, 1], sysio=io)
    assert result == MovePagesResult([None, None, 1], 1)


def test_whole_call_error_raises_oserror_with_the_partial_result() -> None:
    io = RecordingSysIO([Reply("move_pages", -errno.ENODEV, {"status": [0]})])
    with pytest.raises(OSError) as info:
        move_pages(0, [A, A + PAGE], [0, 1], sysio=io)
    assert info.value.errno == errno.ENODEV
    assert info.value.result == MovePagesResult([0, None], 0)  # type: ignore[attr-defined]


def test_whole_call_error_with_nothing_written_has_an_unwritten_result() -> None:
    io = RecordingSysIO([Reply("move_pages", -errno.ESRCH)])
    with pytest.raises(ProcessLookupError) as info:
        move_pages(99999, [A], sysio=io)
    assert info.value.result == MovePagesResult([None], 0)  # type: ignore[attr-defined]


def test_empty_call_still_reaches_the_kernel() -> None:
    io = RecordingSysIO([Reply("move_pages", 0)])
    assert move_pages(0, [], [], sysio=io) == MovePagesResult([], 0)
    assert io.calls[0].args["count"] == 0 and io.calls[0].args["nodes"] == []


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"pages": [A], "nodes": [0, 1]}, ValueError, "nodes has 2 entries, pages has 1"),
    ({"pages": [A], "nodes": [0], "flags": 2**32}, ValueError, "flags must be in"),
    ({"pages": [1.5]}, TypeError, r"pages\[0\] must be an int"),
    ({"pages": [True]}, TypeError, r"pages\[0\] must be an int, not a bool"),
    ({"pages": [-1]}, ValueError, r"pages\[0\] must be in"),
    ({"pages": [2**64]}, ValueError, r"pages\[0\] must be in"),
    ({"pages": "abc"}, TypeError, "pages must be a sequence of ints"),
    ({"pages": 5}, TypeError, "pages must be a sequence of ints"),
    ({"pages": np.zeros((2, 2), dtype=np.int64)}, ValueError, "pages must be one-dimensional"),
    ({"pages": np.zeros(2)}, TypeError, "pages must hold integers"),
    ({"pages": np.array([A, -1])}, ValueError, r"pages\[1\] must be in"),
    ({"pages": [A], "nodes": [2**31]}, ValueError, r"nodes\[0\] must be in"),
    ({"pages": [A], "flags": 1.0}, TypeError, "flags must be an int"),
    ({"pages": [A], "pid": 2**31}, ValueError, "pid must be in"),
    ({"pages": [A], "pid": "self"}, TypeError, "pid"),
])
def test_arguments_are_checked_before_any_call(kwargs: dict[str, object], error: type[Exception],
                                               match: str) -> None:
    io = RecordingSysIO()
    call = {"pid": 0, "nodes": None, "flags": 0, **kwargs}
    with pytest.raises(error, match=match):
        move_pages(call["pid"], call["pages"], call["nodes"], call["flags"], sysio=io)  # type: ignore[arg-type]
    assert io.calls == []


# --- migrate_pages, mbind, get/set_mempolicy ------------------------------------------------

def test_migrate_pages_builds_1024_bit_masks_with_maxnode_1025() -> None:
    io = RecordingSysIO([Reply("migrate_pages", 7)])
    assert this_process(io).migrate_pages(321, [0, 65], {1, 1023}) == 7
    old = EMPTY_MASK.copy()
    old[0], old[1] = 1, 2
    new = EMPTY_MASK.copy()
    new[0], new[15] = 2, 1 << 63
    assert io.calls == [SysCall("migrate_pages",
                                {"pid": 321, "maxnode": 1025, "old_nodes": old, "new_nodes": new}, 7)]


def test_migrate_pages_error_and_node_range() -> None:
    io = RecordingSysIO([Reply("migrate_pages", -errno.EINVAL)])
    with pytest.raises(OSError) as info:
        migrate_pages(0, [0], [0], sysio=io)
    assert info.value.errno == errno.EINVAL
    with pytest.raises(ValueError, match=r"new_nodes\[0\] must be in \[0, 1023\]"):
        migrate_pages(0, [0], [1024], sysio=io)
    with pytest.raises(TypeError, match="old_nodes"):
        migrate_pages(0, None, [0], sysio=io)  # type: ignore[arg-type]
    assert len(io.calls) == 1


def test_mbind_with_and_without_a_mask() -> None:
    io = RecordingSysIO([Reply("mbind", 0), Reply("mbind", 0)])
    me = this_process(io)
    me.mbind(A, 4 * PAGE, MPOL_BIND | MPOL_F_STATIC_NODES, [1], MPOL_MF_MOVE | MPOL_MF_STRICT)
    me.mbind(A, 4 * PAGE, MPOL_DEFAULT, None)
    assert [call.args for call in io.calls] == [
        {"addr": A, "length": 4 * PAGE, "mode": MPOL_BIND | MPOL_F_STATIC_NODES, "nodemask": mask(1),
         "maxnode": MAXNODE, "flags": MPOL_MF_MOVE | MPOL_MF_STRICT},
        {"addr": A, "length": 4 * PAGE, "mode": MPOL_DEFAULT, "nodemask": None, "maxnode": 0, "flags": 0},
    ]


def test_mbind_error_is_raised() -> None:
    io = RecordingSysIO([Reply("mbind", -errno.EIO)])
    with pytest.raises(OSError) as info:
        mbind(A, PAGE, MPOL_BIND, [0], MPOL_MF_STRICT, sysio=io)
    assert info.value.errno == errno.EIO


def test_set_mempolicy_arguments() -> None:
    io = RecordingSysIO([Reply("set_mempolicy", 0), Reply("set_mempolicy", -errno.EINVAL)])
    set_mempolicy(MPOL_INTERLEAVE, [0, 2], sysio=io)
    with pytest.raises(OSError) as info:
        set_mempolicy(MPOL_DEFAULT, [0], sysio=io)
    assert info.value.errno == errno.EINVAL
    assert io.calls[0].args == {"mode": MPOL_INTERLEAVE, "nodemask": mask(0, 2), "maxnode": MAXNODE}


def test_get_mempolicy_reads_mode_and_mask() -> None:
    io = RecordingSysIO([Reply("get_mempolicy", 0, {"mode": MPOL_BIND, "nodemask": mask(0, 3)}),
                         Reply("get_mempolicy", 0, {"mode": 1, "nodemask": []})])
    assert get_mempolicy(sysio=io) == (MPOL_BIND, frozenset({0, 3}))
    assert get_mempolicy(A, MPOL_F_NODE, sysio=io) == (1, frozenset())
    assert io.calls[0].args == {"mode_out": 1, "nodemask_out": NODEMASK_LONGS, "maxnode": MAXNODE,
                                "addr": 0, "flags": 0}
    assert io.calls[1].args["addr"] == A
    assert io.calls[1].args["flags"] == MPOL_F_NODE | MPOL_F_ADDR


def test_get_mempolicy_checks_addr_and_raises_errors() -> None:
    io = RecordingSysIO([Reply("get_mempolicy", -errno.EFAULT)])
    with pytest.raises(ValueError, match="addr: MPOL_F_ADDR"):
        get_mempolicy(None, MPOL_F_ADDR, sysio=io)
    with pytest.raises(OSError) as info:
        get_mempolicy(A, sysio=io)
    assert info.value.errno == errno.EFAULT
    assert io.calls[0].out == {}


def test_process_is_this_process() -> None:
    me = this_process(RecordingSysIO())
    assert isinstance(me, Process) and me.pid == os.getpid()
    assert repr(me) == f"<real.Process pid={os.getpid()}>"


def test_numa_maps_and_node_of_go_through_the_sysio() -> None:
    io = RecordingSysIO([Reply("read_text", "7f000000 default anon=1 N0=1\n"),
                         Reply("move_pages", 0, {"status": [-errno.ENOENT]}),
                         Reply("move_pages", 0, {"status": [1]})])
    me = this_process(io)
    assert [entry.nodes for entry in me.numa_maps(4242)] == [{0: 1}]
    assert me.node_of(A) is None and me.node_of(A + 5) == 1
    assert io.calls[0].args == {"path": "/proc/4242/numa_maps"}
    assert io.calls[2].args["pages"] == [A + 5] and io.calls[2].args["nodes"] is None


# --- RecordingSysIO ---------------------------------------------------------------------------

def test_replay_refuses_a_reply_for_another_call() -> None:
    io = RecordingSysIO([Reply("mbind", 0)])
    with pytest.raises(ReplayError, match="call #0 is move_pages, the next reply is for mbind"):
        move_pages(0, [A], sysio=io)


def test_replay_without_replies_or_backend_fails() -> None:
    io = RecordingSysIO()
    with pytest.raises(ReplayError, match="no reply left and no backend"):
        migrate_pages(0, [0], [1], sysio=io)


def test_pending_lists_unused_replies() -> None:
    io = RecordingSysIO([Reply("move_pages", 0, {"status": [0]}), Reply("mbind", 0)])
    move_pages(0, [A], sysio=io)
    assert io.pending == [Reply("mbind", 0)]


def test_recording_passes_calls_to_a_backend() -> None:
    inner = RecordingSysIO([Reply("move_pages", 0, {"status": [2]})])
    outer = RecordingSysIO(backend=inner)
    assert move_pages(0, [A], [2], sysio=outer).status == [2]
    assert outer.calls == inner.calls


def test_a_recorded_session_replays_to_the_same_calls() -> None:
    first = RecordingSysIO([Reply("move_pages", 0, {"status": [0, -errno.EFAULT]}),
                            Reply("get_mempolicy", 0, {"mode": MPOL_PREFERRED, "nodemask": mask(1)}),
                            Reply("read_text", "7f000000 default\n")])
    me = this_process(first)
    answers = (me.move_pages(0, [A, 0]), me.get_mempolicy(), me.numa_maps())
    saved = json.loads(json.dumps([call.to_json() for call in first.calls]))
    second = RecordingSysIO.replaying(SysCall.from_json(data) for data in saved)
    me = this_process(second)
    assert (me.move_pages(0, [A, 0]), me.get_mempolicy(), me.numa_maps()) == answers
    assert second.calls == first.calls


def test_failed_reads_replay_as_oserror() -> None:
    io = RecordingSysIO([Reply("read_text", -errno.ENOENT)])
    with pytest.raises(FileNotFoundError):
        read_numa_maps(4242, io)
    assert io.calls == [SysCall("read_text", {"path": "/proc/4242/numa_maps"}, -errno.ENOENT)]


def test_status_reply_longer_than_the_buffer_is_refused() -> None:
    io = RecordingSysIO([Reply("move_pages", 0, {"status": [0, 0]})])
    with pytest.raises(ValueError, match="status has 1 entries"):
        move_pages(0, [A], sysio=io)


# --- SysIO without touching the kernel --------------------------------------------------------

def test_syscall_numbers_per_architecture() -> None:
    assert syscall_numbers("x86_64") == {"mbind": 237, "set_mempolicy": 238, "get_mempolicy": 239,
                                         "migrate_pages": 256, "move_pages": 279}
    assert syscall_numbers("aarch64") == {"mbind": 235, "get_mempolicy": 236, "set_mempolicy": 237,
                                          "migrate_pages": 238, "move_pages": 239}
    assert syscall_numbers("sparc64") is None


def test_unknown_machine_answers_enosys() -> None:
    io = SysIO(machine="sparc64")
    status = np.zeros(1, dtype=np.int32)
    assert io.move_pages(0, 1, np.array([A], dtype=np.uint64), None, status, 0) == -errno.ENOSYS
    assert io.migrate_pages(0, MAXNODE, EMPTY_MASK, EMPTY_MASK) == -errno.ENOSYS
    assert io.get_mempolicy([0], None, 0, 0, 0) == -errno.ENOSYS
    with pytest.raises(OSError) as info:
        move_pages(0, [A], sysio=io)
    assert info.value.errno == errno.ENOSYS


def test_sysio_refuses_buffers_shorter_than_the_kernel_would_touch() -> None:
    io = SysIO(machine="sparc64")
    with pytest.raises(ValueError, match="status has 1 entries; the kernel would access 2"):
        io.move_pages(0, 2, np.array([A, A], dtype=np.uint64), np.zeros(2, dtype=np.int32),
                      np.zeros(1, dtype=np.int32), 0)
    with pytest.raises(TypeError, match="pages must be a C-contiguous one-dimensional uint64 array"):
        io.move_pages(0, 1, [A], None, np.zeros(1, dtype=np.int32), 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="status must be"):
        io.move_pages(0, 1, np.array([A], dtype=np.uint64), None, np.zeros(1, dtype=np.int64), 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="old_nodes has 1 entries; the kernel would access 16"):
        io.migrate_pages(0, MAXNODE, [0], EMPTY_MASK)
    with pytest.raises(ValueError, match="nodemask_out"):
        io.get_mempolicy([0], [0], 65 + 1, 0, 0)


@pytest.mark.parametrize(("maxnode", "words"), [(0, 0), (1, 0), (2, 1), (65, 1), (66, 2), (1025, 16)])
def test_mask_words_follows_get_nodes(maxnode: int, words: int) -> None:
    assert mask_words(maxnode) == words


def test_unwritten_sentinel_is_no_kernel_answer() -> None:
    assert STATUS_UNWRITTEN < -4095


# --- node masks and lists ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "nodes"), [
    ("", []), ("0\n", [0]), ("0-3,5", [0, 1, 2, 3, 5]), ("1,3-4,8-9", [1, 3, 4, 8, 9]),
])
def test_node_lists_round_trip(text: str, nodes: list[int]) -> None:
    assert parse_nodelist(text) == nodes
    assert format_nodelist(nodes) == text.strip()


@pytest.mark.parametrize("text", ["a", "1-", "3-1", "0,,1"])
def test_bad_node_lists_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="node list"):
        parse_nodelist(text)


def test_masks_round_trip() -> None:
    nodes = {0, 63, 64, 1023}
    words = nodes_to_mask(nodes)
    assert len(words) == NODEMASK_LONGS and words[0] == 1 | 1 << 63 and words[1] == 1
    assert mask_to_nodes(words) == nodes
    with pytest.raises(ValueError, match="1024"):
        nodes_to_mask([1024])


# --- /proc/PID/numa_maps ----------------------------------------------------------------------

NUMA_MAPS = """\
00400000 default file=/usr/bin/cat mapped=2 N0=2 kernelpagesize_kB=4
0060b000 default heap anon=4 dirty=4 active=0 N0=4 kernelpagesize_kB=4
7f12a000 default anon=3 dirty=3 active=0 N0=3 kernelpagesize_kB=4
7f12b000 bind:0-1 anon=6 dirty=6 N0=2 N1=4 kernelpagesize_kB=4
7f12c000 interleave:0,2 file=/tmp/a\\040b\\012c mapped=5 mapmax=3 swapcache=1 writeback=2 N0=3 N2=2 \
kernelpagesize_kB=4
7f12d000 prefer:1 anon=1 dirty=1 active=0 N1=1 kernelpagesize_kB=4
7f12e000 local
7f12f000 bind=static:1 huge anon=2 dirty=2 N1=2 kernelpagesize_kB=2048
7f130000 prefer (many):0-1 anon=1 dirty=1 N0=1 kernelpagesize_kB=4
7f131000 weighted interleave:0-1 file=/dev/zero\\040(deleted) dirty=1 active=0 N0=1 kernelpagesize_kB=4
7f132000 default stack:1234 anon=2 dirty=2 N0=2
7ffc6dd64000 default stack anon=16 dirty=16 active=1 N0=16 kernelpagesize_kB=4
"""


def test_numa_maps_round_trips_to_the_same_text() -> None:
    entries = parse_numa_maps(NUMA_MAPS)
    assert len(entries) == 12
    assert format_numa_maps(entries) == NUMA_MAPS


def test_numa_maps_round_trips_through_json() -> None:
    entries = parse_numa_maps(NUMA_MAPS)
    data = json.loads(json.dumps([entry.to_json() for entry in entries]))
    assert [NumaMapsEntry.from_json(item) for item in data] == entries


def test_numa_maps_fields() -> None:
    entries = {entry.address: entry for entry in parse_numa_maps(NUMA_MAPS)}
    heap, anon = entries[0x60B000], entries[0x7F12A000]
    bound, shared = entries[0x7F12B000], entries[0x7F12C000]
    assert heap.heap and heap.file is None and heap.pages == 4
    assert (anon.anon, anon.dirty, anon.mapped, anon.active, anon.kernelpagesize_kB) == (3, 3, None, 0, 4)
    assert bound.mode == MPOL_BIND and bound.policy_nodes == [0, 1] and bound.nodes == {0: 2, 1: 4}
    assert shared.mode == MPOL_INTERLEAVE and shared.path == "/tmp/a b\nc"
    assert (shared.mapmax, shared.swapcache, shared.writeback) == (3, 1, 2)
    assert entries[0x7F12E000].mode == MPOL_LOCAL and entries[0x7F12E000].pages == 0
    assert entries[0x7F12F000].huge and entries[0x7F12F000].kernelpagesize_kB == 2048
    assert entries[0x7F130000].mode == MPOL_PREFERRED_MANY
    assert entries[0x7F131000].mode == MPOL_WEIGHTED_INTERLEAVE
    assert entries[0x7F131000].path == "/dev/zero (deleted)"
    assert entries[0x7F132000].stack_tid == 1234 and entries[0x7FFC6DD64000].stack


@pytest.mark.parametrize(("policy", "parsed"), [
    ("default", (MPOL_DEFAULT, 0, [])),
    ("prefer:1", (MPOL_PREFERRED, 0, [1])),
    ("bind=static:0-1", (MPOL_BIND, MPOL_F_STATIC_NODES, [0, 1])),
    ("interleave=relative:0,2", (MPOL_INTERLEAVE, 1 << 14, [0, 2])),
    ("bind=static|balancing:0", (MPOL_BIND, MPOL_F_STATIC_NODES | 1 << 13, [0])),
])
def test_policies(policy: str, parsed: tuple[int, int, list[int]]) -> None:
    assert parse_policy(policy) == parsed


def test_unknown_counters_are_kept() -> None:
    line = "7f000000 default anon=1 dirty=1 newcounter=5 N0=1 kernelpagesize_kB=4\n"
    (entry,) = parse_numa_maps(line)
    assert entry.extra == {"newcounter": 5}
    assert format_numa_maps([entry]) == line


@pytest.mark.parametrize("line", ["zzz default", "7f000000", "7f000000 default anon=1 what",
                                  "7f000000 default stack:x"])
def test_bad_numa_maps_lines(line: str) -> None:
    with pytest.raises(ProcParseError, match="numa_maps"):
        parse_numa_maps(line)


def test_unknown_policy_is_reported() -> None:
    (entry,) = parse_numa_maps("7f000000 sometimes:0")
    with pytest.raises(ProcParseError, match="unknown memory policy"):
        _ = entry.mode


# --- /sys/devices/system/node and /proc/vmstat -----------------------------------------------

NODE = "/sys/devices/system/node"


def two_node_sysfs(has_memory: bool = True) -> list[Reply]:
    states = [Reply("read_text", "0-1\n"), Reply("read_text", "0-1\n")]
    if has_memory:
        states.append(Reply("read_text", "0-1\n"))
    else:  # a 2.6.35 kernel: no has_memory file, and no HIGHMEM
        states += [Reply("read_text", -errno.ENOENT), Reply("read_text", -errno.ENOENT),
                   Reply("read_text", "0-1\n")]
    states.append(Reply("read_text", "0\n"))
    replies = [*states, Reply("listdir", ["has_cpu", "node0", "node1", "online", "possible", "power"])]
    for nid, cpus, row in ((0, "0-1\n", "10 21\n"), (1, "\n", "21 10\n")):
        meminfo = f"Node {nid} MemTotal:  1048576 kB\nNode {nid} HugePages_Total:     2\n"
        replies += [Reply("read_text", cpus), Reply("read_text", row), Reply("read_text", meminfo)]
    return replies


@pytest.mark.parametrize("has_memory", [True, False])
def test_read_topology_of_two_nodes(has_memory: bool) -> None:
    io = RecordingSysIO(two_node_sysfs(has_memory))
    topology = read_topology(io)
    assert (topology.possible, topology.online, topology.has_memory, topology.has_cpu) == \
        ([0, 1], [0, 1], [0, 1], [0])
    assert topology.nodes[0].cpus == [0, 1] and topology.nodes[1].cpus == []
    assert topology.distance(0, 1) == 21 and topology.distance(1, 1) == 10
    assert topology.nodes[1].meminfo == {"MemTotal": 1048576, "HugePages_Total": 2}
    assert io.pending == []
    paths = [call.args["path"] for call in io.calls]
    assert paths[:2] == [f"{NODE}/online", f"{NODE}/possible"]
    assert paths[-3:] == [f"{NODE}/node1/cpulist", f"{NODE}/node1/distance", f"{NODE}/node1/meminfo"]
    assert Topology.from_json(json.loads(json.dumps(topology.to_json()))) == topology


def test_distance_row_must_match_online_nodes() -> None:
    replies = two_node_sysfs()
    replies[6] = Reply("read_text", "10\n")  # node0/distance with one value for two online nodes
    with pytest.raises(ProcParseError, match="distance row"):
        read_topology(RecordingSysIO(replies))


def test_read_vmstat_uses_the_shared_parser() -> None:
    io = RecordingSysIO([Reply("read_text", "nr_free_pages 10\npgmigrate_success 3\n")])
    assert read_vmstat(io) == {"nr_free_pages": 10, "pgmigrate_success": 3}
    assert io.calls[0].args == {"path": "/proc/vmstat"}
