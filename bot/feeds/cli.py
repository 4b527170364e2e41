"""Shell commands for feeds: ``nkwatch poll --once`` and ``nkwatch feeds add|remove|list``.

The lead registers ``poll`` and ``feeds`` in bot/cli.py; both get the app context through
``@click.pass_obj`` (anything with ``.settings`` and ``.sessions``). ``feeds`` imports nothing
beyond storage and the URL check; the claim engine is loaded only by ``poll``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import click
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import EX_UNAVAILABLE, InputError
from bot.feeds.check import NotAFeedError, check_answers_with_feed
from bot.feeds.config import FeedConfigError, load_feed_specs, normalise_feed_url, sync_feeds
from bot.feeds.fetch import FetchError, check_public_url, make_client
from bot.feeds.poller import CycleReport, OnNewArticles, Poller, make_scheduler
from bot.settings import Settings
from storage import feeds as feed_store
from storage.db import transaction

log = logging.getLogger(__name__)
MAX_NAME = 200


class AppLike(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def sessions(self) -> sessionmaker[Session]: ...


# --- functions the app and the chat front ends call ------------------------------------------


def sync_default_feeds(settings: Settings, sessions: sessionmaker[Session]) -> int:
    """Called by the app at start: config/feeds.toml feeds missing from the database are added."""
    specs = load_feed_specs(settings.feeds_file, default_interval=settings.poll_interval_seconds)
    with transaction(sessions) as session:
        return sync_feeds(session, specs)


class FeedAddError(InputError, ValueError):
    """A feed cannot be added; the message is fit to show the admin."""


async def add_user_feed(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    url: str,
    name: str | None,
    interval: int | None,
    added_by: str,
    check: bool = False,
) -> int:
    """Validate (scheme, SSRF guard after DNS, duplicates; with ``check``, that the URL answers
    with a feed) and add; returns the feed id."""
    url = url.strip()
    if len(url) > 2000:
        raise FeedAddError("URL is longer than 2000 characters")
    if not url.startswith(("http://", "https://")):
        raise FeedAddError("URL must start with http:// or https://")
    if interval is not None and interval < 60:
        raise FeedAddError("interval must be at least 60 seconds")
    if not settings.allow_private_feeds:
        try:
            await check_public_url(url)
        except FetchError as exc:
            raise FeedAddError(f"refused: {exc}") from exc
    if check:
        try:
            await check_answers_with_feed(settings, url)
        except NotAFeedError as exc:
            raise FeedAddError(f"{exc} (--no-check adds it)") from exc
    canonical = normalise_feed_url(url)
    with transaction(sessions) as session:
        if feed_store.get_feed_by_url(session, url=canonical) is not None:
            raise FeedAddError(f"already present: {canonical}")
        feed = feed_store.add_feed(
            session,
            url=canonical,
            name=(name or canonical)[:MAX_NAME],
            poll_interval_seconds=interval or settings.poll_interval_seconds,
            added_by=added_by[:100],
        )
        return feed.id


def remove_feed(sessions: sessionmaker[Session], *, feed_id: int, by: str) -> str | None:
    """Remove a feed. Feeds from config/feeds.toml are disabled instead of deleted, so the start-up
    sync does not bring them back. Returns what was done, or None if there is no such feed."""
    with transaction(sessions) as session:
        feed = feed_store.get_feed(session, feed_id=feed_id)
        if feed is None:
            return None
        if feed.added_by == "config":
            feed_store.disable_feed(session, feed_id=feed_id, reason=f"removed by {by}"[:500])
            return "disabled"
        feed_store.remove_feed(session, feed_id=feed_id)
        return "deleted"


def claims_callback(app: AppLike) -> OnNewArticles:
    """The claim engine's ingest, prepared as ``nkwatch run`` does it: seed corpus loaded
    (idempotent), pending articles judged, then each new relevant article ingested."""
    from bot.knowledge import prepare_knowledge_base  # noqa: PLC0415 - heavy, poll only

    return prepare_knowledge_base(app.settings, app.sessions).ingest


async def poll_once(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    on_new_articles: OnNewArticles | None = None,
) -> CycleReport:
    async with make_client(settings) as client:
        poller = Poller(
            settings=settings, sessions=sessions, client=client, on_new_articles=on_new_articles
        )
        return await poller.run_cycle()


async def poll_forever(
    settings: Settings, sessions: sessionmaker[Session], *, on_new_articles: OnNewArticles | None
) -> None:
    async with make_client(settings) as client:
        poller = Poller(
            settings=settings, sessions=sessions, client=client, on_new_articles=on_new_articles
        )
        scheduler = make_scheduler(poller, tick_seconds=settings.poll_tick_seconds)
        scheduler.start()
        try:
            await asyncio.Event().wait()
        finally:
            scheduler.shutdown(wait=False)


def format_report(report: CycleReport) -> list[str]:
    lines = [
        f"feeds polled:     {report.feeds_polled}",
        f"new stories:      {report.new_stories}",
        f"relevant stories: {report.relevant_stories}",
        f"claims:           {report.claims_new} new, {report.claims_repeated} repeated, "
        f"{report.claims_updated} updated",
        f"errors:           {report.errors}",
    ]
    lines.extend(f"  {line}" for line in report.error_lines)
    return lines


# --- click commands --------------------------------------------------------------------------


@click.command("poll")
@click.option("--once", is_flag=True, help="Run one cycle over the due feeds and exit.")
@click.option("--no-claims", is_flag=True, help="Store stories without extracting claims.")
@click.pass_obj
def poll_command(app: AppLike, once: bool, no_claims: bool) -> None:
    """Poll the due feeds (once, or on a schedule until stopped).

    Only the feeds in the database are polled; ``feeds add --defaults`` adds the default list.
    ``--once`` exits with 69 (EX_UNAVAILABLE) when every polled feed failed.
    """
    with app.sessions() as session:
        if not feed_store.list_feeds(session):
            click.echo(
                "nkwatch: no feeds (add one: nkwatch feeds add URL, or --defaults)", err=True
            )
    callback = None if no_claims else claims_callback(app)
    if once:
        report = asyncio.run(poll_once(app.settings, app.sessions, on_new_articles=callback))
        for line in format_report(report):
            click.echo(line)
        if report.all_failed:
            click.echo(f"nkwatch: all {report.feeds_polled} polled feeds failed", err=True)
            click.get_current_context().exit(EX_UNAVAILABLE)
        return
    asyncio.run(poll_forever(app.settings, app.sessions, on_new_articles=callback))


@click.group("feeds")
def feeds_group() -> None:
    """List, add and remove the polled feeds."""


@feeds_group.command("list")
@click.pass_obj
def feeds_list(app: AppLike) -> None:
    with app.sessions() as session:
        feeds = feed_store.list_feeds(session)
        if not feeds:
            click.echo("no feeds")
            return
        for feed in feeds:
            state = "enabled" if feed.enabled else f"disabled ({feed.disabled_reason})"
            last = (
                f"; last error {feed.last_error_at:%Y-%m-%d %H:%M}Z: {feed.last_error}"
                if (feed.last_error and feed.last_error_at)
                else ""
            )
            click.echo(
                f"{feed.id:>4}  {feed.name}  {feed.url}  every {feed.poll_interval_seconds}s  "
                f"{state}{last}"
            )


@feeds_group.command("add")
@click.argument("url", required=False)
@click.option("--name", default=None, help="Display name (defaults to the URL).")
@click.option("--interval", type=int, default=None, help="Poll interval in seconds (>= 60).")
@click.option("--defaults", is_flag=True, help="Add the default feed list (NKWATCH_FEEDS_FILE).")
@click.option("--no-check", is_flag=True, help="Add URL without checking it answers with a feed.")
@click.pass_obj
def feeds_add(
    app: AppLike,
    *,
    url: str | None,
    name: str | None,
    interval: int | None,
    defaults: bool,
    no_check: bool,
) -> None:
    """Add URL (checked: it must answer with a feed), or the default feeds with --defaults."""
    if defaults == (url is not None):
        raise click.UsageError("give either URL or --defaults")
    if url is None:
        try:
            added = sync_default_feeds(app.settings, app.sessions)
        except FeedConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"added {added} default feeds from {app.settings.feeds_file}")
        return
    try:
        feed_id = asyncio.run(
            add_user_feed(
                app.settings,
                app.sessions,
                url=url,
                name=name,
                interval=interval,
                added_by="cli",
                check=not no_check,
            )
        )
    except FeedAddError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added feed {feed_id}")


@feeds_group.command("remove")
@click.argument("feed_id", type=click.IntRange(1, 2**31 - 1))
@click.pass_obj
def feeds_remove(app: AppLike, feed_id: int) -> None:
    done = remove_feed(app.sessions, feed_id=feed_id, by="cli")
    if done is None:
        raise click.ClickException(f"no feed with id {feed_id}")
    click.echo(f"feed {feed_id} {done}")
