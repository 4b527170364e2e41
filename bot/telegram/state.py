"""What the Telegram handlers and jobs share: the state kept in ``application.bot_data``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker
from telegram.ext import Application

from bot.chat.services import Services
from bot.telegram.sender import TelegramSender

PLATFORM = "telegram"
INSTANT_INTERVAL_SECONDS = 60.0


class DigestRunner(Protocol):
    """Compose, record and send one subscription's digest (kind "digest") or alert ("instant")."""

    async def __call__(
        self, subscription_id: int, *, kind: str, sender: TelegramSender
    ) -> None: ...


@dataclass
class TelegramBotState:
    """Everything the handlers need, kept in ``application.bot_data``."""

    services: Services
    sessions: sessionmaker[Session]
    admin_ids: frozenset[int]
    digest_runner: DigestRunner | None = None
    instant_interval: float = INSTANT_INTERVAL_SECONDS
    sender: TelegramSender | None = None
    errors: list[BaseException] = field(default_factory=list)


def bot_state(application: Application[Any, Any, Any, Any, Any, Any]) -> TelegramBotState:
    state = application.bot_data["nkwatch"]
    assert isinstance(state, TelegramBotState)
    return state
