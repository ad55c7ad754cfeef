"""`pagemig sweep`: grid expansion, seeds, the three engines giving one table,
restart, failing cells, a trace missing on a worker, one-line grid errors,
the report's outputs, and the example grid on a local cluster of two workers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pagemig.cli import main

from .simtrace import zipf_trace
from .test_sim_cli import png_size

pytest.importorskip("distributed")

from pagemig.sweep.engine import run_sweep
from pagemig.sweep.grid import derive_seed, load_grid
from pagemig.sweep.results import is_timing

EXAMPLE = Path(__file__).parent.parent / "examples" / "sweep" / "grid.toml"

GRID_12 = """
trace = ["a.parquet", "b.parquet"]
topology = ["dram-cxl"]
policy = ["first-touch", "hot-cold", "oracle"]
node_memory = "1MiB,16MiB"
epoch = 2000
[params.hot-cold]
hot_threshold = [2, 4, 8]
[params.oracle]
quota_pages_per_s = [10000, 100000]
"""

RAISING_POLICY = '''
from dataclasses import dataclass
from pagemig.sim.policies import Policy

class Raising(Policy):
    name = "raising"

    @dataclass(frozen=True)
    class Params:
        fail: bool = False

    def on_epoch(self, ctx, stats):
        if self.params.fail and stats.index == 1:
            raise RuntimeError("the policy gave up in epoch 1")
'''


def make_grid(tmp_path: Path, text: str = GRID_12, accesses: int = 10000) -> Path:
    zipf_trace(tmp_path / "a.parquet", accesses=accesses, pages=1024, seed=1)
    zipf_trace(tmp_path / "b.parquet", accesses=accesses, pages=512, seed=2)
    grid = tmp_path / "grid.toml"
    grid.write_text(text)
    return grid


def read(out: Path) -> list[dict[str, object]]:
    import pyarrow.parquet as pq

    return pq.read_table(out / "results.parquet").to_pylist()


def comparable(out: Path) -> list[dict[str, object]]:
    """The results without the columns that vary with the machine's load."""
    return [{k: v for k, v in row.items() if not is_timing(k)} for row in read(out)]


def last_json(text: str) -> dict[str, object]:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert lines and lines[-1]["event"] == "done"
    return lines[-1]


# --- the grid ------------------------------------------------------------------------------


def test_example_grid_expands_with_exclude_and_include(tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    shutil.copy(EXAMPLE, grid)
    zipf_trace(tmp_path / "zipf.parquet", accesses=1000, pages=64)
    cells = load_grid(grid).cells
    named = sorted((dict(c.values)["policy"], tuple(sorted(c.spec.params))) for c in cells)
    assert named == sorted([
        ("first-touch", ()),
        *[("hot-cold", (("cold_threshold", str(c)), ("hot_threshold", str(h))))
          for h in (2, 4, 8) for c in (0, 1) if (h, c) != (8, 1)],
        ("hot-cold", (("cold_threshold", "0"), ("demote", "false"), ("hot_threshold", "4"))),
        ("oracle", (("quota_pages_per_s", "10000"),)),
        ("oracle", (("quota_pages_per_s", "100000"),)),
    ])
    assert all(c.spec.node_memory == "2MiB,16MiB" and c.spec.epoch == "10000" for c in cells)
    assert all(Path(c.trace.path) == tmp_path / "zipf.parquet" for c in cells)


def test_seeds_derive_from_the_cell(tmp_path: Path) -> None:
    grid = make_grid(tmp_path)
    first, again = load_grid(grid).cells, load_grid(grid).cells
    assert [(c.key, c.seed) for c in first] == [(c.key, c.seed) for c in again]
    assert len({c.seed for c in first}) == len(first) == 12
    assert derive_seed(first[0].key, 0) == first[0].seed != derive_seed(first[0].key, 1)
    grid.write_text("seed = 7\n" + GRID_12)
    assert {c.seed for c in load_grid(grid).cells}.isdisjoint({c.seed for c in first})
    # The key follows the trace's content, not its name.
    shutil.copy(tmp_path / "a.parquet", tmp_path / "c.parquet")
    grid.write_text(GRID_12.replace('"b.parquet"', '"c.parquet"'))
    assert len(load_grid(grid).cells) == 6


# --- running -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """A Dask scheduler and two workers, separate processes on 127.0.0.1."""
    dask = str(Path(sys.executable).parent / "dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    log = (tmp_path / "dask.log").open("w")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--no-dashboard"], stdout=log, stderr=log, env=env)]
    procs += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--no-nanny",
                                "--local-directory", str(tmp_path / f"worker{i}")],
                               stdout=log, stderr=log, env=env, cwd=tmp_path) for i in range(2)]
    try:
        yield address
    finally:
        for proc in procs:  # nothing of theirs to keep
            proc.kill()
            proc.wait()
        log.close()


