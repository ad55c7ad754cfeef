"""The argument rules of the placement system calls, shared by the model and the live kernel.

``pagemig.Process`` (the model) and ``pagemig.real.Process`` (the live
kernel) check their arguments here, before anything reaches a kernel, so a
bad argument gets the same exception with the same message on both sides:
``TypeError`` for a value of the wrong type (``bool`` is not an int here),
``ValueError`` for one the C argument cannot hold. Each range is the C
type's: ``pid_t``, ``int`` nodes and modes, ``int`` flags of move_pages
(any 32-bit pattern: ``1 << 31`` is INT_MIN's bit, as C's ``1U << 31``),
``unsigned long`` flags and addresses of mbind and get_mempolicy, pointers
of the caller's width for move_pages' pages. Values the C type holds go to
the kernel, which answers them (EINVAL for unknown flags, ENODEV for a
missing node, ESRCH for a missing pid) on both sides alike.

Integer sequences are lists, tuples, any other iterable of ints (not
``str`` or ``bytes``), or one-dimensional numpy integer arrays. An array is
checked with whole-array operations and, when it already has the kernel's
element type, passed on without a copy (``int_array``).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
UINT_MAX = 2**32 - 1
ULONG_MAX = 2**64 - 1
# Node masks are passed as 1024-bit masks (pagemig.real.nodemask.NODEMASK_BITS).
MAX_NODE_ID = 1023
# MPOL_F_ADDR of get_mempolicy (include/uapi/linux/mempolicy.h).
_MPOL_F_ADDR = 1 << 1

IntSequence = Iterable[int] | npt.NDArray[np.integer[Any]]
"""What the calls take for pages and nodes: ints, or a one-dimensional integer array."""

_RANGE = {np.dtype(np.uint64): (0, ULONG_MAX), np.dtype(np.uint32): (0, UINT_MAX),
          np.dtype(np.int32): (INT_MIN, INT_MAX)}


def int_arg(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]`` (numpy integers accepted, bools refused)."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an int, not a bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None
    if not low <= number <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {number}")
    return number


def int_at_least(name: str, value: Any, minimum: int | None) -> int:
    """``value`` as an int of at least ``minimum`` (None: any), for arguments without a C range here."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


def int_list(name: str, values: Any, low: int, high: int) -> list[int]:
    """A list of ints in ``[low, high]`` from any iterable of ints or a 1-D integer array."""
    if isinstance(values, np.ndarray):
        return _checked_numpy(name, values, low, high).tolist()  # type: ignore[no-any-return]
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of ints, not {type(values).__name__}")
    items = values if isinstance(values, list | tuple) else list(values)
    if set(map(type, items)) <= {int} and (not items or (low <= min(items) and max(items) <= high)):
        return list(items)  # plain ints in range: nothing to convert or report
    return [int_arg(f"{name}[{i}]", value, low, high) for i, value in enumerate(items)]


def int_array(name: str, values: Any, dtype: type[np.integer[Any]]) -> npt.NDArray[Any]:
    """A C-contiguous 1-D array of ``dtype`` (uint64, uint32 or int32) holding ``values``.

    An array that already is one is returned as it is (no copy, no check:
    every value of the type is one the C argument holds); another integer
    array is range-checked as a whole and converted; anything else goes
    through ``int_list``'s rules.
    """
    low, high = _RANGE[np.dtype(dtype)]
    if isinstance(values, np.ndarray):
        if values.dtype == dtype and values.ndim == 1 and values.flags.c_contiguous:
            return values
        return np.ascontiguousarray(_checked_numpy(name, values, low, high), dtype=dtype)
    return np.array(int_list(name, values, low, high), dtype=dtype)


def _checked_numpy(name: str, values: npt.NDArray[Any], low: int, high: int) -> npt.NDArray[Any]:
    if values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {values.shape}")
    if values.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, not {values.dtype}")
    if values.size:
        info = np.iinfo(values.dtype)
        if info.min < low or info.max > high:  # the type can hold values the C type cannot
            bad = (values < low) | (values > high)
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"{name}[{i}] must be in [{low}, {high}], got {int(values[i])}")
    return values


def pid_arg(pid: Any) -> int:
    """A ``pid_t``; 0 is the calling process, and one that names no task is the kernel's ESRCH."""
    return int_arg("pid", pid, INT_MIN, INT_MAX)


def node_list(name: str, nodes: Any) -> list[int] | None:
    """The node ids of a node mask (None: a NULL mask), each in ``[0, MAX_NODE_ID]``."""
    if nodes is None:
        return None
    return int_list(name, nodes, 0, MAX_NODE_ID)


def required_nodes(name: str, nodes: Any) -> list[int]:
    """A node mask that cannot be NULL (migrate_pages' two)."""
    if nodes is None:
        raise TypeError(f"{name} must be a collection of node ids, not None")
    return int_list(name, nodes, 0, MAX_NODE_ID)


@dataclass(frozen=True)
class MovePagesArgs:
    """move_pages(2)'s arguments, checked: the arrays in the kernel's element types."""

    pid: int
    pages: npt.NDArray[Any]  # uint64, or uint32 for a 32-bit caller
    nodes: npt.NDArray[np.int32] | None
    flags: int


def move_pages_args(pid: Any, pages: Any, nodes: Any, flags: Any, *,
                    pointer_bits: int = 64) -> MovePagesArgs:
    """Check move_pages' arguments in a fixed order: pid, pages, nodes, their lengths, flags."""
    checked_pid = pid_arg(pid)
    page_array = int_array("pages", pages, np.uint64 if pointer_bits == 64 else np.uint32)
    node_array = None if nodes is None else int_array("nodes", nodes, np.int32)
    if node_array is not None and len(node_array) != len(page_array):
        raise ValueError(f"nodes has {len(node_array)} entries, pages has {len(page_array)}")
    return MovePagesArgs(checked_pid, page_array, node_array, int_arg("flags", flags, INT_MIN, UINT_MAX))


def mbind_args(addr: Any, length: Any, mode: Any, nodes: Any,
               flags: Any) -> tuple[int, int, int, list[int] | None, int]:
    """``(addr, length, mode, nodes or None, flags)`` of mbind(2), checked in that order."""
    return (int_arg("addr", addr, 0, ULONG_MAX), int_arg("length", length, 0, ULONG_MAX),
            int_arg("mode", mode, INT_MIN, INT_MAX), node_list("nodes", nodes),
            int_arg("flags", flags, 0, UINT_MAX))


def mempolicy_args(mode: Any, nodes: Any) -> tuple[int, list[int] | None]:
    """``(mode, nodes or None)`` of set_mempolicy(2)."""
    return int_arg("mode", mode, INT_MIN, INT_MAX), node_list("nodes", nodes)


def get_mempolicy_args(addr: Any, flags: Any) -> tuple[int, int]:
    """``(addr, flags)`` of get_mempolicy(2): an address adds MPOL_F_ADDR; None is no address (0)."""
    checked_flags = int_arg("flags", flags, 0, ULONG_MAX)
    if addr is None:
        if checked_flags & _MPOL_F_ADDR:
            raise ValueError("addr: MPOL_F_ADDR given without an address")
        return 0, checked_flags
    return int_arg("addr", addr, 0, ULONG_MAX), checked_flags | _MPOL_F_ADDR


def address_arg(addr: Any) -> int:
    """A user address (node_of)."""
    return int_arg("addr", addr, 0, ULONG_MAX)
