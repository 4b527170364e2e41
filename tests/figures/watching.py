"""Stories fed one at a time through the poller's judging callback, as polls bring them.

``SharedEngine.ingest`` is what ``Poller`` calls with a poll's new relevant articles, in the
poll's transaction; the series alerts are queued there. Two extra stories, written for these
tests: the same outlet restating its own figure (no move), and a third outlet giving the same
figure (a new source).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.claims.engine import ClaimEngine
from bot.knowledge import SharedEngine
from bot.settings import Settings
from storage.db import transaction
from tests.figures.stream import SEOUL, STORIES, Story, store_story

BORDER = "Border Monitor"

# the same outlet repeats its own figure: the series does not move
RESTATED = Story(
    datetime(2024, 7, 1, 9, 0, tzinfo=UTC),
    SEOUL,
    "Seoul's defence ministry repeated that North Korea has shipped 10,000 containers of "
    "munitions to Russia. Lawmakers asked for a closed briefing.",
)
# an outlet new to the series gives the same figure: a new competing source
CONFIRMED = Story(
    datetime(2024, 7, 15, 9, 0, tzinfo=UTC),
    BORDER,
    "Satellite imagery reviewed by analysts is consistent with 10,000 containers of munitions "
    "shipped by North Korea to Russia. Rail traffic at Tumangang stayed high.",
)


class Feeder:
    """One judging engine, as a running process has; ``feed`` is one poll of one story."""

    def __init__(self, sessions: sessionmaker[Session], url: str) -> None:
        self.sessions = sessions
        self.settings = Settings(database_url=url, semantic="off")
        self.shared = SharedEngine(ClaimEngine.from_settings(self.settings, sessions))
        self.article_ids: list[int] = []

    def feed(self, story: Story) -> int:
        with transaction(self.sessions) as s:
            article_id = store_story(s, story)
        self.repoll([article_id])
        self.article_ids.append(article_id)
        return article_id

    def repoll(self, article_ids: list[int]) -> None:
        with transaction(self.sessions) as s:
            self.shared.ingest(s, article_ids)


def container_reports() -> list[Story]:
    return [s for s in STORIES if "container" in s.text]
