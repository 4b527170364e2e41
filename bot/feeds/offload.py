"""Feed parsing off the event loop and across cores: a pool of worker processes, tiny feeds in a
thread.

feedparser is pure Python, so a parse holds the GIL: in threads, a cycle of 1,000 feeds parses
on one core and is CPU-bound there. Worker processes parse on the other cores, and the loop's
process keeps only fetching and storing. A big feed gains a second way: a 5 MB feed is a few
hundred thousand Python objects, whose collector passes would hold the loop's GIL for a quarter
of a second at a time; a worker sends back only the entries kept. A feed under
``PROCESS_PARSE_BYTES`` (a few milliseconds of parsing) stays in a thread, which spares the
round trip and, for a bot with a handful of small feeds, starting the workers at all.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from bot.feeds.parse import ParsedFeed, parse_feed

log = logging.getLogger(__name__)
PROCESS_PARSE_BYTES = 16 * 1024  # smaller feeds parse in a thread in a millisecond or two
# The poller's own process (fetching, storing) is the busiest and keeps a core: on 2 cores one
# worker out-parses it, and a second one only takes CPU from it (and 60 MB).
PARSE_WORKERS = max(1, min((os.cpu_count() or 1) - 1, 4))

_pool: ProcessPoolExecutor | None = None


def _parse_pool() -> ProcessPoolExecutor:
    """One pool per process, started on first use from a forkserver (never a fork of a process
    running threads), with the parser imported once in the server."""
    global _pool  # noqa: PLW0603 - the process-wide pool
    if _pool is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["bot.feeds.parse"])
        _pool = ProcessPoolExecutor(max_workers=PARSE_WORKERS, mp_context=context)
    return _pool


def worker_pids() -> list[int]:
    """The parse workers' process ids, so a benchmark can add their CPU time to the poller's."""
    processes = getattr(_pool, "_processes", None) or {}
    return list(processes)


async def parse_off_loop(
    body: bytes, *, content_type: str | None, base_url: str, max_entries: int | None
) -> ParsedFeed:
    """``parse_feed`` without blocking the loop; a crashed worker costs a thread parse, no feed."""
    global _pool  # noqa: PLW0603
    call = functools.partial(
        parse_feed, body, content_type=content_type, base_url=base_url, max_entries=max_entries
    )
    if len(body) < PROCESS_PARSE_BYTES:
        return await asyncio.to_thread(call)
    try:
        future: Future[ParsedFeed]
        if _pool is None or len(worker_pids()) < PARSE_WORKERS:
            # from a thread while workers are still being started: the first submit waits for
            # the forkserver to import the parser (a second or so), later ones for a fork
            future = await asyncio.to_thread(lambda: _parse_pool().submit(call))
        else:
            future = _pool.submit(call)
        return await asyncio.wrap_future(future)
    except BrokenProcessPool:
        log.warning("feed parser process died; parsing %s in a thread", base_url)
        _pool = None
        return await asyncio.to_thread(call)
