"""Model of include/linux/rwsem.h: mmap_sem and friends.

Readers share, a writer excludes; taking it may sleep (a schedule point).
With a single task, waiting for a holder that can never release is reported
as a deadlock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .bug import KernelBug
from .sched import wait_until

if TYPE_CHECKING:
    from .sched import SchedulerHost


class RwSemaphore:
    __slots__ = ("host", "name", "readers", "writer")

    def __init__(self, host: SchedulerHost, name: str) -> None:
        self.host = host
        self.name = name
        self.readers = 0
        self.writer = False

    def __repr__(self) -> str:
        return f"<rwsem {self.name} readers={self.readers} writer={self.writer}>"


def down_read(sem: RwSemaphore) -> None:
    wait_until(sem.host, lambda: not sem.writer, f"down_read({sem.name})")
    sem.readers += 1


def up_read(sem: RwSemaphore) -> None:
    if sem.readers <= 0:
        raise KernelBug(f"up_read of {sem.name} without a reader")
    sem.readers -= 1


def down_write(sem: RwSemaphore) -> None:
    wait_until(sem.host, lambda: not sem.writer and sem.readers == 0, f"down_write({sem.name})")
    sem.writer = True


def up_write(sem: RwSemaphore) -> None:
    if not sem.writer:
        raise KernelBug(f"up_write of {sem.name} without the writer")
    sem.writer = False
