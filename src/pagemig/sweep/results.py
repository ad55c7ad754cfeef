"""The results table of a sweep: ``DIR/results.parquet``, one row per cell.

Columns, in this order: ``cell`` (the cell's key), ``status`` (``ok`` or
``failed``), ``error`` (one line, null when ok); the cell's parameters
(``trace`` as the grid names it, ``topology``, ``policy``, ``node_memory``,
``epoch``, ``profile``, ``mapping``, ``threads_on``, ``param_NAME`` for each
policy parameter and ``cost_NAME`` for each cost figure, null where a cell's
policy has no such parameter), ``trace_sha256``, ``seed``; then every figure
of the replay's summary.json, flattened (``migrations_succeeded``,
``migrations_failed_ENOMEM``, ``modelled_time_s_total``, ``pages_node0``,
``wall_seconds_total``, ...; null for a failed cell), then ``worker`` (the Dask
worker's address, ``local`` in process) and ``cell_seconds``.

The table is rewritten whole (to a hidden file, then renamed) as cells
finish, at most once a second and at the end: an interrupted sweep leaves a
readable table, and a restarted one skips the cells whose row says ``ok``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

FIRST = ("cell", "status", "error")
LAST = ("worker", "cell_seconds")
# Figures that vary with the machine's load, not with the cell: left out when comparing runs.
TIMING = ("accesses_per_second", "accesses_per_second_without_faults", "worker", "cell_seconds")
_IDENTITY = ("trace", "policy", "topology", "profile", "seed")  # the cell's own columns already


def flatten_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """summary.json as one flat row (see the module docstring)."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if key in _IDENTITY:
            continue
        if key == "epoch":
            out["epoch_length"] = value
        elif key == "pages_per_node":
            out.update({f"pages_node{i}": n for i, n in enumerate(value)})
        elif key == "migrations":
            for name, figure in value.items():
                if name == "failed_by_reason":
                    out.update({f"migrations_failed_{r}": n for r, n in figure.items()})
                else:
                    out[f"migrations_{name}"] = figure
        elif isinstance(value, dict):
            out.update({f"{key}_{name}": figure for name, figure in value.items()})
        else:
            out[key] = value
    return out


def is_timing(column: str) -> bool:
    return column in TIMING or column.startswith("wall_seconds_")


def _arrow_type(values: list[Any]) -> Any:
    import pyarrow as pa

    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def build_table(rows: list[dict[str, Any]], parameters: Iterable[str] = ()) -> Any:
    """The pyarrow Table of these rows, columns in the documented order."""
    import pyarrow as pa

    params = [c for c in parameters if c not in FIRST]
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    middle = [c for c in seen if c not in FIRST and c not in LAST and c not in params]
    reasons = sorted(c for c in middle if c.startswith("migrations_failed_"))
    middle = [c for c in middle if c not in reasons]
    if "migrations_failed" in middle:
        at = middle.index("migrations_failed") + 1
        middle[at:at] = reasons
    else:
        middle += reasons
    lead = [*FIRST, *params, *[c for c in ("trace_sha256", "seed") if c not in params]]
    order = [*lead, *[c for c in middle if c not in lead], *LAST]
    arrays = {}
    for column in order:
        values = [_fill(row, column) for row in rows]
        kind = _arrow_type(values)
        if kind == pa.string():
            values = [None if v is None else str(v) for v in values]
        arrays[column] = pa.array(values, type=kind)
    return pa.table(arrays)


def _fill(row: Mapping[str, Any], column: str) -> Any:
    """A row's value; a failure reason an ok cell did not meet counts 0."""
    if column in row:
        return row[column]
    if column.startswith("migrations_failed_") and row.get("status") == "ok":
        return 0
    return None


class ResultsStore:
    """``DIR/results.parquet``: the rows so far, rewritten as cells finish, in
    the grid's order of cells (``order``: their keys)."""

    def __init__(self, out_dir: Path, parameters: Iterable[str] = (), order: Iterable[str] = (),
                 every_s: float = 1.0) -> None:
        self.out_dir = out_dir
        self.order = {key: i for i, key in enumerate(order)}
        self.path = out_dir / "results.parquet"
        self.parameters = list(parameters)
        self.every_s = every_s
        self.rows: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self._flushed = 0.0
        if self.path.exists():
            import pyarrow.parquet as pq

            for row in pq.read_table(self.path).to_pylist():
                self.rows[row["cell"]] = {k: v for k, v in row.items() if v is not None}

    def done(self) -> set[str]:
        """Keys of the cells that ran to the end (a failed cell runs again)."""
        return {key for key, row in self.rows.items() if row.get("status") == "ok"}

    def add(self, row: dict[str, Any]) -> None:
        self.rows[row["cell"]] = row
        self._dirty = True
        if time.monotonic() - self._flushed >= self.every_s:
            self.flush()

    def flush(self) -> None:
        if not self._dirty and self.path.exists():
            return
        import pyarrow.parquet as pq

        self.out_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.out_dir / f".results.parquet.{os.getpid()}.tmp"
        rows = sorted(self.rows.values(), key=lambda row: self.order.get(row["cell"], len(self.order)))
        pq.write_table(build_table(rows, self.parameters), tmp)
        os.replace(tmp, self.path)
        self._dirty = False
        self._flushed = time.monotonic()
