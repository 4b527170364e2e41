from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import articles as article_store
from storage import feeds as feed_store
from tests.helpers import queries

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def seed(s):
    f1 = feed_store.add_feed(
        s, url="https://a.example/f", name="A", poll_interval_seconds=900, added_by=None
    )
    f2 = feed_store.add_feed(
        s, url="https://b.example/f", name="B", poll_interval_seconds=900, added_by=None
    )
    art = article_store.add_article(
        s,
        origin="feed",
        title="Kim visits factory",
        content_hash="hash-1",
        text="text",
        url="https://a.example/story",
        simhash=-5,
        fetched_at=NOW,
    )
    article_store.add_source(
        s, article_id=art.id, feed_id=f1.id, guid="g1", url=art.url, outlet="A"
    )
    article_store.add_source(
        s, article_id=art.id, feed_id=f2.id, guid="b-77", url="https://b.example/copy", outlet="B"
    )
    old = article_store.add_article(
        s,
        origin="feed",
        title="old",
        content_hash="hash-2",
        text="t",
        simhash=7,
        fetched_at=NOW - timedelta(days=90),
    )
    return f1.id, f2.id, art.id, old.id


def test_existing_functions_still_work(db) -> None:
    with db.sessions.begin() as s:
        _, _, art_id, _ = seed(s)
    with db.sessions() as s:
        assert article_store.get_by_content_hash(s, content_hash="hash-1").id == art_id
        assert queries.count_articles(s) == 2
        assert [a.id for a in article_store.list_latest_relevant(s, limit=1)]


def test_known_guids_is_per_feed(db) -> None:
    with db.sessions.begin() as s:
        f1, f2, _, _ = seed(s)
    with db.sessions() as s:
        assert article_store.known_guids(s, feed_id=f1, guids=["g1", "b-77", "zz"]) == {"g1"}
        assert article_store.known_guids(s, feed_id=f2, guids=["g1", "b-77"]) == {"b-77"}
        many = [f"x{i}" for i in range(1200)] + ["g1"]
        assert article_store.known_guids(s, feed_id=f1, guids=many) == {"g1"}
        assert article_store.known_guids(s, feed_id=f1, guids=[]) == set()


def test_find_by_url_checks_articles_and_sources(db) -> None:
    with db.sessions.begin() as s:
        _, _, art_id, _ = seed(s)
    with db.sessions() as s:
        assert queries.find_by_url(s, url="https://a.example/story").id == art_id
        assert queries.find_by_url(s, url="https://b.example/copy").id == art_id
        assert queries.find_by_url(s, url="https://c.example/none") is None


def test_sources_and_simhashes(db) -> None:
    with db.sessions.begin() as s:
        f1, f2, art_id, old_id = seed(s)
        queries.set_simhash(s, article_id=old_id, simhash=9)
    with db.sessions() as s:
        assert article_store.has_source(s, article_id=art_id, feed_id=f1, url=None)
        assert not article_store.has_source(s, article_id=old_id, feed_id=f1, url=None)
        assert [x.outlet for x in queries.list_sources(s, article_id=art_id)] == ["A", "B"]
        assert queries.count_sources(s, article_id=art_id) == 2
        assert queries.count_sources(s) == 2
        assert article_store.recent_simhashes(s, since=NOW - timedelta(days=30)) == [(art_id, -5)]
        assert sorted(article_store.recent_simhashes(s, since=NOW - timedelta(days=365))) == sorted(
            [(art_id, -5), (old_id, 9)]
        )
        assert queries.article_ids_by_feed(s, feed_id=f2) == [art_id]
