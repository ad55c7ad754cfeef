"""Errors the CLI reports as one line."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..scenario import ModelRun


class CliError(Exception):
    """A one-line error; ``status`` is the exit status (2: a bad input file)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def oops_message(kernel: str, message: str) -> str:
    """How the CLI reports a real kernel oops the model reproduces
    (KernelBug with ``kernel`` set, docs/kernel-bugs.md)."""
    return f"Linux {kernel} would oops here: {message}"


def refuse_oops(run: ModelRun, path: object) -> None:
    """A scenario whose kernel oopsed leaves no machine worth reporting on:
    say where it oopsed (exit status 1)."""
    record = run.oops
    if record is not None:
        raise CliError(f"{path}:{record['line']}: {oops_message(record['oops'], record['bug'])}")
