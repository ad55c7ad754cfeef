"""Node masks and node lists as the kernel takes and prints them (include/linux/nodemask.h, lib/bitmap.c).

System calls take a node mask as an array of C ``unsigned long`` plus
``maxnode``. The kernel's ``get_nodes()`` (mm/mempolicy.c) first decrements
``maxnode`` and then reads that many bits, so ``maxnode`` is the number of
bits + 1; libnuma passes it the same way. pagemig always passes masks of
``NODEMASK_BITS`` = 1024 bits (16 longs, MAX_NUMNODES of the largest x86-64
and arm64 configurations, NODES_SHIFT=10) with ``MAXNODE`` = 1025, so a mask
is never shorter than the kernel's and ``get_mempolicy`` never fails its
``maxnode < nr_node_ids`` check. Bits above the running kernel's
MAX_NUMNODES must be zero, or the kernel answers -EINVAL.

/sys and /proc print node and CPU sets in the list format of
``bitmap_print_to_pagebuf(true, ...)``: ``"0-3,5"``, empty for no nodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

BITS_PER_LONG = 64  # the two supported ABIs, x86-64 and arm64, are LP64
NODEMASK_BITS = 1024
NODEMASK_LONGS = NODEMASK_BITS // BITS_PER_LONG
MAXNODE = NODEMASK_BITS + 1
_LONG_MASK = (1 << BITS_PER_LONG) - 1


def nodes_to_mask(nodes: Iterable[int]) -> list[int]:
    """The ``unsigned long`` words of a NODEMASK_BITS-bit mask with ``nodes`` set."""
    words = [0] * NODEMASK_LONGS
    for node in nodes:
        if not 0 <= node < NODEMASK_BITS:
            raise ValueError(f"node {node} does not fit a {NODEMASK_BITS}-bit node mask")
        words[node // BITS_PER_LONG] |= 1 << (node % BITS_PER_LONG)
    return words


def mask_to_nodes(words: Sequence[int]) -> frozenset[int]:
    """The nodes whose bits are set in a mask of ``unsigned long`` words."""
    nodes = set()
    for index, word in enumerate(words):
        word &= _LONG_MASK
        while word:
            low = word & -word
            nodes.add(index * BITS_PER_LONG + low.bit_length() - 1)
            word ^= low
    return frozenset(nodes)


def parse_nodelist(text: str) -> list[int]:
    """Read the kernel's list format (``"0-3,5"``; empty = none), ascending.

    >>> parse_nodelist("0-2,5\\n")
    [0, 1, 2, 5]
    """
    result: set[int] = set()
    text = text.strip()
    if not text:
        return []
    for chunk in text.split(","):
        first, sep, last = chunk.partition("-")
        if not first.isdigit() or (sep and not last.isdigit()):
            raise ValueError(f"cannot read {chunk!r} of node list {text!r}")
        low, high = int(first), int(last) if sep else int(first)
        if high < low:
            raise ValueError(f"range {chunk!r} of node list {text!r} runs backwards")
        result.update(range(low, high + 1))
    return sorted(result)


def format_nodelist(nodes: Iterable[int]) -> str:
    """Print nodes in the kernel's list format, runs of 2 or more as ``a-b``.

    >>> format_nodelist([5, 0, 1, 2])
    '0-2,5'
    """
    ordered = sorted(set(nodes))
    chunks: list[str] = []
    start = 0
    for i in range(1, len(ordered) + 1):
        if i == len(ordered) or ordered[i] != ordered[i - 1] + 1:
            low, high = ordered[start], ordered[i - 1]
            chunks.append(str(low) if low == high else f"{low}-{high}")
            start = i
    return ",".join(chunks)
