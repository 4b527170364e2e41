"""Senders and send pacing for the outbox loop (bot/outbox/loop.py) that are not a chat front end.

``LoopbackSender`` POSTs to a loopback recorder (tests, the crash test, benchmarks);
``platform_limiters`` gives the send slots (``bot.pacing``) ``DeliveryLoop`` takes before marking
a part in flight; ``telegram_rate_limiter`` is a bucket-of-one PTB limiter (the benchmark's
"pacing inside the send" baseline).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from bot.errors import AmbiguousError, ChatMovedError, PermanentError, RejectedError, RetryableError
from bot.outbox.loop import Sender
from bot.pacing import SendSlots, slack_slots, telegram_slots


def platform_limiters(senders: Mapping[str, Sender]) -> dict[str, SendSlots]:
    """Send slots (sliding windows, bot.pacing) for the real platform senders among ``senders``."""
    limiters: dict[str, SendSlots] = {}
    for name, make in (("telegram", telegram_slots), ("slack", slack_slots)):
        sender = senders.get(name)
        if sender is not None and getattr(sender, "platform", None) == name:
            limiters[name] = make()
    return limiters


class LoopbackSender:
    """POSTs each message as JSON to a recording endpoint (tests, the crash test, benchmarks).

    Not a chat platform: it lets a real ``nkwatch`` process deliver somewhere observable without a
    token. Only loopback URLs are accepted. The endpoint answers ``{"message_ids": [...]}``, or 429
    with ``retry_after``, 403 (chat gone), 400 (rejected), or a JSON ``migrate_to_chat_id``.
    """

    def __init__(self, url: str, client: httpx.AsyncClient, *, timeout: float = 10.0) -> None:
        host = httpx.URL(url).host
        if host not in ("127.0.0.1", "localhost", "::1"):
            msg = f"loopback sender only posts to loopback, not {host!r}"
            raise ValueError(msg)
        self.url = url
        self.client = client
        self.timeout = timeout

    async def send(self, chat_id: str, payload: dict[str, Any]) -> list[str]:
        return await self._post(chat_id, payload, extensions={})

    async def send_marked(
        self, chat_id: str, payload: dict[str, Any], on_write: Callable[[], Awaitable[None]]
    ) -> list[str]:
        """``send``, calling ``on_write`` just before the request's body is written.

        The body, not the headers: a recipient drops a request whose body never came, so a crash
        after the headers but before the mark leaves a part that is known unsent (sent again).
        """

        async def trace(event: str, info: dict[str, Any]) -> None:
            if event == "http11.send_request_body.started":
                await on_write()

        return await self._post(chat_id, payload, extensions={"trace": trace})

    async def _post(
        self, chat_id: str, payload: dict[str, Any], *, extensions: dict[str, Any]
    ) -> list[str]:
        try:
            response = await self.client.post(
                self.url,
                json={"chat_id": chat_id, "message": payload},
                timeout=self.timeout,
                extensions=extensions,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise RetryableError(f"cannot connect: {exc}", after_seconds=1.0) from exc
        except httpx.TimeoutException as exc:
            raise AmbiguousError(f"timed out: {exc!r}") from exc
        body: dict[str, Any] = {}
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 429:
            raise RetryableError("rate limited", after_seconds=float(body.get("retry_after", 1)))
        if response.status_code == 403:
            raise PermanentError(str(body.get("description", "forbidden")))
        if "migrate_to_chat_id" in body:
            raise ChatMovedError("chat migrated", new_chat_id=str(body["migrate_to_chat_id"]))
        if response.status_code == 400:
            raise RejectedError(str(body.get("description", "bad request")))
        if response.status_code >= 500:
            raise AmbiguousError(f"server error {response.status_code}")
        return [str(i) for i in body.get("message_ids", [])]


def telegram_rate_limiter(per_second: float = 29.0, *, max_retries: int = 0) -> Any:
    """``AIORateLimiter`` paced evenly at ``per_second`` overall (default limits per group chat).

    The default ``AIORateLimiter(overall_max_rate=30)`` is a bucket of 30 that starts full, so
    the first second can carry ~60 messages, which Telegram answers with 429. A bucket of one
    refilled every 1/``per_second`` s never bursts. ``max_retries=0``: a 429 goes back to the
    outbox as ``RetryableError`` instead of being retried inside the send.
    """
    from telegram.ext import AIORateLimiter  # noqa: PLC0415

    return AIORateLimiter(
        overall_max_rate=1, overall_time_period=1 / per_second, max_retries=max_retries
    )
