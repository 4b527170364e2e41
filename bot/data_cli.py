"""`nkwatch export`, `backup`, `restore` and `prune`: the data's life after it is judged."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from storage import lifecycle

if TYPE_CHECKING:
    from bot.context import AppContext


def _write(rows_out: IO[str], fmt: str, app: AppContext) -> int:
    count = 0
    with app.sessions() as session:
        rows = lifecycle.iter_claims_for_export(session)
        if fmt == "csv":
            writer = csv.DictWriter(rows_out, fieldnames=lifecycle.EXPORT_FIELDS)
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "changes": json.dumps(row["changes"], ensure_ascii=False)})
                count += 1
        else:
            for row in rows:
                rows_out.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
    return count


EXTENSION_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def export_format(fmt: str | None, out: Path | None) -> str:
    """--format if given, else the format the file's extension names; JSON lines on stdout."""
    if fmt is not None:
        return fmt
    if out is None:
        return "jsonl"
    suffix = out.suffix.lower()
    if suffix not in EXTENSION_FORMATS:
        known = ", ".join(EXTENSION_FORMATS)
        raise click.UsageError(f"cannot tell the format of {out.name!r} ({known}); give --format")
    return EXTENSION_FORMATS[suffix]


@click.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="Default: from the --out file's extension; JSON lines on stdout.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.pass_obj
def export_command(app: AppContext, fmt: str | None, out: Path | None) -> None:
    """Export every claim with its verdict and provenance (CSV or JSON lines)."""
    fmt = export_format(fmt, out)
    if out is None:
        count = _write(sys.stdout, fmt, app)
    else:
        with out.open("w", encoding="utf-8", newline="") as handle:
            count = _write(handle, fmt, app)
    click.echo(f"exported {count} claims", err=True)


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def backup_command(app: AppContext, target: Path) -> None:
    """Copy the SQLite database to TARGET, consistently, even while nkwatch runs."""
    try:
        pages = lifecycle.backup_sqlite(app.engine, target=target)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backed up {pages} pages to {target}")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the current database without asking.")
@click.pass_obj
def restore_command(app: AppContext, source: Path, yes: bool) -> None:
    """Replace the SQLite database with a backup (checked before anything is replaced)."""
    try:
        lifecycle.check_sqlite_file(source)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if not yes:
        click.confirm(f"Replace {app.settings.database_url} with {source}?", abort=True)
    try:
        pages = lifecycle.restore_sqlite(app.engine, source=source)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {pages} pages from {source}")


@click.command("prune")
@click.option(
    "--days", type=click.IntRange(min=1), default=None, help="Override NKWATCH_RETENTION_DAYS."
)
@click.pass_obj
def prune_command(app: AppContext, days: int | None) -> None:
    """Clear the text of feed articles older than the retention period (claims are kept)."""
    days = days or app.settings.retention_days
    if days is None:
        raise click.ClickException("no retention period: set NKWATCH_RETENTION_DAYS or --days")
    with app.sessions.begin() as session:
        cleared = lifecycle.clear_old_text(session, before=datetime.now(UTC) - timedelta(days=days))
    click.echo(f"cleared the text of {cleared} articles older than {days} days")
