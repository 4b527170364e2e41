"""`nkwatch figures`: list the series the stored claims hold, or export one (PNG, CSV, JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.claims.cli import AppLike
from bot.figures.query import load_series, series_csv, series_json
from bot.figures.series import find_series, path_line

__all__ = ["figures_command"]


@click.command("figures")
@click.argument("series", required=False)
@click.option("--png", "png", type=click.Path(dir_okay=False, path_type=Path), help="chart file")
@click.option("--csv", "as_csv", is_flag=True, help="the points as CSV on stdout")
@click.option("--json", "as_json", is_flag=True, help="the series as JSON on stdout")
@click.pass_obj
def figures_command(
    app: AppLike, series: str | None, png: Path | None, as_csv: bool, as_json: bool
) -> None:
    """Tracked figures: how each moved, from whom and when. SERIES: a name, slug or part of one.

    Reads the stored verdicts as they are (``nkwatch poll`` judges new stories).
    """
    if sum((png is not None, as_csv, as_json)) > 1:
        raise click.UsageError("choose one of --png, --csv and --json")
    if series is None and (png is not None or as_csv or as_json):
        raise click.UsageError("name the SERIES to export (`nkwatch figures` lists them)")
    with app.sessions() as session:
        found = load_series(session)
    if series is None:
        if not found:
            click.echo("no series yet: a figure becomes one when a later story reports it again")
        for s in found:
            latest = s.latest
            when = latest.published.date().isoformat() if latest.published else "undated"
            click.echo(
                f"{s.slug}: {latest.shown} ({when}, {latest.source}) · {len(s.points)} points · "
                f"{s.change()}"
            )
        return
    chosen = find_series(found, series)
    if chosen is None:
        raise click.ClickException(f"no series matches {series!r}; `nkwatch figures` lists them")
    if as_json:
        click.echo(json.dumps(series_json(chosen), ensure_ascii=False, indent=2))
    elif as_csv:
        click.echo(series_csv(chosen), nl=False)
    elif png is not None:
        from bot.figures.chart import render_chart  # noqa: PLC0415 - matplotlib loads slowly

        chart = render_chart(chosen)
        try:
            png.write_bytes(chart.png)
        except OSError as exc:
            raise click.ClickException(f"cannot write {png}: {exc.strerror or exc}") from exc
        click.echo(f"{png}: {chart.width}x{chart.height} chart of {chosen.name}", err=True)
    else:
        click.echo(path_line(chosen, max_steps=12))
        for p in chosen.points:
            when = p.published.date().isoformat() if p.published else "undated"
            click.echo(f"  {when} · {p.shown} · {p.source} · {p.url or '-'}")
