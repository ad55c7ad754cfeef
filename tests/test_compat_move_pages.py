"""move_pages(2) of a 32-bit program on the 64-bit kernel (quirk 12).

2.6.35's compat_sys_move_pages copies the 32-bit pointer array into a 64-bit
one below the caller's stack pointer (compat_alloc_user_space) before calling
sys_move_pages, so a fault copying it is -EFAULT ahead of every check of
sys_move_pages (flags, permissions, pid). 6.1 reads the 32-bit pointers one
by one where it uses them (in_compat_syscall), after those checks.
"""

from __future__ import annotations

import errno

import pytest

from pagemig import MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, PAGE_SIZE, Machine
from pagemig.mm.mmap import STACK_TOP_IA32, TASK_SIZE_IA32, VM_GROWSDOWN, find_vma
from pagemig.process import Process
from pagemig.reports.numa_maps import numa_maps

BAD_FLAGS = 0x100


def compat_process(profile: str = "2.6.35", uid: int = 1000) -> tuple[Machine, Process]:
    m = Machine(nodes=2, node_memory="64MiB", profile=profile)
    return m, m.spawn(uid=uid, compat=True)


def call(p: Process, pages: list[int], nodes: list[int] | None, flags: int = 0,
         count: int | None = None) -> int:
    """The return value of move_pages (negative errno on failure)."""
    try:
        return p.move_pages(0, pages, nodes, flags, count=count).ret
    except OSError as err:
        assert err.errno is not None
        return -err.errno


def test_a_32_bit_program_has_a_4_gib_address_space_and_a_stack() -> None:
    m, p = compat_process()
    assert p.task.ia32 and p.mm.task_size == TASK_SIZE_IA32
    stack = find_vma(p.mm, p.task.user_sp)
    assert stack is not None and stack.vm_end == STACK_TOP_IA32
    assert stack.vm_flags & VM_GROWSDOWN and stack.vm_end - stack.vm_start == 8 << 20
    a = p.mmap(PAGE_SIZE)
    assert a + PAGE_SIZE <= TASK_SIZE_IA32 - (128 << 20), "mmap_base leaves the stack gap"
    child = p.fork()
    assert child.task.ia32 and child.task.user_sp == p.task.user_sp
    m.check()


def test_compat_move_pages_moves_and_reports_like_the_native_call() -> None:
    m, p = compat_process()
    a = p.mmap(3 * PAGE_SIZE)
    for i in range(3):
        p.write(a + i * PAGE_SIZE, bytes([i + 1]) * 64)
    r = p.move_pages(0, [a, a + PAGE_SIZE, a + 2 * PAGE_SIZE], [1, 1, 0])
    assert r.ret == 0 and r.status == [1, 1, 0]
    assert p.move_pages(0, [a, a + 2 * PAGE_SIZE], None).status == [1, 0]
    assert p.read(a + PAGE_SIZE, 64) == bytes([2]) * 64
    # The 64-bit copy of the pointers was written on the stack.
    stack = next(e for e in numa_maps(p) if e.stack)
    assert stack.anon == 1
    m.check()


def test_pointers_must_fit_in_32_bits() -> None:
    _, p = compat_process()
    with pytest.raises(ValueError, match=r"pages\[0\] must be in \[0, 4294967295\]"):
        p.move_pages(0, [1 << 32], [0])


@pytest.mark.parametrize("profile", ["2.6.35", "6.1"])
def test_a_good_array_leaves_the_flag_and_permission_checks_in_their_order(profile: str) -> None:
    _, p = compat_process(profile)
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"x")
    assert call(p, [a], [1], BAD_FLAGS) == -errno.EINVAL
    assert call(p, [a], [1], MPOL_MF_MOVE_ALL) == -errno.EPERM
    assert call(p, [a], [1], MPOL_MF_MOVE) == 0


@pytest.mark.parametrize(("profile", "expected"), [("2.6.35", -errno.EFAULT), ("6.1", -errno.EINVAL)])
def test_quirk_12_an_unreadable_array_beats_bad_flags(profile: str, expected: int) -> None:
    """count runs the pointer array off the end of mapped memory: 2.6.35's
    copy faults first (-EFAULT); 6.1 checks the flags first (-EINVAL)."""
    _, p = compat_process(profile)
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"x")
    assert call(p, [a], [1], BAD_FLAGS, count=1 << 16) == expected


@pytest.mark.parametrize(("profile", "expected"), [("2.6.35", -errno.EFAULT), ("6.1", -errno.EPERM)])
def test_quirk_12_an_unreadable_array_beats_move_all_without_cap(profile: str, expected: int) -> None:
    _, p = compat_process(profile)
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"x")
    assert call(p, [a], [1], MPOL_MF_MOVE_ALL, count=1 << 16) == expected


def test_quirk_12_a_count_whose_copy_wraps_below_zero_is_efault_at_once() -> None:
    """nr_pages * 8 beyond the stack pointer: compat_alloc_user_space's
    access_ok fails, the first put_user to NULL faults."""
    _, p = compat_process()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"x")
    assert call(p, [a], [1], BAD_FLAGS, count=(1 << 32) - 1) == -errno.EFAULT
    assert call(p, [a], None, BAD_FLAGS, count=(1 << 32) - 1) == -errno.EFAULT


def test_the_native_call_checks_flags_before_reading_the_array() -> None:
    m = Machine(nodes=2, node_memory="64MiB")
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"x")
    assert call(p, [a], [1], BAD_FLAGS, count=1 << 20) == -errno.EINVAL


def test_compat_query_mode_of_6_1_reads_32_bit_pointers() -> None:
    m, p = compat_process("6.1")
    a = p.mmap(2 * PAGE_SIZE)
    p.write(a, b"x")
    assert p.move_pages(0, [a, a + PAGE_SIZE], None).status == [0, -errno.EFAULT]
    assert p.move_pages(0, [a], [1]).status == [1]
    m.check()
