"""Every subcommand of ``/nkwatch`` and ``@nkwatch``, end to end through bolt and the Web API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.slack.format import message_problems
from storage import feeds as feeds_store
from storage import subscriptions as subs_store
from storage.db import transaction
from tests.helpers.feed_server import feed_server
from tests.helpers.stories import C, add_story
from tests.slack.conftest import SlackHarness, buttons_of, text_of


def _subscription(slack: SlackHarness, chat_id: str = "C0CHAN01") -> subs_store.Subscription | None:
    with slack.db.sessions() as session:
        return subs_store.get_subscription(session, platform="slack", chat_id=chat_id)


def _stories(slack: SlackHarness) -> None:
    at = datetime(2026, 11, 20, 9, tzinfo=UTC)
    with transaction(slack.db.sessions) as session:
        _, (first, *_) = add_story(
            session,
            title="Kim tours shell factory",
            claims=[C("Kim toured a munitions factory in August.")],
            at=at - timedelta(days=2),
            outlet="The Wall Street Journal",
        )
        add_story(
            session,
            title="Shells <!channel> & <b>more</b>",
            claims=[
                C("Output doubled to 200 launchers."),
                C("Kim toured a munitions factory.", verdict="repeated", matched=first),
            ],
            at=at,
            outlet="NK Pro",
            url="https://example.org/a?x=1&y=<2>",
        )


async def test_help_lists_every_subcommand(slack: SlackHarness) -> None:
    text = text_of(await slack.command("help"))
    for sub in ("latest", "claim", "subscribe", "unsubscribe", "settings", "sources", "status"):
        assert f"`/nkwatch {sub}" in text
    assert "addfeed" not in text  # admin-only commands are hidden from others


async def test_empty_command_shows_help(slack: SlackHarness) -> None:
    assert "/nkwatch latest" in text_of(await slack.command(""))


async def test_unknown_subcommand_gets_a_clear_reply(slack: SlackHarness) -> None:
    answer = await slack.command("frobnicate now")
    assert "Unknown command frobnicate" in text_of(answer)
    assert answer.args["response_type"] == "ephemeral"


async def test_subscribe_default_daily(slack: SlackHarness) -> None:
    answer = await slack.command("subscribe", channel="D0DIRECT1")
    assert "daily digest at 08:00 (UTC)" in text_of(answer)
    assert answer.args["response_type"] == "in_channel"  # the channel sees its digest change
    sub = _subscription(slack, "D0DIRECT1")
    assert sub is not None
    assert sub.active
    assert sub.mode == "daily"


async def test_subscribe_daily_with_time_and_zone(slack: SlackHarness) -> None:
    slack.api.users["U0ADMINWS"] = {"is_admin": True}
    answer = await slack.command("subscribe daily 07:30 Asia/Seoul", user="U0ADMINWS")
    assert "07:30 (Asia/Seoul)" in text_of(answer)
    sub = _subscription(slack)
    assert sub is not None
    assert (sub.digest_time, sub.timezone) == (time(7, 30), "Asia/Seoul")


async def test_subscribe_instant(slack: SlackHarness) -> None:
    answer = await slack.command("subscribe instant", channel="D0DIRECT1")
    assert "alert as soon as" in text_of(answer)
    sub = _subscription(slack, "D0DIRECT1")
    assert sub is not None
    assert sub.mode == "instant"


async def test_subscribe_bad_arguments(slack: SlackHarness) -> None:
    answer = await slack.command("subscribe daily 25:99", channel="D0DIRECT1")
    assert "HH:MM" in text_of(answer)
    answer = await slack.command("subscribe daily 07:30 Mars/Olympus", channel="D0DIRECT1")
    assert "Unknown time zone" in text_of(answer)
    assert _subscription(slack, "D0DIRECT1") is None


async def test_channel_subscription_needs_a_channel_admin(slack: SlackHarness) -> None:
    slack.api.users["U0USER01"] = {"is_admin": False, "is_owner": False}
    slack.api.channels["C0CHAN01"] = {"creator": "U0SOMEONE"}
    answer = await slack.command("subscribe")
    assert "Only this chat's administrators" in text_of(answer)
    assert _subscription(slack) is None
    assert slack.api.calls_to("users.info")[0].args["user"] == "U0USER01"
    assert slack.api.calls_to("conversations.info")[0].args["channel"] == "C0CHAN01"
    # the channel's creator may
    slack.api.channels["C0CHAN01"] = {"creator": "U0USER01"}
    assert "Subscribed" in text_of(await slack.command("subscribe"))
    # reading settings needs no rights
    slack.api.channels["C0CHAN01"] = {"creator": "U0SOMEONE"}
    assert "Settings" in text_of(await slack.command("settings"))


async def test_workspace_admin_and_bot_admin_may_change_a_channel(slack: SlackHarness) -> None:
    slack.api.users["U0OWNER1"] = {"is_owner": True}
    assert "Subscribed" in text_of(await slack.command("subscribe", user="U0OWNER1"))
    asked = len(slack.api.calls_to("users.info"))
    # a bot administrator (settings) is not looked up at all
    answer = await slack.command("unsubscribe", user="U0ADMIN1")
    assert "Unsubscribed" in text_of(answer)
    assert len(slack.api.calls_to("users.info")) == asked


async def test_admin_lookup_failure_refuses_and_logs(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    slack.api.fail("users.info", "missing_scope")
    slack.api.fail("conversations.info", "missing_scope")
    answer = await slack.command("subscribe", user="U0NOBODY")
    assert "Only this chat's administrators" in text_of(answer)
    assert "missing_scope" in caplog.text


async def test_unsubscribe(slack: SlackHarness) -> None:
    assert "not subscribed" in text_of(await slack.command("unsubscribe", channel="D0DIRECT1"))
    await slack.command("subscribe", channel="D0DIRECT1")
    answer = await slack.command("unsubscribe", channel="D0DIRECT1")
    assert "Unsubscribed" in text_of(answer)
    sub = _subscription(slack, "D0DIRECT1")
    assert sub is not None
    assert not sub.active


async def test_settings_show_and_change(slack: SlackHarness) -> None:
    answer = await slack.command("settings", channel="D0DIRECT1")
    assert "not subscribed yet" in text_of(answer)
    await slack.command("subscribe", channel="D0DIRECT1")
    shown = text_of(await slack.command("settings", channel="D0DIRECT1"))
    assert "Digest time: 08:00" in shown
    assert "Time zone: UTC" in shown
    changed = await slack.command("settings time 06:45", channel="D0DIRECT1")
    assert "Digest time set to 06:45" in text_of(changed)
    assert changed.args["response_type"] == "in_channel"
    await slack.command("settings tz Europe/Berlin", channel="D0DIRECT1")
    await slack.command("settings instant on", channel="D0DIRECT1")
    sub = _subscription(slack, "D0DIRECT1")
    assert sub is not None
    assert (sub.digest_time, sub.timezone, sub.instant_alerts) == (
        time(6, 45),
        "Europe/Berlin",
        True,
    )
    bad = await slack.command("settings relevance lots", channel="D0DIRECT1")
    assert "Relevance must be a number" in text_of(bad)


async def test_latest_with_counts_links_and_escaping(slack: SlackHarness) -> None:
    _stories(slack)
    answer = await slack.command("latest")
    text = text_of(answer)
    assert "Latest 2 relevant stories" in text
    assert "1 new, 1 repeated, 0 updated" in text
    # feed text cannot ping the channel or inject markup; the link survives, escaped
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text
    assert "&lt;b&gt;more&lt;/b&gt;" in text
    assert "<https://example.org/a?x=1&amp;y=%3C2%3E|" in text
    assert message_problems({"blocks": answer.blocks}) == []
    assert answer.args["response_type"] == "ephemeral"
    labels = [b["text"]["text"] for b in buttons_of(answer)]
    assert labels == ["Show repeated claims"]


async def test_latest_n_and_bad_n(slack: SlackHarness) -> None:
    _stories(slack)
    assert "Latest 1 relevant story" in text_of(await slack.command("latest 1"))
    assert "Usage: latest [N]" in text_of(await slack.command("latest 500"))
    assert "Usage: latest [N]" in text_of(await slack.command("latest many"))


async def test_latest_without_stories(slack: SlackHarness) -> None:
    assert "No relevant stories yet" in text_of(await slack.command("latest"))


async def test_button_shows_repeated_claims(slack: SlackHarness) -> None:
    _stories(slack)
    answer = await slack.command("latest")
    (button,) = buttons_of(answer)
    shown = await slack.press(button)
    text = text_of(shown)
    assert "Repeated claims" in text
    assert "Kim toured a munitions factory." in text
    assert shown.args["response_type"] == "ephemeral"
    assert shown.args["replace_original"] is False


async def test_forged_button_value_is_refused_politely(slack: SlackHarness) -> None:
    fake = {
        "action_id": "nkwatch:0",
        "value": "rep:1;DROP TABLE",
        "text": {"type": "plain_text", "text": "x"},
    }
    shown = await slack.press(fake)
    assert "expired" in text_of(shown)


async def test_claim_verdict_with_source(slack: SlackHarness) -> None:
    answer = await slack.command("claim North Korea shipped artillery shells to Russia.")
    text = text_of(answer)
    assert "REPEATED" in text
    assert "North Korea shipped artillery shells to Russia." in text
    assert "Reuters &lt;wire&gt;" in text  # the source's name is escaped
    assert "<https://www.reuters.com/world/shells|" in text
    assert slack.checker.asked == ["North Korea shipped artillery shells to Russia."]
    assert [b["text"]["text"] for b in buttons_of(answer)] == ["Show all matches"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("claim", "Usage: /nkwatch claim TEXT"),
        ("claim " + "shells " * 1500, "too long"),
        ("claim Kim \x07 shipped shells", "control characters"),
        ("claim Kim <b>shipped</b> shells to Russia", "plain text, not HTML"),
        ("claim Kim &lt;b&gt;shipped&lt;/b&gt; shells", "plain text, not HTML"),
    ],
)
async def test_claim_bad_input(slack: SlackHarness, text: str, expected: str) -> None:
    answer = await slack.command(text)
    assert expected in text_of(answer)
    assert slack.checker.asked == []
    assert message_problems({"blocks": answer.blocks}) == []


async def test_sources_and_many_feeds_stay_within_limits(slack: SlackHarness) -> None:
    with transaction(slack.db.sessions) as session:
        for n in range(120):
            feeds_store.add_feed(
                session,
                url=f"https://feeds.example/{n}.xml",
                name=f"Feed {n} <script>&" + "x" * 60,
                poll_interval_seconds=900,
                added_by="test",
            )
    answer = await slack.command("sources")
    text = text_of(answer)
    assert "120 feeds" in text
    assert "<script>" not in text
    assert "&lt;script&gt;&amp;" in text
    assert message_problems({"blocks": answer.blocks}) == []
    assert len(answer.blocks) <= 50


async def test_status(slack: SlackHarness) -> None:
    await slack.command("subscribe daily 07:30", channel="D0DIRECT1")
    text = text_of(await slack.command("status", channel="D0DIRECT1"))
    assert "Last poll: none yet" in text
    assert "Next digest: 2026-11-21 07:30 UTC" in text


async def test_mention_answers_like_the_command(slack: SlackHarness) -> None:
    posted = await slack.mention("<@UBOT0001> subscribe daily 09:00", channel="D0DIRECT1")
    assert posted.args["channel"] == "D0DIRECT1"
    assert "daily digest at 09:00" in text_of(posted)
    assert posted.args["unfurl_links"] is False
    threaded = await slack.mention("<@UBOT0001> latest", thread_ts="1700000000.000001")
    assert threaded.args["thread_ts"] == "1700000000.000001"
    assert "No relevant stories yet" in text_of(threaded)


async def test_mention_with_slack_markup(slack: SlackHarness) -> None:
    posted = await slack.mention("<@UBOT0001> claim Kim &lt;b&gt;shipped&lt;/b&gt; shells")
    assert "plain text, not HTML" in text_of(posted)
    with feed_server() as feeds:  # /addfeed fetches the URL: it must answer with a feed
        url = feeds.put_file("/new.xml", "rss2.xml")
        shown = url.removeprefix("http://")
        posted = await slack.mention(f"<@UBOT0001> addfeed <{url}|{shown}>", user="U0ADMIN1")
    assert "Added feed" in text_of(posted)
    with slack.db.sessions() as session:
        assert feeds_store.get_feed_by_url(session, url=url)


async def test_admin_only_subcommand_refused_for_others(slack: SlackHarness) -> None:
    answer = await slack.command("addfeed https://feeds.example/x.xml")
    assert "Only bot administrators" in text_of(answer)


async def test_handler_error_is_logged_first_and_the_user_told(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def check(self, text: str, *, top: int = 5) -> object:
            msg = "index unavailable"
            raise RuntimeError(msg)

    slack.bot.services.claims = Broken()  # type: ignore[assignment]
    answer = await slack.command("claim North Korea shipped shells to Russia")
    assert "Sorry, something went wrong" in text_of(answer)
    assert "slack handler error" in caplog.text
    assert "index unavailable" in caplog.text
    assert any(isinstance(e, RuntimeError) for e in slack.bot.errors)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors
    assert errors[0].name == "bot.slack.app"
    # the app keeps answering
    assert "/nkwatch latest" in text_of(await slack.command("help"))


async def test_mention_handler_error_posts_an_apology(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def check(self, text: str, *, top: int = 5) -> object:
            raise ValueError("boom")

    slack.bot.services.claims = Broken()  # type: ignore[assignment]
    posted = await slack.mention("<@UBOT0001> claim North Korea shipped shells")
    assert "Sorry, something went wrong" in text_of(posted)
    assert "boom" in caplog.text
