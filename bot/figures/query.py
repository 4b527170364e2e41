"""Series from the database, and their plain exports (CSV rows, JSON) shared by CLI and chat."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.orm import Session

from bot.figures.series import Point, Series, build_series, path_line, series_of_claim
from storage.figures import figure_rows

__all__ = ["figure_paths", "load_series", "point_date", "series_csv", "series_json"]


def load_series(session: Session) -> list[Series]:
    """Every series the stored claims hold, most recently moved first."""
    return build_series(figure_rows(session))


def figure_paths(session: Session, *, claim_ids: set[int]) -> dict[int, tuple[str, str]]:
    """For claims whose figure belongs to a series: (its path up to the claim, series slug)."""
    if not claim_ids:
        return {}
    found = load_series(session)
    out: dict[int, tuple[str, str]] = {}
    for claim_id in claim_ids:
        series = series_of_claim(found, claim_id)
        if series is not None and series.points[0].claim_id != claim_id:
            out[claim_id] = (path_line(series, until_claim=claim_id), series.slug)
    return out


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
