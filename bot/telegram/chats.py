"""What a Telegram error says about a chat, written to its subscription: a chat that blocked or
removed the bot is deactivated, and a group that became a supergroup keeps its subscription."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.ext import Application

from bot.chat.services import SubscriptionView
from bot.telegram.state import PLATFORM, bot_state
from storage import subscriptions as subs_store
from storage.db import transaction

log = logging.getLogger(__name__)


async def migrate_subscription(
    application: Application[Any, Any, Any, Any, Any, Any], old: int | str, new: int | str
) -> None:
    state = bot_state(application)

    def work() -> SubscriptionView | None:
        with transaction(state.sessions) as session:
            sub = subs_store.migrate_chat(
                session, platform=PLATFORM, old_chat_id=str(old), new_chat_id=str(new)
            )
            return SubscriptionView.of(sub) if sub is not None else None

    view = await asyncio.to_thread(work)
    if view is not None:
        log.info("telegram chat %s migrated to %s; subscription %s follows", old, new, view.id)
        state.services.schedule.subscription_changed(view)


async def deactivate_chat(
    application: Application[Any, Any, Any, Any, Any, Any], chat_id: int | str, reason: str
) -> None:
    state = bot_state(application)

    def work() -> SubscriptionView | None:
        with transaction(state.sessions) as session:
            if not subs_store.deactivate(
                session, platform=PLATFORM, chat_id=str(chat_id), reason=reason
            ):
                return None
            sub = subs_store.get_subscription(session, platform=PLATFORM, chat_id=str(chat_id))
            return SubscriptionView.of(sub) if sub is not None else None

    view = await asyncio.to_thread(work)
    if view is not None:
        log.warning("telegram chat %s deactivated: %s", chat_id, reason)
        state.services.schedule.subscription_changed(view)
