"""Hypothesis: random page kinds migrated between random nodes with random
injected faults, interleaved with fork, writes, reclaim, writeback and KSM.
After every step every byte every process reads is what it wrote, and
Machine.check() holds (nothing isolated is lost, counters balance, no
migration entry is left behind)."""

from __future__ import annotations

import errno

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pagemig import PAGE_SIZE, Machine
from pagemig.mm.fault import UserFault
from pagemig.mm.filemap import filemap_fdatawrite
from pagemig.process import Process

KINDS = ("anon", "shmem", "ext2", "vfat", "tmpfs", "ramfs", "xfsbuf", "hugetlb")
PAGES = 4
OK_STATUS = {-errno.EACCES, -errno.ENOENT, -errno.EBUSY, -errno.EAGAIN, -errno.EIO,
             -errno.EINVAL, -errno.ENOMEM, -errno.EFAULT}


class Region:
    """One mapping and the bytes each page must hold, shared by every process
    mapping it (file/shmem) or copied at fork (private anon)."""

    def __init__(self, kind: str, addr: int, shared: bool) -> None:
        self.kind = kind
        self.addr = addr
        self.shared = shared
        self.data: list[bytes] = [b"\0" * 8] * PAGES


class Migrations(RuleBasedStateMachine):
    @initialize(nodes=st.integers(2, 4), seed=st.integers(0, 2**16))
    def build(self, nodes: int, seed: int) -> None:
        self.m = Machine(nodes=nodes, node_memory="8MiB", swap="4MiB", cpus=nodes, seed=seed,
                         hugepages=nodes)
        self.procs: list[tuple[Process, dict[int, Region]]] = []
        self.root = self.m.spawn(uid=0, cpu=0)
        self.counter = 0
        self.spawn()

    def spawn(self) -> None:
        p = self.m.spawn(uid=1000, cpu=len(self.procs) % self.m.nr_cpus)
        self.procs.append((p, {}))

    def pick(self, data: st.DataObject) -> tuple[Process, dict[int, Region]]:
        return data.draw(st.sampled_from(self.procs))

    @rule(data=st.data(), kind=st.sampled_from(KINDS))
    def map_region(self, data: st.DataObject, kind: str) -> None:
        p, regions = self.pick(data)
        if kind == "anon":
            addr, shared = p.mmap(PAGES * PAGE_SIZE), False
        elif kind == "shmem":
            addr, shared = p.mmap(PAGES * PAGE_SIZE, shared=True), True
        elif kind == "hugetlb":  # private MAP_HUGETLB, faulted in at once (never migrated)
            try:
                addr, shared = p.mmap(PAGES * PAGE_SIZE, hugetlb=True, populate=True), False
            except OSError as err:  # no huge page left to reserve
                assert err.errno == errno.ENOMEM
                return
        else:
            self.counter += 1
            f = self.m.create_file(f"/{kind}/{self.counter}", size=PAGES * PAGE_SIZE, fs=kind)
            addr, shared = p.mmap(PAGES * PAGE_SIZE, file=f, shared=True), True
        regions[addr] = Region(kind, addr, shared)
        event(f"mapped {kind}")

    @precondition(lambda self: any(r for _, r in self.procs))
    @rule(data=st.data())
    def write(self, data: st.DataObject) -> None:
        p, regions = self.pick(data)
        if not regions:
            return
        region = data.draw(st.sampled_from(sorted(regions.values(), key=lambda r: r.addr)))
        i = data.draw(st.integers(0, PAGES - 1))
        payload = data.draw(st.binary(min_size=8, max_size=8))
        try:
            p.write(region.addr + i * PAGE_SIZE, payload)
        except UserFault as fault:  # a child's huge-page COW with the pool empty
            assert region.kind == "hugetlb" and fault.signal == "SIGBUS"
            return
        except OSError as err:  # a memory cgroup at its limit: the fault fails
            assert err.errno == errno.ENOMEM and self.m.memcg.enabled
            return
        region.data[i] = payload

    @precondition(lambda self: len(self.procs) < 4)
    @rule(data=st.data())
    def fork(self, data: st.DataObject) -> None:
        p, regions = self.pick(data)
        child = p.fork()
        copies: dict[int, Region] = {}
        for addr, region in regions.items():
            if region.shared:
                copies[addr] = region
            else:
                twin = Region(region.kind, addr, False)
                twin.data = list(region.data)
                copies[addr] = twin
        self.procs.append((child, copies))

    @rule(data=st.data(), move_all=st.booleans(), fault=st.sampled_from(
        [None, "alloc_page", "trylock_page"]))
    def move_pages(self, data: st.DataObject, move_all: bool, fault: str | None) -> None:
        p, regions = self.pick(data)
        if not regions:
            return
        addrs = [r.addr + i * PAGE_SIZE for r in regions.values() for i in range(PAGES)]
        chosen = data.draw(st.lists(st.sampled_from(addrs), min_size=1, max_size=8))
        nodes = [data.draw(st.integers(0, self.m.nr_nodes - 1)) for _ in chosen]
        caller = self.root if move_all else p
        flags = 4 if move_all else 2
        try:
            if fault is None:
                r = caller.move_pages(p.pid, chosen, nodes, flags)
            else:
                times = data.draw(st.integers(1, 12))
                # trylock: another task holds that page's lock for a while.
                target = {"pfn": p.mm.ptes.get(chosen[0] >> 12, 0) >> 12} \
                    if fault == "trylock_page" else {"node": nodes[0]}
                with self.m.inject(fault, times=times, **target):
                    r = caller.move_pages(p.pid, chosen, nodes, flags)
        except OSError as err:
            assert err.errno == errno.ENOMEM, err
            return
        for status, node in zip(r.status, nodes, strict=True):
            assert status == node or status in OK_STATUS or status == 0, status
            event(f"move_pages status {'node' if status == node else status}")

    @rule(data=st.data())
    def migrate_pages(self, data: st.DataObject) -> None:
        p, _ = self.pick(data)
        n = self.m.nr_nodes
        old = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
        new = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
        try:
            assert self.root.migrate_pages(p.pid, old, new) >= 0
        except OSError as err:  # a charge or an allocation failed: the call aborts
            assert err.errno == errno.ENOMEM

    @rule(node=st.integers(0, 3))
    def reclaim(self, node: int) -> None:
        node %= self.m.nr_nodes
        self.m.deactivate_all(node)
        assert self.m.reclaim(node, 64) >= 0

    @rule()
    def writeback(self) -> None:
        for inode in list(self.m.inodes.values()):
            filemap_fdatawrite(inode.mapping)

    @rule()
    def complete_io(self) -> None:
        self.m.complete_writeback()

    @rule(data=st.data(), room=st.integers(0, 6))
    def memcg_limit(self, data: st.DataObject, room: int) -> None:
        """Put a process in a new memory cgroup that has ``room`` pages left."""
        from pagemig.mm.memcontrol import mem_cgroup_attach, mem_cgroup_create

        p, _ = self.pick(data)
        self.counter += 1
        group = mem_cgroup_create(self.m, f"/g{self.counter}", limit=room)
        mem_cgroup_attach(self.m, p.pid, group)

    @rule(data=st.data())
    def ksm(self, data: st.DataObject) -> None:
        p, regions = self.pick(data)
        for region in regions.values():
            if region.kind == "anon":
                p.madvise_mergeable(region.addr, PAGES * PAGE_SIZE)
        self.m.ksm_merge()

    @invariant()
    def consistent(self) -> None:
        if not hasattr(self, "m"):
            return
        self.m.check()
        for p, regions in self.procs:
            for region in regions.values():
                for i in range(PAGES):
                    try:
                        got = p.read(region.addr + i * PAGE_SIZE, 8)
                    except OSError as err:
                        # Faulting the page in needs a charge its memcg cannot give.
                        assert err.errno == errno.ENOMEM and self.m.memcg.enabled
                        continue
                    assert got == region.data[i], (region.kind, i, got, region.data[i])
        self.m.check()


TestMigrations = Migrations.TestCase
TestMigrations.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                   report_multiple_bugs=False,
                                   suppress_health_check=[HealthCheck.too_slow])
