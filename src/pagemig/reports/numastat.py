"""numactl's numastat program (numastat.c, numactl 2.0.16) over a model machine or saved files.

numastat reads three kinds of files: /sys/devices/system/node/node<N>/numastat
(counters in pages), .../node<N>/meminfo (kB) and /proc/<PID>/numa_maps.
``NumastatSource`` holds their texts, taken from the model (``model_source``)
or from a real machine, and ``run_numastat`` does with them what numastat
does, option for option:

* no option at all: the old perl numastat's table, in pages (compatibility mode);
* ``-n``: the same counters in MB, with a Total column;
* ``-m``: node meminfo in MB (HugePages_* lines count huge pages);
* ``-p PID|PATTERN``: per process, the pages of its numa_maps in MB, as Huge,
  Heap, Stack and Private (everything else) for one PID (or with ``-v``), one
  row per PID otherwise; a pattern selects every process whose name or
  command line contains it;
* ``-c`` narrows the columns and prints whole MB, ``-z`` hides rows and
  columns of zeros.

``-s`` (sort) is not modelled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..mm.page import PAGE_SIZE
from ..process import Process
from ..procfs import ProcParseError
from ..real.procfs import NumaMapsEntry, parse_numa_maps
from .node import node_read_meminfo, node_read_numastat
from .numa_maps import numa_maps_text
from .numastat_table import FLAG_ALWAYS_SHOW, NumastatReport, NumastatSection, Rep, Vtab

if TYPE_CHECKING:
    from ..machine import Machine

KILOBYTE = 1024
MEGABYTE = 1024 * 1024
HUGE_PAGE_SIZE = 2 * MEGABYTE  # x86-64 Hugepagesize

# (token, label) tables of numastat.c, in display order.
PROCESS_MEMINFO = (("huge", "Huge"), ("heap", "Heap"), ("stack", "Stack"), ("N", "Private"))
PROCESS_HUGE_INDEX, PROCESS_HEAP_INDEX, PROCESS_STACK_INDEX, PROCESS_PRIVATE_INDEX = range(4)
NUMASTAT_MEMINFO = (
    ("numa_hit", "Numa_Hit"), ("numa_miss", "Numa_Miss"), ("numa_foreign", "Numa_Foreign"),
    ("interleave_hit", "Interleave_Hit"), ("local_node", "Local_Node"), ("other_node", "Other_Node"),
)
SYSTEM_MEMINFO = tuple((name, name) for name in (
    "MemTotal", "MemFree", "MemUsed", "HighTotal", "HighFree", "LowTotal", "LowFree", "Active",
    "Inactive", "Active(anon)", "Inactive(anon)", "Active(file)", "Inactive(file)", "Unevictable",
    "Mlocked", "Dirty", "Writeback", "FilePages", "Mapped", "AnonPages", "Shmem", "KernelStack",
    "PageTables", "NFS_Unstable", "Bounce", "WritebackTmp", "Slab", "SReclaimable", "SUnreclaim",
    "AnonHugePages", "ShmemHugePages", "ShmemPmdMapped", "HugePages_Total", "HugePages_Free",
    "HugePages_Surp", "KReclaimable",
))
_DELIMITERS = re.compile(r"[ \t\r\n:]+")
_ATOL = re.compile(r"\s*([+-]?\d+)")


@dataclass
class NodeFiles:
    """/sys/devices/system/node/node<node>/numastat and meminfo."""

    node: int
    numastat: str
    meminfo: str


@dataclass
class ProcessFiles:
    """What numastat reads of one process: the Name of /proc/PID/status, the
    command line (NULs as blanks) and /proc/PID/numa_maps."""

    pid: int
    name: str
    numa_maps: str
    cmdline: str = ""


@dataclass
class NumastatSource:
    """The files one numastat run reads, and the page sizes it multiplies by."""

    nodes: list[NodeFiles]
    processes: list[ProcessFiles] = field(default_factory=list)
    page_size: int = 4096
    huge_page_size: int = HUGE_PAGE_SIZE

    def sorted_nodes(self) -> list[NodeFiles]:
        """init_node_ix_map_and_header: nodes in increasing order."""
        return sorted(self.nodes, key=lambda n: n.node)

    def process(self, pid: int) -> ProcessFiles:
        for proc in self.processes:
            if proc.pid == pid:
                return proc
        raise ValueError(f"-p {pid}: no such process")


@dataclass(frozen=True)
class NumastatOptions:
    """numastat's command line: ``processes`` are the ``-p`` arguments (PIDs or patterns)."""

    processes: tuple[str, ...] = ()
    meminfo: bool = False  # -m
    numastat: bool = False  # -n
    compress: bool = False  # -c
    skip_zero: bool = False  # -z
    verbose: bool = False  # -v

    @property
    def compatibility_mode(self) -> bool:
        """No option and no argument: behave as the old perl numastat."""
        return self == NumastatOptions()


