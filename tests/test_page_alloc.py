"""The frame allocator: __GFP_THISNODE, fallback by distance, NUMA stats, freeing."""

from __future__ import annotations

import pytest

from pagemig import PAGE_SIZE, KernelBug, Machine
from pagemig.mm import page as pg
from pagemig.mm.gfp import _GFP_DMA, _GFP_ZERO, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_THISNODE, gfp_zone
from pagemig.mm.highmem import kmap, page_bytes
from pagemig.mm.mmzone import ZONE_DMA, ZONE_MOVABLE, ZONE_NORMAL, ZoneStatItem
from pagemig.mm.page_alloc import _free_pages, alloc_pages_exact_node, alloc_pages_node, nid_free_pages
from pagemig.mm.vmstat import PGFREE, VM_EVENT_NAMES

from .conftest import alloc, release

THISNODE = GFP_HIGHUSER_MOVABLE | GFP_THISNODE


def test_gfp_zone_on_x86_64() -> None:
    assert gfp_zone(GFP_HIGHUSER_MOVABLE) == ZONE_MOVABLE
    assert gfp_zone(GFP_KERNEL) == ZONE_NORMAL
    assert gfp_zone(GFP_KERNEL | _GFP_DMA) == ZONE_DMA


def test_thisnode_allocation_fails_when_the_node_is_full_and_never_falls_back() -> None:
    m = Machine(nodes=2, node_memory="1MiB")
    pages = [alloc(m, 1) for _ in range(256)]
    assert {p.zone.node_id for p in pages} == {1}
    assert nid_free_pages(m.nodes[1]) == 0
    assert alloc_pages_exact_node(m, 1, THISNODE) is None
    # Node 0 gave one frame to the zero page at boot; GFP_THISNODE took none.
    assert nid_free_pages(m.nodes[0]) == 255, "GFP_THISNODE must not touch node 0"
    m.check()


def test_fallback_allocation_goes_to_the_nearest_node() -> None:
    m = Machine(nodes=3, node_memory="1MiB", distances=[[10, 40, 20], [40, 10, 30], [20, 30, 10]])
    for _ in range(255):  # node 0 minus the zero page
        alloc(m, 0, GFP_HIGHUSER_MOVABLE)
    spill = alloc(m, 0, GFP_HIGHUSER_MOVABLE)
    assert spill.zone.node_id == 2, "node 2 (distance 20) comes before node 1 (distance 40)"
    zone2 = spill.zone
    assert zone2.vm_stat[ZoneStatItem.NUMA_MISS] == 1
    assert sum(z.vm_stat[ZoneStatItem.NUMA_FOREIGN] for z in m.nodes[0].node_zones) == 1
    m.check()


def test_numa_hit_local_and_other_follow_the_current_cpu(m2: Machine) -> None:
    m2.current_cpu = 1  # cpu 1 sits on node 1
    page = alloc(m2, 1)
    assert page.zone.vm_stat[ZoneStatItem.NUMA_HIT] == 1
    assert page.zone.vm_stat[ZoneStatItem.NUMA_LOCAL] == 1
    m2.current_cpu = 0
    page = alloc(m2, 1)
    assert page.zone.vm_stat[ZoneStatItem.NUMA_OTHER] == 1
    assert alloc_pages_node(m2, -1, THISNODE).zone.node_id == 0  # type: ignore[union-attr]


def test_memoryless_node_thisnode_allocation_fails() -> None:
    m = Machine(nodes=2, node_memory=["1MiB", 0])
    assert alloc_pages_exact_node(m, 1, THISNODE) is None
    page = alloc(m, 1, GFP_HIGHUSER_MOVABLE)
    assert page.zone.node_id == 0


def test_allocation_counts_pgalloc_per_zone_and_free_counts_pgfree(m2: Machine) -> None:
    page = alloc(m2, 0, GFP_KERNEL | _GFP_DMA)
    assert page.zone.zone_idx == ZONE_DMA
    assert m2.vm_events[VM_EVENT_NAMES.index("pgalloc_dma")] == 1
    release(m2, page)
    assert m2.vm_events[PGFREE] == 1


def test_freed_frames_are_reused_lifo(m2: Machine) -> None:
    a = alloc(m2, 1)
    b = alloc(m2, 1)
    release(m2, a)
    assert alloc(m2, 1) is a
    assert b.pfn == a.pfn + 1
    m2.check()


def test_new_pages_come_clean(m2: Machine) -> None:
    page = alloc(m2, 1)
    assert (page._count, page._mapcount, page.mapping, page.flags) == (1, -1, None, 0)


def test_gfp_zero_clears_stale_bytes_and_plain_allocation_keeps_them(m2: Machine) -> None:
    page = alloc(m2, 1)
    kmap(page)[:5] = list(b"stale")
    release(m2, page)
    again = alloc(m2, 1)
    assert again is page and bytes(page_bytes(again)[:5]) == b"stale"
    release(m2, again)
    zeroed = alloc(m2, 1, THISNODE | _GFP_ZERO)
    assert zeroed is page and not page_bytes(zeroed).any()


