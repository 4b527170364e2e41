"""Every command through the real python-telegram-bot Application over HTTP (loopback Bot API)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from bot.chat.about import COMMANDS
from bot.claims.engine import ClaimEngine
from bot.context import AppContext
from bot.settings import Settings
from bot.telegram.app import MissingTokenError, build_application
from bot.telegram.jobs import digest_job_name
from storage import feeds as feeds_store
from storage import subscriptions as subs_store
from storage.db import transaction
from tests.conftest import Database
from tests.helpers.feed_server import feed_server
from tests.helpers.stories import C, add_story
from tests.telegram.conftest import ADMIN, BotFactory


class _TagChecker(HTMLParser):
    """Fails on any tag Telegram's HTML mode does not allow or that is left open."""

    ALLOWED = frozenset({"b", "i", "a", "code", "pre", "u", "s"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in self.ALLOWED, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack
        assert self.stack.pop() == tag


def assert_balanced(text: str) -> None:
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    assert checker.stack == []


def test_without_a_token_the_bot_says_how_to_get_one(db: Database) -> None:
    ctx = AppContext(settings=Settings(database_url=db.url), upgrade_on_start=False)
    with pytest.raises(MissingTokenError) as info:
        build_application(ctx)
    assert "BotFather" in str(info.value)
    assert "NKWATCH_TELEGRAM_TOKEN" in str(info.value)


async def test_start_registers_the_command_menu(make_bot: BotFactory) -> None:
    bot = await make_bot()
    (call,) = bot.server.sent("setMyCommands")
    names = [c["command"] for c in call.params["commands"]]
    assert names == [n for n, spec in COMMANDS.items() if not spec.admin_only]
    texts = await bot.ask("/start")
    assert "nkwatch" in texts[0]
    assert "/subscribe" in texts[0]
    (sent,) = bot.server.sent("sendMessage", 42)
    assert sent.params["parse_mode"] == "HTML"
    assert sent.params["link_preview_options"] == {"is_disabled": True}


async def test_help_and_unknown_command_and_plain_text(make_bot: BotFactory) -> None:
    bot = await make_bot()
    (help_text,) = await bot.ask("/help")
    assert "/latest [N]" in help_text
    assert "/addfeed" not in help_text
    (admin_help,) = await bot.ask("/help", user_id=ADMIN)
    assert "/addfeed URL" in admin_help
    (unknown,) = await bot.ask("/frobnicate now")
    assert "Unknown command frobnicate" in unknown
    (plain,) = await bot.ask("hello there")
    assert "only understand commands" in plain


async def test_subscribe_settings_unsubscribe_round_trip(
    make_bot: BotFactory, db: Database
) -> None:
    bot = await make_bot()
    (text,) = await bot.ask("/subscribe daily 07:30 Asia/Seoul")
    assert "07:30 (Asia/Seoul)" in text
    with db.sessions() as session:
        sub = subs_store.get_subscription(session, platform="telegram", chat_id="42")
        assert sub is not None
        assert sub.active
        sub_id = sub.id
    jobs = bot.app.job_queue.get_jobs_by_name(digest_job_name(sub_id))  # type: ignore[union-attr]
    assert len(jobs) == 1
    nxt = jobs[0].next_t
    assert nxt is not None
    local = nxt.astimezone(ZoneInfo("Asia/Seoul"))
    assert (local.hour, local.minute) == (7, 31)  # a minute after, so late claims settle

    (text,) = await bot.ask("/settings time 06:00")
    assert "Digest time set to 06:00" in text
    jobs = bot.app.job_queue.get_jobs_by_name(digest_job_name(sub_id))  # type: ignore[union-attr]
    assert len([j for j in jobs if not j.removed]) == 1
    (text,) = await bot.ask("/settings tz Europe/Berlin")
    assert "Time zone: Europe/Berlin" in text
    (text,) = await bot.ask("/settings instant on")
    assert "Instant alerts: on" in text
    (text,) = await bot.ask("/settings relevance 2")
    assert "Minimum relevance: 2" in text
    (text,) = await bot.ask("/settings tz Mars/Base")
    assert "Unknown time zone" in text

    (text,) = await bot.ask("/unsubscribe")
    assert "Unsubscribed" in text
    with db.sessions() as session:
        sub = subs_store.get_subscription(session, platform="telegram", chat_id="42")
        assert sub is not None
        assert (sub.active, sub.digest_time, sub.timezone, sub.instant_alerts) == (
            False,
            time(6, 0),
            "Europe/Berlin",
            True,
        )
    jobs = bot.app.job_queue.get_jobs_by_name(digest_job_name(sub_id))  # type: ignore[union-attr]
    assert all(j.removed for j in jobs)


async def test_latest_escapes_feed_text_splits_long_replies_and_buttons_work(
    make_bot: BotFactory, db: Database
) -> None:
    at = datetime(2026, 11, 19, 9, tzinfo=UTC)
    with transaction(db.sessions) as session:
        _, (first,) = add_story(
            session,
            title="Original",
            claims=[C("Shells were shipped.")],
            at=at - timedelta(days=40),
            outlet="NK News",
        )
        for n in range(20):
            add_story(
                session,
                title=f'<b>Story {n}</b> & "friends" ' + "long title words " * 40,
                url=f"https://news.example/s{n}?a=1&b=<x>",
                at=at - timedelta(hours=n),
                outlet="<script>alert(1)</script>",
                claims=[
                    C(f"New claim {n}."),
                    C(f"Shells were shipped again {n}.", "repeated", first),
                ],
            )
    bot = await make_bot()
    await bot.server.send_command("/latest 20")
    await bot.server.wait_for(
        lambda calls: any(c.params.get("reply_markup") for c in bot.server.sent("sendMessage"))
    )
    calls = bot.server.sent("sendMessage", 42)
    assert len(calls) >= 2  # over 4,096 characters: split
    joined = ""
    for call in calls:
        text = str(call.params["text"])
        assert len(text) <= 4096
        assert_balanced(text)
        joined += text
    assert "<b>Story" not in joined
    assert '&lt;b&gt;Story 0&lt;/b&gt; &amp; "friends"' in joined
    assert "<script>" not in joined
    assert "&lt;script&gt;" in joined
    assert 'href="https://news.example/s0?a=1&amp;b=&lt;x&gt;"' in joined
    # Buttons only under the last message.
    assert [bool(c.params.get("reply_markup")) for c in calls] == [False] * (len(calls) - 1) + [
        True
    ]
    buttons = calls[-1].params["reply_markup"]["inline_keyboard"]
    action = next(b[0]["callback_data"] for b in buttons if b[0]["text"] == "Show repeated claims")
    before = len(calls)
    await bot.server.press(action)
    await bot.server.wait_sent(before + 1, chat_id=42)
    assert bot.server.sent("answerCallbackQuery")
    repeated = str(bot.server.sent("sendMessage", 42)[-1].params["text"])
    assert "Shells were shipped again" in repeated
    assert "NK News" in repeated


async def test_claim_uses_the_real_engine(make_bot: BotFactory, db: Database) -> None:
    with transaction(db.sessions) as session:
        add_story(
            session,
            title="Kim tours factory",
            claims=[
                C(
                    "Kim Jong Un toured a munitions factory that produces artillery shells "
                    "for Russia."
                )
            ],
            at=datetime(2023, 8, 7, tzinfo=UTC),
            outlet="The Wall Street Journal",
            url="https://wsj.example/kim",
        )
    settings = Settings(database_url=db.url, semantic="off")
    engine = ClaimEngine.from_settings(settings, db.sessions)
    bot = await make_bot(claims=engine)
    (text,) = await bot.ask(
        "/claim Kim Jong Un visited a munitions factory producing artillery shells for Russia."
    )
    assert "REPEATED" in text
    assert "The Wall Street Journal" in text
    assert "2023-08-07" in text
    assert "Reported by 1 source" in text
    (text,) = await bot.ask("/claim " + "x" * 10_000)
    assert "too long" in text
    (text,) = await bot.ask("/claim <b>Kim</b> visited a factory")
    assert "not HTML" in text
    (text,) = await bot.ask("/claim Kim\x07 visited a factory today")
    assert "control characters" in text
    (text,) = await bot.ask("/claim")
    assert "Usage" in text


async def test_sources_status_addfeed_removefeed(make_bot: BotFactory, db: Database) -> None:
    bot = await make_bot()
    with feed_server() as feeds:  # /addfeed fetches the URL: it must answer with a feed
        url = feeds.put_file("/feed.xml", "rss2.xml")
        (text,) = await bot.ask(f"/addfeed {url}")
        assert "Only bot administrators" in text
        (text,) = await bot.ask(f"/addfeed {url}", user_id=ADMIN)
    assert "Added feed" in text
    with db.sessions() as session:
        (feed,) = feeds_store.list_feeds(session)
    (text,) = await bot.ask("/sources")
    assert "1 feed" in text
    assert f"#{feed.id}" in text
    (text,) = await bot.ask(f"/removefeed {feed.id}", user_id=ADMIN)
    assert "Removed feed" in text
    (text,) = await bot.ask("/status")
    assert "Last poll: none yet" in text


async def test_group_commands_need_chat_admins(make_bot: BotFactory, db: Database) -> None:
    bot = await make_bot()
    group = -100123
    (text,) = await bot.ask("/subscribe", chat_id=group, user_id=5, chat_type="supergroup")
    assert "Only this chat's administrators" in text
    assert bot.server.sent("getChatMember")
    bot.server.set_admins(group, {5})
    (text,) = await bot.ask(
        "/subscribe@nkwatch_test_bot", chat_id=group, user_id=5, chat_type="supergroup"
    )
    assert "Subscribed" in text
    (text,) = await bot.ask("/settings", chat_id=group, user_id=6, chat_type="supergroup")
    assert "Settings" in text  # reading is for everyone
    # A command addressed to another bot is ignored.
    await bot.server.send_command(
        "/latest@other_bot", chat_id=group, user_id=6, chat_type="supergroup"
    )
    (text,) = await bot.ask("/status", chat_id=group, user_id=6, chat_type="supergroup")
    assert "Status" in text
    assert not any("relevant stor" in t for t in bot.server.texts(group))
