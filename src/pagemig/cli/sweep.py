"""``pagemig sweep``: a grid of simulations on Dask, and its report.

``pagemig sweep GRID.toml [options]`` runs a grid (``sweep run`` is the same
command), ``pagemig sweep report DIR`` reports on its results. Bad grids are
one line naming the file and key, exit status 2, before anything runs; a
sweep whose cells failed exits with 10 + the number that failed (at most 110).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from .app import app
from .errors import CliError

INTERRUPTED = 130
FAILED_BASE = 10  # exit status 10 + failed cells (at most 110)


class _RunByDefault(TyperGroup):
    """``pagemig sweep GRID.toml`` is ``pagemig sweep run GRID.toml``."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


sweep_app = typer.Typer(
    name="sweep", cls=_RunByDefault, no_args_is_help=True,
    help="Grids of simulations on Dask: pagemig sweep GRID.toml runs one, "
         "pagemig sweep report DIR reports on its results.",
)
app.add_typer(sweep_app, name="sweep")


def failed_status(failed: int) -> int:
    return 0 if failed == 0 else FAILED_BASE + min(failed, 100)


@sweep_app.command("run")
def run(
    grid: Path = typer.Argument(..., help="Grid file (TOML; docs/simulation.md, Sweeps)."),
    out: Path | None = typer.Option(None, "--out", help="Results directory (default: GRID's name + -sweep)."),
    scheduler: str | None = typer.Option(None, "--scheduler",
                                         help="Address of an existing Dask scheduler, tcp://HOST:PORT."),
    workers: int | None = typer.Option(None, "--workers", min=1,
                                       help="Worker processes of the local cluster (default: all cores; "
                                            "1: run in this process)."),
    upload_max: str = typer.Option("64MiB", "--upload-max",
                                   help="With --scheduler, upload traces up to this size (0: none)."),
    json_out: bool = typer.Option(False, "--json", help="JSON lines on stdout: one per cell, then totals."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1,
                                  help="With --scheduler: seconds to wait for it and for a first worker."),
) -> None:
    """Run every cell of a grid (each one pagemig sim run); results.parquet is
    written as cells finish, and a rerun skips the cells already done.

    Example: pagemig sweep examples/sweep/grid.toml --out sweep/ --workers 2
    """
    from ..sweep.engine import SweepError, run_sweep
    from ..sweep.grid import GridError, load_grid
    from ..units import parse_size

    if scheduler is not None and workers is not None:
        raise CliError("--workers is for the local cluster; a scheduler has its own workers", status=2)
    try:
        limit = parse_size(upload_max, "--upload-max")
        plan = load_grid(grid)
    except (GridError, ValueError, TypeError) as err:
        raise CliError(str(err), status=2) from None
    out_dir = out if out is not None else Path(f"{grid.stem}-sweep")
    report = _Reporter(json_out, len(plan.cells))
    try:
        with report:
            outcome = run_sweep(plan, out_dir, workers=workers, scheduler=scheduler, upload_max=limit,
                                on_start=report.start, on_cell=report.cell, connect_timeout_s=timeout)
    except SweepError as err:
        raise CliError(str(err)) from None
    except KeyboardInterrupt:
        print(f"pagemig: interrupted; the cells done are in {out_dir / 'results.parquet'} "
              "(rerun to go on)", file=sys.stderr)
        raise typer.Exit(INTERRUPTED) from None
    report.finish(outcome)
    raise typer.Exit(failed_status(outcome.failed))


