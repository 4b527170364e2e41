from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.errors import AmbiguousError, ChatMovedError, PermanentError, RejectedError, RetryableError
from bot.outbox.compose import compose_due, last_occurrence
from bot.outbox.loop import DeliveryLoop
from bot.senders import LoopbackSender
from bot.telegram.sender import TelegramSender
from storage import deliveries as outbox
from storage.models import Subscription
from tests.conftest import Database
from tests.helpers.recording_server import RecordingServer
from tests.helpers.stories import C, add_story, add_subscription
from tests.helpers.telegram_server import TelegramTestServer

DAY = datetime(2026, 11, 20, tzinfo=UTC)


def test_last_occurrence_in_local_time() -> None:
    now = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)  # 09:30 in Seoul
    assert last_occurrence(time(9, 0), "Asia/Seoul", now) == datetime(
        2026, 11, 20, 0, 0, tzinfo=UTC
    )
    assert last_occurrence(time(10, 0), "Asia/Seoul", now) == datetime(
        2026, 11, 19, 1, 0, tzinfo=UTC
    )
    # an unknown zone falls back to UTC rather than failing the whole run
    assert last_occurrence(time(0, 0), "Mars/Olympus", now) == datetime(2026, 11, 20, tzinfo=UTC)
    # the day DST starts in New York: 08:00 local is 12:00 UTC (not 13:00)
    spring = datetime(2026, 3, 8, 12, 30, tzinfo=UTC)
    assert last_occurrence(time(8, 0), "America/New_York", spring) == datetime(
        2026, 3, 8, 12, tzinfo=UTC
    )


def _world(session: Session) -> list[Subscription]:
    add_story(
        session,
        title="yesterday",
        at=DAY - timedelta(hours=10),
        claims=[C("Kim opened a new shell factory.")],
    )
    add_story(session, title="too old", at=DAY - timedelta(days=3), claims=[C("old")])
    subs = [
        add_subscription(session, chat_id="1", digest_time=time(8, 0)),
        add_subscription(session, chat_id="2", digest_time=time(9, 0), timezone="Asia/Seoul"),
        add_subscription(session, chat_id="C9", platform="slack", digest_time=time(7, 0)),
        # subscribed after its last 23:00: its first digest is tonight
        add_subscription(
            session, chat_id="3", digest_time=time(23, 0), created_at=DAY + timedelta(hours=1)
        ),
    ]
    session.commit()
    return subs


def test_compose_due_records_each_due_digest_once(session: Session) -> None:
    subs = _world(session)
    now = DAY + timedelta(hours=8, minutes=5)
    stats = compose_due(session, now)
    assert stats.composed == 3
    rows = outbox.list_deliveries(session)
    assert sorted(r.subscription_id for r in rows) == sorted(s.id for s in subs[:3])
    tg = next(r for r in rows if r.subscription_id == subs[0].id)
    assert tg.window_end == DAY + timedelta(hours=8)
    assert tg.window_start == DAY - timedelta(hours=16)
    assert tg.payload["platform"] == "telegram"
    assert "Kim opened a new shell factory." in tg.payload["messages"][0]["text"]
    assert "too old" not in str(tg.payload)
    slack = next(r for r in rows if r.subscription_id == subs[2].id)
    assert slack.payload["messages"][0]["blocks"][0]["type"] == "header"
    # composing again before anything is sent adds nothing
    assert compose_due(session, now + timedelta(minutes=1)).composed == 0
    assert len(outbox.list_deliveries(session)) == 3


def test_empty_window_without_send_empty_only_advances(session: Session) -> None:
    quiet = add_subscription(session, chat_id="5", send_empty=False)
    loud = add_subscription(session, chat_id="6", send_empty=True)
    session.commit()
    stats = compose_due(session, DAY + timedelta(hours=9))
    assert stats.composed == 1
    assert stats.skipped_empty == 1
    session.refresh(quiet)
    assert quiet.covered_until == DAY + timedelta(hours=8)
    (row,) = outbox.list_deliveries(session)
    assert row.subscription_id == loud.id
    assert row.payload["messages"][0]["text"].startswith("Nothing new since")


def test_settle_time_and_new_subscriptions(session: Session) -> None:
    add_subscription(session, chat_id="7", created_at=DAY + timedelta(hours=8, minutes=30))
    add_subscription(session, chat_id="8", created_at=DAY - timedelta(days=1))
    session.commit()
    assert compose_due(session, DAY + timedelta(hours=8, seconds=10)).composed == 0  # settling
    # the one subscribed after today's 08:00 waits for tomorrow
    assert compose_due(session, DAY + timedelta(hours=9)).composed == 1


