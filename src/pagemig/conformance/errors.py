"""The one exception of the conformance backends."""

from __future__ import annotations


class ConformanceError(RuntimeError):
    """A backend could not run: a missing tool (the message says what to
    install), a kernel that cannot be fetched, a guest that did not finish
    (the message ends with the console tail), or a scenario it cannot run."""
