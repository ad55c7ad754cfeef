"""The live Linux kernel's move_pages(2), migrate_pages(2), mbind(2) and numa_maps, behind the model's API.

>>> from pagemig.real import this_process
>>> me = this_process()                                   # doctest: +SKIP
>>> me.move_pages(0, [addr])                              # doctest: +SKIP
MovePagesResult(status=[0], ret=0)

``this_process()`` is the caller of the system calls, as the model's
``Machine.spawn()`` process is: both satisfy ``pagemig.api.PlacementProcess``
(same methods, argument rules, results and errors), so code written
against that protocol runs on the model and on the live kernel.

All kernel I/O goes through ``sysio.SysIO``; pass a ``sysio.RecordingSysIO``
to record or replay the calls. Results are ``pagemig.results.MovePagesResult``,
shared with the model.
"""

from ..results import STATUS_UNWRITTEN, MovePagesResult, decode_status, move_pages_error
from .nodemask import MAXNODE, NODEMASK_BITS, format_nodelist, parse_nodelist
from .process import (
    Process,
    get_mempolicy,
    mbind,
    migrate_pages,
    move_pages,
    set_mempolicy,
    this_process,
)
from .procfs import NumaMapsEntry, format_numa_maps, parse_numa_maps, read_numa_maps, read_vmstat
from .sysio import KernelIO, RecordingSysIO, Reply, SysCall, SysIO
from .topology import NodeInfo, Topology, read_topology
from .uapi import (
    MPOL_BIND,
    MPOL_DEFAULT,
    MPOL_F_ADDR,
    MPOL_F_MEMS_ALLOWED,
    MPOL_F_NODE,
    MPOL_F_RELATIVE_NODES,
    MPOL_F_STATIC_NODES,
    MPOL_INTERLEAVE,
    MPOL_LOCAL,
    MPOL_MF_MOVE,
    MPOL_MF_MOVE_ALL,
    MPOL_MF_STRICT,
    MPOL_PREFERRED,
    MPOL_PREFERRED_MANY,
    MPOL_WEIGHTED_INTERLEAVE,
)

__all__ = [
    "Process", "this_process", "move_pages", "migrate_pages", "mbind", "get_mempolicy", "set_mempolicy",
    "MovePagesResult", "STATUS_UNWRITTEN", "decode_status", "move_pages_error",
    "KernelIO", "SysIO", "RecordingSysIO", "SysCall", "Reply",
    "NumaMapsEntry", "parse_numa_maps", "format_numa_maps", "read_numa_maps", "read_vmstat",
    "Topology", "NodeInfo", "read_topology",
    "MAXNODE", "NODEMASK_BITS", "parse_nodelist", "format_nodelist",
    "MPOL_DEFAULT", "MPOL_PREFERRED", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_LOCAL",
    "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES",
    "MPOL_F_NODE", "MPOL_F_ADDR", "MPOL_F_MEMS_ALLOWED",
    "MPOL_MF_STRICT", "MPOL_MF_MOVE", "MPOL_MF_MOVE_ALL",
]
