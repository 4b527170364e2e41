"""Telegram faults: flood limits, blocked bots, migrated groups, bad requests, timeouts, bugs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

import pytest
from telegram.error import BadRequest, TimedOut

from bot.claims.types import Verdict
from bot.telegram.digests import OutboxRunner
from bot.telegram.jobs import run_delivery
from bot.telegram.limiter import ChatRateLimiter
from storage import deliveries as outbox
from storage import subscriptions as subs_store
from storage.db import transaction
from tests.conftest import Database
from tests.helpers.stories import C, add_story, add_subscription
from tests.telegram.conftest import BotFactory


def _active(db: Database, chat_id: str) -> bool | None:
    with db.sessions() as session:
        sub = subs_store.get_subscription(session, platform="telegram", chat_id=chat_id)
        return None if sub is None else sub.active


async def test_retry_after_is_waited_out_and_the_reply_arrives(make_bot: BotFactory) -> None:
    bot = await make_bot()
    bot.server.fail("sendMessage", "429", chat_id=42, retry_after=1)
    await bot.server.send_command("/help")
    first, second = await bot.server.wait_sent(2, chat_id=42)
    assert "/latest" in str(second.params["text"])
    assert second.at - first.at >= 1.0  # Telegram's retry_after was honoured, not ignored


async def test_per_chat_limit_spaces_messages_to_one_chat(make_bot: BotFactory) -> None:
    bot = await make_bot(rate_limiter=ChatRateLimiter())  # production limits: 1/s per chat
    for _ in range(3):
        await bot.server.send_command("/start")
    calls = await bot.server.wait_sent(3, chat_id=42)
    assert calls[2].at - calls[0].at >= 1.5


async def test_forbidden_reply_deactivates_the_subscription(
    make_bot: BotFactory, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await make_bot()
    await bot.ask("/subscribe")
    assert _active(db, "42") is True
    bot.server.fail("sendMessage", "403", chat_id=42)
    await bot.server.send_command("/status")
    await bot.server.wait_for(lambda _: bool(bot.state.errors))
    await bot.server.wait_for(lambda _: _active(db, "42") is False)
    with db.sessions() as session:
        sub = subs_store.get_subscription(session, platform="telegram", chat_id="42")
        assert sub is not None
        assert "forbidden" in (sub.deactivated_reason or "")
    # The bot keeps serving other chats.
    (text,) = await bot.ask("/start", chat_id=43, user_id=43)
    assert "nkwatch" in text


async def test_chat_migrated_reply_moves_the_subscription(
    make_bot: BotFactory, db: Database
) -> None:
    bot = await make_bot()
    group = -4001
    bot.server.set_admins(group, {5})
    await bot.ask("/subscribe", chat_id=group, user_id=5, chat_type="group")
    bot.server.fail("sendMessage", "migrate", chat_id=group, new_chat_id=-1009001)
    await bot.server.send_command("/status", chat_id=group, user_id=5, chat_type="group")
    await bot.server.wait_for(lambda _: _active(db, "-1009001") is True)
    assert _active(db, str(group)) is None


async def test_migration_service_message_moves_the_subscription(
    make_bot: BotFactory, db: Database
) -> None:
    bot = await make_bot()
    with transaction(db.sessions) as session:
        add_subscription(session, chat_id="-4002")
    message = bot.server.message("", chat_id=-4002, user_id=5, chat_type="group")
    del message["text"]
    message["migrate_to_chat_id"] = -1004002
    await bot.server.push({"message": message})
    await bot.server.wait_for(lambda _: _active(db, "-1004002") is True)


async def test_bad_request_is_not_retried_and_the_bot_carries_on(
    make_bot: BotFactory, db: Database
) -> None:
    bot = await make_bot()
    bot.server.fail("sendMessage", "400", chat_id=42, description="Bad Request: can't parse")
    await bot.server.send_command("/help")
    await bot.server.wait_for(lambda _: bool(bot.state.errors))
    assert isinstance(bot.state.errors[0], BadRequest)
    (text,) = await bot.ask("/start")
    assert "nkwatch" in text
    assert len(bot.server.sent("sendMessage", 42)) == 2  # the refused one was not resent


async def test_timed_out_send_is_not_blindly_retried(make_bot: BotFactory) -> None:
    bot = await make_bot(read_timeout=0.5)
    bot.server.fail("sendMessage", "slow", chat_id=42, delay=1.5)
    await bot.server.send_command("/help")
    await bot.server.wait_for(lambda _: bool(bot.state.errors), within=15)
    assert isinstance(bot.state.errors[0], TimedOut)
    (text,) = await bot.ask("/start")
    assert "nkwatch" in text
    assert len(bot.server.sent("sendMessage", 42)) == 2


class BrokenChecker:
    def check(self, text: str, *, top: int = 5) -> Verdict:
        msg = "index corrupted"
        raise RuntimeError(msg)


async def test_a_handler_bug_is_logged_answered_and_survived(
    make_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await make_bot(claims=BrokenChecker())
    with caplog.at_level(logging.ERROR, logger="bot.telegram.app"):
        (text,) = await bot.ask("/claim Kim visited a shell factory")
    assert "something went wrong" in text
    assert any(
        "index corrupted" in r.getMessage()
        or (r.exc_info and "index corrupted" in str(r.exc_info[1]))
        for r in caplog.records
    )
    (text,) = await bot.ask("/start")
    assert "nkwatch" in text


# ------------------------------------------------------------------ faults during digests


def _digest_setup(db: Database, chat_id: str) -> tuple[int, datetime]:
    due = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(8, 0), tzinfo=UTC)
    with transaction(db.sessions) as session:
        sub = add_subscription(session, chat_id=chat_id, created_at=datetime.now(UTC))
        add_story(
            session,
            title="Shell exports",
            at=due - timedelta(hours=1),
            claims=[C("Shells were exported by rail.")],
        )
        return sub.id, due + timedelta(seconds=61)


async def test_digest_to_a_blocked_chat_deactivates_it(make_bot: BotFactory, db: Database) -> None:
    sub_id, clock = _digest_setup(db, "501")
    bot = await make_bot(digest_runner=OutboxRunner(db.sessions, clock=lambda: clock))
    bot.server.fail("sendMessage", "403", chat_id=501, description="Forbidden: bot was kicked")
    await run_delivery(bot.app, sub_id, kind="digest")
    assert _active(db, "501") is False
    assert len(bot.server.sent("sendMessage", 501)) == 1


async def test_digest_follows_a_migrated_group(make_bot: BotFactory, db: Database) -> None:
    sub_id, clock = _digest_setup(db, "-502")
    bot = await make_bot(digest_runner=OutboxRunner(db.sessions, clock=lambda: clock))
    bot.server.fail("sendMessage", "migrate", chat_id=-502, new_chat_id=-1000502)
    await run_delivery(bot.app, sub_id, kind="digest")
    (call,) = bot.server.sent("sendMessage", -1000502)
    assert "Shells were exported by rail." in str(call.params["text"])
    assert _active(db, "-1000502") is True


async def test_digest_after_flood_limit_is_delivered(make_bot: BotFactory, db: Database) -> None:
    sub_id, clock = _digest_setup(db, "503")
    bot = await make_bot(digest_runner=OutboxRunner(db.sessions, clock=lambda: clock))
    bot.server.fail("sendMessage", "429", chat_id=503, retry_after=1)
    await run_delivery(bot.app, sub_id, kind="digest")
    assert len(bot.server.sent("sendMessage", 503)) == 2
    with db.sessions() as session:
        (row,) = outbox.list_deliveries(session, subscription_id=sub_id)
        assert row.status == "sent"


async def test_timed_out_digest_is_ambiguous_and_not_resent(
    make_bot: BotFactory, db: Database
) -> None:
    sub_id, clock = _digest_setup(db, "504")
    bot = await make_bot(
        digest_runner=OutboxRunner(db.sessions, clock=lambda: clock), read_timeout=0.5
    )
    bot.server.fail("sendMessage", "slow", chat_id=504, delay=1.5)
    await run_delivery(bot.app, sub_id, kind="digest")
    await run_delivery(bot.app, sub_id, kind="digest")
    assert len(bot.server.sent("sendMessage", 504)) == 1
    with db.sessions() as session:
        (row,) = outbox.list_deliveries(session, subscription_id=sub_id)
        assert row.status == "ambiguous"


async def test_digest_bad_request_fails_the_delivery_but_keeps_the_chat(
    make_bot: BotFactory, db: Database
) -> None:
    sub_id, clock = _digest_setup(db, "505")
    bot = await make_bot(digest_runner=OutboxRunner(db.sessions, clock=lambda: clock))
    bot.server.fail("sendMessage", "400", chat_id=505, description="Bad Request: can't parse")
    await run_delivery(bot.app, sub_id, kind="digest")
    assert len(bot.server.sent("sendMessage", 505)) == 1
    assert _active(db, "505") is True
    with db.sessions() as session:
        (row,) = outbox.list_deliveries(session, subscription_id=sub_id)
        assert row.status == "failed"