def test_three_engines_give_one_table(tmp_path: Path, dask_cluster: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    grid = make_grid(tmp_path)
    runs = {"inprocess": ["--workers", "1"], "again": ["--workers", "1"], "local": ["--workers", "2"],
            "scheduler": ["--scheduler", dask_cluster]}
    for name, args in runs.items():
        rc = main(["sweep", str(grid), "--out", str(tmp_path / name), "--json", *args])
        assert rc == 0, capsys.readouterr().err
        done = last_json(capsys.readouterr().out)
        assert (done["cells"], done["ran"], done["failed"]) == (12, 12, 0)
    tables = {name: comparable(tmp_path / name) for name in runs}
    assert len(tables["inprocess"]) == 12
    assert all(row["status"] == "ok" for row in tables["inprocess"])
    assert tables["inprocess"] == tables["again"] == tables["local"] == tables["scheduler"]
    workers = {row["worker"] for row in read(tmp_path / "scheduler")}
    assert all(str(w).startswith("tcp://127.0.0.1:") for w in workers)
    # Every parameter and every summary figure is a column.
    row = read(tmp_path / "local")[0]
    for column in ("trace", "topology", "policy", "node_memory", "epoch", "seed", "param_hot_threshold",
                   "param_quota_pages_per_s", "trace_sha256", "accesses", "local_ratio", "fast_tier_ratio",
                   "migrations_attempted", "migrations_succeeded", "migrations_failed",
                   "modelled_time_s_total", "pages_node0", "pages_node1"):
        assert column in row

    # A trace that is on no worker's storage (and not uploaded) fails each cell, no hang.
    plan = load_grid(grid)
    gone = replace(plan, cells=tuple(replace(c, trace=replace(c.trace, path="/nonexistent/t.parquet"))
                                     for c in plan.cells[:2]))
    outcome = run_sweep(gone, tmp_path / "missing", scheduler=dask_cluster, upload_max=0)
    assert (outcome.ran, outcome.failed) == (2, 2)
    assert all("/nonexistent/t.parquet is not on worker tcp://127.0.0.1:" in e for _, e in outcome.failures)


def test_restart_skips_the_cells_done(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow.parquet as pq

    grid = make_grid(tmp_path)
    out = tmp_path / "out"
    assert main(["sweep", str(grid), "--out", str(out), "--workers", "1", "--json"]) == 0
    capsys.readouterr()
    full = comparable(out)
    table = pq.read_table(out / "results.parquet")
    pq.write_table(table.slice(0, 5), out / "results.parquet")  # as if stopped after 5 cells
    assert main(["sweep", str(grid), "--out", str(out), "--workers", "1", "--json"]) == 0
    done = last_json(capsys.readouterr().out)
    assert (done["skipped"], done["ran"]) == (5, 7)
    assert comparable(out) == full
    assert main(["sweep", str(grid), "--out", str(out), "--workers", "1", "--json"]) == 0
    assert (last_json(capsys.readouterr().out)["ran"]) == 0


def test_resume_after_killing_the_sweep(tmp_path: Path) -> None:
    grid = make_grid(tmp_path, accesses=60000)
    out = tmp_path / "out"
    command = [str(Path(sys.executable).parent / "pagemig"), "sweep", str(grid), "--out", str(out),
               "--workers", "1", "--json"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "results.parquet").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    rows_at_kill = len(read(out))
    assert rows_at_kill >= 1
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    done = last_json(again.stdout)
    assert done["skipped"] == rows_at_kill and done["ran"] == 12 - rows_at_kill
    assert len(read(out)) == 12


def test_a_failing_cell_is_recorded_and_counted_in_the_exit_status(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "raising.py").write_text(RAISING_POLICY)
    grid = make_grid(tmp_path, 'trace = ["a.parquet"]\npolicy = ["raising.py:Raising", "first-touch"]\n'
                               'epoch = 2000\n[params."raising.py:Raising"]\nfail = [true, false]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(grid), "--out", str(out), "--workers", "1"]) == 11
    captured = capsys.readouterr()
    assert "3 cells: 0 already done, 3 run (1 failed)" in captured.out
    assert "RuntimeError: the policy gave up in epoch 1" in captured.err
    rows = read(out)
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["param_fail"] is True
    assert failed[0]["error"] == "RuntimeError: the policy gave up in epoch 1"
    assert failed[0]["local_ratio"] is None
    assert all(r["local_ratio"] is not None for r in rows if r["status"] == "ok")
    # A rerun runs the failed cell again, and only it.
    assert main(["sweep", str(grid), "--out", str(out), "--workers", "1", "--json"]) == 11
    assert last_json(capsys.readouterr().out)["ran"] == 1


def test_a_trace_missing_in_process_is_a_cell_error(tmp_path: Path) -> None:
    plan = load_grid(make_grid(tmp_path))
    cell = plan.cells[0]
    gone = replace(plan, cells=(replace(cell, trace=replace(cell.trace, path="/no/t.parquet")),))
    outcome = run_sweep(gone, tmp_path / "out", workers=1)
    assert outcome.failed == 1 and "trace /no/t.parquet is not on worker local" in outcome.failures[0][1]


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trace = [", "not TOML"),
        ('trace = "a.parquet"\npolicy = "lru"', "policy: unknown policy 'lru'"),
        ('trace = "a.parquet"\npolicy = "hot-cold"\ntopology = "4socket"', "topology: unknown topology"),
        ('trace = "a.parquet"\npolicy = "hot-cold"\n[params.hot-cold]\nnope = 1',
         "params.hot-cold.nope: policy hot-cold: unknown parameter 'nope'"),
        ('trace = "a.parquet"\npolicy = "hot-cold"\n[params.hot-cold]\nhot_threshold = ["many"]',
         "params.hot-cold.hot_threshold: policy hot-cold: parameter hot_threshold: cannot read 'many'"),
        ('trace = "a.parquet"\npolicy = "oracle"\n[params.hot-cold]\nhot_threshold = 2',
         "params.hot-cold: policy 'hot-cold' is not in the grid's policies"),
        ('trace = "none.parquet"\npolicy = "hot-cold"', "trace: none.parquet: no such trace file"),
        ('trace = "a.parquet"\npolicy = "hot-cold"\nthreads = 4', "threads: unknown key"),
        ('trace = "a.parquet"\npolicy = "hot-cold"\nepoch = "3 parsecs"', "epoch: "),
        ('trace = "a.parquet"\npolicy = "hot-cold"\nnode_memory = "1GiB"',
         "node_memory: node_memory lists 1"),
        ('trace = "a.parquet"\npolicy = "hot-cold"\n[[exclude]]\nhot = 2', "exclude[0].hot: not a dimension"),
        ('policy = "hot-cold"', "trace: missing"),
    ],
)
def test_bad_grids_are_one_line_with_status_2(tmp_path: Path, text: str, message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    grid = make_grid(tmp_path, text, accesses=200)
    out = tmp_path / "out"
    assert main(["sweep", str(grid), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pagemig: error: {grid}: ") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_missing_grid_and_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", str(tmp_path / "none.toml")]) == 2
    assert "no such grid file" in capsys.readouterr().err
    grid = make_grid(tmp_path, 'trace = "a.parquet"\npolicy = "first-touch"', accesses=200)
    assert main(["sweep", str(grid), "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"]) == 2
    assert main(["sweep", "report", str(tmp_path / "nothing")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid = make_grid(tmp_path, 'trace = "a.parquet"\npolicy = "first-touch"', accesses=200)
    rc = main(["sweep", str(grid), "--out", str(tmp_path / "o"), "--timeout", "2",
               "--scheduler", f"tcp://127.0.0.1:{free_port()}"])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot reach the Dask scheduler" in err and err.count("\n") == 1


# --- the example and the report ---------------------------------------------------------------


def test_example_grid_on_a_local_cluster_and_its_report(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    grid = tmp_path / "grid.toml"
    shutil.copy(EXAMPLE, grid)
    assert main(["trace", "synth", "zipf", "--pages", "2048", "--accesses", "100000",
                 "-o", str(tmp_path / "zipf.parquet")]) == 0
    out = tmp_path / "sweep"
    assert main(["sweep", str(grid), "--out", str(out), "--workers", "2"]) == 0
    assert "9 cells: 0 already done, 9 run (0 failed)" in capsys.readouterr().out
    assert main(["sweep", "report", str(out), "--html"]) == 0
    text = capsys.readouterr().out
    assert "Best policy per trace and topology" in text and "oracle" in text
    for name in ("pareto", "sensitivity-hot_threshold", "sensitivity-cold_threshold",
                 "sensitivity-quota_pages_per_s"):
        assert png_size(out / "report" / f"{name}.png") == (800, 450)
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 4
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "<title>pagemig sweep report</title>" in page
