"""Export of claims with provenance, retention of old article text, SQLite backups."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, aliased

from storage.models import Article, Claim, Event

EXPORT_FIELDS = (
    "claim_id",
    "text",
    "verdict",
    "score",
    "changes",
    "first_seen_at",
    "position",
    "article_id",
    "article_title",
    "outlet",
    "article_url",
    "published_at",
    "matched_claim_id",
    "matched_text",
    "first_reported_claim_id",
    "first_reported_source",
    "first_reported_at",
    "event_id",
    "event_title",
    "external_id",
    "source",
)


def iter_claims_for_export(session: Session, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every claim with its verdict and provenance, oldest first, streamed in batches."""
    matched = aliased(Claim)
    # "First reported" is the fact's root claim (the earliest report), as every display shows.
    root, root_article = aliased(Claim), aliased(Article)
    query = (
        select(
            Claim,
            Article,
            matched.text,
            Event.title,
            root.id,
            func.coalesce(root_article.outlet, root.source),
            func.coalesce(root_article.published_at, root.first_seen_at),
        )
        .outerjoin(Article, Claim.article_id == Article.id)
        .outerjoin(matched, Claim.matched_claim_id == matched.id)
        .outerjoin(root, Claim.root_claim_id == root.id)
        .outerjoin(root_article, root.article_id == root_article.id)
        .outerjoin(Event, Claim.event_id == Event.id)
        .order_by(Claim.id)
        .execution_options(yield_per=batch)
    )
    for row in session.execute(query):
        claim, article, matched_text, event_title, root_id, root_source, root_at = row
        yield {
            "claim_id": claim.id,
            "text": claim.text,
            "verdict": claim.verdict,
            "score": claim.score,
            "changes": claim.changes,
            "first_seen_at": claim.first_seen_at.isoformat() if claim.first_seen_at else None,
            "position": claim.position,
            "article_id": claim.article_id,
            "article_title": article.title if article else None,
            "outlet": article.outlet if article else None,
            "article_url": article.url if article else None,
            "published_at": (
                article.published_at.isoformat() if article and article.published_at else None
            ),
            "matched_claim_id": claim.matched_claim_id,
            "matched_text": matched_text,
            "first_reported_claim_id": root_id,
            "first_reported_source": root_source,
            "first_reported_at": root_at.isoformat() if root_at else None,
            "event_id": claim.event_id,
            "event_title": event_title,
            "external_id": claim.external_id,
            "source": claim.source,
        }


def clear_old_text(session: Session, *, before: datetime) -> int:
    """Drop the body of articles fetched before ``before``; claims and provenance stay."""
    result = session.execute(
        update(Article)
        .where(Article.fetched_at < before, Article.text.is_not(None), Article.origin == "feed")
        .values(text=None, summary=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def sqlite_path(engine: Engine) -> Path:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        msg = "backup and restore work on SQLite databases; use pg_dump for PostgreSQL"
        raise ValueError(msg)
    return Path(engine.url.database)


def backup_sqlite(engine: Engine, *, target: Path) -> int:
    """Online, consistent copy through SQLite's backup API, safe while nkwatch runs (WAL too)."""
    source_path = sqlite_path(engine)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(source_path)
    try:
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
            pages = int(destination.execute("PRAGMA page_count").fetchone()[0])
        finally:
            destination.close()
    finally:
        source.close()
    return pages


def check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not an intact nkwatch database before it replaces anything."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            msg = f"{path} failed the integrity check: {result}"
            raise ValueError(msg)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        msg = f"{path} is not a SQLite database: {exc}"
        raise ValueError(msg) from exc
    finally:
        connection.close()
    if not {"claims", "articles", "alembic_version"} <= tables:
        msg = f"{path} is not an nkwatch database (tables missing)"
        raise ValueError(msg)


def restore_sqlite(engine: Engine, *, source: Path) -> int:
    """Replace the database's contents with a checked backup, through the backup API."""
    check_sqlite_file(source)
    engine.dispose()
    target_path = sqlite_path(engine)
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(target_path)
        try:
            backup.backup(target)
            pages = int(target.execute("PRAGMA page_count").fetchone()[0])
        finally:
            target.close()
    finally:
        backup.close()
    return pages
