"""Dedup and storage of parsed entries: each story stored once, with every source it came from.

An entry is known when its feed already delivered its GUID, when its canonical URL or content
hash (title and body words, no dates) is stored, or when its text is a near-identical copy of a
recent story (simhash within ``NEAR_DUP_BITS`` bits, confirmed by a fuzzy ratio), which is how the
same wire story syndicated by another outlet is caught. Runs synchronously inside one
transaction per feed; all SQL is in ``storage.articles``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from rapidfuzz import fuzz
from sqlalchemy.orm import Session

from bot.feeds.parse import ParsedEntry, normalise_for_hash
from bot.feeds.relevance import Topics
from storage import articles as article_store

NEAR_DUP_BITS = 10
NEAR_DUP_RATIO = 85.0
NEAR_DUP_WINDOW = timedelta(days=45)
_VERIFY_CHARS = 4000


class NearDupIndex:
    """Recent simhashes in a numpy array: a vectorised Hamming scan is cheap at 10^5 entries."""

    def __init__(self, pairs: Iterable[tuple[int, int]] = ()) -> None:
        pairs = list(pairs)
        self._ids = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
        self._hashes = np.fromiter((p[1] for p in pairs), dtype=np.int64, count=len(pairs))
        self._size = len(pairs)

    @classmethod
    def load(cls, session: Session, *, now: datetime) -> NearDupIndex:
        return cls(article_store.recent_simhashes(session, since=now - NEAR_DUP_WINDOW))

    def __len__(self) -> int:
        return self._size

    def add(self, article_id: int, simhash: int) -> None:
        if self._size == len(self._ids):
            capacity = max(64, 2 * len(self._ids))
            self._ids = np.resize(self._ids, capacity)
            self._hashes = np.resize(self._hashes, capacity)
        self._ids[self._size] = article_id
        self._hashes[self._size] = simhash
        self._size += 1

    def near(self, simhash: int, *, max_bits: int = NEAR_DUP_BITS) -> list[int]:
        """Article ids within ``max_bits``, closest first."""
        if self._size == 0:
            return []
        distances = np.bitwise_count(self._hashes[: self._size] ^ np.int64(simhash))
        hits = np.flatnonzero(distances <= max_bits)
        order = hits[np.argsort(distances[hits], kind="stable")]
        return [int(i) for i in self._ids[order]]


@dataclass(slots=True)
class StoreResult:
    new_ids: list[int] = field(default_factory=list)
    relevant_ids: list[int] = field(default_factory=list)
    known: int = 0
    merged: int = 0  # seen before via another feed or URL: a source row was added


def unseen_entries(
    session: Session, *, feed_id: int, entries: Sequence[ParsedEntry]
) -> list[ParsedEntry]:
    """Entries this feed has not delivered before (GUID not yet recorded for the feed)."""
    known = article_store.known_guids(
        session, feed_id=feed_id, guids=[e.guid for e in entries if e.guid]
    )
    return [e for e in entries if not e.guid or e.guid not in known]


def _near_duplicate(session: Session, entry: ParsedEntry, index: NearDupIndex | None) -> int | None:
    if index is None or entry.simhash is None:
        return None
    mine = normalise_for_hash(entry.text)[:_VERIFY_CHARS]
    for article_id in index.near(entry.simhash)[:5]:
        candidate = article_store.get_article(session, article_id=article_id)
        if candidate is None or not candidate.text:
            continue
        theirs = normalise_for_hash(candidate.text)[:_VERIFY_CHARS]
        if fuzz.ratio(mine, theirs) >= NEAR_DUP_RATIO:
            return candidate.id
    return None


def store_entries(
    session: Session,
    *,
    feed_id: int,
    outlet: str,
    entries: Sequence[ParsedEntry],
    topics: Topics,
    threshold: float,
    now: datetime,
    index: NearDupIndex | None = None,
) -> StoreResult:
    """Store a feed's entries in the caller's transaction (an item's own ``<source>`` names its
    outlet, else the feed's name does). Lookups are batched per feed. If a
    concurrent writer stores the same story first, the unique constraints raise
    ``IntegrityError``; the caller rolls back and calls again, and the story is then found."""
    result = StoreResult()
    fresh = unseen_entries(session, feed_id=feed_id, entries=entries)
    result.known = len(entries) - len(fresh)
    if not fresh:
        return result
    by_url = article_store.article_ids_by_urls(session, urls=[e.url for e in fresh if e.url])
    by_hash = article_store.article_ids_by_content_hashes(
        session, hashes=[e.content_hash for e in fresh]
    )
    for entry in fresh:
        existing = (by_url.get(entry.url) if entry.url else None) or by_hash.get(entry.content_hash)
        if existing is None:
            existing = _near_duplicate(session, entry, index)
        if existing is not None:
            _add_source(session, existing, feed_id, entry, outlet)
            result.merged += 1
            continue
        relevance = topics.score(entry.title, entry.text)
        article = article_store.add_article(
            session,
            origin="feed",
            title=entry.title or "(untitled)",
            content_hash=entry.content_hash,
            text=entry.text or None,
            url=entry.url,
            outlet=entry.source or outlet,
            author=entry.author,
            published_at=entry.published or now,
            published_inferred=entry.published is None,
            summary=entry.summary or None,
            relevance=relevance,
            relevant=relevance >= threshold,
            simhash=entry.simhash,
            fetched_at=now,
        )
        article_store.add_source(
            session,
            article_id=article.id,
            feed_id=feed_id,
            guid=entry.guid,
            url=entry.url,
            outlet=outlet,
        )
        if entry.url:
            by_url[entry.url] = article.id
        by_hash[entry.content_hash] = article.id
        result.new_ids.append(article.id)
        if article.relevant:
            result.relevant_ids.append(article.id)
        if index is not None and entry.simhash is not None:
            index.add(article.id, entry.simhash)
    return result


def _add_source(
    session: Session,
    article_id: int,
    feed_id: int,
    entry: ParsedEntry,
    outlet: str,
) -> None:
    """One source row per (article, feed): a feed that re-mints GUIDs does not grow the table."""
    if article_store.has_source(session, article_id=article_id, feed_id=feed_id, url=entry.url):
        return
    article_store.add_source(
        session,
        article_id=article_id,
        feed_id=feed_id,
        guid=entry.guid,
        url=entry.url,
        outlet=outlet,
    )
