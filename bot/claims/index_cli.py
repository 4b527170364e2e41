"""`nkwatch index rebuild|status`: the claim index on disk (tantivy + faiss)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from bot.claims.cli import AppLike


@click.group("index")
def index_group() -> None:
    """The claim index on disk."""


@index_group.command("rebuild")
@click.pass_obj
def index_rebuild(app: AppLike) -> None:
    """Index every stored claim again, from scratch (a damaged or stale index rebuilds itself)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn  # noqa: PLC0415

    from bot.claims.cli import build_engine  # noqa: PLC0415 - cold start

    engine = build_engine(app, process=False)
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("indexing claims", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        count = engine.rebuild_index(step)
    click.echo(f"claim index rebuilt: {count} claims at {engine.index.path or 'memory'}")


@index_group.command("status")
@click.pass_obj
def index_status(app: AppLike) -> None:
    """Where the index is, how many claims it holds, and how far behind the database it is."""
    from bot.claims.cli import build_engine  # noqa: PLC0415 - cold start

    engine = build_engine(app, process=False)  # opening catches it up
    index = engine.index
    vectors = "off" if index.vectors is None else f"{len(index.vectors)} vectors"
    click.echo(
        f"claim index: {index.path or 'memory'}\n"
        f"claims: {len(index)} (up to id {index.max_id}), semantic: {vectors}"
    )
