"""Which event (happening) a claim reports: its match's, one its story already opened, or a
new one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from bot.claims import happenings
from bot.claims.types import Attributes, DateRef, ExtractedClaim, Verdict
from storage import events as event_store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storage.models import Event


def event_for(
    session: Session,
    story: list[StoryEvent],
    claim: ExtractedClaim,
    verdict: Verdict,
    published: datetime,
) -> Event:
    """The happening a claim reports (events are not flushed: the article's events and
    claims are inserted together).

    A repeat joins its match's event when it is about the same time; an update of a running
    figure, or a dated claim far from the event's window, is a later report linked through
    its match, not a reason to stretch the event. A new claim joins an event of the same
    story sharing an actor and something specific, or opens a new event with a composed
    title.
    """
    attrs = claim.attrs
    explicit = _happening_span(attrs.dates)
    day = published.date()
    span = explicit or (day, day)
    place = attrs.places[0] if attrs.places else None
    if verdict.status != "new" and verdict.matches:
        event_id = verdict.matches[0].candidate.event_id
        stored = None if event_id is None else event_store.get_event(session, event_id=event_id)
        if stored is not None:
            window = _window(stored)
            near = happenings.compatible(window, span)
            if near or (explicit is None and verdict.status == "repeated"):
                start, end = (
                    (_at_midnight(span[0]), _at_midnight(span[1])) if near else (None, None)
                )
                event_store.extend(
                    stored,
                    actors=attrs.actors,
                    place=place,
                    start_date=start,
                    end_date=end,
                    first_seen_at=published,
                    widen_span=True,
                )
                if happenings.compatible(window, (day, day)):
                    _remember(story, stored, attrs)
                return stored
    best = _same_story_event(story, attrs, span if explicit else None)
    if best is not None:
        start, end = (_at_midnight(span[0]), _at_midnight(span[1])) if explicit else (None, None)
        event_store.extend(
            best.event, actors=attrs.actors, place=place, start_date=start, end_date=end
        )
        _remember(story, best.event, attrs)
        return best.event
    event = event_store.add_event(
        session,
        title=happenings.title_for(claim.text, start=span[0], end=span[1]),
        place=place,
        actors=attrs.actors,
        start_date=_at_midnight(span[0]),
        end_date=_at_midnight(span[1]),
        first_seen_at=published,
        flush=False,
    )
    _remember(story, event, attrs)
    return event


def _span(dates: Iterable[DateRef]) -> tuple[datetime | None, datetime | None]:
    refs = list(dates)
    if not refs:
        return None, None
    start = min(d.start for d in refs)
    end = max(d.end for d in refs)
    return _at_midnight(start), _at_midnight(end)


def _happening_span(dates: Iterable[DateRef]) -> tuple[date, date] | None:
    """When a claim says its happening took place: its day- or month-precise dates (a year, or
    a range of months, is background, not a happening's time); None when it names none."""
    refs = [
        d
        for d in dates
        if d.precision != "year" and (d.end - d.start).days <= happenings.MAX_SPAN_DAYS
    ]
    if not refs:
        return None
    start, end = min(d.start for d in refs), max(d.end for d in refs)
    if (end - start).days > happenings.MAX_SPAN_DAYS:
        # "since September 2023 ... said on Wednesday": the latest date is the happening's,
        # the earlier one a baseline
        latest = max(refs, key=lambda d: d.end)
        return latest.start, latest.end
    return start, end


def _window(event: Event) -> tuple[date, date] | None:
    if event.start_date is None:
        return None
    end = event.end_date or event.start_date
    return event.start_date.date(), end.date()


def _at_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


@dataclass
class StoryEvent:
    """What one story has said so far about an event it reports."""

    event: Event  # possibly not flushed yet
    actors: set[str]
    specifics: set[str]  # weapons and places named by the story's claims in this event
    start: datetime | None
    end: datetime | None


def _remember(story: list[StoryEvent], event: Event, attrs: Attributes) -> None:
    for item in story:
        if item.event is event:
            break
    else:
        item = StoryEvent(event, set(), set(), None, None)
        story.append(item)
    item.actors = set(event.actors or [])
    item.specifics.update(attrs.weapons, attrs.places)
    item.start, item.end = event.start_date, event.end_date


def _same_story_event(
    story: Sequence[StoryEvent], attrs: Attributes, span: tuple[date, date] | None
) -> StoryEvent | None:
    """The event of this story the claim most plausibly reports.

    It must share an actor and something specific (an overlapping date, or a weapon or place the
    story named for it); a clearly different time rules it out. Sharing only an actor is not
    enough: nearly every sentence of a story names its protagonist.
    """
    if not attrs.actors:
        return None
    start, end = _span(attrs.dates)
    specific = set(attrs.weapons) | set(attrs.places)
    best: StoryEvent | None = None
    best_overlap = 0
    for item in story:
        overlap = len(item.actors & set(attrs.actors))
        if overlap == 0:
            continue
        dated = _overlap(start, end, item.start, item.end)
        if dated is False:
            continue  # a clearly different time is a different happening
        if span is not None and item.start is not None and item.end is not None:
            window = (item.start.date(), item.end.date())
            if not happenings.compatible(window, span):
                continue
        if not dated and not (specific & item.specifics):
            continue
        if overlap > best_overlap:
            best, best_overlap = item, overlap
    return best


def _overlap(
    a_start: datetime | None,
    a_end: datetime | None,
    b_start: datetime | None,
    b_end: datetime | None,
) -> bool | None:
    """Whether two spans overlap; None when either is unknown."""
    if a_start is None or a_end is None or b_start is None or b_end is None:
        return None
    return a_start <= b_end and b_start <= a_end
