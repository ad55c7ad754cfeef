"""Running a scenario on the model: each step through the public API.

One ``ModelRun`` holds a Machine, the scenario's processes and regions, and
one record per step (the same record shape the real-kernel backends give).
"""

from __future__ import annotations

import errno
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from .. import Machine, Process
from ..machine import NR_CPUS
from ..mm import page as pg
from ..mm.bug import KernelBug
from ..mm.fault import UserFault, user_access
from ..mm.fault_inject import FAULT_POINTS
from ..mm.fs import Inode
from ..mm.invariants import InvariantError
from ..mm.memcontrol import mem_cgroup_attach, mem_cgroup_create
from ..mm.mempolicy import MPOL_BIND
from ..mm.mmap import PROT_NONE, PROT_READ, PROT_WRITE
from ..mm.page import PAGE_SIZE, Page
from ..mm.swap import put_page
from ..results import MovePagesResult
from ..units import excerpt, parse_size
from . import values
from .expect import Record, check_expectations
from .syntax import COMMANDS, Step

BADPID = 4_000_000       # above any pid the model hands out
UNMAPPED = 0x200000000000  # an address no scenario process maps
PROTS = {"none": PROT_NONE, "r": PROT_READ, "rw": PROT_READ | PROT_WRITE}
Fill = tuple[str, int]    # ("gen", G) or ("const", B)
T = TypeVar("T")


@dataclass
class Region:
    name: str
    addr: int
    npages: int
    key: str           # what the pattern is keyed by: the region, or the file's path
    first: int = 0     # the page index of the region's first page within ``key``
    shared: bool = False


@dataclass
class ProcessState:
    proc: Process
    fills: dict[tuple[str, int], Fill] = field(default_factory=dict)  # private pages
    pins: dict[int, list[Page]] = field(default_factory=dict)


