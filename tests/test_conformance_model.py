"""The conformance suite on the model: every scenario in conformance/scenarios
carries the real Linux 6.1's answers (recorded under QEMU by the qemu backend);
the model's "6.1" profile must give the same, except for the differences
listed with their reasons in conformance/allow.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pagemig.scenario import run_scenario_file

SUITE = Path(__file__).parent.parent / "conformance"
FILES = sorted((SUITE / "scenarios").glob("*.scn"))
ALLOWED: dict[str, str] = tomllib.loads((SUITE / "allow.toml").read_text())


def test_the_suite_is_large_enough() -> None:
    assert len(FILES) >= 40


def test_every_allowance_has_a_reason_and_a_file() -> None:
    names = {f.name for f in FILES}
    for key, reason in ALLOWED.items():
        name, _, line = key.partition(":")
        assert name in names and line.isdigit(), key
        assert len(reason) > 40, f"{key}: give the reason"


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_model_61_agrees_with_linux_61(path: Path) -> None:
    run = run_scenario_file(path, profile="6.1")
    differing = {f"{path.name}:{r['line']}": r["problems"] for r in run.failures}
    unexpected = {k: v for k, v in differing.items() if k not in ALLOWED}
    assert not unexpected, unexpected
    stale = [k for k in ALLOWED if k.startswith(f"{path.name}:") and k not in differing]
    assert not stale, f"allowed differences that no longer differ: {stale}"


def test_conformance_cli_on_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    from pagemig.cli import main

    assert main(["conformance", "--allow", str(SUITE / "allow.toml"),
                 *map(str, FILES)]) == 0
    out = capsys.readouterr().out
    assert f"model: {len(FILES)} file(s), 0 difference(s), {len(ALLOWED)} allowed" in out
    # Without the allow-list the known differences fail the run.
    assert main(["conformance", "--allow", "/nonexistent", *map(str, FILES)]) == 1
    assert main(["conformance", "--backend", "vax", str(FILES[0])]) == 2


def test_runner_errors_and_wrong_answers_count_as_differences() -> None:
    from rich.console import Console

    from pagemig.cli.conformance import compare

    path = SUITE / "scenarios" / "count-zero.scn"
    console = Console(record=True, width=200)
    error = [{"line": None, "op": "error", "msg": "scenario process killed by signal 11"}]
    assert compare(path, error, {}, console) == (1, 0)
    assert "runner error: scenario process killed by signal 11" in console.export_text()
    good = run_scenario_file(path, profile="6.1").records
    assert compare(path, good, {}, console) == (0, 0)
    line = next(r["line"] for r in good if r["op"] == "move")
    wrong = [dict(r, ret=99) if r["line"] == line else r for r in good]
    assert compare(path, wrong, {}, console) == (1, 0)
    assert compare(path, wrong, {f"{path.name}:{line}": "a reason"}, console) == (0, 1)
