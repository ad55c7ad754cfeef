"""Metrics of a replay: one row per epoch, and the totals (docs/simulation.md, "Metrics").

Columns of ``epochs.parquet`` (N nodes, R failure reasons seen in the run):

==========================  =====================================================
``epoch``                   index (epochs without accesses are skipped)
``t_start``, ``t_end``      the epoch's span in trace time
``accesses``                accesses replayed (weighted for sampled traces)
``threads``                 threads with accesses in the epoch
``local_accesses``          accesses whose memory node is the accessing CPU's node
``fast_accesses``           accesses served by the fast tier
``accesses_node{m}``        accesses served by node m
``pages_node{m}``           pages of the traced ranges on node m at the epoch's end
``faults``                  first touches (page faults of the model)
``migrate_calls``           move_pages(2) calls of the daemon
``migrations_attempted``    pages asked to move
``migrations_succeeded``    pages whose status is the node asked for
``migrations_failed``       the others
``failed_{REASON}``         failures by reason (errno name, or ``unwritten``)
``access_ns``, ``migration_ns``, ``fault_ns``  modelled time (cost.py)
``heat``                    list of accesses per address bin (the heatmap's column)
==========================  =====================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

    from .replay import Simulation


class Recorder:
    """Counts page events as they happen and closes one row per epoch."""

    def __init__(self, nr_nodes: int) -> None:
        self.nr_nodes = nr_nodes
        self.rows: list[dict[str, Any]] = []
        self.heat: list[np.ndarray] = []
        self.reasons: dict[str, int] = {}
        self.begin_epoch()

    def begin_epoch(self) -> None:
        self.faults = 0
        self.calls = 0
        self.attempted = 0
        self.succeeded = 0
        self.failed_by: dict[str, int] = {}

    def fail(self, reason: str, count: int) -> None:
        self.failed_by[reason] = self.failed_by.get(reason, 0) + count
        self.reasons[reason] = self.reasons.get(reason, 0) + count

    def end_epoch(self, sim: Simulation, index: int, t_start: int, t_end: int, accesses: int,
                  pairs: np.ndarray, threads: int, counts: np.ndarray) -> None:
        n = self.nr_nodes
        failed = self.attempted - self.succeeded
        cost = sim.cost.epoch(pairs, threads, self.calls, self.succeeded, failed, self.faults)
        per_node = pairs.sum(axis=0)
        row: dict[str, Any] = {
            "epoch": index, "t_start": t_start, "t_end": t_end, "accesses": accesses, "threads": threads,
            "local_accesses": int(np.trace(pairs)),
            "fast_accesses": int(per_node[sim.topology.fast_nodes()].sum()),
            **{f"accesses_node{m}": int(per_node[m]) for m in range(n)},
            **{f"pages_node{m}": int(sim.resident[m]) for m in range(n)},
            "faults": self.faults, "migrate_calls": self.calls,
            "migrations_attempted": self.attempted, "migrations_succeeded": self.succeeded,
            "migrations_failed": failed, "failed": dict(self.failed_by),
            "access_ns": cost.access_ns, "migration_ns": cost.migration_ns, "fault_ns": cost.fault_ns,
        }
        self.rows.append(row)
        bins = min(sim.config.heat_bins, len(counts))
        starts = (np.arange(bins) * len(counts)) // bins
        self.heat.append(np.add.reduceat(counts, starts).astype(np.float32))

    def result(self, sim: Simulation) -> SimResult:
        return SimResult(self.rows, self.heat, sorted(self.reasons), _summary(self, sim))


@dataclass
class SimResult:
    """The replay's epochs (``table()``) and totals (``summary``)."""

    rows: list[dict[str, Any]]
    heat: list[np.ndarray]
    reasons: list[str]
    summary: dict[str, Any] = field(default_factory=dict)

    def columns(self) -> dict[str, np.ndarray]:
        """The epochs table as numpy columns (without ``heat``)."""
        out: dict[str, np.ndarray] = {}
        if not self.rows:
            return out
        for key in self.rows[0]:
            if key != "failed":
                out[key] = np.array([row[key] for row in self.rows])
        for reason in self.reasons:
            out[f"failed_{reason}"] = np.array([row["failed"].get(reason, 0) for row in self.rows],
                                               dtype=np.int64)
        return out

    def heatmap(self) -> np.ndarray:
        """Accesses per (epoch, address bin)."""
        width = max((len(h) for h in self.heat), default=0)
        out = np.zeros((len(self.heat), width), dtype=np.float32)
        for i, h in enumerate(self.heat):
            out[i, :len(h)] = h
        return out

    def table(self) -> pa.Table:
        import pyarrow as pa

        cols = self.columns()
        arrays = {k: pa.array(v) for k, v in cols.items()}
        arrays["heat"] = pa.array([h.tolist() for h in self.heat], type=pa.list_(pa.float32()))
        return pa.table(arrays)

    def write(self, out_dir: Path) -> list[Path]:
        """epochs.parquet and summary.json in ``out_dir``."""
        import pyarrow.parquet as pq

        out_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(self.table(), out_dir / "epochs.parquet")
        (out_dir / "summary.json").write_text(json.dumps(self.summary, indent=2) + "\n")
        return [out_dir / "epochs.parquet", out_dir / "summary.json"]


def _summary(rec: Recorder, sim: Simulation) -> dict[str, Any]:
    rows = rec.rows
    accesses = sum(r["accesses"] for r in rows)
    local = sum(r["local_accesses"] for r in rows)
    fast = sum(r["fast_accesses"] for r in rows)
    attempted = sum(r["migrations_attempted"] for r in rows)
    succeeded = sum(r["migrations_succeeded"] for r in rows)
    wall = sim.wall
    total_wall = wall["scan"] + wall["setup"] + wall["replay"]
    without_faults = total_wall - wall["faults"]
    access_s = sum(r["access_ns"] for r in rows) / 1e9
    migration_s = sum(r["migration_ns"] for r in rows) / 1e9
    fault_s = sum(r["fault_ns"] for r in rows) / 1e9
    return {
        "trace": str(sim.reader.path),
        "policy": sim.policy.name,
        "topology": sim.topology.name,
        "profile": sim.config.profile,
        "seed": sim.config.seed,
        "epoch": sim.epoch.describe(sim.reader.meta.time_unit),
        "epochs": len(rows),
        "accesses": accesses,
        "accesses_per_second": accesses / total_wall if total_wall > 0 else 0.0,
        "accesses_per_second_without_faults": accesses / without_faults if without_faults > 0 else 0.0,
        "pages_touched": int(np.count_nonzero(sim.node >= 0)),
        "threads": len(sim.thread_tids),
        "local_ratio": local / accesses if accesses else 0.0,
        "fast_tier_ratio": fast / accesses if accesses else 0.0,
        "pages_per_node": [int(x) for x in sim.resident],
        "faults": sum(r["faults"] for r in rows),
        "migrations": {
            "calls": sum(r["migrate_calls"] for r in rows),
            "attempted": attempted,
            "succeeded": succeeded,
            "failed": attempted - succeeded,
            "failed_by_reason": dict(sorted(rec.reasons.items())),
        },
        "modelled_time_s": {"access": access_s, "migration": migration_s, "fault": fault_s,
                            "total": access_s + migration_s + fault_s},
        "wall_seconds": {k: round(v, 6) for k, v in wall.items()} | {"total": round(total_wall, 6)},
    }
