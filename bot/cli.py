"""The `nkwatch` command line. Every command gets one AppContext built from the settings."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import traceback

import click

from bot.app import AppContext, display_url, secret_values
from bot.claims.commands import (
    claim_command,
    claims_command,
    eval_command,
    events_command,
    kb_group,
)
from bot.corpus import CorpusError, load_seed_corpus
from bot.corpus.seed import seed_database
from bot.digest.commands import deliver_command, demo_command, digest_command
from bot.errors import InternalError, as_nkwatch_error
from bot.feeds.commands import feeds_group, poll_command
from bot.figures.commands import figures_command
from bot.lifecycle import backup_command, export_command, prune_command, restore_command
from bot.ops import configure_logging
from bot.settings import load_settings
from storage import stats
from storage.db import current_revision, upgrade

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class NkwatchGroup(click.Group):
    """Turns any error into one line on stderr and a sysexits code; ``-v`` adds the traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
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
    app.upgrade_on_start = False
    upgrade(app.engine)
    click.echo(f"database at revision {current_revision(app.engine)}")


@cli.command()
@click.option("--show/--no-show", default=False, help="Print the stored seed articles.")
@click.pass_obj
def seed(app: AppContext, show: bool) -> None:
    """Load the bundled seed corpus into the knowledge base (idempotent)."""
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
    from bot.run import run  # noqa: PLC0415 - loads the claim engine and both front ends

    sys.exit(asyncio.run(run(app)))


@cli.command("status")
@click.pass_obj
def status_command(app: AppContext) -> None:
    """Feeds, stories, claims, deliveries and the last poll, from the database."""
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


for command in (
    claim_command,
    kb_group,
    claims_command,
    eval_command,
    events_command,
    poll_command,
    feeds_group,
    digest_command,
    deliver_command,
    demo_command,
    figures_command,
):
    cli.add_command(command)
cli.add_command(export_command)
cli.add_command(backup_command)
cli.add_command(restore_command)
cli.add_command(prune_command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
