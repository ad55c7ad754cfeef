"""Reader of the live kernel's NUMA topology in /sys/devices/system/node (drivers/base/node.c).

The directory holds the node state masks (``possible``, ``online``,
``has_memory``, ``has_cpu``, ... in the list format ``"0-3,5"``) and one
``nodeN/`` directory per node with ``cpulist``, ``distance`` (one number
per online node, in node order) and ``meminfo`` (``Node N Name: value kB``
lines; the ``HugePages_*`` lines are counts, the rest kB).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..procfs import ProcParseError
from .nodemask import parse_nodelist
from .sysio import KernelIO, SysIO

SYSFS_NODE = "/sys/devices/system/node"
_NODE_DIR = re.compile(r"^node(\d+)$")
_MEMINFO_LINE = re.compile(r"^Node (\d+) (\S+):\s+(\d+)(?: kB)?$")


@dataclass
class NodeInfo:
    """One ``/sys/devices/system/node/nodeN`` directory."""

    node_id: int
    cpus: list[int] = field(default_factory=list)
    distance: dict[int, int] = field(default_factory=dict)
    meminfo: dict[str, int] = field(default_factory=dict)


@dataclass
class Topology:
    """Node states and per-node facts of the running kernel.

    ``has_memory`` is N_MEMORY (``has_memory``); kernels before 3.8 have no
    such file and it is read from ``has_high_memory`` or ``has_normal_memory``,
    which is what N_HIGH_MEMORY meant there.
    """

    possible: list[int]
    online: list[int]
    has_memory: list[int]
    has_cpu: list[int]
    nodes: dict[int, NodeInfo] = field(default_factory=dict)

    def distance(self, from_node: int, to_node: int) -> int:
        """node_distance(from, to) as the SLIT gives it (10 = local)."""
        return self.nodes[from_node].distance[to_node]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Topology:
        """Inverse of ``to_json``, also after a trip through ``json`` (int keys become strings)."""
        nodes = {int(nid): NodeInfo(node_id=info["node_id"], cpus=list(info["cpus"]),
                                    distance={int(k): v for k, v in info["distance"].items()},
                                    meminfo=dict(info["meminfo"]))
                 for nid, info in data["nodes"].items()}
        return cls(possible=list(data["possible"]), online=list(data["online"]),
                   has_memory=list(data["has_memory"]), has_cpu=list(data["has_cpu"]), nodes=nodes)


def parse_node_meminfo(text: str) -> dict[str, int]:
    """``nodeN/meminfo``: name -> value (kB, or a count for HugePages_*)."""
    values: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _MEMINFO_LINE.match(line.strip())
        if match is None:
            raise ProcParseError(f"node meminfo line {lineno}: cannot read {line!r}")
        values[match.group(2)] = int(match.group(3))
    return values


def parse_distance(text: str, online: list[int]) -> dict[int, int]:
    """``nodeN/distance``: one distance per online node, in node order."""
    row = text.split()
    if len(row) != len(online) or not all(value.isdigit() for value in row):
        raise ProcParseError(f"distance row {text.strip()!r} does not match online nodes {online}")
    return {node: int(value) for node, value in zip(online, row, strict=True)}


def _read_state(io: KernelIO, names: tuple[str, ...]) -> list[int]:
    for name in names:
        try:
            return parse_nodelist(io.read_text(f"{SYSFS_NODE}/{name}"))
        except FileNotFoundError:
            continue
    raise FileNotFoundError(f"none of {', '.join(names)} in {SYSFS_NODE}")


def read_node(node_id: int, online: list[int], sysio: KernelIO | None = None) -> NodeInfo:
    """One ``nodeN`` directory."""
    io = sysio if sysio is not None else SysIO()
    base = f"{SYSFS_NODE}/node{node_id}"
    return NodeInfo(node_id=node_id,
                    cpus=parse_nodelist(io.read_text(f"{base}/cpulist")),
                    distance=parse_distance(io.read_text(f"{base}/distance"), online),
                    meminfo=parse_node_meminfo(io.read_text(f"{base}/meminfo")))


def read_topology(sysio: KernelIO | None = None) -> Topology:
    """The topology of the running kernel. Raises ``FileNotFoundError`` without CONFIG_NUMA."""
    io = sysio if sysio is not None else SysIO()
    online = _read_state(io, ("online",))
    topology = Topology(possible=_read_state(io, ("possible",)), online=online,
                        has_memory=_read_state(io, ("has_memory", "has_high_memory", "has_normal_memory")),
                        has_cpu=_read_state(io, ("has_cpu",)))
    for name in io.listdir(SYSFS_NODE):
        match = _NODE_DIR.match(name)
        if match is not None:
            node_id = int(match.group(1))
            topology.nodes[node_id] = read_node(node_id, online, io)
    return topology
