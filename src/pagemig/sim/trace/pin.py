"""Intel Pin's ``pinatrace`` tool (source/tools/ManualExamples/pinatrace.cpp).

One line per memory operand of each executed instruction, printed with
``fprintf(trace, "%p: R %p\\n", ip, addr)`` (``W`` for a write; an operand both
read and written gives an R line then a W line), and ``#eof`` when the program
ends::

    0x7f6d3c21f093: W 0x7ffd0c6ad4f8
    0x7f6d3c21fd9a: R 0x7f6d3c23ee70
    #eof

pinatrace records neither the access size, nor the thread, nor a clock:
``size`` is 0 (not recorded), ``tid`` 0, and ``t`` the line's rank among the
accesses (time unit ``sequence``). Lines starting with ``#`` are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Final

import numpy as np

from ._text import Lines, find_byte, first_false, parse_hex, read_lines
from .format import OP_READ, OP_WRITE, AccessBatch

FORMAT: Final = "pin"


def _parse(lines: Lines, name: str, seen: int) -> AccessBatch:
    c0, c1 = lines.byte(0), lines.byte(1)
    skip = (c0 == ord("#")) | (lines.end == lines.start)
    rows = np.flatnonzero(~skip)
    start, end = lines.start[rows], lines.end[rows]
    colon, found = find_byte(lines, ":", start, end)
    ip, ip_ok = parse_hex(lines, start + 2, colon)
    after = colon - start                          # offsets from the line start
    op_char = lines.byte(after + 2, rows)
    addr, addr_ok = parse_hex(lines, colon + 6, end)
    ok = (found & ip_ok & addr_ok & (c0[rows] == ord("0")) & (c1[rows] == ord("x"))
          & (lines.byte(after + 1, rows) == ord(" ")) & np.isin(op_char, (ord("R"), ord("W")))
          & (lines.byte(after + 3, rows) == ord(" ")) & (lines.byte(after + 4, rows) == ord("0"))
          & (lines.byte(after + 5, rows) == ord("x")))
    bad = first_false(ok)
    if bad is not None:
        raise lines.fail(name, int(rows[bad]), "expected 'IP: R ADDR' or 'IP: W ADDR'")
    n = len(rows)
    return AccessBatch(t=np.arange(seen, seen + n, dtype=np.uint64), vaddr=addr,
                       size=np.zeros(n), op=np.where(op_char == ord("W"), OP_WRITE, OP_READ),
                       tid=np.zeros(n), ip=ip)


def read(stream: BinaryIO, name: str) -> Iterator[AccessBatch]:
    """The accesses of a pinatrace output file, one batch per chunk of lines."""
    seen = 0
    for lines in read_lines(stream):
        batch = _parse(lines, name, seen)
        seen += len(batch)
        if len(batch):
            yield batch
