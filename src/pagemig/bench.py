"""The benchmark suite: how fast the model runs, as ratios to references
measured in the same run (a numpy copy of the same bytes, and the live
kernel's move_pages in query mode over the same number of pages).

Times are measured here and only reported; no test asserts them.
"""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .implementation import describe
from .machine import Machine
from .mm.page import PAGE_SIZE
from .process import Process

MOVE, MOVE_ALL = 2, 4


@dataclass
class Result:
    case: str
    pages: int
    seconds: float
    us_per_page: float
    ratios: dict[str, float] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)
    runs: list[float] = field(default_factory=list)  # every run's seconds; ``seconds`` is the best


@contextmanager
def _timer(out: list[float]) -> Iterator[None]:
    gc.collect()
    t0 = time.perf_counter()
    yield
    out.append(time.perf_counter() - t0)


def _machine(pages: int, nodes: int = 2) -> Machine:
    per_node = max(64 << 20, (pages * 3 + 4096) * PAGE_SIZE)
    return Machine(nodes=nodes, node_memory=per_node, swap=0)


def _anon(m: Machine, pages: int) -> tuple[Process, list[int]]:
    p = m.spawn(uid=0, cpu=0)
    a = p.mmap(pages * PAGE_SIZE)
    for i in range(pages):
        # Written, not only faulted: the page then has bytes of its own and
        # migrate_page_copy really copies 4 KiB, as the numpy reference does.
        p.write(a + i * PAGE_SIZE, b"x")
    return p, [a + i * PAGE_SIZE for i in range(pages)]


def _file(m: Machine, pages: int, fs: str, dirty: bool) -> tuple[Process, list[int]]:
    p = m.spawn(uid=0, cpu=0)
    f = m.create_file(f"/bench/{fs}", size=pages * PAGE_SIZE, fs=fs)
    a = p.mmap(pages * PAGE_SIZE, file=f, shared=True)
    for i in range(pages):
        p.touch(a + i * PAGE_SIZE, write=dirty)
    return p, [a + i * PAGE_SIZE for i in range(pages)]


def _move(p: Process, addrs: list[int], flags: int = MOVE) -> float:
    times: list[float] = []
    p.machine.account.enabled = False
    with _timer(times):
        p.move_pages(0, addrs, [1] * len(addrs), flags)
    return times[0]


def case_move_anon(pages: int) -> float:
    m = _machine(pages)
    p, addrs = _anon(m, pages)
    return _move(p, addrs)


def case_move_shmem(pages: int) -> float:
    m = _machine(pages)
    p, addrs = _file(m, pages, "tmpfs", True)
    return _move(p, addrs)


def case_move_file_clean(pages: int) -> float:
    m = _machine(pages)
    p, addrs = _file(m, pages, "ext2", False)
    return _move(p, addrs)


def case_move_file_dirty(pages: int) -> float:
    m = _machine(pages)
    p, addrs = _file(m, pages, "ext2", True)
    return _move(p, addrs)


def case_move_cow_move_all(pages: int) -> float:
    m = _machine(pages)
    p, addrs = _anon(m, pages)
    p.fork()
    return _move(p, addrs, MOVE_ALL)


def case_move_mixed_failures(pages: int) -> float:
    """A quarter each: movable, COW-shared (-EACCES), untouched (-ENOENT), already there."""
    m = _machine(pages)
    p = m.spawn(uid=1000, cpu=0)
    a = p.mmap(pages * PAGE_SIZE)
    addrs = [a + i * PAGE_SIZE for i in range(pages)]
    for i in range(pages):
        if i % 4 in (0, 1, 3):
            p.touch(addrs[i])
    p.fork()
    for i in range(0, pages, 4):
        p.touch(addrs[i])  # breaks COW: exclusively owned again
    return _move(p, addrs)


def case_query(pages: int) -> float:
    m = _machine(pages)
    p, addrs = _anon(m, pages)
    times: list[float] = []
    with _timer(times):
        p.move_pages(0, addrs, None)
    return times[0]


def case_migrate_pages_process(pages: int) -> float:
    m = _machine(pages)
    p, _ = _anon(m, pages)
    times: list[float] = []
    m.account.enabled = False
    with _timer(times):
        p.migrate_pages(0, [0], [1])
    return times[0]


def case_mbind_move(pages: int) -> float:
    m = _machine(pages)
    p, addrs = _anon(m, pages)
    times: list[float] = []
    m.account.enabled = False
    with _timer(times):
        p.mbind(addrs[0], pages * PAGE_SIZE, 2, [1], MOVE)
    return times[0]


def case_first_touch(pages: int) -> float:
    m = _machine(pages)
    p = m.spawn(uid=0, cpu=0)
    a = p.mmap(pages * PAGE_SIZE)
    times: list[float] = []
    with _timer(times):
        for i in range(pages):
            p.touch(a + i * PAGE_SIZE)
    return times[0]


def case_fork(pages: int) -> float:
    m = _machine(pages)
    p, _ = _anon(m, pages)
    times: list[float] = []
    with _timer(times):
        p.fork()
    return times[0]


CASES: dict[str, Callable[[int], float]] = {
    "move_pages anon 0->1": case_move_anon,
    "move_pages shmem": case_move_shmem,
    "move_pages file clean": case_move_file_clean,
    "move_pages file dirty": case_move_file_dirty,
    "move_pages COW MOVE_ALL": case_move_cow_move_all,
    "move_pages mixed failures": case_move_mixed_failures,
    "move_pages query": case_query,
    "migrate_pages(2) process": case_migrate_pages_process,
    "mbind MPOL_MF_MOVE": case_mbind_move,
    "first-touch faults": case_first_touch,
    "fork": case_fork,
}


