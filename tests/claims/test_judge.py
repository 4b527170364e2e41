"""Judge rules on hand-made stored claims (not the dev set)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.claims.extract import extract_attributes
from bot.claims.judge import JudgeParams, judge, score_candidates
from bot.claims.lexicon import Lexicon, load_lexicon
from bot.claims.token_overlap import main_clause
from bot.claims.types import Candidate, ExtractedClaim

STORED_AT = datetime(2023, 8, 7, tzinfo=UTC)
CLAIM_AT = datetime(2026, 1, 15, tzinfo=UTC)  # a claim judged long after, like the CLI does

STORED = [
    "Kim toured the country's weapons factories for three days through Saturday, state media said.",
    "South Korea's defence ministry believes Pyongyang has shipped around 6,700 containers of "
    "weapons to Russia.",
    "The annual Ulchi Freedom Shield drills are scheduled for August 21 to 24.",
    "Senior officials from Russia and China attended the July military parade in Pyongyang.",
    "The price of electricity in Seoul rose after the summer heatwave.",
]


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon()


@pytest.fixture(scope="module")
def stored(lexicon: Lexicon) -> list[Candidate]:
    return [
        Candidate(
            claim_id=i + 1,
            text=text,
            attrs=extract_attributes(text, published=STORED_AT, lexicon=lexicon),
            source="Test Wire",
            published=STORED_AT,
            url=f"seed:00{i}_test.txt",
        )
        for i, text in enumerate(STORED)
    ]


def claim(text: str, lexicon: Lexicon) -> ExtractedClaim:
    return ExtractedClaim(
        text=text, position=0, attrs=extract_attributes(text, published=CLAIM_AT, lexicon=lexicon)
    )


def test_paraphrase_is_repeated(lexicon: Lexicon, stored: list[Candidate]) -> None:
    v = judge(
        claim("Kim Jong Un inspected arms plants over three days ending Saturday.", lexicon),
        stored,
        lexicon=lexicon,
    )
    assert v.status == "repeated"
    assert v.matches[0].candidate.claim_id == 1
    assert v.changed == ()
    assert "Repeated" in v.explanation
    assert "Test Wire" in v.explanation


def test_spinner_text_is_repeated(lexicon: Lexicon, stored: list[Candidate]) -> None:
    v = judge(
        claim(
            "Prime officers from Russia and China attended the July army parade in Pyongyang.",
            lexicon,
        ),
        stored,
        lexicon=lexicon,
    )
    assert v.status == "repeated"
    assert v.matches[0].candidate.claim_id == 4


def test_changed_figure_is_updated(lexicon: Lexicon, stored: list[Candidate]) -> None:
    v = judge(
        claim(
            "Seoul's defense ministry says Pyongyang shipped about 9,000 containers of arms to Russia.",
            lexicon,
        ),
        stored,
        lexicon=lexicon,
    )
    assert v.status == "updated"
    assert v.matches[0].candidate.claim_id == 2
    (change,) = v.changed
    assert change.what == "containers"
    assert "6,700" in change.old
    assert "9,000" in change.new
    assert "9,000" in v.explanation


def test_shifted_date_is_updated(lexicon: Lexicon, stored: list[Candidate]) -> None:
    v = judge(
        claim("The Ulchi Freedom Shield drills are now scheduled for August 28 to 31.", lexicon),
        stored,
        lexicon=lexicon,
    )
    assert v.status == "updated"
    assert [c.what for c in v.changed] == ["date"]
    assert v.changed[0].old == "August 21 to 24"


def test_clearly_different_time_is_new(lexicon: Lexicon, stored: list[Candidate]) -> None:
    v = judge(
        claim("In January 2024 Kim toured the weapons factories for three days.", lexicon),
        stored,
        lexicon=lexicon,
    )
    assert v.status == "new"
    assert "different time" in v.explanation
    # the same sentence without the date is the stored fact
    v2 = judge(
        claim("Kim toured the weapons factories for three days.", lexicon), stored, lexicon=lexicon
    )
    assert v2.status == "repeated"


def test_unrelated_claim_is_new(lexicon: Lexicon, stored: list[Candidate]) -> None:
    v = judge(
        claim("A North Korean soldier defected across the demilitarized zone.", lexicon),
        stored,
        lexicon=lexicon,
    )
    assert v.status == "new"
    assert "below" in v.explanation


def test_counting_other_things_is_not_an_update(lexicon: Lexicon, stored: list[Candidate]) -> None:
    scores = score_candidates(
        claim(
            "South Korea's defence ministry says Pyongyang sent 10,000 troops to Russia.", lexicon
        ),
        stored,
        lexicon=lexicon,
    )
    top = next(s for s in scores if s.candidate.claim_id == 2)
    assert top.changes == ()
    assert "counts different things" in top.notes


def test_all_candidates_ranked_best_first(lexicon: Lexicon, stored: list[Candidate]) -> None:
    v = judge(
        claim("Kim toured weapons factories for three days.", lexicon), stored, lexicon=lexicon
    )
    assert len(v.matches) == len(stored)
    scores = [m.score for m in v.matches]
    assert scores == sorted(scores, reverse=True)


def test_semantic_cosine_moves_the_score(lexicon: Lexicon, stored: list[Candidate]) -> None:
    c = claim("Electricity became more expensive in the South Korean capital.", lexicon)
    lexical_only = score_candidates(c, stored, lexicon=lexicon)
    with_model = score_candidates(
        c,
        [replace(s, semantic=0.95 if s.claim_id == 5 else 0.1) for s in stored],
        lexicon=lexicon,
    )
    before = next(s for s in lexical_only if s.candidate.claim_id == 5)
    after = next(s for s in with_model if s.candidate.claim_id == 5)
    assert after.similarity > before.similarity
    assert with_model[0].candidate.claim_id == 5


def test_threshold_is_a_parameter(lexicon: Lexicon, stored: list[Candidate]) -> None:
    c = claim("Kim toured weapons factories for three days through Saturday.", lexicon)
    assert judge(c, stored, lexicon=lexicon).status == "repeated"
    strict = JudgeParams(threshold=0.99, quantity_agree_bonus=0.0)
    assert judge(c, stored, lexicon=lexicon, params=strict).status == "new"


def test_no_candidates_is_new(lexicon: Lexicon) -> None:
    v = judge(claim("Kim toured factories.", lexicon), [], lexicon=lexicon)
    assert v.status == "new"
    assert v.matches == ()


def test_candidate_without_attributes_is_analysed(
    lexicon: Lexicon, stored: list[Candidate]
) -> None:
    bare = [replace(s, attrs=type(s.attrs)()) for s in stored]
    v = judge(
        claim(
            "Seoul's defense ministry says Pyongyang shipped about 9,000 containers of arms to Russia.",
            lexicon,
        ),
        bare,
        lexicon=lexicon,
    )
    assert v.status == "updated"


# A stored claim whose main clause a longer new claim restates whole, with something added.
RESTATED = [
    "The Chinese foreign minister visited the port of Rason last week, praising its new "
    "container terminal.",
    "Japan's coast guard reported a ship transfer of oil near the maritime border.",
]


@pytest.fixture(scope="module")
def restated(lexicon: Lexicon) -> list[Candidate]:
    return [
        Candidate(
            claim_id=i + 1,
            text=text,
            attrs=extract_attributes(text, published=STORED_AT, lexicon=lexicon),
            source="Port Wire",
            published=STORED_AT,
        )
        for i, text in enumerate(RESTATED)
    ]


@pytest.mark.parametrize(
    ("text", "main"),
    [
        (
            "The minister visited the port last week, praising its new terminal.",
            "The minister visited the port last week",
        ),
        ("Kim inspected the rocket plant, which makes shells.", "Kim inspected the rocket plant"),
        (
            "Kim inspected a munitions plant, according to state media.",
            "Kim inspected a munitions plant",
        ),
        (  # "morning" is no participle
            "The drills end on Friday, morning reports said.",
            "The drills end on Friday, morning reports said.",
        ),
        (
            "When Kim met Shoigu, they toured an arms show.",
            "When Kim met Shoigu, they toured an arms show.",
        ),
        ("Kim, smiling, inspected the plant.", "Kim, smiling, inspected the plant."),  # too short
        (
            "Factories increased output of artillery shells, something analysts expected.",
            "Factories increased output of artillery shells, something analysts expected.",
        ),
    ],
)
def test_main_clause_stops_before_a_trailing_adjunct(text: str, main: str) -> None:
    assert main_clause(text) == main


def test_a_claim_restating_a_stored_main_clause_repeats_it(
    lexicon: Lexicon, restated: list[Candidate]
) -> None:
    text = (
        "Intelligence officials in Seoul and Tokyo believe the Chinese foreign minister "
        "discussed fuel deliveries, coal exports and labour contracts during his visit to the "
        "port of Rason last week."
    )
    v = judge(claim(text, lexicon), restated, lexicon=lexicon)
    assert v.status == "repeated"
    assert v.matches[0].candidate.claim_id == 1
    assert "restates, inside a longer claim," in v.explanation
    scored = score_candidates(claim(text, lexicon), restated, lexicon=lexicon)
    assert "restates the stored claim" in scored[0].notes
    # without the restatement credit the same pair scores below the threshold
    off = JudgeParams(restate_min_containment=1.01)
    assert judge(claim(text, lexicon), restated, lexicon=lexicon, params=off).status == "new"


def test_restating_only_part_of_a_main_clause_is_not_a_repeat(
    lexicon: Lexicon, restated: list[Candidate]
) -> None:
    text = "The Chinese foreign minister discussed fuel deliveries with officials in Seoul."
    v = judge(claim(text, lexicon), restated, lexicon=lexicon)
    assert v.status == "new"


def test_a_restatement_about_another_time_is_new(
    lexicon: Lexicon, restated: list[Candidate]
) -> None:
    text = (
        "In March 2025 the Chinese foreign minister visited the port of Rason and discussed "
        "fuel deliveries."
    )
    v = judge(claim(text, lexicon), restated, lexicon=lexicon)
    assert v.status == "new"
