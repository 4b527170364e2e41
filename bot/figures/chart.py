"""A series as a picture a phone can read: a step line of the figure over time, one colour per
source, ranges as bands, large type, at most ``MAX_LABELS`` values written on the chart.

Rendered headless with matplotlib's Agg canvas on a ``Figure`` object (no pyplot state, so
threads can render at once). Size and dpi are fixed, so the same series gives a PNG of the same
pixel size and axes; what was drawn is read back from the plotted artists for tests and callers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bot.claims.figures import format_number
from bot.figures.series import Point, Series, first_reports

__all__ = ["DPI", "HEIGHT_IN", "MAX_LABELS", "WIDTH_IN", "Chart", "render_chart"]

WIDTH_IN, HEIGHT_IN, DPI = 9.0, 6.0, 120  # 1080 x 720 pixels
MAX_LABELS = 12
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")
_FONT = 15


@dataclass(frozen=True, slots=True)
class Plotted:
    """One marker as drawn: its date (matplotlib day number), value and source legend."""

    x: float
    y: float
    source: str


@dataclass(frozen=True, slots=True)
class Chart:
    png: bytes
    width: int
    height: int
    plotted: tuple[Plotted, ...]
    labels: tuple[str, ...]  # the value texts written on the chart
    bands: int  # ranges drawn as bands

    @property
    def filename(self) -> str:
        return "chart.png"


def _x(point: Point) -> float:
    when = point.published or datetime(1970, 1, 1, tzinfo=UTC)
    return float(mdates.date2num(when))


def render_chart(series: Series) -> Chart:
    """The chart of one series; the newest ``MAX_LABELS`` new values are written on it."""
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    points = [p for p in series.points if p.published is not None] or list(series.points)
    xs = [_x(p) for p in points]
    colour = {src: _COLOURS[i % len(_COLOURS)] for i, src in enumerate(series.sources)}
    bands = 0
    for source in series.sources:
        mine = [p for p in points if p.source == source]
        # each source's own path: competing estimates stay apart, never averaged
        ax.step([_x(p) for p in mine], [p.value for p in mine], where="post", linewidth=2.5)
        ax.lines[-1].set_color(colour[source])
        for p in mine:
            if p.high > p.low:
                ax.vlines(_x(p), p.low, p.high, color=colour[source], linewidth=18, alpha=0.3)
                bands += 1
        ax.scatter(
            [_x(p) for p in mine],
            [p.value for p in mine],
            s=140,
            color=colour[source],
            label=source,
            zorder=3,
            edgecolors="white",
        )
    labels: list[str] = []
    for p in first_reports(points)[-MAX_LABELS:]:  # restated values keep their marker only
        text = p.shown
        ax.annotate(
            text,
            (_x(p), p.high),
            textcoords="offset points",
            xytext=(0, 12),
            ha="center",
            fontsize=_FONT - 2,
            fontweight="bold",
        )
        labels.append(text)
    ax.set_title(series.name, fontsize=_FONT + 3, loc="left")
    ax.set_ylabel(series.key.unit, fontsize=_FONT)
    ax.tick_params(labelsize=_FONT - 2)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_number(round(v))))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=6))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    ax.set_ylim(bottom=0, top=max(p.high for p in points) * 1.2 or 1)
    if len(xs) > 1 and max(xs) > min(xs):
        pad = (max(xs) - min(xs)) * 0.1
        ax.set_xlim(min(xs) - pad, max(xs) + pad)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=_FONT - 3, loc="upper left", frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    canvas.print_png(buf, metadata={"Software": None})
    width, height = canvas.get_width_height()
    plotted = tuple(
        Plotted(x=float(x), y=float(y), source=str(coll.get_label()))
        for coll in ax.collections
        if isinstance(coll, PathCollection)
        for x, y in np.asarray(coll.get_offsets(), dtype=float).tolist()
    )
    return Chart(
        png=buf.getvalue(),
        width=width,
        height=height,
        plotted=plotted,
        labels=tuple(labels),
        bands=bands,
    )
