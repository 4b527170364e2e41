"""Series watches (a chat follows one figure series) and the alerts queued for them.

A watch hangs off the chat's subscription row, so its alerts go through the same outbox as
digests; ``series_alerts`` holds one row per chat, claim and unit, so a point is never queued
twice for one chat, however often the alert pass runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import SeriesAlert, SeriesWatch, Subscription


def add_watch(
    session: Session,
    *,
    subscription_id: int,
    series_slug: str,
    series_name: str,
    unit: str,
    anchor_claim_id: int,
    seen_claim_id: int,
) -> tuple[SeriesWatch, bool]:
    """The chat's watch of this series, created if new; ``True`` when it was created."""
    found = session.scalar(
        select(SeriesWatch).where(
            SeriesWatch.subscription_id == subscription_id,
            SeriesWatch.series_slug == series_slug,
        )
    )
    if found is not None:
        return found, False
    watch = SeriesWatch(
        subscription_id=subscription_id,
        series_slug=series_slug[:300],
        series_name=series_name[:300],
        unit=unit[:64],
        anchor_claim_id=anchor_claim_id,
        seen_claim_id=seen_claim_id,
    )
    session.add(watch)
    session.flush()
    return watch, True


def list_watches(session: Session, *, subscription_id: int) -> Sequence[SeriesWatch]:
    query = (
        select(SeriesWatch)
        .where(SeriesWatch.subscription_id == subscription_id)
        .order_by(SeriesWatch.id)
    )
    return session.scalars(query).all()


def remove_watches(session: Session, *, watch_ids: Sequence[int]) -> int:
    """Delete these watches; returns how many went."""
    if not watch_ids:
        return 0
    result = session.execute(
        delete(SeriesWatch)
        .where(SeriesWatch.id.in_(list(watch_ids)))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def active_watches(session: Session) -> Sequence[tuple[SeriesWatch, Subscription]]:
    """Every watch of an active subscription, with its subscription, in id order."""
    query = (
        select(SeriesWatch, Subscription)
        .join(Subscription, SeriesWatch.subscription_id == Subscription.id)
        .where(Subscription.active.is_(True))
        .order_by(SeriesWatch.id)
    )
    return [(watch, sub) for watch, sub in session.execute(query).all()]


def any_active_watch(session: Session) -> bool:
    """Cheap check before the alert pass loads every series."""
    query = select(
        exists()
        .where(SeriesWatch.subscription_id == Subscription.id)
        .where(Subscription.active.is_(True))
    )
    return bool(session.scalar(query))


def count_watches(session: Session, *, subscription_id: int) -> int:
    query = (
        select(func.count())
        .select_from(SeriesWatch)
        .where(SeriesWatch.subscription_id == subscription_id)
    )
    return int(session.scalar(query) or 0)


def mark_seen(session: Session, *, watch_id: int, claim_id: int) -> None:
    """Move the watch's newest-seen claim forward (never back)."""
    watch = session.get(SeriesWatch, watch_id)
    if watch is not None and watch.seen_claim_id < claim_id:
        watch.seen_claim_id = claim_id
        session.flush()


def rename_watch(session: Session, *, watch_id: int, series_slug: str, series_name: str) -> None:
    """Follow a series the data renamed, unless the chat already watches the new name."""
    watch = session.get(SeriesWatch, watch_id)
    if watch is None or watch.series_slug == series_slug:
        return
    taken = session.scalar(
        select(SeriesWatch.id).where(
            SeriesWatch.subscription_id == watch.subscription_id,
            SeriesWatch.series_slug == series_slug,
        )
    )
    if taken is None:
        watch.series_slug = series_slug[:300]
        watch.series_name = series_name[:300]
        session.flush()


def record_alert(
    session: Session, *, subscription_id: int, claim_id: int, unit: str, series_slug: str
) -> SeriesAlert | None:
    """Claim the right to alert this chat about this point; None if it was claimed before."""
    done = session.scalar(
        select(SeriesAlert.id).where(
            SeriesAlert.subscription_id == subscription_id,
            SeriesAlert.claim_id == claim_id,
            SeriesAlert.unit == unit,
        )
    )
    if done is not None:
        return None
    alert = SeriesAlert(
        subscription_id=subscription_id,
        claim_id=claim_id,
        unit=unit[:64],
        series_slug=series_slug[:300],
    )
    try:
        with session.begin_nested():  # a concurrent pass got there first: not an error
            session.add(alert)
            session.flush()
    except IntegrityError:
        return None
    return alert


def set_alert_delivery(session: Session, *, alert_id: int, delivery_id: int) -> None:
    alert = session.get(SeriesAlert, alert_id)
    if alert is not None:
        alert.delivery_id = delivery_id
        session.flush()