def run_numastat(source: NumastatSource, options: NumastatOptions) -> NumastatReport:
    """What numastat prints for these files and options (numastat.c main)."""
    report = NumastatReport()
    if options.compatibility_mode:
        report.sections.append(show_numastat_info(source, options))
        return report
    pids = select_pids(source, options.processes, report.preamble)
    if pids:
        report.sections += show_process_info(source, options, pids)
    if options.meminfo:
        report.sections.append(show_info_from_system_file(source, options, "meminfo"))
    if options.numastat or (not pids and not options.meminfo):
        report.sections.append(show_numastat_info(source, options))
    return report


def select_pids(source: NumastatSource, specs: tuple[str, ...], preamble: list[str]) -> list[int]:
    """PIDs as given, and the processes whose "Name cmdline" contains a pattern;
    sorted, without duplicates (add_pids_from_pattern_search,
    sort_pids_and_remove_duplicates)."""
    pids: list[int] = []
    for spec in specs:
        if spec.isascii() and spec.isdigit():
            pids.append(int(spec))
            continue
        found = [proc.pid for proc in source.processes if spec in f"{proc.name} {proc.cmdline}"]
        if not found:
            preamble.append(f'Found no processes containing pattern: "{spec}"')
        pids += found
    return sorted(set(pids))


# --- system files: numastat and meminfo ------------------------------------------------------


def show_numastat_info(source: NumastatSource, options: NumastatOptions) -> NumastatSection:
    """The node counters (numastat.c show_numastat_info)."""
    return show_info_from_system_file(source, options, "numastat")


def show_info_from_system_file(source: NumastatSource, options: NumastatOptions,
                               kind: str) -> NumastatSection:
    """One table of a per-node sysfs file: ``kind`` is ``numastat`` or ``meminfo``.

    In compatibility mode the labels are the file's tokens, the columns
    ``node<N>``, the values pages, and there is no Total column (numastat
    fills one but gives it width 0, so it prints nothing).
    """
    compat = options.compatibility_mode
    meminfo = SYSTEM_MEMINFO if kind == "meminfo" else NUMASTAT_MEMINFO
    nodes = source.sorted_nodes()
    header_rows = 1 if compat else 2
    table = Vtab(header_rows, 1, len(meminfo), len(nodes) + (0 if compat else 1))
    for row, (token, label) in enumerate(meminfo):
        table.cell[header_rows + row][0] = token if compat else label
    table.set_col_width(0, 16)
    headers = [f"node{n.node}" if compat else f"Node {n.node}" for n in nodes]
    for col, header in enumerate(headers if compat else [*headers, "Total"], start=1):
        table.cell[0][col] = header
        if not compat:
            table.cell[1][col] = Rep()
            table.col_decimal_places[col] = 0 if options.compress else 2
        table.set_col_width(col, 16)
    section = NumastatSection("compat" if compat else kind)
    index = {token: row for row, (token, _) in enumerate(meminfo)}
    for col, node in enumerate(nodes, start=1):
        text = node.meminfo if kind == "meminfo" else node.numastat
        _read_system_file(table, section, text, index, col, 2 if kind == "meminfo" else 0, source)
    if options.compress:
        for col in range(table.ncols):
            table.auto_set_col_width(col, 4, 16)
    return table.display_table(section, show_zero=not options.skip_zero)


def _read_system_file(table: Vtab, section: NumastatSection, text: str, index: Mapping[str, int],
                      col: int, tok_offset: int, source: NumastatSource) -> None:
    """Store one node's values: meminfo lines read ``Node 3 Inactive:  210680 kB``
    (the name is the third word), numastat lines ``numa_miss 16463``. A name
    numastat does not know is reported (``Token X not in hash table.``) and skipped."""
    compat = table.header_rows == 1
    for line in text.splitlines():
        tokens = [t for t in _DELIMITERS.split(line) if t]
        if not tokens:
            continue
        if len(tokens) < 2 + tok_offset:
            raise ProcParseError(f"numastat: cannot read node file line {line!r}")
        row = index.get(tokens[tok_offset])
        if row is None:
            section.notes.append(f"Token {tokens[tok_offset]} not in hash table.")
            continue
        value = float(_atol(tokens[1 + tok_offset]))
        if not compat:
            value = value * _multiplier(tokens, source) / MEGABYTE
        table.cell[table.header_rows + row][col] = value
        if not compat:
            table.double_addto(table.header_rows + row, table.ncols - 1, value)


def _multiplier(tokens: list[str], source: NumastatSource) -> float:
    if len(tokens) < 4:
        return float(source.page_size)  # a numastat line: pages
    if tokens[2].startswith("HugePages"):
        return float(source.huge_page_size)
    if len(tokens) > 4 and tokens[4].startswith("kB"):
        return float(KILOBYTE)
    return 1.0


def _atol(text: str) -> int:
    match = _ATOL.match(text)
    return int(match.group(1)) if match else 0


# --- processes -------------------------------------------------------------------------------------


