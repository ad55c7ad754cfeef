"""``pagemig demo``: a narrated migration on a simulated two-node machine.

Processes with anonymous, copy-on-write, file and shmem pages ask
move_pages(2) to move them to node 1; the table explains each page's fate;
per-node page counts and vm event deltas show what changed.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from ..machine import Machine
from ..mm.mmzone import ZoneStatItem
from ..mm.page import PAGE_SIZE
from ..mm.vmstat import VM_EVENT_NAMES
from ..results import decode_status
from ..units import format_size
from .app import app

_NODE_ITEMS = (ZoneStatItem.NR_FREE_PAGES, ZoneStatItem.NR_ANON_PAGES, ZoneStatItem.NR_FILE_PAGES,
               ZoneStatItem.NR_SHMEM, ZoneStatItem.NR_FILE_DIRTY, ZoneStatItem.NUMA_HIT)


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


def node_table(machine: Machine, title: str) -> Table:
    table = Table(title=title)
    table.add_column("counter (pages)")
    for node in machine.nodes:
        table.add_column(f"node {node.node_id}", justify="right")
    for item in _NODE_ITEMS:
        table.add_row(item.name.lower(),
                      *(str(sum(z.vm_stat[item] for z in node.node_zones)) for node in machine.nodes))
    return table


@app.command()
def demo(
    nodes: int = typer.Option(2, help="Number of NUMA nodes (at least 2)."),
    memory: str = typer.Option("64MiB", help="Memory per node, e.g. 64MiB or 1GiB."),
) -> None:
    """Run a narrated move_pages(2) on a simulated machine.

    Example: pagemig demo --nodes 4 --memory 256MiB
    """
    if nodes < 2:
        raise typer.BadParameter("a migration needs at least 2 nodes", param_hint="--nodes")
    console = Console()
    m = Machine(nodes=nodes, node_memory=memory, swap="16MiB")
    console.print(topology_table(m))

    console.print("\n[bold]1.[/] A process (uid 1000, CPU 0 on node 0) writes anonymous pages, "
                  "forks, maps an ext2 file and a shared anonymous (shmem) region.")
    p = m.spawn(uid=1000, cpu=0)
    anon = p.mmap(4 * PAGE_SIZE)
    for i in range(4):
        p.write(anon + i * PAGE_SIZE, f"anon page {i}".encode())
    untouched = p.mmap(PAGE_SIZE)
    zero = p.mmap(PAGE_SIZE)
    p.touch(zero, write=False)
    shm = p.mmap(PAGE_SIZE, shared=True)
    p.write(shm, b"shared memory")
    child = p.fork()
    # fork does not copy the ptes of shared mappings: the child maps the
    # shmem page once it touches it.
    child.read(shm, 6)
    p.write(anon, b"parent's own copy")
    f = m.create_file("/data/log", size=2 * PAGE_SIZE, fs="ext2", data=b"on disk")
    file_map = p.mmap(2 * PAGE_SIZE, file=f, shared=True)
    p.write(file_map, b"dirty file data")
    p.read(file_map + PAGE_SIZE, 4)
    m.check()
    console.print(node_table(m, "Before"))
    events_before = list(m.vm_events)

    console.print("\n[bold]2.[/] It calls move_pages(0, pages, [1, ...], MPOL_MF_MOVE).")
    cases = [
        (anon, "anonymous, written after fork (exclusively owned)"),
        (anon + PAGE_SIZE, "anonymous, shared copy-on-write with the child"),
        (untouched, "never touched"),
        (zero, "read but never written (the zero page)"),
        (file_map, "ext2 file page, dirty"),
        (file_map + PAGE_SIZE, "ext2 file page, clean"),
        (shm, "shmem page (also mapped by the child)"),
        (anon + 64 * PAGE_SIZE * 1024, "an address nothing maps"),
    ]
    result = p.move_pages(0, [addr for addr, _ in cases], [1] * len(cases), 2)
    table = Table(title=f"move_pages returned {result.ret}")
    table.add_column("page")
    table.add_column("status", justify="right")
    table.add_column("why")
    for (addr, what), status in zip(cases, result.status, strict=True):
        why = (m.account.reason_for_addr(addr) if status != 1 else None) or (
            "migrated to node 1" if status == 1 else decode_status(status))
        table.add_row(what, "-" if status is None else str(status), why)
    console.print(table)
    m.check()
    console.print("\n[bold]3.[/] root repeats the copy-on-write page with MPOL_MF_MOVE_ALL, "
                  "which needs CAP_SYS_NICE and moves the page under both processes.")
    root = m.spawn(uid=0, cpu=1)
    again = root.move_pages(p.pid, [anon + PAGE_SIZE], [1], 4)
    console.print(f"status {again.status}: parent and child now map the page on node "
                  f"{p.node_of(anon + PAGE_SIZE)} / {child.node_of(anon + PAGE_SIZE)}")
    assert child.read(anon + PAGE_SIZE, 10) == b"anon page "
    assert p.read(anon, 17) == b"parent's own copy" and p.read(file_map, 15) == b"dirty file data"
    m.check()
    console.print("Every process still reads what it wrote; Machine.check() holds.")
    console.print(node_table(m, "After"))
    deltas = Table(title="vm event deltas")
    deltas.add_column("event")
    deltas.add_column("delta", justify="right")
    for i, name in enumerate(VM_EVENT_NAMES):
        if m.vm_events[i] != events_before[i]:
            deltas.add_row(name, f"{m.vm_events[i] - events_before[i]:+d}")
    console.print(deltas)
    simulation_demo(console)


def simulation_demo(console: Console) -> None:
    """A short replay: a Zipf trace under first-touch and hot-cold on DRAM + CXL."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        console.print("\n(install the sim extra, pip install 'pagemig[sim]', for the placement simulation)")
        return
    import tempfile
    from pathlib import Path

    from ..bench import zipf_trace
    from ..sim.policies import make_policy
    from ..sim.replay import SimConfig, Simulation
    from ..sim.topology import topology

    console.print("\n[bold]4.[/] Placement simulation: 400 000 Zipf accesses over 4096 pages replayed "
                  "on DRAM (8 MiB, node 0) + CXL (64 MiB, CPU-less node 1); first touches are the "
                  "model's faults, hot-cold's migrations a root daemon's move_pages.")
    topo = topology("dram-cxl").with_memory([8 << 20, 64 << 20])
    table = Table(title="pagemig sim (see docs/simulation.md)")
    for column in ("policy", "DRAM accesses", "pages DRAM / CXL", "migrated", "modelled ms"):
        table.add_column(column, justify="right" if column != "policy" else "left")
    with tempfile.TemporaryDirectory(prefix="pagemig-demo-") as tmp:
        trace = str(Path(tmp) / "zipf.parquet")
        zipf_trace(trace, 400_000, 4096, seed=1)
        for name in ("first-touch", "hot-cold"):
            sim = Simulation(trace, topo, make_policy(name), SimConfig(epoch="40000"))
            s = sim.run().summary
            sim.machine.check()
            mig = s["migrations"]
            table.add_row(name, f"{s['fast_tier_ratio']:.1%}", " / ".join(map(str, s["pages_per_node"])),
                          f"{mig['succeeded']}" + (f" ({mig['failed']} failed)" if mig["failed"] else ""),
                          f"{s['modelled_time_s']['total'] * 1e3:.1f}")
    console.print(table)
