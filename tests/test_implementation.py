"""Which implementation of pagemig.mm the tests run against.

``make test`` runs the interpreted modules (the reference, whose coverage it
measures); ``make test-compiled`` sets PAGEMIG_EXPECT_COMPILED=1 and runs the
same suite against the modules compiled by mypyc, so a build that silently
fell back to the Python sources fails here instead of passing untested.
"""

from __future__ import annotations

import os

from pagemig.implementation import (
    also_compiled_modules,
    compiled_modules,
    describe,
    is_compiled,
    mm_modules,
)


def test_the_expected_implementation_is_loaded() -> None:
    modules = mm_modules()
    assert "migrate" in modules and "page" in modules
    if os.environ.get("PAGEMIG_EXPECT_COMPILED") == "1":
        interpreted = sorted(name for name, path in modules.items() if not is_compiled(path))
        assert not interpreted, f"interpreted under the compiled build: {interpreted}"
        assert describe() == f"compiled (mypyc): {len(modules)} of {len(modules)} modules"
        others = sorted(name for name, path in also_compiled_modules().items() if not is_compiled(path))
        assert not others, f"interpreted under the compiled build: {others}"
    else:
        assert compiled_modules() == [], "compiled modules in the interpreted run"
        assert describe() == "interpreted"
        assert not any(is_compiled(path) for path in also_compiled_modules().values())
