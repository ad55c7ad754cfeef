"""Stateful property test of processes and virtual memory.

Random sequences of spawn, mmap (anonymous private, anonymous shared, and
private or shared mappings of ext2, tmpfs, vfat and ramfs files), touches,
writes, reads, fork, exit, munmap (partial too), mprotect, mlock/munlock,
mremap, writeback, pagevec drains and set*uid over several processes, with
``Machine.check()`` after every step and a shadow of every byte each live
process can see:

* a private anonymous page is the process's own (copied at fork);
* a shared page (MAP_SHARED of a file, or of anonymous memory = shmem) is
  the page of its file or shmem object, the same for every process mapping it;
* a private file page shows the file's page until the first write to it
  (or a write fault of mlock / MAP_POPULATE) copies it; a copied page is
  private like an anonymous one.

Every operation's outcome is predicted from the shadow alone, errors
included: SIGSEGV (errno EFAULT) for an unmapped address, a PROT_NONE page
or a write without PROT_WRITE; SIGBUS (EFAULT) for a page past the end of
its file or shmem object; ENOMEM for mprotect/mlock/munlock over a hole;
EPERM for a set*uid the kernel refuses.

Inputs stay where model and kernel agree: mlock within RLIMIT_MEMLOCK (16
pages) unless CAP_IPC_LOCK (the model has no rlimits).

Three runs: TestVirtualMemory (no anonymous shared mappings; teardown exits
everything and checks that only the files' page cache stays allocated),
TestVirtualMemoryWithAnonShared (with them, but never unmapping the last
mapping of a shmem object) and TestShmemTeardown (with them, unrestricted).
"""

from __future__ import annotations

import errno
import random
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pagemig import PAGE_SIZE, Machine
from pagemig.mm.cred import CAP_FULL_SET
from pagemig.mm.filemap import PAGECACHE_TAG_DIRTY
from pagemig.mm.fs import Inode
from pagemig.mm.highmem import page_bytes
from pagemig.mm.mmap import PROT_NONE, PROT_READ, PROT_WRITE, VM_LOCKED, VM_READ, VM_WRITE
from pagemig.mm.page import PageWriteback
from pagemig.mm.page_alloc import nr_free_pages
from pagemig.mm.page_writeback import clear_page_dirty_for_io, wait_on_page_writeback
from pagemig.mm.pagemap import lock_page, unlock_page
from pagemig.mm.swap import lru_add_drain_all
from pagemig.process import Process

PS = PAGE_SIZE
FS_KINDS = ("ext2", "tmpfs", "vfat", "ramfs")
PROTS = (PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ, PROT_WRITE, PROT_NONE)
UIDS = (0, 1000, 1001, 1002)
WINDOW = 0x10000000 // PS  # first vpn of the window for MAP_FIXED mappings
WINDOW_PAGES = 40
MAX_PROCS = 5
MLOCK_LIMIT_PAGES = 16  # RLIMIT_MEMLOCK's default, 64 KiB


class Backing:
    """The bytes of a file's page cache or of a shmem object, page-rounded."""

    def __init__(self, name: str, npages: int, data: bytes = b"") -> None:
        self.name = name
        self.npages = npages
        self.data = bytearray(npages * PS)
        self.data[:len(data)] = data

    def page(self, index: int) -> bytearray:
        return self.data[index * PS:(index + 1) * PS]


@dataclass(repr=False)
class PageShadow:
    """What one mapped page of one process shows."""

    prot: int
    kind: str  # "anon", "shared" or "fpriv" (private file page)
    backing: Backing | None = None
    index: int = 0
    private: bytearray | None = None  # anon pages, and fpriv pages once copied
    locked: bool = False

    def fault(self, write: bool) -> str | None:
        """The signal an access takes, or None."""
        if self.prot == PROT_NONE or (write and not self.prot & PROT_WRITE):
            return "SIGSEGV"
        if self.kind != "anon" and self.private is None:
            assert self.backing is not None
            if self.index >= self.backing.npages:
                return "SIGBUS"
        return None

    def beyond_eof(self) -> bool:
        return self.kind != "anon" and self.backing is not None and self.index >= self.backing.npages

    def view(self) -> bytearray:
        """The live bytes (a slice copy for backed pages: read only)."""
        if self.private is not None:
            return self.private
        assert self.backing is not None
        return self.backing.page(self.index)

    def write_fault(self) -> None:
        """What a write fault does: a private file page gets its own copy."""
        if self.kind == "fpriv" and self.private is None:
            assert self.backing is not None
            self.private = self.backing.page(self.index)

    def store(self, off: int, data: bytes) -> None:
        self.write_fault()
        if self.private is not None:
            self.private[off:off + len(data)] = data
        else:
            assert self.backing is not None
            start = self.index * PS + off
            self.backing.data[start:start + len(data)] = data

    def __repr__(self) -> str:
        where = "" if self.backing is None else f" {self.backing.name}[{self.index}]"
        copied = " copied" if self.kind == "fpriv" and self.private is not None else ""
        return f"<{self.kind}{where} prot={self.prot}{copied}{' locked' if self.locked else ''}>"

    def forked(self) -> PageShadow:
        private = None if self.private is None or self.kind == "shared" else bytearray(self.private)
        return PageShadow(self.prot, self.kind, self.backing, self.index, private, locked=False)


