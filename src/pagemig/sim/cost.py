"""The cost model: what an epoch's accesses, migrations and faults would cost.

Every figure is a field of ``CostParams`` (units in the names) whose default
comes from placement-spec.md section 4; docs/simulation.md, "Cost model",
gives each formula and source. The model is arithmetic on a handful of
numbers per epoch (access counts per (CPU node, memory node) pair, pages
migrated, faults), never on single accesses.

Access time of an epoch, for each memory node m (``pairs[c, m]`` accesses from
CPUs of node c, ``T`` threads active in the epoch)::

    latency_m   = sum_c pairs[c, m] * latency_ns[c][m] / T       (threads overlap)
    bandwidth_m = accesses_m * line_bytes / bandwidth_gbps[m]     (bytes / (GB/s) = ns)
    u_m         = min(1, bandwidth_m / latency_m)                 (utilisation of node m)
    time_m      = max(bandwidth_m, latency_m * (1 + contention_factor * u_m))
    access      = sum_m time_m

Loaded latency rises linearly with utilisation (to ``1 + contention_factor``
times the idle latency at saturation), and a node never delivers more than
its bandwidth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from .topology import Topology


@dataclass(frozen=True)
class CostParams:
    """Every figure of the cost model; ``None`` keeps the topology's own.

    Latency overrides: ``local_latency_ns`` sets every pair whose CPU node is
    the memory node, ``remote_latency_ns`` every other fast-tier pair, and
    ``slow_tier_latency_ns`` the slow tier seen from its nearest CPU node (farther
    CPU nodes keep their extra hops). Bandwidth overrides set every node of a tier.
    """

    local_latency_ns: float | None = None
    remote_latency_ns: float | None = None
    slow_tier_latency_ns: float | None = None
    fast_tier_bandwidth_gbps: float | None = None
    slow_tier_bandwidth_gbps: float | None = None
    line_bytes: int = 64                      # one cache line per access
    contention_factor: float = 1.0            # loaded latency = idle * (1 + factor * utilisation)
    migration_page_ns: float = 1200.0         # batched 4 KiB pages: 1.2 us/page (LKML 2026-05, Zen 3)
    migration_failed_page_ns: float = 890.0   # the same walk without the copy (copy is ~25-27 % of 1.2 us)
    migration_call_ns: float = 18000.0        # per call: (62 - 3.9) us on E5-2640v3, scaled by 1.2/3.9
    fault_ns: float = 1500.0                  # first-touch anonymous fault with zeroing: assumed, see docs

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"{f.name} must be a finite number, got {value!r}")
            if value < 0 or (value == 0 and f.name.endswith(("_gbps", "latency_ns", "line_bytes"))):
                raise ValueError(f"{f.name} must be positive, got {value!r}")


@dataclass(frozen=True)
class EpochCost:
    """Modelled time of one epoch, in ns."""

    access_ns: float
    migration_ns: float
    fault_ns: float


class CostModel:
    """Latency matrix and bandwidths of a topology, with ``params`` applied."""

    def __init__(self, topology: Topology, params: CostParams | None = None) -> None:
        self.params = params = params or CostParams()
        self.topology = topology
        n = topology.nr_nodes
        latency = np.array(topology.latency_ns, dtype=np.float64)
        fast = set(topology.fast_nodes())
        base = latency.copy()
        for c in range(n):
            for m in range(n):
                if m in fast:
                    if c == m and params.local_latency_ns is not None:
                        latency[c, m] = params.local_latency_ns
                    elif c != m and params.remote_latency_ns is not None:
                        latency[c, m] = params.remote_latency_ns
                elif params.slow_tier_latency_ns is not None:
                    nearest = min(base[cpu, m] for cpu in topology.cpu_nodes())
                    latency[c, m] = params.slow_tier_latency_ns + (base[c, m] - nearest)
        self.latency_ns = latency
        self.bandwidth_gbps = np.array([
            (params.fast_tier_bandwidth_gbps if nid in fast else params.slow_tier_bandwidth_gbps)
            or node.bandwidth_gbps for nid, node in enumerate(topology.nodes)], dtype=np.float64)

    def access_ns(self, pairs: np.ndarray, threads: int) -> float:
        """Modelled access time of an epoch from its (CPU node x memory node)
        access counts and the number of threads active in it."""
        threads = max(1, threads)
        latency = (pairs * self.latency_ns).sum(axis=0) / threads
        bandwidth = pairs.sum(axis=0) * self.params.line_bytes / self.bandwidth_gbps
        with np.errstate(divide="ignore", invalid="ignore"):
            utilisation = np.where(latency > 0, np.minimum(1.0, bandwidth / latency), 0.0)
        per_node = np.maximum(bandwidth, latency * (1 + self.params.contention_factor * utilisation))
        return float(per_node.sum())

    def migration_ns(self, calls: int, succeeded: int, failed: int) -> float:
        p = self.params
        return (calls * p.migration_call_ns + succeeded * p.migration_page_ns
                + failed * p.migration_failed_page_ns)

    def fault_ns(self, faults: int) -> float:
        return faults * self.params.fault_ns

    def epoch(self, pairs: np.ndarray, threads: int, calls: int, succeeded: int, failed: int,
              faults: int) -> EpochCost:
        return EpochCost(self.access_ns(pairs, threads), self.migration_ns(calls, succeeded, failed),
                         self.fault_ns(faults))
