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
