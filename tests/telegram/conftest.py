from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from telegram.ext import Application

from bot.context import AppContext
from bot.settings import Settings
from bot.telegram.app import build_application, start_application, stop_application
from bot.telegram.limiter import ChatRateLimiter
from bot.telegram.state import TelegramBotState
from tests.conftest import Database
from tests.helpers.telegram_server import TelegramTestServer

ADMIN = 1


@dataclass
class Bot:
    server: TelegramTestServer
    app: Application[Any, Any, Any, Any, Any, Any]
    ctx: AppContext

    @property
    def state(self) -> TelegramBotState:
        state = self.app.bot_data["nkwatch"]
        assert isinstance(state, TelegramBotState)
        return state

    async def ask(
        self,
        text: str,
        *,
        chat_id: int = 42,
        user_id: int = 42,
        replies: int = 1,
        chat_type: str = "private",
    ) -> list[str]:
        """Send a command as a user and return the texts of the replies it produced."""
        before = len(self.server.sent("sendMessage", chat_id))
        await self.server.send_command(text, chat_id=chat_id, user_id=user_id, chat_type=chat_type)
        calls = await self.server.wait_sent(before + replies, chat_id=chat_id)
        return [str(c.params["text"]) for c in calls[before:]]


@pytest.fixture
async def server() -> AsyncIterator[TelegramTestServer]:
    srv = TelegramTestServer()
    await srv.start()
    yield srv
    await srv.stop()


BotFactory = Callable[..., Any]


@pytest.fixture
async def make_bot(server: TelegramTestServer, db: Database) -> AsyncIterator[BotFactory]:
    started: list[Bot] = []

    async def factory(**kwargs: Any) -> Bot:
        settings = Settings(
            database_url=db.url,
            telegram_token=server.token,
            telegram_base_url=server.base_url,
            telegram_admin_ids=[ADMIN],
            allow_private_feeds=True,
            semantic="off",
        )
        ctx = AppContext(settings=settings, upgrade_on_start=False)
        kwargs.setdefault("rate_limiter", ChatRateLimiter(per_chat_rate=1000))
        app = build_application(ctx, **kwargs)
        await start_application(app)
        bot = Bot(server=server, app=app, ctx=ctx)
        started.append(bot)
        return bot

    yield factory
    for bot in started:
        await stop_application(bot.app)
        bot.ctx.close()
