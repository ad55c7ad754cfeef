"""Readers of the live kernel's /proc/PID/numa_maps (fs/proc/task_mmu.c show_numa_map) and /proc/vmstat.

One ``numa_maps`` line per VMA::

    7f12a000 default anon=3 dirty=3 active=0 N0=3 kernelpagesize_kB=4
    7f91ecd1f000 bind:0-1 file=/dev/zero\\040(deleted) dirty=1 N0=1 kernelpagesize_kB=4

the start address, the policy as mpol_to_str() prints it (``default``,
``local``, ``prefer:1``, ``bind=static:0-1``, ``interleave:0,2``, and on
modern kernels ``prefer (many):0-1``, ``weighted interleave:0-1``), then
``file=PATH``, ``heap`` or ``stack`` (``stack:TID`` on 3.x-4.4 kernels),
``huge``, and counters in a fixed order, each printed only when the kernel
prints it (``mapped=`` only when it differs from anon and dirty, ``active=``
only when below the page count, ...). A VMA without pages stops after the
policy and name. Absent counters are ``None`` here, so that ``to_text()``
gives back the line the kernel printed, character for character.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..procfs import ProcParseError, parse_vmstat
from .nodemask import parse_nodelist
from .sysio import KernelIO, SysIO
from .uapi import MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES, MPOL_F_STATIC_NODES, MPOL_NAMES

# Counters in the order show_numa_map() prints them, before the per-node counts.
COUNTERS = ("anon", "dirty", "mapped", "mapmax", "swapcache", "active", "writeback")
_COUNTER = re.compile(r"^([A-Za-z_]\w*)=(\d+)$")
_NODE_COUNT = re.compile(r"^N(\d+)=(\d+)$")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
_MODES = {name: mode for mode, name in MPOL_NAMES.items()}
_MODE_FLAGS = {"static": MPOL_F_STATIC_NODES, "relative": MPOL_F_RELATIVE_NODES,
               "balancing": MPOL_F_NUMA_BALANCING}


@dataclass
class NumaMapsEntry:
    """One line of /proc/PID/numa_maps: a VMA and where its pages are."""

    address: int
    policy: str
    file: str | None = None
    heap: bool = False
    stack: bool = False
    stack_tid: int | None = None
    huge: bool = False
    anon: int | None = None
    dirty: int | None = None
    mapped: int | None = None
    mapmax: int | None = None
    swapcache: int | None = None
    active: int | None = None
    writeback: int | None = None
    nodes: dict[int, int] = field(default_factory=dict)
    kernelpagesize_kB: int | None = None  # the kernel's spelling
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """Pages of the VMA present in memory (the sum of the N<node>= counts)."""
        return sum(self.nodes.values())

    @property
    def path(self) -> str | None:
        """The file name with seq_path()'s ``\\ooo`` escapes (of newline, tab, ``=``, space) undone."""
        if self.file is None:
            return None
        return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), self.file)

    @property
    def mode(self) -> int:
        """The policy's MPOL_ mode (``MPOL_F_STATIC_NODES``/``RELATIVE_NODES`` not included)."""
        return parse_policy(self.policy)[0]

    @property
    def policy_nodes(self) -> list[int]:
        return parse_policy(self.policy)[2]

    def to_text(self) -> str:
        """The line as show_numa_map() prints it, without the newline."""
        words = [f"{self.address:08x}", self.policy, *self._name_words()]
        words += [f"{name}={getattr(self, name)}" for name in COUNTERS if getattr(self, name) is not None]
        words += [f"{name}={value}" for name, value in self.extra.items()]
        words += [f"N{node}={count}" for node, count in self.nodes.items()]
        if self.kernelpagesize_kB is not None:
            words.append(f"kernelpagesize_kB={self.kernelpagesize_kB}")
        return " ".join(words)

    def _name_words(self) -> list[str]:
        words = []
        if self.file is not None:
            words.append(f"file={self.file}")
        if self.heap:
            words.append("heap")
        if self.stack:
            words.append("stack" if self.stack_tid is None else f"stack:{self.stack_tid}")
        if self.huge:
            words.append("huge")
        return words

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NumaMapsEntry:
        """Inverse of ``to_json``, also after a trip through ``json`` (node keys become strings)."""
        fields = dict(data)
        fields["nodes"] = {int(node): count for node, count in data.get("nodes", {}).items()}
        fields["extra"] = dict(data.get("extra", {}))
        return cls(**fields)


