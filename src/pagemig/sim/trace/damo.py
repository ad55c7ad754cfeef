"""damo's access records (``damo record``, awslabs/damo ``_damo_records.py``).

``damo record`` writes, by default (``--output_type json_compressed``), a
zlib-compressed JSON list with one record per monitoring target; ``json``
writes the same list uncompressed::

    [{"kdamond_idx": 0, "context_idx": 0,
      "intervals": {"sample_us": "5000", "aggr_us": "100000", "ops_update_us": "1000000"},
      "scheme_idx": null, "target_id": 0,
      "snapshots": [{"start_time": "539809434100", "end_time": "539914032967",
                     "regions": [{"start": "94827419009024", "end": "94827423150080",
                                  "nr_accesses": {"samples": 3, "percent": null},
                                  "age": {"usec": null, "aggr_intervals": "2"}}, ...],
                     "total_bytes": "..."}, ...]}]

Numbers are JSON numbers or decimal strings (older damo wrote them with
thousands separators, ``"94,827,419,009,024"``, and only ``target_id`` and
``snapshots`` per record). Times are in ns. ``nr_accesses`` is the number of
sampling intervals of one aggregation interval in which DAMON saw the region
accessed (``percent`` of ``aggr_us / sample_us`` when ``samples`` is absent).

Representation (docs/simulation.md, "damo"): the trace has one row per region
per snapshot, ordered by time: ``t`` = the snapshot's start time (ns),
``vaddr`` = the region's start, ``size`` 0 (a region row), ``op`` R, ``tid`` =
the target's rank in the file, ``weight`` = nr_accesses; the trace is marked
sampled. The regions themselves, with their ends and ages, go to a companion
table ``T.regions.parquet`` beside ``T.parquet`` (schema ``REGIONS_COLUMNS``),
named in the trace's metadata (``extra["regions"]``), written and renamed with
the trace so that neither is left alone after a failure.

A record file is one JSON document, so it is read whole (as damo reads it);
its size is that of the regions, not of the accesses.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, Final

import numpy as np

from ._text import ParseError
from .format import OP_READ, AccessBatch, TraceError, TraceMeta, TraceWriter, _pyarrow

FORMAT: Final = "damo"
REGIONS_SUFFIX: Final = ".regions.parquet"
REGIONS_COLUMNS: Final = ("snap_start", "snap_end", "target", "start", "end", "nr_accesses", "age")
_ZLIB_FIRST_BYTE: Final = 0x78


@dataclass
class _Regions:
    """The regions of every snapshot, as columns."""

    columns: dict[str, list[int | None]] = field(
        default_factory=lambda: {name: [] for name in REGIONS_COLUMNS})

    def add(self, **values: int | None) -> None:
        for name in REGIONS_COLUMNS:
            self.columns[name].append(values[name])


def regions_path(trace: str | os.PathLike[str]) -> Path:
    """Where the regions table of the damo trace ``trace`` lives."""
    path = Path(trace)
    stem = path.name[:-len(".parquet")] if path.name.endswith(".parquet") else path.name
    return path.with_name(stem + REGIONS_SUFFIX)


def load_records(stream: BinaryIO, name: str) -> list[Any]:
    """The JSON list of a damo record file, compressed or not."""
    raw = stream.read()
    compressed = bool(raw) and raw[0] == _ZLIB_FIRST_BYTE
    if compressed:
        try:
            raw = zlib.decompress(raw)
        except zlib.error as err:
            raise ParseError(f"{name}: not a damo record (bad zlib data: {err})") from None
    try:
        records = json.loads(raw)
    except UnicodeDecodeError:
        raise ParseError(f"{name}: not a damo record (neither JSON nor zlib-compressed JSON)") from None
    except json.JSONDecodeError as err:
        where = " of the decompressed JSON" if compressed else ""
        raise ParseError(f"{name}:{err.lineno}: not a damo record (line{where}): {err.msg}") from None
    if not isinstance(records, list):
        raise ParseError(f"{name}: not a damo record: the JSON is not a list of records")
    return records


def _number(value: Any, where: str, key: str, optional: bool = False) -> int | None:
    """A damo number: a JSON number or a decimal string (thousands separators allowed)."""
    if value is None and optional:
        return None
    if isinstance(value, bool):
        value = None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        digits = value.replace(",", "").strip()
        if digits.isdigit():
            return int(digits)
    raise ParseError(f"{where}: bad {key!r} value {value!r}")


def _get(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ParseError(f"{where}: no {key!r}")
    return obj[key]


def _nr_accesses(region: dict[str, Any], max_samples: int | None, where: str) -> int:
    counts = _get(region, "nr_accesses", where)
    if not isinstance(counts, dict):       # older files: a plain number
        return _number(counts, where, "nr_accesses") or 0
    samples = _number(counts.get("samples"), where, "nr_accesses.samples", optional=True)
    if samples is not None:
        return samples
    percent = _number(counts.get("percent"), where, "nr_accesses.percent", optional=True)
    if percent is None or max_samples is None:
        raise ParseError(f"{where}: nr_accesses has neither samples nor a percent of known intervals")
    return percent * max_samples // 100


def _age(region: dict[str, Any], aggr_us: int | None, where: str) -> int | None:
    age = region.get("age")
    if not isinstance(age, dict):
        return _number(age, where, "age", optional=True)
    intervals = _number(age.get("aggr_intervals"), where, "age.aggr_intervals", optional=True)
    usec = _number(age.get("usec"), where, "age.usec", optional=True)
    if intervals is None and usec is not None and aggr_us:
        intervals = usec // aggr_us
    return intervals


def parse_records(records: list[Any], name: str) -> tuple[_Regions, list[int]]:
    """Every region of every snapshot, and each target's id."""
    regions = _Regions()
    targets: list[int] = []
    for r, record in enumerate(records):
        where = f"{name}: record {r}"
        snapshots = _get(record, "snapshots", where)
        targets.append(_number(record.get("target_id"), where, "target_id", optional=True) or 0)
        aggr_us = max_samples = None
        intervals = record.get("intervals")
        if isinstance(intervals, dict):
            sample_us = _number(intervals.get("sample_us"), where, "sample_us", optional=True)
            aggr_us = _number(intervals.get("aggr_us"), where, "aggr_us", optional=True)
            if sample_us and aggr_us:
                max_samples = aggr_us // sample_us
        if not isinstance(snapshots, list):
            raise ParseError(f"{where}: 'snapshots' is not a list")
        for s, snapshot in enumerate(snapshots):
            at = f"{where} snapshot {s}"
            snap_start = _number(_get(snapshot, "start_time", at), at, "start_time")
            snap_end = _number(_get(snapshot, "end_time", at), at, "end_time")
            snap_regions = _get(snapshot, "regions", at)
            if not isinstance(snap_regions, list):
                raise ParseError(f"{at}: 'regions' is not a list")
            for g, region in enumerate(snap_regions):
                here = f"{at} region {g}"
                start = _number(_get(region, "start", here), here, "start")
                end = _number(_get(region, "end", here), here, "end")
                assert start is not None and end is not None
                if end <= start or end >= 1 << 64:
                    raise ParseError(f"{here}: bad region [{start}, {end})")
                regions.add(snap_start=snap_start, snap_end=snap_end, target=r, start=start, end=end,
                            nr_accesses=_nr_accesses(region, max_samples, here),
                            age=_age(region, aggr_us, here))
    return regions, targets


