"""Figure extraction, table-driven over invented sentences (none taken from the dev stream)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.claims.figures import figures, format_figure, format_number
from bot.claims.types import Attributes, Quantity

# sentence -> the figures expected, each as a dict of the fields that matter for that case
CASES: list[tuple[str, list[dict[str, Any]]]] = [
    # the unit after adjectives and nouns that are not units
    (
        "Port officials counted 8,200 refrigerated sea containers at the terminal.",
        [{"value": 8200, "unit": "containers", "text": "8,200 refrigerated sea containers"}],
    ),
    # the unit earlier in the sentence, the figure after a link word
    (
        "The number of containers loaded at the pier since March is about 2,400, a port agent said.",
        [{"value": 2400, "unit": "containers", "qualifier": "about", "since": "since march"}],
    ),
    (
        "Shells handed over to the allied army now total 4 million.",
        [{"value": 4_000_000, "unit": "rounds"}],
    ),
    # hedges, object and destination
    (
        "Investigators said some 3,100 containers of ammunition were sent to Belarus.",
        [
            {
                "value": 3100,
                "unit": "containers",
                "qualifier": "about",
                "obj": "munitions",
                "dest": "belarus",
            }
        ],
    ),
    (
        "The ministry believes more than 900 howitzers were moved to Moscow by rail.",
        [{"value": 900, "unit": "guns", "qualifier": "more than", "dest": "russia"}],
    ),
    (
        "Up to 45 launchers and at least 70 drones took part, while fewer than 20 tanks moved.",
        [
            {"value": 45, "unit": "launchers", "qualifier": "up to"},
            {"value": 70, "unit": "drones", "qualifier": "at least"},
            {"value": 20, "unit": "tanks", "qualifier": "fewer than"},
        ],
    ),
    # "missile tests" count missiles fired, as "missiles fired in tests" does
    (
        "More than 40 missile tests and 25 rocket launches took place; 6 tests failed.",
        [
            {"value": 40, "unit": "missiles"},
            {"value": 25, "unit": "rockets"},
            {"value": 6, "unit": "tests"},
        ],
    ),
    (
        "Nearly 600 workers and an estimated 1,200 conscripts were counted.",
        [
            {"value": 600, "unit": "workers", "qualifier": "nearly"},
            {"value": 1200, "unit": "troops", "qualifier": "about"},
        ],
    ),
    # number words
    (
        "The plant turned out one thousand rockets and three million bullets cartridges last year.",
        [
            {"value": 1000, "unit": "rockets"},
            {"value": 3_000_000, "unit": "rounds"},
        ],
    ),
    (
        "A dozen trucks and twenty-two vessels waited at the border.",
        [{"value": 12, "unit": "vehicles"}, {"value": 22, "unit": "ships"}],
    ),
    (
        "Two hundred and fifty soldiers guarded the depot.",
        [{"value": 250, "unit": "troops"}],
    ),
    (
        "Half a million rounds of ammunition were stored in the tunnels.",
        [{"value": 500_000, "unit": "rounds", "obj": "munitions"}],
    ),
    # vague amounts become ranges
    (
        "Tens of thousands of soldiers have trained for the operation.",
        [{"value": 10_000, "unit": "troops", "low": 10_000, "high": 99_000}],
    ),
    (
        "Several thousand workers and hundreds of engineers were sent abroad.",
        [
            {"value": 3000, "unit": "workers", "low": 3000, "high": 9000},
            {"value": 200, "unit": "engineers", "low": 200, "high": 999},
        ],
    ),
    # decimals with scale words and currency
    (
        "Analysts put the cargo at 2.5 million rounds worth $1.2 billion.",
        [
            {"value": 2_500_000, "unit": "rounds"},
            {"value": 1_200_000_000, "unit": "usd", "text": "$1.2 billion"},
        ],
    ),
    (
        "Prices of rice jumped 35% while the company earned $40m.",
        [{"value": 35, "unit": "percent"}, {"value": 40_000_000, "unit": "usd"}],
    ),
    # explicit ranges
    (
        "Between 4,000 and 6,000 troops crossed into Belarus.",
        [{"value": 4000, "low": 4000, "high": 6000, "unit": "troops"}],
    ),
    (
        "The agency estimates 20,000-25,000 casualties among the brigades.",
        [{"value": 20_000, "low": 20_000, "high": 25_000, "unit": "casualties"}],
    ),
    (
        "Officials expect 3 to 4 million shells to be delivered.",
        [{"value": 3_000_000, "low": 3_000_000, "high": 4_000_000, "unit": "rounds"}],
    ),
    (
        "Satellite photos show 500 or more wagons at the station.",
        [{"value": 500, "unit": "wagons", "qualifier": "at least"}],
    ),
    # a change stated as "from X to Y": two figures of one unit, not a range
    (
        "The tally rose from 2,000 to 3,500 containers in a year.",
        [
            {"value": 2000, "unit": "containers", "low": None},
            {"value": 3500, "unit": "containers", "low": None},
        ],
    ),
    # baselines travel with the figure
    (
        "Roughly 9,000 containers have crossed the bridge since mid-2021.",
        [{"value": 9000, "unit": "containers", "since": "since mid-2021"}],
    ),
    (
        "At least 300 missiles have been delivered since October 2022, a general said.",
        [{"value": 300, "unit": "missiles", "since": "since october 2022"}],
    ),
    # measures are not counts, and carry no cargo or baseline
    (
        "A 300-millimetre rocket can fly 190 kilometres, engineers said since 2020.",
        [{"value": 300, "unit": "mm"}, {"value": 190, "unit": "km", "since": ""}],
    ),
    (
        "The 122mm guns fired at ranges of 30 km.",
        [{"value": 122, "unit": "mm"}, {"value": 30, "unit": "km"}],
    ),
    # people harmed are casualties, whatever noun counts them
    (
        "About 400 soldiers have been killed and 1,100 wounded, while 900 workers were hurt.",
        [
            {"value": 400, "unit": "casualties", "qualifier": "about"},
            {"value": 900, "unit": "casualties"},
        ],
    ),
    (
        "Some 2,000 special forces and 300 commandos landed.",
        [{"value": 2000, "unit": "troops"}, {"value": 300, "unit": "troops"}],
    ),
    (
        "Trains carried 700 containers of military equipment and shells to Russia.",
        [{"value": 700, "unit": "containers", "obj": "munitions", "dest": "russia"}],
    ),
    (
        "They sent 60,000 rounds of 120 mm ammunition.",
        [{"value": 60_000, "unit": "rounds", "obj": "munitions"}, {"value": 120, "unit": "mm"}],
    ),
    # partitives
    (
        "About 1,500 of their fighters returned home.",
        [{"value": 1500, "unit": "troops", "qualifier": "about"}],
    ),
]

# sentences whose numbers are names, dates, ordinals or years
NOT_FIGURES = [
    "The Hwasong-12 and the KN-25 were shown at the parade in 2018.",
    "The talks on March 14 were the 9th round of the forum.",
    "Resolution 2270 was adopted on 2 March 2016.",
    "One of the launchers broke down near the coast.",
    "The vote was 13 in favour, diplomats said.",
    "Talks resume at 10:30 on Friday.",
    "The two countries signed the pact after the three leaders met.",
]


@pytest.mark.parametrize(("sentence", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_figures(sentence: str, expected: list[dict[str, Any]]) -> None:
    got = figures(sentence)
    assert len(got) == len(expected), got
    for q, want in zip(got, expected, strict=True):
        for key, value in want.items():
            assert getattr(q, key) == value, (key, q)


@pytest.mark.parametrize("sentence", NOT_FIGURES)
def test_names_dates_and_years_are_not_figures(sentence: str) -> None:
    assert figures(sentence) == []


def test_same_figure_in_different_words_compares_equal() -> None:
    a = figures("Pyongyang has shipped about 7,000 containers of arms to Russia.")[0]
    b = figures("The count of containers of weapons sent to Moscow is around 7,000.")[0]
    assert (a.value, a.unit, a.obj, a.dest, a.qualifier) == (
        b.value,
        b.unit,
        b.obj,
        b.dest,
        b.qualifier,
    )


def test_quantity_json_round_trip_and_old_rows() -> None:
    q = figures("Between 4,000 and 6,000 troops were sent to Russia since August 2024.")[0]
    assert Quantity.from_json(q.to_json()) == q
    old = Attributes.from_json(
        {"quantities": [{"value": 6700.0, "unit": "container", "text": "6,700 containers"}]}
    )
    (legacy,) = old.quantities
    assert (legacy.unit, legacy.low, legacy.qualifier, legacy.since) == ("containers", None, "", "")
    assert "low" not in legacy.to_json()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("about 5,000 containers", "about 5,000"),
        ("10,000-12,000 troops", "10,000–12,000"),
        ("$1.5 billion", "$1.5 billion"),
        ("20% of the budget", "20%"),
    ],
)
def test_format_figure(text: str, shown: str) -> None:
    assert format_figure(figures(f"They counted {text}.")[0]) == shown


def test_format_number() -> None:
    assert format_number(13000) == "13,000"
    assert format_number(3_000_000) == "3 million"
    assert format_number(2.5) == "2.5"


def test_a_clause_after_the_number_is_not_its_noun_phrase() -> None:
    assert figures("He visited one making rockets for the front.") == []


def test_a_participle_modifier_between_number_and_unit() -> None:
    (q,) = figures("Seoul counted about 2,400 waiting rail cars at the border.")
    assert (q.value, q.unit, q.qualifier) == (2400.0, "wagons", "about")


def test_number_as_a_verb_links_a_figure_to_its_earlier_unit() -> None:
    (q,) = figures("The drones sent so far would number more than 3,500, officials said.")
    assert (q.value, q.unit, q.qualifier) == (3500.0, "drones", "more than")


def test_a_time_word_is_not_the_unit_of_a_later_bare_figure() -> None:
    assert figures("Last month, the ministry put the total at 8,000.") == []


def test_a_calibre_after_the_count_is_not_the_counted_thing() -> None:
    got = [(q.value, q.unit) for q in figures("The depot held some 40,000 122mm mortar rounds.")]
    assert got == [(40000.0, "rounds"), (122.0, "mm")]
    got = [(q.value, q.unit) for q in figures("It sent two million 152-millimetre shells.")]
    assert got == [(2000000.0, "rounds"), (152.0, "mm")]
