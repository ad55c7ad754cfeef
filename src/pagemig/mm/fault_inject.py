"""Model of lib/fault-inject.c: failures injected by name.

A rule names a fault point ("alloc_page", "trylock_page", ...), optional
attribute filters (``node=1``), how many times it fires (``times``), how many
matching calls it lets pass first (``space``, as the kernel's knob) and a
probability drawn from the machine's seeded generator. Code at a fault point
asks ``should_fail(name, **attrs)``; with no rules that is one truth test.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# The fault points the model consults, each only where the kernel can fail;
# docs/fault-injection.md says where each fires and which failure it stands for.
FAULT_POINTS: dict[str, str] = {
    "alloc_page": "page allocation fails (attrs: node, gfp, order)",
    "trylock_page": "trylock_page finds the page locked by another task; never for a page"
                    " only its allocator knows, as migration's new page (attrs: pfn)",
    "writepage": "ext2's or vfat's writepage fails with -EIO (attrs: path, index)",
    "readpage": "ext2's or vfat's readpage fails: the page stays !Uptodate; ramfs's cannot"
                " (attrs: path, index)",
    "memcg_charge": "a memory cgroup charge fails; not 6.1's migration charge (attrs: memcg)",
}


@dataclass
class FaultRule:
    name: str
    filters: dict[str, object]
    times: int | None = None
    space: int = 0
    probability: float = 1.0
    hits: int = 0
    passed: int = field(default=0)

    def matches(self, attrs: dict[str, object]) -> bool:
        return all(attrs.get(key) == want for key, want in self.filters.items())

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


class FaultInjector:
    """The set of active injection rules of one machine."""

    def __init__(self, rng: random.Random) -> None:
        self.rules: list[FaultRule] = []
        self.rng = rng
        self.log: list[tuple[str, dict[str, object]]] = []

    # ``probability`` defaults to None (certain) rather than 1.0: mypyc 2.4 fails
    # (ValueError in get_text_signature) on a float argument with a default
    # followed by an argument without one, here ``**filters``.
    def add(self, name: str, *, times: int | None = None, space: int = 0,
            probability: float | None = None, **filters: object) -> FaultRule:
        if probability is None:
            probability = 1.0
        if name not in FAULT_POINTS:
            known = ", ".join(sorted(FAULT_POINTS))
            raise ValueError(f"unknown fault point {name!r} (known: {known})")
        if times is not None and times < 0:
            raise ValueError(f"times must be >= 0, got {times}")
        if space < 0:
            raise ValueError(f"space must be >= 0, got {space}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {probability}")
        rule = FaultRule(name, filters, times, space, probability)
        self.rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        self.rules.remove(rule)

    @contextmanager
    def inject(self, name: str, **kwargs: object) -> Iterator[FaultRule]:
        rule = self.add(name, **kwargs)  # type: ignore[arg-type]
        try:
            yield rule
        finally:
            if rule in self.rules:
                self.rules.remove(rule)

    def should_fail(self, name: str, attrs: dict[str, object]) -> bool:
        for rule in self.rules:
            if rule.name != name or rule.exhausted or not rule.matches(attrs):
                continue
            if rule.passed < rule.space:
                rule.passed += 1
                continue
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            rule.hits += 1
            self.log.append((name, attrs))
            return True
        return False
