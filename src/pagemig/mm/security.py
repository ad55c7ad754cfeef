"""Model of the LSM hook migration consults (include/linux/security.h).

The default (capability) module returns 0. A machine may install another
policy: ``machine.lsm_task_movememory = lambda task: -errno.EACCES``, as
SELinux denies "setsched" on the target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..machine import Machine
    from .sched import TaskStruct


def security_task_movememory(machine: Machine, task: TaskStruct) -> int:
    hook = machine.lsm_task_movememory
    return 0 if hook is None else hook(task)
