"""Model of include/asm-generic/bug.h and include/linux/mmdebug.h.

Kernel assertions are executable here: a broken invariant inside the model is
a bug in the model (or a caller misusing it) and must stop the run loudly,
never be stripped by ``python -O`` as a bare ``assert`` would be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from mypy_extensions import mypyc_attr

if TYPE_CHECKING:
    from .page import Page


@mypyc_attr(native_class=False)  # a builtin exception's subclass with attributes (compiled build)
class KernelBug(Exception):
    """BUG() or an oops: the model reached a state the kernel treats as fatal.

    ``kernel`` tells the two kinds apart. It names the Linux version ("2.6.35")
    when the model reproduces a real oops of that kernel, one of those listed
    in docs/kernel-bugs.md: the kernel itself would crash there, and the model
    says so. It is None when a model assertion fired (BUG_ON, VM_BUG_ON, a
    deadlock, a bad page): the kernel asserts that state cannot happen, so
    reaching it means the model (or a caller reaching into ``pagemig.mm``) is
    wrong.
    """

    def __init__(self, message: str, kernel: str | None = None) -> None:
        super().__init__(message)
        self.kernel = kernel

    @property
    def reproduced(self) -> bool:
        """True for a real kernel oops the model reproduces on purpose."""
        return self.kernel is not None


@mypyc_attr(native_class=False)  # a builtin exception's subclass (compiled build)
class NotModelled(NotImplementedError):
    """A path of the selected kernel that the model does not implement (rather
    than a wrong answer)."""


class _Warner(Protocol):
    def warn(self, message: str) -> None: ...


def dump_page(page: Page) -> str:
    """One-line page dump, the spirit of mm/debug.c dump_page()."""
    from .page import page_flag_names

    mapping = type(page.mapping).__name__ if page.mapping is not None else "NULL"
    return (
        f"page pfn:{page.pfn:#x} count:{page._count} mapcount:{page._mapcount + 1} "
        f"mapping:{mapping} index:{page.index:#x} flags:{'|'.join(page_flag_names(page.flags)) or '0'}"
    )


def BUG_ON(cond: object, message: str = "BUG_ON") -> None:
    if cond:
        raise KernelBug(message)


def VM_BUG_ON(cond: object, page: Page | None = None, message: str = "VM_BUG_ON") -> None:
    """VM_BUG_ON_PAGE: with a page, the exception carries its dump."""
    if cond:
        raise KernelBug(f"{message}: {dump_page(page)}" if page is not None else message)


def WARN_ON_ONCE(cond: object, machine: _Warner, message: str) -> bool:
    """Record a warning on the machine (once per message); return cond like the kernel."""
    if cond:
        machine.warn(message)
    return bool(cond)
