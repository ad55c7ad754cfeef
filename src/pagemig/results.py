"""Results of move_pages(2) as user space sees them, shared by the model and the live kernel.

``move_pages(pid, count, pages, nodes, status, flags)`` answers twice: the
system call's return value, and one ``int`` per page written into
``status[]`` (a node id, or a negative errno). The kernel may also leave
slots unwritten (a whole-call error part way through, or a migration
failure in a batch on kernels after 4.17), which is why a slot here can be
``None``. Both ``pagemig.real`` and the model return a ``MovePagesResult``
and raise the ``OSError`` built by ``move_pages_error``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Per-page meanings of the negative errnos move_pages(2) stores in status[]
# (mm/migrate.c 2.6.35: do_move_page_to_node_array, unmap_and_move and the
# migratepage methods it calls).
_STATUS_TEXT: dict[int, str] = {
    errno.EACCES: "page mapped by more than one process (MPOL_MF_MOVE_ALL not given)",
    errno.EFAULT: "address not mapped, or a special mapping (zero page, pfn map, VM_IO)",
    errno.ENOENT: "page not present (never touched, or swapped out)",
    errno.EBUSY: "page busy (not on an LRU list, locked, or under writeback)",
    errno.ENOMEM: "no free page on the target node",
    errno.EAGAIN: "still busy after 10 attempts",
    errno.EIO: "page cannot be migrated by its filesystem (fail_migrate_page)",
    errno.EINVAL: "dirty page of a mapping without writepage",
    errno.ENODEV: "target node does not exist or has no memory",
    errno.EPERM: "operation not permitted",
}


def decode_status(code: int | None) -> str:
    """Human text for one ``status[]`` value of move_pages(2).

    A value >= 0 is the node the page is on; a negative value is ``-errno``
    named as in the ``errno`` module; ``None`` is a slot the kernel never wrote.

    >>> decode_status(1)
    'on node 1'
    >>> decode_status(-13)
    'EACCES: page mapped by more than one process (MPOL_MF_MOVE_ALL not given)'
    >>> decode_status(None)
    'not written by the kernel'
    """
    if code is None:
        return "not written by the kernel"
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"code must be an int or None, not {type(code).__name__}")
    if code >= 0:
        return f"on node {code}"
    name = errno.errorcode.get(-code)
    if name is None:
        return f"unknown status {code}"
    return f"{name}: {_STATUS_TEXT.get(-code, os.strerror(-code))}"


@dataclass(frozen=True)
class MovePagesResult:
    """What one move_pages(2) call gave back.

    ``status[i]`` is the node of page ``i`` (>= 0), a negative errno, or
    ``None`` when the kernel left the slot unwritten. ``ret`` is the call's
    non-negative return value: 0, or (kernels since 4.17) the number of pages
    that failed during migration itself. A result attached to an ``OSError``
    (``err.result``) holds what the kernel had written before it failed; its
    ``ret`` is 0 and the error is the call's answer.
    """

    status: list[int | None]
    ret: int = 0
    # The model fills these: the addresses asked for and why each ended as it did.
    pages: tuple[int, ...] = ()
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.ret, bool) or not isinstance(self.ret, int):
            raise TypeError(f"ret must be an int, not {type(self.ret).__name__}")
        if self.ret < 0:
            raise ValueError(f"ret must be >= 0 (errors are raised as OSError), got {self.ret}")
        for i, code in enumerate(self.status):
            if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
                raise TypeError(f"status[{i}] must be an int or None, not {type(code).__name__}")

    def format_table(self, pages: Sequence[int] | None = None) -> str:
        """One line per page: index, address (when given), status and its meaning."""
        if pages is not None and len(pages) != len(self.status):
            raise ValueError(f"pages has {len(pages)} entries, status has {len(self.status)}")
        header = ["#", "page"] if pages is not None else ["#"]
        rows = [[*header, "status", "meaning"]]
        for i, code in enumerate(self.status):
            address = [f"{pages[i]:#x}"] if pages is not None else []
            rows.append([str(i), *address, "-" if code is None else str(code), decode_status(code)])
        widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]) - 1)]
        lines = ["  ".join([*(cell.rjust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
                 for row in rows]
        lines.append(f"ret {self.ret}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_table()

    def explain(self) -> str:
        """One line per page: address, status and the model's reason for it."""
        lines = []
        for i, code in enumerate(self.status):
            addr = f"{self.pages[i]:#x}" if i < len(self.pages) else "?"
            why = self.reasons[i] if i < len(self.reasons) and self.reasons[i] else decode_status(code)
            lines.append(f"{i:>4}  {addr:>14}  {'-' if code is None else code:>6}  {why}")
        return "\n".join([*lines, f"ret {self.ret}"])

    def to_json(self) -> dict[str, Any]:
        return {"status": list(self.status), "ret": self.ret}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MovePagesResult:
        return cls(status=list(data["status"]), ret=data["ret"])


def move_pages_error(rc: int, result: MovePagesResult | None) -> OSError:
    """The exception for a failed move_pages(2): ``OSError(-rc, strerror)``.

    ``OSError`` picks the PEP 3151 subclass from the errno (``ESRCH`` gives
    ``ProcessLookupError``, ``EPERM`` ``PermissionError``). ``err.result`` is
    the partial result: the statuses the kernel wrote before it failed (for
    example pages before an invalid node, already migrated), or ``None``.
    """
    if isinstance(rc, bool) or not isinstance(rc, int):
        raise TypeError(f"rc must be an int, not {type(rc).__name__}")
    if rc >= 0:
        raise ValueError(f"rc must be a negative errno, got {rc}")
    err = OSError(-rc, os.strerror(-rc))
    err.result = result  # type: ignore[attr-defined]
    return err
