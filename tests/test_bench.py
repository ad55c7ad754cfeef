"""The benchmark suite runs (quick sizes); it reports times, tests never assert them."""

from __future__ import annotations

from pagemig.bench import CASES, run, table


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
