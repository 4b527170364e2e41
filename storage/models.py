"""Typed SQLAlchemy 2.0 models: the schema every other module reads and writes through ``storage``.

Times are stored as timezone-aware UTC. JSON columns hold plain data (lists, dicts) so the same
schema works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no tz support) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given to a UTC column"
            raise ValueError(msg)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Feed(Base):
    """A polled RSS/Atom source with its conditional-GET and back-off state."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    poll_interval_seconds: Mapped[int] = mapped_column(Integer, default=900)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    added_by: Mapped[str | None] = mapped_column(String(100))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_fetched_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Article(Base):
    """One story, stored once however many feeds carried it (see ``ArticleSource``)."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(200))  # seed file name, or "feed"
    url: Mapped[str | None] = mapped_column(String(2000), unique=True)
    title: Mapped[str] = mapped_column(String(1000))
    outlet: Mapped[str | None] = mapped_column(String(200))
    author: Mapped[str | None] = mapped_column(String(300))
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    published_inferred: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    text: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    simhash: Mapped[int | None] = mapped_column(BigInteger)  # signed 64-bit near-dup fingerprint
    relevance: Mapped[float] = mapped_column(Float, default=0.0)
    relevant: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    claims_extracted: Mapped[bool] = mapped_column(Boolean, default=False)

    sources: Mapped[list[ArticleSource]] = relationship(
        back_populates="article", cascade="all, delete-orphan"
    )
    claims: Mapped[list[Claim]] = relationship(
        back_populates="article", order_by="Claim.position", cascade="all, delete-orphan"
    )


class ArticleSource(Base):
    """Where an article was seen: a feed entry (feed + GUID) or a syndicated copy."""

    __tablename__ = "article_sources"
    __table_args__ = (
        UniqueConstraint("feed_id", "guid", name="uq_article_sources_feed_guid"),
        Index("ix_article_sources_url", "url"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    guid: Mapped[str | None] = mapped_column(String(2000))
    url: Mapped[str | None] = mapped_column(String(2000))
    outlet: Mapped[str | None] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    article: Mapped[Article] = relationship(back_populates="sources")


class Event(Base):
    """A happening (a factory tour, a visit, a drill) that claims from many stories report."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    place: Mapped[str | None] = mapped_column(String(200))
    actors: Mapped[list[Any]] = mapped_column(default=list)
    start_date: Mapped[datetime | None]
    end_date: Mapped[datetime | None]
    first_seen_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    claims: Mapped[list[Claim]] = relationship(back_populates="event")


class Claim(Base):
    """A factual sentence with its extracted attributes and its verdict against earlier claims."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("article_id", "position", name="uq_claims_article_position"),
        Index("ix_claims_first_seen_at", "first_seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    attrs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    verdict: Mapped[str] = mapped_column(String(16), default="new", index=True)
    score: Mapped[float | None] = mapped_column(Float)
    changes: Mapped[list[Any]] = mapped_column(default=list)
    matched_claim_id: Mapped[int | None] = mapped_column(
        ForeignKey("claims.id", ondelete="SET NULL"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), index=True
    )
    # Claims imported with `nkwatch kb import` have no article: they carry their own provenance.
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    source: Mapped[str | None] = mapped_column(String(500))
    first_seen_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # First-seen claim of the same fact (no FK: ``matched`` already owns the self-reference).
    root_claim_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Cached sentence embedding (float16 bytes) so the semantic index loads without re-encoding.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)

    article: Mapped[Article | None] = relationship(back_populates="claims")
    event: Mapped[Event | None] = relationship(back_populates="claims")
    matched: Mapped[Claim | None] = relationship(remote_side=[id])


class ClaimCorrection(Base):
    """A stored verdict or provenance changed after the fact, because an older story arrived.

    Digests already sent are not re-sent; this is the record of what changed and why.
    """

    __tablename__ = "claim_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    corrected_at: Mapped[datetime] = mapped_column(default=utcnow)
    old_verdict: Mapped[str] = mapped_column(String(16))
    new_verdict: Mapped[str] = mapped_column(String(16))
    old_matched_claim_id: Mapped[int | None] = mapped_column(Integer)
    new_matched_claim_id: Mapped[int | None] = mapped_column(Integer)
    old_root_claim_id: Mapped[int | None] = mapped_column(Integer)
    new_root_claim_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))


class Subscription(Base):
    """A Telegram chat or Slack channel that receives digests."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("platform", "chat_id", name="uq_subscriptions_platform_chat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))  # "telegram" | "slack"
    chat_id: Mapped[str] = mapped_column(String(100))
    mode: Mapped[str] = mapped_column(String(16), default="daily")  # "daily" | "instant" | "watch"
    digest_time: Mapped[time] = mapped_column(Time, default=time(8, 0))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    instant_alerts: Mapped[bool] = mapped_column(Boolean, default=False)
    min_relevance: Mapped[float] = mapped_column(Float, default=0.0)
    send_empty: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    deactivated_reason: Mapped[str | None] = mapped_column(String(500))
    covered_until: Mapped[datetime | None]  # end of the last window delivered
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Delivery(Base):
    """Outbox row: recorded before a send, marked sent with the platform's ids after it."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # "digest" | "instant"
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    article_ids: Mapped[list[Any]] = mapped_column(default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # pending -> sending -> sent | failed | ambiguous
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    platform_message_ids: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class SeriesWatch(Base):
    """A chat that wants an alert when one figure series moves (``/subscribe track NAME``).

    Series are rebuilt from the claims, so a watch names its series twice: by ``series_slug``
    (what the data calls it) and by ``anchor_claim_id`` + ``unit`` (a point it held when the watch
    was made), which still finds it if later reports rename it. ``seen_claim_id`` is the newest
    claim of the series already looked at: only later points can raise an alert.
    """

    __tablename__ = "series_watches"
    __table_args__ = (
        UniqueConstraint("subscription_id", "series_slug", name="uq_series_watches_sub_slug"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    series_slug: Mapped[str] = mapped_column(String(300))
    series_name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(64))
    anchor_claim_id: Mapped[int] = mapped_column(Integer)  # no FK: a claim pruned leaves the slug
    seen_claim_id: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SeriesAlert(Base):
    """One alert queued for one chat about one point of a series: never queued twice."""

    __tablename__ = "series_alerts"
    __table_args__ = (
        UniqueConstraint(
            "subscription_id", "claim_id", "unit", name="uq_series_alerts_sub_claim_unit"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    claim_id: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(64))
    series_slug: Mapped[str] = mapped_column(String(300))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PollRun(Base):
    """One poll cycle's tally, for `/status` and `nkwatch poll --once`."""

    __tablename__ = "poll_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    feeds_polled: Mapped[int] = mapped_column(Integer, default=0)
    new_stories: Mapped[int] = mapped_column(Integer, default=0)
    relevant_stories: Mapped[int] = mapped_column(Integer, default=0)
    claims_new: Mapped[int] = mapped_column(Integer, default=0)
    claims_repeated: Mapped[int] = mapped_column(Integer, default=0)
    claims_updated: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)


class Lease(Base):
    """A named role one process holds until ``expires_at`` (e.g. the Telegram update poller).

    The holder renews before expiry; if it dies, another process takes the role once it runs out.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