def test_instant_alerts_only_for_new_or_updated(session: Session) -> None:
    sub = add_subscription(session, chat_id="9", mode="instant", created_at=DAY)
    add_story(
        session,
        title="repeat only",
        at=DAY + timedelta(minutes=5),
        claims=[C("old news", "repeated")],
    )
    session.commit()
    now = DAY + timedelta(minutes=10)
    assert compose_due(session, now).composed == 0
    session.refresh(sub)
    assert sub.covered_until == now - timedelta(seconds=30)
    add_story(session, title="fresh", at=now + timedelta(minutes=1), claims=[C("brand new")])
    session.commit()
    stats = compose_due(session, now + timedelta(minutes=5))
    assert stats.composed == 1
    (row,) = outbox.list_deliveries(session)
    assert row.kind == "instant"
    assert "brand new" in row.payload["messages"][0]["text"]
    assert "old news" not in str(row.payload)


class FakeSender:
    """In-process sender: answers from a script of outcomes, records what was accepted."""

    def __init__(self, script: list[Any] | None = None) -> None:
        self.script = list(script or [])
        self.accepted: list[tuple[str, str]] = []
        self.attempts = 0

    async def send(self, chat_id: str, payload: dict[str, Any]) -> list[str]:
        self.attempts += 1
        if self.script:
            outcome = self.script.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
        self.accepted.append((chat_id, payload["text"]))
        return [str(len(self.accepted))]


def _outbox_with(db: Database, chats: list[str], parts: int = 1) -> list[int]:
    with db.sessions() as session:
        ids = []
        for chat in chats:
            sub = add_subscription(session, chat_id=chat)
            row = outbox.create_delivery(
                session,
                subscription_id=sub.id,
                kind="digest",
                window_start=DAY,
                window_end=DAY + timedelta(days=1),
                article_ids=[],
                payload={"messages": [{"text": f"{chat}/{i}"} for i in range(parts)]},
            )
            ids.append(row.id)
        session.commit()
    return ids


class Clock:
    def __init__(self) -> None:
        self.now = DAY

    def __call__(self) -> datetime:
        return self.now


async def test_loop_sends_every_part_once(db: Database) -> None:
    _outbox_with(db, ["1", "2", "3"], parts=3)
    sender = FakeSender()
    loop = DeliveryLoop(db.sessions, lambda _: sender, owner="t")
    await loop.run_once()
    assert sorted(sender.accepted) == sorted((c, f"{c}/{i}") for c in "123" for i in range(3))
    assert loop.stats.sent == 3
    assert loop.stats.messages == 9
    await loop.run_once()
    assert len(sender.accepted) == 9
    with db.sessions() as session:
        assert outbox.status_counts(session) == {"sent": 3}
        assert all(
            s.covered_until == DAY + timedelta(days=1) for s in outbox.active_subscriptions(session)
        )


async def test_retryable_waits_then_sends(db: Database) -> None:
    _outbox_with(db, ["1"], parts=2)
    clock = Clock()
    sender = FakeSender([None, RetryableError("flood", after_seconds=30)])
    loop = DeliveryLoop(db.sessions, lambda _: sender, owner="t", clock=clock)
    await loop.run_once()
    assert sender.accepted == [("1", "1/0")]
    assert loop.stats.retried == 1
    clock.now += timedelta(seconds=29)
    await loop.run_once()
    assert len(sender.accepted) == 1
    clock.now += timedelta(seconds=1)
    await loop.run_once()
    assert sender.accepted == [("1", "1/0"), ("1", "1/1")]  # part 0 not repeated


async def test_retry_gives_up_after_max_attempts(db: Database) -> None:
    _outbox_with(db, ["1"])
    clock = Clock()
    sender = FakeSender([RetryableError("busy", after_seconds=0)] * 10)
    loop = DeliveryLoop(db.sessions, lambda _: sender, owner="t", clock=clock, max_attempts=3)
    for _ in range(5):
        await loop.run_once()
    assert sender.attempts == 3
    with db.sessions() as session:
        (row,) = outbox.list_deliveries(session)
        assert row.status == "failed"
        assert "gave up after 3 attempts" in (row.error or "")


async def test_permanent_deactivates_and_rejected_does_not(db: Database) -> None:
    _outbox_with(db, ["1", "2"])
    sender = FakeSender([PermanentError("blocked"), RejectedError("can't parse entities")])
    loop = DeliveryLoop(db.sessions, lambda _: sender, owner="t", concurrency=1)
    await loop.run_once()
    with db.sessions() as session:
        assert outbox.status_counts(session) == {"failed": 2}
        subs = {s.chat_id: s for s in session.query(Subscription)}
        assert not subs["1"].active
        assert subs["1"].deactivated_reason == "blocked"
        assert subs["2"].active
    assert loop.stats.deactivated == 1


