"""The in-memory BM25 the project used before tantivy: kept only as a peer in bench/."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray


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
