from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.claims.dates import date_explicitness
from bot.claims.extract import (
    extract,
    extract_attributes,
    is_assertion,
    split_sentences,
)
from bot.claims.lexicon import Lexicon, LexiconError, load_lexicon, parse_lexicon
from bot.claims.normalize import normalize_tokens

PUB = datetime(2023, 8, 7, 12, 0, tzinfo=UTC)  # a Monday


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon()


def attrs(text: str, lexicon: Lexicon, published: datetime = PUB):
    return extract_attributes(text, published=published, lexicon=lexicon)


def test_split_sentences_keeps_lines_apart() -> None:
    text = "Heading Without Stop\nKim visited a plant. He left on Monday.\n\nPhoto: AFP"
    assert split_sentences(text) == [
        "Heading Without Stop",
        "Kim visited a plant.",
        "He left on Monday.",
        "Photo: AFP",
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "Does this mean North Korea will export even more weapons abroad?",
        "By Dasl Yoon",
        "Photo: str/Agence France-Presse/Getty Images",
        "North Korea's Military Capabilities",
        "Leave a Reply to this article and tell us what you think.",
        "Write to Dasl Yoon at [email protected]",
        "Kim Jong-un inspecting a missile production line during his visit to a factory.",
        "If you found this article insightful, please consider reading our other article.",
        "What do you think about the new sanctions, let us know in the comments.",
        # a quoted view with no figure, date, deed or weapon: opinion, not a report
        "“This is a very intentional sales pitch,” Hong said.",
    ],
)
def test_is_assertion_drops_non_claims(sentence: str) -> None:
    assert not is_assertion(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Kim toured weapons factories for three days through Saturday, state media reported.",
        "Pyongyang already supplies the Russian military with artillery shells.",
        "“We have sent about 2,000 shells this month,” the officer said.",
    ],
)
def test_is_assertion_keeps_claims(sentence: str) -> None:
    assert is_assertion(sentence)


def quantities(text: str, lexicon: Lexicon) -> set[tuple[float, str]]:
    return {(q.value, q.unit) for q in attrs(text, lexicon).quantities}


def test_quantities_are_normalised(lexicon: Lexicon) -> None:
    assert quantities("Pyongyang shipped around 6,700 containers of weapons.", lexicon) == {
        (6700.0, "containers")
    }
    assert (3_000_000.0, "rounds") in quantities(
        "They could hold three million rounds of 152mm artillery shells.", lexicon
    )
    assert quantities("It could strike targets 80 kilometres away.", lexicon) == quantities(
        "It could strike targets 80 km away.", lexicon
    )
    assert (
        quantities("a 240-millimetre launcher", lexicon)
        == quantities("a 240mm launcher", lexicon)
        == {(240.0, "mm")}
    )
    assert quantities("The military has conducted over 100 missile tests.", lexicon) == {
        (100.0, "missiles")
    }
    assert quantities("Kim toured factories for three days.", lexicon) == {(3.0, "days")}


def test_years_ordinals_and_model_numbers_are_not_counts(lexicon: Lexicon) -> None:
    q = quantities(
        "In 2019 the 70th anniversary parade showed the Hwasong-19 and one of its launchers.",
        lexicon,
    )
    assert q == set()


def test_weapon_aliases_fold(lexicon: Lexicon) -> None:
    for text in (
        "a multiple rocket launcher",
        "multiple-launch rocket systems",
        "the MRL",
        "120mm multiple-launch rockets",
    ):
        assert attrs(text, lexicon).weapons == ("mrl",), text
    assert attrs("intercontinental ballistic missiles", lexicon).weapons == ("icbm",)
    assert attrs("its ICBMs", lexicon).weapons == ("icbm",)


def test_actors_fold(lexicon: Lexicon) -> None:
    a = attrs("South Korea's defence ministry said KCNA reported it.", lexicon)
    assert a.actors[:2] == ("skdefence", "statemedia")
    a = attrs("Russian Defense Minister Sergei Shoigu visited Pyongyang.", lexicon)
    assert "shoigu" in a.actors
    assert a.places == ("pyongyang",)
    assert "northkorea" in a.actors  # the capital acts for the country


def one_date(text: str, lexicon: Lexicon, published: datetime = PUB) -> tuple[date, date, str]:
    (d,) = attrs(text, lexicon, published).dates
    return d.start, d.end, d.precision


