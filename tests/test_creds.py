"""Credentials and tasks: setuid(2), seteuid(3), setresuid(2) with the
kernel's permission rules and capability juggling (kernel/sys.c,
security/commoncap.c), the dumpable flag commit_creds clears, what fork
copies, pid allocation, and kernel threads."""

from __future__ import annotations

import errno

import pytest

from pagemig import PAGE_SIZE, Machine
from pagemig.mm.cred import CAP_FULL_SET, CAP_SETUID, CAP_SYS_NICE, has_capability
from pagemig.mm.mmap import mmput
from pagemig.mm.sched import PF_KTHREAD, get_task_mm
from pagemig.process import Process

ROOT_CAPS = CAP_FULL_SET


@pytest.fixture
def m() -> Machine:
    return Machine(nodes=2, node_memory="16MiB", cpus=2)


def ids(p: Process) -> tuple[int, int, int, int]:
    c = p.task.cred
    return c.uid, c.euid, c.suid, c.fsuid


def caps(p: Process) -> tuple[int, int]:
    return p.task.cred.cap_permitted, p.task.cred.cap_effective


def expect_eperm(call: object, *args: int) -> None:
    assert callable(call)
    with pytest.raises(PermissionError) as exc:
        call(*args)
    assert exc.value.errno == errno.EPERM


# --- setuid -------------------------------------------------------------------------------------


def test_spawned_credentials(m: Machine) -> None:
    user, root = m.spawn(uid=1000), m.spawn(uid=0)
    assert ids(user) == (1000, 1000, 1000, 1000) and caps(user) == (0, 0)
    assert ids(root) == (0, 0, 0, 0) and caps(root) == (ROOT_CAPS, ROOT_CAPS)
    assert user.task.cred.gid == 1000 and m.spawn(uid=5, gid=7).task.cred.egid == 7


def test_root_setuid_sets_every_uid_and_drops_capabilities(m: Machine) -> None:
    p = m.spawn(uid=0)
    p.setuid(1234)
    assert ids(p) == (1234, 1234, 1234, 1234)
    assert caps(p) == (0, 0)
    expect_eperm(p.setuid, 0)  # no way back
    assert ids(p) == (1234, 1234, 1234, 1234)


def test_root_setuid_to_root_keeps_everything(m: Machine) -> None:
    p = m.spawn(uid=0)
    p.setuid(0)
    assert ids(p) == (0, 0, 0, 0) and caps(p) == (ROOT_CAPS, ROOT_CAPS)
    assert p.mm.dumpable == 1


def test_nonroot_setuid_only_to_the_real_or_saved_uid(m: Machine) -> None:
    p = m.spawn(uid=0)
    p.setresuid(1000, 1000, 2000)
    assert caps(p) == (0, 0)
    # uid == saved uid: only the effective (and fs) uid changes.
    p.setuid(2000)
    assert ids(p) == (1000, 2000, 2000, 2000)
    # uid == real uid.
    p.setuid(1000)
    assert ids(p) == (1000, 1000, 2000, 1000)
    expect_eperm(p.setuid, 3000)
    expect_eperm(p.setuid, 0)
    assert ids(p) == (1000, 1000, 2000, 1000)


def test_plain_user_setuid_to_itself_succeeds_and_to_others_fails(m: Machine) -> None:
    p = m.spawn(uid=1000)
    p.setuid(1000)
    assert ids(p) == (1000, 1000, 1000, 1000)
    assert p.mm.dumpable == 1, "no identity changed"
    for uid in (0, 999, 1001):
        expect_eperm(p.setuid, uid)
    assert ids(p) == (1000, 1000, 1000, 1000)


def test_setuid_without_effective_cap_setuid_follows_the_unprivileged_rule(m: Machine) -> None:
    p = m.spawn(uid=0)
    p.seteuid(1000)  # effective capabilities dropped, permitted kept
    assert caps(p) == (ROOT_CAPS, 0)
    assert not has_capability(p.task, CAP_SETUID)
    expect_eperm(p.setuid, 2000)
    # uid 0 is the real uid: allowed, and only the effective uid changes.
    p.setuid(0)
    assert ids(p) == (0, 0, 0, 0)
    assert caps(p) == (ROOT_CAPS, ROOT_CAPS)


# --- seteuid / setresuid --------------------------------------------------------------------------


def test_root_seteuid_drops_and_regains_effective_capabilities(m: Machine) -> None:
    p = m.spawn(uid=0)
    p.seteuid(1000)
    assert ids(p) == (0, 1000, 0, 1000)
    assert caps(p) == (ROOT_CAPS, 0)
    p.seteuid(0)  # 0 is the real and saved uid
    assert ids(p) == (0, 0, 0, 0)
    assert caps(p) == (ROOT_CAPS, ROOT_CAPS)


