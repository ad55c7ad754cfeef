"""Scenario files on real kernels: a Linux 6.1 guest under QEMU, or the host.

Both backends run conformance/guest/runner.c, a static C interpreter of the
portable subset of the scenario language (docs/scenarios.md), and return one
record per step in the format of docs/conformance.md, which the model
backend reproduces.

    >>> from pagemig.conformance import BACKENDS
    >>> BACKENDS
    ('qemu', 'host')
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from . import host, qemu
from .errors import ConformanceError
from .records import STEP_KEYS, Record, parse_run, step_record
from .runner import build_runner, lint
from .topology import read_topology, validate_for_qemu

BACKENDS = ("qemu", "host")

__all__ = ["BACKENDS", "STEP_KEYS", "ConformanceError", "Record", "parse_run", "run_backend",
           "skip_reason", "step_record"]


def run_backend(backend: str, paths: Sequence[Path], *,
                timeout: float | None = None) -> dict[Path, list[Record]]:
    """Run scenario files on a real kernel: each file's step records, in file order.

    backend "qemu" boots Linux 6.1 once per distinct `machine` topology;
    "host" runs on this machine's kernel (nodes=1 files only). Raises
    ConformanceError when the backend cannot run (what to install, the
    console tail of a failed boot, a file it cannot run).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        return {}
    if backend == "qemu":
        return qemu.records_by_path(qemu.run_qemu(paths, timeout=timeout))
    if backend == "host":
        return host.records_by_path(host.run_host(paths, timeout=timeout))
    raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")


def skip_reason(backend: str, path: Path) -> str | None:
    """Why a file cannot run on a real-kernel backend (model-only commands,
    too many nodes for the host), or None when it can."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    errors = lint(build_runner(), [path])
    if errors:
        return errors.splitlines()[0]
    if backend == "host":
        return host.host_skip_reason(path)
    try:
        validate_for_qemu(read_topology(path))
    except ConformanceError as exc:
        return str(exc)
    return None
