"""damos: DAMOS schemes from damo's JSON, for the migrate_hot and migrate_cold
actions (Linux 6.11+; on older kernels a user-space daemon does the same with
move_pages, which is what this policy is).

The file is what ``damo`` reads and writes (src/_damon.py of awslabs/damo:
``Damos.from_kvpairs``): a list of schemes, or ``{"schemes": [...]}``, or a
full ``{"kdamonds": [{"contexts": [{"schemes": [...]}]}]}``. Each scheme::

    {"action": "migrate_hot", "target_nid": 0,
     "access_pattern": {"sz_bytes": {"min": "4KiB", "max": "max"},
                        "nr_accesses": {"min": "50 %", "max": "max"},   # or "5 samples"
                        "age": {"min": "20ms", "max": "max"}},          # or "2 aggr_intervals"
     "quotas": {"time_ms": 0, "sz_bytes": "1GiB", "reset_interval_ms": "1s"}}

How DAMON's terms map onto a replay: an epoch is one aggregation interval
made of ``samples_per_epoch`` sampling intervals (DAMON's defaults, 5 ms
sampling and 100 ms aggregation, give 20); a page's ``nr_accesses`` in
samples is ``min(count, samples_per_epoch)`` (each access is counted as if it
fell in its own sampling interval) and in percent that over
``samples_per_epoch``; a page's age is the number of consecutive epochs in
which it matched the scheme's ``nr_accesses`` range; ``sz_bytes`` applies to
runs of adjacent matching pages (DAMON's regions). Quotas: ``sz_bytes`` per
``reset_interval_ms`` and ``time_ms`` (at the cost model's migration time per
page) per ``reset_interval_ms``, whichever is smaller; 0 means no limit.
Matching pages already on ``target_nid`` or never touched are skipped; hot
pages go first for migrate_hot, cold and old ones first for migrate_cold.
Actions other than the two migrations, watermarks and filters are ignored.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .base import EpochStats, Policy, PolicyContext

_ULONG_MAX = 2**64 - 1
_BYTES = {"B": 1, "K": 1 << 10, "KB": 1 << 10, "KiB": 1 << 10, "M": 1 << 20, "MB": 1 << 20,
          "MiB": 1 << 20, "G": 1 << 30, "GB": 1 << 30, "GiB": 1 << 30, "T": 1 << 40, "TB": 1 << 40,
          "TiB": 1 << 40}
_NS = {"ns": 1, "us": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def _number(text: Any) -> float:
    if isinstance(text, bool):
        raise ValueError(text)
    if isinstance(text, (int, float)):
        return float(text)
    return float(str(text).replace(",", ""))


def _bytes(text: Any) -> float:
    """damo's text_to_bytes: min, max, a number, or a number with a unit."""
    if text == "min":
        return 0
    if text == "max":
        return _ULONG_MAX
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip()
    for unit in sorted(_BYTES, key=len, reverse=True):
        if s.endswith(unit):
            return _number(s[: -len(unit)]) * _BYTES[unit]
    return _number(s)


def _ns(text: Any, default_unit_ns: float) -> float:
    """damo's text_to_ns family: min, max, a number (in the default unit), or with a unit."""
    if text == "min":
        return 0
    if text == "max":
        return math.inf
    if isinstance(text, (int, float)):
        return float(text) * default_unit_ns
    s = str(text).strip()
    for unit in ("ns", "us", "ms", "s", "m", "h"):
        if s.endswith(unit) and not s.endswith("aggr_intervals"):
            try:
                return _number(s[: -len(unit)]) * _NS[unit]
            except ValueError:
                continue
    return _number(s) * default_unit_ns


@dataclass(frozen=True)
class Scheme:
    """One migrate_hot/migrate_cold scheme, in replay units."""

    action: str
    target_nid: int
    sz_min_bytes: float
    sz_max_bytes: float
    nr_min_percent: float
    nr_max_percent: float
    age_min_ns: float            # age bounds in ns, or in epochs when given in aggr_intervals
    age_max_ns: float
    age_in_epochs: bool
    quota_sz_bytes: float
    quota_time_ms: float
    reset_interval_ms: float


def _nr_accesses(text: Any, samples_per_epoch: int) -> float:
    """A bound of nr_accesses as a percentage of the epoch's samples."""
    if text == "min":
        return 0.0
    if text == "max":
        return 100.0
    s = str(text).strip()
    if s.endswith("samples"):
        return 100.0 * _number(s[: -len("samples")]) / samples_per_epoch
    if s.endswith("%"):
        s = s[:-1]
    return _number(s)


def _age(text: Any) -> tuple[float, bool]:
    if isinstance(text, str) and text.strip().endswith("aggr_intervals"):
        return _number(text.strip()[: -len("aggr_intervals")]), True
    return _ns(text, 1000.0), False  # damo's age unit is usec


