"""hot-cold: a user-space tiering daemon in the style of DAMOS migrate_hot /
migrate_cold (placement-spec.md section 5).

After each epoch, a page accessed at least ``hot_threshold`` times in each of
the last ``min_age_epochs`` epochs is hot, one accessed at most
``cold_threshold`` times in each of them is cold. Hot pages off the fast node
move to it (hottest first), cold pages on the fast tier move to the slow node
(longest cold first), all within ``quota_pages_per_s``: demotions that make
room for the promotions first, then the promotions, then further demotions
with what is left of the quota.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import EpochStats, Policy, PolicyContext


@dataclass(frozen=True)
class HotColdParams:
    hot_threshold: int = 4              # accesses per epoch: at or above is hot
    cold_threshold: int = 0             # accesses per epoch: at or below is cold
    min_age_epochs: int = 2             # consecutive epochs hot (cold) before a page moves
    quota_pages_per_s: float = 262144.0  # 1 GiB/s of 4 KiB pages, promotions and demotions together
    fast_node: int = -1                 # -1: the fast-tier node of the threads' CPUs
    slow_node: int = -1                 # -1: the first slow-tier node (one tier: the farthest node)
    demote: bool = True                 # False: promote only (migrate_hot alone)

    def __post_init__(self) -> None:
        if self.hot_threshold < 1:
            raise ValueError(f"hot_threshold must be at least 1, got {self.hot_threshold}")
        if not 0 <= self.cold_threshold < self.hot_threshold:
            raise ValueError(f"cold_threshold must be within 0..hot_threshold-1, got {self.cold_threshold}")
        if self.min_age_epochs < 1:
            raise ValueError(f"min_age_epochs must be at least 1, got {self.min_age_epochs}")
        if not self.quota_pages_per_s > 0:
            raise ValueError(f"quota_pages_per_s must be positive, got {self.quota_pages_per_s}")


def pick_nodes(ctx: PolicyContext, fast_node: int, slow_node: int) -> tuple[int, int]:
    """The fast and slow node a tiering policy moves pages between."""
    fast = fast_node if fast_node >= 0 else ctx.preferred_fast_node()
    slow = slow_node if slow_node >= 0 else ctx.default_slow_node(fast)
    for what, nid in (("fast_node", fast), ("slow_node", slow)):
        if nid >= ctx.topology.nr_nodes:
            raise ValueError(f"{what} {nid} does not exist (nodes are 0..{ctx.topology.nr_nodes - 1})")
    if fast == slow:
        raise ValueError(f"fast_node and slow_node are both {fast}")
    return fast, slow


def split_budget(budget: int, promotions: int, demotions: int, free: int) -> tuple[int, int]:
    """How many pages to promote and demote within ``budget``: promotions beyond
    the free room each need a demotion first; what is left goes to demotions.

    >>> split_budget(10, 8, 20, 0)    # no room: pairs
    (5, 5)
    >>> split_budget(10, 8, 20, 100)  # room: all promotions, the rest demotes
    (8, 2)
    """
    promote = min(promotions, budget)
    if promote > free:
        # promote + (promote - free) <= budget, and each extra needs a cold page.
        promote = min(promote, (budget + free) // 2, free + demotions)
    needed = max(0, promote - free)
    demote = min(demotions, budget - promote)
    return promote, max(demote, min(needed, demotions))


def first_by(pages: np.ndarray, key: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` of ``pages`` by ``key``, highest first, ties in the
    order of ``pages``: ``pages[np.argsort(-key, kind="stable")][:k]``, but
    sorting only those ``k`` (the quota keeps them few; the candidates are
    often most of the fast tier).

    >>> first_by(np.array([10, 11, 12, 13, 14, 15]), np.array([1, 5, 3, 5, 0, 3]), 3)
    array([11, 13, 12])
    """
    if k >= len(pages):
        out: np.ndarray = pages[np.argsort(-key, kind="stable")]
        return out
    if k <= 0:
        return pages[:0]
    kth = key[np.argpartition(key, len(key) - k)[len(key) - k]]  # the k-th highest key
    chosen = key > kth
    ties = np.flatnonzero(key == kth)
    chosen[ties[:k - np.count_nonzero(chosen)]] = True
    picked = np.flatnonzero(chosen)
    out = pages[picked[np.argsort(-key[picked], kind="stable")]]
    return out


class HotCold(Policy):
    """DAMOS-style migrate_hot/migrate_cold by access counts, age and quota."""

    name = "hot-cold"
    Params = HotColdParams

    def setup(self, ctx: PolicyContext) -> None:
        self.fast, self.slow = pick_nodes(ctx, self.params.fast_node, self.params.slow_node)
        self.hot_age = np.zeros(ctx.n_pages, dtype=np.int32)
        self.cold_age = np.zeros(ctx.n_pages, dtype=np.int32)

    def on_epoch(self, ctx: PolicyContext, stats: EpochStats) -> None:
        p = self.params
        counts = stats.page_counts
        node = ctx.node
        # Ages in place: +1 where the page is hot (cold) this epoch, 0 elsewhere.
        self.hot_age += 1
        self.hot_age *= counts >= p.hot_threshold
        self.cold_age += 1
        self.cold_age *= (counts <= p.cold_threshold) & (node >= 0)
        budget = ctx.budget(p.quota_pages_per_s)
        if budget <= 0:
            return
        # A hot page was accessed, so it is present (its first touch faulted it in).
        promote = np.flatnonzero((self.hot_age >= p.min_age_epochs) & (node != self.fast))
        demote = np.empty(0, dtype=np.int64)
        if p.demote:
            demote = np.flatnonzero((self.cold_age >= p.min_age_epochs) & (node == self.fast))
        n_promote, n_demote = split_budget(budget, len(promote), len(demote), ctx.free_pages(self.fast))
        if n_demote:
            ctx.migrate(first_by(demote, self.cold_age[demote], n_demote), self.slow)
        if n_promote:
            ctx.migrate(first_by(promote, counts[promote], n_promote), self.fast)
