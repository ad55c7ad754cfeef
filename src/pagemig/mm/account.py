"""Why each page ended where it did: the migration account.

Not a kernel structure: the model's record of its own decisions, kept as
data for tools and tests. Each move_pages entry gets the reason for its
status; each migration attempt (one unmap_and_move call) gets its outcome
and the reason for it. Off when ``enabled`` is False.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Attempt:
    pfn: int
    rc: int
    target_node: int
    forced: bool
    why: str

    @property
    def outcome(self) -> str:
        if self.rc == 0:
            return f"migrated to node {self.target_node}"
        return errno.errorcode.get(-self.rc, str(self.rc))


@dataclass
class MigrationAccount:
    enabled: bool = True
    attempts: list[Attempt] = field(default_factory=list)
    entries: list[tuple[int, str]] = field(default_factory=list)
    leftovers: list[tuple[int, str]] = field(default_factory=list)
    _pending: dict[int, str] = field(default_factory=dict)

    def note(self, pfn: int, why: str) -> None:
        if self.enabled:
            self._pending[pfn] = why

    def attempt(self, pfn: int, rc: int, target_node: int, forced: bool) -> None:
        if not self.enabled:
            return
        why = self._pending.pop(pfn, "")
        if not why:
            why = (f"migrated to node {target_node}" if rc == 0
                   else f"{errno.errorcode.get(-rc, rc)} from the filesystem's migratepage")
        self.attempts.append(Attempt(pfn, rc, target_node, forced, why))

    def entry(self, addr: int, why: str) -> None:
        if self.enabled:
            self.entries.append((addr, why))

    def left_on_list(self, pfn: int, aborted: bool) -> None:
        if not self.enabled:
            return
        if aborted:
            self.leftovers.append((pfn, "not attempted: -ENOMEM aborted the list"))
        else:
            last = self.last_attempt(pfn)
            why = last.why if last is not None else "no attempt recorded"
            self.leftovers.append((pfn, f"EAGAIN after 10 passes: {why}"))

    def last_attempt(self, pfn: int) -> Attempt | None:
        for attempt in reversed(self.attempts):
            if attempt.pfn == pfn:
                return attempt
        return None

    def reason_for_addr(self, addr: int) -> str | None:
        for a, why in reversed(self.entries):
            if a == addr:
                return why
        return None

    def clear(self) -> None:
        self.attempts.clear()
        self.entries.clear()
        self.leftovers.clear()
        self._pending.clear()
