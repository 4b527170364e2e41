"""A huge feed does not freeze the bot: commands are answered while it is parsed and stored."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select

from bot.chat.adapters import DbFeeds, DbNews
from bot.chat.dispatch import dispatch
from bot.chat.services import Request, Services
from bot.feeds.fetch import make_client
from bot.feeds.poller import Poller
from storage import feeds as feed_store
from storage.models import Article
from tests.helpers.feed_server import FeedServer


def big_feed(entries: int) -> bytes:
    items = "".join(
        f"<item><title>Story {i} about the munitions plant</title>"
        f"<link>https://news.example/{i}</link><guid>g{i}</guid>"
        f"<pubDate>Mon, 06 Nov 2023 10:00:00 GMT</pubDate>"
        f"<description>Workers at plant {i} reported a new shift pattern.</description></item>"
        for i in range(entries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title>'
        f"{items}</channel></rss>"
    ).encode()


async def test_commands_answered_within_a_second_while_a_20000_entry_feed_is_polled(
    db, server: FeedServer, settings, topics
) -> None:
    body = big_feed(20_000)
    settings.fetch_max_bytes = 8 * 1024 * 1024
    settings.telegram_admin_ids = [1]
    url = server.put(f"/big/{db.kind}.xml", body)
    with db.sessions.begin() as s:
        feed_store.add_feed(s, url=url, name="Big", poll_interval_seconds=900, added_by="test")
    services = Services(
        settings=settings,
        sessions=db.sessions,
        news=DbNews(db.sessions),
        feeds=DbFeeds(db.sessions, settings),
    )
    async with make_client(settings) as client:
        poller = Poller(settings=settings, sessions=db.sessions, client=client, topics=topics)
        cycle = asyncio.create_task(poller.run_cycle())
        latencies: list[float] = []
        while not cycle.done():
            started = time.perf_counter()
            reply = await dispatch(
                "sources", Request(args="", platform="telegram", chat_id="1", user_id="1"), services
            )
            latencies.append(time.perf_counter() - started)
            assert "Big" in reply.plain_text()
            await asyncio.sleep(0.05)
        report = await cycle
    assert len(body) > 900_000
    assert report.errors == 0, report.error_lines
    assert report.new_stories == settings.poll_max_entries == 1000  # the per-poll cap
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Article)) == 1000
    assert len(latencies) >= 5, "the poll finished before commands could be timed"
    assert max(latencies) < 1.0, f"slowest answer {max(latencies):.2f} s"


async def test_poll_max_entries_keeps_the_first_entries(db, server, settings, topics) -> None:
    settings.poll_max_entries = 450  # more than two store batches
    url = server.put(f"/big/cap-{db.kind}.xml", big_feed(600))
    with db.sessions.begin() as s:
        feed_store.add_feed(s, url=url, name="Cap", poll_interval_seconds=900, added_by="test")
    async with make_client(settings) as client:
        poller = Poller(settings=settings, sessions=db.sessions, client=client, topics=topics)
        report = await poller.run_cycle()
    assert report.new_stories == 450
    with db.sessions() as s:
        urls = set(s.scalars(select(Article.url)))
    assert "https://news.example/0" in urls
    assert "https://news.example/449" in urls
    assert "https://news.example/450" not in urls
