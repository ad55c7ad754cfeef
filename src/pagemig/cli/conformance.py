"""``pagemig conformance``: scenario files on the model, the host kernel or a
real Linux 6.1 under QEMU, each step checked against the file's expectations
(the real kernel's answers) and the allow-list of known model differences."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from ..scenario import ScenarioError, check_expectations, parse_file, run_scenario_file
from .app import app
from .errors import CliError

SUITE = Path("conformance")


def _allowed(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise CliError(f"{path}: {err}", status=2) from None


def _model_records(files: list[Path]) -> dict[Path, list[dict[str, Any]]]:
    out = {}
    for path in files:
        try:
            out[path] = run_scenario_file(path, profile="6.1").records
        except ScenarioError as err:
            raise CliError(str(err), status=2) from None
    return out


def _kernel_records(backend: str, files: list[Path]) -> dict[Path, list[dict[str, Any]]]:
    from ..conformance import run_backend, skip_reason
    from ..conformance.errors import ConformanceError

    runnable = []
    for path in files:
        why = skip_reason(backend, path)
        if why:
            typer.echo(f"skip {path}: {why}", err=True)
        else:
            runnable.append(path)
    try:
        return run_backend(backend, runnable)
    except ConformanceError as err:  # what to install, or the guest console's tail
        raise CliError(str(err)) from None


def compare(path: Path, recs: list[dict[str, Any]], allowed: dict[str, str],
            console: Console) -> tuple[int, int]:
    """Check one file's records against its expectations: (differences, allowed)."""
    failed = accepted = 0
    expects = {s.line: s.expect for s in parse_file(path)}
    for rec in recs:
        if rec.get("op") == "error":  # the runner could not run the file to its end
            failed += 1
            console.print(f"[red]{escape(str(path))}:{rec.get('line') or '-'}[/red]: "
                          f"runner error: {escape(str(rec.get('msg')))}", soft_wrap=True)
            continue
        problems = check_expectations(expects.get(rec["line"], {}), rec)
        if not problems:
            continue
        key = f"{path.name}:{rec['line']}"
        if key in allowed:
            accepted += 1
            console.print(f"[yellow]allowed[/yellow] {escape(key)}: {escape(allowed[key])}",
                          soft_wrap=True)
            continue
        failed += 1
        for problem in problems:
            console.print(f"[red]{escape(str(path))}:{rec['line']}[/red]: {escape(problem)}",
                          soft_wrap=True)
    return failed, accepted


@app.command()
def conformance(
    files: list[Path] = typer.Argument(None, help="Scenario files (default: conformance/scenarios)."),
    backend: str = typer.Option("model", "--backend", help="model, host or qemu."),
    allow: Path = typer.Option(SUITE / "allow.toml", "--allow",
                               help="Known model differences (model backend only)."),
) -> None:
    """Check scenario files against a backend, step by step.

    The files' expectations are the real Linux 6.1's answers. On the model
    (profile 6.1) a difference listed in the allow-list is reported but
    accepted; on `qemu` and `host` any difference means the kernel changed.

    Examples:

      pagemig conformance                       # the suite on the model

      pagemig conformance --backend qemu        # boot Linux 6.1 (about 40 s)
    """
    if backend not in ("model", "host", "qemu"):
        raise CliError(f"unknown backend {backend!r} (model, host or qemu)", status=2)
    files = files or sorted((SUITE / "scenarios").glob("*.scn"))
    if not files:
        raise CliError("no scenario files given and none in conformance/scenarios", status=2)
    records = _model_records(files) if backend == "model" else _kernel_records(backend, files)
    allowed = _allowed(allow) if backend == "model" else {}
    console = Console(highlight=False)
    failed = accepted = 0
    for path, recs in records.items():
        bad, ok = compare(path, recs, allowed, console)
        failed, accepted = failed + bad, accepted + ok
    console.print(f"{backend}: {len(records)} file(s), {failed} difference(s), "
                  f"{accepted} allowed")
    if failed:
        raise typer.Exit(1)
