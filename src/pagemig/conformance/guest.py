"""The guest's initramfs: busybox, the runner, the scenarios and /init.

The archive is written here in the kernel's "newc" cpio format, so no cpio
tool is needed. /init mounts what the runner uses, prints the runner's
records on the second serial port (/dev/ttyS1, away from kernel messages on
the console) between two markers, and powers the guest off.
"""

from __future__ import annotations

import gzip
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from .errors import ConformanceError

BEGIN_MARK = "PAGEMIG-BEGIN"
END_MARK = "PAGEMIG-END"
RESULTS_PORT = "/dev/ttyS1"
BUSYBOX_PATHS = ("/bin/busybox", "/usr/bin/busybox")

S_IFDIR, S_IFREG, S_IFCHR = 0o040000, 0o100000, 0o020000

INIT_TEMPLATE = """#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t ramfs ramfs /ramfs
mount -t cgroup2 cgroup2 /sys/fs/cgroup
OUT={port}
stty -F $OUT raw -echo 2>/dev/null
echo "{begin} uptime=$(cut -d' ' -f1 /proc/uptime)" >$OUT
/bin/runner {files} >$OUT 2>/dev/console
echo "{end} rc=$? uptime=$(cut -d' ' -f1 /proc/uptime)" >$OUT
sync
poweroff -f
"""


@dataclass(frozen=True)
class Entry:
    """One member of the archive: a directory, a file or a character device."""

    name: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def scenario_name(index: int) -> str:
    """Where the index-th scenario file sits in the guest."""
    return f"/scn/{index:02d}.scn"


def init_script(nfiles: int) -> str:
    files = " ".join(scenario_name(i) for i in range(nfiles))
    return INIT_TEMPLATE.format(port=RESULTS_PORT, begin=BEGIN_MARK, end=END_MARK, files=files)


def _is_static_elf(data: bytes) -> bool:
    """An ELF64 without a PT_INTERP program header (no dynamic loader)."""
    if data[:5] != b"\x7fELF\x02":
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return all(struct.unpack_from("<I", data, phoff + i * phentsize)[0] != 3 for i in range(phnum))


def busybox_binary() -> bytes:
    """The static busybox of the busybox-static package."""
    for path in BUSYBOX_PATHS:
        p = Path(path)
        if p.is_file():
            data = p.read_bytes()
            if _is_static_elf(data):
                return data
    found = shutil.which("busybox")
    raise ConformanceError("a static busybox is missing: apt-get install busybox-static"
                           + (f" ({found} is dynamically linked)" if found else ""))


def initramfs_entries(busybox: bytes, runner: bytes, scenarios: list[bytes]) -> list[Entry]:
    """The archive's members, parents before children."""
    entries = [Entry(d, S_IFDIR | 0o755) for d in ("bin", "dev", "proc", "sys", "tmp", "ramfs", "scn")]
    entries += [
        Entry("dev/console", S_IFCHR | 0o600, rdev=(5, 1)),
        Entry("init", S_IFREG | 0o755, init_script(len(scenarios)).encode()),
        Entry("bin/busybox", S_IFREG | 0o755, busybox),
        Entry("bin/runner", S_IFREG | 0o755, runner),
    ]
    entries += [Entry(scenario_name(i).lstrip("/"), S_IFREG | 0o644, text)
                for i, text in enumerate(scenarios)]
    return entries


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


def cpio_newc(entries: list[Entry]) -> bytes:
    """A "070701" archive, as the kernel's initramfs unpacker reads it."""
    out = bytearray()
    for ino, entry in enumerate([*entries, Entry("TRAILER!!!", 0)], start=1):
        name = entry.name.encode() + b"\0"
        fields = (ino, entry.mode, 0, 0, 2 if entry.mode & S_IFDIR else 1, 0, len(entry.data),
                  0, 0, entry.rdev[0], entry.rdev[1], len(name), 0)
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        out += header + name + _pad4(len(header) + len(name))
        out += entry.data + _pad4(len(entry.data))
    return bytes(out)


def build_initramfs(runner: Path, scenarios: list[Path], out: Path) -> Path:
    """initrd.gz with the runner and these scenario files (in this order)."""
    entries = initramfs_entries(busybox_binary(), runner.read_bytes(), [p.read_bytes() for p in scenarios])
    out.write_bytes(gzip.compress(cpio_newc(entries), compresslevel=1))
    return out
