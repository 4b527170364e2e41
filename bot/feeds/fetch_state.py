"""A feed's fetch state: when to check it next, and what a failed fetch does to it.

Back-off is exponential and capped; a ``Retry-After`` is honoured without counting a failure;
HTTP 410 disables the feed at once, and so do too many failures in a row. The poller
(``bot.feeds.poller``) decides nothing of this itself: it calls these and ``storage.feeds``
writes the result.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.feeds.fetch import FetchResult
from bot.settings import Settings
from storage import feeds as feed_store

SPREAD = 0.1  # next checks land up to 10% after the interval so feeds drift apart


@dataclass(frozen=True, slots=True)
class FeedJob:
    """A due feed, detached from its session so workers share no ORM state."""

    id: int
    name: str
    url: str
    interval: int
    etag: str | None
    last_modified: str | None
    error_count: int
    lease_until: datetime  # the claim's expiry: another process polls the feed after it


def backoff_seconds(failures: int, settings: Settings) -> float:
    """Exponential: base, 2·base, 4·base … capped at ``backoff_max_seconds``."""
    exponent = min(max(failures - 1, 0), 32)
    return float(min(settings.backoff_base_seconds * 2**exponent, settings.backoff_max_seconds))


def feed_label(feed_id: int, name: str, url: str) -> str:
    """``feed #7 "NK News" (https://…)``: error lines name the feed, not just its id."""
    if not name or name == url:
        return f"feed #{feed_id} ({url})"
    return f'feed #{feed_id} "{name}" ({url})'


def next_success_check(now: datetime, interval: int, rng: random.Random) -> datetime:
    return now + timedelta(seconds=interval * (1 + SPREAD * rng.random()))


def record_fetch_result(
    session: Session,
    job: FeedJob,
    result: FetchResult,
    now: datetime,
    *,
    settings: Settings,
    rng: random.Random,
) -> str | None:
    """Write what a fetch that stored nothing means for the feed; returns its error, if any."""
    error = result.error or result.kind
    if result.kind == "not_modified":
        feed_store.record_fetch_success(
            session,
            feed_id=job.id,
            now=now,
            next_check_at=next_success_check(now, job.interval, rng),
            etag=result.etag or job.etag,
            last_modified=result.last_modified or job.last_modified,
        )
        return None
    if result.kind == "gone":
        feed_store.record_fetch_error(
            session, feed_id=job.id, now=now, error=error, next_check_at=now
        )
        feed_store.disable_feed(session, feed_id=job.id, reason="HTTP 410 Gone")
    elif result.kind == "throttled" and result.retry_after is not None:
        wait = min(max(result.retry_after, 1.0), float(settings.backoff_max_seconds))
        feed_store.record_fetch_error(
            session,
            feed_id=job.id,
            now=now,
            error=f"{error} (Retry-After {result.retry_after:.0f}s)",
            next_check_at=now + timedelta(seconds=wait),
            count_failure=False,
        )
    else:
        record_failure(session, job, error, now, settings=settings)
    return error


def record_failure(
    session: Session, job: FeedJob, error: str, now: datetime, *, settings: Settings
) -> None:
    """One more failure: back off exponentially, and disable the feed after too many in a row."""
    failures = job.error_count + 1
    count = feed_store.record_fetch_error(
        session,
        feed_id=job.id,
        now=now,
        error=error,
        next_check_at=now + timedelta(seconds=backoff_seconds(failures, settings)),
    )
    if count >= settings.max_consecutive_failures:
        feed_store.disable_feed(
            session,
            feed_id=job.id,
            reason=f"{count} consecutive failures; last: {error}"[:500],
        )
