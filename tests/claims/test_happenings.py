"""Events are happenings: composed short titles and windows bounded in time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.claims.engine import ClaimEngine
from bot.claims.happenings import MAX_SPAN_DAYS, compatible, format_span, title_for
from bot.settings import Settings
from storage import articles as article_store
from storage import claims as claim_store
from storage import events as event_store
from storage.models import Claim


@pytest.mark.parametrize(
    ("text", "start", "end", "title"),
    [
        (
            "TOKYO—Japanese premier Taro Sato inspected two coastal radar sites over two days, "
            "his office said.",
            date(2025, 3, 3),
            date(2025, 3, 4),
            "Sato inspects two coastal radar sites · 3–4 Mar 2025",
        ),
        (
            "On Friday, Ukrainian forces fired long-range drones at an oil depot in Bryansk.",
            date(2024, 6, 7),
            None,
            "Ukrainian forces fire long-range drones · 7 Jun 2024",
        ),
        (
            "Colonel Anna Berg and Minister Lars Holm met at the naval base in Karlskrona.",
            date(2022, 5, 1),
            date(2022, 5, 1),
            "Berg and Holm meet at naval base · 1 May 2022",
        ),
        (
            "The agency said Iran has delivered some 400 drones to the militia.",
            date(2023, 11, 20),
            None,
            "Iran delivers some 400 drones · 20 Nov 2023",
        ),
        (
            "Satellite photos showed that the ships were loaded at night.",
            date(2024, 1, 30),
            date(2024, 2, 2),
            "ships loaded at night · 30 Jan – 2 Feb 2024",
        ),
    ],
)
def test_titles_are_composed_short_and_dated(
    text: str, start: date, end: date | None, title: str
) -> None:
    made = title_for(text, start=start, end=end)
    assert made == title
    assert len(made) <= 80


def test_a_title_never_copies_a_long_sentence_or_its_dateline() -> None:
    text = (
        "BERLIN (Wire) - The long-running committee of regional governors, which had met "
        "quietly for years in a lakeside hotel, finally published a report on grain stores."
    )
    made = title_for(text, start=date(2024, 4, 2), end=None)
    assert len(made) <= 80
    assert "BERLIN" not in made
    assert not text.startswith(made.split(" · ")[0].rstrip("…"))
    assert made.endswith("· 2 Apr 2024")


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        (date(2023, 9, 13), date(2023, 9, 13), "13 Sep 2023"),
        (date(2023, 8, 3), date(2023, 8, 5), "3–5 Aug 2023"),
        (date(2023, 7, 28), date(2023, 8, 2), "28 Jul – 2 Aug 2023"),
        (date(2023, 12, 20), date(2024, 1, 3), "Dec 2023 – Jan 2024"),
    ],
)
def test_spans_read_like_dates(start: date, end: date, shown: str) -> None:
    assert format_span(start, end) == shown


def test_windows_join_only_nearby_happenings_and_never_stretch_past_a_month() -> None:
    window = (date(2024, 1, 2), date(2024, 1, 2))
    assert compatible(window, (date(2024, 1, 4), date(2024, 1, 4)))
    assert not compatible(window, (date(2024, 1, 30), date(2024, 1, 30)))  # weeks later
    assert not compatible(window, (date(2022, 12, 22), date(2022, 12, 22)))  # a year earlier
    wide = (date(2024, 1, 1), date(2024, 1, 1 + MAX_SPAN_DAYS - 2))
    assert not compatible(wide, (date(2024, 2, 5), date(2024, 2, 5)))
    assert compatible(None, (date(2024, 2, 5), date(2024, 2, 5)))


def _ingest(db, key: str, published: datetime, text: str) -> list[Claim]:
    engine = ClaimEngine.from_settings(Settings(database_url=db.url, semantic="off"), db.sessions)
    with db.sessions.begin() as s:
        article = article_store.add_article(
            s,
            origin="feed",
            title=f"story {key}",
            content_hash=key,
            text=text,
            url=f"https://{key}.example/1",
            outlet=f"Outlet {key}",
            published_at=published,
        )
        engine.ingest_article(s, article)
        return list(claim_store.list_article_claims(s, article_id=article.id))


def test_events_split_across_time_and_running_figures_do_not_stretch_one_event(db) -> None:
    strike = "Russian forces fired North Korean ballistic missiles at Kharkiv on {day}."
    first = _ingest(db, "s1", datetime(2024, 1, 3, tzinfo=UTC), strike.format(day="Tuesday"))
    later = _ingest(db, "s2", datetime(2024, 2, 14, tzinfo=UTC), strike.format(day="Monday"))
    assert first[0].event_id != later[0].event_id  # six weeks apart: two happenings
    count = "North Korea has shipped about {n} containers of munitions to Russia, Seoul said."
    a = _ingest(db, "c1", datetime(2023, 10, 13, tzinfo=UTC), count.format(n="1,000"))
    b = _ingest(db, "c2", datetime(2024, 2, 27, tzinfo=UTC), count.format(n="6,700"))
    c = _ingest(db, "c3", datetime(2024, 8, 20, tzinfo=UTC), count.format(n="6,700"))
    assert b[0].verdict == "updated"
    assert c[0].verdict == "repeated"
    assert (b[0].matched_claim_id, c[0].root_claim_id) == (a[0].id, a[0].id)
    assert len({a[0].event_id, b[0].event_id}) == 2  # an update months later is a new report
    with db.sessions() as s:
        for claim in (*first, *later, *a, *b, *c):
            event = event_store.get_event(s, event_id=claim.event_id)
            assert event is not None
            assert event.start_date is not None
            assert event.end_date is not None
            assert (event.end_date - event.start_date).days <= MAX_SPAN_DAYS
            assert len(event.title) <= 80
