"""Write a real kernel's answers into a scenario file as `=>` expectations.

The expectation language is docs/scenarios.md's. Only what a step is about
is written: ret (or errno) and status for move_pages and query, plus where
the pages went after move, mbind and `where`; ret for migrate_pages and
ksm_merge; data for `check`; signal for a faulting access; errno for any
other step that failed. A line whose comment says `no ret=` keeps its
`ret` out (a count the real kernel does not repeat between boots, see
docs/conformance.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..scenario.values import format_list
from .records import Record

RUN = 3
"""Runs of at least this many equal status items are written ITEM*N."""

WITH_RET = frozenset({"move", "query", "migrate", "ksm_merge"})
WITH_NODES = frozenset({"move", "mbind", "where", "migrate"})


def status_list(status: Sequence[int | None]) -> str:
    """A status array: node ids, errno names, `unwritten`; runs of RUN or more as ITEM*N."""
    return format_list(status, min_run=RUN)


def nodes_expectation(nodes: Sequence[int | None]) -> str:
    """node=N when every page is on N, else nodes=LIST (`-`: not present)."""
    if nodes and nodes[0] is not None and all(n == nodes[0] for n in nodes):
        return f"node={nodes[0]}"
    return "nodes=" + ",".join("-" if n is None else str(n) for n in nodes)


NO_RET_MARK = "no ret="


def expectation(rec: Record, with_ret: bool = True) -> str:
    """The expectation words of a step record ('' when there is nothing to say)."""
    op = rec["op"]
    words = []
    if rec.get("signal"):
        words.append(f"signal={rec['signal']}")
    if rec["errno"] is not None:
        words.append(f"errno={rec['errno']}")
    elif op in WITH_RET and rec["ret"] is not None and with_ret:
        words.append(f"ret={rec['ret']}")
    if op in ("move", "query") and rec["status"] is not None:
        words.append(f"status={status_list(rec['status'])}")
    if op in WITH_NODES and rec["nodes"]:
        words.append(nodes_expectation(rec["nodes"]))
    if rec.get("data"):
        words.append(f"data={rec['data']}")
    return " ".join(words)


def annotate_line(line: str, expect: str) -> str:
    """The line with its expectation replaced; its comment is kept."""
    body, hash_, comment = line.partition("#")
    command = body.split("=>", 1)[0].rstrip()
    if not expect:
        new = command
    else:
        new = f"{command} => {expect}"
    if hash_:
        new = f"{new}  #{comment.rstrip()}" if command else f"#{comment.rstrip()}"
    return new


def annotate(text: str, records: Sequence[Record]) -> str:
    """The scenario text with every step's expectation set from its record."""
    by_line = {rec["line"]: rec for rec in records if rec.get("op") not in ("error", None)}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        rec = by_line.get(i + 1)
        if rec is not None:
            with_ret = NO_RET_MARK not in line.partition("#")[2]
            lines[i] = annotate_line(line, expectation(rec, with_ret))
    return "\n".join(lines) + "\n"
