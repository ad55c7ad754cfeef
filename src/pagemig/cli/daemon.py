"""``pagemig daemon``: drive a placement policy of ``pagemig sim`` on a live process."""

from __future__ import annotations

import json
from typing import Any

import typer

from .app import app
from .errors import CliError


def epoch_line(report: Any) -> str:
    """One text line per interval."""
    nodes = " ".join(f"N{n}={c}" for n, c in report.pages_per_node.items()) or "-"
    failed = ", ".join(f"{k} {v}" for k, v in report.failed_by_reason.items()) or "0"
    return (f"epoch {report.epoch}: {report.pages_sampled} pages sampled, {report.pages_present} present, "
            f"{report.pages_accessed} accessed, {nodes}; migrations {report.attempted} attempted, "
            f"{report.succeeded} succeeded, failed {failed}")


def summary_lines(summary: dict[str, Any], stopped: str) -> list[str]:
    mig = summary["migrations"]
    failed = ", ".join(f"{k} {v}" for k, v in mig["failed_by_reason"].items()) or "0"
    return [
        f"{summary['policy']} on pid {summary['pid']}: {summary['epochs']} epochs of "
        f"{summary['interval_ms']} ms ({stopped}), access signal {summary['access']}"
        + (", dry run" if summary["dry_run"] else ""),
        f"pages sampled {summary['pages_sampled']} in {summary['vmas']} VMAs, present "
        f"{summary['pages_present']}, per node "
        + (" ".join(f"N{n}={c}" for n, c in summary["pages_per_node"].items()) or "-"),
        f"migrations: {mig['calls']} calls, {mig['attempted']} attempted, {mig['succeeded']} succeeded, "
        f"failed {failed}",
    ]


@app.command()
def daemon(
    policy: str = typer.Argument(..., help="first-touch, hot-cold, damos:FILE, or FILE.py:ClassName "
                                           "(the policies of pagemig sim)."),
    pid: int = typer.Option(..., "--pid", help="The process to watch and migrate."),
    interval_ms: int = typer.Option(1000, "--interval-ms", help="Length of an epoch (sampling interval)."),
    epochs: int = typer.Option(0, "--epochs", help="Epochs to run (0: until Ctrl-C)."),
    param: list[str] = typer.Option([], "--param", help="Policy parameter NAME=VALUE (repeatable)."),
    access: str = typer.Option("auto", "--access", help="Access signal: auto, soft-dirty or present."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count the migrations asked for; make none."),
    json_out: bool = typer.Option(False, "--json", help="One JSON record per epoch, then the summary."),
) -> None:
    """Run a placement policy on a live process: each interval, sample its pages
    (/proc/PID/pagemap, move_pages queries), call the policy, move_pages its choices.

    Example: pagemig daemon hot-cold --pid 1234 --interval-ms 500 --param fast_node=0
    """
    from ..real.daemon import DaemonError, LiveDaemon
    from ..sim.policies import make_policy
    from ..sim.run import key_values

    if epochs < 0:
        raise CliError(f"--epochs must be 0 or more, got {epochs}", status=2)
    try:
        chosen = make_policy(policy, dict(key_values(param, "--param")))
        runner = LiveDaemon(pid, chosen, interval_ms=interval_ms, access=access, dry_run=dry_run)
        runner.setup()
    except (FileNotFoundError, ProcessLookupError):
        raise CliError(f"no process {pid}", status=2) from None
    except PermissionError as err:
        raise CliError(f"process {pid}: {err.strerror} (reading its pagemap and moving its pages "
                       "needs ptrace access: same user or CAP_SYS_PTRACE)", status=2) from None
    except (DaemonError, ValueError, TypeError) as err:
        raise CliError(str(err), status=2) from None

    def show(report: Any) -> None:
        print(json.dumps(report.to_json()) if json_out else epoch_line(report), flush=True)

    stopped = "done"
    try:
        runner.run(epochs or None, on_epoch=show)
    except KeyboardInterrupt:
        stopped = "stopped by Ctrl-C"
    except (FileNotFoundError, ProcessLookupError):
        stopped = "the process exited"
    summary = runner.summary()
    if json_out:
        print(json.dumps({"summary": summary, "stopped": stopped}), flush=True)
    else:
        print("\n".join(summary_lines(summary, stopped)), flush=True)
