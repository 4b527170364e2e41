"""The Telegram Bot API rate limiter for command replies: PTB's limits plus one per chat."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

from bot.pacing import PACED

MAX_RETRY_AFTER_RETRIES = 3


class ChatRateLimiter(AIORateLimiter):
    """``AIORateLimiter`` (30/s overall, 20/min per group) plus 1 message per second per chat.

    The stock limiter has no per-chat limit for private chats; Telegram asks for about one
    message per second per chat, so sends to one chat are spaced here too. A ``RetryAfter`` is
    waited out and retried up to ``max_retries`` times (a 429 means nothing was delivered).
    An outbox send took its slot before it was marked in flight (``bot.pacing``): it goes through.
    """

    def __init__(
        self, *, per_chat_rate: float = 1.0, per_chat_period: float = 1.0, **kwargs: Any
    ) -> None:
        kwargs.setdefault("overall_max_rate", 30)
        kwargs.setdefault("overall_time_period", 1)
        kwargs.setdefault("group_max_rate", 20)
        kwargs.setdefault("group_time_period", 60)
        kwargs.setdefault("max_retries", MAX_RETRY_AFTER_RETRIES)
        super().__init__(**kwargs)
        self._per_chat_rate = per_chat_rate
        self._per_chat_period = per_chat_period
        self._chat_limiters: dict[str, AsyncLimiter] = {}

    def _chat_limiter(self, chat_id: object) -> AsyncLimiter:
        key = str(chat_id)
        if len(self._chat_limiters) > 4096:
            for other, limiter in list(self._chat_limiters.items()):
                if other != key and limiter.has_capacity(limiter.max_rate):
                    del self._chat_limiters[other]
        if key not in self._chat_limiters:
            self._chat_limiters[key] = AsyncLimiter(self._per_chat_rate, self._per_chat_period)
        return self._chat_limiters[key]

    async def process_request(  # noqa: PLR0917 - the base class signature
        self,
        callback: Callable[..., Any],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if PACED.get():  # an outbox send that already holds its slot (bot.pacing): no 2nd wait
            PACED.set(False)
            return await callback(*args, **kwargs)
        chat_id = data.get("chat_id")
        if (
            chat_id is not None
            and self._per_chat_rate
            and endpoint.startswith(("send", "edit", "copy", "forward"))
        ):
            async with self._chat_limiter(chat_id):
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
