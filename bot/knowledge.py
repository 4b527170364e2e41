"""The knowledge base as a running process needs it: seeded, judged, and one shared engine.

Several processes may share one database, each with its own in-memory claim index. Judging is
serialised across them by the knowledge-base lock (``storage.locks``), and each process first
indexes the claims the others stored (``ClaimEngine.catch_up``): otherwise two processes would
both judge one fact new, or both judge one pending seed article.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.claims.engine import ClaimEngine
from bot.claims.timeline import story_time
from bot.claims.types import Verdict
from bot.corpus import load_seed_corpus
from bot.corpus.seed import seed_database
from bot.feeds.poller import ClaimCounts
from bot.figures.alerts import queue_alerts_safely
from bot.settings import Settings
from storage import articles as article_store
from storage import locks

log = logging.getLogger(__name__)


class SharedEngine:
    """The one claim engine, serialised: ingest writes its index while chats read it."""

    def __init__(self, engine: ClaimEngine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def check(self, text: str, *, top: int = 5, published: datetime | None = None) -> Verdict:
        """Judge a chat's claim against every stored claim, including other processes' ones."""
        with self._lock:
            try:
                with self.engine.sessions() as session:
                    self.engine.catch_up(session)
                    session.commit()  # embeddings computed for caught-up claims are kept
            except Exception:  # the database is away: answer from the claims indexed so far
                log.exception("claim index could not catch up; answering from memory")
            return self.engine.check(text, top=top, published=published)

    def ingest(self, session: Session, article_ids: Sequence[int]) -> ClaimCounts:
        """The poller's ``on_new_articles``: judge each article once, tally the verdicts.

        Holds the knowledge-base lock until the caller commits ``session``, so the next process
        to judge sees these claims; waits for it outside ``_lock`` so chats are not held up.
        """
        counts = {"new": 0, "repeated": 0, "updated": 0}
        locks.lock_until_commit(session, name=locks.KNOWLEDGE)
        with self._lock:
            self.engine.catch_up(session)
            articles = [
                article
                for article_id in article_ids
                if (article := article_store.get_article(session, article_id=article_id))
                is not None
                and not article.claims_extracted
            ]
            # One timeline: feeds list their newest items first, several feeds interleave, and
            # a story can only repeat what was published before it.
            articles.sort(key=lambda a: (story_time(a), a.id))
            for article in articles:
                for verdict in self.engine.ingest_article(session, article):
                    counts[verdict.status] += 1
        if articles:  # stored with the claims that moved the series, under the same lock
            queue_alerts_safely(session)
        return ClaimCounts(**counts)


def prepare_knowledge_base(settings: Settings, sessions: sessionmaker[Session]) -> SharedEngine:
    """Build the engine over every stored claim, then seed (idempotent) and judge what is pending.

    The index loads outside the knowledge-base lock (it is the slow part, and only reads);
    seeding and judging each hold it, so processes starting together neither insert the seed
    twice nor judge one pending article twice.
    """
    engine = ClaimEngine.from_settings(settings, sessions)
    with sessions.begin() as session:
        locks.lock_until_commit(session, name=locks.KNOWLEDGE)
        seeded = seed_database(session, seeds=load_seed_corpus())
    if seeded.added:
        log.info("seed corpus loaded: %d articles", len(seeded.added))
    counts = engine.judge_pending()
    if counts.claims:
        log.info(
            "judged %d pending claims: %d new, %d repeated, %d updated",
            counts.claims,
            counts.new,
            counts.repeated,
            counts.updated,
        )
    with sessions.begin() as session:  # points judged just now, or before a crash
        locks.lock_until_commit(session, name=locks.KNOWLEDGE)
        queue_alerts_safely(session)
    return SharedEngine(engine)
