"""Golden files: expected outputs kept under tests/golden/, compared byte for byte.

A golden file changes only on purpose: run the test with
``PAGEMIG_UPDATE_GOLDEN=1``; it rewrites the file and fails, saying so, so
that an update is never mistaken for a pass. Review the change with
``git diff tests/golden`` before committing it.

    from .golden import assert_golden
    assert_golden("numastat-m.txt", text)
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE_ENV = "PAGEMIG_UPDATE_GOLDEN"


def _current_test() -> str:
    """The running test's node id (``tests/test_x.py::test_y[param]``)."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    return current.rsplit(" ", 1)[0] if current else "tests"


def regenerate_command() -> str:
    return f"{UPDATE_ENV}=1 .venv/bin/pytest -q '{_current_test()}'"


def assert_golden(name: str, actual: str) -> None:
    """Fail unless ``actual`` equals tests/golden/``name``; with PAGEMIG_UPDATE_GOLDEN=1
    write ``actual`` there instead, and fail to say it was written."""
    path = GOLDEN_DIR / name
    if os.environ.get(UPDATE_ENV) == "1":
        previous = path.read_bytes().decode() if path.exists() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode())
        what = "created" if previous is None else "unchanged" if previous == actual else "updated"
        pytest.fail(f"golden file {path} {what} ({UPDATE_ENV}=1); rerun without it to check",
                    pytrace=False)
    if not path.exists():
        pytest.fail(f"golden file {path} does not exist; create it with: {regenerate_command()}",
                    pytrace=False)
    expected = path.read_bytes().decode()
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True),
                                            actual.splitlines(keepends=True),
                                            f"golden/{name}", "actual"))
        pytest.fail(f"output differs from golden file {path}:\n{diff}\n"
                    f"if the change is intended, regenerate with: {regenerate_command()}",
                    pytrace=False)
