"""DynamoRIO's ``memtrace_simple`` sample client, text output (api/samples/memtrace_simple.c).

The client writes one file per thread (``memtrace.APP.PID.NNNN.log``): a header
line, then for each memory-referencing instruction an instruction entry (its
pc, its length and its opcode name) followed by one entry per memory
reference (address, size, ``r`` or ``w``), each printed as
``PIFX ": %2d, %s"``::

    Format: <data address>: <data size>, <(r)ead/(w)rite/opcode>
    0x00007f59c2d002d3:  5, call
    0x00007ffeacab0ec8:  8, w

An instruction entry becomes a fetch (``I``, size the instruction's length);
``ip`` of each data reference is the pc of the instruction entry before it.
``t`` counts instruction entries (memory-referencing instructions only: the
client lists no others), like lackey's ``t``. The file does not name its thread
(its name holds the process id): ``tid`` is 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Final

import numpy as np

from ._text import Lines, find_byte, first_false, parse_dec, parse_hex, parse_stream, skip_blanks
from .format import OP_FETCH, OP_READ, OP_WRITE, AccessBatch

FORMAT: Final = "drmemtrace"
_HEADER: Final = b"Format:"


class MemtraceParser:
    """memtrace_simple lines to accesses, keeping the instruction count and pc across chunks."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.instructions = 0
        self.ip = 0

    def parse(self, lines: Lines) -> AccessBatch:
        header = np.array([lines.data.startswith(_HEADER, int(s)) for s in
                           lines.start[lines.byte(0) == ord("F")]], dtype=bool)
        skip = lines.end == lines.start
        skip[np.flatnonzero(lines.byte(0) == ord("F"))[header]] = True
        rows = np.flatnonzero(~skip)
        start, end = lines.start[rows], lines.end[rows]
        colon, has_colon = find_byte(lines, ":", start, end)
        comma, has_comma = find_byte(lines, ",", colon, end)
        addr, addr_ok = parse_hex(lines, start + 2, colon)
        size, size_ok = parse_dec(lines, skip_blanks(lines, colon + 1, comma), comma)
        kind_at = comma + 2 - start
        kind = lines.byte(kind_at, rows)
        one_letter = end - (comma + 2) == 1
        ok = (has_colon & has_comma & addr_ok & size_ok & (size <= 0xFFFF)
              & (lines.byte(0, rows) == ord("0")) & (lines.byte(1, rows) == ord("x"))
              & (lines.byte(kind_at - 1, rows) == ord(" ")) & (end > comma + 2))
        bad = first_false(ok)
        if bad is not None:
            raise lines.fail(self.name, int(rows[bad]), "expected 'ADDR: SIZE, r|w|opcode'")
        read_ = one_letter & (kind == ord("r"))
        write = one_letter & (kind == ord("w"))
        is_instr = ~(read_ | write)
        op = np.where(is_instr, OP_FETCH, np.where(write, OP_WRITE, OP_READ))
        t = np.maximum(self.instructions - 1 + np.cumsum(is_instr, dtype=np.int64), 0)
        last = np.maximum.accumulate(np.where(is_instr, np.arange(len(rows)), -1))
        ip = np.where(last >= 0, addr[np.maximum(last, 0)], np.uint64(self.ip))
        if len(rows):
            self.instructions += int(is_instr.sum())
            self.ip = int(ip[-1])
        return AccessBatch(t=t, vaddr=addr, size=size, op=op, tid=np.zeros(len(rows)), ip=ip)


def read(stream: BinaryIO, name: str) -> Iterator[AccessBatch]:
    """The accesses of one memtrace_simple log, one batch per chunk of lines."""
    return parse_stream(MemtraceParser(name), stream)
