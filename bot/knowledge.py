"""The knowledge base as a running process needs it: seeded, judged, and one shared engine."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.claims.engine import ClaimEngine
from bot.claims.types import Verdict
from bot.corpus import load_seed_corpus
from bot.corpus.seed import seed_database
from bot.feeds.poller import ClaimCounts
from bot.settings import Settings
from storage import articles as article_store

log = logging.getLogger(__name__)


class SharedEngine:
    """The one claim engine, serialised: ingest writes its index while chats read it."""

    def __init__(self, engine: ClaimEngine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def check(self, text: str, *, top: int = 5, published: datetime | None = None) -> Verdict:
        with self._lock:
            return self.engine.check(text, top=top, published=published)

    def ingest(self, session: Session, article_ids: Sequence[int]) -> ClaimCounts:
        """The poller's ``on_new_articles``: judge each article once, tally the verdicts."""
        counts = {"new": 0, "repeated": 0, "updated": 0}
        with self._lock:
            for article_id in article_ids:
                article = article_store.get_article(session, article_id=article_id)
                if article is None or article.claims_extracted:
                    continue
                for verdict in self.engine.ingest_article(session, article):
                    counts[verdict.status] += 1
        return ClaimCounts(**counts)


def prepare_knowledge_base(settings: Settings, sessions: sessionmaker[Session]) -> SharedEngine:
    """Seed (idempotent), build the engine over every stored claim, judge what is pending."""
    with sessions.begin() as session:
        seeded = seed_database(session, seeds=load_seed_corpus())
    if seeded.added:
        log.info("seed corpus loaded: %d articles", len(seeded.added))
    engine = ClaimEngine.from_settings(settings, sessions)
    with sessions() as session:  # process_pending commits article by article
        counts = engine.process_pending(session)
    if counts.claims:
        log.info(
            "judged %d pending claims: %d new, %d repeated, %d updated",
            counts.claims,
            counts.new,
            counts.repeated,
            counts.updated,
        )
    return SharedEngine(engine)
