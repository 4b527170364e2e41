"""Pair scorer: how likely two sentences state the same fact (0..1), for the judge's top candidates.

API (the judge imports only these):

- ``PairScorer`` protocol: ``score(pairs: Sequence[tuple[str, str]]) -> NDArray[np.float32]``,
  one probability per ``(new_text, stored_text)`` pair, in input order; higher = same fact.
  An empty input gives an empty array. Scores are comparable across calls (no per-batch
  normalisation), so a fixed threshold works.
- ``load_pair_scorer(mode, *, encoder=None) -> PairScorer | None``: ``mode`` is the
  ``NKWATCH_SEMANTIC`` value. "off" gives None; "auto" gives None when the model cannot be loaded;
  "on" raises ``SemanticUnavailableError``. Pass the engine's encoder to share its model (and
  its load); otherwise one is loaded here. Loading is lazy (no heavy import at module import).
- ``PAIR_FEATURES``: the names of the features, in the order ``PairFeatures``
  returns them.

Why this model: no PyPI package ships cross-encoder or NLI weights as ONNX (see
bench/train_pairs.py for what was checked), and the brief rules out torch and model-hub
downloads. So the scorer is a logistic regression over features of the pair, built on the
sentence encoder: cosine of the MiniLM embeddings, content-word overlap both ways (stemmed),
shared and conflicting numbers, the length ratio, and shared specific content (names and
tokens with digits). Its coefficients (``data/pair_scorer.json``) are learned by
``bench/train_pairs.py`` on the judge's own candidates over the dev stream (eval/streams/dev,
dumped by bench/stream_pairs.py): in-domain pairs, where the CheckThat! 2020 tweets the first
version learned from scored below the plain cosine. ``train_pairs.py cv`` reports held-out AUC
by story.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from bot.claims.semantic import Encoder, SemanticMode, SemanticUnavailableError, load_encoder
from bot.errors import InternalError

if TYPE_CHECKING:
    from numpy.typing import NDArray

COEFS_PATH = Path(__file__).parent / "data" / "pair_scorer.json"
PAIR_FEATURES = (
    "cosine",
    "cover_stored",  # share of the stored sentence's content stems found in the new one
    "cover_new",  # share of the new sentence's content stems found in the stored one
    "shared_numbers",  # numbers both sentences carry
    "conflicting_numbers",  # 1 when both carry numbers and share none
    "length_ratio",  # shorter / longer, in content stems
    # Specific content: names (capitalised words inside the sentence) and tokens with digits
    # ("KN-23", "152mm", "2024"). Two sentences about one fact share these, not just the
    # generic words ("said", "missiles", "allies") every story of the beat carries.
    "specific_new",  # share of the new sentence's specific tokens found in the stored one
    "specific_stored",  # share of the stored sentence's specific tokens found in the new one
    "specific_missing",  # 1 when the new sentence names something specific the stored lacks
)

_WORD_RE = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
# a capitalised word not at the start of the sentence, or any token holding a digit
_SPECIFIC_RE = re.compile(r"(?<=[a-z0-9,;:’'\")] )[A-Z][\w’'-]*\w|\b[A-Za-z-]*\d[\w.,-]*\w")
# General English function words: they carry no fact, and a small fixed list keeps the learned
# coefficients independent of the engine's lexicon.
_STOP_TEXT = """a an the and or but if of to in on at by for from with about as into over after
    before than then that this these those there here it its is are was were be been being has have
    had do does did will would can could may might must shall should not no nor so such too
    very just also only he she they we you i his her their our your my me him them us who whom
    which what when where why how all any both each few more most other some own same s t
    said says say according"""
_STOP = frozenset(_STOP_TEXT.split())
_CACHE_SIZE = 4096
_Side = tuple["NDArray[np.float32]", frozenset[str], frozenset[str], frozenset[str]]


class PairScorer(Protocol):
    """(new_text, stored_text) pairs -> probability each pair states the same fact."""

    def score(self, pairs: Sequence[tuple[str, str]]) -> NDArray[np.float32]: ...


class PairScorerError(InternalError, RuntimeError):
    """The coefficient file is missing or does not fit ``PAIR_FEATURES``."""


def _stem() -> object:
    import snowballstemmer  # noqa: PLC0415

    return snowballstemmer.stemmer("english")


class PairFeatures:
    """``PAIR_FEATURES`` of text pairs; shared by the scorer and its trainer."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self._stemmer = _stem()
        self._memo: OrderedDict[str, _Side] = OrderedDict()

    def _sides(self, texts: Sequence[str]) -> dict[str, _Side]:
        """Embedding, content stems and numbers by text; stored claims recur, so keep some."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            for text, vec in zip(missing, self._encoder.encode(missing), strict=True):
                self._memo[text] = (vec, self._content(text), _numbers(text), _specific(text))
        out = {}
        for text in texts:
            self._memo.move_to_end(text)
            out[text] = self._memo[text]
        while len(self._memo) > _CACHE_SIZE:
            self._memo.popitem(last=False)
        return out

    def _content(self, text: str) -> frozenset[str]:
        words = [w for w in _WORD_RE.findall(text.lower()) if w not in _STOP]
        return frozenset(self._stemmer.stemWords(words))  # type: ignore[attr-defined]

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> NDArray[np.float64]:
        """One row of ``PAIR_FEATURES`` per pair."""
        sides = self._sides([t for pair in pairs for t in pair])
        rows = np.zeros((len(pairs), len(PAIR_FEATURES)), dtype=np.float64)
        for i, (new, stored) in enumerate(pairs):
            va, a, na, sa = sides[new]
            vb, b, nb, sb = sides[stored]
            shared = len(a & b)
            both = len(sa & sb)
            rows[i] = (
                float(va @ vb),
                shared / len(b) if b else 0.0,
                shared / len(a) if a else 0.0,
                float(min(len(na & nb), 3)),
                1.0 if na and nb and not na & nb else 0.0,
                min(len(a), len(b)) / max(len(a), len(b), 1),
                both / len(sa) if sa else 0.0,
                both / len(sb) if sb else 0.0,
                1.0 if sa - sb else 0.0,
            )
        return rows


class LogisticPairScorer:
    """``sigmoid(w · standardise(features) + b)``, coefficients from ``data/pair_scorer.json``."""

    def __init__(self, encoder: Encoder, *, coefs_path: Path | None = None) -> None:
        coefs_path = coefs_path or COEFS_PATH
        try:
            data = json.loads(coefs_path.read_text(encoding="utf-8"))
            names = tuple(data["features"])
            self._mean = np.asarray(data["mean"], dtype=np.float64)
            self._scale = np.asarray(data["scale"], dtype=np.float64)
            self._weights = np.asarray(data["weights"], dtype=np.float64)
            self._bias = float(data["bias"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            msg = f"pair scorer coefficients unreadable ({coefs_path}): {exc}"
            raise PairScorerError(msg) from exc
        if names != PAIR_FEATURES or not (
            self._mean.shape == self._scale.shape == self._weights.shape == (len(names),)
        ):
            msg = f"pair scorer coefficients in {coefs_path} do not match {PAIR_FEATURES}"
            raise PairScorerError(msg)
        self.features = PairFeatures(encoder)

    def score(self, pairs: Sequence[tuple[str, str]]) -> NDArray[np.float32]:
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        z = ((self.features(pairs) - self._mean) / self._scale) @ self._weights + self._bias
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def _specific(text: str) -> frozenset[str]:
    return frozenset(t.lower().replace(",", "") for t in _SPECIFIC_RE.findall(text))


def _numbers(text: str) -> frozenset[str]:
    return frozenset(n.replace(",", "") for n in _NUMBER_RE.findall(text))


def load_pair_scorer(mode: SemanticMode, *, encoder: Encoder | None = None) -> PairScorer | None:
    """The pair scorer the settings ask for, or None for the lexical-only judge."""
    if mode == "off":
        return None
    if encoder is None:
        encoder = load_encoder(mode)  # raises for "on" when the model is missing
        if encoder is None:
            return None
    try:
        return LogisticPairScorer(encoder)
    except PairScorerError as exc:
        if mode == "on":
            raise SemanticUnavailableError(str(exc)) from exc
        return None
