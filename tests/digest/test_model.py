from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.digest.model import DigestLimits, StoryRecord, build_digest, clip, should_send
from tests.digest.conftest import WSJ, claim

UNTIL = datetime(2026, 11, 20, 8, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=1)


def test_groups_by_event_and_orders_new_first(stories: list[StoryRecord]) -> None:
    digest = build_digest(stories, since=SINCE, until=UNTIL)
    assert [g.title for g in digest.groups] == ["Missile factory visit", "Repeats only"]
    event = digest.groups[0]
    assert [s.article_id for s in event.stories] == [11, 12]
    assert digest.totals.stories == 3
    assert (digest.totals.new, digest.totals.updated, digest.totals.repeated) == (2, 1, 3)
    assert digest.article_ids == (10, 11, 12)


def test_updated_claim_carries_change_and_earlier_source(stories: list[StoryRecord]) -> None:
    digest = build_digest(stories, since=SINCE, until=UNTIL)
    story = digest.groups[0].stories[0]
    (line,) = story.updated
    assert [(c.what, c.old, c.new) for c in line.changes] == [("range", "1,000 km", "1,500 km")]
    assert line.earlier is not None
    assert line.earlier.outlet == "Associated Press"


def test_repeats_collapse_to_one_line_per_story(stories: list[StoryRecord]) -> None:
    digest = build_digest(stories, since=SINCE, until=UNTIL)
    story = digest.groups[1].stories[0]
    assert story.new == ()
    assert story.updated == ()
    assert story.repeated is not None
    assert story.repeated.count == 2
    assert story.repeated.sources == 3  # union of the sources of both facts
    assert story.repeated.sentence() == (
        "repeats 2 earlier claims, first reported 2023-08-07 by The Wall Street Journal; "
        "seen in 3 sources"
    )


def test_first_reported_is_the_earliest_of_the_story_repeats() -> None:
    later = WSJ.__class__(
        claim_id=9, text="x", outlet="Later Outlet", published=datetime(2024, 1, 1, tzinfo=UTC)
    )
    story = StoryRecord(
        article_id=1,
        title="t",
        url=None,
        outlet=None,
        published=None,
        seen_at=UNTIL,
        claims=(
            claim(1, "repeated", "a", first_reported=later),
            claim(2, "repeated", "b", first_reported=WSJ),
        ),
    )
    digest = build_digest([story], since=SINCE, until=UNTIL)
    summary = digest.groups[0].stories[0].repeated
    assert summary is not None
    assert summary.first_reported == WSJ
    assert (
        summary.sentence()
        == "repeats 2 earlier claims, first reported 2023-08-07 by The Wall Street Journal"
    )


def test_caps_count_what_was_left_out() -> None:
    many = [
        StoryRecord(
            article_id=i,
            title=f"story {i}",
            url=None,
            outlet=f"outlet {i}",
            published=None,
            seen_at=UNTIL - timedelta(minutes=i),
            claims=tuple(claim(i * 100 + j, "new", f"claim {i}.{j}") for j in range(4)),
        )
        for i in range(1, 8)
    ]
    limits = DigestLimits(max_stories=5, max_claims_per_story=3, max_claim_lines=10)
    digest = build_digest(many, since=SINCE, until=UNTIL, limits=limits)
    shown_lines = sum(len(s.new) + len(s.updated) for g in digest.groups for s in g.stories)
    assert digest.omitted_stories == 2
    assert shown_lines == 10
    # every new claim is either shown or counted
    assert shown_lines + digest.omitted_claims == 7 * 4
    assert digest.totals.new == 28


def test_long_claims_are_clipped_on_a_word() -> None:
    text = "word " * 400
    story = StoryRecord(
        article_id=1,
        title="t",
        url=None,
        outlet=None,
        published=None,
        seen_at=UNTIL,
        claims=(claim(1, "new", text),),
    )
    digest = build_digest(
        [story], since=SINCE, until=UNTIL, limits=DigestLimits(max_claim_chars=50)
    )
    shown = digest.groups[0].stories[0].new[0].text
    assert len(shown) <= 50
    assert shown.endswith("word…")
    assert clip("short", 50) == "short"


def test_empty_period_follows_send_empty() -> None:
    digest = build_digest([], since=SINCE, until=UNTIL)
    assert digest.is_empty
    assert digest.empty_line() == "Nothing new since 2026-11-19 08:00 UTC."
    assert should_send(digest, send_empty=True)
    assert not should_send(digest, send_empty=False)


def test_stories_without_event_stand_alone() -> None:
    a = StoryRecord(
        article_id=1,
        title="A",
        url=None,
        outlet=None,
        published=None,
        seen_at=UNTIL,
        claims=(claim(1, "new", "a"),),
    )
    b = StoryRecord(
        article_id=2,
        title="B",
        url=None,
        outlet=None,
        published=None,
        seen_at=UNTIL,
        claims=(claim(2, "new", "b"), claim(3, "new", "c")),
    )
    digest = build_digest([a, b], since=SINCE, until=UNTIL)
    assert [g.title for g in digest.groups] == ["B", "A"]
    assert all(g.event_id is None for g in digest.groups)
