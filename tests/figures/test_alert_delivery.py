"""`/subscribe track containers` end to end: a stream of polls moves the container series, and a
Telegram chat (real PTB Application against the loopback Bot API) and a Slack channel (real
slack-bolt, signed requests) each get exactly one alert per move, until they unsubscribe."""

from __future__ import annotations

from bot.telegram.digests import OutboxRunner
from bot.telegram.jobs import fire_now, run_delivery
from storage import subscriptions as subs_store
from tests.conftest import Database
from tests.figures.watching import CONFIRMED, RESTATED, Feeder, container_reports
from tests.helpers.telegram_server import Call
from tests.slack.conftest import SlackHarness, text_of
from tests.telegram.conftest import Bot, BotFactory
from tests.telegram.test_track import png_size

CHAT = 42
CHANNEL = "C0WATCH01"
ADMIN = "U0ADMINWS"


async def _deliver(bot: Bot, slack: SlackHarness, sub_id: int) -> tuple[list[Call], list[str]]:
    """One Telegram alert pass and one Slack tick; what each platform got, in all, so far."""
    await run_delivery(bot.app, sub_id, kind="instant")
    await slack.bot.digests.tick()
    photos = bot.server.sent("sendPhoto", CHAT)
    posts = [text_of(c) for c in slack.api.calls_to("chat.postMessage")]
    return photos, posts


async def test_one_alert_per_move_in_telegram_and_slack(
    make_bot: BotFactory, slack: SlackHarness, db: Database
) -> None:
    feeder = Feeder(db.sessions, db.url)
    reports = container_reports()
    for story in reports[:2]:  # 1,000 then 5,000: a series to watch
        feeder.feed(story)
    runner = OutboxRunner(db.sessions)
    bot = await make_bot(digest_runner=runner)

    (answer,) = await bot.ask("/subscribe track Containers", chat_id=CHAT, user_id=CHAT)
    assert "Watching <b>containers of munitions to Russia</b>" in answer
    assert "Latest: about 5,000 (2023-12-02, Seoul Daily)" in answer
    slack.api.users[ADMIN] = {"is_admin": True}
    answer_call = await slack.command("subscribe track containers", channel=CHANNEL, user=ADMIN)
    assert "Watching *containers of munitions to Russia*" in text_of(answer_call)
    (listing,) = await bot.ask("/watches", chat_id=CHAT, user_id=CHAT)
    assert "<b>containers of munitions to Russia</b>: latest about 5,000" in listing
    with db.sessions() as s:
        sub = subs_store.get_subscription(s, platform="telegram", chat_id=str(CHAT))
        assert sub is not None
        assert (sub.mode, sub.active) == ("watch", True)  # alerts only: no daily digest job
        sub_id = sub.id
    queue = bot.app.job_queue
    assert queue is not None

    # The first move goes out through the real instant-alert job, which now serves this chat.
    feeder.feed(reports[2])
    (tick,) = queue.get_jobs_by_name("instant-alerts")
    await fire_now(tick)
    (photo,) = await bot.server.wait_sent(1, chat_id=CHAT, method="sendPhoto")
    await runner.idle()
    caption = str(photo.params["caption"])
    assert caption.startswith(
        "<b>containers of munitions to Russia</b>: about 5,000 → about 6,700 (Seoul Daily, "
        '2024-02-27) <a href="https://news.example/20240227/seoul">link</a>'
    )
    assert "Path: more than 1,000 (Oct 2023) → about 5,000 (Dec 2023) → about 6,700" in caption
    assert photo.params["parse_mode"] == "HTML"
    field, filename, data = bot.server.uploads[-1]
    assert (field, filename) == ("photo", "containers-of-munitions-to-russia.png")
    assert png_size(data) == (1080, 720)

    photos, posts = await _deliver(bot, slack, sub_id)
    assert len(photos) == 1  # the tick sent it; this pass finds nothing new
    (post,) = posts
    assert "about 5,000 → about 6,700 (Seoul Daily, 2024-02-27)" in post
    assert "/nkwatch track containers-of-munitions-to-russia" in post

    moves = [(reports[3], True), (reports[4], True), (RESTATED, False), (CONFIRMED, True)]
    for story, moved in moves:
        before = (len(photos), len(posts))
        feeder.feed(story)
        photos, posts = await _deliver(bot, slack, sub_id)
        photos, posts = await _deliver(bot, slack, sub_id)  # a second pass adds nothing
        assert (len(photos), len(posts)) == (before[0] + moved, before[1] + moved), story
    assert "10,000, now also reported by Border Monitor (2024-07-15)" in posts[-1]
    assert "3,000–4,500 → 10,000 (Seoul Daily, 2024-06-20)" in str(photos[-2].params["caption"])

    (stopped,) = await bot.ask("/unsubscribe track containers", chat_id=CHAT, user_id=CHAT)
    assert "Stopped watching <b>containers of munitions to Russia</b>" in stopped
    (listing,) = await bot.ask("/watches", chat_id=CHAT, user_id=CHAT)
    assert "This chat watches no tracked figure." in listing
    feeder.feed(reports[5])  # 13,000: only the channel still watches
    after_photos, after_posts = await _deliver(bot, slack, sub_id)
    assert len(after_photos) == len(photos)
    assert len(after_posts) == len(posts) + 1
    assert "10,000 → up to 13,000 (Washington Wire, 2024-10-10)" in after_posts[-1]
    with db.sessions() as s:
        sub = subs_store.get_subscription(s, platform="telegram", chat_id=str(CHAT))
        assert sub is not None
        assert not sub.active

    answer_call = await slack.command(
        "unsubscribe track containers-of-munitions-to-russia", channel=CHANNEL, user=ADMIN
    )
    assert "Stopped watching" in text_of(answer_call)
    with db.sessions() as s:
        sub = subs_store.get_subscription(s, platform="slack", chat_id=CHANNEL)
        assert sub is not None
        assert (sub.mode, sub.active) == ("watch", False)
