"""Poll cycles against the loopback feed server and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import bot.feeds.offload as offload_module
from bot.feeds.fetch import make_client
from bot.feeds.fetch_state import backoff_seconds
from bot.feeds.poller import ClaimCounts, Poller, make_scheduler
from storage import feeds as feed_store
from storage.models import Article, ArticleSource, Feed, PollRun
from tests.helpers import queries
from tests.helpers.feed_server import FeedServer


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_poller(db, settings, client, topics, clock, **kw) -> Poller:
    return Poller(
        settings=settings,
        sessions=db.sessions,
        client=client,
        topics=topics,
        clock=clock,
        rng=random.Random(1),
        **kw,
    )


def add_feed(db, url: str, name: str = "Test feed") -> int:
    with db.sessions.begin() as s:
        return feed_store.add_feed(
            s, url=url, name=name, poll_interval_seconds=900, added_by="test"
        ).id


def feed_row(db, feed_id: int) -> Feed:
    with db.sessions() as s:
        feed = feed_store.get_feed(s, feed_id=feed_id)
        assert feed is not None
        return feed


def articles(db) -> list[Article]:
    with db.sessions() as s:
        return list(s.scalars(select(Article).order_by(Article.id)))


def sources(db) -> list[ArticleSource]:
    with db.sessions() as s:
        return list(s.scalars(select(ArticleSource).order_by(ArticleSource.id)))


def make_due(db, feed_id: int | None = None) -> None:
    with db.sessions.begin() as s:
        query = update(Feed).values(next_check_at=None)
        if feed_id is not None:
            query = query.where(Feed.id == feed_id)
        s.execute(query)


async def test_first_poll_stores_stories_once_and_second_poll_is_304(
    db, server: FeedServer, settings, client, topics, clock
) -> None:
    url = server.put_file(f"/p/{db.kind}/rss2.xml", "rss2.xml")
    feed_id = add_feed(db, url, "Wire")
    received: list[list[int]] = []

    def on_new(session: Session, ids: Sequence[int]) -> ClaimCounts:
        received.append(list(ids))
        return ClaimCounts(new=2 * len(ids), repeated=1, updated=0)

    poller = make_poller(db, settings, client, topics, clock, on_new_articles=on_new)
    report = await poller.run_cycle()

    stored = articles(db)
    assert [a.title for a in stored] == [
        "North Korea test-fires new multiple rocket launcher",
        "Seoul stocks close higher on chip rally",
        "Kim Jong Un visits munitions factory, orders more artillery shells",
    ]
    assert [a.relevant for a in stored] == [True, False, True]
    assert all(a.origin == "feed" and a.outlet == "Wire" for a in stored)
    assert stored[0].url == "https://wire.example/2024/05/10/rocket-launcher?id=77"
    assert stored[0].published_at == datetime(2024, 5, 10, 0, 30, tzinfo=UTC)
    assert (report.feeds_polled, report.new_stories, report.relevant_stories) == (1, 3, 2)
    assert (report.claims_new, report.claims_repeated, report.errors) == (4, 1, 0)
    assert received == [[stored[0].id, stored[2].id]]
    feed = feed_row(db, feed_id)
    assert feed.etag
    assert feed.last_modified
    assert feed.last_success_at == clock.now
    assert (
        clock.now + timedelta(seconds=900)
        <= feed.next_check_at
        <= clock.now + timedelta(seconds=990)
    )
    with db.sessions() as s:
        run = s.scalars(select(PollRun)).one()
        assert (run.feeds_polled, run.new_stories, run.relevant_stories, run.claims_new) == (
            1,
            3,
            2,
            4,
        )
        assert run.finished_at is not None

    # Not due yet: nothing is fetched.
    hits = server.hits[f"/p/{db.kind}/rss2.xml"]
    assert (await poller.run_cycle()).feeds_polled == 0
    assert server.hits[f"/p/{db.kind}/rss2.xml"] == hits

    clock.advance(seconds=1000)
    again = await poller.run_cycle()
    assert again.feeds_polled == 1
    assert again.new_stories == 0
    assert server.request_headers[f"/p/{db.kind}/rss2.xml"][-1]["If-None-Match"] == feed.etag
    assert len(articles(db)) == 3
    assert received == [[stored[0].id, stored[2].id]]


async def test_same_content_without_validators_is_not_stored_twice(
    db, server: FeedServer, settings, client, topics, clock
) -> None:
    url = server.put_file(f"/p/{db.kind}/nocond.xml", "atom.xml", conditional=False)
    add_feed(db, url)
    poller = make_poller(db, settings, client, topics, clock)
    first = await poller.run_cycle()
    make_due(db)
    second = await poller.run_cycle()
    assert first.new_stories == 2
    assert second.new_stories == 0
    assert len(articles(db)) == 2
    assert len(sources(db)) == 2
    undated = next(a for a in articles(db) if a.title.startswith("Undated"))
    assert undated.published_inferred
    assert undated.published_at == clock.now


@pytest.mark.parametrize(
    ("fixture", "version_title"),
    [
        ("rdf.xml", "DPRK unveils new ICBM launcher trucks at parade"),
        ("rss091.xml", "Pyongyang shows off artillery at exhibition"),
        ("cp1252_declared_utf8.xml", "Kim’s “missile” factory – €1m"),
        ("latin1_nodecl.xml", "Pyongyang's arms fair - café señor"),
        ("utf16_bom.xml", "북한 미사일 발사 — North Korea missile launch"),
    ],
)
async def test_formats_and_encodings_are_stored_readably(
    db, server: FeedServer, settings, client, topics, clock, fixture: str, version_title: str
) -> None:
    content_type = None if fixture == "latin1_nodecl.xml" else "application/xml"
    if fixture == "cp1252_declared_utf8.xml":
        content_type = "application/rss+xml; charset=utf-8"
    url = server.put_file(f"/p/{db.kind}/{fixture}", fixture, content_type=content_type)
    feed_id = add_feed(db, url)
    report = await make_poller(db, settings, client, topics, clock).run_cycle()
    assert report.errors == 0
    assert [a.title for a in articles(db)] == [version_title]
    assert feed_row(db, feed_id).error_count == 0


async def test_malformed_feed_keeps_readable_entries_and_records_the_error(
    db, server: FeedServer, settings, client, topics, clock
) -> None:
    url = server.put_file(f"/p/{db.kind}/malformed.xml", "malformed.xml")
    feed_id = add_feed(db, url)
    await make_poller(db, settings, client, topics, clock).run_cycle()
    assert [a.title for a in articles(db)] == ["North Korea fires cruise missiles off west coast"]
    feed = feed_row(db, feed_id)
    assert feed.enabled
    assert feed.error_count == 0
    assert "not well-formed" in (feed.last_error or "")
    assert feed.last_error_at == clock.now


async def test_hostile_html_is_stored_as_clean_text(
    db, server: FeedServer, settings, client, topics, clock
) -> None:
    add_feed(db, server.put_file(f"/p/{db.kind}/hostile.xml", "hostile.xml"))
    await make_poller(db, settings, client, topics, clock).run_cycle()
    (article,) = articles(db)
    assert article.url is None
    assert "ballistic missile" in (article.text or "")
    for bad in ("<", "alert", "cookie", "iframe", "secrets", "form text"):
        assert bad not in (article.text or "") + article.title


async def test_html_page_is_an_error_not_a_crash(
    db, server: FeedServer, settings, client, topics, clock
) -> None:
    url = server.put_file(f"/p/{db.kind}/page.html", "not_a_feed.html", content_type="text/html")
    feed_id = add_feed(db, url)
    report = await make_poller(db, settings, client, topics, clock).run_cycle()
    assert report.errors == 1
    feed = feed_row(db, feed_id)
    assert feed.error_count == 1
    assert "not a feed" in (feed.last_error or "")
    assert articles(db) == []


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/status/404", "HTTP 404"),
        ("/status/500", "HTTP 500"),
        ("/slow/3", "timed out"),
        ("/loop/a", "redirects"),
        ("/endless", "cap"),
        ("/bomb", "cap"),
    ],
)
async def test_faults_are_recorded_with_time_and_backoff(
    db, server: FeedServer, settings, client, topics, clock, path: str, message: str
) -> None:
    feed_id = add_feed(db, server.url(path))
    report = await make_poller(db, settings, client, topics, clock).run_cycle()
    assert report.errors == 1
    assert report.new_stories == 0
    feed = feed_row(db, feed_id)
    assert message in (feed.last_error or "")
    assert feed.last_error_at == clock.now
    assert feed.error_count == 1
    assert feed.enabled
    assert feed.next_check_at == clock.now + timedelta(seconds=settings.backoff_base_seconds)
    assert articles(db) == []


async def test_backoff_grows_then_feed_is_disabled(
    db, server: FeedServer, settings, client, topics, clock
) -> None:
    feed_id = add_feed(db, server.url("/status/503"))
    poller = make_poller(db, settings, client, topics, clock)
    delays = []
    for _ in range(settings.max_consecutive_failures):
        before = clock.now
        await poller.run_cycle()
        feed = feed_row(db, feed_id)
        if feed.next_check_at is not None:
            delays.append((feed.next_check_at - before).total_seconds())
            clock.now = feed.next_check_at
    feed = feed_row(db, feed_id)
    assert delays == [60, 120]
    assert not feed.enabled
    assert feed.error_count == settings.max_consecutive_failures
    assert "3 consecutive failures" in (feed.disabled_reason or "")
    clock.advance(days=30)
    assert (await poller.run_cycle()).feeds_polled == 0


def test_backoff_is_capped(settings) -> None:
    assert [backoff_seconds(n, settings) for n in (1, 2, 3)] == [60, 120, 240]
    assert backoff_seconds(50, settings) == settings.backoff_max_seconds


async def test_success_after_failures_resets_the_count(
    db, server: FeedServer, settings, client, topics, clock
) -> None:
    path = f"/p/{db.kind}/flaky.xml"
    feed_id = add_feed(db, server.url(path))
    poller = make_poller(db, settings, client, topics, clock)
    await poller.run_cycle()  # 404: nothing there yet
    assert feed_row(db, feed_id).error_count == 1
    server.put_file(path, "rss2.xml")
    make_due(db)
    await poller.run_cycle()
    feed = feed_row(db, feed_id)
    assert feed.error_count == 0
    assert "404" in (feed.last_error or "")  # history kept
    assert len(articles(db)) == 3


async def test_410_gone_disables_the_feed(db, server, settings, client, topics, clock) -> None:
    feed_id = add_feed(db, server.url("/status/410"))
    await make_poller(db, settings, client, topics, clock).run_cycle()
    feed = feed_row(db, feed_id)
    assert not feed.enabled
    assert feed.disabled_reason == "HTTP 410 Gone"
    assert feed.last_error_at == clock.now


async def test_429_retry_after_is_honoured_without_counting_a_failure(
    db, server, settings, client, topics, clock
) -> None:
    feed_id = add_feed(db, server.url("/status/429?retry_after=1800"))
    await make_poller(db, settings, client, topics, clock).run_cycle()
    feed = feed_row(db, feed_id)
    assert feed.enabled
    assert feed.error_count == 0
    assert feed.next_check_at == clock.now + timedelta(seconds=1800)
    assert "429" in (feed.last_error or "")


async def test_retry_after_is_capped_by_backoff_max(db, server, settings, client, topics, clock):
    feed_id = add_feed(db, server.url("/status/429?retry_after=99999999"))
    await make_poller(db, settings, client, topics, clock).run_cycle()
    assert feed_row(db, feed_id).next_check_at == clock.now + timedelta(
        seconds=settings.backoff_max_seconds
    )


async def test_private_feed_refused_backs_off_instead_of_disabling_at_once(
    db, server, settings, client, topics, clock
) -> None:
    url = server.put_file(f"/p/{db.kind}/ssrf.xml", "rss2.xml")
    feed_id = add_feed(db, url)
    settings.allow_private_feeds = False
    poller = make_poller(db, settings, client, topics, clock)
    report = await poller.run_cycle()
    feed = feed_row(db, feed_id)
    assert feed.enabled  # one refusal (a redirect that may be fixed) is not the end of the feed
    assert "non-public address 127.0.0.1" in (feed.last_error or "")
    assert feed.next_check_at == clock.now + timedelta(seconds=settings.backoff_base_seconds)
    assert report.error_lines == [
        f'feed #{feed_id} "Test feed" ({url}): 127.0.0.1 resolves to non-public address 127.0.0.1'
    ]
    assert report.all_failed
    for _ in range(settings.max_consecutive_failures - 1):
        make_due(db, feed_id)
        await poller.run_cycle()
    feed = feed_row(db, feed_id)
    assert not feed.enabled  # refused every time: disabled like any feed that keeps failing
    assert "non-public address 127.0.0.1" in (feed.disabled_reason or "")
    assert server.hits[f"/p/{db.kind}/ssrf.xml"] == 0


async def test_changing_guids_do_not_duplicate_stories(
    db, server, settings, client, topics, clock
) -> None:
    add_feed(db, server.url("/changing-guids"))
    poller = make_poller(db, settings, client, topics, clock)
    first = await poller.run_cycle()
    counts = (len(articles(db)), len(sources(db)))
    for _ in range(3):
        make_due(db)
        report = await poller.run_cycle()
        assert report.new_stories == 0
    assert first.new_stories == 3
    assert (len(articles(db)), len(sources(db))) == counts == (3, 3)


async def test_two_feeds_with_the_same_wire_story_store_it_once_with_both_sources(
    db, server, settings, client, topics, clock
) -> None:
    a = add_feed(db, server.put_file(f"/p/{db.kind}/synd-a.xml", "syndicated_a.xml"), "Outlet A")
    b = add_feed(db, server.put_file(f"/p/{db.kind}/synd-b.xml", "syndicated_b.xml"), "Outlet B")
    received: list[int] = []

    def on_new(session: Session, ids: Sequence[int]) -> ClaimCounts:
        received.extend(ids)
        return ClaimCounts()

    settings.fetch_concurrency = 1  # deterministic order: A first
    poller = make_poller(db, settings, client, topics, clock, on_new_articles=on_new)
    report = await poller.run_cycle()
    assert report.new_stories == 1
    (article,) = articles(db)
    assert article.outlet == "Outlet A"
    found = sources(db)
    assert {(s.feed_id, s.outlet) for s in found} == {(a, "Outlet A"), (b, "Outlet B")}
    assert "https://outlet-b.example/news/2023/08/14/kim-orders-missile-surge" in {
        s.url for s in found
    }
    assert received == [article.id]
    make_due(db)
    assert (await poller.run_cycle()).new_stories == 0
    assert len(sources(db)) == 2


async def test_syndicated_copy_in_a_later_cycle_is_merged(
    db, server, settings, client, topics, clock
) -> None:
    add_feed(db, server.put_file(f"/p/{db.kind}/later-a.xml", "syndicated_a.xml"), "Outlet A")
    poller = make_poller(db, settings, client, topics, clock)
    await poller.run_cycle()
    add_feed(db, server.put_file(f"/p/{db.kind}/later-b.xml", "syndicated_b.xml"), "Outlet B")
    clock.advance(hours=2)
    report = await poller.run_cycle()
    assert report.new_stories == 0
    assert len(articles(db)) == 1
    assert len(sources(db)) == 2


async def test_same_story_with_tracking_params_and_new_date_is_not_new(
    db, server, settings, client, topics, clock
) -> None:
    path = f"/p/{db.kind}/edits.xml"
    body = server.put_file(path, "rss2.xml")
    feed_id = add_feed(db, body)
    poller = make_poller(db, settings, client, topics, clock)
    await poller.run_cycle()
    original = (server.docs[path].body).decode()
    edited = (
        original.replace("Fri, 10 May 2024 09:30:00 +0900", "Sat, 11 May 2024 11:00:00 +0900")
        .replace("utm_source=rss", "utm_source=twitter")
        .replace("wire-0001", "wire-0001-v2")
    )
    server.put(path, edited)
    make_due(db, feed_id)
    report = await poller.run_cycle()
    assert report.new_stories == 0
    assert len(articles(db)) == 3


async def test_claim_callback_failure_is_an_error_and_stories_are_kept(
    db, server, settings, client, topics, clock
) -> None:
    add_feed(db, server.put_file(f"/p/{db.kind}/cb.xml", "rss2.xml"))

    def broken(session: Session, ids: Sequence[int]) -> ClaimCounts:
        raise RuntimeError("engine down")

    report = await make_poller(
        db, settings, client, topics, clock, on_new_articles=broken
    ).run_cycle()
    assert report.errors == 1
    assert any("engine down" in line for line in report.error_lines)
    assert len(articles(db)) == 3


async def test_relevance_threshold_setting_decides(db, server, settings, client, topics, clock):
    add_feed(db, server.put_file(f"/p/{db.kind}/thr.xml", "rss2.xml"))
    settings.relevance_threshold = 100.0
    report = await make_poller(db, settings, client, topics, clock).run_cycle()
    assert report.new_stories == 3
    assert report.relevant_stories == 0
    assert all(not a.relevant and a.relevance > 0 for a in articles(db)[::2])


async def test_per_host_limit_bounds_concurrency(db, server, settings, client, topics, clock):
    for i in range(6):
        add_feed(db, server.url(f"/slow/0.3/host-{db.kind}-{i}"))
    settings.fetch_concurrency = 6
    settings.fetch_per_host = 2
    report = await make_poller(db, settings, client, topics, clock).run_cycle()
    assert report.feeds_polled == 6
    assert report.errors == 0
    assert server.max_inflight[f"host-{db.kind}"] == 2
    # the six feeds serve one story set: stored once, six sources
    assert len(articles(db)) == 3
    assert len(sources(db)) == 18


async def test_full_text_replaces_teasers(db, server, settings, client, topics, clock) -> None:
    page = (
        "<html><head><title>x</title><script>var a=1;</script></head><body><nav>Home | World</nav>"
        "<article><h1>Kim inspects missile plant</h1>"
        + "".join(
            f"<p>Paragraph {i}: North Korean leader Kim Jong Un inspected a missile production "
            f"plant and ordered workers to raise output of launchers and shells, state media said.</p>"
            for i in range(8)
        )
        + "</article><footer>Copyright</footer></body></html>"
    )
    page_url = server.put(f"/p/{db.kind}/story.html", page, content_type="text/html; charset=utf-8")
    feed = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><title>Kim inspects missile plant</title><link>{page_url}</link><guid>t1</guid>
    <description>Kim inspected a missile plant.</description></item></channel></rss>"""
    add_feed(db, server.put(f"/p/{db.kind}/teaser.xml", feed))
    settings.fetch_full_text = True
    await make_poller(db, settings, client, topics, clock).run_cycle()
    (article,) = articles(db)
    assert "Paragraph 7" in (article.text or "")
    assert "var a" not in (article.text or "")
    assert article.summary == "Kim inspected a missile plant."


