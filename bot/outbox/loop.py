"""Deliver the outbox: send recorded messages and record the platform's answer after each part.

Storage (``storage.deliveries``) explains the row states and what a crash at each point leaves.
A ``Sender`` sends one message (one part of a delivery) and classifies every failure as a
``bot.errors.DeliveryError``; each outcome has its own method here: sent (``_recorded``), retry
(try later), permanent (the chat is gone: deactivate the subscription), rejected (this message is
refused: fail the delivery, keep the subscription), moved (send to the new chat id) and
ambiguous (timed out: the platform may have delivered it, so it is recorded, logged and counted,
never resent).
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
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot.errors import AmbiguousError, ChatMovedError, PermanentError, RejectedError, RetryableError
from bot.pacing import SendSlots, send_marked
from storage import deliveries as outbox
from storage import subscriptions as subs_store
from storage.models import Delivery

log = logging.getLogger(__name__)
T = TypeVar("T")
INLINE_RETRY_SECONDS = 10.0  # a short flood pause is waited out in this pass, the part pending
Outcome = Literal["again", "stop", "ambiguous"]  # resend now, stop this row, record it as maybe


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
        """Send the row's parts in order until it is finished, stopped, or no longer ours."""
        while True:
            part = await self._tx(lambda session: self._next_part(session, delivery_id))
            if part is None:
                return
            sender = self.sender_for_platform(part.platform)
            if sender is None:
                await self._no_sender(delivery_id, part)
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
        sub = subs_store.get_subscription_by_id(session, subscription_id=row.subscription_id)
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

    async def _failed(self, delivery_id: int, part: _Part, exc: Exception) -> Outcome:
        """Record a failed send: "again" (resend now), "stop", or "ambiguous" (record None)."""
        if isinstance(exc, AmbiguousError):
            return self._ambiguous(delivery_id, part, exc)
        if isinstance(exc, RetryableError):
            return await self._retry(delivery_id, part, exc)
        if isinstance(exc, ChatMovedError):
            return await self._moved(delivery_id, part, exc)
        if isinstance(exc, PermanentError):
            return await self._permanent(delivery_id, part, exc)
        if isinstance(exc, RejectedError):
            return await self._rejected(delivery_id, part, exc)
        return self._unexpected(delivery_id, part, exc)

    async def _no_sender(self, delivery_id: int, part: _Part) -> None:
        """No sender for the platform in this process: the row waits a minute for another."""
        await self._tx(
            functools.partial(
                outbox.mark_retry,
                delivery_id=delivery_id,
                owner=self.owner,
                not_before=self.clock() + timedelta(seconds=60),
                error=f"no sender for platform {part.platform!r}",
            )
        )

    def _ambiguous(self, delivery_id: int, part: _Part, exc: AmbiguousError) -> Outcome:
        """Timed out after the request left: recorded as maybe delivered, never resent."""
        self.stats.ambiguous += 1
        log.warning(
            "delivery %s part %d to %s:%s is ambiguous (%s): not resent",
            delivery_id,
            part.number,
            part.platform,
            part.chat_id,
            exc,
        )
        return "ambiguous"

    def _unexpected(self, delivery_id: int, part: _Part, exc: Exception) -> Outcome:
        """An unknown failure after the request may have left: treated like a timeout."""
        self.stats.ambiguous += 1
        log.error(
            "delivery %s part %d to %s:%s failed unexpectedly (%s): recorded as ambiguous",
            delivery_id,
            part.number,
            part.platform,
            part.chat_id,
            exc,
            exc_info=exc,
        )
        return "ambiguous"

    async def _retry(self, delivery_id: int, part: _Part, exc: RetryableError) -> Outcome:
        """Not taken now: pending again after the pause (waited out here when it is short), or
        failed once the row has used its attempts."""

        def later(session: Session) -> None:
            if part.attempts >= self.max_attempts:
                outbox.mark_failed(
                    session,
                    delivery_id=delivery_id,
                    error=f"gave up after {part.attempts} attempts: {exc}",
                )
                self.stats.failed += 1
            else:
                outbox.mark_retry(
                    session,
                    delivery_id=delivery_id,
                    owner=self.owner,
                    not_before=self.clock() + timedelta(seconds=exc.after_seconds),
                    error=str(exc),
                )
                self.stats.retried += 1

        await self._tx(later)
        log.info(
            "delivery %s to %s:%s retry in %.0fs: %s",
            delivery_id,
            part.platform,
            part.chat_id,
            exc.after_seconds,
            exc,
        )
        if exc.after_seconds <= INLINE_RETRY_SECONDS and part.attempts < self.max_attempts:
            await self.sleep(exc.after_seconds)  # pending meanwhile, not in flight
            return "again"
        return "stop"

    async def _moved(self, delivery_id: int, part: _Part, exc: ChatMovedError) -> Outcome:
        """The chat has a new id: the subscription follows it and the part goes there now, unless
        the new chat is subscribed already (then this one is deactivated)."""
        new_chat_id = exc.new_chat_id

        def move(session: Session) -> None:
            if outbox.move_subscription(
                session, subscription_id=part.sub_id, new_chat_id=new_chat_id
            ):
                outbox.mark_retry(
                    session,
                    delivery_id=delivery_id,
                    owner=self.owner,
                    not_before=self.clock(),
                    error=f"chat moved to {new_chat_id}",
                )
                self.stats.moved += 1
            else:
                outbox.mark_failed(
                    session,
                    delivery_id=delivery_id,
                    error=f"chat moved to {new_chat_id}, already subscribed",
                )
                outbox.deactivate_subscription(
                    session,
                    subscription_id=part.sub_id,
                    reason=f"chat moved to {new_chat_id}, which is subscribed already",
                )
                self.stats.failed += 1

        await self._tx(move)
        log.warning("subscription %s: chat %s moved to %s", part.sub_id, part.chat_id, new_chat_id)
        return "again"

    async def _permanent(self, delivery_id: int, part: _Part, exc: PermanentError) -> Outcome:
        """The chat cannot receive anything: fail the row and deactivate the subscription."""
        error = str(exc)

        def gone(session: Session) -> None:
            outbox.mark_failed(session, delivery_id=delivery_id, error=error)
            outbox.deactivate_subscription(session, subscription_id=part.sub_id, reason=error)

        await self._tx(gone)
        self.stats.failed += 1
        self.stats.deactivated += 1
        log.warning(
            "subscription %s (%s:%s) deactivated: %s", part.sub_id, part.platform, part.chat_id, exc
        )
        return "stop"

    async def _rejected(self, delivery_id: int, part: _Part, exc: RejectedError) -> Outcome:
        """This message is refused: fail the row, keep the subscription."""
        error = str(exc)
        await self._tx(
            lambda session: outbox.mark_failed(session, delivery_id=delivery_id, error=error)
        )
        self.stats.failed += 1
        log.warning(
            "delivery %s to %s:%s rejected: %s", delivery_id, part.platform, part.chat_id, exc
        )
        return "stop"

    async def _recorded(self, delivery_id: int, part: _Part, ids: list[str] | None) -> bool:
        """Record the part as sent (``ids``) or ambiguous (None); True when the row is finished
        (or no longer ours)."""

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
