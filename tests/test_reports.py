"""Reports in the formats people already read: numa_maps, numastat, vmstat, zoneinfo.

The model machine below has anonymous, COW-shared, file and shmem pages,
VMA and task policies, and pages moved with move_pages; its reports are
golden files (tests/golden/, see tests/golden.py). Real numastat output
(numactl 2.0.16 on Debian 12, kernel 6.18) is in tests/data/host-numastat*.txt
with the files it read: node0's sysfs numastat and meminfo
(host-numastat-node0-*.txt) and the numa_maps of a stopped process
(host-numa_maps-*.txt), captured as::

    python3 holder.py & kill -STOP $P $CHILD     # anon, shmem and file maps, forked
    cat /proc/$P/numa_maps > host-numa_maps-python3.txt
    numastat -p $P > host-numastat-p.txt         # also -c, -z, -p $P -p $CHILD
    NUMASTAT_WIDTH=40 numastat -p $SLEEP > host-numastat-p-folded.txt
    cat /sys/devices/system/node/node0/{meminfo,numastat}; numastat -c -m -n
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pagemig import PAGE_SIZE, Machine, Process
from pagemig.cli import main
from pagemig.cli.app import app
from pagemig.mm.memory import FollowPageError, follow_page
from pagemig.mm.mempolicy import (
    MPOL_BIND,
    MPOL_F_RELATIVE_NODES,
    MPOL_F_STATIC_NODES,
    MPOL_INTERLEAVE,
    MPOL_MF_MOVE,
    MPOL_PREFERRED,
    Mempolicy,
)
from pagemig.mm.mmzone import NUMA_STATS, ZoneStatItem
from pagemig.mm.page import page_to_nid
from pagemig.mm.vmstat import node_page_state, vmstat_text, zoneinfo_text
from pagemig.procfs import parse_vmstat, parse_zoneinfo
from pagemig.real.procfs import NumaMapsEntry, format_numa_maps, parse_numa_maps
from pagemig.reports import (
    NodeFiles,
    NumastatOptions,
    NumastatReport,
    NumastatSource,
    ProcessFiles,
    dumps,
    load_report,
    mpol_to_str,
    numa_maps,
    numa_maps_json,
    numa_maps_text,
    numastat_report,
    parse_numastat,
    run_numastat,
    vmstat_json,
    zoneinfo_json,
)
from pagemig.reports.numastat_table import NO_FOLDING

from . import golden
from .golden import assert_golden

DATA = Path(__file__).parent / "data"
P = PAGE_SIZE
MB = 1024 * 1024


def data(name: str) -> str:
    return (DATA / name).read_text()


@dataclass
class Scene:
    m: Machine
    worker: Process
    child: Process
    idle: Process
    anon: int
    big: int
    fm: int
    shm: int
    zero: int
    bound: int
    inter: int
    pref: int

    def names(self) -> dict[str, Process]:
        return {"worker": self.worker, "child": self.child, "idle": self.idle}


def build_scene() -> Scene:
    """Two nodes; a worker with anon pages shared COW with its child, then (after
    the fork, so that only the worker maps them) an ext2 file and a shmem
    mapping, regions with bind/interleave/prefer policies and a big private
    region, part of all that moved to node 1; the child runs under an
    interleave task policy; an idle process has one page on node 0."""
    m = Machine(nodes=2, node_memory="64MiB", cpus=2, swap="1MiB")
    w = m.spawn(uid=1000, cpu=0, comm="worker")
    anon = w.mmap(4 * P)
    for i in range(4):
        w.write(anon + i * P, f"anon {i}".encode())
    zero = w.mmap(P)
    w.touch(zero, write=False)
    child = w.fork()
    w.write(anon + 3 * P, b"mine")  # breaks COW of page 3 only
    f = m.create_file("/srv/data.bin", size=4 * P, fs="ext2")
    fm = w.mmap(4 * P, file=f, shared=True)
    for i in range(3):
        w.read(fm + i * P, 1)
    w.write(fm, b"dirty")
    shm = w.mmap(2 * P, shared=True)
    w.write(shm, b"s0")
    w.write(shm + P, b"s1")
    bound = _policy_region(w, 2, MPOL_BIND, [1])
    inter = _policy_region(w, 4, MPOL_INTERLEAVE, [0, 1])
    pref = _policy_region(w, 1, MPOL_PREFERRED, [1])
    big = w.mmap(256 * P)
    for i in range(256):
        w.write(big + i * P, b"big")
    moved = [anon, anon + 3 * P, fm + P, shm + P] + [big + i * P for i in range(0, 256, 2)]
    status = w.move_pages(0, moved, [1] * len(moved), MPOL_MF_MOVE).status
    assert status == [-13] + [1] * (len(moved) - 1)  # page 0 of anon is shared: EACCES
    child.set_mempolicy(MPOL_INTERLEAVE, [0, 1])
    extra = child.mmap(6 * P)
    for i in range(6):
        child.write(extra + i * P, b"c")
    idle = m.spawn(uid=1000, cpu=0, comm="idle")
    idle.write(idle.mmap(P), b"i")
    m.check()
    return Scene(m, w, child, idle, anon, big, fm, shm, zero, bound, inter, pref)


def _policy_region(proc: Process, npages: int, mode: int, nodes: list[int]) -> int:
    addr = proc.mmap(npages * P)
    proc.mbind(addr, npages * P, mode, nodes)
    for i in range(npages):
        proc.write(addr + i * P, b"p")
    return addr


@pytest.fixture(scope="module")
def scene() -> Scene:
    return build_scene()


def entry_at(proc: Process, addr: int) -> NumaMapsEntry:
    return next(e for e in numa_maps(proc) if e.address == addr)


def pages_by_node(proc: Process) -> dict[int, int]:
    """Pages the process maps per node, found with follow_page (not the report's walk)."""
    counts: dict[int, int] = {}
    for vma in proc.mm.mmap:
        for addr in range(vma.vm_start, vma.vm_end, P):
            page = follow_page(vma, addr, 0)
            if page is None or isinstance(page, FollowPageError) or page is proc.machine.zero_page:
                continue
            counts[page_to_nid(page)] = counts.get(page_to_nid(page), 0) + 1
    return counts


# --- numa_maps ----------------------------------------------------------------------------------


GOLDEN_REPORTS: dict[str, Callable[[Scene], str]] = {
    "numa_maps-worker.txt": lambda s: numa_maps_text(s.worker),
    "numa_maps-worker.json": lambda s: dumps(numa_maps_json(numa_maps(s.worker), s.worker.pid)),
    "numa_maps-child.txt": lambda s: numa_maps_text(s.child),
    "vmstat.txt": lambda s: vmstat_text(s.m),
    "vmstat.json": lambda s: dumps(vmstat_json(vmstat_text(s.m))),
    "zoneinfo.txt": lambda s: zoneinfo_text(s.m),
    "zoneinfo.json": lambda s: dumps(zoneinfo_json(zoneinfo_text(s.m))),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_REPORTS))
