"""valgrind lackey's memory trace (``valgrind --tool=lackey --trace-mem=yes``).

Lines, as lackey's ``lk_main.c`` prints them (hexadecimal address without
``0x``, decimal size)::

    I  0401ab70,3          instruction fetch ('I' in column 0)
     L 1fff000688,8        load    (data lines start with a blank)
     S 1fff000680,8        store
     M 04a17de0,8          modify (load then store)
    ==6019== ...           valgrind's own messages, skipped
    --6019--   SCHED[2]:  acquired lock (...)   with --trace-sched=yes

Lackey does not name threads. With ``--trace-sched=yes`` valgrind interleaves
its scheduler's messages with the trace, in order (both are written unbuffered
to the log), and each ``SCHED[N]:  acquired lock`` says that thread slot N runs
from there on; ``thread_wrapper(starting new thread)`` says the slot holds a
new thread (valgrind reuses the slots of exited threads). ``tid`` is then the
thread's rank in order of start, 1 for the main thread; without scheduler
lines every row has ``tid`` 0.

``t`` counts instructions: a fetch and the data accesses after it carry the
fetch's index (0 for the first instruction). ``ip`` is the address of that
instruction.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, Final

import numpy as np

from ._text import Lines, find_byte, first_false, parse_dec, parse_hex, parse_stream
from .format import OP_FETCH, OP_MODIFY, OP_READ, OP_WRITE, AccessBatch

FORMAT: Final = "lackey"

_DATA_OP = np.zeros(256, dtype=np.uint8)
_DATA_OP[ord("L")], _DATA_OP[ord("S")], _DATA_OP[ord("M")] = OP_READ, OP_WRITE, OP_MODIFY
_SCHED: Final = re.compile(rb"SCHED\[(\d+)\]:\s+acquired lock \((.*)\)")
_NEW_THREAD: Final = b"starting new thread"


class LackeyParser:
    """Converts lackey lines to accesses, chunk by chunk, keeping across chunks
    the instruction count, the current instruction and the running thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.instructions = 0
        self.ip = 0
        self.tid = 0
        self.threads = 0
        self._slot_tid: dict[int, int] = {}

    def parse(self, lines: Lines) -> AccessBatch:
        c0, c1, c2 = lines.byte(0), lines.byte(1), lines.byte(2)
        fetch = (c0 == ord("I")) & (c1 == ord(" ")) & (c2 == ord(" "))
        data = (c0 == ord(" ")) & np.isin(c1, (ord("L"), ord("S"), ord("M"))) & (c2 == ord(" "))
        access = fetch | data
        message = ((c0 == c1) & ((c0 == ord("=")) | (c0 == ord("-")))) | (lines.end == lines.start)
        bad = first_false(access | message)
        if bad is not None:
            raise lines.fail(self.name, bad, "not a lackey line")
        rows = np.flatnonzero(access)
        tid = self._thread_of(lines, np.flatnonzero(message), rows)
        start, end = lines.start[rows] + 3, lines.end[rows]
        comma, found = find_byte(lines, ",", start, end)
        vaddr, addr_ok = parse_hex(lines, start, comma)
        size, size_ok = parse_dec(lines, comma + 1, end)
        bad = first_false(found & addr_ok & size_ok & (size <= 0xFFFF))
        if bad is not None:
            raise lines.fail(self.name, int(rows[bad]), "expected ADDR,SIZE")
        is_fetch = fetch[rows]
        op = np.where(is_fetch, OP_FETCH, _DATA_OP[c1[rows]])
        t = np.maximum(self.instructions - 1 + np.cumsum(is_fetch, dtype=np.int64), 0)
        last = np.maximum.accumulate(np.where(is_fetch, np.arange(len(rows)), -1))
        ip = np.where(last >= 0, vaddr[np.maximum(last, 0)], np.uint64(self.ip))
        if len(rows):
            self.instructions += int(is_fetch.sum())
            self.ip = int(ip[-1])
        return AccessBatch(t=t, vaddr=vaddr, size=size, op=op, tid=tid, ip=ip)

    def _thread_of(self, lines: Lines, messages: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The tid of each access row, from the scheduler lines among ``messages``."""
        switch_at: list[int] = []
        switch_to: list[int] = []
        for i in messages:
            match = _SCHED.search(lines.data[int(lines.start[i]):int(lines.end[i])])
            if match is None:
                continue
            slot = int(match.group(1))
            if _NEW_THREAD in match.group(2) or slot not in self._slot_tid:
                self.threads += 1
                self._slot_tid[slot] = self.threads
            switch_at.append(int(i))
            switch_to.append(self._slot_tid[slot])
        before = self.tid
        if switch_to:
            self.tid = switch_to[-1]
        if not switch_at:
            return np.full(len(rows), before, dtype=np.uint32)
        which = np.searchsorted(np.array(switch_at), rows, side="right") - 1
        tids = np.array(switch_to, dtype=np.uint32)
        return np.where(which >= 0, tids[np.maximum(which, 0)], np.uint32(before))


def read(stream: BinaryIO, name: str) -> Iterator[AccessBatch]:
    """The accesses of a lackey log, one batch per chunk of lines."""
    return parse_stream(LackeyParser(name), stream)
