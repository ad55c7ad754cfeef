"""Machines to replay on: nodes, tiers, distances, latencies and bandwidths.

A ``Topology`` says what the simulated machine is (it builds the ``Machine``)
and what its memory costs (the cost model reads latencies and bandwidths from
it). Presets follow docs/simulation.md, "Topologies", whose figures come from
placement-spec.md section 4; anything else comes from a TOML file:

.. code-block:: toml

    name = "my-box"
    distances = [[10, 50], [50, 10]]
    latency_ns = [[90, 250], [250, 90]]   # optional: [CPU node][memory node]
    [[node]]            # node 0
    memory = "16GiB"
    cpus = 4
    tier = 0            # 0 = fast (DRAM), 1 = slow (CXL, PMEM); default 0
    bandwidth_gbps = 100
    [[node]]            # node 1: CPU-less, a slow tier
    memory = "64GiB"
    cpus = 0
    tier = 1
    bandwidth_gbps = 33

Without ``latency_ns``, latencies are the local latency (``local_latency_ns``,
default 90) scaled by the SLIT distance over 10.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..machine import Machine
from ..units import format_size, parse_size

# Figures of placement-spec.md section 4 (docs/simulation.md lists each with its source).
DRAM_LOCAL_LATENCY_NS = 90.0      # local DRAM load, ~80-100 ns (common server figures)
DRAM_REMOTE_LATENCY_NS = 150.0    # remote socket, 1.5-2x local (150-200 ns)
CXL_LATENCY_NS = 250.0            # CXL-attached memory, ~150-250 ns (Pond, ASPLOS'23; arXiv 2405.14209)
DRAM_BANDWIDTH_GBPS = 100.0       # per socket: assumed (8 DDR4-3200 channels give 204.8 GB/s peak)
CXL_BANDWIDTH_GBPS = 33.0         # "about a third of DRAM" (placement-spec.md section 4)
DISTANCE_REMOTE = 21              # SLIT 10 vs 21 typical
DISTANCE_CXL = 50                 # AMD SLIT 10 local / 32 remote / 50 CXL, as quoted on LKML
DISTANCE_CXL_REMOTE = 50 + 11     # the CXL node seen from the other socket: one more socket hop


@dataclass(frozen=True)
class NodeSpec:
    """One node: its memory, CPUs, tier (0 fastest) and bandwidth."""

    memory_bytes: int
    cpus: int
    tier: int = 0
    bandwidth_gbps: float = DRAM_BANDWIDTH_GBPS

    def __post_init__(self) -> None:
        if self.memory_bytes <= 0:
            raise ValueError(f"memory_bytes must be positive, got {self.memory_bytes}")
        if self.cpus < 0:
            raise ValueError(f"cpus must not be negative, got {self.cpus}")
        if self.tier < 0:
            raise ValueError(f"tier must not be negative, got {self.tier}")
        if not self.bandwidth_gbps > 0:
            raise ValueError(f"bandwidth_gbps must be positive, got {self.bandwidth_gbps}")


@dataclass(frozen=True)
class Topology:
    """Nodes, the SLIT distance table and the load latency of each (CPU node,
    memory node) pair in ns."""

    name: str
    nodes: tuple[NodeSpec, ...]
    distances: tuple[tuple[int, ...], ...]
    latency_ns: tuple[tuple[float, ...], ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.nodes)
        if n == 0:
            raise ValueError(f"topology {self.name!r} has no nodes")
        if not any(node.cpus for node in self.nodes):
            raise ValueError(f"topology {self.name!r} has no CPUs")
        if len(self.distances) != n or any(len(row) != n for row in self.distances):
            raise ValueError(f"topology {self.name!r}: distances must be a {n}x{n} table")
        if not self.latency_ns:
            object.__setattr__(self, "latency_ns", tuple(
                tuple(DRAM_LOCAL_LATENCY_NS * d / 10 for d in row) for row in self.distances))
        if len(self.latency_ns) != n or any(len(row) != n for row in self.latency_ns):
            raise ValueError(f"topology {self.name!r}: latency_ns must be a {n}x{n} table")
        for row in self.latency_ns:
            for value in row:
                if not (value > 0 and math.isfinite(value)):
                    raise ValueError(f"topology {self.name!r}: latencies must be positive, got {value}")

    @property
    def nr_nodes(self) -> int:
        return len(self.nodes)

    def cpu_to_node(self) -> list[int]:
        """The node of each CPU, CPUs numbered node by node."""
        return [nid for nid, node in enumerate(self.nodes) for _ in range(node.cpus)]

    def cpu_nodes(self) -> list[int]:
        return [nid for nid, node in enumerate(self.nodes) if node.cpus]

    def fast_nodes(self) -> list[int]:
        """The nodes of the fastest tier."""
        best = min(node.tier for node in self.nodes)
        return [nid for nid, node in enumerate(self.nodes) if node.tier == best]

    def slow_nodes(self) -> list[int]:
        fast = set(self.fast_nodes())
        return [nid for nid in range(self.nr_nodes) if nid not in fast]

    def with_memory(self, sizes: Sequence[int]) -> Topology:
        """The same topology with other node memory sizes (bytes)."""
        if len(sizes) != self.nr_nodes:
            raise ValueError(f"{len(sizes)} memory sizes given for {self.nr_nodes} nodes")
        return replace(self, nodes=tuple(replace(node, memory_bytes=size)
                                         for node, size in zip(self.nodes, sizes, strict=True)))

    def machine(self, profile: str = "2.6.35", seed: int = 0) -> Machine:
        """A Machine of this topology (CPU-less nodes stay CPU-less)."""
        return Machine(nodes=self.nr_nodes, node_memory=[node.memory_bytes for node in self.nodes],
                       cpus=self.cpu_to_node(), distances=[list(row) for row in self.distances],
                       profile=profile, seed=seed)

    def describe(self) -> str:
        parts = [f"node {nid}: {format_size(node.memory_bytes)}, {node.cpus} cpus, tier {node.tier}, "
                 f"{node.bandwidth_gbps:g} GB/s" for nid, node in enumerate(self.nodes)]
        return f"{self.name} ({'; '.join(parts)})"


GiB = 1 << 30


def _2socket(memory: int = 16 * GiB, cpus: int = 2) -> Topology:
    return Topology(
        "2socket",
        (NodeSpec(memory, cpus), NodeSpec(memory, cpus)),
        ((10, DISTANCE_REMOTE), (DISTANCE_REMOTE, 10)),
        ((DRAM_LOCAL_LATENCY_NS, DRAM_REMOTE_LATENCY_NS), (DRAM_REMOTE_LATENCY_NS, DRAM_LOCAL_LATENCY_NS)))


def _dram_cxl(dram: int = 16 * GiB, cxl: int = 64 * GiB, cpus: int = 2) -> Topology:
    return Topology(
        "dram-cxl",
        (NodeSpec(dram, cpus, 0, DRAM_BANDWIDTH_GBPS), NodeSpec(cxl, 0, 1, CXL_BANDWIDTH_GBPS)),
        ((10, DISTANCE_CXL), (DISTANCE_CXL, 10)),
        ((DRAM_LOCAL_LATENCY_NS, CXL_LATENCY_NS), (CXL_LATENCY_NS, DRAM_LOCAL_LATENCY_NS)))


def _dram_cxl_2socket(dram: int = 16 * GiB, cxl: int = 64 * GiB, cpus: int = 2) -> Topology:
    # The CXL device hangs off socket 0: seen from socket 1 it costs one more
    # socket hop (the remote-minus-local DRAM latency).
    hop = DRAM_REMOTE_LATENCY_NS - DRAM_LOCAL_LATENCY_NS
    local, remote, cxl_lat = DRAM_LOCAL_LATENCY_NS, DRAM_REMOTE_LATENCY_NS, CXL_LATENCY_NS
    return Topology(
        "dram-cxl-2socket",
        (NodeSpec(dram, cpus, 0, DRAM_BANDWIDTH_GBPS), NodeSpec(dram, cpus, 0, DRAM_BANDWIDTH_GBPS),
         NodeSpec(cxl, 0, 1, CXL_BANDWIDTH_GBPS)),
        ((10, DISTANCE_REMOTE, DISTANCE_CXL),
         (DISTANCE_REMOTE, 10, DISTANCE_CXL_REMOTE),
         (DISTANCE_CXL, DISTANCE_CXL_REMOTE, 10)),
        ((local, remote, cxl_lat), (remote, local, cxl_lat + hop), (cxl_lat, cxl_lat + hop, local)))


PRESETS: dict[str, Callable[[], Topology]] = {
    "2socket": _2socket, "dram-cxl": _dram_cxl, "dram-cxl-2socket": _dram_cxl_2socket}


def topology(name_or_path: str | Path) -> Topology:
    """A preset by name, or a topology read from a TOML file."""
    key = str(name_or_path)
    if key in PRESETS:
        return PRESETS[key]()
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return load_toml(path)
    raise ValueError(f"unknown topology {key!r}: presets are {', '.join(PRESETS)}, "
                     "or give a .toml file")


def load_toml(path: Path) -> Topology:
    """A topology from a TOML file (see the module docstring); ValueError names the file."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: no such topology file") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read topology: {err}") from None
    try:
        return _from_dict(data, path.stem)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: bad topology: {err}") from None


def _from_dict(data: dict[str, Any], default_name: str) -> Topology:
    known = {"name", "node", "distances", "latency_ns"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(known))})")
    raw_nodes = data.get("node")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise ValueError("no [[node]] tables")
    nodes = []
    for i, raw in enumerate(raw_nodes):
        extra = set(raw) - {"memory", "cpus", "tier", "bandwidth_gbps"}
        if extra:
            raise ValueError(f"node {i}: unknown key {sorted(extra)[0]!r}")
        nodes.append(NodeSpec(parse_size(raw.get("memory", "16GiB"), f"memory of node {i}"),
                              int(raw.get("cpus", 0)), int(raw.get("tier", 0)),
                              float(raw.get("bandwidth_gbps", DRAM_BANDWIDTH_GBPS))))
    n = len(nodes)
    distances = data.get("distances") or [[10 if a == b else DISTANCE_REMOTE for b in range(n)]
                                          for a in range(n)]
    latency = data.get("latency_ns") or ()
    return Topology(str(data.get("name", default_name)), tuple(nodes),
                    tuple(tuple(int(d) for d in row) for row in distances),
                    tuple(tuple(float(x) for x in row) for row in latency))
