"""pagemig.api: the model's Process and pagemig.real's satisfy one protocol, check their
arguments by the same rules, and answer one function written against the protocol alike
(on the live host kernel where it has the NUMA system calls)."""

from __future__ import annotations

import errno
import mmap
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pagemig import Machine
from pagemig.api import PlacementProcess
from pagemig.real import (
    MPOL_BIND,
    MPOL_DEFAULT,
    MPOL_F_ADDR,
    MPOL_MF_MOVE,
    RecordingSysIO,
    this_process,
)

from .test_real_live import UNAVAILABLE, buffer_address

PAGE = 4096
ROOT = Path(__file__).resolve().parent.parent


# --- one protocol, checked by mypy -------------------------------------------------------------

CONFORMING = """
    from typing import assert_type

    from pagemig import Machine, Process
    from pagemig.api import PlacementProcess
    from pagemig.real import this_process
    from pagemig.real.procfs import NumaMapsEntry
    from pagemig.results import MovePagesResult

    def uses(proc: PlacementProcess) -> None:
        assert_type(proc.move_pages(0, [4096], [0], 2), MovePagesResult)
        assert_type(proc.migrate_pages(0, [0], [1]), int)
        assert_type(proc.get_mempolicy(), tuple[int, frozenset[int]])
        assert_type(proc.numa_maps(), list[NumaMapsEntry])
        assert_type(proc.node_of(4096), int | None)

    model: Process = Machine(nodes=1).spawn()
    uses(model)
    uses(this_process())
"""

NOT_CONFORMING = """
    from pagemig.api import PlacementProcess

    class NoNodeOf:
        def move_pages(self, pid: int, pages: object, nodes: object = None, flags: int = 0) -> None: ...

    proc: PlacementProcess = NoNodeOf()
"""


def _mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    api = pytest.importorskip("mypy.api")
    path = tmp_path / "snippet.py"
    path.write_text(textwrap.dedent(source))
    out, err, status = api.run([str(path), "--config-file", str(ROOT / "pyproject.toml"),
                                "--cache-dir", str(ROOT / ".mypy_cache"), "--strict"])
    return out + err, status


def test_mypy_accepts_both_sides_as_the_protocol(tmp_path: Path) -> None:
    out, status = _mypy(tmp_path, CONFORMING)
    assert status == 0, out


def test_mypy_refuses_a_class_without_the_protocol(tmp_path: Path) -> None:
    out, status = _mypy(tmp_path, NOT_CONFORMING)
    assert status == 1 and "PlacementProcess" in out, out


def test_both_sides_are_runtime_instances_of_the_protocol() -> None:
    assert isinstance(Machine(nodes=1).spawn(), PlacementProcess)
    assert isinstance(this_process(RecordingSysIO()), PlacementProcess)


# --- the same answer to every bad argument --------------------------------------------------

A = 0x7F00_0000_0000

