"""``pagemig bench``: the benchmark suite (a table, and JSON with --json)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from .app import app
from .errors import CliError


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="1 Ki pages only, no 1 TiB machine (seconds)."),
    sizes: str = typer.Option("1024,16384,262144", help="Comma-separated page counts."),
    case: list[str] = typer.Option([], "--case", help="Run only this case (repeatable)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the report as JSON here."),
    repeat: int = typer.Option(1, "--repeat", min=1,
                               help="Run each case this many times and report the best."),
    sim_accesses: int = typer.Option(50_000_000, "--sim-accesses", min=1,
                                     help="--case sim: accesses in the Zipf trace."),
    sim_pages: int = typer.Option(1 << 20, "--sim-pages", min=2, help="--case sim: pages in the trace."),
    live_pages: int = typer.Option(1 << 16, "--live-pages", min=1, help="--case live: pages moved per call."),
    sweep_workers: int | None = typer.Option(
        None, "--sweep-workers", min=2, help="--case sweep: local cluster workers (default: all cores)."),
    sweep_cells: int | None = typer.Option(
        None, "--sweep-cells", min=1, help="--case sweep: scaling grid cells (default: 4 per worker)."),
    sweep_accesses: int = typer.Option(10_000_000, "--sweep-accesses", min=1,
                                       help="--case sweep: accesses of the scaling grid's trace."),
) -> None:
    """Measure the model's speed and memory, with ratios to references measured
    in the same run.

    `--case sim` replays a Zipf trace (50 M accesses over 1 Mi pages; --quick:
    2 M over 64 Ki) under first-touch and hot-cold against a plain numpy pass.

    `--case live` times move_pages(2) of 64 Ki pages of this process through
    pagemig.real (a query, and a move of each page to its current node)
    against the same call from C (built with cc when present, else a raw
    ctypes call), best of --repeat (default 5 here).

    `--case sweep` runs two grids in this process (--workers 1) and on a
    local Dask cluster (--sweep-workers, default all cores): 100 cells of
    first-touch on a 64-access trace (the engine's overhead per cell) and 4
    cells per worker of hot-cold on 10 M Zipf accesses over 256 Ki pages
    (cells of about 3 s here; cells per second), and the same cells on a
    plain process pool of as many processes, without Dask;
    --quick: 40 cells, and 200 k accesses over 4 Ki pages.

    Example: pagemig bench --quick --json bench.json
    """
    from ..bench import (
        CASES,
        LIVE_CASE,
        SIM_CASE,
        SWEEP_CASE,
        dumps,
        run,
        run_sim,
        sim_table,
        table,
    )

    if SWEEP_CASE in case:
        if len(case) > 1:
            raise typer.BadParameter("--case sweep runs alone", param_hint="--case")
        _sweep(quick, repeat, json_out, sweep_workers, sweep_cells, sweep_accesses)
        return
    if LIVE_CASE in case:
        if len(case) > 1:
            raise typer.BadParameter("--case live runs alone", param_hint="--case")
        _live(live_pages, repeat if repeat > 1 else 5, json_out)
        return
    if SIM_CASE in case:
        if len(case) > 1:
            raise typer.BadParameter("--case sim runs alone", param_hint="--case")
        console = Console(stderr=True)
        accesses, pages = (2_000_000, 1 << 16) if quick else (sim_accesses, sim_pages)
        with console.status("benchmarking") as status:
            report = run_sim(accesses, pages, progress=lambda what: status.update(f"benchmarking: {what}"),
                             repeat=repeat)
        print(sim_table(report))
        if json_out is not None:
            json_out.write_text(dumps(report))
        return
    unknown = [c for c in case if c not in CASES]
    if unknown:
        raise typer.BadParameter(f"unknown case {unknown[0]!r}; known: {', '.join(CASES)}",
                                 param_hint="--case")
    try:
        size_list = [1024] if quick else [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(f"cannot read {sizes!r} as page counts", param_hint="--sizes") from None
    if not size_list or any(s < 2 for s in size_list):
        raise typer.BadParameter("page counts must be at least 2", param_hint="--sizes")
    console = Console(stderr=True)
    with console.status("benchmarking") as status:
        report = run(size_list, case or None, big=not quick,
                     progress=lambda what: status.update(f"benchmarking: {what}"), repeat=repeat)
    print(table(report))
    if json_out is not None:
        json_out.write_text(dumps(report))



def _live(pages: int, repeat: int, json_out: Path | None) -> None:
    from ..bench import dumps, live_table, run_live

    console = Console(stderr=True)
    try:
        with console.status("benchmarking") as status:
            report = run_live(pages, repeat, progress=lambda what: status.update(f"benchmarking: {what}"))
    except OSError as err:
        raise CliError(f"--case live: the live kernel's move_pages failed here: {err}") from None
    print(live_table(report))
    if json_out is not None:
        json_out.write_text(dumps(report))


def _sweep(quick: bool, repeat: int, json_out: Path | None, workers: int | None, cells: int | None,
           accesses: int) -> None:
    from ..bench import dumps, run_sweep_case, sweep_table
    from ..sweep.engine import SweepError

    console = Console(stderr=True)
    sizes = {"accesses": 200_000, "pages": 1 << 12, "overhead_cells": 40} if quick else {
        "accesses": accesses, "pages": 1 << 18, "overhead_cells": 100}
    try:
        with console.status("benchmarking") as status:
            report = run_sweep_case(workers, cells, repeat=repeat,
                                    progress=lambda what: status.update(f"benchmarking: {what}"), **sizes)
    except SweepError as err:
        raise CliError(f"--case sweep: {err}") from None
    print(sweep_table(report))
    if json_out is not None:
        json_out.write_text(dumps(report))
