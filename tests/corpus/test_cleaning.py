"""Cleaning rules on synthetic pages (general patterns) and on the bundled seeds."""

from __future__ import annotations

import pytest

from bot.corpus import load_seed_corpus
from bot.corpus.cleaning import clean_page, normalize_text

PAGE = """\
40% off
Tue. March 5th, 2024
Daily Defence Digest
Missile factory expands output, officials say
Missile factory expands output, officials say
5 min read
By Jane Roe March 4, 2024
Officials said the factory doubled its output of artillery shells in January.
Workers assembling rocket launchers at a plant outside the capital.
A new assembly hall opened last year, according to satellite imagery.
The director inspected the new hall on Monday.
Photo: Some Agency/Getty Images
Production Targets
The plant plans to add a third shift next month, the ministry said. Sign up for our newsletter to get more stories like this.
Officials said the factory doubled its output of artillery shells in January.
State media said the plant's wgacor88 engineers tested a new fuse.
1,204
Jane Roe
Jane is an award-winning reporter covering defence.
Leave a Reply
Great article!
"""


def _reasons(text: str) -> dict[str, str]:
    cleaned = clean_page(
        text, title="Missile factory expands output, officials say", author="Jane Roe"
    )
    return {item.line: item.reason for item in cleaned.dropped}


def test_keeps_body_sentences_in_order() -> None:
    cleaned = clean_page(
        PAGE, title="Missile factory expands output, officials say", author="Jane Roe"
    )
    assert cleaned.paragraphs == [
        "Officials said the factory doubled its output of artillery shells in January.",
        "A new assembly hall opened last year, according to satellite imagery.",
        "The plant plans to add a third shift next month, the ministry said.",
        "State media said the plant's engineers tested a new fuse.",
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("40% off", "before headline"),
        ("Tue. March 5th, 2024", "before headline"),
        ("Daily Defence Digest", "before headline"),
        ("5 min read", "reading time"),
        ("By Jane Roe March 4, 2024", "byline"),
        ("Workers assembling rocket launchers at a plant outside the capital.", "caption"),
        ("The director inspected the new hall on Monday.", "caption"),
        ("Photo: Some Agency/Getty Images", "photo credit"),
        ("Production Targets", "heading"),
        ("Sign up for our newsletter to get more stories like this.", "call to action"),
        (
            "Officials said the factory doubled its output of artillery shells in January.",
            "duplicate",
        ),
        ("1,204", "counter"),
        ("Jane Roe", "end matter"),
        ("Jane is an award-winning reporter covering defence.", "end matter"),
        ("Leave a Reply", "end matter"),
        ("Great article!", "end matter"),
    ],
)
def test_drops_page_chrome_with_reason(line: str, reason: str) -> None:
    assert _reasons(PAGE)[line] == reason


def test_spam_word_removed_but_sentence_kept() -> None:
    reasons = _reasons(PAGE)
    assert (
        reasons["State media said the plant's wgacor88 engineers tested a new fuse."]
        == "spam words"
    )


def test_english_words_containing_spam_markers_survive() -> None:
    cleaned = clean_page("The total count of potato shipments was judicious and reported.")
    assert cleaned.text == "The total count of potato shipments was judicious and reported."


def test_page_without_title_line_keeps_lead() -> None:
    cleaned = clean_page(
        "SEOUL - The army said it fired two missiles on Monday.\n53\n", title="Other"
    )
    assert cleaned.paragraphs == ["SEOUL - The army said it fired two missiles on Monday."]


def test_reaction_widget_and_comment_section_are_end_matter() -> None:
    text = (
        "The ministry said 300 shells were shipped.\nWhat's Your Reaction?\nlike\nlove\n"
        "Comments are closed.\n"
    )
    cleaned = clean_page(text)
    assert cleaned.paragraphs == ["The ministry said 300 shells were shipped."]
    assert {d.reason for d in cleaned.dropped} == {"end matter"}


def test_normalize_removes_control_and_zero_width_and_spinner_braces() -> None:
    assert (
        normalize_text("army {hardware}\u200b targets\x07\r\nnext") == "army hardware targets\nnext"
    )


def test_hostile_or_empty_input_loses_nothing_and_does_not_crash() -> None:
    assert clean_page("").paragraphs == []
    huge = ("Officials said the plant made shells. " * 2000).strip()
    assert clean_page(huge).paragraphs == [huge]


# The bundled seeds: what a reader of each would call the article survives, the chrome does not.
SEED_KEPT = {
    "000": "Kim toured North Korea’s weapons factories for three days through Saturday",
    "001": "around 6,700 containers of weapons to Russia",
    "002": "Kim’s military has conducted over 100 missile tests",
    "003": "It is also not a coincidence that Kim Jong-un embarked on a tour of the arms factories.",
    "004": "are scheduled for August 21 to 24.",
}
SEED_DROPPED = {
    "000": [
        "What's Your Reaction?",
        "Photo: str/Agence France-Presse/Getty Images",
        "70% off",
        "Write to Dasl Yoon at [email protected]",
        "A person who loves writing",
    ],
    "001": [
        "Leave a Reply",
        "Tyler is a renowned journalist",
        "Related Post",
        "Sun. May 26th, 2024",
        "Does Kim Jong-un’s focus on modernizing",
    ],
    "002": ["Comments are closed.", "Original Story at", "53"],
    "003": [
        "gengtoto",
        "About The Author",
        "7 min read",
        "Keep Explore The Knowledge",
        "please consider reading our article",
        "touring an arms manufacturing plant",
    ],
    "004": ["FILE – Members from U.S.", "A scorching summer season", "contributed to this report"],
}


@pytest.fixture(scope="module")
def seeds_by_prefix() -> dict[str, str]:
    return {seed.origin[:3]: seed.text for seed in load_seed_corpus()}


@pytest.mark.parametrize("prefix", sorted(SEED_KEPT))
def test_seed_body_kept(seeds_by_prefix: dict[str, str], prefix: str) -> None:
    assert SEED_KEPT[prefix] in seeds_by_prefix[prefix]


@pytest.mark.parametrize("prefix", sorted(SEED_DROPPED))
def test_seed_chrome_dropped(seeds_by_prefix: dict[str, str], prefix: str) -> None:
    for fragment in SEED_DROPPED[prefix]:
        assert fragment not in seeds_by_prefix[prefix], fragment


def test_seed_corpus_is_in_publication_order_with_aware_dates() -> None:
    seeds = load_seed_corpus()
    assert [seed.origin[:3] for seed in seeds] == ["000", "004", "002", "001", "003"]
    assert all(seed.published.tzinfo is not None for seed in seeds)
    assert [seed.origin[:3] for seed in seeds if seed.published_inferred] == ["004"]
