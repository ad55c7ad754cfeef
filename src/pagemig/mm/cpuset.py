"""Model of kernel/cpuset.c: the memory side of cpusets (mems_allowed, hardwall)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .gfp import _GFP_HARDWALL, _GFP_THISNODE

if TYPE_CHECKING:
    from ..machine import Machine
    from .sched import TaskStruct


class Cpuset:
    """struct cpuset: a node of the cpuset tree."""

    def __init__(self, machine: Machine, name: str, parent: Cpuset | None,
                 mems_allowed: frozenset[int], cpus_allowed: frozenset[int]) -> None:
        self.machine = machine
        self.name = name
        self.parent = parent
        self.mems_allowed = mems_allowed
        self.cpus_allowed = cpus_allowed
        self.mem_hardwall = False
        self.mem_exclusive = False
        self.memory_migrate = False
        self.children: list[Cpuset] = []

    def __repr__(self) -> str:
        return f"<cpuset {self.name} mems={sorted(self.mems_allowed)}>"


def top_cpuset(machine: Machine) -> Cpuset:
    """The root cpuset: every node with memory, every CPU."""
    return Cpuset(machine, "/", None, frozenset(machine.nodes_with_memory()),
                  frozenset(range(machine.nr_cpus)))


def cpuset_mems_allowed(task: TaskStruct) -> frozenset[int]:
    """The task's cpuset mems ∩ N_HIGH_MEMORY, walking up to an ancestor when empty."""
    cs: Cpuset | None = task.cpuset
    machine_nodes = frozenset(task.cpuset.machine.nodes_with_memory())
    while cs is not None:
        mems = cs.mems_allowed & machine_nodes
        if mems:
            return mems
        cs = cs.parent
    return machine_nodes


def nearest_hardwall_ancestor(cs: Cpuset) -> Cpuset:
    while cs.parent is not None and not (cs.mem_exclusive or cs.mem_hardwall):
        cs = cs.parent
    return cs


def cpuset_zone_allowed(task: TaskStruct | None, nid: int, gfp_mask: int) -> bool:
    """May the current task allocate on ``nid``? __GFP_THISNODE and kernel
    context are always allowed; a hardwall allocation must stay in
    mems_allowed; a softwall one may use the nearest hardwall ancestor's nodes."""
    if task is None or gfp_mask & _GFP_THISNODE or nid in task.mems_allowed:
        return True
    if gfp_mask & _GFP_HARDWALL:
        return False
    return nid in nearest_hardwall_ancestor(task.cpuset).mems_allowed
