"""``pagemig demo``: the machine's topology and zone counters.

The narrated migration demo arrives with the system calls; until then the
demo shows the simulated hardware and the counters every later step moves.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from ..machine import Machine
from ..mm.gfp import GFP_HIGHUSER_MOVABLE, GFP_THISNODE
from ..mm.mmzone import ZoneStatItem
from ..mm.page import PAGE_SIZE, SetPageSwapBacked
from ..mm.page_alloc import alloc_pages_exact_node
from ..mm.swap import lru_add_drain_all, lru_cache_add_anon
from ..units import format_size
from .app import app

_SHOWN = (ZoneStatItem.NR_FREE_PAGES, ZoneStatItem.NR_INACTIVE_ANON, ZoneStatItem.NR_ACTIVE_ANON,
          ZoneStatItem.NR_INACTIVE_FILE, ZoneStatItem.NR_ACTIVE_FILE, ZoneStatItem.NR_UNEVICTABLE,
          ZoneStatItem.NR_ISOLATED_ANON, ZoneStatItem.NR_ISOLATED_FILE, ZoneStatItem.NUMA_HIT,
          ZoneStatItem.NUMA_MISS)


def topology_table(machine: Machine) -> Table:
    table = Table(title="Topology")
    table.add_column("node", justify="right")
    table.add_column("memory", justify="right")
    table.add_column("pfns")
    table.add_column("cpus")
    for nid in range(machine.nr_nodes):
        table.add_column(f"d{nid}", justify="right")
    for node in machine.nodes:
        pfns = (f"{node.node_start_pfn:#x}-{node.node_end_pfn - 1:#x}"
                if node.node_spanned_pages else "(memoryless)")
        table.add_row(str(node.node_id), format_size(node.node_present_pages * PAGE_SIZE), pfns,
                      ",".join(map(str, node.cpus)) or "-",
                      *(str(d) for d in machine.distances[node.node_id]))
    return table


def zone_table(machine: Machine) -> Table:
    zones = [zone for zone in machine.zones() if zone.present_pages]
    table = Table(title="Zone counters (pages)")
    table.add_column("counter")
    for zone in zones:
        table.add_column(f"{zone.node_id}:{zone.name}", justify="right")
    for item in _SHOWN:
        table.add_row(item.name.lower(), *(str(zone.vm_stat[item]) for zone in zones))
    return table


@app.command()
def demo(
    nodes: int = typer.Option(2, help="Number of NUMA nodes."),
    memory: str = typer.Option("64MiB", help="Memory per node, e.g. 64MiB or 1GiB."),
    pages: int = typer.Option(100, help="Anonymous pages to allocate on the last node."),
) -> None:
    """Show a simulated machine's topology and zone counters.

    Example: pagemig demo --nodes 4 --memory 1GiB
    """
    if pages < 0:
        raise typer.BadParameter("must not be negative", param_hint="--pages")
    console = Console()
    machine = Machine(nodes=nodes, node_memory=memory)
    console.print(topology_table(machine))
    target = machine.nr_nodes - 1
    allocated = []
    for _ in range(pages):
        page = alloc_pages_exact_node(machine, target, GFP_HIGHUSER_MOVABLE | GFP_THISNODE)
        if page is None:
            break
        machine.pin(page)
        SetPageSwapBacked(page)
        lru_cache_add_anon(page)
        allocated.append(page)
    lru_add_drain_all(machine)
    machine.check()
    console.print(f"Allocated {len(allocated)} anonymous pages on node {target} "
                  "(GFP_HIGHUSER_MOVABLE | GFP_THISNODE) and put them on the LRU; "
                  "Machine.check() holds.")
    console.print(zone_table(machine))
