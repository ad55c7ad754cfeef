"""Machine(profile="6.1"): what user space sees on Linux 6.1 (kernel-spec.md
section 8; the real kernel's answers are in ../shared/tools/kernel-oracle's
README, "Semantics observed", and in conformance/scenarios)."""

from __future__ import annotations

import pytest

from pagemig import Machine
from pagemig.scenario import run_scenario_text


def run61(text: str, profile: str = "6.1") -> list[dict[str, object]]:
    run = run_scenario_text(text, "t.scn", profile=profile)
    assert not run.failures, [(r["line"], r["problems"]) for r in run.failures]
    return run.records


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown kernel profile '5\.0'"):
        Machine(profile="5.0")
    assert Machine().kernel.name == "2.6.35"


def test_untouched_anon_and_zero_page_are_efault_in_61_enoent_in_2635() -> None:
    text = """
        spawn p
        p: map a anon 3
        p: map s shmem 1
        p: write a:0
        p: touch a:1 read                       # maps the zero page
        p: query self a:*,s:0 => status={q}
        p: move self a:*,s:0 1 MOVE => status={m}
    """
    run61(text.format(q="0,EFAULT,EFAULT,ENOENT", m="1,EFAULT,EFAULT,ENOENT"))
    run61(text.format(q="0,ENOENT,ENOENT,ENOENT", m="1,ENOENT,ENOENT,ENOENT"), "2.6.35")


def test_invalid_node_fails_the_call_after_earlier_runs_migrated() -> None:
    run61("""
        machine nodes=2
        spawn p
        p: map a anon 4
        p: write a:*
        p: move self a:* 1,1,5,1 MOVE => errno=ENODEV status=1,1,unwritten,unwritten
        p: where a:* => nodes=1,1,0,0
    """)
    # 2.6.35 validates the whole chunk first: nothing moves.
    run61("""
        machine nodes=2
        spawn p
        p: map a anon 4
        p: write a:*
        p: move self a:* 1,1,5,1 MOVE => errno=ENODEV status=unwritten*4
        p: where a:* => nodes=0*4
    """, "2.6.35")


def test_a_failed_run_returns_a_count_and_leaves_its_statuses_unwritten() -> None:
    run61("""
        spawn p
        p: map a anon 4
        p: write a:*
        p: pin a:2
        p: move self a:* 1 MOVE => ret=1 status=unwritten*4
        p: where a:* => nodes=1,1,0,1
        p: check a:*
        check
    """)


def test_a_failed_run_counts_the_entries_never_attempted() -> None:
    run61("""
        spawn p
        p: map a anon 4
        p: write a:*
        p: pin a:0
        p: move self a:* 1,1,0,0 MOVE => ret=3 status=unwritten*4
        p: where a:* => nodes=0,1,0,0
    """)


def test_runs_flush_on_node_change_and_duplicates() -> None:
    run61("""
        spawn p
        p: map a anon 2
        p: write a:*
        p: move self a:0,a:0 1 MOVE => ret=0 status=1,EBUSY
        p: move self a:1,a:1 1,0 MOVE => ret=0 status=1,0
        p: where a:* => nodes=1,0
    """)


@pytest.mark.parametrize(("profile", "flags", "expect"), [
    ("6.1", "0", "status=1"),
    ("6.1", "STRICT", "errno=EINVAL"),
    ("6.1", "MOVE_ALL", "errno=EPERM"),
    ("2.6.35", "MOVE_ALL", "errno=EPERM"),
])
def test_flags(profile: str, flags: str, expect: str) -> None:
    run61(f"""
        spawn p uid=1000
        p: map a anon 1
        p: write a:0
        p: move self a:0 1 {flags} => {expect}
    """, profile)


def test_ksm_pages_are_shared_in_61_and_move_with_move_all() -> None:
    text = """
        spawn p uid=0
        p: map a anon 1
        p: mergeable a
        p: write a:0 const=7
        p: fork c
        c: write a:0 const=7
        ksm_merge => ret=1
        p: move self a:0 1 MOVE => status={move}
        p: move self a:0 1 MOVE_ALL => status={move_all}
        c: where a:0 => nodes={node}
        c: check a:0
        check
    """
    run61(text.format(move="EACCES", move_all="1", node=1))
    # 2.6.35 reports a KSM page as not present (-ENOENT), even to a query.
    run61(text.format(move="ENOENT", move_all="ENOENT", node="-"), "2.6.35")


