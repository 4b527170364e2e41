"""One poll cycle, and the APScheduler job that repeats it.

Each worker of a bounded async pool (a global limit and a per-host limit) claims one due feed at
a time from storage, which moves the feed's next check to a lease expiry: several processes
sharing one database poll each due feed once, and a feed whose poller died is due again when the
lease runs out. What is new is stored, then the new relevant articles go to the claim engine
through a callback (in a worker thread: it may wait for another process to finish judging).
Fetch-state policy (back-off, Retry-After, disabling) is in ``bot.feeds.fetch_state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.feeds.dedup import NearDupIndex, StoreResult, store_entries, unseen_entries
from bot.feeds.fetch import FetchLimits, FetchResult, Resolver, fetch, fetch_article_text
from bot.feeds.fetch_state import (
    FeedJob,
    feed_label,
    next_success_check,
    record_failure,
    record_fetch_result,
)
from bot.feeds.offload import parse_off_loop
from bot.feeds.parse import ParsedEntry, ParsedFeed
from bot.feeds.relevance import Topics, load_topics
from bot.settings import Settings
from storage import feeds as feed_store
from storage.db import transaction

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)
STORE_BATCH = 200  # entries stored per transaction (and per worker-thread hop)


class ClaimCountsLike(Protocol):
    @property
    def new(self) -> int: ...
    @property
    def repeated(self) -> int: ...
    @property
    def updated(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ClaimCounts:
    new: int = 0
    repeated: int = 0
    updated: int = 0


OnNewArticles = Callable[[Session, Sequence[int]], ClaimCountsLike]


@dataclass(slots=True)
class FeedOutcome:
    feed_id: int
    kind: str
    new_ids: list[int] = field(default_factory=list)
    relevant_ids: list[int] = field(default_factory=list)
    error: str | None = None
    feed: str = ""  # how the feed is named in error lines: #id, name and URL


@dataclass(slots=True)
class CycleReport:
    run_id: int | None = None
    feeds_polled: int = 0
    new_stories: int = 0
    relevant_stories: int = 0
    claims_new: int = 0
    claims_repeated: int = 0
    claims_updated: int = 0
    errors: int = 0
    feeds_failed: int = 0
    error_lines: list[str] = field(default_factory=list)
    relevant_ids: list[int] = field(default_factory=list)

    @property
    def all_failed(self) -> bool:
        """Every polled feed failed: for ``poll --once`` a non-zero exit, not a quiet report."""
        return self.feeds_polled > 0 and self.feeds_failed == self.feeds_polled


# --- the poller ----------------------------------------------------------------------------


class Poller:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        client: httpx.AsyncClient,
        topics: Topics | None = None,
        on_new_articles: OnNewArticles | None = None,
        resolver: Resolver | None = None,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.client = client
        self.topics = topics if topics is not None else load_topics(settings.topics_file)
        self.on_new_articles = on_new_articles
        self.limits = FetchLimits.from_settings(settings)
        self.resolver = resolver
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rng = rng or random.Random()
        self._host_limits: dict[str, asyncio.Semaphore] = {}
        self._index: NearDupIndex | None = None
        self._write_lock = threading.Lock()
        bind = sessions.kw.get("bind")
        self._one_writer = bind is not None and bind.dialect.name == "sqlite"

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A write transaction; on SQLite one at a time in this process. SQLite has one writer,
        and a second waits in its busy handler, which sleeps up to 100 ms a try instead of
        queueing: with parsing on other cores, those sleeps made a cycle's wall time."""
        with (
            self._write_lock if self._one_writer else contextlib.nullcontext(),
            transaction(self.sessions) as session,
        ):
            yield session

    async def run_cycle(self) -> CycleReport:
        now = self.clock()

        def start() -> int:
            with self._writing() as session:
                self._index = NearDupIndex.load(session, now=now)
                return feed_store.start_poll_run(session, now=now).id

        report = CycleReport(run_id=await asyncio.to_thread(start))
        outcomes = await self._run_pool(due_at=now)
        report.feeds_polled = len(outcomes)
        for outcome in outcomes:
            report.new_stories += len(outcome.new_ids)
            report.relevant_stories += len(outcome.relevant_ids)
            report.relevant_ids.extend(outcome.relevant_ids)
            if outcome.error is not None:
                report.errors += 1
                report.feeds_failed += 1
                report.error_lines.append(f"{outcome.feed or outcome.feed_id}: {outcome.error}")
        if report.relevant_ids and self.on_new_articles is not None:
            await asyncio.to_thread(self._ingest, report)
        await asyncio.to_thread(self._finish, report)
        self._index = None
        return report

    def _finish(self, report: CycleReport) -> None:
        assert report.run_id is not None
        with self._writing() as session:
            feed_store.finish_poll_run(
                session,
                run_id=report.run_id,
                now=self.clock(),
                feeds_polled=report.feeds_polled,
                new_stories=report.new_stories,
                relevant_stories=report.relevant_stories,
                claims_new=report.claims_new,
                claims_repeated=report.claims_repeated,
                claims_updated=report.claims_updated,
                errors=report.errors,
            )

    def _claim_next(self, *, due_at: datetime) -> FeedJob | None:
        """One feed due at the cycle's start, leased to this process; None when none is left.

        Feeds are claimed one at a time, as workers come free, so processes share a backlog
        instead of one process leasing feeds it cannot start yet.
        """
        lease_until = self.clock() + timedelta(seconds=self.settings.poll_lease_seconds)
        with self._writing() as session:
            claimed = feed_store.claim_due_feeds(
                session, now=due_at, lease_until=lease_until, limit=1
            )
            if not claimed:
                return None
            f = claimed[0]
            return FeedJob(
                id=f.id,
                name=f.name,
                url=f.url,
                interval=f.poll_interval_seconds or self.settings.poll_interval_seconds,
                etag=f.etag,
                last_modified=f.last_modified,
                error_count=f.error_count or 0,
                lease_until=lease_until,
            )

    def _ingest(self, report: CycleReport) -> None:
        assert self.on_new_articles is not None
        try:
            with transaction(self.sessions) as session:
                counts = self.on_new_articles(session, list(report.relevant_ids))
        except Exception as exc:
            log.exception("claim ingest failed for %d articles", len(report.relevant_ids))
            report.errors += 1
            report.error_lines.append(f"claims: {type(exc).__name__}: {exc}")
            return
        report.claims_new += counts.new
        report.claims_repeated += counts.repeated
        report.claims_updated += counts.updated

    async def _run_pool(self, *, due_at: datetime) -> list[FeedOutcome]:
        outcomes: list[FeedOutcome] = []
        running: dict[int, FeedJob] = {}
        drained = False  # nothing due at the cycle's start is left: no worker needs to ask again

        async def worker() -> None:
            nonlocal drained
            while not drained:
                job = await asyncio.to_thread(self._claim_next, due_at=due_at)
                if job is None:
                    drained = True
                    return
                running[job.id] = job
                outcomes.append(await self._poll_guarded(job))
                del running[job.id]

        try:
            await asyncio.gather(*(worker() for _ in range(self.settings.fetch_concurrency)))
        except asyncio.CancelledError:
            self._release(list(running.values()))
            raise
        return outcomes

    def _release(self, jobs: Sequence[FeedJob]) -> None:
        """Stopped mid-cycle: feeds claimed but not finished are due again at once."""
        try:
            with self._writing() as session:
                for job in jobs:
                    feed_store.release_feed_claims(
                        session, feed_ids=[job.id], lease_until=job.lease_until, now=self.clock()
                    )
        except Exception:  # the leases run out anyway
            log.exception("could not release %d claimed feeds", len(jobs))

    async def _poll_guarded(self, job: FeedJob) -> FeedOutcome:
        """A crash on one feed is recorded on that feed; it never stops the cycle."""
        try:
            outcome = await self.poll_feed(job)
        except Exception as exc:
            log.exception("polling feed %s failed", job.id)
            error = f"internal error: {type(exc).__name__}: {exc}"
            await asyncio.to_thread(self._fail, job, error, self.clock())
            outcome = FeedOutcome(feed_id=job.id, kind="error", error=error)
        outcome.feed = feed_label(job.id, job.name, job.url)
        return outcome

    def _host_limit(self, url: str) -> asyncio.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._host_limits:
            self._host_limits[host] = asyncio.Semaphore(self.settings.fetch_per_host)
        return self._host_limits[host]

    async def poll_feed(self, job: FeedJob) -> FeedOutcome:
        async with self._host_limit(job.url):
            result = await fetch(
                self.client,
                job.url,
                limits=self.limits,
                etag=job.etag,
                last_modified=job.last_modified,
                resolver=self.resolver,
            )
        now = self.clock()
        if result.kind == "ok":
            # Off the loop, like every step below (a big feed in a worker process): a 5 MB feed
            # parses for seconds, and the loop serves Telegram, Slack and the outbox meanwhile.
            parsed = await parse_off_loop(
                result.body,
                content_type=result.content_type,
                base_url=result.url,
                max_entries=self.settings.poll_max_entries + 1,  # one more: to log the cut
            )
            if not parsed.usable:
                error = f"not a feed: {parsed.error or 'no entries'}"
                await asyncio.to_thread(self._fail, job, error, now)
                return FeedOutcome(feed_id=job.id, kind="error", error=error)
            return await self._store(job, result, parsed, now)

        def record() -> FeedOutcome:
            with self._writing() as session:
                error = record_fetch_result(
                    session, job, result, now, settings=self.settings, rng=self.rng
                )
            return FeedOutcome(feed_id=job.id, kind=result.kind, error=error)

        return await asyncio.to_thread(record)

    def _fail(self, job: FeedJob, error: str, now: datetime) -> None:
        with self._writing() as session:
            record_failure(session, job, error, now, settings=self.settings)

    async def _store(
        self, job: FeedJob, result: FetchResult, parsed: ParsedFeed, now: datetime
    ) -> FeedOutcome:
        """Store the first ``poll_max_entries`` entries, a batch per transaction and thread.

        The fetch state (validators, next check) is written with the last batch, so a poll cut
        short is fetched again and its stored batches are then simply known.
        """
        entries: Sequence[ParsedEntry] = parsed.entries
        cap = self.settings.poll_max_entries
        if len(entries) > cap:
            log.warning("feed %s: over %d entries, keeping the first %d", job.id, cap, cap)
            entries = entries[:cap]
        if self.settings.fetch_full_text:
            entries = await self._with_full_text(job, entries)
        outcome = FeedOutcome(feed_id=job.id, kind="ok")
        batches = [entries[i : i + STORE_BATCH] for i in range(0, len(entries), STORE_BATCH)]
        for number, batch in enumerate(batches or [entries], start=1):
            last = number == max(len(batches), 1)
            stored = await asyncio.to_thread(
                self._store_batch, job, batch, result, parsed, now, last=last
            )
            outcome.new_ids.extend(stored.new_ids)
            outcome.relevant_ids.extend(stored.relevant_ids)
        return outcome

    def _store_batch(
        self,
        job: FeedJob,
        entries: Sequence[ParsedEntry],
        result: FetchResult,
        parsed: ParsedFeed,
        now: datetime,
        *,
        last: bool,
    ) -> StoreResult:
        for attempt in range(3):
            try:
                # one writer at a time in this process: the near-duplicate index is shared
                with self._write_lock, transaction(self.sessions) as session:
                    stored = store_entries(
                        session,
                        feed_id=job.id,
                        outlet=job.name,
                        entries=entries,
                        topics=self.topics,
                        threshold=self.settings.relevance_threshold,
                        now=now,
                        index=self._index,
                    )
                    if last:
                        feed_store.record_fetch_success(
                            session,
                            feed_id=job.id,
                            now=now,
                            next_check_at=next_success_check(now, job.interval, self.rng),
                            etag=result.etag,
                            last_modified=result.last_modified,
                            warning=parsed.error if parsed.bozo else None,
                        )
                return stored
            except IntegrityError:
                # Another process stored one of these stories between lookup and insert: the
                # retry finds it and records this feed as a further source.
                if attempt == 2:
                    raise
                log.info("feed %s: concurrent insert, retrying the store", job.id)
        raise AssertionError("unreachable")

    async def _with_full_text(
        self, job: FeedJob, entries: Sequence[ParsedEntry]
    ) -> list[ParsedEntry]:
        """Swap teaser text for the story page's main text, for entries not seen before."""

        def unseen() -> set[int]:
            with transaction(self.sessions) as session:
                return {id(e) for e in unseen_entries(session, feed_id=job.id, entries=entries)}

        fresh = await asyncio.to_thread(unseen)
        out: list[ParsedEntry] = []
        for entry in entries:
            if id(entry) in fresh and entry.is_teaser and entry.url:
                async with self._host_limit(entry.url):
                    text = await fetch_article_text(
                        self.client, entry.url, limits=self.limits, resolver=self.resolver
                    )
                if text and len(text) > len(entry.text):
                    out.append(dataclasses.replace(entry, full_text=text))
                    continue
            out.append(entry)
        return out


def make_scheduler(
    poller: Poller, *, tick_seconds: float = 60.0, scheduler: AsyncIOScheduler | None = None
) -> AsyncIOScheduler:
    """A job that runs a cycle every ``tick_seconds`` (each cycle polls only what is due).

    ``max_instances=1`` keeps cycles from overlapping; ``coalesce`` folds missed runs into one.
    """
    from apscheduler.schedulers.asyncio import AsyncIOScheduler  # noqa: PLC0415

    scheduler = scheduler or AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        poller.run_cycle,
        "interval",
        seconds=tick_seconds,
        id="nkwatch-poll",
        name="poll due feeds",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(int(tick_seconds), 1),
        next_run_time=datetime.now(UTC),
        replace_existing=True,
    )
    return scheduler
