"""`nkwatch run`: the bot, the poller and the digest schedulers in one event loop.

Start-up order matters: the database is migrated, the seed corpus is loaded and judged, the
default feeds are synced, and the claim engine is built once and shared by every front end and
the poller. SIGTERM and SIGINT stop everything gracefully: front ends finish their current
sends, the poller is cancelled between feeds, leases are released by their owners.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from bot.claims.engine import ClaimEngine
from bot.claims.types import Verdict
from bot.corpus import load_seed_corpus
from bot.corpus.seed import seed_database
from bot.feeds.commands import poll_forever, sync_default_feeds
from bot.feeds.poller import ClaimCounts
from bot.ops import start_ops_server
from storage import articles as article_store

if TYPE_CHECKING:
    from bot.app import AppContext

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
        new = repeated = updated = 0
        with self._lock:
            for article_id in article_ids:
                article = article_store.get_article(session, article_id=article_id)
                if article is None:
                    continue
                for verdict in self.engine.ingest_article(session, article):
                    new += verdict.status == "new"
                    repeated += verdict.status == "repeated"
                    updated += verdict.status == "updated"
        return ClaimCounts(new=new, repeated=repeated, updated=updated)


def prepare_knowledge_base(ctx: AppContext) -> SharedEngine:
    """Seed (idempotent), build the engine over every stored claim, judge what is pending."""
    with ctx.sessions.begin() as session:
        seeded = seed_database(session, seeds=load_seed_corpus())
    if seeded.added:
        log.info("seed corpus loaded: %d articles", len(seeded.added))
    engine = ClaimEngine.from_settings(ctx.settings, ctx.sessions)
    with ctx.sessions() as session:  # process_pending commits article by article
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


async def run(ctx: AppContext, *, stop: asyncio.Event | None = None) -> int:
    """Run until stopped; returns the process exit code."""
    from bot.slack.app import run_slack, slack_configured  # noqa: PLC0415
    from bot.telegram.app import TOKEN_HELP, run_telegram  # noqa: PLC0415

    settings = ctx.settings
    telegram_on = settings.telegram_token is not None
    slack_on = slack_configured(ctx)
    if not telegram_on and not slack_on:
        print(TOKEN_HELP)
        return 1

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)

    shared = await asyncio.to_thread(prepare_knowledge_base, ctx)
    added = await asyncio.to_thread(sync_default_feeds, settings, ctx.sessions)
    log.info("feeds synced from %s: %d added", settings.feeds_file, added)

    ops_runner = None
    if settings.ops_port is not None:
        ops_runner = await start_ops_server(
            ctx.sessions, host=settings.ops_host, port=settings.ops_port
        )

    fronts: list[asyncio.Task[Any]] = []
    if telegram_on:
        fronts.append(
            asyncio.create_task(run_telegram(ctx, stop=stop, claims=shared), name="telegram")
        )
    if slack_on:
        fronts.append(asyncio.create_task(run_slack(ctx, stop=stop, claims=shared), name="slack"))
    poller = asyncio.create_task(
        poll_forever(settings, ctx.sessions, on_new_articles=shared.ingest), name="poller"
    )
    stopper = asyncio.create_task(stop.wait(), name="stop")
    exit_code = 0
    try:
        done, _ = await asyncio.wait(
            [*fronts, poller, stopper], return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            if task is not stopper and task.exception() is not None:
                log.error("%s stopped with an error", task.get_name(), exc_info=task.exception())
                exit_code = 1
    finally:
        log.info("shutting down")
        stop.set()
        poller.cancel()
        await asyncio.gather(*fronts, poller, return_exceptions=True)
        stopper.cancel()
        if ops_runner is not None:
            await ops_runner.cleanup()
    return exit_code
