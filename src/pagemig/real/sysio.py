"""The one door to the live Linux kernel: NUMA system calls (ctypes), /proc and /sys reads.

Everything ``pagemig.real`` learns from or asks of the running kernel goes
through an object with the ``KernelIO`` methods below. ``SysIO`` is the live
kernel; ``RecordingSysIO`` records every call (name, arguments, result,
what the kernel wrote back) and either answers from canned ``Reply``s or
passes the call on to another ``KernelIO``, so tests can assert the exact
calls without a NUMA machine, and a live session can be saved and replayed.

The system-call methods take the C arguments as plain Python values (ints,
lists of ints, ``None`` for NULL) and return what the kernel returns: a
non-negative value, or ``-errno``. They do not raise for kernel errors; the
public functions of ``pagemig.real`` turn a negative value into ``OSError``.
Output buffers are Python lists that the call fills in, except move_pages',
whose three arrays are numpy arrays of the kernel's element types (pages
``uint64``, nodes and status ``int32``) passed to the kernel by address,
without a copy; the kernel writes ``status`` in place and leaves the slots
it does not write as they were (callers pre-fill them with
``STATUS_UNWRITTEN``). Files are read the way Python reads them: a failure
raises ``OSError`` at once. ``ProcessIO`` adds what ``pagemig.real.daemon``
needs to watch another process: a read at an offset (/proc/PID/pagemap,
recorded as hex text) and a write (/proc/PID/clear_refs).

Node masks are lists of ``unsigned long`` words with ``maxnode`` = bits + 1,
as the kernel's ``get_nodes()`` reads them (see ``pagemig.real.nodemask``).
Each method checks only that the buffers are as long as the kernel will
read or write, so that no argument can make the kernel touch memory outside
them; the values themselves are the caller's business.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt

from ..results import STATUS_UNWRITTEN
from .nodemask import BITS_PER_LONG

# System call numbers, by platform.machine() (arch/x86/entry/syscalls/syscall_64.tbl,
# include/uapi/asm-generic/unistd.h for arm64).
SYSCALL_NUMBERS: dict[str, dict[str, int]] = {
    "x86_64": {"mbind": 237, "set_mempolicy": 238, "get_mempolicy": 239,
               "migrate_pages": 256, "move_pages": 279},
    "aarch64": {"mbind": 235, "get_mempolicy": 236, "set_mempolicy": 237,
                "migrate_pages": 238, "move_pages": 239},
}

Result = int | str | list[str]


class KernelIO(Protocol):
    """What ``pagemig.real`` needs from a kernel: five system calls and two file reads."""

    def move_pages(self, pid: int, count: int, pages: npt.NDArray[np.uint64],
                   nodes: npt.NDArray[np.int32] | None, status: npt.NDArray[np.int32], flags: int) -> int: ...

    def migrate_pages(self, pid: int, maxnode: int, old_nodes: Sequence[int] | None,
                      new_nodes: Sequence[int] | None) -> int: ...

    def mbind(self, addr: int, length: int, mode: int, nodemask: Sequence[int] | None, maxnode: int,
              flags: int) -> int: ...

    def set_mempolicy(self, mode: int, nodemask: Sequence[int] | None, maxnode: int) -> int: ...

    def get_mempolicy(self, mode_out: list[int] | None, nodemask_out: list[int] | None, maxnode: int,
                      addr: int, flags: int) -> int: ...

    def read_text(self, path: str) -> str: ...

    def listdir(self, path: str) -> list[str]: ...


class ProcessIO(KernelIO, Protocol):
    """``KernelIO`` with what a daemon watching another process needs besides: a
    read at an offset (/proc/PID/pagemap) and a write (/proc/PID/clear_refs)."""

    def read_bytes(self, path: str, offset: int, length: int) -> bytes: ...

    def write_text(self, path: str, text: str) -> None: ...


def syscall_numbers(machine: str | None = None) -> dict[str, int] | None:
    """The NUMA system call numbers of this machine, or None if pagemig does not know them.

    Only 64-bit processes are supported: a 32-bit Python on an x86-64 kernel
    reports ``x86_64`` but would need the i386 numbers, so it gets None.
    """
    if ctypes.sizeof(ctypes.c_void_p) * 8 != BITS_PER_LONG:
        return None
    return SYSCALL_NUMBERS.get(machine if machine is not None else platform.machine())


def mask_words(maxnode: int) -> int:
    """How many ``unsigned long`` words the kernel reads or writes for ``maxnode``.

    get_nodes() and copy_nodes_to_user() use ``maxnode - 1`` bits; maxnode 0
    wraps to ULONG_MAX, which the kernel rejects before touching the mask.
    """
    if maxnode <= 1:
        return 0
    return (maxnode - 1 + BITS_PER_LONG - 1) // BITS_PER_LONG


def _check_array(what: str, array: Any, dtype: type[np.generic], needed: int) -> None:
    """The kernel will access ``needed`` elements of ``array`` at its address: it must be
    a C-contiguous 1-D array of ``dtype`` that long."""
    if (not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != 1
            or not array.flags.c_contiguous):
        raise TypeError(f"{what} must be a C-contiguous one-dimensional {np.dtype(dtype)} array")
    _check_room(what, array, needed)


def _check_room(what: str, buffer: Sequence[Any] | np.ndarray[Any, Any] | None, needed: int) -> None:
    if buffer is not None and len(buffer) < needed:
        raise ValueError(f"{what} has {len(buffer)} entries; the kernel would access {needed}")


class SysIO:
    """The live kernel, through libc's ``syscall()`` and ordinary file reads.

    On a machine whose system call numbers are unknown every system call
    answers -ENOSYS, as a kernel without CONFIG_NUMA does.
    """

    def __init__(self, machine: str | None = None) -> None:
        self._numbers = syscall_numbers(machine)
        self._syscall: Callable[..., int] | None = None
        if self._numbers is not None:
            libc = ctypes.CDLL(None, use_errno=True)
            function = libc["syscall"]
            function.restype = ctypes.c_long
            self._syscall = function

    def _call(self, name: str, *args: Any) -> int:
        # Every argument goes as a full register: syscall() reads them with va_arg(long).
        if self._numbers is None or self._syscall is None:
            return -errno.ENOSYS
        rc = self._syscall(ctypes.c_long(self._numbers[name]), *args)
        return -ctypes.get_errno() if rc == -1 else rc

    def move_pages(self, pid: int, count: int, pages: npt.NDArray[np.uint64],
                   nodes: npt.NDArray[np.int32] | None, status: npt.NDArray[np.int32], flags: int) -> int:
        """move_pages(2) on the arrays' own memory: the kernel writes ``status`` in place."""
        _check_array("pages", pages, np.uint64, count)
        if nodes is not None:
            _check_array("nodes", nodes, np.int32, count)
        _check_array("status", status, np.int32, count)
        if not status.flags.writeable:
            raise ValueError("status must be a writeable array")
        return self._call("move_pages", ctypes.c_long(pid), ctypes.c_ulong(count),
                          ctypes.c_void_p(pages.ctypes.data),
                          None if nodes is None else ctypes.c_void_p(nodes.ctypes.data),
                          ctypes.c_void_p(status.ctypes.data), ctypes.c_long(flags))

    def migrate_pages(self, pid: int, maxnode: int, old_nodes: Sequence[int] | None,
                      new_nodes: Sequence[int] | None) -> int:
        """migrate_pages(2): pages not migrated, or -errno."""
        _check_room("old_nodes", old_nodes, mask_words(maxnode))
        _check_room("new_nodes", new_nodes, mask_words(maxnode))
        return self._call("migrate_pages", ctypes.c_long(pid), ctypes.c_ulong(maxnode),
                          _ulongs(old_nodes), _ulongs(new_nodes))

    def mbind(self, addr: int, length: int, mode: int, nodemask: Sequence[int] | None, maxnode: int,
              flags: int) -> int:
        """mbind(2) on ``[addr, addr + length)`` of the calling process."""
        _check_room("nodemask", nodemask, mask_words(maxnode))
        return self._call("mbind", ctypes.c_ulong(addr), ctypes.c_ulong(length), ctypes.c_long(mode),
                          _ulongs(nodemask), ctypes.c_ulong(maxnode), ctypes.c_ulong(flags))

    def set_mempolicy(self, mode: int, nodemask: Sequence[int] | None, maxnode: int) -> int:
        """set_mempolicy(2) for the calling thread."""
        _check_room("nodemask", nodemask, mask_words(maxnode))
        return self._call("set_mempolicy", ctypes.c_long(mode), _ulongs(nodemask), ctypes.c_ulong(maxnode))

    def get_mempolicy(self, mode_out: list[int] | None, nodemask_out: list[int] | None, maxnode: int,
                      addr: int, flags: int) -> int:
        """get_mempolicy(2). On success fills ``mode_out[0]`` and the ``nodemask_out`` words."""
        _check_room("mode_out", mode_out, 1)
        _check_room("nodemask_out", nodemask_out, mask_words(maxnode))
        c_mode = None if mode_out is None else ctypes.c_int(0)
        c_mask = None if nodemask_out is None else (ctypes.c_ulong * len(nodemask_out))()
        rc = self._call("get_mempolicy", None if c_mode is None else ctypes.byref(c_mode), c_mask,
                        ctypes.c_ulong(maxnode), ctypes.c_ulong(addr), ctypes.c_ulong(flags))
        if rc >= 0 and mode_out is not None and c_mode is not None:
            mode_out[0] = c_mode.value
        if rc >= 0 and nodemask_out is not None and c_mask is not None:
            nodemask_out[:] = list(c_mask)
        return rc

    def read_text(self, path: str) -> str:
        """The whole file; bytes that are not UTF-8 (file names in numa_maps) survive as surrogates."""
        with open(path, encoding="utf-8", errors="surrogateescape") as file:
            return file.read()

    def listdir(self, path: str) -> list[str]:
        """Directory entries, sorted so that a recorded session replays in the same order."""
        return sorted(os.listdir(path))

    def read_bytes(self, path: str, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` (one pread; /proc/PID/pagemap gives 8 per page).
        Fewer come back only at the end of the file."""
        fd = os.open(path, os.O_RDONLY)
        try:
            return os.pread(fd, length, offset)
        finally:
            os.close(fd)

    def write_text(self, path: str, text: str) -> None:
        """Write ``text`` in one write() (/proc/PID/clear_refs reads one command per write)."""
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)


def _ulongs(words: Sequence[int] | None) -> Any:
    return None if words is None else (ctypes.c_ulong * len(words))(*words)


@dataclass(frozen=True)
class Reply:
    """A canned answer for one call: the result and what to write into output buffers.

    ``out`` keys by call: move_pages ``status`` (list, None = leave unwritten);
    get_mempolicy ``mode`` (int) and ``nodemask`` (words). A read that fails
    is a negative errno ``result``.
    """

    name: str
    result: Result
    out: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SysCall:
    """One recorded call. Input arrays are lists; an output buffer is recorded
    in ``args`` by its length (None for NULL) and its contents after the call in ``out``."""

    name: str
    args: dict[str, Any]
    result: Result
    out: dict[str, Any] = field(default_factory=dict)

    def reply(self) -> Reply:
        return Reply(self.name, self.result, dict(self.out))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "args": dict(self.args), "result": self.result, "out": dict(self.out)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SysCall:
        return cls(data["name"], dict(data["args"]), data["result"], dict(data.get("out", {})))


class ReplayError(AssertionError):
    """A call did not match the canned replies (wrong name, or none left and no backend)."""


class RecordingSysIO:
    """A ``KernelIO`` that records every call in ``calls``.

    Answers come from ``replies``, in order (a reply for another call name is
    an error); once they run out, calls go to ``backend`` (for example a live
    ``SysIO``), and with no backend a call is an error.
    """

    def __init__(self, replies: Iterable[Reply] = (), backend: KernelIO | None = None) -> None:
        self.calls: list[SysCall] = []
        self._replies: deque[Reply] = deque(replies)
        self._backend = backend

    @classmethod
    def replaying(cls, calls: Iterable[SysCall]) -> RecordingSysIO:
        """Replay a recorded session: each call gets the answer it got then."""
        return cls(call.reply() for call in calls)

    @property
    def pending(self) -> list[Reply]:
        """Replies not used yet."""
        return list(self._replies)

    def _source(self, name: str) -> Reply | KernelIO:
        if self._replies:
            reply = self._replies.popleft()
            if reply.name != name:
                raise ReplayError(f"call #{len(self.calls)} is {name}, the next reply is for {reply.name}")
            return reply
        if self._backend is None:
            raise ReplayError(f"call #{len(self.calls)} ({name}): no reply left and no backend")
        return self._backend

    def _record(self, name: str, args: dict[str, Any], result: Result, out: dict[str, Any]) -> None:
        self.calls.append(SysCall(name, args, result, out))

    def move_pages(self, pid: int, count: int, pages: npt.NDArray[np.uint64],
                   nodes: npt.NDArray[np.int32] | None, status: npt.NDArray[np.int32], flags: int) -> int:
        args = {"pid": pid, "count": count, "pages": pages.tolist(),
                "nodes": None if nodes is None else nodes.tolist(), "status": len(status), "flags": flags}
        source = self._source("move_pages")
        if isinstance(source, Reply):
            rc = _int_result(source)
            written = list(source.out.get("status", []))
            _check_room("status", status, len(written))
            for i, code in enumerate(written):
                if code is not None:  # None: a slot the kernel left as it was
                    status[i] = code
        else:
            rc = source.move_pages(pid, count, pages, nodes, status, flags)
        self._record("move_pages", args, rc,
                     {"status": [None if code == STATUS_UNWRITTEN else code for code in status.tolist()]})
        return rc

    def migrate_pages(self, pid: int, maxnode: int, old_nodes: Sequence[int] | None,
                      new_nodes: Sequence[int] | None) -> int:
        args = {"pid": pid, "maxnode": maxnode, "old_nodes": _list_or_none(old_nodes),
                "new_nodes": _list_or_none(new_nodes)}
        source = self._source("migrate_pages")
        if isinstance(source, Reply):
            rc = _int_result(source)
        else:
            rc = source.migrate_pages(pid, maxnode, old_nodes, new_nodes)
        self._record("migrate_pages", args, rc, {})
        return rc

    def mbind(self, addr: int, length: int, mode: int, nodemask: Sequence[int] | None, maxnode: int,
              flags: int) -> int:
        args = {"addr": addr, "length": length, "mode": mode, "nodemask": _list_or_none(nodemask),
                "maxnode": maxnode, "flags": flags}
        source = self._source("mbind")
        if isinstance(source, Reply):
            rc = _int_result(source)
        else:
            rc = source.mbind(addr, length, mode, nodemask, maxnode, flags)
        self._record("mbind", args, rc, {})
        return rc

    def set_mempolicy(self, mode: int, nodemask: Sequence[int] | None, maxnode: int) -> int:
        args = {"mode": mode, "nodemask": _list_or_none(nodemask), "maxnode": maxnode}
        source = self._source("set_mempolicy")
        if isinstance(source, Reply):
            rc = _int_result(source)
        else:
            rc = source.set_mempolicy(mode, nodemask, maxnode)
        self._record("set_mempolicy", args, rc, {})
        return rc

    def get_mempolicy(self, mode_out: list[int] | None, nodemask_out: list[int] | None, maxnode: int,
                      addr: int, flags: int) -> int:
        args = {"mode_out": _len_or_none(mode_out), "nodemask_out": _len_or_none(nodemask_out),
                "maxnode": maxnode, "addr": addr, "flags": flags}
        source = self._source("get_mempolicy")
        if isinstance(source, Reply):
            rc = _int_result(source)
            if rc >= 0:
                _apply_mempolicy_reply(source, mode_out, nodemask_out)
        else:
            rc = source.get_mempolicy(mode_out, nodemask_out, maxnode, addr, flags)
        out: dict[str, Any] = {}
        if rc >= 0 and mode_out is not None:
            out["mode"] = mode_out[0]
        if rc >= 0 and nodemask_out is not None:
            out["nodemask"] = list(nodemask_out)
        self._record("get_mempolicy", args, rc, out)
        return rc

    def read_text(self, path: str) -> str:
        result = self._read("read_text", path, lambda backend: backend.read_text(path))
        if not isinstance(result, str):
            raise ReplayError(f"read_text({path!r}): reply {result!r} is not text")
        return result

    def listdir(self, path: str) -> list[str]:
        result = self._read("listdir", path, lambda backend: backend.listdir(path))
        if not isinstance(result, list):
            raise ReplayError(f"listdir({path!r}): reply {result!r} is not a list of names")
        return result

    def read_bytes(self, path: str, offset: int, length: int) -> bytes:
        """Recorded with the bytes as hex text (``args`` path, offset, length)."""
        source = self._source("read_bytes")
        args: dict[str, Any] = {"path": path, "offset": offset, "length": length}
        result: Result
        if isinstance(source, Reply):
            result = source.result
        else:
            try:
                result = _process_io(source, "read_bytes").read_bytes(path, offset, length).hex()
            except OSError as err:
                result = -(err.errno or errno.EIO)
        self._record("read_bytes", args, result, {})
        if isinstance(result, int):
            raise OSError(-result, os.strerror(-result), path)
        if not isinstance(result, str):
            raise ReplayError(f"read_bytes({path!r}): reply {result!r} is not hex text")
        return bytes.fromhex(result)

    def write_text(self, path: str, text: str) -> None:
        """Recorded with result 0, or the failure as a negative errno."""
        source = self._source("write_text")
        result: Result
        if isinstance(source, Reply):
            result = _int_result(source)
        else:
            try:
                _process_io(source, "write_text").write_text(path, text)
                result = 0
            except OSError as err:
                result = -(err.errno or errno.EIO)
        self._record("write_text", {"path": path, "text": text}, result, {})
        if isinstance(result, int) and result < 0:
            raise OSError(-result, os.strerror(-result), path)

    def _read(self, name: str, path: str, live: Callable[[KernelIO], Result]) -> Result:
        """A file read: recorded with its result, or its failure as a negative errno."""
        source = self._source(name)
        if isinstance(source, Reply):
            result = source.result
        else:
            try:
                result = live(source)
            except OSError as err:
                result = -(err.errno or errno.EIO)
        self._record(name, {"path": path}, result, {})
        if isinstance(result, int):
            raise OSError(-result, os.strerror(-result), path)
        return result


def _process_io(backend: KernelIO, name: str) -> ProcessIO:
    if not hasattr(backend, name):
        raise ReplayError(f"the backend {type(backend).__name__} has no {name}")
    return cast(ProcessIO, backend)


def _int_result(reply: Reply) -> int:
    if isinstance(reply.result, bool) or not isinstance(reply.result, int):
        raise ReplayError(f"reply for {reply.name} must be an int, got {reply.result!r}")
    return reply.result


def _apply_mempolicy_reply(reply: Reply, mode_out: list[int] | None, nodemask_out: list[int] | None) -> None:
    if mode_out is not None:
        mode_out[0] = int(reply.out.get("mode", 0))
    if nodemask_out is not None:
        words = list(reply.out.get("nodemask", []))
        _check_room("nodemask_out", nodemask_out, len(words))
        nodemask_out[:] = words + [0] * (len(nodemask_out) - len(words))


def _list_or_none(values: Sequence[int] | None) -> list[int] | None:
    return None if values is None else list(values)


def _len_or_none(values: Sequence[Any] | None) -> int | None:
    return None if values is None else len(values)
