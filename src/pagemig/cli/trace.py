"""``pagemig trace``: memory-access traces recorded, imported and summarised.

Each subcommand is one function registered on ``trace_app`` with
``@trace_app.command(...)``; ``trace_errors()`` turns a bad input into a
one-line error with exit status 2, and Ctrl-C into status 130, after the
trace writer has removed its partial file.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from .app import app
from .errors import CliError

trace_app = typer.Typer(
    name="trace",
    help="Memory-access traces: record a program, import other tools' traces, summarise.",
    no_args_is_help=True,
)
app.add_typer(trace_app, name="trace")

INTERRUPTED = 128 + signal.SIGINT


@contextmanager
def trace_errors() -> Iterator[None]:
    """A TraceError as a one-line error with exit status 2; Ctrl-C as status 130."""
    from ..sim.trace import TraceError

    try:
        yield
    except TraceError as err:
        raise CliError(str(err), status=2) from None
    except KeyboardInterrupt:
        raise CliError("interrupted; no trace written", status=INTERRUPTED) from None


def _output_option() -> Path:
    option: Path = typer.Option(..., "-o", "--output", help="The trace file to write (Parquet).")
    return option


@trace_app.command("record", context_settings={"allow_interspersed_args": False,
                                                "ignore_unknown_options": True})
def record(
    command: list[str] = typer.Argument(..., metavar="-- CMD [ARGS]...",
                                        help="The program to run and its arguments."),
    output: Path = _output_option(),
    sample: int = typer.Option(1, "--sample", min=1, metavar="N",
                               help="Keep every Nth access (the trace is then marked sampled)."),
) -> None:
    """Run a program under valgrind's lackey and write its memory accesses as a trace.

    The trace is converted as valgrind writes it (no text file is kept); threads
    are told apart by valgrind's scheduler messages. The program's output passes
    through, and pagemig exits with the program's exit status.

    Example: pagemig trace record -o ls.parquet -- ls -l /
    """
    from ..sim.trace.record import record as record_trace

    with trace_errors():
        result = record_trace(command, output, sample=sample)
    what = f"{result.rows} of {result.accesses} accesses" if sample > 1 else f"{result.rows} accesses"
    typer.echo(f"pagemig: wrote {what} to {output}", err=True)
    if result.status != 0:
        status = 128 - result.status if result.status < 0 else result.status
        how = (f"was killed by signal {-result.status}" if result.status < 0
               else f"exited with status {result.status}")
        typer.echo(f"pagemig: {command[0]} {how}; the trace of its run is written", err=True)
        raise typer.Exit(status)


@trace_app.command("import")
def import_(
    format_name: str = typer.Argument(..., metavar="FORMAT",
                                      help="lackey, pin, drmemtrace, perf or damo."),
    source: str = typer.Argument(..., metavar="FILE", help="The tool's output ('-': standard input)."),
    output: Path = _output_option(),
    period: int | None = typer.Option(None, "--period", metavar="N",
                                      help="perf only: the sampling period (perf mem record -c N)."),
) -> None:
    """Convert another tool's memory trace to a trace file (gzip input is read as is).

    Example: pagemig trace import lackey lackey.log -o t.parquet
    """
    from ..sim.trace.importers import import_trace

    with trace_errors():
        rows = import_trace(format_name, source, output, period=period)
    typer.echo(f"pagemig: wrote {rows} rows to {output}", err=True)


@trace_app.command("synth")
def synth(
    pattern: str = typer.Argument(..., metavar="PATTERN",
                                  help="uniform, zipf, phases, scan or prodcons."),
    pages: int = typer.Option(..., "--pages", metavar="N", help="Pages of the traced range."),
    accesses: int = typer.Option(..., "--accesses", metavar="M", help="Accesses to generate."),
    output: Path = _output_option(),
    threads: int = typer.Option(1, "--threads", metavar="T", help="Threads (tids 0..T-1)."),
    seed: int = typer.Option(0, "--seed", metavar="S", help="Seed of the generator."),
    interval_ns: int = typer.Option(10, "--interval-ns", metavar="NS",
                                    help="Time between two accesses."),
    write_ratio: float = typer.Option(0.3, "--write-ratio", help="Share of stores."),
    skew: float = typer.Option(1.0, "--skew", help="zipf: the exponent of 1/rank."),
    hot_fraction: float = typer.Option(0.1, "--hot-fraction", help="phases: hot share of the pages."),
    hot_share: float = typer.Option(0.9, "--hot-share", help="phases: share of accesses to the hot set."),
    phases: int = typer.Option(4, "--phases", help="phases: how many times the hot set moves."),
) -> None:
    """Generate a synthetic trace from a seeded generator (tests, examples, benchmarks).

    Example: pagemig trace synth zipf --pages 65536 --accesses 10000000 -o z.parquet
    """
    from ..sim.trace import TraceWriter
    from ..sim.trace.synth import SynthRequest, synthesize

    try:
        request = SynthRequest(pattern, pages=pages, accesses=accesses, threads=threads, seed=seed,
                               interval_ns=interval_ns, write_ratio=write_ratio, skew=skew,
                               hot_fraction=hot_fraction, hot_share=hot_share, phases=phases)
    except (ValueError, TypeError) as err:
        raise CliError(str(err), status=2) from None
    with trace_errors(), TraceWriter(output, request.meta()) as writer:
        for batch in synthesize(request):
            writer.write(batch)
    typer.echo(f"pagemig: wrote {writer.rows} accesses to {output}", err=True)


@trace_app.command("info")
def info(
    trace: Path = typer.Argument(..., metavar="TRACE", help="A trace file (Parquet)."),
    json_out: bool = typer.Option(False, "--json", help="The summary as JSON instead of text."),
) -> None:
    """Summarise a trace: size, span, pages touched, threads, accesses by kind.

    Example: pagemig trace info t.parquet --json
    """
    from ..sim.trace.info import trace_info

    with trace_errors():
        summary = trace_info(trace)
    if json_out:
        sys.stdout.write(json.dumps(summary.to_json(), indent=2) + "\n")
        return
    sys.stdout.write(info_text(summary))


def info_text(s: object) -> str:
    """The text form of a TraceInfo."""
    from ..sim.trace.info import TraceInfo

    assert isinstance(s, TraceInfo)
    sampling = f"sampled, period {s.sample_period}" if s.sampled else "complete"
    accesses = (f"{s.reads} reads, {s.writes} writes, {s.modifies} modifies, {s.fetches} fetches")
    rows = [
        ("trace", s.path),
        ("source", f"{s.source_format} ({sampling})" + (f": {s.command}" if s.command else "")),
        ("size", f"{s.rows} rows, {s.file_bytes} bytes, {s.row_groups} row groups"),
        ("time", f"{s.t_min} .. {s.t_max} {s.time_unit}"),
        ("addresses", f"{s.vaddr_min:#x} .. {s.vaddr_max:#x}"),
        ("pages", f"{s.pages_touched} touched ({s.page_size} B pages)"),
        ("threads", str(s.threads)),
        ("accesses", accesses),
    ]
    if s.sampled:
        rows.append(("weight", f"{s.weight_total} (sum of weight)"))
    width = max(len(key) for key, _ in rows)
    return "".join(f"{key:<{width}}  {value}\n" for key, value in rows)
