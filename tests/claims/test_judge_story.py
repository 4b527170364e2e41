"""Judge rules that need a story: running figures, happenings, generic sentences (invented text)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.claims.extract import extract
from bot.claims.judge import judge
from bot.claims.lexicon import Lexicon, load_lexicon
from bot.claims.types import Candidate, ExtractedClaim


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon()


def story(
    text: str, when: datetime, lexicon: Lexicon, title: str = "Example story"
) -> list[ExtractedClaim]:
    return extract(text, published=when, lexicon=lexicon, title=title)


def stored(
    text: str, when: datetime, lexicon: Lexicon, *, first_id: int = 1, title: str = "Example story"
) -> list[Candidate]:
    return [
        Candidate(
            claim_id=first_id + i,
            text=c.text,
            attrs=c.attrs,
            source="Example Wire",
            published=when,
        )
        for i, c in enumerate(story(text, when, lexicon, title))
    ]


def one(
    text: str, when: datetime, lexicon: Lexicon, title: str = "Example story"
) -> ExtractedClaim:
    (claim,) = story(text, when, lexicon, title)
    return claim


def test_running_figure_reworded_is_updated_against_the_latest_value(lexicon: Lexicon) -> None:
    cands = (
        stored(
            "The navy says the North has moved about 2,000 crates of rifles to the border.",
            datetime(2024, 1, 10, tzinfo=UTC),
            lexicon,
        )
        + stored(
            "Officials now put the number of troops sent to the border at some 4,000.",
            datetime(2024, 3, 10, tzinfo=UTC),
            lexicon,
            first_id=10,
        )
        + stored(
            "The North has sent about 2,500 troops to the border, the navy said.",
            datetime(2024, 2, 10, tzinfo=UTC),
            lexicon,
            first_id=20,
        )
    )
    claim = one(
        "Pyongyang has deployed more than 6,000 soldiers to the border region, officials said.",
        datetime(2024, 5, 1, tzinfo=UTC),
        lexicon,
    )
    v = judge(claim, cands, lexicon=lexicon)
    assert v.status == "updated"
    assert v.matches[0].candidate.claim_id == 10  # the latest earlier value, 4,000
    assert v.changed[0].what == "troops"


def test_running_figure_same_value_reworded_is_repeated(lexicon: Lexicon) -> None:
    cands = stored(
        "The North has sent about 2,500 troops to the border, the navy said.",
        datetime(2024, 2, 10, tzinfo=UTC),
        lexicon,
    )
    claim = one(
        "Last month the navy put the number of soldiers at the border at 2,500.",
        datetime(2024, 3, 5, tzinfo=UTC),
        lexicon,
    )
    assert judge(claim, cands, lexicon=lexicon).status == "repeated"


def test_far_apart_values_are_not_one_figure(lexicon: Lexicon) -> None:
    cands = stored(
        "Some 9,000 North Korean troops are now stationed near the front, officials say.",
        datetime(2024, 2, 10, tzinfo=UTC),
        lexicon,
    )
    claim = one(
        "Two North Korean soldiers were detained near the front on Tuesday, officials say.",
        datetime(2024, 3, 1, tzinfo=UTC),
        lexicon,
    )
    assert judge(claim, cands, lexicon=lexicon).status == "new"


def test_another_strike_on_another_day_is_new(lexicon: Lexicon) -> None:
    cands = stored(
        "Russian forces struck the city of Example with North Korean missiles on March 3.",
        datetime(2024, 3, 4, tzinfo=UTC),
        lexicon,
    )
    claim = one(
        "Russian forces struck the city of Example with North Korean missiles on March 9.",
        datetime(2024, 3, 10, tzinfo=UTC),
        lexicon,
    )
    assert judge(claim, cands, lexicon=lexicon).status == "new"


def test_corrected_day_of_the_same_tour_is_updated(lexicon: Lexicon) -> None:
    cands = stored(
        "Kim's tour of the northern arms plants ended on Friday, state media said.",
        datetime(2024, 6, 8, 6, tzinfo=UTC),  # a Saturday: Friday is 7 June
        lexicon,
    )
    claim = one(
        "Kim's tour of the northern arms plants ended on June 8, state media said.",
        datetime(2024, 6, 10, tzinfo=UTC),
        lexicon,
    )
    v = judge(claim, cands, lexicon=lexicon)
    assert v.status == "updated"
    assert v.changed[0].what == "date"


def test_when_something_was_said_is_not_when_it_happened(lexicon: Lexicon) -> None:
    cands = stored(
        "North Korea has built a second assembly hall at the rocket plant, the ministry said on "
        "Friday.",
        datetime(2024, 6, 8, tzinfo=UTC),
        lexicon,
    )
    claim = one(
        "North Korea has built a second assembly hall at the rocket plant, the ministry said on "
        "Tuesday.",
        datetime(2024, 6, 20, tzinfo=UTC),
        lexicon,
    )
    assert judge(claim, cands, lexicon=lexicon).status == "repeated"


def test_generic_sentence_matches_only_within_its_happening(lexicon: Lexicon) -> None:
    generic = "Kim Jong Un watched the launch from a nearby hill, state media said."
    cands = stored(
        f"North Korea launched a cruise missile on Monday. {generic}",
        datetime(2024, 4, 2, tzinfo=UTC),
        lexicon,
        title="North Korea test-fires cruise missile",
    )
    later = story(
        f"North Korea put a satellite into orbit on Sunday. {generic}",
        datetime(2024, 7, 1, tzinfo=UTC),
        lexicon,
        title="North Korea launches spy satellite",
    )
    assert judge(later[1], cands, lexicon=lexicon).status == "new"
    follow_up = story(
        f"The cruise missile flew for two hours before it hit a target. {generic}",
        datetime(2024, 4, 4, tzinfo=UTC),
        lexicon,
        title="More details of North Korea's cruise missile test",
    )
    assert judge(follow_up[1], cands, lexicon=lexicon).status == "repeated"


def test_casualties_are_not_troops_sent(lexicon: Lexicon) -> None:
    cands = stored(
        "The North has sent some 9,000 troops to the front, officials said.",
        datetime(2024, 2, 10, tzinfo=UTC),
        lexicon,
    )
    claim = one(
        "Some 3,000 North Korean troops have been killed or wounded at the front, officials said.",
        datetime(2024, 4, 1, tzinfo=UTC),
        lexicon,
    )
    assert judge(claim, cands, lexicon=lexicon).status != "updated"


def test_what_came_back_is_not_what_was_sent(lexicon: Lexicon) -> None:
    cands = stored(
        "The North has sent about 3,000 containers of shells to the Example Republic.",
        datetime(2024, 2, 10, tzinfo=UTC),
        lexicon,
    )
    claim = one(
        "In return, the North has received about 5,000 containers from the Example Republic.",
        datetime(2024, 4, 1, tzinfo=UTC),
        lexicon,
    )
    assert judge(claim, cands, lexicon=lexicon).status != "updated"


def test_a_listed_caliber_is_not_a_changed_one(lexicon: Lexicon) -> None:
    cands = stored(
        "The North has supplied 240mm rocket launchers and self-propelled guns, officials said.",
        datetime(2024, 2, 10, tzinfo=UTC),
        lexicon,
    )
    claim = one(
        "The North has supplied 170mm self-propelled guns and 240mm rocket launchers, officials "
        "said.",
        datetime(2024, 4, 1, tzinfo=UTC),
        lexicon,
    )
    assert judge(claim, cands, lexicon=lexicon).status == "repeated"


def test_a_weekday_in_a_later_story_is_another_happening(lexicon: Lexicon) -> None:
    text = "The North launched a solid-fuel cruise missile off its west coast on Wednesday."
    cands = stored(text, datetime(2024, 2, 9, tzinfo=UTC), lexicon)
    later = one(text, datetime(2024, 9, 13, tzinfo=UTC), lexicon)
    assert judge(later, cands, lexicon=lexicon).status == "new"
    same_week = one(text, datetime(2024, 2, 10, tzinfo=UTC), lexicon)
    assert judge(same_week, cands, lexicon=lexicon).status == "repeated"


def test_the_day_a_figure_was_told_is_not_when_it_happened(lexicon: Lexicon) -> None:
    # the later story's "Tuesday" is when the estimate was told again, after the stored report
    cands = stored(
        "The army estimated that 3,000 drones had reached the front.",
        datetime(2024, 4, 2, tzinfo=UTC),
        lexicon,
    )
    claim = one(
        "The army estimated that 3,000 drones had reached the front, an official told lawmakers"
        " on Tuesday.",
        datetime(2024, 6, 20, tzinfo=UTC),
        lexicon,
    )
    assert judge(claim, cands, lexicon=lexicon).status == "repeated"


def test_a_yearly_rate_is_not_a_new_value_of_a_running_total(lexicon: Lexicon) -> None:
    cands = stored(
        "The North has sent more than 500,000 mortar rounds to Russia, Seoul said.",
        datetime(2024, 3, 1, tzinfo=UTC),
        lexicon,
    )
    claim = one(
        "The North's plants turn out about 900,000 mortar rounds a year, a think tank said.",
        datetime(2024, 5, 1, tzinfo=UTC),
        lexicon,
    )
    assert judge(claim, cands, lexicon=lexicon).status != "updated"
