"""Kernel-style trace events in a bounded ring buffer (the ftrace ring buffer's role).

Off by default. Call sites test ``trace.enabled`` before building an event,
so tracing costs one attribute read when off.
"""

from __future__ import annotations

import fnmatch
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TraceEvent:
    seq: int
    name: str
    cpu: int
    fields: dict[str, object]

    def __str__(self) -> str:
        body = " ".join(f"{k}={v}" for k, v in self.fields.items())
        return f"[{self.cpu:03d}] {self.seq:>8}: {self.name}: {body}"


class TraceBuffer:
    def __init__(self, cpu: Callable[[], int], size: int = 65536) -> None:
        self.enabled = False
        self._events: deque[TraceEvent] = deque(maxlen=size)
        self._seq = 0
        self._cpu = cpu
        self._pattern = "*"
        self.dropped = 0

    def enable(self, pattern: str = "*") -> None:
        """Record events whose name matches the glob ``pattern``."""
        self._pattern = pattern
        self.enabled = True

    @property
    def last_seq(self) -> int:
        """The sequence number of the newest event (0 before any)."""
        return self._seq

    def disable(self) -> None:
        self.enabled = False

    def emit(self, name: str, **fields: object) -> None:
        if not self.enabled or not fnmatch.fnmatchcase(name, self._pattern):
            return
        if len(self._events) == self._events.maxlen:
            self.dropped += 1
        self._seq += 1
        self._events.append(TraceEvent(self._seq, name, self._cpu(), fields))

    def events(self, pattern: str = "*",
               where: Callable[[TraceEvent], bool] | None = None) -> Iterator[TraceEvent]:
        for event in self._events:
            if fnmatch.fnmatchcase(event.name, pattern) and (where is None or where(event)):
                yield event

    def clear(self) -> None:
        self._events.clear()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._events)
