"""Series alerts: when a figure series a chat watches moves, one outbox message per chat and point.

``queue_series_alerts`` runs after each judging pass, in the judging transaction (so the alerts
are stored with the claims that caused them, or not at all). It rebuilds the series, and for each
watch looks only at points stored after the watch's ``seen_claim_id``. A point *moves* the series
when its value differs from the point before it, or when its source had not reported the series
before (a new competing estimate). Each alert is an ordinary outbox row (kind ``series``), so
the delivery loop sends it with the crash safety and pacing of digests; ``storage.watches``
records one row per chat and point, so a re-poll, a restart or a second pass queues nothing twice.

Telegram alerts carry the chart (``sendPhoto`` with the text as caption); Slack alerts are text
with a ``/nkwatch track`` hint for the chart.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.chat.reply import Block, Reply, Span, para, reply, span, web_link
from bot.figures.query import load_series, point_date
from bot.figures.series import Point, Series, path_line
from storage import deliveries as outbox
from storage import watches as watch_store
from storage.models import SeriesWatch, Subscription

__all__ = ["KIND", "Move", "alert_reply", "find_move", "queue_series_alerts", "resolve_watch"]

log = logging.getLogger(__name__)

KIND = "series"  # the outbox row's kind
CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption


@dataclass(frozen=True, slots=True)
class Move:
    """A point that moved its series: the point before it, or ``None`` for a first report."""

    point: Point
    previous: Point | None
    new_source: bool


def resolve_watch(found: Sequence[Series], watch: SeriesWatch) -> Series | None:
    """The series a watch follows now: the one holding its anchor point, else by slug."""
    for series in found:
        if series.key.unit == watch.unit and any(
            p.claim_id == watch.anchor_claim_id for p in series.points
        ):
            return series
    return next((s for s in found if s.slug == watch.series_slug), None)


def find_move(series: Series, index: int) -> Move | None:
    """Whether ``series.points[index]`` moved the series when it was reported."""
    point = series.points[index]
    previous = series.points[index - 1] if index else None
    known = [p for p in series.points if p.claim_id < point.claim_id]
    new_source = bool(known) and point.source not in {p.source for p in known}
    changed = previous is not None and (previous.low, previous.high) != (point.low, point.high)
    if changed or new_source:
        return Move(point=point, previous=previous, new_source=new_source)
    return None


def alert_reply(series: Series, move: Move, *, platform: str) -> Reply:
    """The alert as platform-free blocks: what moved, from whom, when; the path; the hint."""
    p = move.point
    prefix = "/nkwatch " if platform == "slack" else "/"
    where = f"{p.source}, {point_date(p) or 'undated'}"
    prev = move.previous
    if prev is not None and (prev.low, prev.high) != (p.low, p.high):
        what = f"{prev.shown} → {p.shown} ({where})"
    else:
        what = f"{p.shown}, now also reported by {p.source} ({point_date(p) or 'undated'})"
    head: list[Span | str] = [span(series.name, bold=True), f": {what}"]
    url = web_link(p.url)
    if url is not None:
        head += [" ", span("link", url=url)]
    path = path_line(series, until_claim=p.claim_id).removeprefix(f"{series.name}: ")
    blocks: list[Block] = [
        para(*head),
        para(f"Path: {path}"),
        para(f"Chart and table: {prefix}track {series.slug}"),
    ]
    return reply(*blocks)


def _messages(
    reply_: Reply, platform: str, chart: bytes | None, filename: str
) -> list[dict[str, Any]]:
    if platform == "slack":
        from bot.slack.format import render_reply  # noqa: PLC0415 - front ends load lazily

        return [render_reply(reply_)]
    from bot.telegram.format import reply_messages  # noqa: PLC0415

    if chart is None:
        return [{"text": text, "parse_mode": "HTML"} for text in reply_messages(reply_)]
    (caption,) = reply_messages(reply_, limit=CAPTION_LIMIT)[:1]
    return [
        {
            "text": caption,
            "parse_mode": "HTML",
            "photo": base64.b64encode(chart).decode("ascii"),
            "filename": filename,
        }
    ]


class _Charts:
    """One chart per series and pass, however many Telegram chats get it."""

    def __init__(self) -> None:
        self._done: dict[str, bytes | None] = {}

    def of(self, series: Series) -> bytes | None:
        if series.slug not in self._done:
            try:
                from bot.figures.chart import render_chart  # noqa: PLC0415 - matplotlib is slow

                self._done[series.slug] = render_chart(series).png
            except Exception:  # the text still goes out, with its /track hint
                log.exception("chart of series %s failed; alert sent without it", series.slug)
                self._done[series.slug] = None
        return self._done[series.slug]


def _queue_one(
    session: Session,
    sub: Subscription,
    series: Series,
    move: Move,
    charts: _Charts,
) -> bool:
    alert = watch_store.record_alert(
        session,
        subscription_id=sub.id,
        claim_id=move.point.claim_id,
        unit=series.key.unit,
        series_slug=series.slug,
    )
    if alert is None:
        return False
    chart = charts.of(series) if sub.platform == "telegram" else None
    messages = _messages(
        alert_reply(series, move, platform=sub.platform),
        sub.platform,
        chart,
        f"{series.slug}.png",
    )
    delivery = outbox.create_delivery(
        session,
        subscription_id=sub.id,
        kind=KIND,
        window_start=None,
        window_end=None,
        article_ids=[],
        payload={
            "platform": sub.platform,
            "messages": messages,
            "series": series.slug,
            "claim_id": move.point.claim_id,
        },
    )
    watch_store.set_alert_delivery(session, alert_id=alert.id, delivery_id=delivery.id)
    return True


def queue_series_alerts(session: Session) -> int:
    """Queue an alert for every watched series point not alerted yet; returns how many.

    The caller owns the transaction (the judging one, under the knowledge-base lock).
    """
    if not watch_store.any_active_watch(session):
        return 0
    found = load_series(session)
    charts = _Charts()
    queued = 0
    for watch, sub in watch_store.active_watches(session):
        series = resolve_watch(found, watch)
        if series is None:
            continue
        for index, point in enumerate(series.points):
            if point.claim_id <= watch.seen_claim_id:
                continue
            move = find_move(series, index)
            if move is not None and _queue_one(session, sub, series, move, charts):
                queued += 1
        newest = max(p.claim_id for p in series.points)
        watch_store.mark_seen(session, watch_id=watch.id, claim_id=newest)
        watch_store.rename_watch(
            session, watch_id=watch.id, series_slug=series.slug, series_name=series.name
        )
    if queued:
        log.info("queued %d series alerts", queued)
    return queued


def queue_alerts_safely(session: Session) -> int:
    """``queue_series_alerts`` in a savepoint: a failure here is logged and never undoes the
    judging it follows (the points stay unseen, so the next pass tries again)."""
    try:
        with session.begin_nested():
            return queue_series_alerts(session)
    except Exception:
        log.exception("series alerts could not be queued; the next pass retries")
        return 0
