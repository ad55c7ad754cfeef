"""pagemig.sim replay: faults and migrations through the model, the kept node
array, failures counted by reason, determinism, the cost model's arithmetic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pagemig.mm.memory import follow_page
from pagemig.mm.mmap import find_vma
from pagemig.mm.page import Page, get_page
from pagemig.sim.cost import CostModel, CostParams
from pagemig.sim.policies import EpochStats, Policy, PolicyContext, make_policy
from pagemig.sim.policies.damos import parse_schemes
from pagemig.sim.policies.hotcold import first_by
from pagemig.sim.replay import Epoch, SimConfig, Simulation
from pagemig.sim.topology import Topology, load_toml, topology

from .simtrace import check, write_trace, zipf_trace

MiB = 1 << 20


def small(name: str, *sizes: int) -> Topology:
    topo = topology(name)
    return topo.with_memory(list(sizes) if sizes else [64 * MiB] * topo.nr_nodes)


# --- the cost model on a hand-computed case ------------------------------------------------


def test_cost_model_arithmetic_by_hand() -> None:
    model = CostModel(topology("dram-cxl"))  # 90/250 ns, 100/33 GB/s, 64-byte lines
    pairs = np.array([[1000, 500], [0, 0]])
    # Below saturation with contention_factor 1: L * (1 + B/L) = L + B per node.
    # node 0: 1000*90 + 1000*64/100 = 90640; node 1: 500*250 + 500*64/33 = 125969.697
    assert model.access_ns(pairs, threads=1) == pytest.approx(90000 + 640 + 125000 + 32000 / 33)
    # 1000 threads: latency parts 90 and 125 ns, bandwidth parts 640 and 969.7 ns:
    # both nodes saturated, so bandwidth-bound (max(640, 90 * 2) + max(969.7, 125 * 2)).
    assert model.access_ns(pairs, threads=1000) == pytest.approx(640 + 32000 / 33)
    assert model.migration_ns(calls=2, succeeded=10, failed=3) == 2 * 18000 + 10 * 1200 + 3 * 890
    assert model.fault_ns(4) == 6000
    cheap = CostModel(topology("dram-cxl"), CostParams(slow_tier_latency_ns=200, contention_factor=0))
    assert cheap.access_ns(pairs, threads=1) == 1000 * 90 + 500 * 200


def test_cost_overrides_and_validation() -> None:
    model = CostModel(topology("dram-cxl-2socket"), CostParams(local_latency_ns=80, remote_latency_ns=140,
                                                                slow_tier_latency_ns=300))
    assert model.latency_ns[0].tolist() == [80, 140, 300]
    assert model.latency_ns[1].tolist() == [140, 80, 360]  # the CXL node is one socket hop farther
    with pytest.raises(ValueError, match="line_bytes"):
        CostParams(line_bytes=0)
    with pytest.raises(ValueError, match="fault_ns"):
        CostParams(fault_ns=-1)


def test_topology_presets_and_toml(tmp_path: Path) -> None:
    cxl = topology("dram-cxl")
    assert cxl.cpu_nodes() == [0] and cxl.slow_nodes() == [1]
    m = cxl.with_memory([8 * MiB, 8 * MiB]).machine()
    assert m.nodes[1].cpus == [] and m.distances[0][1] == 50
    path = tmp_path / "t.toml"
    path.write_text('name = "three"\ndistances = [[10, 21, 40], [21, 10, 40], [40, 40, 10]]\n'
                    '[[node]]\nmemory = "8MiB"\ncpus = 1\n[[node]]\nmemory = "8MiB"\n'
                    'cpus = 1\n[[node]]\nmemory = "16MiB"\ntier = 1\nbandwidth_gbps = 20\n')
    three = load_toml(path)
    assert three.fast_nodes() == [0, 1] and three.latency_ns[0][2] == pytest.approx(360)
    path.write_text("[[node]]\nmemory = 1\nbogus = 2\n")
    with pytest.raises(ValueError, match="bogus"):
        load_toml(path)
    with pytest.raises(ValueError, match="unknown topology"):
        topology("4socket")


def test_epoch_parsing() -> None:
    assert Epoch.parse("10ms", "ns") == Epoch("t", 10_000_000)
    assert Epoch.parse("1M", "ns") == Epoch("accesses", 1_000_000)
    assert Epoch.parse("64Ki", "instructions") == Epoch("accesses", 65536)
    assert Epoch.parse("5000insn", "instructions") == Epoch("t", 5000)
    with pytest.raises(ValueError, match="is a time"):
        Epoch.parse("10ms", "instructions")
    with pytest.raises(ValueError, match="unit"):
        Epoch.parse("3 parsecs", "ns")


# --- replay -------------------------------------------------------------------------------


def test_first_touch_faults_on_each_threads_node(tmp_path: Path) -> None:
    pages = np.concatenate([np.arange(10), np.arange(10, 20), np.arange(20)])
    tid = np.concatenate([np.full(10, 7), np.full(10, 9), np.full(20, 7)])
    trace = write_trace(tmp_path / "t.parquet", pages, tid=tid)
    sim = Simulation(trace, small("2socket"), make_policy("first-touch"), SimConfig(epoch="8"))
    result = sim.run()
    assert sim.node.tolist() == [0] * 10 + [1] * 10  # thread 7 on node 0, thread 9 on node 1
    s = result.summary
    assert s["faults"] == 20 and s["pages_touched"] == 20 and s["threads"] == 2
    assert s["accesses"] == 40 and s["epochs"] == 5
    assert s["local_ratio"] == pytest.approx(30 / 40)  # thread 7's second pass over 10..19 is remote
    assert s["migrations"]["attempted"] == 0
    check(sim)


def test_time_epochs_skip_gaps_and_ranges_are_mapped_where_traced(tmp_path: Path) -> None:
    t = np.array([0, 1, 2, 50_000_000, 50_000_001], dtype=np.uint64)
    far = 1 << 23  # beyond the span mapped whole: the trace is scanned, two ranges
    pages = np.array([0, 1, far, 2, far + 1])
    sim = Simulation(write_trace(tmp_path / "t.parquet", pages, t=t), small("dram-cxl"),
                     make_policy("first-touch"), SimConfig(epoch="10ms"))
    result = sim.run()
    assert [r["accesses"] for r in result.rows] == [3, 2]
    assert [r["t_start"] for r in result.rows] == [0, 50_000_000]
    assert len(sim.ranges.first) == 2 and sim.n_pages == 3 + 2
    assert sim.addresses(np.array([0, 3])).tolist() == [0x10000000, 0x10000000 + far * 4096]
    check(sim)
    near = write_trace(tmp_path / "near.parquet", np.array([0, 1000, 5]))
    sim = Simulation(near, small("dram-cxl"), make_policy("first-touch"))
    assert sim.run().summary["pages_touched"] == 3
    assert len(sim.ranges.first) == 1 and sim.n_pages == 1001  # mapped whole from the statistics
    check(sim)


def test_interleave_and_bind(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.parquet", np.arange(64))
    sim = Simulation(trace, small("2socket"), make_policy("interleave"))
    sim.run()
    assert sorted(np.bincount(sim.node).tolist()) == [32, 32]
    check(sim)
    sim = Simulation(trace, small("dram-cxl"), make_policy("bind", {"nodes": "1"}))
    sim.run()
    assert set(sim.node.tolist()) == {1}
    check(sim)


def _hot_tail_trace(path: Path) -> Path:
    """Pages 0..767 touched once (the first 512 or so fill a 2 MiB DRAM node), then
    pages 700..767 (on CXL) accessed again and again."""
    hot = np.tile(np.arange(700, 768), 40)
    return write_trace(path, np.concatenate([np.arange(768), hot]))


@pytest.mark.parametrize("policy", ["hot-cold", "oracle"])
def test_tiering_policies_bring_the_hot_pages_to_dram(tmp_path: Path, policy: str) -> None:
    trace = _hot_tail_trace(tmp_path / "t.parquet")
    topo = small("dram-cxl", 2 * MiB, 8 * MiB)
    base = Simulation(trace, topo, make_policy("first-touch"), SimConfig(epoch="256"))
    before = base.run().summary
    assert np.all(base.node[700:] == 1)
    sim = Simulation(trace, topo, make_policy(policy, {"quota_pages_per_s": "1e6"}), SimConfig(epoch="256"))
    after = sim.run().summary
    assert after["migrations"]["succeeded"] > 0
    assert np.all(sim.node[700:] == 0)
    assert after["fast_tier_ratio"] > before["fast_tier_ratio"]
    assert after["modelled_time_s"]["access"] < before["modelled_time_s"]["access"]
    check(sim)


def test_damos_schemes_from_damo_json(tmp_path: Path) -> None:
    schemes = tmp_path / "s.json"
    schemes.write_text("""[
      {"action": "migrate_hot", "target_nid": 0,
       "access_pattern": {"sz_bytes": {"min": "4KiB", "max": "max"},
                          "nr_accesses": {"min": "5 %", "max": "max"},
                          "age": {"min": "1 aggr_intervals", "max": "max"}},
       "quotas": {"time_ms": 0, "sz_bytes": "1GiB", "reset_interval_ms": "1s",
                  "weights": {"sz_permil": 0, "nr_accesses_permil": 0, "age_permil": 0}}},
      {"action": "migrate_cold", "target_nid": 1,
       "access_pattern": {"sz_bytes": {"min": "min", "max": "max"},
                          "nr_accesses": {"min": "min", "max": "0 samples"},
                          "age": {"min": "0us", "max": "max"}}},
      {"action": "pageout"}]""")
    sim = Simulation(_hot_tail_trace(tmp_path / "t.parquet"), small("dram-cxl", 2 * MiB, 8 * MiB),
                     make_policy(f"damos:{schemes}"), SimConfig(epoch="256"))
    result = sim.run()
    assert len(sim.policy.schemes) == 2  # type: ignore[attr-defined]
    assert result.summary["migrations"]["succeeded"] > 0
    assert np.all(sim.node[700:] == 0)
    check(sim)
    with pytest.raises(ValueError, match="no migrate_hot"):
        parse_schemes([{"action": "pageout"}], 20)
    with pytest.raises(ValueError, match="target_nid"):
        parse_schemes({"schemes": [{"action": "migrate_cold"}]}, 20)


class MoveAllTo(Policy):
    """After the first epoch, asks for every touched page to move to ``target``."""

    name = "move-all"
    target = 1

    def on_epoch(self, ctx: PolicyContext, stats: EpochStats) -> None:
        if stats.index == 0:
            pages = np.flatnonzero((ctx.node >= 0) & (ctx.node != self.target))
            self.result = ctx.migrate(pages, self.target)


def _page(sim: Simulation, index: int) -> Page:
    addr = int(sim.addresses(np.array([index]))[0])
    vma = find_vma(sim.process.mm, addr)
    page = follow_page(vma, addr, 0)
    assert isinstance(page, Page)
    return page


def test_failed_migrations_are_counted_by_reason(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.parquet", np.arange(16))

    def scenario(sim: Simulation) -> None:
        proc = sim.process
        for i in range(4):  # pages 0..3 touched, then shared with a forked child: EACCES
            proc.touch(int(sim.addresses(np.array([i]))[0]))
        sim.child = proc.fork()  # type: ignore[attr-defined]
        proc.touch(int(sim.addresses(np.array([4]))[0]))
        page = _page(sim, 4)  # page 4 pinned (an extra reference): it cannot move
        get_page(page)
        sim.machine.pin(page)

    sim = Simulation(trace, small("2socket"), MoveAllTo(), SimConfig(epoch="16"), setup=scenario)
    result = sim.run()
    m = result.summary["migrations"]
    assert m["attempted"] == 16 and m["succeeded"] == 11
    assert m["failed_by_reason"] == {"EACCES": 4, "EAGAIN": 1}
    assert result.rows[0]["failed"] == {"EACCES": 4, "EAGAIN": 1}
    assert set(sim.node[:5].tolist()) == {0} and set(sim.node[5:].tolist()) == {1}
    check(sim)


def test_a_full_target_node_fails_with_enomem(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.parquet", np.arange(600))
    sim = Simulation(trace, small("2socket", 8 * MiB, 2 * MiB), MoveAllTo(), SimConfig(epoch="600"))
    result = sim.run()
    m = result.summary["migrations"]
    assert 0 < m["succeeded"] < 600 and m["failed_by_reason"] == {"ENOMEM": 600 - m["succeeded"]}
    assert m["succeeded"] == int(np.count_nonzero(sim.node == 1))
    check(sim)


def test_profile_61_failures_keep_the_node_array_in_step(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "t.parquet", np.arange(600))
    sim = Simulation(trace, small("2socket", 8 * MiB, 2 * MiB), MoveAllTo(),
                     SimConfig(epoch="600", profile="6.1"))
    result = sim.run()
    m = result.summary["migrations"]
    assert m["failed"] > 0 and m["succeeded"] == int(np.count_nonzero(sim.node == 1))
    check(sim)


def test_the_same_trace_replays_identically(tmp_path: Path) -> None:
    trace = zipf_trace(tmp_path / "z.parquet", accesses=30000, pages=2048, threads=3)
    topo = small("dram-cxl-2socket", 2 * MiB, 2 * MiB, 16 * MiB)
    runs = []
    for _ in range(2):
        sim = Simulation(trace, topo, make_policy("hot-cold", {"hot_threshold": "2"}),
                         SimConfig(epoch="4096", seed=5))
        result = sim.run()
        summary = {k: v for k, v in result.summary.items() if not k.startswith(("wall", "accesses_per"))}
        runs.append((summary, result.columns(), sim.node.copy()))
        check(sim)
    assert runs[0][0] == runs[1][0]
    assert runs[0][0]["migrations"]["attempted"] > 0
    assert all(np.array_equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
    assert np.array_equal(runs[0][2], runs[1][2])


def test_sampled_traces_count_each_row_by_its_weight(tmp_path: Path) -> None:
    from pagemig.sim.trace import AccessBatch, TraceMeta, TraceWriter

    path = tmp_path / "s.parquet"
    with TraceWriter(path, TraceMeta("perf-mem", sampled=True, sample_period=100)) as w:
        w.write(AccessBatch(t=np.arange(3), vaddr=np.full(3, 0x20000000), size=np.full(3, 8),
                            op=np.zeros(3), tid=np.zeros(3), weight=np.array([1, 2, 3])))
    sim = Simulation(path, small("dram-cxl"), make_policy("first-touch"))
    assert sim.run().summary["accesses"] == 6
    check(sim)


def test_policy_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown parameter 'hot'"):
        make_policy("hot-cold", {"hot": "3"})
    with pytest.raises(ValueError, match="cold_threshold"):
        make_policy("hot-cold", {"hot_threshold": "2", "cold_threshold": "5"})
    with pytest.raises(ValueError, match=r"FILE\.py:ClassName"):
        make_policy("lru")
    with pytest.raises(ValueError, match="scheme file"):
        make_policy("damos")


def test_first_by_is_the_prefix_of_a_stable_descending_sort() -> None:
    rng = np.random.default_rng(5)
    for _ in range(500):
        n = int(rng.integers(0, 40))
        pages = np.sort(rng.choice(1000, n, replace=False))
        key = rng.integers(0, int(rng.integers(1, 6)), n)
        k = int(rng.integers(0, n + 2))
        assert np.array_equal(first_by(pages, key, k), pages[np.argsort(-key, kind="stable")][:k])
