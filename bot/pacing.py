"""Send slots for the outbox loop: platform rate limits held as true sliding windows.

Telegram refuses (429) a bot that sends more than 30 messages in *any* one-second span, more than
about one a second to one chat, or more than 20 a minute to one group. A leaky bucket
(``aiolimiter``) keeps the average but lets a full bucket drain at once, so arrivals can exceed 30
in a one-second window; ``SlidingWindow`` remembers the last ``limit`` send times and never lets
``limit + 1`` of them fall inside ``period``.

``DeliveryLoop`` takes a slot (``SendSlots.acquire``) *before* it marks a part in flight, so a
part waiting for a slot is never the one a crash leaves "ambiguous". ``send_marked`` then marks
the part at the last moment: just before the request's first byte is written when the sender can
say when that is (``LoopbackSender.send_marked``), else right before the send.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from bot.errors import PlatformError, RetryableError

log = logging.getLogger(__name__)

# Set once a delivery send has its slot: a rate limiter inside the send (the Telegram app's
# ChatRateLimiter, for command replies) lets that one request through without pacing it again.
PACED: contextvars.ContextVar[bool] = contextvars.ContextVar("nkwatch_paced", default=False)


class SlidingWindow:
    """At most ``limit`` sends in any ``period`` seconds, and acquisitions ``spacing`` apart.

    A slot is reserved at ``acquire`` and stamped again when its request is written
    (``Slot.written``): marking a part in flight is a database commit between the two, and its
    time varies, so pacing reservations alone lets sends delayed by a slow commit bunch up with
    later ones. Counting the later write time keeps the window on what actually went out.
    ``spacing`` spreads a window's sends over it instead of sending ``limit`` at once.
    """

    def __init__(
        self,
        limit: int,
        period: float,
        *,
        spacing: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or period <= 0:
            msg = f"a window needs limit >= 1 and period > 0, not {limit}/{period}"
            raise ValueError(msg)
        self.limit = limit
        self.period = period
        self.spacing = spacing
        self._clock = clock
        # Twice the limit: a send written late may outlive the ``limit`` reserved after it.
        self._slots: deque[list[float]] = deque(maxlen=2 * limit)
        self._last = -math.inf
        self._usual: float | None = None  # the usual reservation-to-write delay
        self._lock = asyncio.Lock()

    def wait_time(self, now: float) -> float:
        """Seconds until the next acquisition is allowed (0: now)."""
        wait = self._last + self.spacing - now
        if len(self._slots) >= self.limit:
            newest = heapq.nlargest(self.limit, (slot[0] for slot in self._slots))
            wait = max(wait, newest[-1] + self.period - now)
        return max(wait, 0.0)

    def idle(self, now: float) -> bool:
        """No send within the last period: the window can be forgotten."""
        return all(slot[0] + self.period <= now for slot in self._slots)

    async def acquire(self) -> list[float]:
        """Wait for a slot; returns its time cell, which ``stamp`` moves to the write time."""
        async with self._lock:  # first come, first served
            # a computed wait, not a poll: nothing but time frees a slot
            while (wait := self.wait_time(self._clock())) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)
            self._last = self._clock()
            slot = [self._last]
            self._slots.append(slot)
            return slot

    def stamp(self, slot: list[float]) -> None:
        """The slot's request is being written now.

        The usual delay between reservation and write (a running average, at most ``spacing``)
        is allowed for: a delay every send has shifts them all alike and bunches none, so only
        a send later than usual moves its slot, and a steady delay does not slow the pace.
        """
        now = self._clock()
        late = max(now - slot[0], 0.0)
        self._usual = late if self._usual is None else 0.9 * self._usual + 0.1 * late
        slot[0] = max(slot[0], now - min(self._usual, self.spacing))


class SendSlots:
    """One platform's send slots: an overall window plus one window per chat (and per group).

    ``acquire(chat_id)`` waits for the chat's own windows first, then the overall one, so a send
    held back by its chat's pace does not hold one of the platform's overall slots meanwhile.
    """

    def __init__(
        self,
        *,
        overall: SlidingWindow | None,
        per_chat: tuple[int, float] | None,
        per_group: tuple[int, float] | None = None,
        is_group: Callable[[str], bool] = lambda _chat: False,
        clock: Callable[[], float] = time.monotonic,
        max_chats: int = 4096,
    ) -> None:
        self.overall = overall
        self.per_chat = per_chat
        self.per_group = per_group
        self._is_group = is_group
        self._clock = clock
        self._max_chats = max_chats
        self._chats: dict[tuple[str, str], SlidingWindow] = {}
        self.waits = 0  # acquisitions that had to wait for a window

    def _window(self, kind: str, chat_id: str, rule: tuple[int, float]) -> SlidingWindow:
        key = (kind, chat_id)
        window = self._chats.get(key)
        if window is None:
            if len(self._chats) >= self._max_chats:
                now = self._clock()
                for other in [k for k, w in self._chats.items() if w.idle(now)]:
                    del self._chats[other]
            window = self._chats[key] = SlidingWindow(*rule, clock=self._clock)
        return window

    def windows(self, chat_id: str) -> list[SlidingWindow]:
        found = []
        if self.per_chat is not None:
            found.append(self._window("chat", chat_id, self.per_chat))
        if self.per_group is not None and self._is_group(chat_id):
            found.append(self._window("group", chat_id, self.per_group))
        if self.overall is not None:
            found.append(self.overall)
        return found

    async def acquire(self, chat_id: str) -> Callable[[], None]:
        """Wait for the chat's slots; returns the call that stamps them when the write starts."""
        held = []
        for window in self.windows(chat_id):
            if window.wait_time(self._clock()) > 0:
                self.waits += 1
            held.append((window, await window.acquire()))
        PACED.set(True)

        def written() -> None:
            for window, slot in held:
                window.stamp(slot)

        return written


