from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot.digest.model import build_digest
from bot.digest.query import load_stories
from storage import digests
from tests.helpers.stories import C, add_event, add_story

T0 = datetime(2026, 11, 19, 8, tzinfo=UTC)


def _seed_kb(session: Session) -> tuple[list, list]:
    """Two seed articles: the WSJ report and an AP report that repeats it."""
    _, wsj = add_story(
        session,
        title="Kim Touts Weapons",
        outlet="The Wall Street Journal",
        origin="seed:000",
        at=T0 - timedelta(days=900),
        published=datetime(2023, 8, 7, 12, tzinfo=UTC),
        claims=[C("Kim toured a munitions factory."), C("The missile flew 1,000 km.")],
    )
    _, ap = add_story(
        session,
        title="Missile surge",
        outlet="Associated Press",
        origin="seed:002",
        at=T0 - timedelta(days=890),
        published=datetime(2023, 8, 14, tzinfo=UTC),
        claims=[C("Kim visited a munitions plant.", "repeated", matched=wsj[0])],
    )
    return wsj, ap


def test_window_partitions_stories(session: Session) -> None:
    for hours in (1, 23, 24, 25):
        add_story(session, title=f"h{hours}", at=T0 + timedelta(hours=hours), claims=[C("x")])
    session.commit()
    first = digests.stories_in_window(session, since=T0, until=T0 + timedelta(hours=24))
    second = digests.stories_in_window(
        session, since=T0 + timedelta(hours=24), until=T0 + timedelta(hours=48)
    )
    assert [a.title for a in first] == ["h1", "h23", "h24"]
    assert [a.title for a in second] == ["h25"]
    everything = digests.stories_in_window(session, since=None, until=T0 + timedelta(hours=48))
    assert len(everything) == 4


def test_window_skips_seeds_irrelevant_and_low_relevance(session: Session) -> None:
    _seed_kb(session)
    add_story(session, title="noise", at=T0 + timedelta(hours=1), relevant=False, claims=[C("x")])
    add_story(session, title="weak", at=T0 + timedelta(hours=1), relevance=0.5, claims=[C("x")])
    add_story(session, title="strong", at=T0 + timedelta(hours=1), relevance=3.0, claims=[C("x")])
    session.commit()
    until = T0 + timedelta(days=1)
    titles = [a.title for a in digests.stories_in_window(session, since=None, until=until)]
    assert titles == ["weak", "strong"]
    strong = digests.stories_in_window(session, since=None, until=until, min_relevance=1.0)
    assert [a.title for a in strong] == ["strong"]
    with_seeds = digests.stories_in_window(session, since=None, until=until, origin=None)
    assert len(with_seeds) == 4


def test_repeat_provenance_follows_the_chain_to_the_first_report(session: Session) -> None:
    wsj, ap = _seed_kb(session)
    event = add_event(session, "Munitions factory tour")
    _, _claims = add_story(
        session,
        title="Echo",
        outlet="Daily Echo",
        at=T0 + timedelta(hours=2),
        also_in=("Syndicator",),
        claims=[
            # matches the AP claim, which itself repeated the WSJ one
            C("Kim went to a munitions factory.", "repeated", matched=ap[0], event=event),
            C(
                "The missile flew 1,500 km.",
                "updated",
                matched=wsj[1],
                event=event,
                changes=[{"what": "range", "old": "1,000 km", "new": "1,500 km"}],
            ),
            C("A new drone plant opened.", "new", event=event),
        ],
    )
    session.commit()
    stories = load_stories(session, since=T0, until=T0 + timedelta(days=1))
    (story,) = stories
    assert story.event_id == event.id
    assert story.event_title == "Munitions factory tour"
    assert story.also_in == ("Syndicator",)
    repeated, updated, new = story.claims
    assert repeated.first_reported is not None
    assert repeated.first_reported.outlet == "The Wall Street Journal"
    assert repeated.first_reported.published == datetime(2023, 8, 7, 12, tzinfo=UTC)
    assert repeated.matched is not None
    assert repeated.matched.outlet == "Associated Press"
    assert repeated.seen_in == {
        "outlet:the wall street journal",
        "outlet:associated press",
        "outlet:daily echo",
    }
    assert updated.matched is not None
    assert (updated.matched.text, updated.matched.outlet) == (
        "The missile flew 1,000 km.",
        "The Wall Street Journal",
    )
    assert [(c.what, c.old, c.new) for c in updated.changes] == [("range", "1,000 km", "1,500 km")]
    assert new.matched is None
    assert new.first_reported is None

    digest = build_digest(stories, since=T0, until=T0 + timedelta(days=1))
    line = digest.groups[0].stories[0].repeated
    assert line is not None
    assert line.sentence() == (
        "repeats 1 earlier claim, first reported 2023-08-07 by The Wall Street Journal; "
        "seen in 3 sources"
    )


def test_later_reports_of_the_same_fact_count_as_sources(session: Session) -> None:
    wsj, _ = _seed_kb(session)
    for i, outlet in enumerate(["A", "B", "A"]):  # outlet A twice: one source
        add_story(
            session,
            title=f"r{i}",
            outlet=outlet,
            at=T0 - timedelta(hours=5 - i),
            claims=[C("Kim toured the factory.", "repeated", matched=wsj[0])],
        )
    add_story(
        session,
        title="today",
        outlet="C",
        at=T0 + timedelta(hours=1),
        claims=[C("Kim toured the factory again.", "repeated", matched=wsj[0])],
    )
    session.commit()
    (story,) = load_stories(session, since=T0, until=T0 + timedelta(days=1))
    # WSJ, AP (repeated WSJ), A, B, C
    assert len(story.claims[0].seen_in) == 5


def test_match_cycles_do_not_hang(session: Session) -> None:
    _, (a,) = add_story(session, title="a", at=T0 - timedelta(days=1), claims=[C("a")])
    _, (b,) = add_story(
        session, title="b", at=T0 - timedelta(hours=1), claims=[C("b", "repeated", matched=a)]
    )
    a.matched_claim_id = b.id  # corrupt data: a cycle
    add_story(
        session, title="c", at=T0 + timedelta(hours=1), claims=[C("c", "repeated", matched=b)]
    )
    session.commit()
    (story,) = load_stories(session, since=T0, until=T0 + timedelta(days=1))
    assert story.claims[0].first_reported is not None
