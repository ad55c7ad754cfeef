"""Policies that only set the program's memory policy at start: first-touch
(the default policy: the faulting CPU's node, falling back by distance),
interleave (MPOL_INTERLEAVE) and bind (MPOL_BIND). None of them migrates."""

from __future__ import annotations

from dataclasses import dataclass

from ...mm.mempolicy import MPOL_BIND, MPOL_INTERLEAVE
from .base import Policy, PolicyContext


class FirstTouch(Policy):
    """The kernel's default: each page on the node of the CPU that first touched it."""

    name = "first-touch"


@dataclass(frozen=True)
class NodesParams:
    """``nodes``: the node set (empty: the policy's default)."""

    nodes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if any(n < 0 for n in self.nodes):
            raise ValueError(f"nodes must be node ids, got {self.nodes}")


class _SetMempolicy(Policy):
    Params = NodesParams
    mode = 0

    def default_nodes(self, ctx: PolicyContext) -> list[int]:
        raise NotImplementedError

    def setup(self, ctx: PolicyContext) -> None:
        nodes = list(self.params.nodes) or self.default_nodes(ctx)
        bad = [n for n in nodes if n >= ctx.topology.nr_nodes]
        if bad:
            raise ValueError(f"{self.name}: node {bad[0]} does not exist "
                             f"(nodes are 0..{ctx.topology.nr_nodes - 1})")
        # The program's own policy, as `numactl --interleave/--membind` sets it
        # before exec: set_mempolicy(2) by the traced process itself.
        ctx.process.set_mempolicy(self.mode, nodes)


class Interleave(_SetMempolicy):
    """set_mempolicy(MPOL_INTERLEAVE, nodes): pages round-robin over ``nodes``
    (default: every node with memory) in first-touch order."""

    name = "interleave"
    mode = MPOL_INTERLEAVE

    def default_nodes(self, ctx: PolicyContext) -> list[int]:
        return ctx.machine.nodes_with_memory()


class Bind(_SetMempolicy):
    """set_mempolicy(MPOL_BIND, nodes): pages only on ``nodes`` (default: the
    fast tier); when they are full the first touch fails (the OOM killer)."""

    name = "bind"
    mode = MPOL_BIND

    def default_nodes(self, ctx: PolicyContext) -> list[int]:
        return ctx.fast_nodes
