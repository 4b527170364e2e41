"""Series from the database, and their plain exports (CSV rows, JSON) shared by CLI and chat."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.orm import Session

from bot.figures.series import Point, Series, build_series
from storage.figures import figure_rows

__all__ = ["load_series", "point_date", "series_csv", "series_json"]


def load_series(session: Session) -> list[Series]:
    """Every series the stored claims hold, most recently moved first."""
    return build_series(figure_rows(session))


def point_date(point: Point) -> str:
    return point.published.date().isoformat() if point.published else ""


def _point_json(point: Point) -> dict[str, Any]:
    q = point.figure
    return {
        "date": point_date(point),
        "value": q.value,
        "low": point.low,
        "high": point.high,
        "qualifier": q.qualifier,
        "shown": point.shown,
        "source": point.source,
        "url": point.url,
        "claim_id": point.claim_id,
        "verdict": point.verdict,
        "text": point.text,
    }


def series_json(series: Series) -> dict[str, Any]:
    key = series.key
    return {
        "name": series.name,
        "slug": series.slug,
        "key": {"unit": key.unit, "object": key.obj, "destination": key.dest, "since": key.since},
        "points": [_point_json(p) for p in series.points],
    }


def series_csv(series: Series) -> str:
    out = io.StringIO()
    fields = ["date", "value", "low", "high", "qualifier", "source", "url", "claim_id", "text"]
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for point in series.points:
        writer.writerow(_point_json(point))
    return out.getvalue()
