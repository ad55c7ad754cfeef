"""Which implementation of the kernel model is loaded.

The modules of ``pagemig.mm`` are plain Python (the reference). The optional
compiled build (setup.py with ``PAGEMIG_MYPYC=1``, docs/performance.md) puts a
C extension compiled by mypyc from the same source beside each module, and
Python imports the extension in its place. It compiles ``pagemig.machine``
and ``pagemig.profiles`` too (``ALSO_COMPILED``), whose objects the kernel
model reads on every page.

>>> describe() in ("interpreted", f"compiled (mypyc): {len(mm_modules())} of {len(mm_modules())} modules")
True
"""

from __future__ import annotations

import importlib
import importlib.machinery
import pkgutil

import pagemig.mm

# Modules outside pagemig.mm that the compiled build compiles (setup.py).
ALSO_COMPILED = ("pagemig.machine", "pagemig.profiles")


def also_compiled_modules() -> dict[str, str]:
    """Each of ``ALSO_COMPILED`` (imported) and the file it was loaded from."""
    return {name: str(importlib.import_module(name).__file__) for name in ALSO_COMPILED}


def mm_modules() -> dict[str, str]:
    """Each module of ``pagemig.mm`` (imported) and the file it was loaded from."""
    files: dict[str, str] = {}
    for info in pkgutil.iter_modules(pagemig.mm.__path__):
        module = importlib.import_module(f"pagemig.mm.{info.name}")
        files[info.name] = str(module.__file__)
    return files


def is_compiled(path: str) -> bool:
    return path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def compiled_modules() -> list[str]:
    """The modules of ``pagemig.mm`` loaded from C extensions."""
    return [name for name, path in mm_modules().items() if is_compiled(path)]


def describe() -> str:
    """'interpreted', or 'compiled (mypyc): N of M modules'."""
    compiled = compiled_modules()
    if not compiled:
        return "interpreted"
    return f"compiled (mypyc): {len(compiled)} of {len(mm_modules())} modules"
