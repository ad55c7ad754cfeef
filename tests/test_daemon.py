"""pagemig.real.daemon and ``pagemig daemon``: a sim policy driven on a live process.

Without a kernel: a fake ``ProcessIO`` behind a ``RecordingSysIO``, whose
record replays the session. On this host (one NUMA node): a child Python
process that mmaps and keeps touching a buffer is the target, and the policy
moves its pages to node 0, the only node; skipped when move_pages is
unavailable.
"""

from __future__ import annotations

import errno
import json
import mmap
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pagemig.cli import main
from pagemig.real import MPOL_MF_MOVE, RecordingSysIO, SysIO
from pagemig.real.daemon import PM_PRESENT, PM_SOFT_DIRTY, DaemonError, LiveDaemon, parse_maps
from pagemig.sim.policies import EpochStats, Policy, PolicyContext, make_policy

from .test_real_live import UNAVAILABLE

PAGE = mmap.PAGESIZE
BASE = 0x7F0000000000


@dataclass(frozen=True)
class ToNodeParams:
    node: int = 0
    max_pages: int = 4


class ToNode(Policy):
    """Each epoch, move the first ``max_pages`` accessed pages to ``node``."""

    name = "to-node"
    Params = ToNodeParams

    def on_epoch(self, ctx: PolicyContext, stats: EpochStats) -> None:
        pages = np.flatnonzero(stats.page_counts > 0)[: self.params.max_pages]
        if len(pages):
            ctx.migrate(pages, self.params.node)


