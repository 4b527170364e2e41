"""The start-up schema check: a database at head is recognised without alembic, any other is
handed to alembic (upgraded when stale, refused when unknown), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from storage.db import alembic_config, current_revision, head_revision, stored_revisions, upgrade
from tests.conftest import Database

ROOT = Path(__file__).resolve().parents[2]


def test_head_read_from_the_files_is_alembics_head(db: Database) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(db.engine))
    assert head_revision() == scripts.get_current_head()
    assert stored_revisions(db.engine) == [head_revision()]


def test_a_stale_database_is_upgraded(db: Database) -> None:
    head = head_revision()
    assert head is not None
    scripts = ScriptDirectory.from_config(alembic_config(db.engine))
    previous = scripts.get_revision(head).down_revision
    assert isinstance(previous, str)
    command.downgrade(alembic_config(db.engine), previous)
    assert current_revision(db.engine) == previous
    upgrade(db.engine)
    assert current_revision(db.engine) == head
    assert "claim_corrections" in inspect(db.engine).get_table_names()


def test_a_database_from_a_newer_release_is_refused(db: Database) -> None:
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'zz99'"))
    with pytest.raises(Exception, match="zz99"):
        upgrade(db.engine)


def test_an_empty_database_gets_the_whole_schema(tmp_path: Path) -> None:
    from storage.db import make_engine  # noqa: PLC0415

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert stored_revisions(engine) is None  # no alembic_version table yet
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_database_at_head_is_checked_without_importing_alembic(db: Database) -> None:
    """What makes a cold ``nkwatch claim`` fast: alembic costs more to import than the check."""
    code = (
        "import sys\n"
        "from storage.db import make_engine, upgrade\n"
        f"upgrade(make_engine({db.url!r}))\n"
        "print('alembic' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "False", out.stderr
