"""Articles and the sources they were seen at."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Article, ArticleSource


def get_article(session: Session, *, article_id: int) -> Article | None:
    return session.get(Article, article_id)


def get_by_content_hash(session: Session, *, content_hash: str) -> Article | None:
    return session.scalar(select(Article).where(Article.content_hash == content_hash))


def get_by_origin(session: Session, *, origin: str) -> Article | None:
    return session.scalar(select(Article).where(Article.origin == origin))


def add_article(
    session: Session,
    *,
    origin: str,
    title: str,
    content_hash: str,
    text: str | None,
    url: str | None = None,
    outlet: str | None = None,
    author: str | None = None,
    published_at: datetime | None = None,
    published_inferred: bool = False,
    summary: str | None = None,
    relevance: float = 0.0,
    relevant: bool = True,
    simhash: int | None = None,
    fetched_at: datetime | None = None,
) -> Article:
    article = Article(
        origin=origin,
        title=title,
        content_hash=content_hash,
        text=text,
        url=url,
        outlet=outlet,
        author=author,
        published_at=published_at,
        published_inferred=published_inferred,
        summary=summary,
        relevance=relevance,
        relevant=relevant,
        simhash=simhash,
    )
    if fetched_at is not None:
        article.fetched_at = fetched_at
    session.add(article)
    session.flush()
    return article


def add_source(
    session: Session,
    *,
    article_id: int,
    feed_id: int | None,
    guid: str | None,
    url: str | None,
    outlet: str | None,
) -> ArticleSource:
    source = ArticleSource(
        article_id=article_id, feed_id=feed_id, guid=guid, url=url, outlet=outlet
    )
    session.add(source)
    session.flush()
    return source


def list_latest_relevant(session: Session, *, limit: int = 5) -> Sequence[Article]:
    query = (
        select(Article)
        .where(Article.relevant.is_(True))
        .order_by(func.coalesce(Article.published_at, Article.fetched_at).desc(), Article.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()


# --- dedup lookups for the feed poller -------------------------------------------------------


def known_guids(session: Session, *, feed_id: int, guids: Sequence[str]) -> set[str]:
    """The GUIDs among ``guids`` this feed has already delivered (one query per feed)."""
    found: set[str] = set()
    unique = list(dict.fromkeys(guids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        found.update(
            g
            for g in session.scalars(
                select(ArticleSource.guid).where(
                    ArticleSource.feed_id == feed_id, ArticleSource.guid.in_(chunk)
                )
            )
            if g is not None
        )
    return found


def has_source(session: Session, *, article_id: int, feed_id: int | None, url: str | None) -> bool:
    """Whether this feed (or, for feed-less sources, this URL) is already recorded."""
    query = select(ArticleSource.id).where(ArticleSource.article_id == article_id)
    if feed_id is not None:
        query = query.where(ArticleSource.feed_id == feed_id)
    else:
        query = query.where(ArticleSource.feed_id.is_(None), ArticleSource.url == url)
    return session.scalar(query.limit(1)) is not None


def recent_simhashes(session: Session, *, since: datetime) -> list[tuple[int, int]]:
    """(article id, simhash) of articles fetched since ``since``, for near-duplicate search."""
    rows = session.execute(
        select(Article.id, Article.simhash).where(
            Article.simhash.is_not(None), Article.fetched_at >= since
        )
    ).all()
    return [(int(r[0]), int(r[1])) for r in rows if r[1] is not None]


def article_ids_by_urls(session: Session, *, urls: Sequence[str]) -> dict[str, int]:
    """URL -> article id, for articles stored under that URL or seen at it (one query each)."""
    found: dict[str, int] = {}
    unique = list(dict.fromkeys(u for u in urls if u))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        for url, article_id in session.execute(
            select(ArticleSource.url, ArticleSource.article_id).where(ArticleSource.url.in_(chunk))
        ):
            if url is not None:
                found.setdefault(url, int(article_id))
        for url, article_id in session.execute(
            select(Article.url, Article.id).where(Article.url.in_(chunk))
        ):
            if url is not None:
                found[url] = int(article_id)
    return found


def article_ids_by_content_hashes(session: Session, *, hashes: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        for content_hash, article_id in session.execute(
            select(Article.content_hash, Article.id).where(Article.content_hash.in_(chunk))
        ):
            found[content_hash] = int(article_id)
    return found
