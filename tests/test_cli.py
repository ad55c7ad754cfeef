"""The pagemig command: the demo runs, errors are one line and a status."""

from __future__ import annotations

import pytest

from pagemig.cli import main


def test_demo_runs_and_explains_each_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "move_pages returned 0" in out
    assert "EACCES: mapped by 2 processes" in out
    assert "ENOENT: the shared zero page" in out
    assert "migrated to node 1" in out
    assert "Machine.check() holds" in out
    assert "pgmigrate_success" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--nodes", "1"], "at least 2 nodes"),
        (["demo", "--memory", "12 apples"], "cannot read"),
        (["bench", "--case", "nope"], "unknown case"),
    ],
)
def test_errors_are_one_clear_line(argv: list[str], message: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_demo_output_matches_its_golden_file(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain-text demo (no terminal: no colour) is pinned; regenerate it
    deliberately with PAGEMIG_UPDATE_GOLDEN=1 when the narration changes."""
    from tests.golden import assert_golden

    monkeypatch.setenv("COLUMNS", "100")  # rich's width when not on a terminal
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert main(["demo"]) == 0
    assert_golden("demo.txt", capsys.readouterr().out)
