from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from bot.chat.adapters import DbFeeds, DbNews
from bot.chat.services import Request, Services, SubscriptionView
from bot.claims.types import Attributes, Candidate, Change, Match, Verdict
from bot.settings import Settings
from tests.conftest import Database
from tests.helpers.feed_server import FeedServer, feed_server


@dataclass
class FakeChecker:
    """Stands in for the claim engine: returns a prepared verdict and records what it was asked."""

    verdict: Verdict
    asked: list[tuple[str, int]] = field(default_factory=list)

    def check(self, text: str, *, top: int = 5) -> Verdict:
        self.asked.append((text, top))
        return self.verdict


@dataclass
class RecordingSchedule:
    changes: list[SubscriptionView] = field(default_factory=list)

    def subscription_changed(self, sub: SubscriptionView) -> None:
        self.changes.append(sub)


NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def candidate(claim_id: int, text: str, **kw: object) -> Candidate:
    return Candidate(claim_id=claim_id, text=text, attrs=Attributes(), **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def server() -> Iterator[FeedServer]:
    """Feeds on loopback: /addfeed fetches the URL it is given."""
    with feed_server() as s:
        yield s


@pytest.fixture
def services(db: Database) -> Services:
    settings = Settings(database_url=db.url, telegram_admin_ids=[1], allow_private_feeds=True)
    return Services(
        settings=settings,
        sessions=db.sessions,
        news=DbNews(db.sessions),
        feeds=DbFeeds(db.sessions, settings),
        claims=FakeChecker(Verdict(status="new", score=0.0)),
        schedule=RecordingSchedule(),
        clock=lambda: NOW,
    )


def req(args: str = "", **kw: object) -> Request:
    base: dict[str, object] = {"platform": "telegram", "chat_id": "42", "user_id": "42"}
    base.update(kw)
    return Request(args=args, **base)  # type: ignore[arg-type]


__all__: Sequence[str] = ["Change", "Match"]