Call = Callable[[PlacementProcess], object]
BAD_CALLS: list[tuple[str, Call]] = [
    ("lengths differ", lambda p: p.move_pages(0, [A, A + PAGE], [0])),
    ("nodes longer", lambda p: p.move_pages(0, [A], np.zeros(3, dtype=np.int32))),
    ("float page", lambda p: p.move_pages(0, [A, 1.5])),  # type: ignore[list-item]
    ("str page", lambda p: p.move_pages(0, ["0x1000"])),  # type: ignore[list-item]
    ("None page", lambda p: p.move_pages(0, [None])),  # type: ignore[list-item]
    ("bool page", lambda p: p.move_pages(0, [True])),
    ("pages not a sequence", lambda p: p.move_pages(0, A)),  # type: ignore[arg-type]
    ("pages a string", lambda p: p.move_pages(0, "abc")),  # type: ignore[arg-type]
    ("negative address", lambda p: p.move_pages(0, [A, -PAGE])),
    ("huge address", lambda p: p.move_pages(0, [2**64])),
    ("negative address array", lambda p: p.move_pages(0, np.array([A, -1], dtype=np.int64))),
    ("2-D pages", lambda p: p.move_pages(0, np.zeros((2, 2), dtype=np.uint64))),
    ("float pages array", lambda p: p.move_pages(0, np.zeros(2))),
    ("node past int", lambda p: p.move_pages(0, [A], [2**31])),
    ("float node", lambda p: p.move_pages(0, [A], [0.0])),  # type: ignore[list-item]
    ("float flags", lambda p: p.move_pages(0, [A], None, 2.0)),  # type: ignore[arg-type]
    ("huge flags", lambda p: p.move_pages(0, [A], None, 2**32)),
    ("negative huge flags", lambda p: p.move_pages(0, [A], None, -(2**31) - 1)),
    ("str pid", lambda p: p.move_pages("self", [A])),  # type: ignore[arg-type]
    ("huge pid", lambda p: p.move_pages(2**31, [A])),
    ("migrate None", lambda p: p.migrate_pages(0, None, [0])),  # type: ignore[arg-type]
    ("migrate node -1", lambda p: p.migrate_pages(0, [0], [-1])),
    ("migrate node 1024", lambda p: p.migrate_pages(0, [1024], [0])),
    ("mbind negative address", lambda p: p.mbind(-PAGE, PAGE, MPOL_BIND, [0])),
    ("mbind huge length", lambda p: p.mbind(A, 2**64, MPOL_BIND, [0])),
    ("mbind float mode", lambda p: p.mbind(A, PAGE, 2.0, [0])),  # type: ignore[arg-type]
    ("mbind negative flags", lambda p: p.mbind(A, PAGE, MPOL_BIND, [0], -1)),
    ("mbind node str", lambda p: p.mbind(A, PAGE, MPOL_BIND, ["0"])),  # type: ignore[list-item]
    ("set_mempolicy huge mode", lambda p: p.set_mempolicy(2**31, [0])),
    ("set_mempolicy nodes int", lambda p: p.set_mempolicy(MPOL_BIND, 0)),  # type: ignore[arg-type]
    ("get_mempolicy negative address", lambda p: p.get_mempolicy(-1)),
    ("get_mempolicy F_ADDR without address", lambda p: p.get_mempolicy(None, MPOL_F_ADDR)),
    ("get_mempolicy bool flags", lambda p: p.get_mempolicy(None, True)),
    ("numa_maps float pid", lambda p: p.numa_maps(1.0)),  # type: ignore[arg-type]
    ("node_of negative", lambda p: p.node_of(-1)),
    ("node_of str", lambda p: p.node_of("0x1000")),  # type: ignore[arg-type]
]


def _answer(proc: PlacementProcess, call: Call) -> tuple[type[BaseException], str]:
    with pytest.raises((TypeError, ValueError)) as info:
        call(proc)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("call", [call for _, call in BAD_CALLS], ids=[name for name, _ in BAD_CALLS])
def test_bad_arguments_get_the_same_answer_on_both_sides(call: Call) -> None:
    model = Machine(nodes=1, node_memory="16MiB").spawn(uid=0, cpu=0)
    recorder = RecordingSysIO()  # no replies, no backend: any call reaching it would fail
    model_answer = _answer(model, call)
    assert model_answer == _answer(this_process(recorder), call)
    assert recorder.calls == []


# --- one function, two kernels ----------------------------------------------------------------


