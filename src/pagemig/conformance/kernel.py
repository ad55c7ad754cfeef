"""The guest kernel: Debian's current 6.1 image, kept in the cache.

`linux-image-amd64` is a meta package; the package it depends on (for
example linux-image-6.1.0-56-amd64) holds the kernel. Only its ./boot is
extracted, into CACHE/kernel/PACKAGE/boot.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .cache import cache_dir
from .errors import ConformanceError

META_PACKAGE = "linux-image-amd64"
REQUIRED_CONFIG = ("CONFIG_NUMA", "CONFIG_MIGRATION", "CONFIG_NUMA_EMU", "CONFIG_SERIAL_8250_CONSOLE",
                   "CONFIG_BLK_DEV_INITRD", "CONFIG_DEVTMPFS", "CONFIG_CPUSETS", "CONFIG_KSM")


@dataclass(frozen=True)
class Kernel:
    package: str
    version: str
    vmlinuz: Path
    config: Path


def _run(argv: list[str], cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise ConformanceError(f"{argv[0]} is missing: the kernel is fetched with apt-get and dpkg-deb "
                               "(a Debian host)") from exc
    if proc.returncode != 0:
        raise ConformanceError(f"{' '.join(argv)} failed: {proc.stderr.strip()}")
    return proc.stdout


def kernel_package() -> str:
    """The package linux-image-amd64 depends on, else the newest cached one."""
    try:
        out = _run(["apt-cache", "depends", META_PACKAGE])
    except ConformanceError:
        out = ""
    for line in out.splitlines():
        word = line.split()
        if len(word) == 2 and word[0] == "Depends:" and word[1][len("linux-image-"):][:1].isdigit():
            return word[1]
    cached = sorted(p.name for p in (cache_dir() / "kernel").glob("linux-image-*") if (p / "boot").is_dir())
    if cached:
        return cached[-1]
    raise ConformanceError(f"cannot tell which package {META_PACKAGE} depends on: run apt-get update")


def _extract_boot(deb: Path, dest: Path) -> None:
    """dpkg-deb --fsys-tarfile DEB | tar -x ./boot."""
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as deb_tar:
        tar = subprocess.run(["tar", "-x", "-C", str(dest), "./boot"], stdin=deb_tar.stdout,
                             capture_output=True, text=True, check=False)
    if deb_tar.returncode != 0 or tar.returncode != 0:
        raise ConformanceError(f"cannot extract ./boot from {deb.name}: {tar.stderr.strip()}")


def download_kernel(package: str, dest: Path) -> None:
    """apt-get download PACKAGE, then keep its ./boot and version in DEST."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix="download-") as tmp:
        work = Path(tmp)
        _run(["apt-get", "download", package], cwd=work)
        debs = list(work.glob(f"{package}_*.deb"))
        if not debs:
            raise ConformanceError(f"apt-get download {package} produced no .deb")
        _extract_boot(debs[0], work)
        version = _run(["dpkg-deb", "-f", str(debs[0]), "Version"]).strip()
        (work / "boot" / "version").write_text(version + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir()
        (work / "boot").rename(dest / "boot")


def check_config(config: Path) -> None:
    text = config.read_text()
    missing = [opt for opt in REQUIRED_CONFIG if f"\n{opt}=y" not in text]
    if missing:
        raise ConformanceError(f"{config.name} lacks {', '.join(missing)}")


def fetch_kernel(package: str | None = None) -> Kernel:
    """The guest kernel, downloaded on first use."""
    package = package or kernel_package()
    home = cache_dir() / "kernel" / package
    boot = home / "boot"
    if not list(boot.glob("vmlinuz-*")):
        download_kernel(package, home)
    vmlinuz = sorted(boot.glob("vmlinuz-*"))
    config = sorted(boot.glob("config-*"))
    if not vmlinuz or not config:
        raise ConformanceError(f"{package} has no vmlinuz or config in {boot}")
    check_config(config[0])
    version_file = boot / "version"
    version = version_file.read_text().strip() if version_file.exists() else "?"
    return Kernel(package, version, vmlinuz[0], config[0])
