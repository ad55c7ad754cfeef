"""Trace importers, each on a small sample of its tool's real output, against golden rows.

Where each sample in tests/data/ comes from:

* lackey-true.txt: ``valgrind --tool=lackey --trace-mem=yes --log-file=F /bin/true``
  (valgrind 3.19, this machine), its first 300 lines and valgrind's closing
  summary; lackey-threads.txt: excerpts (header, each thread's start, a slot
  reused by a new thread, the end) of the same with ``--trace-sched=yes`` on a
  program whose main thread starts three threads one after the other.
* pinatrace.out: Pin's ManualExamples/pinatrace.cpp format (``"%p: R %p"`` /
  ``"%p: W %p"``, ``#eof`` at exit), written from the data accesses of
  lackey-true.txt (no Pin on this machine).
* memtrace_simple.log: DynamoRIO api/samples/memtrace_simple.c (header line,
  ``PIFX ": %2d, %s"`` instruction and reference entries), written from the
  same accesses; the opcode names are illustrative.
* perf-mem-D.txt, perf-mem-D-x.txt: ``perf mem report -D`` (and ``-x,``) of
  perf 6.1 on this machine over ``perf record -e page-faults -c 1 -d -W`` of a
  small program (this VM has no mem-loads PMU events; the dump is the same
  code path); the first sample line shows perf's ``0x016`` ADDR misprint.
* damo-record.json: the ``damo record --output_type json`` layout of awslabs/damo
  ``_damo_records.py``, with addresses, times and counts taken from damo's own
  test record (tests/report/damon.data.json_compressed), plus a second target
  with percent-only counts.

A golden file changes only on purpose: PAGEMIG_UPDATE_GOLDEN=1 rewrites it
(the failure message gives the exact command).
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow")

from pagemig.cli import main
from pagemig.sim.trace import OP_NAMES, open_trace
from pagemig.sim.trace.damo import read_regions, regions_path
from pagemig.sim.trace.importers import FORMATS, import_trace

from .golden import assert_golden

DATA = Path(__file__).parent / "data"
SAMPLES = {
    "lackey": ["lackey-true.txt", "lackey-threads.txt"],
    "pin": ["pinatrace.out"],
    "drmemtrace": ["memtrace_simple.log"],
    "perf": ["perf-mem-D.txt", "perf-mem-D-x.txt"],
    "damo": ["damo-record.json"],
}


def rows_text(path: Path) -> str:
    """A trace as text: its metadata (without the source path), then one line per row."""
    reader = open_trace(path)
    meta = json.loads(reader.meta.to_json())
    meta["extra"].pop("source", None)
    meta["extra"].pop("regions", None)
    out = [json.dumps(meta, sort_keys=True), "t vaddr size op tid cpu weight ip"]
    for b in reader.iter_batches():
        for i in range(len(b)):
            cpu = "-" if b.cpu is None else str(b.cpu[i])
            weight = "-" if b.weight is None else str(b.weight[i])
            ip = "-" if b.ip is None else f"{int(b.ip[i]):#x}"
            out.append(f"{b.t[i]} {int(b.vaddr[i]):#x} {b.size[i]} {OP_NAMES[b.op[i]]} {b.tid[i]} "
                       f"{cpu} {weight} {ip}")
    return "\n".join(out) + "\n"


def test_every_format_has_a_sample() -> None:
    assert set(SAMPLES) == set(FORMATS)


@pytest.mark.parametrize(("fmt", "sample"), [(f, s) for f, names in SAMPLES.items() for s in names])
def test_import_matches_golden(tmp_path: Path, fmt: str, sample: str) -> None:
    out = tmp_path / "t.parquet"
    rows = import_trace(fmt, str(DATA / sample), out)
    text = rows_text(out)
    assert rows == len(text.splitlines()) - 2
    if fmt == "damo":
        text += "regions\n" + "".join(json.dumps(r) + "\n" for r in read_regions(out).to_pylist())
    assert_golden(f"trace-{Path(sample).stem}.txt", text)


def test_lackey_threads_from_scheduler_lines(tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    import_trace("lackey", str(DATA / "lackey-threads.txt"), out)
    (batch,) = open_trace(out).iter_batches()
    # Slot 2 holds a second thread, exits, and is reused by a fourth thread.
    assert list(dict.fromkeys(batch.tid.tolist())) == [1, 2, 3, 4]
    assert batch.ip is not None and batch.ip[0] == batch.vaddr[0]


def test_lackey_without_scheduler_lines_is_thread_0(tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    import_trace("lackey", str(DATA / "lackey-true.txt"), out)
    reader = open_trace(out)
    (batch,) = reader.iter_batches()
    assert set(batch.tid.tolist()) == {0}
    assert reader.meta.time_unit == "instructions" and not reader.meta.sampled
    fetches = int((batch.op == 3).sum())
    assert int(batch.t[-1]) == fetches - 1          # t counts instructions from 0


def test_perf_first_line_misprint_and_separator(tmp_path: Path) -> None:
    blank, comma = tmp_path / "b.parquet", tmp_path / "c.parquet"
    import_trace("perf", str(DATA / "perf-mem-D.txt"), blank, period=100)
    import_trace("perf", str(DATA / "perf-mem-D-x.txt"), comma)
    (b,) = open_trace(blank).iter_batches()
    (c,) = open_trace(comma).iter_batches()
    assert int(b.vaddr[0]) == int(c.vaddr[0]) == 0x55BD40F8E028
    assert np.array_equal(b.vaddr[:len(c)], c.vaddr)
    assert b.weight is not None and set(b.weight.tolist()) == {100}
    meta = open_trace(blank).meta
    assert meta.sampled and meta.sample_period == 100 and meta.time_unit == "sequence"


def test_perf_phys_columns_and_data_src_ops(tmp_path: Path) -> None:
    src = tmp_path / "p.txt"
    src.write_text("# PID, TID, IP, ADDR, PHYS ADDR, DATA PAGE SIZE, LOCAL WEIGHT, DSRC, SYMBOL\n"
                   "20134 20135 0xffffffffb5bd2fd0 0x7f00deadb000 0x000000044e96a308 4K 1168 "
                   "0x5080144 /usr/bin/x:f\n"
                   "20134 20135 0x401000 0x7f00deadb008 0x0 4K 0 0x5080142 ??? ???:g h\n")
    out = tmp_path / "p.parquet"
    import_trace("perf", str(src), out)
    (b,) = open_trace(out).iter_batches()
    assert [OP_NAMES[o] for o in b.op] == ["W", "R"]
    assert b.tid.tolist() == [20135, 20135]
    assert b.vaddr.tolist() == [0x7F00DEADB000, 0x7F00DEADB008]


def test_drmemtrace_zero_padded_addresses(tmp_path: Path) -> None:
    src = tmp_path / "m.log"
    src.write_text("Format: <data address>: <data size>, <(r)ead/(w)rite/opcode>\n"
                   "0x00007f59c2d002d3:  5, call\n0x00007ffeacab0ec8:  8, w\n"
                   "0x00007f59c2d002d8: 12, vmovdqu\n0x00007ffeacab0f00: 32, r\n")
    out = tmp_path / "m.parquet"
    import_trace("drmemtrace", str(src), out)
    (b,) = open_trace(out).iter_batches()
    assert [OP_NAMES[o] for o in b.op] == ["I", "W", "I", "R"]
    assert b.size.tolist() == [5, 8, 12, 32]
    assert b.t.tolist() == [0, 0, 1, 1]
    assert b.ip is not None and int(b.ip[3]) == 0x7F59C2D002D8


def test_damo_compressed_and_old_layout(tmp_path: Path) -> None:
    plain = (DATA / "damo-record.json").read_bytes()
    packed = tmp_path / "damon.data"
    packed.write_bytes(zlib.compress(plain))            # damo's json_compressed
    import_trace("damo", str(DATA / "damo-record.json"), tmp_path / "a.parquet")
    import_trace("damo", str(packed), tmp_path / "b.parquet")
    assert rows_text(tmp_path / "a.parquet") == rows_text(tmp_path / "b.parquet")
    assert regions_path(tmp_path / "b.parquet").name == "b.regions.parquet"
    old = [{"target_id": 18446623438842320000, "snapshots": [{
        "start_time": "539809434100", "end_time": "539914032967",
        "regions": [{"start": "94,827,419,009,024", "end": "94,827,423,150,080",
                     "nr_accesses": {"samples": 2, "percent": None},
                     "age": {"usec": None, "aggr_intervals": None}}]}]}]
    src = tmp_path / "old.json"
    src.write_text(json.dumps(old))
    import_trace("damo", str(src), tmp_path / "old.parquet")
    (b,) = open_trace(tmp_path / "old.parquet").iter_batches()
    assert int(b.vaddr[0]) == 94827419009024 and b.weight is not None and int(b.weight[0]) == 2
    assert read_regions(tmp_path / "old.parquet").to_pylist()[0]["age"] is None


def test_gzip_input_is_read_through(tmp_path: Path) -> None:
    packed = tmp_path / "l.txt.gz"
    packed.write_bytes(gzip.compress((DATA / "lackey-true.txt").read_bytes()))
    import_trace("lackey", str(DATA / "lackey-true.txt"), tmp_path / "a.parquet")
    import_trace("lackey", str(packed), tmp_path / "b.parquet")
    assert rows_text(tmp_path / "a.parquet") == rows_text(tmp_path / "b.parquet")


def test_stdin_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    data = (DATA / "pinatrace.out").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    out = tmp_path / "s.parquet"
    assert main(["trace", "import", "pin", "-", "-o", str(out)]) == 0
    import_trace("pin", str(DATA / "pinatrace.out"), tmp_path / "f.parquet")
    assert rows_text(out) == rows_text(tmp_path / "f.parquet")
    assert "wrote 64 rows" in capsys.readouterr().err


def test_multi_chunk_import_equals_one_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pagemig.sim.trace import _text

    import_trace("lackey", str(DATA / "lackey-threads.txt"), tmp_path / "a.parquet")
    monkeypatch.setattr(_text, "CHUNK_BYTES", 50)
    monkeypatch.setattr(_text.read_lines, "__defaults__", (50,))
    import_trace("lackey", str(DATA / "lackey-threads.txt"), tmp_path / "b.parquet")
    assert rows_text(tmp_path / "a.parquet") == rows_text(tmp_path / "b.parquet")


# --- errors: one line, exit status 2, no file left behind -----------------------------------------

def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(args)
    err = capsys.readouterr().err
    return status, err


def test_malformed_line_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bad.txt"
    src.write_text("I  0401ab70,3\n S 1fff000688,8\n L zz,8\n")
    status, err = _run(["trace", "import", "lackey", str(src), "-o", str(tmp_path / "t.parquet")], capsys)
    assert status == 2
    assert err == f"pagemig: error: {src}:3: expected ADDR,SIZE: ' L zz,8'\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt"]


@pytest.mark.parametrize(("fmt", "line", "what"), [
    ("lackey", "X 0401ab70,3", "not a lackey line"),
    ("pin", "0x401ab73: Q 0x1fff000688", "expected 'IP: R ADDR' or 'IP: W ADDR'"),
    ("drmemtrace", "0x401ab73 5 call", "expected 'ADDR: SIZE, r|w|opcode'"),
    ("perf", "6889 6889 0xzz 0x55 0 0x1 x:y", "not a perf mem sample (bad number)"),
])
def test_malformed_line_per_format(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   fmt: str, line: str, what: str) -> None:
    src = tmp_path / "bad.txt"
    src.write_text(line + "\n")
    status, err = _run(["trace", "import", fmt, str(src), "-o", str(tmp_path / "t.parquet")], capsys)
    assert (status, err) == (2, f"pagemig: error: {src}:1: {what}: {line!r}\n")


def test_no_partial_file_after_failure_past_the_first_chunk(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    good = (DATA / "lackey-true.txt").read_text().splitlines()[5:300]
    lines = good * 600                                  # over two chunks of 1 MiB
    bad_at = len(lines) - 10
    lines[bad_at] = " L 1fff000688;8"
    src = tmp_path / "big.txt"
    src.write_text("\n".join(lines) + "\n")
    assert src.stat().st_size > 2 << 20
    status, err = _run(["trace", "import", "lackey", str(src), "-o", str(tmp_path / "t.parquet")], capsys)
    assert status == 2 and f"{src}:{bad_at + 1}: expected ADDR,SIZE" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]


def test_unknown_format_lists_known_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _run(["trace", "import", "valgrind", "x", "-o", str(tmp_path / "t.parquet")], capsys)
    assert (status, err) == (2, "pagemig: error: unknown trace format 'valgrind'; "
                                "known formats: lackey, pin, drmemtrace, perf, damo\n")


def test_trace_with_no_accesses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "empty.txt"
    src.write_text("==1== Lackey, an example Valgrind tool\n==1== \n")
    out = tmp_path / "t.parquet"
    status, err = _run(["trace", "import", "lackey", str(src), "-o", str(out)], capsys)
    assert (status, err) == (2, f"pagemig: error: {out}: the trace has no accesses\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.txt"]


def test_missing_input_and_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "t.parquet")
    status, err = _run(["trace", "import", "pin", str(tmp_path / "nope"), "-o", out], capsys)
    missing = tmp_path / "nope"
    assert (status, err) == (2, f"pagemig: error: {missing}: cannot read: No such file or directory\n")
    status, err = _run(["trace", "import", "pin", str(DATA / "pinatrace.out"), "-o", out,
                        "--period", "5"], capsys)
    assert (status, err) == (2, "pagemig: error: --period applies to perf samples only, not to pin\n")


def test_bad_damo_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "d.json"
    for text, message in [
        ("[{\"snapshots\": [}", f"{src}:1: not a damo record (line): Expecting value"),
        ("{}", f"{src}: not a damo record: the JSON is not a list of records"),
        ('[{"snapshots": [{"start_time": 1, "end_time": 2, "regions": [{"start": "x", "end": 5}]}]}]',
         f"{src}: record 0 snapshot 0 region 0: bad 'start' value 'x'"),
    ]:
        src.write_text(text)
        status, err = _run(["trace", "import", "damo", str(src), "-o", str(tmp_path / "t.parquet")], capsys)
        assert (status, err) == (2, f"pagemig: error: {message}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json"]


def test_info_of_another_parquet_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), other)
    status, err = _run(["trace", "info", str(other)], capsys)
    assert status == 2
    assert err == (f"pagemig: error: {other}: not a trace: no column 't' "
                   "(a trace has t, vaddr, size, op, tid)\n")
    status, err = _run(["trace", "info", str(DATA / "pinatrace.out")], capsys)
    assert status == 2 and err.startswith(f"pagemig: error: {DATA / 'pinatrace.out'}: not a Parquet file")
    assert err.count("\n") == 1


def test_info_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.parquet"
    import_trace("lackey", str(DATA / "lackey-threads.txt"), out)
    assert main(["trace", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    (b,) = open_trace(out).iter_batches()
    assert info["rows"] == len(b) and info["threads"] == 4 and info["source_format"] == "lackey"
    assert info["reads"] + info["writes"] + info["modifies"] + info["fetches"] == len(b)
    assert info["pages_touched"] == len(np.unique(b.vaddr >> np.uint64(12)))
    assert (info["vaddr_min"], info["vaddr_max"]) == (int(b.vaddr.min()), int(b.vaddr.max()))
    assert info["sampled"] is False
    assert main(["trace", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "threads    4\n" in text and f"{info['fetches']} fetches" in text
