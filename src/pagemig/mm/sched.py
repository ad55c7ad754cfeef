"""Schedule points: where the kernel may sleep or another CPU may step in.

Kernel code in the model calls ``schedule_point`` (cond_resched, a sleeping
lock, waiting for writeback) and ``wait_until`` (sleep until a condition
holds). With no scheduler installed they cost one attribute test: a single
task runs straight through, and waiting for a condition that nobody else can
make true is a deadlock, reported as a KernelBug. A deterministic scheduler
installed on the machine runs several simulated tasks, switching only here,
so races replay exactly.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Protocol

from .bug import KernelBug

if TYPE_CHECKING:
    from .cpuset import Cpuset
    from .cred import Cred
    from .mempolicy import Mempolicy
    from .mmap import MmStruct


class Scheduler(Protocol):
    def schedule_point(self, reason: str) -> None:
        """Let another runnable task run before continuing."""

    def wait_until(self, condition: Callable[[], bool], reason: str) -> None:
        """Block the current task until ``condition()`` holds."""


class SchedulerHost(Protocol):
    scheduler: Scheduler | None


def schedule_point(host: SchedulerHost, reason: str) -> None:
    if host.scheduler is not None:
        host.scheduler.schedule_point(reason)


def cond_resched(host: SchedulerHost, reason: str) -> None:
    schedule_point(host, reason)


def wait_until(host: SchedulerHost, condition: Callable[[], bool], reason: str) -> None:
    """Sleep until ``condition`` holds (wait_event)."""
    if condition():
        schedule_point(host, reason)
        return
    if host.scheduler is None:
        raise KernelBug(f"deadlock: {reason} would sleep forever (no other task can wake it)")
    host.scheduler.wait_until(condition, reason)


# --- tasks (include/linux/sched.h, kernel/pid.c) -------------------------------------------

PF_EXITING: Final = 0x00000004
PF_KTHREAD: Final = 0x00200000
PF_SWAPWRITE: Final = 0x00800000
PID_MAX_DEFAULT: Final = 0x8000


class TaskStruct:
    """task_struct: identity, credentials, where it runs, its memory policy and mm."""

    def __init__(self, pid: int, comm: str, cred: Cred, mm: MmStruct | None, cpu: int,
                 cpuset: Cpuset, parent: TaskStruct | None = None, flags: int = 0) -> None:
        self.pid = pid
        self.tgid = pid
        self.comm = comm
        self.cred = cred
        self.mm = mm
        self.cpu = cpu
        self.cpuset = cpuset
        self.mems_allowed: frozenset[int] = cpuset.mems_allowed
        self.mempolicy: Mempolicy | None = None
        self.il_next = 0  # next node of an interleave policy
        self.parent = parent
        self.flags = flags
        # TIF_IA32: a 32-bit program, whose system calls take the compat
        # entry points; user_sp is its stack pointer at the system call
        # (task_pt_regs(task)->sp), below which compat_alloc_user_space works.
        self.ia32 = False
        self.user_sp = 0

    def __repr__(self) -> str:
        return f"<task {self.pid} {self.comm} uid={self.cred.uid}>"


class PidTable:
    """Pid allocation as alloc_pidmap does: increasing, wrapping at pid_max,
    never handing out a pid that a live task still holds."""

    def __init__(self, pid_max: int = PID_MAX_DEFAULT) -> None:
        self.tasks: dict[int, TaskStruct] = {}
        self.last_pid = 0
        self.pid_max = pid_max

    def alloc_pid(self) -> int:
        pid = self.last_pid
        for _ in range(self.pid_max):
            pid = pid + 1 if pid + 1 < self.pid_max else 300  # RESERVED_PIDS after a wrap
            if pid not in self.tasks:
                self.last_pid = pid
                return pid
        raise OSError(errno.ENOMEM, "no free pid (alloc_pid failed: fork returns -ENOMEM)")

    def attach(self, task: TaskStruct) -> None:
        self.tasks[task.pid] = task

    def detach(self, task: TaskStruct) -> None:
        del self.tasks[task.pid]

    def find_task_by_vpid(self, pid: int) -> TaskStruct | None:
        return self.tasks.get(pid)


def get_task_mm(task: TaskStruct) -> MmStruct | None:
    """The task's mm with a user reference, or None for kernel threads and exiting tasks."""
    mm = task.mm
    if mm is None or task.flags & PF_KTHREAD:
        return None
    mm.mm_users += 1
    return mm


# --- a deterministic scheduler ------------------------------------------------------------------

import threading  # noqa: E402  (only the scheduler needs it)


