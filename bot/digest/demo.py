"""``nkwatch demo``: the whole pipeline offline, on a fresh SQLite database.

Seed corpus -> claim engine -> bundled sample feeds served from a loopback server this process
starts -> one poll cycle -> claims judged -> the digest a subscriber would get. No token, no
network beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.digest.model import Digest, build_digest
from bot.digest.query import load_stories
from bot.errors import InternalError
from bot.outbox.loop import utcnow
from bot.settings import PROJECT_ROOT, Settings

SAMPLES_DIR = PROJECT_ROOT / "bot" / "samples" / "feeds"
FEED_SUFFIXES = (".xml", ".rss", ".atom")


class DemoError(InternalError):
    """A piece the demo needs is missing; the message says which."""


@dataclass
class DemoReport:
    seeds_added: int = 0
    seed_claims: dict[str, int] = field(default_factory=dict)
    feeds: list[str] = field(default_factory=list)
    new_stories: int = 0
    relevant_stories: int = 0
    feed_claims: dict[str, int] = field(default_factory=dict)
    poll_errors: list[str] = field(default_factory=list)
    digest: Digest | None = None


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over HTTP on 127.0.0.1 (random port) until the block ends."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def sample_feeds(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in FEED_SUFFIXES)


def _counts(obj: Any) -> dict[str, int]:
    return {k: int(getattr(obj, k, 0)) for k in ("new", "repeated", "updated")}


def run_demo(
    settings: Settings,
    *,
    samples: Path = SAMPLES_DIR,
    step: Callable[[str], None] = lambda _: None,
) -> DemoReport:
    """Run the pipeline on ``settings.database_url`` (a fresh database); build the digest."""
    # Imported here so `nkwatch --help` stays fast and a missing piece names itself.
    from bot.context import AppContext  # noqa: PLC0415
    from bot.corpus import load_seed_corpus  # noqa: PLC0415
    from bot.corpus.seed import seed_database  # noqa: PLC0415

    try:
        from bot.claims.engine import ClaimEngine  # noqa: PLC0415
        from bot.feeds.fetch import make_client  # noqa: PLC0415
        from bot.feeds.poller import Poller  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - all present in a complete checkout
        msg = f"the demo needs the claim engine and the feed poller: {exc}"
        raise DemoError(msg) from exc
    from storage import feeds as feed_store  # noqa: PLC0415

    if not samples.is_dir() or not sample_feeds(samples):
        msg = f"no sample feeds (*.xml, *.rss, *.atom) in {samples}"
        raise DemoError(msg)

    report = DemoReport()
    app = AppContext(settings=settings)
    try:
        step("creating the database")
        sessions = app.sessions

        step("loading the seed corpus")
        with sessions.begin() as session:
            report.seeds_added = len(seed_database(session, seeds=load_seed_corpus()).added)

        step("extracting and judging the seed claims")
        engine = ClaimEngine.from_settings(settings, sessions)
        with sessions() as session:
            report.seed_claims = _counts(engine.process_pending(session))

        started = utcnow()
        with serve_directory(samples) as base:
            with sessions.begin() as session:
                for path in sample_feeds(samples):
                    url = f"{base}/{path.name}"
                    feed_store.add_feed(
                        session,
                        url=url,
                        name=path.name.split(".")[0].replace("_", " ").replace("-", " ").title(),
                        poll_interval_seconds=settings.poll_interval_seconds,
                        added_by="demo",
                    )
                    report.feeds.append(url)
            step(f"polling {len(report.feeds)} sample feeds from {base}")

            async def poll() -> Any:
                async with make_client(settings) as client:
                    poller = Poller(settings=settings, sessions=sessions, client=client)
                    return await poller.run_cycle()

            cycle = asyncio.run(poll())
        report.new_stories = cycle.new_stories
        report.relevant_stories = cycle.relevant_stories
        report.poll_errors = list(cycle.error_lines)

        step("extracting and judging the new stories' claims")
        with sessions() as session:
            report.feed_claims = _counts(engine.process_pending(session))

        step("composing the digest")
        until = utcnow() + timedelta(seconds=1)
        with sessions() as session:
            stories = load_stories(session, since=started - timedelta(seconds=1), until=until)
        report.digest = build_digest(stories, since=None, until=until, title="nkwatch demo digest")
        return report
    finally:
        app.close()


def demo_settings(base: Settings, database_url: str, **overrides: Any) -> Settings:
    """The user's settings, pointed at the demo database and allowed to fetch from loopback."""
    return base.model_copy(
        update={"database_url": database_url, "allow_private_feeds": True, **overrides}
    )
