"""Command-line front end of the claim engine: `claim`, `kb`, `claims`, `eval`, `events`.

The lead registers these on the `nkwatch` group; each receives the AppContext (``.settings``,
``.sessions``) through ``@click.pass_obj``. The engine is built once per process, after pending
articles (for example a freshly loaded seed corpus) have been extracted and judged, so every
command sees an up-to-date knowledge base.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import click

from bot.chat.inputs import MAX_CLAIM_CHARS, check_text
from bot.claims.engine import ClaimEngine
from bot.claims.evaluation import (
    LabelledFileError,
    Prediction,
    evaluate,
    format_report,
    parse_gold,
    seed_prefix,
)
from bot.claims.kb_import import ImportReport, KbRow, parse_kb_line
from bot.claims.lexicon import LexiconError
from bot.claims.semantic import SemanticUnavailableError
from bot.claims.streams import StreamError, format_stream_report, load_stream, score_stream
from bot.errors import EX_DATAERR, InputError
from storage import claims as claim_store
from storage import events as event_store
from storage import locks
from storage.articles import get_article

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from bot.claims.types import Verdict
    from bot.settings import Settings

KB_BATCH = 2000  # kb import commits every this many good lines
MAX_LINE_CHARS = 20_000


class AppLike(Protocol):
    """What the commands need of ``bot.context.AppContext``."""

    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...


def build_engine(app: AppLike, *, process: bool = True) -> ClaimEngine:
    """The engine for this process; pending articles are judged first so the KB is current."""
    try:
        engine = ClaimEngine.from_settings(app.settings, app.sessions)
    except (SemanticUnavailableError, LexiconError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    if process:
        counts = engine.judge_pending()  # `nkwatch run` may be judging too
        if counts.articles:
            click.echo(
                f"judged {counts.articles} pending articles: {counts.claims} claims "
                f"({counts.new} new, {counts.repeated} repeated, {counts.updated} updated)",
                err=True,
            )
    return engine


# -------------------------------------------------------------------------------- verdicts


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """The public JSON shape of a verdict, best match first."""
    return {
        "status": verdict.status,
        "matches": [
            {
                "claim": m.candidate.text,
                "score": round(float(m.score), 4),
                "article": {
                    "title": m.candidate.article_title,
                    "source": m.candidate.source,
                    "published": m.candidate.published.isoformat()
                    if m.candidate.published
                    else None,
                    "url": m.candidate.url,
                },
            }
            for m in verdict.matches
        ],
        "changed": [{"what": c.what, "old": c.old, "new": c.new} for c in verdict.changed],
    }


def verdict_text(
    verdict: Verdict, *, event_title: str | None = None, first_seen: str | None = None
) -> str:
    """A readable verdict: status, why, what changed, first seen, its event, and the matches."""
    lines = [f"{verdict.status.upper()}  (score {verdict.score:.2f})"]
    if verdict.explanation:
        lines.append(verdict.explanation)
    for change in verdict.changed:
        lines.append(f"  changed {change.what}: {change.old} → {change.new}")
    if first_seen and verdict.status != "new":
        lines.append(f"  first seen: {first_seen}")
    if event_title and verdict.status != "new":
        lines.append(f"  event: {event_title}")
    if verdict.matches:
        lines.append("matches:")
    for rank, match in enumerate(verdict.matches, start=1):
        cand = match.candidate
        where = " · ".join(
            part
            for part in (
                cand.article_title,
                cand.source,
                cand.published.date().isoformat() if cand.published else None,
                cand.url,
            )
            if part
        )
        lines.append(f"  {rank}. {match.score:.2f}  {cand.text}")
        if where:
            lines.append(f"       {where}")
    return "\n".join(lines)


def _context(engine: ClaimEngine, verdict: Verdict) -> tuple[str | None, str | None]:
    """The matched fact's event and where it was first seen, in how many sources."""
    if verdict.status == "new" or not verdict.matches:
        return None, None
    cand = verdict.matches[0].candidate
    root_id = cand.root_claim_id or cand.claim_id
    with engine.sessions() as session:
        event = (
            event_store.get_event(session, event_id=cand.event_id)
            if cand.event_id is not None
            else None
        )
        root = claim_store.claim_provenance(session, claim_ids=[root_id]).get(root_id)
        sources = claim_store.fact_source_count(session, root_claim_id=root_id)
    event_title = None if event is None else f"#{event.id} {event.title}"
    first = None
    if root is not None:
        when = root.published.date().isoformat() if root.published else "date unknown"
        where = root.source or root.article_title or root.url or f"claim {root.claim_id}"
        first = f"{where}, {when}; carried by {sources} source{'s' if sources != 1 else ''}"
    return event_title, first


# -------------------------------------------------------------------------------- commands


