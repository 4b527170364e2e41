"""Queries behind a digest: the stories of a window and the provenance of their claims.

A story belongs to the window in which its claims were first stored (the earliest
``Claim.created_at`` of the article), so consecutive windows partition the stories: none is in two
digests and none falls between them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from storage.models import Article, Claim, Event

FEED_ORIGIN = "feed"


def stories_in_window(
    session: Session,
    *,
    since: datetime | None,
    until: datetime,
    min_relevance: float = 0.0,
    origin: str | None = FEED_ORIGIN,
    limit: int = 1000,
) -> Sequence[Article]:
    """Relevant articles whose claims were first stored in ``(since, until]``, oldest first.

    Claims and sources come loaded. ``origin=None`` includes seed articles too.
    """
    ready = func.min(Claim.created_at).label("ready")
    per_article = (
        select(Claim.article_id.label("article_id"), ready)
        .where(Claim.article_id.is_not(None))
        .group_by(Claim.article_id)
        .subquery()
    )
    query = (
        select(Article)
        .join(per_article, per_article.c.article_id == Article.id)
        .where(
            Article.relevant.is_(True),
            Article.relevance >= min_relevance,
            per_article.c.ready <= until,
        )
        .options(selectinload(Article.claims), selectinload(Article.sources))
        .order_by(per_article.c.ready.asc(), Article.id.asc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(per_article.c.ready > since)
    if origin is not None:
        query = query.where(Article.origin == origin)
    return session.scalars(query).all()


def claims_by_ids(session: Session, *, claim_ids: Collection[int]) -> Sequence[Claim]:
    """Claims with their articles, for provenance lines."""
    if not claim_ids:
        return []
    query = (
        select(Claim).where(Claim.id.in_(sorted(claim_ids))).options(selectinload(Claim.article))
    )
    return session.scalars(query).all()


def events_by_ids(session: Session, *, event_ids: Collection[int]) -> Sequence[Event]:
    if not event_ids:
        return []
    return session.scalars(select(Event).where(Event.id.in_(sorted(event_ids)))).all()


def fact_reports(
    session: Session, *, root_ids: Collection[int], limit: int = 5000
) -> Sequence[Claim]:
    """Claims whose root is one of ``root_ids`` (other reports of those facts), articles loaded.

    Bounded by ``limit`` so a fact repeated thousands of times cannot load them all.
    """
    if not root_ids:
        return []
    query = (
        select(Claim)
        .where(Claim.root_claim_id.in_(sorted(root_ids)))
        .options(selectinload(Claim.article))
        .order_by(Claim.id)
        .limit(limit)
    )
    return session.scalars(query).all()


def stories_by_ids(session: Session, *, article_ids: Collection[int]) -> Sequence[Article]:
    """The articles of a sent digest (claims and sources loaded), to rebuild it on a button."""
    if not article_ids:
        return []
    query = (
        select(Article)
        .where(Article.id.in_(sorted(article_ids)))
        .options(selectinload(Article.claims), selectinload(Article.sources))
        .order_by(Article.id)
    )
    return session.scalars(query).all()
