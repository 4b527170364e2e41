"""Databases for tests: a fresh SQLite file, or a fresh schema on the PostgreSQL server.

The PostgreSQL run is selected by ``NKWATCH_TEST_POSTGRES_URL`` (``.ci/run`` sets it). Each test
gets its own schema, so tests never see each other's rows and can run side by side.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_session_factory, upgrade

POSTGRES_ENV = "NKWATCH_TEST_POSTGRES_URL"


def postgres_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    if url and url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@contextmanager
def sqlite_database(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'nkwatch-test.db'}"
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield url, engine
    finally:
        engine.dispose()


@contextmanager
def postgres_database(base_url: str) -> Iterator[tuple[str, Engine]]:
    """A throw-away schema; the URL carries ``search_path`` so subprocesses see it too."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    url = f"{base_url}{separator}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield url, engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    if kind == "sqlite":
        with sqlite_database(tmp_path) as pair:
            yield pair
        return
    base = postgres_url()
    if base is None:  # pragma: no cover - guarded by the fixture
        msg = f"{POSTGRES_ENV} is not set"
        raise RuntimeError(msg)
    with postgres_database(base) as pair:
        yield pair


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)