@click.command("claim")
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per claim.")
@click.option("--top", type=click.IntRange(1, 100), default=5, show_default=True)
@click.pass_obj
def claim_command(app: AppLike, text: str | None, as_json: bool, top: int) -> None:
    """Judge TEXT (or each line of stdin) as new, repeated or updated.

    A bad line (blank, too long, not UTF-8, control characters) gets an error in its place, so
    every line is answered; the exit status is then 65 (EX_DATAERR).
    """
    if text is not None:
        problem = claim_input_error(text)
        if problem is not None:
            raise InputError(f"claim refused: {problem}")
        _print_verdict(build_engine(app), text, as_json=as_json, top=top)
        return
    engine = build_engine(app)
    bad = 0
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        line, problem = decode_claim_line(raw)
        if problem is None:
            _print_verdict(engine, line, as_json=as_json, top=top)
        else:
            bad += 1
            error = {"line": number, "error": problem}
            click.echo(json.dumps(error) if as_json else f"ERROR  line {number}: {problem}\n")
        sys.stdout.flush()
    if bad:
        click.echo(f"nkwatch: {bad} input line{'s' if bad != 1 else ''} refused", err=True)
        click.get_current_context().exit(EX_DATAERR)


def claim_input_error(text: str) -> str | None:
    """Why ``text`` cannot be judged as a claim, or None."""
    if not text.strip():
        return "empty claim"
    return check_text(text.strip(), limit=MAX_CLAIM_CHARS)