def placement_story(proc: PlacementProcess, addr: int, bad_pid: int) -> dict[str, Any]:
    """Placement calls on eight pages at ``addr`` of ``proc``, of which the first three
    are written; written only against the protocol. Returns every answer."""
    touched = [addr, addr + PAGE + 100, addr + 2 * PAGE]
    out: dict[str, Any] = {}
    out["query"] = proc.move_pages(0, touched)
    out["query array"] = proc.move_pages(0, np.array(touched, dtype=np.uint64)).status_array.tolist()
    out["move to 0"] = proc.move_pages(0, touched, [0, 0, 0], MPOL_MF_MOVE)
    out["move to 0 from int32"] = proc.move_pages(0, touched, np.zeros(3, dtype=np.int32), MPOL_MF_MOVE)
    out["node_of"] = [proc.node_of(a) for a in touched]
    for name, args in {"bad pid": (bad_pid, touched, None, 0), "bad flags": (0, touched, None, 0xFF),
                       "node 5": (0, touched[:1], [5], MPOL_MF_MOVE)}.items():
        try:
            proc.move_pages(*args)  # type: ignore[arg-type]
            out[name] = "no error"
        except OSError as err:
            out[name] = (type(err), err.errno, err.result.status)  # type: ignore[attr-defined]
    proc.mbind(addr, 8 * PAGE, MPOL_BIND, [0], MPOL_MF_MOVE)
    out["mbind then get_mempolicy"] = proc.get_mempolicy(addr)
    (entry,) = [entry for entry in proc.numa_maps() if entry.address == addr]
    out["numa_maps"] = (entry.policy, entry.anon, entry.dirty, entry.nodes)
    out["migrate 0 -> 0"] = proc.migrate_pages(0, [0], [0])
    proc.set_mempolicy(MPOL_BIND, [0])
    try:
        out["set then get"] = proc.get_mempolicy()
    finally:
        proc.set_mempolicy(MPOL_DEFAULT)
    out["back to default"] = proc.get_mempolicy()
    try:
        proc.numa_maps(bad_pid)
    except OSError as err:
        out["numa_maps of a bad pid"] = (type(err), err.errno)
    return out


def test_story_on_the_model() -> None:
    p = Machine(nodes=1, node_memory="16MiB").spawn(uid=0, cpu=0)
    addr = p.mmap(8 * PAGE)
    for i in range(3):
        p.write(addr + i * PAGE, b"x")
    story = placement_story(p, addr, 4_194_304)
    assert story["query"].status == [0, 0, 0] and story["node_of"] == [0, 0, 0]
    assert story["bad pid"] == (ProcessLookupError, errno.ESRCH, [None, None, None])
    assert story["bad flags"][1] == errno.EINVAL and story["node 5"][1] == errno.ENODEV
    assert story["numa_maps"] == ("bind:0", 3, 3, {0: 3})
    assert story["numa_maps of a bad pid"] == (FileNotFoundError, errno.ENOENT)


@pytest.fixture
def live_pages() -> Iterator[int]:
    buffer = mmap.mmap(-1, 8 * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for i in range(3):
        buffer[i * PAGE] = 0x78
    yield buffer_address(buffer)
    buffer.close()


@pytest.mark.skipif(any(UNAVAILABLE[name] for name in ("move_pages", "migrate_pages", "mbind",
                                                       "get_mempolicy")),
                    reason=f"NUMA system calls unavailable here: {UNAVAILABLE}")
def test_story_gives_the_same_answers_on_the_model_and_the_live_kernel(live_pages: int) -> None:
    if PAGE != mmap.PAGESIZE:
        pytest.skip(f"the model's pages are 4 KiB, this host's {mmap.PAGESIZE}")
    with open("/proc/sys/kernel/pid_max") as file:
        bad_pid = int(file.read())  # pids are allocated below pid_max, on the model too
    live = placement_story(this_process(), live_pages, bad_pid)
    p = Machine(nodes=1, node_memory="16MiB").spawn(uid=0, cpu=0)
    addr = p.mmap(8 * PAGE)
    for i in range(3):
        p.write(addr + i * PAGE, b"x")
    model = placement_story(p, addr, bad_pid)
    model["query"] = model["query"].status  # the model's results also carry addresses and reasons
    model["move to 0"] = model["move to 0"].status
    model["move to 0 from int32"] = model["move to 0 from int32"].status
    for key in ("query", "move to 0", "move to 0 from int32"):
        live[key] = live[key].status
    assert live == model