def test_report_golden(scene: Scene, name: str) -> None:
    assert_golden(name, GOLDEN_REPORTS[name](scene))


def test_numa_maps_round_trips_through_the_real_parser(scene: Scene) -> None:
    for proc in (scene.worker, scene.child, scene.idle):
        text = numa_maps_text(proc)
        entries = parse_numa_maps(text)
        assert entries == numa_maps(proc)
        assert format_numa_maps(entries) == text
        loaded = load_report(json.loads(dumps(numa_maps_json(entries, proc.pid))))
        assert loaded == entries


def test_cow_shared_pages_show_mapmax_2_and_their_nodes(scene: Scene) -> None:
    mine, childs = entry_at(scene.worker, scene.anon), entry_at(scene.child, scene.anon)
    # Pages 0-2 are shared with the child (page 0 could not move: EACCES); page 3
    # was copied on write and moved to node 1.
    assert (mine.anon, mine.mapmax, mine.nodes) == (4, 2, {0: 3, 1: 1})
    assert (childs.anon, childs.mapmax, childs.nodes) == (4, 2, {0: 4})
    expected: dict[int, int] = {}
    for i in range(4):
        node = scene.worker.node_of(scene.anon + i * P)
        assert node is not None
        expected[node] = expected.get(node, 0) + 1
    assert mine.nodes == expected