class FakeKernel:
    """One target (pid 100) with an 8-page anonymous VMA, pages 0-5 present on
    node 0; ``move_status`` answers move_pages by page (default: the target node)."""

    def __init__(self, soft_dirty: bool = False, move_status: dict[int, int] | None = None) -> None:
        self.soft_dirty = soft_dirty
        self.move_status = move_status or {}

    def read_text(self, path: str) -> str:
        if path == "/proc/100/maps":
            return (f"{BASE:x}-{BASE + 8 * PAGE:x} rw-p 00000000 00:00 0 \n"
                    f"{BASE + 16 * PAGE:x}-{BASE + 17 * PAGE:x} r--p 00000000 00:00 0 [vvar]\n")
        if path == "/proc/100/task/100/stat":
            return "100 (py thon) S " + " ".join(["0"] * 35) + " 1 0\n"
        raise FileNotFoundError(errno.ENOENT, "no such file", path)  # no /sys/devices/system/node

    def listdir(self, path: str) -> list[str]:
        if path == "/proc/100/task":
            return ["100"]
        raise FileNotFoundError(errno.ENOENT, "no such directory", path)

    def read_bytes(self, path: str, offset: int, length: int) -> bytes:
        assert path == "/proc/100/pagemap" and offset == (BASE // PAGE) * 8
        bits = PM_PRESENT | (PM_SOFT_DIRTY if self.soft_dirty else 0)
        return np.array([bits] * 6 + [0, 0], dtype=np.uint64)[: length // 8].tobytes()

    def write_text(self, path: str, text: str) -> None:
        assert (path, text) == ("/proc/100/clear_refs", "4")

    def move_pages(self, pid: int, count: int, pages: Any, nodes: Any, status: Any, flags: int) -> int:
        for i in range(count):
            index = (int(pages[i]) - BASE) // PAGE
            status[i] = 0 if nodes is None else self.move_status.get(index, int(nodes[i]))
        return 0

    def migrate_pages(self, *args: Any) -> int:
        return -errno.ENOSYS

    mbind = set_mempolicy = get_mempolicy = migrate_pages


def fake_daemon(io: Any, **kwargs: Any) -> LiveDaemon:
    ticks = iter(range(0, 10**12, 10_000_000))
    return LiveDaemon(100, ToNode(), interval_ms=10, sysio=io, clock=lambda: next(ticks),
                      sleep=lambda s: None, **kwargs)


def test_parse_maps() -> None:
    vmas = parse_maps("00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/dbus-daemon\n"
                      "7ffd1000-7ffd3000 rw-p 00000000 00:00 0 [stack]\n"
                      "7f0000000000-7f0000001000 rw-s 00000000 00:01 5 /dev/zero (deleted)\n")
    assert [(v.start, v.pages, v.perms, v.path) for v in vmas] == [
        (0x400000, 0x52000 // PAGE, "r-xp", "/usr/bin/dbus-daemon"), (0x7FFD1000, 2, "rw-p", "[stack]"),
        (0x7F0000000000, 1, "rw-s", "/dev/zero (deleted)")]


def test_recorded_session_without_a_kernel() -> None:
    io = RecordingSysIO(backend=FakeKernel())
    daemon = fake_daemon(io)
    reports = daemon.run(2)
    assert daemon.access == "present"  # no soft-dirty bit shown
    assert daemon.sampler.n_pages == 8  # [vvar] is not sampled
    assert [(r.pages_sampled, r.pages_present, r.pages_accessed, r.pages_per_node) for r in reports] == \
        [(8, 6, 6, {0: 6})] * 2
    assert [(r.attempted, r.succeeded, r.failed) for r in reports] == [(4, 4, 0)] * 2
    moves = [c for c in io.calls if c.name == "move_pages" and c.args["nodes"] is not None]
    first_four = [BASE + i * PAGE for i in range(4)]
    assert [(c.args["pid"], c.args["pages"], c.args["nodes"], c.args["flags"], c.out["status"])
            for c in moves] == [(100, first_four, [0] * 4, MPOL_MF_MOVE, [0] * 4)] * 2
    queries = [c for c in io.calls if c.name == "move_pages" and c.args["nodes"] is None]
    assert len(queries) == 3 and queries[0].args["pages"] == [BASE + i * PAGE for i in range(6)]
    assert "write_text" not in {c.name for c in io.calls}
    # The record replays the session with no kernel behind it.
    replay = RecordingSysIO.replaying(io.calls)
    again = fake_daemon(replay).run(2)
    assert [r.to_json() for r in again] == [r.to_json() for r in reports]
    assert replay.pending == [] and json.dumps(daemon.summary())


def test_failures_are_counted_by_reason() -> None:
    io = RecordingSysIO(backend=FakeKernel(move_status={1: -errno.EBUSY, 2: -errno.EACCES}))
    report = fake_daemon(io).run(1)[0]
    assert (report.attempted, report.succeeded, report.failed_by_reason) == (4, 2, {"EBUSY": 1, "EACCES": 1})


def test_soft_dirty_is_cleared_each_interval() -> None:
    io = RecordingSysIO(backend=FakeKernel(soft_dirty=True))
    daemon = fake_daemon(io)
    daemon.run(2)
    assert daemon.access == "soft-dirty"
    assert [c.args for c in io.calls if c.name == "write_text"] == \
        [{"path": "/proc/100/clear_refs", "text": "4"}] * 3  # at setup and after each sample


def test_dry_run_makes_no_migration() -> None:
    io = RecordingSysIO(backend=FakeKernel())
    report = fake_daemon(io, dry_run=True).run(1)[0]
    assert (report.attempted, report.succeeded, report.migrate_calls) == (4, 0, 0)
    assert all(c.args["nodes"] is None for c in io.calls if c.name == "move_pages")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"pid": 0}, "positive process id"),
    ({"interval_ms": 0}, "interval_ms"),
    ({"access": "young"}, "unknown access signal"),
    ({"policy": make_policy("oracle")}, "only a replay"),
])
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"pid": 100, "policy": ToNode(), **kwargs}
    with pytest.raises(DaemonError, match=message):
        LiveDaemon(args.pop("pid"), args.pop("policy"), sysio=FakeKernel(), **args)


def test_a_mempolicy_policy_cannot_run_live() -> None:
    daemon = LiveDaemon(100, make_policy("interleave", {"nodes": "0"}), sysio=FakeKernel())
    with pytest.raises(DaemonError, match="cannot set process 100"):
        daemon.setup()


# --- live, on this host ---------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import ctypes, mmap, sys, time
    n = 64 * mmap.PAGESIZE
    buf = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for i in range(0, n, mmap.PAGESIZE):
        buf[i] = 1
    print(ctypes.addressof(ctypes.c_char.from_buffer(buf)), flush=True)
    while True:
        for i in range(0, n, mmap.PAGESIZE):
            buf[i] = (buf[i] + 1) % 256
        time.sleep(0.005)
""")

needs_move_pages = pytest.mark.skipif(UNAVAILABLE["move_pages"] is not None,
                                      reason=f"move_pages: {UNAVAILABLE['move_pages']}")


@pytest.fixture
def child() -> Iterator[tuple[int, int]]:
    """A process with 64 touched pages: (pid, address of the buffer)."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.pid, int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()


