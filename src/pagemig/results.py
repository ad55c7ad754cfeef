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
from typing import Any

import numpy as np

# A move_pages(2) status slot the kernel did not write, in the int32 form
# (``MovePagesResult.status_array``): callers pre-fill status[] with it; node
# ids are >= 0 and errors -1..-4095, so INT_MIN is never a real answer.
STATUS_UNWRITTEN = -(2**31)

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



def failure_reason(code: int) -> str:
    """The name a page's failed migration status is counted under: the errno's
    name, ``unwritten`` for a slot the kernel left unwritten, ``other-node``
    for a page that ended on a node other than the one asked for.

    >>> [failure_reason(c) for c in (-16, STATUS_UNWRITTEN, 1, -4095)]
    ['EBUSY', 'unwritten', 'other-node', 'errno4095']
    """
    if code == STATUS_UNWRITTEN:
        return "unwritten"
    if code >= 0:
        return "other-node"
    return errno.errorcode.get(-code, f"errno{-code}")


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


class MovePagesResult:
    """What one move_pages(2) call gave back.

    ``status[i]`` is the node of page ``i`` (>= 0), a negative errno, or
    ``None`` when the kernel left the slot unwritten. ``ret`` is the call's
    non-negative return value: 0, or (kernels since 4.17) the number of pages
    that failed during migration itself. A result attached to an ``OSError``
    (``err.result``) holds what the kernel had written before it failed; its
    ``ret`` is 0 and the error is the call's answer.

    ``status_array`` is the same answer as a read-only numpy ``int32`` array,
    the kernel's own ``int status[]``: an unwritten slot holds
    ``STATUS_UNWRITTEN`` (INT_MIN, never a node id nor an errno). A result
    built from an array (as ``pagemig.real`` builds it, from the buffer the
    kernel wrote) converts to the list only when ``status`` is first read,
    and one built from a list to the array only when ``status_array`` is.

    >>> r = MovePagesResult([0, -14, None])
    >>> r.status_array.tolist() == [0, -14, STATUS_UNWRITTEN]
    True
    >>> MovePagesResult(r.status_array) == r
    True
    """

    __slots__ = ("_array", "_list", "pages", "reasons", "ret")

    def __init__(self, status: Sequence[int | None] | np.ndarray[Any, Any], ret: int = 0,
                 pages: tuple[int, ...] = (), reasons: tuple[str, ...] = ()) -> None:
        if isinstance(ret, bool) or not isinstance(ret, int):
            raise TypeError(f"ret must be an int, not {type(ret).__name__}")
        if ret < 0:
            raise ValueError(f"ret must be >= 0 (errors are raised as OSError), got {ret}")
        self._array: np.ndarray[Any, np.dtype[np.int32]] | None = None
        self._list: list[int | None] | None = None
        if isinstance(status, np.ndarray):
            if status.ndim != 1 or status.dtype != np.int32:
                raise TypeError(f"status must be a one-dimensional int32 array, not {status.dtype} "
                                f"of shape {status.shape}")
            array = status.view()
            array.flags.writeable = False
            self._array = array
        else:
            for i, code in enumerate(status):
                if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
                    raise TypeError(f"status[{i}] must be an int or None, not {type(code).__name__}")
            self._list = list(status)
        self.ret = ret
        # The model fills these: the addresses asked for and why each ended as it did.
        self.pages = pages
        self.reasons = reasons

    @property
    def status(self) -> list[int | None]:
        """One entry per page: node id, negative errno, or None (not written)."""
        if self._list is None:
            assert self._array is not None
            values: list[int] = self._array.tolist()
            if self._array.size and self._array.min() == STATUS_UNWRITTEN:
                self._list = [None if value == STATUS_UNWRITTEN else value for value in values]
            else:
                self._list = list(values)
        return self._list

    @property
    def status_array(self) -> np.ndarray[Any, np.dtype[np.int32]]:
        """``status`` as a read-only int32 array; unwritten slots hold ``STATUS_UNWRITTEN``."""
        if self._array is None:
            assert self._list is not None
            array = np.array([STATUS_UNWRITTEN if code is None else code for code in self._list],
                             dtype=np.int32)
            array.flags.writeable = False
            self._array = array
        return self._array

    def __len__(self) -> int:
        return len(self._list) if self._list is not None else len(self.status_array)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MovePagesResult):
            return NotImplemented
        return (self.ret == other.ret and self.pages == other.pages and self.reasons == other.reasons
                and len(self) == len(other) and bool(np.array_equal(self.status_array, other.status_array)))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        extra = (f", pages={self.pages!r}, reasons={self.reasons!r}" if self.pages or self.reasons
                 else "")
        return f"MovePagesResult(status={self.status!r}, ret={self.ret}{extra})"

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
    example pages before an invalid node, already migrated), None in the
    slots it did not write. The model and ``pagemig.real`` always attach one
    (all None when nothing was written); ``result=None`` is for other callers.
    """
    if isinstance(rc, bool) or not isinstance(rc, int):
        raise TypeError(f"rc must be an int, not {type(rc).__name__}")
    if rc >= 0:
        raise ValueError(f"rc must be a negative errno, got {rc}")
    err = OSError(-rc, os.strerror(-rc))
    err.result = result  # type: ignore[attr-defined]
    return err
