from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from storage import articles as article_store
from storage import feeds as feed_store
from storage.models import ArticleSource
from tests.helpers import queries

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def add(session, url: str = "https://a.example/feed", **kw):
    return feed_store.add_feed(
        session, url=url, name=kw.pop("name", "A"), poll_interval_seconds=900, added_by="test", **kw
    )


def test_add_get_list(db) -> None:
    with db.sessions.begin() as s:
        a = add(s)
        add(s, "https://b.example/feed", name="B")
        feed_id = a.id
    with db.sessions() as s:
        feed = feed_store.get_feed(s, feed_id=feed_id)
        assert feed is not None
        assert feed.enabled
        assert feed.error_count == 0
        assert feed_store.get_feed_by_url(s, url="https://b.example/feed").name == "B"
        assert [f.name for f in feed_store.list_feeds(s)] == ["A", "B"]
        assert feed_store.feed_urls(s) == {"https://a.example/feed", "https://b.example/feed"}


def test_due_feeds_respects_next_check_and_enabled(db) -> None:
    with db.sessions.begin() as s:
        never = add(s, "https://never.example/f").id
        past = add(s, "https://past.example/f", next_check_at=NOW - timedelta(minutes=1)).id
        add(s, "https://future.example/f", next_check_at=NOW + timedelta(minutes=1))
        off = add(s, "https://off.example/f").id
        feed_store.disable_feed(s, feed_id=off, reason="test")
    with db.sessions() as s:
        assert [f.id for f in queries.due_feeds(s, now=NOW)] == [never, past]
        assert [f.id for f in queries.due_feeds(s, now=NOW, limit=1)] == [never]


LEASE = NOW + timedelta(minutes=10)


def test_claim_takes_due_feeds_once_and_pushes_their_next_check_to_the_lease(db) -> None:
    with db.sessions.begin() as s:
        never = add(s, "https://never.example/f").id
        past = add(s, "https://past.example/f", next_check_at=NOW - timedelta(minutes=1)).id
        add(s, "https://future.example/f", next_check_at=NOW + timedelta(minutes=1))
        off = add(s, "https://off.example/f").id
        feed_store.disable_feed(s, feed_id=off, reason="test")
    with db.sessions.begin() as s:
        claimed = feed_store.claim_due_feeds(s, now=NOW, lease_until=LEASE)
        assert [(f.id, f.next_check_at) for f in claimed] == [(never, LEASE), (past, LEASE)]
    with db.sessions.begin() as s:
        assert feed_store.claim_due_feeds(s, now=NOW, lease_until=LEASE) == []
        assert queries.due_feeds(s, now=NOW) == []


def test_claim_limit_takes_the_most_overdue_first(db) -> None:
    with db.sessions.begin() as s:
        late = add(s, "https://late.example/f", next_check_at=NOW - timedelta(minutes=1)).id
        later = add(s, "https://later.example/f", next_check_at=NOW - timedelta(minutes=9)).id
        never = add(s, "https://never.example/f").id
    with db.sessions.begin() as s:
        firsts = [
            feed_store.claim_due_feeds(s, now=NOW, lease_until=LEASE, limit=1)[0].id
            for _ in range(3)
        ]
    assert firsts == [never, later, late]


def test_an_expired_claim_is_due_again_for_another_claimer(db) -> None:
    """The hand-over: a poller that died never writes the real next check; the lease runs out."""
    with db.sessions.begin() as s:
        feed_id = add(s).id
    with db.sessions.begin() as s:
        assert [f.id for f in feed_store.claim_due_feeds(s, now=NOW, lease_until=LEASE)] == [
            feed_id
        ]
    before_expiry = LEASE - timedelta(seconds=1)
    with db.sessions.begin() as s:
        assert (
            feed_store.claim_due_feeds(
                s, now=before_expiry, lease_until=LEASE + timedelta(minutes=1)
            )
            == []
        )
    relet = LEASE + timedelta(minutes=10)
    with db.sessions.begin() as s:
        again = feed_store.claim_due_feeds(s, now=LEASE, lease_until=relet)
        assert [(f.id, f.next_check_at) for f in again] == [(feed_id, relet)]


def test_release_gives_back_only_claims_still_ours(db) -> None:
    with db.sessions.begin() as s:
        unpolled = add(s, "https://a.example/f").id
        polled = add(s, "https://b.example/f").id
        taken_over = add(s, "https://c.example/f").id
        feed_store.claim_due_feeds(s, now=NOW, lease_until=LEASE)
        feed_store.record_fetch_success(
            s,
            feed_id=polled,
            now=NOW,
            next_check_at=NOW + timedelta(minutes=15),
            etag=None,
            last_modified=None,
        )
        # another process claimed this one again after our lease ran out
        feed_store.record_fetch_error(
            s, feed_id=taken_over, now=NOW, error="x", next_check_at=LEASE + timedelta(minutes=1)
        )
    later = NOW + timedelta(seconds=30)
    with db.sessions.begin() as s:
        released = feed_store.release_feed_claims(
            s, feed_ids=[unpolled, polled, taken_over], lease_until=LEASE, now=later
        )
        assert feed_store.release_feed_claims(s, feed_ids=[], lease_until=LEASE, now=later) == 0
    assert released == 1
    with db.sessions() as s:
        assert [f.id for f in queries.due_feeds(s, now=later)] == [unpolled]