def show_process_info(source: NumastatSource, options: NumastatOptions,
                      pids: list[int]) -> list[NumastatSection]:
    """The process tables (numastat.c show_process_info): one per PID with its
    categories when there is one PID (or -v), else one table with a row per PID.
    The table is reused from PID to PID, flags and all."""
    nodes = source.sorted_nodes()
    sub_categories = options.verbose or len(pids) == 1
    data_rows = len(PROCESS_MEMINFO) if sub_categories else len(pids)
    table = _process_table(nodes, data_rows, options.compress)
    if sub_categories:
        for row, (_, label) in enumerate(PROCESS_MEMINFO, start=2):
            table.cell[row][0] = label
    else:
        table.cell[0][0], table.cell[1][0] = "PID", Rep()
    columns = {node.node: col for col, node in enumerate(nodes, start=1)}
    sections = []
    summary = NumastatSection("processes")
    for pid_ix, pid in enumerate(pids):
        proc = source.process(pid)
        if sub_categories and pid_ix > 0:
            table.zero_table_data()
        if not sub_categories:
            table.cell[2 + pid_ix][0] = f"{pid} ({proc.name})"
        for entry in parse_numa_maps(proc.numa_maps):
            category = _category(entry)
            row = 2 + (category if sub_categories else pid_ix)
            size = source.huge_page_size if category == PROCESS_HUGE_INDEX else source.page_size
            _add_pages(table, row, entry, columns, float(size))
        if sub_categories or pid_ix + 1 == len(pids):
            section = NumastatSection("process", pid=pid, comm=proc.name) if sub_categories else summary
            sections.append(_display_process_table(table, section, options))
    return sections


def _process_table(nodes: list[NodeFiles], data_rows: int, compress: bool) -> Vtab:
    """Two header rows, the data rows, a rule and a Total row; a Total column."""
    table = Vtab(2, 1, data_rows + 2, len(nodes) + 1)
    table.cell[table.nrows - 1][0] = "Total"
    table.set_col_width(0, 16)
    for col, header in enumerate([*(f"Node {n.node}" for n in nodes), "Total"], start=1):
        table.cell[0][col], table.cell[1][col] = header, Rep()
        table.set_col_width(col, 16)
        table.col_decimal_places[col] = 0 if compress else 2
    table.zero_table_data()
    return table


def _category(entry: NumaMapsEntry) -> int:
    """numastat takes the first of huge/heap/stack among a line's words (heap
    and stack come before huge); anything else is Private."""
    if entry.heap:
        return PROCESS_HEAP_INDEX
    if entry.stack:
        return PROCESS_STACK_INDEX
    return PROCESS_HUGE_INDEX if entry.huge else PROCESS_PRIVATE_INDEX


def _add_pages(table: Vtab, row: int, entry: NumaMapsEntry, columns: Mapping[int, int],
               size: float) -> None:
    """Each N<node>=<pages> of a line, in MB, into its cell, the row's total, the
    column's total and the grand total, in numastat's order."""
    total_row, total_col = table.nrows - 1, table.ncols - 1
    for node, pages in entry.nodes.items():
        if node not in columns:
            raise ValueError(f"numa_maps names node {node}, which the machine does not have")
        value = float(pages) * size / MEGABYTE
        col = columns[node]
        for r, c in ((row, col), (row, total_col), (total_row, col), (total_row, total_col)):
            table.double_addto(r, c, value)


def _display_process_table(table: Vtab, section: NumastatSection,
                           options: NumastatOptions) -> NumastatSection:
    if options.compress:
        for col in range(table.ncols):
            table.auto_set_col_width(col, 4, 16)
    else:
        # Wider labels, so that "PID (command)" is not cut in an annoying way.
        table.auto_set_col_width(0, 16, 24)
    rule = table.nrows - 2
    table.row_flags[rule] |= FLAG_ALWAYS_SHOW
    table.cell[rule] = [Rep()] * table.ncols
    return table.display_table(section, show_zero=not options.skip_zero)


# --- the model's files -------------------------------------------------------------------------------


def model_source(machine: Machine, names: Mapping[str, Process] | None = None) -> NumastatSource:
    """The files of a model machine: every node's numastat and meminfo, and every
    task's numa_maps (empty for kernel threads). The command line of a task is
    its name in ``names`` (a scenario's process names), so patterns find it."""
    nodes = [NodeFiles(nid, node_read_numastat(machine, nid), node_read_meminfo(machine, nid))
             for nid in range(machine.nr_nodes)]
    cmdlines: dict[int, list[str]] = {}
    for name, proc in (names or {}).items():
        cmdlines.setdefault(id(proc.task), []).append(name)
    processes = []
    for pid in sorted(machine.pid_table.tasks):
        task = machine.pid_table.tasks[pid]
        text = numa_maps_text(Process(machine, task)) if task.mm is not None else ""
        processes.append(ProcessFiles(pid, task.comm, text, " ".join(cmdlines.get(id(task), []))))
    return NumastatSource(nodes, processes, PAGE_SIZE, HUGE_PAGE_SIZE)


def numastat_report(machine: Machine, options: NumastatOptions | None = None,
                    names: Mapping[str, Process] | None = None) -> NumastatReport:
    """numastat with ``options`` on a model machine."""
    return run_numastat(model_source(machine, names), options or NumastatOptions())
