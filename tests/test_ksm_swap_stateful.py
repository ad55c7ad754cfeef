"""Stateful property test of KSM with swap, mremap, fork and offlining.

The combinations issue 21's random soak had to fence off: the rules of
test_vm_stateful.VirtualMemory (spawn, fork, exit, mmap of every kind,
munmap, mprotect, mlock, mremap, reads and writes against a byte-exact shadow
of every process) plus madvise(MADV_MERGEABLE), whole pages of one byte (the
twins KSM merges), KSM scans, reclaim to swap, writeback completion (so a
second reclaim frees swapped pages and later accesses swap them in again)
and offlining a node's movable memory, under both kernel profiles.
``Machine.check()`` runs after every step and the teardown reads back every
byte of every live process.

Offlining a range that holds a mapped KSM page oopses 2.6.35 (the real
oops, docs/kernel-bugs.md, tested in test_ksm_defects); the 2.6.35 run skips
that one call, since nothing can run after an oops.
"""

from __future__ import annotations

import errno

from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from pagemig.mm.mmzone import Zone
from pagemig.mm.page import PageKsm, page_mapped
from tests.test_vm_stateful import PS, WINDOW, VirtualMemory


class KsmSwapMemory(VirtualMemory):
    movable_memory = "8MiB"

    @initialize(data=st.data())
    def boot(self, data: st.DataObject) -> None:
        """The base machine, with its first anonymous mapping mergeable and
        holding twins, so that KSM has work from the first scan."""
        super().boot(data)
        self.offlined: set[int] = set()
        ps = self.procs[0]
        ps.proc.madvise_mergeable(WINDOW * PS, 4 * PS)
        for v in (WINDOW, WINDOW + 1):
            ps.proc.write(v * PS, b"\x6b" * PS)
            ps.pages[v].store(0, b"\x6b" * PS)

    @precondition(lambda self: self.procs)
    @rule(data=st.data())
    def mergeable(self, data: st.DataObject) -> None:
        ps = self.pick_proc(data)
        if not ps.proc.mm.mmap:
            return
        vma = data.draw(st.sampled_from(ps.proc.mm.mmap), label="vma")
        ps.proc.madvise_mergeable(vma.vm_start, vma.vm_end - vma.vm_start)

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), byte=st.sampled_from([0, 0x6B]))
    def fill(self, data: st.DataObject, byte: int) -> None:
        """Whole pages of one byte: twins for KSM."""
        ps = self.pick_proc(data)
        vpn = self.pick_vpn(data, ps)
        for v in range(vpn, vpn + self.pick_npages(data, ps, vpn, 3)):
            pg = ps.pages.get(v)
            if pg is None or pg.fault(True) is not None:
                break
            ps.proc.write(v * PS, bytes([byte]) * PS)
            pg.store(0, bytes([byte]) * PS)

    @rule()
    def ksm_merge(self) -> None:
        event(f"ksm_merge: {'merged' if self.m.ksm_merge() else 'nothing'}")

    # KSM is what this test is about: merge and make twins more often.
    @rule()
    def ksm_merge_more(self) -> None:
        self.ksm_merge()

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), byte=st.sampled_from([0, 0x6B]))
    def fill_more(self, data: st.DataObject, byte: int) -> None:
        self.fill(data, byte)

    @rule(node=st.integers(0, 1), n=st.integers(1, 64))
    def reclaim(self, node: int, n: int) -> None:
        self.m.deactivate_all(node)
        event(f"reclaim: {'some' if self.m.reclaim(node, n) else 'none'}")
        self.eof_tails_written()

    @rule()
    def complete_writeback(self) -> None:
        self.m.complete_writeback()

    # Reclaim, writeback and swap-in are what this test is about: run them more.
    @rule(node=st.integers(0, 1), n=st.integers(1, 64))
    def reclaim_more(self, node: int, n: int) -> None:
        self.complete_writeback()
        self.reclaim(node, n)

    @precondition(lambda self: len(self.offlined) < 2)
    @rule(node=st.integers(0, 1))
    def offline(self, node: int) -> None:
        if node in self.offlined:
            return
        zone: Zone = self.m.nodes[node].node_zones[-1]
        start, end = zone.zone_start_pfn, zone.zone_start_pfn + zone.spanned_pages
        if self.profile == "2.6.35" and any(
                PageKsm(page) and page_mapped(page)
                for pfn in range(start, end)
                if (page := self.m.pfn_to_page(pfn)) is not None and page._count):
            event("offline: would oops (2.6.35)")
            return
        try:
            self.m.offline_pages(start, end - start)
        except OSError as err:
            assert err.errno == errno.EBUSY, err
            event("offline: EBUSY")
            return
        finally:
            self.eof_tails_written()  # dirty file pages migrate by writeout
        event("offline: done")
        self.offlined.add(node)
        self.free_at_boot -= end - start  # its frames are gone, not free

    def settle(self) -> None:
        """Swap-cache pages nobody maps stay cached until reclaim takes them,
        as in the kernel: finish their writeback and reclaim them."""
        for _ in range(2):
            self.m.complete_writeback()
            for node in range(self.m.nr_nodes):
                self.m.deactivate_all(node)
                self.m.reclaim(node, 1 << 20)


TestKsmSwap = KsmSwapMemory.TestCase
TestKsmSwap.settings = settings(
    max_examples=40, stateful_step_count=50, deadline=None, derandomize=True, database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class KsmSwapMemory61(KsmSwapMemory):
    profile = "6.1"


TestKsmSwap61 = KsmSwapMemory61.TestCase
TestKsmSwap61.settings = TestKsmSwap.settings
