"""The runner's output: JSON lines, split into per-file step records.

The format is docs/conformance.md. A run prints an ``env`` record, then for
each file a ``begin`` record, one record per step (or an ``error`` record)
and an ``end`` record, and finally ``done``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ConformanceError

Record = dict[str, Any]

STEP_KEYS = ("line", "cmd", "op", "ret", "errno", "status", "nodes", "signal", "data")
"""The keys of every step record, in the order the runner prints them."""

FRAME_OPS = frozenset({"env", "begin", "end", "done"})


@dataclass
class RunOutput:
    """What one run of the runner printed."""

    env: Record = field(default_factory=dict)
    files: dict[str, list[Record]] = field(default_factory=dict)
    done: bool = False


def parse_lines(text: str) -> list[Record]:
    """The JSON objects of a results stream; other lines (markers, noise) are skipped."""
    records = []
    for raw in text.replace("\r", "").splitlines():
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConformanceError(f"the runner printed a broken record: {line[:200]!r} ({exc})") from exc
        if isinstance(obj, dict):
            records.append(obj)
    return records


def _end_error(end: Record) -> Record | None:
    """An error record for a scenario process that did not exit cleanly."""
    if end.get("signal"):
        return {"line": None, "op": "error", "msg": f"scenario process killed by signal {end['signal']}"}
    if end.get("exit"):
        return {"line": None, "op": "error", "msg": f"scenario process exited with status {end['exit']}"}
    return None


def split_run(records: list[Record]) -> RunOutput:
    """Group step and error records by the file of the enclosing begin/end."""
    out = RunOutput()
    current: list[Record] | None = None
    for rec in records:
        op = rec.get("op")
        if op == "env":
            out.env = rec
        elif op == "begin":
            current = out.files.setdefault(str(rec["file"]), [])
        elif op == "end":
            err = _end_error(rec)
            if current is not None and err and not any(r.get("op") == "error" for r in current):
                current.append(err)
            current = None
        elif op == "done":
            out.done = True
        elif current is not None:
            current.append(rec)
    return out


def parse_run(text: str) -> RunOutput:
    """A whole results stream."""
    return split_run(parse_lines(text))


def step_record(line: int, cmd: str, op: str, ret: int | None = None, errno: str | None = None,
                status: list[int | None] | None = None, nodes: list[int | None] | None = None,
                signal: str | None = None, data: str | None = None) -> Record:
    """A step record as the runner prints it (for the model backend and tests)."""
    return {"line": line, "cmd": cmd, "op": op, "ret": ret, "errno": errno, "status": status,
            "nodes": nodes, "signal": signal, "data": data}
