"""Replay of a trace on the model: the ``Simulation``.

A ``Simulation`` owns a ``Machine`` built from a ``Topology``, a traced
process whose mappings cover the trace's address ranges, and a root daemon
that issues the policy's migrations. It streams the trace in epochs; per epoch
all per-access work is numpy (page numbers, per-page and per-thread counts,
the node of each accessed page). The model is called per page event only:

* the first touch of a page is a page fault of the model (``user_access`` as
  ``Process.touch`` does, with the traced process running on the CPU of the
  thread that touched the page), and its node is the page the fault mapped;
* every migration is ``move_pages(2)`` of the root daemon (MPOL_MF_MOVE), and
  its per-page status is what the metrics count and the node array follows.

The node of every page is kept in a numpy array in step with the model; tests
check it against ``Process.node_of``. The simulation never moves a page itself.

Threads: the model has no threads sharing an mm, so the traced process is one
task whose CPU is switched (``task.cpu``, as the scheduler migrating the task)
to the CPU of the thread whose access faults; the fault then allocates on that
CPU's node under the process's mempolicy, as the thread's own fault would.
After its first touch a page's accesses are only counted and costed, not
replayed on the model: a write to a page shared copy-on-write with a forked
child does not break the sharing (docs/simulation.md, "What is modelled").
"""

from __future__ import annotations

import errno
import itertools
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..mm.fault import user_access
from ..mm.mempolicy import MPOL_MF_MOVE
from ..mm.mmap import TASK_SIZE
from ..mm.page import PAGE_SHIFT, PAGE_SIZE, page_to_nid
from ..results import STATUS_UNWRITTEN, failure_reason
from .cost import CostModel, CostParams
from .metrics import Recorder, SimResult
from .policies.base import EpochStats, MigrationResult, Policy, PolicyContext
from .topology import Topology
from .trace.format import TraceReader, open_trace

UNWRITTEN = STATUS_UNWRITTEN  # a status slot the kernel left unwritten (6.1: a failed run of pages)
_LUT_MAX_TID = 1 << 22
_BITMAP_MAX_PAGES = 1 << 26
_DENSE_MAX_PAGES = 1 << 22  # a span this small is mapped whole, without scanning the trace


class SimulationError(ValueError):
    """The simulation cannot go on (bad configuration, a first touch the model refused)."""


@dataclass(frozen=True)
class Epoch:
    """Epoch length: ``length`` units of the trace's ``t`` (kind "t") or accesses."""

    kind: str
    length: int

    _TIME: ClassVar[dict[str, int]] = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9}
    _COUNT: ClassVar[dict[str, int]] = {"": 1, "k": 10**3, "m": 10**6, "ki": 1 << 10, "mi": 1 << 20}

    @classmethod
    def parse(cls, text: str, time_unit: str) -> Epoch:
        """``10ms`` (trace time, ns traces), ``500000insn`` (instruction
        traces), or a number of accesses: ``100000``, ``1M``, ``64Ki``."""
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
        if not m:
            raise ValueError(f"cannot read epoch {text!r} (e.g. 10ms, 1M accesses, 500000insn)")
        value, unit = float(m.group(1)), m.group(2)
        if unit in cls._TIME:
            if time_unit != "ns":
                raise ValueError(f"epoch {text!r} is a time, but the trace counts {time_unit}")
            length, kind = value * cls._TIME[unit], "t"
        elif unit == "insn":
            if time_unit != "instructions":
                raise ValueError(f"epoch {text!r} counts instructions, but the trace's time is {time_unit}")
            length, kind = value, "t"
        elif unit.lower() in cls._COUNT:
            length, kind = value * cls._COUNT[unit.lower()], "accesses"
        else:
            raise ValueError(f"unknown epoch unit {unit!r} (ns, us, ms, s; insn; k, M, Ki, Mi accesses)")
        if int(length) < 1:
            raise ValueError(f"epoch {text!r} is shorter than one unit")
        return cls(kind, int(length))

    def describe(self, time_unit: str) -> str:
        if self.kind == "accesses":
            return f"{self.length} accesses"
        return f"{self.length} {time_unit}"


