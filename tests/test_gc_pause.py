"""The cyclic garbage collector is paused while a call is in the kernel model
(process.py) and restored after it, and the model's reference cycles are
still collected: a machine that is dropped is freed."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pagemig import Machine
from pagemig.mm.page import PAGE_SIZE
from pagemig.mm.sched import TaskStruct


@pytest.fixture(autouse=True)
def _collector_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_during_a_system_call_and_restored_after() -> None:
    m = Machine(nodes=2)
    p = m.spawn(uid=0)
    a = p.mmap(4 * PAGE_SIZE)
    p.write(a, b"x")
    seen: list[bool] = []

    def lsm_hook(task: TaskStruct) -> int:
        seen.append(gc.isenabled())
        return 0

    m.lsm_task_movememory = lsm_hook
    assert p.move_pages(0, [a], [1]).status == [1]
    assert seen == [False]
    assert gc.isenabled()


def test_restored_after_a_failed_call_and_when_nested() -> None:
    m = Machine(nodes=2)
    p, q = m.spawn(), m.spawn()
    with pytest.raises(OSError):
        p.munmap(1, PAGE_SIZE)  # EINVAL: not page aligned
    assert gc.isenabled()
    with p.running():
        with q.running():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_disabled_by_the_caller_stays_disabled() -> None:
    m = Machine(nodes=2)
    p = m.spawn()
    gc.disable()
    p.touch(p.mmap(PAGE_SIZE))
    assert not gc.isenabled()
    gc.enable()


def _machines() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is Machine)


def test_a_dropped_machine_is_freed() -> None:
    """The machine is held only by reference cycles (its nodes, tasks, locks
    and pages point back at it): the collector frees it once dropped."""
    gc.collect()
    before = _machines()
    m = Machine(nodes=2)
    p = m.spawn(uid=0)
    a = p.mmap(64 * PAGE_SIZE)
    for i in range(64):
        p.write(a + i * PAGE_SIZE, b"x")
    assert p.move_pages(0, [a + i * PAGE_SIZE for i in range(64)], [1] * 64).status == [1] * 64
    assert gc.isenabled() and _machines() == before + 1
    del m, p
    assert _machines() == before + 1  # cycles: reference counting alone does not free it
    assert gc.collect() > 0
    assert _machines() == before
