"""Build and lint the scenario runner (conformance/guest/runner.c).

The runner is a static C program, so the same binary runs in the guest's
initramfs and on the host. Builds are cached by the source's hash.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from .cache import cache_dir
from .errors import ConformanceError

RUNNER_SOURCE = Path(__file__).resolve().parents[3] / "conformance" / "guest" / "runner.c"
CFLAGS = ["-O2", "-static", "-Wall", "-Wextra"]


def runner_source() -> Path:
    """runner.c of this checkout (``$PAGEMIG_RUNNER_SRC`` overrides)."""
    path = Path(os.environ.get("PAGEMIG_RUNNER_SRC", RUNNER_SOURCE))
    if not path.is_file():
        raise ConformanceError(f"the runner source {path} is missing: the conformance backends run "
                               "from a pagemig checkout (or set PAGEMIG_RUNNER_SRC)")
    return path


def compile_runner(source: Path, out: Path) -> Path:
    """gcc -O2 -static SOURCE -o OUT."""
    if shutil.which("gcc") is None:
        raise ConformanceError("gcc is missing: apt-get install gcc libc6-dev")
    proc = subprocess.run(["gcc", *CFLAGS, "-o", str(out), str(source)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        hint = " (is libc6-dev installed? a static build needs libc.a)" if "-lc" in proc.stderr else ""
        raise ConformanceError(f"gcc could not build {source}{hint}:\n{proc.stderr.strip()}")
    return out


def build_runner() -> Path:
    """The runner binary, built once per version of runner.c."""
    source = runner_source()
    digest = hashlib.sha256(source.read_bytes() + " ".join(CFLAGS).encode()).hexdigest()[:16]
    out = cache_dir() / f"runner-{digest}"
    if not out.exists():
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        compile_runner(source, tmp)
        tmp.replace(out)
    return out


def lint(runner: Path, paths: list[Path]) -> str:
    """``runner -l``: the parse errors of the files ('' when they all parse)."""
    proc = subprocess.run([str(runner), "-l", *map(str, paths)], capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 2):
        raise ConformanceError(f"runner -l failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stderr.strip()


def check_parses(runner: Path, paths: list[Path]) -> None:
    """Refuse files the runner cannot run, before any boot."""
    errors = lint(runner, paths)
    if errors:
        raise ConformanceError(f"the runner cannot run these scenario lines:\n{errors}")
