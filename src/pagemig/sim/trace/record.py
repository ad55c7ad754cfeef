"""``pagemig trace record``: a program run under valgrind's lackey, its trace
converted as it streams.

valgrind writes lackey's lines (and, with ``--trace-sched=yes``, its
scheduler's thread switches) to a pipe given as ``--log-fd``; the parent reads
the pipe in chunks and writes the trace with ``TraceWriter``, so no text file is
ever kept and a failure (a bad line, Ctrl-C, SIGTERM) leaves no trace file. The
program's standard input, output and error are the caller's.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import BinaryIO, Final

import numpy as np

from . import lackey
from .format import AccessBatch, TraceError, TraceMeta, TraceWriter

VALGRIND: Final = "valgrind"
LACKEY_OPTIONS: Final = ("--tool=lackey", "--trace-mem=yes", "--trace-sched=yes")
PIPE_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class Recording:
    """What a recording produced: the rows written and the program's exit status
    (negative: killed by that signal, as ``subprocess`` reports it)."""

    rows: int
    accesses: int
    status: int


def find_program(command: list[str]) -> str:
    """The program ``command`` would run, or a TraceError if there is none."""
    if not command:
        raise TraceError("no program to record: pagemig trace record -o T.parquet -- CMD ARGS...")
    program = command[0]
    found = shutil.which(program)
    if found is None or os.path.isdir(found):
        raise TraceError(f"{program}: no such program")
    return found


def sample_every(batches: Iterator[AccessBatch], period: int) -> Iterator[tuple[AccessBatch, int]]:
    """Every ``period``-th access (the first, then one in ``period``), each with
    ``weight`` = ``period``; also the number of accesses seen so far."""
    seen = 0
    for batch in batches:
        n = len(batch)
        if period > 1:
            keep = (seen + np.arange(n)) % period == 0
            batch = AccessBatch(t=batch.t[keep], vaddr=batch.vaddr[keep], size=batch.size[keep],
                                op=batch.op[keep], tid=batch.tid[keep],
                                weight=np.full(int(keep.sum()), period, dtype=np.uint32),
                                ip=None if batch.ip is None else batch.ip[keep])
        seen += n
        yield batch, seen


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def record(command: list[str], out: str | os.PathLike[str], sample: int = 1,
           page_size: int = 4096, valgrind: str = VALGRIND) -> Recording:
    """Run ``command`` under lackey and write its accesses to the trace ``out``
    (every ``sample``-th access when ``sample`` > 1)."""
    if sample < 1:
        raise TraceError(f"--sample must be at least 1, got {sample}")
    if shutil.which(valgrind) is None:
        raise TraceError(f"{valgrind} not found: trace record needs valgrind (apt-get install valgrind)")
    find_program(command)
    meta = TraceMeta(lackey.FORMAT, page_size=page_size, time_unit="instructions",
                     sampled=sample > 1, sample_period=sample, command=shlex.join(command),
                     extra={"recorded_by": "valgrind " + " ".join(LACKEY_OPTIONS)})
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen([valgrind, *LACKEY_OPTIONS, f"--log-fd={write_end}", *command],
                                pass_fds=(write_end,))
    except OSError as err:
        os.close(read_end)
        raise TraceError(f"{valgrind}: cannot run: {err.strerror or err}") from None
    finally:
        os.close(write_end)
    # SIGTERM, like Ctrl-C, must unwind through the writer; only the main thread may set it.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if main else None
    try:
        with os.fdopen(read_end, "rb", buffering=PIPE_CHUNK) as pipe:
            return _convert(proc, pipe, out, meta, sample)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _convert(proc: subprocess.Popen[bytes], pipe: BinaryIO, out: str | os.PathLike[str],
             meta: TraceMeta, sample: int) -> Recording:
    accesses = 0
    with TraceWriter(out, meta) as writer:
        for batch, seen in sample_every(lackey.read(pipe, "valgrind's lackey output"), sample):
            writer.write(batch)
            accesses = seen
        status = proc.wait()
        if writer.rows == 0:
            raise TraceError(f"valgrind traced no access of {meta.command} "
                             f"(valgrind exit status {status}); no trace written")
    return Recording(writer.rows, accesses, status)
