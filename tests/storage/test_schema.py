"""Migrations, connection settings and the seed loader against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from bot.corpus import load_seed_corpus
from bot.corpus.seed import seed_database
from storage import articles
from storage.db import current_revision, upgrade
from storage.models import Article, Base, Subscription
from tests.conftest import Database

EXPECTED_TABLES = {
    "feeds",
    "articles",
    "article_sources",
    "events",
    "claims",
    "subscriptions",
    "deliveries",
    "poll_runs",
    "series_watches",
    "series_alerts",
    "alembic_version",
}


def test_migrations_reach_head_and_create_every_table(db: Database) -> None:
    assert set(inspect(db.engine).get_table_names()) >= EXPECTED_TABLES
    head = current_revision(db.engine)
    upgrade(db.engine)  # a second upgrade is a no-op
    assert current_revision(db.engine) == head


def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    if db.kind != "sqlite":
        pytest.skip("WAL is SQLite's")
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_times_come_back_aware_utc(db: Database) -> None:
    seoul = timezone(timedelta(hours=9))
    with db.sessions.begin() as session:
        article = articles.add_article(
            session,
            origin="feed",
            title="t",
            content_hash="h1",
            text="x",
            published_at=datetime(2023, 8, 7, 21, 7, tzinfo=seoul),
        )
        article_id = article.id
    with db.sessions() as session:
        stored = session.get(Article, article_id)
        assert stored is not None
        assert stored.published_at == datetime(2023, 8, 7, 12, 7, tzinfo=UTC)
        assert stored.published_at.tzinfo is not None


def test_naive_datetime_is_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.sessions.begin() as session:
        articles.add_article(
            session,
            origin="feed",
            title="t",
            content_hash="h2",
            text="x",
            published_at=datetime(2023, 8, 7),
        )


def test_subscription_is_unique_per_platform_and_chat(db: Database) -> None:
    with db.sessions.begin() as session:
        session.add(Subscription(platform="telegram", chat_id="42"))
    with pytest.raises(IntegrityError), db.sessions.begin() as session:
        session.add(Subscription(platform="telegram", chat_id="42"))
    with db.sessions.begin() as session:
        session.add(Subscription(platform="slack", chat_id="42"))


def test_seeding_twice_adds_nothing(db: Database) -> None:
    seeds = load_seed_corpus()
    with db.sessions.begin() as session:
        first = seed_database(session, seeds=seeds)
    with db.sessions.begin() as session:
        second = seed_database(session, seeds=seeds)
    assert len(first.added) == 5
    assert second.added == []
    assert sorted(second.present) == sorted(seed.origin for seed in seeds)
    with db.sessions() as session:
        stored = session.scalars(select(Article).order_by(Article.published_at)).all()
        assert [a.origin[:3] for a in stored] == ["000", "004", "002", "001", "003"]
        assert stored[0].outlet == "The Wall Street Journal"
        assert stored[0].url == "seed:000_ac99243f575947ee.txt"
        assert stored[1].published_inferred is True
        assert "What's Your Reaction?" not in (stored[0].text or "")


def test_models_and_migrations_agree(db: Database) -> None:
    """A model change without its migration (or the reverse) shows up here."""
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
