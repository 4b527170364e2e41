from __future__ import annotations

from pathlib import Path

import pytest

from bot.feeds.relevance import Topics, TopicsError, load_topics
from bot.settings import CONFIG_DIR

THRESHOLD = 1.0
CORPUS = Path(__file__).resolve().parents[2] / "bot" / "corpus"


@pytest.mark.parametrize("seed", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.name)
def test_seed_articles_are_relevant(topics: Topics, seed: Path) -> None:
    assert topics.score("", seed.read_text("utf-8")) >= THRESHOLD


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Seoul stocks close higher", "The KOSPI rose 1.2 percent, led by Samsung Electronics."),
        (
            "North Korea women's team wins",
            "The North Korean football team beat Japan 2-1 in Pyongyang.",
        ),
        (
            "Russia fires missiles at Kyiv",
            "Russian forces launched cruise missiles and drones overnight.",
        ),
        ("", ""),
    ],
)
def test_one_sided_or_off_topic_stories_are_not_relevant(topics: Topics, title: str, text: str):
    assert topics.score(title, text) < THRESHOLD


def test_hyphen_and_case_variants_match(topics: Topics) -> None:
    a = topics.score("KIM JONG-UN inspects ICBM launchers", "")
    b = topics.score("kim jong un inspects icbm launchers", "")
    assert a == b
    assert a >= THRESHOLD


def test_title_terms_weigh_more_than_body_terms(topics: Topics) -> None:
    body = "North Korea fired a missile, officials said."
    in_title = topics.score("North Korea missile launch", body)
    in_body = topics.score("Officials spoke on Monday", body)
    assert in_title > in_body


def test_repetition_is_damped(topics: Topics) -> None:
    once = topics.score("", "North Korea fired a missile.")
    many = topics.score("", "North Korea fired a missile. " * 50)
    assert many > once
    assert many < once * 3


def test_words_inside_other_words_do_not_match(topics: Topics) -> None:
    assert topics.score("", "Kimchi armsrace dprkish missileers") == 0


def test_loading_errors(tmp_path: Path) -> None:
    missing = tmp_path / "t.toml"
    missing.write_text('[north_korea]\n"pyongyang" = 1.0\n')
    with pytest.raises(TopicsError, match="arms"):
        load_topics(missing)
    bad = tmp_path / "b.toml"
    bad.write_text('[north_korea]\n"pyongyang" = "high"\n[arms]\n"missile" = 1\n')
    with pytest.raises(TopicsError, match="pyongyang"):
        load_topics(bad)


def test_shipped_lexicon_loads() -> None:
    topics = load_topics(CONFIG_DIR / "topics.toml")
    assert topics.north_korea
    assert topics.arms
