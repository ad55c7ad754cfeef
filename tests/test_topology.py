"""Machine construction: nodes, zones, CPUs, distances, and bad topologies."""

from __future__ import annotations

import tracemalloc

import pytest

from pagemig import PAGE_SIZE, Machine
from pagemig.mm.mmzone import MAX_NUMNODES, ZONE_DMA, ZONE_DMA32, ZONE_MOVABLE, ZONE_NORMAL, NodeState


def test_default_two_node_machine_layout() -> None:
    m = Machine(nodes=2, node_memory="64MiB")
    assert [n.node_start_pfn for n in m.nodes] == [0, 16384]
    assert [n.node_present_pages for n in m.nodes] == [16384, 16384]
    dma, dma32, normal, movable = m.nodes[0].node_zones
    # x86-64 zones by physical address: DMA below 16 MiB, DMA32 below 4 GiB.
    assert (dma.zone_start_pfn, dma.present_pages) == (0, 4096)
    assert (dma32.zone_start_pfn, dma32.present_pages) == (4096, 12288)
    assert normal.present_pages == 0 and movable.present_pages == 0
    assert [z.zone_idx for z in m.nodes[1].populated_zones()] == [ZONE_DMA32]
    assert m.cpu_to_node == [0, 1]
    assert m.distances == [[10, 20], [20, 10]]
    m.check()


def test_zones_above_4gib_are_normal_and_movable_is_at_the_top() -> None:
    m = Machine(nodes=2, node_memory="4GiB", movable_memory=["0", "1GiB"])
    node1 = m.nodes[1]
    assert node1.node_start_pfn == (4 << 30) // PAGE_SIZE
    zones = {z.zone_idx: z for z in node1.populated_zones()}
    assert set(zones) == {ZONE_NORMAL, ZONE_MOVABLE}
    assert zones[ZONE_MOVABLE].zone_start_pfn == node1.node_end_pfn - (1 << 30) // PAGE_SIZE
    assert zones[ZONE_NORMAL].present_pages == (3 << 30) // PAGE_SIZE


def test_nodes_may_differ_and_be_memoryless_or_cpuless() -> None:
    m = Machine(nodes=3, node_memory=["32MiB", 0, "16MiB"], cpus=[0, 1, 1])
    assert [n.node_present_pages for n in m.nodes] == [8192, 0, 4096]
    assert not m.node_state(1, NodeState.N_HIGH_MEMORY)
    assert m.node_state(1, NodeState.N_CPU)
    assert not m.node_state(2, NodeState.N_CPU)
    assert m.nodes_with_memory() == [0, 2]
    assert m.nodes[2].node_start_pfn == 8192
    assert m.pfn_to_page(8192).zone.node_id == 2
    assert m.nodes[1].thisnode_zonelist == []
    m.check()


def test_cpus_as_a_count_spread_round_robin() -> None:
    m = Machine(nodes=2, cpus=5)
    assert m.cpu_to_node == [0, 1, 0, 1, 0]
    assert m.nodes[0].cpus == [0, 2, 4]


def test_sixty_four_nodes() -> None:
    m = Machine(nodes=MAX_NUMNODES, node_memory="16MiB")
    assert m.nr_nodes == 64
    assert m.nodes[63].node_start_pfn == 63 * 4096
    m.check()


def test_huge_machine_costs_little_until_used() -> None:
    tracemalloc.start()
    try:
        m = Machine(nodes=8, node_memory="128GiB")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert m.max_pfn == 8 * (128 << 30) // PAGE_SIZE
    assert peak < 2 << 20, f"1 TiB machine took {peak} bytes before any page was touched"
    assert len(m.mem_section) == 1, "only the zero page's section exists"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nodes": 0}, "between 1 and 64"),
        ({"nodes": 65}, "between 1 and 64"),
        ({"node_memory": -4096}, "must not be negative"),
        ({"node_memory": "12 apples"}, "cannot read"),
        ({"node_memory": 4097}, "not a multiple of the page size"),
        ({"nodes": 2, "node_memory": ["1MiB"]}, "lists 1 sizes for 2 nodes"),
        ({"nodes": 2, "distances": [[10, 20]]}, "2x2 table"),
        ({"nodes": 2, "distances": [[10, 20], [20]]}, "2x2 table"),
        ({"nodes": 2, "distances": [[11, 20], [20, 10]]}, r"must be 10 \(local\)"),
        ({"nodes": 2, "distances": [[10, 10], [20, 10]]}, "within 11..255"),
        ({"nodes": 2, "cpus": [0, 2]}, "cpu 1 is assigned to node 2, which does not exist"),
        ({"nodes": 2, "cpus": 0}, "at least 1"),
        ({"nodes": 2, "cpus": []}, "at least one CPU"),
        ({"node_memory": "1MiB", "movable_memory": "2MiB"}, "exceeds its memory"),
        ({"min_free_kbytes": -1}, "must not be negative"),
        ({"nodes": 2, "node_memory": 0}, "no memory at all"),
    ],
)
def test_impossible_topologies_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Machine(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [{"nodes": 2.0}, {"nodes": True}, {"node_memory": 1.5},
                                    {"nodes": 2, "cpus": [0, "1"]}])
def test_wrong_types_raise_type_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        Machine(**kwargs)  # type: ignore[arg-type]


def test_pfn_to_page_is_stable_and_bounded() -> None:
    m = Machine(nodes=2, node_memory="8MiB")
    page = m.pfn_to_page(2049)
    assert m.pfn_to_page(2049) is page
    assert page.zone.node_id == 1 and page.zone.zone_idx == ZONE_DMA
    with pytest.raises(ValueError, match="beyond the machine's memory"):
        m.pfn_to_page(m.max_pfn)
    m.check()


def test_asymmetric_distances_order_the_fallback_lists() -> None:
    m = Machine(nodes=3, distances=[[10, 30, 20], [30, 10, 40], [20, 40, 10]])
    order = [z.node_id for z in m.nodes[0].node_zonelists]
    assert order == sorted(order, key=lambda nid: (m.node_distance(0, nid), nid))
    assert order[0] == 0 and order[-1] == 1
    assert order.index(2) < order.index(1)
