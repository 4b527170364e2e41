"""`nkwatch run`: the bot, the poller and the digest schedulers in one event loop.

Start-up order matters: the database is migrated, the seed corpus is loaded and judged, the
default feeds are synced, and the claim engine is built once and shared by every front end and
the poller. SIGTERM and SIGINT stop everything gracefully: front ends finish their current
sends, the poller is cancelled between feeds, leases are released by their owners.

Several processes may run against one PostgreSQL database and split the work: feeds are claimed
per poll, judging is serialised by a database lock, digests go through the shared outbox, and
one process at a time long-polls Telegram (README, "Several instances").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING, Any

from bot.feeds.cli import poll_forever, sync_default_feeds
from bot.knowledge import prepare_knowledge_base
from bot.ops import start_ops_server

if TYPE_CHECKING:
    from bot.context import AppContext

log = logging.getLogger(__name__)


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

    shared = await asyncio.to_thread(prepare_knowledge_base, settings, ctx.sessions)
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
