"""Races replayed with the deterministic scheduler: a fault that meets a
migration entry waits in migration_entry_wait and sees the new page."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pagemig import PAGE_SIZE, KernelBug, Machine
from pagemig.mm.memory import pte_read
from pagemig.mm.pagemap import lock_page, trylock_page, unlock_page
from pagemig.mm.pgtable import is_swap_pte, pte_to_swp_entry
from pagemig.mm.sched import DeterministicScheduler, SimTask
from pagemig.mm.swapops import is_migration_entry
from pagemig.mm.vmstat import VM_EVENT_NAMES

PSWPOUT = VM_EVENT_NAMES.index("pswpout")


def holder_then(name: str) -> Callable[[list[SimTask], str, SimTask | None], SimTask]:
    """A chooser that runs the task "holder" first and, at its first switch
    point, hands over to ``name``; otherwise the last task runs on."""
    started: list[bool] = []

    def chooser(candidates: list[SimTask], reason: str, last: SimTask | None) -> SimTask:
        names = {t.name: t for t in candidates}
        if "holder" in names and not started:
            started.append(True)
            return names["holder"]
        if last is not None and last.name == "holder" and name in names:
            return names[name]
        return last if last in candidates else candidates[0]

    return chooser


def test_fault_waits_on_the_migration_entry_and_sees_the_new_page() -> None:
    m = Machine(nodes=2, node_memory="64MiB")
    p = m.spawn(uid=1000, cpu=0)
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"racy data")
    old_pfn = pte_read(p.mm, a) >> 12
    seen: dict[str, object] = {}

    def chooser(candidates: list[SimTask], reason: str, last: SimTask | None) -> SimTask:
        by_name = {t.name: t for t in candidates}
        pte = pte_read(p.mm, a)
        if "fault" in by_name and "switched" not in seen and is_swap_pte(pte) \
                and is_migration_entry(pte_to_swp_entry(pte)):
            seen["switched"] = reason
            return by_name["fault"]
        return last if last in candidates else candidates[0]

    sched = DeterministicScheduler(m, chooser)
    sched.spawn("migrate", lambda: seen.setdefault("result", p.move_pages(0, [a], [1], 2)), p.task)
    sched.spawn("fault", lambda: seen.setdefault("data", p.read(a, 9)), p.task)
    sched.run()
    assert seen["switched"], "the fault ran while the migration entry was installed"
    switches = [(frm, to, why) for frm, to, why in sched.log if frm != to]
    assert ("fault", "migrate", f"wait_on_page_locked(pfn {old_pfn:#x})") in switches
    assert seen["result"].status == [1]  # type: ignore[attr-defined]
    assert seen["data"] == b"racy data"
    assert pte_read(p.mm, a) >> 12 != old_pfn and p.node_of(a) == 1
    m.check()


def test_the_same_schedule_replays_identically() -> None:
    logs = []
    for _ in range(2):
        m = Machine(nodes=2, node_memory="64MiB")
        p = m.spawn(uid=1000, cpu=0)
        a = p.mmap(2 * PAGE_SIZE)
        p.write(a, b"1")
        p.write(a + PAGE_SIZE, b"2")
        turn = {"n": 0}

        def alternate(candidates: list[SimTask], reason: str, last: SimTask | None,
                      turn: dict[str, int] = turn) -> SimTask:
            turn["n"] += 1
            return candidates[turn["n"] % len(candidates)]

        sched = DeterministicScheduler(m, alternate)
        sched.spawn("a", lambda p=p, a=a: p.move_pages(0, [a], [1], 2), p.task)  # type: ignore[misc]
        sched.spawn("b", lambda p=p, a=a: p.read(a + PAGE_SIZE, 1), p.task)  # type: ignore[misc]
        sched.run()
        logs.append(sched.log)
        m.check()
    assert logs[0] == logs[1] and len(logs[0]) > 4


def test_a_forced_pass_sleeps_on_the_page_lock_until_its_holder_unlocks() -> None:
    m = Machine(nodes=2, node_memory="64MiB")
    p = m.spawn(uid=1000, cpu=0)
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"held")
    page = m.pfn_to_page(pte_read(p.mm, a) >> 12)
    out: dict[str, object] = {}

    def holder() -> None:
        assert trylock_page(page)
        for _ in range(40):  # hold the lock across several switch points
            from pagemig.mm.sched import schedule_point

            schedule_point(m, "holder busy")
        unlock_page(page)

    sched = DeterministicScheduler(m, holder_then("migrate"))
    sched.spawn("holder", holder)
    sched.spawn("migrate", lambda: out.setdefault("r", p.move_pages(0, [a], [1], 2)), p.task)
    sched.run()
    forced = [att for att in m.account.attempts if att.pfn == page.pfn]
    assert forced[0].rc == -11 and "trylock failed" in forced[0].why
    assert forced[-1].rc == 0 and forced[-1].forced, "pass 3 slept in lock_page and won"
    assert out["r"].status == [1]  # type: ignore[attr-defined]
    m.check()


def test_a_lock_nobody_can_release_is_reported_as_deadlock() -> None:
    m = Machine(nodes=1)
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"x")
    page = m.pfn_to_page(pte_read(p.mm, a) >> 12)
    assert trylock_page(page)
    sched = DeterministicScheduler(m)
    sched.spawn("waiter", lambda: lock_page(page))
    with pytest.raises(KernelBug, match="deadlock"):
        sched.run()
    unlock_page(page)


def test_munmap_racing_a_compaction_frees_the_anon_vma_at_the_end() -> None:
    """Compaction holds no mmap_sem. A munmap that slips in while the
    migration entries are installed zaps them; remove_migration_pte finds
    nothing to restore under the pte lock, and the last external reference
    to the orphaned anon_vma frees it."""
    from pagemig.mm.rmap import page_anon_vma

    m = Machine(nodes=1, node_memory="8MiB")
    p = m.spawn()
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"doomed")
    page = m.pfn_to_page(pte_read(p.mm, a) >> 12)
    anon_vma = page_anon_vma(page)
    assert anon_vma is not None
    state: dict[str, object] = {}

    def chooser(candidates: list[SimTask], reason: str, last: SimTask | None) -> SimTask:
        names = {t.name: t for t in candidates}
        pte = pte_read(p.mm, a)
        if ("munmap" in names and "go" not in state and reason == "spin_lock(page_table_lock)"
                and is_swap_pte(pte) and is_migration_entry(pte_to_swp_entry(pte))
                and anon_vma.lock.locked):
            state["go"] = True
            return names["munmap"]
        if "munmap" in names and "go" not in state:
            return names["compact"] if "compact" in names else candidates[0]
        if "munmap" in names:  # once it started, let it finish first
            return names["munmap"]
        return last if last in candidates else candidates[0]

    sched = DeterministicScheduler(m, chooser)
    sched.spawn("compact", lambda: state.setdefault("result", m.compact(0)))
    sched.spawn("munmap", lambda: p.munmap(a, PAGE_SIZE), p.task)
    sched.run()
    assert state["go"], "munmap ran between the pte peek and the pte lock"
    assert anon_vma.freed, "the external reference was the last one"
    assert p.mm.ptes.get(a >> 12) is None
    m.check()


@pytest.mark.parametrize("swap_out", [False, True])
def test_fault_rechecks_the_pte_after_taking_the_lock(swap_out: bool) -> None:
    """The faulting task is preempted at the pte lock inside
    migration_entry_wait; meanwhile the migration completes (and the new page
    may even be swapped out), so the re-read pte is no migration entry and
    the retried fault finds the page (or swaps it back in)."""
    m = Machine(nodes=2, node_memory="64MiB", swap="4MiB")
    p = m.spawn()
    # Another process migrates p's page: its argument arrays, unmapped after
    # the call, are its own, so it never waits for p's mmap_sem, which the
    # fault holds.
    daemon = m.spawn(uid=0)
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"moved then swapped")
    seen: dict[str, object] = {}

    def migrate_and_swap() -> None:
        seen["r"] = daemon.move_pages(p.pid, [a], [1], 2)
        if swap_out:
            m.deactivate_all(1)
            m.reclaim(1, 10)

    def chooser(candidates: list[SimTask], reason: str, last: SimTask | None) -> SimTask:
        names = {t.name: t for t in candidates}
        pte = pte_read(p.mm, a)
        migrating = is_swap_pte(pte) and is_migration_entry(pte_to_swp_entry(pte))
        if "fault" in names and migrating and "switched" not in seen:
            seen["switched"] = True
            return names["fault"]
        if (last is not None and last.name == "fault" and reason == "spin_lock(page_table_lock)"
                and "migrate" in names and "back" not in seen):
            seen["back"] = True
            return names["migrate"]
        return last if last in candidates else candidates[0]

    sched = DeterministicScheduler(m, chooser)
    sched.spawn("migrate", migrate_and_swap, daemon.task)
    sched.spawn("fault", lambda: seen.setdefault("data", p.read(a, 18)), p.task)
    sched.run()
    assert seen.get("switched") and seen.get("back")
    assert seen["data"] == b"moved then swapped"
    assert swap_out == (m.vm_events[PSWPOUT] == 1), "the page was swapped out while the fault waited"
    m.check()


def test_two_migrations_share_the_anon_vma_reference() -> None:
    """Compaction holds an external reference on an anon_vma while a
    move_pages of another page of the same VMA takes and drops its own: the
    count does not reach zero there, and the anon_vma survives both."""
    from pagemig.mm.rmap import page_anon_vma

    m = Machine(nodes=2, node_memory="8MiB")
    p = m.spawn()
    n = 600  # spans two pageblocks: compaction isolates the last page later
    a = p.mmap(n * PAGE_SIZE)
    for i in range(n):
        p.touch(a + i * PAGE_SIZE)
    p.write(a, b"first")
    last = a + (n - 1) * PAGE_SIZE
    p.write(last, b"second")
    anon_vma = page_anon_vma(m.pfn_to_page(pte_read(p.mm, a) >> 12))
    assert anon_vma is not None
    state: dict[str, object] = {"max": 0}

    def chooser(candidates: list[SimTask], reason: str, last: SimTask | None) -> SimTask:
        names = {t.name: t for t in candidates}
        state["max"] = max(int(state["max"]), anon_vma.external_refcount)  # type: ignore[call-overload]
        if ("move" in names and "go" not in state and anon_vma.external_refcount == 1
                and not anon_vma.lock.locked):
            state["go"] = True
            return names["move"]
        if "move" in names and "go" in state:
            return names["move"]
        if "move" in names:
            return names["compact"] if "compact" in names else candidates[0]
        return last if last in candidates else candidates[0]

    sched = DeterministicScheduler(m, chooser)
    sched.spawn("compact", lambda: m.compact(0))
    sched.spawn("move", lambda: state.setdefault("r", p.move_pages(0, [last], [1], 2)), p.task)
    sched.run()
    assert state.get("go") and state["max"] == 2
    assert not anon_vma.freed and anon_vma.external_refcount == 0
    assert state["r"].status == [1]  # type: ignore[attr-defined]
    assert p.read(a, 5) == b"first" and p.read(last, 6) == b"second"
    m.check()


def test_mlock_waits_for_a_locked_page_and_mlocks_it() -> None:
    """2.6.35's __mlock_vma_pages_range takes the page lock (lock_page), so a
    page locked by someone else is mlocked once its holder lets go (2.6.38's
    FOLL_MLOCK trylock would leave it on the evictable list)."""
    from pagemig.mm.page import PageMlocked, PageUnevictable
    from pagemig.mm.sched import schedule_point

    m = Machine(nodes=1)
    p = m.spawn(uid=0)
    a = p.mmap(2 * PAGE_SIZE)
    p.write(a, b"held")
    p.write(a + PAGE_SIZE, b"free")
    page = m.pfn_to_page(pte_read(p.mm, a) >> 12)

    def holder() -> None:
        assert trylock_page(page)
        for _ in range(40):
            schedule_point(m, "holder busy")
        unlock_page(page)

    sched = DeterministicScheduler(m, holder_then("mlock"))
    sched.spawn("holder", holder)
    sched.spawn("mlock", lambda: p.mlock(a, 2 * PAGE_SIZE), p.task)
    sched.run()
    assert PageMlocked(page) and PageUnevictable(page)
    assert PageMlocked(m.pfn_to_page(pte_read(p.mm, a + PAGE_SIZE) >> 12))
    m.check()
