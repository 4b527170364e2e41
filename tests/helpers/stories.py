"""Rows for digest and delivery tests: stories with judged claims, and subscriptions."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from storage.models import Article, ArticleSource, Claim, Event, Subscription

_counter = itertools.count(1)


@dataclass
class C:
    """A claim to store: text, verdict, the claim it matched, changes."""

    text: str
    verdict: str = "new"
    matched: Claim | None = None
    changes: list[dict[str, str]] = field(default_factory=list)
    event: Event | None = None


def add_event(session: Session, title: str) -> Event:
    event = Event(title=title)
    session.add(event)
    session.flush()
    return event


def add_story(
    session: Session,
    *,
    title: str,
    claims: list[C],
    at: datetime,
    outlet: str | None = "Test Outlet",
    url: str | None = None,
    published: datetime | None = None,
    origin: str = "feed",
    relevance: float = 2.0,
    relevant: bool = True,
    also_in: tuple[str, ...] = (),
) -> tuple[Article, list[Claim]]:
    """An article whose claims were stored at ``at`` (this is what places it in a window)."""
    n = next(_counter)
    article = Article(
        origin=origin,
        title=title,
        outlet=outlet,
        url=url if url is not None else f"https://news.example/{n}",
        published_at=published or at,
        fetched_at=at,
        text=" ".join(c.text for c in claims),
        content_hash=hashlib.sha256(f"{n}:{title}".encode()).hexdigest(),
        relevance=relevance,
        relevant=relevant,
        claims_extracted=True,
    )
    session.add(article)
    session.flush()
    for other in also_in:
        session.add(ArticleSource(article_id=article.id, outlet=other, url=None, guid=None))
    stored = []
    for position, spec in enumerate(claims):
        claim = Claim(
            article_id=article.id,
            position=position,
            text=spec.text,
            verdict=spec.verdict,
            matched_claim_id=spec.matched.id if spec.matched is not None else None,
            # As the engine stores it: the fact's first report, carried down the chain.
            root_claim_id=(spec.matched.root_claim_id or spec.matched.id)
            if spec.matched is not None and spec.verdict != "new"
            else None,
            changes=spec.changes,
            event_id=spec.event.id if spec.event is not None else None,
            first_seen_at=at,
            created_at=at,
            score=0.9 if spec.matched is not None else None,
        )
        session.add(claim)
        stored.append(claim)
    session.flush()
    return article, stored


def add_subscription(
    session: Session,
    *,
    chat_id: str,
    platform: str = "telegram",
    digest_time: time = time(8, 0),
    timezone: str = "UTC",
    mode: str = "daily",
    send_empty: bool = True,
    instant_alerts: bool = False,
    created_at: datetime | None = None,
    covered_until: datetime | None = None,
    **extra: Any,
) -> Subscription:
    sub = Subscription(
        platform=platform,
        chat_id=chat_id,
        digest_time=digest_time,
        timezone=timezone,
        mode=mode,
        send_empty=send_empty,
        instant_alerts=instant_alerts,
        created_at=created_at or datetime(2026, 1, 1, tzinfo=UTC),
        covered_until=covered_until,
        **extra,
    )
    session.add(sub)
    session.flush()
    return sub
