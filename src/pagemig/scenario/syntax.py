"""The scenario line format (docs/scenarios.md): lines into checked steps.

Every check that needs no machine happens here, before anything runs, so a
typo on line 40 is reported before the 39 lines above it take effect.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..units import excerpt

_MAX_MESSAGE = 400


class ScenarioError(Exception):
    """A scenario file is wrong (or a step cannot run): ``FILE:LINE: what``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        if len(message) > _MAX_MESSAGE:  # whatever a message quotes, it stays one short line
            message = f"{message[:_MAX_MESSAGE - 40]} ... {message[-30:]}"
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.path = path
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Command:
    """What one command accepts: positional arguments (min..max), options and
    expectation keys. ``machine_level`` commands take no actor."""

    positional: tuple[str, ...]
    required: int
    options: frozenset[str] = frozenset()
    expects: frozenset[str] = frozenset({"errno"})
    machine_level: bool = False
    # Commands only the model can run (the real kernels have no such knob).
    model_only: bool = False


def _cmd(positional: str = "", required: int | None = None, options: str = "",
         expects: str = "errno", *, machine_level: bool = False,
         model_only: bool = False) -> Command:
    names = tuple(positional.split())
    return Command(names, len(names) if required is None else required,
                   frozenset(options.split()), frozenset(expects.split()),
                   machine_level, model_only)


_CALL = "ret errno status nodes node"

COMMANDS: Mapping[str, Command] = {
    # machine
    "machine": _cmd("", 0, "nodes memory cpus distances swap profile min_free_kbytes seed "
                    "movable hugepages", machine_level=True),
    "file": _cmd("PATH", options="fs size gen", machine_level=True),
    "spawn": _cmd("NAME", options="uid gid cpu compat", machine_level=True),
    "cpuset": _cmd("NAME", options="mems parent memory_migrate", machine_level=True),
    "memcg": _cmd("NAME", options="limit", machine_level=True, model_only=True),
    "reclaim": _cmd("NODE N", expects="ret errno", machine_level=True, model_only=True),
    "ksm_merge": _cmd(expects="ret errno", machine_level=True),
    "writeback": _cmd("N", 0, expects="ret errno", machine_level=True, model_only=True),
    "inject": _cmd("POINT", options="times space probability *", machine_level=True,
                   model_only=True),
    "uninject": _cmd("POINT", 0, machine_level=True, model_only=True),
    "offline": _cmd("NODE", machine_level=True, model_only=True),
    "compact": _cmd("NODE", expects="ret errno", machine_level=True, model_only=True),
    # process
    "map": _cmd("R KIND N FLAG", 3, "node path prot after"),
    "write": _cmd("PAGES", options="gen const", expects="errno signal"),
    "touch": _cmd("PAGES MODE", 1, expects="errno signal"),
    "fork": _cmd("NAME"),
    "exit": _cmd(),
    "setuid": _cmd("UID"),
    "seteuid": _cmd("UID"),
    "dumpable": _cmd("VALUE"),
    "attach": _cmd("CPUSET"),
    "attach_memcg": _cmd("NAME", model_only=True),
    "mlock": _cmd("PAGES"),
    "munlock": _cmd("PAGES"),
    "mergeable": _cmd("R"),
    "munmap": _cmd("PAGES"),
    "mprotect": _cmd("PAGES PROT"),
    "pin": _cmd("PAGES"),
    "unpin": _cmd("PAGES"),
    "set_mempolicy": _cmd("MODE NODES", 1),
    "query": _cmd("TARGET PAGES", expects=_CALL),
    "move": _cmd("TARGET PAGES NODES FLAGS", 3, "count", expects=_CALL),
    "migrate": _cmd("TARGET OLD NEW", options="watch", expects="ret errno nodes node"),
    "mbind": _cmd("PAGES MODE NODES FLAGS", 3, expects="errno nodes node"),
    "where": _cmd("PAGES", expects="nodes node"),
    "check": _cmd("PAGES", 0, options="gen", expects="errno data signal"),
}


@dataclass(frozen=True)
class Step:
    path: str
    line: int
    text: str
    actor: str | None
    cmd: str
    args: tuple[str, ...]
    opts: Mapping[str, str] = field(default_factory=dict)
    expect: Mapping[str, str] = field(default_factory=dict)

    def error(self, message: str) -> ScenarioError:
        return ScenarioError(self.path, self.line, message)

    @property
    def spec(self) -> Command:
        return COMMANDS[self.cmd]


# A scenario is a text file of commands: 100 k steps take about 3 MiB. A file
# over this size is refused before it is read (docs/scenarios.md, "Limits").
MAX_SCENARIO_BYTES = 16 << 20


