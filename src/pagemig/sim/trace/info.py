"""``pagemig trace info``: what a trace holds, computed in one streaming pass."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .format import OP_NAMES, TraceReader, open_trace

OP_LABELS = ("reads", "writes", "modifies", "fetches")   # in OP_NAMES order


@dataclass(frozen=True, slots=True)
class TraceInfo:
    """A trace's summary; every figure is a column reduction (docs/simulation.md)."""

    path: str
    file_bytes: int
    rows: int
    row_groups: int
    source_format: str
    time_unit: str
    sampled: bool
    sample_period: int
    page_size: int
    command: str
    t_min: int
    t_max: int
    vaddr_min: int
    vaddr_max: int
    pages_touched: int
    threads: int
    reads: int
    writes: int
    modifies: int
    fetches: int
    weight_total: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def trace_info(path: str | os.PathLike[str]) -> TraceInfo:
    """Summarise the trace at ``path`` in memory bounded by its distinct pages and threads."""
    reader = open_trace(path)
    return _summarise(reader)


def _summarise(reader: TraceReader) -> TraceInfo:
    meta = reader.meta
    shift = np.uint64(meta.page_size.bit_length() - 1)
    pages = np.zeros(0, dtype=np.uint64)
    tids = np.zeros(0, dtype=np.uint32)
    ops = np.zeros(len(OP_NAMES), dtype=np.int64)
    t_min = t_max = vmin = vmax = None
    weight_total = 0
    for batch in reader.iter_batches():
        t_lo, t_hi = int(batch.t.min()), int(batch.t.max())
        t_min = t_lo if t_min is None else min(t_min, t_lo)
        t_max = t_hi if t_max is None else max(t_max, t_hi)
        lo, hi = int(batch.vaddr.min()), int(batch.vaddr.max())
        vmin = lo if vmin is None else min(vmin, lo)
        vmax = hi if vmax is None else max(vmax, hi)
        pages = np.union1d(pages, np.unique(batch.vaddr >> shift))
        tids = np.union1d(tids, np.unique(batch.tid))
        ops += np.bincount(batch.op, minlength=len(OP_NAMES))[:len(OP_NAMES)]
        weight_total += len(batch) if batch.weight is None else int(batch.weight.sum(dtype=np.uint64))
    counts = dict(zip(OP_LABELS, (int(c) for c in ops), strict=True))
    return TraceInfo(
        path=str(reader.path), file_bytes=reader.path.stat().st_size, rows=reader.num_rows,
        row_groups=reader.num_row_groups, source_format=meta.source_format, time_unit=meta.time_unit,
        sampled=meta.sampled, sample_period=meta.sample_period, page_size=meta.page_size,
        command=meta.command, t_min=t_min or 0, t_max=t_max or 0, vaddr_min=vmin or 0,
        vaddr_max=vmax or 0, pages_touched=len(pages), threads=len(tids), weight_total=weight_total,
        **counts)
