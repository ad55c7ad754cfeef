"""Grid files: the cells of a sweep, each one ``pagemig sim`` run.

A grid is a TOML file (docs/simulation.md, "Sweeps"; ``examples/sweep/``)::

    trace = ["a.parquet", "b.parquet"]   # paths relative to the grid file
    topology = ["dram-cxl"]
    policy = ["first-touch", "hot-cold"]
    node_memory = "2MiB,16MiB"           # scalars are fixed, lists multiply
    epoch = "10000"
    seed = 0                             # mixed into every cell's seed

    [params.hot-cold]                    # parameters of one policy
    hot_threshold = [2, 4, 8]

    [cost]                               # cost-model figures (lists multiply too)
    slow_tier_latency_ns = [250, 400]

    [[exclude]]                          # drop the cells matching every key
    policy = "hot-cold"
    hot_threshold = 8
    trace = "b.parquet"

    [[include]]                          # add cells: a small grid of its own, whose
    policy = "oracle"                    # missing keys take the grid's values

The cells are the cartesian product of the dimensions (``DIMENSIONS``, then
the policy's parameters, then ``cost``), less the excluded ones, plus the
included ones; two cells with the same key (same parameters and trace
content) are one. Every value is checked before anything runs: a
``GridError`` names the grid file and the key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..sim.run import SimSpec

DIMENSIONS = ("trace", "topology", "policy", "node_memory", "epoch", "profile", "mapping", "threads_on")
DEFAULTS: dict[str, Any] = {"topology": "dram-cxl", "node_memory": None, "epoch": None,
                            "profile": "2.6.35", "mapping": "anon", "threads_on": "spread"}
TABLES = ("params", "cost", "exclude", "include")
PARAM_PREFIX = "param_"
COST_PREFIX = "cost_"

Scalar = str | int | float | bool


class GridError(ValueError):
    """A grid file that cannot run: the message names the file and the key."""


@dataclass(frozen=True)
class TraceRef:
    """A trace of the sweep: its absolute path, content hash and size."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Cell:
    """One run: its options (``spec``, with the derived seed), its trace, the
    values that name it (``values``: the results table's parameter columns)
    and its key (hash of those values with the trace's content hash)."""

    key: str
    spec: SimSpec
    trace: TraceRef
    values: tuple[tuple[str, Any], ...]

    @property
    def seed(self) -> int:
        return self.spec.seed

    def columns(self) -> dict[str, Any]:
        return {"cell": self.key, **dict(self.values), "trace_sha256": self.trace.sha256, "seed": self.seed}


