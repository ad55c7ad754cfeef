"""oracle: knows each epoch's accesses before it runs (an upper bound, never a
real policy; placement-spec.md section 5).

Before each epoch it sees that epoch's per-page counts and, within the same
quota as hot-cold (``quota_pages_per_s``), places the pages the epoch will use
most on the fast node: first into free room, then by swapping a fast-node page
the epoch will use least for a slow page it will use more (a demotion and a
promotion per swap, each swap a gain). Pages the epoch touches for the first
time do not exist yet and are left to the mempolicy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import EpochStats, Policy, PolicyContext
from .hotcold import pick_nodes


@dataclass(frozen=True)
class OracleParams:
    quota_pages_per_s: float = 262144.0  # the same default budget as hot-cold
    fast_node: int = -1
    slow_node: int = -1

    def __post_init__(self) -> None:
        if not self.quota_pages_per_s > 0:
            raise ValueError(f"quota_pages_per_s must be positive, got {self.quota_pages_per_s}")


class Oracle(Policy):
    """Ideal placement of each coming epoch's hot set within the migration budget."""

    name = "oracle"
    Params = OracleParams
    lookahead = True

    def setup(self, ctx: PolicyContext) -> None:
        self.fast, self.slow = pick_nodes(ctx, self.params.fast_node, self.params.slow_node)

    def before_epoch(self, ctx: PolicyContext, stats: EpochStats) -> None:
        budget = ctx.budget(self.params.quota_pages_per_s)
        if budget <= 0:
            return
        counts = stats.page_counts
        node = ctx.node
        up = np.flatnonzero((node >= 0) & (node != self.fast) & (counts > 0))
        up = up[np.argsort(-counts[up], kind="stable")]
        down = np.flatnonzero(node == self.fast)
        down = down[np.argsort(counts[down], kind="stable")]
        free = ctx.free_pages(self.fast)
        into_room = min(len(up), budget, free)
        rest = up[into_room:]
        pairs = min(len(rest), len(down), (budget - into_room) // 2)
        # up is by count descending and down ascending: the swaps that gain form a prefix.
        swaps = int(np.count_nonzero(counts[rest[:pairs]] > counts[down[:pairs]]))
        if swaps:
            ctx.migrate(down[:swaps], self.slow)
        if into_room + swaps:
            ctx.migrate(up[:into_room + swaps], self.fast)
