"""Schedule points: where the kernel may sleep or another CPU may step in.

Kernel code in the model calls ``schedule_point`` (cond_resched, a sleeping
lock, waiting for writeback) and ``wait_until`` (sleep until a condition
holds). With no scheduler installed they cost one attribute test: a single
task runs straight through, and waiting for a condition that nobody else can
make true is a deadlock, reported as a KernelBug. A deterministic scheduler
installed on the machine runs several simulated tasks, switching only here,
so races replay exactly.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from .bug import KernelBug

if TYPE_CHECKING:
    from .cpuset import Cpuset
    from .cred import Cred
    from .mempolicy import Mempolicy
    from .mmap import MmStruct


class Scheduler(Protocol):
    def schedule_point(self, reason: str) -> None:
        """Let another runnable task run before continuing."""

    def wait_until(self, condition: Callable[[], bool], reason: str) -> None:
        """Block the current task until ``condition()`` holds."""


class SchedulerHost(Protocol):
    scheduler: Scheduler | None


def schedule_point(host: SchedulerHost, reason: str) -> None:
    if host.scheduler is not None:
        host.scheduler.schedule_point(reason)


cond_resched = schedule_point


def wait_until(host: SchedulerHost, condition: Callable[[], bool], reason: str) -> None:
    """Sleep until ``condition`` holds (wait_event)."""
    if condition():
        schedule_point(host, reason)
        return
    if host.scheduler is None:
        raise KernelBug(f"deadlock: {reason} would sleep forever (no other task can wake it)")
    host.scheduler.wait_until(condition, reason)


# --- tasks (include/linux/sched.h, kernel/pid.c) -------------------------------------------

PF_EXITING = 0x00000004
PF_KTHREAD = 0x00200000
PF_SWAPWRITE = 0x00800000
PID_MAX_DEFAULT = 0x8000


class TaskStruct:
    """task_struct: identity, credentials, where it runs, its memory policy and mm."""

    def __init__(self, pid: int, comm: str, cred: Cred, mm: MmStruct | None, cpu: int,
                 cpuset: Cpuset, parent: TaskStruct | None = None, flags: int = 0) -> None:
        self.pid = pid
        self.tgid = pid
        self.comm = comm
        self.cred = cred
        self.mm = mm
        self.cpu = cpu
        self.cpuset = cpuset
        self.mems_allowed: frozenset[int] = cpuset.mems_allowed
        self.mempolicy: Mempolicy | None = None
        self.il_next = 0  # next node of an interleave policy
        self.parent = parent
        self.flags = flags

    def __repr__(self) -> str:
        return f"<task {self.pid} {self.comm} uid={self.cred.uid}>"


class PidTable:
    """Pid allocation as alloc_pidmap does: increasing, wrapping at pid_max,
    never handing out a pid that a live task still holds."""

    def __init__(self, pid_max: int = PID_MAX_DEFAULT) -> None:
        self.tasks: dict[int, TaskStruct] = {}
        self.last_pid = 0
        self.pid_max = pid_max

    def alloc_pid(self) -> int:
        pid = self.last_pid
        for _ in range(self.pid_max):
            pid = pid + 1 if pid + 1 < self.pid_max else 300  # RESERVED_PIDS after a wrap
            if pid not in self.tasks:
                self.last_pid = pid
                return pid
        raise OSError(errno.EAGAIN, "no free pid")

    def attach(self, task: TaskStruct) -> None:
        self.tasks[task.pid] = task

    def detach(self, task: TaskStruct) -> None:
        del self.tasks[task.pid]

    def find_task_by_vpid(self, pid: int) -> TaskStruct | None:
        return self.tasks.get(pid)


def get_task_mm(task: TaskStruct) -> MmStruct | None:
    """The task's mm with a user reference, or None for kernel threads and exiting tasks."""
    mm = task.mm
    if mm is None or task.flags & PF_KTHREAD:
        return None
    mm.mm_users += 1
    return mm