def parse_policy(text: str) -> tuple[int, int, list[int]]:
    """``(mode, mode flags, nodes)`` of a policy as mpol_to_str() prints it.

    >>> parse_policy("bind=static:0-1")
    (2, 32768, [0, 1])
    """
    head, _, nodelist = text.partition(":")
    name, _, flag_names = head.partition("=")
    if name not in _MODES:
        raise ProcParseError(f"unknown memory policy {text!r}")
    flags = 0
    for flag_name in filter(None, flag_names.split("|")):
        if flag_name not in _MODE_FLAGS:
            raise ProcParseError(f"unknown policy flag {flag_name!r} in {text!r}")
        flags |= _MODE_FLAGS[flag_name]
    return _MODES[name], flags, parse_nodelist(nodelist)


def _is_field(word: str) -> bool:
    return (word.startswith(("file=", "stack:")) or word in ("heap", "stack", "huge")
            or _COUNTER.match(word) is not None)


def parse_numa_maps_line(line: str) -> NumaMapsEntry:
    """One line of /proc/PID/numa_maps."""
    address, _, rest = line.rstrip("\n").partition(" ")
    try:
        entry = NumaMapsEntry(address=int(address, 16), policy="")
    except ValueError:
        raise ProcParseError(f"numa_maps: no start address in {line!r}") from None
    words = rest.split(" ")
    # The policy can hold spaces ("prefer (many):0-1"); it runs up to the first field.
    split = next((i for i, word in enumerate(words) if _is_field(word)), len(words))
    entry.policy = " ".join(words[:split])
    if not entry.policy:
        raise ProcParseError(f"numa_maps: no policy in {line!r}")
    for word in words[split:]:
        _read_field(entry, word, line)
    return entry


def _read_field(entry: NumaMapsEntry, word: str, line: str) -> None:
    if word.startswith("file="):
        entry.file = word[len("file="):]
    elif word in ("heap", "huge"):
        setattr(entry, word, True)
    elif word == "stack":
        entry.stack = True
    elif word.startswith("stack:") and word[len("stack:"):].isdigit():
        entry.stack, entry.stack_tid = True, int(word[len("stack:"):])
    elif node := _NODE_COUNT.match(word):
        entry.nodes[int(node.group(1))] = int(node.group(2))
    elif counter := _COUNTER.match(word):
        name, value = counter.group(1), int(counter.group(2))
        if name in COUNTERS or name == "kernelpagesize_kB":
            setattr(entry, name, value)
        else:
            entry.extra[name] = value  # a counter newer than this parser
    else:
        raise ProcParseError(f"numa_maps: cannot read {word!r} in {line!r}")


def parse_numa_maps(text: str) -> list[NumaMapsEntry]:
    """All lines of /proc/PID/numa_maps, in address order as the kernel prints them."""
    return [parse_numa_maps_line(line) for line in text.splitlines() if line.strip()]


def format_numa_maps(entries: list[NumaMapsEntry]) -> str:
    """The text of /proc/PID/numa_maps for ``entries``."""
    return "".join(entry.to_text() + "\n" for entry in entries)


def numa_maps_path(pid: int) -> str:
    return "/proc/self/numa_maps" if pid == 0 else f"/proc/{pid}/numa_maps"


def read_numa_maps(pid: int = 0, sysio: KernelIO | None = None) -> list[NumaMapsEntry]:
    """/proc/PID/numa_maps of a live process (pid 0: this one), parsed."""
    io = sysio if sysio is not None else SysIO()
    return parse_numa_maps(io.read_text(numa_maps_path(pid)))


def read_vmstat(sysio: KernelIO | None = None) -> dict[str, int]:
    """/proc/vmstat of the live kernel (pgmigrate_success, numa_pages_migrated, ...)."""
    io = sysio if sysio is not None else SysIO()
    return parse_vmstat(io.read_text("/proc/vmstat"))