def pattern(key: str, index: int, fill: Fill) -> bytes:
    """The 4 KiB a page holds after ``write`` of generation G (or ``const=B``)."""
    kind, value = fill
    if kind == "const":
        return bytes([value]) * PAGE_SIZE
    if value == 0:
        return bytes(PAGE_SIZE)
    word = (zlib.crc32(key.encode()) << 32 | (index & 0xFFFFFF) << 8 | (value & 0xFF))
    return bytes(np.full(PAGE_SIZE // 8, word, dtype="<u8").tobytes())


class ModelRun:
    """Execute parsed steps on a model Machine, one record per step."""

    def __init__(self, steps: list[Step], path: str, profile: str | None = None,
                 on_step: Callable[[Step, Record], None] | None = None,
                 trace: bool = False) -> None:
        self.steps = steps
        self.path = path
        self.profile = profile
        self.on_step = on_step
        self.trace = trace
        self.machine: Machine | None = None
        self.states: dict[str, ProcessState] = {}
        self.regions: dict[str, Region] = {}
        self.shared_fills: dict[tuple[str, int], Fill] = {}
        self.current: str | None = None
        self.records: list[Record] = []
        self.results: dict[int, MovePagesResult] = {}
        self._handlers: dict[str, Callable[[Step, Record], None]] = {
            name: getattr(self, f"do_{name}") for name in COMMANDS
        }

    @property
    def processes(self) -> dict[str, Process]:
        return {name: state.proc for name, state in self.states.items()}

    @property
    def failures(self) -> list[Record]:
        return [r for r in self.records if r["problems"]]

    @property
    def oops(self) -> Record | None:
        """The step where the model reproduced a real kernel oops (the run
        stopped there), or None."""
        return next((r for r in self.records if "oops" in r), None)

    def run(self) -> ModelRun:
        for step in self.steps:
            self.records.append(self.run_step(step))
            if "bug" in self.records[-1]:
                break  # the kernel is dead (an oops) or the model is wrong: stop here
        if self.machine is None:
            self._boot(None)
        return self

    def run_step(self, step: Step) -> Record:
        if self.machine is None and step.cmd != "machine":
            self._boot(None)
        record: Record = {"line": step.line, "cmd": step.text, "op": step.cmd,
                          "ret": None, "errno": None}
        marks = self._marks()
        try:
            self._handlers[step.cmd](step, record)
        except UserFault as fault:  # an OSError too: catch it first
            record["signal"] = fault.signal
        except OSError as err:
            record["errno"] = errno.errorcode.get(err.errno or 0, str(err.errno))
        except KernelBug as bug:
            record["bug"] = str(bug)
            if bug.kernel is not None:
                record["oops"] = bug.kernel
        except InvariantError as err:
            record["invariant"] = str(err)
        except (ValueError, TypeError, KeyError, FileExistsError, FileNotFoundError,
                NotImplementedError) as err:
            raise step.error(_message(err)) from None
        self._note_account(record, marks)
        record["problems"] = check_expectations(step.expect, record) + _model_problems(record)
        if self.on_step is not None:
            self.on_step(step, record)
        return record

    def _marks(self) -> tuple[int, int]:
        if self.machine is None:
            return (0, 0)
        return len(self.machine.account.attempts), self.machine.trace.last_seq

    def _note_account(self, record: Record, marks: tuple[int, int]) -> None:
        """The migration attempts (and trace events) this step caused."""
        attempts = self.m.account.attempts[marks[0]:]
        if attempts:
            record["attempts"] = [{"pfn": a.pfn, "rc": a.rc, "node": a.target_node,
                                   "forced": a.forced, "why": a.why} for a in attempts]
        if self.trace:
            record["trace"] = [str(e) for e in self.m.trace.events()
                               if e.seq > marks[1]]

    # --- machine commands ------------------------------------------------------------------

    def _boot(self, step: Step | None) -> None:
        opts = dict(step.opts) if step is not None else {}
        profile = self.profile if self.profile is not None else opts.get("profile", "2.6.35")
        nodes = _int_opt(opts, "nodes", "2")
        try:
            self.machine = self._machine(opts, profile, nodes)
        except ValueError as err:  # name the scenario's options, not Machine's arguments
            message = str(err)
            for api, option in (("node_memory", "memory"), ("movable_memory", "movable")):
                if message.startswith(api):
                    message = option + message[len(api):]
            raise ValueError(message) from None
        if self.trace:
            self.machine.trace.enable()

    def _machine(self, opts: dict[str, str], profile: str, nodes: int) -> Machine:
        cpus = opts.get("cpus")
        per_node = None if cpus is None else [values.parse_int(c) for c in cpus.split(",")]
        distances = opts.get("distances")
        return Machine(
            nodes, _sizes(opts.get("memory", "64MiB")),
            cpus=None if per_node is None else _cpu_map(per_node, nodes),
            distances=None if distances is None else
            [[values.parse_int(d) for d in row.split(",")] for row in distances.split("/")],
            movable_memory=_sizes(opts.get("movable", "0")),
            swap=opts.get("swap", 0),
            min_free_kbytes=_int_opt(opts, "min_free_kbytes", "0"),
            hugepages=_hugepages(opts.get("hugepages", "0")),
            seed=_int_opt(opts, "seed", "0"),
            profile=profile,
        )

    @property
    def m(self) -> Machine:
        assert self.machine is not None
        return self.machine

    def do_machine(self, step: Step, record: Record) -> None:
        self._boot(step)

    def do_file(self, step: Step, record: Record) -> None:
        path = step.args[0]
        size = parse_size(step.opts.get("size", "0"), "size")
        fs = step.opts.get("fs", "ext2")
        hugetlbfs = fs == "hugetlbfs"
        gen = _int_opt(step.opts, "gen", "0" if hugetlbfs else "1")
        if hugetlbfs and gen:
            raise step.error("hugetlbfs files have no write(2): fill them through a mapping "
                             "(gen=0)")
        inode = self.m.create_file(path, size, fs)  # checks the size before the data exists
        npages = -(-size // PAGE_SIZE)
        data = b"".join(pattern(path, k, ("gen", gen)) for k in range(npages))[:size]
        if inode.store is not None:
            inode.store[:size] = np.frombuffer(data, dtype=np.uint8)
        elif gen:
            self._write_through_page_cache(inode, data)
        for k in range(npages):
            self.shared_fills[(path, k)] = ("gen", gen)

    def _write_through_page_cache(self, inode: Inode, data: bytes) -> None:
        """write(2) to a file without backing store (ramfs): the data lives in
        page-cache pages only. init writes it through a mapping it drops."""
        init = Process(self.m, self.m.init_task)
        addr = init.mmap(len(data), file=inode, shared=True)
        init.write(addr, data)
        init.munmap(addr, len(data))

    def do_spawn(self, step: Step, record: Record) -> None:
        name = self._new_name(step)
        gid = step.opts.get("gid")
        proc = self.m.spawn(_int_opt(step.opts, "uid", "0"),
                            _int_opt(step.opts, "cpu", "0"),
                            gid=None if gid is None else _int_opt(step.opts, "gid"), comm=name,
                            compat=_flag(step, "compat"))
        self.states[name] = ProcessState(proc)
        self.current = name

    def do_cpuset(self, step: Step, record: Record) -> None:
        if "mems" not in step.opts:
            raise step.error("cpuset needs mems=NODES")
        migrate = step.opts.get("memory_migrate")
        if migrate not in (None, "0", "1"):
            raise step.error("memory_migrate takes 0 or 1")
        self.m.create_cpuset(step.args[0], values.parse_nodes(step.opts["mems"]),
                             step.opts.get("parent", "/"),
                             memory_migrate=None if migrate is None else migrate == "1")

    def do_memcg(self, step: Step, record: Record) -> None:
        limit = step.opts.get("limit")
        mem_cgroup_create(self.m, step.args[0],
                          None if limit is None else _parse(step, values.parse_int, limit))

    def do_attach_memcg(self, step: Step, record: Record) -> None:
        group = self.m.memcg.groups.get(step.args[0])
        if group is None:
            raise step.error(f"no memory cgroup named {excerpt(step.args[0])}")
        mem_cgroup_attach(self.m, self._actor(step).proc.pid, group)

    def do_reclaim(self, step: Step, record: Record) -> None:
        node = _node_index(self.m, step)
        self.m.deactivate_all(node)  # age the active lists first, as memory pressure would
        record["ret"] = self.m.reclaim(node, values.parse_int(step.args[1]))

    def do_ksm_merge(self, step: Step, record: Record) -> None:
        record["ret"] = self.m.ksm_merge()

    def do_writeback(self, step: Step, record: Record) -> None:
        count = _parse(step, values.parse_int, step.args[0]) if step.args else None
        if count is not None and count < 0:
            raise step.error(f"writeback N must be a count of pages (>= 0), got {count}")
        record["ret"] = self.m.complete_writeback(count)

    def do_inject(self, step: Step, record: Record) -> None:
        opts = dict(step.opts)
        times = opts.pop("times", None)
        probability = opts.pop("probability", "1")
        space = opts.pop("space", "0")
        filters: dict[str, object] = {k: _filter_value(v) for k, v in opts.items()}
        self.m.faults.add(step.args[0], times=None if times is None else values.parse_int(times),
                          space=values.parse_int(space), probability=float(probability),
                          **filters)

    def do_uninject(self, step: Step, record: Record) -> None:
        if step.args and step.args[0] not in FAULT_POINTS:
            raise step.error(f"unknown fault point {excerpt(step.args[0])} "
                             f"(known: {', '.join(sorted(FAULT_POINTS))})")
        rules = self.m.faults.rules
        rules[:] = [r for r in rules if step.args and r.name != step.args[0]]

    def do_offline(self, step: Step, record: Record) -> None:
        node = self.m.nodes[_node_index(self.m, step)]
        zone = node.node_zones[-1]
        if not zone.present_pages:
            raise step.error(f"node {node.node_id} has no movable memory to offline "
                             "(give the machine movable=SIZE)")
        self.m.offline_pages(zone.zone_start_pfn, zone.spanned_pages)

    def do_compact(self, step: Step, record: Record) -> None:
        record["ret"] = self.m.compact(_node_index(self.m, step))[0]

    def do_check(self, step: Step, record: Record) -> None:
        if not step.args:
            self.m.check()
            return
        state = self._actor(step)
        bad = []
        for ref in self._pages(step, step.args[0]):
            region = self._region_of(step, ref)
            fill = self._expected_fill(state, region, ref.index, step.opts.get("gen"))
            got = state.proc.read(ref.addr, PAGE_SIZE)
            if got != pattern(region.key, region.first + ref.index, fill):
                bad.append(f"{region.name}:{ref.index}")
        record["data"] = "bad" if bad else "ok"
        if bad:
            record["detail"] = "pages " + ",".join(bad) + " do not hold what was written"

    # --- process commands ------------------------------------------------------------------

    def do_map(self, step: Step, record: Record) -> None:
        state = self._actor(step)
        name, kind = step.args[0], step.args[1]
        if name in self.regions:
            raise step.error(f"region {excerpt(name)} already exists")
        npages = values.parse_int(step.args[2])
        flag = step.args[3] if len(step.args) > 3 else ""
        if flag not in ("", "private", "shared"):
            raise step.error(f"unknown map flag {excerpt(flag)} (private or shared)")
        prot = PROTS.get(step.opts.get("prot", "rw"))
        if prot is None:
            raise step.error(f"unknown prot {excerpt(step.opts['prot'])} (none, r or rw)")
        length = npages * PAGE_SIZE
        key, shared = name, False
        at = self._address_after(step)
        if kind == "anon":
            addr = state.proc.mmap(length, prot, shared=flag == "shared", addr=at or 0,
                                   fixed=at is not None)
            shared = flag == "shared"
        elif kind == "shmem":
            addr, shared = state.proc.mmap(length, prot, shared=True, addr=at or 0,
                                            fixed=at is not None), True
        elif kind == "file":
            if "path" not in step.opts:
                raise step.error("map ... file needs path=PATH")
            key, shared = step.opts["path"], flag != "private"
            addr = state.proc.mmap(length, prot, file=self.m.open(key), shared=shared,
                                   addr=at or 0, fixed=at is not None)
        elif kind == "device" and at is None:
            addr = state.proc.mmap_device(length)
        elif kind == "hugetlb" and at is None:  # MAP_ANONYMOUS|MAP_HUGETLB, private unless shared
            addr = state.proc.mmap(length, prot, shared=flag == "shared", hugetlb=True)
            shared = flag == "shared"
        elif kind in ("device", "hugetlb"):
            raise step.error(f"after= places anon, shmem and file maps, not {kind}")
        else:
            raise step.error(f"unknown mapping kind {excerpt(kind)} (anon, shmem, file, device, hugetlb)")
        self.regions[name] = Region(name, addr, npages, key, 0, shared)
        if "node" in step.opts:
            state.proc.mbind(addr, length, MPOL_BIND, [_int_opt(step.opts, "node")])

    def _address_after(self, step: Step) -> int | None:
        """The fixed address ``after=R`` asks for: right after region R's last
        page, with no gap; R must be the last region mapped, so nothing lies
        there yet. None without ``after=``."""
        after = step.opts.get("after")
        if after is None:
            return None
        if not self.regions or after != next(reversed(self.regions)):
            raise step.error(f"after={after} must name the last region mapped")
        prev = self.regions[after]
        return prev.addr + prev.npages * PAGE_SIZE

    def do_write(self, step: Step, record: Record) -> None:
        state = self._actor(step)
        fill: Fill = (("const", _int_opt(step.opts, "const")) if "const" in step.opts
                      else ("gen", _int_opt(step.opts, "gen", "1")))
        for ref in self._pages(step, step.args[0]):
            region = self._region_of(step, ref)
            index = region.first + ref.index
            state.proc.write(ref.addr, pattern(region.key, index, fill))
            fills = self.shared_fills if region.shared else state.fills
            fills[(region.key, index)] = fill

    def do_touch(self, step: Step, record: Record) -> None:
        state = self._actor(step)
        mode = step.args[1] if len(step.args) > 1 else "read"
        if mode not in ("read", "write"):
            raise step.error(f"touch mode must be read or write, got {excerpt(mode)}")
        for ref in self._pages(step, step.args[0]):
            if mode == "write":  # rewrite the byte it holds, so the pattern stays
                state.proc.write(ref.addr, state.proc.read(ref.addr, 1))
            else:
                state.proc.touch(ref.addr, write=False)

    def do_fork(self, step: Step, record: Record) -> None:
        state = self._actor(step)
        name = self._new_name(step)
        self.states[name] = ProcessState(state.proc.fork(), dict(state.fills))

    def do_exit(self, step: Step, record: Record) -> None:
        self._actor(step).proc.exit()

    def do_setuid(self, step: Step, record: Record) -> None:
        self._actor(step).proc.setuid(values.parse_int(step.args[0]))

    def do_seteuid(self, step: Step, record: Record) -> None:
        self._actor(step).proc.seteuid(values.parse_int(step.args[0]))

    def do_dumpable(self, step: Step, record: Record) -> None:
        value = values.parse_int(step.args[0])
        if value not in (0, 1):
            raise step.error("dumpable takes 0 or 1")
        self._actor(step).proc.mm.dumpable = value  # prctl(PR_SET_DUMPABLE)

    def do_attach(self, step: Step, record: Record) -> None:
        self.m.attach_cpuset(self._actor(step).proc.pid, step.args[0])

    def do_mlock(self, step: Step, record: Record) -> None:
        self._each_range(step, lambda p, a, n: p.mlock(a, n))

    def do_munlock(self, step: Step, record: Record) -> None:
        self._each_range(step, lambda p, a, n: p.munlock(a, n))

    def do_munmap(self, step: Step, record: Record) -> None:
        self._each_range(step, lambda p, a, n: p.munmap(a, n))

    def do_mprotect(self, step: Step, record: Record) -> None:
        prot = PROTS.get(step.args[1])
        if prot is None:
            raise step.error(f"unknown prot {excerpt(step.args[1])} (none, r or rw)")
        self._each_range(step, lambda p, a, n: p.mprotect(a, n, prot))

    def do_mergeable(self, step: Step, record: Record) -> None:
        region = self._region(step, step.args[0])
        self._actor(step).proc.madvise_mergeable(region.addr, region.npages * PAGE_SIZE)

    def do_pin(self, step: Step, record: Record) -> None:
        state = self._actor(step)
        for ref in self._pages(step, step.args[0]):
            with state.proc.running():  # get_user_pages, as vmsplice does
                page = user_access(state.proc.mm, ref.addr, write=False)
            pg.get_page(page)
            self.m.pin(page)
            state.pins.setdefault(ref.addr, []).append(page)

    def do_unpin(self, step: Step, record: Record) -> None:
        state = self._actor(step)
        for ref in self._pages(step, step.args[0]):
            held = state.pins.get(ref.addr)
            if not held:
                raise step.error(f"no pin on {ref.addr:#x} to release")
            page = held.pop()
            self.m.unpin(page)
            put_page(page)

    def do_set_mempolicy(self, step: Step, record: Record) -> None:
        mode = _mode(step)
        nodes = values.parse_nodes(step.args[1]) if len(step.args) > 1 else []
        self._actor(step).proc.set_mempolicy(mode, nodes)

    def do_query(self, step: Step, record: Record) -> None:
        self._move_pages(step, record, None, 0)

    def do_move(self, step: Step, record: Record) -> None:
        flags = _parse(step, values.parse_flags, step.args[3]) if len(step.args) > 3 else 0
        self._move_pages(step, record, _parse(step, values.parse_nodes, step.args[2]), flags)

    def do_migrate(self, step: Step, record: Record) -> None:
        state = self._actor(step)
        pid, target = self._target(step, step.args[0])
        old = _parse(step, values.parse_nodes, step.args[1])
        new = _parse(step, values.parse_nodes, step.args[2])
        try:
            record["ret"] = state.proc.migrate_pages(pid, old, new)
        finally:
            if "watch" in step.opts:
                viewer = target or state
                refs = self._pages(step, step.opts["watch"])
                record["nodes"] = self._placement(viewer, [r.addr for r in refs])

    def do_mbind(self, step: Step, record: Record) -> None:
        state = self._actor(step)
        refs = self._pages(step, step.args[0])
        addrs = [r.addr for r in refs]
        if addrs != list(range(addrs[0], addrs[0] + PAGE_SIZE * len(addrs), PAGE_SIZE)):
            raise step.error("mbind needs one contiguous range of pages")
        mode = _mode(step, 1)
        nodes = _parse(step, values.parse_nodes, step.args[2])
        flags = _parse(step, values.parse_flags, step.args[3]) if len(step.args) > 3 else 0
        try:
            state.proc.mbind(addrs[0], PAGE_SIZE * len(addrs), mode, nodes, flags)
            record["ret"] = 0  # as the runners record it: no ret for a failed call
        finally:
            record["nodes"] = self._placement(state, addrs)

    def do_where(self, step: Step, record: Record) -> None:
        state = self._actor(step)
        record["nodes"] = self._placement(
            state, [r.addr for r in self._pages(step, step.args[0])])

    # --- helpers ---------------------------------------------------------------------------

    def _move_pages(self, step: Step, record: Record, nodes: list[int] | None,
                    flags: int) -> None:
        state = self._actor(step)
        pid, target = self._target(step, step.args[0])
        refs = self._pages(step, step.args[1])
        addrs = [r.addr for r in refs]
        if nodes is not None and len(nodes) == 1 and len(addrs) != 1:
            nodes = nodes * len(addrs)
        if nodes is not None and len(nodes) != len(addrs):
            raise step.error(f"{len(addrs)} pages but {len(nodes)} nodes")
        count = _int_opt(step.opts, "count") if "count" in step.opts else None
        try:
            result = state.proc.move_pages(pid, addrs, nodes, flags, count=count)
        except OSError as err:
            result = getattr(err, "result", MovePagesResult([None] * len(addrs)))
            self._note_result(step, record, result)
            raise
        finally:
            if nodes is not None:
                # The runners query the target pid: no such process, no placement.
                record["nodes"] = (self._placement(target or state, addrs)
                                   if pid == 0 or target is not None else [None] * len(addrs))
        record["ret"] = result.ret
        self._note_result(step, record, result)

    def _placement(self, viewer: ProcessState, addrs: list[int]) -> list[int | None]:
        """Where each page is, as the viewer's own move_pages query says (as
        the real-kernel runners measure it): None where the query gives an error."""
        if not viewer.proc.alive:
            return [None] * len(addrs)
        status = viewer.proc.move_pages(0, addrs).status
        return [s if s is not None and s >= 0 else None for s in status]

    def _note_result(self, step: Step, record: Record, result: MovePagesResult) -> None:
        record["status"] = list(result.status)
        self.results[step.line] = result

    def _each_range(self, step: Step, call: Callable[[Process, int, int], None]) -> None:
        state = self._actor(step)
        for ref in self._pages(step, step.args[0]):
            call(state.proc, ref.addr, PAGE_SIZE)

    def _new_name(self, step: Step) -> str:
        name = step.args[0]
        if name in self.states or name in ("self", "badpid") or ":" in name:
            raise step.error(f"process name {excerpt(name)} is taken or reserved")
        return name

    def _actor(self, step: Step) -> ProcessState:
        name = step.actor or self.current
        if name is None:
            raise step.error(f"'{step.cmd}' needs a process: add 'spawn NAME' before it")
        state = self.states.get(name)
        if state is None:
            raise step.error(f"no process named {excerpt(name)}")
        return state

    def _target(self, step: Step, word: str) -> tuple[int, ProcessState | None]:
        if word == "self":
            return 0, None
        if word == "badpid":
            return BADPID, None
        if word.startswith("pid:"):
            return _parse(step, values.parse_int, word[4:]), None
        state = self.states.get(word)
        if state is None:
            raise step.error(f"no process named {excerpt(word)} (targets: self, NAME, pid:N, badpid)")
        return state.proc.pid, state

    def _region(self, step: Step, name: str) -> Region:
        region = self.regions.get(name)
        if region is None:
            raise step.error(f"no region named {excerpt(name)}")
        return region

    def _region_of(self, step: Step, ref: values.PageRef) -> Region:
        if ref.region is None:
            raise step.error("data commands need region pages (R:I), not raw addresses")
        return self._region(step, ref.region)

    def _pages(self, step: Step, text: str) -> list[values.PageRef]:
        """A page list (region names are global: no process needed)."""
        refs: list[values.PageRef] = []
        for part in text.split(","):
            refs.extend(self._page_part(step, part))
        return refs

    def _page_part(self, step: Step, part: str) -> Iterator[values.PageRef]:
        if part == "null":
            yield values.PageRef(0)
        elif part == "unmapped":
            yield values.PageRef(UNMAPPED)
        elif part.startswith("@"):
            yield values.PageRef(_parse(step, values.parse_int, part[1:]))
        else:
            name, colon, sel = part.partition(":")
            if not colon:
                raise step.error(f"bad page {excerpt(part)}: expected R:*, R:I, R:I-J, @ADDR, "
                                 "unmapped or null")
            region = self._region(step, name)
            for index in _indices(step, sel, region.npages):
                yield values.PageRef(region.addr + index * PAGE_SIZE, name, index)

    def _expected_fill(self, state: ProcessState, region: Region, index: int,
                       gen: str | None) -> Fill:
        if gen is not None:
            return ("gen", values.parse_int(gen))
        key = (region.key, region.first + index)
        if not region.shared and key in state.fills:
            return state.fills[key]
        return self.shared_fills.get(key, ("gen", 0))


def _model_problems(record: Record) -> list[str]:
    """What only the model can report: a real kernel oops it reproduces, a
    BUG() of the model, or a broken invariant."""
    if "oops" in record:
        return [f"Linux {record['oops']} would oops here: {record['bug']} (docs/kernel-bugs.md)"]
    if "bug" in record:
        return [f"kernel BUG: {record['bug']}"]
    if "invariant" in record:
        return [f"invariant broken: {record['invariant']}"]
    return []


def _indices(step: Step, sel: str, npages: int) -> range:
    if sel == "*":
        return range(npages)
    first, dash, last = sel.partition("-")
    lo = _parse(step, values.parse_int, first)
    hi = _parse(step, values.parse_int, last) if dash else lo
    if not 0 <= lo <= hi < npages:
        raise step.error(f"pages {sel} are outside the region's {npages} pages")
    return range(lo, hi + 1)


def _parse(step: Step, parser: Callable[[str], T], text: str) -> T:
    try:
        return parser(text)
    except ValueError as err:
        raise step.error(f"bad value {excerpt(text)}: {err}") from None


def _int_opt(opts: Mapping[str, str], key: str, default: str | None = None) -> int:
    """The number of option ``key`` (ValueError naming it)."""
    text = opts[key] if default is None else opts.get(key, default)
    try:
        return values.parse_int(text)
    except ValueError as err:
        raise ValueError(f"{key}: {err}") from None


def _flag(step: Step, key: str) -> bool:
    """An option that takes 0 or 1."""
    value = step.opts.get(key, "0")
    if value not in ("0", "1"):
        raise step.error(f"{key} takes 0 or 1, got {excerpt(value)}")
    return value == "1"


def _mode(step: Step, index: int = 0) -> int:
    return _parse(step, values.parse_mode, step.args[index])


def _node_index(machine: Machine, step: Step) -> int:
    node = _parse(step, values.parse_int, step.args[0])
    if not 0 <= node < machine.nr_nodes:
        raise step.error(f"node must be within 0..{machine.nr_nodes - 1}, got {node}")
    return node


def _cpu_map(per_node: list[int], nodes: int) -> list[int]:
    """CPUs per node (one count for all, or one per node) -> each CPU's node."""
    counts = per_node * nodes if len(per_node) == 1 else per_node
    if len(counts) != nodes:
        raise ValueError(f"cpus gives {len(counts)} counts for {nodes} nodes")
    if sum(counts) > NR_CPUS:  # before a list of that many CPUs is made
        raise ValueError(f"cpus: {excerpt(sum(counts))} CPUs in all, more than NR_CPUS "
                         f"({NR_CPUS})")
    return [nid for nid, count in enumerate(counts) for _ in range(count)]


def _hugepages(text: str) -> int | list[int]:
    """``hugepages=N`` (spread over the nodes) or ``hugepages=N0,N1,...`` per node."""
    counts = [values.parse_int(n) for n in text.split(",")]
    return counts[0] if len(counts) == 1 and "," not in text else counts


def _sizes(text: str) -> int | list[int]:
    parts = [parse_size(p, "memory") for p in text.split(",")]
    return parts[0] if len(parts) == 1 else parts


def _filter_value(text: str) -> object:
    try:
        return int(text, 0)
    except ValueError:
        return text


def _message(err: Exception) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err.args[0]) if err.args else type(err).__name__
