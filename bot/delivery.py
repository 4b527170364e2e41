"""Compose due digests into the outbox and deliver the outbox, for any platform.

``compose_due`` records what a subscriber will get *before* anything is sent; ``deliver_pending``
sends recorded messages through a ``Sender`` and records the platform's answer after each part.
Storage (``storage.deliveries``) explains the row states and what a crash at each point leaves.

A ``Sender`` sends one message (one part of a delivery) and classifies every failure:
``Retryable`` (try later), ``Permanent`` (the chat is gone: deactivate the subscription),
``Rejected`` (this message is refused: fail the delivery, keep the subscription), ``ChatMoved``
(send to the new chat id) and ``Ambiguous`` (timed out: the platform may have delivered it, so it
is recorded, logged and counted, never resent).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session, sessionmaker

from bot.digest.model import Digest, DigestLimits, build_digest, should_send
from bot.digest.payloads import platform_messages, with_buttons
from bot.digest.query import load_stories
from bot.pacing import SendSlots, send_marked
from storage import deliveries as outbox
from storage.models import Delivery, Subscription

log = logging.getLogger(__name__)
T = TypeVar("T")
INLINE_RETRY_SECONDS = 10.0  # a short flood pause is waited out in this pass, the part pending


# --------------------------------------------------------------------------------------------
# Sender contract


class DeliveryError(Exception):
    """Base of the errors a ``Sender`` raises; the message is logged and stored."""


class RetryableError(DeliveryError):
    """Not accepted now (flood limit, server busy, no connection): try again after a pause."""

    def __init__(self, message: str, *, after_seconds: float = 30.0) -> None:
        super().__init__(message)
        self.after_seconds = after_seconds


class PermanentError(DeliveryError):
    """The chat cannot receive anything (blocked, kicked, channel gone): deactivate it."""


class RejectedError(DeliveryError):
    """This message was refused (bad request): fail the delivery but keep the subscription."""


class AmbiguousError(DeliveryError):
    """The send timed out after the request left: the platform may have delivered it."""


class ChatMovedError(DeliveryError):
    """The chat has a new id (a Telegram group became a supergroup)."""

    def __init__(self, message: str, *, new_chat_id: str) -> None:
        super().__init__(message)
        self.new_chat_id = new_chat_id


class Sender(Protocol):
    async def send(self, chat_id: str, payload: dict[str, Any]) -> list[str]:
        """Send one message; return the platform's message ids or raise a ``DeliveryError``."""
        ...