def test_file_shmem_and_policy_lines(scene: Scene) -> None:
    fm = entry_at(scene.worker, scene.fm)
    assert (fm.file, fm.anon, fm.dirty, fm.mapped, fm.nodes) == ("/srv/data.bin", None, 1, 3, {0: 2, 1: 1})
    shm = entry_at(scene.worker, scene.shm)
    assert shm.file == "/dev/zero\\040(deleted)" and shm.path == "/dev/zero (deleted)"
    # mapped= is left out when it equals dirty=
    assert (shm.dirty, shm.anon, shm.mapped, shm.mapmax, shm.nodes) == (2, None, None, None, {0: 1, 1: 1})
    assert entry_at(scene.worker, scene.bound).policy == "bind:1"
    assert entry_at(scene.worker, scene.bound).nodes == {1: 2}
    assert entry_at(scene.worker, scene.inter).policy == "interleave:0-1"
    assert entry_at(scene.worker, scene.inter).nodes == {0: 2, 1: 2}
    assert entry_at(scene.worker, scene.pref).policy == "prefer:1"
    # The zero page is not counted: the line stops after the policy.
    zero = entry_at(scene.worker, scene.zero)
    assert zero.pages == 0 and zero.to_text() == f"{scene.zero:08x} default"


def test_task_policy_shows_where_the_vma_has_none(scene: Scene) -> None:
    policies = {e.address: e.policy for e in numa_maps(scene.child)}
    assert policies[scene.anon] == "interleave:0-1"
    assert set(policies.values()) == {"interleave:0-1"}
    assert {e.policy for e in numa_maps(scene.worker)} == {"default", "bind:1", "interleave:0-1",
                                                           "prefer:1"}


def test_kernelpagesize_is_the_modern_suffix(scene: Scene) -> None:
    modern = numa_maps_text(scene.worker).splitlines()
    old = numa_maps_text(scene.worker, kernelpagesize=False).splitlines()
    assert [line.replace(" kernelpagesize_kB=4", "") for line in modern] == old
    # Every VMA with pages says its page size; those without (a mapping never
    # touched, and the guard page after the argument arrays) print no counters.
    assert [line for line in modern if "kernelpagesize_kB=4" not in line] == [
        line for line in modern if line.endswith(" default")]
    assert sum(line.endswith(" default") for line in modern) == 2


def test_swapcache_and_writeback_counters() -> None:
    """A page reclaimed to swap and faulted back in sits in the swap cache, its
    swap write still in flight: numa_maps counts it under both."""
    m = Machine(nodes=2, node_memory="64MiB", swap="4MiB")
    p = m.spawn(uid=1000, cpu=0)
    a = p.mmap(2 * P)
    p.write(a, b"x")
    p.write(a + P, b"y")
    m.deactivate_all(0)
    m.reclaim(0, 2)
    assert numa_maps(p)[0].pages == 0  # both pages out: the line stops after the policy
    p.read(a, 1)
    entry = numa_maps(p)[0]
    assert (entry.anon, entry.swapcache, entry.writeback, entry.dirty, entry.nodes) == (1, 1, 1, None, {0: 1})
    m.complete_writeback()
    assert numa_maps(p)[0].writeback is None
    m.check()


@pytest.mark.parametrize(("pol", "text"), [
    (None, "default"),
    (Mempolicy(MPOL_PREFERRED, 2), "local"),  # MPOL_F_LOCAL
    (Mempolicy(MPOL_PREFERRED, 0, preferred_node=3), "prefer:3"),
    (Mempolicy(MPOL_BIND, MPOL_F_STATIC_NODES, frozenset({0, 1, 2, 5})), "bind=static:0-2,5"),
    (Mempolicy(MPOL_INTERLEAVE, MPOL_F_RELATIVE_NODES, frozenset({1, 3})), "interleave=relative:1,3"),
])
def test_mpol_to_str(pol: Mempolicy | None, text: str) -> None:
    assert mpol_to_str(pol) == text


def test_real_numa_maps_sample_round_trips() -> None:
    text = data("host-numa_maps-python3.txt")
    entries = parse_numa_maps(text)
    assert format_numa_maps(entries) == text
    heap = [e for e in entries if e.heap]
    assert len(heap) == 1 and heap[0].nodes == {0: 415} and heap[0].anon == 415
    shmem = [e for e in entries if e.path == "/dev/zero (deleted)"]
    assert [e.dirty for e in shmem] == [8, 40]


# --- numastat: the model --------------------------------------------------------------------------

