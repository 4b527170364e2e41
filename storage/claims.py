"""Claims: the knowledge base the claim engine judges against, with verdicts and provenance."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from storage.models import Article, Claim, ClaimCorrection, Event

_CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True, slots=True)
class ClaimProvenance:
    """A stored claim with where it was first published, ready to become a ``Candidate``."""

    claim_id: int
    text: str
    attrs: dict[str, Any]
    article_id: int | None
    article_title: str | None
    source: str | None
    published: datetime | None
    url: str | None
    event_id: int | None
    root_claim_id: int | None
    verdict: str


@dataclass(frozen=True, slots=True)
class IndexRow:
    """What the retrieval index needs of a claim when it loads."""

    claim_id: int
    text: str
    embedding: bytes | None
    published: datetime | None = None  # the article's publication time, else first seen


@dataclass(frozen=True, slots=True)
class ExternalClaim:
    """One validated line of a ``kb import`` file."""

    external_id: str
    text: str
    source: str | None
    published: datetime | None
    attrs: dict[str, Any]


def article_url(article: Article) -> str | None:
    """An article's address; a seed stored without one is cited as ``seed:<seed file name>``."""
    if article.url is None and article.origin != "feed":
        return f"seed:{article.origin}"
    return article.url


def add_claim(
    session: Session,
    *,
    text: str,
    attrs: dict[str, Any],
    article_id: int | None = None,
    position: int = 0,
    verdict: str = "new",
    score: float | None = None,
    changes: Sequence[dict[str, Any]] = (),
    matched_claim_id: int | None = None,
    root_claim_id: int | None = None,
    event_id: int | None = None,
    external_id: str | None = None,
    source: str | None = None,
    first_seen_at: datetime | None = None,
    embedding: bytes | None = None,
    event: Event | None = None,
    flush: bool = True,
) -> Claim:
    """``event`` may be one not flushed yet; ``flush=False`` batches the insert with the
    caller's next flush (the id is unassigned until then)."""
    claim = Claim(
        text=text,
        attrs=attrs,
        article_id=article_id,
        position=position,
        verdict=verdict,
        score=score,
        changes=list(changes),
        matched_claim_id=matched_claim_id,
        root_claim_id=root_claim_id,
        event_id=event_id,
        external_id=external_id,
        source=source,
        first_seen_at=first_seen_at,
        embedding=embedding,
    )
    if event is not None:
        claim.event = event
    session.add(claim)
    if flush:
        session.flush()
    return claim


def list_article_claims(session: Session, *, article_id: int) -> Sequence[Claim]:
    return session.scalars(
        select(Claim).where(Claim.article_id == article_id).order_by(Claim.position, Claim.id)
    ).all()


