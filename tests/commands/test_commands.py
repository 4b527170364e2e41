"""The shared command layer, driven with plain requests against a real database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.chat.about import COMMANDS
from bot.chat.adapters import DbFeeds
from bot.chat.dispatch import dispatch, handle_action, needs_chat_admin
from bot.chat.inputs import MAX_CLAIM_CHARS, check_text
from bot.chat.services import Services, SubscriptionView, next_digest_at
from bot.claims.types import Change, Match, Verdict
from storage import feeds as feeds_store
from storage import subscriptions as subs_store
from storage.db import transaction
from tests.commands.conftest import NOW, FakeChecker, RecordingSchedule, candidate, req
from tests.conftest import Database
from tests.helpers.feed_server import FeedServer
from tests.helpers.stories import C, add_story


async def test_help_lists_every_public_command_and_hides_admin_ones(services: Services) -> None:
    text = (await dispatch("help", req(), services)).plain_text()
    for name, spec in COMMANDS.items():
        assert (f"/{name}" in text) is (not spec.admin_only)
    admin_text = (await dispatch("help", req(is_admin=True), services)).plain_text()
    assert "/addfeed" in admin_text
    assert "/removefeed" in admin_text


async def test_slack_requests_see_slack_syntax(services: Services) -> None:
    text = (await dispatch("start", req(platform="slack"), services)).plain_text()
    assert "/nkwatch subscribe" in text


async def test_unknown_command_gets_a_short_pointer_to_help(services: Services) -> None:
    out = await dispatch("frobnicate", req(), services)
    assert out.error
    assert "Unknown command frobnicate" in out.plain_text()
    assert "/help" in out.plain_text()


async def test_subscribe_daily_with_time_and_zone(services: Services, db: Database) -> None:
    out = await dispatch("subscribe", req("daily 07:30 Asia/Seoul"), services)
    assert not out.error
    assert "07:30 (Asia/Seoul)" in out.plain_text()
    with db.sessions() as session:
        sub = subs_store.get_subscription(session, platform="telegram", chat_id="42")
        assert sub is not None
        assert (sub.mode, sub.digest_time, sub.timezone, sub.active) == (
            "daily",
            time(7, 30),
            "Asia/Seoul",
            True,
        )
    schedule = services.schedule
    assert isinstance(schedule, RecordingSchedule)
    assert [c.digest_time for c in schedule.changes] == [time(7, 30)]


async def test_subscribe_instant_and_plain(services: Services, db: Database) -> None:
    await dispatch("subscribe", req("instant"), services)
    await dispatch("subscribe", req(chat_id="7"), services)
    with db.sessions() as session:
        instant = subs_store.get_subscription(session, platform="telegram", chat_id="42")
        daily = subs_store.get_subscription(session, platform="telegram", chat_id="7")
        assert instant is not None
        assert daily is not None
        assert (instant.mode, instant.instant_alerts) == ("instant", True)
        assert (daily.mode, daily.digest_time) == ("daily", time(8, 0))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("daily 25:00", "HH:MM"),
        ("daily 7", "HH:MM"),
        ("daily 07:30 Mars/Olympus", "Unknown time zone"),
        ("daily 07:30 ../../etc/passwd", "Unknown time zone"),
        ("weekly", "Usage"),
        ("instant now", "Usage"),
        ("daily 07:30 UTC extra", "Usage"),
    ],
)
async def test_subscribe_rejects_bad_arguments(
    services: Services, db: Database, args: str, expected: str
) -> None:
    out = await dispatch("subscribe", req(args), services)
    assert out.error
    assert expected in out.plain_text()
    with db.sessions() as session:
        assert subs_store.get_subscription(session, platform="telegram", chat_id="42") is None


async def test_unsubscribe(services: Services, db: Database) -> None:
    assert "not subscribed" in (await dispatch("unsubscribe", req(), services)).plain_text()
    await dispatch("subscribe", req(), services)
    out = await dispatch("unsubscribe", req(), services)
    assert "Unsubscribed" in out.plain_text()
    with db.sessions() as session:
        assert subs_store.list_active(session) == []


async def test_settings_show_and_change(services: Services, db: Database) -> None:
    out = await dispatch("settings", req(), services)
    assert "not subscribed" in out.plain_text()
    await dispatch("subscribe", req(), services)
    assert (
        "Digest time set to 06:45"
        in (await dispatch("settings", req("time 06:45"), services)).plain_text()
    )
    await dispatch("settings", req("tz Europe/Berlin"), services)
    await dispatch("settings", req("instant on"), services)
    shown = (await dispatch("settings", req("relevance 2.5"), services)).plain_text()
    assert "Minimum relevance: 2.5" in shown
    assert "Instant alerts: on" in shown
    # NOW is 12:00 UTC = 13:00 Berlin, so the next 06:45 is tomorrow.
    assert "Next digest: 2026-11-21 06:45 CET" in shown
    with db.sessions() as session:
        sub = subs_store.get_subscription(session, platform="telegram", chat_id="42")
        assert sub is not None
        assert (sub.digest_time, sub.timezone, sub.instant_alerts, sub.min_relevance) == (
            time(6, 45),
            "Europe/Berlin",
            True,
            2.5,
        )


@pytest.mark.parametrize(
    "args",
    [
        "time 7pm",
        "tz Nowhere/City",
        "instant maybe",
        "relevance -1",
        "relevance lots",
        "relevance nan",
        "colour blue",
        "time",
    ],
)
async def test_settings_rejects_bad_values(services: Services, db: Database, args: str) -> None:
    await dispatch("subscribe", req(), services)
    out = await dispatch("settings", req(args), services)
    assert out.error
    with db.sessions() as session:
        sub = subs_store.get_subscription(session, platform="telegram", chat_id="42")
        assert sub is not None
        assert (sub.digest_time, sub.timezone, sub.instant_alerts, sub.min_relevance) == (
            time(8, 0),
            "UTC",
            False,
            0.0,
        )


def test_next_digest_at_respects_the_chat_zone() -> None:
    view = SubscriptionView(
        id=1,
        platform="telegram",
        chat_id="1",
        mode="daily",
        digest_time=time(7, 30),
        timezone="Asia/Seoul",
        instant_alerts=False,
        min_relevance=0,
        active=True,
    )
    # 21:00 UTC on the 20th is 06:00 on the 21st in Seoul: today's 07:30 is still ahead.
    at = next_digest_at(view, datetime(2026, 11, 20, 21, 0, tzinfo=UTC))
    assert at == datetime(2026, 11, 21, 7, 30, tzinfo=ZoneInfo("Asia/Seoul"))
    at = next_digest_at(view, datetime(2026, 11, 20, 23, 0, tzinfo=UTC))
    assert at == datetime(2026, 11, 22, 7, 30, tzinfo=ZoneInfo("Asia/Seoul"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("x" * 10_000, "too long"),
        ("North Korea\x00 shipped shells", "control characters"),
        ("North Korea \x1b[31mshipped", "control characters"),
        ("<b>North Korea</b> shipped shells", "not HTML"),
        ("North Korea <script>alert(1)</script>", "not HTML"),
    ],
)
async def test_bad_claim_text_is_refused_before_the_engine(
    services: Services, text: str, reason: str
) -> None:
    out = await dispatch("claim", req(text), services)
    assert out.error
    assert reason in out.plain_text()
    checker = services.claims
    assert isinstance(checker, FakeChecker)
    assert checker.asked == []


def test_check_text_accepts_ordinary_comparisons() -> None:
    assert check_text("range < 500 km and > 300 km", limit=MAX_CLAIM_CHARS) is None
    assert check_text("Kim toured the factory\nwith officials", limit=MAX_CLAIM_CHARS) is None


async def test_claim_without_text_or_too_short(services: Services) -> None:
    assert "Usage" in (await dispatch("claim", req(""), services)).plain_text()
    assert "whole claim" in (await dispatch("claim", req("missiles"), services)).plain_text()


async def test_claim_repeated_shows_match_source_date_and_source_count(
    services: Services, db: Database
) -> None:
    at = datetime(2023, 8, 7, 12, tzinfo=UTC)
    with transaction(db.sessions) as session:
        _, (root,) = add_story(
            session,
            title="WSJ story",
            claims=[C("Kim toured a factory.")],
            at=at,
            outlet="The Wall Street Journal",
        )
        for outlet in ("AP", "Reuters"):
            _, (copy,) = add_story(
                session,
                title=f"{outlet} story",
                claims=[C("Kim visited a factory.", "repeated", root)],
                at=at + timedelta(days=1),
                outlet=outlet,
            )
            copy.root_claim_id = root.id
        root_id = root.id
    best = candidate(
        root_id,
        "Kim toured a factory.",
        source="The Wall Street Journal",
        published=at,
        url="https://wsj.example/kim",
        root_claim_id=None,
    )
    services.claims = FakeChecker(
        Verdict(
            status="repeated",
            score=0.91,
            matches=(Match(best, 0.91),),
            explanation="Same actor, place and event.",
        )
    )
    out = await dispatch("claim", req("Kim Jong Un toured a munitions factory"), services)
    text = out.plain_text()
    assert "REPEATED" in text
    assert "Kim toured a factory." in text
    assert "The Wall Street Journal, 2023-08-07" in text
    assert "Reported by 3 sources" in text
    assert [b.action for b in out.buttons] == [f"cl:{root_id}"]
    details = await handle_action(out.buttons[0].action, req(), services)
    assert "Kim toured a factory." in details.plain_text()
    assert "The Wall Street Journal" in details.plain_text()


async def test_claim_updated_shows_the_changed_figure(services: Services) -> None:
    best = candidate(
        5, "The missile flew 1,000 km.", source="AP", published=datetime(2023, 8, 14, tzinfo=UTC)
    )
    services.claims = FakeChecker(
        Verdict(
            status="updated",
            score=0.8,
            matches=(Match(best, 0.8),),
            changed=(Change("range", "1,000 km", "1,500 km"),),
        )
    )
    text = (await dispatch("claim", req("The missile flew 1,500 km"), services)).plain_text()
    assert "UPDATED" in text
    assert "range: 1,000 km → 1,500 km" in text


async def test_claim_new_without_matches(services: Services) -> None:
    out = await dispatch("claim", req("A brand new factory opened in Sinpo"), services)
    assert "NEW" in out.plain_text()
    assert out.buttons == ()


async def test_latest_lists_stories_with_counts_and_a_repeats_button(
    services: Services, db: Database
) -> None:
    at = datetime(2026, 11, 19, 9, tzinfo=UTC)
    with transaction(db.sessions) as session:
        _, (first,) = add_story(
            session,
            title="Old report",
            claims=[C("Shells were shipped.")],
            at=at - timedelta(days=30),
            outlet="NK News",
        )
        story, _ = add_story(
            session,
            title="Fresh <i>report</i>",
            at=at,
            outlet="38 North",
            claims=[
                C("A new launcher was shown."),
                C("Shells were sent.", "repeated", first),
                C("Range is 2,000 km.", "updated", first),
            ],
        )
        add_story(session, title="Low relevance", claims=[C("x y z")], at=at, relevance=0.5)
        story_id = story.id
    out = await dispatch("latest", req("2"), services)
    text = out.plain_text()
    assert "Latest 2 relevant stories" in text
    assert "Fresh <i>report</i> — 38 North · 2026-11-19 — 1 new, 1 repeated, 1 updated" in text
    labels = {b.label: b.action for b in out.buttons}
    assert labels["Show repeated claims"] == f"rep:{story_id}"
    repeated = (await handle_action(labels["Show repeated claims"], req(), services)).plain_text()
    assert "Shells were sent." in repeated
    assert "first reported" in repeated
    assert "NK News" in repeated
    updated = (await handle_action(labels["Show updated claims"], req(), services)).plain_text()
    assert "Range is 2,000 km." in updated


async def test_latest_respects_the_chat_minimum_relevance(services: Services, db: Database) -> None:
    at = datetime(2026, 11, 19, 9, tzinfo=UTC)
    with transaction(db.sessions) as session:
        add_story(session, title="Weak", claims=[C("a b c")], at=at, relevance=0.5)
        add_story(session, title="Strong", claims=[C("d e f")], at=at, relevance=3.0)
    assert "Weak" in (await dispatch("latest", req(), services)).plain_text()
    await dispatch("subscribe", req(), services)
    await dispatch("settings", req("relevance 1"), services)
    text = (await dispatch("latest", req(), services)).plain_text()
    assert "Strong" in text
    assert "Weak" not in text


@pytest.mark.parametrize("args", ["0", "21", "five", "3 4", "-2"])
async def test_latest_bad_count(services: Services, args: str) -> None:
    out = await dispatch("latest", req(args), services)
    assert out.error
    assert "1 to 20" in out.plain_text()


async def test_latest_when_empty(services: Services) -> None:
    assert "No relevant stories yet" in (await dispatch("latest", req(), services)).plain_text()


async def test_expired_or_forged_buttons(services: Services) -> None:
    for action in ("rep:", "rep:abc", "zzz:1", "", "cl:" + "9" * 300):
        out = await handle_action(action, req(), services)
        assert out.error or "no longer" in out.plain_text() or "No " in out.plain_text()


async def test_sources_shows_health(services: Services, db: Database) -> None:
    with transaction(db.sessions) as session:
        ok = feeds_store.add_feed(
            session,
            url="https://a.example/rss",
            name="Good feed",
            poll_interval_seconds=900,
            added_by=None,
        )
        feeds_store.record_fetch_success(
            session, feed_id=ok.id, now=NOW, next_check_at=NOW, etag=None, last_modified=None
        )
        bad = feeds_store.add_feed(
            session,
            url="https://b.example/rss",
            name="Bad feed",
            poll_interval_seconds=900,
            added_by=None,
        )
        feeds_store.record_fetch_error(
            session, feed_id=bad.id, now=NOW, error="HTTP 500", next_check_at=NOW
        )
        gone = feeds_store.add_feed(
            session,
            url="https://c.example/rss",
            name="Gone feed",
            poll_interval_seconds=900,
            added_by=None,
        )
        feeds_store.disable_feed(session, feed_id=gone.id, reason="410 Gone")
    text = (await dispatch("sources", req(), services)).plain_text()
    assert "3 feeds" in text
    assert "Good feed — ok, last success 2026-11-20" in text
    assert "Bad feed — failing (1 error: HTTP 500)" in text
    assert "Gone feed — disabled (410 Gone)" in text


async def test_addfeed_and_removefeed_are_admin_only(
    services: Services, db: Database, server: FeedServer
) -> None:
    url = server.put_file(f"/cmd/{db.kind}/admin.xml", "rss2.xml")
    out = await dispatch("addfeed", req(url, user_id="5"), services)
    assert out.error
    assert "administrators" in out.plain_text()
    assert server.hits[f"/cmd/{db.kind}/admin.xml"] == 0  # refused before any fetch
    out = await dispatch("addfeed", req(url, is_admin=True), services)
    assert not out.error, out.plain_text()
    with db.sessions() as session:
        (feed,) = feeds_store.list_feeds(session)
        assert (feed.url, feed.added_by) == (url, "telegram:42")
    dup = await dispatch("addfeed", req(url, is_admin=True), services)
    assert dup.error
    assert f"#{feed.id}" in dup.plain_text()
    assert (await dispatch("removefeed", req(str(feed.id)), services)).error
    assert (
        "Removed feed"
        in (await dispatch("removefeed", req(f"#{feed.id}", is_admin=True), services)).plain_text()
    )
    assert (
        "No feed"
        in (await dispatch("removefeed", req(str(feed.id), is_admin=True), services)).plain_text()
    )
    for bad in ("", "ftp://x.example/rss", "two words"):
        assert (await dispatch("addfeed", req(bad, is_admin=True), services)).error
    assert (await dispatch("removefeed", req("abc", is_admin=True), services)).error
    for huge in ("99999999999999999999999", str(2**31), "9" * 250):
        out = await dispatch("removefeed", req(huge, is_admin=True), services)
        assert out.error
        assert "No feed #" in out.plain_text()  # not "something went wrong"


async def test_addfeed_refuses_urls_that_do_not_answer_with_a_feed(
    services: Services, db: Database, server: FeedServer
) -> None:
    page = server.put(
        f"/cmd/{db.kind}/page.html",
        "<html><body><p>Just a page</p></body></html>",
        content_type="text/html",
    )
    missing = server.url(f"/cmd/{db.kind}/missing.xml")
    for url, reason in ((page, "does not answer with a feed"), (missing, "404")):
        out = await dispatch("addfeed", req(url, is_admin=True), services)
        assert out.error, url
        text = out.plain_text()
        assert text.startswith("Feed not added:"), text
        assert reason in text
        assert "\n" not in text.strip()  # one line, no traceback
    with db.sessions() as session:
        assert feeds_store.list_feeds(session) == []
    good = server.put_file(f"/cmd/{db.kind}/good.xml", "atom.xml")
    assert not (await dispatch("addfeed", req(good, is_admin=True), services)).error


async def test_addfeed_refuses_private_addresses(services: Services) -> None:
    services.settings = services.settings.model_copy(update={"allow_private_feeds": False})
    services.feeds = DbFeeds(services.sessions, services.settings)
    out = await dispatch("addfeed", req("http://127.0.0.1:8080/feed", is_admin=True), services)
    assert out.error
    assert "non-public" in out.plain_text()


async def test_status(services: Services, db: Database) -> None:
    text = (await dispatch("status", req(), services)).plain_text()
    assert "Last poll: none yet" in text
    assert "not subscribed" in text
    with transaction(db.sessions) as session:
        run = feeds_store.start_poll_run(session, now=NOW - timedelta(minutes=5))
        feeds_store.finish_poll_run(
            session,
            run_id=run.id,
            now=NOW,
            feeds_polled=6,
            new_stories=2,
            relevant_stories=1,
            claims_new=3,
            claims_repeated=1,
            claims_updated=0,
            errors=1,
        )
        add_story(
            session,
            title="Today",
            claims=[C("a b c"), C("d e f", "repeated")],
            at=datetime.now(UTC),
        )
    await dispatch("subscribe", req("daily 18:00"), services)
    text = (await dispatch("status", req(), services)).plain_text()
    assert "Last poll: 2026-11-20 11:55 UTC — 6 feeds, 2 new stories, 1 error" in text
    assert "claims 1 new, 1 repeated, 0 updated" in text
    assert "Next digest: 2026-11-20 18:00 UTC" in text


def test_group_subscription_changes_need_chat_admins() -> None:
    group = req("daily 07:00", is_group=True)
    assert needs_chat_admin("subscribe", group)
    assert needs_chat_admin("settings", req("time 07:00", is_group=True))
    assert not needs_chat_admin("settings", req("", is_group=True))
    assert not needs_chat_admin("subscribe", req("daily 07:00"))
    assert not needs_chat_admin("latest", group)


async def test_group_member_cannot_unsubscribe_the_group(services: Services, db: Database) -> None:
    await dispatch("subscribe", req(is_group=True, is_chat_admin=True, chat_id="-5"), services)
    out = await dispatch("unsubscribe", req(is_group=True, chat_id="-5"), services)
    assert out.error
    assert "administrators" in out.plain_text()
    with db.sessions() as session:
        assert len(subs_store.list_active(session)) == 1


async def test_first_reported_is_the_root_not_the_nearest_match(
    services: Services, db: Database
) -> None:
    """A chain first -> middle -> fresh: /latest and /claim name the first report, not middle."""
    at = datetime(2026, 11, 19, 9, tzinfo=UTC)
    with transaction(db.sessions) as session:
        _, (first,) = add_story(
            session,
            title="First",
            claims=[C("Shells were shipped to Russia.")],
            at=at - timedelta(days=60),
            outlet="Yonhap",
        )
        _, (middle,) = add_story(
            session,
            title="Middle",
            claims=[C("Shells went to Russia.", "repeated", first)],
            at=at - timedelta(days=30),
            outlet="NK News",
        )
        story, _ = add_story(
            session,
            title="Fresh",
            at=at,
            outlet="38 North",
            claims=[C("Shells were sent to Russia.", "repeated", middle)],
        )
        story_id, first_id, middle_id = story.id, first.id, middle.id
    shown = (await handle_action(f"rep:{story_id}", req(), services)).plain_text()
    assert f"first reported {(at - timedelta(days=60)).date().isoformat()} by Yonhap" in shown
    assert "by NK News" not in shown

    best = candidate(middle_id, "Shells went to Russia.", source="NK News", root_claim_id=first_id)
    services.claims = FakeChecker(
        Verdict(status="repeated", score=0.9, matches=(Match(best, 0.9),))
    )
    text = (await dispatch("claim", req("Shells were sent to Russia again"), services)).plain_text()
    assert "First reported: Yonhap, " in text
    assert "Reported by 3 sources" in text