MODES = {
    "numastat.txt": NumastatOptions(),
    "numastat-n.txt": NumastatOptions(numastat=True),
    "numastat-m.txt": NumastatOptions(meminfo=True),
    "numastat-c.txt": NumastatOptions(compress=True),
    "numastat-z.txt": NumastatOptions(skip_zero=True),
    "numastat-p.txt": NumastatOptions(processes=("worker",)),
    "numastat-p-multi.txt": NumastatOptions(processes=("worker", "child", "idle")),
    "numastat-m-c-z.txt": NumastatOptions(meminfo=True, compress=True, skip_zero=True),
}


def options_for(scene: Scene, options: NumastatOptions) -> NumastatOptions:
    """Scenario names to PIDs, as the CLI does (comm "worker" would match the child too)."""
    names = scene.names()
    pids = tuple(str(names[p].pid) if p in names else p for p in options.processes)
    return NumastatOptions(pids, options.meminfo, options.numastat, options.compress,
                           options.skip_zero, options.verbose)


@pytest.mark.parametrize("name", sorted(MODES))
def test_numastat_golden(scene: Scene, name: str) -> None:
    report = numastat_report(scene.m, options_for(scene, MODES[name]), scene.names())
    assert_golden(name, report.text())


def test_numastat_json_golden(scene: Scene) -> None:
    options = options_for(scene, NumastatOptions(processes=("worker",), meminfo=True, numastat=True))
    report = numastat_report(scene.m, options, scene.names())
    text = dumps(report.to_json())
    assert_golden("numastat-p-m-n.json", text)
    assert load_report(json.loads(text)) == report


@pytest.mark.parametrize("name", sorted(MODES))
def test_numastat_text_parses_back_to_the_report(scene: Scene, name: str) -> None:
    report = numastat_report(scene.m, options_for(scene, MODES[name]), scene.names())
    parsed = parse_numastat(report.text())
    assert parsed == report.rounded()
    assert parsed.text() == report.text()
    assert NumastatReport.from_json(json.loads(dumps(report.to_json()))) == report


def test_compat_numastat_is_the_node_counters_in_pages(scene: Scene) -> None:
    section = numastat_report(scene.m).section("compat")
    assert section.columns == ["node0", "node1"]
    for row, item in zip(("numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node",
                          "other_node"), NUMA_STATS, strict=True):
        assert section.rows[row] == [node_page_state(scene.m.nodes[n], item) for n in (0, 1)]
    assert section.rows["interleave_hit"][1] > 0 and section.rows["other_node"][1] > 0


def test_numastat_n_is_pages_in_mb_with_a_total(scene: Scene) -> None:
    section = numastat_report(scene.m, NumastatOptions(numastat=True)).section("numastat")
    hits = [node_page_state(scene.m.nodes[n], ZoneStatItem.NUMA_HIT) for n in (0, 1)]
    assert section.rows["Numa_Hit"] == [hits[0] * P / MB, hits[1] * P / MB, sum(hits) * P / MB]


def test_numastat_m_is_node_meminfo(scene: Scene) -> None:
    section = numastat_report(scene.m, NumastatOptions(meminfo=True)).section("meminfo")
    assert section.value("MemTotal", "Node 1") == 64.0
    free = node_page_state(scene.m.nodes[1], ZoneStatItem.NR_FREE_PAGES)
    assert section.value("MemFree", "Node 1") == free * P / MB
    assert section.value("MemUsed", "Total") == 128.0 - section.value("MemFree", "Total")
    assert "HighTotal" not in section.rows  # rows the file does not have are not shown


def test_numastat_p_sums_equal_the_pages_the_process_maps(scene: Scene) -> None:
    for proc in (scene.worker, scene.child, scene.idle):
        section = numastat_report(scene.m, NumastatOptions(processes=(str(proc.pid),))).section("process")
        assert (section.pid, section.comm) == (proc.pid, proc.task.comm)
        counts = pages_by_node(proc)
        for node in (0, 1):
            assert section.value("Total", f"Node {node}") * MB / P == counts.get(node, 0)
        assert section.rows["Huge"] == section.rows["Heap"] == section.rows["Stack"] == [0.0] * 3
        assert section.rows["Private"] == section.total


