"""Kernel profiles: which kernel's user-visible behaviour the model reproduces.

Everything that differs between the profiles is listed here, in one place:
the system-call entry points (each profile's own, in ``pagemig.mm``) and the
few switches read inside code both kernels share (kernel-spec.md section 8
gives the commit of each change). The default profile is 2.6.35, the seed.

>>> from pagemig import Machine
>>> Machine(nodes=2, profile="6.1").kernel.name
'6.1'
>>> sorted(PROFILES)
['2.6.35', '6.1']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .mm.mmap import MmStruct, VmAreaStruct
    from .mm.page import Page
    from .mm.sched import TaskStruct

SysMovePages = Callable[["TaskStruct", int, int, int, int, int, int], int]
SysMigratePages = Callable[["TaskStruct", int, int, int, int], int]
SysMbind = Callable[["TaskStruct", int, int, int, int, int, int], int]
DoMigratePages = Callable[["MmStruct", frozenset[int], frozenset[int], int], int]
KsmMightNeedToCopy = Callable[["Page", "VmAreaStruct", int], "Page | None"]


@dataclass(frozen=True)
class KernelProfile:
    name: str
    # move_pages(2), migrate_pages(2), mbind(2) with user pointers.
    sys_move_pages: SysMovePages
    # move_pages(2) of a 32-bit program on the 64-bit kernel (pages holds
    # 32-bit pointers).
    compat_sys_move_pages: SysMovePages
    sys_migrate_pages: SysMigratePages
    sys_mbind: SysMbind
    # do_migrate_pages, also called by a cpuset with memory_migrate on attach.
    do_migrate_pages: DoMigratePages
    # Cpusets are cgroup-v1 ones (memory_migrate off unless set) on 2.6.35;
    # on 6.1 they are cgroup-v2 ones, where memory_migrate is always on.
    cpuset_memory_migrate_default: bool
    # unmap_and_move: KSM pages migrate like other anonymous pages (3.9);
    # 2.6.35 moves them only for memory offlining.
    ksm_pages_migrate: bool
    # try_to_unmap(TTU_MIGRATION) of a mapped swap-cache page installs a
    # migration entry and the page is mapped again afterwards (4.x); 2.6.35
    # installs its swap entry, so the page is not present after a move.
    swapcache_gets_migration_entries: bool
    # Charging the new page to the memory cgroup can fail with -ENOMEM
    # (2.6.35); since 3.17 the charge is transferred and cannot fail.
    memcg_migration_charge_can_fail: bool
    # hugetlb pages migrate (3.12 for move_pages, mbind and migrate_pages);
    # 2.6.35 never migrates them. The model implements only 2.6.35's side:
    # under 6.1, mapping a hugetlb page raises NotModelled.
    hugetlb_pages_migrate: bool
    # do_swap_page maps a copy of a swap-cache page whose anon_vma or index
    # does not fit the faulting address (what a KSM page becomes after
    # swap-out): 2.6.35 compares with the VMA's own anon_vma, copies onto an
    # LRU list and maps the copy with page_add_anon_rmap; 6.1 compares the
    # anon_vma roots, keeps a still-KSM page, charges the copy and maps it
    # with page_add_new_anon_rmap.
    ksm_might_need_to_copy: KsmMightNeedToCopy
    swapin_copy_new_anon_rmap: bool


def _profile_2_6_35() -> KernelProfile:
    from .mm import ksm, mempolicy, syscalls

    return KernelProfile("2.6.35", syscalls.sys_move_pages, syscalls.compat_sys_move_pages,
                         syscalls.sys_migrate_pages,
                         syscalls.sys_mbind, mempolicy.do_migrate_pages,
                         cpuset_memory_migrate_default=False, ksm_pages_migrate=False,
                         swapcache_gets_migration_entries=False,
                         memcg_migration_charge_can_fail=True, hugetlb_pages_migrate=False,
                         ksm_might_need_to_copy=ksm.swapin_copy, swapin_copy_new_anon_rmap=False)


def _profile_6_1() -> KernelProfile:
    from .mm import linux61

    return KernelProfile("6.1", linux61.sys_move_pages, linux61.compat_sys_move_pages,
                         linux61.sys_migrate_pages,
                         linux61.sys_mbind, linux61.do_migrate_pages,
                         cpuset_memory_migrate_default=True, ksm_pages_migrate=True,
                         swapcache_gets_migration_entries=True,
                         memcg_migration_charge_can_fail=False, hugetlb_pages_migrate=True,
                         ksm_might_need_to_copy=linux61.ksm_might_need_to_copy,
                         swapin_copy_new_anon_rmap=True)


PROFILES: dict[str, Callable[[], KernelProfile]] = {
    "2.6.35": _profile_2_6_35,
    "6.1": _profile_6_1,
}


def kernel_profile(name: str) -> KernelProfile:
    if not isinstance(name, str) or name not in PROFILES:
        raise ValueError(f"unknown kernel profile {name!r} (known: {', '.join(PROFILES)})")
    return PROFILES[name]()
