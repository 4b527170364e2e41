"""Subscriptions: which Telegram chats and Slack channels get digests, when and how.

A subscription is never deleted by the bot: unsubscribing, a blocked bot or a vanished channel
deactivate it with a reason, so a later ``subscribe`` restores the chat's settings. Its ``mode``
is ``daily``, ``instant``, or ``watch``: a chat that only follows figure series
(``storage.watches``) and gets no digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import SeriesWatch, Subscription


def get_subscription(session: Session, *, platform: str, chat_id: str) -> Subscription | None:
    return session.scalar(
        select(Subscription).where(
            Subscription.platform == platform, Subscription.chat_id == str(chat_id)
        )
    )


def get_subscription_by_id(session: Session, *, subscription_id: int) -> Subscription | None:
    return session.get(Subscription, subscription_id)


def subscribe(
    session: Session,
    *,
    platform: str,
    chat_id: str,
    mode: str,
    digest_time: time | None = None,
    timezone: str | None = None,
    instant_alerts: bool | None = None,
) -> Subscription:
    """Create or reactivate; settings not given keep their stored (or default) values."""
    sub = get_subscription(session, platform=platform, chat_id=chat_id)
    if sub is None:
        sub = Subscription(
            platform=platform,
            chat_id=str(chat_id),
            mode=mode,
            digest_time=time(8, 0),
            timezone="UTC",
            instant_alerts=False,
            min_relevance=0.0,
            send_empty=True,
            active=True,
        )
        session.add(sub)
    sub.mode = mode
    sub.active = True
    sub.deactivated_reason = None
    _apply_given(sub, digest_time=digest_time, timezone=timezone, instant_alerts=instant_alerts)
    session.flush()
    return sub


def _apply_given(sub: Subscription, **values: object) -> None:
    """Set the settings that were given; ``None`` means "keep what is stored"."""
    for name, value in values.items():
        if value is not None:
            setattr(sub, name, value)


def update_settings(
    session: Session,
    *,
    platform: str,
    chat_id: str,
    digest_time: time | None = None,
    timezone: str | None = None,
    instant_alerts: bool | None = None,
    min_relevance: float | None = None,
    send_empty: bool | None = None,
) -> Subscription | None:
    """Change the given settings of an existing subscription (active or not); None if none."""
    sub = get_subscription(session, platform=platform, chat_id=chat_id)
    if sub is None:
        return None
    _apply_given(
        sub,
        digest_time=digest_time,
        timezone=timezone,
        instant_alerts=instant_alerts,
        min_relevance=min_relevance,
        send_empty=send_empty,
    )
    session.flush()
    return sub


def deactivate(session: Session, *, platform: str, chat_id: str, reason: str) -> bool:
    """Stop deliveries to a chat; False when it had no active subscription."""
    sub = get_subscription(session, platform=platform, chat_id=chat_id)
    if sub is None or not sub.active:
        return False
    sub.active = False
    sub.deactivated_reason = reason[:500]
    session.flush()
    return True


def migrate_chat(
    session: Session, *, platform: str, old_chat_id: str, new_chat_id: str
) -> Subscription | None:
    """Follow a chat that changed id (a Telegram group upgraded to a supergroup).

    If the new id already has a subscription, that one wins and the old row is deactivated, so the
    chat never gets two digests.
    """
    old = get_subscription(session, platform=platform, chat_id=old_chat_id)
    if old is None:
        return get_subscription(session, platform=platform, chat_id=new_chat_id)
    existing = get_subscription(session, platform=platform, chat_id=new_chat_id)
    if existing is not None:
        if old.active and not existing.active:
            existing.active = True
            existing.deactivated_reason = None
        old.active = False
        old.deactivated_reason = f"migrated to {new_chat_id}"
        session.flush()
        return existing
    old.chat_id = str(new_chat_id)
    session.flush()
    return old


def list_active(
    session: Session, *, platform: str | None = None, mode: str | None = None
) -> Sequence[Subscription]:
    query = select(Subscription).where(Subscription.active.is_(True)).order_by(Subscription.id)
    if platform is not None:
        query = query.where(Subscription.platform == platform)
    if mode is not None:
        query = query.where(Subscription.mode == mode)
    return session.scalars(query).all()


def list_instant(session: Session, *, platform: str | None = None) -> Sequence[Subscription]:
    """Active subscriptions that want an alert as soon as a relevant story arrives, or as soon
    as a figure series they watch moves."""
    watching = select(SeriesWatch.id).where(SeriesWatch.subscription_id == Subscription.id)
    query = (
        select(Subscription)
        .where(
            Subscription.active.is_(True),
            (Subscription.mode == "instant")
            | Subscription.instant_alerts.is_(True)
            | watching.exists(),
        )
        .order_by(Subscription.id)
    )
    if platform is not None:
        query = query.where(Subscription.platform == platform)
    return session.scalars(query).all()
