"""Feed parsing off the event loop: big feeds in a worker process, small ones in a thread.

A thread keeps the loop's answers coming while a small feed is parsed, but a big one (a 5 MB
feed is a few hundred thousand Python objects) makes the collector's full passes hold the GIL
for a quarter of a second at a time, and no thread hand-off helps with that. A worker process
parses it and sends back only the entries kept, so the loop's process never holds the tree.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from bot.feeds.parse import ParsedFeed, parse_feed

log = logging.getLogger(__name__)
PROCESS_PARSE_BYTES = 256 * 1024  # smaller feeds parse in a thread in a few milliseconds
PARSE_WORKERS = 2

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
        # submitted from a thread: the first submit starts the worker processes, which waits
        # for the forkserver to import the parser (a second or so)
        future = await asyncio.to_thread(lambda: _parse_pool().submit(call))
        return await asyncio.wrap_future(future)
    except BrokenProcessPool:
        log.warning("feed parser process died; parsing %s in a thread", base_url)
        _pool = None
        return await asyncio.to_thread(call)
