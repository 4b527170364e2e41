from __future__ import annotations

import pytest

from bot.claims.evaluation import (
    GoldClaim,
    LabelledFileError,
    Prediction,
    evaluate,
    format_report,
    parse_gold,
    seed_prefix,
)

GOLD = [
    GoldClaim("a", "x", "repeated", ("000", "002")),
    GoldClaim("b", "x", "repeated", ("001",)),
    GoldClaim("c", "x", "updated", ("001",)),
    GoldClaim("d", "x", "new"),
    GoldClaim("e", "x", "new"),
]


def test_metrics_by_hand() -> None:
    preds = {
        "a": Prediction("a", "repeated", "002"),
        "b": Prediction("b", "updated", "004"),  # wrong class, wrong seed
        "c": Prediction("c", "updated", "001"),
        "d": Prediction("d", "new", None),
        "e": Prediction("e", "repeated", "000"),  # known predicted for a new claim
    }
    r = evaluate(GOLD, preds)
    rep, upd, new = r.per_class["repeated"], r.per_class["updated"], r.per_class["new"]
    assert (rep.precision, rep.recall, rep.support) == (0.5, 0.5, 2)
    assert (upd.precision, upd.recall) == (0.5, 1.0)
    assert upd.f1 == pytest.approx(2 / 3)
    assert (new.precision, new.recall) == (1.0, 0.5)
    assert r.macro_f1 == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    assert r.accuracy == pytest.approx(3 / 5)
    assert r.known_vs_new_accuracy == pytest.approx(4 / 5)
    assert r.attribution_accuracy == pytest.approx(2 / 3)
    assert r.attribution_total == 3
    assert r.confusion[("new", "repeated")] == 1
    assert r.confusion[("repeated", "updated")] == 1
    assert {g.id for g, _ in r.errors} == {"b", "e"}


def test_missing_prediction_counts_as_new() -> None:
    r = evaluate(GOLD[:1], {})
    assert r.confusion[("repeated", "new")] == 1
    assert r.attribution_accuracy == 0.0


def test_format_report_names_figures_and_errors() -> None:
    r = evaluate(GOLD, {g.id: Prediction(g.id, "new") for g in GOLD})
    text = format_report(r)
    assert "macro-F1" in text
    assert "known-vs-new accuracy 0.400" in text
    assert "misjudged:" in text
    assert "gold=updated[001] predicted=new[-]" in text


def test_parse_gold_and_errors() -> None:
    lines = [
        '{"id": "d1", "text": "Kim toured.", "label": "repeated", "refs": ["000"]}',
        "",
        '{"id": "d2", "text": "Other.", "label": "new", "refs": []}',
    ]
    gold = parse_gold(lines)
    assert [g.id for g in gold] == ["d1", "d2"]
    assert gold[0].refs == ("000",)
    with pytest.raises(LabelledFileError, match="line 1: label"):
        parse_gold(['{"id": "x", "text": "t", "label": "maybe"}'])
    with pytest.raises(LabelledFileError, match="line 2: not JSON"):
        parse_gold(["", "{oops"])


def test_seed_prefix() -> None:
    assert seed_prefix("seed:004_a1af302a15cbe1f0.txt") == "004"
    assert seed_prefix("000_x.txt") == "000"
    assert seed_prefix("https://example.org/a") is None
    assert seed_prefix(None) is None
