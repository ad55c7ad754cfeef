"""The source formats ``pagemig trace import`` converts, and the conversion itself.

Each format has its own module (lackey, pin, drmemtrace, perf, damo) that turns
the tool's output into ``AccessBatch`` chunks; ``import_trace`` streams them
through a ``TraceWriter``, so a failure leaves no file behind.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

from . import damo, drmemtrace, lackey, perf, pin
from ._text import STDIN, open_source
from .format import AccessBatch, TraceError, TraceMeta, TraceWriter


@dataclass(frozen=True, slots=True)
class SourceFormat:
    """One tool's output: how to read it and what its rows mean."""

    name: str
    summary: str
    time_unit: str
    sampled: bool
    read: Callable[[BinaryIO, str, int], Iterator[AccessBatch]] | None


FORMATS: Final = {f.name: f for f in (
    SourceFormat(lackey.FORMAT, "valgrind --tool=lackey --trace-mem=yes log", "instructions", False,
                 lambda stream, name, _period: lackey.read(stream, name)),
    SourceFormat(pin.FORMAT, "Intel Pin pinatrace output ('IP: R ADDR')", "sequence", False,
                 lambda stream, name, _period: pin.read(stream, name)),
    SourceFormat(drmemtrace.FORMAT, "DynamoRIO memtrace_simple text log", "instructions", False,
                 lambda stream, name, _period: drmemtrace.read(stream, name)),
    SourceFormat(perf.FORMAT, "perf mem report -D (raw samples)", "sequence", True, perf.read),
    SourceFormat(damo.FORMAT, "damo record file (JSON, zlib-compressed or not)", "ns", True, None),
)}


def known_formats() -> str:
    return ", ".join(FORMATS)


def source_format(name: str) -> SourceFormat:
    """The format called ``name``, or a TraceError listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise TraceError(f"unknown trace format {name!r}; known formats: {known_formats()}") from None


def import_trace(format_name: str, source: str, out: str | os.PathLike[str],
                 period: int | None = None, page_size: int = 4096) -> int:
    """Convert ``source`` (a file, or ``-`` for standard input; gzip is undone)
    to the trace ``out``; the number of rows written."""
    fmt = source_format(format_name)
    if period is not None and fmt.name != perf.FORMAT:
        raise TraceError(f"--period applies to perf samples only, not to {fmt.name}")
    if period is not None and period < 1:
        raise TraceError(f"--period must be at least 1, got {period}")
    meta = TraceMeta(fmt.name, page_size=page_size, time_unit=fmt.time_unit, sampled=fmt.sampled,
                     sample_period=period or 1, extra={"source": source})
    stream = open_source(source)
    try:
        if fmt.read is None:
            return damo.write_damo_trace(stream, source, out, meta)
        with TraceWriter(out, meta) as writer:
            for batch in fmt.read(stream, source, period or 1):
                writer.write(batch)
        return writer.rows
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise TraceError(f"{source}: bad gzip data ({err})") from None
    except OSError as err:
        raise TraceError(f"{err.filename or source}: {err.strerror or err}") from None
    finally:
        if source != STDIN:
            stream.close()
