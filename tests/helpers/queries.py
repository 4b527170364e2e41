"""Reads only the tests need: counts and lookups the product itself never makes.

They were in ``storage/`` with no caller outside the tests; here they stay test helpers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from storage.events import extend
from storage.feeds import _MOST_OVERDUE_FIRST, _due
from storage.models import (
    Article,
    ArticleSource,
    Claim,
    ClaimCorrection,
    Event,
    Feed,
    SeriesAlert,
    Subscription,
)


def find_by_url(session: Session, *, url: str) -> Article | None:
    """An article by its own canonical URL or the URL of any source it was seen at."""
    article = session.scalar(select(Article).where(Article.url == url))
    if article is not None:
        return article
    return session.scalar(
        select(Article)
        .join(ArticleSource, ArticleSource.article_id == Article.id)
        .where(ArticleSource.url == url)
        .limit(1)
    )


def set_simhash(session: Session, *, article_id: int, simhash: int | None) -> None:
    article = session.get(Article, article_id)
    if article is not None:
        article.simhash = simhash
        session.flush()


def article_ids_by_feed(session: Session, *, feed_id: int) -> list[int]:
    return list(
        session.scalars(
            select(ArticleSource.article_id)
            .where(ArticleSource.feed_id == feed_id)
            .distinct()
            .order_by(ArticleSource.article_id)
        )
    )


def count_sources(session: Session, *, article_id: int | None = None) -> int:
    query = select(func.count()).select_from(ArticleSource)
    if article_id is not None:
        query = query.where(ArticleSource.article_id == article_id)
    return int(session.scalar(query) or 0)


def extend_event(
    session: Session,
    *,
    event_id: int,
    actors: Sequence[str] = (),
    place: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    first_seen_at: datetime | None = None,
    widen_span: bool = False,
) -> Event | None:
    """:func:`extend` the stored event ``event_id``; None when there is no such event."""
    event = session.get(Event, event_id)
    if event is None:
        return None
    extend(
        event,
        actors=actors,
        place=place,
        start_date=start_date,
        end_date=end_date,
        first_seen_at=first_seen_at,
        widen_span=widen_span,
    )
    return event


def article_events(session: Session, *, article_id: int) -> Sequence[Event]:
    """Events that already hold a claim of this article (candidates for its next claims)."""
    return session.scalars(
        select(Event)
        .where(
            Event.id.in_(
                select(Claim.event_id).where(
                    Claim.article_id == article_id, Claim.event_id.is_not(None)
                )
            )
        )
        .order_by(Event.id)
    ).all()


def later_provenance(session: Session) -> list[int]:
    """Stored non-new claims whose root (first report) or match was published after their own
    story: every such id is a verdict that points forward in time (the check issue 12 asks for).

    A claim's time is its article's publication time, else its own ``first_seen_at`` (imported
    claims have no article); claims with no time on either side are not judged here.
    """
    own_article = aliased(Article)
    root, root_article = aliased(Claim), aliased(Article)
    match, match_article = aliased(Claim), aliased(Article)
    own_at = func.coalesce(own_article.published_at, Claim.first_seen_at)
    root_at = func.coalesce(root_article.published_at, root.first_seen_at)
    match_at = func.coalesce(match_article.published_at, match.first_seen_at)
    query = (
        select(Claim.id)
        .outerjoin(own_article, Claim.article_id == own_article.id)
        .outerjoin(root, Claim.root_claim_id == root.id)
        .outerjoin(root_article, root.article_id == root_article.id)
        .outerjoin(match, Claim.matched_claim_id == match.id)
        .outerjoin(match_article, match.article_id == match_article.id)
        .where(Claim.verdict != "new", (root_at > own_at) | (match_at > own_at))
        .order_by(Claim.id)
    )
    return [int(claim_id) for claim_id in session.scalars(query)]


def enable_feed(session: Session, *, feed_id: int) -> bool:
    result = session.execute(
        update(Feed)
        .where(Feed.id == feed_id)
        .values(enabled=True, disabled_reason=None, error_count=0, next_check_at=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def count_active(session: Session, *, platform: str | None = None) -> int:
    query = select(func.count()).select_from(Subscription).where(Subscription.active.is_(True))
    if platform is not None:
        query = query.where(Subscription.platform == platform)
    return int(session.scalar(query) or 0)


def get_claim(session: Session, *, claim_id: int) -> Claim | None:
    return session.get(Claim, claim_id)


def count_claims(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Claim)) or 0)


def count_articles(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Article)) or 0)


def due_feeds(session: Session, *, now: datetime, limit: int | None = None) -> Sequence[Feed]:
    """Enabled feeds whose next check is due (never-checked feeds first); reads, claims nothing.

    The poller takes its feeds with ``claim_due_feeds``, so several processes never poll one
    feed twice; this is for reports and tests.
    """
    query = select(Feed).where(*_due(now)).order_by(*_MOST_OVERDUE_FIRST)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def list_sources(session: Session, *, article_id: int) -> Sequence[ArticleSource]:
    return session.scalars(
        select(ArticleSource)
        .where(ArticleSource.article_id == article_id)
        .order_by(ArticleSource.id)
    ).all()


def corrections_for(
    session: Session, *, claim_ids: Sequence[int] | None = None
) -> list[ClaimCorrection]:
    """Recorded corrections, oldest first; all of them when ``claim_ids`` is None."""
    query = select(ClaimCorrection).order_by(ClaimCorrection.id)
    if claim_ids is not None:
        query = query.where(ClaimCorrection.claim_id.in_(list(claim_ids)))
    return list(session.scalars(query))


def list_alerts(session: Session, *, subscription_id: int | None = None) -> Sequence[SeriesAlert]:
    query = select(SeriesAlert).order_by(SeriesAlert.id)
    if subscription_id is not None:
        query = query.where(SeriesAlert.subscription_id == subscription_id)
    return session.scalars(query).all()


def verdict_counts(session: Session, *, article_id: int | None = None) -> dict[str, int]:
    query = select(Claim.verdict, func.count()).group_by(Claim.verdict)
    if article_id is not None:
        query = query.where(Claim.article_id == article_id)
    return {str(verdict): int(count) for verdict, count in session.execute(query).all()}