@dataclass(frozen=True)
class Grid:
    """The cells of a grid file, and its text (kept beside the results)."""

    path: Path
    text: str
    cells: tuple[Cell, ...]
    traces: tuple[TraceRef, ...]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def derive_seed(key: str, base: int) -> int:
    """The seed of the cell with key ``key``: a 31-bit number from the key and
    the grid's ``seed``, the same on every run and every machine."""
    digest = hashlib.sha256(f"pagemig-sweep-seed:{base}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF


def cell_key(values: Mapping[str, Any], trace_sha256: str, base_seed: int) -> str:
    """The key of a cell: its parameters (the trace by content, not by name) and the base seed."""
    named = {k: v for k, v in values.items() if k != "trace"}
    text = json.dumps({"trace": trace_sha256, "seed": base_seed, **named}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _Reader:
    """Reads one grid file; ``fail`` raises a GridError naming it and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.resolve().parent
        self._traces: dict[str, TraceRef] = {}
        self._checked: set[tuple[Any, ...]] = set()

    def fail(self, key: str, message: str) -> GridError:
        return GridError(f"{self.path}: {key}: {message}")

    # --- values ------------------------------------------------------------------------

    def values(self, key: str, raw: Any) -> list[Any]:
        """A dimension's values: a list, or a scalar (one value)."""
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise self.fail(key, "an empty list gives no cells")
        for item in items:
            if not isinstance(item, Scalar):
                raise self.fail(key, f"{item!r} is not a string, number or boolean")
        return items

    def text(self, key: str, value: Any) -> str | None:
        """A dimension value as SimSpec's text (numbers allowed where text is)."""
        if value is None:
            return None
        if isinstance(value, bool):
            raise self.fail(key, f"{value!r} is not text")
        return str(value)

    def resolve(self, text: str) -> str:
        """A path relative to the grid file, made absolute."""
        path = Path(text).expanduser()
        return str(path if path.is_absolute() else self.base / path)

    def trace(self, key: str, value: Any) -> TraceRef:
        text = self.text(key, value)
        assert text is not None
        if text not in self._traces:
            path = Path(self.resolve(text))
            if not path.is_file():
                raise self.fail(key, f"{value}: no such trace file ({path})")
            self._traces[text] = TraceRef(str(path), sha256_file(path), path.stat().st_size)
        return self._traces[text]

    def policy_spec(self, text: str) -> str:
        """Paths in a policy (FILE.py:Class, damos:FILE) relative to the grid file."""
        if text.startswith("damos:"):
            return "damos:" + self.resolve(text[len("damos:"):])
        path, sep, cls = text.rpartition(":")
        if sep and path.endswith(".py"):
            return f"{self.resolve(path)}:{cls}"
        return text

    def topology_spec(self, text: str) -> str:
        from ..sim.topology import PRESETS

        return text if text in PRESETS else self.resolve(text)


def param_text(value: Scalar) -> str:
    """A TOML value as the text ``--param`` takes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_grid(path: str | Path) -> Grid:
    """The cells of a grid file; GridError (a ValueError) for anything that
    would not run, before anything runs."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise GridError(f"{path}: no such grid file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise GridError(f"{path}: cannot read the grid: {err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise GridError(f"{path}: not TOML: {err}") from None
    reader = _Reader(path)
    cells = _expand(reader, data)
    return Grid(path, text, tuple(cells), tuple(reader._traces.values()))


def _expand(reader: _Reader, data: dict[str, Any]) -> list[Cell]:
    known = (*DIMENSIONS, "seed", *TABLES)
    for key in data:
        if key not in known:
            raise reader.fail(key, f"unknown key (known: {', '.join(known)})")
    for key in ("trace", "policy"):
        if key not in data:
            raise reader.fail(key, "missing: the grid must name at least one")
    base_seed = data.get("seed", 0)
    if not isinstance(base_seed, int) or isinstance(base_seed, bool):
        raise reader.fail("seed", f"{base_seed!r} is not an integer")
    params = _tables(reader, data, "params", nested=True)
    cost = _tables(reader, data, "cost", nested=False)
    policies = {str(p) for p in reader.values("policy", data["policy"])}
    for name in [str(r.get("policy")) for r in _rules(reader, data, "include") if "policy" in r]:
        policies.update(str(p) for p in reader.values("include.policy", name))
    for name in params:
        if name not in policies:
            raise reader.fail(f"params.{name}", f"policy {name!r} is not in the grid's policies "
                                                f"({', '.join(sorted(policies))})")
    excludes = _rules(reader, data, "exclude")
    names = {p for table in params.values() for p in table}
    for i, rule in enumerate(excludes):
        for key in rule:
            if key not in DIMENSIONS and key not in names and key[len("cost."):] not in cost:
                raise reader.fail(f"exclude[{i}].{key}", "not a dimension, a parameter in [params] "
                                                         "or a cost.NAME in [cost]")
    cells: dict[str, Cell] = {}
    for raw in _combinations(reader, data, params, cost):
        if not any(_matches(rule, raw) for rule in excludes):
            _add(reader, cells, raw, base_seed)
    for i, rule in enumerate(_rules(reader, data, "include")):
        include = {k: v for k, v in data.items() if k in DIMENSIONS}
        include_params = {name: dict(values) for name, values in params.items()}
        include_cost = dict(cost)
        include.update({k: v for k, v in rule.items() if k in DIMENSIONS})
        for key, value in rule.items():
            if key in DIMENSIONS:
                continue
            if key.startswith("cost."):
                include_cost[key[len("cost."):]] = reader.values(f"include[{i}].{key}", value)
            else:
                for name in reader.values("policy", include.get("policy", [])):
                    values = reader.values(f"include[{i}].{key}", value)
                    include_params.setdefault(str(name), {})[key] = values
        for raw in _combinations(reader, include, include_params, include_cost, where=f"include[{i}]."):
            _add(reader, cells, raw, base_seed)
    if not cells:
        raise reader.fail("exclude", "every cell is excluded")
    return list(cells.values())


def _tables(reader: _Reader, data: dict[str, Any], key: str, nested: bool) -> dict[str, Any]:
    raw = data.get(key, {})
    if not isinstance(raw, dict):
        raise reader.fail(key, "must be a table")
    if not nested:
        return {name: reader.values(f"{key}.{name}", value) for name, value in raw.items()}
    out: dict[str, dict[str, list[Any]]] = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise reader.fail(f"{key}.{name}", "must be a table of parameters")
        out[name] = {p: reader.values(f"{key}.{name}.{p}", v) for p, v in table.items()}
    return out


def _rules(reader: _Reader, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    raw = data.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise reader.fail(key, f"must be an array of tables ([[{key}]])")
    for i, rule in enumerate(raw):
        if not rule:
            raise reader.fail(f"{key}[{i}]", "an empty rule")
        for name, value in rule.items():
            reader.values(f"{key}[{i}].{name}", value)
    return raw


def _combinations(reader: _Reader, dims: Mapping[str, Any], params: Mapping[str, Mapping[str, list[Any]]],
                  cost: Mapping[str, list[Any]], where: str = "") -> Iterator[dict[str, Any]]:
    """Every combination of the dimensions, the policy's parameters and the cost figures."""
    axes = [(k, reader.values(where + k, dims[k]) if k in dims else [DEFAULTS[k]]) for k in DIMENSIONS]
    cost_axes = sorted(cost.items())
    for combo in itertools.product(*(values for _, values in axes)):
        raw = dict(zip((k for k, _ in axes), combo, strict=True))
        policy_params = sorted(params.get(str(raw["policy"]), {}).items())
        for pvalues in itertools.product(*(v for _, v in policy_params)):
            for cvalues in itertools.product(*(v for _, v in cost_axes)):
                yield (raw | {PARAM_PREFIX + k: v for (k, _), v in zip(policy_params, pvalues, strict=True)}
                       | {COST_PREFIX + k: v for (k, _), v in zip(cost_axes, cvalues, strict=True)})


def _matches(rule: Mapping[str, Any], raw: Mapping[str, Any]) -> bool:
    """A cell matches a rule when it has every key of the rule with one of its values."""
    for key, value in rule.items():
        column = key if key in DIMENSIONS else (
            COST_PREFIX + key[len("cost."):] if key.startswith("cost.") else PARAM_PREFIX + key)
        allowed = value if isinstance(value, list) else [value]
        if column not in raw or not any(_same(raw[column], a) for a in allowed):
            return False
    return True


def _same(a: Any, b: Any) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _add(reader: _Reader, cells: dict[str, Cell], raw: dict[str, Any], base_seed: int) -> None:
    trace = reader.trace("trace", raw["trace"])
    params = tuple((k[len(PARAM_PREFIX):], param_text(v)) for k, v in raw.items()
                   if k.startswith(PARAM_PREFIX))
    cost = tuple((k[len(COST_PREFIX):], param_text(v)) for k, v in raw.items()
                 if k.startswith(COST_PREFIX))
    spec = SimSpec(topology=reader.topology_spec(str(raw["topology"])),
                   policy=reader.policy_spec(str(raw["policy"])), params=params, cost=cost,
                   profile=str(raw["profile"]), epoch=reader.text("epoch", raw["epoch"]),
                   threads_on=str(raw["threads_on"]),
                   node_memory=reader.text("node_memory", raw["node_memory"]),
                   mapping=str(raw["mapping"]))
    _check(reader, spec, trace, raw)
    values = {k: (str(v) if k in DIMENSIONS and v is not None else v) for k, v in raw.items()}
    key = cell_key(values, trace.sha256, base_seed)
    if key not in cells:
        cells[key] = Cell(key, replace(spec, seed=derive_seed(key, base_seed)), trace, tuple(values.items()))


def _check(reader: _Reader, spec: SimSpec, trace: TraceRef, raw: Mapping[str, Any]) -> None:
    """Build what the cell's run would build (machine options, policy, cost
    model, epochs against the trace), once per distinct combination."""
    from ..sim.replay import SimulationError
    from ..sim.trace import TraceError

    parts: list[tuple[tuple[str, ...], str, Any]] = [
        (("policy", "params"), "policy", lambda: spec.make_policy()),
        (("topology", "node_memory"), "topology", lambda: spec.make_topology()),
        (("cost",), "cost", lambda: spec.make_cost()),
        (("trace", "topology", "node_memory", "epoch", "profile", "mapping", "threads_on"), "trace",
         lambda: _validate_machine(spec, trace)),
    ]
    for fields, key, build in parts:
        ident = (key, *(getattr(spec, f) if f != "trace" else trace.path for f in fields))
        if ident in reader._checked:
            continue
        try:
            build()
        except (ValueError, TypeError, TraceError, SimulationError) as err:
            raise reader.fail(_blame(key, raw, str(err)), str(err)) from None
        reader._checked.add(ident)


def _validate_machine(spec: SimSpec, trace: TraceRef) -> None:
    from ..sim.policies import FirstTouch
    from ..sim.replay import Simulation

    Simulation(trace.path, spec.make_topology(), FirstTouch(), spec.make_config(),
               spec.make_cost()).validate()


def _blame(part: str, raw: Mapping[str, Any], message: str) -> str:
    """The grid key an error is about (a parameter it names, else the part)."""
    if part == "policy":
        for key in raw:
            if key.startswith(PARAM_PREFIX) and key[len(PARAM_PREFIX):] in message:
                return f"params.{raw['policy']}.{key[len(PARAM_PREFIX):]}"
        return "policy"
    if part == "cost":
        for key in raw:
            if key.startswith(COST_PREFIX) and key[len(COST_PREFIX):] in message:
                return f"cost.{key[len(COST_PREFIX):]}"
        return "cost"
    if part == "topology":
        return "node_memory" if "node_memory" in message else "topology"
    for key in ("epoch", "threads_on", "mapping", "profile", "node_memory"):
        if key.replace("_", "") in message.replace("_", "").replace(" ", ""):
            return key
    return "trace"


def parameter_columns(cells: Iterable[Cell]) -> list[str]:
    """The parameter columns of these cells, in grid order."""
    seen: dict[str, None] = {}
    for cell in cells:
        for key, _ in cell.values:
            seen.setdefault(key, None)
    return list(seen)
