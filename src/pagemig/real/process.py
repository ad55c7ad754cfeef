"""The live kernel's NUMA system calls: move_pages(2), migrate_pages(2), mbind(2), get/set_mempolicy(2).

Two faces, one behaviour:

* ``Process``: this Python process as the caller of the system calls, the
  live side of ``pagemig.api.PlacementProcess`` (``this_process()``
  returns one). Its methods take what the model's ``pagemig.Process``
  takes: ``move_pages(pid, pages, nodes=None, flags=0)``, pid 0 meaning
  the caller, ``numa_maps(pid=0)``, ``node_of(addr)``, ...;
* module functions with the same shapes and a ``sysio=`` keyword.

Arguments are checked in Python first, by the rules the model uses too
(``pagemig.argcheck``: ``TypeError``/``ValueError`` naming the argument); a
call the kernel fails raises ``OSError`` with the kernel's errno (so
``ProcessLookupError`` for ESRCH, ``PermissionError`` for EPERM). Node
masks are passed as 1024-bit masks with maxnode 1025 (see
``pagemig.real.nodemask``).

move_pages passes its arrays to the kernel by buffer: numpy arrays of the
kernel's element types (pages ``uint64``, nodes ``int32``) go as they are,
without a copy; other integer arrays and lists are converted once, in
numpy. The kernel writes status into an ``int32`` array that becomes the
result's ``status_array`` (``pagemig.results.MovePagesResult``).
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from ..argcheck import (
    IntSequence,
    address_arg,
    get_mempolicy_args,
    mbind_args,
    mempolicy_args,
    move_pages_args,
    pid_arg,
    required_nodes,
)
from ..results import STATUS_UNWRITTEN, MovePagesResult, move_pages_error
from .nodemask import MAXNODE, NODEMASK_LONGS, mask_to_nodes, nodes_to_mask
from .procfs import NumaMapsEntry, read_numa_maps
from .sysio import KernelIO, SysIO


@lru_cache(maxsize=1)
def default_sysio() -> SysIO:
    """The live kernel (one ``SysIO``: opening libc once, not at every call)."""
    return SysIO()


def syscall_error(rc: int) -> OSError:
    """``OSError(-rc, strerror)``: the one conversion of a negative errno at the edge."""
    return OSError(-rc, os.strerror(-rc))


def _mask(nodes: list[int] | None) -> list[int] | None:
    return None if nodes is None else nodes_to_mask(nodes)


def move_pages(pid: int, pages: IntSequence, nodes: IntSequence | None = None,
               flags: int = 0, *, sysio: KernelIO | None = None) -> MovePagesResult:
    """move_pages(2): move each page of process ``pid`` to its node, or (nodes=None) ask where it is.

    ``pages`` are addresses (any address inside a page designates it);
    ``nodes[i]`` is the target of ``pages[i]``. The kernel writes one status
    per page (node id or -errno, see ``pagemig.results.decode_status``) and
    returns 0, or on kernels since 4.17 the number of pages that failed
    during migration (their batch's statuses are then left unwritten).
    Raises ``OSError`` for a whole-call error (EINVAL bad flags, EPERM,
    ESRCH, ENODEV bad node, EACCES node outside the target's cpuset, EFAULT);
    ``err.result`` holds the statuses written before the failure (None where
    the kernel wrote none), as the model's does.
    """
    args = move_pages_args(pid, pages, nodes, flags)
    io = sysio if sysio is not None else default_sysio()
    status = np.full(len(args.pages), STATUS_UNWRITTEN, dtype=np.int32)
    rc = io.move_pages(args.pid, len(args.pages), args.pages, args.nodes, status, args.flags)
    if rc < 0:
        raise move_pages_error(rc, MovePagesResult(status, 0))
    return MovePagesResult(status, rc)


def migrate_pages(pid: int, old_nodes: IntSequence, new_nodes: IntSequence, *,
                  sysio: KernelIO | None = None) -> int:
    """migrate_pages(2): move every page of process ``pid`` on ``old_nodes`` to ``new_nodes``.

    The kernel maps the sets position by position (do_migrate_pages); nodes
    in both sets stay. Return: the number of pages that could not be moved.
    Raises ``OSError`` (EINVAL: new nodes not allowed, ESRCH, EPERM).
    """
    checked_pid = pid_arg(pid)
    old_mask = nodes_to_mask(required_nodes("old_nodes", old_nodes))
    new_mask = nodes_to_mask(required_nodes("new_nodes", new_nodes))
    io = sysio if sysio is not None else default_sysio()
    rc = io.migrate_pages(checked_pid, MAXNODE, old_mask, new_mask)
    if rc < 0:
        raise syscall_error(rc)
    return rc


def mbind(addr: int, length: int, mode: int, nodes: IntSequence | None, flags: int = 0, *,
          sysio: KernelIO | None = None) -> None:
    """mbind(2): set the policy of ``[addr, addr + length)`` of this process.

    ``nodes=None`` passes a NULL mask (maxnode 0), as MPOL_DEFAULT and
    MPOL_LOCAL expect. ``flags`` MPOL_MF_MOVE / MPOL_MF_MOVE_ALL migrate the
    pages already there; MPOL_MF_STRICT fails with EIO if some cannot be.
    """
    addr, length, mode, node_ids, flags = mbind_args(addr, length, mode, nodes, flags)
    mask = _mask(node_ids)
    io = sysio if sysio is not None else default_sysio()
    rc = io.mbind(addr, length, mode, mask, MAXNODE if mask is not None else 0, flags)
    if rc < 0:
        raise syscall_error(rc)


def set_mempolicy(mode: int, nodes: IntSequence | None = None, *, sysio: KernelIO | None = None) -> None:
    """set_mempolicy(2): the policy of the calling thread for its future allocations."""
    mode, node_ids = mempolicy_args(mode, nodes)
    mask = _mask(node_ids)
    io = sysio if sysio is not None else default_sysio()
    rc = io.set_mempolicy(mode, mask, MAXNODE if mask is not None else 0)
    if rc < 0:
        raise syscall_error(rc)


def get_mempolicy(addr: int | None = None, flags: int = 0, *,
                  sysio: KernelIO | None = None) -> tuple[int, frozenset[int]]:
    """get_mempolicy(2): ``(mode, nodes)`` of the calling thread, or of the VMA at ``addr``.

    Giving ``addr`` adds MPOL_F_ADDR. The mode is returned as the kernel
    writes it: with mode flags (MPOL_F_STATIC_NODES ...) OR-ed in, or, with
    MPOL_F_NODE, a node id. With MPOL_F_MEMS_ALLOWED the nodes are the
    thread's allowed nodes.
    """
    address, flags = get_mempolicy_args(addr, flags)
    io = sysio if sysio is not None else default_sysio()
    mode_out = [0]
    mask_out = [0] * NODEMASK_LONGS
    rc = io.get_mempolicy(mode_out, mask_out, MAXNODE, address, flags)
    if rc < 0:
        raise syscall_error(rc)
    return mode_out[0], mask_to_nodes(mask_out)


class Process:
    """This Python process as the caller of the live kernel's placement system calls.

    The live side of ``pagemig.api.PlacementProcess``: the same methods,
    arguments, results and errors as the model's ``pagemig.Process``. Calls
    that take a pid act on that process (0: this one); mbind and
    get/set_mempolicy act on the caller (set_mempolicy on its calling thread).
    ``sysio`` is the kernel to use: the live one by default, or a
    ``RecordingSysIO`` that records the calls or replays a recorded session.
    """

    __slots__ = ("_sysio",)

    def __init__(self, sysio: KernelIO | None = None) -> None:
        self._sysio: KernelIO = sysio if sysio is not None else default_sysio()

    def __repr__(self) -> str:
        return f"<real.Process pid={self.pid}>"

    @property
    def pid(self) -> int:
        """This process's pid as the kernel numbers it (after fork(), the child's)."""
        return os.getpid()

    def move_pages(self, pid: int, pages: IntSequence, nodes: IntSequence | None = None,
                   flags: int = 0) -> MovePagesResult:
        """move_pages(2) of process ``pid`` (0: this one); see ``pagemig.real.move_pages``."""
        return move_pages(pid, pages, nodes, flags, sysio=self._sysio)

    def migrate_pages(self, pid: int, old_nodes: IntSequence, new_nodes: IntSequence) -> int:
        """migrate_pages(2) of process ``pid``; the number of pages not migrated."""
        return migrate_pages(pid, old_nodes, new_nodes, sysio=self._sysio)

    def mbind(self, addr: int, length: int, mode: int, nodes: IntSequence | None, flags: int = 0) -> None:
        """mbind(2) on this process's memory."""
        mbind(addr, length, mode, nodes, flags, sysio=self._sysio)

    def get_mempolicy(self, addr: int | None = None, flags: int = 0) -> tuple[int, frozenset[int]]:
        """get_mempolicy(2) of the calling thread, or of this process's VMA at ``addr``."""
        return get_mempolicy(addr, flags, sysio=self._sysio)

    def set_mempolicy(self, mode: int, nodes: IntSequence | None = None) -> None:
        """set_mempolicy(2) of the calling thread."""
        set_mempolicy(mode, nodes, sysio=self._sysio)

    def numa_maps(self, pid: int = 0) -> list[NumaMapsEntry]:
        """/proc/PID/numa_maps (/proc/self for pid 0), parsed."""
        return read_numa_maps(pid_arg(pid), sysio=self._sysio)

    def node_of(self, addr: int) -> int | None:
        """The node of this process's page at ``addr`` (a one-page move_pages query), or None."""
        code = self.move_pages(0, [address_arg(addr)]).status[0]
        return code if code is not None and code >= 0 else None


def this_process(sysio: KernelIO | None = None) -> Process:
    """This process, as the caller of the placement system calls (``pagemig.api.PlacementProcess``)."""
    return Process(sysio)
