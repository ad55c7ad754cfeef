"""``perf mem report -D`` (``--dump-raw-samples``): one sampled load or store per line.

perf's ``tools/perf/builtin-mem.c`` (``report_raw_events``, ``dump_raw_samples``)
prints a header naming the columns, then one line per sample::

    # PID, TID, IP, ADDR, LOCAL WEIGHT, DSRC, SYMBOL
     6889  6889 0xffffffff8177df1a 0x01655bd40f8e028     0 0x1e05080021 [kernel.kallsyms]:elf_load
    6889 6889 0x7f31975cfb70 0x7f31975cfb70 0 0x1e05080021 /lib64/ld-linux-x86-64.so.2:_start

``PHYS ADDR`` and ``DATA PAGE SIZE`` columns appear after ``ADDR`` with
``perf mem -p`` / ``--data-page-size``, as the header says; ``-x SEP``
separates the columns with SEP instead of blanks. The first sample line is
printed by a different format string from the others (the ``%5d`` padding
above), whose ``ADDR`` reads ``0x016`` followed by the address in hex
(``"0x016%"PRIx64``, perf 6.1 and earlier); that line's ``016`` is dropped.

Rows: ``vaddr`` = ADDR, ``tid`` = TID, ``ip`` = IP. ``op`` comes from the
PERF_MEM_OP bits of DSRC (the low five bits of ``data_src``): LOAD gives R,
STORE W, both M, EXEC I, and NA or PFETCH R. The dump prints neither the
sample's time, its CPU nor its period: ``t`` is the sample's rank (time unit
``sequence``), ``cpu`` is null, ``size`` 0 (not recorded), and ``weight`` is
the sampling period given to the import (``--period``, the ``-c`` of
``perf mem record``), 1 when not given. LOCAL WEIGHT (the sampled latency)
and SYMBOL are not kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Final

import numpy as np

from ._text import Lines, ParseError, parse_stream
from .format import OP_FETCH, OP_MODIFY, OP_READ, OP_WRITE, AccessBatch

FORMAT: Final = "perf"
DEFAULT_COLUMNS: Final = ("PID", "TID", "IP", "ADDR", "LOCAL WEIGHT", "DSRC", "SYMBOL")
_MEM_OP_LOAD, _MEM_OP_STORE, _MEM_OP_EXEC = 0x02, 0x04, 0x10
_BUGGY_ADDR_PREFIX: Final = "0x016"


def op_of_data_src(data_src: int) -> int:
    """The access kind of a sample from its ``data_src`` mem_op bits."""
    mem_op = data_src & 0x1F
    load, store = bool(mem_op & _MEM_OP_LOAD), bool(mem_op & _MEM_OP_STORE)
    if load and store:
        return OP_MODIFY
    if store:
        return OP_WRITE
    if mem_op & _MEM_OP_EXEC and not load:
        return OP_FETCH
    return OP_READ


class PerfMemParser:
    """perf mem raw-sample lines to accesses. Samples are sparse, so each line is
    split in Python; the columns still go out as numpy arrays per chunk."""

    def __init__(self, name: str, period: int) -> None:
        self.name = name
        self.period = period
        self.columns: tuple[str, ...] = DEFAULT_COLUMNS
        self.separator: str | None = None
        self.samples = 0

    def parse(self, lines: Lines) -> AccessBatch:
        n = len(lines)
        vaddr = np.zeros(n, dtype=np.uint64)
        ip = np.zeros(n, dtype=np.uint64)
        tid = np.zeros(n, dtype=np.uint32)
        op = np.zeros(n, dtype=np.uint8)
        rows = 0
        for i in range(n):
            text = lines.text(i)
            stripped = text.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                self._header(stripped)
                continue
            try:
                fields = self._fields(stripped)
                tid[rows] = int(fields["TID"])
                ip[rows] = int(fields["IP"], 16)
                vaddr[rows] = self._address(fields["ADDR"])
                op[rows] = op_of_data_src(int(fields["DSRC"], 16))
            except (KeyError, ValueError, OverflowError) as err:
                what = f"no {err.args[0]} column" if isinstance(err, KeyError) else "bad number"
                raise lines.fail(self.name, i, f"not a perf mem sample ({what})") from None
            rows += 1
            self.samples += 1
        first = self.samples - rows
        return AccessBatch(t=np.arange(first, self.samples, dtype=np.uint64), vaddr=vaddr[:rows],
                           size=np.zeros(rows), op=op[:rows], tid=tid[:rows],
                           weight=np.full(rows, self.period, dtype=np.uint32), ip=ip[:rows])

    def _header(self, line: str) -> None:
        names = tuple(part.strip() for part in line.lstrip("#").split(","))
        if "ADDR" in names and "TID" in names:
            self.columns = names

    def _fields(self, line: str) -> dict[str, str]:
        if self.samples == 0 and self.separator is None:
            self.separator = _separator_of(line)
        # SYMBOL, the last column, may itself contain the separator.
        parts = line.split(self.separator, len(self.columns) - 1)
        if len(parts) < len(self.columns) - 1:
            raise ValueError("too few columns")
        return dict(zip(self.columns, parts, strict=False))

    def _address(self, text: str) -> int:
        if (self.samples == 0 and self.separator is None and text.startswith(_BUGGY_ADDR_PREFIX)
                and len(text) != 18):
            text = "0x" + text[len(_BUGGY_ADDR_PREFIX):]
        return int(text, 16)


def _separator_of(line: str) -> str | None:
    """The ``-x`` separator of a sample line (the character after the PID), or
    None for blank-separated columns."""
    pid_end = len(line) - len(line.lstrip("0123456789"))
    if pid_end and pid_end < len(line) and not line[pid_end].isspace():
        return line[pid_end]
    return None


def read(stream: BinaryIO, name: str, period: int = 1) -> Iterator[AccessBatch]:
    """The samples of a ``perf mem report -D`` dump, one batch per chunk of lines."""
    if period < 1:
        raise ParseError(f"{name}: the sampling period must be at least 1, got {period}")
    return parse_stream(PerfMemParser(name, period), stream)