def verdict_counts_by_article(
    session: Session, *, article_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Each article's claims counted by verdict, in one query for all of them (chat lists show
    these counts per story); an article without claims is absent."""
    found: dict[int, dict[str, int]] = {}
    unique = list(dict.fromkeys(article_ids))
    for start in range(0, len(unique), _CHUNK):
        query = (
            select(Claim.article_id, Claim.verdict, func.count())
            .where(Claim.article_id.in_(unique[start : start + _CHUNK]))
            .group_by(Claim.article_id, Claim.verdict)
        )
        for article_id, verdict, count in session.execute(query).all():
            if article_id is not None:  # never None under IN (...); narrows the column's type
                found.setdefault(article_id, {})[str(verdict)] = int(count)
    return found


def claim_provenance(session: Session, *, claim_ids: Sequence[int]) -> dict[int, ClaimProvenance]:
    """Claims by id joined to their article; ids that no longer exist are simply absent."""
    found: dict[int, ClaimProvenance] = {}
    unique = list(dict.fromkeys(claim_ids))
    # Plain columns, not ORM objects: this runs for every judged claim, and building identity-
    # mapped instances for twenty candidates cost more than the query itself.
    # attrs come back as their JSON text, parsed once per chunk (one json.loads of a joined
    # array) rather than by the column type row by row.
    columns = select(
        Claim.id,
        Claim.text,
        cast(Claim.attrs, Text),
        Claim.source,
        Claim.first_seen_at,
        Claim.event_id,
        Claim.root_claim_id,
        Claim.verdict,
        Article.id,
        Article.title,
        Article.outlet,
        Article.published_at,
        Article.url,
        Article.origin,
    ).outerjoin(Article, Claim.article_id == Article.id)
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        rows = session.execute(columns.where(Claim.id.in_(chunk))).all()
        parsed = json.loads("[" + ",".join(row[2] or "{}" for row in rows) + "]")
        for row, attrs in zip(rows, parsed, strict=True):
            (cid, text, _, source, first_seen, event_id, root_id, verdict) = tuple(row)[:8]
            article_id, title, outlet, published, url, origin = tuple(row)[8:]
            if article_id is not None and url is None and origin != "feed":
                url = f"seed:{origin}"  # as article_url(): seeds are cited by file name
            found[cid] = ClaimProvenance(
                claim_id=cid,
                text=text,
                attrs=attrs if isinstance(attrs, dict) else {},
                article_id=article_id,
                article_title=title,
                source=(outlet or source) if article_id is not None else source,
                published=(published or first_seen) if article_id is not None else first_seen,
                url=url,
                event_id=event_id,
                root_claim_id=root_id,
                verdict=verdict,
            )
    return found


def fact_source_count(session: Session, *, root_claim_id: int) -> int:
    """How many distinct outlets carry the fact first seen as the root: two stories of one
    outlet count once; an article without an outlet counts alone, an import by its source."""
    rows = session.execute(
        select(Claim.article_id, Article.outlet, Claim.source)
        .outerjoin(Article, Claim.article_id == Article.id)
        .where((Claim.id == root_claim_id) | (Claim.root_claim_id == root_claim_id))
    ).all()
    keys = {
        (f"o{outlet.casefold()}" if outlet else f"a{article_id}")
        if article_id is not None
        else f"s{(source or '').casefold()}"
        for article_id, outlet, source in rows
    }
    return len(keys)


def iter_index_rows(
    session: Session, *, after_id: int = 0, batch: int = 5000
) -> Iterator[IndexRow]:
    """Every claim in id order, paged by key so a million rows never sit in one result."""
    last = after_id
    published = func.coalesce(Article.published_at, Claim.first_seen_at)
    while True:
        rows = session.execute(
            select(Claim.id, Claim.text, Claim.embedding, published)
            .outerjoin(Article, Claim.article_id == Article.id)
            .where(Claim.id > last)
            .order_by(Claim.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        for claim_id, text, embedding, when in rows:
            yield IndexRow(claim_id=claim_id, text=text, embedding=embedding, published=when)
        last = rows[-1][0]


def count_claims_after(session: Session, *, after_id: int) -> int:
    """How many claims have an id above ``after_id`` (the size of an index catch-up)."""
    query = select(func.count()).select_from(Claim).where(Claim.id > after_id)
    return int(session.scalar(query) or 0)


def claim_text(session: Session, *, claim_id: int) -> str | None:
    return session.scalar(select(Claim.text).where(Claim.id == claim_id))


def set_embeddings(session: Session, *, embeddings: Mapping[int, bytes]) -> None:
    """Cache embeddings computed for claims stored without one (or by another model)."""
    if embeddings:
        session.execute(
            update(Claim),
            [{"id": claim_id, "embedding": blob} for claim_id, blob in embeddings.items()],
        )


def existing_external_ids(session: Session, *, external_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    unique = list(dict.fromkeys(external_ids))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        found.update(
            str(value)
            for value in session.scalars(
                select(Claim.external_id).where(Claim.external_id.in_(chunk))
            )
        )
    return found


def import_external_claims(
    session: Session, *, rows: Sequence[ExternalClaim]
) -> tuple[list[Claim], int]:
    """Add claims that have no article; an ``external_id`` already stored is skipped.

    Returns the added claims and how many rows were skipped as already present (or repeated
    within ``rows``), so importing the same file twice adds nothing.
    """
    existing = existing_external_ids(session, external_ids=[row.external_id for row in rows])
    added: list[Claim] = []
    skipped = 0
    for row in rows:
        if row.external_id in existing:
            skipped += 1
            continue
        existing.add(row.external_id)
        claim = Claim(
            text=row.text,
            attrs=row.attrs,
            article_id=None,
            position=0,
            verdict="new",
            external_id=row.external_id,
            source=row.source,
            first_seen_at=row.published,
        )
        session.add(claim)
        added.append(claim)
    session.flush()
    return added, skipped


def unextracted_articles(session: Session) -> Sequence[Article]:
    """Relevant articles whose claims are not extracted yet, oldest publication first.

    A story with no publication time sits on the timeline at its fetch time, as its claims do.
    """
    return session.scalars(
        select(Article)
        .where(Article.claims_extracted.is_(False), Article.relevant.is_(True))
        .order_by(func.coalesce(Article.published_at, Article.fetched_at), Article.id)
    ).all()


def mark_claims_extracted(session: Session, *, article_id: int) -> None:
    session.execute(update(Article).where(Article.id == article_id).values(claims_extracted=True))


# ---------------------------------------------------------------------------- time and roots


@dataclass(frozen=True, slots=True)
class ChainRow:
    """A claim's place in its fact's chain: what it matched, and the root it cites."""

    claim_id: int
    verdict: str
    matched_claim_id: int | None
    root_claim_id: int | None
    first_seen_at: datetime | None


def reported_later_exists(session: Session, *, after: datetime) -> bool:
    """Whether any stored claim was first reported at or after ``after`` (a story arriving
    late, or one published at the same instant as a story already judged)."""
    found = session.scalar(select(Claim.id).where(Claim.first_seen_at >= after).limit(1))
    return found is not None


def claims_by_id(session: Session, *, claim_ids: Sequence[int]) -> list[Claim]:
    """Claims in timeline order (first report, then id)."""
    out: list[Claim] = []
    unique = list(dict.fromkeys(claim_ids))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        out.extend(session.scalars(select(Claim).where(Claim.id.in_(chunk))))
    return sorted(out, key=lambda c: (c.first_seen_at is None, c.first_seen_at, c.id))


def chain_rows(
    session: Session, *, claim_ids: Sequence[int], with_dependents: bool = True
) -> dict[int, ChainRow]:
    """The given claims and (``with_dependents``) every claim citing one of them as its root."""
    ids = list(dict.fromkeys(claim_ids))
    found: dict[int, ChainRow] = {}
    columns = select(
        Claim.id, Claim.verdict, Claim.matched_claim_id, Claim.root_claim_id, Claim.first_seen_at
    )
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        where: ColumnElement[bool] = Claim.id.in_(chunk)
        if with_dependents:
            where = where | Claim.root_claim_id.in_(chunk)
        query = columns.where(where)
        for cid, verdict, matched, root, seen in session.execute(query):
            found[cid] = ChainRow(cid, verdict, matched, root, seen)
    return found


def set_roots(session: Session, *, roots: Mapping[int, int | None]) -> None:
    if roots:
        session.execute(
            update(Claim),
            [{"id": claim_id, "root_claim_id": root} for claim_id, root in roots.items()],
        )


def add_correction(
    session: Session,
    *,
    claim_id: int,
    old_verdict: str,
    new_verdict: str,
    old_matched_claim_id: int | None,
    new_matched_claim_id: int | None,
    old_root_claim_id: int | None,
    new_root_claim_id: int | None,
    reason: str,
) -> None:
    session.add(
        ClaimCorrection(
            claim_id=claim_id,
            old_verdict=old_verdict,
            new_verdict=new_verdict,
            old_matched_claim_id=old_matched_claim_id,
            new_matched_claim_id=new_matched_claim_id,
            old_root_claim_id=old_root_claim_id,
            new_root_claim_id=new_root_claim_id,
            reason=reason[:500],
        )
    )
