"""The delivery outbox: a message is recorded before it is sent, marked after the platform answers.

Life of a row (``Delivery.status``)::

    pending --claim--> pending + lease --begin_part--> sending --record_part--> pending + lease ...
        ... last part recorded --> sent | ambiguous;   Permanent error --> failed

* A lease (``lease_owner`` + ``lease_expires_at``) says which process works on a row. Claiming is a
  conditional UPDATE (SQLite) or ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL), so several
  processes can share one outbox without sending a row twice.
* A message of several parts (a long digest) records each part's platform id as soon as it is
  accepted, so a restart resumes after the last accepted part.
* ``sending`` is committed *before* each platform call. A row found ``sending`` with an expired
  lease means its process died during that call: the platform may or may not have it. That part
  is recorded as ambiguous (``None`` in ``platform_message_ids``), logged and counted, and never
  resent; the remaining parts are sent.
* For a pending row without an owner, ``lease_expires_at`` is the "not before" time of a retry.
* The subscription's ``covered_until`` advances only when the whole row is done (``sent``, or
  ``ambiguous``: resending an ambiguous window would be the blind resend we refuse to do).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Delivery, Subscription

OPEN = ("pending", "sending")
DONE = ("sent", "ambiguous")


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --------------------------------------------------------------------------------------------
# Composing


def lock_subscription(session: Session, *, subscription_id: int) -> Subscription | None:
    """Take the subscription for composing until the transaction ends, or None if another has it.

    PostgreSQL: a row lock that others skip. SQLite: a write first, so the transaction holds the
    database's write lock and reads a fresh snapshot before it checks for open deliveries.
    """
    if _is_postgres(session):
        query = (
            select(Subscription)
            .where(Subscription.id == subscription_id)
            .with_for_update(skip_locked=True)
        )
        return session.scalar(query)
    result = session.execute(
        update(Subscription)
        .where(Subscription.id == subscription_id)
        .values(chat_id=Subscription.chat_id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    sub = session.get(Subscription, subscription_id)
    if sub is not None:
        session.refresh(sub)
    return sub


def active_subscriptions(
    session: Session, *, platform: str | None = None
) -> Sequence[Subscription]:
    """Active subscriptions that get digests or story alerts (a "watch" chat gets neither)."""
    query = (
        select(Subscription)
        .where(Subscription.active.is_(True), Subscription.mode != "watch")
        .order_by(Subscription.id)
    )
    if platform is not None:
        query = query.where(Subscription.platform == platform)
    return session.scalars(query).all()


def open_delivery(session: Session, *, subscription_id: int, kind: str) -> Delivery | None:
    """The subscription's unfinished delivery of this kind, if any (at most one is composed)."""
    query = (
        select(Delivery)
        .where(
            Delivery.subscription_id == subscription_id,
            Delivery.kind == kind,
            Delivery.status.in_(OPEN),
        )
        .order_by(Delivery.id)
        .limit(1)
    )
    return session.scalar(query)


def last_window_end(session: Session, *, subscription_id: int, kind: str) -> datetime | None:
    """End of the latest window of this kind that was composed and not failed."""
    query = select(func.max(Delivery.window_end)).where(
        Delivery.subscription_id == subscription_id,
        Delivery.kind == kind,
        Delivery.status != "failed",
    )
    return session.scalar(query)


def create_delivery(
    session: Session,
    *,
    subscription_id: int,
    kind: str,
    window_start: datetime | None,
    window_end: datetime | None,
    article_ids: list[int],
    payload: dict[str, Any],
) -> Delivery:
    delivery = Delivery(
        subscription_id=subscription_id,
        kind=kind,
        window_start=window_start,
        window_end=window_end,
        article_ids=list(article_ids),
        payload=payload,
        status="pending",
        attempts=0,
        platform_message_ids=[],
    )
    session.add(delivery)
    session.flush()
    return delivery


def advance_covered(session: Session, *, subscription_id: int, until: datetime) -> None:
    """Move ``covered_until`` forward (never back)."""
    sub = session.get(Subscription, subscription_id)
    if sub is not None and (sub.covered_until is None or sub.covered_until < until):
        sub.covered_until = until
        session.flush()


# --------------------------------------------------------------------------------------------
# Sending


