"""numastat's tables (numactl 2.0.16 numastat.c): the cell table it fills, and the report it prints.

``Vtab`` is numastat's ``vtab_t`` with the functions that fill it
(``double_addto``, ``auto_set_col_width``, ...) and the row/column selection
of ``display_table``. What a table shows becomes a ``NumastatSection``: plain
data (column names, rows of values, the display widths), which prints back
to numastat's exact text and is also what ``parse_numastat`` reads a real
numastat's output into, so a report from a real machine and one from the
model land in the same structures.

Layout facts (numastat.c): a label column (left-justified) and data columns
(right-justified) of 16 characters; a value is ``%.2f`` MB, ``%.0f`` with
``-c``; a cell's text is cut at its width; a column of dashes is one
character narrower than the column, so one blank separates columns. ``-c``
sets every width to the longest text of the column (over all rows, shown or
not) plus one, at least 4 + 1 and at most 16. A table wider than the screen
is folded into blocks of columns separated by a blank line; numastat's
screen is ``$NUMASTAT_WIDTH``, else the terminal's width, else (not a tty)
unlimited.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

USUAL_GUTTER_WIDTH = 1
NO_FOLDING = 10_000_000  # get_screen_width() when stdout is not a tty
# Row and column flags (COL_FLAG_* and ROW_FLAG_* share their values).
FLAG_SEEN_DATA = 1 << 2
FLAG_NON_ZERO_DATA = 1 << 3
FLAG_ALWAYS_SHOW = 1 << 4

TITLES = {
    "numastat": "Per-node numastat info (in MBs):",
    "meminfo": "Per-node system memory usage (in MBs):",
    "processes": "Per-node process memory usage (in MBs)",
}
PROCESS_TITLE = "Per-node process memory usage (in MBs) for PID {pid} ({comm})"
NO_DATA = "Table has no data."
NO_NON_ZERO_DATA = "Table has no non-zero data."


@dataclass(frozen=True)
class Rep:
    """CELL_TYPE_REPCHAR: a character repeated over the column's width less the gutter."""

    char: str = "-"


Cell = float | str | Rep | None


# --- the report: what the tables show ---------------------------------------------------------


@dataclass
class NumastatSection:
    """One table numastat printed, with the line(s) above it.

    ``kind`` is ``compat`` (plain ``numastat``: pages, no title, no Total
    column), ``numastat`` (``-n``), ``meminfo`` (``-m``), ``process`` (one
    PID's Huge/Heap/Stack/Private table) or ``processes`` (one row per PID).
    ``rows`` maps each label to one value per column, in MB (pages for
    ``compat``); ``total`` is the Total row of process tables. ``widths``
    are the display widths of the label column and of each column.
    """

    kind: str
    columns: list[str] = field(default_factory=list)
    rows: dict[str, list[float]] = field(default_factory=dict)
    total: list[float] | None = None
    decimals: int = 2
    widths: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    message: str | None = None
    pid: int | None = None
    comm: str | None = None

    @property
    def title(self) -> str | None:
        if self.kind == "compat":
            return None
        if self.kind == "process":
            return PROCESS_TITLE.format(pid=self.pid, comm=self.comm)
        return TITLES[self.kind]

    def value(self, row: str, column: str) -> float:
        """One cell, e.g. ``value("Numa_Hit", "Node 1")`` (``Total`` names the total row)."""
        values = self.total if row == "Total" and self.total is not None else self.rows[row]
        return values[self.columns.index(column)]

    def rounded(self) -> NumastatSection:
        """The section with each value as printed (what a parser reads back)."""
        return replace(self, rows={label: [_as_printed(v, self.decimals) for v in values]
                                   for label, values in self.rows.items()},
                       total=None if self.total is None else [_as_printed(v, self.decimals)
                                                              for v in self.total],
                       columns=list(self.columns), widths=list(self.widths), notes=list(self.notes))

    def lines(self, screen_width: int = NO_FOLDING) -> list[str]:
        """The section's lines as numastat prints them."""
        out = [] if self.title is None else ["", self.title]
        out += self.notes
        if self.message is not None:
            return [*out, self.message]
        grid = self._grid()
        for n, block in enumerate(_blocks(self.widths, screen_width)):
            if n:
                out.append("")
            out += [self._line(label, cells, block) for label, cells in grid]
        return out

    def _grid(self) -> list[tuple[Cell, list[Cell]]]:
        ncols = len(self.columns)
        grid: list[tuple[Cell, list[Cell]]] = [("PID" if self.kind == "processes" else None,
                                                 list(self.columns))]
        if self.kind != "compat":
            grid.append((Rep() if self.kind == "processes" else None, [Rep()] * ncols))
        grid += [(label, list(values)) for label, values in self.rows.items()]
        if self.total is not None:
            grid += [(Rep(), [Rep()] * ncols), ("Total", list(self.total))]
        return grid

    def _line(self, label: Cell, cells: list[Cell], block: range) -> str:
        text = justify(label, self.widths[0], 0, left=True)
        return text + "".join(justify(cells[c], self.widths[1 + c], self.decimals, left=False)
                              for c in block)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "pid": self.pid, "comm": self.comm,
                "columns": self.columns,
                "rows": {label: [_json_number(v) for v in values] for label, values in self.rows.items()},
                "total": None if self.total is None else [_json_number(v) for v in self.total],
                "unit": "pages" if self.kind == "compat" else "MB", "decimals": self.decimals,
                "widths": self.widths, "notes": self.notes, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NumastatSection:
        total = data.get("total")
        return cls(kind=data["kind"], columns=list(data["columns"]),
                   rows={label: [float(v) for v in values] for label, values in data["rows"].items()},
                   total=None if total is None else [float(v) for v in total],
                   decimals=int(data["decimals"]), widths=list(data["widths"]),
                   notes=list(data.get("notes", [])), message=data.get("message"),
                   pid=data.get("pid"), comm=data.get("comm"))


