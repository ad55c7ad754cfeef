"""Text traces read in chunks of whole lines, their fields parsed with numpy.

A converter never holds one Python object per access: it reads about a
megabyte of lines at a time (``read_lines``), finds each line's fields by
their delimiters (``find_byte``) and parses hexadecimal and decimal fields for
all lines of the chunk at once (``parse_hex``, ``parse_dec``). A line that
does not parse raises a ``ParseError`` naming the file and the line.
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final, Protocol

import numpy as np

from .format import AccessBatch, TraceError

CHUNK_BYTES: Final = 1 << 20
STDIN: Final = "-"

_BAD: Final = 255
_HEX_DIGIT = np.full(256, _BAD, dtype=np.uint8)
_DEC_DIGIT = np.full(256, _BAD, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789"):
    _HEX_DIGIT[_c] = _DEC_DIGIT[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    _HEX_DIGIT[_c] = _HEX_DIGIT[_c - 32] = 10 + _i
_HEX_WIDTH: Final = 16
_DEC_WIDTH: Final = 19            # 10**19 - 1 still fits in uint64


class ParseError(TraceError):
    """A line of a source trace that does not parse: ``FILE:LINE: what: 'text'``."""


@dataclass(slots=True)
class Lines:
    """Whole lines of a text file: the bytes and each line's [start, end).

    ``end`` excludes the newline (and a carriage return before it);
    ``first_line`` is the 1-based number of the first line in the file.
    """

    data: bytes
    buf: np.ndarray
    start: np.ndarray
    end: np.ndarray
    first_line: int

    def __len__(self) -> int:
        return len(self.start)

    def text(self, i: int) -> str:
        return self.data[int(self.start[i]):int(self.end[i])].decode("utf-8", "replace")

    def fail(self, name: str, i: int, what: str) -> ParseError:
        """The error for line ``i`` of this chunk (the caller raises it)."""
        text = self.text(i)
        if len(text) > 80:
            text = text[:77] + "..."
        return ParseError(f"{name}:{self.first_line + i}: {what}: {text!r}")

    def byte(self, offset: np.ndarray | int, where: np.ndarray | None = None) -> np.ndarray:
        """The byte at ``start + offset`` of each line (of the lines ``where``
        selects), or 0 past the line's end."""
        start = self.start if where is None else self.start[where]
        end = self.end if where is None else self.end[where]
        pos = start + offset
        inside = pos < end
        return np.where(inside, self.buf[np.where(inside, pos, 0)], 0)


def split_lines(data: bytes, first_line: int = 1) -> Lines:
    """``data`` (complete lines, the last one with or without its newline) as Lines."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == ord("\n"))
    end = newlines if data.endswith(b"\n") else np.append(newlines, len(buf))
    start = np.concatenate(([0], newlines[:len(end) - 1] + 1)).astype(np.int64)
    end = end.astype(np.int64)
    if len(buf):
        has_cr = (end > start) & (buf[np.maximum(end - 1, 0)] == ord("\r"))
        end = end - has_cr
    return Lines(data, buf, start, end, first_line)


def read_lines(stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Lines]:
    """The lines of ``stream``, about ``chunk_bytes`` at a time, never cut mid-line."""
    carry = b""
    line = 1
    while True:
        block = stream.read(chunk_bytes)
        if not block:
            if carry:
                yield split_lines(carry, line)
            return
        data = carry + block if carry else block
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        chunk, carry = data[:cut + 1], data[cut + 1:]
        lines = split_lines(chunk, line)
        line += len(lines)
        yield lines


class LineParser(Protocol):
    """A source format's parser: one chunk of lines to one batch of accesses
    (it may keep state from chunk to chunk: a clock, the current thread)."""

    def parse(self, lines: Lines) -> AccessBatch: ...


def parse_stream(parser: LineParser, stream: BinaryIO) -> Iterator[AccessBatch]:
    """The accesses of ``stream``, one batch per chunk of lines that holds any."""
    for lines in read_lines(stream):
        batch = parser.parse(lines)
        if len(batch):
            yield batch


def find_byte(lines: Lines, char: str, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first position of ``char`` in each [start, end), and whether there is one
    (where there is none, the position is ``end``)."""
    hits = np.flatnonzero(lines.buf == ord(char))
    if not len(hits):
        return end.copy(), np.zeros(len(start), dtype=bool)
    i = np.searchsorted(hits, start)
    pos = hits[np.minimum(i, len(hits) - 1)]
    found = (i < len(hits)) & (pos < end)
    return np.where(found, pos, end), found


def skip_blanks(lines: Lines, start: np.ndarray, end: np.ndarray, most: int = 8) -> np.ndarray:
    """``start`` moved past up to ``most`` leading blanks (printf padding)."""
    pos = start.copy()
    for _ in range(most):
        blank = (pos < end) & (lines.buf[np.minimum(pos, len(lines.buf) - 1)] == ord(" "))
        if not blank.any():
            break
        pos += blank
    return pos


def _parse(lines: Lines, start: np.ndarray, end: np.ndarray, table: np.ndarray,
           max_width: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Digits right-aligned at ``end``, one column of all lines at a time, as
    wide as the chunk's widest field (a size needs 1 or 2 columns, not 19)."""
    n = len(start)
    value = np.zeros(n, dtype=np.uint64)
    width = end - start
    ok = (width > 0) & (width <= max_width)
    if not n:
        return value, ok
    widest = int(min(max_width, max(int(width.max()), 1)))
    radix = np.uint64(base)
    for k in range(widest, 0, -1):                      # the k-th digit from the right
        pos = end - k
        used = pos >= start
        digit = table[lines.buf[np.where(used, pos, 0)]]
        ok &= ~(used & (digit == _BAD))
        value = np.where(used, value * radix + digit, value)
    return value, ok


def parse_hex(lines: Lines, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hexadecimal numbers in [start, end) of each line (no ``0x``; 1 to 16
    digits), and which of them parsed."""
    return _parse(lines, start, end, _HEX_DIGIT, _HEX_WIDTH, 16)


def parse_dec(lines: Lines, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The decimal numbers in [start, end) of each line (1 to 19 digits), and which parsed."""
    return _parse(lines, start, end, _DEC_DIGIT, _DEC_WIDTH, 10)


def first_false(ok: np.ndarray) -> int | None:
    """The index of the first False in ``ok``, or None."""
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if len(bad) else None


def open_source(name: str) -> BinaryIO:
    """The file ``name`` (or standard input for ``-``) for reading bytes; a gzip
    file is decompressed as it is read."""
    if name == STDIN:
        stream: BinaryIO = sys.stdin.buffer
    else:
        try:
            stream = open(name, "rb")  # noqa: SIM115 - the caller closes it
        except OSError as err:
            raise TraceError(f"{name}: cannot read: {err.strerror or err}") from None
    peek = getattr(stream, "peek", None)
    head = peek(2)[:2] if peek is not None else b""
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream
