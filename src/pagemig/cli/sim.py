"""``pagemig sim``: replay a trace on the model under a placement policy."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from .app import app
from .errors import CliError

if TYPE_CHECKING:
    from ..sim.metrics import SimResult
    from ..sim.replay import Simulation


CLI_LABELS = {"node_memory": "--node-memory", "cost": "--cost"}


def summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"{summary['policy']} on {summary['topology']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    mig = summary["migrations"]
    modelled = summary["modelled_time_s"]
    rows = [
        ("accesses", f"{summary['accesses']:,}"),
        ("epochs", str(summary["epochs"])),
        ("pages touched", f"{summary['pages_touched']:,}"),
        ("pages per node", " / ".join(f"{n:,}" for n in summary["pages_per_node"])),
        ("local ratio", f"{summary['local_ratio']:.3f}"),
        ("fast-tier ratio", f"{summary['fast_tier_ratio']:.3f}"),
        ("migrations attempted", f"{mig['attempted']:,}"),
        ("migrations succeeded", f"{mig['succeeded']:,}"),
        ("migrations failed", ", ".join(f"{k} {v:,}" for k, v in mig["failed_by_reason"].items())
         or "0"),
        ("modelled access time", f"{modelled['access'] * 1e3:.3f} ms"),
        ("modelled migration time", f"{modelled['migration'] * 1e3:.3f} ms"),
        ("modelled fault time", f"{modelled['fault'] * 1e3:.3f} ms"),
        ("replay speed", f"{summary['accesses_per_second'] / 1e6:.2f} M accesses/s "
         f"({summary['accesses_per_second_without_faults'] / 1e6:.2f} M without first-touch faults)"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    return table


@app.command()
def sim(
    trace: Path = typer.Argument(..., help="Trace file (Parquet, see pagemig trace)."),
    topology: str = typer.Option("dram-cxl", "--topology",
                                 help="2socket, dram-cxl, dram-cxl-2socket, or a TOML file."),
    policy: str = typer.Option("first-touch", "--policy",
                               help="first-touch, interleave, bind, hot-cold, oracle, damos:FILE, "
                                    "or FILE.py:ClassName."),
    param: list[str] = typer.Option([], "--param", help="Policy parameter NAME=VALUE (repeatable)."),
    cost: list[str] = typer.Option([], "--cost", help="Cost-model figure NAME=VALUE (repeatable), "
                                                      "e.g. slow_tier_latency_ns=300."),
    profile: str = typer.Option("2.6.35", "--profile", help="Kernel profile: 2.6.35 or 6.1."),
    epoch: str | None = typer.Option(None, "--epoch",
                                     help="Epoch: 10ms (ns traces), 500000insn, or accesses (1M)."),
    threads_on: str = typer.Option("spread", "--threads-on", help="spread, nodeN, or a list of CPUs."),
    node_memory: str | None = typer.Option(None, "--node-memory",
                                           help="Memory of each node, e.g. 1GiB,8GiB."),
    mapping: str = typer.Option("anon", "--mapping", help="anon, shmem or file."),
    seed: int = typer.Option(0, "--seed", help="Seed of the machine and the policy."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the summary as JSON here."),
    out: Path | None = typer.Option(None, "--out",
                                    help="Write epochs.parquet, summary.json and PNG plots here."),
    html_out: Path | None = typer.Option(None, "--html",
                                         help="Write a self-contained HTML report (plots embedded) here."),
) -> None:
    """Replay a trace on the model under a placement policy; every first touch is
    a page fault of the model, every migration a move_pages(2) of a root daemon.

    Example: pagemig sim T.parquet --topology dram-cxl --policy hot-cold --epoch 10ms --out run/
    """
    from ..sim.replay import SimulationError
    from ..sim.run import SimSpec, key_values
    from ..sim.trace import TraceError

    try:
        spec = SimSpec(topology=topology, policy=policy, params=key_values(param, "--param"),
                       cost=key_values(cost, "--cost"), profile=profile, epoch=epoch,
                       threads_on=threads_on, node_memory=node_memory, mapping=mapping, seed=seed)
        simulation = spec.simulation(trace, CLI_LABELS)
        console = Console(stderr=True)
        if console.is_terminal:
            result = _run_with_progress(simulation, console)
        else:
            result = simulation.run()
    except (TraceError, SimulationError, ValueError, TypeError) as err:
        raise CliError(str(err), status=2) from None
    Console().print(summary_table(result.summary))
    if json_out is not None:
        json_out.write_text(json.dumps(result.summary, indent=2) + "\n")
    if out is not None:
        from ..sim.plots import save_all

        paths = result.write(out)
        paths += save_all(result.columns(), result.heatmap(), out,
                          f"{simulation.policy.name}, {simulation.topology.name}")
        print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    if html_out is not None:
        from ..sim.html import png_bytes, sim_report
        from ..sim.plots import figures

        label = f"{simulation.policy.name}, {simulation.topology.name}"
        plots = {name: png_bytes(fig) for name, fig in figures(result.columns(), result.heatmap(),
                                                                label).items()}
        parameters = {"trace": trace, "topology": simulation.topology.describe(),
                      "policy": policy, **{f"param {k}": v for k, v in spec.params},
                      **{f"cost {k}": v for k, v in spec.cost}, "profile": profile,
                      "epoch": result.summary["epoch"], "threads on": threads_on,
                      "mapping": mapping, "seed": seed}
        html_out.write_text(sim_report(result.summary, parameters, plots))
        print(f"wrote {html_out}", file=sys.stderr)


def _run_with_progress(simulation: Simulation, console: Console) -> SimResult:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=console,
                  transient=True) as progress:
        task = progress.add_task("scanning the trace", total=None, rate="")
        simulation.prepare()
        progress.update(task, description="replaying", total=simulation.scan.rows, completed=0)

        def update(done: int, total: int) -> None:
            speed = progress.tasks[0].speed
            progress.update(task, completed=done,
                            rate=f"{speed / 1e6:.1f} M accesses/s" if speed else "")

        return simulation.run(progress=update)
