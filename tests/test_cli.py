"""The pagemig command: the demo runs, errors are one line and a status."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pagemig.cli import main


def test_demo_runs_and_explains_each_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "move_pages returned 0" in out
    assert "EACCES: mapped by 2 processes" in out
    assert "ENOENT: the shared zero page" in out
    assert "migrated to node 1" in out
    assert "Machine.check() holds" in out
    assert "pgmigrate_success" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--nodes", "1"], "at least 2 nodes"),
        (["demo", "--memory", "12 apples"], "cannot read"),
        (["bench", "--case", "nope"], "unknown case"),
    ],
)
def test_errors_are_one_clear_line(argv: list[str], message: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_demo_output_matches_its_golden_file(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain-text demo (no terminal: no colour) is pinned; regenerate it
    deliberately with PAGEMIG_UPDATE_GOLDEN=1 when the narration changes."""
    from tests.golden import assert_golden

    monkeypatch.setenv("COLUMNS", "100")  # rich's width when not on a terminal
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert main(["demo"]) == 0
    assert_golden("demo.txt", capsys.readouterr().out)


# --- hostile inputs (issue 21): each refused at once, one line, exit status 2 ---------------

HOSTILE = [
    # (scenario text, line, what the error says)
    ("machine nodes=2 memory=99999999999999999999GiB\n", 1,
     "memory: 2 node(s) of about 1.07e+29 bytes (about 2.15e+29 bytes in all) exceed the 64TiB "
     "of physical address space of x86-64 (MAX_PHYSMEM_BITS = 46)"),
    ("machine nodes=2 memory=4MiB\nfile /a size=1TiB\n", 2,
     "size: a file of 1TiB is larger than the machine's memory (8MiB), the model's limit"),
    ("machine nodes=2 memory=4MiB swap=1PiB\n", 1,
     "swap: 1024TiB is more than the model's limit of 64GiB"),
    ("machine nodes=2 memory=4MiB cpus=100000000\n", 1,
     "cpus: 200000000 CPUs in all, more than NR_CPUS (4096)"),
    ("spawn p\np: map a anon 1\np: move self a:0 1 => status=1*99999999999999\n", 3,
     "bad expectation status=1*99999999999999: a list of more than 1048576 items"),
    ("spawn p\np: map a anon 1\np: write a:0 gen=" + "9" * 1_000_000 + "\n", 3,
     "gen: '" + "9" * 35 + "...' (1000000 characters) is too long a number"),
    ("spawn p uid=99999999999999999999\n", 1,
     "uid must be an int within 0..4294967294, got 99999999999999999999"),
    ("spawn p compat=7\n", 1, "compat takes 0 or 1, got '7'"),
    ("writeback -1\n", 1, "writeback N must be a count of pages (>= 0), got -1"),
    ("uninject bogus\n", 1, "unknown fault point 'bogus' (known: alloc_page, "),
    ("spawn p\np: migrate self 0-99999999 1\n", 2,
     "bad value '0-99999999': more than 32768 node ids (a node mask has PAGE_SIZE * 8 = 32768 bits)"),
    ("spawn p\n\xff\n", 2, "not UTF-8 text (invalid start byte at byte 1 of the line)"),
]


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and len(err) < 600, err[:1000]
    return err


