"""Plots of a replay: functions from the epochs table to a matplotlib Figure.

Each takes the columns of ``SimResult.columns()`` (and the heatmap array) and
returns a Figure drawn with matplotlib's object API on the Agg backend, so
they run without a display; the CLI saves them. The model never imports this.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

FIG_SIZE_IN = (8.0, 4.5)
DPI = 100  # figures are 800 x 450 pixels


def _figure() -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIG_SIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _x(cols: dict[str, np.ndarray]) -> np.ndarray:
    return np.asarray(cols["epoch"])


def _steps(x: np.ndarray, *series: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """x and series with one more point, so step="post" gives the last epoch its width."""
    if not len(x):
        return x, list(series)
    return np.append(x, x[-1] + 1), [np.append(np.asarray(s), np.asarray(s)[-1]) for s in series]


def _epoch_axis(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def heatmap(cols: dict[str, np.ndarray], heat: np.ndarray, title: str = "") -> Any:
    """Accesses by time (epoch, x) and address (bin of the traced pages, y), as damo's heatmap."""
    fig, ax = _figure()
    data = np.log10(1 + heat.T) if heat.size else np.zeros((1, 1))
    image = ax.imshow(data, aspect="auto", origin="lower", interpolation="nearest", cmap="inferno",
                      extent=(-0.5, len(heat) - 0.5, 0, 100))
    _epoch_axis(ax)
    ax.set_ylabel("address (% of the traced pages, low to high)")
    ax.set_title(title or "Access heatmap")
    fig.colorbar(image, ax=ax, label="log10(1 + accesses)")
    return fig


def residency(cols: dict[str, np.ndarray], title: str = "") -> Any:
    """Pages on each node at the end of each epoch."""
    nodes = sorted(int(k[len("pages_node"):]) for k in cols if k.startswith("pages_node"))
    series = [(f"node {n}", np.asarray(cols[f"pages_node{n}"])) for n in nodes]
    return _stacked_steps(cols, series, "pages", title or "Pages per node")


def migrations(cols: dict[str, np.ndarray], title: str = "") -> Any:
    """Pages migrated per epoch, succeeded and failed by reason, stacked."""
    fig, ax = _figure()
    x = _x(cols)
    series = [("succeeded", cols["migrations_succeeded"])]
    series += [(k[len("failed_"):], cols[k]) for k in sorted(cols) if k.startswith("failed_")]
    bottom = np.zeros(len(x))
    for label, values in series:
        ax.bar(x, values, bottom=bottom, label=label, width=0.9)
        bottom = bottom + values
    _epoch_axis(ax)
    ax.set_ylabel("pages")
    ax.set_title(title or "Migrations per epoch by outcome")
    ax.legend(loc="best")
    if not bottom.any():
        ax.text(0.5, 0.5, "no migrations", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlim(x.min() - 0.5 if len(x) else 0, x.max() + 0.5 if len(x) else 1)
    return fig


def time_breakdown(cols: dict[str, np.ndarray], title: str = "") -> Any:
    """Modelled time per epoch: access, migration and fault time, stacked (ms)."""
    series = [(name, np.asarray(cols[f"{name}_ns"]) / 1e6) for name in ("access", "migration", "fault")]
    return _stacked_steps(cols, series, "modelled time (ms)", title or "Modelled time per epoch")


def _stacked_steps(cols: dict[str, np.ndarray], series: list[tuple[str, np.ndarray]],
                   ylabel: str, title: str) -> Any:
    """One value per epoch for each series, stacked as steps over the epochs."""
    fig, ax = _figure()
    xs, ys = _steps(_x(cols), *[values for _, values in series])
    ax.stackplot(xs, *ys, labels=[label for label, _ in series], step="post")
    _epoch_axis(ax)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper left")
    ax.margins(x=0)
    return fig


def figures(cols: dict[str, np.ndarray], heat: np.ndarray, label: str = "") -> dict[str, Any]:
    """Every plot of a replay, by name: heatmap, residency, migrations, time."""
    suffix = f" ({label})" if label else ""
    return {
        "heatmap": heatmap(cols, heat, f"Access heatmap{suffix}"),
        "residency": residency(cols, f"Pages per node{suffix}"),
        "migrations": migrations(cols, f"Migrations per epoch{suffix}"),
        "time": time_breakdown(cols, f"Modelled time per epoch{suffix}"),
    }


def save_all(cols: dict[str, np.ndarray], heat: np.ndarray, out_dir: Path, label: str = "") -> list[Path]:
    """Every plot as ``out_dir/NAME.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figures(cols, heat, label).items():
        path = out_dir / f"{name}.png"
        fig.savefig(path)
        paths.append(path)
    return paths
