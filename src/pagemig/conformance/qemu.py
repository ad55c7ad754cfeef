"""Run scenario files on a real Linux 6.1 guest under qemu-system-x86_64 (TCG).

One boot per topology: every file that asks for the same `machine` runs in
the same guest, each in a fresh process forked by the runner. The command
line keeps the answers reproducible: `nokaslr` (the zero page and vDSO stay
on node 0) and `numa_balancing=disable` (no page moves by itself).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .cache import cache_dir
from .errors import ConformanceError
from .guest import BEGIN_MARK, END_MARK, build_initramfs, scenario_name
from .kernel import Kernel, fetch_kernel
from .records import Record, RunOutput, parse_run
from .runner import build_runner, check_parses
from .topology import Topology, expected_masks, qemu_numa_args, read_topology

QEMU = "qemu-system-x86_64"
KERNEL_CMDLINE = "console=ttyS0 quiet panic=-1 numa_balancing=disable nokaslr"
BOOT_SECONDS = 90.0
SECONDS_PER_FILE = 30.0
CONSOLE_TAIL_LINES = 30


@dataclass
class Boot:
    """One guest boot: its topology, files, records and timings."""

    topology: Topology
    paths: list[Path]
    output: RunOutput = field(default_factory=RunOutput)
    seconds: float = 0.0
    guest_seconds: float | None = None
    console: str = ""


def qemu_args(topo: Topology, kernel: Path, initrd: Path, console: Path, results: Path) -> list[str]:
    """The qemu command line of a boot."""
    return [
        QEMU, "-accel", "tcg", "-cpu", "max", *qemu_numa_args(topo),
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-serial", f"file:{console}", "-serial", f"file:{results}",
        "-kernel", str(kernel), "-initrd", str(initrd), "-append", KERNEL_CMDLINE,
    ]


def console_tail(text: str, lines: int = CONSOLE_TAIL_LINES) -> str:
    return "\n".join(text.replace("\r", "").splitlines()[-lines:])


def guest_seconds(results: str) -> float | None:
    """Guest uptime between the begin and end markers."""
    marks = {}
    for line in results.replace("\r", "").splitlines():
        for mark in (BEGIN_MARK, END_MARK):
            if line.startswith(mark) and "uptime=" in line:
                marks[mark] = float(line.rsplit("uptime=", 1)[1])
    if len(marks) == 2:
        return round(marks[END_MARK] - marks[BEGIN_MARK], 2)
    return None


def check_env(env: Record, topo: Topology) -> None:
    """The guest's nodes are the scenario's nodes, numbered alike."""
    for key, want in expected_masks(topo).items():
        if env.get(key) != want:
            raise ConformanceError(f"the guest reports {key}={env.get(key)!r}, the scenario needs {want!r} "
                                   f"({topo.describe()})")


def _require_qemu() -> None:
    if shutil.which(QEMU) is None:
        raise ConformanceError(f"{QEMU} is missing: apt-get install qemu-system-x86 busybox-static")


class GuestTimeout(ConformanceError):
    """The guest never finished in time: an emulator hang, not a kernel answer."""


# A boot that times out is tried once more (TCG guests have been seen to hang
# at boot, printing nothing, once in many runs; the next boot ran in 30 s).
BOOT_ATTEMPTS = 2


def _incomplete(boot: Boot, why: str, timed_out: bool) -> ConformanceError:
    tail = console_tail(boot.console) or "(the console is empty: the kernel printed nothing)"
    cls = GuestTimeout if timed_out else ConformanceError
    return cls(f"the guest did not finish ({why}) after {boot.seconds:.1f} s; console tail:\n{tail}")


def boot_once(boot: Boot, kernel: Kernel, runner: Path, timeout: float | None = None) -> Boot:
    """Boot the guest once with these files and collect their records."""
    limit = timeout or BOOT_SECONDS + SECONDS_PER_FILE * len(boot.paths)
    with tempfile.TemporaryDirectory(prefix="pagemig-qemu-") as tmp:
        work = Path(tmp)
        initrd = build_initramfs(runner, boot.paths, work / "initrd.gz")
        console, results = work / "console.log", work / "results.log"
        argv = qemu_args(boot.topology, kernel.vmlinuz, initrd, console, results)
        start = time.monotonic()
        timed_out = False
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=limit, check=False)
            why = f"qemu exited with status {proc.returncode}: {proc.stderr.strip()}"
        except subprocess.TimeoutExpired:
            why, timed_out = f"timeout of {limit:.0f} s", True
        boot.seconds = time.monotonic() - start
        boot.console = console.read_text(errors="replace") if console.exists() else ""
        text = results.read_text(errors="replace") if results.exists() else ""
        (cache_dir() / "last-console.log").write_text(boot.console)
    boot.output = parse_run(text)
    boot.guest_seconds = guest_seconds(text)
    if not boot.output.done:
        raise _incomplete(boot, why, timed_out)
    check_env(boot.output.env, boot.topology)
    return boot


def boot_retrying(boot: Boot, kernel: Kernel, runner: Path, timeout: float | None = None,
                  warn: Callable[[str], None] | None = None) -> Boot:
    """boot_once, booting again when the guest timed out (BOOT_ATTEMPTS in all)."""
    for attempt in range(1, BOOT_ATTEMPTS + 1):
        try:
            return boot_once(boot, kernel, runner, timeout)
        except GuestTimeout as err:
            if attempt == BOOT_ATTEMPTS:
                raise
            (warn or _stderr)(f"pagemig: {boot.topology}: {str(err).splitlines()[0]}; booting again")
    raise AssertionError("unreachable")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def group_by_topology(paths: Sequence[Path]) -> dict[Topology, list[Path]]:
    groups: dict[Topology, list[Path]] = {}
    for path in paths:
        groups.setdefault(read_topology(path), []).append(path)
    return groups


def run_qemu(paths: Sequence[Path], *, timeout: float | None = None,
             kernel_package: str | None = None) -> list[Boot]:
    """Run the files under QEMU, one boot per topology."""
    _require_qemu()
    runner = build_runner()
    check_parses(runner, list(paths))
    kernel = fetch_kernel(kernel_package)
    boots = []
    for topo, group in group_by_topology(paths).items():
        boots.append(boot_retrying(Boot(topo, group), kernel, runner, timeout))
    return boots


def records_by_path(boots: list[Boot]) -> dict[Path, list[Record]]:
    """Each file's step records, keyed by the path it was given as."""
    out: dict[Path, list[Record]] = {}
    for boot in boots:
        for i, path in enumerate(boot.paths):
            out[path] = boot.output.files.get(scenario_name(i), [])
    return out
