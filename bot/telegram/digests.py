"""Digest and instant-alert delivery for Telegram through the shared outbox (``bot.outbox``).

A job (a chat's daily digest time, or the instant-alert tick) composes whatever is due into the
outbox and then sends the outbox's Telegram rows through ``TelegramSender``. Composing is
idempotent (a covered window is never composed twice), so overlapping jobs cannot double-send;
a lock keeps this process to one delivery pass at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.digest.expand import EXPIRED, press
from bot.digest.payloads import telegram_part
from bot.outbox.compose import ComposeStats
from bot.outbox.loop import DeliveryStats, Sender, utcnow
from bot.outbox.platform_pass import compose_and_send
from bot.pacing import telegram_slots
from bot.telegram.sender import NO_PREVIEW

log = logging.getLogger(__name__)

PLATFORM = "telegram"
SETTLE_SECONDS = 30.0  # claims committed just before the digest time still make it in
DIGEST_BUTTON = r"^d[xc]:"  # callback data of a digest's "Show repeated" / "Hide" button


class OutboxRunner:
    """The ``DigestRunner`` the Telegram app calls from its jobs."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utcnow,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._settle = settle_seconds
        self._lock = asyncio.Lock()
        self.composed = ComposeStats()
        self.delivered = DeliveryStats()
        # One set of send slots for every pass: Telegram's windows outlive a single pass.
        self.limiters = {PLATFORM: telegram_slots()}

    async def idle(self) -> None:
        """Return once no delivery pass is running (for shutdown and tests)."""
        async with self._lock:
            return

    async def __call__(self, subscription_id: int, *, kind: str, sender: Sender) -> None:
        async with self._lock:
            result = await compose_and_send(
                self._sessions,
                sender,
                platform=PLATFORM,
                clock=self._clock,
                settle_seconds=self._settle,
                composed=self.composed,
                delivered=self.delivered,
                limiters=self.limiters,
            )
            log.info(
                "telegram %s job (subscription %s): %d composed, %d deliveries handled",
                kind,
                subscription_id,
                result.composed,
                result.handled,
            )


ButtonHandler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def digest_button(sessions: sessionmaker[Session]) -> ButtonHandler:
    """The ``CallbackQueryHandler`` callback that shows or hides a digest message's repeated
    facts by editing the message in place; the work is in ``bot.digest``."""

    async def on_digest_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.message is None:
            return
        shown = await press(
            sessions,
            data=query.data or "",
            platform=PLATFORM,
            chat_id=str(query.message.chat.id),
            draw=telegram_part,
        )
        if not shown:
            await query.answer(EXPIRED)
            return
        await query.answer()
        markup = shown["reply_markup"]
        try:
            await query.edit_message_text(
                shown["text"],
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=InlineKeyboardMarkup.de_json(markup, context.bot) if markup else None,
            )
        except BadRequest as exc:  # pressed twice: the message already shows this
            if "not modified" not in exc.message.lower():
                raise

    return on_digest_button
