"""What a command receives: the platform-free request, the app's services, and their DTOs.

The protocols say what the handlers need from the app (the news, the feed list, the claim
checker, the scheduler); ``bot.chat.adapters`` implements the first two over the database, and
tests substitute their own. The DTOs are detached copies, safe to hand across threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.claims.types import Verdict
from bot.errors import UserError
from bot.settings import Settings
from storage.models import Subscription

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Request:
    """One command as a front end received it, stripped of platform types."""

    platform: str  # "telegram" | "slack"
    chat_id: str
    user_id: str
    args: str = ""
    is_admin: bool = False  # a bot administrator (settings), may change the feed list
    is_group: bool = False  # a group, supergroup or channel rather than a private chat
    is_chat_admin: bool = False  # an administrator of this chat (groups only)
    user_name: str | None = None

    @property
    def prefix(self) -> str:
        """How a user types a command on this platform: "/latest" or "/nkwatch latest"."""
        return "/nkwatch " if self.platform == "slack" else "/"


@dataclass(frozen=True, slots=True)
class FeedInfo:
    id: int
    name: str
    url: str
    enabled: bool = True
    healthy: bool = True
    last_success_at: datetime | None = None
    error_count: int = 0
    last_error: str | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StoryInfo:
    article_id: int
    title: str
    url: str | None
    outlet: str | None
    published_at: datetime | None
    new: int = 0
    repeated: int = 0
    updated: int = 0


@dataclass(frozen=True, slots=True)
class ClaimInfo:
    """A stored claim with where it came from, for "show repeated claims" and match details."""

    claim_id: int
    text: str
    verdict: str
    article_title: str | None = None
    url: str | None = None
    source: str | None = None
    published_at: datetime | None = None
    earlier_source: str | None = None  # for repeats: the outlet that reported it first
    earlier_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class PollInfo:
    started_at: datetime
    finished_at: datetime | None
    feeds_polled: int
    new_stories: int
    errors: int


@dataclass(frozen=True, slots=True)
class TodayInfo:
    stories: int = 0
    relevant_stories: int = 0
    claims_new: int = 0
    claims_repeated: int = 0
    claims_updated: int = 0


class FeedRejectedError(UserError):
    """The feed cannot be added; the message is shown to the user as is."""


class ClaimChecker(Protocol):
    def check(self, text: str, *, top: int = ...) -> Verdict: ...


class FeedDirectory(Protocol):
    """The feeds engineer's store and SSRF-guarded add; sync calls run in a thread."""

    def list_feeds(self) -> Sequence[FeedInfo]: ...

    async def add_feed(self, url: str, *, added_by: str) -> FeedInfo: ...

    def remove_feed(self, feed_id: int) -> FeedInfo | None: ...


class NewsReader(Protocol):
    def latest(self, *, limit: int, min_relevance: float) -> Sequence[StoryInfo]: ...

    def claims_of(self, article_ids: Sequence[int], *, verdict: str) -> Sequence[ClaimInfo]: ...

    def claims_by_id(self, claim_ids: Sequence[int]) -> Sequence[ClaimInfo]: ...

    def last_poll(self) -> PollInfo | None: ...

    def fact_sources(self, root_claim_id: int) -> int: ...

    def today(self, *, since: datetime) -> TodayInfo: ...


class ScheduleHook(Protocol):
    """Told when a chat's subscription changed, so the front end can (re)schedule its jobs."""

    def subscription_changed(self, sub: SubscriptionView) -> None: ...


class _NoSchedule:
    def subscription_changed(self, sub: SubscriptionView) -> None:
        return None


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """A detached copy of a subscription row, safe to hand across threads and front ends."""

    id: int
    platform: str
    chat_id: str
    mode: str
    digest_time: time
    timezone: str
    instant_alerts: bool
    min_relevance: float
    active: bool

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionView:
        return cls(
            id=sub.id,
            platform=sub.platform,
            chat_id=sub.chat_id,
            mode=sub.mode,
            digest_time=sub.digest_time,
            timezone=sub.timezone,
            instant_alerts=sub.instant_alerts,
            min_relevance=sub.min_relevance,
            active=sub.active,
        )

    @property
    def daily(self) -> bool:
        return self.active and self.mode == "daily"

    @property
    def instant(self) -> bool:
        return self.active and (self.mode == "instant" or self.instant_alerts)


def next_digest_at(sub: SubscriptionView, now: datetime) -> datetime | None:
    """When the chat's next daily digest is due (aware, in the chat's zone); None if none."""
    if not sub.daily:
        return None
    zone = ZoneInfo(sub.timezone)
    local_now = now.astimezone(zone)
    candidate = datetime.combine(local_now.date(), sub.digest_time, tzinfo=zone)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=1), sub.digest_time, zone)
    return candidate


@dataclass
class Services:
    """What commands need from the app; each front end builds one from the AppContext."""

    settings: Settings
    sessions: sessionmaker[Session]
    news: NewsReader
    feeds: FeedDirectory | None = None
    claims: ClaimChecker | None = None
    schedule: ScheduleHook = field(default_factory=_NoSchedule)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


async def blocking(fn: Callable[[], T]) -> T:
    """``fn`` in a worker thread, so the front end's event loop keeps serving other chats."""
    return await asyncio.to_thread(fn)
