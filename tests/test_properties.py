"""Property tests: random topologies and random sequences of allocator and LRU
operations, with Machine.check() after every step and a shadow model of where
each page must be."""

from __future__ import annotations

import errno

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pagemig import PAGE_SIZE, Machine
from pagemig.mm import page as pg
from pagemig.mm.gfp import GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_THISNODE
from pagemig.mm.list import ListHead, list_add_tail, list_del
from pagemig.mm.mm_inline import page_is_file_cache
from pagemig.mm.mmzone import (
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    ZoneStatItem,
)
from pagemig.mm.page import Page
from pagemig.mm.page_alloc import alloc_pages_exact_node, nr_free_pages
from pagemig.mm.swap import lru_add_drain, lru_add_drain_all, lru_cache_add_lru, put_page
from pagemig.mm.vmscan import isolate_lru_page, putback_lru_page

topologies = st.integers(min_value=1, max_value=5).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.integers(min_value=1, max_value=96), min_size=1, max_size=1).map(lambda first: first)
        .flatmap(lambda first: st.lists(st.integers(min_value=0, max_value=96), min_size=n - 1,
                                        max_size=n - 1).map(lambda rest: first + rest)),  # pages per node
        st.lists(st.integers(min_value=0, max_value=n - 1), min_size=1, max_size=4),  # cpu -> node
    )
)
LRUS = [LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE]


class AllocatorAndLru(RuleBasedStateMachine):
    """Pages the test owns are in one of: 'new' (off-LRU), 'queued' (a pagevec
    or the LRU: the kernel decides which), 'isolated' (on our private list)."""

    @initialize(topology=topologies)
    def build(self, topology: tuple[int, list[int], list[int]]) -> None:
        nodes, sizes, cpus = topology
        self.machine = Machine(nodes=nodes, node_memory=[s * PAGE_SIZE for s in sizes], cpus=cpus)
        self.total = sum(sizes) - 1  # the zero page
        self.owned: dict[Page, str] = {}
        self.unowned_queued: set[Page] = set()
        self.pagelist = ListHead()

    def pages_in(self, state: str) -> list[Page]:
        return sorted((p for p, s in self.owned.items() if s == state), key=lambda p: p.pfn)

    @rule(data=st.data(), thisnode=st.booleans(), kernel=st.booleans())
    def allocate(self, data: st.DataObject, thisnode: bool, kernel: bool) -> None:
        m = self.machine
        nid = data.draw(st.integers(0, m.nr_nodes - 1))
        gfp = (GFP_KERNEL if kernel else GFP_HIGHUSER_MOVABLE) | (GFP_THISNODE if thisnode else 0)
        free_before = nr_free_pages(m)
        node_free = sum(z.vm_stat[ZoneStatItem.NR_FREE_PAGES] for z in m.nodes[nid].node_zones)
        page = alloc_pages_exact_node(m, nid, gfp)
        if page is None:
            assert (node_free == 0) if thisnode else (free_before == 0)
            return
        if thisnode:
            assert page.zone.node_id == nid
        assert page._count == 1 and page.flags == 0
        m.pin(page)
        self.owned[page] = "new"
        if data.draw(st.booleans()):
            pg.SetPageSwapBacked(page)

    @precondition(lambda self: any(s != "isolated" for s in self.owned.values()))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        candidates = self.pages_in("new") + self.pages_in("queued")
        page = data.draw(st.sampled_from(candidates))
        state = self.owned.pop(page)
        self.machine.unpin(page)
        put_page(page)
        if state == "queued" and not pg.PageBuddy(page):
            self.unowned_queued.add(page)  # the pagevec still holds it

    @precondition(lambda self: any(s == "new" for s in self.owned.values()))
    @rule(data=st.data())
    def lru_add(self, data: st.DataObject) -> None:
        page = data.draw(st.sampled_from(self.pages_in("new")))
        lru = data.draw(st.sampled_from(LRUS))
        if bool(lru < LRU_INACTIVE_FILE) != pg.PageSwapBacked(page):
            lru ^= LRU_INACTIVE_FILE  # keep anon on anon lists and file on file lists
        self.machine.current_cpu = data.draw(st.integers(0, self.machine.nr_cpus - 1))
        lru_cache_add_lru(page, lru)
        self.owned[page] = "queued"

    @rule(data=st.data())
    def drain(self, data: st.DataObject) -> None:
        self.machine.current_cpu = data.draw(st.integers(0, self.machine.nr_cpus - 1))
        lru_add_drain(self.machine)

    @rule()
    def drain_all(self) -> None:
        lru_add_drain_all(self.machine)
        for page in self.owned:
            if self.owned[page] == "queued":
                assert pg.PageLRU(page)
        self.unowned_queued = {p for p in self.unowned_queued if not pg.PageBuddy(p)}
        assert not self.unowned_queued, "once drained, pages nobody owns are freed"

    @precondition(lambda self: any(s == "queued" for s in self.owned.values()))
    @rule(data=st.data())
    def isolate(self, data: st.DataObject) -> None:
        page = data.draw(st.sampled_from(self.pages_in("queued")))
        was_lru = pg.PageLRU(page)
        rc = isolate_lru_page(page)
        if not was_lru:
            assert rc == -errno.EBUSY
            return
        assert rc == 0
        list_add_tail(page, self.pagelist)
        page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON + page_is_file_cache(page)] += 1
        self.owned[page] = "isolated"

    @precondition(lambda self: any(s == "isolated" for s in self.owned.values()))
    @rule(data=st.data(), mlock=st.booleans())
    def putback(self, data: st.DataObject, mlock: bool) -> None:
        page = data.draw(st.sampled_from(self.pages_in("isolated")))
        list_del(page)
        page.zone.vm_stat[ZoneStatItem.NR_ISOLATED_ANON + page_is_file_cache(page)] -= 1
        if mlock and not pg.PageMlocked(page):
            pg.SetPageMlocked(page)
            page.zone.vm_stat[ZoneStatItem.NR_MLOCK] += 1
        putback_lru_page(page)
        self.owned[page] = "queued"
        if pg.PageMlocked(page):
            assert pg.PageUnevictable(page) and pg.PageLRU(page)

    @invariant()
    def machine_is_consistent(self) -> None:
        if not hasattr(self, "machine"):
            return
        self.machine.check()
        self.unowned_queued = {p for p in self.unowned_queued
                               if not pg.PageBuddy(p) and p not in self.owned}
        in_use = len(self.owned) + len(self.unowned_queued)
        assert nr_free_pages(self.machine) == self.total - in_use


TestAllocatorAndLru = AllocatorAndLru.TestCase
TestAllocatorAndLru.settings = settings(
    max_examples=200, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