class _Reporter:
    """Progress: rich on a terminal, JSON lines with --json, else the totals."""

    def __init__(self, json_out: bool, total: int) -> None:
        self.json = json_out
        self.console = Console(stderr=True)
        self.live = not json_out and self.console.is_terminal
        self.progress: Any = None
        self.task: Any = None
        self.total = total
        self.t0 = time.monotonic()

    def __enter__(self) -> _Reporter:
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TextColumn("ETA"), TimeRemainingColumn(),
                TimeElapsedColumn(), TextColumn("{task.fields[failures]}"), console=self.console)
            self.progress.start()
            self.task = self.progress.add_task("starting", total=self.total, rate="", failures="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def start(self, outcome: Any) -> None:
        self.t0 = time.monotonic()
        if self.progress is not None:
            self.progress.update(self.task, description=f"sweep ({outcome.engine})",
                                 completed=outcome.skipped)

    def cell(self, row: dict[str, Any], outcome: Any) -> None:
        if self.json:
            keep = ("cell", "status", "error", "trace", "topology", "policy", "local_ratio",
                    "migrations_attempted", "modelled_time_s_total")
            print(json.dumps({"event": "cell", **{k: row.get(k) for k in keep},
                              "done": outcome.skipped + outcome.ran, "total": outcome.total,
                              "failed": outcome.failed}), flush=True)
        elif self.progress is not None:
            elapsed = max(time.monotonic() - self.t0, 1e-9)
            failures = f"[red]{outcome.failed} failed[/]" if outcome.failed else "0 failed"
            self.progress.update(self.task, completed=outcome.skipped + outcome.ran,
                                 rate=f"{outcome.ran / elapsed:.2f} cells/s", failures=failures)

    def finish(self, outcome: Any) -> None:
        totals = {"cells": outcome.total, "skipped": outcome.skipped, "ran": outcome.ran,
                  "succeeded": outcome.succeeded, "failed": outcome.failed, "engine": outcome.engine,
                  "results": str(outcome.results), "seconds": round(time.monotonic() - self.t0, 3)}
        if self.json:
            print(json.dumps({"event": "done", **totals,
                              "failures": [{"cell": k, "error": e} for k, e in outcome.failures]}))
            return
        for key, error in outcome.failures[:20]:
            print(f"pagemig: cell {key} failed: {error}", file=sys.stderr)
        if len(outcome.failures) > 20:
            print(f"pagemig: ... and {len(outcome.failures) - 20} more failed cells "
                  f"(their errors are in {outcome.results})", file=sys.stderr)
        print(f"{outcome.total} cells: {outcome.skipped} already done, {outcome.ran} run "
              f"({outcome.failed} failed) in {totals['seconds']:.1f} s on {outcome.engine}; "
              f"results in {outcome.results}")


@sweep_app.command("report")
def report(
    out_dir: Path = typer.Argument(..., help="A sweep's results directory."),
    html: bool = typer.Option(False, "--html", help="Also write DIR/report.html (self-contained)."),
    metric: str = typer.Option("modelled_time_s_total", "--metric",
                               help="What 'best' means: modelled_time_s_total (lowest), local_ratio, "
                                    "fast_tier_ratio (highest) or migrations_attempted (lowest)."),
) -> None:
    """Comparison tables (best policy per trace and topology), a Pareto plot of
    local ratio against migrations, and per-parameter sensitivity plots, in
    DIR/report/; with --html, one page with all of them.

    Example: pagemig sweep report sweep/ --html
    """
    from ..sweep import report as rep

    if metric not in rep.METRICS:
        raise CliError(f"--metric {metric!r}: one of {', '.join(rep.METRICS)}", status=2)
    try:
        rows = rep.load_rows(out_dir)
    except ValueError as err:
        raise CliError(str(err), status=2) from None
    console = Console()
    better = "highest" if rep.METRICS[metric] else "lowest"
    for title, chosen in ((f"Best policy per trace and topology ({better} {metric})",
                           rep.best_rows(rows, metric)),
                          ("Each policy's best cell", rep.policy_rows(rows, metric))):
        console.print(_table(title, chosen))
    figures = rep.figures(rows)
    plot_dir = out_dir / "report"
    plot_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figures.items():
        fig.savefig(plot_dir / f"{name}.png")
        paths.append(plot_dir / f"{name}.png")
    if html:
        from ..sim.html import png_bytes

        grid = out_dir / "grid.toml"
        text = grid.read_text() if grid.is_file() else "(no grid.toml in the results directory)"
        page = rep.html_report(rows, {n: png_bytes(f) for n, f in figures.items()}, text,
                               str(out_dir / "results.parquet"), metric)
        (out_dir / "report.html").write_text(page)
        paths.append(out_dir / "report.html")
    print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)


def _table(title: str, rows: list[dict[str, Any]]) -> Table:
    from ..sweep.report import table_header, table_values

    table = Table(title=title)
    for i, name in enumerate(table_header()):
        table.add_column(name, justify="right" if i >= 3 else "left")
    for row in rows:
        values = table_values(row)
        table.add_row(*[str(v) for v in values[:3]], f"{values[3]:.3f}", f"{values[4]:.3f}",
                      f"{values[5]:,}", f"{values[6]:,}", f"{values[7]:.3f}")
    return table