@dataclass(frozen=True)
class SimConfig:
    """How to replay: epochs, thread placement, mappings, and bookkeeping."""

    epoch: str | None = None          # None: 10ms for ns traces, else 1Mi accesses
    threads_on: str = "spread"        # spread | nodeN | comma list of CPUs
    profile: str = "2.6.35"
    seed: int = 0
    mapping: str = "anon"             # anon | shmem | file (a MAP_SHARED ext2 file per range)
    batch_rows: int = 1 << 20
    migrate_batch_pages: int = 1024   # pages per move_pages(2) call of the daemon
    merge_gap_pages: int = 256        # traced ranges closer than this share one mapping
    heat_bins: int = 64               # address bins of the access heatmap
    nominal_epoch_ms: float = 10.0    # an epoch's duration for quotas when epochs are not ns
    keep_account: bool = False        # keep Machine.account (per-page reasons; grows with migrations)

    def __post_init__(self) -> None:
        if self.mapping not in ("anon", "shmem", "file"):
            raise ValueError(f"mapping must be anon, shmem or file, got {self.mapping!r}")
        for name in ("batch_rows", "migrate_batch_pages", "heat_bins"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.merge_gap_pages < 0:
            raise ValueError(f"merge_gap_pages must not be negative, got {self.merge_gap_pages}")
        if not self.nominal_epoch_ms > 0:
            raise ValueError(f"nominal_epoch_ms must be positive, got {self.nominal_epoch_ms}")


@dataclass
class _Scan:
    """What one pass over the trace found: pages, threads, time span."""

    pages: np.ndarray
    tids: np.ndarray
    rows: int
    t_first: int
    t_last: int
    sorted_t: bool
    dense: bool = False  # pages holds the first and last page of one range covering them


@dataclass
class _Ranges:
    """The traced address ranges: page numbers ``first[r]`` .. ``first[r] + length[r] - 1``
    are page indices ``offset[r]`` .. on, mapped at ``base[r]`` in the model."""

    first: np.ndarray
    length: np.ndarray
    offset: np.ndarray
    base: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def n_pages(self) -> int:
        return int(self.length.sum())


def _stream(reader: TraceReader, columns: list[str], batch_rows: int) -> Iterator[dict[str, np.ndarray]]:
    """Columns of the trace as numpy arrays, a row group's batch at a time."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(reader.path)
    present = [c for c in columns if c in parquet.schema_arrow.names]
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=present):
        out = {}
        for i, name in enumerate(present):
            column = batch.column(i)
            if column.null_count:
                column = column.fill_null(1)
            out[name] = column.to_numpy(zero_copy_only=False)
        yield out


class Simulation:
    """A trace replayed on a machine of ``topology`` under ``policy``.

    ``setup(sim)``, when given, runs after the mappings exist and before the
    replay: it may fork the traced process, touch, pin, mlock or share pages
    (``sim.addresses(pages)`` gives their addresses); the node array is
    resynchronised with the model afterwards.
    """

    def __init__(self, trace: str | Path | TraceReader, topology: Topology, policy: Policy,
                 config: SimConfig | None = None, cost: CostParams | None = None,
                 setup: Callable[[Simulation], None] | None = None) -> None:
        self.reader = trace if isinstance(trace, TraceReader) else open_trace(trace)
        self.topology = topology
        self.policy = policy
        self.config = config = config or SimConfig()
        self.cost = CostModel(topology, cost)
        self._setup_hook = setup
        meta = self.reader.meta
        self.epoch = Epoch.parse(config.epoch, meta.time_unit) if config.epoch else (
            Epoch("t", 10**7) if meta.time_unit == "ns" else Epoch("accesses", 1 << 20))
        self.epoch_s = (self.epoch.length / 1e9 if self.epoch.kind == "t" and meta.time_unit == "ns"
                        else config.nominal_epoch_ms / 1000)
        self.weighted = meta.sampled
        self.prepared = False
        self.wall: dict[str, float] = {"scan": 0.0, "setup": 0.0, "faults": 0.0, "migrations": 0.0,
                                       "replay": 0.0}

    # --- preparation ------------------------------------------------------------------

    def validate(self) -> None:
        """The checks that need no pass over the trace beyond those of the
        constructor (``threads_on`` against the topology); SimulationError."""
        self._place_threads(1)

    def prepare(self) -> None:
        """Scan the trace, build the machine, map the ranges, set the policy up."""
        if self.prepared:
            return
        t0 = time.perf_counter()
        scan = self._scan()
        self.scan = scan
        t1 = time.perf_counter()
        self.wall["scan"] = t1 - t0
        config = self.config
        self.machine = self.topology.machine(profile=config.profile, seed=config.seed)
        if not config.keep_account:
            self.machine.account.enabled = False
        self.thread_tids = scan.tids
        self.thread_cpu = self._place_threads(len(scan.tids))
        self.thread_nodes = np.array([self.machine.cpu_to_node[c] for c in self.thread_cpu], dtype=np.int64)
        self._tid_lut: np.ndarray | None = None
        if len(scan.tids) and int(scan.tids[-1]) < _LUT_MAX_TID:
            self._tid_lut = np.zeros(int(scan.tids[-1]) + 1, dtype=np.int32)
            self._tid_lut[scan.tids] = np.arange(len(scan.tids), dtype=np.int32)
        self.process = self.machine.spawn(uid=1000, cpu=int(self.thread_cpu[0]), comm="traced")
        self.daemon = self.machine.spawn(uid=0, cpu=0, comm="tieringd")
        self.ranges = (_Ranges(scan.pages[:1], scan.pages[1:] - scan.pages[:1] + 1, np.zeros(1, np.int64))
                       if scan.dense else self._make_ranges(scan.pages))
        self.n_pages = self.ranges.n_pages
        self._map_ranges()
        self.node = np.full(self.n_pages, -1, dtype=np.int16)
        self.resident = np.zeros(self.topology.nr_nodes, dtype=np.int64)
        self.recorder = Recorder(self.topology.nr_nodes)
        self.ctx = PolicyContext(self)
        self.policy.setup(self.ctx)
        if self._setup_hook is not None:
            self._setup_hook(self)
        self._resync()
        self.wall["setup"] = time.perf_counter() - t1
        self.prepared = True

    def _scan(self) -> _Scan:
        """The pages and threads the trace uses: from the Parquet statistics when
        its addresses span at most 4 Mi pages (one range covers them all), else
        one pass over t, vaddr and tid."""
        quick = self._scan_statistics()
        return quick if quick is not None else self._scan_rows()

    def _scan_statistics(self) -> _Scan | None:
        bounds = {name: self._bounds(name) for name in ("vaddr", "t", "tid")}
        if any(b is None for b in bounds.values()):
            return None
        (lo, hi), (t_lo, t_hi), (tid_lo, tid_hi) = bounds.values()  # type: ignore[misc]
        lo, hi = lo >> PAGE_SHIFT, hi >> PAGE_SHIFT
        if hi - lo >= _DENSE_MAX_PAGES or hi >= TASK_SIZE >> PAGE_SHIFT:
            return None
        if tid_lo == tid_hi:
            tids = np.array([tid_lo], dtype=np.int64)
        else:  # several threads: read the tid column alone
            sets = [np.unique(cols["tid"]) for cols in _stream(self.reader, ["tid"], self.config.batch_rows)]
            tids = np.unique(np.concatenate(sets)).astype(np.int64)
        # One range over the whole span; t's order is checked batch by batch as the replay reads it.
        return _Scan(np.array([lo, hi], dtype=np.int64), tids, self.reader.num_rows, t_lo, t_hi, True,
                     dense=True)

    def _scan_rows(self) -> _Scan:
        """One pass over t, vaddr and tid."""
        bitmap: np.ndarray | None = None
        lo = hi = 0
        stats = self._bounds("vaddr")
        if stats is not None and (stats[1] - stats[0]) >> PAGE_SHIFT < _BITMAP_MAX_PAGES:
            lo, hi = stats[0] >> PAGE_SHIFT, stats[1] >> PAGE_SHIFT
            bitmap = np.zeros(hi - lo + 1, dtype=bool)
        page_sets: list[np.ndarray] = []
        tid_seen = np.zeros(0, dtype=bool)
        tid_sets: list[np.ndarray] = []
        rows, t_first, t_last, sorted_t = 0, 0, 0, True
        for cols in _stream(self.reader, ["t", "vaddr", "tid"], self.config.batch_rows):
            t, pages, tid = cols["t"], cols["vaddr"] >> PAGE_SHIFT, cols["tid"]
            if not len(t):
                continue
            if rows == 0:
                t_first = int(t[0])
            elif int(t[0]) < t_last:
                sorted_t = False
            sorted_t = sorted_t and bool(np.all(t[1:] >= t[:-1]))
            t_last = max(t_last, int(t.max()))
            rows += len(t)
            if bitmap is not None:
                bitmap[(pages - np.uint64(lo)).astype(np.int64)] = True
            else:
                page_sets.append(np.unique(pages))
            top = int(tid.max())
            if top < _LUT_MAX_TID:
                seen = np.bincount(tid, minlength=top + 1) > 0
                if len(seen) > len(tid_seen):
                    seen[:len(tid_seen)] |= tid_seen
                    tid_seen = seen
                else:
                    tid_seen[:len(seen)] |= seen
            else:
                tid_sets.append(np.unique(tid))
        if rows == 0:
            raise SimulationError(f"{self.reader.path}: the trace has no accesses")
        if bitmap is not None:
            pages_all = np.flatnonzero(bitmap).astype(np.int64) + lo
        else:
            pages_all = np.unique(np.concatenate(page_sets)).astype(np.int64)
        tids = np.union1d(np.flatnonzero(tid_seen), np.concatenate(tid_sets) if tid_sets else [])
        if int(pages_all[-1]) >= TASK_SIZE >> PAGE_SHIFT:
            raise SimulationError(f"{self.reader.path}: address {int(pages_all[-1]) << PAGE_SHIFT:#x} "
                                  "lies beyond a user address space")
        return _Scan(pages_all, tids.astype(np.int64), rows, t_first, t_last, sorted_t)

    def _bounds(self, column: str) -> tuple[int, int] | None:
        """The lowest and highest value of a column from the Parquet statistics,
        if every row group has them."""
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(self.reader.path).metadata
        col = meta.schema.to_arrow_schema().get_field_index(column)
        if col < 0:
            return None
        lo, hi = None, None
        for g in range(meta.num_row_groups):
            st = meta.row_group(g).column(col).statistics
            if st is None or not st.has_min_max:
                return None
            lo = st.min if lo is None else min(lo, st.min)
            hi = st.max if hi is None else max(hi, st.max)
        if lo is None or hi is None:
            return None
        return int(lo), int(hi)

    def _place_threads(self, n: int) -> list[int]:
        """The CPU of each traced thread (``threads_on``), round-robin over a CPU list."""
        spec = self.config.threads_on.strip()
        cpu_to_node = self.topology.cpu_to_node()
        if spec == "spread":
            by_node = [[c for c, nid in enumerate(cpu_to_node) if nid == node]
                       for node in self.topology.cpu_nodes()]
            cpus = [row[i] for i in range(max(map(len, by_node))) for row in by_node if i < len(row)]
        elif re.fullmatch(r"node[0-9]+", spec):
            node = int(spec[4:])
            cpus = [c for c, nid in enumerate(cpu_to_node) if nid == node]
            if not cpus:
                raise SimulationError(f"threads_on {spec}: node {node} has no CPUs "
                                      f"(nodes with CPUs: {self.topology.cpu_nodes()})")
        else:
            try:
                cpus = [int(part) for part in spec.split(",")]
            except ValueError:
                raise SimulationError(f"threads_on must be spread, nodeN or a list of CPUs, "
                                      f"got {spec!r}") from None
            bad = [c for c in cpus if not 0 <= c < len(cpu_to_node)]
            if bad:
                raise SimulationError(f"threads_on: CPU {bad[0]} does not exist "
                                      f"(CPUs are 0..{len(cpu_to_node) - 1})")
        return [cpus[i % len(cpus)] for i in range(max(1, n))]

    def _make_ranges(self, pages: np.ndarray) -> _Ranges:
        breaks = np.flatnonzero(np.diff(pages) > self.config.merge_gap_pages + 1) + 1
        starts = np.concatenate(([0], breaks))
        ends = np.concatenate((breaks, [len(pages)]))
        first = pages[starts]
        length = pages[ends - 1] - first + 1
        offset = np.concatenate(([0], np.cumsum(length)[:-1])).astype(np.int64)
        return _Ranges(first.astype(np.int64), length.astype(np.int64), offset)

    def _map_ranges(self) -> None:
        """mmap each range at its traced address (elsewhere if the model refuses)."""
        bases = []
        proc = self.process
        for r, (first, length) in enumerate(zip(self.ranges.first.tolist(), self.ranges.length.tolist(),
                                                strict=True)):
            size = length * PAGE_SIZE
            kwargs: dict[str, Any] = {}
            if self.config.mapping == "shmem":
                kwargs["shared"] = True
            elif self.config.mapping == "file":
                kwargs.update(file=self.machine.create_file(f"/sim/range{r}", size=size), shared=True)
            try:
                base = proc.mmap(size, addr=first << PAGE_SHIFT, fixed=True, **kwargs)
            except OSError:
                base = proc.mmap(size, **kwargs)
            bases.append(base)
        self.ranges.base = np.array(bases, dtype=np.int64)
        self._delta = (self.ranges.first - self.ranges.offset).astype(np.int64)

    def _resync(self) -> None:
        """Node of every page the setup hook (or the policy's setup) faulted in."""
        mm = self.process.mm
        for r in range(len(self.ranges.first)):
            lo = int(self.ranges.base[r]) >> PAGE_SHIFT
            for vpn, _ in mm.ptes.range(lo, lo + int(self.ranges.length[r])):
                nid = self.process.node_of(vpn << PAGE_SHIFT)
                if nid is not None:
                    self.node[int(self.ranges.offset[r]) + vpn - lo] = nid
        self.resident = np.bincount(self.node[self.node >= 0], minlength=self.topology.nr_nodes)

    # --- page indices and addresses -------------------------------------------------------

    def page_index(self, vaddr: np.ndarray) -> np.ndarray:
        """Page indices of traced virtual addresses."""
        vaddr = np.asarray(vaddr, dtype=np.uint64)  # a trace may store vaddr as another integer type
        pages: np.ndarray = np.right_shift(vaddr, np.uint64(PAGE_SHIFT)).view(np.int64)
        if len(self._delta) == 1:
            pages -= int(self._delta[0])  # in place: the shift made a new array
            return pages
        r = np.searchsorted(self.ranges.first, pages, side="right") - 1
        out: np.ndarray = pages - self._delta[r]
        return out

    def addresses(self, pages: np.ndarray) -> np.ndarray:
        """The model's virtual address of each page index."""
        pages = np.asarray(pages, dtype=np.int64)
        r = np.searchsorted(self.ranges.offset, pages, side="right") - 1
        out: np.ndarray = self.ranges.base[r] + (pages - self.ranges.offset[r]) * PAGE_SIZE
        return out

    def thread_index(self, tid: np.ndarray) -> np.ndarray:
        out: np.ndarray = (self._tid_lut[tid] if self._tid_lut is not None
                           else np.searchsorted(self.thread_tids, tid).astype(np.int32))
        return out

    # --- page events: faults and migrations -----------------------------------------------

    def _first_touch(self, pages: np.ndarray, threads: np.ndarray) -> None:
        """Page faults of the model for pages never touched, in order of first access."""
        t0 = time.perf_counter()
        proc, task = self.process, self.process.task
        mm = proc.mm
        addrs = self.addresses(pages).tolist()
        found: list[int] = []
        record = found.append
        change = np.flatnonzero(np.diff(threads)) + 1
        bounds = [0, *change.tolist(), len(pages)]
        for a, b in itertools.pairwise(bounds):
            task.cpu = int(self.thread_cpu[int(threads[a])])
            with proc.running():
                for addr in addrs[a:b]:
                    try:
                        page = user_access(mm, addr, True)
                    except OSError as err:
                        raise SimulationError(
                            f"the first touch of {addr:#x} by thread {int(self.thread_tids[threads[a]])} "
                            f"failed: {err}") from None
                    record(page_to_nid(page))
        nodes = np.array(found, dtype=np.int16)
        self.node[pages] = nodes
        self.resident += np.bincount(nodes, minlength=self.topology.nr_nodes)
        self.recorder.faults += len(pages)
        self.wall["faults"] += time.perf_counter() - t0

    def migrate(self, pages: np.ndarray, nodes: int | np.ndarray) -> MigrationResult:
        """move_pages(2) of the daemon, MPOL_MF_MOVE, in batches (PolicyContext.migrate)."""
        t0 = time.perf_counter()
        pages = np.asarray(pages, dtype=np.int64)
        targets = np.broadcast_to(np.asarray(nodes, dtype=np.int64), pages.shape)
        if len(pages) and (pages.min() < 0 or pages.max() >= self.n_pages):
            raise ValueError(f"page indices must be within 0..{self.n_pages - 1}")
        status = np.empty(len(pages), dtype=np.int64)
        after = np.empty(len(pages), dtype=np.int64)
        addrs = self.addresses(pages)
        step = self.config.migrate_batch_pages
        for a in range(0, len(pages), step):
            status[a:a + step], after[a:a + step] = self._move_pages(addrs[a:a + step].tolist(),
                                                                     targets[a:a + step].tolist())
        result = self._account(pages, targets, status, after)
        self.wall["migrations"] += time.perf_counter() - t0
        return result

    def _move_pages(self, addrs: list[int], targets: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """One move_pages(2) of the daemon: the statuses, and the node of each
        page after the call (negative where it is not on a node)."""
        rec = self.recorder
        rec.calls += 1
        try:
            raw = self.daemon.move_pages(self.process.pid, addrs, targets, MPOL_MF_MOVE).status
        except OSError as err:
            # The whole call failed (2.6.35: -ENOMEM when the target node is full
            # aborts the batch). Statuses written before stand; the others are the
            # call's errno. A slot of a page isolated before the abort reads 0 in
            # 2.6.35 whether or not it moved, so ask the kernel where every page is.
            partial = getattr(err, "result", None)
            written = partial.status if partial is not None else [None] * len(addrs)
            code = -(err.errno or errno.EINVAL)
            where = self._query(addrs)
            raw = [s if s is not None and s < 0 else (w if w == t else code)
                   for s, w, t in zip(written, where, targets, strict=True)]
            return np.array(raw, dtype=np.int64), np.array(where, dtype=np.int64)
        status = np.array([UNWRITTEN if s is None else s for s in raw], dtype=np.int64)
        after = status.copy()
        unwritten = np.flatnonzero(status == UNWRITTEN)
        if len(unwritten):
            # 6.1 leaves a failed run's statuses unwritten: ask where those pages are.
            after[unwritten] = self._query([addrs[i] for i in unwritten])
        return status, after

    def _query(self, addrs: list[int]) -> list[int]:
        """move_pages(2) in query mode: the node of each page (or -errno)."""
        self.recorder.calls += 1
        status = self.daemon.move_pages(self.process.pid, addrs, None).status
        return [-errno.ENOENT if s is None else s for s in status]

    def _account(self, pages: np.ndarray, targets: np.ndarray, status: np.ndarray,
                 after: np.ndarray) -> MigrationResult:
        rec = self.recorder
        moved = after >= 0
        old = self.node[pages[moved]].astype(np.int64)
        new = after[moved]
        changed = old != new
        known = changed & (old >= 0)
        np.subtract.at(self.resident, old[known], 1)
        np.add.at(self.resident, new[changed], 1)
        self.node[pages[moved]] = new
        ok = status == targets
        rec.attempted += len(pages)
        succeeded = int(np.count_nonzero(ok))
        rec.succeeded += succeeded
        failed = status[~ok]
        for code, count in zip(*np.unique(failed, return_counts=True), strict=True):
            rec.fail(failure_reason(int(code)), int(count))
        return MigrationResult(pages, status, succeeded, len(failed))

    # --- the replay ---------------------------------------------------------------------

    def _epochs(self) -> Iterator[tuple[int, int, dict[str, np.ndarray]]]:
        """(t_start, t_end, columns) per epoch, streaming; memory bounded by the epoch."""
        # One thread: its tid is known, the column need not be decoded.
        columns = (["t", "vaddr"] + (["tid"] if len(self.thread_tids) > 1 else [])
                   + (["weight"] if self.weighted else []))
        pending: list[dict[str, np.ndarray]] = []
        epoch = self.epoch
        start_t = self.scan.t_first
        boundary = start_t + epoch.length
        count = 0
        for cols in _stream(self.reader, columns, self.config.batch_rows):
            n = len(cols["t"])
            if n == 0:
                continue
            if epoch.kind == "t":
                t = cols["t"]
                if not (self.scan.sorted_t and (n < 2 or bool(np.all(t[1:] >= t[:-1])))):
                    t = np.maximum.accumulate(t)  # out-of-order rows join the epoch they follow
                pos = 0
                while pos < n:
                    cut = int(np.searchsorted(t, np.uint64(boundary), side="left"))
                    if cut >= n:
                        pending.append({k: v[pos:] for k, v in cols.items()})
                        break
                    if cut > pos:
                        pending.append({k: v[pos:cut] for k, v in cols.items()})
                    if pending:
                        yield start_t, boundary, _concat(pending)
                        pending = []
                    # Skip epochs without accesses.
                    nxt = int(t[cut])
                    start_t = boundary + (nxt - boundary) // epoch.length * epoch.length
                    boundary = start_t + epoch.length
                    pos = cut
            else:
                pos = 0
                while pos < n:
                    take = min(n - pos, epoch.length - count)
                    pending.append({k: v[pos:pos + take] for k, v in cols.items()})
                    count += take
                    pos += take
                    if count == epoch.length:
                        merged = _concat(pending)
                        yield int(merged["t"][0]), int(merged["t"][-1]), merged
                        pending, count = [], 0
        if pending:
            merged = _concat(pending)
            yield (start_t if epoch.kind == "t" else int(merged["t"][0])), (
                boundary if epoch.kind == "t" else int(merged["t"][-1])), merged

    def run(self, progress: Callable[[int, int], None] | None = None) -> SimResult:
        """Replay the whole trace; ``progress(accesses_done, accesses_total)`` after each epoch."""
        self.prepare()
        t0 = time.perf_counter()
        done = 0
        for index, (t_start, t_end, cols) in enumerate(self._epochs()):
            self._replay_epoch(index, t_start, t_end, cols)
            done += len(cols["t"])
            if progress is not None:
                progress(done, self.scan.rows)
        self.wall["replay"] = time.perf_counter() - t0
        return self.recorder.result(self)

    def _replay_epoch(self, index: int, t_start: int, t_end: int, cols: dict[str, np.ndarray]) -> None:
        rec = self.recorder
        rec.begin_epoch()
        idx = self.page_index(cols["vaddr"])
        weights = cols.get("weight") if self.weighted else None
        if weights is None and self.weighted:
            weights = np.full(len(idx), self.reader.meta.sample_period, dtype=np.int64)
        counts = np.bincount(idx, weights=weights, minlength=self.n_pages)
        if counts.dtype != np.int64:
            counts = np.rint(counts).astype(np.int64)
        many_threads = len(self.thread_tids) > 1
        tix = self.thread_index(cols["tid"]) if many_threads else None  # tid is read only then
        accesses = len(idx) if weights is None else int(counts.sum())
        thread_counts = (np.bincount(tix, weights=weights, minlength=len(self.thread_tids)) if tix is not None
                         else np.array([accesses], dtype=np.int64))
        stats = EpochStats(index, t_start, t_end, accesses, counts, np.asarray(thread_counts))
        if self.policy.lookahead:
            self.policy.before_epoch(self.ctx, stats)
        new = (counts > 0) & (self.node < 0)
        if new.any():
            first = self._first_positions(idx, new)
            threads = tix[first] if tix is not None else np.zeros(len(first), dtype=np.int32)
            self._first_touch(idx[first], threads)
        pairs = self._pairs(idx, tix, weights, accesses)
        threads_active = int(np.count_nonzero(thread_counts))
        self.policy.on_epoch(self.ctx, stats)
        rec.end_epoch(self, index, t_start, t_end, accesses, pairs, threads_active, counts)

    def _first_positions(self, idx: np.ndarray, new: np.ndarray) -> np.ndarray:
        """The position in the epoch of the first access to each page of ``new``,
        in order of access (one pass, no sort)."""
        positions = np.flatnonzero(new[idx])
        pages = idx[positions]
        small = np.int32 if len(idx) < 2**31 else np.int64
        first_at = np.empty(self.n_pages, dtype=small)  # only the new pages' slots are used
        first_at[pages] = len(idx)
        np.minimum.at(first_at, pages, positions.astype(small))
        # The first positions are distinct: marking them orders them.
        mark = np.zeros(len(idx), dtype=bool)
        mark[first_at[np.flatnonzero(new)]] = True
        out: np.ndarray = np.flatnonzero(mark)
        return out

    def _pairs(self, idx: np.ndarray, tix: np.ndarray | None, weights: np.ndarray | None,
               accesses: int) -> np.ndarray:
        """Accesses per (CPU node, memory node) pair in this epoch."""
        n = self.topology.nr_nodes
        cpu_nodes = np.unique(self.thread_nodes)
        if len(cpu_nodes) == 1:
            # The node of each access: its page's node (every accessed page has one
            # now, its first touch has run).
            pairs = np.zeros((n, n), dtype=np.int64)
            row = pairs[int(cpu_nodes[0])]
            where = self.node[idx]
            if weights is not None:
                row[:] = np.rint(np.bincount(where, weights=weights, minlength=n))
                return pairs
            # The last node's share is the rest.
            for m in range(n - 1):
                row[m] = np.count_nonzero(where == m)
            row[n - 1] = accesses - row[:n - 1].sum()
            return pairs
        assert tix is not None
        code = self.thread_nodes[tix] * n + self.node[idx]
        return np.bincount(code, weights=weights, minlength=n * n).astype(np.int64).reshape(n, n)

    # --- checks -------------------------------------------------------------------------

    def mismatches(self) -> list[tuple[int, int, int | None]]:
        """Pages whose kept node differs from the model's (index, kept, model's)."""
        out = []
        addrs = self.addresses(np.arange(self.n_pages)).tolist()
        for i, addr in enumerate(addrs):
            kept = int(self.node[i])
            model = self.process.node_of(addr)
            if (model if model is not None else -1) != kept:
                out.append((i, kept, model))
        return out


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

