"""Feeds, their per-feed fetch state, and poll-run tallies. Every feed SQL statement lives here;
the policy (back-off lengths, when to disable) is decided by ``bot.feeds`` and passed in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Feed, PollRun


def add_feed(
    session: Session,
    *,
    url: str,
    name: str,
    poll_interval_seconds: int,
    added_by: str | None,
    next_check_at: datetime | None = None,
) -> Feed:
    feed = Feed(
        url=url,
        name=name[:200],
        poll_interval_seconds=poll_interval_seconds,
        added_by=added_by,
        enabled=True,
        error_count=0,
        next_check_at=next_check_at,
    )
    session.add(feed)
    session.flush()
    return feed


def get_feed(session: Session, *, feed_id: int) -> Feed | None:
    return session.get(Feed, feed_id)


def get_feed_by_url(session: Session, *, url: str) -> Feed | None:
    return session.scalar(select(Feed).where(Feed.url == url))


def list_feeds(session: Session, *, enabled_only: bool = False) -> Sequence[Feed]:
    query = select(Feed).order_by(Feed.id)
    if enabled_only:
        query = query.where(Feed.enabled.is_(True))
    return session.scalars(query).all()


def feed_urls(session: Session) -> set[str]:
    return set(session.scalars(select(Feed.url)).all())


def remove_feed(session: Session, *, feed_id: int) -> bool:
    """Delete a feed; its articles stay (their sources keep the URL, lose the feed id)."""
    result = session.execute(delete(Feed).where(Feed.id == feed_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Enabled, and never checked or its next check has come."""
    return (
        Feed.enabled.is_(True),
        or_(Feed.next_check_at.is_(None), Feed.next_check_at <= now),
    )


_MOST_OVERDUE_FIRST = (Feed.next_check_at.asc().nulls_first(), Feed.id.asc())


def claim_due_feeds(
    session: Session, *, now: datetime, lease_until: datetime, limit: int | None = None
) -> Sequence[Feed]:
    """Take due feeds for this process: their next check moves to ``lease_until`` in one UPDATE.

    Several processes poll one database: a claimed feed is no longer due for the others, and if
    its poller dies the lease runs out and the feed is due again (the hand-over). PostgreSQL
    skips rows another claimer has locked; the UPDATE re-checks the due condition, so a feed is
    never taken twice (SQLite serialises writers, where the re-check alone suffices). The poll's
    success or failure write then sets the real next check. Under ``limit`` the most overdue
    feeds (never checked first) are taken; they come back in id order.
    """
    due = _due(now)
    pick = (
        select(Feed.id).where(*due).order_by(*_MOST_OVERDUE_FIRST).with_for_update(skip_locked=True)
    )
    if limit is not None:
        pick = pick.limit(limit)
    claimed = session.scalars(
        update(Feed)
        .where(Feed.id.in_(pick.scalar_subquery()), *due)
        .values(next_check_at=lease_until)
        .returning(Feed)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).all()
    return sorted(claimed, key=lambda feed: feed.id)


def release_feed_claims(
    session: Session, *, feed_ids: Sequence[int], lease_until: datetime, now: datetime
) -> int:
    """Make feeds claimed with ``lease_until`` and not polled to the end due now (a graceful stop).

    A feed whose next check changed since (polled, or claimed again by another process after
    the lease ran out) is left alone. Returns how many were given back.
    """
    if not feed_ids:
        return 0
    result = session.execute(
        update(Feed)
        .where(Feed.id.in_(list(feed_ids)), Feed.next_check_at == lease_until)
        .values(next_check_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def record_fetch_success(
    session: Session,
    *,
    feed_id: int,
    now: datetime,
    next_check_at: datetime,
    etag: str | None,
    last_modified: str | None,
    warning: str | None = None,
) -> None:
    """A 200 or 304: clears the failure run and stores the validators for the next GET.
    ``warning`` (a malformed but readable feed) is kept as the feed's last error."""
    values: dict[str, object] = {
        "last_fetched_at": now,
        "last_success_at": now,
        "next_check_at": next_check_at,
        "etag": etag[:500] if etag else None,
        "last_modified": last_modified[:100] if last_modified else None,
        "error_count": 0,
    }
    if warning:
        values["last_error"] = warning[:4000]
        values["last_error_at"] = now
    session.execute(update(Feed).where(Feed.id == feed_id).values(**values))


def record_fetch_error(
    session: Session,
    *,
    feed_id: int,
    now: datetime,
    error: str,
    next_check_at: datetime,
    count_failure: bool = True,
) -> int:
    """Store the error with its time; returns the consecutive-failure count after it."""
    feed = session.get(Feed, feed_id)
    if feed is None:
        return 0
    feed.last_fetched_at = now
    feed.last_error = error[:4000]
    feed.last_error_at = now
    feed.next_check_at = next_check_at
    if count_failure:
        feed.error_count = (feed.error_count or 0) + 1
    session.flush()
    return feed.error_count


def disable_feed(session: Session, *, feed_id: int, reason: str) -> None:
    session.execute(
        update(Feed)
        .where(Feed.id == feed_id)
        .values(enabled=False, disabled_reason=reason[:500], next_check_at=None)
    )


def start_poll_run(session: Session, *, now: datetime) -> PollRun:
    run = PollRun(started_at=now)
    session.add(run)
    session.flush()
    return run


def finish_poll_run(
    session: Session,
    *,
    run_id: int,
    now: datetime,
    feeds_polled: int,
    new_stories: int,
    relevant_stories: int,
    claims_new: int,
    claims_repeated: int,
    claims_updated: int,
    errors: int,
) -> None:
    session.execute(
        update(PollRun)
        .where(PollRun.id == run_id)
        .values(
            finished_at=now,
            feeds_polled=feeds_polled,
            new_stories=new_stories,
            relevant_stories=relevant_stories,
            claims_new=claims_new,
            claims_repeated=claims_repeated,
            claims_updated=claims_updated,
            errors=errors,
        )
    )


def latest_poll_run(session: Session) -> PollRun | None:
    return session.scalar(select(PollRun).order_by(PollRun.id.desc()).limit(1))
