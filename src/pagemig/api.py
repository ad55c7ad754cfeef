"""The one protocol of the model and the live kernel: a process making memory-placement system calls.

``PlacementProcess`` is what a placement policy, a test or a notebook is
written against. Two classes satisfy it:

* ``pagemig.Process``, a process of a simulated ``Machine``
  (``Machine.spawn()``), whose calls run the kernel model;
* ``pagemig.real.Process``, this Python process on the live kernel
  (``pagemig.real.this_process()``).

The methods are the system calls with the caller implicit, as in C: a call
that takes a pid (move_pages, migrate_pages, numa_maps) acts on that
process, 0 meaning the caller; the others act on the caller. The two sides
share:

* the argument rules (``pagemig.argcheck``): a bad argument raises the
  same ``TypeError``/``ValueError`` with the same message before any
  kernel sees it;
* the results: ``pagemig.results.MovePagesResult`` (``status`` as a list,
  ``status_array`` as an int32 array), ``(mode, nodes)`` tuples, the
  parsed ``/proc/PID/numa_maps`` entries of ``pagemig.real.procfs``;
* the errors: a call the kernel fails raises ``OSError`` with its errno
  (``ProcessLookupError`` for ESRCH, ``PermissionError`` for EPERM); a
  failed move_pages carries the statuses written before the failure in
  ``err.result`` (None for each slot the kernel did not write).

>>> from pagemig import Machine
>>> from pagemig.api import PlacementProcess
>>> def where(proc: PlacementProcess, addrs: list[int]) -> list[int | None]:
...     return proc.move_pages(0, addrs).status
>>> p = Machine(nodes=2, node_memory="64MiB").spawn(uid=0, cpu=0)
>>> a = p.mmap(4096)
>>> p.touch(a)
>>> where(p, [a, a + 4096])
[0, -14]
>>> isinstance(p, PlacementProcess)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .argcheck import IntSequence

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .real.procfs import NumaMapsEntry
    from .results import MovePagesResult

__all__ = ["IntSequence", "PlacementProcess"]


@runtime_checkable
class PlacementProcess(Protocol):
    """A process that makes the NUMA placement system calls (model or live kernel)."""

    def move_pages(self, pid: int, pages: IntSequence, nodes: IntSequence | None = None,
                   flags: int = 0) -> MovePagesResult:
        """move_pages(2) on process ``pid`` (0: the caller).

        ``pages`` are addresses (any address inside a page designates it);
        ``nodes=None`` asks where each page is, else ``nodes[i]`` is the
        target of ``pages[i]`` (the lengths must agree). ``flags``:
        MPOL_MF_MOVE, or MPOL_MF_MOVE_ALL (CAP_SYS_NICE) to move shared pages
        too. Raises ``OSError`` for a whole-call error (EINVAL bad flags,
        ESRCH, EPERM, ENODEV bad node, EACCES node outside the target's
        cpuset); ``err.result`` holds the statuses written before it.
        """
        ...

    def migrate_pages(self, pid: int, old_nodes: Iterable[int], new_nodes: Iterable[int]) -> int:
        """migrate_pages(2): every page of ``pid`` on ``old_nodes`` to ``new_nodes``;
        returns the number of pages that could not be moved."""
        ...

    def mbind(self, addr: int, length: int, mode: int, nodes: Iterable[int] | None,
              flags: int = 0) -> None:
        """mbind(2): the policy of ``[addr, addr + length)`` of the caller
        (``nodes=None``: a NULL mask); MPOL_MF_MOVE[_ALL] moves the pages there."""
        ...

    def set_mempolicy(self, mode: int, nodes: Iterable[int] | None = None) -> None:
        """set_mempolicy(2): the caller's policy for its future allocations."""
        ...

    def get_mempolicy(self, addr: int | None = None, flags: int = 0) -> tuple[int, frozenset[int]]:
        """get_mempolicy(2): ``(mode, nodes)`` of the caller, or of its VMA at
        ``addr`` (giving ``addr`` adds MPOL_F_ADDR)."""
        ...

    def numa_maps(self, pid: int = 0) -> list[NumaMapsEntry]:
        """/proc/PID/numa_maps (pid 0: the caller), one entry per VMA. A pid
        that names no process raises ``FileNotFoundError``, as the file's absence does."""
        ...

    def node_of(self, addr: int) -> int | None:
        """The node of the caller's page at ``addr``, or None if no page is there."""
        ...
