"""Self-contained HTML reports: one file, plots embedded as PNG data URIs, an
inline style sheet, no script and nothing fetched at view time.

A report is a title and a list of sections, each a heading and HTML built by
``table``, ``image`` or ``definitions``; ``sim_report`` is the page of one
replay (``pagemig sim --html``), ``pagemig.sweep.report`` builds a sweep's.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #1d2330; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #d0d5dd; padding-bottom: 0.2em; }
p.sub { color: #5b6474; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #d0d5dd; padding: 0.25em 0.7em; text-align: left; vertical-align: top; }
th { background: #f2f4f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #eaf6ec; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e7ec; }
figcaption { color: #5b6474; font-size: 0.9em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1.2em; }
dt { font-weight: 600; } dd { margin: 0; font-family: ui-monospace, monospace; }
"""


@dataclass(frozen=True)
class Section:
    """A heading and its HTML body."""

    heading: str
    body: str


def png_bytes(fig: Any) -> bytes:
    """A matplotlib Figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def image(png: bytes, alt: str, caption: str = "") -> str:
    """An embedded PNG (a data URI: nothing to fetch)."""
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<figure><img alt="{html.escape(alt, quote=True)}" '
            f'src="data:image/png;base64,{data}">{cap}</figure>')


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return f"<td>{'' if value is None else value}</td>"
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    if isinstance(value, float):
        return f'<td class="num">{value:.4g}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], highlight: Iterable[int] = ()) -> str:
    """A table; numbers right-aligned; rows whose index is in ``highlight`` marked."""
    marked = set(highlight)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(f'<tr{" class=best" if i in marked else ""}>' + "".join(_cell(v) for v in row) + "</tr>"
                   for i, row in enumerate(rows))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def definitions(items: Mapping[str, Any]) -> str:
    """Name: value pairs (a run's parameters)."""
    return "<dl>" + "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>"
                            for k, v in items.items()) + "</dl>"


def page(title: str, sections: Sequence[Section], subtitle: str = "") -> str:
    """The whole HTML document."""
    sub = f'<p class="sub">{html.escape(subtitle)}</p>' if subtitle else ""
    body = "".join(f"<section><h2>{html.escape(s.heading)}</h2>{s.body}</section>" for s in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{sub}{body}</body></html>\n")


def summary_rows(summary: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The summary table of a replay (the rows ``pagemig sim`` prints)."""
    mig = summary["migrations"]
    modelled = summary["modelled_time_s"]
    failed = ", ".join(f"{k} {v:,}" for k, v in mig["failed_by_reason"].items()) or "0"
    return [
        ("accesses", summary["accesses"]),
        ("epochs", summary["epochs"]),
        ("pages touched", summary["pages_touched"]),
        ("pages per node", " / ".join(f"{n:,}" for n in summary["pages_per_node"])),
        ("local ratio", summary["local_ratio"]),
        ("fast-tier ratio", summary["fast_tier_ratio"]),
        ("migrations attempted", mig["attempted"]),
        ("migrations succeeded", mig["succeeded"]),
        ("migrations failed", failed),
        ("modelled access time (ms)", modelled["access"] * 1e3),
        ("modelled migration time (ms)", modelled["migration"] * 1e3),
        ("modelled fault time (ms)", modelled["fault"] * 1e3),
        ("modelled total time (ms)", modelled["total"] * 1e3),
    ]


PLOT_CAPTIONS = {
    "heatmap": "Accesses by epoch and address bin (log colour scale).",
    "residency": "Pages of the traced ranges on each node at the end of each epoch.",
    "migrations": "Pages migrated per epoch: succeeded, and failed by reason.",
    "time": "Modelled access, migration and fault time per epoch.",
}


def sim_report(summary: Mapping[str, Any], parameters: Mapping[str, Any],
               plots: Mapping[str, bytes]) -> str:
    """The page of one replay: its parameters, the summary table and the plots
    (``plots``: name -> PNG bytes, names as ``pagemig.sim.plots.figures`` gives them)."""
    sections = [
        Section("Parameters", definitions(parameters)),
        Section("Summary", table(["metric", "value"], summary_rows(summary))),
    ]
    sections += [Section(f"Plot: {name}", image(png, name, PLOT_CAPTIONS.get(name, "")))
                 for name, png in plots.items()]
    title = f"{summary['policy']} on {summary['topology']}"
    return page(f"pagemig sim: {title}", sections, subtitle=str(summary.get("trace", "")))