@pytest.mark.parametrize(("text", "line", "message"), HOSTILE, ids=lambda v: str(v)[:30])
def test_hostile_scenarios_are_refused_naming_the_line(
        text: str, line: int, message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "h.scn"
    path.write_bytes(text.encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff"))
    assert main(["run", str(path)]) == 2
    assert f"pagemig: error: {path}:{line}: {message}" in _one_error_line(capsys)


def test_a_node_mask_the_kernel_refuses_is_its_einval(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A node a mask can hold but MAX_NUMNODES cannot is the kernel's EINVAL;
    one no 1024-bit mask can hold is refused before the call (exit 2)."""
    path = tmp_path / "einval.scn"
    path.write_text("spawn p\np: set_mempolicy bind 1000 => errno=EINVAL\n"
                    "p: map a anon 1\np: mbind a:0 bind 1000 => errno=EINVAL\n"
                    "p: migrate self 0 1000 => errno=EINVAL\n")
    assert main(["run", str(path)]) == 0
    assert "0 mismatch(es)" in capsys.readouterr().out
    path.write_text("spawn p\np: set_mempolicy bind 1099511627776 => errno=EINVAL\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: nodes[0] must be in [0, 1023], got 1099511627776" in err


def _fifo(tmp_path: Path) -> Path:
    """A named pipe; a thread opens its other end after 10 s, so a reader that
    waits for a writer (the bug) fails the test instead of hanging it."""
    fifo = tmp_path / "pipe.scn"
    os.mkfifo(fifo)

    def unblock() -> None:
        time.sleep(10)
        with contextlib.suppress(OSError):
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)

    threading.Thread(target=unblock, daemon=True).start()
    return fifo


@pytest.mark.parametrize("command", [["run"], ["numastat"], ["report", "{}", "vmstat"]])
@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: Path("/dev/zero"), "is a character device, not a scenario file"),
    (lambda tmp: Path("/dev/null"), "is a character device, not a scenario file"),
    (lambda tmp: tmp, "is a directory, not a scenario file"),
    (_fifo, "is a FIFO, not a scenario file"),
    (lambda tmp: tmp / "nosuch.scn", "no such file"),
    (lambda tmp: _write(tmp / "big.scn", b"", truncate=17 << 20),
     "is 17825792 bytes long, more than the 16 MiB a scenario file may be"),
    (lambda tmp: _write(tmp / "bin.scn", b"\x7fELF\x02\x01\x01\x00\xff\xfe"),
     ":1: not UTF-8 text"),
    (lambda tmp: _write(tmp / "bad.scn", b"machine nodes=2\nfrobnicate\n"),
     ":2: unknown command 'frobnicate'"),
], ids=["dev-zero", "dev-null", "directory", "fifo", "missing", "too-big", "binary", "malformed"])
def test_what_is_not_a_scenario_file_is_exit_2(
        command: list[str], make: Callable[[Path], Path], message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = make(tmp_path)
    argv = [command[0], str(path), *command[2:]] if len(command) > 1 else [*command, str(path)]
    assert main(argv) == 2
    err = _one_error_line(capsys)
    assert err.startswith(f"pagemig: error: {path}") and message in err


def _write(path: Path, data: bytes, truncate: int = 0) -> Path:
    path.write_bytes(data)
    if truncate:
        os.truncate(path, truncate)  # sparse: refused by its size, never read
    return path


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "--profile", "", "{scn}"], "--profile: unknown kernel profile '' (known: 2.6.35, 6.1)"),
    (["explain", "--profile", "bogus", "{scn}"], "--profile: unknown kernel profile 'bogus'"),
    (["migratepages", "{scn}", "p", "0-99999999999", "1"],
     "FROM_NODES: bad node list '0-99999999999': more than 32768 node ids"),
    (["migratepages", "{scn}", "p", "0", "1,x"], "TO_NODES: bad node list '1,x': 'x' is not a number"),
])
def test_bad_command_line_arguments_are_exit_2(argv: list[str], message: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    scn = _write(tmp_path / "ok.scn", b"spawn p\np: map a anon 2\np: write a:*\n")
    assert main([arg.format(scn=scn) for arg in argv]) == 2
    assert f"pagemig: error: {message}" in _one_error_line(capsys)


def test_python_dash_m_runs_the_command() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "pagemig", "trace", "synth", "gauss", "--pages", "1",
                           "--accesses", "1", "-o", "/nonexistent/x.parquet"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == ("pagemig: error: unknown pattern 'gauss' "
                                   "(patterns: uniform, zipf, phases, scan, prodcons)")
