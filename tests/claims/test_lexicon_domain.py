"""The shipped lexicon: general synonyms only, and the domain covered from knowledge."""

from __future__ import annotations

import pytest

from bot.claims.lexicon import Lexicon, load_lexicon
from bot.claims.normalize import normalize_tokens


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon()


def tokens(text: str, lexicon: Lexicon) -> list[str]:
    return normalize_tokens(text, lexicon)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("confirmed", "showed"),
        ("methods", "system"),
        ("protection", "military"),
        ("troopers", "military"),
        ("weekend", "week"),
        ("capacity", "production"),
        ("wheel", "drive"),
        ("mentioned", "said"),
        ("defined", "said"),
        ("spice up", "increase"),
        ("will hold", "scheduled"),
        ("hold out", "conduct"),
    ],
)
def test_wrong_synonyms_are_gone(a: str, b: str, lexicon: Lexicon) -> None:
    assert tokens(a, lexicon) != tokens(b, lexicon)


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("The KN-23 was fired", "srbm"),
        ("a Hwasong-11 missile", "srbm"),
        ("the Pulhwasal-3-31 was tested", "cruisemissile"),
        ("the Haeil underwater nuclear attack drone", "haeil"),
        ("the Malligyong-1 reconnaissance satellite", "satellite"),
        ("the Chollima-1 rocket", "satellite"),
        ("Koksan guns were seen on rail cars", "koksan"),
        ("a self-propelled howitzer", "koksan"),
        ("600mm super-large multiple rocket launcher", "srbm"),
        ("the 240mm multiple rocket launcher", "mrl"),
        ("the Rodong Sinmun reported", "statemedia"),
        ("according to NK News", "nknews"),
        ("Yonhap News Agency reported", "yonhap"),
        ("the National Intelligence Service told lawmakers", "sknis"),
        ("a Pentagon press secretary said", "usofficials"),
        ("Russia's chief of general staff", "rudefence"),
        ("Kim Yo Jong said", "kimyojong"),
    ],
)
def test_domain_terms(text: str, token: str, lexicon: Lexicon) -> None:
    assert token in tokens(text, lexicon)


def test_named_models_stay_apart(lexicon: Lexicon) -> None:
    assert tokens("the Hwasong-18 ICBM", lexicon) != tokens("the Hwasong-19 ICBM", lexicon)
    assert "kim" not in tokens("Kim Yo Jong said", lexicon)