def test_concurrent_claimers_poll_every_feed_exactly_once(db) -> None:
    """Four threads with their own connections claim one feed at a time until none is due."""
    with db.sessions.begin() as s:
        ids = {add(s, f"https://{i}.example/f").id for i in range(40)}
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def claimer(name: str) -> None:
        mine: list[int] = []
        try:
            start.wait()
            while True:
                with db.sessions.begin() as s:
                    got = feed_store.claim_due_feeds(s, now=NOW, lease_until=LEASE, limit=1)
                mine += [f.id for f in got]
                if not got:
                    break
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        claimed[name] = mine

    threads = [threading.Thread(target=claimer, args=(f"c{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    every = [feed_id for mine in claimed.values() for feed_id in mine]
    assert sorted(every) == sorted(ids)


def test_postgres_claimers_skip_feeds_locked_by_an_open_claim(db) -> None:
    """A second claimer does not wait for the first's transaction: it takes the other feeds."""
    if db.kind != "postgres":
        pytest.skip("row locks are PostgreSQL's")
    with db.sessions.begin() as s:
        ids = [add(s, f"https://{i}.example/f").id for i in range(5)]
    with db.sessions() as first, db.sessions() as second:
        first.begin()
        mine = [
            f.id for f in feed_store.claim_due_feeds(first, now=NOW, lease_until=LEASE, limit=2)
        ]
        second.begin()
        second.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail, not hang
        theirs = [f.id for f in feed_store.claim_due_feeds(second, now=NOW, lease_until=LEASE)]
        second.commit()
        first.commit()
    assert mine == ids[:2]
    assert theirs == ids[2:]


def test_record_success_clears_failures_and_keeps_validators(db) -> None:
    with db.sessions.begin() as s:
        feed_id = add(s).id
        feed_store.record_fetch_error(
            s, feed_id=feed_id, now=NOW, error="HTTP 500", next_check_at=NOW
        )
        feed_store.record_fetch_success(
            s,
            feed_id=feed_id,
            now=NOW,
            next_check_at=NOW + timedelta(hours=1),
            etag='"abc"',
            last_modified="Mon, 13 May 2024 08:00:00 GMT",
            warning="SAXParseException: broken",
        )
    with db.sessions() as s:
        feed = feed_store.get_feed(s, feed_id=feed_id)
        assert feed.error_count == 0
        assert feed.etag == '"abc"'
        assert feed.last_success_at == NOW
        assert feed.next_check_at == NOW + timedelta(hours=1)
        assert feed.last_error == "SAXParseException: broken"


def test_record_error_counts_and_disable(db) -> None:
    with db.sessions.begin() as s:
        feed_id = add(s).id
        counts = [
            feed_store.record_fetch_error(
                s,
                feed_id=feed_id,
                now=NOW + timedelta(seconds=i),
                error=f"e{i}",
                next_check_at=NOW + timedelta(minutes=i),
            )
            for i in range(3)
        ]
        throttled = feed_store.record_fetch_error(
            s, feed_id=feed_id, now=NOW, error="429", next_check_at=NOW, count_failure=False
        )
        feed_store.disable_feed(s, feed_id=feed_id, reason="too many")
        assert (
            feed_store.record_fetch_error(s, feed_id=999_999, now=NOW, error="x", next_check_at=NOW)
            == 0
        )
    assert counts == [1, 2, 3]
    assert throttled == 3
    with db.sessions() as s:
        feed = feed_store.get_feed(s, feed_id=feed_id)
        assert not feed.enabled
        assert feed.disabled_reason == "too many"
        assert feed.next_check_at is None
        assert feed.last_error == "429"
        assert feed.last_error_at == NOW
    with db.sessions.begin() as s:
        assert queries.enable_feed(s, feed_id=feed_id)
    with db.sessions() as s:
        feed = feed_store.get_feed(s, feed_id=feed_id)
        assert feed.enabled
        assert feed.error_count == 0
        assert feed.disabled_reason is None


def test_remove_feed_keeps_articles(db) -> None:
    with db.sessions.begin() as s:
        feed_id = add(s).id
        article = article_store.add_article(
            s, origin="feed", title="t", content_hash="h1", text="x", url="https://a.example/1"
        )
        article_store.add_source(
            s, article_id=article.id, feed_id=feed_id, guid="g", url=article.url, outlet="A"
        )
        article_id = article.id
    with db.sessions.begin() as s:
        assert feed_store.remove_feed(s, feed_id=feed_id)
        assert not feed_store.remove_feed(s, feed_id=feed_id)
    with db.sessions() as s:
        assert feed_store.get_feed(s, feed_id=feed_id) is None
        assert article_store.get_article(s, article_id=article_id) is not None
        source = s.get(ArticleSource, queries.list_sources(s, article_id=article_id)[0].id)
        assert source.feed_id is None
        assert source.url == "https://a.example/1"


def test_poll_runs(db) -> None:
    with db.sessions.begin() as s:
        assert feed_store.latest_poll_run(s) is None
        run_id = feed_store.start_poll_run(s, now=NOW).id
        feed_store.finish_poll_run(
            s,
            run_id=run_id,
            now=NOW + timedelta(seconds=5),
            feeds_polled=3,
            new_stories=4,
            relevant_stories=2,
            claims_new=5,
            claims_repeated=1,
            claims_updated=1,
            errors=1,
        )
    with db.sessions() as s:
        run = feed_store.latest_poll_run(s)
        assert run.id == run_id
        assert (run.feeds_polled, run.new_stories, run.relevant_stories) == (3, 4, 2)
        assert (run.claims_new, run.claims_repeated, run.claims_updated, run.errors) == (5, 1, 1, 1)
        assert run.finished_at == NOW + timedelta(seconds=5)
