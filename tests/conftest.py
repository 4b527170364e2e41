from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers.db import POSTGRES_ENV, database, postgres_url, session_factory

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Database:
    kind: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]


@pytest.fixture(autouse=True)
def _index_data_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL claim indexes default to the XDG data directory: keep tests' out of $HOME."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg")))


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: SQLite always, PostgreSQL when ``NKWATCH_TEST_POSTGRES_URL``."""
    kind = request.param
    if kind == "postgres" and postgres_url() is None:
        pytest.skip(f"{POSTGRES_ENV} not set")
    with database(kind, tmp_path) as (url, engine):
        yield Database(kind=kind, url=url, engine=engine, sessions=session_factory(engine))


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    with db.sessions() as s:
        yield s
