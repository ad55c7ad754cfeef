"""A placement policy of ``pagemig.sim`` driven live: sample a process, let the policy decide, move_pages.

The policy classes are the simulation's (``pagemig.sim.policies``, built-ins
and ``FILE.py:ClassName``); only their context changes. ``LivePolicyContext``
gives a policy what ``PolicyContext`` gives it in a replay (``n_pages``,
``node``, ``topology``, ``epoch_s``, ``budget``, ``free_pages``,
``migrate``), with pages numbered over the target's writable VMAs as they
were when the daemon started, and ``LiveDaemon`` calls the same hooks with
the same ``EpochStats``. Each interval it:

1. reads /proc/PID/pagemap for every page of those VMAs (present bit,
   soft-dirty bit), one pread per VMA;
2. asks move_pages(2) in query mode (nodes NULL) where the present pages
   are (/proc/PID/numa_maps only counts pages per VMA);
3. builds ``stats.page_counts`` from the access signal, 1 for a page
   accessed in the interval and 0 otherwise (the kernel keeps no per-page
   access counts that user space can read cheaply);
4. calls ``policy.on_epoch`` and issues its migrations as move_pages(2) of
   the target with MPOL_MF_MOVE, in batches.

The access signal (``access=``):

``soft-dirty``
    pagemap bit 55 after writing "4" to /proc/PID/clear_refs: the page was
    *written* in the interval (reads are not seen). Needs
    CONFIG_MEM_SOFT_DIRTY; ``auto`` takes it when a present page of the
    target shows the bit at the first sample (new VMAs are soft-dirty until
    the first clear, so a kernel with the option shows it).
``present``
    every present page counts as accessed once per interval: residency, not
    use. What is left on a kernel without soft-dirty (this project's host:
    6.18 without CONFIG_MEM_SOFT_DIRTY or CONFIG_IDLE_PAGE_TRACKING).

The young bit through /sys/kernel/mm/page_idle/bitmap (reads too, root
only) is not built: no kernel here has CONFIG_IDLE_PAGE_TRACKING to check
it against.

Every read, write and system call goes through a ``ProcessIO``
(``pagemig.real.sysio``), so a ``RecordingSysIO`` records a session or
replays it without a kernel.
"""

from __future__ import annotations

import errno
import mmap
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import numpy as np

from ..procfs import parse_zoneinfo
from ..results import STATUS_UNWRITTEN, failure_reason
from ..sim.cost import CostModel
from ..sim.policies.base import EpochStats, MigrationResult, Policy, PolicyContext
from ..sim.topology import NodeSpec
from ..sim.topology import Topology as SimTopology
from .process import move_pages, this_process
from .sysio import ProcessIO, SysIO
from .topology import Topology, read_topology
from .uapi import MPOL_MF_MOVE

PAGE_SIZE = mmap.PAGESIZE
PAGE_SHIFT = PAGE_SIZE.bit_length() - 1

# /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst).
PM_PRESENT = 1 << 63
PM_SOFT_DIRTY = 1 << 55

ACCESS_SIGNALS = ("auto", "soft-dirty", "present")
# VMAs the kernel maps for itself: no pages a policy could move.
_SPECIAL = frozenset({"[vsyscall]", "[vvar]", "[vvar_vclock]", "[vdso]", "[uprobes]"})
QUERY_BATCH_PAGES = 65536


class DaemonError(ValueError):
    """The daemon cannot run this policy on this process (a bad input, not a kernel failure)."""


@dataclass(frozen=True)
class Vma:
    """One line of /proc/PID/maps."""

    start: int
    end: int
    perms: str
    path: str

    @property
    def pages(self) -> int:
        return (self.end - self.start) >> PAGE_SHIFT


def parse_maps(text: str) -> list[Vma]:
    """/proc/PID/maps (fs/proc/task_mmu.c show_map_vma): ``start-end perms offset dev inode [path]``."""
    vmas = []
    for line in text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            continue
        start, _, end = fields[0].partition("-")
        vmas.append(Vma(int(start, 16), int(end, 16), fields[1], fields[5] if len(fields) > 5 else ""))
    return vmas


def tracked_vmas(vmas: list[Vma]) -> list[Vma]:
    """The VMAs whose pages the daemon samples: writable ones (anonymous memory,
    heap, stacks, private file data, shared memory), not the kernel's own."""
    return [v for v in vmas if len(v.perms) >= 2 and v.perms[1] == "w" and v.path not in _SPECIAL]