def test_nonroot_seteuid_only_to_one_of_its_uids(m: Machine) -> None:
    p = m.spawn(uid=0)
    p.setresuid(1000, 2000, 3000)
    p.seteuid(2000)  # the current euid
    for euid in (3000, 1000):  # the saved, then the real uid
        p.seteuid(euid)
        assert ids(p) == (1000, euid, 3000, euid)
    # 2000 was only the effective uid: once left, it cannot be taken back.
    for euid in (2000, 0, 4000):
        expect_eperm(p.seteuid, euid)
    assert ids(p) == (1000, 1000, 3000, 1000)


def test_setresuid_minus_one_leaves_a_value_unchanged(m: Machine) -> None:
    p = m.spawn(uid=0)
    p.setresuid(-1, -1, -1)
    assert ids(p) == (0, 0, 0, 0) and caps(p) == (ROOT_CAPS, ROOT_CAPS)
    assert p.mm.dumpable == 1
    p.setresuid(10, -1, -1)
    assert ids(p) == (10, 0, 0, 0) and caps(p) == (ROOT_CAPS, ROOT_CAPS)
    p.setresuid(-1, -1, 30)
    assert ids(p) == (10, 0, 30, 0) and caps(p) == (ROOT_CAPS, ROOT_CAPS)


def test_nonroot_setresuid_may_permute_its_own_uids_only(m: Machine) -> None:
    p = m.spawn(uid=0)
    p.setresuid(1, 2, 3)
    p.setresuid(3, 1, 2)
    assert ids(p) == (3, 1, 2, 1)
    expect_eperm(p.setresuid, 4, -1, -1)
    expect_eperm(p.setresuid, -1, -1, 0)
    expect_eperm(p.setresuid, 1, 2, 5)  # one bad value spoils the call
    assert ids(p) == (3, 1, 2, 1)


def test_dropping_every_root_uid_clears_the_capabilities(m: Machine) -> None:
    p = m.spawn(uid=0)
    p.setresuid(1000, 1000, 0)  # the saved uid is still root
    assert caps(p) == (ROOT_CAPS, 0)
    p.setresuid(-1, 0, -1)
    assert caps(p) == (ROOT_CAPS, ROOT_CAPS)
    p.setresuid(1000, 1000, 1000)
    assert caps(p) == (0, 0)
    assert not has_capability(p.task, CAP_SYS_NICE)
    expect_eperm(p.setresuid, -1, 0, -1)
    expect_eperm(p.seteuid, 0)


def test_negative_ids_are_rejected_before_the_kernel(m: Machine) -> None:
    p = m.spawn(uid=0)
    with pytest.raises(ValueError, match="uid"):
        p.setuid(-5)
    with pytest.raises(ValueError, match="euid"):
        p.setresuid(-1, -2, -1)
    with pytest.raises(TypeError):
        p.setuid("0")  # type: ignore[arg-type]
    assert ids(p) == (0, 0, 0, 0)


# --- the dumpable flag ----------------------------------------------------------------------------


def test_changing_the_euid_clears_dumpable(m: Machine) -> None:
    p = m.spawn(uid=0)
    assert p.mm.dumpable == 1
    p.seteuid(1000)
    assert p.mm.dumpable == 0
    q = m.spawn(uid=0)
    q.setuid(1000)
    assert q.mm.dumpable == 0


def test_changing_only_the_real_or_saved_uid_keeps_dumpable(m: Machine) -> None:
    p = m.spawn(uid=0)
    p.setresuid(1000, -1, 2000)  # euid and fsuid stay 0, no capability gained
    assert ids(p) == (1000, 0, 2000, 0)
    assert p.mm.dumpable == 1


def test_a_failed_call_keeps_dumpable(m: Machine) -> None:
    p = m.spawn(uid=1000)
    expect_eperm(p.seteuid, 0)
    assert p.mm.dumpable == 1


# --- fork -----------------------------------------------------------------------------------------


def test_fork_copies_credentials_cpuset_cpu_and_dumpable(m: Machine) -> None:
    p = m.spawn(uid=0, cpu=1)
    cs = m.create_cpuset("/one", [1])
    m.attach_cpuset(p.pid, "/one")
    p.setresuid(1000, 2000, 0)
    c = p.fork()
    assert c.task.cred == p.task.cred
    assert ids(c) == (1000, 2000, 0, 2000) and caps(c) == (ROOT_CAPS, 0)
    assert c.task.cpuset is cs and c.task.mems_allowed == frozenset({1})
    assert c.task.cpu == 1
    assert c.mm.dumpable == 0
    assert c.task.parent is p.task
    assert c.pid != p.pid
    # The child's later changes are its own.
    c.seteuid(0)
    assert ids(c)[1] == 0 and ids(p)[1] == 2000


