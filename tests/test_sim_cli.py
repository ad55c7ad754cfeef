"""`pagemig sim`: outputs (summary.json, epochs.parquet, PNG plots of the
expected size), the example policy file, and one-line errors with exit 2."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from pagemig.cli import main

from .simtrace import zipf_trace

EXAMPLE_POLICY = Path(__file__).parent.parent / "examples" / "sim" / "top_pages.py"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_sim_writes_summary_epochs_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow.parquet as pq

    trace = zipf_trace(tmp_path / "z.parquet", accesses=20000, pages=1024)
    out = tmp_path / "run"
    rc = main(["sim", str(trace), "--topology", "dram-cxl", "--node-memory", "2MiB,16MiB",
               "--policy", "hot-cold", "--param", "hot_threshold=2", "--epoch", "2000",
               "--json", str(tmp_path / "s.json"), "--out", str(out), "--seed", "3"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "hot-cold on dram-cxl" in text and "migrations succeeded" in text
    summary = json.loads((out / "summary.json").read_text())
    timing = ("wall_seconds", "accesses_per_second", "accesses_per_second_without_faults")
    written = json.loads((tmp_path / "s.json").read_text())
    assert {k: v for k, v in summary.items() if k not in timing} == {
        k: v for k, v in written.items() if k not in timing}
    for key in ("accesses", "accesses_per_second", "pages_touched", "local_ratio"):
        assert key in summary
    assert set(summary["migrations"]) >= {"attempted", "succeeded", "failed", "failed_by_reason"}
    assert set(summary["modelled_time_s"]) >= {"access", "migration", "fault"}
    assert summary["accesses"] == 20000 and summary["seed"] == 3
    epochs = pq.read_table(out / "epochs.parquet")
    assert epochs.num_rows == 10 and sum(epochs.column("accesses").to_pylist()) == 20000
    assert {"pages_node0", "pages_node1", "access_ns", "heat"} <= set(epochs.column_names)
    for name in ("heatmap", "residency", "migrations", "time"):
        png = out / f"{name}.png"
        assert png.stat().st_size > 1000
        assert png_size(png) == (800, 450)


def test_a_policy_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = zipf_trace(tmp_path / "z.parquet", accesses=20000, pages=1024)
    rc = main(["sim", str(trace), "--node-memory", "2MiB,16MiB", "--epoch", "4000",
               "--policy", f"{EXAMPLE_POLICY}:TopPages", "--param", "top_pages=16",
               "--json", str(tmp_path / "s.json")])
    assert rc == 0, capsys.readouterr().err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["policy"] == "top-pages" and summary["migrations"]["succeeded"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--topology", "4socket"], "unknown topology"),
        (["--policy", "lru"], "unknown policy"),
        (["--policy", "hot-cold", "--param", "hot_threshold=many"], "cannot read 'many'"),
        (["--policy", "hot-cold", "--param", "nope=1"], "unknown parameter 'nope'"),
        (["--param", "x"], "not NAME=VALUE"),
        (["--epoch", "3 parsecs"], "epoch"),
        (["--cost", "fault_ns=-3"], "fault_ns"),
        (["--node-memory", "1GiB"], "--node-memory lists 1 sizes for 2 nodes"),
        (["--threads-on", "node1"], "node 1 has no CPUs"),
        (["--policy", "damos:/nonexistent.json"], "no such scheme file"),
        (["--policy", "missing.py:Foo"], "no such policy file"),
        (["--mapping", "hugetlb"], "mapping"),
    ],
)
def test_errors_are_one_line_with_status_2(tmp_path: Path, args: list[str], message: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    trace = zipf_trace(tmp_path / "z.parquet", accesses=100, pages=16)
    assert main(["sim", str(trace), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_bad_trace_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", str(tmp_path / "none.parquet")]) == 2
    assert "no such trace file" in capsys.readouterr().err
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    assert main(["sim", str(junk)]) == 2
    assert "not a Parquet file" in capsys.readouterr().err
