"""Model of mm/memcontrol.c (2.6.35): memory cgroups, page charging, and the
migration hooks migrate.c calls.

The memory controller starts disabled, as with cgroup_disable=memory: every
hook returns at once. Once a cgroup is created it is enabled; each task is
charged to its memcg (the root cgroup by default, which has no limit). A
charge over the limit fails with -ENOMEM (the model does no reclaim to make
room). Charges live in page_cgroup records beside the pages, as in the
kernel.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from .page import Page, PageAnon, PageSwapBacked, PageSwapCache, page_mapped

if TYPE_CHECKING:
    from ..machine import Machine
    from .filemap import AddressSpace
    from .mmap import MmStruct

MEM_CGROUP_CHARGE_TYPE_CACHE: Final = 0
MEM_CGROUP_CHARGE_TYPE_MAPPED: Final = 1
MEM_CGROUP_CHARGE_TYPE_SHMEM: Final = 2


@dataclass(eq=False)
class MemCgroup:
    name: str
    limit: int | None = None  # pages; None = unlimited
    usage: int = 0
    failcnt: int = 0
    tasks: set[int] = field(default_factory=set)

    def __repr__(self) -> str:
        return f"<memcg {self.name} usage={self.usage} limit={self.limit}>"


@dataclass(eq=False)
class PageCgroup:
    """struct page_cgroup: which memcg a page is charged to and how."""

    mem: MemCgroup
    ctype: int
    migration: bool = False


class MemcgState:
    """The controller's state on one machine."""

    def __init__(self) -> None:
        self.enabled = False
        self.root = MemCgroup("/")
        self.groups: dict[str, MemCgroup] = {"/": self.root}
        self.page_cgroup: dict[Page, PageCgroup] = {}
        self.task_memcg: dict[int, MemCgroup] = {}


def mem_cgroup_disabled(machine: Machine) -> bool:
    return not machine.memcg.enabled


def _try_charge(machine: Machine, mem: MemCgroup, force: bool = False) -> int:
    if force:
        mem.usage += 1
        return 0
    if machine.should_fail("memcg_charge", memcg=mem.name):
        mem.failcnt += 1
        return -errno.ENOMEM
    if mem.limit is not None and mem.usage + 1 > mem.limit:
        mem.failcnt += 1
        return -errno.ENOMEM
    mem.usage += 1
    return 0


def _commit_charge(machine: Machine, page: Page, mem: MemCgroup, ctype: int) -> None:
    machine.memcg.page_cgroup[page] = PageCgroup(mem, ctype)


def _uncharge(machine: Machine, page: Page) -> None:
    pc = machine.memcg.page_cgroup.pop(page, None)
    if pc is not None:
        pc.mem.usage -= 1


def _memcg_of_mm(machine: Machine, mm: MmStruct | None) -> MemCgroup:
    owner = mm.owner if mm is not None else None
    if owner is None:
        return machine.memcg.root
    return machine.memcg.task_memcg.get(owner.pid, machine.memcg.root)


def mem_cgroup_newpage_charge(page: Page, mm: MmStruct) -> int:
    """Charge a new anonymous page to the faulting mm's memcg; 0 or -ENOMEM."""
    machine = page.zone.machine
    if mem_cgroup_disabled(machine):
        return 0
    mem = _memcg_of_mm(machine, mm)
    rc = _try_charge(machine, mem)
    if rc == 0:
        _commit_charge(machine, page, mem, MEM_CGROUP_CHARGE_TYPE_MAPPED)
    return rc


def mem_cgroup_cache_charge(page: Page, mapping: AddressSpace) -> int:
    """Charge a page entering the page cache to the current task's memcg."""
    machine = page.zone.machine
    if mem_cgroup_disabled(machine) or page in machine.memcg.page_cgroup:
        return 0
    task = machine.current
    mem = machine.memcg.task_memcg.get(task.pid, machine.memcg.root) if task else machine.memcg.root
    rc = _try_charge(machine, mem)
    if rc == 0:
        ctype = MEM_CGROUP_CHARGE_TYPE_SHMEM if PageSwapBacked(page) else MEM_CGROUP_CHARGE_TYPE_CACHE
        _commit_charge(machine, page, mem, ctype)
    return rc