def test_dates_resolve_against_publication(lexicon: Lexicon) -> None:
    assert one_date("Shoigu visited last month.", lexicon) == (
        date(2023, 7, 1),
        date(2023, 7, 31),
        "month",
    )
    assert one_date("The tour ended Saturday.", lexicon) == (
        date(2023, 8, 5),
        date(2023, 8, 5),
        "day",
    )
    assert one_date("Drills are scheduled for August 21 to 24.", lexicon) == (
        date(2023, 8, 21),
        date(2023, 8, 24),
        "day",
    )
    assert one_date("In January 2024 Kim toured a plant.", lexicon) == (
        date(2024, 1, 1),
        date(2024, 1, 31),
        "month",
    )
    assert one_date("Tests have risen since 2022.", lexicon) == (
        date(2022, 1, 1),
        date(2022, 12, 31),
        "year",
    )
    # a yearless month reads as the most recent one, not a future one
    start, _, _ = one_date("In November Kim visited a base.", lexicon)
    assert start == date(2022, 11, 1)


def test_modal_may_is_not_a_month(lexicon: Lexicon) -> None:
    assert attrs("Pyongyang May seek to expand its trade.", lexicon).dates == ()


def test_date_explicitness(lexicon: Lexicon) -> None:
    kinds = [
        date_explicitness(d)
        for d in attrs("In January 2024, on August 21 to 24 and last month", lexicon).dates
    ]
    assert kinds == ["absolute", "yearless", "relative"]


def test_extract_keeps_assertions_once_with_positions(lexicon: Lexicon) -> None:
    text = (
        "Kim Visits Arms Plants\n"
        "Kim toured weapons factories for three days through Saturday.\n"
        "Photo: AFP\n"
        "Kim toured weapons factories for three days through Saturday.\n"
        "Will the North sell these weapons to Moscow next?\n"
        "He ordered factories to boost production of artillery shells."
    )
    claims = extract(text, published=PUB, lexicon=lexicon)
    assert [c.position for c in claims] == [0, 1]  # claim order within the article
    assert claims[0].attrs.quantities[0].unit == "days"
    assert claims[1].attrs.weapons == ("shell",)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("the army met to discuss warfare plans", "the military met to discuss war plans"),
        ("state media stated extra exams", "state media said more tests"),
        ("Shoigu's go to to North Korea", "Shoigu's visit to North Korea"),
        ("Kim Jong-un modernised the weapons", "Kim Jong Un modernized the weapons"),
        ("U.S. officials", "US officials"),
    ],
)
def test_normalize_tokens_folds_spinner_synonyms(lexicon: Lexicon, a: str, b: str) -> None:
    assert normalize_tokens(a, lexicon) == normalize_tokens(b, lexicon)


def test_normalize_tokens_are_plain_words(lexicon: Lexicon) -> None:
    toks = normalize_tokens(
        "Russian Defense Minister Sergei Shoigu’s 240-millimetre “rockets”, 6,700 containers!",
        lexicon,
    )
    # the office and the person stay apart: ministers change, the role goes on
    assert toks == ["rudefence", "shoigu", "240mm", "missile", "6700", "contain"]
    assert all((t.isalnum() and t.islower()) or t.isdigit() for t in toks)


def test_us_pronoun_is_not_the_united_states(lexicon: Lexicon) -> None:
    assert "usa" not in normalize_tokens("It is extremely concerning to us.", lexicon)
    assert "usa" in normalize_tokens("It is extremely concerning to the US.", lexicon)


def test_lexicon_rejects_a_word_in_two_synonym_groups() -> None:
    with pytest.raises(LexiconError, match="already in group 0"):
        parse_lexicon({"synonyms": {"groups": [["war", "warfare"], ["fight", "warfare"]]}})


def test_lexicon_rejects_bad_ids() -> None:
    with pytest.raises(LexiconError, match="letters and digits"):
        parse_lexicon({"weapons": {"multiple_rocket": {"aliases": ["MRL"]}}})
    with pytest.raises(LexiconError, match="aliases"):
        parse_lexicon({"actors": {"kim": {"aliases": "Kim"}}})


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        # "the North" (an alias) must not clip "North Korean capital" (a longer, later alias)
        ("Shoigu visited the North Korean capital", ["shoigu", "visit", "northkorea"]),
        ("the North fired a missile", ["northkorea", "test", "missile"]),  # fire = test
    ],
)
def test_a_longer_overlapping_phrase_wins(lexicon: Lexicon, text: str, tokens: list[str]) -> None:
    assert normalize_tokens(text, lexicon) == tokens
