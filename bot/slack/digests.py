"""Digests and instant alerts for Slack channels through the shared outbox (``bot.outbox``).

No per-channel timers: ``compose_due`` already knows which daily digests are due (a channel's
local digest time has passed and its window is not covered yet), so one tick every
``interval`` seconds composes what is due into the outbox and sends the Slack rows through the
``SlackSender``. A subscription change wakes the loop early. Composing is idempotent, so a tick
that runs twice never sends twice; a lock keeps this process to one pass at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.chat.services import SubscriptionView
from bot.outbox.compose import ComposeStats
from bot.outbox.loop import DeliveryStats, Sender, utcnow
from bot.outbox.platform_pass import compose_and_send
from bot.pacing import SendSlots, slack_slots

log = logging.getLogger(__name__)

PLATFORM = "slack"
SETTLE_SECONDS = 30.0


@dataclass
class TickResult:
    composed: int
    handled: int


@dataclass
class SlackDigests:
    """The Slack digest loop; also the command layer's ``ScheduleHook`` (it wakes the loop)."""

    sessions: sessionmaker[Session]
    sender: Sender
    interval: float = 60.0
    clock: Callable[[], datetime] = utcnow
    settle_seconds: float = SETTLE_SECONDS
    composed: ComposeStats = field(default_factory=ComposeStats)
    delivered: DeliveryStats = field(default_factory=DeliveryStats)
    # Taken before a part is marked in flight; kept across ticks (a channel's window outlives one).
    limiters: dict[str, SendSlots] = field(default_factory=lambda: {PLATFORM: slack_slots()})
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # a 429's pause, part not in flight
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def subscription_changed(self, sub: SubscriptionView) -> None:
        if sub.platform == PLATFORM:
            self._wake.set()

    async def tick(self) -> TickResult:
        """Compose what is due now and send every Slack row the outbox holds."""
        async with self._lock:
            result = await compose_and_send(
                self.sessions,
                self.sender,
                platform=PLATFORM,
                clock=self.clock,
                settle_seconds=self.settle_seconds,
                composed=self.composed,
                delivered=self.delivered,
                limiters=self.limiters,
                sleep=self.sleep,
            )
            if result.composed or result.handled:
                log.info(
                    "slack digests: %d composed, %d deliveries handled",
                    result.composed,
                    result.handled,
                )
            return TickResult(composed=result.composed, handled=result.handled)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; one failed tick is logged and the loop goes on."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("slack digest tick failed")
            self._wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(
                    waiters, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiter
