"""Read-only rows for scoring a labelled stream: every article claim with its article's address
and publication, and the same for the claim it was matched to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from storage.models import Article, Claim


@dataclass(frozen=True, slots=True)
class ClaimRow:
    """One stored claim; ``url`` is the article's URL, or ``seed:<file>`` for a seed article."""

    claim_id: int
    text: str
    verdict: str
    url: str | None
    title: str | None
    published: datetime | None
    matched_claim_id: int | None
    matched_url: str | None
    matched_published: datetime | None


def _address(url: str | None, origin: str | None) -> str | None:
    if url is None and origin is not None and origin != "feed":
        return f"seed:{origin}"  # as storage.claims.article_url
    return url


def article_claim_rows(session: Session) -> list[ClaimRow]:
    """Every claim that belongs to an article (imported claims have none), in storage order."""
    matched = aliased(Claim)
    matched_article = aliased(Article)
    query = (
        select(
            Claim.id,
            Claim.text,
            Claim.verdict,
            Article.url,
            Article.origin,
            Article.title,
            Article.published_at,
            Claim.matched_claim_id,
            matched_article.url,
            matched_article.origin,
            matched_article.published_at,
            matched.first_seen_at,
        )
        .join(Article, Claim.article_id == Article.id)
        .outerjoin(matched, Claim.matched_claim_id == matched.id)
        .outerjoin(matched_article, matched.article_id == matched_article.id)
        .order_by(Claim.id)
    )
    rows: list[ClaimRow] = []
    for row in session.execute(query):
        (cid, text, verdict, url, origin, title, published, mid, murl, morigin, mpub, mfirst) = row
        rows.append(
            ClaimRow(
                claim_id=cid,
                text=text,
                verdict=verdict,
                url=_address(url, origin),
                title=title,
                published=published,
                matched_claim_id=mid,
                matched_url=_address(murl, morigin) if mid is not None else None,
                matched_published=(mpub or mfirst) if mid is not None else None,
            )
        )
    return rows
