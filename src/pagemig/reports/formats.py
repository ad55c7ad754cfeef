"""Every report as text and as JSON, from a model machine, and back from JSON.

The texts are the kernel's (/proc/vmstat and /proc/zoneinfo from
``pagemig.mm.vmstat``, /proc/PID/numa_maps from ``.numa_maps``) and
numastat's; the JSON forms are the structures their parsers produce
(``pagemig.procfs``, ``pagemig.real.procfs``, ``.numastat_parse``), so a
JSON report of the model and one made from a real machine's text have the
same shape. Every JSON report names itself: ``{"report": "vmstat", ...}``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..procfs import ZoneInfo, parse_vmstat, parse_zoneinfo
from ..real.procfs import NumaMapsEntry
from .numastat_table import NumastatReport

if TYPE_CHECKING:
    from ..machine import Machine

REPORTS = ("vmstat", "zoneinfo", "numa_maps", "numastat")


def vmstat_report_text(machine: Machine) -> str:
    """/proc/vmstat of the model."""
    from ..mm.vmstat import vmstat_text

    return vmstat_text(machine)


def zoneinfo_report_text(machine: Machine) -> str:
    """/proc/zoneinfo of the model."""
    from ..mm.vmstat import zoneinfo_text

    return zoneinfo_text(machine)


def vmstat_json(text: str) -> dict[str, Any]:
    """/proc/vmstat text (of the model or any kernel) as JSON."""
    return {"report": "vmstat", "counters": parse_vmstat(text)}


def zoneinfo_json(text: str) -> dict[str, Any]:
    """/proc/zoneinfo text (of the model or any kernel) as JSON."""
    return {"report": "zoneinfo", "zones": [zone.to_json() for zone in parse_zoneinfo(text)]}


def numa_maps_json(entries: list[NumaMapsEntry], pid: int | None = None) -> dict[str, Any]:
    """Parsed /proc/PID/numa_maps as JSON."""
    return {"report": "numa_maps", "pid": pid, "entries": [entry.to_json() for entry in entries]}


def dumps(report: dict[str, Any]) -> str:
    """The JSON text of a report: indented, keys in the order the report gives them."""
    return json.dumps(report, indent=2) + "\n"


Report = dict[str, int] | list[ZoneInfo] | list[NumaMapsEntry] | NumastatReport


def load_report(data: dict[str, Any]) -> Report:
    """A JSON report back into the structures the parsers give: vmstat counters,
    ZoneInfo blocks, NumaMapsEntry lines or a NumastatReport."""
    kind = data.get("report")
    if kind == "vmstat":
        return {str(name): int(value) for name, value in data["counters"].items()}
    if kind == "zoneinfo":
        return [ZoneInfo(**zone) for zone in data["zones"]]
    if kind == "numa_maps":
        return [NumaMapsEntry.from_json(entry) for entry in data["entries"]]
    if kind == "numastat":
        return NumastatReport.from_json(data)
    raise ValueError(f"not a pagemig report: 'report' is {kind!r}, expected one of {', '.join(REPORTS)}")
