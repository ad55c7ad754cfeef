"""The policy interface: a class with named hooks and a dataclass of parameters.

The simulation owns the machine and the clock; a policy only decides. It sees
each epoch's per-page access counts (numpy arrays indexed by page number in
the traced ranges) and asks for migrations through ``PolicyContext.migrate``,
which issues ``move_pages(2)`` from the simulated root daemon. Hooks, in the
order the simulation calls them::

    setup(ctx)                 once, before any access (may set the program's mempolicy)
    before_epoch(ctx, stats)   before each epoch, only when ``lookahead`` is True
                               (it sees the epoch it is about to replay: the oracle)
    on_epoch(ctx, stats)       after each epoch has been replayed

A policy in a file of its own is loaded with ``--policy FILE.py:ClassName``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Union

import numpy as np

from ...mm.mmzone import ZoneStatItem

if TYPE_CHECKING:
    from ...machine import Machine
    from ...process import Process
    from ..cost import CostModel
    from ..topology import Topology


@dataclass(frozen=True)
class NoParams:
    """A policy without parameters."""


@dataclass(frozen=True)
class EpochStats:
    """What happened in one epoch, as the policy sees it.

    ``page_counts[i]`` is the number of accesses to page ``i`` of the traced
    ranges in the epoch (weighted by the sample weight for sampled traces);
    ``thread_counts[j]`` those of the ``j``-th traced thread (tids in order).
    """

    index: int
    t_start: int
    t_end: int
    accesses: int
    page_counts: np.ndarray
    thread_counts: np.ndarray


@dataclass(frozen=True)
class MigrationResult:
    """What one ``PolicyContext.migrate`` gave back: per page, the node the page
    is on after the call (>= 0) or a negative errno, and the totals."""

    pages: np.ndarray
    status: np.ndarray
    succeeded: int
    failed: int


class PolicyContext:
    """What a policy may read and the one way it acts (``migrate``).

    ``node`` is a read-only view of the node of every page of the traced ranges
    (-1: never touched), kept in step with the model by first-touch results
    and migration statuses.
    """

    def __init__(self, sim: Any) -> None:
        self._sim = sim
        self.machine: Machine = sim.machine
        self.process: Process = sim.process
        self.daemon: Process = sim.daemon
        self.topology: Topology = sim.topology
        self.cost: CostModel = sim.cost
        self.n_pages: int = sim.n_pages
        self.fast_nodes: list[int] = sim.topology.fast_nodes()
        self.slow_nodes: list[int] = sim.topology.slow_nodes()
        self.thread_nodes: np.ndarray = sim.thread_nodes
        self.epoch_s: float = sim.epoch_s
        self.rng: np.random.Generator = np.random.default_rng(sim.config.seed)
        self._carry: dict[float, float] = {}
        node = sim.node.view()
        node.flags.writeable = False
        self.node: np.ndarray = node

    def addresses(self, pages: np.ndarray) -> np.ndarray:
        """The simulated process's virtual addresses of pages (indices)."""
        return typing.cast(np.ndarray, self._sim.addresses(pages))

    def migrate(self, pages: np.ndarray, nodes: int | np.ndarray) -> MigrationResult:
        """move_pages(2) of these pages to ``nodes`` (one node, or one per page),
        issued by the root daemon with MPOL_MF_MOVE in batches; the statuses
        are counted in the metrics and the node array follows them."""
        return typing.cast(MigrationResult, self._sim.migrate(pages, nodes))

    def free_pages(self, node: int) -> int:
        """Free pages of a node above its high watermarks (what an allocation
        there can still take without reclaim)."""
        free = 0
        for zone in self.machine.nodes[node].node_zones:
            if zone.present_pages:
                free += max(0, zone.vm_stat[ZoneStatItem.NR_FREE_PAGES] - zone.watermark[2] - 1)
        return free

    def budget(self, quota_pages_per_s: float) -> int:
        """Pages a quota allows in one epoch: ``quota_pages_per_s * epoch_s``, the
        fraction carried to the next epoch. Call it once per epoch per quota."""
        allowed = quota_pages_per_s * self.epoch_s + self._carry.get(quota_pages_per_s, 0.0)
        pages = int(allowed)
        self._carry[quota_pages_per_s] = allowed - pages
        return pages

    def preferred_fast_node(self) -> int:
        """The fast-tier node with most of the threads' CPUs (the first such)."""
        fast = self.fast_nodes
        counts = np.bincount(self.thread_nodes, minlength=self.topology.nr_nodes)
        return max(fast, key=lambda nid: (counts[nid], -nid))

    def default_slow_node(self, fast: int) -> int:
        """The first slow-tier node, or (one tier) the node farthest from ``fast``."""
        if self.slow_nodes:
            return self.slow_nodes[0]
        others = [nid for nid in range(self.topology.nr_nodes) if nid != fast]
        if not others:
            raise ValueError("a one-node machine has nowhere to migrate to")
        return max(others, key=lambda nid: (self.topology.distances[fast][nid], -nid))


class Policy:
    """A placement policy: override the hooks you need. ``Params`` is the
    dataclass of parameters (validated in its ``__post_init__``)."""

    name: ClassVar[str] = "policy"
    Params: ClassVar[type] = NoParams
    lookahead: ClassVar[bool] = False

    def __init__(self, params: Any = None) -> None:
        self.params = params if params is not None else self.Params()

    def setup(self, ctx: PolicyContext) -> None:
        """Before any access."""

    def before_epoch(self, ctx: PolicyContext, stats: EpochStats) -> None:
        """Before the epoch ``stats`` describes (only when ``lookahead``)."""

    def on_epoch(self, ctx: PolicyContext, stats: EpochStats) -> None:
        """After the epoch ``stats`` describes."""


def parse_params(cls: type, values: dict[str, str]) -> Any:
    """An instance of the dataclass ``cls`` from ``name=text`` pairs; ValueError
    names an unknown parameter or one that does not read as its type."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for name, text in values.items():
        if name not in known:
            raise ValueError(f"unknown parameter {name!r}" + (
                f" (known: {', '.join(known)})" if known else " (this policy takes none)"))
        try:
            kwargs[name] = _convert(hints[name], text)
        except ValueError:
            raise ValueError(f"parameter {name}: cannot read {text!r} as "
                             f"{_type_name(hints[name])}") from None
    return cls(**kwargs)


def _convert(hint: Any, text: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if text.lower() in ("none", "") and len(args) < len(typing.get_args(hint)):
            return None
        return _convert(args[0], text)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_convert(item, part) for part in text.split(",") if part.strip())
    if hint is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(text)
    if hint is int:
        return int(text.replace("_", ""), 0)
    if hint is float:
        return float(text)
    if hint is str:
        return text
    raise ValueError(text)


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)
