"""Small traces for the simulation tests, built with numpy and TraceWriter."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pagemig.sim.replay import Simulation
from pagemig.sim.trace import AccessBatch, TraceMeta, TraceWriter

BASE = 0x10000000


def write_trace(path: Path, pages: np.ndarray, t: np.ndarray | None = None,
                tid: np.ndarray | None = None, base: int = BASE, time_unit: str = "ns") -> Path:
    """A trace of one 8-byte read of each page number in ``pages``, in order."""
    n = len(pages)
    vaddr = (base + np.asarray(pages, dtype=np.uint64) * 4096 + 8).astype(np.uint64)
    with TraceWriter(path, TraceMeta("synth", time_unit=time_unit)) as writer:
        writer.write(AccessBatch(t=np.arange(n, dtype=np.uint64) if t is None else t, vaddr=vaddr,
                                 size=np.full(n, 8), op=np.zeros(n),
                                 tid=np.zeros(n) if tid is None else tid))
    return path


def zipf_trace(path: Path, accesses: int = 20000, pages: int = 512, seed: int = 1,
               threads: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    page = np.minimum(rng.zipf(1.2, accesses) - 1, pages - 1)
    tid = (rng.integers(0, threads, accesses) + 100) if threads > 1 else None
    return write_trace(path, page, tid=tid)


def check(sim: Simulation) -> None:
    """The kept node array agrees with the model, and the model's invariants hold."""
    assert sim.mismatches() == []
    sim.machine.check()
