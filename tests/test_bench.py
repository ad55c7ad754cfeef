"""The benchmark suite runs (quick sizes); it reports times, tests never assert them."""

from __future__ import annotations

import pytest

from pagemig.bench import CASES, run, run_sim, sim_table, table


def test_quick_benchmark_runs_every_case_and_reports_ratios() -> None:
    report = run([64], big=False)
    results = report["results"]
    assert [r["case"] for r in results] == list(CASES)  # type: ignore[union-attr]
    for r in results:  # type: ignore[union-attr]
        assert r["pages"] == 64 and r["seconds"] > 0 and "vs_numpy_copy" in r["ratios"]
    assert report["metadata_bytes_per_frame"] > 0  # type: ignore[operator]
    text = table(report)
    assert "move_pages anon 0->1" in text and "metadata bytes" in text
    assert text.startswith(f"implementation of pagemig.mm: {report['implementation']}")


def test_repeat_reports_the_best_of_its_runs() -> None:
    report = run([32], ["move_pages anon 0->1", "fork"], big=False, repeat=3)
    assert report["repeat"] == 3
    for r in report["results"]:  # type: ignore[union-attr]
        assert len(r["runs"]) == 3 and r["seconds"] == min(r["runs"])
        assert r["us_per_page"] == 1e6 * r["seconds"] / 32
    assert "the best of 3 runs" in table(report)


def test_repeat_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run([32], ["fork"], big=False, repeat=0)


def test_live_case_reports_pagemig_against_its_references() -> None:
    from pagemig.bench import LIVE_CASE, live_table, run_live

    from .test_real_live import UNAVAILABLE

    if UNAVAILABLE["move_pages"]:
        pytest.skip(f"move_pages: {UNAVAILABLE['move_pages']}")
    report = run_live(pages=64, repeat=2)
    assert report["case"] == LIVE_CASE and report["pages"] == 64
    runs = report["runs"]
    assert len(runs["pagemig query"]) == len(runs["pagemig move"]) == 2  # type: ignore[index]
    assert set(report["ratios"]) >= {"query vs ctypes", "move vs ctypes"}  # type: ignore[arg-type]
    assert report["overhead_us"]["query"] > 0  # type: ignore[index]
    assert "pagemig.real / reference" in live_table(report)


def test_sim_case_reports_rates_with_and_without_page_events() -> None:
    report = run_sim(20_000, 512, repeat=2)
    assert report["repeat"] == 2 and report["numpy_pass_seconds"] > 0  # type: ignore[operator]
    for r in report["results"]:  # type: ignore[union-attr]
        assert r["accesses"] == 20_000 and len(r["runs"]) == 2 and r["seconds"] == min(r["runs"])
        assert r["fault_seconds"] + r["migration_seconds"] <= r["seconds"]
        rates = ("accesses_per_s", "accesses_per_s_without_faults", "accesses_per_s_without_page_events")
        assert r[rates[0]] <= r[rates[1]] <= r[rates[2]]
    text = sim_table(report)
    assert "first-touch" in text and "hot-cold" in text and "w/o events" in text and "the best of 2" in text


def test_sweep_case_reports_both_engines_and_consistent_ratios() -> None:
    pytest.importorskip("distributed")
    from pagemig.bench import IN_PROCESS, LOCAL_CLUSTER, PROCESS_POOL, SWEEP_CASE, run_sweep_case, sweep_table

    report = run_sweep_case(workers=2, cells=3, accesses=2000, pages=64, overhead_cells=4, repeat=2)
    assert report["case"] == SWEEP_CASE and report["workers"] == 2 and report["repeat"] == 2
    for grid, cells in (("overhead", 4), ("scaling", 3)):
        engines = report[grid]["engines"]
        assert report[grid]["cells"] == cells and list(engines) == [IN_PROCESS, LOCAL_CLUSTER, PROCESS_POOL]
        assert engines[IN_PROCESS]["engine"] == "this process" and engines[IN_PROCESS]["workers"] == 1
        assert engines[LOCAL_CLUSTER]["engine"] == "a local cluster of 2 worker processes"
        assert engines[PROCESS_POOL]["workers"] == 2
        for r in engines.values():
            assert r["cells"] == cells and len(r["runs"]) == 2
            assert r["cells_seconds"] == min(run["cells_seconds"] for run in r["runs"])
            assert r["start_seconds"] >= 0 and r["start_seconds"] + r["cells_seconds"] <= r["seconds"]
            assert r["cells_per_s"] == pytest.approx(cells / r["cells_seconds"])
            assert r["cells_per_s_end_to_end"] == pytest.approx(cells / r["seconds"])
            assert r["cells_per_s_end_to_end"] <= r["cells_per_s"]
            assert r["ms_per_cell"] == pytest.approx(1e3 * r["cells_seconds"] / cells)
            assert r["outside_cell_ms"] == pytest.approx(r["ms_per_cell"] * r["workers"] - r["cell_ms_mean"])
            assert r["cell_ms_median"] > 0 and r["cell_ms_mean"] > 0
    scaling, overhead = report["scaling"]["engines"], report["overhead"]["engines"]
    ratios = report["ratios"]
    speedup = scaling[LOCAL_CLUSTER]["cells_per_s"] / scaling[IN_PROCESS]["cells_per_s"]
    assert ratios["scaling cells/s, local cluster / in process"] == pytest.approx(speedup)
    assert ratios["scaling cells/s, local cluster / process pool"] == pytest.approx(
        scaling[LOCAL_CLUSTER]["cells_per_s"] / scaling[PROCESS_POOL]["cells_per_s"])
    assert ratios["overhead ms/cell, local cluster / in process"] == pytest.approx(
        overhead[LOCAL_CLUSTER]["ms_per_cell"] / overhead[IN_PROCESS]["ms_per_cell"])
    worst = max(e["ms_per_cell"] for e in overhead.values())
    assert report["met"] == {
        "overhead": worst < report["targets"]["overhead_ms_per_cell"],
        "speedup": speedup >= report["targets"]["speedup"]}
    text = sweep_table(report)
    assert all(engine in text for engine in (IN_PROCESS, LOCAL_CLUSTER, PROCESS_POOL))
    assert "the best of 2" in text
    assert "targets: overhead < 50 ms/cell" in text


def test_sweep_case_needs_two_workers_for_its_cluster() -> None:
    from pagemig.bench import run_sweep_case

    with pytest.raises(ValueError, match="at least 2 workers"):
        run_sweep_case(workers=1)
    with pytest.raises(ValueError, match="at least 1"):
        run_sweep_case(workers=2, repeat=0)