def test_numastat_p_of_several_pids_is_one_row_each(scene: Scene) -> None:
    pids = [str(p.pid) for p in (scene.idle, scene.worker)]
    section = numastat_report(scene.m, NumastatOptions(processes=(*pids, pids[0]))).section("processes")
    assert list(section.rows) == [f"{scene.worker.pid} (worker)", f"{scene.idle.pid} (idle)"]  # sorted
    assert section.total == [a + b for a, b in zip(*section.rows.values(), strict=True)]


def test_numastat_z_hides_zero_rows_and_columns(scene: Scene) -> None:
    report = numastat_report(scene.m, NumastatOptions(processes=(str(scene.idle.pid),), skip_zero=True))
    section = report.section("process")
    assert section.columns == ["Node 0", "Total"] and list(section.rows) == ["Private"]
    assert section.total == [P / MB, P / MB]
    compat = numastat_report(scene.m, NumastatOptions(skip_zero=True)).section("numastat")
    assert "Numa_Miss" not in compat.rows and "Numa_Hit" in compat.rows


def test_numastat_v_keeps_columns_shown_for_an_earlier_pid(scene: Scene) -> None:
    """numastat never clears a column's flags between the tables of -v: once a
    PID has pages on node 1, node 1 stays shown for the next PIDs under -z."""
    pids = (str(scene.worker.pid), str(scene.idle.pid))
    sections = numastat_report(scene.m, NumastatOptions(processes=pids, verbose=True,
                                                        skip_zero=True)).sections
    assert [s.pid for s in sections] == [scene.worker.pid, scene.idle.pid]
    assert sections[1].columns == ["Node 0", "Node 1", "Total"]
    assert sections[1].value("Total", "Node 1") == 0.0


def test_numastat_patterns(scene: Scene) -> None:
    report = numastat_report(scene.m, NumastatOptions(processes=("nosuch",)), scene.names())
    assert report.preamble == ['Found no processes containing pattern: "nosuch"']
    assert [s.kind for s in report.sections] == ["numastat"]
    found = numastat_report(scene.m, NumastatOptions(processes=("orke",)), scene.names())
    assert list(found.section("processes").rows) == [f"{scene.worker.pid} (worker)",
                                                     f"{scene.child.pid} (worker)"]
    with pytest.raises(ValueError, match="no such process"):
        numastat_report(scene.m, NumastatOptions(processes=("4000000",)))


def test_folding_to_the_screen_width(scene: Scene) -> None:
    report = numastat_report(scene.m, NumastatOptions(numastat=True))
    text = report.text(screen_width=40)
    assert text.count("Numa_Hit") == 3  # 16 + 16 + 16 > 40: one column per block
    assert parse_numastat(text) == report.rounded()


# --- numastat: real output -----------------------------------------------------------------------

SAMPLES = [path.name for path in sorted(DATA.glob("host-numastat*.txt")) if "node0" not in path.name]


@pytest.mark.parametrize("name", SAMPLES)
def test_real_numastat_output_prints_back_identically(name: str) -> None:
    text = data(name)
    width = 40 if "folded" in name else NO_FOLDING
    assert parse_numastat(text).text(width) == text


def test_real_compat_sample() -> None:
    section = parse_numastat(data("host-numastat.txt")).sections[0]
    assert (section.kind, section.columns, section.widths, section.decimals) == ("compat", ["node0"],
                                                                                 [16, 16], 0)
    assert section.rows == {"numa_hit": [15454026.0], "numa_miss": [0.0], "numa_foreign": [0.0],
                            "interleave_hit": [1124.0], "local_node": [15454026.0], "other_node": [0.0]}


def test_real_meminfo_sample() -> None:
    section = parse_numastat(data("host-numastat-m.txt")).section("meminfo")
    assert section.notes == [f"Token {t} not in hash table." for t in
                             ("SwapCached", "SecPageTables", "FileHugePages", "FilePmdMapped")]
    assert section.value("MemTotal", "Node 0") == 6106.21
    assert section.value("KReclaimable", "Total") == 162.55
    assert len(section.rows) == 32 and section.widths == [16, 16, 16]


def test_real_numastat_n_c_z_samples() -> None:
    n = parse_numastat(data("host-numastat-n.txt")).section("numastat")
    assert n.rows["Numa_Hit"] == [60368.1, 60368.1] and n.value("Interleave_Hit", "Node 0") == 4.39
    c = parse_numastat(data("host-numastat-c.txt")).section("numastat")
    assert (c.decimals, c.widths, c.rows["Numa_Hit"]) == (0, [15, 7, 6], [60368.0, 60368.0])
    z = parse_numastat(data("host-numastat-z.txt")).section("numastat")
    assert list(z.rows) == ["Numa_Hit", "Interleave_Hit", "Local_Node"]