def test_freeing_a_page_in_a_bad_state_is_a_kernel_bug(m2: Machine) -> None:
    page = alloc(m2, 0)
    pg.SetPageLRU(page)
    m2.unpin(page)
    with pytest.raises(KernelBug, match="bad page state at free"):
        _free_pages(page)


def test_freeing_an_mlocked_page_fixes_nr_mlock(m2: Machine) -> None:
    page = alloc(m2, 0)
    pg.SetPageMlocked(page)
    page.zone.vm_stat[ZoneStatItem.NR_MLOCK] += 1
    m2.check()
    release(m2, page)
    assert page.zone.vm_stat[ZoneStatItem.NR_MLOCK] == 0
    assert m2.vm_events[VM_EVENT_NAMES.index("unevictable_pgs_mlockfreed")] == 1
    m2.check()


def test_watermarks_keep_a_reserve() -> None:
    m = Machine(nodes=1, node_memory="1MiB", min_free_kbytes=64)
    zone = m.nodes[0].node_zones[ZONE_DMA]
    assert zone.watermark == [16, 20, 24]
    got = 0
    while alloc_pages_exact_node(m, 0, THISNODE) is not None:
        got += 1
    # zone_watermark_ok refuses once free pages would drop to the min mark
    # (the zero page took one frame at boot).
    assert got == 256 - 1 - 16
    assert zone.vm_stat[ZoneStatItem.NR_FREE_PAGES] == 16


def test_injected_allocation_failure_by_node_and_times(m2: Machine) -> None:
    with m2.inject("alloc_page", node=1, times=2) as rule:
        assert alloc_pages_exact_node(m2, 1, THISNODE) is None
        assert alloc_pages_exact_node(m2, 0, THISNODE) is not None, "node filter"
        assert alloc_pages_exact_node(m2, 1, THISNODE) is None
        assert alloc_pages_exact_node(m2, 1, THISNODE) is not None, "times exhausted"
    assert rule.hits == 2
    assert m2.faults.rules == []


def test_injection_space_and_probability(m2: Machine) -> None:
    with m2.inject("alloc_page", space=2):
        results = [alloc_pages_exact_node(m2, 0, THISNODE) is None for _ in range(4)]
    assert results == [False, False, True, True]
    with m2.inject("alloc_page", probability=0.0):
        assert alloc_pages_exact_node(m2, 0, THISNODE) is not None
    with pytest.raises(ValueError, match="unknown fault point"):
        m2.faults.add("no_such_point")
    with pytest.raises(ValueError, match="probability"):
        m2.faults.add("alloc_page", probability=2)


def test_trace_records_allocations_only_when_enabled(m2: Machine) -> None:
    alloc(m2, 0)
    assert len(m2.trace) == 0
    m2.trace.enable("mm_page_*")
    page = alloc(m2, 1)
    release(m2, page)
    names = [e.name for e in m2.trace.events()]
    assert names == ["mm_page_alloc", "mm_page_free"]
    (event,) = m2.trace.events("mm_page_alloc", where=lambda e: e.fields["nid"] == 1)
    assert event.fields["pfn"] == page.pfn
    assert "mm_page_alloc" in str(event)


def _node_order(machine: Machine, nid: int) -> list[int]:
    order: list[int] = []
    for zone in machine.nodes[nid].node_zonelists:
        if not order or order[-1] != zone.node_id:
            order.append(zone.node_id)
    return order


def test_zonelists_follow_find_next_best_node() -> None:
    """2.6.35 build_zonelists: local node first; at equal distance, headless
    nodes before nodes with CPUs, nodes above before nodes below, and the
    first node of a distance group is loaded so the next node's list
    starts elsewhere (round robin)."""
    m = Machine(nodes=4, node_memory=["64MiB", "64MiB", 0, "64MiB"], cpus=[0, 1, 2])
    assert _node_order(m, 2) == [3, 0, 1]   # a memoryless CPU node falls back to memory-only
    assert _node_order(m, 0) == [0, 3, 1]
    three = Machine(nodes=3)
    assert _node_order(three, 1) == [1, 2, 0]   # "prefer the next node"
    assert _node_order(three, 0) == [0, 1, 2]
    assert _node_order(three, 2) == [2, 0, 1]
    far = Machine(nodes=3, distances=[[10, 20, 30], [20, 10, 20], [30, 20, 10]])
    assert _node_order(far, 0) == [0, 1, 2]


def test_first_touch_on_a_memoryless_cpu_node_uses_the_memory_only_node() -> None:
    m = Machine(nodes=4, node_memory=["64MiB", "64MiB", 0, "64MiB"], cpus=[0, 1, 2])
    p = m.spawn(cpu=2)
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"x")
    assert p.node_of(a) == 3