@dataclass(frozen=True)
class Sample:
    """One look at the target's pages (indices over the tracked VMAs)."""

    present: np.ndarray   # bool: in memory
    node: np.ndarray      # int16: node of a present page, -1 otherwise
    accessed: np.ndarray  # bool: by the access signal


class Sampler:
    """Reads the pages of a fixed set of VMAs of process ``pid``: pagemap, then a
    move_pages query of the present ones."""

    def __init__(self, pid: int, io: ProcessIO, vmas: list[Vma]) -> None:
        self.pid = pid
        self.io = io
        self.vmas = vmas
        self.first = np.array([0] + [v.pages for v in vmas], dtype=np.int64).cumsum()
        self.starts = np.array([v.start for v in vmas], dtype=np.uint64)
        self.n_pages = int(self.first[-1])
        self.query_calls = 0

    def addresses(self, pages: np.ndarray) -> np.ndarray:
        """Virtual addresses (uint64) of page indices."""
        pages = np.asarray(pages, dtype=np.int64)
        vma = np.searchsorted(self.first, pages, side="right") - 1
        offsets = (pages - self.first[vma]).astype(np.uint64) << np.uint64(PAGE_SHIFT)
        out: np.ndarray = self.starts[vma] + offsets
        return out

    def pagemap(self) -> np.ndarray:
        """The pagemap entry of every tracked page (uint64)."""
        path = f"/proc/{self.pid}/pagemap"
        out = np.zeros(self.n_pages, dtype=np.uint64)
        for i, vma in enumerate(self.vmas):
            data = self.io.read_bytes(path, (vma.start >> PAGE_SHIFT) * 8, vma.pages * 8)
            got = np.frombuffer(data[: len(data) // 8 * 8], dtype=np.uint64)
            out[self.first[i]:self.first[i] + len(got)] = got  # a VMA unmapped since: zeros
        return out

    def nodes(self, present: np.ndarray) -> np.ndarray:
        """The node of each present page by move_pages(2) in query mode (-1: none)."""
        node = np.full(self.n_pages, -1, dtype=np.int16)
        pages = np.flatnonzero(present)
        for a in range(0, len(pages), QUERY_BATCH_PAGES):
            batch = pages[a:a + QUERY_BATCH_PAGES]
            self.query_calls += 1
            status = move_pages(self.pid, self.addresses(batch), None, 0, sysio=self.io).status_array
            node[batch] = np.where(status >= 0, status, -1)
        return node

    def clear_soft_dirty(self) -> None:
        self.io.write_text(f"/proc/{self.pid}/clear_refs", "4")

    def sample(self, access: str) -> Sample:
        entries = self.pagemap()
        present = (entries & np.uint64(PM_PRESENT)) != 0
        if access == "soft-dirty":
            accessed = present & ((entries & np.uint64(PM_SOFT_DIRTY)) != 0)
            self.clear_soft_dirty()
        else:
            accessed = present
        return Sample(present, self.nodes(present), accessed)


def choose_access(entries: np.ndarray, wanted: str) -> str:
    """The access signal to use: ``wanted``, or for ``auto`` soft-dirty when a
    present page shows the bit (see the module docstring), else ``present``."""
    if wanted not in ACCESS_SIGNALS:
        raise DaemonError(f"unknown access signal {wanted!r} (known: {', '.join(ACCESS_SIGNALS)})")
    present = (entries & np.uint64(PM_PRESENT)) != 0
    soft_dirty = bool(np.any(present & ((entries & np.uint64(PM_SOFT_DIRTY)) != 0)))
    if wanted == "soft-dirty" and not soft_dirty:
        raise DaemonError("soft-dirty: no page of the target shows pagemap's soft-dirty bit "
                          "(a kernel without CONFIG_MEM_SOFT_DIRTY)")
    if wanted == "auto":
        return "soft-dirty" if soft_dirty else "present"
    return wanted


def sim_topology(live: Topology) -> SimTopology:
    """The simulation's view of the live nodes: nodes with CPUs are the fast
    tier, CPU-less ones (CXL or PMEM expanders) the slow tier."""
    ids = sorted(live.nodes)
    if ids != list(range(len(ids))):
        raise DaemonError(f"node ids {ids} are not 0..N-1; the policies index nodes densely")
    nodes = tuple(NodeSpec(memory_bytes=max(live.nodes[n].meminfo.get("MemTotal", 0) * 1024, PAGE_SIZE),
                           cpus=len(live.nodes[n].cpus), tier=0 if live.nodes[n].cpus else 1)
                  for n in ids)
    distances = tuple(tuple(live.nodes[a].distance.get(b, 10 if a == b else 20) for b in ids) for a in ids)
    return SimTopology("live", nodes, distances)


def one_node_topology() -> SimTopology:
    """A kernel without CONFIG_NUMA (no /sys/devices/system/node): one node."""
    return SimTopology("live", (NodeSpec(memory_bytes=PAGE_SIZE, cpus=os.cpu_count() or 1),), ((10,),))


class _Target:
    """``ctx.process`` on the live kernel: another process, whose own memory
    policy a daemon cannot set."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def set_mempolicy(self, mode: int, nodes: Any = None) -> None:
        raise DaemonError("set_mempolicy(2) sets the calling thread's policy: a daemon cannot set "
                          f"process {self.pid}'s (start it under numactl --interleave/--membind instead)")


class _LiveMachine:
    """``ctx.machine`` on the live kernel: only what policies ask of it."""

    def __init__(self, live: Topology | None) -> None:
        self._memory = live.has_memory if live is not None else [0]

    def nodes_with_memory(self) -> list[int]:
        return list(self._memory)


class LivePolicyContext(PolicyContext):
    """``PolicyContext`` over a live process: the same attributes and methods,
    read from the kernel; ``migrate`` is move_pages(2) of the target."""

    def __init__(self, daemon: LiveDaemon) -> None:
        # Not super().__init__: that one reads a Simulation.
        self._sim = daemon
        self.machine = cast(Any, _LiveMachine(daemon.live_topology))
        self.process = cast(Any, _Target(daemon.pid))
        self.daemon = cast(Any, this_process(daemon.io))
        self.topology = daemon.topology
        self.cost = CostModel(daemon.topology)
        self.n_pages = daemon.sampler.n_pages
        self.fast_nodes = daemon.topology.fast_nodes()
        self.slow_nodes = daemon.topology.slow_nodes()
        self.thread_nodes = daemon.thread_nodes
        self.epoch_s = daemon.interval_ms / 1000
        self.rng = np.random.default_rng(daemon.seed)
        self._carry = {}
        node = daemon.node.view()
        node.flags.writeable = False
        self.node = node

    def free_pages(self, node: int) -> int:
        """Free pages of a node above its zones' high watermarks, from /proc/zoneinfo."""
        free = 0
        for zone in parse_zoneinfo(self._sim.io.read_text("/proc/zoneinfo")):
            if zone.node == node and zone.stats.get("present", 0):
                free += max(0, zone.stats.get("pages free", 0) - zone.stats.get("high", 0) - 1)
        return free


@dataclass
class EpochReport:
    """One interval: what was sampled and what the policy's migrations gave."""

    epoch: int
    t_start_ns: int
    t_end_ns: int
    pages_sampled: int = 0
    pages_present: int = 0
    pages_accessed: int = 0
    pages_per_node: dict[int, int] = field(default_factory=dict)
    query_calls: int = 0
    migrate_calls: int = 0
    attempted: int = 0
    succeeded: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(self.failed_by_reason.values())

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed"] = self.failed
        data["pages_per_node"] = {str(k): v for k, v in self.pages_per_node.items()}
        return data



class LiveDaemon:
    """A ``Policy`` driven on live process ``pid`` every ``interval_ms``.

    ``setup()`` fixes the tracked VMAs, takes the first sample and calls
    ``policy.setup``; each ``step()`` waits for the next interval, samples,
    calls ``policy.on_epoch`` and returns the epoch's report. ``dry_run``
    counts the migrations the policy asks for without making them.
    ``clock`` (ns) and ``sleep`` (s) are injectable for replayed sessions.
    """

    def __init__(self, pid: int, policy: Policy, *, interval_ms: int = 1000, access: str = "auto",
                 sysio: ProcessIO | None = None, dry_run: bool = False, migrate_batch_pages: int = 1024,
                 seed: int = 0, clock: Callable[[], int] = time.monotonic_ns,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            raise DaemonError(f"pid must be a positive process id, got {pid!r}")
        if interval_ms <= 0:
            raise DaemonError(f"interval_ms must be positive, got {interval_ms}")
        if migrate_batch_pages <= 0:
            raise DaemonError(f"migrate_batch_pages must be positive, got {migrate_batch_pages}")
        if access not in ACCESS_SIGNALS:
            raise DaemonError(f"unknown access signal {access!r} (known: {', '.join(ACCESS_SIGNALS)})")
        if policy.lookahead:
            raise DaemonError(f"policy {policy.name} sees each epoch before it happens; "
                              "only a replay can run it")
        self.pid = pid
        self.policy = policy
        self.interval_ms = interval_ms
        self.wanted_access = access
        self.access = access
        self.io: ProcessIO = sysio if sysio is not None else SysIO()
        self.dry_run = dry_run
        self.migrate_batch_pages = migrate_batch_pages
        self.seed = seed
        self._clock = clock
        self._sleep = sleep
        self.reports: list[EpochReport] = []
        self._epoch: EpochReport | None = None

    # --- setup -------------------------------------------------------------------------

    def setup(self) -> None:
        """Read the target's VMAs and the nodes, take the first sample, set the policy up."""
        self.vmas = tracked_vmas(parse_maps(self.io.read_text(f"/proc/{self.pid}/maps")))
        self.sampler = Sampler(self.pid, self.io, self.vmas)
        try:
            self.live_topology: Topology | None = read_topology(self.io)
            self.topology = sim_topology(self.live_topology)
        except FileNotFoundError:
            self.live_topology, self.topology = None, one_node_topology()
        self.thread_nodes = self._thread_nodes()
        entries = self.sampler.pagemap()
        self.access = choose_access(entries, self.wanted_access)
        if self.access == "soft-dirty":
            self.sampler.clear_soft_dirty()
        present = (entries & np.uint64(PM_PRESENT)) != 0
        self.node = self.sampler.nodes(present)
        self.ctx = LivePolicyContext(self)
        self.policy.setup(self.ctx)
        self.t0 = self._clock()
        self._t_last = self.t0

    def _thread_nodes(self) -> np.ndarray:
        """The node of the CPU each thread of the target last ran on (/proc/PID/task/TID/stat)."""
        cpu_node = {}
        if self.live_topology is not None:
            cpu_node = {cpu: nid for nid, info in self.live_topology.nodes.items() for cpu in info.cpus}
        nodes = []
        for tid in self.io.listdir(f"/proc/{self.pid}/task"):
            try:
                stat = self.io.read_text(f"/proc/{self.pid}/task/{tid}/stat")
            except FileNotFoundError:
                continue  # the thread exited
            fields = stat.rpartition(")")[2].split()
            cpu = int(fields[36]) if len(fields) > 36 else 0  # field 39, "processor"
            nodes.append(cpu_node.get(cpu, 0))
        return np.array(nodes or [0], dtype=np.int64)

    # --- one interval --------------------------------------------------------------------

    def step(self) -> EpochReport:
        """Wait for the end of the next interval, sample, and let the policy act."""
        index = len(self.reports)
        deadline = self.t0 + (index + 1) * self.interval_ms * 1_000_000
        wait = deadline - self._clock()
        if wait > 0:
            self._sleep(wait / 1e9)
        t_start, t_end = self._t_last - self.t0, self._clock() - self.t0
        self._t_last = self.t0 + t_end
        report = EpochReport(index, t_start, t_end)
        self._epoch = report
        queries = self.sampler.query_calls
        sample = self.sampler.sample(self.access)
        self.node[:] = sample.node
        counts = sample.accessed.astype(np.int64)
        report.pages_sampled = self.sampler.n_pages
        report.pages_present = int(np.count_nonzero(sample.present))
        report.pages_accessed = int(np.count_nonzero(sample.accessed))
        report.query_calls = self.sampler.query_calls - queries
        accesses = report.pages_accessed
        stats = EpochStats(index, t_start, t_end, accesses, counts, np.array([accesses], dtype=np.int64))
        self.policy.on_epoch(self.ctx, stats)
        placed = self.node[self.node >= 0]
        report.pages_per_node = {int(n): int(c) for n, c in zip(*np.unique(placed, return_counts=True),
                                                                  strict=True)}
        self._epoch = None
        self.reports.append(report)
        return report

    def run(self, epochs: int | None = None,
            on_epoch: Callable[[EpochReport], None] | None = None) -> list[EpochReport]:
        """``setup()`` (if not done) and ``epochs`` steps (None: until interrupted)."""
        if not hasattr(self, "ctx"):
            self.setup()
        try:
            while epochs is None or len(self.reports) < epochs:
                report = self.step()
                if on_epoch is not None:
                    on_epoch(report)
        except BaseException:
            # Ctrl-C (or the target exiting) in the middle of an epoch: its calls still count.
            if self._epoch is not None:
                self.reports.append(self._epoch)
                self._epoch = None
            raise
        return self.reports

    # --- what the policy's context calls ---------------------------------------------------

    def addresses(self, pages: np.ndarray) -> np.ndarray:
        return self.sampler.addresses(pages)

    def migrate(self, pages: np.ndarray, nodes: int | np.ndarray) -> MigrationResult:
        """move_pages(2) of the target, MPOL_MF_MOVE, in batches (``PolicyContext.migrate``)."""
        pages = np.asarray(pages, dtype=np.int64)
        targets = np.broadcast_to(np.asarray(nodes, dtype=np.int64), pages.shape)
        if len(pages) and (pages.min() < 0 or pages.max() >= self.sampler.n_pages):
            raise ValueError(f"page indices must be within 0..{self.sampler.n_pages - 1}")
        report = self._epoch if self._epoch is not None else EpochReport(-1, 0, 0)
        report.attempted += len(pages)
        if self.dry_run:
            return MigrationResult(pages, self.node[pages].astype(np.int64), 0, 0)
        status = np.empty(len(pages), dtype=np.int64)
        after = np.empty(len(pages), dtype=np.int64)
        addrs = self.addresses(pages)
        step = self.migrate_batch_pages
        for a in range(0, len(pages), step):
            report.migrate_calls += 1
            status[a:a + step], after[a:a + step] = self._move_pages(addrs[a:a + step], targets[a:a + step])
        moved = after >= 0
        self.node[pages[moved]] = after[moved]
        ok = status == targets
        succeeded = int(np.count_nonzero(ok))
        report.succeeded += succeeded
        reasons = Counter(failure_reason(int(code)) for code in status[~ok])
        for reason, count in reasons.items():
            report.failed_by_reason[reason] = report.failed_by_reason.get(reason, 0) + count
        return MigrationResult(pages, status, succeeded, len(pages) - succeeded)

    def _move_pages(self, addrs: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One move_pages(2): the statuses, and the node of each page after it (-1: unknown)."""
        try:
            result = move_pages(self.pid, addrs, targets.astype(np.int32), MPOL_MF_MOVE, sysio=self.io)
            status = result.status_array.astype(np.int64)
        except OSError as err:
            # The whole call failed: statuses written before stand, the rest are its errno.
            partial = getattr(err, "result", None)
            status = (partial.status_array.astype(np.int64) if partial is not None
                      else np.full(len(addrs), STATUS_UNWRITTEN, dtype=np.int64))
            status[status == STATUS_UNWRITTEN] = -(err.errno or errno.EINVAL)
            return status, np.where(status >= 0, status, -1)
        after = np.where(status >= 0, status, -1)
        unwritten = np.flatnonzero(status == STATUS_UNWRITTEN)
        if len(unwritten):
            # Since 4.17 a run that failed during migration is left unwritten: ask where it is.
            self.sampler.query_calls += 1
            where = move_pages(self.pid, addrs[unwritten], None, 0, sysio=self.io).status_array
            after[unwritten] = np.where(where >= 0, where, -1)
        return status, after

    # --- the run as a whole ---------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Totals over the epochs run so far."""
        failed: Counter[str] = Counter()
        for r in self.reports:
            failed.update(r.failed_by_reason)
        last = self.reports[-1] if self.reports else None
        return {
            "pid": self.pid, "policy": self.policy.name, "access": self.access,
            "interval_ms": self.interval_ms, "dry_run": self.dry_run, "epochs": len(self.reports),
            "vmas": len(getattr(self, "vmas", [])),
            "pages_sampled": last.pages_sampled if last else 0,
            "pages_present": last.pages_present if last else 0,
            "pages_per_node": {str(k): v for k, v in (last.pages_per_node if last else {}).items()},
            "migrations": {"calls": sum(r.migrate_calls for r in self.reports),
                           "attempted": sum(r.attempted for r in self.reports),
                           "succeeded": sum(r.succeeded for r in self.reports),
                           "failed": sum(failed.values()), "failed_by_reason": dict(sorted(failed.items()))},
        }
