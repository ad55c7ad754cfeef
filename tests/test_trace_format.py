"""The canonical trace file: round trip, streaming, and the errors of a bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from pagemig.sim.trace import (  # noqa: E402
    OP_FETCH,
    OP_READ,
    OP_WRITE,
    AccessBatch,
    TraceError,
    TraceMeta,
    TraceWriter,
    open_trace,
)


def _batch(n: int, start: int = 0) -> AccessBatch:
    idx = np.arange(start, start + n, dtype=np.uint64)
    return AccessBatch(t=idx * 10, vaddr=0x7F0000000000 + idx * 64, size=np.full(n, 8),
                       op=idx % 4, tid=idx % 3)


def test_round_trip_in_row_groups(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    meta = TraceMeta("lackey", time_unit="instructions", command="ls -l")
    with TraceWriter(path, meta, row_group_rows=1000) as writer:
        for start in range(0, 2500, 500):
            writer.write(_batch(500, start))
    reader = open_trace(path)
    assert reader.meta == meta
    assert reader.num_rows == 2500
    assert reader.num_row_groups == 3
    batches = list(reader.iter_batches(batch_rows=700))
    assert all(0 < len(b) <= 700 for b in batches)
    assert sum(len(b) for b in batches) == 2500
    whole = _batch(2500)
    got_vaddr = np.concatenate([b.vaddr for b in batches])
    got_op = np.concatenate([b.op for b in batches])
    assert np.array_equal(got_vaddr, whole.vaddr)
    assert np.array_equal(got_op, whole.op)
    assert batches[0].cpu is None and batches[0].weight is None and batches[0].ip is None


def test_writer_encodes_t_by_delta_and_addresses_by_byte_stream_split(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    with TraceWriter(path, TraceMeta("synth")) as writer:
        writer.write(AccessBatch(t=np.arange(100), vaddr=0x7F0000000000 + np.arange(100) * 4096,
                                 size=np.full(100, 8), op=np.zeros(100), tid=np.zeros(100),
                                 ip=np.full(100, 0x401000)))
    group = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)}
    assert "DELTA_BINARY_PACKED" in encodings["t"]
    assert "BYTE_STREAM_SPLIT" in encodings["vaddr"] and "BYTE_STREAM_SPLIT" in encodings["ip"]
    assert group.column(0).compression == "ZSTD"
    assert np.array_equal(pq.read_table(path)["vaddr"].to_numpy(), 0x7F0000000000 + np.arange(100) * 4096)


def test_nullable_columns_fill_partial_nulls(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    table = _batch(3).to_arrow()
    table = table.set_column(5, "cpu", pa.array([1, None, 2], pa.uint16()))
    table = table.set_column(6, "weight", pa.array([None, 7, None], pa.uint32()))
    pq.write_table(table, path)
    (batch,) = open_trace(path).iter_batches()
    assert batch.cpu is not None and list(batch.cpu) == [1, -1, 2]
    assert batch.weight is not None and list(batch.weight) == [1, 7, 1]
    assert open_trace(path).meta.source_format == "unknown"


def test_op_as_plain_strings_is_read(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    table = _batch(3).to_arrow()
    table = table.set_column(3, "op", pa.array(["W", "I", "R"]))
    pq.write_table(table, path)
    (batch,) = open_trace(path).iter_batches()
    assert list(batch.op) == [OP_WRITE, OP_FETCH, OP_READ]


def test_unknown_op_letter_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    table = _batch(2).to_arrow().set_column(3, "op", pa.array(["R", "X"]))
    pq.write_table(table, path)
    with pytest.raises(TraceError, match="unknown op 'X'"):
        list(open_trace(path).iter_batches())


def test_failure_inside_writer_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    with pytest.raises(RuntimeError), TraceWriter(path, TraceMeta("synth"), row_group_rows=10) as w:
        w.write(_batch(25))
        raise RuntimeError("converter failed")
    assert list(tmp_path.iterdir()) == []


def test_empty_trace_is_refused_and_removed(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    with pytest.raises(TraceError, match="no accesses"), TraceWriter(path, TraceMeta("synth")):
        pass
    assert list(tmp_path.iterdir()) == []


def test_other_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no such trace file"):
        open_trace(tmp_path / "missing.parquet")
    with pytest.raises(TraceError, match="not a trace file"):
        open_trace(tmp_path)
    text = tmp_path / "text.parquet"
    text.write_text("I  0400d7d4,8\n")
    with pytest.raises(TraceError, match="not a Parquet file"):
        open_trace(text)
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), other)
    with pytest.raises(TraceError, match="no column 't'"):
        open_trace(other)
    wrong = tmp_path / "wrong.parquet"
    pq.write_table(_batch(2).to_arrow().set_column(1, "vaddr", pa.array(["a", "b"])), wrong)
    with pytest.raises(TraceError, match="column 'vaddr' is string"):
        open_trace(wrong)


def test_meta_is_validated() -> None:
    with pytest.raises(ValueError, match="power of two"):
        TraceMeta("x", page_size=3000)
    with pytest.raises(ValueError, match="time_unit"):
        TraceMeta("x", time_unit="s")
    with pytest.raises(ValueError, match="column vaddr"):
        AccessBatch(t=[1, 2], vaddr=[1], size=[1, 1], op=[0, 0], tid=[0, 0])
