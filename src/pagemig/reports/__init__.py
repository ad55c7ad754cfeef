"""Reports in the formats people already read (issue #7).

/proc/PID/numa_maps, numactl's numastat (every mode), /proc/vmstat and
/proc/zoneinfo, rendered from a model ``Machine`` exactly as the kernel and
numastat print them, parsed back (from the model or a real machine) into
the same structures, and written as JSON.

>>> from pagemig import Machine, PAGE_SIZE
>>> m = Machine(nodes=2, node_memory="64MiB")
>>> p = m.spawn(uid=1000, cpu=0)
>>> a = p.mmap(2 * PAGE_SIZE)
>>> p.write(a, b"x" * (2 * PAGE_SIZE))
>>> print(numa_maps_text(p), end="")
7ffff7ffd000 default anon=2 dirty=2 active=0 N0=2 kernelpagesize_kB=4
>>> report = numastat_report(m, NumastatOptions(processes=(str(p.pid),)))
>>> report.section("process").value("Private", "Node 0") == 2 * PAGE_SIZE / 2**20
True
"""

from .formats import dumps, load_report, numa_maps_json, vmstat_json, zoneinfo_json
from .node import node_read_meminfo, node_read_numastat
from .numa_maps import mpol_to_str, numa_maps, numa_maps_text, show_numa_map
from .numastat import (
    NodeFiles,
    NumastatOptions,
    NumastatSource,
    ProcessFiles,
    model_source,
    numastat_report,
    run_numastat,
)
from .numastat_parse import parse_numastat
from .numastat_table import NumastatReport, NumastatSection

__all__ = [
    "NodeFiles",
    "NumastatOptions",
    "NumastatReport",
    "NumastatSection",
    "NumastatSource",
    "ProcessFiles",
    "dumps",
    "load_report",
    "model_source",
    "mpol_to_str",
    "node_read_meminfo",
    "node_read_numastat",
    "numa_maps",
    "numa_maps_json",
    "numa_maps_text",
    "numastat_report",
    "parse_numastat",
    "run_numastat",
    "show_numa_map",
    "vmstat_json",
    "zoneinfo_json",
]