@pytest.mark.parametrize(("profile", "expect"), [("6.1", "errno=EPERM"), ("2.6.35", "status=1")])
def test_a_non_dumpable_target_of_the_same_uid(profile: str, expect: str) -> None:
    run61(f"""
        spawn t uid=0 gid=1000
        t: map a anon 1
        t: write a:0
        t: setuid 1000                     # clears dumpable
        spawn u uid=1000
        u: move t a:0 1 MOVE => {expect}
        t: dumpable 1
        u: move t a:0 0 MOVE => status=0
    """, profile)


def test_ptrace_access_needs_every_id_to_match() -> None:
    run61("""
        spawn t uid=1000 gid=5
        t: map a anon 1
        t: write a:0
        spawn u uid=1000 gid=6
        u: query t a:0 => errno=EPERM
        spawn r uid=0
        r: query t a:0 => status=0
    """)


def test_ramfs_pages_fail_and_the_call_counts_them() -> None:
    run61("""
        file /r fs=ramfs size=16KiB
        spawn p
        p: map f file 4 path=/r
        p: write f:*
        p: move self f:* 1 MOVE => ret=4 status=unwritten*4
        p: where f:* => node=0
    """)


def test_mapped_swap_cache_pages_are_remapped_in_61() -> None:
    text = """
        machine nodes=2 swap=16MiB
        spawn p
        p: map a anon 1
        p: write a:0
        reclaim 0 100
        p: touch a:0 read
        p: move self a:0 1 MOVE => status=1
        p: query self a:0 => status={after}
        p: check a:0
        check
    """
    run61(text.format(after="1"))
    run61(text.format(after="ENOENT"), "2.6.35")


def test_memcg_charge_cannot_fail_in_61() -> None:
    text = """
        memcg small limit=3
        spawn p
        p: attach_memcg small
        p: map a anon 2
        p: write a:*
        p: query self a:* => status=0,0      # its argument page is the third charge
        p: move self a:* 1 MOVE => {expect}
        check
    """
    run61(text.format(expect="ret=0 status=1,1"))
    run61(text.format(expect="errno=ENOMEM"), "2.6.35")


def test_migrate_pages_intersects_with_the_callers_cpuset_and_skips_by_weight() -> None:
    text = """
        machine nodes=4 memory=64MiB,64MiB,0,64MiB cpus=1
        spawn p uid=0
        p: map a anon 1
        p: map b anon 1
        p: map c anon 1
        p: set_mempolicy bind 3
        p: write b:0
        p: set_mempolicy bind 1
        p: write c:0
        p: set_mempolicy default
        p: write a:0
        p: migrate self 0,1 1,0 watch=a:0 => ret=0 node=0      # the same set: no-op
        p: migrate self 0,1,3 1,2,3 watch=a:0,b:0,c:0 => {weights}
    """
    # 6.1: {1,2,3} & the caller's mems {0,1,3} = {1,3}; the weights differ, so
    # sources 1 and 3 (also targets) stay and only node 0 moves (to node 1).
    run61(text.format(weights="ret=0 nodes=1,3,1"))
    # 2.6.35: node 2 has no memory: the call is refused.
    run61(text.format(weights="errno=EINVAL nodes=0,3,1"), "2.6.35")


def test_migrate_pages_new_nodes_outside_the_callers_cpuset() -> None:
    run61("""
        machine nodes=3
        cpuset only2 mems=2 memory_migrate=0
        spawn p uid=0
        p: map a anon 1
        p: write a:0
        p: attach only2
        p: migrate self 0 1 watch=a:0 => errno=EINVAL node=0
        p: migrate self 0 2 watch=a:0 => ret=0 node=2
    """)


def test_migrate_pages_avoids_moving_a_page_twice() -> None:
    # {0,1,3} -> {1,2,3} by position: 1->2 first, then 0->1; 3 stays.
    run61("""
        machine nodes=4
        spawn p uid=0
        p: map a anon 1
        p: write a:0
        p: migrate self 0,1,3 1,2,3 watch=a:0 => ret=0 node=1
    """, "2.6.35")


