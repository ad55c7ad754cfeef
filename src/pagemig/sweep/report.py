"""A sweep's report: comparison tables, a Pareto plot, per-parameter
sensitivity plots, and one self-contained HTML page.

All of it is computed from ``results.parquet`` (rows with ``status = ok``):

* ``best_rows``: per trace and topology, the cell with the best ``metric``
  (lowest modelled time by default; highest for a ratio);
* ``policy_rows``: per trace, topology and policy, that policy's best cell;
* ``pareto``: local ratio (y) against migrations attempted (x, symlog) of
  every cell, one colour per policy, and the Pareto front of each trace and
  topology (no other cell has a higher ratio with as few migrations);
* ``sensitivity``: for each parameter (``param_*``, ``cost_*``) that takes
  more than one value, the local ratio and the migrations against it, one
  line per policy, trace and topology (means over the other parameters).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..sim.plots import DPI, FIG_SIZE_IN
from .grid import COST_PREFIX, PARAM_PREFIX

METRICS = {  # column: True when higher is better
    "modelled_time_s_total": False,
    "local_ratio": True,
    "fast_tier_ratio": True,
    "migrations_attempted": False,
}


def load_rows(out_dir: Path) -> list[dict[str, Any]]:
    """The rows of ``out_dir/results.parquet``; ValueError when there is none."""
    import pyarrow.parquet as pq

    path = out_dir / "results.parquet"
    if not path.is_file():
        raise ValueError(f"{path}: no such file (run pagemig sweep GRID --out {out_dir} first)")
    try:
        rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    except Exception as err:  # pyarrow's errors have no common base
        raise ValueError(f"{path}: cannot read: {err}") from None
    return rows


def ok_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("status") == "ok"]


def parameters(rows: list[dict[str, Any]]) -> list[str]:
    """The policy-parameter and cost columns of the table."""
    return [k for k in (rows[0] if rows else {}) if k.startswith((PARAM_PREFIX, COST_PREFIX))]


def config(row: dict[str, Any]) -> str:
    """A cell's policy and the parameters it was given, e.g. ``hot-cold hot_threshold=4``."""
    values = [f"{k.removeprefix(PARAM_PREFIX)}={_text(v)}" for k, v in row.items()
              if k.startswith(PARAM_PREFIX) and v is not None]
    values += [f"{k.removeprefix(COST_PREFIX)}={_text(v)}" for k, v in row.items()
               if k.startswith(COST_PREFIX) and v is not None]
    return " ".join([str(row["policy"]), *values])


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _best(rows: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    higher = METRICS[metric]
    return sorted(rows, key=lambda r: (-r[metric] if higher else r[metric], config(r)))[0]


def _groups(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    out: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[tuple(row[k] for k in keys)].append(row)
    return dict(out)


def best_rows(rows: list[dict[str, Any]], metric: str = "modelled_time_s_total") -> list[dict[str, Any]]:
    """Per trace and topology, the best cell (see the module docstring)."""
    return [_best(group, metric) for _, group in sorted(_groups(ok_rows(rows), "trace", "topology").items())]


def policy_rows(rows: list[dict[str, Any]], metric: str = "modelled_time_s_total") -> list[dict[str, Any]]:
    """Per trace, topology and policy, the policy's best cell."""
    groups = _groups(ok_rows(rows), "trace", "topology", "policy")
    return [_best(group, metric) for _, group in sorted(groups.items())]


def table_header() -> list[str]:
    return ["trace", "topology", "policy and parameters", "local", "fast tier",
            "migrations", "failed", "time (ms)"]


def table_values(row: dict[str, Any]) -> list[Any]:
    return [row["trace"], row["topology"], config(row), row["local_ratio"], row["fast_tier_ratio"],
            row["migrations_attempted"], row["migrations_failed"], row["modelled_time_s_total"] * 1e3]


def _figure(ncols: int = 1) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIG_SIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, ncols)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats: as few or fewer migrations (x) and a
    higher ratio (y), or fewer migrations and as high a ratio; by x."""
    front: list[tuple[float, float]] = []
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or y > front[-1][1]:
            front.append((x, y))
    return front


def pareto(rows: list[dict[str, Any]]) -> Any:
    """Local ratio against migrations attempted, per policy, with each trace and
    topology's Pareto front."""
    fig, ax = _figure()
    good = ok_rows(rows)
    colours = _colours(sorted({r["policy"] for r in good}))
    groups = _groups(good, "trace", "topology")
    markers = "osD^v<>ph*"
    for gi, (group_key, group) in enumerate(sorted(groups.items())):
        marker = markers[gi % len(markers)]
        for policy, members in sorted(_groups(group, "policy").items()):
            label = policy[0] if len(groups) == 1 else f"{policy[0]} ({group_key[0]}, {group_key[1]})"
            ax.scatter([r["migrations_attempted"] for r in members], [r["local_ratio"] for r in members],
                       color=colours[policy[0]], marker=marker, s=36, alpha=0.85, label=label, zorder=3)
        front = pareto_front([(r["migrations_attempted"], r["local_ratio"]) for r in group])
        ax.step([p[0] for p in front], [p[1] for p in front], where="post", color="0.45", linestyle="--",
                linewidth=1, zorder=2, label="Pareto front" if gi == 0 else None)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("migrations attempted (pages, symlog)")
    ax.set_ylabel("local ratio")
    ax.set_title("Local ratio against migrations, by policy")
    ax.grid(True, alpha=0.3)
    if good:
        ax.legend(loc="best", fontsize="small")
    else:
        ax.text(0.5, 0.5, "no cell succeeded", transform=ax.transAxes, ha="center", va="center")
    return fig


def _colours(names: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {name: cmap(i % 10) for i, name in enumerate(names)}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def sensitivity(rows: list[dict[str, Any]], column: str) -> Any:
    """Local ratio and migrations against one parameter (see the module docstring)."""
    fig, (left, right) = _figure(2)
    good = [r for r in ok_rows(rows) if r.get(column) is not None]
    values = sorted({r[column] for r in good}, key=lambda v: (_number(v) is None, _number(v) or 0, str(v)))
    numeric = all(_number(v) is not None for v in values)
    position = {v: (_number(v) if numeric else i) for i, v in enumerate(values)}
    lines = _groups(good, "policy", "trace", "topology")
    colours = _colours([f"{k[0]} ({k[1]}, {k[2]})" for k in sorted(lines)])
    for key, members in sorted(lines.items()):
        label = key[0] if len({k[1:] for k in lines}) == 1 else f"{key[0]} ({key[1]}, {key[2]})"
        by_value = _groups(members, column)
        xs = sorted(by_value, key=lambda v: position[v[0]] or 0.0)
        x = [position[v[0]] for v in xs]
        colour = colours[f"{key[0]} ({key[1]}, {key[2]})"]
        for ax, metric in ((left, "local_ratio"), (right, "migrations_attempted")):
            y = [sum(r[metric] for r in by_value[v]) / len(by_value[v]) for v in xs]
            ax.plot(x, y, marker="o", color=colour, label=label)
    name = column.removeprefix(PARAM_PREFIX) if column.startswith(PARAM_PREFIX) else (
        "cost " + column.removeprefix(COST_PREFIX))
    for ax, ylabel in ((left, "local ratio"), (right, "migrations attempted (pages)")):
        ax.set_xlabel(name)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if not numeric:
            ax.set_xticks(list(range(len(values))), [str(v) for v in values])
        elif _log_spaced([position[v] for v in values]):
            ax.set_xscale("log")
    left.legend(loc="best", fontsize="small")
    fig.suptitle(f"Sensitivity to {name} (means over the other parameters)")
    return fig


def _log_spaced(xs: list[float | None]) -> bool:
    """Values spread over two decades or more, all positive: a log axis reads better."""
    vals = [x for x in xs if x is not None]
    return len(vals) > 1 and min(vals) > 0 and math.log10(max(vals) / min(vals)) >= 2


def sensitive_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Parameters that take more than one value among the cells that succeeded."""
    good = ok_rows(rows)
    return [c for c in parameters(rows) if len({r[c] for r in good if r.get(c) is not None}) > 1]


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Every plot of the report, by file stem: ``pareto``, ``sensitivity-NAME``."""
    out = {"pareto": pareto(rows)}
    for column in sensitive_columns(rows):
        name = (column.removeprefix(PARAM_PREFIX) if column.startswith(PARAM_PREFIX)
                else "cost-" + column.removeprefix(COST_PREFIX))
        out[f"sensitivity-{name}"] = sensitivity(rows, column)
    return out


def html_report(rows: list[dict[str, Any]], plots: dict[str, bytes], grid_text: str, source: str,
                metric: str) -> str:
    """The sweep's page: the grid, counts, the comparison tables and every plot."""
    import html as _html

    from ..sim.html import Section, image, page, table

    failed = [r for r in rows if r.get("status") != "ok"]
    counts = table(["cells", "succeeded", "failed"], [[len(rows), len(rows) - len(failed), len(failed)]])
    sections = [Section("Grid", f"<pre>{_html.escape(grid_text)}</pre>" + counts)]
    better = "highest" if METRICS[metric] else "lowest"
    sections.append(Section(f"Best policy per trace and topology ({better} {metric})",
                            table(table_header(), [table_values(r) for r in best_rows(rows, metric)])))
    sections.append(Section("Each policy's best cell",
                            table(table_header(), [table_values(r) for r in policy_rows(rows, metric)])))
    for name, png in plots.items():
        caption = ("Every cell that succeeded; dashed: the Pareto front of each trace and topology."
                   if name == "pareto" else "Means over the cells that share the parameter's value.")
        sections.append(Section("Pareto plot" if name == "pareto"
                                else "Sensitivity: " + name.removeprefix("sensitivity-"),
                                image(png, name, caption)))
    if failed:
        sections.append(Section("Failed cells", table(
            ["cell", "trace", "policy and parameters", "error"],
            [[r["cell"], r["trace"], config(r), r.get("error")] for r in failed])))
    return page("pagemig sweep report", sections, subtitle=source)
