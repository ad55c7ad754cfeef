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

from collections.abc import Callable
from typing import Protocol

from .bug import KernelBug


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