@pytest.mark.parametrize(("profile", "node"), [("6.1", 1), ("2.6.35", 0)])
def test_attaching_to_a_cpuset_moves_pages_when_memory_migrate_is_on(profile: str,
                                                                     node: int) -> None:
    # 6.1's cpusets are cgroup-v2 ones: memory_migrate is always on.
    run61(f"""
        machine nodes=2
        cpuset only1 mems=1
        cpuset also1 mems=1 memory_migrate=1
        spawn p uid=1000
        p: map a anon 2
        p: write a:*
        p: attach only1
        p: where a:* => node={node}
        spawn q uid=1000
        q: map b anon 2
        q: write b:*
        q: attach also1                  # from the top cpuset's {{0,1}} to {{1}}
        q: where b:* => node=1
        q: check b:*
        check
    """, profile)


def test_mbind_over_a_leading_hole_moves_nothing_in_61() -> None:
    """2.6.35's check_range misses a hole at the head of the range, collects
    the pages and migrates them although mbind_range fails (by the task's
    policy: the new one was never applied); 6.1's walk fails first."""
    text = """
        spawn p uid=1000
        p: map a anon 4
        p: write a:1-3
        p: munmap a:0
        p: set_mempolicy bind 1
        p: mbind a:0-3 bind 1 MOVE => errno=EFAULT
        p: where a:1-3 => node={node}
        p: check a:1-3
    """
    run61(text.format(node=0))
    run61(text.format(node=1), "2.6.35")


@pytest.mark.parametrize(("profile", "ret"), [("6.1", -5), ("2.6.35", 0)])
def test_mbind_strict_reports_a_page_it_could_not_queue_in_61(profile: str, ret: int) -> None:
    """One file page mapped twice in the range: the second pte finds it
    already isolated. 6.1 returns -EIO (MPOL_MF_STRICT) and still moves it;
    2.6.35 skips it silently."""
    from pagemig import MPOL_BIND, MPOL_MF_MOVE_ALL, MPOL_MF_STRICT, PAGE_SIZE

    m = Machine(nodes=2, profile=profile)
    f = m.create_file("/tmp/f", size=PAGE_SIZE, fs="tmpfs")
    p = m.spawn(uid=0)
    a = p.mmap(PAGE_SIZE, file=f, shared=True)
    b = p.mmap(PAGE_SIZE, file=f, shared=True)
    assert b + PAGE_SIZE == a, "adjacent mappings, one range"
    p.touch(a)
    p.touch(b)
    try:
        p.mbind(b, 2 * PAGE_SIZE, MPOL_BIND, [1], MPOL_MF_MOVE_ALL | MPOL_MF_STRICT)
        rc = 0
    except OSError as err:
        rc = -(err.errno or 0)
    assert rc == ret
    assert p.node_of(a) == p.node_of(b) == 1
    m.check()


def test_mbind_of_61_queues_only_up_to_the_first_unmovable_pmd() -> None:
    """queue_pages_pte_range runs per pmd; once one reports an unqueued page,
    walk_page_range stops: later pmds of the range are not migrated."""
    from pagemig import MPOL_BIND, MPOL_MF_MOVE_ALL, MPOL_MF_STRICT, PAGE_SIZE
    from pagemig.mm.hugetlb import HPAGE_SIZE

    m = Machine(nodes=2, node_memory="64MiB", profile="6.1")
    f = m.create_file("/tmp/f", size=PAGE_SIZE, fs="tmpfs")
    p = m.spawn(uid=0)
    # Three pmds: [b (file), a (file)] end the first, then anon pages follow.
    base = 0x40000000
    tail = p.mmap(2 * HPAGE_SIZE, addr=base + HPAGE_SIZE, fixed=True)
    a = p.mmap(PAGE_SIZE, file=f, shared=True, addr=base + HPAGE_SIZE - PAGE_SIZE, fixed=True)
    b = p.mmap(PAGE_SIZE, file=f, shared=True, addr=a - PAGE_SIZE, fixed=True)
    p.touch(a)
    p.touch(b)
    p.write(tail, b"x")
    p.write(tail + HPAGE_SIZE, b"y")
    with pytest.raises(OSError) as err:
        p.mbind(b, tail + 2 * HPAGE_SIZE - b, MPOL_BIND, [1], MPOL_MF_MOVE_ALL | MPOL_MF_STRICT)
    assert err.value.errno == 5
    assert p.node_of(a) == 1, "queued before the walk stopped"
    assert p.node_of(tail) == 0 and p.node_of(tail + HPAGE_SIZE) == 0, "never queued"
    m.check()