class SimTask:
    """A simulated task run by the DeterministicScheduler."""

    def __init__(self, name: str, fn: Callable[[], object], task: TaskStruct | None) -> None:
        self.name = name
        self.fn = fn
        self.task = task
        self.state = "ready"  # ready, running, blocked, done
        self.condition: Callable[[], bool] | None = None
        self.result: object = None
        self.error: BaseException | None = None
        self.turn = threading.Event()
        self.saved: tuple[object, int] | None = None

    def __repr__(self) -> str:
        return f"<simtask {self.name} {self.state}>"

    @property
    def runnable(self) -> bool:
        if self.state == "ready":
            return True
        return self.state == "blocked" and self.condition is not None and self.condition()


Chooser = Callable[[list[SimTask], str, "SimTask | None"], SimTask]


def keep_running(candidates: list[SimTask], reason: str, last: SimTask | None) -> SimTask:
    """Default policy: no preemption; the last task runs on while it can."""
    if last is not None and last in candidates:
        return last
    return candidates[0]


class DeterministicScheduler:
    """Runs several simulated tasks one at a time, switching only at schedule
    points, in the order a chooser decides, so a race replays exactly.

    Each task runs in its own thread, but only the one holding the turn
    executes; every other thread waits on its event. The chooser sees the
    runnable tasks and the reason of the switch point and names the next.
    """

    def __init__(self, machine: SchedulerHostWithCurrent, choose: Chooser = keep_running) -> None:
        self.machine = machine
        self.choose = choose
        self.tasks: list[SimTask] = []
        self.log: list[tuple[str, str, str]] = []  # (from, to, reason)
        self._back = threading.Event()
        self._current: SimTask | None = None

    def spawn(self, name: str, fn: Callable[[], object], task: TaskStruct | None = None) -> SimTask:
        sim = SimTask(name, fn, task)
        self.tasks.append(sim)
        return sim

    # called from inside simulated tasks -------------------------------------------------------

    def _me(self) -> SimTask | None:
        me = self._current
        if me is None or threading.current_thread() is threading.main_thread():
            return None
        return me

    def schedule_point(self, reason: str) -> None:
        me = self._me()
        if me is None:
            return
        me.state = "ready"
        self._yield(me, reason)

    def wait_until(self, condition: Callable[[], bool], reason: str) -> None:
        me = self._me()
        if me is None:
            if not condition():
                raise KernelBug(f"deadlock: {reason} outside any simulated task")
            return
        # Taking a lock or sleeping is where another CPU may step in.
        me.state = "ready"
        self._yield(me, reason)
        while not condition():
            me.state = "blocked"
            me.condition = condition
            self._yield(me, reason)
        me.condition = None

    def _yield(self, me: SimTask, reason: str) -> None:
        me.saved = (self.machine.current, self.machine.current_cpu)
        self._reason = reason
        me.turn.clear()
        self._back.set()
        me.turn.wait()
        self.machine.current, self.machine.current_cpu = me.saved
        me.state = "running"

    # the loop ------------------------------------------------------------------------------------

    def _body(self, sim: SimTask) -> None:
        sim.turn.wait()
        if sim.task is not None:
            self.machine.current, self.machine.current_cpu = sim.task, sim.task.cpu
        sim.state = "running"
        try:
            sim.result = sim.fn()
        except BaseException as exc:  # reported by run()
            sim.error = exc
        sim.state = "done"
        self._reason = "exit"
        self._back.set()

    def run(self, max_switches: int = 100000) -> None:
        """Run every task to completion; raise the first task's error, or
        KernelBug on a deadlock (tasks left, none runnable)."""
        saved_sched = self.machine.scheduler
        saved_current = (self.machine.current, self.machine.current_cpu)
        self.machine.scheduler = self
        threads = [threading.Thread(target=self._body, args=(t,), daemon=True) for t in self.tasks]
        for thread in threads:
            thread.start()
        last: SimTask | None = None
        self._reason = "start"
        try:
            for _ in range(max_switches):
                pending = [t for t in self.tasks if t.state != "done"]
                if not pending:
                    break
                candidates = [t for t in pending if t.runnable]
                if not candidates:
                    raise KernelBug("deadlock: " + ", ".join(
                        f"{t.name} waits ({t.state})" for t in pending))
                nxt = self.choose(candidates, self._reason, last)
                self.log.append((last.name if last else "-", nxt.name, self._reason))
                last = nxt
                self._current = nxt
                self._back.clear()
                nxt.turn.set()
                self._back.wait()
            else:
                raise KernelBug("the simulated tasks did not finish")
        finally:
            self.machine.scheduler = saved_sched
            self.machine.current, self.machine.current_cpu = saved_current
            self._current = None
        for sim in self.tasks:
            if sim.error is not None:
                raise sim.error


class SchedulerHostWithCurrent(Protocol):
    scheduler: Scheduler | None
    current: TaskStruct | None
    current_cpu: int