async def test_full_text_failure_keeps_the_teaser(db, server, settings, client, topics, clock):
    feed = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><title>North Korea missile teaser</title><link>{server.url("/status/500")}</link>
    <guid>t2</guid><description>North Korea fired a missile.</description></item></channel></rss>"""
    add_feed(db, server.put(f"/p/{db.kind}/teaser2.xml", feed))
    settings.fetch_full_text = True
    report = await make_poller(db, settings, client, topics, clock).run_cycle()
    assert report.errors == 0
    (article,) = articles(db)
    assert article.text == "North Korea fired a missile."


async def test_one_feed_crashing_does_not_stop_the_cycle(
    db, server, settings, client, topics, clock, monkeypatch
) -> None:
    good = add_feed(db, server.put_file(f"/p/{db.kind}/good.xml", "rss2.xml"))
    bad = add_feed(db, server.put_file(f"/p/{db.kind}/bad.xml", "atom.xml"))
    real = offload_module.parse_feed

    def exploding(data: bytes, **kw):
        if b"<feed" in data:
            raise ValueError("parser exploded")
        return real(data, **kw)

    monkeypatch.setattr(offload_module, "parse_feed", exploding)  # small feeds: a thread
    report = await make_poller(db, settings, client, topics, clock).run_cycle()
    assert report.feeds_polled == 2
    assert report.errors == 1
    assert feed_row(db, good).error_count == 0
    assert "parser exploded" in (feed_row(db, bad).last_error or "")
    assert len(articles(db)) == 3


async def test_scheduler_never_overlaps_cycles() -> None:
    running = 0
    peak = 0
    runs = 0

    class SlowPoller:
        async def run_cycle(self) -> None:
            nonlocal running, peak, runs
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.25)
            running -= 1
            runs += 1

    scheduler = make_scheduler(SlowPoller(), tick_seconds=0.05)  # type: ignore[arg-type]
    job = scheduler.get_jobs()[0]
    assert job.max_instances == 1
    assert job.coalesce is True
    scheduler.start()
    try:
        await asyncio.sleep(1.0)
    finally:
        scheduler.shutdown(wait=False)
    assert runs >= 2
    assert peak == 1


async def test_poll_run_row_counts_errors(db, server, settings, client, topics, clock) -> None:
    add_feed(db, server.url("/status/500"))
    add_feed(db, server.put_file(f"/p/{db.kind}/ok-run.xml", "rss2.xml"))
    report = await make_poller(db, settings, client, topics, clock).run_cycle()
    with db.sessions() as s:
        run = s.get(PollRun, report.run_id)
        assert (run.feeds_polled, run.new_stories, run.errors) == (2, 3, 1)
        assert queries.count_articles(s) == 3


# --- several processes on one database -----------------------------------------------------


async def test_two_pollers_on_one_database_fetch_each_due_feed_once(
    db, server, settings, client, topics, clock
) -> None:
    """Two pollers (two processes' worth: own clients, own pools) run cycles at the same time."""
    paths = [f"/slow/0.2/pair-{db.kind}-{i}" for i in range(8)]
    for path in paths:
        add_feed(db, server.url(path))
    settings.fetch_concurrency = 3
    async with make_client(settings) as other_client:
        first = make_poller(db, settings, client, topics, clock)
        second = make_poller(db, settings, other_client, topics, clock)
        reports = await asyncio.gather(first.run_cycle(), second.run_cycle())
    assert [server.hits[p] for p in paths] == [1] * 8
    assert sum(r.feeds_polled for r in reports) == 8
    assert all(r.feeds_polled > 0 for r in reports)  # the backlog was shared
    assert all(r.errors == 0 for r in reports)


async def test_a_feed_claimed_by_a_dead_poller_is_polled_once_its_lease_runs_out(
    db, server, settings, client, topics, clock
) -> None:
    path = f"/p/{db.kind}/orphan.xml"
    feed_id = add_feed(db, server.put_file(path, "rss2.xml"))
    lease_until = clock.now + timedelta(seconds=settings.poll_lease_seconds)
    with db.sessions.begin() as s:  # a process claimed it, then died before polling
        feed_store.claim_due_feeds(s, now=clock.now, lease_until=lease_until)
    poller = make_poller(db, settings, client, topics, clock)
    clock.advance(seconds=settings.poll_lease_seconds - 1)
    assert (await poller.run_cycle()).feeds_polled == 0
    assert server.hits[path] == 0
    clock.now = lease_until
    report = await poller.run_cycle()
    assert (report.feeds_polled, report.new_stories) == (1, 3)
    assert server.hits[path] == 1
    assert feed_row(db, feed_id).next_check_at >= clock.now + timedelta(seconds=900)


async def test_a_stopped_cycle_gives_its_unfinished_feeds_back(
    db, server, settings, client, topics, clock
) -> None:
    """Cancelled mid-fetch (a graceful shutdown): the feed is due again now, not at lease end."""
    path = f"/slow/5/stopped-{db.kind}-0"
    feed_id = add_feed(db, server.url(path))
    poller = make_poller(db, settings, client, topics, clock)
    settings.fetch_read_timeout = 10.0
    async with make_client(settings) as slow_client:
        poller.client = slow_client
        cycle = asyncio.create_task(poller.run_cycle())
        for _ in range(200):  # until the fetch is in flight
            if server.hits[path]:
                break
            await asyncio.sleep(0.02)
        assert server.hits[path] == 1
        leased = feed_row(db, feed_id).next_check_at
        assert leased == clock.now + timedelta(seconds=settings.poll_lease_seconds)
        cycle.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cycle
    assert feed_row(db, feed_id).next_check_at == clock.now
    with db.sessions() as s:
        assert [f.id for f in queries.due_feeds(s, now=clock.now)] == [feed_id]
