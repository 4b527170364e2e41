"""Shell commands: ``nkwatch digest`` (preview), ``nkwatch deliver`` (send what is due) and
``nkwatch demo`` (the offline main job).

The lead registers ``digest_command``, ``deliver_command`` and ``demo_command`` in bot/cli.py;
each receives the ``AppContext`` through ``@click.pass_obj``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import click
from sqlalchemy.orm import Session, sessionmaker

from bot.digest.model import Digest, build_digest
from bot.digest.query import load_stories
from bot.digest.render import FORMATS as RENDER_FORMATS
from bot.digest.render import Format, render
from bot.outbox.compose import ComposeStats, compose_due, last_occurrence
from bot.outbox.loop import DeliveryLoop, Sender, utcnow
from bot.senders import LoopbackSender, platform_limiters
from bot.settings import Settings
from bot.slack.sender import SlackSender, make_client
from bot.telegram.sender import TelegramSender
from storage import deliveries as outbox
from storage.models import Subscription

log = logging.getLogger(__name__)

FORMATS = RENDER_FORMATS  # html is a standalone page; telegram-html the chat preview


class AppLike(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def sessions(self) -> sessionmaker[Session]: ...


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        msg = (
            f"{name} must be an ISO date or date-time such as 2026-11-19 or 2026-11-19T08:00+09:00"
        )
        raise click.BadParameter(msg) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def find_subscription(session: Session, chat: str) -> Subscription:
    platform, sep, chat_id = chat.partition(":")
    if not sep or platform not in ("telegram", "slack") or not chat_id:
        msg = "--chat takes PLATFORM:ID, for example telegram:-1001234 or slack:C0123"
        raise click.BadParameter(msg)
    for sub in outbox.active_subscriptions(session, platform=platform):
        if sub.chat_id == chat_id:
            return sub
    msg = f"no active subscription for {platform}:{chat_id}"
    raise click.ClickException(msg)


def preview_digest(
    session: Session,
    *,
    chat: str | None,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
    include_seeds: bool = False,
) -> Digest:
    """The digest a chat would get if its window closed now, or the digest of a time window."""
    min_relevance = 0.0
    if chat is not None:
        sub = find_subscription(session, chat)
        min_relevance = sub.min_relevance
        if since is None:
            since = sub.covered_until or (
                last_occurrence(sub.digest_time, sub.timezone, now) - timedelta(days=1)
            )
    until = until or now
    origin = None if include_seeds else "feed"
    stories = load_stories(
        session, since=since, until=until, min_relevance=min_relevance, origin=origin
    )
    return build_digest(stories, since=since, until=until)


@click.command("digest")
@click.option("--chat", help="Preview the next digest of this chat: PLATFORM:ID.")
@click.option("--since", help="Window start (ISO date/time, UTC unless given); default: a day ago.")
@click.option("--until", help="Window end (ISO date/time); default: now.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--include-seeds", is_flag=True, help="Also list the seed corpus articles.")
@click.pass_obj
def digest_command(
    app: AppLike,
    *,
    chat: str | None,
    since: str | None,
    until: str | None,
    fmt: str,
    include_seeds: bool,
) -> None:
    """Show a digest without sending it: for a chat (--chat) or for a time window."""
    now = utcnow()
    start = _when(since, "--since")
    end = _when(until, "--until")
    if chat is None and start is None:
        start = (end or now) - timedelta(days=1)
    if start is not None and end is not None and start >= end:
        raise click.BadParameter("--since must be before --until")
    with app.sessions() as session:
        digest = preview_digest(
            session, chat=chat, since=start, until=end, now=now, include_seeds=include_seeds
        )
    fmt_value: Format = fmt  # type: ignore[assignment]
    click.echo(render(digest, fmt_value))


# --------------------------------------------------------------------------------------------
# deliver


@contextlib.asynccontextmanager
async def platform_senders(
    settings: Settings, *, loopback_url: str | None
) -> AsyncIterator[dict[str, Sender]]:
    """Senders for every platform this process can reach, opened and closed together."""
    import httpx  # noqa: PLC0415

    async with contextlib.AsyncExitStack() as stack:
        senders: dict[str, Sender] = {}
        if loopback_url:
            client = await stack.enter_async_context(httpx.AsyncClient())
            sender = LoopbackSender(loopback_url, client)
            senders = {"telegram": sender, "slack": sender}
            yield senders
            return
        if settings.telegram_token is not None:
            from telegram import LinkPreviewOptions  # noqa: PLC0415
            from telegram.ext import Defaults, ExtBot  # noqa: PLC0415

            # No rate limiter in the Bot: DeliveryLoop takes the send slot before it marks a part
            # in flight (platform_limiters), so no part waits for a slot once marked.
            kwargs: dict[str, Any] = {
                "defaults": Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)),
            }
            if settings.telegram_base_url:
                kwargs["base_url"] = settings.telegram_base_url
            bot: Any = ExtBot(settings.telegram_token.get_secret_value(), **kwargs)
            await stack.enter_async_context(bot)
            senders["telegram"] = TelegramSender(bot)
        if settings.slack_bot_token is not None:
            slack_client = make_client(
                settings.slack_bot_token.get_secret_value(), base_url=settings.slack_base_url
            )
            senders["slack"] = SlackSender(slack_client)
        yield senders


async def deliver_until_done(
    sessions: sessionmaker[Session],
    senders: dict[str, Sender],
    *,
    compose: bool,
    loop: bool,
    interval: float,
    lease_seconds: float,
    concurrency: int = 8,
    now: Callable[[], datetime] = utcnow,
    echo: Callable[[str], None] = lambda _: None,
) -> DeliveryLoop:
    """Compose what is due, then send the outbox; with ``loop``, repeat until stopped."""
    runner = DeliveryLoop(
        sessions=sessions,
        sender_for_platform=senders.get,
        platforms=sorted(senders),
        lease_seconds=lease_seconds,
        concurrency=concurrency,
        limiters=platform_limiters(senders),
    )
    while True:
        if compose:
            with sessions() as session:
                stats: ComposeStats = compose_due(session, now(), platforms=sorted(senders))
            if stats.composed:
                echo(f"composed {stats.composed} deliveries")
        await runner.run_once()
        if not loop:
            with sessions() as session:
                left = sum(
                    count
                    for status, count in outbox.status_counts(session).items()
                    if status in outbox.OPEN
                )
            if not left:
                return runner
        await asyncio.sleep(interval)


@click.command("deliver")
@click.option("--loop", "loop_", is_flag=True, help="Keep composing and sending until stopped.")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between rounds.")
@click.option("--compose/--no-compose", default=True, help="Compose due digests first.")
@click.option("--lease-seconds", default=120.0, show_default=True, hidden=True)
@click.option("--concurrency", default=8, show_default=True, help="Sends in flight at once.")
@click.option(
    "--loopback-url",
    hidden=True,
    help="Test target: POST every message to this loopback recorder instead of a platform "
    "(tests/helpers/recording_server.py). Used by the crash test and benchmarks.",
)
@click.pass_obj
def deliver_command(
    app: AppLike,
    *,
    loop_: bool,
    interval: float,
    compose: bool,
    lease_seconds: float,
    concurrency: int,
    loopback_url: str | None,
) -> None:
    """Compose the digests that are due and send the outbox (Telegram and/or Slack)."""

    async def main() -> DeliveryLoop:
        async with platform_senders(app.settings, loopback_url=loopback_url) as senders:
            if not senders:
                msg = (
                    "no platform configured: set NKWATCH_TELEGRAM_TOKEN or NKWATCH_SLACK_BOT_TOKEN"
                )
                raise click.ClickException(msg)
            return await deliver_until_done(
                app.sessions,
                senders,
                compose=compose,
                loop=loop_,
                interval=min(interval, 1.0) if not loop_ else interval,
                lease_seconds=lease_seconds,
                concurrency=concurrency,
                echo=click.echo,
            )

    runner = asyncio.run(main())
    s = runner.stats
    click.echo(
        f"delivered {s.sent}, messages {s.messages}, ambiguous {s.ambiguous}, retried {s.retried}, "
        f"failed {s.failed}, deactivated {s.deactivated}, moved {s.moved}"
    )


# --------------------------------------------------------------------------------------------
# demo

DEMO_STEPS = 7


@click.command("demo")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file to build (must not exist yet); default: a temporary directory.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--semantic",
    type=click.Choice(["auto", "on", "off"]),
    help="Sentence-embedding matching (default: NKWATCH_SEMANTIC).",
)
@click.option(
    "--samples",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    hidden=True,
    help="Directory of feeds to serve instead of the bundled bot/samples/feeds.",
)
@click.pass_obj
def demo_command(
    app: AppLike, *, db_path: Path | None, fmt: str, semantic: str | None, samples: Path | None
) -> None:
    """Run the whole pipeline offline and print the digest a subscriber would get.

    A fresh SQLite database, the seed corpus, the bundled sample feeds served from a loopback
    server, one poll cycle. Needs no token and no network.
    """
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn  # noqa: PLC0415

    from bot.digest.demo import SAMPLES_DIR, DemoError, demo_settings, run_demo  # noqa: PLC0415

    with contextlib.ExitStack() as stack:
        if db_path is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nkwatch-demo-")))
            db_path = tmp / "demo.db"
        elif db_path.exists():
            msg = f"{db_path} exists: the demo builds a fresh database (remove it or pick another)"
            raise click.BadParameter(msg, param_hint="--db")
        overrides: dict[str, Any] = {"semantic": semantic} if semantic else {}
        settings = demo_settings(app.settings, f"sqlite:///{db_path}", **overrides)
        console = Console(stderr=True)
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            console=console,
            transient=True,
        )
        quiet = contextlib.ExitStack()
        if logging.getLogger().level < logging.WARNING:
            # The progress bar tells the story; INFO lines would tear it apart.
            root = logging.getLogger()
            quiet.callback(root.setLevel, root.level)
            root.setLevel(logging.WARNING)
        with quiet, progress:
            task = progress.add_task("starting", total=DEMO_STEPS)

            def step(text: str) -> None:
                progress.update(task, description=text, advance=1)

            try:
                report = run_demo(settings, samples=samples or SAMPLES_DIR, step=step)
            except DemoError as exc:
                raise click.ClickException(str(exc)) from exc
            progress.update(task, completed=DEMO_STEPS)
        seeds = report.seed_claims
        feeds = report.feed_claims
        console.print(
            f"[bold]nkwatch demo[/bold]: {report.seeds_added} seed articles "
            f"({sum(seeds.values())} claims) in {db_path}; "
            f"{len(report.feeds)} sample feeds, {report.new_stories} new stories, "
            f"{report.relevant_stories} relevant; claims: {feeds.get('new', 0)} new, "
            f"{feeds.get('repeated', 0)} repeated, {feeds.get('updated', 0)} updated",
            highlight=False,
            soft_wrap=True,
        )
        for line in report.poll_errors:
            console.print(f"[yellow]poll error:[/yellow] {line}", highlight=False)
        assert report.digest is not None
        fmt_value: Format = fmt  # type: ignore[assignment]
        click.echo(render(report.digest, fmt_value))
