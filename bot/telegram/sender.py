"""The Telegram ``Sender`` for the delivery outbox: one message out, every failure classified.

``RetryAfter`` has already been waited out (and retried) by the rate limiter when it reaches
here, so one that still escapes becomes ``RetryableError`` with Telegram's pause. A timed-out send
is ``AmbiguousError``: Telegram may have delivered it, so it is never resent blindly. A payload
with a base64 ``photo`` (a series alert's chart) goes out with ``sendPhoto``, its text the caption.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.errors import AmbiguousError, ChatMovedError, PermanentError, RejectedError, RetryableError

PLATFORM = "telegram"

# BadRequest descriptions that mean the chat itself is gone, not that this message was bad.
_CHAT_GONE = (
    "chat not found",
    "group chat was deactivated",
    "user is deactivated",
    "peer_id_invalid",
    "bot was kicked",
    "not enough rights to send text",
)


def chat_ref(chat_id: str) -> int | str:
    """Telegram ids are integers; ``@channelname`` stays a string."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class TelegramSender:
    """``bot.outbox.loop.Sender`` over a python-telegram-bot ``Bot`` (rate limiter included)."""

    platform = PLATFORM

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, chat_id: str, payload: dict[str, Any]) -> list[str]:
        """``sendMessage``; or ``sendPhoto`` with the text as caption when the payload carries a
        base64 ``photo`` (a series alert's chart)."""
        text = str(payload.get("text", ""))
        markup = payload.get("reply_markup")
        keyboard = (
            InlineKeyboardMarkup.de_json(markup, self._bot) if isinstance(markup, dict) else None
        )
        photo = payload.get("photo")
        try:
            if isinstance(photo, str):
                message = await self._bot.send_photo(
                    chat_id=chat_ref(chat_id),
                    photo=base64.b64decode(photo),
                    filename=str(payload.get("filename") or "chart.png"),
                    caption=text,
                    parse_mode=payload.get("parse_mode", ParseMode.HTML),
                    reply_markup=keyboard,
                )
            else:
                message = await self._bot.send_message(
                    chat_id=chat_ref(chat_id),
                    text=text,
                    parse_mode=payload.get("parse_mode", ParseMode.HTML),
                    link_preview_options=NO_PREVIEW,  # not every Bot carries our Defaults
                    reply_markup=keyboard,
                )
        except ChatMigrated as exc:
            raise ChatMovedError(str(exc), new_chat_id=str(exc.new_chat_id)) from exc
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise RetryableError(str(exc), after_seconds=seconds) from exc
        except Forbidden as exc:
            raise PermanentError(f"forbidden: {exc.message}") from exc
        except BadRequest as exc:
            if any(marker in exc.message.lower() for marker in _CHAT_GONE):
                raise PermanentError(f"chat gone: {exc.message}") from exc
            raise RejectedError(f"bad request: {exc.message}") from exc
        except TimedOut as exc:
            raise AmbiguousError(f"timed out: {exc.message}") from exc
        except NetworkError as exc:
            # Refused before anything was sent: safe to try again. Anything else may have arrived.
            if isinstance(exc.__cause__, httpx.ConnectError):
                raise RetryableError(f"cannot connect: {exc.message}", after_seconds=30) from exc
            raise AmbiguousError(f"network error: {exc.message}") from exc
        except TelegramError as exc:
            raise AmbiguousError(f"telegram error: {exc.message}") from exc
        return [str(message.message_id)]
