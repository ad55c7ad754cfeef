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


def _check(key: str, want: str, record: Record) -> str | None:
    if key == "ret":
        got = record.get("ret")
        return None if got == values.parse_int(want) else f"expected ret={want}, got ret={got}"
    if key == "errno":
        got = record.get("errno") or "ok"
        name = "ok" if values.parse_errno_name(want) is None else want.lstrip("-")
        return None if got == name else f"expected errno={name}, got errno={got}"
    if key == "status":
        return _check_list(key, values.parse_status_list(want), record.get("status"))
    if key == "nodes":
        return _check_list(key, values.parse_node_list(want), record.get("nodes"), "-")
    if key == "node":
        nodes = record.get("nodes") or []
        expected: list[values.StatusItem] = [values.parse_int(want)] * len(nodes)
        return _check_list("nodes", expected, nodes, "-")
    if key in ("data", "signal"):
        have = record.get(key) or ("ok" if key == "data" else "none")
        return None if have == want else f"expected {key}={want}, got {key}={have}"
    raise AssertionError(f"unchecked expectation key {key!r}")  # syntax.py rejects others


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
