"""The `nkwatch` command line. Every command gets one AppContext built from the settings.

Cold start: the command modules (and with them SQLAlchemy, numpy, the claim engine, the chat
libraries) are imported only for the command that runs; ``nkwatch --help`` lists the commands
from :data:`LAZY_COMMANDS` without importing any of them (a test keeps that table's help lines
equal to the commands' own).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from bot.context import AppContext

# name -> (module, attribute, one-line help)
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "claim": (
        "bot.claims.cli",
        "claim_command",
        "Judge TEXT (or each line of stdin) as new,...",
    ),
    "kb": ("bot.claims.cli", "kb_group", "The knowledge base of claims."),
    "claims": (
        "bot.claims.cli",
        "claims_command",
        "List ARTICLE's claims (an article id) with...",
    ),
    "eval": ("bot.claims.cli", "eval_command", "Score the engine on a labelled JSONL FILE..."),
    "events": (
        "bot.claims.cli",
        "events_command",
        "Events with their first-seen date, sources...",
    ),
    "index": ("bot.claims.index_cli", "index_group", "The claim index on disk."),
    "poll": ("bot.feeds.cli", "poll_command", "Poll the due feeds (once, or on a schedule..."),
    "feeds": ("bot.feeds.cli", "feeds_group", "List, add and remove the polled feeds."),
    "digest": (
        "bot.digest.cli",
        "digest_command",
        "Show a digest without sending it: for a...",
    ),
    "deliver": (
        "bot.digest.cli",
        "deliver_command",
        "Compose the digests that are due and send...",
    ),
    "demo": ("bot.digest.cli", "demo_command", "Run the whole pipeline offline and print..."),
    "figures": (
        "bot.figures.cli",
        "figures_command",
        "Tracked figures: how each moved, from whom...",
    ),
    "export": ("bot.data_cli", "export_command", "Export every claim with its verdict and..."),
    "backup": ("bot.data_cli", "backup_command", "Copy the SQLite database to TARGET,..."),
    "restore": ("bot.data_cli", "restore_command", "Replace the SQLite database with a backup..."),
    "prune": ("bot.data_cli", "prune_command", "Clear the text of feed articles older than..."),
}


class LazyGroup(click.Group):
    """A group whose listed commands are imported only when one of them runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, attr, _ = LAZY_COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (name, LAZY_COMMANDS[name][2] if name in LAZY_COMMANDS else self._short(ctx, name))
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _short(self, ctx: click.Context, name: str) -> str:
        command = super().get_command(ctx, name)
        return "" if command is None else command.get_short_help_str(limit=45)


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class NkwatchGroup(LazyGroup):
    """Turns any error into one line on stderr and a sysexits code; ``-v`` adds the traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            from bot.context import AppContext, display_url  # noqa: PLC0415 - cold start
            from bot.errors import InternalError, as_nkwatch_error  # noqa: PLC0415

            app = ctx.obj if isinstance(ctx.obj, AppContext) else None
            url = display_url(app.settings.database_url) if app is not None else None
            error = as_nkwatch_error(exc, database_url=url)
            verbose = bool(ctx.params.get("verbose"))
            if verbose:
                traceback.print_exception(exc, file=sys.stderr)
            hint = "" if verbose or not isinstance(error, InternalError) else " (-v: traceback)"
            click.echo(f"nkwatch: {error}{hint}", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=NkwatchGroup)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log INFO (-vv: DEBUG) to stderr and show tracebacks of errors.",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """nkwatch: which claims about North Korea's arms industry are new, repeated or updated."""
    from bot.context import AppContext, secret_values  # noqa: PLC0415 - cold start
    from bot.ops import configure_logging  # noqa: PLC0415
    from bot.settings import load_settings  # noqa: PLC0415

    settings = load_settings()
    level = settings.log_level
    if verbose:
        level = "DEBUG" if verbose > 1 else min(level, "INFO", key=_LEVELS.index)
    configure_logging(level, fmt=settings.log_format, secrets=secret_values(settings))
    if logging.getLevelNamesMapping()[level] >= logging.WARNING:
        # libraries' progress bars ("Loading weights…") are noise in a command's answer
        for name in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS"):
            os.environ.setdefault(name, "1")
    app = AppContext(settings=settings)
    ctx.obj = app
    ctx.call_on_close(app.close)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(app: AppContext) -> None:
    """Apply migrations up to the newest schema."""
    from storage.db import current_revision, upgrade  # noqa: PLC0415 - cold start

    app.upgrade_on_start = False
    upgrade(app.engine)
    click.echo(f"database at revision {current_revision(app.engine)}")


@cli.command()
@click.option("--show/--no-show", default=False, help="Print the stored seed articles.")
@click.pass_obj
def seed(app: AppContext, show: bool) -> None:
    """Load the bundled seed corpus into the knowledge base (idempotent)."""
    from bot.corpus import CorpusError, load_seed_corpus  # noqa: PLC0415 - cold start
    from bot.corpus.seed import seed_database  # noqa: PLC0415

    try:
        seeds = load_seed_corpus()
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    with app.sessions.begin() as session:
        result = seed_database(session, seeds=seeds)
    click.echo(f"seed corpus: {len(result.added)} added, {len(result.present)} already present")
    if show:
        for item in seeds:
            inferred = " (inferred)" if item.published_inferred else ""
            click.echo(f"\n{item.published.date().isoformat()}{inferred}  {item.title}")
            click.echo(
                f"  {item.outlet or 'outlet not named'} · {item.author or 'no byline'} · "
                f"{len(item.text.split())} words kept, {len(item.cleaned.dropped)} lines of page "
                f"chrome dropped · {item.origin}"
            )
            click.echo("  " + item.cleaned.paragraphs[0][:300])


@cli.command("run")
@click.pass_obj
def run_command(app: AppContext) -> None:
    """Start the Telegram and/or Slack bot with the poller and digest schedulers."""
    import asyncio  # noqa: PLC0415 - cold start

    from bot.run import run  # noqa: PLC0415 - loads the claim engine and both front ends

    sys.exit(asyncio.run(run(app)))


@cli.command("status")
@click.pass_obj
def status_command(app: AppContext) -> None:
    """Feeds, stories, claims, deliveries and the last poll, from the database."""
    from storage import stats  # noqa: PLC0415 - cold start

    with app.sessions() as session:
        snap = stats.snapshot(session)
    verdicts = snap.claims_by_verdict
    deliveries = ", ".join(f"{k} {v}" for k, v in sorted(snap.deliveries_by_status.items()))
    last_poll = (
        snap.last_poll_finished.isoformat(timespec="seconds")
        if snap.last_poll_finished
        else "never"
    )
    click.echo(
        f"feeds: {snap.feeds_enabled} enabled ({snap.feeds_failing} failing), "
        f"{snap.feeds_disabled} disabled\n"
        f"stories: {snap.articles} ({snap.articles_relevant} relevant)\n"
        f"claims: {verdicts.get('new', 0)} new, {verdicts.get('repeated', 0)} repeated, "
        f"{verdicts.get('updated', 0)} updated\n"
        f"subscriptions: {snap.subscriptions_active} active\n"
        f"deliveries: {deliveries or 'none'}\n"
        f"poll cycles: {snap.poll_cycles}, fetch errors {snap.poll_errors}, last {last_poll}"
    )


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
