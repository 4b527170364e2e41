"""Candidate retrieval over every stored claim: persistent BM25 (tantivy), optionally fused with
embeddings (faiss).

Both stores live on disk next to the database (``Settings.index_dir``) and open in milliseconds;
every process keeps them current as it stores claims and catches up on claims other processes
stored (everything above :attr:`ClaimIndex.max_id`).

Scores handed on:
- ``lexical`` is BM25 divided by the query's BM25 score against itself, so it reads as "how much
  of the query's weighted vocabulary the claim carries" (0..1) rather than an unbounded number;
- ``semantic`` is the cosine similarity of sentence embeddings when the model is on;
- ``fused`` = ``semantic_weight * semantic + (1 - semantic_weight) * lexical`` — normalised score
  fusion, which keeps how confident each signal is. On our general-English paraphrase probe
  (tests/claims/fixtures, 40 tweet-style queries against 121 claims) MAP@5 was: BM25 0.83,
  reciprocal-rank fusion 0.94, this fusion 0.96 at weight 0.7 and 0.99 at 0.8, MiniLM alone 1.0
  (the probe is easier for MiniLM than real tweets; 0.7 keeps lexical evidence in play).
  A claim found only by the embedding search (not in the lexical pool) gets lexical 0.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import snowballstemmer

from bot.claims.lexical import UNKNOWN_TIME, Doc, LexHit, LexicalIndex

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from bot.claims.lexicon import Lexicon
    from bot.claims.semantic import Encoder
    from bot.claims.vectors import VectorIndex

Tokenizer = Callable[[str], list[str]]

# Function words that carry no retrieval signal; kept short so negations and numbers survive.
_STOPWORD_TEXT = """
    a an and are as at be been being but by can could did do does for from had has have he her
    him his i if in into is it its itself me my of on or our ours she so than that the their them
    then there these they this those to too was we were what when where which while who whom why
    will with would you your yours also just about over via amp rt"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_URL = re.compile(r"(?:https?://|www\.|pic\.twitter\.com/)\S+", re.IGNORECASE)
_TAG = re.compile(r"[#@]([A-Za-z0-9_]+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])|_")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


def clean_text(text: str) -> str:
    """Strip what social-media text adds around a claim: links, and #/@ run-together words."""
    text = _URL.sub(" ", text)
    return _TAG.sub(lambda m: " " + _CAMEL.sub(" ", m.group(1)) + " ", text)


def simple_tokens(text: str) -> list[str]:
    """Lower-cased word and number tokens; the fallback when no lexicon tokenizer is given."""
    return [m.group(0).lower().replace("’", "'") for m in _WORD.finditer(text)]


class Analyzer:
    """Text -> index terms: clean, tokenize (lexicon-aware when given), drop stopwords, stem.

    With ``stem=False`` the tokenizer's output is taken as already stemmed.

    The stem cache makes Snowball's pure-Python stemmer cost one dict lookup per known word.
    """

    def __init__(self, tokenizer: Tokenizer | None = None, *, stem: bool = True) -> None:
        self._tokenizer = tokenizer or simple_tokens
        self._stem = stem
        self._stemmer = snowballstemmer.stemmer("english")
        self._stems: dict[str, str] = {}

    def __call__(self, text: str) -> list[str]:
        terms: list[str] = []
        stems = self._stems
        for raw in self._tokenizer(clean_text(text)):
            token = raw.lower()
            if token in STOPWORDS or not token:
                continue
            if not self._stem:  # the tokenizer already stems (normalize_tokens does)
                terms.append(token)
                continue
            stem = stems.get(token)
            if stem is None:
                stem = self._stemmer.stemWord(token) if token.isalpha() else token
                if len(stems) < 500_000:
                    stems[token] = stem
            terms.append(stem)
        return terms


# Sentences whose analysis is part of the index fingerprint: a tokenizer change that alters how
# they are analysed makes a stored index stale (it is rebuilt, not silently mismatched).
FINGERPRINT_SAMPLES = (
    "North Korea shipped 5,000 containers of artillery shells and KN-23 missiles to Russia.",
    "Kim Jong Un inspected the Hwasong-18 ICBM launch with Defense Minister Sergei Shoigu.",
    "The munitions factory in Pyongyang doubled production in October 2023, officials said.",
)


def fingerprint(analyzer: Analyzer, *extra: str) -> str:
    """What the stored tokens depend on: the analysis of sample sentences plus ``extra``."""
    digest = hashlib.sha256()
    for text in FINGERPRINT_SAMPLES:
        digest.update(" ".join(analyzer(text)).encode())
        digest.update(b"\n")
    for part in extra:
        digest.update(part.encode())
    return digest.hexdigest()[:32]


def lexicon_fingerprint(lexicon: Lexicon) -> str:
    """A digest of everything in the lexicon that decides tokens."""
    parts = (
        sorted(lexicon.phrases.items()),
        sorted(lexicon.units.items()),
        sorted(lexicon.numbers.items()),
        sorted(lexicon.multipliers.items()),
        sorted(lexicon.spelling.items()),
        sorted(lexicon.entity_tokens.items()),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def text_check(text: str) -> int:
    """Checksum of a claim text, stored with it: an index built from another database shows."""
    return zlib.crc32(text.encode("utf-8"))


def to_micros(when: datetime | None) -> int:
    if when is None:
        return UNKNOWN_TIME
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1_000_000)


def from_micros(value: int) -> datetime | None:
    if value == UNKNOWN_TIME:
        return None
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved claim with its signals; ``fused`` orders hits."""

    claim_id: int
    lexical: float
    semantic: float | None
    fused: float
    published: datetime | None = None  # as indexed: the claim's publication time


class ClaimIndex:
    """Hybrid retrieval: BM25 top-N and (when an encoder is given) embedding top-N, fused.

    ``path`` None keeps both stores in memory (tests, throw-away engines).
    """

    def __init__(
        self,
        analyzer: Analyzer,
        *,
        encoder: Encoder | None = None,
        vectors: VectorIndex | None = None,
        semantic_weight: float = 0.7,
        pool: int = 50,
        path: Path | None = None,
        fingerprint_extra: str = "",
    ) -> None:
        self.analyzer = analyzer
        self.encoder = encoder
        self.path = path
        self.lexical = LexicalIndex(path, fingerprint=fingerprint(analyzer, fingerprint_extra))
        self.vectors = vectors
        if encoder is not None and vectors is None:
            from bot.claims.vectors import VectorIndex  # noqa: PLC0415 - optional extra

            self.vectors = VectorIndex(encoder.dim, path=path)
        if self.vectors is not None and self.lexical.rebuilt is not None:
            self.vectors.reset()  # rebuilt together: one catch-up fills both
        self.semantic_weight = semantic_weight
        self.pool = pool

    def __len__(self) -> int:
        return len(self.lexical)

    def __contains__(self, claim_id: object) -> bool:
        return isinstance(claim_id, int) and bool(self.lexical.present([claim_id]))

    @property
    def semantic(self) -> bool:
        return self.encoder is not None and self.vectors is not None

    @property
    def max_id(self) -> int:
        """Every claim up to this id is indexed (by both stores); catch-up starts above it."""
        if self.semantic:
            assert self.vectors is not None
            return min(self.lexical.max_id, self.vectors.max_id)
        return self.lexical.max_id

    def check_of(self, claim_id: int) -> int | None:
        return self.lexical.check_of(claim_id)

    def reset(self) -> None:
        """Empty both stores (a rebuild follows)."""
        self.lexical.reset()
        if self.vectors is not None:
            self.vectors.reset()

    def flush(self) -> None:
        """Persist what is pending (tantivy commit, faiss snapshot)."""
        self.lexical.flush()
        if self.vectors is not None:
            self.vectors.flush()

    def close(self) -> None:
        self.lexical.close()
        if self.vectors is not None:
            self.vectors.flush()

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Defer index maintenance while loading many claims, then build once."""
        if self.vectors is not None:
            self.vectors.deferred = True
        try:
            with self.lexical.bulk():
                yield
        finally:
            if self.vectors is not None:
                self.vectors.deferred = False
                self.vectors.maintain()
                self.vectors.flush()

    def add_many(
        self,
        claim_ids: Sequence[int],
        texts: Sequence[str],
        *,
        embeddings: NDArray[np.float32] | None = None,
        published: Sequence[datetime | None] | None = None,
    ) -> None:
        """Index claims (ids already held with the same text are skipped, with another text
        replaced); with the encoder on, ``embeddings`` (rows L2-normalised) are used when given
        and computed otherwise."""
        if not claim_ids:
            return
        if self.semantic:
            assert self.vectors is not None
            if embeddings is None:
                assert self.encoder is not None
                embeddings = self.encoder.encode(list(texts))
            self.vectors.add(np.asarray(claim_ids, dtype=np.int64), embeddings)
        top = self.lexical.max_id
        maybe_held = [cid for cid in claim_ids if cid <= top]
        held = self.lexical.checks_of(maybe_held) if maybe_held else {}
        whens = published if published is not None else [None] * len(claim_ids)
        checks = [text_check(text) for text in texts]
        docs = [
            Doc(cid, self.analyzer(text), to_micros(when), check)
            for cid, text, when, check in zip(claim_ids, texts, whens, checks, strict=True)
            if held.get(cid) != check
        ]
        self.lexical.add(docs, replace=[d.claim_id for d in docs if d.claim_id in held])

    def add(
        self, claim_id: int, text: str, *, embedding: NDArray[np.float32] | None = None
    ) -> None:
        vecs = None if embedding is None else embedding.reshape(1, -1)
        self.add_many([claim_id], [text], embeddings=vecs)

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32] | None:
        if self.encoder is None:
            return None
        return self.encoder.encode([clean_text(t) for t in texts])

    def search(
        self,
        text: str,
        k: int = 10,
        *,
        query_vec: NDArray[np.float32] | None = None,
        before: datetime | None = None,
    ) -> list[Hit]:
        """The ``k`` best claims by fused score, best first; with ``before``, only claims
        published strictly before it (claims of unknown publication time always qualify)."""
        vecs = None if query_vec is None else np.asarray(query_vec).reshape(1, -1)
        return self.search_many([text], k, query_vecs=vecs, before=before)[0]

    def search_many(
        self,
        texts: Sequence[str],
        k: int = 10,
        *,
        query_vecs: NDArray[np.float32] | None = None,
        before: datetime | None = None,
    ) -> list[list[Hit]]:
        """:meth:`search` for many queries at once: one searcher, one batched vector search."""
        if not texts:
            return []
        pool = max(self.pool, k) if self.semantic else k  # the pool only matters for fusion
        before_us = None if before is None else to_micros(before)
        terms = [self.analyzer(t) for t in texts]
        lexical = self.lexical.search_many(terms, pool, before_us=before_us)
        if not self.semantic:
            return [_fuse(hits, ceiling, None, weight=0.0, k=k) for hits, ceiling in lexical]
        assert self.vectors is not None
        if query_vecs is None:
            query_vecs = self.encode(texts)
            assert query_vecs is not None
        extra = pool if before_us is None else 2 * pool  # some fall outside the time window
        sem_ids, _ = self.vectors.search_many(query_vecs, extra)
        out: list[list[Hit]] = []
        for row, (hits, ceiling) in enumerate(lexical):
            lex_ids = {h.claim_id for h in hits}
            more = [int(i) for i in sem_ids[row] if i >= 0 and int(i) not in lex_ids]
            times = self.lexical.published_of(more)
            more = [
                cid for cid in more if before_us is None or times.get(cid, UNKNOWN_TIME) < before_us
            ][:pool]
            ids = np.asarray([h.claim_id for h in hits] + more, dtype=np.int64)
            sims = self.vectors.similarities(query_vecs[row], ids)
            extended = hits + [LexHit(cid, 0.0, times.get(cid, UNKNOWN_TIME)) for cid in more]
            out.append(_fuse(extended, ceiling, sims, weight=self.semantic_weight, k=k))
        return out


def _fuse(
    hits: Sequence[LexHit],
    ceiling: float,
    sims: NDArray[np.float32] | None,
    *,
    weight: float,
    k: int,
) -> list[Hit]:
    """Normalise BM25 by the query's ceiling, fuse with the cosines, keep the ``k`` best."""
    scale = ceiling or 1.0
    rows: list[Hit] = []
    for i, hit in enumerate(hits):
        lex = min(hit.score / scale, 1.0)
        sem = None if sims is None else float(sims[i])
        fused = lex if sem is None else weight * sem + (1.0 - weight) * lex
        rows.append(Hit(hit.claim_id, lex, sem, fused, from_micros(hit.published_us)))
    rows.sort(key=lambda h: -h.fused)  # stable: ties keep BM25 order
    return rows[:k]
