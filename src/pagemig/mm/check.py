"""Machine.check(): every checker, in the order they must run.

List walkers come first (they fill the sets later checkers consult), the
holders of references next, and the reference-count comparison last.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import invariants as base
from . import invariants_vm as vm

if TYPE_CHECKING:
    from ..machine import Machine

CHECKERS: tuple[base.Checker, ...] = (
    base.check_free_pages,
    base.check_lru,
    base.check_pagevecs,
    base.check_private_lists,
    base.check_flag_counters,
    base.check_pins,
    base.check_locks,
    vm.check_zero_page,
    vm.check_vmas,
    vm.check_page_tables,
    vm.check_page_caches,
    vm.check_buffers,
    vm.check_mapped_counters,
    vm.check_swap,
    vm.check_anon_vmas,
    vm.check_memcg,
    vm.check_hugetlb,
    base.check_refcounts,
)


def check_machine(machine: Machine) -> None:
    ctx = base.CheckContext(machine)
    for checker in CHECKERS:
        checker(ctx)
    if ctx.violations:
        raise base.InvariantError(ctx.violations)
