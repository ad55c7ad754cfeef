"""``pagemig bench``: the benchmark suite (a table, and JSON with --json)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from .app import app


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="1 Ki pages only, no 1 TiB machine (seconds)."),
    sizes: str = typer.Option("1024,16384,262144", help="Comma-separated page counts."),
    case: list[str] = typer.Option([], "--case", help="Run only this case (repeatable)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the report as JSON here."),
    repeat: int = typer.Option(1, "--repeat", min=1,
                               help="Run each case this many times and report the best."),
) -> None:
    """Measure the model's speed and memory, with ratios to references measured
    in the same run.

    Example: pagemig bench --quick --json bench.json
    """
    from ..bench import CASES, dumps, run, table

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
