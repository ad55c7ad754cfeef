"""Model of kernel/cred.c, kernel/sys.c's set*uid and include/linux/capability.h.

Credentials are immutable values: a change builds a new Cred and commits it,
as prepare_creds()/commit_creds() do, and committing a change of effective or
filesystem identity clears the mm's dumpable flag (suid_dumpable = 0).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .sched import TaskStruct

# include/linux/capability.h
CAP_CHOWN: Final = 0
CAP_DAC_OVERRIDE: Final = 1
CAP_KILL: Final = 5
CAP_SETGID: Final = 6
CAP_SETUID: Final = 7
CAP_IPC_LOCK: Final = 14
CAP_SYS_PTRACE: Final = 19
CAP_SYS_ADMIN: Final = 21
CAP_SYS_NICE: Final = 23
CAP_SYS_RESOURCE: Final = 24
CAP_LAST_CAP: Final = 33
CAP_FULL_SET: Final = (1 << (CAP_LAST_CAP + 1)) - 1
# Capabilities that follow the fsuid (CAP_FS_MASK).
CAP_FS_MASK: Final = (1 << CAP_CHOWN) | (1 << CAP_DAC_OVERRIDE) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 9)

SUID_DUMP_DISABLE: Final = 0
SUID_DUMP_USER: Final = 1


@dataclass(frozen=True, slots=True)
class Cred:
    """struct cred: the identities and capability sets of a task."""

    uid: int
    euid: int
    suid: int
    fsuid: int
    gid: int
    egid: int
    sgid: int
    fsgid: int
    cap_permitted: int
    cap_effective: int

    @classmethod
    def for_user(cls, uid: int, gid: int | None = None) -> Cred:
        """A login shell's credentials: root holds every capability, others none."""
        gid = uid if gid is None else gid
        caps = CAP_FULL_SET if uid == 0 else 0
        return cls(uid, uid, uid, uid, gid, gid, gid, gid, caps, caps)


def cap_raised(caps: int, cap: int) -> bool:
    return caps >> cap & 1 != 0


def has_capability(task: TaskStruct, cap: int) -> bool:
    return cap_raised(task.cred.cap_effective, cap)


def capable(task: TaskStruct, cap: int) -> bool:
    """capable() asks about the current task; the model passes it explicitly."""
    return has_capability(task, cap)


def cap_emulate_setxuid(new: Cred, old: Cred) -> Cred:
    """security/commoncap.c: dropping all root uids drops the capabilities."""
    permitted, effective = new.cap_permitted, new.cap_effective
    if (0 in (old.uid, old.euid, old.suid)) and 0 not in (new.uid, new.euid, new.suid):
        permitted = effective = 0
    if old.euid == 0 and new.euid != 0:
        effective = 0
    if old.euid != 0 and new.euid == 0:
        effective = permitted
    if old.fsuid == 0 and new.fsuid != 0:
        effective &= ~CAP_FS_MASK
    elif old.fsuid != 0 and new.fsuid == 0:
        effective |= permitted & CAP_FS_MASK
    return replace(new, cap_permitted=permitted, cap_effective=effective)


def commit_creds(task: TaskStruct, new: Cred) -> int:
    old = task.cred
    if task.mm is not None and (
        old.euid != new.euid or old.egid != new.egid or old.fsuid != new.fsuid
        or old.fsgid != new.fsgid or new.cap_permitted & ~old.cap_permitted
    ):
        task.mm.dumpable = SUID_DUMP_DISABLE
    task.cred = new
    return 0


def sys_setuid(task: TaskStruct, uid: int) -> int:
    """setuid(2): with CAP_SETUID all three uids change; otherwise only the
    effective one, and only to the real or saved uid. -EPERM otherwise."""
    old = task.cred
    if uid < 0:
        return -errno.EINVAL
    if capable(task, CAP_SETUID):
        new = replace(old, uid=uid, suid=uid)
    elif uid != old.uid and uid != old.suid:
        return -errno.EPERM
    else:
        new = old
    new = replace(new, euid=uid, fsuid=uid)
    return commit_creds(task, cap_emulate_setxuid(new, old))


def sys_setresuid(task: TaskStruct, ruid: int, euid: int, suid: int) -> int:
    """setresuid(2); -1 leaves a value unchanged. Without CAP_SETUID each new
    value must be one of the current real, effective or saved uids."""
    old = task.cred
    if not capable(task, CAP_SETUID):
        allowed = (old.uid, old.euid, old.suid)
        if any(v != -1 and v not in allowed for v in (ruid, euid, suid)):
            return -errno.EPERM
    new = replace(
        old,
        uid=old.uid if ruid == -1 else ruid,
        euid=old.euid if euid == -1 else euid,
        suid=old.suid if suid == -1 else suid,
    )
    new = replace(new, fsuid=new.euid)
    return commit_creds(task, cap_emulate_setxuid(new, old))


def sys_seteuid(task: TaskStruct, euid: int) -> int:
    """glibc's seteuid(): setresuid(-1, euid, -1)."""
    if euid < 0:
        return -errno.EINVAL
    return sys_setresuid(task, -1, euid, -1)


def may_move_memory_of(current: TaskStruct, task: TaskStruct) -> bool:
    """move_pages(2)/migrate_pages(2)'s permission test: the caller's real or
    effective uid matches the target's real or saved uid, or CAP_SYS_NICE.
    (The target's euid is not considered.)"""
    cred, tcred = current.cred, task.cred
    return (cred.euid in (tcred.suid, tcred.uid) or cred.uid in (tcred.suid, tcred.uid)
            or capable(current, CAP_SYS_NICE))
