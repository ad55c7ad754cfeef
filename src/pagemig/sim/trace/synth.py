"""Synthetic traces for tests, examples and benchmarks, from a seeded generator.

Each pattern is a function from a request and an access-index range to the
page, thread and op of every access in that range. Accesses are drawn in
fixed blocks, each from its own generator seeded by (seed, block), so a trace
is generated in bounded memory and the same request gives the same trace
whatever the chunk size. Pages lie in one contiguous range from ``base``; each access touches
an 8-byte word at a 64-byte-aligned offset of its page.

=============  ============================================================
pattern        what it models
=============  ============================================================
``uniform``    every page equally likely
``zipf``       a skewed hot set: page rank k drawn with weight 1/k**skew,
               ranks scattered over the range by a seeded permutation
``phases``     a hot set (``hot_fraction`` of the pages, ``hot_share`` of
               the accesses) that moves to a new window each phase
``scan``       streaming: each thread sweeps its share of the pages in order
``prodcons``   producers write a ring of pages that consumers read
               ``lag`` pages behind (needs at least two threads)
=============  ============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np

from .format import OP_READ, OP_WRITE, AccessBatch, TraceMeta

LINE_SIZE: Final = 64
ACCESS_SIZE: Final = 8
DEFAULT_BASE: Final = 0x7F00_0000_0000
DEFAULT_CHUNK: Final = 1 << 20
BLOCK: Final = 1 << 16  # accesses drawn from one generator


@dataclass(frozen=True, slots=True)
class SynthRequest:
    """What to generate; validated so a bad request fails before any output."""

    pattern: str
    pages: int
    accesses: int
    threads: int = 1
    seed: int = 0
    page_size: int = 4096
    base: int = DEFAULT_BASE
    interval_ns: int = 10
    write_ratio: float = 0.3
    skew: float = 1.0
    hot_fraction: float = 0.1
    hot_share: float = 0.9
    phases: int = 4

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {self.pattern!r} (patterns: {', '.join(PATTERNS)})")
        _at_least("pages", self.pages, 1)
        _at_least("accesses", self.accesses, 1)
        _at_least("threads", self.threads, 1)
        _at_least("interval_ns", self.interval_ns, 1)
        _at_least("phases", self.phases, 1)
        if self.seed < 0:
            raise ValueError(f"seed must not be negative, got {self.seed}")
        if self.page_size < LINE_SIZE or self.page_size & (self.page_size - 1):
            raise ValueError(f"page_size must be a power of two of at least {LINE_SIZE}, "
                             f"got {self.page_size}")
        if self.base < 0 or self.base % self.page_size:
            raise ValueError(f"base must be a page-aligned address, got {self.base:#x}")
        if self.base + self.pages * self.page_size > 1 << 47:
            raise ValueError(f"{self.pages} pages from {self.base:#x} pass the 47-bit user "
                             "address space")
        for name in ("write_ratio", "hot_fraction", "hot_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.skew <= 0:
            raise ValueError(f"skew must be positive, got {self.skew}")
        if self.pattern == "prodcons" and self.threads < 2:
            raise ValueError("prodcons needs at least 2 threads (a producer and a consumer)")

    def meta(self) -> TraceMeta:
        """The trace metadata recording this request."""
        extra = {name: str(getattr(self, name)) for name in (
            "pattern", "pages", "accesses", "threads", "seed", "base", "interval_ns",
            "write_ratio", "skew", "hot_fraction", "hot_share", "phases")}
        return TraceMeta("synth", page_size=self.page_size, time_unit="ns",
                         command=f"trace synth {self.pattern}", extra=extra)


def _at_least(name: str, value: int, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")


# A pattern fills pages, tids and ops for accesses [start, stop).
Columns = tuple[np.ndarray, np.ndarray, np.ndarray]
Pattern = Callable[["_State", int, int], Columns]


class _State:
    """What a pattern draws from: the request, the current block's generator,
    and per-trace tables (the zipf ranks' permutation and CDF)."""

    def __init__(self, request: SynthRequest) -> None:
        self.request = request
        self.permutation = np.random.Generator(np.random.PCG64(request.seed)).permutation(request.pages)
        self.rng = self.block_rng(0)
        self._zipf_cdf: np.ndarray | None = None

    def block_rng(self, block: int) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.request.seed, block])))

    def zipf_cdf(self) -> np.ndarray:
        if self._zipf_cdf is None:
            weights = 1.0 / np.arange(1, self.request.pages + 1, dtype=np.float64) ** self.request.skew
            cdf = np.cumsum(weights)
            self._zipf_cdf = cdf / cdf[-1]
        return self._zipf_cdf

    def random_tids(self, n: int) -> np.ndarray:
        return self.rng.integers(0, self.request.threads, n, dtype=np.uint32)

    def random_ops(self, n: int) -> np.ndarray:
        writes = self.rng.random(n) < self.request.write_ratio
        return np.where(writes, OP_WRITE, OP_READ).astype(np.uint8)


