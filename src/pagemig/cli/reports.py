"""``pagemig numastat`` and ``pagemig report``: the reports people already read
(numastat, /proc/PID/numa_maps, /proc/vmstat, /proc/zoneinfo) of the machine
a scenario file leaves behind, as text or as JSON."""

from __future__ import annotations

import os
import shutil
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .app import app
from .errors import CliError, refuse_oops

if TYPE_CHECKING:
    from ..machine import Machine
    from ..process import Process

DEFAULT_MACHINE = "machine nodes=2 memory=64MiB"


class ReportKind(StrEnum):
    vmstat = "vmstat"
    zoneinfo = "zoneinfo"
    numa_maps = "numa_maps"


def load_scenario(path: Path | None) -> tuple[Machine, dict[str, Process]]:
    """The machine and the named processes a scenario file leaves behind;
    without a file, the scenario default machine with no process."""
    from ..machine import Machine

    if path is None:
        return Machine(nodes=2, node_memory="64MiB"), {}
    from ..scenario import ScenarioError, run_scenario_file

    try:
        run = run_scenario_file(path)
    except ScenarioError as err:  # a missing, unreadable or malformed file, as `run` says
        raise CliError(str(err), status=2) from None
    if run.machine is None:
        raise CliError(f"{path}: the scenario built no machine")
    refuse_oops(run, path)
    if run.failures:
        typer.echo(f"pagemig: warning: {len(run.failures)} step(s) of {path} did not go as expected; "
                   "showing the machine as they left it", err=True)
    return run.machine, run.processes


def screen_width() -> int:
    """numastat's get_screen_width: $NUMASTAT_WIDTH, else the terminal's width,
    else (output not a terminal) no folding; never below 32."""
    from ..reports.numastat_table import NO_FOLDING

    text = os.environ.get("NUMASTAT_WIDTH")
    if text is not None:
        width = int(text) if text.strip().lstrip("-").isdigit() else 80
        width = width if 1 <= width <= NO_FOLDING else 80
    elif sys.stdout.isatty():
        width = shutil.get_terminal_size((80, 24)).columns
    else:
        width = NO_FOLDING
    return max(width, 32)


def _process_specs(specs: list[str], processes: dict[str, Process]) -> tuple[str, ...]:
    """A scenario process name becomes its PID; anything else is passed to
    numastat as given (a PID, or a pattern of names and command lines)."""
    return tuple(str(processes[spec].pid) if spec in processes else spec for spec in specs)


_NUMASTAT_EXAMPLES = """Examples:

pagemig numastat examples/cow-shared-eacces.scn -p p -p c

pagemig numastat examples/cow-shared-eacces.scn -m -c -z

pagemig numastat examples/cow-shared-eacces.scn -n --json

NUMASTAT_WIDTH=60 pagemig numastat examples/cow-shared-eacces.scn -p p"""

_REPORT_EXAMPLES = """Examples:

pagemig report examples/cow-shared-eacces.scn numa_maps --process c

pagemig report examples/cow-shared-eacces.scn zoneinfo

pagemig report examples/cow-shared-eacces.scn vmstat --json"""


@app.command(epilog=_NUMASTAT_EXAMPLES)
def numastat(
    scenario: Path | None = typer.Argument(
        None, help="Scenario file (*.scn) whose final machine is shown; without one, "
                   f"the default machine ({DEFAULT_MACHINE}, no process)."),
    process: list[str] = typer.Option(
        [], "-p", metavar="PID|NAME",
        help="Per-node memory of a process: a PID, a scenario process name, or a pattern "
             "numastat looks for in command names (repeatable)."),
    meminfo: bool = typer.Option(False, "-m", help="Per-node meminfo, in MB."),
    numa_stats: bool = typer.Option(False, "-n", help="The numa_hit/miss/... counters in MB."),
    compress: bool = typer.Option(False, "-c", help="Narrow columns, whole MB."),
    skip_zero: bool = typer.Option(False, "-z", help="Skip rows and columns of zeros."),
    verbose: bool = typer.Option(False, "-v", help="Huge/Heap/Stack/Private of every PID."),
    json_out: bool = typer.Option(False, "--json", help="The report as JSON instead of text."),
) -> None:
    """numastat (numactl 2.0.16) of a model machine, in numastat's exact layout.

    With no option, the old table of node counters in pages; -n gives them in MB,
    -m shows node meminfo and -p the pages of processes by node, as numastat does.
    """
    from ..reports import NumastatOptions, dumps, numastat_report

    machine, processes = load_scenario(scenario)
    options = NumastatOptions(_process_specs(process, processes), meminfo, numa_stats, compress,
                              skip_zero, verbose)
    try:
        report = numastat_report(machine, options, processes)
    except ValueError as err:
        raise CliError(str(err)) from None
    sys.stdout.write(dumps(report.to_json()) if json_out else report.text(screen_width()))


def _find_process(name: str | None, processes: dict[str, Process], machine: Machine) -> Process:
    if name is None:
        if len(processes) == 1:
            return next(iter(processes.values()))
        names = ", ".join(processes) or "none"
        raise CliError(f"numa_maps needs --process NAME (the scenario's processes: {names})")
    if name in processes:
        return processes[name]
    if name.isascii() and name.isdigit():
        try:
            return machine.process(int(name))
        except ProcessLookupError:
            raise CliError(f"no process with pid {name}") from None
    raise CliError(f"no process {name!r} in the scenario (it has: {', '.join(processes) or 'none'})")


@app.command(epilog=_REPORT_EXAMPLES)
def report(
    scenario: Path = typer.Argument(..., help="Scenario file (*.scn) whose final machine is shown."),
    kind: ReportKind = typer.Argument(..., help="Which file: vmstat, zoneinfo or numa_maps."),
    process: str | None = typer.Option(
        None, "--process", metavar="NAME|PID",
        help="The process of numa_maps (needed when the scenario has several)."),
    json_out: bool = typer.Option(False, "--json", help="The parsed report as JSON instead of text."),
) -> None:
    """/proc/vmstat, /proc/zoneinfo or /proc/PID/numa_maps of a model machine,
    as the kernel prints them (numa_maps with the kernelpagesize_kB of 4.1+)."""
    from ..real.procfs import parse_numa_maps
    from ..reports import dumps, numa_maps_json, numa_maps_text, vmstat_json, zoneinfo_json
    from ..reports.formats import vmstat_report_text, zoneinfo_report_text

    machine, processes = load_scenario(scenario)
    if kind is ReportKind.numa_maps:
        proc = _find_process(process, processes, machine)
        if not proc.alive:
            raise CliError(f"process {process or proc.pid} has exited: it has no numa_maps")
        text = numa_maps_text(proc)
        sys.stdout.write(dumps(numa_maps_json(parse_numa_maps(text), proc.pid)) if json_out else text)
        return
    if process is not None:
        raise CliError(f"--process applies to numa_maps only, not {kind.value}")
    text = vmstat_report_text(machine) if kind is ReportKind.vmstat else zoneinfo_report_text(machine)
    if json_out:
        text = dumps(vmstat_json(text) if kind is ReportKind.vmstat else zoneinfo_json(text))
    sys.stdout.write(text)