@dataclass
class NumastatReport:
    """Everything one numastat run prints: lines printed while reading the
    arguments (``Found no processes containing pattern: "x"``), then tables."""

    sections: list[NumastatSection] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)

    def text(self, screen_width: int = NO_FOLDING) -> str:
        lines = list(self.preamble)
        for section in self.sections:
            lines += section.lines(screen_width)
        return "".join(line + "\n" for line in lines)

    def section(self, kind: str) -> NumastatSection:
        """The first section of this kind (``numastat``, ``meminfo``, ``process``, ...)."""
        for section in self.sections:
            if section.kind == kind:
                return section
        raise KeyError(f"the report has no {kind} table")

    def rounded(self) -> NumastatReport:
        return NumastatReport([s.rounded() for s in self.sections], list(self.preamble))

    def to_json(self) -> dict[str, Any]:
        return {"report": "numastat", "preamble": self.preamble,
                "sections": [section.to_json() for section in self.sections]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NumastatReport:
        return cls([NumastatSection.from_json(s) for s in data["sections"]], list(data.get("preamble", [])))


def _as_printed(value: float, decimals: int) -> float:
    return float(f"{value:.{decimals}f}")


def _json_number(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def fmt_cell_data(cell: Cell, max_width: int, decimal_places: int) -> str:
    """A cell's text, cut at ``max_width`` (numastat.c fmt_cell_data)."""
    if cell is None:
        text = ""
    elif isinstance(cell, Rep):
        text = cell.char * (max_width - USUAL_GUTTER_WIDTH)
    elif isinstance(cell, str):
        text = cell
    else:
        text = f"{cell:.{decimal_places}f}"
    return text[:max_width]


def justify(cell: Cell, width: int, decimal_places: int, left: bool) -> str:
    """display_justified_cell: left- or right-justified in exactly ``width`` columns."""
    text = fmt_cell_data(cell, width, decimal_places)
    return text.ljust(width) if left else text.rjust(width)


def _blocks(widths: list[int], screen_width: int) -> Iterator[range]:
    """Fold the data columns into blocks that fit the screen after the label column.
    Each block takes at least one column, as display_table does."""
    ncols, start = len(widths) - 1, 0
    while start < ncols:
        line, col = widths[0], start
        while True:
            line += widths[1 + col]
            col += 1
            if col >= ncols or line + widths[1 + col] > screen_width:
                break
        yield range(start, col)
        start = col


# --- the table numastat fills -------------------------------------------------------------------


class Vtab:
    """vtab_t: header rows and columns, data cells, per-row and per-column flags.

    Flags only ever gain bits (set_row_flag ORs), also when numastat reuses the
    table for the next PID: a row shown for one PID stays shown for the next.
    """

    def __init__(self, header_rows: int, header_cols: int, data_rows: int, data_cols: int) -> None:
        self.header_rows, self.header_cols = header_rows, header_cols
        nrows, ncols = header_rows + data_rows, header_cols + data_cols
        self.cell: list[list[Cell]] = [[None] * ncols for _ in range(nrows)]
        self.row_flags = [0] * nrows
        self.col_flags = [0] * ncols
        self.col_width = [0] * ncols
        self.col_decimal_places = [0] * ncols
        self.row_ix_map = list(range(nrows))

    @property
    def nrows(self) -> int:
        return len(self.cell)

    @property
    def ncols(self) -> int:
        return len(self.cell[0])

    def data_cells(self) -> Iterator[tuple[int, int]]:
        for row in range(self.header_rows, self.nrows):
            for col in range(self.header_cols, self.ncols):
                yield row, col

    def zero_table_data(self) -> None:
        for row, col in self.data_cells():
            self.cell[row][col] = 0.0

    def double_addto(self, row: int, col: int, value: float) -> None:
        current = self.cell[row][col]
        self.cell[row][col] = (current if isinstance(current, float) else 0.0) + value

    def set_col_width(self, col: int, width: int) -> None:
        self.col_width[col] = min(width, 127)  # SMALL_BUF_SIZE - 1

    def auto_set_col_width(self, col: int, min_width: int, max_width: int) -> None:
        """The longest text of the column over every row (shown or not, dashes
        excluded), plus the gutter, within [min_width + 1, max_width]."""
        width = min_width
        for row in range(self.nrows):
            cell = self.cell[row][col]
            if not isinstance(cell, Rep):
                width = max(width, len(fmt_cell_data(cell, max_width, self.col_decimal_places[col])))
        self.col_width[col] = min(width + USUAL_GUTTER_WIDTH, max_width)

    def _mark_data(self) -> tuple[bool, bool]:
        """display_table's first pass: flag rows and columns holding data."""
        seen = non_zero = False
        for row, col in self.data_cells():
            cell = self.cell[row][col]
            if cell is None or isinstance(cell, Rep):
                continue
            seen = True
            self.row_flags[row] |= FLAG_SEEN_DATA
            self.col_flags[col] |= FLAG_SEEN_DATA
            if isinstance(cell, str) or cell != 0.0:
                non_zero = True
                self.row_flags[row] |= FLAG_NON_ZERO_DATA
                self.col_flags[col] |= FLAG_NON_ZERO_DATA
        return seen, non_zero

    @staticmethod
    def _shows(flags: int, show_zero: bool) -> bool:
        return bool(flags & FLAG_ALWAYS_SHOW) or (
            bool(flags & FLAG_SEEN_DATA) and (show_zero or bool(flags & FLAG_NON_ZERO_DATA)))

    def display_table(self, section: NumastatSection, show_zero: bool) -> NumastatSection:
        """Fill ``section`` with what display_table would print: rows without data
        are never shown; with ``show_zero`` False, neither are rows and columns of
        zeros (numastat -z)."""
        seen, non_zero = self._mark_data()
        if not seen:
            section.message = NO_DATA
            return section
        if not non_zero and not show_zero:
            section.message = NO_NON_ZERO_DATA
            return section
        cols = [c for c in range(self.header_cols, self.ncols) if self._shows(self.col_flags[c], show_zero)]
        rows = [r for r in self.row_ix_map
                if r >= self.header_rows and self._shows(self.row_flags[r], show_zero)]
        section.columns = [str(self.cell[0][c]) for c in cols]
        section.widths = [self.col_width[0]] + [self.col_width[c] for c in cols]
        section.decimals = self.col_decimal_places[cols[0]] if cols else 0
        self._fill_rows(section, rows, cols)
        return section

    def _fill_rows(self, section: NumastatSection, rows: list[int], cols: list[int]) -> None:
        after_rule = False
        for row in rows:
            cells = [self.cell[row][c] for c in cols]
            if cells and all(isinstance(cell, Rep) for cell in cells):
                after_rule = True  # the dashes above a process table's Total row
                continue
            values = [cell if isinstance(cell, float) else 0.0 for cell in cells]
            if after_rule:
                section.total = values
            else:
                section.rows[str(self.cell[row][0])] = values
