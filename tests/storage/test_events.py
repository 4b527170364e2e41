"""Event storage against SQLite and PostgreSQL: grouping, widening, listing with sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import articles as article_store
from storage import claims as claim_store
from storage import events as event_store
from tests.conftest import Database
from tests.helpers import queries

T0 = datetime(2023, 8, 5, tzinfo=UTC)


def test_extend_event_merges_actors_and_keeps_span_unless_widened(db: Database) -> None:
    with db.sessions.begin() as s:
        ev = event_store.add_event(
            s, title="Kim tours factories", actors=["kim", "kim"], start_date=T0, end_date=T0
        )
        assert ev.actors == ["kim"]
        queries.extend_event(
            s,
            event_id=ev.id,
            actors=["statemedia", "kim"],
            start_date=T0 - timedelta(days=20_000),
            end_date=T0 + timedelta(days=2),
            first_seen_at=T0 + timedelta(days=1),
        )
        assert ev.actors == ["kim", "statemedia"]
        assert (ev.start_date, ev.end_date) == (T0, T0)  # background dates do not stretch it
        assert ev.first_seen_at == T0 + timedelta(days=1)
        queries.extend_event(
            s,
            event_id=ev.id,
            start_date=T0 - timedelta(days=2),
            end_date=T0 + timedelta(days=1),
            first_seen_at=T0,
            widen_span=True,
        )
        assert (ev.start_date, ev.end_date) == (T0 - timedelta(days=2), T0 + timedelta(days=1))
        assert ev.first_seen_at == T0
        undated = event_store.add_event(s, title="undated")
        event_store.extend(undated, start_date=T0, end_date=None)
        assert (undated.start_date, undated.end_date) == (T0, T0)
        assert queries.extend_event(s, event_id=123_456) is None


def test_list_events_counts_claims_and_names_sources(db: Database) -> None:
    with db.sessions.begin() as s:
        wsj = article_store.add_article(
            s,
            origin="000_a.txt",
            title="WSJ",
            content_hash="h1",
            text="t",
            outlet="The Wall Street Journal",
            published_at=T0,
        )
        ap = article_store.add_article(
            s,
            origin="002_b.txt",
            title="AP",
            content_hash="h2",
            text="t",
            outlet=None,
            published_at=T0 + timedelta(days=7),
        )
        tour = event_store.add_event(s, title="tour", actors=["kim"], first_seen_at=T0)
        visit = event_store.add_event(s, title="visit", actors=["shoigu"], first_seen_at=T0)
        empty = event_store.add_event(s, title="no claims yet")
        claim_store.add_claim(
            s, text="a", attrs={}, article_id=wsj.id, position=0, event_id=tour.id
        )
        claim_store.add_claim(
            s, text="b", attrs={}, article_id=wsj.id, position=1, event_id=tour.id
        )
        claim_store.add_claim(s, text="c", attrs={}, article_id=ap.id, position=0, event_id=tour.id)
        claim_store.add_claim(
            s, text="d", attrs={}, article_id=ap.id, position=1, event_id=visit.id
        )
        claim_store.add_claim(
            s, text="e", attrs={}, external_id="x", source="KCNA watch", event_id=visit.id
        )
        ids = (tour.id, visit.id, empty.id, wsj.id)
    with db.sessions() as s:
        listed = event_store.list_events(s)
        assert [e.event_id for e in listed] == [ids[0], ids[1], ids[2]]
        assert [e.claim_count for e in listed] == [3, 2, 0]
        assert listed[0].sources == ["The Wall Street Journal", "002_b.txt"]
        assert sorted(listed[1].sources) == ["002_b.txt", "KCNA watch"]
        assert listed[2].sources == []
        assert event_store.count_events(s) == 3
        assert [e.id for e in queries.article_events(s, article_id=ids[3])] == [ids[0]]
        assert len(event_store.list_events(s, limit=1, offset=1)) == 1
