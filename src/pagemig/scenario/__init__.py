"""Scenario files: a machine and steps that mirror the public API, each with
an optional expectation (docs/scenarios.md).

>>> from pagemig.scenario import run_scenario_text
>>> run = run_scenario_text('''
... spawn p uid=1000
... p: map a anon 2
... p: write a:*
... p: fork c
... p: write a:1 gen=2
... p: move self a:* 1 MOVE => status=EACCES,1
... ''')
>>> [r["problems"] for r in run.records][-1]
[]
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .expect import Record, check_expectations
from .model import ModelRun
from .syntax import COMMANDS, ScenarioError, Step, parse_file, parse_text

__all__ = ["COMMANDS", "ModelRun", "Record", "ScenarioError", "Step", "check_expectations",
           "parse_file", "parse_text", "run_scenario_file", "run_scenario_text"]


def run_scenario_file(path: str | Path, profile: str | None = None,
                      on_step: Callable[[Step, Record], None] | None = None,
                      trace: bool = False) -> ModelRun:
    """Parse and run a scenario file on the model; ScenarioError if the file is wrong.
    Mismatched expectations do not raise: they are in ``run.failures``."""
    return ModelRun(parse_file(path), str(path), profile, on_step, trace).run()


def run_scenario_text(text: str, path: str = "<scenario>", profile: str | None = None,
                      on_step: Callable[[Step, Record], None] | None = None,
                      trace: bool = False) -> ModelRun:
    return ModelRun(parse_text(text, path), path, profile, on_step, trace).run()
