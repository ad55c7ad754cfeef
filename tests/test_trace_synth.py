"""Synthetic traces: each pattern's shape, determinism, and request checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow")

from pagemig.sim.trace import OP_READ, OP_WRITE, TraceWriter, open_trace
from pagemig.sim.trace.synth import (
    BLOCK,
    DEFAULT_BASE,
    PATTERNS,
    SynthRequest,
    synthesize,
)


def _pages(request: SynthRequest, chunk: int = 1 << 20) -> np.ndarray:
    return np.concatenate([(b.vaddr - DEFAULT_BASE) // request.page_size
                           for b in synthesize(request, chunk)])


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_same_request_same_trace_whatever_the_chunk(pattern: str) -> None:
    request = SynthRequest(pattern, pages=500, accesses=3 * BLOCK + 17, threads=3, seed=7)
    whole = list(synthesize(request, chunk=1 << 22))
    pieces = list(synthesize(request, chunk=1))
    assert len(whole) == 1 and len(pieces) == 4
    for name in ("t", "vaddr", "size", "op", "tid"):
        assert np.array_equal(getattr(whole[0], name),
                              np.concatenate([getattr(b, name) for b in pieces])), name
    batch = whole[0]
    assert len(batch) == request.accesses
    pages = (batch.vaddr - DEFAULT_BASE) // 4096
    assert pages.max() < 500
    assert set(np.unique(batch.tid)) <= {0, 1, 2}
    assert np.all(batch.vaddr % 64 == 0)
    assert np.array_equal(batch.t, np.arange(request.accesses, dtype=np.uint64) * 10)


def test_seed_changes_the_trace() -> None:
    a = _pages(SynthRequest("uniform", pages=1000, accesses=1000, seed=1))
    b = _pages(SynthRequest("uniform", pages=1000, accesses=1000, seed=2))
    assert not np.array_equal(a, b)


def test_zipf_is_skewed_and_uniform_is_not() -> None:
    def top_share(pattern: str) -> float:
        counts = np.bincount(_pages(SynthRequest(pattern, pages=1000, accesses=200_000)), minlength=1000)
        return float(np.sort(counts)[-10:].sum() / counts.sum())

    assert top_share("zipf") > 0.3  # 1/H(1000) * (1 + ... + 1/10) ~ 0.39
    assert top_share("uniform") < 0.02


def test_phases_move_the_hot_window() -> None:
    request = SynthRequest("phases", pages=1000, accesses=40_000, phases=4, hot_fraction=0.1)
    pages = _pages(request)
    quarter = len(pages) // 4
    for phase in range(4):
        counts = np.bincount(pages[phase * quarter:(phase + 1) * quarter], minlength=1000)
        window = counts[phase * 100:(phase + 1) * 100].sum()
        assert window / quarter > 0.85, phase


def test_scan_sweeps_each_thread_share_in_order() -> None:
    request = SynthRequest("scan", pages=8, accesses=2 * 8 * 64, threads=2)
    (batch,) = synthesize(request)
    pages = (batch.vaddr - DEFAULT_BASE) // 4096
    thread0 = pages[batch.tid == 0]
    assert list(thread0[::64]) == [0, 1, 2, 3, 0, 1, 2, 3]
    assert set(pages[batch.tid == 1]) == {4, 5, 6, 7}


def test_prodcons_consumers_read_what_producers_wrote_lag_pages_before() -> None:
    request = SynthRequest("prodcons", pages=10, accesses=100, threads=4)
    (batch,) = synthesize(request)
    pages = ((batch.vaddr - DEFAULT_BASE) // 4096).astype(np.int64)
    writes = batch.op == OP_WRITE
    assert set(batch.tid[writes]) == {0, 1} and set(batch.tid[~writes]) == {2, 3}
    assert np.all(batch.op[~writes] == OP_READ)
    assert np.array_equal((pages[writes] - pages[~writes]) % 10, np.full(50, 5))


def test_written_synth_trace_records_its_request(tmp_path: Path) -> None:
    request = SynthRequest("zipf", pages=64, accesses=5000, seed=3)
    path = tmp_path / "z.parquet"
    with TraceWriter(path, request.meta()) as writer:
        for batch in synthesize(request):
            writer.write(batch)
    reader = open_trace(path)
    assert reader.num_rows == 5000
    assert reader.meta.source_format == "synth"
    assert reader.meta.extra["pattern"] == "zipf" and reader.meta.extra["seed"] == "3"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"pattern": "gauss"}, "unknown pattern 'gauss' \\(patterns: uniform, zipf"),
    ({"pages": 0}, "pages must be at least 1"),
    ({"accesses": -5}, "accesses must be at least 1"),
    ({"threads": True}, "threads must be an int"),
    ({"pattern": "prodcons", "threads": 1}, "at least 2 threads"),
    ({"write_ratio": 1.5}, "write_ratio must be between 0 and 1"),
    ({"pages": 1 << 40}, "47-bit user address space"),
    ({"seed": -1}, "seed must not be negative"),
])
def test_bad_requests_name_the_argument(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"pattern": "uniform", "pages": 10, "accesses": 10}
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        SynthRequest(**args)  # type: ignore[arg-type]


def test_cli_synth_writes_the_trace_and_refuses_bad_requests(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pagemig.cli import main

    out = tmp_path / "s.parquet"
    assert main(["trace", "synth", "scan", "--pages", "16", "--accesses", "2048", "--threads", "2",
                 "--seed", "5", "-o", str(out)]) == 0
    assert "wrote 2048 accesses" in capsys.readouterr().err
    reader = open_trace(out)
    assert reader.num_rows == 2048 and reader.meta.extra["threads"] == "2"
    bad = tmp_path / "bad.parquet"
    for args, message in [
        (["gauss", "--pages", "4", "--accesses", "4"], "unknown pattern 'gauss'"),
        (["uniform", "--pages", "0", "--accesses", "4"], "pages must be at least 1"),
        (["prodcons", "--pages", "4", "--accesses", "4"], "at least 2 threads"),
    ]:
        assert main(["trace", "synth", *args, "-o", str(bad)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
        assert not bad.exists()
