"""The `nkwatch` command line. Every command gets one AppContext built from the settings."""

from __future__ import annotations

import sys

import click

from bot.app import AppContext, secret_values
from bot.corpus import CorpusError, load_seed_corpus
from bot.corpus.seed import seed_database
from bot.lifecycle import backup_command, export_command, prune_command, restore_command
from bot.ops import configure_logging
from bot.settings import SettingsError, load_settings
from storage.db import current_revision, upgrade


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """nkwatch: which claims about North Korea's arms industry are new, repeated or updated."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        click.echo(f"nkwatch: {exc}", err=True)
        sys.exit(2)
    configure_logging(settings.log_level, fmt=settings.log_format, secrets=secret_values(settings))
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


cli.add_command(export_command)
cli.add_command(backup_command)
cli.add_command(restore_command)
cli.add_command(prune_command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
