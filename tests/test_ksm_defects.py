"""Regression tests for the KSM defects and the impossible injected failure of
issue 21, under both kernel profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from pagemig import PAGE_SIZE, KernelBug, Machine
from pagemig.cli import main
from pagemig.mm import page as pg
from pagemig.mm.memory import follow_page
from pagemig.mm.mmap import find_vma
from pagemig.mm.page import Page
from pagemig.process import Process
from pagemig.scenario import run_scenario_file

MOVE_ALL = 4
PROFILES = ["2.6.35", "6.1"]


def page_at(p: Process, addr: int) -> Page:
    vma = find_vma(p.mm, addr)
    assert vma is not None
    page = follow_page(vma, addr, 0)
    assert isinstance(page, Page)
    return page


def swap_out_twice(m: Machine, node: int) -> None:
    """Reclaim puts the pages in the swap cache and writes them; a second
    reclaim after writeback frees them, leaving only swap entries."""
    m.deactivate_all(node)
    m.reclaim(node, 64)
    m.complete_writeback()
    m.deactivate_all(node)
    m.reclaim(node, 64)


# --- 1. a swapped-out KSM page comes back at two addresses -----------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_swapped_ksm_page_faulted_back_at_two_addresses_is_copied(profile: str) -> None:
    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p = m.spawn(uid=0, cpu=1)
    a = p.mmap(2 * PAGE_SIZE, populate=True)
    p.madvise_mergeable(a, 2 * PAGE_SIZE)
    assert m.ksm_merge() == 1
    swap_out_twice(m, 1)
    assert p.read(a, 1) == b"\0" and p.read(a + PAGE_SIZE, 1) == b"\0"
    m.check()
    first, second = page_at(p, a), page_at(p, a + PAGE_SIZE)
    assert first is not second, "ksm_might_need_to_copy: another index gets a copy"
    assert not pg.PageKsm(first) and not pg.PageKsm(second)
    assert pg.page_mapcount(first) == pg.page_mapcount(second) == 1
    # The page migrates with MOVE_ALL: nothing else maps it.
    assert p.move_pages(0, [a, a + PAGE_SIZE], [0, 0], MOVE_ALL).status == [0, 0]
    m.check()


@pytest.mark.parametrize("profile", PROFILES)
def test_swapped_ksm_page_read_and_written_back_keeps_every_byte(profile: str) -> None:
    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p = m.spawn(uid=0, cpu=1)
    a = p.mmap(3 * PAGE_SIZE)
    for i in range(3):
        p.write(a + i * PAGE_SIZE, b"twin" * (PAGE_SIZE // 4))
    p.madvise_mergeable(a, 3 * PAGE_SIZE)
    assert m.ksm_merge() == 2
    swap_out_twice(m, 1)
    assert p.read(a + 2 * PAGE_SIZE, 4) == b"twin"  # the swap-cache page is index 2's now
    m.check()
    assert p.read(a, 4) == b"twin"  # index 0 maps a copy
    m.check()
    p.write(a, b"head")
    m.check()
    p.write(a + 2 * PAGE_SIZE, b"last")
    assert p.read(a + PAGE_SIZE, PAGE_SIZE) == b"twin" * (PAGE_SIZE // 4)
    assert p.read(a, 8) == b"headtwin" and p.read(a + 2 * PAGE_SIZE, 8) == b"lasttwin"
    m.check()


@pytest.mark.parametrize("profile", PROFILES)
def test_forked_child_swapping_in_its_parents_page(profile: str) -> None:
    """2.6.35 compares the page's anon_vma with the VMA's own, so a child
    faulting in a page its parent faulted in first gets a copy; 6.1 compares
    the roots of the two anon_vmas and shares the page."""
    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p = m.spawn(uid=0, cpu=1)
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"family")
    c = p.fork()
    swap_out_twice(m, 1)
    assert p.read(a, 6) == b"family"
    assert c.read(a, 6) == b"family"
    m.check()
    shared = page_at(c, a) is page_at(p, a)
    assert shared == (profile == "6.1")


# --- 2. mremap of a VMA holding KSM pages ----------------------------------------------------


def two_twins_with_a_neighbour(m: Machine) -> tuple[Process, int]:
    """Two identical pages and a mapping right after them, so that growing
    them with mremap must move them."""
    p = m.spawn(uid=0, cpu=1)
    a = p.mmap(2 * PAGE_SIZE)
    p.mmap(PAGE_SIZE, addr=a + 2 * PAGE_SIZE, fixed=True)
    p.write(a, b"k" * PAGE_SIZE)
    p.write(a + PAGE_SIZE, b"k" * PAGE_SIZE)
    return p, a


@pytest.mark.parametrize("profile", PROFILES)
def test_mremap_moving_ksm_pages_unmerges_them_first(profile: str) -> None:
    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p, a = two_twins_with_a_neighbour(m)
    p.madvise_mergeable(a, 2 * PAGE_SIZE)
    assert m.ksm_merge() == 1
    n = p.mremap(a, 2 * PAGE_SIZE, 3 * PAGE_SIZE)
    assert n != a
    m.check()
    first, second = page_at(p, n), page_at(p, n + PAGE_SIZE)
    assert not pg.PageKsm(first) and not pg.PageKsm(second) and first is not second
    assert p.read(n, PAGE_SIZE) == p.read(n + PAGE_SIZE, PAGE_SIZE) == b"k" * PAGE_SIZE
    # The moved VMA is still mergeable: KSM merges the pages again there.
    assert m.ksm_merge() == 1
    assert pg.PageKsm(page_at(p, n)) and page_at(p, n) is page_at(p, n + PAGE_SIZE)
    m.check()


@pytest.mark.parametrize("profile", PROFILES)
def test_ksm_merge_after_a_forked_child_moved_its_copy(profile: str) -> None:
    """The child moves its copy-on-write copy, then the parent's page becomes
    a KSM page in place, still mapped by the child at the new address, where
    rmap_walk_ksm never looks (the kernel's own blind spot,
    docs/kernel-bugs.md): check() accepts exactly that mapping, and the page
    cannot be unmapped from the child."""
    m = Machine(nodes=2, node_memory="4MiB", swap="4MiB", profile=profile)
    p, a = two_twins_with_a_neighbour(m)
    c = p.fork()
    n = c.mremap(a, 2 * PAGE_SIZE, 3 * PAGE_SIZE)
    assert n != a
    p.madvise_mergeable(a, 2 * PAGE_SIZE)
    assert m.ksm_merge() == 1
    kpage = page_at(p, a)
    assert pg.PageKsm(kpage) and page_at(c, n) is kpage
    m.check()
    swap_out_twice(m, 1)
    m.check()
    assert page_at(c, n) is kpage, "reclaim cannot unmap the child's mapping"
    assert p.read(a, PAGE_SIZE) == c.read(n, PAGE_SIZE) == b"k" * PAGE_SIZE
    c.write(n, b"child")
    m.check()
    assert p.read(a, 5) == b"kkkkk" and c.read(n, 5) == b"child"


# --- 3. fault injection fails only where the kernel can fail ---------------------------------


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("space", [0, 1, 2, 3])
def test_injected_trylock_failure_never_hits_migrations_new_page(profile: str, space: int) -> None:
    """move_to_new_page locks the page it just allocated under BUG_ON: no one
    else can know it. The trylock_page fault point skips such a page, whatever
    call it would otherwise have counted."""
    m = Machine(nodes=2, node_memory="4MiB", profile=profile)
    p = m.spawn(uid=0, cpu=0)
    a = p.mmap(PAGE_SIZE)
    p.write(a, b"moved")
    old = page_at(p, a)
    with m.inject("trylock_page", times=1, space=space) as rule:
        status = p.move_pages(0, [a], [1], 2).status
    assert status == [1]
    assert rule.hits == (1 if space == 0 else 0), "only the old page's trylock can fail"
    assert m.faults.log == ([("trylock_page", {"pfn": old.pfn})] if space == 0 else [])
    assert p.read(a, 5) == b"moved" and p.node_of(a) == 1
    m.check()


@pytest.mark.parametrize("fs", ["ramfs", "ext2", "vfat"])
def test_injected_readpage_failure_only_on_a_filesystem_with_a_device(fs: str) -> None:
    """ramfs's ->readpage (simple_readpage) reads no device and cannot fail;
    the block filesystems' (mpage_readpage) can."""
    m = Machine(nodes=2, node_memory="4MiB")
    f = m.create_file("/f", size=PAGE_SIZE, fs=fs)
    p = m.spawn(uid=0, cpu=0)
    a = p.mmap(PAGE_SIZE, file=f, shared=True)
    with m.inject("readpage") as rule:
        if fs == "ramfs":
            assert p.read(a, 1) == b"\0"
        else:
            with pytest.raises(OSError, match="SIGBUS"):
                p.read(a, 1)
    assert rule.hits == (0 if fs == "ramfs" else 1)
    m.check()


