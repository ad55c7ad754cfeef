"""The HTML reports in a real browser: headless Chromium opens `pagemig sim
--html` and `pagemig sweep report --html`, takes a screenshot, and a probe
(added to a copy of the page only) reports the title, every image's natural
size, every resource fetched and every error. `.ci/run` installs Debian's
chromium; without it these tests are skipped."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pagemig.cli import main

from .simtrace import zipf_trace
from .test_sim_cli import png_size

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=10000"]

PROBE = """<script>
window.__errors = [];
window.addEventListener("error",
  e => window.__errors.push(String(e.message || e.target.src || e.type)), true);
const __consoleError = console.error;
console.error = (...a) => { window.__errors.push(a.join(" ")); __consoleError(...a); };
window.addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "pagemig-probe";
  out.textContent = JSON.stringify({
    title: document.title,
    images: Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
    resources: performance.getEntriesByType("resource").map(r => r.name),
    errors: window.__errors});
  document.body.appendChild(out);
});
</script>"""


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)


def open_page(page: Path, shot: Path) -> dict[str, object]:
    """Screenshot of the page, and what the probe saw in a copy of it."""
    done = chromium("--window-size=1200,2400", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), done.stderr
    probed = page.with_name("probed-" + page.name)
    probed.write_text(page.read_text().replace("<head>", "<head>" + PROBE, 1))
    dumped = chromium("--enable-logging=stderr", "--v=0", "--dump-dom", probed.as_uri())
    match = re.search(r'<pre id="pagemig-probe">(.*?)</pre>', dumped.stdout, re.S)
    assert match, dumped.stdout[-2000:] + dumped.stderr[-2000:]
    seen: dict[str, object] = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    console = [line for line in dumped.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line]
    seen["console"] = console
    return seen


def check_rendered(seen: dict[str, object], title: str, images: int, shot: Path) -> None:
    assert seen["title"] == title
    assert len(seen["images"]) == images  # type: ignore[arg-type]
    for complete, width, height in seen["images"]:  # type: ignore[attr-defined]
        assert complete and width == 800 and height == 450
    assert seen["resources"] == []  # nothing fetched: the page is self-contained
    assert seen["errors"] == [] and seen["console"] == []
    assert png_size(shot) == (1200, 2400) and shot.stat().st_size > 50_000


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_sim_report_renders(tmp_path: Path) -> None:
    trace = zipf_trace(tmp_path / "z.parquet", accesses=20000, pages=1024)
    page = tmp_path / "report.html"
    assert main(["sim", str(trace), "--node-memory", "2MiB,16MiB", "--policy", "hot-cold",
                 "--epoch", "2000", "--html", str(page)]) == 0
    seen = open_page(page, tmp_path / "shot.png")
    check_rendered(seen, "pagemig sim: hot-cold on dram-cxl", 4, tmp_path / "shot.png")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_sweep_report_renders(tmp_path: Path) -> None:
    zipf_trace(tmp_path / "a.parquet", accesses=10000, pages=1024)
    grid = tmp_path / "grid.toml"
    grid.write_text('trace = "a.parquet"\npolicy = ["first-touch", "hot-cold"]\nnode_memory = "1MiB,16MiB"\n'
                    'epoch = 2000\n[params.hot-cold]\nhot_threshold = [2, 4, 8]\n')
    out = tmp_path / "sweep"
    assert main(["sweep", str(grid), "--out", str(out), "--workers", "1"]) == 0
    assert main(["sweep", "report", str(out), "--html"]) == 0
    seen = open_page(out / "report.html", tmp_path / "shot.png")
    check_rendered(seen, "pagemig sweep report", 2, tmp_path / "shot.png")
