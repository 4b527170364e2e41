"""Events: happenings that claims from many stories report, with their sources and counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from storage.models import Article, Claim, Event


@dataclass(frozen=True, slots=True)
class EventSummary:
    """An event as `nkwatch events` lists it."""

    event_id: int
    title: str
    place: str | None
    actors: list[str]
    start_date: datetime | None
    end_date: datetime | None
    first_seen_at: datetime | None
    claim_count: int
    sources: list[str]


def add_event(
    session: Session,
    *,
    title: str,
    place: str | None = None,
    actors: Sequence[str] = (),
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    first_seen_at: datetime | None = None,
    flush: bool = True,
) -> Event:
    """``flush=False`` leaves the id unassigned until the caller's next flush (one per batch)."""
    event = Event(
        title=title[:500],
        place=place[:200] if place else None,
        actors=list(dict.fromkeys(actors)),
        start_date=start_date,
        end_date=end_date,
        first_seen_at=first_seen_at,
    )
    session.add(event)
    if flush:
        session.flush()
    return event


def get_event(session: Session, *, event_id: int) -> Event | None:
    return session.get(Event, event_id)


def extend(
    event: Event,
    *,
    actors: Sequence[str] = (),
    place: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    first_seen_at: datetime | None = None,
    widen_span: bool = False,
) -> None:
    """Add what a newly joined claim says: more actors; a span when the event had none.

    ``widen_span`` stretches an existing span to cover the claim's dates (for a repeat or
    update of the event's own fact); otherwise background dates in a sentence ("since 1950")
    would stretch the event over decades. Works on an event not flushed yet.
    """
    merged = list(dict.fromkeys([*(event.actors or []), *actors]))
    if merged != list(event.actors or []):
        event.actors = merged
    if event.place is None and place:
        event.place = place[:200]
    if widen_span:
        if start_date is not None and (event.start_date is None or start_date < event.start_date):
            event.start_date = start_date
        if end_date is not None and (event.end_date is None or end_date > event.end_date):
            event.end_date = end_date
    elif event.start_date is None and start_date is not None:
        event.start_date, event.end_date = start_date, end_date or start_date
    if first_seen_at is not None and (
        event.first_seen_at is None or first_seen_at < event.first_seen_at
    ):
        event.first_seen_at = first_seen_at


def count_events(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def list_events(session: Session, *, limit: int = 100, offset: int = 0) -> list[EventSummary]:
    """Events with most claims first, then earliest seen; sources are outlets or import sources."""
    counts = (
        select(Claim.event_id.label("event_id"), func.count(Claim.id).label("n"))
        .where(Claim.event_id.is_not(None))
        .group_by(Claim.event_id)
        .subquery()
    )
    n_claims = cast(func.coalesce(counts.c.n, 0), Integer)
    rows: list[tuple[Event, int]] = [
        (event, int(count))
        for event, count in session.execute(
            select(Event, n_claims)
            .outerjoin(counts, counts.c.event_id == Event.id)
            .order_by(n_claims.desc(), Event.first_seen_at, Event.id)
            .limit(limit)
            .offset(offset)
        )
    ]
    ids = [event.id for event, _ in rows]
    sources: dict[int, list[str]] = {event_id: [] for event_id in ids}
    if ids:
        source_rows = session.execute(
            select(Claim.event_id, Article.outlet, Article.origin, Claim.source)
            .outerjoin(Article, Claim.article_id == Article.id)
            .where(Claim.event_id.in_(ids))
            .order_by(Claim.event_id, Article.published_at, Claim.id)
        ).all()
        for event_id, outlet, origin, source in source_rows:
            name = outlet or source or origin
            if event_id is not None and name and name not in sources[event_id]:
                sources[event_id].append(name)
    return [
        EventSummary(
            event_id=event.id,
            title=event.title,
            place=event.place,
            actors=list(event.actors or []),
            start_date=event.start_date,
            end_date=event.end_date,
            first_seen_at=event.first_seen_at,
            claim_count=int(count),
            sources=sources[event.id],
        )
        for event, count in rows
    ]