# --- 4. the real 2.6.35 oops of offlining a mapped KSM page ----------------------------------

OOPS_SCENARIO = Path(__file__).parent / "data" / "ksm-offline-oops.scn"


def test_offlining_a_mapped_ksm_page_is_a_reproduced_2635_oops() -> None:
    m = Machine(nodes=2, node_memory="64MiB")
    p = m.spawn(uid=0, cpu=0)
    k = p.mmap(2 * PAGE_SIZE)
    p.write(k, b"twin")
    p.write(k + PAGE_SIZE, b"twin")
    p.madvise_mergeable(k, 2 * PAGE_SIZE)
    assert m.ksm_merge() == 1
    with pytest.raises(KernelBug, match="NULL pointer dereference") as info:
        m.offline_pages(page_at(p, k).pfn, 1)
    assert info.value.kernel == "2.6.35" and info.value.reproduced


def test_a_model_assertion_is_not_a_kernel_oops() -> None:
    from pagemig.mm.bug import BUG_ON

    with pytest.raises(KernelBug) as info:
        BUG_ON(True, "the model is wrong")
    assert info.value.kernel is None and not info.value.reproduced


def test_cli_run_reports_the_oops_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(OOPS_SCENARIO)]) == 1
    out = capsys.readouterr().out
    assert f"{OOPS_SCENARIO}:10: Linux 2.6.35 would oops here: NULL pointer dereference" in out
    assert "internal error" not in out and "kernel BUG" not in out
    assert "7 step(s), 1 mismatch(es)" in out, "the run stops at the oops"


