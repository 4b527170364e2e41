"""Digests to subscribed channels: composed, rendered as Block Kit, posted, faults handled."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.errors import AmbiguousError, RetryableError
from bot.slack.format import message_problems
from bot.slack.sender import SlackSender, make_client
from storage import deliveries as outbox
from storage import subscriptions as subs_store
from storage.db import transaction
from tests.helpers.slack_server import SlackApiServer
from tests.helpers.stories import C, add_story
from tests.slack.conftest import BOT_TOKEN, SlackHarness, text_of

DAY = datetime(2026, 11, 20, tzinfo=UTC)


async def _subscribed_channel(slack: SlackHarness, channel: str = "C0DIGEST1") -> None:
    slack.api.users["U0ADMINWS"] = {"is_admin": True}
    answer = await slack.command("subscribe daily 07:30 UTC", channel=channel, user="U0ADMINWS")
    assert "Subscribed" in text_of(answer)


def _story(slack: SlackHarness, n: int = 1, *, title: str = "Kim tours a shell factory") -> None:
    with transaction(slack.db.sessions) as session:
        for i in range(n):
            add_story(
                session,
                title=f"{title} {i}" if n > 1 else title,
                claims=[
                    C(f"Output doubled to {200 + i} launchers & <more>."),
                    C(f"Engineers were told to build {i} drones."),
                ],
                at=DAY + timedelta(hours=12, minutes=i % 60),
                outlet="NK <Pro>",
            )


def _subscription(slack: SlackHarness, channel: str = "C0DIGEST1") -> subs_store.Subscription:
    with slack.db.sessions() as session:
        sub = subs_store.get_subscription(session, platform="slack", chat_id=channel)
        assert sub is not None
        return sub


async def _digest_time(slack: SlackHarness) -> None:
    """Subscribe at noon, add a story in the afternoon, move the clock past tomorrow 07:30."""
    slack.clock.now = DAY + timedelta(hours=12)
    await _subscribed_channel(slack)
    with transaction(slack.db.sessions) as session:
        sub = subs_store.get_subscription(session, platform="slack", chat_id="C0DIGEST1")
        assert sub is not None
        sub.created_at = DAY + timedelta(hours=11)
    slack.clock.now = DAY + timedelta(days=1, hours=7, minutes=31)


async def test_digest_is_posted_to_the_subscribed_channel(slack: SlackHarness) -> None:
    await _digest_time(slack)
    _story(slack)
    result = await slack.bot.digests.tick()
    assert (result.composed, result.handled) == (1, 1)
    (posted,) = slack.api.calls_to("chat.postMessage")
    assert posted.args["channel"] == "C0DIGEST1"
    assert posted.args["unfurl_links"] is False
    assert posted.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    blocks = posted.blocks
    assert blocks[0]["type"] == "header"
    assert "nkwatch digest" in blocks[0]["text"]["text"]
    text = text_of(posted)
    assert "Output doubled to 200 launchers &amp; &lt;more&gt;." in text
    assert "NK &lt;Pro&gt;" in text  # the feed's outlet name is escaped too
    assert any(b["type"] == "context" for b in blocks)  # sources line
    assert message_problems({"blocks": blocks}) == []
    with slack.db.sessions() as session:
        (row,) = outbox.list_deliveries(session)
        assert row.status == "sent"
        assert row.platform_message_ids == [["1700000000.000001"]]
    # nothing is sent twice: the window is covered now
    again = await slack.bot.digests.tick()
    assert (again.composed, again.handled) == (0, 0)
    assert len(slack.api.calls_to("chat.postMessage")) == 1


async def test_digest_not_due_before_the_channel_time(slack: SlackHarness) -> None:
    await _digest_time(slack)
    _story(slack)
    slack.clock.now = DAY + timedelta(days=1, hours=7)  # 07:00 < 07:30
    result = await slack.bot.digests.tick()
    assert result.composed == 0
    assert slack.api.calls_to("chat.postMessage") == []


async def test_long_digest_is_split_within_slack_limits(slack: SlackHarness) -> None:
    await _digest_time(slack)
    _story(slack, 60, title="Story " + "long title " * 40)
    await slack.bot.digests.tick()
    posted = slack.api.calls_to("chat.postMessage")
    assert posted
    for call in posted:
        assert len(call.blocks) <= 50
        assert message_problems({"blocks": call.blocks}) == []
    with slack.db.sessions() as session:
        (row,) = outbox.list_deliveries(session)
        assert row.status == "sent"
        assert sum(len(part) for part in row.platform_message_ids) == len(posted)


async def test_429_waits_for_retry_after_then_delivers(slack: SlackHarness) -> None:
    await _digest_time(slack)
    _story(slack)
    slack.api.rate_limit("chat.postMessage", retry_after=7)
    await slack.bot.digests.tick()
    calls = slack.api.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert slack.sleeps.waited == [7.0]  # exactly Slack's Retry-After, before the second try
    with slack.db.sessions() as session:
        (row,) = outbox.list_deliveries(session)
        assert row.status == "sent"
    assert _subscription(slack).active


async def test_long_retry_after_goes_back_to_the_outbox(slack: SlackHarness) -> None:
    await _digest_time(slack)
    _story(slack)
    slack.api.rate_limit("chat.postMessage", retry_after=600)
    await slack.bot.digests.tick()
    assert slack.sleeps.waited == []  # not slept inline: one channel must not block the rest
    with slack.db.sessions() as session:
        (row,) = outbox.list_deliveries(session)
        assert row.status == "pending"
        assert "rate limited for 600s" in (row.error or "")
    assert _subscription(slack).active
    # not before Slack's pause is over ...
    slack.clock.now += timedelta(seconds=300)
    await slack.bot.digests.tick()
    assert len(slack.api.calls_to("chat.postMessage")) == 1
    # ... and then the same row goes out, once
    slack.clock.now += timedelta(seconds=601)
    await slack.bot.digests.tick()
    assert [c.status for c in slack.api.calls_to("chat.postMessage")] == [429, 200]


@pytest.mark.parametrize(
    "error",
    [
        "channel_not_found",
        "not_in_channel",
        "account_inactive",
        "is_archived",
        "channel_is_archived",
    ],
)
async def test_gone_channel_deactivates_the_subscription(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture, error: str
) -> None:
    await _digest_time(slack)
    _story(slack)
    slack.api.fail("chat.postMessage", error)
    await slack.bot.digests.tick()
    sub = _subscription(slack)
    assert not sub.active
    assert error in (sub.deactivated_reason or "")
    assert any(
        "deactivated" in r.getMessage() and error in r.getMessage() and r.levelno == logging.WARNING
        for r in caplog.records
    )
    # no further attempts to a gone channel
    slack.clock.now += timedelta(days=1)
    _story(slack, title="Another story")
    await slack.bot.digests.tick()
    assert len(slack.api.calls_to("chat.postMessage")) == 1


async def test_rejected_message_keeps_the_subscription(slack: SlackHarness) -> None:
    await _digest_time(slack)
    _story(slack)
    slack.api.fail("chat.postMessage", "invalid_blocks")
    await slack.bot.digests.tick()
    assert _subscription(slack).active
    with slack.db.sessions() as session:
        (row,) = outbox.list_deliveries(session)
        assert row.status == "failed"
        assert "invalid_blocks" in (row.error or "")


async def test_subscribe_wakes_the_digest_loop(slack: SlackHarness) -> None:
    woke = slack.bot.digests._wake
    assert not woke.is_set()
    await _subscribed_channel(slack)
    assert woke.is_set()


async def test_timed_out_send_is_ambiguous_not_resent(slack_api: SlackApiServer) -> None:
    client = make_client(BOT_TOKEN, base_url=slack_api.api_url, timeout=1)
    slack_api.delay("chat.postMessage", 3)
    with pytest.raises(AmbiguousError):
        await SlackSender(client).send("C1", {"text": "x", "blocks": []})


async def test_refused_connection_is_retryable(slack_api: SlackApiServer) -> None:
    client = make_client(BOT_TOKEN, base_url="http://127.0.0.1:9/api/")
    with pytest.raises(RetryableError):
        await SlackSender(client).send("C1", {"text": "x"})


async def test_instant_alert_for_instant_channel(slack: SlackHarness) -> None:
    slack.clock.now = DAY + timedelta(hours=11)
    answer = await slack.command("subscribe instant", channel="D0INSTANT")
    assert "alert" in text_of(answer)
    with transaction(slack.db.sessions) as session:
        sub = subs_store.get_subscription(session, platform="slack", chat_id="D0INSTANT")
        assert sub is not None
        sub.created_at = DAY + timedelta(hours=11)
        sub.digest_time = time(7, 30)
    _story(slack)
    slack.clock.now = DAY + timedelta(hours=13)
    await slack.bot.digests.tick()
    (posted,) = slack.api.calls_to("chat.postMessage")
    assert posted.args["channel"] == "D0INSTANT"
    assert "nkwatch alert" in posted.blocks[0]["text"]["text"]
