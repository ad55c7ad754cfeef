"""Optional compiled build of the kernel model (docs/performance.md, "Compiled build").

The package is pure Python and everything about it is in pyproject.toml; this
file only matters with ``PAGEMIG_MYPYC=1`` in the environment, when it compiles
the modules of ``pagemig.mm`` with mypyc (shipped with mypy) into C extensions
that sit beside the Python sources and are imported in their place::

    PAGEMIG_MYPYC=1 pip install '.[cli,dev]'          # a compiled install
    PAGEMIG_MYPYC=1 python setup.py build_ext --inplace   # .so files in src/

The interpreted modules stay the reference: same code, same behaviour.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

from setuptools import setup

# mypyc is part of mypy (the dev extra's bound); mypy type-checks the modules
# against numpy's annotations, so the build needs numpy too.
MYPY_REQUIREMENT = "mypy>=1.10"
BUILD_REQUIREMENTS = [MYPY_REQUIREMENT, "numpy>=1.26"]

# Modules of pagemig.mm left interpreted, with the reason (none today; the
# package's __init__ is empty).
INTERPRETED = {"__init__.py": "empty package marker"}

HERE = Path(__file__).resolve().parent


def compiled_requested() -> bool:
    value = os.environ.get("PAGEMIG_MYPYC", "")
    if value not in ("", "0", "1"):
        sys.exit(f"PAGEMIG_MYPYC must be 0 or 1, not {value!r}")
    return value == "1"


def metadata_only() -> bool:
    """The build front end's first passes (requirements, metadata) compile nothing."""
    return any(arg in ("egg_info", "dist_info") for arg in sys.argv[1:])


def check_toolchain() -> None:
    """Fail clearly, before mypyc starts, when a C compiler or Python.h is missing."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if os.environ.get("CC"):
        compiler = os.environ["CC"].split()[0]
    if shutil.which(compiler) is None:
        sys.exit(f"PAGEMIG_MYPYC=1: no C compiler ({compiler!r} is not on PATH); "
                 "install one (e.g. apt-get install gcc) or build without PAGEMIG_MYPYC")
    include = Path(sysconfig.get_paths()["include"])
    if not (include / "Python.h").is_file():
        sys.exit(f"PAGEMIG_MYPYC=1: no Python headers ({include / 'Python.h'} is missing); "
                 "install them (e.g. apt-get install python3-dev) or build without PAGEMIG_MYPYC")


# Modules outside pagemig.mm compiled with it (pagemig.implementation.ALSO_COMPILED):
# the Machine and its KernelProfile, whose attributes the kernel model reads on
# every page. process.py stays Python: its methods take numpy integers too.
COMPILED_OUTSIDE_MM = ["src/pagemig/machine.py", "src/pagemig/profiles.py"]


def mm_modules() -> list[str]:
    mm = Path("src/pagemig/mm")
    return [str(path) for path in sorted(mm.glob("*.py")) if path.name not in INTERPRETED]


def main() -> None:
    if not compiled_requested():
        setup()
        return
    if metadata_only():
        # An isolated build asks for its requirements here: mypy as well.
        setup(setup_requires=BUILD_REQUIREMENTS)
        return
    check_toolchain()
    try:
        from mypyc.build import mypycify
    except ImportError:
        sys.exit(f"PAGEMIG_MYPYC=1 needs mypyc ({MYPY_REQUIREMENT}) in the build environment")
    os.chdir(HERE)  # mypy reads pyproject.toml's [tool.mypy] from here
    setup(ext_modules=mypycify(mm_modules() + COMPILED_OUTSIDE_MM, opt_level="3"))


main()
