"""The real-kernel conformance backends: runner, initramfs, topology, records.

Everything here but the `qemu` test runs without qemu. The runner tests need
gcc (and a static libc); the host test needs root on a single-node host.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pagemig.conformance import ConformanceError, run_backend, skip_reason
from pagemig.conformance.annotate import annotate, expectation, status_list
from pagemig.conformance.guest import (
    RESULTS_PORT,
    build_initramfs,
    busybox_binary,
    cpio_newc,
    init_script,
    initramfs_entries,
)
from pagemig.conformance.host import host_nodes, host_skip_reason
from pagemig.conformance.qemu import check_env, console_tail, group_by_topology, guest_seconds
from pagemig.conformance.records import STEP_KEYS, parse_run, step_record
from pagemig.conformance.runner import RUNNER_SOURCE, compile_runner
from pagemig.conformance.topology import (
    Topology,
    expected_masks,
    node_list,
    parse_machine,
    qemu_numa_args,
    read_topology,
)

REPO = Path(__file__).resolve().parents[1]
SUITE = sorted((REPO / "conformance" / "scenarios").glob("*.scn"))
TOPO4 = ["nodes=4", "memory=768MiB,768MiB,0,512MiB", "cpus=1,1,1,0"]
MIB = 1 << 20


# ---- records -----------------------------------------------------------------

STREAM = """\
PAGEMIG-BEGIN uptime=3.10\r
{"op":"env","release":"6.1.0-56-amd64","online":"0-1","has_memory":"0-1","has_cpu":"0-1"}\r
{"op":"begin","file":"/scn/00.scn"}
{"line":1,"cmd":"machine nodes=2","op":"machine","ret":null,"errno":null,"status":null,"nodes":null}
[   4.2] a kernel message that strayed here
{"line":5,"cmd":"p: move self a:* 1","op":"move","ret":0,"errno":null,"status":[-13,1],"nodes":[0,1]}
{"op":"end","file":"/scn/00.scn","exit":0,"signal":0}
{"op":"begin","file":"/scn/01.scn"}
{"line":2,"cmd":"spawn p","op":"spawn","ret":0,"errno":null,"status":null,"nodes":null}
{"op":"end","file":"/scn/01.scn","exit":-1,"signal":14}
{"op":"done","files":2}
PAGEMIG-END rc=0 uptime=5.60
"""


def test_parse_run_splits_records_by_file() -> None:
    out = parse_run(STREAM)
    assert out.done
    assert out.env["release"] == "6.1.0-56-amd64"
    assert [r["line"] for r in out.files["/scn/00.scn"]] == [1, 5]
    assert out.files["/scn/00.scn"][1]["status"] == [-13, 1]


def test_a_killed_scenario_ends_with_an_error_record() -> None:
    last = parse_run(STREAM).files["/scn/01.scn"][-1]
    assert last["op"] == "error"
    assert "signal 14" in last["msg"]


def test_a_truncated_stream_is_not_done() -> None:
    assert not parse_run(STREAM.split('{"op":"end","file":"/scn/01.scn"')[0]).done


def test_broken_json_names_the_line() -> None:
    with pytest.raises(ConformanceError, match="broken record"):
        parse_run('{"op": "env",\n')


def test_step_record_has_the_documented_keys() -> None:
    assert tuple(step_record(3, "p: exit", "exit")) == STEP_KEYS


def test_guest_seconds_from_markers() -> None:
    assert guest_seconds(STREAM) == 2.5


def test_console_tail_keeps_the_last_lines() -> None:
    text = "\r\n".join(f"line {i}" for i in range(100))
    assert console_tail(text, 3) == "line 97\nline 98\nline 99"


# ---- topology ----------------------------------------------------------------

def test_machine_defaults() -> None:
    topo = parse_machine([])
    assert topo == Topology(memory=(64 * MIB, 64 * MIB), cpus=(1, 1))


def test_topo4_qemu_args() -> None:
    assert qemu_numa_args(parse_machine(TOPO4)) == [
        "-m", "2048M", "-smp", "3",
        "-object", "memory-backend-ram,id=m0,size=768M", "-numa", "node,nodeid=0,cpus=0,memdev=m0",
        "-object", "memory-backend-ram,id=m1,size=768M", "-numa", "node,nodeid=1,cpus=1,memdev=m1",
        "-numa", "node,nodeid=2,cpus=2",
        "-object", "memory-backend-ram,id=m3,size=512M", "-numa", "node,nodeid=3,memdev=m3",
    ]


def test_small_nodes_get_the_minimum_memory_and_cpu_ranges() -> None:
    args = qemu_numa_args(parse_machine(["nodes=2", "memory=64MiB", "cpus=2", "distances=10,30/30,10"]))
    assert args[:4] == ["-m", "1024M", "-smp", "4"]
    assert "node,nodeid=1,cpus=2-3,memdev=m1" in args
    assert "dist,src=0,dst=1,val=30" in args


def test_memory_only_node_before_a_cpu_node_is_refused() -> None:
    with pytest.raises(ConformanceError, match="put memory-only nodes last"):
        qemu_numa_args(parse_machine(["nodes=2", "cpus=0,1"]))


def test_node_without_memory_or_cpu_is_refused() -> None:
    with pytest.raises(ConformanceError, match="neither memory nor CPUs"):
        qemu_numa_args(parse_machine(["nodes=2", "memory=64MiB,0", "cpus=1,0"]))


def test_per_node_lists_must_match_the_node_count() -> None:
    with pytest.raises(ConformanceError, match="names 3 nodes"):
        parse_machine(["nodes=2", "cpus=1,1,1"])


def test_expected_masks_and_env_check() -> None:
    topo = parse_machine(TOPO4)
    masks = expected_masks(topo)
    assert masks == {"online": "0-3", "has_memory": "0-1,3", "has_cpu": "0-2"}
    check_env(dict(masks), topo)
    with pytest.raises(ConformanceError, match="has_cpu"):
        check_env({**masks, "has_cpu": "0-1,3"}, topo)


def test_node_list_format() -> None:
    assert node_list([3, 0, 1, 5, 6, 7]) == "0-1,3,5-7"
    assert node_list([]) == ""


def test_read_topology_skips_comments(tmp_path: Path) -> None:
    scn = tmp_path / "t.scn"
    scn.write_text("# a comment\n\nmachine nodes=1  # one node\nspawn p\n")
    assert read_topology(scn).nodes == 1
    scn.write_text("spawn p\n")
    assert read_topology(scn).nodes == 2


def test_suite_groups_into_three_boots() -> None:
    groups = group_by_topology(SUITE)
    assert sorted(t.nodes for t in groups) == [1, 2, 4]


# ---- initramfs ---------------------------------------------------------------

def test_initramfs_file_list() -> None:
    entries = initramfs_entries(b"BB", b"RUN", [b"machine nodes=1\n", b"spawn p\n"])
    names = [e.name for e in entries]
    assert names == ["bin", "dev", "proc", "sys", "tmp", "ramfs", "scn", "dev/console", "init",
                     "bin/busybox", "bin/runner", "scn/00.scn", "scn/01.scn"]
    console = entries[names.index("dev/console")]
    assert console.rdev == (5, 1)


def test_init_script_runs_every_file_to_the_second_serial_port() -> None:
    script = init_script(3)
    assert "/bin/runner /scn/00.scn /scn/01.scn /scn/02.scn >$OUT" in script
    assert f"OUT={RESULTS_PORT}" in script
    assert "mount -t ramfs ramfs /ramfs" in script
    assert "mount -t cgroup2" in script
    assert script.rstrip().endswith("poweroff -f")


def _read_newc(data: bytes) -> dict[str, bytes]:
    """A minimal newc reader, to check the writer."""
    out, pos = {}, 0
    while True:
        assert data[pos:pos + 6] == b"070701"
        fields = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        size, namesize = fields[6], fields[11]
        name = data[pos + 110: pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        if name == "TRAILER!!!":
            return out
        out[name] = data[pos:pos + size]
        pos += size
        pos += -pos % 4


def test_cpio_newc_round_trip() -> None:
    entries = initramfs_entries(b"busybox!", b"r", [b"abc"])
    files = _read_newc(cpio_newc(entries))
    assert files["bin/busybox"] == b"busybox!"
    assert files["scn/00.scn"] == b"abc"
    assert files["init"].startswith(b"#!/bin/busybox sh")


@pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="busybox-static is not installed")
def test_build_initramfs_with_the_static_busybox(tmp_path: Path) -> None:
    runner = tmp_path / "runner"
    runner.write_bytes(b"\x7fELF")
    out = build_initramfs(runner, SUITE[:2], tmp_path / "initrd.gz")
    files = _read_newc(gzip.decompress(out.read_bytes()))
    assert files["bin/busybox"] == busybox_binary()
    assert files["scn/01.scn"] == SUITE[1].read_bytes()


# ---- the runner ----------------------------------------------------------------

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    return compile_runner(RUNNER_SOURCE, tmp_path_factory.mktemp("runner") / "runner")


def _lint(runner: Path, tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    scn = tmp_path / "bad.scn"
    scn.write_text(text)
    return subprocess.run([str(runner), "-l", str(scn)], capture_output=True, text=True, check=False)


@needs_gcc
def test_runner_parses_every_suite_file(runner: Path) -> None:
    proc = subprocess.run([str(runner), "-l", *map(str, SUITE)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@needs_gcc
@pytest.mark.parametrize(("text", "message"), [
    ("spawn p\np: frobnicate\n", "bad.scn:2: unknown command 'frobnicate'"),
    ("spawn p\np: reclaim 0 4\n", "bad.scn:2: reclaim runs on the model only"),
    ("machine nodes=2\ncheck\n", "bad.scn:2: check without pages"),
    ("spawn p\np: write a:0\n", "bad.scn:2: no region 'a'"),
    ("spawn p\np: map a anon 2\np: write a:2\n", "bad.scn:3: 'a:2' is outside region a"),
    ("file /srv/x fs=ext2\n", "bad.scn:1: a real kernel runs file fs=tmpfs or fs=ramfs only"),
    ("map a anon 1\n", "bad.scn:1: map needs a process"),
    ("spawn p\np: exit\np: map a anon 1\n", "bad.scn:3: process p has exited"),
    ("spawn p\np: map a anon 2\np: move self a:* 0,1,0\n", "bad.scn:3: move: NODES is one node"),
    ("spawn p cpu=3\n", "bad.scn:1: cpu=3: the machine has cpus 0-1"),
    ("spawn p\nmachine nodes=1\n", "bad.scn:2: machine must be the first command"),
    ("memcg m limit=4\n", "bad.scn:1: memcg runs on the model only"),
    ("spawn p\np: map a anon 1\np: check a:0 const=3\n", "bad.scn:3: unknown option const="),
    ("where unmapped\n", "bad.scn:1: where needs a process"),
    ("spawn p\np: map a anon 1\np: map b anon 1\np: map c anon 1 after=a\n",
     "bad.scn:4: after=a must name the last region mapped"),
    ("spawn p\np: map a anon 1\np: map b anon 1\np: mbind a:0,b:0 bind 1\n",
     "bad.scn:4: mbind takes one contiguous range"),
])
def test_runner_lint_names_file_and_line(runner: Path, tmp_path: Path, text: str, message: str) -> None:
    proc = _lint(runner, tmp_path, text)
    assert proc.returncode == 2
    assert message in proc.stderr


@needs_gcc
def test_runner_lint_ignores_expectations_and_comments(runner: Path, tmp_path: Path) -> None:
    proc = _lint(runner, tmp_path, "# x\nspawn p uid=1000  # y\np: map a anon 1 => errno=ok # z\n"
                 "p: write a:0 const=7\nwhere a:0\np: migrate self 0 1 watch=a:0 => ret=0\n"
                 "p: map b anon 2 after=a\np: mbind a:0,b:0-1 bind 1\n")
    assert proc.returncode == 0, proc.stderr


def test_skip_reason_names_model_only_commands(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    scn = tmp_path / "m.scn"
    scn.write_text("machine nodes=2\nspawn p\np: map a anon 1\nreclaim 0 1\n")
    assert "model only" in (skip_reason("qemu", scn) or "")
    scn.write_text("machine nodes=2 cpus=0,1\n")
    assert "memory-only" in (skip_reason("qemu", scn) or "")


# ---- annotations ---------------------------------------------------------------

def test_status_list_names_errors_and_compresses_runs() -> None:
    assert status_list([-13, 1, 1, 1, None, None]) == "EACCES,1*3,unwritten,unwritten"


def test_expectation_of_a_move_and_a_failure() -> None:
    move = step_record(5, "p: move self a:* 1", "move", 0, None, [-13, 1], [0, 1])
    assert expectation(move) == "ret=0 status=EACCES,1 nodes=0,1"
    failed = step_record(6, "p: migrate self 0 2", "migrate", None, "EPERM")
    assert expectation(failed) == "errno=EPERM"
    where = step_record(7, "p: where a:*", "where", nodes=[1, 1])
    assert expectation(where) == "node=1"
    mbind = step_record(8, "p: mbind a:* bind 1 MOVE", "mbind", 0, nodes=[1, None])
    assert expectation(mbind) == "nodes=1,-"


def test_expectation_of_check_and_faults() -> None:
    assert expectation(step_record(3, "p: check a:*", "check", data="ok")) == "data=ok"
    fault = step_record(4, "p: touch a:0", "touch", signal="SIGSEGV")
    assert expectation(fault) == "signal=SIGSEGV"


def test_annotate_replaces_expectations_and_keeps_comments() -> None:
    text = "spawn p\np: move self a:0 1 => ret=9  # why\n"
    recs = [step_record(1, "spawn p", "spawn"),
            step_record(2, "p: move self a:0 1", "move", 0, None, [1], [1])]
    assert annotate(text, recs) == "spawn p\np: move self a:0 1 => ret=0 status=1 node=1  # why\n"



def test_annotate_leaves_ret_out_where_the_comment_says_so() -> None:
    text = "spawn p\np: migrate self 0 1  # no ret=: it varies by boot\n"
    recs = [step_record(1, "spawn p", "spawn"),
            step_record(2, "p: migrate self 0 1", "migrate", 3)]
    assert annotate(text, recs) == text
    assert annotate(text.replace("no ret=", "why"), recs) == text.replace(
        "1  # no ret=", "1 => ret=3  # why")


def test_suite_parses_in_the_scenario_language() -> None:
    from pagemig.scenario.syntax import parse_file

    for path in SUITE:
        assert parse_file(path)


def test_suite_size_and_shape() -> None:
    assert len(SUITE) >= 40
    for path in SUITE:
        text = path.read_text()
        assert text.startswith("# "), f"{path.name}: begins with a comment saying what it shows"
        assert "\nmachine nodes=" in text, f"{path.name}: names its machine"
        assert "=>" in text, f"{path.name}: carries the real kernel's answers"


# ---- real kernels ----------------------------------------------------------------

def _reproduces(records: dict[Path, list[dict[str, object]]]) -> list[str]:
    """Files whose recorded expectations the kernel did not give again."""
    return [path.name for path, recs in records.items()
            if annotate(path.read_text(), recs) != path.read_text()]


@pytest.mark.skipif(os.geteuid() != 0 or host_nodes() != 1 or shutil.which("gcc") is None,
                    reason="needs root, gcc and a single-node host")
def test_host_kernel_gives_the_recorded_answers() -> None:
    single = [p for p in SUITE if host_skip_reason(p) is None]
    assert single
    assert _reproduces(run_backend("host", single)) == []


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86 is not installed")
def test_linux_6_1_gives_the_recorded_answers() -> None:
    assert _reproduces(run_backend("qemu", SUITE)) == []


def test_a_boot_that_times_out_is_tried_once_more(monkeypatch: pytest.MonkeyPatch) -> None:
    """An emulator hang (timeout) boots again once; a second hang, or any other
    failure, is reported."""
    from pagemig.conformance import qemu
    from pagemig.conformance.topology import Topology

    calls: list[str] = []
    outcomes: list[Exception | None] = [qemu.GuestTimeout("hang 1"), None]

    def fake_boot_once(boot: qemu.Boot, kernel: object, runner: Path,
                       timeout: float | None = None) -> qemu.Boot:
        calls.append("boot")
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return boot

    monkeypatch.setattr(qemu, "boot_once", fake_boot_once)
    boot = qemu.Boot(Topology((64 << 20,), (1,)), [])
    warnings: list[str] = []
    assert qemu.boot_retrying(boot, object(), Path("r"), warn=warnings.append) is boot  # type: ignore[arg-type]
    assert calls == ["boot", "boot"] and "hang 1; booting again" in warnings[0]
    outcomes[:] = [qemu.GuestTimeout("hang 1"), qemu.GuestTimeout("hang 2")]
    with pytest.raises(qemu.GuestTimeout, match="hang 2"):
        qemu.boot_retrying(boot, object(), Path("r"), warn=warnings.append)  # type: ignore[arg-type]
    outcomes[:] = [ConformanceError("qemu exited with status 1")]
    with pytest.raises(ConformanceError, match="status 1"):
        qemu.boot_retrying(boot, object(), Path("r"), warn=warnings.append)  # type: ignore[arg-type]
    assert len(calls) == 5