def decode_claim_line(raw: bytes) -> tuple[str, str | None]:
    """One stdin line as text, or the reason it is refused (checked before the engine sees it)."""
    try:
        line = raw.decode("utf-8").removeprefix("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        return "", f"not UTF-8 (byte {exc.start + 1})"
    return line, claim_input_error(line)


def _print_verdict(engine: ClaimEngine, text: str, *, as_json: bool, top: int) -> None:
    verdict = engine.check(text.strip(), top=top)
    if as_json:
        click.echo(json.dumps(verdict_json(verdict), ensure_ascii=False))
    else:
        event_title, first_seen = _context(engine, verdict)
        click.echo(verdict_text(verdict, event_title=event_title, first_seen=first_seen))
        click.echo("")


@click.group("kb")
def kb_group() -> None:
    """The knowledge base of claims."""


def _kb_lines(stream: IO[bytes]) -> Iterator[tuple[int, KbRow | None, str | None]]:
    """(line number, row, error) for every non-blank line."""
    for number, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield number, None, "not UTF-8"
            continue
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            yield number, None, f"line longer than {MAX_LINE_CHARS} characters"
            continue
        try:
            yield number, parse_kb_line(line), None
        except ValueError as exc:
            yield number, None, str(exc)


@kb_group.command("import")
@click.argument("file", type=click.File("rb"))
@click.pass_obj
def kb_import(app: AppLike, file: IO[bytes]) -> None:
    """Add claims from a JSONL file ({"id", "text", "source", "published"} per line).

    Idempotent on id. Bad lines are reported with their line numbers; every good line is kept.
    """
    engine = build_engine(app, process=False)
    report = ImportReport()
    batch: list[KbRow] = []

    def flush() -> None:
        with app.sessions.begin() as session:
            # claim ids must commit in order for other instances' catch_up
            locks.lock_until_commit(session, name=locks.KNOWLEDGE)
            added = engine.import_claims(session, batch)
        report.added += added
        report.present += len(batch) - added
        batch.clear()

    for number, row, error in _kb_lines(file):
        if row is None:
            report.errors.append((number, error or "invalid"))
            click.echo(f"line {number}: {error}", err=True)
            continue
        batch.append(row)
        if len(batch) >= KB_BATCH:
            flush()
    if batch:
        flush()
    click.echo(
        f"kb import: {report.added} added, {report.present} already present, "
        f"{len(report.errors)} bad lines"
    )
    if report.errors:  # every good line is kept, but the status says the file was not clean
        click.get_current_context().exit(EX_DATAERR)


@kb_group.command("process")
@click.pass_obj
def kb_process(app: AppLike) -> None:
    """Extract and judge the claims of articles not processed yet."""
    build_engine(app)


@click.command("claims")
@click.argument("article_id", type=int)
@click.pass_obj
def claims_command(app: AppLike, article_id: int) -> None:
    """List ARTICLE's claims (an article id) with their verdicts."""
    build_engine(app)
    with app.sessions() as session:
        article = get_article(session, article_id=article_id)
        if article is None:
            raise click.ClickException(f"no article with id {article_id}")
        published = article.published_at.date().isoformat() if article.published_at else "-"
        click.echo(
            f"#{article.id} {article.title} · {article.outlet or article.origin} · {published}"
        )
        rows = claim_store.list_article_claims(session, article_id=article_id)
        matched = claim_store.claim_provenance(
            session,
            claim_ids=[i for c in rows for i in (c.matched_claim_id, c.root_claim_id) if i],
        )
        if not rows:
            click.echo("no claims extracted")
        for claim in rows:
            score = f"{claim.score:.2f}" if claim.score is not None else "-"
            click.echo(f"[{claim.position}] {claim.verdict.upper():<8} {score}  {claim.text}")
            prov = matched.get(claim.matched_claim_id or -1)
            if prov is not None:
                when = prov.published.date().isoformat() if prov.published else "-"
                click.echo(
                    f"      matches #{prov.claim_id} ({prov.source or prov.url}, {when}): "
                    f"{prov.text[:120]}"
                )
            root = matched.get(claim.root_claim_id or -1)
            if root is not None and claim.root_claim_id != claim.matched_claim_id:
                when = root.published.date().isoformat() if root.published else "-"
                click.echo(
                    f"      first reported #{root.claim_id} ({root.source or root.url}, {when})"
                )
            for change in claim.changes or []:
                click.echo(f"      changed {change['what']}: {change['old']} → {change['new']}")
            if claim.event_id is not None:
                click.echo(f"      event #{claim.event_id}")


@click.command("eval")
@click.argument("file", type=click.File("r", encoding="utf-8"), required=False)
@click.option(
    "--stream",
    "stream_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Score a labelled stream directory (stories.jsonl + labels.jsonl) via the poll path.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable figures (--stream).")
@click.option("--errors/--no-errors", default=True, help="List misjudged claims.")
@click.pass_obj
def eval_command(
    app: AppLike, file: IO[str] | None, stream_dir: Path | None, as_json: bool, errors: bool
) -> None:
    """Score the engine on a labelled JSONL FILE (id, text, label, refs) or a --stream DIR."""
    if (file is None) == (stream_dir is None):
        raise click.UsageError("give either FILE or --stream DIR")
    if stream_dir is not None:
        _eval_stream(app, stream_dir, as_json=as_json, errors=errors)
        return
    assert file is not None
    try:
        gold = parse_gold(file)
    except LabelledFileError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = build_engine(app)
    predictions: dict[str, Prediction] = {}
    for item in gold:
        verdict = engine.check(item.text, top=1)
        top = verdict.matches[0].candidate.url if verdict.matches else None
        predictions[item.id] = Prediction(
            id=item.id, status=verdict.status, top_ref=seed_prefix(top)
        )
    click.echo(format_report(evaluate(gold, predictions), show_errors=errors))


def _eval_stream(app: AppLike, directory: Path, *, as_json: bool, errors: bool) -> None:
    """Seed, serve the stream as two feeds, poll once on a fresh database, score."""
    from bot.claims.stream_run import run_stream  # noqa: PLC0415 - heavy, eval only

    try:
        stories, labels = load_stream(directory)
    except StreamError as exc:
        raise click.ClickException(str(exc)) from exc
    run = run_stream(app.settings, stories)
    report = score_stream(labels, run.claims)
    if as_json:
        data = report.to_json()
        data["stories"] = len(stories)
        data["new_stories_polled"] = run.cycle.new_stories
        data["poll_errors"] = run.cycle.errors
        data["events"] = [dataclasses.asdict(e) for e in run.events]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"stream {directory}: {len(stories)} stories, {run.cycle.new_stories} polled "
        f"({run.cycle.relevant_stories} relevant), {run.cycle.errors} poll errors"
    )
    click.echo("\n".join(run.event_lines()))
    click.echo(format_stream_report(report, show_errors=errors))


@click.command("events")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.pass_obj
def events_command(app: AppLike, limit: int) -> None:
    """Events with their first-seen date, sources and claim counts."""
    build_engine(app)
    with app.sessions() as session:
        events = event_store.list_events(session, limit=limit)
    if not events:
        click.echo("no events yet")
    for event in events:
        seen = event.first_seen_at.date().isoformat() if event.first_seen_at else "-"
        span = ""
        if event.start_date:
            span = event.start_date.date().isoformat()
            if event.end_date and event.end_date != event.start_date:
                span += f"..{event.end_date.date().isoformat()}"
        click.echo(
            f"#{event.event_id} first seen {seen} · {event.claim_count} claims · "
            f"{len(event.sources)} sources{' · ' + span if span else ''}"
        )
        click.echo(f"    {event.title[:160]}")
        if event.actors:
            click.echo(f"    actors: {', '.join(event.actors)}")
        click.echo(f"    sources: {'; '.join(event.sources)}")


COMMANDS = (claim_command, kb_group, claims_command, eval_command, events_command)