SenderLookup = Callable[[str], "Sender | None"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def default_owner() -> str:
    """This process as a lease owner: host and pid, plus a random part, because containers on
    one host can share a hostname and all run as pid 1."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------------------------
# Composing


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


# --------------------------------------------------------------------------------------------
# Delivering


@dataclass
class DeliveryStats:
    sent: int = 0  # deliveries completed with every part accepted
    messages: int = 0  # parts accepted by the platform
    ambiguous: int = 0  # parts that may or may not have arrived (timed out, or crash mid-send)
    retried: int = 0
    failed: int = 0
    deactivated: int = 0
    moved: int = 0


@dataclass(frozen=True, slots=True)
class _Part:
    """The next part of a row to send, read in one transaction."""

    platform: str
    chat_id: str
    attempts: int
    sub_id: int
    message: dict[str, Any]
    number: int


@dataclass
class DeliveryLoop:
    """Sends outbox rows; several loops (processes) can share one database."""

    sessions: sessionmaker[Session]
    sender_for_platform: SenderLookup
    platforms: Sequence[str] | None = None
    owner: str = field(default_factory=default_owner)
    lease_seconds: float = 120.0
    max_attempts: int = 8
    concurrency: int = 8
    clock: Callable[[], datetime] = utcnow
    stats: DeliveryStats = field(default_factory=DeliveryStats)
    # Per-platform send slots (bot.pacing), taken before a part is marked "sending" (a part
    # waiting for its slot is not in flight). A sender's own limiter then lets the send through.
    limiters: Mapping[str, SendSlots] = field(default_factory=dict)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # a short flood pause (tests record)

    def recover(self) -> int:
        with self.sessions.begin() as session:
            rows = outbox.recover_interrupted(session, owner=self.owner, now=self.clock())
            for row in rows:
                log.warning(
                    "delivery %s (subscription %s) was interrupted mid-send: part recorded as "
                    "ambiguous, not resent",
                    row.id,
                    row.subscription_id,
                )
        self.stats.ambiguous += len(rows)
        return len(rows)

    async def run_once(self, *, batch: int = 50) -> int:
        """Recover interrupted rows, then send every row that is due now; returns rows handled."""
        await asyncio.to_thread(self.recover)
        handled = 0
        gate = asyncio.Semaphore(self.concurrency)

        async def guarded(delivery_id: int) -> None:
            async with gate:
                await self.deliver_one(delivery_id)

        def claim(session: Session) -> list[int]:
            rows = outbox.claim_next(
                session,
                owner=self.owner,
                now=self.clock(),
                lease_seconds=self.lease_seconds,
                limit=batch,
                platforms=self.platforms,
            )
            return [row.id for row in rows]

        while True:
            ids = await self._tx(claim)
            if not ids:
                return handled
            await asyncio.gather(*(guarded(i) for i in ids))
            handled += len(ids)

    async def deliver_one(self, delivery_id: int) -> None:
        try:
            await self._deliver(delivery_id)
        except Exception:
            log.exception("delivery %s: unexpected error; lease left to expire", delivery_id)

    async def _tx(self, work: Callable[[Session], T]) -> T:
        """``work`` in its own transaction, in a worker thread, so reads and records do not block
        the loop. The in-flight mark is the exception (``_deliver``): the write follows it at once,
        with no wake-up between them for a crash to fall into.
        """

        def run() -> T:
            with self.sessions.begin() as session:
                return work(session)

        return await asyncio.to_thread(run)

    async def _slot(self, platform: str, chat_id: str) -> Callable[[], None] | None:
        """Wait for this platform's send slot (its rate limits), before the part is marked."""
        slots = self.limiters.get(platform)
        return None if slots is None else await slots.acquire(chat_id)

    async def _deliver(self, delivery_id: int) -> None:
        while True:
            part = await self._tx(lambda session: self._next_part(session, delivery_id))
            if part is None:
                return
            sender = self.sender_for_platform(part.platform)
            if sender is None:
                await self._tx(
                    functools.partial(
                        outbox.mark_retry,
                        delivery_id=delivery_id,
                        owner=self.owner,
                        not_before=self.clock() + timedelta(seconds=60),
                        error=f"no sender for platform {part.platform!r}",
                    )
                )
                return
            # The slot first, the mark as late as the sender allows, then the write: a crash
            # before the mark leaves the part pending, and it is sent after the lease runs out.
            written = await self._slot(part.platform, part.chat_id)

            async def mark() -> bool:  # on the loop: no thread hand-off between mark and write
                with self.sessions.begin() as session:
                    return outbox.begin_part(
                        session,
                        delivery_id=delivery_id,
                        owner=self.owner,
                        now=self.clock(),
                        lease_seconds=self.lease_seconds,
                    )

            try:
                sent = await send_marked(sender, part.chat_id, part.message, mark, written)
                if sent is None:  # the row is no longer ours: nothing was written
                    return
                ids: list[str] | None = [str(i) for i in sent]
            except Exception as exc:
                outcome = await self._failed(delivery_id, part, exc)
                if outcome == "again":
                    await self._reclaim(delivery_id)
                    continue
                if outcome == "stop":
                    return
                ids = None
            if await self._recorded(delivery_id, part, ids):
                return

    def _next_part(self, session: Session, delivery_id: int) -> _Part | None:
        row = outbox.get_delivery(session, delivery_id=delivery_id)
        if row is None or row.lease_owner != self.owner or row.status != "pending":
            return None
        sub = session.get(Subscription, row.subscription_id)
        messages = row.payload.get("messages", [])
        done = len(row.platform_message_ids)
        if sub is None or not sub.active:
            outbox.mark_failed(session, delivery_id=delivery_id, error="subscription inactive")
            self.stats.failed += 1
            return None
        if done >= len(messages):  # nothing left (an empty payload)
            outbox.record_part(
                session, delivery_id=delivery_id, owner=self.owner, message_ids=[], now=self.clock()
            )
            return None
        return _Part(
            platform=sub.platform,
            chat_id=sub.chat_id,
            attempts=row.attempts,
            sub_id=sub.id,
            message=messages[done],
            number=done + 1,
        )

    async def _failed(self, delivery_id: int, part: _Part, exc: Exception) -> str:
        """Record a failed send: "again" (resend now), "stop", or "ambiguous" (record None)."""
        platform, chat_id, sub_id = part.platform, part.chat_id, part.sub_id
        if isinstance(exc, AmbiguousError):
            self.stats.ambiguous += 1
            log.warning(
                "delivery %s part %d to %s:%s is ambiguous (%s): not resent",
                delivery_id,
                part.number,
                platform,
                chat_id,
                exc,
            )
            return "ambiguous"
        if isinstance(exc, RetryableError):
            retry = exc

            def later(session: Session) -> None:
                if part.attempts >= self.max_attempts:
                    outbox.mark_failed(
                        session,
                        delivery_id=delivery_id,
                        error=f"gave up after {part.attempts} attempts: {retry}",
                    )
                    self.stats.failed += 1
                else:
                    outbox.mark_retry(
                        session,
                        delivery_id=delivery_id,
                        owner=self.owner,
                        not_before=self.clock() + timedelta(seconds=retry.after_seconds),
                        error=str(retry),
                    )
                    self.stats.retried += 1

            await self._tx(later)
            log.info(
                "delivery %s to %s:%s retry in %.0fs: %s",
                delivery_id,
                platform,
                chat_id,
                exc.after_seconds,
                exc,
            )
            if exc.after_seconds <= INLINE_RETRY_SECONDS and part.attempts < self.max_attempts:
                await self.sleep(exc.after_seconds)  # pending meanwhile, not in flight
                return "again"
            return "stop"
        if isinstance(exc, ChatMovedError):
            moved = exc

            def move(session: Session) -> None:
                # The part was not delivered: send it again now, to the new chat.
                if outbox.move_subscription(
                    session, subscription_id=sub_id, new_chat_id=moved.new_chat_id
                ):
                    outbox.mark_retry(
                        session,
                        delivery_id=delivery_id,
                        owner=self.owner,
                        not_before=self.clock(),
                        error=f"chat moved to {moved.new_chat_id}",
                    )
                    self.stats.moved += 1
                else:
                    outbox.mark_failed(
                        session,
                        delivery_id=delivery_id,
                        error=f"chat moved to {moved.new_chat_id}, already subscribed",
                    )
                    outbox.deactivate_subscription(
                        session,
                        subscription_id=sub_id,
                        reason=f"chat moved to {moved.new_chat_id}, which is subscribed already",
                    )
                    self.stats.failed += 1

            await self._tx(move)
            log.warning("subscription %s: chat %s moved to %s", sub_id, chat_id, exc.new_chat_id)
            return "again"
        if isinstance(exc, PermanentError):
            error = str(exc)

            def gone(session: Session) -> None:
                outbox.mark_failed(session, delivery_id=delivery_id, error=error)
                outbox.deactivate_subscription(session, subscription_id=sub_id, reason=error)

            await self._tx(gone)
            self.stats.failed += 1
            self.stats.deactivated += 1
            log.warning("subscription %s (%s:%s) deactivated: %s", sub_id, platform, chat_id, exc)
            return "stop"
        if isinstance(exc, RejectedError):
            error = str(exc)
            await self._tx(
                lambda session: outbox.mark_failed(session, delivery_id=delivery_id, error=error)
            )
            self.stats.failed += 1
            log.warning("delivery %s to %s:%s rejected: %s", delivery_id, platform, chat_id, exc)
            return "stop"
        # Unknown failure after the request may have left: treat like a timeout.
        self.stats.ambiguous += 1
        log.error(
            "delivery %s part %d to %s:%s failed unexpectedly (%s): recorded as ambiguous",
            delivery_id,
            part.number,
            platform,
            chat_id,
            exc,
            exc_info=exc,
        )
        return "ambiguous"

    async def _recorded(self, delivery_id: int, part: _Part, ids: list[str] | None) -> bool:
        """Record the part's outcome; True when the row is finished (or no longer ours)."""

        def record(session: Session) -> Delivery | None:
            return outbox.record_part(
                session,
                delivery_id=delivery_id,
                owner=self.owner,
                message_ids=ids,
                now=self.clock(),
            )

        row = await self._tx(record)
        if row is None:
            log.warning(
                "delivery %s: lease lost before recording part %d", delivery_id, part.number
            )
            return True
        if ids is not None:
            self.stats.messages += 1
        finished = row.status in outbox.DONE
        if finished:
            if row.status == "sent":
                self.stats.sent += 1
            log.info(
                "delivery %s to %s:%s %s", delivery_id, part.platform, part.chat_id, row.status
            )
        return finished

    async def _reclaim(self, delivery_id: int) -> None:
        """Take the row back after a chat move or a short flood pause: this loop sends it on."""

        def take(session: Session) -> None:
            row = outbox.get_delivery(session, delivery_id=delivery_id)
            if row is not None and row.status == "pending" and row.lease_owner is None:
                row.attempts += 1
                row.lease_owner = self.owner
                row.lease_expires_at = self.clock() + timedelta(seconds=self.lease_seconds)

        await self._tx(take)


async def deliver_pending(
    sessions: sessionmaker[Session],
    sender_for_platform: SenderLookup,
    *,
    platforms: Sequence[str] | None = None,
    owner: str | None = None,
    lease_seconds: float = 120.0,
    concurrency: int = 8,
) -> DeliveryStats:
    """Send every outbox row that is due now; returns what happened."""
    loop = DeliveryLoop(
        sessions=sessions,
        sender_for_platform=sender_for_platform,
        platforms=platforms,
        owner=owner or default_owner(),
        lease_seconds=lease_seconds,
        concurrency=concurrency,
    )
    await loop.run_once()
    return loop.stats
