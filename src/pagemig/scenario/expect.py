"""Expectations (``=> key=value``) checked against a step's record.

A record is the backend-neutral outcome of one step (docs/conformance.md):
``ret``, ``errno`` (a name or None), ``status`` (None = unwritten),
``nodes`` (None = not present), ``signal``, ``data``. The same check runs
on records from the model, the host kernel and the QEMU guest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import values

Record = dict[str, Any]


def check_expectations(expect: Mapping[str, str], record: Record) -> list[str]:
    """Every way the record differs from the expectation, as text."""
    problems = []
    for key, want in expect.items():
        problem = _check(key, want, record)
        if problem:
            problems.append(problem)
    if "errno" not in expect and record.get("errno"):
        problems.append(f"failed with {record['errno']} (add errno={record['errno']} "
                        "if that is expected)")
    if "signal" not in expect and record.get("signal"):
        problems.append(f"killed by {record['signal']} (add signal={record['signal']} "
                        "if that is expected)")
    if record.get("op") == "check" and "data" not in expect and record.get("data") == "bad":
        problems.append(f"data differs: {record.get('detail', '')}".rstrip(": "))
    return problems


def parse_expectation(key: str, value: str) -> Any:
    """The value of ``key=value`` (ValueError when it is malformed): what
    syntax.py validates before anything runs and _check compares."""
    if key in ("ret", "node"):
        return values.parse_int(value)
    if key == "errno":
        return "ok" if values.parse_errno_name(value) is None else value.lstrip("-")
    if key == "status":
        return values.parse_status_list(value)
    if key == "nodes":
        return values.parse_node_list(value)
    if key in WORDS:
        if value not in WORDS[key]:
            raise ValueError(f"{key} must be {' or '.join(WORDS[key])}")
        return value
    raise AssertionError(f"unchecked expectation key {key!r}")  # syntax.py rejects others


WORDS: dict[str, tuple[str, ...]] = {"data": ("ok", "bad"), "signal": ("SIGSEGV", "SIGBUS", "none")}


def _check(key: str, want_text: str, record: Record) -> str | None:
    want = parse_expectation(key, want_text)
    if key == "ret":
        got = record.get("ret")
        return None if got == want else f"expected ret={want_text}, got ret={got}"
    if key == "errno":
        got = record.get("errno") or "ok"
        return None if got == want else f"expected errno={want}, got errno={got}"
    if key == "status":
        return _check_list(key, want, record.get("status"))
    if key == "nodes":
        return _check_list(key, want, record.get("nodes"), "-")
    if key == "node":
        nodes = record.get("nodes") or []
        return _check_list("nodes", [want] * len(nodes), nodes, "-")
    have = record.get(key) or ("ok" if key == "data" else "none")  # data, signal
    return None if have == want else f"expected {key}={want}, got {key}={have}"


def _check_list(key: str, want: list[values.StatusItem], got: list[int | None] | None,
                none: str = values.UNWRITTEN) -> str | None:
    if got is None:
        return f"expected {key}=..., but the step gave no {key}"
    if values.matches(want, got):
        return None
    return (f"expected {key}={_format_expected(want, none)}, "
            f"got {key}={values.format_list(got, none)}")


def _format_expected(items: list[values.StatusItem], none: str) -> str:
    if all(isinstance(item, int) or item is None for item in items):
        return values.format_list([item for item in items if not isinstance(item, str)], none)
    return ",".join(none if item is None else str(item) if isinstance(item, str)
                    else values.format_status(item) for item in items)
