"""Run a labelled stream through the real path: a fresh SQLite database, the seed corpus loaded
and judged, two RSS feeds served over loopback HTTP, the feeds added as a user adds them, one
poll cycle; then the stored claims are read back and mapped to the stream's stories.

Nothing here scores: ``bot.claims.streams.score_stream`` does, on the plain rows returned.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bot.claims.evaluation import seed_prefix
from bot.claims.streams import StoredClaim, Story, rss_feed
from bot.context import AppContext
from bot.feeds.cli import add_user_feed, poll_once
from bot.feeds.poller import CycleReport
from bot.knowledge import prepare_knowledge_base
from bot.settings import Settings
from storage.eval_rows import ClaimRow, EventSpan, article_claim_rows, event_spans

FEEDS = ("a", "b")


MONTH = 31


@dataclass(frozen=True, slots=True)
class StreamRun:
    claims: list[StoredClaim]
    cycle: CycleReport
    stories_stored: int
    events: list[EventSpan]

    def event_lines(self) -> list[str]:
        """How bounded the events are: a happening's window, and how far apart its stories."""
        if not self.events:
            return ["events                    0"]
        largest = max(self.events, key=lambda e: e.claims)
        widest = max((e.window_days or 0) for e in self.events)
        spread = sum(1 for e in self.events if e.stories_days > MONTH)
        return [
            f"events                    {len(self.events)}; largest {largest.claims} claims "
            f"({largest.title})",
            f"event windows             widest {widest} days; {spread} events gather stories "
            f"over {MONTH} days apart (restatements of an earlier happening)",
        ]


@contextmanager
def serve(docs: Mapping[str, bytes]) -> Iterator[str]:
    """Serve ``docs`` (path -> RSS body) on 127.0.0.1; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = docs.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the eval's output is its report."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="stream-feeds", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _source(url: str | None, title: str | None, stories: Sequence[Story]) -> str | None:
    """The story id (by URL, then by title) or ``seed:NNN`` of a stored article."""
    if url is not None and url.startswith("seed:"):
        prefix = seed_prefix(url)
        return f"seed:{prefix}" if prefix else None
    for story in stories:
        if url is not None and url.rstrip("/") == story.url.rstrip("/"):
            return story.id
    for story in stories:
        if title is not None and title.strip() == story.title.strip():
            return story.id
    return None


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def to_stored(rows: Sequence[ClaimRow], stories: Sequence[Story]) -> list[StoredClaim]:
    sources: dict[str | None, str | None] = {}
    out: list[StoredClaim] = []
    for row in rows:
        if row.url not in sources:
            sources[row.url] = _source(row.url, row.title, stories)
        matched = None
        if row.matched_url is not None:
            matched = _source(row.matched_url, None, stories)
        out.append(
            StoredClaim(
                source=sources[row.url],
                text=row.text,
                verdict=row.verdict,
                published=_aware(row.published),
                matched_source=matched,
                matched_published=_aware(row.matched_published),
                root_published=_aware(row.root_published),
            )
        )
    return out


async def _add_and_poll(settings: Settings, app: AppContext, base_url: str) -> CycleReport:
    shared = prepare_knowledge_base(settings, app.sessions)
    for feed in FEEDS:
        await add_user_feed(
            settings,
            app.sessions,
            url=f"{base_url}/{feed}.xml",
            name=f"stream feed {feed}",
            interval=None,
            added_by="eval",
        )
    return await poll_once(settings, app.sessions, on_new_articles=shared.ingest)


def run_stream(base: Settings, stories: Sequence[Story]) -> StreamRun:
    """Poll the stream once on a fresh temporary database and return its stored claims."""
    docs = {
        f"/{feed}.xml": rss_feed(stories, feed=feed, title=f"nkwatch stream, feed {feed}")
        for feed in FEEDS
    }
    with tempfile.TemporaryDirectory(prefix="nkwatch-stream-") as tmp:
        settings = base.model_copy(
            update={
                "database_url": f"sqlite:///{Path(tmp) / 'stream.db'}",
                "allow_private_feeds": True,  # the feeds are served on loopback
                "fetch_full_text": False,  # the feed carries the full text
            }
        )
        app = AppContext(settings=settings)
        try:
            with serve(docs) as base_url:
                cycle = asyncio.run(_add_and_poll(settings, app, base_url))
            with app.sessions() as session:
                rows = article_claim_rows(session)
                events = event_spans(session)
        finally:
            app.close()
    claims = to_stored(rows, stories)
    stored = len({c.source for c in claims if c.source and not c.source.startswith("seed:")})
    return StreamRun(claims=claims, cycle=cycle, stories_stored=stored, events=events)