@needs_move_pages
def test_live_moves_the_childs_pages_to_node_0(child: tuple[int, int]) -> None:
    pid, buf = child
    io = RecordingSysIO(backend=SysIO())
    daemon = LiveDaemon(pid, ToNode(ToNodeParams(node=0, max_pages=1 << 20)), interval_ms=50, sysio=io)
    reports = daemon.run(3)
    buffer_pages = np.flatnonzero((daemon.sampler.addresses(np.arange(daemon.sampler.n_pages)) >= buf)
                                  & (daemon.sampler.addresses(np.arange(daemon.sampler.n_pages))
                                     < buf + 64 * PAGE))
    assert len(buffer_pages) == 64
    assert daemon.access in ("present", "soft-dirty")
    for report in reports:
        assert report.pages_present >= 64 and report.pages_per_node.get(0, 0) >= 64
        assert set(report.pages_per_node) == {0}
        assert report.attempted > 0 and report.succeeded + report.failed == report.attempted
    moves = [c for c in io.calls if c.name == "move_pages" and c.args["nodes"] is not None]
    assert moves and all(c.args["pid"] == pid and c.args["flags"] == MPOL_MF_MOVE
                         and set(c.args["nodes"]) == {0} for c in moves)
    moved = {page: status for c in moves for page, status in zip(c.args["pages"], c.out["status"],
                                                                  strict=True)}
    # Every page of the buffer the child keeps writing was asked to move and is on node 0.
    assert all(moved.get(buf + i * PAGE) == 0 for i in range(64))


def write_policy(tmp_path: Path) -> str:
    path = tmp_path / "to_node.py"
    path.write_text(textwrap.dedent('''
        from dataclasses import dataclass
        import numpy as np
        from pagemig.sim.policies import Policy

        @dataclass(frozen=True)
        class Params:
            node: int = 0

        class ToNode(Policy):
            name = "to-node"
            Params = Params

            def on_epoch(self, ctx, stats):
                ctx.migrate(np.flatnonzero(stats.page_counts > 0)[:16], self.params.node)
    '''))
    return f"{path}:ToNode"


@needs_move_pages
def test_cli_json(child: tuple[int, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pid, _ = child
    assert main(["daemon", write_policy(tmp_path), "--pid", str(pid), "--interval-ms", "20",
                 "--epochs", "2", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["epoch"] for r in records[:2]] == [0, 1]
    assert all(r["attempted"] == 16 and r["succeeded"] == 16 for r in records[:2])
    assert records[2]["stopped"] == "done" and records[2]["summary"]["migrations"]["succeeded"] == 32


@pytest.mark.parametrize(("args", "message"), [
    (["first-touch", "--pid", "0"], "positive process id"),
    (["first-touch", "--pid", str(2**22 + 12345)], "no process"),
    (["no-such-policy", "--pid", "1"], "unknown policy"),
    (["hot-cold", "--pid", "1", "--param", "hot_threshold=x"], "hot_threshold"),
    (["hot-cold", "--pid", "1", "--param", "nonsense"], "NAME=VALUE"),
])
def test_cli_errors_are_one_line(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["daemon", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@needs_move_pages
def test_ctrl_c_stops_with_a_summary(child: tuple[int, int]) -> None:
    pid, _ = child
    cli = "import sys; from pagemig.cli import main; sys.exit(main())"
    proc = subprocess.Popen([sys.executable, "-c", cli, "daemon", "first-touch", "--pid", str(pid),
                             "--interval-ms", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("epoch 0:")
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "(stopped by Ctrl-C)" in out and "migrations: 0 calls" in out


def test_an_interrupted_epoch_still_counts() -> None:
    class Interrupting(ToNode):
        def on_epoch(self, ctx: PolicyContext, stats: EpochStats) -> None:
            super().on_epoch(ctx, stats)
            raise KeyboardInterrupt

    daemon = LiveDaemon(100, Interrupting(), interval_ms=10, sysio=FakeKernel(), sleep=lambda s: None)
    with pytest.raises(KeyboardInterrupt):
        daemon.run()
    assert daemon.summary()["migrations"]["succeeded"] == 4 and daemon.summary()["epochs"] == 1