@pytest.mark.parametrize("argv", [["explain"], ["numastat", "-p", "p"], ["report", "vmstat"],
                                  ["migratepages", "p", "1", "0"]])
def test_cli_reports_on_an_oopsed_machine_refuse(argv: list[str],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    args = [argv[0], str(OOPS_SCENARIO), *argv[1:]]
    if argv[0] == "report":
        args = ["report", str(OOPS_SCENARIO), "vmstat"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"pagemig: error: {OOPS_SCENARIO}:10: Linux 2.6.35 would oops here: "
                           "NULL pointer dereference in unmap_and_move (page_anon_vma of mapped "
                           f"KSM page pfn {0xc00:#x})")


def test_cli_reports_an_oops_escaping_a_command(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """An oops raised through the API (not inside a scenario step) is one line
    and status 1; a model assertion stays an internal error (status 2)."""
    import pagemig.cli.demo as demo

    def oops(*args: object, **kwargs: object) -> None:
        raise KernelBug("NULL pointer dereference somewhere", kernel="2.6.35")

    monkeypatch.setattr(demo, "Machine", oops)
    assert main(["demo"]) == 1
    assert capsys.readouterr().err.strip() == \
        "pagemig: Linux 2.6.35 would oops here: NULL pointer dereference somewhere"

    def assertion(*args: object, **kwargs: object) -> None:
        raise KernelBug("VM_BUG_ON")

    monkeypatch.setattr(demo, "Machine", assertion)
    assert main(["demo"]) == 2
    assert "internal error: KernelBug: VM_BUG_ON" in capsys.readouterr().err


def test_the_oops_scenario_runs_clean_under_61() -> None:
    run = run_scenario_file(OOPS_SCENARIO, "6.1")
    assert not run.failures and run.oops is None


# --- the examples hold under both profiles ---------------------------------------------------


@pytest.mark.parametrize("name", ["ksm-swap-in", "inject-trylock"])
@pytest.mark.parametrize("profile", PROFILES)
def test_defect_examples_hold_under_both_profiles(name: str, profile: str) -> None:
    run = run_scenario_file(Path(__file__).parent.parent / "examples" / f"{name}.scn", profile)
    assert not run.failures, [(r["line"], r["problems"]) for r in run.failures]
