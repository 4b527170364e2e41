"""Claimhood, scrape repair and fact units, on invented sentences."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.claims.atoms import fact_units
from bot.claims.claimhood import echoes_title, not_claim_reason, repair
from bot.claims.extract import extract, split_sentences
from bot.claims.lexicon import Lexicon, load_lexicon

PUB = datetime(2024, 3, 12, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon()


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        (
            "The foreign ministry in Pyongyang did not respond to an emailed request for comment.",
            "boilerplate",
        ),
        (
            "A spokesman for the arms maker could not be reached for comment on Tuesday.",
            "boilerplate",
        ),
        ("For the latest news on the peninsula, visit our Asia section.", "boilerplate"),
        ("This was stated by a defence official at a closed-door briefing.", "meta"),
        ("The remarks were made during a visit to a naval base.", "meta"),
        ("Soldiers load a launcher onto a rail car in this undated handout photo.", "caption"),
        (
            "“This reckless provocation will not go unanswered,” the ministry said in a statement.",
            "rhetoric",
        ),
        ("The general praised the gunners for their “invincible fighting spirit”.", "rhetoric"),
        ("Seoul strongly condemned the move as a threat to regional peace.", "rhetoric"),
    ],
)
def test_not_claims_are_named(sentence: str, reason: str) -> None:
    assert not_claim_reason(sentence) == reason


@pytest.mark.parametrize(
    "sentence",
    [
        "North Korea fired two cruise missiles off its west coast on Sunday, the military said.",
        "Officials said the shipment held about 4,000 rounds of mortar ammunition.",
        # condemnation that also reports the deed stays a claim
        "Tokyo condemned the launch of three ballistic missiles on Friday.",
        "Analysts said the new launcher could carry six rockets at once.",
    ],
)
def test_factual_sentences_stay(sentence: str) -> None:
    assert not_claim_reason(sentence) is None


def test_repair_unglues_sentences_and_drops_credits() -> None:
    text = (
        "TOKYO, May 3 (Wire) - The ship left port on Monday.Officials said it carried shells."
        " (Photo: Example Agency) Inspectors boarded it.”Another line followed."
    )
    fixed = repair(text)
    assert "Monday. Officials" in fixed
    assert "TOKYO" not in fixed
    assert "Photo" not in fixed
    assert split_sentences(text)[:2] == [
        "The ship left port on Monday.",
        "Officials said it carried shells.",
    ]


def test_repair_leaves_abbreviations_and_decimals() -> None:
    text = "The U.S. Army said the 2.5 ton truck was seen at Example.org today."
    assert repair(text) == text


def test_headline_echo() -> None:
    title = "North Korea tests new cruise missile over the Yellow Sea"
    assert echoes_title("North Korea tests new cruise missile over Yellow Sea.", title)
    assert not echoes_title(
        "North Korea tested a new cruise missile over the Yellow Sea on Sunday, flying it for "
        "two hours before it hit an island target, the military said.",
        title,
    )
    assert not echoes_title("North Korea tests new cruise missile.", None)


def test_fact_units_split_coordinated_reports() -> None:
    units = fact_units(
        "The agency said on Friday that the factory had doubled its output of rockets, and "
        "that a second assembly hall had been built next to the old one."
    )
    assert units == [
        "The agency said on Friday that the factory had doubled its output of rockets.",
        "The agency said on Friday that a second assembly hall had been built next to the old one.",
    ]


def test_fact_units_keep_trailing_attribution() -> None:
    units = fact_units(
        "The convoy crossed the border at dawn with forty trucks, while a second convoy waited "
        "at the rail yard near the port, local officials said."
    )
    assert units == [
        "The convoy crossed the border at dawn with forty trucks, local officials said.",
        "A second convoy waited at the rail yard near the port, local officials said.",
    ]


def test_fact_units_semicolon_and_single_facts() -> None:
    assert fact_units(
        "The test missile flew about 600 kilometres; the navy said it fell outside the zone."
    ) == [
        "The test missile flew about 600 kilometres.",
        "The navy said it fell outside the zone.",
    ]
    single = "The plant makes shells, fuses and rocket motors for the army, a defector said."
    assert fact_units(single) == [single]
    assert fact_units("Kim watched the test, state media said.") == [
        "Kim watched the test, state media said."
    ]


def test_extract_judges_units_and_drops_chrome(lexicon: Lexicon) -> None:
    title = "Pyongyang opens new shell line, spy agency says"
    text = (
        "Pyongyang opens new shell line, spy agency says.\n\n"
        "The spy agency said on Monday that a new shell line had opened near the capital, and "
        "that it could make 20,000 rounds a month.The line was built in under a year.\n\n"
        "The embassy did not respond to a request for comment."
    )
    claims = extract(text, published=PUB, lexicon=lexicon, title=title)
    assert [c.text for c in claims] == [
        "The spy agency said on Monday that a new shell line had opened near the capital.",
        "The spy agency said on Monday that it could make 20,000 rounds a month.",
        "The line was built in under a year.",
    ]
    assert [c.position for c in claims] == [0, 1, 2]
    assert claims[0].sentence.endswith("20,000 rounds a month.")
    assert claims[2].sentence == ""
    story = claims[0].attrs.story
    assert story is not None
    assert story.published == PUB.date()
    assert "shell" in story.weapons


def test_fact_units_share_the_subject_of_a_coordinated_verb() -> None:
    assert fact_units(
        "The navy has tracked two supply ships near the port, and has warned that a third one "
        "may follow soon."
    ) == [
        "The navy has tracked two supply ships near the port.",
        "The navy has warned that a third one may follow soon.",
    ]


def test_repair_drops_glued_byline_and_photo_credit() -> None:
    assert repair("By Example Wire staff The plant opened in May.") == "The plant opened in May."
    fixed = repair("Photo: Example Agency (May 2, 2024) The plant opened in May.")
    assert fixed.strip() == "The plant opened in May."


def test_extract_skips_a_headline_glued_to_the_body(lexicon: Lexicon) -> None:
    title = "Navy spots two cargo ships at northern port"
    text = (
        "Navy spots two cargo ships at northern port The navy said on Friday that two cargo "
        "ships had docked at the port overnight."
    )
    claims = extract(text, published=PUB, lexicon=lexicon, title=title)
    assert [c.text for c in claims] == [
        "The navy said on Friday that two cargo ships had docked at the port overnight."
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "The broadcaster could not independently verify the report.",
        "The official spoke on condition of anonymity because the matter is classified.",
        "The views expressed in this column do not reflect those of the publisher.",
        "“The world cannot look away from this any longer,” the envoy told the council.",
        "The minister called the agreement “a historic turning point” for the region.",
        "The spokesman warned that any such shipment would be met with a strong response.",
    ],
)
def test_more_non_claims(sentence: str) -> None:
    assert not_claim_reason(sentence) is not None


def test_fact_units_split_verb_phrases_without_comma_and_keep_own_attribution() -> None:
    assert fact_units(
        "The navy launched its first patrol drone in May and has said it plans to build ten more."
    ) == [
        "The navy launched its first patrol drone in May.",
        "The navy has said it plans to build ten more.",
    ]
    assert fact_units(
        "The ministry said that the plant had reopened in March, and Tokyo says it has since "
        "doubled its output."
    ) == [
        "The ministry said that the plant had reopened in March.",
        "Tokyo says it has since doubled its output.",
    ]


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("The embassy in Beijing could not immediately be reached.", "boilerplate"),
        ("Our correspondent has reached out to the navy for more information.", "boilerplate"),
        ("The agency was unable to independently confirm the satellite images.", "boilerplate"),
        ("The general did not elaborate on the timing.", "boilerplate"),
        ("Officials declined to give further details about the cargo.", "boilerplate"),
        ("Details of the drill were not immediately available.", "boilerplate"),
        ("Log in or sign up to keep reading our coverage.", "boilerplate"),
        ("This site uses cookies to measure its audience.", "boilerplate"),
        ("The writer is a visiting scholar at a university in Tokyo.", "boilerplate"),
        ("The colonel made the estimate in an interview with a local radio station.", "meta"),
        ("She was speaking to reporters after a cabinet meeting in Tokyo.", "meta"),
        ("The ministry's statement was published by the party newspaper.", "meta"),
        ("Two soldiers inspect a launcher in an image distributed by the army.", "caption"),
        ("The defence minister, second from left, tours the plant.", "caption"),
        (
            "The drill once again demonstrated the unrivalled might of the artillery corps.",
            "rhetoric",
        ),
        ("The workers expressed deep satisfaction with the new production line.", "rhetoric"),
        ("The commander said his gunners would crush any invasion.", "rhetoric"),
        ("It remains to be seen whether the new plant can run at full capacity.", "hedge"),
        ("Some analysts believe Pyongyang probably wants leverage before any talks.", "hedge"),
        ("The sale could further inflame tensions across the region.", "hedge"),
        ("The episode is another reminder of how opaque the arms trade is.", "hedge"),
        ("“Nobody in Seoul is surprised any more,” said a retired general.", "quote"),
    ],
)
def test_non_claims_of_other_kinds(sentence: str, reason: str) -> None:
    assert not_claim_reason(sentence) == reason


@pytest.mark.parametrize(
    "sentence",
    [
        # an official's uncertainty is a statement of record, the writer's is not
        "It is not clear whether the crews are trained yet, the navy chief told lawmakers.",
        # a positive confirmation is a fact
        "Japan's coast guard independently confirmed the ship's position on Monday.",
        # an analyst's technical judgement without a motive guess stays
        "Analysts say the new drone appears to be copied from an Iranian design.",
        "Images released by the army showed six launchers on a rail siding.",
        "“We counted 40 rail cars at the depot,” the researcher said.",
    ],
)
def test_near_misses_stay_claims(sentence: str) -> None:
    assert not_claim_reason(sentence) is None


def test_a_boast_that_tells_a_deed_stays_a_claim() -> None:
    assert not_claim_reason("The footage cannot be independently verified.") == "boilerplate"
    assert not_claim_reason("The crews expressed great pride in the drill.") == "rhetoric"
    assert (
        not_claim_reason("The general expressed great pride in the plant that produced the guns.")
        is None
    )


def test_a_sentence_telling_what_a_released_photo_showed_stays_a_claim() -> None:
    assert (
        not_claim_reason(
            "Two engineers appeared beside the launcher in footage released on Monday."
        )
        is None
    )


def test_repair_drops_a_dateline_naming_two_cities() -> None:
    fixed = repair("TOKYO/MANILA, May 3 (Wire) - The two navies held a drill on Monday.")
    assert fixed == "The two navies held a drill on Monday."
