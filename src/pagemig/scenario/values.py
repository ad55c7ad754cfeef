"""Values in scenario lines: numbers, node lists, flags, statuses, page lists.

Each parser raises ValueError with a message that completes
"bad ... VALUE: <message>"; the caller adds the file and line.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass

from ..mm.mempolicy import (
    MPOL_BIND,
    MPOL_DEFAULT,
    MPOL_INTERLEAVE,
    MPOL_MF_MOVE,
    MPOL_MF_MOVE_ALL,
    MPOL_MF_STRICT,
    MPOL_PREFERRED,
)
from ..mm.page import PAGE_SIZE
from ..units import excerpt

_MAX_DIGITS = 40  # a number of more digits than 2**128 has

FLAG_NAMES = {"MOVE": MPOL_MF_MOVE, "MOVE_ALL": MPOL_MF_MOVE_ALL, "STRICT": MPOL_MF_STRICT}
POLICY_MODES = {"default": MPOL_DEFAULT, "preferred": MPOL_PREFERRED, "bind": MPOL_BIND,
                "interleave": MPOL_INTERLEAVE, "local": MPOL_PREFERRED}

# A node list expands to at most as many ids as a node mask of the system
# calls has bits (get_nodes: PAGE_SIZE * BITS_PER_BYTE).
MAX_NODE_IDS = PAGE_SIZE * 8
# An expected status= or nodes= list holds at most this many items: it is built
# before the step runs, and a step of that many pages (4 GiB) takes a minute.
MAX_LIST_ITEMS = 1 << 20

# A status item that matches anything, and one for a slot the kernel left alone.
ANY = "?"
UNWRITTEN = "unwritten"
StatusItem = int | str | None


def parse_int(text: str) -> int:
    """A decimal or 0x-hex integer, optionally negative."""
    if len(text) > _MAX_DIGITS:  # no count, id or address of the model is that long
        raise ValueError(f"{excerpt(text)} is too long a number")
    try:
        return int(text, 0)
    except ValueError:
        raise ValueError(f"{excerpt(text)} is not a number") from None


def parse_errno_name(text: str) -> int | None:
    """``EACCES`` / ``-EACCES`` -> 13; ``ok`` -> None (no error)."""
    if text == "ok":
        return None
    code = getattr(errno, text.lstrip("-"), None)
    if not isinstance(code, int) or not text.lstrip("-").startswith("E"):
        raise ValueError(f"{excerpt(text)} is not an errno name like EACCES")
    return code


def parse_nodes(text: str) -> list[int]:
    """``1``, ``0,1,3``, ``0-3``, ``none`` (empty), negative ids allowed."""
    if text == "none":
        return []
    nodes: list[int] = []
    for part in text.split(","):
        first, dash, last = part.partition("-")
        if dash and first:  # a range like 0-3 (a lone -1 is a negative id)
            lo, hi = parse_int(first), parse_int(last)
            if hi < lo:
                raise ValueError(f"range {excerpt(part)} runs backwards")
            if hi - lo + 1 > MAX_NODE_IDS - len(nodes):
                raise _too_many_nodes()
            nodes.extend(range(lo, hi + 1))
        else:
            if len(nodes) >= MAX_NODE_IDS:
                raise _too_many_nodes()
            nodes.append(parse_int(part))
    return nodes


def _too_many_nodes() -> ValueError:
    return ValueError(f"more than {MAX_NODE_IDS} node ids (a node mask has "
                      f"PAGE_SIZE * 8 = {MAX_NODE_IDS} bits)")


def parse_flags(text: str) -> int:
    """``MOVE``, ``MOVE_ALL|STRICT``, ``0``, ``0x8``."""
    flags = 0
    for part in text.split("|"):
        if part in FLAG_NAMES:
            flags |= FLAG_NAMES[part]
        else:
            try:
                flags |= parse_int(part)
            except ValueError:
                raise ValueError(f"unknown flag {excerpt(part)} (known: MOVE, MOVE_ALL, STRICT, "
                                 "or a number)") from None
    return flags


def parse_mode(text: str) -> int:
    if text not in POLICY_MODES:
        raise ValueError(f"unknown policy mode {excerpt(text)} "
                         f"(known: {', '.join(POLICY_MODES)})")
    return POLICY_MODES[text]


def _repeat(text: str) -> tuple[str, int]:
    item, star, times = text.rpartition("*")
    if not star or not item:
        return text, 1
    count = parse_int(times)
    if count < 0:
        raise ValueError(f"negative repeat in {excerpt(text)}")
    return item, count


def _extend(items: list[StatusItem], item: StatusItem, count: int) -> None:
    if count > MAX_LIST_ITEMS - len(items):
        raise ValueError(f"a list of more than {MAX_LIST_ITEMS} items")
    items.extend([item] * count)


def parse_status_list(text: str) -> list[StatusItem]:
    """Items: node ids, errno names (negated), ``?``, ``unwritten``, ``ITEM*N``."""
    items: list[StatusItem] = []
    for part in text.split(","):
        word, count = _repeat(part)
        item: StatusItem
        if word in (ANY, UNWRITTEN):
            item = word
        elif word.lstrip("-").startswith("E"):
            code = parse_errno_name(word)
            item = -code if code is not None else 0
        else:
            item = parse_int(word)
        _extend(items, item, count)
    return items


def parse_node_list(text: str) -> list[StatusItem]:
    """Expected placement: node ids, ``-`` (not present), ``?``, ``ITEM*N``."""
    items: list[StatusItem] = []
    for part in text.split(","):
        word, count = _repeat(part)
        item: StatusItem = None if word == "-" else word if word == ANY else parse_int(word)
        _extend(items, item, count)
    return items


def matches(expected: list[StatusItem], got: list[int | None]) -> bool:
    if len(expected) != len(got):
        return False
    for want, have in zip(expected, got, strict=True):
        if want == ANY:
            continue
        if want == UNWRITTEN:
            want = None
        if want != have:
            return False
    return True


def format_status(value: int | None) -> str:
    if value is None:
        return UNWRITTEN
    if value < 0 and -value in errno.errorcode:
        return errno.errorcode[-value]
    return str(value)


def format_list(items: Sequence[int | None], none: str = UNWRITTEN, min_run: int = 2) -> str:
    """A list as a scenario would write it, runs of at least ``min_run`` equal
    items compressed (``1*64``)."""
    words = [none if v is None else format_status(v) for v in items]
    out: list[str] = []
    k = 0
    while k < len(words):
        j = k
        while j < len(words) and words[j] == words[k]:
            j += 1
        out += [f"{words[k]}*{j - k}"] if j - k >= min_run else words[k:j]
        k = j
    return ",".join(out)


@dataclass(frozen=True)
class PageRef:
    """One address of a page list, with the region page it names (if any)."""

    addr: int
    region: str | None = None
    index: int = 0
