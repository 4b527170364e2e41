"""Read-only tallies for metrics, health and `nkwatch status`, shared by every instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.orm import Session

from storage.models import Article, Claim, Delivery, Feed, PollRun, Subscription


@dataclass
class Snapshot:
    feeds_enabled: int = 0
    feeds_disabled: int = 0
    feeds_failing: int = 0
    articles: int = 0
    articles_relevant: int = 0
    claims_by_verdict: dict[str, int] = field(default_factory=dict)
    deliveries_by_status: dict[str, int] = field(default_factory=dict)
    subscriptions_active: int = 0
    poll_cycles: int = 0
    poll_errors: int = 0
    last_poll_finished: datetime | None = None
    last_delivery_sent: datetime | None = None


def ping(session: Session) -> bool:
    return session.execute(text("SELECT 1")).scalar() == 1


def snapshot(session: Session) -> Snapshot:
    """Everything the metrics endpoint and `nkwatch status` show, in a handful of queries."""
    snap = Snapshot()
    # A literal, not a bound parameter: PostgreSQL must see the same expression in GROUP BY.
    failing_expr = Feed.error_count > literal_column("0")
    for enabled, failing, count in session.execute(
        select(Feed.enabled, failing_expr, func.count()).group_by(Feed.enabled, failing_expr)
    ):
        if enabled:
            snap.feeds_enabled += count
            snap.feeds_failing += count if failing else 0
        else:
            snap.feeds_disabled += count
    snap.articles = int(session.scalar(select(func.count()).select_from(Article)) or 0)
    snap.articles_relevant = int(
        session.scalar(select(func.count()).select_from(Article).where(Article.relevant)) or 0
    )
    snap.claims_by_verdict = {
        verdict: int(count)
        for verdict, count in session.execute(
            select(Claim.verdict, func.count()).group_by(Claim.verdict)
        )
    }
    snap.deliveries_by_status = {
        status: int(count)
        for status, count in session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        )
    }
    snap.subscriptions_active = int(
        session.scalar(select(func.count()).select_from(Subscription).where(Subscription.active))
        or 0
    )
    cycles, errors, last = session.execute(
        select(
            func.count(PollRun.id),
            func.coalesce(func.sum(PollRun.errors), 0),
            func.max(PollRun.finished_at),
        )
    ).one()
    snap.poll_cycles, snap.poll_errors = int(cycles), int(errors)
    snap.last_poll_finished = _aware(last)
    snap.last_delivery_sent = _aware(session.scalar(select(func.max(Delivery.sent_at))))
    return snap


def _aware(value: datetime | str | None) -> datetime | None:
    """Aggregates bypass the column type on SQLite, so times may come back naive or as text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