def test_fork_of_a_spawned_process_has_default_cpuset(m: Machine) -> None:
    p = m.spawn()
    c = p.fork()
    assert c.task.cpuset is m.top_cpuset is p.task.cpuset
    assert c.task.mems_allowed == frozenset({0, 1})


# --- pids -----------------------------------------------------------------------------------------


def test_pids_are_unique_and_not_reused_while_counting_up(m: Machine) -> None:
    procs = [m.spawn() for _ in range(10)]
    procs += [p.fork() for p in procs[:3]]
    pids = [p.pid for p in procs]
    assert len(set(pids)) == len(pids)
    assert {m.init_task.pid, m.kthreadd.pid}.isdisjoint(pids)
    for p in procs[::2]:
        p.exit()
    newer = [m.spawn() for _ in range(5)]
    # Pids increase until pid_max: a freed pid is not handed out again so soon.
    assert min(p.pid for p in newer) > max(pids)
    live = [p.pid for p in procs if p.alive] + [p.pid for p in newer]
    assert sorted(live) == sorted(m.pid_table.tasks.keys() - {m.init_task.pid, m.kthreadd.pid})


def test_pid_allocation_wraps_past_reserved_pids_skipping_live_ones() -> None:
    m = Machine(nodes=1, node_memory="4MiB")
    m.pid_table.pid_max = 310  # /proc/sys/kernel/pid_max may go down to 301
    procs = [m.spawn() for _ in range(307)]  # pids 3..309
    assert procs[-1].pid == 309
    for p in procs:
        if p.pid in (5, 301, 303):
            p.exit()
    # After the wrap allocation restarts at RESERVED_PIDS (300), never lower.
    wrapped = [m.spawn(), m.spawn()]
    assert [p.pid for p in wrapped] == [301, 303]
    tasks = dict(m.pid_table.tasks)
    with pytest.raises(OSError):
        m.spawn()  # 5 is free but below RESERVED_PIDS: no pid left
    assert m.pid_table.tasks == tasks
    assert 5 not in m.pid_table.tasks
    assert len(m.pid_table.tasks) == 2 + 307 - 3 + 2


def test_a_stale_handle_stays_dead_when_its_pid_is_reused() -> None:
    m = Machine(nodes=1, node_memory="4MiB")
    m.pid_table.pid_max = 305
    procs = [m.spawn() for _ in range(302)]  # pids 3..304
    old = next(p for p in procs if p.pid == 300)
    old.exit()
    new = m.spawn()
    assert new.pid == 300 and new.alive
    assert not old.alive


def test_fork_without_a_free_pid_fails_cleanly() -> None:
    m = Machine(nodes=1, node_memory="4MiB")
    m.pid_table.pid_max = 303
    procs = [m.spawn() for _ in range(300)]  # every pid 1..302 is taken
    p = procs[-1]
    a = p.mmap(2 * PAGE_SIZE)
    p.write(a, b"data")
    with pytest.raises(OSError) as exc:
        p.fork()
    assert exc.value.errno == errno.ENOMEM
    assert p.read(a, 4) == b"data"
    m.check()


# --- lifetime and kernel threads ------------------------------------------------------------------


def test_kernel_thread_has_no_mm(m: Machine) -> None:
    kt = m.kthreadd
    assert kt.mm is None and kt.flags & PF_KTHREAD
    assert get_task_mm(kt) is None
    init = m.init_task
    assert init.mm is not None and not init.flags & PF_KTHREAD
    assert init.pid == 1 and kt.pid == 2


def test_get_task_mm_takes_a_user_reference(m: Machine) -> None:
    p = m.spawn()
    mm = get_task_mm(p.task)
    assert mm is p.mm and mm.mm_users == 2
    mmput(mm)
    assert p.mm.mm_users == 1
    p.exit()
    assert get_task_mm(p.task) is None


def test_an_exited_process_is_gone(m: Machine) -> None:
    p = m.spawn()
    pid = p.pid
    p.exit()
    assert not p.alive and p.task.mm is None
    with pytest.raises(ProcessLookupError) as exc:
        p.mmap(PAGE_SIZE)
    assert exc.value.errno == errno.ESRCH
    with pytest.raises(ProcessLookupError):
        p.fork()
    with pytest.raises(ProcessLookupError):
        m.process(pid)


def test_an_exited_process_cannot_change_credentials(m: Machine) -> None:
    p = m.spawn(uid=0)
    p.exit()
    with pytest.raises(ProcessLookupError):
        p.setuid(5)
    assert p.task.cred.uid == 0


def test_spawn_argument_checks(m: Machine) -> None:
    with pytest.raises(ValueError, match="uid"):
        m.spawn(uid=-1)
    with pytest.raises(ValueError, match="cpu"):
        m.spawn(cpu=2)
    assert len(m.pid_table.tasks) == 2