def parse_file(path: str | Path) -> list[Step]:
    """Read and parse a scenario file; ScenarioError for anything wrong with it.
    Only a regular file is read: a directory, a device or a FIFO is refused
    before reading (a FIFO is opened without waiting for a writer)."""
    return parse_text(read_scenario(path), str(path))


def read_scenario(path: str | Path) -> str:
    """The text of a scenario file, checked to be a regular file of at most
    MAX_SCENARIO_BYTES of UTF-8."""
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ScenarioError(name, 0, "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(name, 0, "is a directory, not a scenario file") from None
    except OSError as err:
        raise ScenarioError(name, 0, err.strerror or str(err)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError(name, 0, f"is {_file_kind(st.st_mode)}, not a scenario file")
        if st.st_size > MAX_SCENARIO_BYTES:
            raise ScenarioError(name, 0, f"is {st.st_size} bytes long, more than the "
                                         f"{MAX_SCENARIO_BYTES >> 20} MiB a scenario file may be")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(MAX_SCENARIO_BYTES + 1)
    except OSError as err:
        raise ScenarioError(name, 0, err.strerror or str(err)) from None
    finally:
        os.close(fd)
    if len(data) > MAX_SCENARIO_BYTES:  # it grew while we looked
        raise ScenarioError(name, 0, f"is more than the {MAX_SCENARIO_BYTES >> 20} MiB "
                                     "a scenario file may be")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - data.rfind(b"\n", 0, err.start)
        raise ScenarioError(name, line, f"not UTF-8 text ({err.reason} at byte {column} "
                                        "of the line)") from None


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISSOCK, "a socket"))
    return next((what for test, what in kinds if test(mode)), "not a regular file")


def parse_text(text: str, path: str = "<scenario>") -> list[Step]:
    steps = []
    for number, raw in enumerate(text.splitlines(), start=1):
        body = raw.split("#", 1)[0].strip()
        if body:
            steps.append(parse_line(body, path, number))
    for index, step in enumerate(steps):
        if step.cmd == "machine" and index:
            raise step.error("'machine' must be the first command of the file")
    return steps


def parse_line(body: str, path: str, number: int) -> Step:
    command_part, arrow, expect_part = body.partition("=>")
    words = command_part.split()
    if not words:
        raise ScenarioError(path, number, "an expectation '=>' without a command")
    actor = None
    if words[0].endswith(":"):
        actor = words.pop(0)[:-1]
        if not actor or not words:
            raise ScenarioError(path, number, "expected 'NAME: COMMAND ...'")
    cmd, rest = words[0], words[1:]
    spec = COMMANDS.get(cmd)
    if spec is None:
        raise ScenarioError(path, number, f"unknown command {excerpt(cmd)} "
                                          f"(known: {', '.join(sorted(COMMANDS))})")
    if actor is not None and spec.machine_level:
        raise ScenarioError(path, number, f"'{cmd}' is a machine command and takes no actor")
    args = tuple(w for w in rest if "=" not in w)
    opts = _pairs(path, number, [w for w in rest if "=" in w], "option")
    expect = _pairs(path, number, expect_part.split(), "expectation") if arrow else {}
    if arrow and not expect:
        raise ScenarioError(path, number, "'=>' must be followed by KEY=VALUE expectations")
    step = Step(path, number, command_part.strip(), actor, cmd, args, opts, expect)
    _check_shape(step)
    return step


def _pairs(path: str, number: int, words: list[str], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key or not value:
            raise ScenarioError(path, number, f"bad {what} {excerpt(word)}: expected KEY=VALUE")
        if key in pairs:
            raise ScenarioError(path, number, f"{what} {excerpt(key)} given twice")
        pairs[key] = value
    return pairs


def _check_shape(step: Step) -> None:
    spec = step.spec
    if not spec.required <= len(step.args) <= len(spec.positional):
        want = " ".join(spec.positional[:spec.required])
        extra = " ".join(f"[{p}]" for p in spec.positional[spec.required:])
        usage = " ".join(part for part in (step.cmd, want, extra) if part)
        raise step.error(f"expected '{usage}', got {len(step.args)} argument(s)")
    if "*" not in spec.options:
        for key in step.opts:
            if key not in spec.options:
                known = ", ".join(sorted(spec.options)) or "none"
                raise step.error(f"unknown option {excerpt(key)} for '{step.cmd}' (known: {known})")
    for key in step.expect:
        if key not in spec.expects:
            raise step.error(f"'{step.cmd}' cannot expect {excerpt(key)} "
                             f"(it can expect: {', '.join(sorted(spec.expects))})")
    for key, value in step.expect.items():
        _check_expect_value(step, key, value)


def _check_expect_value(step: Step, key: str, value: str) -> None:
    from .expect import parse_expectation

    try:
        parse_expectation(key, value)
    except ValueError as err:
        shown = value if len(value) <= 40 else excerpt(value)
        raise step.error(f"bad expectation {key}={shown}: {err}") from None
