"""Compose due digests and instant alerts into the outbox, before anything is sent.

``compose_due`` records what a subscriber will get as a ``Delivery`` row; the outbox loop
(``bot.outbox.loop``) sends it later. A window is composed once: a covered window is never
composed again, and a subscription with an open delivery of a kind gets no second one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from bot.digest.model import Digest, DigestLimits, build_digest, should_send
from bot.digest.payloads import platform_messages, with_buttons
from bot.digest.query import load_stories
from storage import deliveries as outbox
from storage.models import Delivery, Subscription

log = logging.getLogger(__name__)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r, using UTC", name)
        return ZoneInfo("UTC")


def last_occurrence(at: time, tz: str, now: datetime) -> datetime:
    """The latest local ``at`` o'clock in ``tz`` that is not after ``now``, in UTC."""
    place = zone(tz)
    local_now = now.astimezone(place)
    for days_back in range(3):
        day = local_now.date() - timedelta(days=days_back)
        candidate = datetime.combine(day, at.replace(tzinfo=None), tzinfo=place)
        if candidate <= local_now:
            return candidate.astimezone(UTC)
    return (local_now - timedelta(days=1)).astimezone(UTC)  # pragma: no cover - unreachable


@dataclass
class ComposeStats:
    composed: int = 0
    skipped_empty: int = 0  # empty windows closed without a message (send_empty off)
    busy: int = 0  # an earlier delivery is still open, or another process is composing
    article_ids: list[int] = field(default_factory=list)
    # One run renders each distinct window once, however many chats share it.
    cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)


def _payload(platform: str, digest_messages: list[dict[str, Any]], totals: Any) -> dict[str, Any]:
    return {
        "platform": platform,
        "messages": digest_messages,
        "totals": {
            "stories": totals.stories,
            "new": totals.new,
            "updated": totals.updated,
            "repeated": totals.repeated,
        },
    }


def compose_for(
    session: Session,
    sub: Subscription,
    *,
    kind: str,
    since: datetime | None,
    until: datetime,
    limits: DigestLimits | None = None,
    stats: ComposeStats,
) -> Delivery | None:
    """Record one delivery for ``sub`` covering ``(since, until]``; the caller holds its lock."""
    key = (kind, since, until, sub.min_relevance)
    if key not in stats.cache:
        stories = load_stories(session, since=since, until=until, min_relevance=sub.min_relevance)
        if kind == "instant":
            stories = [s for s in stories if any(c.verdict != "repeated" for c in s.claims)]
        title = "nkwatch alert" if kind == "instant" else "nkwatch digest"
        stats.cache[key] = build_digest(
            stories, since=since, until=until, title=title, limits=limits
        )
    digest: Digest = stats.cache[key]
    if kind == "instant" and digest.is_empty:
        if outbox.covers_window(sub, kind):
            outbox.advance_covered(session, subscription_id=sub.id, until=until)
        stats.skipped_empty += 1
        return None
    if kind == "digest" and not should_send(digest, send_empty=sub.send_empty):
        outbox.advance_covered(session, subscription_id=sub.id, until=until)
        stats.skipped_empty += 1
        return None
    delivery = outbox.create_delivery(
        session,
        subscription_id=sub.id,
        kind=kind,
        window_start=since,
        window_end=until,
        article_ids=list(digest.article_ids),
        payload=_payload(sub.platform, _messages(stats, key, digest, sub.platform), digest.totals),
    )
    # The "Show repeated" buttons name this row, so they are added once it has an id.
    messages = with_buttons(delivery.payload["messages"], sub.platform, delivery.id)
    delivery.payload = {**delivery.payload, "messages": messages}
    stats.composed += 1
    stats.article_ids.extend(digest.article_ids)
    log.info(
        "composed delivery %s (%s) for subscription %s: %d stories",
        delivery.id,
        kind,
        sub.id,
        len(digest.article_ids),
    )
    return delivery


def _messages(
    stats: ComposeStats, key: tuple[Any, ...], digest: Digest, platform: str
) -> list[dict[str, Any]]:
    rendered_key = (*key, platform)
    if rendered_key not in stats.cache:
        stats.cache[rendered_key] = platform_messages(digest, platform)
    messages: list[dict[str, Any]] = stats.cache[rendered_key]
    return messages


def compose_due(
    session: Session,
    now: datetime,
    *,
    settle_seconds: float = 30.0,
    instant_horizon: timedelta = timedelta(days=2),
    limits: DigestLimits | None = None,
    platforms: Sequence[str] | None = None,
) -> ComposeStats:
    """Record the digests and instant alerts that are due at ``now``; commits per subscription.

    A daily digest is due once the subscription's local ``digest_time`` has passed (plus
    ``settle_seconds``, so claims committed just before are in it) and its window is not covered
    yet. A subscription with an open delivery of the same kind gets nothing new until that one is
    done, so a crash between composing and sending never produces a second copy.
    """
    stats = ComposeStats()
    ids = [s.id for s in outbox.active_subscriptions(session)]
    session.commit()
    horizon = now - timedelta(seconds=settle_seconds)
    for sub_id in ids:
        try:
            sub = outbox.lock_subscription(session, subscription_id=sub_id)
            if sub is None or not sub.active:
                stats.busy += sub is None
                session.rollback()
                continue
            if platforms is not None and sub.platform not in platforms:
                session.rollback()
                continue
            _compose_one(
                session,
                sub,
                now=now,
                horizon=horizon,
                limits=limits,
                stats=stats,
                instant_horizon=instant_horizon,
            )
            session.commit()
        except Exception:
            session.rollback()
            log.exception("composing for subscription %s failed", sub_id)
    return stats


def _compose_one(
    session: Session,
    sub: Subscription,
    *,
    now: datetime,
    horizon: datetime,
    limits: DigestLimits | None,
    stats: ComposeStats,
    instant_horizon: timedelta,
) -> None:
    if sub.mode != "instant":
        due_at = last_occurrence(sub.digest_time, sub.timezone, now)
        fresh = sub.covered_until is None and due_at >= sub.created_at
        if due_at <= horizon and (fresh or (sub.covered_until and sub.covered_until < due_at)):
            if outbox.open_delivery(session, subscription_id=sub.id, kind="digest"):
                stats.busy += 1
            else:
                since = sub.covered_until or due_at - timedelta(days=1)
                compose_for(
                    session,
                    sub,
                    kind="digest",
                    since=since,
                    until=due_at,
                    limits=limits,
                    stats=stats,
                )
    if sub.mode == "instant" or sub.instant_alerts:
        if outbox.open_delivery(session, subscription_id=sub.id, kind="instant"):
            stats.busy += 1
            return
        starts = [now - instant_horizon, sub.created_at]
        last = outbox.last_window_end(session, subscription_id=sub.id, kind="instant")
        if last is not None:
            starts.append(last)
        if sub.mode == "instant" and sub.covered_until is not None:
            starts.append(sub.covered_until)
        since = max(starts)
        if since < horizon:
            compose_for(
                session, sub, kind="instant", since=since, until=horizon, limits=limits, stats=stats
            )
