"""Candidate retrieval over every stored claim: in-memory BM25, optionally fused with embeddings.

Why in memory: `/claim` must answer in tens of milliseconds at a million stored claims, on SQLite
as on PostgreSQL. The BM25 postings live in flat numpy arrays (term-major, CSR-like) built once
from storage at start; claims added later go to a small delta segment that is merged into the
main arrays when it grows past a fraction of them, so inserts stay cheap and queries stay fast.

Scores handed on:
- ``lexical`` is BM25 divided by the query's BM25 score against itself, so it reads as "how much
  of the query's weighted vocabulary the claim carries" (0..1) rather than an unbounded number;
- ``semantic`` is the cosine similarity of sentence embeddings when the model is on;
- ``fused`` = ``semantic_weight * semantic + (1 - semantic_weight) * lexical`` — normalised score
  fusion, which keeps how confident each signal is. On our general-English paraphrase probe
  (tests/claims/fixtures, 40 tweet-style queries against 121 claims) MAP@5 was: BM25 0.83,
  reciprocal-rank fusion 0.94, this fusion 0.96 at weight 0.7 and 0.99 at 0.8, MiniLM alone 1.0
  (the probe is easier for MiniLM than real tweets; 0.7 keeps lexical evidence in play).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import snowballstemmer

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from bot.claims.semantic import Encoder, VectorIndex

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


class BM25Index:
    """Okapi BM25 with flat numpy postings plus an incremental delta segment.

    Columns are dense 0..n-1 in insertion order; the caller maps them to claim ids.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.vocab: dict[str, int] = {}
        self._df: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._lengths: NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self._n = 0
        self._total_len = 0.0
        # main segment (term-major): postings of term t are [indptr[t], indptr[t+1])
        self._indptr: NDArray[np.int64] = np.zeros(1, dtype=np.int64)
        self._cols: NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._tfs: NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self._weights: NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self._main_n = 0
        self._avgdl_main = 1.0
        # delta segment: term -> (cols, tfs) of documents added since the last merge
        self._delta: dict[int, tuple[list[int], list[int]]] = {}
        self._delta_entries = 0
        # while bulk loading, merge rarely (geometrically) instead of every 5% of growth
        self.bulk = False

    def __len__(self) -> int:
        return self._n

    @property
    def avgdl(self) -> float:
        return self._total_len / self._n if self._n else 1.0

    def add(self, terms: Sequence[str]) -> int:
        """Index one document; returns its column."""
        return self.add_many([terms])[0]

    def add_many(self, docs: Iterable[Sequence[str]]) -> list[int]:
        cols: list[int] = []
        vocab = self.vocab
        df_add: Counter[int] = Counter()
        lengths: list[float] = []
        for terms in docs:
            col = self._n + len(cols)
            counts = Counter(terms)
            for term, tf in counts.items():
                tid = vocab.get(term)
                if tid is None:
                    tid = len(vocab)
                    vocab[term] = tid
                slot = self._delta.get(tid)
                if slot is None:
                    slot = ([], [])
                    self._delta[tid] = slot
                slot[0].append(col)
                slot[1].append(tf)
                df_add[tid] += 1
            self._delta_entries += len(counts)
            lengths.append(float(len(terms)))
            cols.append(col)
        if len(vocab) > self._df.shape[0]:
            grown = np.zeros(max(len(vocab), 2 * self._df.shape[0]), dtype=np.int64)
            grown[: self._df.shape[0]] = self._df
            self._df = grown
        if df_add:
            tids = np.fromiter(df_add.keys(), dtype=np.int64, count=len(df_add))
            self._df[tids] += np.fromiter(df_add.values(), dtype=np.int64, count=len(df_add))
        self._lengths = _append(self._lengths, self._n, np.asarray(lengths, dtype=np.float32))
        self._n += len(cols)
        self._total_len += float(sum(lengths))
        main = self._cols.shape[0]
        limit = max(2_000_000, main // 2) if self.bulk else max(20_000, main // 20)
        if self._delta_entries > limit:
            self.merge()
        return cols

    def merge(self) -> None:
        """Fold the delta into the main arrays and refresh the length normalisation."""
        if not self._delta and self._main_n == self._n:
            return
        n_terms = len(self.vocab)
        main_terms = np.repeat(
            np.arange(self._indptr.shape[0] - 1, dtype=np.int64), np.diff(self._indptr)
        )
        parts_t = [main_terms]
        parts_c = [self._cols.astype(np.int64)]
        parts_f = [self._tfs]
        for tid, (cols, tfs) in self._delta.items():
            parts_t.append(np.full(len(cols), tid, dtype=np.int64))
            parts_c.append(np.asarray(cols, dtype=np.int64))
            parts_f.append(np.asarray(tfs, dtype=np.float32))
        terms = np.concatenate(parts_t)
        cols_all = np.concatenate(parts_c)
        tfs_all = np.concatenate(parts_f)
        order = np.lexsort((cols_all, terms))
        terms = terms[order]
        self._cols = cols_all[order].astype(np.int32)
        self._tfs = tfs_all[order]
        self._indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=n_terms), out=self._indptr[1:])
        self._avgdl_main = self.avgdl
        self._weights = self._saturate(self._tfs, self._lengths[self._cols], self._avgdl_main)
        self._main_n = self._n
        self._delta = {}
        self._delta_entries = 0

    def _saturate(
        self, tfs: NDArray[np.float32], lengths: NDArray[np.float32], avgdl: float
    ) -> NDArray[np.float32]:
        k1, b = self.k1, self.b
        norm = k1 * (1.0 - b + b * lengths / max(avgdl, 1e-9))
        return (tfs * (k1 + 1.0) / (tfs + norm)).astype(np.float32)

    def _idf(self, tid: int) -> float:
        df = float(self._df[tid])
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def query_terms(self, terms: Sequence[str]) -> list[tuple[int, float]]:
        """Known query terms with their idf (a term repeated in the query counts once)."""
        out: list[tuple[int, float]] = []
        for term in dict.fromkeys(terms):
            tid = self.vocab.get(term)
            if tid is not None and self._df[tid] > 0:
                out.append((tid, self._idf(tid)))
        return out

    def scores(self, terms: Sequence[str]) -> NDArray[np.float32]:
        """BM25 of every column against the query (zeros where no term matches)."""
        acc = np.zeros(self._n, dtype=np.float32)
        main_terms = self._indptr.shape[0] - 1
        for tid, idf in self.query_terms(terms):
            if tid < main_terms:
                lo, hi = int(self._indptr[tid]), int(self._indptr[tid + 1])
                if hi > lo:  # np.add.at is ~2.5x faster than fancy-index += on numpy 2
                    np.add.at(acc, self._cols[lo:hi], np.float32(idf) * self._weights[lo:hi])
            slot = self._delta.get(tid)
            if slot:
                cols = np.asarray(slot[0], dtype=np.int64)
                tfs = np.asarray(slot[1], dtype=np.float32)
                weights = self._saturate(tfs, self._lengths[cols], self._avgdl_main)
                np.add.at(acc, cols, np.float32(idf) * weights)
        return acc

    def self_score(self, terms: Sequence[str]) -> float:
        """The query's BM25 against itself as a document: the ceiling for ``lexical``."""
        counts = Counter(terms)
        norm = self.k1 * (1.0 - self.b + self.b * len(terms) / max(self._avgdl_main, 1e-9))
        total = 0.0
        for term, count in counts.items():
            tid = self.vocab.get(term)
            if tid is None or self._df[tid] <= 0:
                continue
            tf = float(count)
            total += self._idf(tid) * tf * (self.k1 + 1.0) / (tf + norm)
        return total


