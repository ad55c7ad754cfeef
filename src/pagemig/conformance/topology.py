"""The NUMA topology a scenario's `machine` line asks for, as QEMU builds it.

Only `nodes=`, `memory=`, `cpus=` and `distances=` matter to a real kernel;
the other options of the line belong to the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..units import format_size, parse_size
from .errors import ConformanceError

MIB = 1 << 20
MIN_NODE_MEMORY = 512 * MIB
"""A guest node with memory gets at least this much: the Debian kernel,
the initramfs and the page tables of a TCG guest need room."""

DEFAULT_NODES = 2


@dataclass(frozen=True)
class Topology:
    """Per node: bytes of memory (0 = memoryless) and number of CPUs (0 = memory-only)."""

    memory: tuple[int, ...]
    cpus: tuple[int, ...]
    distances: tuple[tuple[int, ...], ...] | None = None

    @property
    def nodes(self) -> int:
        return len(self.memory)

    @property
    def nr_cpus(self) -> int:
        return sum(self.cpus)

    def describe(self) -> str:
        parts = [f"node{n}: {c} cpu, {format_size(m) if m else 'no memory'}"
                 for n, (m, c) in enumerate(zip(self.memory, self.cpus, strict=True))]
        return "; ".join(parts)


def machine_words(path: Path) -> list[str]:
    """The words of the file's first command when it is `machine`, else []."""
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].split("=>", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        return words[1:] if words[0] == "machine" else []
    return []


def _per_node(text: str, nodes: int, what: str) -> list[str]:
    items = text.split(",")
    if len(items) == 1:
        return items * nodes
    if len(items) != nodes:
        raise ConformanceError(f"{what}= names {len(items)} nodes, the machine has {nodes}")
    return items


def _distances(text: str, nodes: int) -> tuple[tuple[int, ...], ...]:
    rows = tuple(tuple(int(v) for v in row.split(",")) for row in text.split("/"))
    if len(rows) != nodes or any(len(row) != nodes for row in rows):
        raise ConformanceError(f"distances= must be a {nodes}x{nodes} matrix, got {text!r}")
    return rows


def parse_machine(words: list[str]) -> Topology:
    """The topology of `machine` options (defaults: 2 nodes, 1 CPU each, 64MiB)."""
    opts = dict(word.split("=", 1) for word in words if "=" in word)
    try:
        nodes = int(opts.get("nodes", DEFAULT_NODES))
        if not 1 <= nodes <= 64:
            raise ValueError(f"nodes={nodes}: 1 to 64 nodes")
        memory = tuple(parse_size(m, "memory") for m in _per_node(opts.get("memory", "64MiB"), nodes,
                                                                   "memory"))
        cpus = tuple(int(c) for c in _per_node(opts.get("cpus", "1"), nodes, "cpus"))
        distances = _distances(opts["distances"], nodes) if "distances" in opts else None
    except ValueError as exc:
        raise ConformanceError(f"machine line: {exc}") from exc
    return Topology(memory, cpus, distances)


def read_topology(path: Path) -> Topology:
    """The topology of a scenario file."""
    try:
        return parse_machine(machine_words(path))
    except ConformanceError as exc:
        raise ConformanceError(f"{path}: {exc}") from exc


def validate_for_qemu(topo: Topology) -> None:
    """Guest node ids equal the scenario's only when every memory-only node
    comes after every node with CPUs: Linux numbers the nodes of the SRAT's
    CPU entries first."""
    for nid, (mem, cpus) in enumerate(zip(topo.memory, topo.cpus, strict=True)):
        if mem == 0 and cpus == 0:
            raise ConformanceError(f"node {nid} has neither memory nor CPUs")
    with_cpus = [nid for nid, c in enumerate(topo.cpus) if c]
    memory_only = [nid for nid, c in enumerate(topo.cpus) if not c]
    if not with_cpus:
        raise ConformanceError("the machine needs at least one CPU")
    if memory_only and min(memory_only) < max(with_cpus):
        raise ConformanceError(
            f"memory-only node {min(memory_only)} comes before node {max(with_cpus)}, which has CPUs: "
            "Linux would number them differently; put memory-only nodes last")


def guest_memory(topo: Topology) -> list[int]:
    """MiB of guest memory per node: the scenario's size, at least MIN_NODE_MEMORY."""
    return [0 if m == 0 else max(MIN_NODE_MEMORY, m + MIB - 1) // MIB for m in topo.memory]


def qemu_numa_args(topo: Topology) -> list[str]:
    """-m, -smp and -numa options: node N has CPUs numbered after node N-1's."""
    validate_for_qemu(topo)
    sizes = guest_memory(topo)
    args = ["-m", f"{sum(sizes)}M", "-smp", str(topo.nr_cpus)]
    cpu = 0
    for nid, (size, ncpus) in enumerate(zip(sizes, topo.cpus, strict=True)):
        node = f"node,nodeid={nid}"
        if ncpus:
            node += f",cpus={cpu}" if ncpus == 1 else f",cpus={cpu}-{cpu + ncpus - 1}"
            cpu += ncpus
        if size:
            args += ["-object", f"memory-backend-ram,id=m{nid},size={size}M"]
            node += f",memdev=m{nid}"
        args += ["-numa", node]
    if topo.distances:
        for src, row in enumerate(topo.distances):
            for dst, dist in enumerate(row):
                if src != dst:
                    args += ["-numa", f"dist,src={src},dst={dst},val={dist}"]
    return args


def node_list(ids: list[int]) -> str:
    """The kernel's list format of a node mask ("0-1,3")."""
    runs: list[list[int]] = []
    for nid in sorted(ids):
        if runs and runs[-1][1] == nid - 1:
            runs[-1][1] = nid
        else:
            runs.append([nid, nid])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def expected_masks(topo: Topology) -> dict[str, str]:
    """The /sys/devices/system/node masks the guest must report."""
    return {
        "online": node_list(list(range(topo.nodes))),
        "has_memory": node_list([n for n, m in enumerate(topo.memory) if m]),
        "has_cpu": node_list([n for n, c in enumerate(topo.cpus) if c]),
    }
