"""Model of include/linux/spinlock.h: a spin lock that knows who holds it.

With one simulated task, taking a held lock can only be a bug in the model
(the kernel would spin forever), so it raises. The deterministic scheduler
(``sched.py``) switches tasks at lock acquisition, which is where another CPU
could have stepped in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .bug import KernelBug

if TYPE_CHECKING:
    from ..machine import Machine


class SpinLock:
    # The host is the machine itself (not the SchedulerHost protocol): its
    # scheduler is read at every spin_lock, a native attribute when compiled.
    __slots__ = ("host", "locked", "name")

    def __init__(self, host: Machine, name: str) -> None:
        self.host = host
        self.name = name
        self.locked = False

    def __repr__(self) -> str:
        return f"<SpinLock {self.name} {'locked' if self.locked else 'unlocked'}>"


def spin_lock(lock: SpinLock) -> None:
    if lock.host.scheduler is not None:
        _wait_until_unlocked(lock)
    if lock.locked:
        raise KernelBug(f"deadlock: {lock.name} is already held")
    lock.locked = True


def _wait_until_unlocked(lock: SpinLock) -> None:
    """Spin (let the scheduler run other tasks) until the holder unlocks. Its
    own function, so that spin_lock builds no closure when nothing waits."""
    scheduler = lock.host.scheduler
    assert scheduler is not None
    scheduler.wait_until(lambda: not lock.locked, f"spin_lock({lock.name})")


def spin_trylock(lock: SpinLock) -> bool:
    if lock.locked:
        return False
    lock.locked = True
    return True


def spin_unlock(lock: SpinLock) -> None:
    if not lock.locked:
        raise KernelBug(f"unlock of {lock.name}, which is not held")
    lock.locked = False


# The irq-disabling variants behave the same in a model without interrupts.
def spin_lock_irq(lock: SpinLock) -> None:
    spin_lock(lock)


def spin_unlock_irq(lock: SpinLock) -> None:
    spin_unlock(lock)