async def test_chat_moved_follows_the_chat(db: Database) -> None:
    _outbox_with(db, ["-1"], parts=2)
    sender = FakeSender([None, ChatMovedError("upgraded", new_chat_id="-1009")])
    loop = DeliveryLoop(db.sessions, lambda _: sender, owner="t")
    await loop.run_once()
    assert sender.accepted == [("-1", "-1/0"), ("-1009", "-1/1")]
    with db.sessions() as session:
        (sub,) = outbox.active_subscriptions(session)
        assert sub.chat_id == "-1009"
        assert outbox.status_counts(session) == {"sent": 1}


async def test_ambiguous_is_counted_not_resent(db: Database) -> None:
    _outbox_with(db, ["1"], parts=2)
    sender = FakeSender([AmbiguousError("timed out")])
    loop = DeliveryLoop(db.sessions, lambda _: sender, owner="t")
    await loop.run_once()
    await loop.run_once()
    assert sender.attempts == 2
    assert sender.accepted == [("1", "1/1")]
    assert loop.stats.ambiguous == 1
    with db.sessions() as session:
        (row,) = outbox.list_deliveries(session)
        assert row.status == "ambiguous"
        assert row.platform_message_ids == [None, ["1"]]


async def test_two_loops_share_the_outbox(db: Database) -> None:
    _outbox_with(db, [str(i) for i in range(20)], parts=2)
    sender = FakeSender()
    loops = [
        DeliveryLoop(db.sessions, lambda _: sender, owner=f"p{i}", concurrency=3) for i in range(2)
    ]
    await asyncio.gather(*(lp.run_once(batch=4) for lp in loops))
    texts = [t for _, t in sender.accepted]
    assert len(texts) == 40
    assert len(set(texts)) == 40


async def test_loopback_sender_over_http() -> None:
    with RecordingServer() as server:
        async with httpx.AsyncClient() as client:
            sender = LoopbackSender(server.url, client)
            assert await sender.send("1", {"text": "hi"}) == ["1"]
            server.fail("429", retry_after=7)
            with pytest.raises(RetryableError) as retry:
                await sender.send("1", {"text": "again"})
            assert retry.value.after_seconds == 7
            server.fail("403")
            with pytest.raises(PermanentError):
                await sender.send("1", {"text": "x"})
            server.fail("migrate", new_chat_id="-100")
            with pytest.raises(ChatMovedError) as moved:
                await sender.send("1", {"text": "x"})
            assert moved.value.new_chat_id == "-100"
            slow = LoopbackSender(server.url, client, timeout=0.2)
            server.fail("slow", delay=1.0)
            with pytest.raises(AmbiguousError):
                await slow.send("1", {"text": "slow"})
    assert [r.message["text"] for r in server.received] == ["hi", "slow"]
    with pytest.raises(ValueError, match="loopback"):
        LoopbackSender("https://example.com/send", httpx.AsyncClient())


async def test_telegram_sender_through_the_bot_api_test_server(db: Database) -> None:
    server = TelegramTestServer()
    await server.start()
    try:
        bot = ExtBot(
            server.token,
            base_url=server.base_url,
            request=HTTPXRequest(read_timeout=0.5, connection_pool_size=4),
        )
        async with bot:
            sender = TelegramSender(bot)
            _outbox_with(db, ["101", "102", "103", "104", "105"])
            server.fail("sendMessage", "403", chat_id=102)
            server.fail("sendMessage", "migrate", chat_id=103, new_chat_id=-100103)
            server.fail("sendMessage", "slow", chat_id=104, delay=1.5)
            server.fail("sendMessage", "429", chat_id=105, retry_after=3)
            clock = Clock()
            loop = DeliveryLoop(db.sessions, lambda _: sender, owner="t", clock=clock)
            await loop.run_once()
            clock.now += timedelta(seconds=3)
            await loop.run_once()
    finally:
        await server.stop()
    sent = server.sent("sendMessage")
    by_chat: dict[Any, list[Any]] = {}
    for call in sent:
        by_chat.setdefault(call.params["chat_id"], []).append(call.params)
    assert by_chat[101][0]["parse_mode"] == "HTML"
    assert by_chat[101][0]["link_preview_options"]["is_disabled"] is True
    assert len(by_chat[104]) == 1  # timed out, delivered by the server, never resent
    assert len(by_chat[105]) == 2  # 429, then the retry after 3 s
    assert len(by_chat[-100103]) == 1
    with db.sessions() as session:
        rows = {r.subscription_id: r for r in outbox.list_deliveries(session)}
        subs = {s.id: s for s in session.query(Subscription)}
        status = {subs[i].chat_id: r.status for i, r in rows.items()}
        assert status == {
            "101": "sent",
            "102": "failed",
            "-100103": "sent",
            "104": "ambiguous",
            "105": "sent",
        }
        assert not next(s for s in subs.values() if s.chat_id == "102").active
    assert loop.stats.ambiguous == 1
