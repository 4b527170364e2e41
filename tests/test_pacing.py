"""Send slots (bot.pacing): true sliding windows, slots before the in-flight mark, late marks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from bot.errors import AmbiguousError, RetryableError
from bot.outbox.loop import DeliveryLoop
from bot.pacing import (
    PACED,
    SendSlots,
    SlidingWindow,
    send_marked,
    slack_slots,
    telegram_group,
    telegram_slots,
)
from bot.senders import LoopbackSender
from bot.telegram.limiter import ChatRateLimiter
from storage import deliveries as outbox
from tests.conftest import Database
from tests.helpers.recording_server import Received, RecordingServer
from tests.test_delivery import _outbox_with


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def most_in_any_window(times: list[float], period: float) -> int:
    times = sorted(times)
    return max(
        sum(1 for other in times[i:] if other < start + period) for i, start in enumerate(times)
    )


def test_window_counts_every_sliding_span_not_an_average() -> None:
    clock = FakeClock()
    window = SlidingWindow(3, 1.0, clock=clock)
    taken = []
    for _ in range(40):  # take a slot whenever one is free, stepping the clock by 0.05 s
        while window.wait_time(clock.now) > 0:
            clock.now += 0.05
        window._slots.append([clock.now])
        window._last = clock.now
        taken.append(clock.now)
    assert most_in_any_window(taken, 1.0) == 3
    assert len(taken) / (taken[-1] - taken[0]) == pytest.approx(3.0, rel=0.1)


def test_a_late_write_pushes_the_next_slot_back() -> None:
    clock = FakeClock()
    window = SlidingWindow(1, 1.0, clock=clock)
    first = [clock.now]
    window._slots.append(first)
    assert window.wait_time(clock.now) == pytest.approx(1.0)
    clock.now += 0.4
    window.stamp(first)  # its request only went out 0.4 s after the slot was reserved
    clock.now += 0.6
    # one second after the reservation, but the write is only 0.6 s old
    assert window.wait_time(clock.now) == pytest.approx(0.4)


def test_a_steady_write_delay_does_not_slow_the_pace() -> None:
    clock = FakeClock()
    window = SlidingWindow(1, 1.0, spacing=0.05, clock=clock)
    for _ in range(20):  # every write 0.03 s after its reservation
        clock.now += window.wait_time(clock.now)
        slot = [clock.now]
        window._slots.append(slot)
        window._last = clock.now
        clock.now += 0.03
        window.stamp(slot)
    assert slot[0] == pytest.approx(clock.now - 0.03)  # the usual delay: not moved
    assert window.wait_time(clock.now) == pytest.approx(0.97)
    clock.now += 0.97
    late = [clock.now]
    window._slots.append(late)
    clock.now += 0.5  # this one is written much later than usual: it moves
    window.stamp(late)
    assert late[0] > clock.now - 0.1


def test_spacing_spreads_a_window() -> None:
    clock = FakeClock()
    window = SlidingWindow(10, 1.0, spacing=0.05, clock=clock)
    window._slots.append([clock.now])
    window._last = clock.now
    assert window.wait_time(clock.now) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="limit"):
        SlidingWindow(0, 1.0)


async def test_concurrent_acquirers_never_overfill_a_window() -> None:
    window = SlidingWindow(4, 0.2, spacing=0.01)
    times: list[float] = []

    async def one() -> None:
        await window.acquire()
        times.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(20)))
    assert most_in_any_window(times, 0.2) <= 4


async def test_a_chat_waits_for_its_own_window_only() -> None:
    slots = SendSlots(overall=None, per_chat=(1, 0.3))
    start = time.monotonic()
    await slots.acquire("a")
    await slots.acquire("b")  # another chat: no wait
    assert time.monotonic() - start < 0.2
    await slots.acquire("a")
    assert time.monotonic() - start >= 0.29
    assert slots.waits == 1
    assert PACED.get()


def test_telegram_and_slack_rules() -> None:
    telegram = telegram_slots()
    assert telegram.overall is not None
    assert (telegram.overall.limit, telegram.overall.period) == (29, 1.0)
    assert [w.limit for w in telegram.windows("-100123")] == [1, 20, 29]  # group: 20 a minute
    assert [w.limit for w in telegram.windows("42")] == [1, 29]
    assert telegram_group("-5")
    assert not telegram_group("5")
    assert [w.limit for w in slack_slots().windows("C1")] == [1]


def test_idle_chat_windows_are_forgotten() -> None:
    clock = FakeClock()
    slots = SendSlots(overall=None, per_chat=(1, 1.0), clock=clock, max_chats=2)
    for chat in ("a", "b"):
        slots.windows(chat)[0]._slots.append([clock.now])
    clock.now += 2
    slots.windows("c")
    assert len(slots._chats) == 1


class HookSender:
    """A sender that says when its write starts, scripted to fail before or after it."""

    def __init__(self, *, fail_before: Exception | None = None, writes: int = 1) -> None:
        self.fail_before = fail_before
        self.writes = writes
        self.sent: list[str] = []

    async def send(self, chat_id: str, payload: dict[str, Any]) -> list[str]:
        raise AssertionError("send_marked is used when a sender has it")

    async def send_marked(
        self, chat_id: str, payload: dict[str, Any], on_write: Callable[[], Awaitable[None]]
    ) -> list[str]:
        if self.fail_before is not None:
            failure, self.fail_before = self.fail_before, None
            raise failure
        for _ in range(self.writes):  # a retried connection reports its write again
            await on_write()
        self.sent.append(payload["text"])
        return [str(len(self.sent))]


async def test_mark_once_at_the_write_and_nothing_written_when_refused() -> None:
    marks: list[bool] = []

    async def mark() -> bool:
        marks.append(True)
        return True

    sender = HookSender(writes=2)
    assert await send_marked(sender, "1", {"text": "x"}, mark) == ["1"]
    assert marks == [True]

    async def refuse() -> bool:
        return False

    assert await send_marked(HookSender(), "1", {"text": "y"}, refuse) is None


async def test_a_failure_before_the_write_is_known_unsent() -> None:
    async def mark() -> bool:
        raise AssertionError("never marked: nothing was written")

    sender = HookSender(fail_before=AmbiguousError("pool timeout"))
    with pytest.raises(RetryableError, match="not sent"):
        await send_marked(sender, "1", {"text": "x"}, mark)


def _one_row(db: Database, parts: int = 1) -> int:
    return _outbox_with(db, ["7"], parts)[0]


async def test_a_part_waiting_for_its_slot_is_not_in_flight(db: Database) -> None:
    _one_row(db)
    slots = SendSlots(overall=SlidingWindow(1, 0.6), per_chat=None)
    await slots.acquire("other")  # the window is full for 0.6 s
    sender = HookSender()
    loop = DeliveryLoop(db.sessions, lambda _: sender, owner="t", limiters={"telegram": slots})
    task = asyncio.create_task(loop.run_once())
    await asyncio.sleep(0.3)
    with db.sessions() as session:
        assert outbox.status_counts(session) == {"pending": 1}  # waiting, not "sending"
    await task
    assert sender.sent == ["7/0"]
    with db.sessions() as session:
        assert outbox.status_counts(session) == {"sent": 1}


async def test_a_send_that_never_left_is_resent_not_ambiguous(db: Database) -> None:
    _one_row(db)
    sender = HookSender(fail_before=AmbiguousError("pool timeout"))
    loop = DeliveryLoop(db.sessions, lambda _: sender, owner="t")
    await loop.run_once()  # the pause is short: sent again in the same pass
    assert loop.stats.ambiguous == 0
    assert loop.stats.retried == 1
    assert sender.sent == ["7/0"]
    with db.sessions() as session:
        (row,) = outbox.list_deliveries(session)
        assert row.status == "sent"
        assert row.platform_message_ids == [["1"]]


async def test_a_loopback_part_is_marked_before_its_body_arrives(db: Database) -> None:
    """The recorder looks the row up the moment a request reaches it: already "sending"."""
    _one_row(db, parts=2)
    seen: list[str] = []

    def on_receive(item: Received) -> None:
        with db.sessions() as session:
            (row,) = outbox.list_deliveries(session)
            seen.append(row.status)

    with RecordingServer() as server:
        server.on_receive = on_receive
        async with httpx.AsyncClient() as client:
            sender = LoopbackSender(server.url, client)
            loop = DeliveryLoop(db.sessions, lambda _: sender, owner="t")
            await loop.run_once()
    assert seen == ["sending", "sending"]
    assert loop.stats.messages == 2


async def test_the_telegram_limiter_lets_a_paced_send_through_unpaced() -> None:
    limiter = ChatRateLimiter(per_chat_rate=1, per_chat_period=1)
    calls: list[float] = []

    async def call() -> dict[str, Any]:
        calls.append(time.monotonic())
        return {}

    async def send(paced: bool) -> None:
        PACED.set(paced)
        await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": 5}, None)

    await limiter.initialize()
    try:
        await send(paced=False)
        await send(paced=True)  # the outbox's slot already spaced it: not held a second
        assert calls[1] - calls[0] < 0.5
        assert not PACED.get()  # used up by that one request
        await send(paced=False)  # a command reply to the same chat is paced as before
        assert calls[2] - calls[0] >= 0.9
    finally:
        await limiter.shutdown()
