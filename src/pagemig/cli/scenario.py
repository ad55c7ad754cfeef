"""``pagemig run``, ``pagemig explain`` and ``pagemig migratepages``: scenario files
(docs/scenarios.md) on the model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn

from ..mm.page import PAGE_SIZE
from ..scenario import ModelRun, Record, ScenarioError, Step, run_scenario_file
from ..scenario import values as sv
from ..units import excerpt
from .app import app
from .errors import CliError, refuse_oops

PROFILE_HELP = "Kernel whose behaviour the model reproduces (2.6.35 or 6.1); overrides the file."


def outcome(record: Record) -> str:
    """A step's result in the scenario's own notation (ret=, errno=, status=, ...)."""
    parts = []
    if record.get("ret") is not None and record["op"] in ("move", "query", "migrate", "reclaim",
                                                          "ksm_merge", "writeback", "compact"):
        parts.append(f"ret={record['ret']}")
    if record.get("errno"):
        parts.append(f"errno={record['errno']}")
    if record.get("status") is not None:
        parts.append(f"status={sv.format_list(record['status'])}")
    if record.get("nodes") is not None:
        parts.append(f"nodes={sv.format_list(record['nodes'], '-')}")
    for key in ("signal", "data", "bug", "invariant"):
        if record.get(key):
            parts.append(f"{key}={record[key]}")
    return " ".join(parts)


@contextmanager
def _progress(console: Console, total: int, enabled: bool) -> Iterator[Any]:
    """A bar over the files, on a terminal only (and never in JSON mode)."""
    if not enabled or total < 2 or not console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total} files"), console=console, transient=True) as progress:
        yield progress


def _printer(console: Console, path: str) -> Any:
    def show(step: Step, record: Record) -> None:
        mark = "[red]FAIL[/red]" if record["problems"] else "[green]ok[/green]"
        console.print(f"{step.line:>4}  {escape(step.text):<44} {escape(outcome(record))}  {mark}",
                      highlight=False, soft_wrap=True)
        for problem in record["problems"]:
            console.print(f"      [red]{escape(path)}:{step.line}: {escape(problem)}[/red]",
                          highlight=False, soft_wrap=True)
        for event in record.get("trace", ()):
            console.print(f"        {escape(event)}", highlight=False, soft_wrap=True)
    return show


@app.command()
def run(
    files: list[Path] = typer.Argument(..., help="Scenario files (.scn) to run, in order."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per step on stdout."),
    trace: bool = typer.Option(False, "--trace", help="Show the trace events of each step."),
    profile: str = typer.Option(None, "--profile", help=PROFILE_HELP),
) -> None:
    """Run scenario files on the model, check their expectations.

    Each step prints its result; a step whose expectation (=> ...) does not
    hold is marked FAIL with the difference. Exit status: 0 all held, 1 a
    mismatch, 2 a file error.

    Examples:

      pagemig run examples/cow-shared-eacces.scn

      pagemig run --json examples/*.scn > results.jsonl
    """
    check_profile(profile)
    console = Console(highlight=False)
    failed = steps = 0
    with _progress(Console(stderr=True), len(files), not as_json) as progress:
        task = progress.add_task("running", total=len(files)) if progress else None
        for path in files:
            if not as_json:
                console.print(f"[bold]{escape(str(path))}[/bold]")
            result = _run_one(path, profile, trace, None if as_json else _printer(console,
                                                                                    str(path)))
            steps += len(result.records)
            failed += len(result.failures)
            if as_json:
                for record in result.records:
                    print(json.dumps({"file": str(path), **record}))
            if progress is not None:
                progress.update(task, advance=1)
    if not as_json:
        verdict = "[red]FAILED[/red]" if failed else "[green]passed[/green]"
        console.print(f"{len(files)} file(s), {steps} step(s), {failed} mismatch(es): {verdict}")
    if failed:
        raise typer.Exit(1)


def check_profile(profile: str | None) -> None:
    """--profile names a kernel profile (exit status 2 otherwise, as for a bad file)."""
    from ..profiles import PROFILES

    if profile is not None and profile not in PROFILES:
        raise CliError(f"--profile: unknown kernel profile {excerpt(profile)} "
                       f"(known: {', '.join(PROFILES)})", status=2)


def _run_one(path: Path, profile: str | None, trace: bool, on_step: Any) -> ModelRun:
    check_profile(profile)
    try:
        return run_scenario_file(path, profile, on_step, trace)
    except ScenarioError as err:
        raise CliError(str(err), status=2) from None


@app.command()
def explain(
    file: Path = typer.Argument(..., help="A scenario file."),
    profile: str = typer.Option(None, "--profile", help=PROFILE_HELP),
) -> None:
    """Why every page of every migration in a scenario ended where it did.

    For each move_pages step: one line per page (address, status, reason);
    for migrate_pages, mbind, compaction and offlining: one line per
    migration attempt.

    Example:

      pagemig explain examples/writeback.scn
    """
    console = Console(highlight=False)
    result = _run_one(file, profile, False, None)
    refuse_oops(result, file)
    shown = 0
    for record in result.records:
        move = result.results.get(record["line"]) if record["op"] == "move" else None
        if move is None and not record.get("attempts"):
            continue
        shown += 1
        console.print(f"[bold]{escape(str(file))}:{record['line']}[/bold]  "
                      f"{escape(record['cmd'])}  ->  {escape(outcome(record))}", soft_wrap=True)
        if move is not None:
            console.print(escape(move.explain()), soft_wrap=True)
        else:
            for attempt in record["attempts"]:
                console.print(f"  pfn {attempt['pfn']:#x}  -> node {attempt['node']}: "
                              f"{escape(attempt['why'])}", soft_wrap=True)
    if not shown:
        console.print("no migration in this scenario")


@app.command()
def migratepages(
    scenario: Path = typer.Argument(..., help="The scenario whose machine to act on."),
    pid: str = typer.Argument(..., help="A process of the scenario: its name or pid."),
    from_nodes: str = typer.Argument(..., help="Source nodes, e.g. 0 or 0-1 or 0,2."),
    to_nodes: str = typer.Argument(..., help="Destination nodes, as many or fewer."),
    profile: str = typer.Option(None, "--profile", help=PROFILE_HELP),
) -> None:
    """numactl's migratepages: move a process's pages between node sets.

    Runs the scenario, then calls migrate_pages(2) as root (as `sudo
    migratepages PID FROM TO` would) and prints where the process's pages
    were before and after.

    Example:

      pagemig migratepages examples/migratepages.scn p 0 1
    """
    console = Console(highlight=False)
    old, new = _node_list("FROM_NODES", from_nodes), _node_list("TO_NODES", to_nodes)
    result = _run_one(scenario, profile, False, None)
    refuse_oops(result, scenario)
    target = _find_process(result, pid)
    before = _pages_per_node(result, target)
    caller = result.m.spawn(uid=0, cpu=0)
    try:
        left = caller.migrate_pages(target.pid, old, new)
    except OSError as err:
        # numactl's wording: "migration failed: <strerror>"
        raise CliError(f"migration failed: {err.strerror}") from None
    after = _pages_per_node(result, target)
    nodes = range(result.m.nr_nodes)
    console.print(f"pid {target.pid}: pages per node " + " ".join(f"N{n}" for n in nodes))
    console.print("  before " + " ".join(f"{before.get(n, 0):>3}" for n in nodes))
    console.print("  after  " + " ".join(f"{after.get(n, 0):>3}" for n in nodes))
    if left:
        console.print(f"{left} page(s) could not be moved")


def _node_list(name: str, text: str) -> list[int]:
    try:
        return sv.parse_nodes(text)
    except ValueError as err:
        raise CliError(f"{name}: bad node list {excerpt(text)}: {err}", status=2) from None


def _find_process(result: ModelRun, pid: str) -> Any:
    procs = result.processes
    if pid in procs:
        return procs[pid]
    for proc in procs.values():
        if str(proc.pid) == pid:
            return proc
    known = ", ".join(f"{n} (pid {p.pid})" for n, p in procs.items()) or "none"
    raise CliError(f"no process {pid!r} in the scenario (processes: {known})")


def _pages_per_node(result: ModelRun, proc: Any) -> dict[int, int]:
    counts: dict[int, int] = {}
    if not proc.alive:
        return counts
    for vma in proc.mm.mmap:
        for addr in range(vma.vm_start, vma.vm_end, PAGE_SIZE):
            node = proc.node_of(addr)
            if node is not None:
                counts[node] = counts.get(node, 0) + 1
    return counts