def telegram_group(chat_id: str) -> bool:
    """Telegram group and channel ids are negative; private chats are positive."""
    return chat_id.startswith("-")


TELEGRAM_PER_SECOND = 29  # Telegram refuses more than 30 in a second; one spare for jitter


def telegram_slots(per_second: int = TELEGRAM_PER_SECOND) -> SendSlots:
    """29 in any second overall, evenly spaced; 1 a second per chat; 20 a minute per group."""
    return SendSlots(
        overall=SlidingWindow(per_second, 1.0, spacing=1.0 / (per_second + 3)),
        per_chat=(1, 1.0),
        per_group=(20, 60.0),
        is_group=telegram_group,
    )


def slack_slots() -> SendSlots:
    """Slack's chat.postMessage: about one message a second per channel, no overall limit."""
    return SendSlots(overall=None, per_chat=(1, 1.0))


class MarkRefusedError(PlatformError):
    """The part could not be marked in flight (the row is no longer ours): nothing was written."""


async def send_marked(
    sender: Any,
    chat_id: str,
    message: dict[str, Any],
    mark: Callable[[], Awaitable[bool]],
    written: Callable[[], None] | None = None,
) -> list[str] | None:
    """Send one part, marking it in flight (``mark``) as late as this sender allows.

    Returns the platform's ids, or None when ``mark`` refused (nothing was written). A sender with
    ``send_marked`` calls the hook just before the request's first byte: a crash before that leaves
    the part pending (known unsent, sent again), after it, ambiguous. The hook marks only once,
    however often the HTTP client retries a connection. ``written`` (the send slot's stamp) is
    called once the mark is committed, as the write starts.
    """
    stamp = written or (lambda: None)
    hook = getattr(sender, "send_marked", None)
    if hook is None:
        if not await mark():
            return None
        stamp()
        ids: list[str] = await sender.send(chat_id, message)
        return ids
    state = {"marked": False, "refused": False}

    async def on_write() -> None:
        if state["marked"]:
            return
        if not await mark():
            state["refused"] = True
            raise MarkRefusedError
        state["marked"] = True
        stamp()

    try:
        sent: list[str] = await hook(chat_id, message, on_write)
    except Exception as exc:
        if state["refused"]:
            return None
        # Failed before a byte left (no connection): known unsent.
        if not state["marked"] and not isinstance(exc, RetryableError):
            raise RetryableError(f"not sent: {exc}", after_seconds=1.0) from exc
        raise
    return sent
