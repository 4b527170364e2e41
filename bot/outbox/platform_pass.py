"""One outbox pass for one platform: compose what is due, then send that platform's rows.

The Telegram jobs (``bot.telegram.digests``) and the Slack tick (``bot.slack.digests``) both run
this; composing is idempotent, so a pass that runs twice never sends twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.outbox.compose import ComposeStats, compose_due
from bot.outbox.loop import DeliveryLoop, DeliveryStats, Sender
from bot.pacing import SendSlots


@dataclass(frozen=True, slots=True)
class PassResult:
    composed: int  # deliveries composed in this pass
    handled: int  # outbox rows this pass sent or settled


async def compose_and_send(
    sessions: sessionmaker[Session],
    sender: Sender,
    *,
    platform: str,
    clock: Callable[[], datetime],
    settle_seconds: float,
    composed: ComposeStats,
    delivered: DeliveryStats,
    limiters: Mapping[str, SendSlots],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> PassResult:
    """Compose every due delivery of ``platform`` at ``clock()``, then send its rows through
    ``sender``; adds to the running totals ``composed`` and ``delivered``."""
    now = clock()

    def compose() -> ComposeStats:
        with sessions() as session:
            return compose_due(session, now, settle_seconds=settle_seconds, platforms=[platform])

    stats = await asyncio.to_thread(compose)
    composed.composed += stats.composed
    composed.skipped_empty += stats.skipped_empty
    loop = DeliveryLoop(
        sessions=sessions,
        sender_for_platform=lambda name: sender if name == platform else None,
        platforms=[platform],
        clock=clock,
        stats=delivered,
        limiters=limiters,
        sleep=sleep,
    )
    handled = await loop.run_once()
    return PassResult(composed=stats.composed, handled=handled)
