"""Readers for /proc/vmstat and /proc/zoneinfo text, from the model or a real Linux.

The model renders these files in the kernel's layout (``pagemig.mm.vmstat``);
the parsers here read that text and the text of any real kernel (2.6 to 6.x
layouts) into the same structures, so a report taken from a live machine and
one taken from a model compare field by field.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .machine import Machine


class ProcParseError(ValueError):
    """A line of a /proc file could not be read; the message names the line."""


def parse_vmstat(text: str) -> dict[str, int]:
    """/proc/vmstat: one ``name value`` pair per line, order kept."""
    counters: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise ProcParseError(f"vmstat line {lineno}: expected 'name value', got {line!r}")
        counters[parts[0]] = int(parts[1])
    return counters


@dataclass
class ZoneInfo:
    """One ``Node N, zone NAME`` block of /proc/zoneinfo."""

    node: int
    zone: str
    stats: dict[str, int] = field(default_factory=dict)
    protection: list[int] = field(default_factory=list)
    pagesets: list[dict[str, int]] = field(default_factory=list)
    node_stats: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_ZONE_HEADER = re.compile(r"^Node (\d+), zone\s+(\S+)\s*$")
_KEY_VALUE = re.compile(r"^\s*([A-Za-z_][\w ]*?):?\s+(-?\d+)\s*$")
_PROTECTION = re.compile(r"^\s*protection: \(([\d, ]*)\)\s*$")


def parse_zoneinfo(text: str) -> list[ZoneInfo]:
    """/proc/zoneinfo in the 2.6.35 layout or the modern one (per-node stats,
    ``managed``, ``cma``); unknown ``key value`` lines are kept, not dropped."""
    zones: list[ZoneInfo] = []
    current: ZoneInfo | None = None
    section = "zone"
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        header = _ZONE_HEADER.match(line)
        if header:
            current = ZoneInfo(int(header.group(1)), header.group(2))
            zones.append(current)
            section = "zone"
            continue
        if current is None:
            raise ProcParseError(f"zoneinfo line {lineno}: data before any 'Node N, zone X' header")
        section = _read_zoneinfo_line(current, line, section, lineno)
    return zones


def _read_zoneinfo_line(zone: ZoneInfo, line: str, section: str, lineno: int) -> str:
    stripped = line.strip()
    if stripped == "per-node stats":
        return "node"
    if stripped == "pagesets":
        return "pagesets"
    protection = _PROTECTION.match(line)
    if protection:
        zone.protection = [int(x) for x in protection.group(1).split(",") if x.strip()]
        return "zone"
    if stripped.startswith("pages free"):
        zone.stats["pages free"] = int(stripped.split()[-1])
        return "zone"
    match = _KEY_VALUE.match(line)
    if match is None:
        raise ProcParseError(f"zoneinfo line {lineno}: cannot read {line!r}")
    key, value = match.group(1).strip(), int(match.group(2))
    if section == "node" and line.startswith("      ") and not line.startswith("        "):
        zone.node_stats[key] = value
        return "node"
    if section == "pagesets" and key == "cpu":
        zone.pagesets.append({"cpu": value})
        return "pagesets"
    if section == "pagesets" and zone.pagesets and (
            line.startswith("              ") or key == "vm stats threshold"):
        zone.pagesets[-1][key] = value
        return "pagesets"
    zone.stats[key] = value
    return "zone" if section == "node" else section


def vmstat_dict(machine: Machine) -> dict[str, int]:
    from .mm.vmstat import vmstat_text

    return parse_vmstat(vmstat_text(machine))


def zoneinfo_list(machine: Machine) -> list[ZoneInfo]:
    from .mm.vmstat import zoneinfo_text

    return parse_zoneinfo(zoneinfo_text(machine))