def _append(buf: NDArray[Any], used: int, values: NDArray[Any]) -> NDArray[Any]:
    """Write ``values`` after the first ``used`` slots, doubling capacity when full."""
    need = used + values.shape[0]
    if need > buf.shape[0]:
        grown = np.zeros(max(need, 2 * buf.shape[0], 1024), dtype=buf.dtype)
        grown[:used] = buf[:used]
        buf = grown
    buf[used:need] = values
    return buf


def top_k(values: NDArray[np.float32], k: int) -> NDArray[np.int64]:
    """Indices of the k largest positive values, largest first."""
    if values.shape[0] == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    n = values.shape[0]
    idx = np.argpartition(values, -k)[-k:] if k < n else np.arange(n)
    idx = idx[values[idx] > 0]
    return idx[np.argsort(-values[idx], kind="stable")].astype(np.int64)


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved claim with its signals; ``fused`` orders hits."""

    claim_id: int
    lexical: float
    semantic: float | None
    fused: float


class ClaimIndex:
    """Hybrid retrieval: BM25 top-N and (when an encoder is given) embedding top-N, fused.

    Both indexes share column numbering, so every claim gets both scores before fusion.
    """

    def __init__(
        self,
        analyzer: Analyzer,
        *,
        encoder: Encoder | None = None,
        vectors: VectorIndex | None = None,
        semantic_weight: float = 0.7,
        pool: int = 50,
    ) -> None:
        self.analyzer = analyzer
        self.encoder = encoder
        self.vectors = vectors
        if encoder is not None and vectors is None:
            from bot.claims.semantic import VectorIndex  # noqa: PLC0415 - optional extra

            self.vectors = VectorIndex(encoder.dim)
        self.semantic_weight = semantic_weight
        self.pool = pool
        self.bm25 = BM25Index()
        self._ids: list[int] = []
        self._ids_arr: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._known: set[int] = set()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, claim_id: object) -> bool:
        return claim_id in self._known

    @property
    def semantic(self) -> bool:
        return self.encoder is not None and self.vectors is not None

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Defer index maintenance while loading many claims, then build once."""
        self.bm25.bulk = True
        if self.vectors is not None:
            self.vectors.deferred = True
        try:
            yield
        finally:
            self.bm25.bulk = False
            self.bm25.merge()
            if self.vectors is not None:
                self.vectors.deferred = False
                self.vectors.maintain(force=True)

    def add_many(
        self,
        claim_ids: Sequence[int],
        texts: Sequence[str],
        *,
        embeddings: NDArray[np.float32] | None = None,
    ) -> None:
        """Index claims; with the encoder on, ``embeddings`` (rows L2-normalised) must be given."""
        fresh = [i for i, cid in enumerate(claim_ids) if cid not in self._known]
        if not fresh:
            return
        if len(fresh) != len(claim_ids):
            claim_ids = [claim_ids[i] for i in fresh]
            texts = [texts[i] for i in fresh]
            if embeddings is not None:
                embeddings = embeddings[fresh]
        if self.semantic:
            assert self.vectors is not None
            if embeddings is None:
                assert self.encoder is not None
                embeddings = self.encoder.encode(list(texts))
            self.vectors.add(embeddings)
        self.bm25.add_many(self.analyzer(text) for text in texts)
        self._ids.extend(claim_ids)
        self._known.update(claim_ids)
        self._ids_arr = _append(
            self._ids_arr, len(self._ids) - len(claim_ids), np.asarray(claim_ids, dtype=np.int64)
        )

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
        self, text: str, k: int = 10, *, query_vec: NDArray[np.float32] | None = None
    ) -> list[Hit]:
        """The ``k`` best claims by fused score, best first."""
        if not self._ids:
            return []
        terms = self.analyzer(text)
        bm25 = self.bm25.scores(terms)
        ceiling = np.float32(self.bm25.self_score(terms) or 1.0)
        pool = max(self.pool, k)
        cols = top_k(bm25, pool)
        sims: NDArray[np.float32] | None = None
        if self.semantic:
            assert self.vectors is not None
            if query_vec is None:
                encoded = self.encode([text])
                assert encoded is not None
                query_vec = encoded[0]
            sem_cols, _ = self.vectors.search(query_vec, pool)
            cols = np.unique(np.concatenate([cols, sem_cols]))
            sims = self.vectors.similarities(query_vec, cols)
        if cols.shape[0] == 0:
            return []
        lex = np.minimum(bm25[cols] / ceiling, np.float32(1.0))
        if sims is not None:
            w = np.float32(self.semantic_weight)
            fused = w * sims + (np.float32(1.0) - w) * lex
        else:
            fused = lex
        order = np.argsort(-fused, kind="stable")[:k]
        return [
            Hit(
                claim_id=int(self._ids_arr[cols[i]]),
                lexical=float(lex[i]),
                semantic=None if sims is None else float(sims[i]),
                fused=float(fused[i]),
            )
            for i in order
        ]
