"""Persistent BM25 over lexicon-folded tokens, on tantivy.

Why tantivy: rebuilding an in-memory index from the database cost minutes of CPU at a million
claims on every start; a tantivy directory opens in milliseconds (memory-mapped segments) and
keeps RSS low. The lexicon folding stays the analyzer: claims are tokenised by our normaliser
and the token string is indexed with a whitespace tokenizer, so the index knows nothing of
English or of the lexicon.

A tantivy commit costs 20-100 ms (segment write, fsync), too much per article, so claims added
since the last commit live in a small in-memory overlay scored with the same BM25 formula and
the index's statistics; the overlay is committed every 30 seconds or 5,000 claims and on
:meth:`LexicalIndex.flush`. Claims lost in a crash before their commit come back through the
engine's catch-up (everything above the highest claim id the index holds).

The directory carries ``nkwatch-index.json`` (schema version and analyzer fingerprint); a
mismatch, or a directory tantivy cannot read, is wiped and rebuilt with a warning.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import math
import shutil
import time
import weakref
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import tantivy

from bot.errors import ConfigError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
META_FILE = "nkwatch-index.json"
TOKENIZER = "nkwatch_ws"
UNKNOWN_TIME = -(2**62)  # a claim without a publication time sorts before every time
K1, B = 1.2, 0.75  # tantivy's BM25 parameters


class IndexDirError(ConfigError, RuntimeError):
    """The index directory holds something that is not an nkwatch index."""


@dataclass(frozen=True, slots=True)
class LexHit:
    claim_id: int
    score: float  # raw BM25
    published_us: int  # microseconds since the epoch, UNKNOWN_TIME when not known


@dataclass(frozen=True, slots=True)
class Doc:
    claim_id: int
    terms: Sequence[str]
    published_us: int
    check: int  # crc32 of the claim text: shows an index built from another database


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("terms", tokenizer_name=TOKENIZER, index_option="freq")
    builder.add_integer_field("claim_id", indexed=True, fast=True)
    builder.add_integer_field("published", fast=True)
    builder.add_integer_field("length", fast=True)
    builder.add_integer_field("check", fast=True)
    return builder.build()


def _flush_at_exit(ref: weakref.ref[LexicalIndex]) -> None:
    """Commit what is pending when the process ends (a crash is caught up from the database)."""
    index = ref()
    if index is not None:
        index.flush()


def _document(doc: Doc) -> tantivy.Document:
    return tantivy.Document(
        terms=" ".join(doc.terms),
        claim_id=doc.claim_id,
        published=doc.published_us,
        length=len(doc.terms),
        check=doc.check,
    )


def idf(n_docs: int, df: int) -> float:
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def bm25_term(tf: float, length: float, avgdl: float) -> float:
    return tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length / max(avgdl, 1e-9)))


@dataclass
class _Overlay:
    """Claims added since the last commit: term -> [(slot, tf)], scored in Python."""

    postings: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    docs: list[Doc] = field(default_factory=list)
    ids: set[int] = field(default_factory=set)

    def add(self, doc: Doc) -> None:
        slot = len(self.docs)
        self.docs.append(doc)
        self.ids.add(doc.claim_id)
        for term, tf in Counter(doc.terms).items():
            self.postings.setdefault(term, []).append((slot, tf))

    def df(self, term: str) -> int:
        return len(self.postings.get(term, ()))

    def clear(self) -> None:
        self.postings.clear()
        self.docs.clear()
        self.ids.clear()


class LexicalIndex:
    """BM25 over pre-tokenised claims in a tantivy directory (or in RAM when ``path`` is None)."""

    def __init__(
        self,
        path: Path | None,
        *,
        fingerprint: str,
        commit_seconds: float = 30.0,
        commit_docs: int = 5000,
    ) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.commit_seconds = commit_seconds
        self.commit_docs = commit_docs
        self.rebuilt: str | None = None  # why a stored index was discarded, if it was
        self._schema = _schema()
        self._index = self._open()
        self._writer: tantivy.IndexWriter | None = None
        self._writer_busy = False
        self._overlay = _Overlay()
        self._last_commit = time.monotonic()
        self._bulk = False
        self._bulk_max = 0
        self._deleted: set[int] = set()  # committed ids to delete at the next commit
        self._stats()
        atexit.register(_flush_at_exit, weakref.ref(self))

    # -- opening -------------------------------------------------------------------------

    def _new(self) -> tantivy.Index:
        index = (
            tantivy.Index(self._schema)
            if self.path is None
            else tantivy.Index(self._schema, path=str(self.path), reuse=False)
        )
        index.register_tokenizer(
            TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
        )
        return index

    def _open(self) -> tantivy.Index:
        if self.path is None:
            return self._new()
        with _opening_lock(self.path):
            return self._open_dir(self.path)

    def _open_dir(self, path: Path) -> tantivy.Index:
        path.mkdir(parents=True, exist_ok=True)
        meta_file = path / META_FILE
        reason = None
        if meta_file.exists():
            try:
                meta = json.loads(meta_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = {}
            if meta.get("version") != SCHEMA_VERSION:
                reason = f"was written by index version {meta.get('version')}"
            elif meta.get("fingerprint") != self.fingerprint:
                reason = "was built with another lexicon or tokenizer"
            else:
                try:
                    return self._check(path)
                except Exception as exc:  # tantivy raises ValueError/OSError for damage
                    reason = f"is unreadable ({str(exc).splitlines()[0][:200]})"
        elif any(path.iterdir()):
            msg = f"{path} is not empty and holds no nkwatch index; choose another index directory"
            raise IndexDirError(msg)
        if reason is not None:
            log.warning("claim index at %s %s; rebuilding it from the database", path, reason)
            self.rebuilt = reason
        return self._reset_dir()

    def _check(self, path: Path) -> tantivy.Index:
        index = tantivy.Index.open(str(path))
        index.register_tokenizer(
            TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
        )
        searcher = index.searcher()
        searcher.search(tantivy.Query.all_query(), 1, count=True)
        searcher.aggregate(tantivy.Query.all_query(), {"n": {"stats": {"field": "length"}}})
        return index

    def _reset_dir(self) -> tantivy.Index:
        assert self.path is not None
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        index = self._new()
        meta = {"version": SCHEMA_VERSION, "fingerprint": self.fingerprint}
        (self.path / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
        return index

    def reset(self) -> None:
        """Drop every claim (``nkwatch index rebuild``); the caller re-adds them."""
        self._close_writer()
        self._overlay.clear()
        if self.path is None:
            self._index = self._new()
        else:
            with _opening_lock(self.path):
                self._index = self._reset_dir()
        self._stats()

    def _stats(self) -> None:
        searcher = self._index.searcher()
        self._n_main = searcher.num_docs
        if self._n_main:
            agg = searcher.aggregate(
                tantivy.Query.all_query(),
                {"len": {"sum": {"field": "length"}}, "id": {"max": {"field": "claim_id"}}},
            )
            self._len_main = float(agg["len"]["value"] or 0.0)
            self._max_main = int(agg["id"]["value"] or 0)
        else:
            self._len_main, self._max_main = 0.0, 0

    # -- size and membership -------------------------------------------------------------

    def __len__(self) -> int:
        return self._n_main - len(self._deleted) + len(self._overlay.docs)

    @property
    def max_id(self) -> int:
        """The highest claim id held: catch-up starts above it."""
        return max([self._max_main, *(d.claim_id for d in self._overlay.docs[-1:])])

    def present(self, claim_ids: Sequence[int]) -> set[int]:
        """Which of these claim ids the index holds (one query)."""
        return set(self.checks_of(claim_ids))

    def checks_of(self, claim_ids: Sequence[int]) -> dict[int, int]:
        """The stored text checksums of those of these claims the index holds (one query)."""
        wanted = set(claim_ids)
        found = {d.claim_id: d.check for d in self._overlay.docs if d.claim_id in wanted}
        rest = [cid for cid in claim_ids if cid not in found and cid <= self._max_main]
        if rest:
            searcher = self._index.searcher()
            query = tantivy.Query.term_set_query(self._schema, "claim_id", rest)
            addrs = [a for _, a in searcher.search(query, len(rest), count=False).hits]
            ids = searcher.fast_field_values("claim_id", addrs)
            checks = searcher.fast_field_values("check", addrs)
            for cid, check in zip(ids, checks, strict=True):
                if cid is not None and check is not None and int(cid) not in self._deleted:
                    found[int(cid)] = int(check)
        return found

    def published_of(self, claim_ids: Sequence[int]) -> dict[int, int]:
        """Publication times (microseconds) of these claims, one query."""
        out = {d.claim_id: d.published_us for d in self._overlay.docs if d.claim_id in claim_ids}
        rest = [cid for cid in claim_ids if cid not in out]
        if rest and self._n_main:
            searcher = self._index.searcher()
            query = tantivy.Query.term_set_query(self._schema, "claim_id", rest)
            addrs = [a for _, a in searcher.search(query, len(rest), count=False).hits]
            ids = searcher.fast_field_values("claim_id", addrs)
            pubs = searcher.fast_field_values("published", addrs)
            out.update(
                {
                    int(c): int(p)
                    for c, p in zip(ids, pubs, strict=True)
                    if c is not None and p is not None
                }
            )
        return out

    def check_of(self, claim_id: int) -> int | None:
        """The stored text checksum of a claim, None when absent."""
        for doc in self._overlay.docs:
            if doc.claim_id == claim_id:
                return doc.check
        searcher = self._index.searcher()
        hits = searcher.search(
            tantivy.Query.term_query(self._schema, "claim_id", claim_id), 1, count=False
        ).hits
        if not hits:
            return None
        value = searcher.fast_field_values("check", [hits[0][1]])[0]
        return None if value is None else int(value)

    # -- writing -------------------------------------------------------------------------

    def add(self, docs: Sequence[Doc], *, replace: Sequence[int] = ()) -> None:
        """Add claims: searchable at once and committed in batches (inside :meth:`bulk`, written
        straight to the index and searchable when the bulk load ends). ``replace`` names ids
        held with another text (an id reused after a rolled-back transaction): the old entry
        goes."""
        if replace:
            gone = set(replace)
            kept = [d for d in self._overlay.docs if d.claim_id not in gone]
            self._overlay.clear()
            for doc in kept:
                self._overlay.add(doc)
            self._deleted.update(cid for cid in gone if cid <= self._max_main)
        writer = self._acquire_writer() if self._bulk else None
        if writer is not None:
            for doc in docs:
                writer.add_document(_document(doc))
                self._bulk_max = max(self._bulk_max, doc.claim_id)
            return
        for doc in docs:
            self._overlay.add(doc)
        self._maybe_commit()

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Load many claims with one commit at the end."""
        self._bulk = True
        try:
            yield
        finally:
            self._bulk = False
            if self._writer is not None:
                self._writer.commit()
                self._index.reload()
                self._stats()
            self.flush()

    def _maybe_commit(self) -> None:
        pending = len(self._overlay.docs)
        due = time.monotonic() - self._last_commit >= self.commit_seconds
        if pending >= self.commit_docs or (pending and due):
            self.flush()

    def _acquire_writer(self) -> tantivy.IndexWriter | None:
        if self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=50_000_000, num_threads=1)
                self._writer_busy = False
            except ValueError as exc:  # another process holds the directory's writer lock
                if not self._writer_busy:
                    log.warning("claim index is being written by another process: %s", exc)
                self._writer_busy = True
        return self._writer

    def flush(self) -> None:
        """Commit the overlay to the index (no-op when another process holds the writer)."""
        if not self._overlay.docs:
            return
        writer = self._acquire_writer()
        if writer is None:  # read-only here: keep the overlay, see what the writer committed
            self._index.reload()
            self._stats()
            return
        for claim_id in self._deleted:
            writer.delete_documents_by_term("claim_id", claim_id)
        for doc in self._overlay.docs:
            writer.add_document(_document(doc))
        writer.commit()
        self._index.reload()
        self._overlay.clear()
        self._deleted.clear()
        self._last_commit = time.monotonic()
        self._stats()

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None

    def close(self) -> None:
        self.flush()
        self._close_writer()

    # -- searching -----------------------------------------------------------------------

    def _stats_for(self, searcher: tantivy.Searcher, terms: Sequence[str]) -> dict[str, float]:
        n = len(self)
        return {t: idf(n, searcher.doc_freq("terms", t) + self._overlay.df(t)) for t in terms if n}

    def avgdl(self) -> float:
        n = len(self)
        total = self._len_main + sum(len(d.terms) for d in self._overlay.docs)
        return total / n if n else 1.0

    def self_score(self, terms: Sequence[str], idfs: dict[str, float]) -> float:
        """The query's BM25 against itself as a document: the ceiling of a lexical score."""
        avgdl = self.avgdl()
        return sum(
            idfs.get(t, 0.0) * bm25_term(float(tf), float(len(terms)), avgdl)
            for t, tf in Counter(terms).items()
        )

    def search_many(
        self, queries: Sequence[Sequence[str]], k: int, *, before_us: int | None = None
    ) -> list[tuple[list[LexHit], float]]:
        """Per query: the ``k`` best claims (BM25, best first) and the query's self-score."""
        searcher = self._index.searcher()
        schema = self._schema
        window = None
        if before_us is not None:
            window = tantivy.Query.const_score_query(
                tantivy.Query.range_query(
                    schema,
                    "published",
                    tantivy.FieldType.Integer,
                    None,
                    before_us,
                    include_upper=False,
                ),
                0.0,
            )
        out: list[tuple[list[LexHit], float]] = []
        for terms in queries:
            unique = list(dict.fromkeys(terms))
            idfs = self._stats_for(searcher, unique)
            hits: dict[int, LexHit] = {}
            if unique and self._n_main:
                query = tantivy.Query.boolean_query(
                    [
                        (tantivy.Occur.Should, tantivy.Query.term_query(schema, "terms", t))
                        for t in unique
                    ]
                )
                if window is not None:
                    query = tantivy.Query.boolean_query(
                        [(tantivy.Occur.Must, query), (tantivy.Occur.Must, window)]
                    )
                found = searcher.search(query, k + len(self._deleted), count=False).hits
                addrs = [a for _, a in found]
                ids = searcher.fast_field_values("claim_id", addrs)
                pubs = searcher.fast_field_values("published", addrs)
                for (score, _), cid, pub in zip(found, ids, pubs, strict=True):
                    if cid in self._deleted:
                        continue  # replaced: its new entry is in the overlay
                    if score > 0 and cid is not None and pub is not None:
                        hits[int(cid)] = LexHit(int(cid), float(score), int(pub))
            for hit in self._overlay_hits(unique, idfs, before_us):
                if hit.claim_id not in hits or hits[hit.claim_id].score < hit.score:
                    hits[hit.claim_id] = hit
            best = sorted(hits.values(), key=lambda h: (-h.score, h.claim_id))[:k]
            out.append((best, self.self_score(terms, idfs)))
        return out

    def _overlay_hits(
        self, terms: Sequence[str], idfs: dict[str, float], before_us: int | None
    ) -> list[LexHit]:
        overlay = self._overlay
        if not overlay.docs:
            return []
        avgdl = self.avgdl()
        scores: dict[int, float] = {}
        for term in terms:
            weight = idfs.get(term, 0.0)
            for slot, tf in overlay.postings.get(term, ()):
                doc = overlay.docs[slot]
                if before_us is not None and doc.published_us >= before_us:
                    continue
                gain = weight * bm25_term(float(tf), float(len(doc.terms)), avgdl)
                scores[slot] = scores.get(slot, 0.0) + gain
        docs = overlay.docs
        return [
            LexHit(docs[s].claim_id, score, docs[s].published_us)
            for s, score in scores.items()
            if score > 0
        ]


@contextmanager
def _opening_lock(path: Path) -> Iterator[None]:
    """Processes starting together on one index directory open (or create) it one at a time:
    otherwise one finds the other's half-written directory with no marker file yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f".{path.name}.lock").open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