# --- references ------------------------------------------------------------------------------


def numpy_copy_seconds(pages: int, repeat: int = 3) -> float:
    """The best of ``repeat`` copies of ``pages`` frames' bytes into fresh memory
    (as a migration copies into fresh frames); the best of several, because one
    copy of a few MiB is at the mercy of whatever else the machine runs."""
    times: list[float] = []
    for _ in range(repeat):
        src = np.ones(pages * PAGE_SIZE, dtype=np.uint8)
        dst = np.empty_like(src)
        with _timer(times):
            dst[:] = src
        del src, dst
    return min(times)


def live_query_seconds(pages: int) -> float | None:
    """The host kernel's move_pages in query mode over ``pages`` touched pages."""
    try:
        import mmap

        from .real import move_pages as real_move_pages
    except ImportError:
        return None
    buf = mmap.mmap(-1, pages * PAGE_SIZE)
    import ctypes

    base = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    for i in range(pages):
        buf[i * PAGE_SIZE] = 1
    addrs = [base + i * PAGE_SIZE for i in range(pages)]
    times: list[float] = []
    try:
        with _timer(times):
            real_move_pages(0, addrs, None)
    except OSError:
        return None
    finally:
        del base
    return times[0]


def metadata_bytes_per_frame(pages: int) -> float:
    """tracemalloc bytes of metadata per touched anonymous frame (page data excluded)."""
    m = _machine(pages)
    p = m.spawn(uid=0, cpu=0)
    a = p.mmap(pages * PAGE_SIZE)
    p.touch(a)
    gc.collect()
    tracemalloc.start()
    before = _metadata_bytes()
    for i in range(1, pages):
        p.touch(a + i * PAGE_SIZE)
    from .mm.swap import lru_add_drain_all

    lru_add_drain_all(m)
    gc.collect()
    after = _metadata_bytes()
    tracemalloc.stop()
    return (after - before) / (pages - 1)


def _metadata_bytes() -> int:
    """The bytes tracemalloc traces outside numpy's data buffers: the frames'
    bytes (numpy chunks, or host mappings numpy does not allocate) are page
    data, not metadata."""
    numpy_data = tracemalloc.DomainFilter(inclusive=False, domain=np.lib.tracemalloc_domain)
    snapshot = tracemalloc.take_snapshot().filter_traces([numpy_data])
    return sum(stat.size for stat in snapshot.statistics("filename"))


def big_machine() -> dict[str, float]:
    times: list[float] = []
    tracemalloc.start()
    with _timer(times):
        m = Machine(nodes=8, node_memory="128GiB")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    p = m.spawn(uid=0, cpu=0)
    n = (1 << 30) // PAGE_SIZE
    a = p.mmap(n * PAGE_SIZE)
    with _timer(times):
        for i in range(n):
            p.touch(a + i * PAGE_SIZE)
    return {"create_seconds": times[0], "create_peak_mib": peak / 2**20,
            "touch_1gib_seconds": times[1], "touch_us_per_page": 1e6 * times[1] / n}


