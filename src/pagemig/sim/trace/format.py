"""The canonical trace: a Parquet file of accesses, streamed in row groups.

Columns (docs/simulation.md, "Trace format"):

=========  ======================  ==========================================
column     Arrow type              meaning
=========  ======================  ==========================================
``t``      uint64                  time in ns, an instruction count, or a
                                   sequence number (the row's rank in a
                                   source that has no clock)
``vaddr``  uint64                  virtual address accessed
``size``   uint16                  bytes accessed (0 for a region row)
``op``     dictionary<int8, utf8>  R load, W store, M modify, I fetch
``tid``    uint32                  thread id (0 when the source has none)
``cpu``    uint16, nullable        CPU, when the source records it
``weight`` uint32, nullable        sampling period or latency weight
``ip``     uint64, nullable        instruction pointer
=========  ======================  ==========================================

The file's key-value metadata holds a ``TraceMeta`` as JSON under
``pagemig.trace``. In numpy, ``op`` is a uint8 code (``OP_READ`` ...); a
nullable column is ``None`` in a batch where every row is null, else nulls read
as ``-1`` (cpu), ``1`` (weight) or ``0`` (ip).

pyarrow is imported on first use: it is the ``sim`` extra.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

OP_READ: Final = 0
OP_WRITE: Final = 1
OP_MODIFY: Final = 2
OP_FETCH: Final = 3
OP_NAMES: Final = ("R", "W", "M", "I")
_OP_CODE: Final = {name: code for code, name in enumerate(OP_NAMES)}

METADATA_KEY: Final = b"pagemig.trace"
TIME_UNITS: Final = ("ns", "instructions", "sequence")
DEFAULT_ROW_GROUP_ROWS: Final = 1 << 20
_REQUIRED: Final = ("t", "vaddr", "size", "op", "tid")
_OPTIONAL: Final = ("cpu", "weight", "ip")
_NULL_AS: Final = {"cpu": -1, "weight": 1, "ip": 0}
# Encodings that decode fast and compress well under zstd (docs/simulation.md,
# "Trace format"): t is mostly increasing (delta), an address's high bytes
# barely change (byte stream split puts each byte position in its own stream).
# The other columns keep dictionary encoding (few distinct values).
_COLUMN_ENCODING: Final = {"t": "DELTA_BINARY_PACKED", "vaddr": "BYTE_STREAM_SPLIT",
                           "ip": "BYTE_STREAM_SPLIT"}


class TraceError(ValueError):
    """A trace that cannot be read or written; the message names the file."""


def _pyarrow() -> tuple[Any, Any]:
    """pyarrow and pyarrow.parquet, or a TraceError saying how to install them."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as err:  # pragma: no cover - the sim extra is installed in CI
        raise TraceError("traces need pyarrow: pip install 'pagemig[sim]'") from err
    return pyarrow, pyarrow.parquet


def trace_schema(meta: TraceMeta | None = None) -> pa.Schema:
    """The Arrow schema of a trace file, with ``meta`` as its metadata."""
    pa, _ = _pyarrow()
    schema = pa.schema([
        pa.field("t", pa.uint64(), nullable=False),
        pa.field("vaddr", pa.uint64(), nullable=False),
        pa.field("size", pa.uint16(), nullable=False),
        pa.field("op", pa.dictionary(pa.int8(), pa.utf8()), nullable=False),
        pa.field("tid", pa.uint32(), nullable=False),
        pa.field("cpu", pa.uint16()),
        pa.field("weight", pa.uint32()),
        pa.field("ip", pa.uint64()),
    ])
    if meta is not None:
        schema = schema.with_metadata({METADATA_KEY: meta.to_json().encode()})
    return schema


