"""A custom placement policy for `pagemig sim`: after each epoch, move the
``top_pages`` most accessed pages that are off the fast node to it, and as many
of the least accessed fast-node pages to the slow node.

    pagemig trace synth zipf --pages 4096 --accesses 200000 -o zipf.parquet
    pagemig sim zipf.parquet --topology dram-cxl --node-memory 8MiB,64MiB \
        --policy examples/sim/top_pages.py:TopPages --param top_pages=64
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pagemig.sim.policies import EpochStats, Policy, PolicyContext


@dataclass(frozen=True)
class TopPagesParams:
    top_pages: int = 32  # pages promoted (and demoted) per epoch

    def __post_init__(self) -> None:
        if self.top_pages < 1:
            raise ValueError(f"top_pages must be at least 1, got {self.top_pages}")


class TopPages(Policy):
    """Swap the epoch's hottest slow pages with its coldest fast pages."""

    name = "top-pages"
    Params = TopPagesParams

    def setup(self, ctx: PolicyContext) -> None:
        self.fast = ctx.preferred_fast_node()
        self.slow = ctx.default_slow_node(self.fast)

    def on_epoch(self, ctx: PolicyContext, stats: EpochStats) -> None:
        counts, node = stats.page_counts, ctx.node
        up = np.flatnonzero((node >= 0) & (node != self.fast) & (counts > 0))
        up = up[np.argsort(-counts[up], kind="stable")][: self.params.top_pages]
        down = np.flatnonzero(node == self.fast)
        down = down[np.argsort(counts[down], kind="stable")][: len(up)]
        if len(down):
            ctx.migrate(down, self.slow)   # make room first
        if len(up):
            ctx.migrate(up, self.fast)
