"""Run scenario files on this host's own kernel, with the same runner.

The host is a single-node machine, so only `machine nodes=1` scenarios run
here. The runner needs root: spawned processes change uid, cpusets are
cgroups, KSM is a sysfs switch. It unshares its mount namespace and mounts a
private tmpfs and ramfs for the scenario's /tmp and /ramfs files, so the
host's own /tmp is left alone.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ConformanceError
from .records import Record, RunOutput, parse_run
from .runner import build_runner, check_parses
from .topology import read_topology

SECONDS_PER_FILE = 60.0


@dataclass
class HostRun:
    paths: list[Path]
    output: RunOutput
    seconds: float


def host_nodes() -> int:
    """How many NUMA nodes this host has online."""
    try:
        text = Path("/sys/devices/system/node/online").read_text().strip()
    except OSError:
        return 1
    count = 0
    for item in text.split(","):
        first, _, last = item.partition("-")
        count += int(last or first) - int(first) + 1
    return count


def host_skip_reason(path: Path) -> str | None:
    """Why this file cannot run on the host, or None."""
    nodes = read_topology(path).nodes
    have = host_nodes()
    if nodes != have:
        return f"needs {nodes} NUMA nodes, this host has {have}"
    return None


def run_host(paths: Sequence[Path], *, timeout: float | None = None) -> HostRun:
    """Run the files on the host kernel, each in a fresh process."""
    if os.geteuid() != 0:
        raise ConformanceError("the host backend runs as root (spawn uid=, cpusets, KSM, private mounts)")
    for path in paths:
        reason = host_skip_reason(path)
        if reason:
            raise ConformanceError(f"{path}: {reason}; run it with --backend qemu")
    runner = build_runner()
    check_parses(runner, list(paths))
    limit = timeout or SECONDS_PER_FILE * len(paths)
    with tempfile.TemporaryDirectory(prefix="pagemig-host-") as root:
        start = time.monotonic()
        try:
            proc = subprocess.run([str(runner), "-m", root, *map(str, paths)], capture_output=True,
                                  text=True, timeout=limit, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ConformanceError(f"the runner did not finish within {limit:.0f} s") from exc
        seconds = time.monotonic() - start
    output = parse_run(proc.stdout)
    if not output.done:
        raise ConformanceError(f"the runner stopped early (status {proc.returncode}): {proc.stderr.strip()}")
    return HostRun(list(paths), output, seconds)


def records_by_path(run: HostRun) -> dict[Path, list[Record]]:
    return {path: run.output.files.get(str(path), []) for path in run.paths}
