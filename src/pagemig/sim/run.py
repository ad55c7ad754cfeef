"""One replay described by text options: what ``pagemig sim`` and every cell
of a sweep (``pagemig.sweep``) build a ``Simulation`` from.

``SimSpec`` holds the options as the command line or a grid file gives them
(strings, parameters as ``name=text`` pairs); ``SimSpec.simulation(trace)``
checks them and builds the ``Simulation``. Every bad option is a
``ValueError`` (or ``TypeError``) whose message names the option, with the
spelling the caller asks for (``labels``: ``{"node_memory": "--node-memory"}``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cost import CostParams
    from .policies.base import Policy
    from .replay import SimConfig, Simulation
    from .topology import Topology
    from .trace.format import TraceReader


@dataclass(frozen=True)
class SimSpec:
    """The options of one replay, as text (see ``pagemig sim --help``)."""

    topology: str = "dram-cxl"
    policy: str = "first-touch"
    params: tuple[tuple[str, str], ...] = ()   # policy parameters, name=text
    cost: tuple[tuple[str, str], ...] = ()     # CostParams figures, name=text
    profile: str = "2.6.35"
    epoch: str | None = None
    threads_on: str = "spread"
    node_memory: str | None = None             # "1GiB,8GiB": one size per node
    mapping: str = "anon"
    seed: int = 0

    def make_topology(self, labels: Mapping[str, str] | None = None) -> Topology:
        from .topology import topology

        topo = topology(self.topology)
        if self.node_memory is not None:
            topo = topo.with_memory(node_memory(self.node_memory, topo.nr_nodes,
                                                _label(labels, "node_memory")))
        return topo

    def make_policy(self) -> Policy:
        from .policies import make_policy

        return make_policy(self.policy, dict(self.params))

    def make_config(self) -> SimConfig:
        from .replay import SimConfig

        return SimConfig(epoch=self.epoch, threads_on=self.threads_on, profile=self.profile,
                         seed=self.seed, mapping=self.mapping)

    def make_cost(self, labels: Mapping[str, str] | None = None) -> CostParams:
        from .cost import CostParams
        from .policies import parse_params

        try:
            params: CostParams = parse_params(CostParams, dict(self.cost))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{_label(labels, 'cost')}: {err}") from None
        return params

    def simulation(self, trace: str | Path | TraceReader, labels: Mapping[str, str] | None = None,
                   setup: Callable[[Simulation], None] | None = None) -> Simulation:
        """The ``Simulation`` of ``trace`` under these options; ValueError, TypeError
        (a bad option) or TraceError (a bad trace) before anything runs."""
        from .replay import Simulation

        topo = self.make_topology(labels)
        policy = self.make_policy()
        return Simulation(trace, topo, policy, self.make_config(), self.make_cost(labels), setup=setup)


def node_memory(text: str, nodes: int, what: str = "node_memory") -> list[int]:
    """One size per node from ``"1GiB,8GiB"``."""
    from ..units import parse_size

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) != nodes:
        raise ValueError(f"{what} lists {len(parts)} sizes for {nodes} nodes")
    return [parse_size(p, what) for p in parts]


def key_values(items: list[str], what: str) -> tuple[tuple[str, str], ...]:
    """``NAME=VALUE`` strings as pairs; ValueError names the one that is not."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{what} {item!r} is not NAME=VALUE")
        out[key.strip()] = value.strip()
    return tuple(out.items())


def _label(labels: Mapping[str, str] | None, key: str) -> str:
    return (labels or {}).get(key, key)
