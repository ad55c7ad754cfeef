"""The live kernel's NUMA system calls: move_pages(2), migrate_pages(2), mbind(2), get/set_mempolicy(2).

Two faces, one behaviour:

* module functions with the system calls' shapes, the caller being this
  Python process: ``move_pages(pid, pages, nodes=None, flags=0)`` is the
  model's ``caller.move_pages(pid, pages, nodes, flags)``, pid 0 meaning the
  caller;
* ``Process(pid)``, a handle on one target process, whose methods call the
  module functions with its pid (``this_process()`` is ``Process(0)``).

mbind and get/set_mempolicy act on the calling process only, as in the
kernel, so ``Process.mbind`` and friends refuse a handle on another process.

Arguments are checked in Python first (``TypeError``/``ValueError`` naming
the argument); a call the kernel fails raises ``OSError`` with the kernel's
errno (so ``ProcessLookupError`` for ESRCH, ``PermissionError`` for EPERM).
Node masks are passed as 1024-bit masks with maxnode 1025 (see
``pagemig.real.nodemask``).
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..results import MovePagesResult, move_pages_error
from .nodemask import MAXNODE, NODEMASK_BITS, NODEMASK_LONGS, mask_to_nodes, nodes_to_mask
from .procfs import NumaMapsEntry, read_numa_maps
from .sysio import KernelIO, SysIO
from .uapi import MPOL_F_ADDR

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
UINT_MAX = 2**32 - 1
ULONG_MAX = 2**64 - 1


def syscall_error(rc: int) -> OSError:
    """``OSError(-rc, strerror)``: the one conversion of a negative errno at the edge."""
    return OSError(-rc, os.strerror(-rc))


def _int_arg(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an int, not a bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None
    if not low <= number <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {number}")
    return number


def _int_list(name: str, values: Iterable[int], low: int, high: int) -> list[int]:
    """A list of ints from any iterable of ints, or a one-dimensional numpy integer array."""
    if isinstance(values, np.ndarray):
        return _int_list_numpy(name, values, low, high)
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of ints, not {type(values).__name__}")
    return [_int_arg(f"{name}[{i}]", value, low, high) for i, value in enumerate(values)]


def _int_list_numpy(name: str, values: np.ndarray[Any, Any], low: int, high: int) -> list[int]:
    if values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {values.shape}")
    if values.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, not {values.dtype}")
    numbers: list[int] = values.tolist()
    if numbers and (min(numbers) < low or max(numbers) > high):
        i = next(i for i, number in enumerate(numbers) if not low <= number <= high)
        raise ValueError(f"{name}[{i}] must be in [{low}, {high}], got {numbers[i]}")
    return numbers


def _pid_arg(pid: Any) -> int:
    return _int_arg("pid (0 = the calling process)", pid, 0, INT_MAX)


def _mask_arg(name: str, nodes: Iterable[int] | None) -> list[int] | None:
    if nodes is None:
        return None
    return nodes_to_mask(_int_list(name, nodes, 0, NODEMASK_BITS - 1))


def move_pages(pid: int, pages: Iterable[int], nodes: Iterable[int] | None = None,
               flags: int = 0, *, sysio: KernelIO | None = None) -> MovePagesResult:
    """move_pages(2): move each page of process ``pid`` to its node, or (nodes=None) ask where it is.

    ``pages`` are addresses (any address inside a page designates it);
    ``nodes[i]`` is the target of ``pages[i]``. The kernel writes one status
    per page (node id or -errno, see ``pagemig.results.decode_status``) and
    returns 0, or on kernels since 4.17 the number of pages that failed
    during migration (their batch's statuses are then left unwritten).
    Raises ``OSError`` for a whole-call error (EINVAL bad flags, EPERM,
    ESRCH, ENODEV bad node, EACCES node outside the target's cpuset, EFAULT);
    ``err.result`` holds the statuses written before the failure, if any.
    """
    pid = _pid_arg(pid)
    addresses = _int_list("pages", pages, 0, ULONG_MAX)
    targets = None if nodes is None else _int_list("nodes", nodes, INT_MIN, INT_MAX)
    if targets is not None and len(targets) != len(addresses):
        raise ValueError(f"nodes has {len(targets)} entries, pages has {len(addresses)}")
    flags = _int_arg("flags", flags, INT_MIN, INT_MAX)
    io = sysio if sysio is not None else SysIO()
    status: list[int | None] = [None] * len(addresses)
    rc = io.move_pages(pid, len(addresses), addresses, targets, status, flags)
    if rc < 0:
        written = any(code is not None for code in status)
        raise move_pages_error(rc, MovePagesResult(status, 0) if written else None)
    return MovePagesResult(status, rc)


def migrate_pages(pid: int, old_nodes: Iterable[int], new_nodes: Iterable[int], *,
                  sysio: KernelIO | None = None) -> int:
    """migrate_pages(2): move every page of process ``pid`` on ``old_nodes`` to ``new_nodes``.

    The kernel maps the sets position by position (do_migrate_pages); nodes
    in both sets stay. Return: the number of pages that could not be moved.
    Raises ``OSError`` (EINVAL: new nodes not allowed, ESRCH, EPERM).
    """
    pid = _pid_arg(pid)
    old_mask = _mask_arg("old_nodes", _required("old_nodes", old_nodes))
    new_mask = _mask_arg("new_nodes", _required("new_nodes", new_nodes))
    io = sysio if sysio is not None else SysIO()
    rc = io.migrate_pages(pid, MAXNODE, old_mask, new_mask)
    if rc < 0:
        raise syscall_error(rc)
    return rc


def mbind(addr: int, length: int, mode: int, nodes: Iterable[int] | None, flags: int = 0, *,
          sysio: KernelIO | None = None) -> None:
    """mbind(2): set the policy of ``[addr, addr + length)`` of this process.

    ``nodes=None`` passes a NULL mask (maxnode 0), as MPOL_DEFAULT and
    MPOL_LOCAL expect. ``flags`` MPOL_MF_MOVE / MPOL_MF_MOVE_ALL migrate the
    pages already there; MPOL_MF_STRICT fails with EIO if some cannot be.
    """
    addr = _int_arg("addr", addr, 0, ULONG_MAX)
    length = _int_arg("length", length, 0, ULONG_MAX)
    mode = _int_arg("mode", mode, INT_MIN, INT_MAX)
    mask = _mask_arg("nodes", nodes)
    flags = _int_arg("flags", flags, 0, UINT_MAX)
    io = sysio if sysio is not None else SysIO()
    rc = io.mbind(addr, length, mode, mask, MAXNODE if mask is not None else 0, flags)
    if rc < 0:
        raise syscall_error(rc)


def set_mempolicy(mode: int, nodes: Iterable[int] | None = None, *, sysio: KernelIO | None = None) -> None:
    """set_mempolicy(2): the policy of the calling thread for its future allocations."""
    mode = _int_arg("mode", mode, INT_MIN, INT_MAX)
    mask = _mask_arg("nodes", nodes)
    io = sysio if sysio is not None else SysIO()
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
    flags = _int_arg("flags", flags, 0, ULONG_MAX)
    if addr is not None:
        addr = _int_arg("addr", addr, 0, ULONG_MAX)
        flags |= MPOL_F_ADDR
    elif flags & MPOL_F_ADDR:
        raise ValueError("addr: MPOL_F_ADDR given without an address")
    io = sysio if sysio is not None else SysIO()
    mode_out = [0]
    mask_out = [0] * NODEMASK_LONGS
    rc = io.get_mempolicy(mode_out, mask_out, MAXNODE, addr if addr is not None else 0, flags)
    if rc < 0:
        raise syscall_error(rc)
    return mode_out[0], mask_to_nodes(mask_out)


def _required(name: str, nodes: Iterable[int] | None) -> Iterable[int]:
    if nodes is None:
        raise TypeError(f"{name} must be a collection of node ids, not None")
    return nodes


class Process:
    """A live process, by pid; 0 is the calling process (whoever calls, as for the system calls)."""

    __slots__ = ("_sysio", "pid")

    def __init__(self, pid: int, sysio: KernelIO | None = None) -> None:
        self.pid = _pid_arg(pid)
        self._sysio: KernelIO = sysio if sysio is not None else SysIO()

    def __repr__(self) -> str:
        return f"Process({self.pid})"

    def is_caller(self) -> bool:
        return self.pid in (0, os.getpid())

    def _caller_only(self, call: str) -> None:
        if not self.is_caller():
            raise ValueError(f"pid: {call} acts on the calling process only, this handle is for {self.pid}")

    def move_pages(self, pages: Iterable[int], nodes: Iterable[int] | None = None,
                   flags: int = 0) -> MovePagesResult:
        """move_pages(2) on this process's pages; see ``pagemig.real.move_pages``."""
        return move_pages(self.pid, pages, nodes, flags, sysio=self._sysio)

    def migrate_pages(self, old_nodes: Iterable[int], new_nodes: Iterable[int]) -> int:
        """migrate_pages(2) on this process; the number of pages not migrated."""
        return migrate_pages(self.pid, old_nodes, new_nodes, sysio=self._sysio)

    def mbind(self, addr: int, length: int, mode: int, nodes: Iterable[int] | None, flags: int = 0) -> None:
        """mbind(2); only for the calling process."""
        self._caller_only("mbind")
        mbind(addr, length, mode, nodes, flags, sysio=self._sysio)

    def get_mempolicy(self, addr: int | None = None, flags: int = 0) -> tuple[int, frozenset[int]]:
        """get_mempolicy(2); only for the calling process."""
        self._caller_only("get_mempolicy")
        return get_mempolicy(addr, flags, sysio=self._sysio)

    def set_mempolicy(self, mode: int, nodes: Iterable[int] | None = None) -> None:
        """set_mempolicy(2); only for the calling process (its calling thread)."""
        self._caller_only("set_mempolicy")
        set_mempolicy(mode, nodes, sysio=self._sysio)

    def numa_maps(self) -> list[NumaMapsEntry]:
        """/proc/PID/numa_maps (/proc/self for pid 0), parsed."""
        return read_numa_maps(self.pid, sysio=self._sysio)


def this_process(sysio: KernelIO | None = None) -> Process:
    """The calling process, as pid 0 (after fork() that is the child, as for the system calls)."""
    return Process(0, sysio)
