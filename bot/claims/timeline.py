"""A story's place on the timeline: a claim may repeat only what was reported before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.claims.types import Candidate

if TYPE_CHECKING:
    from storage.models import Article


@dataclass(frozen=True, slots=True)
class Moment:
    """A story's place on the timeline: its publication time, ties broken by arrival."""

    at: datetime
    article_id: int | None = None

    def precedes(self, cand: Candidate) -> bool:
        """Whether ``cand`` was reported before this moment (so it may be matched)."""
        if cand.published is None or cand.published < self.at:
            return True
        if cand.published > self.at:
            return False
        return (
            cand.article_id is not None
            and self.article_id is not None
            and cand.article_id < self.article_id
        )


def story_time(article: Article) -> datetime:
    """Where a story sits on the timeline: its publication time, else its fetch time."""
    return article.published_at or article.fetched_at or datetime.now(UTC)
