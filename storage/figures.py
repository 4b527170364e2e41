"""Claims that carry figures, as plain rows for the series builder (``bot.figures.series``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from storage.models import Article, Claim

# Both SQLite (json.dumps) and PostgreSQL (jsonb output) write a non-empty list this way; the
# filter only narrows the scan, the caller still reads the quantities themselves.
_HAS_FIGURES = '%"quantities": [{%'


@dataclass(frozen=True, slots=True)
class FigureRow:
    """One stored claim with at least one figure, with its verdict links and its story."""

    claim_id: int
    text: str
    attrs: dict[str, Any]
    verdict: str
    matched_claim_id: int | None
    root_claim_id: int | None
    published: datetime | None  # the story's publication, else when the claim was first seen
    source: str | None  # outlet, else the import's source
    url: str | None
    title: str | None


def figure_rows(session: Session, *, batch: int = 2000) -> Iterator[FigureRow]:
    """Every claim whose attributes hold a figure, in id order, paged by key."""
    query = (
        select(
            Claim.id,
            Claim.text,
            Claim.attrs,
            Claim.verdict,
            Claim.matched_claim_id,
            Claim.root_claim_id,
            Claim.first_seen_at,
            Claim.source,
            Article.published_at,
            Article.outlet,
            Article.url,
            Article.origin,
            Article.title,
        )
        .outerjoin(Article, Claim.article_id == Article.id)
        .where(cast(Claim.attrs, String).like(_HAS_FIGURES))
        .order_by(Claim.id)
        .limit(batch)
    )
    last = 0
    while True:
        rows = session.execute(query.where(Claim.id > last)).all()
        if not rows:
            return
        for row in rows:
            cid, text, attrs, verdict, matched, root, first_seen, source = row[:8]
            published, outlet, url, origin, title = row[8:]
            if url is None and origin is not None and origin != "feed":
                url = f"seed:{origin}"  # as storage.claims.article_url
            yield FigureRow(
                claim_id=cid,
                text=text,
                attrs=dict(attrs or {}),
                verdict=verdict,
                matched_claim_id=matched,
                root_claim_id=root,
                published=published or first_seen,
                source=outlet or source,
                url=url,
                title=title,
            )
        last = rows[-1][0]