def test_real_process_samples() -> None:
    p = parse_numastat(data("host-numastat-p.txt")).section("process")
    assert (p.pid, p.comm, p.columns) == (11194, "python3", ["Node 0", "Total"])
    assert [p.value(row, "Node 0") for row in ("Huge", "Heap", "Stack", "Private", "Total")] == [
        0.0, 1.62, 0.06, 11.98, 13.66]
    multi = parse_numastat(data("host-numastat-p-multi.txt")).section("processes")
    assert multi.rows == {"11194 (python3)": [13.66, 13.66], "11236 (python3)": [9.8, 9.8]}
    assert multi.total == [23.45, 23.45] and multi.widths == [17, 16, 16]
    folded = parse_numastat(data("host-numastat-p-folded.txt")).section("process")
    assert folded.columns == ["Node 0", "Total"] and folded.rows["Private"] == [1.73, 1.73]
    kthread = parse_numastat(data("host-numastat-z-p-kthread.txt"))
    assert kthread.preamble == ['Found no processes containing pattern: "nosuchprocessxyz"']
    assert (kthread.sections[0].comm, kthread.sections[0].message) == ("kthreadd",
                                                                      "Table has no non-zero data.")


def host_source() -> NumastatSource:
    node0 = NodeFiles(0, data("host-numastat-node0-numastat.txt"), data("host-numastat-node0-meminfo.txt"))
    return NumastatSource([node0], [
        ProcessFiles(2, "kthreadd", ""),
        ProcessFiles(11194, "python3", data("host-numa_maps-python3.txt"), "python3 holder.py"),
        ProcessFiles(11236, "python3", data("host-numa_maps-python3-child.txt"), "python3 holder.py"),
        ProcessFiles(14808, "sleep", data("host-numa_maps-sleep.txt"), "sleep 10000"),
    ])


@pytest.mark.parametrize(("sample", "options", "width"), [
    ("host-numastat-p.txt", NumastatOptions(processes=("11194",)), NO_FOLDING),
    ("host-numastat-p-c.txt", NumastatOptions(processes=("11194",), compress=True), NO_FOLDING),
    ("host-numastat-p-z.txt", NumastatOptions(processes=("11194",), skip_zero=True), NO_FOLDING),
    ("host-numastat-p-multi.txt", NumastatOptions(processes=("11236", "11194")), NO_FOLDING),
    ("host-numastat-p-folded.txt", NumastatOptions(processes=("sleep",)), 40),
    ("host-numastat-z-p-kthread.txt", NumastatOptions(processes=("2", "nosuchprocessxyz"),
                                                      skip_zero=True), NO_FOLDING),
    ("host-numastat-c-m-n.txt", NumastatOptions(meminfo=True, numastat=True, compress=True), NO_FOLDING),
])
def test_same_files_give_real_numastat_output(sample: str, options: NumastatOptions, width: int) -> None:
    """The port, given the files the real numastat read, prints what it printed."""
    assert run_numastat(host_source(), options).text(width) == data(sample)


# --- vmstat and zoneinfo ---------------------------------------------------------------------------


def test_vmstat_and_zoneinfo_json_load_back(scene: Scene) -> None:
    vmstat = load_report(json.loads(dumps(vmstat_json(vmstat_text(scene.m)))))
    assert vmstat == parse_vmstat(vmstat_text(scene.m))
    assert isinstance(vmstat, dict) and vmstat["pgmigrate_success"] > 0
    zones = load_report(json.loads(dumps(zoneinfo_json(zoneinfo_text(scene.m)))))
    assert zones == parse_zoneinfo(zoneinfo_text(scene.m))
    real = zoneinfo_json(data("host-zoneinfo.txt"))
    assert load_report(json.loads(dumps(real))) == parse_zoneinfo(data("host-zoneinfo.txt"))
    with pytest.raises(ValueError, match="not a pagemig report"):
        load_report({"report": "smaps"})


# --- the golden helper -------------------------------------------------------------------------------


