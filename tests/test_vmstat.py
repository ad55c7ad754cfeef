"""vmstat counters, /proc/vmstat and /proc/zoneinfo text, and their parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pagemig import Machine
from pagemig.mm import page as pg
from pagemig.mm.mmzone import ZoneStatItem
from pagemig.mm.swap import lru_add_drain, lru_cache_add_anon
from pagemig.mm.vmstat import (
    VM_EVENT_NAMES,
    ZONE_STAT_NAMES,
    global_page_state,
    node_page_state,
    vmstat_text,
    zoneinfo_text,
)
from pagemig.procfs import ProcParseError, parse_vmstat, parse_zoneinfo, vmstat_dict, zoneinfo_list

from .conftest import alloc

DATA = Path(__file__).parent / "data"


def busy_machine() -> Machine:
    m = Machine(nodes=2, node_memory="64MiB", cpus=4)
    for nid in (0, 1, 1):
        page = alloc(m, nid)
        pg.SetPageSwapBacked(page)
        lru_cache_add_anon(page)
    lru_add_drain(m)
    return m


def test_vmstat_text_has_every_counter_in_kernel_order() -> None:
    m = busy_machine()
    counters = parse_vmstat(vmstat_text(m))
    assert list(counters) == [*ZONE_STAT_NAMES, *VM_EVENT_NAMES]
    assert counters["nr_inactive_anon"] == 3
    assert counters["nr_free_pages"] == 2 * 16384 - 3 - 1  # and the zero page
    assert counters["pgalloc_dma"] + counters["pgalloc_dma32"] == 3 + 1
    assert counters["pgmigrate_success"] == 0
    assert counters == vmstat_dict(m)


def test_node_and_global_sums(m2: Machine) -> None:
    alloc(m2, 1)
    assert node_page_state(m2.nodes[1], ZoneStatItem.NR_FREE_PAGES) == 16383
    assert global_page_state(m2, ZoneStatItem.NR_FREE_PAGES) == 32766  # and the zero page


def test_zoneinfo_layout_of_2_6_35() -> None:
    m = busy_machine()
    text = zoneinfo_text(m)
    lines = text.splitlines()
    assert lines[0] == "Node 0, zone      DMA"
    assert lines[1] == "  pages free     4096"
    assert lines[8] == "    nr_free_pages 4096"
    assert "    nr_mlock     0" in lines
    assert "        protection: (0, 0, 0, 0)" in lines
    assert sum(1 for line in lines if line.startswith("Node ")) == 3, "only populated zones"
    assert lines[-1] == "  inactive_ratio:    1"


def test_zoneinfo_round_trips_into_the_zone_counters() -> None:
    m = busy_machine()
    parsed = zoneinfo_list(m)
    zones = [z for z in m.zones() if z.present_pages]
    assert [(p.node, p.zone) for p in parsed] == [(z.node_id, z.name) for z in zones]
    for info, zone in zip(parsed, zones, strict=True):
        for i, name in enumerate(ZONE_STAT_NAMES):
            assert info.stats[name] == zone.vm_stat[i]
        assert info.stats["present"] == zone.present_pages
        assert info.stats["start_pfn"] == zone.zone_start_pfn
        assert [ps["cpu"] for ps in info.pagesets] == [0, 1, 2, 3]
        assert info.to_json()["node"] == zone.node_id


def test_real_kernel_samples_parse() -> None:
    counters = parse_vmstat((DATA / "host-vmstat.txt").read_text())
    assert counters["nr_free_pages"] > 0 and "pgmigrate_success" in counters
    zones = parse_zoneinfo((DATA / "host-zoneinfo.txt").read_text())
    assert zones[0].node == 0 and zones[0].zone == "DMA"
    assert zones[0].node_stats["nr_inactive_anon"] >= 0, "modern per-node stats section"
    assert all("present" in z.stats and "managed" in z.stats for z in zones)
    assert all(len(z.protection) == len(zones[0].protection) for z in zones)
    populated = [z for z in zones if z.stats["present"]]
    assert all(z.pagesets and "vm stats threshold" in z.pagesets[0] for z in populated)


@pytest.mark.skipif(not Path("/proc/zoneinfo").exists(), reason="needs a Linux /proc")
def test_live_proc_parses() -> None:
    assert parse_vmstat(Path("/proc/vmstat").read_text())
    assert parse_zoneinfo(Path("/proc/zoneinfo").read_text())


@pytest.mark.parametrize("text", ["nr_free_pages", "nr_free_pages x", "a 1 2"])
def test_bad_vmstat_lines_name_the_line(text: str) -> None:
    with pytest.raises(ProcParseError, match="vmstat line 1"):
        parse_vmstat(text)


def test_bad_zoneinfo_is_reported() -> None:
    with pytest.raises(ProcParseError, match="before any"):
        parse_zoneinfo("  pages free 3\n")
    with pytest.raises(ProcParseError, match="line 2"):
        parse_zoneinfo("Node 0, zone DMA\n  ???\n")