@dataclass(repr=False)
class ProcShadow:
    proc: Process
    pages: dict[int, PageShadow] = field(default_factory=dict)
    uid: int = 1000
    euid: int = 1000
    suid: int = 1000
    cap_perm: bool = False
    cap_eff: bool = False
    dumpable: int = 1

    def __repr__(self) -> str:
        return (f"<pid {self.proc.pid} ids={self.uid}/{self.euid}/{self.suid} "
                f"{len(self.pages)} pages>")


def random_bytes(seed: int, n: int) -> bytes:
    """n bytes from a seed (drawing the bytes themselves makes examples huge)."""
    return random.Random(seed).randbytes(n)


def pieces(addr: int, n: int) -> list[tuple[int, int, int]]:
    """(vpn, offset in page, length) of a user range."""
    out = []
    while n > 0:
        off = addr % PS
        take = min(n, PS - off)
        out.append((addr // PS, off, take))
        addr += take
        n -= take
    return out


class VirtualMemory(RuleBasedStateMachine):
    anon_shared = False  # MAP_SHARED|MAP_ANONYMOUS mappings too
    shmem_teardown = True  # may unmap the last mapping of such a shmem object
    profile = "2.6.35"  # the kernel profile of the machine
    movable_memory = "0"  # per node, for subclasses that offline memory

    # --- setup and choices ---------------------------------------------------------------------

    @initialize(data=st.data())
    def boot(self, data: st.DataObject) -> None:
        self.m = Machine(nodes=2, node_memory="16MiB", cpus=2, swap="4MiB", profile=self.profile,
                         movable_memory=self.movable_memory)
        self.files: list[tuple[Inode, Backing]] = []
        for kind in FS_KINDS:
            npages = data.draw(st.integers(1, 4), label=f"{kind} pages")
            size = npages * PS - data.draw(st.sampled_from([0, 1000]), label=f"{kind} tail")
            content = b""
            if kind in ("ext2", "vfat"):
                content = random_bytes(data.draw(st.integers(0, 2**32), label=f"{kind} seed"), size)
            inode = self.m.create_file(f"/{kind}/file", size=size, fs=kind,
                                       data=content if content else None)
            self.files.append((inode, Backing(inode.path, npages, content)))
        lru_add_drain_all(self.m)
        self.free_at_boot = nr_free_pages(self.m)
        self.procs: list[ProcShadow] = []
        self._spawn(1000, 0)
        # Something to work on from the first step: more comes from the rules.
        ps = self.procs[0]
        rw = PROT_READ | PROT_WRITE
        self._map(ps, "anon", 4, rw, addr=WINDOW * PS, fixed=True)
        ext2 = self.files[0]
        self._map(ps, "file_shared", 2, rw, ext2)  # shared writes show in private
        self._map(ps, "file_private", 3, rw, ext2)  # mappings until a write copies,
        self._map(ps, "file_private", 2, rw, ext2, populate=True)  # or the write faults
        self._map(ps, "file_private", 1, rw, ext2, first=1, locked=True)  # of these
        if self.anon_shared:
            self._map(ps, "anon_shared", 2, rw)

    def _spawn(self, uid: int, cpu: int) -> None:
        root = uid == 0
        self.procs.append(ProcShadow(self.m.spawn(uid=uid, cpu=cpu), uid=uid, euid=uid, suid=uid,
                                     cap_perm=root, cap_eff=root))

    def pick_proc(self, data: st.DataObject) -> ProcShadow:
        return data.draw(st.sampled_from(self.procs), label="process")

    def pick_vpn(self, data: st.DataObject, ps: ProcShadow) -> int:
        mapped = sorted(ps.pages)
        if mapped and data.draw(st.integers(0, 7), label="mapped?") < 7:
            return data.draw(st.sampled_from(mapped), label="vpn")
        return WINDOW + data.draw(st.integers(0, WINDOW_PAGES - 1), label="window vpn")

    def pick_npages(self, data: st.DataObject, ps: ProcShadow, vpn: int, most: int) -> int:
        """1..most pages, mostly no more than are mapped from vpn on."""
        npages = data.draw(st.integers(1, most), label="npages")
        if data.draw(st.integers(0, 3), label="fit?") < 3:
            run = 0
            while vpn + run in ps.pages and run < npages:
                run += 1
            npages = max(1, run)
        return npages

    def pick_length(self, data: st.DataObject) -> int:
        if not data.draw(st.booleans(), label="long?"):
            return data.draw(st.integers(1, 64), label="length")
        return data.draw(st.integers(1, 2 * PS), label="length")

    def orphans_shmem(self, removing: list[tuple[ProcShadow, set[int]]]) -> bool:
        """Would unmapping these vpns drop the last mapping of an anonymous
        shmem object (its eviction), where that is not wanted?"""
        if self.shmem_teardown:
            return False
        gone = {id(pg.backing) for ps, vpns in removing for v, pg in ps.pages.items()
                if v in vpns and pg.backing is not None and pg.backing.name == "shmem"}
        if not gone:
            return False
        dropped = {(id(ps), v) for ps, vpns in removing for v in vpns}
        kept = {id(pg.backing) for ps in self.procs for v, pg in ps.pages.items()
                if (id(ps), v) not in dropped and pg.backing is not None}
        return not gone <= kept

    def run_range(self, ps: ProcShadow, vpn: int, npages: int) -> tuple[list[int], bool]:
        """The mapped vpns from vpn on, up to the first hole, and whether a hole
        cut the range short (what mprotect and mlock walk)."""
        walked: list[int] = []
        for v in range(vpn, vpn + npages):
            if v not in ps.pages:
                return walked, True
            walked.append(v)
        return walked, False

    # --- processes -----------------------------------------------------------------------------

    @precondition(lambda self: len(self.procs) < MAX_PROCS)
    @rule(uid=st.sampled_from(UIDS), cpu=st.integers(0, 1))
    def spawn(self, uid: int, cpu: int) -> None:
        self._spawn(uid, cpu)

    @precondition(lambda self: 0 < len(self.procs) < MAX_PROCS)
    @rule(data=st.data())
    def fork(self, data: st.DataObject) -> None:
        ps = self.pick_proc(data)
        event("fork")
        child = ps.proc.fork()
        assert child.pid not in {q.proc.pid for q in self.procs}
        self.procs.append(ProcShadow(
            child, {v: pg.forked() for v, pg in ps.pages.items()}, ps.uid, ps.euid, ps.suid,
            ps.cap_perm, ps.cap_eff, ps.dumpable))

    @precondition(lambda self: len(self.procs) > 1)  # teardown exits the last ones
    @rule(data=st.data())
    def exit(self, data: st.DataObject) -> None:
        ps = self.pick_proc(data)
        if self.orphans_shmem([(ps, set(ps.pages))]):
            return
        ps.proc.exit()
        self.procs.remove(ps)
        assert not ps.proc.alive

    # --- mappings ------------------------------------------------------------------------------

    def _kinds(self) -> list[str]:
        kinds = ["anon", "anon", "file_private", "file_shared"]
        return [*kinds, "anon_shared"] if self.anon_shared else kinds

    @precondition(lambda self: self.procs)
    @rule(data=st.data())
    def mmap(self, data: st.DataObject) -> None:
        ps = self.pick_proc(data)
        kind = data.draw(st.sampled_from(self._kinds()), label="kind")
        npages = data.draw(st.integers(1, 5), label="npages")
        prot = data.draw(st.sampled_from(PROTS), label="prot")
        fixed = data.draw(st.booleans(), label="fixed")
        addr = (WINDOW + data.draw(st.integers(0, WINDOW_PAGES - npages), label="at")) * PS if fixed else 0
        populate = data.draw(st.booleans(), label="populate")
        locked = data.draw(st.sampled_from([False, False, False, True]), label="locked")
        if locked and not ps.cap_eff and ps.proc.mm.locked_vm + npages > MLOCK_LIMIT_PAGES:
            locked = False
        file, first = None, 0
        if kind.startswith("file"):
            file = data.draw(st.sampled_from(self.files), label="file")
            first = data.draw(st.integers(0, file[1].npages), label="offset")
        if fixed and self.orphans_shmem([(ps, set(range(addr // PS, addr // PS + npages)))]):
            addr, fixed = 0, False
        event(f"mmap: {kind}")
        self._map(ps, kind, npages, prot, file, first, addr, fixed, populate, locked)

    def _map(self, ps: ProcShadow, kind: str, npages: int, prot: int,
             file: tuple[Inode, Backing] | None = None, first: int = 0, addr: int = 0,
             fixed: bool = False, populate: bool = False, locked: bool = False) -> None:
        inode, backing = file if file is not None else (None, None)
        start = ps.proc.mmap(npages * PS, prot, file=inode, shared=kind.endswith("shared"),
                             offset=first * PS, addr=addr, fixed=fixed, populate=populate,
                             locked=locked)
        assert start % PS == 0
        if fixed:
            assert start == addr
        if kind == "anon_shared":
            backing = Backing("shmem", npages)
        vpn0 = start // PS
        for i in range(npages):
            assert fixed or vpn0 + i not in ps.pages, "a fresh mapping overlapped an old one"
            if kind == "anon":
                pg = PageShadow(prot, "anon", private=bytearray(PS))
            else:
                pg = PageShadow(prot, "fpriv" if kind == "file_private" else "shared", backing, first + i)
            pg.locked = locked
            if (populate or locked) and prot & PROT_WRITE and not pg.beyond_eof():
                pg.write_fault()
            ps.pages[vpn0 + i] = pg

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), npages=st.integers(1, 6))
    def munmap(self, data: st.DataObject, npages: int) -> None:
        ps = self.pick_proc(data)
        vpn = self.pick_vpn(data, ps)
        if self.orphans_shmem([(ps, set(range(vpn, vpn + npages)))]):
            return
        ps.proc.munmap(vpn * PS, npages * PS)  # never an error, holes or not
        for v in range(vpn, vpn + npages):
            ps.pages.pop(v, None)

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), prot=st.sampled_from(PROTS))
    def mprotect(self, data: st.DataObject, prot: int) -> None:
        ps = self.pick_proc(data)
        vpn = self.pick_vpn(data, ps)
        npages = self.pick_npages(data, ps, vpn, 4)
        walked, hole = self.run_range(ps, vpn, npages)
        event(f"mprotect: {'ENOMEM' if hole else 'ok'}")
        if hole:
            with pytest.raises(OSError) as exc:
                ps.proc.mprotect(vpn * PS, npages * PS, prot)
            assert exc.value.errno == errno.ENOMEM
        else:
            ps.proc.mprotect(vpn * PS, npages * PS, prot)
        for v in walked:  # the part before a hole was changed, as in the kernel
            ps.pages[v].prot = prot

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), on=st.booleans())
    def mlock(self, data: st.DataObject, on: bool) -> None:
        ps = self.pick_proc(data)
        vpn = self.pick_vpn(data, ps)
        npages = self.pick_npages(data, ps, vpn, 4)
        walked, hole = self.run_range(ps, vpn, npages)
        if on:
            if any(ps.pages[v].prot == PROT_NONE or ps.pages[v].beyond_eof() for v in walked):
                return  # the shadow does not predict these (examples in test_vm_examples.py)
            if not ps.cap_eff and ps.proc.mm.locked_vm + npages > MLOCK_LIMIT_PAGES:
                return  # over RLIMIT_MEMLOCK the kernel refuses, the model has no rlimits
        call = ps.proc.mlock if on else ps.proc.munlock
        event(f"{'mlock' if on else 'munlock'}: {'ENOMEM' if hole else 'ok'}")
        if hole:
            with pytest.raises(OSError) as exc:
                call(vpn * PS, npages * PS)
            assert exc.value.errno == errno.ENOMEM
        else:
            call(vpn * PS, npages * PS)
        for v in walked:
            pg = ps.pages[v]
            if on and not pg.locked and pg.prot & PROT_WRITE:
                pg.write_fault()  # 2.6.35 faults writable VMAs in for writing
            pg.locked = on

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), npages=st.integers(1, 6))
    def mremap(self, data: st.DataObject, npages: int) -> None:
        ps = self.pick_proc(data)
        vmas = [v for v in ps.proc.mm.mmap if not v.vm_flags & VM_LOCKED]
        if not vmas:
            return
        vma = data.draw(st.sampled_from(vmas), label="vma")
        old = list(range(vma.vm_start // PS, vma.vm_end // PS))
        if self.orphans_shmem([(ps, set(old[npages:]))]):
            return
        new = ps.proc.mremap(vma.vm_start, len(old) * PS, npages * PS)
        event("mremap: " + ("shrink" if npages < len(old) else "same" if npages == len(old)
                            else "grow in place" if new == vma.vm_start else "move"))
        moved = [ps.pages.pop(v) for v in old]
        last = moved[-1]
        for i in range(len(old), npages):  # growth: same kind, offsets go on
            if last.kind == "anon":
                moved.append(PageShadow(last.prot, "anon", private=bytearray(PS)))
            else:
                moved.append(PageShadow(last.prot, last.kind, last.backing,
                                        last.index + i - len(old) + 1))
        for i, pg in enumerate(moved[:npages]):
            assert new // PS + i not in ps.pages
            ps.pages[new // PS + i] = pg

    # --- accesses ------------------------------------------------------------------------------

    def expect_signal(self, exc: pytest.ExceptionInfo[OSError], signal: str) -> None:
        assert exc.value.errno == errno.EFAULT
        assert signal in str(exc.value)

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), write=st.booleans())
    def touch(self, data: st.DataObject, write: bool) -> None:
        ps = self.pick_proc(data)
        vpn = self.pick_vpn(data, ps)
        addr = vpn * PS + data.draw(st.integers(0, PS - 1), label="offset")
        pg = ps.pages.get(vpn)
        signal = "SIGSEGV" if pg is None else pg.fault(write)
        event(f"touch: {signal or 'ok'}")
        if signal:
            with pytest.raises(OSError) as exc:
                ps.proc.touch(addr, write=write)
            self.expect_signal(exc, signal)
            return
        ps.proc.touch(addr, write=write)
        assert pg is not None
        if write:
            pg.write_fault()

    @precondition(lambda self: self.procs)
    @rule(data=st.data())
    def write(self, data: st.DataObject) -> None:
        ps = self.pick_proc(data)
        vpn = self.pick_vpn(data, ps)
        addr = vpn * PS + data.draw(st.integers(0, PS - 1), label="offset")
        length = self.pick_length(data)
        payload = random_bytes(data.draw(st.integers(0, 2**32), label="seed"), length)
        done, signal = 0, None
        plan = []
        for v, off, n in pieces(addr, len(payload)):
            pg = ps.pages.get(v)
            signal = "SIGSEGV" if pg is None else pg.fault(True)
            if signal:
                break
            plan.append((pg, off, payload[done:done + n]))
            done += n
        event(f"write: {signal or 'ok'}")
        if signal:
            with pytest.raises(OSError) as exc:
                ps.proc.write(addr, payload)
            self.expect_signal(exc, signal)
        else:
            ps.proc.write(addr, payload)
        for pg, off, chunk in plan:  # what came before the fault was written
            assert pg is not None
            pg.store(off, chunk)

    @precondition(lambda self: self.procs)
    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        ps = self.pick_proc(data)
        vpn = self.pick_vpn(data, ps)
        addr = vpn * PS + data.draw(st.integers(0, PS - 1), label="offset")
        n = self.pick_length(data)
        expected = bytearray()
        for v, off, take in pieces(addr, n):
            pg = ps.pages.get(v)
            signal = "SIGSEGV" if pg is None else pg.fault(False)
            if signal:
                event(f"read: {signal}")
                with pytest.raises(OSError) as exc:
                    ps.proc.read(addr, n)
                self.expect_signal(exc, signal)
                return
            assert pg is not None
            expected += pg.view()[off:off + take]
        event("read: ok")
        assert ps.proc.read(addr, n) == bytes(expected)

    # Accesses and mappings are what the shadow is about: run them more often.
    @precondition(lambda self: self.procs)
    @rule(data=st.data())
    def mmap_more(self, data: st.DataObject) -> None:
        self.mmap(data)

    @precondition(lambda self: self.procs)
    @rule(data=st.data())
    def write_more(self, data: st.DataObject) -> None:
        self.write(data)

    @precondition(lambda self: self.procs)
    @rule(data=st.data())
    def read_more(self, data: st.DataObject) -> None:
        self.read(data)

    # --- credentials ---------------------------------------------------------------------------

    def _commit(self, ps: ProcShadow, uid: int, euid: int, suid: int) -> None:
        old_ids = (ps.uid, ps.euid, ps.suid)
        if 0 in old_ids and 0 not in (uid, euid, suid):
            ps.cap_perm = ps.cap_eff = False
        if ps.euid == 0 and euid != 0:
            ps.cap_eff = False
        if ps.euid != 0 and euid == 0:
            ps.cap_eff = ps.cap_perm
        if euid != ps.euid:
            ps.dumpable = 0
        ps.uid, ps.euid, ps.suid = uid, euid, suid

    @precondition(lambda self: self.procs)
    @rule(data=st.data(), call=st.sampled_from(["setuid", "seteuid", "setresuid"]))
    def set_ids(self, data: st.DataObject, call: str) -> None:
        ps = self.pick_proc(data)
        # Mostly ids the process holds (what an unprivileged call may use), some others.
        ids = st.sampled_from((ps.uid, ps.euid, ps.suid, *UIDS))
        a = data.draw(ids, label="a")
        b, c = data.draw(st.tuples(st.just(-1) | ids, st.just(-1) | ids), label="b, c")
        if call == "setuid":
            if ps.cap_eff:
                new: tuple[int, int, int] | None = (a, a, a)
            elif a in (ps.uid, ps.suid):
                new = (ps.uid, a, ps.suid)
            else:
                new = None
            args: tuple[int, ...] = (a,)
        else:
            r, e, s = (-1, a, -1) if call == "seteuid" else (a, b, c)
            allowed = ps.cap_eff or all(v == -1 or v in (ps.uid, ps.euid, ps.suid) for v in (r, e, s))
            new = ((ps.uid if r == -1 else r, ps.euid if e == -1 else e, ps.suid if s == -1 else s)
                   if allowed else None)
            args = (e,) if call == "seteuid" else (r, e, s)
        fn = getattr(ps.proc, call)
        event(f"{call}: {'ok' if new else 'EPERM'}")
        if new is None:
            with pytest.raises(PermissionError) as exc:
                fn(*args)
            assert exc.value.errno == errno.EPERM
            return
        fn(*args)
        self._commit(ps, *new)

    # --- the kernel's own work -----------------------------------------------------------------

    @rule()
    def drain(self) -> None:
        lru_add_drain_all(self.m)

    @rule(data=st.data())
    def writeback(self, data: st.DataObject) -> None:
        """write_cache_pages (WB_SYNC_ALL, as fsync) on one file; the bytes
        written must be the shadow's. A page still under writeback (pageout
        started it, a write dirtied it again) is waited for first."""
        inode, backing = data.draw(st.sampled_from(self.files), label="file")
        mapping = inode.mapping
        written = []
        if not mapping.cap_writeback:
            # tmpfs and ramfs (BDI_CAP_NO_WRITEBACK): __filemap_fdatawrite_range
            # returns at once, though a migrated dirty tmpfs page is tagged
            # dirty (migrate_page_copy's __set_page_dirty_nobuffers); only
            # reclaim writes shmem pages, unmapped, to swap.
            event("writeback: not a writeback mapping")
            return
        for index in sorted(mapping.tags[PAGECACHE_TAG_DIRTY]):
            page = mapping.page_tree[index]
            lock_page(page)
            if PageWriteback(page):
                wait_on_page_writeback(page)
            if clear_page_dirty_for_io(page) and mapping.a_ops.writepage is not None:
                assert mapping.a_ops.writepage(page, None) == 0
                written.append(index)
            else:
                unlock_page(page)
        self.m.complete_writeback()
        event(f"writeback: {len(written)} pages")
        if inode.store is not None:
            for index in written:
                lo, hi = index * PS, min(inode.i_size, (index + 1) * PS)
                assert bytes(inode.store[lo:hi]) == bytes(backing.data[lo:hi])
                # block_write_full_page zeroes the part of the page past EOF.
                backing.data[hi:(index + 1) * PS] = bytes((index + 1) * PS - hi)

    def eof_tails_written(self) -> None:
        """After a step that may have written file pages back (reclaim's
        pageout, migration's writeout): the part past EOF of a disk file's
        last page is zeroed by every writepage (block_write_full_page), and
        reads back as zeros once the page has left the page cache. A tail
        the shadow holds nonzero is zeros in the model exactly when that
        happened: the page is gone, or its tail is all zeros."""
        for inode, backing in self.files:
            lo = inode.i_size
            if inode.store is None or lo % PS == 0:
                continue
            hi = (lo // PS + 1) * PS
            page = inode.mapping.page_tree.get(lo // PS)
            if page is None or not any(page_bytes(page)[lo % PS:]):
                backing.data[lo:hi] = bytes(hi - lo)

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def machine_is_consistent(self) -> None:
        self.m.check()

    @invariant()
    def shadows_match_the_vmas_and_credentials(self) -> None:
        live = {ps.proc.pid for ps in self.procs}
        assert len(live) == len(self.procs)
        for ps in self.procs:
            p = ps.proc
            assert p.alive
            vpns: dict[int, int] = {}
            for vma in p.mm.mmap:
                for v in range(vma.vm_start // PS, vma.vm_end // PS):
                    vpns[v] = vma.vm_flags
            assert vpns.keys() == ps.pages.keys()
            for v, flags in vpns.items():
                pg = ps.pages[v]
                prot = (PROT_READ if flags & VM_READ else 0) | (PROT_WRITE if flags & VM_WRITE else 0)
                assert prot == pg.prot, f"vpn {v:#x}"
                assert bool(flags & VM_LOCKED) == pg.locked, f"vpn {v:#x}"
            cred = p.task.cred
            assert (cred.uid, cred.euid, cred.suid, cred.fsuid) == (ps.uid, ps.euid, ps.suid, ps.euid)
            assert cred.cap_permitted == (CAP_FULL_SET if ps.cap_perm else 0)
            assert cred.cap_effective == (CAP_FULL_SET if ps.cap_eff else 0)
            assert p.mm.dumpable == ps.dumpable

    def settle(self) -> None:
        """Once every process has exited: what must still run for the free
        page count to be exact (nothing here; subclasses that swap reclaim
        the swap cache)."""

    def teardown(self) -> None:
        if not hasattr(self, "m"):
            return
        # Every byte of every readable page, in every live process.
        for ps in self.procs:
            for v, pg in sorted(ps.pages.items()):
                signal = pg.fault(False)
                if signal is None:
                    assert ps.proc.read(v * PS, PS) == bytes(pg.view()), f"pid {ps.proc.pid} vpn {v:#x}"
                else:
                    with pytest.raises(OSError) as exc:
                        ps.proc.read(v * PS, 1)
                    self.expect_signal(exc, signal)
        progress = True
        while self.procs and progress:
            progress = False
            for ps in list(self.procs):
                if not self.orphans_shmem([(ps, set(ps.pages))]):
                    ps.proc.exit()
                    self.procs.remove(ps)
                    progress = True
        self.m.check()
        if self.procs:
            return  # the last mappings of shmem objects stay (see shmem_teardown)
        # Exit freed everything but the files' page cache.
        self.settle()
        lru_add_drain_all(self.m)
        cached = sum(inode.mapping.nrpages for inode, _ in self.files)
        assert nr_free_pages(self.m) == self.free_at_boot - cached
        self.m.check()


TestVirtualMemory = VirtualMemory.TestCase
TestVirtualMemory.settings = settings(
    max_examples=150, stateful_step_count=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class VirtualMemoryWithAnonShared(VirtualMemory):
    """The same with MAP_SHARED|MAP_ANONYMOUS mappings (an unlinked shmem
    object each), never unmapping the last mapping of one (TestShmemTeardown
    below lifts that restriction)."""

    anon_shared = True
    shmem_teardown = False


TestVirtualMemoryWithAnonShared = VirtualMemoryWithAnonShared.TestCase
TestVirtualMemoryWithAnonShared.settings = settings(
    max_examples=100, stateful_step_count=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class ShmemTeardown(VirtualMemory):
    """Anonymous shared mappings, whose last unmap evicts the shmem object."""

    anon_shared = True
    shmem_teardown = True


TestShmemTeardown = ShmemTeardown.TestCase
TestShmemTeardown.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, derandomize=True, database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