def test_golden_update_rewrites_and_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(golden, "GOLDEN_DIR", tmp_path)
    (tmp_path / "x.txt").write_text("old\n")
    monkeypatch.setenv(golden.UPDATE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="updated"):
        assert_golden("x.txt", "new\n")
    assert (tmp_path / "x.txt").read_text() == "new\n"
    monkeypatch.delenv(golden.UPDATE_ENV)
    assert_golden("x.txt", "new\n")
    with pytest.raises(pytest.fail.Exception, match=r"(?s)-new\n\+other.*PAGEMIG_UPDATE_GOLDEN=1"):
        assert_golden("x.txt", "other\n")
    with pytest.raises(pytest.fail.Exception, match="does not exist"):
        assert_golden("missing.txt", "")


# --- the CLI ----------------------------------------------------------------------------------------

SCENARIO = """\
machine nodes=2 memory=64MiB
spawn p uid=1000 cpu=0
p: map a anon 8
p: write a:*
p: fork c
p: write a:4-7 gen=2
p: move self a:4-7 1 MOVE => status=1,1,1,1
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    pytest.importorskip("pagemig.scenario")
    path = tmp_path / "moved.scn"
    path.write_text(SCENARIO)
    return path


runner = CliRunner()


def test_cli_numastat_of_a_scenario(scenario_file: Path) -> None:
    result = runner.invoke(app, ["numastat", str(scenario_file), "-p", "p"])
    assert result.exit_code == 0, result.output
    assert_golden("cli-numastat-p.txt", result.output)
    report = parse_numastat(result.output).section("process")
    assert report.value("Private", "Node 1") == round(4 * P / MB, 2)


def test_cli_numastat_json_and_default_machine(scenario_file: Path) -> None:
    result = runner.invoke(app, ["numastat", str(scenario_file), "-p", "p", "-p", "c", "-m", "-n",
                                 "-z", "--json"])
    assert result.exit_code == 0, result.output
    report = load_report(json.loads(result.output))
    assert isinstance(report, NumastatReport)
    assert [s.kind for s in report.sections] == ["processes", "meminfo", "numastat"]
    assert report.sections[0].value("Total", "Node 1") == 4 * P / MB
    plain = runner.invoke(app, ["numastat"])
    assert plain.exit_code == 0 and plain.output.splitlines()[0] == " " * 27 + "node0           node1"


def test_cli_report(scenario_file: Path) -> None:
    maps = runner.invoke(app, ["report", str(scenario_file), "numa_maps", "--process", "c"])
    assert maps.exit_code == 0, maps.output
    assert "anon=8 dirty=8 mapmax=2 N0=8 kernelpagesize_kB=4" in maps.output  # c's pages: 4 shared
    vmstat = runner.invoke(app, ["report", str(scenario_file), "vmstat", "--json"])
    assert json.loads(vmstat.output)["counters"]["pgmigrate_success"] == 4
    zoneinfo = runner.invoke(app, ["report", str(scenario_file), "zoneinfo"])
    assert {z.node for z in parse_zoneinfo(zoneinfo.output)} == {0, 1}
    entries = load_report(json.loads(runner.invoke(
        app, ["report", str(scenario_file), "numa_maps", "--process", "p", "--json"]).output))
    assert isinstance(entries, list)
    assert any(isinstance(e, NumaMapsEntry) and e.nodes == {0: 4, 1: 4} for e in entries)


@pytest.mark.parametrize(("args", "message"), [
    (["numastat", "{scn}", "-p", "4000000"], "-p 4000000: no such process"),
    (["report", "{scn}", "numa_maps"], "numa_maps needs --process NAME (the scenario's processes: p, c)"),
    (["report", "{scn}", "numa_maps", "--process", "x"], "no process 'x' in the scenario"),
    (["report", "{scn}", "vmstat", "--process", "p"], "--process applies to numa_maps only"),
])
def test_cli_errors_are_one_line(args: list[str], message: str, scenario_file: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main([arg.format(scn=scenario_file) for arg in args]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_cli_bad_scenario_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pagemig.scenario")
    bad = tmp_path / "bad.scn"
    bad.write_text("machine nodes=2\nfrobnicate\n")
    assert main(["numastat", str(bad)]) == 2  # a bad input file, as for `run`
    err = capsys.readouterr().err
    assert f"{bad}:2:" in err and err.count("\n") == 1