@dataclass(frozen=True, slots=True)
class TraceMeta:
    """What a trace is: where it came from and how to read its ``t`` column.

    ``sampled`` traces hold one row per sample (``sample_period`` accesses
    each, or the per-row ``weight``); complete traces hold every access.
    """

    source_format: str
    page_size: int = 4096
    time_unit: str = "ns"
    sampled: bool = False
    sample_period: int = 1
    command: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.source_format:
            raise ValueError("source_format must not be empty")
        if self.page_size <= 0 or self.page_size & (self.page_size - 1):
            raise ValueError(f"page_size must be a power of two, got {self.page_size}")
        if self.time_unit not in TIME_UNITS:
            raise ValueError(f"time_unit must be one of {', '.join(TIME_UNITS)}, got {self.time_unit!r}")
        if self.sample_period < 1:
            raise ValueError(f"sample_period must be at least 1, got {self.sample_period}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> TraceMeta:
        fields = json.loads(text)
        if not isinstance(fields, dict):
            raise ValueError("trace metadata is not a JSON object")
        return cls(**fields)


@dataclass(slots=True)
class AccessBatch:
    """A run of accesses as columns (numpy arrays of equal length)."""

    t: np.ndarray
    vaddr: np.ndarray
    size: np.ndarray
    op: np.ndarray
    tid: np.ndarray
    cpu: np.ndarray | None = None
    weight: np.ndarray | None = None
    ip: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.t = np.asarray(self.t, dtype=np.uint64)
        self.vaddr = np.asarray(self.vaddr, dtype=np.uint64)
        self.size = np.asarray(self.size, dtype=np.uint16)
        self.op = np.asarray(self.op, dtype=np.uint8)
        self.tid = np.asarray(self.tid, dtype=np.uint32)
        n = len(self.t)
        for name in ("vaddr", "size", "op", "tid", *_OPTIONAL):
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ValueError(f"column {name} has {len(column)} rows, t has {n}")
        if n and int(self.op.max()) >= len(OP_NAMES):
            raise ValueError(f"op codes must be below {len(OP_NAMES)}, got {int(self.op.max())}")

    def __len__(self) -> int:
        return len(self.t)

    def to_arrow(self) -> pa.Table:
        """This batch as a table of the trace schema (without metadata)."""
        pa, _ = _pyarrow()
        n = len(self)
        columns = [
            pa.array(self.t, pa.uint64()),
            pa.array(self.vaddr, pa.uint64()),
            pa.array(self.size, pa.uint16()),
            pa.DictionaryArray.from_arrays(pa.array(self.op.astype(np.int8), pa.int8()),
                                           pa.array(OP_NAMES, pa.utf8())),
            pa.array(self.tid, pa.uint32()),
        ]
        for name, arrow_type in (("cpu", pa.uint16()), ("weight", pa.uint32()), ("ip", pa.uint64())):
            column = getattr(self, name)
            columns.append(pa.nulls(n, arrow_type) if column is None
                           else pa.array(column, arrow_type))
        return pa.Table.from_arrays(columns, schema=trace_schema())


class TraceWriter:
    """Writes a trace file; the file appears only when the writer closes cleanly.

    Rows go to a hidden temporary file beside ``path``, renamed over ``path``
    by ``close()``; an exception inside ``with`` (or ``abort()``) removes it,
    so a failed conversion never leaves a partial trace behind. A trace with
    no rows is refused. Columns are zstd-compressed; ``t`` is delta-encoded and
    ``vaddr``/``ip`` byte-stream-split (faster to decode, smaller).
    """

    def __init__(self, path: str | os.PathLike[str], meta: TraceMeta,
                 row_group_rows: int = DEFAULT_ROW_GROUP_ROWS) -> None:
        if row_group_rows < 1:
            raise ValueError(f"row_group_rows must be at least 1, got {row_group_rows}")
        self.path = Path(path)
        self.meta = meta
        self.rows = 0
        self._row_group_rows = row_group_rows
        self._pending: list[AccessBatch] = []
        self._pending_rows = 0
        self._tmp = self.path.with_name(f".{self.path.name}.partial-{os.getpid()}")
        _, pq = _pyarrow()
        try:
            self._writer: Any = pq.ParquetWriter(
                self._tmp, trace_schema(meta), compression="zstd",
                use_dictionary=[name for name in (*_REQUIRED, *_OPTIONAL) if name not in _COLUMN_ENCODING],
                column_encoding=_COLUMN_ENCODING)
        except OSError as err:
            raise TraceError(f"{self.path}: cannot write: {err.strerror or err}") from err

    def write(self, batch: AccessBatch) -> None:
        """Add ``batch``'s rows; full row groups are written as they fill."""
        if self._writer is None:
            raise ValueError(f"{self.path}: the writer is closed")
        if not len(batch):
            return
        self._pending.append(batch)
        self._pending_rows += len(batch)
        self.rows += len(batch)
        if self._pending_rows >= self._row_group_rows:
            self._flush()

    def _flush(self) -> None:
        pa, _ = _pyarrow()
        assert self._writer is not None
        table = pa.concat_tables([batch.to_arrow() for batch in self._pending])
        self._pending, self._pending_rows = [], 0
        self._writer.write_table(table, row_group_size=self._row_group_rows)

    def close(self) -> None:
        """Finish the file and move it into place (TraceError if it is empty)."""
        if self._writer is None:
            return
        if self._pending:
            self._flush()
        self._writer.close()
        self._writer = None
        if self.rows == 0:
            self._tmp.unlink(missing_ok=True)
            raise TraceError(f"{self.path}: the trace has no accesses")
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Drop everything written so far."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class TraceReader:
    """An open trace file: its metadata, its size, and its rows in batches."""

    def __init__(self, path: Path, parquet: pq.ParquetFile, meta: TraceMeta) -> None:
        self.path = path
        self.meta = meta
        self._parquet = parquet

    @property
    def num_rows(self) -> int:
        return int(self._parquet.metadata.num_rows)

    @property
    def num_row_groups(self) -> int:
        return int(self._parquet.metadata.num_row_groups)

    def iter_batches(self, batch_rows: int = DEFAULT_ROW_GROUP_ROWS) -> Iterator[AccessBatch]:
        """The rows in order, at most ``batch_rows`` at a time (bounded memory).

        Batches do not span row groups, so some are shorter than ``batch_rows``.
        """
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
        names = self._parquet.schema_arrow.names
        columns = [name for name in (*_REQUIRED, *_OPTIONAL) if name in names]
        for record_batch in self._parquet.iter_batches(batch_size=batch_rows, columns=columns):
            yield self._to_access_batch(record_batch)

    def _to_access_batch(self, record_batch: pa.RecordBatch) -> AccessBatch:
        pa, _ = _pyarrow()
        names = record_batch.schema.names
        optional: dict[str, np.ndarray | None] = {}
        for name in _OPTIONAL:
            column = record_batch.column(names.index(name)) if name in names else None
            if column is None or column.null_count == len(column):
                optional[name] = None
            else:
                if name == "cpu":  # a uint16 column, read with -1 for "not recorded"
                    column = column.cast(pa.int32())
                optional[name] = column.fill_null(_NULL_AS[name]).to_numpy()
        get = record_batch.column
        return AccessBatch(
            t=get(names.index("t")).to_numpy(), vaddr=get(names.index("vaddr")).to_numpy(),
            size=get(names.index("size")).to_numpy(), op=self._op_codes(get(names.index("op"))),
            tid=get(names.index("tid")).to_numpy(), **optional)

    def _op_codes(self, column: pa.Array) -> np.ndarray:
        pa, _ = _pyarrow()
        if not pa.types.is_dictionary(column.type):
            column = column.dictionary_encode()
        try:
            table = np.array([_OP_CODE[str(name)] for name in column.dictionary.to_pylist()],
                             dtype=np.uint8)
        except KeyError as err:
            raise TraceError(f"{self.path}: unknown op {err.args[0]!r} "
                             f"(ops are {', '.join(OP_NAMES)})") from None
        indices = column.indices.to_numpy(zero_copy_only=False)
        return table[indices] if len(table) else np.zeros(len(indices), dtype=np.uint8)


def open_trace(path: str | os.PathLike[str]) -> TraceReader:
    """Open a trace file, checking that it is Parquet with the trace schema."""
    pa, pq = _pyarrow()
    where = Path(path)
    if not where.is_file():
        raise TraceError(f"{where}: no such trace file" if not where.exists()
                         else f"{where}: not a trace file")
    try:
        parquet = pq.ParquetFile(where)
    except (pa.ArrowInvalid, OSError) as err:
        raise TraceError(f"{where}: not a Parquet file ({err})") from None
    _check_schema(where, parquet.schema_arrow)
    raw = (parquet.schema_arrow.metadata or {}).get(METADATA_KEY)
    try:
        meta = TraceMeta.from_json(raw) if raw is not None else TraceMeta("unknown")
    except (ValueError, TypeError) as err:
        raise TraceError(f"{where}: bad pagemig.trace metadata: {err}") from None
    return TraceReader(where, parquet, meta)


def _check_schema(path: Path, schema: pa.Schema) -> None:
    """TraceError naming the first column that is missing or of the wrong kind."""
    pa, _ = _pyarrow()
    expected = trace_schema()
    for name in _REQUIRED + _OPTIONAL:
        if name not in schema.names:
            if name in _REQUIRED:
                raise TraceError(f"{path}: not a trace: no column {name!r} "
                                 f"(a trace has {', '.join(_REQUIRED)})")
            continue
        got = schema.field(name).type
        want = expected.field(name).type
        if name == "op":
            ok = pa.types.is_dictionary(got) or pa.types.is_string(got)
        else:
            ok = pa.types.is_integer(got)
        if not ok:
            raise TraceError(f"{path}: not a trace: column {name!r} is {got}, expected {want}")