def claim_next(
    session: Session,
    *,
    owner: str,
    now: datetime,
    lease_seconds: float,
    limit: int = 1,
    platforms: Sequence[str] | None = None,
) -> list[Delivery]:
    """Lease up to ``limit`` pending rows that are due; rows leased by others are skipped.

    ``platforms`` limits the rows to subscriptions this process can send to.
    """
    due: tuple[Any, ...] = (
        Delivery.status == "pending",
        or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at <= now),
    )
    if platforms is not None:
        subs = select(Subscription.id).where(Subscription.platform.in_(list(platforms)))
        due = (*due, Delivery.subscription_id.in_(subs))
    expires = now + timedelta(seconds=lease_seconds)
    if _is_postgres(session):
        rows = session.scalars(
            select(Delivery)
            .where(*due)
            .order_by(Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.lease_owner = owner
            row.lease_expires_at = expires
            row.attempts += 1
        session.flush()
        return list(rows)
    ids = session.scalars(select(Delivery.id).where(*due).order_by(Delivery.id).limit(limit)).all()
    claimed: list[Delivery] = []
    for delivery_id in ids:
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, *due)
            .values(lease_owner=owner, lease_expires_at=expires, attempts=Delivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            got = session.get(Delivery, delivery_id)
            if got is not None:
                session.refresh(got)
                claimed.append(got)
    return claimed


def begin_part(
    session: Session, *, delivery_id: int, owner: str, now: datetime, lease_seconds: float
) -> bool:
    """Mark the row ``sending`` (commit this before calling the platform); False if not ours."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.lease_owner == owner,
            Delivery.status == "pending",
        )
        .values(status="sending", lease_expires_at=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _owned(session: Session, delivery_id: int, owner: str) -> Delivery | None:
    query = select(Delivery).where(Delivery.id == delivery_id, Delivery.lease_owner == owner)
    if _is_postgres(session):
        query = query.with_for_update()
    row = session.scalar(query)
    if row is not None:
        session.refresh(row)
    return row


def part_count(delivery: Delivery) -> int:
    messages = delivery.payload.get("messages", [])
    return len(messages) if isinstance(messages, list) else 0


def record_part(
    session: Session,
    *,
    delivery_id: int,
    owner: str,
    message_ids: list[str] | None,
    now: datetime,
) -> Delivery | None:
    """Record one accepted part (or ``None``: ambiguous); finishes the row after the last part."""
    row = _owned(session, delivery_id, owner)
    if row is None:
        return None
    row.platform_message_ids = [*row.platform_message_ids, message_ids]
    row.status = "pending"
    if message_ids is None:
        row.error = f"part {len(row.platform_message_ids)} ambiguous: send timed out"
    if len(row.platform_message_ids) >= part_count(row):
        _finish(session, row, now)
    session.flush()
    return row


def _finish(session: Session, row: Delivery, now: datetime) -> None:
    row.status = "ambiguous" if any(p is None for p in row.platform_message_ids) else "sent"
    row.sent_at = now
    row.lease_owner = None
    row.lease_expires_at = None
    sub = session.get(Subscription, row.subscription_id)
    if sub is not None and row.window_end is not None and covers_window(sub, row.kind):
        advance_covered(session, subscription_id=sub.id, until=row.window_end)


def covers_window(sub: Subscription, kind: str) -> bool:
    """Which kind of delivery moves the subscription's ``covered_until``."""
    return (sub.mode == "instant") == (kind == "instant")


def release(session: Session, *, delivery_id: int, owner: str) -> None:
    """Give a leased row back (shutdown): it is picked up again at once."""
    session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.lease_owner == owner,
            Delivery.status == "pending",
        )
        .values(lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )


def mark_retry(
    session: Session, *, delivery_id: int, owner: str, not_before: datetime, error: str
) -> None:
    """The platform refused for now (429, 5xx before it took the message): try again later."""
    row = _owned(session, delivery_id, owner)
    if row is None:
        return
    row.status = "pending"
    row.lease_owner = None
    row.lease_expires_at = not_before
    row.error = error[:2000]
    session.flush()


def mark_failed(session: Session, *, delivery_id: int, error: str) -> None:
    row = session.get(Delivery, delivery_id)
    if row is None:
        return
    row.status = "failed"
    row.error = error[:2000]
    row.lease_owner = None
    row.lease_expires_at = None
    session.flush()


def recover_interrupted(
    session: Session, *, owner: str, now: datetime, limit: int = 100
) -> list[Delivery]:
    """Rows left ``sending`` by a dead process: record that part as ambiguous, keep the rest."""
    stale = (
        Delivery.status == "sending",
        Delivery.lease_expires_at.is_not(None),
        Delivery.lease_expires_at <= now,
    )
    ids = session.scalars(
        select(Delivery.id).where(*stale).order_by(Delivery.id).limit(limit)
    ).all()
    recovered = []
    for delivery_id in ids:
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, *stale)
            .values(lease_owner=owner)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue
        row = record_part(session, delivery_id=delivery_id, owner=owner, message_ids=None, now=now)
        if row is not None:
            if row.status == "pending":
                row.lease_owner = None
                row.lease_expires_at = None
                session.flush()
            recovered.append(row)
    return recovered


# --------------------------------------------------------------------------------------------
# Subscription outcomes and reporting


def deactivate_subscription(session: Session, *, subscription_id: int, reason: str) -> None:
    sub = session.get(Subscription, subscription_id)
    if sub is not None:
        sub.active = False
        sub.deactivated_reason = reason[:500]
        session.flush()


def move_subscription(session: Session, *, subscription_id: int, new_chat_id: str) -> bool:
    """Follow a chat that moved (Telegram group -> supergroup); False if the new id is taken."""
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        return False
    taken = session.scalar(
        select(Subscription.id).where(
            Subscription.platform == sub.platform, Subscription.chat_id == new_chat_id
        )
    )
    if taken is not None and taken != sub.id:
        return False
    sub.chat_id = new_chat_id
    session.flush()
    return True


def get_delivery(session: Session, *, delivery_id: int) -> Delivery | None:
    return session.get(Delivery, delivery_id)


def list_deliveries(
    session: Session, *, subscription_id: int | None = None, status: str | None = None
) -> Sequence[Delivery]:
    query = select(Delivery).order_by(Delivery.id)
    if subscription_id is not None:
        query = query.where(Delivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    return session.scalars(query).all()


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    return {str(status): int(count) for status, count in rows}