def mem_cgroup_uncharge_page(page: Page) -> None:
    """Uncharge an anonymous page that became unmapped, unless it is in the
    swap cache or a migration holds the charge (the MIGRATION flag)."""
    machine = page.zone.machine
    if not machine.memcg.enabled:  # mem_cgroup_disabled
        return
    pc = machine.memcg.page_cgroup.get(page)
    if pc is None or pc.migration or page_mapped(page):
        return

    if PageSwapCache(page):
        return
    _uncharge(machine, page)


def mem_cgroup_uncharge_cache_page(page: Page) -> None:
    machine = page.zone.machine
    if mem_cgroup_disabled(machine):
        return
    pc = machine.memcg.page_cgroup.get(page)
    if pc is not None and pc.ctype != MEM_CGROUP_CHARGE_TYPE_MAPPED:
        _uncharge(machine, page)


def mem_cgroup_uncharge_swapcache(page: Page) -> None:
    """A page leaving the swap cache drops its charge if nothing maps it."""
    machine = page.zone.machine
    if mem_cgroup_disabled(machine) or page_mapped(page):
        return
    pc = machine.memcg.page_cgroup.get(page)
    if pc is not None and not pc.migration:
        _uncharge(machine, page)


def mem_cgroup_prepare_migration(page: Page, newpage: Page,
                                 ptr: list[MemCgroup | None]) -> int:
    """Charge ``newpage`` to ``page``'s memcg before migrating; ``ptr[0]``
    receives that memcg (stays None if the old page was not charged).
    Return: 0 or -ENOMEM."""
    machine = page.zone.machine
    if not machine.memcg.enabled:  # mem_cgroup_disabled
        return 0
    pc = machine.memcg.page_cgroup.get(page)
    if pc is None:
        return 0
    mem = pc.mem
    if PageAnon(page):
        pc.migration = True
    ptr[0] = mem
    # Since 3.17 the charge moves with the page and cannot fail: profile switch.
    rc = _try_charge(machine, mem, force=not machine.kernel.memcg_migration_charge_can_fail)
    if rc:
        if PageAnon(page):
            pc.migration = False
            if not page_mapped(page):
                mem_cgroup_uncharge_page(page)
        ptr[0] = None
        return -errno.ENOMEM
    if PageAnon(page):
        ctype = MEM_CGROUP_CHARGE_TYPE_MAPPED
    elif PageSwapBacked(page):
        ctype = MEM_CGROUP_CHARGE_TYPE_SHMEM
    else:
        ctype = MEM_CGROUP_CHARGE_TYPE_CACHE
    _commit_charge(machine, newpage, mem, ctype)
    return 0


def mem_cgroup_end_migration(mem: MemCgroup | None, oldpage: Page, newpage: Page) -> None:
    """Success is decided by ``oldpage.mapping is None``: uncharge the unused page."""
    if mem is None:
        return
    machine = oldpage.zone.machine
    if oldpage.mapping is None:
        used, unused = newpage, oldpage
    else:
        used, unused = oldpage, newpage
    pc = machine.memcg.page_cgroup.get(oldpage)
    if pc is not None:
        pc.migration = False
    if unused in machine.memcg.page_cgroup:
        _uncharge(machine, unused)
    if PageAnon(used):
        mem_cgroup_uncharge_page(used)


def mem_cgroup_create(machine: Machine, name: str, limit: int | None) -> MemCgroup:
    if name in machine.memcg.groups:
        raise ValueError(f"memory cgroup {name!r} already exists")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    machine.memcg.enabled = True
    group = MemCgroup(name, limit)
    machine.memcg.groups[name] = group
    return group


def mem_cgroup_attach(machine: Machine, pid: int, group: MemCgroup) -> None:
    old = machine.memcg.task_memcg.get(pid)
    if old is not None:
        old.tasks.discard(pid)
    machine.memcg.task_memcg[pid] = group
    group.tasks.add(pid)