def parse_schemes(data: Any, samples_per_epoch: int) -> list[Scheme]:
    """The migrate_hot/migrate_cold schemes of a damo scheme JSON document."""
    if isinstance(data, dict) and "kdamonds" in data:
        data = [s for k in data["kdamonds"] for c in k.get("contexts", []) for s in c.get("schemes", [])]
    elif isinstance(data, dict) and "schemes" in data:
        data = data["schemes"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError("expected a list of DAMOS schemes")
    schemes = []
    for i, raw in enumerate(data):
        if not isinstance(raw, dict):
            raise ValueError(f"scheme {i} is not a JSON object")
        action = raw.get("action", "stat")
        if action not in ("migrate_hot", "migrate_cold"):
            continue
        if raw.get("target_nid") is None:
            raise ValueError(f"scheme {i} ({action}) has no target_nid")
        pattern = raw.get("access_pattern", {})
        sz = pattern.get("sz_bytes", {"min": "min", "max": "max"})
        nr = pattern.get("nr_accesses", {"min": "min", "max": "max"})
        age = pattern.get("age", {"min": "min", "max": "max"})
        age_min, in_epochs = _age(age.get("min", "min"))
        age_max, in_epochs_max = _age(age.get("max", "max"))
        quotas = raw.get("quotas", {})
        schemes.append(Scheme(
            action, int(raw["target_nid"]), _bytes(sz.get("min", "min")), _bytes(sz.get("max", "max")),
            _nr_accesses(nr.get("min", "min"), samples_per_epoch),
            _nr_accesses(nr.get("max", "max"), samples_per_epoch),
            age_min, age_max, in_epochs or in_epochs_max,
            _bytes(quotas.get("sz_bytes", 0)), _ns(quotas.get("time_ms", 0), 10**6) / 10**6,
            _ns(quotas.get("reset_interval_ms", "max"), 10**6) / 10**6))
    if not schemes:
        raise ValueError("no migrate_hot or migrate_cold scheme")
    return schemes


@dataclass(frozen=True)
class DamosParams:
    schemes: str = ""           # path of damo's scheme JSON
    samples_per_epoch: int = 20  # sampling intervals per aggregation interval (DAMON: 100 ms / 5 ms)

    def __post_init__(self) -> None:
        if not self.schemes:
            raise ValueError("damos needs a scheme file: --policy damos:FILE or --param schemes=FILE")
        if self.samples_per_epoch < 1:
            raise ValueError(f"samples_per_epoch must be at least 1, got {self.samples_per_epoch}")


def load_schemes(path: str, samples_per_epoch: int) -> list[Scheme]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: no such scheme file") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read DAMOS schemes: {err}") from None
    try:
        return parse_schemes(data, samples_per_epoch)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: {err}") from None


class Damos(Policy):
    """damo's migrate_hot/migrate_cold schemes applied after each epoch."""

    name = "damos"
    Params = DamosParams

    def setup(self, ctx: PolicyContext) -> None:
        self.schemes = load_schemes(self.params.schemes, self.params.samples_per_epoch)
        for s in self.schemes:
            if not 0 <= s.target_nid < ctx.topology.nr_nodes:
                raise ValueError(f"{self.params.schemes}: target_nid {s.target_nid} does not exist")
        self.ages = [np.zeros(ctx.n_pages, dtype=np.int32) for _ in self.schemes]
        self.carry = [0.0] * len(self.schemes)

    def _quota_pages(self, ctx: PolicyContext, i: int) -> int:
        s = self.schemes[i]
        limits = []
        interval_s = s.reset_interval_ms / 1000
        if s.quota_sz_bytes and math.isfinite(interval_s) and interval_s > 0:
            limits.append(s.quota_sz_bytes / 4096 / interval_s * ctx.epoch_s)
        if s.quota_time_ms and math.isfinite(interval_s) and interval_s > 0:
            per_page_ms = ctx.cost.params.migration_page_ns / 1e6
            limits.append(s.quota_time_ms / per_page_ms / interval_s * ctx.epoch_s)
        if not limits:
            return ctx.n_pages
        allowed = min(limits) + self.carry[i]
        pages = int(allowed)
        self.carry[i] = allowed - pages
        return pages

    def on_epoch(self, ctx: PolicyContext, stats: EpochStats) -> None:
        samples = self.params.samples_per_epoch
        percent = np.minimum(stats.page_counts, samples) * (100.0 / samples)
        epoch_ns = ctx.epoch_s * 1e9
        for i, s in enumerate(self.schemes):
            freq = (percent >= s.nr_min_percent) & (percent <= s.nr_max_percent)
            self.ages[i] = np.where(freq, self.ages[i] + 1, 0).astype(np.int32)
            age = self.ages[i] if s.age_in_epochs else self.ages[i] * epoch_ns
            match = freq & (age >= s.age_min_ns) & (age <= s.age_max_ns)
            match = _regions_within(match, s.sz_min_bytes, s.sz_max_bytes)
            node = ctx.node
            pages = np.flatnonzero(match & (node >= 0) & (node != s.target_nid))
            if not len(pages):
                continue
            if s.action == "migrate_hot":
                pages = pages[np.argsort(-stats.page_counts[pages], kind="stable")]
            else:
                order = np.lexsort((-self.ages[i][pages], stats.page_counts[pages]))
                pages = pages[order]
            quota = self._quota_pages(ctx, i)
            if quota > 0:
                ctx.migrate(pages[:quota], s.target_nid)


def _regions_within(match: np.ndarray, min_bytes: float, max_bytes: float) -> np.ndarray:
    """``match`` keeping only runs of adjacent matching pages whose size in bytes
    lies within [min_bytes, max_bytes] (DAMON's regions)."""
    if min_bytes <= 4096 and max_bytes >= len(match) * 4096:
        return match
    padded = np.concatenate(([False], match, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, ends = edges[::2], edges[1::2]
    sizes = (ends - starts) * 4096
    keep = (sizes >= min_bytes) & (sizes <= max_bytes)
    delta = np.zeros(len(match) + 1, dtype=np.int32)
    np.add.at(delta, starts[keep], 1)
    np.add.at(delta, ends[keep], -1)
    return np.cumsum(delta[:-1]) > 0
