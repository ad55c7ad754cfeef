"""``pagemig trace record``: real programs run under valgrind's lackey (skipped without valgrind)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow")

from pagemig.cli import main
from pagemig.sim.trace import OP_FETCH, open_trace

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")

THREADS_C = r"""
#include <pthread.h>
#include <stdio.h>
static volatile long buf[3][512];
static void *work(void *arg) { long i = (long)arg; for (int k = 0; k < 512; k++) buf[i][k] = k; return 0; }
int main(void) {
    pthread_t t[2];
    for (long i = 0; i < 2; i++) pthread_create(&t[i], 0, work, (void *)(i + 1));
    work(0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
    printf("threads done\n");
    return 3;
}
"""


@pytest.fixture(scope="module")
def threads_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    where = tmp_path_factory.mktemp("prog")
    (where / "threads.c").write_text(THREADS_C)
    subprocess.run(["gcc", "-O1", "-pthread", "-o", str(where / "threads"), str(where / "threads.c")],
                   check=True)
    return where / "threads"


@needs_valgrind
def test_record_true(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "true.parquet"
    assert main(["trace", "record", "-o", str(out), "--", "/bin/true"]) == 0
    reader = open_trace(out)
    assert reader.meta.source_format == "lackey" and reader.meta.command == "/bin/true"
    assert not reader.meta.sampled and reader.meta.time_unit == "instructions"
    assert reader.num_rows > 100_000                     # /bin/true: about 170 k accesses
    batch = next(reader.iter_batches())
    assert batch.op[0] == OP_FETCH and set(np.unique(batch.tid).tolist()) == {1}
    assert f"wrote {reader.num_rows} accesses to {out}" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["true.parquet"]


@needs_valgrind
def test_record_threads_output_and_exit_status(tmp_path: Path, threads_program: Path,
                                               capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.parquet"
    assert main(["trace", "record", "-o", str(out), "--", str(threads_program)]) == 3
    captured = capfd.readouterr()
    assert "threads done\n" in captured.out            # the program's output passes through
    assert f"{threads_program} exited with status 3; the trace of its run is written" in captured.err
    tids = np.concatenate([b.tid for b in open_trace(out).iter_batches()])
    assert set(np.unique(tids).tolist()) == {1, 2, 3}


@needs_valgrind
def test_record_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.parquet"
    assert main(["trace", "record", "-o", str(out), "--sample", "100", "--", "/bin/true"]) == 0
    reader = open_trace(out)
    assert reader.meta.sampled and reader.meta.sample_period == 100
    (batch,) = reader.iter_batches()
    assert batch.weight is not None and set(batch.weight.tolist()) == {100}
    err = capsys.readouterr().err
    total = int(err.split(" of ")[1].split()[0])
    assert reader.num_rows == (total + 99) // 100


@needs_valgrind
def test_record_missing_program(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.parquet"
    assert main(["trace", "record", "-o", str(out), "--", "no-such-program-here"]) == 2
    assert capsys.readouterr().err == "pagemig: error: no-such-program-here: no such program\n"
    assert main(["trace", "record", "-o", str(out), "--", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"pagemig: error: {tmp_path}: no such program\n"
    assert not list(tmp_path.iterdir())


def test_record_without_valgrind(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["trace", "record", "-o", str(tmp_path / "t.parquet"), "--", "/bin/true"]) == 2
    assert capsys.readouterr().err == ("pagemig: error: valgrind not found: trace record needs "
                                       "valgrind (apt-get install valgrind)\n")


@needs_valgrind
def test_record_interrupted_leaves_no_file(tmp_path: Path) -> None:
    """Ctrl-C reaches pagemig, valgrind and the program (one process group)."""
    pagemig = Path(sys.executable).with_name("pagemig")
    proc = subprocess.Popen([str(pagemig), "trace", "record", "-o", str(tmp_path / "t.parquet"), "--",
                             "sleep", "30"], stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 30
    while not any(p.name.startswith(".t.parquet.partial") for p in tmp_path.iterdir()):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.endswith("pagemig: error: interrupted; no trace written\n")
    assert not list(tmp_path.iterdir())