def write_damo_trace(stream: BinaryIO, name: str, out: str | os.PathLike[str],
                     meta: TraceMeta) -> int:
    """Convert a damo record to the trace ``out`` and its regions table; the rows written."""
    regions, targets = parse_records(load_records(stream, name), name)
    columns = {key: np.array(values, dtype=np.uint64)
               for key, values in regions.columns.items() if key != "age"}
    columns["age"] = np.array([np.nan if v is None else v for v in regions.columns["age"]],
                              dtype=np.float64)
    order = np.argsort(columns["snap_start"], kind="stable")
    table_path = regions_path(out)
    extra = {**meta.extra, "regions": table_path.name,
             "targets": json.dumps(targets)}
    meta = replace(meta, extra=extra)
    tmp = table_path.with_name(f".{table_path.name}.partial-{os.getpid()}")
    try:
        with TraceWriter(out, meta) as writer:
            n = len(order)
            writer.write(AccessBatch(
                t=columns["snap_start"][order], vaddr=columns["start"][order], size=np.zeros(n),
                op=np.full(n, OP_READ), tid=columns["target"][order],
                weight=columns["nr_accesses"][order]))
            _write_regions(tmp, columns, order)
        os.replace(tmp, table_path)
    finally:
        tmp.unlink(missing_ok=True)
    return len(order)


def _write_regions(path: Path, columns: dict[str, np.ndarray], order: np.ndarray) -> None:
    pa, pq = _pyarrow()
    types = {"snap_start": pa.uint64(), "snap_end": pa.uint64(), "target": pa.uint32(),
             "start": pa.uint64(), "end": pa.uint64(), "nr_accesses": pa.uint32(), "age": pa.uint32()}
    arrays = []
    for name in REGIONS_COLUMNS:
        values = columns[name][order]
        if name == "age":
            missing = np.isnan(values)
            arrays.append(pa.array(np.where(missing, 0, values).astype(np.uint32), types[name],
                                   mask=missing))
        else:
            arrays.append(pa.array(values, types[name]))
    try:
        pq.write_table(pa.Table.from_arrays(arrays, names=list(REGIONS_COLUMNS)), path,
                       compression="zstd")
    except OSError as err:
        raise TraceError(f"{path}: cannot write: {err.strerror or err}") from err


def read_regions(trace: str | os.PathLike[str]) -> Any:
    """The regions table (a pyarrow Table) of the damo trace ``trace``."""
    _, pq = _pyarrow()
    path = regions_path(trace)
    if not path.is_file():
        raise TraceError(f"{path}: no regions table beside the damo trace {trace}")
    return pq.read_table(path)
