"""The Slack ``Sender`` for the delivery outbox and the Web API client it rides on.

``chat.postMessage`` answers are classified once, here:

* HTTP 429: slack_sdk's rate-limit retry handler waits out ``Retry-After`` and tries again (a 429
  means nothing was posted). A pause longer than ``max_wait``, or one 429 too many, goes back to
  the outbox as ``RetryableError`` with Slack's pause, so one channel never blocks the loop long.
  An outbox send (it holds a send slot, ``bot.pacing.PACED``) is not retried here: the outbox
  waits the pause out with the part pending, not marked in flight.
* ``channel_not_found``, ``not_in_channel``, ``account_inactive``, ``is_archived``,
  ``channel_is_archived`` (and a revoked token): the channel cannot receive anything, so
  ``PermanentError`` and the outbox deactivates the subscription with a log line.
* other API errors (``invalid_blocks``, ``msg_too_long``...): this message is refused.
* a timeout or a dropped connection after the request left: ``AmbiguousError`` (Slack may have
  posted it; never resent). A refused connection sent nothing: ``RetryableError``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import AmbiguousError, PermanentError, RejectedError, RetryableError
from bot.pacing import PACED

log = logging.getLogger(__name__)

PLATFORM = "slack"

CHANNEL_GONE = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "account_inactive",
        "is_archived",
        "channel_is_archived",
        "invalid_auth",
        "token_revoked",
        "team_access_not_granted",
    }
)

Sleep = Callable[[float], Awaitable[None]]


def retry_after(headers: Any, default: float = 30.0) -> float:
    """Seconds from a ``Retry-After`` header (slack_sdk gives header values as lists)."""
    if not headers:
        return default
    for key, value in dict(headers).items():
        if str(key).lower() == "retry-after":
            raw = value[0] if isinstance(value, (list, tuple)) and value else value
            try:
                return max(0.0, float(str(raw)))
            except ValueError:
                return default
    return default


class RetryAfterWait(AsyncRateLimitErrorRetryHandler):
    """Wait exactly ``Retry-After`` on a 429, up to ``max_wait`` seconds, then retry the call."""

    def __init__(
        self, *, max_retry_count: int = 2, max_wait: float = 30.0, sleep: Sleep | None = None
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self._sleep = sleep or asyncio.sleep
        self.waited: list[float] = []

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429 or PACED.get():
            return False  # an outbox send waits its pause out as "pending" (bot.outbox)
        return retry_after(response.headers, default=1.0) <= self.max_wait

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        seconds = retry_after(response.headers if response is not None else None, default=1.0)
        log.info("slack: rate limited on %s, waiting %.0fs (Retry-After)", request.url, seconds)
        self.waited.append(seconds)
        state.next_attempt_requested = True
        await self._sleep(seconds)
        state.increment_current_attempt()


def make_client(
    token: str,
    *,
    base_url: str | None = None,
    max_wait: float = 30.0,
    retries: int = 2,
    timeout: int = 30,
    sleep: Sleep | None = None,
) -> AsyncWebClient:
    """The Web API client every Slack call goes through (replies, digests, admin checks).

    Only 429s are retried: slack_sdk's default connection-error retry could post a message twice.
    """
    handlers: list[AsyncRetryHandler] = [
        RetryAfterWait(max_retry_count=retries, max_wait=max_wait, sleep=sleep)
    ]
    kwargs: dict[str, Any] = {"token": token, "timeout": timeout, "retry_handlers": handlers}
    if base_url:
        kwargs["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
    return AsyncWebClient(**kwargs)


class SlackSender:
    """``bot.outbox.loop.Sender`` posting Block Kit messages with ``chat.postMessage``."""

    platform = PLATFORM

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def send(self, chat_id: str, payload: dict[str, Any]) -> list[str]:
        blocks = payload.get("blocks")
        try:
            response = await self._client.chat_postMessage(
                channel=chat_id,
                text=str(payload.get("text") or " "),
                blocks=blocks if blocks else None,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            raise classify(exc) from exc
        except aiohttp.ClientConnectorError as exc:
            raise RetryableError(f"slack: cannot connect: {exc}", after_seconds=30.0) from exc
        except (TimeoutError, aiohttp.ClientError, SlackRequestError) as exc:
            raise AmbiguousError(f"slack: {type(exc).__name__}: {exc}") from exc
        ts = response.get("ts")
        return [str(ts)] if ts else []


def classify(exc: SlackApiError) -> Exception:
    """The delivery error a Web API error means."""
    response = exc.response
    error = str(response.get("error", "")) if response is not None else ""
    status = int(getattr(response, "status_code", 0) or 0)
    if status == 429 or error == "ratelimited":
        after = retry_after(getattr(response, "headers", None))
        return RetryableError(f"slack: rate limited for {after:.0f}s", after_seconds=after)
    if error in CHANNEL_GONE:
        return PermanentError(f"slack: {error}")
    if status == 503:
        return RetryableError(f"slack: service unavailable ({error})", after_seconds=60.0)
    if status >= 500:
        return AmbiguousError(f"slack: server error {status} ({error})")
    return RejectedError(f"slack: {error or exc}")
