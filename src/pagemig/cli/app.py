"""The typer application and the list its subcommands register in."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="pagemig",
    help="An executable model of Linux page migration on a simulated NUMA machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show the Python traceback of an error."),
) -> None:
    """pagemig: run mm/migrate.c on a simulated NUMA machine."""


# Subcommand modules register themselves on import.
from . import bench, conformance, daemon, demo, reports, scenario, sim, sweep, trace  # noqa: E402,F401