def run(sizes: list[int], cases: list[str] | None = None, big: bool = True,
        progress: Callable[[str], None] | None = None, repeat: int = 1) -> dict[str, object]:
    """Run the cases; with ``repeat`` > 1 each case runs that many times, on a
    fresh machine each time, and reports its best time (the others are in
    ``runs``): on a shared machine the best is the least disturbed run."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, not {repeat}")
    results: list[Result] = []
    for name, fn in CASES.items():
        if cases and name not in cases:
            continue
        for pages in sizes:
            runs: list[float] = []
            for i in range(repeat):
                if progress:
                    progress(f"{name} x {pages}" + (f" (run {i + 1} of {repeat})" if repeat > 1 else ""))
                runs.append(fn(pages))
            seconds = min(runs)
            ref_copy = numpy_copy_seconds(pages)
            live = live_query_seconds(pages)
            ratios = {"vs_numpy_copy": seconds / ref_copy if ref_copy else float("inf")}
            if live:
                ratios["vs_live_query"] = seconds / live
            results.append(Result(name, pages, seconds, 1e6 * seconds / pages, ratios, runs=runs))
    report: dict[str, object] = {"implementation": describe(), "repeat": repeat,
                                 "results": [asdict(r) for r in results]}
    if progress:
        progress("metadata bytes per frame")
    report["metadata_bytes_per_frame"] = metadata_bytes_per_frame(max(sizes[0], 4096))
    if big:
        if progress:
            progress("1 TiB machine")
        report["big_machine"] = big_machine()
    return report


def table(report: dict[str, object]) -> str:
    repeat = report.get("repeat", 1)
    lines = [f"implementation of pagemig.mm: {report.get('implementation', 'not recorded')}",
             *([f"each case: the best of {repeat} runs"] if repeat != 1 else []),
             f"{'case':<28} {'pages':>7} {'seconds':>9} {'us/page':>9} {'x numpy':>9} {'x live':>8}"]
    for r in report["results"]:  # type: ignore[attr-defined]
        live = r["ratios"].get("vs_live_query")
        lines.append(f"{r['case']:<28} {r['pages']:>7} {r['seconds']:>9.3f} {r['us_per_page']:>9.1f} "
                     f"{r['ratios']['vs_numpy_copy']:>9.0f} {'' if live is None else f'{live:>8.0f}'}")
    lines.append(f"metadata bytes per materialised frame: {report['metadata_bytes_per_frame']:.0f}")
    big = report.get("big_machine")
    if isinstance(big, dict):
        lines.append(f"1 TiB machine: created in {big['create_seconds']:.3f} s, peak "
                     f"{big['create_peak_mib']:.1f} MiB; 1 GiB touched in "
                     f"{big['touch_1gib_seconds']:.1f} s ({big['touch_us_per_page']:.1f} us/page)")
    return "\n".join(lines)


def dumps(report: dict[str, object]) -> str:
    return json.dumps(report, indent=2)


# --- the replay (pagemig bench --case sim) ---------------------------------------------------


SIM_CASE = "sim"


def zipf_trace(path: str, accesses: int, pages: int, seed: int = 0, skew: float = 1.0,
               chunk: int = 1 << 20) -> None:
    """A trace of ``accesses`` reads over ``pages`` pages, page ranks drawn from a
    bounded Zipf law (probability of rank r proportional to 1/r**skew), ranks
    scattered over the pages by a fixed permutation; one thread, t in ns."""
    from .sim.trace import AccessBatch, TraceMeta, TraceWriter

    rng = np.random.default_rng(seed)
    cdf = np.cumsum(1.0 / np.arange(1, pages + 1) ** skew)
    cdf /= cdf[-1]
    scatter = rng.permutation(pages).astype(np.uint64)
    with TraceWriter(path, TraceMeta("synth", command=f"zipf pages={pages} skew={skew}")) as writer:
        for start in range(0, accesses, chunk):
            n = min(chunk, accesses - start)
            rank = np.searchsorted(cdf, rng.random(n))
            vaddr = (np.uint64(0x7F0000000000) + scatter[np.minimum(rank, pages - 1)] * np.uint64(PAGE_SIZE)
                     + np.uint64(64) * rng.integers(0, 64, n, dtype=np.uint64))
            writer.write(AccessBatch(t=np.arange(start, start + n, dtype=np.uint64), vaddr=vaddr,
                                     size=np.full(n, 8, dtype=np.uint16), op=np.zeros(n, dtype=np.uint8),
                                     tid=np.zeros(n, dtype=np.uint32)))


def numpy_pass_seconds(path: str, pages_hint: int) -> float:
    """The plain numpy pass over the same trace: stream vaddr, bincount the page numbers."""
    import pyarrow.parquet as pq

    times: list[float] = []
    with _timer(times):
        counts = np.zeros(0, dtype=np.int64)
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1 << 20, columns=["vaddr"]):
            page = batch.column(0).to_numpy() >> np.uint64(12)
            local = np.bincount((page - page.min()).astype(np.int64), minlength=pages_hint)
            counts = local if len(counts) < len(local) else counts
    return times[0]


def run_sim(accesses: int, pages: int, policies: tuple[str, ...] = ("first-touch", "hot-cold"),
            progress: Callable[[str], None] | None = None, repeat: int = 1) -> dict[str, object]:
    """Replay a Zipf trace under each policy on dram-cxl with DRAM for half the
    pages; accesses/s in all, without the first-touch faults, and without any
    page event (faults and migrations: the model's time), the ratios of the
    replay to the plain numpy pass, and the process's peak RSS so far. With
    ``repeat`` > 1 the numpy pass and each replay run that many times and the
    fastest run is reported (``runs`` lists every run's seconds)."""
    import tempfile
    from pathlib import Path

    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="pagemig-bench-sim-") as tmp:
        path = str(Path(tmp) / "zipf.parquet")
        if progress:
            progress(f"writing a Zipf trace: {accesses} accesses over {pages} pages")
        zipf_trace(path, accesses, pages)
        reference = min(numpy_pass_seconds(path, pages) for _ in range(repeat))
        for name in policies:
            runs = []
            for i in range(repeat):
                if progress:
                    progress(f"replay under {name}" + (f" ({i + 1} of {repeat})" if repeat > 1 else ""))
                runs.append(_replay(path, pages, name, reference))
            best = min(runs, key=lambda r: r["seconds"])
            results.append(best | {"runs": [r["seconds"] for r in runs]})
    return {"implementation": describe(), "case": SIM_CASE, "accesses": accesses, "pages": pages,
            "repeat": repeat, "numpy_pass_seconds": reference,
            "numpy_pass_accesses_per_s": accesses / reference, "results": results}


def _replay(path: str, pages: int, name: str, reference: float) -> dict[str, Any]:
    """One replay of the bench's trace under ``name``; the machine is gone on return."""
    import resource

    from .sim.policies import make_policy
    from .sim.replay import SimConfig, Simulation
    from .sim.topology import topology

    topo = topology("dram-cxl").with_memory([(pages // 2) * PAGE_SIZE + (64 << 20), 2 * pages * PAGE_SIZE
                                             + (64 << 20)])
    gc.collect()
    summary: dict[str, Any] = Simulation(path, topo, make_policy(name), SimConfig(epoch="1Mi")).run().summary
    wall = summary["wall_seconds"]
    total = wall["total"]
    without_faults = total - wall["faults"]
    without_events = without_faults - wall["migrations"]
    n = summary["accesses"]
    return {
        "policy": name, "accesses": n, "pages_touched": summary["pages_touched"],
        "seconds": total, "fault_seconds": wall["faults"], "migration_seconds": wall["migrations"],
        "accesses_per_s": n / total,
        "accesses_per_s_without_faults": n / without_faults if without_faults > 0 else 0.0,
        "accesses_per_s_without_page_events": n / without_events if without_events > 0 else 0.0,
        "vs_numpy_pass": total / reference, "vs_numpy_pass_without_faults": without_faults / reference,
        "vs_numpy_pass_without_page_events": without_events / reference,
        "migrations": summary["migrations"],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def sim_table(report: dict[str, Any]) -> str:
    best = f", the best of {report['repeat']} runs" if report.get("repeat", 1) > 1 else ""
    lines = [f"implementation of pagemig.mm: {report['implementation']}",
             f"replay of {report['accesses']:,} Zipf accesses over {report['pages']:,} pages "
             f"(dram-cxl, epochs of 1 Mi accesses{best}); plain numpy pass (read + bincount): "
             f"{report['numpy_pass_seconds']:.2f} s, {report['numpy_pass_accesses_per_s'] / 1e6:.1f} M/s",
             "page events: first-touch faults and migrations, the model's time; "
             "x numpy: the replay's time over the numpy pass's",
             f"{'':<12} {'':>8} {'':>8} {'':>8} {'M accesses/s':^32} {'x numpy':^32}",
             f"{'policy':<12} {'seconds':>8} {'faults s':>8} {'migr. s':>8} {'all':>10} {'w/o faults':>10} "
             f"{'w/o events':>10} {'all':>10} {'w/o faults':>10} {'w/o events':>10} {'migrated':>9} "
             f"{'peak RSS':>9}"]
    for r in report["results"]:
        lines.append(f"{r['policy']:<12} {r['seconds']:>8.2f} {r['fault_seconds']:>8.2f} "
                     f"{r['migration_seconds']:>8.2f} {r['accesses_per_s'] / 1e6:>10.2f} "
                     f"{r['accesses_per_s_without_faults'] / 1e6:>10.2f} "
                     f"{r['accesses_per_s_without_page_events'] / 1e6:>10.2f} {r['vs_numpy_pass']:>10.1f} "
                     f"{r['vs_numpy_pass_without_faults']:>10.1f} "
                     f"{r['vs_numpy_pass_without_page_events']:>10.1f} "
                     f"{r['migrations']['succeeded']:>9} {r['peak_rss_mib']:>7.0f} MiB")
    return "\n".join(lines)


# --- the live kernel through pagemig.real (pagemig bench --case live) -----------------------


@contextmanager
def _clocks(wall: list[float], cpu: list[float]) -> Iterator[None]:
    """Wall time and this thread's CPU time (user + system: the system call's own work,
    without the time the thread waited for a CPU, which a shared machine adds)."""
    c0, t0 = time.thread_time(), time.perf_counter()
    yield
    t1, c1 = time.perf_counter(), time.thread_time()
    wall.append(t1 - t0)
    cpu.append(c1 - c0)


LIVE_CASE = "live"

# The reference: the same move_pages(2) calls made from C, each timed around the
# system call alone. Built by the benchmark with the system's cc into a temporary
# directory (never committed as a binary), twice: as a shared object whose
# timed_move_pages() the benchmark calls through ctypes on the very arrays and
# pages pagemig.real gets (same process, same address space: the reference of
# the 10 % budget), and as a program that maps, touches and moves pages of its
# own (a small address space of its own: context).
LIVE_C_SOURCE = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* One move_pages(2) call: its wall seconds (or -errno), and its thread CPU seconds in *cpu. */
double timed_move_pages(long pid, unsigned long n, void **pages, const int *nodes, int *status,
                        int flags, double *cpu) {
    double c0 = now(CLOCK_THREAD_CPUTIME_ID), t0 = now(CLOCK_MONOTONIC);
    long rc = syscall(SYS_move_pages, pid, n, pages, nodes, status, flags);
    double t1 = now(CLOCK_MONOTONIC), c1 = now(CLOCK_THREAD_CPUTIME_ID);
    *cpu = c1 - c0;
    return rc < 0 ? -errno : t1 - t0;
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    long n = atol(argv[1]), page = sysconf(_SC_PAGESIZE);
    int repeat = atoi(argv[2]);
    char *buf = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) return 2;
    madvise(buf, n * page, MADV_NOHUGEPAGE);
    for (long i = 0; i < n; i++) buf[i * page] = 1;
    void **pages = malloc(n * sizeof *pages);
    int *nodes = malloc(n * sizeof *nodes), *status = malloc(n * sizeof *status);
    for (long i = 0; i < n; i++) pages[i] = buf + i * page;
    for (int r = 0; r < repeat; r++) {
        for (long i = 0; i < n; i++) status[i] = INT_MIN;
        double cpu, wall = timed_move_pages(0, n, pages, NULL, status, 0, &cpu);
        if (wall < 0) { printf("error %d\n", (int)-wall); return 1; }
        printf("query %.9f %.9f\n", wall, cpu);
    }
    for (long i = 0; i < n; i++) nodes[i] = status[i];
    for (int r = 0; r < repeat; r++) {
        double cpu, wall = timed_move_pages(0, n, pages, nodes, status, 2 /* MPOL_MF_MOVE */, &cpu);
        if (wall < 0) { printf("error %d\n", (int)-wall); return 1; }
        printf("move %.9f %.9f\n", wall, cpu);
    }
    return 0;
}
"""


def build_live_reference(workdir: str) -> tuple[Any, str] | None:
    """The C reference built in ``workdir``: ``(timed_move_pages, program path)``, or None
    when there is no C compiler or the build fails."""
    import ctypes
    import shutil
    import subprocess
    from pathlib import Path

    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return None
    source, program, library = (Path(workdir) / name for name in ("live_ref.c", "live_ref", "live_ref.so"))
    source.write_text(LIVE_C_SOURCE)
    for output, extra in ((program, []), (library, ["-shared", "-fPIC"])):
        built = subprocess.run([cc, "-O2", *extra, "-o", str(output), str(source)], capture_output=True,
                               text=True, check=False)
        if built.returncode != 0:
            return None
    function = ctypes.CDLL(str(library))["timed_move_pages"]
    function.restype = ctypes.c_double
    function.argtypes = [ctypes.c_long, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_double)]
    return function, str(program)


def live_c_program(program: str, pages: int, repeat: int) -> dict[str, list[float]] | None:
    """Wall and thread CPU seconds of each query and move-to-current-node move_pages(2) the
    C program made on ``pages`` pages of its own (keys query, move, query cpu, move cpu),
    or None if it failed."""
    import subprocess

    ran = subprocess.run([program, str(pages), str(repeat)], capture_output=True, text=True, check=False)
    if ran.returncode != 0:
        return None
    runs: dict[str, list[float]] = {"query": [], "move": [], "query cpu": [], "move cpu": []}
    for line in ran.stdout.splitlines():
        what, wall, cpu = line.split()
        runs[what].append(float(wall))
        runs[f"{what} cpu"].append(float(cpu))
    return runs


class _NullKernel:
    """A KernelIO whose move_pages returns at once: what pagemig.real costs around the call."""

    def move_pages(self, pid: int, count: int, pages: Any, nodes: Any, status: Any, flags: int) -> int:
        return 0


def live_overhead_seconds(addrs: np.ndarray[Any, Any], nodes: np.ndarray[Any, Any] | None,
                          number: int = 100) -> float:
    """Seconds pagemig.real.move_pages spends around the system call (checks, the status
    buffer, the result), the best of three means of ``number`` calls."""
    from .real import move_pages

    null: Any = _NullKernel()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(number):
            move_pages(0, addrs, nodes, 0 if nodes is None else 2, sysio=null)
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def run_live(pages: int = 1 << 16, repeat: int = 5,
             progress: Callable[[str], None] | None = None) -> dict[str, object]:
    """move_pages(2) of ``pages`` touched pages of this process through ``pagemig.real``
    (numpy uint64 addresses; the move passes the query's int32 status as the nodes, so
    every page is moved to the node it is on), against the same call from C on the
    same arrays (or, without a C compiler, a raw ctypes call of libc's syscall()),
    each the best of ``repeat``, runs interleaved; ratios are pagemig.real's best to
    the reference's best. Also the C program on pages of its own, for context."""
    import ctypes
    import mmap
    import tempfile

    from .real import MPOL_MF_MOVE, this_process
    from .real.sysio import SysIO, syscall_numbers
    from .results import STATUS_UNWRITTEN

    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, not {repeat}")
    page = mmap.PAGESIZE
    runs: dict[str, list[float]] = {"pagemig query": [], "pagemig move": [], "C query": [], "C move": [],
                                    "ctypes query": [], "ctypes move": []}
    cpu_runs: dict[str, list[float]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory(prefix="pagemig-bench-live-") as tmp:
        reference = build_live_reference(tmp)
        buf = mmap.mmap(-1, pages * page, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        try:
            if hasattr(mmap, "MADV_NOHUGEPAGE"):
                buf.madvise(mmap.MADV_NOHUGEPAGE)  # 4 KiB pages, as the C program's
            view = (ctypes.c_char * len(buf)).from_buffer(buf)
            base = ctypes.addressof(view)
            del view
            buf[::page] = b"\x01" * pages
            addrs = np.arange(pages, dtype=np.uint64) * np.uint64(page) + np.uint64(base)
            me = this_process()
            nodes = me.move_pages(0, addrs).status_array
            numbers = syscall_numbers()
            raw = SysIO()._syscall  # the libc function pagemig.real calls
            status = np.empty(pages, dtype=np.int32)
            pointers = (ctypes.c_void_p(addrs.ctypes.data), ctypes.c_void_p(nodes.ctypes.data),
                        ctypes.c_void_p(status.ctypes.data))
            calls = (("query", None, 0), ("move", pointers[1], MPOL_MF_MOVE))

            def with_pagemig() -> None:
                for call, _, flags in calls:
                    with _clocks(runs[f"pagemig {call}"], cpu_runs[f"pagemig {call}"]):
                        me.move_pages(0, addrs, None if call == "query" else nodes, flags)

            def with_c() -> None:
                for call, nodes_pointer, flags in calls:
                    status.fill(STATUS_UNWRITTEN)
                    assert reference is not None
                    cpu = ctypes.c_double()
                    seconds = reference[0](0, pages, pointers[0], nodes_pointer, pointers[2], flags,
                                           ctypes.byref(cpu))
                    if seconds < 0:
                        raise OSError(int(-seconds), f"move_pages from C: errno {int(-seconds)}")
                    runs[f"C {call}"].append(seconds)
                    cpu_runs[f"C {call}"].append(cpu.value)

            def with_ctypes() -> None:
                for call, nodes_pointer, flags in calls:
                    status.fill(STATUS_UNWRITTEN)
                    assert raw is not None and numbers is not None
                    with _clocks(runs[f"ctypes {call}"], cpu_runs[f"ctypes {call}"]):
                        raw(ctypes.c_long(numbers["move_pages"]), ctypes.c_long(0), ctypes.c_ulong(pages),
                            pointers[0], nodes_pointer, pointers[2], ctypes.c_long(flags))

            contenders = [with_pagemig, *([with_c] if reference is not None else []),
                          *([with_ctypes] if raw is not None and numbers is not None else [])]
            for i in range(repeat):
                if progress:
                    progress(f"live move_pages of {pages} pages (run {i + 1} of {repeat})")
                # Each run in another order, so that none is always first after the others,
                # and each after a collection of its own (none inside the timing).
                for contender in contenders[i % len(contenders):] + contenders[:i % len(contenders)]:
                    gc.collect()
                    contender()
            overhead = {"query": live_overhead_seconds(addrs, None),
                        "move": live_overhead_seconds(addrs, nodes)}
            on_nodes = {int(node): int(count)
                        for node, count in zip(*np.unique(nodes, return_counts=True), strict=True)}
        finally:
            buf.close()
        if reference is not None:
            if progress:
                progress("the C program on pages of its own")
            own = live_c_program(reference[1], pages, repeat)
            if own is not None:
                for call in ("query", "move"):
                    runs[f"C own process {call}"] = own[call]
                    cpu_runs[f"C own process {call}"] = own[f"{call} cpu"]
    best = {name: min(times) for name, times in runs.items() if times}
    best_cpu = {name: min(times) for name, times in cpu_runs.items() if times}
    primary = "C" if reference is not None else "ctypes"
    ratios = {f"{call} vs {ref}{cpu}": table[f"pagemig {call}"] / table[f"{ref} {call}"]
              for cpu, table in (("", best), (" (CPU)", best_cpu))
              for call in ("query", "move") for ref in ("C", "ctypes", "C own process")
              if f"{ref} {call}" in table}
    return {"implementation": describe(), "case": LIVE_CASE, "pages": pages, "repeat": repeat,
            "reference": primary, "status_nodes": on_nodes, "best_seconds": best,
            "best_cpu_seconds": best_cpu,
            "us_per_page": {name: 1e6 * s / pages for name, s in best.items()},
            "ratios": ratios, "overhead_us": {call: 1e6 * s for call, s in overhead.items()}, "runs": runs,
            "cpu_runs": cpu_runs}


def live_table(report: dict[str, Any]) -> str:
    lines = [f"move_pages(2) of {report['pages']:,} touched pages of this process, the best of "
             f"{report['repeat']} (pages on nodes {report['status_nodes']}); the move passes each "
             f"page's current node",
             f"{'call':<20} {'wall ms':>8} {'us/page':>8} {'CPU ms':>8}"]
    for name, seconds in report["best_seconds"].items():
        lines.append(f"{name:<20} {1e3 * seconds:>8.2f} {report['us_per_page'][name]:>8.3f} "
                     f"{1e3 * report['best_cpu_seconds'][name]:>8.2f}")
    lines.append("pagemig.real / reference: " + ", ".join(f"{name} {ratio:.3f}"
                                                         for name, ratio in report["ratios"].items()))
    lines.append("pagemig.real around the call (no system call): "
                 + ", ".join(f"{call} {us:.1f} us" for call, us in report["overhead_us"].items()))
    return "\n".join(lines)


# --- sweeps (pagemig bench --case sweep) -----------------------------------------------------


SWEEP_CASE = "sweep"
SWEEP_OVERHEAD_TARGET_MS = 50.0   # issue 18: per cell, empty policy on a tiny trace
SWEEP_SPEEDUP_TARGET = 1.7        # issue 18: on 2 cores, cells of a few seconds
IN_PROCESS, LOCAL_CLUSTER, PROCESS_POOL = "in process", "local cluster", "process pool"


def _sweep_grid(path: Any, trace: str, policy: str, cells: int, extra: str = "") -> Any:
    """A grid of ``cells`` cells of ``policy`` on ``trace``, all doing the same work:
    they differ only in the cost model's fault_ns (the modelled time, not the replay)."""
    from .sweep.grid import load_grid

    path.write_text(f'trace = ["{trace}"]\npolicy = ["{policy}"]\n{extra}'
                    f"[cost]\nfault_ns = {[1500 + i for i in range(cells)]}\n")
    grid = load_grid(path)
    assert len(grid.cells) == cells
    return grid


def _sweep_once(grid: Any, out: Any, workers: int) -> dict[str, Any]:
    """One sweep of ``grid`` into the fresh directory ``out``: its wall seconds (the
    whole run_sweep call), the engine's start (the local cluster up, ~0 in process),
    the cells' phase (engine up -> last cell done), and the mean of the cells' own
    seconds (run_cell: trace, machine, replay, as the worker timed it)."""
    import pyarrow.parquet as pq

    from .sweep.engine import run_sweep

    marks: dict[str, float] = {}

    def started(_: Any) -> None:
        marks["start"] = time.perf_counter()

    def finished(_row: Any, _outcome: Any) -> None:
        marks["last"] = time.perf_counter()

    gc.collect()
    t0 = time.perf_counter()
    outcome = run_sweep(grid, out, workers=workers, on_start=started, on_cell=finished)
    seconds = time.perf_counter() - t0
    if outcome.failed or outcome.ran != len(grid.cells):
        raise RuntimeError(f"the benchmark's sweep on {outcome.engine} ran {outcome.ran} of "
                           f"{len(grid.cells)} cells, {outcome.failed} failed: {outcome.failures[:1]}")
    own = sorted(pq.read_table(out / "results.parquet", columns=["cell_seconds"]).column(0).to_pylist())
    return {"engine": outcome.engine, "seconds": seconds, "start_seconds": marks["start"] - t0,
            "cells_seconds": marks["last"] - marks["start"], "cell_seconds_mean": sum(own) / len(own),
            "cell_seconds_median": own[len(own) // 2]}


def _noop() -> None:
    return None


def _pool_once(grid: Any, workers: int) -> dict[str, Any]:
    """The reference for the local cluster: the same cells through ``run_cell`` on a
    plain pool of ``workers`` spawned processes (no scheduler, no results table),
    what this machine's cores give a process pool right now. Its start: the pool
    up (a no-op task per worker); then the cells, as on the cluster."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from .sweep.engine import run_cell

    gc.collect()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in [pool.submit(_noop) for _ in range(workers)]:
            future.result()
        start = time.perf_counter()
        futures = [pool.submit(run_cell, c.spec, c.trace.path, c.trace.sha256) for c in grid.cells]
        answers = [future.result() for future in as_completed(futures)]
        last = time.perf_counter()
    seconds = time.perf_counter() - t0
    failed = [a["error"] for a in answers if a["status"] != "ok"]
    if failed:
        raise RuntimeError(f"the benchmark's process pool: {len(failed)} cells failed: {failed[0]}")
    own = sorted(a["seconds"] for a in answers)
    return {"engine": f"a pool of {workers} spawned processes", "seconds": seconds,
            "start_seconds": start - t0, "cells_seconds": last - start,
            "cell_seconds_mean": sum(own) / len(own), "cell_seconds_median": own[len(own) // 2]}


def _sweep_engines(grid: Any, tmp: Any, name: str, workers: int, repeat: int,
                   progress: Callable[[str], None] | None) -> dict[str, dict[str, Any]]:
    """``grid`` swept ``repeat`` times in process and on the local cluster, and its
    cells run on a plain process pool of as many workers (the reference of what
    the cores give); runs interleaved (each repeat in another order); per engine,
    its runs and the figures of its best run (the shortest cells' phase)."""
    engines = {IN_PROCESS: 1, LOCAL_CLUSTER: workers, PROCESS_POOL: workers}
    runs: dict[str, list[dict[str, Any]]] = {engine: [] for engine in engines}
    order = list(engines)
    for i in range(repeat):
        for engine in order[i % len(order):] + order[:i % len(order)]:
            if progress:
                progress(f"{name}: {len(grid.cells)} cells {engine}"
                         + (f" (run {i + 1} of {repeat})" if repeat > 1 else ""))
            runs[engine].append(_pool_once(grid, workers) if engine == PROCESS_POOL else _sweep_once(
                grid, tmp / f"{name}-{engine.replace(' ', '-')}-{i}", engines[engine]))
    cells = len(grid.cells)
    out: dict[str, dict[str, Any]] = {}
    for engine, engine_runs in runs.items():
        best = min(engine_runs, key=lambda r: r["cells_seconds"])
        ms_per_cell = 1e3 * best["cells_seconds"] / cells
        out[engine] = {
            "workers": engines[engine], "engine": best["engine"], "cells": cells,
            "seconds": best["seconds"], "start_seconds": best["start_seconds"],
            "cells_seconds": best["cells_seconds"],
            "cells_per_s": cells / best["cells_seconds"],
            "cells_per_s_end_to_end": cells / best["seconds"],
            "ms_per_cell": ms_per_cell,
            "cell_ms_mean": 1e3 * best["cell_seconds_mean"],
            "cell_ms_median": 1e3 * best["cell_seconds_median"],  # a worker's first cell imports the model
            # Worker time per cell outside run_cell: the engine's own (scheduling,
            # results row, table writes); negative only by noise.
            "outside_cell_ms": ms_per_cell * engines[engine] - 1e3 * best["cell_seconds_mean"],
            "runs": engine_runs,
        }
    return out


def run_sweep_case(workers: int | None = None, cells: int | None = None, accesses: int = 10_000_000,
                   pages: int = 1 << 18, overhead_cells: int = 100, repeat: int = 1,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Sweeps of two grids, each in this process (``--workers 1``) and on a local
    Dask cluster of ``workers`` processes (default: every core, at least 2), in
    the same run, and their cells on a plain pool of as many processes (what
    the cores give a process pool at the time, without Dask):

    * overhead: ``overhead_cells`` cells of first-touch (never migrates) on a
      tiny trace (64 accesses over 16 pages): the engine's time per cell;
    * scaling: ``cells`` cells (default 4 per worker) of hot-cold on a Zipf
      trace of ``accesses`` over ``pages`` (DRAM for a quarter of them): cells
      per second on the cluster against in process.

    Every cell of a grid does the same work (cells differ in the cost model's
    fault_ns only). With ``repeat`` > 1 each sweep runs that many times and the
    run with the shortest cells' phase is reported."""
    import os
    import tempfile
    from pathlib import Path

    from .sweep.engine import default_workers

    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, not {repeat}")
    workers = workers if workers is not None else max(2, default_workers())
    if workers < 2:
        raise ValueError(f"the local cluster needs at least 2 workers, not {workers} "
                         "(1 worker runs in process, which is the reference)")
    cells = cells if cells is not None else 4 * workers
    if cells < 1 or overhead_cells < 1:
        raise ValueError("a sweep needs at least 1 cell")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="pagemig-bench-sweep-") as tmp_name:
        tmp = Path(tmp_name)
        if progress:
            progress(f"writing traces: 64 accesses over 16 pages, {accesses} over {pages}")
        zipf_trace(str(tmp / "tiny.parquet"), 64, 16)
        zipf_trace(str(tmp / "zipf.parquet"), accesses, pages)
        fast = max(1, pages // 4) * PAGE_SIZE
        tiny = _sweep_grid(tmp / "overhead.toml", "tiny.parquet", "first-touch", overhead_cells)
        big = _sweep_grid(tmp / "scaling.toml", "zipf.parquet", "hot-cold", cells,
                          f'node_memory = "{fast},{4 * pages * PAGE_SIZE}"\n'
                          f'epoch = "{max(1, accesses // 8)}"\n')
        overhead = _sweep_engines(tiny, tmp, "overhead", workers, repeat, progress)
        scaling = _sweep_engines(big, tmp, "scaling", workers, repeat, progress)
    worst_overhead = max(e["ms_per_cell"] for e in overhead.values())
    speedup = scaling[LOCAL_CLUSTER]["cells_per_s"] / scaling[IN_PROCESS]["cells_per_s"]
    return {
        "implementation": describe(), "case": SWEEP_CASE, "workers": workers, "cores": default_workers(),
        "repeat": repeat, "load_average": {"before": load_before[0], "after": os.getloadavg()[0]},
        "overhead": {"cells": overhead_cells, "accesses": 64, "pages": 16, "policy": "first-touch",
                     "engines": overhead},
        "scaling": {"cells": cells, "accesses": accesses, "pages": pages, "policy": "hot-cold",
                    "engines": scaling},
        "ratios": {
            "scaling cells/s, local cluster / in process": speedup,
            "scaling cells/s, process pool / in process":
                scaling[PROCESS_POOL]["cells_per_s"] / scaling[IN_PROCESS]["cells_per_s"],
            # About 1: the cluster gets from the cores what a plain process pool gets.
            "scaling cells/s, local cluster / process pool":
                scaling[LOCAL_CLUSTER]["cells_per_s"] / scaling[PROCESS_POOL]["cells_per_s"],
            "scaling cells/s end to end, local cluster / in process":
                (scaling[LOCAL_CLUSTER]["cells_per_s_end_to_end"]
                 / scaling[IN_PROCESS]["cells_per_s_end_to_end"]),
            # Above 1: each cell ran slower on the cluster (its workers shared the cores, with
            # each other and with whatever else runs here), which bounds the speedup.
            "scaling in-cell ms (median), local cluster / in process":
                scaling[LOCAL_CLUSTER]["cell_ms_median"] / scaling[IN_PROCESS]["cell_ms_median"],
            "overhead ms/cell, local cluster / in process":
                overhead[LOCAL_CLUSTER]["ms_per_cell"] / overhead[IN_PROCESS]["ms_per_cell"],
        },
        "targets": {"overhead_ms_per_cell": SWEEP_OVERHEAD_TARGET_MS, "speedup": SWEEP_SPEEDUP_TARGET},
        "met": {"overhead": worst_overhead < SWEEP_OVERHEAD_TARGET_MS,
                "speedup": speedup >= SWEEP_SPEEDUP_TARGET},
    }


def sweep_table(report: dict[str, Any]) -> str:
    best = f", the best of {report['repeat']} runs" if report.get("repeat", 1) > 1 else ""
    lines = [f"implementation of pagemig.mm: {report['implementation']}",
             f"sweeps in this process (--workers 1) and on a local Dask cluster of {report['workers']} "
             f"worker processes ({report['cores']} cores here){best}, and the cells on a plain pool of "
             f"{report['workers']} processes (no Dask); cells phase: engine up -> last cell done",
             f"{'grid':<10} {'engine':<14} {'cells':>5} {'start s':>8} {'cells s':>8} {'cells/s':>8} "
             f"{'e2e c/s':>8} {'ms/cell':>8} {'in cell':>8} {'median':>8} {'outside':>8}"]
    for grid in ("overhead", "scaling"):
        for engine, r in report[grid]["engines"].items():
            lines.append(f"{grid:<10} {engine:<14} {r['cells']:>5} {r['start_seconds']:>8.2f} "
                         f"{r['cells_seconds']:>8.2f} {r['cells_per_s']:>8.2f} "
                         f"{r['cells_per_s_end_to_end']:>8.2f} {r['ms_per_cell']:>8.1f} "
                         f"{r['cell_ms_mean']:>8.1f} {r['cell_ms_median']:>8.1f} "
                         f"{r['outside_cell_ms']:>8.1f}")
    o, s = report["overhead"], report["scaling"]
    lines.append(f"overhead: {o['policy']} on {o['accesses']} accesses over {o['pages']} pages; "
                 f"scaling: {s['policy']} on {s['accesses']:,} Zipf accesses over {s['pages']:,} pages")
    lines.append("in cell: run_cell's own ms, mean and median (trace, machine, replay; a fresh worker's "
                 "first cell also imports the model); outside: worker ms per cell outside it "
                 "(ms/cell x workers - mean in cell)")
    load = report["load_average"]
    lines.append(f"load average (1 min): {load['before']:.2f} before, {load['after']:.2f} after")
    lines.append("ratios: " + ", ".join(f"{name} {value:.2f}" for name, value in report["ratios"].items()))
    targets, met = report["targets"], report["met"]
    worst = max(e["ms_per_cell"] for e in o["engines"].values())
    speedup = report["ratios"]["scaling cells/s, local cluster / in process"]
    lines.append(f"targets: overhead < {targets['overhead_ms_per_cell']:g} ms/cell: {worst:.1f} at worst "
                 f"({'met' if met['overhead'] else 'NOT met'}); cluster >= {targets['speedup']:g}x in "
                 f"process: {speedup:.3f}x ({'met' if met['speedup'] else 'NOT met'})")
    return "\n".join(lines)