def _uniform(state: _State, start: int, stop: int) -> Columns:
    n = stop - start
    pages = state.rng.integers(0, state.request.pages, n, dtype=np.int64)
    return pages, state.random_tids(n), state.random_ops(n)


def _zipf(state: _State, start: int, stop: int) -> Columns:
    n = stop - start
    ranks = np.searchsorted(state.zipf_cdf(), state.rng.random(n), side="right")
    ranks = np.minimum(ranks, state.request.pages - 1)
    return state.permutation[ranks], state.random_tids(n), state.random_ops(n)


def _phases(state: _State, start: int, stop: int) -> Columns:
    request = state.request
    n = stop - start
    index = np.arange(start, stop, dtype=np.int64)
    phase = index * request.phases // request.accesses
    hot_pages = max(1, int(request.pages * request.hot_fraction))
    window_start = (phase * hot_pages) % request.pages
    hot = state.rng.random(n) < request.hot_share
    in_window = (window_start + state.rng.integers(0, hot_pages, n)) % request.pages
    anywhere = state.rng.integers(0, request.pages, n, dtype=np.int64)
    return np.where(hot, in_window, anywhere), state.random_tids(n), state.random_ops(n)


def _scan(state: _State, start: int, stop: int) -> Columns:
    request = state.request
    index = np.arange(start, stop, dtype=np.int64)
    tids = (index % request.threads).astype(np.uint32)
    step = index // request.threads  # this thread's access number
    lines_per_page = request.page_size // LINE_SIZE
    share = max(1, request.pages // request.threads)
    pages = (tids.astype(np.int64) * share + (step // lines_per_page) % share) % request.pages
    return pages, tids, state.random_ops(stop - start)


def _prodcons(state: _State, start: int, stop: int) -> Columns:
    request = state.request
    index = np.arange(start, stop, dtype=np.int64)
    producers = request.threads // 2
    consumers = request.threads - producers
    slot = index // 2  # accesses alternate: a producer's write, a consumer's read
    consume = (index % 2).astype(bool)
    lag = max(1, request.pages // 2)
    pages = np.where(consume, (slot - lag) % request.pages, slot % request.pages)
    tids = np.where(consume, producers + slot % consumers, slot % producers).astype(np.uint32)
    ops = np.where(consume, OP_READ, OP_WRITE).astype(np.uint8)
    return pages, tids, ops


PATTERNS: Final[dict[str, Pattern]] = {
    "uniform": _uniform, "zipf": _zipf, "phases": _phases, "scan": _scan, "prodcons": _prodcons,
}


def synthesize(request: SynthRequest, chunk: int = DEFAULT_CHUNK) -> Iterator[AccessBatch]:
    """The request's accesses in batches of ``chunk`` rows (rounded up to whole
    blocks of 64 Ki accesses; the last batch may be shorter)."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    state = _State(request)
    blocks_per_batch = -(-chunk // BLOCK)
    nr_blocks = -(-request.accesses // BLOCK)
    for first in range(0, nr_blocks, blocks_per_batch):
        parts = [_block(state, block) for block in range(first, min(first + blocks_per_batch, nr_blocks))]
        yield AccessBatch(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def _block(state: _State, block: int) -> tuple[np.ndarray, ...]:
    """t, vaddr, size, op and tid of the accesses of one block."""
    request = state.request
    start = block * BLOCK
    stop = min(start + BLOCK, request.accesses)
    state.rng = state.block_rng(block)
    pages, tids, ops = PATTERNS[request.pattern](state, start, stop)
    lines_per_page = request.page_size // LINE_SIZE
    offsets = state.rng.integers(0, lines_per_page, stop - start, dtype=np.int64) * LINE_SIZE
    vaddr = (request.base + pages.astype(np.int64) * request.page_size + offsets).astype(np.uint64)
    t = np.arange(start, stop, dtype=np.uint64) * np.uint64(request.interval_ns)
    size = np.full(stop - start, ACCESS_SIZE, dtype=np.uint16)
    return t, vaddr, size, ops, tids
