"""Reading numastat's output (numactl 2.0.16, every mode) into a ``NumastatReport``.

The text of a real numastat and the model's text load into the same
structures. Column boundaries come from the row of dashes under the column
names (each run of dashes ends where its column ends and is one character
narrower than it); the old-format table (plain ``numastat``) has no such row
and fixed 16-character columns. Tables folded to the screen width (blocks of
columns separated by a blank line) are joined back into one.
"""

from __future__ import annotations

import re

from ..procfs import ProcParseError
from .numastat_table import NO_DATA, NO_NON_ZERO_DATA, TITLES, NumastatReport, NumastatSection

_NOT_FOUND = re.compile(r'^Found no processes containing pattern: ".*"$')
_TOKEN_NOTE = re.compile(r"^Token \S+ not in hash table\.$")
_PROCESS_TITLE = re.compile(r"^Per-node process memory usage \(in MBs\) for PID (\d+) \((.*)\)$")
_KINDS = {title: kind for kind, title in TITLES.items()}
_DASHES = re.compile(r"-+")
_WORD = re.compile(r"\S+")
COMPAT_WIDTH = 16

Bounds = list[tuple[int, int]]


def parse_numastat(text: str) -> NumastatReport:
    """Every table of one numastat run's output, with its notes."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    report = NumastatReport()
    start = 0
    while start < len(lines) and _NOT_FOUND.match(lines[start]):
        report.preamble.append(lines[start])
        start += 1
    for title, body in _split_sections(lines[start:]):
        report.sections.append(_parse_section(title, body))
    return report


def _is_title(line: str) -> bool:
    return line in _KINDS or _PROCESS_TITLE.match(line) is not None


def _split_sections(lines: list[str]) -> list[tuple[str | None, list[str]]]:
    """Each table starts with a blank line and its title; the old format has neither."""
    sections: list[tuple[str | None, list[str]]] = []
    k = 0
    while k < len(lines):
        if lines[k] == "" and k + 1 < len(lines) and _is_title(lines[k + 1]):
            sections.append((lines[k + 1], []))
            k += 2
            continue
        if not sections:
            sections.append((None, []))
        sections[-1][1].append(lines[k])
        k += 1
    return sections


def _new_section(title: str | None) -> NumastatSection:
    if title is None:
        return NumastatSection("compat", decimals=0)
    process = _PROCESS_TITLE.match(title)
    if process:
        return NumastatSection("process", pid=int(process.group(1)), comm=process.group(2))
    return NumastatSection(_KINDS[title])


def _parse_section(title: str | None, body: list[str]) -> NumastatSection:
    section = _new_section(title)
    k = 0
    while k < len(body) and _TOKEN_NOTE.match(body[k]):
        section.notes.append(body[k])
        k += 1
    rest = body[k:]
    if rest in ([NO_DATA], [NO_NON_ZERO_DATA]):
        section.message = rest[0]
        return section
    if not rest:
        raise ProcParseError(f"numastat: no table under {title or 'the old-format header'!r}")
    for block in _split_blocks(rest):
        _merge_block(section, block)
    return section


def _split_blocks(lines: list[str]) -> list[list[str]]:
    """A table folded to the screen width: blocks of columns with a blank line between."""
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line == "":
            blocks.append([])
        else:
            blocks[-1].append(line)
    return [block for block in blocks if block]


def _bounds(kind: str, block: list[str]) -> tuple[int, Bounds, int]:
    """(label column width, [start, end) of each column, first data line)."""
    header = block[0]
    if kind == "compat":
        bounds, start = [], COMPAT_WIDTH
        for word in _WORD.finditer(header):
            bounds.append((start, word.end()))
            start = word.end()
        return COMPAT_WIDTH, bounds, 1
    if len(block) < 2 or not _is_rule(block[1]):
        raise ProcParseError(f"numastat: no row of dashes under {header!r}")
    runs = list(_DASHES.finditer(block[1]))
    if kind == "processes":  # the label column has its dashes too (under "PID")
        label_width, runs = runs[0].end() + 1, runs[1:]
    else:
        label_width = runs[0].start() - 1
    return label_width, [(run.start() - 1, run.end()) for run in runs], 2


def _is_rule(line: str) -> bool:
    return "-" in line and set(line) <= {"-", " "}


def _number(text: str, line: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ProcParseError(f"numastat: cannot read {text.strip()!r} in {line!r}") from None


def _merge_block(section: NumastatSection, block: list[str]) -> None:
    """Add one block's columns to the section (the first block also gives the rows)."""
    label_width, bounds, first = _bounds(section.kind, block)
    first_block = not section.widths
    if first_block:
        section.widths.append(label_width)
    section.widths += [end - start for start, end in bounds]
    section.columns += [block[0][start:end].strip() for start, end in bounds]
    after_rule, labels = False, list(section.rows)
    for n, line in enumerate(block[first:]):
        if _is_rule(line):
            after_rule = True
            continue
        values = [_number(line[start:end], line) for start, end in bounds]
        if n == 0 and values:
            section.decimals = _decimals(line[bounds[0][0]:bounds[0][1]])
        if after_rule:
            section.total = (section.total or []) + values
            continue
        label = line[:label_width].rstrip()
        if not first_block and label not in labels:
            raise ProcParseError(f"numastat: row {label!r} of a folded block is not in the first block")
        section.rows[label] = (section.rows.get(label, []) if not first_block else []) + values


def _decimals(cell: str) -> int:
    _, dot, fraction = cell.strip().partition(".")
    return len(fraction) if dot else 0
